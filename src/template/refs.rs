//! References between resources: `Ref`, `Fn::GetAtt`, the `${Name}` and
//! `${Name.Attr}` variables of `Fn::Sub`, and `Fn::ImportValue` (which names an
//! export of another stack, not a resource of this one).

use std::collections::BTreeSet;

use serde_json::Value;

/// One reference a value makes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reference {
    /// `{"Ref": X}`: a resource, a parameter or a pseudo parameter (`AWS::Region`).
    Ref(String),
    /// `{"Fn::GetAtt": [X, Attr]}` or `"X.Attr"`.
    GetAtt(String, String),
    /// `{"Fn::ImportValue": name}` with a literal export name.
    Import(String),
}

impl Reference {
    /// The logical id (or parameter) referred to; `None` for pseudo parameters and imports.
    pub fn logical_id(&self) -> Option<&str> {
        match self {
            Reference::Ref(name) if is_pseudo_parameter(name) => None,
            Reference::Ref(name) | Reference::GetAtt(name, _) => Some(name),
            Reference::Import(_) => None,
        }
    }
}

/// `AWS::Region`, `AWS::AccountId`, …: known only at deploy time, the same for every resource.
pub fn is_pseudo_parameter(name: &str) -> bool {
    name.starts_with("AWS::")
}

/// The reference a value *is*: `{"Ref": X}`, `{"Fn::GetAtt": …}` or `{"Fn::ImportValue": "x"}`.
pub fn reference_of(value: &Value) -> Option<Reference> {
    if let Some(target) = value.get("Ref").and_then(Value::as_str) {
        return Some(Reference::Ref(target.to_string()));
    }
    if let Some(name) = value.get("Fn::ImportValue").and_then(Value::as_str) {
        return Some(Reference::Import(name.to_string()));
    }
    match value.get("Fn::GetAtt")? {
        Value::Array(parts) => Some(Reference::GetAtt(
            parts.first()?.as_str()?.to_string(),
            parts
                .get(1)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        )),
        Value::String(dotted) => {
            let (id, attr) = dotted.split_once('.').unwrap_or((dotted, ""));
            Some(Reference::GetAtt(id.to_string(), attr.to_string()))
        }
        _ => None,
    }
}

/// The logical id a value points at directly: `{"Ref": X}`, `{"Fn::GetAtt": [X, attr]}`
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

/// The variables of an `Fn::Sub` template string: `${X}` and `${X.Attr}` give `X`;
/// `${!Literal}` is text, not a variable.
pub fn sub_variables(template: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find('}') else { break };
        let name = &rest[..end];
        if !name.starts_with('!') {
            found.push(name);
        }
        rest = &rest[end + 1..];
    }
    found
}

/// Every logical id (resource or parameter) a value refers to anywhere inside
/// it, through `Ref`, `Fn::GetAtt` or `Fn::Sub` variables. Pseudo parameters
/// and the local variables of an `Fn::Sub` are not logical ids.
pub fn references(value: &Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    collect(value, &mut found);
    found
}

fn collect(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(id) = reference_of(value).as_ref().and_then(Reference::logical_id) {
                found.insert(id.to_string());
            }
            if let Some(sub) = map.get("Fn::Sub") {
                let (text, locals) = match sub {
                    Value::String(text) => (Some(text.as_str()), None),
                    Value::Array(parts) => (
                        parts.first().and_then(Value::as_str),
                        parts.get(1).and_then(Value::as_object),
                    ),
                    _ => (None, None),
                };
                for name in text.map(sub_variables).unwrap_or_default() {
                    let id = name.split('.').next().unwrap_or(name);
                    let local = locals.is_some_and(|l| l.contains_key(name));
                    if !local && !is_pseudo_parameter(id) {
                        found.insert(id.to_string());
                    }
                }
            }
            map.values().for_each(|v| collect(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, found)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_are_found_in_every_form() {
        assert_eq!(reference(&json!({"Ref": "A"})), Some("A"));
        assert_eq!(reference(&json!({"Fn::GetAtt": ["B", "Arn"]})), Some("B"));
        assert_eq!(reference(&json!({"Fn::GetAtt": "C.Arn"})), Some("C"));
        assert_eq!(reference(&json!("D")), None);
        assert_eq!(
            reference_of(&json!({"Fn::ImportValue": "x-KeyArn"})),
            Some(Reference::Import("x-KeyArn".into()))
        );
        let all = references(&json!({
            "a": [{"Ref": "A"}, {"Ref": "AWS::Region"}],
            "b": {"Fn::Sub": ["${B.Arn}/${Local}/${!Text}/${AWS::AccountId}", {"Local": {"Ref": "C"}}]},
            "d": {"Fn::Join": ["", [{"Fn::GetAtt": "D.Name"}]]}
        }));
        assert_eq!(all.into_iter().collect::<Vec<_>>(), ["A", "B", "C", "D"]);
    }
}
