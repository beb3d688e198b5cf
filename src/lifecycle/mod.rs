//! Destructive changes: what a change of tenants.toml does to namespaces that exist, judged
//! wherever a change is judged (`compile`, `compile --check`, `diff`).
//!
//! Deleting a Namespace deletes every workload and volume in it, and the generated sync objects
//! never do it (see docs/gitops.md). But a namespace that leaves tenants.toml loses its
//! NetworkPolicies and Sidecar at the next sync while it keeps running: left open, or, once a
//! person deletes it, gone with its data. So a namespace that disappears is a destructive change
//! that fails until tenants.toml acknowledges it: `retired` (it stays, deny-all) or, once a person
//! has deleted it from the cluster, `[purged]`. Moves between owners and flows that consumers
//! lose are reported beside them as breaking; a renamed tenant (the same namespaces under a new
//! name) is a move, not a deletion.

// The sides (a tenants.toml's, an output tree's), the changes found between two of them, and
// how those changes read.
mod changes;
mod from_config;
mod messages;
mod side;

pub use changes::{compare, Change, Report};
pub use messages::how_to_acknowledge;
pub use side::{namespace_of_path, side_before_compile, Held, Location, Owner, Side};
