//! Lifecycle: no sync deletes a namespace, every destructive change fails CI until tenants.toml
//! acknowledges it, retired namespaces stay isolated, renamed tenants are moves.

mod common;

use common::{documents, line_col, snapshot, tenantc, Project, Schemas};

const KEEP_ARGO: &str = "Delete=false,Prune=false";

fn gitops(tool: &str) -> String {
    format!("[gitops]\ntool = \"{tool}\"\nrepo_url = \"https://git.example.com/t.git\"\n")
}

const TWO_TENANTS: &str = r#"version = 1
[mesh]
[shared.common]
[tenants.acme]
namespaces = ["acme", "acme-jobs"]
[tenants.newco]
namespaces = ["newco", "newco-batch"]
"#;

/// Every Namespace and every `default-deny` policy carries both protection annotations.
#[test]
fn namespaces_and_their_deny_all_are_never_pruned_nor_deleted_by_a_sync() {
    let p = Project::new(&format!("{TWO_TENANTS}{}", gitops("argocd")));
    p.compile().success();
    let mut namespaces = 0;
    let mut denies = 0;
    for (path, text) in common::files(&p.output()) {
        for doc in documents(&text) {
            let annotations = &doc["metadata"]["annotations"];
            let protected = annotations["argocd.argoproj.io/sync-options"] == KEEP_ARGO
                && annotations["kustomize.toolkit.fluxcd.io/prune"] == "disabled";
            match (doc["kind"].as_str(), doc["metadata"]["name"].as_str()) {
                (Some("Namespace"), _) => {
                    assert!(protected, "{path}: {doc}");
                    namespaces += 1;
                }
                (Some("NetworkPolicy"), Some("default-deny")) => {
                    assert!(protected, "{path}: {doc}");
                    denies += 1;
                }
                (Some("NetworkPolicy"), _) => assert!(annotations.is_null(), "{path}: {doc}"),
                // No finalizer: deleting an Application never cascades.
                (Some("Application"), _) => {
                    assert!(doc["metadata"]["finalizers"].is_null(), "{path}: {doc}")
                }
                _ => {}
            }
        }
    }
    assert_eq!((namespaces, denies), (5, 5));
    Schemas::load().validate_tree(&p.output());
    p.run("verify", &[]).success();
}

/// Flux: every Kustomization prunes what leaves its directory, but deleting one deletes nothing.
#[test]
fn flux_kustomizations_orphan_on_deletion() {
    let p = Project::new(&format!("{TWO_TENANTS}{}", gitops("flux")));
    p.compile().success();
    let mut kustomizations = 0;
    for (path, text) in common::files(&p.output().join("gitops")) {
        for doc in documents(&text) {
            if doc["kind"] == "Kustomization"
                && doc["apiVersion"] != "kustomize.config.k8s.io/v1beta1"
            {
                assert_eq!(doc["spec"]["prune"], true, "{path}");
                assert_eq!(doc["spec"]["deletionPolicy"], "Orphan", "{path}");
                kustomizations += 1;
            }
        }
    }
    assert!(kustomizations >= 4, "{kustomizations}");
    Schemas::load().validate_tree(&p.output());
}

#[test]
fn the_protection_annotations_cannot_be_overridden() {
    for key in [
        "argocd.argoproj.io/sync-options",
        "kustomize.toolkit.fluxcd.io/prune",
    ] {
        let toml = format!(
            "version = 1\n[shared.db]\nannotations = {{ \"example.com/x\" = \"y\", \"{key}\" = \"Prune=true\" }}\n"
        );
        let p = Project::new(&toml);
        let out = p.compile().code(2).get_output().clone();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("error: annotation `{key}` is set by tenantc to keep Argo CD and Flux from deleting the namespace, and may not be overridden")),
            "{stderr}"
        );
        let at = line_col(&toml, &format!("\"{key}\""));
        assert!(
            stderr.contains(&format!("--> tenants.toml:{at}")),
            "{stderr}"
        );
        assert!(
            stderr.contains("help: remove it; to delete a namespace on purpose, retire it"),
            "{stderr}"
        );
        assert!(!p.output().exists());
    }
}

/// A tree whose Namespace lost its protection (a hand edit, a user template) fails verify.
#[test]
fn verify_flags_an_unprotected_namespace() {
    let p = Project::new(TWO_TENANTS);
    p.compile().success();
    p.edit(
        "tenants/newco/newco-batch/namespace.yaml",
        "    kustomize.toolkit.fluxcd.io/prune: disabled\n",
        "",
    );
    let out = p.run("verify", &[]).code(1).get_output().clone();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("violation: namespace newco-batch lacks the annotation `kustomize.toolkit.fluxcd.io/prune: disabled`: a sync of the output could delete it"),
        "{stdout}"
    );
    let _ = (snapshot, tenantc);
}
