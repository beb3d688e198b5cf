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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use crate::intent::{Intent, Role, Rule};
use crate::load::{RawConfig, RawIngress};
use crate::model::{Config, ExternalName, NamespaceName, RetiredOwner, TenantName};

/// Where something is written: a line of a tenants.toml, or a file of an output tree.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Location {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}", self.file),
            _ => f.write_str(&self.file),
        }
    }
}

/// Who holds a namespace.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Owner {
    Tenant(String),
    /// A `[shared.<name>]` entry, named like its namespace.
    Shared(String),
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tenant(t) => write!(f, "tenant {t}"),
            Self::Shared(_) => f.write_str("shared"),
        }
    }
}

/// One namespace of one side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    pub owner: Owner,
    pub retired: bool,
    /// Where the namespace is claimed (or, for a tree, its Namespace file).
    pub at: Location,
}

/// What one side (a base or a new tenants.toml, or an output tree) holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Side {
    pub namespaces: BTreeMap<String, Held>,
    pub tenants: BTreeMap<String, Location>,
    pub purged: BTreeSet<String>,
    /// Where each retired namespace's `retired` is written.
    pub retired_at: BTreeMap<String, Location>,
    /// The flows of each namespace in service: (destination namespace, rule, where the rule is).
    pub calls: BTreeMap<String, Vec<(String, Rule, Option<Location>)>>,
    /// The tables of the rules that grant flows, by rule.
    pub rule_at: BTreeMap<Rule, Location>,
    /// Whether `calls` is known (a tenants.toml) or not (an output tree).
    pub has_flows: bool,
}

fn locate(file: &str, lines: &crate::diag::LineIndex, offset: usize) -> Location {
    let (line, column) = lines.line_col(offset);
    Location {
        file: file.to_owned(),
        line: Some(line),
        column: Some(column),
    }
}

impl Side {
    /// The side a valid tenants.toml describes; `source` is its text (for lines), `file` how
    /// messages name it.
    pub fn of_config(config: &Config, intent: &Intent, source: &str, file: &str) -> Self {
        Self::of_config_with(config, intent, source, file, true)
    }

    /// [`Side::of_config`], with the flows of each namespace (`calls`) only if `flows`: a
    /// compile compares namespaces only, and at 100,000 tenants the flows take 300 MB.
    pub fn of_config_with(
        config: &Config,
        intent: &Intent,
        source: &str,
        file: &str,
        flows: bool,
    ) -> Self {
        let raw = crate::load::load_partial(source)
            .map(|(raw, _)| raw)
            .unwrap_or_default();
        let lines = crate::diag::LineIndex::new(source);
        let at = |offset: usize| locate(file, &lines, offset);
        let mut side = Side {
            has_flows: flows,
            ..Side::default()
        };
        let mut claimed: BTreeMap<String, Location> = BTreeMap::new();
        for t in &raw.tenants {
            side.tenants
                .insert(t.name.value.clone(), at(t.name.span.start));
            match &t.namespaces {
                Some(list) => {
                    for n in &list.value {
                        claimed
                            .entry(n.value.clone())
                            .or_insert_with(|| at(n.span.start));
                    }
                }
                None => {
                    claimed
                        .entry(t.name.value.clone())
                        .or_insert_with(|| at(t.name.span.start));
                }
            }
            match &t.retired {
                Some(RawIngress::List(list)) => {
                    for n in &list.value {
                        side.retired_at.insert(n.value.clone(), at(n.span.start));
                    }
                }
                Some(RawIngress::Flag(f)) => {
                    for ns in config_namespaces_of(config, &t.name.value) {
                        side.retired_at.insert(ns, at(f.span.start));
                    }
                }
                None => {}
            }
            for e in &t.expose {
                if let (Ok(tenant), Ok(namespace)) = (
                    TenantName::new(&t.name.value),
                    NamespaceName::new(&e.namespace.value),
                ) {
                    let rule = Rule::Exposed { tenant, namespace };
                    side.rule_at.insert(rule, at(e.namespace.span.start));
                }
            }
            // One line for `kube_api`, the first tenant's that sets it (the rule has no owner).
            if let Some(k) = t.kube_api.as_ref().filter(|k| k.value) {
                side.rule_at
                    .entry(Rule::KubeApi)
                    .or_insert_with(|| at(k.span.start));
            }
        }
        for s in &raw.shared {
            claimed
                .entry(s.name.value.clone())
                .or_insert_with(|| at(s.name.span.start));
            if let Some(r) = &s.retired {
                side.retired_at
                    .insert(s.name.value.clone(), at(r.span.start));
            }
            if let Ok(shared) = NamespaceName::new(&s.name.value) {
                side.rule_at
                    .insert(Rule::Shared { shared }, at(s.name.span.start));
            }
        }
        for e in &raw.externals {
            if let Ok(name) = ExternalName::new(&e.name.value) {
                side.rule_at
                    .insert(Rule::External { name }, at(e.name.span.start));
            }
        }
        purged_of(&raw, &mut side);
        for (name, ns) in &intent.namespaces {
            let owner = match (&ns.role, &ns.tenant) {
                (_, Some(t)) => Owner::Tenant(t.to_string()),
                _ => Owner::Shared(name.to_string()),
            };
            let retired = ns.role == Role::Retired;
            let location = claimed.get(name.as_str()).cloned().unwrap_or(Location {
                file: file.to_owned(),
                line: None,
                column: None,
            });
            side.namespaces.insert(
                name.to_string(),
                Held {
                    owner,
                    retired,
                    at: location,
                },
            );
            if flows && !retired {
                let inside = ns.calls.iter().map(|c| (c.namespace.to_string(), &c.rule));
                let outside = ns.outside.iter().map(|o| {
                    let dest = match &o.rule {
                        Rule::External { name } => format!("external {name}"),
                        _ => "the Kubernetes API".to_owned(),
                    };
                    (dest, &o.rule)
                });
                let calls = inside
                    .chain(outside)
                    .map(|(dest, rule)| (dest, rule.clone(), side.rule_at.get(rule).cloned()))
                    .collect();
                side.calls.insert(name.to_string(), calls);
            }
        }
        side
    }

    /// The side an output tree holds: its Namespace files, `(path, text)`, laid out as
    /// `tenants/<tenant>/<namespace>/namespace.yaml` or `shared/<namespace>/namespace.yaml`.
    pub fn of_namespace_files<'a>(files: impl IntoIterator<Item = (String, &'a str)>) -> Self {
        let mut side = Side::default();
        for (path, text) in files {
            let Some((name, owner)) = namespace_of_path(&path) else {
                continue;
            };
            if let Owner::Tenant(t) = &owner {
                side.tenants.entry(t.clone()).or_insert_with(|| Location {
                    file: path.clone(),
                    line: None,
                    column: None,
                });
            }
            let retired = text
                .lines()
                .any(|l| l.trim_start().starts_with(crate::resolve::LABEL_RETIRED));
            side.namespaces.insert(
                name,
                Held {
                    owner,
                    retired,
                    at: Location {
                        file: path,
                        line: None,
                        column: None,
                    },
                },
            );
        }
        side
    }
}

fn config_namespaces_of(config: &Config, tenant: &str) -> Vec<String> {
    config
        .retired
        .iter()
        .filter(|(_, r)| matches!(&r.owner, RetiredOwner::Tenant(t) if t.as_str() == tenant))
        .map(|(n, _)| n.to_string())
        .collect()
}

fn purged_of(raw: &RawConfig, side: &mut Side) {
    if let Some(p) = &raw.purged {
        for n in p.namespaces.iter().flat_map(|l| &l.value) {
            side.purged.insert(n.value.clone());
        }
    }
}

/// `tenants/<t>/<ns>/namespace.yaml` or `shared/<ns>/namespace.yaml`, relative to the output.
pub fn namespace_of_path(path: &str) -> Option<(String, Owner)> {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        [crate::model::TENANTS_DIR, t, ns, "namespace.yaml"] => {
            Some(((*ns).to_owned(), Owner::Tenant((*t).to_owned())))
        }
        [crate::model::SHARED_DIR, ns, "namespace.yaml"] => {
            Some(((*ns).to_owned(), Owner::Shared((*ns).to_owned())))
        }
        _ => None,
    }
}

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
}

pub fn compare(before: &Side, after: &Side) -> Report {
    let mut changes = Vec::new();
    // Renames: a tenant that is gone, whose namespaces are all, and only, a new tenant's.
    let mut renamed: BTreeMap<String, String> = BTreeMap::new();
    for gone in before
        .tenants
        .keys()
        .filter(|t| !after.tenants.contains_key(*t))
    {
        let old: BTreeSet<&String> = namespaces_of(before, gone);
        if old.is_empty() {
            continue;
        }
        let holders: BTreeSet<&Owner> = old
            .iter()
            .filter_map(|n| after.namespaces.get(*n).map(|h| &h.owner))
            .collect();
        let [Owner::Tenant(new)] = holders.into_iter().collect::<Vec<_>>()[..] else {
            continue;
        };
        if before.tenants.contains_key(new)
            || namespaces_of(after, new) != old
            || old.iter().any(|n| !after.namespaces.contains_key(*n))
        {
            continue;
        }
        renamed.insert(gone.clone(), new.clone());
        changes.push(Change::Renamed {
            from: gone.clone(),
            to: new.clone(),
            namespaces: old.into_iter().cloned().collect(),
            at: after.tenants[new].clone(),
        });
    }
    for (name, held) in &before.namespaces {
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
    if before.has_flows && after.has_flows {
        changes.extend(flows_lost(before, after));
    }
    let unacknowledged = changes.iter().filter(|c| c.is_unacknowledged()).count();
    Report {
        changes,
        unacknowledged,
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

fn describe(ns: &str, owner: &Owner) -> String {
    match owner {
        Owner::Tenant(t) => format!("{ns} (tenant {t})"),
        Owner::Shared(_) => format!("{ns} (shared)"),
    }
}

/// How to acknowledge the deletion of `ns`; `owner_gone`: its whole tenant is removed.
pub fn how_to_acknowledge(ns: &str, owner: &Owner, owner_gone: bool, was_retired: bool) -> String {
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

impl Change {
    /// One line, with a marker: `!` fails CI, `~` moves, `-` breaking, `=` acknowledged.
    pub fn line(&self) -> String {
        match self {
            Self::Deleted {
                namespace,
                owner,
                owner_gone,
                at,
                ..
            } => {
                let why = match (owner, owner_gone) {
                    (Owner::Tenant(t), true) => format!("tenant {t} is removed"),
                    (Owner::Shared(s), _) => format!("shared entry {s} is removed"),
                    (Owner::Tenant(t), false) => format!("it is removed from tenant {t}"),
                };
                format!(
                    "! namespace {} would be deleted, with every workload and volume in it: {why} (was {at}); not acknowledged",
                    describe(namespace, owner)
                )
            }
            Self::Retired { namespace, owner, at } => format!(
                "= namespace {} is retired: it keeps its Namespace and a deny-all policy, and loses every flow{}",
                describe(namespace, owner),
                at.as_ref().map(|a| format!(" ({a})")).unwrap_or_default()
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
                consumer,
                destination,
                rule,
                at,
            } => {
                let who = match consumer {
                    Owner::Tenant(t) => t.clone(),
                    Owner::Shared(s) => s.clone(),
                };
                format!(
                    "- breaking: {who} may no longer reach {destination}, granted by {rule}{}",
                    at.as_ref().map(|a| format!(" ({a})")).unwrap_or_default()
                )
            }
        }
    }
}

impl Report {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The unacknowledged deletions, each with how to acknowledge it.
    pub fn errors(&self) -> Vec<String> {
        self.changes
            .iter()
            .filter_map(|c| match c {
                Change::Deleted {
                    namespace,
                    owner,
                    owner_gone,
                    was_retired,
                    ..
                } => Some(format!(
                    "error: {}\n  = help: {}",
                    &c.line()[2..],
                    how_to_acknowledge(namespace, owner, *owner_gone, *was_retired)
                )),
                _ => None,
            })
            .collect()
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
        for c in &self.changes {
            out.push_str(&c.line());
            out.push('\n');
        }
        if self.unacknowledged > 0 {
            out.push_str(&format!(
                "{} namespace(s) would be deleted: retire them (`retired` in tenants.toml) or, once deleted from the cluster, list them in [purged] namespaces\n",
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
        for c in &self.changes {
            out.push_str(&c.line());
            out.push('\n');
        }
        out.push_str("```\n\n");
        for c in &self.changes {
            if let Change::Deleted {
                namespace,
                owner,
                owner_gone,
                was_retired,
                ..
            } = c
            {
                out.push_str(&format!(
                    "- **{namespace}**: {}.\n",
                    how_to_acknowledge(namespace, owner, *owner_gone, *was_retired)
                ));
            }
        }
        if self.unacknowledged > 0 {
            out.push('\n');
        }
        out
    }
}

/// The side the output directory held before a compile: `after` (the new config's), less the
/// namespaces whose Namespace file the compile creates, plus those whose file it deletes (their
/// owner read from the path). What the compile leaves alone is the same on both sides.
pub fn side_before_compile<'a>(
    after: &Side,
    deleted: impl IntoIterator<Item = (String, &'a str)>,
    created: impl IntoIterator<Item = &'a str>,
) -> Side {
    let mut before = after.clone();
    before.purged.clear();
    for path in created {
        if let Some((ns, _)) = namespace_of_path(path) {
            before.namespaces.remove(&ns);
        }
    }
    let gone = Side::of_namespace_files(deleted);
    for (t, at) in gone.tenants {
        before.tenants.entry(t).or_insert(at);
    }
    before.namespaces.extend(gone.namespaces);
    // Tenants whose every Namespace file is deleted are gone from the new config: keep them in
    // `before` only (the side of the disk) so that a rename is recognised.
    before.tenants.retain(|t, _| {
        after.tenants.contains_key(t)
            || before
                .namespaces
                .values()
                .any(|h| h.owner == Owner::Tenant(t.clone()))
    });
    before.has_flows = false;
    before.calls.clear();
    before
}
