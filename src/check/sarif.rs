//! The check report as SARIF 2.1.0, the format code-scanning services
//! (GitHub, GitLab, Azure DevOps) turn into annotations: the rule catalogue
//! as `tool.driver.rules`, each finding a result with its rule, level,
//! message, and a location naming the template file and the logical id.

use serde_json::{Value, json};

use super::accept::Reviewed;
use super::rule::{RuleId, Severity};
use super::verdict::Report;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// SARIF has three levels; `critical` and `high` both fail a scan.
fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// The score code-scanning services sort security results by (0–10).
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "2.0",
    }
}

fn rule(rule: RuleId) -> Value {
    json!({
        "id": rule.code(),
        "name": rule.code(),
        "shortDescription": { "text": rule.title() },
        "fullDescription": { "text": format!("{} (docs/check.md)", rule.title()) },
        "help": { "text": rule.fix() },
        "defaultConfiguration": { "level": level(rule.severity()) },
        "properties": {
            "security-severity": security_severity(rule.severity()),
            "tags": ["security"],
        },
    })
}

fn result(report: &Report, reviewed: &Reviewed) -> Value {
    let f = &reviewed.finding;
    let rule_index = RuleId::ALL.iter().position(|r| *r == f.rule);
    let (uri, line) = report.location(reviewed);
    let mut physical = json!({ "artifactLocation": { "uri": uri } });
    if let Some(line) = line {
        physical["region"] = json!({ "startLine": line });
    }
    let qualified = match (&f.stack, &f.logical_id) {
        (Some(stack), Some(id)) => format!("{stack}/{id}"),
        (Some(stack), None) => stack.clone(),
        (None, _) => f.env.clone(),
    };
    let mut result = json!({
        "ruleId": f.rule.code(),
        "ruleIndex": rule_index,
        "level": level(f.severity),
        "message": { "text": format!("{} Fix: {}", f.message, f.fix) },
        "locations": [{
            "physicalLocation": physical,
            "logicalLocations": [{
                "name": f.logical_id.clone().unwrap_or_else(|| qualified.clone()),
                "fullyQualifiedName": qualified,
                "kind": if f.logical_id.is_some() { "resource" } else { "module" },
            }],
        }],
        "properties": { "environment": f.env, "severity": f.severity, "fails": report.fails(reviewed) },
    });
    if let Some(accepted) = &reviewed.accepted {
        result["suppressions"] = json!([{
            "kind": "external",
            "justification": format!("{}: {}", accepted.key, accepted.reason),
        }]);
    }
    result
}

pub fn render(report: &Report) -> String {
    let document = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "mlinfra",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": RuleId::ALL.iter().map(|r| rule(*r)).collect::<Vec<_>>(),
            }},
            "results": report.findings.iter().map(|r| result(report, r)).collect::<Vec<_>>(),
        }],
    });
    let mut text = serde_json::to_string_pretty(&document).expect("JSON values serialise");
    text.push('\n');
    text
}
