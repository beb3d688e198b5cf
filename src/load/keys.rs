//! Known keys per table, the single list both the loader and its "did you mean" use.

pub const ROOT: &[&str] = &[
    "version", "cluster", "platform", "mesh", "defaults", "shared", "tenants", "external",
    "gitops", "purged", "clusters",
];
pub const DEFAULTS: &[&str] = &[
    "pod_security",
    "pod_security_version",
    "quota",
    "container_defaults",
];
pub const CONTAINER_DEFAULTS: &[&str] = &["request", "limit"];
pub const PURGED: &[&str] = &["namespaces"];
pub const CLUSTER: &[&str] = &["name", "domain", "pod_cidrs", "service_cidrs", "server"];
/// `[clusters.<name>]`: a cluster's facts, and the `[platform]` and `[mesh]` keys it replaces.
pub const CLUSTERS_ENTRY: &[&str] = &[
    "domain",
    "pod_cidrs",
    "service_cidrs",
    "server",
    "platform",
    "mesh",
    "retired",
    "purged",
];
pub const PLATFORM: &[&str] = &["dns", "ingress", "monitoring", "kube_api"];
pub const DNS: &[&str] = &["namespace", "service", "pod_labels", "ports", "cidrs"];
pub const KUBE_API: &[&str] = &["cidrs", "ports"];
pub const EXTERNAL: &[&str] = &[
    "hosts",
    "cidrs",
    "ports",
    "protocol",
    "consumers",
    "clusters",
];
pub const EXPOSE: &[&str] = &["consumers", "ports"];
pub const INGRESS: &[&str] = &["namespace", "pod_labels", "mesh"];
pub const MONITORING: &[&str] = &["namespace", "pod_labels", "ports", "mesh"];
pub const MESH: &[&str] = &[
    "namespace",
    "pod_labels",
    "revision",
    "outbound_traffic_policy",
    "mode",
    "mtls",
    "authorization",
];
pub const SHARED: &[&str] = &[
    "consumers",
    "labels",
    "annotations",
    "ingress",
    "ports",
    "retired",
    "owners",
    "editors",
    "viewers",
    "pod_security",
    "quota",
    "container_defaults",
    "clusters",
];
pub const TENANT: &[&str] = &[
    "namespaces",
    "labels",
    "annotations",
    "ingress",
    "kube_api",
    "expose",
    "retired",
    "owners",
    "editors",
    "viewers",
    "pod_security",
    "quota",
    "container_defaults",
    "clusters",
];
pub const GITOPS: &[&str] = &[
    "tool",
    "repo_url",
    "revision",
    "path",
    "namespace",
    "secret",
    "name_prefix",
];
