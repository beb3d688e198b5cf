//! Stage 2, resolve: check every rule of tenants.toml v1, collect *all* errors, and turn the raw,
//! span-carrying input into the immutable, sorted [`Config`].

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use crate::diag::{closest, line_col, Diagnostic};
use crate::load::{Located, RawConfig, RawConsumers, RawGitOps, RawMap, RawPods};
use crate::model::{
    Annotations, Cluster, Config, Consumers, Dns, GitOps, GitOpsTool, LabelKey, LabelValue, Labels,
    Mesh, Monitoring, NamespaceName, OutboundTrafficPolicy, Platform, PlatformPods, Port, Shared,
    Tenant, TenantName,
};

/// Namespaces Kubernetes itself owns; no tenant or shared entry may claim them.
pub const RESERVED_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

/// Label keys the compiler sets on namespaces; users may not set them.
pub const LABEL_NAME: &str = "kubernetes.io/metadata.name";
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const LABEL_TENANT: &str = "tenantc.dev/tenant";
pub const LABEL_SHARED: &str = "tenantc.dev/shared";
pub const LABEL_CLUSTER: &str = "tenantc.dev/cluster";
pub const LABEL_INJECTION: &str = "istio-injection";
pub const LABEL_REVISION: &str = "istio.io/rev";
/// Every key under this prefix is the compiler's.
pub const OWNED_PREFIX: &str = "tenantc.dev/";

/// Kubernetes rejects an object whose annotations exceed 256 KiB in total.
const MAX_ANNOTATIONS_BYTES: usize = 256 * 1024;

pub fn resolve(raw: &RawConfig, source: &str) -> Result<Config, Vec<Diagnostic>> {
    let mut r = Resolver {
        source,
        diags: Vec::new(),
    };
    let config = r.config(raw);
    if r.diags.is_empty() {
        // `config` is `Some` whenever no diagnostic was recorded.
        config.ok_or_else(Vec::new)
    } else {
        r.diags.sort_by_key(|d| (d.span.start, d.span.end));
        Err(r.diags)
    }
}

struct Resolver<'s> {
    source: &'s str,
    diags: Vec<Diagnostic>,
}

/// Who claims a namespace, for "already claimed by" messages.
struct Claim {
    owner: String,
    span: Range<usize>,
}

impl Resolver<'_> {
    fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn line(&self, span: &Range<usize>) -> usize {
        line_col(self.source, span.start).0
    }

    fn namespace(&mut self, what: &str, s: &Located<String>) -> Option<NamespaceName> {
        self.dns_name(
            NamespaceName::new,
            &format!("{what} `{}` is not a valid namespace name", s.value),
            s,
        )
    }

    /// Checks a name with `check`, suggesting a fixed spelling where one is obvious.
    fn dns_name<T>(
        &mut self,
        check: fn(&str) -> Result<T, String>,
        message: &str,
        s: &Located<String>,
    ) -> Option<T> {
        match check(&s.value) {
            Ok(n) => Some(n),
            Err(e) => {
                let mut d = Diagnostic::new(format!("{message}: it {e}"), s.span.clone());
                let fixed = suggest_dns_label(&s.value);
                if check(&fixed).is_ok() && fixed != s.value {
                    d = d.with_help(format!("did you mean `{fixed}`?"));
                }
                self.error(d);
                None
            }
        }
    }

    fn ports(
        &mut self,
        list: &[Located<i64>],
        what: &str,
        allow_empty: bool,
        span: &Range<usize>,
    ) -> BTreeSet<Port> {
        let mut out = BTreeSet::new();
        if list.is_empty() && !allow_empty {
            self.error(Diagnostic::new(
                format!("{what} must list at least one port"),
                span.clone(),
            ));
        }
        for p in list {
            match Port::new(p.value) {
                Ok(port) => {
                    if !out.insert(port) {
                        self.error(Diagnostic::new(
                            format!("port {port} is listed twice in {what}"),
                            p.span.clone(),
                        ));
                    }
                }
                Err(e) => self.error(Diagnostic::new(e, p.span.clone())),
            }
        }
        out
    }

    /// Labels of pods (selectors) or of namespaces; `owned` forbids the compiler's own keys.
    fn labels(&mut self, map: Option<&RawMap>, what: &str, owned: &BTreeSet<&str>) -> Labels {
        let mut out = Labels::new();
        for (k, v) in map.into_iter().flatten() {
            let key = self.label_key(k, what, owned);
            let value = match LabelValue::new(&v.value) {
                Ok(v) => Some(v),
                Err(e) => {
                    self.error(Diagnostic::new(
                        format!("{what} `{}` has an invalid value {:?}: the {e}", k.value, v.value),
                        v.span.clone(),
                    ).with_help("label values are at most 63 letters, digits, `-`, `_` or `.`; put free text in an annotation"));
                    None
                }
            };
            if let (Some(k), Some(v)) = (key, value) {
                out.insert(k, v);
            }
        }
        out
    }

    fn label_key(
        &mut self,
        k: &Located<String>,
        what: &str,
        owned: &BTreeSet<&str>,
    ) -> Option<LabelKey> {
        if owned.contains(k.value.as_str()) || k.value.starts_with(OWNED_PREFIX) {
            self.error(
                Diagnostic::new(
                    format!(
                        "{what} `{}` is set by tenantc itself and may not be overridden",
                        k.value
                    ),
                    k.span.clone(),
                )
                .with_help("remove it; tenantc sets it on every namespace it generates"),
            );
            return None;
        }
        match LabelKey::new(&k.value) {
            Ok(key) => Some(key),
            Err(e) => {
                self.error(Diagnostic::new(
                    format!("{what} key `{}` is invalid: {e}", k.value),
                    k.span.clone(),
                ));
                None
            }
        }
    }

    /// `ingress = true` means nothing without `[platform.ingress]` to say where the controller runs.
    fn ingress_flag(&mut self, flag: Option<&Located<bool>>, raw: &RawConfig, owner: &str) -> bool {
        let on = flag.is_some_and(|b| b.value);
        if let (true, Some(f), None) = (on, flag, &raw.platform.ingress) {
            self.error(
                Diagnostic::new(
                    format!(
                        "{owner} sets `ingress = true`, but [platform.ingress] is not configured"
                    ),
                    f.span.clone(),
                )
                .with_help(
                    "add ingress = { namespace = \"...\", pod_labels = { ... } } under [platform]",
                ),
            );
        }
        on
    }

    fn annotations(&mut self, map: Option<&RawMap>, owned: &BTreeSet<&str>) -> Annotations {
        let mut out = Annotations::new();
        let mut total = 0;
        for (k, v) in map.into_iter().flatten() {
            total += k.value.len() + v.value.len();
            if total > MAX_ANNOTATIONS_BYTES {
                self.error(Diagnostic::new(
                    format!("annotations exceed Kubernetes' limit of {MAX_ANNOTATIONS_BYTES} bytes in total"),
                    v.span.clone(),
                ));
                return out;
            }
            if let Some(key) = self.label_key(k, "annotation", owned) {
                out.insert(key, v.value.clone());
            }
        }
        out
    }

    fn config(&mut self, raw: &RawConfig) -> Option<Config> {
        match &raw.version {
            None => self.error(
                Diagnostic::new("missing `version`", 0..0)
                    .with_help("add `version = 1` as the first line"),
            ),
            Some(v) if v.value != 1 => self.error(
                Diagnostic::new(
                    format!(
                        "unsupported version {}: this tenantc reads version 1",
                        v.value
                    ),
                    v.span.clone(),
                )
                .with_help("set `version = 1`"),
            ),
            Some(_) => {}
        }

        let cluster = self.cluster(raw);
        let platform = self.platform(raw);
        let mesh = self.mesh(raw);
        let gitops = raw.gitops.as_ref().map(|g| self.gitops(g));

        let mut owned: BTreeSet<&str> = [
            LABEL_NAME,
            LABEL_MANAGED_BY,
            LABEL_TENANT,
            LABEL_SHARED,
            LABEL_CLUSTER,
        ]
        .into_iter()
        .collect();
        if mesh.is_some() {
            owned.extend([LABEL_INJECTION, LABEL_REVISION]);
        }

        // Every namespace claim, first by position in the file, so "already claimed" names the earlier one.
        let mut claims: BTreeMap<String, Claim> = BTreeMap::new();
        let platform_claims = [
            (
                "platform.dns",
                raw.platform.dns.as_ref().and_then(|d| d.namespace.as_ref()),
            ),
            (
                "platform.ingress",
                raw.platform
                    .ingress
                    .as_ref()
                    .and_then(|p| p.namespace.as_ref()),
            ),
            (
                "platform.monitoring",
                raw.platform
                    .monitoring
                    .as_ref()
                    .and_then(|p| p.namespace.as_ref()),
            ),
            ("mesh", raw.mesh.as_ref().and_then(|m| m.namespace.as_ref())),
            (
                "gitops",
                raw.gitops.as_ref().and_then(|g| g.namespace.as_ref()),
            ),
        ];
        for (owner, ns) in platform_claims.into_iter() {
            if let Some(ns) = ns {
                claims.entry(ns.value.clone()).or_insert(Claim {
                    owner: format!("[{owner}]"),
                    span: ns.span.clone(),
                });
            }
        }
        let mesh_ns = mesh.as_ref().map(|m| m.namespace.as_str().to_owned());
        let dns_ns = platform
            .as_ref()
            .map(|p| p.dns.namespace.as_str().to_owned());
        // The GitOps controller's namespace, even when it is the tool's default.
        let gitops_ns = gitops
            .as_ref()
            .and_then(|g| g.as_ref())
            .map(|g| g.namespace.as_str().to_owned());

        // (namespace, owner description, span) in file order
        let mut wanted: Vec<(Located<String>, String)> = Vec::new();
        for s in &raw.shared {
            wanted.push((s.name.clone(), format!("shared entry `{}`", s.name.value)));
        }
        for t in &raw.tenants {
            match &t.namespaces {
                Some(list) => {
                    if list.value.is_empty() {
                        self.error(
                            Diagnostic::new(format!("tenant `{}` has no namespace", t.name.value), list.span.clone())
                                .with_help(format!("list at least one, or remove `namespaces` to get the default [\"{}\"]", t.name.value)),
                        );
                    }
                    for ns in &list.value {
                        wanted.push((ns.clone(), format!("tenant `{}`", t.name.value)));
                    }
                }
                None => wanted.push((t.name.clone(), format!("tenant `{}`", t.name.value))),
            }
        }
        wanted.sort_by_key(|(ns, _)| ns.span.start);
        let mut bad_claims = false;
        for (ns, owner) in &wanted {
            let reserved = RESERVED_NAMESPACES.contains(&ns.value.as_str())
                || mesh_ns.as_deref() == Some(ns.value.as_str())
                || dns_ns.as_deref() == Some(ns.value.as_str())
                || gitops_ns.as_deref() == Some(ns.value.as_str());
            if reserved && !claims.contains_key(&ns.value) {
                bad_claims = true;
                self.error(
                    Diagnostic::new(
                        format!(
                            "{owner} claims namespace `{}`, which is reserved for the platform",
                            ns.value
                        ),
                        ns.span.clone(),
                    )
                    .with_help("tenants and shared entries need namespaces of their own"),
                );
                continue;
            }
            if ns.value.starts_with("kube-") && !claims.contains_key(&ns.value) {
                bad_claims = true;
                self.error(Diagnostic::new(
                    format!("{owner} claims namespace `{}`: the `kube-` prefix is reserved for Kubernetes system namespaces", ns.value),
                    ns.span.clone(),
                ));
                continue;
            }
            if let Some(first) = claims.get(&ns.value) {
                bad_claims = true;
                let line = self.line(&first.span);
                let same = first.owner == *owner;
                let message = if same {
                    format!("{owner} lists namespace `{}` twice", ns.value)
                } else {
                    format!(
                        "{owner} claims namespace `{}`, already claimed by {} at line {line}",
                        ns.value, first.owner
                    )
                };
                let by_default = !same
                    && raw
                        .tenants
                        .iter()
                        .any(|t| t.namespaces.is_none() && t.name.span == ns.span);
                let help = if same {
                    "remove the duplicate".to_owned()
                } else if by_default {
                    format!(
                        "`{}` is this tenant's default namespace; give it others with namespaces = [...]",
                        ns.value
                    )
                } else {
                    format!(
                        "a namespace belongs to exactly one owner; rename it or remove it from {}",
                        first.owner
                    )
                };
                self.error(Diagnostic::new(message, ns.span.clone()).with_help(help));
                continue;
            }
            claims.insert(
                ns.value.clone(),
                Claim {
                    owner: owner.clone(),
                    span: ns.span.clone(),
                },
            );
        }

        let tenant_names: Vec<&str> = raw.tenants.iter().map(|t| t.name.value.as_str()).collect();
        let mut shared = BTreeMap::new();
        for s in &raw.shared {
            let name = self.namespace("shared entry", &s.name);
            let consumers = match &s.consumers {
                None | Some(RawConsumers::All(_)) => Consumers::All,
                Some(RawConsumers::List(list)) => {
                    let mut set = BTreeSet::new();
                    for c in list {
                        if !tenant_names.contains(&c.value.as_str()) {
                            let mut d = Diagnostic::new(
                                format!(
                                    "shared entry `{}` lists consumer `{}`, which is not a tenant",
                                    s.name.value, c.value
                                ),
                                c.span.clone(),
                            );
                            if let Some(best) = closest(&c.value, tenant_names.iter().copied()) {
                                d = d.with_help(format!("did you mean `{best}`?"));
                            }
                            self.error(d);
                            continue;
                        }
                        // An invalid tenant name is reported at the tenant's own definition.
                        if let Ok(t) = TenantName::new(&c.value) {
                            if !set.insert(t) {
                                self.error(
                                    Diagnostic::new(
                                        format!("consumer `{}` is listed twice", c.value),
                                        c.span.clone(),
                                    )
                                    .with_help("remove the duplicate"),
                                );
                            }
                        }
                    }
                    Consumers::Only(set)
                }
            };
            let labels = self.labels(s.labels.as_ref(), "label", &owned);
            let annotations = self.annotations(s.annotations.as_ref(), &owned);
            let owner = format!("shared entry `{}`", s.name.value);
            let ingress = self.ingress_flag(s.ingress.as_ref(), raw, &owner);
            if let Some(name) = name {
                shared.insert(
                    name,
                    Shared {
                        consumers,
                        labels,
                        annotations,
                        ingress,
                    },
                );
            }
        }

        let mut tenants = BTreeMap::new();
        for t in &raw.tenants {
            let message = format!("tenant name `{}` is invalid", t.name.value);
            let name = self.dns_name(TenantName::new, &message, &t.name);
            let mut namespaces = BTreeSet::new();
            match &t.namespaces {
                Some(list) => {
                    for ns in &list.value {
                        if let Some(n) = self.namespace("namespace", ns) {
                            namespaces.insert(n);
                        }
                    }
                }
                None => {
                    // The default namespace is the tenant's name, already checked above.
                    if let Ok(n) = NamespaceName::new(&t.name.value) {
                        namespaces.insert(n);
                    }
                }
            }
            let labels = self.labels(t.labels.as_ref(), "label", &owned);
            let annotations = self.annotations(t.annotations.as_ref(), &owned);
            let owner = format!("tenant `{}`", t.name.value);
            let ingress = self.ingress_flag(t.ingress.as_ref(), raw, &owner);
            if let Some(name) = name {
                tenants.insert(
                    name,
                    Tenant {
                        namespaces,
                        labels,
                        annotations,
                        ingress,
                    },
                );
            }
        }

        if bad_claims || !self.diags.is_empty() {
            return None;
        }
        Some(Config {
            cluster: cluster?,
            platform: platform?,
            mesh,
            shared,
            tenants,
            gitops: match gitops {
                Some(g) => Some(g?),
                None => None,
            },
        })
    }

    fn gitops(&mut self, g: &RawGitOps) -> Option<GitOps> {
        const TOOLS: [&str; 2] = ["argocd", "flux"];
        let tool = match &g.tool {
            None => {
                self.error(
                    Diagnostic::new("[gitops] needs a `tool`", g.span.clone())
                        .with_help("add tool = \"argocd\" or tool = \"flux\""),
                );
                None
            }
            Some(t) => match t.value.as_str() {
                "argocd" => Some(GitOpsTool::ArgoCd),
                "flux" => Some(GitOpsTool::Flux),
                other => {
                    let mut d = Diagnostic::new(
                        format!("`tool` must be \"argocd\" or \"flux\", found {other:?}"),
                        t.span.clone(),
                    );
                    let lowered = other.to_ascii_lowercase().replace([' ', '-', '_'], "");
                    if let Some(best) = closest(&lowered, TOOLS) {
                        d = d.with_help(format!("did you mean \"{best}\"?"));
                    }
                    self.error(d);
                    None
                }
            },
        };
        let repo_url = match &g.repo_url {
            None => {
                self.error(
                    Diagnostic::new("[gitops] needs a `repo_url`", g.span.clone()).with_help(
                        "add repo_url = \"https://...\", the repository that holds the output tree",
                    ),
                );
                None
            }
            Some(u) => self.repo_url(u, tool),
        };
        let revision = match &g.revision {
            None => Some("main".to_owned()),
            Some(r) => {
                let bad = r.value.is_empty()
                    || r.value.starts_with('-')
                    || r.value.chars().any(|c| {
                        c.is_whitespace()
                            || c.is_control()
                            || matches!(c, '~' | '^' | ':' | '?' | '*' | '[' | '\\')
                    });
                if bad {
                    self.error(
                        Diagnostic::new(
                            format!("`revision` {:?} is not a Git branch name", r.value),
                            r.span.clone(),
                        )
                        .with_help("name a branch, such as \"main\""),
                    );
                    None
                } else {
                    Some(r.value.clone())
                }
            }
        };
        let path = match &g.path {
            None => Some("output".to_owned()),
            Some(p) => self.repo_path(p),
        };
        let namespace = match (&g.namespace, tool) {
            (Some(ns), _) => self.namespace("namespace", ns),
            (None, Some(t)) => NamespaceName::new(t.default_namespace()).ok(),
            (None, None) => None,
        };
        let secret = match (&g.secret, tool) {
            (None, _) => Some(None),
            (Some(s), Some(GitOpsTool::ArgoCd)) => {
                self.error(
                    Diagnostic::new(
                        "`secret` is for Flux; Argo CD keeps repository credentials itself",
                        s.span.clone(),
                    )
                    .with_help("remove it and register the repository with `argocd repo add`"),
                );
                None
            }
            (Some(s), _) => {
                let ok = !s.value.is_empty()
                    && s.value.len() <= 253
                    && s.value.split('.').all(|p| NamespaceName::new(p).is_ok());
                if ok {
                    Some(Some(s.value.clone()))
                } else {
                    self.error(Diagnostic::new(
                        format!("`secret` {:?} is not a valid Secret name", s.value),
                        s.span.clone(),
                    ));
                    None
                }
            }
        };
        Some(GitOps {
            tool: tool?,
            repo_url: repo_url?,
            revision: revision?,
            path: path?,
            namespace: namespace?,
            secret: secret?,
        })
    }

    /// A URL the controller can clone: `https://`, `http://` or `ssh://`, and for Argo CD also
    /// the scp-like `git@host:path` (Flux's GitRepository CRD accepts URLs only).
    fn repo_url(&mut self, u: &Located<String>, tool: Option<GitOpsTool>) -> Option<String> {
        let v = u.value.as_str();
        let scheme = ["https://", "http://", "ssh://"]
            .iter()
            .find(|s| v.starts_with(*s))
            .map(|s| &v[s.len()..]);
        let scp = scheme.is_none()
            && v.split_once('@')
                .and_then(|(_, rest)| rest.split_once(':'))
                .is_some_and(|(host, path)| !host.is_empty() && !path.is_empty());
        let clean = !v.chars().any(|c| c.is_whitespace() || c.is_control());
        let ok = clean && (scheme.is_some_and(|rest| !rest.is_empty()) || scp);
        if !ok {
            self.error(
                Diagnostic::new(
                    format!("`repo_url` {v:?} is not a Git repository URL"),
                    u.span.clone(),
                )
                .with_help("write https://host/org/repo.git or ssh://git@host/org/repo.git"),
            );
            return None;
        }
        if scp && tool == Some(GitOpsTool::Flux) {
            let fixed = v
                .split_once(':')
                .map(|(user_host, path)| format!("ssh://{user_host}/{path}"))
                .unwrap_or_default();
            self.error(
                Diagnostic::new(
                    format!("Flux needs `repo_url` as a URL; {v:?} is scp-like"),
                    u.span.clone(),
                )
                .with_help(format!("write {fixed:?}")),
            );
            return None;
        }
        Some(v.to_owned())
    }

    /// The output directory inside the repository: relative, `/`-separated, no `.` or `..`
    /// segments; `"."` is the repository's root.
    fn repo_path(&mut self, p: &Located<String>) -> Option<String> {
        let v = p.value.trim_start_matches("./").trim_end_matches('/');
        if v == "." || (v.is_empty() && !p.value.is_empty()) {
            return Some(String::new());
        }
        let segment_ok = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        if p.value.starts_with('/') || !v.split('/').all(segment_ok) {
            self.error(
                Diagnostic::new(
                    format!(
                        "`path` {:?} is not a relative path inside the repository",
                        p.value
                    ),
                    p.span.clone(),
                )
                .with_help("give the output directory relative to the repository's root, such as \"output\" or \"clusters/prod/output\""),
            );
            return None;
        }
        Some(v.to_owned())
    }

    fn cluster(&mut self, raw: &RawConfig) -> Option<Cluster> {
        let name = match &raw.cluster.name {
            None => None,
            Some(n) => match LabelValue::new(&n.value) {
                Ok(v) if !n.value.is_empty() => Some(v),
                Ok(_) => {
                    self.error(Diagnostic::new(
                        "`cluster.name` must not be empty",
                        n.span.clone(),
                    ));
                    None
                }
                Err(e) => {
                    self.error(Diagnostic::new(
                        format!(
                            "`cluster.name` {:?} cannot be a label value: the {e}",
                            n.value
                        ),
                        n.span.clone(),
                    ));
                    None
                }
            },
        };
        let domain = match &raw.cluster.domain {
            None => "cluster.local".to_owned(),
            Some(d) => {
                let ok = !d.value.is_empty()
                    && d.value.split('.').all(|p| NamespaceName::new(p).is_ok());
                if !ok {
                    self.error(Diagnostic::new(
                        format!(
                            "`cluster.domain` {:?} is not a DNS domain such as \"cluster.local\"",
                            d.value
                        ),
                        d.span.clone(),
                    ));
                }
                d.value.clone()
            }
        };
        Some(Cluster { name, domain })
    }

    fn platform_pods(&mut self, raw: &RawPods, what: &str) -> Option<PlatformPods> {
        let namespace = match &raw.namespace {
            Some(ns) => self.namespace("namespace", ns),
            None => {
                self.error(
                    Diagnostic::new(
                        format!("[platform.{what}] needs a `namespace`"),
                        raw.span.clone(),
                    )
                    .with_help("add namespace = \"...\", the namespace its pods run in"),
                );
                None
            }
        };
        let pod_labels = self.labels(raw.pod_labels.as_ref(), "pod label", &BTreeSet::new());
        Some(PlatformPods {
            namespace: namespace?,
            pod_labels,
        })
    }

    fn platform(&mut self, raw: &RawConfig) -> Option<Platform> {
        let p = &raw.platform;
        let dns = match &p.dns {
            None => Some(default_dns()),
            Some(d) => {
                let namespace = match &d.namespace {
                    Some(ns) => self.namespace("namespace", ns),
                    None => NamespaceName::new("kube-system").ok(),
                };
                let service = match &d.service {
                    Some(s) => self.namespace("service", s),
                    None => NamespaceName::new("kube-dns").ok(),
                };
                let pod_labels = match &d.pod_labels {
                    Some(map) => self.labels(Some(map), "pod label", &BTreeSet::new()),
                    None => default_dns().pod_labels,
                };
                let ports = match &d.ports {
                    Some(list) => self.ports(list, "[platform.dns] ports", false, &d.span),
                    None => default_dns().ports,
                };
                match (namespace, service) {
                    (Some(namespace), Some(service)) => Some(Dns {
                        namespace,
                        service,
                        pod_labels,
                        ports,
                    }),
                    _ => None,
                }
            }
        };
        let ingress = p.ingress.as_ref().map(|i| self.platform_pods(i, "ingress"));
        let monitoring = p.monitoring.as_ref().map(|m| {
            let pods = self.platform_pods(m, "monitoring");
            let ports = self.ports(
                m.ports.as_deref().unwrap_or_default(),
                "[platform.monitoring] ports",
                true,
                &m.span,
            );
            pods.map(|pods| Monitoring { pods, ports })
        });
        Some(Platform {
            dns: dns?,
            ingress: match ingress {
                Some(None) => return None,
                Some(Some(i)) => Some(i),
                None => None,
            },
            monitoring: match monitoring {
                Some(None) => return None,
                Some(Some(m)) => Some(m),
                None => None,
            },
        })
    }

    fn mesh(&mut self, raw: &RawConfig) -> Option<Mesh> {
        let m = raw.mesh.as_ref()?;
        let namespace = match &m.namespace {
            Some(ns) => self.namespace("namespace", ns),
            None => NamespaceName::new("istio-system").ok(),
        };
        let pod_labels = match &m.pod_labels {
            Some(map) => self.labels(Some(map), "pod label", &BTreeSet::new()),
            None => istiod_labels(),
        };
        let revision = m
            .revision
            .as_ref()
            .and_then(|r| match LabelValue::new(&r.value) {
                Ok(v) if !r.value.is_empty() => Some(v),
                _ => {
                    self.error(Diagnostic::new(
                        format!(
                            "`revision` {:?} is not a valid `istio.io/rev` label value",
                            r.value
                        ),
                        r.span.clone(),
                    ));
                    None
                }
            });
        let outbound_traffic_policy = m.outbound_traffic_policy.as_ref().and_then(|p| match p.value.as_str() {
            "REGISTRY_ONLY" => Some(OutboundTrafficPolicy::RegistryOnly),
            "ALLOW_ANY" => Some(OutboundTrafficPolicy::AllowAny),
            other => {
                let upper = other.to_ascii_uppercase().replace('-', "_");
                let mut d = Diagnostic::new(
                    format!("`outbound_traffic_policy` must be \"REGISTRY_ONLY\" or \"ALLOW_ANY\", found {other:?}"),
                    p.span.clone(),
                );
                if let Some(best) = closest(&upper, ["REGISTRY_ONLY", "ALLOW_ANY"]) {
                    d = d.with_help(format!("did you mean \"{best}\"?"));
                }
                self.error(d);
                None
            }
        });
        Some(Mesh {
            namespace: namespace?,
            pod_labels,
            revision,
            outbound_traffic_policy,
        })
    }
}

fn label(k: &str, v: &str) -> (LabelKey, LabelValue) {
    (
        LabelKey::new(k).expect("static label key"),
        LabelValue::new(v).expect("static label value"),
    )
}

/// `[platform.dns]` when the file leaves it out: CoreDNS as kubeadm, EKS, GKE and AKS deploy it.
pub fn default_dns() -> Dns {
    Dns {
        namespace: NamespaceName::new("kube-system").expect("static name"),
        service: NamespaceName::new("kube-dns").expect("static name"),
        pod_labels: [label("k8s-app", "kube-dns")].into_iter().collect(),
        ports: [Port::known(53)].into_iter().collect(),
    }
}

/// The labels of istiod's pods in Istio's Helm charts and istioctl profiles.
pub fn istiod_labels() -> Labels {
    [label("app", "istiod")].into_iter().collect()
}

/// A best guess at what an invalid name was meant to be, for "did you mean".
fn suggest_dns_label(s: &str) -> String {
    let lowered: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    lowered
        .trim_matches('-')
        .chars()
        .take(63)
        .collect::<String>()
        .trim_end_matches('-')
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::load;

    fn errors(src: &str) -> Vec<String> {
        let raw = load(src).expect("loads");
        resolve(&raw, src)
            .unwrap_err()
            .into_iter()
            .map(|d| d.message)
            .collect()
    }

    #[test]
    fn defaults() {
        let src = "version = 1\n[tenants.acme]\n";
        let config = resolve(&load(src).unwrap(), src).unwrap();
        let acme = &config.tenants[&TenantName::new("acme").unwrap()];
        assert_eq!(
            acme.namespaces
                .iter()
                .map(|n| n.as_str())
                .collect::<Vec<_>>(),
            ["acme"]
        );
        assert_eq!(config.platform.dns, default_dns());
        assert!(config.mesh.is_none());
        assert_eq!(config.cluster.domain, "cluster.local");
    }

    #[test]
    fn reports_all_claim_conflicts() {
        let src = "version = 1\n[shared.db]\n[tenants.acme]\nnamespaces = [\"db\", \"kube-system\"]\n[tenants.globex]\nnamespaces = [\"default\"]\n";
        let e = errors(src);
        assert_eq!(e.len(), 3, "{e:?}");
        assert_eq!(
            e[0],
            "tenant `acme` claims namespace `db`, already claimed by shared entry `db` at line 2"
        );
        assert!(e[1].contains("`kube-system`, which is reserved"));
        assert!(e[2].contains("`default`, which is reserved"));
    }

    #[test]
    fn suggests_a_tenant_for_an_unknown_consumer() {
        let src = "version = 1\n[shared.db]\nconsumers = [\"acm\"]\n[tenants.acme]\n";
        let raw = load(src).unwrap();
        let d = resolve(&raw, src).unwrap_err();
        assert_eq!(d[0].help.as_deref(), Some("did you mean `acme`?"));
    }

    #[test]
    fn owned_labels_are_refused() {
        let src = "version = 1\n[mesh]\n[tenants.acme]\nlabels = { \"istio-injection\" = \"disabled\", \"tenantc.dev/x\" = \"y\" }\n";
        assert_eq!(errors(src).len(), 2);
        let no_mesh =
            "version = 1\n[tenants.acme]\nlabels = { \"istio-injection\" = \"disabled\" }\n";
        assert!(resolve(&load(no_mesh).unwrap(), no_mesh).is_ok());
    }

    #[test]
    fn suggestion_for_bad_names() {
        assert_eq!(suggest_dns_label("Acme_Corp"), "acme-corp");
    }
}
