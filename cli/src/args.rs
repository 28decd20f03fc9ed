//! The command line, as clap derives it.

use std::time::Duration;

use clap::{Parser, Subcommand};

/// Call, notify, listen to and discover JSON-RPC 2.0 servers over HTTP
/// (`http://`) or WebSocket (`ws://`).
///
/// Exit codes: 0 success, 1 the server answered with a JSON-RPC error,
/// 2 usage (bad arguments, URL, header or params), 3 transport (cannot
/// connect, connection lost, HTTP error status), 4 timeout, 5 an answer
/// that is not valid JSON-RPC.
#[derive(Debug, Parser)]
#[command(name = "channels-rpc", version)]
pub struct Cli {
    /// A header for every request and for the WebSocket handshake, as `Name: value` (repeatable).
    #[arg(long = "header", short = 'H', value_name = "K:V", value_parser = parse_header, global = true)]
    pub headers: Vec<(String, String)>,
    /// How long to wait for each answer: `500ms`, `5s`, `2m` or seconds (`1.5`).
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout, global = true)]
    pub timeout: Option<Duration>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Calls METHOD and prints its result as one line of JSON on stdout; a
    /// JSON-RPC error goes to stderr (as a JSON object) with exit code 1.
    Call {
        /// `http://host:port/path` or `ws://host:port/path`.
        url: String,
        /// The method to call.
        method: String,
        /// The params: a JSON array (positional) or object (named).
        params: Option<String>,
    },
    /// Sends the notification METHOD(PARAMS); prints nothing. Prefer http://:
    /// over ws:// a server may drop work of a connection that closes, and
    /// `notify` closes right after sending.
    Notify {
        /// `http://...` or `ws://...`.
        url: String,
        /// The notification's method.
        method: String,
        /// The params: a JSON array or object.
        params: Option<String>,
    },
    /// Prints each notification the server pushes as one line of JSON
    /// (`{"method":...,"params":...}`) until interrupted or the server closes.
    Listen {
        /// `ws://...` (HTTP cannot push).
        url: String,
        /// First calls METHOD with optional PARAMS (e.g. `--call join '["room"]'`).
        #[arg(long, num_args = 1..=2, value_names = ["METHOD", "PARAMS"])]
        call: Vec<String>,
    },
    /// Prints a table of the server's methods and their params, from `rpc.discover`.
    Discover {
        /// `http://...` or `ws://...`.
        url: String,
    },
}

fn parse_header(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?} is not `Name: value`"))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("{text:?} has no header name"));
    }
    Ok((name.to_owned(), value.trim().to_owned()))
}

/// `5s`, `250ms`, `1m 30s` (humantime) or plain seconds (`5`, `0.5`).
fn parse_timeout(text: &str) -> Result<Duration, String> {
    if let Ok(seconds) = text.trim().parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"));
    }
    humantime::parse_duration(text).map_err(|e| format!("{text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_in_seconds_or_with_units() {
        assert_eq!(parse_timeout("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_timeout("0.25"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_timeout("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_timeout("1m 30s"), Ok(Duration::from_secs(90)));
        assert!(parse_timeout("-1").is_err());
        assert!(parse_timeout("soon").is_err());
    }

    #[test]
    fn headers_split_at_the_first_colon() {
        assert_eq!(
            parse_header("Authorization: Bearer a:b"),
            Ok(("Authorization".into(), "Bearer a:b".into()))
        );
        assert!(parse_header("no colon").is_err());
        assert!(parse_header(": empty").is_err());
    }
}
