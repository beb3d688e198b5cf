//! `tenantc compile`: tenants.toml into the output tree, or with `--check` how it differs.

use std::cell::Cell;
use std::io::IsTerminal as _;
use std::path::Path;

use tenantc::compile::{self, Outcome, Stage, Status};
use tenantc::Error;

use super::{print_report, say, Args, Format, EXIT_DRIFT, EXIT_OK};

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
        // JSON lists every change; so do SARIF and Code Quality, one result per stale file.
        list_changes: format == Format::Json || args.message_format.is_report(),
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
    let report = args.message_format.is_report();
    let what = format!(
        "{} tenant{}, {} shared",
        outcome.tenants,
        if outcome.tenants == 1 { "" } else { "s" },
        outcome.shared,
    );
    // With --check, destructive changes are shown before the result, and fail the check.
    let lifecycle_notes = || {
        if !lifecycle.is_empty() && format != Format::Json {
            say(args, &lifecycle.to_text());
        }
        if report && check {
            print_report(args, &stale_alerts(args, output, &outcome));
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
            if report {
                let alerts: Vec<_> = lifecycle
                    .errors()
                    .into_iter()
                    .map(|e| super::alert_on(args, "destructive-change", e, None))
                    .collect();
                print_report(args, &alerts);
            }
            super::lifecycle::report_refusal(args, lifecycle);
            Ok(EXIT_DRIFT)
        }
        Status::UpToDate => {
            lifecycle_notes();
            if format == Format::Json {
                json("ok", 0, 0);
            } else if !args.quiet {
                say(
                    args,
                    &format!(
                        "{} is up to date ({what}, {} files)\n",
                        output.display(),
                        plan.unchanged
                    ),
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
            say(args, &plan.diff(output));
            let leftovers = if plan.leftovers.is_empty() {
                String::new()
            } else {
                format!(
                    ", {} left by an interrupted run would be cleaned up",
                    plan.leftovers.len()
                )
            };
            say(args, &format!(
                "{} is out of date: {} file(s) would change, {} would be created, {} would be removed{leftovers}; run `tenantc compile`\n",
                output.display(),
                plan.updated(),
                plan.created(),
                plan.deleted()
            ));
            Ok(EXIT_DRIFT)
        }
        Status::Written(summary) => {
            if report {
                print_report(args, &[]);
            }
            if format == Format::Json {
                json("ok", summary.written, summary.removed);
            } else if !args.quiet {
                say(
                    args,
                    &format!(
                        "compiled {what}: {} file{} written, {} unchanged, {} removed\n",
                        summary.written,
                        if summary.written == 1 { "" } else { "s" },
                        summary.unchanged,
                        summary.removed
                    ),
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

/// `compile --check` as SARIF: one result per file that differs, on its first changed line; a
/// file that would be created is not in the repository, so its result points at tenants.toml.
fn stale_alerts(args: &Args, output: &Path, outcome: &Outcome) -> Vec<tenantc::sarif::Alert> {
    use tenantc::sarif::{Alert, Level, Region};
    let plan = &outcome.plan;
    let mut alerts: Vec<Alert> = outcome
        .changes
        .iter()
        .map(|(rel, kind)| {
            let file = output.join(rel).display().to_string();
            let shown = super::shown(&file);
            let fix = "run `tenantc compile` and commit the result";
            match *kind {
                "create" => super::alert_on(
                    args,
                    "stale-output",
                    format!("`{shown}` is missing: tenants.toml compiles to it; {fix}"),
                    None,
                ),
                "delete" => Alert {
                    rule: "stale-output".into(),
                    level: Level::Error,
                    message: format!("`{shown}` is no longer generated from tenants.toml; {fix}"),
                    location: Some((file, Region::line(1))),
                },
                _ => Alert {
                    rule: "stale-output".into(),
                    level: Level::Error,
                    message: format!(
                        "`{shown}` is not what tenants.toml compiles to from this line on; {fix}"
                    ),
                    location: Some((
                        file,
                        Region::line(plan.first_changed_line(rel).unwrap_or(1)),
                    )),
                },
            }
        })
        .collect();
    for l in &plan.leftovers {
        let file = output.join(l.path()).display().to_string();
        alerts.push(Alert {
            rule: "stale-output".into(),
            level: Level::Error,
            message: format!(
                "`{}`: {}; `tenantc compile` removes it",
                super::shown(&file),
                l.describe()
            ),
            location: Some((file, Region::line(1))),
        });
    }
    alerts
}
