//! Every rule, broken on purpose: a tampered template of the `prod` example (or
//! a fixture configuration) and the rule id and logical id `check` must report.

use std::collections::BTreeSet;

use mlinfra::check::{self, RuleId};
use mlinfra::project::Project;
use mlinfra::stacks::Layer;
use mlinfra::template::Canonical;
use serde_json::{Value, json};

use super::support::*;

struct Case {
    what: &'static str,
    rule: RuleId,
    layer: Layer,
    at: Option<&'static str>,
    edit: fn(&mut Value),
}

const IAM_ROLE: &str = "ExecutionRole";

fn cases() -> Vec<Case> {
    use Layer::*;
    use RuleId::*;
    vec![
        Case {
            what: "Action \"*\"",
            rule: Iam001,
            layer: Iam,
            at: Some(IAM_ROLE),
            edit: |t| {
                statement(t, IAM_ROLE, "ReadInputsModelsAndCheckpoints")["Action"] = json!("*")
            },
        },
        Case {
            what: "Allow with NotAction",
            rule: Iam001,
            layer: Iam,
            at: Some(IAM_ROLE),
            edit: |t| {
                let s = statement(t, IAM_ROLE, "ReadInputsModelsAndCheckpoints");
                remove(s, "Action");
                s["NotAction"] = json!(["s3:DeleteObject"]);
            },
        },
        Case {
            what: "service wildcard",
            rule: Iam002,
            layer: Iam,
            at: Some(IAM_ROLE),
            edit: |t| {
                statement(t, IAM_ROLE, "WriteOutputsAndCheckpoints")["Action"] =
                    json!(["s3:PutObject", "s3:*"])
            },
        },
        Case {
            what: "kms:* granted to another account in the key policy",
            rule: Iam002,
            layer: Data,
            at: Some("DataKey"),
            edit: |t| {
                props(t, "DataKey")["KeyPolicy"]["Statement"][0]["Principal"]["AWS"] =
                    json!("arn:aws:iam::111122223333:root")
            },
        },
        Case {
            what: "Resource \"*\" for s3:GetObject",
            rule: Iam003,
            layer: Iam,
            at: Some(IAM_ROLE),
            edit: |t| {
                statement(t, IAM_ROLE, "ReadInputsModelsAndCheckpoints")["Resource"] = json!("*")
            },
        },
        Case {
            what: "PutMetricData without its namespace condition",
            rule: Iam003,
            layer: Iam,
            at: Some(IAM_ROLE),
            edit: |t| {
                remove(
                    statement(t, IAM_ROLE, "PublishSageMakerMetricsOnly"),
                    "Condition",
                )
            },
        },
        Case {
            what: "a scopeable action next to GetAuthorizationToken",
            rule: Iam003,
            layer: Iam,
            at: Some(IAM_ROLE),
            edit: |t| {
                statement(t, IAM_ROLE, "EcrLoginHasNoResourceLevelPermissions")["Action"] =
                    json!(["ecr:GetAuthorizationToken", "ecr:BatchGetImage"])
            },
        },
        Case {
            what: "NotResource",
            rule: Iam003,
            layer: Iam,
            at: Some("InferenceLambdaInvokerRole"),
            edit: |t| {
                let s = statement(t, "InferenceLambdaInvokerRole", "InvokeNamedEndpoints");
                remove(s, "Resource");
                s["NotResource"] = json!("arn:aws:sagemaker:us-east-1:345678901234:endpoint/other");
            },
        },
        Case {
            what: "AWS managed FullAccess policy",
            rule: Iam004,
            layer: Iam,
            at: Some(IAM_ROLE),
            edit: |t| {
                props(t, IAM_ROLE)["ManagedPolicyArns"] =
                    json!(["arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"])
            },
        },
        Case {
            what: "AdministratorAccess through Fn::Sub",
            rule: Iam004,
            layer: Iam,
            at: Some("PipelineRole"),
            edit: |t| {
                props(t, "PipelineRole")["ManagedPolicyArns"] = json!([{ "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AdministratorAccess" }])
            },
        },
        Case {
            what: "PassRole on every role",
            rule: Iam005,
            layer: Iam,
            at: Some("PipelineRole"),
            edit: |t| {
                statement(t, "PipelineRole", "PassOnlyTheExecutionRoleToSageMaker")["Resource"] =
                    json!("*")
            },
        },
        Case {
            what: "PassRole on a role pattern",
            rule: Iam005,
            layer: Iam,
            at: Some("PipelineRole"),
            edit: |t| {
                statement(t, "PipelineRole", "PassOnlyTheExecutionRoleToSageMaker")["Resource"] =
                    json!("arn:aws:iam::345678901234:role/dogbreed-*")
            },
        },
        Case {
            what: "PassRole without iam:PassedToService",
            rule: Iam005,
            layer: Iam,
            at: Some("PipelineRole"),
            edit: |t| {
                remove(
                    statement(t, "PipelineRole", "PassOnlyTheExecutionRoleToSageMaker"),
                    "Condition",
                )
            },
        },
        Case {
            what: "PassRole through iam:Pass*",
            rule: Iam005,
            layer: Iam,
            at: Some(IAM_ROLE),
            edit: |t| {
                statement(t, IAM_ROLE, "ReadInputsModelsAndCheckpoints")["Action"] =
                    json!(["s3:GetObject", "iam:Pass*"])
            },
        },
        Case {
            what: "trust policy trusting *",
            rule: Iam006,
            layer: Iam,
            at: Some(IAM_ROLE),
            edit: |t| trust(t, IAM_ROLE)["Principal"] = json!("*"),
        },
        Case {
            what: "trust policy trusting AWS *",
            rule: Iam006,
            layer: Iam,
            at: Some("PipelineRole"),
            edit: |t| trust(t, "PipelineRole")["Principal"] = json!({ "AWS": "*" }),
        },
        Case {
            what: "trust policy with a wildcard service",
            rule: Iam006,
            layer: Iam,
            at: Some(IAM_ROLE),
            edit: |t| trust(t, IAM_ROLE)["Principal"] = json!({ "Service": "*.amazonaws.com" }),
        },
        Case {
            what: "trust policy naming an account",
            rule: Iam007,
            layer: Iam,
            at: Some("InferenceLambdaInvokerRole"),
            edit: |t| {
                trust(t, "InferenceLambdaInvokerRole")["Principal"] =
                    json!({ "AWS": "arn:aws:iam::111122223333:root" })
            },
        },
        Case {
            what: "public bucket policy",
            rule: Iam008,
            layer: Data,
            at: Some("RawBucketPolicy"),
            edit: |t| {
                props(t, "RawBucketPolicy")["PolicyDocument"]["Statement"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({
                        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::dogbreed-prod-raw-345678901234-us-east-1/*"
                    }));
            },
        },
        Case {
            what: "service trust without aws:SourceAccount",
            rule: Iam009,
            layer: Iam,
            at: Some("PipelineRole"),
            edit: |t| remove(trust(t, "PipelineRole"), "Condition"),
        },
        Case {
            what: "bucket without DeletionPolicy",
            rule: Data001,
            layer: Data,
            at: Some("RawBucket"),
            edit: |t| remove(resource(t, "RawBucket"), "DeletionPolicy"),
        },
        Case {
            what: "key with DeletionPolicy Delete",
            rule: Data001,
            layer: Data,
            at: Some("DataKey"),
            edit: |t| resource(t, "DataKey")["DeletionPolicy"] = json!("Delete"),
        },
        Case {
            what: "bucket replaced on update",
            rule: Data002,
            layer: Data,
            at: Some("ModelsBucket"),
            edit: |t| resource(t, "ModelsBucket")["UpdateReplacePolicy"] = json!("Delete"),
        },
        Case {
            what: "key without UpdateReplacePolicy",
            rule: Data002,
            layer: Data,
            at: Some("DataKey"),
            edit: |t| remove(resource(t, "DataKey"), "UpdateReplacePolicy"),
        },
        Case {
            what: "unencrypted bucket",
            rule: Data003,
            layer: Data,
            at: Some("AccessLogBucket"),
            edit: |t| remove(props(t, "AccessLogBucket"), "BucketEncryption"),
        },
        Case {
            what: "zone bucket on SSE-S3",
            rule: Data004,
            layer: Data,
            at: Some("CuratedBucket"),
            edit: |t| {
                props(t, "CuratedBucket")["BucketEncryption"]["ServerSideEncryptionConfiguration"]
                    [0] = json!({ "ServerSideEncryptionByDefault": { "SSEAlgorithm": "AES256" } })
            },
        },
        Case {
            what: "zone bucket on a foreign key",
            rule: Data004,
            layer: Data,
            at: Some("RawBucket"),
            edit: |t| {
                props(t, "RawBucket")["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
                    ["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] = json!("alias/aws/s3")
            },
        },
        Case {
            what: "bucket without its policy",
            rule: Data005,
            layer: Data,
            at: Some("CuratedBucket"),
            edit: |t| remove(&mut t["Resources"], "CuratedBucketPolicy"),
        },
        Case {
            what: "TLS condition inverted",
            rule: Data005,
            layer: Data,
            at: Some("ModelsBucket"),
            edit: |t| {
                props(t, "ModelsBucketPolicy")["PolicyDocument"]["Statement"][0]["Condition"]["Bool"]
                    ["aws:SecureTransport"] = json!("true")
            },
        },
        Case {
            what: "TLS denial only on the bucket, not its objects",
            rule: Data005,
            layer: Data,
            at: Some("RawBucket"),
            edit: |t| {
                props(t, "RawBucketPolicy")["PolicyDocument"]["Statement"][0]["Resource"] =
                    json!("arn:aws:s3:::dogbreed-prod-raw-345678901234-us-east-1")
            },
        },
        Case {
            what: "versioning suspended",
            rule: Data006,
            layer: Data,
            at: Some("RawBucket"),
            edit: |t| {
                props(t, "RawBucket")["VersioningConfiguration"]["Status"] = json!("Suspended")
            },
        },
        Case {
            what: "public policies allowed",
            rule: Data007,
            layer: Data,
            at: Some("ModelsBucket"),
            edit: |t| {
                props(t, "ModelsBucket")["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] =
                    json!(false)
            },
        },
        Case {
            what: "no public access block",
            rule: Data007,
            layer: Data,
            at: Some("AccessLogBucket"),
            edit: |t| {
                remove(
                    props(t, "AccessLogBucket"),
                    "PublicAccessBlockConfiguration",
                )
            },
        },
        Case {
            what: "no access logs",
            rule: Data008,
            layer: Data,
            at: Some("RawBucket"),
            edit: |t| remove(props(t, "RawBucket"), "LoggingConfiguration"),
        },
        Case {
            what: "key rotation off",
            rule: Data009,
            layer: Data,
            at: Some("DataKey"),
            edit: |t| props(t, "DataKey")["EnableKeyRotation"] = json!(false),
        },
        Case {
            what: "endpoint config without a key",
            rule: Srv001,
            layer: Serving,
            at: Some("DogbreedEndpointConfig"),
            edit: |t| remove(props(t, "DogbreedEndpointConfig"), "KmsKeyId"),
        },
        Case {
            what: "endpoint config on the AWS managed key",
            rule: Srv001,
            layer: Serving,
            at: Some("DogbreedEndpointConfig"),
            edit: |t| props(t, "DogbreedEndpointConfig")["KmsKeyId"] = json!("alias/aws/sagemaker"),
        },
        Case {
            what: "volume key on an NVMe instance",
            rule: Srv002,
            layer: Serving,
            at: Some("DogbreedEndpointConfig"),
            edit: |t| {
                props(t, "DogbreedEndpointConfig")["ProductionVariants"][0]["InstanceType"] =
                    json!("ml.g5.xlarge")
            },
        },
        Case {
            what: "variant properties reset on deploy",
            rule: Srv003,
            layer: Serving,
            at: Some("DogbreedEndpoint"),
            edit: |t| props(t, "DogbreedEndpoint")["RetainAllVariantProperties"] = json!(false),
        },
        Case {
            what: "definition is not JSON",
            rule: Trn001,
            layer: Training,
            at: Some("DogbreedPipeline"),
            edit: |t| {
                props(t, "DogbreedPipeline")["PipelineDefinition"]["PipelineDefinitionBody"]["Fn::Sub"]
                    [0] = json!("{not json")
            },
        },
        Case {
            what: "definition without a training step",
            rule: Trn001,
            layer: Training,
            at: Some("DogbreedPipeline"),
            edit: |t| edit_definition(t, "DogbreedPipeline", |d| d["Steps"] = json!([])),
        },
        Case {
            what: "definition in S3, not inline",
            rule: Trn001,
            layer: Training,
            at: Some("DogbreedPipeline"),
            edit: |t| {
                props(t, "DogbreedPipeline")["PipelineDefinition"] =
                    json!({ "PipelineDefinitionS3Location": { "Bucket": "b", "Key": "k" } })
            },
        },
        Case {
            what: "spot without checkpoints",
            rule: Trn002,
            layer: Training,
            at: Some("DogbreedPipeline"),
            edit: |t| {
                edit_definition(t, "DogbreedPipeline", |d| {
                    remove(train_args(d), "CheckpointConfig")
                })
            },
        },
        Case {
            what: "spot wait shorter than the runtime",
            rule: Trn003,
            layer: Training,
            at: Some("DogbreedPipeline"),
            edit: |t| {
                edit_definition(t, "DogbreedPipeline", |d| {
                    train_args(d)["StoppingCondition"]["MaxWaitTimeInSeconds"] = json!(3 * 3600 - 1)
                })
            },
        },
        Case {
            what: "spot wait over 28 days",
            rule: Trn003,
            layer: Training,
            at: Some("DogbreedPipeline"),
            edit: |t| {
                edit_definition(t, "DogbreedPipeline", |d| {
                    train_args(d)["StoppingCondition"]["MaxWaitTimeInSeconds"] =
                        json!(28 * 86400 + 1)
                })
            },
        },
        Case {
            what: "spot without a wait",
            rule: Trn003,
            layer: Training,
            at: Some("DogbreedPipeline"),
            edit: |t| {
                edit_definition(t, "DogbreedPipeline", |d| {
                    remove(
                        &mut train_args(d)["StoppingCondition"],
                        "MaxWaitTimeInSeconds",
                    )
                })
            },
        },
        Case {
            what: "runtime over 28 days",
            rule: Trn004,
            layer: Training,
            at: Some("DogbreedPipeline"),
            edit: |t| {
                edit_definition(t, "DogbreedPipeline", |d| {
                    train_args(d)["StoppingCondition"]["MaxRuntimeInSeconds"] =
                        json!(28 * 86400 + 1)
                })
            },
        },
        Case {
            what: "no runtime bound",
            rule: Trn004,
            layer: Training,
            at: Some("DogbreedPipeline"),
            edit: |t| {
                edit_definition(t, "DogbreedPipeline", |d| {
                    remove(
                        &mut train_args(d)["StoppingCondition"],
                        "MaxRuntimeInSeconds",
                    )
                })
            },
        },
        Case {
            what: "unencrypted model artifacts",
            rule: Trn005,
            layer: Training,
            at: Some("DogbreedPipeline"),
            edit: |t| {
                edit_definition(t, "DogbreedPipeline", |d| {
                    remove(&mut train_args(d)["OutputDataConfig"], "KmsKeyId")
                })
            },
        },
        Case {
            what: "EBS training volume without the key",
            rule: Trn005,
            layer: Training,
            at: Some("DogbreedPipeline"),
            edit: |t| {
                edit_definition(t, "DogbreedPipeline", |d| {
                    train_args(d)["ResourceConfig"]["InstanceType"] = json!("ml.p3.2xlarge")
                })
            },
        },
        Case {
            what: "Fn::Sub key variable pointing elsewhere",
            rule: Trn005,
            layer: Training,
            at: Some("DogbreedPipeline"),
            edit: |t| {
                props(t, "DogbreedPipeline")["PipelineDefinition"]["PipelineDefinitionBody"]["Fn::Sub"]
                    [1]["KeyArn"] = json!("arn:aws:kms:us-east-1:111122223333:key/other")
            },
        },
        Case {
            what: "volume key on an NVMe training instance",
            rule: Trn006,
            layer: Training,
            at: Some("DogbreedPipeline"),
            edit: |t| {
                edit_definition(t, "DogbreedPipeline", |d| {
                    train_args(d)["ResourceConfig"]["VolumeKmsKeyId"] = json!("${KeyArn}")
                })
            },
        },
        Case {
            what: "distributed training in the clear",
            rule: Trn007,
            layer: Training,
            at: Some("DogbreedPipeline"),
            edit: |t| {
                edit_definition(t, "DogbreedPipeline", |d| {
                    train_args(d)["ResourceConfig"]["InstanceCount"] = json!(4)
                })
            },
        },
        Case {
            what: "model isolation off without an opt-out",
            rule: Net001,
            layer: Serving,
            at: Some("DogbreedModel"),
            edit: |t| props(t, "DogbreedModel")["EnableNetworkIsolation"] = json!(false),
        },
        Case {
            what: "training isolation off without an opt-out",
            rule: Net001,
            layer: Training,
            at: Some("DogbreedPipeline"),
            edit: |t| {
                edit_definition(t, "DogbreedPipeline", |d| {
                    train_args(d)["EnableNetworkIsolation"] = json!(false)
                })
            },
        },
        Case {
            what: "template over the inline limit",
            rule: Lim001,
            layer: Serving,
            at: None,
            edit: |t| t["Metadata"] = json!({ "padding": "x".repeat(52_000) }),
        },
        Case {
            what: "template over 1 MB",
            rule: Lim002,
            layer: Serving,
            at: None,
            edit: |t| t["Metadata"] = json!({ "padding": "x".repeat(1_000_001) }),
        },
        Case {
            what: "501 resources",
            rule: Lim003,
            layer: Serving,
            at: None,
            edit: |t| {
                for i in 0..501 {
                    t["Resources"][format!("Handle{i}")] =
                        json!({ "Type": "AWS::CloudFormation::WaitConditionHandle" });
                }
            },
        },
        Case {
            what: "201 outputs",
            rule: Lim004,
            layer: Serving,
            at: None,
            edit: |t| {
                for i in 0..201 {
                    t["Outputs"][format!("Out{i}")] = json!({ "Value": "x" });
                }
            },
        },
        Case {
            what: "201 parameters",
            rule: Lim005,
            layer: Serving,
            at: None,
            edit: |t| {
                t["Parameters"] = json!({});
                for i in 0..201 {
                    t["Parameters"][format!("P{i}")] = json!({ "Type": "String" });
                }
            },
        },
        Case {
            what: "role name over 64 characters",
            rule: Lim006,
            layer: Iam,
            at: Some(IAM_ROLE),
            edit: |t| props(t, IAM_ROLE)["RoleName"] = json!("r".repeat(65)),
        },
        Case {
            what: "logical id with a dash",
            rule: Lim006,
            layer: Serving,
            at: Some("Bad-Id"),
            edit: |t| {
                t["Resources"]["Bad-Id"] =
                    json!({ "Type": "AWS::CloudFormation::WaitConditionHandle" })
            },
        },
        Case {
            what: "bucket name with capitals",
            rule: Lim006,
            layer: Data,
            at: Some("RawBucket"),
            edit: |t| props(t, "RawBucket")["BucketName"] = json!("Dogbreed-Raw"),
        },
        Case {
            what: "alias outside alias/",
            rule: Lim006,
            layer: Data,
            at: Some("DataKeyAlias"),
            edit: |t| props(t, "DataKeyAlias")["AliasName"] = json!("dogbreed-prod-data"),
        },
        Case {
            what: "endpoint name over 63 characters",
            rule: Lim006,
            layer: Serving,
            at: Some("DogbreedEndpoint"),
            edit: |t| props(t, "DogbreedEndpoint")["EndpointName"] = json!("e".repeat(64)),
        },
        // Evasions: the same grants written so that a reader of literals misses them.
        Case {
            what: "every bucket's objects as an ARN (arn:aws:s3:::*/*)",
            rule: Iam003,
            layer: Iam,
            at: Some(IAM_ROLE),
            edit: |t| {
                statement(t, IAM_ROLE, "ReadInputsModelsAndCheckpoints")["Resource"] =
                    json!("arn:aws:s3:::*/*")
            },
        },
        Case {
            what: "every KMS key as an ARN (arn:aws:kms:*:*:key/*)",
            rule: Iam003,
            layer: Iam,
            at: Some(IAM_ROLE),
            edit: |t| {
                statement(t, IAM_ROLE, "UseDataKeyThroughS3AndSageMaker")["Resource"] =
                    json!("arn:aws:kms:*:*:key/*")
            },
        },
        Case {
            what: "iam:Put* on role/*: a partial wildcard",
            rule: Iam010,
            layer: Iam,
            at: Some(IAM_ROLE),
            edit: |t| {
                push_statement(
                    t,
                    IAM_ROLE,
                    json!({
                        "Effect": "Allow", "Action": "iam:Put*",
                        "Resource": "arn:aws:iam::345678901234:role/*"
                    }),
                )
            },
        },
        Case {
            what: "iam:Put* on role/*: the role can grant itself anything",
            rule: Iam011,
            layer: Iam,
            at: Some(IAM_ROLE),
            edit: |t| {
                push_statement(
                    t,
                    IAM_ROLE,
                    json!({
                        "Effect": "Allow", "Action": "iam:Put*",
                        "Resource": "arn:aws:iam::345678901234:role/*"
                    }),
                )
            },
        },
        Case {
            what: "iam:Put* on role/*: every role",
            rule: Iam003,
            layer: Iam,
            at: Some("PipelineRole"),
            edit: |t| {
                push_statement(
                    t,
                    "PipelineRole",
                    json!({
                        "Effect": "Allow", "Action": "iam:Put*",
                        "Resource": "arn:aws:iam::345678901234:role/*"
                    }),
                )
            },
        },
        Case {
            what: "secretsmanager:Get*",
            rule: Iam010,
            layer: Iam,
            at: Some("InferenceLambdaInvokerRole"),
            edit: |t| {
                push_statement(
                    t,
                    "InferenceLambdaInvokerRole",
                    json!({
                        "Effect": "Allow", "Action": ["secretsmanager:Get*"],
                        "Resource": "arn:aws:secretsmanager:us-east-1:345678901234:secret:dogbreed-*"
                    }),
                )
            },
        },
        Case {
            what: "AdministratorAccess built with Fn::Join",
            rule: Iam004,
            layer: Iam,
            at: Some("PipelineRole"),
            edit: |t| {
                props(t, "PipelineRole")["ManagedPolicyArns"] = json!([{ "Fn::Join": ["", [
                    "arn:", { "Ref": "AWS::Partition" }, ":iam::aws:policy/", "Administrator", "Access"
                ]] }])
            },
        },
        Case {
            what: "PassRole on a role pattern built with Fn::Join",
            rule: Iam005,
            layer: Iam,
            at: Some("PipelineRole"),
            edit: |t| statement(t, "PipelineRole", "PassOnlyTheExecutionRoleToSageMaker")["Resource"] = json!({ "Fn::Join": ["", ["arn:aws:iam::", { "Ref": "AWS::AccountId" }, ":role/*"]] }),
        },
        Case {
            what: "a policy document given as an Fn::Sub string",
            rule: Iam001,
            layer: Iam,
            at: Some("InferenceLambdaInvokerRole"),
            edit: |t| {
                props(t, "InferenceLambdaInvokerRole")["Policies"][0]["PolicyDocument"] = json!({
                    "Fn::Sub": "{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"arn:aws:sagemaker:${AWS::Region}:${AWS::AccountId}:*\"}]}"
                })
            },
        },
        Case {
            what: "a trust policy given as an Fn::Sub string trusting anyone",
            rule: Iam006,
            layer: Iam,
            at: Some(IAM_ROLE),
            edit: |t| {
                props(t, IAM_ROLE)["AssumeRolePolicyDocument"] = json!({
                    "Fn::Sub": "{\"Statement\": [{\"Effect\": \"Allow\", \"Principal\": {\"AWS\": \"*\"}, \"Action\": \"sts:AssumeRole\"}]}"
                })
            },
        },
        Case {
            what: "a statement inside Fn::If",
            rule: Iam001,
            layer: Iam,
            at: Some(IAM_ROLE),
            edit: |t| {
                push_statement(
                    t,
                    IAM_ROLE,
                    json!({ "Fn::If": ["IsProduction",
                { "Effect": "Allow", "Action": "*", "Resource": "*" },
                { "Ref": "AWS::NoValue" }
            ] }),
                )
            },
        },
        Case {
            what: "actions from Fn::Split",
            rule: Iam001,
            layer: Iam,
            at: Some(IAM_ROLE),
            edit: |t| {
                statement(t, IAM_ROLE, "ReadInputsModelsAndCheckpoints")["Action"] =
                    json!({ "Fn::Split": [",", "s3:GetObject,*"] })
            },
        },
        Case {
            what: "a resource chosen by Fn::If",
            rule: Iam003,
            layer: Iam,
            at: Some("InferenceLambdaInvokerRole"),
            edit: |t| statement(t, "InferenceLambdaInvokerRole", "InvokeNamedEndpoints")["Resource"] = json!({ "Fn::If": ["IsProduction", "arn:aws:sagemaker:us-east-1:345678901234:endpoint/x", "*"] }),
        },
        Case {
            what: "a public bucket policy statement inside Fn::If",
            rule: Iam008,
            layer: Data,
            at: Some("RawBucketPolicy"),
            edit: |t| {
                props(t, "RawBucketPolicy")["PolicyDocument"]["Statement"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({ "Fn::If": ["Public", {
                        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::dogbreed-prod-raw-345678901234-us-east-1/*"
                    }, { "Ref": "AWS::NoValue" }] }));
            },
        },
        Case {
            what: "an action taken from a parameter",
            rule: Iam012,
            layer: Iam,
            at: Some(IAM_ROLE),
            edit: |t| {
                t["Parameters"] = json!({ "ExtraAction": { "Type": "String" } });
                statement(t, IAM_ROLE, "ReadInputsModelsAndCheckpoints")["Action"] =
                    json!(["s3:GetObject", { "Ref": "ExtraAction" }])
            },
        },
        Case {
            what: "an effect taken from a parameter",
            rule: Iam012,
            layer: Iam,
            at: Some(IAM_ROLE),
            edit: |t| {
                t["Parameters"] = json!({ "Effect": { "Type": "String" } });
                push_statement(
                    t,
                    IAM_ROLE,
                    json!({ "Effect": { "Ref": "Effect" }, "Action": "s3:DeleteBucket", "Resource": "*" }),
                )
            },
        },
        Case {
            what: "a resource from Fn::FindInMap",
            rule: Iam012,
            layer: Iam,
            at: Some("InferenceLambdaInvokerRole"),
            edit: |t| {
                statement(t, "InferenceLambdaInvokerRole", "InvokeNamedEndpoints")["Resource"] =
                    json!({ "Fn::FindInMap": ["Endpoints", "prod", "arn"] })
            },
        },
        Case {
            what: "a whole policy document from a parameter",
            rule: Iam012,
            layer: Iam,
            at: Some("PipelineRole"),
            edit: |t| {
                t["Parameters"] = json!({ "PipelinePolicy": { "Type": "String" } });
                props(t, "PipelineRole")["Policies"][0]["PolicyDocument"] =
                    json!({ "Ref": "PipelinePolicy" })
            },
        },
        Case {
            what: "a managed policy imported from another stack",
            rule: Iam012,
            layer: Iam,
            at: Some("PipelineRole"),
            edit: |t| {
                props(t, "PipelineRole")["ManagedPolicyArns"] =
                    json!([{ "Fn::ImportValue": "shared-admin-policy-arn" }])
            },
        },
        Case {
            what: "a protected endpoint whose alarms were removed",
            rule: Srv005,
            layer: Serving,
            at: Some("DogbreedEndpoint"),
            edit: |t| {
                t["Resources"]
                    .as_object_mut()
                    .unwrap()
                    .retain(|_, r| r["Type"] != "AWS::CloudWatch::Alarm")
            },
        },
        Case {
            what: "a protected endpoint on two instances at least, without DeploymentConfig",
            rule: Srv006,
            layer: Serving,
            at: Some("DogbreedEndpoint"),
            edit: |t| props(t, "DogbreedScalableTarget")["MinCapacity"] = json!(2),
        },
    ]
}

/// Rules proven by fixture configurations (below) rather than tampered templates.
const BY_CONFIG: &[RuleId] = &[
    RuleId::Srv004,
    RuleId::Lim001,
    RuleId::Lim003,
    RuleId::Lim004,
    RuleId::Net002,
    RuleId::Acc001,
];

#[test]
fn the_example_environments_have_no_findings_at_all() {
    for name in ["dev", "staging", "prod"] {
        let (env, stacks) = example(name);
        let findings = check::check_env(&env, &stacks);
        assert!(findings.is_empty(), "{name}: {:#?}", findings);
    }
}

#[test]
fn every_rule_catches_its_broken_template() {
    let mut failures = Vec::new();
    for case in cases() {
        let findings = tampered("prod", case.layer, case.edit);
        let found = findings
            .iter()
            .any(|f| f.rule == case.rule && f.logical_id.as_deref() == case.at);
        if !found {
            failures.push(format!(
                "{} ({}@{}): found {:?}",
                case.what,
                case.rule,
                case.at.unwrap_or("-"),
                labels(&findings)
            ));
        }
        let stack = findings
            .iter()
            .find(|f| f.rule == case.rule)
            .and_then(|f| f.stack.clone());
        if found
            && !stack
                .as_deref()
                .is_some_and(|s| s.ends_with(case.layer.as_str()))
        {
            failures.push(format!("{}: reported in stack {stack:?}", case.what));
        }
    }
    assert!(
        failures.is_empty(),
        "rules that missed their broken template:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_rule_has_a_breaking_fixture() {
    let covered: BTreeSet<RuleId> = cases()
        .iter()
        .map(|c| c.rule)
        .chain(BY_CONFIG.iter().copied())
        .collect();
    let missing: Vec<&str> = RuleId::ALL
        .iter()
        .filter(|r| !covered.contains(r))
        .map(|r| r.code())
        .collect();
    assert!(
        missing.is_empty(),
        "rules without a test that breaks them: {missing:?}"
    );
}

#[test]
fn findings_carry_severity_environment_stack_message_and_fix() {
    let findings = tampered("prod", Layer::Iam, |t| {
        statement(t, IAM_ROLE, "ReadInputsModelsAndCheckpoints")["Action"] = json!("*")
    });
    let f = findings
        .iter()
        .find(|f| f.rule == RuleId::Iam001)
        .expect("IAM001");
    assert_eq!(f.severity, mlinfra::check::Severity::Critical);
    assert_eq!(f.env, "prod");
    assert_eq!(f.stack.as_deref(), Some("dogbreed-prod-iam"));
    assert!(
        f.message.contains("ReadInputsModelsAndCheckpoints"),
        "{}",
        f.message
    );
    assert_eq!(f.fix, RuleId::Iam001.fix());
}

#[test]
fn a_long_stack_name_is_a_name_finding() {
    let (env, mut stacks) = example("dev");
    stacks[0].spec.name = format!("dogbreed-{}-data", "d".repeat(120));
    let findings = check::check_env(&env, &stacks);
    assert_reports(&findings, RuleId::Lim006, None);
}

#[test]
fn the_inline_limit_is_met_by_an_artifacts_bucket_but_not_the_1_mb_one() {
    let (mut env, mut stacks) = example("dev");
    env.artifacts_bucket = Some("dogbreed-cfn-artifacts".into());
    let mut value = stacks[0].template.value.clone();
    value["Metadata"] = json!({ "padding": "x".repeat(60_000) });
    stacks[0].template = Canonical::new(value.clone());
    assert_eq!(
        labels(&check::check_env(&env, &stacks)),
        Vec::<String>::new()
    );
    value["Metadata"] = json!({ "padding": "x".repeat(1_000_000) });
    stacks[0].template = Canonical::new(value);
    assert_eq!(labels(&check::check_env(&env, &stacks)), ["LIM002@-"]);
}

fn breaking(name: &str) -> Vec<mlinfra::check::Reviewed> {
    let project = Project::Dir(fixtures("breaking"));
    let (env, stacks) = rendered(&project, name);
    check::review(&env, check::check_env(&env, &stacks))
}

fn found(reviewed: &[mlinfra::check::Reviewed]) -> Vec<String> {
    let mut labels: Vec<String> = reviewed.iter().map(|r| label(&r.finding)).collect();
    labels.sort();
    labels
}

#[test]
fn sixteen_zones_without_an_artifacts_bucket_break_the_inline_limit() {
    let reviewed = breaking("big");
    assert_eq!(found(&reviewed), ["LIM001@-"]);
    assert_eq!(reviewed[0].finding.stack.as_deref(), Some("brk-big-data"));
}

#[test]
fn two_hundred_fifty_zones_break_the_resource_and_output_limits() {
    assert_eq!(found(&breaking("crowded")), ["LIM003@-", "LIM004@-"]);
}

#[test]
fn opting_out_of_network_isolation_is_reported_with_the_reason() {
    let reviewed = breaking("opt-out");
    assert_eq!(
        found(&reviewed),
        ["NET002@ServeModel", "NET002@TrainPipeline"]
    );
    let serve = reviewed
        .iter()
        .find(|r| r.finding.logical_id.as_deref() == Some("ServeModel"))
        .unwrap();
    assert!(
        serve
            .finding
            .message
            .contains("calls the online feature store"),
        "{}",
        serve.finding.message
    );
    assert!(reviewed.iter().all(|r| r.accepted.is_none()));
}

#[test]
fn stale_and_unknown_acceptances_are_findings_of_their_own() {
    let reviewed = breaking("stale");
    assert_eq!(found(&reviewed), ["ACC001@-", "ACC001@-", "ACC001@-"]);
    let messages: Vec<&str> = reviewed
        .iter()
        .map(|r| r.finding.message.as_str())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("\"IAM001\" matches no finding")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("NET002@NoSuchPipeline")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("no rule \"XYZ999\"")),
        "{messages:?}"
    );
}

/// `prod` with its execution role's reads widened to every object.
fn widened_prod() -> (mlinfra::config::Env, Vec<mlinfra::check::Finding>) {
    let (env, _) = example("prod");
    let findings = tampered("prod", Layer::Iam, |t| {
        statement(t, IAM_ROLE, "ReadInputsModelsAndCheckpoints")["Resource"] = json!("*");
        statement(t, "InferenceLambdaInvokerRole", "InvokeNamedEndpoints")["Resource"] = json!("*");
    });
    assert_eq!(
        labels(&findings),
        ["IAM003@ExecutionRole", "IAM003@InferenceLambdaInvokerRole"]
    );
    (env, findings)
}

#[test]
fn an_acceptance_for_one_logical_id_accepts_only_that_one() {
    let (mut env, findings) = widened_prod();
    env.accepted_findings.insert(
        "IAM003@ExecutionRole".into(),
        "reads every object during the migration".into(),
    );
    let reviewed = check::review(&env, findings);
    let accepted: Vec<String> = reviewed
        .iter()
        .filter(|r| r.accepted.is_some())
        .map(|r| label(&r.finding))
        .collect();
    assert_eq!(accepted, ["IAM003@ExecutionRole"]);
    let reason = &reviewed[0].accepted.as_ref().unwrap().reason;
    assert_eq!(reason, "reads every object during the migration");
    let report = check::Report::new(check::Severity::High, vec!["prod".into()], 4, reviewed);
    assert_eq!(
        report.exit(),
        mlinfra::Exit::Changes,
        "the invoker role is not accepted"
    );
}

#[test]
fn an_acceptance_for_a_rule_accepts_all_its_findings_and_the_run_passes() {
    let (mut env, findings) = widened_prod();
    env.accepted_findings.insert(
        "IAM003".into(),
        "both roles read widely during the migration".into(),
    );
    env.accepted_findings.insert(
        "IAM003@ExecutionRole".into(),
        "the execution role reads every object".into(),
    );
    let reviewed = check::review(&env, findings);
    assert!(
        reviewed.iter().all(|r| r.accepted.is_some()),
        "{reviewed:#?}"
    );
    // The more specific key gives the reason; the broader one is still in use, not stale.
    let execution = reviewed
        .iter()
        .find(|r| r.finding.logical_id.as_deref() == Some(IAM_ROLE))
        .unwrap();
    assert_eq!(
        execution.accepted.as_ref().unwrap().key,
        "IAM003@ExecutionRole"
    );
    let report = check::Report::new(check::Severity::Low, vec!["prod".into()], 4, reviewed);
    assert_eq!(report.exit(), mlinfra::Exit::Clean);
    let human = report.human();
    assert!(
        human.contains("ACCEPTED") && human.contains("the execution role reads every object"),
        "{human}"
    );
}

#[test]
fn a_stale_acceptance_cannot_itself_be_accepted() {
    let (mut env, _) = example("dev");
    env.accepted_findings.insert(
        "DATA001".into(),
        "kept from an older template version".into(),
    );
    env.accepted_findings
        .insert("ACC001".into(), "silence every stale acceptance".into());
    let reviewed = check::review(&env, Vec::new());
    assert_eq!(reviewed.len(), 2, "{reviewed:#?}");
    assert!(
        reviewed
            .iter()
            .all(|r| r.finding.rule == RuleId::Acc001 && r.accepted.is_none())
    );
}

#[test]
fn the_docs_describe_every_rule_with_its_severity() {
    let docs = std::fs::read_to_string(crate::common::repo_root().join("docs/check.md"))
        .expect("docs/check.md");
    let missing: Vec<String> = RuleId::ALL
        .iter()
        .map(|rule| format!("| {} | {} |", rule.code(), rule.severity()))
        .filter(|row| !docs.contains(row.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/check.md lacks the rows: {missing:#?}"
    );
}

/// SRV006 is quiet once the endpoint has guardrails, and SRV005 once it has
/// an alarm again: the serving corner (protected, alarmed, guarded) is clean.
#[test]
fn guardrails_and_alarms_quiet_the_protected_endpoint_rules() {
    let project = Project::Dir(fixtures("corners"));
    let (env, stacks) = rendered(&project, "serving");
    assert!(env.termination_protection);
    let findings = check::check_env(&env, &stacks);
    assert_eq!(labels(&findings), Vec::<String>::new());
    // The same endpoint without its DeploymentConfig is reported.
    let mut stacks = stacks;
    let serving = stacks
        .iter_mut()
        .find(|s| s.spec.layer == Layer::Serving)
        .unwrap();
    let mut value = serving.template.value.clone();
    remove(props(&mut value, "ShadowedEndpoint"), "DeploymentConfig");
    serving.template = Canonical::new(value);
    assert_eq!(
        labels(&check::check_env(&env, &stacks)),
        ["SRV006@ShadowedEndpoint"]
    );
}

/// SRV004: an invoker that may read the capture prefix is reported, through
/// its own policy or a bucket policy naming it; the rendered roles are clean.
#[test]
fn an_invoker_reading_captured_data_is_reported() {
    let project = Project::Dir(fixtures("corners"));
    let (env, stacks) = rendered(&project, "serving");
    let capture = &env
        .endpoint("ranker")
        .unwrap()
        .data_capture
        .as_ref()
        .unwrap()
        .destination;
    let bucket = capture.bucket.clone();
    let tamper = |layer: Layer, edit: &dyn Fn(&mut Value)| {
        let mut stacks = stacks.clone();
        let stack = stacks.iter_mut().find(|s| s.spec.layer == layer).unwrap();
        let mut value = stack.template.value.clone();
        edit(&mut value);
        stack.template = Canonical::new(value);
        labels(&check::check_env(&env, &stacks))
    };
    let read_all = json!({
        "Sid": "ReadRawZone",
        "Effect": "Allow",
        "Action": ["s3:GetObject"],
        "Resource": format!("arn:aws:s3:::{bucket}/*"),
    });
    assert_eq!(
        tamper(Layer::Iam, &|t| push_statement(
            t,
            "SearchApiInvokerRole",
            read_all.clone()
        )),
        ["SRV004@SearchApiInvokerRole"]
    );
    // Another prefix of the same bucket is not the captured data.
    let elsewhere = json!({
        "Sid": "ReadClicks",
        "Effect": "Allow",
        "Action": ["s3:GetObject"],
        "Resource": format!("arn:aws:s3:::{bucket}/clicks/*"),
    });
    assert_eq!(
        tamper(Layer::Iam, &|t| push_statement(
            t,
            "SearchApiInvokerRole",
            elsewhere.clone()
        )),
        Vec::<String>::new()
    );
    let role_arn = format!(
        "arn:aws:iam::{}:role/{}",
        env.account_id, env.invokers[0].role_name
    );
    let grant = json!({
        "Sid": "LetTheCallerRead",
        "Effect": "Allow",
        "Principal": { "AWS": role_arn },
        "Action": "s3:GetObject",
        "Resource": format!("arn:aws:s3:::{bucket}/capture/*"),
    });
    let found = tamper(Layer::Data, &|t| {
        let policy = t["Resources"]
            .as_object_mut()
            .unwrap()
            .values_mut()
            .find(|r| {
                r["Type"] == "AWS::S3::BucketPolicy"
                    && r["Properties"]["Bucket"]["Ref"] == "RawBucket"
            })
            .expect("the raw zone's bucket policy");
        policy["Properties"]["PolicyDocument"]["Statement"]
            .as_array_mut()
            .unwrap()
            .push(grant.clone());
    });
    assert!(
        found.contains(&"SRV004@RawBucketPolicy".to_string()),
        "{found:?}"
    );
}
