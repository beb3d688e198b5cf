//! Reading the tree from disk: the walk of the output directory, the files a kustomization
//! applies, and the reader threads that parse them.

use std::path::{Path, PathBuf};

use super::access::read_access_file;
use super::parse::parse_file_in;
use super::text::forget_shared;
use super::{Tree, TreeError};
use crate::model::{SHARED_DIR, TENANTS_DIR};
use crate::verify::tree::kustomize;

/// Reads every YAML file under `root`, in parallel over two threads (most machines running CI
/// have at least two cores; parsing dominates the run time of verify).
pub fn read_tree(root: &Path) -> Result<Tree, Vec<TreeError>> {
    let display_root = root.display().to_string();
    if !root.is_dir() {
        return Err(vec![TreeError::Read {
            path: display_root,
            message: "not a directory (run `tenantc compile` first?)".into(),
        }]);
    }
    let mut errors = Vec::new();
    let mut disk = kustomize::OnDisk::default();
    for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
        match entry {
            Ok(e) if e.file_type().is_file() => {
                let p = e.path();
                if matches!(p.extension().and_then(|x| x.to_str()), Some("yaml" | "yml")) {
                    disk.yaml.push(p.to_path_buf());
                }
                disk.files.insert(kustomize::key_of(p).into_owned());
            }
            Ok(e) if e.file_type().is_dir() => {
                disk.dirs.insert(kustomize::key_of(e.path()).into_owned());
            }
            Ok(_) => {}
            Err(e) => errors.push(TreeError::Read {
                path: e
                    .path()
                    .map_or_else(|| display_root.clone(), |p| p.display().to_string()),
                message: e.to_string(),
            }),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // An empty directory is a wrong path far more often than an empty cluster: reading it as one
    // would make verify and explain deny everything and diff call every namespace new.
    if disk.yaml.is_empty() {
        return Err(vec![TreeError::Read {
            path: display_root,
            message: "holds no YAML file, so no output tree (run `tenantc compile` first, or check the path)".into(),
        }]);
    }
    // Only what the cluster receives is evaluated; the rest is reported. The sets of the walk
    // are dropped here, before the files are parsed, so that they do not add to the peak.
    let kustomize::Applied {
        files: applied,
        findings: audit,
    } = kustomize::applied(root, &disk);
    let mut paths = std::mem::take(&mut disk.yaml);
    drop(disk);
    if let Some(files) = applied {
        paths.retain(|p| files.contains(&*kustomize::key_of(p)));
    }
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 8));
    let chunk = paths.len().div_ceil(threads).max(1);
    let parts: Vec<Result<Tree, Vec<TreeError>>> = std::thread::scope(|s| {
        let handles: Vec<_> = paths
            .chunks(chunk)
            .map(|part| s.spawn(move || read_files(root, part)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(vec![TreeError::Read {
                        path: display_root.clone(),
                        message: "a reader thread panicked".into(),
                    }])
                })
            })
            .collect()
    });
    drop(paths);
    let mut tree = Tree {
        audit,
        ..Tree::default()
    };
    let root_name = display_root.clone();
    for part in parts {
        match part {
            // The first part becomes the tree as it is: no copy of the largest vectors.
            Ok(mut t) if tree.files == 0 => {
                t.audit.append(&mut tree.audit);
                tree = t;
            }
            Ok(t) => tree.absorb(t),
            Err(e) => errors.extend(e),
        }
    }
    tree.root = root_name;
    if errors.is_empty() {
        Ok(tree)
    } else {
        Err(errors)
    }
}

/// The namespace whose directory `path` is in: `tenants/<tenant>/<namespace>/<file>` or
/// `shared/<namespace>/<file>` below `root` (see `emit`), where every object is that namespace's.
fn directory_namespace<'a>(root: &Path, path: &'a Path) -> Option<&'a str> {
    let rel: Vec<&str> = path
        .strip_prefix(root)
        .ok()?
        .components()
        .map(|c| c.as_os_str().to_str())
        .collect::<Option<_>>()?;
    match rel.as_slice() {
        [TENANTS_DIR, _, ns, _] | [SHARED_DIR, ns, _] => Some(ns),
        _ => None,
    }
}

fn read_files(root: &Path, paths: &[PathBuf]) -> Result<Tree, Vec<TreeError>> {
    let mut tree = Tree::default();
    let mut errors = Vec::new();
    // One buffer for every file of the thread: a fresh one per file was an allocation and the
    // kernel's zeroing of its pages, for tens of thousands of files.
    let mut text = String::new();
    for path in paths {
        let name = path.display().to_string();
        text.clear();
        let read = std::fs::File::open(path)
            .and_then(|mut f| std::io::Read::read_to_string(&mut f, &mut text));
        match read {
            Ok(_) => {
                tree.audit.extend(kustomize::merge_key_finding(&text, path));
                let dir = directory_namespace(root, path);
                let access = dir.filter(|_| path.file_name().is_some_and(|f| f == "access.yaml"));
                if access.is_some_and(|dir| read_access_file(&text, &name, dir, &mut tree)) {
                    continue;
                }
                if let Err(e) = parse_file_in(&text, &name, dir, &mut tree) {
                    errors.push(e);
                }
            }
            Err(e) => errors.push(TreeError::Read {
                path: name,
                message: e.to_string(),
            }),
        }
    }
    // The tree holds the strings it uses; the set of them is not needed any more.
    forget_shared();
    if errors.is_empty() {
        Ok(tree)
    } else {
        Err(errors)
    }
}
