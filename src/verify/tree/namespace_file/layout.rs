//! One document of a `namespace.yaml` in the layout compile writes, read line by line.

use std::sync::Arc;

use super::PairMemo;
use crate::verify::tree::text::shared_labels;
use crate::verify::tree::{LabelPairs, Text};

/// One document of the file, its strings borrowed from the text.
pub(super) enum Doc<'a> {
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

/// The one document `text` in namespace `dir`; `None` outside the layout.
pub(super) fn read_document<'a>(text: &'a str, dir: &str) -> Option<Doc<'a>> {
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
pub(super) struct Cursor<'a> {
    /// The line to read next; `None` past the last one.
    pub(super) line: Option<&'a str>,
    /// Its number, from 0.
    n: usize,
    /// The text after that line's `\n`; `None` when it has none.
    after: Option<&'a str>,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(text: &'a str) -> Self {
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
    pub(super) fn next(&mut self) {
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
    pub(super) fn done(&self) -> bool {
        self.line.is_none()
    }

    /// Consumes the line `line`.
    pub(super) fn exact(&mut self, line: &str) -> Option<()> {
        (self.line? == line).then(|| self.next())
    }

    /// Consumes a line `PREFIXvalue` and returns the value's string.
    pub(super) fn value(&mut self, prefix: &str) -> Option<&'a str> {
        let v = scalar(self.line?.strip_prefix(prefix)?)?;
        self.next();
        Some(v)
    }

    /// Consumes the `key: value` lines of a map of labels or annotations (at least one, each key
    /// after the one before), interned, and gives the shared copy of the map. `memo` holds the
    /// same map of the Namespace read before, with what each line read as: a line spelled the
    /// same is not read again (most are, in a tree's every namespace or in each of a tenant's),
    /// and a map of the same lines is the same map.
    pub(super) fn label_pairs(&mut self, memo: &mut PairMemo) -> Option<Arc<LabelPairs>> {
        let PairMemo {
            lines: before,
            last,
        } = memo;
        // The lines spelled as the memo's, first without copying what they read as: when the
        // map read last is all of them, it is the answer (a copy of each key and value, each
        // an atomic increment and decrement, was most of the reading of a tenant's ten labels).
        let mut same = 0;
        while let Some(line) = self.line.and_then(|l| l.strip_prefix("    ")) {
            match before.get(same) {
                Some((seen, ..)) if **seen == *line => same += 1,
                _ => break,
            }
            self.next();
        }
        let more = self.line.is_some_and(|l| l.starts_with("    "));
        if let Some((n, map)) = last.as_ref().filter(|(n, _)| *n == same && !more) {
            debug_assert_eq!(*n, map.0.len());
            return Some(map.clone());
        }
        let mut out: Vec<(Text, Text)> = Vec::with_capacity(before.len().max(same));
        for (_, key, value) in &before[..same] {
            if out.last().is_some_and(|(previous, _)| key <= previous) {
                return None;
            }
            out.push((key.clone(), value.clone()));
        }
        while let Some(line) = self.line.and_then(|l| l.strip_prefix("    ")) {
            let at = out.len();
            let (key, value) = match before.get(at) {
                Some((seen, key, value)) if **seen == *line => (key.clone(), value.clone()),
                _ => {
                    // A line read again: the map read last is no longer that of the lines.
                    *last = None;
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
            if out.last().is_some_and(|(previous, _)| key <= *previous) {
                return None;
            }
            out.push((key, value));
            self.next();
        }
        if out.is_empty() {
            return None;
        }
        // Every line is one of the map read last (or `last` would be gone): the same map when
        // it had as many.
        if let Some((n, map)) = last {
            if *n == out.len() {
                return Some(map.clone());
            }
        }
        // As `LabelPairs`' own collect leaves it: sorted, no spare capacity.
        out.shrink_to_fit();
        let map = shared_labels(LabelPairs(out));
        *last = Some((map.0.len(), map.clone()));
        Some(map)
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
pub(super) fn scalar(s: &str) -> Option<&str> {
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
pub(super) const PLAIN: u8 = 1;
/// [`BYTES`]: a byte a double-quoted scalar of [`scalar`] may hold (no quote, no escape, no
/// control character).
pub(super) const QUOTED: u8 = 2;

/// What each byte may be in a scalar, looked up once per byte (a label is read per namespace).
pub(super) const BYTES: [u8; 256] = {
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
