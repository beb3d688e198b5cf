//! The types the pipeline stages pass to each other.
//!
//! After `resolve`, invalid states are unrepresentable: every name, label and port below went through
//! a constructor that checks the Kubernetes rule for it, so later stages never re-check.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

/// Defines a string newtype whose only constructor checks a rule.
///
/// The text is an `Arc<str>`: a namespace name is cloned into the consumer sets, calls and port
/// groups of every namespace that reaches it, and a clone then shares the one allocation (at
/// 100,000 tenants the copies were a large part of the intent's memory).
macro_rules! checked_string {
    ($(#[$doc:meta])* $name:ident, $check:path) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Arc<str>);

        impl $name {
            /// Checks `value` against the rule; the error says, in the user's words, what is wrong.
            pub fn new(value: &str) -> Result<Self, String> {
                $check(value).map(|()| Self(Arc::from(value)))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The text, sharing this value's allocation.
            pub fn to_arc(&self) -> Arc<str> {
                self.0.clone()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
    };
}

checked_string!(
    /// A tenant's name: an RFC 1123 label, as it is used in labels and directory names.
    TenantName,
    check_dns_label
);
checked_string!(
    /// A Kubernetes namespace name: an RFC 1123 label (lowercase alphanumerics and `-`, at most 63).
    NamespaceName,
    check_dns_label
);
checked_string!(
    /// The name of an `[external.<name>]` entry: an RFC 1123 label, as it names the entry's objects.
    ExternalName,
    check_dns_label
);
checked_string!(
    /// A label or annotation key: an optional DNS-subdomain prefix and `/`, then a name of at most 63.
    LabelKey,
    check_qualified_name
);
checked_string!(
    /// A label value: empty, or at most 63 alphanumerics, `-`, `_` and `.`, alphanumeric at both ends.
    LabelValue,
    check_label_value
);

/// A TCP or UDP port, 1 to 65535.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Port(u16);

impl Port {
    pub fn new(value: i64) -> Result<Self, String> {
        match u16::try_from(value) {
            Ok(p) if p >= 1 => Ok(Self(p)),
            _ => Err(format!(
                "port {value} is out of range: ports are 1 to 65535"
            )),
        }
    }

    pub const fn known(value: u16) -> Self {
        assert!(value >= 1);
        Self(value)
    }

    pub fn get(self) -> u16 {
        self.0
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The layout of the output tree (see [`crate::emit`]); here because the GitOps objects point
/// their controllers at these directories.
pub const TENANTS_DIR: &str = "tenants";
pub const SHARED_DIR: &str = "shared";
/// The GitOps objects; deliberately not in the root kustomization (see [`crate::emit`]).
pub const GITOPS_DIR: &str = "gitops";

/// The directory of one tenant, relative to the output root.
pub fn tenant_dir(tenant: &str) -> String {
    format!("{TENANTS_DIR}/{tenant}")
}

/// The directory of one shared namespace, relative to the output root.
pub fn shared_dir(shared: &str) -> String {
    format!("{SHARED_DIR}/{shared}")
}

pub type Labels = BTreeMap<LabelKey, LabelValue>;

/// An IPv4 or IPv6 network in canonical form (no host bits set): resolve refuses any other.
pub type Cidr = ipnet::IpNet;

/// The cloud metadata addresses: excepted from every external ipBlock that contains them, unless
/// that entry names the address exactly. AWS, GCP and Azure serve instance credentials at
/// 169.254.169.254; AWS also at fd00:ec2::254 on IPv6.
pub const METADATA_CIDRS: [&str; 2] = ["169.254.169.254/32", "fd00:ec2::254/128"];
pub type Annotations = BTreeMap<LabelKey, String>;

/// The whole, validated tenants.toml.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub cluster: Cluster,
    pub platform: Platform,
    pub mesh: Option<Mesh>,
    pub shared: BTreeMap<NamespaceName, Shared>,
    pub tenants: BTreeMap<TenantName, Tenant>,
    /// `[external.<name>]`: destinations outside the cluster.
    pub externals: BTreeMap<ExternalName, External>,
    pub gitops: Option<GitOps>,
    /// Retired namespaces: each keeps its Namespace and a deny-all policy in its owner's
    /// directory, and has no flow. They are in no tenant's `namespaces` and in no `shared` here.
    pub retired: BTreeMap<NamespaceName, Retired>,
    /// `[purged] namespaces`: deleted from the cluster by a person; they may leave tenants.toml.
    pub purged: BTreeSet<NamespaceName>,
}

/// Who a retired namespace belonged to: its files stay in that owner's directory, synced by the
/// same Argo CD Application or Flux Kustomization, which prunes its allow policies and Sidecar.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RetiredOwner {
    Tenant(TenantName),
    /// A retired `[shared.<name>]` entry: the namespace of the same name.
    Shared,
}

/// A retired namespace: its owner, and the labels and annotations its Namespace keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retired {
    pub owner: RetiredOwner,
    pub labels: Labels,
    pub annotations: Annotations,
}

/// Which GitOps controller syncs the output tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GitOpsTool {
    ArgoCd,
    Flux,
}

impl GitOpsTool {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ArgoCd => "argocd",
            Self::Flux => "flux",
        }
    }

    /// Where the controller's objects live unless `[gitops] namespace` says otherwise.
    pub fn default_namespace(self) -> &'static str {
        match self {
            Self::ArgoCd => "argocd",
            Self::Flux => "flux-system",
        }
    }
}

/// `[gitops]`: the manifests that make Argo CD or Flux sync each tenant's directory.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct GitOps {
    pub tool: GitOpsTool,
    /// The Git repository holding the output tree, as the controller clones it.
    pub repo_url: String,
    /// The branch (Flux) or revision (Argo CD) to sync.
    pub revision: String,
    /// The output directory's path inside the repository, without `./` or a trailing `/`; empty
    /// when the output tree is the repository's root.
    pub path: String,
    /// The namespace of the controller's objects (`argocd`, `flux-system`).
    pub namespace: NamespaceName,
    /// Flux only: the Secret in that namespace with the repository's credentials.
    pub secret: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cluster {
    /// Optional cluster name, stamped on every namespace as the `tenantc.dev/cluster` label.
    pub name: Option<LabelValue>,
    /// The cluster's DNS domain, used for the DNS Service host in Sidecars.
    pub domain: String,
    /// The pods' ranges: excepted from every external ipBlock that contains them.
    pub pod_cidrs: BTreeSet<Cidr>,
    /// The Services' ranges: excepted like the pods' ranges.
    pub service_cidrs: BTreeSet<Cidr>,
}

impl Cluster {
    /// The pod and Service ranges together.
    pub fn ranges(&self) -> impl Iterator<Item = &Cidr> {
        self.pod_cidrs.iter().chain(&self.service_cidrs)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Platform {
    pub dns: Dns,
    pub ingress: Option<PlatformPods>,
    pub monitoring: Option<Monitoring>,
    /// `[platform.kube_api]`: where the Kubernetes API server listens, for `kube_api = true`.
    pub kube_api: Option<KubeApi>,
}

/// The Kubernetes API server's endpoints (host network, so reached by IP), after the `kubernetes`
/// Service's DNAT.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct KubeApi {
    pub cidrs: BTreeSet<Cidr>,
    pub ports: BTreeSet<Port>,
}

/// The cluster DNS: the pods NetworkPolicies must let every namespace reach, and the Service a
/// Sidecar must import so that DNS over TCP passes Envoy.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Dns {
    pub namespace: NamespaceName,
    pub service: NamespaceName,
    pub pod_labels: Labels,
    /// The DNS pods' ports (after the Service's DNAT), not the Service port.
    pub ports: BTreeSet<Port>,
    /// Node-local DNS caches reached by IP, on the same ports.
    pub cidrs: BTreeSet<Cidr>,
}

/// Pods of a platform namespace, selected by labels (empty: every pod of the namespace).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PlatformPods {
    pub namespace: NamespaceName,
    pub pod_labels: Labels,
    /// `mesh = true`: its pods are in the Istio mesh, so they prove their namespace by mTLS and an
    /// AuthorizationPolicy can admit them by `source.namespaces`.
    pub in_mesh: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Monitoring {
    pub pods: PlatformPods,
    /// Application metrics ports monitoring may scrape; empty means every port.
    pub ports: BTreeSet<Port>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum OutboundTrafficPolicy {
    #[serde(rename = "REGISTRY_ONLY")]
    RegistryOnly,
    #[serde(rename = "ALLOW_ANY")]
    AllowAny,
}

impl OutboundTrafficPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RegistryOnly => "REGISTRY_ONLY",
            Self::AllowAny => "ALLOW_ANY",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mesh {
    /// The control plane's namespace: in every Sidecar's hosts, reachable on the xDS/CA port.
    pub namespace: NamespaceName,
    /// Labels of the istiod pods.
    pub pod_labels: Labels,
    /// `istio.io/rev` value for revision-based injection; `None` means `istio-injection: enabled`.
    pub revision: Option<LabelValue>,
    pub outbound_traffic_policy: Option<OutboundTrafficPolicy>,
    pub mode: DataplaneMode,
    /// `None`: no PeerAuthentication, the mesh-wide setting applies.
    pub mtls: Option<MtlsMode>,
    /// AuthorizationPolicies from the intent, deny by default.
    pub authorization: bool,
}

/// How pods join the mesh: an injected sidecar, or the node's ztunnel (ambient mode).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DataplaneMode {
    #[default]
    Sidecar,
    Ambient,
}

/// The PeerAuthentication mode tenantc sets on every managed namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum MtlsMode {
    /// Only mTLS is accepted: plaintext from outside the mesh is refused.
    Strict,
    /// mTLS and plaintext are both accepted.
    Permissive,
}

impl MtlsMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "STRICT",
            Self::Permissive => "PERMISSIVE",
        }
    }
}

/// Who may use a shared entry, an exposed namespace or an external destination. Tenant and shared
/// names never collide (resolve refuses it), so a name in tenants.toml is one or the other.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Consumer {
    Tenant(TenantName),
    Shared(NamespaceName),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Consumers {
    /// `"*"`: every tenant (shared entries are named one by one).
    All,
    Only(BTreeSet<Consumer>),
}

impl Consumers {
    pub fn includes(&self, tenant: &TenantName) -> bool {
        match self {
            Self::All => true,
            Self::Only(set) => set.contains(&Consumer::Tenant(tenant.clone())),
        }
    }

    pub fn includes_shared(&self, shared: &NamespaceName) -> bool {
        match self {
            Self::All => false,
            Self::Only(set) => set.contains(&Consumer::Shared(shared.clone())),
        }
    }
}

/// Who may do what in a namespace, how much it may consume and how safely: `owners`, `editors`,
/// `viewers`, `pod_security`, `quota` and `container_defaults` of a tenant or shared entry, with
/// `[defaults]` applied. Empty (the default) writes nothing, so a config without these keys
/// compiles to the same bytes as before.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Access {
    /// Bound to the ClusterRole `admin`, `edit` and `view` in each of its namespaces.
    pub owners: BTreeSet<Subject>,
    pub editors: BTreeSet<Subject>,
    pub viewers: BTreeSet<Subject>,
    /// The Pod Security Admission level enforced, with its pinned version.
    pub pod_security: Option<PodSecurity>,
    /// `spec.hard` of the ResourceQuota `tenantc`; empty: no ResourceQuota.
    pub quota: BTreeMap<ResourceName, Quantity>,
    /// The LimitRange `tenantc` (type Container); both empty: no LimitRange.
    pub default_request: BTreeMap<ResourceName, Quantity>,
    pub default_limit: BTreeMap<ResourceName, Quantity>,
}

impl Access {
    /// The subjects bound at `level`.
    pub fn subjects(&self, level: AccessLevel) -> &BTreeSet<Subject> {
        match level {
            AccessLevel::Owner => &self.owners,
            AccessLevel::Editor => &self.editors,
            AccessLevel::Viewer => &self.viewers,
        }
    }
}

/// The three levels of access a tenant's people get, each bound to one built-in ClusterRole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessLevel {
    Owner,
    Editor,
    Viewer,
}

impl AccessLevel {
    pub const ALL: [AccessLevel; 3] = [Self::Owner, Self::Editor, Self::Viewer];

    /// The ClusterRole bound: Kubernetes' user-facing roles, aggregated by every CRD that
    /// declares its own (https://kubernetes.io/docs/reference/access-authn-authz/rbac/#user-facing-roles).
    pub fn cluster_role(self) -> &'static str {
        match self {
            Self::Owner => "admin",
            Self::Editor => "edit",
            Self::Viewer => "view",
        }
    }

    /// The RoleBinding's name.
    pub fn binding(self) -> &'static str {
        match self {
            Self::Owner => "tenantc-owners",
            Self::Editor => "tenantc-editors",
            Self::Viewer => "tenantc-viewers",
        }
    }

    /// The tenants.toml key.
    pub fn key(self) -> &'static str {
        match self {
            Self::Owner => "owners",
            Self::Editor => "editors",
            Self::Viewer => "viewers",
        }
    }

    /// What the level may do, in `diff`'s and `access`'s words (`may now edit acme`).
    pub fn verb(self) -> &'static str {
        match self {
            Self::Owner => "administer",
            Self::Editor => "edit",
            Self::Viewer => "view",
        }
    }

    pub fn of_cluster_role(role: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.cluster_role() == role)
    }
}

/// A subject of a RoleBinding: `group:NAME`, `user:NAME` or `serviceaccount:NS/NAME`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    Group(Arc<str>),
    User(Arc<str>),
    ServiceAccount {
        namespace: NamespaceName,
        name: Arc<str>,
    },
}

impl Subject {
    /// Parses `group:NAME`, `user:NAME` or `serviceaccount:NS/NAME`; the error says which form
    /// was expected.
    pub fn parse(s: &str) -> Result<Self, String> {
        let forms = "`group:NAME`, `user:NAME` or `serviceaccount:NAMESPACE/NAME`";
        let Some((kind, rest)) = s.split_once(':') else {
            return Err(format!("is not a subject: write {forms}"));
        };
        let named = |what: &str| -> Result<Arc<str>, String> {
            if rest.is_empty() {
                Err(format!("names no {what} after `{kind}:`"))
            } else if rest.trim() != rest {
                Err(format!("has spaces around the {what}'s name"))
            } else {
                Ok(Arc::from(rest))
            }
        };
        match kind {
            "group" => named("group").map(Self::Group),
            "user" => named("user").map(Self::User),
            "serviceaccount" => {
                let (ns, name) = rest.split_once('/').ok_or_else(|| {
                    "names a service account without its namespace: write `serviceaccount:NAMESPACE/NAME`"
                        .to_owned()
                })?;
                let namespace = NamespaceName::new(ns)
                    .map_err(|e| format!("has the invalid namespace `{ns}`: it {e}"))?;
                check_dns_subdomain(name)
                    .map_err(|e| format!("has the invalid service account name `{name}`: {e}"))?;
                if name.is_empty() {
                    return Err("names no service account after the namespace".into());
                }
                Ok(Self::ServiceAccount {
                    namespace,
                    name: Arc::from(name),
                })
            }
            other => Err(format!("has the unknown kind `{other}`: write {forms}")),
        }
    }

    /// The RBAC subject kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Group(_) => "Group",
            Self::User(_) => "User",
            Self::ServiceAccount { .. } => "ServiceAccount",
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Self::Group(n) | Self::User(n) => n,
            Self::ServiceAccount { name, .. } => name,
        }
    }

    pub fn namespace(&self) -> Option<&NamespaceName> {
        match self {
            Self::ServiceAccount { namespace, .. } => Some(namespace),
            _ => None,
        }
    }

    /// In `diff`'s and `access`'s words: `group acme-devs`, `user alice@example.com`,
    /// `serviceaccount ci/deployer`.
    pub fn describe(&self) -> String {
        match self {
            Self::Group(n) => format!("group {n}"),
            Self::User(n) => format!("user {n}"),
            Self::ServiceAccount { namespace, name } => {
                format!("serviceaccount {namespace}/{name}")
            }
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Group(n) => write!(f, "group:{n}"),
            Self::User(n) => write!(f, "user:{n}"),
            Self::ServiceAccount { namespace, name } => {
                write!(f, "serviceaccount:{namespace}/{name}")
            }
        }
    }
}

/// A Pod Security Standards level (https://kubernetes.io/docs/concepts/security/pod-security-standards/).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PodSecurityLevel {
    Privileged,
    Baseline,
    Restricted,
}

impl PodSecurityLevel {
    pub const ALL: [PodSecurityLevel; 3] = [Self::Privileged, Self::Baseline, Self::Restricted];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Privileged => "privileged",
            Self::Baseline => "baseline",
            Self::Restricted => "restricted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// The level enforced and the version of the standards it is pinned to (`latest` or `v1.N`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PodSecurity {
    pub level: PodSecurityLevel,
    pub version: Arc<str>,
}

/// Checks a Pod Security Admission version: `latest` or `v1.N`.
pub fn check_pod_security_version(s: &str) -> Result<(), String> {
    if s == "latest" {
        return Ok(());
    }
    match s.strip_prefix("v1.") {
        Some(minor)
            if !minor.is_empty()
                && minor.len() <= 3
                && minor.bytes().all(|b| b.is_ascii_digit())
                && (minor == "0" || !minor.starts_with('0')) =>
        {
            Ok(())
        }
        _ => Err(format!(
            "`{s}` is not a Pod Security Standards version: write `latest` or `v1.N` (such as `v1.32`)"
        )),
    }
}

checked_string!(
    /// A Kubernetes resource name as a quota or a container default names it: `cpu`,
    /// `requests.memory`, `pods`, `count/deployments.apps`, `requests.nvidia.com/gpu`.
    ResourceName,
    check_resource_name
);
checked_string!(
    /// A Kubernetes quantity (`8`, `500m`, `32Gi`, `1.5`, `1e3`), as the API server parses it.
    Quantity,
    check_quantity
);

/// The quota resource names Kubernetes knows without a `/` (core/v1 ResourceName constants and
/// the object counts of https://kubernetes.io/docs/concepts/policy/resource-quotas/).
pub const QUOTA_RESOURCES: &[&str] = &[
    "cpu",
    "memory",
    "ephemeral-storage",
    "storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "requests.storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "services",
    "services.loadbalancers",
    "services.nodeports",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
];

/// The container resources a LimitRange defaults, without a `/`.
pub const CONTAINER_RESOURCES: &[&str] = &["cpu", "memory", "ephemeral-storage"];

fn check_resource_name(s: &str) -> Result<(), String> {
    check_qualified_name(s)?;
    let hugepages = s
        .strip_prefix("hugepages-")
        .or_else(|| s.strip_prefix("requests.hugepages-"))
        .or_else(|| s.strip_prefix("limits.hugepages-"))
        .is_some_and(|size| check_quantity(size).is_ok());
    if s.contains('/') || hugepages || QUOTA_RESOURCES.contains(&s) {
        Ok(())
    } else {
        Err(format!("`{s}` is not a Kubernetes resource name"))
    }
}

/// Kubernetes' quantity grammar (k8s.io/apimachinery `resource.ParseQuantity`): a non-negative
/// decimal number, then a binary suffix (`Ki` .. `Ei`), a decimal one (`n`, `u`, `m`, `k`, `M`,
/// `G`, `T`, `P`, `E`) or an exponent (`e3`, `E-2`).
fn check_quantity(s: &str) -> Result<(), String> {
    let bad = || Err(format!("`{s}` is not a Kubernetes quantity"));
    let body = s.strip_prefix('+').unwrap_or(s);
    let digits_end = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(body.len());
    let (number, suffix) = body.split_at(digits_end);
    let dots = number.matches('.').count();
    if number.is_empty() || number == "." || dots > 1 {
        return bad();
    }
    let suffix_ok = matches!(
        suffix,
        "" | "Ki"
            | "Mi"
            | "Gi"
            | "Ti"
            | "Pi"
            | "Ei"
            | "n"
            | "u"
            | "m"
            | "k"
            | "M"
            | "G"
            | "T"
            | "P"
            | "E"
    ) || suffix
        .strip_prefix(['e', 'E'])
        .map(|e| e.strip_prefix(['+', '-']).unwrap_or(e))
        .is_some_and(|e| !e.is_empty() && e.len() <= 3 && e.bytes().all(|b| b.is_ascii_digit()));
    if suffix_ok {
        Ok(())
    } else {
        bad()
    }
}

/// What a quantity written the way people say it was meant to be: `"8 cores"` → `8`, `"512 MiB"`
/// → `512Mi`, `"2GB"` → `2G`; `None` when no guess is sure.
pub fn suggest_quantity(s: &str) -> Option<String> {
    let t: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(end);
    if number.is_empty() {
        return None;
    }
    let suffix = match unit.to_ascii_lowercase().as_str() {
        "" | "core" | "cores" | "cpu" | "cpus" | "vcpu" | "vcpus" => "",
        "m" | "millicore" | "millicores" | "millicpu" => "m",
        "ki" | "kib" => "Ki",
        "mi" | "mib" => "Mi",
        "gi" | "gib" => "Gi",
        "ti" | "tib" => "Ti",
        "k" | "kb" => "k",
        "mb" => "M",
        "g" | "gb" => "G",
        "t" | "tb" => "T",
        _ => return None,
    };
    let out = format!("{number}{suffix}");
    (check_quantity(&out).is_ok() && out != s).then_some(out)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shared {
    pub consumers: Consumers,
    pub labels: Labels,
    pub annotations: Annotations,
    pub ingress: bool,
    /// The TCP ports its consumers may reach; empty: every port.
    pub ports: BTreeSet<Port>,
    pub access: Access,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tenant {
    /// Its namespaces in service; its retired ones are in [`Config::retired`].
    pub namespaces: BTreeSet<NamespaceName>,
    pub labels: Labels,
    pub annotations: Annotations,
    /// The namespaces that admit the ingress controller (`true`: all of them).
    pub ingress: BTreeSet<NamespaceName>,
    /// Its pods may call the Kubernetes API.
    pub kube_api: bool,
    /// Its namespaces opened to other tenants and shared entries.
    pub expose: BTreeMap<NamespaceName, Expose>,
    pub access: Access,
}

/// `[tenants.<t>.expose.<namespace>]`: one of the tenant's namespaces, opened to others.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expose {
    pub consumers: Consumers,
    /// TCP ports; empty: every port.
    pub ports: BTreeSet<Port>,
}

/// The protocol of an external destination's ports, as Istio's ServiceEntry names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ExternalProtocol {
    Tls,
    Https,
    Http,
    Tcp,
}

impl ExternalProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tls => "TLS",
            Self::Https => "HTTPS",
            Self::Http => "HTTP",
            Self::Tcp => "TCP",
        }
    }
}

/// `[external.<name>]`: a destination outside the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct External {
    /// DNS names (`*.example.com` allowed with TLS or TCP); empty: reached by address only.
    pub hosts: BTreeSet<String>,
    /// Where NetworkPolicy lets the traffic go.
    pub cidrs: BTreeSet<Cidr>,
    /// TCP ports.
    pub ports: BTreeSet<Port>,
    pub protocol: ExternalProtocol,
    pub consumers: Consumers,
}

fn check_dns_label(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.len() > 63 {
        return Err(format!(
            "is {} characters long; at most 63 are allowed",
            s.len()
        ));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "contains {c:?}: only lowercase letters, digits and `-` are allowed (RFC 1123 label)"
        ));
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err("must start and end with a lowercase letter or digit (RFC 1123 label)".into());
    }
    Ok(())
}

fn check_dns_subdomain(s: &str) -> Result<(), String> {
    if s.len() > 253 {
        return Err(format!(
            "prefix is {} characters long; at most 253 are allowed",
            s.len()
        ));
    }
    for part in s.split('.') {
        check_dns_label(part)
            .map_err(|e| format!("prefix `{s}` is not a DNS subdomain: part `{part}` {e}"))?;
    }
    Ok(())
}

/// The name part of a qualified name, and a non-empty label value, share this rule.
fn check_name_part(s: &str, what: &str) -> Result<(), String> {
    if s.len() > 63 {
        return Err(format!(
            "{what} is {} characters long; at most 63 are allowed",
            s.len()
        ));
    }
    let ok_inner = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if let Some(c) = s.chars().find(|c| !ok_inner(*c)) {
        return Err(format!(
            "{what} contains {c:?}: only letters, digits, `-`, `_` and `.` are allowed"
        ));
    }
    let first = s.chars().next().unwrap_or('a');
    let last = s.chars().last().unwrap_or('a');
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return Err(format!("{what} must start and end with a letter or digit"));
    }
    Ok(())
}

fn check_qualified_name(s: &str) -> Result<(), String> {
    let (prefix, name) = match s.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    if let Some(p) = prefix {
        if p.is_empty() {
            return Err("prefix before `/` must not be empty".into());
        }
        check_dns_subdomain(p)?;
    }
    if name.is_empty() {
        return Err("name must not be empty".into());
    }
    check_name_part(name, "name")
}

fn check_label_value(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    check_name_part(s, "value")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        assert!(NamespaceName::new("acme-jobs").is_ok());
        assert!(NamespaceName::new("a").is_ok());
        assert!(NamespaceName::new(&"a".repeat(63)).is_ok());
        assert!(NamespaceName::new(&"a".repeat(64)).is_err());
        assert!(NamespaceName::new("Acme").is_err());
        assert!(NamespaceName::new("-acme").is_err());
        assert!(NamespaceName::new("acme-").is_err());
        assert!(NamespaceName::new("ac.me").is_err());
        assert!(NamespaceName::new("").is_err());
    }

    #[test]
    fn label_keys_and_values() {
        assert!(LabelKey::new("app.kubernetes.io/name").is_ok());
        assert!(LabelKey::new("example.com/Plan_1.x").is_ok());
        assert!(LabelKey::new("plan").is_ok());
        assert!(LabelKey::new("/plan").is_err());
        assert!(LabelKey::new("example.com/").is_err());
        assert!(LabelKey::new("Example.com/plan").is_err());
        assert!(LabelKey::new("a/b/c").is_err());
        assert!(LabelKey::new("plan-").is_err());
        assert!(LabelValue::new("").is_ok());
        assert!(LabelValue::new("gold_1.0-x").is_ok());
        assert!(LabelValue::new("has space").is_err());
        assert!(LabelValue::new(&"v".repeat(64)).is_err());
        assert!(LabelValue::new(".x").is_err());
    }

    #[test]
    fn quantities_and_resource_names() {
        for ok in [
            "8", "500m", "32Gi", "1.5", "0.5", ".5", "1e3", "+1", "2E-2", "100k",
        ] {
            assert!(Quantity::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "8 cores", "", "Gi", "1..2", "-1", "1gb", "1e", "1.2.3", "8 ",
        ] {
            assert!(Quantity::new(bad).is_err(), "{bad}");
        }
        assert_eq!(suggest_quantity("8 cores").as_deref(), Some("8"));
        assert_eq!(suggest_quantity("512 MiB").as_deref(), Some("512Mi"));
        assert_eq!(suggest_quantity("2GB").as_deref(), Some("2G"));
        assert_eq!(suggest_quantity("lots"), None);
        for ok in [
            "requests.cpu",
            "pods",
            "count/deployments.apps",
            "requests.nvidia.com/gpu",
            "hugepages-2Mi",
        ] {
            assert!(ResourceName::new(ok).is_ok(), "{ok}");
        }
        for bad in ["request.cpu", "CPU", "cpu cores", "hugepages-x"] {
            assert!(ResourceName::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn subjects() {
        assert_eq!(Subject::parse("group:acme-devs").unwrap().kind(), "Group");
        assert_eq!(
            Subject::parse("user:alice@example.com").unwrap().name(),
            "alice@example.com"
        );
        let sa = Subject::parse("serviceaccount:ci/deployer").unwrap();
        assert_eq!(sa.namespace().map(|n| n.as_str()), Some("ci"));
        assert_eq!(sa.to_string(), "serviceaccount:ci/deployer");
        for bad in [
            "acme-devs",
            "group:",
            "team:x",
            "serviceaccount:deployer",
            "serviceaccount:CI/x",
            "user: bob",
        ] {
            assert!(Subject::parse(bad).is_err(), "{bad}");
        }
        assert!(check_pod_security_version("v1.34").is_ok());
        assert!(check_pod_security_version("latest").is_ok());
        for bad in ["1.34", "v1.x", "v2.1", "v1.", "v1.034"] {
            assert!(check_pod_security_version(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ports() {
        assert!(Port::new(0).is_err());
        assert!(Port::new(65536).is_err());
        assert!(Port::new(-1).is_err());
        assert_eq!(Port::new(65535).map(Port::get), Ok(65535));
    }
}
