//! The Django Channels peer (`tests/python/channels_peer.py`, the real
//! channels_redis) as a child process, killed by pid when dropped.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

const PEER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/channels_peer.py");

/// How long the peer may take for one line (Django starts in about a second).
const LINE_LIMIT: Duration = Duration::from_secs(30);

/// A running peer whose output is read line by line.
pub struct Peer {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

fn command(layer: &str, hosts: &[String], args: &[&str], config: Option<&Value>) -> Command {
    let mut command = Command::new("python3");
    command
        .arg(PEER)
        .arg(args[0])
        .arg(layer)
        .arg(hosts.join(","))
        .args(&args[1..])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    if let Some(config) = config {
        command.env("PEER_CONFIG", config.to_string());
    }
    command
}

impl Peer {
    /// Starts `channels_peer.py MODE LAYER HOSTS ARGS...` (`args[0]` is the mode).
    pub fn spawn(layer: &str, hosts: &[String], args: &[&str], config: Option<&Value>) -> Peer {
        let mut child = command(layer, hosts, args, config).spawn().expect("python3 runs");
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Peer { child, lines }
    }

    /// A listener: `count` Channels consumers in `group` ("-" for none) that
    /// print `expect` events; their channel names once they are ready.
    pub async fn listen(
        layer: &str,
        hosts: &[String],
        group: &str,
        count: usize,
        expect: usize,
    ) -> (Peer, Vec<String>) {
        Self::listen_with(layer, hosts, group, count, expect, None).await
    }

    /// [`Peer::listen`] with more `CONFIG` entries.
    pub async fn listen_with(
        layer: &str,
        hosts: &[String],
        group: &str,
        count: usize,
        expect: usize,
        config: Option<&Value>,
    ) -> (Peer, Vec<String>) {
        let mut peer = Peer::spawn(
            layer,
            hosts,
            &["listen", group, &count.to_string(), &expect.to_string()],
            config,
        );
        let ready = peer.line().await;
        let mut words = ready.split(' ');
        assert_eq!(words.next(), Some("ready"), "{ready}");
        let names: Vec<String> = words.map(str::to_owned).collect();
        assert_eq!(names.len(), count, "{ready}");
        (peer, names)
    }

    /// The next line it prints.
    pub async fn line(&mut self) -> String {
        tokio::time::timeout(LINE_LIMIT, self.lines.next_line())
            .await
            .expect("the peer prints within the time limit")
            .expect("its stdout reads")
            .expect("the peer printed a line before exiting")
    }

    /// The next line, as JSON.
    pub async fn json(&mut self) -> Value {
        let line = self.line().await;
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    /// Waits for it to exit successfully.
    pub async fn finish(mut self) {
        let status = tokio::time::timeout(LINE_LIMIT, self.child.wait())
            .await
            .expect("the peer exits")
            .unwrap();
        assert!(status.success(), "the peer failed: {status}");
    }
}

/// Runs the peer to completion; what it printed.
pub async fn run(layer: &str, hosts: &[String], args: &[&str], config: Option<&Value>) -> String {
    let output = tokio::time::timeout(LINE_LIMIT, command(layer, hosts, args, config).output())
        .await
        .expect("the peer finishes")
        .expect("python3 runs");
    assert!(output.status.success(), "the peer failed: {}", output.status);
    String::from_utf8(output.stdout).unwrap()
}

/// The Python side's `group_send(group, message)`.
pub async fn group_send(layer: &str, hosts: &[String], group: &str, message: &Value) {
    run(layer, hosts, &["group_send", group, &message.to_string()], None).await;
}

/// The Python side's `send(channel, message)` to each channel, in one
/// process: "sent" or "full" for each.
pub async fn send(
    layer: &str,
    hosts: &[String],
    channels: &[&str],
    message: &Value,
    config: Option<&Value>,
) -> Vec<String> {
    run(
        layer,
        hosts,
        &["send", &channels.join(","), &message.to_string()],
        config,
    )
    .await
    .lines()
    .map(str::to_owned)
    .collect()
}
