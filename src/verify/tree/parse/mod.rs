//! Parsing one file's documents into the objects verify evaluates; documents of other kinds are
//! skipped, or reported when tenantc never generates them.
//!
//! - this file reads a file: the fast reader (`yaml`) first, the full parser (`serde_yaml`) when
//!   the fast one cannot, for its line and column;
//! - `raw` holds the lenient structs serde reads every document into;
//! - `extract` turns one document into the object of its kind, and checks its namespace;
//! - `own` knows the kinds tenantc writes besides those (kustomizations, GitOps objects) and
//!   reports the others.

mod extract;
mod memo;
mod own;
mod raw;
#[cfg(test)]
mod tests;

use serde::Deserialize;

use super::{GitOpsReader, Tree, TreeError};
use crate::verify::tree::yaml;
use extract::{add_doc, check_directory};
pub(in crate::verify::tree) use memo::forget as forget_specs;
pub use own::gitops_docs;
use own::{gitops_kind, keep_gitops_file, note_foreign, read_gitops_docs};
use raw::{RawDoc, KINDS};

/// Parses one file's documents into `tree`. A document of another kind (a Deployment, a
/// kustomization) is skipped, even when its fields would not fit the lenient struct.
pub fn parse_file(text: &str, file: &str, tree: &mut Tree) -> Result<(), TreeError> {
    parse_file_in(text, file, None, tree)
}

/// [`parse_file`] for a file in the directory of namespace `dir` (see `read`), whose every
/// object must be in that namespace.
pub(super) fn parse_file_in(
    text: &str,
    file: &str,
    dir: Option<&str>,
    tree: &mut Tree,
) -> Result<(), TreeError> {
    parse_file_with(text, file, dir, None, tree)
}

/// [`parse_file_in`], giving the GitOps objects of a file to `gitops` when there is one (see
/// [`GitOpsReader`]).
pub(super) fn parse_file_with(
    text: &str,
    file: &str,
    dir: Option<&str>,
    gitops: Option<&dyn GitOpsReader>,
    tree: &mut Tree,
) -> Result<(), TreeError> {
    tree.files += 1;
    let shared: std::sync::Arc<str> = file.into();
    memo::start_file();
    if let Some(mut docs) = yaml::parse_with(text, &mut memo::known) {
        let has_gitops = docs
            .iter()
            .any(|d| gitops_kind(d.value.get("apiVersion"), d.value.get("kind")).is_some());
        // The GitOps objects, taken out and read first: none is an object `add_doc` keeps or
        // `check_directory` checks, so they need no typing. Kept only if the rest types.
        let all = docs.len();
        let read = gitops
            .filter(|_| has_gitops)
            .and_then(|reader| read_gitops_docs(&mut docs, &shared, dir.is_none(), reader));
        let taken = all - docs.len();
        let typed: Result<Vec<_>, _> = docs
            .into_iter()
            .map(|d| Option::<RawDoc>::deserialize(d.value).map(|raw| raw.map(|r| (r, d.spec))))
            .collect();
        if let Ok(typed) = typed {
            tree.documents += taken;
            for (raw, read) in typed.into_iter().flatten() {
                tree.documents += 1;
                if has_gitops && dir.is_none() && is_account_doc(&raw) {
                    continue;
                }
                check_directory(&raw, dir, &shared, tree);
                add_doc(raw, read, &shared, tree);
            }
            // Noted here, once: on a type error the full parser below reads the file again.
            if has_gitops {
                keep_gitops_file(&shared, read, tree);
            }
            return Ok(());
        }
        // A type error: the full parser below reports it with its line and column.
    }
    // The full parser. Its document iterator repeats a syntax error forever, so first find how
    // many documents parse and of which kind each is.
    let mut kinds: Vec<String> = Vec::new();
    let mut has_gitops = false;
    for doc in serde_yaml::Deserializer::from_str(text) {
        match serde_yaml::Value::deserialize(doc) {
            Ok(v) => kinds.push({
                let str_of = |k: &str| v.get(k).and_then(|x| x.as_str());
                has_gitops |= gitops_kind(str_of("apiVersion"), str_of("kind")).is_some();
                v.get("kind")
                    .and_then(|k| k.as_str())
                    .unwrap_or_default()
                    .to_owned()
            }),
            Err(syntax) => return Err(parse_error(file, &syntax)),
        }
    }
    if has_gitops {
        keep_gitops_file(&shared, None, tree);
    }
    for (doc, kind) in serde_yaml::Deserializer::from_str(text).zip(&kinds) {
        match Option::<RawDoc>::deserialize(doc) {
            Ok(Some(raw)) => {
                tree.documents += 1;
                if has_gitops && dir.is_none() && is_account_doc(&raw) {
                    continue;
                }
                check_directory(&raw, dir, &shared, tree);
                add_doc(raw, None, &shared, tree);
            }
            Ok(None) => {}
            // A document of another kind whose fields do not fit the lenient struct: not ours.
            Err(_) if !KINDS.contains(&kind.as_str()) => {
                tree.documents += 1;
                note_foreign(kind, "", "(unnamed)", &shared, tree);
            }
            Err(e) => return Err(parse_error(file, &e)),
        }
    }
    Ok(())
}

/// A document of a Flux account's kinds (a Namespace stub, a ServiceAccount, RBAC) in a file of
/// GitOps objects outside the namespaces' directories: the GitOps layer reads it whole (see
/// `intent::confine::flux`), and it is none of the namespaces' objects.
fn is_account_doc(raw: &RawDoc) -> bool {
    crate::intent::confine::flux::account_kind(raw.api_version.as_deref(), raw.kind.as_deref())
        .is_some()
}

/// The first syntax error of `text` (the file `file`), as [`parse_file`] reports it.
pub(in crate::verify::tree) fn syntax_error(text: &str, file: &str) -> Option<TreeError> {
    for doc in serde_yaml::Deserializer::from_str(text) {
        if let Err(syntax) = serde_yaml::Value::deserialize(doc) {
            return Some(parse_error(file, &syntax));
        }
    }
    None
}

fn parse_error(file: &str, e: &serde_yaml::Error) -> TreeError {
    let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
    let mut message = e.to_string();
    // The position is in `file:line:col` already; drop serde's " at line X column Y".
    if let Some(at) = message.find(" at line ") {
        message.truncate(at);
    }
    TreeError::Parse {
        path: file.to_owned(),
        line,
        column,
        message,
    }
}
