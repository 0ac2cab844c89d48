//! The bot under test, as a process of its own: started from its release binary, watched through
//! `/proc` (resident memory, its peak, CPU time), and stopped with SIGTERM, or killed with
//! SIGKILL by the fault suite.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

use super::LoadError;

/// A running bot process.
pub(crate) struct BotProcess {
    child: Child,
    pid: u32,
    http: SocketAddr,
    log: PathBuf,
}

impl BotProcess {
    /// Starts `binary --config config` with the token and the database in its environment, its
    /// output in `log`.
    pub(crate) fn start(
        binary: &Path,
        config: &Path,
        token: &str,
        database_url: &str,
        http: SocketAddr,
        log: &Path,
    ) -> Result<Self, LoadError> {
        let file = std::fs::File::create(log).map_err(|source| LoadError::Io {
            what: format!("creating {}", log.display()),
            source,
        })?;
        let stderr = file.try_clone().map_err(|source| LoadError::Io {
            what: "duplicating the log file".to_owned(),
            source,
        })?;
        let child = Command::new(binary)
            .arg("--config")
            .arg(config)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DISCORD_TOKEN", token)
            .env("DATABASE_URL", database_url)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| LoadError::Io {
                what: format!("starting {}", binary.display()),
                source,
            })?;
        let pid = child.id().ok_or_else(|| LoadError::Bot {
            what: "it exited at once".to_owned(),
            log: log.to_owned(),
        })?;
        Ok(Self {
            child,
            pid,
            http,
            log: log.to_owned(),
        })
    }

    /// Waits until `/readyz` answers 200 (gateway session up, database reachable).
    pub(crate) async fn wait_ready(&mut self, patience: Duration) -> Result<(), LoadError> {
        let give_up = tokio::time::Instant::now() + patience;
        loop {
            if self.ready().await {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(self.failed(&format!("it exited ({status}) before it was ready")));
            }
            if tokio::time::Instant::now() > give_up {
                return Err(self.failed("/readyz did not answer 200 in time"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// One plain HTTP/1.1 GET of `/readyz`: a raw request keeps the load generator free of an
    /// HTTP client's TLS set-up for a local, unencrypted port.
    async fn ready(&self) -> bool {
        let Ok(mut stream) = tokio::net::TcpStream::connect(self.http).await else {
            return false;
        };
        let request = format!(
            "GET /readyz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.http
        );
        if stream.write_all(request.as_bytes()).await.is_err() {
            return false;
        }
        let mut answer = Vec::new();
        if stream.read_to_end(&mut answer).await.is_err() {
            return false;
        }
        answer.starts_with(b"HTTP/1.1 200")
    }

    /// Resident memory now and its peak since the last [`reset_peak`](Self::reset_peak), KiB.
    pub(crate) fn memory_kib(&self) -> Result<(u64, u64), LoadError> {
        let status = self.proc_file("status")?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        Ok((field("VmRSS:"), field("VmHWM:")))
    }

    /// Starts a new peak: writing 5 to `clear_refs` resets VmHWM to the current RSS (Linux).
    pub(crate) fn reset_peak(&self) -> Result<(), LoadError> {
        let path = format!("/proc/{}/clear_refs", self.pid);
        std::fs::write(&path, "5").map_err(|source| LoadError::Io {
            what: format!("resetting the peak RSS ({path})"),
            source,
        })
    }

    /// User plus system CPU time the process has used.
    pub(crate) fn cpu_time(&self) -> Result<Duration, LoadError> {
        let stat = self.proc_file("stat")?;
        // Fields after the command name, which is in parentheses and may hold spaces.
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
        let ticks = |index: usize| -> u64 {
            fields
                .get(index)
                .and_then(|value| value.parse().ok())
                .unwrap_or(0)
        };
        let total = ticks(11) + ticks(12);
        Ok(Duration::from_millis(
            total * 1000 / clock_ticks_per_second(),
        ))
    }

    fn proc_file(&self, name: &str) -> Result<String, LoadError> {
        let path = format!("/proc/{}/{name}", self.pid);
        std::fs::read_to_string(&path).map_err(|source| LoadError::Io {
            what: format!("reading {path}"),
            source,
        })
    }

    /// Sends SIGTERM and waits for the exit: whether it exited 0 within `patience`.
    pub(crate) async fn terminate(mut self, patience: Duration) -> bool {
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status();
        if let Ok(Ok(status)) = tokio::time::timeout(patience, self.child.wait()).await {
            status.success()
        } else {
            let _ = self.child.kill().await;
            false
        }
    }

    /// Sends SIGKILL and reaps the process: a crash the bot gets no chance to react to (no
    /// shutdown, no flush), as when a node dies or the kernel's OOM killer picks it.
    pub(crate) async fn kill(&mut self) -> Result<(), LoadError> {
        let log = self.log.clone();
        self.child.kill().await.map_err(|source| LoadError::Io {
            what: format!("killing the bot (its log: {})", log.display()),
            source,
        })
    }

    /// A failure of the bot, pointing at its log.
    pub(crate) fn failed(&self, what: &str) -> LoadError {
        LoadError::Bot {
            what: what.to_owned(),
            log: self.log.clone(),
        }
    }
}

/// The kernel's clock ticks per second for `/proc/*/stat` (USER_HZ), from `getconf`, else the
/// usual 100.
fn clock_ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .filter(|ticks| *ticks > 0)
        .unwrap_or(100)
}
