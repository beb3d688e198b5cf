//! `tenantc explain FROM TO`: why one namespace (or every namespace of a tenant) can or cannot
//! reach another, naming the tenants.toml rule, each NetworkPolicy and the Sidecar entry that
//! decide it.

use serde::Serialize;

use crate::intent::Intent;
use crate::verify::layer::netpol::{expectations, why_text};
use crate::verify::layer::netpol::{PortSet, Protocol};
use crate::verify::layer::sidecar::{host_text, Host};
use crate::verify::model::{Direction, GrantPeer, Model, Side};
use crate::verify::tree::Origin;

mod outside;
pub use outside::{explain_outside, OutsideExplanation, RegistryVerdict};

/// One policy rule that lets the flow through.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Rule {
    pub object: Origin,
    pub ports: PortSet,
    /// Which pods of the peer the rule names (`every pod` when it names none).
    pub peer_pods: String,
    /// Which pods of the namespace itself the policy applies to.
    pub applies_to: String,
}

/// One direction: the caller's egress or the callee's ingress.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SideVerdict {
    pub namespace: String,
    /// `isolated`, `not isolated` (everything allowed), or `not in the tree` (unknown).
    pub state: &'static str,
    pub allowed: PortSet,
    pub rules: Vec<Rule>,
    /// The policies that isolate the namespace in this direction.
    pub isolated_by: Vec<Origin>,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SidecarVerdict {
    pub imports: bool,
    pub hosts: Vec<String>,
    pub object: Option<Origin>,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PortVerdict {
    pub port: String,
    pub allowed: bool,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Explanation {
    pub from: String,
    pub to: String,
    /// What tenants.toml allows, and why.
    pub intended: PortSet,
    pub reasons: Vec<String>,
    pub egress: SideVerdict,
    pub ingress: SideVerdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sidecar: Option<SidecarVerdict>,
    /// With AuthorizationPolicies: what they let through (TCP), and the policies that decide.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub authorization: Vec<String>,
    /// What the NetworkPolicies let through on both sides, less what the AuthorizationPolicies
    /// deny.
    pub allowed: PortSet,
    /// The port asked about with `--port`, and whether it passes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<PortVerdict>,
    pub matches_intent: bool,
}

/// The answer to `tenantc explain FROM TO`, serialized as the list of explanations.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Explained {
    /// One per pair of namespaces, FROM's then TO's.
    Inside(Vec<Explanation>),
    /// TO is a destination outside the cluster: one per namespace of FROM that is explained.
    Outside(Vec<OutsideExplanation>),
}

impl Explained {
    pub fn to_text(&self) -> String {
        let text: Vec<String> = match self {
            Self::Inside(all) => all.iter().map(Explanation::to_text).collect(),
            Self::Outside(all) => all.iter().map(OutsideExplanation::to_text).collect(),
        };
        text.join("\n")
    }
}

/// Explains every flow from the namespaces `from` names to those `to` names (each a tenant or a
/// namespace), or to the destination outside the cluster `to` names, unless a tenant or
/// namespace has that name. `Err`: a name that stands for nothing, with what it may mean.
pub fn explain_names(
    model: &Model,
    intent: &Intent,
    from: &str,
    to: &str,
    port: Option<(Protocol, u16)>,
) -> Result<Explained, String> {
    let names = |n: &str| namespaces_named(model, intent, n);
    if intent.destinations.contains_key(to) && names(to).is_err() {
        let all = names(from)?
            .iter()
            .filter_map(|f| explain_outside(model, intent, f, to, port))
            .collect();
        return Ok(Explained::Outside(all));
    }
    let (froms, tos) = match (names(from), names(to)) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    let all = froms
        .iter()
        .flat_map(|f| tos.iter().map(move |t| (f, t)))
        .map(|(f, t)| explain(model, intent, f, t, port))
        .collect();
    Ok(Explained::Inside(all))
}

/// The namespaces a name stands for: a tenant's, or the namespace of that name.
pub fn namespaces_named(model: &Model, intent: &Intent, name: &str) -> Result<Vec<String>, String> {
    if let Some((_, nss)) = intent.tenants.iter().find(|(t, _)| t.as_str() == name) {
        return Ok(nss.iter().map(ToString::to_string).collect());
    }
    if intent.namespace(name).is_some() || model.id(name).is_some() {
        return Ok(vec![name.to_owned()]);
    }
    let known: Vec<&str> = intent
        .tenants
        .keys()
        .map(|t| t.as_str())
        .chain(model.names.iter().skip(1).map(String::as_str))
        .collect();
    let best = known
        .iter()
        .map(|k| (strsim::jaro_winkler(k, name), *k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    Err(match best {
        Some((_, k)) => format!("no tenant or namespace `{name}`; did you mean `{k}`?"),
        None => format!("no tenant or namespace `{name}` in tenants.toml or the tree"),
    })
}

fn side(model: &Model, ns: &str, dir: Direction, peer: &str) -> SideVerdict {
    let id = model.id(ns);
    let in_tree = id.is_some_and(|i| model.in_tree(i) || model.policies.contains_key(&i));
    let Some(id) = id.filter(|_| in_tree) else {
        return SideVerdict {
            namespace: ns.to_owned(),
            state: "not in the tree",
            allowed: PortSet::all(),
            rules: Vec::new(),
            isolated_by: Vec::new(),
        };
    };
    let s: &Side = model.net_of(id).side(dir);
    let isolated_by: Vec<Origin> = s
        .isolating_all
        .iter()
        .chain(&s.isolating_some)
        .map(|i| model.tree.policies[*i].origin.clone())
        .collect();
    let peer_id = model.id(peer).unwrap_or(crate::verify::model::OTHER);
    let (allowed, grants) = model.allowed(id, dir, peer_id);
    let rules = grants
        .into_iter()
        .map(|g| {
            let policy = &model.tree.policies[g.policy as usize];
            Rule {
                object: policy.origin.clone(),
                ports: g.allowed.ports.clone(),
                peer_pods: match &g.allowed.peer {
                    GrantPeer::Namespaces { pods: Some(p), .. } => p.describe(),
                    GrantPeer::Everything => "everything".into(),
                    _ => "every pod".into(),
                },
                applies_to: policy.pod_selector.describe(),
            }
        })
        .collect();
    SideVerdict {
        namespace: ns.to_owned(),
        state: if isolated_by.is_empty() {
            "not isolated"
        } else {
            "isolated"
        },
        allowed,
        rules,
        isolated_by,
    }
}

pub fn explain(
    model: &Model,
    intent: &Intent,
    from: &str,
    to: &str,
    port: Option<(Protocol, u16)>,
) -> Explanation {
    let mut intended = PortSet::none();
    let mut reasons = Vec::new();
    if let Some(ns) = intent.namespace(from) {
        let peer = model.id(to).unwrap_or(crate::verify::model::OTHER);
        for e in expectations(model, ns, Direction::Egress) {
            if e.peer == peer {
                intended.union_with(&e.ports);
                reasons.push(why_text(intent, from, to, e.why));
            }
        }
    }
    if intent.namespace(from).is_none() {
        // A platform caller (ingress controller, monitoring): the callee's ingress intent.
        if let Some(ns) = intent.namespace(to) {
            let peer = model.id(from).unwrap_or(crate::verify::model::OTHER);
            for e in expectations(model, ns, Direction::Ingress) {
                if e.peer == peer {
                    intended.union_with(&e.ports);
                    reasons.push(why_text(intent, from, to, e.why));
                }
            }
        }
    }
    // Under STRICT mTLS a caller outside the mesh can only ever reach the ports served outside
    // the inbound chain: that is what tenants.toml's grant to it means there (DESIGN: the
    // scraper needs 15020).
    let index = crate::verify::layer::authz::Index::of(model, intent);
    if let Some(ports) = crate::verify::layer::authz::plaintext_ports(&index, intent, from, to) {
        intended = intended.minus(&crate::verify::layer::authz::tcp_all().minus(&ports));
    }
    let egress = side(model, from, Direction::Egress, to);
    let ingress = side(model, to, Direction::Ingress, from);
    let mut allowed = egress.allowed.intersect(&ingress.allowed);
    let mut authorization = Vec::new();
    if let Some((ports, lines)) = crate::verify::layer::authz::explain(model, intent, from, to) {
        // The identity layer decides TCP only; ambient's HBONE port carries the flow itself.
        let mut denied = allowed
            .intersect(&crate::verify::layer::authz::tcp_all())
            .minus(&ports);
        if let Some(ns) = intent.namespace(to) {
            denied = crate::verify::layer::netpol::without_hbone(ns, denied);
        }
        allowed = allowed.minus(&denied);
        authorization = lines;
    }
    let sidecar = intent
        .namespace(from)
        .and_then(|ns| ns.mesh.as_ref())
        .and_then(|mesh| {
            let id = model.id(from)?;
            let (effective, _) = model.effective_sidecars(id, Some(mesh.namespace.as_str()));
            let Some(&sc) = effective.first() else {
                return Some(SidecarVerdict {
                    imports: true,
                    hosts: vec!["(no Sidecar: every namespace)".into()],
                    object: None,
                });
            };
            let (scope, _) = model.scope_of(sc, from);
            let hosts: Vec<String> = scope
                .hosts
                .iter()
                .filter(|h| match h {
                    Host::AnyNamespace(_) => true,
                    Host::In(n, _) => n == to,
                    Host::NoNamespace => false,
                })
                .map(host_text)
                .collect();
            Some(SidecarVerdict {
                imports: !hosts.is_empty(),
                hosts,
                object: Some(model.tree.sidecars[sc].origin.clone()),
            })
        });
    let port_verdict = port.map(|(p, n)| PortVerdict {
        port: format!("{}/{n}", p.as_str()),
        allowed: allowed.contains(p, n),
    });
    let matches_intent = match port {
        Some((p, n)) => allowed.contains(p, n) == intended.contains(p, n),
        None => allowed == intended || (intended.is_empty() && allowed.is_empty()),
    };
    Explanation {
        from: from.to_owned(),
        to: to.to_owned(),
        intended,
        reasons,
        egress,
        ingress,
        sidecar,
        authorization,
        allowed,
        port: port_verdict,
        matches_intent,
    }
}

fn ports_words(p: &PortSet) -> String {
    if p.is_all() {
        "on every port".into()
    } else {
        format!("on {p}")
    }
}

fn side_text(s: &SideVerdict, dir: &str) -> String {
    let mut out = match s.state {
        "not in the tree" => format!(
            "  {dir} of {}: not in the tree; tenantc does not know its policies\n",
            s.namespace
        ),
        "not isolated" => format!(
            "  {dir} of {}: not isolated (no policy has policyType {}), so everything is allowed\n",
            s.namespace,
            if dir == "egress" { "Egress" } else { "Ingress" }
        ),
        _ if s.rules.is_empty() => format!(
            "  {dir} of {}: denied: isolated by {}, and no rule allows it\n",
            s.namespace,
            s.isolated_by
                .iter()
                .map(|o| o.name.clone())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => format!(
            "  {dir} of {}: allowed {}\n",
            s.namespace,
            ports_words(&s.allowed)
        ),
    };
    for r in &s.rules {
        let mut what = ports_words(&r.ports);
        if r.peer_pods != "every pod" {
            let way = if dir == "egress" { "to" } else { "from" };
            what.push_str(&format!(" {way} pods {}", r.peer_pods));
        }
        if r.applies_to != "every pod" {
            what.push_str(&format!(", for its pods {}", r.applies_to));
        }
        out.push_str(&format!("    by {} ({what})\n", r.object));
    }
    out
}

impl Explanation {
    pub fn to_text(&self) -> String {
        let mut out = format!("{} -> {}\n", self.from, self.to);
        if self.intended.is_empty() {
            out.push_str("  tenants.toml: denied (no rule allows it)\n");
        } else {
            out.push_str(&format!(
                "  tenants.toml: allowed {} ({})\n",
                ports_words(&self.intended),
                self.reasons.join("; ")
            ));
        }
        out.push_str(&side_text(&self.egress, "egress"));
        out.push_str(&side_text(&self.ingress, "ingress"));
        if let Some(sc) = &self.sidecar {
            let object = sc
                .object
                .as_ref()
                .map(|o| format!(" ({o})"))
                .unwrap_or_default();
            if sc.imports {
                out.push_str(&format!(
                    "  Sidecar of {}: imports {} via {}{object}\n",
                    self.from,
                    self.to,
                    sc.hosts
                        .iter()
                        .map(|h| format!("`{h}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            } else {
                out.push_str(&format!(
                    "  Sidecar of {}: no host imports {}{object}\n",
                    self.from, self.to
                ));
            }
        }
        for line in &self.authorization {
            out.push_str(&format!("  {line}\n"));
        }
        out.push_str(&verdict_line(
            &self.allowed,
            self.port.as_ref(),
            self.matches_intent,
        ));
        out
    }
}

/// `  verdict: allowed on TCP/443; TCP/443 is allowed, as tenants.toml says`, for both kinds of
/// explanation.
fn verdict_line(allowed: &PortSet, port: Option<&PortVerdict>, matches_intent: bool) -> String {
    let verdict = if allowed.is_empty() {
        "denied".to_owned()
    } else {
        format!("allowed {}", ports_words(allowed))
    };
    let port = port
        .map(|v| {
            format!(
                "; {} is {}",
                v.port,
                if v.allowed { "allowed" } else { "denied" }
            )
        })
        .unwrap_or_default();
    format!(
        "  verdict: {verdict}{port}, {}\n",
        if matches_intent {
            "as tenants.toml says"
        } else {
            "which is NOT what tenants.toml says (run `tenantc verify`)"
        }
    )
}
