//! Stage 6, write / check: compare the layout with the output directory, one job at a time as it
//! is rendered, then either write the difference or describe it.
//!
//! Ownership: a file belongs to tenantc when it is a regular file whose first bytes are the
//! generated-file header ([`HEADER_PREFIX`]). Only such files are overwritten or deleted. Links
//! inside the output directory are never followed, read, replaced or deleted.
//!
//! A compile runs in three steps: the [`survey`] compares the layout's paths with the directory
//! (links, files in the way, what is created and deleted), [`Output::stage`] renders each job and
//! compares it with what is on disk, and [`Output::commit`] replaces each changed file atomically
//! (a temporary file in the same directory, renamed over it), relative to directory handles that
//! cannot leave the output directory ([`dir`]). Nothing is replaced or deleted before every job
//! has rendered and every file was found to be tenantc's, so a conflict leaves every file as it
//! was (a small change is held in memory until the commit and leaves even the directories'
//! modification times; a large one is staged in temporary files, removed again). If a commit
//! still fails, the error names every change already made.
//!
//! A run holds a lock on the output directory ([`Output`]); what a killed run left behind
//! (temporary files, empty directories) is a [`Leftover`], removed by the next run and reported
//! by `--check`.

mod dir;
mod stage;
mod survey;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use similar::TextDiff;

use crate::emit::HEADER_PREFIX;
use dir::Dir;
pub use dir::TEMP_PREFIX;
pub use stage::{compare, write_tree, Failure, Source, Staged};
pub use survey::{scan, survey, Scan};

/// Is `bytes` a file tenantc generated?
pub fn is_owned(bytes: &[u8]) -> bool {
    bytes.starts_with(HEADER_PREFIX.as_bytes())
}

/// Is the file at `path` one tenantc generated? Reads only its first bytes.
pub fn is_generated_file(path: &Path) -> bool {
    use std::io::Read as _;
    let mut head = [0u8; HEADER_PREFIX.len()];
    fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| is_owned(&head))
}

/// Where tenantc writes: only below these top-level directories does it remove empty
/// directories (a user's own empty directory elsewhere in output/ is left alone).
const GENERATED_DIRS: [&str; 3] = ["tenants", "shared", "gitops"];

/// Something an interrupted run left behind.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Leftover {
    /// A temporary file (named [`TEMP_PREFIX`]…) that was never renamed into place.
    TempFile(String),
    /// An empty directory below a directory tenantc generates, that no file of the tree needs.
    EmptyDir(String),
}

impl Leftover {
    pub fn path(&self) -> &str {
        match self {
            Self::TempFile(p) | Self::EmptyDir(p) => p,
        }
    }

    pub fn describe(&self) -> &'static str {
        match self {
            Self::TempFile(_) => "a temporary file left by an interrupted run",
            Self::EmptyDir(_) => "an empty directory left by an interrupted run",
        }
    }
}

/// One file's change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Update,
    Delete { old: String },
}

/// What writing the layout does: files deleted are known from the survey ([`survey`]), files
/// created and updated once they are rendered ([`Output::stage`], [`compare`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Files updated and deleted, by path. Files created are [`Plan::created_paths`]: at 100,000
    /// tenants a fresh compile creates 830,000 files, whose paths are not held.
    pub changes: BTreeMap<String, Change>,
    /// Files created: (job, index among the job's files).
    created: Vec<(usize, usize)>,
    pub unchanged: usize,
    /// What an interrupted run left behind; removed by [`Output::commit`].
    pub leftovers: Vec<Leftover>,
    /// With [`compare`]: the unified diff of each file created or updated.
    diffs: BTreeMap<String, String>,
    /// What is on disk, from the survey.
    entries: BTreeMap<String, survey::Kind>,
}

/// What a write did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub written: usize,
    pub unchanged: usize,
    pub removed: usize,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.created.is_empty() && self.leftovers.is_empty()
    }

    fn count(&self, f: impl Fn(&Change) -> bool) -> usize {
        self.changes.values().filter(|c| f(c)).count()
    }

    pub fn created(&self) -> usize {
        self.created.len()
    }

    pub fn updated(&self) -> usize {
        self.count(|c| matches!(c, Change::Update))
    }

    pub fn deleted(&self) -> usize {
        self.count(|c| matches!(c, Change::Delete { .. }))
    }

    /// Whether a regular file is at `rel` (as the survey found it).
    pub fn exists(&self, rel: &str) -> bool {
        self.entries.get(rel) == Some(&survey::Kind::File)
    }

    /// The paths of the files created, in layout order.
    pub fn created_paths<S: Source>(&self, source: &S) -> Vec<String> {
        let mut out = Vec::with_capacity(self.created.len());
        for same_job in self.created.chunk_by(|a, b| a.0 == b.0) {
            let paths = source.paths(same_job[0].0);
            out.extend(same_job.iter().map(|(_, i)| paths[*i].clone()));
        }
        out
    }

    /// Every change, created files included, by path: `(path, "create" | "update" | "delete")`.
    pub fn all_changes<S: Source>(&self, source: &S) -> Vec<(String, &'static str)> {
        let mut out: Vec<(String, &'static str)> = self
            .created_paths(source)
            .into_iter()
            .map(|p| (p, "create"))
            .collect();
        out.extend(self.changes.iter().map(|(p, c)| {
            let kind = match c {
                Change::Update => "update",
                Change::Delete { .. } => "delete",
            };
            (p.clone(), kind)
        }));
        out.sort();
        out
    }

    /// The first line of the file on disk at `rel` that a compile would change (after
    /// [`compare`]), read from the file's unified diff: the first hunk's start plus its leading
    /// context. `None` for a file that is not updated.
    pub fn first_changed_line(&self, rel: &str) -> Option<usize> {
        let diff = self.diffs.get(rel)?;
        let mut lines = diff.lines().skip_while(|l| !l.starts_with("@@ -"));
        let header = lines.next()?;
        let old = header.strip_prefix("@@ -")?.split([',', ' ']).next()?;
        let start: usize = old.parse().ok()?;
        let context = lines.take_while(|l| l.starts_with(' ')).count();
        Some((start + context).max(1))
    }

    /// A unified diff of every file that would change, appear or disappear (after [`compare`]).
    pub fn diff(&self, root: &Path) -> String {
        let mut diffs: Vec<(&str, std::borrow::Cow<str>)> = self
            .diffs
            .iter()
            .map(|(rel, d)| (rel.as_str(), d.as_str().into()))
            .collect();
        for (rel, change) in &self.changes {
            if let Change::Delete { old } = change {
                diffs.push((rel, unified(root, rel, Some(old), None).into()));
            }
        }
        diffs.sort_by(|a, b| a.0.cmp(b.0));
        let mut out: String = diffs.into_iter().map(|(_, d)| d).collect();
        for l in &self.leftovers {
            out.push_str(&format!(
                "{}: {}; `tenantc compile` removes it\n",
                root.join(l.path()).display(),
                l.describe()
            ));
        }
        out
    }
}

/// The unified diff of one file: `old` is `None` when it is created, `new` when it is deleted.
fn unified(root: &Path, rel: &str, old: Option<&str>, new: Option<&str>) -> String {
    let path = root.join(rel).display().to_string();
    let null = || "/dev/null".to_owned();
    let (a, b) = match (old, new) {
        (None, _) => (null(), path),
        (_, None) => (path, null()),
        _ => (path.clone(), path),
    };
    TextDiff::from_lines(old.unwrap_or(""), new.unwrap_or(""))
        .unified_diff()
        .context_radius(3)
        .header(&a, &b)
        .to_string()
}

/// A problem with the output directory; reported before anything is written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct OutputError {
    pub path: PathBuf,
    pub message: String,
}

fn err(path: &Path, message: impl Into<String>) -> OutputError {
    OutputError {
        path: path.to_owned(),
        message: message.into(),
    }
}

/// Changes already made when a write failed: the run did not complete, and says what it did.
#[derive(Debug, thiserror::Error)]
#[error("{error}{}", done_note(.written, *.written_count, .removed))]
pub struct ApplyError {
    pub error: OutputError,
    /// The first [`ApplyError::SHOWN`] files written (created or replaced) before the failure,
    /// relative to the output directory.
    pub written: Vec<String>,
    /// How many files were written before the failure.
    pub written_count: usize,
    /// Files and directories removed before the failure.
    pub removed: Vec<String>,
}

impl ApplyError {
    /// How many paths a message names.
    pub const SHOWN: usize = 20;
}

fn done_note(written: &[String], written_count: usize, removed: &[String]) -> String {
    if written_count == 0 && removed.is_empty() {
        return "; nothing was changed before this error".into();
    }
    let list = |items: &[String], count: usize| {
        let mut shown: Vec<&str> = items
            .iter()
            .take(ApplyError::SHOWN)
            .map(String::as_str)
            .collect();
        if count > shown.len() {
            shown.push("…");
        }
        shown.join(", ")
    };
    let mut out = String::from("; before this error, tenantc");
    if written_count > 0 {
        out.push_str(&format!(
            " wrote {written_count} file(s): {}",
            list(written, written_count)
        ));
    }
    if !removed.is_empty() {
        if written_count > 0 {
            out.push_str(" and");
        }
        out.push_str(&format!(
            " removed {}: {}",
            removed.len(),
            list(removed, removed.len())
        ));
    }
    out.push_str(
        "; each file is whole (old or new); fix the error and run `tenantc compile` again",
    );
    out
}

/// Whether [`Output::open`] is for writing (an exclusive lock; the directory is created) or for
/// reading (a shared lock, so that `--check` never reads a half-written tree).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Write,
    Read,
}

/// The output directory, locked for this run.
#[derive(Debug)]
pub struct Output {
    dir: Dir,
    root: PathBuf,
    /// Whether this run created the directory (removed again if the run leaves it empty).
    created: bool,
}

impl Output {
    /// Checks that `root` is a directory tenantc may own (see [`check_location`]), creates it
    /// for [`Access::Write`], and locks it. `None`: reading a directory that does not exist.
    pub fn open(
        root: &Path,
        access: Access,
        inputs: &[&Path],
    ) -> Result<Option<Self>, OutputError> {
        check_location(root, inputs)?;
        let mut created = false;
        match fs::symlink_metadata(root) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if access == Access::Read {
                    return Ok(None);
                }
                fs::create_dir_all(root)
                    .map_err(|e| err(root, format!("cannot create the output directory: {e}")))?;
                created = true;
            }
            Err(e) => return Err(err(root, format!("cannot read the output directory: {e}"))),
            Ok(_) => {}
        }
        let dir = Dir::open(root).map_err(|e| match fs::metadata(root) {
            Ok(m) if !m.is_dir() => err(root, "the output path exists and is not a directory"),
            _ => err(root, format!("cannot open the output directory: {e}")),
        })?;
        let locked = dir
            .try_lock(access == Access::Write)
            .map_err(|e| err(root, format!("cannot lock the output directory: {e}")))?;
        if !locked {
            let holder = dir::lock_holder(root).map_or_else(
                || "another tenantc run".to_owned(),
                |pid| format!("another tenantc run (pid {pid})"),
            );
            return Err(err(
                root,
                format!("is locked by {holder}, which is writing it now; run again when it has finished"),
            ));
        }
        let output = Self {
            dir,
            root: root.to_owned(),
            created,
        };
        Ok(Some(output))
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if self.created {
            // Only succeeds when empty: a run that wrote nothing leaves nothing behind.
            let _ = fs::remove_dir(&self.root);
        }
    }
}

/// `a/b/c.yaml` → (`a/b`, `c.yaml`); `c.yaml` → (``, `c.yaml`).
fn split(rel: &str) -> (&str, &str) {
    rel.rsplit_once('/').unwrap_or(("", rel))
}

/// Refuses an output directory that tenantc must not own: one that holds a Git repository
/// (`--output .` in a checkout would walk `.git`), or that contains one of `inputs` (the config
/// file, the templates) or the repository they are in.
pub fn check_location(root: &Path, inputs: &[&Path]) -> Result<(), OutputError> {
    if fs::symlink_metadata(root.join(".git")).is_ok() {
        return Err(err(
            root,
            "holds a Git repository (.git); tenantc removes the files it generated in its output directory and must not walk a repository: choose a directory of its own, such as `output`",
        ));
    }
    let Ok(root) = fs::canonicalize(root) else {
        return Ok(()); // does not exist yet: it contains nothing
    };
    for input in inputs {
        let Ok(input) = fs::canonicalize(input) else {
            continue;
        };
        if input.starts_with(&root) {
            return Err(err(
                &root,
                format!(
                    "contains `{}`; the output directory must be a directory of its own, such as `output`",
                    input.display()
                ),
            ));
        }
        let repo = input
            .ancestors()
            .find(|a| fs::symlink_metadata(a.join(".git")).is_ok());
        if let Some(repo) = repo.filter(|r| r.starts_with(&root)) {
            return Err(err(
                &root,
                format!(
                    "contains the repository `{}`; the output directory must be a directory of its own, such as `output`",
                    repo.display()
                ),
            ));
        }
    }
    Ok(())
}
