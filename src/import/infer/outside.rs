//! Flows out of the cluster, from the ipBlocks of the managed namespaces' egress: DNS servers,
//! the Kubernetes API, and external destinations (with the host names of the consumers'
//! ServiceEntries), and the cluster's ranges those ipBlocks except.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::groups::Groups;
use super::names::{label_name, unique};
use super::ports::{ports_text, tcp_list, tcp_part};
use super::{ClusterRanges, Draft, External, Hints, KubeApi, Note};
use crate::verify::ip::IpSet;
use crate::verify::layer::netpol::Protocol;
use crate::verify::model::{GrantPeer, Model};

const METADATA: [&str; 2] = ["169.254.169.254/32", "fd00:ec2::254/128"];
/// An external destination: (cidr, except, TCP ports, host names).
type ExternalKey = (String, Vec<String>, Vec<u16>, Vec<String>);

/// Destinations by ipBlock: (cidr, except, TCP ports) -> namespaces.
type Blocks = BTreeMap<(String, Vec<String>, Vec<u16>), BTreeSet<u32>>;

/// The flows out of the cluster into the draft: DNS addresses, the Kubernetes API, the cluster's
/// ranges and the externals. Returns the namespaces that reach the Kubernetes API.
pub(super) fn outside(
    m: &Model,
    hints: &Hints,
    groups: &Groups,
    draft: &mut Draft,
    notes: &mut Vec<Note>,
) -> BTreeSet<u32> {
    let (blocks, kube_api_users) = ip_blocks(m, hints, &groups.managed, draft, notes);
    externals(m, groups, &blocks, draft, notes);
    kube_api_users
}

/// The ipBlocks: DNS addresses, the Kubernetes API and the cluster's ranges into the draft.
/// Returns the other destinations, and the namespaces that reach the Kubernetes API.
fn ip_blocks(
    m: &Model,
    hints: &Hints,
    managed: &[u32],
    draft: &mut Draft,
    notes: &mut Vec<Note>,
) -> (Blocks, BTreeSet<u32>) {
    let origin_of = |g: &crate::verify::model::Grant| &m.tree.policies[g.policy as usize].origin;
    let metadata: Vec<IpSet> = METADATA
        .iter()
        .filter_map(|c| IpSet::of_block::<&str>(c, &[]))
        .collect();
    let mut kube_api_cidrs: BTreeSet<String> = BTreeSet::new();
    let mut kube_api_ports: BTreeSet<u16> = BTreeSet::new();
    let mut kube_api_users: BTreeSet<u32> = BTreeSet::new();
    let mut dns_cidrs: BTreeSet<String> = BTreeSet::new();
    // (cidr, except, TCP ports) -> namespaces
    let mut blocks: BTreeMap<(String, Vec<String>, Vec<u16>), BTreeSet<u32>> = BTreeMap::new();
    let dns_ports: BTreeSet<u16> = draft
        .dns
        .as_ref()
        .map_or_else(|| [53].into(), |d| d.ports.iter().copied().collect());
    for &a in managed {
        for g in &m.net_of(a).egress.grants {
            let GrantPeer::IpBlock { cidr, except } = &g.allowed.peer else {
                continue;
            };
            let ports = &g.allowed.ports;
            let single = cidr.ends_with("/32") || cidr.ends_with("/128");
            let only_dns = !ports.is_all()
                && ports.ranges().all(|(p, lo, hi)| {
                    p != Protocol::Sctp && (lo..=hi).all(|x| dns_ports.contains(&x))
                });
            if single && only_dns && except.is_empty() {
                dns_cidrs.insert(cidr.to_string());
                continue;
            }
            let api_ports = tcp_list(ports)
                .filter(|p| !p.is_empty() && p.iter().all(|x| *x == 443 || *x == 6443));
            if let (true, Some(p)) = (single && except.is_empty(), api_ports) {
                if !cidr.starts_with("0.") {
                    kube_api_cidrs.insert(cidr.to_string());
                    kube_api_ports.extend(p);
                    kube_api_users.insert(a);
                    continue;
                }
            }
            let (tcp, dropped) = tcp_part(ports);
            if dropped {
                notes.push(Note::of(
                    "ports",
                    Some(origin_of(g)),
                    format!(
                        "egress from {} to {cidr} on {ports}: tenantc's external entries are TCP only{}",
                        m.name(a),
                        if tcp.is_empty() { ", so it closes" } else { ", so the rest closes" }
                    ),
                ));
                if tcp.is_empty() {
                    continue;
                }
            }
            let mut except: Vec<String> = except.iter().map(|e| e.to_string()).collect();
            except.sort();
            blocks
                .entry((cidr.to_string(), except, tcp))
                .or_default()
                .insert(a);
        }
    }
    if !kube_api_cidrs.is_empty() {
        draft.kube_api = Some(KubeApi {
            cidrs: kube_api_cidrs.iter().cloned().collect(),
            ports: kube_api_ports.iter().copied().collect(),
            why: format!(
                "{} namespaces reach {} on {}, single addresses on the API server's ports",
                kube_api_users.len(),
                kube_api_cidrs
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                ports_text(&kube_api_ports.iter().copied().collect::<Vec<_>>())
            ),
        });
    }
    draft.dns_cidrs = dns_cidrs.into_iter().collect();
    // The cluster's ranges: given, else what the excepts name besides the metadata and API
    // server addresses.
    let mut guessed: BTreeSet<String> = BTreeSet::new();
    for (_, except, _) in blocks.keys() {
        for e in except {
            let is_metadata =
                IpSet::of_block::<&str>(e, &[]).is_some_and(|s| metadata.contains(&s));
            if !is_metadata && !kube_api_cidrs.contains(e) {
                guessed.insert(e.clone());
            }
        }
    }
    if !hints.pod_cidrs.is_empty() || !hints.service_cidrs.is_empty() {
        let pod = if hints.pod_cidrs.is_empty() {
            &hints.service_cidrs
        } else {
            &hints.pod_cidrs
        };
        let svc = if hints.service_cidrs.is_empty() {
            &hints.pod_cidrs
        } else {
            &hints.service_cidrs
        };
        draft.cluster = Some(ClusterRanges {
            pod_cidrs: pod.clone(),
            service_cidrs: svc.clone(),
            guessed: false,
        });
    } else if !blocks.is_empty() && !guessed.is_empty() {
        let all: Vec<String> = guessed.into_iter().collect();
        notes.push(Note::of(
            "cluster-ranges",
            None,
            format!(
                "the ipBlocks to destinations outside the cluster except {}: the draft takes them as the cluster's ranges; give the real ones with --pod-cidrs and --service-cidrs (`kubectl cluster-info dump | grep -m2 -E 'cluster-cidr|service-cluster-ip-range'`)",
                all.join(", ")
            ),
        ));
        draft.cluster = Some(ClusterRanges {
            pod_cidrs: all.clone(),
            service_cidrs: all,
            guessed: true,
        });
    } else if !blocks.is_empty() {
        draft.externals_withheld = true;
        notes.push(Note::of(
            "cluster-ranges",
            None,
            "tenantc needs the cluster's pod and Service ranges to write an external entry (each ipBlock excepts them), and no ipBlock names them: give them with --pod-cidrs and --service-cidrs; until then the draft's external entries are commented out and those flows close".into(),
        ));
    }
    (blocks, kube_api_users)
}

/// The external entries of the draft, each granted to the groups all of whose namespaces reach it.
fn externals(m: &Model, gr: &Groups, blocks: &Blocks, draft: &mut Draft, notes: &mut Vec<Note>) {
    let Groups {
        group_of,
        groups,
        names,
        used,
        ..
    } = gr;
    // --- Each namespace's ServiceEntries: the host names of its external flows.
    let mut entries_of: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, se) in m.tree.service_entries.iter().enumerate() {
        if let Some(ns) = se.namespace.as_deref() {
            entries_of.entry(ns).or_default().push(i);
        }
    }
    // (cidr, except, ports, hosts) -> consumer groups
    let mut externals: BTreeMap<ExternalKey, BTreeSet<usize>> = BTreeMap::new();
    for ((cidr, except, ports), users) in blocks {
        let mut by_group: BTreeMap<usize, Vec<u32>> = BTreeMap::new();
        for u in users {
            by_group.entry(group_of[u]).or_default().push(*u);
        }
        for (g, have) in by_group {
            if have.len() < groups[g].len() {
                notes.push(Note::of(
                    "partial-consumer",
                    None,
                    format!(
                        "only {} of {} reach {cidr} on {}: tenantc grants an external entry by tenant, so the draft does not and the flow closes",
                        have.iter().map(|i| m.name(*i)).collect::<Vec<_>>().join(", "),
                        names[g],
                        ports_text(ports)
                    ),
                ));
                continue;
            }
            // Host names: the ServiceEntries in the consumer's namespaces on these ports.
            let mut hosts: BTreeSet<String> = BTreeSet::new();
            for ns in &groups[g] {
                for &i in entries_of.get(m.name(*ns)).into_iter().flatten() {
                    let spec = &m.tree.service_entries[i].spec;
                    let on_ports = spec
                        .ports
                        .iter()
                        .all(|p| u16::try_from(*p).is_ok_and(|p| ports.contains(&p)));
                    if on_ports
                        && spec.addresses.is_empty()
                        && spec.location.as_deref() == Some("MESH_EXTERNAL")
                    {
                        hosts.extend(spec.hosts.iter().map(ToString::to_string));
                    }
                }
            }
            let hosts: Vec<String> = if cidr.ends_with("/0") {
                hosts.into_iter().collect()
            } else {
                Vec::new()
            };
            externals
                .entry((cidr.clone(), except.clone(), ports.clone(), hosts))
                .or_default()
                .insert(g);
        }
    }
    let mut ext_used: HashSet<String> = used.clone();
    ext_used.insert("kube-api".into());
    ext_used.insert("dns".into());
    for ((cidr, except, ports, hosts), consumers) in externals {
        let base = match hosts.first() {
            Some(h) => {
                let parts: Vec<&str> = h.trim_start_matches("*.").split('.').collect();
                let pick = if parts.len() >= 2 {
                    parts[parts.len() - 2]
                } else {
                    parts[0]
                };
                label_name(pick, 54)
            }
            None => label_name(&format!("net-{}", cidr.replace(['.', ':', '/'], "-")), 54),
        };
        let name = unique(base, &mut ext_used, 54);
        let protocol = protocol_of(m, &hosts, &ports);
        draft.externals.push(External {
            name,
            why: format!(
                "ipBlock {cidr}{} on {}{}",
                if except.is_empty() {
                    String::new()
                } else {
                    format!(" except {}", except.join(", "))
                },
                ports_text(&ports),
                if hosts.is_empty() {
                    String::new()
                } else {
                    format!(", ServiceEntries for {}", hosts.join(", "))
                }
            ),
            hosts,
            cidrs: vec![cidr],
            ports,
            protocol,
            consumers: gr.group_names(&consumers.into_iter().collect::<Vec<_>>()),
        });
    }
}

/// Whether namespace `ns` reaches a single address on the API server's ports, which only a
/// tenant may (`kube_api`): such a namespace is a tenant's, whoever calls it.
pub(super) fn reaches_kube_api(m: &Model, ns: u32) -> bool {
    m.net_of(ns)
        .egress
        .grants
        .iter()
        .any(|g| match &g.allowed.peer {
            GrantPeer::IpBlock { cidr, except } => {
                (cidr.ends_with("/32") || cidr.ends_with("/128"))
                    && except.is_empty()
                    && tcp_list(&g.allowed.ports)
                        .is_some_and(|p| !p.is_empty() && p.iter().all(|x| *x == 443 || *x == 6443))
            }
            _ => false,
        })
}

/// The ServiceEntry protocol of an external: its ServiceEntry's, else TLS for host names and TCP
/// for addresses.
fn protocol_of(m: &Model, hosts: &[String], ports: &[u16]) -> String {
    let found = m
        .tree
        .service_entries
        .iter()
        .filter(|se| {
            se.spec
                .hosts
                .iter()
                .any(|h| hosts.iter().any(|x| x == h.as_str()))
        })
        .flat_map(|se| se.spec.port_specs.iter())
        .filter(|(n, ..)| u16::try_from(*n).is_ok_and(|n| ports.contains(&n)))
        .find_map(|(_, p, _)| p.as_ref().map(ToString::to_string))
        .filter(|p| ["TLS", "HTTPS", "HTTP", "TCP"].contains(&p.as_str()));
    match found {
        Some(p) if !hosts.iter().any(|h| h.starts_with("*.")) || p == "TLS" || p == "TCP" => p,
        _ if hosts.is_empty() => "TCP".into(),
        _ => "TLS".into(),
    }
}
