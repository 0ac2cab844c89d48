//! A TCP relay between the bot and Postgres that a test can cut, as a network partition or a
//! database host going away would: existing connections are dropped, and new ones are accepted
//! but never answered (so the bot waits on its pool's timeouts, as it would against a real outage).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

#[derive(Default)]
struct Shared {
    down: bool,
    /// Refusing: every new connection is closed at once (the server's port is closed).
    refusing: bool,
    /// How many connections were refused.
    refused: usize,
    /// The relayed connections, aborted when the outage starts.
    relays: Vec<JoinHandle<()>>,
    /// Connections accepted during the outage, held open and never answered.
    held: Vec<TcpStream>,
}

/// The relay.
pub struct DatabaseRelay {
    address: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    accept: JoinHandle<()>,
}

impl DatabaseRelay {
    /// Relays a local port to the server of `database_url`.
    pub async fn start(database_url: &str) -> Self {
        let upstream = server_address(database_url);
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the relay");
        let address = listener.local_addr().expect("the relay's address");
        let shared = Arc::new(Mutex::new(Shared::default()));
        let accept_shared = Arc::clone(&shared);
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mut shared = accept_shared.lock().expect("relay lock");
                if shared.refusing {
                    shared.refused += 1;
                    drop(client);
                    continue;
                }
                if shared.down {
                    shared.held.push(client);
                    continue;
                }
                shared.relays.push(tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                }));
            }
        });
        Self {
            address,
            shared,
            accept,
        }
    }

    /// `database_url` with its host and port replaced by the relay's.
    pub fn url(&self, database_url: &str) -> String {
        let (scheme, rest) = database_url.split_once("://").expect("a URL");
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let user = authority
            .rsplit_once('@')
            .map(|(user, _)| format!("{user}@"))
            .unwrap_or_default();
        format!("{scheme}://{user}{}/{path}", self.address)
    }

    /// Closes every new connection at once, as a server that is not up yet does.
    pub fn refuse(&self) {
        self.shared.lock().expect("relay lock").refusing = true;
    }

    /// Relays new connections again.
    pub fn restore(&self) {
        let mut shared = self.shared.lock().expect("relay lock");
        shared.refusing = false;
        shared.down = false;
    }

    /// How many connections were refused so far.
    pub fn refused(&self) -> usize {
        self.shared.lock().expect("relay lock").refused
    }

    /// Starts the outage: every relayed connection is cut, new ones hang.
    pub fn cut(&self) {
        let mut shared = self.shared.lock().expect("relay lock");
        shared.down = true;
        for relay in shared.relays.drain(..) {
            relay.abort();
        }
    }
}

impl Drop for DatabaseRelay {
    fn drop(&mut self) {
        self.accept.abort();
        if let Ok(mut shared) = self.shared.lock() {
            for relay in shared.relays.drain(..) {
                relay.abort();
            }
        }
    }
}

fn server_address(database_url: &str) -> SocketAddr {
    let rest = database_url.split_once("://").expect("a URL").1;
    let authority = rest.split('/').next().unwrap_or(rest);
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    };
    host_port
        .replace("localhost", "127.0.0.1")
        .parse()
        .expect("the test database's host is an address")
}
