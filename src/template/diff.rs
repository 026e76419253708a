//! The one structural differ: two templates (or two values inside them)
//! compared section by section, resource by resource, down to the property
//! path. `mlinfra diff` shows its output; plan asks it which properties of a
//! resource changed.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value};

/// One difference at one property path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// `Resources`, `Outputs`, … : the template section.
    pub section: String,
    /// Logical id (or output/parameter name) inside the section.
    pub name: String,
    /// Path below it, `Properties.ProductionVariants[0].InstanceType`; empty for the whole entry.
    pub path: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Every difference between two templates, section by section, in key order.
pub fn structural_diff(deployed: &Value, rendered: &Value) -> Vec<Difference> {
    let mut differences = Vec::new();
    let empty = Map::new();
    let (old, new) = (
        deployed.as_object().unwrap_or(&empty),
        rendered.as_object().unwrap_or(&empty),
    );
    let sections: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for section in sections {
        match (old.get(section), new.get(section)) {
            (Some(Value::Object(a)), Some(Value::Object(b))) if is_named_section(section) => {
                let names: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
                for name in names {
                    let mut walker = Walker {
                        section,
                        name,
                        out: &mut differences,
                    };
                    walker.walk(String::new(), a.get(name), b.get(name));
                }
            }
            (a, b) => Walker {
                section,
                name: "",
                out: &mut differences,
            }
            .walk(String::new(), a, b),
        }
    }
    differences
}

/// The top-level properties of resource `logical_id` whose value differs
/// between the two templates, in key order.
pub fn changed_properties(old: &Value, new: &Value, logical_id: &str) -> Vec<String> {
    let empty = Value::Object(Map::new());
    let properties = |template: &Value| -> Value {
        match template
            .get("Resources")
            .and_then(|r| r.get(logical_id))
            .and_then(|r| r.get("Properties"))
        {
            Some(props @ Value::Object(_)) => props.clone(),
            _ => empty.clone(),
        }
    };
    let mut differences = Vec::new();
    Walker {
        section: "Resources",
        name: logical_id,
        out: &mut differences,
    }
    .walk(
        String::new(),
        Some(&properties(old)),
        Some(&properties(new)),
    );
    let names: BTreeSet<String> = differences
        .iter()
        .map(|d| {
            d.path
                .split(['.', '['])
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    names.into_iter().collect()
}

fn is_named_section(section: &str) -> bool {
    matches!(
        section,
        "Resources" | "Outputs" | "Parameters" | "Conditions" | "Mappings"
    )
}

struct Walker<'a> {
    section: &'a str,
    name: &'a str,
    out: &'a mut Vec<Difference>,
}

impl Walker<'_> {
    fn walk(&mut self, path: String, before: Option<&Value>, after: Option<&Value>) {
        let join = |key: &str| {
            if path.is_empty() {
                key.to_string()
            } else {
                format!("{path}.{key}")
            }
        };
        match (before, after) {
            (Some(a), Some(b)) if a == b => {}
            (Some(Value::Object(a)), Some(Value::Object(b))) => {
                let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
                for key in keys {
                    self.walk(join(key), a.get(key), b.get(key));
                }
            }
            // Lists of equal length compare item by item; otherwise the whole list changed.
            (Some(Value::Array(a)), Some(Value::Array(b))) if a.len() == b.len() => {
                for (i, (x, y)) in a.iter().zip(b).enumerate() {
                    self.walk(format!("{path}[{i}]"), Some(x), Some(y));
                }
            }
            (before, after) => self.out.push(Difference {
                section: self.section.to_string(),
                name: self.name.to_string(),
                path,
                before: before.cloned(),
                after: after.cloned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn differences_name_the_resource_and_the_property_path() {
        let deployed = json!({
            "Resources": {
                "Config": { "Type": "AWS::SageMaker::EndpointConfig", "Properties": { "ProductionVariants": [ { "InstanceType": "ml.m5.large", "InitialInstanceCount": 1 } ] } },
                "Old": { "Type": "AWS::S3::BucketPolicy" }
            },
            "Description": "a"
        });
        let rendered = json!({
            "Resources": {
                "Config": { "Type": "AWS::SageMaker::EndpointConfig", "Properties": { "ProductionVariants": [ { "InstanceType": "ml.m5.xlarge", "InitialInstanceCount": 1 } ] } },
                "New": { "Type": "AWS::KMS::Alias" }
            },
            "Description": "a"
        });
        let diff = structural_diff(&deployed, &rendered);
        let places: Vec<(&str, &str, &str)> = diff
            .iter()
            .map(|d| (d.section.as_str(), d.name.as_str(), d.path.as_str()))
            .collect();
        assert_eq!(
            places,
            [
                (
                    "Resources",
                    "Config",
                    "Properties.ProductionVariants[0].InstanceType"
                ),
                ("Resources", "New", ""),
                ("Resources", "Old", ""),
            ]
        );
        assert_eq!(diff[0].before, Some(json!("ml.m5.large")));
        assert_eq!(diff[0].after, Some(json!("ml.m5.xlarge")));
        assert!(structural_diff(&deployed, &deployed).is_empty());
    }

    #[test]
    fn a_list_that_changes_length_is_shown_whole() {
        let diff = structural_diff(
            &json!({ "Outputs": { "A": { "Value": [1, 2] } } }),
            &json!({ "Outputs": { "A": { "Value": [1, 2, 3] } } }),
        );
        assert_eq!(diff.len(), 1);
        assert_eq!(
            (diff[0].name.as_str(), diff[0].path.as_str()),
            ("A", "Value")
        );
    }

    #[test]
    fn changed_properties_are_the_top_level_names() {
        let old = json!({"Resources": {"R": {"Properties": {"A": {"x": 1}, "B": [1], "C": 1}}}});
        let new = json!({"Resources": {"R": {"Properties": {"A": {"x": 2}, "B": [1, 2], "D": 1}}}});
        assert_eq!(changed_properties(&old, &new, "R"), ["A", "B", "C", "D"]);
        assert_eq!(changed_properties(&json!({}), &new, "R"), ["A", "B", "D"]);
        assert!(changed_properties(&old, &old, "R").is_empty());
    }
}
