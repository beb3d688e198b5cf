//! Several clusters from one file (`[clusters]`): each cluster's tree is the tree of the
//! single-cluster file its view describes; validation, lifecycle, GitOps names and the review
//! commands per cluster. All through the binary.

mod common;

use std::path::Path;

use common::{files, tenantc, Project, Schemas};
use predicates::str::contains;

const EXAMPLE: &str = include_str!("../tenants/examples/clusters.toml");
const CLUSTERS: [&str; 3] = ["prod-eu", "prod-us", "staging"];

fn example() -> Project {
    Project::new(EXAMPLE)
}

#[test]
fn every_cluster_tree_equals_its_single_cluster_view_compiled_alone() {
    // Compiled from the example's own file, so that the headers name `clusters.toml` as the
    // views' files do.
    let p = example();
    tenantc()
        .args([
            "compile",
            "--config",
            "tenants/examples/clusters.toml",
            "--output",
        ])
        .arg(p.output())
        .assert()
        .success();
    for name in CLUSTERS {
        // Each view is written by hand in tests/data/clusters/<name>/clusters.toml, named like
        // the example so that the generated headers agree.
        let view = Path::new("tests/data/clusters")
            .join(name)
            .join("clusters.toml");
        let out = p.path().join(format!("view-{name}"));
        tenantc()
            .args(["compile", "--config"])
            .arg(&view)
            .arg("--output")
            .arg(&out)
            .assert()
            .success();
        let cluster = files(&p.output().join("clusters").join(name));
        let alone = files(&out);
        assert!(!cluster.is_empty(), "cluster {name} has a tree");
        let paths =
            |t: &std::collections::BTreeMap<String, String>| t.keys().cloned().collect::<Vec<_>>();
        assert_eq!(
            paths(&cluster),
            paths(&alone),
            "the files of cluster {name}"
        );
        for (path, text) in &cluster {
            assert_eq!(text, &alone[path], "{name}: {path}");
        }
    }
}

#[test]
fn the_committed_example_is_current_and_every_document_is_valid() {
    tenantc()
        .args([
            "compile",
            "--check",
            "--config",
            "tenants/examples/clusters.toml",
            "--output",
            "examples/clusters-output",
        ])
        .assert()
        .success();
    let schemas = Schemas::load();
    for name in CLUSTERS {
        let n = schemas.validate_tree(&Path::new("examples/clusters-output/clusters").join(name));
        assert!(n > 30, "cluster {name}: {n} documents validated");
    }
    tenantc()
        .args([
            "verify",
            "--config",
            "tenants/examples/clusters.toml",
            "--output",
            "examples/clusters-output",
        ])
        .assert()
        .success()
        .stdout(contains(
            "prod-eu: examples/clusters-output/clusters/prod-eu matches",
        ))
        .stdout(contains(
            "staging: examples/clusters-output/clusters/staging matches",
        ));
}

#[test]
fn the_three_clusters_differ_as_their_tables_say() {
    let p = example();
    p.compile().success();
    let t = files(&p.output().join("clusters"));
    // prod-eu: ambient with authorization, no Sidecar; prod-us: sidecars with STRICT mTLS;
    // staging: sidecars, neither.
    assert!(!t
        .keys()
        .any(|k| k.starts_with("prod-eu/") && k.ends_with("sidecar.yaml")));
    assert!(t.contains_key("prod-eu/tenants/acme/acme/authorizationpolicies.yaml"));
    assert!(t.contains_key("prod-us/tenants/globex/globex-web/peerauthentication.yaml"));
    assert!(t.contains_key("prod-us/tenants/globex/globex-web/sidecar.yaml"));
    assert!(t.contains_key("staging/tenants/globex/globex-web/sidecar.yaml"));
    assert!(!t
        .keys()
        .any(|k| k.starts_with("staging/") && k.ends_with("peerauthentication.yaml")));
    // Placement: acme is not in prod-us, payments not in staging.
    assert!(!t.keys().any(|k| k.starts_with("prod-us/tenants/acme/")));
    assert!(!t.keys().any(|k| k.starts_with("staging/shared/payments/")));
    // Each Namespace names its cluster; each cluster's API server range is its own.
    assert!(t["prod-us/tenants/initech/initech/namespace.yaml"]
        .contains("tenantc.dev/cluster: prod-us"));
    assert!(t["prod-eu/tenants/acme/acme-jobs/networkpolicies.yaml"].contains("10.0.0.10/32"));
    assert!(t["staging/tenants/acme/acme-jobs/networkpolicies.yaml"].contains("172.18.0.2/32"));
}

#[test]
fn argo_cd_objects_are_unique_across_clusters_and_go_to_each_clusters_server() {
    let p = example();
    p.compile().success();
    let t = files(&p.output().join("clusters"));
    let mut names = std::collections::BTreeSet::new();
    for (path, text) in t.iter().filter(|(k, _)| k.contains("/gitops/")) {
        for doc in common::documents(text) {
            let kind = doc["kind"].as_str().unwrap_or_default().to_owned();
            if kind != "Application" && kind != "AppProject" {
                continue;
            }
            let name = doc["metadata"]["name"].as_str().unwrap().to_owned();
            let cluster = path.split('/').next().unwrap();
            assert!(name.starts_with(&format!("{cluster}-")), "{path}: {name}");
            assert!(
                names.insert((kind.clone(), name.clone())),
                "{kind} {name} twice"
            );
            if kind == "Application" {
                let server = doc["spec"]["destination"]["server"].as_str().unwrap();
                let path_in_repo = doc["spec"]["source"]["path"].as_str().unwrap();
                assert!(
                    path_in_repo
                        .starts_with(&format!("examples/clusters-output/clusters/{cluster}/")),
                    "{name}: {path_in_repo}"
                );
                let tenant_app = name.contains("-tenant-") || name.contains("-shared-");
                let want = match (tenant_app, cluster) {
                    (true, "prod-eu") => "https://prod-eu.k8s.example.com",
                    (true, "prod-us") => "https://prod-us.k8s.example.com",
                    // The GitOps objects themselves, and staging's tenants: where Argo CD runs.
                    _ => "https://kubernetes.default.svc",
                };
                assert_eq!(server, want, "{name}");
            }
        }
    }
    assert!(names.len() > 20, "{names:?}");
}

#[test]
fn a_file_without_clusters_keeps_its_layout_and_cluster_and_clusters_exclude_each_other() {
    let p = Project::new(common::EXAMPLE);
    p.compile().success();
    assert!(p.output().join("kustomization.yaml").exists());
    assert!(!p.output().join("clusters").exists());

    let both = EXAMPLE.replace("version = 1\n", "version = 1\n[cluster]\nname = \"one\"\n");
    let q = Project::new(&both);
    q.compile()
        .code(2)
        .stderr(contains("`[cluster]` and `[clusters]` exclude each other"))
        .stderr(contains("the clusters are described here"));
    assert!(!q.output().exists(), "nothing written");
}

#[test]
fn an_unknown_cluster_is_refused_with_the_closest_name() {
    let p = Project::new(&EXAMPLE.replace(
        "clusters = [\"prod-us\", \"staging\"]",
        "clusters = [\"prod-us\", \"stagin\"]",
    ));
    p.compile()
        .code(2)
        .stderr(contains("`stagin` is not a cluster of [clusters]"))
        .stderr(contains("did you mean `staging`?"))
        .stderr(contains("clusters.toml").or(contains("tenants.toml:")));
    assert!(!p.output().exists());
}

use predicates::prelude::PredicateBooleanExt as _;

#[test]
fn an_error_of_one_cluster_names_it_and_points_at_both_keys() {
    // A top-level `outbound_traffic_policy` is a sidecar setting: prod-eu's ambient mode makes
    // it invalid there, and only there.
    let p = Project::new(&EXAMPLE.replace(
        "[mesh]\nnamespace = \"istio-system\"\n",
        "[mesh]\nnamespace = \"istio-system\"\noutbound_traffic_policy = \"REGISTRY_ONLY\"\n",
    ));
    let out = p.compile().code(2).get_output().stderr.clone();
    let err = String::from_utf8_lossy(&out);
    assert!(err.contains("in cluster prod-eu:"), "{err}");
    assert!(!err.contains("in cluster staging"), "{err}");
    assert!(
        err.contains("cluster `prod-eu` replaces these [mesh] keys"),
        "{err}"
    );
    assert!(!p.output().exists());
}

#[test]
fn a_namespace_leaving_one_cluster_is_refused_there_and_acknowledged_per_cluster() {
    let p = example();
    p.compile().success();
    let leave = EXAMPLE.replace(
        "clusters = [\"prod-eu\", \"staging\"]",
        "clusters = [\"prod-eu\"]",
    );
    p.set_config(&leave);
    let before = common::snapshot(&p.output());
    p.compile()
        .code(1)
        .stderr(contains("in cluster staging:"))
        .stderr(contains(
            "namespace acme-api (tenant acme) would be deleted",
        ))
        .stderr(contains("to [clusters.staging] `retired`"));
    assert_eq!(
        before,
        common::snapshot(&p.output()),
        "nothing written in any cluster"
    );
    p.run("compile", &["--check"])
        .code(1)
        .stdout(contains("in cluster staging:"));

    // Acknowledged in staging's table: the namespaces stay there, closed; prod-eu keeps acme.
    p.set_config(&leave.replace(
        "[clusters.staging]\n",
        "[clusters.staging]\nretired = [\"acme\", \"acme-api\", \"acme-jobs\"]\n",
    ));
    p.compile().success();
    let t = files(&p.output().join("clusters"));
    assert!(t.contains_key("staging/tenants/acme/acme-api/namespace.yaml"));
    assert!(!t.contains_key("staging/tenants/acme/acme-api/sidecar.yaml"));
    assert!(t.contains_key("prod-eu/tenants/acme/acme-api/networkpolicies.yaml"));
    p.run("verify", &[]).success();

    // Once a person deleted them from staging: purged there, they leave its tree.
    p.set_config(&leave.replace(
        "[clusters.staging]\n",
        "[clusters.staging]\npurged = [\"acme\", \"acme-api\", \"acme-jobs\"]\n",
    ));
    p.compile().success();
    assert!(!p.output().join("clusters/staging/tenants/acme").exists());
    assert!(p.output().join("clusters/prod-eu/tenants/acme").exists());
}

#[test]
fn diff_names_the_cluster_on_every_line_and_groups_markdown_by_cluster() {
    let p = example();
    p.compile().success();
    std::fs::write(p.path().join("base.toml"), EXAMPLE).unwrap();
    p.set_config(&EXAMPLE.replace(
        "clusters = [\"prod-eu\", \"staging\"]",
        "clusters = [\"prod-eu\", \"prod-us\", \"staging\"]",
    ));
    let out = p
        .run("diff", &["--base", "base.toml"])
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains("prod-us: + namespace acme-api (tenant acme) is created"),
        "{text}"
    );
    assert!(
        text.contains("prod-us: + acme may now reach payments on TCP/8443"),
        "{text}"
    );
    assert!(
        text.contains("prod-eu: no change in reachability"),
        "{text}"
    );
    for line in text.lines() {
        assert!(
            CLUSTERS.iter().any(|c| line.starts_with(&format!("{c}: "))),
            "{line}"
        );
    }
    let md = p
        .run("diff", &["--base", "base.toml", "--format", "markdown"])
        .success()
        .get_output()
        .stdout
        .clone();
    let md = String::from_utf8_lossy(&md);
    assert!(md.contains("## cluster prod-us"), "{md}");
    assert!(md.find("## cluster prod-eu") < md.find("## cluster prod-us"));
    p.run("diff", &["--base", "base.toml", "--cluster", "staging"])
        .success()
        .stdout(contains("staging: no change"))
        .stdout(contains("prod-us").not());
}

#[test]
fn verify_covers_every_cluster_and_refuses_a_stale_clusters_tree() {
    let p = example();
    p.compile().success();
    p.run("verify", &[])
        .success()
        .stdout(contains("prod-eu: output/clusters/prod-eu matches"))
        .stdout(contains("prod-us: output/clusters/prod-us matches"))
        .stdout(contains("staging: output/clusters/staging matches"));
    // A hand edit in one cluster's tree is that cluster's violation.
    p.edit(
        "clusters/prod-us/tenants/globex/globex-web/networkpolicies.yaml",
        "          - globex-api\n",
        "          - initech\n",
    );
    p.run("verify", &["--cluster", "prod-us"])
        .code(1)
        .stdout(contains("violation: in cluster prod-us:"));
    p.compile().success();
    // A cluster removed from the file: its tree stays, compile says so, verify refuses it.
    let without_staging = EXAMPLE
        .replace("clusters = [\"prod-eu\", \"staging\"]", "clusters = [\"prod-eu\"]")
        .replace("clusters = [\"prod-us\", \"staging\"]", "clusters = [\"prod-us\"]")
        .replace(
            "[clusters.staging]\npod_cidrs = [\"10.32.0.0/16\"]\nservice_cidrs = [\"10.33.0.0/16\"]\n",
            "",
        );
    assert!(!without_staging.contains("[clusters.staging]"));
    p.set_config(&without_staging);
    p.compile()
        .success()
        .stderr(contains("holds the tree of cluster `staging`"));
    assert!(p
        .output()
        .join("clusters/staging/kustomization.yaml")
        .exists());
    p.run("verify", &[])
        .code(1)
        .stdout(contains("violation:"))
        .stdout(contains("holds the tree of cluster `staging`"));
}

#[test]
fn explain_graph_and_access_need_a_cluster() {
    let p = example();
    p.compile().success();
    p.run("explain", &["acme", "payments"])
        .code(2)
        .stderr(contains("describes several clusters"))
        .stderr(contains("--cluster (prod-eu, prod-us, staging)"));
    p.run("explain", &["acme", "payments", "--cluster", "prod-eu"])
        .success()
        .stdout(contains(
            "clusters/prod-eu/shared/payments/networkpolicies.yaml",
        ));
    p.run("explain", &["acme", "payments", "--cluster", "prod-uss"])
        .code(2)
        .stderr(contains("did you mean `prod-us`?"));
    p.run("graph", &["--cluster", "staging", "--format", "json"])
        .success()
        .stdout(contains("\"acme\""));
    p.run("access", &["acme", "--cluster", "prod-eu"])
        .success()
        .stdout(contains("acme-admins"));
}

#[test]
fn the_two_layouts_never_mix_in_one_output_directory() {
    let p = example();
    p.compile().success();
    p.set_config(common::EXAMPLE);
    p.compile()
        .code(2)
        .stderr(contains("holds the trees of several clusters"));
    let q = Project::new(common::EXAMPLE);
    q.compile().success();
    q.set_config(EXAMPLE);
    q.compile()
        .code(2)
        .stderr(contains("holds a tree compiled without [clusters]"));
    assert!(!q.output().join("clusters").exists());
}

#[test]
fn cluster_names_that_would_share_gitops_names_are_refused() {
    // Cluster `prod` with shared entry `tenant-x` and cluster `prod-shared` with tenant `x`
    // would both name an Application `prod-shared-tenant-x`.
    let config = r#"version = 1
[clusters.prod]
pod_cidrs = ["10.0.0.0/16"]
service_cidrs = ["10.1.0.0/16"]
[clusters.prod-shared]
pod_cidrs = ["10.2.0.0/16"]
service_cidrs = ["10.3.0.0/16"]
[shared.tenant-x]
clusters = ["prod"]
[tenants.x]
clusters = ["prod-shared"]
[gitops]
tool = "argocd"
repo_url = "https://git.example.com/t.git"
"#;
    let p = Project::new(config);
    p.compile().code(2).stderr(contains(
        "would both name a GitOps object `prod-shared-tenant-x`",
    ));
}

#[cfg(unix)]
#[test]
fn a_symlinked_cluster_directory_is_refused_and_nothing_is_written_through_it() {
    let p = example();
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(p.output().join("clusters")).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), p.output().join("clusters/staging")).unwrap();
    p.compile().code(2).stderr(contains("is a symbolic link"));
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    assert!(
        !p.output().join("clusters/prod-eu").exists(),
        "no cluster written"
    );
    p.run("verify", &["--cluster", "staging"])
        .code(2)
        .stderr(contains("is a symbolic link"));
}

#[test]
fn placing_entries_needs_clusters_and_every_list_names_known_clusters_once() {
    let p = Project::new("version = 1\n[tenants.acme]\nclusters = [\"prod\"]\n");
    p.compile().code(2).stderr(contains(
        "tenant `acme` is placed on clusters, but the file has no [clusters] table",
    ));
    let q = Project::new(&EXAMPLE.replace(
        "clusters = [\"prod-eu\", \"prod-us\"]",
        "clusters = [\"prod-eu\", \"prod-eu\"]",
    ));
    q.compile()
        .code(2)
        .stderr(contains("cluster `prod-eu` is listed twice"));
    let r =
        Project::new(&EXAMPLE.replace("clusters = [\"prod-eu\", \"prod-us\"]", "clusters = []"));
    r.compile()
        .code(2)
        .stderr(contains("shared entry `payments` is placed on no cluster"));
    let s = Project::new(&EXAMPLE.replace(
        "[clusters.staging]\n",
        "[clusters.staging]\nretired = [\"acme-jbos\"]\n",
    ));
    s.compile()
        .code(2)
        .stderr(contains("cluster `staging` retires `acme-jbos`"))
        .stderr(contains("did you mean `acme-jobs`?"));
}

#[test]
fn a_single_cluster_file_takes_a_server_and_a_name_prefix_and_checks_both() {
    let with = common::EXAMPLE.replace(
        "[cluster]\nname = \"prod-eu-1\"\n",
        "[cluster]\nname = \"prod-eu-1\"\nserver = \"https://prod-eu-1.example.com\"\n",
    );
    let with = with.replace(
        "path = \"output\"\n",
        "path = \"output\"\nname_prefix = \"eu1-\"\n",
    );
    let p = Project::new(&with);
    p.compile().success();
    let t = files(&p.output().join("gitops"));
    let acme = t
        .iter()
        .find(|(k, _)| k.ends_with("/tenants/acme.yaml"))
        .map(|(_, v)| v.clone())
        .expect("acme's Argo CD objects");
    assert!(acme.contains("name: eu1-tenant-acme"), "{acme}");
    assert!(
        acme.contains("server: \"https://prod-eu-1.example.com\""),
        "{acme}"
    );
    assert!(t["tenantc.yaml"].contains("name: eu1-tenantc"));
    assert!(t["tenantc.yaml"].contains("server: \"https://kubernetes.default.svc\""));
    p.run("verify", &[]).success();

    for (bad, message) in [
        (
            "https://admin:secret@prod.example.com",
            "carries a credential",
        ),
        ("prod.example.com", "must begin with https://"),
        ("https://prod.example.com/ x", "holds a space"),
    ] {
        let q = Project::new(&with.replace("https://prod-eu-1.example.com", bad));
        q.compile()
            .code(2)
            .stderr(contains(message))
            .stderr(contains("tenants.toml:"));
    }
    let q = Project::new(&with.replace("name_prefix = \"eu1-\"", "name_prefix = \"EU1\""));
    q.compile().code(2).stderr(contains(
        "`name_prefix` \"EU1\" cannot begin an object name",
    ));
}

#[test]
fn a_tenant_retired_in_one_cluster_stays_a_consumer_in_the_others() {
    // initech runs on prod-us and staging; staging retires it while stripe's consumers name it.
    let p = Project::new(
        &EXAMPLE
            .replace(
                "[clusters.staging]\n",
                "[clusters.staging]\nretired = [\"initech\"]\n",
            )
            .replace(
                "consumers = [\"acme\", \"payments\"]",
                "consumers = [\"acme\", \"payments\", \"initech\"]",
            ),
    );
    p.compile().success();
    let t = files(&p.output().join("clusters"));
    assert!(t.contains_key("staging/tenants/initech/initech/namespace.yaml"));
    assert!(
        !t.contains_key("staging/tenants/initech/initech/sidecar.yaml"),
        "closed in staging"
    );
    assert!(t["prod-us/tenants/initech/initech/networkpolicies.yaml"].contains("443"));
    p.run("verify", &[]).success();
}

/// Found by tests/clusters_prop.rs: a shared entry that left a cluster and is retired there, as
/// compile asks, kept its `consumers`, `ports` and `ingress` in that cluster's view, which a
/// retired shared entry may not have; the entry needs them in the clusters it still runs on, so
/// no file could acknowledge the move. Retired where it left, it is closed there.
#[test]
fn a_shared_entry_retired_in_a_cluster_it_left_is_closed_there_and_open_elsewhere() {
    let p = example();
    p.compile().success();
    let leave = EXAMPLE.replace(
        "clusters = [\"prod-eu\", \"prod-us\"]   # production only",
        "clusters = [\"prod-eu\"]",
    );
    assert_ne!(leave, EXAMPLE);
    p.set_config(&leave);
    p.compile()
        .code(1)
        .stderr(contains("in cluster prod-us:"))
        .stderr(contains("to [clusters.prod-us] `retired`"));
    p.set_config(&leave.replace(
        "[clusters.prod-us]\n",
        "[clusters.prod-us]\nretired = [\"payments\"]\n",
    ));
    p.compile().success();
    let t = files(&p.output().join("clusters"));
    assert!(t.contains_key("prod-us/shared/payments/namespace.yaml"));
    let closed = &t["prod-us/shared/payments/networkpolicies.yaml"];
    assert!(closed.contains("default-deny"), "{closed}");
    assert!(!closed.contains("allow-"), "{closed}");
    // initech, in prod-us, no longer reaches it; acme, in prod-eu, still does.
    assert!(!t["prod-us/tenants/initech/initech/networkpolicies.yaml"].contains("payments"));
    assert!(t["prod-eu/tenants/acme/acme/networkpolicies.yaml"].contains("payments"));
    p.run("verify", &[]).success();
}

/// Found by tests/clusters_prop.rs: a namespace in `[purged]` and in a cluster's `purged` was
/// reported as "listed twice in `[purged]`" in that cluster, though each list names it once.
#[test]
fn a_namespace_purged_everywhere_and_in_one_cluster_is_purged_once_there() {
    let p = Project::new(&format!(
        "{}\n[purged]\nnamespaces = [\"old-team\"]\n",
        EXAMPLE.replace(
            "[clusters.staging]\n",
            "[clusters.staging]\npurged = [\"old-team\", \"old-jobs\"]\n"
        )
    ));
    p.compile().success();
    // A namespace listed twice in one list is still an error.
    p.set_config(&format!(
        "{}\n[purged]\nnamespaces = [\"old-team\"]\n",
        EXAMPLE.replace(
            "[clusters.staging]\n",
            "[clusters.staging]\npurged = [\"old-jobs\", \"old-jobs\"]\n"
        )
    ));
    p.compile().code(2).stderr(contains(
        "in cluster staging: namespace `old-jobs` is listed twice",
    ));
}

#[test]
fn an_entry_still_placed_on_a_cluster_can_be_retired_there_alone() {
    // acme (ingress list, an expose) runs on staging and prod-eu; payments on prod-eu and
    // prod-us: each is closed in one of its clusters, and runs as before in the other.
    let p = Project::new(
        &EXAMPLE
            .replace(
                "[clusters.staging]\n",
                "[clusters.staging]\nretired = [\"acme\", \"acme-api\"]\n",
            )
            .replace(
                "[clusters.prod-eu]\n",
                "[clusters.prod-eu]\nretired = [\"payments\"]\n",
            ),
    );
    p.compile().success();
    let t = files(&p.output().join("clusters"));
    assert!(!t.contains_key("staging/tenants/acme/acme-api/sidecar.yaml"));
    assert!(
        t.contains_key("staging/tenants/acme/acme-jobs/sidecar.yaml"),
        "not retired"
    );
    assert!(t.contains_key("prod-eu/tenants/acme/acme-api/authorizationpolicies.yaml"));
    assert!(!t.contains_key("prod-eu/shared/payments/authorizationpolicies.yaml"));
    assert!(t.contains_key("prod-us/shared/payments/sidecar.yaml"));
    p.run("verify", &[]).success();
}

#[test]
fn verify_refuses_what_lies_outside_every_clusters_tree() {
    let p = example();
    p.compile().success();
    p.run("verify", &[]).success();
    // A hand-written directory beside the clusters, and a file beside clusters/.
    std::fs::create_dir_all(p.output().join("clusters/evil")).unwrap();
    std::fs::write(
        p.output().join("clusters/evil/kustomization.yaml"),
        "resources: [open.yaml]\n",
    )
    .unwrap();
    std::fs::write(p.output().join("open.yaml"), "kind: NetworkPolicy\n").unwrap();
    p.run("verify", &[])
        .code(1)
        .stdout(contains(
            "clusters/evil is in the clusters' directory but is no cluster of tenants.toml",
        ))
        .stdout(contains("open.yaml is outside every cluster's tree"));
}
