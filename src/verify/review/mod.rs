//! The reviewer's questions, answered on the same evaluated tree as verify: [`explain`] (may A
//! reach B, and which objects say so), [`diff`] (what a change opens and closes, in tenant terms)
//! and [`graph`] (the reachability as a graph).

pub mod access;
pub mod diff;
pub mod explain;
pub mod graph;
