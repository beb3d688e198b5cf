//! `tenantc graph`: who can reach whom, per tenant, as the tree's NetworkPolicies decide it.
//! Edges are derived from each namespace's grants (never from all namespace pairs); past a size
//! where a drawing stops helping, the text formats print a summary instead.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::intent::{Intent, Role};
use crate::verify::ip::IpSet;
use crate::verify::layer::netpol::{NsSet, PortSet};
use crate::verify::layer::outside::{expected, is_outside, node_name, Outside, OUTSIDE_IP};
use crate::verify::model::{Direction, GrantPeer, Model};

/// A namespace-level flow the tree allows, with the ports both sides let through.
pub type Edges = BTreeMap<(String, String), PortSet>;

/// Every namespace-level flow of the tree: egress of the caller and ingress of the callee both
/// allow it (a side outside the tree, such as kube-system, is taken to allow). Grants to every
/// namespace become edges to `*`.
pub fn tree_edges(model: &Model, intent: &Intent) -> Edges {
    let mut edges: Edges = BTreeMap::new();
    let in_tree = |id: u32| model.in_tree(id) || model.policies.contains_key(&id);
    let mut add = |from: &str, to: &str, ports: &PortSet| {
        if ports.is_empty() {
            return;
        }
        edges
            .entry((from.to_owned(), to.to_owned()))
            .or_default()
            .union_with(ports);
    };
    for a in 1..u32::try_from(model.names.len()).unwrap_or(u32::MAX) {
        if !in_tree(a) {
            continue;
        }
        let egress = &model.net_of(a).egress;
        // What tenants.toml grants `a` outside the cluster, worked out once, when needed.
        let mut flows: Option<Vec<Outside>> = None;
        for g in &egress.grants {
            match &g.allowed.peer {
                GrantPeer::Namespaces {
                    set: NsSet::Only(ids),
                    ..
                } => {
                    for &b in ids {
                        let ports = if in_tree(b) {
                            g.allowed
                                .ports
                                .intersect(&model.allowed(b, Direction::Ingress, a).0)
                        } else {
                            g.allowed.ports.clone()
                        };
                        add(model.name(a), model.name(b), &ports);
                    }
                }
                // A destination outside the cluster is a node of its own, named by the
                // tenants.toml entry it matches, or by its ranges.
                GrantPeer::IpBlock { cidr, except } => {
                    let node = match IpSet::of_block(cidr, except) {
                        Some(ips) => {
                            let flows = flows.get_or_insert_with(|| {
                                intent
                                    .namespace(model.name(a))
                                    .map_or_else(Vec::new, expected)
                            });
                            node_name(flows, &ips)
                        }
                        None => format!("{OUTSIDE_IP}{cidr} (invalid)"),
                    };
                    add(model.name(a), &node, &g.allowed.ports);
                }
                _ => add(model.name(a), "*", &g.allowed.ports),
            }
        }
        if egress.isolating_all.is_empty() && egress.isolating_some.is_empty() {
            add(model.name(a), "*", &PortSet::all());
        }
        // Callers outside the tree (the ingress controller, monitoring, any namespace or address
        // nobody listed): only a's ingress decides.
        let ingress = &model.net_of(a).ingress;
        for g in &ingress.grants {
            match &g.allowed.peer {
                GrantPeer::Namespaces {
                    set: NsSet::Only(ids),
                    ..
                } => {
                    for &b in ids.iter().filter(|b| !in_tree(**b)) {
                        add(model.name(b), model.name(a), &g.allowed.ports);
                    }
                }
                GrantPeer::Namespaces {
                    set: NsSet::AllExcept(_),
                    ..
                }
                | GrantPeer::Everything => add("*", model.name(a), &g.allowed.ports),
                GrantPeer::IpBlock { cidr, except } => {
                    let node = match IpSet::of_block(cidr, except) {
                        Some(ips) => format!("{OUTSIDE_IP}{ips}"),
                        None => format!("{OUTSIDE_IP}{cidr} (invalid)"),
                    };
                    add(&node, model.name(a), &g.allowed.ports);
                }
            }
        }
        if ingress.isolating_all.is_empty() && ingress.isolating_some.is_empty() {
            add("*", model.name(a), &PortSet::all());
        }
    }
    edges
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Node {
    pub id: String,
    /// `tenant`, `shared`, `platform` or `unknown`.
    pub kind: &'static str,
    pub namespaces: Vec<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Edge {
    pub from: String,
    pub to: String,
    /// What the NetworkPolicies let through.
    pub ports: PortSet,
    /// What of it the AuthorizationPolicies deny (the two layers disagree); empty when they agree.
    #[serde(skip_serializing_if = "PortSet::is_empty")]
    pub identity_denied: PortSet,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

/// The tenant-level graph of the tree (`tenantc graph`): its namespace-level edges
/// ([`tree_edges`]) and the flows AuthorizationPolicies deny among them ([`identity_gaps`]),
/// grouped by owner ([`tenant_graph`]).
pub fn graph_of(model: &Model, intent: &Intent) -> Graph {
    let edges = tree_edges(model, intent);
    let gaps = identity_gaps(model, intent, &edges);
    tenant_graph(&edges, &gaps, intent)
}

/// Groups namespace-level edges by owner: tenant, shared namespace or platform namespace.
/// Flows inside one owner are left out: they are always allowed and would only add loops.
pub fn tenant_graph(edges: &Edges, gaps: &Edges, intent: &Intent) -> Graph {
    let mut owners: BTreeMap<String, (&'static str, BTreeSet<String>)> = BTreeMap::new();
    let kind_of = |ns: &str| match intent.namespace(ns) {
        Some(n) if n.role == Role::Tenant => "tenant",
        Some(_) => "shared",
        None if ns == "*" => "unknown",
        None if is_outside(ns) => "outside",
        None => "platform",
    };
    for (t, nss) in &intent.tenants {
        owners.insert(
            t.to_string(),
            ("tenant", nss.iter().map(ToString::to_string).collect()),
        );
    }
    for s in &intent.shared {
        owners.insert(s.to_string(), ("shared", [s.to_string()].into()));
    }
    let mut grouped: BTreeMap<(String, String), PortSet> = BTreeMap::new();
    for ((a, b), ports) in edges {
        let (oa, ob) = (intent.owner_of(a), intent.owner_of(b));
        for (o, ns) in [(&oa, a), (&ob, b)] {
            owners
                .entry(o.clone())
                .or_insert_with(|| (kind_of(ns), BTreeSet::new()))
                .1
                .insert(ns.clone());
        }
        if oa != ob {
            grouped.entry((oa, ob)).or_default().union_with(ports);
        }
    }
    let mut denied: BTreeMap<(String, String), PortSet> = BTreeMap::new();
    for ((a, b), ports) in gaps {
        let (oa, ob) = (intent.owner_of(a), intent.owner_of(b));
        if oa != ob {
            denied.entry((oa, ob)).or_default().union_with(ports);
        }
    }
    Graph {
        nodes: owners
            .into_iter()
            .map(|(id, (kind, nss))| Node {
                id,
                kind,
                namespaces: nss.into_iter().collect(),
            })
            .collect(),
        edges: grouped
            .into_iter()
            .map(|((from, to), ports)| Edge {
                identity_denied: denied
                    .get(&(from.clone(), to.clone()))
                    .cloned()
                    .unwrap_or_default(),
                from,
                to,
                ports,
            })
            .collect(),
    }
}

fn node_id(s: &str) -> String {
    if s == "*" {
        return "any_namespace".into();
    }
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn label(n: &Node) -> String {
    match n.kind {
        "tenant" if n.namespaces.len() > 1 => {
            format!("{} ({} namespaces)", n.id, n.namespaces.len())
        }
        "tenant" => n.id.clone(),
        "unknown" => "every namespace".into(),
        "outside" => n.id.clone(),
        kind => format!("{} ({kind})", n.id),
    }
}

fn edge_label(e: &Edge) -> Option<String> {
    let ports = (!e.ports.is_all()).then(|| e.ports.to_string());
    if e.identity_denied.is_empty() {
        return ports;
    }
    let denied = format!("the mesh denies {}", e.identity_denied);
    Some(match ports {
        Some(p) => format!("{p}; {denied}"),
        None => denied,
    })
}

/// Where the identity layer disagrees with the NetworkPolicies: for each namespace-level edge
/// between two meshed namespaces, the TCP ports the callee's AuthorizationPolicies deny to the
/// caller's namespace although the NetworkPolicies let them through; from a platform caller
/// outside the mesh, the TCP ports STRICT mTLS refuses it (see `authz::plaintext_ports`).
pub fn identity_gaps(model: &Model, intent: &Intent, edges: &Edges) -> Edges {
    let index = crate::verify::layer::authz::Index::of(model, intent);
    let mut layers: BTreeMap<&str, crate::verify::layer::authz::Layer> = BTreeMap::new();
    let mut gaps = Edges::new();
    for ((a, b), ports) in edges {
        // A platform caller outside the mesh, under STRICT: plaintext is refused but on the
        // ports served outside the inbound chain.
        if let Some(open) = crate::verify::layer::authz::plaintext_ports(&index, intent, a, b) {
            let denied = ports
                .intersect(&crate::verify::layer::authz::tcp_all())
                .minus(&open);
            if !denied.is_empty() {
                gaps.insert((a.clone(), b.clone()), denied);
            }
            continue;
        }
        let meshed = |n: &str| intent.namespace(n).and_then(|i| i.mesh.as_ref());
        let (Some(_), Some(mesh)) = (meshed(a), meshed(b)) else {
            continue;
        };
        let layer = layers
            .entry(b.as_str())
            .or_insert_with(|| index.layer(b, mesh.ambient));
        if layer.is_empty() {
            continue;
        }
        let tcp = ports.intersect(&crate::verify::layer::authz::tcp_all());
        // In ambient mode the HBONE port carries the flow; ztunnel authorizes the port inside.
        let denied = tcp.minus(&layer.verdict(a).allowed);
        let denied = match intent.namespace(b) {
            Some(ns) => crate::verify::layer::netpol::without_hbone(ns, denied),
            None => denied,
        };
        if !denied.is_empty() {
            gaps.insert((a.clone(), b.clone()), denied);
        }
    }
    gaps
}

impl Graph {
    pub fn tenants(&self) -> usize {
        self.nodes.iter().filter(|n| n.kind == "tenant").count()
    }

    pub fn to_mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        for n in &self.nodes {
            let (open, close) = match n.kind {
                "tenant" => ("[\"", "\"]"),
                "shared" => ("[(\"", "\")]"),
                "outside" => ("[/\"", "\"/]"),
                _ => ("{{\"", "\"}}"),
            };
            out.push_str(&format!("  {}{open}{}{close}\n", node_id(&n.id), label(n)));
        }
        for e in &self.edges {
            match edge_label(e) {
                Some(l) => out.push_str(&format!(
                    "  {} -- \"{l}\" --> {}\n",
                    node_id(&e.from),
                    node_id(&e.to)
                )),
                None => out.push_str(&format!("  {} --> {}\n", node_id(&e.from), node_id(&e.to))),
            }
        }
        out
    }

    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph tenants {\n  rankdir=LR;\n");
        for n in &self.nodes {
            let shape = match n.kind {
                "tenant" => "box",
                "shared" => "cylinder",
                "outside" => "parallelogram",
                _ => "hexagon",
            };
            out.push_str(&format!(
                "  \"{}\" [label=\"{}\", shape={shape}];\n",
                n.id,
                label(n)
            ));
        }
        for e in &self.edges {
            match edge_label(e) {
                Some(l) => out.push_str(&format!(
                    "  \"{}\" -> \"{}\" [label=\"{l}\"];\n",
                    e.from, e.to
                )),
                None => out.push_str(&format!("  \"{}\" -> \"{}\";\n", e.from, e.to)),
            }
        }
        out.push_str("}\n");
        out
    }

    /// What to print instead of a drawing nobody can read.
    pub fn summary(&self, max_tenants: usize) -> String {
        let count = |k: &str| self.nodes.iter().filter(|n| n.kind == k).count();
        let kinds: std::collections::HashMap<&str, &str> =
            self.nodes.iter().map(|n| (n.id.as_str(), n.kind)).collect();
        let kind = |id: &str| kinds.get(id).copied().unwrap_or("unknown");
        let cross_tenant = self
            .edges
            .iter()
            .filter(|e| kind(&e.from) == "tenant" && kind(&e.to) == "tenant")
            .count();
        let mut into: BTreeMap<&str, usize> = BTreeMap::new();
        for e in &self.edges {
            *into.entry(e.to.as_str()).or_default() += 1;
        }
        let mut busiest: Vec<(&str, usize)> = into.into_iter().collect();
        busiest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let top: Vec<String> = busiest
            .iter()
            .take(5)
            .map(|(n, c)| format!("{n} ({c})"))
            .collect();
        format!(
            "{} tenants, {} shared and {} platform namespaces, {} destinations outside the cluster, {} edges between them; {cross_tenant} from one tenant to another.\nMost called: {}.\nA drawing of more than {max_tenants} tenants helps nobody: use --format json, or --max-tenants to draw it anyway.\n",
            count("tenant"),
            count("shared"),
            count("platform"),
            count("outside"),
            self.edges.len(),
            top.join(", ")
        )
    }
}
