//! `[mesh]`: Istio's control plane, the dataplane mode, mTLS and authorization.

use super::{LabelValue, Labels, NamespaceName};

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
