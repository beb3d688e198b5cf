//! The identity layer: the tree's Istio AuthorizationPolicies and PeerAuthentications evaluated
//! the way Istio does, and compared with the intent and with the NetworkPolicies underneath.
//!
//! Semantics (https://istio.io/latest/docs/reference/config/security/authorization-policy/):
//! CUSTOM, then DENY, then ALLOW; a DENY that matches denies; with no ALLOW policy on a workload
//! everything else is allowed, with one, only what an ALLOW rule matches. A rule matches when one
//! of its `from`, one of its `to` and all of its `when` match; a missing or empty list matches
//! everything, so a rule without `from` admits every caller and a policy without rules (`spec:
//! {}` with ALLOW) matches nothing. Policies of the root namespace apply to every namespace.
//! `source.namespaces` and `source.principals` (`<trust domain>/ns/<ns>/sa/<sa>`) are mTLS-only:
//! they match the caller's proven identity. What verify cannot evaluate (a `when`, ipBlocks,
//! request principals, HTTP attributes, a selector) counts as matching *some* requests only: an
//! ALLOW of that kind neither proves a flow open nor is ignored as a hole.
//!
//! In ambient mode ztunnel enforces L4 attributes only; an ALLOW rule with HTTP attributes
//! matches nothing there, a DENY rule with them denies the whole connection
//! (https://istio.io/latest/docs/ambient/usage/l4-policy/).
//!
//! [`eval`] holds those semantics (`identity` the matching of a caller's identity), [`check`] compares them with the intent and with the
//! NetworkPolicies underneath.

pub mod check;
pub mod eval;
mod identity;

pub use check::{check, expected_callers, explain, outside_inbound_ports, plaintext_ports};
pub use eval::*;
