//! One reader per table of tenants.toml, from the root down: which keys each table knows, and
//! which raw structure it fills.

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::diag::Diagnostic;

use super::keys;
use super::{
    Located, RawAccess, RawCluster, RawClusterEntry, RawConfig, RawConsumers, RawContainerDefaults,
    RawDefaults, RawDns, RawExpose, RawExternal, RawGitOps, RawIngress, RawKubeApi, RawMesh,
    RawPlatform, RawPods, RawPurged, RawRetired, RawShared, RawTenant, Walker,
};

impl Walker {
    pub(super) fn root(&mut self, root: &DeTable<'_>) -> RawConfig {
        let mut config = RawConfig::default();
        for (k, v) in self.entries(root, keys::ROOT, "the top level") {
            match k.get_ref().as_ref() {
                "version" => config.version = self.integer("version", v),
                "cluster" => config.cluster = self.cluster(v),
                "platform" => config.platform = self.platform(v),
                "mesh" => config.mesh = self.mesh(v),
                "defaults" => config.defaults = self.defaults(v),
                "gitops" => config.gitops = self.gitops(v),
                "purged" => config.purged = self.purged(v),
                "clusters" => {
                    config.clusters_span = Some(v.span());
                    if let Some(t) = self.named_tables("clusters", v) {
                        for (name, entry) in t.iter() {
                            if let Some(c) = self.cluster_entry(name, entry) {
                                config.clusters.push(c);
                            }
                        }
                    }
                }
                "shared" => {
                    if let Some(t) = self.named_tables("shared", v) {
                        for (name, entry) in t.iter() {
                            if let Some(s) = self.shared(name, entry) {
                                config.shared.push(s);
                            }
                        }
                    }
                }
                "tenants" => {
                    if let Some(t) = self.named_tables("tenants", v) {
                        for (name, entry) in t.iter() {
                            if let Some(s) = self.tenant(name, entry) {
                                config.tenants.push(s);
                            }
                        }
                    }
                }
                "external" => {
                    if let Some(t) = self.named_tables("external", v) {
                        for (name, entry) in t.iter() {
                            if let Some(e) = self.external(name, entry) {
                                config.externals.push(e);
                            }
                        }
                    }
                }
                _ => unreachable!("entries() returns known keys only"),
            }
        }
        config
    }

    fn cluster(&mut self, v: &Spanned<DeValue<'_>>) -> RawCluster {
        let mut c = RawCluster::default();
        let Some(t) = self.table("cluster", v) else {
            return c;
        };
        for (k, v) in self.entries(t, keys::CLUSTER, "[cluster]") {
            match k.get_ref().as_ref() {
                "name" => c.name = self.string("name", v),
                "domain" => c.domain = self.string("domain", v),
                "pod_cidrs" => c.pod_cidrs = self.located_strings("pod_cidrs", v),
                "server" => c.server = self.string("server", v),
                _ => c.service_cidrs = self.located_strings("service_cidrs", v),
            }
        }
        c
    }

    fn cluster_entry(
        &mut self,
        name: &Spanned<std::borrow::Cow<'_, str>>,
        v: &Spanned<DeValue<'_>>,
    ) -> Option<RawClusterEntry> {
        let key: &str = name.get_ref();
        let t = self.table(&format!("clusters.{key}"), v)?;
        let mut c = RawClusterEntry {
            name: Located {
                value: key.to_owned(),
                span: name.span(),
            },
            cluster: RawCluster::default(),
            platform: None,
            platform_span: None,
            mesh: None,
            retired: None,
            purged: None,
            span: v.span(),
        };
        let context = format!("[clusters.{key}]");
        let outer = std::mem::replace(&mut self.scope, format!("clusters.{key}."));
        for (k, v) in self.entries(t, keys::CLUSTERS_ENTRY, &context) {
            match k.get_ref().as_ref() {
                "domain" => c.cluster.domain = self.string("domain", v),
                "pod_cidrs" => c.cluster.pod_cidrs = self.located_strings("pod_cidrs", v),
                "service_cidrs" => {
                    c.cluster.service_cidrs = self.located_strings("service_cidrs", v)
                }
                "server" => c.cluster.server = self.string("server", v),
                "platform" => {
                    c.platform_span = Some(v.span());
                    c.platform = Some(self.platform(v));
                }
                "mesh" => c.mesh = self.mesh(v),
                "retired" => c.retired = self.located_strings("retired", v),
                _ => c.purged = self.located_strings("purged", v),
            }
        }
        self.scope = outer;
        Some(c)
    }

    /// An entry's `clusters` list.
    fn placement(&mut self, v: &Spanned<DeValue<'_>>) -> Option<Located<Vec<Located<String>>>> {
        self.located_strings("clusters", v)
    }

    fn platform(&mut self, v: &Spanned<DeValue<'_>>) -> RawPlatform {
        let mut p = RawPlatform::default();
        let Some(t) = self.table("platform", v) else {
            return p;
        };
        let context = format!("[{}platform]", self.scope);
        for (k, v) in self.entries(t, keys::PLATFORM, &context) {
            match k.get_ref().as_ref() {
                "dns" => p.dns = self.dns(v),
                "ingress" => p.ingress = self.pods("ingress", keys::INGRESS, v),
                "monitoring" => p.monitoring = self.pods("monitoring", keys::MONITORING, v),
                _ => p.kube_api = self.kube_api(v),
            }
        }
        p
    }

    fn dns(&mut self, v: &Spanned<DeValue<'_>>) -> Option<RawDns> {
        let t = self.table("dns", v)?;
        let mut d = RawDns {
            namespace: None,
            service: None,
            pod_labels: None,
            ports: None,
            cidrs: None,
            span: v.span(),
        };
        let context = format!("[{}platform.dns]", self.scope);
        for (k, v) in self.entries(t, keys::DNS, &context) {
            match k.get_ref().as_ref() {
                "namespace" => d.namespace = self.string("namespace", v),
                "service" => d.service = self.string("service", v),
                "pod_labels" => d.pod_labels = self.string_map("pod_labels", v),
                "cidrs" => d.cidrs = self.located_strings("cidrs", v),
                _ => d.ports = self.integers("ports", v),
            }
        }
        Some(d)
    }

    fn pods(&mut self, name: &str, known: &[&str], v: &Spanned<DeValue<'_>>) -> Option<RawPods> {
        let t = self.table(name, v)?;
        let mut p = RawPods {
            namespace: None,
            pod_labels: None,
            ports: None,
            mesh: None,
            span: v.span(),
        };
        let context = format!("[{}platform.{name}]", self.scope);
        for (k, v) in self.entries(t, known, &context) {
            match k.get_ref().as_ref() {
                "namespace" => p.namespace = self.string("namespace", v),
                "pod_labels" => p.pod_labels = self.string_map("pod_labels", v),
                "mesh" => p.mesh = self.boolean("mesh", v),
                _ => p.ports = self.integers("ports", v),
            }
        }
        Some(p)
    }

    fn mesh(&mut self, v: &Spanned<DeValue<'_>>) -> Option<RawMesh> {
        let t = self.table("mesh", v)?;
        let mut m = RawMesh {
            namespace: None,
            pod_labels: None,
            revision: None,
            outbound_traffic_policy: None,
            mode: None,
            mtls: None,
            authorization: None,
            span: v.span(),
        };
        let context = format!("[{}mesh]", self.scope);
        for (k, v) in self.entries(t, keys::MESH, &context) {
            match k.get_ref().as_ref() {
                "namespace" => m.namespace = self.string("namespace", v),
                "pod_labels" => m.pod_labels = self.string_map("pod_labels", v),
                "revision" => m.revision = self.string("revision", v),
                "mode" => m.mode = self.string("mode", v),
                "mtls" => m.mtls = self.string("mtls", v),
                "authorization" => m.authorization = self.boolean("authorization", v),
                _ => m.outbound_traffic_policy = self.string("outbound_traffic_policy", v),
            }
        }
        Some(m)
    }

    fn defaults(&mut self, v: &Spanned<DeValue<'_>>) -> Option<RawDefaults> {
        let t = self.table("defaults", v)?;
        let mut d = RawDefaults {
            pod_security: None,
            pod_security_version: None,
            quota: None,
            container_defaults: None,
            span: v.span(),
        };
        for (k, v) in self.entries(t, keys::DEFAULTS, "[defaults]") {
            match k.get_ref().as_ref() {
                "pod_security" => d.pod_security = self.string("pod_security", v),
                "pod_security_version" => {
                    d.pod_security_version = self.string("pod_security_version", v)
                }
                "quota" => d.quota = self.string_map("quota", v),
                _ => d.container_defaults = self.container_defaults(v),
            }
        }
        Some(d)
    }

    /// Reads `key` into `access` when it is one of the access keys a tenant and a shared entry
    /// share; `false` for any other key.
    fn access_key(&mut self, access: &mut RawAccess, key: &str, v: &Spanned<DeValue<'_>>) -> bool {
        match key {
            "owners" => access.owners = self.strings("owners", v),
            "editors" => access.editors = self.strings("editors", v),
            "viewers" => access.viewers = self.strings("viewers", v),
            "pod_security" => access.pod_security = self.string("pod_security", v),
            "quota" => access.quota = self.string_map("quota", v),
            "container_defaults" => access.container_defaults = self.container_defaults(v),
            _ => return false,
        }
        true
    }

    fn container_defaults(&mut self, v: &Spanned<DeValue<'_>>) -> Option<RawContainerDefaults> {
        let t = self.table("container_defaults", v)?;
        let mut c = RawContainerDefaults {
            request: None,
            limit: None,
            span: v.span(),
        };
        for (k, v) in self.entries(t, keys::CONTAINER_DEFAULTS, "container_defaults") {
            match k.get_ref().as_ref() {
                "request" => c.request = self.string_map("request", v),
                _ => c.limit = self.string_map("limit", v),
            }
        }
        Some(c)
    }

    fn gitops(&mut self, v: &Spanned<DeValue<'_>>) -> Option<RawGitOps> {
        let t = self.table("gitops", v)?;
        let mut g = RawGitOps {
            tool: None,
            repo_url: None,
            revision: None,
            path: None,
            namespace: None,
            secret: None,
            name_prefix: None,
            span: v.span(),
        };
        for (k, v) in self.entries(t, keys::GITOPS, "[gitops]") {
            match k.get_ref().as_ref() {
                "tool" => g.tool = self.string("tool", v),
                "repo_url" => g.repo_url = self.string("repo_url", v),
                "revision" => g.revision = self.string("revision", v),
                "path" => g.path = self.string("path", v),
                "namespace" => g.namespace = self.string("namespace", v),
                "name_prefix" => g.name_prefix = self.string("name_prefix", v),
                _ => g.secret = self.string("secret", v),
            }
        }
        Some(g)
    }

    fn shared(
        &mut self,
        name: &Spanned<std::borrow::Cow<'_, str>>,
        v: &Spanned<DeValue<'_>>,
    ) -> Option<RawShared> {
        let key: &str = name.get_ref();
        let t = self.table(&format!("shared.{key}"), v)?;
        let mut s = RawShared {
            name: Located {
                value: key.to_owned(),
                span: name.span(),
            },
            consumers: None,
            labels: None,
            annotations: None,
            ingress: None,
            ports: None,
            retired: None,
            access: RawAccess::default(),
            clusters: None,
        };
        let context = format!("[shared.{key}]");
        for (k, v) in self.entries(t, keys::SHARED, &context) {
            if self.access_key(&mut s.access, k.get_ref(), v) {
                continue;
            }
            match k.get_ref().as_ref() {
                "consumers" => s.consumers = self.consumers(v),
                "labels" => s.labels = self.string_map("labels", v),
                "annotations" => s.annotations = self.string_map("annotations", v),
                "ports" => s.ports = self.located_integers("ports", v),
                "retired" => s.retired = self.boolean("retired", v),
                "clusters" => s.clusters = self.placement(v),
                _ => s.ingress = self.boolean("ingress", v),
            }
        }
        Some(s)
    }

    fn consumers(&mut self, v: &Spanned<DeValue<'_>>) -> Option<RawConsumers> {
        match v.get_ref() {
            DeValue::String(s) if s == "*" => Some(RawConsumers::All(v.span())),
            DeValue::String(s) => {
                self.error(
                    Diagnostic::new(
                        format!("`consumers` must be \"*\" or a list of tenant and shared names, found the string {s:?}"),
                        v.span(),
                    )
                    .with_help(format!("write consumers = [{s:?}] for a single tenant")),
                );
                None
            }
            _ => self.strings("consumers", v).map(RawConsumers::List),
        }
    }

    fn tenant(
        &mut self,
        name: &Spanned<std::borrow::Cow<'_, str>>,
        v: &Spanned<DeValue<'_>>,
    ) -> Option<RawTenant> {
        let key: &str = name.get_ref();
        let t = self.table(&format!("tenants.{key}"), v)?;
        let mut tenant = RawTenant {
            name: Located {
                value: key.to_owned(),
                span: name.span(),
            },
            namespaces: None,
            labels: None,
            annotations: None,
            ingress: None,
            kube_api: None,
            expose: Vec::new(),
            retired: None,
            access: RawAccess::default(),
            clusters: None,
        };
        let context = format!("[tenants.{key}]");
        for (k, v) in self.entries(t, keys::TENANT, &context) {
            if self.access_key(&mut tenant.access, k.get_ref(), v) {
                continue;
            }
            match k.get_ref().as_ref() {
                "namespaces" => {
                    tenant.namespaces = self.strings("namespaces", v).map(|list| Located {
                        value: list,
                        span: v.span(),
                    })
                }
                "labels" => tenant.labels = self.string_map("labels", v),
                "annotations" => tenant.annotations = self.string_map("annotations", v),
                "ingress" => tenant.ingress = self.tenant_ingress(v),
                "kube_api" => tenant.kube_api = self.boolean("kube_api", v),
                "retired" => tenant.retired = self.tenant_retired(v),
                "clusters" => tenant.clusters = self.placement(v),
                _ => tenant.expose = self.exposes(key, v),
            }
        }
        Some(tenant)
    }

    fn tenant_ingress(&mut self, v: &Spanned<DeValue<'_>>) -> Option<RawIngress> {
        match v.get_ref() {
            DeValue::Boolean(b) => Some(RawIngress::Flag(Located {
                value: *b,
                span: v.span(),
            })),
            DeValue::Array(_) => self.located_strings("ingress", v).map(RawIngress::List),
            _ => {
                self.type_error(
                    "ingress",
                    "true, false or a list of the tenant's namespaces",
                    v,
                );
                None
            }
        }
    }

    fn tenant_retired(&mut self, v: &Spanned<DeValue<'_>>) -> Option<RawRetired> {
        match v.get_ref() {
            DeValue::Boolean(b) => Some(RawIngress::Flag(Located {
                value: *b,
                span: v.span(),
            })),
            DeValue::Array(_) => self.located_strings("retired", v).map(RawIngress::List),
            _ => {
                self.type_error(
                    "retired",
                    "true, false or a list of the tenant's namespaces",
                    v,
                );
                None
            }
        }
    }

    fn purged(&mut self, v: &Spanned<DeValue<'_>>) -> Option<RawPurged> {
        let t = self.table("purged", v)?;
        let mut p = RawPurged {
            namespaces: None,
            span: v.span(),
        };
        for (_, v) in self.entries(t, keys::PURGED, "[purged]") {
            p.namespaces = self.located_strings("namespaces", v);
        }
        Some(p)
    }

    fn exposes(&mut self, tenant: &str, v: &Spanned<DeValue<'_>>) -> Vec<RawExpose> {
        let mut out = Vec::new();
        let Some(t) = self.table("expose", v) else {
            return out;
        };
        for (name, entry) in t.iter() {
            let ns: &str = name.get_ref();
            let Some(t) = self.table(&format!("expose.{ns}"), entry) else {
                continue;
            };
            let mut e = RawExpose {
                namespace: Located {
                    value: ns.to_owned(),
                    span: name.span(),
                },
                consumers: None,
                ports: None,
            };
            let context = format!("[tenants.{tenant}.expose.{ns}]");
            for (k, v) in self.entries(t, keys::EXPOSE, &context) {
                match k.get_ref().as_ref() {
                    "consumers" => e.consumers = self.consumers(v),
                    _ => e.ports = self.located_integers("ports", v),
                }
            }
            out.push(e);
        }
        out
    }

    fn external(
        &mut self,
        name: &Spanned<std::borrow::Cow<'_, str>>,
        v: &Spanned<DeValue<'_>>,
    ) -> Option<RawExternal> {
        let key: &str = name.get_ref();
        let t = self.table(&format!("external.{key}"), v)?;
        let mut e = RawExternal {
            name: Located {
                value: key.to_owned(),
                span: name.span(),
            },
            hosts: None,
            cidrs: None,
            ports: None,
            protocol: None,
            consumers: None,
            clusters: None,
        };
        let context = format!("[external.{key}]");
        for (k, v) in self.entries(t, keys::EXTERNAL, &context) {
            match k.get_ref().as_ref() {
                "hosts" => e.hosts = self.strings("hosts", v),
                "cidrs" => e.cidrs = self.located_strings("cidrs", v),
                "ports" => e.ports = self.located_integers("ports", v),
                "protocol" => e.protocol = self.string("protocol", v),
                "clusters" => e.clusters = self.placement(v),
                _ => e.consumers = self.consumers(v),
            }
        }
        Some(e)
    }

    fn kube_api(&mut self, v: &Spanned<DeValue<'_>>) -> Option<RawKubeApi> {
        let t = self.table("kube_api", v)?;
        let mut k = RawKubeApi {
            cidrs: None,
            ports: None,
            span: v.span(),
        };
        let context = format!("[{}platform.kube_api]", self.scope);
        for (key, v) in self.entries(t, keys::KUBE_API, &context) {
            match key.get_ref().as_ref() {
                "cidrs" => k.cidrs = self.located_strings("cidrs", v),
                _ => k.ports = self.located_integers("ports", v),
            }
        }
        Some(k)
    }
}
