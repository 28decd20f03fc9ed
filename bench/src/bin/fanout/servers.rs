//! The servers a fan-out is timed against, each a child process: the raw
//! anchor and channels-rpc (this binary again, `fanout serve ...`, on a
//! current-thread runtime pinned to CPU 0), and Django Channels under uvicorn
//! (`bench/django/serve.py`, pinned to CPU 0 too). Every one serves
//! WebSocket `/ws/` with `join(room)` and `say(room, text)` answered alike.

use std::fmt;
use std::io::{self, BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

mod ours;
mod raw;

/// The CPU the servers run on; the members take the other one.
pub const SERVER_CPU: usize = 0;

/// How long a server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// One row of the table: a server and its channel layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// tokio-tungstenite, writing one precomputed frame to every member's socket.
    Raw,
    /// tokio-tungstenite with a task per connection, each writing the shared message.
    RawTasks,
    /// channels-rpc with `InProcessLayer`.
    InProcess,
    /// channels-rpc with the Redis layer, pub/sub flavor.
    RedisPubsub,
    /// channels-rpc with the Redis layer, core flavor.
    RedisCore,
    /// Django Channels with `InMemoryChannelLayer`.
    DjangoMemory,
    /// Django Channels with channels_redis' `RedisChannelLayer`.
    DjangoRedis,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 7] = [
        Target::Raw,
        Target::RawTasks,
        Target::InProcess,
        Target::RedisPubsub,
        Target::RedisCore,
        Target::DjangoMemory,
        Target::DjangoRedis,
    ];

    /// The targets of a run unless `--targets` says otherwise, in the order
    /// they run (and the table lists them).
    pub const DEFAULT: [Target; 6] = [
        Target::Raw,
        Target::InProcess,
        Target::RedisPubsub,
        Target::RedisCore,
        Target::DjangoMemory,
        Target::DjangoRedis,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Target::Raw => "raw",
            Target::RawTasks => "raw-tasks",
            Target::InProcess => "in-process",
            Target::RedisPubsub => "redis-pubsub",
            Target::RedisCore => "redis-core",
            Target::DjangoMemory => "django-memory",
            Target::DjangoRedis => "django-redis",
        }
    }

    /// What the report calls it.
    pub fn label(self) -> &'static str {
        match self {
            Target::Raw => "raw tokio-tungstenite",
            Target::RawTasks => "raw, a task per connection",
            Target::InProcess => "channels-rpc, in-process",
            Target::RedisPubsub => "channels-rpc, Redis pub/sub",
            Target::RedisCore => "channels-rpc, Redis core",
            Target::DjangoMemory => "Django Channels, in-memory",
            Target::DjangoRedis => "Django Channels, channels_redis",
        }
    }

    /// True when the server needs a redis-server.
    pub fn needs_redis(self) -> bool {
        matches!(self, Target::RedisPubsub | Target::RedisCore | Target::DjangoRedis)
    }

    /// True for the Django rows.
    pub fn is_django(self) -> bool {
        matches!(self, Target::DjangoMemory | Target::DjangoRedis)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for Target {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Target::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| format!("unknown target `{s}`"))
    }
}

/// `fanout serve raw|raw-tasks|in-process|redis-pubsub|redis-core [--redis URL]`: runs
/// one Rust server until killed, announcing `listening on ADDR` first.
pub fn serve(target: Target, redis: Option<String>) -> io::Result<()> {
    crate::procfs::pin_or_warn(SERVER_CPU, "server");
    crate::procfs::die_with_parent()?;
    crate::procfs::raise_nofile_limit()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let announce = |addr: SocketAddr| println!("listening on {addr}");
    runtime.block_on(async move {
        match target {
            Target::Raw => raw::serve(announce).await,
            Target::RawTasks => raw::serve_tasks(announce).await,
            Target::InProcess | Target::RedisPubsub | Target::RedisCore => ours::serve(target, redis, announce).await,
            Target::DjangoMemory | Target::DjangoRedis => Err(io::Error::other("Django is served by Python")),
        }
    })
}

/// A running server, killed by its pid when dropped.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    _stdout: Option<BufReader<ChildStdout>>,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Run under `FANOUT_SERVER_PREFIX`.
    profiled: bool,
}

impl ServerProcess {
    /// Starts the server of `target`; `redis` is the URL of the redis-server
    /// for the targets that need one.
    pub fn start(target: Target, redis: Option<&str>) -> io::Result<ServerProcess> {
        if target.is_django() {
            return Self::start_django(target, redis);
        }
        let exe = std::env::current_exe()?;
        // A profiler to run the server under: `valgrind --tool=callgrind ...`.
        let prefix = std::env::var("FANOUT_SERVER_PREFIX").unwrap_or_default();
        let mut words = prefix.split_whitespace();
        let mut command = match words.next() {
            Some(program) => {
                let mut command = Command::new(program);
                command.args(words).arg(exe);
                command
            }
            None => Command::new(exe),
        };
        let profiled = !prefix.trim().is_empty();
        command.args(["serve", target.name()]);
        if let Some(url) = redis {
            command.args(["--redis", url]);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut line = String::new();
        let addr = stdout.read_line(&mut line).ok().and_then(|_| {
            line.trim()
                .strip_prefix("listening on ")
                .and_then(|addr| addr.parse().ok())
        });
        let mut server = ServerProcess {
            child,
            _stdout: Some(stdout),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            profiled,
        };
        server.addr =
            addr.ok_or_else(|| io::Error::other(format!("{target} did not announce its address ({line:?})")))?;
        Ok(server)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `python3 bench/django/serve.py PORT CPU`, then waits until it accepts.
    fn start_django(target: Target, redis: Option<&str>) -> io::Result<ServerProcess> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("django/serve.py");
        let layer = if target == Target::DjangoRedis {
            "redis"
        } else {
            "memory"
        };
        let mut command = Command::new("python3");
        command
            .arg(&script)
            .args([port.to_string(), SERVER_CPU.to_string()])
            .env("FANOUT_DJANGO_LAYER", layer)
            .env("PYTHONWARNINGS", "ignore::DeprecationWarning");
        if let Some(url) = redis {
            command.env("FANOUT_REDIS_URL", url);
        }
        let child = command.stdin(Stdio::null()).stdout(Stdio::null()).spawn()?;
        let mut server = ServerProcess {
            child,
            _stdout: None,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            profiled: false,
        };
        server.wait_until_accepting()?;
        Ok(server)
    }

    fn wait_until_accepting(&mut self) -> io::Result<()> {
        let started = Instant::now();
        while TcpStream::connect(self.addr).is_err() {
            if let Some(status) = self.child.try_wait()? {
                return Err(io::Error::other(format!("the server exited ({status})")));
            }
            if started.elapsed() > START_TIMEOUT {
                return Err(io::Error::other(format!("not listening after {START_TIMEOUT:?}")));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

/// How long a server may take to stop on SIGTERM (a profiler writing out
/// its counts) before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

impl Drop for ServerProcess {
    /// Under a profiler, SIGTERM first, so that it ends with its report
    /// (SIGKILL if it has not stopped within [`STOP_TIMEOUT`]); else SIGKILL.
    fn drop(&mut self) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) takes plain integers; `pid` is our child, not yet waited for.
        if self.profiled && unsafe { libc::kill(pid, libc::SIGTERM) } == 0 {
            let started = Instant::now();
            while started.elapsed() < STOP_TIMEOUT {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// True when Python can run the Django server (channels, Django, uvicorn
/// with uvloop and httptools), with the reason when it cannot.
pub fn django_available() -> Result<(), String> {
    let output = Command::new("python3")
        .args([
            "-c",
            "import channels, channels_redis, django, uvicorn, uvloop, httptools",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr)
            .trim()
            .lines()
            .last()
            .unwrap_or("")
            .to_owned())
    }
}

/// A redis-server on a free port, stopped by pid when dropped.
#[derive(Debug)]
pub struct RedisProcess {
    child: Child,
    port: u16,
}

impl RedisProcess {
    /// Starts one; `Err` when redis-server is missing or does not listen.
    pub fn start() -> io::Result<RedisProcess> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new("redis-server")
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--maxclients", "20000"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()?;
        let mut redis = RedisProcess { child, port };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = redis.child.try_wait()? {
                return Err(io::Error::other(format!("redis-server exited ({status})")));
            }
            if started.elapsed() > Duration::from_secs(10) {
                return Err(io::Error::other("redis-server not listening after 10 s"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(redis)
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
