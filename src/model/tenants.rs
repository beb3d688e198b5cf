//! `[shared.<name>]` and `[tenants.<name>]`, their exposed namespaces and who may consume them.

use std::collections::{BTreeMap, BTreeSet};

use super::{Access, Annotations, Labels, NamespaceName, Port, TenantName};

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
    /// Its namespaces in service; its retired ones are in
    /// [`Config::retired`](super::Config::retired).
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
