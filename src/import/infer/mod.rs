//! From evaluated policies to tenants.toml's terms: which namespaces form a tenant, which are
//! shared services, which are the platform (DNS, the mesh control plane, the ingress controller,
//! monitoring), and every flow between them (consumers and their ports, exposes, destinations
//! outside the cluster, the Kubernetes API). Each inference keeps the reason it was made, for
//! the draft's comments and the report.
//!
//! The rule throughout: the draft must never allow what the imported policies did not. Where
//! tenants.toml cannot say exactly what the policies say (some namespaces of a tenant call a
//! shared service, the ingress controller is admitted on some ports only), the draft says less
//! and the report names the flow that closes; the proof then lists it.
//!
//! One step per file, run in order by [`infer`]: `platform` (the components the grants point to),
//! `groups` (the managed namespaces and the tenants and shared services they form), `outside`
//! (ipBlocks: DNS, the Kubernetes API, externals, the cluster's ranges), `mesh` (Sidecars,
//! PeerAuthentications, AuthorizationPolicies), `flows` (consumers, exposes and the entries);
//! `names` and `ports` say how the draft writes names and port lists.

mod flows;
mod groups;
mod mesh;
mod names;
mod outside;
mod platform;
mod ports;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::verify::layer::netpol::PortSet;
use crate::verify::model::{Direction, Model};
use crate::verify::tree::Origin;

/// How import is told what it cannot see in the policies.
#[derive(Clone, Debug, Default)]
pub struct Hints {
    /// Namespaces with the same value of this label form one tenant, named by the value.
    pub tenant_label: Option<String>,
    pub pod_cidrs: Vec<String>,
    pub service_cidrs: Vec<String>,
}

/// Labels as tenants.toml writes them.
pub type Labels = BTreeMap<String, String>;

/// `"*"` or a list of tenant and shared names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Consumers {
    #[serde(serialize_with = "star")]
    Every,
    Names(Vec<String>),
}

fn star<S: serde::Serializer>(s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("*")
}

/// A platform component found in the policies.
#[derive(Clone, Debug, Serialize)]
pub struct Component {
    pub namespace: String,
    pub pod_labels: Labels,
    /// The ports its flows use (DNS: the pods' ports; monitoring: the scraped ports; empty:
    /// every port).
    pub ports: Vec<u16>,
    pub why: String,
    /// Why the draft leaves it commented out (its grant would open flows the policies deny).
    pub withheld: Option<String>,
    /// Its pods are in the mesh: its Namespace is labelled for injection or ambient, or an
    /// AuthorizationPolicy admits it by namespace (which needs a workload identity).
    pub mesh: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Mesh {
    pub namespace: String,
    pub pod_labels: Labels,
    pub outbound_traffic_policy: Option<String>,
    pub mtls: Option<String>,
    pub authorization: bool,
    pub why: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct KubeApi {
    pub cidrs: Vec<String>,
    pub ports: Vec<u16>,
    pub why: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Shared {
    pub name: String,
    pub consumers: Consumers,
    pub ports: Vec<u16>,
    pub ingress: bool,
    pub labels: Labels,
    pub annotations: Labels,
    pub why: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Expose {
    pub namespace: String,
    pub consumers: Vec<String>,
    pub ports: Vec<u16>,
    pub why: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Tenant {
    pub name: String,
    pub namespaces: Vec<String>,
    pub labels: Labels,
    pub annotations: Labels,
    /// The namespaces that admit the ingress controller on every port.
    pub ingress: Vec<String>,
    /// Namespaces that admit it on some ports only: not granted (tenantc admits every port).
    pub ingress_withheld: Vec<String>,
    pub kube_api: bool,
    pub exposes: Vec<Expose>,
    pub why: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct External {
    pub name: String,
    pub hosts: Vec<String>,
    pub cidrs: Vec<String>,
    pub ports: Vec<u16>,
    pub protocol: String,
    pub consumers: Vec<String>,
    pub why: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ClusterRanges {
    pub pod_cidrs: Vec<String>,
    pub service_cidrs: Vec<String>,
    /// Taken from the ipBlocks' excepts, not given with `--pod-cidrs` / `--service-cidrs`.
    pub guessed: bool,
}

/// What tenants.toml will say.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Draft {
    pub cluster: Option<ClusterRanges>,
    pub dns: Option<Component>,
    pub dns_cidrs: Vec<String>,
    pub ingress: Option<Component>,
    pub monitoring: Option<Component>,
    pub kube_api: Option<KubeApi>,
    pub mesh: Option<Mesh>,
    pub shared: Vec<Shared>,
    pub externals: Vec<External>,
    /// Externals that need the cluster's ranges, which nothing gave: left commented out.
    pub externals_withheld: bool,
    pub tenants: Vec<Tenant>,
}

/// Something the draft cannot say, with the object that says it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Note {
    /// `pod-level`, `named-port`, `l7`, `denial-inside-tenant`, `unmodelled-kind`,
    /// `spoofable-label`, `partial-consumer`, `ports`, ...
    pub kind: &'static str,
    /// `file: Kind name`, or empty when it is about the cluster as a whole.
    pub object: String,
    pub message: String,
}

impl Note {
    fn of(kind: &'static str, origin: Option<&Origin>, message: String) -> Self {
        Self {
            kind,
            object: origin.map(object_text).unwrap_or_default(),
            message,
        }
    }
}

/// `file: Kind name`.
pub fn object_text(o: &Origin) -> String {
    format!("{}: {} {}", o.file, o.kind, o.name)
}

pub struct Inferred {
    pub draft: Draft,
    pub notes: Vec<Note>,
}

/// The evaluated policies, seen per namespace pair.
struct Reach<'m> {
    m: &'m Model,
    cache: HashMap<(u32, u32), PortSet>,
}

impl Reach<'_> {
    fn get(&mut self, a: u32, b: u32) -> PortSet {
        if let Some(p) = self.cache.get(&(a, b)) {
            return p.clone();
        }
        let p = self
            .m
            .allowed(a, Direction::Egress, b)
            .0
            .intersect(&self.m.allowed(b, Direction::Ingress, a).0);
        self.cache.insert((a, b), p.clone());
        p
    }
}

/// The draft of tenants.toml the evaluated policies `m` call for, and what it cannot say.
pub fn infer(m: &Model, hints: &Hints) -> Inferred {
    let mut notes: Vec<Note> = Vec::new();
    let mut draft = Draft::default();
    let mut reach = Reach {
        m,
        cache: HashMap::new(),
    };
    let found = platform::components(m, &mut draft);
    let groups = groups::groups(m, hints, &found.namespaces, &mut reach, &mut notes);
    let ingress_admits = platform::admitted(
        m,
        &mut reach,
        &groups.managed,
        &found,
        &mut draft,
        &mut notes,
    );
    let kube_api_users = outside::outside(m, hints, &groups, &mut draft, &mut notes);
    mesh::mesh(
        m,
        &groups.managed,
        found.mesh.as_ref(),
        &mut draft,
        &mut notes,
    );
    (draft.shared, draft.tenants) = flows::entries(
        m,
        hints,
        &groups,
        &mut reach,
        &ingress_admits,
        &kube_api_users,
        &mut notes,
    );
    draft.tenants.sort_by(|a, b| a.name.cmp(&b.name));
    draft.shared.sort_by(|a, b| a.name.cmp(&b.name));
    if draft.kube_api.is_some() && !draft.tenants.iter().any(|t| t.kube_api) {
        draft.kube_api = None;
    }
    notes.extend(flows::pod_level_notes(
        m,
        &groups.managed,
        &found.namespaces,
    ));
    notes.sort();
    notes.dedup();
    Inferred { draft, notes }
}
