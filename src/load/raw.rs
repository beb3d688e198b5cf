//! What load produces: tenants.toml as written, every value with the byte span it came from, and
//! nothing checked beyond its TOML type (the rules are resolve's).

use std::ops::Range;

/// A value and the byte span it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located<T> {
    pub value: T,
    pub span: Range<usize>,
}

pub type RawMap = Vec<(Located<String>, Located<String>)>;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawConfig {
    pub version: Option<Located<i64>>,
    pub cluster: RawCluster,
    pub platform: RawPlatform,
    pub mesh: Option<RawMesh>,
    /// `[defaults]`: what every tenant and shared entry gets unless it says otherwise.
    pub defaults: Option<RawDefaults>,
    pub shared: Vec<RawShared>,
    pub tenants: Vec<RawTenant>,
    pub externals: Vec<RawExternal>,
    pub gitops: Option<RawGitOps>,
    /// `[purged]`: namespaces a person deleted from the cluster, which may leave tenants.toml.
    pub purged: Option<RawPurged>,
    /// `[clusters.<name>]`, in file order; empty without `[clusters]`.
    pub clusters: Vec<RawClusterEntry>,
    /// The span of the `[clusters]` table, when the file has one.
    pub clusters_span: Option<Range<usize>>,
}

/// `[clusters.<name>]`: one cluster's facts and what it replaces of `[platform]` and `[mesh]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawClusterEntry {
    pub name: Located<String>,
    /// Its `domain`, `pod_cidrs`, `service_cidrs` and `server` (`name` is the table's key).
    pub cluster: RawCluster,
    /// `[clusters.<name>.platform]`: each key given replaces that `[platform]` key.
    pub platform: Option<RawPlatform>,
    pub platform_span: Option<Range<usize>>,
    /// `[clusters.<name>.mesh]`: each key given replaces that `[mesh]` key.
    pub mesh: Option<RawMesh>,
    /// Namespaces of entries that left this cluster but stay in it, closed.
    pub retired: Option<Located<Vec<Located<String>>>>,
    /// Namespaces a person deleted from this cluster.
    pub purged: Option<Located<Vec<Located<String>>>>,
    pub span: Range<usize>,
}

/// An entry's `clusters`: the clusters it is placed on (absent: every cluster).
pub type RawPlacement = Option<Located<Vec<Located<String>>>>;

/// `[defaults]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawDefaults {
    pub pod_security: Option<Located<String>>,
    pub pod_security_version: Option<Located<String>>,
    pub quota: Option<RawMap>,
    pub container_defaults: Option<RawContainerDefaults>,
    pub span: Range<usize>,
}

/// `container_defaults = { request = { ... }, limit = { ... } }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawContainerDefaults {
    pub request: Option<RawMap>,
    pub limit: Option<RawMap>,
    pub span: Range<usize>,
}

/// The access keys of a tenant or shared entry: who may use its namespaces, how much and how
/// safely.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawAccess {
    pub owners: Option<Vec<Located<String>>>,
    pub editors: Option<Vec<Located<String>>>,
    pub viewers: Option<Vec<Located<String>>>,
    pub pod_security: Option<Located<String>>,
    pub quota: Option<RawMap>,
    pub container_defaults: Option<RawContainerDefaults>,
}

/// `[purged]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawPurged {
    pub namespaces: Option<Located<Vec<Located<String>>>>,
    pub span: Range<usize>,
}

/// A tenant's `retired`: `true` (every namespace), `false`, or a list of some of its namespaces;
/// the same shape as `ingress`.
pub type RawRetired = RawIngress;

/// `[external.<name>]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawExternal {
    pub name: Located<String>,
    pub hosts: Option<Vec<Located<String>>>,
    pub cidrs: Option<Located<Vec<Located<String>>>>,
    pub ports: Option<Located<Vec<Located<i64>>>>,
    pub protocol: Option<Located<String>>,
    pub consumers: Option<RawConsumers>,
    pub clusters: RawPlacement,
}

/// `[platform.kube_api]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawKubeApi {
    pub cidrs: Option<Located<Vec<Located<String>>>>,
    pub ports: Option<Located<Vec<Located<i64>>>>,
    pub span: Range<usize>,
}

/// A tenant's `ingress`: `true`/`false`, or a list of its namespaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawIngress {
    Flag(Located<bool>),
    List(Located<Vec<Located<String>>>),
}

/// `[tenants.<t>.expose.<namespace>]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawExpose {
    pub namespace: Located<String>,
    pub consumers: Option<RawConsumers>,
    pub ports: Option<Located<Vec<Located<i64>>>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawGitOps {
    pub tool: Option<Located<String>>,
    pub repo_url: Option<Located<String>>,
    pub revision: Option<Located<String>>,
    pub path: Option<Located<String>>,
    pub namespace: Option<Located<String>>,
    pub secret: Option<Located<String>>,
    /// Prepended to every GitOps object's name (a cluster's view: `<cluster>-`).
    pub name_prefix: Option<Located<String>>,
    pub span: Range<usize>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawCluster {
    pub name: Option<Located<String>>,
    pub domain: Option<Located<String>>,
    pub pod_cidrs: Option<Located<Vec<Located<String>>>>,
    pub service_cidrs: Option<Located<Vec<Located<String>>>>,
    /// The API server as Argo CD names the cluster (`destination.server`).
    pub server: Option<Located<String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawPlatform {
    pub dns: Option<RawDns>,
    pub ingress: Option<RawPods>,
    pub monitoring: Option<RawPods>,
    pub kube_api: Option<RawKubeApi>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawDns {
    pub namespace: Option<Located<String>>,
    pub service: Option<Located<String>>,
    pub pod_labels: Option<RawMap>,
    pub ports: Option<Vec<Located<i64>>>,
    pub cidrs: Option<Located<Vec<Located<String>>>>,
    pub span: Range<usize>,
}

/// `[platform.ingress]` and `[platform.monitoring]`; `ports` only for monitoring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawPods {
    pub namespace: Option<Located<String>>,
    pub pod_labels: Option<RawMap>,
    pub ports: Option<Vec<Located<i64>>>,
    /// Its pods are in the Istio mesh (they have a workload identity).
    pub mesh: Option<Located<bool>>,
    pub span: Range<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawMesh {
    pub namespace: Option<Located<String>>,
    pub pod_labels: Option<RawMap>,
    pub revision: Option<Located<String>>,
    pub outbound_traffic_policy: Option<Located<String>>,
    /// `"sidecar"` or `"ambient"`.
    pub mode: Option<Located<String>>,
    /// `"STRICT"` or `"PERMISSIVE"`.
    pub mtls: Option<Located<String>>,
    pub authorization: Option<Located<bool>>,
    pub span: Range<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawConsumers {
    All(Range<usize>),
    List(Vec<Located<String>>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawShared {
    pub name: Located<String>,
    pub consumers: Option<RawConsumers>,
    pub labels: Option<RawMap>,
    pub annotations: Option<RawMap>,
    pub ingress: Option<Located<bool>>,
    pub ports: Option<Located<Vec<Located<i64>>>>,
    pub retired: Option<Located<bool>>,
    pub access: RawAccess,
    pub clusters: RawPlacement,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawTenant {
    pub name: Located<String>,
    pub namespaces: Option<Located<Vec<Located<String>>>>,
    pub labels: Option<RawMap>,
    pub annotations: Option<RawMap>,
    pub ingress: Option<RawIngress>,
    pub kube_api: Option<Located<bool>>,
    pub expose: Vec<RawExpose>,
    pub retired: Option<RawRetired>,
    pub access: RawAccess,
    pub clusters: RawPlacement,
}
