//! The one structural differ: two templates (or two values inside them)
//! compared section by section, resource by resource, down to the property
//! path. `mlinfra diff` shows its output; plan asks it which properties of a
//! resource changed.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
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

/// One changed value below a resource's `Properties`, as a plan shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropertyChange {
    /// `ProductionVariants[0].InstanceType`; inside a JSON document held in
    /// a string, the two paths are joined by [`EMBEDDED`].
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

/// Every changed value below the `Properties` of resource `logical_id`.
pub fn property_changes(old: &Value, new: &Value, logical_id: &str) -> Vec<PropertyChange> {
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
    differences
        .into_iter()
        .map(|d| PropertyChange {
            path: d.path,
            before: d.before,
            after: d.after,
        })
        .collect()
}

/// The top-level properties of resource `logical_id` whose value differs
/// between the two templates, in key order.
pub fn changed_properties(old: &Value, new: &Value, logical_id: &str) -> Vec<String> {
    let names: BTreeSet<String> = property_changes(old, new, logical_id)
        .iter()
        .map(|d| {
            d.path
                .split(['.', '[', ' '])
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

/// Separates the path to a string holding a JSON document (a pipeline
/// definition, a policy given as text) from the path inside that document.
pub const EMBEDDED: &str = " ▸ ";

/// Keys that name a list element, so that an element is matched with its
/// namesake wherever the two lists put it.
const IDENTITY_KEYS: [&str; 8] = [
    "Name",
    "VariantName",
    "Sid",
    "ChannelName",
    "Key",
    "PolicyName",
    "ParameterName",
    "Id",
];

/// Above this many element pairs, lists are aligned by position alone.
const MAX_ALIGNMENT: usize = 250_000;

fn join(path: &str, key: &str) -> String {
    if path.is_empty() || path.ends_with(EMBEDDED) {
        format!("{path}{key}")
    } else {
        format!("{path}.{key}")
    }
}

/// The document inside a string, when the string is one: an object or a
/// list written as JSON text. Scalars stay text (`"10"` is not a number).
pub fn embedded(value: &Value) -> Option<Value> {
    let text = value.as_str()?.trim_start();
    if !text.starts_with(['{', '[']) {
        return None;
    }
    serde_json::from_str::<Value>(text)
        .ok()
        .filter(|v| v.is_object() || v.is_array())
}

fn identity(value: &Value) -> Option<(&'static str, &Value)> {
    let object = value.as_object()?;
    IDENTITY_KEYS
        .iter()
        .find_map(|key| Some((*key, object.get(*key)?)))
}

/// How the elements of two lists correspond: equal elements kept in order
/// (a longest common subsequence), then, between them, elements with the
/// same name, then the rest by position. An inserted element is one insertion.
#[derive(Debug, PartialEq)]
enum Aligned {
    Same,
    Changed(usize, usize),
    Removed(usize),
    Added(usize),
}

fn align(a: &[Value], b: &[Value]) -> Vec<Aligned> {
    let anchors = if a.len().saturating_mul(b.len()) <= MAX_ALIGNMENT {
        common_subsequence(a, b)
    } else {
        Vec::new()
    };
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    for (x, y) in anchors.into_iter().chain([(a.len(), b.len())]) {
        pair_gap(a, b, i..x, j..y, &mut out);
        if x < a.len() {
            out.push(Aligned::Same);
        }
        (i, j) = (x + 1, y + 1);
    }
    out
}

/// Index pairs of equal elements, in order, as many as possible.
fn common_subsequence(a: &[Value], b: &[Value]) -> Vec<(usize, usize)> {
    let (n, m) = (a.len(), b.len());
    let mut lengths = vec![0u32; (n + 1) * (m + 1)];
    let at = |i: usize, j: usize| i * (m + 1) + j;
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lengths[at(i, j)] = if a[i] == b[j] {
                lengths[at(i + 1, j + 1)] + 1
            } else {
                lengths[at(i + 1, j)].max(lengths[at(i, j + 1)])
            };
        }
    }
    let (mut i, mut j, mut pairs) = (0, 0, Vec::new());
    while i < n && j < m {
        if a[i] == b[j] {
            pairs.push((i, j));
            (i, j) = (i + 1, j + 1);
        } else if lengths[at(i + 1, j)] >= lengths[at(i, j + 1)] {
            i += 1;
        } else {
            j += 1;
        }
    }
    pairs
}

fn pair_gap(
    a: &[Value],
    b: &[Value],
    old: std::ops::Range<usize>,
    new: std::ops::Range<usize>,
    out: &mut Vec<Aligned>,
) {
    let mut partner: Vec<Option<usize>> = vec![None; new.len()];
    let mut taken = vec![false; old.len()];
    for (slot, j) in new.clone().enumerate() {
        let Some(id) = identity(&b[j]) else { continue };
        if let Some(k) =
            (0..old.len()).find(|k| !taken[*k] && identity(&a[old.start + k]) == Some(id))
        {
            taken[k] = true;
            partner[slot] = Some(old.start + k);
        }
    }
    // What names did not pair goes by position, but never across names.
    let unnamed: Vec<usize> = old
        .clone()
        .filter(|i| !taken[i - old.start] && identity(&a[*i]).is_none())
        .collect();
    let mut free = unnamed.into_iter();
    for (slot, j) in new.clone().enumerate() {
        if partner[slot].is_some() || identity(&b[j]).is_some() {
            continue;
        }
        if let Some(i) = free.next() {
            taken[i - old.start] = true;
            partner[slot] = Some(i);
        }
    }
    for i in old.clone().filter(|i| !taken[i - old.start]) {
        out.push(Aligned::Removed(i));
    }
    for (slot, j) in new.enumerate() {
        out.push(match partner[slot] {
            Some(i) => Aligned::Changed(i, j),
            None => Aligned::Added(j),
        });
    }
}

impl Walker<'_> {
    fn walk(&mut self, path: String, before: Option<&Value>, after: Option<&Value>) {
        match (before, after) {
            (Some(a), Some(b)) if a == b => {}
            (Some(Value::Object(a)), Some(Value::Object(b))) => {
                let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
                for key in keys {
                    self.walk(join(&path, key), a.get(key), b.get(key));
                }
            }
            (Some(Value::Array(a)), Some(Value::Array(b))) => {
                for step in align(a, b) {
                    match step {
                        Aligned::Same => {}
                        Aligned::Changed(i, j) => {
                            self.walk(format!("{path}[{j}]"), Some(&a[i]), Some(&b[j]))
                        }
                        Aligned::Removed(i) => self.walk(format!("{path}[{i}]"), Some(&a[i]), None),
                        Aligned::Added(j) => self.walk(format!("{path}[{j}]"), None, Some(&b[j])),
                    }
                }
            }
            // Two texts that are both JSON documents compare as documents.
            (Some(a @ Value::String(_)), Some(b @ Value::String(_))) => {
                match (embedded(a), embedded(b)) {
                    (Some(x), Some(y)) => {
                        self.walk(format!("{path}{EMBEDDED}"), Some(&x), Some(&y))
                    }
                    _ => self.push(path, before, after),
                }
            }
            (before, after) => self.push(path, before, after),
        }
    }

    fn push(&mut self, path: String, before: Option<&Value>, after: Option<&Value>) {
        // A path that ends at the document's start means the whole document differs.
        let path = path
            .strip_suffix(EMBEDDED)
            .map(str::to_string)
            .unwrap_or(path);
        self.out.push(Difference {
            section: self.section.to_string(),
            name: self.name.to_string(),
            path,
            before: before.cloned(),
            after: after.cloned(),
        });
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

    fn places(diff: &[Difference]) -> Vec<(String, Option<Value>, Option<Value>)> {
        diff.iter()
            .map(|d| (d.path.clone(), d.before.clone(), d.after.clone()))
            .collect()
    }

    fn value_diff(a: Value, b: Value) -> Vec<(String, Option<Value>, Option<Value>)> {
        places(&structural_diff(
            &json!({ "Outputs": { "A": { "Value": a } } }),
            &json!({ "Outputs": { "A": { "Value": b } } }),
        ))
    }

    #[test]
    fn an_inserted_element_is_one_insertion() {
        assert_eq!(
            value_diff(json!([1, 2, 4]), json!([1, 2, 3, 4])),
            [("Value[2]".to_string(), None, Some(json!(3)))]
        );
        assert_eq!(
            value_diff(json!(["a", "b", "c"]), json!(["b", "c"])),
            [("Value[0]".to_string(), Some(json!("a")), None)]
        );
        // One inserted statement at the front, one changed after it.
        let statement = |sid: &str, action: &str| json!({"Sid": sid, "Action": action});
        assert_eq!(
            value_diff(
                json!([
                    statement("Read", "s3:GetObject"),
                    statement("Keys", "kms:Decrypt")
                ]),
                json!([
                    statement("Logs", "logs:PutLogEvents"),
                    statement("Read", "s3:GetObject"),
                    statement("Keys", "kms:GenerateDataKey")
                ])
            ),
            [
                (
                    "Value[0]".to_string(),
                    None,
                    Some(statement("Logs", "logs:PutLogEvents"))
                ),
                (
                    "Value[2].Action".to_string(),
                    Some(json!("kms:Decrypt")),
                    Some(json!("kms:GenerateDataKey"))
                ),
            ]
        );
    }

    #[test]
    fn elements_pair_by_name_before_position() {
        let variant = |name: &str, weight: u32| json!({"VariantName": name, "Weight": weight});
        assert_eq!(
            value_diff(
                json!([variant("blue", 1), variant("green", 1)]),
                json!([variant("green", 2), variant("canary", 1)])
            ),
            [
                ("Value[0]".to_string(), Some(variant("blue", 1)), None),
                (
                    "Value[0].Weight".to_string(),
                    Some(json!(1)),
                    Some(json!(2))
                ),
                ("Value[1]".to_string(), None, Some(variant("canary", 1))),
            ]
        );
        // Unnamed elements that are neither kept nor inserted change in place.
        assert_eq!(
            value_diff(json!(["a", "b"]), json!(["a", "c"])),
            [("Value[1]".to_string(), Some(json!("b")), Some(json!("c")))]
        );
    }

    #[test]
    fn a_pipeline_definition_inside_fn_sub_is_diffed_as_a_document() {
        let pipeline = |epochs: &str| {
            let document = json!({"Version": "2020-12-01", "Steps": [{"Name": "Train", "Type": "Training",
                "Arguments": {"HyperParameters": {"epochs": epochs, "lr": "0.001"},
                    "OutputDataConfig": {"KmsKeyId": "${KeyArn}"}}}]});
            json!({"Resources": {"Pipeline": {"Type": "AWS::SageMaker::Pipeline", "Properties": {
                "PipelineDefinition": {"PipelineDefinitionBody": {"Fn::Sub": [
                    document.to_string(), {"KeyArn": {"Fn::ImportValue": "k"}}]}}}}}})
        };
        let diff = structural_diff(&pipeline("10"), &pipeline("20"));
        assert_eq!(
            places(&diff),
            [(
                format!(
                    "Properties.PipelineDefinition.PipelineDefinitionBody.Fn::Sub[0]{EMBEDDED}Steps[0].Arguments.HyperParameters.epochs"
                ),
                Some(json!("10")),
                Some(json!("20"))
            )]
        );
        assert_eq!(
            changed_properties(&pipeline("10"), &pipeline("20"), "Pipeline"),
            ["PipelineDefinition"]
        );
    }

    #[test]
    fn a_policy_given_as_text_is_diffed_as_a_document_and_other_text_whole() {
        let policy = |actions: Value| {
            Value::String(
                json!({"Statement": [{"Effect": "Allow", "Action": actions}]}).to_string(),
            )
        };
        assert_eq!(
            value_diff(
                policy(json!(["s3:GetObject"])),
                policy(json!(["s3:GetObject", "s3:PutObject"]))
            ),
            [(
                format!("Value{EMBEDDED}Statement[0].Action[1]"),
                None,
                Some(json!("s3:PutObject"))
            )]
        );
        // The same document written differently is no difference.
        assert!(value_diff(json!("{\"a\": 1}"), json!("{\"a\":1}")).is_empty());
        assert_eq!(
            value_diff(json!("10"), json!("20")),
            [("Value".to_string(), Some(json!("10")), Some(json!("20")))]
        );
        assert_eq!(
            value_diff(json!("{\"a\": 1}"), json!("not json")),
            [(
                "Value".to_string(),
                Some(json!("{\"a\": 1}")),
                Some(json!("not json"))
            )]
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
