//! The mesh, from the Sidecars and the istiod flows, the PeerAuthentications and the
//! AuthorizationPolicies: what `[mesh]` can say of them.

use std::collections::BTreeSet;

use super::platform::Winner;
use super::{Draft, Labels, Mesh, Note};
use crate::verify::model::Model;

/// `[mesh]` into the draft, when there are Sidecars or flows to istiod; the AuthorizationPolicies
/// decide `authorization`.
pub(super) fn mesh(
    m: &Model,
    managed: &[u32],
    mesh_found: Option<&Winner>,
    draft: &mut Draft,
    notes: &mut Vec<Note>,
) {
    let sidecar_ns: Vec<u32> = managed
        .iter()
        .copied()
        .filter(|id| m.sidecars.contains_key(id))
        .collect();
    if !sidecar_ns.is_empty() || mesh_found.is_some() {
        let (ns, pods) = match mesh_found {
            Some((ns, pods, ..)) => (m.name(*ns).to_owned(), pods.clone()),
            None => ("istio-system".to_owned(), Labels::new()),
        };
        let modes: BTreeSet<Option<String>> = sidecar_ns
            .iter()
            .flat_map(|id| &m.sidecars[id])
            .map(|i| {
                m.tree.sidecars[*i]
                    .outbound_mode
                    .as_ref()
                    .map(ToString::to_string)
            })
            .collect();
        let outbound = match modes.len() {
            1 => modes.into_iter().next().flatten(),
            0 => None,
            _ => {
                notes.push(Note::of(
                    "mesh",
                    None,
                    "the Sidecars set different outboundTrafficPolicy modes; tenantc sets one on every Sidecar, so the draft sets none (Istio's default, ALLOW_ANY, unless the mesh config says otherwise)".into(),
                ));
                None
            }
        };
        for i in sidecar_ns.iter().flat_map(|id| &m.sidecars[id]) {
            let sc = &m.tree.sidecars[*i];
            if sc.has_workload_selector {
                notes.push(Note::of(
                    "pod-level",
                    Some(&sc.origin),
                    "a Sidecar with a workloadSelector applies to some pods only; tenantc writes one Sidecar per namespace".into(),
                ));
            }
        }
        let modes: BTreeSet<String> = m
            .tree
            .peer_auths
            .iter()
            .filter(|p| !p.has_selector)
            .filter_map(|p| p.mode.as_ref().map(ToString::to_string))
            .collect();
        let mut mtls = (modes.len() == 1)
            .then(|| modes.into_iter().next())
            .flatten()
            .filter(|m| m == "STRICT" || m == "PERMISSIVE");
        let outside = draft
            .ingress
            .as_ref()
            .filter(|i| !i.mesh)
            .map(|i| i.namespace.clone());
        if let (Some("STRICT"), Some(ingress)) = (mtls.as_deref(), outside) {
            notes.push(Note::of(
                "mesh",
                None,
                format!("the PeerAuthentications are STRICT, but nothing shows the ingress controller in {ingress} is in the mesh (an injection label on its Namespace, or an AuthorizationPolicy admitting it): the draft sets mtls = \"PERMISSIVE\"; set STRICT and `mesh = true` on [platform.ingress] if its pods have sidecars"),
            ));
            mtls = Some("PERMISSIVE".into());
        }
        draft.mesh = Some(Mesh {
            why: format!(
                "{} namespaces have Sidecars{}",
                sidecar_ns.len(),
                if mesh_found.is_some() {
                    format!(", and their policies allow TCP/15012 to {ns}")
                } else {
                    String::new()
                }
            ),
            namespace: ns,
            pod_labels: pods,
            outbound_traffic_policy: outbound,
            mtls,
            authorization: false,
        });
    }
    let mut carried_authz = 0;
    for p in &m.tree.authz_policies {
        let l7 = p.rules.iter().flat_map(|r| &r.to).any(|t| {
            let o = &t.operation;
            o.paths.is_some()
                || o.methods.is_some()
                || o.hosts.is_some()
                || o.not_paths.is_some()
                || o.not_methods.is_some()
                || o.not_hosts.is_some()
        }) || p.rules.iter().any(|r| !r.when.is_empty());
        if l7 {
            notes.push(Note::of(
                "l7",
                Some(&p.origin),
                "L7 rules (paths, methods, hosts or conditions) cannot be expressed in tenants.toml; the draft does not carry this AuthorizationPolicy".into(),
            ));
        } else {
            carried_authz += 1;
        }
    }
    // Deny by default in every managed namespace (an ALLOW policy without rules): the posture
    // `[mesh] authorization = true` writes.
    let deny_by_default = !managed.is_empty()
        && managed.iter().all(|id| {
            m.tree.authz_policies.iter().any(|p| {
                p.namespace.as_deref() == Some(m.name(*id))
                    && p.action == "ALLOW"
                    && p.rules.is_empty()
                    && !p.partial
            })
        });
    if carried_authz > 0 {
        notes.push(Note::of(
            "authorization",
            None,
            format!(
                "{carried_authz} AuthorizationPolicies by namespace and port are not carried as they are: {}; the proof compares the NetworkPolicies (after compiling, `tenantc verify` checks that both layers agree)",
                if deny_by_default {
                    "every namespace denies by default, so the draft sets `[mesh] authorization = true`, and tenantc writes them from the intent"
                } else {
                    "not every namespace denies by default, so the draft leaves `[mesh] authorization` off"
                }
            ),
        ));
    }
    if let Some(mesh) = draft.mesh.as_mut() {
        mesh.authorization = deny_by_default;
    }
}

/// Whether namespace `ns`'s pods are in the mesh, as far as the tree shows: an injection or
/// ambient label on its Namespace, or an AuthorizationPolicy that admits it by namespace.
pub(super) fn in_mesh(m: &Model, ns: u32) -> bool {
    let name = m.name(ns);
    let labelled = m.namespace_doc[ns as usize].is_some_and(|d| {
        let l = &m.tree.namespaces[d].labels;
        l.get("istio-injection").is_some_and(|v| v == "enabled")
            || l.get("istio.io/rev").is_some()
            || l.get("istio.io/dataplane-mode")
                .is_some_and(|v| v == "ambient")
    });
    labelled
        || m.tree.authz_policies.iter().any(|p| {
            p.rules
                .iter()
                .flat_map(|r| &r.from)
                .filter_map(|f| f.source.namespaces.as_ref())
                .any(|list| list.iter().any(|n| n == name))
        })
}
