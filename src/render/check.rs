//! The parse-back checks: every rendered document is read again and must be what its slot
//! produces (apiVersion, kind, name, namespace); a user's documents are also checked against the
//! strict schemas of their kinds.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::gitops::{ARGOCD_API, FLUX_KUSTOMIZE_API, FLUX_SOURCE_API};
use super::Part;
use crate::model::NamespaceName;

#[derive(Deserialize)]
struct Head {
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
    kind: Option<String>,
    metadata: Option<Meta>,
}

#[derive(Deserialize)]
struct Meta {
    name: Option<String>,
    namespace: Option<String>,
}

/// Checks that `text` holds exactly the documents its slot must produce; returns them when `keep`
/// is set. Without `keep`, each document is still parsed in full (so invalid YAML anywhere in it
/// fails), but only into its head: building a whole `Value` tree was most of the render time.
pub(super) fn check_documents(
    text: &str,
    slot: Part,
    ns: &str,
    keep: bool,
) -> Result<Vec<serde_yaml::Value>, String> {
    if !keep {
        let heads: Result<Vec<Option<Head>>, _> = serde_yaml::Deserializer::from_str(text)
            .map(Option::<Head>::deserialize)
            .collect();
        return match heads {
            Ok(heads) => {
                check_heads(heads.into_iter().flatten().collect(), slot, ns).map(|()| Vec::new())
            }
            // Rare: the whole-value path below words the error best.
            Err(_) => check_documents(text, slot, ns, true),
        };
    }
    let mut heads = Vec::new();
    let mut docs = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let value = serde_yaml::Value::deserialize(doc)
            .map_err(|e| format!("rendered invalid YAML: {e}"))?;
        if value.is_null() {
            continue; // an empty document, e.g. after a trailing `---`
        }
        let head = Head::deserialize(&value)
            .map_err(|e| format!("rendered a document that is not a Kubernetes object: {e}"))?;
        heads.push(head);
        docs.push(value);
    }
    check_heads(heads, slot, ns)?;
    Ok(docs)
}

fn check_heads(heads: Vec<Head>, slot: Part, ns: &str) -> Result<(), String> {
    let (api, kind, want_ns, count) = match slot {
        Part::Namespace => ("v1", "Namespace", None, Some(1)),
        Part::NetworkPolicies => ("networking.k8s.io/v1", "NetworkPolicy", Some(ns), None),
        Part::Sidecar => ("networking.istio.io/v1", "Sidecar", Some(ns), Some(1)),
        Part::ServiceEntries => ("networking.istio.io/v1", "ServiceEntry", Some(ns), None),
        Part::AuthorizationPolicies => (
            "security.istio.io/v1",
            "AuthorizationPolicy",
            Some(ns),
            None,
        ),
        Part::PeerAuthentication => (
            "security.istio.io/v1",
            "PeerAuthentication",
            Some(ns),
            Some(1),
        ),
        Part::RoleBindings => (
            "rbac.authorization.k8s.io/v1",
            "RoleBinding",
            Some(ns),
            None,
        ),
        Part::ResourceQuota => ("v1", "ResourceQuota", Some(ns), Some(1)),
        Part::LimitRange => ("v1", "LimitRange", Some(ns), Some(1)),
    };
    if let Some(n) = count {
        if heads.len() != n {
            return Err(format!(
                "must render exactly {n} {kind} document, rendered {}",
                heads.len()
            ));
        }
    } else if heads.is_empty() {
        return Err(format!(
            "rendered no {kind}: at least a default deny is expected"
        ));
    }
    let mut names = BTreeSet::new();
    for h in &heads {
        let got_kind = h.kind.as_deref().unwrap_or("<none>");
        let got_api = h.api_version.as_deref().unwrap_or("<none>");
        if got_kind != kind || got_api != api {
            return Err(format!(
                "rendered `{got_api}` `{got_kind}` where `{api}` `{kind}` belongs"
            ));
        }
        let meta = h
            .metadata
            .as_ref()
            .ok_or_else(|| format!("rendered a {kind} without metadata"))?;
        let name = meta.name.as_deref().unwrap_or("");
        let want_name = match slot {
            Part::Namespace => Some(ns),
            Part::Sidecar | Part::PeerAuthentication => Some("default"),
            Part::ResourceQuota | Part::LimitRange => Some("tenantc"),
            Part::NetworkPolicies | Part::ServiceEntries | Part::AuthorizationPolicies => None,
            Part::RoleBindings => {
                if !matches!(
                    name,
                    "tenantc-owners" | "tenantc-editors" | "tenantc-viewers"
                ) {
                    return Err(format!(
                        "rendered a RoleBinding named `{name}`; this slot's are `tenantc-owners`, `tenantc-editors` and `tenantc-viewers`"
                    ));
                }
                None
            }
        };
        if let Some(want) = want_name {
            if name != want {
                return Err(format!(
                    "rendered a {kind} named `{name}`; this slot's must be named `{want}`"
                ));
            }
        } else if NamespaceName::new(name).is_err() && !is_dns_subdomain(name) {
            return Err(format!("rendered a {kind} with the invalid name `{name}`"));
        }
        if meta.namespace.as_deref() != want_ns {
            return Err(match want_ns {
                Some(w) => format!(
                    "rendered {kind} `{name}` in namespace `{}`; it must be in `{w}`",
                    meta.namespace.as_deref().unwrap_or("<none>")
                ),
                None => format!("rendered a {kind} with metadata.namespace; a Namespace has none"),
            });
        }
        if !names.insert(name.to_owned()) {
            return Err(format!("rendered two {kind} objects named `{name}`"));
        }
    }
    Ok(())
}

/// The strict schemas of the kinds tenantc emits: Kubernetes 1.32's Namespace and NetworkPolicy,
/// Istio's Sidecar CRD, with unknown fields rejected as `kubectl apply --validate=strict` would.
struct KubeSchemas {
    namespace: jsonschema::Validator,
    networkpolicy: jsonschema::Validator,
    sidecar: jsonschema::Validator,
    serviceentry: jsonschema::Validator,
    authorizationpolicy: jsonschema::Validator,
    peerauthentication: jsonschema::Validator,
    rolebinding: jsonschema::Validator,
    resourcequota: jsonschema::Validator,
    limitrange: jsonschema::Validator,
}

fn kube_schemas() -> Result<&'static KubeSchemas, String> {
    static SCHEMAS: std::sync::OnceLock<Result<KubeSchemas, String>> = std::sync::OnceLock::new();
    let compile = |text: &str| -> Result<jsonschema::Validator, String> {
        let schema: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        jsonschema::validator_for(&schema).map_err(|e| e.to_string())
    };
    SCHEMAS
        .get_or_init(|| {
            Ok(KubeSchemas {
                namespace: compile(include_str!("../../tests/data/schemas/namespace-v1.json"))?,
                networkpolicy: compile(include_str!(
                    "../../tests/data/schemas/networkpolicy-networking.k8s.io-v1.json"
                ))?,
                sidecar: compile(include_str!(
                    "../../tests/data/schemas/sidecar-networking.istio.io-v1.json"
                ))?,
                serviceentry: compile(include_str!(
                    "../../tests/data/schemas/serviceentry-networking.istio.io-v1.json"
                ))?,
                authorizationpolicy: compile(include_str!(
                    "../../tests/data/schemas/authorizationpolicy-security.istio.io-v1.json"
                ))?,
                peerauthentication: compile(include_str!(
                    "../../tests/data/schemas/peerauthentication-security.istio.io-v1.json"
                ))?,
                rolebinding: compile(include_str!(
                    "../../tests/data/schemas/rolebinding-rbac.authorization.k8s.io-v1.json"
                ))?,
                resourcequota: compile(include_str!(
                    "../../tests/data/schemas/resourcequota-v1.json"
                ))?,
                limitrange: compile(include_str!("../../tests/data/schemas/limitrange-v1.json"))?,
            })
        })
        .as_ref()
        .map_err(|e| format!("the built-in schemas do not compile: {e}"))
}

/// Checks a document a user template rendered against the strict schema of its kind.
pub(super) fn check_schema(doc: &serde_yaml::Value, slot: Part) -> Result<(), String> {
    let schemas = kube_schemas()?;
    let validator = match slot {
        Part::Namespace => &schemas.namespace,
        Part::NetworkPolicies => &schemas.networkpolicy,
        Part::Sidecar => &schemas.sidecar,
        Part::ServiceEntries => &schemas.serviceentry,
        Part::AuthorizationPolicies => &schemas.authorizationpolicy,
        Part::PeerAuthentication => &schemas.peerauthentication,
        Part::RoleBindings => &schemas.rolebinding,
        Part::ResourceQuota => &schemas.resourcequota,
        Part::LimitRange => &schemas.limitrange,
    };
    let json = serde_json::to_value(doc)
        .map_err(|e| format!("rendered a document JSON cannot hold: {e}"))?;
    let errors = schema_errors(validator, &json);
    if errors.is_empty() {
        Ok(())
    } else {
        let name = json["metadata"]["name"].as_str().unwrap_or("?");
        Err(format!(
            "rendered `{name}`, which Kubernetes would reject: {}",
            errors.join("; ")
        ))
    }
}

/// The openAPIV3Schema of a CRD (as vendored in tests/data/schemas), made strict the way
/// `kubectl apply --validate=strict` treats the object: an unknown field is an error wherever the
/// schema lists the fields and does not preserve unknown ones; `metadata` is Kubernetes' strict
/// ObjectMeta, and `apiVersion` and `kind` must be the CRD's.
pub fn strict_crd_schema(
    openapi: &serde_json::Value,
    api_version: &str,
    kind: &str,
) -> serde_json::Value {
    fn strict(node: &mut serde_json::Value) {
        match node {
            serde_json::Value::Object(map) => {
                let preserve = map.get("x-kubernetes-preserve-unknown-fields")
                    == Some(&serde_json::Value::Bool(true));
                if map.contains_key("properties")
                    && !map.contains_key("additionalProperties")
                    && !preserve
                {
                    map.insert("additionalProperties".into(), false.into());
                }
                map.values_mut().for_each(strict);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strict),
            _ => {}
        }
    }
    static META: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    let meta = META.get_or_init(|| {
        serde_json::from_str::<serde_json::Value>(include_str!(
            "../../tests/data/schemas/namespace-v1.json"
        ))
        .map(|ns| ns["properties"]["metadata"].clone())
        .unwrap_or_default()
    });
    let mut schema = openapi.clone();
    strict(&mut schema);
    schema["properties"]["metadata"] = meta.clone();
    schema["properties"]["apiVersion"] =
        serde_json::json!({ "type": "string", "const": api_version });
    schema["properties"]["kind"] = serde_json::json!({ "type": "string", "const": kind });
    schema["required"] = serde_json::json!(["apiVersion", "kind", "metadata", "spec"]);
    schema
}

/// The strict schemas of the GitOps kinds, by kind.
fn crd_schemas() -> Result<&'static BTreeMap<&'static str, jsonschema::Validator>, String> {
    static SCHEMAS: std::sync::OnceLock<
        Result<BTreeMap<&'static str, jsonschema::Validator>, String>,
    > = std::sync::OnceLock::new();
    SCHEMAS
        .get_or_init(|| {
            let crds = [
                (
                    ARGOCD_API,
                    "AppProject",
                    include_str!("../../tests/data/schemas/appproject-argoproj.io-v1alpha1.json"),
                ),
                (
                    ARGOCD_API,
                    "Application",
                    include_str!("../../tests/data/schemas/application-argoproj.io-v1alpha1.json"),
                ),
                (
                    FLUX_KUSTOMIZE_API,
                    "Kustomization",
                    include_str!(
                        "../../tests/data/schemas/kustomization-kustomize.toolkit.fluxcd.io-v1.json"
                    ),
                ),
                (
                    FLUX_SOURCE_API,
                    "GitRepository",
                    include_str!(
                        "../../tests/data/schemas/gitrepository-source.toolkit.fluxcd.io-v1.json"
                    ),
                ),
            ];
            let mut out = BTreeMap::new();
            for (api, kind, text) in crds {
                let openapi: serde_json::Value =
                    serde_json::from_str(text).map_err(|e| e.to_string())?;
                let schema = strict_crd_schema(&openapi, api, kind);
                out.insert(
                    kind,
                    jsonschema::validator_for(&schema).map_err(|e| e.to_string())?,
                );
            }
            Ok(out)
        })
        .as_ref()
        .map_err(|e| format!("the built-in CRD schemas do not compile: {e}"))
}

/// The first few ways `doc` breaks the schema, each with the JSON pointer where it does.
pub(super) fn schema_errors(
    validator: &jsonschema::Validator,
    doc: &serde_json::Value,
) -> Vec<String> {
    validator
        .iter_errors(doc)
        .take(5)
        .map(|e| {
            let at = e.instance_path.to_string();
            format!("{} {e}", if at.is_empty() { "/" } else { at.as_str() })
        })
        .collect()
}

/// Checks a GitOps document a user template rendered against the strict schema of its CRD.
pub(super) fn check_crd_schema(doc: &serde_json::Value) -> Result<(), String> {
    let kind = doc["kind"].as_str().unwrap_or_default();
    let Some(validator) = crd_schemas()?.get(kind) else {
        return Err(format!("rendered the unexpected kind `{kind}`"));
    };
    let errors = schema_errors(validator, doc);
    if errors.is_empty() {
        Ok(())
    } else {
        let name = doc["metadata"]["name"].as_str().unwrap_or("?");
        Err(format!(
            "rendered {kind} `{name}`, which Kubernetes would reject: {}",
            errors.join("; ")
        ))
    }
}

fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(|p| NamespaceName::new(p).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_checks() {
        for keep in [false, true] {
            let check = |text: &str, slot, name| check_documents(text, slot, name, keep);
            let ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: acme\n";
            assert!(check(ns, Part::Namespace, "acme").is_ok());
            assert_eq!(
                check(ns, Part::Namespace, "acme").unwrap().len(),
                usize::from(keep)
            );
            assert!(check(ns, Part::Namespace, "other")
                .unwrap_err()
                .contains("named `acme`"));
            assert!(check(ns, Part::Sidecar, "acme")
                .unwrap_err()
                .contains("where"));
            assert!(check("a: [", Part::Namespace, "acme")
                .unwrap_err()
                .contains("invalid YAML"));
            let two = format!("{ns}---\n{ns}");
            assert!(check(&two, Part::Namespace, "acme")
                .unwrap_err()
                .contains("exactly 1"));
            // An empty document (a trailing `---`) is skipped; a broken one later in the text fails.
            assert!(check(&format!("{ns}---\n"), Part::Namespace, "acme").is_ok());
            let broken = format!("{ns}spec: {{a: [}}\n");
            assert!(check(&broken, Part::Namespace, "acme")
                .unwrap_err()
                .contains("invalid YAML"));
        }
    }
}
