"""Writes data/cfn-handler-permissions.json: for every resource type the
built-in templates use, the IAM actions CloudFormation's resource handlers
need (create, read, update, delete), read from the resource provider schemas
that the installed cfn-lint ships. Names a schema lists that IAM does not
know as actions (API names such as `s3:DeleteBucketCors`, which IAM grants
through `s3:PutBucketCORS`) are left out: cfn-lint's IAM catalogue decides. The CloudFormation execution role's policy
is generated from this file; tests/it/render.rs checks it is current.

Usage: .venv/bin/python scripts/handler-permissions.py [--check]
"""

import json
import pathlib
import re
import sys

import cfnlint.data.schemas

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "data" / "cfn-handler-permissions.json"


def types():
    found = set()
    for template in (ROOT / "templates").glob("*.json.tera"):
        found.update(re.findall(r'"(AWS::[A-Za-z0-9]+::[A-Za-z0-9]+)"', template.read_text()))
    return sorted(found)


def main():
    schemas = pathlib.Path(cfnlint.data.schemas.__file__).parent
    index = json.loads((schemas / "providers" / "us-east-1.json").read_text())
    catalogue = json.loads(
        (schemas.parent / "AdditionalSpecs" / "Policies.json").read_text()
    )

    def known(action):
        service, _, name = action.partition(":")
        actions = catalogue.get(service.lower(), {}).get("Actions", {})
        return name.lower() in actions

    table = {}
    for name in types():
        schema = json.loads((schemas / "resources" / f"{index[name]}.json").read_text())
        handlers = schema.get("handlers", {})
        table[name] = {
            handler: sorted(
                a for a in set(handlers.get(handler, {}).get("permissions", [])) if known(a)
            )
            for handler in ("create", "read", "update", "delete")
        }
    text = json.dumps(table, indent=2, sort_keys=True) + "\n"
    if "--check" in sys.argv:
        if OUT.read_text() != text:
            sys.exit(f"{OUT} is out of date: run scripts/handler-permissions.py")
        return
    OUT.write_text(text)


main()
