#!/usr/bin/env python3
"""Writes a compiled output tree as one `kubectl get ... -A -o yaml` dump (a `kind: List`), without
what tenantc adds to say it owns the objects (its labels and annotations, the generated-file header,
the GitOps objects and kustomizations): the input of the `tenantc import` benchmark.

    python3 bench/import_dump.py OUTPUT_DIR > dump.yaml
"""

import os
import sys

DROPPED = (
    "tenantc.dev/",
    "app.kubernetes.io/managed-by",
    "argocd.argoproj.io/sync-options",
    "kustomize.toolkit.fluxcd.io/prune",
)


def documents(path):
    with open(path) as f:
        text = f.read()
    for doc in text.split("\n---\n"):
        lines = [
            l
            for l in doc.splitlines()
            if l.strip() and not l.lstrip().startswith("#") and l != "---"
            and not any(d in l for d in DROPPED)
        ]
        if lines:
            yield lines


def main():
    root = sys.argv[1]
    out = sys.stdout
    out.write("apiVersion: v1\nkind: List\nmetadata:\n  resourceVersion: \"\"\nitems:\n")
    for top in ("shared", "tenants"):
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames.sort()
            for name in sorted(filenames):
                if not name.endswith(".yaml") or name == "kustomization.yaml":
                    continue
                for lines in documents(os.path.join(dirpath, name)):
                    out.write("- " + lines[0] + "\n")
                    for l in lines[1:]:
                        out.write("  " + l + "\n")


if __name__ == "__main__":
    main()
