//! Flux's confinement of a tenant's or shared entry's Kustomization. Flux has no AppProject: what
//! bounds a Kustomization is the account it applies as. With `spec.serviceAccountName: X`,
//! kustomize-controller applies and prunes as `system:serviceaccount:<its namespace>:X`
//! (<https://fluxcd.io/flux/components/kustomize/kustomizations/#service-account-reference>), so
//! each unit gets an account whose Kubernetes RBAC rights are exactly what its directory needs:
//!
//! - in each of its namespaces, the RoleBinding `tenantc-flux` to the ClusterRole
//!   `tenantc-flux-<unit>`: `get`, `create`, `patch` (server-side apply) and `delete` (prune) of
//!   the namespaced kinds its directory holds, and `bind` of the ClusterRoles its own RoleBindings
//!   name (RBAC's escalation check: binding `admin` needs `bind` on it, or every right in it);
//! - cluster-wide, through the ClusterRoleBinding `tenantc-flux-<unit>-namespaces`: `get` and
//!   `patch` of its own Namespaces, by name, and `list` and `watch` of Namespaces (Flux waits for
//!   the Namespaces it applied before the rest, and kstatus's caching reader lists the kind).
//!
//! A RoleBinding can only be created in a namespace that exists, and the unit's Kustomization can
//! apply nothing in a namespace before its binding is there. So the group's Kustomization (the
//! platform layer: it runs with the controller's own rights, and verify holds everything under
//! `gitops/` to exactly what tenantc writes) creates each Namespace first, as a stub it never
//! updates (`kustomize.toolkit.fluxcd.io/ssa: IfNotPresent`) nor prunes, then the account and
//! the bindings, then the unit's Kustomization, which applies the Namespace's labels like any
//! other field (same field manager: the stub's fields become the unit's). The account never
//! creates a Namespace, so no rule needs `create` on namespaces, which RBAC cannot limit by name
//! for a plain create.
//!
//! Both `render` (which writes these objects after each unit's Kustomization) and `verify`
//! (which requires them, whole, where tenantc writes them) take them from here.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::intent::{GitOpsIntent, GitOpsUnit};
use crate::model::GitOpsTool;

/// The RoleBinding, in each namespace of a unit, that gives the unit's Flux account the rights
/// its directory needs there.
pub const FLUX_BINDING: &str = "tenantc-flux";
/// Flux's apply policy of one object: `IfNotPresent` creates it when it is missing and never
/// touches it afterwards.
pub const FLUX_SSA_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/ssa";
/// Flux's prune policy of one object: `disabled` keeps it when it leaves its Kustomization.
pub const FLUX_PRUNE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/prune";
const RBAC_API: &str = "rbac.authorization.k8s.io";
/// What Flux does to the objects of a unit's directory: server-side apply (`patch`, and `create`
/// for an object that does not exist yet), `get` to compare, `delete` to prune.
const OBJECT_VERBS: [&str; 4] = ["create", "delete", "get", "patch"];

/// Whether `unit` applies as an account of its own: tenants and shared entries under Flux.
pub fn has_account(gitops: &GitOpsIntent, unit: &GitOpsUnit) -> bool {
    gitops.settings.tool == GitOpsTool::Flux && matches!(unit.role.as_str(), "tenant" | "shared")
}

/// The ServiceAccount `unit`'s Kustomization applies as (in the controller's namespace).
pub fn account_name(unit: &GitOpsUnit) -> &str {
    &unit.name
}

/// The ClusterRole of the rights in each of `unit`'s namespaces: `tenantc-flux:<unit>`. The
/// colon cannot occur in a unit's name (DNS labels), so no two units' roles share a name.
pub fn role_name(unit: &GitOpsUnit) -> String {
    format!("{ROLE_PREFIX}{}", unit.name)
}

/// The ClusterRole (and its ClusterRoleBinding) of the rights on `unit`'s Namespaces:
/// `tenantc-flux:<unit>:namespaces`.
pub fn namespaces_role_name(unit: &GitOpsUnit) -> String {
    format!("{ROLE_PREFIX}{}{NAMESPACES_SUFFIX}", unit.name)
}

const ROLE_PREFIX: &str = "tenantc-flux:";
const NAMESPACES_SUFFIX: &str = ":namespaces";

/// The unit name in the name of one of the ClusterRoles or the ClusterRoleBinding.
pub fn unit_of_role(name: &str) -> Option<&str> {
    let rest = name.strip_prefix(ROLE_PREFIX)?;
    Some(rest.strip_suffix(NAMESPACES_SUFFIX).unwrap_or(rest))
}

/// The identity of one of these objects: kind, namespace (`""`: cluster-scoped) and name.
pub type AccountKey = (&'static str, String, String);

/// The identity of `doc`, if it is of one of the kinds of an account's objects.
pub fn account_key(doc: &Value) -> Option<AccountKey> {
    let kind = account_kind(doc["apiVersion"].as_str(), doc["kind"].as_str())?;
    let meta = &doc["metadata"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    Some((kind, text(&meta["namespace"]), text(&meta["name"])))
}

/// The kinds of an account's objects (`apiVersion`, kind).
const ACCOUNT_KINDS: [(&str, &str); 5] = [
    ("v1", "Namespace"),
    ("v1", "ServiceAccount"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
];

/// The kind, when a document with this `apiVersion` and `kind` is of one of an account's kinds.
pub fn account_kind(api: Option<&str>, kind: Option<&str>) -> Option<&'static str> {
    let (api, kind) = (api?, kind?);
    ACCOUNT_KINDS
        .iter()
        .find(|(a, k)| *a == api && *k == kind)
        .map(|(_, k)| *k)
}

/// `unit`'s account objects, in the order tenantc writes them after its Kustomization: the
/// Namespace stubs, the ServiceAccount, the two ClusterRoles, the ClusterRoleBinding and one
/// RoleBinding per namespace. Empty when the unit has no account ([`has_account`]).
pub fn account_documents(gitops: &GitOpsIntent, unit: &GitOpsUnit) -> Vec<Value> {
    if !has_account(gitops, unit) {
        return Vec::new();
    }
    let controller = gitops.settings.namespace.as_str();
    let labels = json!({
        "app.kubernetes.io/managed-by": "tenantc",
        format!("tenantc.dev/{}", unit.role): unit.owner,
    });
    let meta = |name: &str, namespace: Option<&str>| {
        let mut m = json!({ "name": name, "labels": labels });
        if let Some(ns) = namespace {
            m["namespace"] = Value::from(ns);
        }
        m
    };
    let subject = json!([{
        "kind": "ServiceAccount",
        "name": account_name(unit),
        "namespace": controller,
    }]);
    let mut docs = Vec::new();
    for ns in &unit.namespaces {
        docs.push(json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": ns.as_str(),
                "annotations": {
                    FLUX_SSA_ANNOTATION: "IfNotPresent",
                    FLUX_PRUNE_ANNOTATION: "disabled",
                },
            },
        }));
    }
    docs.push(json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta(account_name(unit), Some(controller)),
        "automountServiceAccountToken": false,
    }));
    // The rights in each namespace: the unit's kinds, by API group, and `bind` of its roles.
    let mut by_group: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for k in &unit.kinds {
        by_group.entry(k.group).or_default().push(k.resource);
    }
    let mut rules: Vec<Value> = by_group
        .into_iter()
        .map(|(group, mut resources)| {
            resources.sort_unstable();
            json!({ "apiGroups": [group], "resources": resources, "verbs": OBJECT_VERBS })
        })
        .collect();
    if !unit.bound_roles.is_empty() {
        rules.push(json!({
            "apiGroups": [RBAC_API],
            "resources": ["clusterroles"],
            "verbs": ["bind"],
            "resourceNames": unit.bound_roles,
        }));
    }
    docs.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": meta(&role_name(unit), None),
        "rules": rules,
    }));
    let names: Vec<&str> = unit.namespaces.iter().map(|n| n.as_str()).collect();
    docs.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": meta(&namespaces_role_name(unit), None),
        "rules": [
            {
                "apiGroups": [""],
                "resources": ["namespaces"],
                "verbs": ["get", "patch"],
                "resourceNames": names,
            },
            { "apiGroups": [""], "resources": ["namespaces"], "verbs": ["list", "watch"] },
        ],
    }));
    docs.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": meta(&namespaces_role_name(unit), None),
        "roleRef": {
            "apiGroup": RBAC_API,
            "kind": "ClusterRole",
            "name": namespaces_role_name(unit),
        },
        "subjects": subject,
    }));
    for ns in &unit.namespaces {
        docs.push(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta(FLUX_BINDING, Some(ns.as_str())),
            "roleRef": { "apiGroup": RBAC_API, "kind": "ClusterRole", "name": role_name(unit) },
            "subjects": subject,
        }));
    }
    docs
}

/// The identities of `unit`'s account objects ([`account_documents`]'s, without making them).
pub fn account_keys(gitops: &GitOpsIntent, unit: &GitOpsUnit) -> Vec<AccountKey> {
    if !has_account(gitops, unit) {
        return Vec::new();
    }
    let none = String::new;
    let mut keys: Vec<AccountKey> = unit
        .namespaces
        .iter()
        .map(|n| ("Namespace", none(), n.to_string()))
        .collect();
    keys.push((
        "ServiceAccount",
        gitops.settings.namespace.to_string(),
        account_name(unit).to_owned(),
    ));
    keys.push(("ClusterRole", none(), role_name(unit)));
    keys.push(("ClusterRole", none(), namespaces_role_name(unit)));
    keys.push(("ClusterRoleBinding", none(), namespaces_role_name(unit)));
    keys.extend(
        unit.namespaces
            .iter()
            .map(|n| ("RoleBinding", n.to_string(), FLUX_BINDING.to_owned())),
    );
    keys
}
