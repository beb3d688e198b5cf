//! The flows between owners as tenants.toml says them: who consumes each called namespace and
//! on which ports, the shared entries and the tenants with their exposes and the namespace
//! labels and annotations they carry; and the pod-level selectors and named ports it cannot say.

use std::collections::{BTreeSet, HashMap};

use super::groups::Groups;
use super::ports::{ports_text, tcp_part};
use super::{Consumers, Expose, Hints, Labels, Note, Reach, Shared, Tenant};
use crate::verify::layer::netpol::{NsSet, PortSet, NAME_LABEL};
use crate::verify::model::{Direction, GrantPeer, Model};

/// Labels and annotations tenantc sets itself, or that only the tools that applied the object
/// care about: not carried.
const OWNED_LABELS: [&str; 5] = [
    NAME_LABEL,
    "app.kubernetes.io/managed-by",
    "istio-injection",
    "istio.io/rev",
    "istio.io/dataplane-mode",
];
const OWNED_ANNOTATIONS: [&str; 3] = [
    "argocd.argoproj.io/sync-options",
    "kustomize.toolkit.fluxcd.io/prune",
    "kubectl.kubernetes.io/last-applied-configuration",
];

/// Who consumes namespace `x` of group `own`, on which ports: the groups all of whose
/// namespaces reach it, on the TCP ports every one of them may use.
fn consumption(
    m: &Model,
    gr: &Groups,
    reach: &mut Reach<'_>,
    x: u32,
    own: usize,
    notes: &mut Vec<Note>,
) -> (Vec<usize>, Vec<u16>) {
    let Groups { groups, names, .. } = gr;
    let mut consumers: Vec<(usize, PortSet)> = Vec::new();
    for h in gr.callers_of_group(x, own) {
        let mut all: Option<PortSet> = None;
        let mut partial = Vec::new();
        for &c in &groups[h] {
            let p = reach.get(c, x);
            if p.is_empty() {
                partial.push(m.name(c));
            }
            all = Some(match all {
                None => p,
                Some(a) => a.intersect(&p),
            });
        }
        let all = all.unwrap_or_default();
        if !partial.is_empty() || all.is_empty() {
            let reaching: Vec<&str> = groups[h]
                .iter()
                .filter(|c| !reach.get(**c, x).is_empty())
                .map(|c| m.name(*c))
                .collect();
            notes.push(Note::of(
                "partial-consumer",
                None,
                format!(
                    "only {} of {} reach {} (not {}): tenantc grants a consumer by tenant, so the draft does not make {} a consumer and these flows close",
                    reaching.join(", "),
                    names[h],
                    m.name(x),
                    partial.join(", "),
                    names[h]
                ),
            ));
            continue;
        }
        consumers.push((h, all));
    }
    let mut common: Option<PortSet> = None;
    for (_, p) in &consumers {
        common = Some(match common {
            None => p.clone(),
            Some(c) => c.intersect(p),
        });
    }
    let common = common.unwrap_or_default();
    let (ports, dropped) = tcp_part(&common);
    if dropped && ports.is_empty() {
        notes.push(Note::of(
            "ports",
            None,
            format!(
                "{} is reached on {common}: tenantc limits consumers to TCP ports, so the draft keeps no consumer of it",
                m.name(x)
            ),
        ));
        return (Vec::new(), Vec::new());
    }
    if dropped {
        notes.push(Note::of(
            "ports",
            None,
            format!(
                "{} is reached on {common}: tenantc limits consumers to TCP ports, so only {} stay",
                m.name(x),
                ports_text(&ports)
            ),
        ));
    }
    for (h, p) in &consumers {
        if *p != common {
            notes.push(Note::of(
                "ports",
                None,
                format!(
                    "{} reaches {} on {p}, others on less: one port list holds for every consumer, so {} closes",
                    names[*h],
                    m.name(x),
                    p.minus(&common)
                ),
            ));
        }
    }
    (consumers.into_iter().map(|(h, _)| h).collect(), ports)
}

/// Namespace labels and annotations, common to a tenant's namespaces.
fn carried(m: &Model, members: &[u32], notes: &mut Vec<Note>, owner: &str) -> (Labels, Labels) {
    let mut out = (Labels::new(), Labels::new());
    for (which, annotations) in [(0, false), (1, true)] {
        let mut common: Option<Labels> = None;
        let mut seen: BTreeSet<String> = BTreeSet::new();
        for &id in members {
            let doc = m.namespace_doc[id as usize].map(|d| &m.tree.namespaces[d]);
            let pairs: Labels = doc
                .map(|d| {
                    if annotations {
                        &d.annotations
                    } else {
                        &d.labels
                    }
                })
                .into_iter()
                .flat_map(|l| l.iter())
                .filter(|(k, _)| {
                    let k = k.as_str();
                    !k.starts_with("tenantc.dev/")
                        && if annotations {
                            !OWNED_ANNOTATIONS.contains(&k)
                        } else {
                            !OWNED_LABELS.contains(&k)
                        }
                })
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            seen.extend(pairs.keys().cloned());
            common = Some(match common {
                None => pairs,
                Some(c) => c
                    .into_iter()
                    .filter(|(k, v)| pairs.get(k) == Some(v))
                    .collect(),
            });
        }
        let common = common.unwrap_or_default();
        let differing: Vec<String> = seen
            .into_iter()
            .filter(|k| !common.contains_key(k))
            .collect();
        if !differing.is_empty() {
            notes.push(Note::of(
                "namespace-metadata",
                None,
                format!(
                    "the {} {} differ between the namespaces of {owner}: tenantc puts a tenant's {} on each of its namespaces, so they are not carried",
                    if annotations { "annotations" } else { "labels" },
                    differing.join(", "),
                    if annotations { "annotations" } else { "labels" },
                ),
            ));
        }
        if which == 0 {
            out.0 = common;
        } else {
            out.1 = common;
        }
    }
    out
}

/// The shared entries and the tenants, with their exposes.
pub(super) fn entries(
    m: &Model,
    hints: &Hints,
    gr: &Groups,
    reach: &mut Reach<'_>,
    ingress_admits: &HashMap<u32, bool>,
    kube_api_users: &BTreeSet<u32>,
    notes: &mut Vec<Note>,
) -> (Vec<Shared>, Vec<Tenant>) {
    let Groups {
        groups,
        group_label,
        shared_groups,
        names,
        ..
    } = gr;
    let tenant_groups = gr.tenant_groups();
    let mut shared = Vec::new();
    let mut tenants = Vec::new();
    let all_tenants: BTreeSet<String> = tenant_groups.iter().map(|g| names[*g].clone()).collect();
    for &g in shared_groups {
        let x = groups[g][0];
        let (consumers, ports) = consumption(m, gr, reach, x, g, notes);
        let names_of = gr.group_names(&consumers);
        let consumers_value = if !names_of.is_empty()
            && names_of.iter().cloned().collect::<BTreeSet<_>>() == all_tenants
        {
            Consumers::Every
        } else {
            Consumers::Names(names_of.clone())
        };
        let (labels, annotations) = carried(m, &groups[g], notes, &names[g]);
        shared.push(Shared {
            name: names[g].clone(),
            why: format!(
                "reached by {} other owners ({}) and talks freely with none",
                consumers.len(),
                names_of.join(", ")
            ),
            consumers: consumers_value,
            ports,
            ingress: ingress_admits.get(&x) == Some(&true),
            labels,
            annotations,
        });
    }
    for &g in &tenant_groups {
        let mut members: Vec<u32> = groups[g].clone();
        members.sort_by(|a, b| m.name(*a).cmp(m.name(*b)));
        let mut exposes = Vec::new();
        for &x in &members {
            if gr.callers_of_group(x, g).is_empty() {
                continue;
            }
            let (consumers, ports) = consumption(m, gr, reach, x, g, notes);
            if consumers.is_empty() {
                continue;
            }
            let mut names_of = gr.group_names(&consumers);
            let mut others = all_tenants.clone();
            others.remove(&names[g]);
            if names_of.len() > 1 && names_of.iter().cloned().collect::<BTreeSet<_>>() == others {
                names_of = vec!["*".into()];
            }
            exposes.push(Expose {
                namespace: m.name(x).to_owned(),
                why: format!("reached by {}", names_of.join(", ")),
                consumers: names_of,
                ports,
            });
        }
        let (labels, annotations) = carried(m, &members, notes, &names[g]);
        let ingress: Vec<String> = members
            .iter()
            .filter(|x| ingress_admits.get(x) == Some(&true))
            .map(|x| m.name(*x).to_owned())
            .collect();
        let ingress_withheld: Vec<String> = members
            .iter()
            .filter(|x| ingress_admits.get(x) == Some(&false))
            .map(|x| m.name(*x).to_owned())
            .collect();
        let api_users = members
            .iter()
            .filter(|x| kube_api_users.contains(x))
            .count();
        if api_users > 0 && api_users < members.len() {
            notes.push(Note::of(
                "partial-consumer",
                None,
                format!(
                    "only {api_users} of the {} namespaces of {} reach the Kubernetes API: `kube_api` is per tenant, so the draft does not set it and those flows close",
                    members.len(),
                    names[g]
                ),
            ));
        }
        let why = match &group_label[g] {
            Some(v) => format!(
                "label {}={v}",
                hints.tenant_label.as_deref().unwrap_or_default()
            ),
            None if members.len() == 1 => "talks freely with no other namespace".into(),
            None => "these namespaces reach each other on every port, both ways".into(),
        };
        tenants.push(Tenant {
            name: names[g].clone(),
            namespaces: members.iter().map(|x| m.name(*x).to_owned()).collect(),
            labels,
            annotations,
            ingress,
            ingress_withheld,
            kube_api: api_users > 0 && api_users == members.len(),
            exposes,
            why,
        });
    }
    (shared, tenants)
}

/// Pod-level selectors and named ports of the managed namespaces' policies: tenantc's policies
/// select whole namespaces and numbered ports.
pub(super) fn pod_level_notes(m: &Model, managed: &[u32], platform: &BTreeSet<u32>) -> Vec<Note> {
    let mut notes = Vec::new();
    for &a in managed {
        for &pi in m.policies.get(&a).into_iter().flatten() {
            let p = &m.tree.policies[pi];
            if !p.pod_selector.is_empty() {
                notes.push(Note::of(
                    "pod-level",
                    Some(&p.origin),
                    format!(
                        "applies to pods {} only; tenantc's policies apply to every pod of a namespace",
                        p.pod_selector.describe()
                    ),
                ));
            }
        }
        for dir in [Direction::Ingress, Direction::Egress] {
            for g in &m.net_of(a).side(dir).grants {
                let origin = &m.tree.policies[g.policy as usize].origin;
                if !g.allowed.named_ports.is_empty() {
                    notes.push(Note::of(
                        "named-port",
                        Some(origin),
                        format!(
                            "named port {} cannot be resolved without the pods; the proof counts no flow on it, and the draft opens none",
                            g.allowed.named_ports.join(", ")
                        ),
                    ));
                }
                match &g.allowed.peer {
                    GrantPeer::Namespaces {
                        set,
                        pods: Some(pods),
                    } => {
                        let to_platform = matches!(set, NsSet::Only(ids) if ids.iter().all(|i| platform.contains(i)));
                        if !to_platform {
                            notes.push(Note::of(
                                "pod-level",
                                Some(origin),
                                format!(
                                    "{} peer pods {} only; tenantc grants whole namespaces, so the draft grants every pod of the namespaces it names",
                                    dir.as_str(),
                                    pods.describe()
                                ),
                            ));
                        }
                    }
                    GrantPeer::IpBlock { cidr, .. } if dir == Direction::Ingress => {
                        notes.push(Note::of(
                            "ip-ingress",
                            Some(origin),
                            format!("ingress from {cidr}: tenantc admits no address ranges, so it closes"),
                        ));
                    }
                    _ => {}
                }
            }
        }
    }
    notes
}
