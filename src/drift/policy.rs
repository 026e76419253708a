//! IAM policy documents compared by meaning, not by text: IAM accepts a single
//! string where a list is allowed, keeps list order as written, and returns
//! documents URL-encoded. Also the risk reading of an out-of-band policy.
//! Documents are read into the template model's one `Statement` type.

use serde_json::Value;

use crate::template::iam::{PolicyDocument, Statement, is_broad_policy_name};
use crate::template::ids::name_from_arn;
use crate::template::intrinsic::Scope;

fn document(value: &Value) -> PolicyDocument {
    PolicyDocument::parse(value, "", &Scope::default())
}

/// The statements of a document in a canonical order, each normalised.
pub fn statements(value: &Value) -> Vec<Statement> {
    let mut normalized: Vec<(String, Statement)> = document(value)
        .statements
        .iter()
        .map(|s| {
            let s = s.normalized();
            (s.to_json().to_string(), s)
        })
        .collect();
    normalized.sort_by(|a, b| a.0.cmp(&b.0));
    normalized.into_iter().map(|(_, s)| s).collect()
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
    let only = |a: &[Statement], b: &[Statement]| -> String {
        let texts: Vec<String> = a
            .iter()
            .filter(|s| !b.contains(s))
            .map(|s| s.to_json().to_string())
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
pub fn grants_wildcard(value: &Value) -> bool {
    document(value)
        .statements
        .iter()
        .any(|s| s.allows() && (s.not_action || s.actions.iter().any(|a| a.contains('*'))))
}

/// Policies that hand out administrator-level or service-wide access, by name.
pub fn is_broad_managed_policy(arn: &str) -> bool {
    is_broad_policy_name(name_from_arn(arn))
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
