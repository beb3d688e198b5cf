//! `tenantc diff --base PATH`: what a change does, in tenant terms. Both sides are reduced to the
//! same view (namespaces and owners, namespace-level flows with ports, Sidecar hosts, file
//! count), from a tenants.toml (its intent) or from an output tree (its evaluated policies).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use crate::intent::Intent;
use crate::lifecycle::{self, Side};
use crate::verify::layer::netpol::expectations;
use crate::verify::layer::netpol::PortSet;
use crate::verify::layer::sidecar::{host_text, parse_host};
use crate::verify::model::{Direction, Model};
use crate::verify::review::graph::{tree_edges, Edges};
use crate::verify::tree::{read_tree, Tree};
use crate::Error;

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

/// One tenant's or shared entry's sync, as its GitOps objects say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sync {
    /// `Argo CD` or `Flux`.
    pub tool: &'static str,
    /// `tenant acme`, `shared payments`.
    pub what: String,
    /// The directory in the repository.
    pub path: String,
    /// Where it may apply objects (Argo CD: the AppProject's destinations).
    pub namespaces: BTreeSet<String>,
    /// What it may apply (Argo CD: the AppProject's whitelists, `group/kind`).
    pub kinds: BTreeSet<String>,
}

fn kind_text(group: &str, kind: &str) -> String {
    if group.is_empty() {
        kind.to_owned()
    } else {
        format!("{group}/{kind}")
    }
}

/// The syncs tenants.toml's `[gitops]` makes.
fn syncs_of_intent(intent: &Intent) -> BTreeMap<String, Sync> {
    let Some(g) = &intent.gitops else {
        return BTreeMap::new();
    };
    let tool = match g.settings.tool {
        crate::model::GitOpsTool::ArgoCd => "Argo CD",
        crate::model::GitOpsTool::Flux => "Flux",
    };
    g.units
        .iter()
        .map(|u| {
            let argo = tool == "Argo CD";
            let sync = Sync {
                tool,
                what: format!("{} {}", u.role, u.owner),
                path: u.path.clone(),
                namespaces: if argo {
                    u.namespaces.iter().map(ToString::to_string).collect()
                } else {
                    BTreeSet::new()
                },
                kinds: if argo {
                    std::iter::once("Namespace".to_owned())
                        .chain(u.kinds.iter().map(|k| kind_text(k.group, k.kind)))
                        .collect()
                } else {
                    BTreeSet::new()
                },
            };
            (u.name.clone(), sync)
        })
        .collect()
}

/// The syncs the tree's GitOps objects make, for the objects labelled with a tenant or shared
/// entry (the root and the groups only sync GitOps objects).
fn syncs_of_tree(model: &Model) -> BTreeMap<String, Sync> {
    let what_of = |v: &serde_json::Value| -> Option<String> {
        let labels = &v["metadata"]["labels"];
        ["tenant", "shared"].iter().find_map(|role| {
            labels[format!("tenantc.dev/{role}")]
                .as_str()
                .map(|o| format!("{role} {o}"))
        })
    };
    let s = |x: &serde_json::Value| x.as_str().unwrap_or_default().to_owned();
    // One pass over the objects, one file at a time: each Application's sync with the name of
    // its project, and each project's destinations and kinds.
    let mut out: BTreeMap<String, (Sync, String)> = BTreeMap::new();
    let mut projects: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    for d in model
        .tree
        .gitops
        .iter()
        .flat_map(crate::verify::tree::gitops_docs)
    {
        let v = &d.value;
        let list = |key: &str| -> Vec<&serde_json::Value> {
            v["spec"][key].as_array().into_iter().flatten().collect()
        };
        match d.origin.kind {
            "AppProject" => {
                let namespaces = list("destinations")
                    .into_iter()
                    .map(|d| s(&d["namespace"]))
                    .collect();
                let kinds = list("clusterResourceWhitelist")
                    .into_iter()
                    .chain(list("namespaceResourceWhitelist"))
                    .map(|k| kind_text(&s(&k["group"]), &s(&k["kind"])))
                    .collect();
                projects.insert(d.origin.name.to_string(), (namespaces, kinds));
            }
            "Application" | "Kustomization" => {
                let Some(what) = what_of(v) else { continue };
                let argo = d.origin.kind == "Application";
                let sync = Sync {
                    tool: if argo { "Argo CD" } else { "Flux" },
                    what,
                    path: if argo {
                        s(&v["spec"]["source"]["path"])
                    } else {
                        s(&v["spec"]["path"]).trim_start_matches("./").to_owned()
                    },
                    ..Sync::default()
                };
                let project = if argo {
                    s(&v["spec"]["project"])
                } else {
                    String::new()
                };
                out.insert(d.origin.name.to_string(), (sync, project));
            }
            _ => {}
        }
    }
    out.into_iter()
        .map(|(name, (mut sync, project))| {
            if let Some((namespaces, kinds)) = projects.get(&project) {
                sync.namespaces = namespaces.clone();
                sync.kinds = kinds.clone();
            }
            (name, sync)
        })
        .collect()
}

/// What changes in what the sync tools apply, in tenant terms.
fn sync_sentences(before: &View, after: &View) -> Vec<String> {
    let mut lines = Vec::new();
    let list = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(", ");
    for (name, a) in &after.syncs {
        let Some(b) = before.syncs.get(name) else {
            lines.push(if a.namespaces.is_empty() {
                format!("+ {} now syncs {} ({})", a.tool, a.what, a.path)
            } else {
                format!(
                    "+ {} now syncs {} into {} ({})",
                    a.tool,
                    a.what,
                    list(&a.namespaces),
                    a.path
                )
            });
            continue;
        };
        if a.path != b.path {
            lines.push(format!(
                "~ {} syncs {} from {} instead of {}",
                a.tool, a.what, a.path, b.path
            ));
        }
        for ns in a.namespaces.difference(&b.namespaces) {
            lines.push(format!("+ {} may now sync {} into {ns}", a.tool, a.what));
        }
        for ns in b.namespaces.difference(&a.namespaces) {
            lines.push(format!(
                "- {} may no longer sync {} into {ns}",
                a.tool, a.what
            ));
        }
        for k in a.kinds.difference(&b.kinds) {
            lines.push(format!("+ {} may now apply {k} for {}", a.tool, a.what));
        }
        for k in b.kinds.difference(&a.kinds) {
            lines.push(format!(
                "- {} may no longer apply {k} for {}",
                a.tool, a.what
            ));
        }
    }
    for (name, b) in &before.syncs {
        if !after.syncs.contains_key(name) {
            lines.push(format!(
                "- {} no longer syncs {} (what it applied stays in the cluster)",
                b.tool, b.what
            ));
        }
    }
    lines
}

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

/// What `tenantc diff` reports. Serialized as the diff's fields in their order, then the
/// lifecycle report.
#[derive(Debug, Serialize)]
pub struct Outcome {
    #[serde(flatten)]
    pub diff: Diff,
    /// The destructive changes, which a report shows first; an unacknowledged one fails CI.
    pub lifecycle: lifecycle::Report,
}

/// What the tenants.toml at `config` changes against `base`: an older tenants.toml (a file), or
/// an older output tree (a directory), which is then compared with the tree at `output`. Both
/// sides are read before anything is compared, and a tree that cannot be read is
/// [`Error::Tree`] (the base's errors first).
pub fn diff_against(base: &Path, config: &Path, output: &Path) -> Result<Outcome, Error> {
    let (cfg, source) = crate::config_from_file(config)?;
    let intent = crate::intent::intent_of(&cfg);
    let after = Side::of_config(&cfg, &intent, &source, &config.display().to_string());
    let (before, diff) = if base.is_dir() {
        let known = known(&[&intent]);
        let read = |dir: &Path| read_tree(dir).map(|t| Model::build(t, &known));
        let (old, new) = match (read(base), read(output)) {
            (Ok(o), Ok(n)) => (o, n),
            (Err(e), _) | (_, Err(e)) => return Err(Error::Tree(e)),
        };
        let d = diff(
            &view_of_tree(&old, &intent),
            &view_of_tree(&new, &intent),
            &intent,
        );
        (Side::of_tree(base), d)
    } else {
        let (base_cfg, base_source) = crate::config_from_file(base)?;
        let base_intent = crate::intent::intent_of(&base_cfg);
        let before = Side::of_config(
            &base_cfg,
            &base_intent,
            &base_source,
            &base.display().to_string(),
        );
        // An intent's view has no tree: the model only gives both sides' namespaces ids.
        let model = Model::build(Tree::default(), &known(&[&intent, &base_intent]));
        let files = |c: crate::model::Config| {
            crate::compile_config(c, "tenants.toml")
                .layout()
                .paths()
                .count()
        };
        let (old_files, new_files) = (files(base_cfg), files(cfg));
        let d = diff(
            &view_of_intent(&base_intent, &model, old_files),
            &view_of_intent(&intent, &model, new_files),
            &intent,
        );
        (before, d)
    };
    let mut lifecycle = lifecycle::compare(&before, &after);
    // A lowered Pod Security level admits pods that were refused: breaking, like a lost flow.
    lifecycle
        .changes
        .extend(
            diff.pod_security_weakens
                .iter()
                .map(|w| lifecycle::Change::PodSecurityWeakens {
                    of: w.of.clone(),
                    before: w.before.clone(),
                    after: w.after.clone(),
                }),
        );
    Ok(Outcome { diff, lifecycle })
}

/// Every namespace either side names, so that both models give them ids.
pub fn known(intents: &[&Intent]) -> Vec<String> {
    let mut all: BTreeSet<String> = BTreeSet::new();
    for i in intents {
        all.extend(i.known_namespaces());
    }
    all.into_iter().collect()
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    fn counts(&self) -> Vec<(&'static str, &Count)> {
        vec![
            ("namespaces", &self.namespaces),
            ("files", &self.files),
            (
                "Sidecar scope (namespaces imported, all Sidecars)",
                &self.sidecar_scope,
            ),
        ]
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if self.is_empty() {
            out.push_str("no change in reachability, Sidecar scope or namespaces\n");
        }
        for l in &self.lines {
            out.push_str(l);
            out.push('\n');
        }
        for (what, c) in self.counts() {
            out.push_str(&format!("{what}: {} -> {}\n", c.before, c.after));
        }
        out
    }

    /// For a pull-request comment: a `diff` block (GitHub colours + and - lines) and a table.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from("### tenantc: what this change does\n\n");
        if self.is_empty() {
            out.push_str("No change in reachability, Sidecar scope or namespaces.\n\n");
        } else {
            out.push_str("```diff\n");
            for l in &self.lines {
                out.push_str(l);
                out.push('\n');
            }
            out.push_str("```\n\n");
        }
        out.push_str("| | before | after |\n|---|---:|---:|\n");
        for (what, c) in self.counts() {
            out.push_str(&format!("| {what} | {} | {} |\n", c.before, c.after));
        }
        out
    }
}
