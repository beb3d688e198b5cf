#!/usr/bin/env python3
"""Extract the openAPIV3Schema of one version of a CustomResourceDefinition as JSON.

Usage: crd-to-json.py CRD.yaml VERSION > OUT.json   (needs PyYAML)

Descriptions and the `status` subtree are dropped (tenantc never writes status; a generated object
that carried one is then rejected by the strict check); everything else is verbatim. The tests make
the schema strict themselves (see tests/gitops.rs), so that the strictness is code, not data.
"""
import json
import sys

import yaml


def strip(node, in_properties=False):
    """Drop the `description` annotations, not the properties named `description`."""
    if isinstance(node, dict):
        return {
            k: strip(v, k == "properties" and not in_properties)
            for k, v in node.items()
            if in_properties or not (k == "description" and isinstance(v, str))
        }
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


crd = yaml.safe_load(open(sys.argv[1]))
version = next(v for v in crd["spec"]["versions"] if v["name"] == sys.argv[2])
schema = strip(version["schema"]["openAPIV3Schema"])
schema.get("properties", {}).pop("status", None)
json.dump(schema, sys.stdout, indent=1, sort_keys=True)
sys.stdout.write("\n")
