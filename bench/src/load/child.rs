//! A server under test as a child process of the load generator: started with
//! `rpc-bench serve NAME --addr 127.0.0.1:0 --die-with-parent`, its address
//! read from the first line it prints, killed by its pid when dropped (and by
//! the kernel if the generator dies first).

use std::io::{self, BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, ChildStdout, Command, Stdio};

use crate::servers::Kind;

/// A running server process.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    /// Kept open so the server never writes to a closed pipe.
    _stdout: BufReader<ChildStdout>,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// Starts server `kind` from this same binary and waits for its address.
    pub fn start(kind: Kind) -> io::Result<ServerProcess> {
        let args = ["serve", kind.name(), "--addr", "127.0.0.1:0", "--die-with-parent"];
        Self::spawn(&args, kind.name())
    }

    /// Starts this same binary with `args` (a server `what`) and waits for
    /// the address it announces.
    pub fn spawn(args: &[&str], what: &str) -> io::Result<ServerProcess> {
        let exe = std::env::current_exe()?;
        let mut child = Command::new(exe)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        let addr = read.ok().and_then(|_| {
            line.trim()
                .strip_prefix("listening on ")
                .and_then(|addr| addr.parse().ok())
        });
        let Some(addr) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::other(format!(
                "server {what} did not announce its address (got {line:?})"
            )));
        };
        Ok(ServerProcess {
            child,
            _stdout: stdout,
            addr,
        })
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for ServerProcess {
    /// Kills the server by its pid (SIGKILL) and reaps it.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
