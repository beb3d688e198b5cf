//! Reading the tree from disk: the walk of the output directory, the files a kustomization
//! applies, and the reader threads that parse them.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};

use super::namespace_file::read_namespace_file;
use super::parse::parse_file_with;
use super::text::forget_shared;
use super::{GitOpsReader, Tree, TreeError};
use crate::model::{SHARED_DIR, TENANTS_DIR};
use crate::verify::tree::{kustomize, walk};

/// YAML files per unit of work of the reader threads: small enough that the threads start
/// parsing while the walk goes on and end together, large enough that the parts are few.
const CHUNK: usize = 256;

/// A run of YAML files in the order of the walk, numbered.
type Chunk = (usize, Vec<PathBuf>);

/// Where the GitOps layer's reader appears once the intent is derived (see [`read_tree_with`]).
pub type GitOpsSlot<'a> = std::sync::OnceLock<Box<dyn GitOpsReader + 'a>>;
/// What a reader thread made of a chunk: its number and its files' objects.
type Part = (usize, Result<Tree, Vec<TreeError>>);

/// Reads every YAML file under `root` that a kustomization applies. The walk runs on this
/// thread and hands the YAML files it finds, in its order, to reader threads (one per core, at
/// most eight) that parse them meanwhile. Whether a file is applied is known only once the walk
/// has found every kustomization: when one is not (a tree verify then fails anyway), the tree
/// is read again, walked first and then only the applied files read. The parts are joined in
/// the order of the walk, so the tree does not depend on which thread read what.
pub fn read_tree(root: &Path) -> Result<Tree, Vec<TreeError>> {
    read_tree_with(root, None)
}

/// [`read_tree`], the reader threads giving each file's GitOps objects to the reader in `gitops`
/// once it is there (another thread derives the intent meanwhile), so that the GitOps layer
/// need not read those files again. The walk hands the readers the files outside the
/// namespaces' directories (the GitOps objects' among them) last, by when the intent is
/// usually derived; a file read before is read again by the layer, with the same result.
pub fn read_tree_with(root: &Path, gitops: Option<&GitOpsSlot>) -> Result<Tree, Vec<TreeError>> {
    let display_root = root.display().to_string();
    if !root.is_dir() {
        return Err(vec![TreeError::Read {
            path: display_root,
            message: "not a directory (run `tenantc compile` first?)".into(),
        }]);
    }
    match read_pass(root, &display_root, true, gitops)? {
        Some(tree) => Ok(tree),
        None => Ok(read_pass(root, &display_root, false, gitops)?.unwrap_or_default()),
    }
}

/// One reading of the tree: with `every_file`, each YAML file is read as the walk finds it, and
/// the pass gives up (`None`) if one turns out not to be applied; else the walk finishes first
/// and only the applied files are read.
fn read_pass(
    root: &Path,
    display_root: &str,
    every_file: bool,
    gitops: Option<&GitOpsSlot>,
) -> Result<Option<Tree>, Vec<TreeError>> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 8));
    let (send, receive) = mpsc::channel::<Chunk>();
    let receive = Mutex::new(receive);
    let stop = AtomicBool::new(false);
    let (walked, mut parts) = std::thread::scope(|s| {
        let readers: Vec<_> = (0..threads)
            .map(|_| s.spawn(|| read_chunks(root, &receive, &stop, gitops)))
            .collect();
        let walked = walk(root, display_root, every_file.then_some(&send)).map(|mut disk| {
            // Only what the cluster receives is evaluated; the rest is reported.
            let mut applied = kustomize::applied(root, &mut disk);
            if !every_file {
                send_applied(root, disk.walked, &disk.paths, &mut applied, &send);
            } else if applied.unapplied > 0 {
                return None;
            }
            Some(applied)
        });
        drop(send);
        if !matches!(walked, Ok(Some(_))) {
            stop.store(true, Ordering::Relaxed);
        }
        let mut parts = Vec::new();
        let mut panicked = false;
        for reader in readers {
            match reader.join() {
                Ok(p) => parts.extend(p),
                Err(_) => panicked = true,
            }
        }
        if panicked {
            let message = "a reader thread panicked".into();
            return (
                Err(vec![TreeError::Read {
                    path: display_root.to_owned(),
                    message,
                }]),
                parts,
            );
        }
        (walked, parts)
    });
    let Some(applied) = walked? else {
        return Ok(None);
    };
    let mut audit = applied.findings;
    parts.sort_unstable_by_key(|(i, _)| *i);
    let mut tree = Tree::default();
    let mut errors = applied.errors;
    for (_, part) in parts {
        match part {
            Ok(t) => tree.absorb(t),
            Err(e) => errors.extend(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // The kustomizations, read by the walk's side rather than by the readers.
    tree.files += applied.kustomizations;
    tree.documents += applied.documents;
    // What is wrong with how the files are applied, then what the reader found in them.
    audit.append(&mut tree.audit);
    tree.audit = audit;
    tree.root = display_root.to_owned();
    Ok(Some(tree))
}

/// Hands the applied ones of the YAML files `walked` to the readers in chunks, and reports the
/// others. Kustomizations are no objects the cluster receives (kustomize takes a kustomization
/// file's first document as the kustomization and ignores any other): `kustomize::applied` has
/// read them, and the readers do not.
fn send_applied(
    root: &Path,
    walked: Vec<PathBuf>,
    paths: &kustomize::PathMap,
    applied: &mut kustomize::Applied,
    send: &mpsc::Sender<Chunk>,
) {
    let mut chunks = Chunks::new(root, send);
    for p in walked {
        if applied.rooted && !paths.is_applied(&kustomize::key_of(&p)) {
            applied.findings.push(kustomize::not_applied(&p));
            continue;
        }
        if !kustomize::is_kustomization(&p) {
            chunks.push(p);
        }
    }
    chunks.finish();
}

/// YAML files on their way to the reader threads, in numbered chunks of [`CHUNK`], in order;
/// but a chunk with a file outside the namespaces' directories is sent after all the others
/// (see [`read_tree_with`]). The parts are joined by number, so this changes when a file is
/// read, not where its objects go.
struct Chunks<'a> {
    send: &'a mpsc::Sender<Chunk>,
    chunk: Vec<PathBuf>,
    sent: usize,
    /// `<root>/tenants/` and `<root>/shared/`, as bytes.
    namespace_dirs: [Vec<u8>; 2],
    /// Whether the chunk being filled waits for the end.
    late: bool,
    later: Vec<Chunk>,
}

impl<'a> Chunks<'a> {
    fn new(root: &Path, send: &'a mpsc::Sender<Chunk>) -> Self {
        let dir = |name: &str| {
            let mut p = root.as_os_str().as_encoded_bytes().to_vec();
            if p.last() != Some(&b'/') {
                p.push(b'/');
            }
            p.extend_from_slice(name.as_bytes());
            p.push(b'/');
            p
        };
        Chunks {
            send,
            chunk: Vec::with_capacity(CHUNK),
            sent: 0,
            namespace_dirs: [dir(TENANTS_DIR), dir(SHARED_DIR)],
            late: false,
            later: Vec::new(),
        }
    }

    fn push(&mut self, path: PathBuf) {
        let bytes = path.as_os_str().as_encoded_bytes();
        self.late |= !self.namespace_dirs.iter().any(|d| bytes.starts_with(d));
        self.chunk.push(path);
        if self.chunk.len() == CHUNK {
            let full = std::mem::replace(&mut self.chunk, Vec::with_capacity(CHUNK));
            self.send_chunk(full);
        }
    }

    /// Sends what is left, and then the chunks kept for the end.
    fn finish(mut self) {
        if !self.chunk.is_empty() {
            let last = std::mem::take(&mut self.chunk);
            self.send_chunk(last);
        }
        for chunk in std::mem::take(&mut self.later) {
            // The readers outlive the walk: a send fails only if one panicked, which joining
            // it reports.
            let _ = self.send.send(chunk);
        }
    }

    fn send_chunk(&mut self, chunk: Vec<PathBuf>) {
        if std::mem::take(&mut self.late) {
            self.later.push((self.sent, chunk));
        } else {
            let _ = self.send.send((self.sent, chunk));
        }
        self.sent += 1;
    }
}

/// The walk of `root`: every file and directory, and the YAML files, which it sends to the
/// reader threads in chunks as it finds them when it has `send` (all but the kustomizations,
/// see [`send_applied`]), else keeps in `walked`.
fn walk(
    root: &Path,
    display_root: &str,
    send: Option<&mpsc::Sender<Chunk>>,
) -> Result<kustomize::OnDisk, Vec<TreeError>> {
    let mut errors = Vec::new();
    let mut disk = kustomize::OnDisk::default();
    let mut chunks = send.map(|send| Chunks::new(root, send));
    walk::walk(
        root,
        &mut |entry| match entry {
            walk::Entry::File(p) => {
                let yaml = kustomize::is_yaml(p);
                let kustomization = yaml && kustomize::is_kustomization(p);
                let index = kustomization.then_some(disk.kustomizations.len());
                disk.paths.add_file(&kustomize::key_of(p), index);
                if yaml {
                    disk.yaml += 1;
                    if kustomization {
                        disk.kustomizations.push(p.to_path_buf());
                    }
                    match &mut chunks {
                        // A kustomization is read by `kustomize::applied`, not by the readers.
                        Some(chunks) if !kustomization => chunks.push(p.to_path_buf()),
                        Some(_) => {}
                        None => disk.walked.push(p.to_path_buf()),
                    }
                }
            }
            walk::Entry::Dir(p) => {
                disk.paths.add_dir(&kustomize::key_of(p));
            }
        },
        &mut errors,
    );
    if let Some(chunks) = chunks {
        chunks.finish();
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // An empty directory is a wrong path far more often than an empty cluster: reading it as one
    // would make verify and explain deny everything and diff call every namespace new.
    if disk.yaml == 0 {
        return Err(vec![TreeError::Read {
            path: display_root.to_owned(),
            message: "holds no YAML file, so no output tree (run `tenantc compile` first, or check the path)".into(),
        }]);
    }
    Ok(disk)
}

/// A reader thread: the chunks it takes from the walk until there are none or the walk failed.
fn read_chunks(
    root: &Path,
    receive: &Mutex<mpsc::Receiver<Chunk>>,
    stop: &AtomicBool,
    gitops: Option<&GitOpsSlot>,
) -> Vec<Part> {
    let mut parts = Vec::new();
    loop {
        // A poisoned lock means another reader panicked; its join reports that.
        let next = match receive.lock() {
            Ok(r) => r.recv(),
            Err(_) => break,
        };
        let Ok((i, paths)) = next else { break };
        if stop.load(Ordering::Relaxed) {
            continue;
        }
        let reader = gitops.and_then(|slot| slot.get()).map(|r| &**r);
        parts.push((i, read_files(root, &paths, reader)));
    }
    // The tree holds the strings it uses; the set of them is not needed any more.
    forget_shared();
    parts
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

/// The file of a namespace's directory compile writes its Namespace into, and after it the
/// access objects (named here, not taken from `render`: the tree is read independently of it).
const NAMESPACE_FILE: &str = "namespace.yaml";

fn read_files(
    root: &Path,
    paths: &[PathBuf],
    gitops: Option<&dyn GitOpsReader>,
) -> Result<Tree, Vec<TreeError>> {
    let mut tree = Tree::default();
    let mut errors = Vec::new();
    // One buffer for every file of the chunk (see `read_text`): a fresh one per file was an
    // allocation and the kernel's zeroing of its pages, for tens of thousands of files.
    let mut bytes = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        match read_text(path, &mut bytes) {
            Ok(text) => {
                tree.audit.extend(kustomize::merge_key_finding(text, path));
                let dir = directory_namespace(root, path);
                let is_namespace_file = path.file_name().is_some_and(|f| f == NAMESPACE_FILE);
                // A namespace's file in the layout compile writes (its Namespace, then its
                // access objects) is read line by line, without the YAML value tree.
                if let Some(ns) = dir.filter(|_| is_namespace_file) {
                    if read_namespace_file(text, &name, ns, gitops, &mut tree) {
                        continue;
                    }
                    // Outside the layout compile writes, or an error in the Namespace's
                    // document: the whole file, read as any other, gives it at its place (and
                    // the tree is dropped for it).
                }
                if let Err(e) = parse_file_with(text, &name, dir, gitops, &mut tree) {
                    errors.push(e);
                }
            }
            Err(e) => errors.push(TreeError::Read {
                path: name,
                message: e.to_string(),
            }),
        }
    }
    if errors.is_empty() {
        Ok(tree)
    } else {
        Err(errors)
    }
}

/// The text of the file at `path`, read into `buf`, a buffer kept for the next file: its bytes
/// stay initialized from one file to the next (it only grows, with zeros), and the text is its
/// first bytes. `File::read_to_string` asks the file's size first (a `statx` per file), and
/// `read_to_end` zeroes the buffer's free room before every read (64 KiB per file, 6% of
/// verify's instructions at 10,000 tenants, and the whole first-level cache each time): see
/// [`crate::read_whole`].
pub(in crate::verify::tree) fn read_text<'a>(
    path: &Path,
    buf: &'a mut Vec<u8>,
) -> std::io::Result<&'a str> {
    let mut file = std::fs::File::open(path)?;
    if buf.len() < READ_BUFFER {
        buf.resize(READ_BUFFER, 0);
    }
    let filled = crate::read_whole(&mut file, buf)?;
    std::str::from_utf8(&buf[..filled]).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

/// The room [`read_text`] reads a file into at first: more than a generated file holds, so that
/// one `read` takes it whole and a second finds its end.
const READ_BUFFER: usize = 64 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    /// A chunk with a file outside the namespaces' directories is sent after the others, under
    /// the number of its place in the walk.
    #[test]
    fn chunks_outside_the_namespaces_go_last_under_their_own_number() {
        let (send, receive) = mpsc::channel::<Chunk>();
        let root = Path::new("out");
        let mut chunks = Chunks::new(root, &send);
        let mut walked = Vec::new();
        for i in 0..CHUNK {
            walked.push(format!("out/gitops/groups/{i}.yaml"));
        }
        for i in 0..CHUNK + 1 {
            walked.push(format!("out/tenants/t{i}/t{i}/namespace.yaml"));
        }
        walked.push("out/shared/db/sidecar.yaml".into());
        walked.push("out/stray/x.yaml".into());
        for p in &walked {
            chunks.push(PathBuf::from(p));
        }
        chunks.finish();
        drop(send);
        let got: Vec<Chunk> = receive.iter().collect();
        let numbers: Vec<usize> = got.iter().map(|(i, _)| *i).collect();
        // The gitops chunk (0) and the last one, with a stray file, wait for the end.
        assert_eq!(numbers, [1, 0, 2]);
        let mut in_order = got;
        in_order.sort_by_key(|(i, _)| *i);
        let paths: Vec<String> = in_order
            .into_iter()
            .flat_map(|(_, c)| c)
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(paths, walked);
    }

    /// One buffer read into again and again gives each file's text exactly: a file larger than
    /// its room, then a shorter one (none of the longer one's bytes after it), an empty one, and
    /// one that is not UTF-8.
    #[test]
    fn a_reused_buffer_gives_each_files_text() {
        let dir = tempfile::tempdir().unwrap();
        let big: String = (0..READ_BUFFER / 10 + 500)
            .map(|i| format!("{i:09}\n"))
            .collect();
        assert!(big.len() > READ_BUFFER && big.len() < 2 * READ_BUFFER);
        let files = [("big", big.as_str()), ("short", "kind: A\n"), ("empty", "")];
        let mut buf = Vec::new();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
            assert_eq!(read_text(&dir.path().join(name), &mut buf).unwrap(), text);
        }
        assert_eq!(buf.len(), 2 * READ_BUFFER);
        std::fs::write(dir.path().join("bad"), b"a\xffb").unwrap();
        let e = read_text(&dir.path().join("bad"), &mut buf).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
        assert!(read_text(&dir.path().join("missing"), &mut buf).is_err());
    }
}
