//! The namespaces tenants.toml will manage, who reaches whom among them, and the owners they
//! form: tenants (by label, else namespaces that talk to each other freely) and shared services
//! (a lone namespace called by several others), each with its name in the draft.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::names::{common_prefix, label_name, unique};
use super::outside::reaches_kube_api;
use super::{Hints, Note, Reach};
use crate::verify::layer::netpol::{NsSet, PortSet};
use crate::verify::model::{Direction, GrantPeer, Model, OTHER};

/// Namespaces Kubernetes owns, and those tenants.toml reserves for the platform by default.
const SYSTEM: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];
const DEFAULT_PLATFORM: [&str; 5] = [
    "istio-system",
    "ingress-nginx",
    "monitoring",
    "argocd",
    "flux-system",
];
/// Past this many pairs, the flows of namespaces that admit or reach every namespace are not
/// enumerated one by one (the proof still compares them as flows to and from any namespace).
const MAX_OPEN_PAIRS: usize = 4_000_000;

/// The ids a side's namespace grants name (listed, or excepted from "every namespace").
fn named_peers(m: &Model, id: u32, dir: Direction) -> impl Iterator<Item = u32> + '_ {
    m.net_of(id)
        .side(dir)
        .grants
        .iter()
        .flat_map(|g| match &g.allowed.peer {
            GrantPeer::Namespaces {
                set: NsSet::Only(ids) | NsSet::AllExcept(ids),
                ..
            } => ids.as_slice(),
            _ => &[],
        })
        .copied()
}

/// Namespace id -> namespace ids.
type Peers = HashMap<u32, BTreeSet<u32>>;

/// The managed namespaces, who calls whom among them, and the groups they form.
pub(super) struct Groups {
    /// The namespaces tenants.toml will manage, by name.
    pub(super) managed: Vec<u32>,
    /// The managed namespaces that reach each one.
    pub(super) callers: Peers,
    pub(super) group_of: HashMap<u32, usize>,
    pub(super) groups: Vec<Vec<u32>>,
    /// The tenant label's value a group was formed by.
    pub(super) group_label: Vec<Option<String>>,
    /// The groups that are shared services; the others are tenants.
    pub(super) shared_groups: BTreeSet<usize>,
    /// Each group's name in the draft.
    pub(super) names: Vec<String>,
    /// The names taken.
    pub(super) used: HashSet<String>,
}

impl Groups {
    /// The groups other than `own` with a namespace that reaches `x`.
    pub(super) fn callers_of_group(&self, x: u32, own: usize) -> BTreeSet<usize> {
        self.callers
            .get(&x)
            .into_iter()
            .flatten()
            .filter_map(|c| self.group_of.get(c).copied())
            .filter(|g| *g != own)
            .collect()
    }

    /// The names of the groups `gs`, sorted, each once.
    pub(super) fn group_names(&self, gs: &[usize]) -> Vec<String> {
        let mut v: Vec<String> = gs.iter().map(|g| self.names[*g].clone()).collect();
        v.sort();
        v.dedup();
        v
    }

    /// The groups that are tenants.
    pub(super) fn tenant_groups(&self) -> Vec<usize> {
        (0..self.groups.len())
            .filter(|g| !self.shared_groups.contains(g))
            .collect()
    }
}

/// The managed namespaces and the groups they form, named.
pub(super) fn groups(
    m: &Model,
    hints: &Hints,
    platform: &BTreeSet<u32>,
    reach: &mut Reach<'_>,
    notes: &mut Vec<Note>,
) -> Groups {
    let managed = managed(m, platform, notes);
    let (callers, neighbours, open) = links(m, reach, &managed, notes);
    let (group_of, groups, group_label) =
        grouped(m, hints, reach, &managed, &neighbours, &open, notes);
    let mut out = Groups {
        managed,
        callers,
        group_of,
        groups,
        group_label,
        shared_groups: BTreeSet::new(),
        names: Vec::new(),
        used: HashSet::new(),
    };
    out.shared_groups = shared_groups(m, &out);
    (out.names, out.used) = names(m, &out);
    out
}

/// The namespaces tenants.toml will manage: in the tree, neither the platform's nor reserved for
/// it, with a valid name; sorted by name.
fn managed(m: &Model, platform: &BTreeSet<u32>, notes: &mut Vec<Note>) -> Vec<u32> {
    let count = u32::try_from(m.names.len()).unwrap_or(u32::MAX);
    let present =
        |id: u32| m.in_tree(id) || m.policies.contains_key(&id) || m.sidecars.contains_key(&id);
    let reserved = |name: &str| {
        SYSTEM.contains(&name) || name.starts_with("kube-") || DEFAULT_PLATFORM.contains(&name)
    };
    let mut managed: Vec<u32> = Vec::new();
    for id in 1..count {
        if !present(id) || platform.contains(&id) {
            continue;
        }
        let name = m.name(id);
        if reserved(name) {
            if m.policies.contains_key(&id) {
                notes.push(Note::of(
                    "platform-namespace",
                    None,
                    format!("{name} is a namespace tenants.toml reserves for the platform: it is left as it is, with its own policies"),
                ));
            }
            continue;
        }
        if crate::model::NamespaceName::new(name).is_err() {
            notes.push(Note::of(
                "invalid-name",
                None,
                format!("{name} is not a valid namespace name: left out"),
            ));
            continue;
        }
        managed.push(id);
    }
    managed.sort_by(|a, b| m.name(*a).cmp(m.name(*b)));
    managed
}

/// Who reaches whom among the managed namespaces: each one's callers, its neighbours either way,
/// and the namespaces no policy isolates in either direction.
fn links(
    m: &Model,
    reach: &mut Reach<'_>,
    managed: &[u32],
    notes: &mut Vec<Note>,
) -> (Peers, Peers, Vec<u32>) {
    let is_managed: HashSet<u32> = managed.iter().copied().collect();
    let mut callers: HashMap<u32, BTreeSet<u32>> = HashMap::new();
    let mut neighbours: HashMap<u32, BTreeSet<u32>> = HashMap::new();
    let mut link = |a: u32, b: u32| {
        if a != b && is_managed.contains(&a) && is_managed.contains(&b) {
            callers.entry(b).or_default().insert(a);
            neighbours.entry(a).or_default().insert(b);
            neighbours.entry(b).or_default().insert(a);
        }
    };
    for &a in managed {
        for b in named_peers(m, a, Direction::Egress) {
            link(a, b);
        }
        for b in named_peers(m, a, Direction::Ingress) {
            link(b, a);
        }
    }
    let any_out: HashMap<u32, PortSet> = managed
        .iter()
        .map(|&a| (a, m.allowed(a, Direction::Egress, OTHER).0))
        .collect();
    let any_in: HashMap<u32, PortSet> = managed
        .iter()
        .map(|&a| (a, m.allowed(a, Direction::Ingress, OTHER).0))
        .collect();
    let open: Vec<u32> = managed
        .iter()
        .copied()
        .filter(|a| any_out[a].is_all() && any_in[a].is_all())
        .collect();
    let senders: Vec<u32> = managed
        .iter()
        .copied()
        .filter(|a| !any_out[a].is_empty())
        .collect();
    let receivers: Vec<u32> = managed
        .iter()
        .copied()
        .filter(|a| !any_in[a].is_empty())
        .collect();
    if senders.len().saturating_mul(receivers.len()) <= MAX_OPEN_PAIRS {
        for &a in &senders {
            for &b in &receivers {
                if !any_out[&a].intersect(&any_in[&b]).is_empty() {
                    link(a, b);
                }
            }
        }
    } else {
        notes.push(Note::of(
            "unisolated",
            None,
            format!(
                "{} namespaces may send to any namespace and {} admit any namespace: their flows to each other were not inferred one by one, and the draft does not keep them (the proof lists them as flows to and from any namespace)",
                senders.len(),
                receivers.len()
            ),
        ));
    }
    for &a in managed {
        callers
            .entry(a)
            .or_default()
            .retain(|b| !reach.get(*b, a).is_empty());
    }
    if !open.is_empty() {
        notes.push(Note::of(
            "unisolated",
            None,
            format!(
                "{} namespaces have no NetworkPolicy isolating them in either direction ({}): they reach, and are reached by, every namespace; the draft makes them one tenant, which closes everything else they could reach",
                open.len(),
                open.iter().take(5).map(|i| m.name(*i)).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    (callers, neighbours, open)
}

/// Each namespace's group, each group's namespaces, and the label value each group was formed by.
type Grouping = (HashMap<u32, usize>, Vec<Vec<u32>>, Vec<Option<String>>);

/// Tenants: by label, else namespaces that talk to each other freely.
fn grouped(
    m: &Model,
    hints: &Hints,
    reach: &mut Reach<'_>,
    managed: &[u32],
    neighbours: &Peers,
    open: &[u32],
    notes: &mut Vec<Note>,
) -> Grouping {
    let label_of = |id: u32| -> Option<String> {
        let key = hints.tenant_label.as_deref()?;
        let doc = m.namespace_doc[id as usize]?;
        m.tree.namespaces[doc]
            .labels
            .get(key)
            .map(|v| v.to_string())
    };
    let mut group_of: HashMap<u32, usize> = HashMap::new();
    let mut groups: Vec<Vec<u32>> = Vec::new();
    let mut group_label: Vec<Option<String>> = Vec::new();
    let mut by_label: BTreeMap<String, usize> = BTreeMap::new();
    if open.len() > 1 {
        for &a in open {
            group_of.insert(a, 0);
        }
        groups.push(open.to_vec());
        group_label.push(None);
    }
    for &a in managed {
        if group_of.contains_key(&a) {
            continue;
        }
        if let Some(v) = label_of(a) {
            let g = *by_label.entry(v.clone()).or_insert_with(|| {
                groups.push(Vec::new());
                group_label.push(Some(v));
                groups.len() - 1
            });
            groups[g].push(a);
            group_of.insert(a, g);
            continue;
        }
        let candidates: BTreeSet<usize> = neighbours
            .get(&a)
            .into_iter()
            .flatten()
            .filter_map(|b| group_of.get(b).copied())
            .filter(|g| group_label[*g].is_none())
            .collect();
        let joined = candidates.into_iter().find(|&g| {
            groups[g]
                .iter()
                .all(|&b| reach.get(a, b).is_all() && reach.get(b, a).is_all())
        });
        match joined {
            Some(g) => {
                groups[g].push(a);
                group_of.insert(a, g);
            }
            None => {
                groups.push(vec![a]);
                group_label.push(None);
                group_of.insert(a, groups.len() - 1);
            }
        }
    }
    // Denials inside a tenant formed by label: tenantc lets a tenant's namespaces talk freely.
    for (g, members) in groups.iter().enumerate() {
        let Some(label) = &group_label[g] else {
            continue;
        };
        for &a in members {
            for &b in members {
                let p = reach.get(a, b);
                if !p.is_all() {
                    let denied = PortSet::all().minus(&p);
                    notes.push(Note::of(
                        "denial-inside-tenant",
                        None,
                        format!(
                            "{} may not reach {} on {denied}, but both carry {}={label}: tenantc lets a tenant's namespaces talk freely, so the draft opens it",
                            m.name(a),
                            m.name(b),
                            hints.tenant_label.as_deref().unwrap_or_default()
                        ),
                    ));
                }
            }
        }
    }
    (group_of, groups, group_label)
}

/// Roles: a lone namespace called by several others is a shared service.
fn shared_groups(m: &Model, out: &Groups) -> BTreeSet<usize> {
    let Groups {
        groups,
        group_label,
        ..
    } = out;
    (0..groups.len())
        .filter(|&g| {
            groups[g].len() == 1
                && group_label[g].is_none()
                && out.callers_of_group(groups[g][0], g).len() >= 2
                && !reaches_kube_api(m, groups[g][0])
        })
        .collect()
}

/// Each group's name: a shared service's namespace, else the tenant label's value, else the
/// common prefix of its namespaces; unique. Returns the names and the set of those taken.
fn names(m: &Model, out: &Groups) -> (Vec<String>, HashSet<String>) {
    let Groups {
        groups,
        group_label,
        shared_groups,
        ..
    } = out;
    let mut used: HashSet<String> = HashSet::new();
    let mut names: Vec<String> = vec![String::new(); groups.len()];
    for &g in shared_groups {
        names[g] = m.name(groups[g][0]).to_owned();
        used.insert(names[g].clone());
    }
    for (g, members) in groups.iter().enumerate() {
        if shared_groups.contains(&g) {
            continue;
        }
        let base = match &group_label[g] {
            Some(v) => label_name(v, 63),
            None => {
                let mut ns: Vec<&str> = members.iter().map(|i| m.name(*i)).collect();
                ns.sort_unstable();
                common_prefix(&ns)
            }
        };
        names[g] = unique(base, &mut used, 63);
    }
    (names, used)
}
