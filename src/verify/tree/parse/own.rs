//! The kinds a tenantc tree holds besides the objects verify evaluates (kustomizations and the
//! GitOps objects, read whole by the GitOps layer), and the finding for any other kind.

use serde::Deserialize;

use crate::verify::tree::{yaml, GitOpsDoc, GitOpsFile, GitOpsReader, Origin, ReadGitOpsDoc, Tree};
use crate::verify::{Finding, Severity};

/// The GitOps kind of a document with this `apiVersion` and `kind`, if it is one.
pub(super) fn gitops_kind(api: Option<&str>, kind: Option<&str>) -> Option<&'static str> {
    let (api, kind) = (api?, kind?);
    OWN_KINDS[1..]
        .iter()
        .find(|(prefix, k)| *k == kind && api.starts_with(prefix))
        .map(|(_, k)| *k)
}

/// The kind of a document the GitOps layer reads from a file of GitOps objects: those, and the
/// kinds of a Flux account's objects (`intent::confine::flux`).
fn gitops_layer_kind(api: Option<&str>, kind: Option<&str>) -> Option<&'static str> {
    gitops_kind(api, kind).or_else(|| crate::intent::confine::flux::account_kind(api, kind))
}

/// Notes a file with GitOps objects, with what `reader` made of them (`read`) when there is
/// one: else the GitOps layer reads them whole later, one file at a time ([`gitops_docs`]), so
/// the tree holds neither them (as JSON values they were twice the memory of the rest of a
/// 10,000-tenant tree) nor their text.
pub(super) fn keep_gitops_file(
    file: &std::sync::Arc<str>,
    read: Option<Box<[ReadGitOpsDoc]>>,
    tree: &mut Tree,
) {
    tree.gitops.push(GitOpsFile {
        file: file.clone(),
        read,
    });
}

/// What `reader` makes of the GitOps objects among `docs`, the documents of `file` as the fast
/// reader parsed them, each taken out of `docs` (one per object read); with them, the objects of
/// a Flux account (a Namespace stub, a ServiceAccount, RBAC) in a file outside the namespaces'
/// directories (`outside`). `None`, and `docs` as they were, for such objects in a namespace's
/// directory, which are that namespace's objects as well (the file is then read again by the
/// layer, as without a reader).
pub(super) fn read_gitops_docs(
    docs: &mut Vec<yaml::Doc<'_>>,
    file: &std::sync::Arc<str>,
    outside: bool,
    reader: &dyn GitOpsReader,
) -> Option<Box<[ReadGitOpsDoc]>> {
    let account = |d: &yaml::Doc<'_>| {
        crate::intent::confine::flux::account_kind(d.value.get("apiVersion"), d.value.get("kind"))
            .is_some()
    };
    // In a namespace's directory an account's kinds are that namespace's objects too; and one
    // that does not type as the readers type every object of those kinds (a number for a name,
    // a string for `subjects`) stops verify at its line, as it does when the file is read before
    // the reader is there: the result must not depend on when the file was read.
    let untyped =
        |d: &yaml::Doc<'_>| Option::<super::raw::RawDoc>::deserialize(d.value.clone()).is_err();
    if docs
        .iter()
        .filter(|d| account(d))
        .any(|d| !outside || untyped(d))
    {
        return None;
    }
    let (objects, rest): (Vec<_>, Vec<_>) = std::mem::take(docs)
        .into_iter()
        .partition(|d| gitops_layer_kind(d.value.get("apiVersion"), d.value.get("kind")).is_some());
    *docs = rest;
    let objects: Vec<GitOpsDoc> = objects
        .into_iter()
        .filter_map(|d| gitops_doc(file, d.value.into_json()))
        .collect();
    Some(reader.read(objects).into_boxed_slice())
}

/// The GitOps objects of `file`, whole, with their origin, read from disk again. A file that
/// cannot be read again yields none: its units are then reported without their objects.
pub fn gitops_docs(file: &GitOpsFile) -> Vec<GitOpsDoc> {
    let mut bytes = Vec::new();
    let Ok(text) =
        crate::verify::tree::read::read_text(std::path::Path::new(&*file.file), &mut bytes)
    else {
        return Vec::new();
    };
    let mut values: Vec<serde_json::Value> = Vec::new();
    match yaml::parse(text) {
        Some(docs) => {
            for d in docs {
                if gitops_layer_kind(d.get("apiVersion"), d.get("kind")).is_some() {
                    values.push(d.into_json());
                }
            }
        }
        None => {
            for d in serde_yaml::Deserializer::from_str(text) {
                let Ok(v) = serde_yaml::Value::deserialize(d) else {
                    break;
                };
                let str_of = |k: &str| v.get(k).and_then(|x| x.as_str());
                if gitops_layer_kind(str_of("apiVersion"), str_of("kind")).is_some() {
                    values.extend(serde_json::to_value(&v).ok());
                }
            }
        }
    }
    values
        .into_iter()
        .filter_map(|value| gitops_doc(&file.file, value))
        .collect()
}

/// A GitOps layer's object of `file`, if `value` is one.
fn gitops_doc(file: &std::sync::Arc<str>, value: serde_json::Value) -> Option<GitOpsDoc> {
    let kind = gitops_layer_kind(value["apiVersion"].as_str(), value["kind"].as_str())?;
    let name = value["metadata"]["name"]
        .as_str()
        .unwrap_or("(unnamed)")
        .into();
    Some(GitOpsDoc {
        origin: Origin {
            file: file.clone(),
            kind,
            name,
        },
        value,
    })
}

/// The kinds a tenantc tree holds besides Namespaces, NetworkPolicies and Sidecars:
/// kustomizations and the GitOps objects (`apiVersion` prefix, kind).
pub(super) const OWN_KINDS: [(&str, &str); 5] = [
    ("kustomize.config.k8s.io/", "Kustomization"),
    ("argoproj.io/", "Application"),
    ("argoproj.io/", "AppProject"),
    ("source.toolkit.fluxcd.io/", "GitRepository"),
    ("kustomize.toolkit.fluxcd.io/", "Kustomization"),
];

/// A document of a kind tenantc never generates (a ClusterRoleBinding, a Secret): whatever it
/// does, verify cannot vouch for it, so it is a violation.
pub(super) fn note_foreign(
    kind: &str,
    api: &str,
    name: &str,
    file: &std::sync::Arc<str>,
    tree: &mut Tree,
) {
    if kind.is_empty()
        || OWN_KINDS
            .iter()
            .any(|(prefix, k)| *k == kind && (api.is_empty() || api.starts_with(prefix)))
    {
        return;
    }
    let origin = Origin {
        file: file.clone(),
        kind: "other",
        name: name.into(),
    };
    tree.audit.push(Finding {
        severity: Severity::Violation,
        check: "foreign-kind",
        message: format!(
            "{file} holds a {kind} `{name}`{}: tenantc never generates this kind, and verify cannot vouch for what it does; remove it from the output tree",
            if api.is_empty() { String::new() } else { format!(" ({api})") }
        ),
        from: None,
        to: None,
        ports: Vec::new(),
        objects: vec![origin],
    });
}
