//! The ServiceEntries of the tree: each registers what its consumers may reach outside the cluster,
//! in their registry alone, and is compared whole with the entry tenants.toml makes.

use std::collections::BTreeSet;

use crate::verify::HashMap;
use std::rc::Rc;

use crate::intent::{Intent, ServiceEntryIntent, ADDRESS_ONLY_DOMAIN};
use crate::model::OutboundTrafficPolicy;
use crate::verify::finding::violation;
use crate::verify::ip::IpSet;
use crate::verify::layer::netpol::Protocol;
use crate::verify::model::{GrantPeer, Model};
use crate::verify::tree::{ServiceEntry, Text};
use crate::verify::{Finding, Severity};

use super::Outside;

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
fn visible_in(se: &ServiceEntry) -> Option<BTreeSet<&str>> {
    let own = se.namespace.as_deref().unwrap_or_default();
    let list = se.spec.export_to.as_ref()?;
    if list.iter().any(|e| e == "*") {
        return None;
    }
    Some(
        list.iter()
            .filter(|e| *e != "~")
            .map(|e| if e == "." { own } else { e.as_ref() })
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
    // What the flows reach, made only for a host that stands for addresses (one in a few hundred
    // ServiceEntries of a large tree).
    let reachable = || {
        let mut all = IpSet::default();
        for e in expected {
            all.union_with(&e.ips);
        }
        all
    };
    se.spec.hosts.iter().all(|h| {
        let address_only = h
            .strip_suffix(ADDRESS_ONLY_DOMAIN)
            .is_some_and(|name| name.ends_with('.'));
        if address_only {
            // Every address must parse: one that does not could stand for anything.
            let all_parse = se
                .spec
                .addresses
                .iter()
                .all(|a| IpSet::of_block::<&str>(a, &[]).is_some());
            all_parse && !se.spec.addresses.is_empty() && reachable().covers(&addresses_of(se))
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
    let mut by_namespace: HashMap<&str, Vec<usize>> = HashMap::default();
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
                    let Some(expected) = expected_of(v) else {
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
                        f.to = Some(v.to_owned());
                        findings.push(f);
                        continue;
                    };
                    if !allowed_for(se, expected) {
                        // Whether v's NetworkPolicies let anything out of the cluster on its ports.
                        let blocked = model.id(v).is_none_or(|id| {
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
                        f.to = Some(v.to_owned());
                        findings.push(f);
                    } else if let Some(ns) = intent.namespace(v) {
                        if let Some(f) = compare_whole(se, v, &ns.service_entries) {
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
                scope
                    .as_ref()
                    .is_none_or(|s| se.spec.hosts.iter().all(|h| s.covers_in(in_ns, h)))
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
