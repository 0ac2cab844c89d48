//! One control-plane process: started with its output in a log file, checked while the control
//! plane starts, stopped with SIGTERM (then SIGKILL) or killed on drop.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use super::ControlPlaneError;

/// How long a process gets to exit after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// How much of a log an error shows.
const LOG_TAIL_BYTES: usize = 4000;

pub(super) struct Process {
    binary: &'static str,
    child: Child,
    log: PathBuf,
}

impl Process {
    pub(super) fn spawn(
        binary: &'static str,
        program: &Path,
        args: &[String],
        log: &Path,
    ) -> Result<Self, ControlPlaneError> {
        let file = std::fs::File::create(log).map_err(|source| ControlPlaneError::File {
            path: log.to_path_buf(),
            source,
        })?;
        let stderr = file.try_clone().map_err(|source| ControlPlaneError::File {
            path: log.to_path_buf(),
            source,
        })?;
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| ControlPlaneError::Spawn { binary, source })?;
        Ok(Self {
            binary,
            child,
            log: log.to_path_buf(),
        })
    }

    /// Fails with the end of the log if the process has exited.
    pub(super) fn check_running(&mut self) -> Result<(), ControlPlaneError> {
        match self.child.try_wait() {
            Ok(Some(status)) => Err(ControlPlaneError::Exited {
                binary: self.binary,
                status: status.to_string(),
                log: self.log_tail(),
            }),
            Ok(None) | Err(_) => Ok(()),
        }
    }

    /// The last few kilobytes of the process's log.
    pub(super) fn log_tail(&self) -> String {
        let text = std::fs::read(&self.log).unwrap_or_default();
        let start = text.len().saturating_sub(LOG_TAIL_BYTES);
        String::from_utf8_lossy(&text[start..]).into_owned()
    }

    pub(super) async fn stop(&mut self) {
        if let Some(pid) = self.child.id() {
            // SIGTERM lets etcd and the API server shut down cleanly; `kill` is the portable way
            // to send it without unsafe code.
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status()
                .await;
        }
        if tokio::time::timeout(STOP_GRACE, self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }

    pub(super) fn kill_now(&mut self) {
        let _ = self.child.start_kill();
    }
}
