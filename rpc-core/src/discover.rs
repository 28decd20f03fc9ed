//! `rpc.discover`: the OpenRPC 1.3 document of what a consumer serves.
//!
//! Every consumer answers the call `rpc.discover` (no parameters) with an
//! [OpenRPC](https://spec.open-rpc.org) document listing the methods and
//! notification handlers it serves **on the transport of the call**: a
//! method with `http = false` is listed over WebSocket only. For each entry:
//!
//! - `name`; `summary` (the doc comment's first paragraph) and `description`
//!   (the whole doc comment);
//! - `params`: each JSON parameter by its name, `required` unless its type is
//!   an `Option`, with its JSON Schema; `paramStructure` is `"either"` (by
//!   position or by name);
//! - `result`: the result's JSON Schema (for `Result<T, E>`, `T`'s);
//! - notification handlers (`#[rpc_notification]`) have no `result` and carry
//!   the extension `"x-notification": true`.
//!
//! Schemas come from `schemars` for types that implement `JsonSchema`, with
//! the `schemars` feature; otherwise `{}` (see [`schema`](crate::schema)).
//! Named types' schemas are in `components.schemas`, referred to by `$ref`.
//!
//! Each method's description is built once per dispatcher; the document is
//! assembled per call from the entries the call may see, so that a filter
//! deciding per caller (a guard) only has to drop entries before assembly.

use std::sync::OnceLock;

use serde_json::{json, Map, Value};

use crate::registry::{MethodEntry, MethodKind, MethodTable};
use crate::schema::{Direction, SchemaGen};
use crate::scope::Transport;

/// The method name clients call.
pub const DISCOVER_METHOD: &str = "rpc.discover";

/// The OpenRPC version of the documents.
pub const OPENRPC_VERSION: &str = "1.3.2";

/// Whether and how a consumer answers `rpc.discover`: on by default.
///
/// ```
/// use channels_rpc::{Consumer, Discovery};
/// # #[derive(Consumer, Default)] struct Api;
/// let app = Api::app().discovery(Discovery::new().title("Chat API").version("2.1.0"));
/// let off = Api::app().discovery(Discovery::disabled()); // answers -32601
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    enabled: bool,
    title: Option<String>,
    version: String,
}

impl Default for Discovery {
    fn default() -> Self {
        Discovery::new()
    }
}

impl Discovery {
    /// The version in `info.version` unless set.
    pub const DEFAULT_VERSION: &'static str = "0.0.0";

    /// Answers `rpc.discover`, titled after the consumer type.
    pub fn new() -> Self {
        Discovery {
            enabled: true,
            title: None,
            version: Self::DEFAULT_VERSION.to_owned(),
        }
    }

    /// Does not answer `rpc.discover`: it is then a method like any unknown one (-32601).
    pub fn disabled() -> Self {
        Discovery {
            enabled: false,
            ..Discovery::new()
        }
    }

    /// `info.title` (default: the consumer type's name).
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// `info.version` (default [`DEFAULT_VERSION`](Self::DEFAULT_VERSION)).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// True when `rpc.discover` is answered.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The same settings, titled after `consumer` (a type name) unless a title is set.
    pub(crate) fn titled_after(mut self, consumer: &str) -> Self {
        if self.title.is_none() {
            self.title = Some(short_type_name(consumer).to_owned());
        }
        self
    }
}

/// One entry's part of a document: its method object and the named schemas it refers to.
#[derive(Debug)]
struct Described {
    entry: &'static MethodEntry,
    method: Value,
    schemas: Map<String, Value>,
}

/// The title of a document whose settings have none.
const FALLBACK_TITLE: &str = "channels-rpc";

/// The documents of one method table, each entry described once.
#[derive(Debug)]
pub(crate) struct Documents {
    settings: Discovery,
    described: OnceLock<Vec<Described>>,
}

impl Documents {
    pub(crate) fn new(settings: Discovery) -> Self {
        Documents {
            settings,
            described: OnceLock::new(),
        }
    }

    pub(crate) fn settings(&self) -> &Discovery {
        &self.settings
    }

    /// The document of the entries of `table` served on `transport` that
    /// `visible` keeps (where a guard would say which the caller may call).
    pub(crate) fn document(
        &self,
        table: &MethodTable,
        transport: Transport,
        visible: impl Fn(&MethodEntry) -> bool,
    ) -> Value {
        let described = self
            .described
            .get_or_init(|| table.entries().into_iter().map(describe).collect());
        let mut methods = Vec::new();
        let mut schemas = Map::new();
        for d in described
            .iter()
            .filter(|d| d.entry.serves(transport) && visible(d.entry))
        {
            methods.push(d.method.clone());
            schemas.extend(d.schemas.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        let title = self.settings.title.as_deref().unwrap_or(FALLBACK_TITLE);
        let mut document = json!({
            "openrpc": OPENRPC_VERSION,
            "info": {"title": title, "version": self.settings.version},
            "methods": methods,
        });
        if !schemas.is_empty() {
            document["components"] = json!({ "schemas": schemas });
        }
        document
    }
}

/// The method object of one entry.
fn describe(entry: &'static MethodEntry) -> Described {
    let mut gen = SchemaGen::new(Direction::Params);
    let params: Vec<Value> = entry
        .params()
        .iter()
        .zip(entry.param_schemas())
        .map(|(name, param)| json!({"name": name, "required": param.required, "schema": (param.schema)(&mut gen)}))
        .collect();
    let mut schemas = gen.take_definitions();
    let mut method = Map::new();
    method.insert("name".into(), entry.name().into());
    let doc = entry.doc().trim();
    if !doc.is_empty() {
        method.insert("summary".into(), summary(doc).into());
        method.insert("description".into(), doc.into());
    }
    method.insert("params".into(), params.into());
    method.insert("paramStructure".into(), "either".into());
    match entry.kind() {
        MethodKind::Method => {
            let mut gen = SchemaGen::new(Direction::Result);
            let schema = (entry.result_schema())(&mut gen);
            schemas.extend(gen.take_definitions());
            method.insert("result".into(), json!({"name": "result", "schema": schema}));
        }
        MethodKind::Notification => {
            method.insert("x-notification".into(), true.into());
        }
    }
    Described {
        entry,
        method: Value::Object(method),
        schemas,
    }
}

/// The first paragraph of a doc comment, on one line.
fn summary(doc: &str) -> String {
    let paragraph = doc.split("\n\n").next().unwrap_or(doc);
    paragraph.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `a::b::Api` -> `Api`.
fn short_type_name(name: &str) -> &str {
    let base = name.split('<').next().unwrap_or(name);
    base.rsplit("::").next().unwrap_or(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_is_the_first_paragraph_on_one_line() {
        assert_eq!(summary("Adds two\nnumbers.\n\nMore here."), "Adds two numbers.");
        assert_eq!(summary("One line."), "One line.");
    }

    #[test]
    fn titles_default_to_the_type_name_without_its_path() {
        assert_eq!(short_type_name("my_app::api::Api"), "Api");
        assert_eq!(short_type_name("Api"), "Api");
    }
}
