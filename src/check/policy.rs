//! IAM policy documents read into typed statements. IAM accepts a string or a
//! list almost everywhere, and CloudFormation accepts a document as an object
//! or as a JSON string; this module takes those shapes apart once.

use serde_json::Value;

use super::template::{one_or_many, text};

/// Who a statement applies to.
#[derive(Debug, Clone, PartialEq)]
pub enum Principal {
    /// `"Principal": "*"` or `{"AWS": "*"}`: anyone.
    Anyone,
    /// Typed entries such as `("Service", "sagemaker.amazonaws.com")`; values
    /// that are intrinsic functions keep their JSON.
    Named(Vec<(String, Value)>),
}

/// One statement of a policy document.
#[derive(Debug, Clone)]
pub struct Statement {
    pub index: usize,
    pub sid: Option<String>,
    pub allow: bool,
    /// `Action` entries, or `NotAction` entries when `not_action` is set.
    pub actions: Vec<String>,
    pub not_action: bool,
    /// `Resource` entries (strings or intrinsic functions), or `NotResource` ones.
    pub resources: Vec<Value>,
    pub not_resource: bool,
    pub principal: Option<Principal>,
    pub condition: Option<Value>,
}

impl Statement {
    /// `Sid` when there is one, else the statement's position: for messages.
    pub fn label(&self) -> String {
        match &self.sid {
            Some(sid) => format!("statement {sid:?}"),
            None => format!("statement #{}", self.index + 1),
        }
    }

    /// Condition keys used under any operator, lower-cased (IAM keys are case-insensitive).
    pub fn condition_keys(&self) -> Vec<String> {
        let Some(Value::Object(operators)) = &self.condition else {
            return Vec::new();
        };
        operators
            .values()
            .filter_map(Value::as_object)
            .flat_map(|keys| keys.keys().map(|k| k.to_ascii_lowercase()))
            .collect()
    }

    pub fn has_condition_key(&self, key: &str) -> bool {
        self.condition_keys()
            .iter()
            .any(|k| k == &key.to_ascii_lowercase())
    }

    /// The values a condition gives `key` under `operator` (e.g. `Bool`, `aws:SecureTransport`).
    pub fn condition_values(&self, operator: &str, key: &str) -> Vec<&Value> {
        let Some(Value::Object(operators)) = &self.condition else {
            return Vec::new();
        };
        operators
            .iter()
            .filter(|(op, _)| op.eq_ignore_ascii_case(operator))
            .filter_map(|(_, keys)| keys.as_object())
            .flat_map(|keys| keys.iter().filter(|(k, _)| k.eq_ignore_ascii_case(key)))
            .flat_map(|(_, v)| one_or_many(Some(v)))
            .collect()
    }

    /// `Resource: "*"` (or any `NotResource`, which grants nearly everything).
    pub fn on_every_resource(&self) -> bool {
        self.not_resource || self.resources.iter().any(|r| r.as_str() == Some("*"))
    }

    /// Whether the listed actions (`Action`, not `NotAction`) cover `action`, e.g. `iam:PassRole` under `iam:*`.
    pub fn covers(&self, action: &str) -> bool {
        !self.not_action
            && self
                .actions
                .iter()
                .any(|pattern| action_matches(pattern, action))
    }
}

/// The statements of a document; a document given as a JSON string is parsed
/// first. Anything that is not a policy document yields no statements.
pub fn statements(document: &Value) -> Vec<Statement> {
    let parsed;
    let document = match document {
        Value::String(json) => match serde_json::from_str::<Value>(json) {
            Ok(value) => {
                parsed = value;
                &parsed
            }
            Err(_) => return Vec::new(),
        },
        other => other,
    };
    one_or_many(document.get("Statement"))
        .into_iter()
        .enumerate()
        .map(|(index, s)| read_statement(index, s))
        .collect()
}

fn strings(value: Option<&Value>) -> Vec<String> {
    one_or_many(value)
        .into_iter()
        .filter_map(text)
        .map(str::to_string)
        .collect()
}

fn read_statement(index: usize, s: &Value) -> Statement {
    let not_action = s.get("NotAction").is_some();
    let not_resource = s.get("NotResource").is_some();
    Statement {
        index,
        sid: s.get("Sid").and_then(Value::as_str).map(str::to_string),
        allow: s.get("Effect").and_then(Value::as_str) == Some("Allow"),
        actions: strings(s.get(if not_action { "NotAction" } else { "Action" })),
        not_action,
        resources: one_or_many(s.get(if not_resource {
            "NotResource"
        } else {
            "Resource"
        }))
        .into_iter()
        .cloned()
        .collect(),
        not_resource,
        principal: s.get("Principal").map(read_principal),
        condition: s.get("Condition").cloned(),
    }
}

fn read_principal(value: &Value) -> Principal {
    match value {
        Value::String(s) if s == "*" => Principal::Anyone,
        Value::Object(map) => {
            let entries: Vec<(String, Value)> = map
                .iter()
                .flat_map(|(kind, v)| {
                    one_or_many(Some(v))
                        .into_iter()
                        .map(|v| (kind.clone(), v.clone()))
                })
                .collect();
            if entries
                .iter()
                .any(|(kind, v)| kind == "AWS" && v.as_str() == Some("*"))
            {
                Principal::Anyone
            } else {
                Principal::Named(entries)
            }
        }
        other => Principal::Named(vec![(String::new(), other.clone())]),
    }
}

/// IAM action matching: case-insensitive, `*` any run of characters, `?` one.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    glob(
        pattern.to_ascii_lowercase().as_bytes(),
        action.to_ascii_lowercase().as_bytes(),
    )
}

/// Wildcard matching that remembers only the last `*`: O(pattern × text), so a
/// pattern full of stars in an overridden template cannot stall the check.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                // Let the last star swallow one more character and retry.
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// `s3:*` → `Some("s3")`: a wildcard over a whole service.
pub fn service_wildcard(action: &str) -> Option<&str> {
    let (service, name) = action.split_once(':')?;
    (name == "*" && service != "*").then_some(service)
}

/// `*` or `*:*`: every action of every service.
pub fn is_any_action(action: &str) -> bool {
    action == "*" || action == "*:*"
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn globs_follow_iam() {
        assert!(action_matches("iam:Pass*", "iam:PassRole"));
        assert!(action_matches("IAM:passrole", "iam:PassRole"));
        assert!(action_matches("*", "iam:PassRole"));
        assert!(action_matches("iam:?assRole", "iam:PassRole"));
        assert!(!action_matches("iam:Get*", "iam:PassRole"));
        assert!(action_matches("i*:*R*e", "iam:PassRole"));
        assert!(!action_matches("iam:PassRole?", "iam:PassRole"));
        assert!(action_matches("iam:PassRole*", "iam:PassRole"));
        // Many stars stay fast.
        let stars = format!("{}x", "*".repeat(10_000));
        assert!(!action_matches(&stars, &"a".repeat(10_000)));
    }

    #[test]
    fn statements_accept_single_values_and_string_documents() {
        let doc = json!(
            r#"{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Principal": {"AWS": "*"}}}"#
        );
        let s = &statements(&doc)[0];
        assert!(s.allow && s.on_every_resource());
        assert_eq!(s.actions, ["s3:*"]);
        assert_eq!(s.principal, Some(Principal::Anyone));
        assert_eq!(service_wildcard("s3:*"), Some("s3"));
        assert_eq!(service_wildcard("*"), None);
    }
}
