//! The fast path for reading the usual request: an object whose member names
//! and string values hold no escapes, and whose `params`, when present, is an
//! array or an object.
//!
//! Scalars are scanned here byte by byte; arrays and objects are handed to
//! serde_json, which validates them and marks their end. Anything unusual (an
//! escape, a repeated member, a member that is not an object in a batch,
//! trailing text, invalid JSON, nesting past the limit) gives `None`, and the
//! caller reads the message with serde_json instead, which then decides every
//! case. So this path only ever accepts valid JSON no deeper than the limit,
//! and reads it as serde_json would.
//!
//! The nesting limit is checked here, on each array or object value only
//! (the scanner's own levels are known), so the usual request, whose
//! `params` is shorter than the limit, is never walked for it.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{Members, Object};
use crate::limits::nests_deeper_than;

/// The members of `text` when it is one object of the usual shape, nesting
/// at most `max_depth` levels (the object itself is level 1).
pub(super) fn single(text: &str, max_depth: usize) -> Option<Members<'_>> {
    let mut cursor = Cursor::new(text, max_depth.checked_sub(1)?);
    cursor.skip_whitespace();
    let members = cursor.object()?;
    cursor.skip_whitespace();
    cursor.at_end().then_some(members)
}

/// The members of each object in `text` when it is an array of such objects,
/// nesting at most `max_depth` levels (the array is level 1, its objects 2).
pub(super) fn batch(text: &str, max_depth: usize) -> Option<Vec<Object<'_>>> {
    let mut cursor = Cursor::new(text, max_depth.checked_sub(2)?);
    cursor.skip_whitespace();
    cursor.eat(b'[')?;
    let mut objects = Vec::new();
    cursor.skip_whitespace();
    if cursor.eat(b']').is_none() {
        loop {
            cursor.skip_whitespace();
            objects.push(Object::Members(cursor.object()?));
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

/// A position in the text being read.
struct Cursor<'a> {
    text: &'a str,
    at: usize,
    /// How many levels an array or object value inside an object may nest.
    value_depth: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str, value_depth: usize) -> Self {
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
        let mut members = Members::default();
        self.skip_whitespace();
        if self.eat(b'}').is_some() {
            return Some(members);
        }
        loop {
            self.skip_whitespace();
            let quoted = self.plain_string()?;
            self.skip_whitespace();
            self.eat(b':')?;
            self.skip_whitespace();
            let name = &quoted[1..quoted.len() - 1];
            if name == "params" {
                // Kept as a `RawValue`, for the method to read; only an array
                // or an object is worth the fast path.
                if members.params.is_some() || !matches!(self.peek(), Some(b'[' | b'{')) {
                    return None;
                }
                members.params = Some(self.compound()?);
            } else {
                let value = self.value()?;
                let slot = match name {
                    "jsonrpc" => Some(&mut members.jsonrpc),
                    "method" => Some(&mut members.method),
                    "id" => Some(&mut members.id),
                    _ => None,
                };
                // A repeated member is left to serde_json, which names it.
                if slot.is_some_and(|slot| slot.replace(value).is_some()) {
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

    /// Any JSON value, as its text.
    fn value(&mut self) -> Option<&'a str> {
        match self.peek()? {
            b'"' => self.plain_string(),
            b'-' | b'0'..=b'9' => self.number(),
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'n' => self.literal("null"),
            b'[' | b'{' => self.compound().map(RawValue::get),
            _ => None,
        }
    }

    /// A string without escapes or control characters, quotes included.
    fn plain_string(&mut self) -> Option<&'a str> {
        let start = self.at;
        self.eat(b'"')?;
        let rest = &self.bytes()[self.at..];
        let len = rest.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        if rest[len] != b'"' {
            return None;
        }
        self.at += len + 1;
        Some(&self.text[start..self.at])
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Option<&'a str> {
        let start = self.at;
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
        Some(&self.text[start..self.at])
    }

    /// Skips decimal digits, returning how many.
    fn digits(&mut self) -> usize {
        let start = self.at;
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
        self.at - start
    }

    fn literal(&mut self, word: &str) -> Option<&'a str> {
        let start = self.at;
        self.text[start..].starts_with(word).then(|| {
            self.at += word.len();
            &self.text[start..self.at]
        })
    }

    /// An array or an object no deeper than `value_depth`, validated by
    /// serde_json, which also finds its end.
    fn compound(&mut self) -> Option<&'a RawValue> {
        let rest = &self.text[self.at..];
        let raw = <&RawValue>::deserialize(&mut serde_json::Deserializer::from_str(rest)).ok()?;
        if nests_deeper_than(raw.get().as_bytes(), self.value_depth) {
            return None;
        }
        // The value is a slice of `rest`: carry on after its last byte.
        let end = raw.get().as_ptr() as usize + raw.get().len() - rest.as_ptr() as usize;
        self.at += end;
        Some(raw)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::limits::Limits;

    fn single(text: &str) -> Option<Members<'_>> {
        super::single(text, Limits::DEFAULT_MAX_DEPTH)
    }

    fn batch(text: &str) -> Option<Vec<Object<'_>>> {
        super::batch(text, Limits::DEFAULT_MAX_DEPTH)
    }

    /// The members as texts, to compare what both paths read.
    fn view<'a>(members: &Members<'a>) -> [Option<&'a str>; 4] {
        [
            members.jsonrpc,
            members.method,
            members.params.map(RawValue::get),
            members.id,
        ]
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
        assert_eq!(params.params.map(RawValue::get), Some(r#"[1, "]"]"#));
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
        assert!(super::batch(&batched, 4).is_some());
        assert!(super::batch(&batched, 3).is_none());
        assert!(super::batch("[{}]", 1).is_none());
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

    proptest! {
        /// Whatever the fast path reads, serde_json reads the same way, and
        /// it reads nothing nesting past the limit.
        #[test]
        fn agrees_with_serde_json_on_pieces(pieces in prop::collection::vec(piece(), 0..24), depth in 0..6usize) {
            let text = pieces.concat();
            if super::single(&text, depth).is_some() {
                prop_assert!(!nests_deeper_than(text.as_bytes(), depth), "{} at {}", text, depth);
            }
            if super::batch(&format!("[{text}]"), depth).is_some() {
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
            let at = cut.index(text.len() + 1);
            let mut changed = text.as_bytes().to_vec();
            if byte.is_ascii() && at < changed.len() {
                changed[at] = byte;
            } else {
                changed.truncate(at);
            }
            let changed = String::from_utf8(changed).unwrap();
            if let Some(fast) = single(&changed) {
                prop_assert_eq!(Some(view(&fast)), by_serde(&changed), "{}", changed);
            }
        }
    }
}
