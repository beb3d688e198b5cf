//! Rendering against the directory: each job of the layout is rendered, compared with what is on
//! disk and forgotten, so that memory holds one job per core, never the tree. A compile
//! ([`Output::stage`]) writes each changed file beside its destination under a temporary name;
//! only when every job has rendered without error and no file turned out to be someone else's
//! does [`Output::commit`] rename them into place (and delete what is no longer produced). A
//! failure before that removes what was staged: the directory is as it was. `--check`
//! ([`compare`]) keeps the diff of each changed file instead.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use super::survey::{existing_dir, unwritable, unwritable_error, Kind};
use super::{err, is_owned, split, ApplyError, Change, Leftover, Output, OutputError, Plan};
use super::{unified, Summary};
use crate::emit::Tree;
use crate::par;

/// The jobs a compile renders: each a few files, rendered together.
pub trait Source: Sync {
    type Error: Send;
    fn jobs(&self) -> usize;
    /// The paths of job `job`'s files (relative, with `/`).
    fn paths(&self, job: usize) -> Vec<String>;
    /// The texts of job `job`'s files, in the order of [`Source::paths`].
    fn texts(&self, job: usize) -> Result<Vec<String>, Self::Error>;
}

/// Why rendering against the directory stopped: nothing was changed.
#[derive(Debug)]
pub enum Failure<E> {
    /// A job failed to render.
    Render(Vec<E>),
    /// A file is not tenantc's, cannot be read, or cannot be written.
    Output(Vec<OutputError>),
}

/// The changed files of all jobs kept in memory before the commit, at most: a small change is
/// written in full at the commit (nothing touched before it), a large one mostly staged.
pub const KEEP_BYTES: usize = 32 << 20;

/// A changed file: its job, its index among the job's files, and what was kept of it in memory:
/// its text or its diff (`None`: its text is staged on disk). Paths are not held: at 100,000
/// tenants a fresh compile changes 830,000 files.
type Kept = (usize, usize, Option<String>);

/// The changed files for [`Output::commit`], in layout order.
#[derive(Debug, Default)]
pub struct Staged {
    files: Vec<Kept>,
}

/// What one job found.
struct Found<E> {
    unchanged: usize,
    /// Indexes of the files that are created or updated, with what was kept of each (its text
    /// or its diff).
    changed: Vec<(usize, Option<String>)>,
    /// Indexes of the files that are created.
    created: Vec<usize>,
    errors: Vec<OutputError>,
    render: Option<E>,
}

impl<E> Found<E> {
    fn new() -> Self {
        Self {
            unchanged: 0,
            changed: Vec::new(),
            created: Vec::new(),
            errors: Vec::new(),
            render: None,
        }
    }
}

/// What is on disk where a file goes.
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
        match fs::File::open(path).and_then(|f| read_expecting(f, new.len(), buf)) {
            Err(e) => Existing::Unreadable(e),
            Ok(_) if buf.as_slice() == new => Existing::Same,
            Ok(_) if is_owned(buf) => Existing::Owned(String::from_utf8_lossy(buf).into_owned()),
            Ok(_) => Existing::NotOwned,
        }
    })
}

/// Reads all of `file` into `buf`, sized for `expected` bytes (the text it should hold), so that
/// a file as expected takes two reads and no other system call (see [`crate::read_whole`]: two
/// calls fewer per file than `read_to_end`, 1.6 million at 100,000 tenants).
fn read_expecting(mut file: fs::File, expected: usize, buf: &mut Vec<u8>) -> std::io::Result<()> {
    buf.clear();
    buf.resize(expected + 1, 0);
    let len = crate::read_whole(&mut file, buf)?;
    buf.truncate(len);
    Ok(())
}

/// Renders every job of `source` and compares it with `root`: `--check`. Reads, never writes;
/// `plan` gains the updated files and each change's diff.
pub fn compare<S: Source>(
    root: &Path,
    plan: &mut Plan,
    source: &S,
) -> Result<(), Failure<S::Error>> {
    let found = par::map_indexed(source.jobs(), |job| {
        let paths = source.paths(job);
        render_and_compare(root, plan, source, job, &paths, |i, old, new| {
            Ok(Some(unified(root, &paths[i], old, Some(&new))))
        })
    });
    for (job, i, diff) in merge(plan, source, found)? {
        if let Some(d) = diff {
            plan.diffs.insert(source.paths(job).swap_remove(i), d);
        }
    }
    let errors = unwritable(root, plan, &plan.created_paths(source));
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Failure::Output(errors))
    }
}

/// Renders job `job`, compares each file with what is on disk, and hands each changed file to
/// `changed` (index, old text if any, new text), which returns what to keep of it.
fn render_and_compare<S: Source>(
    root: &Path,
    plan: &Plan,
    source: &S,
    job: usize,
    paths: &[String],
    mut changed: impl FnMut(usize, Option<&str>, String) -> Result<Option<String>, OutputError>,
) -> Found<S::Error> {
    let mut found = Found::new();
    let texts = match source.texts(job) {
        Ok(t) => t,
        Err(e) => {
            found.render = Some(e);
            return found;
        }
    };
    for (i, (rel, text)) in paths.iter().zip(texts).enumerate() {
        let old = if !plan.exists(rel) {
            None
        } else {
            match existing(&root.join(rel), text.as_bytes()) {
                Existing::Same => {
                    found.unchanged += 1;
                    continue;
                }
                Existing::Owned(old) => Some(old),
                Existing::NotOwned => {
                    found.errors.push(err(
                        &root.join(rel),
                        "exists and was not generated by tenantc (it lacks the generated-file header), so tenantc will not overwrite it: move it away",
                    ));
                    continue;
                }
                Existing::Unreadable(e) => {
                    found
                        .errors
                        .push(err(&root.join(rel), format!("cannot read: {e}")));
                    continue;
                }
            }
        };
        if old.is_none() {
            found.created.push(i);
        }
        match changed(i, old.as_deref(), text) {
            Ok(kept) => found.changed.push((i, kept)),
            Err(e) => found.errors.push(e),
        }
    }
    found
}

/// Adds what the jobs found to `plan`; returns each changed file and what was kept of it (in job
/// order), or every failure.
fn merge<S: Source>(
    plan: &mut Plan,
    source: &S,
    found: Vec<Found<S::Error>>,
) -> Result<Vec<Kept>, Failure<S::Error>> {
    let mut render = Vec::new();
    let mut errors = Vec::new();
    let mut changed = Vec::new();
    for (job, f) in found.into_iter().enumerate() {
        render.extend(f.render);
        errors.extend(f.errors);
        plan.unchanged += f.unchanged;
        if f.changed.is_empty() {
            continue;
        }
        let paths = source.paths(job);
        for (i, kept) in f.changed {
            if f.created.contains(&i) {
                plan.created.push((job, i));
            } else {
                plan.changes.insert(paths[i].clone(), Change::Update);
            }
            changed.push((job, i, kept));
        }
    }
    if !render.is_empty() {
        Err(Failure::Render(render))
    } else if !errors.is_empty() {
        Err(Failure::Output(errors))
    } else {
        Ok(changed)
    }
}

impl Output {
    /// Renders every job of `source` and compares it with the directory. The changed files are
    /// kept in memory up to [`KEEP_BYTES`] in all; past that, each is staged beside its
    /// destination under a temporary name (so that a fresh compile of 100,000 tenants does not
    /// hold its 1.2 GB). On failure, what was staged is removed again: a conflict or a template
    /// error in a small change leaves the directory untouched, to the last modification time.
    pub fn stage<S: Source>(
        &self,
        plan: &mut Plan,
        source: &S,
    ) -> Result<Staged, Failure<S::Error>> {
        self.stage_keeping(plan, source, KEEP_BYTES)
    }

    /// [`Output::stage`], keeping at most `keep` bytes in memory.
    fn stage_keeping<S: Source>(
        &self,
        plan: &mut Plan,
        source: &S,
        keep: usize,
    ) -> Result<Staged, Failure<S::Error>> {
        let kept = std::sync::atomic::AtomicUsize::new(0);
        let found = par::map_indexed(source.jobs(), |job| {
            let paths = source.paths(job);
            let mut open: Option<(String, super::Dir)> = None;
            render_and_compare(&self.root, plan, source, job, &paths, |i, _, new| {
                let size = new.len();
                if kept.fetch_add(size, std::sync::atomic::Ordering::Relaxed) + size <= keep {
                    return Ok(Some(new));
                }
                let (d, name) = split(&paths[i]);
                let fail = |e: std::io::Error| self.write_error(plan, &paths[i], e);
                if open.as_ref().is_none_or(|(at, _)| at != d) {
                    open = Some((d.to_owned(), self.dir.sub(d, true).map_err(fail)?));
                }
                let Some((_, dir)) = &open else {
                    unreachable!("opened above")
                };
                dir.stage_file(name, new.as_bytes()).map_err(fail)?;
                Ok(None)
            })
        });
        // What was staged, failed or not: a failure removes it all again.
        let on_disk: Vec<String> = found
            .iter()
            .enumerate()
            .filter(|(_, f)| f.changed.iter().any(|(_, kept)| kept.is_none()))
            .flat_map(|(job, f)| {
                let paths = source.paths(job);
                f.changed
                    .iter()
                    .filter(|(_, kept)| kept.is_none())
                    .map(|(i, _)| paths[*i].clone())
                    .collect::<Vec<_>>()
            })
            .collect();
        match merge(plan, source, found) {
            Ok(files) => Ok(Staged { files }),
            Err(e) => {
                self.unstage(plan, on_disk.iter().map(String::as_str));
                Err(e)
            }
        }
    }

    fn write_error(&self, plan: &Plan, rel: &str, e: std::io::Error) -> OutputError {
        if e.kind() == std::io::ErrorKind::PermissionDenied {
            unwritable_error(&self.root.join(existing_dir(&plan.entries, rel)))
        } else {
            err(&self.root.join(rel), format!("cannot write: {e}"))
        }
    }

    /// Removes the files [`Output::stage`] staged for `paths`, and the directories it created.
    fn unstage<'p>(&self, plan: &Plan, paths: impl Iterator<Item = &'p str>) {
        let mut created = BTreeSet::new();
        for rel in paths {
            let (d, name) = split(rel);
            if let Ok(dir) = self.dir.sub(d, false) {
                let _ = dir.unstage_file(name);
            }
            let mut dir = d;
            while !dir.is_empty() && plan.entries.get(dir) != Some(&Kind::Dir) {
                created.insert(dir.to_owned());
                dir = split(dir).0;
            }
        }
        self.remove_empty_dirs(created);
    }

    /// Carries out the plan: leftovers are removed, staged files renamed into place (kept ones
    /// written), files no longer produced removed, and so are the directories that their removal
    /// left empty.
    pub fn commit<S: Source>(
        &self,
        plan: &Plan,
        source: &S,
        staged: &Staged,
    ) -> Result<Summary, ApplyError> {
        let mut summary = Summary {
            unchanged: plan.unchanged,
            ..Summary::default()
        };
        let mut done = ApplyError {
            error: err(&self.root, ""),
            written: Vec::new(),
            written_count: 0,
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
                match result {
                    // Staging this run may have replaced it under the same name.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(fail(done, rel, "cannot remove", e)),
                    Ok(()) => done.removed.push(rel.clone()),
                }
            }
        }

        // On every core, a job's files by one thread: kept files are written (to a temporary
        // file, renamed over the old one), staged ones renamed.
        let by_job: Vec<&[Kept]> = staged.files.chunk_by(|a, b| a.0 == b.0).collect();
        let results = par::map(&by_job, |files| {
            let paths = source.paths(files[0].0);
            let mut written = 0;
            let mut open: Option<(&str, super::Dir)> = None;
            for (_, i, kept) in files.iter() {
                let rel = &paths[*i];
                let (d, name) = split(rel);
                if open.as_ref().is_none_or(|(at, _)| *at != d) {
                    match self.dir.sub(d, true) {
                        Ok(dir) => open = Some((d, dir)),
                        Err(e) => {
                            return (written, Some((d.to_owned(), "cannot create directory", e)))
                        }
                    }
                }
                let Some((_, dir)) = &open else {
                    unreachable!("opened above")
                };
                let result = match kept {
                    Some(text) => dir
                        .stage_file(name, text.as_bytes())
                        .and_then(|()| dir.commit_file(name)),
                    None => dir.commit_file(name),
                };
                if let Err(e) = result {
                    return (written, Some((rel.clone(), "cannot write", e)));
                }
                written += 1;
            }
            (written, None)
        });
        let mut first_error = None;
        for ((written, error), files) in results.into_iter().zip(&by_job) {
            if written > 0 {
                summary.written += written;
                let paths = source.paths(files[0].0);
                let shown = ApplyError::SHOWN.saturating_sub(done.written.len());
                done.written.extend(
                    files[..written]
                        .iter()
                        .take(shown)
                        .map(|(_, i, _)| paths[*i].clone()),
                );
            }
            first_error = first_error.or(error);
        }
        if let Some((path, what, e)) = first_error {
            // What was staged and not renamed is removed (a renamed file has no temporary file
            // left to remove): each file is old or new.
            let staged_paths: Vec<String> = by_job
                .iter()
                .flat_map(|files| {
                    let paths = source.paths(files[0].0);
                    files
                        .iter()
                        .filter(|(_, _, kept)| kept.is_none())
                        .map(move |(_, i, _)| paths[*i].clone())
                        .collect::<Vec<_>>()
                })
                .collect();
            self.unstage(plan, staged_paths.iter().map(String::as_str));
            done.written_count = summary.written;
            return Err(fail(done, &path, what, e));
        }

        let mut emptied = BTreeSet::new();
        for (rel, change) in &plan.changes {
            if let Change::Delete { .. } = change {
                let (d, name) = split(rel);
                let result = self.dir.sub(d, false).and_then(|dir| dir.remove_file(name));
                if let Err(e) = result {
                    done.written_count = summary.written;
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
        self.remove_empty_dirs(emptied);
        Ok(summary)
    }

    /// Removes each of `dirs` that is empty, deepest first, and each parent that this empties. A
    /// directory that is not empty (or not a directory any more) stays.
    fn remove_empty_dirs(&self, dirs: BTreeSet<String>) {
        let mut dirs: Vec<String> = dirs.into_iter().filter(|d| !d.is_empty()).collect();
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
    }
}

/// A tree in memory as a [`Source`]: one job per file.
struct TreeSource<'a>(Vec<(&'a String, &'a String)>);

impl Source for TreeSource<'_> {
    type Error = std::convert::Infallible;
    fn jobs(&self) -> usize {
        self.0.len()
    }
    fn paths(&self, job: usize) -> Vec<String> {
        vec![self.0[job].0.clone()]
    }
    fn texts(&self, job: usize) -> Result<Vec<String>, Self::Error> {
        Ok(vec![self.0[job].1.clone()])
    }
}

/// Writes a tree held in memory to `root` (locked for the time of the write), as a compile
/// writes its layout; for tools and tests.
pub fn write_tree(root: &Path, tree: &Tree) -> Result<Summary, Vec<OutputError>> {
    let out = match Output::open(root, super::Access::Write, &[]).map_err(|e| vec![e])? {
        Some(out) => out,
        None => return Ok(Summary::default()),
    };
    let source = TreeSource(tree.iter().collect());
    let mut plan = super::survey(root, super::scan(root)?, tree.keys().cloned())?;
    let staged = out.stage(&mut plan, &source).map_err(|e| match e {
        Failure::Output(e) => e,
        Failure::Render(never) => match never.into_iter().next() {
            Some(n) => match n {},
            None => Vec::new(),
        },
    })?;
    out.commit(&plan, &source, &staged)
        .map_err(|e| vec![e.error])
}

#[cfg(all(test, unix))]
mod tests;
