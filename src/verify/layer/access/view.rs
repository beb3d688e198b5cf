//! The access a tree or tenants.toml grants, as one view: what `tenantc access` prints and what
//! `diff` compares (who gains or loses a role where, Pod Security weakening, quota changes).

use std::collections::{BTreeMap, BTreeSet};

use super::{describe_subject, level_of};
use crate::intent::Intent;
use crate::resolve::POD_SECURITY_PREFIX;
use crate::verify::model::Model;
use crate::verify::tree::RbacDoc;

/// Who may do what where, and each namespace's Pod Security level and quota: the one view
/// `diff` compares and `tenantc access` prints, from tenants.toml or from a tree.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct AccessView {
    /// (subject, what it may do: `administer`, `edit`, `view` or another role) -> namespaces.
    pub grants: BTreeMap<(String, String), BTreeSet<String>>,
    /// Namespace -> the enforced Pod Security level (absent: none set).
    pub pod_security: BTreeMap<String, String>,
    /// Namespace -> its quota (`spec.hard`).
    pub quota: BTreeMap<String, BTreeMap<String, String>>,
}

/// What a binding of the tree lets its subjects do: a level's verb, or the role it binds.
fn verb_of(doc: &RbacDoc) -> String {
    match level_of(doc) {
        Some(level) => level.verb().to_owned(),
        None => format!("use the {} {} in", doc.role_ref.1, doc.role_ref.2),
    }
}

/// The access tenants.toml intends.
pub fn access_of_intent(intent: &Intent) -> AccessView {
    let mut v = AccessView::default();
    for (name, ns) in &intent.namespaces {
        for b in &ns.access.bindings {
            for s in &b.subjects {
                let subject = match (&s.namespace, s.kind) {
                    (Some(n), _) => format!("serviceaccount {n}/{}", s.name),
                    (None, kind) => format!("{} {}", kind.to_ascii_lowercase(), s.name),
                };
                v.grants
                    .entry((subject, b.level.verb().to_owned()))
                    .or_default()
                    .insert(name.to_string());
            }
        }
        // From the labels: a config older than `pod_security` may set them by hand.
        if let Some(level) = ns
            .labels
            .get(format!("{POD_SECURITY_PREFIX}enforce").as_str())
        {
            v.pod_security.insert(name.to_string(), level.to_string());
        }
        if !ns.access.quota.is_empty() {
            v.quota.insert(
                name.to_string(),
                ns.access
                    .quota
                    .iter()
                    .map(|(k, q)| (k.to_string(), q.to_string()))
                    .collect(),
            );
        }
    }
    v
}

/// The access a tree grants: every binding in it (tenantc's or not), each Namespace's enforced
/// Pod Security level and each `tenantc` quota.
pub fn access_of_tree(model: &Model) -> AccessView {
    let mut v = AccessView::default();
    for doc in model.tree.rbac.iter().map(|d| &**d) {
        let ns = match doc.kind.as_str() {
            "ClusterRoleBinding" => "every namespace".to_owned(),
            "RoleBinding" => doc.namespace.as_deref().unwrap_or("").to_owned(),
            _ => continue,
        };
        for s in doc.subjects.iter() {
            v.grants
                .entry((describe_subject(s), verb_of(doc)))
                .or_default()
                .insert(ns.clone());
        }
    }
    let key = format!("{POD_SECURITY_PREFIX}enforce");
    for doc in &model.tree.namespaces {
        if let Some(level) = doc.labels.get(&key) {
            v.pod_security
                .insert(doc.origin.name.to_string(), level.to_string());
        }
    }
    for q in &model.tree.quotas {
        if q.origin.name == "tenantc" {
            if let Some(ns) = &q.namespace {
                v.quota
                    .insert(ns.to_string(), q.values.iter().cloned().collect());
            }
        }
    }
    v
}

fn strength(level: Option<&String>) -> u8 {
    match level.map(String::as_str) {
        Some("restricted") => 2,
        Some("baseline") => 1,
        _ => 0,
    }
}

/// `diff`'s lines for access, in tenant terms; `owner_of` names a namespace's tenant or shared
/// entry, `created` and `deleted` say which namespaces come or go whole (their own lines say so:
/// only who gains access to a created one is said here). Pod Security weakenings (`!`) come first.
pub fn access_sentences(
    before: &AccessView,
    after: &AccessView,
    owner_of: &dyn Fn(&str) -> String,
    owned: &dyn Fn(&str) -> usize,
    created: &dyn Fn(&str) -> bool,
    deleted: &dyn Fn(&str) -> bool,
) -> (Vec<Weakening>, Vec<String>) {
    let mut weaker = Vec::new();
    let mut lines = Vec::new();
    let empty = BTreeSet::new();
    let keys: BTreeSet<&(String, String)> =
        before.grants.keys().chain(after.grants.keys()).collect();
    for key in keys {
        let (subject, verb) = key;
        let b = before.grants.get(key).unwrap_or(&empty);
        let a = after.grants.get(key).unwrap_or(&empty);
        let gained: Vec<&str> = a.difference(b).map(String::as_str).collect();
        let lost: Vec<&str> = b
            .difference(a)
            .map(String::as_str)
            .filter(|n| !deleted(n))
            .collect();
        if !gained.is_empty() {
            lines.push(format!("+ {subject} may now {verb} {}", gained.join(", ")));
        }
        if !lost.is_empty() {
            lines.push(format!(
                "- {subject} may no longer {verb} {}",
                lost.join(", ")
            ));
        }
    }
    // Pod Security, by owner when all its namespaces change alike.
    let mut changes: BTreeMap<(String, Option<String>, Option<String>), Vec<String>> =
        BTreeMap::new();
    let names: BTreeSet<&String> = before
        .pod_security
        .keys()
        .chain(after.pod_security.keys())
        .collect();
    for ns in names.into_iter().filter(|n| !created(n) && !deleted(n)) {
        let (b, a) = (before.pod_security.get(ns), after.pod_security.get(ns));
        if b != a {
            changes
                .entry((owner_of(ns), b.cloned(), a.cloned()))
                .or_default()
                .push(ns.clone());
        }
    }
    for ((owner, b, a), namespaces) in changes {
        let what = if namespaces.len() == owned(&owner) || namespaces == [owner.clone()] {
            owner
        } else {
            namespaces.join(", ")
        };
        let text = |l: &Option<String>| l.clone().unwrap_or_else(|| "unset".into());
        let (sb, sa) = (strength(b.as_ref()), strength(a.as_ref()));
        if sa < sb {
            weaker.push(Weakening {
                of: what,
                before: text(&b),
                after: text(&a),
            });
        } else {
            lines.push(format!(
                "~ pod security of {what}: {} -> {}",
                text(&b),
                text(&a)
            ));
        }
    }
    // Quotas, per namespace, grouped by owner when alike.
    let mut quota: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let empty_q = BTreeMap::new();
    let names: BTreeSet<&String> = before.quota.keys().chain(after.quota.keys()).collect();
    for ns in names.into_iter().filter(|n| !created(n) && !deleted(n)) {
        let b = before.quota.get(ns).unwrap_or(&empty_q);
        let a = after.quota.get(ns).unwrap_or(&empty_q);
        let mut parts = Vec::new();
        let resources: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
        for r in resources {
            match (b.get(r), a.get(r)) {
                (Some(x), Some(y)) if x != y => parts.push(format!("{r} {x} -> {y}")),
                (None, Some(y)) => parts.push(format!("{r} none -> {y}")),
                (Some(x), None) => parts.push(format!("{r} {x} -> none")),
                _ => {}
            }
        }
        if !parts.is_empty() {
            quota
                .entry((owner_of(ns), parts.join(", ")))
                .or_default()
                .push(ns.clone());
        }
    }
    for ((owner, parts), namespaces) in quota {
        let what = if namespaces.len() == owned(&owner) {
            owner
        } else {
            namespaces.join(", ")
        };
        lines.push(format!("~ quota of {what}: {parts}"));
    }
    (weaker, lines)
}

/// A Pod Security level lowered: the namespaces of `of` admit pods they refused. `diff` lists it
/// with the breaking changes (`! pod security of acme weakens: restricted -> baseline`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Weakening {
    /// An owner whose namespaces all change alike, or the namespaces, comma-separated.
    pub of: String,
    pub before: String,
    pub after: String,
}
