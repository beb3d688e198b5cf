//! What ambient mode needs of the other layers (https://istio.io/latest/docs/ambient/usage/networkpolicy/):
//! no Sidecar (it has no effect, istio/api#3517) and no injection label; NetworkPolicies that
//! let every port-restricted flow through on the HBONE port 15008 at both ends, and let the
//! kubelet's probes in from 169.254.7.127.

use crate::intent::{Intent, NamespaceIntent, OutsideFlow};
use crate::resolve::LABEL_INJECTION;
use crate::verify::finding::{violation, warning};
use crate::verify::layer::netpol::{PortSet, Protocol};
use crate::verify::layer::outside::flow_name;
use crate::verify::model::{Direction, GrantPeer, Model};
use crate::verify::tree::Origin;
use crate::verify::Finding;

fn ambient(ns: &NamespaceIntent) -> bool {
    ns.mesh.as_ref().is_some_and(|m| m.ambient)
}

/// What ambient mode does not enforce of an external entry with host names: ztunnel forwards
/// by address and has no registry filter, so without an egress waypoint (which tenantc does not
/// generate yet) the consumers reach any host at the entry's addresses; the ipBlock is the only
/// control. https://istio.io/latest/docs/ambient/usage/waypoint/ (egress needs a waypoint).
pub fn hosts_not_enforced(flow: &OutsideFlow) -> String {
    format!(
        "{}: in ambient mode the host names are not enforced (ztunnel forwards by address, and tenantc generates no egress waypoint yet): the consumers reach any host at its addresses on TCP/{}; the NetworkPolicy ipBlock is the only control",
        flow_name(flow),
        flow.ports
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// One warning per external entry with host names that an ambient namespace consumes.
fn unenforced_hosts(intent: &Intent, findings: &mut Vec<Finding>) {
    for flow in intent.destinations.values() {
        if flow.hosts.is_empty() {
            continue;
        }
        let consumers: Vec<&str> = intent
            .namespaces
            .values()
            .filter(|n| ambient(n) && n.outside.iter().any(|f| f.rule == flow.rule))
            .map(|n| n.name.as_str())
            .collect();
        if consumers.is_empty() {
            continue;
        }
        let mut f = warning(
            "ambient-hosts-not-enforced",
            hosts_not_enforced(flow),
            Vec::new(),
        );
        f.to = Some(flow_name(flow));
        findings.push(f);
    }
}

pub fn check(model: &Model, intent: &Intent, findings: &mut Vec<Finding>) {
    unenforced_hosts(intent, findings);
    for s in &model.tree.sidecars {
        let Some(ns) = s.namespace.as_deref().and_then(|n| intent.namespace(n)) else {
            continue;
        };
        if ambient(ns) {
            let mut f = violation(
                "ambient-sidecar",
                format!("namespace {} is in ambient mode, where a Sidecar has no effect (istio/api#3517): Sidecar {} does not limit anything ({})", ns.name, s.origin.name, s.origin),
                vec![s.origin.clone()],
            );
            f.from = Some(ns.name.to_string());
            findings.push(f);
        }
    }
    for doc in &model.tree.namespaces {
        let Some(ns) = intent.namespace(&doc.origin.name) else {
            continue;
        };
        if ambient(ns)
            && doc
                .labels
                .get(LABEL_INJECTION)
                .is_some_and(|v| v == "enabled")
        {
            let mut f = violation(
                "ambient-injection",
                format!("namespace {} is in ambient mode but carries `{LABEL_INJECTION}: enabled`: its pods get sidecars, which ztunnel then leaves alone ({})", ns.name, doc.origin),
                vec![doc.origin.clone()],
            );
            f.from = Some(ns.name.to_string());
            findings.push(f);
        }
    }
    for (name, ns) in &intent.namespaces {
        let Some(mesh) = ns.mesh.as_ref().filter(|m| m.ambient) else {
            continue;
        };
        let Some(id) = model.id(name.as_str()) else {
            continue;
        };
        let hbone = PortSet::single(Protocol::Tcp, mesh.hbone_port.get());
        let policies = |ns_id: u32| -> Vec<Origin> {
            model
                .policies
                .get(&ns_id)
                .into_iter()
                .flatten()
                .map(|i| model.tree.policies[*i].origin.clone())
                .filter(|o| o.name != "default-deny")
                .collect()
        };
        let mut report = |from: &str, to: &str, side: &str, objects: Vec<Origin>| {
            let list: Vec<String> = objects.iter().map(ToString::to_string).collect();
            let mut f = violation(
                "ambient-hbone",
                format!("{from} -> {to} is limited to some ports, and in ambient mode it is tunnelled to HBONE port TCP/15008, which the {side} policies of {} do not allow: the flow breaks ({})", if side == "egress" { from } else { to }, list.join("; ")),
                objects,
            );
            f.from = Some(from.to_owned());
            f.to = Some(to.to_owned());
            f.ports = hbone.to_strings();
            findings.push(f);
        };
        // Ingress: consumers and a meshed scraper on restricted ports.
        let mut restricted_in: Vec<&str> = Vec::new();
        if !ns.consumer_ports.is_empty() {
            restricted_in.extend(ns.consumers.iter().map(|n| n.as_str()));
        }
        if let Some(m) = ns.monitoring.as_ref().filter(|m| !m.ports.is_empty()) {
            restricted_in.push(m.namespace.as_str());
        }
        for caller in restricted_in {
            let Some(c) = model.id(caller) else { continue };
            if !model.allowed(id, Direction::Ingress, c).0.covers(&hbone) {
                report(caller, name.as_str(), "ingress", policies(id));
            }
        }
        // Egress: calls on restricted ports.
        for call in ns.calls.iter().filter(|c| !c.ports.is_empty()) {
            let Some(c) = model.id(call.namespace.as_str()) else {
                continue;
            };
            if !model.allowed(id, Direction::Egress, c).0.covers(&hbone) {
                report(
                    name.as_str(),
                    call.namespace.as_str(),
                    "egress",
                    policies(id),
                );
            }
        }
        let probes = model.net_of(id).ingress.grants.iter().any(|g| {
            g.targets_all
                && matches!(&g.allowed.peer, GrantPeer::IpBlock { cidr, except } if cidr == mesh.probe_cidr && except.is_empty())
                && g.allowed.ports.is_all()
        }) || model.allowed(id, Direction::Ingress, crate::verify::model::OTHER).0.is_all()
            && model.net_of(id).ingress.isolating_all.is_empty();
        if !probes {
            let mut f = violation(
                "ambient-probes",
                format!("namespace {name} is in ambient mode, which SNATs the kubelet's health probes to {}, and its ingress policies do not admit that address: every liveness and readiness probe fails", mesh.probe_cidr),
                policies(id),
            );
            f.from = Some(name.to_string());
            findings.push(f);
        }
    }
}
