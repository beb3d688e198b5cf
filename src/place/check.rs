//! The rules about the clusters themselves; every other rule is checked in each cluster's view.

use std::collections::BTreeSet;

use super::{cluster_names, placed};
use crate::diag::{closest, Diagnostic};
use crate::load::{Located, RawClusterEntry, RawConfig, RawPlacement};
use crate::model::NamespaceName;

/// The rules about the clusters themselves: `[cluster]` beside `[clusters]`, cluster names,
/// `clusters` lists, each cluster's `retired` and `purged`, and GitOps names that two clusters
/// would share. Every other rule is checked in each cluster's view.
pub fn check(raw: &RawConfig) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let placements = raw
        .tenants
        .iter()
        .map(|t| ("tenant", &t.name, &t.clusters))
        .chain(
            raw.shared
                .iter()
                .map(|s| ("shared entry", &s.name, &s.clusters)),
        )
        .chain(
            raw.externals
                .iter()
                .map(|e| ("external", &e.name, &e.clusters)),
        );
    let Some(span) = &raw.clusters_span else {
        for (what, name, placement) in placements {
            if let Some(l) = placement {
                diags.push(
                    Diagnostic::new(
                        format!(
                            "{what} `{}` is placed on clusters, but the file has no [clusters] table",
                            name.value
                        ),
                        l.span.clone(),
                    )
                    .with_help("describe each cluster in a [clusters.<name>] table, or remove `clusters`"),
                );
            }
        }
        return diags;
    };
    let c = &raw.cluster;
    let single = [&c.name, &c.domain, &c.server]
        .into_iter()
        .flatten()
        .map(|k| k.span.clone())
        .chain(c.pod_cidrs.iter().map(|l| l.span.clone()))
        .chain(c.service_cidrs.iter().map(|l| l.span.clone()))
        .min_by_key(|s| s.start);
    if let Some(at) = single {
        diags.push(
            Diagnostic::new("`[cluster]` and `[clusters]` exclude each other", at)
                .with_note(span.clone(), "the clusters are described here")
                .with_help("move [cluster]'s keys into each [clusters.<name>] table"),
        );
    }
    if raw.clusters.is_empty() {
        diags.push(
            Diagnostic::new("[clusters] describes no cluster", span.clone())
                .with_help("add a [clusters.<name>] table per cluster, or remove [clusters]"),
        );
    }
    let names = cluster_names(raw);
    for c in &raw.clusters {
        if let Err(e) = NamespaceName::new(&c.name.value) {
            diags.push(
                Diagnostic::new(
                    format!(
                        "cluster name `{}` is not a DNS label (it names a directory, a label value and GitOps objects): the {e}",
                        c.name.value
                    ),
                    c.name.span.clone(),
                )
                .with_help("use lowercase letters, digits and '-', at most 63 characters"),
            );
        }
    }
    for (what, name, placement) in placements {
        let Some(list) = placement else { continue };
        if list.value.is_empty() {
            diags.push(
                Diagnostic::new(
                    format!("{what} `{}` is placed on no cluster", name.value),
                    list.span.clone(),
                )
                .with_help(
                    "list the clusters it runs on, or leave `clusters` out for every cluster",
                ),
            );
        }
        let mut seen = BTreeSet::new();
        for c in &list.value {
            if !names.contains(&c.value.as_str()) {
                diags.push(unknown_cluster(c, &names));
            } else if !seen.insert(c.value.as_str()) {
                diags.push(
                    Diagnostic::new(
                        format!("cluster `{}` is listed twice", c.value),
                        c.span.clone(),
                    )
                    .with_help("remove the duplicate"),
                );
            }
        }
    }
    diags.extend(retired_checks(raw));
    diags.extend(gitops_name_checks(raw));
    diags
}

fn unknown_cluster(c: &Located<String>, names: &[&str]) -> Diagnostic {
    let mut d = Diagnostic::new(
        format!("`{}` is not a cluster of [clusters]", c.value),
        c.span.clone(),
    );
    if let Some(best) = closest(&c.value, names.iter().copied()) {
        d = d.with_help(format!("did you mean `{best}`?"));
    }
    d
}

/// Each cluster's `retired` names namespaces of tenant and shared entries.
fn retired_checks(raw: &RawConfig) -> Vec<Diagnostic> {
    let owned: BTreeSet<&str> = raw
        .tenants
        .iter()
        .flat_map(|t| t.namespaces.iter().flat_map(|l| &l.value))
        .map(|n| n.value.as_str())
        .chain(
            raw.tenants
                .iter()
                .filter(|t| t.namespaces.is_none())
                .map(|t| t.name.value.as_str()),
        )
        .chain(raw.shared.iter().map(|s| s.name.value.as_str()))
        .collect();
    let mut diags = Vec::new();
    for c in &raw.clusters {
        for n in c.retired.iter().flat_map(|l| &l.value) {
            if !owned.contains(n.value.as_str()) {
                let mut d = Diagnostic::new(
                    format!(
                        "cluster `{}` retires `{}`, which is not a namespace of a tenant or shared entry",
                        c.name.value, n.value
                    ),
                    n.span.clone(),
                );
                if let Some(best) = closest(&n.value, owned.iter().copied()) {
                    d = d.with_help(format!("did you mean `{best}`?"));
                } else {
                    d = d.with_help("a retired namespace stays in the file under its owner; once a person deleted it from the cluster, list it in this cluster's `purged`");
                }
                diags.push(d);
            }
        }
    }
    diags
}

/// The names of the GitOps objects of every cluster are distinct: one Argo CD often manages them
/// all, in one namespace. Names are `<prefix><cluster>-<unit>`, so two clusters can only collide
/// when one's name is the other's followed by `-` (`prod` and `prod-shared`).
fn gitops_name_checks(raw: &RawConfig) -> Vec<Diagnostic> {
    if raw.gitops.is_none() {
        return Vec::new();
    }
    let mut diags = Vec::new();
    let units = |cluster: &RawClusterEntry| -> Vec<String> {
        let name = &cluster.name.value;
        let on = |p: &RawPlacement| placed(p, name);
        let mut units = vec!["tenantc".to_owned()];
        units.extend(
            raw.tenants
                .iter()
                .filter(|t| on(&t.clusters))
                .map(|t| format!("tenant-{}", t.name.value)),
        );
        units.extend(
            raw.shared
                .iter()
                .filter(|s| on(&s.clusters))
                .map(|s| format!("shared-{}", s.name.value)),
        );
        units
    };
    for a in &raw.clusters {
        for b in &raw.clusters {
            let Some(rest) = b.name.value.strip_prefix(&format!("{}-", a.name.value)) else {
                continue;
            };
            let of_b: BTreeSet<String> = units(b)
                .into_iter()
                .map(|u| format!("{rest}-{u}"))
                .collect();
            if let Some(same) = units(a).into_iter().find(|u| of_b.contains(u)) {
                diags.push(
                    Diagnostic::new(
                        format!(
                            "clusters `{}` and `{}` would both name a GitOps object `{}-{same}`",
                            a.name.value, b.name.value, a.name.value
                        ),
                        b.name.span.clone(),
                    )
                    .with_note(a.name.span.clone(), "the other cluster")
                    .with_help("rename one of the clusters"),
                );
            }
        }
    }
    diags
}
