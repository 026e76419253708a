//! `mlinfra diff`: the rendered templates against the deployed ones, as a
//! structural diff (resource, property path, before → after) for reviewers who
//! want more than a change set says. Reads templates only; changes nothing.
//! The comparison is the template model's one structural differ.

use serde::Serialize;
use serde_json::Value;

use crate::cloud::AwsError;
use crate::cloud::cfn::Cfn;
use crate::render::RenderedStack;
use crate::template::Canonical;
pub use crate::template::diff::{Difference, structural_diff};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum StackDiff {
    /// No stack deployed under this name: everything would be created.
    NotDeployed {
        stack: String,
    },
    Same {
        stack: String,
    },
    Changed {
        stack: String,
        differences: Vec<Difference>,
    },
}

impl StackDiff {
    pub fn has_differences(&self) -> bool {
        !matches!(self, StackDiff::Same { .. })
    }
}

/// Compares each rendered stack with the template CloudFormation holds for it.
pub async fn diff_stacks(
    cfn: &Cfn,
    rendered: &[RenderedStack],
) -> Result<Vec<StackDiff>, AwsError> {
    let mut result = Vec::new();
    for stack in rendered {
        let name = stack.spec.name.clone();
        // A stack never created, or only reserved by an unexecuted change set, has no template.
        let exists = cfn
            .describe_stack(&name)
            .await?
            .is_some_and(|info| info.status != "REVIEW_IN_PROGRESS");
        let body = if exists {
            cfn.template_body(&name).await?
        } else {
            None
        };
        let deployed = match body {
            None => {
                result.push(StackDiff::NotDeployed { stack: name });
                continue;
            }
            // A body that is not JSON (hand-edited YAML) compares as a whole.
            Some(body) => Canonical::parse(&body)
                .map(|c| c.value)
                .unwrap_or(Value::String(body)),
        };
        let differences = structural_diff(&deployed, &stack.template.value);
        result.push(if differences.is_empty() {
            StackDiff::Same { stack: name }
        } else {
            StackDiff::Changed {
                stack: name,
                differences,
            }
        });
    }
    Ok(result)
}

fn short(value: &Option<Value>) -> String {
    match value {
        None => "(absent)".into(),
        Some(v) => {
            let text = v.to_string();
            if text.chars().count() > 120 {
                format!("{}…", text.chars().take(119).collect::<String>())
            } else {
                text
            }
        }
    }
}

fn location(d: &Difference) -> String {
    match (d.name.is_empty(), d.path.is_empty()) {
        (true, true) => d.section.clone(),
        (true, false) => format!("{} {}", d.section, d.path),
        (false, true) => format!("{} {}", d.section, d.name),
        (false, false) => format!("{} {} {}", d.section, d.name, d.path),
    }
}

fn sign(d: &Difference) -> char {
    match (&d.before, &d.after) {
        (None, _) => '+',
        (_, None) => '-',
        _ => '~',
    }
}

pub fn render_human(diffs: &[StackDiff]) -> String {
    let mut text = String::new();
    for diff in diffs {
        match diff {
            StackDiff::NotDeployed { stack } => text.push_str(&format!(
                "{stack}: not deployed (all of it would be created)\n"
            )),
            StackDiff::Same { stack } => text.push_str(&format!("{stack}: no differences\n")),
            StackDiff::Changed { stack, differences } => {
                text.push_str(&format!("{stack}: {} difference(s)\n", differences.len()));
                for d in differences {
                    text.push_str(&format!(
                        "  {} {}\n      {} → {}\n",
                        sign(d),
                        location(d),
                        short(&d.before),
                        short(&d.after)
                    ));
                }
            }
        }
    }
    text
}

pub fn render_markdown(diffs: &[StackDiff]) -> String {
    let changed = diffs.iter().filter(|d| d.has_differences()).count();
    let mut text = format!(
        "### mlinfra diff: {changed} of {} stack(s) differ\n\n",
        diffs.len()
    );
    for diff in diffs {
        match diff {
            StackDiff::NotDeployed { stack } => {
                text.push_str(&format!("- `{stack}`: not deployed\n"))
            }
            StackDiff::Same { stack } => text.push_str(&format!("- `{stack}`: no differences\n")),
            StackDiff::Changed { stack, differences } => {
                text.push_str(&format!(
                    "<details><summary><code>{stack}</code>: {} difference(s)</summary>\n\n| | where | before | after |\n|---|---|---|---|\n",
                    differences.len()
                ));
                for d in differences {
                    text.push_str(&format!(
                        "| {} | `{}` | `{}` | `{}` |\n",
                        sign(d),
                        location(d).replace('|', "\\|"),
                        short(&d.before).replace('|', "\\|"),
                        short(&d.after).replace('|', "\\|")
                    ));
                }
                text.push_str("\n</details>\n");
            }
        }
    }
    text
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
        let lines: Vec<String> = diff
            .iter()
            .map(|d| format!("{} {}", sign(d), location(d)))
            .collect();
        assert_eq!(
            lines,
            [
                "~ Resources Config Properties.ProductionVariants[0].InstanceType",
                "+ Resources New",
                "- Resources Old",
            ]
        );
        assert_eq!(diff[0].before, Some(json!("ml.m5.large")));
        assert_eq!(diff[0].after, Some(json!("ml.m5.xlarge")));
        assert!(structural_diff(&deployed, &deployed).is_empty());
    }
}
