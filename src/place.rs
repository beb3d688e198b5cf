//! Stage 2, place: which entries each cluster holds. A tenants.toml with `[clusters]` describes
//! one single-cluster file per cluster, its *view*: `[cluster]` = the cluster's facts and name,
//! `[platform]` and `[mesh]` with the keys the cluster replaces, only the entries placed on it
//! (`clusters = [...]`, default every cluster), consumer lists without the names absent from it,
//! and the GitOps objects renamed and moved to `<path>/clusters/<name>/`. Each view is then
//! resolved, validated and compiled exactly as that file would be (see
//! `tests/clusters.rs`); this stage only checks what concerns the clusters themselves.
//!
//! Views are built from the raw, span-carrying structures, so every error of a view still
//! points into the one tenants.toml.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::diag::closest;
use crate::diag::Diagnostic;
use crate::load::{
    Located, RawClusterEntry, RawConfig, RawConsumers, RawIngress, RawMesh, RawPlacement,
    RawPlatform, RawPurged,
};
use crate::model::NamespaceName;

/// The directory of every cluster's tree, relative to the output directory.
pub const CLUSTERS_DIR: &str = "clusters";

/// The directory of cluster `name`'s tree, relative to the output directory.
pub fn cluster_dir(name: &str) -> String {
    format!("{CLUSTERS_DIR}/{name}")
}

/// `<output>/clusters/<name>`, refused when `clusters` or `<name>` is a symbolic link (or not a
/// directory): a link planted in a checkout would send a compile's writes, or verify's reading,
/// outside the output directory. Missing directories are fine (a first compile creates them).
pub fn cluster_root(output: &Path, name: &str) -> Result<PathBuf, String> {
    let parent = output.join(CLUSTERS_DIR);
    let dir = parent.join(name);
    for p in [&parent, &dir] {
        match std::fs::symlink_metadata(p) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(format!(
                    "{} is a symbolic link; a cluster's tree must be a directory inside the output directory",
                    p.display()
                ))
            }
            Ok(m) if !m.is_dir() => {
                return Err(format!("{} is not a directory", p.display()));
            }
            _ => {}
        }
    }
    Ok(dir)
}

/// The names of the clusters of `raw`, in file order; empty without `[clusters]`.
pub fn cluster_names(raw: &RawConfig) -> Vec<&str> {
    raw.clusters.iter().map(|c| c.name.value.as_str()).collect()
}

/// Whether `placement` puts its entry on `cluster` (no `clusters` key: every cluster).
fn placed(placement: &RawPlacement, cluster: &str) -> bool {
    placement
        .as_ref()
        .is_none_or(|l| l.value.iter().any(|c| c.value == cluster))
}

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

/// The single-cluster file that `cluster` of `raw` describes.
pub fn view(raw: &RawConfig, cluster: &RawClusterEntry) -> RawConfig {
    let name = cluster.name.value.as_str();
    let retired_here: BTreeMap<&str, &Located<String>> = cluster
        .retired
        .iter()
        .flat_map(|l| &l.value)
        .map(|n| (n.value.as_str(), n))
        .collect();
    // Entries that run on this cluster: the names consumer lists keep.
    let present: BTreeSet<&str> = raw
        .tenants
        .iter()
        .filter(|t| placed(&t.clusters, name))
        .map(|t| t.name.value.as_str())
        .chain(
            raw.shared
                .iter()
                .filter(|s| {
                    placed(&s.clusters, name) && !retired_here.contains_key(s.name.value.as_str())
                })
                .map(|s| s.name.value.as_str()),
        )
        .collect();
    let known: BTreeSet<&str> = raw
        .tenants
        .iter()
        .map(|t| t.name.value.as_str())
        .chain(raw.shared.iter().map(|s| s.name.value.as_str()))
        .collect();
    // A name of another cluster's entry leaves the list; an unknown name stays, for the view to
    // report.
    let keep = |c: &Located<String>| {
        present.contains(c.value.as_str()) || !known.contains(c.value.as_str())
    };
    let filter = |consumers: &Option<RawConsumers>| -> Option<RawConsumers> {
        match consumers {
            Some(RawConsumers::List(l)) => Some(RawConsumers::List(
                l.iter().filter(|c| keep(c)).cloned().collect(),
            )),
            other => other.clone(),
        }
    };
    // A list that named consumers and names none here opens nothing here.
    let emptied = |before: &Option<RawConsumers>, after: &Option<RawConsumers>| matches!((before, after), (Some(RawConsumers::List(b)), Some(RawConsumers::List(a))) if !b.is_empty() && a.is_empty());

    let mut tenants = Vec::new();
    for t in &raw.tenants {
        let own: Vec<&Located<String>> = match &t.namespaces {
            Some(l) => l.value.iter().collect(),
            None => Vec::new(),
        };
        let default_ns = [t.name.value.as_str()];
        let names: Vec<&str> = if t.namespaces.is_some() {
            own.iter().map(|n| n.value.as_str()).collect()
        } else {
            default_ns.to_vec()
        };
        let retire: Vec<Located<String>> = names
            .iter()
            .filter_map(|n| retired_here.get(n).map(|l| (*l).clone()))
            .collect();
        if placed(&t.clusters, name) {
            let mut t = t.clone();
            t.clusters = None;
            t.expose = t
                .expose
                .iter()
                .filter_map(|e| {
                    let consumers = filter(&e.consumers);
                    (!emptied(&e.consumers, &consumers)).then(|| {
                        let mut e = e.clone();
                        e.consumers = consumers;
                        e
                    })
                })
                .collect();
            if !retire.is_empty() {
                t.retired = Some(with_retired(t.retired.take(), retire));
            }
            tenants.push(t);
        } else if !retire.is_empty() {
            // Left this cluster, kept in it closed: only the retired namespaces, retired.
            let mut t = t.clone();
            t.clusters = None;
            let whole = retire.len() == names.len();
            let span = cluster.retired.as_ref().map_or(0..0, |l| l.span.clone());
            if t.namespaces.is_some() {
                t.namespaces = Some(Located {
                    value: retire.clone(),
                    span: t
                        .namespaces
                        .as_ref()
                        .map_or(span.clone(), |l| l.span.clone()),
                });
            }
            t.retired = Some(if whole {
                RawIngress::Flag(Located { value: true, span })
            } else {
                RawIngress::List(Located {
                    value: retire,
                    span,
                })
            });
            t.expose = Vec::new();
            t.ingress = None;
            t.kube_api = None;
            tenants.push(t);
        }
    }

    let mut shared = Vec::new();
    for s in &raw.shared {
        let retire = retired_here.get(s.name.value.as_str());
        if placed(&s.clusters, name) || retire.is_some() {
            let mut s = s.clone();
            s.clusters = None;
            s.consumers = filter(&s.consumers);
            if let Some(r) = retire {
                s.retired = Some(Located {
                    value: true,
                    span: r.span.clone(),
                });
            }
            shared.push(s);
        }
    }

    let externals = raw
        .externals
        .iter()
        .filter(|e| placed(&e.clusters, name))
        .filter_map(|e| {
            let consumers = filter(&e.consumers);
            (!emptied(&e.consumers, &consumers)).then(|| {
                let mut e = e.clone();
                e.clusters = None;
                e.consumers = consumers;
                e
            })
        })
        .collect();

    let mut gitops = raw.gitops.clone();
    if let Some(g) = &mut gitops {
        let path = g.path.as_ref().map_or("output", |p| p.value.as_str());
        let path = path.trim_end_matches('/');
        let span = g.path.as_ref().map_or(g.span.clone(), |p| p.span.clone());
        g.path = Some(Located {
            value: format!("{path}/{}", cluster_dir(name)),
            span,
        });
        let prefix = g.name_prefix.as_ref().map_or("", |p| p.value.as_str());
        let span = g
            .name_prefix
            .as_ref()
            .map_or(cluster.name.span.clone(), |p| p.span.clone());
        g.name_prefix = Some(Located {
            value: format!("{prefix}{name}-"),
            span,
        });
    }

    let mut cluster_table = cluster.cluster.clone();
    cluster_table.name = Some(cluster.name.clone());
    RawConfig {
        version: raw.version.clone(),
        cluster: cluster_table,
        platform: platform_of(&raw.platform, cluster.platform.as_ref()),
        mesh: mesh_of(raw.mesh.as_ref(), cluster.mesh.as_ref()),
        defaults: raw.defaults.clone(),
        shared,
        tenants,
        externals,
        gitops,
        purged: purged_of(raw.purged.as_ref(), cluster.purged.as_ref()),
        clusters: Vec::new(),
        clusters_span: None,
    }
}

/// A tenant's `retired` with `more` of its namespaces.
fn with_retired(retired: Option<RawIngress>, more: Vec<Located<String>>) -> RawIngress {
    match retired {
        Some(RawIngress::Flag(f)) if f.value => RawIngress::Flag(f),
        Some(RawIngress::List(mut l)) => {
            for n in more {
                if !l.value.iter().any(|m| m.value == n.value) {
                    l.value.push(n);
                }
            }
            RawIngress::List(l)
        }
        Some(RawIngress::Flag(f)) => RawIngress::List(Located {
            value: more,
            span: f.span,
        }),
        None => {
            let span = span_of(&more);
            RawIngress::List(Located { value: more, span })
        }
    }
}

fn span_of(list: &[Located<String>]) -> Range<usize> {
    match (list.first(), list.last()) {
        (Some(a), Some(b)) => a.span.start..b.span.end,
        _ => 0..0,
    }
}

fn platform_of(top: &RawPlatform, cluster: Option<&RawPlatform>) -> RawPlatform {
    let Some(c) = cluster else {
        return top.clone();
    };
    RawPlatform {
        dns: c.dns.clone().or_else(|| top.dns.clone()),
        ingress: c.ingress.clone().or_else(|| top.ingress.clone()),
        monitoring: c.monitoring.clone().or_else(|| top.monitoring.clone()),
        kube_api: c.kube_api.clone().or_else(|| top.kube_api.clone()),
    }
}

fn mesh_of(top: Option<&RawMesh>, cluster: Option<&RawMesh>) -> Option<RawMesh> {
    match (top, cluster) {
        (None, None) => None,
        (Some(m), None) | (None, Some(m)) => Some(m.clone()),
        (Some(t), Some(c)) => Some(RawMesh {
            namespace: c.namespace.clone().or_else(|| t.namespace.clone()),
            pod_labels: c.pod_labels.clone().or_else(|| t.pod_labels.clone()),
            revision: c.revision.clone().or_else(|| t.revision.clone()),
            outbound_traffic_policy: c
                .outbound_traffic_policy
                .clone()
                .or_else(|| t.outbound_traffic_policy.clone()),
            mode: c.mode.clone().or_else(|| t.mode.clone()),
            mtls: c.mtls.clone().or_else(|| t.mtls.clone()),
            authorization: c.authorization.clone().or_else(|| t.authorization.clone()),
            span: t.span.clone(),
        }),
    }
}

fn purged_of(
    top: Option<&RawPurged>,
    cluster: Option<&Located<Vec<Located<String>>>>,
) -> Option<RawPurged> {
    let Some(c) = cluster else {
        return top.cloned();
    };
    let mut namespaces: Vec<Located<String>> = top
        .and_then(|p| p.namespaces.as_ref())
        .map(|l| l.value.clone())
        .unwrap_or_default();
    namespaces.extend(c.value.iter().cloned());
    Some(RawPurged {
        namespaces: Some(Located {
            value: namespaces,
            span: c.span.clone(),
        }),
        span: top.map_or(c.span.clone(), |p| p.span.clone()),
    })
}

/// The spans of the values of a `[mesh]` table's keys (a table's own span may be its header).
fn mesh_spans(m: &RawMesh) -> Vec<Range<usize>> {
    let strings = [
        &m.namespace,
        &m.revision,
        &m.outbound_traffic_policy,
        &m.mode,
        &m.mtls,
    ];
    let mut spans: Vec<Range<usize>> = strings
        .into_iter()
        .flatten()
        .map(|l| l.span.clone())
        .collect();
    spans.extend(m.authorization.iter().map(|l| l.span.clone()));
    for (k, v) in m.pod_labels.iter().flatten() {
        spans.push(k.span.start..v.span.end);
    }
    spans.push(m.span.clone());
    spans
}

/// Notes for a diagnostic of `cluster`'s view that points into the top-level `[mesh]` or
/// `[platform]`: the cluster's own table, whose keys replace some of those, takes part, so the
/// error points at both.
pub fn notes_for(raw: &RawConfig, cluster: &RawClusterEntry, d: &mut Diagnostic) {
    let overlaps = |span: &Range<usize>| span.start <= d.span.start && d.span.end <= span.end;
    if let (Some(top), Some(c)) = (&raw.mesh, &cluster.mesh) {
        let in_top = mesh_spans(top).iter().any(overlaps);
        let in_cluster = mesh_spans(c).iter().any(overlaps);
        if in_top && !in_cluster {
            let at = mesh_spans(c)
                .into_iter()
                .find(|s| s != &c.span)
                .unwrap_or_else(|| c.span.clone());
            d.notes.push((
                at,
                format!(
                    "cluster `{}` replaces these [mesh] keys",
                    cluster.name.value
                ),
            ));
        }
    }
    if let (Some(span), Some(p)) = (&cluster.platform_span, &cluster.platform) {
        let spans = |p: &RawPlatform| -> Vec<Range<usize>> {
            [
                p.dns.as_ref().map(|x| x.span.clone()),
                p.ingress.as_ref().map(|x| x.span.clone()),
                p.monitoring.as_ref().map(|x| x.span.clone()),
                p.kube_api.as_ref().map(|x| x.span.clone()),
            ]
            .into_iter()
            .flatten()
            .collect()
        };
        if spans(&raw.platform).iter().any(overlaps) && !spans(p).iter().any(overlaps) {
            let at = spans(p).into_iter().next().unwrap_or_else(|| span.clone());
            d.notes.push((
                at,
                format!(
                    "cluster `{}` replaces these [platform] keys",
                    cluster.name.value
                ),
            ));
        }
    }
}
