//! The `discover` table: methods and their params from an OpenRPC document.

use serde_json::Value;

/// A readable table of `document`'s methods: name, kind, params, summary.
pub fn render(document: &Value) -> String {
    let mut out = String::new();
    let info = &document["info"];
    if let Some(title) = info["title"].as_str() {
        let version = info["version"].as_str().unwrap_or("");
        let openrpc = document["openrpc"].as_str().unwrap_or("?");
        out.push_str(&format!("{title} {version} (OpenRPC {openrpc})\n"));
    }
    let mut rows = vec![["METHOD".to_owned(), "KIND".into(), "PARAMS".into(), "SUMMARY".into()]];
    for method in document["methods"].as_array().into_iter().flatten() {
        let kind = if method["x-notification"] == true {
            "notification"
        } else {
            "method"
        };
        rows.push([
            method["name"].as_str().unwrap_or("?").to_owned(),
            kind.to_owned(),
            params(method),
            method["summary"].as_str().unwrap_or("").to_owned(),
        ]);
    }
    let widths: Vec<usize> = (0..4)
        .map(|column| rows.iter().map(|row| row[column].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// `a: integer, b?: string`: each param, `?` when optional, with its schema's type if it has one.
fn params(method: &Value) -> String {
    let list = method["params"].as_array().into_iter().flatten().map(|param| {
        let name = param["name"].as_str().unwrap_or("?");
        let optional = if param["required"] == true { "" } else { "?" };
        match schema_type(&param["schema"]) {
            Some(kind) => format!("{name}{optional}: {kind}"),
            None => format!("{name}{optional}"),
        }
    });
    list.collect::<Vec<_>>().join(", ")
}

fn schema_type(schema: &Value) -> Option<String> {
    match &schema["type"] {
        Value::String(kind) => Some(kind.clone()),
        Value::Array(kinds) => Some(kinds.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("|")),
        _ => schema["$ref"]
            .as_str()
            .map(|r| r.rsplit('/').next().unwrap_or(r).to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn methods_params_and_notifications_line_up() {
        let document = json!({
            "openrpc": "1.3.2",
            "info": {"title": "Spec", "version": "1.0"},
            "methods": [
                {"name": "add", "summary": "Adds.", "params": [
                    {"name": "a", "required": true, "schema": {"type": "integer"}},
                    {"name": "b", "schema": {"type": ["integer", "null"]}}
                ]},
                {"name": "hello", "x-notification": true, "params": [{"name": "p", "required": true, "schema": {}}]}
            ]
        });
        assert_eq!(
            super::render(&document),
            "Spec 1.0 (OpenRPC 1.3.2)\n\
             METHOD  KIND          PARAMS                        SUMMARY\n\
             add     method        a: integer, b?: integer|null  Adds.\n\
             hello   notification  p\n"
        );
    }
}
