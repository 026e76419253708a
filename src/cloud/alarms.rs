//! CloudWatch alarms by name: their state, whether their actions are
//! enabled and where they notify.

use serde::Serialize;

use super::AwsError;

/// DescribeAlarms takes at most 100 names per call.
const NAMES_PER_CALL: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveAlarm {
    pub name: String,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub state: String,
    pub reason: Option<String>,
    /// `false` after DisableAlarmActions: the alarm still changes state but
    /// notifies nobody and rolls nothing back.
    pub actions_enabled: bool,
    pub alarm_actions: Vec<String>,
}

/// The metric alarms of these names that exist, in the order asked.
pub async fn describe(
    client: &aws_sdk_cloudwatch::Client,
    names: &[&str],
) -> Result<Vec<LiveAlarm>, AwsError> {
    let mut found = Vec::new();
    for chunk in names.chunks(NAMES_PER_CALL) {
        let pages = client
            .describe_alarms()
            .set_alarm_names(Some(chunk.iter().map(|n| n.to_string()).collect()))
            .max_records(100)
            .into_paginator()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| AwsError::from_sdk("DescribeAlarms", e))?;
        let alarms = pages.iter().flat_map(|page| page.metric_alarms());
        found.extend(alarms.map(|a| {
            LiveAlarm {
                name: a.alarm_name().unwrap_or_default().to_string(),
                state: a
                    .state_value()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                reason: a.state_reason().map(str::to_string),
                actions_enabled: a.actions_enabled().unwrap_or(true),
                alarm_actions: a.alarm_actions().to_vec(),
            }
        }));
    }
    found.sort_by_key(|a| names.iter().position(|n| *n == a.name));
    Ok(found)
}
