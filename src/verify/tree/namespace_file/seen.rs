//! The access documents of the `namespace.yaml` a reader thread read last, and what each read
//! as: most documents of a namespace's file are those of the file before but for a name or two,
//! and are not read again.

use std::sync::Arc;

use super::layout::{read_document, scalar, Doc};
use crate::verify::tree::text::{shared_quantities, Quantities};
use crate::verify::tree::{RbacSubject, Text};

/// An access object as read, but for its namespace: what every document spelled the same way
/// in another namespace's file reads as.
#[derive(Clone)]
pub(super) enum Object {
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
pub(super) struct Seen {
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

impl Seen {
    /// The object of the `i`th document `doc` of a file in the directory of namespace `dir`;
    /// `None` outside the layout.
    pub(super) fn object(&mut self, i: usize, doc: &str, dir: &str) -> Option<Object> {
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
                // The lines as numbered in the text after the namespace's name.
                let lines = match &doc {
                    Doc::Binding { name_lines, .. } => {
                        name_lines.iter().map(|l| l - NAMESPACE_LINE).collect()
                    }
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
pub(super) fn changed_names<'a>(
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
pub(super) fn common_prefix(a: &[u8], b: &[u8]) -> usize {
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

/// The number of a document's line that names its namespace, from 0 (`  namespace: NAME`, the
/// fifth, as the layout [`document`] reads has it).
const NAMESPACE_LINE: usize = 4;

/// `doc` around the name of its namespace, on line [`NAMESPACE_LINE`]: the text before the name,
/// the name, the text after it.
fn namespace_line(doc: &str) -> Option<(&str, &str, &str)> {
    let mut ends = memchr::memchr_iter(b'\n', doc.as_bytes());
    let start = ends.nth(NAMESPACE_LINE - 1)? + 1;
    let end = ends.next()?;
    let line = &doc[start..end];
    let name = line.strip_prefix("  namespace: ")?;
    let at = end - name.len();
    Some((&doc[..at], name, &doc[end..]))
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
pub(super) const FIXED: [&str; 13] = [
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
    pub(super) static FIXED_TEXTS: [Text; 13] = FIXED.map(Text::interned);
}

/// `s` interned, one of [`FIXED`] without a lookup.
pub(super) fn fixed(s: &str) -> Text {
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
