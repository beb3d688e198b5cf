//! Every validation rule of tenants.toml: exit code 2, `--> tenants.toml:LINE:COL`, the message, a
//! help line where the fix is obvious, and an output directory left exactly as it was.

mod common;

use common::{snapshot, Project};

const BASE: &str = "version = 1\n";

/// 1-based line and column of the first occurrence of `needle` (the expected error position).
fn at(toml: &str, needle: &str) -> String {
    let offset = toml
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in the test config"));
    let before = &toml[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before[before.rfind('\n').map_or(0, |i| i + 1)..]
        .chars()
        .count()
        + 1;
    format!("{line}:{col}")
}

/// Compiles a valid config first, then `toml`; asserts the failure and that nothing changed.
fn rejects(toml: &str, needle: &str, message: &str, help: Option<&str>) {
    let p = Project::new("version = 1\n[tenants.previous]\n");
    p.compile().success();
    std::fs::write(p.output().join("notes.txt"), "mine\n").unwrap();
    let before = snapshot(&p.output());
    p.set_config(toml);
    let out = p.compile().code(2).get_output().clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let location = format!("--> tenants.toml:{}", at(toml, needle));
    assert!(
        stderr.contains(&format!("error: {message}")),
        "expected `error: {message}` in:\n{stderr}"
    );
    assert!(
        stderr.contains(&location),
        "expected `{location}` in:\n{stderr}"
    );
    assert!(stderr.contains('^'), "expected a caret in:\n{stderr}");
    if let Some(help) = help {
        assert!(
            stderr.contains(&format!("help: {help}")),
            "expected `help: {help}` in:\n{stderr}"
        );
    }
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        snapshot(&p.output()),
        before,
        "the output directory changed"
    );
}

#[test]
fn missing_version() {
    let toml = "[tenants.acme]\n";
    rejects(
        toml,
        "[tenants",
        "missing `version`",
        Some("add `version = 1` as the first line"),
    );
}

#[test]
fn unsupported_version() {
    rejects(
        "version = 2\n",
        "2",
        "unsupported version 2: this tenantc reads version 1",
        Some("set `version = 1`"),
    );
}

#[test]
fn unknown_keys_suggest_the_closest_known_key() {
    let cases = [
        (
            "version = 1\ntenant = 1\n",
            "tenant",
            "unknown key `tenant` in the top level",
            "did you mean `tenants`?",
        ),
        (
            "version = 1\n[tenants.acme]\nnamespace = [\"acme\"]\n",
            "namespace",
            "unknown key `namespace` in [tenants.acme]",
            "did you mean `namespaces`?",
        ),
        (
            "version = 1\n[platform.dns]\nport = [53]\n",
            "port",
            "unknown key `port` in [platform.dns]",
            "did you mean `ports`?",
        ),
        (
            "version = 1\n[mesh]\noutbound_policy = \"ALLOW_ANY\"\n",
            "outbound_policy",
            "unknown key `outbound_policy` in [mesh]",
            "did you mean `outbound_traffic_policy`?",
        ),
        (
            "version = 1\n[shared.db]\nconsumer = \"*\"\n",
            "consumer",
            "unknown key `consumer` in [shared.db]",
            "did you mean `consumers`?",
        ),
        (
            "version = 1\n[cluster]\nnmae = \"x\"\n",
            "nmae",
            "unknown key `nmae` in [cluster]",
            "did you mean `name`?",
        ),
    ];
    for (toml, needle, message, help) in cases {
        rejects(toml, needle, message, Some(help));
    }
}

#[test]
fn toml_syntax_errors() {
    let toml = "version = 1\n[tenants.acme\nlabels = {}\n";
    rejects(toml, "\nlabels", "invalid TOML", None);
    let dup = "version = 1\n[tenants.acme]\ningress = true\ningress = false\n";
    rejects(dup, "ingress = false", "invalid TOML", None);
}

#[test]
fn wrong_types() {
    rejects(
        "version = 1\n[tenants.acme]\ningress = \"yes\"\n",
        "\"yes\"",
        "`ingress` must be true, false or a list of the tenant's namespaces, found a string",
        None,
    );
    rejects(
        "version = 1\n[tenants.acme]\nnamespaces = \"acme\"\n",
        "\"acme\"",
        "`namespaces` must be an array of strings, found a string",
        None,
    );
    rejects(
        "version = 1\n[tenants.acme]\nlabels = { plan = 1 }\n",
        "1 }",
        "the value of `plan` in `labels` must be a string, found an integer",
        Some("quote it"),
    );
    rejects(
        "version = 1\n[shared.db]\nconsumers = \"acme\"\n[tenants.acme]\n",
        "\"acme\"",
        "`consumers` must be \"*\" or a list of tenant and shared names",
        Some("write consumers = [\"acme\"]"),
    );
}

#[test]
fn names_must_be_rfc1123_labels() {
    rejects(
        "version = 1\n[tenants.Acme]\n",
        "Acme",
        "tenant name `Acme` is invalid",
        Some("did you mean `acme`?"),
    );
    rejects(
        "version = 1\n[tenants.acme]\nnamespaces = [\"acme_jobs\"]\n",
        "\"acme_jobs\"",
        "namespace `acme_jobs` is not a valid namespace name",
        Some("did you mean `acme-jobs`?"),
    );
    rejects(
        "version = 1\n[shared.Common]\n",
        "Common",
        "shared entry `Common` is not a valid namespace name",
        None,
    );
    let long = "a".repeat(64);
    let toml = format!("version = 1\n[tenants.acme]\nnamespaces = [\"{long}\"]\n");
    let message = format!("namespace `{long}` is not a valid namespace name: it is 64 characters long; at most 63 are allowed");
    rejects(&toml, &format!("\"{long}"), &message, None);
    rejects(
        "version = 1\n[tenants.-acme]\n",
        "-acme",
        "tenant name `-acme` is invalid",
        None,
    );
}

#[test]
fn a_namespace_claimed_twice_names_the_first_claim() {
    let toml = "version = 1\n[tenants.acme]\nnamespaces = [\"shared-db\"]\n[tenants.globex]\nnamespaces = [\"shared-db\"]\n";
    let second = toml.rfind("\"shared-db\"").unwrap();
    let p = Project::new(toml);
    let out = p.compile().code(2).get_output().clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("tenant `globex` claims namespace `shared-db`, already claimed by tenant `acme` at line 3"), "{stderr}");
    let line = toml[..second].matches('\n').count() + 1;
    assert!(
        stderr.contains(&format!("--> tenants.toml:{line}:15")),
        "{stderr}"
    );
    assert!(!p.output().exists());

    rejects(
        "version = 1\n[shared.db]\n[tenants.acme]\nnamespaces = [\"db\"]\n",
        "\"db\"",
        "tenant `acme` claims namespace `db`, already claimed by shared entry `db` at line 2",
        Some("a namespace belongs to exactly one owner"),
    );
    rejects(
        "version = 1\n[tenants.acme]\nnamespaces = [\"acme\", \"acme\"]\n",
        "\"acme\"]",
        "tenant `acme` lists namespace `acme` twice",
        Some("remove the duplicate"),
    );
    rejects(
        "version = 1\n[platform]\ningress = { namespace = \"ingress-nginx\" }\n[tenants.ingress-nginx]\n",
        "ingress-nginx]",
        "tenant `ingress-nginx` claims namespace `ingress-nginx`, already claimed by [platform.ingress] at line 3",
        None,
    );
    rejects(
        "version = 1\n[platform]\nmonitoring = { namespace = \"monitoring\" }\n[shared.monitoring]\n",
        "monitoring]",
        "shared entry `monitoring` claims namespace `monitoring`, already claimed by [platform.monitoring]",
        None,
    );
}

#[test]
fn reserved_namespaces() {
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let toml = format!("version = 1\n[tenants.acme]\nnamespaces = [\"{ns}\"]\n");
        rejects(
            &toml,
            &format!("\"{ns}\""),
            &format!("tenant `acme` claims namespace `{ns}`, which is reserved for the platform"),
            None,
        );
    }
    rejects(
        "version = 1\n[mesh]\n[tenants.istio-system]\n",
        "istio-system]",
        "tenant `istio-system` claims namespace `istio-system`, which is reserved",
        None,
    );
    rejects(
        "version = 1\n[mesh]\nnamespace = \"control\"\n[shared.control]\n",
        "control]",
        "shared entry `control` claims namespace `control`, already claimed by [mesh] at line 3",
        None,
    );
    rejects("version = 1\n[tenants.kube-foo]\n", "kube-foo", "tenant `kube-foo` claims namespace `kube-foo`: the `kube-` prefix is reserved for Kubernetes system namespaces", None);
}

#[test]
fn consumers_must_be_tenants() {
    rejects(
        "version = 1\n[shared.db]\nconsumers = [\"acm\"]\n[tenants.acme]\n",
        "\"acm\"",
        "shared entry `db` lists consumer `acm`, which is not a tenant",
        Some("did you mean `acme`?"),
    );
    rejects(
        "version = 1\n[shared.db]\nconsumers = [\"acme\", \"acme\"]\n[tenants.acme]\n",
        "\"acme\"]",
        "consumer `acme` is listed twice",
        None,
    );
}

#[test]
fn a_tenant_needs_a_namespace() {
    rejects(
        "version = 1\n[tenants.acme]\nnamespaces = []\n",
        "[]",
        "tenant `acme` has no namespace",
        Some("list at least one"),
    );
}

#[test]
fn labels_and_annotations_follow_kubernetes_syntax() {
    rejects(
        "version = 1\n[tenants.acme]\nlabels = { \"bad key!\" = \"x\" }\n",
        "\"bad key!\"",
        "label key `bad key!` is invalid",
        None,
    );
    rejects(
        "version = 1\n[tenants.acme]\nlabels = { \"Example.com/x\" = \"x\" }\n",
        "\"Example.com/x\"",
        "label key `Example.com/x` is invalid",
        None,
    );
    rejects(
        "version = 1\n[tenants.acme]\nlabels = { plan = \"has space\" }\n",
        "\"has space\"",
        "label `plan` has an invalid value \"has space\"",
        Some("label values are at most 63"),
    );
    let long = "v".repeat(64);
    rejects(
        &format!("version = 1\n[tenants.acme]\nlabels = {{ plan = \"{long}\" }}\n"),
        &format!("\"{long}"),
        "label `plan` has an invalid value",
        None,
    );
    rejects(
        "version = 1\n[tenants.acme]\nannotations = { \"/x\" = \"anything\" }\n",
        "\"/x\"",
        "annotation key `/x` is invalid",
        None,
    );
    rejects(
        "version = 1\n[shared.db]\nlabels = { \"-x\" = \"y\" }\n",
        "\"-x\"",
        "label key `-x` is invalid",
        None,
    );
}

#[test]
fn labels_the_compiler_owns_cannot_be_overridden() {
    for key in [
        "kubernetes.io/metadata.name",
        "tenantc.dev/tenant",
        "tenantc.dev/anything",
        "app.kubernetes.io/managed-by",
    ] {
        let toml = format!("version = 1\n[tenants.acme]\nlabels = {{ \"{key}\" = \"x\" }}\n");
        rejects(
            &toml,
            &format!("\"{key}\""),
            &format!("label `{key}` is set by tenantc itself and may not be overridden"),
            Some("remove it"),
        );
    }
    rejects(
        "version = 1\n[mesh]\n[tenants.acme]\nlabels = { \"istio-injection\" = \"disabled\" }\n",
        "\"istio-injection\"",
        "label `istio-injection` is set by tenantc itself",
        None,
    );
}

#[test]
fn ports_are_1_to_65535() {
    rejects(
        "version = 1\n[platform]\ndns = { ports = [0] }\n",
        "0]",
        "port 0 is out of range: ports are 1 to 65535",
        None,
    );
    rejects(
        "version = 1\n[platform]\ndns = { ports = [65536] }\n",
        "65536",
        "port 65536 is out of range",
        None,
    );
    rejects(
        "version = 1\n[platform]\ndns = { ports = [] }\n",
        "{ ports",
        "[platform.dns] ports must list at least one port",
        None,
    );
    rejects(
        "version = 1\n[platform]\nmonitoring = { namespace = \"mon\", ports = [8080, -1] }\n",
        "-1",
        "port -1 is out of range",
        None,
    );
    rejects(
        "version = 1\n[platform]\ndns = { ports = [53, 53] }\n",
        "53]",
        "port 53 is listed twice",
        None,
    );
}

#[test]
fn platform_and_mesh_rules() {
    rejects(
        "version = 1\n[platform]\ningress = { pod_labels = {} }\n",
        "{ pod_labels",
        "[platform.ingress] needs a `namespace`",
        None,
    );
    rejects(
        "version = 1\n[mesh]\noutbound_traffic_policy = \"registry_only\"\n",
        "\"registry_only\"",
        "`outbound_traffic_policy` must be \"REGISTRY_ONLY\" or \"ALLOW_ANY\"",
        Some("did you mean \"REGISTRY_ONLY\"?"),
    );
    rejects(
        "version = 1\n[tenants.acme]\ningress = true\n",
        "true",
        "tenant `acme` lets the ingress controller in, but [platform.ingress] is not configured",
        None,
    );
    rejects(
        "version = 1\n[cluster]\nname = \"prod eu\"\n",
        "\"prod eu\"",
        "`cluster.name` \"prod eu\" cannot be a label value",
        None,
    );
}

#[test]
fn every_error_is_reported_in_one_run() {
    let toml = "version = 1\n[tenants.Acme]\n[tenants.globex]\nnamespace = [\"x\"]\nlabels = { plan = \"a b\" }\n[shared.db]\nconsumers = [\"nobody\"]\n";
    let p = Project::new(toml);
    let out = p.compile().code(2).get_output().clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Unknown keys (load) and rule violations (resolve) are all reported in the same run.
    assert!(stderr.contains("unknown key `namespace`"), "{stderr}");
    assert!(
        stderr.contains("error: 4 errors in `tenants.toml`; nothing was written"),
        "{stderr}"
    );
    // Sorted by position in the file.
    let a = stderr.find("Acme").unwrap();
    let b = stderr.find("a b").unwrap();
    let c = stderr.find("nobody").unwrap();
    assert!(a < b && b < c, "{stderr}");
}

#[test]
fn github_annotations() {
    let p = Project::new("version = 1\n[tenants.acme]\nnamespace = []\n");
    let out = common::tenantc()
        .current_dir(p.path())
        .args([
            "--message-format",
            "github",
            "compile",
            "--config",
            "tenants.toml",
            "--output",
            "output",
        ])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("::error file=tenants.toml,line=3,col=1::unknown key `namespace` in [tenants.acme] (help: did you mean `namespaces`?)"),
        "{stdout}"
    );
}

#[test]
fn missing_or_unreadable_config() {
    let p = Project::new(BASE);
    let out = common::tenantc()
        .current_dir(p.path())
        .args(["compile", "--config", "nope.toml", "--output", "output"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("error: cannot read `nope.toml`"));
    assert!(!p.output().exists());
}

#[test]
fn gitops_rules() {
    const URL: &str = "repo_url = \"https://git.example.com/p/t.git\"\n";
    rejects(
        &format!("version = 1\n[gitops]\n{URL}"),
        "[gitops]",
        "[gitops] needs a `tool`",
        Some("add tool = \"argocd\" or tool = \"flux\""),
    );
    rejects(
        &format!("version = 1\n[gitops]\ntool = \"argo\"\n{URL}"),
        "\"argo\"",
        "`tool` must be \"argocd\" or \"flux\", found \"argo\"",
        Some("did you mean \"argocd\"?"),
    );
    rejects(
        "version = 1\n[gitops]\ntool = \"flux\"\n",
        "[gitops]",
        "[gitops] needs a `repo_url`",
        None,
    );
    rejects(
        &format!("version = 1\n[gitops]\ntool = \"flux\"\n{URL}repo = \"x\"\n"),
        "repo =",
        "unknown key `repo` in [gitops]",
        Some("did you mean `repo_url`?"),
    );
    rejects(
        "version = 1\n[gitops]\ntool = \"argocd\"\nrepo_url = \"git.example.com/p/t\"\n",
        "\"git.example.com",
        "`repo_url` \"git.example.com/p/t\" is not a Git repository URL",
        Some("write https://host/org/repo.git or ssh://git@host/org/repo.git"),
    );
    rejects(
        "version = 1\n[gitops]\ntool = \"flux\"\nrepo_url = \"git@git.example.com:p/t.git\"\n",
        "\"git@",
        "Flux needs `repo_url` as a URL; \"git@git.example.com:p/t.git\" is scp-like",
        Some("write \"ssh://git@git.example.com/p/t.git\""),
    );
    for path in ["../output", "/output", "out put", "a//b", ""] {
        rejects(
            &format!("version = 1\n[gitops]\ntool = \"flux\"\n{URL}path = \"{path}\"\n"),
            &format!("\"{path}\""),
            &format!("`path` \"{path}\" is not a relative path inside the repository"),
            None,
        );
    }
    rejects(
        &format!("version = 1\n[gitops]\ntool = \"flux\"\n{URL}revision = \"my branch\"\n"),
        "\"my branch\"",
        "`revision` \"my branch\" is not a Git branch name",
        Some("name a branch, such as \"main\""),
    );
    rejects(
        &format!("version = 1\n[gitops]\ntool = \"flux\"\n{URL}namespace = \"Flux\"\n"),
        "\"Flux\"",
        "namespace `Flux` is not a valid namespace name",
        Some("did you mean `flux`?"),
    );
    rejects(
        &format!("version = 1\n[gitops]\ntool = \"argocd\"\n{URL}path = true\n"),
        "true",
        "`path` must be a string, found a boolean",
        None,
    );
}

#[test]
fn gitops_secret_is_for_flux_and_a_secret_name() {
    rejects(
        "version = 1\n[gitops]\ntool = \"argocd\"\nrepo_url = \"https://g/p.git\"\nsecret = \"creds\"\n",
        "\"creds\"",
        "`secret` is for Flux; Argo CD keeps repository credentials itself",
        Some("remove it and register the repository with `argocd repo add`"),
    );
    rejects(
        "version = 1\n[gitops]\ntool = \"flux\"\nrepo_url = \"https://g/p.git\"\nsecret = \"Creds\"\n",
        "\"Creds\"",
        "`secret` \"Creds\" is not a valid Secret name",
        None,
    );
}

#[test]
fn the_gitops_namespace_is_reserved() {
    // The tool's default namespace, though [gitops] does not name it.
    rejects(
        "version = 1\n[tenants.argocd]\n[gitops]\ntool = \"argocd\"\nrepo_url = \"https://g/p.git\"\n",
        "argocd]",
        "tenant `argocd` claims namespace `argocd`, which is reserved for the platform",
        None,
    );
    rejects(
        "version = 1\n[shared.gitops]\n[gitops]\ntool = \"flux\"\nrepo_url = \"https://g/p.git\"\nnamespace = \"gitops\"\n",
        "gitops]\n[gitops]",
        "shared entry `gitops` claims namespace `gitops`, already claimed by [gitops] at line 6",
        None,
    );
}
