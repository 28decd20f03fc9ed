//! Writing results as JSON: the same bytes `serde_json::to_writer` writes,
//! with strings escaped a block of bytes at a time.
//!
//! serde_json looks at a string one byte at a time to find what needs an
//! escape; for a response carrying a long string that loop was half the cost
//! of the whole call. This serializer tests 64 bytes at a time for a `"`, `\`
//! or control byte and copies the runs in between. Numbers go through
//! serde_json's `CompactFormatter`, so they are formatted exactly as before;
//! `RawValue` results are written verbatim.

use std::fmt::{self, Write as _};

use serde::ser::{self, Error as _, Impossible, Serialize};
use serde_json::ser::{CompactFormatter, Formatter};
use serde_json::Error;

type Result<T = ()> = std::result::Result<T, Error>;

/// serde_json's private marker names: a `RawValue` (and, with its
/// `arbitrary_precision` feature, a `Number`) serializes as a one-field struct
/// with this name, whose field is JSON text to copy as it is.
const VERBATIM_STRUCTS: [&str; 2] = ["$serde_json::private::RawValue", "$serde_json::private::Number"];

/// Appends `value` as JSON to `out`.
///
/// Whatever it appends is UTF-8, even when it fails part way: it copies
/// `&str`s whole, or cut just before an ASCII byte (an escape), and writes
/// only ASCII itself (punctuation, escapes, numbers). [`JsonBuf`] relies on this.
fn write_json<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result {
    value.serialize(&mut JsonWriter { out })
}

/// A buffer of JSON text under construction that is UTF-8 at every step, so
/// that it becomes a `String` without being scanned again.
///
/// The invariant is kept by this module alone: the buffer is private, every
/// method that adds bytes appends UTF-8 (a `&str`, an ASCII byte, another
/// `JsonBuf`, or the output of [`write_json`], see there), and the one that
/// removes bytes, `clear`, removes them all. Nothing outside this module can
/// reach the bytes mutably.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct JsonBuf(Vec<u8>);

impl JsonBuf {
    /// An empty buffer with room for `capacity` bytes.
    #[inline]
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        JsonBuf(Vec::with_capacity(capacity))
    }

    /// Appends text as it is (JSON punctuation, an id's text as received).
    #[inline]
    pub(crate) fn push_str(&mut self, text: &str) {
        self.0.extend_from_slice(text.as_bytes());
    }

    /// Appends one ASCII byte; panics on any other byte, which would break
    /// the invariant (callers pass literals, so the check folds away).
    #[inline]
    pub(crate) fn push_ascii(&mut self, byte: u8) {
        assert!(byte.is_ascii(), "JsonBuf::push_ascii takes ASCII only");
        self.0.push(byte);
    }

    /// Appends another buffer's text.
    #[inline]
    pub(crate) fn push_json(&mut self, other: &JsonBuf) {
        self.0.extend_from_slice(&other.0);
    }

    /// Appends `value` as JSON. On error the buffer may hold part of it,
    /// still UTF-8; callers discard or truncate it.
    #[inline]
    pub(crate) fn write<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        write_json(&mut self.0, value)
    }

    /// The byte at `index`, if any.
    #[inline]
    pub(crate) fn byte_at(&self, index: usize) -> Option<u8> {
        self.0.get(index).copied()
    }

    /// How many bytes it holds room for.
    #[inline]
    pub(crate) fn capacity(&self) -> usize {
        self.0.capacity()
    }

    /// Empties it, keeping its room.
    #[inline]
    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }

    /// The length in bytes.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// True when nothing was written.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The text as bytes.
    #[inline]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes, owned.
    #[inline]
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// The text as a `String`, without scanning it again.
    #[inline]
    pub(crate) fn into_string(self) -> String {
        debug_assert!(std::str::from_utf8(&self.0).is_ok());
        // SAFETY: `self.0` is UTF-8. It is private to this module and only
        // ever grows through the methods above: `push_str` copies a `&str`,
        // `push_ascii` checks that its byte is ASCII, `push_json` copies
        // another `JsonBuf` (UTF-8 by the same argument), and `write` appends
        // what `write_json` writes, which is UTF-8 even on failure (its doc
        // says why; `JsonWriter` only ever appends `&str` runs split before an
        // ASCII byte, ASCII escapes and punctuation, and serde_json's
        // `CompactFormatter` output for numbers, which is ASCII). The only
        // method that removes bytes, `clear`, removes all of them, so no cut
        // can fall inside a character.
        unsafe { String::from_utf8_unchecked(self.0) }
    }
}

struct JsonWriter<'a> {
    out: &'a mut Vec<u8>,
}

/// Appends `s` as a JSON string, quotes included.
fn write_str(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    write_str_contents(out, s);
    out.push(b'"');
}

fn write_str_contents(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    while let Some(at) = find_escape(bytes, start) {
        out.extend_from_slice(&bytes[start..at]);
        write_escape(out, bytes[at]);
        start = at + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

#[inline(always)]
fn needs_escape(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// The index of the first byte at or after `from` that JSON must escape.
///
/// Whole blocks are tested with a branch-free fold, which the compiler turns
/// into vector compares; only a block that holds a match is searched byte by
/// byte.
pub(crate) fn find_escape(bytes: &[u8], from: usize) -> Option<usize> {
    const BLOCK: usize = 64;
    let rest = &bytes[from..];
    let mut blocks = rest.chunks_exact(BLOCK);
    let mut offset = from;
    for block in &mut blocks {
        if block.iter().fold(false, |any, &b| any | needs_escape(b)) {
            return block.iter().position(|&b| needs_escape(b)).map(|i| offset + i);
        }
        offset += BLOCK;
    }
    blocks
        .remainder()
        .iter()
        .position(|&b| needs_escape(b))
        .map(|i| offset + i)
}

/// The escape serde_json writes for `byte`.
fn write_escape(out: &mut Vec<u8>, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = match byte {
        b'"' => b'"',
        b'\\' => b'\\',
        0x08 => b'b',
        0x0C => b'f',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        _ => 0,
    };
    if short != 0 {
        out.extend_from_slice(&[b'\\', short]);
    } else {
        let (high, low) = (HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xF)]);
        out.extend_from_slice(&[b'\\', b'u', b'0', b'0', high, low]);
    }
}

/// `collect_str` support: each piece `Display` writes is escaped as it comes.
struct EscapingAdapter<'a>(&'a mut Vec<u8>);

impl fmt::Write for EscapingAdapter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write_str_contents(self.0, s);
        Ok(())
    }
}

fn collect_escaped<T: fmt::Display + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result {
    out.push(b'"');
    write!(EscapingAdapter(out), "{value}").map_err(|_| Error::custom("a Display implementation failed"))?;
    out.push(b'"');
    Ok(())
}

macro_rules! via_formatter {
    ($($method:ident($ty:ty) => $write:ident;)*) => {
        $(fn $method(self, value: $ty) -> Result {
            CompactFormatter.$write(self.out, value).map_err(Error::io)
        })*
    };
}

impl<'s, 'a> ser::Serializer for &'s mut JsonWriter<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'s, 'a>;
    type SerializeTuple = Compound<'s, 'a>;
    type SerializeTupleStruct = Compound<'s, 'a>;
    type SerializeTupleVariant = Compound<'s, 'a>;
    type SerializeMap = Compound<'s, 'a>;
    type SerializeStruct = Compound<'s, 'a>;
    type SerializeStructVariant = Compound<'s, 'a>;

    via_formatter! {
        serialize_bool(bool) => write_bool;
        serialize_i8(i8) => write_i8;
        serialize_i16(i16) => write_i16;
        serialize_i32(i32) => write_i32;
        serialize_i64(i64) => write_i64;
        serialize_i128(i128) => write_i128;
        serialize_u8(u8) => write_u8;
        serialize_u16(u16) => write_u16;
        serialize_u32(u32) => write_u32;
        serialize_u64(u64) => write_u64;
        serialize_u128(u128) => write_u128;
        serialize_bytes(&[u8]) => write_byte_array;
    }

    fn serialize_f32(self, value: f32) -> Result {
        if !value.is_finite() {
            return self.serialize_unit();
        }
        CompactFormatter.write_f32(self.out, value).map_err(Error::io)
    }

    fn serialize_f64(self, value: f64) -> Result {
        if !value.is_finite() {
            return self.serialize_unit();
        }
        CompactFormatter.write_f64(self.out, value).map_err(Error::io)
    }

    fn serialize_char(self, value: char) -> Result {
        self.serialize_str(value.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, value: &str) -> Result {
        write_str(self.out, value);
        Ok(())
    }

    fn serialize_none(self) -> Result {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result {
        self.serialize_unit()
    }

    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Result {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result {
        self.out.push(b'{');
        write_str(self.out, variant);
        self.out.push(b':');
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'s, 'a>> {
        Ok(Compound::open(self, b"[", b"]"))
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'s, 'a>> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Compound<'s, 'a>> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'s, 'a>> {
        self.out.push(b'{');
        write_str(self.out, variant);
        Ok(Compound::open(self, b":[", b"]}"))
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'s, 'a>> {
        Ok(Compound::open(self, b"{", b"}"))
    }

    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Compound<'s, 'a>> {
        if VERBATIM_STRUCTS.contains(&name) {
            return Ok(Compound::Verbatim(self));
        }
        self.serialize_map(Some(len))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'s, 'a>> {
        self.out.push(b'{');
        write_str(self.out, variant);
        Ok(Compound::open(self, b":{", b"}}"))
    }

    fn collect_str<T: fmt::Display + ?Sized>(self, value: &T) -> Result {
        collect_escaped(self.out, value)
    }
}

/// A sequence, map or struct being written, or a serde_json marker struct
/// whose one field is copied verbatim.
enum Compound<'s, 'a> {
    Open {
        writer: &'s mut JsonWriter<'a>,
        first: bool,
        close: &'static [u8],
    },
    Verbatim(&'s mut JsonWriter<'a>),
}

impl<'s, 'a> Compound<'s, 'a> {
    fn open(writer: &'s mut JsonWriter<'a>, open: &[u8], close: &'static [u8]) -> Self {
        writer.out.extend_from_slice(open);
        Compound::Open {
            writer,
            first: true,
            close,
        }
    }

    /// Writes the separator before the next element and returns the writer.
    fn next(&mut self) -> &mut JsonWriter<'a> {
        match self {
            Compound::Open { writer, first, .. } => {
                if !std::mem::take(first) {
                    writer.out.push(b',');
                }
                writer
            }
            Compound::Verbatim(writer) => writer,
        }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        value.serialize(self.next())
    }

    fn entry<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result {
        if let Compound::Verbatim(writer) = self {
            return value.serialize(VerbatimText(writer.out));
        }
        let writer = self.next();
        write_str(writer.out, key);
        writer.out.push(b':');
        value.serialize(writer)
    }

    fn close(self) -> Result {
        if let Compound::Open { writer, close, .. } = self {
            writer.out.extend_from_slice(close);
        }
        Ok(())
    }
}

macro_rules! compound {
    ($($trait:ident :: $method:ident),*) => {
        $(impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;

            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
                self.element(value)
            }

            fn end(self) -> Result {
                self.close()
            }
        })*
    };
}

compound!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        key.serialize(MapKey(self.next().out))
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        let Compound::Open { writer, .. } = self else {
            return Err(Error::custom("a value without a key"));
        };
        writer.out.push(b':');
        value.serialize(&mut **writer)
    }

    fn end(self) -> Result {
        self.close()
    }
}

impl ser::SerializeStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        self.entry(key, value)
    }

    fn end(self) -> Result {
        self.close()
    }
}

impl ser::SerializeStructVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        self.entry(key, value)
    }

    fn end(self) -> Result {
        self.close()
    }
}

fn key_must_be_a_string() -> Error {
    Error::custom("key must be a string")
}

/// A map key: strings as they are, numbers and booleans quoted, as
/// serde_json does; anything else is an error.
struct MapKey<'a>(&'a mut Vec<u8>);

macro_rules! quoted_key {
    ($($method:ident($ty:ty) => $write:ident;)*) => {
        $(fn $method(self, value: $ty) -> Result {
            self.0.push(b'"');
            CompactFormatter.$write(self.0, value).map_err(Error::io)?;
            self.0.push(b'"');
            Ok(())
        })*
    };
}

macro_rules! not_a_key {
    ($($method:ident($($arg:ty),*) -> $ret:ty;)*) => {
        $(fn $method(self, $(_: $arg),*) -> Result<$ret> {
            Err(key_must_be_a_string())
        })*
    };
}

impl ser::Serializer for MapKey<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    quoted_key! {
        serialize_bool(bool) => write_bool;
        serialize_i8(i8) => write_i8;
        serialize_i16(i16) => write_i16;
        serialize_i32(i32) => write_i32;
        serialize_i64(i64) => write_i64;
        serialize_i128(i128) => write_i128;
        serialize_u8(u8) => write_u8;
        serialize_u16(u16) => write_u16;
        serialize_u32(u32) => write_u32;
        serialize_u64(u64) => write_u64;
        serialize_u128(u128) => write_u128;
    }

    not_a_key! {
        serialize_bytes(&[u8]) -> ();
        serialize_none() -> ();
        serialize_unit() -> ();
        serialize_unit_struct(&'static str) -> ();
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct(&'static str, usize) -> Self::SerializeStruct;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }

    fn serialize_f32(self, value: f32) -> Result {
        if !value.is_finite() {
            return Err(Error::custom("float key must be finite"));
        }
        self.0.push(b'"');
        CompactFormatter.write_f32(self.0, value).map_err(Error::io)?;
        self.0.push(b'"');
        Ok(())
    }

    fn serialize_f64(self, value: f64) -> Result {
        if !value.is_finite() {
            return Err(Error::custom("float key must be finite"));
        }
        self.0.push(b'"');
        CompactFormatter.write_f64(self.0, value).map_err(Error::io)?;
        self.0.push(b'"');
        Ok(())
    }

    fn serialize_char(self, value: char) -> Result {
        self.serialize_str(value.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, value: &str) -> Result {
        write_str(self.0, value);
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
        value.serialize(self)
    }

    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Result {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result {
        Err(key_must_be_a_string())
    }

    fn collect_str<T: fmt::Display + ?Sized>(self, value: &T) -> Result {
        collect_escaped(self.0, value)
    }
}

/// The one field of a serde_json marker struct: JSON text, copied as it is.
struct VerbatimText<'a>(&'a mut Vec<u8>);

macro_rules! not_text {
    ($($method:ident($($arg:ty),*) -> $ret:ty;)*) => {
        $(fn $method(self, $(_: $arg),*) -> Result<$ret> {
            Err(Error::custom("expected JSON text"))
        })*
    };
}

impl ser::Serializer for VerbatimText<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_str(self, json: &str) -> Result {
        self.0.extend_from_slice(json.as_bytes());
        Ok(())
    }

    not_text! {
        serialize_bool(bool) -> ();
        serialize_i8(i8) -> ();
        serialize_i16(i16) -> ();
        serialize_i32(i32) -> ();
        serialize_i64(i64) -> ();
        serialize_u8(u8) -> ();
        serialize_u16(u16) -> ();
        serialize_u32(u32) -> ();
        serialize_u64(u64) -> ();
        serialize_f32(f32) -> ();
        serialize_f64(f64) -> ();
        serialize_char(char) -> ();
        serialize_bytes(&[u8]) -> ();
        serialize_none() -> ();
        serialize_unit() -> ();
        serialize_unit_struct(&'static str) -> ();
        serialize_unit_variant(&'static str, u32, &'static str) -> ();
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct(&'static str, usize) -> Self::SerializeStruct;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result {
        Err(Error::custom("expected JSON text"))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, _value: &T) -> Result {
        Err(Error::custom("expected JSON text"))
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result {
        Err(Error::custom("expected JSON text"))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde::Serialize;
    use serde_json::value::RawValue;
    use serde_json::{json, Value};

    use super::write_json;

    fn ours<T: Serialize + ?Sized>(value: &T) -> Result<String, String> {
        let mut out = Vec::new();
        write_json(&mut out, value).map_err(|e| e.to_string())?;
        Ok(String::from_utf8(out).expect("UTF-8"))
    }

    /// The same bytes as serde_json, or an error where serde_json fails.
    fn assert_same<T: Serialize + ?Sized>(value: &T) {
        match serde_json::to_string(value) {
            Ok(expected) => assert_eq!(ours(value).as_deref(), Ok(expected.as_str())),
            Err(_) => assert!(ours(value).is_err(), "serde_json fails, ours wrote {:?}", ours(value)),
        }
    }

    #[derive(Serialize)]
    enum Shape {
        Unit,
        Newtype(u8),
        Tuple(i32, String),
        Struct { w: f64, tag: Option<char> },
    }

    #[derive(Serialize)]
    struct Record<'a> {
        name: &'a str,
        #[serde(with = "serde_bytes_as_seq")]
        bytes: &'a [u8],
        shapes: Vec<Shape>,
        unit: (),
        empty: Vec<u8>,
        empty_map: BTreeMap<String, u8>,
        raw: &'a RawValue,
        nested: Option<Box<Record<'a>>>,
        big: (i128, u128, f32),
        not_finite: [f64; 3],
    }

    mod serde_bytes_as_seq {
        pub fn serialize<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(bytes)
        }
    }

    #[test]
    fn typed_values_match_serde_json() {
        let raw: Box<RawValue> = serde_json::from_str(r#" { "kept" : [1, 2.50] } "#).unwrap();
        let inner = Record {
            name: "inner \u{1F600}",
            bytes: &[0, 255],
            shapes: vec![],
            unit: (),
            empty: vec![],
            empty_map: BTreeMap::new(),
            raw: &raw,
            nested: None,
            big: (i128::MIN, u128::MAX, 0.1),
            not_finite: [f64::NAN, f64::INFINITY, -0.0],
        };
        let record = Record {
            name: "quote \" backslash \\ controls \u{0}\u{1f}\u{7f}\n\r\t\u{8}\u{c} end",
            bytes: b"ab",
            shapes: vec![
                Shape::Unit,
                Shape::Newtype(7),
                Shape::Tuple(-1, "x".into()),
                Shape::Struct {
                    w: 1e300,
                    tag: Some('"'),
                },
            ],
            unit: (),
            empty: vec![],
            empty_map: BTreeMap::new(),
            raw: &raw,
            nested: Some(Box::new(inner)),
            big: (1, 2, f32::MAX),
            not_finite: [f64::NEG_INFINITY, 5e-324, 1.0],
        };
        assert_same(&record);
        assert_same(&raw);
        assert_same(&format_args!("display {} \"quoted\"", 42));
    }

    #[test]
    fn map_keys_match_serde_json() {
        assert_same(&BTreeMap::from([(1, "a"), (-2, "b")]));
        assert_same(&BTreeMap::from([(true, 1)]));
        assert_same(&BTreeMap::from([('k', 1)]));
        assert_same(&BTreeMap::from([(Some("k\n"), 1)]));
        assert_same(&std::collections::HashMap::from([(vec![1u8], 1)]));
        assert_same(&BTreeMap::from([((), 1)]));
    }

    #[test]
    fn every_byte_is_escaped_as_serde_json_does() {
        let all: String = (0u8..=127).map(char::from).chain("é€😀".chars()).collect();
        for start in 0..16 {
            assert_same(&all[start..]);
        }
        assert_same(&json!({ "k\"ey": [all, null, true, 1.5, -3, u64::MAX] }));
    }

    fn arbitrary_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            any::<String>().prop_map(Value::from),
            "[\"\\\\\\x00-\\x1f a-z]{0,40}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..8)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn arbitrary_values_match_serde_json(value in arbitrary_json()) {
            prop_assert_eq!(ours(&value).unwrap(), serde_json::to_string(&value).unwrap());
        }

        #[test]
        fn arbitrary_strings_match_serde_json(text in any::<String>(), escapes in "[\"\\\\\\x00-\\x1f]{0,4}") {
            let mixed = format!("{text}{escapes}{text}");
            prop_assert_eq!(ours(&mixed).unwrap(), serde_json::to_string(&mixed).unwrap());
        }
    }
}
