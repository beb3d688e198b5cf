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
        exiting: true,
    };
    let progress = Progress::new(args);
    let outcomes = compile::run(&options, &mut |stage| progress.stage(stage));
    progress.done();
    let outcomes = outcomes?;
    let sarif = args.message_format.is_report();
    let mut exit = EXIT_OK;
    let mut docs = Vec::new();
    let mut alerts = Vec::new();
    for outcome in &outcomes {
        for note in &outcome.notes {
            eprintln!("note: {note}");
        }
        let shown = Shown {
            args,
            check,
            format,
            sarif,
        };
        let (code, doc) = shown.outcome(outcome, &mut alerts);
        exit = exit.max(code);
        docs.extend(doc);
    }
    if format == Format::Json {
        let doc = match (
            outcomes.first().and_then(|o| o.cluster.as_ref()),
            docs.len(),
        ) {
            (None, 1) => docs.remove(0),
            _ => serde_json::json!({ "clusters": docs }),
        };
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
    if sarif {
        print_report(args, &alerts);
    }
    Ok(exit)
}

/// How a compile's outcomes are shown.
struct Shown<'a> {
    args: &'a Args,
    check: bool,
    format: Format,
    sarif: bool,
}

impl Shown<'_> {
    /// Prints `outcome` as text, and returns its exit code and, for `--format json`, its
    /// document; SARIF results go to `alerts`.
    fn outcome(
        &self,
        outcome: &Outcome,
        alerts: &mut Vec<tenantc::sarif::Alert>,
    ) -> (u8, Option<serde_json::Value>) {
        let Self {
            args,
            check,
            format,
            sarif,
        } = *self;
        let lifecycle = &outcome.lifecycle;
        let plan = &outcome.plan;
        let output = outcome.output.as_path();
        let json = |status: &str, written: usize, removed: usize| {
            let mut doc = serde_json::json!({
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
                "changes": changes_json(outcome),
                "leftovers": plan.leftovers.iter().map(tenantc::write::Leftover::path).collect::<Vec<_>>(),
                "lifecycle": lifecycle,
            });
            if let Some(c) = &outcome.cluster {
                doc["cluster"] = serde_json::Value::from(c.as_str());
            }
            (format == Format::Json).then_some(doc)
        };
        let what = format!(
            "{}{} tenant{}, {} shared",
            outcome
                .cluster
                .as_ref()
                .map_or(String::new(), |c| format!("cluster {c}: ")),
            outcome.tenants,
            if outcome.tenants == 1 { "" } else { "s" },
            outcome.shared,
        );
        // With --check, destructive changes are shown before the result, and fail the check.
        let lifecycle_notes = |alerts: &mut Vec<tenantc::sarif::Alert>| {
            if !lifecycle.is_empty() && format != Format::Json {
                say(args, &in_cluster(outcome, &lifecycle.to_text()));
            }
            if sarif && check {
                alerts.extend(stale_alerts(args, output, outcome));
            }
            if lifecycle.unacknowledged > 0 {
                super::lifecycle::report_refusal(args, lifecycle);
            }
        };
        match outcome.status {
            Status::Refused => {
                if sarif {
                    alerts.extend(lifecycle.errors().into_iter().map(|e| {
                        super::alert_on(args, "destructive-change", in_cluster(outcome, &e), None)
                    }));
                }
                if let Some(c) = &outcome.cluster {
                    eprintln!("in cluster {c}:");
                }
                super::lifecycle::report_refusal(args, lifecycle);
                (EXIT_DRIFT, json("destructive", 0, 0))
            }
            Status::UpToDate => {
                lifecycle_notes(alerts);
                if format != Format::Json && !args.quiet {
                    say(
                        args,
                        &format!(
                            "{} is up to date ({what}, {} files)\n",
                            output.display(),
                            plan.unchanged
                        ),
                    );
                }
                (EXIT_OK, json("ok", 0, 0))
            }
            Status::Drift => {
                lifecycle_notes(alerts);
                if format == Format::Json {
                    return (EXIT_DRIFT, json("drift", 0, 0));
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
                (EXIT_DRIFT, None)
            }
            Status::Written(summary) => {
                if format != Format::Json && !args.quiet {
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
                (EXIT_OK, json("ok", summary.written, summary.removed))
            }
        }
    }
}

/// `text` about one cluster's tree, naming the cluster when the file has several.
fn in_cluster(outcome: &Outcome, text: &str) -> String {
    match &outcome.cluster {
        None => text.to_owned(),
        Some(c) => format!("in cluster {c}:\n{text}"),
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
