//! The inline policies of the serving role (the role of the environment's
//! SageMaker models) and of the monitoring role. The serving role reads the
//! models it serves and writes only its endpoints' log groups and their
//! capture prefixes: it never writes where models are (validation keeps
//! capture out of model zones). The monitoring role reads captured data and
//! baselines and writes only its reports.

use serde_json::{Value, json};

use super::env::{Env, S3Location};
use super::names;
use super::policies::{InlinePolicy, document, object_arn, sorted};

/// `s3:ListBucket` per bucket, limited to the prefixes read.
fn list_prefixes(locations: &[&S3Location]) -> Vec<Value> {
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
            json!({
                "Sid": format!("ListPrefixes{}", i + 1),
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": names::bucket_arn(bucket),
                "Condition": { "StringLike": { "s3:prefix": prefixes } },
            })
        })
        .collect()
}

fn key_use(env: &Env, sid: &str, actions: &[&str]) -> Value {
    let names = env.names();
    json!({
        "Sid": sid,
        "Effect": "Allow",
        "Action": actions,
        "Resource": { "Fn::ImportValue": names.key_arn_export() },
        "Condition": {
            "StringEquals": {
                "kms:ViaService": [names.service_endpoint("s3"), names.service_endpoint("sagemaker")]
            }
        },
    })
}

fn volume_grants(env: &Env) -> Value {
    json!({
        "Sid": "EncryptVolumesWithDataKey",
        "Effect": "Allow",
        "Action": ["kms:CreateGrant"],
        "Resource": { "Fn::ImportValue": env.names().key_arn_export() },
        "Condition": { "Bool": { "kms:GrantIsForAWSResource": "true" } },
    })
}

fn ecr_login() -> Value {
    json!({
        "Sid": "EcrLoginHasNoResourceLevelPermissions",
        "Effect": "Allow",
        "Action": ["ecr:GetAuthorizationToken"],
        "Resource": "*",
    })
}

fn pull(repositories: Vec<String>) -> Value {
    json!({
        "Sid": "PullConfiguredImages",
        "Effect": "Allow",
        "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        "Resource": repositories,
    })
}

fn log_groups(env: &Env, groups: &[String]) -> Value {
    let arns: Vec<String> = groups
        .iter()
        .flat_map(|group| {
            let arn = format!(
                "arn:aws:logs:{}:{}:log-group:{group}",
                env.region, env.account_id
            );
            [arn.clone(), format!("{arn}:log-stream:*")]
        })
        .collect();
    json!({
        "Sid": "WriteOwnLogGroups",
        "Effect": "Allow",
        "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
        "Resource": arns,
    })
}

fn metrics(namespaces: &[&str]) -> Value {
    json!({
        "Sid": "PublishSageMakerMetricsOnly",
        "Effect": "Allow",
        "Action": ["cloudwatch:PutMetricData"],
        "Resource": "*",
        "Condition": { "StringLike": { "cloudwatch:namespace": namespaces } },
    })
}

/// The serving role's inline policies: `models-and-capture` and `images-and-logs`.
pub fn serving_role_policies(env: &Env) -> Vec<InlinePolicy> {
    let variants = || env.endpoints.iter().flat_map(|e| e.all_variants());
    let models = sorted(
        variants()
            .map(|v| object_arn(&v.model_data, false))
            .collect(),
    );
    let captures: Vec<&S3Location> = env
        .endpoints
        .iter()
        .filter_map(|e| e.data_capture.as_ref().map(|d| &d.destination))
        .collect();
    let mut data = vec![json!({
        "Sid": "ReadServedModels",
        "Effect": "Allow",
        "Action": ["s3:GetObject"],
        "Resource": models,
    })];
    if !captures.is_empty() {
        data.push(json!({
            "Sid": "WriteCapturedDataOnly",
            "Effect": "Allow",
            "Action": ["s3:PutObject"],
            "Resource": sorted(captures.iter().map(|l| object_arn(l, true)).collect()),
        }));
        data.push(key_use(
            env,
            "ReadModelsAndEncryptCapturedData",
            &[
                "kms:Decrypt",
                "kms:DescribeKey",
                "kms:Encrypt",
                "kms:GenerateDataKey",
            ],
        ));
    } else {
        data.push(key_use(
            env,
            "ReadModelsWithDataKey",
            &["kms:Decrypt", "kms:DescribeKey"],
        ));
    }
    data.push(volume_grants(env));

    let groups: Vec<String> = env
        .endpoints
        .iter()
        .map(|e| format!("/aws/sagemaker/Endpoints/{}", e.endpoint_name))
        .collect();
    let images = vec![
        pull(sorted(
            variants().map(|v| v.image.repository_arn()).collect(),
        )),
        ecr_login(),
        log_groups(env, &groups),
        metrics(&["/aws/sagemaker/Endpoints", "aws/sagemaker/Endpoints/*"]),
    ];
    let mut policies = vec![
        InlinePolicy {
            policy_name: "models-and-capture".into(),
            policy_document: document(data),
        },
        InlinePolicy {
            policy_name: "images-and-logs".into(),
            policy_document: document(images),
        },
    ];
    // Models in the environment's network attach to its subnets as the
    // serving role.
    policies.extend(super::policies::network_interface_policy(env));
    policies
}

/// The monitoring role's inline policies, when an endpoint is monitored.
pub fn monitor_role_policies(env: &Env) -> Option<Vec<InlinePolicy>> {
    let monitored: Vec<_> = env
        .endpoints
        .iter()
        .filter_map(|e| Some((e.data_capture.as_ref()?, e.monitor.as_ref()?)))
        .collect();
    if monitored.is_empty() {
        return None;
    }
    let captures: Vec<&S3Location> = monitored.iter().map(|(c, _)| &c.destination).collect();
    let baselines: Vec<&S3Location> = monitored
        .iter()
        .flat_map(|(_, m)| [&m.baseline_statistics, &m.baseline_constraints])
        .flatten()
        .collect();
    let outputs: Vec<&S3Location> = monitored.iter().map(|(_, m)| &m.output).collect();
    let reads = sorted(
        captures
            .iter()
            .map(|l| object_arn(l, true))
            .chain(baselines.iter().map(|l| object_arn(l, false)))
            .collect(),
    );
    let mut data = vec![
        json!({
            "Sid": "ReadCapturedDataAndBaselines",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": reads,
        }),
        json!({
            "Sid": "WriteMonitoringReports",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
            "Resource": sorted(outputs.iter().map(|l| object_arn(l, true)).collect()),
        }),
    ];
    let listed: Vec<&S3Location> = captures.iter().chain(&outputs).copied().collect();
    data.extend(list_prefixes(&listed));
    data.push(key_use(
        env,
        "UseDataKeyThroughS3AndSageMaker",
        &[
            "kms:Decrypt",
            "kms:DescribeKey",
            "kms:Encrypt",
            "kms:GenerateDataKey",
        ],
    ));
    data.push(volume_grants(env));
    let repositories = sorted(
        monitored
            .iter()
            .filter_map(|(_, m)| {
                super::validate::parse_ecr_image(&format!("{}:latest", m.image_uri))
            })
            .map(|i| i.repository_arn())
            .collect(),
    );
    let images = vec![
        pull(repositories),
        ecr_login(),
        log_groups(env, &["/aws/sagemaker/ProcessingJobs".to_string()]),
        // Model Monitor publishes its data-quality metrics here.
        metrics(&["aws/sagemaker/Endpoints/data-metrics"]),
    ];
    Some(vec![
        InlinePolicy {
            policy_name: "captured-data-and-reports".into(),
            policy_document: document(data),
        },
        InlinePolicy {
            policy_name: "images-and-logs".into(),
            policy_document: document(images),
        },
    ])
}
