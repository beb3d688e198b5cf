//! Stage 6, write / check: compare the in-memory tree with the output directory, then either write
//! the difference or describe it.
//!
//! Ownership: a file belongs to tenantc when it is a regular file whose first bytes are the
//! generated-file header ([`HEADER_PREFIX`]). Only such files are overwritten or deleted. Links
//! inside the output directory are never followed, read, replaced or deleted. Everything is checked
//! before the first byte is written (ownership, links, permissions), so a conflict leaves the
//! directory exactly as it was; each file is then replaced atomically (a temporary file in the
//! same directory, renamed over it), relative to directory handles that cannot leave the output
//! directory ([`dir`]). If a write still fails, the error names every change already made.
//!
//! A run holds a lock on the output directory ([`Output`]); what a killed run left behind
//! (temporary files, empty directories) is a [`Leftover`], removed by the next run and reported
//! by `--check`.

mod dir;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use similar::TextDiff;
use walkdir::WalkDir;

use crate::emit::{Tree, HEADER_PREFIX};
use crate::par;
use dir::Dir;
pub use dir::TEMP_PREFIX;

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

/// One file's change; the new text is borrowed from the tree, so a plan costs no copy of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change<'a> {
    Create { new: &'a str },
    Update { old: String, new: &'a str },
    Delete { old: String },
}

/// What writing a tree would do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan<'a> {
    pub changes: BTreeMap<String, Change<'a>>,
    pub unchanged: usize,
    /// What an interrupted run left behind; removed by [`Output::apply`].
    pub leftovers: Vec<Leftover>,
}

/// What a write did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub written: usize,
    pub unchanged: usize,
    pub removed: usize,
}

impl Plan<'_> {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.leftovers.is_empty()
    }

    fn count(&self, f: impl Fn(&Change) -> bool) -> usize {
        self.changes.values().filter(|c| f(c)).count()
    }

    pub fn created(&self) -> usize {
        self.count(|c| matches!(c, Change::Create { .. }))
    }

    pub fn updated(&self) -> usize {
        self.count(|c| matches!(c, Change::Update { .. }))
    }

    pub fn deleted(&self) -> usize {
        self.count(|c| matches!(c, Change::Delete { .. }))
    }

    /// A unified diff of every file that would change, appear or disappear.
    pub fn diff(&self, root: &Path) -> String {
        let mut out = String::new();
        for (rel, change) in &self.changes {
            let path = root.join(rel).display().to_string();
            let (old, new, a, b) = match change {
                Change::Create { new } => ("", *new, "/dev/null".to_owned(), path),
                Change::Update { old, new } => (old.as_str(), *new, path.clone(), path),
                Change::Delete { old } => (old.as_str(), "", path, "/dev/null".to_owned()),
            };
            let diff = TextDiff::from_lines(old, new);
            out.push_str(
                &diff
                    .unified_diff()
                    .context_radius(3)
                    .header(&a, &b)
                    .to_string(),
            );
        }
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
    Link,
    Other,
}

/// Is `bytes` a file tenantc generated?
pub fn is_owned(bytes: &[u8]) -> bool {
    bytes.starts_with(HEADER_PREFIX.as_bytes())
}

fn existing_entries(root: &Path) -> Result<BTreeMap<String, Kind>, Vec<OutputError>> {
    let mut entries = BTreeMap::new();
    match fs::metadata(root) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(vec![err(
                root,
                "the output path exists and is not a directory",
            )])
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(entries),
        Err(e) => {
            return Err(vec![err(
                root,
                format!("cannot read the output directory: {e}"),
            )])
        }
    }
    // The top two levels (the root, `tenants/`, `shared/`) on this thread; then the directories
    // found at the second level, one per tenant or shared namespace, on every core.
    let (top, mut errors) = walk(root, root, Some(2));
    let subdirs: Vec<PathBuf> = top
        .iter()
        .filter(|(rel, kind)| *kind == Kind::Dir && rel.contains('/'))
        .map(|(rel, _)| root.join(rel))
        .collect();
    entries.extend(top);
    for (found, errs) in par::map(&subdirs, |dir| walk(root, dir, None)) {
        entries.extend(found);
        errors.extend(errs);
    }
    if errors.is_empty() {
        Ok(entries)
    } else {
        Err(errors)
    }
}

/// The entries below `dir` (to `max_depth`), named relative to `root`.
fn walk(
    root: &Path,
    dir: &Path,
    max_depth: Option<usize>,
) -> (Vec<(String, Kind)>, Vec<OutputError>) {
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    // follow_links(false): a link inside the output is an entry of its own, never a way out.
    let walker = WalkDir::new(dir).follow_links(false).min_depth(1);
    let walker = match max_depth {
        Some(d) => walker.max_depth(d),
        None => walker,
    };
    for entry in walker {
        match entry {
            Ok(e) => {
                let t = e.file_type();
                let kind = if t.is_symlink() {
                    Kind::Link
                } else if t.is_dir() {
                    Kind::Dir
                } else if t.is_file() {
                    Kind::File
                } else {
                    Kind::Other
                };
                entries.push((relative(root, e.path()), kind));
            }
            Err(e) => {
                let path = e.path().unwrap_or(dir).to_owned();
                errors.push(err(
                    &path,
                    format!(
                        "cannot read: {}",
                        e.io_error()
                            .map_or_else(|| e.to_string(), |io| io.to_string())
                    ),
                ));
            }
        }
    }
    (entries, errors)
}

fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// What is on disk where a file of the tree goes.
enum Existing {
    Same,
    Owned(String),
    NotOwned,
    Unreadable(std::io::Error),
}

thread_local! {
    /// Each thread reads every file into the same buffer: an unchanged file costs no allocation.
    static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn existing(path: &Path, new: &[u8]) -> Existing {
    BUFFER.with_borrow_mut(|buf| {
        buf.clear();
        match fs::File::open(path).and_then(|mut f| f.read_to_end(buf)) {
            Err(e) => Existing::Unreadable(e),
            Ok(_) if buf.as_slice() == new => Existing::Same,
            Ok(_) if is_owned(buf) => Existing::Owned(String::from_utf8_lossy(buf).into_owned()),
            Ok(_) => Existing::NotOwned,
        }
    })
}

/// Compares `tree` with the directory `root`; reads, never writes. The files are read on every
/// core; the plan does not depend on the order in which they are read.
pub fn plan<'a>(root: &Path, tree: &'a Tree) -> Result<Plan<'a>, Vec<OutputError>> {
    let existing_entries = existing_entries(root)?;
    let mut plan = Plan::default();
    let mut errors = Vec::new();
    let mut checked_dirs = BTreeSet::new();
    let mut to_compare: Vec<(&'a String, &'a str)> = Vec::new();

    for (rel, new) in tree {
        // Every directory on the way must be a real directory (or not exist yet).
        let mut blocked = false;
        for (end, _) in rel.match_indices('/') {
            let ancestor = &rel[..end];
            if !checked_dirs.insert(ancestor) {
                continue;
            }
            match existing_entries.get(ancestor) {
                None | Some(Kind::Dir) => {}
                Some(Kind::Link) => {
                    blocked = true;
                    errors.push(err(&root.join(ancestor), "is a symbolic link; tenantc never follows links inside its output directory: remove it"));
                }
                Some(_) => {
                    blocked = true;
                    errors.push(err(
                        &root.join(ancestor),
                        "is a file where tenantc needs a directory: move it away",
                    ));
                }
            }
        }
        if blocked {
            continue;
        }
        match existing_entries.get(rel) {
            None => {
                plan.changes.insert(rel.clone(), Change::Create { new });
            }
            Some(Kind::File) => to_compare.push((rel, new)),
            Some(Kind::Link) => errors.push(err(&root.join(rel), "is a symbolic link; tenantc never follows or replaces links inside its output directory: remove it")),
            Some(_) => errors.push(err(&root.join(rel), "is not a regular file: move it away")),
        }
    }

    let compared = par::map(&to_compare, |(rel, new)| {
        existing(&root.join(rel), new.as_bytes())
    });
    for ((rel, new), found) in to_compare.into_iter().zip(compared) {
        let path = root.join(rel);
        match found {
            Existing::Same => plan.unchanged += 1,
            Existing::Owned(old) => {
                plan.changes.insert(rel.clone(), Change::Update { old, new });
            }
            Existing::NotOwned => errors.push(err(
                &path,
                "exists and was not generated by tenantc (it lacks the generated-file header), so tenantc will not overwrite it: move it away",
            )),
            Existing::Unreadable(e) => errors.push(err(&path, format!("cannot read: {e}"))),
        }
    }

    // Files tenantc generated earlier and no longer produces.
    let stale: Vec<&String> = existing_entries
        .iter()
        .filter(|(rel, kind)| {
            **kind == Kind::File && !tree.contains_key(*rel) && !is_bookkeeping(rel)
        })
        .map(|(rel, _)| rel)
        .collect();
    let olds = par::map(&stale, |rel| fs::read(root.join(rel)));
    for (rel, old) in stale.into_iter().zip(olds) {
        // A file that cannot be read cannot be shown to be tenantc's: it is left alone.
        if let Ok(bytes) = old {
            if is_owned(&bytes) {
                plan.changes.insert(
                    rel.clone(),
                    Change::Delete {
                        old: String::from_utf8_lossy(&bytes).into_owned(),
                    },
                );
            }
        }
    }

    plan.leftovers = leftovers(&existing_entries, tree);
    errors.extend(unwritable(root, &existing_entries, &plan));

    if errors.is_empty() {
        Ok(plan)
    } else {
        Err(errors)
    }
}

fn file_name(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}

/// tenantc's own files that are not part of the tree: temporary files.
fn is_bookkeeping(rel: &str) -> bool {
    file_name(rel).starts_with(TEMP_PREFIX)
}

/// Temporary files anywhere, and empty directories below [`GENERATED_DIRS`] that no file of
/// `tree` needs (directories holding only such leftovers count as empty).
fn leftovers(entries: &BTreeMap<String, Kind>, tree: &Tree) -> Vec<Leftover> {
    let mut out = Vec::new();
    let mut occupied = BTreeSet::new();
    for (rel, kind) in entries {
        let temp = *kind == Kind::File && file_name(rel).starts_with(TEMP_PREFIX);
        if temp {
            out.push(Leftover::TempFile(rel.clone()));
        }
        if *kind != Kind::Dir && !temp {
            for (end, _) in rel.match_indices('/') {
                occupied.insert(&rel[..end]);
            }
        }
    }
    for rel in tree.keys() {
        for (end, _) in rel.match_indices('/') {
            occupied.insert(&rel[..end]);
        }
    }
    let generated = |rel: &str| {
        GENERATED_DIRS
            .iter()
            .any(|g| rel == *g || rel.starts_with(&format!("{g}/")))
    };
    for (rel, kind) in entries {
        if *kind == Kind::Dir && generated(rel) && !occupied.contains(rel.as_str()) {
            out.push(Leftover::EmptyDir(rel.clone()));
        }
    }
    out
}

/// Every directory the plan changes, or the nearest existing ancestor of one it creates, must
/// be writable: checked here so that a run fails before its first change, not halfway.
fn unwritable(root: &Path, entries: &BTreeMap<String, Kind>, plan: &Plan) -> Vec<OutputError> {
    let mut dirs = BTreeSet::new();
    let touched = plan
        .changes
        .keys()
        .map(String::as_str)
        .chain(plan.leftovers.iter().map(Leftover::path));
    for rel in touched {
        let mut dir = rel.rsplit_once('/').map_or("", |(d, _)| d);
        while !dir.is_empty() && entries.get(dir) != Some(&Kind::Dir) {
            dir = dir.rsplit_once('/').map_or("", |(d, _)| d);
        }
        dirs.insert(dir);
    }
    if !root.exists() {
        return Vec::new();
    }
    dirs.into_iter()
        .filter(|rel| {
            Dir::open(&root.join(rel))
                .map(|d| !d.writable())
                .unwrap_or(true)
        })
        .map(|rel| {
            err(
                &root.join(rel),
                "cannot be written (permission denied); tenantc has to change files here: fix the permissions",
            )
        })
        .collect()
}

/// Changes already made when a write failed: the run did not complete, and says what it did.
#[derive(Debug, thiserror::Error)]
#[error("{error}{}", done_note(.written, .removed))]
pub struct ApplyError {
    pub error: OutputError,
    /// Files written (created or replaced) before the failure, relative to the output directory.
    pub written: Vec<String>,
    /// Files and directories removed before the failure.
    pub removed: Vec<String>,
}

fn done_note(written: &[String], removed: &[String]) -> String {
    if written.is_empty() && removed.is_empty() {
        return "; nothing was changed before this error".into();
    }
    let list = |items: &[String]| {
        let mut shown: Vec<&str> = items.iter().take(20).map(String::as_str).collect();
        if items.len() > 20 {
            shown.push("…");
        }
        shown.join(", ")
    };
    let mut out = String::from("; before this error, tenantc");
    if !written.is_empty() {
        out.push_str(&format!(
            " wrote {} file(s): {}",
            written.len(),
            list(written)
        ));
    }
    if !removed.is_empty() {
        if !written.is_empty() {
            out.push_str(" and");
        }
        out.push_str(&format!(" removed {}: {}", removed.len(), list(removed)));
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

    /// Carries out `plan`: leftovers are removed, changed files replaced atomically, files no
    /// longer produced removed, and so are the directories that their removal left empty.
    pub fn apply(&self, plan: &Plan) -> Result<Summary, ApplyError> {
        let mut summary = Summary {
            unchanged: plan.unchanged,
            ..Summary::default()
        };
        let mut done = ApplyError {
            error: err(&self.root, ""),
            written: Vec::new(),
            removed: Vec::new(),
        };
        let fail = |mut done: ApplyError, path: &str, what: &str, e: std::io::Error| {
            done.error = err(&self.root.join(path), format!("{what}: {e}"));
            done
        };
        for l in &plan.leftovers {
            if let Leftover::TempFile(rel) = l {
                let (d, name) = split(rel);
                let result = self.dir.sub(d, false).and_then(|d| d.remove_file(name));
                if let Err(e) = result {
                    return Err(fail(done, rel, "cannot remove", e));
                }
                done.removed.push(rel.clone());
            }
        }

        // Files are written on every core, a directory's files by one thread.
        let mut by_dir: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
        for (rel, change) in &plan.changes {
            if let Change::Create { new } | Change::Update { new, .. } = change {
                let (d, name) = split(rel);
                by_dir.entry(d).or_default().push((name, new));
            }
        }
        let by_dir: Vec<_> = by_dir.into_iter().collect();
        let results = par::map(&by_dir, |(d, files)| {
            let mut written = Vec::new();
            let dir = match self.dir.sub(d, true) {
                Ok(dir) => dir,
                Err(e) => return (written, Some((d.to_string(), "cannot create directory", e))),
            };
            for (name, new) in files {
                let rel = if d.is_empty() {
                    name.to_string()
                } else {
                    format!("{d}/{name}")
                };
                if let Err(e) = dir.write_file(name, new.as_bytes()) {
                    return (written, Some((rel, "cannot write", e)));
                }
                written.push(rel);
            }
            (written, None)
        });
        let mut first_error = None;
        for (written, error) in results {
            done.written.extend(written);
            first_error = first_error.or(error);
        }
        if let Some((path, what, e)) = first_error {
            return Err(fail(done, &path, what, e));
        }
        summary.written = done.written.len();

        let mut emptied = BTreeSet::new();
        for (rel, change) in &plan.changes {
            if let Change::Delete { .. } = change {
                let (d, name) = split(rel);
                let result = self.dir.sub(d, false).and_then(|dir| dir.remove_file(name));
                if let Err(e) = result {
                    return Err(fail(done, rel, "cannot remove", e));
                }
                done.removed.push(rel.clone());
                summary.removed += 1;
                emptied.insert(d.to_owned());
            }
        }
        for l in &plan.leftovers {
            if let Leftover::EmptyDir(rel) = l {
                emptied.insert(rel.clone());
            }
        }
        // Deepest first, so that a parent emptied by removing its children goes too. A
        // directory that is not empty (or not a directory any more) stays.
        let mut dirs: Vec<String> = emptied.into_iter().filter(|d| !d.is_empty()).collect();
        dirs.sort_by_key(|d| std::cmp::Reverse(d.matches('/').count()));
        let mut gone = BTreeSet::new();
        for d in dirs {
            let mut current = d.as_str();
            while !current.is_empty() && !gone.contains(current) {
                let (parent, name) = split(current);
                let removed = self
                    .dir
                    .sub(parent, false)
                    .and_then(|p| p.remove_empty_dir(name));
                if removed.is_err() {
                    break;
                }
                gone.insert(current.to_owned());
                current = parent;
            }
        }
        Ok(summary)
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

/// Carries out `plan` in `root` (locking it for the time of the write); see [`Output::apply`].
pub fn apply(root: &Path, plan: &Plan) -> Result<Summary, ApplyError> {
    let fail = |error| ApplyError {
        error,
        written: Vec::new(),
        removed: Vec::new(),
    };
    match Output::open(root, Access::Write, &[]).map_err(fail)? {
        Some(out) => out.apply(plan),
        None => Ok(Summary::default()),
    }
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

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> Tree {
        files
            .iter()
            .map(|(p, t)| (p.to_string(), format!("{HEADER_PREFIX} test\n{t}")))
            .collect()
    }

    #[test]
    fn a_directory_swapped_for_a_link_after_the_plan_redirects_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("output");
        let outside = tmp.path().join("outside");
        fs::create_dir_all(root.join("tenants/acme")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        let t = tree(&[("tenants/acme/a.yaml", "a"), ("tenants/acme/b.yaml", "b")]);
        let out = Output::open(&root, Access::Write, &[]).unwrap().unwrap();
        let plan = plan(&root, &t).unwrap();
        // The swap: between the plan and the write, the directory becomes a link out.
        fs::remove_dir(root.join("tenants/acme")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("tenants/acme")).unwrap();
        let e = out.apply(&plan).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0, "wrote outside");
    }

    #[test]
    fn a_failed_write_names_what_was_already_written() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("output");
        let t = tree(&[("a/x.yaml", "x"), ("b/y.yaml", "y")]);
        let out = Output::open(&root, Access::Write, &[]).unwrap().unwrap();
        let plan = plan(&root, &t).unwrap();
        // A file appears where the plan expected to create directory `b`.
        fs::write(root.join("b"), "in the way").unwrap();
        let e = out.apply(&plan).unwrap_err();
        assert_eq!(e.written, ["a/x.yaml"]);
        let text = e.to_string();
        assert!(
            text.contains("before this error, tenantc wrote 1 file(s): a/x.yaml"),
            "{text}"
        );
    }
}
