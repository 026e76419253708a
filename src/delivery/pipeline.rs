//! The delivery stack `{project}-delivery`: a CodePipeline (V2, queued) that
//! takes the project's repository and the mlinfra binary, and per
//! environment, in promotion order, plans (publishing plan.md), waits for a
//! manual approval where the environment is protected, and applies exactly
//! the approved plan. A KMS-encrypted artifact bucket, logs kept for a year,
//! and roles that may do only that: the builds may only assume the
//! environments' deploy roles.
//!
//! The buildspecs are the documented recipes (`docs/examples/`), which the
//! test suite runs against the emulator.

use serde_json::{Value, json};

use super::bootstrap;
use crate::config::Env;
use crate::template::Canonical;

const PLAN_BUILDSPEC: &str = include_str!("../../docs/examples/buildspec-plan.yml");
const APPLY_BUILDSPEC: &str = include_str!("../../docs/examples/buildspec-apply.yml");

/// Days CloudWatch keeps the build logs.
pub const LOG_RETENTION_DAYS: u32 = 365;

/// Where the pipeline's source comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// A CodeConnections connection (GitHub, GitLab, Bitbucket).
    pub connection_arn: String,
    /// `owner/name`.
    pub repository: String,
    pub branch: String,
}

/// What the delivery stack is rendered from.
#[derive(Debug, Clone)]
pub struct Delivery<'a> {
    pub project: &'a str,
    pub account_id: &'a str,
    pub region: &'a str,
    pub source: Source,
    /// In promotion order.
    pub environments: &'a [Env],
    /// SHA-256 of the mlinfra binary the builds run.
    pub binary_sha256: &'a str,
}

pub fn stack_name(project: &str) -> String {
    format!("{project}-delivery")
}

fn pascal(name: &str) -> String {
    crate::config::names::pascal_case(name)
}

/// The delivery template.
pub fn template(d: &Delivery<'_>) -> Canonical {
    let (project, account, region) = (d.project, d.account_id, d.region);
    let prefix = format!("{project}-delivery");
    let bucket_arn = json!({"Fn::GetAtt": ["ArtifactBucket", "Arn"]});
    let objects_arn = json!({"Fn::Sub": "${ArtifactBucket.Arn}/*"});
    let key_arn = json!({"Fn::GetAtt": ["ArtifactKey", "Arn"]});
    let log_group = format!("/mlinfra/{prefix}");
    let log_group_arn = format!("arn:aws:logs:{region}:{account}:log-group:{log_group}:*");
    let deploy_roles: Vec<String> = d
        .environments
        .iter()
        .map(|env| bootstrap::roles(env).0.arn(&env.account_id))
        .collect();
    let tags = json!([
        {"Key": "mlinfra:project", "Value": project},
        {"Key": "mlinfra:stack", "Value": "delivery"},
    ]);
    let project_names: Vec<(String, String)> = ["plan", "apply"]
        .iter()
        .map(|kind| (kind.to_string(), format!("{prefix}-{kind}")))
        .collect();
    let project_arns: Vec<String> = project_names
        .iter()
        .map(|(_, name)| format!("arn:aws:codebuild:{region}:{account}:project/{name}"))
        .collect();

    let mut resources = serde_json::Map::new();
    resources.insert(
        "ArtifactKey".into(),
        json!({
            "Type": "AWS::KMS::Key",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Description": format!("Encrypts the artifacts and build logs of {prefix}"),
                "EnableKeyRotation": true,
                "PendingWindowInDays": 30,
                "KeyPolicy": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "AccountAdministersKeyThroughIam",
                            "Effect": "Allow",
                            "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
                            "Action": "kms:*",
                            "Resource": "*"
                        },
                        {
                            "Sid": "BuildLogs",
                            "Effect": "Allow",
                            "Principal": {"Service": format!("logs.{region}.amazonaws.com")},
                            "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:DescribeKey"],
                            "Resource": "*",
                            "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": format!("arn:aws:logs:{region}:{account}:log-group:{log_group}")}}
                        }
                    ]
                },
                "Tags": tags,
            }
        }),
    );
    resources.insert(
        "ArtifactBucket".into(),
        json!({
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Metadata": {"checkov": {"skip": [
                {"id": "CKV_AWS_18", "comment": "Only the pipeline's and its builds' roles write here; object access is recorded by CloudTrail data events, not server access logs."}
            ]}},
            "Properties": {
                "BucketName": format!("{prefix}-artifacts-{account}-{region}"),
                "BucketEncryption": {"ServerSideEncryptionConfiguration": [{
                    "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
                    "BucketKeyEnabled": true
                }]},
                "VersioningConfiguration": {"Status": "Enabled"},
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": true, "BlockPublicPolicy": true,
                    "IgnorePublicAcls": true, "RestrictPublicBuckets": true
                },
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "LifecycleConfiguration": {"Rules": [{
                    "Id": "ExpireOldArtifacts",
                    "Status": "Enabled",
                    "NoncurrentVersionExpiration": {"NoncurrentDays": 90},
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}
                }]},
                "Tags": tags,
            }
        }),
    );
    resources.insert(
        "ArtifactBucketPolicy".into(),
        json!({
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": "ArtifactBucket"},
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, objects_arn],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}}
                }]}
            }
        }),
    );
    resources.insert(
        "BuildLogs".into(),
        json!({
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "LogGroupName": log_group,
                "RetentionInDays": LOG_RETENTION_DAYS,
                "KmsKeyId": key_arn,
                "Tags": tags,
            }
        }),
    );
    let artifacts_access = json!({
        "Sid": "Artifacts",
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:GetBucketVersioning", "s3:GetBucketLocation"],
        "Resource": [bucket_arn, objects_arn]
    });
    let key_access = json!({
        "Sid": "ArtifactKey",
        "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:DescribeKey"],
        "Resource": key_arn
    });
    resources.insert(
        "BuildRole".into(),
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": format!("{prefix}-build"),
                "Description": format!("CodeBuild of {prefix}: may only assume the environments' deploy roles"),
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": "codebuild.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": account}}
                }]},
                "Policies": [{"PolicyName": "mlinfra-build", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Sid": "DeployRoles", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": deploy_roles},
                    {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": log_group_arn},
                    artifacts_access,
                    key_access
                ]}}],
                "Tags": tags,
            }
        }),
    );
    resources.insert(
        "PipelineRole".into(),
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": format!("{prefix}-pipeline"),
                "Description": format!("CodePipeline of {prefix}"),
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": "codepipeline.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": account}}
                }]},
                "Policies": [{"PolicyName": "mlinfra-pipeline", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Sid": "Source", "Effect": "Allow", "Action": "codeconnections:UseConnection", "Resource": d.source.connection_arn},
                    {"Sid": "Builds", "Effect": "Allow", "Action": ["codebuild:StartBuild", "codebuild:BatchGetBuilds"], "Resource": project_arns},
                    artifacts_access,
                    key_access
                ]}}],
                "Tags": tags,
            }
        }),
    );
    for (kind, name) in &project_names {
        let buildspec = if kind == "plan" {
            PLAN_BUILDSPEC
        } else {
            APPLY_BUILDSPEC
        };
        resources.insert(
            format!("{}Project", pascal(kind)),
            json!({
                "Type": "AWS::CodeBuild::Project",
                "Properties": {
                    "Name": name,
                    "Description": format!("mlinfra {kind} of one environment (MLINFRA_ENV)"),
                    "ServiceRole": {"Fn::GetAtt": ["BuildRole", "Arn"]},
                    "EncryptionKey": key_arn,
                    "Source": {"Type": "CODEPIPELINE", "BuildSpec": buildspec},
                    "Artifacts": {"Type": "CODEPIPELINE"},
                    "Environment": {
                        "Type": "LINUX_CONTAINER",
                        "ComputeType": "BUILD_GENERAL1_SMALL",
                        "Image": "aws/codebuild/amazonlinux-x86_64-standard:5.0",
                        "PrivilegedMode": false,
                        "EnvironmentVariables": [
                            {"Name": "MLINFRA_SHA256", "Type": "PLAINTEXT", "Value": d.binary_sha256},
                            {"Name": "NO_COLOR", "Type": "PLAINTEXT", "Value": "1"}
                        ]
                    },
                    "LogsConfig": {"CloudWatchLogs": {"Status": "ENABLED", "GroupName": {"Ref": "BuildLogs"}}},
                    "TimeoutInMinutes": 120,
                    "Tags": tags,
                }
            }),
        );
    }

    let mut stages = vec![json!({
        "Name": "Source",
        "Actions": [
            {
                "Name": "Repository",
                "ActionTypeId": {"Category": "Source", "Owner": "AWS", "Provider": "CodeStarSourceConnection", "Version": "1"},
                "Configuration": {
                    "ConnectionArn": d.source.connection_arn,
                    "FullRepositoryId": d.source.repository,
                    "BranchName": d.source.branch,
                    "DetectChanges": true
                },
                "OutputArtifacts": [{"Name": "source"}]
            },
            {
                "Name": "Tools",
                "ActionTypeId": {"Category": "Source", "Owner": "AWS", "Provider": "S3", "Version": "1"},
                "Configuration": {
                    "S3Bucket": {"Ref": "ArtifactBucket"},
                    "S3ObjectKey": super::tools::zip_key(d.binary_sha256),
                    "PollForSourceChanges": false
                },
                "OutputArtifacts": [{"Name": "tools"}]
            }
        ]
    })];
    for env in d.environments {
        let id = pascal(&env.name);
        let variable =
            |name: &str| json!({"Name": "MLINFRA_ENV", "Type": "PLAINTEXT", "Value": name});
        let mut actions = vec![json!({
            "Name": "Plan",
            "RunOrder": 1,
            "Namespace": format!("Plan{id}"),
            "ActionTypeId": {"Category": "Build", "Owner": "AWS", "Provider": "CodeBuild", "Version": "1"},
            "Configuration": {
                "ProjectName": {"Ref": "PlanProject"},
                "PrimarySource": "source",
                "EnvironmentVariables": serde_json::to_string(&[variable(&env.name)]).expect("JSON"),
            },
            "InputArtifacts": [{"Name": "source"}, {"Name": "tools"}],
            "OutputArtifacts": [{"Name": format!("plan{id}")}]
        })];
        let mut apply_order = 2;
        if env.termination_protection {
            actions.push(json!({
                "Name": "Approve",
                "RunOrder": 2,
                "ActionTypeId": {"Category": "Approval", "Owner": "AWS", "Provider": "Manual", "Version": "1"},
                "Configuration": {
                    "CustomData": format!(
                        "{}: #{{Plan{id}.PLAN_SUMMARY}}; IAM broadening: #{{Plan{id}.IAM_BROADENING}}. Approving also approves the IAM changes listed in plan.md.",
                        env.name
                    ),
                    "ExternalEntityLink": format!(
                        "https://{region}.console.aws.amazon.com/codesuite/codebuild/projects/{prefix}-plan/build/#{{Plan{id}.CODEBUILD_BUILD_ID}}/log"
                    )
                }
            }));
            apply_order = 3;
        }
        actions.push(json!({
            "Name": "Apply",
            "RunOrder": apply_order,
            "ActionTypeId": {"Category": "Build", "Owner": "AWS", "Provider": "CodeBuild", "Version": "1"},
            "Configuration": {
                "ProjectName": {"Ref": "ApplyProject"},
                "PrimarySource": format!("plan{id}"),
                "EnvironmentVariables": serde_json::to_string(&[variable(&env.name)]).expect("JSON"),
            },
            "InputArtifacts": [{"Name": format!("plan{id}")}, {"Name": "tools"}]
        }));
        stages.push(json!({"Name": format!("Deploy{id}"), "Actions": actions}));
    }
    resources.insert(
        "Pipeline".into(),
        json!({
            "Type": "AWS::CodePipeline::Pipeline",
            "Properties": {
                "Name": prefix,
                "PipelineType": "V2",
                "ExecutionMode": "QUEUED",
                "RoleArn": {"Fn::GetAtt": ["PipelineRole", "Arn"]},
                "ArtifactStore": {
                    "Type": "S3",
                    "Location": {"Ref": "ArtifactBucket"},
                    "EncryptionKey": {"Id": key_arn, "Type": "KMS"}
                },
                "Stages": stages,
                "Tags": tags,
            }
        }),
    );
    let value: Value = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!(
            "mlinfra delivery of {project}: {} in order, the same mlinfra binary (sha256 {})",
            d.environments.iter().map(|e| e.name.as_str()).collect::<Vec<_>>().join(" → "),
            d.binary_sha256
        ),
        "Resources": resources,
        "Outputs": {
            "ArtifactBucketName": {"Value": {"Ref": "ArtifactBucket"}},
            "ArtifactKeyArn": {"Value": key_arn},
            "PipelineName": {"Value": {"Ref": "Pipeline"}},
        }
    });
    Canonical::new(value)
}
