//! Stage 2, resolve: check every rule of tenants.toml v1, collect *all* errors, and turn the raw,
//! span-carrying input into the immutable, sorted [`Config`].

mod access;
mod flows;
mod gitops;
pub mod lifecycle;
mod mesh;
mod names;
mod outside;
mod platform;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

pub use access::POD_SECURITY_PREFIX;
pub use platform::{default_dns, istiod_labels};

use crate::diag::{line_col, Diagnostic};
use crate::load::{Located, RawConfig};
use crate::model::{
    Config, Consumer, NamespaceName, Retired, RetiredOwner, Shared, Tenant, TenantName,
};
use flows::ConsumerNames;
pub use flows::{DEFAULT_KUBE_API_PORTS, MAX_EXTERNAL_NAME};

/// Namespaces Kubernetes itself owns; no tenant or shared entry may claim them.
pub const RESERVED_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

/// Label keys the compiler sets on namespaces; users may not set them.
pub const LABEL_NAME: &str = "kubernetes.io/metadata.name";
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const LABEL_TENANT: &str = "tenantc.dev/tenant";
pub const LABEL_SHARED: &str = "tenantc.dev/shared";
pub const LABEL_CLUSTER: &str = "tenantc.dev/cluster";
/// On a retired namespace's Namespace (under [`OWNED_PREFIX`], so users cannot set it).
pub const LABEL_RETIRED: &str = "tenantc.dev/retired";
pub const LABEL_INJECTION: &str = "istio-injection";
pub const LABEL_REVISION: &str = "istio.io/rev";
/// Ambient mode: the namespace's pods are captured by the node's ztunnel instead of a sidecar.
/// https://istio.io/latest/docs/ambient/usage/add-workloads/
pub const LABEL_DATAPLANE_MODE: &str = "istio.io/dataplane-mode";
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
        let defaults = self.defaults(raw);

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
            owned.extend([LABEL_INJECTION, LABEL_REVISION, LABEL_DATAPLANE_MODE]);
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

        // The platform's namespaces by their defaults when their table is absent: a tenant that
        // claimed one would get its Namespace, deny-all and RoleBindings applied there.
        let mut platform_defaults: Vec<(&str, &str)> = Vec::new();
        if raw.mesh.is_none() {
            platform_defaults.push(("istio-system", "[mesh] (Istio's control plane)"));
        }
        if raw.platform.ingress.is_none() {
            platform_defaults.push(("ingress-nginx", "[platform.ingress]"));
        }
        if raw.platform.monitoring.is_none() {
            platform_defaults.push(("monitoring", "[platform.monitoring]"));
        }
        if raw.gitops.is_none() {
            platform_defaults.push(("argocd", "[gitops] with tool = \"argocd\""));
            platform_defaults.push(("flux-system", "[gitops] with tool = \"flux\""));
        }

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
            let default_of = platform_defaults
                .iter()
                .find(|(d, _)| *d == ns.value)
                .map(|(_, table)| *table);
            if (reserved || default_of.is_some()) && !claims.contains_key(&ns.value) {
                bad_claims = true;
                let help = match default_of {
                    Some(table) => format!("`{}` is the default namespace of {table}, reserved even when that table is absent; tenants and shared entries need namespaces of their own", ns.value),
                    None => "tenants and shared entries need namespaces of their own".to_owned(),
                };
                self.error(
                    Diagnostic::new(
                        format!(
                            "{owner} claims namespace `{}`, which is reserved for the platform",
                            ns.value
                        ),
                        ns.span.clone(),
                    )
                    .with_help(help),
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

        let names = ConsumerNames {
            tenants: raw.tenants.iter().map(|t| t.name.value.as_str()).collect(),
            shared: raw.shared.iter().map(|s| s.name.value.as_str()).collect(),
        };
        let mut shared = BTreeMap::new();
        let mut retired: BTreeMap<NamespaceName, Retired> = BTreeMap::new();
        // Tenants and shared entries retired whole: no `consumers` list may name them.
        let mut retired_names: BTreeSet<&str> = BTreeSet::new();
        for s in &raw.shared {
            let name = self.namespace("shared entry", &s.name);
            if self.shared_retirement(s) {
                retired_names.insert(&s.name.value);
                let labels = self.labels(s.labels.as_ref(), "label", &owned);
                let annotations = self.annotations(s.annotations.as_ref(), &owned);
                if let Some(name) = name {
                    let owner = RetiredOwner::Shared;
                    retired.insert(
                        name,
                        Retired {
                            owner,
                            labels,
                            annotations,
                        },
                    );
                }
                continue;
            }
            if names.tenants.contains(&s.name.value.as_str()) {
                self.error(
                    Diagnostic::new(
                        format!("shared entry `{}` has the name of a tenant", s.name.value),
                        s.name.span.clone(),
                    )
                    .with_help("`consumers` lists name tenants and shared entries alike: give one of them another name"),
                );
            }
            let owner = format!("shared entry `{}`", s.name.value);
            let itself = name.clone().map(Consumer::Shared);
            let consumers = self.consumers(s.consumers.as_ref(), &owner, itself.as_ref(), &names);
            let labels = self.labels(s.labels.as_ref(), "label", &owned);
            let annotations = self.annotations(s.annotations.as_ref(), &owned);
            let ingress = self.ingress_flag(s.ingress.as_ref(), raw, &owner);
            let ports = self.port_limit(s.ports.as_ref(), &format!("{owner} ports"));
            let access = self.access(&s.access, &defaults, &owner);
            self.hand_pod_security(s.labels.as_ref(), &access);
            if let Some(name) = name {
                shared.insert(
                    name,
                    Shared {
                        consumers,
                        labels,
                        annotations,
                        ingress,
                        ports,
                        access,
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
            let retirement = self.tenant_retirement(t, &namespaces);
            if retirement.whole {
                retired_names.insert(&t.name.value);
            }
            let labels = self.labels(t.labels.as_ref(), "label", &owned);
            let annotations = self.annotations(t.annotations.as_ref(), &owned);
            let mut ingress = self.tenant_ingress(
                t.ingress.as_ref(),
                &t.name.value,
                &namespaces,
                raw.platform.ingress.is_some(),
            );
            let kube_api = t.kube_api.as_ref().is_some_and(|k| k.value);
            if let (true, Some(k), None) = (kube_api, &t.kube_api, &raw.platform.kube_api) {
                self.error(
                    Diagnostic::new(
                        format!("tenant `{}` sets `kube_api = true`, but [platform.kube_api] is not configured", t.name.value),
                        k.span.clone(),
                    )
                    .with_help("add [platform.kube_api] with cidrs = [\"<API server address>/32\"] (the addresses of `kubectl get endpointslice -n default -l kubernetes.io/service-name=kubernetes`)"),
                );
            }
            let mut expose = self.exposes(&t.expose, &t.name.value, &namespaces, &names);
            let access = self.access(&t.access, &defaults, &format!("tenant `{}`", t.name.value));
            self.hand_pod_security(t.labels.as_ref(), &access);
            // Retired namespaces leave the tenant's flows (granting them one is an error above).
            for ns in &retirement.retired {
                namespaces.remove(ns);
                ingress.remove(ns);
                expose.remove(ns);
                if let Some(name) = &name {
                    retired.insert(
                        ns.clone(),
                        Retired {
                            owner: RetiredOwner::Tenant(name.clone()),
                            labels: labels.clone(),
                            annotations: annotations.clone(),
                        },
                    );
                }
            }
            let kube_api = kube_api && !retirement.whole;
            if let Some(name) = name {
                tenants.insert(
                    name,
                    Tenant {
                        namespaces,
                        labels,
                        annotations,
                        ingress,
                        kube_api,
                        expose,
                        access,
                    },
                );
            }
        }

        if let (Some(c), Some(p)) = (&cluster, &platform) {
            self.platform_ranges(raw, c, p);
        }
        let mut externals = BTreeMap::new();
        for e in &raw.externals {
            if let Some((name, external)) = self.external(e, cluster.as_ref(), &names) {
                if let (Some(c), Some(p), Some(m)) = (&cluster, &platform, &mesh) {
                    self.service_entry_addresses(e, &external, c, p.kube_api.as_ref(), m);
                }
                if let Some(k) = platform.as_ref().and_then(|p| p.kube_api.as_ref()) {
                    self.outside_kube_api(e, &external, k);
                }
                externals.insert(name, external);
            }
        }
        let taken: BTreeSet<&str> = claims
            .keys()
            .map(String::as_str)
            .chain(RESERVED_NAMESPACES.iter().copied())
            .chain(platform_defaults.iter().map(|(d, _)| *d))
            .chain(mesh_ns.as_deref())
            .chain(dns_ns.as_deref())
            .chain(gitops_ns.as_deref())
            .collect();
        self.external_names(raw, &names, &taken);
        self.consumers_of_retired(raw, &retired_names);
        let purged = self.purged(raw, &claims);

        self.mesh_platform(raw, mesh.as_ref(), platform.as_ref(), &tenants, &shared);
        self.ambient_port_limits(raw, mesh.as_ref());

        if bad_claims || !self.diags.is_empty() {
            return None;
        }
        Some(Config {
            cluster: cluster?,
            platform: platform?,
            mesh,
            shared,
            tenants,
            externals,
            gitops: match gitops {
                Some(g) => Some(g?),
                None => None,
            },
            retired,
            purged,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::names::suggest_dns_label;
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
