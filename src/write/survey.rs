//! The survey: what is on disk, against the paths of the layout, before anything is rendered.
//! Everything that can be known from paths alone is found here (a link or a file where a
//! directory must be, files that will be created or deleted, leftovers of an interrupted run),
//! so that a conflict stops the run before a template runs, and the destructive-change gate
//! sees every deletion.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use super::{
    err, is_owned, split, Change, Leftover, OutputError, Plan, GENERATED_DIRS, TEMP_PREFIX,
};
use crate::par;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    File,
    Dir,
    Link,
    Other,
}

/// What is on disk below the output directory: every entry (relative path with `/`) and its kind.
/// Listed without the layout, so that a compile lists the directory while it reads tenants.toml.
#[derive(Debug, Default)]
pub struct Scan {
    entries: BTreeMap<String, Kind>,
}

/// Lists the output directory `root` (nothing when it does not exist), on every core.
pub fn scan(root: &Path) -> Result<Scan, Vec<OutputError>> {
    existing_entries(root).map(|entries| Scan { entries })
}

/// Compares the paths of the layout with the listing of the directory `root`; reads, never
/// writes. The plan holds the files that will be deleted (with their old text, read on every
/// core); which files are created or change is found when they are rendered (see
/// [`super::Output::stage`]).
pub fn survey(
    root: &Path,
    scan: Scan,
    paths: impl Iterator<Item = String>,
) -> Result<Plan, Vec<OutputError>> {
    let entries = scan.entries;
    let mut paths: Vec<String> = paths.collect();
    paths.sort_unstable();
    paths.dedup();
    let mut plan = Plan::default();
    let mut errors = Vec::new();
    // Sorted, a directory's files come together: its ancestors are checked once.
    let mut last: Option<(&str, bool)> = None;
    // Both lists are sorted alike: one pass over both finds what is on disk at each path, and
    // the files on disk that no path names (no lookup per path: 830,000 at 100,000 tenants).
    let mut on_disk = entries.iter().peekable();
    let mut stale: Vec<&String> = Vec::new();
    for rel in &paths {
        while let Some((other, kind)) = on_disk.next_if(|(other, _)| *other < rel) {
            if is_stale(other, *kind) {
                stale.push(other);
            }
        }
        let here = on_disk.next_if(|(other, _)| *other == rel).map(|(_, k)| *k);
        let (dir, _) = split(rel);
        let blocked = match last {
            Some((d, blocked)) if d == dir => blocked,
            _ => {
                let blocked = blocked_ancestors(root, &entries, dir, &mut errors);
                last = Some((dir, blocked));
                blocked
            }
        };
        if blocked {
            continue;
        }
        match here {
            None | Some(Kind::File) => {}
            Some(Kind::Link) => errors.push(err(&root.join(rel), "is a symbolic link; tenantc never follows or replaces links inside its output directory: remove it")),
            Some(_) => errors.push(err(&root.join(rel), "is not a regular file: move it away")),
        }
    }
    stale.extend(
        on_disk
            .filter(|(other, kind)| is_stale(other, **kind))
            .map(|(other, _)| other),
    );
    // An ancestor in the way is named once, not once per directory below it.
    let mut named = BTreeSet::new();
    errors.retain(|e| named.insert(e.path.clone()));

    // Files tenantc generated earlier and no longer produces.
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

    plan.leftovers = leftovers(&entries, &paths);
    plan.entries = entries;
    if errors.is_empty() {
        Ok(plan)
    } else {
        Err(errors)
    }
}

/// Whether an entry on disk that the layout does not name is a file an earlier run generated
/// (temporary files are leftovers instead; whether it is tenantc's is read from its header).
fn is_stale(rel: &str, kind: Kind) -> bool {
    kind == Kind::File && !is_temp_file(rel, kind)
}

/// Whether an entry on disk is a file a run staged under a temporary name.
fn is_temp_file(rel: &str, kind: Kind) -> bool {
    kind == Kind::File && split(rel).1.starts_with(TEMP_PREFIX)
}

/// Whether a link or a file stands where `dir` or one of its ancestors must be a directory (each
/// found is an error).
fn blocked_ancestors(
    root: &Path,
    entries: &BTreeMap<String, Kind>,
    dir: &str,
    errors: &mut Vec<OutputError>,
) -> bool {
    let mut blocked = false;
    let ancestors = dir
        .match_indices('/')
        .map(|(end, _)| &dir[..end])
        .chain((!dir.is_empty()).then_some(dir));
    for ancestor in ancestors {
        match entries.get(ancestor) {
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
    blocked
}

fn existing_entries(root: &Path) -> Result<BTreeMap<String, Kind>, Vec<OutputError>> {
    let mut entries = Vec::new();
    match fs::metadata(root) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(vec![err(
                root,
                "the output path exists and is not a directory",
            )])
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
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
        // Built from one list, sorted once: faster than an insert per entry.
        Ok(entries.into_iter().collect())
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
    if std::path::MAIN_SEPARATOR == '/' {
        return rel.to_string_lossy().into_owned();
    }
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Temporary files anywhere, and empty directories below [`GENERATED_DIRS`] that no file of the
/// layout (`paths`) needs (directories holding only such leftovers count as empty).
fn leftovers<'a>(entries: &'a BTreeMap<String, Kind>, paths: &'a [String]) -> Vec<Leftover> {
    let mut out = Vec::new();
    // About one directory per few files: sized once instead of rehashed as it grows.
    let mut occupied = HashSet::with_capacity(paths.len() / 2);
    // Each directory holding `rel` is occupied; a directory already marked has its ancestors
    // marked too, and sorted paths come a directory at a time.
    let mut last = None;
    let mut mark = |rel: &'a str| {
        let (mut dir, _) = split(rel);
        if last == Some(dir) {
            return;
        }
        last = Some(dir);
        while !dir.is_empty() && occupied.insert(dir) {
            dir = split(dir).0;
        }
    };
    for (rel, kind) in entries {
        let temp = is_temp_file(rel, *kind);
        if temp {
            out.push(Leftover::TempFile(rel.clone()));
        }
        if *kind != Kind::Dir && !temp {
            mark(rel);
        }
    }
    for rel in paths {
        mark(rel);
    }
    let generated = |rel: &str| {
        GENERATED_DIRS.iter().any(|g| {
            rel.strip_prefix(g)
                .is_some_and(|below| below.is_empty() || below.starts_with('/'))
        })
    };
    for (rel, kind) in entries {
        if *kind == Kind::Dir && generated(rel) && !occupied.contains(rel.as_str()) {
            out.push(Leftover::EmptyDir(rel.clone()));
        }
    }
    out
}

/// Every directory the plan changes, or the nearest existing ancestor of one it creates, must
/// be writable: `--check` reports it as the compile would.
pub(super) fn unwritable(root: &Path, plan: &Plan, created: &[String]) -> Vec<OutputError> {
    let mut dirs = BTreeSet::new();
    let touched = plan
        .changes
        .keys()
        .chain(created)
        .map(String::as_str)
        .chain(plan.leftovers.iter().map(Leftover::path));
    for rel in touched {
        dirs.insert(existing_dir(&plan.entries, rel));
    }
    if !root.exists() {
        return Vec::new();
    }
    dirs.into_iter()
        .filter(|rel| {
            super::Dir::open(&root.join(rel))
                .map(|d| !d.writable())
                .unwrap_or(true)
        })
        .map(|rel| unwritable_error(&root.join(rel)))
        .collect()
}

/// The nearest existing directory that holds `rel` (`""`: the root).
pub(super) fn existing_dir<'a>(entries: &BTreeMap<String, Kind>, rel: &'a str) -> &'a str {
    let (mut dir, _) = split(rel);
    while !dir.is_empty() && entries.get(dir) != Some(&Kind::Dir) {
        dir = split(dir).0;
    }
    dir
}

pub(super) fn unwritable_error(dir: &Path) -> OutputError {
    err(
        dir,
        "cannot be written (permission denied); tenantc has to change files here: fix the permissions",
    )
}
