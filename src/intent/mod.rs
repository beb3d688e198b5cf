//! Stage 3, intent: who may talk to whom. This graph is the one source of both the NetworkPolicies
//! and the Sidecar hosts, so the two layers agree by construction; `verify` compares the files on
//! disk against it.

mod gitops;
mod grants;
mod outside;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;

use crate::model::{
    Cidr, Config, Consumer, DataplaneMode, Dns, ExternalName, Labels, Monitoring, NamespaceName,
    OutboundTrafficPolicy, PlatformPods, Port, RetiredOwner, TenantName,
};
use crate::resolve::lifecycle::PROTECTION;
use crate::resolve::{
    LABEL_CLUSTER, LABEL_DATAPLANE_MODE, LABEL_INJECTION, LABEL_MANAGED_BY, LABEL_RETIRED,
    LABEL_REVISION, LABEL_SHARED, LABEL_TENANT,
};

pub use gitops::{
    gitops_group_dir, gitops_group_of, gitops_of, GitOpsIntent, GitOpsUnit, GITOPS_GROUPS,
    GITOPS_ROOT_NAME, IN_CLUSTER_SERVER,
};
use grants::{Grants, Interned};
pub use outside::external_blocks;
use outside::kube_api_flow;

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
