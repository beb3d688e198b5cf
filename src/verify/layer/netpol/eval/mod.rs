//! Kubernetes NetworkPolicy semantics: label selectors, ports, protocols, `policyTypes` defaults.
//! https://kubernetes.io/docs/concepts/services-networking/network-policies/

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use crate::verify::HashMap;
use std::fmt;

use crate::verify::tree::{LabelPairs, PolicyPort, PortValue, Selector, Text};

/// The label the API server sets on every namespace to its name; nobody can change it.
pub const NAME_LABEL: &str = "kubernetes.io/metadata.name";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Protocol {
    #[serde(rename = "TCP")]
    Tcp,
    #[serde(rename = "UDP")]
    Udp,
    #[serde(rename = "SCTP")]
    Sctp,
}

impl Protocol {
    pub const ALL: [Protocol; 3] = [Protocol::Tcp, Protocol::Udp, Protocol::Sctp];

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "TCP" => Some(Self::Tcp),
            "UDP" => Some(Self::Udp),
            "SCTP" => Some(Self::Sctp),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "TCP",
            Self::Udp => "UDP",
            Self::Sctp => "SCTP",
        }
    }
}

/// Ports per protocol, as sorted, disjoint, inclusive ranges (one boxed slice, without spare
/// capacity: a large tree has millions of these, one per grant).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PortSet {
    ranges: Box<[(Protocol, u16, u16)]>,
}

impl PortSet {
    pub fn all() -> Self {
        Self {
            ranges: Protocol::ALL.iter().map(|p| (*p, 1, 65535)).collect(),
        }
    }

    pub fn none() -> Self {
        Self::default()
    }

    /// These TCP ports (none for an empty list).
    pub fn tcp(ports: impl IntoIterator<Item = u16>) -> Self {
        let mut s = Self::none();
        for p in ports {
            s.add(Protocol::Tcp, p, p);
        }
        s
    }

    pub fn single(protocol: Protocol, port: u16) -> Self {
        Self {
            ranges: Box::new([(protocol, port, port)]),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The ranges, sorted by protocol and port.
    pub fn ranges(&self) -> impl Iterator<Item = (Protocol, u16, u16)> + '_ {
        self.ranges.iter().copied()
    }

    pub fn is_all(&self) -> bool {
        self.ranges.len() == 3
            && self
                .ranges
                .iter()
                .all(|&(_, lo, hi)| lo == 1 && hi == 65535)
    }

    pub fn add(&mut self, protocol: Protocol, lo: u16, hi: u16) {
        let mut ranges = std::mem::take(&mut self.ranges).into_vec();
        ranges.push((protocol, lo.min(hi), hi.max(lo)));
        self.ranges = normalized(ranges);
    }

    pub fn union_with(&mut self, other: &Self) {
        if other.ranges.is_empty() || *self == *other {
            return;
        }
        if self.ranges.is_empty() {
            self.ranges.clone_from(&other.ranges);
            return;
        }
        let mut ranges = std::mem::take(&mut self.ranges).into_vec();
        ranges.extend_from_slice(&other.ranges);
        self.ranges = normalized(ranges);
    }

    /// The ports of `self` that are not in `other`.
    pub fn minus(&self, other: &Self) -> Self {
        // Most comparisons take a set from itself or from every port: nothing is left.
        if self.ranges.is_empty() || *self == *other || other.is_all() {
            return Self::none();
        }
        let of = |set: &Self, p: Protocol| -> Vec<(u128, u128)> {
            set.ranges
                .iter()
                .filter(|r| r.0 == p)
                .map(|&(_, lo, hi)| (u128::from(lo), u128::from(hi)))
                .collect()
        };
        // The ranges are sorted by protocol, so going protocol by protocol keeps their order.
        let mut out = Vec::new();
        for p in Protocol::ALL {
            let mine = of(self, p);
            if mine.is_empty() {
                continue;
            }
            // Both ends come from u16 values, so they fit.
            out.extend(
                crate::verify::ip::minus(&mine, &of(other, p))
                    .into_iter()
                    .map(|(lo, hi)| (p, lo as u16, hi as u16)),
            );
        }
        Self { ranges: out.into() }
    }

    pub fn intersect(&self, other: &Self) -> Self {
        self.minus(&self.minus(other))
    }

    pub fn covers(&self, other: &Self) -> bool {
        other.minus(self).is_empty()
    }

    pub fn contains(&self, protocol: Protocol, port: u16) -> bool {
        self.ranges
            .iter()
            .any(|&(p, lo, hi)| p == protocol && lo <= port && port <= hi)
    }

    /// `TCP/53`, `TCP/8000-8080`, `every UDP port`, for messages and JSON.
    pub fn to_strings(&self) -> Vec<String> {
        if self.is_all() {
            return vec!["every port".into()];
        }
        self.ranges
            .iter()
            .map(|&(p, lo, hi)| match (lo, hi) {
                (1, 65535) => format!("every {} port", p.as_str()),
                (lo, hi) if lo == hi => format!("{}/{lo}", p.as_str()),
                (lo, hi) => format!("{}/{lo}-{hi}", p.as_str()),
            })
            .collect()
    }
}

impl fmt::Display for PortSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("no port");
        }
        f.write_str(&self.to_strings().join(", "))
    }
}

impl serde::Serialize for PortSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_strings().serialize(s)
    }
}

/// `ranges` sorted, with overlapping and adjacent ranges of a protocol merged.
fn normalized(mut ranges: Vec<(Protocol, u16, u16)>) -> Box<[(Protocol, u16, u16)]> {
    ranges.sort_unstable();
    let mut merged: Vec<(Protocol, u16, u16)> = Vec::with_capacity(ranges.len());
    for &(p, lo, hi) in &ranges {
        match merged.last_mut() {
            Some(last) if last.0 == p && u32::from(lo) <= u32::from(last.2) + 1 => {
                last.2 = last.2.max(hi);
            }
            _ => merged.push((p, lo, hi)),
        }
    }
    merged.into()
}

/// Parses `--port 8080/TCP` (or `8080`, TCP by default).
pub fn parse_port_arg(s: &str) -> Result<(Protocol, u16), String> {
    let (port, proto) = s.split_once('/').unwrap_or((s, "TCP"));
    let proto = Protocol::parse(&proto.to_ascii_uppercase())
        .ok_or_else(|| format!("unknown protocol `{proto}`: use TCP, UDP or SCTP"))?;
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p >= 1)
        .ok_or_else(|| format!("`{port}` is not a port number (1-65535)"))?;
    Ok((proto, port))
}

/// The ports a rule's `ports` list matches: missing or empty means every port; a port entry
/// without `port` means every port of its protocol; the protocol defaults to TCP; `endPort`
/// makes a range. Named ports cannot be resolved without the pods, so they are returned apart.
pub fn ports_of(list: Option<&[PolicyPort]>) -> (PortSet, Vec<String>, Vec<String>) {
    let mut set = PortSet::none();
    let mut named = Vec::new();
    let mut problems = Vec::new();
    let list = match list {
        None | Some([]) => return (PortSet::all(), named, problems),
        Some(l) => l,
    };
    for p in list {
        let proto_text = p.protocol.as_deref().unwrap_or("TCP");
        let Some(proto) = Protocol::parse(proto_text) else {
            problems.push(format!("unknown protocol `{proto_text}`"));
            continue;
        };
        match &p.port {
            None => set.add(proto, 1, 65535),
            Some(PortValue::Name(n)) => {
                if p.end_port.is_some() {
                    problems.push(format!("`endPort` needs a numeric `port`, not `{n}`"));
                }
                named.push(format!("{}/{n}", proto.as_str()));
            }
            Some(PortValue::Number(n)) => {
                let Ok(lo) =
                    u16::try_from(*n).map_err(drop).and_then(
                        |v| {
                            if v >= 1 {
                                Ok(v)
                            } else {
                                Err(())
                            }
                        },
                    )
                else {
                    problems.push(format!("port {n} is out of range"));
                    continue;
                };
                let hi = match p.end_port {
                    None => lo,
                    Some(e) => match u16::try_from(e) {
                        Ok(e) if e >= lo => e,
                        _ => {
                            problems
                                .push(format!("endPort {e} is below port {lo} or out of range"));
                            continue;
                        }
                    },
                };
                set.add(proto, lo, hi);
            }
        }
    }
    (set, named, problems)
}

/// Which directions a policy affects: `policyTypes` when given; otherwise Ingress always, and
/// Egress only when the policy has egress rules (the API server's defaulting).
pub fn policy_directions(types: Option<(bool, bool)>, has_egress_rules: bool) -> (bool, bool) {
    types.unwrap_or((true, has_egress_rules))
}

const OPERATORS: [&str; 4] = ["In", "NotIn", "Exists", "DoesNotExist"];

impl Selector {
    /// `{}`: selects everything.
    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.match_expressions.is_empty()
    }

    /// Problems the API server would reject: unknown operators, values where none belong.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for e in &self.match_expressions {
            if !OPERATORS.contains(&e.operator.as_str()) {
                out.push(format!(
                    "unknown operator `{}` (use In, NotIn, Exists or DoesNotExist)",
                    e.operator
                ));
            } else if matches!(e.operator.as_str(), "In" | "NotIn") && e.values.is_empty() {
                out.push(format!(
                    "operator `{}` on `{}` needs values",
                    e.operator, e.key
                ));
            } else if matches!(e.operator.as_str(), "Exists" | "DoesNotExist")
                && !e.values.is_empty()
            {
                out.push(format!("operator `{}` takes no values", e.operator));
            }
        }
        out
    }

    /// Whether an object with these labels is selected.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k.as_str()).is_some_and(|l| v == l))
            && self.match_expressions.iter().all(|e| {
                let got = labels.get(e.key.as_str());
                match e.operator.as_str() {
                    "In" => got.is_some_and(|v| e.values.iter().any(|x| x == v)),
                    "NotIn" => got.is_none_or(|v| !e.values.iter().any(|x| x == v)),
                    "Exists" => got.is_some(),
                    "DoesNotExist" => got.is_none(),
                    _ => false,
                }
            })
    }

    /// Whether every object this selector selects carries all of `labels` (so it selects no more
    /// than the pods tenants.toml names).
    pub fn within(&self, labels: &BTreeMap<String, String>) -> bool {
        labels.iter().all(|(k, v)| {
            self.match_labels.get(k).is_some_and(|l| l == v)
                || self.match_expressions.iter().any(|e| {
                    e.key == *k && e.operator == "In" && e.values.len() == 1 && e.values[0] == *v
                })
        })
    }

    /// `app=web, tier In (a, b)`, for messages.
    pub fn describe(&self) -> String {
        if self.is_empty() {
            return "every pod".into();
        }
        let mut parts: Vec<String> = self
            .match_labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        for e in &self.match_expressions {
            parts.push(match e.operator.as_str() {
                "Exists" => e.key.to_string(),
                "DoesNotExist" => format!("!{}", e.key),
                op => format!("{} {op} ({})", e.key, e.values.join(", ")),
            });
        }
        parts.join(", ")
    }
}

/// A set of namespace ids: either the listed ones, or every namespace but the listed ones
/// (a selector such as `{}` or `NotIn` matches namespaces that exist nowhere in the tree too).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum NsSet {
    Only(Vec<u32>),
    AllExcept(Vec<u32>),
}

impl NsSet {
    pub fn contains(&self, id: u32) -> bool {
        match self {
            Self::Only(v) => v.binary_search(&id).is_ok(),
            Self::AllExcept(v) => v.binary_search(&id).is_err(),
        }
    }

    pub fn intersect(self, other: Self) -> Self {
        match (self, other) {
            (Self::Only(a), Self::Only(b)) => Self::Only(
                a.into_iter()
                    .filter(|x| b.binary_search(x).is_ok())
                    .collect(),
            ),
            (Self::Only(a), Self::AllExcept(b)) | (Self::AllExcept(b), Self::Only(a)) => {
                Self::Only(
                    a.into_iter()
                        .filter(|x| b.binary_search(x).is_err())
                        .collect(),
                )
            }
            (Self::AllExcept(a), Self::AllExcept(b)) => {
                Self::AllExcept(sorted(a.into_iter().chain(b)))
            }
        }
    }
}

/// The index of the first item of sorted `items` that is not `below` the key, searched from
/// `at` on when every item before `at` is below it: asking for ascending keys then walks the
/// list once (a shared namespace's consumers are compared in order, each against lists of all
/// of them), where a search per key would cross the whole list each time.
pub fn seek_from<T>(items: &[T], at: usize, below: impl Fn(&T) -> bool) -> usize {
    if at > items.len() || (at > 0 && !below(&items[at - 1])) {
        return items.partition_point(below);
    }
    let mut i = at;
    while i < items.len() && below(&items[i]) {
        i += 1;
        // Far away: search the rest instead of walking it.
        if i - at == 64 {
            return i + items[i..].partition_point(below);
        }
    }
    i
}

impl NsSet {
    /// [`NsSet::contains`] for ids asked in ascending order, `at` kept between the questions
    /// (see [`seek_from`]).
    pub fn contains_from(&self, id: u32, at: &mut usize) -> bool {
        let (Self::Only(v) | Self::AllExcept(v)) = self;
        *at = seek_from(v, *at, |&x| x < id);
        let found = v.get(*at) == Some(&id);
        found == matches!(self, Self::Only(_))
    }
}

pub fn sorted(v: impl IntoIterator<Item = u32>) -> Vec<u32> {
    let mut v: Vec<u32> = v.into_iter().collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Namespace labels indexed for selector evaluation, so that a selector costs the size of its
/// answer, not the number of namespaces. A key is indexed the first time a selector asks for
/// it: tenantc's own policies select namespaces by [`NAME_LABEL`] only (any other label is one a
/// tenant may set on its own namespace, reported as such), which needs no index, so the
/// namespaces' other labels (a tenant's, the Pod Security levels: ten per namespace with every
/// access key) are mostly never looked at. Indexing them all up front was most of the time
/// those labels added to the model's construction, which the other layers wait for.
#[derive(Debug, Default)]
pub struct LabelIndex {
    /// Each namespace's id and labels, in the order added.
    namespaces: Vec<(u32, Arc<LabelPairs>)>,
    /// By label key, once asked for: every namespace with the key, and by value those with the
    /// pair.
    by_key: RefCell<HashMap<Text, Rc<KeyIndex>>>,
}

/// The namespaces with one label key, and by value those with the pair; each list sorted.
#[derive(Debug, Default)]
struct KeyIndex {
    ids: Vec<u32>,
    by_value: HashMap<Text, Vec<u32>>,
}

impl LabelIndex {
    /// Adds namespace `id` with its `labels`.
    pub fn add(&mut self, id: u32, labels: &Arc<LabelPairs>) {
        self.namespaces.push((id, Arc::clone(labels)));
    }

    /// The index of label key `k`, built on the first call for it.
    fn key(&self, k: &Text) -> Rc<KeyIndex> {
        // Never asked for (a selector of the name label reads the name), as before the index
        // was lazy: that key was not indexed.
        if k == NAME_LABEL {
            return Rc::default();
        }
        if let Some(key) = self.by_key.borrow().get(k.as_str()) {
            return Rc::clone(key);
        }
        let mut key = KeyIndex::default();
        for (id, labels) in &self.namespaces {
            if let Some(v) = labels.get(k.as_str()) {
                key.ids.push(*id);
                match key.by_value.get_mut(v.as_str()) {
                    Some(ids) => ids.push(*id),
                    None => {
                        key.by_value.insert(v.clone(), vec![*id]);
                    }
                }
            }
        }
        for v in std::iter::once(&mut key.ids).chain(key.by_value.values_mut()) {
            v.sort_unstable();
            v.dedup();
        }
        let key = Rc::new(key);
        self.by_key.borrow_mut().insert(k.clone(), Rc::clone(&key));
        key
    }

    /// The namespaces a selector matches; `intern` gives the id of a namespace by name (a name
    /// seen nowhere else gets a new id: a policy may name a namespace the tree does not have).
    pub fn select(&self, sel: &Selector, intern: &mut dyn FnMut(&str) -> u32) -> NsSet {
        let pair = |k: &Text, v: &Text| -> Vec<u32> {
            self.key(k)
                .by_value
                .get(v.as_str())
                .cloned()
                .unwrap_or_default()
        };
        let mut set = NsSet::AllExcept(Vec::new());
        for (k, v) in sel.match_labels.iter() {
            let one = if k == NAME_LABEL {
                NsSet::Only(vec![intern(v)])
            } else {
                NsSet::Only(pair(k, v))
            };
            set = set.intersect(one);
        }
        for e in &sel.match_expressions {
            let values = |intern: &mut dyn FnMut(&str) -> u32| -> Vec<u32> {
                if e.key == NAME_LABEL {
                    sorted(e.values.iter().map(|v| intern(v)))
                } else {
                    sorted(e.values.iter().flat_map(|v| pair(&e.key, v)))
                }
            };
            let key_set = || self.key(&e.key).ids.clone();
            let one = match e.operator.as_str() {
                "In" => NsSet::Only(values(intern)),
                "NotIn" => NsSet::AllExcept(values(intern)),
                "Exists" if e.key == NAME_LABEL => NsSet::AllExcept(Vec::new()),
                "Exists" => NsSet::Only(key_set()),
                "DoesNotExist" if e.key == NAME_LABEL => NsSet::Only(Vec::new()),
                "DoesNotExist" => NsSet::AllExcept(key_set()),
                _ => NsSet::Only(Vec::new()),
            };
            set = set.intersect(one);
        }
        set
    }
}

#[cfg(test)]
mod tests;
