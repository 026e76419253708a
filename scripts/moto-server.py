"""The project's AWS emulator: moto's server (the pinned moto 5.2.5 from the
project's venv) with its CloudFormation gaps filled, so that the stacks
mlinfra renders deploy through change sets as they do on AWS and a fresh
apply shows no drift. Started by tests/it/common/moto.rs and scripts/demo.sh.

Nothing here invents a result: each fix routes a call through code moto
already has (its S3, Application Auto Scaling, SageMaker, IAM and KMS
backends, the same methods its API handlers call), in the way CloudFormation
behaves. Each fix says what moto lacks; remove it once moto ships it. The
launcher refuses any other moto version: a fix written against 5.2.5 may be
wrong, or no longer needed, in another.

The server marks itself as this launcher: every response carries the header
`x-mlinfra-emulator: scripts/moto-server.py`, and `GET /mlinfra-emulator`
answers with the moto version and the fixes below. A stock `moto_server`
has neither; the test harness and the demo refuse it with a message naming
this file (stock moto fails later with misleading errors such as
"No export named …").

Fixes (remove each once moto ships it):

1. AWS::KMS::Key `Tags` are `[{Key, Value}]` in CloudFormation; moto hands them
   unchanged to its KMS backend, which expects `[{TagKey, TagValue}]` and fails
   with KeyError('TagKey'). The stack then fails with the misleading
   "Fn::GetAtt references undefined resource DataKey".
2. A stack created or updated through a change set gets no Outputs and
   registers no Exports, and a stack created by a CREATE change set cannot
   resolve Fn::ImportValue (moto builds it with an empty export table). Only
   CreateStack wires exports. CloudFormation treats both paths alike.
3. An AWS::IAM::Role's inline `Policies` reach the role as Python dicts and
   GetRolePolicy then returns their Python repr (`{'Statement': ...}`), not
   JSON. IAM stores and returns the JSON document, as PutRolePolicy does.
4. GetBucketVersioning answers with the root element
   `GetBucketVersioningResponse`; S3's is `VersioningConfiguration`, and the
   Rust SDK rejects any other. The body carries the same Status.
5. AWS::S3::Bucket: moto's CloudFormation applies only `BucketEncryption`
   (without `BucketKeyEnabled`) and `Tags`. CloudFormation also applies
   `VersioningConfiguration`, `PublicAccessBlockConfiguration`,
   `OwnershipControls`, `LifecycleConfiguration`, `LoggingConfiguration` and
   the bucket key, on create and on update (a removed setting is removed).
   Routed through the S3 backend's put_bucket_versioning,
   put_public_access_block, put_bucket_ownership_controls,
   put_bucket_lifecycle, put_bucket_logging and put_bucket_encryption, with
   the values in the form moto's S3 API handlers pass them.
   moto's check that the log bucket's policy lets S3 deliver logs fails
   (AttributeError) on a statement whose Principal is the string "*", such
   as the TLS-only deny; such a statement is skipped, as it grants nothing.
6. AWS::S3::BucketPolicy is not a moto CloudFormation type: the resource is
   skipped (a nameless placeholder in ListStackResources) and no policy is
   set, so server access logging into the log bucket is refused by moto's own
   permission check. Here it is a resource whose physical id is the bucket
   name (as on AWS), created, updated and deleted through the S3 backend's
   put_bucket_policy / delete_bucket_policy.
7. AWS::ApplicationAutoScaling::ScalableTarget and ::ScalingPolicy are not
   moto CloudFormation types: no target is registered and no policy put.
   Here they are resources routed through the Application Auto Scaling
   backend's register_scalable_target / deregister_scalable_target and
   put_scaling_policy / delete_scaling_policy. Physical ids as on AWS: the
   target's is `ResourceId|ScalableDimension|ServiceNamespace` (what a
   policy's ScalingTargetId refers to), the policy's is its ARN. A SageMaker
   variant target needs its endpoint to exist, as AWS checks.
8. AWS::SageMaker::Pipeline is not a moto CloudFormation type: no pipeline
   exists after the deploy. Here it is a resource (physical id: the pipeline
   name) routed through the SageMaker backend's create_pipeline /
   update_pipeline / delete_pipeline; a new PipelineName replaces it.
9. AWS::SageMaker::Endpoint ignores `EndpointName` and names the endpoint
   after the stack and logical id; CloudFormation uses the given name (and a
   new name replaces the endpoint). An update of the endpoint config is done
   by moto as delete and create; with `RetainAllVariantProperties` the
   variants' desired instance counts are put back through the backend's
   update_endpoint_weights_and_capacities, as UpdateEndpoint retains them.
10. UpdateTerminationProtection is not implemented (InvalidAction). Here it
    sets the flag moto already keeps and DescribeStacks returns.
11. DeleteStack deletes a stack with termination protection enabled.
    CloudFormation refuses: "Stack [NAME] cannot be deleted while
    TerminationProtection is enabled".
12. Stack policies are stored (SetStackPolicy / GetStackPolicy) but never
    enforced. Here an update (ExecuteChangeSet or UpdateStack) is checked
    against the policy as CloudFormation does: every Update:Modify,
    Update:Replace (a create-only property changed, per the resource schemas
    cfn-lint ships) and Update:Delete of an existing resource must be allowed
    by a statement and not denied by one (Resource/NotResource patterns on
    `LogicalResourceId/…`, the `ResourceType` condition); a denied update
    changes nothing, fails the resource with "Action denied by stack policy"
    and ends in UPDATE_ROLLBACK_COMPLETE.
13. An update changes only resources whose own template text changed. When
    a replacement gives a resource a new physical id, CloudFormation also
    updates the resources that refer to it: a new EndpointConfig (it is
    immutable, so any change replaces it) is put on its Endpoint. Here those
    dependents go through moto's own parse_and_update_resource as well.
14. CreateChangeSet of type CREATE for a stack that already exists makes
    moto a second stack of the same name, and a request without
    ChangeSetType is taken as CREATE. CloudFormation refuses the first
    ("Stack [NAME] already exists and cannot be created again with the
    changeSet [NAME].", unless the stack is still REVIEW_IN_PROGRESS) and
    takes UPDATE as the default.
15. GetTemplate ignores `ChangeSetName` and answers with the stack's
    template. CloudFormation answers with the template the change set was
    created from, which is how `apply --plan` checks that a change set is the
    one that was reviewed. The answer is the change set's own stored template.
17. CreateChangeSet of type IMPORT is taken as CREATE: ResourcesToImport is
    ignored, a stack that exists gets a second one of the same name, and
    executing it creates the resources anew (an existing bucket fails with
    BucketAlreadyExists). CloudFormation adopts the existing resources instead,
    and refuses an import whose resources lack a DeletionPolicy, do not exist,
    or whose template adds, changes or removes anything else (other
    resources, Outputs). Here the change set is made through moto's own
    UPDATE or CREATE path, checked by those rules, and executing it puts the
    live objects of moto's S3 and KMS backends (buckets, keys, aliases) into
    the stack's resource map under their logical ids; the stack ends in
    IMPORT_COMPLETE.
18. UpdateEndpointWeightsAndCapacities sets a variant's DesiredWeight and
    DesiredInstanceCount (and the current ones) to null when the request
    leaves one out. SageMaker keeps what is not given: a weight-only
    request leaves the instance count alone, and a capacity-only request
    the weight. The omitted fields are filled with the variant's own values
    before moto's update runs.
19. AWS::CloudWatch::Alarm is not a moto CloudFormation type: no alarm
    exists after the deploy. Here it is a resource (physical id: the alarm
    name, as on AWS) routed through the CloudWatch backend's
    put_metric_alarm / delete_alarms.
20. CloudWatch is served only in the query protocol; the Rust SDK speaks
    Smithy RPC v2 CBOR (`POST /service/GraniteServiceVersion20100801/
    operation/NAME`, `Content-Type: application/cbor`), which moto answers
    with 404. Here such a request is routed to moto's own CloudWatch handler
    for NAME: its CBOR body becomes the handler's parameters, and the result
    is serialized from the botocore output shape (moto's JSON serializer)
    into CBOR, timestamps as tag 1 epoch seconds; errors as `__type` and
    `Message` with the error's status.
21. An action moto does not implement (DetectStackDrift, for one) raises
    NotImplementedError, which the server turns into an HTML page with
    status 500. Clients take a 500 for a passing failure and retry it (the
    Rust SDK three times, with back-off) before they give up. AWS answers an
    action it does not know with the error code `InvalidAction`; here such an
    action is answered with that code and a message naming moto, serialized
    by moto as the service's own errors are.
"""

import gc

# Importing moto and its backends allocates millions of objects that live as
# long as the server; collecting them while they are built costs a third of
# the start-up. They are frozen out of later collections below.
gc.disable()

import datetime  # noqa: E402
import fnmatch  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import struct  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402

import moto  # noqa: E402

MOTO_VERSION = "5.2.5"
if moto.__version__ != MOTO_VERSION:
    sys.exit(
        f"scripts/moto-server.py patches moto {MOTO_VERSION}, found moto {moto.__version__}: "
        "install the pinned version (scripts/python-tools.sh), or review each fix "
        "against the new moto before changing the pin"
    )

from moto.applicationautoscaling.exceptions import AWSValidationException  # noqa: E402
from moto.applicationautoscaling.models import applicationautoscaling_backends  # noqa: E402
from moto.cloudformation import models as cfn  # noqa: E402
from moto.cloudformation import parsing  # noqa: E402
from moto.cloudformation import responses as cfn_responses  # noqa: E402
from moto.cloudformation.exceptions import ValidationError  # noqa: E402
from moto.core.common_models import CloudFormationModel  # noqa: E402
from moto.core.responses import ActionResult  # noqa: E402
from moto.iam import models as iam  # noqa: E402
from moto.kms import models as kms  # noqa: E402
from moto.moto_server import werkzeug_app  # noqa: E402
from moto.s3 import models as s3_models  # noqa: E402
from moto.s3 import responses as s3_responses  # noqa: E402
from moto.s3.cloud_formation import cfn_to_api_encryption  # noqa: E402
from moto.s3.exceptions import MissingBucket  # noqa: E402
from moto.sagemaker import models as sagemaker  # noqa: E402
from moto.server import main  # noqa: E402
from moto.utilities.utils import get_partition  # noqa: E402

MARKER_HEADER = "x-mlinfra-emulator"
MARKER_PATH = "/mlinfra-emulator"
LAUNCHER = "scripts/moto-server.py"
FIXES = [
    "kms-key-tags",
    "change-set-exports",
    "iam-inline-policy-json",
    "s3-versioning-response",
    "s3-bucket-settings",
    "s3-bucket-policy",
    "application-autoscaling",
    "sagemaker-pipeline",
    "sagemaker-endpoint-name",
    "update-termination-protection",
    "delete-stack-termination-protection",
    "stack-policy-enforcement",
    "update-dependents-of-replaced-resources",
    "create-change-set-type",
    "get-template-of-change-set",
    "s3-policy-secure-transport",
    "import-change-sets",
    "update-endpoint-weights-partial",
    "cloudwatch-alarm-resource",
    "cloudwatch-rpc-v2-cbor",
    "unknown-action-error",
]

# --- 1. KMS key tags --------------------------------------------------------

_kms_create = kms.Key.create_from_cloudformation_json.__func__


def _kms_create_with_cfn_tags(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    properties = cloudformation_json.get("Properties", {})
    tags = properties.get("Tags")
    if tags:
        properties = dict(properties, Tags=[{"TagKey": t["Key"], "TagValue": t["Value"]} for t in tags])
        cloudformation_json = dict(cloudformation_json, Properties=properties)
    return _kms_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)


kms.Key.create_from_cloudformation_json = classmethod(_kms_create_with_cfn_tags)

# --- 2. Exports of change-set stacks ----------------------------------------

_create_change_set = cfn.CloudFormationBackend.create_change_set
_execute_change_set = cfn.CloudFormationBackend.execute_change_set


def _create_change_set_with_exports(self, stack_name, change_set_name, *args, change_set_type, **kwargs):
    # 14. A CREATE change set for a stack that exists makes moto a second
    # stack of the same name; CloudFormation refuses (only a stack still in
    # REVIEW_IN_PROGRESS takes another CREATE change set).
    if change_set_type == "CREATE":
        for existing in self.stacks.values():
            if existing.name == stack_name and existing.status != "REVIEW_IN_PROGRESS":
                raise ValidationError(
                    message=f"Stack [{stack_name}] already exists and cannot be created again with the changeSet [{change_set_name}]."
                )
    change_set_id, stack_id = _create_change_set(
        self, stack_name, change_set_name, *args, change_set_type=change_set_type, **kwargs
    )
    stack = self.stacks[stack_id]
    # As create_stack does: the live export table, so imports resolve.
    stack.cross_stack_resources = self.exports
    stack.resource_map.cross_stack_resources = self.exports
    return change_set_id, stack_id


def _execute_change_set_with_outputs(self, change_set_name, stack_name=None):
    change_set = self.describe_change_set(change_set_name)
    stack = self.stacks[change_set.stack_id]
    if change_set.change_set_type == "UPDATE":
        denied = _stack_policy_denials(stack, change_set.template_dict)
        if denied:
            _fail_update_by_policy(stack, denied)
            change_set.execution_status = "EXECUTE_FAILED"
            return
    old_exports = [export.name for export in stack.exports] if stack.template_dict else []
    _execute_change_set(self, change_set_name, stack_name)
    # As create_stack / Stack.update do: outputs from the executed template,
    # then its exports replace the stack's previous ones.
    stack._parse_template()
    stack.description = stack.template_dict.get("Description")
    stack.output_map = stack._create_output_map()
    for name in old_exports:
        self.exports.pop(name, None)
    self._validate_export_uniqueness(stack)
    for export in stack.exports:
        self.exports[export.name] = export


cfn.CloudFormationBackend.create_change_set = _create_change_set_with_exports

_create_change_set_response = cfn_responses.CloudFormationResponse.create_change_set


def _create_change_set_updating_by_default(self):
    get_param = self._get_param

    def with_update_default(name, if_none=None):
        return get_param(name, "UPDATE" if name == "ChangeSetType" else if_none)

    self._get_param = with_update_default
    try:
        return _create_change_set_response(self)
    finally:
        del self._get_param


cfn_responses.CloudFormationResponse.create_change_set = _create_change_set_updating_by_default
cfn.CloudFormationBackend.execute_change_set = _execute_change_set_with_outputs

# --- 3. IAM inline policies as JSON -----------------------------------------

_role_put_policy = iam.Role.put_policy


def _role_put_policy_as_json(self, policy_name, policy_json):
    if isinstance(policy_json, dict):
        policy_json = json.dumps(policy_json)
    return _role_put_policy(self, policy_name, policy_json)


iam.Role.put_policy = _role_put_policy_as_json

# --- 4. GetBucketVersioning's root element ----------------------------------


def _get_bucket_versioning_as_s3(self):
    status = self.backend.get_bucket_versioning(self.bucket_name)
    inner = f"<Status>{status}</Status>" if status else ""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{inner}</VersioningConfiguration>'
    )
    return 200, {"Content-Type": "application/xml"}, body


s3_responses.S3Response.get_bucket_versioning = _get_bucket_versioning_as_s3

# --- 5. S3 bucket settings --------------------------------------------------


def _s3_backend(account_id, region_name):
    return s3_models.s3_backends[account_id][get_partition(region_name)]


def _api_text(value):
    """A value as moto's S3 API handlers receive it: XML text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return {k: _api_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_api_text(v) for v in value]
    return str(value)


def _lifecycle_rule(rule):
    """A CloudFormation lifecycle rule in the S3 API's shape."""
    api = {"Status": rule["Status"]}
    if "Id" in rule:
        api["ID"] = rule["Id"]
    if "Prefix" in rule:
        api["Prefix"] = rule["Prefix"]
    else:
        tags = [{"Key": t["Key"], "Value": t["Value"]} for t in rule.get("TagFilters", [])]
        if tags:
            api["Filter"] = {"And": {"Prefix": "", "Tag": tags}}
        else:
            api["Filter"] = {"Prefix": ""}
    expiration = {}
    if "ExpirationInDays" in rule:
        expiration["Days"] = rule["ExpirationInDays"]
    if "ExpirationDate" in rule:
        expiration["Date"] = rule["ExpirationDate"]
    if "ExpiredObjectDeleteMarker" in rule:
        expiration["ExpiredObjectDeleteMarker"] = rule["ExpiredObjectDeleteMarker"]
    if expiration:
        api["Expiration"] = expiration
    transitions = list(rule.get("Transitions", []))
    if "Transition" in rule:
        transitions.append(rule["Transition"])
    if transitions:
        api["Transition"] = [
            {
                k: v
                for k, v in (
                    ("Days", t.get("TransitionInDays")),
                    ("Date", t.get("TransitionDate")),
                    ("StorageClass", t.get("StorageClass")),
                )
                if v is not None
            }
            for t in transitions
        ]
    if "NoncurrentVersionExpiration" in rule:
        api["NoncurrentVersionExpiration"] = dict(rule["NoncurrentVersionExpiration"])
    elif "NoncurrentVersionExpirationInDays" in rule:
        api["NoncurrentVersionExpiration"] = {"NoncurrentDays": rule["NoncurrentVersionExpirationInDays"]}
    nv_transitions = list(rule.get("NoncurrentVersionTransitions", []))
    if "NoncurrentVersionTransition" in rule:
        nv_transitions.append(rule["NoncurrentVersionTransition"])
    if nv_transitions:
        api["NoncurrentVersionTransition"] = [
            {
                k: v
                for k, v in (
                    ("NoncurrentDays", t.get("TransitionInDays")),
                    ("StorageClass", t.get("StorageClass")),
                    ("NewerNoncurrentVersions", t.get("NewerNoncurrentVersions")),
                )
                if v is not None
            }
            for t in nv_transitions
        ]
    if "AbortIncompleteMultipartUpload" in rule:
        api["AbortIncompleteMultipartUpload"] = dict(rule["AbortIncompleteMultipartUpload"])
    return _api_text(api)


def _apply_bucket_settings(backend, bucket, properties, updating):
    """What CloudFormation sets on a bucket besides moto's encryption and tags."""
    versioning = properties.get("VersioningConfiguration")
    if versioning:
        backend.put_bucket_versioning(bucket, versioning["Status"])
    # A versioned bucket cannot go back to unversioned; without the property
    # CloudFormation leaves versioning as it is.

    block = properties.get("PublicAccessBlockConfiguration")
    if block:
        backend.put_public_access_block(bucket, _api_text(block))
    elif updating:
        backend.delete_public_access_block(bucket)

    ownership = properties.get("OwnershipControls")
    if ownership:
        backend.put_bucket_ownership_controls(bucket, ownership["Rules"][0]["ObjectOwnership"])
    elif updating:
        backend.delete_bucket_ownership_controls(bucket)

    lifecycle = properties.get("LifecycleConfiguration")
    if lifecycle:
        backend.put_bucket_lifecycle(bucket, [_lifecycle_rule(r) for r in lifecycle["Rules"]])
    elif updating:
        backend.delete_bucket_lifecycle(bucket)

    logging = properties.get("LoggingConfiguration")
    if logging:
        config = {"TargetPrefix": logging.get("LogFilePrefix", "")}
        # Without a destination, S3 logs into the bucket itself.
        config["TargetBucket"] = logging.get("DestinationBucketName", bucket)
        backend.put_bucket_logging(bucket, config)
    elif updating:
        backend.put_bucket_logging(bucket, {})

    encryption = properties.get("BucketEncryption")
    if encryption:
        api = cfn_to_api_encryption(encryption)
        rule = encryption["ServerSideEncryptionConfiguration"][0]
        if "BucketKeyEnabled" in rule:
            api["Rule"]["BucketKeyEnabled"] = _api_text(rule["BucketKeyEnabled"])
        backend.put_bucket_encryption(bucket, api)


_bucket_create = s3_models.FakeBucket.create_from_cloudformation_json.__func__
_bucket_update = s3_models.FakeBucket.update_from_cloudformation_json.__func__


def _bucket_create_with_settings(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    bucket = _bucket_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    properties = cloudformation_json.get("Properties", {})
    _apply_bucket_settings(_s3_backend(account_id, region_name), bucket.name, properties, updating=False)
    return bucket


def _bucket_update_with_settings(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
    properties = cloudformation_json["Properties"]
    replaced = "BucketName" in properties and properties["BucketName"] != original_resource.name
    bucket = _bucket_update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name)
    if not replaced:  # a replacement went through create, settings included
        _apply_bucket_settings(_s3_backend(account_id, region_name), bucket.name, properties, updating=True)
    return bucket


_log_permissions_enabled_policy = s3_models.FakeBucket._log_permissions_enabled_policy


def _log_permissions_with_any_principal(target_bucket, target_prefix):
    # moto reads every statement's Principal as a map and fails on the
    # `"Principal": "*"` of a deny statement; such a statement grants nothing.
    policy = target_bucket.policy
    if policy:
        document = json.loads(policy.decode())
        statements = [s for s in document.get("Statement", []) if isinstance(s.get("Principal", {}), dict)]
        target_bucket = _PolicyView(target_bucket, json.dumps(dict(document, Statement=statements)).encode())
    return _log_permissions_enabled_policy(target_bucket, target_prefix)


class _PolicyView:
    """The target bucket as moto's check reads it, with another policy text."""

    def __init__(self, bucket, policy):
        self._bucket = bucket
        self.policy = policy

    def __getattr__(self, name):
        return getattr(self._bucket, name)


s3_models.FakeBucket._log_permissions_enabled_policy = staticmethod(_log_permissions_with_any_principal)
s3_models.FakeBucket.create_from_cloudformation_json = classmethod(_bucket_create_with_settings)
s3_models.FakeBucket.update_from_cloudformation_json = classmethod(_bucket_update_with_settings)

# --- 6. AWS::S3::BucketPolicy -----------------------------------------------


class BucketPolicy(CloudFormationModel):
    __module__ = "moto.s3.models"  # moto files its models by service

    def __init__(self, bucket, account_id, region_name):
        self.bucket = bucket
        self.account_id = account_id
        self.region_name = region_name

    @property
    def physical_resource_id(self):
        return self.bucket

    @staticmethod
    def cloudformation_name_type():
        return ""

    @staticmethod
    def cloudformation_type():
        return "AWS::S3::BucketPolicy"

    @classmethod
    def has_cfn_attr(cls, attr):
        return False

    @staticmethod
    def _put(properties, account_id, region_name):
        document = properties["PolicyDocument"]
        if not isinstance(document, str):
            document = json.dumps(document)
        _s3_backend(account_id, region_name).put_bucket_policy(properties["Bucket"], document.encode())

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        cls._put(properties, account_id, region_name)
        return cls(properties["Bucket"], account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        properties = cloudformation_json["Properties"]
        if properties["Bucket"] != original_resource.bucket:  # create-only: replaced
            new = cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
            original_resource.delete(account_id, region_name)
            return new
        cls._put(properties, account_id, region_name)
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        cls(resource_name, account_id, region_name).delete(account_id, region_name)

    def delete(self, account_id, region_name):
        try:
            _s3_backend(account_id, region_name).delete_bucket_policy(self.bucket)
        except MissingBucket:
            pass  # the bucket went first: its policy with it


# --- 7. Application Auto Scaling ---------------------------------------------


def _autoscaling_backend(account_id, region_name):
    return applicationautoscaling_backends[account_id][region_name]


def _integer(value):
    return None if value is None else int(value)


class ScalableTarget(CloudFormationModel):
    __module__ = "moto.applicationautoscaling.models"  # moto files its models by service

    def __init__(self, namespace, resource_id, dimension):
        self.namespace = namespace
        self.resource_id = resource_id
        self.dimension = dimension

    @property
    def physical_resource_id(self):
        return f"{self.resource_id}|{self.dimension}|{self.namespace}"

    @staticmethod
    def cloudformation_name_type():
        return ""

    @staticmethod
    def cloudformation_type():
        return "AWS::ApplicationAutoScaling::ScalableTarget"

    @classmethod
    def has_cfn_attr(cls, attr):
        return attr == "Id"

    def get_cfn_attribute(self, attribute_name):
        if attribute_name == "Id":
            return self.physical_resource_id
        raise NotImplementedError(attribute_name)

    @staticmethod
    def _register(properties, account_id, region_name):
        namespace = properties["ServiceNamespace"]
        resource_id = properties["ResourceId"]
        if namespace == "sagemaker" and resource_id.startswith("endpoint/"):
            # Application Auto Scaling checks that the variant's endpoint exists.
            endpoint = resource_id.split("/")[1]
            if endpoint not in sagemaker.sagemaker_backends[account_id][region_name].endpoints:
                raise AWSValidationException(f"The endpoint {endpoint} does not exist: cannot register {resource_id}")
        _autoscaling_backend(account_id, region_name).register_scalable_target(
            namespace,
            resource_id,
            properties["ScalableDimension"],
            min_capacity=_integer(properties.get("MinCapacity")),
            max_capacity=_integer(properties.get("MaxCapacity")),
            role_arn=properties.get("RoleARN"),
            suspended_state=properties.get("SuspendedState"),
        )

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        cls._register(properties, account_id, region_name)
        return cls(properties["ServiceNamespace"], properties["ResourceId"], properties["ScalableDimension"])

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        properties = cloudformation_json["Properties"]
        key = (properties["ServiceNamespace"], properties["ResourceId"], properties["ScalableDimension"])
        if key != (original_resource.namespace, original_resource.resource_id, original_resource.dimension):
            new = cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
            original_resource.delete(account_id, region_name)
            return new
        cls._register(properties, account_id, region_name)
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        resource_id, dimension, namespace = resource_name.split("|")
        cls(namespace, resource_id, dimension).delete(account_id, region_name)

    def delete(self, account_id, region_name):
        backend = _autoscaling_backend(account_id, region_name)
        if backend._scalable_target_exists(self.resource_id, self.dimension):
            backend.deregister_scalable_target(self.namespace, self.resource_id, self.dimension)


class ScalingPolicy(CloudFormationModel):
    __module__ = "moto.applicationautoscaling.models"  # moto files its models by service

    def __init__(self, policy, namespace, resource_id, dimension):
        self.policy_name = policy.policy_name
        self.arn = policy.policy_arn
        self.namespace = namespace
        self.resource_id = resource_id
        self.dimension = dimension

    @property
    def physical_resource_id(self):
        return self.arn

    @staticmethod
    def cloudformation_name_type():
        return ""

    @staticmethod
    def cloudformation_type():
        return "AWS::ApplicationAutoScaling::ScalingPolicy"

    @classmethod
    def has_cfn_attr(cls, attr):
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name):
        if attribute_name == "Arn":
            return self.arn
        raise NotImplementedError(attribute_name)

    @staticmethod
    def _target(properties):
        if properties.get("ScalingTargetId"):
            resource_id, dimension, namespace = properties["ScalingTargetId"].split("|")
            return namespace, resource_id, dimension
        return properties["ServiceNamespace"], properties["ResourceId"], properties["ScalableDimension"]

    @classmethod
    def _put(cls, properties, account_id, region_name):
        namespace, resource_id, dimension = cls._target(properties)
        policy = _autoscaling_backend(account_id, region_name).put_scaling_policy(
            policy_name=properties["PolicyName"],
            service_namespace=namespace,
            resource_id=resource_id,
            scalable_dimension=dimension,
            policy_body=properties.get(
                "StepScalingPolicyConfiguration",
                properties.get("TargetTrackingScalingPolicyConfiguration"),
            ),
            policy_type=properties["PolicyType"],
        )
        return cls(policy, namespace, resource_id, dimension)

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        return cls._put(cloudformation_json["Properties"], account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        properties = cloudformation_json["Properties"]
        key = (properties["PolicyName"],) + cls._target(properties)
        old = (original_resource.policy_name, original_resource.namespace, original_resource.resource_id, original_resource.dimension)
        if key != old:  # create-only properties: replaced
            new = cls._put(properties, account_id, region_name)
            original_resource.delete(account_id, region_name)
            return new
        return cls._put(properties, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        backend = _autoscaling_backend(account_id, region_name)
        for key, policy in list(backend.policies.items()):
            if policy.policy_arn == resource_name:
                backend.delete_scaling_policy(policy.policy_name, policy.service_namespace, policy.resource_id, policy.scalable_dimension)

    def delete(self, account_id, region_name):
        # Deregistering the target deletes its policies: gone already is fine.
        self.delete_from_cloudformation_json(self.arn, None, account_id, region_name)


# --- 8. AWS::SageMaker::Pipeline --------------------------------------------


def _sagemaker_backend(account_id, region_name):
    return sagemaker.sagemaker_backends[account_id][region_name]


def _pipeline_definition(properties):
    definition = properties["PipelineDefinition"]
    body = definition.get("PipelineDefinitionBody")
    location = definition.get("PipelineDefinitionS3Location")
    if location:
        location = {
            k: v
            for k, v in (
                ("Bucket", location.get("Bucket")),
                ("ObjectKey", location.get("Key")),
                ("VersionId", location.get("Version")),
            )
            if v is not None
        }
    return body, location


class Pipeline(CloudFormationModel):
    __module__ = "moto.sagemaker.models"  # moto files its models by service

    def __init__(self, name):
        self.name = name

    @property
    def physical_resource_id(self):
        return self.name

    @staticmethod
    def cloudformation_name_type():
        return "PipelineName"

    @staticmethod
    def cloudformation_type():
        return "AWS::SageMaker::Pipeline"

    @classmethod
    def has_cfn_attr(cls, attr):
        return False

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        body, location = _pipeline_definition(properties)
        pipeline = _sagemaker_backend(account_id, region_name).create_pipeline(
            pipeline_name=properties["PipelineName"],
            pipeline_display_name=properties.get("PipelineDisplayName"),
            pipeline_definition=body,
            pipeline_definition_s3_location=location,
            pipeline_description=properties.get("PipelineDescription"),
            role_arn=properties["RoleArn"],
            tags=properties.get("Tags", []),
            parallelism_configuration=properties.get("ParallelismConfiguration"),
        )
        return cls(pipeline.pipeline_name)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        properties = cloudformation_json["Properties"]
        if properties["PipelineName"] != original_resource.name:  # create-only: replaced
            new = cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
            original_resource.delete(account_id, region_name)
            return new
        backend = _sagemaker_backend(account_id, region_name)
        body, location = _pipeline_definition(properties)
        backend.update_pipeline(
            original_resource.name,
            pipeline_display_name=properties.get("PipelineDisplayName"),
            pipeline_definition=body,
            pipeline_definition_s3_location=location,
            pipeline_description=properties.get("PipelineDescription"),
            role_arn=properties["RoleArn"],
            parallelism_configuration=properties.get("ParallelismConfiguration"),
        )
        backend.pipelines[original_resource.name].tags = list(properties.get("Tags", []))
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        cls(resource_name).delete(account_id, region_name)

    def delete(self, account_id, region_name):
        backend = _sagemaker_backend(account_id, region_name)
        if self.name in backend.pipelines:
            backend.delete_pipeline(self.name)


# The model list is built from CloudFormationModel's subclasses and cached:
# built again so that the types above are known.
for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
    cached.cache_clear()

# --- 9. AWS::SageMaker::Endpoint's EndpointName -----------------------------

sagemaker.FakeEndpoint.cloudformation_name_type = staticmethod(lambda: "EndpointName")


def _endpoint_update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
    properties = cloudformation_json["Properties"]
    backend = _sagemaker_backend(account_id, region_name)
    if properties.get("EndpointName", original_resource.endpoint_name) != original_resource.endpoint_name:
        # Create-only: a new endpoint first, then the old one goes.
        new = cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
        cls.delete_from_cloudformation_json(original_resource.arn, cloudformation_json, account_id, region_name)
        return new
    retained = {
        v["VariantName"]: {"DesiredWeight": v.get("DesiredWeight"), "DesiredInstanceCount": v.get("DesiredInstanceCount")}
        for v in original_resource.production_variants
        if v.get("DesiredInstanceCount") is not None
    }
    cls.delete_from_cloudformation_json(original_resource.arn, cloudformation_json, account_id, region_name)
    new = cls.create_from_cloudformation_json(original_resource.endpoint_name, cloudformation_json, account_id, region_name)
    if str(properties.get("RetainAllVariantProperties", "false")).lower() == "true":
        keep = [
            dict(retained[v["VariantName"]], VariantName=v["VariantName"])
            for v in new.production_variants
            if v["VariantName"] in retained
        ]
        if keep:
            backend.update_endpoint_weights_and_capacities(new.endpoint_name, keep)
    return new


sagemaker.FakeEndpoint.update_from_cloudformation_json = classmethod(_endpoint_update)

# --- 10, 11. Termination protection -----------------------------------------


def _update_termination_protection(self, stack_name, enabled):
    stack = self.get_stack(stack_name)
    if stack.status == "DELETE_COMPLETE":
        raise ValidationError(stack_name)
    stack.enable_termination_protection = enabled
    return stack


def _update_termination_protection_response(self):
    stack = self.cloudformation_backend.update_termination_protection(
        self._get_param("StackName"),
        self._get_bool_param("EnableTerminationProtection", False),
    )
    return ActionResult({"StackId": stack.stack_id})


cfn.CloudFormationBackend.update_termination_protection = _update_termination_protection
cfn_responses.CloudFormationResponse.update_termination_protection = _update_termination_protection_response

_delete_stack = cfn.CloudFormationBackend.delete_stack


def _delete_stack_unless_protected(self, name_or_stack_id):
    for stack in self.stacks.values():
        if name_or_stack_id in (stack.name, stack.stack_id) and stack.enable_termination_protection:
            raise ValidationError(
                message=f"Stack [{stack.name}] cannot be deleted while TerminationProtection is enabled"
            )
    return _delete_stack(self, name_or_stack_id)


cfn.CloudFormationBackend.delete_stack = _delete_stack_unless_protected

# --- 12. Stack policies enforced on updates ---------------------------------


def _create_only(resource_type):
    """Top-level create-only properties of a resource type, from the schemas
    cfn-lint carries (the CloudFormation registry's)."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
    except Exception:  # an unknown type: nothing known to force a replacement
        return set()
    return {p.split("/")[2] for p in schema.get("createOnlyProperties", []) if p.startswith("/properties/")}


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _policy_decision(policy, action, logical_id, resource_type):
    """None when allowed; otherwise why not, in CloudFormation's words."""
    resource = f"LogicalResourceId/{logical_id}"
    allowed = False
    for number, statement in enumerate(policy.get("Statement", []), start=1):
        if "Action" in statement:
            if not any(fnmatch.fnmatchcase(action, a) for a in _as_list(statement["Action"])):
                continue
        elif any(fnmatch.fnmatchcase(action, a) for a in _as_list(statement.get("NotAction", []))):
            continue
        if "Resource" in statement:
            if not any(fnmatch.fnmatchcase(resource, r) for r in _as_list(statement["Resource"])):
                continue
        elif "NotResource" in statement:
            if any(fnmatch.fnmatchcase(resource, r) for r in _as_list(statement["NotResource"])):
                continue
        condition = statement.get("Condition", {})
        types = condition.get("StringEquals", {}).get("ResourceType")
        if types is not None and resource_type not in _as_list(types):
            continue
        patterns = condition.get("StringLike", {}).get("ResourceType")
        if patterns is not None and not any(fnmatch.fnmatchcase(resource_type, p) for p in _as_list(patterns)):
            continue
        if statement.get("Effect") == "Deny":
            return f"Action denied by stack policy: Statement [#{number}] does not allow [{action}] for resource [{resource}]"
        allowed = True
    if allowed:
        return None
    return f"Action denied by stack policy: Stack policy does not allow [{action}] for resource [{resource}]"


def _stack_policy_denials(stack, new_template):
    if not stack.policy:
        return []
    policy = json.loads(stack.policy)
    old = stack.template_dict.get("Resources", {})
    new = new_template.get("Resources", {})
    denied = []
    for logical_id, resource in old.items():
        if logical_id not in new:
            action = "Update:Delete"
        elif new[logical_id] == resource:
            continue
        else:
            before, after = resource.get("Properties", {}), new[logical_id].get("Properties", {})
            replaced = new[logical_id].get("Type") != resource.get("Type") or any(
                before.get(p) != after.get(p) for p in _create_only(resource.get("Type"))
            )
            action = "Update:Replace" if replaced else "Update:Modify"
        reason = _policy_decision(policy, action, logical_id, resource.get("Type"))
        if reason:
            denied.append((logical_id, resource.get("Type"), reason))
    return denied


def _fail_update_by_policy(stack, denied):
    """The events and status of an update CloudFormation refused: nothing changed."""
    stack._add_stack_event("UPDATE_IN_PROGRESS", resource_status_reason="User Initiated")
    physical = {
        getattr(r, "logical_resource_id", None): getattr(r, "physical_resource_id", None)
        for r in stack.resource_map._parsed_resources.values()
        if hasattr(r, "logical_resource_id")
    }
    for logical_id, resource_type, reason in denied:
        event = cfn.Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=logical_id,
            physical_resource_id=physical.get(logical_id) or "",
            resource_type=resource_type,
            resource_status="UPDATE_FAILED",
            resource_status_reason=reason,
            resource_properties=None,
        )
        stack.events.append(event)
    failed = ", ".join(logical_id for logical_id, _, _ in denied)
    stack._add_stack_event(
        "UPDATE_ROLLBACK_IN_PROGRESS",
        resource_status_reason=f"The following resource(s) failed to update: [{failed}].",
    )
    stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")
    stack.status = "UPDATE_ROLLBACK_COMPLETE"


_update_stack = cfn.CloudFormationBackend.update_stack


def _update_stack_under_policy(self, name, template, role_arn, parameters, tags):
    stack = self.get_stack(name)
    denied = _stack_policy_denials(stack, stack.parse_template(template))
    if denied:
        _fail_update_by_policy(stack, denied)
        return stack
    return _update_stack(self, name, template, role_arn, parameters, tags)


cfn.CloudFormationBackend.update_stack = _update_stack_under_policy

# --- 13. Dependents of a replaced resource are updated ----------------------


def _referenced(value):
    """The logical ids a template value refers to (Ref, Fn::GetAtt, Fn::Sub)."""
    found = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                target = inner[0] if isinstance(inner, list) else str(inner).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                found.update(name.split(".")[0] for name in re.findall(r"\$\{([^!}][^}]*)\}", text))
                if isinstance(inner, list):
                    found.update(_referenced(inner[1]))
            else:
                found.update(_referenced(inner))
    elif isinstance(value, list):
        for inner in value:
            found.update(_referenced(inner))
    return found


def _physical_ids(resource_map):
    return {
        logical_id: getattr(resource, "physical_resource_id", None)
        for logical_id, resource in resource_map._parsed_resources.items()
        if isinstance(resource, CloudFormationModel)
    }


_resource_map_update = parsing.ResourceMap.update


def _update_with_dependents(self, template, parameters=None):
    before = _physical_ids(self)
    unchanged_before = {
        name for name, resource in template.get("Resources", {}).items() if self._resource_json_map.get(name) == resource
    }
    _resource_map_update(self, template, parameters)
    # moto updates only resources whose own template text changed. When a
    # replacement gives a resource a new physical id, CloudFormation also
    # updates every resource that refers to it (an endpoint whose endpoint
    # config was replaced is pointed at the new config).
    changed = {name for name, physical in _physical_ids(self).items() if before.get(name) not in (None, physical)}
    while changed:
        dependents = [
            name
            for name in unchanged_before
            if name in self._parsed_resources and _referenced(self._resource_json_map[name]) & changed
        ]
        unchanged_before.difference_update(dependents)
        before = _physical_ids(self)
        for name in dependents:
            updated = parsing.parse_and_update_resource(
                name, self._resource_json_map[name], self, account_id=self._account_id, region_name=self._region_name
            )
            if updated is not None:
                self._parsed_resources[name] = updated
        changed = {name for name, physical in _physical_ids(self).items() if before.get(name) not in (None, physical)}


parsing.ResourceMap.update = _update_with_dependents

# --- 15. GetTemplate of a change set -----------------------------------------

_get_template_response = cfn_responses.CloudFormationResponse.get_template


def _get_template_of_change_set(self):
    change_set_name = self._get_param("ChangeSetName")
    if not change_set_name:
        return _get_template_response(self)
    stack_name = self._get_param("StackName")
    change_set = self.cloudformation_backend.describe_change_set(change_set_name)
    if stack_name and stack_name not in (change_set.stack_name, change_set.stack_id):
        raise ValidationError(change_set_name)
    return ActionResult({"TemplateBody": change_set.template})


cfn_responses.CloudFormationResponse.get_template = _get_template_of_change_set

# --- 16. Bucket policies and aws:SecureTransport ----------------------------
# moto applies a bucket policy's statements without their conditions, so the
# data lake's "deny unless TLS" statement denies every object request. Every
# SDK request to AWS is TLS: such a statement never applies, as in AWS.

_bucket_get_permission = s3_models.FakeBucket.get_permission


def _is_insecure_transport_only(statement):
    return statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}


def _get_permission_over_tls(self, action, resource):
    if self.policy is None:
        return _bucket_get_permission(self, action, resource)
    document = json.loads(self.policy.decode())
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    kept = [s for s in statements if not _is_insecure_transport_only(s)]
    if len(kept) == len(statements):
        return _bucket_get_permission(self, action, resource)
    original = self.policy
    self.policy = json.dumps({**document, "Statement": kept}).encode()
    try:
        return _bucket_get_permission(self, action, resource)
    finally:
        self.policy = original


s3_models.FakeBucket.get_permission = _get_permission_over_tls

# --- 17. IMPORT change sets --------------------------------------------------

_IMPORTED = threading.local()


def _existing_resource(resource_type, identifier, account_id, region_name):
    """The live object an import adopts, from the backend that holds it; None when there is none."""
    if resource_type == "AWS::S3::Bucket":
        try:
            return _s3_backend(account_id, region_name).get_bucket(identifier)
        except MissingBucket:
            return None
    backend = kms.kms_backends[account_id][region_name]
    if resource_type == "AWS::KMS::Key":
        return backend.keys.get(identifier)
    if resource_type == "AWS::KMS::Alias":
        for key in backend.keys.values():
            if identifier in key.aliases:
                return key.aliases[identifier]
    return None


def _identifier(item):
    identifier = item.get("ResourceIdentifier") or {}
    if isinstance(identifier, list):
        identifier = {entry.get("key"): entry.get("value") for entry in identifier}
    values = list(identifier.values())
    return values[0] if len(values) == 1 else None


def _import_problems(backend, existing, template, to_import):
    resources = template.get("Resources") or {}
    before = existing.template_dict if existing is not None else {}
    old = before.get("Resources") or {}
    imported = {item.get("LogicalResourceId") for item in to_import}
    problems = []
    if not to_import:
        problems.append("ResourcesToImport must name at least one resource")
    for item in to_import:
        logical_id = item.get("LogicalResourceId")
        resource = resources.get(logical_id)
        if resource is None or resource.get("Type") != item.get("ResourceType"):
            problems.append(f"the template has no {item.get('ResourceType')} named {logical_id}")
            continue
        if "DeletionPolicy" not in resource:
            problems.append(f"{logical_id} must have a DeletionPolicy to be imported")
        if logical_id in old:
            problems.append(f"{logical_id} already belongs to the stack")
        identifier = _identifier(item)
        if identifier is None or _existing_resource(
            item.get("ResourceType"), identifier, backend.account_id, backend.region_name
        ) is None:
            problems.append(f"Resource {identifier} of type {item.get('ResourceType')} does not exist")
    others = sorted(
        name for name in set(resources) | set(old) if name not in imported and resources.get(name) != old.get(name)
    )
    if others:
        problems.append(f"As part of the import operation, you cannot modify, add or remove resources: {others}")
    if (template.get("Outputs") or {}) != (before.get("Outputs") or {}):
        problems.append("As part of the import operation, you cannot modify or add [Outputs]")
    return problems


_create_change_set_response_before_import = cfn_responses.CloudFormationResponse.create_change_set


def _create_change_set_response_with_imports(self):
    _IMPORTED.resources = self._get_param("ResourcesToImport", []) if self._get_param("ChangeSetType") == "IMPORT" else None
    try:
        return _create_change_set_response_before_import(self)
    finally:
        _IMPORTED.resources = None


_create_change_set_before_import = cfn.CloudFormationBackend.create_change_set


def _create_change_set_importing(self, stack_name, change_set_name, *args, change_set_type, **kwargs):
    if change_set_type != "IMPORT":
        return _create_change_set_before_import(
            self, stack_name, change_set_name, *args, change_set_type=change_set_type, **kwargs
        )
    to_import = getattr(_IMPORTED, "resources", None) or []
    existing = next(
        (s for s in self.stacks.values() if s.name == stack_name and s.status != "REVIEW_IN_PROGRESS"),
        None,
    )
    problems = _import_problems(self, existing, cfn.Stack.parse_template(kwargs["template"]), to_import)
    if problems:
        raise ValidationError(message="; ".join(problems))
    # moto's own paths: UPDATE finds the stack, CREATE makes one in REVIEW_IN_PROGRESS.
    change_set_id, stack_id = _create_change_set_before_import(
        self,
        stack_name,
        change_set_name,
        *args,
        change_set_type="UPDATE" if existing is not None else "CREATE",
        **kwargs,
    )
    change_set = self.change_sets[change_set_id]
    change_set.change_set_type = "IMPORT"
    change_set.resources_to_import = [
        (item["LogicalResourceId"], item["ResourceType"], _identifier(item)) for item in to_import
    ]
    imported = {logical_id for logical_id, _, _ in change_set.resources_to_import}
    for change in change_set.changes:
        if change.logical_resource_id in imported:
            change.action = "Import"
    change_set.status = "CREATE_COMPLETE"
    change_set.execution_status = "AVAILABLE"
    change_set.status_reason = None
    return change_set_id, stack_id


_execute_change_set_before_import = cfn.CloudFormationBackend.execute_change_set


def _execute_change_set_importing(self, change_set_name, stack_name=None):
    change_set = self.describe_change_set(change_set_name)
    if change_set.change_set_type != "IMPORT":
        return _execute_change_set_before_import(self, change_set_name, stack_name)
    stack = self.stacks[change_set.stack_id]
    stack._add_stack_event("IMPORT_IN_PROGRESS", resource_status_reason="User Initiated")
    new_stack = not stack.template_dict
    stack.template = change_set.template
    stack._parse_template()
    stack.description = stack.template_dict.get("Description")
    if new_stack:
        stack.cross_stack_resources = self.exports
        stack.resource_map = stack._create_resource_map()
    resource_map = stack.resource_map
    resource_map._template = stack.template_dict
    resource_map._resource_json_map = stack.template_dict["Resources"]
    for logical_id, resource_type, identifier in change_set.resources_to_import:
        resource = _existing_resource(resource_type, identifier, self.account_id, self.region_name)
        resource.cf_resource_type = resource_type
        resource.logical_resource_id = logical_id
        resource_map._parsed_resources[logical_id] = resource
        stack.events.append(
            cfn.Event(
                stack_id=stack.stack_id,
                stack_name=stack.name,
                logical_resource_id=logical_id,
                physical_resource_id=resource.physical_resource_id,
                resource_type=resource_type,
                resource_status="IMPORT_COMPLETE",
                resource_status_reason=None,
                resource_properties=None,
            )
        )
    stack.output_map = stack._create_output_map()
    stack._add_stack_event("IMPORT_COMPLETE")
    stack.status = "IMPORT_COMPLETE"
    change_set.execution_status = "EXECUTE_COMPLETE"


cfn_responses.CloudFormationResponse.create_change_set = _create_change_set_response_with_imports
cfn.CloudFormationBackend.create_change_set = _create_change_set_importing
cfn.CloudFormationBackend.execute_change_set = _execute_change_set_importing


# --- 18. UpdateEndpointWeightsAndCapacities keeps what is not given ---------

_update_weights_and_capacities = sagemaker.SageMakerModelBackend.update_endpoint_weights_and_capacities


def _update_weights_and_capacities_partial(self, endpoint_name, desired_weights_and_capacities):
    endpoint = self.endpoints.get(endpoint_name)
    if endpoint is not None:
        variants = {v.get("VariantName"): v for v in endpoint.production_variants}
        filled = []
        for request in desired_weights_and_capacities:
            variant = variants.get(request.get("VariantName"), {})
            filled.append(
                {
                    **request,
                    "DesiredWeight": request.get("DesiredWeight", variant.get("CurrentWeight")),
                    "DesiredInstanceCount": request.get(
                        "DesiredInstanceCount", variant.get("CurrentInstanceCount")
                    ),
                }
            )
        desired_weights_and_capacities = filled
    return _update_weights_and_capacities(self, endpoint_name, desired_weights_and_capacities)


sagemaker.SageMakerModelBackend.update_endpoint_weights_and_capacities = _update_weights_and_capacities_partial

# --- 19. AWS::CloudWatch::Alarm ---------------------------------------------

from moto.cloudwatch.models import cloudwatch_backends  # noqa: E402


class MetricAlarm(CloudFormationModel):
    __module__ = "moto.cloudwatch.models"  # moto files its models by service

    def __init__(self, name):
        self.name = name

    @property
    def physical_resource_id(self):
        return self.name

    @staticmethod
    def cloudformation_type():
        return "AWS::CloudWatch::Alarm"

    @staticmethod
    def cloudformation_name_type():
        return "AlarmName"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = cloudformation_json["Properties"]
        name = p.get("AlarmName") or resource_name
        cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=name,
            namespace=p.get("Namespace"),
            metric_name=p.get("MetricName"),
            comparison_operator=p.get("ComparisonOperator"),
            evaluation_periods=int(p.get("EvaluationPeriods", 1)),
            period=int(p.get("Period", 60)),
            threshold=float(p.get("Threshold", 0)),
            statistic=p.get("Statistic"),
            extended_statistic=p.get("ExtendedStatistic"),
            description=p.get("AlarmDescription", ""),
            dimensions=list(p.get("Dimensions", [])),
            alarm_actions=list(p.get("AlarmActions", [])),
            ok_actions=list(p.get("OKActions", [])),
            treat_missing_data=p.get("TreatMissingData"),
        )
        return cls(name)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        cloudwatch_backends[account_id][region_name].delete_alarms([original_resource.name])
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        cloudwatch_backends[account_id][region_name].delete_alarms([resource_name])


for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
    cached.cache_clear()

# --- 20. CloudWatch in Smithy RPC v2 CBOR ------------------------------------

from moto.cloudwatch import urls as cloudwatch_urls  # noqa: E402
from moto.cloudwatch.responses import CloudWatchResponse  # noqa: E402
from moto.core import serialize as moto_serialize  # noqa: E402

RPC_V2_CBOR = "smithy-rpc-v2-cbor"
RPC_V2_CLOUDWATCH_PATH = re.compile(r"^/service/GraniteServiceVersion20100801/operation/([A-Za-z]+)$")


class EpochSeconds(float):
    """A timestamp: CBOR tag 1 over epoch seconds."""


def cbor_encode(value):
    """RFC 8949, definite lengths; floats always as 64-bit (Smithy reads any width)."""
    out = bytearray()

    def head(major, n):
        if n < 24:
            out.append(major << 5 | n)
        else:
            for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
                if n < 1 << (8 * size):
                    out.append(major << 5 | info)
                    out.extend(n.to_bytes(size, "big"))
                    return
            raise ValueError(f"integer {n} does not fit CBOR's 64 bits")

    def item(v):
        if v is None:
            out.append(0xF6)
        elif v is True or v is False:
            out.append(0xF5 if v else 0xF4)
        elif isinstance(v, EpochSeconds):
            out.append(0xC1)
            item(int(v) if v == int(v) else float(v))
        elif isinstance(v, int):
            head(0, v) if v >= 0 else head(1, -1 - v)
        elif isinstance(v, float):
            out.append(0xFB)
            out.extend(struct.pack(">d", v))
        elif isinstance(v, str):
            data = v.encode("utf-8")
            head(3, len(data))
            out.extend(data)
        elif isinstance(v, (bytes, bytearray)):
            head(2, len(v))
            out.extend(v)
        elif isinstance(v, (list, tuple)):
            head(4, len(v))
            for element in v:
                item(element)
        elif isinstance(v, dict):
            head(5, len(v))
            for key, element in v.items():
                item(key)
                item(element)
        else:
            raise TypeError(f"no CBOR form for {type(v).__name__}")

    item(value)
    return bytes(out)


_BREAK = object()


def cbor_decode(data):
    """RFC 8949, definite and indefinite lengths (the Rust SDK writes
    indefinite maps and arrays). Tag 1 becomes a UTC datetime."""
    pos = 0

    def take(n):
        nonlocal pos
        if pos + n > len(data):
            raise ValueError(f"CBOR ends at byte {len(data)}, {n} more expected at {pos}")
        chunk = data[pos : pos + n]
        pos += n
        return chunk

    def argument(info):
        if info < 24:
            return info
        if info in (24, 25, 26, 27):
            return int.from_bytes(take(1 << (info - 24)), "big")
        if info == 31:
            return None  # indefinite length
        raise ValueError(f"CBOR additional information {info} is reserved (byte {pos - 1})")

    def item():
        initial = take(1)[0]
        major, info = initial >> 5, initial & 0x1F
        if initial == 0xFF:
            return _BREAK
        if major == 7:
            if info == 20:
                return False
            if info == 21:
                return True
            if info in (22, 23):
                return None
            if info in (25, 26, 27):
                fmt = {25: ">e", 26: ">f", 27: ">d"}[info]
                return struct.unpack(fmt, take(struct.calcsize(fmt)))[0]
            raise ValueError(f"CBOR simple value {info} is not supported")
        n = argument(info)
        if major == 0:
            return n
        if major == 1:
            return -1 - n
        if major in (2, 3):
            if n is None:
                chunks = []
                while (chunk := item()) is not _BREAK:
                    chunks.append(chunk)
                return b"".join(chunks) if major == 2 else "".join(chunks)
            raw = take(n)
            return raw if major == 2 else raw.decode("utf-8")
        if major == 4:
            if n is None:
                elements = []
                while (element := item()) is not _BREAK:
                    elements.append(element)
                return elements
            return [item() for _ in range(n)]
        if major == 5:
            mapping = {}
            count = 0
            while n is None or count < n:
                key = item()
                if key is _BREAK and n is None:
                    break
                mapping[key] = item()
                count += 1
            return mapping
        # major 6: a tag
        tagged = item()
        if n == 1:
            return datetime.datetime.fromtimestamp(tagged, datetime.timezone.utc)
        raise ValueError(f"CBOR tag {n} is not supported")

    value = item()
    if pos != len(data):
        raise ValueError(f"{len(data) - pos} bytes after the CBOR item")
    return value


class RpcV2CborSerializer(moto_serialize.BaseJSONSerializer):
    """moto's JSON serializer walks the botocore output shape into a dict;
    only its leaves and its encoding differ in RPC v2 CBOR."""

    CONTENT_TYPE = "application/cbor"

    def _get_protocol_specific_content_type(self):
        return self.CONTENT_TYPE

    def _serialize_body(self, body):
        return cbor_encode(body)

    def _serialize_type_timestamp(self, serialized, value, shape, key):
        seconds = self._timestamp_serializer._convert_timestamp_to_str(value, "unixtimestamp")
        self._default_serialize(serialized, EpochSeconds(seconds), shape, key)

    def _serialize_type_blob(self, serialized, value, shape, key):
        self._default_serialize(serialized, value.encode() if isinstance(value, str) else bytes(value), shape, key)

    def serialize(self, result):
        response = super().serialize(result)
        response["headers"]["smithy-protocol"] = "rpc-v2-cbor"
        return response


moto_serialize.SERIALIZERS[RPC_V2_CBOR] = RpcV2CborSerializer
cloudwatch_urls.url_paths["{0}/service/GraniteServiceVersion20100801/operation/(?P<operation>[A-Za-z]+)$"] = (
    CloudWatchResponse.dispatch
)

_cloudwatch_dispatch = CloudWatchResponse._dispatch
_cloudwatch_get_action = CloudWatchResponse._get_action
_cloudwatch_parse_parameters = CloudWatchResponse.parse_parameters
_cloudwatch_response_protocol = CloudWatchResponse.determine_response_protocol


def _cloudwatch_dispatch_rpc_v2(self, request, full_url=None, headers=None):
    match = RPC_V2_CLOUDWATCH_PATH.match(request.path)
    self.rpc_v2_operation = match.group(1) if match else None
    if self.rpc_v2_operation:
        self.use_raw_body = True  # CBOR is not text
    return _cloudwatch_dispatch(self, request, full_url, headers)


def _cloudwatch_get_action_rpc_v2(self):
    return getattr(self, "rpc_v2_operation", None) or _cloudwatch_get_action(self)


def _cloudwatch_parse_parameters_rpc_v2(self, request):
    if not getattr(self, "rpc_v2_operation", None):
        return _cloudwatch_parse_parameters(self, request)
    self.params = cbor_decode(request.data) if request.data else {}


def _cloudwatch_response_protocol_rpc_v2(self, service_model):
    if getattr(self, "rpc_v2_operation", None):
        return RPC_V2_CBOR
    return _cloudwatch_response_protocol(self, service_model)


CloudWatchResponse._dispatch = _cloudwatch_dispatch_rpc_v2
CloudWatchResponse._get_action = _cloudwatch_get_action_rpc_v2
CloudWatchResponse.parse_parameters = _cloudwatch_parse_parameters_rpc_v2
CloudWatchResponse.determine_response_protocol = _cloudwatch_response_protocol_rpc_v2

# --- 21. Actions moto does not implement ------------------------------------

from moto.core.exceptions import ServiceException  # noqa: E402
from moto.core.responses import BaseResponse  # noqa: E402

MISSING_ACTION = re.compile(r"^The (\w+) action has not been implemented$")


class InvalidAction(ServiceException):
    code = "InvalidAction"


_call_action = BaseResponse.call_action


def _call_action_or_invalid(self):
    try:
        return _call_action(self)
    except NotImplementedError as error:
        if not MISSING_ACTION.match(str(error)):
            raise
    action = self._get_action()
    message = f"The action {action} is not implemented by the emulator (moto {moto.__version__})"
    # The path call_action takes for any ServiceException a handler raises.
    error_status, error_headers, error_body = self.serialized(ActionResult(InvalidAction(message)))
    error_headers["status"] = error_status
    status, headers, body = self._transform_response(self.response_headers, (error_body, error_headers))
    headers, body = self._enrich_response(headers, body)
    return status, headers, body


BaseResponse.call_action = _call_action_or_invalid

# --- The launcher's marker ---------------------------------------------------

_dispatch = werkzeug_app.DomainDispatcherApplication.__call__


def _dispatch_marked(self, environ, start_response):
    if environ.get("PATH_INFO") == MARKER_PATH:
        body = json.dumps({"launcher": LAUNCHER, "moto": moto.__version__, "fixes": FIXES}).encode()
        start_response(
            "200 OK",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body))), (MARKER_HEADER, LAUNCHER)],
        )
        return [body]

    def start_marked(status, headers, exc_info=None):
        return start_response(status, list(headers) + [(MARKER_HEADER, LAUNCHER)], exc_info)

    return _dispatch(self, environ, start_marked)


werkzeug_app.DomainDispatcherApplication.__call__ = _dispatch_marked

# --- Less work per request (moto's answers are the same) --------------------
#
# Profiled under the test suite, most of the emulator's CPU went to three
# things that change no answer:
#
# - moto reads every template with PyYAML's pure-Python loader (several times
#   per stack and change set), and falls back to JSON only when that fails.
#   mlinfra's templates are JSON: here a template that parses as JSON is read
#   by the JSON parser, and anything else by moto's YAML path as before.
# - To match a request's host, moto lists its own package folder and stats
#   each of its ~200 entries, on every request. The list cannot change while
#   the server runs: it is listed once.
# - botocore's service models (the SageMaker one alone is megabytes of JSON)
#   and its endpoint data are loaded on a service's first request and cached
#   per process, so every forked server loaded them again. The fork server
#   loads them for the services mlinfra calls before it forks (see below).


# A template that opens as a JSON object, found without copying the template.
JSON_OBJECT_START = re.compile(r"\s*\{")


class _JsonFirstYaml:
    """moto's `yaml` module as moto's CloudFormation sees it, but `load`
    tries JSON first: JSON is YAML, and the C JSON parser is ~100× faster."""

    def __init__(self, yaml_module):
        self._yaml = yaml_module

    def load(self, stream, Loader):  # noqa: N803 (PyYAML's own name)
        if isinstance(stream, str) and JSON_OBJECT_START.match(stream):
            try:
                return json.loads(stream)
            except ValueError:
                pass
        return self._yaml.load(stream, Loader=Loader)

    def __getattr__(self, name):
        return getattr(self._yaml, name)


cfn.yaml = _JsonFirstYaml(cfn.yaml)
cfn_responses.yaml = _JsonFirstYaml(cfn_responses.yaml)

from moto import backends as moto_backends  # noqa: E402

_MOTO_MODULES = tuple(moto_backends.list_of_moto_modules())
moto_backends.list_of_moto_modules = lambda: _MOTO_MODULES

# The botocore models of what mlinfra calls (`cloud/`), loaded before forking.
PRELOADED_SERVICE_MODELS = (
    "application-autoscaling",
    "cloudformation",
    "cloudwatch",
    "iam",
    "s3",
    "sagemaker",
    "sts",
)


def _preload_service_models():
    from moto.core.base_backend import AccountSpecificBackend
    from moto.core.utils import get_service_model

    # Each service's backend also asks botocore's endpoint data for its
    # regions, through one session per process.
    session = AccountSpecificBackend.get_session()
    for service in PRELOADED_SERVICE_MODELS:
        get_service_model(service)
        for partition in session.get_available_partitions():
            session.get_available_regions(service, partition_name=partition)


# --- Many servers from one start-up (`--fork-server`) ------------------------
#
# A test suite starts dozens of servers, each for one test, and each start
# imports moto and applies the fixes above: over a second of CPU. With
# `--fork-server` the launcher does that once and then serves requests on
# standard input, one per line, answering each with one line:
#
#   start PORT SETTINGS LOG
#                    a new server on 127.0.0.1:PORT with the environment
#                    settings NAME=VALUE,... (`-` for none; moto reads them
#                    when a request needs them), stderr to LOG -> its pid
#   status PID       -> `running` or `exited CODE`
#   stop PID         kills and reaps it -> `stopped`
#
# Each server is a forked copy of this process taken before any request, so
# it starts with moto's empty state, exactly as a fresh launcher does. When
# standard input closes, every server still running is stopped.


def _serve_forked(port, settings, log):
    """In the forked child: the server itself, never returning."""
    code = 1
    try:
        if settings != "-":
            os.environ.update(setting.split("=", 1) for setting in settings.split(","))
        log_fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        null_fd = os.open(os.devnull, os.O_RDWR)
        os.dup2(null_fd, 0)
        os.dup2(null_fd, 1)
        os.dup2(log_fd, 2)
        gc.enable()
        sys.argv = [LAUNCHER, "-H", "127.0.0.1", "-p", port]
        main()
        code = 0
    finally:
        os._exit(code)


def _fork_server():
    children = set()

    def answer(text):
        sys.stdout.write(f"{text}\n")
        sys.stdout.flush()

    for line in sys.stdin:
        # The log's path is the rest of the line, spaces and all.
        command, *args = line.rstrip("\n").split(" ", 3)
        if command == "start" and len(args) == 3:
            sys.stdout.flush()
            pid = os.fork()
            if pid == 0:
                _serve_forked(*args)
            children.add(pid)
            answer(pid)
        elif command == "status" and len(args) == 1:
            pid = int(args[0])
            if pid not in children:
                answer("exited")
                continue
            reaped, status = os.waitpid(pid, os.WNOHANG)
            if reaped == 0:
                answer("running")
            else:
                children.discard(pid)
                answer(f"exited {os.waitstatus_to_exitcode(status)}")
        elif command == "stop" and len(args) == 1:
            pid = int(args[0])
            if pid in children:
                children.discard(pid)
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            answer("stopped")
        else:
            answer(f"error: unknown request {line.strip()!r}")
    for pid in children:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    return 0


if __name__ == "__main__":
    # Whatever lives now is kept for the server's life: out of every collection.
    if sys.argv[1:] == ["--fork-server"]:
        _preload_service_models()
        gc.freeze()
        sys.exit(_fork_server())
    gc.freeze()
    gc.enable()
    sys.exit(main())
