//! JSON Schemas of parameter and result types, for `rpc.discover`.
//!
//! `#[rpc_method]` records, for each JSON parameter and for the result, a
//! [`SchemaFn`] that asks [`SchemaProbe`] for its type's schema. The probe
//! picks at compile time, by autoref specialization, the most specific of:
//!
//! 1. `Result<T, E>` where `T: JsonSchema` (feature `schemars`): `T`'s schema,
//!    as a method's error travels in the response's `error` member;
//! 2. `T: JsonSchema` (feature `schemars`): `T`'s schema;
//! 3. anything else: `{}`, the schema every value satisfies.
//!
//! Without the `schemars` feature only the last exists, so every schema is
//! `{}` and the user writes nothing either way.

use std::marker::PhantomData;

use serde_json::{Map, Value};

/// Where schemas of named types go in an OpenRPC document.
pub const DEFINITIONS_PATH: &str = "#/components/schemas/";

/// Writes the schema of one type, putting named types' schemas into the
/// generator's definitions (found at [`DEFINITIONS_PATH`]).
pub type SchemaFn = fn(&mut SchemaGen) -> Value;

/// The schema generator of one method's description.
#[derive(Debug)]
pub struct SchemaGen {
    #[cfg(feature = "schemars")]
    inner: schemars::SchemaGenerator,
}

/// Which way values of a type travel: decoded from params, or encoded as a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Parameters, read with `Deserialize`.
    Params,
    /// Results, written with `Serialize`.
    Result,
}

impl SchemaGen {
    /// A generator for JSON Schema draft-07 (the dialect OpenRPC documents use).
    pub fn new(direction: Direction) -> Self {
        #[cfg(feature = "schemars")]
        {
            let settings = schemars::generate::SchemaSettings::draft07().with(|s| {
                s.definitions_path = DEFINITIONS_PATH.into();
                s.meta_schema = None;
            });
            let settings = match direction {
                Direction::Params => settings.for_deserialize(),
                Direction::Result => settings.for_serialize(),
            };
            SchemaGen {
                inner: settings.into_generator(),
            }
        }
        #[cfg(not(feature = "schemars"))]
        {
            let _ = direction;
            SchemaGen {}
        }
    }

    /// The named types' schemas referred to so far.
    pub fn take_definitions(&mut self) -> Map<String, Value> {
        #[cfg(feature = "schemars")]
        {
            self.inner.take_definitions(true)
        }
        #[cfg(not(feature = "schemars"))]
        {
            Map::new()
        }
    }
}

/// Asks for the schema of `T`; see the module documentation. Not public API:
/// generated code calls `(&&&SchemaProbe::<T>::new()).__rpc_schema(gen)` with
/// the three `Via*Schema` traits in scope.
#[doc(hidden)]
pub struct SchemaProbe<T: ?Sized>(PhantomData<fn() -> Box<T>>);

impl<T: ?Sized> std::fmt::Debug for SchemaProbe<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SchemaProbe")
    }
}

impl<T: ?Sized> SchemaProbe<T> {
    /// The probe of `T`.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        SchemaProbe(PhantomData)
    }
}

/// Level 3, the fallback: `{}`.
#[doc(hidden)]
pub trait ViaNoSchema {
    /// `{}`.
    fn __rpc_schema(&self, _gen: &mut SchemaGen) -> Value {
        Value::Object(Map::new())
    }
}

impl<T: ?Sized> ViaNoSchema for SchemaProbe<T> {}

/// Level 2: a type with a `JsonSchema` impl.
#[doc(hidden)]
pub trait ViaJsonSchema {
    /// The type's schema.
    fn __rpc_schema(&self, gen: &mut SchemaGen) -> Value;
}

#[cfg(feature = "schemars")]
impl<T: ?Sized + schemars::JsonSchema> ViaJsonSchema for &SchemaProbe<T> {
    fn __rpc_schema(&self, gen: &mut SchemaGen) -> Value {
        gen.inner.subschema_for::<T>().to_value()
    }
}

/// Level 1: `Result<T, E>` answers `T`.
#[doc(hidden)]
pub trait ViaResultSchema {
    /// The success type's schema.
    fn __rpc_schema(&self, gen: &mut SchemaGen) -> Value;
}

#[cfg(feature = "schemars")]
impl<T: schemars::JsonSchema, E> ViaResultSchema for &&SchemaProbe<Result<T, E>> {
    fn __rpc_schema(&self, gen: &mut SchemaGen) -> Value {
        gen.inner.subschema_for::<T>().to_value()
    }
}

/// The schema of the result of a function returning nothing: `null`.
pub fn unit_schema(_gen: &mut SchemaGen) -> Value {
    serde_json::json!({"type": "null"})
}

/// The schema of a type that cannot be named (`impl Trait`): `{}`.
pub fn any_schema(_gen: &mut SchemaGen) -> Value {
    Value::Object(Map::new())
}

#[cfg(test)]
// The probes are borrowed thrice on purpose: that is how the levels are picked.
#[allow(clippy::needless_borrow)]
mod tests {
    use super::*;

    struct Plain;

    #[test]
    fn a_type_without_json_schema_is_described_by_the_empty_schema() {
        #[allow(unused_imports)]
        use super::{ViaJsonSchema as _, ViaNoSchema as _, ViaResultSchema as _};
        let mut gen = SchemaGen::new(Direction::Params);
        assert_eq!(
            (&&&SchemaProbe::<Plain>::new()).__rpc_schema(&mut gen),
            serde_json::json!({})
        );
        assert_eq!(
            (&&&SchemaProbe::<Result<Plain, String>>::new()).__rpc_schema(&mut gen),
            serde_json::json!({})
        );
    }

    #[cfg(feature = "schemars")]
    #[test]
    fn json_schema_types_and_results_of_them_get_their_schema() {
        #[allow(unused_imports)]
        use super::{ViaJsonSchema as _, ViaNoSchema as _, ViaResultSchema as _};
        let mut gen = SchemaGen::new(Direction::Result);
        assert_eq!(
            (&&&SchemaProbe::<i64>::new()).__rpc_schema(&mut gen),
            serde_json::json!({"type": "integer", "format": "int64"})
        );
        // The error travels in `error`: the result is the success type's.
        assert_eq!(
            (&&&SchemaProbe::<Result<bool, String>>::new()).__rpc_schema(&mut gen),
            serde_json::json!({"type": "boolean"})
        );
        assert_eq!(
            (&&&SchemaProbe::<Option<String>>::new()).__rpc_schema(&mut gen),
            serde_json::json!({"type": ["string", "null"]})
        );
    }
}
