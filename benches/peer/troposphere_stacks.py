"""The peer of `mlinfra render --all --out` in troposphere: the same four
stacks (data, iam, training, serving) per environment, built from the same
TOML files (`extends` merged), written as {out}/{env}/{stack}.json.

It covers what the benchmark's generated environments use (the example's
base plus per-environment account, region, tags, spot and autoscaling), not
every configuration mlinfra accepts, and does no validation.

    python troposphere_stacks.py PROJECT OUT
"""

import json
import os
import re
import sys
import tomllib

from troposphere import (
    Export,
    GetAtt,
    ImportValue,
    Output,
    Ref,
    Sub,
    Tags,
    Template,
)
from troposphere.applicationautoscaling import (
    PredefinedMetricSpecification,
    ScalableTarget,
    ScalingPolicy,
    TargetTrackingScalingPolicyConfiguration,
)
from troposphere.iam import Policy, Role
from troposphere.kms import Alias, Key
from troposphere.s3 import (
    AbortIncompleteMultipartUpload,
    Bucket,
    BucketEncryption,
    BucketPolicy,
    LifecycleConfiguration,
    LifecycleRule,
    LifecycleRuleTransition,
    LoggingConfiguration,
    NoncurrentVersionExpiration,
    OwnershipControls,
    OwnershipControlsRule,
    PublicAccessBlockConfiguration,
    ServerSideEncryptionByDefault,
    ServerSideEncryptionRule,
    VersioningConfiguration,
)
from troposphere.sagemaker import (
    ContainerDefinition,
    Endpoint,
    EndpointConfig,
    Model,
    Pipeline,
    PipelineDefinition,
    ProductionVariant,
)

VARIANT = "AllTraffic"
DAYS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def load(project, name):
    with open(os.path.join(project, "environments", name + ".toml"), "rb") as f:
        layer = tomllib.load(f)
    parent = layer.pop("extends", None)
    if parent is None:
        return layer
    merged = load(project, parent)
    merged.pop("abstract", None)
    merge(merged, layer)
    return merged


def merge(base, over):
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value


def seconds(text):
    number, unit = re.fullmatch(r"(\d+)([smhd])", text).groups()
    return int(number) * DAYS[unit]


def pascal(name):
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_]", name))


def tags(env, name, layer):
    merged = dict(env["tags"])
    merged.update({"mlinfra:env": name, "mlinfra:project": env["project"], "mlinfra:stack": layer})
    return Tags(**dict(sorted(merged.items())))


def statement(sid, effect, action, resource, condition=None, principal=None):
    s = {"Sid": sid, "Effect": effect}
    if principal is not None:
        s["Principal"] = principal
    s["Action"] = action
    s["Resource"] = resource
    if condition is not None:
        s["Condition"] = condition
    return s


def document(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def trust(service, account):
    return document(
        {
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": account}},
        }
    )


class Names:
    def __init__(self, name, config):
        env = config["env"]
        self.name = name
        self.project = env["project"]
        self.account = env["account_id"]
        self.region = env["region"]
        self.prefix = f"{self.project}-{name}"
        suffix = f"{self.account}-{self.region}"
        self.zones = config["data_lake"]["zones"]
        self.bucket = {z: f"{self.prefix}-{z}-{suffix}" for z in self.zones}
        self.log_bucket = f"{self.prefix}-access-logs-{suffix}"
        self.key_export = f"{self.prefix}-data-KeyArn"
        self.role_export = f"{self.prefix}-iam-ExecutionRoleArn"
        self.execution_role = f"{self.prefix}-sagemaker-execution"
        self.pipeline_role = f"{self.prefix}-training-pipeline"

    def s3(self, location):
        zone, _, key = location.partition("/")
        return self.bucket[zone], key

    def role_arn(self, role):
        return f"arn:aws:iam::{self.account}:role/{role}"


def data_stack(n, config):
    lake = config["data_lake"]
    noncurrent = lake.get("noncurrent_versions_expire_days", 30)
    abort = lake.get("abort_incomplete_upload_days", 7)
    t = Template(Description=f"mlinfra data stack of {n.project} ({n.name}): KMS key and S3 data lake")
    t.set_version("2010-09-09")
    tag = tags(config["env"], n.name, "data")
    retain = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
    block = PublicAccessBlockConfiguration(
        BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True
    )
    owner = OwnershipControls(Rules=[OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")])
    t.add_resource(
        Key(
            "DataKey",
            Description=f"Encrypts the {n.prefix} data lake, training volumes and endpoint storage",
            EnableKeyRotation=True,
            PendingWindowInDays=30,
            KeyPolicy=document(
                statement(
                    "AccountAdministersKeyThroughIam",
                    "Allow",
                    "kms:*",
                    "*",
                    principal={"AWS": f"arn:aws:iam::{n.account}:root"},
                )
            ),
            Tags=tag,
            **retain,
        )
    )
    t.add_resource(Alias("DataKeyAlias", AliasName=f"alias/{n.prefix}-data", TargetKeyId=Ref("DataKey"), **retain))
    t.add_resource(
        Bucket(
            "AccessLogBucket",
            Metadata={
                "checkov": {
                    "skip": [
                        {
                            "id": "CKV_AWS_18",
                            "comment": "This bucket receives the access logs of the data-lake buckets; logging it into itself would loop.",
                        }
                    ]
                }
            },
            BucketName=n.log_bucket,
            BucketEncryption=BucketEncryption(
                ServerSideEncryptionConfiguration=[
                    ServerSideEncryptionRule(
                        ServerSideEncryptionByDefault=ServerSideEncryptionByDefault(SSEAlgorithm="AES256")
                    )
                ]
            ),
            VersioningConfiguration=VersioningConfiguration(Status="Enabled"),
            PublicAccessBlockConfiguration=block,
            OwnershipControls=owner,
            LifecycleConfiguration=LifecycleConfiguration(
                Rules=[
                    LifecycleRule(
                        Id="ExpireAccessLogs",
                        Status="Enabled",
                        ExpirationInDays=lake.get("access_logs_expire_days", 365),
                        NoncurrentVersionExpiration=NoncurrentVersionExpiration(NoncurrentDays=noncurrent),
                        AbortIncompleteMultipartUpload=AbortIncompleteMultipartUpload(DaysAfterInitiation=abort),
                    )
                ]
            ),
            Tags=tag,
            **retain,
        )
    )
    log_arn = f"arn:aws:s3:::{n.log_bucket}"
    t.add_resource(
        BucketPolicy(
            "AccessLogBucketPolicy",
            Bucket=Ref("AccessLogBucket"),
            PolicyDocument=document(
                statement(
                    "DenyInsecureTransport",
                    "Deny",
                    "s3:*",
                    [log_arn, log_arn + "/*"],
                    {"Bool": {"aws:SecureTransport": "false"}},
                    "*",
                ),
                statement(
                    "AllowS3ServerAccessLogs",
                    "Allow",
                    "s3:PutObject",
                    log_arn + "/*",
                    {
                        "StringEquals": {"aws:SourceAccount": n.account},
                        "ArnLike": {"aws:SourceArn": [f"arn:aws:s3:::{n.bucket[z]}" for z in n.zones]},
                    },
                    {"Service": "logging.s3.amazonaws.com"},
                ),
            ),
        )
    )
    glacier = lake.get("glacier_after_days", {})
    for zone in n.zones:
        logical = pascal(zone) + "Bucket"
        rules = []
        if zone in glacier:
            rules.append(
                LifecycleRule(
                    Id="TierToGlacier",
                    Status="Enabled",
                    Transitions=[LifecycleRuleTransition(StorageClass="GLACIER", TransitionInDays=glacier[zone])],
                )
            )
        rules.append(
            LifecycleRule(
                Id="ExpireNoncurrentVersions",
                Status="Enabled",
                NoncurrentVersionExpiration=NoncurrentVersionExpiration(NoncurrentDays=noncurrent),
                AbortIncompleteMultipartUpload=AbortIncompleteMultipartUpload(DaysAfterInitiation=abort),
            )
        )
        t.add_resource(
            Bucket(
                logical,
                DependsOn="AccessLogBucketPolicy",
                BucketName=n.bucket[zone],
                BucketEncryption=BucketEncryption(
                    ServerSideEncryptionConfiguration=[
                        ServerSideEncryptionRule(
                            ServerSideEncryptionByDefault=ServerSideEncryptionByDefault(
                                SSEAlgorithm="aws:kms", KMSMasterKeyID=GetAtt("DataKey", "Arn")
                            ),
                            BucketKeyEnabled=True,
                        )
                    ]
                ),
                VersioningConfiguration=VersioningConfiguration(Status="Enabled"),
                PublicAccessBlockConfiguration=block,
                OwnershipControls=owner,
                LoggingConfiguration=LoggingConfiguration(
                    DestinationBucketName=Ref("AccessLogBucket"), LogFilePrefix=zone + "/"
                ),
                LifecycleConfiguration=LifecycleConfiguration(Rules=rules),
                Tags=tag,
                **retain,
            )
        )
        arn = f"arn:aws:s3:::{n.bucket[zone]}"
        t.add_resource(
            BucketPolicy(
                logical + "Policy",
                Bucket=Ref(logical),
                PolicyDocument=document(
                    statement(
                        "DenyInsecureTransport",
                        "Deny",
                        "s3:*",
                        [arn, arn + "/*"],
                        {"Bool": {"aws:SecureTransport": "false"}},
                        "*",
                    )
                ),
            )
        )
        t.add_output(Output(logical + "Name", Description=f"Bucket of the {zone} zone", Value=Ref(logical)))
    t.add_output(
        Output("KeyArn", Description="ARN of the data key", Value=GetAtt("DataKey", "Arn"), Export=Export(n.key_export))
    )
    t.add_output(Output("KeyAlias", Description="Alias of the data key", Value=Ref("DataKeyAlias")))
    t.add_output(
        Output("AccessLogBucketName", Description="Bucket receiving S3 server access logs", Value=Ref("AccessLogBucket"))
    )
    return t


def ecr_repository(uri):
    host, _, path = uri.partition("/")
    account, _, _, region, _ = host.split(".", 4)
    return f"arn:aws:ecr:{region}:{account}:repository/{path.split(':')[0]}"


def locations(n, config):
    jobs = []
    for name, job in config.get("training", {}).items():
        jobs.append(
            {
                "name": name,
                "job": job,
                "input": n.s3(job["input"]),
                "output": n.s3(job["output"]),
                "checkpoints": (n.bucket["models"], f"checkpoints/{name}/"),
            }
        )
    endpoints = []
    for name, ep in config.get("endpoints", {}).items():
        endpoints.append({"name": name, "ep": ep, "model": n.s3(ep["model_data"])})
    return jobs, endpoints


def iam_stack(n, config):
    jobs, endpoints = locations(n, config)
    reads, writes = set(), set()
    lists = {}
    for j in jobs:
        for (bucket, key), wildcard in ((j["input"], True), (j["checkpoints"], True)):
            reads.add(f"arn:aws:s3:::{bucket}/{key}*")
            lists.setdefault(bucket, set()).add(key + "*")
        for bucket, key in (j["output"], j["checkpoints"]):
            writes.add(f"arn:aws:s3:::{bucket}/{key}*")
            lists.setdefault(bucket, set()).add(key + "*")
    for e in endpoints:
        bucket, key = e["model"]
        reads.add(f"arn:aws:s3:::{bucket}/{key}")
    images = sorted({ecr_repository(x["job"]["image"]) for x in jobs} | {ecr_repository(x["ep"]["image"]) for x in endpoints})
    t = Template(Description=f"mlinfra iam stack of {n.project} ({n.name}): least-privilege roles")
    t.set_version("2010-09-09")
    tag = tags(config["env"], n.name, "iam")
    key = ImportValue(n.key_export)
    data = [
        statement("ReadInputsModelsAndCheckpoints", "Allow", ["s3:GetObject"], sorted(reads)),
        statement("WriteOutputsAndCheckpoints", "Allow", ["s3:PutObject", "s3:AbortMultipartUpload"], sorted(writes)),
    ]
    for i, bucket in enumerate(sorted(lists), 1):
        data.append(
            statement(
                f"ListPrefixes{i}",
                "Allow",
                ["s3:ListBucket"],
                f"arn:aws:s3:::{bucket}",
                {"StringLike": {"s3:prefix": sorted(lists[bucket])}},
            )
        )
    data += [
        statement(
            "UseDataKeyThroughS3AndSageMaker",
            "Allow",
            ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
            key,
            {"StringEquals": {"kms:ViaService": [f"s3.{n.region}.amazonaws.com", f"sagemaker.{n.region}.amazonaws.com"]}},
        ),
        statement(
            "EncryptVolumesWithDataKey", "Allow", ["kms:CreateGrant"], key, {"Bool": {"kms:GrantIsForAWSResource": "true"}}
        ),
    ]
    logs = [
        statement(
            "PullConfiguredImages",
            "Allow",
            ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            images,
        ),
        statement("EcrLoginHasNoResourceLevelPermissions", "Allow", ["ecr:GetAuthorizationToken"], "*"),
        statement(
            "WriteSageMakerLogs",
            "Allow",
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            f"arn:aws:logs:{n.region}:{n.account}:log-group:/aws/sagemaker/*",
        ),
        statement(
            "PublishSageMakerMetricsOnly",
            "Allow",
            ["cloudwatch:PutMetricData"],
            "*",
            {"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*", "aws/sagemaker/*"]}},
        ),
    ]
    t.add_resource(
        Role(
            "ExecutionRole",
            RoleName=n.execution_role,
            Description="Assumed by SageMaker training jobs and models of this environment",
            AssumeRolePolicyDocument=trust("sagemaker.amazonaws.com", n.account),
            Policies=[
                Policy(PolicyName="data-lake-access", PolicyDocument=document(*data)),
                Policy(PolicyName="images-and-logs", PolicyDocument=document(*logs)),
            ],
            Tags=tag,
        )
    )
    t.add_resource(
        Role(
            "PipelineRole",
            RoleName=n.pipeline_role,
            Description="Assumed by this environment's SageMaker training pipelines",
            AssumeRolePolicyDocument=trust("sagemaker.amazonaws.com", n.account),
            Policies=[
                Policy(
                    PolicyName="run-training-jobs",
                    PolicyDocument=document(
                        statement(
                            "RunPipelineTrainingJobs",
                            "Allow",
                            [
                                "sagemaker:AddTags",
                                "sagemaker:CreateTrainingJob",
                                "sagemaker:DescribeTrainingJob",
                                "sagemaker:StopTrainingJob",
                            ],
                            f"arn:aws:sagemaker:{n.region}:{n.account}:training-job/pipelines-*",
                        ),
                        statement(
                            "PassOnlyTheExecutionRoleToSageMaker",
                            "Allow",
                            ["iam:PassRole"],
                            n.role_arn(n.execution_role),
                            {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                        ),
                    ),
                )
            ],
            Tags=tag,
        )
    )
    t.add_output(
        Output(
            "ExecutionRoleArn",
            Description="Role passed to SageMaker training jobs and models",
            Value=GetAtt("ExecutionRole", "Arn"),
            Export=Export(n.role_export),
        )
    )
    t.add_output(Output("PipelineRoleArn", Description="Role of the training pipelines", Value=GetAtt("PipelineRole", "Arn")))
    for invoker in config.get("invokers", []):
        logical = pascal(invoker["name"]) + "InvokerRole"
        arns = [
            f"arn:aws:sagemaker:{n.region}:{n.account}:endpoint/{n.prefix}-{e}".lower() for e in invoker["endpoints"]
        ]
        t.add_resource(
            Role(
                logical,
                RoleName=f"{n.prefix}-invoke-{invoker['name']}",
                Description=f"Lets {invoker['service']} invoke: {', '.join(invoker['endpoints'])}",
                AssumeRolePolicyDocument=trust(invoker["service"], n.account),
                Policies=[
                    Policy(
                        PolicyName="invoke-endpoints",
                        PolicyDocument=document(
                            statement("InvokeNamedEndpoints", "Allow", ["sagemaker:InvokeEndpoint"], arns)
                        ),
                    )
                ],
                Tags=tag,
            )
        )
        t.add_output(Output(logical + "Arn", Description=f"Role for {invoker['name']}", Value=GetAtt(logical, "Arn")))
    return t


def training_stack(n, config):
    jobs, _ = locations(n, config)
    t = Template(Description=f"mlinfra training stack of {n.project} ({n.name}): SageMaker training pipelines")
    t.set_version("2010-09-09")
    tag = tags(config["env"], n.name, "training")
    for j in jobs:
        job, name = j["job"], j["name"]
        logical = pascal(name) + "Pipeline"
        runtime = seconds(job["max_runtime"])
        stopping = {"MaxRuntimeInSeconds": runtime}
        spot = job.get("spot")
        if spot:
            stopping["MaxWaitTimeInSeconds"] = seconds(spot["max_wait"])
        arguments = {
            "AlgorithmSpecification": {"TrainingImage": job["image"], "TrainingInputMode": "File"},
            "CheckpointConfig": {"S3Uri": "s3://{}/{}".format(*j["checkpoints"])},
            "EnableInterContainerTrafficEncryption": False,
            "EnableManagedSpotTraining": bool(spot),
            "EnableNetworkIsolation": True,
            "HyperParameters": dict(sorted(job.get("hyperparameters", {}).items())),
            "InputDataConfig": [
                {
                    "ChannelName": "training",
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataDistributionType": "FullyReplicated",
                            "S3DataType": "S3Prefix",
                            "S3Uri": "s3://{}/{}".format(*j["input"]),
                        }
                    },
                }
            ],
            "OutputDataConfig": {"KmsKeyId": "${KeyArn}", "S3OutputPath": "s3://{}/{}".format(*j["output"])},
            "ResourceConfig": {
                "InstanceCount": job.get("instance_count", 1),
                "InstanceType": job["instance_type"],
                "VolumeSizeInGB": job.get("volume_gb", 50),
            },
            "RoleArn": n.role_arn(n.execution_role),
            "StoppingCondition": stopping,
            "Tags": [
                {"Key": "mlinfra:env", "Value": n.name},
                {"Key": "mlinfra:project", "Value": n.project},
                {"Key": "mlinfra:training-job", "Value": name},
            ],
        }
        definition = {
            "Metadata": {},
            "Parameters": [],
            "Steps": [{"Arguments": arguments, "Name": "Train", "Type": "Training"}],
            "Version": "2020-12-01",
        }
        body = json.dumps(definition, separators=(",", ":"), sort_keys=True).replace("${", "${!").replace(
            "${!KeyArn}", "${KeyArn}"
        )
        pipeline = f"{n.prefix}-{name}"
        t.add_resource(
            Pipeline(
                logical,
                PipelineName=pipeline,
                PipelineDisplayName=pipeline,
                PipelineDescription=f"Trains {name} on {job['instance_type']}",
                RoleArn=n.role_arn(n.pipeline_role),
                PipelineDefinition=PipelineDefinition(
                    PipelineDefinitionBody=Sub(body, KeyArn=ImportValue(n.key_export))
                ),
                Tags=tag,
            )
        )
        t.add_output(Output(logical + "Name", Description=f"Pipeline of training job {name}", Value=Ref(logical)))
    return t


def serving_stack(n, config):
    _, endpoints = locations(n, config)
    t = Template(Description=f"mlinfra serving stack of {n.project} ({n.name}): SageMaker endpoints and autoscaling")
    t.set_version("2010-09-09")
    tag = tags(config["env"], n.name, "serving")
    for e in endpoints:
        ep, name = e["ep"], e["name"]
        prefix = pascal(name)
        endpoint_name = f"{n.prefix}-{name}"
        t.add_resource(
            Model(
                prefix + "Model",
                ExecutionRoleArn=ImportValue(n.role_export),
                EnableNetworkIsolation=True,
                PrimaryContainer=ContainerDefinition(
                    Image=ep["image"], ModelDataUrl="s3://{}/{}".format(*e["model"])
                ),
                Tags=tag,
            )
        )
        t.add_resource(
            EndpointConfig(
                prefix + "EndpointConfig",
                KmsKeyId=ImportValue(n.key_export),
                ProductionVariants=[
                    ProductionVariant(
                        VariantName=VARIANT,
                        ModelName=GetAtt(prefix + "Model", "ModelName"),
                        InstanceType=ep["instance_type"],
                        InitialInstanceCount=ep.get("instance_count", 1),
                        InitialVariantWeight=1,
                    )
                ],
                Tags=tag,
            )
        )
        t.add_resource(
            Endpoint(
                prefix + "Endpoint",
                EndpointName=endpoint_name,
                EndpointConfigName=GetAtt(prefix + "EndpointConfig", "EndpointConfigName"),
                RetainAllVariantProperties=True,
                Tags=tag,
            )
        )
        scaling = ep.get("autoscaling")
        if scaling:
            t.add_resource(
                ScalableTarget(
                    prefix + "ScalableTarget",
                    DependsOn=prefix + "Endpoint",
                    ServiceNamespace="sagemaker",
                    ScalableDimension="sagemaker:variant:DesiredInstanceCount",
                    ResourceId=f"endpoint/{endpoint_name}/variant/{VARIANT}",
                    MinCapacity=scaling["min"],
                    MaxCapacity=scaling["max"],
                )
            )
            t.add_resource(
                ScalingPolicy(
                    prefix + "ScalingPolicy",
                    PolicyName=endpoint_name + "-target-tracking",
                    PolicyType="TargetTrackingScaling",
                    ScalingTargetId=Ref(prefix + "ScalableTarget"),
                    TargetTrackingScalingPolicyConfiguration=TargetTrackingScalingPolicyConfiguration(
                        TargetValue=float(scaling["target_invocations_per_instance"]),
                        ScaleInCooldown=seconds(scaling["scale_in_cooldown"]),
                        ScaleOutCooldown=seconds(scaling["scale_out_cooldown"]),
                        PredefinedMetricSpecification=PredefinedMetricSpecification(
                            PredefinedMetricType="SageMakerVariantInvocationsPerInstance"
                        ),
                    ),
                )
            )
        t.add_output(
            Output(prefix + "EndpointName", Description=f"Name of endpoint {name}", Value=GetAtt(prefix + "Endpoint", "EndpointName"))
        )
        t.add_output(Output(prefix + "EndpointArn", Description=f"ARN of endpoint {name}", Value=Ref(prefix + "Endpoint")))
        t.add_output(
            Output(
                prefix + "EndpointConfigName",
                Description=f"Endpoint config currently served by {name}",
                Value=GetAtt(prefix + "EndpointConfig", "EndpointConfigName"),
            )
        )
    return t


def main(project, out):
    names = sorted(
        f[: -len(".toml")] for f in os.listdir(os.path.join(project, "environments")) if f.endswith(".toml")
    )
    for name in names:
        config = load(project, name)
        if config.get("abstract"):
            continue
        n = Names(name, config)
        folder = os.path.join(out, name)
        os.makedirs(folder, exist_ok=True)
        for layer, build in (("data", data_stack), ("iam", iam_stack), ("training", training_stack), ("serving", serving_stack)):
            with open(os.path.join(folder, f"{n.prefix}-{layer}.json"), "w") as f:
                f.write(build(n, config).to_json(indent=2))
                f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
