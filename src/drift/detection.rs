//! CloudFormation's own drift detection for one stack: DetectStackDrift, poll
//! its status, read every resource drift. MODIFIED and DELETED resources become
//! findings; NOT_CHECKED ones are listed, since silence is not "in sync".

use aws_sdk_cloudformation::types::{
    DifferenceType, StackDriftDetectionStatus, StackResourceDrift, StackResourceDriftStatus,
};

use super::finding::{
    Check, Detection, DriftFinding, NotChecked, Remedy, Severity, Source, StackDetection, Subject,
};
use crate::cloud::AwsError;
use crate::cloud::cfn::{Cfn, DriftStart};
use crate::cloud::poll::{self, Poll, Waited};

/// Runs drift detection on one deployed stack. Never fails: what went wrong
/// is part of the result, and the deep checks go on regardless.
pub async fn detect(
    cfn: &Cfn,
    stack: &str,
    env_name: &str,
    poll: &Poll,
) -> (StackDetection, Vec<DriftFinding>) {
    let result = |detection, not_checked| StackDetection {
        stack: stack.to_string(),
        detection,
        not_checked,
    };
    let detection_id = match cfn.start_drift_detection(stack).await {
        Ok(id) => id,
        Err(DriftStart::Unsupported(reason)) => {
            return (
                result(Detection::Unsupported { reason }, Vec::new()),
                Vec::new(),
            );
        }
        Err(DriftStart::Failed(error)) => {
            let detection = Detection::Error {
                message: error.to_string(),
            };
            return (result(detection, Vec::new()), Vec::new());
        }
    };

    let detection = match wait(cfn, &detection_id, poll).await {
        Ok(detection) => detection,
        Err(error) => {
            let detection = Detection::Error {
                message: error.to_string(),
            };
            return (result(detection, Vec::new()), Vec::new());
        }
    };
    if matches!(detection, Detection::TimedOut { .. }) {
        return (result(detection, Vec::new()), Vec::new());
    }

    // Read even after DETECTION_FAILED: CloudFormation keeps the results of
    // the resources it could check.
    match cfn.resource_drifts(stack).await {
        Ok(drifts) => {
            let (not_checked, findings) = interpret(stack, env_name, &drifts);
            (result(detection, not_checked), findings)
        }
        Err(error) => (
            result(
                Detection::Error {
                    message: error.to_string(),
                },
                Vec::new(),
            ),
            Vec::new(),
        ),
    }
}

async fn wait(cfn: &Cfn, detection_id: &str, poll: &Poll) -> Result<Detection, AwsError> {
    let waited = poll::until(poll, || async {
        let (status, reason) = cfn.drift_detection_status(detection_id).await?;
        Ok(match status {
            Some(StackDriftDetectionStatus::DetectionComplete) => Some(Detection::Complete),
            Some(StackDriftDetectionStatus::DetectionFailed) => Some(Detection::Failed {
                reason: reason.unwrap_or_else(|| "no reason given".to_string()),
            }),
            _ => None,
        })
    })
    .await?;
    Ok(match waited {
        Waited::Ready(detection) => detection,
        Waited::TimedOut(_) => Detection::TimedOut {
            after: poll.timeout,
        },
    })
}

/// Properties whose drift weakens security or data protection.
fn property_severity(path: &str) -> Severity {
    const HIGH: [&str; 6] = [
        "/AssumeRolePolicyDocument",
        "/ManagedPolicyArns",
        "/Policies",
        "/PublicAccessBlockConfiguration",
        "/VersioningConfiguration",
        "/BucketEncryption",
    ];
    if HIGH.iter().any(|p| path.starts_with(p)) {
        Severity::High
    } else {
        Severity::Medium
    }
}

fn interpret(
    stack: &str,
    env_name: &str,
    drifts: &[StackResourceDrift],
) -> (Vec<NotChecked>, Vec<DriftFinding>) {
    let mut not_checked = Vec::new();
    let mut findings = Vec::new();
    for drift in drifts {
        let subject = Subject {
            stack: stack.to_string(),
            logical_id: drift.logical_resource_id().unwrap_or_default().to_string(),
            physical_id: drift.physical_resource_id().map(str::to_string),
            resource_type: drift.resource_type().unwrap_or_default().to_string(),
        };
        match drift.stack_resource_drift_status() {
            Some(StackResourceDriftStatus::Deleted) => findings.push(
                subject
                    .finding(Source::Cloudformation, Check::Exists)
                    .values("exists", "deleted outside CloudFormation")
                    .severity(Severity::High)
                    .hint(Remedy::Recreate, RECREATE_HINT),
            ),
            Some(StackResourceDriftStatus::Modified) => {
                let differences = drift.property_differences();
                if differences.is_empty() {
                    findings.push(
                        subject
                            .finding(Source::Cloudformation, Check::Property { path: "/".into() })
                            .values(
                                drift.expected_properties().unwrap_or("(not given)"),
                                drift.actual_properties().unwrap_or("(not given)"),
                            )
                            .hint(Remedy::RevertOrUpdateConfig, update_hint(env_name)),
                    );
                }
                for difference in differences {
                    let path = difference.property_path().unwrap_or("/").to_string();
                    let (expected, actual) = match difference.difference_type() {
                        Some(DifferenceType::Add) => (
                            "(absent)".to_string(),
                            difference.actual_value().unwrap_or_default().to_string(),
                        ),
                        Some(DifferenceType::Remove) => (
                            difference.expected_value().unwrap_or_default().to_string(),
                            "(removed)".to_string(),
                        ),
                        _ => (
                            difference.expected_value().unwrap_or_default().to_string(),
                            difference.actual_value().unwrap_or_default().to_string(),
                        ),
                    };
                    findings.push(
                        subject
                            .finding(
                                Source::Cloudformation,
                                Check::Property { path: path.clone() },
                            )
                            .values(expected, actual)
                            .severity(property_severity(&path))
                            .hint(Remedy::RevertOrUpdateConfig, update_hint(env_name)),
                    );
                }
            }
            Some(StackResourceDriftStatus::InSync) => {}
            // NOT_CHECKED, UNKNOWN and anything newer: not known to be in sync.
            _ => not_checked.push(NotChecked {
                logical_id: subject.logical_id,
                resource_type: subject.resource_type,
                reason: drift.drift_status_reason().map(str::to_string),
            }),
        }
    }
    (not_checked, findings)
}

pub const RECREATE_HINT: &str = "apply alone does not recreate it, because CloudFormation still records it: \
     recreate it with the same identity, or remove it from the configuration, apply, and add it back";

pub fn update_hint(env_name: &str) -> String {
    format!(
        "revert it in the account (CloudFormation rewrites only properties whose template value changed, \
         so apply alone does not), or, if the change is wanted, put it into environments/{env_name}.toml and apply"
    )
}
