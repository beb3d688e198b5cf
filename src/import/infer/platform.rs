//! The platform, from the selectors and ports of the grants: DNS, the mesh control plane, the
//! ingress controller and monitoring; then which managed namespaces admit the ingress controller
//! and monitoring.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::mesh::in_mesh;
use super::ports::tcp_part;
use super::{Component, Draft, Labels, Note, Reach};
use crate::verify::layer::netpol::{NsSet, PortSet, Protocol};
use crate::verify::model::{GrantPeer, Model};
use crate::verify::tree::Selector;

fn labels_of(sel: Option<&Selector>) -> Option<Labels> {
    let sel = sel?;
    (sel.match_expressions.is_empty()).then(|| {
        sel.match_labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    })
}

fn describe_labels(l: &Labels) -> String {
    if l.is_empty() {
        return "every pod".into();
    }
    l.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Platform component votes: (namespace id, pod labels) -> (count, ports).
type Votes = BTreeMap<(u32, Labels), (usize, PortSet)>;

fn vote(votes: &mut Votes, ns: u32, pods: Labels, ports: &PortSet) {
    let e = votes.entry((ns, pods)).or_insert((0, PortSet::none()));
    e.0 += 1;
    e.1.union_with(ports);
}

fn winner(votes: &Votes) -> Option<(u32, Labels, usize, PortSet)> {
    votes
        .iter()
        .max_by(|a, b| a.1 .0.cmp(&b.1 .0).then(b.0.cmp(a.0)))
        .map(|((ns, l), (n, p))| (*ns, l.clone(), *n, p.clone()))
}

fn looks_like(words: &[&str], ns: &str, pods: &Labels) -> bool {
    let text = format!(
        "{ns} {}",
        pods.values().cloned().collect::<Vec<_>>().join(" ")
    );
    words.iter().any(|w| text.contains(w))
}

const INGRESS_WORDS: [&str; 7] = [
    "ingress", "gateway", "traefik", "contour", "haproxy", "nginx", "envoy",
];
const MONITORING_WORDS: [&str; 6] = [
    "monitoring",
    "prometheus",
    "metrics",
    "datadog",
    "victoria",
    "observability",
];

/// The component most grants point to: (namespace id, pod labels, how many grants, their ports).
pub(super) type Winner = (u32, Labels, usize, PortSet);

/// The platform components found, and the namespaces they run in.
pub(super) struct Platform {
    pub(super) namespaces: BTreeSet<u32>,
    pub(super) mesh: Option<Winner>,
    pub(super) ingress: Option<Winner>,
    pub(super) monitoring: Option<Winner>,
}

/// The components the grants vote for. DNS goes into the draft here: its ports tell the ipBlocks
/// to DNS servers from the others.
pub(super) fn components(m: &Model, draft: &mut Draft) -> Platform {
    let count = u32::try_from(m.names.len()).unwrap_or(u32::MAX);
    let mut dns_votes = Votes::new();
    let mut mesh_votes = Votes::new();
    let mut ingress_votes = Votes::new();
    let mut monitoring_votes = Votes::new();
    let kube_system = m.id("kube-system");
    for a in 1..count {
        for g in &m.net_of(a).egress.grants {
            let Some((b, pods)) = one_namespace(&g.allowed.peer) else {
                continue;
            };
            let Some(labels) = labels_of(pods.as_deref()) else {
                continue;
            };
            let ports = &g.allowed.ports;
            if ports.contains(Protocol::Tcp, 15012) && !ports.is_all() {
                vote(&mut mesh_votes, b, labels.clone(), ports);
            }
            let udp: PortSet = {
                let mut s = PortSet::none();
                for (p, lo, hi) in ports.ranges() {
                    if p == Protocol::Udp && !ports.is_all() && hi - lo < 16 {
                        s.add(p, lo, hi);
                    }
                }
                s
            };
            let dns_pods = labels.get("k8s-app").is_some_and(|v| v.contains("dns"));
            if !udp.is_empty() && (Some(b) == kube_system || dns_pods) {
                vote(&mut dns_votes, b, labels, &udp);
            }
        }
        for g in &m.net_of(a).ingress.grants {
            let Some((b, pods)) = one_namespace(&g.allowed.peer) else {
                continue;
            };
            if b == a {
                continue;
            }
            let labels = labels_of(pods.as_deref()).unwrap_or_default();
            let name = m.name(b);
            if looks_like(&INGRESS_WORDS, name, &labels) {
                vote(&mut ingress_votes, b, labels, &g.allowed.ports);
            } else if looks_like(&MONITORING_WORDS, name, &labels) {
                vote(&mut monitoring_votes, b, labels, &g.allowed.ports);
            }
        }
    }
    let mut platform: BTreeSet<u32> = BTreeSet::new();
    if let Some((ns, pods, n, ports)) = winner(&dns_votes) {
        platform.insert(ns);
        let udp: Vec<u16> = ports
            .ranges()
            .filter(|r| r.0 == Protocol::Udp)
            .flat_map(|(_, lo, hi)| lo..=hi)
            .collect();
        draft.dns = Some(Component {
            namespace: m.name(ns).to_owned(),
            pod_labels: pods.clone(),
            ports: udp,
            why: format!(
                "{n} policies allow {} to pods {} in {}",
                ports,
                describe_labels(&pods),
                m.name(ns)
            ),
            withheld: None,
            mesh: false,
        });
    }
    let mesh_found = winner(&mesh_votes);
    if let Some((ns, ..)) = &mesh_found {
        platform.insert(*ns);
    }
    let ingress_found = winner(&ingress_votes);
    let monitoring_found = winner(&monitoring_votes);
    for (ns, ..) in ingress_found.iter().chain(&monitoring_found) {
        platform.insert(*ns);
    }
    Platform {
        namespaces: platform,
        mesh: mesh_found,
        ingress: ingress_found,
        monitoring: monitoring_found,
    }
}

/// Ingress and monitoring, namespace by namespace, into the draft. Returns whether each managed
/// namespace admits the ingress controller on every port (`true`) or on some only (`false`).
pub(super) fn admitted(
    m: &Model,
    reach: &mut Reach<'_>,
    managed: &[u32],
    found: &Platform,
    draft: &mut Draft,
    notes: &mut Vec<Note>,
) -> HashMap<u32, bool> {
    let (ingress_found, monitoring_found) = (&found.ingress, &found.monitoring);
    let mut ingress_admits: HashMap<u32, bool> = HashMap::new();
    if let Some((ns, pods, n, _)) = ingress_found {
        for &x in managed {
            let p = reach.get(*ns, x);
            if p.is_all() {
                ingress_admits.insert(x, true);
            } else if !p.is_empty() {
                ingress_admits.insert(x, false);
                notes.push(Note::of(
                    "ports",
                    None,
                    format!(
                        "{} admits the ingress controller on {p} only; tenantc admits it on every port, so the draft leaves its `ingress` commented out and the flow closes until you accept every port",
                        m.name(x)
                    ),
                ));
            }
        }
        draft.ingress = Some(Component {
            namespace: m.name(*ns).to_owned(),
            pod_labels: pods.clone(),
            ports: Vec::new(),
            why: format!(
                "{n} policies admit pods {} of {}",
                describe_labels(pods),
                m.name(*ns)
            ),
            withheld: None,
            mesh: in_mesh(m, *ns),
        });
    }
    if let Some((ns, pods, n, _)) = monitoring_found {
        let mut common: Option<PortSet> = None;
        let mut missing = Vec::new();
        for &x in managed {
            let p = reach.get(*ns, x);
            if p.is_empty() {
                missing.push(m.name(x));
            }
            common = Some(match common {
                None => p,
                Some(c) => c.intersect(&p),
            });
        }
        let common = common.unwrap_or_default();
        let (ports, dropped) = tcp_part(&common);
        let withheld = if !missing.is_empty() {
            Some(format!(
                "{} namespaces do not admit it ({}{}); tenantc lets monitoring scrape every namespace",
                missing.len(),
                missing.iter().take(5).copied().collect::<Vec<_>>().join(", "),
                if missing.len() > 5 { ", ..." } else { "" }
            ))
        } else if dropped && ports.is_empty() {
            Some(format!("it scrapes on {common}, which are not TCP ports"))
        } else {
            None
        };
        draft.monitoring = Some(Component {
            namespace: m.name(*ns).to_owned(),
            pod_labels: pods.clone(),
            ports,
            why: format!(
                "{n} policies admit pods {} of {}",
                describe_labels(pods),
                m.name(*ns)
            ),
            withheld,
            mesh: in_mesh(m, *ns),
        });
    }
    ingress_admits
}

/// A peer of exactly one namespace (with its pod selector, if any): what names a platform
/// component.
fn one_namespace(peer: &GrantPeer) -> Option<(u32, &Option<std::sync::Arc<Selector>>)> {
    match peer {
        GrantPeer::Namespaces {
            set: NsSet::Only(ids),
            pods,
        } => match ids[..] {
            [b] => Some((b, pods)),
            _ => None,
        },
        _ => None,
    }
}
