//! One module per layer of the tree: how Kubernetes, Istio or Argo CD evaluate it, and how the
//! result is compared with the intent of tenants.toml. Each layer reads the evaluated tree
//! ([`super::model`]) and the intent, and reports through [`super::finding`]; no layer imports the
//! dispatcher ([`super::evaluate`]) and none imports a layer above it in this list:
//!
//! - [`netpol`]: Kubernetes NetworkPolicies, per namespace and direction, and the flows they open;
//! - [`sidecar`]: Istio Sidecars, the configuration scope of each namespace's proxies;
//! - [`outside`]: flows out of the cluster (egress ipBlocks, ServiceEntries);
//! - [`authz`]: AuthorizationPolicies and PeerAuthentications (the identity layer);
//! - [`ambient`]: what ambient mode needs of the layers above;
//! - [`objects`]: Namespace documents, and objects outside the namespaces tenants.toml defines;
//! - [`lifecycle`]: nothing a sync applies may delete a namespace; retired namespaces stay closed;
//! - [`access`]: RoleBindings, ResourceQuotas, LimitRanges and Pod Security labels;
//! - [`gitops`]: the Argo CD and Flux objects: what each sync applies, where, and what Argo CD's
//!   project rules would refuse.

pub mod access;
pub mod ambient;
pub mod authz;
pub mod gitops;
pub mod lifecycle;
pub mod netpol;
pub mod objects;
pub mod outside;
pub mod sidecar;
