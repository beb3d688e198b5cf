//! tenantc compiles one `tenants.toml` into a deterministic, kustomize-ready tree of Namespaces,
//! NetworkPolicies, Istio Sidecars and ServiceEntries that isolate tenants from each other and open
//! exactly the flows the file allows.
//!
//! The pipeline is a chain of pure stages with I/O at both ends, one module each:
//! [`load`] → [`place`] → [`resolve`] → [`intent`] → [`render`] → [`emit`] → [`write`];
//! [`compile`] runs them all, from tenants.toml on disk to the output directory. [`place`]
//! matters only to a file with `[clusters]`: it cuts it into one single-cluster view per cluster,
//! each compiled in turn into `output/clusters/<name>/`.

pub mod codeclimate;
pub mod compile;
pub mod diag;
pub mod emit;
pub mod import;
pub mod init;
pub mod intent;
pub mod lifecycle;
pub mod limits;
pub mod load;
pub mod model;
pub mod par;
pub mod place;
pub mod render;
pub mod resolve;
pub mod sarif;
pub mod schema;
pub mod text;
pub mod verify;
pub mod write;

use std::path::Path;

use diag::SourceErrors;
use emit::{Layout, Producer, Tree};
use intent::Intent;
use model::Config;
use render::{TemplateError, Templates};
use write::OutputError;

/// Everything that stops a run; each maps to exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read `{path}`: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{} error(s) in `{}`", .0.diagnostics.len(), .0.path)]
    Config(SourceErrors),
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Templates(Vec<TemplateError>),
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Output(Vec<OutputError>),
    /// A write failed after others succeeded; it names what was done.
    #[error("{0}")]
    Write(write::ApplyError),
    /// Files of an output tree that verify, explain, graph or diff cannot read or parse: every
    /// one is reported, and nothing is judged on a tree read in part.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Tree(Vec<verify::TreeError>),
}

/// The result of compiling: the intent graph, from which [`Compiled::layout`] lays out the tree.
#[derive(Clone, Debug)]
pub struct Compiled {
    pub config: Config,
    pub intent: Intent,
    /// The generated-file header, naming the config file.
    pub header: String,
}

impl Compiled {
    /// Every file of the output tree and the job that renders it.
    pub fn layout(&self) -> Layout<'_> {
        Layout::new(&self.intent, self.intent.gitops.as_ref(), &self.header)
    }

    /// Renders jobs of [`Self::layout`] with `templates`.
    pub fn producer<'t>(&'t self, templates: &'t Templates) -> Result<Producer<'t>, Error> {
        Producer::new(templates, self.intent.gitops.as_ref(), self.header.clone())
            .map_err(Error::Templates)
    }

    /// The whole output tree, in memory (a compile streams it instead; see [`write`]).
    pub fn tree(&self, templates: &Templates) -> Result<Tree, Error> {
        self.layout()
            .tree(&self.producer(templates)?)
            .map_err(Error::Templates)
    }
}

/// Loads and validates a tenants.toml of one cluster held in memory; `path` is how diagnostics
/// name it. A file with `[clusters]` is refused here (see [`configs_from_source`]).
pub fn config_from_source(source: &str, path: &str) -> Result<Config, Error> {
    match configs_from_source(source, path)? {
        Configs::One(config) => Ok(config),
        Configs::Clusters(clusters) => Err(clusters.needs_a_cluster()),
    }
}

/// A valid tenants.toml: one cluster's config, or several clusters' views.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per run, moved once
pub enum Configs {
    One(Config),
    Clusters(Clusters),
}

/// A valid tenants.toml with `[clusters]`: every view resolved without error once; each is
/// resolved again when asked for ([`Clusters::config`]), so that no two are held at once.
#[derive(Clone, Debug)]
pub struct Clusters {
    raw: load::RawConfig,
    source: String,
    path: String,
}

impl Clusters {
    /// The clusters' names, in file order.
    pub fn names(&self) -> Vec<&str> {
        place::cluster_names(&self.raw)
    }

    /// The config of cluster `name`, `None` when the file has no such cluster.
    pub fn config(&self, name: &str) -> Option<Config> {
        let entry = self.raw.clusters.iter().find(|c| c.name.value == name)?;
        let view = place::view(&self.raw, entry);
        Some(resolve::resolve(&view, &self.source).expect("every view was validated"))
    }

    /// Cluster `name`'s config with no tenant, shared entry or external: the side before a
    /// cluster joins the file.
    pub fn empty_config(&self, name: &str) -> Config {
        let entry = self
            .raw
            .clusters
            .iter()
            .find(|c| c.name.value == name)
            .expect("a cluster of the file");
        let mut view = place::view(&self.raw, entry);
        view.tenants.clear();
        view.shared.clear();
        view.externals.clear();
        view.purged = None;
        resolve::resolve(&view, &self.source).expect("a valid view without entries is valid")
    }

    /// The error of a command that needs one cluster and was not told which.
    pub fn needs_a_cluster(&self) -> Error {
        let span = self.raw.clusters_span.clone().unwrap_or(0..0);
        Error::Config(SourceErrors {
            path: self.path.clone(),
            source: self.source.clone(),
            diagnostics: vec![diag::Diagnostic::new(
                "this tenants.toml describes several clusters",
                span,
            )
            .with_help(format!(
                "name one with --cluster ({})",
                self.names().join(", ")
            ))],
        })
    }

    /// The error for `--cluster NAME` naming no cluster of the file.
    pub fn unknown(&self, name: &str) -> Error {
        let names = self.names();
        let mut d = diag::Diagnostic::new(
            format!("--cluster {name}: the file has no cluster `{name}`"),
            self.raw.clusters_span.clone().unwrap_or(0..0),
        );
        d = match diag::closest(name, names.iter().copied()) {
            Some(best) => d.with_help(format!("did you mean `{best}`?")),
            None => d.with_help(format!("its clusters: {}", names.join(", "))),
        };
        Error::Config(SourceErrors {
            path: self.path.clone(),
            source: self.source.clone(),
            diagnostics: vec![d],
        })
    }
}

/// Loads and validates a tenants.toml held in memory; `path` is how diagnostics name it.
pub fn configs_from_source(source: &str, path: &str) -> Result<Configs, Error> {
    let fail = |diagnostics| {
        Error::Config(SourceErrors {
            path: path.to_owned(),
            source: source.to_owned(),
            diagnostics,
        })
    };
    let (raw, mut diagnostics) = load::load_partial(source).map_err(fail)?;
    diagnostics.extend(place::check(&raw));
    if raw.clusters_span.is_some() {
        diagnostics.extend(cluster_diagnostics(&raw, source));
        return if diagnostics.is_empty() {
            Ok(Configs::Clusters(Clusters {
                raw,
                source: source.to_owned(),
                path: path.to_owned(),
            }))
        } else {
            Err(fail(sorted(diagnostics)))
        };
    }
    // Rules are checked even when some keys could not be read, so one run reports everything.
    match resolve::resolve(&raw, source) {
        Ok(config) if diagnostics.is_empty() => {
            let too_long = limits::check(&raw, &config);
            if too_long.is_empty() {
                Ok(Configs::One(config))
            } else {
                Err(fail(too_long))
            }
        }
        Ok(_) => Err(fail(diagnostics)),
        Err(more) => {
            diagnostics.extend(more);
            Err(fail(sorted(diagnostics)))
        }
    }
}

fn sorted(mut diagnostics: Vec<diag::Diagnostic>) -> Vec<diag::Diagnostic> {
    diagnostics.sort_by_key(|d| (d.span.start, d.span.end));
    diagnostics.dedup();
    diagnostics
}

/// Every view's errors, each once: one found in every cluster reads as an error of the file;
/// one found in some clusters names them.
fn cluster_diagnostics(raw: &load::RawConfig, source: &str) -> Vec<diag::Diagnostic> {
    let mut found: Vec<(diag::Diagnostic, Vec<&str>)> = Vec::new();
    let mut index: std::collections::HashMap<(usize, usize, String, Option<String>), usize> =
        std::collections::HashMap::new();
    for cluster in &raw.clusters {
        let view = place::view(raw, cluster);
        let diags = match resolve::resolve(&view, source) {
            Ok(config) => limits::check(&view, &config),
            Err(diags) => diags,
        };
        for mut d in diags {
            place::notes_for(raw, cluster, &mut d);
            let name = cluster.name.value.as_str();
            let key = (d.span.start, d.span.end, d.message.clone(), d.help.clone());
            match index.get(&key) {
                Some(&i) => {
                    let (e, names) = &mut found[i];
                    names.push(name);
                    for note in d.notes {
                        if !e.notes.contains(&note) {
                            e.notes.push(note);
                        }
                    }
                }
                None => {
                    index.insert(key, found.len());
                    found.push((d, vec![name]));
                }
            }
        }
    }
    let all = raw.clusters.len();
    found
        .into_iter()
        .map(|(mut d, names)| {
            if names.len() < all || all == 1 {
                let which = match names.as_slice() {
                    [one] => format!("cluster {one}"),
                    many => format!("clusters {}", many.join(", ")),
                };
                d.message = format!("in {which}: {}", d.message);
            }
            d
        })
        .collect()
}

/// The largest tenants.toml read: some 4 times a 100,000-tenant file that uses every flow key
/// (17 MB). Past it, or for anything but a regular file (`/dev/zero`, a FIFO, a directory), the
/// run stops at once with exit 2.
pub const CONFIG_LIMIT: u64 = 64 << 20;

/// Reads and validates the tenants.toml of one cluster at `path` (a file with `[clusters]` is
/// refused: see [`configs_from_file`]).
pub fn config_from_file(path: &Path) -> Result<(Config, String), Error> {
    match configs_from_file(path)? {
        (Configs::One(config), source) => Ok((config, source)),
        (Configs::Clusters(c), _) => Err(c.needs_a_cluster()),
    }
}

/// Reads and validates the tenants.toml of one cluster at `path`, or with `cluster` the view of
/// that cluster of a file with `[clusters]`.
pub fn config_of_cluster(path: &Path, cluster: Option<&str>) -> Result<(Config, String), Error> {
    match (configs_from_file(path)?, cluster) {
        ((Configs::One(config), source), None) => Ok((config, source)),
        ((Configs::One(_), _), Some(name)) => Err(no_clusters(path, name)),
        ((Configs::Clusters(c), _), None) => Err(c.needs_a_cluster()),
        ((Configs::Clusters(c), source), Some(name)) => match c.config(name) {
            Some(config) => Ok((config, source)),
            None => Err(c.unknown(name)),
        },
    }
}

/// The error of `--cluster NAME` given with a file of one cluster.
fn no_clusters(path: &Path, name: &str) -> Error {
    Error::Read {
        path: path.display().to_string(),
        source: std::io::Error::other(format!(
            "--cluster {name}: the file has no [clusters] table"
        )),
    }
}

/// The clusters a command that covers every cluster goes through: `None` for a file of one
/// cluster (which takes no `--cluster`), else the file's clusters, its text, and the names to
/// cover: every cluster in file order, or only `cluster`.
pub fn clusters_to_cover(
    path: &Path,
    cluster: Option<&str>,
) -> Result<Option<(Clusters, String, Vec<String>)>, Error> {
    Ok(match to_cover(path, cluster)? {
        Cover::One(_) => None,
        Cover::Clusters(clusters, source, names) => Some((*clusters, source, names)),
    })
}

/// What [`to_cover`] found: the config of a file of one cluster (read once, for the caller to
/// use), or what [`clusters_to_cover`] gives.
pub enum Cover {
    One(Box<Config>),
    Clusters(Box<Clusters>, String, Vec<String>),
}

/// [`clusters_to_cover`], keeping the config of a file of one cluster.
pub fn to_cover(path: &Path, cluster: Option<&str>) -> Result<Cover, Error> {
    let (configs, source) = configs_from_file(path)?;
    let clusters = match (configs, cluster) {
        (Configs::One(config), None) => return Ok(Cover::One(Box::new(config))),
        (Configs::One(_), Some(name)) => return Err(no_clusters(path, name)),
        (Configs::Clusters(c), _) => c,
    };
    let names = match cluster {
        Some(name) if clusters.names().contains(&name) => vec![name.to_owned()],
        Some(name) => return Err(clusters.unknown(name)),
        None => clusters.names().into_iter().map(str::to_owned).collect(),
    };
    Ok(Cover::Clusters(Box::new(clusters), source, names))
}

/// Reads and validates the tenants.toml at `path`: one cluster, or several.
pub fn configs_from_file(path: &Path) -> Result<(Configs, String), Error> {
    let display = path.display().to_string();
    let bytes = read_config(path).map_err(|source| Error::Read {
        path: display.clone(),
        source,
    })?;
    let source = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            // Positioned like any other error: the text up to the bad byte is valid UTF-8, so
            // the lossy copy has it at the same offset.
            let at = e.utf8_error().valid_up_to();
            let source = String::from_utf8_lossy(e.as_bytes()).into_owned();
            return Err(Error::Config(SourceErrors {
                path: display,
                source,
                diagnostics: vec![diag::Diagnostic::new(
                    format!(
                        "the file is not UTF-8: byte 0x{:02x} at offset {at}",
                        e.as_bytes()[at]
                    ),
                    at..at + 1,
                )
                .with_help("save the file as UTF-8")],
            }));
        }
    };
    let configs = configs_from_source(&source, &display)?;
    Ok((configs, source))
}

/// The bytes of the config file: a regular file of at most [`CONFIG_LIMIT`] bytes. Opened
/// without blocking, so that a FIFO fails instead of waiting for a writer.
fn read_config(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other(
            "not a regular file (a device, a FIFO or a directory); tenantc reads tenants.toml from a file",
        ));
    }
    if meta.len() > CONFIG_LIMIT {
        return Err(std::io::Error::other(format!(
            "{} bytes; tenants.toml may be at most {} MiB",
            meta.len(),
            CONFIG_LIMIT >> 20
        )));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // The file may grow while it is read: never read more than the limit.
    file.take(CONFIG_LIMIT + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > CONFIG_LIMIT {
        return Err(std::io::Error::other(format!(
            "larger than {} MiB",
            CONFIG_LIMIT >> 20
        )));
    }
    Ok(bytes)
}

/// Reads all of `file` into `buf`, from its first byte: `buf.len()` bytes (at least one) are the
/// room at first, doubled with zeros whenever they fill up; the number of bytes read. Only
/// `read` is called, and nothing else: `read_to_end` asks the file's size and position first (two
/// more system calls per file) and zeroes its buffer's free room before every read. The room
/// stays initialized, so a buffer kept for the next file is not zeroed again.
pub(crate) fn read_whole(
    file: &mut impl std::io::Read,
    buf: &mut Vec<u8>,
) -> std::io::Result<usize> {
    debug_assert!(!buf.is_empty(), "room to read into");
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(2 * len, 0);
        }
        match file.read(&mut buf[len..]) {
            Ok(0) => return Ok(len),
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The pure stages before rendering: config to intent (rendering is per job, see [`Compiled`]).
pub fn compile_config(config: Config, source_name: &str) -> Compiled {
    let intent = intent::intent_of(&config);
    Compiled {
        config,
        intent,
        header: emit::header(source_name),
    }
}

/// Compiles the tenants.toml at `config` with the built-in templates, or those of `templates_dir`,
/// into a tree in memory.
pub fn compile_file(
    config: &Path,
    templates_dir: Option<&Path>,
) -> Result<(Compiled, Tree), Error> {
    let templates = templates_of(templates_dir)?;
    let (cfg, _) = config_from_file(config)?;
    let compiled = compile_config(cfg, &header_name(config));
    let tree = compiled.tree(&templates)?;
    Ok((compiled, tree))
}

/// The built-in templates, or those of `dir` in their place.
fn templates_of(dir: Option<&Path>) -> Result<Templates, Error> {
    match dir {
        Some(dir) => Templates::with_overrides(dir).map_err(Error::Templates),
        None => Ok(Templates::builtin()),
    }
}

/// How the generated-file header names the config: its file name, not the path it was given
/// (the same tree whichever directory the compile runs from).
fn header_name(config: &Path) -> String {
    config.file_name().map_or_else(
        || "tenants.toml".into(),
        |n| n.to_string_lossy().into_owned(),
    )
}
