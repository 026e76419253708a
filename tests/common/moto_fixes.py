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
"""

import sys

from moto.cloudformation import models as cfn
from moto.kms import models as kms
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

if __name__ == "__main__":
    sys.exit(main())
