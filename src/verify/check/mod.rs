//! The comparison: the tree's evaluated NetworkPolicies and Sidecars against the intent of
//! tenants.toml, per namespace and direction, then across the two layers. Only differences are
//! enumerated, so a correct tree of any size costs one pass over its grants and expectations.
//!
//! - `expect`: what tenants.toml allows each namespace, and why;
//! - `netpol`: each namespace's NetworkPolicies against it, per direction; `flows` joins the
//!   two ends of a flow into over- and under-allow findings;
//! - `sidecar`: the Sidecars against the intent and the NetworkPolicies;
//! - `objects`: Namespace documents, and objects outside the namespaces tenants.toml defines.
//!
//! The other layers are checked by [`super::outside`], [`super::authz`] and [`super::ambient`],
//! with the helpers for findings here.

mod expect;
mod flows;
mod netpol;
mod objects;
mod sidecar;

use std::collections::BTreeSet;

use super::netpol::PortSet;
use super::reach::{Direction, Model};
use super::tree::Origin;
use super::{Finding, Severity};
use crate::intent::{Intent, NamespaceIntent, Role};
use crate::model::NamespaceName;
pub use expect::{expectations, why_text, Expect, Why};
use flows::Flows;
pub use netpol::pods_cover;
pub use sidecar::{cluster_size, mesh_scope};

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

pub fn check(model: &Model, intent: &Intent) -> Vec<Finding> {
    let mut findings: Vec<Finding> = model
        .problems
        .iter()
        .map(|p| finding(p.check, p.message.clone(), vec![p.origin.clone()]))
        .collect();
    objects::namespaces(model, intent, &mut findings);
    // What each namespace may reach outside the cluster, for the ipBlocks and the ServiceEntries.
    let outside = super::outside::expected_by_namespace(intent);
    let mut flows = Flows::default();
    for (name, ns) in &intent.namespaces {
        let Some(id) = model.id(name.as_str()) else {
            continue;
        };
        for dir in [Direction::Ingress, Direction::Egress] {
            netpol::compare_side(model, intent, ns, id, dir, &mut flows, &mut findings);
        }
        let expected = outside
            .get(name.as_str())
            .map_or(&[][..], |flows| &flows[..]);
        super::outside::compare(model, ns, id, expected, &mut findings);
        if let Some(mesh) = ns.mesh.as_ref().filter(|m| !m.ambient) {
            sidecar::sidecars(model, ns, id, mesh, &mut findings);
        }
    }
    super::outside::service_entries(model, intent, &outside, &mut findings);
    super::authz::check(model, intent, &mut findings);
    super::ambient::check(model, intent, &mut findings);
    flows::report_over(model, flows.over, &mut findings);
    flows::report_under(model, flows.under, &mut findings);
    objects::foreign_objects(model, intent, &mut findings);
    findings.sort_by(|a, b| {
        (a.severity, &a.from, &a.to, &a.message).cmp(&(b.severity, &b.from, &b.to, &b.message))
    });
    findings.dedup();
    findings
}

/// `(every port)` or `TCP/53, UDP/53`.
pub fn ports_text(ports: &PortSet) -> String {
    if ports.is_all() {
        "(every port)".into()
    } else {
        ports.to_string()
    }
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
