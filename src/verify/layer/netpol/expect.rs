//! The intent's side of the comparison: which flows tenants.toml allows each namespace, per
//! direction, and why, in its own terms.

use std::collections::{BTreeMap, BTreeSet};

use crate::intent::{Intent, NamespaceIntent, Role};
use crate::verify::layer::netpol::{PortSet, Protocol};
use crate::verify::model::{Direction, Model, OTHER};

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
    let tenant_of = |n: &str| {
        intent
            .namespace(n)
            .and_then(|v| v.tenant.as_ref().map(ToString::to_string))
    };
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

/// Whether an ingress ipBlock grant is the kubelet probe address of an ambient namespace.
pub fn is_probe_grant<S>(ns: &NamespaceIntent, cidr: &str, except: &[S]) -> bool {
    ns.mesh
        .as_ref()
        .is_some_and(|m| m.ambient && cidr == m.probe_cidr && except.is_empty())
}

/// `missing` without the HBONE port in an ambient namespace: the ambient layer reports it instead, and
/// the identity layer never decides it (ztunnel authorizes the port inside the tunnel).
pub fn without_hbone(ns: &NamespaceIntent, missing: PortSet) -> PortSet {
    match &ns.mesh {
        Some(m) if m.ambient => missing.minus(&PortSet::single(Protocol::Tcp, m.hbone_port.get())),
        _ => missing,
    }
}
