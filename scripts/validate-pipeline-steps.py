#!/usr/bin/env python3
"""Validates every Training and Tuning step of the SageMaker pipelines in
rendered CloudFormation templates against botocore's service model of
CreateTrainingJob and CreateHyperParameterTuningJob: member names, types,
required members, enums, patterns, lengths and value bounds. Offline.

botocore's own ParamValidator checks types, required members and minimums
only; this walks the model and checks every constraint it records.

Usage: validate-pipeline-steps.py TEMPLATE.json...
Prints one JSON object: {"steps": {"Training": N, "Tuning": M}, "vpc_steps": V,
"problems": [...]} (V: the steps whose job runs in a VPC)
and exits 1 when there is a problem.
"""

import json
import re
import sys

import botocore.session

# Pipelines name the jobs they start; the requests need a name to be complete.
OPERATIONS = {
    "Training": ("CreateTrainingJob", "TrainingJobName", "pipelines-step-name"),
    "Tuning": ("CreateHyperParameterTuningJob", "HyperParameterTuningJobName", "pipelines-tune"),
}
# What `Fn::Sub` fills in: the data key's ARN.
SAMPLE = {"KeyArn": "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"}


def substitute(text, variables):
    def one(match):
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        return variables.get(name, SAMPLE.get(name, "placeholder"))

    return re.sub(r"\$\{([^}]*)\}", one, text)


def check(shape, value, path, problems):
    kind = shape.type_name
    meta = shape.metadata

    def bounds(measure, what):
        if "min" in meta and measure < meta["min"]:
            problems.append(f"{path}: {what} {measure} is below the minimum {meta['min']}")
        if "max" in meta and measure > meta["max"]:
            problems.append(f"{path}: {what} {measure} is above the maximum {meta['max']}")

    if kind == "structure":
        if not isinstance(value, dict):
            problems.append(f"{path}: expected an object, got {type(value).__name__}")
            return
        for name in shape.required_members:
            if name not in value:
                problems.append(f"{path}: required member {name} is missing")
        for name, item in value.items():
            if name not in shape.members:
                problems.append(f"{path}: unknown member {name}")
                continue
            check(shape.members[name], item, f"{path}.{name}", problems)
    elif kind == "list":
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list, got {type(value).__name__}")
            return
        bounds(len(value), "length")
        for i, item in enumerate(value):
            check(shape.member, item, f"{path}[{i}]", problems)
    elif kind == "map":
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a map, got {type(value).__name__}")
            return
        bounds(len(value), "entries")
        for key, item in value.items():
            check(shape.key, key, f"{path} key {key!r}", problems)
            check(shape.value, item, f"{path}[{key!r}]", problems)
    elif kind == "string":
        if not isinstance(value, str):
            problems.append(f"{path}: expected a string, got {type(value).__name__}")
            return
        bounds(len(value), "length")
        if shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} is not one of {', '.join(shape.enum)}")
        pattern = meta.get("pattern")
        if pattern:
            try:
                compiled = re.compile(pattern)
            except re.error:
                compiled = None
            if compiled is not None and not compiled.fullmatch(value):
                problems.append(f"{path}: {value!r} does not match {pattern}")
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{path}: expected an integer, got {value!r}")
            return
        bounds(value, "value")
    elif kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{path}: expected a number, got {value!r}")
            return
        bounds(value, "value")
    elif kind == "boolean":
        if not isinstance(value, bool):
            problems.append(f"{path}: expected true or false, got {value!r}")
    else:
        problems.append(f"{path}: shape type {kind} is not checked by this script")


def steps_of(template_path):
    with open(template_path, encoding="utf-8") as f:
        template = json.load(f)
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::SageMaker::Pipeline":
            continue
        body = resource["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]
        if isinstance(body, dict) and "Fn::Sub" in body:
            sub = body["Fn::Sub"]
            text, variables = (sub, {}) if isinstance(sub, str) else (sub[0], {k: SAMPLE.get(k, "x") for k in sub[1]})
            body = substitute(text, variables)
        definition = json.loads(body)
        for step in definition.get("Steps", []):
            yield f"{template_path}:{logical_id}:{step.get('Name')}", step


def main(paths):
    model = botocore.session.get_session().get_service_model("sagemaker")
    counts = {kind: 0 for kind in OPERATIONS}
    vpc_steps = 0
    problems = []
    for path in paths:
        for where, step in steps_of(path):
            kind = step.get("Type")
            if kind not in OPERATIONS:
                problems.append(f"{where}: step type {kind!r} is not validated")
                continue
            operation, name_member, name = OPERATIONS[kind]
            request = dict(step.get("Arguments", {}))
            request.setdefault(name_member, name)
            check(model.operation_model(operation).input_shape, request, f"{where}:{operation}", problems)
            counts[kind] += 1
            job = request.get("TrainingJobDefinition", request)
            vpc_steps += isinstance(job, dict) and "VpcConfig" in job
    print(json.dumps({"steps": counts, "vpc_steps": vpc_steps, "problems": problems}, indent=2))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
