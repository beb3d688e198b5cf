//! `explain`, `diff` and `graph` on the compiled example: snapshots of what a reviewer reads.

mod common;

use common::{Project, EXAMPLE};
use predicates::prelude::*;

fn compiled() -> Project {
    let p = Project::new(EXAMPLE);
    p.compile().success();
    p
}

fn stdout(a: assert_cmd::assert::Assert) -> String {
    String::from_utf8(a.get_output().stdout.clone()).expect("utf-8")
}

/// The example before a change: payments served acme only, globex had no ingress, and a tenant
/// hooli existed.
fn base_config() -> String {
    let base = EXAMPLE
        .replace(
            "consumers = [\"acme\", \"initech\"]",
            "consumers = [\"acme\"]",
        )
        .replacen(
            "annotations = { \"example.com/owner\" = \"platform-globex@example.com\", \"example.com/runbook\" = \"https://wiki.example.com/globex\" }\ningress = true",
            "annotations = { \"example.com/owner\" = \"platform-globex@example.com\", \"example.com/runbook\" = \"https://wiki.example.com/globex\" }",
            1,
        );
    assert_ne!(base, EXAMPLE);
    format!("{base}\n[tenants.hooli]\n")
}

#[test]
fn explain_an_allowed_flow() {
    let p = compiled();
    insta::assert_snapshot!(stdout(p.run("explain", &["acme", "payments"]).code(0)));
}

#[test]
fn explain_a_denied_flow_on_one_port() {
    let p = compiled();
    insta::assert_snapshot!(stdout(
        p.run("explain", &["globex-web", "acme", "--port", "8080/TCP"])
            .code(0)
    ));
}

#[test]
fn explain_platform_flows() {
    let p = compiled();
    let text = stdout(p.run("explain", &["ingress-nginx", "globex-web"]).code(0))
        + &stdout(
            p.run("explain", &["umbrella", "kube-system", "--port", "53/UDP"])
                .code(0),
        );
    insta::assert_snapshot!(text);
}

#[test]
fn explain_json_and_a_broken_tree() {
    let p = compiled();
    p.set_config(EXAMPLE);
    let rel = "tenants/acme/acme/sidecar.yaml";
    let path = p.output().join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("    - \"payments/*\"\n", "")).unwrap();
    let out = stdout(
        p.run("explain", &["acme", "payments", "--format", "json"])
            .code(0),
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["sidecar"]["imports"], false);
    assert_eq!(v[0]["matches_intent"], true, "the policies still match");
    insta::assert_snapshot!(out);
}

#[test]
fn explain_one_port_in_json() {
    let p = compiled();
    let out = stdout(
        p.run(
            "explain",
            &[
                "umbrella",
                "kube-system",
                "--port",
                "53/UDP",
                "--format",
                "json",
            ],
        )
        .code(0),
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["port"]["port"], "UDP/53");
    assert_eq!(v[0]["port"]["allowed"], true);
    let out = stdout(
        p.run(
            "explain",
            &[
                "umbrella",
                "kube-system",
                "--port",
                "54/UDP",
                "--format",
                "json",
            ],
        )
        .code(0),
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["port"]["allowed"], false);
    assert_eq!(v[0]["matches_intent"], true);
}

#[test]
fn explain_unknown_names_suggest_the_closest() {
    compiled()
        .run("explain", &["acme", "globx"])
        .code(2)
        .stderr(predicate::str::contains(
            "error: no tenant or namespace `globx`; did you mean `globex`?",
        ));
    compiled()
        .run("explain", &["acme", "globex", "--port", "80/HTTP"])
        .code(2)
        .stderr(predicate::str::contains("unknown protocol `HTTP`"));
}

#[test]
fn diff_against_an_older_tenants_toml_in_every_format() {
    let p = compiled();
    std::fs::write(p.path().join("base.toml"), base_config()).unwrap();
    // The base's tenant hooli is gone unacknowledged: the diff says so and fails.
    let text = stdout(p.run("diff", &["--base", "base.toml"]).code(1));
    assert_the_reviewers_lines(&text);
    insta::assert_snapshot!("diff_text", text);
    insta::assert_snapshot!(
        "diff_markdown",
        stdout(
            p.run("diff", &["--base", "base.toml", "--format", "markdown"])
                .code(1)
        )
    );
    insta::assert_snapshot!(
        "diff_json",
        stdout(
            p.run("diff", &["--base", "base.toml", "--format", "json"])
                .code(1)
        )
    );
}

#[test]
fn diff_against_an_older_output_tree() {
    let p = compiled();
    let base = p.path().join("base-output");
    // The older tree: what compile made of the older tenants.toml.
    std::fs::write(p.path().join("base.toml"), base_config()).unwrap();
    common::tenantc()
        .current_dir(p.path())
        .args([
            "compile",
            "--config",
            "base.toml",
            "--output",
            "base-output",
        ])
        .assert()
        .success();
    assert!(base.is_dir());
    let text = stdout(p.run("diff", &["--base", "base-output"]).code(1));
    assert_the_reviewers_lines(&text);
    assert!(
        text.contains("+ the Sidecar of initech imports `payments/*`\n"),
        "{text}"
    );
    insta::assert_snapshot!("diff_tree_text", text);
}

#[test]
fn diff_of_identical_inputs_is_empty() {
    let p = compiled();
    std::fs::write(p.path().join("base.toml"), EXAMPLE).unwrap();
    p.run("diff", &["--base", "base.toml"])
        .code(0)
        .stdout(predicate::str::starts_with(
            "no change in reachability, Sidecar scope or namespaces\n",
        ));
}

#[test]
fn graph_in_every_format() {
    let p = compiled();
    insta::assert_snapshot!("graph_mermaid", stdout(p.run("graph", &[]).code(0)));
    insta::assert_snapshot!(
        "graph_dot",
        stdout(p.run("graph", &["--format", "dot"]).code(0))
    );
    let json = stdout(p.run("graph", &["--format", "json"]).code(0));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(v["edges"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| !(e["from"] == "globex" && e["to"] == "umbrella")));
    // acme exposes acme-api to globex on 8443 and nothing else.
    let exposed: Vec<&serde_json::Value> = v["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["from"] == "globex" && e["to"] == "acme")
        .collect();
    assert_eq!(exposed.len(), 1);
    assert_eq!(exposed[0]["ports"], serde_json::json!(["TCP/8443"]));
    insta::assert_snapshot!("graph_json", json);
}

#[test]
fn a_large_graph_becomes_a_summary() {
    let p = compiled();
    p.run("graph", &["--max-tenants", "3"])
        .code(0)
        .stdout(predicate::str::starts_with(
            "4 tenants, 2 shared and 4 platform namespaces, 4 destinations outside the cluster, 37 edges between them; 1 from one tenant to another.\n",
        ))
        .stdout(predicate::str::contains("flowchart").not());
}

#[test]
fn graph_shows_a_hole_between_tenants() {
    let p = compiled();
    // globex-web's ingress and umbrella's egress both let umbrella through.
    p.edit_all(
        "tenants/globex/globex-web/networkpolicies.yaml",
        "          - globex-api\n",
        "          - globex-api\n          - umbrella\n",
    );
    p.edit_all(
        "tenants/umbrella/umbrella/networkpolicies.yaml",
        "          - umbrella\n",
        "          - umbrella\n          - globex-web\n",
    );
    p.run("graph", &[])
        .code(0)
        // The NetworkPolicies open the hole; the example's AuthorizationPolicies still close it
        // for TCP, and the drawing says both.
        .stdout(predicate::str::contains(
            "  umbrella -- \"the mesh denies every TCP port\" --> globex\n",
        ));
}

/// What the base config changes, as a reviewer must read it, in whichever way diff got there.
fn assert_the_reviewers_lines(text: &str) {
    for line in [
        "+ initech may now reach payments on TCP/8443\n",
        "+ globex gains ingress from ingress-nginx\n",
        "- namespace hooli (tenant hooli) is deleted\n",
    ] {
        assert!(text.contains(line), "no {line:?} in\n{text}");
    }
}

// The flows of issue 9, as a reviewer reads them.

#[test]
fn explain_an_external_destination_names_the_rule_and_every_layer() {
    let p = compiled();
    insta::assert_snapshot!(stdout(p.run("explain", &["acme", "stripe"]).code(0)));
    // A tenant that is not a consumer: denied in tenants.toml, in NetworkPolicy and in the mesh.
    p.run("explain", &["umbrella", "stripe"])
        .code(0)
        .stdout(predicate::str::contains(
            "tenants.toml: denied (no rule grants it)",
        ))
        .stdout(predicate::str::contains(
            "ServiceEntry: none visible to umbrella: its sidecars have no registry entry for it",
        ))
        .stdout(predicate::str::contains(
            "verdict: denied, as tenants.toml says",
        ));
    p.run("explain", &["acme-jobs", "kube-api"])
        .code(0)
        .stdout(predicate::str::contains(
            "imports it via `default/kubernetes.default.svc.cluster.local`",
        ));
}

#[test]
fn explain_an_external_destination_whose_service_entry_is_gone() {
    let p = compiled();
    std::fs::write(
        p.output().join("tenants/acme/acme/serviceentries.yaml"),
        "# Generated by tenantc from tenants.toml. DO NOT EDIT.\n",
    )
    .unwrap();
    p.run("explain", &["acme", "stripe", "--port", "443/TCP"])
        .code(0)
        .stdout(predicate::str::contains(
            "ServiceEntry: none visible to acme: its sidecars have no registry entry for it",
        ))
        .stdout(predicate::str::contains(
            "verdict: denied; TCP/443 is denied, which is NOT what tenants.toml says",
        ));
}

#[test]
fn explain_an_exposed_namespace_on_its_port() {
    let p = compiled();
    insta::assert_snapshot!(stdout(
        p.run("explain", &["globex", "acme-api", "--port", "8443"])
            .code(0)
    ));
}

#[test]
fn diff_names_external_destinations_and_exposed_namespaces() {
    let p = compiled();
    let base = EXAMPLE
        .replace(
            "consumers = [\"acme\", \"payments\"] # a tenant and a shared service",
            "consumers = [\"payments\"]",
        )
        .replace(
            "[tenants.acme.expose.acme-api]\nconsumers = [\"globex\"]\nports = [8443]\n",
            "",
        );
    assert_ne!(base, EXAMPLE);
    std::fs::write(p.path().join("base.toml"), base).unwrap();
    let text = stdout(p.run("diff", &["--base", "base.toml"]).code(0));
    assert!(
        text.contains("+ acme may now reach external stripe (api.stripe.com) on TCP/443\n"),
        "{text}"
    );
    assert!(
        text.contains("+ globex may now reach acme-api (tenant acme) on TCP/8443\n"),
        "{text}"
    );
    // The other way round, the same flows are lost, and said so.
    std::fs::write(p.path().join("old.toml"), EXAMPLE).unwrap();
    p.set_config(&std::fs::read_to_string(p.path().join("base.toml")).unwrap());
    let back = stdout(p.run("diff", &["--base", "old.toml"]).code(0));
    assert!(
        back.contains("- acme may no longer reach external stripe (api.stripe.com)\n"),
        "{back}"
    );
    assert!(
        back.contains("- globex may no longer reach acme-api (tenant acme)\n"),
        "{back}"
    );
}

#[test]
fn diff_against_an_older_tree_sees_an_ingress_opened_to_everyone() {
    let p = compiled();
    let base = p.path().join("base-output");
    copy_dir(&p.output(), &base);
    let rel = "tenants/umbrella/umbrella/networkpolicies.yaml";
    let mut text = std::fs::read_to_string(p.output().join(rel)).unwrap();
    text.push_str("---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: open\n  namespace: umbrella\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n  - {}\n");
    std::fs::write(p.output().join(rel), text).unwrap();
    let out = stdout(p.run("diff", &["--base", "base-output"]).code(0));
    assert!(
        out.contains("+ umbrella gains ingress from anyone (every namespace and address)\n"),
        "{out}"
    );
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn diff_and_graph_show_where_the_identity_layer_disagrees() {
    let p = compiled();
    let base = p.path().join("base-output");
    copy_dir(&p.output(), &base);
    // acme-api's AuthorizationPolicy admits umbrella instead of globex-web.
    p.edit(
        "tenants/acme/acme-api/authorizationpolicies.yaml",
        "        - globex-web\n",
        "        - umbrella\n",
    );
    let out = stdout(p.run("diff", &["--base", "base-output"]).code(0));
    assert!(
        out.contains("! globex-web -> acme-api TCP/8443: the NetworkPolicies allow it but the AuthorizationPolicies of acme-api deny it (an outage in the mesh)\n"),
        "{out}"
    );
    let graph = stdout(p.run("graph", &[]).code(0));
    assert!(
        graph.contains("  globex -- \"TCP/8443; the mesh denies TCP/8443\" --> acme\n"),
        "{graph}"
    );
    // And back: the layers agree again.
    let back = stdout(
        common::tenantc()
            .current_dir(p.path())
            .args([
                "diff",
                "--config",
                "tenants.toml",
                "--output",
                "base-output",
            ])
            .args(["--base", "output"])
            .assert()
            .code(0),
    );
    assert!(
        back.contains("= globex-web -> acme-api TCP/8443: the AuthorizationPolicies of acme-api no longer deny what the NetworkPolicies allow\n"),
        "{back}"
    );
}

#[test]
fn diff_of_two_trees_counts_the_sidecar_scope_as_verify_does() {
    let p = compiled();
    let base = p.path().join("base-output");
    copy_dir(&p.output(), &base);
    // An unbounded Sidecar: verify --mesh-scope counts every namespace of the cluster for it.
    p.edit(
        "tenants/umbrella/umbrella/sidecar.yaml",
        "    - \"umbrella/*\"\n",
        "    - \"*/*\"\n",
    );
    p.run("verify", &[])
        .code(1)
        .stdout(predicate::str::contains(
            "receive configuration for 70 namespaces in total",
        ));
    let out = stdout(p.run("diff", &["--base", "base-output"]).code(0));
    assert!(
        out.contains("Sidecar scope (namespaces imported, all Sidecars): 60 -> 70\n"),
        "{out}"
    );
}

/// `cd tenants && tenantc verify --output ../output` (issue 19): a path that climbs out of the
/// working directory reads the same tree as any other, in verify, explain and diff alike.
#[test]
fn paths_that_start_with_dot_dot_read_the_tree() {
    let p = compiled();
    let sub = p.path().join("tenants");
    std::fs::create_dir(&sub).unwrap();
    std::fs::copy(p.config(), sub.join("tenants.toml")).unwrap();
    let run = |args: &[&str]| {
        common::tenantc()
            .current_dir(&sub)
            .args(args)
            .args(["--config", "tenants.toml"])
            .assert()
    };
    let verified = stdout(run(&["verify", "--output", "../output"]).code(0));
    assert!(
        verified.contains("../output matches tenants.toml") && verified.contains("0 violations"),
        "{verified}"
    );
    let explained = stdout(run(&["explain", "acme", "payments", "--output", "../output"]).code(0));
    assert!(!explained.contains("not in the tree"), "{explained}");
    // An older tree: the diff from here says what the same diff says from the project's root.
    std::fs::write(p.path().join("base.toml"), base_config()).unwrap();
    common::tenantc()
        .current_dir(p.path())
        .args(["compile", "--config", "base.toml", "--output", "old"])
        .assert()
        .success();
    let from_root = stdout(p.run("diff", &["--base", "old"]).code(1));
    let from_sub = stdout(run(&["diff", "--base", "../old", "--output", "../output"]).code(1));
    assert!(from_root.contains("namespaces: 11 -> 10"), "{from_root}");
    assert_eq!(from_sub, from_root.replace("old/", "../old/"));
    // Resources of a kustomization still may not leave the tree, whatever the path to it.
    p.edit(
        "kustomization.yaml",
        "resources:\n",
        "resources:\n- ../old\n",
    );
    run(&["verify", "--output", "../output"])
        .code(1)
        .stdout(predicate::str::contains(
            "../output/kustomization.yaml lists `../old`, outside the output tree",
        ));
}

/// A tree path that does not exist, or a directory with no tree in it, is an error: read as an
/// empty tree it would make diff call every namespace new and verify deny everything.
#[test]
fn a_missing_or_empty_tree_is_an_error() {
    let p = compiled();
    std::fs::create_dir(p.path().join("empty")).unwrap();
    for base in ["empty", "nowhere"] {
        p.run("diff", &["--base", base]).code(2);
    }
    p.run("diff", &["--base", "output"]).code(0);
    for (sub, extra) in [("verify", &[][..]), ("explain", &["acme", "payments"][..])] {
        common::tenantc()
            .current_dir(p.path())
            .args([sub, "--config", "tenants.toml", "--output", "empty"])
            .args(extra)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("holds no YAML file"));
    }
}

#[test]
fn access_of_a_tenant_and_a_subject_from_the_tree() {
    let p = compiled();
    let out = stdout(p.run("access", &["acme"]).code(0));
    assert!(
        out.starts_with("tenant acme: acme, acme-api, acme-jobs\n"),
        "{out}"
    );
    assert!(
        out.contains("  group acme-devs may edit acme, acme-api, acme-jobs\n"),
        "{out}"
    );
    assert!(out.contains("pod security enforce restricted (v1.32), warn restricted (v1.32), audit restricted (v1.32)"), "{out}");
    assert!(
        out.contains("quota: limits.memory 64Gi, pods 200, requests.cpu 16, requests.memory 32Gi"),
        "{out}"
    );
    // From the tree, not the config: a hand-added binding shows.
    p.edit(
        "tenants/globex/globex-web/namespace.yaml",
        "  name: auditors\n",
        "  name: auditors\n- kind: Group\n  apiGroup: rbac.authorization.k8s.io\n  name: acme-devs\n",
    );
    let out = stdout(p.run("access", &["group:acme-devs"]).code(0));
    assert_eq!(
        out,
        "group acme-devs may edit acme, acme-api, acme-jobs\ngroup acme-devs may view globex-web\n"
    );
    let json = stdout(p.run("access", &["acme", "--format", "json"]).code(0));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["owner"], "tenant acme");
    p.run("access", &["nobody"]).code(2);
    p.run("access", &["team:x"]).code(2);
}

#[test]
fn diff_says_access_changes_in_tenant_terms() {
    let p = compiled();
    std::fs::write(p.path().join("base.toml"), EXAMPLE).unwrap();
    p.set_config(
        &EXAMPLE
            .replace(
                "pod_security = \"restricted\"\nquota = { \"requests.cpu\" = \"16\" }",
                "pod_security = \"baseline\"\nquota = { \"requests.cpu\" = \"32\" }",
            )
            .replace(
                "editors = [\"group:acme-devs\",",
                "editors = [\"group:acme-devs\", \"group:contractors\",",
            ),
    );
    // The weakening is breaking: listed under the heading of the breaking changes, which come
    // first, and not again with the other changes; CI does not fail on it (nothing is deleted).
    let out = stdout(p.run("diff", &["--base", "base.toml"]).code(0));
    assert!(
        out.starts_with("destructive and breaking changes (0 not acknowledged):\n! pod security of acme weakens: restricted -> baseline\n\n"),
        "{out}"
    );
    assert_eq!(out.matches("pod security of acme").count(), 1, "{out}");
    let json = stdout(
        p.run("diff", &["--base", "base.toml", "--format", "json"])
            .code(0),
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v["lifecycle"]["changes"][0],
        serde_json::json!({"change": "pod_security_weakens", "of": "acme", "before": "restricted", "after": "baseline"})
    );
    let md = stdout(
        p.run("diff", &["--base", "base.toml", "--format", "markdown"])
            .code(0),
    );
    assert!(
        md.contains("```diff\n! pod security of acme weakens: restricted -> baseline\n```"),
        "{md}"
    );
    assert!(
        out.contains("+ group contractors may now edit acme, acme-api, acme-jobs\n"),
        "{out}"
    );
    assert!(
        out.contains("~ quota of acme: requests.cpu 16 -> 32\n"),
        "{out}"
    );
}
