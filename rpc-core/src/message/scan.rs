//! The fast path for reading the usual request: an object whose member names
//! and string values hold no escapes, and whose `params`, when present, is an
//! array or an object.
//!
//! Every byte is judged here, by JSON's grammar, once: the values of arrays
//! and objects (a `params`) are validated as they are walked, their strings
//! eight bytes at a time, and kept as their text for the method to decode.
//! Anything unusual (an escape in a member name or a top-level string, a
//! repeated member, a member that is not an object in a batch, trailing
//! text, invalid JSON, nesting past the limit) gives `None`, and the caller
//! reads the message with serde_json instead, which then decides every case.
//! So this path only ever accepts valid JSON no deeper than the limit, and
//! reads it as serde_json would (a property test here and the `differential`
//! fuzz target compare the two).

use super::Members;
use crate::json_writer::find_escape;

/// The deepest the scanner follows an array or object value (one bit per
/// level); a deeper one, allowed by a raised limit, is left to serde_json.
const SCANNED_DEPTH: usize = u128::BITS as usize;

/// The members of `text` when it is one object of the usual shape, nesting
/// at most `max_depth` levels (the object itself is level 1).
pub(super) fn single(text: &str, max_depth: usize) -> Option<Members<'_>> {
    let mut cursor = Cursor::new(text, max_depth.checked_sub(1)?);
    cursor.skip_whitespace();
    let members = cursor.object()?;
    cursor.skip_whitespace();
    cursor.at_end().then_some(members)
}

/// What `each` makes of the members of each object in `text`, when it is an
/// array of such objects nesting at most `max_depth` levels (the array is
/// level 1, its objects 2).
pub(super) fn batch<'a, T>(text: &'a str, max_depth: usize, mut each: impl FnMut(Members<'a>) -> T) -> Option<Vec<T>> {
    let mut cursor = Cursor::new(text, max_depth.checked_sub(2)?);
    cursor.skip_whitespace();
    cursor.eat(b'[')?;
    let mut objects = Vec::new();
    cursor.skip_whitespace();
    if cursor.eat(b']').is_none() {
        loop {
            cursor.skip_whitespace();
            objects.push(each(cursor.object()?));
            cursor.skip_whitespace();
            match cursor.next()? {
                b',' => continue,
                b']' => break,
                _ => return None,
            }
        }
    }
    cursor.skip_whitespace();
    cursor.at_end().then_some(objects)
}

/// A member name of a request object.
enum Name {
    Jsonrpc,
    Method,
    Params,
    Id,
    Other,
}

/// A position in the text being read.
struct Cursor<'a> {
    text: &'a str,
    at: usize,
    /// How many levels an array or object value inside an object may nest.
    value_depth: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str, value_depth: usize) -> Self {
        let value_depth = value_depth.min(SCANNED_DEPTH);
        Cursor {
            text,
            at: 0,
            value_depth,
        }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.at += 1;
        Some(byte)
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek() == Some(byte)).then(|| self.at += 1)
    }

    fn at_end(&self) -> bool {
        self.at == self.text.len()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// `{ "name": value, ... }`, keeping the members a request cares about.
    fn object(&mut self) -> Option<Members<'a>> {
        self.eat(b'{')?;
        let mut members = Members {
            unescaped: true,
            ..Members::default()
        };
        self.skip_whitespace();
        if self.eat(b'}').is_some() {
            return Some(members);
        }
        loop {
            self.skip_whitespace();
            let name = self.name()?;
            self.skip_whitespace();
            self.eat(b':')?;
            self.skip_whitespace();
            let slot = match name {
                Name::Params => {
                    // Only an array or an object is worth the fast path.
                    if members.params.is_some() || !matches!(self.peek(), Some(b'[' | b'{')) {
                        return None;
                    }
                    members.params = Some(self.compound()?);
                    None
                }
                Name::Jsonrpc if self.bytes()[self.at..].starts_with(b"\"2.0\"") && members.jsonrpc.is_none() => {
                    members.jsonrpc = Some(&self.text[self.at..self.at + 5]);
                    self.at += 5;
                    None
                }
                Name::Jsonrpc => Some(&mut members.jsonrpc),
                Name::Method => Some(&mut members.method),
                Name::Id => Some(&mut members.id),
                Name::Other => {
                    self.value()?;
                    None
                }
            };
            if let Some(slot) = slot {
                // A repeated member is left to serde_json, which names it.
                if slot.replace(self.value()?).is_some() {
                    return None;
                }
            }
            self.skip_whitespace();
            match self.next()? {
                b',' => continue,
                b'}' => return Some(members),
                _ => return None,
            }
        }
    }

    /// A member name without escapes: one of the four a request has, known
    /// by its bytes, or any other.
    fn name(&mut self) -> Option<Name> {
        let rest = &self.bytes()[self.at..];
        let is = |quoted: &[u8]| rest.starts_with(quoted);
        let (name, len) = match rest.get(1) {
            Some(b'j') if is(b"\"jsonrpc\"") => (Name::Jsonrpc, 9),
            Some(b'm') if is(b"\"method\"") => (Name::Method, 8),
            Some(b'p') if is(b"\"params\"") => (Name::Params, 8),
            Some(b'i') if is(b"\"id\"") => (Name::Id, 4),
            _ => {
                self.plain_string()?;
                return Some(Name::Other);
            }
        };
        self.at += len;
        Some(name)
    }

    /// Any JSON value of a request's own members, as its text.
    fn value(&mut self) -> Option<&'a str> {
        match self.peek()? {
            b'"' => self.plain_string(),
            b'[' | b'{' => self.compound(),
            _ => {
                let start = self.at;
                self.scalar()?;
                Some(&self.text[start..self.at])
            }
        }
    }

    /// A number, `true`, `false` or `null`.
    fn scalar(&mut self) -> Option<()> {
        match self.peek()? {
            b'-' | b'0'..=b'9' => self.number(),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => None,
        }
    }

    /// A string without escapes or control characters, quotes included.
    fn plain_string(&mut self) -> Option<&'a str> {
        let start = self.at;
        self.eat(b'"')?;
        self.at = special_byte(self.bytes(), self.at);
        self.eat(b'"')?;
        Some(&self.text[start..self.at])
    }

    /// Any string, escapes included, as serde_json's reader accepts it: `\`
    /// followed by one of `"\/bfnrt`, or by `u` and four hex digits (paired
    /// surrogates or not: which is valid depends on what the string is
    /// decoded into, so that is for the method's decoding to say).
    fn string(&mut self) -> Option<()> {
        self.eat(b'"')?;
        loop {
            self.at = special_byte(self.bytes(), self.at);
            match self.next()? {
                b'"' => return Some(()),
                b'\\' => match self.next()? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                    b'u' => {
                        let hex = self.bytes().get(self.at..self.at + 4)?;
                        if !hex.iter().all(u8::is_ascii_hexdigit) {
                            return None;
                        }
                        self.at += 4;
                    }
                    _ => return None,
                },
                _ => return None,
            }
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Option<()> {
        let _ = self.eat(b'-');
        match self.next()? {
            b'0' => {}
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.eat(b'.').is_some() && self.digits() == 0 {
            return None;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some(())
    }

    /// Skips decimal digits, returning how many.
    fn digits(&mut self) -> usize {
        let start = self.at;
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
        self.at - start
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.bytes()[self.at..].starts_with(word).then(|| self.at += word.len())
    }

    /// An array or an object nesting at most `value_depth` levels, validated
    /// as it is walked, as its text.
    fn compound(&mut self) -> Option<&'a str> {
        let start = self.at;
        self.container(self.value_depth)?;
        Some(&self.text[start..self.at])
    }

    /// The array or object the cursor is at, itself and what it holds
    /// nesting at most `levels` levels (at most `SCANNED_DEPTH`, which bounds
    /// the recursion).
    fn container(&mut self, levels: usize) -> Option<()> {
        let inner = levels.checked_sub(1)?;
        let is_object = match self.next()? {
            b'{' => true,
            b'[' => false,
            _ => return None,
        };
        let close = if is_object { b'}' } else { b']' };
        self.skip_whitespace();
        if self.eat(close).is_some() {
            return Some(());
        }
        loop {
            if is_object {
                self.member_name()?;
                self.skip_whitespace();
            }
            match self.peek()? {
                b'[' | b'{' => self.container(inner)?,
                b'"' => self.string()?,
                _ => {
                    self.scalar()?;
                }
            }
            self.skip_whitespace();
            match self.next()? {
                b',' => self.skip_whitespace(),
                byte if byte == close => return Some(()),
                _ => return None,
            }
        }
    }

    /// `"name" :` of an object inside a value, escapes allowed.
    fn member_name(&mut self) -> Option<()> {
        self.string()?;
        self.skip_whitespace();
        self.eat(b':')
    }
}

/// The bytes a string's fast walk stops at: `"`, `\\` and control characters.
static SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = true;
        byte += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Strings are walked a byte at a time for this many bytes, 64 at a time
/// after: most member names and values end before.
const SHORT_STRING: usize = 16;

/// The index of the first `"`, `\\` or control character in `bytes` from
/// `from` on, or the length of `bytes`: the bytes a JSON writer escapes.
/// Past the first `SHORT_STRING` bytes, 64 at a time, as the writer looks
/// for them.
fn special_byte(bytes: &[u8], from: usize) -> usize {
    let short = bytes.len().min(from + SHORT_STRING);
    let mut at = from;
    while at < short {
        if SPECIAL[usize::from(bytes[at])] {
            return at;
        }
        at += 1;
    }
    find_escape(bytes, at).unwrap_or(bytes.len())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use serde_json::value::RawValue;

    use super::*;
    use crate::limits::{nests_deeper_than, Limits};
    use crate::message::Object;

    fn single(text: &str) -> Option<Members<'_>> {
        super::single(text, Limits::DEFAULT_MAX_DEPTH)
    }

    fn batch(text: &str) -> Option<Vec<Object<'_>>> {
        super::batch(text, Limits::DEFAULT_MAX_DEPTH, Object::Members)
    }

    /// The members as texts, to compare what both paths read.
    fn view<'a>(members: &Members<'a>) -> [Option<&'a str>; 4] {
        [members.jsonrpc, members.method, members.params, members.id]
    }

    fn by_serde(text: &str) -> Option<[Option<&str>; 4]> {
        match serde_json::from_str::<Object<'_>>(text).ok()? {
            Object::Members(members) => Some(view(&members)),
            _ => None,
        }
    }

    /// A batch's members as texts; `None` for one that is not an object.
    fn members_of<'a>(objects: &[Object<'a>]) -> Vec<Option<[Option<&'a str>; 4]>> {
        objects
            .iter()
            .map(|object| match object {
                Object::Members(members) => Some(view(members)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn reads_the_usual_requests() {
        for text in [
            r#"{"jsonrpc":"2.0","method":"ping","id":1}"#,
            r#" { "jsonrpc" : "2.0" , "method" : "subtract" , "params" : [42, 23] , "id" : "a" } "#,
            r#"{"jsonrpc":"2.0","method":"update","params":{"a":[1,{"b":"]}"}]}}"#,
            r#"{"method":"echo","params":["hello"],"id":-1.5e+3}"#,
            r#"{"id":null,"method":"x","extra":{"k":[true,false,null]}}"#,
            "{}",
        ] {
            let fast = single(text).unwrap_or_else(|| panic!("fast path skipped {text}"));
            assert_eq!(Some(view(&fast)), by_serde(text), "{text}");
        }
        let params = single(r#"{"params":[1, "]"],"id":7}"#).unwrap();
        assert_eq!(params.params, Some(r#"[1, "]"]"#));
        assert_eq!(params.id, Some("7"));
    }

    #[test]
    fn leaves_the_unusual_to_serde_json() {
        for text in [
            r#"{"method":"a\"b","id":1}"#,
            r#"{"m\u0065thod":"x"}"#,
            r#"{"id":1,"id":2}"#,
            r#"{"params":null,"method":"x","id":1}"#,
            r#"{"id":01}"#,
            r#"{"id":1.}"#,
            r#"{"id":-}"#,
            r#"{"id":1e}"#,
            r#"{"id":nul}"#,
            r#"{"params":[1,}"#,
            r#"{"id":1} x"#,
            r#"{"id":1,}"#,
            "{\"method\":\"tab\there\"}",
        ] {
            assert!(single(text).is_none(), "fast path took {text}");
        }
        assert!(batch(r#"[{"id":1}, 5]"#).is_none());
        assert!(batch(r#"[{"id":1},]"#).is_none());
        assert_eq!(batch(r#"[ {"id":1} , {"id":"2"} ]"#).map(|b| b.len()), Some(2));
        assert_eq!(batch("[ ]").map(|b| b.len()), Some(0));
    }

    #[test]
    fn takes_only_what_nests_within_the_limit() {
        let text = r#"{"method":"x","params":[[1]],"extra":{"a":{}},"id":1}"#;
        assert!(super::single(text, 3).is_some());
        assert!(super::single(text, 2).is_none(), "params nest 3 levels");
        assert!(super::single("{}", 1).is_some());
        assert!(super::single("{}", 0).is_none());
        let batched = format!("[{text}]");
        assert!(super::batch(&batched, 4, Object::Members).is_some());
        assert!(super::batch(&batched, 3, Object::Members).is_none());
        assert!(super::batch("[{}]", 1, Object::Members).is_none());
    }

    /// Pieces a request is made of, valid and not.
    fn piece() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            " ",
            "\n",
            "\"jsonrpc\"",
            "\"method\"",
            "\"params\"",
            "\"id\"",
            "\"x\"",
            "\"2.0\"",
            "\"ping\"",
            "\"a\\\"b\"",
            "\"\\u0069d\"",
            "\"é\"",
            "0",
            "01",
            "-",
            "-0",
            "1.5",
            "1.",
            "2e",
            "3E+7",
            "-4e-2",
            "true",
            "tru",
            "false",
            "null",
            "nul",
            "[1,2]",
            "[1,}",
            "{\"k\":[]}",
            "\"\t\"",
        ])
    }

    fn request() -> impl Strategy<Value = String> {
        let member = (
            prop::sample::select(vec!["jsonrpc", "method", "params", "id", "other"]),
            prop::sample::select(vec![
                "\"2.0\"",
                "\"ping\"",
                "1",
                "-2.5e3",
                "null",
                "true",
                "[1,\"]\"]",
                "{\"a\":{}}",
                "\"x\\ny\"",
                "01",
                "1.",
                "nul",
                "[1,}",
            ]),
            prop::sample::select(vec!["", " ", "\n\t"]),
        );
        prop::collection::vec(member, 0..6).prop_map(|members| {
            let body: Vec<String> = members
                .iter()
                .map(|(name, value, space)| format!("{space}\"{name}\"{space}:{space}{value}{space}"))
                .collect();
            format!("{{{}}}", body.join(","))
        })
    }

    /// Whether the scanner takes `text` whole as an array or object value,
    /// and whether serde_json does.
    fn both_read_value(text: &str) -> (bool, bool) {
        let mut cursor = Cursor::new(text, SCANNED_DEPTH);
        let ours = cursor.compound().is_some() && {
            cursor.skip_whitespace();
            cursor.at_end()
        };
        let theirs = serde_json::from_str::<&RawValue>(text).is_ok();
        (ours, theirs)
    }

    #[test]
    fn validates_values_as_serde_json_does() {
        for text in [
            r#"[1, -2.5e+3, "a\"b\u00e9\/", true, false, null, {"k": [ ]}, {}]"#,
            r#"{"lone surrogate": "\ud800", "tab escaped": "\t", "long": "more than eight bytes of text"}"#,
            r#"["x", "\uD83D\uDE00", "é"]"#,
        ] {
            assert_eq!(both_read_value(text), (true, true), "{text}");
        }
        for text in [
            r#"["\x"]"#,
            r#"["\u12G4"]"#,
            r#"["\u12"]"#,
            "[\"tab\there\"]",
            r#"[1,]"#,
            r#"{"a" 1}"#,
            r#"{"a":1,}"#,
            r#"{1:1}"#,
            r#"[01]"#,
            r#"[1.]"#,
            r#"["unclosed]"#,
            r#"[[1]"#,
            r#"[1]]"#,
            r#"{"a":[}]"#,
        ] {
            assert_eq!(both_read_value(text), (false, false), "{text}");
        }
        let deep = format!("{}1{}", "[".repeat(SCANNED_DEPTH), "]".repeat(SCANNED_DEPTH));
        assert_eq!(both_read_value(&deep), (true, true));
        // Deeper is for serde_json alone, whose value reader has no limit.
        let deeper = format!("[{deep}]");
        assert_eq!(both_read_value(&deeper), (false, true));
    }

    #[test]
    fn finds_the_special_bytes_short_and_long() {
        // Long enough for the byte walk, two 64-byte blocks and a remainder.
        let text = "abcdefghijklmnopqrstuvwxyz é~\x7f".repeat(6);
        for at in 0..text.len() {
            for special in [b'"', b'\\', b'\n', 0x1f] {
                let mut bytes = text.as_bytes().to_vec();
                bytes[at] = special;
                for from in [0, 1, at / 2, at.saturating_sub(1), at]
                    .into_iter()
                    .filter(|&from| from <= at)
                {
                    assert_eq!(special_byte(&bytes, from), at, "{bytes:?} from {from}");
                }
                assert_eq!(special_byte(&bytes, at + 1), text.len());
            }
        }
        assert_eq!(special_byte("é ~\x7f".as_bytes(), 0), 5);
    }

    /// `text` with the byte at `cut` replaced by `byte` when that is ASCII,
    /// else cut short there.
    fn changed_at(text: &str, cut: prop::sample::Index, byte: u8) -> Vec<u8> {
        let at = cut.index(text.len() + 1);
        let mut changed = text.as_bytes().to_vec();
        if byte.is_ascii() && at < changed.len() {
            changed[at] = byte;
        } else {
            changed.truncate(at);
        }
        changed
    }

    /// A valid JSON value, arrays and objects nesting a few levels, with
    /// whitespace around its pieces.
    fn json_value() -> impl Strategy<Value = String> {
        let leaf = prop::sample::select(vec![
            "1",
            "-0",
            "2.50",
            "-4e-2",
            "3E+7",
            "true",
            "false",
            "null",
            "\"\"",
            "\"plain\"",
            "\"é and more than eight bytes\"",
            "\"\\n\\\"\\\\\\/\\u00e9\"",
            "\"\\ud800\"",
        ])
        .prop_map(str::to_owned);
        let space = prop::sample::select(vec!["", " ", "\n\t"]);
        leaf.prop_recursive(4, 48, 6, move |inner| {
            let space = space.clone();
            prop_oneof![
                (prop::collection::vec(inner.clone(), 0..6), space.clone())
                    .prop_map(|(values, s)| format!("[{s}{}{s}]", values.join(&format!("{s},{s}")))),
                (prop::collection::vec(inner, 0..6), space).prop_map(|(values, s)| {
                    let members: Vec<String> = values
                        .iter()
                        .enumerate()
                        .map(|(n, value)| format!("{s}\"k{n}\"{s}:{s}{value}"))
                        .collect();
                    format!("{{{}{s}}}", members.join(","))
                }),
            ]
        })
    }

    proptest! {
        /// The scanner's reading of an array or object value, valid or cut or
        /// changed at one byte, agrees with serde_json's.
        #[test]
        fn agrees_with_serde_json_on_values(value in json_value(), cut in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let text = format!("[{value}]");
            prop_assert_eq!(both_read_value(&text), (true, true), "{}", text);
            if let Ok(changed) = String::from_utf8(changed_at(&text, cut, byte)) {
                let (ours, theirs) = both_read_value(&changed);
                prop_assert_eq!(ours, theirs, "{}", changed);
            }
        }

        /// Whatever the fast path reads, serde_json reads the same way, and
        /// it reads nothing nesting past the limit.
        #[test]
        fn agrees_with_serde_json_on_pieces(pieces in prop::collection::vec(piece(), 0..24), depth in 0..6usize) {
            let text = pieces.concat();
            if super::single(&text, depth).is_some() {
                prop_assert!(!nests_deeper_than(text.as_bytes(), depth), "{} at {}", text, depth);
            }
            if super::batch(&format!("[{text}]"), depth, Object::Members).is_some() {
                prop_assert!(!nests_deeper_than(format!("[{text}]").as_bytes(), depth), "[{}] at {}", text, depth);
            }
            if let Some(fast) = single(&text) {
                prop_assert_eq!(Some(view(&fast)), by_serde(&text), "{}", text);
            }
            let batched = format!("[{text}]");
            if let Some(fast) = batch(&batched) {
                let slow: Vec<Object<'_>> = serde_json::from_str(&batched).unwrap();
                prop_assert_eq!(members_of(&fast), members_of(&slow), "{}", batched);
            }
        }

        /// Well-formed requests, and each cut or changed at one byte.
        #[test]
        fn agrees_with_serde_json_on_requests(text in request(), cut in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let fast = single(&text);
            if let Some(fast) = &fast {
                prop_assert_eq!(Some(view(fast)), by_serde(&text), "{}", text);
            }
            let changed = String::from_utf8(changed_at(&text, cut, byte)).unwrap();
            if let Some(fast) = single(&changed) {
                prop_assert_eq!(Some(view(&fast)), by_serde(&changed), "{}", changed);
            }
        }
    }
}
