//! `[gitops]`: the Argo CD or Flux objects that sync the output tree.

use super::NamespaceName;

/// Which GitOps controller syncs the output tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GitOpsTool {
    ArgoCd,
    Flux,
}

impl GitOpsTool {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ArgoCd => "argocd",
            Self::Flux => "flux",
        }
    }

    /// Where the controller's objects live unless `[gitops] namespace` says otherwise.
    pub fn default_namespace(self) -> &'static str {
        match self {
            Self::ArgoCd => "argocd",
            Self::Flux => "flux-system",
        }
    }
}

/// `[gitops]`: the manifests that make Argo CD or Flux sync each tenant's directory.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct GitOps {
    pub tool: GitOpsTool,
    /// The Git repository holding the output tree, as the controller clones it.
    pub repo_url: String,
    /// The branch (Flux) or revision (Argo CD) to sync.
    pub revision: String,
    /// The output directory's path inside the repository, without `./` or a trailing `/`; empty
    /// when the output tree is the repository's root.
    pub path: String,
    /// The namespace of the controller's objects (`argocd`, `flux-system`).
    pub namespace: NamespaceName,
    /// Flux only: the Secret in that namespace with the repository's credentials.
    pub secret: Option<String>,
    /// Prepended to the name of every GitOps object (a cluster of `[clusters]`: `<cluster>-`),
    /// so that the objects of several clusters can live in one Argo CD.
    pub name_prefix: String,
}
