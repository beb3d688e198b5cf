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
use std::io::Write as _;
use std::path::{Path, PathBuf};

use similar::TextDiff;
use walkdir::WalkDir;

use crate::emit::{Tree, HEADER_PREFIX};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Create { new: String },
    Update { old: String, new: String },
    Delete { old: String },
}

/// What writing a tree would do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub changes: BTreeMap<String, Change>,
    pub unchanged: usize,
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
                Change::Create { new } => ("", new.as_str(), "/dev/null".to_owned(), path),
                Change::Update { old, new } => (old.as_str(), new.as_str(), path.clone(), path),
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
    let mut errors = Vec::new();
    // follow_links(false): a link inside the output is an entry of its own, never a way out.
    for entry in WalkDir::new(root)
        .follow_links(false)
        .min_depth(1)
        .sort_by_file_name()
    {
        match entry {
            Ok(e) => {
                let rel = relative(root, e.path());
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
                entries.insert(rel, kind);
            }
            Err(e) => {
                let path = e.path().unwrap_or(root).to_owned();
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
    if errors.is_empty() {
        Ok(entries)
    } else {
        Err(errors)
    }
}

fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Compares `tree` with the directory `root`; reads, never writes.
pub fn plan(root: &Path, tree: &Tree) -> Result<Plan, Vec<OutputError>> {
    let existing = existing_entries(root)?;
    let mut plan = Plan::default();
    let mut errors = Vec::new();
    let mut checked_dirs = BTreeSet::new();

    for (rel, new) in tree {
        // Every directory on the way must be a real directory (or not exist yet).
        let mut ancestor = String::new();
        let mut blocked = false;
        for part in rel
            .split('/')
            .collect::<Vec<_>>()
            .split_last()
            .map_or(&[][..], |(_, dirs)| dirs)
        {
            if !ancestor.is_empty() {
                ancestor.push('/');
            }
            ancestor.push_str(part);
            if !checked_dirs.insert(ancestor.clone()) {
                continue;
            }
            match existing.get(&ancestor) {
                None | Some(Kind::Dir) => {}
                Some(Kind::Link) => {
                    blocked = true;
                    errors.push(err(&root.join(&ancestor), "is a symbolic link; tenantc never follows links inside its output directory: remove it"));
                }
                Some(_) => {
                    blocked = true;
                    errors.push(err(
                        &root.join(&ancestor),
                        "is a file where tenantc needs a directory: move it away",
                    ));
                }
            }
        }
        if blocked {
            continue;
        }
        let path = root.join(rel);
        match existing.get(rel) {
            None => {
                plan.changes.insert(rel.clone(), Change::Create { new: new.clone() });
            }
            Some(Kind::File) => match fs::read(&path) {
                Ok(bytes) if bytes == new.as_bytes() => plan.unchanged += 1,
                Ok(bytes) if is_owned(&bytes) => {
                    let old = String::from_utf8_lossy(&bytes).into_owned();
                    plan.changes.insert(rel.clone(), Change::Update { old, new: new.clone() });
                }
                Ok(_) => errors.push(err(
                    &path,
                    "exists and was not generated by tenantc (it lacks the generated-file header), so tenantc will not overwrite it: move it away",
                )),
                Err(e) => errors.push(err(&path, format!("cannot read: {e}"))),
            },
            Some(Kind::Link) => errors.push(err(&path, "is a symbolic link; tenantc never follows or replaces links inside its output directory: remove it")),
            Some(_) => errors.push(err(&path, "is not a regular file: move it away")),
        }
    }

    // Files tenantc generated earlier and no longer produces.
    for (rel, kind) in &existing {
        if *kind != Kind::File || tree.contains_key(rel) {
            continue;
        }
        // A file that cannot be read cannot be shown to be tenantc's: it is left alone.
        if let Ok(bytes) = fs::read(root.join(rel)) {
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

    let mut emptied = BTreeSet::new();
    for (rel, change) in &plan.changes {
        let path = root.join(rel);
        match change {
            Change::Create { new } | Change::Update { new, .. } => {
                write_atomically(&path, new.as_bytes())?;
                summary.written += 1;
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

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let parent = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(|e| err(parent, format!("cannot create directory: {e}")))?;
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
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o644))
            .map_err(|e| err(path, format!("cannot set permissions: {e}")))?;
    }
    tmp.persist(path)
        .map_err(|e| err(path, format!("cannot replace: {}", e.error)))?;
    Ok(())
}
