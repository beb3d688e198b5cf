//! How changes read: one line each, the unacknowledged deletions as errors with their help, the
//! text section of a run and the PR comment's first section.

use super::{Change, Location, Owner, Report};

fn describe(ns: &str, owner: &Owner) -> String {
    match owner {
        Owner::Tenant(t) => format!("{ns} (tenant {t})"),
        Owner::Shared(_) => format!("{ns} (shared)"),
    }
}

/// ` (<where>)` when it is known, else nothing.
fn written_at(at: &Option<Location>) -> String {
    at.as_ref().map(|a| format!(" ({a})")).unwrap_or_default()
}

/// How to acknowledge the deletion of `ns`; `owner_gone`: its whole tenant is removed;
/// `cluster`: the cluster of a file with `[clusters]` it leaves.
pub fn how_to_acknowledge(
    ns: &str,
    owner: &Owner,
    owner_gone: bool,
    was_retired: bool,
    cluster: Option<&str>,
) -> String {
    if let Some(c) = cluster {
        let purged =
            format!("if it is already deleted from cluster {c}, add it to [clusters.{c}] `purged`");
        return if was_retired {
            format!("it is retired in cluster {c}: once a person has deleted it there (`kubectl delete namespace {ns}`), add it to [clusters.{c}] `purged`; until then keep it retired")
        } else if owner_gone {
            let keep = match owner {
                Owner::Tenant(t) => format!("keep [tenants.{t}] with its namespaces and add them to [clusters.{c}] `retired`"),
                Owner::Shared(s) => format!("keep [shared.{s}] and add it to [clusters.{c}] `retired`"),
            };
            format!("to keep it isolated in cluster {c} until a person deletes it there, {keep}; {purged}")
        } else {
            format!("to keep it isolated in cluster {c} until a person deletes it there, add it to [clusters.{c}] `retired` (`retired = [\"{ns}\"]`); {purged}")
        };
    }
    if was_retired {
        return format!(
            "it is retired: once a person has deleted it from the cluster (`kubectl delete namespace {ns}`), add it to [purged] namespaces; until then keep it retired"
        );
    }
    let keep = match owner {
        Owner::Tenant(t) if owner_gone => format!(
            "keep [tenants.{t}] with its namespaces and set `retired = true` in it"
        ),
        Owner::Tenant(t) => format!(
            "keep it in [tenants.{t}] `namespaces` and add it to `retired` there (`retired = [\"{ns}\"]`, or `retired = true` for the whole tenant)"
        ),
        Owner::Shared(s) => format!("keep [shared.{s}] and set `retired = true` in it"),
    };
    format!(
        "to keep it isolated until a person deletes it, {keep}; if it is already deleted from the cluster, add it to [purged] namespaces"
    )
}

/// The line of a deleted namespace, which fails CI; `cluster`: the cluster it leaves, for a
/// file with `[clusters]`.
fn deleted_line(
    namespace: &str,
    owner: &Owner,
    owner_gone: bool,
    at: &Location,
    cluster: Option<&str>,
) -> String {
    let why = match (owner, owner_gone, cluster) {
        (Owner::Tenant(t), true, Some(c)) => format!("tenant {t} is no longer on cluster {c}"),
        (Owner::Shared(s), _, Some(c)) => format!("shared entry {s} is no longer on cluster {c}"),
        (Owner::Tenant(t), true, None) => format!("tenant {t} is removed"),
        (Owner::Shared(s), _, None) => format!("shared entry {s} is removed"),
        (Owner::Tenant(t), false, _) => format!("it is removed from tenant {t}"),
    };
    format!(
        "! namespace {} would be deleted, with every workload and volume in it: {why} (was {at}); not acknowledged",
        describe(namespace, owner)
    )
}

impl Change {
    /// One line, with a marker: `!` fails CI or weakens Pod Security, `~` moves, `-` breaking,
    /// `=` acknowledged.
    pub fn line(&self) -> String {
        self.line_in(None)
    }

    /// [`Change::line`] of a change in `cluster`'s tree, for a file with `[clusters]`.
    pub fn line_in(&self, cluster: Option<&str>) -> String {
        match self {
            Self::Deleted {
                namespace,
                owner,
                owner_gone,
                at,
                ..
            } => deleted_line(namespace, owner, *owner_gone, at, cluster),
            Self::Retired { namespace, owner, at } => format!(
                "= namespace {} is retired: it keeps its Namespace and a deny-all policy, and loses every flow{}",
                describe(namespace, owner),
                written_at(at)
            ),
            Self::Purged { namespace, owner, at } => format!(
                "= namespace {} is purged: tenantc forgets it; it must already be deleted from the cluster (was {at})",
                describe(namespace, owner)
            ),
            Self::Renamed {
                from,
                to,
                namespaces,
                at,
            } => format!(
                "~ tenant {from} is renamed to {to} ({at}): its namespaces {} move with it, none is deleted",
                namespaces.join(", ")
            ),
            Self::Moved {
                namespace,
                from,
                to,
                at,
            } => format!("~ namespace {namespace} moves from {from} to {to} ({at}): who may reach it changes"),
            Self::FlowLost {
                consumer: Owner::Tenant(who) | Owner::Shared(who),
                destination,
                rule,
                at,
            } => format!(
                "- breaking: {who} may no longer reach {destination}, granted by {rule}{}",
                written_at(at)
            ),
            Self::PodSecurityWeakens { of, before, after } => {
                format!("! pod security of {of} weakens: {before} -> {after}")
            }
        }
    }

    /// For a deletion, how to acknowledge it (in `cluster`, for a file with `[clusters]`).
    fn acknowledgement(&self, cluster: Option<&str>) -> Option<String> {
        match self {
            Self::Deleted {
                namespace,
                owner,
                owner_gone,
                was_retired,
                ..
            } => Some(how_to_acknowledge(
                namespace,
                owner,
                *owner_gone,
                *was_retired,
                cluster,
            )),
            _ => None,
        }
    }
}

impl Report {
    /// The unacknowledged deletions, each with how to acknowledge it.
    pub fn errors(&self) -> Vec<String> {
        self.changes
            .iter()
            .filter_map(|c| {
                let help = c.acknowledgement(self.cluster.as_deref())?;
                let line = c.line_in(self.cluster.as_deref());
                Some(format!("error: {}\n  = help: {help}", &line[2..]))
            })
            .collect()
    }

    /// One line per change.
    fn lines(&self) -> String {
        let mut out = String::new();
        for c in &self.changes {
            out.push_str(&c.line_in(self.cluster.as_deref()));
            out.push('\n');
        }
        out
    }

    /// The text section: a heading, then one line per change.
    pub fn to_text(&self) -> String {
        if self.is_empty() {
            return String::new();
        }
        let mut out = format!(
            "destructive and breaking changes ({} not acknowledged):\n",
            self.unacknowledged
        );
        out.push_str(&self.lines());
        if self.unacknowledged > 0 {
            let (retire, purge) = match &self.cluster {
                Some(c) => (
                    format!("[clusters.{c}] `retired`"),
                    format!("[clusters.{c}] `purged`"),
                ),
                None => (
                    "`retired` in tenants.toml".to_owned(),
                    "[purged] namespaces".to_owned(),
                ),
            };
            out.push_str(&format!(
                "{} namespace(s) would be deleted: retire them ({retire}) or, once deleted from the cluster, list them in {purge}\n",
                self.unacknowledged
            ));
        }
        out.push('\n');
        out
    }

    /// The PR comment's first section.
    pub fn to_markdown(&self) -> String {
        if self.is_empty() {
            return String::new();
        }
        let mut out = if self.unacknowledged > 0 {
            format!(
                "### :warning: tenantc: destructive changes ({} not acknowledged)\n\n",
                self.unacknowledged
            )
        } else {
            "### tenantc: destructive and breaking changes (all acknowledged)\n\n".to_owned()
        };
        out.push_str("```diff\n");
        out.push_str(&self.lines());
        out.push_str("```\n\n");
        for c in &self.changes {
            if let (Change::Deleted { namespace, .. }, Some(help)) =
                (c, c.acknowledgement(self.cluster.as_deref()))
            {
                out.push_str(&format!("- **{namespace}**: {help}.\n"));
            }
        }
        if self.unacknowledged > 0 {
            out.push('\n');
        }
        out
    }
}
