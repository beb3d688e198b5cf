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

use std::cell::RefCell;
use std::sync::Arc;

use super::parse::parse_file_with;
use super::text::{shared_labels, shared_quantities, Quantities};
use super::{
    GitOpsReader, LabelPairs, LimitDoc, NamespaceDoc, Origin, RbacDoc, RbacSubject, Text, Tree,
};

/// One document of the file, its strings borrowed from the text.
enum Doc<'a> {
    Binding {
        name: &'a str,
        role_ref: [&'a str; 3],
        /// (kind, name, namespace, apiGroup), in file order.
        subjects: Vec<[Option<&'a str>; 4]>,
        /// The line of each subject's name, numbered from the document's first line.
        name_lines: Vec<usize>,
    },
    Quota {
        name: &'a str,
        hard: Vec<(&'a str, &'a str)>,
    },
    Limits {
        name: &'a str,
        default: Vec<(&'a str, &'a str)>,
        request: Vec<(&'a str, &'a str)>,
    },
}

/// An access object as read, but for its namespace: what every document spelled the same way
/// in another namespace's file reads as.
#[derive(Clone)]
enum Object {
    Binding {
        name: Text,
        role_ref: (Text, Text, Text),
        subjects: Arc<[RbacSubject]>,
    },
    Quota {
        name: Text,
        hard: Quantities,
    },
    Limits {
        name: Text,
        default: Quantities,
        request: Quantities,
    },
}

/// The access documents of a `namespace.yaml`, read but not yet in a tree.
struct AccessDocs(Vec<Object>);

/// The access documents of the `namespace.yaml` one reader thread read last, in its order, by
/// their text without the namespace's name, with their objects: a tenant's RoleBindings repeat
/// in each of its namespaces (read one after the other), and a viewers' group, the `[defaults]`
/// quota and LimitRange in almost every namespace, so most documents are those at the same
/// place of the file before and are not read again. Only the last file's are kept: a memory of
/// every document read held a copy of each tenant's bindings (about 10 MB more at 10,000
/// tenants) to spare reading the few that repeat further apart.
///
/// A tenant's bindings are new in its first namespace, but most differ from the previous
/// tenant's at the same place only in their subjects' names (`acme-admins`, `beta-admins`):
/// such a document is not read again either, only the lines of those names.
#[derive(Default)]
struct Seen {
    last: Vec<Kept>,
}

/// A document [`Seen`] keeps.
struct Kept {
    /// The text before the namespace's name and the text after it, concatenated.
    text: String,
    /// Where the name was.
    at: usize,
    object: Object,
    /// For a binding, the line of each subject's name in the text after the namespace's name
    /// (the rest of the namespace's line is line 0).
    name_lines: Vec<usize>,
}

/// The lines of a map of a Namespace's labels and of its annotations, with the pair each reads
/// as (see `Cursor::label_pairs`).
type PairLines = Vec<(Box<str>, Text, Text)>;

thread_local! {
    static SEEN: RefCell<Seen> = RefCell::default();
    /// The labels' and the annotations' lines of the Namespace this thread read last.
    static PAIRS: RefCell<[PairLines; 2]> = RefCell::default();
}

/// Forgets the documents this thread has read (see `text::forget_shared`).
pub(super) fn forget_seen() {
    SEEN.with_borrow_mut(std::mem::take);
    PAIRS.with_borrow_mut(std::mem::take);
}

impl Seen {
    /// The object of the `i`th document `doc` of a file in the directory of namespace `dir`;
    /// `None` outside the layout.
    fn object(&mut self, i: usize, doc: &str, dir: &str) -> Option<Object> {
        // Mostly the text before the name is the kept document's (which ends on the fifth line,
        // with `  namespace: `): the name is then the rest of that line.
        let kept = self.last.get(i);
        let same_start = kept.and_then(|k| {
            let rest = doc.strip_prefix(&k.text[..k.at])?;
            let end = memchr::memchr(b'\n', rest.as_bytes())?;
            Some((&doc[..k.at], &rest[..end], &rest[end..]))
        });
        let (before, name, after) = match same_start {
            Some(split) => split,
            None => namespace_line(doc)?,
        };
        (scalar(name)? == dir).then_some(())?;
        let respelled = match kept.filter(|_| same_start.is_some()) {
            Some(kept) if kept.text[kept.at..] == *after => return Some(kept.object.clone()),
            Some(kept) => kept.respelled(after),
            None => None,
        };
        let (object, name_lines) = match respelled {
            Some(object) => (object, None),
            None => {
                let doc = read_document(doc, dir)?;
                // The lines as numbered in the text after the namespace's name, on the fifth.
                let lines = match &doc {
                    Doc::Binding { name_lines, .. } => name_lines.iter().map(|l| l - 4).collect(),
                    _ => Vec::new(),
                };
                (object_of(doc), Some(lines))
            }
        };
        if self.last.len() <= i {
            self.last.resize_with(i + 1, || Kept {
                text: String::new(),
                at: 0,
                object: object.clone(),
                name_lines: Vec::new(),
            });
        }
        let kept = &mut self.last[i];
        kept.text.clear();
        kept.text.push_str(before);
        kept.text.push_str(after);
        kept.at = before.len();
        kept.object = object.clone();
        if let Some(lines) = name_lines {
            kept.name_lines = lines;
        }
        Some(object)
    }
}

impl Kept {
    /// The object of a document whose text before the namespace's name is this one's, and whose
    /// text `after` it differs from this one's only in subjects' names: this binding with those
    /// names. `None` for anything else (the caller reads the document).
    fn respelled(&self, after: &str) -> Option<Object> {
        let Object::Binding {
            name,
            role_ref,
            subjects,
        } = &self.object
        else {
            return None;
        };
        if self.name_lines.is_empty() {
            return None;
        }
        let changed = changed_names(&self.text[self.at..], after, &self.name_lines)?;
        let mut subjects = subjects.to_vec();
        for (i, value) in changed {
            subjects[i].name = Text::from(value);
        }
        Some(Object::Binding {
            name: name.clone(),
            role_ref: role_ref.clone(),
            subjects: subjects.into(),
        })
    }
}

/// Where `new` differs from `old`, the text of a binding of the same layout: for each line that
/// differs, which of `name_lines` (the lines of the subjects' names in `old`) it is and the
/// name `new` gives there. `None` when any other line differs, or `new` has more or fewer
/// lines, or a name is not one [`scalar`] reads. Every other line being the same, the document
/// reads as `old` does but for those names: [`document`] reads a name's line with nothing but
/// its prefix (`  name: `) and the scalar after it.
fn changed_names<'a>(
    old: &str,
    new: &'a str,
    name_lines: &[usize],
) -> Option<Vec<(usize, &'a str)>> {
    let (a, b) = (old.as_bytes(), new.as_bytes());
    let (mut i, mut j, mut line) = (0, 0, 0);
    let mut changed = Vec::new();
    loop {
        let same = common_prefix(&a[i..], &b[j..]);
        if i + same == a.len() && j + same == b.len() {
            return Some(changed);
        }
        // The first difference is on the line the common part ends in, which starts at the same
        // place in both.
        let passed = &a[i..i + same];
        line += passed.iter().filter(|&&b| b == b'\n').count();
        let start = memchr::memrchr(b'\n', passed).map_or(0, |p| p + 1);
        let (sa, sb) = (i + start, j + start);
        let ea = memchr::memchr(b'\n', &a[sa..]).map_or(a.len(), |p| sa + p);
        let eb = memchr::memchr(b'\n', &b[sb..]).map_or(b.len(), |p| sb + p);
        // The same line, one text ending after it and the other not: a line more or fewer.
        if a[sa..ea] == b[sb..eb] {
            return None;
        }
        let subject = name_lines.iter().position(|&n| n == line)?;
        changed.push((subject, scalar(new[sb..eb].strip_prefix("  name: ")?)?));
        (i, j) = (ea, eb);
    }
}

/// The length of the longest common prefix of `a` and `b`, compared eight bytes at a time.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let word = |s: &[u8]| u64::from_le_bytes(s[i..i + 8].try_into().expect("eight bytes"));
        let x = word(a) ^ word(b);
        if x != 0 {
            return i + x.trailing_zeros() as usize / 8;
        }
        i += 8;
    }
    i + a[i..n]
        .iter()
        .zip(&b[i..n])
        .take_while(|(x, y)| x == y)
        .count()
}

/// `doc` around the name of its namespace, on its fifth line (`  namespace: NAME`, as the
/// layout [`document`] reads has it): the text before the name, the name, the text after it.
fn namespace_line(doc: &str) -> Option<(&str, &str, &str)> {
    let mut ends = memchr::memchr_iter(b'\n', doc.as_bytes());
    let start = ends.nth(3)? + 1;
    let end = ends.next()?;
    let line = &doc[start..end];
    let name = line.strip_prefix("  namespace: ")?;
    let at = end - name.len();
    Some((&doc[..at], name, &doc[end..]))
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
            None => LabelPairs::default(),
        };
        let annotations = match c.exact("  annotations:") {
            Some(()) => c.label_pairs(annotations)?,
            None => LabelPairs::default(),
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
    labels: LabelPairs,
    annotations: LabelPairs,
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
        labels: shared_labels(parts.labels),
        annotations: shared_labels(parts.annotations),
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

/// The object of a document read, its strings interned and its lists shared.
fn object_of(doc: Doc<'_>) -> Object {
    match doc {
        Doc::Binding {
            name,
            role_ref: [group, kind, role],
            subjects,
            ..
        } => {
            // The subjects' names are mostly a tenant's own, each new to the set of interned
            // strings: a copy of their own, shared through the object by the tenant's other
            // namespaces (see `Seen`), costs less than a search of that set.
            let own = |s: Option<&str>| s.map(Text::from);
            let subjects: Vec<RbacSubject> = subjects
                .into_iter()
                .map(|[kind, name, namespace, api_group]| RbacSubject {
                    kind: kind.map(fixed).unwrap_or_default(),
                    name: own(name).unwrap_or_default(),
                    namespace: own(namespace),
                    api_group: api_group.map(fixed),
                })
                .collect();
            Object::Binding {
                name: fixed(name),
                role_ref: (fixed(group), fixed(kind), fixed(role)),
                subjects: subjects.into(),
            }
        }
        Doc::Quota { name, hard } => Object::Quota {
            name: fixed(name),
            hard: shared_quantities(owned(hard)),
        },
        Doc::Limits {
            name,
            default,
            request,
        } => Object::Limits {
            name: fixed(name),
            default: shared_quantities(owned(default)),
            request: shared_quantities(owned(request)),
        },
    }
}

/// The names every file of access objects repeats (kinds, roles, tenantc's object names).
const FIXED: [&str; 13] = [
    "RoleBinding",
    "rbac.authorization.k8s.io",
    "ClusterRole",
    "admin",
    "edit",
    "view",
    "Group",
    "User",
    "ServiceAccount",
    "tenantc",
    "tenantc-owners",
    "tenantc-editors",
    "tenantc-viewers",
];

thread_local! {
    /// The interned copies of [`FIXED`], taken once per reader thread: each file names them
    /// about twenty times, and a lookup in the set of interned strings hashes the string.
    static FIXED_TEXTS: [Text; 13] = FIXED.map(Text::interned);
}

/// `s` interned, one of [`FIXED`] without a lookup.
fn fixed(s: &str) -> Text {
    // A `match` tells the names apart by their length first, then compares one.
    let i = match s {
        "RoleBinding" => 0,
        "rbac.authorization.k8s.io" => 1,
        "ClusterRole" => 2,
        "admin" => 3,
        "edit" => 4,
        "view" => 5,
        "Group" => 6,
        "User" => 7,
        "ServiceAccount" => 8,
        "tenantc" => 9,
        "tenantc-owners" => 10,
        "tenantc-editors" => 11,
        "tenantc-viewers" => 12,
        _ => return Text::interned(s),
    };
    FIXED_TEXTS.with(|t| t[i].clone())
}

/// A map of quantities as the generic reader keeps it: owned, sorted by key.
fn owned(map: Vec<(&str, &str)>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = map
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    out.sort();
    out
}

/// The one document `text` in namespace `dir`; `None` outside the layout.
fn read_document<'a>(text: &'a str, dir: &str) -> Option<Doc<'a>> {
    let mut c = Cursor::new(text);
    let doc = document(&mut c, dir)?;
    c.done().then_some(doc)
}

fn document<'a>(c: &mut Cursor<'a>, dir: &str) -> Option<Doc<'a>> {
    let api = c.value("apiVersion: ")?;
    let kind = c.value("kind: ")?;
    c.exact("metadata:")?;
    let name = c.value("  name: ")?;
    (c.value("  namespace: ")? == dir).then_some(())?;
    match (api, kind) {
        ("rbac.authorization.k8s.io/v1", "RoleBinding") => {
            c.exact("roleRef:")?;
            let role_ref = [
                c.value("  apiGroup: ")?,
                c.value("  kind: ")?,
                c.value("  name: ")?,
            ];
            c.exact("subjects:")?;
            let mut subjects = Vec::new();
            let mut name_lines = Vec::new();
            while let Some(kind) = c.value("- kind: ") {
                // The two forms the template writes: a Group or User, a ServiceAccount.
                let group = c.value("  apiGroup: ");
                name_lines.push(c.n);
                let name = Some(c.value("  name: ")?);
                let subject = match group {
                    Some(group) => [Some(kind), name, None, Some(group)],
                    None => [Some(kind), name, Some(c.value("  namespace: ")?), None],
                };
                subjects.push(subject);
            }
            (!subjects.is_empty()).then_some(Doc::Binding {
                name,
                role_ref,
                subjects,
                name_lines,
            })
        }
        ("v1", "ResourceQuota") => {
            c.exact("spec:")?;
            c.exact("  hard:")?;
            let hard = c.quantities("    ")?;
            Some(Doc::Quota { name, hard })
        }
        ("v1", "LimitRange") => {
            c.exact("spec:")?;
            c.exact("  limits:")?;
            c.exact("  - type: Container")?;
            let default = match c.exact("    default:") {
                Some(()) => c.quantities("      ")?,
                None => Vec::new(),
            };
            let request = match c.exact("    defaultRequest:") {
                Some(()) => c.quantities("      ")?,
                None => Vec::new(),
            };
            (!default.is_empty() || !request.is_empty()).then_some(Doc::Limits {
                name,
                default,
                request,
            })
        }
        _ => None,
    }
}

/// The lines of one document, split at `\n` (a text that ends with one has an empty last line),
/// read one after the other: each line end is found once, as the cursor reaches it, with no list
/// of the lines (a document read is mostly one first seen, in a tenant's first namespace).
struct Cursor<'a> {
    /// The line to read next; `None` past the last one.
    line: Option<&'a str>,
    /// Its number, from 0.
    n: usize,
    /// The text after that line's `\n`; `None` when it has none.
    after: Option<&'a str>,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        let mut c = Cursor {
            line: None,
            n: 0,
            after: Some(text),
        };
        c.next();
        c.n = 0;
        c
    }

    /// Moves to the next line.
    fn next(&mut self) {
        self.n += 1;
        (self.line, self.after) = match self.after {
            None => (None, None),
            Some(rest) => match memchr::memchr(b'\n', rest.as_bytes()) {
                Some(i) => (Some(&rest[..i]), Some(&rest[i + 1..])),
                None => (Some(rest), None),
            },
        };
    }

    /// Whether every line was read.
    fn done(&self) -> bool {
        self.line.is_none()
    }

    /// Consumes the line `line`.
    fn exact(&mut self, line: &str) -> Option<()> {
        (self.line? == line).then(|| self.next())
    }

    /// Consumes a line `PREFIXvalue` and returns the value's string.
    fn value(&mut self, prefix: &str) -> Option<&'a str> {
        let v = scalar(self.line?.strip_prefix(prefix)?)?;
        self.next();
        Some(v)
    }

    /// Consumes the `key: value` lines of a map of labels or annotations (at least one, each key
    /// after the one before), interned. `before` holds the lines of the same map of the
    /// Namespace read before, with what they read as: a line spelled the same is not read again
    /// (most are, in a tree's every namespace or in each of a tenant's).
    fn label_pairs(&mut self, before: &mut PairLines) -> Option<LabelPairs> {
        let mut out: Vec<(Text, Text)> = Vec::with_capacity(before.len());
        while let Some(line) = self.line.and_then(|l| l.strip_prefix("    ")) {
            let at = out.len();
            let (key, value) = match before.get(at) {
                Some((seen, key, value)) if **seen == *line => (key.clone(), value.clone()),
                _ => {
                    let (key, value) = line.split_once(": ")?;
                    let (key, value) = (scalar(key)?, scalar(value)?);
                    let (key, value) = (Text::interned(key), Text::interned(value));
                    let entry = (Box::from(line), key.clone(), value.clone());
                    match before.get_mut(at) {
                        Some(e) => *e = entry,
                        None => before.push(entry),
                    }
                    (key, value)
                }
            };
            if out.last().is_some_and(|(last, _)| key <= *last) {
                return None;
            }
            out.push((key, value));
            self.next();
        }
        // As `LabelPairs`' own collect leaves it: sorted, no spare capacity.
        out.shrink_to_fit();
        (!out.is_empty()).then_some(LabelPairs(out))
    }

    /// Consumes the `key: value` lines at `indent` (at least one, no key twice).
    fn quantities(&mut self, indent: &str) -> Option<Vec<(&'a str, &'a str)>> {
        let mut out: Vec<(&str, &str)> = Vec::new();
        while let Some(line) = self.line.and_then(|l| l.strip_prefix(indent)) {
            let (key, value) = line.split_once(": ")?;
            let (key, value) = (scalar(key)?, scalar(value)?);
            if out.iter().any(|(k, _)| *k == key) {
                return None;
            }
            out.push((key, value));
            self.next();
        }
        (!out.is_empty()).then_some(out)
    }
}

/// A scalar that every YAML parser reads as the same string: double-quoted without escapes, or
/// plain, starting with a letter, of letters, digits and `.-_/@` only, and no null or boolean
/// word. Anything else (a number, a single-quoted string, a comment) is `None`.
fn scalar(s: &str) -> Option<&str> {
    if let Some(inner) = s.strip_prefix('"').and_then(|q| q.strip_suffix('"')) {
        return inner
            .bytes()
            .all(|b| BYTES[b as usize] & QUOTED != 0)
            .then_some(inner);
    }
    let plain = s.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
        && s.bytes().all(|b| BYTES[b as usize] & PLAIN != 0);
    let special = matches!(
        s,
        "null" | "Null" | "NULL" | "true" | "True" | "TRUE" | "false" | "False" | "FALSE"
    );
    (plain && !special).then_some(s)
}

/// [`BYTES`]: a byte a plain scalar of [`scalar`] may hold.
const PLAIN: u8 = 1;
/// [`BYTES`]: a byte a double-quoted scalar of [`scalar`] may hold (no quote, no escape, no
/// control character).
const QUOTED: u8 = 2;

/// What each byte may be in a scalar, looked up once per byte (a label is read per namespace).
const BYTES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b'/' | b'@') {
            table[b] |= PLAIN;
        }
        if !(c == b'"' || c == b'\\' || c < 0x20 || c == 0x7f) {
            table[b] |= QUOTED;
        }
        b += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::super::parse::parse_file_in;
    use super::*;

    const FILE: &str = "# Generated by tenantc from t.toml. DO NOT EDIT.\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: acme\n  labels:\n    app.kubernetes.io/managed-by: tenantc\n    pod-security.kubernetes.io/enforce: \"restricted\"\n    tenantc.dev/tenant: acme\n  annotations:\n    argocd.argoproj.io/sync-options: \"Delete=false,Prune=false\"\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: tenantc-owners\n  namespace: acme\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: admin\nsubjects:\n- kind: Group\n  apiGroup: rbac.authorization.k8s.io\n  name: acme-admins\n- kind: User\n  apiGroup: rbac.authorization.k8s.io\n  name: \"alice@example.com\"\n- kind: ServiceAccount\n  name: deployer\n  namespace: ci\n---\napiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: tenantc\n  namespace: acme\nspec:\n  hard:\n    requests.cpu: \"8\"\n    count/deployments.apps: \"10\"\n    limits.memory: \"64Gi\"\n---\napiVersion: v1\nkind: LimitRange\nmetadata:\n  name: tenantc\n  namespace: acme\nspec:\n  limits:\n  - type: Container\n    default:\n      memory: \"512Mi\"\n    defaultRequest:\n      cpu: \"100m\"\n      memory: \"128Mi\"\n";

    /// A tree, printed.
    fn show(t: &Tree) -> String {
        format!(
            "{} {} {:?} {:?} {:?} {:?} {:?}",
            t.files, t.documents, t.namespaces, t.rbac, t.quotas, t.limit_ranges, t.audit
        )
    }

    const PATH: &str = "a/namespace.yaml";

    /// What this reader puts in a tree for `text` in the directory of `dir`, if it reads it.
    fn exact(text: &str, dir: &str) -> Option<String> {
        let mut tree = Tree::default();
        read_namespace_file(text, PATH, dir, None, &mut tree).then(|| show(&tree))
    }

    /// What the generic reader puts in a tree for `text` in the directory of `dir`.
    fn generic(text: &str, dir: &str) -> String {
        let mut tree = Tree::default();
        parse_file_in(text, PATH, Some(dir), &mut tree).unwrap();
        show(&tree)
    }

    #[test]
    fn reads_what_compile_writes_as_the_generic_reader_does() {
        let head = &FILE[..FILE.find("\n---\n").unwrap() + 1];
        assert!(read_namespace(head, "acme").is_some());
        assert!(split_namespace_file(FILE, "acme").is_some());
        let want = generic(FILE, "acme");
        assert_eq!(exact(FILE, "acme").as_deref(), Some(want.as_str()));
        assert!(want.contains("alice@example.com") && want.contains("count/deployments"));
        assert!(
            want.starts_with("1 4 ") && want.contains("restricted"),
            "{want}"
        );
        assert!(want.contains("Prune=false") && want.contains("managed-by"));
        // A file of the Namespace alone, and the same file again (its documents seen).
        assert_eq!(exact(head, "acme"), Some(generic(head, "acme")));
        assert_eq!(exact(FILE, "acme"), Some(want));
    }

    /// Another namespace's file, read after the first: its documents differ from those seen
    /// only in the namespace's name, and are read as the generic reader reads them.
    #[test]
    fn a_document_seen_in_another_namespace_reads_as_its_own() {
        assert!(exact(FILE, "acme").is_some());
        let other = FILE.replace("acme", "beta");
        assert_eq!(exact(&other, "beta"), Some(generic(&other, "beta")));
        assert!(exact(&other, "beta")
            .unwrap()
            .contains("namespace: Some(\"beta\")"));
        // Its objects, read in the directory of another namespace, are not.
        assert_eq!(exact(&other, "acme"), None);
        let tail = &other[other.find("\n---\n").unwrap()..];
        assert!(split_namespace_file(
            &format!("{}{tail}", &FILE[..FILE.find("\n---\n").unwrap()]),
            "acme"
        )
        .is_none());
    }

    /// A Namespace's label lines spelled as in the Namespace read before are taken from it; the
    /// others, and their order, are read again.
    #[test]
    fn labels_read_before_are_reused_line_by_line() {
        assert!(exact(FILE, "acme").is_some());
        for (from, to) in [
            ("tenantc.dev/tenant: acme", "tenantc.dev/tenant: acme2"),
            (
                "pod-security.kubernetes.io/enforce: \"restricted\"",
                "pod-security.kubernetes.io/enforce: \"baseline\"",
            ),
            ("    app.kubernetes.io/managed-by: tenantc\n", ""),
            (
                "  annotations:\n",
                "  annotations:\n    a.example.com/x: y\n",
            ),
        ] {
            let text = FILE.replacen(from, to, 1);
            assert_ne!(text, FILE, "{from}");
            let want = generic(&text, "acme");
            assert_eq!(exact(&text, "acme"), Some(want.clone()), "{to}");
            assert!(
                want.contains(to.trim().split(": ").last().unwrap_or_default()),
                "{to}"
            );
            // And the file before it again, after the change.
            assert_eq!(exact(FILE, "acme"), Some(generic(FILE, "acme")), "{to}");
        }
    }

    #[test]
    fn leaves_other_access_documents_to_the_generic_reader() {
        // Twice: with none of the documents seen, then with every document of FILE seen.
        for warm in [false, true] {
            if warm {
                assert!(split_namespace_file(FILE, "acme").is_some());
            }
            for (from, to) in [
                ("  namespace: acme\nroleRef", "  namespace: other\nroleRef"),
                ("  namespace: acme\nspec:\n  hard", "  namespace: \"other\"\nspec:\n  hard"),
                ("requests.cpu: \"8\"", "requests.cpu: 8"),
                ("name: admin", "name: admin # x"),
                ("  name: acme-admins\n", "  name: acme-admins\n  extra: x\n"),
                ("kind: ClusterRole\n", "kind: 'ClusterRole'\n"),
                ("    default:\n", "    max:\n"),
                ("limits.memory", "limits.memory: \"1\"\n    limits.memory"),
                ("name: deployer", "name: true"),
                ("\n---\napiVersion: v1\nkind: ResourceQuota", "\n---\n# c\napiVersion: v1\nkind: ResourceQuota"),
                ("---\napiVersion: rbac", "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: acme\n---\napiVersion: rbac"),
                ("memory: \"128Mi\"\n", "memory: \"128Mi\"\n---\n"),
                ("memory: \"128Mi\"\n", "memory: \"128Mi\"\n  - type: Pod\n"),
                ("memory: \"128Mi\"", "memory: 128Mi"),
                ("kind: ResourceQuota\nmetadata:\n  name: tenantc\n", "kind: ResourceQuota\nmetadata:\n  name: tenantc\n  labels: {}\n"),
            ] {
                let text = FILE.replacen(from, to, 1);
                assert_ne!(text, FILE, "{from}");
                assert!(split_namespace_file(&text, "acme").is_none(), "{to}");
                assert_eq!(exact(&text, "acme"), None, "{to}");
            }
        }
    }

    /// A Namespace outside the layout is read by the generic reader, the access objects after
    /// it still by this one: the tree is the generic reader's either way.
    #[test]
    fn leaves_another_namespace_document_to_the_generic_reader() {
        for (from, to) in [
            ("  name: acme\n  labels", "  name: other\n  labels"),
            ("    tenantc.dev/tenant: acme\n", "    tenantc.dev/tenant: 8\n"),
            ("    tenantc.dev/tenant: acme\n", "    tenantc.dev/tenant: 'acme'\n"),
            ("    tenantc.dev/tenant: acme\n", "    tenantc.dev/tenant: acme # c\n"),
            ("    app.kubernetes.io/managed-by: tenantc\n    pod-security.kubernetes.io/enforce: \"restricted\"\n", "    pod-security.kubernetes.io/enforce: \"restricted\"\n    app.kubernetes.io/managed-by: tenantc\n"),
            ("kind: Namespace\n", "kind: Namespace # c\n"),
            ("metadata:\n  name: acme\n", "metadata:\n# c\n  name: acme\n"),
            ("  name: acme\n  labels", "  name: acme\n  namespace: acme\n  labels"),
            ("  labels:\n", "  labels: \n"),
            ("  annotations:\n    argocd.argoproj.io/sync-options: \"Delete=false,Prune=false\"\n", "  annotations:\n"),
            ("# Generated", "#\tGenerated"),
            ("# Generated", "# Gen\rerated"),
            ("apiVersion: v1\nkind: Namespace", "apiVersion: v1\nkind: Namespace\nspec: {}"),
        ] {
            let text = FILE.replacen(from, to, 1);
            assert_ne!(text, FILE, "{from}");
            let head = &text[..text.find("\n---\n").unwrap() + 1];
            assert!(read_namespace(head, "acme").is_none(), "{to}");
            assert!(split_namespace_file(&text, "acme").is_some(), "{to}");
            assert_eq!(exact(&text, "acme"), Some(generic(&text, "acme")), "{to}");
        }
        // Where the generic reader refuses the file (a key twice), so does this one.
        let text = FILE.replacen(
            "    tenantc.dev/tenant: acme\n",
            "    tenantc.dev/tenant: acme\n    tenantc.dev/tenant: acme\n",
            1,
        );
        let head = &text[..text.find("\n---\n").unwrap() + 1];
        assert!(read_namespace(head, "acme").is_none());
        assert_eq!(exact(&text, "acme"), None);
        assert!(parse_file_in(&text, PATH, Some("acme"), &mut Tree::default()).is_err());
    }

    /// Another tenant's bindings, the same but for the subjects' names, read after the first
    /// tenant's: as the generic reader reads them, names and all.
    #[test]
    fn bindings_that_differ_in_their_subjects_names_read_as_their_own() {
        assert!(exact(FILE, "acme").is_some());
        let other = FILE
            .replace("acme-admins", "beta-admins")
            .replace("alice@example.com", "bob@example.com")
            .replace("name: deployer", "name: deployer-2");
        assert_eq!(exact(&other, "acme"), Some(generic(&other, "acme")));
        assert!(exact(&other, "acme").unwrap().contains("beta-admins"));
        // A name the reader does not take, after a file it took.
        assert!(exact(FILE, "acme").is_some());
        let odd = FILE.replace("name: acme-admins", "name: acme admins");
        assert_eq!(exact(&odd, "acme"), None);
    }

    /// Only the lines of subjects' names may differ, each a name this reader takes.
    #[test]
    fn changed_names_are_the_lines_of_names_only() {
        let old = "\nroleRef:\n  name: admin\nsubjects:\n- kind: Group\n  name: a-1\n- kind: User\n  name: \"u@x\"";
        fn changed(new: &str) -> Option<Vec<(usize, &str)>> {
            let old = "\nroleRef:\n  name: admin\nsubjects:\n- kind: Group\n  name: a-1\n- kind: User\n  name: \"u@x\"";
            changed_names(old, new, &[5, 7])
        }
        assert_eq!(changed(old), Some(vec![]));
        let both = old.replace("a-1", "b-22").replace("u@x", "v@y");
        assert_eq!(changed(&both), Some(vec![(0, "b-22"), (1, "v@y")]));
        assert_eq!(changed(&old.replace("u@x", "w")), Some(vec![(1, "w")]));
        for other in [
            old.replace("admin", "edit"),
            old.replace("Group", "User"),
            old.replace("a-1", "a 1"),
            old.replace("a-1", "a-1\n  name: b"),
            old.replace("  name: a-1", "  name: a-1\n"),
            format!("{old}\n"),
            format!("{old}\n- kind: Group"),
            old.replace("\n- kind: User\n  name: \"u@x\"", ""),
            old.replace("  name: a-1", "  nam: a-1"),
        ] {
            assert_eq!(changed(&other), None, "{other:?}");
        }
    }

    /// The longest common prefix, wherever the first difference is.
    #[test]
    fn common_prefixes_are_those_of_a_byte_by_byte_comparison() {
        let a: Vec<u8> = (0..40u8).collect();
        for n in 0..=a.len() {
            for at in 0..=n {
                let mut b = a[..n].to_vec();
                if at < n {
                    b[at] ^= 0x80;
                }
                assert_eq!(common_prefix(&a, &b), at);
                assert_eq!(common_prefix(&b, &a[..n]), at);
            }
        }
    }

    /// The cursor reads the lines `split('\n')` gives, an empty last one included.
    #[test]
    fn the_cursor_reads_the_lines_split_gives() {
        for text in ["", "a", "a\n", "a\nb", "\n\n", "a\n\nb\n", "a\r\nb"] {
            let mut c = Cursor::new(text);
            let mut lines = Vec::new();
            while let Some(line) = c.line {
                lines.push(line);
                c.next();
            }
            assert!(c.done());
            assert_eq!(lines, text.split('\n').collect::<Vec<_>>(), "{text:?}");
        }
    }

    /// Each name of [`FIXED`] is its own interned copy, any other string interned as it is.
    #[test]
    fn fixed_names_are_those_of_the_list() {
        for (i, name) in FIXED.iter().enumerate() {
            assert_eq!(fixed(name), FIXED_TEXTS.with(|t| t[i].clone()));
            assert_eq!(fixed(name).as_str(), *name);
        }
        assert_eq!(fixed("tenantc-other").as_str(), "tenantc-other");
    }

    /// The table of bytes says what the byte-by-byte rules say.
    #[test]
    fn scalars_are_the_plain_and_double_quoted_ones() {
        for b in 0..=255u8 {
            let plain = b.is_ascii_alphanumeric() || b".-_/@".contains(&b);
            let quoted = !(b == b'"' || b == b'\\' || b < 0x20 || b == 0x7f);
            assert_eq!(BYTES[b as usize] & PLAIN != 0, plain, "{b}");
            assert_eq!(BYTES[b as usize] & QUOTED != 0, quoted, "{b}");
        }
        assert_eq!(scalar("acme-1.b/c@d_e"), Some("acme-1.b/c@d_e"));
        assert_eq!(
            scalar("\"Delete=false, Prune=false\""),
            Some("Delete=false, Prune=false")
        );
        for refused in [
            "1a", "a b", "a:b", "true", "\"a\\\"", "\"a\tb\"", "'a'", "", "a#",
        ] {
            assert_eq!(scalar(refused), None, "{refused}");
        }
        assert_eq!(scalar("\"\""), Some(""));
    }

    proptest::proptest! {
        /// A file read after another reads as it does alone, whatever its access documents
        /// say: the reader keeps the documents it read, and takes a binding that differs only in
        /// names from the one it kept.
        #[test]
        fn a_file_reads_the_same_after_another(
            edits in proptest::collection::vec((0usize..64, 0usize..8, "[a-z0-9@.:# \"-]{0,10}"), 0..4)
        ) {
            let first = FILE.find("\n---\n").unwrap() + 5;
            let (head, body) = FILE.split_at(first);
            let mut lines: Vec<String> = body.lines().map(String::from).collect();
            for (at, op, text) in edits {
                let i = at % lines.len();
                match op {
                    0..=3 => {
                        if let Some((key, _)) = lines[i].split_once(": ") {
                            lines[i] = format!("{key}: {text}");
                        }
                    }
                    4 => {
                        lines.remove(i);
                    }
                    5 => lines.insert(i, format!("  name: {text}")),
                    6 => lines.insert(i, lines[i].clone()),
                    _ => lines[i] = text,
                }
                if lines.is_empty() {
                    lines.push(String::new());
                }
            }
            let text = format!("{head}{}\n", lines.join("\n"));
            forget_seen();
            proptest::prop_assert!(exact(FILE, "acme").is_some());
            let after = exact(&text, "acme");
            forget_seen();
            proptest::prop_assert_eq!(after, exact(&text, "acme"), "{}", text);
        }
    }
}
