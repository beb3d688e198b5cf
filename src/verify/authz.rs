//! The identity layer: the tree's Istio AuthorizationPolicies and PeerAuthentications evaluated
//! the way Istio does, and compared with the intent and with the NetworkPolicies underneath.
//!
//! Semantics (https://istio.io/latest/docs/reference/config/security/authorization-policy/):
//! CUSTOM, then DENY, then ALLOW; a DENY that matches denies; with no ALLOW policy on a workload
//! everything else is allowed, with one, only what an ALLOW rule matches. A rule matches when one
//! of its `from`, one of its `to` and all of its `when` match; a missing or empty list matches
//! everything, so a rule without `from` admits every caller and a policy without rules (`spec:
//! {}` with ALLOW) matches nothing. Policies of the root namespace apply to every namespace.
//! `source.namespaces` and `source.principals` (`<trust domain>/ns/<ns>/sa/<sa>`) are mTLS-only:
//! they match the caller's proven identity. What verify cannot evaluate (a `when`, ipBlocks,
//! request principals, HTTP attributes, a selector) counts as matching *some* requests only: an
//! ALLOW of that kind neither proves a flow open nor is ignored as a hole.
//!
//! In ambient mode ztunnel enforces L4 attributes only; an ALLOW rule with HTTP attributes
//! matches nothing there, a DENY rule with them denies the whole connection
//! (https://istio.io/latest/docs/ambient/usage/l4-policy/).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::check::{finding_from, intent_of};
use super::netpol::{PortSet, Protocol};
use super::reach::{Direction, Model};
use super::tree::{AuthzPolicy, AuthzRule, AuthzSource, Origin, PeerAuth, PortValue, Text};
use super::{Finding, Severity};
use crate::intent::{Intent, NamespaceIntent};

/// Every TCP port: AuthorizationPolicy ports are TCP ports.
pub fn tcp_all() -> PortSet {
    let mut s = PortSet::none();
    s.add(Protocol::Tcp, 1, 65535);
    s
}

fn tcp_of(ports: &BTreeSet<crate::model::Port>) -> PortSet {
    if ports.is_empty() {
        return tcp_all();
    }
    PortSet::tcp(ports.iter().map(|p| p.get()))
}

/// How much of a caller's traffic a rule or source matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    None,
    /// Some of its workloads or requests: verify cannot tell which.
    Some,
    All,
}

/// An Istio string match: exact, `*`, `prefix*` or `*suffix`.
fn matches(pattern: &str, value: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    if let Some(prefix) = pattern.strip_suffix('*') {
        return value.starts_with(prefix);
    }
    if let Some(suffix) = pattern.strip_prefix('*') {
        return value.ends_with(suffix);
    }
    pattern == value
}

/// How much of namespace `ns`'s workloads a principal pattern covers.
fn principal_level(pattern: &str, ns: &str) -> Level {
    if pattern == "*" {
        return Level::All;
    }
    // `<trust domain>/ns/<namespace>/sa/<service account>`
    let parts: Vec<&str> = pattern.split('/').collect();
    match parts.as_slice() {
        [_, "ns", n, "sa", sa] if matches(n, ns) => {
            if *sa == "*" {
                Level::All
            } else {
                Level::Some
            }
        }
        [_, "ns", ..] => Level::None,
        // Another shape (a prefix or suffix pattern): it may cover some of the namespace.
        _ if pattern.contains('*') && pattern.contains(&format!("/ns/{ns}/")) => Level::Some,
        _ => Level::None,
    }
}

/// A source's fields, pre-indexed: consumer lists hold up to 1,000 names, and a shared
/// namespace has as many callers to try.
struct Source {
    namespaces: Option<(HashSet<Text>, Vec<Text>)>,
    not_namespaces: Vec<Text>,
    principals: Option<Vec<Text>>,
    not_principals: Vec<Text>,
    /// Fields verify cannot evaluate: it matches some requests at most.
    opaque: bool,
}

impl Source {
    fn of(s: &AuthzSource) -> Self {
        let namespaces = s.namespaces.as_ref().map(|list| {
            let exact = list.iter().filter(|n| !n.contains('*')).cloned().collect();
            let patterns = list.iter().filter(|n| n.contains('*')).cloned().collect();
            (exact, patterns)
        });
        Self {
            namespaces,
            not_namespaces: s.not_namespaces.clone().unwrap_or_default(),
            principals: s.principals.clone(),
            not_principals: s.not_principals.clone().unwrap_or_default(),
            opaque: [
                &s.ip_blocks,
                &s.not_ip_blocks,
                &s.remote_ip_blocks,
                &s.not_remote_ip_blocks,
                &s.request_principals,
                &s.not_request_principals,
            ]
            .iter()
            .any(|f| f.is_some()),
        }
    }

    fn level(&self, ns: &str) -> Level {
        let mut level = Level::All;
        if let Some((exact, patterns)) = &self.namespaces {
            if !exact.contains(ns) && !patterns.iter().any(|p| matches(p, ns)) {
                return Level::None;
            }
        }
        if self.not_namespaces.iter().any(|p| matches(p, ns)) {
            return Level::None;
        }
        if let Some(list) = &self.principals {
            let best = list
                .iter()
                .map(|p| principal_level(p, ns))
                .max()
                .unwrap_or(Level::None);
            level = level.min(best);
        }
        for p in &self.not_principals {
            match principal_level(p, ns) {
                Level::All => return Level::None,
                Level::Some => level = level.min(Level::Some),
                Level::None => {}
            }
        }
        if self.opaque {
            level = level.min(Level::Some);
        }
        level
    }
}

/// One rule, pre-evaluated on the destination side: which ports it matches, fully or in part.
struct CompiledRule {
    /// `None`: every source.
    sources: Option<Vec<Source>>,
    full_ports: PortSet,
    some_ports: PortSet,
    conditional: bool,
}

impl CompiledRule {
    fn of(rule: &AuthzRule, deny: bool, ambient: bool) -> Self {
        let (mut full_ports, mut some_ports) = (PortSet::none(), PortSet::none());
        if rule.to.is_empty() {
            full_ports = tcp_all();
        }
        for to in &rule.to {
            let op = &to.operation;
            let mut ports = match &op.ports {
                Some(list) => port_set(list),
                None => tcp_all(),
            };
            if let Some(list) = &op.not_ports {
                ports = ports.minus(&port_set(list));
            }
            let http = [
                &op.hosts,
                &op.not_hosts,
                &op.methods,
                &op.not_methods,
                &op.paths,
                &op.not_paths,
            ]
            .iter()
            .any(|f| f.is_some());
            match (http, ambient, deny) {
                (false, _, _) | (true, true, true) => full_ports.union_with(&ports),
                (true, true, false) => {}
                (true, false, _) => some_ports.union_with(&ports),
            }
        }
        some_ports.union_with(&full_ports);
        Self {
            sources: (!rule.from.is_empty())
                .then(|| rule.from.iter().map(|f| Source::of(&f.source)).collect()),
            full_ports,
            some_ports,
            conditional: !rule.when.is_empty(),
        }
    }

    /// The ports on which the rule matches all, and some, of namespace `ns`'s requests.
    fn ports_for(&self, ns: &str) -> (PortSet, PortSet) {
        let level = match &self.sources {
            None => Level::All,
            Some(list) => list
                .iter()
                .map(|s| s.level(ns))
                .max()
                .unwrap_or(Level::None),
        };
        let level = if self.conditional {
            level.min(Level::Some)
        } else {
            level
        };
        match level {
            Level::None => (PortSet::none(), PortSet::none()),
            Level::Some => (PortSet::none(), self.some_ports.clone()),
            Level::All => (self.full_ports.clone(), self.some_ports.clone()),
        }
    }
}

fn port_set(list: &[PortValue]) -> PortSet {
    let mut s = PortSet::none();
    for p in list {
        let n = match p {
            PortValue::Number(n) => u16::try_from(*n).ok(),
            PortValue::Name(text) => text.parse::<u16>().ok(),
        };
        if let Some(n) = n.filter(|n| *n > 0) {
            s.add(Protocol::Tcp, n, n);
        }
    }
    s
}

struct CompiledPolicy<'a> {
    policy: &'a AuthzPolicy,
    rules: Vec<CompiledRule>,
}

/// The AuthorizationPolicies that apply to one namespace's workloads as a whole.
pub struct Layer<'a> {
    allow: Vec<CompiledPolicy<'a>>,
    deny: Vec<CompiledPolicy<'a>>,
}

/// What the layer does to one caller: the ports allowed for all and for some of its requests,
/// and the policies that decide.
pub struct Verdict<'a> {
    pub allowed: PortSet,
    pub allowed_some: PortSet,
    /// The ALLOW policies with a rule that matches the caller, or every ALLOW policy when none
    /// does (they deny it by not matching); empty when there is no ALLOW policy.
    pub allow_by: Vec<&'a Origin>,
    pub deny_by: Vec<&'a Origin>,
    pub has_allow: bool,
}

impl<'a> Layer<'a> {
    fn of(policies: &[&'a AuthzPolicy], ambient: bool) -> Self {
        let mut layer = Layer {
            allow: Vec::new(),
            deny: Vec::new(),
        };
        for p in policies.iter().filter(|p| !p.partial) {
            let deny = match p.action.as_str() {
                "ALLOW" => false,
                "DENY" => true,
                _ => continue,
            };
            let compiled = CompiledPolicy {
                policy: p,
                rules: p
                    .rules
                    .iter()
                    .map(|r| CompiledRule::of(r, deny, ambient))
                    .collect(),
            };
            if deny {
                layer.deny.push(compiled);
            } else {
                layer.allow.push(compiled);
            }
        }
        layer
    }

    pub fn is_empty(&self) -> bool {
        self.allow.is_empty() && self.deny.is_empty()
    }

    /// The verdict for callers in namespace `ns` (mTLS, so their namespace is proven).
    pub fn verdict(&self, ns: &str) -> Verdict<'a> {
        let (mut deny_full, mut deny_some) = (PortSet::none(), PortSet::none());
        let mut deny_by = Vec::new();
        for p in &self.deny {
            let mut hit = false;
            for r in &p.rules {
                let (full, some) = r.ports_for(ns);
                hit |= !some.is_empty();
                deny_full.union_with(&full);
                deny_some.union_with(&some);
            }
            if hit {
                deny_by.push(&p.policy.origin);
            }
        }
        let has_allow = !self.allow.is_empty();
        let (mut allow_full, mut allow_some) = if has_allow {
            (PortSet::none(), PortSet::none())
        } else {
            (tcp_all(), tcp_all())
        };
        let mut allow_by = Vec::new();
        for p in &self.allow {
            let mut hit = false;
            for r in &p.rules {
                let (full, some) = r.ports_for(ns);
                hit |= !some.is_empty();
                allow_full.union_with(&full);
                allow_some.union_with(&some);
            }
            if hit {
                allow_by.push(&p.policy.origin);
            }
        }
        if has_allow && allow_by.is_empty() {
            allow_by = self.allow.iter().map(|p| &p.policy.origin).collect();
        }
        Verdict {
            allowed: allow_full.minus(&deny_some),
            allowed_some: allow_some.minus(&deny_full),
            allow_by,
            deny_by,
            has_allow,
        }
    }
}

/// The AuthorizationPolicies of the tree by namespace.
pub struct Index<'a> {
    by_namespace: HashMap<&'a str, Vec<&'a AuthzPolicy>>,
    root: Vec<&'a AuthzPolicy>,
    /// PeerAuthentications by namespace, in tree order: looking them up per meshed namespace
    /// by scanning the whole list made verify quadratic in the number of namespaces.
    peer_auths: HashMap<&'a str, Vec<&'a PeerAuth>>,
}

impl<'a> Index<'a> {
    pub fn of(model: &'a Model, intent: &Intent) -> Self {
        let root_ns = intent
            .namespaces
            .values()
            .find_map(|n| n.mesh.as_ref())
            .map(|m| m.namespace.to_string());
        let mut by_namespace: HashMap<&str, Vec<&AuthzPolicy>> = HashMap::new();
        let mut root = Vec::new();
        for p in model.tree.authz_policies.iter().map(|p| &**p) {
            let ns = p.namespace.as_deref().unwrap_or_default();
            if Some(ns) == root_ns.as_deref() {
                root.push(p);
            } else {
                by_namespace.entry(ns).or_default().push(p);
            }
        }
        let mut peer_auths: HashMap<&str, Vec<&PeerAuth>> = HashMap::new();
        for p in model.tree.peer_auths.iter().map(|p| &**p) {
            if let Some(ns) = p.namespace.as_deref() {
                peer_auths.entry(ns).or_default().push(p);
            }
        }
        Self {
            by_namespace,
            root,
            peer_auths,
        }
    }

    /// The layer that applies to namespace `ns`: its own policies and the root namespace's.
    pub fn layer(&self, ns: &str, ambient: bool) -> Layer<'a> {
        let mut all: Vec<&AuthzPolicy> = self.root.clone();
        all.extend(self.by_namespace.get(ns).into_iter().flatten().copied());
        Layer::of(&all, ambient)
    }

    fn policies_of(&self, ns: &str) -> impl Iterator<Item = &&'a AuthzPolicy> {
        self.root
            .iter()
            .chain(self.by_namespace.get(ns).into_iter().flatten())
    }
}

/// The callers an AuthorizationPolicy must admit into `ns`, with their TCP ports: the
/// NetworkPolicies' ingress intent, less the platform components outside the mesh (which have
/// no identity to admit; their traffic to 15020 bypasses the proxy).
pub fn expected_callers(ns: &NamespaceIntent) -> BTreeMap<String, PortSet> {
    let mut out: BTreeMap<String, PortSet> = BTreeMap::new();
    let mut add = |n: &str, ports: PortSet| out.entry(n.to_owned()).or_default().union_with(&ports);
    for n in ns.same_owner.iter() {
        add(n.as_str(), tcp_all());
    }
    let consumer_ports = tcp_of(&ns.consumer_ports);
    for n in &ns.consumers {
        add(n.as_str(), consumer_ports.clone());
    }
    if let Some(i) = ns.ingress_controller.as_ref().filter(|i| i.in_mesh) {
        add(i.namespace.as_str(), tcp_all());
    }
    if let Some(m) = ns.monitoring.as_ref().filter(|m| m.in_mesh) {
        add(m.namespace.as_str(), tcp_of(&m.ports));
    }
    out
}

/// What the NetworkPolicies let `from` send to `to` on TCP: `to`'s ingress, and `from`'s egress
/// when the tree has `from`.
fn network_allows(model: &Model, from: &str, to: u32) -> PortSet {
    let Some(f) = model.id(from) else {
        return PortSet::none();
    };
    let mut ports = model.allowed(to, Direction::Ingress, f).0;
    if !model.policies.get(&f).is_none_or(Vec::is_empty) {
        ports = ports.intersect(&model.allowed(f, Direction::Egress, to).0);
    }
    ports.intersect(&tcp_all())
}

fn names(objects: &[&Origin]) -> String {
    let list: Vec<String> = objects.iter().map(ToString::to_string).collect();
    list.join("; ")
}

/// A namespace name no policy can name, for "every other namespace".
const ANY_OTHER: &str = "\u{1}any-other-namespace";

/// Compares every meshed namespace's AuthorizationPolicies and PeerAuthentication with the intent.
pub fn check(model: &Model, intent: &Intent, findings: &mut Vec<Finding>) {
    let index = Index::of(model, intent);
    for p in &model.tree.authz_policies {
        let warn = |check, message: String| {
            let mut f = finding_from(
                check,
                format!("{message} ({})", p.origin),
                vec![p.origin.clone()],
            );
            f.severity = Severity::Warning;
            f
        };
        let ns = p.namespace.as_deref().unwrap_or_default();
        if p.partial {
            findings.push(warn("partial-authorization-policy", format!("AuthorizationPolicy {} of {ns} applies to some workloads only (selector or targetRef): verify evaluates the policies that apply to a whole namespace, so it cannot vouch for what this one allows or denies", p.origin.name)));
        } else if p.action != "ALLOW" && p.action != "DENY" {
            findings.push(warn(
                "unevaluated-policy",
                format!(
                    "AuthorizationPolicy {} of {ns} has action {}, which verify does not evaluate",
                    p.origin.name, p.action
                ),
            ));
        } else if intent_of(intent, ns).is_none()
            && !intent
                .namespaces
                .values()
                .any(|n| n.mesh.as_ref().is_some_and(|m| m.namespace.as_str() == ns))
        {
            findings.push(warn("foreign-object", format!("AuthorizationPolicy {} applies to namespace {ns}, which tenants.toml does not define; tenantc does not check it", p.origin.name)));
        }
    }
    for (name, ns) in &intent.namespaces {
        let Some(mesh) = &ns.mesh else { continue };
        let Some(id) = model.id(name.as_str()) else {
            continue;
        };
        peer_authentication(&index, ns, mesh.mtls, findings);
        let layer = index.layer(name.as_str(), mesh.ambient);
        if layer.is_empty() && !mesh.authorization {
            continue;
        }
        let expected = expected_callers(ns);
        for (caller, want) in &expected {
            let v = layer.verdict(caller);
            let missing = want.minus(&v.allowed);
            if missing.is_empty() {
                continue;
            }
            let network = network_allows(model, caller, id).intersect(&missing);
            let deciders = if v.deny_by.is_empty() {
                v.allow_by.clone()
            } else {
                v.deny_by.clone()
            };
            let how = if !v.deny_by.is_empty() {
                "a DENY policy matches it"
            } else if v.allowed_some.covers(&missing) {
                "the ALLOW rules that match it are limited to some workloads or requests"
            } else {
                "no ALLOW rule matches it"
            };
            let mut f = finding_from(
                "authorization-denies",
                format!(
                    "{caller} -> {name} {} is allowed by tenants.toml{} but the AuthorizationPolicies of {name} deny it ({how}): an outage ({})",
                    super::check::ports_text(&missing),
                    if network.is_empty() { "" } else { " and by the NetworkPolicies" },
                    names(&deciders)
                ),
                deciders.iter().map(|o| (*o).clone()).collect(),
            );
            f.from = Some(caller.clone());
            f.to = Some(name.to_string());
            f.ports = missing.to_strings();
            findings.push(f);
        }
        if !mesh.authorization {
            continue;
        }
        // Callers the policies name, and any other namespace.
        let mut named: BTreeSet<String> = BTreeSet::new();
        for p in index.policies_of(name.as_str()) {
            for r in &p.rules {
                for from in &r.from {
                    named.extend(from.source.namespaces.iter().flatten().map(Text::to_string));
                    for pr in from.source.principals.iter().flatten() {
                        if let [_, "ns", n, ..] = pr.split('/').collect::<Vec<_>>().as_slice() {
                            named.insert((*n).to_owned());
                        }
                    }
                }
            }
        }
        named.retain(|n| !n.contains('*'));
        named.insert(ANY_OTHER.to_owned());
        for caller in &named {
            let v = layer.verdict(caller);
            let want = expected.get(caller).cloned().unwrap_or_default();
            let extra = v.allowed_some.minus(&want);
            if extra.is_empty() {
                continue;
            }
            let who = if caller == ANY_OTHER {
                "every namespace".to_owned()
            } else {
                caller.clone()
            };
            let network = if caller == ANY_OTHER {
                PortSet::none()
            } else {
                network_allows(model, caller, id).intersect(&extra)
            };
            let mut f = finding_from(
                "authorization-over-allow",
                format!(
                    "{who} -> {name} {} is allowed by the AuthorizationPolicies of {name} but tenants.toml does not allow it: {} ({})",
                    super::check::ports_text(&extra),
                    if network.is_empty() {
                        "a hole in the identity layer; the NetworkPolicies still block it".to_owned()
                    } else {
                        format!("the NetworkPolicies allow {} of it too, so nothing blocks it", super::check::ports_text(&network))
                    },
                    names(&v.allow_by)
                ),
                v.allow_by.iter().map(|o| (*o).clone()).collect(),
            );
            f.from = Some(who);
            f.to = Some(name.to_string());
            f.ports = extra.to_strings();
            findings.push(f);
        }
        if !layer.allow.iter().any(|p| p.policy.rules.is_empty()) {
            let mut f = finding_from(
                "missing-allow-nothing",
                format!("namespace {name} has no allow-nothing AuthorizationPolicy (ALLOW with no rules): it denies by default only as long as some other ALLOW policy applies, and opens to every caller if they go"),
                Vec::new(),
            );
            f.severity = Severity::Warning;
            f.from = Some(name.to_string());
            findings.push(f);
        }
    }
}

/// The namespace's PeerAuthentication against `[mesh] mtls`.
fn peer_authentication(
    index: &Index,
    ns: &NamespaceIntent,
    want: Option<&'static str>,
    findings: &mut Vec<Finding>,
) {
    let name = ns.name.as_str();
    let own: Vec<&PeerAuth> = index.peer_auths.get(name).cloned().unwrap_or_default();
    let mut push = |check, message: String, objects: Vec<Origin>| {
        let mut f = finding_from(check, message, objects);
        f.from = Some(name.to_owned());
        findings.push(f);
    };
    let Some(want) = want else {
        for p in own {
            push(
                "unexpected-peer-authentication",
                format!("PeerAuthentication {} in {name} is not from tenants.toml, which sets no `mtls` ({})", p.origin.name, p.origin),
                vec![p.origin.clone()],
            );
        }
        return;
    };
    let wide: Vec<_> = own.iter().filter(|p| !p.has_selector).collect();
    match wide.as_slice() {
        [] => push(
            "missing-peer-authentication",
            format!("tenants.toml sets mtls = \"{want}\" but namespace {name} has no namespace-wide PeerAuthentication: the mesh-wide setting applies instead"),
            Vec::new(),
        ),
        [p] => {
            let got = p.mode.as_deref().unwrap_or("UNSET");
            if got != want {
                push(
                    "weak-mtls",
                    format!("the PeerAuthentication of {name} sets mode {got}, but tenants.toml says {want} ({})", p.origin),
                    vec![p.origin.clone()],
                );
            }
            if p.port_level && want == "STRICT" {
                push(
                    "weak-mtls",
                    format!("the PeerAuthentication of {name} has portLevelMtls, which may accept plaintext on some ports although tenants.toml says STRICT ({})", p.origin),
                    vec![p.origin.clone()],
                );
            }
        }
        many => push(
            "ambiguous-peer-authentication",
            format!("namespace {name} has {} namespace-wide PeerAuthentications; Istio applies only the oldest ({})", many.len(), names(&many.iter().map(|p| &p.origin).collect::<Vec<_>>())),
            many.iter().map(|p| p.origin.clone()).collect(),
        ),
    }
    for p in own.iter().filter(|p| p.has_selector && want == "STRICT") {
        if p.mode
            .as_deref()
            .is_some_and(|m| m != "STRICT" && m != "UNSET")
        {
            push(
                "weak-mtls",
                format!("PeerAuthentication {} in {name} sets mode {} for some workloads although tenants.toml says STRICT ({})", p.origin.name, p.mode.as_deref().unwrap_or_default(), p.origin),
                vec![p.origin.clone()],
            );
        }
    }
}

/// For `explain`: what the AuthorizationPolicies of `to` let `from` through on (TCP), and the
/// lines that say which policy decides; `None` when the identity layer does not apply.
pub fn explain(
    model: &Model,
    intent: &Intent,
    from: &str,
    to: &str,
) -> Option<(PortSet, Vec<String>)> {
    let ns = intent_of(intent, to)?;
    let mesh = ns.mesh.as_ref()?;
    if let Some(m) = ns
        .monitoring
        .as_ref()
        .filter(|m| !m.in_mesh && m.namespace.as_str() == from && mesh.authorization)
    {
        return Some((
            tcp_all(),
            vec![format!(
                "AuthorizationPolicies of {to}: {} is outside the mesh, so no policy admits it by identity; it scrapes the merged metrics on 15020, which the sidecar's agent serves outside the inbound proxy",
                m.namespace
            )],
        ));
    }
    let index = Index::of(model, intent);
    let layer = index.layer(to, mesh.ambient);
    if layer.is_empty() {
        return mesh.authorization.then(|| {
            (
                tcp_all(),
                vec![format!(
                    "AuthorizationPolicies of {to}: none, so every caller is allowed"
                )],
            )
        });
    }
    let v = layer.verdict(from);
    let mut out = Vec::new();
    if v.allowed.is_empty() {
        let (how, by) = if v.deny_by.is_empty() {
            ("no ALLOW rule matches", &v.allow_by)
        } else {
            ("a DENY policy matches", &v.deny_by)
        };
        out.push(format!(
            "AuthorizationPolicies of {to}: denied ({how} source namespace {from})"
        ));
        out.extend(by.iter().map(|o| format!("  by {o}")));
    } else {
        out.push(format!(
            "AuthorizationPolicies of {to}: allowed on {} (source namespace {from}, proven by mTLS)",
            super::check::ports_text(&v.allowed)
        ));
        out.extend(v.allow_by.iter().map(|o| format!("  by {o}")));
        out.extend(v.deny_by.iter().map(|o| format!("  less what {o} denies")));
    }
    Some((v.allowed, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::tree::{parse_file, Tree};

    fn policies_of(yaml: &str) -> Vec<AuthzPolicy> {
        let mut tree = Tree::default();
        parse_file(yaml, "f.yaml", &mut tree).unwrap();
        tree.authz_policies.into_iter().map(|p| *p).collect()
    }

    fn verdict(yaml: &str, ambient: bool, caller: &str) -> (String, String) {
        let policies = policies_of(yaml);
        let refs: Vec<&AuthzPolicy> = policies.iter().collect();
        let layer = Layer::of(&refs, ambient);
        let v = layer.verdict(caller);
        (v.allowed.to_string(), v.allowed_some.to_string())
    }

    const HEAD: &str = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: d}\n";

    #[test]
    fn allow_nothing_denies_and_no_policy_allows() {
        assert_eq!(
            verdict(&format!("{HEAD}spec: {{}}\n"), false, "a").0,
            "no port"
        );
        assert_eq!(verdict("", false, "a").0, "every TCP port");
    }

    #[test]
    fn namespaces_principals_ports_and_deny() {
        let yaml = format!(
            "{HEAD}spec:\n  rules:\n  - from:\n    - source:\n        namespaces: [a, \"b*\"]\n    to:\n    - operation:\n        ports: [\"8443\"]\n  - from:\n    - source:\n        principals: [cluster.local/ns/c/sa/api]\n---\n{HEAD}spec:\n  action: DENY\n  rules:\n  - from:\n    - source:\n        namespaces: [bad]\n"
        );
        assert_eq!(verdict(&yaml, false, "a").0, "TCP/8443");
        assert_eq!(verdict(&yaml, false, "bx").0, "TCP/8443");
        assert_eq!(verdict(&yaml, false, "bad").0, "no port", "DENY wins");
        // One service account of c: some of its requests, never proof the flow is open.
        assert_eq!(
            verdict(&yaml, false, "c"),
            ("no port".to_owned(), "every TCP port".to_owned())
        );
        assert_eq!(verdict(&yaml, false, "z").1, "no port");
    }

    #[test]
    fn http_attributes_match_some_requests_and_nothing_in_ambient() {
        let yaml = format!(
            "{HEAD}spec:\n  rules:\n  - from:\n    - source:\n        namespaces: [a]\n    to:\n    - operation:\n        methods: [GET]\n"
        );
        assert_eq!(
            verdict(&yaml, false, "a"),
            ("no port".to_owned(), "every TCP port".to_owned())
        );
        assert_eq!(
            verdict(&yaml, true, "a"),
            ("no port".to_owned(), "no port".to_owned())
        );
    }
}
