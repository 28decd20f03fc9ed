//! The practical upper limit: raw hyper 1 and tokio-tungstenite on one port,
//! answering `ping`, `echo` and `add` with the least byte work that still
//! gives correct answers to the load generator's requests. There is no JSON
//! parser: the id and the method are found by byte search, the id's bytes are
//! copied into the response, `echo` copies the bytes of its parameter, `add`
//! parses two integers. On a WebSocket every message already read is answered
//! and all replies leave in one write, and the read buffer is small (see
//! `READ_BUFFER_SIZE`).
//!
//! It is not a JSON-RPC server (no notifications, no error handling beyond
//! "method not found"); it only shows what the transport costs.

use std::convert::Infallible;
use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::sync::LazyLock;

use bytes::Bytes;
use futures_util::{FutureExt, SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONNECTION, CONTENT_TYPE, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE};
use hyper::server::conn::http1;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use memchr::memmem;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

/// The WebSocket read buffer. tungstenite zero-fills the free capacity of
/// its read buffer before every read, so its default of 128 KiB costs a
/// 128 KiB memset per read and 128 KiB of resident memory per connection;
/// 8 KiB is the cheapest setting that still reads a 16 KiB message in few
/// system calls. The upper limit is what a tuned server could do.
pub const READ_BUFFER_SIZE: usize = 8 * 1024;

/// Binds `addr`, calls `ready` with the bound address, serves forever.
pub async fn serve(addr: &str, ready: impl FnOnce(SocketAddr)) -> io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    ready(listener.local_addr()?);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(_) => {
                // Out of file descriptors, say: wait rather than spin.
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(respond);
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

/// Answers one HTTP request: a WebSocket upgrade or a POSTed call.
async fn respond(mut req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if let Some(key) = req.headers().get(SEC_WEBSOCKET_KEY) {
        let accept = derive_accept_key(key.as_bytes());
        let on_upgrade = hyper::upgrade::on(&mut req);
        tokio::spawn(async move {
            if let Ok(upgraded) = on_upgrade.await {
                let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER_SIZE);
                let socket = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config)).await;
                serve_websocket(socket).await;
            }
        });
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(SEC_WEBSOCKET_ACCEPT, accept.parse().expect("base64 is a valid header"));
        return Ok(response);
    }
    if req.method() != Method::POST {
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        return Ok(response);
    }
    let body = match req.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let mut out = Vec::with_capacity(body.len() + 64);
    answer(&body, &mut out);
    let mut response = Response::new(Full::new(Bytes::from(out)));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

/// Serves one WebSocket: answers every message already read, then flushes.
async fn serve_websocket(mut socket: WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>) {
    while let Some(Ok(message)) = socket.next().await {
        let mut open = reply(&mut socket, message).await;
        while open {
            match socket.next().now_or_never() {
                Some(Some(Ok(message))) => open = reply(&mut socket, message).await,
                Some(_) => open = false,
                None => break,
            }
        }
        if socket.flush().await.is_err() || !open {
            return;
        }
    }
}

/// Queues the answer to `message`; false once the connection is closing.
async fn reply<S>(socket: &mut WebSocketStream<S>, message: Message) -> bool
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let answer = match message {
        Message::Text(text) => {
            let mut out = Vec::with_capacity(text.len() + 64);
            answer(text.as_bytes(), &mut out);
            // SAFETY: `out` holds ASCII and byte ranges copied whole from
            // `text`, between ASCII delimiters, and `text` is valid UTF-8.
            Message::Text(unsafe { Utf8Bytes::from_bytes_unchecked(Bytes::from(out)) })
        }
        Message::Binary(bytes) => {
            let mut out = Vec::with_capacity(bytes.len() + 64);
            answer(&bytes, &mut out);
            Message::Binary(Bytes::from(out))
        }
        // tungstenite queues the pong (or the closing handshake) itself.
        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => return true,
        Message::Close(_) => return false,
    };
    socket.feed(answer).await.is_ok()
}

/// Appends to `out` the answer to `request`, one call or a batch of calls.
pub fn answer(request: &[u8], out: &mut Vec<u8>) {
    let start = request.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(0);
    if request.get(start) != Some(&b'[') {
        answer_call(request, out);
        return;
    }
    out.push(b'[');
    let mut rest = &request[start + 1..];
    let mut first = true;
    while let Some((member, after)) = next_object(rest) {
        if !first {
            out.push(b',');
        }
        first = false;
        answer_call(member, out);
        rest = after;
    }
    out.push(b']');
}

/// The next `{...}` in `bytes` and what follows it; strings are skipped whole.
fn next_object(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let open = memchr::memchr(b'{', bytes)?;
    let mut depth = 0usize;
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some((&bytes[open..=i], &bytes[i + 1..]));
                }
            }
            b'"' => i = string_end(bytes, i)?,
            _ => {}
        }
        i += 1;
    }
    None
}

/// Index of the quote closing the string that opens at `open`.
fn string_end(bytes: &[u8], open: usize) -> Option<usize> {
    let mut i = open + 1;
    loop {
        let off = memchr::memchr2(b'"', b'\\', bytes.get(i..)?)?;
        if bytes[i + off] == b'\\' {
            i += off + 2;
        } else {
            return Some(i + off);
        }
    }
}

/// The raw JSON value starting at `bytes[at..]` (after optional whitespace):
/// a string with its quotes, or a scalar up to the next delimiter.
fn raw_value(bytes: &[u8], at: usize) -> &[u8] {
    let Some(skip) = bytes
        .get(at..)
        .and_then(|b| b.iter().position(|c| !c.is_ascii_whitespace()))
    else {
        return b"null";
    };
    let start = at + skip;
    if bytes[start] == b'"' {
        return match string_end(bytes, start) {
            Some(end) => &bytes[start..=end],
            None => b"null",
        };
    }
    let len = bytes[start..]
        .iter()
        .position(|c| matches!(c, b',' | b'}' | b']') || c.is_ascii_whitespace())
        .unwrap_or(bytes.len() - start);
    &bytes[start..start + len]
}

/// The byte strings searched for, each searcher built once.
type Needle = LazyLock<memmem::Finder<'static>>;
static ID: Needle = LazyLock::new(|| memmem::Finder::new(b"\"id\":"));
static METHOD: Needle = LazyLock::new(|| memmem::Finder::new(b"\"method\":\""));
static PARAMS: Needle = LazyLock::new(|| memmem::Finder::new(b"\"params\":"));
static VALUE: Needle = LazyLock::new(|| memmem::Finder::new(b"\"value\":"));

/// Position just after the first `needle` in `haystack`.
fn after(haystack: &[u8], needle: &Needle) -> Option<usize> {
    needle.find(haystack).map(|i| i + needle.needle().len())
}

/// Appends the answer to one call object.
fn answer_call(call: &[u8], out: &mut Vec<u8>) {
    let id = after(call, &ID).map_or(&b"null"[..], |at| raw_value(call, at));
    let method = after(call, &METHOD)
        .and_then(|at| memchr::memchr(b'"', &call[at..]).map(|len| &call[at..at + len]))
        .unwrap_or_default();
    let params = after(call, &PARAMS).unwrap_or(call.len());
    out.extend_from_slice(br#"{"jsonrpc":"2.0","#);
    match method {
        b"ping" => out.extend_from_slice(br#""result":"pong""#),
        b"echo" => {
            // The first element of an array, or the member `value` of an object.
            let at = match call[params..].iter().position(|c| !c.is_ascii_whitespace()) {
                Some(skip) if call[params + skip] == b'{' => after(&call[params..], &VALUE).map(|i| params + i),
                Some(skip) => Some(params + skip + 1),
                None => None,
            };
            out.extend_from_slice(br#""result":"#);
            out.extend_from_slice(at.map_or(&b"null"[..], |at| raw_value(call, at)));
        }
        b"add" => {
            let mut rest = &call[params..];
            let mut sum = 0i64;
            for _ in 0..2 {
                if let Some((n, after)) = next_integer(rest) {
                    sum = sum.wrapping_add(n);
                    rest = after;
                }
            }
            let _ = write!(out, r#""result":{sum}"#);
        }
        _ => out.extend_from_slice(br#""error":{"code":-32601,"message":"Method not found"}"#),
    }
    out.extend_from_slice(br#","id":"#);
    out.extend_from_slice(id);
    out.push(b'}');
}

/// The next integer in `bytes` (digits, optionally after '-'), and the rest.
fn next_integer(bytes: &[u8]) -> Option<(i64, &[u8])> {
    let start = bytes.iter().position(|c| c.is_ascii_digit() || *c == b'-')?;
    let negative = bytes[start] == b'-';
    let digits = start + usize::from(negative);
    let mut n: i64 = 0;
    let mut end = digits;
    while let Some(d) = bytes.get(end).filter(|c| c.is_ascii_digit()) {
        n = n.wrapping_mul(10).wrapping_add(i64::from(d - b'0'));
        end += 1;
    }
    Some((if negative { -n } else { n }, &bytes[end..]))
}

#[cfg(test)]
mod tests {
    use super::answer;

    fn answered(request: &str) -> String {
        let mut out = Vec::new();
        answer(request.as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn answers_the_three_methods() {
        assert_eq!(
            answered(r#"{"jsonrpc":"2.0","method":"ping","id":7}"#),
            r#"{"jsonrpc":"2.0","result":"pong","id":7}"#
        );
        assert_eq!(
            answered(r#"{"jsonrpc":"2.0","method":"echo","params":["a\"b"],"id":"x"}"#),
            r#"{"jsonrpc":"2.0","result":"a\"b","id":"x"}"#
        );
        assert_eq!(
            answered(r#"{"jsonrpc":"2.0","method":"echo","params":{"value":12},"id":1}"#),
            r#"{"jsonrpc":"2.0","result":12,"id":1}"#
        );
        assert_eq!(
            answered(r#"{"jsonrpc":"2.0","method":"add","params":{"a":-3,"b":10},"id":2}"#),
            r#"{"jsonrpc":"2.0","result":7,"id":2}"#
        );
    }

    #[test]
    fn answers_a_batch() {
        assert_eq!(
            answered(r#" [{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1},{"method":"x","id":2}]"#),
            r#"[{"jsonrpc":"2.0","result":3,"id":1},{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":2}]"#
        );
    }
}
