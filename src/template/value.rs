//! Reading scalar and list values the way CloudFormation and IAM accept them:
//! one item or a list, booleans and numbers also written as strings.

use serde_json::Value;

/// A value as a list: CloudFormation and IAM accept one item or an array.
pub fn one_or_many(value: Option<&Value>) -> Vec<&Value> {
    match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(other) => vec![other],
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

/// A string as itself; anything else (an intrinsic function, a number) as compact JSON.
pub fn display(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
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

/// A string property of an object.
pub fn string(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Templates write numbers as numbers, but CloudFormation also accepts strings.
pub fn integer(value: &Value, key: &str) -> Option<i64> {
    match value.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

pub fn float(value: &Value, key: &str) -> Option<f64> {
    match value.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

pub fn boolean(value: &Value, key: &str) -> Option<bool> {
    match value.get(key)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_stand_in_for_numbers_and_booleans() {
        let v = json!({"n": "3", "f": 1.5, "b": "true", "s": "x"});
        assert_eq!(integer(&v, "n"), Some(3));
        assert_eq!(float(&v, "f"), Some(1.5));
        assert_eq!(boolean(&v, "b"), Some(true));
        assert_eq!(string(&v, "s").as_deref(), Some("x"));
        assert!(is_true(v.get("b")) && is_false(&json!("FALSE")));
        assert_eq!(text(&json!({"Fn::Sub": ["x${A}", {}]})), Some("x${A}"));
        assert_eq!(text(&json!({"Fn::ImportValue": "x"})), None);
        assert_eq!(display(&json!({"Ref": "A"})), r#"{"Ref":"A"}"#);
    }
}
