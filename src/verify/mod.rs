//! Stage 7, verify: read a tree back from disk, evaluate it the way Kubernetes, Istio and the sync
//! tools do, and compare the result with the intent of tenants.toml. Independent of `render` by
//! design, so that it catches what user templates or hand edits got wrong.
//!
//! From the bottom up:
//! - [`tree`] reads the YAML files and kustomizations, keeping file and object of every document;
//! - [`finding`] is what verify reports, with the helpers every layer builds findings with;
//! - [`ip`] and [`model`] evaluate the tree per namespace (the peers and ports each namespace's
//!   NetworkPolicies admit, the scope of its Sidecars);
//! - [`layer`] holds one module per layer, its semantics and its comparison with the intent;
//! - this module runs them ([`evaluate`]) and [`report`] prints the result;
//! - [`review`] answers a reviewer's questions (explain, diff, graph) on the same model.

pub mod finding;
pub mod ip;
pub mod layer;
pub mod model;
pub mod report;
pub mod review;
pub mod tree;

use std::path::Path;

/// Maps and sets keyed by names, paths and the tree's strings, hashed with aHash, seeded at random
/// per map like std's `RandomState` (a tree crafted to collide gains nothing) but several times
/// cheaper than SipHash, which was several percent of verify's CPU at 10,000 tenants.
pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, ahash::RandomState>;
pub(crate) type HashSet<T> = std::collections::HashSet<T, ahash::RandomState>;

use crate::intent::Intent;
pub use finding::{Finding, Severity};
use layer::{access, ambient, authz, gitops, lifecycle, netpol, objects, outside, sidecar};
use model::Model;
pub use report::{MeshScope, Report, ScopeRow, Summary};
pub use tree::{Origin, TreeError};

/// Reads the tree at `output` and evaluates it; `intent` names the namespaces it should know.
pub fn model_of(output: &Path, intent: &Intent) -> Result<Model, Vec<TreeError>> {
    let tree = tree::read_tree(output)?;
    Ok(Model::build(tree, &intent.known_namespaces()))
}

/// Reads the tenants.toml at `config` and the tree at `output`: what explain, graph and access
/// answer from; with `cluster`, that cluster's view and tree (`<output>/clusters/<name>`) of a
/// file with `[clusters]`. An unreadable tree is [`crate::Error::Tree`].
pub fn intent_and_model(
    config: &Path,
    output: &Path,
    cluster: Option<&str>,
) -> Result<(Intent, Model), crate::Error> {
    let (cfg, _) = crate::config_of_cluster(config, cluster)?;
    let intent = crate::intent::intent_of(&cfg);
    let dir = match cluster {
        Some(name) => crate::place::cluster_root(output, name)?,
        None => output.to_owned(),
    };
    let model = model_of(&dir, &intent).map_err(crate::Error::Tree)?;
    Ok((intent, model))
}

/// What [`verify_each`] found in a tree, with the evaluated tree and the intent it was judged by: a
/// caller about to exit may leave them unfreed (`std::mem::forget`), since freeing the model of
/// a large tree takes a while.
#[derive(Debug)]
pub struct Verified {
    pub report: Report,
    pub model: Model,
    pub intent: Intent,
}

/// The tree at `output`, walked while the tenants.toml at `config` is read and its intent
/// derived (the walk does not need them, and waits on the disk more than on the core): the
/// intent of a file of one cluster with the tree, or the file's clusters (the tree is then
/// not theirs, and dropped). An invalid config is the error reported first. Once the intent is
/// derived, the reader threads take the GitOps layer's first step on the GitOps objects as they
/// read them (`tree::read_tree_with`).
fn read_with_config(
    config: &Path,
    output: &Path,
) -> Result<Result<(Intent, tree::Tree), crate::Cover>, crate::Error> {
    let intent = std::sync::OnceLock::new();
    let reader: tree::GitOpsSlot = std::sync::OnceLock::new();
    let (cover, tree) = std::thread::scope(|s| {
        let cover = s.spawn(|| {
            // The parsed config is not needed once the intent is derived.
            Ok::<_, crate::Error>(match crate::to_cover(config, None)? {
                crate::Cover::One(config) => {
                    let intent = intent.get_or_init(|| intent_to_verify(&config));
                    if let Some(r) = gitops::reader(intent, &output.display().to_string()) {
                        let _ = reader.set(r);
                    }
                    Ok(())
                }
                clusters => Err(clusters),
            })
        });
        let tree = tree::read_tree_with(output, Some(&reader));
        let cover = cover
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (cover, tree)
    });
    drop(reader);
    match cover? {
        Ok(()) => {
            let intent = intent.into_inner().expect("set with Cover::One");
            Ok(Ok((intent, tree.map_err(crate::Error::Tree)?)))
        }
        Err(clusters) => Ok(Err(clusters)),
    }
}

/// `tree` evaluated and judged by `intent`, with both.
fn judged(tree: tree::Tree, intent: Intent) -> Verified {
    let (model, report) = evaluate(tree, &intent);
    Verified {
        report,
        model,
        intent,
    }
}

/// The intent verify judges by: each tenant's set of namespaces serves explain and graph, not
/// verify (which reads each namespace's intent), and is freed before the tree is read.
fn intent_to_verify(config: &crate::model::Config) -> Intent {
    let mut intent = crate::intent::intent_of(config);
    drop(std::mem::take(&mut intent.tenants));
    intent
}

/// Verifies every cluster's tree of the tenants.toml at `config` (or only `cluster`'s), one at a
/// time: `each` gets the cluster's name (`None` for a file of one cluster), its directory and
/// what verify found there, and may keep or drop it. Each finding of a cluster's report names
/// the cluster. A directory under `<output>/clusters/` that holds a generated tree for a cluster
/// the file no longer has is reported as a violation of its own (`stale-cluster`): nothing
/// proves what it would apply.
pub fn verify_each(
    config: &Path,
    output: &Path,
    cluster: Option<&str>,
    each: &mut dyn FnMut(Option<&str>, &Path, Verified),
) -> Result<(), crate::Error> {
    // Most files describe one cluster, and their output has no `clusters/` directory: the
    // tree is walked while the file is read, and the file is read once.
    let cover = if cluster.is_none() && !output.join(crate::place::CLUSTERS_DIR).exists() {
        match read_with_config(config, output)? {
            Ok((intent, tree)) => {
                each(None, output, judged(tree, intent));
                return Ok(());
            }
            Err(cover) => cover,
        }
    } else {
        crate::to_cover(config, cluster)?
    };
    let (clusters, names) = match cover {
        crate::Cover::One(config) => {
            let intent = intent_to_verify(&config);
            let tree = tree::read_tree(output).map_err(crate::Error::Tree)?;
            each(None, output, judged(tree, intent));
            return Ok(());
        }
        crate::Cover::Clusters(clusters, _, names) => (clusters, names),
    };
    for name in &names {
        let name = name.as_str();
        let intent = intent_to_verify(&clusters.config(name).expect("a cluster of the file"));
        let dir = crate::place::cluster_root(output, name)?;
        let tree = tree::read_tree(&dir).map_err(crate::Error::Tree)?;
        let (model, mut report) = evaluate(tree, &intent);
        for f in &mut report.findings {
            f.message = format!("in cluster {name}: {}", f.message);
        }
        if cluster.is_none() && name == clusters.names()[0] {
            stale_clusters(output, &clusters.names(), &mut report);
        }
        each(
            Some(name),
            &dir,
            Verified {
                report,
                model,
                intent,
            },
        );
    }
    Ok(())
}

/// A violation per directory of `<output>/clusters/` that holds a tenantc tree for no cluster of
/// the file.
fn stale_clusters(output: &Path, names: &[&str], report: &mut Report) {
    let mut found: Vec<String> = crate::place::other_cluster_dirs(output, names)
        .into_iter()
        .map(|(path, n, generated)| if generated {
            format!(
                "{} holds the tree of cluster `{n}`, which tenants.toml does not describe: nothing proves what a sync of it applies; remove it once no Argo CD or Flux object syncs it",
                path.display()
            )
        } else {
            format!(
                "{} is in the clusters' directory but is no cluster of tenants.toml: nothing proves what a sync of it applies; remove it",
                path.display()
            )
        })
        .collect();
    // Beside `clusters/`, a file with [clusters] has nothing of its own to put.
    let mut beside: Vec<String> = std::fs::read_dir(output)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n != crate::place::CLUSTERS_DIR)
        .collect();
    beside.sort();
    found.extend(beside.into_iter().map(|n| {
        format!(
            "{} is outside every cluster's tree ({}/<name>/): tenants.toml with [clusters] puts nothing there, and nothing proves what a sync of it applies; remove it",
            output.join(&n).display(),
            output.join(crate::place::CLUSTERS_DIR).display()
        )
    }));
    for message in found {
        report
            .findings
            .push(finding::violation("stale-cluster", message, Vec::new()));
        report.summary.violations += 1;
        report.ok = false;
        report.status = "violations";
    }
}

/// Verifies the tree at `output` against `intent`.
pub fn verify(output: &Path, intent: &Intent) -> Result<Report, Vec<TreeError>> {
    Ok(evaluate(tree::read_tree(output)?, intent).1)
}

/// `tree`, evaluated into its model, and the report of every layer on it against `intent`.
pub fn evaluate(tree: tree::Tree, intent: &Intent) -> (Model, Report) {
    let (model, findings, mesh_scope) = findings_of(tree, intent);
    let report = report_of(&model, findings, mesh_scope);
    (model, report)
}

/// The report of `findings` on `model`, with the mesh scope of its namespaces.
fn report_of(model: &Model, findings: Vec<Finding>, mesh_scope: MeshScope) -> Report {
    let violations = findings
        .iter()
        .filter(|f| f.severity == Severity::Violation)
        .count();
    let summary = Summary {
        files: model.tree.files,
        documents: model.tree.documents,
        namespaces: model.tree.namespaces.len(),
        network_policies: model.tree.policies.len(),
        sidecars: model.tree.sidecars.len(),
        authorization_policies: model.tree.authz_policies.len(),
        peer_authentications: model.tree.peer_auths.len(),
        violations,
        warnings: findings.len() - violations,
    };
    Report {
        status: if violations == 0 { "ok" } else { "violations" },
        ok: violations == 0,
        summary,
        findings,
        mesh_scope,
    }
}

/// `tree` evaluated into its model, every finding of every layer on it, and the mesh scope of
/// its namespaces.
///
/// Three steps need no model: the GitOps layer's first one needs only its objects (most of them
/// read with the tree, see `tree::read_tree_with`; the others read again from their files) and
/// the intent; the access layer only the tree's Namespaces and access objects; and Argo CD's
/// refusals of those objects only them and the AppProjects (the refusals of the tree's other
/// objects wait for the model: the second thread would then take longer than the model). So a
/// second thread takes these while this one builds the model (which takes one core for a while
/// on a large tree). The other layers share nothing but the model: once it is built they run on
/// both threads (two cores are enough), each into a list of its own, taken largest first
/// from one queue so that the threads end together; the lists are joined in the order of
/// [`Layer`], so the result does not depend on which thread ran what. The lifecycle's findings
/// come last (below).
fn findings_of(mut tree: tree::Tree, intent: &Intent) -> (Model, Vec<Finding>, MeshScope) {
    let mut files = std::mem::take(&mut tree.gitops);
    let root = tree.root.clone();
    let (gitops_files, root) = (&mut files[..], root.as_str());
    let known = intent.known_namespaces();
    let known = &known[..];
    // The model but for the tree, built while the second thread reads what needs no model.
    let tree::Tree {
        namespaces,
        policies,
        sidecars,
        rbac,
        quotas,
        limit_ranges,
        ..
    } = &mut tree;
    let access_objects = access::Objects {
        namespaces: &namespaces[..],
        rbac: &rbac[..],
        quotas: &quotas[..],
        limit_ranges: &limit_ranges[..],
    };
    let (evaluated, (objects, access_found)) = std::thread::scope(|s| {
        let second = s.spawn(|| {
            let mut objects = gitops::read_objects(gitops_files, root, intent);
            let mut found = Vec::new();
            access::check(&access_objects, intent, &mut found);
            let access::Objects {
                rbac,
                quotas,
                limit_ranges,
                ..
            } = access_objects;
            objects.refuse_access(rbac, quotas, limit_ranges, root, intent);
            (objects, found)
        });
        let evaluated = Model::evaluate(namespaces, policies, sidecars, known);
        let second = second
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (evaluated, second)
    });
    let built = evaluated.with(tree);
    let model = &built;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mesh_scope = std::sync::Mutex::new(MeshScope::default());
    let work = || {
        let mut done: Vec<(Layer, Vec<Finding>)> = Vec::new();
        loop {
            let t = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(&layer) = LARGEST_FIRST.get(t) else {
                return done;
            };
            let mut found = Vec::new();
            match layer {
                Layer::Namespaces => objects::namespaces(model, intent, &mut found),
                Layer::NetworkPolicies => netpol::check(model, intent, &mut found),
                Layer::Outside => outside::check(model, intent, &mut found),
                Layer::Sidecars => {
                    let scope = sidecar::check(model, intent, &mut found);
                    *mesh_scope.lock().unwrap_or_else(|p| p.into_inner()) = scope;
                }
                Layer::Authorization => authz::check(model, intent, &mut found),
                Layer::Ambient => ambient::check(model, intent, &mut found),
                Layer::ForeignObjects => objects::foreign_objects(model, intent, &mut found),
                Layer::Lifecycle => found = lifecycle::check(model, intent),
                // Not queued: the second thread runs them (above and below).
                Layer::GitOps | Layer::Access => {}
            }
            done.push((layer, found));
        }
    };
    let mut layers = std::thread::scope(|s| {
        let second = s.spawn(|| {
            let mut found = Vec::new();
            gitops::check(model, intent, objects, &mut found);
            let mut layers = work();
            layers.push((Layer::GitOps, found));
            layers
        });
        let mut layers = work();
        layers.extend(
            second
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p)),
        );
        layers
    });
    layers.push((Layer::Access, access_found));
    let mut model = built;
    model.tree.gitops = files;
    let mut findings: Vec<Finding> = model
        .problems
        .iter()
        .map(|p| finding::violation(p.check, p.message.clone(), vec![p.origin.clone()]))
        .collect();
    layers.sort_unstable_by_key(|(layer, _)| *layer as usize);
    let lifecycle_findings = layers.pop().map(|(_, f)| f).unwrap_or_default();
    for (_, found) in &mut layers {
        findings.append(found);
    }
    findings.sort_by(|a, b| {
        (a.severity, &a.from, &a.to, &a.message).cmp(&(b.severity, &b.from, &b.to, &b.message))
    });
    findings.dedup();
    // The tree reader's own findings, then the lifecycle's, in the order they were found.
    findings.extend(model.tree.audit.iter().cloned());
    findings.extend(lifecycle_findings);
    let mesh_scope = mesh_scope.into_inner().unwrap_or_else(|p| p.into_inner());
    (model, findings, mesh_scope)
}

/// Every layer, in the order their findings are listed (before the sort, which keeps the order of
/// findings that compare equal); the lifecycle's are listed last, after the sort.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layer {
    Namespaces,
    NetworkPolicies,
    Outside,
    /// The Sidecars, and the report's mesh scope.
    Sidecars,
    Authorization,
    Ambient,
    GitOps,
    Access,
    ForeignObjects,
    Lifecycle,
}

/// The queue: every layer but the GitOps and access layers (which the second thread runs), the
/// costliest first (at 100,000 tenants: the outside, the Sidecars with the mesh scope, the
/// NetworkPolicies, the lifecycle), so that the threads end together.
const LARGEST_FIRST: [Layer; 8] = [
    Layer::Outside,
    Layer::Sidecars,
    Layer::NetworkPolicies,
    Layer::Lifecycle,
    Layer::Namespaces,
    Layer::ForeignObjects,
    Layer::Ambient,
    Layer::Authorization,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_runs_every_layer_but_the_gitops_and_access_layers_once() {
        let mut queued: Vec<usize> = LARGEST_FIRST.iter().map(|l| *l as usize).collect();
        queued.sort_unstable();
        let all = (Layer::Namespaces as usize)..=(Layer::Lifecycle as usize);
        assert_eq!(
            queued,
            all.filter(|&i| i != Layer::GitOps as usize && i != Layer::Access as usize)
                .collect::<Vec<_>>()
        );
        assert_eq!(
            Layer::Lifecycle as usize,
            queued.len() + 1,
            "the lifecycle is the last"
        );
    }
}
