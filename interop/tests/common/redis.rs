//! A real redis-server for the tests: started on a free port, stopped by its
//! pid. Tests that need it are `#[cfg_attr(not(has_redis), ignore)]`: the
//! build script found the binary, so failing to start it is a failure.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running redis-server.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    /// Where it keeps its append-only file, when it persists.
    persist_in: Option<PathBuf>,
}

impl RedisServer {
    /// Starts one on a free port, keeping nothing on disk.
    pub fn start() -> RedisServer {
        Self::start_with(None)
    }

    /// Starts one that writes every command to an append-only file
    /// (`appendfsync always`), so a restart, even after SIGKILL, keeps its data.
    pub fn start_persistent() -> RedisServer {
        let dir = std::env::temp_dir().join(format!("channels-rpc-redis-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(&dir).unwrap();
        Self::start_with(Some(dir))
    }

    /// Starts `n` of them, for sharding.
    pub fn start_many(n: usize) -> Vec<RedisServer> {
        (0..n).map(|_| Self::start()).collect()
    }

    fn start_with(persist_in: Option<PathBuf>) -> RedisServer {
        let mut server = RedisServer {
            child: None,
            port: free_port(),
            persist_in,
        };
        if let Err(e) = server.spawn() {
            panic!("redis-server could not start: {e}");
        }
        server
    }

    fn spawn(&mut self) -> std::io::Result<()> {
        let mut command = Command::new("redis-server");
        command
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--protected-mode", "yes"])
            // `DEBUG SLEEP` for the slow-Redis tests, from loopback only.
            .args(["--enable-debug-command", "local"]);
        match &self.persist_in {
            Some(dir) => command
                .args(["--appendonly", "yes", "--appendfsync", "always", "--dir"])
                .arg(dir),
            None => command.args(["--appendonly", "no"]),
        };
        let child = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn()?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.ping() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(std::io::Error::other("redis-server did not answer PING within 10 s"))
    }

    fn ping(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
        let mut buf = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok() && stream.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL by pid) and waits for it to exit.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn().expect("redis-server restarts");
    }

    /// Runs a command through a fresh connection; its RESP answer as text.
    pub fn command(&self, args: &[&str]) -> String {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("redis is up");
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        stream.write_all(request.as_bytes()).unwrap();
        stream.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
            if answer.ends_with(b"\r\n") {
                break;
            }
        }
        String::from_utf8_lossy(&answer).into_owned()
    }

    /// Makes the server answer nothing for `pause` (`DEBUG SLEEP`, which
    /// blocks every client), starting now; joining the thread waits for it
    /// to answer again.
    pub fn sleep_for(&self, pause: Duration) -> std::thread::JoinHandle<()> {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("redis is up");
        let seconds = format!("{:.3}", pause.as_secs_f64());
        let request = format!(
            "*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n${}\r\n{seconds}\r\n",
            seconds.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        stream.set_read_timeout(Some(pause + Duration::from_secs(10))).unwrap();
        // The server reads the command at once; leave it that moment.
        std::thread::sleep(Duration::from_millis(50));
        std::thread::spawn(move || {
            let mut answer = [0u8; 5];
            stream.read_exact(&mut answer).expect("redis answers after its sleep");
            assert_eq!(&answer, b"+OK\r\n", "DEBUG SLEEP is enabled");
        })
    }

    /// How many subscribers a Redis pub/sub channel has.
    pub fn subscribers(&self, channel: &str) -> i64 {
        let answer = self.command(&["PUBSUB", "NUMSUB", channel]);
        // *2 $len channel :N
        answer
            .lines()
            .last()
            .and_then(|l| l.strip_prefix(':'))
            .and_then(|n| n.parse().ok())
            .unwrap_or(-1)
    }
}

impl RedisServer {
    /// Runs a command through the redis crate's own client; its typed answer.
    pub fn query<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> T {
        let client = redis::Client::open(self.url()).unwrap();
        let mut connection = client
            .get_connection_with_timeout(Duration::from_secs(2))
            .expect("redis is up");
        command.query(&mut connection).expect("the command succeeds")
    }

    /// The members of a sorted set, lowest score first.
    pub fn zmembers(&self, key: &str) -> Vec<String> {
        self.query(redis::cmd("ZRANGE").arg(key).arg(0).arg(-1))
    }

    /// How many members a sorted set has.
    pub fn zcard(&self, key: &str) -> usize {
        self.query(redis::cmd("ZCARD").arg(key))
    }

    /// Whether `key` exists on this server.
    pub fn exists(&self, key: &str) -> bool {
        self.query::<i64>(redis::cmd("EXISTS").arg(key)) == 1
    }

    /// The keys matching `pattern`.
    pub fn keys(&self, pattern: &str) -> Vec<String> {
        self.query(redis::cmd("KEYS").arg(pattern))
    }
}

/// The URLs of several servers, in order.
pub fn urls(servers: &[RedisServer]) -> Vec<String> {
    servers.iter().map(RedisServer::url).collect()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        if let Some(dir) = &self.persist_in {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
