//! The lifecycle rules of tenants.toml: the annotations that keep a sync from deleting a
//! namespace, and (see below) retired and purged namespaces.

/// Argo CD: never prune this object when it leaves Git, and never delete it when its Application
/// is deleted (cascade). https://argo-cd.readthedocs.io/en/stable/user-guide/sync-options/
pub const ANNOTATION_ARGOCD_SYNC_OPTIONS: &str = "argocd.argoproj.io/sync-options";
pub const ARGOCD_KEEP: &str = "Delete=false,Prune=false";
/// Flux: leave this object out of garbage collection, both when it leaves Git and when its
/// Kustomization is deleted.
/// https://fluxcd.io/flux/components/kustomize/kustomizations/#garbage-collection
pub const ANNOTATION_FLUX_PRUNE: &str = "kustomize.toolkit.fluxcd.io/prune";
pub const FLUX_KEEP: &str = "disabled";

/// The annotations tenantc puts on every Namespace and every `default-deny` NetworkPolicy, so
/// that no sync of the output deletes a namespace (and its workloads and volumes) or leaves it
/// without its deny-all policy.
pub const PROTECTION: [(&str, &str); 2] = [
    (ANNOTATION_ARGOCD_SYNC_OPTIONS, ARGOCD_KEEP),
    (ANNOTATION_FLUX_PRUNE, FLUX_KEEP),
];

/// Whether `key` is one of the protection annotations, which users may not set.
pub fn is_protection_key(key: &str) -> bool {
    PROTECTION.iter().any(|(k, _)| *k == key)
}

use std::collections::{BTreeMap, BTreeSet};

use super::{Claim, Resolver};
use crate::diag::Diagnostic;
use crate::load::{RawConfig, RawConsumers, RawIngress, RawShared, RawTenant};
use crate::model::NamespaceName;

/// What `retired` says of one tenant.
pub(super) struct TenantRetirement {
    /// Its retired namespaces (a subset of `namespaces`).
    pub retired: BTreeSet<NamespaceName>,
    /// Every namespace of it is retired: it may neither consume nor be consumed.
    pub whole: bool,
}

const NO_FLOWS: &str = "a retired namespace has no flows: remove it";

impl Resolver<'_> {
    /// `retired = true | false | [namespaces]` of tenant `t`, whose `namespaces` are given; and
    /// every key of `t` that would still grant a retired namespace a flow, which is an error.
    pub(super) fn tenant_retirement(
        &mut self,
        t: &RawTenant,
        namespaces: &BTreeSet<NamespaceName>,
    ) -> TenantRetirement {
        let tenant = &t.name.value;
        let retired: BTreeSet<NamespaceName> = match &t.retired {
            None => BTreeSet::new(),
            Some(RawIngress::Flag(f)) if !f.value => BTreeSet::new(),
            Some(RawIngress::Flag(_)) => namespaces.clone(),
            Some(RawIngress::List(list)) => {
                let mut out = BTreeSet::new();
                for n in &list.value {
                    match NamespaceName::new(&n.value) {
                        Ok(ns) if namespaces.contains(&ns) => {
                            if !out.insert(ns) {
                                self.error(
                                    Diagnostic::new(
                                        format!("namespace `{}` is listed twice in `retired`", n.value),
                                        n.span.clone(),
                                    )
                                    .with_help("remove the duplicate"),
                                );
                            }
                        }
                        _ => self.error(
                            Diagnostic::new(
                                format!(
                                    "`retired` of tenant `{tenant}` names `{}`, which is not one of its namespaces",
                                    n.value
                                ),
                                n.span.clone(),
                            )
                            .with_help("a retired namespace stays in `namespaces`: list it there too (it keeps its Namespace and a deny-all policy until it is purged)"),
                        ),
                    }
                }
                out
            }
        };
        let whole = !retired.is_empty() && retired.len() == namespaces.len();
        if let Some(RawIngress::List(list)) = &t.ingress {
            for n in &list.value {
                if NamespaceName::new(&n.value).is_ok_and(|ns| retired.contains(&ns)) {
                    self.error(
                        Diagnostic::new(
                            format!(
                                "`ingress` of tenant `{tenant}` names `{}`, which is retired",
                                n.value
                            ),
                            n.span.clone(),
                        )
                        .with_help(NO_FLOWS),
                    );
                }
            }
        }
        for e in &t.expose {
            if NamespaceName::new(&e.namespace.value).is_ok_and(|ns| retired.contains(&ns)) {
                self.error(
                    Diagnostic::new(
                        format!(
                            "tenant `{tenant}` exposes `{}`, which is retired",
                            e.namespace.value
                        ),
                        e.namespace.span.clone(),
                    )
                    .with_help(format!(
                        "{NO_FLOWS} ([tenants.{tenant}.expose.{}])",
                        e.namespace.value
                    )),
                );
            }
        }
        if whole {
            let flag = |what: &str, span: &std::ops::Range<usize>| {
                Diagnostic::new(
                    format!("tenant `{tenant}` is retired, but {what} still grants it a flow"),
                    span.clone(),
                )
                .with_help(NO_FLOWS)
            };
            if let Some(RawIngress::Flag(f)) = &t.ingress {
                if f.value {
                    self.error(flag("`ingress = true`", &f.span));
                }
            }
            if let Some(k) = &t.kube_api {
                if k.value {
                    self.error(flag("`kube_api = true`", &k.span));
                }
            }
        }
        TenantRetirement { retired, whole }
    }

    /// A retired `[shared.<name>]` entry may not say who consumes it nor how.
    pub(super) fn shared_retirement(&mut self, s: &RawShared) -> bool {
        let retired = s.retired.as_ref().is_some_and(|r| r.value);
        if !retired {
            return false;
        }
        let name = &s.name.value;
        let mut key = |what: &str, span: std::ops::Range<usize>| {
            self.error(
                Diagnostic::new(
                    format!("shared entry `{name}` is retired, but `{what}` still grants it flows"),
                    span,
                )
                .with_help(NO_FLOWS),
            );
        };
        match &s.consumers {
            Some(RawConsumers::All(span)) => key("consumers", span.clone()),
            Some(RawConsumers::List(l)) => {
                if let Some(first) = l.first() {
                    key("consumers", first.span.clone());
                }
            }
            None => {}
        }
        if let Some(p) = &s.ports {
            key("ports", p.span.clone());
        }
        if let Some(i) = &s.ingress {
            if i.value {
                key("ingress", i.span.clone());
            }
        }
        true
    }

    /// Every `consumers` list that names a retired tenant or shared entry.
    pub(super) fn consumers_of_retired(&mut self, raw: &RawConfig, retired: &BTreeSet<&str>) {
        let lists = raw
            .shared
            .iter()
            .map(|s| (format!("[shared.{}]", s.name.value), s.consumers.as_ref()))
            .chain(raw.tenants.iter().flat_map(|t| {
                t.expose.iter().map(move |e| {
                    (
                        format!("[tenants.{}.expose.{}]", t.name.value, e.namespace.value),
                        e.consumers.as_ref(),
                    )
                })
            }))
            .chain(
                raw.externals
                    .iter()
                    .map(|e| (format!("[external.{}]", e.name.value), e.consumers.as_ref())),
            );
        let mut found = Vec::new();
        for (table, consumers) in lists {
            let Some(RawConsumers::List(list)) = consumers else {
                continue;
            };
            for c in list {
                if retired.contains(c.value.as_str()) {
                    found.push(
                        Diagnostic::new(
                            format!("{table} lists `{}` as a consumer, but `{}` is retired", c.value, c.value),
                            c.span.clone(),
                        )
                        .with_help("a retired tenant or shared entry has no flows: remove it from `consumers`"),
                    );
                }
            }
        }
        for d in found {
            self.error(d);
        }
    }

    /// `[purged] namespaces`: valid names, each once, claimed by no tenant or shared entry.
    pub(super) fn purged(
        &mut self,
        raw: &RawConfig,
        claims: &BTreeMap<String, Claim>,
    ) -> BTreeSet<NamespaceName> {
        let mut out = BTreeSet::new();
        let Some(p) = &raw.purged else {
            return out;
        };
        for n in p.namespaces.iter().flat_map(|l| &l.value) {
            let Some(ns) = self.namespace("purged namespace", n) else {
                continue;
            };
            if let Some(claim) = claims.get(&n.value) {
                let line = self.line(&claim.span);
                self.error(
                    Diagnostic::new(
                        format!(
                            "namespace `{}` is purged, but {} claims it at line {line}",
                            n.value, claim.owner
                        ),
                        n.span.clone(),
                    )
                    .with_help("a purged namespace has left tenants.toml: remove it from `[purged]` to keep it, or from its owner"),
                );
                continue;
            }
            if !out.insert(ns) {
                self.error(
                    Diagnostic::new(
                        format!("namespace `{}` is listed twice in `[purged]`", n.value),
                        n.span.clone(),
                    )
                    .with_help("remove the duplicate"),
                );
            }
        }
        out
    }
}
