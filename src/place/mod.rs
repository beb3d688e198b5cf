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

mod check;
mod notes;

pub use check::check;
pub use notes::notes_for;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::load::{
    Located, RawClusterEntry, RawConfig, RawConsumers, RawIngress, RawMesh, RawPlacement,
    RawPlatform, RawPurged,
};

/// The directory of every cluster's tree, relative to the output directory.
pub const CLUSTERS_DIR: &str = "clusters";

/// The directory of cluster `name`'s tree, relative to the output directory.
pub fn cluster_dir(name: &str) -> String {
    format!("{CLUSTERS_DIR}/{name}")
}

/// `<output>/clusters/<name>`, refused when `clusters` or `<name>` is a symbolic link (or not a
/// directory): a link planted in a checkout would send a compile's writes, or the review
/// commands' reading, outside the output directory. Missing directories are fine (a first
/// compile creates them).
pub fn cluster_root(output: &Path, name: &str) -> Result<PathBuf, crate::Error> {
    let parent = output.join(CLUSTERS_DIR);
    let dir = parent.join(name);
    for p in [&parent, &dir] {
        let message = match std::fs::symlink_metadata(p) {
            Ok(m) if m.file_type().is_symlink() => format!(
                "{} is a symbolic link; a cluster's tree must be a directory inside the output directory",
                p.display()
            ),
            Ok(m) if !m.is_dir() => format!("{} is not a directory", p.display()),
            _ => continue,
        };
        return Err(crate::Error::Output(vec![crate::write::OutputError {
            path: output.to_owned(),
            message,
        }]));
    }
    Ok(dir)
}

/// The entries of `<output>/clusters/` that are no cluster of `names`, sorted, each with whether
/// it holds a tree tenantc generated (its `kustomization.yaml` has the generated header).
pub fn other_cluster_dirs(output: &Path, names: &[&str]) -> Vec<(PathBuf, String, bool)> {
    let parent = output.join(CLUSTERS_DIR);
    let mut found: Vec<(PathBuf, String, bool)> = std::fs::read_dir(&parent)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !names.contains(&n.as_str()))
        .map(|n| {
            let path = parent.join(&n);
            let generated = crate::write::is_generated_file(&path.join("kustomization.yaml"));
            (path, n, generated)
        })
        .collect();
    found.sort();
    found
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

/// The single-cluster file that `cluster` of `raw` describes.
pub fn view(raw: &RawConfig, cluster: &RawClusterEntry) -> RawConfig {
    let name = cluster.name.value.as_str();
    let retired_here: BTreeMap<&str, &Located<String>> = cluster
        .retired
        .iter()
        .flat_map(|l| &l.value)
        .map(|n| (n.value.as_str(), n))
        .collect();
    // Entries that run on this cluster: the names consumer lists keep (not one whose every
    // namespace this cluster retires: it runs elsewhere, closed here).
    let all_retired_here = |t: &crate::load::RawTenant| match &t.namespaces {
        Some(l) => l
            .value
            .iter()
            .all(|n| retired_here.contains_key(n.value.as_str())),
        None => retired_here.contains_key(t.name.value.as_str()),
    };
    let present: BTreeSet<&str> = raw
        .tenants
        .iter()
        .filter(|t| placed(&t.clusters, name) && !all_retired_here(t))
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
                // Closed here: none of the tenant's grants to those namespaces holds in this
                // cluster (it still does in the others).
                let closed = |n: &str| retire.iter().any(|r| r.value == n);
                t.expose.retain(|e| !closed(&e.namespace.value));
                if let Some(RawIngress::List(l)) = &mut t.ingress {
                    l.value.retain(|n| !closed(&n.value));
                    if l.value.is_empty() {
                        t.ingress = None;
                    }
                }
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
                // Closed here (whether or not it left this cluster): a retired shared
                // namespace has no flows, whatever its entry grants in the clusters it still
                // runs on.
                s.consumers = None;
                s.ports = None;
                s.ingress = None;
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
    // A namespace purged everywhere and in this cluster too is purged once here (a duplicate
    // within one list is still reported, by the view).
    let everywhere = namespaces.len();
    for n in &c.value {
        if !namespaces[..everywhere].iter().any(|m| m.value == n.value) {
            namespaces.push(n.clone());
        }
    }
    Some(RawPurged {
        namespaces: Some(Located {
            value: namespaces,
            span: c.span.clone(),
        }),
        span: top.map_or(c.span.clone(), |p| p.span.clone()),
    })
}
