//! The comparison: the tree's evaluated NetworkPolicies and Sidecars against the intent of
//! tenants.toml, per namespace and direction, then across the two layers. Only differences are
//! enumerated, so a correct tree of any size costs one pass over its grants and expectations.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::netpol::{NsSet, PortSet, Protocol};
use super::reach::{Direction, GrantPeer, Model, OTHER};
use super::sidecar::{host_text, parse_host, Host, Scope};
use super::tree::{Origin, Selector, Text};
use super::{Finding, MeshScope, ScopeRow, Severity};
use crate::intent::{Intent, NamespaceIntent, Role};
use crate::model::NamespaceName;
use crate::resolve::{LABEL_DATAPLANE_MODE, LABEL_INJECTION, LABEL_REVISION};

/// Why tenants.toml allows a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    SameOwner,
    /// A tenant namespace calls a shared namespace it consumes.
    Consumes,
    /// A consumer's namespace calls this shared namespace.
    Consumer,
    /// A namespace calls another tenant's exposed namespace.
    CallsExposed,
    /// A consumer's namespace calls this exposed namespace.
    ExposedTo,
    Dns,
    Mesh,
    Ingress,
    Monitoring,
}

/// One flow tenants.toml allows, seen from one namespace in one direction.
#[derive(Clone, Debug)]
pub struct Expect {
    pub peer: u32,
    /// The peer's pods, when tenants.toml names them (platform flows); `None`: every pod.
    pub pods: Option<BTreeMap<String, String>>,
    pub ports: PortSet,
    pub why: Why,
}

/// Every namespace tenants.toml names: its own and the platform's.
pub fn known_namespaces(intent: &Intent) -> Vec<String> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    for ns in intent.namespaces.values() {
        out.insert(ns.name.to_string());
        out.insert(ns.dns.namespace.to_string());
        if let Some(i) = &ns.ingress_controller {
            out.insert(i.namespace.to_string());
        }
        if let Some(m) = &ns.monitoring {
            out.insert(m.namespace.to_string());
        }
        if let Some(m) = &ns.mesh {
            out.insert(m.namespace.to_string());
        }
    }
    out.into_iter().collect()
}

fn pod_labels(l: &crate::model::Labels) -> Option<BTreeMap<String, String>> {
    (!l.is_empty()).then(|| {
        l.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    })
}

/// What tenants.toml allows namespace `ns` in direction `dir`, sorted by peer.
pub fn expectations(model: &Model, ns: &NamespaceIntent, dir: Direction) -> Vec<Expect> {
    // A retired namespace may do nothing at all, not even DNS.
    if ns.role == Role::Retired {
        return Vec::new();
    }
    let id = |n: &str| model.id(n).unwrap_or(OTHER);
    let all = |peer: &crate::model::NamespaceName, why| Expect {
        peer: id(peer.as_str()),
        pods: None,
        ports: PortSet::all(),
        why,
    };
    // Ambient mode tunnels port-restricted flows to the HBONE port as well.
    let tcp = |ports: &BTreeSet<crate::model::Port>| {
        if ports.is_empty() {
            return PortSet::all();
        }
        let ports = match &ns.mesh {
            Some(m) => m.network_ports(ports),
            None => ports.clone(),
        };
        PortSet::tcp(ports.iter().map(|p| p.get()))
    };
    let mut out: Vec<Expect> = ns
        .same_owner
        .iter()
        .map(|p| all(p, Why::SameOwner))
        .collect();
    match dir {
        Direction::Egress => {
            out.extend(ns.calls.iter().map(|c| Expect {
                peer: id(c.namespace.as_str()),
                pods: None,
                ports: tcp(&c.ports),
                why: match c.rule {
                    crate::intent::Rule::Exposed { .. } => Why::CallsExposed,
                    _ => Why::Consumes,
                },
            }));
            let mut dns = PortSet::none();
            for p in &ns.dns.ports {
                dns.add(Protocol::Udp, p.get(), p.get());
                dns.add(Protocol::Tcp, p.get(), p.get());
            }
            out.push(Expect {
                peer: id(ns.dns.namespace.as_str()),
                pods: pod_labels(&ns.dns.pod_labels),
                ports: dns,
                why: Why::Dns,
            });
            if let Some(m) = ns.mesh.as_ref().filter(|m| !m.ambient) {
                out.push(Expect {
                    peer: id(m.namespace.as_str()),
                    pods: pod_labels(&m.pod_labels),
                    ports: PortSet::single(Protocol::Tcp, m.xds_port.get()),
                    why: Why::Mesh,
                });
            }
        }
        Direction::Ingress => {
            let why = match ns.role {
                Role::Shared => Why::Consumer,
                Role::Tenant | Role::Retired => Why::ExposedTo,
            };
            let ports = tcp(&ns.consumer_ports);
            out.extend(ns.consumers.iter().map(|p| Expect {
                peer: id(p.as_str()),
                pods: None,
                ports: ports.clone(),
                why,
            }));
            if let Some(i) = &ns.ingress_controller {
                out.push(Expect {
                    peer: id(i.namespace.as_str()),
                    pods: pod_labels(&i.pod_labels),
                    ports: PortSet::all(),
                    why: Why::Ingress,
                });
            }
            if let Some(m) = &ns.monitoring {
                let ports = tcp(&m.ports);
                out.push(Expect {
                    peer: id(m.namespace.as_str()),
                    pods: pod_labels(&m.pod_labels),
                    ports,
                    why: Why::Monitoring,
                });
            }
        }
    }
    out.sort_by_key(|e| e.peer);
    out
}

/// The reason in tenants.toml's terms, for `from -> to`.
pub fn why_text(intent: &Intent, from: &str, to: &str, why: Why) -> String {
    let tenant_of =
        |n: &str| intent_of(intent, n).and_then(|v| v.tenant.as_ref().map(ToString::to_string));
    match why {
        Why::SameOwner => match tenant_of(from) {
            Some(t) if from != to => format!("both belong to tenant {t}"),
            Some(_) => "a namespace reaches itself".into(),
            None => "a shared namespace reaches itself".into(),
        },
        Why::Consumes | Why::Consumer => {
            let (caller, shared) = (from, to);
            format!(
                "tenant {} consumes shared {shared}",
                tenant_of(caller).unwrap_or_else(|| caller.to_owned())
            )
        }
        Why::CallsExposed | Why::ExposedTo => format!(
            "tenant {} consumes {to}, exposed by tenant {}",
            tenant_of(from).unwrap_or_else(|| from.to_owned()),
            tenant_of(to).unwrap_or_else(|| to.to_owned())
        ),
        Why::Dns => "DNS".into(),
        Why::Mesh => "istiod, the mesh control plane".into(),
        Why::Ingress => "the ingress controller".into(),
        Why::Monitoring => "monitoring".into(),
    }
}

#[derive(Default)]
struct OverSide {
    ports: PortSet,
    named: BTreeSet<String>,
    objects: BTreeSet<Origin>,
    pods: Option<String>,
}

#[derive(Default)]
struct UnderSide {
    ports: PortSet,
    why: String,
    pods: Option<String>,
    /// Policies that would allow it, but only for some pods of the namespace.
    partial: BTreeSet<String>,
}

#[derive(Default)]
struct Pair<T> {
    egress: Option<T>,
    ingress: Option<T>,
}

/// A violation found by another module of verify.
pub fn finding_from(check: &'static str, message: String, objects: Vec<Origin>) -> Finding {
    finding(check, message, objects)
}

fn finding(check: &'static str, message: String, objects: Vec<Origin>) -> Finding {
    Finding {
        severity: Severity::Violation,
        check,
        message,
        from: None,
        to: None,
        ports: Vec::new(),
        objects,
    }
}

fn with_objects(message: &str, objects: &[Origin]) -> String {
    if objects.is_empty() {
        return message.to_owned();
    }
    let list: Vec<String> = objects.iter().map(ToString::to_string).collect();
    format!("{message} ({})", list.join("; "))
}

/// Whether the grant's peer pods stay within the pods tenants.toml names.
fn pods_within(expected: Option<&BTreeMap<String, String>>, grant: Option<&Selector>) -> bool {
    match expected {
        None => true,
        Some(l) => grant.is_some_and(|s| s.within(l)),
    }
}

/// Whether the grant's peer pods include all the pods tenants.toml names.
pub fn pods_cover(grant: Option<&Selector>, expected: Option<&BTreeMap<String, String>>) -> bool {
    match (grant, expected) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(s), Some(l)) => s.matches(l),
    }
}

pub fn check(model: &Model, intent: &Intent) -> Vec<Finding> {
    let mut findings: Vec<Finding> = model
        .problems
        .iter()
        .map(|p| finding(p.check, p.message.clone(), vec![p.origin.clone()]))
        .collect();
    namespaces(model, intent, &mut findings);
    // What each namespace may reach outside the cluster, for the ipBlocks and the ServiceEntries.
    let outside: HashMap<&str, Vec<super::outside::Outside>> = intent
        .namespaces
        .iter()
        .map(|(name, ns)| (name.as_str(), super::outside::expected(ns)))
        .collect();
    let mut over: BTreeMap<(String, String), Pair<OverSide>> = BTreeMap::new();
    let mut under: BTreeMap<(String, String), Pair<UnderSide>> = BTreeMap::new();
    for (name, ns) in &intent.namespaces {
        let Some(id) = model.id(name.as_str()) else {
            continue;
        };
        for dir in [Direction::Ingress, Direction::Egress] {
            compare_side(
                model,
                intent,
                ns,
                id,
                dir,
                &mut over,
                &mut under,
                &mut findings,
            );
        }
        let expected = outside.get(name.as_str()).map_or(&[][..], Vec::as_slice);
        super::outside::compare(model, ns, id, expected, &mut findings);
        if let Some(mesh) = ns.mesh.as_ref().filter(|m| !m.ambient) {
            sidecars(model, ns, id, mesh, &mut findings);
        }
    }
    super::outside::service_entries(model, intent, &outside, &mut findings);
    super::authz::check(model, intent, &mut findings);
    super::ambient::check(model, intent, &mut findings);
    report_over(model, over, &mut findings);
    report_under(model, under, &mut findings);
    foreign_objects(model, intent, &mut findings);
    findings.sort_by(|a, b| {
        (a.severity, &a.from, &a.to, &a.message).cmp(&(b.severity, &b.from, &b.to, &b.message))
    });
    findings.dedup();
    findings
}

fn namespaces(model: &Model, intent: &Intent, findings: &mut Vec<Finding>) {
    for (name, ns) in &intent.namespaces {
        let owner = match &ns.tenant {
            Some(t) => format!("tenant {t}"),
            None => "shared".into(),
        };
        let doc = model
            .id(name.as_str())
            .and_then(|id| model.namespace_doc[id as usize]);
        let Some(doc) = doc.map(|i| &model.tree.namespaces[i]) else {
            findings.push(finding(
                "missing-namespace",
                format!("namespace {name} ({owner}) is in tenants.toml but the tree has no Namespace document for it"),
                Vec::new(),
            ));
            continue;
        };
        for key in [LABEL_INJECTION, LABEL_REVISION, LABEL_DATAPLANE_MODE] {
            if let Some(want) = ns.labels.get(key) {
                if doc.labels.get(key).map(Text::as_str) != Some(&**want) {
                    findings.push(finding(
                        "missing-injection-label",
                        with_objects(
                            &format!("namespace {name} lacks the label `{key}: {want}`, so its pods get no sidecar and the mesh does not apply to them"),
                            std::slice::from_ref(&doc.origin),
                        ),
                        vec![doc.origin.clone()],
                    ));
                }
            }
        }
    }
    for doc in &model.tree.namespaces {
        if intent_of(intent, &doc.origin.name).is_none() {
            findings.push(finding(
                "unknown-namespace",
                with_objects(
                    &format!(
                        "namespace {} is in the tree but not in tenants.toml",
                        doc.origin.name
                    ),
                    std::slice::from_ref(&doc.origin),
                ),
                vec![doc.origin.clone()],
            ));
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn compare_side(
    model: &Model,
    intent: &Intent,
    ns: &NamespaceIntent,
    id: u32,
    dir: Direction,
    over: &mut BTreeMap<(String, String), Pair<OverSide>>,
    under: &mut BTreeMap<(String, String), Pair<UnderSide>>,
    findings: &mut Vec<Finding>,
) {
    let name = ns.name.as_str();
    let side = model.net_of(id).side(dir);
    if side.isolating_all.is_empty() {
        let partial: Vec<Origin> = side
            .isolating_some
            .iter()
            .map(|i| model.tree.policies[*i].origin.clone())
            .collect();
        let (what, anyone) = match dir {
            Direction::Ingress => ("ingress", "accept traffic from anywhere"),
            Direction::Egress => ("egress", "may send traffic anywhere"),
        };
        let mut f = finding(
            "missing-default-deny",
            with_objects(
                &format!(
                    "namespace {name} has no default deny for {what}: no NetworkPolicy that selects every pod has policyType {}, so {} its pods {anyone}",
                    if dir == Direction::Ingress { "Ingress" } else { "Egress" },
                    if partial.is_empty() { "all" } else { "some of" },
                ),
                &partial,
            ),
            partial.clone(),
        );
        f.from = Some(name.to_owned());
        findings.push(f);
        return;
    }
    let pure_deny = side.isolating_all.iter().any(|i| {
        let p = &model.tree.policies[*i];
        let rules = match dir {
            Direction::Ingress => p.ingress_rules,
            Direction::Egress => p.egress_rules,
        };
        rules == 0
    });
    if !pure_deny {
        let by: Vec<Origin> = side
            .isolating_all
            .iter()
            .map(|i| model.tree.policies[*i].origin.clone())
            .collect();
        let mut f = finding(
            "no-explicit-default-deny",
            with_objects(
                &format!(
                    "namespace {name} has no default-deny NetworkPolicy for {} (every pod, policyType {}, no rule); it is isolated only as a side effect of the allow policies, and stops being isolated if they change",
                    dir.as_str(),
                    if dir == Direction::Ingress { "Ingress" } else { "Egress" }
                ),
                &by,
            ),
            by.clone(),
        );
        f.severity = Severity::Warning;
        f.from = Some(name.to_owned());
        findings.push(f);
    }
    let expects = expectations(model, ns, dir);
    let of_peer = |p: u32| {
        let start = expects.partition_point(|e| e.peer < p);
        let end = expects.partition_point(|e| e.peer <= p);
        &expects[start..end]
    };
    let pair_of = |p: &str| match dir {
        Direction::Egress => (name.to_owned(), p.to_owned()),
        Direction::Ingress => (p.to_owned(), name.to_owned()),
    };
    for g in &side.grants {
        let origin = &model.tree.policies[g.policy].origin;
        let arrow = |other: &str| match dir {
            Direction::Egress => format!("{name} -> {other}"),
            Direction::Ingress => format!("{other} -> {name}"),
        };
        let mut grant_finding = |check, what: String| {
            let mut f = finding(
                check,
                with_objects(
                    &if ns.role == Role::Retired {
                        format!(
                            "{} {} is allowed but {name} is retired: tenants.toml allows it no {} at all",
                            arrow(&what),
                            ports_text(&g.ports),
                            dir.as_str(),
                        )
                    } else {
                        format!(
                            "{} {} is allowed but tenants.toml allows {} only {}",
                            arrow(&what),
                            ports_text(&g.ports),
                            dir.as_str(),
                            intended_peers(model, &expects, dir)
                        )
                    },
                    std::slice::from_ref(origin),
                ),
                vec![origin.clone()],
            );
            f.ports = g.ports.to_strings();
            f.from = Some(name.to_owned());
            findings.push(f);
        };
        match &g.peer {
            GrantPeer::Everything => grant_finding(
                "over-allow",
                "every namespace and every IP address".to_owned(),
            ),
            // Out of the cluster: compared address by address in `outside`.
            GrantPeer::IpBlock { .. } if dir == Direction::Egress => {}
            // The kubelet's probes in ambient mode: checked in `ambient`.
            GrantPeer::IpBlock { cidr, except }
                if super::ambient::is_probe_grant(ns, cidr, except) => {}
            GrantPeer::IpBlock { cidr, except } => grant_finding(
                "over-allow",
                if except.is_empty() {
                    format!("IP block {cidr}")
                } else {
                    format!("IP block {cidr} except {}", except.join(", "))
                },
            ),
            GrantPeer::Namespaces {
                set: NsSet::AllExcept(ex),
                pods,
            } => {
                let named: Vec<&str> = ex.iter().take(5).map(|i| model.name(*i)).collect();
                let mut what = if ex.is_empty() {
                    "every namespace".to_owned()
                } else {
                    format!(
                        "every namespace except {}{}",
                        named.join(", "),
                        if ex.len() > 5 { ", ..." } else { "" }
                    )
                };
                if let Some(p) = pods {
                    what.push_str(&format!(" (pods {})", p.describe()));
                }
                grant_finding("over-allow", what);
            }
            GrantPeer::Namespaces {
                set: NsSet::Only(ids),
                pods,
            } => {
                for &p in ids {
                    let es = of_peer(p);
                    let mut covered = PortSet::none();
                    for e in es {
                        if pods_within(e.pods.as_ref(), pods.as_ref()) {
                            covered.union_with(&e.ports);
                        }
                    }
                    let excess = g.ports.minus(&covered);
                    let named: Vec<String> = if es.is_empty() {
                        g.named_ports.clone()
                    } else {
                        Vec::new()
                    };
                    if !es.is_empty() && !g.named_ports.is_empty() {
                        let mut f = finding(
                            "named-port",
                            with_objects(
                                &format!(
                                    "{} uses named port(s) {}: tenantc cannot tell which port numbers they match, so it cannot check them",
                                    arrow(model.name(p)),
                                    g.named_ports.join(", ")
                                ),
                                std::slice::from_ref(origin),
                            ),
                            vec![origin.clone()],
                        );
                        f.severity = Severity::Warning;
                        findings.push(f);
                    }
                    if excess.is_empty() && named.is_empty() {
                        continue;
                    }
                    let pods_text = match pods {
                        Some(s) => Some(format!("pods {}", s.describe())),
                        None if es.iter().any(|e| e.pods.is_some()) => Some("every pod".into()),
                        None => None,
                    };
                    let pair = over.entry(pair_of(model.name(p))).or_default();
                    let slot = match dir {
                        Direction::Egress => &mut pair.egress,
                        Direction::Ingress => &mut pair.ingress,
                    };
                    let s = slot.get_or_insert_with(OverSide::default);
                    s.ports.union_with(&excess);
                    s.named.extend(named);
                    s.objects.insert(origin.clone());
                    if pods_text.is_some() {
                        s.pods = pods_text;
                    }
                }
            }
        }
    }
    for e in &expects {
        let mut covered = PortSet::none();
        for g in side.grants.iter().filter(|g| g.targets_all) {
            match &g.peer {
                GrantPeer::Everything => covered.union_with(&g.ports),
                GrantPeer::Namespaces { set, pods }
                    if set.contains(e.peer) && pods_cover(pods.as_ref(), e.pods.as_ref()) =>
                {
                    covered.union_with(&g.ports);
                }
                _ => {}
            }
        }
        // A missing HBONE port is reported by `ambient`, in its own words.
        let missing = super::ambient::without_hbone(ns, e.ports.minus(&covered));
        if missing.is_empty() {
            continue;
        }
        let partial: BTreeSet<String> = side
            .grants
            .iter()
            .filter(|g| !g.targets_all && !g.ports.intersect(&missing).is_empty())
            .filter(|g| match &g.peer {
                GrantPeer::Everything => true,
                GrantPeer::Namespaces { set, pods } => {
                    set.contains(e.peer) && pods_cover(pods.as_ref(), e.pods.as_ref())
                }
                GrantPeer::IpBlock { .. } => false,
            })
            .map(|g| {
                let p = &model.tree.policies[g.policy];
                format!(
                    "{} applies only to its pods {}",
                    p.origin.name,
                    p.pod_selector.describe()
                )
            })
            .collect();
        let peer = model.name(e.peer);
        let (from, to) = pair_of(peer);
        let why = why_text(intent, &from, &to, e.why);
        let pair = under.entry((from, to)).or_default();
        let slot = match dir {
            Direction::Egress => &mut pair.egress,
            Direction::Ingress => &mut pair.ingress,
        };
        let s = slot.get_or_insert_with(UnderSide::default);
        s.ports.union_with(&missing);
        s.partial.extend(partial);
        s.why = why;
        s.pods = e.pods.as_ref().map(|l| {
            format!(
                "pods {}",
                l.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        });
    }
}

/// `(every port)` or `TCP/53, UDP/53`.
pub fn ports_text(ports: &PortSet) -> String {
    if ports.is_all() {
        "(every port)".into()
    } else {
        ports.to_string()
    }
}

/// `from acme, acme-jobs and 3 more`, for messages about grants wider than the intent.
fn intended_peers(model: &Model, expects: &[Expect], dir: Direction) -> String {
    let mut names: Vec<&str> = expects.iter().map(|e| model.name(e.peer)).collect();
    names.dedup();
    let shown: Vec<&str> = names.iter().take(5).copied().collect();
    format!(
        "{} {}{}",
        if dir == Direction::Ingress {
            "from"
        } else {
            "to"
        },
        shown.join(", "),
        if names.len() > 5 {
            format!(" and {} more", names.len() - 5)
        } else {
            String::new()
        }
    )
}

fn target(to: &str, pods: Option<&String>) -> String {
    match pods {
        Some(p) => format!("{to} ({p})"),
        None => to.to_owned(),
    }
}

fn report_over(
    model: &Model,
    over: BTreeMap<(String, String), Pair<OverSide>>,
    findings: &mut Vec<Finding>,
) {
    let has_policies = |n: &str| {
        model
            .id(n)
            .is_some_and(|id| model.policies.contains_key(&id))
    };
    for ((from, to), pair) in over {
        let mut push = |ports: PortSet,
                        named: &BTreeSet<String>,
                        objects: Vec<Origin>,
                        pods: Option<&String>,
                        tail: String| {
            let mut port_list = if ports.is_empty() {
                Vec::new()
            } else {
                ports.to_strings()
            };
            port_list.extend(named.iter().map(|n| format!("{n} (named port)")));
            let shown = if ports.is_all() && named.is_empty() {
                "(every port)".to_owned()
            } else {
                port_list.join(", ")
            };
            let mut f = finding(
                "over-allow",
                with_objects(
                    &format!("{from} -> {} {shown} {tail}", target(&to, pods)),
                    &objects,
                ),
                objects,
            );
            f.from = Some(from.clone());
            f.to = Some(to.clone());
            f.ports = port_list;
            findings.push(f);
        };
        match (pair.egress, pair.ingress) {
            (Some(e), Some(i)) => {
                let ports = e.ports.intersect(&i.ports);
                let named: BTreeSet<String> = e.named.intersection(&i.named).cloned().collect();
                let objects: Vec<Origin> = e.objects.iter().chain(&i.objects).cloned().collect();
                push(
                    ports,
                    &named,
                    objects,
                    e.pods.as_ref(),
                    "is allowed but tenants.toml denies it".into(),
                );
            }
            (Some(e), None) => {
                let tail = if has_policies(&to) {
                    format!("is allowed by {from}'s egress policies but tenants.toml denies it ({to}'s ingress policies still block it)")
                } else {
                    format!("is allowed by {from}'s egress policies but tenants.toml denies it")
                };
                push(
                    e.ports,
                    &e.named,
                    e.objects.into_iter().collect(),
                    e.pods.as_ref(),
                    tail,
                );
            }
            (None, Some(i)) => {
                let tail = if has_policies(&from) {
                    format!("is allowed by {to}'s ingress policies but tenants.toml denies it ({from}'s egress policies still block it)")
                } else {
                    format!("is allowed by {to}'s ingress policies but tenants.toml denies it")
                };
                push(
                    i.ports,
                    &i.named,
                    i.objects.into_iter().collect(),
                    i.pods.as_ref(),
                    tail,
                );
            }
            (None, None) => {}
        }
    }
}

fn report_under(
    model: &Model,
    under: BTreeMap<(String, String), Pair<UnderSide>>,
    findings: &mut Vec<Finding>,
) {
    let files = |n: &str| -> Vec<Origin> {
        let Some(id) = model.id(n) else {
            return Vec::new();
        };
        model
            .policy_files(id)
            .into_iter()
            .map(|file| Origin {
                file: file.into(),
                kind: "NetworkPolicy",
                name: "(every policy)".into(),
            })
            .collect()
    };
    for ((from, to), pair) in under {
        let for_some = |s: &UnderSide| {
            if s.partial.is_empty() {
                String::new()
            } else {
                format!(
                    " for every pod ({})",
                    s.partial.iter().cloned().collect::<Vec<_>>().join("; ")
                )
            }
        };
        let (ports, why, pods, blocked, mut objects) = match (pair.egress, pair.ingress) {
            (Some(e), Some(i)) => {
                let mut ports = e.ports.clone();
                ports.union_with(&i.ports);
                let objects: Vec<Origin> = files(&from).into_iter().chain(files(&to)).collect();
                let blocked = format!(
                    "neither {from}'s egress{} nor {to}'s ingress policies{} allow it",
                    for_some(&e),
                    for_some(&i)
                );
                (ports, e.why, e.pods, blocked, objects)
            }
            (Some(e), None) => {
                let blocked = format!("{from}'s egress policies do not allow it{}", for_some(&e));
                (e.ports, e.why, e.pods, blocked, files(&from))
            }
            (None, Some(i)) => {
                let blocked = format!("{to}'s ingress policies do not allow it{}", for_some(&i));
                (i.ports, i.why, i.pods, blocked, files(&to))
            }
            (None, None) => continue,
        };
        objects.dedup();
        let where_ = if objects.is_empty() {
            " (no NetworkPolicy in the tree)".to_owned()
        } else {
            format!(
                " ({})",
                objects
                    .iter()
                    .map(|o| o.file.clone())
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        };
        let mut f = finding(
            "under-allow",
            format!(
                "{from} -> {} {} is allowed by tenants.toml ({why}) but blocked: {blocked}{where_}",
                target(&to, pods.as_ref()),
                ports_text(&ports)
            ),
            objects,
        );
        f.from = Some(from);
        f.to = Some(to);
        f.ports = ports.to_strings();
        findings.push(f);
    }
}

fn sidecars(
    model: &Model,
    ns: &NamespaceIntent,
    id: u32,
    mesh: &crate::intent::MeshIntent,
    findings: &mut Vec<Finding>,
) {
    let name = ns.name.as_str();
    let (effective, _from_root) = model.effective_sidecars(id, Some(mesh.namespace.as_str()));
    let expected = Scope::from_hosts(mesh.hosts.iter().filter_map(|h| parse_host(h, name).ok()));
    let np_reaches = |m: &str| {
        model
            .id(m)
            .is_some_and(|mid| !model.allowed(id, Direction::Egress, mid).0.is_empty())
    };
    let mut push = |check, message: String, objects: Vec<Origin>, to: Option<String>| {
        let mut f = finding(check, with_objects(&message, &objects), objects);
        f.from = Some(name.to_owned());
        f.to = to;
        findings.push(f);
    };
    if effective.is_empty() {
        push(
            "missing-sidecar",
            format!(
                "namespace {name} has no Sidecar (nor does the root namespace {}): its sidecars receive configuration for every namespace of the cluster",
                mesh.namespace
            ),
            Vec::new(),
            None,
        );
        return;
    }
    if effective.len() > 1 {
        push(
            "duplicate-sidecar",
            format!("namespace {name} has {} Sidecars without workloadSelector; Istio's behaviour is then undefined", effective.len()),
            effective.iter().map(|i| model.tree.sidecars[*i].origin.clone()).collect(),
            None,
        );
    }
    let sc_index = effective[0];
    let sc = &model.tree.sidecars[sc_index];
    let (scope, bad) = model.scope_of(sc_index, name);
    for b in bad {
        push("invalid-host", b, vec![sc.origin.clone()], None);
    }
    let selected: Vec<usize> = model
        .sidecars
        .get(&id)
        .into_iter()
        .flatten()
        .copied()
        .filter(|i| model.tree.sidecars[*i].has_workload_selector)
        .collect();
    for idx in std::iter::once(sc_index).chain(selected) {
        let origin = model.tree.sidecars[idx].origin.clone();
        let (sc_scope, _) = model.scope_of(idx, name);
        for h in &sc_scope.hosts {
            if expected.covers(h) {
                continue;
            }
            match h {
                Host::NoNamespace => {}
                Host::AnyNamespace(_) => push(
                    "sidecar-extra-host",
                    format!(
                        "the Sidecar of {name} imports `{}`, services of every namespace, but tenants.toml lets {name} reach only {}",
                        host_text(h),
                        expected.namespaces().into_iter().collect::<Vec<_>>().join(", ")
                    ),
                    vec![origin.clone()],
                    None,
                ),
                Host::In(m, _) => {
                    let (check, tail) = if np_reaches(m) {
                        ("sidecar-extra-host", "; the NetworkPolicies allow it as well")
                    } else {
                        ("sidecar-imports-blocked", "; the NetworkPolicies block it, so istiod pushes configuration for nothing")
                    };
                    push(
                        check,
                        format!(
                            "the Sidecar of {name} imports `{}` but tenants.toml does not let {name} reach {m}{tail}",
                            host_text(h)
                        ),
                        vec![origin.clone()],
                        Some(m.clone()),
                    );
                }
            }
        }
    }
    for h in &expected.hosts {
        if scope.covers(h) {
            continue;
        }
        let Host::In(m, _) = h else { continue };
        let (check, tail) = if np_reaches(m) {
            (
                "reachable-not-in-sidecar",
                ", though the NetworkPolicies allow it: under REGISTRY_ONLY the mesh blocks this traffic",
            )
        } else {
            ("sidecar-missing-host", "")
        };
        let dns = if *m == ns.dns.namespace.as_str() {
            " (DNS over TCP passes Envoy and needs the DNS Service in the registry)"
        } else {
            ""
        };
        push(
            check,
            format!(
                "tenants.toml lets {name} reach {m} but its Sidecar does not import `{}`{dns}{tail}",
                host_text(h)
            ),
            vec![sc.origin.clone()],
            Some(m.clone()),
        );
    }
    if let Some(want) = mesh.outbound_traffic_policy {
        if sc.outbound_mode.as_deref() != Some(want.as_str()) {
            push(
                "outbound-traffic-policy",
                format!(
                    "the Sidecar of {name} has outboundTrafficPolicy {} but tenants.toml asks for {}",
                    sc.outbound_mode.as_deref().unwrap_or("unset (the mesh default)"),
                    want.as_str()
                ),
                vec![sc.origin.clone()],
                None,
            );
        }
    }
}

/// NetworkPolicies and Sidecars in namespaces tenants.toml does not define, and Sidecars when it
/// has no `[mesh]`.
fn foreign_objects(model: &Model, intent: &Intent, findings: &mut Vec<Finding>) {
    for o in &model.tree.unevaluated {
        let mut f = finding(
            "unevaluated-policy",
            format!(
                "{} in {} is not evaluated: tenantc knows Kubernetes NetworkPolicy and Istio Sidecar only, and this may allow or deny more than the verdict says",
                o.name, o.file
            ),
            vec![o.clone()],
        );
        f.severity = Severity::Warning;
        findings.push(f);
    }
    let mesh = intent.namespaces.values().find_map(|n| n.mesh.as_ref());
    let defined = |ns: &str| intent_of(intent, ns).is_some();
    for p in &model.tree.policies {
        if let Some(ns) = p.namespace.as_deref() {
            if !defined(ns) {
                let mut f = finding(
                    "foreign-object",
                    with_objects(
                        &format!("NetworkPolicy {} applies to namespace {ns}, which tenants.toml does not define; tenantc does not check it", p.origin.name),
                        std::slice::from_ref(&p.origin),
                    ),
                    vec![p.origin.clone()],
                );
                f.severity = Severity::Warning;
                findings.push(f);
            }
        }
    }
    for s in &model.tree.sidecars {
        let Some(ns) = s.namespace.as_deref() else {
            continue;
        };
        let is_root = mesh.is_some_and(|m| m.namespace.as_str() == ns);
        if mesh.is_none() {
            findings.push(finding(
                "unexpected-sidecar",
                with_objects(
                    "tenants.toml has no [mesh] but the tree has a Sidecar",
                    std::slice::from_ref(&s.origin),
                ),
                vec![s.origin.clone()],
            ));
        } else if !defined(ns) && !is_root {
            let mut f = finding(
                "foreign-object",
                with_objects(
                    &format!("Sidecar {} applies to namespace {ns}, which tenants.toml does not define; tenantc does not check it", s.origin.name),
                    std::slice::from_ref(&s.origin),
                ),
                vec![s.origin.clone()],
            );
            f.severity = Severity::Warning;
            findings.push(f);
        }
    }
}

/// The namespaces of the cluster as far as verify knows them: the tree's and those tenants.toml
/// names. What a Sidecar without one imports from.
pub fn cluster_size(model: &Model, intent: &Intent) -> usize {
    let mut cluster: BTreeSet<&str> = model
        .tree
        .namespaces
        .iter()
        .map(|d| d.origin.name.as_str())
        .collect();
    let known = known_namespaces(intent);
    cluster.extend(known.iter().map(String::as_str));
    cluster.len()
}

/// For each meshed namespace: how many namespaces its sidecars get configuration for.
pub fn mesh_scope(model: &Model, intent: &Intent) -> MeshScope {
    let total = cluster_size(model, intent);
    let mut out = MeshScope::default();
    for (name, ns) in &intent.namespaces {
        let Some(mesh) = &ns.mesh else { continue };
        if mesh.ambient {
            out.ambient += 1;
            continue;
        }
        let with = match model.id(name.as_str()) {
            Some(id) => {
                let (effective, _) = model.effective_sidecars(id, Some(mesh.namespace.as_str()));
                match effective.first() {
                    None => total,
                    Some(&sc) => {
                        let (scope, _) = model.scope_of(sc, name.as_str());
                        if scope.is_unbounded() {
                            total
                        } else {
                            scope.namespaces().len().min(total)
                        }
                    }
                }
            }
            None => total,
        };
        out.namespaces.push(ScopeRow {
            namespace: name.to_string(),
            with_sidecars: with,
            without_sidecars: total,
        });
        out.total_with_sidecars += with;
        out.total_without_sidecars += total;
    }
    out
}

/// Tenant or shared owner of a namespace, for tenant-level views.
pub fn owner_of(intent: &Intent, ns: &str) -> String {
    intent_of(intent, ns).map_or_else(
        || ns.to_owned(),
        |v| match (&v.role, &v.tenant) {
            (Role::Tenant | Role::Retired, Some(t)) => t.to_string(),
            _ => ns.to_owned(),
        },
    )
}

/// The intent of namespace `ns`, if tenants.toml defines it.
pub fn intent_of<'a>(intent: &'a Intent, ns: &str) -> Option<&'a NamespaceIntent> {
    NamespaceName::new(ns)
        .ok()
        .and_then(|n| intent.namespaces.get(&n))
}
