//! The walk of an output tree: every regular file and directory below the root, in the order of
//! their paths (each directory's entries sorted by name, a directory's contents right after it),
//! without following links. On Unix each directory is opened relative to its parent's handle and
//! listed with `getdents`, each entry's type taken from the listing: a path lookup of one name
//! instead of the whole path, and no allocation per entry beyond its name (`walkdir`, used
//! elsewhere, was a tenth of verify's time at 10,000 tenants).

use std::path::Path;

use super::TreeError;

/// What the walk finds, in order.
pub enum Entry<'a> {
    File(&'a Path),
    Dir(&'a Path),
}

/// Walks `root` (itself the first directory), calling `visit` on each regular file and
/// directory; what cannot be listed or opened is an error of its own, and the walk goes on.
pub fn walk(root: &Path, visit: &mut dyn FnMut(Entry<'_>), errors: &mut Vec<TreeError>) {
    imp::walk(root, visit, errors);
}

fn error(path: &Path, e: impl std::fmt::Display) -> TreeError {
    TreeError::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

#[cfg(unix)]
mod imp {
    use std::ffi::{OsStr, OsString};
    use std::os::fd::OwnedFd;
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    use std::path::{Path, PathBuf};

    use rustix::fs::{openat, statat, AtFlags, Dir, FileType, Mode, OFlags, CWD};

    use super::{error, Entry};
    use crate::verify::tree::TreeError;

    fn flags() -> OFlags {
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC
    }

    pub fn walk(root: &Path, visit: &mut dyn FnMut(Entry<'_>), errors: &mut Vec<TreeError>) {
        // The root is followed if it is a link (`read_tree` checked it is a directory).
        visit(Entry::Dir(root));
        match openat(CWD, root, flags(), Mode::empty()) {
            Ok(fd) => directory(fd, &mut root.to_path_buf(), visit, errors),
            Err(e) => errors.push(error(root, std::io::Error::from(e))),
        }
    }

    fn directory(
        fd: OwnedFd,
        path: &mut PathBuf,
        visit: &mut dyn FnMut(Entry<'_>),
        errors: &mut Vec<TreeError>,
    ) {
        let mut entries: Vec<(OsString, FileType)> = Vec::new();
        let mut dir = match Dir::new(fd) {
            Ok(d) => d,
            Err(e) => return errors.push(error(path, std::io::Error::from(e))),
        };
        for entry in dir.by_ref() {
            match entry {
                Ok(e) => {
                    let name = e.file_name().to_bytes();
                    if name != b"." && name != b".." {
                        entries.push((OsStr::from_bytes(name).to_owned(), e.file_type()));
                    }
                }
                Err(e) => {
                    errors.push(error(path, std::io::Error::from(e)));
                    return;
                }
            }
        }
        let fd = match dir.fd() {
            Ok(fd) => fd,
            Err(e) => return errors.push(error(path, std::io::Error::from(e))),
        };
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (name, mut kind) in entries {
            if kind == FileType::Unknown {
                // A file system that does not say in the listing: ask, without following.
                kind = statat(fd, &*name, AtFlags::SYMLINK_NOFOLLOW)
                    .map_or(FileType::Unknown, |st| FileType::from_raw_mode(st.st_mode));
            }
            let len = path.as_os_str().len();
            path.push(&name);
            match kind {
                FileType::RegularFile => visit(Entry::File(path)),
                FileType::Directory => {
                    visit(Entry::Dir(path));
                    match openat(fd, &*name, flags() | OFlags::NOFOLLOW, Mode::empty()) {
                        Ok(child) => directory(child, path, visit, errors),
                        Err(e) => errors.push(error(path, std::io::Error::from(e))),
                    }
                }
                // Links, sockets, devices: neither files nor directories to kustomize's view
                // here (see `kustomize::OnDisk`).
                _ => {}
            }
            // Back to the directory's own path: `pop` would parse the components again.
            let mut bytes = std::mem::take(path).into_os_string().into_vec();
            bytes.truncate(len);
            *path = PathBuf::from(OsString::from_vec(bytes));
        }
    }
}

#[cfg(not(unix))]
mod imp {
    use std::path::Path;

    use super::{error, Entry};
    use crate::verify::tree::TreeError;

    pub fn walk(root: &Path, visit: &mut dyn FnMut(Entry<'_>), errors: &mut Vec<TreeError>) {
        for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
            match entry {
                Ok(e) if e.file_type().is_file() => visit(Entry::File(e.path())),
                Ok(e) if e.file_type().is_dir() => visit(Entry::Dir(e.path())),
                Ok(_) => {}
                Err(e) => errors.push(error(e.path().unwrap_or(root), &e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same entries, in the same order, as `walkdir` sorted by name, which verify used before.
    #[test]
    fn finds_what_walkdir_finds_in_its_order() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("o");
        for d in ["a/b", "a/c/d", "a-b", "z", "a/e"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        for f in [
            "a/x.yaml",
            "a/b/y.yaml",
            "a/c/d/z.yml",
            "a-b/k",
            "kustomization.yaml",
            "z/0",
        ] {
            std::fs::write(root.join(f), "x").unwrap();
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.join("a"), root.join("link-dir")).unwrap();
            std::os::unix::fs::symlink(root.join("a/x.yaml"), root.join("z/link.yaml")).unwrap();
        }
        let mut ours = Vec::new();
        let mut errors = Vec::new();
        walk(
            &root,
            &mut |e| {
                ours.push(match e {
                    Entry::File(p) => format!("f {}", p.display()),
                    Entry::Dir(p) => format!("d {}", p.display()),
                })
            },
            &mut errors,
        );
        assert!(errors.is_empty());
        let theirs: Vec<String> = walkdir::WalkDir::new(&root)
            .sort_by_file_name()
            .into_iter()
            .map(Result::unwrap)
            .filter_map(|e| {
                let t = e.file_type();
                if t.is_file() {
                    Some(format!("f {}", e.path().display()))
                } else if t.is_dir() {
                    Some(format!("d {}", e.path().display()))
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(ours, theirs);
        assert_eq!(ours.len(), 14);
    }
}
