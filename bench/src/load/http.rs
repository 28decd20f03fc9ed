//! The HTTP side of the load generator: a hand-rolled keep-alive HTTP/1.1
//! client over one `TcpStream` (one request in flight per connection, no
//! allocation per call), and the two HTTP scenarios' connection loops.

use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use memchr::memmem;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::check::{self, Call};
use super::Shared;

/// One keep-alive HTTP/1.1 connection that POSTs JSON to /rpc/.
#[derive(Debug)]
pub struct HttpConn {
    stream: TcpStream,
    /// `POST /rpc/ HTTP/1.1` and the fixed headers, up to `Content-Length: `.
    head: Vec<u8>,
    /// The request being sent.
    request: Vec<u8>,
    /// Bytes read and not yet consumed are `buf[start..end]`.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// A chunked body, decoded.
    dechunked: Vec<u8>,
}

/// Where a response body is: in the read buffer, or decoded from chunks.
enum BodyAt {
    Buffer(usize, usize),
    Dechunked,
}

impl HttpConn {
    /// Connects to `addr`.
    pub async fn connect(addr: SocketAddr) -> io::Result<HttpConn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let head = format!(
            "POST /rpc/ HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: "
        );
        Ok(HttpConn {
            stream,
            head: head.into_bytes(),
            request: Vec::with_capacity(1024),
            buf: vec![0; 64 * 1024],
            start: 0,
            end: 0,
            dechunked: Vec::new(),
        })
    }

    /// POSTs `body`; returns the status and the response body.
    pub async fn post(&mut self, body: &[u8]) -> io::Result<(u16, &[u8])> {
        self.request.clear();
        self.request.extend_from_slice(&self.head);
        // Writing to a Vec cannot fail.
        let _ = write!(self.request, "{}\r\n\r\n", body.len());
        self.request.extend_from_slice(body);
        self.stream.write_all(&self.request).await?;
        let (status, at) = self.read_response().await?;
        Ok((
            status,
            match at {
                BodyAt::Buffer(from, to) => &self.buf[from..to],
                BodyAt::Dechunked => &self.dechunked,
            },
        ))
    }

    /// Reads more bytes into the buffer; an error at end of stream.
    async fn fill(&mut self) -> io::Result<()> {
        if self.start > 0 && self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                self.buf.resize(self.buf.len() * 2, 0);
            }
        }
        let n = self.stream.read(&mut self.buf[self.end..]).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed the connection",
            ));
        }
        self.end += n;
        Ok(())
    }

    /// Reads one whole response; the body stays in the buffer (or in
    /// `dechunked`) until the next call.
    async fn read_response(&mut self) -> io::Result<(u16, BodyAt)> {
        let head_len = loop {
            if let Some(i) = memmem::find(&self.buf[self.start..self.end], b"\r\n\r\n") {
                break i + 4;
            }
            self.fill().await?;
        };
        let head = &self.buf[self.start..self.start + head_len];
        let status = head
            .get(9..12)
            .and_then(|s| std::str::from_utf8(s).ok())
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| io::Error::other("malformed status line"))?;
        let mut length = None;
        let mut chunked = false;
        for line in head.split(|&b| b == b'\n').skip(1) {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let Some(colon) = memchr::memchr(b':', line) else {
                continue;
            };
            let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
            if name.eq_ignore_ascii_case(b"content-length") {
                length = std::str::from_utf8(value).ok().and_then(|v| v.parse::<usize>().ok());
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                chunked = value.eq_ignore_ascii_case(b"chunked");
            }
        }
        self.start += head_len;
        if chunked {
            self.read_chunks().await?;
            return Ok((status, BodyAt::Dechunked));
        }
        let length = length.unwrap_or(0);
        while self.end - self.start < length {
            self.fill().await?;
        }
        let body = BodyAt::Buffer(self.start, self.start + length);
        self.start += length;
        Ok((status, body))
    }

    /// Decodes a chunked body into `dechunked` (trailers are not expected).
    async fn read_chunks(&mut self) -> io::Result<()> {
        self.dechunked.clear();
        loop {
            let line_len = loop {
                if let Some(i) = memmem::find(&self.buf[self.start..self.end], b"\r\n") {
                    break i;
                }
                self.fill().await?;
            };
            let line = &self.buf[self.start..self.start + line_len];
            let hex = line.split(|&b| b == b';').next().unwrap_or_default().trim_ascii();
            let size = std::str::from_utf8(hex)
                .ok()
                .and_then(|h| usize::from_str_radix(h, 16).ok())
                .ok_or_else(|| io::Error::other("malformed chunk size"))?;
            self.start += line_len + 2;
            while self.end - self.start < size + 2 {
                self.fill().await?;
            }
            self.dechunked
                .extend_from_slice(&self.buf[self.start..self.start + size]);
            self.start += size + 2;
            if size == 0 {
                return Ok(());
            }
        }
    }
}

/// One connection of `http_ping`: POSTs `ping` calls one after another until
/// told to stop, validating each answer. Returns the latencies measured.
pub async fn ping_loop(addr: SocketAddr, shared: Arc<Shared>) -> Vec<u64> {
    let mut latencies = Vec::new();
    let mut conn = match HttpConn::connect(addr).await {
        Ok(conn) => conn,
        Err(e) => {
            shared.error(format!("connect: {e}"));
            return latencies;
        }
    };
    let call = Call::Ping;
    let mut body = Vec::with_capacity(128);
    let mut id = 0u64;
    while !shared.stopping() {
        id += 1;
        body.clear();
        call.write_request(id, &mut body);
        let sent = Instant::now();
        let verdict = match conn.post(&body).await {
            Ok((200, answer)) => check::response(answer, shared.strict).and_then(|fields| match fields.id()? {
                got if got == id => call.check(id, &fields),
                got => Err(format!("answer for id {got} to call {id}")),
            }),
            Ok((status, _)) => Err(format!("HTTP status {status}")),
            Err(e) => {
                shared.error(format!("HTTP: {e}"));
                return latencies;
            }
        };
        match verdict {
            Ok(()) => shared.answered(1, sent, &mut latencies),
            Err(e) => shared.error(e),
        }
    }
    latencies
}

/// One connection of `http_batch`: POSTs batches of `size` `add` calls,
/// validating every member of every answer. Latencies are per batch.
pub async fn batch_loop(addr: SocketAddr, size: usize, shared: Arc<Shared>) -> Vec<u64> {
    let mut latencies = Vec::new();
    let mut conn = match HttpConn::connect(addr).await {
        Ok(conn) => conn,
        Err(e) => {
            shared.error(format!("connect: {e}"));
            return latencies;
        }
    };
    let call = Call::Add;
    let mut body = Vec::with_capacity(size * 64);
    let mut seen = vec![false; size];
    let mut first = 1u64;
    while !shared.stopping() {
        body.clear();
        body.push(b'[');
        for i in 0..size as u64 {
            if i > 0 {
                body.push(b',');
            }
            call.write_request(first + i, &mut body);
        }
        body.push(b']');
        let sent = Instant::now();
        let verdict = match conn.post(&body).await {
            Ok((200, answer)) => check_batch(answer, &call, first, &mut seen, shared.strict),
            Ok((status, _)) => Err(format!("HTTP status {status}")),
            Err(e) => {
                shared.error(format!("HTTP: {e}"));
                return latencies;
            }
        };
        match verdict {
            Ok(()) => shared.answered(size as u64, sent, &mut latencies),
            Err(e) => shared.error(e),
        }
        first += size as u64;
    }
    latencies
}

/// Checks that `answer` answers each of the calls `first..first + seen.len()`
/// exactly once, correctly.
fn check_batch(answer: &[u8], call: &Call, first: u64, seen: &mut [bool], strict: bool) -> Result<(), String> {
    seen.fill(false);
    let members = check::batch(answer, strict)?;
    if members.len() != seen.len() {
        return Err(format!("{} answers to a batch of {}", members.len(), seen.len()));
    }
    for member in members {
        let id = member.id()?;
        let slot = id
            .checked_sub(first)
            .and_then(|i| seen.get_mut(i as usize))
            .filter(|seen| !**seen)
            .ok_or_else(|| format!("unexpected or repeated id {id} in a batch answer"))?;
        *slot = true;
        call.check(id, &member)?;
    }
    Ok(())
}
