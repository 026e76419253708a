"""Creates in moto what a SageMaker Pipelines run would have.

moto's pipelines run no steps (the pipeline itself is created by the
emulator's CloudFormation). This script creates, through the SageMaker API:
  training-job <endpoint> <training template> <name> the Train step's training
               job: the step's Arguments are the CreateTrainingJob request,
               with Fn::Sub resolved as CloudFormation resolves it (imports
               from the stacks' exports).
"""

import json
import sys

import boto3

mode, endpoint, template_path = sys.argv[1:4]
kw = dict(
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
)
cfn = boto3.client("cloudformation", **kw)
sm = boto3.client("sagemaker", **kw)
exports = {e["Name"]: e["Value"] for e in cfn.list_exports()["Exports"]}
template = json.load(open(template_path))
for resource in template["Resources"].values():
    if resource["Type"] != "AWS::SageMaker::Pipeline":
        continue
    props = resource["Properties"]
    body, variables = props["PipelineDefinition"]["PipelineDefinitionBody"]["Fn::Sub"]
    for name, value in variables.items():
        body = body.replace("${%s}" % name, exports[value["Fn::ImportValue"]])
    body = body.replace("${!", "${")
    if mode == "training-job":
        arguments = json.loads(body)["Steps"][0]["Arguments"]
        sm.create_training_job(TrainingJobName=sys.argv[4], **arguments)
    else:
        sys.exit(f"unknown mode {mode}")
