//! Who may do what in each namespace, how much it may consume and how safely: the RoleBindings,
//! ResourceQuotas, LimitRanges and Pod Security labels of the tree against tenants.toml.
//!
//! Kubernetes RBAC is additive (https://kubernetes.io/docs/reference/access-authn-authz/rbac/):
//! any binding in a namespace grants, so every binding in a managed namespace must be one of
//! tenantc's three, to its ClusterRole, with exactly the subjects tenants.toml names. A Role or
//! a ClusterRole(Binding) is never tenantc's: the latter grants in every namespace at once.
//! Pod Security Admission enforces the level of the `enforce` label
//! (https://kubernetes.io/docs/concepts/security/pod-security-admission/): a lower one admits
//! what tenants.toml refuses.

use std::collections::{BTreeMap, BTreeSet};

use crate::intent::{AccessIntent, Intent, NamespaceIntent};
use crate::model::{AccessLevel, PodSecurity, PodSecurityLevel, Quantity, ResourceName};
use crate::resolve::POD_SECURITY_PREFIX;
use crate::verify::finding::{violation, with_objects};
use crate::verify::tree::{LabelPairs, LimitDoc, NamespaceDoc, Origin, RbacDoc, RbacSubject, Text};
use crate::verify::{Finding, HashMap};

mod view;
pub use view::{access_of_intent, access_of_tree, access_sentences, AccessView, Weakening};

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// A subject as `access` and the findings word it: `group acme-devs`.
pub fn describe_subject(s: &RbacSubject) -> String {
    match (s.kind.as_str(), &s.namespace) {
        ("ServiceAccount", Some(ns)) => format!("serviceaccount {ns}/{}", s.name),
        ("ServiceAccount", None) => format!("serviceaccount {}", s.name),
        (kind, _) => format!("{} {}", kind.to_ascii_lowercase(), s.name),
    }
}

/// The subjects `binding` of the intent names, as the tree writes them.
fn wanted_subjects(access: &AccessIntent, level: AccessLevel) -> BTreeSet<RbacSubject> {
    access
        .bindings
        .iter()
        .filter(|b| b.level == level)
        .flat_map(|b| &b.subjects)
        .map(|s| RbacSubject {
            kind: s.kind.into(),
            name: (*s.name).into(),
            namespace: s.namespace.as_deref().map(Text::from),
            api_group: s.namespace.is_none().then(|| RBAC_GROUP.into()),
        })
        .collect()
}

/// Whether `got` (one binding's subjects) are exactly the subjects of `level` in `access`, as
/// a set; compared in place, without the sets of [`wanted_subjects`], as in every namespace of a
/// tree compile wrote. The intent's subjects are distinct, so equal counts and each of them found
/// means the same set.
fn same_subjects(access: &AccessIntent, level: AccessLevel, got: &[RbacSubject]) -> bool {
    let mut want = access
        .bindings
        .iter()
        .filter(|b| b.level == level)
        .flat_map(|b| &b.subjects);
    want.clone().count() == got.len()
        && want.all(|s| {
            got.iter().any(|g| {
                g.kind == s.kind
                    && *g.name == *s.name
                    && g.namespace.as_deref() == s.namespace.as_deref()
                    && g.api_group.as_deref() == s.namespace.is_none().then_some(RBAC_GROUP)
            })
        })
}

/// The level a RoleBinding of the tree grants, when it is one tenantc writes: its name and its
/// role agree (`tenantc-editors` to the ClusterRole `edit`).
pub fn level_of(doc: &RbacDoc) -> Option<AccessLevel> {
    let (group, kind, name) = &doc.role_ref;
    let level = AccessLevel::of_cluster_role(name)?;
    (doc.kind == "RoleBinding"
        && group == RBAC_GROUP
        && kind == "ClusterRole"
        && doc.origin.name == level.binding())
    .then_some(level)
}

/// The tree's objects the access layer judges: its Namespaces (for their Pod Security labels) and
/// its RoleBindings (and other RBAC objects), ResourceQuotas and LimitRanges. None needs the
/// model, so the layer runs on one thread while another builds the model (see `verify`).
pub struct Objects<'d> {
    pub namespaces: &'d [Box<NamespaceDoc>],
    pub rbac: &'d [Box<RbacDoc>],
    pub quotas: &'d [Box<LimitDoc>],
    pub limit_ranges: &'d [Box<LimitDoc>],
}

pub fn check(objects: &Objects, intent: &Intent, findings: &mut Vec<Finding>) {
    let managed = Managed::of(objects, intent);
    bindings(objects, &managed, findings);
    pod_security(&managed, findings);
    limits(
        &managed,
        objects.quotas,
        "ResourceQuota",
        |a| Some(&*a.quota),
        |_| None,
        findings,
    );
    limits(
        &managed,
        objects.limit_ranges,
        "LimitRange",
        |a| a.limits.as_ref().map(|l| &*l.default),
        |a| a.limits.as_ref().map(|l| &*l.default_request),
        findings,
    );
}

/// A map of quantities of the intent (`None`: none), as the tree's text.
type WantedQuantities<'a> = Option<&'a BTreeMap<ResourceName, Quantity>>;

/// The entries of `want` as text, sorted as the tree's.
fn texts(want: WantedQuantities) -> Vec<(String, String)> {
    want.into_iter()
        .flatten()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Whether the tree's sorted `got` is `want`, compared in place (both are sorted by resource).
fn same_quantities(want: WantedQuantities, got: &[(String, String)]) -> bool {
    let want = want.into_iter().flatten();
    want.clone().count() == got.len()
        && want
            .zip(got)
            .all(|((k, v), (gk, gv))| k.as_str() == gk && v.as_str() == gv)
}

/// The namespaces of tenants.toml, each in a slot of its own (its place in the intent's order):
/// each object of the tree is looked up by its namespace once, in a hash map, instead of in the
/// intent's sorted map and again in maps of the tree's objects (tens of thousands of each at
/// 10,000 tenants).
struct Managed<'a, 'd> {
    /// The slot of each namespace tenants.toml defines, by name.
    slots: HashMap<&'a str, usize>,
    /// (name, intent), in the order of `Intent::namespaces`.
    order: Vec<(&'a str, &'a NamespaceIntent)>,
    /// The Namespace document of each slot, the first of its name in the tree; only when a
    /// namespace has a Pod Security level to check, else empty.
    docs: Vec<Option<&'d NamespaceDoc>>,
}

impl<'a, 'd> Managed<'a, 'd> {
    fn of(objects: &Objects<'d>, intent: &'a Intent) -> Self {
        let mut slots =
            HashMap::with_capacity_and_hasher(intent.namespaces.len(), Default::default());
        let mut order = Vec::with_capacity(intent.namespaces.len());
        for (name, ns) in &intent.namespaces {
            slots.insert(name.as_str(), order.len());
            order.push((name.as_str(), ns));
        }
        let mut docs = Vec::new();
        if order.iter().any(|(_, ns)| ns.access.pod_security.is_some()) {
            docs.resize(order.len(), None);
            for doc in objects.namespaces {
                if let Some(&slot) = slots.get(doc.origin.name.as_str()) {
                    docs[slot].get_or_insert(&**doc);
                }
            }
        }
        Self { slots, order, docs }
    }

    /// The slot of `ns` when tenants.toml defines it. `last` is the namespace asked before and
    /// its answer: a namespace's objects follow each other in the tree (they are in its file),
    /// so most are answered without hashing the name.
    fn slot<'n>(
        &self,
        ns: Option<&'n Text>,
        last: &mut Option<(&'n str, Option<usize>)>,
    ) -> Option<usize> {
        let ns = ns?.as_str();
        if let Some((name, slot)) = *last {
            if name == ns {
                return slot;
            }
        }
        let slot = self.slots.get(ns).copied();
        *last = Some((ns, slot));
        slot
    }
}

/// The tree's objects in each slot (a managed namespace, or a namespace and a level): the one
/// a tree compile wrote has in its place, and any others beside (a list per slot was an
/// allocation per namespace and kind, a hundred thousand at 10,000 tenants).
struct Slots<'d, T> {
    first: Vec<Option<&'d T>>,
    more: BTreeMap<usize, Vec<&'d T>>,
}

impl<'d, T> Slots<'d, T> {
    fn new(slots: usize) -> Self {
        Self {
            first: vec![None; slots],
            more: BTreeMap::new(),
        }
    }

    fn push(&mut self, slot: usize, doc: &'d T) {
        match &mut self.first[slot] {
            first @ None => *first = Some(doc),
            Some(_) => self.more.entry(slot).or_default().push(doc),
        }
    }

    /// The object of `slot` when it has exactly one.
    fn one(&self, slot: usize) -> Option<&'d T> {
        self.first[slot].filter(|_| !self.more.contains_key(&slot))
    }

    /// Every object of `slot`, in the tree's order.
    fn all(&self, slot: usize) -> Vec<&'d T> {
        self.first[slot]
            .into_iter()
            .chain(self.more.get(&slot).into_iter().flatten().copied())
            .collect()
    }
}

/// The index of `level` in [`AccessLevel::ALL`].
fn index(level: AccessLevel) -> usize {
    AccessLevel::ALL
        .iter()
        .position(|l| *l == level)
        .unwrap_or_default()
}

fn bindings(objects: &Objects, managed: &Managed, findings: &mut Vec<Finding>) {
    // The RoleBindings of the tree granting each level, by namespace slot and level.
    let slot = |ns: usize, level: AccessLevel| ns * AccessLevel::ALL.len() + index(level);
    let mut found: Slots<RbacDoc> = Slots::new(managed.order.len() * AccessLevel::ALL.len());
    let mut last = None;
    for doc in objects.rbac.iter().map(|d| &**d) {
        let o = std::slice::from_ref(&doc.origin);
        let ns = doc.namespace.as_deref().unwrap_or("");
        let (_, role_kind, role) = &doc.role_ref;
        match doc.kind.as_str() {
            "ClusterRoleBinding" => findings.push(violation(
                "access-cluster-binding",
                with_objects(
                    &format!(
                        "the ClusterRoleBinding {} binds the {role_kind} {role} in every namespace, the managed ones included: tenantc binds roles per namespace only, so the tree must hold no ClusterRoleBinding",
                        doc.origin.name
                    ),
                    o,
                ),
                o.to_vec(),
            )),
            "ClusterRole" | "Role" => findings.push(violation(
                "access-role",
                with_objects(
                    &format!(
                        "the tree holds the {} {}: tenantc binds only Kubernetes' ClusterRoles admin, edit and view, and never writes a role of its own",
                        doc.kind, doc.origin.name
                    ),
                    o,
                ),
                o.to_vec(),
            )),
            _ => {
                let Some(id) = managed.slot(doc.namespace.as_ref(), &mut last) else {
                    findings.push(violation(
                        "access-unknown-namespace",
                        with_objects(
                            &format!(
                                "the RoleBinding {} is in namespace {}, which tenants.toml does not define",
                                doc.origin.name,
                                if ns.is_empty() { "(none)" } else { ns }
                            ),
                            o,
                        ),
                        o.to_vec(),
                    ));
                    continue;
                };
                match level_of(doc) {
                    Some(level) => found.push(slot(id, level), doc),
                    None => findings.push(violation(
                        "access-other-binding",
                        with_objects(
                            &format!(
                                "namespace {ns} has the RoleBinding {} to the {role_kind} {role}: tenants.toml binds only tenantc-owners, tenantc-editors and tenantc-viewers to the ClusterRoles admin, edit and view",
                                doc.origin.name
                            ),
                            o,
                        ),
                        o.to_vec(),
                    )),
                }
            }
        }
    }
    for (id, &(name, ns)) in managed.order.iter().enumerate() {
        for level in AccessLevel::ALL {
            let one = found.one(slot(id, level));
            if one.is_some_and(|doc| same_subjects(&ns.access, level, &doc.subjects)) {
                continue;
            }
            let docs = found.all(slot(id, level));
            let want = wanted_subjects(&ns.access, level);
            let origins: Vec<Origin> = docs.iter().map(|d| d.origin.clone()).collect();
            if docs.len() > 1 {
                findings.push(violation(
                    "access-duplicate-binding",
                    with_objects(
                        &format!(
                            "namespace {name} has {} RoleBindings {}",
                            docs.len(),
                            level.binding()
                        ),
                        &origins,
                    ),
                    origins.clone(),
                ));
            }
            let got: BTreeSet<RbacSubject> = docs
                .iter()
                .flat_map(|d| d.subjects.iter().cloned())
                .collect();
            if docs.is_empty() && !want.is_empty() {
                findings.push(violation(
                    "access-missing-binding",
                    format!(
                        "namespace {name} has no RoleBinding {}: tenants.toml lets {} {} it",
                        level.binding(),
                        want.iter()
                            .map(describe_subject)
                            .collect::<Vec<_>>()
                            .join(", "),
                        level.verb()
                    ),
                    Vec::new(),
                ));
                continue;
            }
            for extra in got.difference(&want) {
                let mut f = violation(
                    "access-extra-subject",
                    with_objects(
                        &format!(
                            "{} may {} {name}, but tenants.toml does not say so",
                            describe_subject(extra),
                            level.verb()
                        ),
                        &origins,
                    ),
                    origins.clone(),
                );
                f.to = Some(name.to_string());
                findings.push(f);
            }
            for missing in want.difference(&got) {
                if docs.is_empty() {
                    break;
                }
                findings.push(violation(
                    "access-missing-subject",
                    with_objects(
                        &format!(
                            "{} may not {} {name}: tenants.toml lists it in `{}` but the RoleBinding does not",
                            describe_subject(missing),
                            level.verb(),
                            level.key()
                        ),
                        &origins,
                    ),
                    origins.clone(),
                ));
            }
        }
    }
}

fn pod_security(managed: &Managed, findings: &mut Vec<Finding>) {
    // The labels and the level of the namespace before, when they were right: a tenant's
    // namespaces share both (the tree's labels are shared when spelled the same).
    let mut last_right: Option<(*const LabelPairs, *const PodSecurity)> = None;
    for (slot, &(name, ns)) in managed.order.iter().enumerate() {
        let Some(ps) = &ns.access.pod_security else {
            continue;
        };
        let Some(doc) = managed.docs[slot] else {
            continue; // reported as missing-namespace
        };
        let these = (std::sync::Arc::as_ptr(&doc.labels), std::ptr::from_ref(ps));
        if last_right == Some(these) {
            continue;
        }
        let before = findings.len();
        let o = std::slice::from_ref(&doc.origin);
        for (mode, key, version_key, want) in [
            (
                "enforce",
                "pod-security.kubernetes.io/enforce",
                "pod-security.kubernetes.io/enforce-version",
                ps.level,
            ),
            (
                "warn",
                "pod-security.kubernetes.io/warn",
                "pod-security.kubernetes.io/warn-version",
                PodSecurityLevel::Restricted,
            ),
            (
                "audit",
                "pod-security.kubernetes.io/audit",
                "pod-security.kubernetes.io/audit-version",
                PodSecurityLevel::Restricted,
            ),
        ] {
            debug_assert!(
                key.strip_prefix(POD_SECURITY_PREFIX) == Some(mode)
                    && version_key.strip_prefix(key) == Some("-version")
            );
            let got = doc.labels.get(key).map(Text::as_str);
            // Without the label, Pod Security Admission applies the cluster's default: privileged
            // unless the cluster is configured otherwise.
            let got_level = got.map_or(Some(PodSecurityLevel::Privileged), PodSecurityLevel::parse);
            if got_level.is_none_or(|g| g < want) {
                findings.push(violation(
                    "pod-security-weaker",
                    with_objects(
                        &format!(
                            "the pod security {mode} level of {name} is {}, weaker than tenants.toml's {}",
                            got.map_or("unset (privileged by default)".to_owned(), |g| format!("`{g}`")),
                            want.as_str()
                        ),
                        o,
                    ),
                    o.to_vec(),
                ));
            }
            let version = doc.labels.get(version_key).map(Text::as_str);
            if version != Some(&*ps.version) {
                findings.push(violation(
                    "pod-security-version",
                    with_objects(
                        &format!(
                            "the label `{version_key}` of {name} is {}; tenants.toml pins `{}`",
                            version.map_or("unset".to_owned(), |v| format!("`{v}`")),
                            ps.version
                        ),
                        o,
                    ),
                    o.to_vec(),
                ));
            }
        }
        last_right = (findings.len() == before).then_some(these);
    }
}

/// The ResourceQuotas or LimitRanges of the tree (`kind`) against the intent's `values` (the
/// quota's `hard`, the LimitRange's `default`) and `requests` (its `defaultRequest`).
fn limits(
    managed: &Managed,
    docs: &[Box<LimitDoc>],
    kind: &str,
    values: impl for<'a> Fn(&'a AccessIntent) -> WantedQuantities<'a>,
    requests: impl for<'a> Fn(&'a AccessIntent) -> WantedQuantities<'a>,
    findings: &mut Vec<Finding>,
) {
    let mut by_id: Slots<LimitDoc> = Slots::new(managed.order.len());
    let mut unknown: BTreeMap<&str, Vec<&LimitDoc>> = BTreeMap::new();
    let mut last = None;
    for d in docs {
        match managed.slot(d.namespace.as_ref(), &mut last) {
            Some(id) => by_id.push(id, d),
            None => unknown
                .entry(d.namespace.as_deref().unwrap_or(""))
                .or_default()
                .push(d),
        }
    }
    for (ns, docs) in &unknown {
        let origins: Vec<Origin> = docs.iter().map(|d| d.origin.clone()).collect();
        findings.push(violation(
            "access-unknown-namespace",
            with_objects(
                &format!(
                    "the tree has a {kind} in namespace {ns}, which tenants.toml does not define"
                ),
                &origins,
            ),
            origins,
        ));
    }
    for (id, &(name, ns)) in managed.order.iter().enumerate() {
        let (want, want_requests) = (values(&ns.access), requests(&ns.access));
        let expected =
            want.is_some_and(|m| !m.is_empty()) || want_requests.is_some_and(|m| !m.is_empty());
        // The tree compile wrote: the one object, as tenants.toml says.
        if let Some(d) = by_id.one(id) {
            if expected
                && d.origin.name == "tenantc"
                && d.other.is_empty()
                && same_quantities(want, &d.values)
                && same_quantities(want_requests, &d.requests)
            {
                continue;
            }
        }
        let docs = by_id.all(id);
        let (want, want_requests) = (texts(want), texts(want_requests));
        for &d in &docs {
            let o = std::slice::from_ref(&d.origin);
            if !expected || d.origin.name != "tenantc" {
                findings.push(violation(
                    "access-other-limit",
                    with_objects(
                        &format!(
                            "namespace {name} has the {kind} {}, which tenants.toml does not give it",
                            d.origin.name
                        ),
                        o,
                    ),
                    o.to_vec(),
                ));
                continue;
            }
            let mut problems = Vec::new();
            let label = if kind == "ResourceQuota" {
                "hard"
            } else {
                "default"
            };
            diff_quantities(&want, &d.values, label, &mut problems);
            diff_quantities(&want_requests, &d.requests, "defaultRequest", &mut problems);
            problems.extend(d.other.iter().map(|f| format!("{f} is set")));
            if !problems.is_empty() {
                findings.push(violation(
                    "access-different-limit",
                    with_objects(
                        &format!(
                            "the {kind} of {name} differs from tenants.toml: {}",
                            problems.join("; ")
                        ),
                        o,
                    ),
                    o.to_vec(),
                ));
            }
        }
        if expected && !docs.iter().any(|d| d.origin.name == "tenantc") {
            findings.push(violation(
                "access-missing-limit",
                format!("namespace {name} has no {kind} `tenantc`, which tenants.toml gives it"),
                Vec::new(),
            ));
        }
    }
}

fn diff_quantities(
    want: &[(String, String)],
    got: &[(String, String)],
    what: &str,
    out: &mut Vec<String>,
) {
    let want: BTreeMap<&str, &str> = want.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let got: BTreeMap<&str, &str> = got.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    for (k, w) in &want {
        match got.get(k) {
            None => out.push(format!("{what} {k} is missing (tenants.toml: {w})")),
            Some(g) if g != w => out.push(format!("{what} {k} is {g} (tenants.toml: {w})")),
            _ => {}
        }
    }
    for (k, g) in &got {
        if !want.contains_key(k) {
            out.push(format!("{what} {k} is {g}, not in tenants.toml"));
        }
    }
}
