//! `tenantc diff --base PATH`: what a change does, in tenant terms. Both sides are reduced to the
//! same view (namespaces and owners, namespace-level flows with ports, Sidecar hosts, file
//! count), from a tenants.toml (its intent) or from an output tree (its evaluated policies).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::intent::Intent;
use crate::verify::layer::netpol::expectations;
use crate::verify::layer::netpol::PortSet;
use crate::verify::layer::sidecar::{host_text, parse_host};
use crate::verify::model::{Direction, Model};
use crate::verify::review::graph::{tree_edges, Edges};

/// One side of a diff.
#[derive(Clone, Debug, Default)]
pub struct View {
    /// Namespace -> owner (tenant or shared name).
    pub namespaces: BTreeMap<String, String>,
    pub edges: Edges,
    /// Namespace -> its Sidecar's egress hosts (`.` resolved).
    pub sidecar_hosts: BTreeMap<String, BTreeSet<String>>,
    pub files: usize,
    /// The owners that are tenants (the others are shared namespaces).
    pub tenants: BTreeSet<String>,
    /// A tree's flows the NetworkPolicies allow and the AuthorizationPolicies deny (by TCP port).
    pub identity_denied: Edges,
    /// The namespaces of the cluster as `verify --mesh-scope` counts them (the tree's and those
    /// tenants.toml names): what an unbounded Sidecar (`*/...`) imports. `None` for an intent,
    /// whose hosts are all bounded.
    pub cluster_size: Option<usize>,
    /// What the sync tool applies for each tenant and shared entry, by the name of its objects.
    pub syncs: BTreeMap<String, Sync>,
    /// Who may do what where, Pod Security levels and quotas.
    pub access: crate::verify::layer::access::AccessView,
}

mod against;
mod report;
mod sync;

pub use against::{diff_against, diff_each, known, Outcome};
pub use sync::Sync;
use sync::{sync_sentences, syncs_of_intent, syncs_of_tree};

/// The view tenants.toml intends; `files` is what compile produces for it.
pub fn view_of_intent(intent: &Intent, model: &Model, files: usize) -> View {
    let mut v = View {
        files,
        tenants: intent.tenants.keys().map(ToString::to_string).collect(),
        syncs: syncs_of_intent(intent),
        access: crate::verify::layer::access::access_of_intent(intent),
        ..View::default()
    };
    for (name, ns) in &intent.namespaces {
        let name = name.to_string();
        v.namespaces.insert(name.clone(), intent.owner_of(&name));
        for e in expectations(model, ns, Direction::Egress) {
            v.edges
                .entry((name.clone(), model.name(e.peer).to_owned()))
                .or_default()
                .union_with(&e.ports);
        }
        for o in crate::verify::layer::outside::expected(ns) {
            v.edges
                .entry((name.clone(), o.what))
                .or_default()
                .union_with(&o.ports);
        }
        for e in expectations(model, ns, Direction::Ingress) {
            let peer = model.name(e.peer);
            if intent.namespace(peer).is_none() {
                v.edges
                    .entry((peer.to_owned(), name.clone()))
                    .or_default()
                    .union_with(&e.ports);
            }
        }
        if let Some(m) = &ns.mesh {
            v.sidecar_hosts.insert(
                name.clone(),
                m.hosts
                    .iter()
                    .filter_map(|h| parse_host(h, &name).ok())
                    .map(|h| host_text(&h))
                    .collect(),
            );
        }
    }
    v
}

/// The view of an output tree, as its NetworkPolicies and Sidecars decide.
pub fn view_of_tree(model: &Model, intent: &Intent) -> View {
    let edges = tree_edges(model, intent);
    let mut v = View {
        cluster_size: Some(crate::verify::layer::sidecar::cluster_size(model, intent)),
        files: model.tree.files,
        identity_denied: crate::verify::review::graph::identity_gaps(model, intent, &edges),
        edges,
        syncs: syncs_of_tree(model),
        access: crate::verify::layer::access::access_of_tree(model),
        ..View::default()
    };
    let root = intent
        .namespaces
        .values()
        .find_map(|n| n.mesh.as_ref())
        .map(|m| m.namespace.to_string());
    for doc in &model.tree.namespaces {
        let name = doc.origin.name.to_string();
        let owner = match doc.labels.get(crate::resolve::LABEL_TENANT) {
            Some(t) => {
                v.tenants.insert(t.to_string());
                t.to_string()
            }
            None => intent.owner_of(&name),
        };
        v.namespaces.insert(name.clone(), owner);
        if let Some(id) = model.id(&name) {
            let (effective, _) = model.effective_sidecars(id, root.as_deref());
            if let Some(&sc) = effective.first() {
                let (scope, _) = model.scope_of(sc, &name);
                v.sidecar_hosts
                    .insert(name.clone(), scope.hosts.iter().map(host_text).collect());
            }
        }
    }
    v
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Flow {
    pub from: String,
    pub to: String,
    pub from_owner: String,
    pub to_owner: String,
    pub ports: PortSet,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PortChange {
    pub from: String,
    pub to: String,
    pub before: PortSet,
    pub after: PortSet,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct HostChange {
    pub namespace: String,
    pub owner: String,
    pub host: String,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct NamespaceChange {
    pub namespace: String,
    /// The tenant (or shared namespace) it belongs to.
    pub owner: String,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Count {
    pub before: usize,
    pub after: usize,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Diff {
    pub namespaces_created: Vec<NamespaceChange>,
    pub namespaces_deleted: Vec<NamespaceChange>,
    pub flows_added: Vec<Flow>,
    pub flows_removed: Vec<Flow>,
    pub ports_changed: Vec<PortChange>,
    pub sidecar_hosts_added: Vec<HostChange>,
    pub sidecar_hosts_removed: Vec<HostChange>,
    /// Flows where the AuthorizationPolicies newly deny what the NetworkPolicies allow (`ports`:
    /// the denied ones), and where the two layers agree again.
    pub layers_disagree: Vec<PortChange>,
    pub layers_agree_again: Vec<PortChange>,
    pub namespaces: Count,
    pub files: Count,
    /// Namespaces imported by all Sidecars together (the istiod load they leave).
    pub sidecar_scope: Count,
    /// The changes as sentences, as the text and markdown formats print them.
    pub lines: Vec<String>,
    /// Pod Security levels lowered: reported with the breaking changes (see [`diff_against`]).
    #[serde(skip)]
    pub pod_security_weakens: Vec<crate::verify::layer::access::Weakening>,
}

/// Namespaces imported by every Sidecar together, counted as `verify --mesh-scope` counts them:
/// a Sidecar importing from every namespace (`*/...`) counts the whole cluster.
fn scope_total(v: &View) -> usize {
    v.sidecar_hosts
        .values()
        .map(|hosts| {
            let namespaces: BTreeSet<&str> = hosts
                .iter()
                .filter_map(|h| h.split_once('/').map(|(n, _)| n))
                .collect();
            match v.cluster_size {
                Some(all) if namespaces.contains("*") => all,
                Some(all) => namespaces.len().min(all),
                None => namespaces.len(),
            }
        })
        .sum()
}

fn describe(ns: &str, owner: &str, tenant: bool) -> String {
    if tenant {
        format!("{ns} (tenant {owner})")
    } else {
        format!("{ns} (shared)")
    }
}

fn ports_suffix(p: &PortSet) -> String {
    if p.is_all() {
        String::new()
    } else {
        format!(" on {p}")
    }
}

pub fn diff(before: &View, after: &View, intent: &Intent) -> Diff {
    let owner = |ns: &str| {
        after
            .namespaces
            .get(ns)
            .or_else(|| before.namespaces.get(ns))
            .cloned()
            .unwrap_or_else(|| intent.owner_of(ns))
    };
    let flow = |(from, to): &(String, String), ports: &PortSet| Flow {
        from: from.clone(),
        to: to.clone(),
        from_owner: owner(from),
        to_owner: owner(to),
        ports: ports.clone(),
    };
    let mut d = Diff {
        namespaces_created: after
            .namespaces
            .iter()
            .filter(|(n, _)| !before.namespaces.contains_key(*n))
            .map(|(n, o)| NamespaceChange {
                namespace: n.clone(),
                owner: o.clone(),
            })
            .collect(),
        namespaces_deleted: before
            .namespaces
            .iter()
            .filter(|(n, _)| !after.namespaces.contains_key(*n))
            .map(|(n, o)| NamespaceChange {
                namespace: n.clone(),
                owner: o.clone(),
            })
            .collect(),
        flows_added: Vec::new(),
        flows_removed: Vec::new(),
        ports_changed: Vec::new(),
        sidecar_hosts_added: Vec::new(),
        sidecar_hosts_removed: Vec::new(),
        namespaces: Count {
            before: before.namespaces.len(),
            after: after.namespaces.len(),
        },
        files: Count {
            before: before.files,
            after: after.files,
        },
        sidecar_scope: Count {
            before: scope_total(before),
            after: scope_total(after),
        },
        layers_disagree: Vec::new(),
        layers_agree_again: Vec::new(),
        lines: Vec::new(),
        pod_security_weakens: Vec::new(),
    };
    for ((from, to), denied) in &after.identity_denied {
        let was = before.identity_denied.get(&(from.clone(), to.clone()));
        if was != Some(denied) {
            d.layers_disagree.push(PortChange {
                from: from.clone(),
                to: to.clone(),
                before: was.cloned().unwrap_or_default(),
                after: denied.clone(),
            });
        }
    }
    for ((from, to), denied) in &before.identity_denied {
        if !after
            .identity_denied
            .contains_key(&(from.clone(), to.clone()))
        {
            d.layers_agree_again.push(PortChange {
                from: from.clone(),
                to: to.clone(),
                before: denied.clone(),
                after: PortSet::none(),
            });
        }
    }
    for (k, p) in &after.edges {
        match before.edges.get(k) {
            None => d.flows_added.push(flow(k, p)),
            Some(q) if q != p => d.ports_changed.push(PortChange {
                from: k.0.clone(),
                to: k.1.clone(),
                before: q.clone(),
                after: p.clone(),
            }),
            Some(_) => {}
        }
    }
    for (k, p) in &before.edges {
        if !after.edges.contains_key(k) {
            d.flows_removed.push(flow(k, p));
        }
    }
    let empty = BTreeSet::new();
    let all_ns: BTreeSet<&String> = before
        .sidecar_hosts
        .keys()
        .chain(after.sidecar_hosts.keys())
        .collect();
    for ns in all_ns {
        let b = before.sidecar_hosts.get(ns).unwrap_or(&empty);
        let a = after.sidecar_hosts.get(ns).unwrap_or(&empty);
        let change = |host: &String| HostChange {
            namespace: ns.clone(),
            owner: owner(ns),
            host: host.clone(),
        };
        d.sidecar_hosts_added.extend(a.difference(b).map(change));
        d.sidecar_hosts_removed.extend(b.difference(a).map(change));
    }
    // `*` is every namespace and address nobody listed: say so.
    let (weakens, lines) = sentences(&d, before, after);
    d.pod_security_weakens = weakens;
    d.lines = lines
        .into_iter()
        .map(|l| {
            l.replace(" from *", " from anyone (every namespace and address)")
                .replace(" reach *", " reach anyone (every namespace and address)")
        })
        .collect();
    d
}

/// Sentences in tenant terms: a flow between two owners that is entirely new or entirely gone
/// is one line; partial changes name the namespaces.
fn sentences(
    d: &Diff,
    before: &View,
    after: &View,
) -> (Vec<crate::verify::layer::access::Weakening>, Vec<String>) {
    let mut lines = Vec::new();
    for c in &d.layers_disagree {
        lines.push(format!(
            "! {} -> {} {}: the NetworkPolicies allow it but the AuthorizationPolicies of {} deny it (an outage in the mesh)",
            c.from, c.to, c.after, c.to
        ));
    }
    for c in &d.layers_agree_again {
        lines.push(format!(
            "= {} -> {} {}: the AuthorizationPolicies of {} no longer deny what the NetworkPolicies allow",
            c.from, c.to, c.before, c.to
        ));
    }
    for c in &d.namespaces_created {
        lines.push(format!(
            "+ namespace {} is created",
            describe(&c.namespace, &c.owner, after.tenants.contains(&c.owner))
        ));
    }
    for c in &d.namespaces_deleted {
        lines.push(format!(
            "- namespace {} is deleted",
            describe(&c.namespace, &c.owner, before.tenants.contains(&c.owner))
        ));
    }
    let owner_pairs = |v: &View| -> BTreeSet<(String, String)> {
        v.edges
            .keys()
            .map(|(a, b)| {
                (
                    v.namespaces.get(a).cloned().unwrap_or_else(|| a.clone()),
                    v.namespaces.get(b).cloned().unwrap_or_else(|| b.clone()),
                )
            })
            .collect()
    };
    let (old_pairs, new_pairs) = (owner_pairs(before), owner_pairs(after));
    let mut by_owner: BTreeMap<(String, String, bool), Vec<&Flow>> = BTreeMap::new();
    for f in &d.flows_added {
        by_owner
            .entry((f.from_owner.clone(), f.to_owner.clone(), true))
            .or_default()
            .push(f);
    }
    for f in &d.flows_removed {
        by_owner
            .entry((f.from_owner.clone(), f.to_owner.clone(), false))
            .or_default()
            .push(f);
    }
    // A deleted namespace's flows go with it; its own line says so.
    let deleted: BTreeSet<&String> = d.namespaces_deleted.iter().map(|c| &c.namespace).collect();
    for ((fo, to, added), flows) in by_owner {
        let flows: Vec<&Flow> = flows
            .into_iter()
            .filter(|f| !deleted.contains(&f.from) && !deleted.contains(&f.to))
            .collect();
        if fo == to || flows.is_empty() {
            continue;
        }
        let pair = (fo.clone(), to.clone());
        let whole = if added {
            !old_pairs.contains(&pair)
        } else {
            !new_pairs.contains(&pair)
        };
        if whole {
            let ports = flows.iter().fold(PortSet::none(), |mut acc, f| {
                acc.union_with(&f.ports);
                acc
            });
            let platform_caller = flows.iter().all(|f| {
                !after.namespaces.contains_key(&f.from) && !before.namespaces.contains_key(&f.from)
            });
            // Some namespaces of another tenant (an exposed one): name them, not the tenant.
            let view = if added { after } else { before };
            let targets: BTreeSet<&String> = flows.iter().map(|f| &f.to).collect();
            let of_owner = view.namespaces.values().filter(|o| **o == to).count();
            let to = if view.tenants.contains(&to) && targets.len() < of_owner {
                let names: Vec<&str> = targets.iter().map(|t| t.as_str()).collect();
                format!("{} (tenant {to})", names.join(", "))
            } else {
                to
            };
            lines.push(match (added, platform_caller) {
                (true, true) => format!("+ {to} gains ingress from {fo}{}", ports_suffix(&ports)),
                (false, true) => format!("- {to} loses ingress from {fo}"),
                (true, false) => format!("+ {fo} may now reach {to}{}", ports_suffix(&ports)),
                (false, false) => format!("- {fo} may no longer reach {to}"),
            });
            continue;
        }
        for f in flows {
            let platform_caller =
                !after.namespaces.contains_key(&f.from) && !before.namespaces.contains_key(&f.from);
            lines.push(match (added, platform_caller) {
                (true, true) => format!(
                    "+ {} gains ingress from {}{}",
                    f.to,
                    f.from,
                    ports_suffix(&f.ports)
                ),
                (false, true) => format!("- {} loses ingress from {}", f.to, f.from),
                (true, false) => format!(
                    "+ {} may now reach {}{}",
                    f.from,
                    f.to,
                    ports_suffix(&f.ports)
                ),
                (false, false) => format!("- {} may no longer reach {}", f.from, f.to),
            });
        }
    }
    for c in &d.ports_changed {
        lines.push(format!(
            "~ {} -> {}: {} becomes {}",
            c.from, c.to, c.before, c.after
        ));
    }
    // Sidecars of created and deleted namespaces come and go whole.
    let changed = |n: &String| {
        !d.namespaces_created.iter().any(|c| &c.namespace == n) && !deleted.contains(n)
    };
    for h in d
        .sidecar_hosts_added
        .iter()
        .filter(|h| changed(&h.namespace))
    {
        lines.push(format!(
            "+ the Sidecar of {} imports `{}`",
            h.namespace, h.host
        ));
    }
    for h in d
        .sidecar_hosts_removed
        .iter()
        .filter(|h| changed(&h.namespace))
    {
        lines.push(format!(
            "- the Sidecar of {} no longer imports `{}`",
            h.namespace, h.host
        ));
    }
    lines.extend(sync_sentences(before, after));
    let owner_of = |ns: &str| {
        after
            .namespaces
            .get(ns)
            .or_else(|| before.namespaces.get(ns))
            .cloned()
            .unwrap_or_else(|| ns.to_owned())
    };
    let owned = |owner: &str| after.namespaces.values().filter(|o| *o == owner).count();
    let created = |ns: &str| d.namespaces_created.iter().any(|c| c.namespace == ns);
    let gone = |ns: &str| d.namespaces_deleted.iter().any(|c| c.namespace == ns);
    let (weakens, access) = crate::verify::layer::access::access_sentences(
        &before.access,
        &after.access,
        &owner_of,
        &owned,
        &created,
        &gone,
    );
    lines.extend(access);
    (weakens, lines)
}
