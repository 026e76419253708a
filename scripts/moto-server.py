"""moto's server (the pinned moto 5.2.5 from the project's venv) with two bugs in
its CloudFormation emulation fixed, so that the stacks mlinfra renders can be
deployed through change sets as on AWS. Started by tests/common/moto.rs.

Nothing here invents a result: each fix routes a call through code moto
already has (moto's own CreateStack path, moto's own KMS tagging), in the way
CloudFormation behaves. Remove a fix when moto ships it.

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
"""

import json
import sys

from moto.cloudformation import models as cfn
from moto.iam import models as iam
from moto.kms import models as kms
from moto.s3 import responses as s3_responses
from moto.server import main

_kms_create = kms.Key.create_from_cloudformation_json.__func__


def _kms_create_with_cfn_tags(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    properties = cloudformation_json.get("Properties", {})
    tags = properties.get("Tags")
    if tags:
        properties = dict(properties, Tags=[{"TagKey": t["Key"], "TagValue": t["Value"]} for t in tags])
        cloudformation_json = dict(cloudformation_json, Properties=properties)
    return _kms_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)


kms.Key.create_from_cloudformation_json = classmethod(_kms_create_with_cfn_tags)

_create_change_set = cfn.CloudFormationBackend.create_change_set
_execute_change_set = cfn.CloudFormationBackend.execute_change_set


def _create_change_set_with_exports(self, *args, **kwargs):
    change_set_id, stack_id = _create_change_set(self, *args, **kwargs)
    stack = self.stacks[stack_id]
    # As create_stack does: the live export table, so imports resolve.
    stack.cross_stack_resources = self.exports
    stack.resource_map.cross_stack_resources = self.exports
    return change_set_id, stack_id


def _execute_change_set_with_outputs(self, change_set_name, stack_name=None):
    change_set = self.describe_change_set(change_set_name)
    stack = self.stacks[change_set.stack_id]
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
cfn.CloudFormationBackend.execute_change_set = _execute_change_set_with_outputs

_role_put_policy = iam.Role.put_policy


def _role_put_policy_as_json(self, policy_name, policy_json):
    if isinstance(policy_json, dict):
        policy_json = json.dumps(policy_json)
    return _role_put_policy(self, policy_name, policy_json)


iam.Role.put_policy = _role_put_policy_as_json


def _get_bucket_versioning_as_s3(self):
    status = self.backend.get_bucket_versioning(self.bucket_name)
    inner = f"<Status>{status}</Status>" if status else ""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{inner}</VersioningConfiguration>'
    )
    return 200, {"Content-Type": "application/xml"}, body


s3_responses.S3Response.get_bucket_versioning = _get_bucket_versioning_as_s3

if __name__ == "__main__":
    sys.exit(main())
