//! The Istio Sidecars against the intent and against the NetworkPolicies: one Sidecar per meshed
//! namespace, importing the hosts tenants.toml lets it reach and no others; and how many
//! namespaces each namespace's sidecars receive configuration for.

use std::collections::BTreeSet;

use crate::intent::{Intent, NamespaceIntent};
use crate::model::OutboundTrafficPolicy;
use crate::verify::finding::{violation, with_objects};
use crate::verify::layer::sidecar::{host_text, parse_host, Host, Scope};
use crate::verify::model::{Direction, Model};
use crate::verify::tree::Origin;
use crate::verify::Finding;

/// Checks the Sidecars of the sidecar-mode namespace `ns` (id `id`), and returns how many
/// namespaces its sidecars get configuration for (the Sidecar's scope; `cluster`, the namespaces
/// of the cluster, without one).
pub(super) fn sidecars(
    model: &Model,
    ns: &NamespaceIntent,
    id: u32,
    mesh: &crate::intent::MeshIntent,
    cluster: usize,
    findings: &mut Vec<Finding>,
) -> usize {
    let name = ns.name.as_str();
    let (effective, _from_root) = model.effective_sidecars(id, Some(mesh.namespace.as_str()));
    let expected = Scope::from_hosts(mesh.hosts.iter().filter_map(|h| parse_host(h, name).ok()));
    let np_reaches = |m: &str| {
        model
            .id(m)
            .is_some_and(|mid| !model.allowed(id, Direction::Egress, mid).0.is_empty())
    };
    let mut push = |check, message: String, objects: Vec<Origin>, to: Option<String>| {
        let mut f = violation(check, with_objects(&message, &objects), objects);
        f.from = Some(name.to_owned());
        f.to = to;
        findings.push(f);
    };
    if effective.is_empty() {
        push(
            "missing-sidecar",
            format!(
                "namespace {name} has no Sidecar (nor does the root namespace {}): its sidecars receive configuration for every namespace of the cluster",
                mesh.namespace
            ),
            Vec::new(),
            None,
        );
        return cluster;
    }
    if effective.len() > 1 {
        push(
            "duplicate-sidecar",
            format!("namespace {name} has {} Sidecars without workloadSelector; Istio's behaviour is then undefined", effective.len()),
            effective.iter().map(|i| model.tree.sidecars[*i].origin.clone()).collect(),
            None,
        );
    }
    let sc_index = effective[0];
    let sc = &model.tree.sidecars[sc_index];
    let (scope, bad) = model.scope_of(sc_index, name);
    let receives = if scope.is_unbounded() {
        cluster
    } else {
        scope.namespace_count().min(cluster)
    };
    for b in bad {
        push("invalid-host", b, vec![sc.origin.clone()], None);
    }
    let selected: Vec<usize> = model
        .sidecars
        .get(&id)
        .into_iter()
        .flatten()
        .copied()
        .filter(|i| model.tree.sidecars[*i].has_workload_selector)
        .collect();
    // The default Sidecar's scope is evaluated above; those with a workloadSelector here.
    let selected_scopes: Vec<(usize, Scope)> = selected
        .iter()
        .map(|&i| (i, model.scope_of(i, name).0))
        .collect();
    let every =
        std::iter::once((sc_index, &scope)).chain(selected_scopes.iter().map(|(i, s)| (*i, s)));
    for (idx, sc_scope) in every {
        let origin = model.tree.sidecars[idx].origin.clone();
        for h in &sc_scope.hosts {
            if expected.covers(h) {
                continue;
            }
            match h {
                Host::NoNamespace => {}
                Host::AnyNamespace(_) => push(
                    "sidecar-extra-host",
                    format!(
                        "the Sidecar of {name} imports `{}`, services of every namespace, but tenants.toml lets {name} reach only {}",
                        host_text(h),
                        expected.namespaces().into_iter().collect::<Vec<_>>().join(", ")
                    ),
                    vec![origin.clone()],
                    None,
                ),
                Host::In(m, _) => {
                    let (check, tail) = if np_reaches(m) {
                        ("sidecar-extra-host", "; the NetworkPolicies allow it as well")
                    } else {
                        ("sidecar-imports-blocked", "; the NetworkPolicies block it, so istiod pushes configuration for nothing")
                    };
                    push(
                        check,
                        format!(
                            "the Sidecar of {name} imports `{}` but tenants.toml does not let {name} reach {m}{tail}",
                            host_text(h)
                        ),
                        vec![origin.clone()],
                        Some(m.clone()),
                    );
                }
            }
        }
    }
    for h in &expected.hosts {
        if scope.covers(h) {
            continue;
        }
        let Host::In(m, _) = h else { continue };
        let (check, tail) = if np_reaches(m) {
            (
                "reachable-not-in-sidecar",
                ", though the NetworkPolicies allow it: under REGISTRY_ONLY the mesh blocks this traffic",
            )
        } else {
            ("sidecar-missing-host", "")
        };
        let dns = if *m == ns.dns.namespace.as_str() {
            " (DNS over TCP passes Envoy and needs the DNS Service in the registry)"
        } else {
            ""
        };
        push(
            check,
            format!(
                "tenants.toml lets {name} reach {m} but its Sidecar does not import `{}`{dns}{tail}",
                host_text(h)
            ),
            vec![sc.origin.clone()],
            Some(m.clone()),
        );
    }
    // A Sidecar with a workloadSelector replaces the namespace's default for the pods it
    // selects (it does not add to it), and an unset outboundTrafficPolicy there is the mesh's
    // default, ALLOW_ANY unless meshConfig says otherwise: its pods would escape the scope.
    for &idx in &selected {
        let other = &model.tree.sidecars[idx];
        let got = other.outbound_mode.as_deref();
        let within = match got {
            Some("REGISTRY_ONLY") => true,
            Some("ALLOW_ANY") => {
                mesh.outbound_traffic_policy == Some(OutboundTrafficPolicy::AllowAny)
            }
            None => mesh.outbound_traffic_policy != Some(OutboundTrafficPolicy::RegistryOnly),
            Some(_) => false,
        };
        if !within {
            push(
                "outbound-traffic-policy",
                format!(
                    "the Sidecar {} of {name} has a workloadSelector and outboundTrafficPolicy {}: Istio applies it instead of the namespace's default Sidecar to the pods it selects, so they may call hosts outside the registry, though tenants.toml asks for {}",
                    other.origin.name,
                    got.unwrap_or("unset (the mesh default, ALLOW_ANY unless meshConfig says otherwise)"),
                    mesh.outbound_traffic_policy.map_or("the mesh default", |w| w.as_str())
                ),
                vec![other.origin.clone()],
                None,
            );
        }
    }
    if let Some(want) = mesh.outbound_traffic_policy {
        if sc.outbound_mode.as_deref() != Some(want.as_str()) {
            push(
                "outbound-traffic-policy",
                format!(
                    "the Sidecar of {name} has outboundTrafficPolicy {} but tenants.toml asks for {}",
                    sc.outbound_mode.as_deref().unwrap_or("unset (the mesh default)"),
                    want.as_str()
                ),
                vec![sc.origin.clone()],
                None,
            );
        }
    }
    receives
}

/// The namespaces of the cluster as far as verify knows them: the tree's and those tenants.toml
/// names. What a Sidecar without one imports from.
pub fn cluster_size(model: &Model, intent: &Intent) -> usize {
    let mut cluster: BTreeSet<&str> = model
        .tree
        .namespaces
        .iter()
        .map(|d| d.origin.name.as_str())
        .collect();
    let known = intent.known_namespaces();
    cluster.extend(known.iter().map(String::as_str));
    cluster.len()
}
