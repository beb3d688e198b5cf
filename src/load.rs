//! Stage 1, load: read tenants.toml into raw, span-carrying structures.
//!
//! The loader walks the TOML tree itself instead of using `serde` derive, so that it can report
//! *every* syntax error, unknown key and wrong type in one run, each with its exact span and the
//! closest known key, rather than stopping at the first one as serde does.

use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::diag::{closest, Diagnostic};

/// A value and the byte span it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located<T> {
    pub value: T,
    pub span: Range<usize>,
}

pub type RawMap = Vec<(Located<String>, Located<String>)>;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawConfig {
    pub version: Option<Located<i64>>,
    pub cluster: RawCluster,
    pub platform: RawPlatform,
    pub mesh: Option<RawMesh>,
    pub shared: Vec<RawShared>,
    pub tenants: Vec<RawTenant>,
    pub externals: Vec<RawExternal>,
    pub gitops: Option<RawGitOps>,
    /// `[purged]`: namespaces a person deleted from the cluster, which may leave tenants.toml.
    pub purged: Option<RawPurged>,
}

/// `[purged]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawPurged {
    pub namespaces: Option<Located<Vec<Located<String>>>>,
    pub span: Range<usize>,
}

/// A tenant's `retired`: `true` (every namespace), `false`, or a list of some of its namespaces;
/// the same shape as `ingress`.
pub type RawRetired = RawIngress;

/// `[external.<name>]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawExternal {
    pub name: Located<String>,
    pub hosts: Option<Vec<Located<String>>>,
    pub cidrs: Option<Located<Vec<Located<String>>>>,
    pub ports: Option<Located<Vec<Located<i64>>>>,
    pub protocol: Option<Located<String>>,
    pub consumers: Option<RawConsumers>,
}

/// `[platform.kube_api]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawKubeApi {
    pub cidrs: Option<Located<Vec<Located<String>>>>,
    pub ports: Option<Located<Vec<Located<i64>>>>,
    pub span: Range<usize>,
}

/// A tenant's `ingress`: `true`/`false`, or a list of its namespaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawIngress {
    Flag(Located<bool>),
    List(Located<Vec<Located<String>>>),
}

/// `[tenants.<t>.expose.<namespace>]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawExpose {
    pub namespace: Located<String>,
    pub consumers: Option<RawConsumers>,
    pub ports: Option<Located<Vec<Located<i64>>>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawGitOps {
    pub tool: Option<Located<String>>,
    pub repo_url: Option<Located<String>>,
    pub revision: Option<Located<String>>,
    pub path: Option<Located<String>>,
    pub namespace: Option<Located<String>>,
    pub secret: Option<Located<String>>,
    pub span: Range<usize>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawCluster {
    pub name: Option<Located<String>>,
    pub domain: Option<Located<String>>,
    pub pod_cidrs: Option<Located<Vec<Located<String>>>>,
    pub service_cidrs: Option<Located<Vec<Located<String>>>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawPlatform {
    pub dns: Option<RawDns>,
    pub ingress: Option<RawPods>,
    pub monitoring: Option<RawPods>,
    pub kube_api: Option<RawKubeApi>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawDns {
    pub namespace: Option<Located<String>>,
    pub service: Option<Located<String>>,
    pub pod_labels: Option<RawMap>,
    pub ports: Option<Vec<Located<i64>>>,
    pub cidrs: Option<Located<Vec<Located<String>>>>,
    pub span: Range<usize>,
}

/// `[platform.ingress]` and `[platform.monitoring]`; `ports` only for monitoring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawPods {
    pub namespace: Option<Located<String>>,
    pub pod_labels: Option<RawMap>,
    pub ports: Option<Vec<Located<i64>>>,
    /// Its pods are in the Istio mesh (they have a workload identity).
    pub mesh: Option<Located<bool>>,
    pub span: Range<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawMesh {
    pub namespace: Option<Located<String>>,
    pub pod_labels: Option<RawMap>,
    pub revision: Option<Located<String>>,
    pub outbound_traffic_policy: Option<Located<String>>,
    /// `"sidecar"` or `"ambient"`.
    pub mode: Option<Located<String>>,
    /// `"STRICT"` or `"PERMISSIVE"`.
    pub mtls: Option<Located<String>>,
    pub authorization: Option<Located<bool>>,
    pub span: Range<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawConsumers {
    All(Range<usize>),
    List(Vec<Located<String>>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawShared {
    pub name: Located<String>,
    pub consumers: Option<RawConsumers>,
    pub labels: Option<RawMap>,
    pub annotations: Option<RawMap>,
    pub ingress: Option<Located<bool>>,
    pub ports: Option<Located<Vec<Located<i64>>>>,
    pub retired: Option<Located<bool>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawTenant {
    pub name: Located<String>,
    pub namespaces: Option<Located<Vec<Located<String>>>>,
    pub labels: Option<RawMap>,
    pub annotations: Option<RawMap>,
    pub ingress: Option<RawIngress>,
    pub kube_api: Option<Located<bool>>,
    pub expose: Vec<RawExpose>,
    pub retired: Option<RawRetired>,
}

/// Known keys per table, the single list both the loader and its "did you mean" use.
pub mod keys {
    pub const ROOT: &[&str] = &[
        "version", "cluster", "platform", "mesh", "shared", "tenants", "external", "gitops",
        "purged",
    ];
    pub const PURGED: &[&str] = &["namespaces"];
    pub const CLUSTER: &[&str] = &["name", "domain", "pod_cidrs", "service_cidrs"];
    pub const PLATFORM: &[&str] = &["dns", "ingress", "monitoring", "kube_api"];
    pub const DNS: &[&str] = &["namespace", "service", "pod_labels", "ports", "cidrs"];
    pub const KUBE_API: &[&str] = &["cidrs", "ports"];
    pub const EXTERNAL: &[&str] = &["hosts", "cidrs", "ports", "protocol", "consumers"];
    pub const EXPOSE: &[&str] = &["consumers", "ports"];
    pub const INGRESS: &[&str] = &["namespace", "pod_labels", "mesh"];
    pub const MONITORING: &[&str] = &["namespace", "pod_labels", "ports", "mesh"];
    pub const MESH: &[&str] = &[
        "namespace",
        "pod_labels",
        "revision",
        "outbound_traffic_policy",
        "mode",
        "mtls",
        "authorization",
    ];
    pub const SHARED: &[&str] = &[
        "consumers",
        "labels",
        "annotations",
        "ingress",
        "ports",
        "retired",
    ];
    pub const TENANT: &[&str] = &[
        "namespaces",
        "labels",
        "annotations",
        "ingress",
        "kube_api",
        "expose",
        "retired",
    ];
    pub const GITOPS: &[&str] = &[
        "tool",
        "repo_url",
        "revision",
        "path",
        "namespace",
        "secret",
    ];
}

/// Parses `source`; on failure returns every problem found, not only the first.
pub fn load(source: &str) -> Result<RawConfig, Vec<Diagnostic>> {
    let (config, diags) = load_partial(source)?;
    if diags.is_empty() {
        Ok(config)
    } else {
        Err(diags)
    }
}

/// Parses `source`. A TOML syntax error is fatal (`Err`, with every syntax error found); otherwise
/// returns what could be read together with the problems found (unknown keys, wrong types), so that
/// the resolve stage can still report the rule violations of the rest of the file in the same run.
pub fn load_partial(source: &str) -> Result<(RawConfig, Vec<Diagnostic>), Vec<Diagnostic>> {
    let (root, errors) = DeTable::parse_recoverable(source);
    if !errors.is_empty() {
        let mut diags: Vec<Diagnostic> = errors
            .iter()
            .map(|e| {
                let span = e.span().unwrap_or(0..0);
                Diagnostic::new(format!("invalid TOML: {}", e.message().trim()), span)
            })
            .collect();
        diags.sort_by_key(|d| (d.span.start, d.span.end));
        diags.dedup();
        return Err(diags);
    }
    let mut w = Walker::default();
    let config = w.root(root.get_ref());
    w.diags
        .extend(crate::text::check_config(source, root.get_ref()));
    w.diags.sort_by_key(|d| (d.span.start, d.span.end));
    Ok((config, w.diags))
}

type Entry<'a, 'i> = (
    &'a Spanned<std::borrow::Cow<'i, str>>,
    &'a Spanned<DeValue<'i>>,
);

#[derive(Default)]
struct Walker {
    diags: Vec<Diagnostic>,
}

fn kind_of(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

impl Walker {
    fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Entries of `table`, reporting every key not in `known` (with the closest known key).
    fn entries<'a, 'i>(
        &mut self,
        table: &'a DeTable<'i>,
        known: &[&str],
        context: &str,
    ) -> Vec<Entry<'a, 'i>> {
        let mut out = Vec::new();
        for (k, v) in table.iter() {
            let key: &str = k.get_ref();
            if known.contains(&key) {
                out.push((k, v));
            } else {
                let mut d = Diagnostic::new(format!("unknown key `{key}` in {context}"), k.span())
                    .with_label("unknown key");
                d = match closest(key, known.iter().copied()) {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None => d.with_help(format!("known keys here: {}", known.join(", "))),
                };
                self.error(d);
            }
        }
        out
    }

    fn type_error(&mut self, key: &str, expected: &str, v: &Spanned<DeValue<'_>>) {
        self.error(Diagnostic::new(
            format!("`{key}` must be {expected}, found {}", kind_of(v.get_ref())),
            v.span(),
        ));
    }

    fn table<'a, 'i>(&mut self, key: &str, v: &'a Spanned<DeValue<'i>>) -> Option<&'a DeTable<'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => {
                self.type_error(key, "a table", v);
                None
            }
        }
    }

    /// `[tenants.<name>]` / `[shared.<name>]`: a table of tables keyed by name.
    fn named_tables<'a, 'i>(
        &mut self,
        key: &str,
        v: &'a Spanned<DeValue<'i>>,
    ) -> Option<&'a DeTable<'i>> {
        if let DeValue::Array(_) = v.get_ref() {
            self.error(
                Diagnostic::new(format!("`{key}` must be a table, found an array"), v.span())
                    .with_help(format!(
                        "write one [{key}.<name>] table per entry, not [[{key}]]"
                    )),
            );
            return None;
        }
        self.table(key, v)
    }

    fn string(&mut self, key: &str, v: &Spanned<DeValue<'_>>) -> Option<Located<String>> {
        match v.get_ref() {
            DeValue::String(s) => Some(Located {
                value: s.to_string(),
                span: v.span(),
            }),
            _ => {
                self.type_error(key, "a string", v);
                None
            }
        }
    }

    fn boolean(&mut self, key: &str, v: &Spanned<DeValue<'_>>) -> Option<Located<bool>> {
        match v.get_ref() {
            DeValue::Boolean(b) => Some(Located {
                value: *b,
                span: v.span(),
            }),
            _ => {
                self.type_error(key, "true or false", v);
                None
            }
        }
    }

    fn integer(&mut self, key: &str, v: &Spanned<DeValue<'_>>) -> Option<Located<i64>> {
        match v.get_ref() {
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Some(Located {
                    value: n,
                    span: v.span(),
                }),
                Err(_) => {
                    self.error(Diagnostic::new(
                        format!("`{key}` is out of range"),
                        v.span(),
                    ));
                    None
                }
            },
            _ => {
                self.type_error(key, "an integer", v);
                None
            }
        }
    }

    fn array<'a, 'i>(
        &mut self,
        key: &str,
        expected: &str,
        v: &'a Spanned<DeValue<'i>>,
    ) -> Option<&'a [Spanned<DeValue<'i>>]> {
        match v.get_ref() {
            DeValue::Array(a) => Some(&a[..]),
            _ => {
                self.type_error(key, expected, v);
                None
            }
        }
    }

    fn strings(&mut self, key: &str, v: &Spanned<DeValue<'_>>) -> Option<Vec<Located<String>>> {
        let items = self.array(key, "an array of strings", v)?;
        let out: Vec<_> = items.iter().filter_map(|i| self.string(key, i)).collect();
        (out.len() == items.len()).then_some(out)
    }

    fn integers(&mut self, key: &str, v: &Spanned<DeValue<'_>>) -> Option<Vec<Located<i64>>> {
        let items = self.array(key, "an array of integers", v)?;
        let out: Vec<_> = items.iter().filter_map(|i| self.integer(key, i)).collect();
        (out.len() == items.len()).then_some(out)
    }

    /// A table of string values, such as labels or annotations.
    fn string_map(&mut self, key: &str, v: &Spanned<DeValue<'_>>) -> Option<RawMap> {
        let table = self.table(key, v)?;
        let mut out = Vec::new();
        for (k, val) in table.iter() {
            let name: &str = k.get_ref();
            match val.get_ref() {
                DeValue::String(s) => out.push((
                    Located { value: name.to_owned(), span: k.span() },
                    Located { value: s.to_string(), span: val.span() },
                )),
                DeValue::Table(_) => self.error(
                    Diagnostic::new(
                        format!("the value of `{name}` in `{key}` must be a string, found a table"),
                        val.span(),
                    )
                    .with_help(format!(
                        "a key with dots must be quoted: \"{name}.…\" = \"…\" (TOML reads unquoted dots as nested tables)"
                    )),
                ),
                other => self.error(
                    Diagnostic::new(
                        format!("the value of `{name}` in `{key}` must be a string, found {}", kind_of(other)),
                        val.span(),
                    )
                    .with_help("quote it: Kubernetes label and annotation values are strings"),
                ),
            }
        }
        Some(out)
    }

    fn root(&mut self, root: &DeTable<'_>) -> RawConfig {
        let mut config = RawConfig::default();
        for (k, v) in self.entries(root, keys::ROOT, "the top level") {
            match k.get_ref().as_ref() {
                "version" => config.version = self.integer("version", v),
                "cluster" => config.cluster = self.cluster(v),
                "platform" => config.platform = self.platform(v),
                "mesh" => config.mesh = self.mesh(v),
                "gitops" => config.gitops = self.gitops(v),
                "purged" => config.purged = self.purged(v),
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
                _ => c.service_cidrs = self.located_strings("service_cidrs", v),
            }
        }
        c
    }

    fn platform(&mut self, v: &Spanned<DeValue<'_>>) -> RawPlatform {
        let mut p = RawPlatform::default();
        let Some(t) = self.table("platform", v) else {
            return p;
        };
        for (k, v) in self.entries(t, keys::PLATFORM, "[platform]") {
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
        for (k, v) in self.entries(t, keys::DNS, "[platform.dns]") {
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
        let context = format!("[platform.{name}]");
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
        for (k, v) in self.entries(t, keys::MESH, "[mesh]") {
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

    fn gitops(&mut self, v: &Spanned<DeValue<'_>>) -> Option<RawGitOps> {
        let t = self.table("gitops", v)?;
        let mut g = RawGitOps {
            tool: None,
            repo_url: None,
            revision: None,
            path: None,
            namespace: None,
            secret: None,
            span: v.span(),
        };
        for (k, v) in self.entries(t, keys::GITOPS, "[gitops]") {
            match k.get_ref().as_ref() {
                "tool" => g.tool = self.string("tool", v),
                "repo_url" => g.repo_url = self.string("repo_url", v),
                "revision" => g.revision = self.string("revision", v),
                "path" => g.path = self.string("path", v),
                "namespace" => g.namespace = self.string("namespace", v),
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
        };
        let context = format!("[shared.{key}]");
        for (k, v) in self.entries(t, keys::SHARED, &context) {
            match k.get_ref().as_ref() {
                "consumers" => s.consumers = self.consumers(v),
                "labels" => s.labels = self.string_map("labels", v),
                "annotations" => s.annotations = self.string_map("annotations", v),
                "ports" => s.ports = self.located_integers("ports", v),
                "retired" => s.retired = self.boolean("retired", v),
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
        };
        let context = format!("[tenants.{key}]");
        for (k, v) in self.entries(t, keys::TENANT, &context) {
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
        };
        let context = format!("[external.{key}]");
        for (k, v) in self.entries(t, keys::EXTERNAL, &context) {
            match k.get_ref().as_ref() {
                "hosts" => e.hosts = self.strings("hosts", v),
                "cidrs" => e.cidrs = self.located_strings("cidrs", v),
                "ports" => e.ports = self.located_integers("ports", v),
                "protocol" => e.protocol = self.string("protocol", v),
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
        for (key, v) in self.entries(t, keys::KUBE_API, "[platform.kube_api]") {
            match key.get_ref().as_ref() {
                "cidrs" => k.cidrs = self.located_strings("cidrs", v),
                _ => k.ports = self.located_integers("ports", v),
            }
        }
        Some(k)
    }

    /// A list of strings, with the span of the whole list (for "must not be empty").
    fn located_strings(
        &mut self,
        key: &str,
        v: &Spanned<DeValue<'_>>,
    ) -> Option<Located<Vec<Located<String>>>> {
        self.strings(key, v).map(|value| Located {
            value,
            span: v.span(),
        })
    }

    fn located_integers(
        &mut self,
        key: &str,
        v: &Spanned<DeValue<'_>>,
    ) -> Option<Located<Vec<Located<i64>>>> {
        self.integers(key, v).map(|value| Located {
            value,
            span: v.span(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_every_unknown_key_with_a_suggestion() {
        let src = "version = 1\n[tenants.acme]\nnamespace = [\"a\"]\ningres = true\n";
        let diags = load(src).unwrap_err();
        assert_eq!(diags.len(), 2, "{diags:?}");
        assert_eq!(
            diags[0].message,
            "unknown key `namespace` in [tenants.acme]"
        );
        assert_eq!(diags[0].help.as_deref(), Some("did you mean `namespaces`?"));
        assert_eq!(&src[diags[0].span.clone()], "namespace");
        assert_eq!(diags[1].help.as_deref(), Some("did you mean `ingress`?"));
    }

    #[test]
    fn reports_wrong_types() {
        let diags = load("version = \"1\"\n[tenants.a]\ningress = \"yes\"\n").unwrap_err();
        assert_eq!(diags.len(), 2);
        assert_eq!(
            diags[0].message,
            "`version` must be an integer, found a string"
        );
        assert_eq!(
            diags[1].message,
            "`ingress` must be true, false or a list of the tenant's namespaces, found a string"
        );
    }

    #[test]
    fn syntax_errors_carry_a_span() {
        let diags = load("version = 1\n[tenants.a\n").unwrap_err();
        assert!(diags[0].message.starts_with("invalid TOML"), "{diags:?}");
        assert!(diags[0].span.start >= 12);
    }

    #[test]
    fn keeps_spans_of_names() {
        let src = "version = 1\n[tenants.acme]\nnamespaces = [\"acme\", \"acme-jobs\"]\n";
        let config = load(src).unwrap();
        let t = &config.tenants[0];
        assert_eq!(&src[t.name.span.clone()], "acme");
        let ns = &t.namespaces.as_ref().unwrap().value[1];
        assert_eq!(&src[ns.span.clone()], "\"acme-jobs\"");
    }
}
