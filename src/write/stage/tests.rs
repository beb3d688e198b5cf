//! Staging and committing against a real directory.

use super::super::{Access, HEADER_PREFIX};
use super::*;

fn tree(files: &[(&str, &str)]) -> Tree {
    files
        .iter()
        .map(|(p, t)| (p.to_string(), format!("{HEADER_PREFIX} test\n{t}")))
        .collect()
}

/// Staged with `keep` bytes kept in memory (0: every changed file staged on disk).
fn staged(
    root: &Path,
    t: &Tree,
    keep: usize,
) -> (
    Output,
    Plan,
    Result<Staged, Failure<std::convert::Infallible>>,
) {
    let out = Output::open(root, Access::Write, &[]).unwrap().unwrap();
    let scan = crate::write::scan(root).unwrap();
    let mut plan = crate::write::survey(root, scan, t.keys().cloned()).unwrap();
    let staged = out.stage_keeping(&mut plan, &TreeSource(t.iter().collect()), keep);
    (out, plan, staged)
}

fn listing(root: &Path) -> Vec<String> {
    walkdir::WalkDir::new(root)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter()
        .map(|e| {
            e.unwrap()
                .path()
                .strip_prefix(root)
                .unwrap()
                .display()
                .to_string()
        })
        .collect()
}

#[test]
fn a_file_is_read_whole_whatever_size_was_expected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let mut buf = b"left from the last file".to_vec();
    for len in [0usize, 1, 100, 5000] {
        let text: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
        fs::write(&path, &text).unwrap();
        for expected in [0, len.saturating_sub(1), len, len + 1, 3 * len + 7] {
            read_expecting(fs::File::open(&path).unwrap(), expected, &mut buf).unwrap();
            assert_eq!(buf, text, "{len} bytes read expecting {expected}");
        }
    }
}

#[test]
fn a_directory_swapped_for_a_link_before_the_commit_redirects_nothing() {
    for keep in [0, KEEP_BYTES] {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("output");
        let outside = tmp.path().join("outside");
        fs::create_dir_all(root.join("tenants/acme")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        let t = tree(&[("tenants/acme/a.yaml", "a"), ("tenants/acme/b.yaml", "b")]);
        let (out, plan, staged) = staged(&root, &t, keep);
        // The swap: between staging and the commit, the directory becomes a link out.
        fs::rename(root.join("tenants/acme"), tmp.path().join("moved")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("tenants/acme")).unwrap();
        let e = out
            .commit(&plan, &TreeSource(t.iter().collect()), &staged.unwrap())
            .unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0, "wrote outside");
    }
}

#[test]
fn a_failed_commit_names_what_was_already_written_and_leaves_no_temporary_file() {
    for keep in [0, KEEP_BYTES] {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("output");
        let t = tree(&[("a/x.yaml", "x"), ("b/y.yaml", "y")]);
        let (out, plan, staged) = staged(&root, &t, keep);
        // Directory `b` is replaced by a file between staging and the commit.
        if root.join("b").exists() {
            fs::remove_dir_all(root.join("b")).unwrap();
        }
        fs::write(root.join("b"), "in the way").unwrap();
        let e = out
            .commit(&plan, &TreeSource(t.iter().collect()), &staged.unwrap())
            .unwrap_err();
        assert_eq!(e.written, ["a/x.yaml"]);
        let text = e.to_string();
        assert!(
            text.contains("before this error, tenantc wrote 1 file(s): a/x.yaml"),
            "{text}"
        );
        assert_eq!(listing(&root), ["a", "a/x.yaml", "b"]);
    }
}

#[test]
fn a_foreign_file_found_while_staging_leaves_the_directory_as_it_was() {
    for keep in [0, KEEP_BYTES] {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("output");
        fs::create_dir_all(root.join("z")).unwrap();
        fs::write(root.join("z/mine.yaml"), "a user's file\n").unwrap();
        let t = tree(&[("a/x.yaml", "x"), ("b/c/y.yaml", "y"), ("z/mine.yaml", "z")]);
        let (_out, _, staged) = staged(&root, &t, keep);
        assert!(
            matches!(staged, Err(Failure::Output(ref errors)) if errors.len() == 1),
            "{staged:?}"
        );
        assert_eq!(listing(&root), ["z", "z/mine.yaml"]);
    }
}

#[test]
fn staged_and_kept_files_are_committed_alike() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("output");
    let t = tree(&[("a/x.yaml", "x"), ("a/y.yaml", "y"), ("b/z.yaml", "z")]);
    // Room for one file in memory: the others are staged.
    let (out, plan, staged) = staged(&root, &t, t["a/x.yaml"].len());
    let staged = staged.unwrap();
    assert_eq!(
        staged
            .files
            .iter()
            .filter(|(_, _, kept)| kept.is_none())
            .count(),
        2
    );
    let summary = out
        .commit(&plan, &TreeSource(t.iter().collect()), &staged)
        .unwrap();
    assert_eq!(summary.written, 3);
    assert_eq!(
        listing(&root),
        ["a", "a/x.yaml", "a/y.yaml", "b", "b/z.yaml"]
    );
    for (rel, text) in &t {
        assert_eq!(&fs::read_to_string(root.join(rel)).unwrap(), text);
    }
}
