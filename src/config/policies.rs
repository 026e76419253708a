//! The SageMaker execution role's inline policy documents, built from the
//! environment: every S3 location, image repository and log group it uses,
//! and nothing else. Built here, typed, rather than in the IAM template so
//! that validation can size them against IAM's limit before anything is
//! rendered or deployed, and the template inserts exactly what was sized.

use serde::Serialize;
use serde_json::{Value, json};

use super::env::{Env, S3Location};
use super::names;
use super::network::Network;
use super::training::CodeSource;

/// IAM's limit on the aggregate size of a role's inline policies, in
/// characters not counting whitespace.
pub const ROLE_INLINE_POLICY_LIMIT: usize = 10_240;

/// One inline policy of a role.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct InlinePolicy {
    pub policy_name: String,
    /// May hold `Fn::ImportValue` for the data key's ARN.
    pub policy_document: Value,
}

/// `s3:prefix` values a role may list in one bucket.
struct BucketAccess {
    bucket_arn: String,
    list_prefixes: Vec<String>,
}

/// An object ARN of `location`, or of everything under it with `wildcard`.
pub(super) fn object_arn(location: &S3Location, wildcard: bool) -> String {
    let star = if wildcard { "*" } else { "" };
    format!("arn:aws:s3:::{}/{}{star}", location.bucket, location.key)
}

/// Sorted and without repeats: policies read the same however they were built.
pub(super) fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items.dedup();
    items
}

/// What the role reads of a job's code: every package of the job (a new
/// package is a new hash; the role should not change with each), or the
/// one object written in `source_dir`.
fn code_location(job: &str, source: &CodeSource) -> (S3Location, bool) {
    match source {
        CodeSource::Package { location, .. } => (
            S3Location {
                zone: location.zone.clone(),
                bucket: location.bucket.clone(),
                key: format!("code/{job}/"),
            },
            true,
        ),
        CodeSource::S3 { bucket, key } => (
            S3Location {
                zone: String::new(),
                bucket: bucket.clone(),
                key: key.clone(),
            },
            false,
        ),
    }
}

/// A policy document of `statements`.
pub(super) fn document(statements: Vec<Value>) -> Value {
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// The execution role's inline policies: `data-lake-access` and `images-and-logs`.
pub fn execution_role_policies(env: &Env) -> Vec<InlinePolicy> {
    let names = env.names();
    // (location, whether it is a prefix)
    let mut reads: Vec<(S3Location, bool)> = Vec::new();
    let mut writes: Vec<&S3Location> = Vec::new();
    for job in &env.training {
        reads.extend(job.channels.iter().map(|c| (c.location.clone(), true)));
        reads.push((job.checkpoints.clone(), true));
        if let Some(code) = &job.code {
            reads.push(code_location(&job.name, &code.source));
        }
        writes.extend([&job.output, &job.checkpoints]);
    }
    // Models are served by the serving role (serving_policies.rs): this
    // role trains, and reads only what training reads.
    let read_object_arns = sorted(
        reads
            .iter()
            .map(|(l, prefix)| object_arn(l, *prefix))
            .collect(),
    );
    let write_object_arns = sorted(writes.iter().map(|l| object_arn(l, true)).collect());

    let mut buckets: Vec<BucketAccess> = Vec::new();
    for location in reads.iter().map(|(l, _)| l).chain(writes.iter().copied()) {
        let arn = names::bucket_arn(&location.bucket);
        let prefix = format!("{}*", location.key);
        match buckets.iter_mut().find(|b| b.bucket_arn == arn) {
            Some(b) => b.list_prefixes.push(prefix),
            None => buckets.push(BucketAccess {
                bucket_arn: arn,
                list_prefixes: vec![prefix],
            }),
        }
    }
    for bucket in &mut buckets {
        bucket.list_prefixes.sort();
        bucket.list_prefixes.dedup();
    }
    buckets.sort_by(|a, b| a.bucket_arn.cmp(&b.bucket_arn));

    let ecr_repository_arns = sorted(
        env.training
            .iter()
            .map(|j| j.image.repository_arn())
            .collect(),
    );
    let key_arn = json!({ "Fn::ImportValue": names.key_arn_export() });

    let mut data = Vec::new();
    if !read_object_arns.is_empty() {
        data.push(json!({
            "Sid": "ReadTrainingInputsCodeAndCheckpoints",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": read_object_arns,
        }));
    }
    if !write_object_arns.is_empty() {
        data.push(json!({
            "Sid": "WriteOutputsAndCheckpoints",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
            "Resource": write_object_arns,
        }));
    }
    for (i, bucket) in buckets.iter().enumerate() {
        data.push(json!({
            "Sid": format!("ListPrefixes{}", i + 1),
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": bucket.bucket_arn,
            "Condition": { "StringLike": { "s3:prefix": bucket.list_prefixes } },
        }));
    }
    data.push(json!({
        "Sid": "UseDataKeyThroughS3AndSageMaker",
        "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
        "Resource": key_arn,
        "Condition": {
            "StringEquals": {
                "kms:ViaService": [names.service_endpoint("s3"), names.service_endpoint("sagemaker")]
            }
        },
    }));
    data.push(json!({
        "Sid": "EncryptVolumesWithDataKey",
        "Effect": "Allow",
        "Action": ["kms:CreateGrant"],
        "Resource": key_arn,
        "Condition": { "Bool": { "kms:GrantIsForAWSResource": "true" } },
    }));

    let mut images = Vec::new();
    if !ecr_repository_arns.is_empty() {
        images.push(json!({
            "Sid": "PullConfiguredImages",
            "Effect": "Allow",
            "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Resource": ecr_repository_arns,
        }));
    }
    images.extend([
        json!({
            "Sid": "EcrLoginHasNoResourceLevelPermissions",
            "Effect": "Allow",
            "Action": ["ecr:GetAuthorizationToken"],
            "Resource": "*",
        }),
        json!({
            "Sid": "PublishSageMakerMetricsOnly",
            "Effect": "Allow",
            "Action": ["cloudwatch:PutMetricData"],
            "Resource": "*",
            "Condition": { "StringLike": { "cloudwatch:namespace": ["/aws/sagemaker/*", "aws/sagemaker/*"] } },
        }),
    ]);

    let log_groups = log_group_arns(env);
    if !log_groups.is_empty() {
        images.push(json!({
            "Sid": "WriteThisEnvironmentsSageMakerLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            "Resource": log_groups,
        }));
    }

    let mut policies = vec![
        InlinePolicy {
            policy_name: "data-lake-access".into(),
            policy_document: document(data),
        },
        InlinePolicy {
            policy_name: "images-and-logs".into(),
            policy_document: document(images),
        },
    ];
    policies.extend(network_interface_policy(env));
    policies
}

/// `vpc-network-interfaces`, for a role whose jobs or models run in the
/// environment's network (the training and the serving role); none without one.
pub fn network_interface_policy(env: &Env) -> Option<InlinePolicy> {
    let network = env.network.as_ref()?;
    Some(InlinePolicy {
        policy_name: "vpc-network-interfaces".into(),
        policy_document: document(network_interface_statements(env, network)),
    })
}

/// The log groups training writes: the one `/aws/sagemaker/TrainingJobs`
/// group of the account and region (its streams are named after jobs whose
/// names SageMaker Pipelines generates, so they cannot be told apart by
/// environment). Endpoints' groups are the serving role's.
fn log_group_arns(env: &Env) -> Vec<String> {
    let mut groups = Vec::new();
    if !env.training.is_empty() {
        groups.push(names::TRAINING_LOG_GROUP.to_string());
    }
    groups
        .iter()
        .flat_map(|group| {
            let arn = format!(
                "arn:aws:logs:{}:{}:log-group:{group}",
                env.region, env.account_id
            );
            [format!("{arn}:log-stream:*"), arn]
        })
        .collect()
}

/// What SageMaker does with the execution role to attach training jobs and
/// models to the subnets: create an elastic network interface in a
/// configured subnet with the configured security groups, let its own
/// account attach it, and delete both afterwards. Interfaces do not exist
/// before, so they are named by pattern and narrowed by their subnet; the
/// `Describe*` calls have no resource-level permissions at all.
fn network_interface_statements(env: &Env, network: &Network) -> Vec<Value> {
    let (region, account) = (env.region.as_str(), env.account_id.as_str());
    let interfaces = format!("arn:aws:ec2:{region}:{account}:network-interface/*");
    let subnets = network.subnet_arns(region, account);
    let mut created = vec![interfaces.clone()];
    created.extend(subnets.iter().cloned());
    created.extend(network.security_group_arns(region, account));
    vec![
        json!({
            "Sid": "CreateInterfacesInConfiguredSubnets",
            "Effect": "Allow",
            "Action": ["ec2:CreateNetworkInterface"],
            "Resource": created,
        }),
        json!({
            "Sid": "ManageInterfacesOfConfiguredSubnets",
            "Effect": "Allow",
            "Action": [
                "ec2:CreateNetworkInterfacePermission",
                "ec2:DeleteNetworkInterface",
                "ec2:DeleteNetworkInterfacePermission"
            ],
            "Resource": interfaces,
            "Condition": { "ArnEquals": { "ec2:Subnet": subnets } },
        }),
        json!({
            "Sid": "DescribeNetworkHasNoResourceLevelPermissions",
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeDhcpOptions",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeVpcs"
            ],
            "Resource": "*",
            "Condition": { "StringEquals": { "aws:RequestedRegion": region } },
        }),
    ]
}

/// The size IAM counts for a role's inline policies: their documents as
/// CloudFormation sends them (the data key's `Fn::ImportValue` resolved to
/// a key ARN of this account and region), without whitespace.
pub fn inline_policy_size(env: &Env, policies: &[InlinePolicy]) -> usize {
    // A KMS key ARN: the key id is a 36-character UUID.
    let key_arn = format!(
        "arn:aws:kms:{}:{}:key/{}",
        env.region,
        env.account_id,
        "0".repeat(36)
    );
    // Counted as it is written: validation sizes every environment's role,
    // and a copy of each document per environment is what made that slow.
    let mut counter = NonWhitespace::default();
    for policy in policies {
        let document = ImportsResolved {
            value: &policy.policy_document,
            key_arn: &key_arn,
        };
        serde_json::to_writer(&mut counter, &document).expect("a JSON value always serialises");
    }
    counter.chars
}

/// A document as CloudFormation sends it: each `Fn::ImportValue` written as
/// the ARN it resolves to.
struct ImportsResolved<'a> {
    value: &'a Value,
    key_arn: &'a str,
}

impl Serialize for ImportsResolved<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let inner = |value| ImportsResolved {
            value,
            key_arn: self.key_arn,
        };
        match self.value {
            Value::Object(map) if map.contains_key("Fn::ImportValue") => {
                serializer.serialize_str(self.key_arn)
            }
            Value::Object(map) => {
                let mut out = serializer.serialize_map(Some(map.len()))?;
                for (key, value) in map {
                    out.serialize_entry(key, &inner(value))?;
                }
                out.end()
            }
            Value::Array(items) => serializer.collect_seq(items.iter().map(inner)),
            other => other.serialize(serializer),
        }
    }
}

/// Counts the characters written, whitespace left out (IAM's count).
#[derive(Default)]
struct NonWhitespace {
    chars: usize,
}

impl std::io::Write for NonWhitespace {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // UTF-8 continuation bytes belong to the character before them.
        self.chars += buf
            .iter()
            .filter(|b| !b.is_ascii_whitespace() && (**b & 0xC0) != 0x80)
            .count();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The count is the compact document's characters, whitespace (also
    /// inside strings) left out, with the key's import resolved to an ARN of
    /// the environment's account and region.
    #[test]
    fn the_size_counts_the_resolved_document_without_whitespace() {
        let (env, _) = crate::render::example("dev");
        let policy = InlinePolicy {
            policy_name: "p".into(),
            policy_document: json!({
                "Sid": "a b",
                "Resource": [{"Fn::ImportValue": "x"}, "é"],
            }),
        };
        let key_arn = format!(
            "arn:aws:kms:{}:{}:key/{}",
            env.region,
            env.account_id,
            "0".repeat(36)
        );
        let expected = format!("{{\"Sid\":\"ab\",\"Resource\":[\"{key_arn}\",\"é\"]}}");
        assert_eq!(
            inline_policy_size(&env, &[policy]),
            expected.chars().count()
        );
    }
}
