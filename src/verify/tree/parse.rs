//! Parsing one file's documents into the objects verify evaluates; documents of other kinds are
//! skipped, or reported when tenantc never generates them.

use serde::de::IgnoredAny;
use serde::Deserialize;

use super::spec::null_as_default;
use super::text::{
    shared_hosts, shared_labels, shared_quantities, shared_rules, shared_selector,
    shared_service_entry_spec, shared_subjects,
};
use super::{
    AuthzPolicy, AuthzRule, GitOpsDoc, GitOpsFile, LabelPairs, LimitDoc, NamespaceDoc, Origin,
    PeerAuth, Policy, PortValue, RbacDoc, RbacSubject, Rule, Selector, ServiceEntry,
    ServiceEntrySpec, Sidecar, Text, Tree, TreeError,
};
use crate::verify::{tree::yaml, Finding, Severity};

/// A document as serde reads it: the fields of every kind verify reads, all optional, so that
/// one lenient struct reads them all.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDoc {
    api_version: Option<Text>,
    kind: Option<Text>,
    #[serde(default, deserialize_with = "null_as_default")]
    metadata: RawMeta,
    #[serde(default, deserialize_with = "null_as_default")]
    spec: RawSpec,
    // RBAC: typed, each string interned (a tree repeats its subjects in every namespace of a
    // tenant, and some in every namespace)
    role_ref: Option<RawRoleRef>,
    subjects: Option<Vec<RawSubject>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRoleRef {
    api_group: Option<Scalar>,
    kind: Option<Scalar>,
    name: Option<Scalar>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSubject {
    kind: Option<Scalar>,
    name: Option<Scalar>,
    namespace: Option<Scalar>,
    api_group: Option<Scalar>,
}

/// A scalar as text: a string as written (interned), a number or boolean as JSON prints it
/// (`pods: 200` is the quantity `200`); a sequence or mapping is named, never an error, so that
/// what a hand edit put there is reported as a difference.
#[derive(Debug, Default)]
struct Scalar(Text);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a scalar")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(Text::interned(v)))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(Text::interned(if v { "true" } else { "false" })))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(Text::interned(&v.to_string())))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(Text::interned(&v.to_string())))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(Text::interned(
                    &serde_json::Value::from(v).to_string(),
                )))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar(Text::interned("null")))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Scalar, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar(Text::interned("(a sequence)")))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Scalar, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar(Text::interned("(a mapping)")))
            }
        }
        d.deserialize_any(V)
    }
}

/// A map of quantities (`spec.hard`), as text, sorted by key.
#[derive(Debug, Default)]
struct Quantities(Vec<(String, String)>);

impl<'de> Deserialize<'de> for Quantities {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Quantities;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of quantities")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Quantities, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = a.next_entry::<Scalar, Scalar>()? {
                    out.push((k.0.to_string(), v.0.to_string()));
                }
                out.sort();
                Ok(Quantities(out))
            }
            // Anything else holds no quantity, as before: the quota then differs.
            fn visit_unit<E: serde::de::Error>(self) -> Result<Quantities, E> {
                Ok(Quantities::default())
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Quantities, E> {
                Ok(Quantities::default())
            }
            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Quantities, E> {
                Ok(Quantities::default())
            }
            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Quantities, E> {
                Ok(Quantities::default())
            }
            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Quantities, E> {
                Ok(Quantities::default())
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Quantities, E> {
                Ok(Quantities::default())
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Quantities, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Quantities::default())
            }
        }
        d.deserialize_any(V)
    }
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
    location: Option<Text>,
    endpoints: Option<IgnoredAny>,
    subject_alt_names: Option<Vec<Text>>,
    // AuthorizationPolicy
    action: Option<Text>,
    rules: Option<Vec<AuthzRule>>,
    selector: Option<IgnoredAny>,
    target_ref: Option<IgnoredAny>,
    target_refs: Option<IgnoredAny>,
    // PeerAuthentication
    mtls: Option<RawMtls>,
    port_level_mtls: Option<IgnoredAny>,
    // ResourceQuota and LimitRange
    hard: Option<Quantities>,
    limits: Option<serde_json::Value>,
    scopes: Option<IgnoredAny>,
    scope_selector: Option<IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
struct RawMtls {
    mode: Option<Text>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawServicePort {
    number: Option<PortValue>,
    protocol: Option<Text>,
    target_port: Option<PortValue>,
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

const KINDS: [&str; 12] = [
    "NetworkPolicy",
    "Sidecar",
    "Namespace",
    "ServiceEntry",
    "AuthorizationPolicy",
    "PeerAuthentication",
    "RoleBinding",
    "Role",
    "ClusterRole",
    "ClusterRoleBinding",
    "ResourceQuota",
    "LimitRange",
];

/// A scalar of a quantity map as text (`8`, `"8"` and `8.0` as written), anything else named.
fn scalar_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// The entries of a map of quantities, as text, sorted.
fn quantities_of(v: Option<&serde_json::Value>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = v
        .and_then(|v| v.as_object())
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), scalar_text(v)))
        .collect();
    out.sort();
    out
}

fn rbac_doc(
    kind: &str,
    role_ref: Option<RawRoleRef>,
    subjects: Option<Vec<RawSubject>>,
    namespace: Option<Text>,
    origin: Origin,
) -> RbacDoc {
    let r = role_ref.unwrap_or_default();
    let text = |s: Option<Scalar>| s.map(|s| s.0).unwrap_or_default();
    let subjects = subjects
        .into_iter()
        .flatten()
        .map(|s| RbacSubject {
            kind: text(s.kind),
            name: text(s.name),
            namespace: s.namespace.map(|s| s.0),
            api_group: s.api_group.map(|s| s.0),
        })
        .collect();
    RbacDoc {
        origin,
        kind: Text::interned(kind),
        namespace,
        role_ref: (text(r.api_group), text(r.kind), text(r.name)),
        subjects: shared_subjects(subjects),
    }
}

fn limit_range_doc(
    limits: Option<serde_json::Value>,
    namespace: Option<Text>,
    origin: Origin,
) -> LimitDoc {
    let mut other = Vec::new();
    let mut values = Vec::new();
    let mut requests = Vec::new();
    let items = limits.as_ref().and_then(|l| l.as_array());
    for (i, item) in items.into_iter().flatten().enumerate() {
        let Some(map) = item.as_object() else {
            other.push(format!("spec.limits[{i}]"));
            continue;
        };
        if item["type"].as_str() != Some("Container") || values.len() + requests.len() > 0 {
            other.push(format!(
                "spec.limits[{i}] of type {}",
                item["type"].as_str().unwrap_or("?")
            ));
            continue;
        }
        values = quantities_of(map.get("default"));
        requests = quantities_of(map.get("defaultRequest"));
        for key in map.keys() {
            if !matches!(key.as_str(), "type" | "default" | "defaultRequest") {
                other.push(format!("spec.limits[{i}].{key}"));
            }
        }
    }
    LimitDoc {
        origin,
        namespace,
        values: shared_quantities(values),
        requests: shared_quantities(requests),
        other,
    }
}

/// Parses one file's documents into `tree`. A document of another kind (a Deployment, a
/// kustomization) is skipped, even when its fields would not fit the lenient struct.
pub fn parse_file(text: &str, file: &str, tree: &mut Tree) -> Result<(), TreeError> {
    parse_file_in(text, file, None, tree)
}

/// [`parse_file`] for a file in the directory of namespace `dir` (see `read`), whose every
/// object must be in that namespace.
pub(super) fn parse_file_in(
    text: &str,
    file: &str,
    dir: Option<&str>,
    tree: &mut Tree,
) -> Result<(), TreeError> {
    tree.files += 1;
    let shared: std::sync::Arc<str> = file.into();
    if let Some(docs) = yaml::parse(text) {
        let has_gitops = docs
            .iter()
            .any(|d| gitops_kind(d.get("apiVersion"), d.get("kind")).is_some());
        let typed: Result<Vec<Option<RawDoc>>, _> = docs
            .into_iter()
            .map(Option::<RawDoc>::deserialize)
            .collect();
        if let Ok(typed) = typed {
            for raw in typed.into_iter().flatten() {
                tree.documents += 1;
                check_directory(&raw, dir, &shared, tree);
                add_doc(raw, &shared, tree);
            }
            // Noted here, once: on a type error the full parser below reads the file again.
            if has_gitops {
                keep_gitops_file(&shared, tree);
            }
            return Ok(());
        }
        // A type error: the full parser below reports it with its line and column.
    }
    // The full parser. Its document iterator repeats a syntax error forever, so first find how
    // many documents parse and of which kind each is.
    let mut kinds: Vec<String> = Vec::new();
    let mut has_gitops = false;
    for doc in serde_yaml::Deserializer::from_str(text) {
        match serde_yaml::Value::deserialize(doc) {
            Ok(v) => kinds.push({
                let str_of = |k: &str| v.get(k).and_then(|x| x.as_str());
                has_gitops |= gitops_kind(str_of("apiVersion"), str_of("kind")).is_some();
                v.get("kind")
                    .and_then(|k| k.as_str())
                    .unwrap_or_default()
                    .to_owned()
            }),
            Err(syntax) => return Err(parse_error(file, &syntax)),
        }
    }
    if has_gitops {
        keep_gitops_file(&shared, tree);
    }
    for (doc, kind) in serde_yaml::Deserializer::from_str(text).zip(&kinds) {
        match Option::<RawDoc>::deserialize(doc) {
            Ok(Some(raw)) => {
                tree.documents += 1;
                check_directory(&raw, dir, &shared, tree);
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

/// An object in a namespace's directory is applied with it (one Argo CD Application or Flux
/// Kustomization per tenant, reviewed as that tenant's change), so it must be that namespace's:
/// a PeerAuthentication of the mesh's root namespace, or a policy of another tenant's
/// namespace, placed there would change what other namespaces receive. kustomize keeps
/// `metadata.namespace` as written (a kustomization's `namespace:` is refused, see
/// [`super::kustomize`]), so the cluster receives what the file says.
fn check_directory(raw: &RawDoc, dir: Option<&str>, file: &std::sync::Arc<str>, tree: &mut Tree) {
    let (Some(dir), Some(kind)) = (dir, raw.kind.as_deref()) else {
        return;
    };
    let api = raw.api_version.as_deref().unwrap_or_default();
    if OWN_KINDS
        .iter()
        .any(|(prefix, k)| *k == kind && api.starts_with(prefix))
    {
        return;
    }
    let name = raw.metadata.name.as_deref().unwrap_or("(unnamed)");
    let (in_place, what) = if kind == "Namespace" {
        (name == dir, format!("the Namespace {name}"))
    } else {
        let ns = raw.metadata.namespace.as_deref();
        (
            ns == Some(dir),
            match ns {
                Some(ns) => format!("{kind} {name} of namespace {ns}"),
                None => format!("{kind} {name} without metadata.namespace"),
            },
        )
    };
    if in_place {
        return;
    }
    tree.audit.push(Finding {
        severity: Severity::Violation,
        check: "namespace-outside-directory",
        message: format!(
            "{file} is in the directory of namespace {dir} but holds {what}: every object of a namespace's directory must be in that namespace, or it changes another namespace (or the whole mesh) under this one's name"
        ),
        from: Some(dir.to_owned()),
        to: None,
        ports: Vec::new(),
        objects: vec![Origin {
            file: file.clone(),
            kind: "other",
            name: format!("{kind} {name}").into(),
        }],
    });
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
                pod_selector: shared_selector(raw.spec.pod_selector.unwrap_or_default()),
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
                has_ingress_rules: raw.spec.ingress.as_ref().is_some_and(|r| !r.is_empty()),
                has_egress_rules: raw.spec.egress.as_ref().is_some_and(|r| !r.is_empty()),
                ingress: raw.spec.ingress.map(shared_rules),
                egress: raw.spec.egress.map(shared_rules),
                protection: raw.metadata.annotations.protection(),
            }));
        }
        "Sidecar" if api.starts_with("networking.istio.io/") => {
            let hosts: Vec<Text> = raw
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
                hosts: shared_hosts(hosts),
                outbound_mode: raw.spec.outbound_traffic_policy.and_then(|o| o.mode),
            }));
        }
        "ServiceEntry" if api.starts_with("networking.istio.io/") => {
            let number = |p: &Option<PortValue>| match p {
                Some(PortValue::Number(n)) => Some(*n),
                // A name or a quoted number: the API server would refuse the first.
                Some(PortValue::Name(t)) => Some(t.parse::<i64>().unwrap_or(-1)),
                None => None,
            };
            let raw_ports = raw.spec.ports.unwrap_or_default();
            let spec = ServiceEntrySpec {
                hosts: raw.spec.hosts.unwrap_or_default(),
                addresses: raw.spec.addresses.unwrap_or_default(),
                ports: raw_ports
                    .iter()
                    .filter_map(|p| match p.number {
                        Some(PortValue::Number(n)) => Some(n),
                        _ => None,
                    })
                    .collect(),
                port_specs: raw_ports
                    .iter()
                    .map(|p| {
                        (
                            number(&p.number).unwrap_or(-1),
                            p.protocol.clone(),
                            number(&p.target_port),
                        )
                    })
                    .collect(),
                export_to: raw.spec.export_to,
                resolution: raw.spec.resolution,
                location: raw.spec.location,
                has_endpoints: raw.spec.endpoints.is_some(),
                has_workload_selector: raw.spec.workload_selector.is_some(),
                subject_alt_names: raw.spec.subject_alt_names.unwrap_or_default(),
            };
            tree.service_entries.push(Box::new(ServiceEntry {
                origin: origin("ServiceEntry"),
                namespace: raw.metadata.namespace,
                spec: shared_service_entry_spec(spec),
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
        "RoleBinding" | "Role" | "ClusterRole" | "ClusterRoleBinding"
            if api.starts_with("rbac.authorization.k8s.io/") =>
        {
            let kind: &'static str = match kind.as_str() {
                "RoleBinding" => "RoleBinding",
                "Role" => "Role",
                "ClusterRole" => "ClusterRole",
                _ => "ClusterRoleBinding",
            };
            let origin = origin(kind);
            let doc = rbac_doc(
                kind,
                raw.role_ref,
                raw.subjects,
                raw.metadata.namespace,
                origin,
            );
            tree.rbac.push(Box::new(doc));
        }
        "ResourceQuota" if api == "v1" => {
            let mut other = Vec::new();
            if raw.spec.scopes.is_some() {
                other.push("spec.scopes".to_owned());
            }
            if raw.spec.scope_selector.is_some() {
                other.push("spec.scopeSelector".to_owned());
            }
            let doc = LimitDoc {
                origin: origin("ResourceQuota"),
                values: shared_quantities(raw.spec.hard.unwrap_or_default().0),
                requests: shared_quantities(Vec::new()),
                namespace: raw.metadata.namespace,
                other,
            };
            tree.quotas.push(Box::new(doc));
        }
        "LimitRange" if api == "v1" => {
            let origin = origin("LimitRange");
            let doc = limit_range_doc(raw.spec.limits, raw.metadata.namespace, origin);
            tree.limit_ranges.push(Box::new(doc));
        }
        "Namespace" if api == "v1" => {
            tree.namespaces.push(Box::new(NamespaceDoc {
                origin: origin("Namespace"),
                labels: shared_labels(raw.metadata.labels),
                annotations: shared_labels(raw.metadata.annotations),
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

/// The GitOps kind of a document with this `apiVersion` and `kind`, if it is one.
fn gitops_kind(api: Option<&str>, kind: Option<&str>) -> Option<&'static str> {
    let (api, kind) = (api?, kind?);
    OWN_KINDS[1..]
        .iter()
        .find(|(prefix, k)| *k == kind && api.starts_with(prefix))
        .map(|(_, k)| *k)
}

/// Notes a file with GitOps objects: the GitOps layer reads their objects whole, one file at a
/// time ([`gitops_docs`]), so the tree holds neither them (as JSON values they were twice the
/// memory of the rest of a 10,000-tenant tree) nor their text.
fn keep_gitops_file(file: &std::sync::Arc<str>, tree: &mut Tree) {
    tree.gitops.push(GitOpsFile { file: file.clone() });
}

/// The GitOps objects of `file`, whole, with their origin, read from disk again. A file that
/// cannot be read again yields none: its units are then reported without their objects.
pub fn gitops_docs(file: &GitOpsFile) -> Vec<GitOpsDoc> {
    let Ok(text) = std::fs::read_to_string(&*file.file) else {
        return Vec::new();
    };
    let mut values: Vec<serde_json::Value> = Vec::new();
    match yaml::parse(&text) {
        Some(docs) => {
            for d in docs {
                if gitops_kind(d.get("apiVersion"), d.get("kind")).is_some() {
                    values.extend(serde_json::Value::deserialize(d).ok());
                }
            }
        }
        None => {
            for d in serde_yaml::Deserializer::from_str(&text) {
                let Ok(v) = serde_yaml::Value::deserialize(d) else {
                    break;
                };
                let str_of = |k: &str| v.get(k).and_then(|x| x.as_str());
                if gitops_kind(str_of("apiVersion"), str_of("kind")).is_some() {
                    values.extend(serde_json::to_value(&v).ok());
                }
            }
        }
    }
    values
        .into_iter()
        .filter_map(|value| {
            let kind = gitops_kind(value["apiVersion"].as_str(), value["kind"].as_str())?;
            let name = value["metadata"]["name"]
                .as_str()
                .unwrap_or("(unnamed)")
                .into();
            Some(GitOpsDoc {
                origin: Origin {
                    file: file.file.clone(),
                    kind,
                    name,
                },
                value,
            })
        })
        .collect()
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
    tree.audit.push(Finding {
        severity: Severity::Violation,
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
    fn a_file_with_gitops_objects_is_noted_once_when_the_full_parser_reads_it_again() {
        // The Deployment's `spec.egress` does not fit the lenient struct: the fast reader's typed
        // pass fails and the full parser reads the file again.
        let text = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  egress: 3\n";
        let mut tree = Tree::default();
        parse_file(text, "f.yaml", &mut tree).unwrap();
        assert_eq!(tree.gitops.len(), 1);
    }

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
    fn equal_service_entry_specs_are_shared() {
        let se = |ns: &str, host: &str| {
            format!("apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {{name: e, namespace: {ns}}}\nspec:\n  hosts: [{host}]\n  ports: [{{number: 443}}]\n  exportTo: [\".\"]\n")
        };
        let text = [se("a", "x.com"), se("b", "x.com"), se("c", "y.com")].join("---\n");
        let mut tree = Tree::default();
        parse_file(&text, "f.yaml", &mut tree).unwrap();
        let [a, b, c] = &tree.service_entries[..] else {
            panic!("{:?}", tree.service_entries)
        };
        assert!(std::sync::Arc::ptr_eq(&a.spec, &b.spec));
        assert!(!std::sync::Arc::ptr_eq(&a.spec, &c.spec));
        assert_eq!(c.spec.hosts, ["y.com"]);
        assert_eq!(
            (a.spec.ports.as_slice(), b.namespace.as_deref()),
            (&[443][..], Some("b"))
        );
    }

    #[test]
    fn equal_labels_and_sidecar_hosts_are_shared() {
        let ns = |name: &str, tenant: &str| {
            format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  labels: {{t: {tenant}}}\n  annotations: {{o: x}}\n---\napiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {{name: default, namespace: {name}}}\nspec:\n  egress:\n  - hosts: [\"{tenant}/*\"]\n")
        };
        let text = [ns("a", "t1"), ns("b", "t1"), ns("c", "t2")].join("---\n");
        let mut tree = Tree::default();
        parse_file(&text, "f.yaml", &mut tree).unwrap();
        let (n, s) = (&tree.namespaces, &tree.sidecars);
        assert!(std::sync::Arc::ptr_eq(&n[0].labels, &n[1].labels));
        assert!(!std::sync::Arc::ptr_eq(&n[0].labels, &n[2].labels));
        assert!(std::sync::Arc::ptr_eq(&n[0].annotations, &n[2].annotations));
        assert_eq!(n[2].labels.get("t").map(Text::as_str), Some("t2"));
        assert!(std::sync::Arc::ptr_eq(&s[0].hosts, &s[1].hosts));
        assert_eq!(&*s[2].hosts, ["t2/*"]);
    }

    /// A million of these are held at once on a large tree: keep them in the allocator's
    /// 128-byte size class.
    #[test]
    fn a_policy_takes_at_most_128_bytes() {
        assert!(std::mem::size_of::<Policy>() <= 128);
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
