//! The SageMaker execution role's inline policy documents, built from the
//! environment: every S3 location, image repository and log group it uses,
//! and nothing else. Built here, typed, rather than in the IAM template so
//! that validation can size them against IAM's limit before anything is
//! rendered or deployed, and the template inserts exactly what was sized.

use serde::Serialize;
use serde_json::json;

use super::env::Env;
use super::location::S3Location;
use super::names;
use super::network::Network;
use super::training::CodeSource;

pub use super::policy_document::{
    Document, Grant, Import, InlinePolicy, ROLE_INLINE_POLICY_LIMIT, Resource,
};

impl Env {
    /// The execution role's inline policies, built once per environment.
    pub fn execution_policies(&self) -> &[InlinePolicy] {
        self.execution_policies
            .get_or_init(|| execution_role_policies(self))
    }
}

impl Resource {
    /// The data key, imported from the data stack.
    pub(super) fn data_key(env: &Env) -> Self {
        Resource::Imported(Import {
            export: env.names().key_arn_export(),
        })
    }
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
pub(super) fn document(statement: Vec<Grant>) -> Document {
    Document {
        version: "2012-10-17",
        statement,
    }
}

/// The execution role's inline policies: `data-lake-access` and `images-and-logs`.
pub fn execution_role_policies(env: &Env) -> Vec<InlinePolicy> {
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

    let ecr_repository_arns = sorted(
        env.training
            .iter()
            .map(|j| j.image.repository_arn())
            .collect(),
    );
    let mut data = Vec::new();
    if !read_object_arns.is_empty() {
        data.push(Grant::allow(
            "ReadTrainingInputsCodeAndCheckpoints",
            &["s3:GetObject"],
            Resource::Many(read_object_arns),
        ));
    }
    if !write_object_arns.is_empty() {
        data.push(Grant::allow(
            "WriteOutputsAndCheckpoints",
            &["s3:PutObject", "s3:AbortMultipartUpload"],
            Resource::Many(write_object_arns),
        ));
    }
    let listed: Vec<&S3Location> = reads.iter().map(|(l, _)| l).chain(writes).collect();
    data.extend(data_key_read_write(env, &listed));

    let mut images = Vec::new();
    if !ecr_repository_arns.is_empty() {
        images.push(pull(ecr_repository_arns));
    }
    images.extend([
        ecr_login(),
        metrics(&["/aws/sagemaker/*", "aws/sagemaker/*"]),
    ]);

    let log_groups = log_group_arns(env);
    if !log_groups.is_empty() {
        images.push(Grant::allow(
            "WriteThisEnvironmentsSageMakerLogs",
            &WRITE_LOGS,
            Resource::Many(log_groups),
        ));
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
fn network_interface_statements(env: &Env, network: &Network) -> Vec<Grant> {
    let (region, account) = (env.region.as_str(), env.account_id.as_str());
    let interfaces = format!("arn:aws:ec2:{region}:{account}:network-interface/*");
    let subnets = network.subnet_arns(region, account);
    let mut created = vec![interfaces.clone()];
    created.extend(subnets.iter().cloned());
    created.extend(network.security_group_arns(region, account));
    vec![
        Grant::allow(
            "CreateInterfacesInConfiguredSubnets",
            &["ec2:CreateNetworkInterface"],
            Resource::Many(created),
        ),
        Grant::allow(
            "ManageInterfacesOfConfiguredSubnets",
            &[
                "ec2:CreateNetworkInterfacePermission",
                "ec2:DeleteNetworkInterface",
                "ec2:DeleteNetworkInterfacePermission",
            ],
            Resource::One(interfaces),
        )
        .when(json!({ "ArnEquals": { "ec2:Subnet": subnets } })),
        Grant::allow(
            "DescribeNetworkHasNoResourceLevelPermissions",
            &[
                "ec2:DescribeDhcpOptions",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeVpcs",
            ],
            Resource::One("*".into()),
        )
        .when(json!({ "StringEquals": { "aws:RequestedRegion": region } })),
    ]
}

/// `s3:ListBucket` per bucket, limited to the prefixes under `locations`.
pub(super) fn list_prefixes(locations: &[&S3Location]) -> Vec<Grant> {
    let buckets = sorted(locations.iter().map(|l| l.bucket.clone()).collect());
    buckets
        .iter()
        .enumerate()
        .map(|(i, bucket)| {
            let prefixes = sorted(
                locations
                    .iter()
                    .filter(|l| &l.bucket == bucket)
                    .map(|l| format!("{}*", l.key))
                    .collect(),
            );
            Grant::allow(
                format!("ListPrefixes{}", i + 1),
                &["s3:ListBucket"],
                Resource::One(names::bucket_arn(bucket)),
            )
            .when(json!({ "StringLike": { "s3:prefix": prefixes } }))
        })
        .collect()
}

/// Reading and writing through the data key: what a role that both reads
/// and writes encrypted objects needs of it.
pub(super) const DATA_KEY_READ_WRITE: [&str; 4] = [
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
];

/// What writing one's own log groups takes.
pub(super) const WRITE_LOGS: [&str; 4] = [
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:DescribeLogStreams",
    "logs:PutLogEvents",
];

/// The data key, used only through S3 and SageMaker.
pub(super) fn key_through_s3_and_sagemaker(
    env: &Env,
    sid: &'static str,
    actions: &[&'static str],
) -> Grant {
    let names = env.names();
    Grant::allow(sid, actions, Resource::data_key(env)).when(json!({
        "StringEquals": {
            "kms:ViaService": [names.service_endpoint("s3"), names.service_endpoint("sagemaker")]
        }
    }))
}

/// Grants of the data key to the AWS services that encrypt job volumes.
pub(super) fn volume_grants(env: &Env) -> Grant {
    Grant::allow(
        "EncryptVolumesWithDataKey",
        &["kms:CreateGrant"],
        Resource::data_key(env),
    )
    .when(json!({ "Bool": { "kms:GrantIsForAWSResource": "true" } }))
}

/// What a role that reads and writes objects under `locations` needs beside
/// its object grants: listing their prefixes, the data key through S3 and
/// SageMaker, and grants of the key to encrypt job volumes.
pub(super) fn data_key_read_write(env: &Env, locations: &[&S3Location]) -> Vec<Grant> {
    let mut grants = list_prefixes(locations);
    grants.push(key_through_s3_and_sagemaker(
        env,
        "UseDataKeyThroughS3AndSageMaker",
        &DATA_KEY_READ_WRITE,
    ));
    grants.push(volume_grants(env));
    grants
}

/// `ecr:GetAuthorizationToken` has no resource-level permissions.
pub(super) fn ecr_login() -> Grant {
    Grant::allow(
        "EcrLoginHasNoResourceLevelPermissions",
        &["ecr:GetAuthorizationToken"],
        Resource::One("*".into()),
    )
}

/// Pulling the images of `repositories`.
pub(super) fn pull(repositories: Vec<String>) -> Grant {
    Grant::allow(
        "PullConfiguredImages",
        &[
            "ecr:BatchCheckLayerAvailability",
            "ecr:BatchGetImage",
            "ecr:GetDownloadUrlForLayer",
        ],
        Resource::Many(repositories),
    )
}

/// Metrics, only into SageMaker's `namespaces`.
pub(super) fn metrics(namespaces: &[&str]) -> Grant {
    Grant::allow(
        "PublishSageMakerMetricsOnly",
        &["cloudwatch:PutMetricData"],
        Resource::One("*".into()),
    )
    .when(json!({ "StringLike": { "cloudwatch:namespace": namespaces } }))
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
    let written = non_whitespace_chars(policies.iter().map(|p| &p.policy_document));
    // Each import is sent as the quoted ARN it resolves to, in place of
    // the `Fn::ImportValue` object.
    let imports = policies
        .iter()
        .flat_map(|p| &p.policy_document.statement)
        .filter_map(|grant| match &grant.resource {
            Resource::Imported(import) => Some(import),
            _ => None,
        });
    let resolved = non_whitespace_chars([&key_arn]);
    imports.fold(written, |size, import| {
        size - non_whitespace_chars([import]) + resolved
    })
}

/// The characters of `values` as compact JSON, whitespace left out.
fn non_whitespace_chars<T: Serialize>(values: impl IntoIterator<Item = T>) -> usize {
    // Written whole, then counted in one pass: counting as serde_json
    // writes would cost a call per token.
    let mut json = Vec::with_capacity(4096);
    for value in values {
        serde_json::to_writer(&mut json, &value).expect("a policy always serialises");
    }
    // Compact JSON has whitespace only inside strings, and there only as
    // spaces: serde_json escapes every other byte up to the space. So a
    // character counts when its byte is above the space and is not a UTF-8
    // continuation byte (0x80..=0xBF, which belongs to the character before
    // it). Written without branches, the loop compiles to vector
    // instructions: as a filter it cost as much as writing the JSON.
    let counted: u32 = json
        .iter()
        .map(|&b| u32::from((b > b' ') & (b as i8 >= -64)))
        .sum();
    counted as usize
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    /// The count is the compact document's characters, whitespace (also
    /// inside strings) left out, with the key's import resolved to an ARN of
    /// the environment's account and region.
    #[test]
    fn the_size_counts_the_resolved_document_without_whitespace() {
        let (env, _) = crate::render::example("dev");
        let key_arn = format!(
            "arn:aws:kms:{}:{}:key/{}",
            env.region,
            env.account_id,
            "0".repeat(36)
        );
        let policy = InlinePolicy {
            policy_name: "p".into(),
            policy_document: document(vec![
                Grant::allow("a b", &["kms:Decrypt"], Resource::data_key(&env)),
                Grant::allow("é", &["s3:GetObject"], Resource::One("x y".into()))
                    .when(json!({ "Bool": { "k": "true" } })),
                volume_grants(&env),
            ]),
        };
        // What CloudFormation sends: each import replaced by the ARN.
        fn resolve(value: &mut Value, key_arn: &str) {
            match value {
                Value::Object(map) if map.contains_key("Fn::ImportValue") => {
                    *value = Value::String(key_arn.to_string())
                }
                Value::Object(map) => map.values_mut().for_each(|v| resolve(v, key_arn)),
                Value::Array(items) => items.iter_mut().for_each(|v| resolve(v, key_arn)),
                _ => {}
            }
        }
        let mut sent = serde_json::to_value(&policy.policy_document).unwrap();
        resolve(&mut sent, &key_arn);
        let expected = sent
            .to_string()
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .count();
        assert!(sent.to_string().contains(&key_arn));
        assert_eq!(inline_policy_size(&env, &[policy]), expected);
    }

    /// Every byte class the vector count treats differently: spaces, the
    /// whitespace serde_json escapes, other control characters, characters
    /// of two, three and four bytes. The count matches counting the
    /// characters of the written JSON one by one.
    #[test]
    fn characters_are_counted_as_written_whatever_their_bytes() {
        let text = "a b\tc\nd\re\u{c}f\u{1}g é 日本 🦀 \"q\" \\";
        let written = serde_json::to_string(&[text, " x "]).unwrap();
        let expected = written.chars().filter(|c| !c.is_ascii_whitespace()).count();
        assert_eq!(non_whitespace_chars([[text, " x "]]), expected);
        assert_eq!(non_whitespace_chars([" "]), 2);
    }
}
