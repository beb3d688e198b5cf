//! `[cluster]` and `[platform]`: the cluster's ranges, DNS, the ingress controller, monitoring
//! and the Kubernetes API server.

use std::collections::BTreeSet;

use super::{LabelValue, Labels, NamespaceName, Port};

/// An IPv4 or IPv6 network in canonical form (no host bits set): resolve refuses any other.
pub type Cidr = ipnet::IpNet;

/// The cloud metadata addresses: excepted from every external ipBlock that contains them, unless
/// that entry names the address exactly. AWS, GCP and Azure serve instance credentials at
/// 169.254.169.254; AWS also at fd00:ec2::254 on IPv6.
pub const METADATA_CIDRS: [&str; 2] = ["169.254.169.254/32", "fd00:ec2::254/128"];

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
    /// The API server as Argo CD names this cluster (`destination.server` of the tenants' and
    /// shared entries' Applications); `None`: the cluster Argo CD runs in.
    pub server: Option<String>,
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
