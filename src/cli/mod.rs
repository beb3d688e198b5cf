//! The command-line shell: parse arguments, call the library, print, and map the outcome to an
//! exit code (0 success, 1 drift or violation, 2 invalid input).

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use tenantc::Error;

mod access;
mod compile;
mod diff;
mod explain;
mod graph;
mod import;
mod init;
mod lifecycle;
mod verify;

use access::access;
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

#[derive(Parser, Debug)]
#[command(
    name = "tenantc",
    version,
    about = "Compile tenants.toml into isolated namespaces, NetworkPolicies and Istio Sidecars",
    after_help = "Examples:\n  tenantc init                 scaffold tenants/tenants.toml and a CI workflow\n  tenantc compile              compile tenants/tenants.toml into output/\n  tenantc compile --check      in CI: exit 1 with a diff if output/ is stale\n  tenantc schema               the JSON Schema of tenants.toml, for editors\n\nExit codes: 0 success, 1 drift or violation, 2 invalid input (nothing written)."
)]
pub struct Args {
    /// When to colour diagnostics (`auto`: on a terminal, unless NO_COLOR is set).
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// How to print errors: `human` (rustc style, stderr); `github` adds GitHub Actions
    /// annotations (`::error file=…,line=…,col=…::`, stdout); `json` prints one JSON object per
    /// error on stderr instead of the human text; `sarif` prints one SARIF 2.1.0 log on stdout
    /// (errors, stale files and verify's findings, for GitHub code scanning) and the human text
    /// on stderr; `codeclimate` prints the same results as one GitLab Code Quality report
    /// (`artifacts:reports:codequality`) on stdout and the human text on stderr.
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
    Json,
    Sarif,
    Codeclimate,
}

impl MessageFormat {
    /// The formats whose stdout is one machine-readable document of results (a SARIF log, a Code
    /// Quality report): the human text then goes to stderr.
    pub fn is_report(self) -> bool {
        matches!(self, MessageFormat::Sarif | MessageFormat::Codeclimate)
    }
}

impl Command {
    /// The tenants file the command reads, if any: SARIF results without a file of their own
    /// point at it.
    fn config(&self) -> Option<&Path> {
        match self {
            Command::Compile { config, .. }
            | Command::Verify { config, .. }
            | Command::Explain { config, .. }
            | Command::Diff { config, .. }
            | Command::Graph { config, .. }
            | Command::Access { config, .. } => Some(config),
            Command::Schema | Command::Init { .. } | Command::Import { .. } => None,
        }
    }
}

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

/// How a command prints its result on stdout.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// For people.
    Text,
    /// One JSON document (with the errors, when the input is invalid).
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum DiffFormat {
    Text,
    Json,
    /// For a pull-request comment.
    Markdown,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum GraphFormat {
    Mermaid,
    Dot,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum CiKind {
    Github,
    Gitlab,
    None,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Compile tenants.toml into the output tree, or with --check show how it differs
    #[command(
        after_help = "Examples:\n  tenantc compile\n  tenantc compile --check\n  tenantc --message-format github compile --check\n  tenantc compile --check --format json | jq .status\n  tenantc compile --config clusters/prod/tenants.toml --output clusters/prod/output\n  tenantc compile --templates my-templates/"
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
        /// `json`: print the result (counts, changed files, errors) as one JSON document.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Print the JSON Schema of tenants.toml, for editors
    ///
    /// Editors that read it: Taplo, Even Better TOML.
    #[command(
        after_help = "Examples:\n  tenantc schema > schema/tenants.schema.json\n\nThen start tenants/tenants.toml with the Taplo directive (a path relative to the file):\n  #:schema ../schema/tenants.schema.json"
    )]
    Schema,
    /// Scaffold a repository; never overwrites
    ///
    /// A commented tenants/tenants.toml that compiles, its JSON Schema, and a CI workflow. Never
    /// overwrites a file.
    #[command(
        after_help = "Examples:\n  tenantc init\n  tenantc init platform-tenants --with-templates\n  tenantc init --ci gitlab\n  tenantc init --format json | jq -r '.created[]'\n\nWrites tenants/tenants.toml, schema/tenants.schema.json and .github/workflows/tenantc.yml\n(.gitlab-ci.yml with --ci gitlab), and with --with-templates the default templates in\ntemplates/. If any of them exists, writes nothing and exits 2."
    )]
    Init {
        /// The repository to scaffold.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Also copy the default templates into templates/, to customise.
        #[arg(long)]
        with_templates: bool,
        /// Which CI configuration to write.
        #[arg(long, value_enum, default_value_t = CiKind::Github)]
        ci: CiKind,
        /// `json`: print the files created, or the errors, as one JSON document.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Prove isolation from the files on disk: the output tree against tenants.toml
    #[command(
        long_about = "Reads every YAML file under the output tree (whoever wrote it: tenantc, your templates, a hand edit), evaluates its NetworkPolicies and Istio Sidecars the way Kubernetes and Istio do, and compares the result with tenants.toml.\n\nExit 0: no violation; 1: at least one violation; 2: unreadable input (tenants.toml, or a YAML file, named with file:line:col).",
        after_help = "Examples:\n  tenantc verify\n  tenantc verify --mesh-scope\n  tenantc --message-format github verify    # annotations on the files of a pull request\n  tenantc verify --output clusters/prod/output --config clusters/prod/tenants.toml\n  tenantc verify --format json | jq '.findings[] | select(.severity == \"violation\") | .message'"
    )]
    Verify {
        /// The tenants file.
        #[arg(long, default_value = "tenants/tenants.toml")]
        config: PathBuf,
        /// The output tree to check.
        #[arg(long, default_value = "output")]
        output: PathBuf,
        /// With [clusters] in tenants.toml: only this cluster (default: every cluster, in turn).
        #[arg(long, value_name = "NAME")]
        cluster: Option<String>,
        /// Also print, per namespace, how many namespaces its sidecars receive configuration for.
        #[arg(long)]
        mesh_scope: bool,
        /// `json`: the findings, the summary and the mesh scope as one JSON document.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Why FROM can or cannot reach TO
    ///
    /// Why a namespace or tenant can or cannot reach another: the tenants.toml rule, each
    /// NetworkPolicy, the Sidecar entry and the AuthorizationPolicies that decide it.
    #[command(
        after_help = "FROM and TO are namespaces or tenants (a tenant stands for each of its namespaces).\n\nExamples:\n  tenantc explain acme payments\n  tenantc explain globex acme --port 8080/TCP\n  tenantc explain ingress-nginx globex-web\n  tenantc explain acme kube-system --port 53/UDP --format json"
    )]
    Explain {
        /// The caller: a namespace or a tenant.
        from: String,
        /// The callee: a namespace or a tenant.
        to: String,
        /// One port to decide, `PORT/PROTOCOL` (protocol TCP when omitted).
        #[arg(long)]
        port: Option<String>,
        /// The tenants file.
        #[arg(long, default_value = "tenants/tenants.toml")]
        config: PathBuf,
        /// The output tree whose policies decide.
        #[arg(long, default_value = "output")]
        output: PathBuf,
        /// With [clusters] in tenants.toml: the cluster, whose tree is OUTPUT/clusters/NAME.
        #[arg(long, value_name = "NAME")]
        cluster: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Who gains or loses access, for the PR
    ///
    /// What a change does, in tenant terms: flows gained and lost, Sidecar hosts, namespaces and
    /// files, against an older tenants.toml or output tree.
    #[command(
        after_help = "With a file, compares what the two tenants.toml allow; with a directory, what the two output trees'\npolicies allow (then the current tree is --output).\n\nExamples:\n  git show origin/main:tenants/tenants.toml > /tmp/base.toml && tenantc diff --base /tmp/base.toml\n  tenantc diff --base /tmp/base-checkout/output --format markdown > comment.md\n  tenantc diff --base /tmp/base.toml --format json | jq '.flows_added'"
    )]
    Diff {
        /// The older tenants.toml (a file) or output tree (a directory).
        #[arg(long)]
        base: PathBuf,
        /// The current tenants file.
        #[arg(long, default_value = "tenants/tenants.toml")]
        config: PathBuf,
        /// The current output tree (used when --base is a directory).
        #[arg(long, default_value = "output")]
        output: PathBuf,
        /// With [clusters] in tenants.toml: only this cluster (default: every cluster, in turn).
        #[arg(long, value_name = "NAME")]
        cluster: Option<String>,
        #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
        format: DiffFormat,
    },
    /// Who may do what in a tenant, or where a subject has access
    ///
    /// Read from the output tree: RoleBindings, Pod Security, quota, container defaults.
    #[command(
        after_help = "WHO is a tenant, a shared entry or a namespace, or a subject: group:NAME, user:NAME or
serviceaccount:NAMESPACE/NAME. The answer is what the tree's objects grant, whoever wrote them;
`tenantc verify` says whether that is what tenants.toml asks.

Examples:
  tenantc access acme
  tenantc access group:acme-devs
  tenantc access acme --format json | jq '.grants'"
    )]
    Access {
        /// A tenant, shared entry or namespace; or a subject (`group:acme-devs`).
        who: String,
        /// The tenants file.
        #[arg(long, default_value = "tenants/tenants.toml")]
        config: PathBuf,
        /// The output tree whose objects decide.
        #[arg(long, default_value = "output")]
        output: PathBuf,
        /// With [clusters] in tenants.toml: the cluster, whose tree is OUTPUT/clusters/NAME.
        #[arg(long, value_name = "NAME")]
        cluster: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// The tenant-level reachability graph
    ///
    /// Drawn from the output tree's policies, as mermaid, dot or JSON.
    #[command(
        after_help = "Past --max-tenants tenants, mermaid and dot print a summary instead of a drawing.\n\nExamples:\n  tenantc graph > tenants.mmd\n  tenantc graph --format dot | dot -Tsvg > tenants.svg\n  tenantc graph --format json | jq '.edges[] | select(.to == \"payments\")'"
    )]
    Graph {
        #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
        format: GraphFormat,
        /// Draw at most this many tenants; beyond, print a summary.
        #[arg(long, default_value_t = 50)]
        max_tenants: usize,
        /// The tenants file.
        #[arg(long, default_value = "tenants/tenants.toml")]
        config: PathBuf,
        /// The output tree whose policies decide.
        #[arg(long, default_value = "output")]
        output: PathBuf,
        /// With [clusters] in tenants.toml: the cluster, whose tree is OUTPUT/clusters/NAME.
        #[arg(long, value_name = "NAME")]
        cluster: Option<String>,
    },
    /// Draft tenants.toml from a hand-written cluster, and prove what the migration opens or closes
    #[command(
        long_about = "Reads YAML or JSON files and directories (kubectl dumps with `kind: List` too), infers tenants, shared services, the platform, exposes, port limits and destinations outside the cluster from the policies, and writes a commented draft tenants.toml. Then it compiles the draft in memory and compares what the migrated cluster would allow with what the imported policies allow, namespace pair by pair and port by port, and reports every flow that would open or close, in tenant terms, with what tenants.toml cannot express.\n\nExit 0: nothing opens (each closed flow is listed); 1: the draft would open a flow the imported policies deny; 2: unreadable input, or --write names an existing file without --force.",
        after_help = "Examples:\n  kubectl get namespaces,networkpolicies,sidecars.networking.istio.io,serviceentries.networking.istio.io -A -o yaml > cluster.yaml\n  tenantc import cluster.yaml --write tenants/tenants.toml\n  tenantc import manifests/ --tenant-label team --pod-cidrs 10.244.0.0/16 --service-cidrs 10.96.0.0/12 > draft.toml\n  tenantc import cluster.yaml --format json | jq '.report.proof.closes[]'"
    )]
    Import {
        /// YAML or JSON files, or directories of them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Write the draft here instead of stdout (the report then goes to stdout).
        #[arg(long)]
        write: Option<PathBuf>,
        /// Overwrite the --write file if it exists.
        #[arg(long)]
        force: bool,
        /// Namespaces with the same value of this label form one tenant, named by the value.
        #[arg(long)]
        tenant_label: Option<String>,
        /// The cluster's pod ranges (--cluster-cidr), comma-separated: excepted from external ipBlocks.
        #[arg(long, value_delimiter = ',')]
        pod_cidrs: Vec<ipnet::IpNet>,
        /// The cluster's Service ranges (--service-cluster-ip-range), comma-separated.
        #[arg(long, value_delimiter = ',')]
        service_cidrs: Vec<ipnet::IpNet>,
        /// `json`: the report (and the draft, without --write) as one JSON document.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
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
