//! The kinds of object tenantc writes into a namespace's directory, as Argo CD's project
//! whitelists, RBAC rules and kustomizations name them.

/// A kind of object tenantc writes into a namespace's directory, in the order of its
/// kustomization: what a GitOps controller must be allowed to apply there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Namespace,
    NetworkPolicy,
    ServiceEntry,
    Sidecar,
    /// With `[mesh] authorization = true`.
    AuthorizationPolicy,
    /// With `[mesh] mtls`.
    PeerAuthentication,
    /// With `owners`, `editors` or `viewers`.
    RoleBinding,
    /// With `quota`.
    ResourceQuota,
    /// With `container_defaults`.
    LimitRange,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::Namespace,
        Kind::NetworkPolicy,
        Kind::ServiceEntry,
        Kind::Sidecar,
        Kind::AuthorizationPolicy,
        Kind::PeerAuthentication,
        Kind::RoleBinding,
        Kind::ResourceQuota,
        Kind::LimitRange,
    ];

    /// The kind an RBAC rule names with `group` and `resource`.
    pub fn of_resource(group: &str, resource: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.group() == group && k.resource() == resource)
    }

    /// The API group, as Argo CD's project whitelists and RBAC rules name it (`""`: core).
    pub fn group(self) -> &'static str {
        match self {
            Kind::Namespace | Kind::ResourceQuota | Kind::LimitRange => "",
            Kind::RoleBinding => "rbac.authorization.k8s.io",
            Kind::NetworkPolicy => "networking.k8s.io",
            Kind::ServiceEntry | Kind::Sidecar => "networking.istio.io",
            Kind::AuthorizationPolicy | Kind::PeerAuthentication => "security.istio.io",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Namespace => "Namespace",
            Kind::NetworkPolicy => "NetworkPolicy",
            Kind::ServiceEntry => "ServiceEntry",
            Kind::Sidecar => "Sidecar",
            Kind::AuthorizationPolicy => "AuthorizationPolicy",
            Kind::PeerAuthentication => "PeerAuthentication",
            Kind::RoleBinding => "RoleBinding",
            Kind::ResourceQuota => "ResourceQuota",
            Kind::LimitRange => "LimitRange",
        }
    }

    /// The resource, as RBAC rules name it (the kind's plural, lower case).
    pub fn resource(self) -> &'static str {
        match self {
            Kind::Namespace => "namespaces",
            Kind::NetworkPolicy => "networkpolicies",
            Kind::ServiceEntry => "serviceentries",
            Kind::Sidecar => "sidecars",
            Kind::AuthorizationPolicy => "authorizationpolicies",
            Kind::PeerAuthentication => "peerauthentications",
            Kind::RoleBinding => "rolebindings",
            Kind::ResourceQuota => "resourcequotas",
            Kind::LimitRange => "limitranges",
        }
    }

    /// Namespace is the only cluster-scoped kind tenantc writes into a tenant's directory.
    pub fn namespaced(self) -> bool {
        self != Kind::Namespace
    }
}
