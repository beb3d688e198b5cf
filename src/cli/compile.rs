//! `tenantc compile`: tenants.toml into the output tree, or with `--check` how it differs.

use std::io::IsTerminal as _;
use std::path::Path;

use tenantc::emit::{summarize, Rendering};
use tenantc::render::{TemplateError, Templates};
use tenantc::{write, Error};

use super::{print_sarif, say, Args, Format, MessageFormat, EXIT_DRIFT, EXIT_OK};

/// Below this many namespaces a compile takes well under a second: no progress is shown.
const PROGRESS_MIN_NAMESPACES: usize = 2000;

/// Stage messages on stderr for runs large enough to take a while, and only on a terminal (a CI
/// log or a pipe gets none); each replaces the previous one, and the last is cleared.
struct Progress {
    active: bool,
}

impl Progress {
    fn new(args: &Args, namespaces: usize) -> Self {
        Self {
            active: !args.quiet
                && namespaces >= PROGRESS_MIN_NAMESPACES
                && std::io::stderr().is_terminal(),
        }
    }

    fn stage(&self, message: &str) {
        if self.active {
            eprint!("\r\x1b[2K{message}…");
        }
    }

    fn done(&self) {
        if self.active {
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
    let templates_dir = templates;
    let templates = match templates {
        Some(dir) => Templates::with_overrides(dir).map_err(Error::Templates)?,
        None => Templates::builtin(),
    };
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
    let (cfg, source) = tenantc::config_from_file(config)?;
    let namespaces: usize = cfg.shared.len()
        + cfg
            .tenants
            .values()
            .map(|t| t.namespaces.len())
            .sum::<usize>();
    let progress = Progress::new(args, namespaces);
    progress.stage(&format!("rendering {namespaces} namespaces"));
    let name = config.file_name().map_or_else(
        || "tenants.toml".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    let compiled = tenantc::compile_config(cfg, &name);
    let layout = compiled.layout();
    let producer = compiled
        .producer(&templates)
        .inspect_err(|_| progress.done())?;
    let rendering = Rendering {
        layout: &layout,
        producer: &producer,
    };
    let files = layout.files();
    progress.stage(&format!("comparing with {}", output.display()));
    let (locked, scan) = match early {
        Some((locked, listing)) => {
            let scan = listing.join();
            (
                locked,
                scan.unwrap_or_else(|p| std::panic::resume_unwind(p)),
            )
        }
        None => (
            open().inspect_err(|_| progress.done())?,
            write::scan(output),
        ),
    };
    let mut plan = scan
        .and_then(|scan| write::survey(output, scan, layout.paths()))
        .map_err(|e| {
            progress.done();
            Error::Output(e)
        })?;
    let lifecycle = super::lifecycle::of_plan(&compiled, &source, config, output, &plan);
    let tenants = compiled.intent.tenants.len();
    let shared = compiled.intent.shared.len();
    let what = format!(
        "{tenants} tenant{}, {shared} shared",
        if tenants == 1 { "" } else { "s" },
    );
    let json = |plan: &write::Plan, status: &str, written: usize, removed: usize| {
        // Built only for --format json: at 10,000 tenants a fresh compile has 67,000 changes.
        let changes: Vec<serde_json::Value> = plan
            .all_changes(&rendering)
            .into_iter()
            .map(|(path, kind)| serde_json::json!({ "path": path, "change": kind }))
            .collect();
        let doc = serde_json::json!({
            "status": status,
            "check": check,
            "output": output.display().to_string(),
            "tenants": tenants,
            "shared": shared,
            "namespaces": namespaces,
            "files": files,
            "written": written,
            "unchanged": plan.unchanged,
            "removed": removed,
            "changes": changes,
            "leftovers": plan.leftovers.iter().map(write::Leftover::path).collect::<Vec<_>>(),
            "lifecycle": &lifecycle,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    };
    let sarif = args.message_format == MessageFormat::Sarif;
    if lifecycle.unacknowledged > 0 && !check {
        // Nothing is written: a compile must not delete a namespace's files by accident.
        progress.done();
        if format == Format::Json {
            json(&plan, "destructive", 0, 0);
        }
        if sarif {
            let alerts: Vec<_> = lifecycle
                .errors()
                .into_iter()
                .map(|e| super::alert_on(args, "destructive-change", e, None))
                .collect();
            print_sarif(&alerts);
        }
        super::lifecycle::report_refusal(args, &lifecycle);
        return Ok(EXIT_DRIFT);
    }
    if check {
        let compared = write::compare(output, &mut plan, &rendering);
        progress.done();
        compared.map_err(failure)?;
        if !lifecycle.is_empty() && format != Format::Json {
            say(args, &lifecycle.to_text());
        }
        if sarif {
            print_sarif(&stale_alerts(args, output, &plan, &rendering));
        }
        if lifecycle.unacknowledged > 0 {
            super::lifecycle::report_refusal(args, &lifecycle);
        }
        if plan.is_empty() {
            if format == Format::Json {
                json(&plan, "ok", 0, 0);
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
            return Ok(EXIT_OK);
        }
        if format == Format::Json {
            json(&plan, "drift", 0, 0);
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
        return Ok(EXIT_DRIFT);
    }
    let Some(out) = &locked else {
        unreachable!("a compile creates its output directory")
    };
    let staged = out.stage(&mut plan, &rendering).map_err(|e| {
        progress.done();
        failure(e)
    })?;
    progress.stage(&format!(
        "writing {} files",
        plan.created() + plan.updated()
    ));
    let summary = out.commit(&plan, &rendering, &staged);
    progress.done();
    let summary = summary.map_err(Error::Write)?;
    if sarif {
        print_sarif(&[]);
    }
    if format == Format::Json {
        json(&plan, "ok", summary.written, summary.removed);
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

/// `compile --check` as SARIF: one result per file that differs, on its first changed line; a
/// file that would be created is not in the repository, so its result points at tenants.toml.
fn stale_alerts(
    args: &Args,
    output: &Path,
    plan: &write::Plan,
    rendering: &Rendering,
) -> Vec<tenantc::sarif::Alert> {
    use tenantc::sarif::{Alert, Level, Region};
    let mut alerts: Vec<Alert> = plan
        .all_changes(rendering)
        .into_iter()
        .map(|(rel, kind)| {
            let file = output.join(&rel).display().to_string();
            let shown = super::shown(&file);
            let fix = "run `tenantc compile` and commit the result";
            match kind {
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
                        Region::line(plan.first_changed_line(&rel).unwrap_or(1)),
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

/// A failure while rendering against the output directory: nothing was changed.
fn failure(e: write::Failure<TemplateError>) -> Error {
    match e {
        write::Failure::Render(errors) => Error::Templates(summarize(errors)),
        write::Failure::Output(errors) => Error::Output(errors),
    }
}
