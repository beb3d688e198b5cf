//! Flows out of the cluster: the tree's egress ipBlocks against the external entries, the
//! Kubernetes API and the node-local DNS caches tenants.toml grants, and the ServiceEntries that
//! put them in each consumer's registry (and nobody else's): this module holds the ipBlocks,
//! [`registry`] the ServiceEntries.

mod registry;

pub use registry::{exported_to, registers, service_entries};

use std::collections::{BTreeMap, BTreeSet};

use crate::verify::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use crate::intent::{Intent, NamespaceIntent, OutsideFlow, Role, Rule};
use crate::model::Dns;
use crate::verify::finding::{ports_text, violation};
use crate::verify::ip::IpSet;
use crate::verify::layer::netpol::{PortSet, Protocol};
use crate::verify::model::{Allowed, Direction, GrantPeer, Model};
use crate::verify::tree::{Origin, Text};
use crate::verify::Finding;

/// One flow out of the cluster that tenants.toml grants a namespace.
pub struct Outside {
    pub what: String,
    pub ips: IpSet,
    pub ports: PortSet,
    pub hosts: Vec<String>,
    /// Whether the sidecar needs a registry entry for it (external entries and DNS caches).
    pub registry: bool,
}

/// What a flow is called in messages: `external stripe (api.stripe.com)`, `the Kubernetes API`.
pub fn flow_name(flow: &OutsideFlow) -> String {
    match &flow.rule {
        Rule::External { name } if flow.hosts.is_empty() => format!("external {name}"),
        Rule::External { name } => format!("external {name} ({})", flow.hosts.join(", ")),
        _ => KUBE_API_NAME.into(),
    }
}

/// The addresses a flow reaches: its ipBlocks less their exceptions.
pub fn ips_of(flow: &OutsideFlow) -> IpSet {
    let mut ips = IpSet::default();
    for b in &flow.blocks {
        let mut s = IpSet::of(&b.cidr);
        for e in &b.except {
            s = s.minus(&IpSet::of(e));
        }
        ips.union_with(&s);
    }
    ips
}

/// The name of the node a destination outside the cluster is drawn as, and diffed under: the
/// flow tenants.toml grants (`flows`, the caller's [`expected`]) to exactly these addresses, or
/// the one it grants within which they lie, else `IP <ranges>`.
pub fn node_name(flows: &[Outside], ips: &IpSet) -> String {
    if let Some(o) = flows.iter().find(|o| o.ips == *ips) {
        return o.what.clone();
    }
    let within: Vec<&Outside> = flows.iter().filter(|o| o.ips.covers(ips)).collect();
    if let [o] = within[..] {
        return o.what.clone();
    }
    format!("{OUTSIDE_IP}{ips}")
}

/// The prefix of a node outside the cluster that no rule of tenants.toml names.
pub const OUTSIDE_IP: &str = "IP ";

/// Whether a node name stands for a destination outside the cluster.
pub fn is_outside(name: &str) -> bool {
    name.starts_with(OUTSIDE_IP)
        || name.starts_with("external ")
        || name == KUBE_API_NAME
        || name == DNS_CACHES_NAME
}

const KUBE_API_NAME: &str = "the Kubernetes API";
const DNS_CACHES_NAME: &str = "the node-local DNS caches";

/// Every flow out of the cluster tenants.toml grants `ns` (none to a retired namespace).
pub fn expected(ns: &NamespaceIntent) -> Vec<Outside> {
    if ns.role == Role::Retired {
        return Vec::new();
    }
    let mut out: Vec<Outside> = ns
        .outside
        .iter()
        .map(|f| Outside {
            what: flow_name(f),
            ips: ips_of(f),
            ports: PortSet::tcp(f.ports.iter().map(|p| p.get())),
            hosts: f.hosts.clone(),
            registry: matches!(f.rule, Rule::External { .. }),
        })
        .collect();
    if !ns.dns.cidrs.is_empty() {
        let mut ips = IpSet::default();
        for c in &ns.dns.cidrs {
            ips.add(c);
        }
        let mut ports = PortSet::none();
        for p in &ns.dns.ports {
            ports.add(Protocol::Udp, p.get(), p.get());
            ports.add(Protocol::Tcp, p.get(), p.get());
        }
        out.push(Outside {
            what: DNS_CACHES_NAME.into(),
            ips,
            ports,
            hosts: Vec::new(),
            registry: true,
        });
    }
    out
}

/// Every namespace's [`expected`] flows, one shared list per distinct grant: they depend only
/// on the role and on the outside flows and DNS settings, which the intent shares between the
/// namespaces that have the same. A copy per namespace made these lists the largest part of
/// the comparison's memory at a hundred thousand tenants.
/// Every namespace's egress out of the cluster against the intent, then the ServiceEntries.
pub fn check(model: &Model, intent: &Intent, findings: &mut Vec<Finding>) {
    let expected = expected_by_namespace(intent);
    let mut blocks = Blocks::default();
    for (name, ns) in &intent.namespaces {
        let Some(id) = model.id(name.as_str()) else {
            continue;
        };
        let flows = expected.get(name.as_str()).map_or(&[][..], |f| &f[..]);
        compare(model, ns, id, flows, &mut blocks, findings);
    }
    service_entries(model, intent, &expected, findings);
}

pub fn expected_by_namespace(intent: &Intent) -> HashMap<&str, Rc<[Outside]>> {
    type Key = (bool, *const Vec<OutsideFlow>, *const Dns);
    let mut shared: HashMap<Key, Rc<[Outside]>> = HashMap::default();
    intent
        .namespaces
        .iter()
        .map(|(name, ns)| {
            let key = (
                ns.role == Role::Retired,
                Arc::as_ptr(&ns.outside),
                Arc::as_ptr(&ns.dns),
            );
            let flows = shared.entry(key).or_insert_with(|| expected(ns).into());
            (name.as_str(), flows.clone())
        })
        .collect()
}

/// The port ranges on which every given set is either wholly in or wholly out.
fn segments<'a>(sets: impl Iterator<Item = &'a PortSet>) -> Vec<(Protocol, u16, u16)> {
    let mut cuts: BTreeMap<Protocol, BTreeSet<u32>> = BTreeMap::new();
    for s in sets {
        for (p, lo, hi) in s.ranges() {
            let c = cuts.entry(p).or_default();
            c.insert(u32::from(lo));
            c.insert(u32::from(hi) + 1);
        }
    }
    let mut out = Vec::new();
    for (p, c) in cuts {
        let c: Vec<u32> = c.into_iter().collect();
        for w in c.windows(2) {
            // Both ends come from u16 values (the upper one exclusive).
            out.push((p, w[0] as u16, (w[1] - 1) as u16));
        }
    }
    out
}

/// The addresses of each ipBlock grant, by the grant (the model shares a grant between the
/// policies that spell it the same: most namespaces' DNS caches, APIs and externals), so that
/// each block's CIDRs are parsed and its exceptions taken out once.
#[derive(Default)]
pub struct Blocks(HashMap<*const Allowed, Option<IpSet>>);

impl Blocks {
    fn of(&mut self, allowed: &Arc<Allowed>, cidr: &str, except: &[Text]) -> Option<IpSet> {
        self.0
            .entry(Arc::as_ptr(allowed))
            .or_insert_with(|| IpSet::of_block(cidr, except))
            .clone()
    }
}

/// Compares the egress ipBlocks of namespace `id` with what tenants.toml grants it outside the
/// cluster: an address or port too many is an over-allow, one too few an under-allow.
pub fn compare(
    model: &Model,
    ns: &NamespaceIntent,
    id: u32,
    expected: &[Outside],
    blocks: &mut Blocks,
    findings: &mut Vec<Finding>,
) {
    let name = ns.name.as_str();
    let side = model.net_of(id).side(Direction::Egress);
    if side.isolating_all.is_empty() {
        return; // reported as a missing default deny
    }
    let mut grants: Vec<(IpSet, &PortSet, bool, &Origin)> = Vec::new();
    for g in &side.grants {
        let GrantPeer::IpBlock { cidr, except } = &g.allowed.peer else {
            continue;
        };
        let origin = &model.tree.policies[g.policy as usize].origin;
        let Some(ips) = blocks.of(&g.allowed, cidr, except) else {
            let mut f = violation(
                "invalid-ipblock",
                format!("{name}: ipBlock {cidr} except [{}] does not parse as CIDRs, which the API server rejects ({origin})", except.join(", ")),
                vec![origin.clone()],
            );
            f.from = Some(name.to_owned());
            findings.push(f);
            continue;
        };
        grants.push((ips, &g.allowed.ports, g.targets_all, origin));
    }
    let all_ports = segments(
        grants
            .iter()
            .map(|g| g.1)
            .chain(expected.iter().map(|e| &e.ports)),
    );
    // (ips) -> (ports, objects) so that one range over several ports is one finding.
    let mut over: BTreeMap<Vec<String>, (IpSet, PortSet, BTreeSet<Origin>)> = BTreeMap::new();
    let mut under: BTreeMap<Vec<String>, (IpSet, PortSet, BTreeSet<String>)> = BTreeMap::new();
    for (p, lo, hi) in all_ports {
        let mut allowed = IpSet::default();
        let mut allowed_all_pods = IpSet::default();
        let mut objects = BTreeSet::new();
        for (ips, ports, all_pods, origin) in &grants {
            if ports.contains(p, lo) {
                allowed.union_with(ips);
                if *all_pods {
                    allowed_all_pods.union_with(ips);
                }
                objects.insert((*origin).clone());
            }
        }
        let mut want = IpSet::default();
        let mut why = BTreeSet::new();
        for e in expected {
            if e.ports.contains(p, lo) {
                want.union_with(&e.ips);
                why.insert(e.what.clone());
            }
        }
        let extra = allowed.minus(&want);
        if !extra.is_empty() {
            let entry = over
                .entry(extra.to_cidrs())
                .or_insert_with(|| (extra, PortSet::none(), BTreeSet::new()));
            entry.1.add(p, lo, hi);
            entry.2.extend(objects);
        }
        let missing = want.minus(&allowed_all_pods);
        if !missing.is_empty() {
            let entry = under
                .entry(missing.to_cidrs())
                .or_insert_with(|| (missing, PortSet::none(), BTreeSet::new()));
            entry.1.add(p, lo, hi);
            entry.2.extend(why);
        }
    }
    let granted: Vec<String> = expected
        .iter()
        .map(|e| format!("{} on {}", e.what, e.ports))
        .collect();
    let granted = if granted.is_empty() {
        "nothing outside the cluster".to_owned()
    } else {
        granted.join("; ")
    };
    for (_, (ips, ports, objects)) in over {
        let objects: Vec<Origin> = objects.into_iter().collect();
        let list: Vec<String> = objects.iter().map(ToString::to_string).collect();
        let mut f = violation(
            "over-allow",
            format!(
                "{name} -> IP {ips} {} is allowed but tenants.toml grants {name} {granted} ({})",
                ports_text(&ports),
                list.join("; ")
            ),
            objects,
        );
        f.from = Some(name.to_owned());
        f.to = Some(ips.to_string());
        f.ports = ports.to_strings();
        findings.push(f);
    }
    for (_, (ips, ports, why)) in under {
        let files = model.policy_files(id);
        let mut f = violation(
            "under-allow",
            format!(
                "{name} -> IP {ips} {} is allowed by tenants.toml ({}) but blocked: {name}'s egress policies do not allow it",
                ports_text(&ports),
                why.into_iter().collect::<Vec<_>>().join(", ")
            ),
            files,
        );
        f.from = Some(name.to_owned());
        f.to = Some(ips.to_string());
        f.ports = ports.to_strings();
        findings.push(f);
    }
}
