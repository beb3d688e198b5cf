//! The tables of tenants.toml's entries: `[shared.<name>]`, `[tenants.<name>]` and their
//! `expose`, `[external.<name>]`, and the access keys they share with `[defaults]`.

use std::collections::BTreeMap;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use std::borrow::Cow;

use super::*;

/// `[shared.<namespace>]`: a shared namespace.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SharedTable {
    /// With [clusters]: the clusters it runs on. Default: every cluster.
    #[schemars(length(min = 1), extend("uniqueItems" = true))]
    pub clusters: Option<Placement>,
    /// Who may call it: tenants and shared entries by name, or "*" (the default) for every tenant.
    pub consumers: Option<Consumers>,
    /// Put on its Namespace.
    pub labels: Option<Labels>,
    /// Put on its Namespace.
    pub annotations: Option<Annotations>,
    /// The ingress controller may reach it (needs [platform.ingress]). Default false.
    pub ingress: Option<bool>,
    /// Its consumers reach it on these TCP ports only. Default: every port.
    #[schemars(length(min = 1), extend("uniqueItems" = true))]
    pub ports: Option<Vec<Port>>,
    /// Retired: the namespace keeps its Namespace and a deny-all NetworkPolicy, and has no flow (no `consumers`, `ports` or `ingress` then). Default false.
    pub retired: Option<bool>,
    /// Bound to the ClusterRole admin in each of its namespaces.
    pub owners: Option<Subjects>,
    /// Bound to the ClusterRole edit.
    pub editors: Option<Subjects>,
    /// Bound to the ClusterRole view.
    pub viewers: Option<Subjects>,
    /// The Pod Security level enforced; default [defaults] pod_security.
    pub pod_security: Option<PodSecurityLevel>,
    /// Replaces these keys of [defaults] quota.
    pub quota: Option<Quantities>,
    /// Replaces these keys of [defaults] container_defaults.
    pub container_defaults: Option<ContainerDefaults>,
}

/// `[tenants.<name>]`: a tenant.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct TenantTable {
    /// With [clusters]: the clusters it runs on. Default: every cluster.
    #[schemars(length(min = 1), extend("uniqueItems" = true))]
    pub clusters: Option<Placement>,
    /// Its namespaces. Default: one namespace named like the tenant.
    #[schemars(length(min = 1))]
    pub namespaces: Option<Vec<DnsLabel>>,
    /// Put on each of its Namespaces.
    pub labels: Option<Labels>,
    /// Put on each of its Namespaces.
    pub annotations: Option<Annotations>,
    /// The ingress controller may reach it: true (all its namespaces), false (the default) or a list of some of its namespaces. Needs [platform.ingress].
    pub ingress: Option<TenantIngress>,
    /// Its pods may call the Kubernetes API (needs [platform.kube_api]). Default false.
    pub kube_api: Option<bool>,
    /// Its namespaces opened to other tenants and shared entries, keyed by namespace (one of its own).
    #[schemars(extend("propertyNames" = { "pattern": DNS_LABEL_PATTERN, "maxLength": 63 }))]
    pub expose: Option<BTreeMap<String, ExposeTable>>,
    /// Its retired namespaces: true (all of them), false (the default) or a list of some of them.
    pub retired: Option<TenantRetired>,
    /// Bound to the ClusterRole admin in each of its namespaces.
    pub owners: Option<Subjects>,
    /// Bound to the ClusterRole edit.
    pub editors: Option<Subjects>,
    /// Bound to the ClusterRole view.
    pub viewers: Option<Subjects>,
    /// The Pod Security level enforced; default [defaults] pod_security.
    pub pod_security: Option<PodSecurityLevel>,
    /// Replaces these keys of [defaults] quota.
    pub quota: Option<Quantities>,
    /// Replaces these keys of [defaults] container_defaults.
    pub container_defaults: Option<ContainerDefaults>,
}

schema_type!(
    /// `owners`, `editors`, `viewers`: RBAC subjects.
    Subjects,
    json_schema!({
        "description": "RBAC subjects bound in each of its namespaces: \"group:NAME\", \"user:NAME\" or \"serviceaccount:NAMESPACE/NAME\".",
        "type": "array",
        "items": {
            "type": "string",
            "pattern": "^(group:\\S.*|user:\\S.*|serviceaccount:[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9.]*[a-z0-9])?)$"
        },
        "uniqueItems": true
    })
);
schema_type!(
    /// A Pod Security Standards level.
    PodSecurityLevel,
    json_schema!({
        "description": "The Pod Security Admission level enforced on its namespaces (warn and audit are set to restricted).",
        "type": "string",
        "enum": ["privileged", "baseline", "restricted"]
    })
);
schema_type!(
    /// Resource names to Kubernetes quantities.
    Quantities,
    json_schema!({
        "description": "Kubernetes resource names (requests.cpu, limits.memory, pods, count/deployments.apps, ...) to quantities (\"8\", \"500m\", \"32Gi\"), as strings.",
        "type": "object",
        "propertyNames": { "pattern": QUALIFIED_NAME_PATTERN, "maxLength": 317 },
        "additionalProperties": {
            "type": "string",
            "pattern": "^\\+?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][-+]?[0-9]{1,3})?$"
        }
    })
);

/// `container_defaults`: the LimitRange `tenantc`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ContainerDefaults {
    /// `defaultRequest`: the requests of a container that sets none.
    pub request: Option<Quantities>,
    /// `default`: the limits of a container that sets none.
    pub limit: Option<Quantities>,
}

/// `[defaults]`: what every tenant and shared entry gets unless its entry says otherwise.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct DefaultsTable {
    /// The Pod Security level enforced; none when absent.
    pub pod_security: Option<PodSecurityLevel>,
    /// The Pod Security Standards version pinned: "latest" (the default) or "v1.N".
    #[schemars(extend("pattern" = "^(latest|v1\\.(0|[1-9][0-9]{0,2}))$"))]
    pub pod_security_version: Option<String>,
    /// The ResourceQuota `tenantc` of every namespace; an entry's `quota` replaces the keys it names. A quota on cpu or memory needs a container default for it.
    pub quota: Option<Quantities>,
    /// The LimitRange `tenantc` of every namespace; an entry's own replaces the keys it names.
    pub container_defaults: Option<ContainerDefaults>,
}

/// `[tenants.<t>.expose.<namespace>]`: one of the tenant's namespaces, opened to others.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ExposeTable {
    /// Who may call it (required): tenants and shared entries by name, or "*" for every tenant.
    pub consumers: ExposeConsumers,
    /// Reachable on these TCP ports only. Default: every port.
    #[schemars(length(min = 1), extend("uniqueItems" = true))]
    pub ports: Option<Vec<Port>>,
}

/// `[external.<name>]`: a destination outside the cluster.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
// Istio resolves an HTTP or HTTPS host by DNS, which a wildcard cannot be.
#[schemars(extend(
    "if" = { "properties": { "protocol": { "enum": ["HTTP", "HTTPS"] } }, "required": ["protocol"] },
    "then" = { "properties": { "hosts": { "items": { "not": { "pattern": "^\\*\\." } } } } }
))]
pub struct ExternalTable {
    /// With [clusters]: the clusters where its consumers reach it. Default: every cluster.
    #[schemars(length(min = 1), extend("uniqueItems" = true))]
    pub clusters: Option<Placement>,
    /// Its DNS names: with [mesh], an Istio ServiceEntry (MESH_EXTERNAL) that only its consumers' sidecars import. A wildcard ("*.example.com") needs protocol TLS or TCP.
    #[schemars(length(max = 256), extend("uniqueItems" = true))]
    pub hosts: Option<Vec<Host>>,
    /// Where NetworkPolicy lets the traffic go (required), outside the cluster's own ranges; ["0.0.0.0/0"] when only the host names are known.
    #[schemars(length(min = 1, max = 256), extend("uniqueItems" = true))]
    pub cidrs: Vec<Cidr>,
    /// The TCP ports its consumers may reach (required).
    #[schemars(length(min = 1), extend("uniqueItems" = true))]
    pub ports: Vec<Port>,
    /// The ServiceEntry port protocol. Default "TLS".
    pub protocol: Option<ExternalProtocol>,
    /// Who may reach it (required): tenants and shared entries by name, or "*" for every tenant.
    pub consumers: Consumers,
}
