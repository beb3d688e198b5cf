//! `--message-format sarif`: every log is valid SARIF 2.1.0 (the OASIS schema, vendored in
//! tests/data/sarif) and puts each error, stale file and verify finding on the file and line
//! that cause it, as GitHub code scanning shows them. `--message-format codeclimate` (GitLab Code
//! Quality) is written from the same results: each test of it compares it with the SARIF log.

mod common;

use std::path::Path;

use common::{Project, EXAMPLE};
use serde_json::Value;

const GLOBEX_WEB_NP: &str = "tenants/globex/globex-web/networkpolicies.yaml";
const SAME_TENANT_IN: &str = "  ingress:
  - from:
    - namespaceSelector:
        matchExpressions:
        - key: kubernetes.io/metadata.name
          operator: In
          values:
          - globex-api
          - globex-batch
          - globex-web
";

/// Runs `tenantc --message-format sarif <sub> --config tenants.toml --output output <extra>`,
/// checks the exit code, that stdout is one SARIF log valid against the schema, and returns it.
fn sarif(p: &Project, sub: &str, extra: &[&str], code: i32) -> Value {
    let out = common::tenantc()
        .current_dir(p.path())
        .args(["--message-format", "sarif", sub])
        .args(["--config", "tenants.toml", "--output", "output"])
        .args(extra)
        .assert()
        .code(code)
        .get_output()
        .clone();
    let log: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    assert_valid(&log);
    log
}

fn assert_valid(log: &Value) {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the SARIF schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(log)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{log:#}");
    assert_eq!(log["version"], "2.1.0");
}

/// The results of the log's only run.
fn results(log: &Value) -> &Vec<Value> {
    assert_eq!(log["runs"].as_array().map(Vec::len), Some(1), "{log:#}");
    log["runs"][0]["results"].as_array().expect("results")
}

/// `(rule, uri, start line)` of a result.
fn place(result: &Value) -> (&str, &str, u64) {
    let location = &result["locations"][0]["physicalLocation"];
    (
        result["ruleId"].as_str().unwrap(),
        location["artifactLocation"]["uri"].as_str().unwrap(),
        location["region"]["startLine"].as_u64().unwrap(),
    )
}

/// The schema itself rejects what it should: the test would notice a log it does not check.
#[test]
fn the_vendored_schema_rejects_a_result_without_a_message() {
    let log = serde_json::json!({
        "version": "2.1.0",
        "runs": [{ "tool": { "driver": { "name": "tenantc" } }, "results": [{ "ruleId": "x" }] }]
    });
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(!jsonschema::validator_for(&schema).unwrap().is_valid(&log));
}

#[test]
fn config_errors_are_on_their_line_and_column() {
    let p = Project::new("version = 1\n[tenants.acme]\nnamespace = []\n\n[tenants.Globex]\nnamespaces = [\"globex\"]\n");
    let log = sarif(&p, "compile", &[], 2);
    let results = results(&log);
    assert_eq!(results.len(), 2, "{log:#}");
    assert_eq!(place(&results[0]), ("config", "tenants.toml", 3));
    let region = &results[0]["locations"][0]["physicalLocation"]["region"];
    assert_eq!(
        (region["startColumn"].as_u64(), region["endColumn"].as_u64()),
        (Some(1), Some(10))
    );
    assert!(results[0]["message"]["text"]
        .as_str()
        .unwrap()
        .contains("unknown key `namespace` in [tenants.acme] (help: did you mean `namespaces`?)"));
    assert_eq!(place(&results[1]).2, 5, "{log:#}");
    assert_eq!(results[0]["level"], "error");
    assert!(!p.output().exists(), "nothing is written");
}

#[test]
fn a_current_tree_is_an_empty_log() {
    let p = Project::new(EXAMPLE);
    let log = sarif(&p, "compile", &[], 0);
    assert!(results(&log).is_empty());
    let log = sarif(&p, "compile", &["--check"], 0);
    assert!(results(&log).is_empty());
    let log = sarif(&p, "verify", &[], 0);
    assert!(results(&log).is_empty());
}

#[test]
fn stale_files_are_on_their_first_changed_line() {
    let p = Project::new(EXAMPLE);
    p.compile().success();
    let sidecar = "tenants/acme/acme/sidecar.yaml";
    let text = p.read_out(sidecar);
    let line = text
        .lines()
        .position(|l| l == "    - \"payments/*\"")
        .unwrap()
        + 1;
    p.edit(
        sidecar,
        "    - \"payments/*\"\n",
        "    - \"payments/*\"\n    - \"globex/*\"\n",
    );
    std::fs::remove_file(p.output().join("tenants/acme/acme/namespace.yaml")).unwrap();
    std::fs::write(p.output().join("tenants/acme/acme/old.yaml"), "# Generated by tenantc from tenants.toml. DO NOT EDIT: change tenants.toml and run `tenantc compile`.\n").unwrap();
    let log = sarif(&p, "compile", &["--check"], 1);
    let mut places: Vec<_> = results(&log).iter().map(place).collect();
    places.sort();
    assert_eq!(
        places,
        [
            ("stale-output", "output/tenants/acme/acme/old.yaml", 1),
            (
                "stale-output",
                "output/tenants/acme/acme/sidecar.yaml",
                line as u64 + 1
            ),
            // A missing file is not in the repository: the result is on tenants.toml.
            ("stale-output", "tenants.toml", 1),
        ],
        "{log:#}"
    );
    // The log alone is on stdout; nothing was written.
    assert!(p.read_out(sidecar).contains("globex/*"));
}

#[test]
fn verify_findings_are_on_the_document_of_the_object_responsible() {
    let p = Project::new(EXAMPLE);
    p.compile().success();
    p.edit(
        GLOBEX_WEB_NP,
        SAME_TENANT_IN,
        "  ingress:\n  - from:\n    - namespaceSelector: {}\n",
    );
    let text = p.read_out(GLOBEX_WEB_NP);
    let name = text
        .lines()
        .position(|l| l == "  name: allow-same-tenant")
        .unwrap();
    let document = text.lines().take(name).collect::<Vec<_>>();
    let start = document
        .iter()
        .rposition(|l| l.starts_with("apiVersion:"))
        .unwrap()
        + 1;
    assert!(start > 1, "the policy is not the file's first document");
    let log = sarif(&p, "verify", &[], 1);
    let results = results(&log);
    let over = results
        .iter()
        .find(|r| {
            r["message"]["text"]
                .as_str()
                .unwrap()
                .starts_with("every namespace -> globex-web")
        })
        .unwrap_or_else(|| panic!("{log:#}"));
    assert_eq!(
        place(over),
        (
            over["ruleId"].as_str().unwrap(),
            "output/tenants/globex/globex-web/networkpolicies.yaml",
            start as u64
        )
    );
    assert_eq!(over["level"], "error");
    // Each rule of a result is described in the driver, at the index the result names.
    let rules = &log["runs"][0]["tool"]["driver"]["rules"];
    let index = over["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(rules[index]["id"], over["ruleId"]);
}

#[test]
fn an_unreadable_tree_file_is_on_its_line() {
    let p = Project::new(EXAMPLE);
    p.compile().success();
    std::fs::write(
        p.output().join(GLOBEX_WEB_NP),
        "apiVersion: v1\nkind: NetworkPolicy\nmetadata: [\n",
    )
    .unwrap();
    let log = sarif(&p, "verify", &[], 2);
    let (rule, uri, _) = place(&results(&log)[0]);
    assert_eq!(
        (rule, uri),
        (
            "tree",
            "output/tenants/globex/globex-web/networkpolicies.yaml"
        )
    );
}

#[test]
fn sarif_and_json_both_want_stdout() {
    let p = Project::new(EXAMPLE);
    common::tenantc()
        .current_dir(p.path())
        .args(["--message-format", "sarif", "compile", "--format", "json"])
        .args(["--config", "tenants.toml", "--output", "output"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "cannot be combined with --format json",
        ));
}

/// Runs `tenantc --message-format codeclimate <sub> ...` like [`sarif`], checks that stdout is a
/// Code Quality report with the fields GitLab reads and nothing else, and returns it.
fn codeclimate(p: &Project, sub: &str, extra: &[&str], code: i32) -> Value {
    let out = common::tenantc()
        .current_dir(p.path())
        .args(["--message-format", "codeclimate", sub])
        .args(["--config", "tenants.toml", "--output", "output"])
        .args(extra)
        .assert()
        .code(code)
        .get_output()
        .clone();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let issues = report.as_array().unwrap_or_else(|| panic!("{report:#}"));
    for issue in issues {
        let keys: Vec<&str> = issue
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "check_name",
                "description",
                "fingerprint",
                "location",
                "severity"
            ],
            "{issue:#}"
        );
        assert!(!issue["description"].as_str().unwrap().is_empty());
        assert!(issue["check_name"].is_string());
        let fingerprint = issue["fingerprint"].as_str().unwrap();
        assert!(
            fingerprint.len() == 32 && fingerprint.bytes().all(|b| b.is_ascii_hexdigit()),
            "{fingerprint}"
        );
        assert!(
            ["info", "minor", "major", "critical", "blocker"]
                .contains(&issue["severity"].as_str().unwrap()),
            "{issue:#}"
        );
        let path = issue["location"]["path"].as_str().unwrap();
        assert!(!path.starts_with('/') && !path.starts_with("./"), "{path}");
        assert!(issue["location"]["lines"]["begin"].as_u64().unwrap() >= 1);
    }
    report
}

/// `(check, path, line, message)` of every issue, sorted.
fn issue_places(report: &Value) -> Vec<(String, String, u64, String)> {
    let mut places: Vec<_> = report
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["check_name"].as_str().unwrap().to_owned(),
                i["location"]["path"].as_str().unwrap().to_owned(),
                i["location"]["lines"]["begin"].as_u64().unwrap(),
                i["description"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    places.sort();
    places
}

/// The same of every SARIF result (one without a location is on the tenants file, as a Code
/// Quality issue must name a file).
fn result_places(log: &Value) -> Vec<(String, String, u64, String)> {
    let mut places: Vec<_> = results(log)
        .iter()
        .map(|r| {
            let (rule, uri, line) = if r.get("locations").is_some() {
                place(r)
            } else {
                (r["ruleId"].as_str().unwrap(), "tenants.toml", 1)
            };
            let message = r["message"]["text"].as_str().unwrap().to_owned();
            (rule.to_owned(), uri.to_owned(), line, message)
        })
        .collect();
    places.sort();
    places
}

/// A broken tree: globex-web open to every namespace, acme's Sidecar widened, a file removed.
fn broken(p: &Project) {
    p.compile().success();
    p.edit(
        GLOBEX_WEB_NP,
        SAME_TENANT_IN,
        "  ingress:\n  - from:\n    - namespaceSelector: {}\n",
    );
    p.edit(
        "tenants/acme/acme/sidecar.yaml",
        "    - \"payments/*\"\n",
        "    - \"payments/*\"\n    - \"globex/*\"\n",
    );
    std::fs::remove_file(p.output().join("tenants/acme/acme/namespace.yaml")).unwrap();
}

#[test]
fn codeclimate_issues_are_where_the_sarif_results_are() {
    let p = Project::new(EXAMPLE);
    broken(&p);
    for (sub, extra) in [("verify", &[][..]), ("compile", &["--check"][..])] {
        let log = sarif(&p, sub, extra, 1);
        let report = codeclimate(&p, sub, extra, 1);
        assert!(!report.as_array().unwrap().is_empty(), "{sub}");
        assert_eq!(issue_places(&report), result_places(&log), "{sub}");
        // Errors fail the job: none is mere information.
        assert!(report
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["severity"] == "critical"));
    }
    // An invalid config is reported the same way, with exit 2.
    let config = std::fs::read_to_string(p.config()).unwrap();
    p.set_config(&config.replacen("[tenants.acme]", "[tenants.acme]\nnamespace = []", 1));
    let log = sarif(&p, "compile", &["--check"], 2);
    let report = codeclimate(&p, "compile", &["--check"], 2);
    assert_eq!(issue_places(&report), result_places(&log));
    assert_eq!(report[0]["check_name"], "config");
}

#[test]
fn codeclimate_fingerprints_are_stable_and_ignore_lines() {
    let p = Project::new(EXAMPLE);
    broken(&p);
    let fingerprints = |report: &Value| -> Vec<(String, String)> {
        let mut f: Vec<_> = report
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["description"].as_str().unwrap().to_owned(),
                    i["fingerprint"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        f.sort();
        f
    };
    let first = codeclimate(&p, "verify", &[], 1);
    let again = codeclimate(&p, "verify", &[], 1);
    assert_eq!(first, again, "two runs, one report");
    // Distinct findings, distinct fingerprints (GitLab would merge equal ones).
    let mut seen: Vec<_> = fingerprints(&first).into_iter().map(|(_, f)| f).collect();
    let n = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), n);
    // Lines inserted above a finding move it, but it is the same finding.
    let text = p.read_out(GLOBEX_WEB_NP);
    std::fs::write(
        p.output().join(GLOBEX_WEB_NP),
        format!("# a comment\n# another\n{text}"),
    )
    .unwrap();
    let moved = codeclimate(&p, "verify", &[], 1);
    assert_eq!(fingerprints(&moved), fingerprints(&first));
    assert_ne!(
        issue_places(&moved),
        issue_places(&first),
        "the lines did move"
    );
}

#[test]
fn a_current_tree_is_an_empty_codeclimate_report() {
    let p = Project::new(EXAMPLE);
    assert_eq!(codeclimate(&p, "compile", &[], 0), serde_json::json!([]));
    assert_eq!(
        codeclimate(&p, "compile", &["--check"], 0),
        serde_json::json!([])
    );
    assert_eq!(codeclimate(&p, "verify", &[], 0), serde_json::json!([]));
    common::tenantc()
        .current_dir(p.path())
        .args([
            "--message-format",
            "codeclimate",
            "verify",
            "--format",
            "json",
        ])
        .args(["--config", "tenants.toml", "--output", "output"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicates::str::contains(
            "Code Quality report on stdout; it cannot be combined with --format json",
        ));
}
