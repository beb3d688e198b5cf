//! The strings, rule lists and pod selectors of the tree, one shared copy of each per reader
//! thread: a large tree repeats a few thousand of them millions of times.

use std::fmt;

use serde::de;
use serde::Deserialize;

use super::{Rule, Selector};

/// A string read from the tree, shared by every object that spells it the same way. A large
/// tree repeats a few thousand distinct strings (namespace and policy names, labels, CIDRs,
/// hosts) millions of times; one allocation per distinct string instead of one per occurrence
/// more than halves the memory verify holds. Compares, hashes and prints as the string.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(std::sync::Arc<str>);

thread_local! {
    /// The strings of the files one reader thread has parsed (see `read::read_files`).
    static INTERNED: std::cell::RefCell<std::collections::HashSet<std::sync::Arc<str>>> =
        std::cell::RefCell::default();
    /// The rule lists of the NetworkPolicies one reader thread has parsed.
    static RULES: std::cell::RefCell<std::collections::HashSet<Rules>> =
        std::cell::RefCell::default();
    /// The pod selectors of the NetworkPolicies one reader thread has parsed.
    static SELECTORS: std::cell::RefCell<std::collections::HashSet<std::sync::Arc<Selector>>> =
        std::cell::RefCell::default();
}

/// The `ingress` or `egress` rules of a NetworkPolicy. Most namespaces of a large tree have the
/// same platform and shared-service policies, so one copy serves every policy with equal rules.
pub type Rules = std::sync::Arc<[Rule]>;

/// The shared copy of `rules`.
pub(super) fn shared_rules(rules: Vec<Rule>) -> Rules {
    RULES.with_borrow_mut(|set| match set.get(rules.as_slice()) {
        Some(r) => r.clone(),
        None => {
            let r: Rules = rules.into();
            set.insert(r.clone());
            r
        }
    })
}

/// The shared copy of a NetworkPolicy's `podSelector`: most select every pod (`{}`), and a
/// selector held inline made each of a million policies 32 bytes larger.
pub(super) fn shared_selector(selector: Selector) -> std::sync::Arc<Selector> {
    SELECTORS.with_borrow_mut(|set| match set.get(&selector) {
        Some(s) => s.clone(),
        None => {
            let s = std::sync::Arc::new(selector);
            set.insert(s.clone());
            s
        }
    })
}

/// Forgets the strings, rule lists and selectors this thread has shared: the tree holds those
/// it uses.
pub(super) fn forget_shared() {
    INTERNED.with_borrow_mut(std::mem::take);
    RULES.with_borrow_mut(std::mem::take);
    SELECTORS.with_borrow_mut(std::mem::take);
}

impl Text {
    /// The shared copy of `s`, made on first sight.
    pub(super) fn interned(s: &str) -> Self {
        INTERNED.with_borrow_mut(|set| match set.get(s) {
            Some(a) => Self(a.clone()),
            None => {
                let a: std::sync::Arc<str> = s.into();
                set.insert(a.clone());
                Self(a)
            }
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Text {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Self(s.into())
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Self(s.into())
    }
}

impl From<Text> for String {
    fn from(t: Text) -> Self {
        t.0.to_string()
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl serde::Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text::interned(v))
            }
        }
        d.deserialize_str(V)
    }
}
