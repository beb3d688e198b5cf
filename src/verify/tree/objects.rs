//! The objects verify evaluates, as read from the tree: NetworkPolicies, Sidecars,
//! ServiceEntries, AuthorizationPolicies, PeerAuthentications and Namespaces.

use super::{AuthzRule, LabelPairs, Origin, Rules, Selector, Text};

/// A NetworkPolicy as read from the tree. A large tree has a million of these, held until the
/// comparison ends: 128 bytes at most, the allocator's size class below 160.
#[derive(Clone, Debug)]
pub struct Policy {
    pub origin: Origin,
    pub namespace: Option<Text>,
    /// Shared by the policies that spell it the same (see `shared_selector`).
    pub pod_selector: std::sync::Arc<Selector>,
    /// `policyTypes` as (Ingress, Egress); `None` when absent or empty (then defaulted).
    pub policy_types: Option<(bool, bool)>,
    /// Entries of `policyTypes` that are neither `Ingress` nor `Egress`.
    pub unknown_policy_types: Box<[Text]>,
    /// The rules; `reach::Model::build` takes them once it has turned them into grants. Shared
    /// by the policies that spell them the same (see `shared_rules`).
    pub ingress: Option<Rules>,
    pub egress: Option<Rules>,
    /// Whether each direction had rules, for what remains to say after the rules are taken.
    pub has_ingress_rules: bool,
    pub has_egress_rules: bool,
    /// Read for the lifecycle check, which wants the default deny to keep the annotations that
    /// keep a sync from pruning it: bit `i` set when it carries `PROTECTION[i]` (a bit, not the
    /// annotations, to stay within 128 bytes).
    pub protection: u8,
}

/// An Argo CD or Flux object (Application, AppProject, Kustomization, GitRepository), whole: any
/// of its fields may change what a sync applies or where, so the GitOps layer reads them all.
#[derive(Clone, Debug)]
pub struct GitOpsDoc {
    pub origin: Origin,
    pub value: serde_json::Value,
}

/// A file that holds GitOps objects: what the GitOps layer's reader made of them as the file was
/// read, or, when it could not yet (see [`GitOpsReader`]), nothing, and the layer reads the file
/// again ([`super::gitops_docs`]).
#[derive(Clone, Debug)]
pub struct GitOpsFile {
    pub file: std::sync::Arc<str>,
    /// Boxed, not a `Vec`: a hundred thousand of these are held while the tree is read.
    pub read: Option<Box<[ReadGitOpsDoc]>>,
}

/// The GitOps layer's first step on one of its objects, which needs the intent but not the rest
/// of the tree: the reader threads take it as they read the object's file once the intent is
/// derived (`read::read_tree_with`), so that the file is neither read nor parsed twice. It must
/// give what the layer gives on the same object read again.
pub trait GitOpsReader: Send + Sync {
    /// The objects of one file, in its order.
    fn read(&self, docs: Vec<GitOpsDoc>) -> Vec<ReadGitOpsDoc>;
}

/// What [`GitOpsReader::read`] keeps of an object: its origin, what its unit's confinement says
/// of it (`None`: it is the object of no unit), and an AppProject's rules; for an object of a
/// Flux account, what was found of it instead.
#[derive(Clone, Debug)]
pub struct ReadGitOpsDoc {
    pub origin: Origin,
    pub breaches: Option<Vec<crate::intent::confine::Breach>>,
    pub project: Option<crate::intent::confine::ProjectRules>,
    /// Boxed: a hundred thousand Argo CD objects have none.
    pub account: Option<Box<ReadAccount>>,
}

/// An object of a Flux account as the reader judged it: its identity when it is a unit's (the
/// layer holds each identity to one object), and what is wrong with it.
#[derive(Clone, Debug)]
pub struct ReadAccount {
    pub key: Option<crate::intent::confine::flux::AccountKey>,
    pub findings: Vec<crate::verify::Finding>,
}

/// An Istio Sidecar as read from the tree.
#[derive(Clone, Debug)]
pub struct Sidecar {
    pub origin: Origin,
    pub namespace: Option<Text>,
    pub has_workload_selector: bool,
    /// Egress hosts of every listener, in file order. Shared by the Sidecars that list the same
    /// (the namespaces of one tenant import each other).
    pub hosts: std::sync::Arc<[Text]>,
    pub outbound_mode: Option<Text>,
}

/// An Istio ServiceEntry as read from the tree.
#[derive(Clone, Debug)]
pub struct ServiceEntry {
    pub origin: Origin,
    pub namespace: Option<Text>,
    /// Shared by the ServiceEntries that spell it the same (see `shared_service_entry_spec`):
    /// every namespace of a large tree has the same few registry entries.
    pub spec: std::sync::Arc<ServiceEntrySpec>,
}

/// The fields of a ServiceEntry's `spec` that verify reads.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServiceEntrySpec {
    pub hosts: Vec<Text>,
    pub addresses: Vec<Text>,
    pub ports: Vec<i64>,
    /// `None` when absent: Istio then exports it to every namespace.
    pub export_to: Option<Vec<Text>>,
    pub resolution: Option<Text>,
    /// Each port as `(number, protocol, targetPort)`, for the comparison with the intent.
    pub port_specs: Vec<(i64, Option<Text>, Option<i64>)>,
    pub location: Option<Text>,
    /// `endpoints`, `workloadSelector`, `subjectAltNames`: tenantc never writes them (each sends
    /// the traffic, or accepts a certificate, other than the host names say).
    pub has_endpoints: bool,
    pub has_workload_selector: bool,
    pub subject_alt_names: Vec<Text>,
}

/// An Istio AuthorizationPolicy as read from the tree.
#[derive(Clone, Debug)]
pub struct AuthzPolicy {
    pub origin: Origin,
    pub namespace: Option<Text>,
    /// `ALLOW` (the default), `DENY`, `CUSTOM` or `AUDIT`.
    pub action: Text,
    /// `selector` or `targetRef(s)`: it applies to some workloads only.
    pub partial: bool,
    pub rules: Vec<AuthzRule>,
}

/// An Istio PeerAuthentication as read from the tree.
#[derive(Clone, Debug)]
pub struct PeerAuth {
    pub origin: Origin,
    pub namespace: Option<Text>,
    pub has_selector: bool,
    /// `mtls.mode`; `None` inherits (UNSET).
    pub mode: Option<Text>,
    pub port_level: bool,
}

/// A Namespace as read from the tree. Its labels and annotations are shared by the Namespaces
/// that have the same (those of one tenant, mostly).
#[derive(Clone, Debug)]
pub struct NamespaceDoc {
    pub origin: Origin,
    pub labels: std::sync::Arc<LabelPairs>,
    /// Read for the lifecycle check: the annotations that keep a sync from deleting it.
    pub annotations: std::sync::Arc<LabelPairs>,
}

/// An RBAC object as read from the tree: a RoleBinding (evaluated), or a Role, ClusterRole or
/// ClusterRoleBinding (which tenantc never writes).
#[derive(Clone, Debug)]
pub struct RbacDoc {
    pub origin: Origin,
    /// `RoleBinding`, `Role`, `ClusterRole` or `ClusterRoleBinding`.
    pub kind: Text,
    pub namespace: Option<Text>,
    /// `roleRef` as (apiGroup, kind, name).
    pub role_ref: (Text, Text, Text),
    /// Shared by the bindings with the same subjects.
    pub subjects: std::sync::Arc<[RbacSubject]>,
}

/// One subject of a binding, as written.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RbacSubject {
    pub kind: Text,
    pub name: Text,
    pub namespace: Option<Text>,
    pub api_group: Option<Text>,
}

/// A ResourceQuota or LimitRange as read from the tree: the fields tenantc writes, as text, and
/// whether anything else is set.
#[derive(Clone, Debug)]
pub struct LimitDoc {
    pub origin: Origin,
    pub namespace: Option<Text>,
    /// ResourceQuota: `spec.hard`. LimitRange: the `default` of its `Container` item. Sorted;
    /// shared by the objects with the same.
    pub values: std::sync::Arc<[(String, String)]>,
    /// LimitRange: the `defaultRequest` of its `Container` item.
    pub requests: std::sync::Arc<[(String, String)]>,
    /// Fields beyond those (scopes, scopeSelector, other LimitRange items, min, max, ...), named.
    pub other: Vec<String>,
}
