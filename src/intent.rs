//! Stage 3, intent: who may talk to whom. This graph is the one source of both the NetworkPolicies
//! and the Sidecar hosts, so the two layers agree by construction; `verify` compares the files on
//! disk against it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;

use crate::model::{
    shared_dir, tenant_dir, Cidr, Cluster, Config, Consumer, Consumers, DataplaneMode, Dns,
    External, ExternalName, GitOps, KubeApi, Labels, Monitoring, NamespaceName,
    OutboundTrafficPolicy, PlatformPods, Port, RetiredOwner, TenantName, GITOPS_DIR,
    METADATA_CIDRS,
};
use crate::resolve::lifecycle::PROTECTION;
use crate::resolve::{
    LABEL_CLUSTER, LABEL_DATAPLANE_MODE, LABEL_INJECTION, LABEL_MANAGED_BY, LABEL_RETIRED,
    LABEL_REVISION, LABEL_SHARED, LABEL_TENANT,
};

/// Istio's port for xDS and certificate signing over mTLS, the one port a sidecar must reach on
/// istiod. https://istio.io/latest/docs/ops/deployment/application-requirements/#ports-used-by-istio
pub const ISTIOD_XDS_PORT: Port = Port::known(15012);
/// The sidecar's merged Prometheus metrics port (Envoy, agent and application metrics).
/// https://istio.io/latest/docs/ops/deployment/application-requirements/#ports-used-by-istio
pub const ISTIO_METRICS_PORT: Port = Port::known(15020);
/// Ambient mode's HBONE tunnel: traffic between ambient pods reaches the destination pod on this
/// port, so a NetworkPolicy that limits a flow to some ports must also allow it.
/// https://istio.io/latest/docs/ambient/usage/networkpolicy/
pub const HBONE_PORT: Port = Port::known(15008);
/// Ambient mode SNATs the kubelet's health probes to this link-local address, which the
/// NetworkPolicies must admit. https://istio.io/latest/docs/ambient/usage/networkpolicy/
pub const AMBIENT_PROBE_CIDR: &str = "169.254.7.127/32";

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Tenant,
    Shared,
    /// Retired (`retired` in tenants.toml): a Namespace and a deny-all policy, no flow at all.
    Retired,
}

/// Everything one namespace may do, and what it carries. What a tenant's namespaces (or every
/// namespace) have in common is shared behind an `Arc`, not copied: at 10,000 tenants the copies
/// were most of the intent's memory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NamespaceIntent {
    pub name: NamespaceName,
    pub role: Role,
    /// The tenant that owns it; for a shared namespace, `None`.
    pub tenant: Option<TenantName>,
    /// Keys and values are shared with every other namespace's equal ones.
    pub labels: Arc<BTreeMap<Arc<str>, Arc<str>>>,
    pub annotations: Arc<BTreeMap<String, String>>,
    /// The owner's namespaces, this one included: allowed both ways on every port.
    pub same_owner: Arc<BTreeSet<NamespaceName>>,
    /// Namespaces of others allowed in: a shared namespace's consumers, or an exposed tenant
    /// namespace's. In on `consumer_ports` only.
    pub consumers: BTreeSet<NamespaceName>,
    /// The TCP ports `consumers` may reach; empty: every port.
    pub consumer_ports: BTreeSet<Port>,
    /// Other owners' namespaces this one may call, each with its ports and the rule that says so.
    pub calls: Arc<Vec<Call>>,
    /// `calls` of shared namespaces, grouped by ports for the `allow-shared-services` policy.
    pub shared_egress: Arc<Vec<PortGroup>>,
    /// `calls` of exposed tenant namespaces, grouped by ports for `allow-exposed-services`.
    pub exposed_egress: Arc<Vec<PortGroup>>,
    /// Destinations outside the cluster: external entries it consumes, then the Kubernetes API.
    pub outside: Arc<Vec<OutsideFlow>>,
    /// With `[mesh]`: the registry entries its sidecars need for `outside` (and the DNS caches).
    pub service_entries: Arc<Vec<ServiceEntryIntent>>,
    pub dns: Arc<Dns>,
    /// The ingress controller's pods, when this namespace accepts ingress traffic.
    pub ingress_controller: Option<Arc<PlatformPods>>,
    pub monitoring: Option<Arc<MonitoringIntent>>,
    pub mesh: Option<Arc<MeshIntent>>,
}

/// The tenants.toml rule that grants a flow, for every layer and for `explain` and `diff`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Rule {
    /// `[shared.<shared>]` lists the caller as a consumer.
    Shared { shared: NamespaceName },
    /// `[tenants.<tenant>.expose.<namespace>]` lists the caller as a consumer.
    Exposed {
        tenant: TenantName,
        namespace: NamespaceName,
    },
    /// `[external.<name>]` lists the caller as a consumer.
    External { name: ExternalName },
    /// `kube_api = true` on the caller's tenant.
    KubeApi,
}

impl Rule {
    /// Where the rule is written in tenants.toml.
    pub fn table(&self) -> String {
        match self {
            Self::Shared { shared } => format!("[shared.{shared}]"),
            Self::Exposed { tenant, namespace } => format!("[tenants.{tenant}.expose.{namespace}]"),
            Self::External { name } => format!("[external.{name}]"),
            Self::KubeApi => "kube_api = true".into(),
        }
    }
}

/// One namespace of another owner that a namespace may call.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Call {
    pub namespace: NamespaceName,
    /// TCP ports; empty: every port.
    pub ports: BTreeSet<Port>,
    pub rule: Rule,
}

/// Namespaces reached on the same ports: one NetworkPolicy rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PortGroup {
    /// TCP ports; empty: every port.
    pub ports: BTreeSet<Port>,
    pub namespaces: BTreeSet<NamespaceName>,
}

/// One ipBlock of a flow out of the cluster: the range, less what it must not open.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IpBlock {
    pub cidr: Cidr,
    /// The cluster's own ranges and the cloud metadata addresses inside `cidr`.
    pub except: Vec<Cidr>,
}

/// A flow out of the cluster: to an external entry, or to the Kubernetes API server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutsideFlow {
    pub rule: Rule,
    /// Its DNS names, for the comment and the ServiceEntry (external entries only).
    pub hosts: Vec<String>,
    pub blocks: Vec<IpBlock>,
    /// TCP ports.
    pub ports: BTreeSet<Port>,
}

/// One port of a ServiceEntry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceEntryPort {
    pub number: Port,
    pub name: String,
    pub protocol: &'static str,
}

/// A ServiceEntry in the namespace that uses it, exported to that namespace alone (`exportTo:
/// ["."]`): its consumers' sidecars learn it, and no other namespace's can, whatever the number
/// of consumers (a list of consumer namespaces in one object would grow with the tenants).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceEntryIntent {
    pub name: String,
    /// What it is for, in tenants.toml's terms (the comment above it).
    pub purpose: String,
    pub hosts: Vec<String>,
    /// CIDRs, when traffic is matched by address (no DNS names to match on).
    pub addresses: Vec<Cidr>,
    pub ports: Vec<ServiceEntryPort>,
    /// `DNS` for names Envoy resolves; `NONE` for wildcards and addresses (original destination).
    pub resolution: &'static str,
}

/// A reserved top-level domain (RFC 2606): the registry name of an entry reached by address only,
/// which can never collide with a real DNS name.
pub const ADDRESS_ONLY_DOMAIN: &str = "tenantc.invalid";

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MonitoringIntent {
    pub namespace: NamespaceName,
    pub pod_labels: Labels,
    /// Ports monitoring may scrape; empty means every port.
    pub ports: BTreeSet<Port>,
    /// `[platform.monitoring] mesh = true`: an AuthorizationPolicy can admit it by namespace.
    pub in_mesh: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MeshIntent {
    pub namespace: NamespaceName,
    pub pod_labels: Arc<Labels>,
    pub xds_port: Port,
    /// The Sidecar's egress hosts, sorted and unique (sidecar mode).
    pub hosts: BTreeSet<Arc<str>>,
    pub outbound_traffic_policy: Option<OutboundTrafficPolicy>,
    /// `mode = "ambient"`: no Sidecar, no istiod egress, HBONE and probe ingress in the policies.
    pub ambient: bool,
    pub hbone_port: Port,
    pub probe_cidr: &'static str,
    /// The PeerAuthentication mode (`STRICT`, `PERMISSIVE`); `None`: no PeerAuthentication.
    pub mtls: Option<&'static str>,
    /// AuthorizationPolicies: deny by default, ALLOW by `source.namespaces` what the intent admits.
    pub authorization: bool,
}

impl MeshIntent {
    /// The ports a port-restricted flow is allowed on by NetworkPolicy: in ambient mode the
    /// HBONE port besides the flow's own (an empty set, every port, stays empty).
    pub fn network_ports(&self, ports: &BTreeSet<Port>) -> BTreeSet<Port> {
        let mut out = ports.clone();
        if self.ambient && !out.is_empty() {
            out.insert(self.hbone_port);
        }
        out
    }
}

/// The connectivity graph of the whole cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Intent {
    pub cluster_name: Option<String>,
    pub namespaces: BTreeMap<NamespaceName, NamespaceIntent>,
    pub tenants: BTreeMap<TenantName, BTreeSet<NamespaceName>>,
    pub shared: BTreeSet<NamespaceName>,
    /// Retired namespaces and the tenant whose directory keeps them (`None`: a retired shared
    /// entry, in its own directory). In neither `tenants` nor `shared`: they have no flows.
    pub retired: BTreeMap<NamespaceName, Option<TenantName>>,
    /// Every destination outside the cluster by the name `explain` knows it by (an external
    /// entry's name, or [`KUBE_API_TARGET`]), as a consumer of it gets it.
    pub destinations: BTreeMap<String, OutsideFlow>,
}

/// The name `explain` and `graph` give the Kubernetes API server.
pub const KUBE_API_TARGET: &str = "kube-api";

impl Intent {
    pub fn tenant_count(&self) -> usize {
        self.tenants.len()
    }
}

pub fn intent_of(config: &Config) -> Intent {
    let dns_host = format!(
        "{ns}/{svc}.{ns}.svc.{domain}",
        ns = config.platform.dns.namespace,
        svc = config.platform.dns.service,
        domain = config.cluster.domain
    );
    let kube_api_host = format!("default/kubernetes.default.svc.{}", config.cluster.domain);
    let mut interned = Interned::default();
    let mesh_pod_labels = config.mesh.as_ref().map(|m| Arc::new(m.pod_labels.clone()));
    let mesh_for = |own: &mut dyn Iterator<Item = String>,
                    calls: &[Call],
                    kube_api: bool,
                    interned: &mut Interned| {
        config.mesh.as_ref().map(|m| {
            let mut hosts: BTreeSet<Arc<str>> = own.map(|h| interned.host(h)).collect();
            for c in calls {
                hosts.insert(interned.host(format!("{}/*", c.namespace)));
            }
            hosts.insert(interned.host(format!("{}/*", m.namespace)));
            hosts.insert(interned.host(dns_host.clone()));
            if kube_api {
                hosts.insert(interned.host(kube_api_host.clone()));
            }
            MeshIntent {
                namespace: m.namespace.clone(),
                pod_labels: mesh_pod_labels.clone().unwrap_or_default(),
                xds_port: ISTIOD_XDS_PORT,
                hosts,
                outbound_traffic_policy: m.outbound_traffic_policy,
                ambient: m.mode == DataplaneMode::Ambient,
                hbone_port: HBONE_PORT,
                probe_cidr: AMBIENT_PROBE_CIDR,
                mtls: m.mtls.map(|t| t.as_str()),
                authorization: m.authorization,
            }
        })
    };
    let monitoring = config.platform.monitoring.as_ref().map(|m: &Monitoring| {
        let mut ports = m.ports.clone();
        // Istio merges application metrics into the sidecar's 15020, so a port list must include
        // it; an ambient pod has no sidecar and no 15020.
        let sidecars = config
            .mesh
            .as_ref()
            .is_some_and(|m| m.mode == DataplaneMode::Sidecar);
        if !ports.is_empty() && sidecars {
            ports.insert(ISTIO_METRICS_PORT);
        }
        MonitoringIntent {
            namespace: m.pods.namespace.clone(),
            pod_labels: m.pods.pod_labels.clone(),
            ports,
            in_mesh: m.pods.in_mesh,
        }
    });
    // The labels the compiler sets on every namespace, shared by all.
    let mut common: BTreeMap<Arc<str>, Arc<str>> = BTreeMap::new();
    common.insert(LABEL_MANAGED_BY.into(), "tenantc".into());
    if let Some(c) = &config.cluster.name {
        common.insert(LABEL_CLUSTER.into(), c.as_str().into());
    }
    if let Some(m) = &config.mesh {
        if m.mode == DataplaneMode::Ambient {
            common.insert(LABEL_DATAPLANE_MODE.into(), "ambient".into());
            if let Some(rev) = &m.revision {
                common.insert(LABEL_REVISION.into(), rev.as_str().into());
            }
        } else {
            match &m.revision {
                Some(rev) => common.insert(LABEL_REVISION.into(), rev.as_str().into()),
                None => common.insert(LABEL_INJECTION.into(), "enabled".into()),
            };
        }
    }
    let (tenant_key, shared_key): (Arc<str>, Arc<str>) = (LABEL_TENANT.into(), LABEL_SHARED.into());
    let yes: Arc<str> = "true".into();
    let base_labels = |role_label: (&Arc<str>, Arc<str>), user: &Labels| {
        let mut labels: BTreeMap<Arc<str>, Arc<str>> =
            user.iter().map(|(k, v)| (k.to_arc(), v.to_arc())).collect();
        labels.extend(common.iter().map(|(k, v)| (k.clone(), v.clone())));
        labels.insert(role_label.0.clone(), role_label.1);
        labels
    };
    // The user's annotations and the ones that keep a sync from deleting the namespace; equal
    // ones (most namespaces have no annotation of the user's) are shared.
    let mut annotations_of: BTreeMap<&crate::model::Annotations, Arc<BTreeMap<String, String>>> =
        BTreeMap::new();
    let mut strings = |a| {
        annotations_of
            .entry(a)
            .or_insert_with(|| {
                let mut out: BTreeMap<String, String> =
                    a.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
                for (k, v) in PROTECTION {
                    out.insert(k.into(), v.into());
                }
                Arc::new(out)
            })
            .clone()
    };
    let graph = Grants::of(config);
    let dns = Arc::new(config.platform.dns.clone());
    let monitoring = monitoring.map(Arc::new);
    let ingress = config.platform.ingress.clone().map(Arc::new);

    let mut namespaces = BTreeMap::new();
    for (name, shared) in &config.shared {
        let me = Consumer::Shared(name.clone());
        let egress = interned.egress(graph.calls_of(&me));
        let outside = interned.outside(&graph, &me, false);
        let mesh = mesh_for(
            &mut std::iter::once("./*".to_owned()),
            &egress.calls,
            false,
            &mut interned,
        );
        let intent = NamespaceIntent {
            name: name.clone(),
            role: Role::Shared,
            tenant: None,
            labels: Arc::new(base_labels((&shared_key, yes.clone()), &shared.labels)),
            annotations: strings(&shared.annotations),
            same_owner: Arc::new([name.clone()].into_iter().collect()),
            consumers: graph.namespaces_of(&shared.consumers, Some(&me)),
            consumer_ports: shared.ports.clone(),
            calls: egress.calls,
            shared_egress: egress.shared,
            exposed_egress: egress.exposed,
            outside: outside.flows,
            service_entries: outside.service_entries,
            dns: dns.clone(),
            ingress_controller: ingress.clone().filter(|_| shared.ingress),
            monitoring: monitoring.clone(),
            mesh: mesh.map(Arc::new),
        };
        namespaces.insert(name.clone(), intent);
    }
    let mut tenants = BTreeMap::new();
    for (tname, tenant) in &config.tenants {
        tenants.insert(tname.clone(), tenant.namespaces.clone());
        let me = Consumer::Tenant(tname.clone());
        let egress = interned.egress(graph.calls_of(&me));
        let outside = interned.outside(&graph, &me, tenant.kube_api);
        let mesh = mesh_for(
            &mut tenant.namespaces.iter().map(|n| format!("{n}/*")),
            &egress.calls,
            tenant.kube_api,
            &mut interned,
        )
        .map(Arc::new);
        let labels = Arc::new(base_labels((&tenant_key, tname.to_arc()), &tenant.labels));
        let annotations = strings(&tenant.annotations);
        let same_owner = Arc::new(tenant.namespaces.clone());
        for ns in &tenant.namespaces {
            let expose = tenant.expose.get(ns);
            let intent = NamespaceIntent {
                name: ns.clone(),
                role: Role::Tenant,
                tenant: Some(tname.clone()),
                labels: labels.clone(),
                annotations: annotations.clone(),
                same_owner: same_owner.clone(),
                consumers: expose
                    .map(|e| graph.namespaces_of(&e.consumers, Some(&me)))
                    .unwrap_or_default(),
                consumer_ports: expose.map(|e| e.ports.clone()).unwrap_or_default(),
                shared_egress: egress.shared.clone(),
                exposed_egress: egress.exposed.clone(),
                calls: egress.calls.clone(),
                outside: outside.flows.clone(),
                service_entries: outside.service_entries.clone(),
                dns: dns.clone(),
                ingress_controller: ingress.clone().filter(|_| tenant.ingress.contains(ns)),
                monitoring: monitoring.clone(),
                mesh: mesh.clone(),
            };
            namespaces.insert(ns.clone(), intent);
        }
    }
    let mut retired = BTreeMap::new();
    for (name, r) in &config.retired {
        let (tenant, owner_label) = match &r.owner {
            RetiredOwner::Tenant(t) => (Some(t.clone()), (&tenant_key, t.to_arc())),
            RetiredOwner::Shared => (None, (&shared_key, yes.clone())),
        };
        let mut labels = base_labels(owner_label, &r.labels);
        // Nothing of the mesh applies: its pods could not reach istiod anyway.
        labels.remove(LABEL_INJECTION);
        labels.remove(LABEL_REVISION);
        labels.insert(LABEL_RETIRED.into(), yes.clone());
        retired.insert(name.clone(), tenant.clone());
        namespaces.insert(
            name.clone(),
            NamespaceIntent {
                name: name.clone(),
                role: Role::Retired,
                tenant,
                labels: Arc::new(labels),
                annotations: strings(&r.annotations),
                same_owner: Arc::default(),
                consumers: BTreeSet::new(),
                consumer_ports: BTreeSet::new(),
                calls: Arc::default(),
                shared_egress: Arc::default(),
                exposed_egress: Arc::default(),
                outside: Arc::default(),
                service_entries: Arc::default(),
                dns: dns.clone(),
                ingress_controller: None,
                monitoring: None,
                mesh: None,
            },
        );
    }
    let kube_api = config.platform.kube_api.as_ref();
    let mut destinations: BTreeMap<String, OutsideFlow> = config
        .externals
        .iter()
        .map(|(name, e)| {
            let flow = OutsideFlow {
                rule: Rule::External { name: name.clone() },
                hosts: e.hosts.iter().cloned().collect(),
                blocks: external_blocks(e, &config.cluster, kube_api),
                ports: e.ports.clone(),
            };
            (name.to_string(), flow)
        })
        .collect();
    if let Some(k) = kube_api {
        destinations.insert(KUBE_API_TARGET.into(), kube_api_flow(k));
    }
    Intent {
        cluster_name: config.cluster.name.as_ref().map(|c| c.to_string()),
        namespaces,
        tenants,
        shared: config.shared.keys().cloned().collect(),
        retired,
        destinations,
    }
}

/// `calls` whose rule passes `keep`, grouped by their ports (each group one NetworkPolicy rule).
fn groups(calls: &[Call], keep: impl Fn(&Rule) -> bool) -> Vec<PortGroup> {
    let mut by_ports: BTreeMap<&BTreeSet<Port>, BTreeSet<NamespaceName>> = BTreeMap::new();
    for c in calls.iter().filter(|c| keep(&c.rule)) {
        by_ports
            .entry(&c.ports)
            .or_default()
            .insert(c.namespace.clone());
    }
    by_ports
        .into_iter()
        .map(|(ports, namespaces)| PortGroup {
            ports: ports.clone(),
            namespaces,
        })
        .collect()
}

/// A namespace's calls to other owners, and the same grouped by ports.
#[derive(Clone)]
struct Egress {
    calls: Arc<Vec<Call>>,
    shared: Arc<Vec<PortGroup>>,
    exposed: Arc<Vec<PortGroup>>,
}

/// A namespace's flows out of the cluster, and the ServiceEntries its sidecars need for them.
#[derive(Clone)]
struct Outside {
    flows: Arc<Vec<OutsideFlow>>,
    service_entries: Arc<Vec<ServiceEntryIntent>>,
}

/// What namespaces of different owners have in common, built once and shared: most tenants
/// consume the same shared and external entries, so their calls, port groups, outside flows and
/// ServiceEntries are equal, and so are the Sidecar hosts of those calls. At 100,000 tenants the
/// copies were most of the intent's memory.
#[derive(Default)]
struct Interned<'a> {
    egress: BTreeMap<Arc<Vec<Call>>, Egress>,
    outside: BTreeMap<(Vec<&'a ExternalName>, bool), Outside>,
    hosts: BTreeSet<Arc<str>>,
}

impl<'a> Interned<'a> {
    fn egress(&mut self, calls: Vec<Call>) -> Egress {
        if let Some(e) = self.egress.get(&calls) {
            return e.clone();
        }
        let e = Egress {
            shared: Arc::new(groups(&calls, |r| matches!(r, Rule::Shared { .. }))),
            exposed: Arc::new(groups(&calls, |r| matches!(r, Rule::Exposed { .. }))),
            calls: Arc::new(calls),
        };
        self.egress.insert(e.calls.clone(), e.clone());
        e
    }

    fn outside(&mut self, grants: &Grants<'a>, me: &Consumer, kube_api: bool) -> Outside {
        let key = (grants.externals_of(me), kube_api);
        if let Some(o) = self.outside.get(&key) {
            return o.clone();
        }
        let flows = grants.outside_of(&key.0, kube_api);
        let o = Outside {
            service_entries: Arc::new(grants.service_entries(&flows)),
            flows: Arc::new(flows),
        };
        self.outside.insert(key, o.clone());
        o
    }

    /// `host`, shared with every equal one.
    fn host(&mut self, host: String) -> Arc<str> {
        if let Some(h) = self.hosts.get(host.as_str()) {
            return h.clone();
        }
        let h: Arc<str> = host.into();
        self.hosts.insert(h.clone());
        h
    }
}

/// Who may use what, looked up per consumer: the config's grants indexed once, so that building
/// every namespace's intent stays linear in the size of the config.
struct Grants<'a> {
    config: &'a Config,
    /// Every tenant's namespaces, for `"*"`.
    all_tenant_namespaces: BTreeSet<NamespaceName>,
    /// The calls granted to a consumer by name, and to every tenant (`"*"`).
    calls: BTreeMap<Consumer, Vec<Call>>,
    calls_of_every_tenant: Vec<Call>,
    /// The external entries granted to a consumer by name, and to every tenant.
    externals: BTreeMap<Consumer, Vec<&'a ExternalName>>,
    externals_of_every_tenant: Vec<&'a ExternalName>,
}

impl<'a> Grants<'a> {
    fn of(config: &'a Config) -> Self {
        let mut g = Self {
            config,
            all_tenant_namespaces: config
                .tenants
                .values()
                .flat_map(|t| t.namespaces.iter().cloned())
                .collect(),
            calls: BTreeMap::new(),
            calls_of_every_tenant: Vec::new(),
            externals: BTreeMap::new(),
            externals_of_every_tenant: Vec::new(),
        };
        let shared = config.shared.iter().map(|(name, s)| {
            let rule = Rule::Shared {
                shared: name.clone(),
            };
            (name, &s.consumers, &s.ports, rule)
        });
        let exposed = config.tenants.iter().flat_map(|(t, tenant)| {
            tenant.expose.iter().map(move |(ns, e)| {
                let rule = Rule::Exposed {
                    tenant: t.clone(),
                    namespace: ns.clone(),
                };
                (ns, &e.consumers, &e.ports, rule)
            })
        });
        for (ns, consumers, ports, rule) in shared.chain(exposed) {
            let call = Call {
                namespace: ns.clone(),
                ports: ports.clone(),
                rule,
            };
            match consumers {
                Consumers::All => g.calls_of_every_tenant.push(call),
                Consumers::Only(set) => {
                    for c in set {
                        g.calls.entry(c.clone()).or_default().push(call.clone());
                    }
                }
            }
        }
        for (name, e) in &config.externals {
            match &e.consumers {
                Consumers::All => g.externals_of_every_tenant.push(name),
                Consumers::Only(set) => {
                    for c in set {
                        g.externals.entry(c.clone()).or_default().push(name);
                    }
                }
            }
        }
        g
    }

    /// The namespaces of `consumers`, less the grantor's own (`me`).
    fn namespaces_of(
        &self,
        consumers: &Consumers,
        me: Option<&Consumer>,
    ) -> BTreeSet<NamespaceName> {
        let mut out = match consumers {
            Consumers::All => self.all_tenant_namespaces.clone(),
            Consumers::Only(set) => set
                .iter()
                .flat_map(|c| self.namespaces_of_consumer(c))
                .collect(),
        };
        if let Some(me) = me {
            for n in self.namespaces_of_consumer(me) {
                out.remove(&n);
            }
        }
        out
    }

    fn namespaces_of_consumer(&self, c: &Consumer) -> Vec<NamespaceName> {
        match c {
            Consumer::Tenant(t) => self
                .config
                .tenants
                .get(t)
                .map(|t| t.namespaces.iter().cloned().collect())
                .unwrap_or_default(),
            Consumer::Shared(s) => vec![s.clone()],
        }
    }

    /// The shared and exposed namespaces `me` may call, never its own.
    fn calls_of(&self, me: &Consumer) -> Vec<Call> {
        let every_tenant = match me {
            Consumer::Tenant(_) => &self.calls_of_every_tenant[..],
            Consumer::Shared(_) => &[],
        };
        let own = self.namespaces_of_consumer(me);
        let mut out: Vec<Call> = self
            .calls
            .get(me)
            .into_iter()
            .flatten()
            .chain(every_tenant)
            .filter(|c| !own.contains(&c.namespace))
            .cloned()
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The external entries `me` may reach, sorted and unique.
    fn externals_of(&self, me: &Consumer) -> Vec<&'a ExternalName> {
        let every_tenant = match me {
            Consumer::Tenant(_) => &self.externals_of_every_tenant[..],
            Consumer::Shared(_) => &[],
        };
        let mut names: Vec<&ExternalName> = self
            .externals
            .get(me)
            .into_iter()
            .flatten()
            .chain(every_tenant)
            .copied()
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The destinations outside the cluster of a namespace that uses the external entries
    /// `names` ([`Self::externals_of`]), and the Kubernetes API when `kube_api`.
    fn outside_of(&self, names: &[&ExternalName], kube_api: bool) -> Vec<OutsideFlow> {
        let cluster = &self.config.cluster;
        let mut out: Vec<OutsideFlow> = names
            .iter()
            .copied()
            .filter_map(|name| Some((name, self.config.externals.get(name)?)))
            .map(|(name, e)| OutsideFlow {
                rule: Rule::External { name: name.clone() },
                hosts: e.hosts.iter().cloned().collect(),
                blocks: external_blocks(e, cluster, self.config.platform.kube_api.as_ref()),
                ports: e.ports.clone(),
            })
            .collect();
        if let (true, Some(k)) = (kube_api, &self.config.platform.kube_api) {
            out.push(kube_api_flow(k));
        }
        out
    }

    /// The registry entries the sidecars of a namespace with these outside flows need: one per
    /// external entry (the Kubernetes API is a Service, already in the registry), and one for
    /// node-local DNS caches, whose TCP answers pass Envoy.
    fn service_entries(&self, outside: &[OutsideFlow]) -> Vec<ServiceEntryIntent> {
        // In ambient mode nothing filters egress by the registry (ztunnel ignores REGISTRY_ONLY,
        // istio/istio#54281, and `exportTo`, istio/istio#55163): the ServiceEntries would only
        // be noise. NetworkPolicy's ipBlocks are the egress control there.
        if self
            .config
            .mesh
            .as_ref()
            .is_none_or(|m| m.mode == DataplaneMode::Ambient)
        {
            return Vec::new();
        }
        let mut out = Vec::new();
        for flow in outside {
            let Rule::External { name } = &flow.rule else {
                continue;
            };
            let Some(e) = self.config.externals.get(name) else {
                continue;
            };
            out.push(external_service_entry(name, e));
        }
        let dns = &self.config.platform.dns;
        if !dns.cidrs.is_empty() {
            out.push(ServiceEntryIntent {
                name: "node-local-dns".into(),
                purpose: "[platform.dns] cidrs: node-local DNS caches. DNS over TCP passes Envoy, so under REGISTRY_ONLY it needs a registry entry".into(),
                hosts: vec![format!("node-local-dns.{ADDRESS_ONLY_DOMAIN}")],
                addresses: dns.cidrs.iter().copied().collect(),
                ports: dns
                    .ports
                    .iter()
                    .map(|p| ServiceEntryPort {
                        number: *p,
                        name: format!("tcp-dns-{p}"),
                        protocol: "TCP",
                    })
                    .collect(),
                resolution: "NONE",
            });
        }
        out
    }
}

/// The flow to the Kubernetes API server: its own addresses, named exactly, nothing to except.
fn kube_api_flow(k: &KubeApi) -> OutsideFlow {
    OutsideFlow {
        rule: Rule::KubeApi,
        hosts: Vec::new(),
        blocks: k
            .cidrs
            .iter()
            .map(|c| IpBlock {
                cidr: *c,
                except: Vec::new(),
            })
            .collect(),
        ports: k.ports.clone(),
    }
}

fn external_service_entry(name: &ExternalName, e: &External) -> ServiceEntryIntent {
    let by_address = e.hosts.is_empty();
    // Without names to match on, traffic is matched by address and port: plain TCP.
    let protocol = if by_address {
        "TCP"
    } else {
        e.protocol.as_str()
    };
    let wildcard = e.hosts.iter().any(|h| h.starts_with("*."));
    ServiceEntryIntent {
        name: format!("external-{name}"),
        purpose: format!("[external.{name}]"),
        hosts: if by_address {
            vec![format!("{name}.{ADDRESS_ONLY_DOMAIN}")]
        } else {
            e.hosts.iter().cloned().collect()
        },
        addresses: if by_address {
            e.cidrs.iter().copied().collect()
        } else {
            Vec::new()
        },
        ports: e
            .ports
            .iter()
            .map(|p| ServiceEntryPort {
                number: *p,
                name: format!("{}-{p}", protocol.to_ascii_lowercase()),
                protocol,
            })
            .collect(),
        // Istio resolves names itself with DNS; a wildcard or an address goes to the original
        // destination (https://istio.io/latest/docs/reference/config/networking/service-entry/).
        resolution: if by_address || wildcard {
            "NONE"
        } else {
            "DNS"
        },
    }
}

/// The ipBlocks of an external entry: each CIDR less the cluster's ranges and the addresses that
/// must never open by accident (the cloud metadata addresses and the Kubernetes API server's
/// endpoints) inside it, unless the entry names such an address exactly. A range inside another
/// excepted range is left out: the outer one covers it.
pub fn external_blocks(
    e: &External,
    cluster: &Cluster,
    kube_api: Option<&KubeApi>,
) -> Vec<IpBlock> {
    let guarded: Vec<Cidr> = METADATA_CIDRS
        .iter()
        .filter_map(|m| m.parse().ok())
        .chain(kube_api.into_iter().flat_map(|k| k.cidrs.iter().copied()))
        .filter(|m| !e.cidrs.contains(m))
        .collect();
    e.cidrs
        .iter()
        .map(|cidr| {
            let inside: BTreeSet<Cidr> = cluster
                .ranges()
                .chain(&guarded)
                .filter(|r| *r != cidr && cidr.contains(*r))
                .copied()
                .collect();
            let except: BTreeSet<Cidr> = inside
                .iter()
                .filter(|r| !inside.iter().any(|o| o != *r && o.contains(*r)))
                .copied()
                .collect();
            IpBlock {
                cidr: *cidr,
                except: except.into_iter().collect(),
            }
        })
        .collect()
}

/// The object name of the GitOps root: the AppProject and Application (Argo CD) or GitRepository
/// and Kustomization (Flux) that sync `output/gitops/` itself.
pub const GITOPS_ROOT_NAME: &str = "tenantc";
/// The API server as Argo CD names the cluster it runs in.
pub const IN_CLUSTER_SERVER: &str = "https://kubernetes.default.svc";

/// The GitOps objects of the tenant and shared directories are spread over this many groups, each
/// synced by an object of its own, so that no sync builds a kustomization of every tenant: at
/// 10,000 tenants one `output/gitops/` of 20,000 objects did not build in 300 s (kustomize's time
/// grows with the square of the objects in one build), a group of about 160 tenants builds in a
/// fraction of a second. A fixed count and a hash of the name keep every tenant in its group for
/// good: adding or removing tenants never moves another one.
pub const GITOPS_GROUPS: u64 = 64;

/// The group of the unit named `name`: two hex digits, from the FNV-1a hash of the name (stable
/// across platforms and releases, unlike std's hasher).
pub fn gitops_group_of(name: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:02x}", hash % GITOPS_GROUPS)
}

/// One directory of the output tree that a GitOps controller syncs on its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GitOpsUnit {
    /// The name of its objects: `tenant-<tenant>`, `shared-<namespace>`, `tenantc-<group>` for a
    /// group, or `tenantc` for the root.
    pub name: String,
    /// `tenant`, `shared`, `group` or `root`.
    pub role: String,
    /// The tenant's or shared namespace's name (a group: its two hex digits; the root: `tenantc`).
    pub owner: String,
    /// The directory inside the repository, e.g. `output/tenants/acme`.
    pub path: String,
    /// The namespaces its objects go to, sorted: exactly the AppProject's destinations.
    pub namespaces: BTreeSet<NamespaceName>,
    /// The group whose object syncs this unit's objects (tenants and shared entries only).
    pub group: Option<String>,
}

/// What the GitOps templates need: the settings, the root unit and one unit per tenant and shared
/// entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GitOpsIntent {
    pub settings: GitOps,
    pub tool: &'static str,
    /// Argo CD's name for the cluster it runs in.
    pub server: &'static str,
    /// Whether Sidecars are generated (and so must be allowed by the AppProjects).
    pub mesh: bool,
    pub cluster_name: Option<String>,
    pub root: GitOpsUnit,
    /// The groups that have units, sorted; the root syncs these, each syncs its units.
    pub groups: Vec<GitOpsUnit>,
    pub units: Vec<GitOpsUnit>,
}

/// The GitOps objects' intent, when `[gitops]` is set.
pub fn gitops_of(config: &Config) -> Option<GitOpsIntent> {
    let g = config.gitops.as_ref()?;
    let in_repo = |dir: &str| {
        if g.path.is_empty() {
            dir.to_owned()
        } else {
            format!("{}/{dir}", g.path)
        }
    };
    let controller_namespace: BTreeSet<NamespaceName> = [g.namespace.clone()].into_iter().collect();
    let root = GitOpsUnit {
        name: GITOPS_ROOT_NAME.into(),
        role: "root".into(),
        owner: GITOPS_ROOT_NAME.into(),
        path: in_repo(GITOPS_DIR),
        namespaces: controller_namespace.clone(),
        group: None,
    };
    let unit = |role: &str, owner: &str, dir: String, namespaces: BTreeSet<NamespaceName>| {
        let name = format!("{role}-{owner}");
        GitOpsUnit {
            group: Some(gitops_group_of(&name)),
            name,
            role: role.into(),
            owner: owner.into(),
            path: in_repo(&dir),
            namespaces,
        }
    };
    // A retired namespace stays in its owner's directory, synced by the same object.
    let retired_of = |tenant: &TenantName| -> Vec<NamespaceName> {
        config
            .retired
            .iter()
            .filter(|(_, r)| r.owner == RetiredOwner::Tenant(tenant.clone()))
            .map(|(n, _)| n.clone())
            .collect()
    };
    let retired_shared = config
        .retired
        .iter()
        .filter(|(_, r)| r.owner == RetiredOwner::Shared)
        .map(|(n, _)| n);
    let shared_names: BTreeSet<&NamespaceName> =
        config.shared.keys().chain(retired_shared).collect();
    let shared = shared_names.into_iter().map(|name| {
        let namespaces = [name.clone()].into_iter().collect();
        unit(
            "shared",
            name.as_str(),
            shared_dir(name.as_str()),
            namespaces,
        )
    });
    let tenants = config.tenants.iter().map(|(name, t)| {
        unit(
            "tenant",
            name.as_str(),
            tenant_dir(name.as_str()),
            t.namespaces
                .iter()
                .cloned()
                .chain(retired_of(name))
                .collect(),
        )
    });
    let units: Vec<GitOpsUnit> = shared.chain(tenants).collect();
    let groups: BTreeSet<&str> = units.iter().filter_map(|u| u.group.as_deref()).collect();
    let groups = groups
        .into_iter()
        .map(|group| GitOpsUnit {
            name: format!("{GITOPS_ROOT_NAME}-{group}"),
            role: "group".into(),
            owner: group.into(),
            path: in_repo(&gitops_group_dir(group)),
            namespaces: controller_namespace.clone(),
            group: None,
        })
        .collect();
    Some(GitOpsIntent {
        settings: g.clone(),
        tool: g.tool.as_str(),
        server: IN_CLUSTER_SERVER,
        mesh: config.mesh.is_some(),
        cluster_name: config.cluster.name.as_ref().map(|c| c.to_string()),
        root,
        groups,
        units,
    })
}

/// The directory of a GitOps group, relative to the output root.
pub fn gitops_group_dir(group: &str) -> String {
    format!("{GITOPS_DIR}/groups/{group}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::load;
    use crate::resolve::resolve;

    fn intent(src: &str) -> Intent {
        intent_of(&resolve(&load(src).unwrap(), src).unwrap())
    }

    fn ns(s: &str) -> NamespaceName {
        NamespaceName::new(s).unwrap()
    }

    #[test]
    fn tenants_reach_own_and_consumed_shared_namespaces_only() {
        let i = intent(
            r#"version = 1
[mesh]
[shared.common]
[shared.payments]
consumers = ["acme"]
[tenants.acme]
namespaces = ["acme", "acme-jobs"]
[tenants.globex]
"#,
        );
        let acme = &i.namespaces[&ns("acme-jobs")];
        assert_eq!(*acme.same_owner, [ns("acme"), ns("acme-jobs")].into());
        let called: Vec<&str> = acme.calls.iter().map(|c| c.namespace.as_str()).collect();
        assert_eq!(called, ["common", "payments"]);
        assert_eq!(acme.shared_egress.len(), 1, "one rule: both on every port");
        let hosts: Vec<&str> = acme
            .mesh
            .as_ref()
            .unwrap()
            .hosts
            .iter()
            .map(|h| &**h)
            .collect();
        assert_eq!(
            hosts,
            [
                "acme-jobs/*",
                "acme/*",
                "common/*",
                "istio-system/*",
                "kube-system/kube-dns.kube-system.svc.cluster.local",
                "payments/*"
            ]
        );
        let globex = &i.namespaces[&ns("globex")];
        assert_eq!(globex.shared_egress[0].namespaces, [ns("common")].into());
        assert_eq!(
            i.namespaces[&ns("payments")].consumers,
            [ns("acme"), ns("acme-jobs")].into()
        );
        assert_eq!(i.namespaces[&ns("common")].consumers.len(), 3);
        assert_eq!(&*globex.labels["istio-injection"], "enabled");
        assert_eq!(&*globex.labels["tenantc.dev/tenant"], "globex");
    }

    #[test]
    fn no_mesh_no_sidecar() {
        let i = intent("version = 1\n[tenants.a]\n");
        assert!(i.namespaces[&ns("a")].mesh.is_none());
        assert!(!i.namespaces[&ns("a")]
            .labels
            .contains_key("istio-injection"));
    }
}
