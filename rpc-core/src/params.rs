//! Decoding `params` into a method's arguments, by position or by name.

use std::fmt;
use std::marker::PhantomData;

use crate::error::RpcError;
use crate::message::strip_position;
use ref_cast::{ref_cast_custom, RefCastCustom};
use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// The whole `params` of a call, for methods that take a variable number of
/// parameters (inject it as `params: &Params`).
///
/// ```
/// use channels_rpc::{rpc_method, Params, RpcError};
///
/// /// The specification's `sum`: adds any number of numbers.
/// #[rpc_method]
/// fn sum(params: &Params) -> Result<f64, RpcError> {
///     Ok(params.parse::<Vec<f64>>()?.iter().sum())
/// }
/// ```
///
/// Its text is always valid JSON, read once when the message arrived: only
/// this crate makes one. To keep it as JSON of your own, parse it into a
/// `Box<serde_json::value::RawValue>`.
#[derive(Debug, PartialEq, Eq, RefCastCustom)]
#[repr(transparent)]
pub struct Params(str);

impl Params {
    /// The params of a call, from text known to be a valid JSON array or
    /// object (crate-private: users receive `&Params` only).
    #[ref_cast_custom]
    pub(crate) fn from_raw(json: &str) -> &Params;

    /// The params as received: a JSON array or object, or `[]` when absent.
    pub fn get(&self) -> &str {
        &self.0
    }

    /// Decodes the params into any deserializable type; a mismatch is -32602.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, RpcError> {
        serde_json::from_str(&self.0).map_err(|e| RpcError::invalid_params(strip_position(&e.to_string())))
    }

    /// True when the params are positional (an array).
    pub fn is_positional(&self) -> bool {
        self.0.starts_with('[')
    }
}

/// The method's JSON parameters as a tuple, decoded from `params` by position or
/// by name. Implemented for tuples of up to 16 [`DeserializeOwned`] types.
pub trait FromParams: Sized {
    /// Decodes `params`. `names` are the parameter names, in order; `strict`
    /// refuses parameters that match no name or position.
    fn from_params(params: Option<&Params>, names: &[&str], strict: bool) -> Result<Self, RpcError>;
}

/// The decoding state of one tuple: a slot per parameter.
trait Slots {
    type Output;
    fn empty() -> Self;
    const LEN: usize;
    fn fill_next<'de, A: SeqAccess<'de>>(&mut self, index: usize, seq: &mut A) -> Result<bool, A::Error>;
    fn fill_value<'de, A: MapAccess<'de>>(&mut self, index: usize, map: &mut A) -> Result<(), A::Error>;
    fn is_filled(&self, index: usize) -> bool;
    fn finish(self, names: &[&str]) -> Result<Self::Output, RpcError>;
}

/// Gives a missing parameter its value: `None` for an `Option`, an error otherwise.
struct Missing<'n>(&'n str);

impl<'de> Deserializer<'de> for Missing<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom(format_args!("missing parameter `{}`", self.0)))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_none()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

fn missing<T: DeserializeOwned>(name: &str) -> Result<T, RpcError> {
    T::deserialize(Missing(name)).map_err(|e| RpcError::invalid_params(e.to_string()))
}

/// Records which parameter a decoding error belongs to.
struct ParamsVisitor<'v, 'n, S> {
    names: &'n [&'n str],
    strict: bool,
    failed_at: &'v mut Option<&'n str>,
    _slots: PhantomData<S>,
}

/// A member name of named params: the index of the parameter it names, or
/// the name itself when it names none (for the error). Borrowed from the
/// input unless it holds escapes.
enum Key<'de> {
    Known(usize),
    Unknown(std::borrow::Cow<'de, str>),
}

/// Reads a [`Key`] against the parameter names.
struct KeySeed<'n> {
    names: &'n [&'n str],
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Key<'de>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Key<'de>, D::Error> {
        de.deserialize_str(self)
    }
}

impl KeySeed<'_> {
    fn position(&self, key: &str) -> Option<usize> {
        self.names.iter().position(|name| *name == key)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a parameter name")
    }

    fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Key<'de>, E> {
        Ok(self.position(key).map_or(Key::Unknown(key.into()), Key::Known))
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key<'de>, E> {
        Ok(self
            .position(key)
            .map_or_else(|| Key::Unknown(key.to_owned().into()), Key::Known))
    }
}

impl<'de, S: Slots> Visitor<'de> for ParamsVisitor<'_, '_, S> {
    type Value = S;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array or an object of parameters")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<S, A::Error> {
        let mut slots = S::empty();
        for (index, name) in self.names.iter().enumerate().take(S::LEN) {
            *self.failed_at = Some(name);
            if !slots.fill_next(index, &mut seq)? {
                *self.failed_at = None;
                return Ok(slots);
            }
        }
        *self.failed_at = None;
        let mut extra = 0usize;
        while seq.next_element::<de::IgnoredAny>()?.is_some() {
            extra += 1;
        }
        if self.strict && extra > 0 {
            return Err(de::Error::custom(format_args!(
                "expected at most {} parameter{}, got {}",
                S::LEN,
                if S::LEN == 1 { "" } else { "s" },
                S::LEN + extra
            )));
        }
        Ok(slots)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<S, A::Error> {
        let mut slots = S::empty();
        while let Some(key) = map.next_key_seed(KeySeed { names: self.names })? {
            match key {
                Key::Known(index) if slots.is_filled(index) => {
                    let name = self.names[index];
                    return Err(de::Error::custom(format_args!("duplicate parameter `{name}`")));
                }
                Key::Known(index) => {
                    *self.failed_at = Some(self.names[index]);
                    slots.fill_value(index, &mut map)?;
                    *self.failed_at = None;
                }
                Key::Unknown(key) if self.strict => {
                    return Err(de::Error::custom(format_args!("unexpected parameter `{key}`")));
                }
                Key::Unknown(_) => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        Ok(slots)
    }
}

impl<'de, S: Slots> DeserializeSeed<'de> for ParamsVisitor<'_, '_, S> {
    type Value = S;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<S, D::Error> {
        de.deserialize_any(self)
    }
}

fn decode<S: Slots>(params: Option<&Params>, names: &[&str], strict: bool) -> Result<S::Output, RpcError> {
    let slots = match params {
        None => S::empty(),
        Some(raw) => {
            let mut failed_at = None;
            let visitor = ParamsVisitor::<S> {
                names,
                strict,
                failed_at: &mut failed_at,
                _slots: PhantomData,
            };
            let mut de = serde_json::Deserializer::from_str(raw.get());
            match visitor.deserialize(&mut de) {
                Ok(slots) => slots,
                Err(e) => {
                    let reason = strip_position(&e.to_string());
                    let message = match failed_at {
                        Some(name) => format!("parameter `{name}`: {reason}"),
                        None => reason,
                    };
                    return Err(RpcError::invalid_params(message));
                }
            }
        }
    };
    slots.finish(names)
}

macro_rules! impl_from_params {
    ($len:expr; $($idx:tt $T:ident),*) => {
        impl<$($T: DeserializeOwned),*> Slots for ($(Option<$T>,)*) {
            type Output = ($($T,)*);
            const LEN: usize = $len;

            #[allow(clippy::unused_unit)]
            fn empty() -> Self {
                ($(None::<$T>,)*)
            }

            #[allow(unused_variables)]
            fn fill_next<'de, Sq: SeqAccess<'de>>(&mut self, index: usize, seq: &mut Sq) -> Result<bool, Sq::Error> {
                match index {
                    $($idx => match seq.next_element::<$T>()? {
                        Some(v) => { self.$idx = Some(v); Ok(true) }
                        None => Ok(false),
                    },)*
                    _ => Ok(false),
                }
            }

            #[allow(unused_variables)]
            fn fill_value<'de, Mp: MapAccess<'de>>(&mut self, index: usize, map: &mut Mp) -> Result<(), Mp::Error> {
                match index {
                    $($idx => self.$idx = Some(map.next_value::<$T>()?),)*
                    _ => { map.next_value::<de::IgnoredAny>()?; }
                }
                Ok(())
            }

            #[allow(unused_variables)]
            fn is_filled(&self, index: usize) -> bool {
                match index {
                    $($idx => self.$idx.is_some(),)*
                    _ => false,
                }
            }

            #[allow(unused_variables, clippy::unused_unit)]
            fn finish(self, names: &[&str]) -> Result<Self::Output, RpcError> {
                Ok(($(match self.$idx {
                    Some(v) => v,
                    None => missing::<$T>(names[$idx])?,
                },)*))
            }
        }

        impl<$($T: DeserializeOwned),*> FromParams for ($($T,)*) {
            fn from_params(params: Option<&Params>, names: &[&str], strict: bool) -> Result<Self, RpcError> {
                debug_assert_eq!(names.len(), $len, "one name per parameter");
                decode::<($(Option<$T>,)*)>(params, names, strict)
            }
        }
    };
}

impl_from_params!(0;);
impl_from_params!(1; 0 A);
impl_from_params!(2; 0 A, 1 B);
impl_from_params!(3; 0 A, 1 B, 2 C);
impl_from_params!(4; 0 A, 1 B, 2 C, 3 D);
impl_from_params!(5; 0 A, 1 B, 2 C, 3 D, 4 E);
impl_from_params!(6; 0 A, 1 B, 2 C, 3 D, 4 E, 5 F);
impl_from_params!(7; 0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G);
impl_from_params!(8; 0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H);
impl_from_params!(9; 0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I);
impl_from_params!(10; 0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J);
impl_from_params!(11; 0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J, 10 K);
impl_from_params!(12; 0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J, 10 K, 11 L);
impl_from_params!(13; 0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J, 10 K, 11 L, 12 M);
impl_from_params!(14; 0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J, 10 K, 11 L, 12 M, 13 N);
impl_from_params!(15; 0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J, 10 K, 11 L, 12 M, 13 N, 14 O);
impl_from_params!(16; 0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J, 10 K, 11 L, 12 M, 13 N, 14 O, 15 P);

#[cfg(test)]
mod tests {
    use super::*;

    fn decode2(params: &str, strict: bool) -> Result<(i64, Option<i64>), RpcError> {
        <(i64, Option<i64>)>::from_params(Some(Params::from_raw(params)), &["a", "b"], strict)
    }

    #[test]
    fn by_position_and_by_name() {
        assert_eq!(decode2("[1, 2]", true), Ok((1, Some(2))));
        assert_eq!(decode2("[1]", true), Ok((1, None)));
        assert_eq!(decode2(r#"{"b": 2, "a": 1}"#, true), Ok((1, Some(2))));
        assert_eq!(decode2(r#"{"a": 1}"#, true), Ok((1, None)));
        assert_eq!(decode2(r#"{"a": 1, "b": null}"#, true), Ok((1, None)));
        // A name written with escapes is the same name.
        assert_eq!(decode2(r#"{"\u0062": 2, "a": 1}"#, true), Ok((1, Some(2))));
    }

    #[test]
    fn errors_name_the_parameter() {
        // -32602 keeps the specification's message; the detail is the data.
        fn msg<T: fmt::Debug>(r: Result<T, RpcError>) -> String {
            let e = r.unwrap_err();
            assert_eq!((e.code(), e.message()), (-32602, "Invalid params"));
            e.data().and_then(|d| d.as_str()).expect("a detail").to_owned()
        }
        assert_eq!(msg(decode2("[]", true)), "missing parameter `a`");
        assert_eq!(msg(decode2("{}", true)), "missing parameter `a`");
        assert_eq!(
            msg(decode2(r#"["x"]"#, true)),
            "parameter `a`: invalid type: string \"x\", expected i64"
        );
        assert_eq!(
            msg(decode2(r#"{"b": 1.5, "a": 1}"#, true)),
            "parameter `b`: invalid type: floating point `1.5`, expected i64"
        );
        assert_eq!(msg(decode2(r#"{"a": 1, "c": 3}"#, true)), "unexpected parameter `c`");
        assert_eq!(
            msg(decode2(r#"{"a": 1, "\u0063": 3}"#, true)),
            "unexpected parameter `c`"
        );
        assert_eq!(
            msg(decode2(r#"{"a": 1, "\u0061": 3}"#, true)),
            "duplicate parameter `a`"
        );
        assert_eq!(msg(decode2(r#"{"a": 1, "a": 3}"#, true)), "duplicate parameter `a`");
        assert_eq!(msg(decode2("[1, 2, 3]", true)), "expected at most 2 parameters, got 3");
        assert_eq!(
            msg(decode2("[1, 2, 3, [4], {}]", true)),
            "expected at most 2 parameters, got 5"
        );
        let one = Params::from_raw("[1, 2]");
        assert_eq!(
            msg(<(i64,)>::from_params(Some(one), &["a"], true)),
            "expected at most 1 parameter, got 2"
        );
        assert_eq!(msg(<(i64,)>::from_params(None, &["a"], true)), "missing parameter `a`");
        assert_eq!(decode2("[1, 2, 3]", false), Ok((1, Some(2))));
        assert_eq!(decode2(r#"{"a": 1, "c": 3}"#, false), Ok((1, None)));
    }

    #[test]
    fn no_params() {
        assert_eq!(<()>::from_params(None, &[], true), Ok(()));
        assert_eq!(<()>::from_params(Some(Params::from_raw("[]")), &[], true), Ok(()));
        assert!(<()>::from_params(Some(Params::from_raw("[1]")), &[], true).is_err());
        assert_eq!(<(Option<u8>,)>::from_params(None, &["x"], true), Ok((None,)));
        assert!(<(u8,)>::from_params(None, &["x"], true).is_err());
    }
}
