//! The Sidecar layer: Istio's semantics of egress hosts ([`eval`]) and the Sidecars compared with
//! the intent and with the NetworkPolicies ([`check`]).

pub mod check;
pub mod eval;

pub use check::cluster_size;
pub use eval::*;

use crate::intent::Intent;
use crate::verify::model::Model;
use crate::verify::{Finding, MeshScope, ScopeRow};

/// Each sidecar-mode namespace's Sidecars against the intent and the NetworkPolicies; and for
/// each meshed namespace, how many namespaces its sidecars get configuration for (what the
/// report's mesh scope shows), from the same evaluation of its Sidecar.
pub fn check(model: &Model, intent: &Intent, findings: &mut Vec<Finding>) -> MeshScope {
    let cluster = cluster_size(model, intent);
    let mut out = MeshScope::default();
    for (name, ns) in &intent.namespaces {
        let Some(mesh) = &ns.mesh else { continue };
        if mesh.ambient {
            out.ambient += 1;
            continue;
        }
        let receives = match model.id(name.as_str()) {
            Some(id) => check::sidecars(model, ns, id, mesh, cluster, findings),
            None => cluster,
        };
        out.namespaces.push(ScopeRow {
            namespace: name.to_string(),
            with_sidecars: receives,
            without_sidecars: cluster,
        });
        out.total_with_sidecars += receives;
        out.total_without_sidecars += cluster;
    }
    out
}
