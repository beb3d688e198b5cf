//! The JSON Schema of tenants.toml, for editors (Taplo, Even Better TOML) and linters.
//!
//! The loader ([`crate::load`]) walks the TOML tree by hand so that it keeps spans and reports every
//! error at once; these types exist only to describe the same file to `schemars`. A test checks
//! that the property names here equal [`crate::load::keys`] at every level, so the two cannot
//! drift. The schema catches what an editor can show as you type (unknown keys, types, name and
//! label syntax, CIDR notation, port ranges, `version = 1`, an `[external]` entry's need for the
//! cluster ranges, a wildcard host's protocol); the cross-references (a namespace claimed twice, a
//! consumer that is not a tenant) remain `tenantc compile`'s job.

use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};

/// An RFC 1123 label: what Kubernetes requires of a namespace name.
pub const DNS_LABEL_PATTERN: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/// A label or annotation key: an optional DNS-subdomain prefix and `/`, then a name.
pub const QUALIFIED_NAME_PATTERN: &str = "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$";
/// A label value: empty, or alphanumerics, `-`, `_` and `.`, alphanumeric at both ends.
pub const LABEL_VALUE_PATTERN: &str = "^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$";

/// An IPv4 or IPv6 network in CIDR notation. Whether host bits are set after the prefix (which
/// `tenantc compile` refuses, suggesting the canonical form) is beyond a regular expression.
pub const CIDR_PATTERN: &str = "^(((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])/(3[0-2]|[12]?[0-9])|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*/(12[0-8]|1[01][0-9]|[1-9]?[0-9]))$";
/// A DNS name with at least two labels, optionally behind a `*.` wildcard, as an external entry's
/// `hosts` take it (lowercase, as Istio compares them).
pub const HOST_PATTERN: &str =
    "^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$";

/// A relative path inside a repository: `.`, or `/`-separated segments none of which is `.` or
/// `..` (without look-ahead, which the regex engines of editors lack).
pub const REPO_PATH_PATTERN: &str = "^(\\.|(\\./)?([A-Za-z0-9_-][A-Za-z0-9_.-]*|\\.[A-Za-z0-9_-][A-Za-z0-9_.-]*|\\.\\.[A-Za-z0-9_.-]+)(/([A-Za-z0-9_-][A-Za-z0-9_.-]*|\\.[A-Za-z0-9_-][A-Za-z0-9_.-]*|\\.\\.[A-Za-z0-9_.-]+))*/?)$";

/// Defines a type that only describes a schema (it is never instantiated).
macro_rules! schema_type {
    ($(#[$doc:meta])* $name:ident, $schema:expr) => {
        $(#[$doc])*
        pub enum $name {}

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                $schema
            }
        }
    };
}

schema_type!(
    /// `version = 1`.
    Version,
    json_schema!({
        "description": "The format version of this file; this tenantc reads version 1.",
        "type": "integer",
        "const": 1
    })
);
schema_type!(
    /// A namespace, tenant or shared-entry name.
    DnsLabel,
    json_schema!({
        "description": "An RFC 1123 label: lowercase letters, digits and `-`, at most 63 characters, starting and ending with a letter or digit.",
        "type": "string",
        "pattern": DNS_LABEL_PATTERN,
        "minLength": 1,
        "maxLength": 63
    })
);
schema_type!(
    /// A TCP or UDP port.
    Port,
    json_schema!({
        "description": "A port, 1 to 65535.",
        "type": "integer",
        "minimum": 1,
        "maximum": 65535
    })
);
schema_type!(
    /// Kubernetes labels (keys and values checked) or pod label selectors.
    Labels,
    json_schema!({
        "description": "Kubernetes labels: keys are qualified names (`example.com/name`), values at most 63 letters, digits, `-`, `_` or `.`.",
        "type": "object",
        "propertyNames": { "pattern": QUALIFIED_NAME_PATTERN, "maxLength": 317 },
        "additionalProperties": { "type": "string", "pattern": LABEL_VALUE_PATTERN, "maxLength": 63 }
    })
);
schema_type!(
    /// Kubernetes annotations (keys checked, values free text).
    Annotations,
    json_schema!({
        "description": "Kubernetes annotations: keys are qualified names (`example.com/name`), values any string.",
        "type": "object",
        "propertyNames": { "pattern": QUALIFIED_NAME_PATTERN, "maxLength": 317 },
        "additionalProperties": { "type": "string" }
    })
);
schema_type!(
    /// `consumers = "*"` or a list of tenant and shared-entry names.
    Consumers,
    json_schema!({
        "description": "Who may call it: \"*\" for every tenant, or a list of tenant and shared-entry names.",
        "oneOf": [
            { "type": "string", "const": "*" },
            {
                "type": "array",
                "items": { "type": "string", "pattern": DNS_LABEL_PATTERN, "maxLength": 63 },
                "uniqueItems": true
            }
        ]
    })
);
schema_type!(
    /// `consumers` of an exposed namespace: like [`Consumers`], but a list may not be empty.
    ExposeConsumers,
    json_schema!({
        "description": "Who may call the exposed namespace: \"*\" for every tenant, or a non-empty list of tenant and shared-entry names.",
        "oneOf": [
            { "type": "string", "const": "*" },
            {
                "type": "array",
                "items": { "type": "string", "pattern": DNS_LABEL_PATTERN, "maxLength": 63 },
                "uniqueItems": true,
                "minItems": 1
            }
        ]
    })
);
schema_type!(
    /// A network in CIDR notation.
    Cidr,
    json_schema!({
        "description": "A network in CIDR notation, IPv4 (\"10.0.0.0/8\") or IPv6 (\"2001:db8::/32\"), canonical: no bits set after the prefix (\"10.0.0.1/8\" is refused; write \"10.0.0.0/8\"), one address as /32 or /128.",
        "type": "string",
        "pattern": CIDR_PATTERN,
        "maxLength": 49
    })
);
schema_type!(
    /// A tenant's `ingress`: a flag, or some of its namespaces.
    TenantIngress,
    json_schema!({
        "description": "Whether the ingress controller may reach the tenant (needs [platform.ingress]): true for all its namespaces, false (the default) for none, or a list of some of its namespaces.",
        "oneOf": [
            { "type": "boolean" },
            {
                "type": "array",
                "items": { "type": "string", "pattern": DNS_LABEL_PATTERN, "maxLength": 63 },
                "uniqueItems": true
            }
        ]
    })
);
schema_type!(
    /// A tenant's `retired`: a flag, or some of its namespaces.
    TenantRetired,
    json_schema!({
        "description": "Retired namespaces of the tenant: true for all of them, false (the default) for none, or a list of some of its namespaces (each stays in `namespaces`). A retired namespace keeps its Namespace and a deny-all NetworkPolicy, and has no flow and no Sidecar import anywhere; it is deleted by a person, then listed in [purged].",
        "oneOf": [
            { "type": "boolean" },
            {
                "type": "array",
                "items": { "type": "string", "pattern": DNS_LABEL_PATTERN, "maxLength": 63 },
                "uniqueItems": true
            }
        ]
    })
);
schema_type!(
    /// `external.<name>.protocol`.
    ExternalProtocol,
    json_schema!({
        "description": "The ServiceEntry port protocol: TLS (the default; routed by SNI), HTTPS, HTTP or TCP. A wildcard host needs TLS or TCP.",
        "type": "string",
        "enum": ["TLS", "HTTPS", "HTTP", "TCP"]
    })
);
schema_type!(
    /// One of `external.<name>.hosts`.
    Host,
    json_schema!({
        "description": "A DNS name, lowercase, with at least two labels (\"api.example.com\"), or a wildcard (\"*.example.com\").",
        "type": "string",
        "pattern": HOST_PATTERN,
        "maxLength": 255
    })
);
schema_type!(
    /// `mesh.outbound_traffic_policy`.
    OutboundTrafficPolicy,
    json_schema!({
        "description": "The Sidecar's outbound traffic policy: REGISTRY_ONLY blocks hosts outside the Sidecar's egress hosts; ALLOW_ANY lets them pass through.",
        "type": "string",
        "enum": ["REGISTRY_ONLY", "ALLOW_ANY"]
    })
);

schema_type!(
    /// `mesh.mode`.
    DataplaneMode,
    json_schema!({
        "description": "How pods join the mesh: an injected sidecar, or the node's ztunnel (ambient).",
        "type": "string",
        "enum": ["sidecar", "ambient"]
    })
);
schema_type!(
    /// `mesh.mtls`.
    MtlsMode,
    json_schema!({
        "description": "The PeerAuthentication mode of every managed namespace.",
        "type": "string",
        "enum": ["STRICT", "PERMISSIVE"]
    })
);

/// tenants.toml: who runs on this cluster, and who may talk to whom. `tenantc compile` turns it
/// into the Namespaces, NetworkPolicies, Istio Sidecars and ServiceEntries under output/.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, title = "tenants.toml")]
// An [external] entry is excepted from the cluster's own ranges, so it needs them (with
// [clusters], each cluster's table gives them; tenantc checks that in each cluster's view).
// [cluster] and [clusters] exclude each other.
#[schemars(extend(
    "if" = {
        "required": ["external"],
        "properties": { "external": { "minProperties": 1 } },
        "not": { "required": ["clusters"] }
    },
    "then" = {
        "required": ["cluster"],
        "properties": { "cluster": { "required": ["pod_cidrs", "service_cidrs"] } }
    },
    "not" = { "required": ["cluster", "clusters"] }
))]
pub struct TenantsFile {
    /// The format version; must be 1.
    pub version: Version,
    /// The cluster this file describes.
    pub cluster: Option<ClusterTable>,
    /// What runs beside the tenants: DNS, the ingress controller, monitoring, the Kubernetes API.
    pub platform: Option<PlatformTable>,
    /// The Istio mesh; omit the table for no Istio resources and no injection labels.
    pub mesh: Option<MeshTable>,
    /// What every tenant and shared entry gets unless its entry says otherwise: Pod Security, quota, container defaults.
    pub defaults: Option<DefaultsTable>,
    /// Shared namespaces, keyed by namespace name, that tenants may call.
    #[schemars(extend("propertyNames" = { "pattern": DNS_LABEL_PATTERN, "maxLength": 63 }))]
    pub shared: Option<BTreeMap<String, SharedTable>>,
    /// The tenants, keyed by tenant name.
    #[schemars(extend("propertyNames" = { "pattern": DNS_LABEL_PATTERN, "maxLength": 63 }))]
    pub tenants: Option<BTreeMap<String, TenantTable>>,
    /// Destinations outside the cluster, keyed by name, that tenants and shared entries may reach.
    #[schemars(extend("propertyNames" = { "pattern": DNS_LABEL_PATTERN, "maxLength": crate::resolve::MAX_EXTERNAL_NAME }))]
    pub external: Option<BTreeMap<String, ExternalTable>>,
    /// Generate the Argo CD or Flux objects that sync each tenant's directory (into output/gitops/).
    pub gitops: Option<GitOpsTable>,
    /// Namespaces a person deleted from the cluster: they may leave tenants.toml.
    pub purged: Option<PurgedTable>,
    /// Several clusters from this one file, keyed by cluster name: each cluster's tree goes to output/clusters/<name>/. Excludes [cluster].
    #[schemars(extend("propertyNames" = { "pattern": DNS_LABEL_PATTERN, "maxLength": 63 }, "minProperties" = 1))]
    pub clusters: Option<BTreeMap<String, ClustersEntryTable>>,
}

/// `[clusters.<name>]`: one cluster of several; the key is its name (a DNS label).
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ClustersEntryTable {
    /// As [cluster] domain, for this cluster.
    #[schemars(regex(
        pattern = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
    ))]
    pub domain: Option<String>,
    /// As [cluster] pod_cidrs, for this cluster.
    #[schemars(length(min = 1), extend("uniqueItems" = true))]
    pub pod_cidrs: Option<Vec<Cidr>>,
    /// As [cluster] service_cidrs, for this cluster.
    #[schemars(length(min = 1), extend("uniqueItems" = true))]
    pub service_cidrs: Option<Vec<Cidr>>,
    /// As [cluster] server: Argo CD's destination.server for this cluster's tenants.
    #[schemars(regex(pattern = SERVER_PATTERN))]
    pub server: Option<String>,
    /// Each key given replaces that [platform] key in this cluster.
    pub platform: Option<PlatformTable>,
    /// Each key given replaces that [mesh] key in this cluster.
    pub mesh: Option<MeshTable>,
    /// Namespaces of tenant and shared entries that left this cluster (their `clusters` no longer names it) but stay in it, closed: Namespace and deny-all only.
    #[schemars(extend("uniqueItems" = true))]
    pub retired: Option<Vec<DnsLabel>>,
    /// Namespaces a person deleted from this cluster: they may leave its tree.
    #[schemars(extend("uniqueItems" = true))]
    pub purged: Option<Vec<DnsLabel>>,
}

/// `clusters = [...]` on an entry.
type Placement = Vec<DnsLabel>;

/// An API server URL as Argo CD names a cluster.
const SERVER_PATTERN: &str = "^https?://[^\\s@/\"#{}`\\\\]+(/[^\\s\"#{}`\\\\]*)?$";

/// `[purged]`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct PurgedTable {
    /// Namespaces deleted from the cluster (`kubectl delete namespace`), which tenants.toml no longer lists: without this, removing a namespace is a destructive change that fails `compile` and `diff`.
    #[schemars(extend("uniqueItems" = true))]
    pub namespaces: Option<Vec<DnsLabel>>,
}

/// `[cluster]`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ClusterTable {
    /// Stamped on every namespace as the `tenantc.dev/cluster` label, so it must be a label value.
    #[schemars(regex(pattern = LABEL_VALUE_PATTERN), length(min = 1, max = 63))]
    pub name: Option<String>,
    /// The cluster's DNS domain, for the DNS Service host in Sidecars. Default "cluster.local".
    #[schemars(regex(
        pattern = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
    ))]
    pub domain: Option<String>,
    /// The pod network's ranges (kube-controller-manager's `--cluster-cidr`): excepted from every ipBlock to an external destination. Needed by [external] entries.
    #[schemars(length(min = 1), extend("uniqueItems" = true))]
    pub pod_cidrs: Option<Vec<Cidr>>,
    /// The Service ranges (`--service-cluster-ip-range`): excepted from every ipBlock to an external destination. Needed by [external] entries.
    #[schemars(length(min = 1), extend("uniqueItems" = true))]
    pub service_cidrs: Option<Vec<Cidr>>,
    /// The API server as Argo CD names this cluster (`argocd cluster list`): the destination of the tenants' and shared entries' Applications. Default: the cluster Argo CD runs in.
    #[schemars(regex(pattern = SERVER_PATTERN))]
    pub server: Option<String>,
}

/// `[platform]`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct PlatformTable {
    /// The cluster DNS. Default: CoreDNS in kube-system, Service kube-dns, pods k8s-app=kube-dns, port 53.
    pub dns: Option<DnsTable>,
    /// The ingress controller; needed by `ingress = true` on a tenant or shared entry.
    pub ingress: Option<IngressTable>,
    /// The metrics scraper, allowed into every tenant and shared namespace.
    pub monitoring: Option<MonitoringTable>,
    /// The Kubernetes API server, reached by IP (it runs on the host network); needed by `kube_api = true` on a tenant.
    pub kube_api: Option<KubeApiTable>,
}

/// `[platform.dns]`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct DnsTable {
    /// Where the DNS pods run. Default "kube-system".
    pub namespace: Option<DnsLabel>,
    /// The DNS Service, imported by every Sidecar. Default "kube-dns".
    pub service: Option<DnsLabel>,
    /// Labels of the DNS pods. Default { "k8s-app" = "kube-dns" }.
    pub pod_labels: Option<Labels>,
    /// The DNS pods' ports (after the Service's DNAT, not the Service port), allowed over UDP and TCP. Default [53].
    #[schemars(length(min = 1))]
    pub ports: Option<Vec<Port>>,
    /// Node-local DNS caches (NodeLocal DNSCache) reached by IP, allowed on the DNS ports over UDP and TCP from every managed namespace. Default none.
    #[schemars(extend("uniqueItems" = true))]
    pub cidrs: Option<Vec<Cidr>>,
}

/// `[platform.kube_api]`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct KubeApiTable {
    /// The API server's endpoints (the `kubernetes` EndpointSlice in `default`), such as ["172.18.0.2/32"] (required).
    #[schemars(length(min = 1), extend("uniqueItems" = true))]
    pub cidrs: Vec<Cidr>,
    /// The endpoints' ports, after the Service's DNAT. Default [443, 6443].
    #[schemars(length(min = 1), extend("uniqueItems" = true))]
    pub ports: Option<Vec<Port>>,
}

/// `[platform.ingress]`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct IngressTable {
    /// Where the ingress controller runs (required).
    pub namespace: DnsLabel,
    /// The ingress controller's pods. Default: every pod of the namespace.
    pub pod_labels: Option<Labels>,
    /// Its pods are in the Istio mesh (a sidecar or an ambient namespace), so an AuthorizationPolicy can admit them by namespace. Needed by [mesh] authorization = true and mtls = "STRICT" when a tenant or shared entry admits ingress. Default false.
    pub mesh: Option<bool>,
}

/// `[platform.monitoring]`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct MonitoringTable {
    /// Where the scraper runs (required).
    pub namespace: DnsLabel,
    /// The scraper's pods. Default: every pod of the namespace.
    pub pod_labels: Option<Labels>,
    /// Limit scraping to these ports (with [mesh] in sidecar mode, Istio's metrics port 15020 is added). Default: every port.
    pub ports: Option<Vec<Port>>,
    /// The scraper's pods are in the Istio mesh, so an AuthorizationPolicy can admit them by namespace. Default false: outside the mesh, it reaches only the merged metrics port 15020, which bypasses the sidecar.
    pub mesh: Option<bool>,
}

/// `[mesh]`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct MeshTable {
    /// The control plane's namespace, in every Sidecar's hosts. Default "istio-system".
    pub namespace: Option<DnsLabel>,
    /// istiod's pods, reached on TCP 15012. Default { app = "istiod" }.
    pub pod_labels: Option<Labels>,
    /// Label namespaces `istio.io/rev: <revision>` instead of `istio-injection: enabled`.
    #[schemars(regex(pattern = LABEL_VALUE_PATTERN), length(min = 1, max = 63))]
    pub revision: Option<String>,
    /// Set on every Sidecar (sidecar mode only).
    pub outbound_traffic_policy: Option<OutboundTrafficPolicy>,
    /// How pods join the mesh: "sidecar" (the default; injection label, Sidecar objects) or "ambient" (the istio.io/dataplane-mode label, no Sidecars, HBONE port 15008 in the NetworkPolicies).
    pub mode: Option<DataplaneMode>,
    /// A PeerAuthentication per managed namespace with this mTLS mode: "STRICT" refuses plaintext, "PERMISSIVE" accepts both. Default: none (the mesh-wide setting applies).
    pub mtls: Option<MtlsMode>,
    /// Istio AuthorizationPolicies from the same intent: deny by default, ALLOW by source namespace and port exactly what the NetworkPolicies let in. Default false.
    pub authorization: Option<bool>,
}

schema_type!(
    /// `gitops.tool`.
    GitOpsTool,
    json_schema!({
        "description": "The GitOps controller: \"argocd\" (an AppProject and an Application per tenant and shared entry) or \"flux\" (a GitRepository and a Kustomization per tenant and shared entry).",
        "type": "string",
        "enum": ["argocd", "flux"]
    })
);

/// `[gitops]`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(extend("allOf" = [
    {
        "if": { "properties": { "tool": { "const": "flux" } }, "required": ["tool"] },
        "then": { "properties": { "repo_url": {
            "pattern": "^(https?|ssh)://",
            "description": "Flux's GitRepository takes a URL: write ssh://git@host/path rather than git@host:path."
        } } }
    },
    {
        "if": { "properties": { "tool": { "const": "argocd" } }, "required": ["tool"] },
        "then": { "not": { "required": ["secret"] } }
    }
]))]
pub struct GitOpsTable {
    /// The GitOps controller (required).
    pub tool: GitOpsTool,
    /// The Git repository that holds the output tree, as the controller clones it (required): https://, http://, ssh:// or, for Argo CD only, git@host:path.
    #[schemars(regex(pattern = "^((https?|ssh)://[^\\s]+|[^\\s@:/]+@[^\\s:]+:[^\\s]+)$"))]
    pub repo_url: String,
    /// The branch to sync. Default "main".
    #[schemars(regex(pattern = "^[^-\\s~^:?*\\[\\\\][^\\s~^:?*\\[\\\\]*$"))]
    pub revision: Option<String>,
    /// The output directory's path inside the repository ("." for its root). Default "output".
    #[schemars(regex(pattern = REPO_PATH_PATTERN))]
    pub path: Option<String>,
    /// The namespace of the controller's objects. Default "argocd" for Argo CD, "flux-system" for Flux.
    pub namespace: Option<DnsLabel>,
    /// Flux only: the Secret (in `namespace`) with the repository's credentials, for a private repository.
    #[schemars(
        regex(pattern = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"),
        length(max = 253)
    )]
    pub secret: Option<String>,
    /// Prepended to every GitOps object's name, so that several files' (or clusters') objects can share one Argo CD. With [clusters], each cluster's objects also get `<cluster>-`.
    #[schemars(regex(pattern = "^[a-z0-9][-a-z0-9]*-$"), length(max = 40))]
    pub name_prefix: Option<String>,
}

/// The JSON Schema (draft 7, which Taplo and most editors support) of tenants.toml, as pretty
/// JSON with a final newline: what `tenantc schema` prints and `schema/tenants.schema.json` holds.
pub fn tenants_schema() -> String {
    let schema = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<TenantsFile>();
    let mut value = schema.to_value();
    drop_null(&mut value);
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// TOML has no null, so `Option` means "may be left out", never "may be null": drop the `null`
/// alternative schemars adds for `Option` fields, keeping each field's description.
fn drop_null(value: &mut serde_json::Value) {
    use serde_json::Value;
    let null = serde_json::json!({ "type": "null" });
    if let Value::Object(map) = value {
        if let Some(Value::Array(types)) = map.get_mut("type") {
            types.retain(|t| t != "null");
            if types.len() == 1 {
                let only = types.remove(0);
                map.insert("type".into(), only);
            }
        }
        if let Some(Value::Array(any)) = map.get("anyOf") {
            if any.len() == 2 && any.contains(&null) {
                let other = any.iter().find(|s| **s != null).cloned();
                map.remove("anyOf");
                if let Some(Value::Object(other)) = other {
                    if other.contains_key("$ref") && !map.is_empty() {
                        // Keywords beside `$ref` are ignored in draft 7: keep them apart.
                        map.insert("allOf".into(), Value::Array(vec![Value::Object(other)]));
                    } else {
                        map.extend(other);
                    }
                }
            }
        }
        for v in map.values_mut() {
            drop_null(v);
        }
    } else if let Value::Array(items) = value {
        for v in items {
            drop_null(v);
        }
    }
}

// After the macro it uses (macros are in scope from their definition on).
mod entries;
pub use entries::*;
