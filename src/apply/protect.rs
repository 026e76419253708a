//! The data stack's protection: a stack policy that denies replacing or
//! deleting buckets and keys, and termination protection.

use serde_json::json;

use crate::template::catalogue::STATEFUL_TYPES;

/// Every update allowed, except replacing or deleting a bucket or key.
pub fn policy() -> String {
    policy_value(&[]).to_string()
}

/// The same policy with the denial lifted for `allowed` logical ids, for the
/// duration of an update the user explicitly allowed (`--allow-data-loss`).
/// Stack policies cannot be overridden by `ExecuteChangeSet`, so the policy
/// itself is swapped and restored afterwards.
pub fn policy_allowing(allowed: &[String]) -> String {
    policy_value(allowed).to_string()
}

fn policy_value(allowed: &[String]) -> serde_json::Value {
    let mut deny = json!({
        "Effect": "Deny",
        "Action": ["Update:Replace", "Update:Delete"],
        "Principal": "*",
        "Condition": { "StringEquals": { "ResourceType": STATEFUL_TYPES } }
    });
    if allowed.is_empty() {
        deny["Resource"] = json!("*");
    } else {
        let exempt: Vec<String> = allowed
            .iter()
            .map(|id| format!("LogicalResourceId/{id}"))
            .collect();
        deny["NotResource"] = json!(exempt);
    }
    json!({
        "Statement": [
            { "Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*" },
            deny
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_denies_replace_and_delete_of_stateful_types_only() {
        let policy: serde_json::Value = serde_json::from_str(&policy()).unwrap();
        let deny = &policy["Statement"][1];
        assert_eq!(deny["Effect"], "Deny");
        assert_eq!(deny["Action"], json!(["Update:Replace", "Update:Delete"]));
        assert_eq!(
            deny["Condition"]["StringEquals"]["ResourceType"],
            json!(["AWS::S3::Bucket", "AWS::KMS::Key"])
        );
        assert_eq!(deny["Resource"], "*");
        let lifted: serde_json::Value =
            serde_json::from_str(&policy_allowing(&["RawBucket".into()])).unwrap();
        assert_eq!(
            lifted["Statement"][1]["NotResource"],
            json!(["LogicalResourceId/RawBucket"])
        );
        assert!(lifted["Statement"][1].get("Resource").is_none());
    }
}
