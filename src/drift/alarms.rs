//! CloudWatch alarms against their template, beyond what CloudFormation's
//! drift detection sees: an alarm deleted, one whose actions were disabled
//! (DisableAlarmActions changes no property CloudFormation reads), and one
//! whose alarm actions no longer notify the environment's topic. Without
//! them a deployment's auto-rollback and the on-call page stay silent.

use serde_json::Value;

use super::expected::{AlarmExpectation, Resolver};
use super::finding::{Check, DriftFinding, Remedy, Severity, Source, Subject};
use crate::cloud::AwsError;
use crate::cloud::alarms::{self, LiveAlarm};

/// One alarm to check: where it sits in the stack, and what it must be.
pub struct AlarmCheck {
    pub subject: Subject,
    pub expected: AlarmExpectation,
}

/// Reads every alarm of one stack in one call (by name) and compares.
pub async fn check_alarms(
    client: &aws_sdk_cloudwatch::Client,
    checks: &[AlarmCheck],
    resolver: &Resolver<'_>,
    env_name: &str,
) -> Result<Vec<DriftFinding>, AwsError> {
    let names: Vec<&str> = checks
        .iter()
        .map(|c| c.expected.alarm_name.as_str())
        .collect();
    let live = alarms::describe(client, &names).await?;
    Ok(checks
        .iter()
        .flat_map(|check| {
            let found = live.iter().find(|a| a.name == check.expected.alarm_name);
            compare(check, found, resolver, env_name)
        })
        .collect())
}

fn action_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The findings of one alarm against its live state (`None`: not found).
pub fn compare(
    check: &AlarmCheck,
    live: Option<&LiveAlarm>,
    resolver: &Resolver<'_>,
    env_name: &str,
) -> Vec<DriftFinding> {
    let subject = &check.subject;
    let name = &check.expected.alarm_name;
    let Some(live) = live else {
        return vec![
            subject
                .finding(Source::Cloudwatch, Check::Exists)
                .values("exists", "deleted")
                .severity(Severity::High)
                .hint(
                    Remedy::Recreate,
                    format!(
                        "the alarm was deleted outside CloudFormation, which still records it, so apply alone does \
                         not recreate it; nothing watches the metric and no deployment rolls back on it: recreate \
                         {name} as `mlinfra render --env {env_name} --stack serving` shows it \
                         (aws cloudwatch put-metric-alarm), or turn the alarm off in environments/{env_name}.toml, \
                         apply, and turn it on again"
                    ),
                ),
        ];
    };
    let mut findings = Vec::new();
    if !live.actions_enabled {
        findings.push(
            subject
                .finding(Source::Cloudwatch, Check::AlarmActionsEnabled)
                .values("actions enabled", "actions disabled")
                .severity(Severity::High)
                .hint(
                    Remedy::Revert,
                    format!(
                        "the alarm changes state but notifies nobody and rolls no deployment back; CloudFormation's \
                         drift detection does not see this and apply does not undo it: \
                         aws cloudwatch enable-alarm-actions --alarm-names {name}"
                    ),
                ),
        );
    }
    let want: Vec<String> = check
        .expected
        .alarm_actions
        .iter()
        .map(|a| action_text(&resolver.resolve(a)))
        .collect();
    let missing: Vec<&String> = want
        .iter()
        .filter(|w| !live.alarm_actions.contains(w))
        .collect();
    if !missing.is_empty() {
        let actual = if live.alarm_actions.is_empty() {
            "no alarm actions".to_string()
        } else {
            live.alarm_actions.join(", ")
        };
        findings.push(
            subject
                .finding(Source::Cloudwatch, Check::AlarmActions)
                .values(want.join(", "), actual)
                .severity(Severity::High)
                .hint(
                    Remedy::Revert,
                    format!(
                        "the alarm no longer notifies the environment's topic, so its subscribers are not paged; \
                         point it back (aws cloudwatch put-metric-alarm with the template's AlarmActions), or \
                         change the template through environments/{env_name}.toml and apply"
                    ),
                ),
        );
    }
    findings
}
