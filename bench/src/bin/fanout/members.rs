//! The members, in this process (the servers are others): N WebSocket
//! clients that `join` the group "room", and one more, the speaker, that is
//! not a member and sends `say`. A fan-out's time runs from the moment the
//! speaker has sent `say` until the last member has the notification. Every
//! notification is checked byte for byte, and the speaker's every answer.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::procfs;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Connections opened at a time while the members join.
const JOINING_AT_ONCE: usize = 200;

/// How long one fan-out may take before the run fails.
const SEND_TIMEOUT: Duration = Duration::from_secs(120);

/// The pause between two sends, so that one send's tail does not overlap the next.
const PAUSE: Duration = Duration::from_millis(100);

/// Each client's read buffer. tungstenite's default, 128 KiB, is zero-filled
/// before each read: the members' side, not the server, would set the pace.
const READ_BUFFER: usize = 4096;

/// What the members are to do.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Members of the group.
    pub members: usize,
    /// Timed sends (one more, untimed, warms up first).
    pub sends: usize,
    /// How long all the members may take to connect and join.
    pub join_within: Duration,
}

/// The notification every member must receive for send `i`, exactly.
pub fn notification(i: usize) -> String {
    format!(r#"{{"jsonrpc":"2.0","method":"chat.message","params":{{"room":"room","text":"message {i}"}}}}"#)
}

fn answer(id: usize) -> String {
    format!(r#"{{"jsonrpc":"2.0","result":true,"id":{id}}}"#)
}

/// What the members' tasks tell the measuring task.
#[derive(Default)]
struct Progress {
    /// Notifications received and correct, over all members and sends.
    received: AtomicUsize,
    /// Fires when `received` reaches a multiple of the member count.
    all_in: Notify,
    /// The first wrong thing a member saw.
    error: Mutex<Option<String>>,
}

/// What the timed sends of one row gave.
#[derive(Debug)]
pub struct Sends {
    /// The time of each send to its last member, sorted.
    pub times: Vec<Duration>,
    /// The server process's CPU time (user + system) per timed send, in
    /// milliseconds: from `/proc/PID/stat` before the first and after the
    /// last, in clock ticks (10 ms), so about a percent over 7 sends of
    /// 10,000 members. A Redis row's redis-server is not counted.
    pub server_cpu_ms: Option<f64>,
}

/// Joins `plan.members` members to "room" on the server at `addr` (process
/// `server_pid`), then times `plan.sends` fan-outs, or says what went wrong.
pub async fn measure(addr: SocketAddr, server_pid: u32, plan: Plan) -> Result<Sends, String> {
    let url = format!("ws://{addr}/ws/");
    let progress = Arc::new(Progress::default());
    let expected: Arc<[String]> = (0..=plan.sends).map(notification).collect();
    // Each member is read from the moment it has joined, so that it answers
    // the server's keep-alive pings while the others join.
    let readers = tokio::time::timeout(
        plan.join_within,
        join_all(&url, plan.members, |socket| {
            tokio::spawn(read_member(socket, plan.members, expected.clone(), progress.clone()))
        }),
    )
    .await
    .map_err(|_| {
        format!(
            "the {} members did not all connect and join within {:?}",
            plan.members, plan.join_within
        )
    })??;
    let (mut speaker, mut answers) = speaker(&url).await?;

    let mut times = Vec::with_capacity(plan.sends);
    let mut cpu_before = None;
    for i in 0..=plan.sends {
        if i == 1 {
            cpu_before = procfs::cpu_seconds(Some(server_pid)).ok();
        }
        let say = format!(r#"{{"jsonrpc":"2.0","method":"say","params":["room","message {i}"],"id":{i}}}"#);
        let started = Instant::now();
        speaker
            .send(Message::text(say))
            .await
            .map_err(|e| format!("speaker: {e}"))?;
        let target = (i + 1) * plan.members;
        let deadline = started + SEND_TIMEOUT;
        while progress.received.load(Ordering::Acquire) < target {
            if let Some(error) = progress.error.lock().expect("not poisoned").take() {
                return Err(error);
            }
            if tokio::time::timeout_at(deadline, progress.all_in.notified())
                .await
                .is_err()
            {
                let got = progress.received.load(Ordering::Acquire) - i * plan.members;
                return Err(format!(
                    "send {i}: {got} of {} members had it after {SEND_TIMEOUT:?}",
                    plan.members
                ));
            }
        }
        let elapsed = started.elapsed();
        if i > 0 {
            times.push(elapsed);
        }
        expect_answer(&mut answers, i).await?;
        tokio::time::sleep(PAUSE).await;
    }
    let cpu_after = procfs::cpu_seconds(Some(server_pid)).ok();
    let server_cpu_ms = match (cpu_before, cpu_after) {
        (Some(before), Some(after)) if plan.sends > 0 => Some((after - before) * 1000.0 / plan.sends as f64),
        _ => None,
    };
    for reader in readers {
        reader.abort();
    }
    if let Some(error) = progress.error.lock().expect("not poisoned").take() {
        return Err(error);
    }
    times.sort();
    Ok(Sends { times, server_cpu_ms })
}

/// Connects and joins `members` sockets, `JOINING_AT_ONCE` at a time,
/// handing each to `joined` as soon as it has joined.
async fn join_all<T>(url: &str, members: usize, mut joined: impl FnMut(Socket) -> T) -> Result<Vec<T>, String> {
    let mut all = Vec::with_capacity(members);
    while all.len() < members {
        let batch = JOINING_AT_ONCE.min(members - all.len());
        let joins = (0..batch).map(|_| join(url));
        for socket in futures_util::future::join_all(joins).await {
            all.push(joined(socket?));
        }
    }
    Ok(all)
}

async fn connect(url: &str) -> Result<Socket, String> {
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
    let (socket, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    Ok(socket)
}

async fn join(url: &str) -> Result<Socket, String> {
    let mut socket = connect(url).await?;
    socket
        .send(Message::text(
            r#"{"jsonrpc":"2.0","method":"join","params":["room"],"id":1}"#,
        ))
        .await
        .map_err(|e| format!("join: {e}"))?;
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) if text.as_str() == answer(1) => return Ok(socket),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => return Err(format!("join answered {other:?}")),
        }
    }
}

/// The speaker's socket to send on, and its answers, read from the start
/// by a task of their own (which also answers the server's keep-alive pings,
/// however long a fan-out takes).
async fn speaker(url: &str) -> Result<(SplitSink<Socket, Message>, mpsc::UnboundedReceiver<String>), String> {
    let (sink, mut stream) = connect(url).await.map_err(|e| format!("speaker: {e}"))?.split();
    let (answers, received) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let answer = match stream.next().await {
                Some(Ok(Message::Text(text))) => text.as_str().to_owned(),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => format!("{other:?}"),
            };
            if answers.send(answer).is_err() {
                return;
            }
        }
    });
    Ok((sink, received))
}

/// Reads the speaker's answer to send `i`.
async fn expect_answer(answers: &mut mpsc::UnboundedReceiver<String>, i: usize) -> Result<(), String> {
    let got = tokio::time::timeout(SEND_TIMEOUT, answers.recv())
        .await
        .map_err(|_| format!("send {i}: no answer to the speaker"))?;
    match got {
        Some(text) if text == answer(i) => Ok(()),
        other => Err(format!("send {i}: the speaker got {other:?}")),
    }
}

/// One member: every text must be the next expected notification.
async fn read_member(mut socket: Socket, members: usize, expected: Arc<[String]>, progress: Arc<Progress>) {
    let mut next = 0;
    let error = loop {
        let text = match socket.next().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => break format!("a member got {other:?}"),
        };
        match expected.get(next) {
            Some(want) if text.as_str() == want => {}
            _ => break format!("a member got {:?} where notification {next} was due", text.as_str()),
        }
        next += 1;
        let received = progress.received.fetch_add(1, Ordering::AcqRel) + 1;
        if received.is_multiple_of(members) {
            progress.all_in.notify_one();
        }
    };
    progress.error.lock().expect("not poisoned").get_or_insert(error);
    progress.all_in.notify_one();
}
