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
    // Another account: any account of flux-system may be impersonated, the controller's own
    // included; none at all applies with the controller's rights.
    refused(
        "flux",
        acme,
        |t| {
            t.replace(
                "serviceAccountName: tenant-acme",
                "serviceAccountName: kustomize-controller",
            )
        },
        &["`spec.serviceAccountName` is \"kustomize-controller\"; it must be \"tenant-acme\""],
    );
    refused(
        "flux",
        acme,
        |t| t.replace("  serviceAccountName: tenant-acme\n", ""),
        &["`spec.serviceAccountName` is nothing; it must be \"tenant-acme\""],
    );
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

/// The resource of a kind, as RBAC rules name it: the kinds a tenantc tree holds.
fn resource_of(kind: &str) -> &'static str {
    match kind {
        "Namespace" => "namespaces",
        "NetworkPolicy" => "networkpolicies",
        "ServiceEntry" => "serviceentries",
        "Sidecar" => "sidecars",
        "AuthorizationPolicy" => "authorizationpolicies",
        "PeerAuthentication" => "peerauthentications",
        "RoleBinding" => "rolebindings",
        "ResourceQuota" => "resourcequotas",
        "LimitRange" => "limitranges",
        other => panic!("a kind the test does not know: {other}"),
    }
}

/// The rights of one account, from the RBAC objects of a tree, evaluated as Kubernetes' RBAC
/// authorizer does: a rule matches when its apiGroups, resources and verbs each hold the
/// request's or `*`, and its resourceNames are empty or hold the name; a ClusterRoleBinding's
/// role applies in every namespace and to cluster-scoped objects, a RoleBinding's only in its
/// namespace. (`pkg/registry/rbac/validation`: `RuleAllows`, `appliesTo`.)
struct Rights {
    /// (namespace the rule applies in, `None`: everywhere), rule.
    rules: Vec<(Option<String>, serde_json::Value)>,
}

impl Rights {
    fn of(account: (&str, &str), rbac: &[serde_json::Value]) -> Self {
        let roles: std::collections::BTreeMap<&str, &serde_json::Value> = rbac
            .iter()
            .filter(|d| d["kind"] == "ClusterRole")
            .map(|d| (d["metadata"]["name"].as_str().unwrap(), d))
            .collect();
        let mut rules = Vec::new();
        for b in rbac.iter().filter(|d| {
            matches!(
                d["kind"].as_str(),
                Some("ClusterRoleBinding" | "RoleBinding")
            )
        }) {
            let bound = b["subjects"].as_array().unwrap().iter().any(|s| {
                s["kind"] == "ServiceAccount"
                    && s["namespace"] == account.0
                    && s["name"] == account.1
            });
            if !bound {
                continue;
            }
            assert_eq!(b["roleRef"]["kind"], "ClusterRole");
            let role = roles[b["roleRef"]["name"].as_str().unwrap()];
            let scope = b["metadata"]["namespace"].as_str().map(str::to_owned);
            if b["kind"] == "RoleBinding" {
                assert!(scope.is_some());
            }
            for r in role["rules"].as_array().unwrap() {
                rules.push((scope.clone(), r.clone()));
            }
        }
        Self { rules }
    }

    fn allows(
        &self,
        verb: &str,
        group: &str,
        resource: &str,
        ns: Option<&str>,
        name: &str,
    ) -> bool {
        let has = |list: &serde_json::Value, v: &str| {
            list.as_array()
                .is_some_and(|l| l.iter().any(|x| x == v || x == "*"))
        };
        self.rules.iter().any(|(scope, r)| {
            let in_scope = match (scope, ns) {
                (None, _) => true,
                // A RoleBinding grants nothing on cluster-scoped objects.
                (Some(s), Some(n)) => s == n,
                (Some(_), None) => false,
            };
            in_scope
                && has(&r["apiGroups"], group)
                && has(&r["resources"], resource)
                && has(&r["verbs"], verb)
                && r["resourceNames"]
                    .as_array()
                    .is_none_or(|names| names.is_empty() || names.iter().any(|x| x == name))
        })
    }
}

/// Evaluates, for every Flux Kustomization with an account in the tree at `output`, Kubernetes
/// RBAC over `kubectl kustomize` of its path: the account may get and server-side apply every
/// object (a Namespace only after a stub of it exists, which the group creates; a RoleBinding
/// with `bind` on its role), and may do nothing in another unit's namespaces, on another
/// Namespace or on a kind its directory lacks. Returns how many objects were checked.
fn flux_permits_every_applied_object(output: &Path, repo_path: &str) -> usize {
    let tree = files(output);
    let (mut units, mut rbac, mut stubs) = (Vec::new(), Vec::new(), Vec::new());
    for (_, text) in tree.iter().filter(|(p, _)| p.starts_with("gitops/")) {
        for d in documents(text) {
            match d["kind"].as_str() {
                Some("Kustomization") if d["spec"]["serviceAccountName"].is_string() => {
                    units.push(d)
                }
                Some("ClusterRole" | "ClusterRoleBinding" | "RoleBinding") => rbac.push(d),
                Some("Namespace") => stubs.push(d),
                _ => {}
            }
        }
    }
    assert!(!units.is_empty(), "no Kustomization with an account");
    for s in &stubs {
        assert_eq!(
            s["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/ssa"], "IfNotPresent",
            "{s}"
        );
    }
    let stubbed: std::collections::BTreeSet<&str> = stubs
        .iter()
        .map(|s| s["metadata"]["name"].as_str().unwrap())
        .collect();
    // Every unit's objects, to try each account on the others'.
    let mut applied = Vec::new();
    for ks in &units {
        let path = ks["spec"]["path"]
            .as_str()
            .unwrap()
            .trim_start_matches("./");
        let rel = path
            .strip_prefix(repo_path)
            .map(|p| p.trim_start_matches('/'))
            .unwrap_or(path);
        let account = ks["spec"]["serviceAccountName"]
            .as_str()
            .unwrap()
            .to_owned();
        let ns = ks["metadata"]["namespace"].as_str().unwrap().to_owned();
        applied.push(((ns, account), kustomize(&output.join(rel))));
    }
    let mut checked = 0;
    for (i, ((controller, account), objects)) in applied.iter().enumerate() {
        let rights = Rights::of((controller, account), &rbac);
        let own: std::collections::BTreeSet<&str> = objects
            .iter()
            .filter(|o| o["kind"] == "Namespace")
            .map(|o| o["metadata"]["name"].as_str().unwrap())
            .collect();
        for obj in objects {
            let api = obj["apiVersion"].as_str().unwrap();
            let kind = obj["kind"].as_str().unwrap();
            let name = obj["metadata"]["name"].as_str().unwrap();
            let ns = obj["metadata"]["namespace"].as_str();
            let (group, resource) = (group_of(api), resource_of(kind));
            if kind == "Namespace" {
                assert!(
                    stubbed.contains(name),
                    "{account}: no stub of Namespace {name}"
                );
            } else {
                assert!(
                    own.contains(ns.unwrap()),
                    "{account}: {kind} {name} outside its namespaces"
                );
                assert!(
                    rights.allows("create", group, resource, ns, name),
                    "{account}: may not create {kind} {name} in {ns:?}"
                );
                assert!(
                    rights.allows("delete", group, resource, ns, name),
                    "{account}: may not prune {kind} {name}"
                );
            }
            for verb in ["get", "patch"] {
                assert!(
                    rights.allows(verb, group, resource, ns, name),
                    "{account}: may not {verb} {kind} {name} in {ns:?}"
                );
            }
            if kind == "RoleBinding" {
                let role = obj["roleRef"]["name"].as_str().unwrap();
                assert!(
                    rights.allows(
                        "bind",
                        "rbac.authorization.k8s.io",
                        "clusterroles",
                        ns,
                        role
                    ),
                    "{account}: may not bind {role} in {ns:?}"
                );
                assert!(!rights.allows(
                    "bind",
                    "rbac.authorization.k8s.io",
                    "clusterroles",
                    ns,
                    "cluster-admin"
                ));
            }
            checked += 1;
        }
        // Nothing beyond: another unit's objects, another kind, cluster-wide rights.
        for (j, (_, others)) in applied.iter().enumerate() {
            if i == j {
                continue;
            }
            for obj in others {
                let kind = obj["kind"].as_str().unwrap();
                let name = obj["metadata"]["name"].as_str().unwrap();
                let ns = obj["metadata"]["namespace"].as_str();
                let (group, resource) = (
                    group_of(obj["apiVersion"].as_str().unwrap()),
                    resource_of(kind),
                );
                for verb in ["create", "patch", "delete", "update"] {
                    assert!(
                        !rights.allows(verb, group, resource, ns, name),
                        "{account} may {verb} {kind} {name} in {ns:?}, another unit's"
                    );
                }
            }
        }
        for ns in &own {
            for (group, resource) in [
                ("", "secrets"),
                ("", "pods"),
                ("apps", "deployments"),
                ("rbac.authorization.k8s.io", "roles"),
            ] {
                assert!(
                    !rights.allows("create", group, resource, Some(ns), "x"),
                    "{account} may create {resource} in {ns}"
                );
            }
            assert!(
                !rights.allows("delete", "", "namespaces", None, ns),
                "{account} may delete its Namespace {ns}"
            );
        }
        for (group, resource) in [
            ("", "namespaces"),
            ("rbac.authorization.k8s.io", "clusterrolebindings"),
            ("rbac.authorization.k8s.io", "clusterroles"),
        ] {
            assert!(
                !rights.allows("create", group, resource, None, "x"),
                "{account} may create {resource}"
            );
            assert!(
                !rights.allows("patch", group, resource, None, "kube-system"),
                "{account} may patch {resource}"
            );
        }
    }
    checked
}

#[test]
fn flux_accounts_permit_exactly_what_each_kustomization_applies() {
    if !kubectl_available() {
        eprintln!("kubectl is not installed: the RBAC evaluation over kubectl kustomize is skipped (CI installs it)");
        return;
    }
    let p = Project::new(&every_kind("flux"));
    p.compile().success();
    assert!(flux_permits_every_applied_object(&p.output(), "output") > 20);
    // The repository's example (owners, editors, viewers, quotas: RoleBindings to bind) and the
    // ambient one, under Flux.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = std::fs::read_to_string(root.join("tenants/tenants.toml")).unwrap();
    let p = Project::new(&example.replace("tool = \"argocd\"", "tool = \"flux\""));
    p.compile().success();
    p.run("verify", &[]).success();
    assert!(flux_permits_every_applied_object(&p.output(), "output") > 50);
    let ambient = std::fs::read_to_string(root.join("tenants/examples/ambient.toml")).unwrap();
    let p = Project::new(&format!(
        "{ambient}\n[gitops]\ntool = \"flux\"\nrepo_url = \"{REPO}\"\npath = \"clusters/x\"\n"
    ));
    p.compile().success();
    p.run("verify", &[]).success();
    assert!(flux_permits_every_applied_object(&p.output(), "clusters/x") > 10);
}

#[test]
fn verify_refuses_flux_account_objects_other_than_tenantcs() {
    let acme = "tenants/acme.yaml";
    // A wider role: a kind the directory lacks, a verb, every resource.
    refused(
        "flux",
        acme,
        |t| {
            t.replacen(
                "  - networkpolicies\n",
                "  - networkpolicies\n  - secrets\n",
                1,
            )
        },
        &[
            "the ClusterRole `tenantc-flux:tenant-acme`",
            "`rules[",
            "is not what tenantc writes",
        ],
    );
    refused(
        "flux",
        acme,
        |t| {
            t.replace(
                "  - get\n  - patch\n  resourceNames:",
                "  - get\n  - patch\n  - delete\n  resourceNames:",
            )
        },
        &["ClusterRole `tenantc-flux:tenant-acme:namespaces`"],
    );
    // The binding of another namespace, another role, another subject.
    refused(
        "flux",
        acme,
        |t| {
            t.replace(
                "  name: tenantc-flux\n  namespace: acme-jobs\n",
                "  name: tenantc-flux\n  namespace: globex\n",
            )
        },
        &[
            "RoleBinding `tenantc-flux` in globex",
            "tenant acme's Flux account lacks the RoleBinding `tenantc-flux` in acme-jobs",
        ],
    );
    refused(
        "flux",
        acme,
        |t| {
            t.replacen(
                "  kind: ClusterRole\n  name: \"tenantc-flux:tenant-acme\"\n",
                "  kind: ClusterRole\n  name: cluster-admin\n",
                1,
            )
        },
        &["`roleRef.name` is \"cluster-admin\", it must be \"tenantc-flux:tenant-acme\""],
    );
    // A stub that would be updated (and so fight the tenant's own Namespace), or labelled.
    refused(
        "flux",
        acme,
        |t| {
            t.replacen(
                "kustomize.toolkit.fluxcd.io/ssa: IfNotPresent",
                "kustomize.toolkit.fluxcd.io/ssa: Override",
                1,
            )
        },
        &[
            "Namespace `acme`",
            "`metadata.annotations.kustomize.toolkit.fluxcd.io/ssa` is \"Override\"",
        ],
    );
    // A second copy of the role, told apart only by a namespace a cluster-scoped kind ignores.
    refused(
        "flux",
        acme,
        |t| {
            let at = t
                .find("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n")
                .unwrap();
            let end = at + t[at..].find("---\n").unwrap();
            let copy = t[at..end]
                .replacen("metadata:\n", "metadata:\n  namespace: acme\n", 1)
                .replacen(
                    "  - networkpolicies\n",
                    "  - networkpolicies\n  - secrets\n",
                    1,
                );
            format!("{t}---\n{copy}")
        },
        &["is not one of the objects of tenant acme's Flux account"],
    );
    // An object of no unit, with the controller's rights.
    refused(
        "flux",
        acme,
        |t| {
            format!("{t}---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: x\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cluster-admin\nsubjects:\n- kind: ServiceAccount\n  name: tenant-acme\n  namespace: flux-system\n")
        },
        &["holds the ClusterRoleBinding `x`, which tenantc writes for no unit"],
    );
    // Moved next to another unit's objects: applied by another group's sync.
    refused(
        "flux",
        acme,
        |t| {
            let at = t.find("---\napiVersion: v1\nkind: ServiceAccount").unwrap();
            let end = t[at + 4..].find("---\n").map_or(t.len(), |e| at + 4 + e);
            format!("{}{}", &t[..at], &t[end..])
        },
        &["tenant acme's Flux account lacks the ServiceAccount `flux-system/tenant-acme`"],
    );
    // With Argo CD, an account's objects are nobody's.
    refused(
        "argocd",
        acme,
        |t| {
            format!("{t}---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: tenant-acme\n  namespace: argocd\n")
        },
        &["holds the ServiceAccount `argocd/tenant-acme`, which tenantc writes for no unit"],
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

/// What `diff` says when `[gitops]` is added (from tenants.toml), and between two compiled trees
/// when a tenant's kinds and namespaces grow (from the AppProjects under Argo CD, from the
/// accounts' roles under Flux).
#[test]
fn diff_says_what_each_sync_now_applies_in_tenant_terms() {
    for tool in ["argocd", "flux"] {
        let name = if tool == "argocd" { "Argo CD" } else { "Flux" };
        let with = every_kind(tool);
        let without = with[..with.find("[gitops]").unwrap()].to_owned();
        let p = Project::new(&with);
        std::fs::write(p.path().join("base.toml"), &without).unwrap();
        let out = p
            .run("diff", &["--base", "base.toml"])
            .success()
            .get_output()
            .clone();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line =
            format!("+ {name} now syncs tenant acme into acme, acme-jobs (output/tenants/acme)");
        assert!(stdout.contains(&line), "expected {line:?} in\n{stdout}");
        assert!(!stdout.contains("no change"), "{stdout}");
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
            format!("+ {name} may now apply security.istio.io/AuthorizationPolicy for tenant acme"),
            format!("+ {name} may now sync tenant acme into acme-jobs"),
        ] {
            assert!(stdout.contains(&line), "expected {line:?} in\n{stdout}");
        }
    }
}

fn tenantc_compile_into(p: &Project, config: &str, output: &str) {
    common::tenantc()
        .current_dir(p.path())
        .args(["compile", "--config", config, "--output", output])
        .assert()
        .success();
}

/// The reader threads take the GitOps layer's first step on each object as they read its file,
/// once the intent is derived (`tree::read_tree_with`); a file read before that is read again by
/// the layer. Both must judge alike: the same report, byte for byte, on a tree with objects that
/// breach their confinement, an object defined twice and one of no unit. Under Flux, a file with
/// an account's objects is read with the tree as well.
#[test]
fn gitops_objects_read_with_the_tree_are_judged_as_when_read_again() {
    use tenantc::verify::layer::gitops;
    use tenantc::verify::tree::{read_tree, read_tree_with, GitOpsSlot};
    for tool in ["argocd", "flux"] {
        let p = Project::new(&every_kind(tool));
        p.compile().success();
        let tree = files(&p.output());
        let path_of = |suffix: &str| {
            p.output()
                .join(tree.keys().find(|k| k.ends_with(suffix)).unwrap())
        };
        let acme = std::fs::read_to_string(path_of("tenants/acme.yaml")).unwrap();
        let body = &acme[acme.find('\n').unwrap() + 1..];
        // A cascading finalizer on each of acme's objects, and both defined again, with an object
        // of no unit, in globex's file. Under Flux, acme's account may also delete namespaces.
        let widened = acme
            .replace(
                "  name: tenant-acme\n",
                "  name: tenant-acme\n  finalizers:\n  - resources-finalizer.argocd.argoproj.io\n",
            )
            .replace(
                "  - namespaces\n  verbs:\n  - get\n",
                "  - namespaces\n  verbs:\n  - delete\n  - get\n",
            );
        assert_eq!(
            tool == "flux",
            widened.contains("  - delete\n  - get\n  - patch\n")
        );
        std::fs::write(path_of("tenants/acme.yaml"), widened).unwrap();
        let globex = std::fs::read_to_string(path_of("tenants/globex.yaml")).unwrap();
        std::fs::write(
            path_of("tenants/globex.yaml"),
            format!(
                "{globex}---\n{body}---\n{}",
                body.replace("tenant-acme", "tenant-nobody")
            ),
        )
        .unwrap();
        let (config, _) = tenantc::config_from_file(&p.config()).unwrap();
        let intent = tenantc::intent::intent_of(&config);
        let slot: GitOpsSlot = std::sync::OnceLock::new();
        assert!(slot
            .set(
                gitops::reader(&intent, &p.output().display().to_string())
                    .expect("[gitops] is set")
            )
            .is_ok());
        let with = read_tree_with(&p.output(), Some(&slot)).unwrap();
        let again = read_tree(&p.output()).unwrap();
        let read = with.gitops.iter().filter(|f| f.read.is_some()).count();
        assert!(again.gitops.iter().all(|f| f.read.is_none()));
        // A Flux account's objects too.
        assert_eq!(
            read,
            with.gitops.len(),
            "{tool}: every file read with the tree"
        );
        assert!(read > 5);
        let report = |tree| {
            let (_, report) = tenantc::verify::evaluate(tree, &intent);
            serde_json::to_string_pretty(&report).unwrap()
        };
        let (with, again) = (report(with), report(again));
        assert_eq!(with, again, "{tool}");
        for expect in [
            "is defined twice",
            "`tenant-nobody`",
            "resources-finalizer.argocd.argoproj.io",
        ] {
            assert!(with.contains(expect), "{tool}: no {expect:?} in {with}");
        }
        if tool == "flux" {
            for expect in [
                "Flux account is defined twice",
                "Flux account is not what tenantc writes",
            ] {
                assert!(with.contains(expect), "{tool}: no {expect:?} in {with}");
            }
        }
    }
}

/// An object of a Flux account that does not type as the readers type its kind (here a
/// RoleBinding whose `subjects` is a string) stops verify at its line, whether the reader threads
/// judged the file or the GitOps layer read it again: the result does not depend on when the
/// file was read.
#[test]
fn a_flux_account_object_that_does_not_type_stops_verify_either_way() {
    use tenantc::verify::layer::gitops;
    use tenantc::verify::tree::{read_tree, read_tree_with, GitOpsSlot};
    let p = Project::new(&every_kind("flux"));
    p.compile().success();
    let tree = files(&p.output());
    let acme = p.output().join(
        tree.keys()
            .find(|k| k.ends_with("tenants/acme.yaml"))
            .unwrap(),
    );
    let text = std::fs::read_to_string(&acme).unwrap();
    let at = text
        .rfind("subjects:\n")
        .expect("the account's RoleBinding");
    let broken = format!("{}subjects: everyone\n", &text[..at]);
    std::fs::write(&acme, broken).unwrap();
    let (config, _) = tenantc::config_from_file(&p.config()).unwrap();
    let intent = tenantc::intent::intent_of(&config);
    let slot: GitOpsSlot = std::sync::OnceLock::new();
    assert!(slot
        .set(gitops::reader(&intent, &p.output().display().to_string()).expect("[gitops] is set"))
        .is_ok());
    let shown = |r: Result<tenantc::verify::tree::Tree, Vec<tenantc::verify::tree::TreeError>>| {
        r.expect_err("a parse error")
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
    };
    let with = shown(read_tree_with(&p.output(), Some(&slot)));
    let again = shown(read_tree(&p.output()));
    assert_eq!(with, again);
    assert!(with[0].contains("acme.yaml"), "{with:?}");
    p.run("verify", &[])
        .code(2)
        .stderr(predicates::str::contains("acme.yaml"));
}
