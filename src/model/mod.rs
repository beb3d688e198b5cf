//! The types the pipeline stages pass to each other.
//!
//! After `resolve`, invalid states are unrepresentable: every name, label and port below went through
//! a constructor that checks the Kubernetes rule for it, so later stages never re-check.
//!
//! One file per part of tenants.toml: `names` (the checked newtypes every table uses), `platform`
//! (`[cluster]`, `[platform]`), `mesh`, `gitops`, `tenants` (`[shared]`, `[tenants]` and their
//! consumers), `external` and `access` (RBAC, Pod Security, quotas); all re-exported here.

mod access;
mod external;
mod gitops;
mod mesh;
mod names;
mod platform;
mod tenants;

use std::collections::{BTreeMap, BTreeSet};

pub use access::*;
pub use external::*;
pub use gitops::*;
pub use mesh::*;
pub use names::*;
pub use platform::*;
pub use tenants::*;

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
