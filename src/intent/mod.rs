//! Stage 3, intent: who may talk to whom. This graph is the one source of both the NetworkPolicies
//! and the Sidecar hosts, so the two layers agree by construction; `verify` compares the files on
//! disk against it.

pub mod confine;
mod gitops;
mod grants;
mod kind;
mod namespaces;
mod outside;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;

use crate::model::{
    Access, AccessLevel, Cidr, Config, Dns, ExternalName, Labels, NamespaceName,
    OutboundTrafficPolicy, PlatformPods, PodSecurity, Port, Quantities, Subject, TenantName,
};

pub use gitops::{
    gitops_file_of, gitops_group_dir, gitops_group_of, gitops_of, is_owners_role_description,
    is_owners_role_policy, owners_role_description, owners_role_policies, ApiKind, GitOpsIntent,
    GitOpsUnit, GITOPS_GROUPS, GITOPS_ROOT_NAME, IN_CLUSTER_SERVER, OWNERS_ACTIONS,
};
pub use kind::Kind;
use namespaces::{Caches, Common};
use outside::destinations_of;
pub use outside::{external_addresses, external_blocks};

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
    #[serde(serialize_with = "crate::render::shared::arc")]
    pub labels: Arc<BTreeMap<Arc<str>, Arc<str>>>,
    #[serde(serialize_with = "crate::render::shared::arc")]
    pub annotations: Arc<BTreeMap<String, String>>,
    /// The owner's namespaces, this one included: allowed both ways on every port.
    #[serde(serialize_with = "crate::render::shared::arc")]
    pub same_owner: Arc<BTreeSet<NamespaceName>>,
    /// Namespaces of others allowed in: a shared namespace's consumers, or an exposed tenant
    /// namespace's. In on `consumer_ports` only.
    pub consumers: BTreeSet<NamespaceName>,
    /// The TCP ports `consumers` may reach; empty: every port.
    pub consumer_ports: BTreeSet<Port>,
    /// Other owners' namespaces this one may call, each with its ports and the rule that says so.
    #[serde(serialize_with = "crate::render::shared::arc")]
    pub calls: Arc<Vec<Call>>,
    /// `calls` of shared namespaces, grouped by ports for the `allow-shared-services` policy.
    #[serde(serialize_with = "crate::render::shared::arc")]
    pub shared_egress: Arc<Vec<PortGroup>>,
    /// `calls` of exposed tenant namespaces, grouped by ports for `allow-exposed-services`.
    #[serde(serialize_with = "crate::render::shared::arc")]
    pub exposed_egress: Arc<Vec<PortGroup>>,
    /// Destinations outside the cluster: external entries it consumes, then the Kubernetes API.
    #[serde(serialize_with = "crate::render::shared::arc")]
    pub outside: Arc<Vec<OutsideFlow>>,
    /// With `[mesh]`: the registry entries its sidecars need for `outside` (and the DNS caches).
    #[serde(serialize_with = "crate::render::shared::arc")]
    pub service_entries: Arc<Vec<ServiceEntryIntent>>,
    #[serde(serialize_with = "crate::render::shared::arc")]
    pub dns: Arc<Dns>,
    /// The ingress controller's pods, when this namespace accepts ingress traffic.
    #[serde(serialize_with = "crate::render::shared::option_arc")]
    pub ingress_controller: Option<Arc<PlatformPods>>,
    #[serde(serialize_with = "crate::render::shared::option_arc")]
    pub monitoring: Option<Arc<MonitoringIntent>>,
    #[serde(serialize_with = "crate::render::shared::option_arc")]
    pub mesh: Option<Arc<MeshIntent>>,
    /// Who may use it, how much it may consume and how safely (shared by the owner's namespaces).
    #[serde(serialize_with = "crate::render::shared::arc")]
    pub access: Arc<AccessIntent>,
}

/// The access objects of a namespace: RoleBindings, ResourceQuota, LimitRange, and the Pod
/// Security level its Namespace's labels carry. Empty: none of them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AccessIntent {
    /// `tenantc-owners`, `-editors`, `-viewers`, those that have subjects, in that order.
    pub bindings: Vec<BindingIntent>,
    /// The enforced level and its version (the labels are in the namespace's `labels`).
    #[serde(skip)]
    pub pod_security: Option<PodSecurity>,
    /// `spec.hard` of the ResourceQuota `tenantc`; empty: none.
    pub quota: Quantities,
    /// The LimitRange `tenantc`; `None`: none.
    pub limits: Option<LimitsIntent>,
}

impl AccessIntent {
    pub fn of(access: &Access) -> Self {
        let bindings = AccessLevel::ALL
            .into_iter()
            .filter(|l| !access.subjects(*l).is_empty())
            .map(|level| BindingIntent {
                name: level.binding(),
                role: level.cluster_role(),
                level,
                subjects: access
                    .subjects(level)
                    .iter()
                    .map(|s| SubjectIntent {
                        kind: s.kind(),
                        name: match s {
                            Subject::Group(n) | Subject::User(n) => n.clone(),
                            Subject::ServiceAccount { name, .. } => name.clone(),
                        },
                        namespace: s.namespace().map(NamespaceName::to_arc),
                    })
                    .collect(),
            })
            .collect();
        let limits =
            (!access.default_request.is_empty() || !access.default_limit.is_empty()).then(|| {
                LimitsIntent {
                    default_request: access.default_request.clone(),
                    default: access.default_limit.clone(),
                }
            });
        Self {
            bindings,
            pod_security: access.pod_security.clone(),
            quota: access.quota.clone(),
            limits,
        }
    }

    /// The subjects of the groups among the owners: the Argo CD project role's groups.
    pub fn owner_groups(&self) -> Vec<&str> {
        self.bindings
            .iter()
            .filter(|b| b.level == AccessLevel::Owner)
            .flat_map(|b| &b.subjects)
            .filter(|s| s.kind == "Group")
            .map(|s| &*s.name)
            .collect()
    }
}

/// One RoleBinding: a level's subjects bound to its ClusterRole.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BindingIntent {
    pub name: &'static str,
    /// The ClusterRole: `admin`, `edit` or `view`.
    pub role: &'static str,
    pub level: AccessLevel,
    pub subjects: Vec<SubjectIntent>,
}

/// An RBAC subject as the RoleBinding writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SubjectIntent {
    /// `Group`, `User` or `ServiceAccount`.
    pub kind: &'static str,
    pub name: Arc<str>,
    /// A ServiceAccount's namespace.
    pub namespace: Option<Arc<str>>,
}

/// The LimitRange's one `Container` item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LimitsIntent {
    pub default_request: Quantities,
    pub default: Quantities,
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
    /// The Argo CD or Flux objects, with `[gitops]`.
    pub gitops: Option<GitOpsIntent>,
}

/// The name `explain` and `graph` give the Kubernetes API server.
pub const KUBE_API_TARGET: &str = "kube-api";

impl NamespaceIntent {
    /// The kinds of the objects in this namespace's directory, in the order of its kustomization.
    pub fn kinds(&self) -> Vec<Kind> {
        let mut kinds = vec![Kind::Namespace, Kind::NetworkPolicy];
        if let Some(m) = &self.mesh {
            if !self.service_entries.is_empty() {
                kinds.push(Kind::ServiceEntry);
            }
            // Ambient mode has no Sidecar objects: they have no effect there (istio/api#3517).
            if !m.ambient {
                kinds.push(Kind::Sidecar);
            }
            if m.authorization {
                kinds.push(Kind::AuthorizationPolicy);
            }
            if m.mtls.is_some() {
                kinds.push(Kind::PeerAuthentication);
            }
        }
        if !self.access.bindings.is_empty() {
            kinds.push(Kind::RoleBinding);
        }
        if !self.access.quota.is_empty() {
            kinds.push(Kind::ResourceQuota);
        }
        if self.access.limits.is_some() {
            kinds.push(Kind::LimitRange);
        }
        kinds
    }
}

impl Intent {
    pub fn tenant_count(&self) -> usize {
        self.tenants.len()
    }

    /// The intent of namespace `ns`, if tenants.toml defines it.
    pub fn namespace(&self, ns: &str) -> Option<&NamespaceIntent> {
        // A name that is not a valid namespace name is in no map of them either.
        self.namespaces.get(ns)
    }

    /// The tenant that owns namespace `ns`, else the namespace itself (a shared entry or a
    /// namespace tenants.toml does not define), for tenant-level views.
    pub fn owner_of(&self, ns: &str) -> String {
        self.namespace(ns).map_or_else(
            || ns.to_owned(),
            |v| match (&v.role, &v.tenant) {
                (Role::Tenant | Role::Retired, Some(t)) => t.to_string(),
                _ => ns.to_owned(),
            },
        )
    }

    /// Every namespace tenants.toml names: its own and the platform's.
    pub fn known_namespaces(&self) -> Vec<String> {
        let mut out: BTreeSet<String> = BTreeSet::new();
        for ns in self.namespaces.values() {
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
}

/// The connectivity graph of `config`: every namespace's intent, one step per kind of namespace,
/// and every destination outside the cluster.
pub fn intent_of(config: &Config) -> Intent {
    let common = Common::of(config);
    let mut caches = Caches::default();
    let mut namespaces = BTreeMap::new();
    for (name, shared) in &config.shared {
        let intent = common.shared_namespace(&mut caches, name, shared);
        namespaces.insert(name.clone(), intent);
    }
    // The tenants' namespaces on every core (at 100,000 tenants this was the longest stage
    // before any rendering), each thread sharing equal pieces within its part.
    let tenant_list: Vec<_> = config.tenants.iter().collect();
    let parts = crate::par::map_parts(&tenant_list, |part| {
        let mut caches = Caches::default();
        part.iter()
            .flat_map(|(tname, tenant)| common.tenant_namespaces(&mut caches, tname, tenant))
            .collect::<Vec<_>>()
    });
    namespaces.extend(parts.into_iter().flatten().map(|ns| (ns.name.clone(), ns)));
    let tenants = config
        .tenants
        .iter()
        .map(|(tname, tenant)| (tname.clone(), tenant.namespaces.clone()))
        .collect();
    let mut retired = BTreeMap::new();
    for (name, r) in &config.retired {
        let intent = common.retired_namespace(&mut caches, name, r);
        retired.insert(name.clone(), intent.tenant.clone());
        namespaces.insert(name.clone(), intent);
    }
    let gitops = gitops_of(config).map(|mut g| {
        for unit in &mut g.units {
            unit.set_needs(&namespaces);
        }
        g
    });
    Intent {
        cluster_name: config.cluster.name.as_ref().map(|c| c.to_string()),
        gitops,
        namespaces,
        tenants,
        shared: config.shared.keys().cloned().collect(),
        retired,
        destinations: destinations_of(config),
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

    /// Each namespace's labels: its own, the compiler's, its owner's, and those of its Pod
    /// Security level (each level's set made once per thread and copied).
    #[test]
    fn labels_of_each_pod_security_level() {
        let i = intent(
            "version = 1\n[cluster]\nname = \"c\"\n[defaults]\npod_security = \"baseline\"\n\
             [tenants.a]\nlabels = { team = \"x\" }\n\
             [tenants.b]\npod_security = \"restricted\"\nnamespaces = [\"b\", \"b-jobs\"]\n\
             [tenants.c]\nlabels = { team = \"y\", tier = \"1\" }\n\
             [shared.s]\nconsumers = \"*\"\npod_security = \"privileged\"\n",
        );
        let labels = |n: &str| -> BTreeMap<String, String> {
            i.namespaces[&ns(n)]
                .labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let expect = |own: &[(&str, &str)], level: &str, owner: (&str, &str)| {
            let ps = "pod-security.kubernetes.io/";
            let mut all: BTreeMap<String, String> = own
                .iter()
                .chain(&[
                    ("app.kubernetes.io/managed-by", "tenantc"),
                    ("tenantc.dev/cluster", "c"),
                    owner,
                ])
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            for (mode, level) in [
                ("enforce", level),
                ("warn", "restricted"),
                ("audit", "restricted"),
            ] {
                all.insert(format!("{ps}{mode}"), level.to_owned());
                all.insert(format!("{ps}{mode}-version"), "latest".to_owned());
            }
            all
        };
        let tenant = |t| ("tenantc.dev/tenant", t);
        assert_eq!(
            labels("a"),
            expect(&[("team", "x")], "baseline", tenant("a"))
        );
        assert_eq!(labels("b"), expect(&[], "restricted", tenant("b")));
        assert_eq!(labels("b-jobs"), labels("b"));
        assert_eq!(
            labels("c"),
            expect(&[("team", "y"), ("tier", "1")], "baseline", tenant("c"))
        );
        assert_eq!(
            labels("s"),
            expect(&[], "privileged", ("tenantc.dev/shared", "true"))
        );
    }
}
