//! `tenantc import` through the binary, on hand-written clusters in several styles. Each test
//! checks the report and the exit code, then compiles the draft and checks with `tenantc diff`
//! (an evaluation of the two trees independent of the import's own proof) that the compiled
//! tree allows exactly what the imported policies allow, apart from the closings the proof
//! lists.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{tenantc, Project, EXAMPLE};
use serde_json::Value;

fn namespace(name: &str, labels: &[(&str, &str)]) -> String {
    let mut s = format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n");
    if !labels.is_empty() {
        s.push_str("  labels:\n");
        for (k, v) in labels {
            s.push_str(&format!("    {k}: {v}\n"));
        }
    }
    s
}

fn policy(ns: &str, name: &str, spec: &str) -> String {
    format!("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n{spec}")
}

/// A peer: these namespaces, by name.
fn names(list: &[&str]) -> String {
    format!(
        "    - namespaceSelector:\n        matchExpressions:\n        - key: kubernetes.io/metadata.name\n          operator: In\n          values: [{}]\n",
        list.join(", ")
    )
}

const DNS: &str = "  - to:\n    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: kube-system\n      podSelector:\n        matchLabels:\n          k8s-app: kube-dns\n    ports:\n    - {protocol: UDP, port: 53}\n    - {protocol: TCP, port: 53}\n";

fn port(p: &str) -> String {
    format!("    ports:\n    - {{protocol: TCP, port: {p}}}\n")
}

/// acme (acme, acme-jobs) and globex call `common` on TCP/8080, each namespace with one policy.
fn one_policy_per_namespace(common_port: &str) -> Vec<(String, String)> {
    let tenant = |ns: &str, own: &[&str]| {
        let spec = format!(
            "  podSelector: {{}}\n  policyTypes: [Ingress, Egress]\n  ingress:\n  - from:\n{}  egress:\n  - to:\n{}{DNS}  - to:\n{}{}",
            names(own),
            names(own),
            names(&["common"]),
            port("8080")
        );
        format!(
            "{}---\n{}",
            namespace(ns, &[("example.com/plan", "gold")]),
            policy(ns, "isolate", &spec)
        )
    };
    let common = format!(
        "{}---\n{}",
        namespace("common", &[]),
        policy(
            "common",
            "isolate",
            &format!(
                "  podSelector: {{}}\n  policyTypes: [Ingress, Egress]\n  ingress:\n  - from:\n{}  - from:\n{}{}  egress:\n  - to:\n{}{DNS}",
                names(&["common"]),
                names(&["acme", "acme-jobs", "globex"]),
                port(common_port),
                names(&["common"])
            )
        )
    );
    vec![
        ("acme.yaml".into(), tenant("acme", &["acme", "acme-jobs"])),
        (
            "acme-jobs.yaml".into(),
            tenant("acme-jobs", &["acme", "acme-jobs"]),
        ),
        ("globex.yaml".into(), tenant("globex", &["globex"])),
        ("common.yaml".into(), common),
    ]
}

fn write_files(dir: &Path, files: &[(String, String)]) {
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

struct Run {
    code: i32,
    json: Value,
}

fn import(dir: &Path, args: &[&str]) -> Run {
    let out = tenantc()
        .current_dir(dir)
        .arg("import")
        .args(args)
        .args(["--write", "draft.toml", "--force", "--format", "json"])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    Run {
        code: out.status.code().unwrap_or(-1),
        json,
    }
}

fn pairs(list: &Value) -> BTreeSet<(String, String)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["from"].as_str().unwrap().to_owned(),
                f["to"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn kinds(run: &Run, list: &str) -> Vec<String> {
    run.json["report"][list]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// Compiles `dir/draft.toml` and asks `tenantc diff` how the compiled tree differs from the
/// imported files at `imported`: nothing may be added, and what is removed or narrowed is what
/// the proof listed as closing.
fn check_compiled(dir: &Path, imported: &str, run: &Run) {
    tenantc()
        .current_dir(dir)
        .args(["compile", "--config", "draft.toml", "--output", "compiled"])
        .assert()
        .code(0);
    tenantc()
        .current_dir(dir)
        .args(["verify", "--config", "draft.toml", "--output", "compiled"])
        .assert()
        .code(0);
    let out = tenantc()
        .current_dir(dir)
        .args([
            "diff",
            "--base",
            imported,
            "--config",
            "draft.toml",
            "--output",
            "compiled",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let diff: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(diff["flows_added"], Value::Array(vec![]), "{diff:#}");
    let mut changed = pairs(&diff["flows_removed"]);
    for c in diff["ports_changed"].as_array().unwrap() {
        changed.insert((
            c["from"].as_str().unwrap().to_owned(),
            c["to"].as_str().unwrap().to_owned(),
        ));
    }
    let closes = pairs(&run.json["report"]["proof"]["closes"]);
    assert_eq!(
        changed, closes,
        "diff: {diff:#}\nproof: {:#}",
        run.json["report"]["proof"]
    );
}

fn draft(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("draft.toml")).unwrap()
}

#[test]
fn one_policy_per_namespace_is_imported_exactly() {
    let dir = tempfile::tempdir().unwrap();
    write_files(&dir.path().join("in"), &one_policy_per_namespace("8080"));
    let run = import(dir.path(), &["in"]);
    assert_eq!(run.code, 0, "{:#}", run.json);
    assert_eq!(run.json["report"]["status"], "exact", "{:#}", run.json);
    let d = draft(dir.path());
    assert!(d.contains("[tenants.acme]\n"), "{d}");
    assert!(d.contains("namespaces = [\"acme\", \"acme-jobs\"]"), "{d}");
    assert!(d.contains("[shared.common]\n"), "{d}");
    assert!(d.contains("consumers = \"*\"\nports = [8080]"), "{d}");
    assert!(
        d.contains("labels = { \"example.com/plan\" = \"gold\" }"),
        "{d}"
    );
    check_compiled(dir.path(), "in", &run);
}

#[test]
fn many_small_policies_in_loose_files_read_like_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (ns, own) in [
        ("acme", &["acme", "acme-jobs"][..]),
        ("acme-jobs", &["acme", "acme-jobs"][..]),
        ("globex", &["globex"][..]),
    ] {
        files.push((format!("{ns}/namespace.yml"), namespace(ns, &[])));
        let deny = policy(
            ns,
            "default-deny",
            "  podSelector: {}\n  policyTypes: [Ingress, Egress]\n",
        );
        let same = policy(
            ns,
            "same",
            &format!(
                "  podSelector: {{}}\n  ingress:\n  - from:\n{}  egress:\n  - to:\n{}",
                names(own),
                names(own)
            ),
        );
        let dns = policy(
            ns,
            "dns",
            &format!("  podSelector: {{}}\n  policyTypes: [Egress]\n  egress:\n{DNS}"),
        );
        let common = policy(
            ns,
            "to-common",
            &format!(
                "  podSelector: {{}}\n  policyTypes: [Egress]\n  egress:\n  - to:\n{}{}",
                names(&["common"]),
                port("8080")
            ),
        );
        files.push((
            format!("{ns}/deep/policies.yaml"),
            [deny, same, dns].join("---\n"),
        ));
        files.push((format!("{ns}/to-common.yaml"), common));
    }
    // The shared namespace as JSON, and a Deployment nobody models.
    let common = one_policy_per_namespace("8080").pop().unwrap().1;
    let docs: Vec<Value> = common
        .split("---\n")
        .map(|d| serde_json::to_value(serde_yaml_doc(d)).unwrap())
        .collect();
    files.push((
        "common/objects.json".into(),
        serde_json::to_string(
            &serde_json::json!({"apiVersion": "v1", "kind": "List", "items": docs}),
        )
        .unwrap(),
    ));
    files.push((
        "common/app.yaml".into(),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: common}\nspec: {replicas: 2}\n".into(),
    ));
    write_files(&dir.path().join("in"), &files);
    let run = import(dir.path(), &["in"]);
    assert_eq!(run.code, 0, "{:#}", run.json);
    assert_eq!(
        run.json["report"]["status"], "exact",
        "{:#}",
        run.json["report"]
    );
    let not_modelled = &run.json["report"]["not_modelled"][0];
    assert!(
        not_modelled["object"]
            .as_str()
            .unwrap()
            .ends_with("app.yaml: Deployment `api` (apps/v1)"),
        "{not_modelled}"
    );
    let d = draft(dir.path());
    assert!(d.contains("[shared.common]\n"), "{d}");
    // diff reads trees, not dumps: the shared namespace as a YAML file there.
    files.retain(|(name, _)| !name.ends_with(".json"));
    files.push(("common/common.yaml".into(), common));
    write_files(&dir.path().join("plain"), &files);
    check_compiled(dir.path(), "plain", &run);
}

/// A YAML document as a JSON value (the test writes one file as JSON).
fn serde_yaml_doc(text: &str) -> Value {
    serde_yaml::from_str(text).expect("fixture YAML")
}

#[test]
fn label_selectors_group_by_tenant_label_and_are_reported_as_spoofable() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (ns, team) in [("web", "acme"), ("jobs", "acme"), ("shop", "globex")] {
        let spec = format!(
            "  podSelector: {{}}\n  policyTypes: [Ingress, Egress]\n  ingress:\n  - from:\n    - namespaceSelector:\n        matchLabels:\n          team: {team}\n  egress:\n  - to:\n    - namespaceSelector:\n        matchLabels:\n          team: {team}\n{DNS}"
        );
        files.push((
            format!("{ns}.yaml"),
            format!(
                "{}---\n{}",
                namespace(ns, &[("team", team)]),
                policy(ns, "team", &spec)
            ),
        ));
    }
    write_files(&dir.path().join("in"), &files);
    let run = import(dir.path(), &["in", "--tenant-label", "team"]);
    assert_eq!(run.code, 0, "{:#}", run.json);
    assert_eq!(run.json["report"]["status"], "exact", "{:#}", run.json);
    let spoof = run.json["report"]["spoofable_labels"].as_array().unwrap();
    assert_eq!(spoof.len(), 2, "{spoof:#?}");
    assert!(spoof[0]["message"]
        .as_str()
        .unwrap()
        .contains("label `team`"));
    let d = draft(dir.path());
    assert!(
        d.contains("[tenants.acme]\n# Tenant: label team=acme.\nnamespaces = [\"jobs\", \"web\"]"),
        "{d}"
    );
    assert!(d.contains("[tenants.globex]\n"), "{d}");
    check_compiled(dir.path(), "in", &run);
}

#[test]
fn a_kubectl_list_dump_infers_what_the_files_do() {
    let dir = tempfile::tempdir().unwrap();
    let files = one_policy_per_namespace("8080");
    let mut dump =
        String::from("apiVersion: v1\nkind: List\nmetadata:\n  resourceVersion: \"\"\nitems:\n");
    for (_, text) in &files {
        for doc in text.split("---\n") {
            for (i, line) in doc.lines().enumerate() {
                dump.push_str(if i == 0 { "- " } else { "  " });
                dump.push_str(line);
                dump.push('\n');
            }
        }
    }
    std::fs::create_dir_all(dir.path().join("in")).unwrap();
    std::fs::write(dir.path().join("in/cluster.yaml"), &dump).unwrap();
    let from_dump = import(dir.path(), &["in/cluster.yaml"]);
    assert_eq!(from_dump.code, 0, "{:#}", from_dump.json);
    assert_eq!(from_dump.json["report"]["documents"], 8);
    let dump_draft = draft(dir.path());
    // diff reads trees, not dumps: the same objects as files.
    write_files(&dir.path().join("files"), &files);
    check_compiled(dir.path(), "files", &from_dump);
    let other = tempfile::tempdir().unwrap();
    write_files(&other.path().join("in"), &files);
    let from_files = import(other.path(), &["in"]);
    assert_eq!(
        from_dump.json["report"]["inferred"],
        from_files.json["report"]["inferred"]
    );
    // Same draft but for the first comment, which names what was imported.
    let body = |d: &str| d.split_once("version = 1").unwrap().1.to_owned();
    assert_eq!(body(&dump_draft), body(&draft(other.path())));
}

/// [`one_policy_per_namespace`], and acme (not acme-jobs) may call globex's web pods on 443.
fn pod_level_flow() -> Vec<(String, String)> {
    let mut files = one_policy_per_namespace("8080");
    files.push((
        "pod-level.yaml".into(),
        [
            policy("acme", "to-globex-web", "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - to:\n    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: globex\n      podSelector:\n        matchLabels: {app: web}\n    ports:\n    - {protocol: TCP, port: 443}\n"),
            policy("globex", "web-from-acme", "  podSelector:\n    matchLabels: {app: web}\n  ingress:\n  - from:\n    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: acme\n    ports:\n    - {protocol: TCP, port: 443}\n"),
        ]
        .join("---\n"),
    ));
    files
}

#[test]
fn a_pod_level_flow_of_some_namespaces_closes_and_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    write_files(&dir.path().join("in"), &pod_level_flow());
    let run = import(dir.path(), &["in"]);
    assert_eq!(run.code, 0, "closing only: {:#}", run.json);
    assert_eq!(run.json["report"]["status"], "closes");
    let closes = &run.json["report"]["proof"]["closes"];
    assert_eq!(
        pairs(closes),
        BTreeSet::from([("acme".into(), "globex".into())]),
        "{closes:#}"
    );
    assert_eq!(closes[0]["ports"], serde_json::json!(["TCP/443"]));
    let kinds = kinds(&run, "cannot_express");
    assert!(
        kinds.iter().filter(|k| *k == "pod-level").count() >= 2,
        "{kinds:?}"
    );
    assert!(kinds.contains(&"partial-consumer".to_owned()), "{kinds:?}");
    check_compiled(dir.path(), "in", &run);
}

#[test]
fn a_named_port_is_reported_with_its_file() {
    let dir = tempfile::tempdir().unwrap();
    write_files(&dir.path().join("in"), &one_policy_per_namespace("http"));
    let run = import(dir.path(), &["in"]);
    assert_eq!(run.code, 0, "{:#}", run.json);
    let notes = run.json["report"]["cannot_express"].as_array().unwrap();
    let named = notes
        .iter()
        .find(|n| n["kind"] == "named-port")
        .expect("a named-port note");
    assert!(
        named["object"]
            .as_str()
            .unwrap()
            .ends_with("common.yaml: NetworkPolicy isolate"),
        "{named}"
    );
    assert!(
        named["message"].as_str().unwrap().contains("TCP/http"),
        "{named}"
    );
    check_compiled(dir.path(), "in", &run);
}

#[test]
fn a_namespace_without_dns_makes_the_draft_open_a_flow_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let spec = "  podSelector: {}\n  policyTypes: [Ingress, Egress]\n  ingress:\n  - from:\n    - podSelector: {}\n  egress:\n  - to:\n    - podSelector: {}\n";
    write_files(
        &dir.path().join("in"),
        &[(
            "a.yaml".into(),
            format!(
                "{}---\n{}",
                namespace("quiet", &[]),
                policy("quiet", "alone", spec)
            ),
        )],
    );
    let run = import(dir.path(), &["in"]);
    assert_eq!(run.code, 1, "{:#}", run.json);
    assert_eq!(run.json["report"]["status"], "opens");
    let opens = &run.json["report"]["proof"]["opens"];
    assert_eq!(
        pairs(opens),
        BTreeSet::from([("quiet".into(), "kube-system".into())]),
        "{opens:#}"
    );
    assert_eq!(opens[0]["to_owner"], "platform kube-system");
    // The text report says it in tenant terms.
    let out = tenantc()
        .current_dir(dir.path())
        .args(["import", "in"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8(out.stderr).unwrap();
    assert!(
        report.contains("+ quiet (tenant quiet) -> kube-system (platform) on TCP/53, UDP/53"),
        "{report}"
    );
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .starts_with("# tenants.toml drafted by `tenantc import` from in."));
}

/// The seed's setup: the example compiled, without what tenantc adds to say it owns the objects.
#[test]
fn the_compiled_example_imports_back_with_nothing_opened() {
    let p = Project::new(EXAMPLE);
    p.compile().success();
    let out = p.output();
    std::fs::remove_dir_all(out.join("gitops")).unwrap();
    for e in walk(&out) {
        let text = std::fs::read_to_string(&e).unwrap();
        let kept: Vec<&str> = text
            .lines()
            .filter(|l| {
                ![
                    "tenantc.dev/",
                    "app.kubernetes.io/managed-by",
                    "argocd.argoproj.io/sync-options",
                    "kustomize.toolkit.fluxcd.io/prune",
                    "# Generated by tenantc",
                ]
                .iter()
                .any(|w| l.contains(w))
            })
            .collect();
        std::fs::write(&e, kept.join("\n") + "\n").unwrap();
    }
    let run = import(p.path(), &["output"]);
    assert_eq!(run.code, 0, "{:#}", run.json);
    assert_eq!(
        run.json["report"]["status"], "exact",
        "{:#}",
        run.json["report"]["proof"]
    );
    // The example's RoleBindings, quotas and LimitRanges are not inferred: each is listed, none
    // vanishes silently (the reader of a dump in parts once dropped them).
    let access = kinds(&run, "not_modelled")
        .iter()
        .filter(|k| *k == "access-not-imported")
        .count();
    let on_disk = walk(&out)
        .iter()
        .filter(|f| {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            name == "namespace.yaml"
                && std::fs::read_to_string(f)
                    .unwrap()
                    .contains("kind: RoleBinding\n")
        })
        .count();
    assert!(
        access >= on_disk && on_disk > 0,
        "{access} notes for {on_disk} files"
    );
    let d = draft(p.path());
    for entry in [
        "[tenants.acme]\n",
        "namespaces = [\"acme\", \"acme-api\", \"acme-jobs\"]",
        "ingress = [\"acme\"]\nkube_api = true",
        "[tenants.acme.expose.acme-api]\n# Exposed: reached by globex.\nconsumers = [\"globex\"]\nports = [8443]",
        "[shared.payments]\n# Shared: reached by 2 other owners (acme, initech) and talks freely with none.\nconsumers = [\"acme\", \"initech\"]\nports = [8443]",
        "[shared.common-services]\n# Shared: reached by 4 other owners (acme, globex, initech, umbrella) and talks freely with none.\nconsumers = \"*\"",
        "hosts = [\"api.stripe.com\"]\ncidrs = [\"0.0.0.0/0\"]\nports = [443]\nprotocol = \"TLS\"\nconsumers = [\"acme\", \"payments\"]",
        "outbound_traffic_policy = \"REGISTRY_ONLY\"\nmtls = \"STRICT\"\nauthorization = true",
        "kube_api = { cidrs = [\"172.18.0.2/32\"], ports = [6443] }",
    ] {
        assert!(d.contains(entry), "missing {entry:?} in\n{d}");
    }
    check_compiled(p.path(), "output", &run);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn write_never_overwrites_without_force() {
    let dir = tempfile::tempdir().unwrap();
    write_files(&dir.path().join("in"), &one_policy_per_namespace("8080"));
    std::fs::write(dir.path().join("mine.toml"), "keep me").unwrap();
    tenantc()
        .current_dir(dir.path())
        .args(["import", "in", "--write", "mine.toml"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "`mine.toml` exists; pass --force to overwrite it",
        ));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("mine.toml")).unwrap(),
        "keep me"
    );
    let out = tenantc()
        .current_dir(dir.path())
        .args(["import", "in", "--write", "mine.toml", "--force"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .contains("result: the draft allows exactly"));
    assert!(draft_at(&dir.path().join("mine.toml")).starts_with("# tenants.toml drafted"));
}

fn draft_at(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

#[test]
fn unreadable_input_exits_2_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yaml"),
        "kind: NetworkPolicy\nspec: [1,\n",
    )
    .unwrap();
    tenantc()
        .current_dir(dir.path())
        .args(["import", "bad.yaml"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("bad.yaml:3:"));
    tenantc()
        .current_dir(dir.path())
        .args(["import", "missing.yaml"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("cannot read `missing.yaml`"));
}

#[test]
fn cluster_ranges_are_asked_for_when_no_except_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let spec = format!(
        "  podSelector: {{}}\n  policyTypes: [Ingress, Egress]\n  ingress:\n  - from:\n    - podSelector: {{}}\n  egress:\n  - to:\n    - podSelector: {{}}\n{DNS}  - to:\n    - ipBlock: {{cidr: 203.0.113.0/24}}\n{}",
        port("5432")
    );
    write_files(
        &dir.path().join("in"),
        &[(
            "a.yaml".into(),
            format!(
                "{}---\n{}",
                namespace("db-user", &[]),
                policy("db-user", "p", &spec)
            ),
        )],
    );
    let run = import(dir.path(), &["in"]);
    assert_eq!(run.code, 0, "{:#}", run.json);
    assert_eq!(
        pairs(&run.json["report"]["proof"]["closes"]),
        BTreeSet::from([("db-user".into(), "IP 203.0.113.0/24".into())])
    );
    assert!(draft(dir.path()).contains("# [external.net-203-0-113-0-24]"));
    assert!(kinds(&run, "cannot_express").contains(&"cluster-ranges".to_owned()));
    let run = import(
        dir.path(),
        &[
            "in",
            "--pod-cidrs",
            "10.244.0.0/16",
            "--service-cidrs",
            "10.96.0.0/12",
        ],
    );
    assert_eq!(run.json["report"]["status"], "exact", "{:#}", run.json);
    let d = draft(dir.path());
    assert!(
        d.contains("pod_cidrs = [\"10.244.0.0/16\"]\nservice_cidrs = [\"10.96.0.0/12\"]"),
        "{d}"
    );
    assert!(d.contains("[external.net-203-0-113-0-24]\n"), "{d}");
}

/// README.md's example of the proof is what import prints for the pod-level flow above (acme's
/// pods may call globex's web pods on 443, which tenants.toml cannot say, so the flow closes).
#[test]
fn the_proof_the_readme_shows_is_what_import_prints() {
    let dir = tempfile::tempdir().unwrap();
    write_files(&dir.path().join("in"), &pod_level_flow());
    let out = tenantc()
        .current_dir(dir.path())
        .args(["import", "in", "--write", "draft.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report = String::from_utf8(out.stdout).unwrap();
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    // The block is indented in a list item.
    let start = readme.find("   proof: ").expect("README.md shows a proof");
    let block: String = readme[start..]
        .lines()
        .take_while(|l| !l.trim_start().starts_with("```"))
        .map(|l| format!("{}\n", l.strip_prefix("   ").unwrap_or(l)))
        .collect();
    assert!(
        report.contains(&block),
        "README.md's proof is not what import prints:\n{report}"
    );
}
