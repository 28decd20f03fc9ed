//! `channels-rpc`: a command-line JSON-RPC 2.0 client (see `channels-rpc --help`).
//!
//! Exit codes: 0 success, 1 JSON-RPC error, 2 usage, 3 transport, 4 timeout,
//! 5 an answer that is not valid JSON-RPC.

mod args;
mod table;

use std::io::Write;
use std::process::ExitCode;

use channels_rpc_client::{Client, Error};
use clap::Parser;
use serde_json::{json, Value};

use args::{Cli, Command};

/// Why the command failed, as its exit code.
#[derive(Debug, Clone, Copy)]
enum Failure {
    Rpc = 1,
    Usage = 2,
    Transport = 3,
    Timeout = 4,
    BadAnswer = 5,
}

impl From<&Error> for Failure {
    fn from(error: &Error) -> Self {
        match error {
            Error::Rpc(_) => Self::Rpc,
            Error::InvalidUrl { .. } | Error::InvalidParams(_) => Self::Usage,
            Error::Timeout { .. } => Self::Timeout,
            Error::Decode(_) => Self::BadAnswer,
            _ => Self::Transport,
        }
    }
}

/// Prints `error` to stderr (a JSON-RPC error as its JSON object); the exit code.
fn report(error: &Error) -> ExitCode {
    match error {
        Error::Rpc(rpc) => eprintln!("{}", json!(rpc)),
        other => {
            let mut message = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(cause) = source {
                let cause_text = cause.to_string();
                if !message.contains(&cause_text) {
                    message.push_str(&format!(": {cause_text}"));
                }
                source = cause.source();
            }
            eprintln!("channels-rpc: {message}");
        }
    }
    ExitCode::from(Failure::from(error) as u8)
}

fn usage(message: &str) -> ExitCode {
    eprintln!("channels-rpc: {message}");
    ExitCode::from(Failure::Usage as u8)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Stop::Error(error)) => report(&error),
        Err(Stop::Usage(message)) => usage(&message),
    }
}

enum Stop {
    Error(Error),
    Usage(String),
}

impl From<Error> for Stop {
    fn from(error: Error) -> Self {
        Self::Error(error)
    }
}

/// `PARAMS_JSON` parsed; no argument: no params.
fn params(text: Option<&str>) -> Result<Value, Stop> {
    match text {
        None => Ok(Value::Null),
        Some(text) => serde_json::from_str(text).map_err(|e| Stop::Usage(format!("PARAMS is not JSON: {e}"))),
    }
}

async fn connect(cli: &Cli, url: &str, reconnect: bool) -> Result<Client, Stop> {
    let mut builder = Client::builder(url);
    for (name, value) in &cli.headers {
        builder = builder.header(name, value);
    }
    if let Some(timeout) = cli.timeout {
        builder = builder.timeout(timeout).connect_timeout(timeout);
    }
    if !reconnect {
        builder = builder.reconnect(None);
    }
    Ok(builder.connect().await?)
}

fn print_line(value: &Value) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{value}");
    let _ = stdout.flush();
}

async fn run(cli: Cli) -> Result<(), Stop> {
    match &cli.command {
        Command::Call {
            url,
            method,
            params: text,
        } => {
            let client = connect(&cli, url, false).await?;
            let result: Value = client.call(method, params(text.as_deref())?).await?;
            print_line(&result);
            client.close().await;
        }
        Command::Notify {
            url,
            method,
            params: text,
        } => {
            let client = connect(&cli, url, false).await?;
            client.notify(method, params(text.as_deref())?).await?;
            client.close().await;
        }
        Command::Listen { url, call } => {
            if !url.to_ascii_lowercase().starts_with("ws") {
                return Err(Stop::Usage("listen needs a ws:// URL: HTTP cannot push".into()));
            }
            let client = connect(&cli, url, false).await?;
            let mut pushed = client.notifications();
            if let [method, rest @ ..] = call.as_slice() {
                let _: Value = client.call(method, params(rest.first().map(String::as_str))?).await?;
            }
            loop {
                tokio::select! {
                    notification = pushed.next() => match notification {
                        Some(n) => print_line(&json!({"method": n.method, "params": n.params})),
                        None => break,
                    },
                    _ = tokio::signal::ctrl_c() => {
                        client.close().await;
                        break;
                    }
                }
            }
        }
        Command::Discover { url } => {
            let client = connect(&cli, url, false).await?;
            let document: Value = client.call("rpc.discover", ()).await?;
            print!("{}", table::render(&document));
            client.close().await;
        }
    }
    Ok(())
}
