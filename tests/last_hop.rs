//! The last hop (issue 19): what Argo CD and Flux apply is exactly what verify proved. Argo CD's
//! project rules evaluated over `kubectl kustomize` of every Application's path; every field of a
//! GitOps object that changes what is applied or where refused by verify, through the binary.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{documents, files, Project, EXAMPLE};
use tenantc::intent::confine::{destination_permitted, group_kind_permitted};

const REPO: &str = "https://git.example.com/platform/tenants.git";

/// Every kind a tenant's directory can hold: ServiceEntries (an external with hosts, and the
/// node-local DNS cache), AuthorizationPolicies, PeerAuthentications.
fn every_kind(tool: &str) -> String {
    format!(
        r#"version = 1
[cluster]
pod_cidrs = ["10.244.0.0/16"]
service_cidrs = ["10.96.0.0/12"]
[platform.dns]
cidrs = ["169.254.20.10/32"]
[mesh]
mtls = "STRICT"
authorization = true
[external.stripe]
hosts = ["api.stripe.com"]
cidrs = ["203.0.113.0/24"]
ports = [443]
consumers = ["acme"]
[shared.common]
[shared.db]
consumers = ["acme"]
[tenants.acme]
namespaces = ["acme", "acme-jobs"]
[tenants.globex]
[gitops]
tool = "{tool}"
repo_url = "{REPO}"
"#
    )
}

fn kubectl_available() -> bool {
    Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `kubectl kustomize dir`, as documents.
fn kustomize(dir: &Path) -> Vec<serde_json::Value> {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("kubectl runs");
    assert!(
        out.status.success(),
        "kubectl kustomize {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    documents(&String::from_utf8_lossy(&out.stdout))
}

/// The API group of an `apiVersion` (`""` for the core group).
fn group_of(api: &str) -> &str {
    api.rsplit_once('/').map_or("", |(g, _)| g)
}

/// Evaluates Argo CD's project rules (as argo-cd's `IsGroupKindPermitted` and
/// `IsDestinationPermitted` define them) over `kubectl kustomize` of every Application's path in
/// the tree at `output` (whose repository path is `repo_path`); returns how many objects were
/// checked. Panics on the first object Argo CD would refuse.
fn argocd_permits_every_synced_object(output: &Path, repo_path: &str) -> usize {
    let tree = files(output);
    let mut apps = Vec::new();
    let mut projects = std::collections::BTreeMap::new();
    for (path, text) in tree.iter().filter(|(p, _)| p.starts_with("gitops/")) {
        for d in documents(text) {
            match d["kind"].as_str() {
                Some("Application") => apps.push((path.clone(), d)),
                Some("AppProject") => {
                    projects.insert(d["metadata"]["name"].as_str().unwrap().to_owned(), d);
                }
                _ => {}
            }
        }
    }
    let mut checked = 0;
    for (file, app) in apps {
        let project = &projects[app["spec"]["project"].as_str().unwrap()];
        let path = app["spec"]["source"]["path"].as_str().unwrap();
        let rel = path
            .strip_prefix(repo_path)
            .map(|p| p.trim_start_matches('/'))
            .unwrap_or(path);
        let dir: PathBuf = output.join(rel);
        let server = app["spec"]["destination"]["server"].as_str().unwrap();
        for obj in kustomize(&dir) {
            let api = obj["apiVersion"].as_str().unwrap();
            let kind = obj["kind"].as_str().unwrap();
            // What Argo CD knows of the cluster's API: these are the only cluster-scoped kinds
            // a tenantc tree holds.
            let namespaced = !matches!(kind, "Namespace");
            let ns = obj["metadata"]["namespace"].as_str();
            assert!(
                group_kind_permitted(project, group_of(api), kind, namespaced),
                "{file}: Argo CD would refuse {api} {kind} {} of {path}",
                obj["metadata"]["name"]
            );
            assert!(
                destination_permitted(project, server, if namespaced { ns } else { None }),
                "{file}: Argo CD would refuse the destination {ns:?} of {path}"
            );
            checked += 1;
        }
    }
    checked
}

#[test]
fn argocd_projects_permit_exactly_what_each_application_syncs() {
    if !kubectl_available() {
        eprintln!("kubectl is not installed: the Argo CD evaluation over kubectl kustomize is skipped (CI installs it)");
        return;
    }
    let p = Project::new(&every_kind("argocd"));
    p.compile().success();
    let checked = argocd_permits_every_synced_object(&p.output(), "output");
    assert!(checked > 20, "{checked}");
    // The repository's example, and the ambient example with [gitops] added.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(argocd_permits_every_synced_object(&root.join("output"), "output") > 50);
    let ambient = std::fs::read_to_string(root.join("tenants/examples/ambient.toml")).unwrap();
    let p = Project::new(&format!(
        "{ambient}\n[gitops]\ntool = \"argocd\"\nrepo_url = \"{REPO}\"\npath = \"clusters/x\"\n"
    ));
    p.compile().success();
    assert!(argocd_permits_every_synced_object(&p.output(), "clusters/x") > 10);
    let _ = EXAMPLE;
}

/// The compiled `every_kind(tool)` project, with `edit` applied to the file whose path ends
/// with `suffix`; verify's exit code and output.
fn verify_after(tool: &str, suffix: &str, edit: impl Fn(&str) -> String) -> (i32, String) {
    let p = Project::new(&every_kind(tool));
    p.compile().success();
    p.run("verify", &[]).success();
    let tree = files(&p.output());
    let path = tree
        .keys()
        .find(|k| k.ends_with(suffix))
        .unwrap_or_else(|| panic!("no file ending with {suffix}"));
    let full = p.output().join(path);
    let text = std::fs::read_to_string(&full).unwrap();
    let edited = edit(&text);
    assert_ne!(edited, text, "the edit of {suffix} changed nothing");
    std::fs::write(&full, edited).unwrap();
    let out = p.run("verify", &[]).get_output().clone();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[track_caller]
fn refused(tool: &str, suffix: &str, edit: impl Fn(&str) -> String, expect: &[&str]) {
    let (code, stdout) = verify_after(tool, suffix, edit);
    assert_eq!(code, 1, "verify passed: {stdout}");
    for e in expect {
        assert!(stdout.contains(e), "expected {e:?} in:\n{stdout}");
    }
}

#[test]
fn verify_refuses_argocd_objects_that_change_what_is_applied_or_where() {
    let acme = "tenants/acme.yaml";
    // The whitelist main generated before: Argo CD refuses the whole sync.
    refused(
        "argocd",
        acme,
        |t| {
            let start = t.find("  namespaceResourceWhitelist:").unwrap();
            let end = t.find("---").unwrap();
            format!(
                "{}  namespaceResourceWhitelist:\n  - group: networking.k8s.io\n    kind: NetworkPolicy\n  - group: networking.istio.io\n    kind: Sidecar\n{}",
                &t[..start],
                &t[end..]
            )
        },
        &[
            "Argo CD would refuse the whole sync of `tenant-acme`: its AppProject `tenant-acme` does not permit security.istio.io/AuthorizationPolicy",
            "does not permit networking.istio.io/ServiceEntry",
            "`spec.namespaceResourceWhitelist` allows",
        ],
    );
    // Source options that rewrite what is applied.
    refused(
        "argocd",
        acme,
        |t| {
            t.replace(
                "    path: output/tenants/acme\n",
                "    path: output/tenants/acme\n    kustomize:\n      patches:\n      - target: {kind: NetworkPolicy}\n        patch: x\n",
            )
        },
        &["`spec.source.kustomize` is not a field tenantc generates"],
    );
    // An Application pointed at another tenant's directory.
    refused(
        "argocd",
        acme,
        |t| t.replace("path: output/tenants/acme", "path: output/tenants/globex"),
        &["`spec.source.path` is \"output/tenants/globex\"; it must be \"output/tenants/acme\""],
    );
    // Destinations and whitelists beyond the tenant's.
    refused(
        "argocd",
        acme,
        |t| t.replacen("    namespace: acme\n", "    namespace: \"*\"\n", 1),
        &["`spec.destinations` are", "no globs"],
    );
    refused(
        "argocd",
        acme,
        |t| {
            t.replace(
                "  clusterResourceWhitelist:\n  - group: \"\"\n    kind: Namespace",
                "  clusterResourceWhitelist:\n  - group: \"*\"\n    kind: \"*\"",
            )
        },
        &["`spec.clusterResourceWhitelist` allows \"*\"/\"*\""],
    );
    // A cascading finalizer, and other prune settings.
    refused(
        "argocd",
        acme,
        |t| {
            t.replace(
                "kind: Application\nmetadata:\n",
                "kind: Application\nmetadata:\n  finalizers:\n  - resources-finalizer.argocd.argoproj.io\n",
            )
        },
        &["would delete every namespace it synced"],
    );
    refused(
        "argocd",
        acme,
        |t| {
            t.replace(
                "      prune: true\n      selfHeal: true",
                "      prune: true\n      selfHeal: true\n    syncOptions:\n    - Replace=true",
            )
        },
        &["`spec.syncPolicy.syncOptions` is not a field tenantc generates"],
    );
    // Several sources.
    refused(
        "argocd",
        acme,
        |t| {
            t.replace(
                "  source:\n",
                "  sources:\n  - repoURL: https://evil.example.com/x.git\n    path: .\n  source:\n",
            )
        },
        &["`spec.sources` is not a field tenantc generates"],
    );
    // An Application tenantc never wrote, and a tenant left without one.
    refused(
        "argocd",
        acme,
        |t| t.replace("name: tenant-acme", "name: tenant-evil"),
        &[
            "Application `tenant-evil`",
            "is not the object of any tenant",
            "tenant acme has no Application `tenant-acme` in the tree",
        ],
    );
}

#[test]
fn verify_refuses_flux_objects_that_change_what_is_applied_or_where() {
    let acme = "tenants/acme.yaml";
    for (extra, field) in [
        ("  patches:\n  - patch: x\n", "spec.patches"),
        (
            "  postBuild:\n    substitute:\n      x: y\n",
            "spec.postBuild",
        ),
        ("  images:\n  - name: x\n    newName: y\n", "spec.images"),
        ("  components:\n  - ../x\n", "spec.components"),
        ("  namePrefix: x-\n", "spec.namePrefix"),
        ("  targetNamespace: acme\n", "spec.targetNamespace"),
        ("  suspend: true\n", "spec.suspend"),
        // An account tenantc did not generate: any account of flux-system may be impersonated,
        // the controller's own included (docs/gitops.md says why none is generated yet).
        (
            "  serviceAccountName: kustomize-controller\n",
            "spec.serviceAccountName",
        ),
        ("  dependsOn:\n  - name: tenant-globex\n", "spec.dependsOn"),
        (
            "  kubeConfig:\n    secretRef:\n      name: other\n",
            "spec.kubeConfig",
        ),
    ] {
        refused(
            "flux",
            acme,
            |t| t.replace("  prune: true\n", &format!("  prune: true\n{extra}")),
            &[&format!("`{field}` is not a field tenantc generates")],
        );
    }
    refused(
        "flux",
        acme,
        |t| t.replace("deletionPolicy: Orphan", "deletionPolicy: Delete"),
        &["`spec.deletionPolicy` is \"Delete\"; it must be \"Orphan\""],
    );
    refused(
        "flux",
        acme,
        |t| {
            t.replace(
                "path: \"./output/tenants/acme\"",
                "path: \"./output/tenants\"",
            )
        },
        &["`spec.path` is \"./output/tenants\""],
    );
    refused(
        "flux",
        "gitops/tenantc.yaml",
        |t| t.replace("    branch: main", "    tag: v1"),
        &["`spec.ref` is {\"tag\":\"v1\"}; it must be {\"branch\":\"main\"}"],
    );
    refused(
        "flux",
        "gitops/tenantc.yaml",
        |t| {
            t.replace(
                "  interval: 1m\n",
                "  interval: 1m\n  ignore: \"/output/tenants/acme/acme/networkpolicies.yaml\"\n",
            )
        },
        &["`spec.ignore` is not a field tenantc generates"],
    );
}

#[test]
fn gitops_objects_without_gitops_in_the_config_are_refused() {
    let p = Project::new(&every_kind("argocd"));
    p.compile().success();
    let without = every_kind("argocd");
    let without = &without[..without.find("[gitops]").unwrap()];
    p.set_config(without);
    // compile removes its own GitOps objects; one copied back by hand is refused.
    let tree = files(&p.output());
    let (path, text) = tree
        .iter()
        .find(|(k, _)| k.ends_with("tenants/acme.yaml"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .unwrap();
    p.compile().success();
    let full = p.output().join(&path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(&full, text).unwrap();
    std::fs::write(
        p.output().join("gitops/kustomization.yaml"),
        format!("resources:\n- {}\n", path.trim_start_matches("gitops/")),
    )
    .unwrap();
    let out = p.run("verify", &[]).code(1).get_output().clone();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("but tenants.toml has no [gitops]"),
        "{stdout}"
    );
}

#[test]
fn diff_says_what_each_sync_now_applies_in_tenant_terms() {
    let with = every_kind("argocd");
    let without = with[..with.find("[gitops]").unwrap()].to_owned();
    let p = Project::new(&with);
    std::fs::write(p.path().join("base.toml"), &without).unwrap();
    let out = p
        .run("diff", &["--base", "base.toml"])
        .success()
        .get_output()
        .clone();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout
            .contains("+ Argo CD now syncs tenant acme into acme, acme-jobs (output/tenants/acme)"),
        "{stdout}"
    );
    assert!(!stdout.contains("no change"), "{stdout}");
    // A project gaining a kind and a destination, between two compiled trees.
    let smaller = with.replace("authorization = true\n", "").replace(
        "namespaces = [\"acme\", \"acme-jobs\"]",
        "namespaces = [\"acme\"]",
    );
    std::fs::write(p.path().join("base.toml"), &smaller).unwrap();
    p.run("compile", &[]).success();
    tenantc_compile_into(&p, "base.toml", "base-output");
    let out = p
        .run("diff", &["--base", "base-output"])
        .get_output()
        .clone();
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in [
        "+ Argo CD may now apply security.istio.io/AuthorizationPolicy for tenant acme",
        "+ Argo CD may now sync tenant acme into acme-jobs",
    ] {
        assert!(stdout.contains(line), "expected {line:?} in\n{stdout}");
    }
}

fn tenantc_compile_into(p: &Project, config: &str, output: &str) {
    common::tenantc()
        .current_dir(p.path())
        .args(["compile", "--config", config, "--output", output])
        .assert()
        .success();
}
