//! The access templates in Rust: rolebindings, resourcequota and limitrange.yaml.j2 (see the
//! module above for how each is kept equal to its template).

use std::collections::BTreeMap;

use super::Out;
use crate::intent::NamespaceIntent;
use crate::model::{Quantity, ResourceName};

/// `apiVersion`, `kind` and `metadata` of an access object: `name` is one of tenantc's fixed
/// names (`tenantc`, `tenantc-owners`, ...), which YAML reads as plain strings.
fn header(out: &mut Out, api_version: &str, kind: &str, name: &'static str, ns: &NamespaceIntent) {
    debug_assert!(name.starts_with("tenantc") && !name.contains(['"', ':', ' ']));
    out.raw("apiVersion: ")
        .raw(api_version)
        .raw("\nkind: ")
        .raw(kind)
        .raw("\nmetadata:\n  name: ")
        .raw(name)
        .raw("\n  namespace: ")
        .value(ns.name.as_str())
        .raw("\n");
}

/// rolebindings.yaml.j2
pub(super) fn rolebindings(out: &mut Out, ns: &NamespaceIntent) {
    for (index, binding) in ns.access.bindings.iter().enumerate() {
        if index > 0 {
            out.raw("---\n");
        }
        header(
            out,
            "rbac.authorization.k8s.io/v1",
            "RoleBinding",
            binding.name,
            ns,
        );
        // The role and the subject's kind are Kubernetes' fixed names (`admin`, `Group`, ...):
        // plain YAML strings, printed as they are.
        out.raw("roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: ")
            .raw(binding.role)
            .raw("\nsubjects:\n");
        for subject in &binding.subjects {
            out.raw("- kind: ").raw(subject.kind).raw("\n");
            match &subject.namespace {
                Some(namespace) => {
                    out.raw("  name: ")
                        .value(&subject.name)
                        .raw("\n  namespace: ")
                        .value(namespace)
                        .raw("\n");
                }
                None => {
                    out.raw("  apiGroup: rbac.authorization.k8s.io\n  name: ")
                        .value(&subject.name)
                        .raw("\n");
                }
            }
        }
    }
}

/// `resource: quantity` lines at `indent`.
fn quantities(out: &mut Out, indent: &str, map: &BTreeMap<ResourceName, Quantity>) {
    for (resource, quantity) in map {
        out.raw(indent)
            .value(resource.as_str())
            .raw(": ")
            .value(quantity.as_str())
            .raw("\n");
    }
}

/// resourcequota.yaml.j2
pub(super) fn resourcequota(out: &mut Out, ns: &NamespaceIntent) {
    header(out, "v1", "ResourceQuota", "tenantc", ns);
    out.raw("spec:\n  hard:\n");
    quantities(out, "    ", &ns.access.quota);
}

/// limitrange.yaml.j2
pub(super) fn limitrange(out: &mut Out, ns: &NamespaceIntent) {
    let Some(limits) = &ns.access.limits else {
        return;
    };
    header(out, "v1", "LimitRange", "tenantc", ns);
    out.raw("spec:\n  limits:\n  - type: Container\n");
    if !limits.default.is_empty() {
        out.raw("    default:\n");
        quantities(out, "      ", &limits.default);
    }
    if !limits.default_request.is_empty() {
        out.raw("    defaultRequest:\n");
        quantities(out, "      ", &limits.default_request);
    }
}
