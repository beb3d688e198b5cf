//! One document, read leniently, into the object of its kind that verify evaluates; and the
//! check that an object in a namespace's directory is that namespace's.

use super::memo;
use super::own::{note_foreign, OWN_KINDS};
use super::raw::{RawDoc, RawRoleRef, RawSubject, Scalar};
use crate::verify::tree::text::{shared_hosts, shared_labels, shared_quantities, shared_subjects};
use crate::verify::tree::{
    AuthzPolicy, LimitDoc, NamespaceDoc, Origin, PeerAuth, Policy, RbacDoc, RbacSubject,
    ServiceEntry, Sidecar, Text, Tree,
};
use crate::verify::{Finding, Severity};

/// A scalar of a quantity map as text (`8`, `"8"` and `8.0` as written), anything else named.
fn scalar_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// The entries of a map of quantities, as text, sorted.
fn quantities_of(v: Option<&serde_json::Value>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = v
        .and_then(|v| v.as_object())
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), scalar_text(v)))
        .collect();
    out.sort();
    out
}

fn rbac_doc(
    kind: &str,
    role_ref: Option<RawRoleRef>,
    subjects: Option<Vec<RawSubject>>,
    namespace: Option<Text>,
    origin: Origin,
) -> RbacDoc {
    let r = role_ref.unwrap_or_default();
    let text = |s: Option<Scalar>| s.map(|s| s.0).unwrap_or_default();
    let subjects = subjects
        .into_iter()
        .flatten()
        .map(|s| RbacSubject {
            kind: text(s.kind),
            name: text(s.name),
            namespace: s.namespace.map(|s| s.0),
            api_group: s.api_group.map(|s| s.0),
        })
        .collect();
    RbacDoc {
        origin,
        kind: Text::interned(kind),
        namespace,
        role_ref: (text(r.api_group), text(r.kind), text(r.name)),
        subjects: shared_subjects(subjects),
    }
}

fn limit_range_doc(
    limits: Option<serde_json::Value>,
    namespace: Option<Text>,
    origin: Origin,
) -> LimitDoc {
    let mut other = Vec::new();
    let mut values = Vec::new();
    let mut requests = Vec::new();
    let items = limits.as_ref().and_then(|l| l.as_array());
    for (i, item) in items.into_iter().flatten().enumerate() {
        let Some(map) = item.as_object() else {
            other.push(format!("spec.limits[{i}]"));
            continue;
        };
        if item["type"].as_str() != Some("Container") || values.len() + requests.len() > 0 {
            other.push(format!(
                "spec.limits[{i}] of type {}",
                item["type"].as_str().unwrap_or("?")
            ));
            continue;
        }
        values = quantities_of(map.get("default"));
        requests = quantities_of(map.get("defaultRequest"));
        for key in map.keys() {
            if !matches!(key.as_str(), "type" | "default" | "defaultRequest") {
                other.push(format!("spec.limits[{i}].{key}"));
            }
        }
    }
    LimitDoc {
        origin,
        namespace,
        values: shared_quantities(values),
        requests: shared_quantities(requests),
        other,
    }
}

/// An object in a namespace's directory is applied with it (one Argo CD Application or Flux
/// Kustomization per tenant, reviewed as that tenant's change), so it must be that namespace's:
/// a PeerAuthentication of the mesh's root namespace, or a policy of another tenant's
/// namespace, placed there would change what other namespaces receive. kustomize keeps
/// `metadata.namespace` as written (a kustomization's `namespace:` is refused, see
/// [`crate::verify::tree::kustomize`]), so the cluster receives what the file says.
pub(super) fn check_directory(
    raw: &RawDoc,
    dir: Option<&str>,
    file: &std::sync::Arc<str>,
    tree: &mut Tree,
) {
    let (Some(dir), Some(kind)) = (dir, raw.kind.as_deref()) else {
        return;
    };
    let api = raw.api_version.as_deref().unwrap_or_default();
    if OWN_KINDS
        .iter()
        .any(|(prefix, k)| *k == kind && api.starts_with(prefix))
    {
        return;
    }
    let name = raw.metadata.name.as_deref().unwrap_or("(unnamed)");
    let ns = raw.metadata.namespace.as_deref();
    let in_place = if kind == "Namespace" {
        name == dir
    } else {
        ns == Some(dir)
    };
    if in_place {
        return;
    }
    let what = match ns {
        _ if kind == "Namespace" => format!("the Namespace {name}"),
        Some(ns) => format!("{kind} {name} of namespace {ns}"),
        None => format!("{kind} {name} without metadata.namespace"),
    };
    tree.audit.push(Finding {
        severity: Severity::Violation,
        check: "namespace-outside-directory",
        message: format!(
            "{file} is in the directory of namespace {dir} but holds {what}: every object of a namespace's directory must be in that namespace, or it changes another namespace (or the whole mesh) under this one's name"
        ),
        from: Some(dir.to_owned()),
        to: None,
        ports: Vec::new(),
        objects: vec![Origin {
            file: file.clone(),
            kind: "other",
            name: format!("{kind} {name}").into(),
        }],
    });
}

/// Adds the object of document `raw` to `tree`; `read` is how the fast reader read its `spec`
/// (`None` from the full parser).
pub(super) fn add_doc(
    raw: RawDoc,
    read: memo::Read<'_>,
    file: &std::sync::Arc<str>,
    tree: &mut Tree,
) {
    let Some(kind) = raw.kind else { return };
    let api = raw.api_version.unwrap_or_default();
    let origin = |kind: &'static str| Origin {
        file: file.clone(),
        kind,
        name: raw
            .metadata
            .name
            .clone()
            .unwrap_or_else(|| "(unnamed)".into()),
    };
    match kind.as_str() {
        "NetworkPolicy" if api.starts_with("networking.k8s.io/") => {
            let spec = memo::policy(read, raw.spec);
            tree.policies.push(Box::new(Policy {
                origin: origin("NetworkPolicy"),
                namespace: raw.metadata.namespace,
                pod_selector: spec.pod_selector,
                policy_types: spec.policy_types,
                unknown_policy_types: spec.unknown_policy_types,
                has_ingress_rules: spec.has_ingress_rules,
                has_egress_rules: spec.has_egress_rules,
                ingress: spec.ingress,
                egress: spec.egress,
                protection: raw.metadata.annotations.protection(),
            }));
        }
        "Sidecar" if api.starts_with("networking.istio.io/") => {
            let hosts: Vec<Text> = raw
                .spec
                .egress
                .unwrap_or_default()
                .into_iter()
                .flat_map(|r| r.hosts.unwrap_or_default())
                .collect();
            tree.sidecars.push(Box::new(Sidecar {
                origin: origin("Sidecar"),
                namespace: raw.metadata.namespace,
                has_workload_selector: raw.spec.workload_selector.is_some(),
                hosts: shared_hosts(hosts),
                outbound_mode: raw.spec.outbound_traffic_policy.and_then(|o| o.mode),
            }));
        }
        "ServiceEntry" if api.starts_with("networking.istio.io/") => {
            tree.service_entries.push(Box::new(ServiceEntry {
                origin: origin("ServiceEntry"),
                namespace: raw.metadata.namespace,
                spec: memo::service_entry(read, raw.spec),
            }));
        }
        "AuthorizationPolicy" if api.starts_with("security.istio.io/") => {
            tree.authz_policies.push(Box::new(AuthzPolicy {
                origin: origin("AuthorizationPolicy"),
                namespace: raw.metadata.namespace,
                action: raw.spec.action.unwrap_or_else(|| "ALLOW".into()),
                partial: raw.spec.selector.is_some()
                    || raw.spec.target_ref.is_some()
                    || raw.spec.target_refs.is_some(),
                rules: raw.spec.rules.unwrap_or_default(),
            }));
        }
        "PeerAuthentication" if api.starts_with("security.istio.io/") => {
            tree.peer_auths.push(Box::new(PeerAuth {
                origin: origin("PeerAuthentication"),
                namespace: raw.metadata.namespace,
                has_selector: raw.spec.selector.is_some(),
                mode: raw.spec.mtls.and_then(|m| m.mode),
                port_level: raw.spec.port_level_mtls.is_some(),
            }));
        }
        "RoleBinding" | "Role" | "ClusterRole" | "ClusterRoleBinding"
            if api.starts_with("rbac.authorization.k8s.io/") =>
        {
            let kind: &'static str = match kind.as_str() {
                "RoleBinding" => "RoleBinding",
                "Role" => "Role",
                "ClusterRole" => "ClusterRole",
                _ => "ClusterRoleBinding",
            };
            let origin = origin(kind);
            let doc = rbac_doc(
                kind,
                raw.role_ref,
                raw.subjects,
                raw.metadata.namespace,
                origin,
            );
            tree.rbac.push(Box::new(doc));
        }
        "ResourceQuota" if api == "v1" => {
            let mut other = Vec::new();
            if raw.spec.scopes.is_some() {
                other.push("spec.scopes".to_owned());
            }
            if raw.spec.scope_selector.is_some() {
                other.push("spec.scopeSelector".to_owned());
            }
            let doc = LimitDoc {
                origin: origin("ResourceQuota"),
                values: shared_quantities(raw.spec.hard.unwrap_or_default().0),
                requests: shared_quantities(Vec::new()),
                namespace: raw.metadata.namespace,
                other,
            };
            tree.quotas.push(Box::new(doc));
        }
        "LimitRange" if api == "v1" => {
            let origin = origin("LimitRange");
            let doc = limit_range_doc(raw.spec.limits, raw.metadata.namespace, origin);
            tree.limit_ranges.push(Box::new(doc));
        }
        "Namespace" if api == "v1" => {
            tree.namespaces.push(Box::new(NamespaceDoc {
                origin: origin("Namespace"),
                labels: shared_labels(raw.metadata.labels),
                annotations: shared_labels(raw.metadata.annotations),
            }));
        }
        other if other.contains("NetworkPolicy") || other == "Sidecar" => {
            let name = raw
                .metadata
                .name
                .clone()
                .unwrap_or_else(|| "(unnamed)".into());
            tree.unevaluated.push(Origin {
                file: file.clone(),
                kind: "other",
                name: format!("{other} {name} ({api})").into(),
            });
        }
        other => {
            let name = raw.metadata.name.as_deref().unwrap_or("(unnamed)");
            note_foreign(other, &api, name, file, tree);
        }
    }
}
