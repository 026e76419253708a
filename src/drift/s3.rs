//! S3 buckets against their template: versioning, default encryption (with
//! the stack's own KMS key) and the public access block. These protect the
//! data lake, so a weakened setting is high severity.

use aws_sdk_s3::Client;
use aws_sdk_s3::types::BucketVersioningStatus;

use super::detection::RECREATE_HINT;
use super::expected::{BucketExpectation, PublicAccessBlock};
use super::finding::{Check, DriftFinding, Remedy, Severity, Source, Subject};
use crate::cloud::{AwsError, s3};

const NO_BUCKET: [&str; 1] = ["NoSuchBucket"];
const NO_ENCRYPTION: [&str; 1] = ["ServerSideEncryptionConfigurationNotFoundError"];
const NO_PUBLIC_ACCESS_BLOCK: [&str; 1] = ["NoSuchPublicAccessBlockConfiguration"];

/// A KMS key is named by id, ARN or alias ARN; the stack records keys by id.
fn same_key(want: &str, have: &str) -> bool {
    want == have || have.ends_with(&format!("/{want}")) || want.ends_with(&format!("/{have}"))
}

fn restore_hint(what: &str, command: &str) -> String {
    format!(
        "restore {what} as the template has it ({command}); \
         apply alone does not rewrite an unchanged template value"
    )
}

/// `expected_key`: the KMS key the template names, resolved to its id or ARN.
pub async fn check_bucket(
    client: &Client,
    subject: &Subject,
    expected: &BucketExpectation,
    expected_key: Option<&str>,
) -> Result<Vec<DriftFinding>, AwsError> {
    let bucket = subject.physical_id.as_deref().unwrap_or_default();
    let versioning = s3::versioning(client, bucket);
    let encryption = async {
        if expected.encryption.is_none() {
            return Ok(None);
        }
        s3::encryption(client, bucket).await.map(Some)
    };
    let public_access = async {
        if expected.public_access_block.is_none() {
            return Ok(None);
        }
        s3::public_access_block(client, bucket).await.map(Some)
    };
    let (versioning, encryption, public_access) =
        tokio::join!(versioning, encryption, public_access);
    let versioning = match versioning {
        Ok(v) => v,
        Err(error) if error.has_code(&NO_BUCKET) => {
            return Ok(vec![
                subject
                    .finding(Source::S3, Check::Exists)
                    .values("exists", "deleted")
                    .severity(Severity::High)
                    .hint(Remedy::Recreate, RECREATE_HINT),
            ]);
        }
        Err(error) => return Err(error),
    };

    let mut findings = Vec::new();
    if let Some(want) = &expected.versioning {
        let have = match versioning.status() {
            Some(BucketVersioningStatus::Enabled) => "Enabled",
            Some(BucketVersioningStatus::Suspended) => "Suspended",
            Some(other) => other.as_str(),
            None => "never enabled",
        };
        if want != have {
            findings.push(
                subject
                    .finding(Source::S3, Check::Versioning)
                    .values(want.clone(), have)
                    .severity(Severity::High)
                    .hint(
                        Remedy::Revert,
                        restore_hint(
                            "versioning",
                            &format!(
                                "aws s3api put-bucket-versioning --bucket {bucket} \
                                 --versioning-configuration Status={want}"
                            ),
                        ),
                    ),
            );
        }
    }

    if let Some(want) = &expected.encryption {
        let rule = match encryption {
            Ok(output) => output.and_then(|o| {
                o.server_side_encryption_configuration()?
                    .rules()
                    .first()
                    .cloned()
            }),
            Err(error) if error.has_code(&NO_ENCRYPTION) => None,
            Err(error) => return Err(error),
        };
        let default = rule
            .as_ref()
            .and_then(|r| r.apply_server_side_encryption_by_default());
        let have_algorithm = default
            .map(|d| d.sse_algorithm().as_str())
            .unwrap_or("none");
        let have_key = default.and_then(|d| d.kms_master_key_id());
        let key_differs = match (expected_key, have_key) {
            (Some(want), Some(have)) => !same_key(want, have),
            (Some(_), None) => true,
            (None, _) => false,
        };
        if have_algorithm != want.algorithm || key_differs {
            let describe = |algorithm: &str, key: Option<&str>| match key {
                Some(key) => format!("{algorithm} with key {key}"),
                None => algorithm.to_string(),
            };
            findings.push(
                subject
                    .finding(Source::S3, Check::Encryption)
                    .values(
                        describe(&want.algorithm, expected_key),
                        describe(have_algorithm, have_key),
                    )
                    .severity(Severity::High)
                    .hint(
                        Remedy::Revert,
                        restore_hint(
                            "default encryption",
                            &format!("aws s3api put-bucket-encryption --bucket {bucket}"),
                        ),
                    ),
            );
        } else if let Some(want_bucket_key) = want.bucket_key {
            let have_bucket_key = rule
                .as_ref()
                .and_then(|r| r.bucket_key_enabled())
                .unwrap_or(false);
            if want_bucket_key != have_bucket_key {
                // Only cost: without a bucket key every object operation calls KMS.
                findings.push(
                    subject
                        .finding(Source::S3, Check::BucketKey)
                        .values(want_bucket_key.to_string(), have_bucket_key.to_string())
                        .severity(Severity::Low)
                        .hint(
                            Remedy::Revert,
                            restore_hint(
                                "the bucket key setting",
                                &format!("aws s3api put-bucket-encryption --bucket {bucket}"),
                            ),
                        ),
                );
            }
        }
    }

    if let Some(want) = &expected.public_access_block {
        let have = match public_access {
            Ok(output) => output
                .and_then(|o| o.public_access_block_configuration().cloned())
                .map(|c| PublicAccessBlock {
                    block_public_acls: c.block_public_acls().unwrap_or(false),
                    ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
                    block_public_policy: c.block_public_policy().unwrap_or(false),
                    restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
                })
                .unwrap_or_default(),
            Err(error) if error.has_code(&NO_PUBLIC_ACCESS_BLOCK) => PublicAccessBlock::default(),
            Err(error) => return Err(error),
        };
        if !want.missing_in(&have).is_empty() {
            findings.push(
                subject
                    .finding(Source::S3, Check::PublicAccessBlock)
                    .values(format!("blocks {want}"), format!("blocks {have}"))
                    .severity(Severity::High)
                    .hint(
                        Remedy::Revert,
                        restore_hint(
                            "the public access block",
                            &format!(
                                "aws s3api put-public-access-block --bucket {bucket} \
                                 --public-access-block-configuration {}",
                                want.as_cli()
                            ),
                        ),
                    ),
            );
        }
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::same_key;

    #[test]
    fn a_key_matches_by_id_or_arn() {
        let id = "07ada252-63bb-4daf-b92c-518157bb376e";
        let arn = format!("arn:aws:kms:us-east-1:123456789012:key/{id}");
        assert!(same_key(id, &arn));
        assert!(same_key(&arn, id));
        assert!(same_key(&arn, &arn));
        assert!(!same_key(
            id,
            "arn:aws:kms:us-east-1:123456789012:key/other"
        ));
    }
}
