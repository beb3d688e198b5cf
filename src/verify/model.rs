//! The tree's NetworkPolicies and Sidecars evaluated per namespace: which peers each namespace's
//! policies let in and out, on which ports, and which policy says so. Each namespace keeps its
//! allowed peers as sets (or "every namespace but ..."), never as a namespace-by-namespace matrix,
//! so the work grows with the size of the tree, not with its square.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::verify::layer::netpol::{self, LabelIndex, NsSet, PortSet, NAME_LABEL};
use crate::verify::layer::sidecar::{self, Host, Scope};
use crate::verify::tree::{
    NamespaceDoc, Origin, Policy, Rule, Rules, Selector, Sidecar, Text, Tree,
};
use crate::verify::{HashMap, HashSet};

/// Id 0: every namespace that appears nowhere in the tree or in tenants.toml.
pub const OTHER: u32 = 0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ingress => "ingress",
            Self::Egress => "egress",
        }
    }
}

/// Who a rule lets in (ingress) or out (egress).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum GrantPeer {
    /// `from`/`to` missing or empty: every source or destination, in or outside the cluster.
    Everything,
    /// Pods of these namespaces; `pods: None` means every pod. The selector is the rule's own,
    /// shared by every policy with the same rules.
    Namespaces {
        set: NsSet,
        pods: Option<Arc<Selector>>,
    },
    IpBlock {
        cidr: Text,
        except: Box<[Text]>,
    },
}

/// One peer of one rule of one policy. A large tree has millions of these, held until the
/// comparison ends: a grant is the policy's index and what it allows, which is shared by every
/// policy whose rule allows the same (most namespaces have the same platform and shared-service
/// policies; held per grant, these were the largest part of the model).
#[derive(Clone, Debug)]
pub struct Grant {
    /// Index into `Tree::policies`.
    pub policy: u32,
    /// The policy selects every pod of its namespace.
    pub targets_all: bool,
    pub allowed: Arc<Allowed>,
}

/// Who one grant lets through, on which ports.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Allowed {
    pub peer: GrantPeer,
    pub ports: PortSet,
    /// Named ports (`TCP/http`): what they match depends on the pods, unknown here.
    pub named_ports: Box<[String]>,
}

/// The shared copy of `allowed`, made on first sight.
fn shared_allowed(set: &mut HashSet<Arc<Allowed>>, allowed: Allowed) -> Arc<Allowed> {
    if let Some(a) = set.get(&allowed) {
        return a.clone();
    }
    let a = Arc::new(allowed);
    set.insert(a.clone());
    a
}

#[derive(Clone, Debug, Default)]
pub struct Side {
    /// Policies that select every pod and isolate it for this direction.
    pub isolating_all: Vec<usize>,
    /// Policies that isolate some pods only (a non-empty podSelector).
    pub isolating_some: Vec<usize>,
    pub grants: Vec<Grant>,
}

#[derive(Clone, Debug, Default)]
pub struct NsNet {
    pub ingress: Side,
    pub egress: Side,
}

impl NsNet {
    pub fn side(&self, d: Direction) -> &Side {
        match d {
            Direction::Ingress => &self.ingress,
            Direction::Egress => &self.egress,
        }
    }
}

/// A problem in one object that the API server, kubectl or istiod would reject or misread.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub origin: Origin,
    pub check: &'static str,
    pub message: String,
}

/// Which rules a policy's sides hold: the address of its ingress and its egress rules (0 for a
/// direction it does not isolate).
type RulesKey = (usize, usize);

/// What a policy's rules allow, whoever's they are: each direction's allowed peers and ports in
/// rule order, and the problems of the rules (check, message without the policy's origin).
#[derive(Debug, Default)]
struct EvaluatedRules {
    allowed: Vec<(Direction, Arc<Allowed>)>,
    problems: Vec<(&'static str, String)>,
}

/// Evaluates the rules of each of a policy's `sides` for a policy of namespace `own`; and
/// whether the result depends on `own` (a peer without namespaceSelector selects pods of the
/// policy's own namespace).
fn evaluate_rules(
    sides: &[(Direction, &Rules)],
    own: u32,
    index: &LabelIndex,
    intern: &mut dyn FnMut(&str) -> u32,
    allowed_set: &mut HashSet<Arc<Allowed>>,
) -> (Arc<EvaluatedRules>, bool) {
    let mut out = EvaluatedRules::default();
    let mut uses_own = false;
    let problems = &mut out.problems;
    let mut problem = |check: &'static str, message: String| problems.push((check, message));
    for (dir, rules) in sides {
        let dir = *dir;
        for rule in rules.iter() {
            let (ports, named_ports, port_problems) = netpol::ports_of(rule.ports.as_deref());
            for p in port_problems {
                problem("invalid-port", p);
            }
            let peers = match dir {
                Direction::Ingress => rule.from.as_deref(),
                Direction::Egress => rule.to.as_deref(),
            };
            let named_ports: Box<[String]> = named_ports.into();
            let mut grant = |peer| {
                let allowed = Allowed {
                    peer,
                    ports: ports.clone(),
                    named_ports: named_ports.clone(),
                };
                (dir, shared_allowed(allowed_set, allowed))
            };
            match peers {
                None | Some([]) => out.allowed.push(grant(GrantPeer::Everything)),
                Some(list) => {
                    for peer in list {
                        let selectors =
                            peer.namespace_selector.is_some() || peer.pod_selector.is_some();
                        if let Some(block) = &peer.ip_block {
                            if selectors {
                                problem("invalid-peer", "a peer sets ipBlock together with a selector, which the API server rejects".into());
                            }
                            out.allowed.push(grant(GrantPeer::IpBlock {
                                cidr: block.cidr.clone(),
                                except: block.except.as_slice().into(),
                            }));
                            continue;
                        }
                        if !selectors {
                            problem("invalid-peer", format!("an empty {} peer `{{}}` is rejected by the API server (use `{}: []` or omit it to mean everything)", dir.as_str(), if dir == Direction::Ingress { "from" } else { "to" }));
                            continue;
                        }
                        let pods = peer.pod_selector.clone().filter(|s| !s.is_empty());
                        if let Some(s) = &peer.pod_selector {
                            for p in s.problems() {
                                problem("invalid-selector", format!("podSelector: {p}"));
                            }
                        }
                        let set = match &peer.namespace_selector {
                            None => {
                                uses_own = true;
                                NsSet::Only(vec![own])
                            }
                            Some(sel) => {
                                for p in sel.problems() {
                                    problem("invalid-selector", format!("namespaceSelector: {p}"));
                                }
                                for key in sel
                                    .match_labels
                                    .keys()
                                    .chain(sel.match_expressions.iter().map(|e| &e.key))
                                    .filter(|k| *k != NAME_LABEL)
                                {
                                    problem("tenant-settable-label", format!(
                                        "a namespaceSelector uses label `{key}`, which anyone who can label a namespace can set on their own; select namespaces by `{NAME_LABEL}` only"
                                    ));
                                }
                                index.select(sel, intern)
                            }
                        };
                        out.allowed.push(grant(GrantPeer::Namespaces { set, pods }));
                    }
                }
            }
        }
    }
    (Arc::new(out), uses_own)
}

/// The tree, evaluated.
#[derive(Debug)]
pub struct Model {
    pub tree: Tree,
    pub names: Vec<String>,
    pub ids: HashMap<String, u32>,
    /// The Namespace document of each id, if the tree has one.
    pub namespace_doc: Vec<Option<usize>>,
    pub net: Vec<NsNet>,
    /// Sidecars by namespace id, indices into `Tree::sidecars`.
    pub sidecars: HashMap<u32, Vec<usize>>,
    /// NetworkPolicies by namespace id, indices into `Tree::policies`.
    pub policies: HashMap<u32, Vec<usize>>,
    pub problems: Vec<Problem>,
}

/// A tree's model but for the tree itself (see [`Model::evaluate`]).
#[derive(Debug)]
pub struct Evaluated {
    names: Vec<String>,
    ids: HashMap<String, u32>,
    namespace_doc: Vec<Option<usize>>,
    net: Vec<NsNet>,
    sidecars: HashMap<u32, Vec<usize>>,
    policies: HashMap<u32, Vec<usize>>,
    problems: Vec<Problem>,
}

impl Evaluated {
    /// The model of `tree`, which this was evaluated from.
    pub fn with(self, tree: Tree) -> Model {
        Model {
            tree,
            names: self.names,
            ids: self.ids,
            namespace_doc: self.namespace_doc,
            net: self.net,
            sidecars: self.sidecars,
            policies: self.policies,
            problems: self.problems,
        }
    }
}

impl Model {
    /// Evaluates `tree`; `known` are namespaces to give ids up front (those of tenants.toml and
    /// the platform), so that messages and lookups can name them even if the tree does not.
    pub fn build(mut tree: Tree, known: &[String]) -> Self {
        let parts = Self::evaluate(&tree.namespaces, &mut tree.policies, &tree.sidecars, known);
        parts.with(tree)
    }

    /// What [`Model::build`] makes of a tree's Namespaces, NetworkPolicies (whose rules it takes:
    /// they become grants) and Sidecars: the model but for the tree itself. The tree's other
    /// objects are free meanwhile (the access layer reads them on another thread).
    pub fn evaluate(
        namespaces: &[Box<NamespaceDoc>],
        policies: &mut [Box<Policy>],
        sidecars: &[Box<Sidecar>],
        known: &[String],
    ) -> Evaluated {
        let mut names = vec!["(a namespace outside the tree and tenants.toml)".to_owned()];
        let mut ids: HashMap<String, u32> = HashMap::default();
        let mut namespace_doc: Vec<Option<usize>> = vec![None];
        let mut problems = Vec::new();
        let mut index = LabelIndex::default();
        for (i, doc) in namespaces.iter().enumerate() {
            let id = intern(&mut names, &mut ids, &doc.origin.name);
            namespace_doc.resize(names.len(), None);
            if let Some(first) = namespace_doc[id as usize] {
                problems.push(Problem {
                    origin: doc.origin.clone(),
                    check: "duplicate-namespace",
                    message: format!(
                        "namespace {} is defined twice ({} and {})",
                        doc.origin.name, namespaces[first].origin.file, doc.origin.file
                    ),
                });
                continue;
            }
            namespace_doc[id as usize] = Some(i);
            index.add(id, &doc.labels);
        }
        for n in known {
            intern(&mut names, &mut ids, n);
        }

        let mut net: Vec<NsNet> = Vec::new();
        let mut policies_by_ns: HashMap<u32, Vec<usize>> = HashMap::default();
        let mut allowed_set: HashSet<Arc<Allowed>> = HashSet::default();
        let mut evaluated_rules: HashMap<RulesKey, Arc<EvaluatedRules>> = HashMap::default();
        let mut kept_rules: Vec<Rules> = Vec::new();
        let no_rules: Rules = Arc::from(Vec::new());
        for (pi, policy) in policies.iter_mut().enumerate() {
            // The rules become grants below; the raw rules are not kept.
            let policy_id = u32::try_from(pi).unwrap_or(u32::MAX);
            let ingress_rules = policy.ingress.take();
            let egress_rules = policy.egress.take();
            let policy = &*policy;
            let Some(ns) = policy.namespace.as_deref() else {
                problems.push(Problem {
                    origin: policy.origin.clone(),
                    check: "no-namespace",
                    message: format!(
                        "NetworkPolicy {} has no metadata.namespace, so nobody can tell which namespace it protects ({})",
                        policy.origin.name, policy.origin
                    ),
                });
                continue;
            };
            let own = intern(&mut names, &mut ids, ns);
            policies_by_ns.entry(own).or_default().push(pi);
            let targets_all = policy.pod_selector.is_empty();
            let mut problem = |check: &'static str, message: String| {
                problems.push(Problem {
                    origin: policy.origin.clone(),
                    check,
                    message: format!("{message} ({})", policy.origin),
                });
            };
            for p in policy.pod_selector.problems() {
                problem("invalid-selector", format!("podSelector: {p}"));
            }
            let has_egress = egress_rules.as_ref().is_some_and(|e| !e.is_empty());
            let (ingress, egress) = netpol::policy_directions(policy.policy_types, has_egress);
            for u in &policy.unknown_policy_types {
                problem("invalid-policy", format!("unknown policy type `{u}`"));
            }
            let mut sides: Vec<(Direction, &Rules)> = Vec::new();
            if ingress {
                sides.push((
                    Direction::Ingress,
                    ingress_rules.as_ref().unwrap_or(&no_rules),
                ));
            }
            if egress {
                sides.push((
                    Direction::Egress,
                    egress_rules.as_ref().unwrap_or(&no_rules),
                ));
            }
            // Rules that other policies share (the same text read once) allow the same for
            // each of them unless they select pods of the policy's own namespace: the first
            // evaluation serves the others, and keeps the rules alive so that no other rules
            // can take their address.
            let shared = sides.iter().all(|(_, r)| Arc::strong_count(r) > 1);
            let side_key = |d: Direction| {
                sides
                    .iter()
                    .find(|(x, _)| *x == d)
                    .map_or(0, |(_, r)| Arc::as_ptr(r).cast::<Rule>() as usize)
            };
            let key: RulesKey = (side_key(Direction::Ingress), side_key(Direction::Egress));
            let evaluated = match evaluated_rules.get(&key) {
                Some(e) if shared => e.clone(),
                _ => {
                    let mut intern_name = |n: &str| intern(&mut names, &mut ids, n);
                    let (e, uses_own) =
                        evaluate_rules(&sides, own, &index, &mut intern_name, &mut allowed_set);
                    if shared && !uses_own {
                        kept_rules.extend(sides.iter().map(|(_, r)| Arc::clone(r)));
                        evaluated_rules.insert(key, e.clone());
                    }
                    e
                }
            };
            for (check, message) in &evaluated.problems {
                problem(check, message.clone());
            }
            let new_grants = evaluated.allowed.iter().map(|(dir, allowed)| {
                (
                    *dir,
                    Grant {
                        policy: policy_id,
                        targets_all,
                        allowed: allowed.clone(),
                    },
                )
            });
            if net.len() < names.len() {
                net.resize_with(names.len(), NsNet::default);
            }
            let entry = &mut net[own as usize];
            for (dir, isolates) in [(Direction::Ingress, ingress), (Direction::Egress, egress)] {
                if !isolates {
                    continue;
                }
                let side = match dir {
                    Direction::Ingress => &mut entry.ingress,
                    Direction::Egress => &mut entry.egress,
                };
                if targets_all {
                    side.isolating_all.push(pi);
                } else {
                    side.isolating_some.push(pi);
                }
            }
            for (dir, g) in new_grants {
                match dir {
                    Direction::Ingress => entry.ingress.grants.push(g),
                    Direction::Egress => entry.egress.grants.push(g),
                }
            }
        }
        let mut sidecars_by_ns: HashMap<u32, Vec<usize>> = HashMap::default();
        for (si, sc) in sidecars.iter().enumerate() {
            let Some(ns) = sc.namespace.as_deref() else {
                problems.push(Problem {
                    origin: sc.origin.clone(),
                    check: "no-namespace",
                    message: format!(
                        "Sidecar {} has no metadata.namespace ({})",
                        sc.origin.name, sc.origin
                    ),
                });
                continue;
            };
            let id = intern(&mut names, &mut ids, ns);
            sidecars_by_ns.entry(id).or_default().push(si);
        }
        net.resize_with(names.len(), NsNet::default);
        // Held until the comparison ends, for every namespace: no spare capacity.
        for side in net.iter_mut().flat_map(|n| [&mut n.ingress, &mut n.egress]) {
            side.grants.shrink_to_fit();
            side.isolating_all.shrink_to_fit();
            side.isolating_some.shrink_to_fit();
        }
        for list in policies_by_ns
            .values_mut()
            .chain(sidecars_by_ns.values_mut())
        {
            list.shrink_to_fit();
        }
        namespace_doc.resize(names.len(), None);
        problems.sort();
        problems.dedup();
        Evaluated {
            names,
            ids,
            namespace_doc,
            net,
            sidecars: sidecars_by_ns,
            policies: policies_by_ns,
            problems,
        }
    }

    pub fn id(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }

    pub fn net_of(&self, id: u32) -> &NsNet {
        &self.net[id as usize]
    }

    pub fn in_tree(&self, id: u32) -> bool {
        self.namespace_doc[id as usize].is_some()
    }

    /// The ports on which `dir` of namespace `ns` lets `peer`'s pods through (any pods on
    /// either side), and the grants that do. Everything when `ns` is not isolated.
    pub fn allowed(&self, ns: u32, dir: Direction, peer: u32) -> (PortSet, Vec<&Grant>) {
        let side = self.net_of(ns).side(dir);
        if side.isolating_all.is_empty() && side.isolating_some.is_empty() {
            return (PortSet::all(), Vec::new());
        }
        let mut ports = if side.isolating_all.is_empty() {
            PortSet::all()
        } else {
            PortSet::none()
        };
        let mut grants = Vec::new();
        for g in &side.grants {
            let hit = match &g.allowed.peer {
                GrantPeer::Everything => true,
                GrantPeer::Namespaces { set, .. } => set.contains(peer),
                GrantPeer::IpBlock { .. } => false,
            };
            if hit {
                ports.union_with(&g.allowed.ports);
                grants.push(g);
            }
        }
        (ports, grants)
    }

    /// The selector-less Sidecars of a namespace, and whether they come from the root namespace.
    pub fn effective_sidecars(&self, ns: u32, root: Option<&str>) -> (Vec<usize>, bool) {
        let own: Vec<usize> = self
            .sidecars
            .get(&ns)
            .into_iter()
            .flatten()
            .copied()
            .filter(|i| !self.tree.sidecars[*i].has_workload_selector)
            .collect();
        if !own.is_empty() {
            return (own, false);
        }
        let root_id = root.and_then(|r| self.id(r));
        match root_id {
            Some(r) if r != ns => {
                let rooted: Vec<usize> = self
                    .sidecars
                    .get(&r)
                    .into_iter()
                    .flatten()
                    .copied()
                    .filter(|i| !self.tree.sidecars[*i].has_workload_selector)
                    .collect();
                let found = !rooted.is_empty();
                (rooted, found)
            }
            _ => (Vec::new(), false),
        }
    }

    /// The scope of a Sidecar applied to namespace `applied` and the hosts it could not parse.
    /// `.` is the workload's namespace: for the root namespace's default Sidecar, that is the
    /// namespace it applies to, not the root namespace.
    pub fn scope_of(&self, sidecar: usize, applied: &str) -> (Scope, Vec<String>) {
        let sc = &self.tree.sidecars[sidecar];
        let own = applied;
        let mut bad = Vec::new();
        let mut hosts: Vec<Host> = Vec::new();
        for h in sc.hosts.iter() {
            match sidecar::parse_host(h, own) {
                Ok(host) => hosts.push(host),
                Err(e) => bad.push(e),
            }
        }
        (Scope::from_hosts(hosts), bad)
    }

    /// The files holding the NetworkPolicies of a namespace, as the objects of a finding about
    /// what none of them allows.
    pub fn policy_files(&self, ns: u32) -> Vec<Origin> {
        let mut files: Vec<std::sync::Arc<str>> = self
            .policies
            .get(&ns)
            .into_iter()
            .flatten()
            .map(|i| self.tree.policies[*i].origin.file.clone())
            .collect();
        files.sort();
        files.dedup();
        files
            .into_iter()
            .map(|file| Origin {
                file,
                kind: "NetworkPolicy",
                name: "(every policy)".into(),
            })
            .collect()
    }
}

fn intern(names: &mut Vec<String>, ids: &mut HashMap<String, u32>, n: &str) -> u32 {
    if let Some(id) = ids.get(n) {
        return *id;
    }
    let id = u32::try_from(names.len()).unwrap_or(u32::MAX);
    names.push(n.to_owned());
    ids.insert(n.to_owned(), id);
    id
}

/// Labels of namespaces known only by name (outside the tree): the API server's name label.
pub fn name_labels(name: &str) -> BTreeMap<String, String> {
    [(NAME_LABEL.to_owned(), name.to_owned())]
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(ns: &str, name: &str) -> String {
        format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  podSelector: {{}}\n  ingress:\n  - from:\n    - namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: ingress}}}}\n    - podSelector: {{}}\n    ports:\n    - port: 8080\n"
        )
    }

    #[test]
    fn grants_that_allow_the_same_share_one_copy() {
        let mut tree = Tree::default();
        let text = [policy("a", "p"), policy("b", "p")].join("---\n");
        crate::verify::tree::parse_file(&text, "f.yaml", &mut tree).unwrap();
        let model = Model::build(tree, &[]);
        let grants = |ns: &str| &model.net_of(model.id(ns).unwrap()).ingress.grants;
        let (a, b) = (grants("a"), grants("b"));
        assert_eq!((a.len(), b.len()), (2, 2));
        assert_eq!((a[0].policy, b[0].policy), (0, 1));
        // The namespaceSelector peer allows the same in both namespaces: one copy.
        assert!(Arc::ptr_eq(&a[0].allowed, &b[0].allowed));
        // A podSelector peer alone means the policy's own namespace: a copy each.
        assert!(!Arc::ptr_eq(&a[1].allowed, &b[1].allowed));
        assert!(a[1].allowed.peer != b[1].allowed.peer);
        assert!(model
            .allowed(
                model.id("a").unwrap(),
                Direction::Ingress,
                model.id("a").unwrap()
            )
            .0
            .contains(netpol::Protocol::Tcp, 8080));
    }

    #[test]
    fn shared_rules_evaluated_once_still_give_each_policy_its_grants_and_problems() {
        let spec = "spec:\n  podSelector: {}\n  egress:\n  - to:\n    - namespaceSelector: {matchLabels: {team: x}}\n    ports:\n    - port: 0\n";
        let doc = |ns: &str| {
            format!("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: p-{ns}, namespace: {ns}}}\n{spec}")
        };
        let mut tree = Tree::default();
        let text = [doc("a"), doc("b"), doc("c")].join("---\n");
        crate::verify::tree::parse_file(&text, "f.yaml", &mut tree).unwrap();
        // One rules object for the three policies (the same text).
        let rules = |i: usize| tree.policies[i].egress.clone().unwrap();
        assert!(Arc::ptr_eq(&rules(0), &rules(2)));
        let model = Model::build(tree, &[]);
        for (i, ns) in ["a", "b", "c"].into_iter().enumerate() {
            let grants = &model.net_of(model.id(ns).unwrap()).egress.grants;
            assert_eq!(grants.len(), 1, "{ns}");
            assert_eq!(grants[0].policy, i as u32);
            assert!(Arc::ptr_eq(
                &grants[0].allowed,
                &model.net_of(model.id("a").unwrap()).egress.grants[0].allowed
            ));
        }
        // Each policy's problems, named by its own origin.
        for check in ["tenant-settable-label", "invalid-port"] {
            let names: Vec<&str> = model
                .problems
                .iter()
                .filter(|p| p.check == check)
                .map(|p| p.origin.name.as_str())
                .collect();
            assert_eq!(names, ["p-a", "p-b", "p-c"], "{check}");
        }
    }
}
