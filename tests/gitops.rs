//! `[gitops]`: the Argo CD and Flux objects validate against the strict schemas of their real
//! CRDs, confine each tenant's sync to exactly its namespaces and directory, and stay out of the
//! root kustomization.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{crd_schema, documents, files, Project, Schemas, EXAMPLE};
use serde_json::json;
use tenantc::intent::gitops_group_of;

const REPO: &str = "https://git.example.com/platform/tenants.git";

fn config(gitops: &str) -> String {
    format!(
        "version = 1\n[mesh]\n[shared.common]\n[shared.db]\nconsumers = [\"acme\"]\n\
         [tenants.acme]\nnamespaces = [\"acme\", \"acme-jobs\"]\n[tenants.globex]\n\n[gitops]\n{gitops}"
    )
}

fn compiled(toml: &str) -> (Project, BTreeMap<String, String>) {
    let p = Project::new(toml);
    p.compile().success();
    let tree = files(&p.output());
    (p, tree)
}

/// Every GitOps object of the files under `gitops/`, by (kind, name): not a Flux account's objects
/// (tests/last_hop.rs evaluates those).
fn gitops_docs(tree: &BTreeMap<String, String>) -> BTreeMap<(String, String), serde_json::Value> {
    let mut out = BTreeMap::new();
    for (path, text) in tree.iter().filter(|(p, _)| p.starts_with("gitops/")) {
        if path.ends_with("kustomization.yaml") {
            continue;
        }
        for d in documents(text) {
            if tenantc::intent::confine::flux::account_key(&d).is_some() {
                continue;
            }
            let key = (
                d["kind"].as_str().unwrap().to_owned(),
                d["metadata"]["name"].as_str().unwrap().to_owned(),
            );
            assert!(out.insert(key.clone(), d).is_none(), "{key:?} twice");
        }
    }
    out
}

#[test]
fn argocd_objects_validate_and_confine_each_tenant_to_its_namespaces() {
    let (p, tree) = compiled(&config(&format!(
        "tool = \"argocd\"\nrepo_url = \"{REPO}\"\n"
    )));
    let checked = Schemas::load().validate_tree(&p.output());
    assert!(checked > 30, "{checked}");
    let docs = gitops_docs(&tree);
    let names: BTreeSet<(&str, &str)> =
        docs.keys().map(|(k, n)| (k.as_str(), n.as_str())).collect();
    let unit_names = ["shared-common", "shared-db", "tenant-acme", "tenant-globex"];
    let groups: BTreeSet<String> = unit_names.iter().map(|n| gitops_group_of(n)).collect();
    let group_names: Vec<String> = groups.iter().map(|g| format!("tenantc-{g}")).collect();
    let expected: BTreeSet<(&str, &str)> = unit_names
        .into_iter()
        .chain(["tenantc"])
        .chain(group_names.iter().map(String::as_str))
        .flat_map(|n| [("AppProject", n), ("Application", n)])
        .collect();
    assert_eq!(names, expected);

    let group_dirs: Vec<String> = groups
        .iter()
        .map(|g| format!("gitops/groups/{g}"))
        .collect();
    let mut units = vec![
        ("tenant-acme", "tenants/acme", vec!["acme", "acme-jobs"]),
        ("tenant-globex", "tenants/globex", vec!["globex"]),
        ("shared-common", "shared/common", vec!["common"]),
        ("shared-db", "shared/db", vec!["db"]),
        ("tenantc", "gitops", vec!["argocd"]),
    ];
    for (name, dir) in group_names.iter().zip(&group_dirs) {
        units.push((name, dir, vec!["argocd"]));
    }
    for (name, dir, namespaces) in units {
        let project = &docs[&("AppProject".to_owned(), name.to_owned())];
        let app = &docs[&("Application".to_owned(), name.to_owned())];
        let destinations: Vec<serde_json::Value> = namespaces
            .iter()
            .map(|n| json!({ "server": "https://kubernetes.default.svc", "namespace": n }))
            .collect();
        assert_eq!(
            project["spec"]["destinations"],
            json!(destinations),
            "{name}"
        );
        assert_eq!(project["spec"]["sourceRepos"], json!([REPO]), "{name}");
        assert_eq!(project["metadata"]["namespace"], "argocd");
        assert_eq!(app["metadata"]["namespace"], "argocd");
        assert_eq!(app["spec"]["project"], name);
        assert_eq!(app["spec"]["source"]["repoURL"], REPO);
        assert_eq!(app["spec"]["source"]["targetRevision"], "main");
        assert_eq!(app["spec"]["source"]["path"], format!("output/{dir}"));
        assert_eq!(app["spec"]["destination"]["namespace"], namespaces[0]);
        assert_eq!(
            app["spec"]["syncPolicy"]["automated"],
            json!({ "prune": true, "selfHeal": true })
        );
        // The Application points at a directory with a kustomization of its own.
        assert!(
            tree.contains_key(&format!("{dir}/kustomization.yaml")),
            "{dir} has no kustomization.yaml"
        );
    }
    // A tenant's project admits the kinds its directory holds, and only those.
    let acme = &docs[&("AppProject".to_owned(), "tenant-acme".to_owned())];
    assert_eq!(
        acme["spec"]["clusterResourceWhitelist"],
        json!([{ "group": "", "kind": "Namespace" }])
    );
    assert_eq!(
        acme["spec"]["namespaceResourceWhitelist"],
        json!([
            { "group": "networking.k8s.io", "kind": "NetworkPolicy" },
            { "group": "networking.istio.io", "kind": "Sidecar" }
        ])
    );
    let kinds: BTreeSet<String> = tree
        .iter()
        .filter(|(p, _)| p.starts_with("tenants/acme/"))
        .flat_map(|(_, t)| documents(t))
        .map(|d| d["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        ["Kustomization", "Namespace", "NetworkPolicy", "Sidecar"]
            .map(String::from)
            .into()
    );
}

#[test]
fn gitops_directory_is_its_own_kustomization_and_not_in_the_root() {
    let (_, tree) = compiled(&config(&format!(
        "tool = \"argocd\"\nrepo_url = \"{REPO}\"\n"
    )));
    let root = &documents(&tree["kustomization.yaml"])[0];
    assert!(
        !root["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().starts_with("gitops")),
        "{root}"
    );
    // Every kustomization under gitops/ lists exactly the files beside it (not in subdirectories),
    // and each tenant's or shared entry's objects are in the group its name hashes to.
    let listed = |dir: &str| -> BTreeSet<String> {
        documents(&tree[&format!("{dir}/kustomization.yaml")])[0]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| format!("{dir}/{}", r.as_str().unwrap()))
            .collect()
    };
    let beside = |dir: &str, depth: usize| -> BTreeSet<String> {
        tree.keys()
            .filter(|p| {
                p.starts_with(&format!("{dir}/"))
                    && p.matches('/').count() == depth
                    && !p.ends_with("/kustomization.yaml")
            })
            .cloned()
            .collect()
    };
    let top: BTreeSet<String> = tree
        .keys()
        .filter(|p| p.starts_with("gitops/") && !p.ends_with("/kustomization.yaml"))
        .filter(|p| p.matches('/').count() == 1 || p.matches('/').count() == 2)
        .cloned()
        .collect();
    assert_eq!(listed("gitops"), top);
    let mut units = BTreeSet::new();
    for (owner, role, dir) in [
        ("acme", "tenant", "tenants"),
        ("globex", "tenant", "tenants"),
        ("common", "shared", "shared"),
        ("db", "shared", "shared"),
    ] {
        let group = gitops_group_of(&format!("{role}-{owner}"));
        let file = format!("gitops/groups/{group}/{dir}/{owner}.yaml");
        assert!(tree.contains_key(&file), "{file} missing");
        assert!(listed(&format!("gitops/groups/{group}")).contains(&file));
        assert!(top.contains(&format!("gitops/groups/{group}.yaml")));
        units.insert(file);
    }
    let groups: BTreeSet<String> = top
        .iter()
        .filter_map(|p| p.strip_prefix("gitops/groups/"))
        .map(|f| f.trim_end_matches(".yaml").to_owned())
        .collect();
    let mut in_groups = BTreeSet::new();
    for g in &groups {
        let dir = format!("gitops/groups/{g}");
        assert_eq!(listed(&dir), beside(&dir, 4), "{dir}");
        in_groups.extend(listed(&dir));
    }
    assert_eq!(in_groups, units, "every unit once, nothing else");
}

/// The grouping that keeps every sync small: stable (a tenant never changes group), spread
/// evenly, and bounded (64 groups at most, so the root stays small at any number of tenants).
#[test]
fn gitops_groups_are_stable_and_spread_evenly() {
    // Pinned: the group is part of every committed output tree, so it must never change.
    assert_eq!(gitops_group_of("tenant-acme"), "0e");
    assert_eq!(gitops_group_of("shared-common-services"), "35");
    let mut counts = BTreeMap::new();
    for i in 0..10_000 {
        *counts
            .entry(gitops_group_of(&format!("tenant-t{i:05}")))
            .or_insert(0) += 1;
    }
    assert_eq!(counts.len(), 64);
    let (min, max) = (
        *counts.values().min().unwrap(),
        *counts.values().max().unwrap(),
    );
    assert!(min > 100 && max < 220, "uneven groups: {min}..{max}");
}

#[test]
fn flux_objects_validate_and_point_at_each_directory() {
    let toml = config(&format!(
        "tool = \"flux\"\nrepo_url = \"{REPO}\"\nrevision = \"release\"\npath = \"clusters/prod/output\"\nsecret = \"tenants-repo\"\n"
    ));
    let (p, tree) = compiled(&toml);
    Schemas::load().validate_tree(&p.output());
    let docs = gitops_docs(&tree);
    let repo = &docs[&("GitRepository".to_owned(), "tenantc".to_owned())];
    assert_eq!(repo["metadata"]["namespace"], "flux-system");
    assert_eq!(repo["spec"]["url"], REPO);
    assert_eq!(repo["spec"]["ref"], json!({ "branch": "release" }));
    assert_eq!(repo["spec"]["secretRef"], json!({ "name": "tenants-repo" }));
    let mut units: Vec<(String, String)> = [
        ("tenantc", "gitops"),
        ("tenant-acme", "tenants/acme"),
        ("tenant-globex", "tenants/globex"),
        ("shared-common", "shared/common"),
        ("shared-db", "shared/db"),
    ]
    .map(|(n, d)| (n.to_owned(), d.to_owned()))
    .into();
    let groups: BTreeSet<String> = units[1..].iter().map(|(n, _)| gitops_group_of(n)).collect();
    for g in groups {
        units.push((format!("tenantc-{g}"), format!("gitops/groups/{g}")));
    }
    assert_eq!(docs.len(), units.len() + 1);
    for (name, dir) in units {
        let k = &docs[&("Kustomization".to_owned(), name.clone())];
        assert_eq!(k["metadata"]["namespace"], "flux-system");
        assert_eq!(k["spec"]["path"], format!("./clusters/prod/output/{dir}"));
        assert_eq!(k["spec"]["prune"], true);
        assert_eq!(
            k["spec"]["sourceRef"],
            json!({ "kind": "GitRepository", "name": "tenantc" })
        );
        // A tenant's directory spans several namespaces: each object names its own.
        assert!(k["spec"].get("targetNamespace").is_none());
        // A tenant's or shared entry's sync applies as its own account; the root and the groups,
        // which create the accounts, as the controller.
        let account = k["spec"]["serviceAccountName"].as_str();
        if name.starts_with("tenant-") || name.starts_with("shared-") {
            assert_eq!(account, Some(name.as_str()));
        } else {
            assert_eq!(account, None, "{name}");
        }
    }
}

#[test]
fn namespace_and_repository_root_settings() {
    let (_, tree) = compiled(&config(
        "tool = \"argocd\"\nrepo_url = \"git@git.example.com:platform/tenants.git\"\npath = \".\"\nnamespace = \"gitops\"\n"
    ));
    let docs = gitops_docs(&tree);
    let app = &docs[&("Application".to_owned(), "tenant-acme".to_owned())];
    assert_eq!(app["metadata"]["namespace"], "gitops");
    assert_eq!(app["spec"]["source"]["path"], "tenants/acme");
    assert_eq!(
        app["spec"]["source"]["repoURL"],
        "git@git.example.com:platform/tenants.git"
    );
}

#[test]
fn without_gitops_there_is_no_gitops_directory() {
    let (_, tree) = compiled("version = 1\n[tenants.acme]\n");
    assert!(!tree.keys().any(|p| p.starts_with("gitops")));
}

#[test]
fn removing_gitops_removes_the_generated_objects() {
    let (p, _) = compiled(&config(&format!(
        "tool = \"flux\"\nrepo_url = \"{REPO}\"\n"
    )));
    // Removing namespaces needs their deletion acknowledged (tests/lifecycle.rs).
    p.set_config("version = 1\n[tenants.acme]\n[purged]\nnamespaces = [\"common\", \"db\", \"acme-jobs\", \"globex\"]\n");
    p.compile()
        .success()
        .stdout(predicates::str::contains("removed"));
    assert!(!p.output().join("gitops").exists());
}

#[test]
fn the_example_carries_argocd_objects_for_every_directory() {
    let (p, tree) = compiled(EXAMPLE);
    Schemas::load().validate_tree(&p.output());
    let docs = gitops_docs(&tree);
    let apps = docs.keys().filter(|(k, _)| k == "Application").count();
    // 4 tenants, 2 shared entries, their groups and the root.
    let groups: BTreeSet<String> = [
        "tenant-acme",
        "tenant-globex",
        "tenant-initech",
        "tenant-umbrella",
        "shared-common-services",
        "shared-payments",
    ]
    .map(gitops_group_of)
    .into();
    assert_eq!(apps, 6 + groups.len() + 1);
}

/// The CRD schemas tolerate unknown fields; made strict, a misspelt field fails, as
/// `kubectl apply --validate=strict` would report it. Without this, the validation above would
/// pass whatever the templates wrote.
#[test]
fn strict_crd_schemas_reject_misspelt_fields_and_accept_the_real_ones() {
    let cases = [
        (
            "AppProject",
            json!({ "destinations": [{ "server": "https://kubernetes.default.svc", "namespace": "a" }], "sourceRepos": ["x"] }),
            json!({ "destination": [{ "server": "https://kubernetes.default.svc", "namespace": "a" }] }),
        ),
        (
            "AppProject",
            json!({ "destinations": [{ "server": "https://kubernetes.default.svc", "namespace": "a" }] }),
            json!({ "destinations": [{ "server": "https://kubernetes.default.svc", "namespaces": "a" }] }),
        ),
        (
            "Application",
            json!({ "project": "p", "source": { "repoURL": "r", "path": "x", "targetRevision": "main" }, "destination": { "server": "s", "namespace": "n" } }),
            json!({ "project": "p", "source": { "repoUrl": "r", "path": "x" }, "destination": { "server": "s" } }),
        ),
        (
            "Application",
            json!({ "project": "p", "destination": { "server": "s" }, "syncPolicy": { "automated": { "prune": true, "selfHeal": true } } }),
            json!({ "project": "p", "destination": { "server": "s" }, "syncPolicy": { "automated": { "prune": true, "selfheal": true } } }),
        ),
        (
            "Kustomization",
            json!({ "interval": "10m", "path": "./x", "prune": true, "sourceRef": { "kind": "GitRepository", "name": "s" } }),
            json!({ "interval": "10m", "path": "./x", "prune": true, "sourceRef": { "kind": "GitRepository", "name": "s" }, "targetNamespaces": "x" }),
        ),
        (
            "Kustomization",
            json!({ "interval": "10m", "prune": true, "sourceRef": { "kind": "GitRepository", "name": "s" } }),
            json!({ "interval": "10m", "prune": true, "sourceRef": { "kind": "GitRepo", "name": "s" } }),
        ),
        (
            "GitRepository",
            json!({ "interval": "1m", "url": "https://x/y.git", "ref": { "branch": "main" } }),
            json!({ "interval": "1m", "url": "https://x/y.git", "ref": { "branches": "main" } }),
        ),
        (
            "GitRepository",
            json!({ "interval": "1m", "url": "https://x/y.git" }),
            json!({ "interval": "1m", "url": "git@x:y.git" }),
        ),
    ];
    for (kind, good, bad) in cases {
        let (api, _, _) = common::CRDS.iter().find(|(_, k, _)| *k == kind).unwrap();
        let v = jsonschema::validator_for(&crd_schema(kind)).unwrap();
        let object = |spec: &serde_json::Value| json!({ "apiVersion": api, "kind": kind, "metadata": { "name": "n", "namespace": "ns" }, "spec": spec });
        let errors: Vec<String> = v
            .iter_errors(&object(&good))
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{kind} {good}: {errors:?}");
        assert!(!v.is_valid(&object(&bad)), "{kind} accepts {bad}");
        // Misspelt metadata, a wrong apiVersion, and status are rejected too.
        let mut meta = object(&good);
        meta["metadata"]["lables"] = json!({});
        assert!(!v.is_valid(&meta), "{kind} accepts metadata.lables");
        let mut api_version = object(&good);
        api_version["apiVersion"] = json!("argoproj.io/v1");
        assert!(
            !v.is_valid(&api_version),
            "{kind} accepts a wrong apiVersion"
        );
    }
}

#[test]
fn user_gitops_templates_are_checked_against_the_crds_and_the_confinement() {
    let toml = config(&format!("tool = \"argocd\"\nrepo_url = \"{REPO}\"\n"));
    let builtin = tenantc::render::DEFAULT_TEMPLATES
        .iter()
        .find(|(n, _)| *n == "argocd-unit.yaml.j2")
        .unwrap()
        .1;
    let cases = [
        // A misspelt field the CRD's own schema would silently drop.
        (
            builtin.replace("selfHeal: true", "selfHeals: true"),
            "which Kubernetes would reject",
        ),
        // A destination beyond the tenant's namespaces.
        (
            builtin.replace(
                "  clusterResourceWhitelist:",
                "  - server: https://kubernetes.default.svc\n    namespace: kube-system\n  clusterResourceWhitelist:",
            ),
            "they must be exactly tenant",
        ),
        // The confinement a hostile template would remove: kustomize patches on the source, a
        // cascading finalizer, every cluster-scoped kind; each refused at its rendered line.
        (
            builtin.replace(
                "    path: {{ unit.path }}",
                "    path: {{ unit.path }}\n    kustomize:\n      patches:\n      - target: {kind: NetworkPolicy}\n        patch: '[{\"op\": \"replace\", \"path\": \"/spec/podSelector\", \"value\": {matchLabels: {x: y}}}]'",
            ),
            "`spec.source.kustomize` is not a field tenantc generates",
        ),
        (
            builtin.replace(
                "kind: Application\nmetadata:\n",
                "kind: Application\nmetadata:\n  finalizers:\n  - resources-finalizer.argocd.argoproj.io\n",
            ),
            "would delete every namespace it synced (rendered line",
        ),
        (
            builtin.replace(
                "  clusterResourceWhitelist:\n  - group: \"\"\n    kind: Namespace",
                "  clusterResourceWhitelist:\n  - group: \"*\"\n    kind: \"*\"",
            ),
            "`spec.clusterResourceWhitelist` allows \"*\"/\"*\"",
        ),
        // An Application syncing some other directory.
        (
            builtin.replace("path: {{ unit.path }}", "path: output"),
            "spec.source.path",
        ),
        // A missing object.
        (
            builtin[..builtin.find("---").unwrap()].to_owned(),
            "where exactly",
        ),
    ];
    for (template, message) in cases {
        let p = Project::new(&toml);
        let dir = p.path().join("templates");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("argocd-unit.yaml.j2"), &template).unwrap();
        let out = p
            .run("compile", &["--templates", "templates"])
            .code(2)
            .get_output()
            .clone();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("argocd-unit.yaml.j2"), "{stderr}");
        assert!(stderr.contains(message), "expected {message:?} in {stderr}");
        assert!(!p.output().exists(), "something was written");
    }
    // Flux: a template that makes a tenant's Kustomization impersonate an account, or patch
    // what it applies, is refused at its rendered line.
    let flux = config(&format!("tool = \"flux\"\nrepo_url = \"{REPO}\"\n"));
    let flux_builtin = tenantc::render::DEFAULT_TEMPLATES
        .iter()
        .find(|(n, _)| *n == "flux-unit.yaml.j2")
        .unwrap()
        .1;
    for (edit, message) in [
        (
            (
                "serviceAccountName: {{ unit.name }}",
                "serviceAccountName: kustomize-controller",
            ),
            "`spec.serviceAccountName` is \"kustomize-controller\"; it must be",
        ),
        (
            (
                "  prune: true\n",
                "  prune: true\n  patches:\n  - patch: x\n",
            ),
            "`spec.patches` is not a field tenantc generates",
        ),
    ] {
        let p = Project::new(&flux);
        let dir = p.path().join("templates");
        std::fs::create_dir(&dir).unwrap();
        let template = flux_builtin.replace(edit.0, edit.1);
        assert_ne!(template, flux_builtin);
        std::fs::write(dir.join("flux-unit.yaml.j2"), &template).unwrap();
        let out = p
            .run("compile", &["--templates", "templates"])
            .code(2)
            .get_output()
            .clone();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("flux-unit.yaml.j2"), "{stderr}");
        assert!(stderr.contains(message), "expected {message:?} in {stderr}");
        assert!(stderr.contains("rendered line"), "{stderr}");
        assert!(!p.output().exists(), "something was written");
    }
    // A template that fails for every tenant names a few and counts the rest.
    let mut many =
        String::from("version = 1\n[gitops]\ntool = \"flux\"\nrepo_url = \"https://g/p.git\"\n");
    for i in 0..25 {
        many.push_str(&format!("[tenants.t{i}]\n"));
    }
    let p = Project::new(&many);
    let dir = p.path().join("templates");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("flux-unit.yaml.j2"), "{{ nothing.here }}\n").unwrap();
    let out = p
        .run("compile", &["--templates", "templates"])
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("undefined").count(), 10, "{stderr}");
    // 25 tenants, and with Flux each group's Kustomization comes from the same template.
    let groups: BTreeSet<String> = (0..25)
        .map(|i| gitops_group_of(&format!("tenant-t{i}")))
        .collect();
    let more = 25 + groups.len() - 10;
    assert!(
        stderr.contains(&format!(
            "… and {more} more tenant, shared or group directories"
        )),
        "{stderr}"
    );

    // The built-in template, given as a user template, passes the same checks.
    let p = Project::new(&toml);
    let dir = p.path().join("templates");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("argocd-unit.yaml.j2"), builtin).unwrap();
    p.run("compile", &["--templates", "templates"]).success();
}

#[test]
fn misspelt_gitops_template_names_are_refused() {
    let p = Project::new("version = 1\n");
    let dir = p.path().join("templates");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("argocd-units.yaml.j2"), "x").unwrap();
    let out = p
        .run("compile", &["--templates", "templates"])
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown template name"), "{stderr}");
    assert!(stderr.contains("argocd-unit.yaml.j2"), "{stderr}");
}
