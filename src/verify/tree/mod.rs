//! Reads an output tree back from disk: every `*.yaml`/`*.yml` file, every document, keeping the
//! file and object each NetworkPolicy, Sidecar and Namespace came from. Deliberately independent of
//! `render`: the tree may come from user templates or hand edits.
//!
//! - `read` finds the files the cluster receives and reads them, in parallel;
//! - `access` reads the access objects compile writes after each Namespace without the generic
//!   YAML reader;
//! - `parse` turns each document into one of the objects verify evaluates, or a finding;
//! - `objects` holds those objects, `spec` the Kubernetes and Istio fields they keep, `text` the
//!   strings and rule lists they share.

pub mod kustomize;
mod namespace_file;
mod objects;
mod parse;
mod read;
mod spec;
mod text;
mod walk;
pub mod yaml;

use std::fmt;

pub use objects::{
    AuthzPolicy, GitOpsDoc, GitOpsFile, GitOpsReader, LimitDoc, NamespaceDoc, PeerAuth, Policy,
    RbacDoc, RbacSubject, ReadAccount, ReadGitOpsDoc, ServiceEntry, ServiceEntrySpec, Sidecar,
};
pub use parse::{gitops_docs, parse_file};
pub use read::{read_tree, read_tree_with, GitOpsSlot};
pub use spec::{
    AuthzFrom, AuthzOperation, AuthzRule, AuthzSource, AuthzTo, Expression, IgnoredWhen, IpBlock,
    LabelPairs, Peer, PolicyPort, PortValue, Rule, Selector,
};
pub use text::{Rules, Text};

/// Where a document came from: the file (as the user named it) and the object's kind and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Origin {
    /// Shared by every document of the file.
    pub file: std::sync::Arc<str>,
    pub kind: &'static str,
    pub name: Text,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.name)
    }
}

/// Everything verify needs from the tree, in file order. Objects are boxed: a vector of a
/// hundred thousand 200-byte objects doubles as it grows and is copied when the reader threads'
/// parts are joined, which made those vectors the largest part of verify's peak memory.
#[derive(Clone, Debug, Default)]
pub struct Tree {
    /// The output directory as the user named it: every file's name starts with it.
    pub root: String,
    pub files: usize,
    pub documents: usize,
    pub namespaces: Vec<Box<NamespaceDoc>>,
    pub policies: Vec<Box<Policy>>,
    pub sidecars: Vec<Box<Sidecar>>,
    pub service_entries: Vec<Box<ServiceEntry>>,
    pub authz_policies: Vec<Box<AuthzPolicy>>,
    pub peer_auths: Vec<Box<PeerAuth>>,
    /// RoleBindings, Roles, ClusterRoles and ClusterRoleBindings.
    pub rbac: Vec<Box<RbacDoc>>,
    pub quotas: Vec<Box<LimitDoc>>,
    pub limit_ranges: Vec<Box<LimitDoc>>,
    /// The files with Argo CD and Flux objects, and what was read of them (see [`GitOpsFile`]).
    pub gitops: Vec<GitOpsFile>,
    /// Other network policy kinds (Calico, Cilium, AdminNetworkPolicy, ...): they change what
    /// is reachable, but verify does not evaluate them, so each is a violation.
    pub unevaluated: Vec<Origin>,
    /// Violations in how the tree is applied rather than in what its policies allow: files no
    /// kustomization reaches, kustomization features, merge keys, kinds tenantc never generates
    /// (see [`kustomize`]).
    pub audit: Vec<crate::verify::Finding>,
}

impl Tree {
    /// Adds what `other` read: every list of objects and the counts. One place, so that a new
    /// kind is never dropped by one of the readers that read in parts (verify's threads,
    /// import's chunks of a dump).
    pub fn absorb(&mut self, other: Tree) {
        let Tree {
            root: _,
            files,
            documents,
            namespaces,
            policies,
            sidecars,
            service_entries,
            authz_policies,
            peer_auths,
            rbac,
            quotas,
            limit_ranges,
            gitops,
            unevaluated,
            audit,
        } = other;
        self.files += files;
        self.documents += documents;
        self.namespaces.extend(namespaces);
        self.policies.extend(policies);
        self.sidecars.extend(sidecars);
        self.service_entries.extend(service_entries);
        self.authz_policies.extend(authz_policies);
        self.peer_auths.extend(peer_auths);
        self.rbac.extend(rbac);
        self.quotas.extend(quotas);
        self.limit_ranges.extend(limit_ranges);
        self.gitops.extend(gitops);
        self.unevaluated.extend(unevaluated);
        self.audit.extend(audit);
    }
}

/// A file that cannot be read or parsed: exit 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    #[error("cannot read `{path}`: {message}")]
    Read { path: String, message: String },
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
}
