//! The whole pipeline as `tenantc compile` runs it, from tenants.toml on disk to the output
//! directory: read and compile the config ([`crate::config_from_file`],
//! [`crate::compile_config`]), lock and survey the output directory ([`crate::write`]), refuse
//! an unacknowledged namespace deletion ([`crate::lifecycle`]), then write the tree or, with
//! [`Options::check`], compare it. The shell only prints the [`Outcome`].

use std::path::{Path, PathBuf};

use crate::emit::{summarize, Rendering};
use crate::lifecycle::{self, Report, Side};
use crate::render::TemplateError;
use crate::write::{self, Plan, Summary};
use crate::{Clusters, Compiled, Configs, Error};

/// What to compile, and where to.
#[derive(Clone, Copy, Debug)]
pub struct Options<'a> {
    /// The tenants file.
    pub config: &'a Path,
    /// The output directory.
    pub output: &'a Path,
    /// A directory whose templates replace the built-in ones of the same name.
    pub templates: Option<&'a Path>,
    /// Write nothing: compare the tree with the output directory.
    pub check: bool,
    /// Fill [`Outcome::changes`]. Only a machine-readable report asks: a fresh compile of
    /// 10,000 tenants has 67,000 changes.
    pub list_changes: bool,
    /// The process exits after this run: the compiled intent of a config of one cluster is
    /// left unfreed (freeing it was 3-4% of a no-op compile at 10,000 tenants), as `verify`
    /// leaves its model. A caller that goes on compiling leaves this `false`.
    pub exiting: bool,
}

/// Where a run is: the stages that take a while on a large config, for a caller that shows
/// progress. Reported in this order; `Writing` only when the run writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage<'a> {
    /// The config is valid; its namespaces are rendered and compared with the directory.
    Rendering { namespaces: usize },
    /// Waiting for the listing of the output directory, then comparing it with the layout.
    Comparing { output: &'a Path },
    /// Every file rendered and found tenantc's: this many are written.
    Writing { files: usize },
}

/// How a run ended, when the config, the templates and the output directory were usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The compile would delete namespaces that tenants.toml does not acknowledge: nothing was
    /// written (see [`Outcome::lifecycle`]). Never with [`Options::check`].
    Refused,
    /// `check`: the output directory is what the config compiles to.
    UpToDate,
    /// `check`: files would change ([`Plan::diff`]).
    Drift,
    /// The tree was written.
    Written(Summary),
}

/// What a run found and did, for the shell to print: one per cluster.
#[derive(Debug)]
pub struct Outcome {
    /// The cluster of a file with `[clusters]`; `None` for a file of one cluster.
    pub cluster: Option<String>,
    /// The directory of this tree: the output directory, or `<output>/clusters/<name>`.
    pub output: PathBuf,
    pub status: Status,
    pub tenants: usize,
    pub shared: usize,
    /// Namespaces in the config, tenants' and shared.
    pub namespaces: usize,
    /// Files in the layout.
    pub files: usize,
    /// The changes to the output directory: made, or with `check` found.
    pub plan: Plan,
    /// With [`Options::list_changes`]: `(path, "create" | "update" | "delete")`, by path.
    pub changes: Vec<(String, &'static str)>,
    /// What the compile does to namespaces that exist.
    pub lifecycle: Report,
    /// What the shell should tell the user besides (a cluster's tree left in place).
    pub notes: Vec<String>,
}

/// Runs the compile of `options`, telling `progress` of each [`Stage`] as it begins: one
/// [`Outcome`], or with `[clusters]` one per cluster, in file order (only the refused ones when
/// a cluster's compile is refused: then nothing is written in any cluster).
pub fn run(options: &Options, progress: &mut dyn FnMut(Stage)) -> Result<Vec<Outcome>, Error> {
    let Options {
        config,
        output,
        templates: templates_dir,
        check,
        ..
    } = *options;
    let templates = crate::templates_of(templates_dir)?;
    // Locked before it is read: a plan made while another run writes would mix both trees.
    let access = if check {
        write::Access::Read
    } else {
        write::Access::Write
    };
    let mut inputs = vec![config];
    inputs.extend(templates_dir);
    let open =
        |dir: &Path| write::Output::open(dir, access, &inputs).map_err(|e| Error::Output(vec![e]));
    // An output directory that exists is locked now and listed while tenants.toml is read (the
    // listing does not depend on it). One that does not exist is created only once tenants.toml
    // and the templates have proved valid: bad input writes nothing, not even a directory.
    // Not beside the clusters' trees: a file with `[clusters]` lists each cluster's directory in
    // its turn, and a file of one cluster is refused there (see `refuse_mixed`).
    let clusters_dir = output.join(crate::place::CLUSTERS_DIR);
    let early = match std::fs::symlink_metadata(output) {
        Ok(_) if std::fs::symlink_metadata(&clusters_dir).is_err() => {
            let locked = open(output)?;
            let root = output.to_owned();
            Some((locked, std::thread::spawn(move || write::scan(&root))))
        }
        _ => None,
    };
    let (configs, source) = crate::configs_from_file(config)?;
    let cfg = match configs {
        Configs::One(cfg) => cfg,
        Configs::Clusters(clusters) => {
            let root = match early {
                // A first compile with [clusters]: the listing of the root is not needed.
                Some((locked, _listing)) => locked,
                None => open(output)?,
            };
            refuse_mixed(output, true)?;
            return run_clusters(
                options, &templates, &clusters, &source, root, &open, progress,
            );
        }
    };
    refuse_mixed(output, false)?;
    let namespaces = namespaces_of(&cfg);
    progress(Stage::Rendering { namespaces });
    let compiled = crate::compile_config(cfg, &crate::header_name(config));
    let (locked, scan) = match early {
        Some((locked, listing)) => {
            progress(Stage::Comparing { output });
            let scan = listing.join();
            (
                locked,
                scan.unwrap_or_else(|p| std::panic::resume_unwind(p)),
            )
        }
        None => {
            progress(Stage::Comparing { output });
            (open(output)?, write::scan(output))
        }
    };
    let planned = plan(&compiled, &source, options, output, locked, scan)?;
    let outcome = finish(&compiled, &templates, options, output, planned, progress);
    if options.exiting {
        std::mem::forget(compiled);
    }
    let outcome = outcome?;
    Ok(vec![Outcome {
        cluster: None,
        namespaces,
        ..outcome
    }])
}

fn namespaces_of(cfg: &crate::model::Config) -> usize {
    cfg.shared.len()
        + cfg
            .tenants
            .values()
            .map(|t| t.namespaces.len())
            .sum::<usize>()
}

/// A tree compared with the output directory, before anything is rendered or written.
struct Planned {
    locked: Option<write::Output>,
    plan: Plan,
    lifecycle: Report,
}

/// Surveys `dir` against `compiled`'s layout, and judges what the compile does to namespaces.
fn plan(
    compiled: &Compiled,
    source: &str,
    options: &Options,
    dir: &Path,
    locked: Option<write::Output>,
    scan: Result<write::Scan, Vec<write::OutputError>>,
) -> Result<Planned, Error> {
    let layout = compiled.layout();
    let plan = scan
        .and_then(|scan| write::survey(dir, scan, layout.paths()))
        .map_err(Error::Output)?;
    let lifecycle = lifecycle_of_plan(compiled, source, options.config, dir, &plan);
    Ok(Planned {
        locked,
        plan,
        lifecycle,
    })
}

/// Writes (or with `check` compares) a planned tree; refuses it when its lifecycle has an
/// unacknowledged change.
fn finish(
    compiled: &Compiled,
    templates: &crate::render::Templates,
    options: &Options,
    dir: &Path,
    planned: Planned,
    progress: &mut dyn FnMut(Stage),
) -> Result<Outcome, Error> {
    let Planned {
        locked,
        mut plan,
        lifecycle,
    } = planned;
    let layout = compiled.layout();
    let producer = compiled.producer(templates)?;
    let rendering = Rendering {
        layout: &layout,
        producer: &producer,
    };
    let outcome = |status, plan: Plan, lifecycle| {
        let changes = if options.list_changes {
            plan.all_changes(&rendering)
        } else {
            Vec::new()
        };
        Outcome {
            cluster: None,
            output: dir.to_owned(),
            status,
            tenants: compiled.intent.tenants.len(),
            shared: compiled.intent.shared.len(),
            namespaces: namespaces_of(&compiled.config),
            files: layout.files(),
            plan,
            changes,
            lifecycle,
            notes: Vec::new(),
        }
    };
    if lifecycle.unacknowledged > 0 && !options.check {
        // Nothing is written: a compile must not delete a namespace's files by accident.
        return Ok(outcome(Status::Refused, plan, lifecycle));
    }
    if options.check {
        write::compare(dir, &mut plan, &rendering).map_err(failure)?;
        let status = if plan.is_empty() {
            Status::UpToDate
        } else {
            Status::Drift
        };
        return Ok(outcome(status, plan, lifecycle));
    }
    let Some(out) = &locked else {
        unreachable!("a compile creates its output directory")
    };
    let staged = out.stage(&mut plan, &rendering).map_err(failure)?;
    progress(Stage::Writing {
        files: plan.created() + plan.updated(),
    });
    let summary = out
        .commit(&plan, &rendering, &staged)
        .map_err(Error::Write)?;
    Ok(outcome(Status::Written(summary), plan, lifecycle))
}

/// Every cluster of `clusters`, in two passes so that a refusal in one writes nothing in any:
/// each cluster's tree is surveyed and judged, then (when none is refused) written or compared.
/// One cluster's config is held at a time.
fn run_clusters(
    options: &Options,
    templates: &crate::render::Templates,
    clusters: &Clusters,
    source: &str,
    root: Option<write::Output>,
    open: &dyn Fn(&Path) -> Result<Option<write::Output>, Error>,
    progress: &mut dyn FnMut(Stage),
) -> Result<Vec<Outcome>, Error> {
    let header = crate::header_name(options.config);
    let names = clusters.names();
    let compiled_of = |name: &str| {
        let config = clusters.config(name).expect("a cluster of the file");
        crate::compile_config(config, &header)
    };
    // The clusters' parent, locked like each cluster's directory, and removed when a run that
    // created it wrote nothing.
    let parent = options.output.join(crate::place::CLUSTERS_DIR);
    for name in &names {
        crate::place::cluster_root(options.output, name)?;
    }
    let parent_lock = if root.is_some() { open(&parent)? } else { None };
    let mut planned = Vec::new();
    for name in &names {
        let compiled = compiled_of(name);
        progress(Stage::Rendering {
            namespaces: namespaces_of(&compiled.config),
        });
        let dir = crate::place::cluster_root(options.output, name)?;
        progress(Stage::Comparing { output: &dir });
        let locked = open(&dir)?;
        let scan = write::scan(&dir);
        let mut p = plan(&compiled, source, options, &dir, locked, scan)?;
        p.lifecycle.cluster = Some((*name).to_owned());
        planned.push(p);
    }
    let refused = planned
        .iter()
        .any(|p| p.lifecycle.unacknowledged > 0 && !options.check);
    let mut outcomes = Vec::new();
    for (name, p) in names.iter().zip(planned) {
        if refused && p.lifecycle.unacknowledged == 0 {
            continue;
        }
        let compiled = compiled_of(name);
        let dir = crate::place::cluster_root(options.output, name)?;
        let mut outcome = finish(&compiled, templates, options, &dir, p, progress)?;
        outcome.cluster = Some((*name).to_owned());
        outcomes.push(outcome);
    }
    if let Some(first) = outcomes.first_mut() {
        first.notes = stale_clusters(options.output, &names);
    }
    drop(parent_lock);
    drop(root);
    Ok(outcomes)
}

/// The directories of `<output>/clusters/` that hold a tree tenantc generated for a cluster the
/// file no longer has: left in place (deleting a cluster's tree is a person's act), and said.
fn stale_clusters(output: &Path, names: &[&str]) -> Vec<String> {
    crate::place::other_cluster_dirs(output, names)
        .into_iter()
        .filter(|(_, _, generated)| *generated)
        .map(|(path, n, _)| {
            format!(
                "{} holds the tree of cluster `{n}`, which tenants.toml no longer describes: tenantc leaves it alone; remove it by hand once nothing syncs it",
                path.display()
            )
        })
        .collect()
}

/// Refuses an output directory that holds the other layout's tree: a tree of one cluster where
/// `[clusters]` writes `clusters/<name>/`, or the clusters' trees where a file of one cluster
/// writes the root. Either compile would leave the other tree's namespaces behind, or delete
/// them without the lifecycle's check.
fn refuse_mixed(output: &Path, clusters: bool) -> Result<(), Error> {
    let (found, message) = if clusters {
        (
            write::is_generated_file(&output.join("kustomization.yaml")),
            "holds a tree compiled without [clusters] (its kustomization.yaml); tenants.toml now describes several clusters, whose trees go to clusters/<name>/: compile into a new output directory, or move that tree out once each cluster syncs its own",
        )
    } else {
        let parent = output.join(crate::place::CLUSTERS_DIR);
        let any = std::fs::read_dir(&parent).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| write::is_generated_file(&e.path().join("kustomization.yaml")))
        });
        (
            any,
            "holds the trees of several clusters (clusters/<name>/), compiled from a file with [clusters]; this tenants.toml describes one cluster: compile into a new output directory, or remove clusters/ once nothing syncs it",
        )
    };
    if found {
        return Err(Error::Output(vec![write::OutputError {
            path: output.to_owned(),
            message: message.into(),
        }]));
    }
    Ok(())
}

/// A failure while rendering against the output directory: nothing was changed.
fn failure(e: write::Failure<TemplateError>) -> Error {
    match e {
        write::Failure::Render(errors) => Error::Templates(summarize(errors)),
        write::Failure::Output(errors) => Error::Output(errors),
    }
}

/// What a compile would do to namespaces that exist: the Namespace files it deletes.
fn lifecycle_of_plan(
    compiled: &Compiled,
    source: &str,
    config: &Path,
    output: &Path,
    plan: &Plan,
) -> Report {
    // Only a deleted Namespace file can make a destructive change (a created one only takes a
    // namespace out of the comparison): without one, the config is not read a second time.
    let deletes_a_namespace = plan.changes.iter().any(|(path, c)| {
        matches!(c, write::Change::Delete { .. }) && lifecycle::namespace_of_path(path).is_some()
    });
    if !deletes_a_namespace {
        return Report::default();
    }
    let after = Side::of_config_with(
        &compiled.config,
        &compiled.intent,
        source,
        &config.display().to_string(),
        false,
    );
    let deleted = plan.changes.iter().filter_map(|(path, c)| match c {
        write::Change::Delete { old } => Some((path.clone(), old.as_str())),
        _ => None,
    });
    // Before rendering, a Namespace file is created where none exists.
    let created: Vec<String> = compiled
        .layout()
        .paths()
        .filter(|p| p.ends_with("/namespace.yaml") && !plan.exists(p))
        .collect();
    let created = created.iter().map(String::as_str);
    let mut before = lifecycle::side_before_compile(&after, deleted, created);
    // Name the files as the user knows them: under the output directory.
    for held in before.namespaces.values_mut() {
        if held.at.line.is_none() {
            held.at.file = output.join(&held.at.file).display().to_string();
        }
    }
    lifecycle::compare(&before, &after)
}
