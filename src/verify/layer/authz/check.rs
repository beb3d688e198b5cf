//! The AuthorizationPolicies and PeerAuthentications against the intent and the NetworkPolicies.

use std::collections::BTreeMap;

use crate::intent::{Intent, NamespaceIntent};
use crate::verify::finding::violation;
use crate::verify::layer::netpol::PortSet;
use crate::verify::model::{Direction, Model};
use crate::verify::tree::{Origin, PeerAuth};
use crate::verify::{Finding, Severity};

use super::eval::*;

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
            let mut f = violation(
                check,
                format!("{message} ({})", p.origin),
                vec![p.origin.clone()],
            );
            f.severity = Severity::Warning;
            f
        };
        let ns = p.namespace.as_deref().unwrap_or_default();
        if p.action != "ALLOW" && p.action != "DENY" {
            findings.push(warn(
                "unevaluated-policy",
                format!(
                    "AuthorizationPolicy {} of {ns} has action {}, which verify does not evaluate",
                    p.origin.name, p.action
                ),
            ));
        } else if intent.namespace(ns).is_none()
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
            let mut f = violation(
                "authorization-denies",
                format!(
                    "{caller} -> {name} {} is allowed by tenants.toml{} but the AuthorizationPolicies of {name} deny it ({how}): an outage ({})",
                    crate::verify::finding::ports_text(&missing),
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
        // Callers the policies name, and any other namespace; with a pattern, every namespace
        // verify knows and one it does not that the pattern names (`umb*`: any namespace whose
        // name starts with umb, tomorrow's included).
        let mut named: BTreeMap<String, String> = BTreeMap::new();
        let mut patterns = false;
        let mut name_it = |n: &str, who: String| {
            named.entry(n.to_owned()).or_insert(who);
        };
        for p in index.policies_of(name.as_str()) {
            for r in &p.rules {
                for from in &r.from {
                    let source = &from.source;
                    for n in source
                        .namespaces
                        .iter()
                        .chain(&source.not_namespaces)
                        .flatten()
                    {
                        if n.contains('*') {
                            patterns = true;
                            name_it(
                                &n.replace('*', "\u{1}"),
                                format!("any namespace named like `{n}`"),
                            );
                        } else {
                            name_it(n, n.to_string());
                        }
                    }
                    for pr in source
                        .principals
                        .iter()
                        .chain(&source.not_principals)
                        .flatten()
                    {
                        patterns |= pr.contains('*');
                        let Some(n) = pr.split("/ns/").nth(1).and_then(|r| r.split('/').next())
                        else {
                            continue;
                        };
                        if n.contains('*') {
                            name_it(
                                &n.replace('*', "\u{1}"),
                                format!("any namespace named like `{n}` (principal `{pr}`)"),
                            );
                        } else if !n.is_empty() {
                            name_it(n, n.to_owned());
                        }
                    }
                }
            }
        }
        if patterns {
            for n in model.names.iter().skip(1) {
                name_it(n, n.clone());
            }
        }
        name_it(ANY_OTHER, "every namespace".to_owned());
        for (caller, who) in named {
            let v = layer.verdict(&caller);
            let want = expected.get(&caller).cloned().unwrap_or_default();
            let extra = v.allowed_some.minus(&want);
            if extra.is_empty() {
                continue;
            }
            let network = if caller.contains('\u{1}') {
                PortSet::none()
            } else {
                network_allows(model, &caller, id).intersect(&extra)
            };
            // An ALLOW for some workloads is a hole all the same: tenants.toml's rule is for
            // every workload of the namespace.
            let partial: Vec<&str> = layer
                .allow_partial
                .iter()
                .filter(|p| v.allow_by.contains(&&p.policy.origin))
                .map(|p| p.policy.origin.name.as_str())
                .collect();
            let some = if partial.is_empty() {
                String::new()
            } else {
                format!(
                    " for the workloads the selector of {} picks",
                    partial.join(", ")
                )
            };
            let mut f = violation(
                "authorization-over-allow",
                format!(
                    "{who} -> {name} {} is allowed by the AuthorizationPolicies of {name}{some} but tenants.toml does not allow it: {} ({})",
                    crate::verify::finding::ports_text(&extra),
                    if network.is_empty() {
                        "a hole in the identity layer; the NetworkPolicies still block it".to_owned()
                    } else {
                        format!("the NetworkPolicies allow {} of it too, so nothing blocks it", crate::verify::finding::ports_text(&network))
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
            let mut f = violation(
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
        let mut f = violation(check, message, objects);
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

/// The TCP ports Istio's agent and Envoy serve themselves, which the sidecar's iptables leave
/// out of the inbound redirect, so neither mTLS nor an AuthorizationPolicy applies to them:
/// 15020 (merged Prometheus metrics), 15021 (health), 15090 (Envoy's own stats).
/// https://istio.io/latest/docs/ops/deployment/application-requirements/#ports-used-by-istio
pub fn outside_inbound_ports() -> PortSet {
    PortSet::tcp([15020, 15021, 15090])
}

/// For a platform caller outside the mesh (a scraper or an ingress controller without a
/// sidecar): when the namespace-wide PeerAuthentication that applies to `to` in the tree (its
/// own, else the root namespace's) is STRICT, its sidecars refuse plaintext on every port they
/// intercept, so the caller reaches only [`outside_inbound_ports`] over TCP. `None` when that
/// does not limit it (another caller, no STRICT, ambient mode).
pub fn plaintext_ports(index: &Index, intent: &Intent, from: &str, to: &str) -> Option<PortSet> {
    let ns = intent.namespace(to)?;
    let mesh = ns.mesh.as_ref().filter(|m| !m.ambient)?;
    let outside = ns
        .monitoring
        .as_ref()
        .is_some_and(|m| !m.in_mesh && m.namespace.as_str() == from)
        || ns
            .ingress_controller
            .as_ref()
            .is_some_and(|i| !i.in_mesh && i.namespace.as_str() == from);
    if !outside {
        return None;
    }
    let wide = |n: &str| {
        index
            .peer_auths
            .get(n)
            .and_then(|list| list.iter().find(|p| !p.has_selector).copied())
    };
    let pa = wide(to).or_else(|| wide(mesh.namespace.as_str()))?;
    (pa.mode.as_deref() == Some("STRICT")).then(outside_inbound_ports)
}

/// For `explain`: what the AuthorizationPolicies of `to` let `from` through on (TCP), and the
/// lines that say which policy decides; `None` when the identity layer does not apply.
pub fn explain(
    model: &Model,
    intent: &Intent,
    from: &str,
    to: &str,
) -> Option<(PortSet, Vec<String>)> {
    let ns = intent.namespace(to)?;
    let mesh = ns.mesh.as_ref()?;
    let index = Index::of(model, intent);
    if let Some(ports) = plaintext_ports(&index, intent, from, to) {
        return Some((
            ports.clone(),
            vec![format!(
                "PeerAuthentication of {to}: STRICT, and {from} is outside the mesh: its plaintext is refused on every port the sidecars intercept; it reaches only {}, which Istio's agent (15020: merged metrics, 15021: health) and Envoy (15090: stats) serve outside the inbound chain",
                crate::verify::finding::ports_text(&ports)
            )],
        ));
    }
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
            crate::verify::finding::ports_text(&v.allowed)
        ));
        out.extend(v.allow_by.iter().map(|o| format!("  by {o}")));
        out.extend(v.deny_by.iter().map(|o| format!("  less what {o} denies")));
    }
    Some((v.allowed, out))
}
