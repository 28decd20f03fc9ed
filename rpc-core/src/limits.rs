//! [`Limits`] on what a client may send and how long a call may run, and the
//! nesting-depth scan that enforces one.

use std::time::Duration;

/// Limits applied to every incoming message, before any method runs.
///
/// Each has a default that serves ordinary traffic and stops abuse:
///
/// ```
/// use channels_rpc::Limits;
///
/// let limits = Limits::default().max_batch_len(16);
/// assert_eq!(limits.batch_len(), 16);
/// assert_eq!(limits.message_size(), Limits::DEFAULT_MAX_MESSAGE_SIZE);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    max_message_size: usize,
    max_depth: usize,
    max_batch_len: usize,
    call_timeout: Option<Duration>,
}

impl Limits {
    /// 10 MiB: large enough for bulk payloads, small enough that one message
    /// cannot exhaust memory.
    pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 10 * 1024 * 1024;
    /// 64 levels of arrays and objects. serde_json refuses more than 128 in any case.
    pub const DEFAULT_MAX_DEPTH: usize = 64;
    /// 1,024 members per batch: each member is a call, so this bounds the work
    /// one message can start.
    pub const DEFAULT_MAX_BATCH_LEN: usize = 1024;
    /// 60 s: how long an `async` or `blocking` method may run before its call
    /// answers [`CALL_TIMED_OUT`](crate::error::CALL_TIMED_OUT), unless the
    /// method sets its own (`#[rpc_method(timeout = "5s")]`).
    pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(60);

    /// The largest message accepted, in bytes.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// The deepest nesting of arrays and objects accepted, the envelope included
    /// (a request object is depth 1, its params array depth 2).
    pub fn max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }

    /// The most members a batch may have.
    pub fn max_batch_len(mut self, len: usize) -> Self {
        self.max_batch_len = len;
        self
    }

    /// How long an `async` or `blocking` method may run, for every method
    /// that does not set its own `timeout`. A call past it answers
    /// [`CALL_TIMED_OUT`](crate::error::CALL_TIMED_OUT) and its future is
    /// dropped, which cancels an `async` method at its next `.await`; a
    /// `blocking` method's thread cannot be stopped and runs to its end.
    /// Sync methods run inline and are not timed.
    ///
    /// Timing a call needs tokio's time driver (`enable_time`, part of
    /// `#[tokio::main]` and `enable_all`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use channels_rpc::Limits;
    ///
    /// let limits = Limits::default().call_timeout(Duration::from_secs(5));
    /// assert_eq!(limits.call_time(), Some(Duration::from_secs(5)));
    /// assert_eq!(Limits::default().call_time(), Some(Limits::DEFAULT_CALL_TIMEOUT));
    /// assert_eq!(Limits::default().no_call_timeout().call_time(), None);
    /// ```
    pub fn call_timeout(mut self, limit: Duration) -> Self {
        self.call_timeout = Some(limit);
        self
    }

    /// No default timeout: a method without its own runs as long as it takes.
    pub fn no_call_timeout(mut self) -> Self {
        self.call_timeout = None;
        self
    }

    /// The default call timeout, if any.
    pub fn call_time(&self) -> Option<Duration> {
        self.call_timeout
    }

    /// The message size limit in bytes.
    pub fn message_size(&self) -> usize {
        self.max_message_size
    }

    /// The nesting depth limit.
    pub fn depth(&self) -> usize {
        self.max_depth
    }

    /// The batch length limit.
    pub fn batch_len(&self) -> usize {
        self.max_batch_len
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: Self::DEFAULT_MAX_MESSAGE_SIZE,
            max_depth: Self::DEFAULT_MAX_DEPTH,
            max_batch_len: Self::DEFAULT_MAX_BATCH_LEN,
            call_timeout: Some(Self::DEFAULT_CALL_TIMEOUT),
        }
    }
}

/// Whether `json` nests arrays and objects deeper than `max`. Brackets inside
/// strings do not count. Runs in one pass and skips string bodies with memchr,
/// so long string payloads cost little.
pub(crate) fn nests_deeper_than(json: &[u8], max: usize) -> bool {
    // Each level opens with a bracket of its own: short input cannot nest deeper.
    if json.len() <= max {
        return false;
    }
    let mut depth = 0usize;
    let mut i = 0;
    while i < json.len() {
        match json[i] {
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'"' => match string_end(json, i + 1) {
                Some(end) => i = end,
                None => return false,
            },
            _ => {}
        }
        i += 1;
    }
    false
}

/// Strings shorter than this are walked byte by byte: for the usual member
/// names and short values, a `memchr2` call costs more than the walk.
const SHORT_STRING: usize = 16;

/// The index of the quote closing a string whose text starts at `i`,
/// stepping over escapes; `None` when the string never closes.
fn string_end(json: &[u8], mut i: usize) -> Option<usize> {
    let walked = json.len().min(i + SHORT_STRING);
    while i < walked {
        match json[i] {
            b'"' => return Some(i),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    loop {
        let off = memchr::memchr2(b'"', b'\\', json.get(i..)?)?;
        if json[i + off] == b'"' {
            return Some(i + off);
        }
        i += off + 2;
    }
}

#[cfg(test)]
mod tests {
    use super::nests_deeper_than;

    #[test]
    fn counts_brackets_outside_strings_only() {
        assert!(!nests_deeper_than(br#"{"a":[1,[2]]}"#, 3));
        assert!(nests_deeper_than(br#"{"a":[1,[2]]}"#, 2));
        assert!(!nests_deeper_than(br#"{"a":"[[[[[[\"[[[["}"#, 1));
        assert!(!nests_deeper_than(br#"["\\", "\\\\"]"#, 1));
        assert!(nests_deeper_than(&b"[".repeat(100), 64));
        assert!(!nests_deeper_than(br#""unterminated \"#, 0));
    }

    /// The plain definition: a byte walk that skips strings and escapes.
    fn depth_by_walk(json: &[u8]) -> Option<usize> {
        let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0, false, false);
        for &b in json {
            match (in_string, escaped, b) {
                (true, true, _) => escaped = false,
                (true, false, b'\\') => escaped = true,
                (true, false, b'"') => in_string = false,
                (true, false, _) => {}
                (false, _, b'"') => in_string = true,
                (false, _, b'[' | b'{') => {
                    depth += 1;
                    deepest = deepest.max(depth);
                }
                (false, _, b']' | b'}') => depth = depth.saturating_sub(1),
                (false, _, _) => {}
            }
        }
        // An unterminated string hides the rest: only what came before counts.
        Some(deepest).filter(|_| !in_string)
    }

    proptest::proptest! {
        /// Strings of every length around the byte-walk cut-off, with escapes
        /// and brackets anywhere, give the plain definition's answer.
        #[test]
        fn agrees_with_a_plain_byte_walk(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just("[".to_owned()),
                    proptest::strategy::Just("]".to_owned()),
                    proptest::strategy::Just("{".to_owned()),
                    proptest::strategy::Just("}".to_owned()),
                    "\"([a-z\\[\\]{}]|\\\\[\"\\\\n]){0,40}\"",
                    "[,:0-9a-z]{0,3}",
                ],
                0..24,
            ),
            max in 0usize..6,
        ) {
            let json = parts.concat();
            if let Some(deepest) = depth_by_walk(json.as_bytes()) {
                proptest::prop_assert_eq!(nests_deeper_than(json.as_bytes(), max), deepest > max, "{}", json);
            }
        }
    }
}
