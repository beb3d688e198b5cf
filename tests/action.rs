//! The GitHub Action's steps (action.yml, which runs action/run.sh) in a fake GitHub
//! environment: a repository with a base and a head commit, GITHUB_STEP_SUMMARY, GITHUB_OUTPUT
//! and GITHUB_PATH files, the release download replaced by a local file (`file://`), `gh`
//! stubbed. The steps must install the binary (checksum verified), check, and write the diff
//! into the summary and into one comment of their own.
#![cfg(unix)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn git(dir: &Path, args: &[&str]) -> Output {
    run(Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
        .args(args))
}

/// The `run:` line of each step of action.yml, by id.
fn action_steps() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(root().join("action.yml")).unwrap();
    let action: serde_json::Value = serde_yaml::from_str(&text).expect("action.yml is YAML");
    assert_eq!(action["runs"]["using"], "composite");
    for input in ["config", "output", "version", "comment", "templates"] {
        assert!(action["inputs"][input].is_object(), "input {input}");
    }
    action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_owned(),
                s["run"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A fake runner: its temp directory, the GitHub files, the stubs, the repository.
struct Runner {
    dir: tempfile::TempDir,
    /// Prepended to PATH: the `gh` stub, then what steps add through GITHUB_PATH.
    path: Vec<PathBuf>,
    env: BTreeMap<String, String>,
}

impl Runner {
    fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.file(name)).unwrap_or_default()
    }

    /// Runs one step as GitHub would: `bash -e` with the step's line, the directories earlier
    /// steps added to GITHUB_PATH first on PATH.
    fn step(&self, line: &str, extra: &[(&str, &str)]) -> Output {
        let added: Vec<PathBuf> = self
            .read("github_path")
            .lines()
            .rev()
            .map(PathBuf::from)
            .collect();
        let system = std::env::var("PATH").unwrap_or_default();
        let path = added
            .iter()
            .chain(&self.path)
            .map(|p| p.display().to_string())
            .chain([system])
            .collect::<Vec<_>>()
            .join(":");
        Command::new("bash")
            .args(["-e", "-c", line])
            .current_dir(self.repo())
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.dir.path())
            .envs(&self.env)
            .envs(extra.iter().copied())
            .output()
            .expect("bash runs")
    }
}

fn sha256(path: &Path) -> String {
    let out = run(Command::new("sha256sum").arg(path));
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

/// A runner with a pull request: main has the starter tenants.toml compiled, the head commit
/// adds tenant `zeta`; the release v0.1.0 holds this build of tenantc as the host's asset.
fn runner() -> Runner {
    let dir = tempfile::tempdir().unwrap();
    let tenantc = assert_cmd::cargo::cargo_bin("tenantc");
    // The release, as a directory served by file:// URLs.
    let uname = |flag: &str| {
        String::from_utf8(run(Command::new("uname").arg(flag)).stdout)
            .unwrap()
            .trim()
            .to_owned()
    };
    let asset = run(Command::new("bash")
        .arg(root().join("action/run.sh"))
        .args(["asset", &uname("-s"), &uname("-m")]));
    let asset = String::from_utf8(asset.stdout).unwrap().trim().to_owned();
    let release = dir.path().join("releases/download/v0.1.0");
    std::fs::create_dir_all(&release).unwrap();
    std::fs::copy(&tenantc, release.join(&asset)).unwrap();
    let sum = sha256(&release.join(&asset));
    std::fs::write(
        release.join(format!("{asset}.sha256")),
        format!("{sum}  {asset}\n"),
    )
    .unwrap();
    // The stubbed gh: logs each call and the body it sends; lists the comments through jq.
    let bin = dir.path().join("stubs");
    std::fs::create_dir_all(&bin).unwrap();
    let gh = bin.join("gh");
    std::fs::write(
        &gh,
        r#"#!/usr/bin/env bash
echo "gh $*" >> "$FAKE_GH_LOG"
filter=
while [ $# -gt 0 ]; do
  case "$1" in
    --jq) filter=$2; shift ;;
    body=@*) cat "${1#body=@}" >> "$FAKE_GH_LOG" ;;
  esac
  shift
done
if [ -n "$filter" ]; then jq -r "$filter" "$FAKE_GH_COMMENTS"; fi
"#,
    )
    .unwrap();
    run(Command::new("chmod").arg("+x").arg(&gh));
    // The repository: the base on origin/main, the pull request's head checked out.
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    run(Command::new(&tenantc)
        .current_dir(&repo)
        .args(["init", "--ci", "none"]));
    run(Command::new(&tenantc).current_dir(&repo).arg("compile"));
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "base"]);
    let origin = dir.path().join("origin.git");
    git(dir.path(), &["init", "-q", "--bare", "origin.git"]);
    git(
        &repo,
        &["remote", "add", "origin", &origin.display().to_string()],
    );
    git(&repo, &["push", "-q", "origin", "main"]);
    git(&repo, &["checkout", "-q", "-b", "add-zeta"]);
    let config = repo.join("tenants/tenants.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[tenants.zeta]\nnamespaces = [\"zeta\"]\n");
    std::fs::write(&config, text).unwrap();
    run(Command::new(&tenantc).current_dir(&repo).arg("compile"));
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "head: add zeta"]);
    let file = |name: &str| dir.path().join(name).display().to_string();
    let env: BTreeMap<String, String> = [
        ("GITHUB_STEP_SUMMARY", file("summary.md")),
        ("GITHUB_OUTPUT", file("github_output")),
        ("GITHUB_PATH", file("github_path")),
        ("RUNNER_TEMP", file("runner_temp")),
        ("GITHUB_EVENT_NAME", "pull_request".into()),
        ("GITHUB_BASE_REF", "main".into()),
        ("GITHUB_REPOSITORY", "example/platform".into()),
        ("PR_NUMBER", "7".into()),
        ("ACTION_PATH", root().display().to_string()),
        ("ACTION_REPOSITORY", "example/tenantc".into()),
        ("ACTION_REF", "v0.1.0".into()),
        ("TENANTC_RELEASES", format!("file://{}", file("releases"))),
        ("INPUT_COMMENT", "true".into()),
        ("FAKE_GH_LOG", file("gh.log")),
        ("FAKE_GH_COMMENTS", file("comments.json")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    std::fs::create_dir_all(dir.path().join("runner_temp")).unwrap();
    std::fs::write(
        dir.path().join("comments.json"),
        r#"[{"id": 1, "body": "another workflow's comment"}]"#,
    )
    .unwrap();
    Runner {
        dir,
        path: vec![bin],
        env,
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn the_steps_install_check_and_summarise_a_pull_request() {
    let steps = action_steps();
    let ids: Vec<&str> = steps.keys().map(String::as_str).collect();
    assert_eq!(ids, ["check", "diff", "install"]);
    for (id, line) in &steps {
        assert_eq!(line, &format!("bash \"$ACTION_PATH/action/run.sh\" {id}"));
    }
    let r = runner();
    let install = r.step(&steps["install"], &[]);
    assert!(install.status.success(), "{}", text(&install));
    assert!(
        text(&install).contains("installed tenantc v0.1.0"),
        "{}",
        text(&install)
    );
    let bin = r.read("github_path");
    assert!(bin.trim_end().ends_with("tenantc-action/bin"), "{bin}");

    let check = r.step(&steps["check"], &[]);
    assert!(check.status.success(), "{}", text(&check));
    assert!(r.read("github_output").contains("check=ok"));

    if !have("jq") {
        eprintln!("SKIPPED the comment part: jq is not installed (the gh stub filters with it)");
    }
    let diff = r.step(&steps["diff"], &[]);
    assert!(diff.status.success(), "{}", text(&diff));
    let summary = r.read("summary.md");
    assert!(
        summary.contains(":white_check_mark: `output` is what `tenants/tenants.toml` compiles to"),
        "{summary}"
    );
    assert!(
        summary.contains(":white_check_mark: `output` isolates the tenants"),
        "{summary}"
    );
    assert!(
        summary.contains("`tenants/tenants.toml` compared with the base branch `main`"),
        "{summary}"
    );
    assert!(
        summary.contains("zeta"),
        "the diff names the new tenant:\n{summary}"
    );
    assert!(r.read("github_output").contains("diff="));
    if have("jq") {
        let log = r.read("gh.log");
        assert!(
            log.contains("gh api --method POST repos/example/platform/issues/7/comments"),
            "another workflow's comment is not ours: a new one is created\n{log}"
        );
        assert!(log.contains("<!-- tenantc-action: reachability of tenants/tenants.toml -->"));
        // The next push finds its own comment by the marker and updates it.
        let marker = "<!-- tenantc-action: reachability of tenants/tenants.toml -->";
        std::fs::write(
            r.file("comments.json"),
            serde_json::json!([
                { "id": 1, "body": "another workflow's comment" },
                { "id": 42, "body": format!("{marker}\nold") },
            ])
            .to_string(),
        )
        .unwrap();
        std::fs::remove_file(r.file("gh.log")).unwrap();
        let again = r.step(&steps["diff"], &[]);
        assert!(again.status.success(), "{}", text(&again));
        let log = r.read("gh.log");
        assert!(
            log.contains("gh api --method PATCH repos/example/platform/issues/comments/42"),
            "{log}"
        );
        assert!(!log.contains("POST"), "{log}");
    }
}

#[test]
fn a_stale_tree_fails_the_check_with_annotations() {
    let steps = action_steps();
    let r = runner();
    assert!(r.step(&steps["install"], &[]).status.success());
    let ns = r
        .repo()
        .join("output/shared/common-services/namespace.yaml");
    std::fs::write(
        &ns,
        std::fs::read_to_string(&ns)
            .unwrap()
            .replace("common-services", "x"),
    )
    .unwrap();
    let check = r.step(&steps["check"], &[]);
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    assert!(text(&check).contains("::error"), "{}", text(&check));
    assert!(r.read("summary.md").contains(":x: `output` is not what"));
    assert!(r.read("github_output").contains("check=failed"));
}

#[test]
fn a_checksum_that_does_not_match_installs_nothing() {
    let steps = action_steps();
    let r = runner();
    let release = r.file("releases/download/v0.1.0");
    for e in std::fs::read_dir(&release).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|e| e == "sha256") {
            std::fs::write(&p, format!("{}  x\n", "0".repeat(64))).unwrap();
        }
    }
    let install = r.step(&steps["install"], &[]);
    assert_eq!(install.status.code(), Some(1), "{}", text(&install));
    assert!(
        text(&install).contains("is not the release's"),
        "{}",
        text(&install)
    );
    assert!(
        r.read("github_path").is_empty(),
        "nothing was put on the PATH"
    );
}

#[test]
fn without_a_release_tenantc_is_built_from_the_actions_checkout() {
    let steps = action_steps();
    let r = runner();
    // cargo, stubbed: records its arguments and installs this build where it was asked to.
    let cargo = r.file("stubs/cargo");
    std::fs::write(
        &cargo,
        format!(
            "#!/usr/bin/env bash\necho \"cargo $*\" > \"$FAKE_CARGO_LOG\"\nroot=${{@: -1}}\nmkdir -p \"$root/bin\"\ncp '{}' \"$root/bin/tenantc\"\n",
            assert_cmd::cargo::cargo_bin("tenantc").display()
        ),
    )
    .unwrap();
    run(Command::new("chmod").arg("+x").arg(&cargo));
    let log = r.file("cargo.log").display().to_string();
    for (version, reason) in [
        ("main", "no release matches"),
        ("v9.9.9", "no release asset"),
    ] {
        let install = r.step(
            &steps["install"],
            &[("ACTION_REF", version), ("FAKE_CARGO_LOG", &log)],
        );
        assert!(install.status.success(), "{}", text(&install));
        assert!(text(&install).contains(reason), "{}", text(&install));
        let args = r.read("cargo.log");
        assert!(
            args.starts_with(&format!(
                "cargo install --locked --quiet --path {} --root ",
                root().display()
            )),
            "{args}"
        );
    }
}

/// The GitLab job's install script, with the release served from a local directory: it installs
/// the binary whose checksum matches, and refuses one whose checksum does not.
#[test]
fn the_gitlab_job_installs_the_release_binary() {
    let example = std::fs::read_to_string(root().join("examples/gitlab-ci.yml")).unwrap();
    let yaml: serde_json::Value = serde_yaml::from_str(&example).unwrap();
    let install = yaml["tenantc"]["script"][0].as_str().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let asset = "tenantc-x86_64-unknown-linux-musl";
    let release = dir.path().join("releases/download/v0.1.0");
    std::fs::create_dir_all(&release).unwrap();
    std::fs::copy(assert_cmd::cargo::cargo_bin("tenantc"), release.join(asset)).unwrap();
    let sum = sha256(&release.join(asset));
    let job = |sum: &str| {
        std::fs::write(
            release.join(format!("{asset}.sha256")),
            format!("{sum}  {asset}\n"),
        )
        .unwrap();
        let project = tempfile::tempdir().unwrap();
        let out = Command::new("bash")
            .args(["-e", "-c", &install])
            .current_dir(project.path())
            .env("TENANTC_REPO", format!("file://{}", dir.path().display()))
            .env("TENANTC_VERSION", "v0.1.0")
            .output()
            .unwrap();
        (
            out,
            project.path().join(".tenantc/bin/tenantc").exists(),
            project,
        )
    };
    let (out, installed, _p) = job(&sum);
    assert!(out.status.success() && installed, "{}", text(&out));
    let (out, installed, _p) = job(&"0".repeat(64));
    assert!(!out.status.success() && !installed, "{}", text(&out));
}

/// The GitLab job's checks, run as the runner runs a script (one shell, `-e`: the first failing
/// line ends the job) with tenantc installed where the install step puts it: the Code Quality
/// report it publishes, with `when: always`, names the file and line of each finding, and the job
/// fails on a violation.
#[test]
fn the_gitlab_job_publishes_a_code_quality_report_and_fails_on_violations() {
    let example = std::fs::read_to_string(root().join("examples/gitlab-ci.yml")).unwrap();
    let yaml: serde_json::Value = serde_yaml::from_str(&example).unwrap();
    let job = &yaml["tenantc"];
    let report = job["artifacts"]["reports"]["codequality"].as_str().unwrap();
    assert_eq!(
        job["artifacts"]["when"], "always",
        "a failed job's report too"
    );
    // The script after the install, up to the merge-request note (which is skipped without
    // CI_MERGE_REQUEST_IID, as on the default branch).
    let script: Vec<&str> = job["script"]
        .as_array()
        .unwrap()
        .iter()
        .skip(1)
        .map(|l| l.as_str().unwrap())
        .collect();
    let script = script.join("\n");
    let project = tempfile::tempdir().unwrap();
    let dir = project.path();
    std::fs::create_dir_all(dir.join("tenants")).unwrap();
    std::fs::create_dir_all(dir.join(".tenantc/bin")).unwrap();
    std::fs::copy(
        assert_cmd::cargo::cargo_bin("tenantc"),
        dir.join(".tenantc/bin/tenantc"),
    )
    .unwrap();
    std::fs::write(
        dir.join("tenants/tenants.toml"),
        std::fs::read_to_string(root().join("tenants/tenants.toml")).unwrap(),
    )
    .unwrap();
    let job = || {
        let out = Command::new("bash")
            .args(["-e", "-c", &script])
            .current_dir(dir)
            .env("CI_PROJECT_DIR", dir)
            .env_remove("CI_MERGE_REQUEST_IID")
            .output()
            .unwrap();
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(report)).unwrap())
                .unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
        (out, report)
    };
    // Nothing compiled yet: the stale check fails the job, and its report says which files.
    let (out, issues) = job();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(issues
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["check_name"] == "stale-output"));
    assert!(!issues.as_array().unwrap().is_empty());
    // Current and isolated: the job passes with an empty report.
    run(Command::new(dir.join(".tenantc/bin/tenantc"))
        .current_dir(dir)
        .arg("compile"));
    let (out, issues) = job();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(issues, serde_json::json!([]));
    // A template that selects every namespace where it should name the tenant's own: the tree
    // is what tenants.toml compiles to with it, so only verify catches it, on the policies.
    let template =
        std::fs::read_to_string(root().join("templates/networkpolicies.yaml.j2")).unwrap();
    let start = template
        .find("{% macro namespaces_named(names) %}")
        .unwrap();
    let end = start + template[start..].find("{%- endmacro %}").unwrap();
    let broken = format!(
        "{}{{% macro namespaces_named(names) %}}\nnamespaceSelector: {{}}\n{}",
        &template[..start],
        &template[end..]
    );
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(dir.join("templates/networkpolicies.yaml.j2"), broken).unwrap();
    run(Command::new(dir.join(".tenantc/bin/tenantc"))
        .current_dir(dir)
        .args(["compile", "--templates", "templates"]));
    let (out, issues) = job();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let issues = issues.as_array().unwrap();
    assert!(!issues.is_empty());
    for issue in issues {
        let path = issue["location"]["path"].as_str().unwrap();
        assert!(
            path.starts_with("output/") && path.ends_with("/networkpolicies.yaml"),
            "{issue:#}"
        );
        assert!(issue["location"]["lines"]["begin"].as_u64().unwrap() > 1);
        assert_ne!(issue["check_name"], "stale-output");
    }
    // The log still shows the violations (stderr), for who reads the job's output.
    assert!(String::from_utf8_lossy(&out.stderr).contains("violation:"));
}
