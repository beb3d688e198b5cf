//! Every validation rule of tenants.toml: exit code 2, `--> tenants.toml:LINE:COL`, the message, a
//! help line where the fix is obvious, and an output directory left exactly as it was.

mod common;

use common::{line_col as at, snapshot, Project};

const BASE: &str = "version = 1\n";

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

/// A file large enough to be parsed in pieces on every core (see `src/load/document.rs`):
/// errors far down it, and a tenant's table defined twice, once near the top and once at the
/// end (in two pieces, each valid alone), are reported where the whole file's parse finds them
/// (the `toml` crate's parse of the whole file is the reference).
#[test]
fn toml_syntax_errors_in_a_large_file() {
    let mut big = String::from("version = 1\n");
    for i in 0..4000 {
        big.push_str(&format!(
            "\n[tenants.t{i:05}]\nlabels = {{ \"example.com/plan\" = \"gold\", \"example.com/team\" = \"team-{i}\" }}\n"
        ));
    }
    assert!(big.len() > 2 * 128 * 1024, "{} bytes", big.len());
    let late = big.replacen("\"team-3990\" }", "\"team-3990\" ", 1);
    let twice = format!("{big}\n[tenants.t00010]\nlabels = {{}}\n");
    for (toml, message) in [
        (&late, "invalid TOML"),
        (&twice, "invalid TOML: duplicate key"),
    ] {
        let (_, errors) = toml::de::DeTable::parse_recoverable(toml);
        let start = errors[0].span().unwrap().start;
        let line = toml[..start].matches('\n').count() + 1;
        let col = toml[..start].rsplit('\n').next().unwrap().chars().count() + 1;
        assert!(line > 8000, "the error is at line {line}");
        let p = Project::new(toml);
        let out = p.compile().code(2).get_output().clone();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&format!("error: {message}")), "{stderr}");
        assert!(
            stderr.contains(&format!("--> tenants.toml:{line}:{col}")),
            "expected line {line}, column {col} in:\n{stderr}"
        );
        assert!(!p.output().exists(), "bad input wrote the output directory");
    }
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
        Some("add ingress = { namespace = \"...\", pod_labels = { ... } } under [platform]"),
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

/// The cluster ranges an `[external]` entry needs, tenants `acme` (two namespaces) and `globex`,
/// and a shared entry `payments`; a test appends what it checks.
const FLOWS: &str = "version = 1
[cluster]
pod_cidrs = [\"10.244.0.0/16\"]
service_cidrs = [\"10.96.0.0/12\"]
[shared.payments]
consumers = [\"acme\"]
[tenants.acme]
namespaces = [\"acme\", \"acme-api\"]
[tenants.globex]
";

fn flows(rest: &str) -> String {
    format!("{FLOWS}{rest}")
}

/// An `[external.stripe]` entry with every required key, `line` added, consumed by `acme`.
fn stripe(line: &str) -> String {
    flows(&format!(
        "[external.stripe]\ncidrs = [\"0.0.0.0/0\"]\nports = [443]\nconsumers = [\"acme\"]\n{line}"
    ))
}

#[test]
fn cidrs_must_be_canonical() {
    rejects(
        "version = 1\n[cluster]\npod_cidrs = [\"10.244.0.1/16\"]\n",
        "\"10.244.0.1/16\"",
        "\"10.244.0.1/16\" in `cluster.pod_cidrs` is not a canonical CIDR: bits are set after the /16 prefix",
        Some("did you mean \"10.244.0.0/16\"?"),
    );
    rejects(
        &flows("[external.v6]\ncidrs = [\"2001:db8::1/32\"]\nports = [443]\nconsumers = [\"acme\"]\n"),
        "\"2001:db8::1/32\"",
        "\"2001:db8::1/32\" in external entry `v6` cidrs is not a canonical CIDR: bits are set after the /32 prefix",
        Some("did you mean \"2001:db8::/32\"?"),
    );
}

#[test]
fn cidrs_must_parse() {
    rejects(
        "version = 1\n[platform.dns]\ncidrs = [\"169.254.20/24\"]\n",
        "\"169.254.20/24\"",
        "\"169.254.20/24\" in [platform.dns] cidrs is not a CIDR such as \"10.0.0.0/8\" or \"2001:db8::/32\"",
        None,
    );
    // An address without a prefix: the help writes it as a one-address network.
    rejects(
        "version = 1\n[platform]\nkube_api = { cidrs = [\"172.18.0.2\"] }\n",
        "\"172.18.0.2\"",
        "\"172.18.0.2\" in [platform.kube_api] cidrs is not a CIDR",
        Some("for one address write \"172.18.0.2/32\""),
    );
    rejects(
        "version = 1\n[cluster]\nservice_cidrs = [\"10.96.0.0/33\"]\n",
        "\"10.96.0.0/33\"",
        "\"10.96.0.0/33\" in `cluster.service_cidrs` is not a CIDR",
        None,
    );
}

#[test]
fn a_cidr_is_listed_once() {
    rejects(
        "version = 1\n[cluster]\nservice_cidrs = [\"10.96.0.0/12\", \"10.96.0.0/12\"]\n",
        "\"10.96.0.0/12\"]",
        "10.96.0.0/12 is listed twice in `cluster.service_cidrs`",
        Some("remove the duplicate"),
    );
    rejects(
        "version = 1\n[cluster]\npod_cidrs = []\n",
        "[]",
        "`cluster.pod_cidrs` must list at least one CIDR",
        None,
    );
}

#[test]
fn an_external_cidr_lies_outside_the_cluster() {
    let toml = flows(
        "[external.db]\ncidrs = [\"203.0.113.0/24\", \"10.244.3.0/24\"]\nports = [5432]\nconsumers = [\"acme\"]\n",
    );
    rejects(
        &toml,
        "\"10.244.3.0/24\"",
        "external entry `db` allows 10.244.3.0/24, which lies inside the cluster's range 10.244.0.0/16",
        Some("an external entry is for destinations outside the cluster; to reach another tenant, expose its namespace with [tenants.<t>.expose.<namespace>]"),
    );
    // A range exactly the Service range is inside it too.
    rejects(
        &flows("[external.db]\ncidrs = [\"10.96.0.0/12\"]\nports = [5432]\nconsumers = [\"acme\"]\n"),
        "\"10.96.0.0/12\"]\nports",
        "external entry `db` allows 10.96.0.0/12, which lies inside the cluster's range 10.96.0.0/12",
        None,
    );
}

#[test]
fn an_external_entry_needs_the_cluster_ranges() {
    let entry = "[external.stripe]\ncidrs = [\"0.0.0.0/0\"]\nports = [443]\nconsumers = [\"acme\"]\n[tenants.acme]\n";
    let message = "external entry `stripe` needs the cluster's own ranges: set `pod_cidrs` and `service_cidrs` under [cluster]";
    rejects(
        &format!("version = 1\n{entry}"),
        "stripe]",
        message,
        Some("tenantc excepts them from every external ipBlock, so that no external grant opens a path into the cluster; find them with `kubectl cluster-info dump | grep -m2 -E -- '--(cluster-cidr|service-cluster-ip-range)'`"),
    );
    // One of the two is not enough.
    rejects(
        &format!("version = 1\n[cluster]\npod_cidrs = [\"10.244.0.0/16\"]\n{entry}"),
        "stripe]",
        message,
        Some("tenantc excepts them"),
    );
}

#[test]
fn an_external_entry_needs_cidrs_ports_and_consumers() {
    rejects(
        &flows("[external.stripe]\nports = [443]\nconsumers = [\"acme\"]\n"),
        "stripe]",
        "external entry `stripe` needs `cidrs`: where NetworkPolicy lets its traffic go",
        Some("list the destination's address ranges, or [\"0.0.0.0/0\"] when only its host names are known (the mesh then limits it to `hosts`)"),
    );
    rejects(
        &flows("[external.stripe]\ncidrs = [\"0.0.0.0/0\"]\nconsumers = [\"acme\"]\n"),
        "stripe]",
        "external entry `stripe` needs `ports`, the TCP ports its consumers may reach",
        Some("for example ports = [443]"),
    );
    rejects(
        &flows("[external.stripe]\ncidrs = [\"0.0.0.0/0\"]\nports = [443]\n"),
        "stripe]",
        "external entry `stripe` needs `consumers`: the tenants and shared entries that may reach it",
        Some("for example consumers = [\"acme\"], or \"*\" for every tenant"),
    );
    rejects(
        &flows("[external.stripe]\ncidrs = []\nports = [443]\nconsumers = [\"acme\"]\n"),
        "[]",
        "external entry `stripe` cidrs must list at least one CIDR",
        None,
    );
}

#[test]
fn an_external_protocol_is_one_of_four() {
    rejects(
        &stripe("protocol = \"tls\"\n"),
        "\"tls\"",
        "`protocol` must be \"TLS\", \"HTTPS\", \"HTTP\" or \"TCP\", found \"tls\"",
        Some("did you mean \"TLS\"?"),
    );
    rejects(
        &stripe("protocol = \"https\"\n"),
        "\"https\"",
        "`protocol` must be \"TLS\", \"HTTPS\", \"HTTP\" or \"TCP\", found \"https\"",
        Some("did you mean \"HTTPS\"?"),
    );
}

#[test]
fn hosts_are_dns_names() {
    rejects(
        &stripe("hosts = [\"API.Stripe.com\"]\n"),
        "\"API.Stripe.com\"",
        "host \"API.Stripe.com\" of external entry `stripe` is not a DNS name such as \"api.example.com\" or \"*.example.com\"",
        Some("DNS names are lowercase here: \"api.stripe.com\""),
    );
    rejects(
        &stripe("hosts = [\"stripe\"]\n"),
        "\"stripe\"",
        "host \"stripe\" of external entry `stripe` is not a DNS name",
        None,
    );
    rejects(
        &stripe("hosts = [\"api.stripe.com\", \"api.stripe.com\"]\n"),
        "\"api.stripe.com\"]",
        "host \"api.stripe.com\" is listed twice",
        Some("remove the duplicate"),
    );
}

#[test]
fn a_wildcard_host_needs_tls_or_tcp() {
    for protocol in ["HTTP", "HTTPS"] {
        rejects(
            &stripe(&format!("hosts = [\"*.stripe.com\"]\nprotocol = \"{protocol}\"\n")),
            "\"*.stripe.com\"",
            "wildcard host \"*.stripe.com\" of external entry `stripe` needs protocol \"TLS\" or \"TCP\"",
            Some("a wildcard cannot be resolved by DNS: Istio can route it only by the TLS server name (SNI) or by address"),
        );
    }
}

#[test]
fn consumers_must_exist_and_the_help_names_the_closest_tenant_or_shared_entry() {
    rejects(
        &flows(
            "[external.stripe]\ncidrs = [\"0.0.0.0/0\"]\nports = [443]\nconsumers = [\"acm\"]\n",
        ),
        "\"acm\"",
        "external entry `stripe` lists consumer `acm`, which is not a tenant or shared entry",
        Some("did you mean `acme`?"),
    );
    // Shared entries are consumers too, so they are suggested too.
    rejects(
        &flows("[external.stripe]\ncidrs = [\"0.0.0.0/0\"]\nports = [443]\nconsumers = [\"paymnts\"]\n"),
        "\"paymnts\"",
        "external entry `stripe` lists consumer `paymnts`, which is not a tenant or shared entry",
        Some("did you mean `payments`?"),
    );
    rejects(
        &flows("[tenants.acme.expose.acme-api]\nconsumers = [\"glbex\"]\n"),
        "\"glbex\"",
        "[tenants.acme.expose.acme-api] lists consumer `glbex`, which is not a tenant or shared entry",
        Some("did you mean `globex`?"),
    );
    // An external entry is a destination, not a consumer.
    rejects(
        &stripe("[shared.billing]\nconsumers = [\"stripe\"]\n"),
        "\"stripe\"]\n",
        "shared entry `billing` lists consumer `stripe`, which is not a tenant or shared entry",
        None,
    );
}

#[test]
fn an_entry_does_not_consume_itself() {
    rejects(
        &flows("[shared.ledger]\nconsumers = [\"acme\", \"ledger\"]\n"),
        "\"ledger\"",
        "shared entry `ledger` lists itself as a consumer",
        Some("remove it: an entry always reaches its own namespaces"),
    );
    rejects(
        &flows("[tenants.acme.expose.acme-api]\nconsumers = [\"acme\", \"globex\"]\n"),
        "\"acme\", \"globex\"",
        "[tenants.acme.expose.acme-api] lists itself as a consumer",
        Some("remove it: an entry always reaches its own namespaces"),
    );
}

#[test]
fn an_expose_key_is_one_of_the_tenants_namespaces() {
    rejects(
        &flows("[tenants.acme.expose.acme-apj]\nconsumers = [\"globex\"]\n"),
        "acme-apj",
        "an `expose` key of tenant `acme` names `acme-apj`, which is not one of its namespaces",
        Some("did you mean `acme-api`?"),
    );
    // Another tenant's namespace: nothing close, so the help lists the tenant's own.
    rejects(
        &flows("[tenants.acme.expose.globex]\nconsumers = [\"payments\"]\n"),
        "globex]\nconsumers",
        "an `expose` key of tenant `acme` names `globex`, which is not one of its namespaces",
        Some("its namespaces are `acme`, `acme-api`"),
    );
    rejects(
        &flows("[tenants.acme.expose.acme-api]\nports = [8443]\n"),
        "acme-api]",
        "[tenants.acme.expose.acme-api] needs `consumers`: the tenants and shared entries that may call it",
        Some("for example consumers = [\"globex\"]"),
    );
    rejects(
        &flows("[tenants.acme.expose.acme-api]\nconsumers = []\n"),
        "acme-api]",
        "[tenants.acme.expose.acme-api] has no consumer",
        Some("list the tenants and shared entries that may call it, or remove the table"),
    );
}

#[test]
fn kube_api_needs_the_platform_table() {
    rejects(
        &flows("kube_api = true\n"),
        "true",
        "tenant `globex` sets `kube_api = true`, but [platform.kube_api] is not configured",
        Some("add [platform.kube_api] with cidrs = [\"<API server address>/32\"]"),
    );
    rejects(
        "version = 1\n[platform]\nkube_api = { ports = [6443] }\n",
        "{ ports",
        "[platform.kube_api] needs `cidrs`: the API server's endpoints",
        Some("list the addresses of `kubectl get endpointslice -n default -l kubernetes.io/service-name=kubernetes`, each as \"<ip>/32\""),
    );
}

#[test]
fn an_ingress_list_names_the_tenants_own_namespaces() {
    let platform = "[platform]\ningress = { namespace = \"ingress-nginx\" }\n";
    let toml = format!(
        "version = 1\n{platform}[tenants.acme]\nnamespaces = [\"acme\", \"acme-api\"]\ningress = [\"acme\", \"globex\"]\n[tenants.globex]\n"
    );
    rejects(
        &toml,
        "\"globex\"]",
        "`ingress` of tenant `acme` names `globex`, which is not one of its namespaces",
        Some("its namespaces are `acme`, `acme-api`"),
    );
    let toml = format!(
        "version = 1\n{platform}[tenants.acme]\nnamespaces = [\"acme\", \"acme-api\"]\ningress = [\"acme-apl\"]\n"
    );
    rejects(
        &toml,
        "\"acme-apl\"",
        "`ingress` of tenant `acme` names `acme-apl`, which is not one of its namespaces",
        Some("did you mean `acme-api`?"),
    );
    let toml = format!("version = 1\n{platform}[tenants.acme]\ningress = [\"acme\", \"acme\"]\n");
    rejects(
        &toml,
        "\"acme\"]",
        "namespace `acme` is listed twice in `ingress`",
        Some("remove the duplicate"),
    );
}

#[test]
fn an_ingress_list_needs_the_platform_ingress() {
    rejects(
        &flows("ingress = [\"globex\"]\n"),
        "[\"globex\"]",
        "tenant `globex` lets the ingress controller in, but [platform.ingress] is not configured",
        Some("add ingress = { namespace = \"...\", pod_labels = { ... } } under [platform]"),
    );
}

#[test]
fn external_and_shared_names_do_not_collide() {
    rejects(
        &flows("[external.globex]\ncidrs = [\"0.0.0.0/0\"]\nports = [443]\nconsumers = [\"acme\"]\n"),
        "globex]\ncidrs",
        "external entry `globex` has the name of a tenant",
        Some("`explain`, `diff` and `graph` name tenants, shared and external entries alike: give it a name of its own"),
    );
    rejects(
        &flows("[external.payments]\ncidrs = [\"0.0.0.0/0\"]\nports = [443]\nconsumers = [\"acme\"]\n"),
        "payments]\ncidrs",
        "external entry `payments` has the name of a shared entry",
        Some("`explain`, `diff` and `graph` name tenants, shared and external entries alike: give it a name of its own"),
    );
    // A tenant whose namespaces are named otherwise, so that only the names collide.
    rejects(
        "version = 1\n[shared.acme]\n[tenants.acme]\nnamespaces = [\"acme-web\"]\n",
        "acme]\n[tenants",
        "shared entry `acme` has the name of a tenant",
        Some(
            "`consumers` lists name tenants and shared entries alike: give one of them another name",
        ),
    );
}

#[test]
fn a_ports_list_that_is_given_is_not_empty() {
    rejects(
        &flows("[shared.ledger]\nports = []\n"),
        "[]",
        "shared entry `ledger` ports must list at least one port",
        Some("leave `ports` out to allow every port"),
    );
    rejects(
        &flows("[tenants.acme.expose.acme-api]\nconsumers = [\"globex\"]\nports = []\n"),
        "[]",
        "[tenants.acme.expose.acme-api] ports must list at least one port",
        Some("leave `ports` out to allow every port"),
    );
    rejects(
        &flows("[external.stripe]\ncidrs = [\"0.0.0.0/0\"]\nports = []\nconsumers = [\"acme\"]\n"),
        "[]",
        "external entry `stripe` ports must list at least one port",
        None,
    );
    rejects(
        "version = 1\n[platform]\nkube_api = { cidrs = [\"172.18.0.2/32\"], ports = [] }\n",
        "[] }",
        "[platform.kube_api] ports must list at least one port",
        None,
    );
    rejects(
        &flows("[shared.ledger]\nports = [5432, 0]\n"),
        "0]",
        "port 0 is out of range: ports are 1 to 65535",
        None,
    );
}

#[test]
fn every_flow_error_of_a_file_is_reported_in_one_run() {
    let toml = "version = 1
[cluster]
pod_cidrs = [\"10.244.0.1/16\"]
[platform.dns]
cidrs = [\"169.254.20.10\"]
[external.stripe]
hosts = [\"*.stripe.com\"]
cidrs = [\"0.0.0.0/0\"]
protocol = \"HTTPS\"
consumers = [\"acm\"]
[shared.ledger]
consumers = [\"ledger\"]
ports = []
[tenants.acme]
namespaces = [\"acme\", \"acme-api\"]
ingress = [\"acme\"]
kube_api = true
[tenants.acme.expose.acme-apj]
consumers = [ \"acme\" ]
";
    let p = Project::new(toml);
    let out = p.compile().code(2).get_output().clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = [
        ("\"10.244.0.1/16\" in `cluster.pod_cidrs` is not a canonical CIDR", "\"10.244.0.1/16\""),
        ("\"169.254.20.10\" in [platform.dns] cidrs is not a CIDR", "\"169.254.20.10\""),
        ("external entry `stripe` needs the cluster's own ranges", "stripe]"),
        ("external entry `stripe` needs `ports`", "stripe]"),
        ("wildcard host \"*.stripe.com\" of external entry `stripe` needs protocol", "\"*.stripe.com\""),
        ("external entry `stripe` lists consumer `acm`", "\"acm\""),
        ("shared entry `ledger` lists itself as a consumer", "\"ledger\""),
        ("shared entry `ledger` ports must list at least one port", "[]"),
        ("tenant `acme` lets the ingress controller in, but [platform.ingress] is not configured", "[\"acme\"]\nkube"),
        ("tenant `acme` sets `kube_api = true`, but [platform.kube_api] is not configured", "true"),
        ("an `expose` key of tenant `acme` names `acme-apj`", "acme-apj"),
        ("[tenants.acme.expose.acme-apj] lists itself as a consumer", "\"acme\" ]"),
    ];
    let mut last = 0;
    for (message, needle) in expected {
        let at = stderr
            .find(&format!("error: {message}"))
            .unwrap_or_else(|| panic!("expected `error: {message}` in:\n{stderr}"));
        let location = format!("--> tenants.toml:{}", self::at(toml, needle));
        assert!(
            stderr[at..].contains(&location),
            "expected `{location}` after `{message}` in:\n{stderr}"
        );
        // Sorted by position in the file.
        assert!(at >= last, "`{message}` is out of order in:\n{stderr}");
        last = at;
    }
    assert!(
        stderr.contains(&format!(
            "error: {} errors in `tenants.toml`; nothing was written",
            expected.len()
        )),
        "{stderr}"
    );
    assert!(!p.output().exists());
}

const AMBIENT_PORTS_HELP: &str = "ztunnel delivers HBONE (15008) to any port of the destination pod, so NetworkPolicy cannot limit ports in ambient mode; ztunnel enforces ports only through AuthorizationPolicies: set `authorization = true` under [mesh], or drop `ports`";

/// Issue 19: in ambient mode NetworkPolicy cannot hold a flow between meshed pods to its ports
/// (it sees HBONE on 15008, which ztunnel hands to any port), so without `authorization = true`
/// every port limit into a managed namespace is an error at its line.
#[test]
fn ambient_port_limits_need_authorization() {
    let ambient = |rest: &str| {
        flows(&format!("[mesh]\nmode = \"ambient\"\n{rest}")).replace(
            "[shared.payments]\nconsumers = [\"acme\"]\n",
            "[shared.payments]\nconsumers = [\"acme\"]\nports = [8443]\n",
        )
    };
    let toml = ambient("");
    // The message names the [mesh] key that causes it, with its line.
    let mode = |toml: &str| {
        let at = at(toml, "mode = ");
        format!(
            "`mode = \"ambient\"` under [mesh] (line {})",
            at.split(':').next().unwrap()
        )
    };
    rejects(
        &toml,
        "[8443]",
        &format!("shared entry `payments` limits its consumers to port 8443, but {} cannot enforce it without `authorization = true`", mode(&toml)),
        Some(AMBIENT_PORTS_HELP),
    );
    let expose = flows("[mesh]\nmode = \"ambient\"\nauthorization = false\n[tenants.acme.expose.acme-api]\nconsumers = [\"globex\"]\nports = [8443, 9443]\n");
    rejects(
        &expose,
        "[8443, 9443]",
        &format!("[tenants.acme.expose.acme-api] limits its consumers to ports 8443, 9443, but {} cannot enforce it", mode(&expose)),
        Some(AMBIENT_PORTS_HELP),
    );
    // A scraper in the mesh reaches the pods over HBONE like any meshed caller.
    let monitoring = flows("[platform]\nmonitoring = { namespace = \"monitoring\", ports = [9090], mesh = true }\n[mesh]\nmode = \"ambient\"\n");
    rejects(
        &monitoring,
        "9090]",
        &format!("[platform.monitoring] (in the mesh) limits the scraper to port 9090, but {} cannot enforce it", mode(&monitoring)),
        Some(AMBIENT_PORTS_HELP),
    );
    // What does compile: the same limits with authorization, and a scraper outside the mesh,
    // whose plaintext reaches the scrape port itself where NetworkPolicy sees it.
    for ok in [
        toml.replace(
            "mode = \"ambient\"\n",
            "mode = \"ambient\"\nauthorization = true\n",
        ),
        expose.replace("authorization = false", "authorization = true"),
        monitoring.replace(", mesh = true", ""),
        toml.replace("mode = \"ambient\"\n", ""),
    ] {
        Project::new(&ok).compile().success();
    }
}

/// The ServiceEntry of an entry reached by address only lists its CIDRs less the ranges its
/// ipBlocks except, which must still fit Istio's 256 addresses.
#[test]
fn an_address_only_entry_fits_its_service_entry() {
    let toml = "version = 1\n[cluster]\npod_cidrs = [\"10.244.0.0/16\", \"fd00:10:244::/56\", \"3fff::/100\", \"2a00::/64\"]\nservice_cidrs = [\"10.96.0.0/12\", \"2001:db8:96::/108\", \"fd01::/120\"]\n[mesh]\n[external.anywhere]\ncidrs = [\"0.0.0.0/0\", \"::/0\"]\nports = [443]\nconsumers = [\"acme\"]\n[tenants.acme]\n";
    rejects(
        toml,
        "[\"0.0.0.0/0\", \"::/0\"]",
        "external entry `anywhere` is reached by address only, and its ServiceEntry would list 572 addresses",
        Some("split it into one [external] entry per address family, or list narrower cidrs"),
    );
    // With host names the addresses are not listed; in ambient mode there is no ServiceEntry.
    for ok in [
        toml.replace(
            "ports = [443]",
            "ports = [443]\nhosts = [\"api.example.com\"]",
        ),
        toml.replace("[mesh]\n", "[mesh]\nmode = \"ambient\"\n"),
    ] {
        Project::new(&ok).compile().success();
    }
}

/// Issue 19: `[platform.dns] cidrs` and `[platform.kube_api] cidrs` are allowed with no exception,
/// so they are checked against the cluster's ranges and the metadata addresses, either way.
#[test]
fn platform_cidrs_stay_out_of_the_cluster() {
    rejects(
        &flows("[platform.dns]\ncidrs = [\"169.254.20.10/32\", \"10.0.0.0/8\"]\n"),
        "\"10.0.0.0/8\"",
        "[platform.dns] cidrs allows 10.0.0.0/8, which contains the cluster's range 10.244.0.0/16: every pod that may reach it would reach that too",
        Some("list the node-local DNS caches' own addresses"),
    );
    rejects(
        &flows("[platform.dns]\ncidrs = [\"10.96.0.10/32\"]\n"),
        "\"10.96.0.10/32\"",
        "[platform.dns] cidrs allows 10.96.0.10/32, which lies inside the cluster's range 10.96.0.0/12",
        None,
    );
    rejects(
        &flows("[platform.dns]\ncidrs = [\"169.254.0.0/16\"]\n"),
        "\"169.254.0.0/16\"",
        "[platform.dns] cidrs allows 169.254.0.0/16, which contains the cloud metadata address 169.254.169.254/32",
        None,
    );
    rejects(
        &flows("[platform.kube_api]\ncidrs = [\"0.0.0.0/0\"]\n"),
        "\"0.0.0.0/0\"",
        "[platform.kube_api] cidrs allows 0.0.0.0/0, which contains the cluster's range",
        Some("list the API server's endpoints, each as \"<ip>/32\""),
    );
    rejects(
        &flows("[platform.kube_api]\ncidrs = [\"fd00:ec2::254/128\"]\n"),
        "\"fd00:ec2::254/128\"",
        "[platform.kube_api] cidrs allows fd00:ec2::254/128, which lies inside the cloud metadata address fd00:ec2::254/128",
        None,
    );
}

/// An external CIDR that contains an API server endpoint excepts it; one inside (or equal to)
/// an endpoint range cannot, and is refused: only `kube_api = true` reaches the API server.
#[test]
fn an_external_cidr_never_opens_the_api_server() {
    let kube_api = "[platform.kube_api]\ncidrs = [\"172.18.0.0/24\"]\n";
    rejects(
        &flows(&format!("{kube_api}[external.db]\ncidrs = [\"203.0.113.0/24\", \"172.18.0.2/32\"]\nports = [443]\nconsumers = [\"acme\"]\n")),
        "\"172.18.0.2/32\"",
        "external entry `db` allows 172.18.0.2/32, which lies inside the Kubernetes API server's endpoints 172.18.0.0/24 ([platform.kube_api] cidrs)",
        Some("only tenants with `kube_api = true` may reach the API server"),
    );
    let p = Project::new(&flows(&format!("{kube_api}[external.web]\ncidrs = [\"172.16.0.0/12\"]\nports = [443]\nconsumers = [\"acme\"]\n")));
    p.compile().success();
    let np = p.read_out("tenants/acme/acme/networkpolicies.yaml");
    assert!(
        np.contains("cidr: \"172.16.0.0/12\"\n        except:\n        - \"172.18.0.0/24\"\n"),
        "{np}"
    );
    p.run("verify", &[]).success();
}

/// IPv4-mapped IPv6 ranges name IPv4 addresses: refused with their IPv4 form, in every list.
#[test]
fn ipv4_mapped_ranges_are_refused_with_their_ipv4_form() {
    rejects(
        &stripe("").replace("\"0.0.0.0/0\"", "\"::ffff:10.244.0.0/112\""),
        "\"::ffff:10.244.0.0/112\"",
        "\"::ffff:10.244.0.0/112\" in external entry `stripe` cidrs is an IPv4-mapped IPv6 range: it names IPv4 addresses, which tenantc checks and writes in their IPv4 form",
        Some("write \"10.244.0.0/16\""),
    );
    rejects(
        &flows("[platform.kube_api]\ncidrs = [\"::ffff:172.18.0.2/128\"]\n"),
        "\"::ffff:172.18.0.2/128\"",
        "\"::ffff:172.18.0.2/128\" in [platform.kube_api] cidrs is an IPv4-mapped IPv6 range",
        Some("write \"172.18.0.2/32\""),
    );
    rejects(
        "version = 1\n[cluster]\npod_cidrs = [\"::ffff:10.244.0.0/112\"]\n",
        "\"::ffff:10.244.0.0/112\"",
        "\"::ffff:10.244.0.0/112\" in `cluster.pod_cidrs` is an IPv4-mapped IPv6 range",
        Some("write \"10.244.0.0/16\""),
    );
}

/// The platform's namespaces are reserved by their defaults even when their table is absent.
#[test]
fn platform_namespaces_are_reserved_without_their_table() {
    for (ns, table) in [
        ("istio-system", "[mesh] (Istio's control plane)"),
        ("ingress-nginx", "[platform.ingress]"),
        ("monitoring", "[platform.monitoring]"),
        ("argocd", "[gitops] with tool = \"argocd\""),
        ("flux-system", "[gitops] with tool = \"flux\""),
    ] {
        rejects(
            &format!("version = 1\n[tenants.acme]\nnamespaces = [\"acme\", \"{ns}\"]\n"),
            &format!("\"{ns}\""),
            &format!("tenant `acme` claims namespace `{ns}`, which is reserved for the platform"),
            Some(&format!("`{ns}` is the default namespace of {table}, reserved even when that table is absent")),
        );
        rejects(
            &format!("version = 1\n[shared.{ns}]\n"),
            &format!("{ns}]"),
            &format!(
                "shared entry `{ns}` claims namespace `{ns}`, which is reserved for the platform"
            ),
            None,
        );
    }
    // A table that names another namespace frees its default.
    Project::new(
        "version = 1\n[platform]\ningress = { namespace = \"edge\" }\n[tenants.ingress-nginx]\n",
    )
    .compile()
    .success();
}

/// A credential in `repo_url` would be committed to Git in the GitOps objects.
#[test]
fn a_repo_url_carries_no_credential() {
    for (url, what) in [
        (
            "https://bot:hunter2@git.example.com/p/t.git",
            "a user name and password before `@`",
        ),
        (
            "https://ghp_abc123@github.com/p/t.git",
            "a user name or token before `@`",
        ),
    ] {
        let toml = format!("version = 1\n[gitops]\ntool = \"argocd\"\nrepo_url = \"{url}\"\n");
        rejects(
            &toml,
            &format!("\"{url}\""),
            &format!("`repo_url` carries a credential ({what}), which tenantc would write into the GitOps objects it commits to Git"),
            Some("remove it from the URL"),
        );
    }
    // An SSH user is no secret.
    Project::new("version = 1\n[gitops]\ntool = \"flux\"\nrepo_url = \"ssh://git@git.example.com/p/t.git\"\n")
        .compile()
        .success();
}

/// An external entry named like a namespace or a built-in destination would make `explain`
/// answer about the wrong thing.
#[test]
fn external_names_do_not_collide_with_namespaces_or_built_in_destinations() {
    let entry = |name: &str| {
        flows(&format!(
            "[external.{name}]\ncidrs = [\"203.0.113.0/24\"]\nports = [443]\nconsumers = [\"globex\"]\n"
        ))
    };
    let help = Some("`explain`, `diff` and `graph` name namespaces, tenants and destinations alike: give it a name of its own");
    rejects(
        &entry("kube-api"),
        "kube-api]",
        "external entry `kube-api` has the name of the built-in destination `kube-api` (the Kubernetes API server)",
        help,
    );
    rejects(
        &entry("dns"),
        "dns]",
        "external entry `dns` has the name of the built-in destination `dns` (the cluster DNS)",
        help,
    );
    for ns in ["acme-api", "kube-system", "istio-system", "monitoring"] {
        rejects(
            &entry(ns),
            &format!("{ns}]"),
            &format!("external entry `{ns}` has the name of the namespace `{ns}`"),
            help,
        );
    }
}

/// `owners`, `editors`, `viewers`: `group:NAME`, `user:NAME` or `serviceaccount:NS/NAME`, each
/// subject at one level.
#[test]
fn access_subjects() {
    let help = Some(
        "write \"group:acme-devs\", \"user:alice@example.com\" or \"serviceaccount:ci/deployer\"",
    );
    rejects(
        "version = 1\n[tenants.acme]\nowners = [\"acme-admins\"]\n",
        "\"acme-admins\"",
        "owners entry `acme-admins` is not a subject: write `group:NAME`, `user:NAME` or `serviceaccount:NAMESPACE/NAME`",
        help,
    );
    rejects(
        "version = 1\n[tenants.acme]\neditors = [\"team:devs\"]\n",
        "\"team:devs\"",
        "editors entry `team:devs` has the unknown kind `team`",
        help,
    );
    rejects(
        "version = 1\n[tenants.acme]\nviewers = [\"serviceaccount:deployer\"]\n",
        "\"serviceaccount:deployer\"",
        "viewers entry `serviceaccount:deployer` names a service account without its namespace",
        help,
    );
    rejects(
        "version = 1\n[shared.db]\nowners = [\"group:ops\", \"group:x\"]\nviewers = [\"group:ops\"]\n",
        "\"group:ops\"]\n",
        "shared entry `db` lists `group:ops` in `viewers` and in `owners` (line 3)",
        Some("a subject has one level: owners may do what editors may, editors what viewers may; keep the one it needs"),
    );
}

#[test]
fn pod_security_levels_and_versions() {
    rejects(
        "version = 1\n[tenants.acme]\npod_security = \"restrict\"\n",
        "\"restrict\"",
        "pod_security `restrict` is not a Pod Security Standards level",
        Some("did you mean \"restricted\"?"),
    );
    rejects(
        "version = 1\n[defaults]\npod_security = \"baseline\"\npod_security_version = \"1.32\"\n[tenants.acme]\n",
        "\"1.32\"",
        "pod_security_version `1.32` is not a Pod Security Standards version: write `latest` or `v1.N` (such as `v1.32`)",
        None,
    );
    rejects(
        "version = 1\n[defaults]\npod_security = \"baseline\"\n[tenants.acme]\nlabels = { \"pod-security.kubernetes.io/enforce\" = \"privileged\" }\n",
        "\"pod-security.kubernetes.io/enforce\"",
        "label `pod-security.kubernetes.io/enforce` is set by tenantc from `pod_security` (here \"baseline\") and may not be set by hand",
        Some("remove it: tenantc sets enforce at the `pod_security` level and warn and audit at restricted, each with `pod_security_version`"),
    );
}

#[test]
fn quota_names_and_quantities() {
    let cd = "container_defaults = { request = { cpu = \"100m\" } }\n";
    rejects(
        &format!("version = 1\n[tenants.acme]\n{cd}quota = {{ \"requests.cpu\" = \"8 cores\" }}\n"),
        "\"8 cores\"",
        "quota `requests.cpu`: `8 cores` is not a Kubernetes quantity",
        Some("write \"8\": a quantity is a number with an optional suffix, such as \"8\", \"500m\" or \"32Gi\""),
    );
    rejects(
        "version = 1\n[tenants.acme]\nquota = { \"request.cpu\" = \"8\" }\n",
        "\"request.cpu\"",
        "quota key `request.cpu` is not a Kubernetes resource name",
        Some("did you mean `requests.cpu`?"),
    );
    rejects(
        "version = 1\n[defaults]\nquota = { pods = 200 }\n[tenants.acme]\n",
        "200",
        "the value of `pods` in `quota` must be a string, found an integer",
        Some("quote it: Kubernetes quantities are strings here, such as \"200\" or \"500m\""),
    );
    rejects(
        "version = 1\n[tenants.acme]\ncontainer_defaults = { request = { memory = \"1 GiB\" } }\n",
        "\"1 GiB\"",
        "container_defaults.request `memory`: `1 GiB` is not a Kubernetes quantity",
        Some("write \"1Gi\": a quantity is a number with an optional suffix, such as \"8\", \"500m\" or \"32Gi\""),
    );
}

/// A quota on cpu or memory refuses every pod that does not set it: a container default must.
#[test]
fn compute_quota_needs_a_container_default() {
    rejects(
        "version = 1\n[defaults]\nquota = { \"requests.memory\" = \"32Gi\" }\n[tenants.acme]\n[tenants.globex]\n",
        "\"requests.memory\"",
        "the quota of tenant `acme` sets `requests.memory` but no container default requests memory",
        Some("add container_defaults = { request = { memory = \"128Mi\" } } to the entry or to [defaults]"),
    );
    rejects(
        "version = 1\n[tenants.acme]\ncontainer_defaults = { request = { memory = \"128Mi\" } }\nquota = { \"limits.memory\" = \"64Gi\" }\n",
        "\"limits.memory\"",
        "the quota of tenant `acme` sets `limits.memory` but no container default limits memory",
        Some("add container_defaults = { limit = { memory = \"128Mi\" } } to the entry or to [defaults]"),
    );
}

/// Kubernetes refuses a LimitRange whose default request exceeds its default limit; quantities
/// are compared by value, whatever their suffixes.
#[test]
fn a_container_default_request_may_not_exceed_its_limit() {
    rejects(
        "version = 1\n[tenants.acme]\ncontainer_defaults = { request = { cpu = \"2\" }, limit = { cpu = \"1\" } }\n",
        "cpu",
        "the container default request of tenant `acme` for `cpu` is 2, more than its default limit 1",
        Some("lower the request to at most 1, or raise the limit to at least 2"),
    );
    // 1Gi is 1,073,741,824 bytes, 1000Mi 1,048,576,000: the request inherited from [defaults].
    rejects(
        "version = 1\n[defaults]\ncontainer_defaults = { request = { memory = \"1Gi\" } }\n[tenants.acme]\ncontainer_defaults = { limit = { memory = \"1000Mi\" } }\n",
        "memory",
        "the container default request of tenant `acme` for `memory` is 1Gi, more than its default limit 1000Mi",
        None,
    );
    // Equal or smaller by value, whatever the spelling: accepted.
    for (request, limit) in [
        ("100m", "0.1"),
        ("500m", "1"),
        ("1000Mi", "1Gi"),
        ("1k", "1e3"),
    ] {
        let p = Project::new(&format!(
            "version = 1\n[tenants.acme]\ncontainer_defaults = {{ request = {{ cpu = \"{request}\" }}, limit = {{ cpu = \"{limit}\" }} }}\n"
        ));
        p.compile().success();
    }
}
