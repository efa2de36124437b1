//! For tests (this crate's and the executor's): a real `redis-server` on
//! loopback, on a free port, killed when dropped.
//!
//! A machine without `redis-server` cannot run the Redis tests: they fail
//! (never pass by skipping), saying how to install it.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` child process.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    /// Where an append-only file goes, if the server persists.
    dir: Option<PathBuf>,
}

/// How long a started server has to answer.
const READY_WITHIN: Duration = Duration::from_secs(10);

fn installed() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Fails `test` if redis-server is missing, saying how to install it.
fn require_installed(test: &str) {
    assert!(
        installed(),
        "{test}: redis-server is not installed; install it with \
         `bash scripts/install-toolchain.sh` (scripts/test.sh does it first)"
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

impl RedisServer {
    /// A server without persistence (`--save '' --appendonly no`).
    pub fn start(test: &str) -> RedisServer {
        Self::start_in(test, None)
    }

    /// A server that persists every acknowledged write in `dir`
    /// (`--appendonly yes --appendfsync always`), so it survives a kill.
    pub fn start_persistent(test: &str, dir: &Path) -> RedisServer {
        Self::start_in(test, Some(dir.to_path_buf()))
    }

    fn start_in(test: &str, dir: Option<PathBuf>) -> RedisServer {
        require_installed(test);
        // Another process may take the free port before the server binds
        // it: try a few.
        for _ in 0..5 {
            let mut s = RedisServer {
                child: None,
                port: free_port(),
                dir: dir.clone(),
            };
            if s.spawn() {
                return s;
            }
        }
        panic!("{test}: redis-server did not start on a free port (5 tries)");
    }

    fn spawn(&mut self) -> bool {
        let mut cmd = Command::new("redis-server");
        cmd.args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", ""]);
        match &self.dir {
            Some(dir) => {
                std::fs::create_dir_all(dir).expect("redis data directory");
                cmd.args(["--appendonly", "yes", "--appendfsync", "always", "--dir"])
                    .arg(dir);
            }
            None => {
                cmd.args(["--appendonly", "no"]);
            }
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start redis-server");
        self.child = Some(child);
        let end = Instant::now() + READY_WITHIN;
        while Instant::now() < end {
            if self.ping() {
                return true;
            }
            if let Some(c) = &mut self.child
                && c.try_wait().ok().flatten().is_some()
            {
                // Exited: the port was taken.
                self.child = None;
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.kill();
        false
    }

    fn ping(&self) -> bool {
        let Ok(client) = redis::Client::open(self.url()) else {
            return false;
        };
        client
            .get_connection_with_timeout(Duration::from_millis(200))
            .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
            .is_ok()
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// SIGKILL: the server gets no chance to do anything more.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server again on the same port (after [`kill`](Self::kill)).
    pub fn restart(&mut self) {
        self.kill();
        let end = Instant::now() + READY_WITHIN;
        while !self.spawn() {
            assert!(Instant::now() < end, "redis-server did not restart");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
