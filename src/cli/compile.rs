//! `tenantc compile`: tenants.toml into the output tree, or with `--check` how it differs.

use std::cell::Cell;
use std::io::IsTerminal as _;
use std::path::Path;

use tenantc::compile::{self, Outcome, Stage, Status};
use tenantc::Error;

use super::{Args, Format, EXIT_DRIFT, EXIT_OK};

/// Below this many namespaces a compile takes well under a second: no progress is shown.
const PROGRESS_MIN_NAMESPACES: usize = 2000;

/// Stage messages on stderr for runs large enough to take a while, and only on a terminal (a CI
/// log or a pipe gets none); each replaces the previous one, and the last is cleared.
struct Progress {
    quiet: bool,
    /// Decided when the config is read, by its number of namespaces.
    active: Cell<bool>,
}

impl Progress {
    fn new(args: &Args) -> Self {
        Self {
            quiet: args.quiet,
            active: Cell::new(false),
        }
    }

    fn stage(&self, stage: Stage) {
        let message = match stage {
            Stage::Rendering { namespaces } => {
                self.active.set(
                    !self.quiet
                        && namespaces >= PROGRESS_MIN_NAMESPACES
                        && std::io::stderr().is_terminal(),
                );
                format!("rendering {namespaces} namespaces")
            }
            Stage::Comparing { output } => format!("comparing with {}", output.display()),
            Stage::Writing { files } => format!("writing {files} files"),
        };
        if self.active.get() {
            eprint!("\r\x1b[2K{message}…");
        }
    }

    fn done(&self) {
        if self.active.get() {
            eprint!("\r\x1b[2K");
        }
    }
}

pub(super) fn compile(
    args: &Args,
    config: &Path,
    output: &Path,
    templates: Option<&Path>,
    check: bool,
    format: Format,
) -> Result<u8, Error> {
    let options = compile::Options {
        config,
        output,
        templates,
        check,
        list_changes: format == Format::Json,
    };
    let progress = Progress::new(args);
    let outcome = compile::run(&options, &mut |stage| progress.stage(stage));
    progress.done();
    let outcome = outcome?;
    let lifecycle = &outcome.lifecycle;
    let plan = &outcome.plan;
    let json = |status: &str, written: usize, removed: usize| {
        let doc = serde_json::json!({
            "status": status,
            "check": check,
            "output": output.display().to_string(),
            "tenants": outcome.tenants,
            "shared": outcome.shared,
            "namespaces": outcome.namespaces,
            "files": outcome.files,
            "written": written,
            "unchanged": plan.unchanged,
            "removed": removed,
            "changes": changes_json(&outcome),
            "leftovers": plan.leftovers.iter().map(tenantc::write::Leftover::path).collect::<Vec<_>>(),
            "lifecycle": lifecycle,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    };
    let what = format!(
        "{} tenant{}, {} shared",
        outcome.tenants,
        if outcome.tenants == 1 { "" } else { "s" },
        outcome.shared,
    );
    // With --check, destructive changes are shown before the result, and fail the check.
    let lifecycle_notes = || {
        if !lifecycle.is_empty() && format != Format::Json {
            print!("{}", lifecycle.to_text());
        }
        if lifecycle.unacknowledged > 0 {
            super::lifecycle::report_refusal(args, lifecycle);
        }
    };
    match outcome.status {
        Status::Refused => {
            if format == Format::Json {
                json("destructive", 0, 0);
            }
            super::lifecycle::report_refusal(args, lifecycle);
            Ok(EXIT_DRIFT)
        }
        Status::UpToDate => {
            lifecycle_notes();
            if format == Format::Json {
                json("ok", 0, 0);
            } else if !args.quiet {
                println!(
                    "{} is up to date ({what}, {} files)",
                    output.display(),
                    plan.unchanged
                );
            }
            Ok(EXIT_OK)
        }
        Status::Drift => {
            lifecycle_notes();
            if format == Format::Json {
                json("drift", 0, 0);
                return Ok(EXIT_DRIFT);
            }
            print!("{}", plan.diff(output));
            let leftovers = if plan.leftovers.is_empty() {
                String::new()
            } else {
                format!(
                    ", {} left by an interrupted run would be cleaned up",
                    plan.leftovers.len()
                )
            };
            println!(
                "{} is out of date: {} file(s) would change, {} would be created, {} would be removed{leftovers}; run `tenantc compile`",
                output.display(),
                plan.updated(),
                plan.created(),
                plan.deleted()
            );
            Ok(EXIT_DRIFT)
        }
        Status::Written(summary) => {
            if format == Format::Json {
                json("ok", summary.written, summary.removed);
            } else if !args.quiet {
                println!(
                    "compiled {what}: {} file{} written, {} unchanged, {} removed",
                    summary.written,
                    if summary.written == 1 { "" } else { "s" },
                    summary.unchanged,
                    summary.removed
                );
            }
            Ok(EXIT_OK)
        }
    }
}

/// The `changes` of the JSON document: `{ "path", "change" }` for each.
fn changes_json(outcome: &Outcome) -> Vec<serde_json::Value> {
    outcome
        .changes
        .iter()
        .map(|(path, kind)| serde_json::json!({ "path": path, "change": kind }))
        .collect()
}
