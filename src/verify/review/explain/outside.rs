//! `tenantc explain FROM DESTINATION` for a destination outside the cluster: an external entry,
//! or the Kubernetes API: the egress policy that admits its addresses, and with a mesh the
//! ServiceEntry that puts it in the caller's registry and the Sidecar that imports it.

use serde::Serialize;

use super::{
    ports_words, side, side_text, verdict_line, PortVerdict, Rule, SideVerdict, SidecarVerdict,
};
use crate::intent::Intent;
use crate::verify::layer::netpol::{PortSet, Protocol};
use crate::verify::layer::sidecar::{host_text, Host, Scope};
use crate::verify::model::{Direction, GrantPeer, Model};
use crate::verify::tree::{Origin, Text};

/// A ServiceEntry that puts a destination in the caller's registry.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RegistryVerdict {
    pub object: Origin,
    pub namespace: String,
    /// `exportTo` as written (absent: every namespace).
    pub export_to: Option<Vec<String>>,
}

/// `explain FROM DESTINATION`, for a destination outside the cluster: an external entry, or the
/// Kubernetes API (`kube-api`).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct OutsideExplanation {
    pub from: String,
    pub to: String,
    /// The destination's addresses, as tenants.toml grants them (cluster ranges excepted).
    pub addresses: String,
    pub intended: PortSet,
    pub reasons: Vec<String>,
    pub egress: SideVerdict,
    /// With a mesh: the ServiceEntry that puts it in the caller's registry, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<Option<RegistryVerdict>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sidecar: Option<SidecarVerdict>,
    pub allowed: PortSet,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<PortVerdict>,
    pub matches_intent: bool,
    /// What the verdict does not show (host names ambient mode does not enforce).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Explains whether namespace `from` reaches the destination named `target` in
/// [`Intent::destinations`].
pub fn explain_outside(
    model: &Model,
    intent: &Intent,
    from: &str,
    target: &str,
    port: Option<(Protocol, u16)>,
) -> Option<OutsideExplanation> {
    use crate::verify::layer::outside::{flow_name, ips_of};
    let flow = intent.destinations.get(target)?;
    let ips = ips_of(flow);
    let ns = intent.namespace(from);
    let granted = ns.and_then(|n| n.outside.iter().find(|f| f.rule == flow.rule));
    let mut intended = PortSet::none();
    let mut reasons = Vec::new();
    if let Some(f) = granted {
        intended = PortSet::tcp(f.ports.iter().map(|p| p.get()));
        reasons.push(format!("{} grants it", f.rule.table()));
    }
    // The caller's egress: every rule whose peer takes in all of the destination's addresses.
    let mut egress = side(model, from, Direction::Egress, "");
    if let Some(id) = model.id(from).filter(|_| egress.state == "isolated") {
        let mut allowed = PortSet::none();
        let mut rules = Vec::new();
        for g in &model.net_of(id).egress.grants {
            let covers = match &g.allowed.peer {
                GrantPeer::Everything => true,
                GrantPeer::IpBlock { cidr, except } => {
                    crate::verify::ip::IpSet::of_block(cidr, except).is_some_and(|s| s.covers(&ips))
                }
                GrantPeer::Namespaces { .. } => false,
            };
            if !covers {
                continue;
            }
            let policy = &model.tree.policies[g.policy as usize];
            if g.targets_all {
                allowed.union_with(&g.allowed.ports);
            }
            rules.push(Rule {
                object: policy.origin.clone(),
                ports: g.allowed.ports.clone(),
                peer_pods: match &g.allowed.peer {
                    GrantPeer::Everything => "everything".into(),
                    _ => "every pod".into(),
                },
                applies_to: policy.pod_selector.describe(),
            });
        }
        egress.allowed = allowed;
        egress.rules = rules;
    }
    // In ambient mode ztunnel forwards by address: there is no sidecar and no registry filter,
    // so the ipBlock alone decides, and host names are not enforced without an egress waypoint.
    let mesh = ns.and_then(|n| n.mesh.as_ref()).filter(|m| !m.ambient);
    let notes: Vec<String> = ns
        .and_then(|n| n.mesh.as_ref())
        .filter(|m| m.ambient && !flow.hosts.is_empty())
        .map(|_| crate::verify::layer::ambient::hosts_not_enforced(flow))
        .into_iter()
        .collect();
    let registry = mesh
        .filter(|_| flow.rule != crate::intent::Rule::KubeApi)
        .map(|_| registry_of(model, from, flow, &ips));
    let sidecar = mesh.and_then(|m| {
        let id = model.id(from)?;
        let (effective, _) = model.effective_sidecars(id, Some(m.namespace.as_str()));
        let sc = *effective.first()?;
        let (scope, _) = model.scope_of(sc, from);
        let wanted: Vec<Host> = match &registry {
            Some(Some(r)) => model
                .tree
                .service_entries
                .iter()
                .find(|se| se.origin == r.object)
                .map(|se| {
                    se.spec
                        .hosts
                        .iter()
                        .map(|h| Host::In(r.namespace.clone(), h.to_string()))
                        .collect()
                })
                .unwrap_or_default(),
            Some(None) => Vec::new(),
            None => m
                .hosts
                .iter()
                .filter(|h| h.starts_with("default/kubernetes.default.svc."))
                .filter_map(|h| crate::verify::layer::sidecar::parse_host(h, from).ok())
                .collect(),
        };
        let hosts: Vec<String> = scope
            .hosts
            .iter()
            .filter(|h| {
                wanted
                    .iter()
                    .any(|w| Scope::from_hosts([(*h).clone()]).covers(w))
            })
            .map(host_text)
            .collect();
        Some(SidecarVerdict {
            imports: !wanted.is_empty() && wanted.iter().all(|w| scope.covers(w)),
            hosts,
            object: Some(model.tree.sidecars[sc].origin.clone()),
        })
    });
    let mesh_ok =
        registry.as_ref().is_none_or(Option::is_some) && sidecar.as_ref().is_none_or(|s| s.imports);
    let allowed = if mesh_ok {
        egress.allowed.clone()
    } else {
        PortSet::none()
    };
    let port_verdict = port.map(|(p, n)| PortVerdict {
        port: format!("{}/{n}", p.as_str()),
        allowed: allowed.contains(p, n),
    });
    let matches_intent = match port {
        Some((p, n)) => allowed.contains(p, n) == intended.contains(p, n),
        None => allowed == intended,
    };
    Some(OutsideExplanation {
        from: from.to_owned(),
        to: flow_name(flow),
        addresses: flow
            .blocks
            .iter()
            .map(|b| {
                if b.except.is_empty() {
                    b.cidr.to_string()
                } else {
                    let except: Vec<String> = b.except.iter().map(ToString::to_string).collect();
                    format!("{} except {}", b.cidr, except.join(", "))
                }
            })
            .collect::<Vec<_>>()
            .join("; "),
        intended,
        reasons,
        egress,
        registry,
        sidecar,
        allowed,
        port: port_verdict,
        matches_intent,
        notes,
    })
}

/// The ServiceEntry visible to `from` that covers the flow's hosts (or addresses).
fn registry_of(
    model: &Model,
    from: &str,
    flow: &crate::intent::OutsideFlow,
    ips: &crate::verify::ip::IpSet,
) -> Option<RegistryVerdict> {
    use crate::verify::layer::outside::{exported_to, registers};
    model.tree.service_entries.iter().find_map(|se| {
        (exported_to(se, from) && registers(se, &flow.hosts, ips)).then(|| RegistryVerdict {
            object: se.origin.clone(),
            namespace: se.namespace.as_deref().unwrap_or_default().to_owned(),
            export_to: se
                .spec
                .export_to
                .as_ref()
                .map(|l| l.iter().map(Text::to_string).collect()),
        })
    })
}

impl OutsideExplanation {
    pub fn to_text(&self) -> String {
        let mut out = format!("{} -> {}\n", self.from, self.to);
        if self.intended.is_empty() {
            out.push_str("  tenants.toml: denied (no rule grants it)\n");
        } else {
            out.push_str(&format!(
                "  tenants.toml: allowed {} to {} ({})\n",
                ports_words(&self.intended),
                self.addresses,
                self.reasons.join("; ")
            ));
        }
        out.push_str(&side_text(&self.egress, "egress"));
        match &self.registry {
            Some(Some(r)) => out.push_str(&format!(
                "  ServiceEntry: {} in {}, exported to {} ({})\n",
                r.object.name,
                r.namespace,
                r.export_to
                    .as_ref()
                    .map_or("every namespace (no exportTo)".to_owned(), |l| l
                        .iter()
                        .map(|e| if e == "." {
                            r.namespace.as_str()
                        } else {
                            e.as_str()
                        })
                        .collect::<Vec<_>>()
                        .join(", ")),
                r.object
            )),
            Some(None) => out.push_str(&format!(
                "  ServiceEntry: none visible to {}: its sidecars have no registry entry for it\n",
                self.from
            )),
            None => {}
        }
        if let Some(sc) = &self.sidecar {
            let object = sc
                .object
                .as_ref()
                .map(|o| format!(" ({o})"))
                .unwrap_or_default();
            if sc.imports {
                let via: Vec<String> = sc.hosts.iter().map(|h| format!("`{h}`")).collect();
                out.push_str(&format!(
                    "  Sidecar of {}: imports it via {}{object}\n",
                    self.from,
                    via.join(", ")
                ));
            } else {
                out.push_str(&format!(
                    "  Sidecar of {}: does not import it{object}\n",
                    self.from
                ));
            }
        }
        out.push_str(&verdict_line(
            &self.allowed,
            self.port.as_ref(),
            self.matches_intent,
        ));
        for n in &self.notes {
            out.push_str(&format!("  warning: {n}\n"));
        }
        out
    }
}
