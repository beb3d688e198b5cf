//! The strings, rule lists and pod selectors of the tree, one shared copy of each per reader
//! thread: a large tree repeats a few thousand of them millions of times.

use std::fmt;

use serde::de;
use serde::Deserialize;

use std::hash::Hash;
use std::sync::Arc;

use super::{LabelPairs, RbacSubject, Rule, Selector, ServiceEntrySpec};
use crate::verify::HashSet;

/// A string read from the tree, shared by every object that spells it the same way. A large
/// tree repeats a few thousand distinct strings (namespace and policy names, labels, CIDRs,
/// hosts) millions of times; one allocation per distinct string instead of one per occurrence
/// more than halves the memory verify holds. Compares, hashes and prints as the string.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(std::sync::Arc<str>);

thread_local! {
    /// The strings of the files one reader thread has parsed (see `read::read_files`).
    static INTERNED: std::cell::RefCell<HashSet<std::sync::Arc<str>>> =
        std::cell::RefCell::default();
    /// The strings this thread interned last, one per slot of [`recent_slot`]: most strings
    /// of a document were in the one before (its kind, its namespace, the policy names every
    /// namespace has), and finding them here spares hashing them and probing a set of hundreds
    /// of thousands of strings, a cache miss each.
    static RECENT: std::cell::RefCell<Vec<Option<Text>>> =
        std::cell::RefCell::new(vec![None; RECENT_SLOTS]);
    /// The rule lists of the NetworkPolicies one reader thread has parsed.
    static RULES: std::cell::RefCell<HashSet<Rules>> =
        std::cell::RefCell::default();
    /// The pod selectors of the NetworkPolicies one reader thread has parsed.
    static SELECTORS: std::cell::RefCell<HashSet<Arc<Selector>>> =
        std::cell::RefCell::default();
    /// The specs of the ServiceEntries one reader thread has parsed.
    static SERVICE_ENTRY_SPECS: std::cell::RefCell<HashSet<Arc<ServiceEntrySpec>>> =
        std::cell::RefCell::default();
    /// The labels and annotations of the Namespaces one reader thread has parsed.
    static LABEL_SETS: std::cell::RefCell<HashSet<Arc<LabelPairs>>> =
        std::cell::RefCell::default();
    /// The egress hosts of the Sidecars one reader thread has parsed.
    static HOST_LISTS: std::cell::RefCell<HashSet<Arc<[Text]>>> =
        std::cell::RefCell::default();
    /// The subjects of the RoleBindings one reader thread has parsed.
    static SUBJECT_LISTS: std::cell::RefCell<HashSet<Arc<[RbacSubject]>>> =
        std::cell::RefCell::default();
    /// The quantity maps of the ResourceQuotas and LimitRanges one reader thread has parsed.
    static QUANTITY_LISTS: std::cell::RefCell<HashSet<Quantities>> =
        std::cell::RefCell::default();
}

/// A quota's `hard` or a LimitRange's defaults, sorted: (resource, quantity as written).
pub type Quantities = Arc<[(String, String)]>;

/// The copy of the slice `value` in `set`, added on first sight.
fn shared_slice<T: Eq + Hash>(set: &mut HashSet<Arc<[T]>>, value: Vec<T>) -> Arc<[T]> {
    if let Some(v) = set.get(value.as_slice()) {
        return v.clone();
    }
    let v: Arc<[T]> = value.into();
    set.insert(v.clone());
    v
}

/// The shared copy of a RoleBinding's subjects: a tenant's bindings repeat in each of its
/// namespaces, and a subject such as an auditors' group in every namespace.
pub(super) fn shared_subjects(subjects: Vec<RbacSubject>) -> Arc<[RbacSubject]> {
    SUBJECT_LISTS.with_borrow_mut(|set| shared_slice(set, subjects))
}

/// The shared copy of a quota's `hard` or a LimitRange's defaults: most namespaces have the
/// `[defaults]` ones.
pub(super) fn shared_quantities(quantities: Vec<(String, String)>) -> Quantities {
    QUANTITY_LISTS.with_borrow_mut(|set| shared_slice(set, quantities))
}

/// The copy of `value` in `set`, added on first sight.
fn shared_copy<T: Eq + Hash>(set: &mut HashSet<Arc<T>>, value: T) -> Arc<T> {
    if let Some(v) = set.get(&value) {
        return v.clone();
    }
    let v = Arc::new(value);
    set.insert(v.clone());
    v
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
pub(super) fn shared_selector(selector: Selector) -> Arc<Selector> {
    SELECTORS.with_borrow_mut(|set| shared_copy(set, selector))
}

/// The shared copy of a Namespace's labels or annotations.
pub(super) fn shared_labels(labels: LabelPairs) -> Arc<LabelPairs> {
    LABEL_SETS.with_borrow_mut(|set| shared_copy(set, labels))
}

/// The shared copy of a Sidecar's egress hosts.
pub(super) fn shared_hosts(hosts: Vec<Text>) -> Arc<[Text]> {
    HOST_LISTS.with_borrow_mut(|set| match set.get(hosts.as_slice()) {
        Some(h) => h.clone(),
        None => {
            let h: Arc<[Text]> = hosts.into();
            set.insert(h.clone());
            h
        }
    })
}

/// The shared copy of a ServiceEntry's spec.
pub(super) fn shared_service_entry_spec(spec: ServiceEntrySpec) -> Arc<ServiceEntrySpec> {
    SERVICE_ENTRY_SPECS.with_borrow_mut(|set| shared_copy(set, spec))
}

/// Forgets the strings, rule lists and selectors this thread has shared: the tree holds those
/// it uses.
pub(super) fn forget_shared() {
    INTERNED.with_borrow_mut(std::mem::take);
    RECENT.with_borrow_mut(|recent| recent.iter_mut().for_each(|t| *t = None));
    RULES.with_borrow_mut(std::mem::take);
    SELECTORS.with_borrow_mut(std::mem::take);
    SERVICE_ENTRY_SPECS.with_borrow_mut(std::mem::take);
    LABEL_SETS.with_borrow_mut(std::mem::take);
    HOST_LISTS.with_borrow_mut(std::mem::take);
    SUBJECT_LISTS.with_borrow_mut(std::mem::take);
    QUANTITY_LISTS.with_borrow_mut(std::mem::take);
    super::parse::forget_specs();
    super::namespace_file::forget_seen();
}

impl Text {
    /// The shared copy of `s`, made on first sight.
    pub(super) fn interned(s: &str) -> Self {
        let slot = recent_slot(s);
        RECENT.with_borrow_mut(|recent| {
            if let Some(t) = recent[slot].as_ref().filter(|t| *t.0 == *s) {
                return t.clone();
            }
            let t = INTERNED.with_borrow_mut(|set| match set.get(s) {
                Some(a) => Self(a.clone()),
                None => {
                    let a: std::sync::Arc<str> = s.into();
                    set.insert(a.clone());
                    Self(a)
                }
            });
            recent[slot] = Some(t.clone());
            t
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Slots of the interner's recent strings.
const RECENT_SLOTS: usize = 512;

/// The slot of `s` among the recent strings: from its length and three of its bytes, which tell
/// apart the strings a document repeats (`t00001` and `t00002` by their last byte), without
/// reading the rest.
fn recent_slot(s: &str) -> usize {
    let b = s.as_bytes();
    let at = |i: usize| b.get(i).copied().unwrap_or(0) as usize;
    let n = b.len();
    (n.wrapping_mul(31)
        ^ at(0)
        ^ at(n / 2).wrapping_mul(7)
        ^ at(n.wrapping_sub(1)).wrapping_mul(131))
        % RECENT_SLOTS
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
