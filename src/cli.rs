//! The command-line shell: parse arguments, call the library, print, and map the outcome to an
//! exit code (0 success, 1 drift or violation, 2 invalid input).

use std::io::IsTerminal as _;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use tenantc::{write, Error};

pub const EXIT_OK: u8 = 0;
pub const EXIT_DRIFT: u8 = 1;
pub const EXIT_INVALID: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "tenantc",
    version,
    about = "Compile tenants.toml into isolated namespaces, NetworkPolicies and Istio Sidecars"
)]
pub struct Args {
    /// When to colour diagnostics (`auto`: on a terminal, unless NO_COLOR is set).
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// How to print errors in tenants.toml: `human`, or `github` for GitHub Actions annotations.
    #[arg(long, global = true, value_enum, default_value_t = MessageFormat::Human)]
    pub message_format: MessageFormat,
    /// Print errors only.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum MessageFormat {
    Human,
    Github,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Compile tenants.toml into the output tree (or, with --check, show how it differs).
    #[command(
        after_help = "Examples:\n  tenantc compile\n  tenantc compile --check\n  tenantc compile --config clusters/prod/tenants.toml --output clusters/prod/output\n  tenantc compile --templates my-templates/"
    )]
    Compile {
        /// The tenants file.
        #[arg(long, default_value = "tenants/tenants.toml")]
        config: PathBuf,
        /// The output directory; tenantc only ever changes the files it generated there.
        #[arg(long, default_value = "output")]
        output: PathBuf,
        /// A directory whose *.j2 files replace the built-in templates of the same name.
        #[arg(long)]
        templates: Option<PathBuf>,
        /// Write nothing; exit 1 with a unified diff if the output directory is not up to date.
        #[arg(long)]
        check: bool,
    },
    /// Print the JSON Schema of tenants.toml (for editors: Taplo, Even Better TOML).
    #[command(
        after_help = "Examples:\n  tenantc schema > schema/tenants.schema.json\n\nThen start tenants/tenants.toml with the Taplo directive (a path relative to the file):\n  #:schema ../schema/tenants.schema.json"
    )]
    Schema,
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

/// Prints `error` to stderr in the requested format and returns the exit code for it.
fn report(args: &Args, error: &Error) -> u8 {
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
                eprintln!("error: {e}");
            }
            eprintln!("error: the templates are not usable; nothing was written");
        }
        Error::Output(list) => {
            for e in list {
                eprintln!("error: {e}");
            }
            eprintln!("error: the output directory is not usable; nothing was written");
        }
        Error::Read { .. } => eprintln!("error: {error}"),
    }
    EXIT_INVALID
}

pub fn run(args: &Args) -> u8 {
    match &args.command {
        Command::Compile {
            config,
            output,
            templates,
            check,
        } => match compile(args, config, output, templates.as_deref(), *check) {
            Ok(code) => code,
            Err(e) => report(args, &e),
        },
        Command::Schema => {
            print!("{}", tenantc::schema::tenants_schema());
            EXIT_OK
        }
    }
}

fn compile(
    args: &Args,
    config: &std::path::Path,
    output: &std::path::Path,
    templates: Option<&std::path::Path>,
    check: bool,
) -> Result<u8, Error> {
    let compiled = tenantc::compile_file(config, templates)?;
    let plan = write::plan(output, &compiled.tree).map_err(Error::Output)?;
    let what = format!(
        "{} tenant{}, {} shared",
        compiled.intent.tenants.len(),
        if compiled.intent.tenants.len() == 1 {
            ""
        } else {
            "s"
        },
        compiled.intent.shared.len()
    );
    if check {
        if plan.is_empty() {
            if !args.quiet {
                println!(
                    "{} is up to date ({what}, {} files)",
                    output.display(),
                    plan.unchanged
                );
            }
            return Ok(EXIT_OK);
        }
        print!("{}", plan.diff(output));
        println!(
            "{} is out of date: {} file(s) would change, {} would be created, {} would be removed; run `tenantc compile`",
            output.display(),
            plan.updated(),
            plan.created(),
            plan.deleted()
        );
        return Ok(EXIT_DRIFT);
    }
    let summary = write::apply(output, &plan).map_err(|e| Error::Output(vec![e]))?;
    if !args.quiet {
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
