//! CloudFormation's quotas and AWS's naming rules, checked before a deploy
//! runs into them halfway.

use serde_json::Value;

use super::StackCheck;
use super::rule::RuleId;
use crate::config::rules;
use crate::template::value::one_or_many;

/// Largest `TemplateBody` CloudFormation takes inline.
pub const INLINE_BODY_BYTES: usize = 51_200;
/// Largest template CloudFormation takes at all (from S3).
pub const S3_BODY_BYTES: usize = 1_000_000;
pub const MAX_RESOURCES: usize = 500;
pub const MAX_OUTPUTS: usize = 200;
pub const MAX_PARAMETERS: usize = 200;
const MAX_STACK_NAME: usize = 128;
const MAX_LOGICAL_ID: usize = 255;

pub fn check(c: &mut StackCheck) {
    sizes(c);
    names(c);
}

fn sizes(c: &mut StackCheck) {
    // The canonical text is what plan sends and hashes, so it is what counts.
    let bytes = c.stack.template.size();
    if bytes > S3_BODY_BYTES {
        c.report(
            RuleId::Lim002,
            None,
            format!("template is {bytes} bytes; CloudFormation's limit is {S3_BODY_BYTES}"),
        );
    } else if bytes > INLINE_BODY_BYTES && c.env.artifacts_bucket.is_none() {
        c.report(
            RuleId::Lim001,
            None,
            format!("template is {bytes} bytes, over the {INLINE_BODY_BYTES}-byte inline limit, and env.artifacts_bucket is not set"),
        );
    }
    let template = c.template();
    for (section, limit, rule) in [
        ("Resources", MAX_RESOURCES, RuleId::Lim003),
        ("Outputs", MAX_OUTPUTS, RuleId::Lim004),
        ("Parameters", MAX_PARAMETERS, RuleId::Lim005),
    ] {
        let count = template.section_len(section);
        if count > limit {
            c.report(
                rule,
                None,
                format!("{count} {} (limit {limit})", section.to_ascii_lowercase()),
            );
        }
    }
}

fn stack_name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > MAX_STACK_NAME {
        return Some(format!(
            "is {} characters; stack names must be 1 to {MAX_STACK_NAME}",
            name.len()
        ));
    }
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    (!valid).then(|| "must start with a letter and use only letters, digits and '-'".into())
}

fn length_problem(name: &str, max: usize) -> Option<String> {
    (name.is_empty() || name.len() > max)
        .then(|| format!("is {} characters; the limit is {max}", name.len()))
}

fn alias_problem(name: &str) -> Option<String> {
    if !name.starts_with("alias/") || name.starts_with("alias/aws/") {
        return Some("must start with alias/ (and not alias/aws/)".into());
    }
    if name
        .chars()
        .any(|c| !(c.is_ascii_alphanumeric() || "/_-".contains(c)))
    {
        return Some("may use only letters, digits, '/', '_' and '-'".into());
    }
    length_problem(name, 256)
}

fn pipeline_name_problem(name: &str) -> Option<String> {
    if name
        .chars()
        .any(|c| !(c.is_ascii_alphanumeric() || c == '-'))
        || name.starts_with('-')
        || name.ends_with('-')
    {
        return Some("must use letters, digits and inner '-' only".into());
    }
    length_problem(name, 256)
}

/// Which property of which resource type is a name, and its rule.
type NameRule = fn(&str) -> Option<String>;
const NAMED: &[(&str, &str, NameRule)] = &[
    ("AWS::S3::Bucket", "BucketName", rules::bucket_name_problem),
    ("AWS::IAM::Role", "RoleName", rules::iam_role_name_problem),
    (
        "AWS::SageMaker::Endpoint",
        "EndpointName",
        rules::sagemaker_name_problem,
    ),
    (
        "AWS::SageMaker::Pipeline",
        "PipelineName",
        pipeline_name_problem,
    ),
    ("AWS::KMS::Alias", "AliasName", alias_problem),
    (
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        "PolicyName",
        |n| length_problem(n, 256),
    ),
];

fn names(c: &mut StackCheck) {
    let stack = c.stack.spec.name.clone();
    if let Some(problem) = stack_name_problem(&stack) {
        c.report(
            RuleId::Lim006,
            None,
            format!("stack name {stack:?} {problem}"),
        );
    }
    let template = c.template();
    for section in ["Resources", "Outputs", "Parameters"] {
        for id in template.section_keys(section) {
            if id.is_empty()
                || id.len() > MAX_LOGICAL_ID
                || !id.chars().all(|ch| ch.is_ascii_alphanumeric())
            {
                c.report(
                    RuleId::Lim006,
                    Some(id),
                    format!("logical id must be 1 to {MAX_LOGICAL_ID} letters and digits"),
                );
            }
        }
    }
    for resource in template.resources() {
        for (kind, property, rule) in NAMED {
            if resource.kind != *kind {
                continue;
            }
            if let Some(name) = resource.prop(property).and_then(Value::as_str)
                && let Some(problem) = rule(name)
            {
                c.report(
                    RuleId::Lim006,
                    Some(resource.logical_id),
                    format!("{property} {name:?} {problem}"),
                );
            }
        }
        for policy in one_or_many(resource.prop("Policies")) {
            if let Some(name) = policy.get("PolicyName").and_then(Value::as_str)
                && let Some(problem) = length_problem(name, 128)
            {
                c.report(
                    RuleId::Lim006,
                    Some(resource.logical_id),
                    format!("inline policy name {name:?} {problem}"),
                );
            }
        }
    }
}
