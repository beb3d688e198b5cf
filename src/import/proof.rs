//! The proof of a migration: the draft is compiled in memory, its namespaces' files replace the
//! imported policies of those namespaces (the platform's stay as they are), and both clusters
//! are evaluated by verify's model. Then every namespace pair that either side's policies name
//! is compared port by port, with the flows to and from namespaces nobody names, and the address
//! ranges each namespace reaches outside the cluster (and is reached from).
//!
//! Why this is complete: a pair that no policy of either side names is decided, on each side,
//! by the grants to every namespace of its two ends, which are exactly the flows to and from
//! "any namespace" compared here. If none of those opens, no such pair opens.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::Serialize;

use crate::emit::Job;
use crate::intent::{Intent, Role};
use crate::verify::ip::IpSet;
use crate::verify::layer::netpol::{NsSet, PortSet, Protocol};
use crate::verify::layer::outside::{expected, node_name};
use crate::verify::model::{Direction, GrantPeer, Model, OTHER};
use crate::verify::tree::{parse_file, Tree};

/// One flow the migration opens or closes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FlowChange {
    pub from: String,
    pub to: String,
    /// The tenant, shared entry or platform namespace each end belongs to (`any namespace`,
    /// or the address range outside the cluster).
    pub from_owner: String,
    pub to_owner: String,
    pub ports: PortSet,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Proof {
    pub opens: Vec<FlowChange>,
    pub closes: Vec<FlowChange>,
    /// Namespace pairs compared one by one (the others through "any namespace").
    pub pairs_compared: usize,
}

/// The tree the cluster would have after the migration: the compiled draft's namespace files,
/// and every imported object of a namespace the draft does not manage.
pub fn after_tree(compiled: &crate::Compiled, imported: Tree) -> Result<Tree, crate::Error> {
    // The imported objects that stay, first: the others are dropped before the draft's files
    // are parsed, not after.
    let intent = &compiled.intent;
    let unmanaged = |ns: Option<&str>| ns.is_some_and(|n| intent.namespace(n).is_none());
    let Tree {
        namespaces,
        policies,
        sidecars,
        service_entries,
        authz_policies,
        peer_auths,
        ..
    } = imported;
    let mut tree = Tree {
        namespaces: namespaces
            .into_iter()
            .filter(|n| unmanaged(Some(n.origin.name.as_str())))
            .collect(),
        policies: policies
            .into_iter()
            .filter(|p| unmanaged(p.namespace.as_deref()))
            .collect(),
        sidecars: sidecars
            .into_iter()
            .filter(|p| unmanaged(p.namespace.as_deref()))
            .collect(),
        service_entries: service_entries
            .into_iter()
            .filter(|p| unmanaged(p.namespace.as_deref()))
            .collect(),
        authz_policies: authz_policies
            .into_iter()
            .filter(|p| unmanaged(p.namespace.as_deref()))
            .collect(),
        peer_auths: peer_auths
            .into_iter()
            .filter(|p| unmanaged(p.namespace.as_deref()))
            .collect(),
        ..Tree::default()
    };
    let templates = crate::render::Templates::builtin();
    let producer = compiled.producer(&templates)?;
    let layout = compiled.layout();
    let jobs: Vec<&Job> = layout
        .jobs
        .iter()
        .filter(|j| matches!(j, Job::Namespace { .. }))
        .collect();
    let parts = crate::par::map_parts(&jobs, |part| {
        let mut tree = Tree::default();
        let mut errors = Vec::new();
        for job in part {
            match producer.texts(job) {
                Ok(texts) => {
                    for (path, text) in job.paths().into_iter().zip(texts) {
                        if let Err(e) = parse_file(&text, &path, &mut tree) {
                            errors.push(e);
                        }
                    }
                }
                Err(e) => return Err(crate::Error::Templates(vec![e])),
            }
        }
        if errors.is_empty() {
            Ok(tree)
        } else {
            Err(crate::Error::Tree(errors))
        }
    });
    for part in parts {
        super::read::merge(&mut tree, part?);
    }
    Ok(tree)
}

/// Namespace `name`'s id in `m`, or [`OTHER`] when `m` never saw it (then, like any namespace
/// outside the tree, it has no policy).
fn id_in(m: &Model, name: &str) -> u32 {
    m.id(name).unwrap_or(OTHER)
}

fn reach(m: &Model, a: &str, b: &str) -> PortSet {
    let (a, b) = (id_in(m, a), id_in(m, b));
    m.allowed(a, Direction::Egress, b)
        .0
        .intersect(&m.allowed(b, Direction::Ingress, a).0)
}

/// The names of the namespace pairs `m`'s grants name, where at least one end is managed.
fn named_pairs(m: &Model, managed: &HashSet<&str>, out: &mut BTreeSet<(String, String)>) {
    for a in 1..u32::try_from(m.names.len()).unwrap_or(u32::MAX) {
        for dir in [Direction::Egress, Direction::Ingress] {
            for g in &m.net_of(a).side(dir).grants {
                let GrantPeer::Namespaces {
                    set: NsSet::Only(ids) | NsSet::AllExcept(ids),
                    ..
                } = &g.allowed.peer
                else {
                    continue;
                };
                for &b in ids {
                    let (from, to) = match dir {
                        Direction::Egress => (m.name(a), m.name(b)),
                        Direction::Ingress => (m.name(b), m.name(a)),
                    };
                    if b != OTHER && (managed.contains(from) || managed.contains(to)) {
                        out.insert((from.to_owned(), to.to_owned()));
                    }
                }
            }
        }
    }
}

/// Addresses and the ports on which they are let through.
type IpGrant = (IpSet, PortSet);

/// Address ranges and the ports on which `dir` of namespace `ns` lets them through.
fn ip_grants(m: &Model, ns: &str, dir: Direction) -> Vec<(IpSet, PortSet)> {
    let everywhere = || {
        let mut s = IpSet::default();
        for c in ["0.0.0.0/0", "::/0"] {
            if let Ok(n) = c.parse() {
                s.add(&n);
            }
        }
        s
    };
    let Some(id) = m.id(ns) else {
        return vec![(everywhere(), PortSet::all())];
    };
    let side = m.net_of(id).side(dir);
    if side.isolating_all.is_empty() {
        return vec![(everywhere(), PortSet::all())];
    }
    side.grants
        .iter()
        .filter_map(|g| match &g.allowed.peer {
            GrantPeer::Everything => Some((everywhere(), g.allowed.ports.clone())),
            GrantPeer::IpBlock { cidr, except } => {
                IpSet::of_block(cidr, except).map(|s| (s, g.allowed.ports.clone()))
            }
            GrantPeer::Namespaces { .. } => None,
        })
        .collect()
}

/// What `after` lets through that `before` does not, and the reverse, as (addresses, ports)
/// pairs: the ports are cut into pieces at every bound either side uses, and each piece's
/// address sets are compared.
fn ip_changes(
    before: &[(IpSet, PortSet)],
    after: &[(IpSet, PortSet)],
) -> (Vec<IpGrant>, Vec<IpGrant>) {
    let mut bounds: BTreeMap<Protocol, BTreeSet<u32>> = BTreeMap::new();
    for (_, ports) in before.iter().chain(after) {
        for (p, lo, hi) in ports.ranges() {
            let b = bounds.entry(p).or_default();
            b.insert(u32::from(lo));
            b.insert(u32::from(hi) + 1);
        }
    }
    let mut opened: Vec<(IpSet, PortSet)> = Vec::new();
    let mut closed: Vec<(IpSet, PortSet)> = Vec::new();
    let add = |list: &mut Vec<(IpSet, PortSet)>, ips: IpSet, p: Protocol, lo: u16, hi: u16| {
        if ips.is_empty() {
            return;
        }
        match list.iter_mut().find(|(s, _)| *s == ips) {
            Some((_, ports)) => ports.add(p, lo, hi),
            None => {
                let mut ports = PortSet::none();
                ports.add(p, lo, hi);
                list.push((ips, ports));
            }
        }
    };
    for (proto, b) in bounds {
        let b: Vec<u32> = b.into_iter().collect();
        for w in b.windows(2) {
            let (lo, hi) = (w[0], w[1] - 1);
            let (Ok(lo), Ok(hi)) = (u16::try_from(lo), u16::try_from(hi)) else {
                continue;
            };
            let union = |list: &[(IpSet, PortSet)]| {
                let mut s = IpSet::default();
                for (ips, ports) in list {
                    if ports.contains(proto, lo) {
                        s.union_with(ips);
                    }
                }
                s
            };
            let (was, will) = (union(before), union(after));
            add(&mut opened, will.minus(&was), proto, lo, hi);
            add(&mut closed, was.minus(&will), proto, lo, hi);
        }
    }
    (opened, closed)
}

/// The owner of a namespace in tenant terms.
fn owner(intent: &Intent, ns: &str) -> String {
    match intent.namespace(ns) {
        Some(n) if n.role == Role::Shared => format!("shared {ns}"),
        Some(n) => match &n.tenant {
            Some(t) => format!("tenant {t}"),
            None => ns.to_owned(),
        },
        None if ns == ANY => "any namespace".into(),
        None => format!("platform {ns}"),
    }
}

const ANY: &str = "*";

/// Compares `before` (the imported policies) with `after` (the migrated cluster), for the
/// namespaces the draft's `intent` manages.
pub fn compare(before: &Model, after: &Model, intent: &Intent) -> Proof {
    let managed_names: Vec<String> = intent.namespaces.keys().map(ToString::to_string).collect();
    let managed: HashSet<&str> = managed_names.iter().map(String::as_str).collect();
    let mut pairs: BTreeSet<(String, String)> = BTreeSet::new();
    named_pairs(before, &managed, &mut pairs);
    named_pairs(after, &managed, &mut pairs);
    for n in &managed_names {
        pairs.insert((n.clone(), n.clone()));
    }
    let mut proof = Proof {
        pairs_compared: pairs.len(),
        ..Proof::default()
    };
    let mut record = |from: &str, to: &str, was: PortSet, will: PortSet| {
        let change = |ports: PortSet| FlowChange {
            from: from.to_owned(),
            to: to.to_owned(),
            from_owner: owner(intent, from),
            to_owner: owner(intent, to),
            ports,
        };
        let opened = will.minus(&was);
        if !opened.is_empty() {
            proof.opens.push(change(opened));
        }
        let closed = was.minus(&will);
        if !closed.is_empty() {
            proof.closes.push(change(closed));
        }
    };
    let results = crate::par::map(&pairs.iter().collect::<Vec<_>>(), |(a, b)| {
        (reach(before, a, b), reach(after, a, b))
    });
    for ((a, b), (was, will)) in pairs.iter().zip(results) {
        record(a, b, was, will);
    }
    for n in &managed_names {
        let id_b = |m: &Model| id_in(m, n);
        let out = |m: &Model| m.allowed(id_b(m), Direction::Egress, OTHER).0;
        let inn = |m: &Model| m.allowed(id_b(m), Direction::Ingress, OTHER).0;
        record(n, ANY, out(before), out(after));
        record(ANY, n, inn(before), inn(after));
    }
    // Outside the cluster, named by the draft's entries where they match.
    for n in &managed_names {
        let flows = intent.namespace(n).map(expected).unwrap_or_default();
        for dir in [Direction::Egress, Direction::Ingress] {
            let (opened, closed) =
                ip_changes(&ip_grants(before, n, dir), &ip_grants(after, n, dir));
            for (list, is_open) in [(opened, true), (closed, false)] {
                for (ips, ports) in list {
                    let node = node_name(&flows, &ips);
                    let (from, to) = match dir {
                        Direction::Egress => (n.clone(), node.clone()),
                        Direction::Ingress => (node.clone(), n.clone()),
                    };
                    let c = FlowChange {
                        from_owner: if dir == Direction::Egress {
                            owner(intent, n)
                        } else {
                            node.clone()
                        },
                        to_owner: if dir == Direction::Egress {
                            node.clone()
                        } else {
                            owner(intent, n)
                        },
                        from,
                        to,
                        ports,
                    };
                    if is_open {
                        proof.opens.push(c);
                    } else {
                        proof.closes.push(c);
                    }
                }
            }
        }
    }
    let key = |f: &FlowChange| {
        (
            f.from_owner.clone(),
            f.to_owner.clone(),
            f.from.clone(),
            f.to.clone(),
        )
    };
    proof.opens.sort_by_key(key);
    proof.closes.sort_by_key(key);
    proof
}

/// `acme-jobs (tenant acme)`, `payments (shared)`, `kube-system (platform)`, `any namespace`.
pub fn end_text(ns: &str, owner: &str) -> String {
    if ns == ANY {
        return "any namespace".into();
    }
    match owner.split_once(' ') {
        Some(("tenant", t)) => format!("{ns} (tenant {t})"),
        Some(("shared", _)) => format!("{ns} (shared)"),
        Some(("platform", _)) => format!("{ns} (platform)"),
        _ => ns.to_owned(),
    }
}

impl FlowChange {
    pub fn text(&self) -> String {
        format!(
            "{} -> {} on {}",
            end_text(&self.from, &self.from_owner),
            end_text(&self.to, &self.to_owner),
            self.ports
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(c: &str) -> IpSet {
        IpSet::of_block::<&str>(c, &[]).unwrap()
    }

    #[test]
    fn address_changes_are_exact_per_port() {
        let before = vec![(block("10.0.0.0/8"), PortSet::tcp([443, 80]))];
        let after = vec![
            (block("10.0.0.0/16"), PortSet::tcp([443])),
            (block("192.168.0.0/24"), PortSet::tcp([443])),
        ];
        let (opened, closed) = ip_changes(&before, &after);
        assert_eq!(opened, vec![(block("192.168.0.0/24"), PortSet::tcp([443]))]);
        assert_eq!(closed.len(), 2, "{closed:?}");
        assert!(closed.contains(&(block("10.0.0.0/8"), PortSet::tcp([80]))));
        let (o, c) = ip_changes(&before, &before);
        assert!(o.is_empty() && c.is_empty());
    }
}
