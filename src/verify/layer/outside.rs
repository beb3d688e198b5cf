//! Flows out of the cluster: the tree's egress ipBlocks against the external entries, the
//! Kubernetes API and the node-local DNS caches tenants.toml grants, and the ServiceEntries that
//! put them in each consumer's registry (and nobody else's).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;
use std::sync::Arc;

use crate::intent::{
    Intent, NamespaceIntent, OutsideFlow, Role, Rule, ServiceEntryIntent, ADDRESS_ONLY_DOMAIN,
};
use crate::model::Dns;
use crate::model::OutboundTrafficPolicy;
use crate::verify::finding::{ports_text, violation};
use crate::verify::ip::IpSet;
use crate::verify::layer::netpol::{PortSet, Protocol};
use crate::verify::layer::sidecar::Host;
use crate::verify::model::{Direction, GrantPeer, Model};
use crate::verify::tree::{Origin, ServiceEntry, Text};
use crate::verify::{Finding, Severity};

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
    for (name, ns) in &intent.namespaces {
        let Some(id) = model.id(name.as_str()) else {
            continue;
        };
        let flows = expected.get(name.as_str()).map_or(&[][..], |f| &f[..]);
        compare(model, ns, id, flows, findings);
    }
    service_entries(model, intent, &expected, findings);
}

pub fn expected_by_namespace(intent: &Intent) -> HashMap<&str, Rc<[Outside]>> {
    type Key = (bool, *const Vec<OutsideFlow>, *const Dns);
    let mut shared: HashMap<Key, Rc<[Outside]>> = HashMap::new();
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

/// Compares the egress ipBlocks of namespace `id` with what tenants.toml grants it outside the
/// cluster: an address or port too many is an over-allow, one too few an under-allow.
pub fn compare(
    model: &Model,
    ns: &NamespaceIntent,
    id: u32,
    expected: &[Outside],
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
        let Some(ips) = IpSet::of_block(cidr, except) else {
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

/// The addresses a ServiceEntry lists that parse as CIDRs or addresses.
fn addresses_of(se: &ServiceEntry) -> IpSet {
    let mut out = IpSet::default();
    for a in se
        .spec
        .addresses
        .iter()
        .filter_map(|a| IpSet::of_block::<&str>(a, &[]))
    {
        out.union_with(&a);
    }
    out
}

/// Whether `se` puts a destination in the registry: all of its `hosts`, or, for a destination
/// reached by address only, all of its addresses.
pub fn registers(se: &ServiceEntry, hosts: &[String], ips: &IpSet) -> bool {
    if hosts.is_empty() {
        addresses_of(se).covers(ips)
    } else {
        hosts.iter().all(|h| se.spec.hosts.iter().any(|s| s == h))
    }
}

/// Whether `se` is exported to namespace `ns`.
pub fn exported_to(se: &ServiceEntry, ns: &str) -> bool {
    visible_in(se).is_none_or(|set| set.contains(ns))
}

/// Where a ServiceEntry is visible: `None` for every namespace (no `exportTo`, or `*`).
fn visible_in(se: &ServiceEntry) -> Option<BTreeSet<String>> {
    let own = se.namespace.as_deref().unwrap_or_default();
    let list = se.spec.export_to.as_ref()?;
    if list.iter().any(|e| e == "*") {
        return None;
    }
    Some(
        list.iter()
            .filter(|e| *e != "~")
            .map(|e| {
                if e == "." {
                    own.to_owned()
                } else {
                    e.to_string()
                }
            })
            .collect(),
    )
}

/// Compares a ServiceEntry that namespace `ns` sees, and may see by its hosts, with the registry
/// entry tenants.toml makes for those hosts (`expected`, the intent's entries of `ns`): the
/// hosts alone do not say where the traffic goes. `resolution`, `endpoints`, `addresses`,
/// `location`, `ports`, `workloadSelector` and `subjectAltNames` must be what compile derives
/// from the intent (visibility, `exportTo`, is checked by the caller).
/// https://istio.io/latest/docs/reference/config/networking/service-entry/
fn compare_whole(se: &ServiceEntry, ns: &str, expected: &[ServiceEntryIntent]) -> Option<Finding> {
    let spec = &se.spec;
    let want = expected
        .iter()
        .find(|e| spec.hosts.iter().all(|h| e.hosts.iter().any(|x| h == x)));
    let mut differences: Vec<String> = Vec::new();
    match want {
        None => differences.push(format!(
            "hosts [{}] are not those of one registry entry tenants.toml makes",
            spec.hosts.join(", ")
        )),
        Some(want) => {
            let resolution = spec.resolution.as_deref().unwrap_or("NONE");
            if resolution != want.resolution {
                differences.push(format!(
                    "resolution {resolution} instead of {}",
                    want.resolution
                ));
            }
            let location = spec.location.as_deref().unwrap_or("MESH_EXTERNAL");
            if location != "MESH_EXTERNAL" {
                differences.push(format!("location {location} instead of MESH_EXTERNAL"));
            }
            let mut have_addresses = IpSet::default();
            let mut parse = true;
            for a in &spec.addresses {
                match IpSet::of_block::<&str>(a, &[]) {
                    Some(ips) => have_addresses.union_with(&ips),
                    None => parse = false,
                }
            }
            let mut want_addresses = IpSet::default();
            for c in &want.addresses {
                want_addresses.add(c);
            }
            if !parse || have_addresses != want_addresses {
                differences.push(format!(
                    "addresses [{}] instead of [{}]",
                    spec.addresses.join(", "),
                    want.addresses
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            let mut have_ports: Vec<(i64, String, Option<i64>)> = spec
                .port_specs
                .iter()
                .map(|(n, p, t)| (*n, p.as_deref().unwrap_or("").to_ascii_uppercase(), *t))
                .collect();
            have_ports.sort();
            let mut want_ports: Vec<(i64, String, Option<i64>)> = want
                .ports
                .iter()
                .map(|p| (i64::from(p.number.get()), p.protocol.to_owned(), None))
                .collect();
            want_ports.sort();
            if have_ports != want_ports {
                let text = |ports: &[(i64, String, Option<i64>)]| {
                    ports
                        .iter()
                        .map(|(n, p, t)| match t {
                            Some(t) => format!("{n}/{p} to {t}"),
                            None => format!("{n}/{p}"),
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                differences.push(format!(
                    "ports [{}] instead of [{}]",
                    text(&have_ports),
                    text(&want_ports)
                ));
            }
        }
    }
    if spec.has_endpoints {
        differences
            .push("endpoints, which send the traffic to other addresses than the hosts".into());
    }
    if spec.has_workload_selector {
        differences.push("a workloadSelector, which sends the traffic to pods of the mesh".into());
    }
    if !spec.subject_alt_names.is_empty() {
        differences.push(format!(
            "subjectAltNames [{}]",
            spec.subject_alt_names.join(", ")
        ));
    }
    if differences.is_empty() {
        return None;
    }
    let mut f = violation(
        "serviceentry-differs",
        format!(
            "ServiceEntry {} ({}), seen by {ns}, is not the registry entry tenants.toml makes{}: {} ({})",
            se.origin.name,
            se.namespace.as_deref().unwrap_or("no namespace"),
            want.map_or(String::new(), |w| format!(" ({})", w.name)),
            differences.join("; "),
            se.origin
        ),
        vec![se.origin.clone()],
    );
    f.from = Some(ns.to_owned());
    Some(f)
}

/// Whether `se` is one that namespace `ns` may have: every host is one of the external hosts it
/// may reach, or an address-only name whose addresses it may reach.
fn allowed_for(se: &ServiceEntry, expected: &[Outside]) -> bool {
    let mut reachable = IpSet::default();
    for e in expected {
        reachable.union_with(&e.ips);
    }
    se.spec.hosts.iter().all(|h| {
        if h.ends_with(&format!(".{ADDRESS_ONLY_DOMAIN}")) {
            // Every address must parse: one that does not could stand for anything.
            let all_parse = se
                .spec
                .addresses
                .iter()
                .all(|a| IpSet::of_block::<&str>(a, &[]).is_some());
            all_parse && !se.spec.addresses.is_empty() && reachable.covers(&addresses_of(se))
        } else {
            expected.iter().any(|e| e.hosts.iter().any(|x| h == x))
        }
    })
}

/// The ServiceEntries of the tree against the registry entries each meshed namespace needs:
/// one visible to and imported by every consumer, none visible to anyone else.
///
/// `expected` holds [`expected`] of every namespace of the intent, computed once for both checks.
pub fn service_entries(
    model: &Model,
    intent: &Intent,
    expected: &HashMap<&str, Rc<[Outside]>>,
    findings: &mut Vec<Finding>,
) {
    let mut by_namespace: HashMap<String, Vec<usize>> = HashMap::new();
    let mut everywhere: Vec<usize> = Vec::new();
    // Ambient mode has no registry filter to satisfy (see `intent`).
    let expected_of = |ns: &str| {
        intent
            .namespace(ns)
            .filter(|n| n.mesh.as_ref().is_some_and(|m| !m.ambient))
            .and_then(|_| expected.get(ns))
            .map(|flows| &flows[..])
    };
    for (i, se) in model.tree.service_entries.iter().enumerate() {
        match visible_in(se) {
            None => {
                everywhere.push(i);
                let mut f = violation(
                    "serviceentry-exported-to-all",
                    format!(
                        "ServiceEntry {} ({}) is exported to every namespace (exportTo {}): every sidecar of the mesh learns {}, and tenants.toml grants it to its consumers only ({})",
                        se.origin.name,
                        se.namespace.as_deref().unwrap_or("no namespace"),
                        se.spec.export_to.as_ref().map_or("absent".to_owned(), |l| format!("{l:?}")),
                        se.spec.hosts.join(", "),
                        se.origin
                    ),
                    vec![se.origin.clone()],
                );
                f.from = se.namespace.as_ref().map(Text::to_string);
                findings.push(f);
            }
            Some(set) => {
                for v in set {
                    let Some(expected) = expected_of(v.as_str()) else {
                        let mut f = violation(
                            "serviceentry-exported-too-far",
                            format!(
                                "ServiceEntry {} ({}) is exported to namespace {v}, which tenants.toml does not mesh ({})",
                                se.origin.name,
                                se.namespace.as_deref().unwrap_or("no namespace"),
                                se.origin
                            ),
                            vec![se.origin.clone()],
                        );
                        f.to = Some(v.clone());
                        findings.push(f);
                        continue;
                    };
                    if !allowed_for(se, expected) {
                        // Whether v's NetworkPolicies let anything out of the cluster on its ports.
                        let blocked = model.id(&v).is_none_or(|id| {
                            model.net_of(id).egress.grants.iter().all(|g| {
                                !matches!(
                                    g.allowed.peer,
                                    GrantPeer::IpBlock { .. } | GrantPeer::Everything
                                ) || !se.spec.ports.iter().any(|p| {
                                    u16::try_from(*p)
                                        .is_ok_and(|p| g.allowed.ports.contains(Protocol::Tcp, p))
                                })
                            })
                        });
                        let tail = if blocked {
                            "; its NetworkPolicies block those ports outside the cluster, so the two layers disagree"
                        } else {
                            ""
                        };
                        let mut f = violation(
                            "serviceentry-exported-too-far",
                            format!(
                                "ServiceEntry {} ({}) puts {} in the registry of {v}, but tenants.toml does not let {v} reach it{tail} ({})",
                                se.origin.name,
                                se.namespace.as_deref().unwrap_or("no namespace"),
                                se.spec.hosts.join(", "),
                                se.origin
                            ),
                            vec![se.origin.clone()],
                        );
                        f.to = Some(v.clone());
                        findings.push(f);
                    } else if let Some(ns) = intent.namespace(&v) {
                        if let Some(f) = compare_whole(se, &v, &ns.service_entries) {
                            findings.push(f);
                        }
                    }
                    by_namespace.entry(v).or_default().push(i);
                }
            }
        }
    }
    for (name, ns) in &intent.namespaces {
        let Some(mesh) = ns.mesh.as_ref().filter(|m| !m.ambient) else {
            continue;
        };
        let Some(id) = model.id(name.as_str()) else {
            continue;
        };
        let (effective, _) = model.effective_sidecars(id, Some(mesh.namespace.as_str()));
        let scope = effective
            .first()
            .map(|&sc| model.scope_of(sc, name.as_str()).0);
        let visible: Vec<&ServiceEntry> = by_namespace
            .get(name.as_str())
            .into_iter()
            .flatten()
            .chain(&everywhere)
            .map(|i| &*model.tree.service_entries[*i])
            .filter(|se| {
                let in_ns = se.namespace.as_deref().unwrap_or_default();
                scope.as_ref().is_none_or(|s| {
                    se.spec
                        .hosts
                        .iter()
                        .all(|h| s.covers(&Host::In(in_ns.to_owned(), h.to_string())))
                })
            })
            .collect();
        for e in expected_of(name.as_str())
            .into_iter()
            .flatten()
            .filter(|e| e.registry)
        {
            let tcp_ports: Vec<i64> = e
                .ports
                .ranges()
                .filter(|(p, _, _)| *p == Protocol::Tcp)
                .flat_map(|(_, lo, hi)| (i64::from(lo)..=i64::from(hi)).take(64))
                .collect();
            let found = visible.iter().any(|se| {
                tcp_ports.iter().all(|p| se.spec.ports.contains(p))
                    && registers(se, &e.hosts, &e.ips)
            });
            if !found {
                let registry_only =
                    mesh.outbound_traffic_policy == Some(OutboundTrafficPolicy::RegistryOnly);
                let mut f = violation(
                    "missing-service-entry",
                    format!(
                        "tenants.toml lets {name} reach {} on {}, but no ServiceEntry visible to {name} and imported by its Sidecar covers it{}",
                        e.what,
                        e.ports,
                        if registry_only { ": under REGISTRY_ONLY its sidecars block what the NetworkPolicies allow" } else { "" }
                    ),
                    Vec::new(),
                );
                if !registry_only {
                    f.severity = Severity::Warning;
                }
                f.from = Some(name.to_string());
                findings.push(f);
            }
        }
    }
}
