//! Names tenantc derives from the user's names, checked against the limits of the kind that
//! carries them, so that a config that compiles never produces an object the API server or a
//! controller refuses. Reported like any other validation error: at the name in tenants.toml,
//! with the derived name and how short the user's name must be.

use crate::diag::Diagnostic;
use crate::intent::gitops_of;
use crate::load::RawConfig;
use crate::model::{Config, GitOpsTool};

/// Argo CD writes an Application's name into the `app.kubernetes.io/instance` label of every
/// object it syncs, and Flux a Kustomization's into `kustomize.toolkit.fluxcd.io/name`: label
/// values are at most 63 characters (Kubernetes "Labels and Selectors").
pub const GITOPS_NAME_LIMIT: usize = 63;

/// Every name derived from a tenant or shared name that exceeds its kind's limit.
pub fn check(raw: &RawConfig, config: &Config) -> Vec<Diagnostic> {
    let Some(gitops) = gitops_of(config) else {
        return Vec::new();
    };
    let kinds = match config.gitops.as_ref().map(|g| &g.tool) {
        Some(GitOpsTool::Flux) => "a Flux Kustomization",
        _ => "an Argo CD Application and AppProject",
    };
    let mut diags = Vec::new();
    for unit in &gitops.units {
        if unit.name.len() <= GITOPS_NAME_LIMIT {
            continue;
        }
        let (what, span) = match unit.role.as_str() {
            "tenant" => (
                "tenant",
                raw.tenants
                    .iter()
                    .find(|t| t.name.value == unit.owner)
                    .map(|t| t.name.span.clone()),
            ),
            _ => (
                "shared entry",
                raw.shared
                    .iter()
                    .find(|s| s.name.value == unit.owner)
                    .map(|s| s.name.span.clone()),
            ),
        };
        let prefix = unit.name.len() - unit.owner.len();
        diags.push(
            Diagnostic::new(
                format!(
                    "with [gitops], {what} `{}` gets {kinds} named `{}`, {} characters; at most {GITOPS_NAME_LIMIT} are allowed",
                    unit.owner,
                    unit.name,
                    unit.name.len()
                ),
                span.unwrap_or(0..0),
            )
            .with_label("name too long")
            .with_help(format!(
                "the controller writes that name into a label value (at most {GITOPS_NAME_LIMIT} characters): shorten the name to at most {} characters",
                GITOPS_NAME_LIMIT - prefix
            )),
        );
    }
    diags
}
