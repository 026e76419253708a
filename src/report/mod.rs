//! Renderings of a plan: a terminal table, JSON (the `plan.json` document),
//! and Markdown for pull-request comments. Pure text functions.

pub mod comment;
pub mod drift;
pub mod text;

use std::fmt::Write;

use crate::exit::Exit;
use crate::output::{Printer, Report};

use crate::plan::template_diff::Statement;
use crate::plan::{
    Basis, ChangeAction, DataLossRisk, Plan, Replacement, ResourceChange, Risk, Setting,
    StackAction, StackPlan,
};

impl Report for Plan {
    fn kind(&self) -> &'static str {
        "plan"
    }

    fn exit(&self) -> Exit {
        Plan::exit(self)
    }

    fn human(&self, _: &Printer) -> String {
        human(self)
    }

    fn json(&self) -> String {
        crate::plan::document::to_json(self)
    }

    fn markdown(&self) -> Option<String> {
        Some(markdown(self))
    }
}

fn stack_heading(stack: &StackPlan) -> String {
    match (stack.action, &stack.change_set) {
        (StackAction::NoChange, _) if stack.settings.is_empty() => "no changes".into(),
        (StackAction::NoChange, _) => "template unchanged".into(),
        (StackAction::Recreate, _) => {
            "delete the rolled-back stack and create it again (needs --recreate-rolled-back)".into()
        }
        (action, Some(cs)) => format!("{} (change set {})", verb(action), cs.name),
        (action, None) => format!(
            "{} (change set made at apply time, once {} exist{})",
            verb(action),
            stack.waits_for.join(", "),
            if stack.waits_for.len() == 1 { "s" } else { "" }
        ),
    }
}

fn verb(action: StackAction) -> &'static str {
    match action {
        StackAction::NoChange => "no changes",
        StackAction::Create => "create",
        StackAction::Update => "update",
        StackAction::Recreate => "recreate",
    }
}

/// What a modification does, in words: replacement and why, changed properties.
pub fn change_detail(change: &ResourceChange) -> String {
    let mut parts = Vec::new();
    match change.replacement {
        Some(Replacement::True) => parts.push("replace".to_string()),
        Some(Replacement::Conditional) => parts.push("may replace".to_string()),
        _ => {}
    }
    if change.replaces() {
        let basis = match change.replacement_basis {
            Some(Basis::TemplateDiff) => "judged from the templates",
            _ => "per CloudFormation",
        };
        if !change.follows.is_empty() {
            parts.push(format!(
                "({} refers to replaced {}; {basis})",
                change.replaced_by.join(", "),
                change.follows.join(", ")
            ));
        } else if change.replaced_by.is_empty() {
            parts.push(format!("({basis})"));
        } else {
            parts.push(format!(
                "({} create-only; {basis})",
                change.replaced_by.join(", ")
            ));
        }
    }
    // Properties not already named as the reason for a replacement.
    let others: Vec<&str> = change
        .properties
        .iter()
        .filter(|p| !change.replaced_by.contains(p))
        .map(String::as_str)
        .collect();
    if !change.replaces() && !change.follows.is_empty() {
        parts.push(format!(
            "updated: {} refers to replaced {}",
            others.join(", "),
            change.follows.join(", ")
        ));
    } else if !others.is_empty()
        && matches!(change.action, ChangeAction::Modify | ChangeAction::Dynamic)
    {
        parts.push(format!("changes {}", others.join(", ")));
    }
    parts.join(" ")
}

fn statement_line(statement: &Statement) -> String {
    statement.to_string()
}

fn risk_text(risk: &DataLossRisk) -> String {
    risk_sentence(risk, |text| text.to_string())
}

/// What a data-loss risk means, with its stack, id and type written by `name`
/// (plain for terminals, code spans for markdown).
fn risk_sentence(risk: &DataLossRisk, name: impl Fn(&str) -> String) -> String {
    let what = match risk.risk {
        Risk::Replace => "would be replaced",
        Risk::ConditionalReplace => "may be replaced",
        Risk::Remove => "would be removed from the stack",
    };
    format!(
        "{} {} ({}) {what}: a new, empty one takes its place in the stack and the old one (kept by its Retain \
         policy) leaves it",
        name(&risk.stack),
        name(&risk.logical_id),
        name(&risk.resource_type)
    )
}

fn settings_text(setting: Setting) -> &'static str {
    match setting {
        Setting::Protection => {
            "set a stack policy denying replacement and deletion of buckets and keys, and enable termination protection"
        }
        Setting::RestorePolicy => {
            "put the stack policy back: it is not the one denying replacement and deletion of buckets and keys"
        }
        Setting::RemoveProtection => {
            "remove protection (configuration says off): a stack policy allowing every update, termination \
             protection disabled; needs --remove-protection"
        }
    }
}

pub fn human(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Plan for {}: account {}, region {}\n",
        plan.env, plan.account_id, plan.region
    );
    for stack in &plan.stacks {
        let _ = writeln!(out, "{}: {}", stack.stack, stack_heading(stack));
        let width = stack
            .changes
            .iter()
            .map(|c| c.logical_id.len())
            .max()
            .unwrap_or(0);
        let type_width = stack
            .changes
            .iter()
            .map(|c| c.resource_type.len())
            .max()
            .unwrap_or(0);
        for change in &stack.changes {
            let line = format!(
                "{:>5} {:width$}  {:type_width$}  {}",
                change.symbol(),
                change.logical_id,
                change.resource_type,
                change_detail(change)
            );
            let _ = writeln!(out, "{}", line.trim_end());
            for value in &change.values {
                let _ = writeln!(
                    out,
                    "        {}: {}",
                    value.path,
                    text::before_after(value.before.as_ref(), value.after.as_ref())
                );
            }
        }
        for setting in &stack.settings {
            let _ = writeln!(out, "{:>5} {}", "*", settings_text(*setting));
        }
    }
    if !plan.code.is_empty() {
        let _ = writeln!(out, "\nTraining code:");
        for change in &plan.code {
            let _ = writeln!(out, "  ~ {}", change.line());
        }
    }
    if let Some(fleet) = &plan.fleet {
        let _ = writeln!(out, "\nFleet ([env.targets]):");
        out.push_str(&fleet.human_text());
    }
    let iam: Vec<&crate::plan::IamChange> = plan.all_iam().collect();
    if !iam.is_empty() {
        let _ = writeln!(out, "\nIAM changes:");
        for change in iam {
            let _ = writeln!(
                out,
                "  {} {} ({}, {:?})",
                change.stack, change.logical_id, change.resource_type, change.action
            );
            for statement in &change.added {
                let _ = writeln!(out, "    + {}", statement_line(statement));
            }
            for statement in &change.removed {
                let _ = writeln!(out, "    - {}", statement_line(statement));
            }
        }
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(out, "\nWarnings:");
        for warning in &plan.warnings {
            let _ = writeln!(
                out,
                "  ! {} {}: {}",
                warning.stack, warning.logical_id, warning.message
            );
            let _ = writeln!(out, "    what to do: {}", warning.advice);
        }
    }
    let risks: Vec<&DataLossRisk> = plan.all_data_loss().collect();
    if !risks.is_empty() {
        let blocked = plan.is_blocked();
        let _ = writeln!(
            out,
            "\n{}",
            if blocked {
                "Blocked: data-loss risk"
            } else {
                "Data-loss risk, allowed explicitly"
            }
        );
        for risk in risks {
            if risk.allowed {
                let _ = writeln!(out, "  allowed: {}", risk_text(risk));
            } else {
                let _ = writeln!(out, "  x {}", risk_text(risk));
                let _ = writeln!(
                    out,
                    "    to accept it: --allow-data-loss {}",
                    risk.logical_id
                );
            }
        }
    }
    if let Some(cost) = &plan.cost {
        out.push('\n');
        out.push_str(&crate::cost::render_human(
            &cost.after,
            cost.before.as_ref(),
        ));
    }
    let _ = writeln!(out, "\n{}", plan.summary.line());
    if plan.fleet_changes() {
        let _ = writeln!(out, "The fleet's StackSets change (see above).");
    }
    if !plan.has_changes() && !plan.fleet_changes() {
        let _ = writeln!(
            out,
            "No changes: the deployed stacks match the configuration."
        );
    }
    out
}

fn markdown_risk(risk: &DataLossRisk) -> String {
    risk_sentence(risk, text::code)
}

/// A plan with nothing to do, on one line.
fn markdown_no_op(plan: &Plan) -> String {
    format!(
        "**mlinfra plan {}**: no changes (account {}, {}).\n",
        text::code(&plan.env),
        text::code(&plan.account_id),
        text::code(&plan.region)
    )
}

pub fn markdown(plan: &Plan) -> String {
    if !plan.has_changes()
        && !plan.fleet_changes()
        && plan.all_data_loss().next().is_none()
        && plan.warnings.is_empty()
    {
        return markdown_no_op(plan);
    }
    // Read in ten seconds: the summary, then what needs a decision (blocked
    // changes, replacements, IAM), then the per-stack details folded away.
    // Everything is in plan order, so a re-run edits the comment in place.
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### mlinfra plan: {} (account {}, {})\n",
        text::code(&plan.env),
        text::code(&plan.account_id),
        text::code(&plan.region)
    );
    let _ = writeln!(out, "**{}**\n", text::escape(&plan.summary.line()));
    if plan.is_blocked() {
        let _ = writeln!(
            out,
            "> [!CAUTION]\n> Blocked: this plan replaces or removes buckets or keys. Nothing will be applied unless each is allowed with `--allow-data-loss`.\n"
        );
    }
    if plan.all_data_loss().next().is_some() {
        let _ = writeln!(out, "#### Data-loss risk\n");
        for risk in plan.all_data_loss() {
            let status = if risk.allowed {
                "allowed"
            } else {
                "**blocked**"
            };
            let _ = writeln!(out, "- {status}: {}", markdown_risk(risk));
        }
        out.push('\n');
    }
    let replacements: Vec<(&str, &ResourceChange)> = plan
        .stacks
        .iter()
        .flat_map(|s| s.changes.iter().map(move |c| (s.stack.as_str(), c)))
        .filter(|(_, c)| c.replaces())
        .collect();
    if !replacements.is_empty() {
        let _ = writeln!(out, "#### Replacements\n");
        for (stack, change) in replacements {
            let _ = writeln!(
                out,
                "- {} {} ({}): {}",
                text::code(stack),
                text::code(&change.logical_id),
                text::code(&change.resource_type),
                text::escape(&change_detail(change))
            );
        }
        out.push('\n');
    }
    if !plan.code.is_empty() {
        let _ = writeln!(out, "#### Training code\n");
        for change in &plan.code {
            let _ = writeln!(
                out,
                "- training code {} ({}): {} → {}",
                text::code(&change.job),
                text::code(&change.stack),
                text::code(
                    change
                        .from
                        .as_deref()
                        .map_or("none", crate::plan::code::short)
                ),
                text::code(crate::plan::code::short(&change.to))
            );
        }
        out.push('\n');
    }
    if plan.all_iam().next().is_some() {
        let _ = writeln!(out, "#### IAM changes\n");
        for change in plan.all_iam() {
            let _ = writeln!(
                out,
                "- {} {} ({:?})",
                text::code(&change.stack),
                text::code(&change.logical_id),
                change.action
            );
            for statement in &change.added {
                let _ = writeln!(out, "  - ➕ {}", text::statement(statement));
            }
            for statement in &change.removed {
                let _ = writeln!(out, "  - ➖ {}", text::statement(statement));
            }
        }
        out.push('\n');
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(out, "#### Warnings\n");
        for warning in &plan.warnings {
            let _ = writeln!(
                out,
                "> [!WARNING]\n> {} {}: {}\n>\n> What to do: {}\n",
                text::code(&warning.stack),
                text::code(&warning.logical_id),
                text::escape(&warning.message),
                text::escape(&warning.advice)
            );
        }
    }
    for stack in &plan.stacks {
        let _ = writeln!(
            out,
            "<details><summary><code>{}</code>: {}</summary>\n",
            text::html(&stack.stack),
            text::html(&stack_heading(stack))
        );
        if !stack.changes.is_empty() {
            let _ = writeln!(out, "| | Resource | Type | Details |\n|---|---|---|---|");
            for change in &stack.changes {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    text::code(change.symbol()),
                    text::code(&change.logical_id),
                    text::code(&change.resource_type),
                    text::escape(&change_detail(change))
                );
            }
            out.push('\n');
        }
        let changed: Vec<&ResourceChange> = stack
            .changes
            .iter()
            .filter(|c| !c.values.is_empty())
            .collect();
        if !changed.is_empty() {
            let _ = writeln!(
                out,
                "| Resource | Property | Before | After |\n|---|---|---|---|"
            );
            for change in changed {
                for value in &change.values {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {} | {} |",
                        text::code(&change.logical_id),
                        text::code(&value.path),
                        text::code(&text::brief(value.before.as_ref())),
                        text::code(&text::brief(value.after.as_ref()))
                    );
                }
            }
            out.push('\n');
        }
        for setting in &stack.settings {
            let _ = writeln!(out, "- {}\n", settings_text(*setting));
        }
        let _ = writeln!(out, "</details>\n");
    }
    if let Some(fleet) = &plan.fleet {
        let _ = writeln!(
            out,
            "#### Fleet: StackSets over `[env.targets]`\n\n{}",
            fleet.markdown_text()
        );
    }
    if let Some(cost) = &plan.cost {
        let text = crate::cost::render_human(&cost.after, cost.before.as_ref());
        let fence = if text.contains("```") { "````" } else { "```" };
        let _ = writeln!(
            out,
            "<details><summary>Cost</summary>\n\n{fence}\n{}{fence}\n\n</details>",
            text
        );
    }
    out
}

/// The plans of several environments, one after another: `plan --all`.
#[derive(Debug)]
pub struct Plans(pub Vec<Plan>);

#[derive(serde::Serialize)]
struct PlansDocument<'a> {
    format_version: u32,
    plans: &'a [Plan],
}

impl Report for Plans {
    fn kind(&self) -> &'static str {
        "plan"
    }

    /// The most serious of the environments' exits.
    fn exit(&self) -> Exit {
        let exits: Vec<Exit> = self.0.iter().map(Plan::exit).collect();
        [Exit::Blocked, Exit::Changes]
            .into_iter()
            .find(|e| exits.contains(e))
            .unwrap_or(Exit::Clean)
    }

    fn human(&self, _: &Printer) -> String {
        self.0.iter().map(human).collect::<Vec<_>>().join("\n")
    }

    fn json(&self) -> String {
        crate::output::json_text(&PlansDocument {
            format_version: crate::plan::FORMAT_VERSION,
            plans: &self.0,
        })
    }

    fn markdown(&self) -> Option<String> {
        let changed = self
            .0
            .iter()
            .filter(|p| p.has_changes() || p.fleet_changes())
            .count();
        let mut out = format!(
            "### mlinfra plan: {changed} of {} environment(s) change\n\n",
            self.0.len()
        );
        for plan in &self.0 {
            out.push_str(&markdown(plan));
            out.push('\n');
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{ChangeSetRef, Summary};
    use crate::stacks::Layer;

    fn sample() -> Plan {
        let changes = vec![
            ResourceChange {
                logical_id: "RawBucket".into(),
                resource_type: "AWS::S3::Bucket".into(),
                action: ChangeAction::Modify,
                replacement: Some(Replacement::True),
                replacement_basis: Some(Basis::TemplateDiff),
                properties: vec!["BucketName".into()],
                replaced_by: vec!["BucketName".into()],
                physical_id: None,
                follows: vec![],
                values: vec![crate::plan::PropertyChange {
                    path: "BucketName".into(),
                    before: Some(serde_json::json!("p-dev-raw")),
                    after: Some(serde_json::json!("p-dev-raw-2")),
                }],
            },
            ResourceChange {
                logical_id: "FeaturesBucket".into(),
                resource_type: "AWS::S3::Bucket".into(),
                action: ChangeAction::Add,
                replacement: None,
                replacement_basis: None,
                properties: vec![],
                replaced_by: vec![],
                physical_id: None,
                follows: vec![],
                values: Vec::new(),
            },
        ];
        let stacks = vec![StackPlan {
            stack: "p-dev-data".into(),
            layer: Layer::Data,
            action: StackAction::Update,
            change_set: Some(ChangeSetRef {
                id: "arn:cs".into(),
                name: "mlinfra-x".into(),
                stack_id: "arn:st".into(),
                create: false,
            }),
            waits_for: vec![],
            template_hash: "h".into(),
            deployed: None,
            changes,
            settings: vec![],
        }];
        let data_loss = crate::plan::classify::data_loss("p-dev-data", &stacks[0].changes, &[]);
        Plan {
            cost: None,
            code: vec![],
            fleet: None,
            format_version: 1,
            env: "dev".into(),
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
            summary: Summary::of(&stacks),
            stacks,
            iam: vec![],
            warnings: vec![],
            data_loss,
        }
    }

    #[test]
    fn human_report_shows_replacement_guard_and_summary() {
        let text = human(&sample());
        assert!(text.contains("-/+ RawBucket"), "{text}");
        assert!(
            text.contains("replace (BucketName create-only; judged from the templates)"),
            "{text}"
        );
        assert!(text.contains("Blocked: data-loss risk"), "{text}");
        assert!(text.contains("--allow-data-loss RawBucket"), "{text}");
        assert!(
            text.ends_with("Plan: 1 to add, 1 to change (1 replacement), 0 to remove.\n"),
            "{text}"
        );
    }

    #[test]
    fn markdown_escapes_and_warns() {
        let text = markdown(&sample());
        assert!(
            text.contains("**Plan: 1 to add, 1 to change (1 replacement), 0 to remove.**"),
            "{text}"
        );
        assert!(text.contains("[!CAUTION]"), "{text}");
        assert!(
            text.contains("| `-/+` | `RawBucket` | `AWS::S3::Bucket` |"),
            "{text}"
        );
    }

    #[test]
    fn every_plan_format_matches_its_snapshot() {
        let plan = sample();
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        settings.bind(|| {
            insta::assert_snapshot!("plan__human", human(&plan));
            insta::assert_snapshot!("plan__markdown", markdown(&plan));
            insta::assert_snapshot!("plan__json", crate::plan::document::to_json(&plan));
        });
        // Decisions come before details: blocked, then replacements, then the stacks.
        let text = markdown(&plan);
        let at = |needle: &str| {
            text.find(needle)
                .unwrap_or_else(|| panic!("{needle}: {text}"))
        };
        assert!(at("[!CAUTION]") < at("#### Replacements"));
        assert!(at("#### Replacements") < at("<details><summary><code>p-dev-data</code>"));
    }
}
