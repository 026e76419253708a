//! Nothing is lost and nothing leaks: buckets and keys are retained, encrypted,
//! versioned, private, TLS-only and logged; keys rotate.

use serde_json::Value;

use super::StackCheck;
use super::rule::RuleId;
use crate::template::Resource;
use crate::template::iam::PolicyDocument;
use crate::template::intrinsic::Scope;
use crate::template::refs::reference;
use crate::template::value::{is_false, is_true, one_or_many};

const BUCKET: &str = "AWS::S3::Bucket";
const KEY: &str = "AWS::KMS::Key";

pub fn check(c: &mut StackCheck) {
    let resources: Vec<Resource> = c.template().resources().collect();
    // A bucket that receives other buckets' access logs cannot log into itself.
    let log_destinations: Vec<&str> = resources
        .iter()
        .filter(|r| r.kind == BUCKET)
        .filter_map(|r| r.prop("LoggingConfiguration")?.get("DestinationBucketName"))
        .filter_map(reference)
        .collect();
    for resource in &resources {
        match resource.kind {
            BUCKET => {
                retained(c, resource);
                bucket(
                    c,
                    resource,
                    &resources,
                    log_destinations.contains(&resource.logical_id),
                );
            }
            KEY => {
                retained(c, resource);
                let symmetric = resource
                    .prop("KeySpec")
                    .and_then(Value::as_str)
                    .is_none_or(|spec| spec == "SYMMETRIC_DEFAULT");
                if symmetric && !is_true(resource.prop("EnableKeyRotation")) {
                    c.report(
                        RuleId::Data009,
                        Some(resource.logical_id),
                        "key rotation is off",
                    );
                }
            }
            _ => {}
        }
    }
}

fn retained(c: &mut StackCheck, resource: &Resource) {
    for (attribute, rule) in [
        ("DeletionPolicy", RuleId::Data001),
        ("UpdateReplacePolicy", RuleId::Data002),
    ] {
        let value = resource.attribute(attribute).and_then(Value::as_str);
        if value != Some("Retain") {
            let what = if resource.kind == BUCKET {
                "bucket"
            } else {
                "KMS key"
            };
            c.report(
                rule,
                Some(resource.logical_id),
                format!(
                    "{what} has {attribute} {}: its data would be lost",
                    value.unwrap_or("unset (Delete)")
                ),
            );
        }
    }
}

fn bucket(c: &mut StackCheck, bucket: &Resource, all: &[Resource], receives_logs: bool) {
    let id = Some(bucket.logical_id);
    let defaults: Vec<&Value> = one_or_many(
        bucket
            .prop("BucketEncryption")
            .and_then(|e| e.get("ServerSideEncryptionConfiguration")),
    )
    .into_iter()
    .filter_map(|rule| rule.get("ServerSideEncryptionByDefault"))
    .collect();
    let algorithm = defaults
        .first()
        .and_then(|d| d.get("SSEAlgorithm"))
        .and_then(Value::as_str);
    match algorithm {
        Some("AES256" | "aws:kms" | "aws:kms:dsse") => {}
        other => c.report(
            RuleId::Data003,
            id,
            format!(
                "no default encryption at rest (SSEAlgorithm {})",
                other.unwrap_or("unset")
            ),
        ),
    }
    let is_zone = c
        .env
        .data_lake
        .zones
        .iter()
        .any(|z| z.ids.bucket == bucket.logical_id);
    if is_zone {
        let key_target = defaults
            .first()
            .and_then(|d| d.get("KMSMasterKeyID"))
            .and_then(reference);
        let own_key =
            key_target.is_some_and(|t| all.iter().any(|r| r.logical_id == t && r.kind == KEY));
        if !matches!(algorithm, Some("aws:kms" | "aws:kms:dsse")) || !own_key {
            c.report(
                RuleId::Data004,
                id,
                "data-lake bucket is not encrypted with the environment's KMS key",
            );
        }
    }
    if !tls_only(bucket, all, &c.scope()) {
        c.report(
            RuleId::Data005,
            id,
            "no bucket policy denies requests made without TLS",
        );
    }
    let versioning = bucket
        .prop("VersioningConfiguration")
        .and_then(|v| v.get("Status"))
        .and_then(Value::as_str);
    if versioning != Some("Enabled") {
        c.report(
            RuleId::Data006,
            id,
            format!("versioning is {}", versioning.unwrap_or("off")),
        );
    }
    let block = bucket.prop("PublicAccessBlockConfiguration");
    let open: Vec<&str> = [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ]
    .into_iter()
    .filter(|flag| !is_true(block.and_then(|b| b.get(*flag))))
    .collect();
    if !open.is_empty() {
        c.report(
            RuleId::Data007,
            id,
            format!("public access block is not on for {}", open.join(", ")),
        );
    }
    let logs_to = bucket
        .prop("LoggingConfiguration")
        .and_then(|l| l.get("DestinationBucketName"));
    if logs_to.is_none() && !receives_logs {
        c.report(RuleId::Data008, id, "server access logging is off");
    }
}

/// A bucket policy attached to `bucket` that denies every S3 action on the
/// bucket's objects to anyone when `aws:SecureTransport` is false.
fn tls_only(bucket: &Resource, all: &[Resource], scope: &Scope) -> bool {
    let name = bucket.prop("BucketName").and_then(Value::as_str);
    all.iter()
        .filter(|r| r.kind == "AWS::S3::BucketPolicy")
        .filter(|r| {
            r.prop("Bucket").is_some_and(|b| {
                reference(b) == Some(bucket.logical_id) || (name.is_some() && b.as_str() == name)
            })
        })
        .filter_map(|r| r.prop("PolicyDocument"))
        .flat_map(|document| PolicyDocument::parse(document, "bucket policy", scope).statements)
        .any(|s| {
            !s.allows()
                && s.is_anyone()
                && (s.covers("s3:GetObject")
                    && s.covers("s3:PutObject")
                    && s.covers("s3:DeleteObject"))
                && s.resource_texts().any(|r| r.ends_with("/*"))
                && ["Bool", "BoolIfExists"].iter().any(|op| {
                    s.condition_values(op, "aws:SecureTransport")
                        .into_iter()
                        .any(is_false)
                })
        })
}
