//! Istio's matching of a caller's mTLS identity: `source.namespaces` and `source.principals`
//! (and their `not` forms), with exact, prefix (`abc*`), suffix (`*abc`) and presence (`*`)
//! patterns, compiled the way istiod generates them.

use crate::verify::tree::Text;

/// How much of a caller's traffic a rule or source matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Level {
    None,
    /// Some of its workloads or requests: verify cannot tell which.
    Some,
    All,
}

/// A pattern over a workload's identity, `spiffe://<trust domain>/ns/<namespace>/sa/<account>`,
/// as istiod compiles `source.namespaces` and `source.principals` into Envoy matchers
/// (istio/istio `pilot/pkg/security/authz/model/generator.go`, `pkg/config/security/matcher`):
///
/// - a namespace `v` becomes the regex `.*/ns/<v with each * as .*>/.*` over the principal;
///   a `*` anywhere is a wildcard, and `.` any character;
/// - a principal `*` matches any authenticated identity, `*s` the regex `spiffe://.*s`, `p*`
///   the prefix `spiffe://p`, anything else the exact `spiffe://v`.
///
/// The regular expressions are kept as a sequence of atoms (a character or `.`, each may be
/// starred); one that uses any other regex syntax is `opaque`: verify cannot evaluate it and takes
/// it to match some requests of every namespace.
#[derive(Clone, Debug)]
pub(super) struct IdentityPattern {
    atoms: Vec<(Atom, bool)>,
    opaque: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Atom {
    Char(char),
    Any,
}

/// What verify takes the trust domain to be when it decides that a pattern matches every
/// workload of a namespace (Istio's default; an alias would only match more).
pub(super) const TRUST_DOMAIN: &str = "cluster.local";

impl IdentityPattern {
    fn literal(text: &str) -> Self {
        Self {
            atoms: text.chars().map(|c| (Atom::Char(c), false)).collect(),
            opaque: false,
        }
    }

    /// Appends the regex `re`, as RE2 reads it, or marks the pattern opaque.
    fn push_regex(&mut self, re: &str) {
        for c in re.chars() {
            match c {
                '.' => self.atoms.push((Atom::Any, false)),
                '*' => match self.atoms.last_mut() {
                    Some((_, star)) if !*star => *star = true,
                    _ => self.opaque = true,
                },
                '\\' | '+' | '?' | '|' | '(' | ')' | '[' | ']' | '{' | '}' | '^' | '$' => {
                    self.opaque = true;
                }
                c => self.atoms.push((Atom::Char(c), false)),
            }
        }
    }

    pub(super) fn namespace(v: &str) -> Self {
        let mut p = Self::literal("");
        p.push_regex(&format!(".*/ns/{}/.*", v.replace('*', ".*")));
        p
    }

    pub(super) fn principal(v: &str) -> Self {
        if v == "*" {
            // Presence: `.+`, any authenticated identity.
            let mut p = Self::literal("");
            p.push_regex("..*");
            return p;
        }
        if let Some(suffix) = v.strip_prefix('*') {
            let mut p = Self::literal("spiffe://");
            p.push_regex(".*");
            p.push_regex(suffix);
            return p;
        }
        if let Some(prefix) = v.strip_suffix('*') {
            let mut p = Self::literal(&format!("spiffe://{prefix}"));
            p.atoms.push((Atom::Any, true));
            return p;
        }
        Self::literal(&format!("spiffe://{v}"))
    }

    /// The states reached from `from` (closed) by one character that `fits`.
    fn step(&self, from: &[bool], fits: impl Fn(Atom) -> bool) -> Vec<bool> {
        let mut to = vec![false; from.len()];
        for (i, (atom, star)) in self.atoms.iter().enumerate() {
            if from[i] && fits(*atom) {
                to[if *star { i } else { i + 1 }] = true;
            }
        }
        self.close(to)
    }

    /// Adds the states reached by skipping starred atoms.
    fn close(&self, mut states: Vec<bool>) -> Vec<bool> {
        for (i, (_, star)) in self.atoms.iter().enumerate() {
            if states[i] && *star {
                states[i + 1] = true;
            }
        }
        states
    }

    fn start(&self) -> Vec<bool> {
        let mut s = vec![false; self.atoms.len() + 1];
        s[0] = true;
        self.close(s)
    }

    fn text(&self, from: Vec<bool>, text: &str) -> Vec<bool> {
        text.chars().fold(from, |s, c| {
            self.step(&s, |a| a == Atom::Any || a == Atom::Char(c))
        })
    }

    /// The states reached by some non-empty string without `/` (a trust domain, an account).
    fn segment(&self, from: &[bool]) -> Vec<bool> {
        let any = |a: Atom| a != Atom::Char('/');
        let mut reached = self.step(from, any);
        loop {
            let next = self.step(&reached, any);
            let merged: Vec<bool> = reached.iter().zip(&next).map(|(a, b)| *a || *b).collect();
            if merged == reached {
                return reached;
            }
            reached = merged;
        }
    }

    /// Whether every non-empty string without `/` leads from `from` to a match: the states reached
    /// by each character class the pattern distinguishes, explored to a fixed point.
    fn every_segment(&self, from: Vec<bool>) -> bool {
        let mut classes: Vec<char> = self
            .atoms
            .iter()
            .filter_map(|(a, _)| match a {
                Atom::Char(c) if *c != '/' => Some(*c),
                _ => None,
            })
            .collect();
        classes.sort_unstable();
        classes.dedup();
        // A character the pattern never names stands for all the others.
        classes.push('\u{1}');
        let mut seen: std::collections::HashSet<Vec<bool>> = std::collections::HashSet::new();
        let mut pending: Vec<Vec<bool>> = classes
            .iter()
            .map(|c| self.step(&from, |a| a == Atom::Any || a == Atom::Char(*c)))
            .collect();
        while let Some(s) = pending.pop() {
            if !seen.insert(s.clone()) {
                continue;
            }
            if !s[self.atoms.len()] || seen.len() > 4096 {
                return false;
            }
            pending.extend(
                classes
                    .iter()
                    .map(|c| self.step(&s, |a| a == Atom::Any || a == Atom::Char(*c))),
            );
        }
        true
    }

    /// How much of namespace `ns`'s workloads the pattern matches: `Some` when some identity of
    /// it matches (any trust domain and account), `All` when every account of it does.
    pub(super) fn level(&self, ns: &str) -> Level {
        if self.opaque {
            return Level::Some;
        }
        let end = self.atoms.len();
        let head = self.text(self.start(), "spiffe://");
        let some = self.text(self.segment(&head), &format!("/ns/{ns}/sa/"));
        if !self.segment(&some)[end] {
            return Level::None;
        }
        let local = self.text(head, &format!("{TRUST_DOMAIN}/ns/{ns}/sa/"));
        if self.every_segment(local) {
            Level::All
        } else {
            Level::Some
        }
    }
}

/// A namespace name as `source.namespaces` may list it to match exactly that namespace: nothing
/// a regex would read otherwise.
pub(super) fn is_plain_name(v: &str) -> bool {
    !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// How much of namespace `ns`'s workloads a principal covers: an exact one, read directly (a
/// consumer list holds up to a thousand), or a pattern.
pub(super) fn principal_level(
    pattern: &str,
    compiled: Option<&IdentityPattern>,
    ns: &str,
) -> Level {
    if let Some(p) = compiled {
        return p.level(ns);
    }
    // `<trust domain>/ns/<namespace>/sa/<service account>`, exactly.
    match pattern.split('/').collect::<Vec<_>>().as_slice() {
        [_, "ns", n, "sa", _] if *n == ns => Level::Some,
        _ => Level::None,
    }
}

/// A principal with its pattern, when it has one.
pub(super) type Principal = (Text, Option<IdentityPattern>);

pub(super) fn principals_of(list: &[Text]) -> Vec<Principal> {
    list.iter()
        .map(|p| {
            let compiled = p.contains('*').then(|| IdentityPattern::principal(p));
            (p.clone(), compiled)
        })
        .collect()
}
