//! A reader for the access objects compile writes after a namespace's Namespace in its
//! `namespace.yaml` (its RoleBindings, ResourceQuota and LimitRange), line by line in the exact
//! layout of the built-in templates, without the YAML value tree: at 10,000 tenants these are
//! 80,000 documents, and the generic reader spent a third of verify's extra time with the access
//! keys on them. Any line outside that layout (a hand edit, another order, a comment, a user
//! template) returns `None` and the caller reads the file as any other, so the objects are always
//! those the generic reader would give.

use std::sync::Arc;

use super::text::{shared_quantities, shared_subjects};
use super::{LimitDoc, Origin, RbacDoc, RbacSubject, Text, Tree};

/// One document of the file, its strings borrowed from the text.
enum Doc<'a> {
    Binding {
        name: &'a str,
        role_ref: [&'a str; 3],
        /// (kind, name, namespace, apiGroup), in file order.
        subjects: Vec<[Option<&'a str>; 4]>,
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

/// The access documents of a `namespace.yaml`, read but not yet in a tree.
pub(super) struct AccessDocs<'a>(Vec<Doc<'a>>);

/// `text`, a `namespace.yaml` in the directory of namespace `dir`, split after its first
/// document: that document's text (the Namespace, for the generic reader) and the documents after
/// it, read in the layout compile writes. `None` when there are none or any line leaves the
/// layout: the caller reads the whole file as any other.
///
/// A line `---` always starts a new document in YAML (inside a block scalar it ends the scalar;
/// inside a flow collection or a quoted scalar it is an error either way), so the first document
/// read alone is the first document of the stream.
pub(super) fn split_namespace_file<'a>(
    text: &'a str,
    dir: &str,
) -> Option<(&'a str, AccessDocs<'a>)> {
    let at = memchr::memmem::find(text.as_bytes(), b"\n---\n")?;
    let (head, tail) = (&text[..=at], &text[at + 5..]);
    Some((head, AccessDocs(documents(tail, dir)?)))
}

/// Puts `docs`, read from the file `file` in the directory of namespace `dir`, into `tree` as the
/// generic reader would (the file itself is counted by whoever read its first document).
pub(super) fn add_access_docs(docs: AccessDocs<'_>, file: &str, dir: &str, tree: &mut Tree) {
    let file: Arc<str> = file.into();
    let namespace = Text::interned(dir);
    let origin = |kind: &'static str, name: &str| Origin {
        file: file.clone(),
        kind,
        name: fixed(name),
    };
    for doc in docs.0 {
        tree.documents += 1;
        match doc {
            Doc::Binding {
                name,
                role_ref: [group, kind, role],
                subjects,
            } => {
                let interned = |s: Option<&str>| s.map(fixed);
                let subjects = subjects
                    .into_iter()
                    .map(|[kind, name, namespace, api_group]| RbacSubject {
                        kind: interned(kind).unwrap_or_default(),
                        name: interned(name).unwrap_or_default(),
                        namespace: interned(namespace),
                        api_group: interned(api_group),
                    })
                    .collect();
                tree.rbac.push(Box::new(RbacDoc {
                    origin: origin("RoleBinding", name),
                    kind: fixed("RoleBinding"),
                    namespace: Some(namespace.clone()),
                    role_ref: (fixed(group), fixed(kind), fixed(role)),
                    subjects: shared_subjects(subjects),
                }));
            }
            Doc::Quota { name, hard } => tree.quotas.push(Box::new(LimitDoc {
                origin: origin("ResourceQuota", name),
                namespace: Some(namespace.clone()),
                values: shared_quantities(owned(hard)),
                requests: shared_quantities(Vec::new()),
                other: Vec::new(),
            })),
            Doc::Limits {
                name,
                default,
                request,
            } => tree.limit_ranges.push(Box::new(LimitDoc {
                origin: origin("LimitRange", name),
                namespace: Some(namespace.clone()),
                values: shared_quantities(owned(default)),
                requests: shared_quantities(owned(request)),
                other: Vec::new(),
            })),
        }
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
    match FIXED.iter().position(|f| *f == s) {
        Some(i) => FIXED_TEXTS.with(|t| t[i].clone()),
        None => Text::interned(s),
    }
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

/// The documents of `text`, each in namespace `dir`; `None` outside the layout.
fn documents<'a>(text: &'a str, dir: &str) -> Option<Vec<Doc<'a>>> {
    let body = text.strip_suffix('\n')?;
    // `memchr` finds the line ends: `split('\n')` searches for a `char`, a call per short line.
    let mut lines = Vec::with_capacity(64);
    let mut start = 0;
    for at in memchr::memchr_iter(b'\n', body.as_bytes()) {
        lines.push(&body[start..at]);
        start = at + 1;
    }
    lines.push(&body[start..]);
    let mut docs = Vec::new();
    for part in lines.split(|l| *l == "---") {
        let mut c = Cursor { lines: part, i: 0 };
        docs.push(document(&mut c, dir)?);
        if c.i != part.len() {
            return None;
        }
    }
    Some(docs)
}

fn document<'a>(c: &mut Cursor<'_, 'a>, dir: &str) -> Option<Doc<'a>> {
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
            while let Some(kind) = c.value("- kind: ") {
                // The two forms the template writes: a Group or User, a ServiceAccount.
                let subject = match c.value("  apiGroup: ") {
                    Some(group) => [Some(kind), Some(c.value("  name: ")?), None, Some(group)],
                    None => [
                        Some(kind),
                        Some(c.value("  name: ")?),
                        Some(c.value("  namespace: ")?),
                        None,
                    ],
                };
                subjects.push(subject);
            }
            (!subjects.is_empty()).then_some(Doc::Binding {
                name,
                role_ref,
                subjects,
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

/// The lines of one document and the next to read.
struct Cursor<'l, 'a> {
    lines: &'l [&'a str],
    i: usize,
}

impl<'a> Cursor<'_, 'a> {
    /// Consumes the line `line`.
    fn exact(&mut self, line: &str) -> Option<()> {
        (*self.lines.get(self.i)? == line).then(|| self.i += 1)
    }

    /// Consumes a line `PREFIXvalue` and returns the value's string.
    fn value(&mut self, prefix: &str) -> Option<&'a str> {
        let v = scalar(self.lines.get(self.i)?.strip_prefix(prefix)?)?;
        self.i += 1;
        Some(v)
    }

    /// Consumes the `key: value` lines at `indent` (at least one, no key twice).
    fn quantities(&mut self, indent: &str) -> Option<Vec<(&'a str, &'a str)>> {
        let mut out: Vec<(&str, &str)> = Vec::new();
        while let Some(line) = self.lines.get(self.i).and_then(|l| l.strip_prefix(indent)) {
            let (key, value) = line.split_once(": ")?;
            let (key, value) = (scalar(key)?, scalar(value)?);
            if out.iter().any(|(k, _)| *k == key) {
                return None;
            }
            out.push((key, value));
            self.i += 1;
        }
        (!out.is_empty()).then_some(out)
    }
}

/// A scalar that every YAML parser reads as the same string: double-quoted without escapes, or
/// plain, starting with a letter, of letters, digits and `.-_/@` only, and no null or boolean
/// word. Anything else (a number, a single-quoted string, a comment) is `None`.
fn scalar(s: &str) -> Option<&str> {
    if let Some(inner) = s.strip_prefix('"').and_then(|q| q.strip_suffix('"')) {
        return (!inner
            .bytes()
            .any(|b| b == b'"' || b == b'\\' || b < 0x20 || b == 0x7f))
        .then_some(inner);
    }
    let plain = s.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'/' | b'@'));
    let special = matches!(
        s,
        "null" | "Null" | "NULL" | "true" | "True" | "TRUE" | "false" | "False" | "FALSE"
    );
    (plain && !special).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse_file_in;
    use super::*;

    const FILE: &str = "# Generated by tenantc from t.toml. DO NOT EDIT.\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: acme\n  labels:\n    pod-security.kubernetes.io/enforce: \"restricted\"\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: tenantc-owners\n  namespace: acme\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: admin\nsubjects:\n- kind: Group\n  apiGroup: rbac.authorization.k8s.io\n  name: acme-admins\n- kind: User\n  apiGroup: rbac.authorization.k8s.io\n  name: \"alice@example.com\"\n- kind: ServiceAccount\n  name: deployer\n  namespace: ci\n---\napiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: tenantc\n  namespace: acme\nspec:\n  hard:\n    requests.cpu: \"8\"\n    count/deployments.apps: \"10\"\n    limits.memory: \"64Gi\"\n---\napiVersion: v1\nkind: LimitRange\nmetadata:\n  name: tenantc\n  namespace: acme\nspec:\n  limits:\n  - type: Container\n    default:\n      memory: \"512Mi\"\n    defaultRequest:\n      cpu: \"100m\"\n      memory: \"128Mi\"\n";

    /// What each reader puts in a tree, printed.
    fn both(text: &str) -> (Option<String>, String) {
        let show = |t: &Tree| {
            format!(
                "{} {} {:?} {:?} {:?} {:?} {:?}",
                t.files, t.documents, t.namespaces, t.rbac, t.quotas, t.limit_ranges, t.audit
            )
        };
        let file = "a/namespace.yaml";
        let exact = split_namespace_file(text, "acme").map(|(head, docs)| {
            let mut tree = Tree::default();
            parse_file_in(head, file, Some("acme"), &mut tree).unwrap();
            add_access_docs(docs, file, "acme", &mut tree);
            show(&tree)
        });
        let mut generic = Tree::default();
        parse_file_in(text, file, Some("acme"), &mut generic).unwrap();
        (exact, show(&generic))
    }

    #[test]
    fn reads_what_compile_writes_as_the_generic_reader_does() {
        let (exact, generic) = both(FILE);
        assert_eq!(exact.as_deref(), Some(generic.as_str()));
        assert!(generic.contains("alice@example.com") && generic.contains("count/deployments"));
        assert!(
            generic.starts_with("1 4 ") && generic.contains("restricted"),
            "{generic}"
        );
    }

    #[test]
    fn leaves_anything_else_to_the_generic_reader() {
        for (from, to) in [
            ("  namespace: acme\nroleRef", "  namespace: other\nroleRef"),
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
        ] {
            let text = FILE.replacen(from, to, 1);
            assert_ne!(text, FILE, "{from}");
            assert!(split_namespace_file(&text, "acme").is_none(), "{to}");
        }
    }
}
