//! The Flux accounts under `gitops/`: each tenant's and shared entry's Kustomization applies as
//! an account of its own, whose rights come from the objects tenantc writes after it (see
//! `intent::confine::flux`). Those objects are applied with the controller's own rights, so
//! each must be exactly what tenantc writes, in the file it writes it to: a wider role, another
//! subject, a Namespace stub with labels or without `IfNotPresent` would let a tenant's sync
//! reach beyond its namespaces and kinds, or change what another sync applies. Any document of
//! these kinds in a GitOps file that is no unit's is refused; a missing one fails the sync.

use std::collections::hash_map::Entry;

use crate::verify::HashMap;

use serde_json::Value;

use crate::intent::confine::flux::{self, AccountKey, FLUX_BINDING};
use crate::intent::{gitops_file_of, GitOpsIntent, GitOpsUnit};
use crate::verify::finding::violation;
use crate::verify::tree::{GitOpsDoc, Origin, ReadAccount};
use crate::verify::Finding;

/// What the objects of a Flux account are judged by: the units with one, by name and by
/// namespace, and the output root the files' names begin with. Shared by the reader threads,
/// which judge each object as they read its file ([`Rules::judge`]).
pub(super) struct Rules<'a> {
    gitops: &'a GitOpsIntent,
    /// The units with an account, by name.
    units: HashMap<&'a str, &'a GitOpsUnit>,
    /// The units with an account, by each of their namespaces.
    by_namespace: HashMap<&'a str, &'a GitOpsUnit>,
    /// The output root, as the files' names begin.
    root: String,
}

/// The objects of the last unit judged and their file: a unit's objects are in one file, read
/// in a row.
pub(super) type LastUnit<'a> = Option<(&'a str, Vec<Value>, String)>;

impl<'a> Rules<'a> {
    pub(super) fn new(gitops: &'a GitOpsIntent, root: &str) -> Self {
        let with_account: Vec<&GitOpsUnit> = gitops
            .units
            .iter()
            .filter(|u| flux::has_account(gitops, u))
            .collect();
        Self {
            gitops,
            units: with_account.iter().map(|u| (u.name.as_str(), *u)).collect(),
            by_namespace: with_account
                .iter()
                .flat_map(|u| u.namespaces.iter().map(move |n| (n.as_str(), *u)))
                .collect(),
            root: root.to_owned(),
        }
    }

    /// The unit whose account `key` names, if any.
    fn unit_of(&self, key: &AccountKey) -> Option<&'a GitOpsUnit> {
        let (kind, namespace, name) = key;
        match *kind {
            "Namespace" => self.by_namespace.get(name.as_str()).copied(),
            "ServiceAccount" => self.units.get(name.as_str()).copied(),
            "ClusterRole" | "ClusterRoleBinding" => flux::unit_of_role(name)
                .and_then(|u| self.units.get(u))
                .copied(),
            _ if name == FLUX_BINDING => self.by_namespace.get(namespace.as_str()).copied(),
            _ => None,
        }
    }

    /// Judges one document of an account's kinds, on its own: all but whether another object
    /// has its identity, which [`Accounts::take`] tells in the order the files are walked.
    pub(super) fn judge(&self, d: &GitOpsDoc, last: &mut LastUnit<'a>) -> ReadAccount {
        let mut findings = Vec::new();
        let Some(key) = flux::account_key(&d.value) else {
            return ReadAccount {
                key: None,
                findings,
            };
        };
        // Formatted for a finding only: most objects are what tenantc writes.
        let what = || describe(&key);
        let Some(unit) = self.unit_of(&key) else {
            findings.push(violation(
                "gitops-account",
                format!(
                    "{} holds the {}, which tenantc writes for no unit of tenants.toml: it would be applied with the GitOps controller's own rights; remove it",
                    d.origin.file,
                    what()
                ),
                vec![d.origin.clone()],
            ));
            return ReadAccount {
                key: None,
                findings,
            };
        };
        let whose = || format!("{} {}", unit.role, unit.owner);
        let (_, docs, file) = match last {
            Some(l) if l.0 == unit.name => l,
            _ => last.insert((
                &unit.name,
                flux::account_documents(self.gitops, unit),
                gitops_file_of(unit),
            )),
        };
        let file = file.as_str();
        let rel = d
            .origin
            .file
            .strip_prefix(self.root.as_str())
            .map(|f| f.trim_start_matches('/'));
        if rel != Some(file) {
            findings.push(violation(
                "gitops-account",
                format!(
                    "the {} of {}'s Flux account is in {}, not in {file} beside its Kustomization: another sync would apply it, or none",
                    what(),
                    whose(),
                    d.origin.file
                ),
                vec![d.origin.clone()],
            ));
        }
        let want = docs
            .iter()
            .find(|w| flux::account_key(w).as_ref() == Some(&key));
        match want {
            None => {
                // Its unit's, by name, but no object of the account has its identity: a
                // namespace on a cluster-scoped kind, the ServiceAccount in another namespace.
                findings.push(violation(
                    "gitops-account",
                    format!(
                        "the {} ({}) is not one of the objects of {}'s Flux account: tenantc writes {}",
                        what(),
                        d.origin.file,
                        whose(),
                        flux::account_keys(self.gitops, unit)
                            .iter()
                            .filter(|k| k.0 == key.0)
                            .map(describe)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    vec![d.origin.clone()],
                ));
            }
            // Most objects are exactly what tenantc writes: compared whole first, without the
            // paths `difference` names.
            Some(want) if d.value == *want => {}
            Some(want) => {
                if let Some((path, got, wanted)) = difference(&d.value, want, String::new()) {
                    findings.push(violation(
                        "gitops-account",
                        format!(
                            "the {} ({}) of {whose}'s Flux account is not what tenantc writes: `{path}` is {got}, it must be {wanted}; it is applied with the controller's own rights and sets what {whose}'s sync may do",
                            what(),
                            d.origin.file,
                            whose = whose()
                        ),
                        vec![d.origin.clone()],
                    ));
                }
            }
        }
        ReadAccount {
            key: Some(key),
            findings,
        }
    }
}

/// The accounts' objects as the layer takes them, file by file in the walk's order: each
/// identity once, and (at the end) every unit's objects there.
pub(super) struct Accounts<'r, 'a> {
    rules: &'r Rules<'a>,
    seen: HashMap<AccountKey, Origin>,
}

impl<'r, 'a> Accounts<'r, 'a> {
    pub(super) fn new(rules: &'r Rules<'a>) -> Self {
        Self {
            rules,
            seen: HashMap::default(),
        }
    }

    /// Takes what [`Rules::judge`] found of the object at `origin`: a second object of the same
    /// identity is a violation of its own, before the object's other findings.
    pub(super) fn take(&mut self, origin: Origin, read: ReadAccount, findings: &mut Vec<Finding>) {
        if let Some(key) = read.key {
            match self.seen.entry(key) {
                Entry::Vacant(v) => {
                    v.insert(origin);
                }
                Entry::Occupied(mut o) => {
                    let first = o.insert(origin.clone());
                    // Judged as a unit's, so it has one.
                    if let Some(unit) = self.rules.unit_of(o.key()) {
                        findings.push(violation(
                            "gitops-account",
                            format!(
                                "the {} of {} {}'s Flux account is defined twice ({} and {}): verify cannot tell which one the cluster receives",
                                describe(o.key()),
                                unit.role,
                                unit.owner,
                                first.file,
                                origin.file
                            ),
                            vec![first, origin],
                        ));
                    }
                }
            }
        }
        findings.extend(read.findings);
    }

    /// Every unit's account objects are in the tree: without one, its sync is refused (a
    /// missing binding) or never starts (a missing account).
    pub(super) fn finish(self, findings: &mut Vec<Finding>) {
        let mut units: Vec<&GitOpsUnit> = self.rules.units.values().copied().collect();
        units.sort_by(|a, b| a.name.cmp(&b.name));
        for unit in units {
            let missing: Vec<String> = flux::account_keys(self.rules.gitops, unit)
                .iter()
                .filter(|k| !self.seen.contains_key(*k))
                .map(describe)
                .collect();
            if !missing.is_empty() {
                findings.push(violation(
                    "gitops-missing",
                    format!(
                        "{} {}'s Flux account lacks the {} in {}: its Kustomization `{}` would be refused what its directory needs",
                        unit.role,
                        unit.owner,
                        missing.join(", the "),
                        gitops_file_of(unit),
                        unit.name
                    ),
                    Vec::new(),
                ));
            }
        }
    }
}

/// `ClusterRole `tenantc-flux:tenant-acme``, `RoleBinding `tenantc-flux` in acme`.
fn describe((kind, namespace, name): &AccountKey) -> String {
    match *kind {
        "RoleBinding" => format!("{kind} `{name}` in {namespace}"),
        "ServiceAccount" => format!("{kind} `{namespace}/{name}`"),
        _ => format!("{kind} `{name}`"),
    }
}

/// The first place where `got` differs from `want`: its path, and both values as JSON.
fn difference(got: &Value, want: &Value, path: String) -> Option<(String, String, String)> {
    let at = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            // What the object does before what names it: a binding's role before its labels.
            let mut keys: Vec<&String> = g.keys().chain(w.keys()).collect();
            keys.sort_by_key(|k| (*k == "metadata", *k));
            keys.dedup();
            keys.into_iter().find_map(|k| {
                difference(
                    g.get(k).unwrap_or(&Value::Null),
                    w.get(k).unwrap_or(&Value::Null),
                    at(k),
                )
            })
        }
        (Value::Array(g), Value::Array(w)) if g.len() == w.len() => g
            .iter()
            .zip(w)
            .enumerate()
            .find_map(|(i, (g, w))| difference(g, w, format!("{path}[{i}]"))),
        _ if got == want => None,
        _ => Some((
            if path.is_empty() {
                "(the object)".into()
            } else {
                path
            },
            shown(got),
            shown(want),
        )),
    }
}

fn shown(v: &Value) -> String {
    if v.is_null() {
        "absent".into()
    } else {
        v.to_string()
    }
}
