//! Istio's AuthorizationPolicy semantics, compiled per namespace (see the layer's documentation).

use std::collections::BTreeSet;

use crate::verify::{HashMap, HashSet};

use crate::intent::Intent;
use crate::verify::layer::netpol::{PortSet, Protocol};
use crate::verify::model::Model;
use crate::verify::tree::{AuthzPolicy, AuthzRule, AuthzSource, Origin, PeerAuth, PortValue, Text};

use super::identity::*;
/// Every TCP port: AuthorizationPolicy ports are TCP ports.
pub fn tcp_all() -> PortSet {
    let mut s = PortSet::none();
    s.add(Protocol::Tcp, 1, 65535);
    s
}

pub(super) fn tcp_of(ports: &BTreeSet<crate::model::Port>) -> PortSet {
    if ports.is_empty() {
        return tcp_all();
    }
    PortSet::tcp(ports.iter().map(|p| p.get()))
}

/// A source's fields, pre-indexed: consumer lists hold up to 1,000 names, and a shared
/// namespace has as many callers to try.
pub(super) struct Source {
    /// Plain names, and the patterns of the others.
    namespaces: Option<(HashSet<Text>, Vec<IdentityPattern>)>,
    not_namespaces: Vec<IdentityPattern>,
    principals: Option<Vec<Principal>>,
    not_principals: Vec<Principal>,
    /// Fields verify cannot evaluate: it matches some requests at most.
    opaque: bool,
}

impl Source {
    fn of(s: &AuthzSource) -> Self {
        let namespaces = s.namespaces.as_ref().map(|list| {
            let exact = list.iter().filter(|n| is_plain_name(n)).cloned().collect();
            let patterns = list
                .iter()
                .filter(|n| !is_plain_name(n))
                .map(|n| IdentityPattern::namespace(n))
                .collect();
            (exact, patterns)
        });
        Self {
            namespaces,
            not_namespaces: s
                .not_namespaces
                .iter()
                .flatten()
                .map(|n| IdentityPattern::namespace(n))
                .collect(),
            principals: s.principals.as_deref().map(principals_of),
            not_principals: principals_of(s.not_principals.as_deref().unwrap_or_default()),
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
            let best = if exact.contains(ns) {
                Level::All
            } else {
                patterns
                    .iter()
                    .map(|p| p.level(ns))
                    .max()
                    .unwrap_or(Level::None)
            };
            level = level.min(best);
        }
        for p in &self.not_namespaces {
            match p.level(ns) {
                Level::All => return Level::None,
                Level::Some => level = level.min(Level::Some),
                Level::None => {}
            }
        }
        if let Some(list) = &self.principals {
            let best = list
                .iter()
                .map(|(p, c)| principal_level(p, c.as_ref(), ns))
                .max()
                .unwrap_or(Level::None);
            level = level.min(best);
        }
        for (p, c) in &self.not_principals {
            match principal_level(p, c.as_ref(), ns) {
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
pub(super) struct CompiledRule {
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

pub(super) fn port_set(list: &[PortValue]) -> PortSet {
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

pub(super) struct CompiledPolicy<'a> {
    pub(super) policy: &'a AuthzPolicy,
    rules: Vec<CompiledRule>,
}

/// The AuthorizationPolicies that apply to one namespace's workloads: those that apply to all of
/// them, and those with a `selector` or `targetRef(s)`, which apply to some (which ones depends
/// on the pods, unknown here).
pub struct Layer<'a> {
    pub(super) allow: Vec<CompiledPolicy<'a>>,
    deny: Vec<CompiledPolicy<'a>>,
    pub(super) allow_partial: Vec<CompiledPolicy<'a>>,
    deny_partial: Vec<CompiledPolicy<'a>>,
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

/// The ports on which the policies' rules match all and some of namespace `ns`'s requests, and
/// the policies with a rule that matches some.
fn matched<'a>(
    policies: &[CompiledPolicy<'a>],
    ns: &str,
    by: &mut Vec<&'a Origin>,
) -> (PortSet, PortSet) {
    let (mut full, mut some) = (PortSet::none(), PortSet::none());
    for p in policies {
        let mut hit = false;
        for r in &p.rules {
            let (f, s) = r.ports_for(ns);
            hit |= !s.is_empty();
            full.union_with(&f);
            some.union_with(&s);
        }
        if hit {
            by.push(&p.policy.origin);
        }
    }
    (full, some)
}

impl<'a> Layer<'a> {
    fn of(policies: &[&'a AuthzPolicy], ambient: bool) -> Self {
        let mut layer = Layer {
            allow: Vec::new(),
            deny: Vec::new(),
            allow_partial: Vec::new(),
            deny_partial: Vec::new(),
        };
        for p in policies {
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
            match (deny, p.partial) {
                (true, false) => layer.deny.push(compiled),
                (false, false) => layer.allow.push(compiled),
                (true, true) => layer.deny_partial.push(compiled),
                (false, true) => layer.allow_partial.push(compiled),
            }
        }
        layer
    }

    pub fn is_empty(&self) -> bool {
        self.allow.is_empty()
            && self.deny.is_empty()
            && self.allow_partial.is_empty()
            && self.deny_partial.is_empty()
    }

    /// The verdict for callers in namespace `ns` (mTLS, so their namespace is proven). A policy
    /// for some workloads counts for some requests: an ALLOW of it may admit the caller to
    /// those workloads (so what it matches is allowed for some), a DENY of it refuses the
    /// caller there (so it is not allowed to every workload), and on those workloads an ALLOW
    /// of it is the only ALLOW when the namespace has none of its own.
    pub fn verdict(&self, ns: &str) -> Verdict<'a> {
        let mut deny_by = Vec::new();
        let (deny_full, mut deny_some) = matched(&self.deny, ns, &mut deny_by);
        let (partial_full, partial_some) = matched(&self.deny_partial, ns, &mut deny_by);
        deny_some.union_with(&partial_full);
        deny_some.union_with(&partial_some);
        let has_allow = !self.allow.is_empty();
        let mut allow_by = Vec::new();
        let (mut allow_full, mut allow_some) = if has_allow {
            matched(&self.allow, ns, &mut allow_by)
        } else {
            (tcp_all(), tcp_all())
        };
        let (partial_full, partial_some) = matched(&self.allow_partial, ns, &mut allow_by);
        if has_allow {
            allow_some.union_with(&partial_some);
        } else if !self.allow_partial.is_empty() {
            // The selected workloads admit only what the partial ALLOWs match.
            allow_full = partial_full;
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
    pub(super) peer_auths: HashMap<&'a str, Vec<&'a PeerAuth>>,
}

impl<'a> Index<'a> {
    pub fn of(model: &'a Model, intent: &Intent) -> Self {
        let root_ns = intent
            .namespaces
            .values()
            .find_map(|n| n.mesh.as_ref())
            .map(|m| m.namespace.to_string());
        let mut by_namespace: HashMap<&str, Vec<&AuthzPolicy>> = HashMap::default();
        let mut root = Vec::new();
        for p in model.tree.authz_policies.iter().map(|p| &**p) {
            let ns = p.namespace.as_deref().unwrap_or_default();
            if Some(ns) == root_ns.as_deref() {
                root.push(p);
            } else {
                by_namespace.entry(ns).or_default().push(p);
            }
        }
        let mut peer_auths: HashMap<&str, Vec<&PeerAuth>> = HashMap::default();
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

    pub(super) fn policies_of(&self, ns: &str) -> impl Iterator<Item = &&'a AuthzPolicy> {
        self.root
            .iter()
            .chain(self.by_namespace.get(ns).into_iter().flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::tree::{parse_file, Tree};

    pub(super) fn policies_of(yaml: &str) -> Vec<AuthzPolicy> {
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
    fn namespace_and_principal_patterns_match_as_istio_compiles_them() {
        let ns = |v: &str, n: &str| IdentityPattern::namespace(v).level(n);
        let pr = |v: &str, n: &str| IdentityPattern::principal(v).level(n);
        assert_eq!(ns("umb*", "umbrella"), Level::All);
        assert_eq!(ns("umb*", "acme"), Level::None);
        assert_eq!(ns("*rella", "umbrella"), Level::All);
        assert_eq!(ns("acme", "acme-api"), Level::None);
        // `.*/ns/.*a/.*`: the `a/` of `/sa/` matches, whatever the namespace.
        assert_eq!(ns("*a", "globex"), Level::All);
        assert_eq!(ns("*", "globex"), Level::All);
        assert_eq!(ns("acm.", "acme"), Level::All);
        assert_eq!(ns("a[b]", "acme"), Level::Some, "opaque: may match");
        assert_eq!(pr("cluster.local/ns/umbrella/*", "umbrella"), Level::All);
        assert_eq!(pr("cluster.local/ns/umbrella/*", "umbrella-x"), Level::None);
        assert_eq!(pr("cluster.local/ns/umb*", "umbrella-x"), Level::All);
        assert_eq!(pr("*/ns/x/sa/y", "x"), Level::Some);
        assert_eq!(pr("*/ns/x/sa/y", "z"), Level::None);
        // A suffix of the account: some workloads of every namespace.
        assert_eq!(pr("*-admin", "globex"), Level::Some);
        assert_eq!(pr("*", "globex"), Level::All);
        // Another trust domain: some (an alias may map it), never all.
        assert_eq!(pr("other.td/ns/acme/*", "acme"), Level::Some);
        // A `*` inside is a literal: no identity has it.
        assert_eq!(pr("cluster.local/ns/a*b/sa/x", "ab"), Level::None);
    }

    #[test]
    fn a_policy_for_some_workloads_allows_for_some_and_denies_some() {
        let yaml = format!(
            "{HEAD}spec: {{}}\n---\n{HEAD}spec:\n  selector: {{matchLabels: {{app: web}}}}\n  rules:\n  - {{}}\n---\n{HEAD}spec:\n  rules:\n  - from:\n    - source:\n        namespaces: [a]\n---\n{HEAD}spec:\n  selector: {{matchLabels: {{app: db}}}}\n  action: DENY\n  rules:\n  - from:\n    - source:\n        namespaces: [a]\n"
        );
        assert_eq!(
            verdict(&yaml, false, "a"),
            ("no port".to_owned(), "every TCP port".to_owned())
        );
        assert_eq!(
            verdict(&yaml, false, "z"),
            ("no port".to_owned(), "every TCP port".to_owned())
        );
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
