//! The lifecycle rules of tenants.toml: the annotations that keep a sync from deleting a
//! namespace, and (see below) retired and purged namespaces.

/// Argo CD: never prune this object when it leaves Git, and never delete it when its Application
/// is deleted (cascade). https://argo-cd.readthedocs.io/en/stable/user-guide/sync-options/
pub const ANNOTATION_ARGOCD_SYNC_OPTIONS: &str = "argocd.argoproj.io/sync-options";
pub const ARGOCD_KEEP: &str = "Delete=false,Prune=false";
/// Flux: leave this object out of garbage collection, both when it leaves Git and when its
/// Kustomization is deleted.
/// https://fluxcd.io/flux/components/kustomize/kustomizations/#garbage-collection
pub const ANNOTATION_FLUX_PRUNE: &str = "kustomize.toolkit.fluxcd.io/prune";
pub const FLUX_KEEP: &str = "disabled";

/// The annotations tenantc puts on every Namespace and every `default-deny` NetworkPolicy, so
/// that no sync of the output deletes a namespace (and its workloads and volumes) or leaves it
/// without its deny-all policy.
pub const PROTECTION: [(&str, &str); 2] = [
    (ANNOTATION_ARGOCD_SYNC_OPTIONS, ARGOCD_KEEP),
    (ANNOTATION_FLUX_PRUNE, FLUX_KEEP),
];

/// Whether `key` is one of the protection annotations, which users may not set.
pub fn is_protection_key(key: &str) -> bool {
    PROTECTION.iter().any(|(k, _)| *k == key)
}
