//! The whole pipeline as `tenantc compile` runs it, from tenants.toml on disk to the output
//! directory: read and compile the config ([`crate::config_from_file`],
//! [`crate::compile_config`]), lock and survey the output directory ([`crate::write`]), refuse
//! an unacknowledged namespace deletion ([`crate::lifecycle`]), then write the tree or, with
//! [`Options::check`], compare it. The shell only prints the [`Outcome`].

use std::path::Path;

use crate::emit::{summarize, Rendering};
use crate::lifecycle::{self, Report, Side};
use crate::render::TemplateError;
use crate::write::{self, Plan, Summary};
use crate::{Compiled, Error};

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

/// What a run found and did, for the shell to print.
#[derive(Debug)]
pub struct Outcome {
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
}

/// Runs the compile of `options`, telling `progress` of each [`Stage`] as it begins.
pub fn run(options: &Options, progress: &mut dyn FnMut(Stage)) -> Result<Outcome, Error> {
    let Options {
        config,
        output,
        templates: templates_dir,
        check,
        list_changes,
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
    let open = || write::Output::open(output, access, &inputs).map_err(|e| Error::Output(vec![e]));
    // An output directory that exists is locked now and listed while tenants.toml is read (the
    // listing does not depend on it). One that does not exist is created only once tenants.toml
    // and the templates have proved valid: bad input writes nothing, not even a directory.
    let early = match std::fs::symlink_metadata(output) {
        Ok(_) => {
            let locked = open()?;
            let root = output.to_owned();
            Some((locked, std::thread::spawn(move || write::scan(&root))))
        }
        Err(_) => None,
    };
    let (cfg, source) = crate::config_from_file(config)?;
    let namespaces: usize = cfg.shared.len()
        + cfg
            .tenants
            .values()
            .map(|t| t.namespaces.len())
            .sum::<usize>();
    progress(Stage::Rendering { namespaces });
    let compiled = crate::compile_config(cfg, &crate::header_name(config));
    let layout = compiled.layout();
    let producer = compiled.producer(&templates)?;
    let rendering = Rendering {
        layout: &layout,
        producer: &producer,
    };
    let files = layout.files();
    progress(Stage::Comparing { output });
    let (locked, scan) = match early {
        Some((locked, listing)) => {
            let scan = listing.join();
            (
                locked,
                scan.unwrap_or_else(|p| std::panic::resume_unwind(p)),
            )
        }
        None => (open()?, write::scan(output)),
    };
    let mut plan = scan
        .and_then(|scan| write::survey(output, scan, layout.paths()))
        .map_err(Error::Output)?;
    let lifecycle = lifecycle_of_plan(&compiled, &source, config, output, &plan);
    let outcome = |status, plan: Plan, lifecycle| {
        let changes = if list_changes {
            plan.all_changes(&rendering)
        } else {
            Vec::new()
        };
        Outcome {
            status,
            tenants: compiled.intent.tenants.len(),
            shared: compiled.intent.shared.len(),
            namespaces,
            files,
            plan,
            changes,
            lifecycle,
        }
    };
    if lifecycle.unacknowledged > 0 && !check {
        // Nothing is written: a compile must not delete a namespace's files by accident.
        return Ok(outcome(Status::Refused, plan, lifecycle));
    }
    if check {
        write::compare(output, &mut plan, &rendering).map_err(failure)?;
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
