//! Each namespace's NetworkPolicies against the intent, one direction at a time: a default deny
//! that isolates every pod, no grant wider than tenants.toml allows, and a grant for every pod
//! for each flow it allows. Differences of a flow are kept for `flows`, which joins the
//! two ends.

use std::collections::{BTreeMap, BTreeSet};

use super::expect::{expectations, why_text, Expect};
use super::flows::{ByFlow, Flows, OverSide, UnderSide};
use crate::intent::{Intent, NamespaceIntent, Role};
use crate::verify::finding::{ports_text, violation, with_objects};
use crate::verify::layer::netpol::eval::seek_from;
use crate::verify::layer::netpol::{NsSet, PortSet};
use crate::verify::model::{Direction, Grant, GrantPeer, Model, Side};
use crate::verify::tree::{Origin, Selector};
use crate::verify::{Finding, Severity};

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

/// Compares namespace `ns` (id `id`) in direction `dir`: what concerns the namespace alone goes
/// to `findings`, what concerns a flow to `flows`.
pub(super) fn compare_side(
    model: &Model,
    intent: &Intent,
    ns: &NamespaceIntent,
    id: u32,
    dir: Direction,
    flows: &mut Flows,
    findings: &mut Vec<Finding>,
) {
    let name = ns.name.as_str();
    let side = model.net_of(id).side(dir);
    if side.isolating_all.is_empty() {
        findings.push(missing_default_deny(model, name, dir, side));
        return;
    }
    if let Some(f) = implicit_default_deny(model, name, dir, side) {
        findings.push(f);
    }
    let cmp = SideComparison {
        model,
        intent,
        ns,
        name,
        dir,
        side,
        expects: expectations(model, ns, dir),
    };
    for g in &side.grants {
        cmp.grant(g, &mut flows.over, findings);
    }
    // The expectations are sorted by peer: each grant's set is walked once, not searched.
    let mut at = vec![0; side.grants.len()];
    for e in &cmp.expects {
        cmp.expectation(e, &mut at, &mut flows.under);
    }
}

/// No policy selects every pod and isolates it for `dir`: some or all pods are open.
fn missing_default_deny(model: &Model, name: &str, dir: Direction, side: &Side) -> Finding {
    let partial: Vec<Origin> = side
        .isolating_some
        .iter()
        .map(|i| model.tree.policies[*i].origin.clone())
        .collect();
    let (what, anyone) = match dir {
        Direction::Ingress => ("ingress", "accept traffic from anywhere"),
        Direction::Egress => ("egress", "may send traffic anywhere"),
    };
    let mut f = violation(
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
    f
}

/// A warning when every pod is isolated for `dir` only by allow policies, none of them a pure
/// default deny (no rule).
fn implicit_default_deny(
    model: &Model,
    name: &str,
    dir: Direction,
    side: &Side,
) -> Option<Finding> {
    let pure_deny = side.isolating_all.iter().any(|i| {
        let p = &model.tree.policies[*i];
        let has_rules = match dir {
            Direction::Ingress => p.has_ingress_rules,
            Direction::Egress => p.has_egress_rules,
        };
        !has_rules
    });
    if pure_deny {
        return None;
    }
    let by: Vec<Origin> = side
        .isolating_all
        .iter()
        .map(|i| model.tree.policies[*i].origin.clone())
        .collect();
    let mut f = violation(
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
    Some(f)
}

/// One isolated namespace's policies in one direction, and what tenants.toml allows it there.
struct SideComparison<'a> {
    model: &'a Model,
    intent: &'a Intent,
    ns: &'a NamespaceIntent,
    name: &'a str,
    dir: Direction,
    side: &'a Side,
    /// What tenants.toml allows, sorted by peer.
    expects: Vec<Expect>,
}

impl SideComparison<'_> {
    /// The expectations for peer `p`, searched from `*from` on and leaving `*from` at their end
    /// (see [`seek_from`]: the grants' peers come in ascending order).
    fn of_peer_from(&self, p: u32, from: &mut usize) -> &[Expect] {
        let expects = &self.expects[..];
        let start = seek_from(expects, *from, |e| e.peer < p);
        let end = start + expects[start..].partition_point(|e| e.peer == p);
        *from = end;
        &expects[start..end]
    }

    /// The flow `(from, to)` between this namespace and `p`.
    fn pair_of(&self, p: &str) -> (String, String) {
        match self.dir {
            Direction::Egress => (self.name.to_owned(), p.to_owned()),
            Direction::Ingress => (p.to_owned(), self.name.to_owned()),
        }
    }

    /// `name -> other` or `other -> name`.
    fn arrow(&self, other: &str) -> String {
        let name = self.name;
        match self.dir {
            Direction::Egress => format!("{name} -> {other}"),
            Direction::Ingress => format!("{other} -> {name}"),
        }
    }

    /// Compares one grant with the intent: a grant to a peer tenants.toml cannot name (every
    /// namespace, an IP block) is a finding at once; a grant to named namespaces adds what it
    /// allows beyond the intent to the flows in `over`.
    fn grant(&self, g: &Grant, over: &mut ByFlow<OverSide>, findings: &mut Vec<Finding>) {
        let model = self.model;
        let origin = &model.tree.policies[g.policy as usize].origin;
        match &g.allowed.peer {
            GrantPeer::Everything => findings.push(self.grant_finding(
                g,
                origin,
                "over-allow",
                "every namespace and every IP address".to_owned(),
            )),
            // Out of the cluster: compared address by address in `outside`.
            GrantPeer::IpBlock { .. } if self.dir == Direction::Egress => {}
            // The kubelet's probes in ambient mode: checked in `ambient`.
            GrantPeer::IpBlock { cidr, except }
                if super::expect::is_probe_grant(self.ns, cidr, except) => {}
            GrantPeer::IpBlock { cidr, except } => findings.push(self.grant_finding(
                g,
                origin,
                "over-allow",
                if except.is_empty() {
                    format!("IP block {cidr}")
                } else {
                    format!("IP block {cidr} except {}", except.join(", "))
                },
            )),
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
                findings.push(self.grant_finding(g, origin, "over-allow", what));
            }
            GrantPeer::Namespaces {
                set: NsSet::Only(ids),
                pods,
            } => {
                let mut at = 0;
                for &p in ids {
                    let es = self.of_peer_from(p, &mut at);
                    self.grant_to_peer(g, origin, (p, es), pods.as_deref(), over, findings);
                }
            }
        }
    }

    /// A grant to `what`, wider than tenants.toml allows in this direction.
    fn grant_finding(
        &self,
        g: &Grant,
        origin: &Origin,
        check: &'static str,
        what: String,
    ) -> Finding {
        let (name, dir) = (self.name, self.dir);
        let mut f = violation(
            check,
            with_objects(
                &if self.ns.role == Role::Retired {
                    format!(
                        "{} {} is allowed but {name} is retired: tenants.toml allows it no {} at all",
                        self.arrow(&what),
                        ports_text(&g.allowed.ports),
                        dir.as_str(),
                    )
                } else {
                    format!(
                        "{} {} is allowed but tenants.toml allows {} only {}",
                        self.arrow(&what),
                        ports_text(&g.allowed.ports),
                        dir.as_str(),
                        intended_peers(self.model, &self.expects, dir)
                    )
                },
                std::slice::from_ref(origin),
            ),
            vec![origin.clone()],
        );
        f.ports = g.allowed.ports.to_strings();
        f.from = Some(name.to_owned());
        f
    }

    /// A grant to namespace `p` (its pods `pods`): the ports beyond what tenants.toml allows
    /// for `p`, and named ports it cannot check, go to the flow in `over`.
    fn grant_to_peer(
        &self,
        g: &Grant,
        origin: &Origin,
        (p, es): (u32, &[Expect]),
        pods: Option<&Selector>,
        over: &mut ByFlow<OverSide>,
        findings: &mut Vec<Finding>,
    ) {
        let model = self.model;
        let excess = match es {
            // One flow to the peer, the common case: no union to build.
            [e] if pods_within(e.pods.as_ref(), pods) => g.allowed.ports.minus(&e.ports),
            _ => {
                let mut covered = PortSet::none();
                for e in es {
                    if pods_within(e.pods.as_ref(), pods) {
                        covered.union_with(&e.ports);
                    }
                }
                g.allowed.ports.minus(&covered)
            }
        };
        let named: Vec<String> = if es.is_empty() {
            g.allowed.named_ports.to_vec()
        } else {
            Vec::new()
        };
        if !es.is_empty() && !g.allowed.named_ports.is_empty() {
            let mut f = violation(
                "named-port",
                with_objects(
                    &format!(
                        "{} uses named port(s) {}: tenantc cannot tell which port numbers they match, so it cannot check them",
                        self.arrow(model.name(p)),
                        g.allowed.named_ports.join(", ")
                    ),
                    std::slice::from_ref(origin),
                ),
                vec![origin.clone()],
            );
            f.severity = Severity::Warning;
            findings.push(f);
        }
        if excess.is_empty() && named.is_empty() {
            return;
        }
        let pods_text = match pods {
            Some(s) => Some(format!("pods {}", s.describe())),
            None if es.iter().any(|e| e.pods.is_some()) => Some("every pod".into()),
            None => None,
        };
        let pair = over.entry(self.pair_of(model.name(p))).or_default();
        let s = pair.end_mut(self.dir).get_or_insert_with(OverSide::default);
        s.ports.union_with(&excess);
        s.named.extend(named);
        s.objects.insert(origin.clone());
        if pods_text.is_some() {
            s.pods = pods_text;
        }
    }

    /// Compares one flow tenants.toml allows with the grants: the ports that no grant for every
    /// pod covers go to the flow in `under`, with the grants that cover them for some pods.
    fn expectation(&self, e: &Expect, at: &mut [usize], under: &mut ByFlow<UnderSide>) {
        let covered = self.covered(e, at);
        // A missing HBONE port is reported by `ambient`, in its own words.
        let missing = super::expect::without_hbone(self.ns, e.ports.minus(&covered));
        if missing.is_empty() {
            return;
        }
        let partial = self.partial_grants(e, &missing);
        let peer = self.model.name(e.peer);
        let (from, to) = self.pair_of(peer);
        let why = why_text(self.intent, &from, &to, e.why);
        let pair = under.entry((from, to)).or_default();
        let s = pair
            .end_mut(self.dir)
            .get_or_insert_with(UnderSide::default);
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

    /// The ports of `e` that grants for every pod of the namespace allow.
    /// `at` holds, per grant, where its set was last searched (see [`NsSet::contains_from`]).
    fn covered(&self, e: &Expect, at: &mut [usize]) -> PortSet {
        let mut covered = PortSet::none();
        for (g, at) in self
            .side
            .grants
            .iter()
            .zip(at)
            .filter(|(g, _)| g.targets_all)
        {
            match &g.allowed.peer {
                GrantPeer::Everything => covered.union_with(&g.allowed.ports),
                GrantPeer::Namespaces { set, pods }
                    if set.contains_from(e.peer, at)
                        && pods_cover(pods.as_deref(), e.pods.as_ref()) =>
                {
                    covered.union_with(&g.allowed.ports);
                }
                _ => {}
            }
        }
        covered
    }

    /// The policies that would allow some of the `missing` ports of `e`, but only for some pods
    /// of the namespace.
    fn partial_grants(&self, e: &Expect, missing: &PortSet) -> BTreeSet<String> {
        self.side
            .grants
            .iter()
            .filter(|g| !g.targets_all && !g.allowed.ports.intersect(missing).is_empty())
            .filter(|g| match &g.allowed.peer {
                GrantPeer::Everything => true,
                GrantPeer::Namespaces { set, pods } => {
                    set.contains(e.peer) && pods_cover(pods.as_deref(), e.pods.as_ref())
                }
                GrantPeer::IpBlock { .. } => false,
            })
            .map(|g| {
                let p = &self.model.tree.policies[g.policy as usize];
                format!(
                    "{} applies only to its pods {}",
                    p.origin.name,
                    p.pod_selector.describe()
                )
            })
            .collect()
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
