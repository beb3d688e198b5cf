//! From evaluated policies to tenants.toml's terms: which namespaces form a tenant, which are
//! shared services, which are the platform (DNS, the mesh control plane, the ingress controller,
//! monitoring), and every flow between them (consumers and their ports, exposes, destinations
//! outside the cluster, the Kubernetes API). Each inference keeps the reason it was made, for
//! the draft's comments and the report.
//!
//! The rule throughout: the draft must never allow what the imported policies did not. Where
//! tenants.toml cannot say exactly what the policies say (some namespaces of a tenant call a
//! shared service, the ingress controller is admitted on some ports only), the draft says less
//! and the report names the flow that closes; the proof then lists it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;

use crate::verify::ip::IpSet;
use crate::verify::layer::netpol::{NsSet, PortSet, Protocol, NAME_LABEL};
use crate::verify::model::{Direction, GrantPeer, Model, OTHER};
use crate::verify::tree::{Origin, Selector};

/// How import is told what it cannot see in the policies.
#[derive(Clone, Debug, Default)]
pub struct Hints {
    /// Namespaces with the same value of this label form one tenant, named by the value.
    pub tenant_label: Option<String>,
    pub pod_cidrs: Vec<String>,
    pub service_cidrs: Vec<String>,
}

/// Labels as tenants.toml writes them.
pub type Labels = BTreeMap<String, String>;

/// `"*"` or a list of tenant and shared names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Consumers {
    #[serde(serialize_with = "star")]
    Every,
    Names(Vec<String>),
}

fn star<S: serde::Serializer>(s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("*")
}

/// A platform component found in the policies.
#[derive(Clone, Debug, Serialize)]
pub struct Component {
    pub namespace: String,
    pub pod_labels: Labels,
    /// The ports its flows use (DNS: the pods' ports; monitoring: the scraped ports; empty:
    /// every port).
    pub ports: Vec<u16>,
    pub why: String,
    /// Why the draft leaves it commented out (its grant would open flows the policies deny).
    pub withheld: Option<String>,
    /// Its pods are in the mesh: its Namespace is labelled for injection or ambient, or an
    /// AuthorizationPolicy admits it by namespace (which needs a workload identity).
    pub mesh: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Mesh {
    pub namespace: String,
    pub pod_labels: Labels,
    pub outbound_traffic_policy: Option<String>,
    pub mtls: Option<String>,
    pub authorization: bool,
    pub why: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct KubeApi {
    pub cidrs: Vec<String>,
    pub ports: Vec<u16>,
    pub why: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Shared {
    pub name: String,
    pub consumers: Consumers,
    pub ports: Vec<u16>,
    pub ingress: bool,
    pub labels: Labels,
    pub annotations: Labels,
    pub why: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Expose {
    pub namespace: String,
    pub consumers: Vec<String>,
    pub ports: Vec<u16>,
    pub why: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Tenant {
    pub name: String,
    pub namespaces: Vec<String>,
    pub labels: Labels,
    pub annotations: Labels,
    /// The namespaces that admit the ingress controller on every port.
    pub ingress: Vec<String>,
    /// Namespaces that admit it on some ports only: not granted (tenantc admits every port).
    pub ingress_withheld: Vec<String>,
    pub kube_api: bool,
    pub exposes: Vec<Expose>,
    pub why: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct External {
    pub name: String,
    pub hosts: Vec<String>,
    pub cidrs: Vec<String>,
    pub ports: Vec<u16>,
    pub protocol: String,
    pub consumers: Vec<String>,
    pub why: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ClusterRanges {
    pub pod_cidrs: Vec<String>,
    pub service_cidrs: Vec<String>,
    /// Taken from the ipBlocks' excepts, not given with `--pod-cidrs` / `--service-cidrs`.
    pub guessed: bool,
}

/// What tenants.toml will say.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Draft {
    pub cluster: Option<ClusterRanges>,
    pub dns: Option<Component>,
    pub dns_cidrs: Vec<String>,
    pub ingress: Option<Component>,
    pub monitoring: Option<Component>,
    pub kube_api: Option<KubeApi>,
    pub mesh: Option<Mesh>,
    pub shared: Vec<Shared>,
    pub externals: Vec<External>,
    /// Externals that need the cluster's ranges, which nothing gave: left commented out.
    pub externals_withheld: bool,
    pub tenants: Vec<Tenant>,
}

/// Something the draft cannot say, with the object that says it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Note {
    /// `pod-level`, `named-port`, `l7`, `denial-inside-tenant`, `unmodelled-kind`,
    /// `spoofable-label`, `partial-consumer`, `ports`, ...
    pub kind: &'static str,
    /// `file: Kind name`, or empty when it is about the cluster as a whole.
    pub object: String,
    pub message: String,
}

impl Note {
    fn of(kind: &'static str, origin: Option<&Origin>, message: String) -> Self {
        Self {
            kind,
            object: origin.map(object_text).unwrap_or_default(),
            message,
        }
    }
}

/// `file: Kind name`.
pub fn object_text(o: &Origin) -> String {
    format!("{}: {} {}", o.file, o.kind, o.name)
}

pub struct Inferred {
    pub draft: Draft,
    pub notes: Vec<Note>,
}

const METADATA: [&str; 2] = ["169.254.169.254/32", "fd00:ec2::254/128"];
/// Namespaces Kubernetes owns, and those tenants.toml reserves for the platform by default.
const SYSTEM: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];
const DEFAULT_PLATFORM: [&str; 5] = [
    "istio-system",
    "ingress-nginx",
    "monitoring",
    "argocd",
    "flux-system",
];
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
/// Past this many pairs, the flows of namespaces that admit or reach every namespace are not
/// enumerated one by one (the proof still compares them as flows to and from any namespace).
const MAX_OPEN_PAIRS: usize = 4_000_000;

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

/// TCP ports of `p` as tenantc lists them: empty for every port. `None` when `p` has ports of
/// other protocols, or ranges too wide to list.
fn tcp_list(p: &PortSet) -> Option<Vec<u16>> {
    if p.is_all() {
        return Some(Vec::new());
    }
    let mut out = Vec::new();
    for (proto, lo, hi) in p.ranges() {
        if proto != Protocol::Tcp || usize::from(hi - lo) >= 256 {
            return None;
        }
        out.extend(lo..=hi);
    }
    Some(out)
}

/// The TCP part of `p` that tenantc can list, and whether anything was left out.
fn tcp_part(p: &PortSet) -> (Vec<u16>, bool) {
    if p.is_all() {
        return (Vec::new(), false);
    }
    let mut out = Vec::new();
    let mut dropped = false;
    for (proto, lo, hi) in p.ranges() {
        if proto != Protocol::Tcp || usize::from(hi - lo) >= 256 {
            dropped = true;
            continue;
        }
        out.extend(lo..=hi);
    }
    (out, dropped)
}

fn ports_text(p: &[u16]) -> String {
    if p.is_empty() {
        "every port".into()
    } else {
        p.iter()
            .map(|x| format!("TCP/{x}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A DNS-1123 label made of `s` (lowercase, `-` for anything else), at most `max` characters.
fn label_name(s: &str, max: usize) -> String {
    let mut out: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    out.truncate(max);
    let trimmed = out.trim_matches('-');
    if trimmed.is_empty() {
        "x".into()
    } else {
        trimmed.to_owned()
    }
}

/// `base`, or `base-2`, `base-3`, ... the first not in `used` (then added to it).
fn unique(base: String, used: &mut HashSet<String>, max: usize) -> String {
    let mut name = base.clone();
    let mut n = 2;
    while used.contains(&name) {
        let suffix = format!("-{n}");
        let mut b = base.clone();
        b.truncate(max - suffix.len());
        name = format!("{}{suffix}", b.trim_end_matches('-'));
        n += 1;
    }
    used.insert(name.clone());
    name
}

/// The longest common prefix of the names, cut at a `-`, else the first name.
fn common_prefix(names: &[&str]) -> String {
    let first = names[0];
    if names.len() == 1 {
        return first.to_owned();
    }
    let mut len = first.len();
    for n in &names[1..] {
        len = len.min(
            first
                .bytes()
                .zip(n.bytes())
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    let prefix = &first[..len];
    // A whole name, or up to a `-` boundary.
    let cut = if names.contains(&prefix) {
        prefix
    } else {
        prefix.rfind('-').map_or("", |i| &prefix[..i])
    };
    let cut = cut.trim_end_matches('-');
    if cut.is_empty() {
        first.to_owned()
    } else {
        cut.to_owned()
    }
}

/// The evaluated policies, seen per namespace pair.
struct Reach<'m> {
    m: &'m Model,
    cache: HashMap<(u32, u32), PortSet>,
}

impl Reach<'_> {
    fn get(&mut self, a: u32, b: u32) -> PortSet {
        if let Some(p) = self.cache.get(&(a, b)) {
            return p.clone();
        }
        let p = self
            .m
            .allowed(a, Direction::Egress, b)
            .0
            .intersect(&self.m.allowed(b, Direction::Ingress, a).0);
        self.cache.insert((a, b), p.clone());
        p
    }
}

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

/// An external destination: (cidr, except, TCP ports, host names).
type ExternalKey = (String, Vec<String>, Vec<u16>, Vec<String>);

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

pub fn infer(m: &Model, hints: &Hints) -> Inferred {
    let mut notes: Vec<Note> = Vec::new();
    let mut draft = Draft::default();
    let count = u32::try_from(m.names.len()).unwrap_or(u32::MAX);
    let present =
        |id: u32| m.in_tree(id) || m.policies.contains_key(&id) || m.sidecars.contains_key(&id);
    let origin_of = |g: &crate::verify::model::Grant| &m.tree.policies[g.policy as usize].origin;

    // --- The platform, from the selectors and ports of the grants.
    let mut dns_votes = Votes::new();
    let mut mesh_votes = Votes::new();
    let mut ingress_votes = Votes::new();
    let mut monitoring_votes = Votes::new();
    let kube_system = m.id("kube-system");
    for a in 1..count {
        for g in &m.net_of(a).egress.grants {
            let GrantPeer::Namespaces {
                set: NsSet::Only(ids),
                pods,
            } = &g.allowed.peer
            else {
                continue;
            };
            let [b] = ids[..] else { continue };
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
            let GrantPeer::Namespaces {
                set: NsSet::Only(ids),
                pods,
            } = &g.allowed.peer
            else {
                continue;
            };
            let [b] = ids[..] else { continue };
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

    // --- The namespaces tenants.toml will manage.
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
    let is_managed: HashSet<u32> = managed.iter().copied().collect();

    // --- Who reaches whom among them.
    let mut reach = Reach {
        m,
        cache: HashMap::new(),
    };
    let mut callers: HashMap<u32, BTreeSet<u32>> = HashMap::new();
    let mut neighbours: HashMap<u32, BTreeSet<u32>> = HashMap::new();
    let mut link = |a: u32, b: u32| {
        if a != b && is_managed.contains(&a) && is_managed.contains(&b) {
            callers.entry(b).or_default().insert(a);
            neighbours.entry(a).or_default().insert(b);
            neighbours.entry(b).or_default().insert(a);
        }
    };
    for &a in &managed {
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
    for &a in &managed {
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

    // --- Tenants: by label, else namespaces that talk to each other freely.
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
        for &a in &open {
            group_of.insert(a, 0);
        }
        groups.push(open.clone());
        group_label.push(None);
    }
    for &a in &managed {
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

    // --- Roles: a lone namespace called by several others is a shared service.
    let callers_of_group = |x: u32, own: usize| -> BTreeSet<usize> {
        callers
            .get(&x)
            .into_iter()
            .flatten()
            .filter_map(|c| group_of.get(c).copied())
            .filter(|g| *g != own)
            .collect()
    };
    let shared_groups: BTreeSet<usize> = (0..groups.len())
        .filter(|&g| {
            groups[g].len() == 1
                && group_label[g].is_none()
                && callers_of_group(groups[g][0], g).len() >= 2
                && !reaches_kube_api(m, groups[g][0])
        })
        .collect();
    let mut used: HashSet<String> = HashSet::new();
    let mut names: Vec<String> = vec![String::new(); groups.len()];
    for &g in &shared_groups {
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

    // --- Who consumes each called namespace, on which ports.
    let consumption = |reach: &mut Reach<'_>,
                       x: u32,
                       own: usize,
                       notes: &mut Vec<Note>|
     -> (Vec<usize>, Vec<u16>) {
        let mut consumers: Vec<(usize, PortSet)> = Vec::new();
        for h in callers_of_group(x, own) {
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
    };

    // --- Namespace labels and annotations, common to a tenant's namespaces.
    let carried = |members: &[u32], notes: &mut Vec<Note>, owner: &str| -> (Labels, Labels) {
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
    };

    // --- Ingress and monitoring, namespace by namespace.
    let platform_reach = |reach: &mut Reach, p: u32, x: u32| reach.get(p, x);
    let mut ingress_admits: HashMap<u32, bool> = HashMap::new();
    if let Some((ns, pods, n, _)) = &ingress_found {
        for &x in &managed {
            let p = platform_reach(&mut reach, *ns, x);
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
    if let Some((ns, pods, n, _)) = &monitoring_found {
        let mut common: Option<PortSet> = None;
        let mut missing = Vec::new();
        for &x in &managed {
            let p = platform_reach(&mut reach, *ns, x);
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

    // --- Flows out of the cluster: ipBlocks.
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
    for &a in &managed {
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

    // --- Each namespace's ServiceEntries: the host names of its external flows.
    let mut entries_of: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, se) in m.tree.service_entries.iter().enumerate() {
        if let Some(ns) = se.namespace.as_deref() {
            entries_of.entry(ns).or_default().push(i);
        }
    }

    // --- The entries of the draft, group by group.
    let group_names = |gs: &[usize]| -> Vec<String> {
        let mut v: Vec<String> = gs.iter().map(|g| names[*g].clone()).collect();
        v.sort();
        v.dedup();
        v
    };
    let tenant_groups: Vec<usize> = (0..groups.len())
        .filter(|g| !shared_groups.contains(g))
        .collect();
    // (cidr, except, ports, hosts) -> consumer groups
    let mut externals: BTreeMap<ExternalKey, BTreeSet<usize>> = BTreeMap::new();
    for ((cidr, except, ports), users) in &blocks {
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
            consumers: group_names(&consumers.into_iter().collect::<Vec<_>>()),
        });
    }

    // --- The mesh, from the Sidecars and the istiod flows.
    let sidecar_ns: Vec<u32> = managed
        .iter()
        .copied()
        .filter(|id| m.sidecars.contains_key(id))
        .collect();
    if !sidecar_ns.is_empty() || mesh_found.is_some() {
        let (ns, pods) = match &mesh_found {
            Some((ns, pods, ..)) => (m.name(*ns).to_owned(), pods.clone()),
            None => ("istio-system".to_owned(), Labels::new()),
        };
        let modes: BTreeSet<Option<String>> = sidecar_ns
            .iter()
            .flat_map(|id| &m.sidecars[id])
            .map(|i| {
                m.tree.sidecars[*i]
                    .outbound_mode
                    .as_ref()
                    .map(ToString::to_string)
            })
            .collect();
        let outbound = match modes.len() {
            1 => modes.into_iter().next().flatten(),
            0 => None,
            _ => {
                notes.push(Note::of(
                    "mesh",
                    None,
                    "the Sidecars set different outboundTrafficPolicy modes; tenantc sets one on every Sidecar, so the draft sets none (Istio's default, ALLOW_ANY, unless the mesh config says otherwise)".into(),
                ));
                None
            }
        };
        for i in sidecar_ns.iter().flat_map(|id| &m.sidecars[id]) {
            let sc = &m.tree.sidecars[*i];
            if sc.has_workload_selector {
                notes.push(Note::of(
                    "pod-level",
                    Some(&sc.origin),
                    "a Sidecar with a workloadSelector applies to some pods only; tenantc writes one Sidecar per namespace".into(),
                ));
            }
        }
        let modes: BTreeSet<String> = m
            .tree
            .peer_auths
            .iter()
            .filter(|p| !p.has_selector)
            .filter_map(|p| p.mode.as_ref().map(ToString::to_string))
            .collect();
        let mut mtls = (modes.len() == 1)
            .then(|| modes.into_iter().next())
            .flatten()
            .filter(|m| m == "STRICT" || m == "PERMISSIVE");
        let outside = draft
            .ingress
            .as_ref()
            .filter(|i| !i.mesh)
            .map(|i| i.namespace.clone());
        if let (Some("STRICT"), Some(ingress)) = (mtls.as_deref(), outside) {
            notes.push(Note::of(
                "mesh",
                None,
                format!("the PeerAuthentications are STRICT, but nothing shows the ingress controller in {ingress} is in the mesh (an injection label on its Namespace, or an AuthorizationPolicy admitting it): the draft sets mtls = \"PERMISSIVE\"; set STRICT and `mesh = true` on [platform.ingress] if its pods have sidecars"),
            ));
            mtls = Some("PERMISSIVE".into());
        }
        draft.mesh = Some(Mesh {
            why: format!(
                "{} namespaces have Sidecars{}",
                sidecar_ns.len(),
                if mesh_found.is_some() {
                    format!(", and their policies allow TCP/15012 to {ns}")
                } else {
                    String::new()
                }
            ),
            namespace: ns,
            pod_labels: pods,
            outbound_traffic_policy: outbound,
            mtls,
            authorization: false,
        });
    }
    let mut carried_authz = 0;
    for p in &m.tree.authz_policies {
        let l7 = p.rules.iter().flat_map(|r| &r.to).any(|t| {
            let o = &t.operation;
            o.paths.is_some()
                || o.methods.is_some()
                || o.hosts.is_some()
                || o.not_paths.is_some()
                || o.not_methods.is_some()
                || o.not_hosts.is_some()
        }) || p.rules.iter().any(|r| !r.when.is_empty());
        if l7 {
            notes.push(Note::of(
                "l7",
                Some(&p.origin),
                "L7 rules (paths, methods, hosts or conditions) cannot be expressed in tenants.toml; the draft does not carry this AuthorizationPolicy".into(),
            ));
        } else {
            carried_authz += 1;
        }
    }
    // Deny by default in every managed namespace (an ALLOW policy without rules): the posture
    // `[mesh] authorization = true` writes.
    let deny_by_default = !managed.is_empty()
        && managed.iter().all(|id| {
            m.tree.authz_policies.iter().any(|p| {
                p.namespace.as_deref() == Some(m.name(*id))
                    && p.action == "ALLOW"
                    && p.rules.is_empty()
                    && !p.partial
            })
        });
    if carried_authz > 0 {
        notes.push(Note::of(
            "authorization",
            None,
            format!(
                "{carried_authz} AuthorizationPolicies by namespace and port are not carried as they are: {}; the proof compares the NetworkPolicies (after compiling, `tenantc verify` checks that both layers agree)",
                if deny_by_default {
                    "every namespace denies by default, so the draft sets `[mesh] authorization = true`, and tenantc writes them from the intent"
                } else {
                    "not every namespace denies by default, so the draft leaves `[mesh] authorization` off"
                }
            ),
        ));
    }
    if let Some(mesh) = draft.mesh.as_mut() {
        mesh.authorization = deny_by_default;
    }

    // --- Shared entries and tenants.
    let all_tenants: BTreeSet<String> = tenant_groups.iter().map(|g| names[*g].clone()).collect();
    for &g in &shared_groups {
        let x = groups[g][0];
        let (consumers, ports) = consumption(&mut reach, x, g, &mut notes);
        let names_of = group_names(&consumers);
        let consumers_value = if !names_of.is_empty()
            && names_of.iter().cloned().collect::<BTreeSet<_>>() == all_tenants
        {
            Consumers::Every
        } else {
            Consumers::Names(names_of.clone())
        };
        let (labels, annotations) = carried(&groups[g], &mut notes, &names[g]);
        draft.shared.push(Shared {
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
            if callers_of_group(x, g).is_empty() {
                continue;
            }
            let (consumers, ports) = consumption(&mut reach, x, g, &mut notes);
            if consumers.is_empty() {
                continue;
            }
            let mut names_of = group_names(&consumers);
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
        let (labels, annotations) = carried(&members, &mut notes, &names[g]);
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
        draft.tenants.push(Tenant {
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
    draft.tenants.sort_by(|a, b| a.name.cmp(&b.name));
    draft.shared.sort_by(|a, b| a.name.cmp(&b.name));
    if draft.kube_api.is_some() && !draft.tenants.iter().any(|t| t.kube_api) {
        draft.kube_api = None;
    }
    notes.extend(pod_level_notes(m, &managed, &platform));
    notes.sort();
    notes.dedup();
    Inferred { draft, notes }
}

/// Whether namespace `ns` reaches a single address on the API server's ports, which only a
/// tenant may (`kube_api`): such a namespace is a tenant's, whoever calls it.
fn reaches_kube_api(m: &Model, ns: u32) -> bool {
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

/// Whether namespace `ns`'s pods are in the mesh, as far as the tree shows: an injection or
/// ambient label on its Namespace, or an AuthorizationPolicy that admits it by namespace.
fn in_mesh(m: &Model, ns: u32) -> bool {
    let name = m.name(ns);
    let labelled = m.namespace_doc[ns as usize].is_some_and(|d| {
        let l = &m.tree.namespaces[d].labels;
        l.get("istio-injection").is_some_and(|v| v == "enabled")
            || l.get("istio.io/rev").is_some()
            || l.get("istio.io/dataplane-mode")
                .is_some_and(|v| v == "ambient")
    });
    labelled
        || m.tree.authz_policies.iter().any(|p| {
            p.rules
                .iter()
                .flat_map(|r| &r.from)
                .filter_map(|f| f.source.namespaces.as_ref())
                .any(|list| list.iter().any(|n| n == name))
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

/// Pod-level selectors and named ports of the managed namespaces' policies: tenantc's policies
/// select whole namespaces and numbered ports.
fn pod_level_notes(m: &Model, managed: &[u32], platform: &BTreeSet<u32>) -> Vec<Note> {
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
