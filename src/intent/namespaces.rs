//! Building each namespace's intent: one step per kind of namespace (shared, tenant, retired), and
//! the pieces their intents have in common, made once per config.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::model::{
    Annotations, Config, Consumer, DataplaneMode, Dns, Labels, Mesh, Monitoring, NamespaceName,
    PlatformPods, PodSecurity, PodSecurityLevel, Retired, RetiredOwner, Shared, Tenant, TenantName,
};
use crate::resolve::lifecycle::PROTECTION;
use crate::resolve::{
    LABEL_CLUSTER, LABEL_DATAPLANE_MODE, LABEL_INJECTION, LABEL_MANAGED_BY, LABEL_RETIRED,
    LABEL_REVISION, LABEL_SHARED, LABEL_TENANT, POD_SECURITY_PREFIX,
};

use super::grants::{Grants, Interned};
use super::{
    AccessIntent, Call, MeshIntent, MonitoringIntent, NamespaceIntent, Role, AMBIENT_PROBE_CIDR,
    HBONE_PORT, ISTIOD_XDS_PORT, ISTIO_METRICS_PORT,
};

/// What the intents of all namespaces are built from besides their own entries: the grants, the
/// compiler's labels and the platform's settings. Read-only, so that namespaces are built on
/// every core; each thread shares equal pieces through its own [`Caches`].
pub(super) struct Common<'a> {
    grants: Grants<'a>,
    labels: CompilerLabels,
    mesh: Option<MeshOf<'a>>,
    dns: Arc<Dns>,
    monitoring: Option<Arc<MonitoringIntent>>,
    ingress: Option<Arc<PlatformPods>>,
}

/// Equal pieces of intent, made once and shared by the namespaces one thread builds.
#[derive(Default)]
pub(super) struct Caches<'a> {
    interned: Interned<'a>,
    annotations: AnnotationsOf<'a>,
    labels: LabelBases,
}

impl<'a> Common<'a> {
    pub(super) fn of(config: &'a Config) -> Self {
        Self {
            grants: Grants::of(config),
            labels: CompilerLabels::of(config),
            mesh: MeshOf::of(config),
            dns: Arc::new(config.platform.dns.clone()),
            monitoring: monitoring_of(config).map(Arc::new),
            ingress: config.platform.ingress.clone().map(Arc::new),
        }
    }

    /// The Sidecar hosts and mesh settings of a namespace whose own hosts are `own`, that calls
    /// `calls` and, when `kube_api`, the Kubernetes API; `None` without `[mesh]`.
    fn mesh_of(
        &self,
        interned: &mut Interned<'a>,
        own: impl Iterator<Item = String>,
        calls: &[Call],
        kube_api: bool,
    ) -> Option<MeshIntent> {
        self.mesh
            .as_ref()
            .map(|m| m.intent(own, calls, kube_api, interned))
    }

    /// The intent of the shared namespace `name`.
    pub(super) fn shared_namespace(
        &self,
        caches: &mut Caches<'a>,
        name: &NamespaceName,
        shared: &'a Shared,
    ) -> NamespaceIntent {
        let me = Consumer::Shared(name.clone());
        let interned = &mut caches.interned;
        let egress = interned.egress(self.grants.calls_of(&me));
        let outside = interned.outside(&self.grants, &me, false);
        let mesh = self.mesh_of(
            interned,
            std::iter::once("./*".to_owned()),
            &egress.calls,
            false,
        );
        NamespaceIntent {
            name: name.clone(),
            role: Role::Shared,
            tenant: None,
            labels: Arc::new(self.labels.namespace(
                &mut caches.labels,
                (&self.labels.shared_key, self.labels.yes.clone()),
                &shared.labels,
                shared.access.pod_security.as_ref(),
            )),
            annotations: caches.annotations.of(&shared.annotations),
            same_owner: Arc::new([name.clone()].into_iter().collect()),
            consumers: self.grants.namespaces_of(&shared.consumers, Some(&me)),
            consumer_ports: shared.ports.clone(),
            calls: egress.calls,
            shared_egress: egress.shared,
            exposed_egress: egress.exposed,
            outside: outside.flows,
            service_entries: outside.service_entries,
            dns: self.dns.clone(),
            ingress_controller: self.ingress.clone().filter(|_| shared.ingress),
            monitoring: self.monitoring.clone(),
            mesh: mesh.map(Arc::new),
            access: Arc::new(AccessIntent::of(&shared.access)),
        }
    }

    /// The intents of the tenant `tname`'s namespaces. They share all but their name, consumers
    /// and ingress.
    pub(super) fn tenant_namespaces(
        &self,
        caches: &mut Caches<'a>,
        tname: &TenantName,
        tenant: &'a Tenant,
    ) -> impl Iterator<Item = NamespaceIntent> + use<'_, 'a> {
        let me = Consumer::Tenant(tname.clone());
        let interned = &mut caches.interned;
        let egress = interned.egress(self.grants.calls_of(&me));
        let outside = interned.outside(&self.grants, &me, tenant.kube_api);
        let mesh = self
            .mesh_of(
                interned,
                tenant.namespaces.iter().map(|n| format!("{n}/*")),
                &egress.calls,
                tenant.kube_api,
            )
            .map(Arc::new);
        let labels = Arc::new(self.labels.namespace(
            &mut caches.labels,
            (&self.labels.tenant_key, tname.to_arc()),
            &tenant.labels,
            tenant.access.pod_security.as_ref(),
        ));
        let access = Arc::new(AccessIntent::of(&tenant.access));
        let annotations = caches.annotations.of(&tenant.annotations);
        let same_owner = Arc::new(tenant.namespaces.clone());
        let tname = tname.clone();
        tenant.namespaces.iter().map(move |ns| {
            let expose = tenant.expose.get(ns);
            NamespaceIntent {
                name: ns.clone(),
                role: Role::Tenant,
                tenant: Some(tname.clone()),
                labels: labels.clone(),
                annotations: annotations.clone(),
                same_owner: same_owner.clone(),
                consumers: expose
                    .map(|e| self.grants.namespaces_of(&e.consumers, Some(&me)))
                    .unwrap_or_default(),
                consumer_ports: expose.map(|e| e.ports.clone()).unwrap_or_default(),
                shared_egress: egress.shared.clone(),
                exposed_egress: egress.exposed.clone(),
                calls: egress.calls.clone(),
                outside: outside.flows.clone(),
                service_entries: outside.service_entries.clone(),
                dns: self.dns.clone(),
                ingress_controller: self.ingress.clone().filter(|_| tenant.ingress.contains(ns)),
                monitoring: self.monitoring.clone(),
                mesh: mesh.clone(),
                access: access.clone(),
            }
        })
    }

    /// The intent of the retired namespace `name`: its labels and annotations, no flow at all.
    pub(super) fn retired_namespace(
        &self,
        caches: &mut Caches<'a>,
        name: &NamespaceName,
        r: &'a Retired,
    ) -> NamespaceIntent {
        let l = &self.labels;
        let (tenant, owner_label) = match &r.owner {
            RetiredOwner::Tenant(t) => (Some(t.clone()), (&l.tenant_key, t.to_arc())),
            RetiredOwner::Shared => (None, (&l.shared_key, l.yes.clone())),
        };
        let mut labels = l.namespace(&mut caches.labels, owner_label, &r.labels, None);
        // Nothing of the mesh applies: its pods could not reach istiod anyway. Not ambient
        // either: ambient SNATs the kubelet's probes to 169.254.7.127, which the deny-all would
        // refuse (pods with probes restart in a loop); out of the mesh the probes come from the
        // node, which NetworkPolicy always admits, and the deny-all stays whole.
        labels.remove(LABEL_INJECTION);
        labels.remove(LABEL_REVISION);
        labels.remove(LABEL_DATAPLANE_MODE);
        labels.insert(LABEL_RETIRED.into(), l.yes.clone());
        NamespaceIntent {
            name: name.clone(),
            role: Role::Retired,
            tenant,
            labels: Arc::new(labels),
            annotations: caches.annotations.of(&r.annotations),
            same_owner: Arc::default(),
            consumers: BTreeSet::new(),
            consumer_ports: BTreeSet::new(),
            calls: Arc::default(),
            shared_egress: Arc::default(),
            exposed_egress: Arc::default(),
            outside: Arc::default(),
            service_entries: Arc::default(),
            dns: self.dns.clone(),
            ingress_controller: None,
            monitoring: None,
            mesh: None,
            access: Arc::default(),
        }
    }
}

/// The Pod Security Admission labels (https://kubernetes.io/docs/concepts/security/pod-security-admission/):
/// `enforce` at the entry's level with its pinned version, `warn` and `audit` at `restricted`
/// with the same version, so that people see what restricted would refuse before choosing it.
/// Its keys and values are made once per config and shared by every namespace.
struct PodSecurityLabels {
    /// (`…/enforce`, `…/enforce-version`), then `warn`'s and `audit`'s.
    keys: [(Arc<str>, Arc<str>); 3],
    /// The levels' names, in the order of [`PodSecurityLevel::ALL`].
    levels: [Arc<str>; 3],
}

impl PodSecurityLabels {
    fn new() -> Self {
        let keys = ["enforce", "warn", "audit"].map(|mode| {
            (
                Arc::from(format!("{POD_SECURITY_PREFIX}{mode}")),
                Arc::from(format!("{POD_SECURITY_PREFIX}{mode}-version")),
            )
        });
        Self {
            keys,
            levels: PodSecurityLevel::ALL.map(|l| Arc::from(l.as_str())),
        }
    }

    /// Adds the labels of `ps`'s level to `labels`.
    fn add(&self, labels: &mut LabelMap, ps: &PodSecurity) {
        let name = |level: PodSecurityLevel| {
            let i = PodSecurityLevel::ALL.iter().position(|l| *l == level);
            self.levels[i.unwrap_or_default()].clone()
        };
        let levels = [
            ps.level,
            PodSecurityLevel::Restricted,
            PodSecurityLevel::Restricted,
        ];
        for ((key, version_key), level) in self.keys.iter().zip(levels) {
            labels.insert(key.clone(), name(level));
            labels.insert(version_key.clone(), ps.version.clone());
        }
    }
}

/// The labels every namespace of a Pod Security level (or of none) starts from: the common ones
/// and the level's, made once per thread and level, then copied (a copy of a few entries is
/// cheaper than inserting them one by one into every namespace's map).
#[derive(Default)]
pub(super) struct LabelBases(Vec<(Option<PodSecurity>, LabelMap)>);

/// A namespace's labels as the intent holds them.
type LabelMap = BTreeMap<Arc<str>, Arc<str>>;

/// What every namespace's [`MeshIntent`] has in common, with `[mesh]`; a namespace adds the hosts
/// of its own and of its calls.
struct MeshOf<'a> {
    mesh: &'a Mesh,
    pod_labels: Arc<Labels>,
    /// The cluster DNS service, in every Sidecar's hosts.
    dns_host: String,
    /// The Kubernetes API service, in the hosts of tenants with `kube_api = true`.
    kube_api_host: String,
}

impl<'a> MeshOf<'a> {
    fn of(config: &'a Config) -> Option<Self> {
        let dns_host = format!(
            "{ns}/{svc}.{ns}.svc.{domain}",
            ns = config.platform.dns.namespace,
            svc = config.platform.dns.service,
            domain = config.cluster.domain
        );
        let kube_api_host = format!("default/kubernetes.default.svc.{}", config.cluster.domain);
        config.mesh.as_ref().map(|m| Self {
            mesh: m,
            pod_labels: Arc::new(m.pod_labels.clone()),
            dns_host,
            kube_api_host,
        })
    }

    fn intent(
        &self,
        own: impl Iterator<Item = String>,
        calls: &[Call],
        kube_api: bool,
        interned: &mut Interned,
    ) -> MeshIntent {
        let m = self.mesh;
        let mut hosts: BTreeSet<Arc<str>> = own.map(|h| interned.host(h)).collect();
        for c in calls {
            hosts.insert(interned.host(format!("{}/*", c.namespace)));
        }
        hosts.insert(interned.host(format!("{}/*", m.namespace)));
        hosts.insert(interned.host(self.dns_host.clone()));
        if kube_api {
            hosts.insert(interned.host(self.kube_api_host.clone()));
        }
        MeshIntent {
            namespace: m.namespace.clone(),
            pod_labels: self.pod_labels.clone(),
            xds_port: ISTIOD_XDS_PORT,
            hosts,
            outbound_traffic_policy: m.outbound_traffic_policy,
            ambient: m.mode == DataplaneMode::Ambient,
            hbone_port: HBONE_PORT,
            probe_cidr: AMBIENT_PROBE_CIDR,
            mtls: m.mtls.map(|t| t.as_str()),
            authorization: m.authorization,
        }
    }
}

/// What monitoring may scrape, with `[platform.monitoring]`.
fn monitoring_of(config: &Config) -> Option<MonitoringIntent> {
    config.platform.monitoring.as_ref().map(|m: &Monitoring| {
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
    })
}

/// The labels the compiler sets: on every namespace, and the one that says its owner's role.
/// Keys and values are shared by every namespace.
struct CompilerLabels {
    common: LabelMap,
    tenant_key: Arc<str>,
    shared_key: Arc<str>,
    yes: Arc<str>,
    pod_security: PodSecurityLabels,
}

impl CompilerLabels {
    fn of(config: &Config) -> Self {
        // The labels the compiler sets on every namespace, shared by all.
        let mut common = LabelMap::new();
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
        Self {
            common,
            tenant_key: LABEL_TENANT.into(),
            shared_key: LABEL_SHARED.into(),
            yes: "true".into(),
            pod_security: PodSecurityLabels::new(),
        }
    }

    /// A namespace's labels: the user's, the common ones, `role_label`, then those of the Pod
    /// Security level `ps`, later ones winning. The common and level's labels are copied from
    /// `bases`, made once per thread and level.
    fn namespace(
        &self,
        bases: &mut LabelBases,
        role_label: (&Arc<str>, Arc<str>),
        user: &Labels,
        ps: Option<&PodSecurity>,
    ) -> LabelMap {
        let at = match bases.0.iter().position(|(level, _)| level.as_ref() == ps) {
            Some(at) => at,
            None => {
                let mut base = self.common.clone();
                if let Some(ps) = ps {
                    self.pod_security.add(&mut base, ps);
                }
                bases.0.push((ps.cloned(), base));
                bases.0.len() - 1
            }
        };
        let mut labels = bases.0[at].1.clone();
        // The common and Pod Security labels win over the user's; the role label over all.
        for (k, v) in user.iter() {
            labels.entry(k.to_arc()).or_insert_with(|| v.to_arc());
        }
        labels.insert(role_label.0.clone(), role_label.1);
        labels
    }
}

/// The user's annotations and the ones that keep a sync from deleting the namespace; equal
/// ones (most namespaces have no annotation of the user's) are shared.
#[derive(Default)]
struct AnnotationsOf<'a>(BTreeMap<&'a Annotations, Arc<BTreeMap<String, String>>>);

impl<'a> AnnotationsOf<'a> {
    fn of(&mut self, a: &'a Annotations) -> Arc<BTreeMap<String, String>> {
        self.0
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
    }
}
