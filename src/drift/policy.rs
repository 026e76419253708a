//! IAM policy documents compared by meaning, not by text: IAM accepts a single
//! string where a list is allowed, keeps list order as written, and returns
//! documents URL-encoded. Also the risk reading of an out-of-band policy.

use serde_json::{Map, Value};

/// Keys whose values are sets of strings, whether written as one string or a list.
const SET_KEYS: [&str; 4] = ["Action", "NotAction", "Resource", "NotResource"];

fn string_set(value: &Value) -> Value {
    let mut items: Vec<String> = match value {
        Value::Array(items) => items.iter().map(scalar_text).collect(),
        other => vec![scalar_text(other)],
    };
    items.sort();
    items.dedup();
    Value::Array(items.into_iter().map(Value::String).collect())
}

/// Condition values arrive as JSON booleans or numbers in templates and as
/// strings from IAM; IAM compares them as strings.
fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn principal(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), string_set(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn condition(value: &Value) -> Value {
    match value {
        Value::Object(operators) => Value::Object(
            operators
                .iter()
                .map(|(op, keys)| {
                    let keys = match keys {
                        Value::Object(keys) => Value::Object(
                            keys.iter()
                                .map(|(k, v)| (k.clone(), string_set(v)))
                                .collect(),
                        ),
                        other => other.clone(),
                    };
                    (op.clone(), keys)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn statement(value: &Value) -> Value {
    let Value::Object(map) = value else {
        return value.clone();
    };
    let normalized: Map<String, Value> = map
        .iter()
        .map(|(key, v)| {
            let v = match key.as_str() {
                k if SET_KEYS.contains(&k) => string_set(v),
                "Principal" | "NotPrincipal" => principal(v),
                "Condition" => condition(v),
                _ => v.clone(),
            };
            (key.clone(), v)
        })
        .collect();
    let mut value = Value::Object(normalized);
    crate::render::engine::sort_keys(&mut value);
    value
}

/// The statements of a document in a canonical order, each normalized.
pub fn statements(document: &Value) -> Vec<Value> {
    let list: Vec<&Value> = match document.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(single) => vec![single],
        None => Vec::new(),
    };
    let mut normalized: Vec<Value> = list.into_iter().map(statement).collect();
    normalized.sort_by_key(|s| s.to_string());
    normalized
}

/// The two documents grant the same: same version and the same statements.
pub fn equivalent(expected: &Value, actual: &Value) -> bool {
    expected.get("Version") == actual.get("Version") && statements(expected) == statements(actual)
}

/// What differs, as short texts for a report: statements only expected,
/// statements only present (each compact JSON).
pub fn difference(expected: &Value, actual: &Value) -> (String, String) {
    let want = statements(expected);
    let have = statements(actual);
    let only = |a: &[Value], b: &[Value]| -> String {
        let texts: Vec<String> = a
            .iter()
            .filter(|s| !b.contains(s))
            .map(Value::to_string)
            .collect();
        if texts.is_empty() {
            "(no other statements)".to_string()
        } else {
            texts.join("; ")
        }
    };
    let mut missing = only(&want, &have);
    let mut extra = only(&have, &want);
    if want == have {
        missing = format!(
            "Version {}",
            expected.get("Version").unwrap_or(&Value::Null)
        );
        extra = format!("Version {}", actual.get("Version").unwrap_or(&Value::Null));
    }
    (missing, extra)
}

/// An `Allow` with a wildcard action (`*`, `iam:*`, `s3:Get*`) or `NotAction`:
/// far broader than anything the templates grant.
pub fn grants_wildcard(document: &Value) -> bool {
    statements(document).iter().any(|s| {
        s.get("Effect").and_then(Value::as_str) == Some("Allow")
            && (s.get("NotAction").is_some()
                || s.get("Action")
                    .and_then(Value::as_array)
                    .is_some_and(|actions| {
                        actions
                            .iter()
                            .filter_map(Value::as_str)
                            .any(|a| a.contains('*'))
                    }))
    })
}

/// AWS managed policies that hand out administrator-level or service-wide access.
pub fn is_broad_managed_policy(arn: &str) -> bool {
    let name = arn.rsplit('/').next().unwrap_or(arn);
    matches!(
        name,
        "AdministratorAccess" | "PowerUserAccess" | "IAMFullAccess"
    ) || name.ends_with("FullAccess")
}

/// IAM returns policy documents URL-encoded (RFC 3986).
pub fn decode(document: &str) -> Result<Value, String> {
    let text = percent_encoding::percent_decode_str(document)
        .decode_utf8()
        .map_err(|e| format!("not UTF-8 after URL-decoding: {e}"))?;
    serde_json::from_str(&text).map_err(|_| text.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn single_strings_and_lists_in_any_order_are_the_same_grant() {
        let template = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "arn:aws:s3:::b/*",
             "Condition": {"Bool": {"aws:SecureTransport": true}}},
            {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ]});
        let live = json!({"Version": "2012-10-17", "Statement": [
            {"Principal": {"Service": ["sagemaker.amazonaws.com"]}, "Effect": "Allow", "Action": ["sts:AssumeRole"]},
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": ["arn:aws:s3:::b/*"],
             "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
        ]});
        assert!(equivalent(&template, &live));
    }

    #[test]
    fn a_changed_resource_is_a_difference_and_is_shown() {
        let want = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/x/*"}});
        let have = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}});
        assert!(!equivalent(&want, &have));
        let (missing, extra) = difference(&want, &have);
        assert!(missing.contains("b/x/*"), "{missing}");
        assert!(extra.contains("\"arn:aws:s3:::b/*\""), "{extra}");
    }

    #[test]
    fn wildcards_and_admin_policies_are_broad() {
        assert!(grants_wildcard(
            &json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
        ));
        assert!(grants_wildcard(
            &json!({"Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]})
        ));
        assert!(!grants_wildcard(
            &json!({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]})
        ));
        assert!(!grants_wildcard(
            &json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
        ));
        assert!(is_broad_managed_policy(
            "arn:aws:iam::aws:policy/AdministratorAccess"
        ));
        assert!(is_broad_managed_policy(
            "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"
        ));
        assert!(!is_broad_managed_policy(
            "arn:aws:iam::aws:policy/service-role/AmazonSageMakerCanvasAIServicesAccess"
        ));
    }

    #[test]
    fn documents_are_url_decoded() {
        let decoded = decode("%7B%22Version%22%3A%222012-10-17%22%7D").unwrap();
        assert_eq!(decoded, json!({"Version": "2012-10-17"}));
        assert!(decode("%7Bnot json").is_err());
    }
}
