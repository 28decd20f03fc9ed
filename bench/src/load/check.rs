//! Validation of every response, cheap enough that the load generator is not
//! the bottleneck: a small scanner finds the top-level members of a response
//! object (`jsonrpc`, `id`, `result`, `error`) and compares their raw bytes
//! with what the call must return. In `strict` mode (the smoke run) the whole
//! response must also parse as JSON with serde_json.

use std::io::Write as _;
use std::sync::Arc;

/// The raw top-level members of one response object.
#[derive(Debug, Default, Clone, Copy)]
pub struct Fields<'a> {
    /// `jsonrpc`, quotes included.
    pub jsonrpc: Option<&'a [u8]>,
    /// `id`, as sent on the wire.
    pub id: Option<&'a [u8]>,
    /// `result`.
    pub result: Option<&'a [u8]>,
    /// `error`.
    pub error: Option<&'a [u8]>,
}

impl Fields<'_> {
    /// The id as an integer.
    pub fn id(&self) -> Result<u64, String> {
        let raw = self.id.ok_or("response without id")?;
        std::str::from_utf8(raw)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("id is not the integer sent: {}", lossy(raw)))
    }

    /// Checks that this is a 2.0 success whose result is exactly `expected`.
    pub fn expect_result(&self, expected: &[u8]) -> Result<(), String> {
        if self.jsonrpc != Some(&b"\"2.0\""[..]) {
            return Err("response without \"jsonrpc\":\"2.0\"".to_owned());
        }
        if let Some(error) = self.error {
            return Err(format!("error response: {}", lossy(error)));
        }
        match self.result {
            Some(result) if result == expected => Ok(()),
            Some(result) => Err(format!(
                "wrong result: {} (expected {})",
                lossy(result),
                lossy(expected)
            )),
            None => Err("response without result".to_owned()),
        }
    }
}

/// Up to 200 characters of `bytes`, for an error message.
fn lossy(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
    if bytes.len() > 200 {
        format!("{text}...")
    } else {
        text
    }
}

/// Parses one response object (the whole of `bytes`).
pub fn response(bytes: &[u8], strict: bool) -> Result<Fields<'_>, String> {
    if strict {
        serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map_err(|e| format!("invalid JSON: {e}"))?;
    }
    let start = skip_ws(bytes, 0);
    let (fields, end) = object(bytes, start)?;
    if skip_ws(bytes, end) != bytes.len() {
        return Err("trailing bytes after the response".to_owned());
    }
    Ok(fields)
}

/// Parses a batch response (an array of response objects).
pub fn batch(bytes: &[u8], strict: bool) -> Result<Vec<Fields<'_>>, String> {
    if strict {
        serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map_err(|e| format!("invalid JSON: {e}"))?;
    }
    let mut i = skip_ws(bytes, 0);
    if bytes.get(i) != Some(&b'[') {
        return Err(format!("batch answered without an array: {}", lossy(bytes)));
    }
    i = skip_ws(bytes, i + 1);
    let mut members = Vec::new();
    if bytes.get(i) == Some(&b']') {
        return Ok(members);
    }
    loop {
        let (fields, end) = object(bytes, i)?;
        members.push(fields);
        i = skip_ws(bytes, end);
        match bytes.get(i) {
            Some(b',') => i = skip_ws(bytes, i + 1),
            Some(b']') => break,
            _ => return Err("malformed batch response".to_owned()),
        }
    }
    if skip_ws(bytes, i + 1) != bytes.len() {
        return Err("trailing bytes after the batch".to_owned());
    }
    Ok(members)
}

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// Parses the object at `bytes[i]`; returns its members and the index after it.
fn object(bytes: &[u8], mut i: usize) -> Result<(Fields<'_>, usize), String> {
    if bytes.get(i) != Some(&b'{') {
        return Err(format!("expected a response object: {}", lossy(bytes)));
    }
    let mut fields = Fields::default();
    i = skip_ws(bytes, i + 1);
    if bytes.get(i) == Some(&b'}') {
        return Ok((fields, i + 1));
    }
    loop {
        if bytes.get(i) != Some(&b'"') {
            return Err("malformed object: key expected".to_owned());
        }
        let key_end = string_end(bytes, i)?;
        let key = &bytes[i + 1..key_end];
        i = skip_ws(bytes, key_end + 1);
        if bytes.get(i) != Some(&b':') {
            return Err("malformed object: ':' expected".to_owned());
        }
        i = skip_ws(bytes, i + 1);
        let value_end = value_end(bytes, i)?;
        let value = &bytes[i..value_end];
        let slot = match key {
            b"jsonrpc" => &mut fields.jsonrpc,
            b"id" => &mut fields.id,
            b"result" => &mut fields.result,
            b"error" => &mut fields.error,
            _ => return Err(format!("unexpected member {}", lossy(key))),
        };
        if slot.replace(value).is_some() {
            return Err(format!("duplicate member {}", lossy(key)));
        }
        i = skip_ws(bytes, value_end);
        match bytes.get(i) {
            Some(b',') => i = skip_ws(bytes, i + 1),
            Some(b'}') => return Ok((fields, i + 1)),
            _ => return Err("malformed object: ',' or '}' expected".to_owned()),
        }
    }
}

/// Index of the quote that closes the string opening at `bytes[open]`.
fn string_end(bytes: &[u8], open: usize) -> Result<usize, String> {
    let mut i = open + 1;
    loop {
        let rest = bytes.get(i..).ok_or("unterminated string")?;
        match memchr::memchr2(b'"', b'\\', rest) {
            Some(off) if rest[off] == b'\\' => i += off + 2,
            Some(off) => return Ok(i + off),
            None => return Err("unterminated string".to_owned()),
        }
    }
}

/// Index just after the JSON value starting at `bytes[i]`.
fn value_end(bytes: &[u8], i: usize) -> Result<usize, String> {
    match bytes.get(i) {
        Some(b'"') => Ok(string_end(bytes, i)? + 1),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut j = i;
            while j < bytes.len() {
                match bytes[j] {
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(j + 1);
                        }
                    }
                    b'"' => j = string_end(bytes, j)?,
                    _ => {}
                }
                j += 1;
            }
            Err("unterminated array or object".to_owned())
        }
        Some(_) => {
            let len = bytes[i..]
                .iter()
                .position(|c| matches!(c, b',' | b'}' | b']') || c.is_ascii_whitespace())
                .unwrap_or(bytes.len() - i);
            if len == 0 {
                Err("empty value".to_owned())
            } else {
                Ok(i + len)
            }
        }
        None => Err("value expected".to_owned()),
    }
}

/// One kind of call the generator makes, with how to write it and what its
/// result must be.
#[derive(Debug, Clone)]
pub enum Call {
    /// `ping` -> `"pong"`.
    Ping,
    /// `echo([s])` -> `s`; holds `"s"` with its quotes.
    Echo(Arc<[u8]>),
    /// `add(a, b)` -> a + b, with a and b derived from the id; odd ids send
    /// named parameters, even ids positional ones.
    Add,
}

impl Call {
    /// `echo` of a string of `len` ASCII letters.
    pub fn echo_of_len(len: usize) -> Call {
        let mut quoted = Vec::with_capacity(len + 2);
        quoted.push(b'"');
        quoted.extend((0..len).map(|i| b'a' + (i % 26) as u8));
        quoted.push(b'"');
        Call::Echo(quoted.into())
    }

    fn operands(id: u64) -> (i64, i64) {
        ((id % 1000) as i64 * 3 - 1000, id as i64)
    }

    /// Appends the request object with `id` to `out`.
    pub fn write_request(&self, id: u64, out: &mut Vec<u8>) {
        out.extend_from_slice(br#"{"jsonrpc":"2.0","method":"#);
        match self {
            Call::Ping => out.extend_from_slice(br#""ping""#),
            Call::Echo(quoted) => {
                out.extend_from_slice(br#""echo","params":["#);
                out.extend_from_slice(quoted);
                out.push(b']');
            }
            Call::Add => {
                let (a, b) = Self::operands(id);
                // Writing to a Vec cannot fail.
                let _ = if id % 2 == 1 {
                    write!(out, r#""add","params":{{"a":{a},"b":{b}}}"#)
                } else {
                    write!(out, r#""add","params":[{a},{b}]"#)
                };
            }
        }
        let _ = write!(out, r#","id":{id}}}"#);
    }

    /// Checks `fields` as the response to the call with `id`.
    pub fn check(&self, id: u64, fields: &Fields<'_>) -> Result<(), String> {
        match self {
            Call::Ping => fields.expect_result(br#""pong""#),
            Call::Echo(quoted) => fields.expect_result(quoted),
            Call::Add => {
                let (a, b) = Self::operands(id);
                fields.expect_result((a + b).to_string().as_bytes())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_members_in_any_order() {
        let f = response(br#" {"id":3,"jsonrpc":"2.0","result":{"a":[1,"}"]}} "#, true).unwrap();
        assert_eq!(f.id().unwrap(), 3);
        assert_eq!(f.result.unwrap(), br#"{"a":[1,"}"]}"#);
        assert!(f.expect_result(br#"{"a":[1,"}"]}"#).is_ok());
        assert!(f.expect_result(b"1").is_err());
    }

    #[test]
    fn rejects_errors_and_garbage() {
        let f = response(br#"{"jsonrpc":"2.0","error":{"code":1},"id":1}"#, false).unwrap();
        assert!(f.expect_result(b"1").is_err());
        assert!(response(br#"{"jsonrpc":"2.0","result":1,"id":1"#, false).is_err());
        assert!(response(br#"{"jsonrpc":"2.0","result":1,"id":1}x"#, false).is_err());
        assert!(response(br#"{"jsonrpc":"2.0","result":1,"id":1,"id":2}"#, false).is_err());
        assert!(response(br#"{"jsonrpc":"2.0","result":tru,"id":1}"#, true).is_err());
    }

    #[test]
    fn requests_round_trip_through_serde() {
        for call in [Call::Ping, Call::echo_of_len(30), Call::Add] {
            for id in [1, 2] {
                let mut out = Vec::new();
                call.write_request(id, &mut out);
                let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
                assert_eq!(v["id"], id);
            }
        }
        let members = batch(
            br#"[{"jsonrpc":"2.0","result":-996,"id":1}, {"jsonrpc":"2.0","result":-992,"id":2}]"#,
            true,
        )
        .unwrap();
        assert_eq!(members.len(), 2);
        for m in members {
            Call::Add.check(m.id().unwrap(), &m).unwrap();
        }
    }
}
