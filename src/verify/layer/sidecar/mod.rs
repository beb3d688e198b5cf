//! The Sidecar layer: Istio's semantics of egress hosts ([`eval`]) and the Sidecars compared with
//! the intent and with the NetworkPolicies ([`check`]).

pub mod check;
pub mod eval;

pub use check::{cluster_size, mesh_scope};
pub use eval::*;

use crate::intent::Intent;
use crate::verify::model::Model;
use crate::verify::Finding;

/// Each sidecar-mode namespace's Sidecars against the intent and the NetworkPolicies.
pub fn check(model: &Model, intent: &Intent, findings: &mut Vec<Finding>) {
    for (name, ns) in &intent.namespaces {
        let Some(id) = model.id(name.as_str()) else {
            continue;
        };
        if let Some(mesh) = ns.mesh.as_ref().filter(|m| !m.ambient) {
            check::sidecars(model, ns, id, mesh, findings);
        }
    }
}
