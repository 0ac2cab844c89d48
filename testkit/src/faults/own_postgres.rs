//! [`Fault::PostgresRestart`](super::Fault::PostgresRestart)'s own Postgres server: a throwaway
//! one the trial may kill with SIGKILL and start again on the same data directory, which the
//! shared server of the test command must never be.
//!
//! The server runs in a process group of its own, so one `kill -KILL` takes the postmaster and
//! every backend at once, as a crash or an OOM kill of the container would; the restart then
//! goes through Postgres's crash recovery. Postgres refuses to run as root: as root it runs as
//! the given unprivileged user (`./scripts/lib/postgres.sh` creates `ticketeer-postgres`).

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use crate::load::{LoadError, free_local_port};

/// How long a (re)started server is given to accept connections; crash recovery of a trial's
/// few rows takes well under a second.
const START_PATIENCE: Duration = Duration::from_secs(30);

/// Where the server's binaries are and whom it runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresBinaries {
    /// A directory holding `initdb` and `postgres`.
    pub bin_dir: PathBuf,
    /// The user the server runs as when this process is root.
    pub user: String,
}

/// A running (or killed) throwaway server.
pub(crate) struct OwnPostgres {
    binaries: PostgresBinaries,
    data: PathBuf,
    port: u16,
    log: PathBuf,
    server: Option<Child>,
}

impl OwnPostgres {
    /// Creates a data directory under the system's temporary directory with `initdb` and starts
    /// the server on a free port of 127.0.0.1; its log goes to `log`.
    pub(crate) async fn start(
        binaries: &PostgresBinaries,
        name: &str,
        log: &Path,
    ) -> Result<Self, LoadError> {
        let data = std::env::temp_dir().join(format!(
            "ticketeer-faults-postgres-{}-{name}",
            std::process::id()
        ));
        if data.exists() {
            remove(&data)?;
        }
        let port = free_local_port()?.port();
        let mut own = Self {
            binaries: binaries.clone(),
            data,
            port,
            log: log.to_owned(),
            server: None,
        };
        // initdb makes the directory itself, so it belongs to the server's user.
        let initdb = own
            .as_server_user("initdb")
            .arg(format!("--pgdata={}", own.data.display()))
            .args([
                "--auth=trust",
                "--username=postgres",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|source| LoadError::Io {
                what: format!("running {}/initdb", binaries.bin_dir.display()),
                source,
            })?;
        if !initdb.status.success() {
            return Err(LoadError::Database(format!(
                "initdb failed ({}): {}",
                initdb.status,
                String::from_utf8_lossy(&initdb.stderr).trim()
            )));
        }
        own.launch().await?;
        Ok(own)
    }

    /// The server's URL, for [`crate::postgres::TestDatabase::create_on`].
    pub(crate) fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Kills the postmaster and every backend with SIGKILL, and waits until they are gone.
    pub(crate) async fn kill(&mut self) -> Result<(), LoadError> {
        let Some(mut server) = self.server.take() else {
            return Ok(());
        };
        let group = server.id().ok_or_else(|| {
            LoadError::Database("the Postgres server had exited before its kill".to_owned())
        })?;
        signal_group("-KILL", group).await?;
        server.wait().await.map_err(|source| LoadError::Io {
            what: "waiting for the killed Postgres server".to_owned(),
            source,
        })?;
        Ok(())
    }

    /// Starts the server again on the same data directory and port.
    pub(crate) async fn restart(&mut self) -> Result<(), LoadError> {
        self.launch().await
    }

    /// Stops the server (fast shutdown) and deletes its data.
    pub(crate) async fn stop(mut self) -> Result<(), LoadError> {
        if let Some(mut server) = self.server.take() {
            if let Some(group) = server.id() {
                signal_group("-INT", group).await?;
            }
            let _ = server.wait().await;
        }
        remove(&self.data)
    }

    async fn launch(&mut self) -> Result<(), LoadError> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|source| LoadError::Io {
                what: format!("opening {}", self.log.display()),
                source,
            })?;
        let stderr = log.try_clone().map_err(|source| LoadError::Io {
            what: "duplicating the Postgres log".to_owned(),
            source,
        })?;
        let server = self
            .as_server_user("postgres")
            .arg("-D")
            .arg(&self.data)
            .args(["-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            // TCP only: no socket file to place where the server's user may write.
            .args(["-c", "unix_socket_directories="])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| LoadError::Io {
                what: format!("starting {}/postgres", self.binaries.bin_dir.display()),
                source,
            })?;
        self.server = Some(server);
        let give_up = Instant::now() + START_PATIENCE;
        loop {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return Ok(());
            }
            if let Some(server) = self.server.as_mut()
                && let Ok(Some(status)) = server.try_wait()
            {
                return Err(LoadError::Database(format!(
                    "the Postgres server exited ({status}) before it accepted connections; see {}",
                    self.log.display()
                )));
            }
            if Instant::now() > give_up {
                return Err(LoadError::Timeout {
                    what: "the Postgres server to accept connections".to_owned(),
                    seconds: START_PATIENCE.as_secs(),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `program` from the server's bin directory, as its user when this process is root.
    fn as_server_user(&self, program: &str) -> Command {
        let program = self.binaries.bin_dir.join(program);
        let mut command = if running_as_root() {
            let mut command = Command::new("setpriv");
            command
                .arg(format!("--reuid={}", self.binaries.user))
                .arg(format!("--regid={}", self.binaries.user))
                .args(["--init-groups", "--"])
                .arg(program);
            command
        } else {
            Command::new(program)
        };
        // From /, so that the caller's working directory need not be readable by the user.
        command.current_dir("/");
        command
    }
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|proc| proc.uid() == 0)
}

/// Sends `signal` to process group `group` with kill(1): the testkit forbids unsafe code, and
/// std signals only its own children, not their group.
async fn signal_group(signal: &str, group: u32) -> Result<(), LoadError> {
    let status = Command::new("kill")
        .args([signal, "--", &format!("-{group}")])
        .status()
        .await
        .map_err(|source| LoadError::Io {
            what: "running kill(1)".to_owned(),
            source,
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(LoadError::Database(format!(
            "kill {signal} of the Postgres server's process group {group} failed ({status})"
        )))
    }
}

fn remove(dir: &Path) -> Result<(), LoadError> {
    std::fs::remove_dir_all(dir).map_err(|source| LoadError::Io {
        what: format!("removing {}", dir.display()),
        source,
    })
}
