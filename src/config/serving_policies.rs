//! The inline policies of the serving role (the role of the environment's
//! SageMaker models) and of the monitoring role. The serving role reads the
//! models it serves and writes only its endpoints' log groups and their
//! capture prefixes: it never writes where models are (validation keeps
//! capture out of model zones). The monitoring role reads captured data and
//! baselines and writes only its reports.

use super::env::{Env, S3Location};
use super::policies::{
    DATA_KEY_READ_WRITE, Grant, InlinePolicy, Resource, WRITE_LOGS, data_key_read_write, document,
    ecr_login, key_through_s3_and_sagemaker, metrics, object_arn, pull, sorted, volume_grants,
};

fn log_groups(env: &Env, groups: &[String]) -> Grant {
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
    Grant::allow("WriteOwnLogGroups", &WRITE_LOGS, Resource::Many(arns))
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
    let mut data = vec![Grant::allow(
        "ReadServedModels",
        &["s3:GetObject"],
        Resource::Many(models),
    )];
    if !captures.is_empty() {
        data.push(Grant::allow(
            "WriteCapturedDataOnly",
            &["s3:PutObject"],
            Resource::Many(sorted(
                captures.iter().map(|l| object_arn(l, true)).collect(),
            )),
        ));
        data.push(key_through_s3_and_sagemaker(
            env,
            "ReadModelsAndEncryptCapturedData",
            &DATA_KEY_READ_WRITE,
        ));
    } else {
        data.push(key_through_s3_and_sagemaker(
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
        Grant::allow(
            "ReadCapturedDataAndBaselines",
            &["s3:GetObject"],
            Resource::Many(reads),
        ),
        Grant::allow(
            "WriteMonitoringReports",
            &["s3:PutObject", "s3:AbortMultipartUpload"],
            Resource::Many(sorted(
                outputs.iter().map(|l| object_arn(l, true)).collect(),
            )),
        ),
    ];
    let listed: Vec<&S3Location> = captures.iter().chain(&outputs).copied().collect();
    data.extend(data_key_read_write(env, &listed));
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
