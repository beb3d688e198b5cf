//! Reads an output tree back from disk: every `*.yaml`/`*.yml` file, every document, keeping the
//! file and object each NetworkPolicy, Sidecar and Namespace came from. Deliberately independent of
//! `render`: the tree may come from user templates or hand edits.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, IgnoredAny};
use serde::Deserialize;

/// Where a document came from: the file (as the user named it) and the object's kind and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Origin {
    /// Shared by every document of the file.
    pub file: std::sync::Arc<str>,
    pub kind: &'static str,
    pub name: Text,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.name)
    }
}

/// A string read from the tree, shared by every object that spells it the same way. A large
/// tree repeats a few thousand distinct strings (namespace and policy names, labels, CIDRs,
/// hosts) millions of times; one allocation per distinct string instead of one per occurrence
/// more than halves the memory verify holds. Compares, hashes and prints as the string.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(std::sync::Arc<str>);

thread_local! {
    /// The strings of the files one reader thread has parsed (see [`read_files`]).
    static INTERNED: std::cell::RefCell<std::collections::HashSet<std::sync::Arc<str>>> =
        std::cell::RefCell::default();
    /// The rule lists of the NetworkPolicies one reader thread has parsed.
    static RULES: std::cell::RefCell<std::collections::HashSet<Rules>> =
        std::cell::RefCell::default();
}

/// The `ingress` or `egress` rules of a NetworkPolicy. Most namespaces of a large tree have the
/// same platform and shared-service policies, so one copy serves every policy with equal rules.
pub type Rules = std::sync::Arc<[Rule]>;

/// The shared copy of `rules`.
fn shared_rules(rules: Vec<Rule>) -> Rules {
    RULES.with_borrow_mut(|set| match set.get(rules.as_slice()) {
        Some(r) => r.clone(),
        None => {
            let r: Rules = rules.into();
            set.insert(r.clone());
            r
        }
    })
}

impl Text {
    /// The shared copy of `s`, made on first sight.
    fn interned(s: &str) -> Self {
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

/// A label selector as Kubernetes defines it: `matchLabels` AND every `matchExpressions` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Selector {
    #[serde(default, deserialize_with = "null_as_default")]
    pub match_labels: LabelPairs,
    #[serde(default, deserialize_with = "null_as_default")]
    pub match_expressions: Vec<Expression>,
}

/// `matchLabels`: a few pairs sorted by key. A Vec, not a map: a map node per selector would
/// dominate the memory of a tree with a hundred thousand policies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LabelPairs(pub Vec<(Text, Text)>);

impl LabelPairs {
    pub fn get(&self, key: &str) -> Option<&Text> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Text, &Text)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &Text> {
        self.0.iter().map(|(k, _)| k)
    }
}

impl FromIterator<(Text, Text)> for LabelPairs {
    fn from_iter<I: IntoIterator<Item = (Text, Text)>>(iter: I) -> Self {
        let mut v: Vec<(Text, Text)> = iter.into_iter().collect();
        v.sort();
        v.dedup_by(|a, b| a.0 == b.0);
        Self(v)
    }
}

impl<'de> Deserialize<'de> for LabelPairs {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = LabelPairs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of labels")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<LabelPairs, A::Error> {
                let mut v = Vec::new();
                while let Some((k, val)) = map.next_entry::<Text, LabelText>()? {
                    v.push((k, val.0));
                }
                Ok(v.into_iter().collect())
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Deserialize)]
pub struct Expression {
    pub key: Text,
    pub operator: Text,
    #[serde(default, deserialize_with = "null_as_default")]
    pub values: Vec<Text>,
}

/// One `from`/`to` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Peer {
    pub pod_selector: Option<Selector>,
    pub namespace_selector: Option<Selector>,
    pub ip_block: Option<IpBlock>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
pub struct IpBlock {
    pub cidr: Text,
    #[serde(default, deserialize_with = "null_as_default")]
    pub except: Vec<Text>,
}

/// A port as NetworkPolicy writes it: a number or a named container port.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PortValue {
    Number(i64),
    Name(Text),
}

impl<'de> Deserialize<'de> for PortValue {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = PortValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a port number or a port name")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PortValue, E> {
                Ok(PortValue::Number(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PortValue, E> {
                Ok(PortValue::Number(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PortValue, E> {
                Ok(PortValue::Name(Text::interned(v)))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyPort {
    pub protocol: Option<Text>,
    pub port: Option<PortValue>,
    pub end_port: Option<i64>,
}

/// A NetworkPolicy ingress or egress rule, or a Sidecar egress listener: the documents share the
/// `spec.egress` key, so one lenient struct reads both (fields of the other kind stay empty).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Deserialize)]
pub struct Rule {
    pub from: Option<Vec<Peer>>,
    pub to: Option<Vec<Peer>>,
    pub ports: Option<Vec<PolicyPort>>,
    pub hosts: Option<Vec<Text>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSpec {
    pod_selector: Option<Selector>,
    policy_types: Option<Vec<Text>>,
    ingress: Option<Vec<Rule>>,
    egress: Option<Vec<Rule>>,
    workload_selector: Option<IgnoredAny>,
    outbound_traffic_policy: Option<RawOutbound>,
    // ServiceEntry
    hosts: Option<Vec<Text>>,
    addresses: Option<Vec<Text>>,
    ports: Option<Vec<RawServicePort>>,
    export_to: Option<Vec<Text>>,
    resolution: Option<Text>,
    // AuthorizationPolicy
    action: Option<Text>,
    rules: Option<Vec<AuthzRule>>,
    selector: Option<IgnoredAny>,
    target_ref: Option<IgnoredAny>,
    target_refs: Option<IgnoredAny>,
    // PeerAuthentication
    mtls: Option<RawMtls>,
    port_level_mtls: Option<IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
struct RawMtls {
    mode: Option<Text>,
}

/// One rule of an AuthorizationPolicy: it matches a request when one `from`, one `to` and every
/// `when` match (a missing or empty list matches everything).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct AuthzRule {
    #[serde(default, deserialize_with = "null_as_default")]
    pub from: Vec<AuthzFrom>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub to: Vec<AuthzTo>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub when: Vec<IgnoredWhen>,
}

/// A `when` condition: verify cannot evaluate it, only count it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IgnoredWhen;

impl<'de> Deserialize<'de> for IgnoredWhen {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(d).map(|_| IgnoredWhen)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct AuthzFrom {
    #[serde(default, deserialize_with = "null_as_default")]
    pub source: AuthzSource,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct AuthzTo {
    #[serde(default, deserialize_with = "null_as_default")]
    pub operation: AuthzOperation,
}

/// `rules[].from[].source`; a missing field is no constraint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthzSource {
    pub principals: Option<Vec<Text>>,
    pub not_principals: Option<Vec<Text>>,
    pub namespaces: Option<Vec<Text>>,
    pub not_namespaces: Option<Vec<Text>>,
    pub ip_blocks: Option<Vec<Text>>,
    pub not_ip_blocks: Option<Vec<Text>>,
    pub remote_ip_blocks: Option<Vec<Text>>,
    pub not_remote_ip_blocks: Option<Vec<Text>>,
    pub request_principals: Option<Vec<Text>>,
    pub not_request_principals: Option<Vec<Text>>,
}

/// `rules[].to[].operation`; ports are strings in the CRD, but a number reads as well.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthzOperation {
    pub ports: Option<Vec<PortValue>>,
    pub not_ports: Option<Vec<PortValue>>,
    pub hosts: Option<Vec<Text>>,
    pub not_hosts: Option<Vec<Text>>,
    pub methods: Option<Vec<Text>>,
    pub not_methods: Option<Vec<Text>>,
    pub paths: Option<Vec<Text>>,
    pub not_paths: Option<Vec<Text>>,
}

#[derive(Debug, Default, Deserialize)]
struct RawServicePort {
    number: Option<PortValue>,
}

#[derive(Debug, Default, Deserialize)]
struct RawOutbound {
    mode: Option<Text>,
}

#[derive(Debug, Default, Deserialize)]
struct RawMeta {
    name: Option<Text>,
    namespace: Option<Text>,
    #[serde(default, deserialize_with = "null_as_default")]
    labels: LabelPairs,
    #[serde(default, deserialize_with = "null_as_default")]
    annotations: LabelPairs,
}

/// A label value; YAML may spell `"1"` as `1`, which the API server would reject, so keep its text.
#[derive(Debug)]
struct LabelText(Text);

impl<'de> Deserialize<'de> for LabelText {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// The text serde_norway writes for a value that is not a string.
        fn written(v: &serde_yaml::Value) -> Text {
            Text::interned(serde_yaml::to_string(v).unwrap_or_default().trim())
        }
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = LabelText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a label value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LabelText, E> {
                Ok(LabelText(Text::interned(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<LabelText, E> {
                Ok(LabelText(Text::interned("")))
            }
            fn visit_none<E: de::Error>(self) -> Result<LabelText, E> {
                self.visit_unit()
            }
            fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<LabelText, D::Error> {
                LabelText::deserialize(d)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<LabelText, E> {
                Ok(LabelText(written(&v.into())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<LabelText, E> {
                Ok(LabelText(written(&v.into())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<LabelText, E> {
                Ok(LabelText(written(&v.into())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<LabelText, E> {
                Ok(LabelText(written(&v.into())))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, a: A) -> Result<LabelText, A::Error> {
                let v = serde_yaml::Value::deserialize(de::value::SeqAccessDeserializer::new(a))?;
                Ok(LabelText(written(&v)))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, a: A) -> Result<LabelText, A::Error> {
                let v = serde_yaml::Value::deserialize(de::value::MapAccessDeserializer::new(a))?;
                Ok(LabelText(written(&v)))
            }
            fn visit_enum<A: de::EnumAccess<'de>>(self, a: A) -> Result<LabelText, A::Error> {
                let v = serde_yaml::Value::deserialize(de::value::EnumAccessDeserializer::new(a))?;
                Ok(LabelText(written(&v)))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDoc {
    api_version: Option<Text>,
    kind: Option<Text>,
    #[serde(default, deserialize_with = "null_as_default")]
    metadata: RawMeta,
    #[serde(default, deserialize_with = "null_as_default")]
    spec: RawSpec,
}

fn null_as_default<'de, D: de::Deserializer<'de>, T: Deserialize<'de> + Default>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A NetworkPolicy as read from the tree.
#[derive(Clone, Debug)]
pub struct Policy {
    pub origin: Origin,
    pub namespace: Option<Text>,
    pub pod_selector: Selector,
    /// `policyTypes` as (Ingress, Egress); `None` when absent or empty (then defaulted).
    pub policy_types: Option<(bool, bool)>,
    /// Entries of `policyTypes` that are neither `Ingress` nor `Egress`.
    pub unknown_policy_types: Vec<Text>,
    /// The rules; `reach::Model::build` takes them once it has turned them into grants. Shared
    /// by the policies that spell them the same (see `shared_rules`).
    pub ingress: Option<Rules>,
    pub egress: Option<Rules>,
    /// How many rules each direction had, for what remains to say after the rules are taken.
    pub ingress_rules: usize,
    pub egress_rules: usize,
}

/// An Istio Sidecar as read from the tree.
#[derive(Clone, Debug)]
pub struct Sidecar {
    pub origin: Origin,
    pub namespace: Option<Text>,
    pub has_workload_selector: bool,
    /// Egress hosts of every listener, in file order.
    pub hosts: Vec<Text>,
    pub outbound_mode: Option<Text>,
}

/// An Istio ServiceEntry as read from the tree.
#[derive(Clone, Debug)]
pub struct ServiceEntry {
    pub origin: Origin,
    pub namespace: Option<Text>,
    pub hosts: Vec<Text>,
    pub addresses: Vec<Text>,
    pub ports: Vec<i64>,
    /// `None` when absent: Istio then exports it to every namespace.
    pub export_to: Option<Vec<Text>>,
    pub resolution: Option<Text>,
}

/// An Istio AuthorizationPolicy as read from the tree.
#[derive(Clone, Debug)]
pub struct AuthzPolicy {
    pub origin: Origin,
    pub namespace: Option<Text>,
    /// `ALLOW` (the default), `DENY`, `CUSTOM` or `AUDIT`.
    pub action: Text,
    /// `selector` or `targetRef(s)`: it applies to some workloads only.
    pub partial: bool,
    pub rules: Vec<AuthzRule>,
}

/// An Istio PeerAuthentication as read from the tree.
#[derive(Clone, Debug)]
pub struct PeerAuth {
    pub origin: Origin,
    pub namespace: Option<Text>,
    pub has_selector: bool,
    /// `mtls.mode`; `None` inherits (UNSET).
    pub mode: Option<Text>,
    pub port_level: bool,
}

#[derive(Clone, Debug)]
pub struct NamespaceDoc {
    pub origin: Origin,
    pub labels: LabelPairs,
    /// Read for the lifecycle check: the annotations that keep a sync from deleting it.
    pub annotations: LabelPairs,
}

/// Everything verify needs from the tree, in file order. Objects are boxed: a vector of a
/// hundred thousand 200-byte objects doubles as it grows and is copied when the reader threads'
/// parts are joined, which made those vectors the largest part of verify's peak memory.
#[derive(Clone, Debug, Default)]
pub struct Tree {
    pub files: usize,
    pub documents: usize,
    pub namespaces: Vec<Box<NamespaceDoc>>,
    pub policies: Vec<Box<Policy>>,
    pub sidecars: Vec<Box<Sidecar>>,
    pub service_entries: Vec<Box<ServiceEntry>>,
    pub authz_policies: Vec<Box<AuthzPolicy>>,
    pub peer_auths: Vec<Box<PeerAuth>>,
    /// Other network policy kinds (Calico, Cilium, AdminNetworkPolicy, ...): they change what
    /// is reachable, but verify does not evaluate them.
    pub unevaluated: Vec<Origin>,
    /// Violations in how the tree is applied rather than in what its policies allow: files no
    /// kustomization reaches, kustomization features, merge keys, kinds tenantc never generates
    /// (see [`super::kustomize`]).
    pub audit: Vec<super::Finding>,
}

/// A file that cannot be read or parsed: exit 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    #[error("cannot read `{path}`: {message}")]
    Read { path: String, message: String },
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
}

/// Reads every YAML file under `root`, in parallel over two threads (most machines running CI
/// have at least two cores; parsing dominates the run time of verify).
pub fn read_tree(root: &Path) -> Result<Tree, Vec<TreeError>> {
    let display_root = root.display().to_string();
    if !root.is_dir() {
        return Err(vec![TreeError::Read {
            path: display_root,
            message: "not a directory (run `tenantc compile` first?)".into(),
        }]);
    }
    let mut errors = Vec::new();
    let mut disk = super::kustomize::OnDisk::default();
    for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
        match entry {
            Ok(e) if e.file_type().is_file() => {
                let p = e.path();
                if matches!(p.extension().and_then(|x| x.to_str()), Some("yaml" | "yml")) {
                    disk.yaml.push(p.to_path_buf());
                }
                disk.files.insert(super::kustomize::key_of(p));
            }
            Ok(e) if e.file_type().is_dir() => {
                disk.dirs.insert(super::kustomize::key_of(e.path()));
            }
            Ok(_) => {}
            Err(e) => errors.push(TreeError::Read {
                path: e
                    .path()
                    .map_or_else(|| display_root.clone(), |p| p.display().to_string()),
                message: e.to_string(),
            }),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // Only what the cluster receives is evaluated; the rest is reported. The sets of the walk
    // are dropped here, before the files are parsed, so that they do not add to the peak.
    let super::kustomize::Applied {
        files: applied,
        findings: audit,
    } = super::kustomize::applied(root, &disk);
    let mut paths = std::mem::take(&mut disk.yaml);
    drop(disk);
    if let Some(files) = applied {
        paths.retain(|p| files.contains(&super::kustomize::key_of(p)));
    }
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 8));
    let chunk = paths.len().div_ceil(threads).max(1);
    let parts: Vec<Result<Tree, Vec<TreeError>>> = std::thread::scope(|s| {
        let handles: Vec<_> = paths
            .chunks(chunk)
            .map(|part| s.spawn(move || read_files(part)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(vec![TreeError::Read {
                        path: display_root.clone(),
                        message: "a reader thread panicked".into(),
                    }])
                })
            })
            .collect()
    });
    drop(paths);
    let mut tree = Tree {
        audit,
        ..Tree::default()
    };
    for part in parts {
        match part {
            // The first part becomes the tree as it is: no copy of the largest vectors.
            Ok(mut t) if tree.files == 0 => {
                t.audit.append(&mut tree.audit);
                tree = t;
            }
            Ok(t) => {
                tree.audit.extend(t.audit);
                tree.files += t.files;
                tree.documents += t.documents;
                tree.namespaces.extend(t.namespaces);
                tree.policies.extend(t.policies);
                tree.sidecars.extend(t.sidecars);
                tree.service_entries.extend(t.service_entries);
                tree.authz_policies.extend(t.authz_policies);
                tree.peer_auths.extend(t.peer_auths);
                tree.unevaluated.extend(t.unevaluated);
            }
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() {
        Ok(tree)
    } else {
        Err(errors)
    }
}

fn read_files(paths: &[PathBuf]) -> Result<Tree, Vec<TreeError>> {
    let mut tree = Tree::default();
    let mut errors = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => {
                tree.audit
                    .extend(super::kustomize::merge_key_finding(&text, path));
                if let Err(e) = parse_file(&text, &name, &mut tree) {
                    errors.push(e);
                }
            }
            Err(e) => errors.push(TreeError::Read {
                path: name,
                message: e.to_string(),
            }),
        }
    }
    // The tree holds the strings it uses; the set of them is not needed any more.
    INTERNED.with_borrow_mut(std::mem::take);
    RULES.with_borrow_mut(std::mem::take);
    if errors.is_empty() {
        Ok(tree)
    } else {
        Err(errors)
    }
}

const KINDS: [&str; 6] = [
    "NetworkPolicy",
    "Sidecar",
    "Namespace",
    "ServiceEntry",
    "AuthorizationPolicy",
    "PeerAuthentication",
];

/// Parses one file's documents into `tree`. A document of another kind (a Deployment, a
/// kustomization) is skipped, even when its fields would not fit the lenient struct.
pub fn parse_file(text: &str, file: &str, tree: &mut Tree) -> Result<(), TreeError> {
    tree.files += 1;
    let shared: std::sync::Arc<str> = file.into();
    if let Some(docs) = super::yaml::parse(text) {
        let typed: Result<Vec<Option<RawDoc>>, _> = docs
            .into_iter()
            .map(Option::<RawDoc>::deserialize)
            .collect();
        if let Ok(typed) = typed {
            for raw in typed.into_iter().flatten() {
                tree.documents += 1;
                add_doc(raw, &shared, tree);
            }
            return Ok(());
        }
        // A type error: the full parser below reports it with its line and column.
    }
    // The full parser. Its document iterator repeats a syntax error forever, so first find how
    // many documents parse and of which kind each is.
    let mut kinds: Vec<String> = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        match serde_yaml::Value::deserialize(doc) {
            Ok(v) => kinds.push(
                v.get("kind")
                    .and_then(|k| k.as_str())
                    .unwrap_or_default()
                    .to_owned(),
            ),
            Err(syntax) => return Err(parse_error(file, &syntax)),
        }
    }
    for (doc, kind) in serde_yaml::Deserializer::from_str(text).zip(&kinds) {
        match Option::<RawDoc>::deserialize(doc) {
            Ok(Some(raw)) => {
                tree.documents += 1;
                add_doc(raw, &shared, tree);
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

fn add_doc(raw: RawDoc, file: &std::sync::Arc<str>, tree: &mut Tree) {
    let Some(kind) = raw.kind else { return };
    let api = raw.api_version.unwrap_or_default();
    let origin = |kind: &'static str| Origin {
        file: file.clone(),
        kind,
        name: raw
            .metadata
            .name
            .clone()
            .unwrap_or_else(|| "(unnamed)".into()),
    };
    match kind.as_str() {
        "NetworkPolicy" if api.starts_with("networking.k8s.io/") => {
            tree.policies.push(Box::new(Policy {
                origin: origin("NetworkPolicy"),
                namespace: raw.metadata.namespace,
                pod_selector: raw.spec.pod_selector.unwrap_or_default(),
                policy_types: raw
                    .spec
                    .policy_types
                    .as_ref()
                    .filter(|t| !t.is_empty())
                    .map(|t| {
                        (
                            t.iter().any(|x| x == "Ingress"),
                            t.iter().any(|x| x == "Egress"),
                        )
                    }),
                unknown_policy_types: raw
                    .spec
                    .policy_types
                    .iter()
                    .flatten()
                    .filter(|t| *t != "Ingress" && *t != "Egress")
                    .cloned()
                    .collect(),
                ingress_rules: raw.spec.ingress.as_ref().map_or(0, Vec::len),
                egress_rules: raw.spec.egress.as_ref().map_or(0, Vec::len),
                ingress: raw.spec.ingress.map(shared_rules),
                egress: raw.spec.egress.map(shared_rules),
            }));
        }
        "Sidecar" if api.starts_with("networking.istio.io/") => {
            let hosts = raw
                .spec
                .egress
                .unwrap_or_default()
                .into_iter()
                .flat_map(|r| r.hosts.unwrap_or_default())
                .collect();
            tree.sidecars.push(Box::new(Sidecar {
                origin: origin("Sidecar"),
                namespace: raw.metadata.namespace,
                has_workload_selector: raw.spec.workload_selector.is_some(),
                hosts,
                outbound_mode: raw.spec.outbound_traffic_policy.and_then(|o| o.mode),
            }));
        }
        "ServiceEntry" if api.starts_with("networking.istio.io/") => {
            tree.service_entries.push(Box::new(ServiceEntry {
                origin: origin("ServiceEntry"),
                namespace: raw.metadata.namespace,
                hosts: raw.spec.hosts.unwrap_or_default(),
                addresses: raw.spec.addresses.unwrap_or_default(),
                ports: raw
                    .spec
                    .ports
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|p| match p.number {
                        Some(PortValue::Number(n)) => Some(n),
                        _ => None,
                    })
                    .collect(),
                export_to: raw.spec.export_to,
                resolution: raw.spec.resolution,
            }));
        }
        "AuthorizationPolicy" if api.starts_with("security.istio.io/") => {
            tree.authz_policies.push(Box::new(AuthzPolicy {
                origin: origin("AuthorizationPolicy"),
                namespace: raw.metadata.namespace,
                action: raw.spec.action.unwrap_or_else(|| "ALLOW".into()),
                partial: raw.spec.selector.is_some()
                    || raw.spec.target_ref.is_some()
                    || raw.spec.target_refs.is_some(),
                rules: raw.spec.rules.unwrap_or_default(),
            }));
        }
        "PeerAuthentication" if api.starts_with("security.istio.io/") => {
            tree.peer_auths.push(Box::new(PeerAuth {
                origin: origin("PeerAuthentication"),
                namespace: raw.metadata.namespace,
                has_selector: raw.spec.selector.is_some(),
                mode: raw.spec.mtls.and_then(|m| m.mode),
                port_level: raw.spec.port_level_mtls.is_some(),
            }));
        }
        "Namespace" if api == "v1" => {
            let labels = raw.metadata.labels;
            tree.namespaces.push(Box::new(NamespaceDoc {
                origin: origin("Namespace"),
                labels,
                annotations: raw.metadata.annotations,
            }));
        }
        other if other.contains("NetworkPolicy") || other == "Sidecar" => {
            let name = raw
                .metadata
                .name
                .clone()
                .unwrap_or_else(|| "(unnamed)".into());
            tree.unevaluated.push(Origin {
                file: file.clone(),
                kind: "other",
                name: format!("{other} {name} ({api})").into(),
            });
        }
        other => {
            let name = raw.metadata.name.as_deref().unwrap_or("(unnamed)");
            note_foreign(other, &api, name, file, tree);
        }
    }
}

/// The kinds a tenantc tree holds besides Namespaces, NetworkPolicies and Sidecars:
/// kustomizations and the GitOps objects (`apiVersion` prefix, kind).
const OWN_KINDS: [(&str, &str); 5] = [
    ("kustomize.config.k8s.io/", "Kustomization"),
    ("argoproj.io/", "Application"),
    ("argoproj.io/", "AppProject"),
    ("source.toolkit.fluxcd.io/", "GitRepository"),
    ("kustomize.toolkit.fluxcd.io/", "Kustomization"),
];

/// A document of a kind tenantc never generates (a ClusterRoleBinding, a Secret): whatever it
/// does, verify cannot vouch for it, so it is a violation.
fn note_foreign(kind: &str, api: &str, name: &str, file: &std::sync::Arc<str>, tree: &mut Tree) {
    if kind.is_empty()
        || OWN_KINDS
            .iter()
            .any(|(prefix, k)| *k == kind && (api.is_empty() || api.starts_with(prefix)))
    {
        return;
    }
    let origin = Origin {
        file: file.clone(),
        kind: "other",
        name: name.into(),
    };
    tree.audit.push(super::Finding {
        severity: super::Severity::Violation,
        check: "foreign-kind",
        message: format!(
            "{file} holds a {kind} `{name}`{}: tenantc never generates this kind, and verify cannot vouch for what it does; remove it from the output tree",
            if api.is_empty() { String::new() } else { format!(" ({api})") }
        ),
        from: None,
        to: None,
        ports: Vec::new(),
        objects: vec![origin],
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_policies_sidecars_namespaces_and_skips_other_kinds() {
        let text = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  labels:\n    n: 1\n---\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  egress: 3\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: a}\nspec:\n  podSelector: {}\n  ingress:\n  - from: []\n    ports:\n    - port: http\n    - port: 80\n      endPort: 90\n";
        let mut tree = Tree::default();
        parse_file(text, "f.yaml", &mut tree).unwrap();
        assert_eq!(tree.namespaces.len(), 1);
        assert_eq!(
            tree.namespaces[0].labels.get("n").map(Text::as_str),
            Some("1")
        );
        assert_eq!(tree.policies.len(), 1);
        let rule = &tree.policies[0].ingress.as_ref().unwrap()[0];
        assert_eq!(rule.from.as_deref(), Some(&[][..]));
        let ports = rule.ports.as_ref().unwrap();
        assert_eq!(ports[0].port, Some(PortValue::Name("http".into())));
        assert_eq!(ports[1].end_port, Some(90));
        assert_eq!(tree.documents, 3);
    }

    #[test]
    fn syntax_and_type_errors_name_line_and_column() {
        let mut tree = Tree::default();
        let e = parse_file("a: [1,\n", "f.yaml", &mut tree).unwrap_err();
        assert!(matches!(e, TreeError::Parse { line: 2, .. }), "{e}");
        let text = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec:\n  podSelector: 5\n";
        let e = parse_file(text, "f.yaml", &mut tree).unwrap_err();
        assert!(e.to_string().starts_with("f.yaml:5:16"), "{e}");
    }
}
