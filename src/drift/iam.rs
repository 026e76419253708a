//! IAM roles of a stack against their template: trust policy, attached managed
//! policies and inline policies. An out-of-band grant is the drift that
//! matters most, and CloudFormation never removes what it did not attach.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_iam::Client;
use serde_json::Value;

use super::detection::RECREATE_HINT;
use super::expected::{Resolver, RoleExpectation};
use super::finding::{Check, DriftFinding, Remedy, Severity, Source, Subject};
use super::policy;
use crate::cloud::{self, AwsError};

/// A live document: parsed, or the raw text when it is not JSON.
fn document_text(document: &Result<Value, String>) -> String {
    match document {
        Ok(value) => value.to_string(),
        Err(raw) => raw.clone(),
    }
}

pub async fn check_role(
    iam: &Client,
    subject: &Subject,
    expected: &RoleExpectation,
    resolver: &Resolver<'_>,
) -> Result<Vec<DriftFinding>, AwsError> {
    let role_name = subject.physical_id.as_deref().unwrap_or_default();
    let (role, attached, inline) = tokio::join!(
        cloud::iam::role(iam, role_name),
        cloud::iam::attached_policy_arns(iam, role_name),
        cloud::iam::inline_policies(iam, role_name),
    );
    let Some(role) = role? else {
        return Ok(vec![
            subject
                .finding(Source::Iam, Check::Exists)
                .values("exists", "deleted")
                .severity(Severity::High)
                .hint(Remedy::Recreate, RECREATE_HINT),
        ]);
    };
    let attached: BTreeSet<String> = attached?.into_iter().collect();
    let documents: BTreeMap<String, Result<Value, String>> = inline?
        .into_iter()
        .map(|(name, document)| (name, policy::decode(&document)))
        .collect();

    let mut findings = Vec::new();
    if let Some(trust) = &expected.trust_policy {
        let want = resolver.resolve(trust);
        let have = policy::decode(role.assume_role_policy_document().unwrap_or_default());
        findings.extend(trust_finding(subject, role_name, &want, &have));
    }
    findings.extend(managed_findings(
        subject, role_name, expected, resolver, &attached,
    ));
    findings.extend(inline_findings(
        subject, role_name, expected, resolver, &documents,
    ));
    Ok(findings)
}

fn trust_finding(
    subject: &Subject,
    role_name: &str,
    want: &Value,
    have: &Result<Value, String>,
) -> Option<DriftFinding> {
    let (expected, actual) = match have {
        Ok(have) if policy::equivalent(want, have) => return None,
        Ok(have) => policy::difference(want, have),
        Err(_) => (want.to_string(), document_text(have)),
    };
    // Who may assume the role changed: as serious as a new permission.
    Some(
        subject
            .finding(Source::Iam, Check::TrustPolicy)
            .values(expected, actual)
            .severity(Severity::High)
            .hint(
                Remedy::Revert,
                format!(
                    "restore the template's trust policy (aws iam update-assume-role-policy --role-name {role_name}); \
                     apply alone does not rewrite an unchanged template value"
                ),
            ),
    )
}

fn managed_findings(
    subject: &Subject,
    role_name: &str,
    expected: &RoleExpectation,
    resolver: &Resolver<'_>,
    attached: &BTreeSet<String>,
) -> Vec<DriftFinding> {
    let want: BTreeSet<String> = expected
        .managed_policies
        .iter()
        .map(|arn| match resolver.resolve(arn) {
            Value::String(arn) => arn,
            other => other.to_string(),
        })
        .collect();
    let expected_text = if want.is_empty() {
        "none attached".to_string()
    } else {
        want.iter().cloned().collect::<Vec<_>>().join(", ")
    };
    let mut findings = Vec::new();
    for arn in attached.difference(&want) {
        let severity = if policy::is_broad_managed_policy(arn) {
            Severity::High
        } else {
            Severity::Medium
        };
        findings.push(
            subject
                .finding(Source::Iam, Check::ManagedPolicies)
                .values(&expected_text, format!("{arn} attached"))
                .severity(severity)
                .hint(
                    Remedy::Revert,
                    format!(
                        "detach it (aws iam detach-role-policy --role-name {role_name} --policy-arn {arn}); \
                         apply does not, because CloudFormation leaves alone what it did not attach"
                    ),
                ),
        );
    }
    for arn in want.difference(attached) {
        findings.push(
            subject
                .finding(Source::Iam, Check::ManagedPolicies)
                .values(format!("{arn} attached"), "not attached")
                .hint(
                    Remedy::Revert,
                    format!(
                        "attach it again (aws iam attach-role-policy --role-name {role_name} --policy-arn {arn})"
                    ),
                ),
        );
    }
    findings
}

fn inline_findings(
    subject: &Subject,
    role_name: &str,
    expected: &RoleExpectation,
    resolver: &Resolver<'_>,
    documents: &BTreeMap<String, Result<Value, String>>,
) -> Vec<DriftFinding> {
    let mut findings = Vec::new();
    for (name, have) in documents {
        let check = Check::InlinePolicy { name: name.clone() };
        let Some(template) = expected.inline_policies.get(name) else {
            let broad = have.as_ref().is_ok_and(policy::grants_wildcard);
            findings.push(
                subject
                    .finding(Source::Iam, check)
                    .values("(no such policy)", document_text(have))
                    .severity(if broad { Severity::High } else { Severity::Medium })
                    .hint(
                        Remedy::Revert,
                        format!(
                            "delete it (aws iam delete-role-policy --role-name {role_name} --policy-name {name}); \
                             permissions belong in the configuration"
                        ),
                    ),
            );
            continue;
        };
        let want = resolver.resolve(template);
        let (expected_text, actual_text, broadened) = match have {
            Ok(have) if policy::equivalent(&want, have) => continue,
            Ok(have) => {
                let (e, a) = policy::difference(&want, have);
                (
                    e,
                    a,
                    policy::grants_wildcard(have) && !policy::grants_wildcard(&want),
                )
            }
            Err(raw) => (want.to_string(), raw.clone(), false),
        };
        findings.push(
            subject
                .finding(Source::Iam, check)
                .values(expected_text, actual_text)
                .severity(if broadened {
                    Severity::High
                } else {
                    Severity::Medium
                })
                .hint(
                    Remedy::Revert,
                    format!(
                        "put the template's document back (aws iam put-role-policy --role-name {role_name} --policy-name {name}); \
                         apply alone does not rewrite an unchanged template value"
                    ),
                ),
        );
    }
    for name in expected.inline_policies.keys() {
        if !documents.contains_key(name) {
            findings.push(
                subject
                    .finding(Source::Iam, Check::InlinePolicy { name: name.clone() })
                    .values("present", "deleted")
                    .hint(
                        Remedy::Revert,
                        format!(
                            "put it back (aws iam put-role-policy --role-name {role_name} --policy-name {name} with the template's document)"
                        ),
                    ),
            );
        }
    }
    findings
}
