//! The two sides a change is judged between: what a tenants.toml or an output tree holds, and
//! the output directory as it was before a compile.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::intent::Rule;

/// Where something is written: a line of a tenants.toml, or a file of an output tree.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Location {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl Location {
    /// A whole file, no line: an output tree's file, or a tenants.toml that does not say where.
    pub(super) fn of_file(file: String) -> Self {
        Self {
            file,
            line: None,
            column: None,
        }
    }
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

impl Side {
    /// The side an output tree holds: its Namespace files, `(path, text)`, laid out as
    /// `tenants/<tenant>/<namespace>/namespace.yaml` or `shared/<namespace>/namespace.yaml`.
    pub fn of_namespace_files<'a>(files: impl IntoIterator<Item = (String, &'a str)>) -> Self {
        let mut side = Side::default();
        for (path, text) in files {
            let Some((name, owner)) = namespace_of_path(&path) else {
                continue;
            };
            if let Owner::Tenant(t) = &owner {
                side.tenants
                    .entry(t.clone())
                    .or_insert_with(|| Location::of_file(path.clone()));
            }
            let retired = text
                .lines()
                .any(|l| l.trim_start().starts_with(crate::resolve::LABEL_RETIRED));
            side.namespaces.insert(
                name,
                Held {
                    owner,
                    retired,
                    at: Location::of_file(path),
                },
            );
        }
        side
    }

    /// The side the output tree at `root` holds on disk, each namespace named by its Namespace
    /// file under `root` (as the user knows it). A file that cannot be read is left out: `diff`
    /// reads the same tree for its policies, and reports its errors from there.
    pub fn of_tree(root: &Path) -> Self {
        let files = namespace_files(root);
        let mut side = Self::of_namespace_files(files.iter().map(|(p, t)| (p.clone(), t.as_str())));
        for held in side.namespaces.values_mut() {
            held.at.file = root.join(&held.at.file).display().to_string();
        }
        side
    }
}

/// The Namespace files of an output tree on disk, as `(path relative to it, text)`.
fn namespace_files(root: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let read_dir = |p: &Path| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(p)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default()
    };
    let mut push = |path: std::path::PathBuf| {
        if let (Ok(text), Ok(rel)) = (std::fs::read_to_string(&path), path.strip_prefix(root)) {
            out.push((rel.display().to_string(), text));
        }
    };
    for shared in read_dir(&root.join(crate::model::SHARED_DIR)) {
        push(shared.join("namespace.yaml"));
    }
    for tenant in read_dir(&root.join(crate::model::TENANTS_DIR)) {
        for ns in read_dir(&tenant) {
            push(ns.join("namespace.yaml"));
        }
    }
    out
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
