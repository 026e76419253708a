//! IAM policy documents read into one typed `Statement`, for every reader:
//! check judges statements, plan lists the ones a change grants or revokes,
//! drift compares the template's with the account's. IAM accepts a string or a
//! list almost everywhere; CloudFormation accepts a document as an object, a
//! JSON string or an `Fn::Sub` string, and lets `Fn::If` choose statements.
//! This module takes those shapes apart once.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::intrinsic::{Scope, Static};
use super::value::display;

/// What a statement does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum Effect {
    Allow,
    Deny,
    /// Not IAM's own: a managed policy attached to a role, listed with the
    /// statements so a plan shows it next to them.
    Attach,
    Other(String),
}

impl From<String> for Effect {
    fn from(text: String) -> Self {
        match text.as_str() {
            "Allow" => Effect::Allow,
            "Deny" => Effect::Deny,
            "Attach" => Effect::Attach,
            _ => Effect::Other(text),
        }
    }
}

impl From<Effect> for String {
    fn from(effect: Effect) -> Self {
        effect.to_string()
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
            Effect::Attach => "Attach",
            Effect::Other(text) => text,
        })
    }
}

/// Who a statement applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Principal {
    /// `"Principal": "*"` or `{"AWS": "*"}`: anyone.
    Anyone,
    /// Typed entries such as `("Service", "sagemaker.amazonaws.com")`; values
    /// that are intrinsic functions keep their JSON.
    Named(Vec<(String, Value)>),
}

/// `Condition`: operator → condition key → values (one value or a list in IAM).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Condition(pub BTreeMap<String, BTreeMap<String, Vec<Value>>>);

impl Condition {
    /// Condition keys used under any operator, lower-cased (IAM keys are case-insensitive).
    pub fn keys(&self) -> impl Iterator<Item = String> + '_ {
        self.0
            .values()
            .flat_map(|keys| keys.keys().map(|k| k.to_ascii_lowercase()))
    }

    /// The values given `key` under `operator` (both case-insensitive).
    pub fn values(&self, operator: &str, key: &str) -> Vec<&Value> {
        self.0
            .iter()
            .filter(|(op, _)| op.eq_ignore_ascii_case(operator))
            .flat_map(|(_, keys)| keys.iter().filter(|(k, _)| k.eq_ignore_ascii_case(key)))
            .flat_map(|(_, values)| values.iter())
            .collect()
    }
}

impl Condition {
    /// One operator and one key: how a generated policy narrows a grant.
    pub fn one(operator: &str, key: &str, values: Vec<Value>) -> Self {
        let keys = BTreeMap::from([(key.to_string(), values)]);
        Condition(BTreeMap::from([(operator.to_string(), keys)]))
    }
}

/// One statement of a policy document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// The document it sits in: `trust policy`, an inline policy's name, `managed policies`.
    pub policy: String,
    pub sid: Option<String>,
    pub effect: Effect,
    /// `Action` entries, or `NotAction` entries when `not_action` is set.
    /// Intrinsic functions are evaluated where the template allows.
    pub actions: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub not_action: bool,
    /// `Resource` entries (strings, or references the template cannot spell out), or `NotResource` ones.
    pub resources: Vec<Value>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub not_resource: bool,
    pub principal: Option<Principal>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub not_principal: bool,
    pub condition: Option<Condition>,
    /// Values only known at deploy time (or built in a way not read here), each
    /// described: a reader that judges the statement must say so, not skip them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unresolved: Vec<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A parsed document: its version, statements, and what could not be read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyDocument {
    pub version: Option<String>,
    pub statements: Vec<Statement>,
    /// Parts that are not statements before deployment (a parameter, an unparsable string).
    pub unresolved: Vec<String>,
}

impl PolicyDocument {
    /// Reads a document given as an object, a JSON string, an `Fn::Sub` or
    /// `Fn::Join` building a JSON string, or an `Fn::If` choosing between
    /// documents (both are read). `policy` names the document in the statements.
    pub fn parse(document: &Value, policy: &str, scope: &Scope) -> Self {
        let mut parsed = PolicyDocument::default();
        for candidate in scope.items(Some(document)) {
            parsed.read(&candidate, policy, scope);
        }
        parsed
    }

    fn read(&mut self, document: &Value, policy: &str, scope: &Scope) {
        let object = match document {
            Value::Object(map) if map.contains_key("Statement") || map.contains_key("Version") => {
                document.clone()
            }
            _ => match scope.text(document) {
                Static::Text(json) => match serde_json::from_str::<Value>(&json) {
                    Ok(value) if value.is_object() => value,
                    _ => {
                        self.unresolved
                            .push(format!("{policy}: the document is not a JSON policy"));
                        return;
                    }
                },
                Static::Named(reference) => {
                    self.unresolved.push(format!(
                        "{policy}: the document is {reference:?}, not written in the template"
                    ));
                    return;
                }
                Static::Unknown(why) => {
                    self.unresolved
                        .push(format!("{policy}: the document {why}"));
                    return;
                }
            },
        };
        if self.version.is_none() {
            self.version = object
                .get("Version")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        for item in scope.items(object.get("Statement")) {
            match item {
                Value::Object(_)
                    if item.get("Effect").is_some()
                        || item.get("Action").is_some()
                        || item.get("NotAction").is_some() =>
                {
                    self.statements.push(Statement::read(&item, policy, scope));
                }
                other => self.unresolved.push(format!(
                    "{policy}: statement {} cannot be read before deployment",
                    display(&other)
                )),
            }
        }
    }
}

impl Statement {
    fn read(s: &Value, policy: &str, scope: &Scope) -> Statement {
        let mut unresolved = Vec::new();
        let not_action = s.get("NotAction").is_some();
        let not_resource = s.get("NotResource").is_some();
        let not_principal = s.get("NotPrincipal").is_some();
        let action_key = if not_action { "NotAction" } else { "Action" };
        let actions = scope
            .items(s.get(action_key))
            .iter()
            .map(|a| match scope.text(a) {
                Static::Text(text) => text,
                other => {
                    unresolved.push(format!("{action_key} {}: {}", display(a), why(&other)));
                    display(a)
                }
            })
            .collect();
        let resource_key = if not_resource {
            "NotResource"
        } else {
            "Resource"
        };
        let resources = scope
            .items(s.get(resource_key))
            .into_iter()
            .map(|r| match scope.text(&r) {
                Static::Text(text) => Value::String(text),
                Static::Named(_) => r,
                Static::Unknown(reason) => {
                    unresolved.push(format!("{resource_key} {}: {reason}", display(&r)));
                    r
                }
            })
            .collect();
        let principal_key = if not_principal {
            "NotPrincipal"
        } else {
            "Principal"
        };
        let principal = s
            .get(principal_key)
            .map(|p| read_principal(p, scope, &mut unresolved));
        // Either branch of an `Fn::If` may be deployed, so Allow wins; an
        // effect only known at deploy time is read as Allow too, and said.
        let mut effect: Option<Effect> = None;
        for item in scope.items(s.get("Effect")) {
            let this = match scope.text(&item) {
                Static::Text(text) => Effect::from(text),
                other => {
                    unresolved.push(format!("Effect {}: {}", display(&item), why(&other)));
                    Effect::Allow
                }
            };
            if effect.is_none() || this == Effect::Allow {
                effect = Some(this);
            }
        }
        let effect = effect.unwrap_or(Effect::Other(String::new()));
        Statement {
            policy: policy.to_string(),
            sid: s.get("Sid").and_then(Value::as_str).map(str::to_string),
            effect,
            actions,
            not_action,
            resources,
            not_resource,
            principal,
            not_principal,
            condition: s.get("Condition").map(|c| read_condition(c, scope)),
            unresolved,
        }
    }

    /// An `Allow` statement of a policy this program writes (the deploy and
    /// CloudFormation execution roles' policies): written with `to_json`, and
    /// read back by the same checks as any template's statements.
    pub fn allow(policy: &str, sid: &str, actions: Vec<String>, resources: Vec<String>) -> Self {
        Statement {
            policy: policy.to_string(),
            sid: Some(sid.to_string()),
            effect: Effect::Allow,
            actions,
            not_action: false,
            resources: resources.into_iter().map(Value::String).collect(),
            not_resource: false,
            principal: None,
            not_principal: false,
            condition: None,
            unresolved: Vec::new(),
        }
    }

    /// A managed policy attachment, listed as a statement of its own.
    pub fn attachment(arn: Value) -> Statement {
        Statement {
            policy: "managed policies".into(),
            sid: None,
            effect: Effect::Attach,
            actions: Vec::new(),
            not_action: false,
            resources: vec![arn],
            not_resource: false,
            principal: None,
            not_principal: false,
            condition: None,
            unresolved: Vec::new(),
        }
    }

    pub fn allows(&self) -> bool {
        self.effect == Effect::Allow
    }

    /// `Sid` when there is one, else the statement's position: for messages.
    pub fn label(&self, position: usize) -> String {
        match &self.sid {
            Some(sid) => format!("statement {sid:?}"),
            None => format!("statement #{}", position + 1),
        }
    }

    pub fn has_condition_key(&self, key: &str) -> bool {
        let key = key.to_ascii_lowercase();
        self.condition
            .as_ref()
            .is_some_and(|c| c.keys().any(|k| k == key))
    }

    pub fn condition_values(&self, operator: &str, key: &str) -> Vec<&Value> {
        self.condition
            .as_ref()
            .map(|c| c.values(operator, key))
            .unwrap_or_default()
    }

    /// Resource entries as text; references to other resources have none.
    pub fn resource_texts(&self) -> impl Iterator<Item = &str> {
        self.resources.iter().filter_map(Value::as_str)
    }

    /// `Resource: "*"`, an ARN that is a wildcard (`arn:aws:s3:::*/*`), or any
    /// `NotResource` (which grants nearly everything).
    pub fn on_every_resource(&self) -> bool {
        self.not_resource || self.resource_texts().any(is_wildcard_resource)
    }

    /// Whether the listed actions (`Action`, not `NotAction`) cover `action`, e.g. `iam:PassRole` under `iam:*`.
    pub fn covers(&self, action: &str) -> bool {
        !self.not_action && self.actions.iter().any(|p| action_matches(p, action))
    }

    pub fn is_anyone(&self) -> bool {
        self.principal == Some(Principal::Anyone)
    }

    /// The same grant in one spelling: lists sorted and without repeats,
    /// condition values as IAM compares them (as strings). Two statements
    /// grant the same when their normal forms are equal.
    pub fn normalized(&self) -> Statement {
        fn sorted<T: Ord + Clone>(items: &[T]) -> Vec<T> {
            let mut items = items.to_vec();
            items.sort();
            items.dedup();
            items
        }
        let values = |items: &[Value]| -> Vec<Value> {
            sorted(&items.iter().map(display).collect::<Vec<_>>())
                .into_iter()
                .map(Value::String)
                .collect()
        };
        let principal = self.principal.as_ref().map(|p| match p {
            Principal::Anyone => Principal::Anyone,
            Principal::Named(entries) => {
                let mut entries: Vec<(String, Value)> = sorted(
                    &entries
                        .iter()
                        .map(|(k, v)| (k.clone(), display(v)))
                        .collect::<Vec<_>>(),
                )
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect();
                entries.dedup();
                Principal::Named(entries)
            }
        });
        let condition = self.condition.as_ref().map(|c| {
            Condition(
                c.0.iter()
                    .map(|(op, keys)| {
                        let keys = keys.iter().map(|(k, v)| (k.clone(), values(v))).collect();
                        (op.clone(), keys)
                    })
                    .collect(),
            )
        });
        Statement {
            actions: sorted(&self.actions),
            resources: values(&self.resources),
            principal,
            condition,
            ..self.clone()
        }
    }

    /// The statement as IAM JSON (keys sorted), for showing a difference.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        let list = |items: Vec<Value>| {
            if items.len() == 1 {
                items.into_iter().next().expect("one item")
            } else {
                Value::Array(items)
            }
        };
        if let Some(sid) = &self.sid {
            map.insert("Sid".into(), Value::String(sid.clone()));
        }
        map.insert("Effect".into(), Value::String(self.effect.to_string()));
        if !self.actions.is_empty() || self.not_action {
            let key = if self.not_action {
                "NotAction"
            } else {
                "Action"
            };
            map.insert(
                key.into(),
                list(self.actions.iter().cloned().map(Value::String).collect()),
            );
        }
        if !self.resources.is_empty() || self.not_resource {
            let key = if self.not_resource {
                "NotResource"
            } else {
                "Resource"
            };
            map.insert(key.into(), list(self.resources.clone()));
        }
        if let Some(principal) = &self.principal {
            let key = if self.not_principal {
                "NotPrincipal"
            } else {
                "Principal"
            };
            let value = match principal {
                Principal::Anyone => Value::String("*".into()),
                Principal::Named(entries) => {
                    let mut by_kind: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
                    for (kind, v) in entries {
                        by_kind.entry(kind).or_default().push(v.clone());
                    }
                    Value::Object(
                        by_kind
                            .into_iter()
                            .map(|(k, v)| (k.to_string(), list(v)))
                            .collect(),
                    )
                }
            };
            map.insert(key.into(), value);
        }
        if let Some(condition) = &self.condition {
            map.insert("Condition".into(), condition_json(condition));
        }
        let mut value = Value::Object(map);
        crate::template::sort_keys(&mut value);
        value
    }
}

pub fn condition_json(condition: &Condition) -> Value {
    Value::Object(
        condition
            .0
            .iter()
            .map(|(op, keys)| {
                let keys = keys
                    .iter()
                    .map(|(k, v)| {
                        let v = if v.len() == 1 {
                            v[0].clone()
                        } else {
                            Value::Array(v.clone())
                        };
                        (k.clone(), v)
                    })
                    .collect();
                (op.clone(), Value::Object(keys))
            })
            .collect(),
    )
}

fn why(value: &Static) -> String {
    match value {
        Static::Named(reference) => format!("is a reference ({reference:?}), not a literal"),
        Static::Unknown(reason) => reason.clone(),
        Static::Text(_) => String::new(),
    }
}

fn read_principal(value: &Value, scope: &Scope, unresolved: &mut Vec<String>) -> Principal {
    match value {
        Value::String(s) if s == "*" => Principal::Anyone,
        Value::Object(map) if !map.keys().any(|k| k.starts_with("Fn::") || k == "Ref") => {
            let mut entries = Vec::new();
            for (kind, v) in map {
                for item in scope.items(Some(v)) {
                    let item = match scope.text(&item) {
                        Static::Text(text) => Value::String(text),
                        Static::Named(_) => item,
                        Static::Unknown(reason) => {
                            unresolved
                                .push(format!("Principal {kind} {}: {reason}", display(&item)));
                            item
                        }
                    };
                    entries.push((kind.clone(), item));
                }
            }
            if entries
                .iter()
                .any(|(kind, v)| kind == "AWS" && v.as_str() == Some("*"))
            {
                Principal::Anyone
            } else {
                Principal::Named(entries)
            }
        }
        other => {
            unresolved.push(format!(
                "Principal {}: not readable before deployment",
                display(other)
            ));
            Principal::Named(vec![(String::new(), other.clone())])
        }
    }
}

fn read_condition(value: &Value, scope: &Scope) -> Condition {
    let Value::Object(operators) = value else {
        return Condition::default();
    };
    Condition(
        operators
            .iter()
            .map(|(op, keys)| {
                let keys = keys
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), scope.items(Some(v))))
                    .collect();
                (op.clone(), keys)
            })
            .collect(),
    )
}

impl Statement {
    /// Each principal as `Kind:value` (`*` for anyone), as reviews show them.
    pub fn principal_names(&self) -> Vec<String> {
        match &self.principal {
            None => Vec::new(),
            Some(Principal::Anyone) => vec!["*".into()],
            Some(Principal::Named(entries)) => entries
                .iter()
                .map(|(kind, v)| format!("{kind}:{}", display(v)))
                .collect(),
        }
    }
}

/// The plan's one-line form: `[policy] Allow a, b for Service:x on arn when StringEquals {...} (Sid)`.
impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.policy, self.effect)?;
        if !self.actions.is_empty() {
            write!(f, " {}", self.actions.join(", "))?;
        }
        let principals = self.principal_names();
        if !principals.is_empty() {
            write!(f, " for {}", principals.join(", "))?;
        }
        if !self.resources.is_empty() {
            let texts: Vec<String> = self.resources.iter().map(display).collect();
            write!(f, " on {}", texts.join(", "))?;
        }
        if let Some(condition) = &self.condition {
            let parts: Vec<String> = condition_json(condition)
                .as_object()
                .into_iter()
                .flatten()
                .map(|(op, body)| format!("{op} {body}"))
                .collect();
            if !parts.is_empty() {
                write!(f, " when {}", parts.join(" and "))?;
            }
        }
        if let Some(sid) = &self.sid {
            write!(f, " (Sid {sid})")?;
        }
        Ok(())
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
/// pattern full of stars in an overridden template cannot stall a reader.
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

/// `iam:Put*`, `secretsmanager:Get*`, `s3:?etObject`: a wildcard inside an
/// action name, which covers a family of actions (and any added later).
pub fn is_partial_wildcard(action: &str) -> bool {
    action.contains(['*', '?']) && !is_any_action(action) && service_wildcard(action).is_none()
}

/// Resource text that names every resource of its kind: `*`, or an ARN whose
/// resource part is only wildcards after an optional resource type
/// (`arn:aws:s3:::*/*`, `arn:aws:kms:*:*:key/*`, `arn:aws:iam::123:role/*`).
/// A wildcard inside a name (`training-job/pipelines-*`) is a prefix, not this.
pub fn is_wildcard_resource(resource: &str) -> bool {
    if resource.chars().all(|c| c == '*') && !resource.is_empty() {
        return true;
    }
    let mut parts = resource.splitn(6, ':');
    let (Some("arn"), Some(_partition), Some(service), Some(_region), Some(_account), Some(rest)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let only_wildcards = |s: &str| !s.is_empty() && s.chars().all(|c| matches!(c, '*' | '?' | '/'));
    if only_wildcards(rest) {
        return true;
    }
    // S3 ARNs carry no resource type: `bucket/key`; a wildcard bucket is every bucket.
    if service == "s3" {
        return rest
            .split('/')
            .next()
            .is_some_and(|bucket| bucket.contains(['*', '?']));
    }
    match rest.split_once(['/', ':']) {
        Some((kind, name)) => {
            kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') && only_wildcards(name)
        }
        None => false,
    }
}

/// The name of an AWS managed policy (`arn:aws:iam::aws:policy/[path/]Name`);
/// `None` for customer managed policies.
pub fn aws_managed_policy_name(arn: &str) -> Option<&str> {
    let (_, name) = arn.split_once(":iam::aws:policy/")?;
    Some(super::ids::name_from_arn(name))
}

/// Managed policies that hand out administrator-level or service-wide access.
pub fn is_broad_policy_name(name: &str) -> bool {
    matches!(name, "AdministratorAccess" | "PowerUserAccess") || name.ends_with("FullAccess")
}

/// Actions that let whoever holds them raise their own privileges: change a
/// policy or trust, mint credentials, or act as another role.
pub const PRIVILEGE_ESCALATION: &[&str] = &[
    "iam:AttachRolePolicy",
    "iam:AttachUserPolicy",
    "iam:AttachGroupPolicy",
    "iam:PutRolePolicy",
    "iam:PutUserPolicy",
    "iam:PutGroupPolicy",
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:UpdateAssumeRolePolicy",
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile",
    "iam:AddUserToGroup",
    "sts:AssumeRole",
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(document: Value) -> PolicyDocument {
        PolicyDocument::parse(&document, "p", &Scope::default())
    }

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
        let s = &parse(doc).statements[0];
        assert!(s.allows() && s.on_every_resource());
        assert_eq!(s.actions, ["s3:*"]);
        assert_eq!(s.principal, Some(Principal::Anyone));
        assert_eq!(service_wildcard("s3:*"), Some("s3"));
        assert_eq!(service_wildcard("*"), None);
    }

    #[test]
    fn sub_strings_ifs_and_joins_are_read_not_skipped() {
        let sub = json!({"Fn::Sub": r#"{"Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::${AWS::AccountId}:role/*"}]}"#});
        let s = &parse(sub).statements[0];
        assert_eq!(
            s.resource_texts().collect::<Vec<_>>(),
            ["arn:aws:iam::${AWS::AccountId}:role/*"]
        );
        let chosen = parse(json!({"Statement": [
            {"Fn::If": ["C", {"Effect": "Allow", "Action": {"Fn::Split": [",", "s3:GetObject,*"]}, "Resource": "*"}, {"Ref": "AWS::NoValue"}]}
        ]}));
        assert_eq!(chosen.statements[0].actions, ["s3:GetObject", "*"]);
        let hidden = parse(
            json!({"Statement": [{"Effect": "Allow", "Action": {"Ref": "P"}, "Resource": {"Fn::FindInMap": ["M", "a", "b"]}}]}),
        );
        assert_eq!(
            hidden.statements[0].unresolved.len(),
            2,
            "{:?}",
            hidden.statements[0].unresolved
        );
        assert_eq!(parse(json!({"Ref": "Param"})).unresolved.len(), 1);
    }

    #[test]
    fn the_same_grant_written_differently_normalises_equal() {
        let a = parse(
            json!({"Statement": {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "arn:aws:s3:::b/*",
            "Condition": {"Bool": {"aws:SecureTransport": true}}, "Principal": {"Service": "x"}}}),
        );
        let b = parse(
            json!({"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": ["arn:aws:s3:::b/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "true"}}, "Principal": {"Service": ["x"]}}]}),
        );
        assert_eq!(a.statements[0].normalized(), b.statements[0].normalized());
        assert_ne!(a.statements[0], b.statements[0]);
    }

    #[test]
    fn wildcard_resources_in_arn_form() {
        for wildcard in [
            "*",
            "arn:aws:s3:::*/*",
            "arn:aws:s3:::*",
            "arn:aws:kms:*:*:key/*",
            "arn:aws:iam::1:role/*",
            "arn:aws:sagemaker:*:*:*",
        ] {
            assert!(is_wildcard_resource(wildcard), "{wildcard}");
        }
        for named in [
            "arn:aws:s3:::b/*",
            "arn:aws:sagemaker:us-east-1:1:training-job/pipelines-*",
            "arn:aws:logs:us-east-1:1:log-group:/aws/sagemaker/*",
            "arn:aws:kms:us-east-1:1:key/abc",
        ] {
            assert!(!is_wildcard_resource(named), "{named}");
        }
        assert!(
            is_partial_wildcard("iam:Put*")
                && !is_partial_wildcard("s3:*")
                && !is_partial_wildcard("iam:PassRole")
        );
    }

    #[test]
    fn a_statement_reads_as_one_line() {
        let s = &parse(json!({"Statement": {"Sid": "S", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:r",
            "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}}})).statements[0];
        assert_eq!(
            s.to_string(),
            r#"[p] Allow iam:PassRole on arn:r when StringEquals {"iam:PassedToService":"sagemaker.amazonaws.com"} (Sid S)"#
        );
        assert_eq!(
            aws_managed_policy_name("arn:aws:iam::aws:policy/job-function/AdministratorAccess"),
            Some("AdministratorAccess")
        );
        assert!(is_broad_policy_name("AmazonSageMakerFullAccess"));
    }
}
