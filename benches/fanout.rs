//! Group fan-out: one `say` to a group of N WebSocket members, timed until
//! every member has the notification; with the in-process layer and through
//! both Redis layers, pub/sub and core (a redis-server started here).
//!
//! ```text
//! cargo bench --bench fanout                  # 1,000 and 10,000 members, 7 sends each
//! FANOUT_MEMBERS=2000 FANOUT_SENDS=5 cargo bench --bench fanout
//! ```
//!
//! The server runs as a child process (this binary again, with
//! FANOUT_ROLE=server) so that the members' sockets and the server's do not
//! share one process's file descriptor limit. Medians are the figure to
//! compare between runs; absolute times depend on the machine.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use channels_rpc::{ChannelLayer, Consumer, InProcessLayer, RedisLayer, Server, ServerConfig};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

#[derive(Consumer, Default)]
#[consumer(include(spec_methods))]
struct Chat;

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    if std::env::var("FANOUT_ROLE").as_deref() == Ok("server") {
        runtime.block_on(serve());
        return;
    }
    let sizes: Vec<usize> = match std::env::var("FANOUT_MEMBERS") {
        Ok(n) => vec![n.parse().expect("FANOUT_MEMBERS is a number")],
        Err(_) => vec![1_000, 10_000],
    };
    let sends: usize = std::env::var("FANOUT_SENDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(7);
    let redis = RedisProcess::start();
    println!("| layer | members | median | min | max |");
    println!("|---|---:|---:|---:|---:|");
    for &members in &sizes {
        let mut layers = vec![("in-process", None)];
        match &redis {
            Some(redis) => {
                layers.push(("redis pubsub", Some(("pubsub", redis.url()))));
                layers.push(("redis core", Some(("core", redis.url()))));
            }
            None => eprintln!("no redis-server: the Redis rows are skipped"),
        }
        for (name, url) in layers {
            let times = runtime.block_on(measure(members, sends, url));
            let median = times[times.len() / 2];
            println!(
                "| {name} | {members} | {:.1} ms | {:.1} ms | {:.1} ms |",
                ms(median),
                ms(times[0]),
                ms(*times.last().unwrap())
            );
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The server: chat methods on /ws/ and /rpc/, on the Redis FANOUT_REDIS
/// names with the layer FANOUT_LAYER names (core or pubsub).
async fn serve() {
    let layer: Arc<dyn ChannelLayer> = match std::env::var("FANOUT_REDIS") {
        Ok(url) => {
            let flavor = std::env::var("FANOUT_LAYER").unwrap_or_default().parse().unwrap();
            RedisLayer::with_flavor(flavor, url).build().unwrap()
        }
        Err(_) => Arc::new(InProcessLayer::default()),
    };
    let listening = Server::bind("127.0.0.1:0")
        .config(ServerConfig::builder().channel_layer(layer).build().unwrap())
        .websocket("/ws/", Chat::app())
        .http("/rpc/", Chat::app())
        .listen()
        .await
        .unwrap();
    println!("listening on {}", listening.local_addr());
    listening.serve().await.unwrap();
}

/// Sorted durations of `sends` fan-outs to `members` members.
async fn measure(members: usize, sends: usize, redis: Option<(&str, String)>) -> Vec<Duration> {
    let mut server = Command::new(std::env::current_exe().unwrap());
    server.env("FANOUT_ROLE", "server").stdout(Stdio::piped());
    if let Some((layer, url)) = redis {
        server.env("FANOUT_LAYER", layer).env("FANOUT_REDIS", url);
    }
    let mut server = Reaped(server.spawn().expect("the server starts"));
    let mut first = String::new();
    BufReader::new(server.0.stdout.as_mut().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .trim()
        .strip_prefix("listening on ")
        .expect("the server says where")
        .to_owned();

    // Connect and join, a few hundred at a time.
    let mut sockets = Vec::with_capacity(members);
    for chunk in (0..members).collect::<Vec<_>>().chunks(500) {
        let joins = chunk.iter().map(|_| async {
            let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws/"))
                .await
                .unwrap();
            socket
                .send(Message::text(
                    r#"{"jsonrpc":"2.0","method":"join","params":["room"],"id":1}"#,
                ))
                .await
                .unwrap();
            let reply = socket.next().await.unwrap().unwrap();
            assert!(reply.to_text().unwrap().contains(r#""result":true"#), "{reply}");
            socket
        });
        sockets.extend(futures_util::future::join_all(joins).await);
    }

    let mut times = Vec::with_capacity(sends);
    let mut readers = Vec::with_capacity(members);
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    for mut socket in sockets {
        let done = done_tx.clone();
        readers.push(tokio::spawn(async move {
            while let Some(Ok(message)) = socket.next().await {
                if message.is_text() && done.send(()).is_err() {
                    break;
                }
            }
        }));
    }
    let client = reqwest_like::Client::new(&addr);
    for i in 0..sends {
        let body = format!(r#"{{"jsonrpc":"2.0","method":"say","params":["room","message {i}"],"id":{i}}}"#);
        let started = Instant::now();
        client.post(&body).await;
        for _ in 0..members {
            tokio::time::timeout(Duration::from_secs(60), done_rx.recv())
                .await
                .expect("every member receives within 60 s");
        }
        times.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for reader in readers {
        reader.abort();
    }
    times.sort();
    times
}

/// A minimal keep-alive HTTP/1.1 POST, enough to send one call.
mod reqwest_like {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    pub struct Client {
        addr: String,
    }

    impl Client {
        pub fn new(addr: &str) -> Self {
            Client { addr: addr.to_owned() }
        }

        pub async fn post(&self, body: &str) {
            let mut stream = TcpStream::connect(&self.addr).await.unwrap();
            let request = format!(
                "POST /rpc/ HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut response = Vec::new();
            stream.read_to_end(&mut response).await.unwrap();
            assert!(
                response.starts_with(b"HTTP/1.1 200"),
                "{}",
                String::from_utf8_lossy(&response)
            );
        }
    }
}

/// Kills the child by pid when dropped.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A redis-server for the Redis rows, stopped by pid when dropped.
struct RedisProcess {
    _child: Reaped,
    port: u16,
}

impl RedisProcess {
    fn start() -> Option<Self> {
        let port = TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
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
            .stdout(Stdio::null())
            .spawn()
            .ok()?;
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(5) {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(RedisProcess {
            _child: Reaped(child),
            port,
        })
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}
