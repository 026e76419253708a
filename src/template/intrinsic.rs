//! What a template value is before deployment. Templates build strings with
//! `Fn::Join`, `Fn::Sub`, `Fn::Select` and `Fn::Split`, and choose with
//! `Fn::If`; readers that judge a value (an action, an ARN, a policy document)
//! must see through those rather than skip them, and must be told when a value
//! is only decided at deploy time.
//!
//! Deploy-time pieces that do not change what a value *is* keep their `Fn::Sub`
//! spelling: `${AWS::Partition}`, `${DataKey.Arn}`, `${Bucket}`.

use serde_json::{Map, Value};

use super::refs::{Reference, is_pseudo_parameter, reference_of};

/// A scalar value as far as it can be known from the template alone.
#[derive(Debug, Clone, PartialEq)]
pub enum Static {
    /// Known text (deploy-time pieces spelled `${…}`).
    Text(String),
    /// A reference to one resource of this stack or one export: it names a
    /// single thing whatever its value turns out to be.
    Named(Reference),
    /// Only decided at deploy time, or built with a function not evaluated here: why.
    Unknown(String),
}

impl Static {
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Static::Text(text) => Some(text),
            _ => None,
        }
    }
}

/// What a template declares that decides how its values evaluate: its
/// parameters (chosen at deploy time).
#[derive(Debug, Clone, Copy, Default)]
pub struct Scope<'a> {
    parameters: Option<&'a Map<String, Value>>,
}

impl<'a> Scope<'a> {
    pub fn of(template: &'a Value) -> Self {
        Self {
            parameters: template.get("Parameters").and_then(Value::as_object),
        }
    }

    fn is_parameter(&self, name: &str) -> bool {
        self.parameters.is_some_and(|p| p.contains_key(name))
    }

    /// The items of a list-valued position (an IAM `Action`, `Resource`, a
    /// `Statement` list, `ManagedPolicyArns`): one value or an array, with
    /// every `Fn::If` contributing both branches (either may be deployed),
    /// `AWS::NoValue` contributing nothing and `Fn::Split` of known text split.
    pub fn items(&self, value: Option<&Value>) -> Vec<Value> {
        let mut out = Vec::new();
        if let Some(value) = value {
            self.collect_items(value, &mut out, 0);
        }
        out
    }

    fn collect_items(&self, value: &Value, out: &mut Vec<Value>, depth: usize) {
        if depth > MAX_DEPTH {
            out.push(value.clone());
            return;
        }
        match value {
            Value::Null => {}
            Value::Array(items) => items
                .iter()
                .for_each(|v| self.collect_items(v, out, depth + 1)),
            Value::Object(map) if map.len() == 1 => {
                if let Some(branches) = if_branches(value) {
                    branches
                        .into_iter()
                        .for_each(|v| self.collect_items(v, out, depth + 1));
                } else if value.get("Ref").and_then(Value::as_str) == Some("AWS::NoValue") {
                } else if let Some(Value::Array(args)) = value.get("Fn::Split") {
                    match (args.first().and_then(Value::as_str), args.get(1)) {
                        (Some(delimiter), Some(source)) if !delimiter.is_empty() => {
                            match self.text(source) {
                                Static::Text(text) => out.extend(
                                    text.split(delimiter).map(|p| Value::String(p.to_string())),
                                ),
                                _ => out.push(value.clone()),
                            }
                        }
                        _ => out.push(value.clone()),
                    }
                } else {
                    out.push(value.clone());
                }
            }
            other => out.push(other.clone()),
        }
    }

    /// A value that should be a string, evaluated as far as the template allows.
    pub fn text(&self, value: &Value) -> Static {
        self.eval(value, 0)
    }

    fn eval(&self, value: &Value, depth: usize) -> Static {
        if depth > MAX_DEPTH {
            return Static::Unknown("nested too deeply to read".into());
        }
        match value {
            Value::String(text) => Static::Text(text.clone()),
            Value::Number(n) => Static::Text(n.to_string()),
            Value::Bool(b) => Static::Text(b.to_string()),
            Value::Object(map) if map.len() == 1 => {
                let (function, args) = map.iter().next().expect("one entry");
                self.function(value, function, args, depth)
            }
            other => Static::Unknown(format!("{other} is not a string")),
        }
    }

    fn function(&self, value: &Value, function: &str, args: &Value, depth: usize) -> Static {
        match (function, args) {
            ("Ref", Value::String(name)) if is_pseudo_parameter(name) => {
                Static::Text(format!("${{{name}}}"))
            }
            ("Ref", Value::String(name)) if self.is_parameter(name) => {
                Static::Unknown(format!("parameter {name} is chosen at deploy time"))
            }
            ("Ref" | "Fn::GetAtt" | "Fn::ImportValue", _) => match reference_of(value) {
                Some(reference) => Static::Named(reference),
                None => Static::Unknown(format!("{function} of a computed name")),
            },
            ("Fn::Sub", _) => self.sub(args, depth),
            ("Fn::Join", Value::Array(parts)) => {
                let (Some(Value::String(delimiter)), Some(list)) = (parts.first(), parts.get(1))
                else {
                    return Static::Unknown("Fn::Join without a delimiter and a list".into());
                };
                let items = match list {
                    Value::Array(items) => items.clone(),
                    other => match self.eval(other, depth + 1) {
                        Static::Unknown(why) => return Static::Unknown(why),
                        _ => return Static::Unknown("Fn::Join of a computed list".into()),
                    },
                };
                let mut pieces = Vec::new();
                for item in &items {
                    match self.eval(item, depth + 1) {
                        Static::Text(text) => pieces.push(text),
                        Static::Named(reference) => pieces.push(spelled(&reference)),
                        unknown => return unknown,
                    }
                }
                Static::Text(pieces.join(delimiter))
            }
            ("Fn::Select", Value::Array(parts)) => {
                let index = parts.first().and_then(|i| match self.eval(i, depth + 1) {
                    Static::Text(t) => t.parse::<usize>().ok(),
                    _ => None,
                });
                let items = self.items(parts.get(1));
                match index.and_then(|i| items.get(i)) {
                    Some(item) => self.eval(item, depth + 1),
                    None => Static::Unknown("Fn::Select of a computed index or list".into()),
                }
            }
            ("Fn::If", _) => Static::Unknown(
                "Fn::If chooses at deploy time (read its branches as a list)".into(),
            ),
            (other, _) => Static::Unknown(format!("{other} is evaluated at deploy time")),
        }
    }

    /// `Fn::Sub`: variables of its map that are known are substituted; other
    /// variables stay `${…}` (resources, pseudo parameters) unless they are
    /// parameters, which make the whole text unknown.
    fn sub(&self, args: &Value, depth: usize) -> Static {
        let (template, variables) = match args {
            Value::String(text) => (text.as_str(), None),
            Value::Array(parts) => match parts.first() {
                Some(Value::String(text)) => {
                    (text.as_str(), parts.get(1).and_then(Value::as_object))
                }
                _ => return Static::Unknown("Fn::Sub of a computed string".into()),
            },
            _ => return Static::Unknown("Fn::Sub of a computed string".into()),
        };
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let name = &after[..end];
            rest = &after[end + 1..];
            if name.starts_with('!') {
                out.push_str("${");
                out.push_str(name);
                out.push('}');
                continue;
            }
            match variables.and_then(|v| v.get(name)) {
                Some(local) => match self.eval(local, depth + 1) {
                    Static::Text(text) => out.push_str(&text),
                    Static::Named(reference) => out.push_str(&spelled(&reference)),
                    unknown => return unknown,
                },
                None if self.is_parameter(name) => {
                    return Static::Unknown(format!("parameter {name} is chosen at deploy time"));
                }
                None => {
                    out.push_str("${");
                    out.push_str(name);
                    out.push('}');
                }
            }
        }
        out.push_str(rest);
        Static::Text(out)
    }
}

/// Deeper nesting than any real template uses; bounds the work on hostile input.
const MAX_DEPTH: usize = 32;

/// `{"Fn::If": [condition, a, b]}` → `[a, b]`.
pub fn if_branches(value: &Value) -> Option<Vec<&Value>> {
    match value.get("Fn::If")? {
        Value::Array(args) if args.len() == 3 => Some(vec![&args[1], &args[2]]),
        _ => None,
    }
}

/// A reference as `Fn::Sub` spells it.
fn spelled(reference: &Reference) -> String {
    match reference {
        Reference::Ref(name) => format!("${{{name}}}"),
        Reference::GetAtt(id, attr) => format!("${{{id}.{attr}}}"),
        Reference::Import(name) => format!("${{ImportValue:{name}}}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn joins_subs_and_selects_become_text() {
        let scope = Scope::default();
        let join = json!({"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::aws:policy/", "AdministratorAccess"]]});
        assert_eq!(
            scope.text(&join),
            Static::Text("arn:${AWS::Partition}:iam::aws:policy/AdministratorAccess".into())
        );
        let sub = json!({"Fn::Sub": ["arn:aws:s3:::${B}/*", {"B": "*"}]});
        assert_eq!(scope.text(&sub), Static::Text("arn:aws:s3:::*/*".into()));
        let select = json!({"Fn::Select": [1, {"Fn::Split": [",", "a,*"]}]});
        assert_eq!(scope.text(&select), Static::Text("*".into()));
        assert_eq!(
            scope.text(&json!({"Fn::GetAtt": ["Role", "Arn"]})),
            Static::Named(Reference::GetAtt("Role".into(), "Arn".into()))
        );
    }

    #[test]
    fn parameters_and_unknown_functions_are_unknown() {
        let template = json!({"Parameters": {"P": {"Type": "String"}}});
        let scope = Scope::of(&template);
        assert!(matches!(
            scope.text(&json!({"Ref": "P"})),
            Static::Unknown(_)
        ));
        assert!(matches!(
            scope.text(&json!({"Fn::Sub": "x${P}"})),
            Static::Unknown(_)
        ));
        assert!(matches!(
            scope.text(&json!({"Fn::FindInMap": ["M", "a", "b"]})),
            Static::Unknown(_)
        ));
    }

    #[test]
    fn list_items_see_through_if_split_and_no_value() {
        let scope = Scope::default();
        let items = scope.items(Some(&json!([
            "a",
            {"Fn::If": ["C", "b", {"Ref": "AWS::NoValue"}]},
            {"Fn::Split": [",", "c,d"]}
        ])));
        assert_eq!(items, [json!("a"), json!("b"), json!("c"), json!("d")]);
        assert_eq!(
            scope.items(Some(&json!({"Fn::If": ["C", ["x"], "y"]}))),
            [json!("x"), json!("y")]
        );
    }
}
