//! Stage 6, write / check: compare the in-memory tree with the output directory, then either write
//! the difference or describe it.
//!
//! Ownership: a file belongs to tenantc when it is a regular file whose first bytes are the
//! generated-file header ([`HEADER_PREFIX`]). Only such files are overwritten or deleted. Links
//! inside the output directory are never followed, read, replaced or deleted. Everything is checked
//! before the first byte is written, so a conflict leaves the directory exactly as it was; each
//! file is then replaced atomically (a temporary file in the same directory, renamed over it).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use similar::TextDiff;
use walkdir::WalkDir;

use crate::emit::{Tree, HEADER_PREFIX};
use crate::par;

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
        self.changes.is_empty()
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
        .filter(|(rel, kind)| **kind == Kind::File && !tree.contains_key(*rel))
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

    if errors.is_empty() {
        Ok(plan)
    } else {
        Err(errors)
    }
}

/// Carries out `plan` in `root`: changed files are replaced atomically, files no longer produced
/// are removed, and so are the directories that their removal left empty.
pub fn apply(root: &Path, plan: &Plan) -> Result<Summary, OutputError> {
    let mut summary = Summary {
        unchanged: plan.unchanged,
        ..Summary::default()
    };
    if plan.is_empty() {
        return Ok(summary);
    }
    fs::create_dir_all(root)
        .map_err(|e| err(root, format!("cannot create the output directory: {e}")))?;
    // Fail before the first change if the directory cannot be written at all.
    tempfile::Builder::new()
        .prefix(".tenantc-probe-")
        .tempfile_in(root)
        .map_err(|e| err(root, format!("cannot write to the output directory: {e}")))?;

    // Files are written on every core, a directory's files by one thread, each directory
    // created once.
    let mut by_dir: BTreeMap<PathBuf, Vec<(PathBuf, &str)>> = BTreeMap::new();
    let mut emptied = BTreeSet::new();
    for (rel, change) in &plan.changes {
        let path = root.join(rel);
        match change {
            Change::Create { new } | Change::Update { new, .. } => {
                let parent = path.parent().unwrap_or(root).to_owned();
                by_dir.entry(parent).or_default().push((path, new));
            }
            Change::Delete { .. } => {
                fs::remove_file(&path).map_err(|e| err(&path, format!("cannot remove: {e}")))?;
                summary.removed += 1;
                if let Some(parent) = path.parent() {
                    emptied.insert(parent.to_owned());
                }
            }
        }
    }
    let by_dir: Vec<_> = by_dir.into_iter().collect();
    let written = par::map(&by_dir, |(dir, files)| -> Result<usize, OutputError> {
        fs::create_dir_all(dir).map_err(|e| err(dir, format!("cannot create directory: {e}")))?;
        for (path, new) in files {
            write_atomically(path, new.as_bytes())?;
        }
        Ok(files.len())
    });
    for n in written {
        summary.written += n?;
    }
    // Deepest first, so that a parent emptied by removing its children goes too.
    let mut dirs: Vec<PathBuf> = emptied.into_iter().collect();
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    for dir in dirs {
        let mut current = dir;
        while current != root && current.starts_with(root) {
            let empty = fs::read_dir(&current)
                .map(|mut d| d.next().is_none())
                .unwrap_or(false);
            if !empty || fs::remove_dir(&current).is_err() {
                break;
            }
            match current.parent() {
                Some(p) => current = p.to_owned(),
                None => break,
            }
        }
    }
    Ok(summary)
}

/// Replaces `path` (in an existing directory) with `bytes` atomically.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let parent = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".tenantc-")
        .tempfile_in(parent)
        .map_err(|e| err(parent, format!("cannot create a temporary file: {e}")))?;
    tmp.write_all(bytes)
        .map_err(|e| err(path, format!("cannot write: {e}")))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // tempfile creates 0600; generated manifests are ordinary, readable files.
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o644))
            .map_err(|e| err(path, format!("cannot set permissions: {e}")))?;
    }
    tmp.persist(path)
        .map_err(|e| err(path, format!("cannot replace: {}", e.error)))?;
    Ok(())
}
