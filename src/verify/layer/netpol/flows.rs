//! Over- and under-allow findings per flow `from -> to`: the differences found at each end (the
//! egress policies of `from`, the ingress policies of `to`) are joined into one finding that
//! says which end allows or blocks what.

use std::collections::{BTreeMap, BTreeSet};

use crate::verify::finding::{ports_text, violation, with_objects};
use crate::verify::layer::netpol::PortSet;
use crate::verify::model::{Direction, Model};
use crate::verify::tree::Origin;
use crate::verify::Finding;

/// What each flow `(from, to)` has of one kind of difference, at either end.
pub(super) type ByFlow<T> = BTreeMap<(String, String), Pair<T>>;

/// The differences of every flow, from either end, until both ends have been compared.
#[derive(Default)]
pub(crate) struct Flows {
    /// Ports allowed beyond the intent.
    pub(super) over: ByFlow<OverSide>,
    /// Ports the intent allows but the policies block.
    pub(super) under: ByFlow<UnderSide>,
}

/// What one end's policies allow of a flow beyond what tenants.toml allows.
#[derive(Default)]
pub(super) struct OverSide {
    pub(super) ports: PortSet,
    pub(super) named: BTreeSet<String>,
    pub(super) objects: BTreeSet<Origin>,
    pub(super) pods: Option<String>,
}

/// What one end's policies block of a flow tenants.toml allows.
#[derive(Default)]
pub(super) struct UnderSide {
    pub(super) ports: PortSet,
    pub(super) why: String,
    pub(super) pods: Option<String>,
    /// Policies that would allow it, but only for some pods of the namespace.
    pub(super) partial: BTreeSet<String>,
}

impl UnderSide {
    /// ` for every pod (...)`: the policies that allow the flow to some pods only, if any.
    fn for_some(&self) -> String {
        if self.partial.is_empty() {
            String::new()
        } else {
            format!(
                " for every pod ({})",
                self.partial.iter().cloned().collect::<Vec<_>>().join("; ")
            )
        }
    }
}

/// The two ends of one flow `from -> to`: `from`'s egress policies, `to`'s ingress policies.
#[derive(Default)]
pub(super) struct Pair<T> {
    egress: Option<T>,
    ingress: Option<T>,
}

impl<T> Pair<T> {
    /// The end of the flow that a namespace's policies of direction `dir` are.
    pub(super) fn end_mut(&mut self, dir: Direction) -> &mut Option<T> {
        match dir {
            Direction::Egress => &mut self.egress,
            Direction::Ingress => &mut self.ingress,
        }
    }
}

/// The files of namespace `n`'s NetworkPolicies, as objects of an under-allow finding.
fn policy_files(model: &Model, n: &str) -> Vec<Origin> {
    model
        .id(n)
        .map_or_else(Vec::new, |id| model.policy_files(id))
}

fn target(to: &str, pods: Option<&String>) -> String {
    match pods {
        Some(p) => format!("{to} ({p})"),
        None => to.to_owned(),
    }
}

/// One over-allow finding per flow, saying which end's policies allow it.
pub(super) fn report_over(model: &Model, over: ByFlow<OverSide>, findings: &mut Vec<Finding>) {
    let has_policies = |n: &str| {
        model
            .id(n)
            .is_some_and(|id| model.policies.contains_key(&id))
    };
    for ((from, to), pair) in over {
        let mut push = |ports: PortSet,
                        named: &BTreeSet<String>,
                        objects: Vec<Origin>,
                        pods: Option<&String>,
                        tail: String| {
            let mut port_list = if ports.is_empty() {
                Vec::new()
            } else {
                ports.to_strings()
            };
            port_list.extend(named.iter().map(|n| format!("{n} (named port)")));
            let shown = if ports.is_all() && named.is_empty() {
                "(every port)".to_owned()
            } else {
                port_list.join(", ")
            };
            let mut f = violation(
                "over-allow",
                with_objects(
                    &format!("{from} -> {} {shown} {tail}", target(&to, pods)),
                    &objects,
                ),
                objects,
            );
            f.from = Some(from.clone());
            f.to = Some(to.clone());
            f.ports = port_list;
            findings.push(f);
        };
        match (pair.egress, pair.ingress) {
            (Some(e), Some(i)) => {
                let ports = e.ports.intersect(&i.ports);
                let named: BTreeSet<String> = e.named.intersection(&i.named).cloned().collect();
                let objects: Vec<Origin> = e.objects.iter().chain(&i.objects).cloned().collect();
                push(
                    ports,
                    &named,
                    objects,
                    e.pods.as_ref(),
                    "is allowed but tenants.toml denies it".into(),
                );
            }
            (Some(e), None) => {
                let tail = if has_policies(&to) {
                    format!("is allowed by {from}'s egress policies but tenants.toml denies it ({to}'s ingress policies still block it)")
                } else {
                    format!("is allowed by {from}'s egress policies but tenants.toml denies it")
                };
                push(
                    e.ports,
                    &e.named,
                    e.objects.into_iter().collect(),
                    e.pods.as_ref(),
                    tail,
                );
            }
            (None, Some(i)) => {
                let tail = if has_policies(&from) {
                    format!("is allowed by {to}'s ingress policies but tenants.toml denies it ({from}'s egress policies still block it)")
                } else {
                    format!("is allowed by {to}'s ingress policies but tenants.toml denies it")
                };
                push(
                    i.ports,
                    &i.named,
                    i.objects.into_iter().collect(),
                    i.pods.as_ref(),
                    tail,
                );
            }
            (None, None) => {}
        }
    }
}

/// One under-allow finding per flow, saying which end's policies block it.
pub(super) fn report_under(model: &Model, under: ByFlow<UnderSide>, findings: &mut Vec<Finding>) {
    for ((from, to), pair) in under {
        let (ports, why, pods, blocked, mut objects) = match (pair.egress, pair.ingress) {
            (Some(e), Some(i)) => {
                let mut ports = e.ports.clone();
                ports.union_with(&i.ports);
                let objects: Vec<Origin> = policy_files(model, &from)
                    .into_iter()
                    .chain(policy_files(model, &to))
                    .collect();
                let blocked = format!(
                    "neither {from}'s egress{} nor {to}'s ingress policies{} allow it",
                    e.for_some(),
                    i.for_some()
                );
                (ports, e.why, e.pods, blocked, objects)
            }
            (Some(e), None) => {
                let blocked = format!("{from}'s egress policies do not allow it{}", e.for_some());
                (e.ports, e.why, e.pods, blocked, policy_files(model, &from))
            }
            (None, Some(i)) => {
                let blocked = format!("{to}'s ingress policies do not allow it{}", i.for_some());
                (i.ports, i.why, i.pods, blocked, policy_files(model, &to))
            }
            (None, None) => continue,
        };
        objects.dedup();
        let where_ = if objects.is_empty() {
            " (no NetworkPolicy in the tree)".to_owned()
        } else {
            format!(
                " ({})",
                objects
                    .iter()
                    .map(|o| o.file.clone())
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        };
        let mut f = violation(
            "under-allow",
            format!(
                "{from} -> {} {} is allowed by tenants.toml ({why}) but blocked: {blocked}{where_}",
                target(&to, pods.as_ref()),
                ports_text(&ports)
            ),
            objects,
        );
        f.from = Some(from);
        f.to = Some(to);
        f.ports = ports.to_strings();
        findings.push(f);
    }
}
