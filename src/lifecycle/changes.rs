//! The changes found between two sides: deletions, retirements, purges, renames, moves and
//! lost flows, and which of them fail CI.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{Held, Location, Owner, Side};

/// One change to a namespace that exists, or to a flow someone relies on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// It disappears and nothing acknowledges it: CI fails.
    Deleted {
        namespace: String,
        owner: Owner,
        /// Its owner disappears too (a whole tenant or shared entry removed).
        owner_gone: bool,
        /// It was retired: only `[purged]` can acknowledge it now.
        was_retired: bool,
        at: Location,
    },
    /// It is retired: it keeps its Namespace and a deny-all policy, and loses every flow.
    Retired {
        namespace: String,
        owner: Owner,
        at: Option<Location>,
    },
    /// It leaves tenants.toml, listed in `[purged]`: a person deleted it from the cluster.
    Purged {
        namespace: String,
        owner: Owner,
        at: Location,
    },
    /// A tenant's namespaces all move to a new tenant name: no namespace is deleted.
    Renamed {
        from: String,
        to: String,
        namespaces: Vec<String>,
        at: Location,
    },
    /// It moves to another owner: who may reach it changes.
    Moved {
        namespace: String,
        from: Owner,
        to: Owner,
        at: Location,
    },
    /// A consumer loses a flow it had (breaking).
    FlowLost {
        consumer: Owner,
        destination: String,
        /// The rule that granted it, as tenants.toml writes it.
        rule: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        at: Option<Location>,
    },
    /// The enforced Pod Security level of an owner's namespaces (or of the namespaces named) is
    /// lowered: pods it refused are admitted (breaking; found by `diff`, which reads the levels).
    PodSecurityWeakens {
        /// The owner, or the namespaces, comma-separated.
        of: String,
        before: String,
        after: String,
    },
}

impl Change {
    /// Whether CI must fail on it.
    pub fn is_unacknowledged(&self) -> bool {
        matches!(self, Self::Deleted { .. })
    }
}

/// The destructive and breaking changes from `before` to `after`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub changes: Vec<Change>,
    /// How many changes fail CI.
    pub unacknowledged: usize,
    /// The cluster of a file with `[clusters]` whose tree these changes are in: a deletion is
    /// acknowledged in that cluster's table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

impl Report {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// The changes from `before` to `after`: renamed tenants first, then what became of each
/// namespace of `before`, in order, then the flows lost.
pub fn compare(before: &Side, after: &Side) -> Report {
    let mut changes = renames(before, after);
    let renamed: BTreeMap<String, String> = changes
        .iter()
        .filter_map(|c| match c {
            Change::Renamed { from, to, .. } => Some((from.clone(), to.clone())),
            _ => None,
        })
        .collect();
    for (name, held) in &before.namespaces {
        namespace_changes(name, held, after, &renamed, &mut changes);
    }
    if before.has_flows && after.has_flows {
        changes.extend(flows_lost(before, after));
    }
    let unacknowledged = changes.iter().filter(|c| c.is_unacknowledged()).count();
    Report {
        changes,
        unacknowledged,
        cluster: None,
    }
}

/// Renames: a tenant that is gone, whose namespaces are all, and only, a new tenant's.
fn renames(before: &Side, after: &Side) -> Vec<Change> {
    let mut out = Vec::new();
    for gone in before
        .tenants
        .keys()
        .filter(|t| !after.tenants.contains_key(*t))
    {
        let old: BTreeSet<&String> = namespaces_of(before, gone);
        let Some(new) = renamed_to(before, after, &old) else {
            continue;
        };
        out.push(Change::Renamed {
            from: gone.clone(),
            to: new.clone(),
            namespaces: old.into_iter().cloned().collect(),
            at: after.tenants[new].clone(),
        });
    }
    out
}

/// The tenant of `after`, new since `before`, that holds all of `old` (a gone tenant's
/// namespaces) and nothing else, if there is one.
fn renamed_to<'a>(before: &Side, after: &'a Side, old: &BTreeSet<&String>) -> Option<&'a String> {
    if old.is_empty() {
        return None;
    }
    let holders: BTreeSet<&Owner> = old
        .iter()
        .filter_map(|n| after.namespaces.get(*n).map(|h| &h.owner))
        .collect();
    let [Owner::Tenant(new)] = holders.into_iter().collect::<Vec<_>>()[..] else {
        return None;
    };
    if before.tenants.contains_key(new)
        || namespaces_of(after, new) != *old
        || old.iter().any(|n| !after.namespaces.contains_key(*n))
    {
        return None;
    }
    Some(new)
}

/// What became of one namespace of the base, `held`: purged, deleted, or, still there, moved
/// (unless with its renamed tenant) and/or newly retired.
fn namespace_changes(
    name: &String,
    held: &Held,
    after: &Side,
    renamed: &BTreeMap<String, String>,
    changes: &mut Vec<Change>,
) {
    match after.namespaces.get(name) {
        None if after.purged.contains(name) => changes.push(Change::Purged {
            namespace: name.clone(),
            owner: held.owner.clone(),
            at: held.at.clone(),
        }),
        None => changes.push(Change::Deleted {
            namespace: name.clone(),
            owner: held.owner.clone(),
            owner_gone: match &held.owner {
                Owner::Tenant(t) => !after.tenants.contains_key(t),
                Owner::Shared(_) => true,
            },
            was_retired: held.retired,
            at: held.at.clone(),
        }),
        Some(now) => {
            let renamed_with_tenant = matches!(
                (&held.owner, &now.owner),
                (Owner::Tenant(a), Owner::Tenant(b)) if renamed.get(a) == Some(b)
            );
            if now.owner != held.owner && !renamed_with_tenant {
                changes.push(Change::Moved {
                    namespace: name.clone(),
                    from: held.owner.clone(),
                    to: now.owner.clone(),
                    at: now.at.clone(),
                });
            }
            if now.retired && !held.retired {
                changes.push(Change::Retired {
                    namespace: name.clone(),
                    owner: now.owner.clone(),
                    at: after.retired_at.get(name).cloned(),
                });
            }
        }
    }
}

fn namespaces_of<'a>(side: &'a Side, tenant: &str) -> BTreeSet<&'a String> {
    side.namespaces
        .iter()
        .filter(|(_, h)| h.owner == Owner::Tenant(tenant.to_owned()))
        .map(|(n, _)| n)
        .collect()
}

/// Flows a consumer that is still in service loses, one per (consumer, destination).
fn flows_lost(before: &Side, after: &Side) -> Vec<Change> {
    let mut seen: BTreeSet<(Owner, String)> = BTreeSet::new();
    let mut out = Vec::new();
    for (ns, calls) in &before.calls {
        let Some(now) = after.calls.get(ns) else {
            continue; // deleted or retired: reported as such
        };
        // Named by its owner in the base: who relied on the flow.
        let Some(consumer) = before.namespaces.get(ns).map(|h| h.owner.clone()) else {
            continue;
        };
        for (dest, rule, base_at) in calls {
            if now.iter().any(|(d, _, _)| d == dest) {
                continue;
            }
            if !seen.insert((consumer.clone(), dest.clone())) {
                continue;
            }
            // The rule's table in the new file if it is still there (its consumers changed), or
            // where it was in the base (it is gone).
            let at = after.rule_at.get(rule).cloned().or_else(|| base_at.clone());
            out.push(Change::FlowLost {
                consumer: consumer.clone(),
                destination: dest.clone(),
                rule: rule.table(),
                at,
            });
        }
    }
    out
}
