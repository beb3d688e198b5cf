//! The NetworkPolicy layer: Kubernetes' semantics ([`eval`]), what tenants.toml expects of each
//! namespace and why ([`expect`]), each namespace's policies against it per direction
//! ([`check`]), and the two ends of each flow joined into over- and under-allow findings
//! ([`flows`]).

pub mod check;
pub mod eval;
pub mod expect;
pub mod flows;

pub use eval::*;
pub use expect::{expectations, is_probe_grant, why_text, without_hbone, Expect, Why};

use crate::intent::Intent;
use crate::verify::model::{Direction, Model};
use crate::verify::Finding;

/// Each namespace's NetworkPolicies against the intent, both directions, then each flow judged at
/// both of its ends.
pub fn check(model: &Model, intent: &Intent, findings: &mut Vec<Finding>) {
    let mut flows = flows::Flows::default();
    for (name, ns) in &intent.namespaces {
        let Some(id) = model.id(name.as_str()) else {
            continue;
        };
        for dir in [Direction::Ingress, Direction::Egress] {
            check::compare_side(model, intent, ns, id, dir, &mut flows, findings);
        }
    }
    flows::report_over(model, flows.over, findings);
    flows::report_under(model, flows.under, findings);
}
