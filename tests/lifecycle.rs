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

/// Issue 19, item 4e: the example's `default-deny` stripped of its protection annotations (and,
/// in another namespace, of one of them) fails verify, naming the file and the policy.
#[test]
fn verify_flags_a_default_deny_stripped_of_its_protection() {
    let p = Project::new(common::EXAMPLE);
    p.compile().success();
    let acme = "tenants/acme/acme/networkpolicies.yaml";
    p.edit(
        acme,
        "  annotations:\n    argocd.argoproj.io/sync-options: Delete=false,Prune=false\n    kustomize.toolkit.fluxcd.io/prune: disabled\n",
        "",
    );
    p.edit(
        "shared/payments/networkpolicies.yaml",
        "    argocd.argoproj.io/sync-options: Delete=false,Prune=false\n",
        "    argocd.argoproj.io/sync-options: Prune=false\n",
    );
    let out = p.run("verify", &[]).code(1).get_output().clone();
    let stdout = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "violation: NetworkPolicy default-deny is the default deny of namespace acme but lacks the annotation `argocd.argoproj.io/sync-options: Delete=false,Prune=false` and `kustomize.toolkit.fluxcd.io/prune: disabled`: a sync could prune or delete it and leave acme open while the namespace is handed over (output/tenants/acme/acme/networkpolicies.yaml: default-deny)",
        "violation: NetworkPolicy default-deny is the default deny of namespace payments but lacks the annotation `argocd.argoproj.io/sync-options: Delete=false,Prune=false`",
    ] {
        assert!(stdout.contains(needle), "`{needle}` not in:\n{stdout}");
    }
}

const RETIRED: &str = r#"version = 1
[mesh]
[platform]
ingress = { namespace = "ingress-nginx" }
[shared.common]
[shared.old-db]
retired = true
[tenants.acme]
namespaces = ["acme", "acme-jobs"]
[tenants.newco]
namespaces = ["newco", "newco-batch"]
retired = ["newco-batch"]
ingress = true
[tenants.hooli]
retired = true
"#;

/// A retired namespace keeps its Namespace (labelled retired, still protected) and a deny-all
/// policy in its owner's directory; nothing imports it, nothing reaches it.
#[test]
fn a_retired_namespace_keeps_its_namespace_and_a_deny_all_and_nothing_else() {
    let p = Project::new(&format!("{RETIRED}{}", gitops("argocd")));
    p.compile().success();
    for (dir, owner_label) in [
        ("tenants/newco/newco-batch", "tenantc.dev/tenant"),
        ("tenants/hooli/hooli", "tenantc.dev/tenant"),
        ("shared/old-db", "tenantc.dev/shared"),
    ] {
        let ns = &documents(&p.read_out(&format!("{dir}/namespace.yaml")))[0];
        assert_eq!(
            ns["metadata"]["labels"]["tenantc.dev/retired"], "true",
            "{dir}"
        );
        assert!(ns["metadata"]["labels"][owner_label].is_string(), "{dir}");
        assert!(
            ns["metadata"]["labels"]["istio-injection"].is_null(),
            "{dir}"
        );
        assert_eq!(
            ns["metadata"]["annotations"]["argocd.argoproj.io/sync-options"],
            KEEP_ARGO
        );
        let policies = documents(&p.read_out(&format!("{dir}/networkpolicies.yaml")));
        assert_eq!(policies.len(), 1, "{dir}: {policies:?}");
        assert_eq!(policies[0]["metadata"]["name"], "default-deny");
        assert!(!p.output().join(dir).join("sidecar.yaml").exists(), "{dir}");
    }
    // The tenant's other namespaces neither reach nor import it.
    let sidecar = p.read_out("tenants/newco/newco/sidecar.yaml");
    assert!(!sidecar.contains("newco-batch"), "{sidecar}");
    let policies = p.read_out("tenants/newco/newco/networkpolicies.yaml");
    assert!(!policies.contains("newco-batch"), "{policies}");
    assert!(!p
        .read_out("shared/common/networkpolicies.yaml")
        .contains("hooli"));
    // The same Application still syncs it: its AppProject keeps the namespace as a destination.
    let gitops = common::files(&p.output().join("gitops"));
    let newco = gitops
        .iter()
        .find(|(path, _)| path.ends_with("tenants/newco.yaml"))
        .map(|(_, t)| t)
        .expect("newco's Argo CD objects");
    assert!(newco.contains("namespace: newco-batch"), "{newco}");
    assert!(gitops.keys().any(|k| k.ends_with("shared/old-db.yaml")));
    Schemas::load().validate_tree(&p.output());
    p.run("verify", &[]).success();
}

#[test]
fn verify_checks_that_a_retired_namespace_is_isolated_and_imported_by_no_sidecar() {
    let p = Project::new(RETIRED);
    p.compile().success();
    p.edit(
        "tenants/acme/acme/sidecar.yaml",
        "    - \"acme/*\"\n",
        "    - \"acme/*\"\n    - \"newco-batch/*\"\n",
    );
    std::fs::write(
        p.output().join("tenants/newco/newco-batch/sidecar.yaml"),
        "# Generated by tenantc from tenants.toml. DO NOT EDIT.\napiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata:\n  name: default\n  namespace: newco-batch\nspec:\n  egress:\n  - hosts:\n    - \"./*\"\n",
    )
    .unwrap();
    p.edit(
        "tenants/newco/kustomization.yaml",
        "- newco-batch/networkpolicies.yaml\n",
        "- newco-batch/networkpolicies.yaml\n- newco-batch/sidecar.yaml\n",
    );
    // An allow policy left in the retired namespace.
    let allow = "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: allow-all\n  namespace: newco-batch\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n  - {}\n";
    let path = p
        .output()
        .join("tenants/newco/newco-batch/networkpolicies.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}{allow}")).unwrap();
    let out = p.run("verify", &[]).code(1).get_output().clone();
    let stdout = String::from_utf8_lossy(&out.stdout);
    for want in [
        "violation: the Sidecar of acme imports `newco-batch/*`, but newco-batch is retired: no Sidecar may import it",
        "violation: namespace newco-batch is retired but has the Sidecar default",
        "newco-batch",
    ] {
        assert!(stdout.contains(want), "`{want}` not in:\n{stdout}");
    }
    assert!(
        stdout.contains("violation: every namespace and every IP address -> newco-batch (every port) is allowed but newco-batch is retired: tenants.toml allows it no ingress at all (output/tenants/newco/newco-batch/networkpolicies.yaml: allow-all)"),
        "no violation for the allow policy:\n{stdout}"
    );
}

/// In ambient mode a retired namespace is not labelled ambient (issue 19): ambient SNATs the
/// kubelet's probes to 169.254.7.127, which a deny-all refuses, so its pods would restart in a
/// loop. Out of the mesh the probes come from the node and the deny-all stays whole; verify
/// accepts that, refuses the ambient label back, and still refuses any flow into the namespace,
/// the probe address included.
#[test]
fn a_retired_namespace_in_ambient_mode_leaves_the_mesh() {
    let config = RETIRED.replace("[mesh]\n", "[mesh]\nmode = \"ambient\"\n");
    let p = Project::new(&config);
    p.compile().success();
    const BATCH: &str = "tenants/newco/newco-batch";
    for dir in [BATCH, "tenants/hooli/hooli", "shared/old-db"] {
        let ns = &documents(&p.read_out(&format!("{dir}/namespace.yaml")))[0];
        assert!(
            ns["metadata"]["labels"]["istio.io/dataplane-mode"].is_null(),
            "{dir}: {ns}"
        );
        assert_eq!(ns["metadata"]["labels"]["tenantc.dev/retired"], "true");
        let policies = documents(&p.read_out(&format!("{dir}/networkpolicies.yaml")));
        assert_eq!(policies.len(), 1, "{dir}: {policies:?}");
    }
    // The tenant's live namespace stays in the mesh.
    let newco = &documents(&p.read_out("tenants/newco/newco/namespace.yaml"))[0];
    assert_eq!(
        newco["metadata"]["labels"]["istio.io/dataplane-mode"],
        "ambient"
    );
    p.run("verify", &[]).success();

    let labels = "    tenantc.dev/retired: \"true\"\n";
    p.edit(
        &format!("{BATCH}/namespace.yaml"),
        labels,
        &format!("    istio.io/dataplane-mode: ambient\n{labels}"),
    );
    p.run("verify", &[]).code(1).stdout(predicates::str::contains(
        "violation: namespace newco-batch is retired but carries `istio.io/dataplane-mode: ambient`: ambient mode SNATs the kubelet's probes to 169.254.7.127, which its deny-all refuses",
    ));

    let p = Project::new(&config);
    p.compile().success();
    let probes = "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: allow-probes\n  namespace: newco-batch\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - ipBlock:\n        cidr: 169.254.7.127/32\n";
    let path = p.output().join(format!("{BATCH}/networkpolicies.yaml"));
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}{probes}")).unwrap();
    p.run("verify", &[]).code(1).stdout(predicates::str::contains(
        "-> newco-batch (every port) is allowed but newco-batch is retired: tenants.toml allows it no ingress at all",
    ));
}

/// Compiles `toml` and expects an error at the last `needle` with `message` and `help`.
fn refused(toml: &str, needle: &str, message: &str, help: &str) {
    let last = toml.rfind(needle).expect("needle in the config");
    let p = Project::new(toml);
    let out = p.compile().code(2).get_output().clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("error: {message}")),
        "`{message}` not in:\n{stderr}"
    );
    let line = toml[..last].matches('\n').count() + 1;
    let col = last - toml[..last].rfind('\n').map_or(0, |i| i + 1) + 1;
    let at = format!("{line}:{col}");
    assert!(
        stderr.contains(&format!("--> tenants.toml:{at}")),
        "`{at}` not in:\n{stderr}"
    );
    if !help.is_empty() {
        assert!(
            stderr.contains(&format!("help: {help}")),
            "`{help}` not in:\n{stderr}"
        );
    }
    assert!(!p.output().exists());
}

#[test]
fn retired_rules() {
    let base = "version = 1\n[platform]\ningress = { namespace = \"ingress-nginx\" }\n[platform.kube_api]\ncidrs = [\"10.0.0.1/32\"]\n";
    refused(
        &format!("{base}[tenants.newco]\nnamespaces = [\"newco\"]\nretired = [\"newco-batch\"]\n"),
        "\"newco-batch\"",
        "`retired` of tenant `newco` names `newco-batch`, which is not one of its namespaces",
        "a retired namespace stays in `namespaces`: list it there too",
    );
    refused(
        &format!("{base}[tenants.newco]\nnamespaces = [\"newco\", \"newco-batch\"]\nretired = [\"newco-batch\", \"newco-batch\"]\n"),
        "\"newco-batch\"",
        "namespace `newco-batch` is listed twice in `retired`",
        "remove the duplicate",
    );
    refused(
        &format!("{base}[tenants.newco]\nnamespaces = [\"newco\", \"newco-batch\"]\nretired = [\"newco-batch\"]\ningress = [\"newco-batch\"]\n"),
        "\"newco-batch\"",
        "`ingress` of tenant `newco` names `newco-batch`, which is retired",
        "a retired namespace has no flows: remove it",
    );
    refused(
        &format!("{base}[tenants.newco]\nnamespaces = [\"newco\", \"newco-batch\"]\nretired = [\"newco-batch\"]\n[tenants.newco.expose.newco-batch]\nconsumers = [\"acme\"]\n[tenants.acme]\n"),
        "newco-batch]",
        "tenant `newco` exposes `newco-batch`, which is retired",
        "a retired namespace has no flows: remove it",
    );
    refused(
        &format!("{base}[tenants.hooli]\nretired = true\nkube_api = true\n"),
        "true",
        "tenant `hooli` is retired, but `kube_api = true` still grants it a flow",
        "a retired namespace has no flows: remove it",
    );
    refused(
        &format!("{base}[tenants.hooli]\nretired = true\ningress = true\n"),
        "true",
        "tenant `hooli` is retired, but `ingress = true` still grants it a flow",
        "a retired namespace has no flows: remove it",
    );
    refused(
        &format!("{base}[shared.old-db]\nretired = true\nconsumers = [\"acme\"]\n[tenants.acme]\n"),
        "\"acme\"]",
        "shared entry `old-db` is retired, but `consumers` still grants it flows",
        "a retired namespace has no flows: remove it",
    );
    refused(
        &format!("{base}[shared.old-db]\nretired = true\nports = [5432]\n"),
        "[5432]",
        "shared entry `old-db` is retired, but `ports` still grants it flows",
        "a retired namespace has no flows: remove it",
    );
    refused(
        &format!("{base}[shared.db]\nconsumers = [\"acme\", \"hooli\"]\n[tenants.acme]\n[tenants.hooli]\nretired = true\n"),
        "\"hooli\"]",
        "[shared.db] lists `hooli` as a consumer, but `hooli` is retired",
        "a retired tenant or shared entry has no flows: remove it from `consumers`",
    );
    refused(
        &format!("{base}[tenants.acme]\nretired = \"yes\"\n"),
        "\"yes\"",
        "`retired` must be true, false or a list of the tenant's namespaces, found a string",
        "",
    );
    refused(
        &format!("{base}[purged]\nnamespaces = [\"acme\"]\n[tenants.acme]\n"),
        "\"acme\"]",
        "namespace `acme` is purged, but tenant `acme` claims it at line",
        "a purged namespace has left tenants.toml",
    );
    refused(
        &format!("{base}[purged]\nnamespaces = [\"Old_NS\"]\n"),
        "\"Old_NS\"",
        "purged namespace `Old_NS` is not a valid namespace name",
        "did you mean `old-ns`?",
    );
    refused(
        &format!("{base}[purged]\nnamespace = [\"x\"]\n"),
        "namespace =",
        "unknown key `namespace` in [purged]",
        "did you mean `namespaces`?",
    );
}

/// The base of the change tests: two tenants, a shared entry only acme consumes, a tenant with
/// its default namespace.
const BASE: &str = r#"version = 1
[mesh]
[shared.common]
[shared.payments]
consumers = ["acme"]
[tenants.acme]
namespaces = ["acme", "acme-jobs"]
[tenants.newco]
namespaces = ["newco", "newco-batch"]
[tenants.hooli]
"#;

/// A project whose output and `base.toml` are BASE's, and whose tenants.toml is `new`.
fn changed(new: &str) -> Project {
    let p = Project::new(BASE);
    p.compile().success();
    std::fs::write(p.path().join("base.toml"), BASE).unwrap();
    p.set_config(new);
    p
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

fn without_newco_batch() -> String {
    BASE.replace(
        "namespaces = [\"newco\", \"newco-batch\"]",
        "namespaces = [\"newco\"]",
    )
}

#[test]
fn removing_a_namespace_fails_compile_check_and_diff_until_acknowledged() {
    let p = changed(&without_newco_batch());
    let before = snapshot(&p.output());
    // compile refuses and writes nothing.
    let a = p.compile().code(1);
    let err = stderr(&a);
    assert!(err.contains("error: namespace newco-batch (tenant newco) would be deleted, with every workload and volume in it: it is removed from tenant newco (was output/tenants/newco/newco-batch/namespace.yaml); not acknowledged"), "{err}");
    assert!(err.contains("help: to keep it isolated until a person deletes it, keep it in [tenants.newco] `namespaces` and add it to `retired` there (`retired = [\"newco-batch\"]`"), "{err}");
    assert!(
        err.contains("if it is already deleted from the cluster, add it to [purged] namespaces"),
        "{err}"
    );
    assert!(err.contains("nothing was written"), "{err}");
    assert_eq!(snapshot(&p.output()), before);
    // compile --check lists it first.
    let a = p.run("compile", &["--check"]).code(1);
    assert!(stdout(&a).starts_with("destructive and breaking changes (1 not acknowledged):\n! namespace newco-batch (tenant newco) would be deleted"), "{}", stdout(&a));
    // diff against the base tenants.toml names the base's line.
    let a = p.run("diff", &["--base", "base.toml"]).code(1);
    let at = line_col(BASE, "\"newco-batch\"");
    assert!(
        stdout(&a).contains(&format!(
            "it is removed from tenant newco (was base.toml:{at}); not acknowledged"
        )),
        "{}",
        stdout(&a)
    );
    assert!(stderr(&a).contains(
        "error: 1 namespace(s) would be deleted and tenants.toml does not acknowledge it"
    ));
    // ... and against the base output tree, its file.
    let base_tree = p.path().join("base-output");
    std::fs::rename(p.output(), &base_tree).unwrap();
    p.run("compile", &["--quiet"]).success(); // a fresh output: nothing on disk to lose
    let a = p.run("diff", &["--base", "base-output"]).code(1);
    assert!(
        stdout(&a).contains(
            "(was base-output/tenants/newco/newco-batch/namespace.yaml); not acknowledged"
        ),
        "{}",
        stdout(&a)
    );
}

#[test]
fn removing_a_tenant_or_a_shared_entry_is_destructive() {
    let p = changed(&BASE.replace("[tenants.hooli]\n", ""));
    let a = p.run("diff", &["--base", "base.toml"]).code(1);
    let at = line_col(BASE, "hooli]");
    assert!(stdout(&a).contains(&format!("! namespace hooli (tenant hooli) would be deleted, with every workload and volume in it: tenant hooli is removed (was base.toml:{at})")), "{}", stdout(&a));
    assert!(stderr(&a).contains("help: to keep it isolated until a person deletes it, keep [tenants.hooli] with its namespaces and set `retired = true` in it"), "{}", stderr(&a));
    p.compile().code(1);

    let p = changed(&BASE.replace("[shared.payments]\nconsumers = [\"acme\"]\n", ""));
    let a = p.run("diff", &["--base", "base.toml"]).code(1);
    let out = stdout(&a);
    let at = line_col(BASE, "payments]");
    assert!(out.contains(&format!("! namespace payments (shared) would be deleted, with every workload and volume in it: shared entry payments is removed (was base.toml:{at})")), "{out}");
    // The consumer's loss is breaking, named by the rule that granted it.
    assert!(out.contains(&format!("- breaking: acme may no longer reach payments, granted by [shared.payments] (base.toml:{at})")), "{out}");
}

#[test]
fn a_renamed_tenant_is_a_move_and_needs_no_retirement() {
    let new = BASE
        .replace("[tenants.acme]", "[tenants.acme-corp]")
        .replace("consumers = [\"acme\"]", "consumers = [\"acme-corp\"]");
    let p = changed(&new);
    let a = p.run("diff", &["--base", "base.toml"]).code(0);
    let at = line_col(&new, "acme-corp]");
    assert!(stdout(&a).starts_with(&format!("destructive and breaking changes (0 not acknowledged):\n~ tenant acme is renamed to acme-corp (tenants.toml:{at}): its namespaces acme, acme-jobs move with it, none is deleted\n")), "{}", stdout(&a));
    assert!(!stdout(&a).contains("! namespace"), "{}", stdout(&a));
    assert!(!stdout(&a).contains("- namespace"), "{}", stdout(&a));
    // compile moves the files from tenants/acme/ to tenants/acme-corp/ without complaint.
    p.compile().success();
    assert!(p
        .output()
        .join("tenants/acme-corp/acme-jobs/namespace.yaml")
        .is_file());
    assert!(!p.output().join("tenants/acme").exists());
}

#[test]
fn a_namespace_that_moves_to_another_tenant_and_a_lost_flow_are_breaking() {
    let new = BASE
        .replace(
            "namespaces = [\"acme\", \"acme-jobs\"]",
            "namespaces = [\"acme\"]",
        )
        .replace(
            "namespaces = [\"newco\", \"newco-batch\"]",
            "namespaces = [\"newco\", \"newco-batch\", \"acme-jobs\"]",
        )
        .replace("consumers = [\"acme\"]", "consumers = [\"newco\"]");
    let p = changed(&new);
    let a = p.run("diff", &["--base", "base.toml"]).code(0);
    let out = stdout(&a);
    let moved = line_col(&new, "\"acme-jobs\"");
    assert!(out.contains(&format!("~ namespace acme-jobs moves from tenant acme to tenant newco (tenants.toml:{moved}): who may reach it changes")), "{out}");
    let rule = line_col(&new, "payments]");
    assert!(out.contains(&format!("- breaking: acme may no longer reach payments, granted by [shared.payments] (tenants.toml:{rule})")), "{out}");
    p.compile().success();
}

#[test]
fn retire_then_purge() {
    // Retire: the namespace stays, deny-all; nothing fails.
    let retired = BASE.replace(
        "namespaces = [\"newco\", \"newco-batch\"]",
        "namespaces = [\"newco\", \"newco-batch\"]\nretired = [\"newco-batch\"]",
    );
    let p = changed(&retired);
    let a = p.run("diff", &["--base", "base.toml"]).code(0);
    // The value of `retired = [...]`, 11 columns after the key.
    let line = line_col(&retired, "retired = [").replace(":1", ":12");
    let at = line;
    assert!(stdout(&a).contains(&format!("= namespace newco-batch (tenant newco) is retired: it keeps its Namespace and a deny-all policy, and loses every flow (tenants.toml:{at})")), "{}", stdout(&a));
    p.compile().success();
    p.run("verify", &[]).success();
    assert!(p
        .output()
        .join("tenants/newco/newco-batch/namespace.yaml")
        .is_file());
    std::fs::write(p.path().join("base.toml"), &retired).unwrap();

    // Leaving `retired` without [purged] is a deletion again.
    p.set_config(&without_newco_batch());
    p.compile().code(1).stderr(predicates::str::contains(
        "help: it is retired: once a person has deleted it from the cluster (`kubectl delete namespace newco-batch`), add it to [purged] namespaces",
    ));
    p.run("diff", &["--base", "base.toml"]).code(1);

    // Purged: a person deleted it; tenantc forgets it.
    let purged = format!(
        "{}[purged]\nnamespaces = [\"newco-batch\"]\n",
        without_newco_batch()
    );
    p.set_config(&purged);
    let a = p.run("diff", &["--base", "base.toml"]).code(0);
    assert!(stdout(&a).contains("= namespace newco-batch (tenant newco) is purged: tenantc forgets it; it must already be deleted from the cluster (was base.toml:"), "{}", stdout(&a));
    let a = p.compile().success();
    assert!(stdout(&a).contains("2 removed"), "{}", stdout(&a));
    assert!(!p.output().join("tenants/newco/newco-batch").exists());
    p.run("verify", &[]).success();
    // Once merged, the [purged] entry may go too: nothing is left to delete.
    std::fs::write(p.path().join("base.toml"), &purged).unwrap();
    p.set_config(&without_newco_batch());
    p.run("diff", &["--base", "base.toml"]).code(0);
    p.compile().success();
}

#[test]
fn the_pr_comment_puts_destructive_changes_first() {
    let new = BASE
        .replace("[tenants.hooli]\n", "")
        .replace("consumers = [\"acme\"]", "consumers = [\"newco\"]");
    let p = changed(&new);
    let a = p
        .run("diff", &["--base", "base.toml", "--format", "markdown"])
        .code(1);
    let md = stdout(&a);
    assert!(
        md.starts_with("### :warning: tenantc: destructive changes (1 not acknowledged)\n"),
        "{md}"
    );
    insta::assert_snapshot!("destructive_markdown", md);
    let a = p
        .run("diff", &["--base", "base.toml", "--format", "json"])
        .code(1);
    let json: serde_json::Value = serde_json::from_str(&stdout(&a)).unwrap();
    assert_eq!(json["lifecycle"]["unacknowledged"], 1);
    assert_eq!(json["lifecycle"]["changes"][0]["change"], "deleted");
    assert_eq!(json["lifecycle"]["changes"][0]["namespace"], "hooli");
    assert_eq!(json["lifecycle"]["changes"][0]["at"]["file"], "base.toml");
    // All acknowledged: a heading of its own still, and exit 0.
    let retired = BASE.replace("[tenants.hooli]\n", "[tenants.hooli]\nretired = true\n");
    p.set_config(&retired);
    let a = p
        .run("diff", &["--base", "base.toml", "--format", "markdown"])
        .code(0);
    insta::assert_snapshot!("retired_markdown", stdout(&a));
}

#[test]
fn compile_json_reports_a_refused_deletion() {
    let p = changed(&without_newco_batch());
    let a = p.run("compile", &["--format", "json"]).code(1);
    let json: serde_json::Value = serde_json::from_str(&stdout(&a)).unwrap();
    assert_eq!(json["status"], "destructive");
    assert_eq!(json["lifecycle"]["unacknowledged"], 1);
    let _ = tenantc;
}

/// A retired namespace keeps only its Namespace and its deny-all: its owner's RoleBindings,
/// quota and LimitRange do not follow it (nobody is to deploy there any more), and `verify`
/// refuses any left or put there.
#[test]
fn a_retired_namespace_keeps_no_access_objects() {
    let access = "[defaults]\npod_security = \"restricted\"\nquota = { pods = \"10\" }\ncontainer_defaults = { request = { cpu = \"100m\" } }\n";
    let config = RETIRED
        .replacen("version = 1\n", &format!("version = 1\n{access}"), 1)
        .replace(
            "[tenants.newco]\n",
            "[tenants.newco]\nowners = [\"group:newco-admins\"]\n",
        );
    let p = Project::new(&config);
    p.compile().success();
    let has_access = |dir: &str| {
        let text = p.read_out(&format!("{dir}/namespace.yaml"));
        ["RoleBinding", "ResourceQuota", "LimitRange"]
            .iter()
            .any(|kind| text.contains(&format!("\nkind: {kind}\n")))
    };
    assert!(has_access("tenants/newco/newco"));
    for dir in [
        "tenants/newco/newco-batch",
        "tenants/hooli/hooli",
        "shared/old-db",
    ] {
        assert!(!has_access(dir), "{dir} has access objects");
    }
    Schemas::load().validate_tree(&p.output());
    p.run("verify", &[]).success();
    // The active namespace's access objects copied after the retired one's Namespace.
    let active = p.read_out("tenants/newco/newco/namespace.yaml");
    let (_, objects) = active.split_once("\n---\n").unwrap();
    let retired = "tenants/newco/newco-batch/namespace.yaml";
    let text = format!(
        "{}---\n{}",
        p.read_out(retired),
        objects.replace("namespace: newco\n", "namespace: newco-batch\n")
    );
    std::fs::write(p.output().join(retired), text).unwrap();
    let out = p.run("verify", &[]).code(1).get_output().clone();
    let stdout = String::from_utf8_lossy(&out.stdout);
    for want in [
        "violation: group newco-admins may administer newco-batch, but tenants.toml does not say so",
        "violation: namespace newco-batch has the ResourceQuota tenantc, which tenants.toml does not give it",
        "violation: namespace newco-batch has the LimitRange tenantc, which tenants.toml does not give it",
    ] {
        assert!(stdout.contains(want), "`{want}` not in:\n{stdout}");
    }
}
