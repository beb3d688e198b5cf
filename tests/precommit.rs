//! The pre-commit hooks of .pre-commit-hooks.yaml, run by the real `pre-commit` (from PyPI;
//! skipped with a message when it is not installed) against a scratch repository: both pass on a
//! current tree, and fail when tenants.toml changed without a compile.
//!
//! pre-commit builds the hooks from this repository's HEAD commit with cargo (`language: rust`),
//! as it would from a tag, in a pre-commit home of its own; the build reuses this repository's
//! target directory for tenantc's dependencies, and rebuilds tenantc itself.
#![cfg(unix)]

use std::path::Path;
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("runs");
    assert!(out.status.success(), "{cmd:?}: {}", text(&out));
    out
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn git(dir: &Path, args: &[&str]) -> Output {
    run(Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
        .args(args))
}

#[test]
fn the_hooks_pass_on_a_current_tree_and_fail_on_a_stale_one() {
    if !Command::new("pre-commit")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!(
            "SKIPPED: pre-commit is not installed (pip install pre-commit); .ci/run installs it"
        );
        return;
    }
    let head = String::from_utf8(git(root(), &["rev-parse", "HEAD"]).stdout).unwrap();
    let committed = git(root(), &["show", "HEAD:.pre-commit-hooks.yaml"]).stdout;
    let current = std::fs::read(root().join(".pre-commit-hooks.yaml")).unwrap();
    assert_eq!(
        committed, current,
        "pre-commit builds the hooks from HEAD: commit .pre-commit-hooks.yaml first"
    );
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    let tenantc = assert_cmd::cargo::cargo_bin("tenantc");
    run(Command::new(&tenantc)
        .current_dir(repo)
        .args(["init", "--ci", "none"]));
    run(Command::new(&tenantc).current_dir(repo).arg("compile"));
    std::fs::write(
        repo.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n- repo: {}\n  rev: {}\n  hooks:\n  - id: tenantc-compile-check\n  - id: tenantc-verify\n",
            root().display(),
            head.trim()
        ),
    )
    .unwrap();
    git(repo, &["init", "-q", "-b", "main"]);
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", "tenants"]);
    // A home of its own per run: pre-commit keeps one environment per repository and commit,
    // and an environment installed from a stale build would otherwise be reused.
    let cache = dir.path().join("pre-commit");
    // The repository's own target directory: the dependencies `cargo build --release` built
    // are reused (.ci/run builds before it tests).
    let pre_commit = || {
        Command::new("pre-commit")
            .args(["run", "--all-files", "--color", "never"])
            .current_dir(repo)
            .env("PRE_COMMIT_HOME", cache.join("home"))
            .env("CARGO_TARGET_DIR", root().join("target"))
            .output()
            .expect("pre-commit runs")
    };
    // pre-commit's `cargo install` reuses the build of this target directory; its fingerprints of
    // tenantc itself were seen to let a clone of a newer commit install the older binary, so
    // they are removed: tenantc is rebuilt from the commit under test, its dependencies are not.
    for dir in ["release", "debug"] {
        if let Ok(entries) = std::fs::read_dir(root().join("target").join(dir).join(".fingerprint"))
        {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with("tenantc-") {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
    }
    let current = pre_commit();
    assert!(current.status.success(), "{}", text(&current));
    assert!(
        text(&current).contains("tenantc compile --check"),
        "{}",
        text(&current)
    );
    assert!(
        text(&current).contains("tenantc verify"),
        "{}",
        text(&current)
    );

    // tenants.toml changed, output/ not compiled again: the commit is stopped.
    let config = repo.join("tenants/tenants.toml");
    let mut toml = std::fs::read_to_string(&config).unwrap();
    toml.push_str("\n[tenants.zeta]\nnamespaces = [\"zeta\"]\n");
    std::fs::write(&config, toml).unwrap();
    git(repo, &["add", "."]);
    let stale = pre_commit();
    assert_eq!(stale.status.code(), Some(1), "{}", text(&stale));
    let log = text(&stale);
    let line = log
        .lines()
        .find(|l| l.starts_with("tenantc compile --check"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(line.ends_with("Failed"), "{log}");
    assert!(log.contains("run `tenantc compile`"), "{log}");
}
