//! A plan file is an index of what was reviewed, never an authority. Before
//! `apply --plan` executes anything, every change set the file names is read
//! back from CloudFormation and must be the one reviewed: on the planned
//! stack, created from the reviewed template, with the same changes, the same
//! data-loss risks and allowances (read from the change set's own
//! description, where `plan` wrote them) and the same IAM consequences.

use serde::Serialize;
use serde_json::Value;

use super::{ApplyError, Context, Read};
use crate::plan::{self, Plan, classify};
use crate::template::Canonical;

/// Every difference between the plan file and what CloudFormation holds;
/// empty when the file is exactly what was reviewed.
pub async fn differences(
    ctx: &Context<'_>,
    plan: &Plan,
    mut read: Read,
) -> Result<Vec<String>, ApplyError> {
    let cfn = &ctx.clients.cfn;
    let mut found = Vec::new();
    for planned in &plan.stacks {
        let Some(reference) = &planned.change_set else {
            continue;
        };
        let stack = &planned.stack;
        let Some(rendered) = ctx.rendered.iter().find(|r| &r.spec.name == stack) else {
            found.push(format!(
                "{stack} is not a stack of environment {}",
                ctx.env.name
            ));
            continue;
        };
        let info = match read.change_sets.remove(stack) {
            Some(info) => info,
            None => cfn.describe_change_set(&reference.id).await?,
        };
        if info.stack_name != *stack || info.stack_id != reference.stack_id {
            found.push(format!(
                "{stack}: change set {} belongs to stack {} ({}), not to the planned one",
                reference.id, info.stack_name, info.stack_id
            ));
            continue;
        }
        if info.name != reference.name {
            found.push(format!(
                "{stack}: change set {} is named {}, the plan says {}",
                reference.id, info.name, reference.name
            ));
        }
        let body = cfn.change_set_template(stack, &info.id).await?;
        let hash = body
            .as_deref()
            .and_then(|b| Canonical::parse(b).ok())
            .map(|c| plan::template_hash(&c.value));
        if hash.as_deref() != Some(planned.template_hash.as_str()) {
            found.push(format!(
                "{stack}: change set {} was not created from the reviewed template (sha256 {} reviewed, {} in the change set)",
                reference.name,
                short(&planned.template_hash),
                hash.as_deref().map_or("none", short)
            ));
            continue;
        }
        let old = match (&planned.deployed, read.deployed.remove(stack)) {
            (None, _) => Value::Null,
            (Some(_), Some(known)) => known,
            (Some(_), None) => cfn
                .template_body(stack)
                .await?
                .and_then(|b| Canonical::parse(&b).ok())
                .map_or(Value::Null, |c| c.value),
        };
        let new = &rendered.template.value;
        let changes = classify::classify(&info.changes, &old, new);
        let allowed = plan::allowances_of(info.description.as_deref());
        let data_loss = classify::data_loss(stack, &changes, &allowed);
        let iam = classify::iam(stack, &changes, &old, new);
        let reviewed_loss: Vec<_> = plan
            .data_loss
            .iter()
            .filter(|r| &r.stack == stack)
            .collect();
        let reviewed_iam: Vec<_> = plan.iam.iter().filter(|c| &c.stack == stack).collect();
        compare(
            &mut found,
            stack,
            "resource changes",
            &planned.changes,
            &changes,
        );
        compare(
            &mut found,
            stack,
            "data-loss decisions",
            &reviewed_loss,
            &data_loss,
        );
        compare(&mut found, stack, "IAM changes", &reviewed_iam, &iam);
    }
    Ok(found)
}

fn compare<A: Serialize, B: Serialize>(
    found: &mut Vec<String>,
    stack: &str,
    what: &str,
    reviewed: &A,
    actual: &B,
) {
    let reviewed = serde_json::to_value(reviewed).expect("plan parts serialise");
    let actual = serde_json::to_value(actual).expect("plan parts serialise");
    if reviewed != actual {
        found.push(format!(
            "{stack}: the {what} in the plan file differ from the change set's: {} in the file, {} in CloudFormation",
            compact(&reviewed),
            compact(&actual)
        ));
    }
}

fn compact(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 300 {
        format!("{}…", text.chars().take(300).collect::<String>())
    } else {
        text
    }
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}
