//! The command-line shell: parse arguments, call the library, print, and map the outcome to an
//! exit code (0 success, 1 drift or violation, 2 invalid input).

use std::io::IsTerminal as _;

use tenantc::Error;

mod access;
mod args;
mod compile;
mod diff;
mod explain;
mod graph;
mod import;
mod init;
mod lifecycle;
mod verify;

use access::access;
pub use args::{Args, CiKind, Color, Command, DiffFormat, Format, GraphFormat, MessageFormat};
use compile::compile;
use diff::diff;
use explain::explain;
use graph::graph;
use import::{import, ImportArgs};
use init::init;
use verify::verify;

pub const EXIT_OK: u8 = 0;
pub const EXIT_DRIFT: u8 = 1;
pub const EXIT_INVALID: u8 = 2;

/// Prints what would go to stdout: to stderr instead when stdout carries a report.
pub(crate) fn say(args: &Args, text: &str) {
    if args.message_format.is_report() {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
}

/// Prints `alerts` on stdout as the report `--message-format` asks for: a SARIF log, or a GitLab
/// Code Quality report (whose issues all need a file: the tenants file for the run as a whole).
pub(crate) fn print_report(args: &Args, alerts: &[tenantc::sarif::Alert]) {
    let report = match args.message_format {
        MessageFormat::Codeclimate => tenantc::codeclimate::report(alerts, &config_of(args)),
        _ => tenantc::sarif::log(alerts),
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    );
}

/// The tenants file of the command, as the user named it.
fn config_of(args: &Args) -> String {
    args.command.config().map_or_else(
        || "tenants/tenants.toml".to_owned(),
        |c| c.display().to_string(),
    )
}

/// A SARIF result for an error without a position: on `file`, or on the tenants file.
pub(crate) fn alert_on(
    args: &Args,
    rule: &str,
    message: String,
    file: Option<&str>,
) -> tenantc::sarif::Alert {
    let config = config_of(args);
    tenantc::sarif::Alert {
        rule: rule.into(),
        level: tenantc::sarif::Level::Error,
        message: shown(&message),
        location: Some((
            file.map_or(config, str::to_owned),
            tenantc::sarif::Region::line(1),
        )),
    }
}

/// Every error of `error` as SARIF results.
fn errors_sarif(args: &Args, error: &Error) -> Vec<tenantc::sarif::Alert> {
    match error {
        Error::Config(errors) => errors.to_sarif(),
        Error::Templates(list) => list
            .iter()
            .map(|e| {
                // A built-in template (`<built-in name>`) is no file of the repository.
                let file = (!e.origin.starts_with('<')).then_some(e.origin.as_str());
                alert_on(args, "templates", e.to_string(), file)
            })
            .collect(),
        Error::Output(list) => list
            .iter()
            .map(|e| {
                alert_on(
                    args,
                    "output",
                    e.message.clone(),
                    Some(&e.path.display().to_string()),
                )
            })
            .collect(),
        Error::Read { path, .. } => vec![alert_on(args, "read", error.to_string(), Some(path))],
        Error::Write(e) => vec![alert_on(
            args,
            "output",
            e.to_string(),
            Some(&e.error.path.display().to_string()),
        )],
        Error::Tree(list) => list
            .iter()
            .map(|e| match e {
                tenantc::verify::TreeError::Parse {
                    path,
                    line,
                    column,
                    message,
                } => tenantc::sarif::Alert {
                    rule: "tree".into(),
                    level: tenantc::sarif::Level::Error,
                    message: shown(message),
                    location: Some((
                        path.clone(),
                        tenantc::sarif::Region {
                            start_line: *line,
                            start_column: Some(*column),
                            ..Default::default()
                        },
                    )),
                },
                tenantc::verify::TreeError::Read { path, .. } => {
                    alert_on(args, "tree", e.to_string(), Some(path))
                }
            })
            .collect(),
    }
}

/// An error message for a terminal or a CI log: it may echo paths and values from the input,
/// which must not start a line (or a GitHub `::` workflow command) of their own.
pub(crate) fn shown(message: &str) -> String {
    tenantc::text::printable(message, 1000)
}

fn use_color(args: &Args) -> bool {
    match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stderr().is_terminal()
        }
    }
}

/// Every error of `error` in the JSON shape of [`tenantc::diag::SourceErrors::to_json`].
fn errors_json(error: &Error) -> Vec<serde_json::Value> {
    use tenantc::diag::json_without_position;
    match error {
        Error::Config(errors) => errors.to_json(),
        Error::Templates(list) => list
            .iter()
            .map(|e| json_without_position(&e.to_string(), Some(&e.origin)))
            .collect(),
        Error::Output(list) => list
            .iter()
            .map(|e| json_without_position(&e.message, Some(&e.path.display().to_string())))
            .collect(),
        Error::Read { path, .. } => vec![json_without_position(&error.to_string(), Some(path))],
        Error::Write(e) => vec![json_without_position(
            &e.to_string(),
            Some(&e.error.path.display().to_string()),
        )],
        Error::Tree(list) => list.iter().map(tree_error_json).collect(),
    }
}

/// A file of the tree that cannot be read or parsed, positioned when it was parsed.
fn tree_error_json(e: &tenantc::verify::TreeError) -> serde_json::Value {
    use tenantc::verify::TreeError;
    match e {
        TreeError::Parse {
            path,
            line,
            column,
            message,
        } => serde_json::json!({
            "severity": "error", "message": message, "file": path, "line": line,
            "column": column, "end_line": null, "end_column": null, "label": null, "help": null,
        }),
        TreeError::Read { path, .. } => {
            tenantc::diag::json_without_position(&e.to_string(), Some(path))
        }
    }
}

/// Prints `error` to stderr in the requested format and returns the exit code for it.
fn report(args: &Args, error: &Error, format: Format) -> u8 {
    if format == Format::Json {
        let doc = serde_json::json!({ "status": "invalid", "errors": errors_json(error) });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
    if args.message_format == MessageFormat::Json {
        for e in errors_json(error) {
            eprintln!("{e}");
        }
        return EXIT_INVALID;
    }
    if args.message_format.is_report() && format != Format::Json {
        print_report(args, &errors_sarif(args, error));
    }
    match error {
        Error::Config(errors) => {
            if args.message_format == MessageFormat::Github {
                print!("{}", errors.render_github());
            }
            eprint!("{}", errors.render(use_color(args)));
            let n = errors.diagnostics.len();
            eprintln!(
                "error: {n} error{} in `{}`; nothing was written",
                if n == 1 { "" } else { "s" },
                errors.path
            );
        }
        Error::Templates(list) => {
            for e in list {
                eprintln!("error: {}", shown(&e.to_string()));
            }
            eprintln!("error: the templates are not usable; nothing was written");
        }
        Error::Output(list) => {
            for e in list {
                eprintln!("error: {}", shown(&e.to_string()));
            }
            eprintln!("error: the output directory is not usable; nothing was written");
        }
        Error::Read { .. } => eprintln!("error: {}", shown(&error.to_string())),
        Error::Write(e) => eprintln!("error: {}", shown(&e.to_string())),
        Error::Tree(list) => {
            for e in list {
                eprintln!("error: {}", shown(&e.to_string()));
            }
            eprintln!("error: the output tree cannot be read; nothing was verified");
        }
    }
    EXIT_INVALID
}

pub fn run(args: &Args) -> u8 {
    if let Command::Compile { format, .. } | Command::Verify { format, .. } = &args.command {
        if args.message_format.is_report() && *format == Format::Json {
            let what = if args.message_format == MessageFormat::Sarif {
                "--message-format sarif prints a SARIF log"
            } else {
                "--message-format codeclimate prints a Code Quality report"
            };
            return usage_error(
                &format!("{what} on stdout; it cannot be combined with --format json"),
                Format::Text,
            );
        }
    }
    match &args.command {
        Command::Compile {
            config,
            output,
            templates,
            check,
            format,
        } => match compile(args, config, output, templates.as_deref(), *check, *format) {
            Ok(code) => code,
            Err(e) => report(args, &e, *format),
        },
        Command::Schema => {
            print!("{}", tenantc::schema::tenants_schema());
            EXIT_OK
        }
        Command::Init {
            dir,
            with_templates,
            ci,
            format,
        } => init(args, dir, *with_templates, *ci, *format),
        Command::Verify {
            config,
            output,
            cluster,
            mesh_scope,
            format,
        } => match verify(
            args,
            config,
            output,
            cluster.as_deref(),
            *mesh_scope,
            *format,
        ) {
            Ok(code) => code,
            Err(e) => report(args, &e, *format),
        },
        Command::Explain {
            from,
            to,
            port,
            config,
            output,
            cluster,
            format,
        } => match explain(
            from,
            to,
            port.as_deref(),
            config,
            output,
            cluster.as_deref(),
            *format,
        ) {
            Ok(code) => code,
            Err(e) => report(args, &e, *format),
        },
        Command::Diff {
            base,
            config,
            output,
            cluster,
            format,
        } => {
            let json = if *format == DiffFormat::Json {
                Format::Json
            } else {
                Format::Text
            };
            match diff(base, config, output, cluster.as_deref(), *format) {
                Ok(code) => code,
                Err(e) => report(args, &e, json),
            }
        }
        Command::Access {
            who,
            config,
            output,
            cluster,
            format,
        } => match access(who, config, output, cluster.as_deref(), *format) {
            Ok(code) => code,
            Err(e) => report(args, &e, *format),
        },
        Command::Graph {
            format,
            max_tenants,
            config,
            output,
            cluster,
        } => {
            let json = if *format == GraphFormat::Json {
                Format::Json
            } else {
                Format::Text
            };
            match graph(config, output, cluster.as_deref(), *format, *max_tenants) {
                Ok(code) => code,
                Err(e) => report(args, &e, json),
            }
        }
        Command::Import {
            paths,
            write,
            force,
            tenant_label,
            pod_cidrs,
            service_cidrs,
            format,
        } => match import(&ImportArgs {
            paths,
            write: write.as_deref(),
            force: *force,
            tenant_label: tenant_label.as_deref(),
            pod_cidrs,
            service_cidrs,
            format: *format,
        }) {
            Ok(code) => code,
            Err(e) => report(args, &e, *format),
        },
    }
}

fn usage_error(message: &str, format: Format) -> u8 {
    if format == Format::Json {
        let doc = serde_json::json!({
            "status": "invalid",
            "errors": [tenantc::diag::json_without_position(message, None)],
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
    eprintln!("error: {message}");
    EXIT_INVALID
}
