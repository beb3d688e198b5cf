//! A reader for the `namespace.yaml` compile writes in each namespace's directory: its Namespace,
//! then its access objects (RoleBindings, ResourceQuota, LimitRange), line by line in the exact
//! layout of the built-in templates, without the YAML value tree. At 10,000 tenants these are
//! 16,000 Namespaces and 80,000 access documents, and the generic reader spent a third of
//! verify's extra time with the access keys on the latter; most access documents are those of
//! the namespace file read before, but for their namespace's name (a tenant's bindings in its
//! first namespace: but for their subjects' names too), and are not read again. Any
//! line outside that layout (a hand edit, another order, a comment, a user template) returns
//! `None` and the caller reads the file as any other, so the objects are always those the
//! generic reader would give.
//!
//! - [`layout`] reads one document in that layout, line by line;
//! - [`seen`] keeps the access documents a reader thread read last, and what each read as.

mod layout;
mod seen;
#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::sync::Arc;

use super::parse::parse_file_with;
use super::text::{shared_labels, shared_quantities};
use super::{GitOpsReader, LabelPairs, LimitDoc, NamespaceDoc, Origin, RbacDoc, Text, Tree};
use layout::Cursor;
use seen::{fixed, Object, Seen};

/// The access documents of a `namespace.yaml`, read but not yet in a tree.
struct AccessDocs(Vec<Object>);

/// A map of a Namespace's labels or of its annotations as one reader thread read it last (see
/// `Cursor::label_pairs`).
#[derive(Default)]
pub(super) struct PairMemo {
    /// Its lines, with the pair each reads as; beyond its length, those of a longer map read
    /// before.
    pub(super) lines: Vec<(Box<str>, Text, Text)>,
    /// How many lines it had and the map they read as, when it was read whole: a map of the
    /// same lines reads as the same map (a tenant's namespaces have the same labels, almost
    /// every namespace the same annotations).
    pub(super) last: Option<(usize, Arc<LabelPairs>)>,
}

thread_local! {
    static SEEN: RefCell<Seen> = RefCell::default();
    /// The labels and the annotations of the Namespace this thread read last.
    static PAIRS: RefCell<[PairMemo; 2]> = RefCell::default();
}

/// Forgets the documents this thread has read (see `text::forget_shared`).
pub(super) fn forget_seen() {
    SEEN.with_borrow_mut(std::mem::take);
    PAIRS.with_borrow_mut(std::mem::take);
}

/// The line between two documents, with the line ends around it; one searcher for every file
/// (building one per search cost as much as the search).
static SEPARATOR: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\n---\n"));

/// `text`, a `namespace.yaml` in the directory of namespace `dir`, split after its first
/// document: that document's text (the Namespace, for the generic reader) and the documents after
/// it, read in the layout compile writes. `None` when there are none or any line leaves the
/// layout: the caller reads the whole file as any other.
///
/// A line `---` always starts a new document in YAML (inside a block scalar it ends the scalar;
/// inside a flow collection or a quoted scalar it is an error either way), so the first document
/// read alone is the first document of the stream.
fn split_namespace_file<'a>(text: &'a str, dir: &str) -> Option<(&'a str, AccessDocs)> {
    let at = SEPARATOR.find(text.as_bytes())?;
    let (head, tail) = (&text[..=at], &text[at + 5..]);
    let body = tail.strip_suffix('\n')?;
    let mut objects = Vec::with_capacity(8);
    SEEN.with_borrow_mut(|seen| {
        let mut start = 0;
        for end in SEPARATOR.find_iter(body.as_bytes()) {
            objects.push(seen.object(objects.len(), &body[start..end], dir)?);
            start = end + 5;
        }
        objects.push(seen.object(objects.len(), &body[start..], dir)?);
        Some(())
    })?;
    Some((head, AccessDocs(objects)))
}

/// Reads `text`, the `namespace.yaml` `file` in the directory of namespace `dir`, into `tree`:
/// its Namespace in the layout compile writes, else through the generic reader; the access
/// objects after it in that layout. `false`, with `tree` as it was, when the access objects
/// are outside the layout or the Namespace's document has an error: the caller then reads the
/// whole file as any other.
pub(super) fn read_namespace_file(
    text: &str,
    file: &str,
    dir: &str,
    gitops: Option<&dyn GitOpsReader>,
    tree: &mut Tree,
) -> bool {
    let (head, docs) = match split_namespace_file(text, dir) {
        Some((head, docs)) => (head, Some(docs)),
        None => (text, None),
    };
    // One copy of the file's name for all its objects.
    let file: Arc<str> = file.into();
    if let Some(parts) = read_namespace(head, dir) {
        add_namespace(parts, &file, dir, tree);
    } else {
        // Another Namespace: through the generic reader, when access objects in the layout
        // follow it (else the caller reads the whole file so).
        let mut read = Tree::default();
        if docs.is_none() || parse_file_with(head, &file, Some(dir), gitops, &mut read).is_err() {
            return false;
        }
        tree.absorb(read);
    }
    if let Some(docs) = docs {
        add_access_docs(docs, &file, dir, tree);
    }
    true
}

/// The Namespace of a `namespace.yaml`'s first document `head` (see [`split_namespace_file`]) in
/// the directory of namespace `dir`, read in the layout compile writes: comment lines, then
/// `apiVersion`, `kind`, `metadata` with the name `dir`, labels and annotations, each map with at
/// least one entry and its keys in order. `None` outside it (the caller then reads `head` with
/// the generic reader, which also reports a Namespace named otherwise).
fn read_namespace(head: &str, dir: &str) -> Option<NamespaceParts> {
    let mut c = Cursor::new(head.strip_suffix('\n')?);
    // A comment runs to the end of its line, and YAML also ends a line at `\r` (and YAML 1.1
    // at a few Unicode breaks): only printable ASCII is sure to be one comment line.
    while c
        .line
        .is_some_and(|l| l.starts_with('#') && l.bytes().all(|b| (b' '..=b'~').contains(&b)))
    {
        c.next();
    }
    c.exact("apiVersion: v1")?;
    c.exact("kind: Namespace")?;
    c.exact("metadata:")?;
    (c.value("  name: ")? == dir).then_some(())?;
    let (labels, annotations) = PAIRS.with_borrow_mut(|[labels, annotations]| {
        let labels = match c.exact("  labels:") {
            Some(()) => c.label_pairs(labels)?,
            None => shared_labels(LabelPairs::default()),
        };
        let annotations = match c.exact("  annotations:") {
            Some(()) => c.label_pairs(annotations)?,
            None => shared_labels(LabelPairs::default()),
        };
        Some((labels, annotations))
    })?;
    c.done().then_some(NamespaceParts {
        labels,
        annotations,
    })
}

/// A Namespace as [`read_namespace`] read it, not yet in a tree.
struct NamespaceParts {
    labels: Arc<LabelPairs>,
    annotations: Arc<LabelPairs>,
}

/// Puts the Namespace `dir` of the file `file`, read as `parts`, into `tree` as the generic
/// reader would, counting the file.
fn add_namespace(parts: NamespaceParts, file: &Arc<str>, dir: &str, tree: &mut Tree) {
    tree.files += 1;
    tree.documents += 1;
    tree.namespaces.push(Box::new(NamespaceDoc {
        origin: Origin {
            file: file.clone(),
            kind: "Namespace",
            name: Text::interned(dir),
        },
        labels: parts.labels,
        annotations: parts.annotations,
    }));
}

/// Puts `docs`, read from the file `file` in the directory of namespace `dir`, into `tree` as the
/// generic reader would (the file itself is counted by whoever read its first document).
fn add_access_docs(docs: AccessDocs, file: &Arc<str>, dir: &str, tree: &mut Tree) {
    let namespace = Text::interned(dir);
    let origin = |kind: &'static str, name: Text| Origin {
        file: file.clone(),
        kind,
        name,
    };
    for object in docs.0 {
        tree.documents += 1;
        match object {
            Object::Binding {
                name,
                role_ref,
                subjects,
            } => tree.rbac.push(Box::new(RbacDoc {
                origin: origin("RoleBinding", name),
                kind: fixed("RoleBinding"),
                namespace: Some(namespace.clone()),
                role_ref,
                subjects,
            })),
            Object::Quota { name, hard } => tree.quotas.push(Box::new(LimitDoc {
                origin: origin("ResourceQuota", name),
                namespace: Some(namespace.clone()),
                values: hard,
                requests: shared_quantities(Vec::new()),
                other: Vec::new(),
            })),
            Object::Limits {
                name,
                default,
                request,
            } => tree.limit_ranges.push(Box::new(LimitDoc {
                origin: origin("LimitRange", name),
                namespace: Some(namespace.clone()),
                values: default,
                requests: request,
                other: Vec::new(),
            })),
        }
    }
}
