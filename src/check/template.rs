//! A read-only view over a rendered CloudFormation template (a serde_json
//! value): its resources and the few intrinsic-function shapes rules need to
//! follow (`Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::ImportValue`).

use serde_json::Value;

/// One entry of the template's `Resources` section.
#[derive(Debug, Clone, Copy)]
pub struct Resource<'a> {
    pub logical_id: &'a str,
    pub kind: &'a str,
    body: &'a Value,
}

impl<'a> Resource<'a> {
    /// A property, or `None` when absent (or when `Properties` itself is missing).
    pub fn prop(&self, name: &str) -> Option<&'a Value> {
        self.body.get("Properties")?.get(name)
    }

    /// A resource attribute such as `DeletionPolicy`.
    pub fn attribute(&self, name: &str) -> Option<&'a Value> {
        self.body.get(name)
    }
}

/// The resources in template order (serde_json keeps keys sorted, so stable).
pub fn resources(template: &Value) -> Vec<Resource<'_>> {
    let Some(map) = template.get("Resources").and_then(Value::as_object) else {
        return Vec::new();
    };
    map.iter()
        .map(|(logical_id, body)| Resource {
            logical_id,
            kind: body.get("Type").and_then(Value::as_str).unwrap_or(""),
            body,
        })
        .collect()
}

/// Number of entries in a top-level section (`Outputs`, `Parameters`, …).
pub fn section_len(template: &Value, section: &str) -> usize {
    template
        .get(section)
        .and_then(Value::as_object)
        .map_or(0, |m| m.len())
}

/// Names of the entries of a top-level section.
pub fn section_keys<'a>(template: &'a Value, section: &str) -> Vec<&'a str> {
    template
        .get(section)
        .and_then(Value::as_object)
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

/// The logical id a value points at: `{"Ref": X}`, `{"Fn::GetAtt": [X, attr]}`
/// or the short string form `{"Fn::GetAtt": "X.attr"}`.
pub fn reference(value: &Value) -> Option<&str> {
    if let Some(target) = value.get("Ref").and_then(Value::as_str) {
        return Some(target);
    }
    match value.get("Fn::GetAtt")? {
        Value::Array(parts) => parts.first()?.as_str(),
        Value::String(text) => text.split('.').next(),
        _ => None,
    }
}

/// The text of a value that is a string, or the template string of an
/// `Fn::Sub`; intrinsic functions other than `Fn::Sub` have no text.
pub fn text(value: &Value) -> Option<&str> {
    match value {
        Value::String(text) => Some(text),
        _ => match value.get("Fn::Sub")? {
            Value::String(text) => Some(text),
            Value::Array(parts) => parts.first()?.as_str(),
            _ => None,
        },
    }
}

/// A value as a list: CloudFormation and IAM accept one item or an array.
pub fn one_or_many(value: Option<&Value>) -> Vec<&Value> {
    match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(other) => vec![other],
    }
}

/// `true` for the JSON boolean and for CloudFormation's string form.
pub fn is_true(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// `false` for the JSON boolean and its string form (conditions use `"false"`).
pub fn is_false(value: &Value) -> bool {
    match value {
        Value::Bool(b) => !*b,
        Value::String(s) => s.eq_ignore_ascii_case("false"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_and_texts() {
        assert_eq!(reference(&json!({"Ref": "A"})), Some("A"));
        assert_eq!(reference(&json!({"Fn::GetAtt": ["B", "Arn"]})), Some("B"));
        assert_eq!(reference(&json!({"Fn::GetAtt": "C.Arn"})), Some("C"));
        assert_eq!(reference(&json!("D")), None);
        assert_eq!(text(&json!({"Fn::Sub": ["x${A}", {}]})), Some("x${A}"));
        assert_eq!(text(&json!({"Fn::ImportValue": "x"})), None);
    }
}
