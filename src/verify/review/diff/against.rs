//! `tenantc diff --base`: both sides read from disk (a tenants.toml or an output tree), and
//! with `[clusters]` one diff per cluster.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;

use super::{diff, view_of_intent, view_of_tree, Diff};
use crate::intent::Intent;
use crate::lifecycle::{self, Side};
use crate::verify::model::Model;
use crate::verify::tree::{read_tree, Tree};
use crate::Error;

/// What `tenantc diff` reports. Serialized as the diff's fields in their order, then the
/// lifecycle report.
#[derive(Debug, Serialize)]
pub struct Outcome {
    #[serde(flatten)]
    pub diff: Diff,
    /// The destructive changes, which a report shows first; an unacknowledged one fails CI.
    pub lifecycle: lifecycle::Report,
}

/// What the tenants.toml at `config` changes against `base`: an older tenants.toml (a file), or
/// an older output tree (a directory), which is then compared with the tree at `output`. Both
/// sides are read before anything is compared, and a tree that cannot be read is
/// [`Error::Tree`] (the base's errors first). A file with `[clusters]` is refused: see
/// [`diff_each`].
pub fn diff_against(base: &Path, config: &Path, output: &Path) -> Result<Outcome, Error> {
    let (cfg, source) = crate::config_from_file(config)?;
    let base = if base.is_dir() {
        Base::Tree(Some(base.to_owned()))
    } else {
        let (base_cfg, base_source) = crate::config_from_file(base)?;
        Base::Config(Box::new(base_cfg), base_source, base.display().to_string())
    };
    let current = Current {
        config: cfg,
        source: &source,
        file: config.display().to_string(),
        tree: output,
    };
    between(base, current)
}

/// The older side of a diff.
enum Base {
    /// An output tree; `None`: none (a cluster new to the file).
    Tree(Option<std::path::PathBuf>),
    /// A tenants.toml's config, its text and its path.
    Config(Box<crate::model::Config>, String, String),
}

/// The newer side of a diff: a config, its text, its path, and its tree on disk.
struct Current<'a> {
    config: crate::model::Config,
    source: &'a str,
    file: String,
    tree: &'a Path,
}

fn between(base: Base, current: Current) -> Result<Outcome, Error> {
    let Current {
        config: cfg,
        source,
        file,
        tree: output,
    } = current;
    let intent = crate::intent::intent_of(&cfg);
    let after = Side::of_config(&cfg, &intent, source, &file);
    let (before, diff) = match base {
        Base::Tree(base) => {
            let known = known(&[&intent]);
            let read = |dir: Option<&Path>| match dir {
                Some(dir) => read_tree(dir).map(|t| Model::build(t, &known)),
                None => Ok(Model::build(Tree::default(), &known)),
            };
            let (old, new) = match (read(base.as_deref()), read(Some(output))) {
                (Ok(o), Ok(n)) => (o, n),
                (Err(e), _) | (_, Err(e)) => return Err(Error::Tree(e)),
            };
            let d = diff(
                &view_of_tree(&old, &intent),
                &view_of_tree(&new, &intent),
                &intent,
            );
            let before = base.map_or_else(Side::default, |b| Side::of_tree(&b));
            (before, d)
        }
        Base::Config(base_cfg, base_source, base_file) => {
            let base_intent = crate::intent::intent_of(&base_cfg);
            let before = Side::of_config(&base_cfg, &base_intent, &base_source, &base_file);
            // An intent's view has no tree: the model only gives both sides' namespaces ids.
            let model = Model::build(Tree::default(), &known(&[&intent, &base_intent]));
            let files = |c: crate::model::Config| {
                crate::compile_config(c, "tenants.toml")
                    .layout()
                    .paths()
                    .count()
            };
            let (old_files, new_files) = (files(*base_cfg), files(cfg));
            let d = diff(
                &view_of_intent(&base_intent, &model, old_files),
                &view_of_intent(&intent, &model, new_files),
                &intent,
            );
            (before, d)
        }
    };
    let mut lifecycle = lifecycle::compare(&before, &after);
    // A lowered Pod Security level admits pods that were refused: breaking, like a lost flow.
    lifecycle
        .changes
        .extend(
            diff.pod_security_weakens
                .iter()
                .map(|w| lifecycle::Change::PodSecurityWeakens {
                    of: w.of.clone(),
                    before: w.before.clone(),
                    after: w.after.clone(),
                }),
        );
    Ok(Outcome { diff, lifecycle })
}

/// `tenantc diff` of every cluster of the tenants.toml at `config` (or only `cluster`'s), one at
/// a time; `each` gets the cluster's name (`None` for a file of one cluster) and its diff. Each
/// cluster is compared with the same cluster of `base`: its tree `<base>/clusters/<name>` (a base
/// tree of one cluster: the whole of it), or its view of a base tenants.toml (a base of one
/// cluster: that file). A cluster the base lacks is new: everything in it is added.
pub fn diff_each(
    base: &Path,
    config: &Path,
    output: &Path,
    cluster: Option<&str>,
    each: &mut dyn FnMut(Option<&str>, Outcome),
) -> Result<(), Error> {
    let Some((clusters, source, names)) = crate::clusters_to_cover(config, cluster)? else {
        each(None, diff_against(base, config, output)?);
        return Ok(());
    };
    let base_configs = if base.is_dir() {
        None
    } else {
        Some(crate::configs_from_file(base)?)
    };
    for name in &names {
        let name = name.as_str();
        let dir = crate::place::cluster_dir(name);
        let base = match &base_configs {
            None => {
                let of_cluster = base.join(&dir);
                if of_cluster.is_dir() {
                    Base::Tree(Some(of_cluster))
                } else if base.join(crate::place::CLUSTERS_DIR).is_dir() {
                    Base::Tree(None)
                } else {
                    Base::Tree(Some(base.to_owned()))
                }
            }
            Some((crate::Configs::One(c), s)) => {
                Base::Config(Box::new(c.clone()), s.clone(), base.display().to_string())
            }
            Some((crate::Configs::Clusters(bc), s)) => Base::Config(
                Box::new(
                    bc.config(name)
                        .unwrap_or_else(|| clusters.empty_config(name)),
                ),
                s.clone(),
                base.display().to_string(),
            ),
        };
        let tree = crate::place::cluster_root(output, name)?;
        let current = Current {
            config: clusters.config(name).expect("a cluster of the file"),
            source: &source,
            file: config.display().to_string(),
            tree: &tree,
        };
        let mut outcome = between(base, current)?;
        outcome.lifecycle.cluster = Some(name.to_owned());
        each(Some(name), outcome);
    }
    Ok(())
}

/// Every namespace either side names, so that both models give them ids.
pub fn known(intents: &[&Intent]) -> Vec<String> {
    let mut all: BTreeSet<String> = BTreeSet::new();
    for i in intents {
        all.extend(i.known_namespaces());
    }
    all.into_iter().collect()
}
