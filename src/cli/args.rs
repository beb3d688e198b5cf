//! The command line's definitions: the global options, each subcommand and its options, and the
//! formats they print, as clap parses them (the help texts live here).

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

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
    pub(super) fn config(&self) -> Option<&Path> {
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
