//! What the cluster receives from the tree: the files kustomize builds from the root
//! `kustomization.yaml` and from each kustomization under `gitops/` (applied by the cluster admin
//! or by a GitOps object of their own). verify evaluates only those files, and reports as violations what would make the
//! cluster receive something else than the files it read:
//!
//! - a YAML file on disk that no kustomization reaches (a policy that is never applied);
//! - a `resources` entry that leaves the tree, is a URL, or does not exist;
//! - a kustomization feature that rewrites objects (`patches`, `namePrefix`, generators,
//!   transformers, ...): verify does not evaluate them, so it refuses them;
//! - a YAML merge key (`<<`), which kustomize applies and a plain YAML reader does not.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};

use super::{Origin, Text, TreeError};
use crate::verify::Finding;

/// The only keys of a kustomization verify understands; any other changes what is applied.
const KNOWN_KEYS: [&str; 3] = ["apiVersion", "kind", "resources"];

/// The kustomization the cluster applies, relative to the output directory.
const ROOTS: [&str; 1] = ["kustomization.yaml"];
/// Below this directory every kustomization is applied (by the cluster admin or a GitOps object).
const GITOPS_DIR: &str = "gitops";

const KUSTOMIZATION_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// The files and directories of the walk, keyed by [`key_of`], each held as two 64-bit aHash
/// digests of its bytes under two random keys drawn for the map: 16 bytes a path instead of a
/// copy of it (the walk's sets of a million paths were 150 MB of verify's peak at 100,000
/// tenants). Two paths share both digests with a chance of about 2^-128 a pair, and the keys are
/// new each run, so no tree can be made to collide. With each path, what [`applied`] needs: a
/// directory or a file, whether a kustomization applies it, and a kustomization's place in
/// [`OnDisk::kustomizations`]. One map, one lookup a `resources` entry (three sets took five).
#[derive(Debug, Default)]
pub struct PathMap {
    keys: (ahash::RandomState, ahash::RandomState),
    /// Each file's [`FileMark`]. Digests as two `u64`, not a `u128`: 24 bytes an entry instead
    /// of 32 (a `u128` is aligned to 16).
    files: crate::verify::HashMap<[u64; 2], FileMark>,
    dirs: crate::verify::HashSet<[u64; 2]>,
}

/// What [`PathMap`] holds of a file: whether a kustomization applies it (the top bit) and, if
/// it is a kustomization, its index in [`OnDisk::kustomizations`] (else [`FileMark::NONE`]).
#[derive(Clone, Copy, Debug)]
struct FileMark(u32);

impl FileMark {
    const APPLIED: u32 = 1 << 31;
    const NONE: u32 = Self::APPLIED - 1;

    fn applied(self) -> bool {
        self.0 & Self::APPLIED != 0
    }

    /// Marks the file applied; whether it was not before.
    fn apply(&mut self) -> bool {
        let new = !self.applied();
        self.0 |= Self::APPLIED;
        new
    }

    fn kustomization(self) -> Option<usize> {
        let i = self.0 & !Self::APPLIED;
        (i != Self::NONE).then_some(i as usize)
    }
}

/// A path [`PathMap::find`] found.
enum Found<'m> {
    Dir,
    File(&'m mut FileMark),
}

impl PathMap {
    fn digest(&self, key: &OsStr) -> [u64; 2] {
        let bytes = key.as_encoded_bytes();
        [self.keys.0.hash_one(bytes), self.keys.1.hash_one(bytes)]
    }

    /// Adds the regular file `key`, the kustomization at `kustomization` of the walk's list if
    /// it is one.
    pub fn add_file(&mut self, key: &OsStr, kustomization: Option<usize>) {
        let index = kustomization
            .and_then(|i| u32::try_from(i).ok())
            .filter(|&i| i < FileMark::NONE)
            .unwrap_or(FileMark::NONE);
        let d = self.digest(key);
        self.files.insert(d, FileMark(index));
    }

    pub fn add_dir(&mut self, key: &OsStr) {
        let d = self.digest(key);
        self.dirs.insert(d);
    }

    fn find(&mut self, key: &OsStr) -> Option<Found<'_>> {
        let d = self.digest(key);
        if self.dirs.contains(&d) {
            return Some(Found::Dir);
        }
        self.files.get_mut(&d).map(Found::File)
    }

    fn file_mut(&mut self, key: &OsStr) -> Option<&mut FileMark> {
        let d = self.digest(key);
        self.files.get_mut(&d)
    }

    fn is_file(&self, key: &OsStr) -> bool {
        self.files.contains_key(&self.digest(key))
    }

    /// Whether a kustomization applies the file `key`.
    pub fn is_applied(&self, key: &OsStr) -> bool {
        self.files
            .get(&self.digest(key))
            .is_some_and(|m| m.applied())
    }
}

/// The files to evaluate (marked in [`OnDisk::paths`]) and what is wrong with how they are
/// applied.
#[derive(Debug, Default)]
pub struct Applied {
    /// Whether the tree has a root kustomization, so that only the files it reaches count (they
    /// are marked in [`OnDisk::paths`]); without one every file counts (a tree applied with
    /// `kubectl apply -R`).
    pub rooted: bool,
    pub findings: Vec<Finding>,
    /// How many of the YAML files on disk no kustomization applies.
    pub unapplied: usize,
    /// The kustomizations followed, and their documents: the reader threads skip kustomization
    /// files (they are read here, as kustomize reads them), so the tree's counts add these.
    pub kustomizations: usize,
    pub documents: usize,
    /// A kustomization followed that cannot be read or is not YAML, as the readers report a
    /// file: the tree cannot be evaluated.
    pub errors: Vec<TreeError>,
}

/// A kustomization file as [`applied`] reads it: its keys and `resources`, how many documents it
/// holds, whether it uses a merge key, and why it cannot be read (as the readers say it). The
/// rare parts are boxed: a large tree has one of these per directory, all held at once.
struct Kustomization {
    parsed: KeysAndResources,
    documents: usize,
    merge_key: Option<Box<Finding>>,
    error: Option<Box<TreeError>>,
}

fn read_kustomization(path: &Path) -> Kustomization {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            return Kustomization {
                parsed: Err(e.to_string()),
                documents: 0,
                merge_key: None,
                error: Some(Box::new(TreeError::Read {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })),
            }
        }
    };
    let (parsed, documents) = keys_and_resources(&text);
    let error = parsed
        .is_err()
        .then(|| super::parse::syntax_error(&text, &path.display().to_string()))
        .flatten()
        .map(Box::new);
    Kustomization {
        parsed,
        documents,
        merge_key: merge_key_finding(&text, path).map(Box::new),
        error,
    }
}

fn violation(check: &'static str, message: String, file: &Path) -> Finding {
    let kustomization = Origin {
        file: file.display().to_string().into(),
        kind: "Kustomization",
        name: Text::default(),
    };
    crate::verify::finding::violation(check, message, vec![kustomization])
}

/// What one walk of the output directory found (links are neither files nor directories here:
/// the walk does not follow them, and neither does kustomize's view that verify takes).
#[derive(Debug, Default)]
pub struct OnDisk {
    /// Every regular file and directory.
    pub paths: PathMap,
    /// The YAML files named as a kustomization, as walked.
    pub kustomizations: Vec<PathBuf>,
    /// How many YAML files there are.
    pub yaml: usize,
    /// The YAML files, as walked, when the walk keeps them (see `read`).
    pub walked: Vec<PathBuf>,
}

/// Whether `path` is a YAML file (the files verify reads): its extension is `yaml` or `yml`.
pub fn is_yaml(path: &Path) -> bool {
    match plain_file_name(path) {
        // `Path::extension`'s rule: the part after the last dot, unless the name starts there.
        Some(name) => {
            let ext = |e: &[u8]| name.len() > e.len() && name.ends_with(e);
            ext(b".yaml") || ext(b".yml")
        }
        None => matches!(
            path.extension().and_then(|x| x.to_str()),
            Some("yaml" | "yml")
        ),
    }
}

/// Whether `path` is named as a kustomization.
pub fn is_kustomization(path: &Path) -> bool {
    match plain_file_name(path) {
        Some(name) => KUSTOMIZATION_NAMES.iter().any(|k| name == k.as_bytes()),
        None => path
            .file_name()
            .is_some_and(|n| KUSTOMIZATION_NAMES.iter().any(|k| n == *k)),
    }
}

/// The bytes of `path`'s last component when it is a plain name after the last `/` (every path
/// the walk finds): what `Path::file_name` gives, without parsing the components (the walk asks
/// for hundreds of thousands of files). `None` where the components must be parsed.
fn plain_file_name(path: &Path) -> Option<&[u8]> {
    let bytes = path.as_os_str().as_encoded_bytes();
    if cfg!(windows) {
        return None;
    }
    let name = match bytes.iter().rposition(|&b| b == b'/') {
        Some(i) => &bytes[i + 1..],
        None => bytes,
    };
    (!matches!(name, b"" | b"." | b"..")).then_some(name)
}

/// The finding for a YAML file on disk that nothing applies.
pub fn not_applied(path: &Path) -> Finding {
    violation(
        "not-applied",
        format!(
            "{} is in the tree but no kustomization reaches it from {}: the cluster never receives it, so verify does not count it",
            path.display(),
            ROOTS[0]
        ),
        path,
    )
}

/// A path as a set key: `.` and `..` resolved, then its bytes (hashing the bytes is several times
/// faster than hashing a `Path` component by component, which showed in verify's profile). A
/// path that is its own lexical form (every path the walk finds below a plain root) is its key
/// as it is, without a copy.
pub fn key_of(path: &Path) -> Cow<'_, OsStr> {
    if is_lexical(path) {
        Cow::Borrowed(path.as_os_str())
    } else {
        Cow::Owned(lexical(path).into_os_string())
    }
}

/// [`key_of`] for an owned path: itself when it is its own lexical form.
fn into_lexical(path: PathBuf) -> PathBuf {
    if is_lexical(&path) {
        path
    } else {
        lexical(&path)
    }
}

/// Whether [`lexical`] would give `path` back byte for byte: `/`-separated, no `.` or `..`
/// component, no empty one (`a//b`), no separator at the end. Anything else, and every path on
/// Windows, takes the component-by-component way.
fn is_lexical(path: &Path) -> bool {
    let bytes = path.as_os_str().as_encoded_bytes();
    if cfg!(windows) || bytes.is_empty() {
        return false;
    }
    // A leading `/` is the root; after it, every component must be a plain name.
    let rest = bytes.strip_prefix(b"/").unwrap_or(bytes);
    !rest.is_empty()
        && rest
            .split(|&b| b == b'/')
            .all(|c| !c.is_empty() && c != b"." && c != b"..")
}

/// `path` with `.` and `..` resolved lexically, as kustomize resolves a `resources` entry. A
/// `..` that has nothing to climb out of is kept (`../output` stays itself, so that a tree given
/// relative to a sibling directory is still read where it is); above the root it is dropped.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            other => out.push(other),
        }
    }
    out
}

/// A kustomization's top-level keys and its `resources`, or why it cannot be read as YAML.
type KeysAndResources = Result<(Vec<String>, Vec<String>), String>;

/// The top-level keys and the `resources` of a kustomization, and how many documents it holds
/// (the empty ones aside), read with the fast reader when the file is plain YAML (it always is
/// when tenantc wrote it), else with the full parser.
fn keys_and_resources(text: &str) -> (KeysAndResources, usize) {
    if let Some(docs) = super::yaml::parse(text) {
        let documents = docs
            .iter()
            .filter(|d| !matches!(d, super::yaml::Value::Null))
            .count();
        let mut keys = Vec::new();
        let mut resources = Vec::new();
        for doc in docs {
            let super::yaml::Value::Map(entries) = doc else {
                continue;
            };
            for (k, v) in entries {
                if k == "resources" {
                    if let super::yaml::Value::Seq(items) = &v {
                        resources.extend(items.iter().filter_map(|i| match i {
                            super::yaml::Value::Str(s) => Some(s.to_string()),
                            _ => None,
                        }));
                    }
                }
                keys.push(k.into_owned());
            }
        }
        return (Ok((keys, resources)), documents);
    }
    let documents = serde_yaml::Deserializer::from_str(text)
        .map_while(|d| <serde_yaml::Value as serde::Deserialize>::deserialize(d).ok())
        .filter(|v| !v.is_null())
        .count();
    (keys_and_resources_of_one(text), documents)
}

/// [`keys_and_resources`] of a file the fast reader does not read: one document, with the full
/// parser.
fn keys_and_resources_of_one(text: &str) -> KeysAndResources {
    let value: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
    let Some(map) = value.as_mapping() else {
        return Ok((Vec::new(), Vec::new()));
    };
    let keys = map
        .keys()
        .map(|k| k.as_str().unwrap_or("?").to_owned())
        .collect();
    let resources = map
        .get("resources")
        .and_then(|r| r.as_sequence())
        .map(|l| {
            l.iter()
                .filter_map(|e| e.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Ok((keys, resources))
}

/// Follows every kustomization from [`ROOTS`] under `root`, looking files up in `disk` (one walk
/// of the tree serves both this and the reading of the files).
pub fn applied(root: &Path, disk: &mut OnDisk) -> Applied {
    let mut out = Applied::default();
    let OnDisk {
        paths,
        kustomizations,
        ..
    } = disk;
    if !paths.is_file(&key_of(&root.join(ROOTS[0]))) {
        return out;
    }
    out.rooted = true;
    let top = lexical(root);
    // The YAML files applied, to tell whether any on disk is left out.
    let mut applied_yaml = 0;
    // The root, and under gitops/ every kustomization: each is synced by a GitOps object of its
    // own (see `emit`), not listed in another kustomization.
    let mut pending: Vec<PathBuf> = vec![root.join(ROOTS[0])];
    let gitops = root.join(GITOPS_DIR);
    let mut under_gitops: Vec<PathBuf> = kustomizations
        .iter()
        .filter(|p| {
            p.starts_with(&gitops) && p.file_name().is_some_and(|n| n == "kustomization.yaml")
        })
        .cloned()
        .collect();
    under_gitops.sort();
    pending.extend(under_gitops);
    // Every kustomization of the walk is read and parsed on every core first (one per
    // directory: tens of thousands in a large tree); the traversal below then only looks them up.
    let candidates: Vec<&PathBuf> = kustomizations.iter().collect();
    // Looked up by position (the walk noted each one's): a map holding them (nearly 300 bytes
    // each) was 37 MB at 100,000 tenants, while the tree was read.
    let mut parsed = crate::par::map(&candidates, |p| Some(read_kustomization(p)));
    while let Some(k) = pending.pop() {
        // Each kustomization is followed once; every one pending is on disk.
        let Some(mark) = paths.file_mut(&key_of(&k)) else {
            continue;
        };
        if !mark.apply() {
            continue;
        }
        let at = mark.kustomization();
        if is_yaml(&k) {
            applied_yaml += 1;
        }
        let dir = k.parent().unwrap_or(root).to_path_buf();
        let kustomization = at
            .and_then(|i| parsed.get_mut(i)?.take())
            .unwrap_or_else(|| read_kustomization(&k));
        if let Some(error) = kustomization.error {
            out.errors.push(*error);
            continue;
        }
        out.kustomizations += 1;
        out.documents += kustomization.documents;
        out.findings.extend(kustomization.merge_key.map(|f| *f));
        let (keys, resources) = match kustomization.parsed {
            Ok(v) => v,
            Err(e) => {
                out.findings.push(violation(
                    "kustomization",
                    format!("{} cannot be read as YAML: {e}", k.display()),
                    &k,
                ));
                continue;
            }
        };
        for key in &keys {
            let key = key.as_str();
            if !KNOWN_KEYS.contains(&key) {
                out.findings.push(violation(
                    "kustomization",
                    format!(
                        "{} uses `{key}`, which changes what the cluster receives and which verify does not evaluate: remove it, or render the change with templates",
                        k.display()
                    ),
                    &k,
                ));
            }
        }
        // `dir` is lexical below the root's own lexical form (it came from a target that
        // passed the check below), so an entry stays in the tree when the joined path does.
        let below_top = lexical(&dir)
            .strip_prefix(&top)
            .map_or_else(|_| PathBuf::from(".."), Path::to_path_buf);
        for entry in &resources {
            let entry = entry.as_str();
            let rel = Path::new(entry);
            let escapes = entry.contains("://")
                || rel.is_absolute()
                || escapes_root(below_top.join(rel).as_path());
            if escapes {
                out.findings.push(violation(
                    "kustomization",
                    format!(
                        "{} lists `{entry}`, outside the output tree: verify cannot see what it applies",
                        k.display()
                    ),
                    &k,
                ));
                continue;
            }
            let target = into_lexical(dir.join(rel));
            // Never follow a link: a link could apply a file verify does not read (the walk
            // that filled `disk` did not follow any).
            let Some(found) = paths.find(target.as_os_str()) else {
                out.findings.push(violation(
                    "kustomization",
                    format!(
                        "{} lists `{entry}`, which is not a file or directory of the tree",
                        k.display()
                    ),
                    &k,
                ));
                continue;
            };
            let mark = match found {
                Found::File(mark) => mark,
                Found::Dir => {
                    match KUSTOMIZATION_NAMES
                        .iter()
                        .map(|n| target.join(n))
                        .find(|p| paths.is_file(p.as_os_str()))
                    {
                        Some(p) => pending.push(p),
                        None => out.findings.push(violation(
                            "kustomization",
                            format!(
                                "{} lists the directory `{entry}`, which has no kustomization",
                                k.display()
                            ),
                            &k,
                        )),
                    }
                    continue;
                }
            };
            if is_kustomization(&target) {
                // kustomize reads a kustomization listed as a file as an object, and refuses
                // it (it has no metadata.name): the whole build fails.
                out.findings.push(violation(
                    "kustomization",
                    format!(
                        "{} lists the kustomization `{entry}` as a file: kustomize refuses it (a Kustomization is not an object to apply), so nothing of the tree builds; list its directory",
                        k.display()
                    ),
                    &k,
                ));
            } else if mark.apply() && is_yaml(&target) {
                applied_yaml += 1;
            }
        }
    }
    // The YAML files on disk that nothing applies (named by the reader, which has their paths).
    out.unapplied = disk.yaml.saturating_sub(applied_yaml);
    out
}

/// Whether `rel` (relative to the output directory) climbs out of it.
fn escapes_root(rel: &Path) -> bool {
    let mut depth: i64 = 0;
    for c in rel.components() {
        match c {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => return true,
        }
        if depth < 0 {
            return true;
        }
    }
    false
}

/// YAML merge keys (`<<`) anywhere in `text`: kustomize merges them, a plain YAML reader keeps
/// `<<` as a key, so the two would read different objects. Refused rather than emulated.
pub fn merge_key_finding(text: &str, file: &Path) -> Option<Finding> {
    if !text.contains("<<") {
        return None;
    }
    let has_merge = serde_yaml::Deserializer::from_str(text).any(|doc| {
        <serde_yaml::Value as serde::Deserialize>::deserialize(doc)
            .map(|v| has_merge_key(&v))
            .unwrap_or(false)
    });
    has_merge.then(|| {
        violation(
            "yaml-merge-key",
            format!(
                "{} uses a YAML merge key (`<<`), which kustomize applies and verify does not: write the merged fields out",
                file.display()
            ),
            file,
        )
    })
}

fn has_merge_key(v: &serde_yaml::Value) -> bool {
    match v {
        serde_yaml::Value::Mapping(m) => m
            .iter()
            .any(|(k, v)| k.as_str() == Some("<<") || has_merge_key(v)),
        serde_yaml::Value::Sequence(s) => s.iter().any(has_merge_key),
        serde_yaml::Value::Tagged(t) => has_merge_key(&t.value),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_and_kustomization_names_are_what_the_path_methods_say() {
        for p in [
            "a/b.yaml",
            "b.yml",
            "a/.yaml",
            ".yml",
            "a/..yaml",
            "a/b.yaml.txt",
            "a/b.YAML",
            "a/b.yaml/",
            "a/b.yaml/.",
            "a/..",
            "a/.",
            "",
            "/",
            "x/kustomization.yaml",
            "kustomization.yml",
            "x/Kustomization",
            "x/kustomization.yaml/.",
            "x/kustomization.yaml.bak",
            "x/my-kustomization.yaml",
        ] {
            let path = Path::new(p);
            let yaml = matches!(
                path.extension().and_then(|x| x.to_str()),
                Some("yaml" | "yml")
            );
            let kustomization = path
                .file_name()
                .is_some_and(|n| KUSTOMIZATION_NAMES.iter().any(|k| n == *k));
            assert_eq!(is_yaml(path), yaml, "{p}");
            assert_eq!(is_kustomization(path), kustomization, "{p}");
        }
    }

    #[test]
    fn paths_that_leave_the_tree() {
        assert!(escapes_root(Path::new("../x")));
        assert!(escapes_root(Path::new("a/../../x")));
        assert!(!escapes_root(Path::new("a/../b")));
        assert!(!escapes_root(Path::new("tenants/acme")));
    }

    #[test]
    fn lexical_keeps_the_climb_out_of_a_relative_path() {
        assert_eq!(
            lexical(Path::new("../output/a/../b")),
            Path::new("../output/b")
        );
        assert_eq!(lexical(Path::new("./../../x/./y")), Path::new("../../x/y"));
        assert_eq!(lexical(Path::new("a/../../x")), Path::new("../x"));
        assert_eq!(lexical(Path::new("/../a")), Path::new("/a"));
    }

    #[test]
    fn a_key_is_the_lexical_form_with_or_without_a_copy() {
        for p in [
            "o/tenants/acme/acme/namespace.yaml",
            "/abs/o/x.yaml",
            "/",
            "o/",
            "o//x",
            "./o/x",
            "o/./x",
            "o/a/../x",
            "../o/x",
            "o/..",
            "o/.hidden/x",
            "o/..x/y",
        ] {
            let path = Path::new(p);
            assert_eq!(
                &*key_of(path),
                lexical(path).as_os_str(),
                "{p}: {}",
                is_lexical(path)
            );
        }
        assert!(is_lexical(Path::new("o/tenants/acme/acme/namespace.yaml")));
        assert!(!is_lexical(Path::new("./o/x")));
    }

    #[test]
    fn merge_keys_are_found() {
        let text = "a: &x {b: 1}\nc:\n  <<: *x\n";
        assert!(merge_key_finding(text, Path::new("f.yaml")).is_some());
        assert!(merge_key_finding("a: '<<'\n", Path::new("f.yaml")).is_none());
    }
}
