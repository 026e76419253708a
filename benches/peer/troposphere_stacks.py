"""The peer of `mlinfra render --all --out` in troposphere: the same four
stacks (data, iam, training, serving) per environment, built from the same
TOML files (`extends` merged), written as {out}/{env}/{stack}.json.

It covers what the benchmark's generated environments use (the example's
base, with its training channels, metrics and code package, plus
per-environment account, region, tags, spot and autoscaling), not every
configuration mlinfra accepts, and does no validation. The code package is
built here as mlinfra builds it, because its SHA-256 is part of its S3 key.

    python troposphere_stacks.py PROJECT OUT
"""

import hashlib
import json
import os
import re
import struct
import sys
import tomllib
import zlib

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
from troposphere.cloudwatch import Dashboard
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
# Under network isolation the container cannot reach S3: the package arrives
# through a channel called "code", where the SageMaker SDK's toolkit opens it.
CODE_CHANNEL = "code"
PACKAGE_FILE = "sourcedir.tar.gz"
CONTAINER_PACKAGE = f"/opt/ml/input/data/{CODE_CHANNEL}/{PACKAGE_FILE}"
# vCPUs and whether the type brings its own NVMe storage, for the types the
# example uses. Endpoint CPUUtilization is summed over the vCPUs; SageMaker
# refuses a volume KMS key on types that have no EBS volume.
INSTANCES = {
    "ml.g4dn.xlarge": (4, True),
    "ml.g5.xlarge": (4, True),
    "ml.g5.2xlarge": (8, True),
    "ml.m5.large": (2, False),
    "ml.m5.xlarge": (4, False),
}


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


def local_storage(instance_type):
    return INSTANCES.get(instance_type, (None, False))[1]


# The package's S3 key carries its SHA-256, so the archive has to depend on
# nothing but the files: sorted entries, fixed ustar headers (mode 0644,
# owner 0, mtime 0) and a gzip stream of stored blocks, which no compressor
# version or level can change.
def tar_header(path, size):
    if len(path) <= 100:
        prefix, name = "", path
    else:
        split = next(
            i for i, c in enumerate(path) if c == "/" and i <= 155 and len(path) - i - 1 <= 100
        )
        prefix, name = path[:split], path[split + 1 :]
    h = bytearray(512)
    for at, value in (
        (0, name.encode()),
        (100, b"0000644\0"),
        (108, b"0000000\0"),
        (116, b"0000000\0"),
        (124, b"%011o\0" % size),
        (136, b"00000000000\0"),
        (148, b"        "),
        (156, b"0"),
        (257, b"ustar\0"),
        (263, b"00"),
        (345, prefix.encode()),
    ):
        h[at : at + len(value)] = value
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def gzip_stored(data):
    out = bytearray(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff")
    chunks = [data[i : i + 65535] for i in range(0, len(data), 65535)] or [b""]
    for i, chunk in enumerate(chunks):
        out.append(1 if i == len(chunks) - 1 else 0)
        out += struct.pack("<HH", len(chunk), len(chunk) ^ 0xFFFF)
        out += chunk
    out += struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)
    return bytes(out)


def package_sha256(folder):
    entries = []
    for top, dirs, files in os.walk(folder, followlinks=True):
        # Interpreter caches and VCS metadata differ between machines.
        dirs[:] = [d for d in dirs if d not in ("__pycache__", ".git")]
        for name in files:
            if not name.endswith(".pyc"):
                path = os.path.join(top, name)
                entries.append((os.path.relpath(path, folder).replace(os.sep, "/"), path))
    tar = bytearray()
    for relative, path in sorted(entries):
        with open(path, "rb") as f:
            content = f.read()
        tar += tar_header(relative, len(content)) + content
        tar += bytes(-len(tar) % 512)
    tar += bytes(1024)
    return hashlib.sha256(gzip_stored(bytes(tar))).hexdigest()


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
        self.serving_role_export = f"{self.prefix}-iam-ServingRoleArn"
        self.execution_role = f"{self.prefix}-sagemaker-execution"
        self.serving_role = f"{self.prefix}-sagemaker-serving"
        self.pipeline_role = f"{self.prefix}-training-pipeline"

    def s3(self, location):
        zone, _, key = location.partition("/")
        return self.bucket[zone], key

    def role_arn(self, role):
        return f"arn:aws:iam::{self.account}:role/{role}"

    def log_group_arn(self, group):
        return f"arn:aws:logs:{self.region}:{self.account}:log-group:{group}"

    def via_services(self):
        return {"kms:ViaService": [f"s3.{self.region}.amazonaws.com", f"sagemaker.{self.region}.amazonaws.com"]}


def data_stack(n, config, jobs, endpoints):
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


def s3_uri(location):
    return "s3://{}/{}".format(*location)


def locations(n, config, project, packages):
    jobs = []
    for name, job in config.get("training", {}).items():
        output = n.s3(job["output"])
        if "input" in job:
            channels = [("training", n.s3(job["input"]))]
        else:
            channels = [(c, n.s3(job["channels"][c]["prefix"])) for c in sorted(job["channels"])]
        code = None
        if "source_dir" in job:
            folder = job["source_dir"].rstrip("/")
            if folder not in packages:
                packages[folder] = package_sha256(os.path.join(project, folder))
            # The package goes to the output's bucket under its own hash.
            code = (output[0], f"code/{name}/{packages[folder]}/{PACKAGE_FILE}")
        jobs.append(
            {
                "name": name,
                "job": job,
                "channels": channels,
                "output": output,
                "checkpoints": (output[0], f"checkpoints/{name}/"),
                "code": code,
            }
        )
    endpoints = []
    for name, ep in config.get("endpoints", {}).items():
        endpoints.append({"name": name, "ep": ep, "model": n.s3(ep["model_data"]), "endpoint_name": f"{n.prefix}-{name}"})
    return jobs, endpoints


def object_arn(location, wildcard=True):
    bucket, key = location
    return f"arn:aws:s3:::{bucket}/{key}{'*' if wildcard else ''}"


def key_grants(key):
    return statement(
        "EncryptVolumesWithDataKey", "Allow", ["kms:CreateGrant"], key, {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    )


def pull_images(repositories):
    return statement(
        "PullConfiguredImages",
        "Allow",
        ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        sorted(set(repositories)),
    )


ECR_LOGIN = statement("EcrLoginHasNoResourceLevelPermissions", "Allow", ["ecr:GetAuthorizationToken"], "*")
LOG_ACTIONS = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]


def metrics_only(namespaces):
    return statement(
        "PublishSageMakerMetricsOnly",
        "Allow",
        ["cloudwatch:PutMetricData"],
        "*",
        {"StringLike": {"cloudwatch:namespace": namespaces}},
    )


def execution_policies(n, jobs, key):
    reads, writes = [], []
    for j in jobs:
        reads += [location for _, location in j["channels"]]
        reads.append(j["checkpoints"])
        if j["code"]:
            # Every version of the job's package, not just the current one.
            reads.append((j["code"][0], f"code/{j['name']}/"))
        writes += [j["output"], j["checkpoints"]]
    lists = {}
    for bucket, key_prefix in reads + writes:
        lists.setdefault(bucket, set()).add(key_prefix + "*")
    data = []
    if reads:
        data.append(
            statement(
                "ReadTrainingInputsCodeAndCheckpoints", "Allow", ["s3:GetObject"], sorted({object_arn(r) for r in reads})
            )
        )
    if writes:
        data.append(
            statement(
                "WriteOutputsAndCheckpoints",
                "Allow",
                ["s3:PutObject", "s3:AbortMultipartUpload"],
                sorted({object_arn(w) for w in writes}),
            )
        )
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
            ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
            key,
            {"StringEquals": n.via_services()},
        ),
        key_grants(key),
    ]
    images = []
    if jobs:
        images.append(pull_images(ecr_repository(j["job"]["image"]) for j in jobs))
    images += [ECR_LOGIN, metrics_only(["/aws/sagemaker/*", "aws/sagemaker/*"])]
    if jobs:
        group = n.log_group_arn("/aws/sagemaker/TrainingJobs")
        images.append(
            statement("WriteThisEnvironmentsSageMakerLogs", "Allow", LOG_ACTIONS, [group + ":log-stream:*", group])
        )
    return [
        Policy(PolicyName="data-lake-access", PolicyDocument=document(*data)),
        Policy(PolicyName="images-and-logs", PolicyDocument=document(*images)),
    ]


def serving_policies(n, endpoints, key):
    data = [
        statement(
            "ReadServedModels", "Allow", ["s3:GetObject"], sorted({object_arn(e["model"], False) for e in endpoints})
        ),
        statement(
            "ReadModelsWithDataKey", "Allow", ["kms:Decrypt", "kms:DescribeKey"], key, {"StringEquals": n.via_services()}
        ),
        key_grants(key),
    ]
    groups = []
    for e in endpoints:
        group = n.log_group_arn(f"/aws/sagemaker/Endpoints/{e['endpoint_name']}")
        groups += [group, group + ":log-stream:*"]
    images = [
        pull_images(ecr_repository(e["ep"]["image"]) for e in endpoints),
        ECR_LOGIN,
        statement("WriteOwnLogGroups", "Allow", LOG_ACTIONS, groups),
        metrics_only(["/aws/sagemaker/Endpoints", "aws/sagemaker/Endpoints/*"]),
    ]
    return [
        Policy(PolicyName="models-and-capture", PolicyDocument=document(*data)),
        Policy(PolicyName="images-and-logs", PolicyDocument=document(*images)),
    ]


def pipeline_policy(n):
    # The pipeline may start, follow and stop only jobs tagged with this
    # environment, so it cannot reach another environment's jobs in the account.
    scope = {f"aws:ResourceTag/mlinfra:{k}": v for k, v in (("env", n.name), ("project", n.project))}
    request = {f"aws:RequestTag/mlinfra:{k}": v for k, v in (("env", n.name), ("project", n.project))}
    jobs = f"arn:aws:sagemaker:{n.region}:{n.account}:training-job"
    return Policy(
        PolicyName="run-training-jobs",
        PolicyDocument=document(
            statement(
                "StartTrainingJobsTaggedForThisEnvironment",
                "Allow",
                ["sagemaker:AddTags", "sagemaker:CreateTrainingJob"],
                f"{jobs}/pipelines-*",
                {"StringEquals": request, "StringEqualsIfExists": scope},
            ),
            statement(
                "FollowThisEnvironmentsTrainingJobs",
                "Allow",
                ["sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"],
                f"{jobs}/*",
                {"StringEquals": scope},
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


def iam_stack(n, config, jobs, endpoints):
    t = Template(Description=f"mlinfra iam stack of {n.project} ({n.name}): least-privilege roles")
    t.set_version("2010-09-09")
    tag = tags(config["env"], n.name, "iam")
    key = ImportValue(n.key_export)
    t.add_resource(
        Role(
            "ExecutionRole",
            RoleName=n.execution_role,
            Description="Assumed by SageMaker training jobs and models of this environment",
            AssumeRolePolicyDocument=trust("sagemaker.amazonaws.com", n.account),
            Policies=execution_policies(n, jobs, key),
            Tags=tag,
        )
    )
    t.add_resource(
        Role(
            "PipelineRole",
            RoleName=n.pipeline_role,
            Description="Assumed by this environment's SageMaker training pipelines",
            AssumeRolePolicyDocument=trust("sagemaker.amazonaws.com", n.account),
            Policies=[pipeline_policy(n)],
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
    if endpoints:
        t.add_resource(
            Role(
                "ServingRole",
                RoleName=n.serving_role,
                Description="Assumed by this environment's SageMaker models: reads the models it serves, "
                "writes only its endpoints' logs and captured data",
                AssumeRolePolicyDocument=trust("sagemaker.amazonaws.com", n.account),
                Policies=serving_policies(n, endpoints, key),
                Tags=tag,
            )
        )
        t.add_output(
            Output(
                "ServingRoleArn",
                Description="Role of the SageMaker models",
                Value=GetAtt("ServingRole", "Arn"),
                Export=Export(n.serving_role_export),
            )
        )
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


def s3_channel(name, uri):
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {"S3DataDistributionType": "FullyReplicated", "S3DataType": "S3Prefix", "S3Uri": uri}
        },
    }


def hyperparameters(n, j):
    job = j["job"]
    values = dict(job.get("hyperparameters", {}))
    if j["code"]:
        # The SDK's script-mode parameters, JSON-encoded as the SDK sends them:
        # the training toolkit decodes every value as JSON.
        isolated = job.get("network_isolation", True)
        values.update(
            sagemaker_program=json.dumps(job["entry_point"]),
            sagemaker_submit_directory=json.dumps(CONTAINER_PACKAGE if isolated else s3_uri(j["code"])),
            sagemaker_container_log_level="20",
            sagemaker_region=json.dumps(n.region),
        )
    return values


def pipeline_definition(n, j):
    job, name = j["job"], j["name"]
    isolated = job.get("network_isolation", True)
    stopping = {"MaxRuntimeInSeconds": seconds(job["max_runtime"])}
    spot = job.get("spot")
    if spot:
        stopping["MaxWaitTimeInSeconds"] = seconds(spot["max_wait"])
    algorithm = {"TrainingImage": job["image"], "TrainingInputMode": "File"}
    if job.get("metrics"):
        algorithm["MetricDefinitions"] = [{"Name": k, "Regex": v} for k, v in sorted(job["metrics"].items())]
    channels = [s3_channel(c, s3_uri(location)) for c, location in j["channels"]]
    if j["code"] and isolated:
        channels.append(s3_channel(CODE_CHANNEL, s3_uri(j["code"])))
    resources = {
        "InstanceCount": job.get("instance_count", 1),
        "InstanceType": job["instance_type"],
        "VolumeSizeInGB": job.get("volume_gb", 50),
    }
    if not local_storage(job["instance_type"]):
        resources["VolumeKmsKeyId"] = "${KeyArn}"
    arguments = {
        "AlgorithmSpecification": algorithm,
        "CheckpointConfig": {"S3Uri": s3_uri(j["checkpoints"])},
        "EnableInterContainerTrafficEncryption": resources["InstanceCount"] > 1,
        "EnableManagedSpotTraining": bool(spot),
        "EnableNetworkIsolation": isolated,
        "HyperParameters": hyperparameters(n, j),
        "InputDataConfig": channels,
        "OutputDataConfig": {"KmsKeyId": "${KeyArn}", "S3OutputPath": s3_uri(j["output"])},
        "ResourceConfig": resources,
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
    # Fn::Sub reads every ${...} as a variable: all but the key's are escaped.
    body = json.dumps(definition, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return body.replace("${", "${!").replace("${!KeyArn}", "${KeyArn}")


def training_stack(n, config, jobs, endpoints):
    t = Template(Description=f"mlinfra training stack of {n.project} ({n.name}): SageMaker training pipelines")
    t.set_version("2010-09-09")
    tag = tags(config["env"], n.name, "training")
    for j in jobs:
        job, name = j["job"], j["name"]
        logical = pascal(name) + "Pipeline"
        pipeline = f"{n.prefix}-{name}"
        t.add_resource(
            Pipeline(
                logical,
                PipelineName=pipeline,
                PipelineDisplayName=pipeline,
                PipelineDescription=f"Trains {name} on {job['instance_type']}",
                RoleArn=n.role_arn(n.pipeline_role),
                PipelineDefinition=PipelineDefinition(
                    PipelineDefinitionBody=Sub(pipeline_definition(n, j), KeyArn=ImportValue(n.key_export))
                ),
                Tags=tag,
            )
        )
        t.add_output(Output(logical + "Name", Description=f"Pipeline of training job {name}", Value=Ref(logical)))
    return t


def dashboard_body(n, endpoints):
    widgets = []
    for row, e in enumerate(endpoints):
        name, endpoint_name = e["name"], e["endpoint_name"]
        what = f"{name} / {VARIANT}"
        vcpus = INSTANCES.get(e["ep"]["instance_type"], (1, False))[0]
        graphs = [
            (f"{what}: invocations", [("AWS/SageMaker", "Invocations", "Sum", "invocations")], None),
            (
                f"{what}: errors",
                [
                    ("AWS/SageMaker", "Invocation4XXErrors", "Sum", "4XX"),
                    ("AWS/SageMaker", "Invocation5XXErrors", "Sum", "5XX"),
                ],
                None,
            ),
            (
                f"{what}: model latency (µs)",
                [("AWS/SageMaker", "ModelLatency", "p50", "p50"), ("AWS/SageMaker", "ModelLatency", "p99", "p99")],
                None,
            ),
            # CPUUtilization is summed over the instance's vCPUs.
            (
                f"{what}: CPU (% summed over vCPUs)",
                [("/aws/sagemaker/Endpoints", "CPUUtilization", "Average", "CPU")],
                {"left": {"max": 100 * vcpus, "min": 0}},
            ),
        ]
        for column, (title, lines, yaxis) in enumerate(graphs):
            properties = {
                "title": title,
                "region": n.region,
                "view": "timeSeries",
                "period": 60,
                "metrics": [
                    [ns, metric, "EndpointName", endpoint_name, "VariantName", VARIANT, {"label": label, "stat": stat}]
                    for ns, metric, stat, label in lines
                ],
            }
            if yaxis:
                properties["yaxis"] = yaxis
            widgets.append(
                {"type": "metric", "x": column * 6, "y": row * 6, "width": 6, "height": 6, "properties": properties}
            )
    return json.dumps({"widgets": widgets}, separators=(",", ":"), ensure_ascii=False)


def serving_stack(n, config, jobs, endpoints):
    t = Template(Description=f"mlinfra serving stack of {n.project} ({n.name}): SageMaker endpoints and autoscaling")
    t.set_version("2010-09-09")
    tag = tags(config["env"], n.name, "serving")
    for e in endpoints:
        ep, name, endpoint_name = e["ep"], e["name"], e["endpoint_name"]
        prefix = pascal(name)
        t.add_resource(
            Model(
                prefix + "Model",
                ExecutionRoleArn=ImportValue(n.serving_role_export),
                EnableNetworkIsolation=True,
                PrimaryContainer=ContainerDefinition(Image=ep["image"], ModelDataUrl=s3_uri(e["model"])),
                Tags=tag,
            )
        )
        config_properties = {}
        # Types with NVMe storage have no EBS volume for a KMS key to encrypt.
        if not local_storage(ep["instance_type"]):
            config_properties["KmsKeyId"] = ImportValue(n.key_export)
        t.add_resource(
            EndpointConfig(
                prefix + "EndpointConfig",
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
                **config_properties,
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
                        DisableScaleIn=False,
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
    if endpoints:
        t.add_resource(
            Dashboard("ServingDashboard", DashboardName=f"{n.prefix}-serving", DashboardBody=dashboard_body(n, endpoints))
        )
    return t


def main(project, out):
    names = sorted(
        f[: -len(".toml")] for f in os.listdir(os.path.join(project, "environments")) if f.endswith(".toml")
    )
    # Environments sharing a source directory share its package: built once.
    packages = {}
    for name in names:
        config = load(project, name)
        if config.get("abstract"):
            continue
        n = Names(name, config)
        jobs, endpoints = locations(n, config, project, packages)
        folder = os.path.join(out, name)
        os.makedirs(folder, exist_ok=True)
        for layer, build in (("data", data_stack), ("iam", iam_stack), ("training", training_stack), ("serving", serving_stack)):
            with open(os.path.join(folder, f"{n.prefix}-{layer}.json"), "w") as f:
                f.write(build(n, config, jobs, endpoints).to_json(indent=2))
                f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
