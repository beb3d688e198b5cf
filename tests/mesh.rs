//! `[mesh] mode`, `mtls` and `authorization`: the AuthorizationPolicies and PeerAuthentications
//! tenantc renders, ambient mode's NetworkPolicies, and the combinations that cannot work.

mod common;

use common::{documents, files, Project, Schemas};

/// Every flow kind, with authorization, STRICT mTLS and both platform components in the mesh.
pub const AUTHZ: &str = r#"version = 1
[platform]
ingress = { namespace = "ingress-nginx", pod_labels = { "app.kubernetes.io/name" = "ingress-nginx" }, mesh = true }
monitoring = { namespace = "monitoring", ports = [9090], mesh = true }
[mesh]
mtls = "STRICT"
authorization = true
[shared.common]
[shared.payments]
consumers = ["acme"]
ports = [8443]
[tenants.acme]
namespaces = ["acme", "acme-api"]
ingress = ["acme"]
[tenants.acme.expose.acme-api]
consumers = ["globex"]
ports = [9443]
[tenants.globex]
"#;

/// The documents of one output file, as JSON.
fn docs(p: &Project, rel: &str) -> Vec<serde_json::Value> {
    documents(&p.read_out(rel))
}

fn names(docs: &[serde_json::Value]) -> Vec<String> {
    docs.iter()
        .map(|d| d["metadata"]["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn authorization_allows_by_source_namespace_exactly_the_intent() {
    let p = Project::new(AUTHZ);
    p.compile().success();
    assert!(Schemas::load().validate_tree(&p.output()) > 0);

    let acme = docs(&p, "tenants/acme/acme/authorizationpolicies.yaml");
    assert_eq!(
        names(&acme),
        ["allow-nothing", "allow-same-tenant", "allow-platform"]
    );
    assert_eq!(acme[0]["spec"], serde_json::json!({}), "allow nothing");
    assert_eq!(
        acme[1]["spec"]["rules"][0]["from"][0]["source"]["namespaces"],
        serde_json::json!(["acme", "acme-api"])
    );
    let platform = &acme[2]["spec"]["rules"];
    assert_eq!(
        platform[0]["from"][0]["source"]["namespaces"],
        serde_json::json!(["ingress-nginx"])
    );
    assert!(platform[0].get("to").is_none(), "ingress: every port");
    assert_eq!(
        platform[1]["to"][0]["operation"]["ports"],
        serde_json::json!(["9090", "15020"]),
        "monitoring: its ports and the merged metrics port"
    );

    // acme-api admits no ingress, only its consumers on their port.
    let api = docs(&p, "tenants/acme/acme-api/authorizationpolicies.yaml");
    assert_eq!(
        names(&api),
        [
            "allow-nothing",
            "allow-same-tenant",
            "allow-platform",
            "allow-consumers"
        ]
    );
    assert_eq!(
        api[2]["spec"]["rules"].as_array().unwrap().len(),
        1,
        "monitoring only"
    );
    assert_eq!(
        api[3]["spec"]["rules"][0]["from"][0]["source"]["namespaces"],
        serde_json::json!(["globex"])
    );
    assert_eq!(
        api[3]["spec"]["rules"][0]["to"][0]["operation"]["ports"],
        serde_json::json!(["9443"])
    );

    let payments = docs(&p, "shared/payments/authorizationpolicies.yaml");
    assert_eq!(
        payments[3]["spec"]["rules"][0]["from"][0]["source"]["namespaces"],
        serde_json::json!(["acme", "acme-api"])
    );
    let pa = docs(&p, "shared/payments/peerauthentication.yaml");
    assert_eq!(pa.len(), 1);
    assert_eq!(pa[0]["metadata"]["name"], "default");
    assert_eq!(pa[0]["spec"]["mtls"]["mode"], "STRICT");
    let k = p.read_out("tenants/acme/kustomization.yaml");
    assert!(k.contains("- acme/authorizationpolicies.yaml\n- acme/peerauthentication.yaml\n"));
}

#[test]
fn authorization_policies_split_large_consumer_lists() {
    let mut config = String::from("version = 1\n[mesh]\nauthorization = true\n[shared.common]\n");
    for i in 0..1_200 {
        config.push_str(&format!("[tenants.t{i:04}]\n"));
    }
    let p = Project::new(&config);
    p.compile().success();
    let common = docs(&p, "shared/common/authorizationpolicies.yaml");
    assert_eq!(
        names(&common),
        [
            "allow-nothing",
            "allow-same-tenant",
            "allow-consumers",
            "allow-consumers-2"
        ]
    );
    let count = |d: &serde_json::Value| {
        d["spec"]["rules"][0]["from"][0]["source"]["namespaces"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!((count(&common[2]), count(&common[3])), (1_000, 200));
}

#[test]
fn without_the_keys_there_is_no_authorization_and_no_peer_authentication() {
    let p = Project::new("version = 1\n[mesh]\n[tenants.acme]\n");
    p.compile().success();
    let all = files(&p.output());
    assert!(!all
        .keys()
        .any(|f| f.contains("authorizationpolicies") || f.contains("peerauthentication")));
}

const AMBIENT: &str = r#"version = 1
[cluster]
pod_cidrs = ["10.244.0.0/16"]
service_cidrs = ["10.96.0.0/12"]
[platform]
ingress = { namespace = "ingress-nginx", mesh = true }
monitoring = { namespace = "monitoring", ports = [9090], mesh = true }
[mesh]
mode = "ambient"
mtls = "STRICT"
authorization = true
[external.stripe]
hosts = ["api.stripe.com"]
cidrs = ["0.0.0.0/0"]
ports = [443]
consumers = ["acme"]
[shared.payments]
consumers = ["acme"]
ports = [8443]
[tenants.acme]
ingress = true
[tenants.globex]
"#;

#[test]
fn ambient_mode_labels_namespaces_and_opens_hbone_and_probes() {
    let p = Project::new(AMBIENT);
    p.compile().success();
    assert!(Schemas::load().validate_tree(&p.output()) > 0);
    let all = files(&p.output());
    assert!(
        !all.keys()
            .any(|f| f.ends_with("sidecar.yaml") || f.ends_with("serviceentries.yaml")),
        "no Sidecars, no ServiceEntries in ambient mode: {:?}",
        all.keys().collect::<Vec<_>>()
    );
    let ns = docs(&p, "tenants/acme/acme/namespace.yaml");
    let labels = &ns[0]["metadata"]["labels"];
    assert_eq!(labels["istio.io/dataplane-mode"], "ambient");
    assert!(labels.get("istio-injection").is_none());

    let np = p.read_out("tenants/acme/acme/networkpolicies.yaml");
    assert!(
        !np.contains("15012"),
        "no istiod egress for app pods:\n{np}"
    );
    let policies = documents(&np);
    let platform = policies
        .iter()
        .find(|d| d["metadata"]["name"] == "allow-platform")
        .unwrap();
    let ingress = platform["spec"]["ingress"].as_array().unwrap();
    assert!(ingress
        .iter()
        .any(|r| r["from"][0]["ipBlock"]["cidr"] == "169.254.7.127/32"));
    let ports_of = |policy: &str, dir: &str| -> Vec<i64> {
        let d = policies
            .iter()
            .find(|d| d["metadata"]["name"] == policy)
            .unwrap();
        d["spec"][dir][0]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["port"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ports_of("allow-shared-services", "egress"), [8443, 15008]);
    assert_eq!(
        ports_of("allow-external", "egress"),
        [443],
        "HBONE stays in the cluster"
    );
    let payments = documents(&p.read_out("shared/payments/networkpolicies.yaml"));
    let consumers = payments
        .iter()
        .find(|d| d["metadata"]["name"] == "allow-consumers")
        .unwrap();
    let ports: Vec<i64> = consumers["spec"]["ingress"][0]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["port"].as_i64().unwrap())
        .collect();
    assert_eq!(ports, [8443, 15008]);
    // Monitoring scrapes the application's port: there is no 15020 without a sidecar.
    assert!(!p
        .read_out("shared/payments/networkpolicies.yaml")
        .contains("15020"));
}

#[test]
fn combinations_that_cannot_work_are_errors_with_help() {
    let cases: [(&str, &str, &str); 6] = [
        (
            "version = 1\n[platform]\ningress = { namespace = \"ingress-nginx\" }\n[mesh]\nmtls = \"STRICT\"\n[tenants.acme]\ningress = true\n",
            "tenants.toml:5:8: `mtls = \"STRICT\"` refuses the plaintext connections of the ingress controller",
            "set `mesh = true` in [platform.ingress], or use mtls = \"PERMISSIVE\"",
        ),
        (
            "version = 1\n[platform]\ningress = { namespace = \"ingress-nginx\" }\n[mesh]\nauthorization = true\n[tenants.acme]\ningress = true\n[tenants.globex]\ningress = true\n",
            "tenants.toml:5:17: `authorization = true` admits callers by the namespace their mTLS identity proves, and the ingress controller is not in the mesh: no AuthorizationPolicy can admit it, so acme and globex",
            "set `mesh = true` in [platform.ingress]",
        ),
        (
            "version = 1\n[platform]\nmonitoring = { namespace = \"monitoring\", ports = [9090] }\n[mesh]\nauthorization = true\n[tenants.acme]\n",
            "tenants.toml:5:17: `authorization = true` would stop the scraper, which is not in the mesh: only Istio's merged metrics port 15020 bypasses the sidecar, not 9090",
            "remove `ports`",
        ),
        (
            "version = 1\n[platform]\nmonitoring = { namespace = \"monitoring\" }\n[mesh]\nmode = \"ambient\"\nmtls = \"STRICT\"\n[tenants.acme]\n",
            "tenants.toml:6:8: `mtls = \"STRICT\"` would stop the scraper, which is not in the mesh: in ambient mode",
            "set `mesh = true` in [platform.monitoring]",
        ),
        (
            "version = 1\n[mesh]\nmode = \"ambient\"\noutbound_traffic_policy = \"REGISTRY_ONLY\"\n[tenants.acme]\n",
            "tenants.toml:4:27: `outbound_traffic_policy` is a Sidecar setting",
            "NetworkPolicies' egress rules",
        ),
        (
            "version = 1\n[platform]\ningress = { namespace = \"ingress-nginx\", mesh = true }\n[mesh]\nmode = \"Ambient\"\n[tenants.acme]\n",
            "tenants.toml:5:8: `mode` must be \"sidecar\" or \"ambient\", found \"Ambient\"",
            "did you mean \"ambient\"?",
        ),
    ];
    for (config, message, help) in cases {
        let p = Project::new(config);
        let out = p
            .run("compile", &["--message-format", "json"])
            .code(2)
            .get_output()
            .stderr
            .clone();
        let text = String::from_utf8_lossy(&out);
        let hit = text.lines().any(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap_or_default();
            let at = format!(
                "{}:{}:{}: {}",
                v["file"].as_str().unwrap_or(""),
                v["line"],
                v["column"],
                v["message"].as_str().unwrap_or("")
            );
            at.starts_with(message) && v["help"].as_str().unwrap_or("").contains(help)
        });
        assert!(hit, "expected `{message}` with help `{help}`, got:\n{text}");
        assert!(!p.output().exists(), "nothing is written");
    }
    // `mesh = true` needs a mesh.
    let p = Project::new(
        "version = 1\n[platform]\ningress = { namespace = \"i\", mesh = true }\n[tenants.acme]\n",
    );
    p.compile().code(2).stderr(predicates::str::contains(
        "sets `mesh = true`, but there is no [mesh]",
    ));
}

/// `tenantc verify`, expecting exit 1 and every message given; returns stdout.
fn violations(p: &Project, messages: &[&str]) -> String {
    let out = p.run("verify", &[]).code(1).get_output().stdout.clone();
    let text = String::from_utf8(out).unwrap();
    for m in messages {
        assert!(text.contains(m), "`{m}` not in:\n{text}");
    }
    text
}

/// The warning verify gives once per external entry with hosts that an ambient namespace consumes.
const STRIPE_HOSTS_NOT_ENFORCED: &str = "warning: external stripe (api.stripe.com): in ambient mode the host names are not enforced (ztunnel forwards by address, and tenantc generates no egress waypoint yet): the consumers reach any host at its addresses on TCP/443; the NetworkPolicy ipBlock is the only control\n";

/// Compiled and verified: no violation, and no warning but that of ambient mode's host names.
fn compiled(config: &str) -> Project {
    let p = Project::new(config);
    p.compile().success();
    let out = p.run("verify", &[]).code(0).get_output().stdout.clone();
    let text = String::from_utf8(out).unwrap();
    let warnings = if text.contains(STRIPE_HOSTS_NOT_ENFORCED) {
        1
    } else {
        0
    };
    assert!(
        text.contains(&format!("0 violations, {warnings} warning")),
        "{text}"
    );
    p
}

const API_AP: &str = "tenants/acme/acme-api/authorizationpolicies.yaml";

#[test]
fn verify_catches_an_authorization_policy_that_denies_an_allowed_flow() {
    let p = compiled(AUTHZ);
    p.edit(API_AP, "        - globex\n", "        - globex-old\n");
    violations(
        &p,
        &["violation: globex -> acme-api TCP/9443 is allowed by tenants.toml and by the NetworkPolicies but the AuthorizationPolicies of acme-api deny it (no ALLOW rule matches it): an outage (output/tenants/acme/acme-api/authorizationpolicies.yaml: allow-nothing; output/tenants/acme/acme-api/authorizationpolicies.yaml: allow-same-tenant; output/tenants/acme/acme-api/authorizationpolicies.yaml: allow-platform; output/tenants/acme/acme-api/authorizationpolicies.yaml: allow-consumers)"],
    );
    // explain names the policies that decide, and the verdict follows them.
    p.run("explain", &["globex", "acme-api"])
        .stdout(predicates::str::contains(
            "  AuthorizationPolicies of acme-api: denied (no ALLOW rule matches source namespace globex)\n    by output/tenants/acme/acme-api/authorizationpolicies.yaml: allow-nothing\n",
        ))
        .stdout(predicates::str::contains(
            "  verdict: denied, which is NOT what tenants.toml says",
        ));
}

#[test]
fn verify_catches_a_deny_policy_and_a_wrong_port() {
    let p = compiled(AUTHZ);
    let deny = "---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: deny-acme\n  namespace: payments\nspec:\n  action: DENY\n  rules:\n  - from:\n    - source:\n        principals: [\"cluster.local/ns/acme/sa/*\"]\n";
    let path = p
        .output()
        .join("shared/payments/authorizationpolicies.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}{deny}")).unwrap();
    p.edit(API_AP, "        - \"9443\"\n", "        - \"9444\"\n");
    violations(
        &p,
        &[
            "violation: acme -> payments TCP/8443 is allowed by tenants.toml and by the NetworkPolicies but the AuthorizationPolicies of payments deny it (a DENY policy matches it): an outage (output/shared/payments/authorizationpolicies.yaml: deny-acme)",
            "violation: globex -> acme-api TCP/9443 is allowed by tenants.toml and by the NetworkPolicies but the AuthorizationPolicies of acme-api deny it",
            "violation: globex -> acme-api TCP/9444 is allowed by the AuthorizationPolicies of acme-api but tenants.toml does not allow it: a hole in the identity layer; the NetworkPolicies still block it",
        ],
    );
}

#[test]
fn verify_catches_authorization_holes_and_weak_mtls() {
    let p = compiled(AUTHZ);
    // A caller the intent does not admit, and a rule without `from` (every caller).
    p.edit(
        API_AP,
        "        - globex\n",
        "        - globex\n        - common\n",
    );
    p.edit(
        "tenants/globex/globex/authorizationpolicies.yaml",
        "  rules:\n  - from:\n    - source:\n        namespaces:\n        - globex\n",
        "  rules:\n  - {}\n",
    );
    p.edit(
        "shared/common/peerauthentication.yaml",
        "STRICT",
        "PERMISSIVE",
    );
    std::fs::remove_file(p.output().join("shared/payments/peerauthentication.yaml")).unwrap();
    p.edit(
        "shared/payments/kustomization.yaml",
        "- peerauthentication.yaml\n",
        "",
    );
    violations(
        &p,
        &[
            "violation: common -> acme-api TCP/9443 is allowed by the AuthorizationPolicies of acme-api but tenants.toml does not allow it: a hole in the identity layer; the NetworkPolicies still block it (output/tenants/acme/acme-api/authorizationpolicies.yaml: allow-consumers)",
            "violation: every namespace -> globex every TCP port is allowed by the AuthorizationPolicies of globex but tenants.toml does not allow it",
            "violation: the PeerAuthentication of common sets mode PERMISSIVE, but tenants.toml says STRICT",
            "violation: tenants.toml sets mtls = \"STRICT\" but namespace payments has no namespace-wide PeerAuthentication",
        ],
    );
}

#[test]
fn verify_catches_a_missing_allow_nothing_and_foreign_authorization() {
    let p = compiled(AUTHZ);
    let text = p.read_out(API_AP);
    let second = text.find("---\n").unwrap();
    std::fs::write(
        p.output().join(API_AP),
        format!("# Generated by tenantc from x\n{}", &text[second + 4..]),
    )
    .unwrap();
    let out = p.run("verify", &[]).code(0).get_output().stdout.clone();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("warning: namespace acme-api has no allow-nothing AuthorizationPolicy"),
        "{text}"
    );
}

const AMBIENT_PAYMENTS_NP: &str = "shared/payments/networkpolicies.yaml";

#[test]
fn verify_catches_what_breaks_ambient_mode() {
    let p = compiled(AMBIENT);
    // HBONE dropped from one port-restricted flow, at the callee.
    let text = p.read_out(AMBIENT_PAYMENTS_NP);
    let consumers = text.find("name: allow-consumers").unwrap();
    let (head, tail) = text.split_at(consumers);
    let tail = tail.replacen(
        "    # HBONE: ambient mode tunnels this flow to port 15008.\n    - protocol: TCP\n      port: 15008\n",
        "",
        1,
    );
    std::fs::write(
        p.output().join(AMBIENT_PAYMENTS_NP),
        format!("{head}{tail}"),
    )
    .unwrap();
    // The probes' address dropped.
    p.edit(
        "tenants/globex/globex/networkpolicies.yaml",
        "    - ipBlock:\n        cidr: \"169.254.7.127/32\"\n",
        "    - ipBlock:\n        cidr: \"169.254.7.128/32\"\n",
    );
    // A Sidecar in an ambient namespace, and the injection label.
    let sidecar = "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata:\n  name: default\n  namespace: acme\nspec:\n  egress:\n  - hosts: [\"./*\"]\n";
    std::fs::write(
        p.output().join("tenants/acme/acme/sidecar.yaml"),
        format!("# Generated by tenantc from x\n{sidecar}"),
    )
    .unwrap();
    p.edit(
        "tenants/acme/kustomization.yaml",
        "- acme/networkpolicies.yaml\n",
        "- acme/networkpolicies.yaml\n- acme/sidecar.yaml\n",
    );
    p.edit(
        "tenants/acme/acme/namespace.yaml",
        "    istio.io/dataplane-mode: ambient\n",
        "    istio.io/dataplane-mode: ambient\n    istio-injection: enabled\n",
    );
    violations(
        &p,
        &[
            "violation: acme -> payments is limited to some ports, and in ambient mode it is tunnelled to HBONE port TCP/15008, which the ingress policies of payments do not allow: the flow breaks",
            "violation: namespace globex is in ambient mode, which SNATs the kubelet's health probes to 169.254.7.127/32, and its ingress policies do not admit that address",
            "violation: namespace acme is in ambient mode, where a Sidecar has no effect (istio/api#3517): Sidecar default does not limit anything",
            "violation: namespace acme is in ambient mode but carries `istio-injection: enabled`",
            "IP block 169.254.7.128/32",
        ],
    );
}

#[test]
fn verify_catches_istiod_egress_left_in_ambient_mode() {
    let p = compiled(AMBIENT);
    p.edit(
        "tenants/globex/globex/networkpolicies.yaml",
        "  egress:\n  # DNS",
        "  egress:\n  - to:\n    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: istio-system\n    ports:\n    - protocol: TCP\n      port: 15012\n  # DNS",
    );
    violations(&p, &["globex -> istio-system TCP/15012 is allowed"]);
}

#[test]
fn ambient_mesh_scope_explains_instead_of_counting() {
    let p = compiled(AMBIENT);
    p.run("verify", &[]).stdout(predicates::str::contains(
        "mesh scope: ambient mode: 3 namespaces have no Sidecars (a Sidecar has no effect in ambient mode, istio/api#3517)",
    ));
}

#[test]
fn the_ambient_example_is_current_valid_and_verified() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let args = [
        "--config",
        "tenants/examples/ambient.toml",
        "--output",
        "examples/ambient-output",
    ];
    common::tenantc()
        .current_dir(root)
        .arg("compile")
        .args(args)
        .arg("--check")
        .assert()
        .code(0);
    assert!(Schemas::load().validate_tree(&root.join("examples/ambient-output")) > 0);
    common::tenantc()
        .current_dir(root)
        .arg("verify")
        .args(args)
        .assert()
        .code(0)
        .stdout(predicates::str::contains(STRIPE_HOSTS_NOT_ENFORCED))
        .stdout(predicates::str::contains("0 violations, 1 warning"));
}

/// Issue 19, item 8: in ambient mode an external entry with hosts is allowed by the ipBlock
/// alone (no sidecar, no registry filter), and its host names are not enforced without an
/// egress waypoint: explain says both, verify warns once per entry.
#[test]
fn ambient_mode_explains_externals_by_their_ip_block_and_warns_of_the_hosts() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = |sub: &str, extra: &[&str]| {
        common::tenantc()
            .current_dir(root)
            .arg(sub)
            .args(extra)
            .args([
                "--config",
                "tenants/examples/ambient.toml",
                "--output",
                "examples/ambient-output",
            ])
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone()
    };
    let explain = String::from_utf8(run("explain", &["acme", "stripe"])).unwrap();
    assert!(
        explain.contains("acme -> external stripe (api.stripe.com)\n  tenants.toml: allowed on TCP/443 to 0.0.0.0/0 except 10.96.0.0/12, 10.244.0.0/16, 169.254.169.254/32, 172.18.0.2/32 ([external.stripe] grants it)\n  egress of acme: allowed on TCP/443\n    by output/tenants/acme/acme/networkpolicies.yaml: allow-external (on TCP/443)\n  verdict: allowed on TCP/443, as tenants.toml says\n  warning: external stripe (api.stripe.com): in ambient mode the host names are not enforced".replace("output/", "examples/ambient-output/").as_str()),
        "{explain}"
    );
    assert!(!explain.contains("registry entry"), "{explain}");
    let verify = String::from_utf8(run("verify", &[])).unwrap();
    assert_eq!(
        verify
            .matches("ambient mode the host names are not enforced")
            .count(),
        1,
        "{verify}"
    );
    let json = String::from_utf8(run("verify", &["--format", "json"])).unwrap();
    assert!(
        json.contains("\"check\": \"ambient-hosts-not-enforced\""),
        "{json}"
    );
}

/// Switching to ambient opens HBONE (TCP/15008) beside every port-restricted flow. The
/// AuthorizationPolicies rightly do not list 15008 (ztunnel authorizes the port inside the
/// tunnel): `diff` and `graph` must not call that an outage, while a real one still shows.
#[test]
fn moving_to_ambient_is_no_identity_layer_outage_in_diff_or_graph() {
    let p = compiled(AUTHZ);
    let base = p.path().join("base");
    std::fs::rename(p.output(), &base).unwrap();
    p.set_config(&AUTHZ.replace("[mesh]\n", "[mesh]\nmode = \"ambient\"\n"));
    p.compile().success();
    let diff = p.run("diff", &["--base", "base"]).code(0);
    let text = String::from_utf8(diff.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains("~ globex -> acme-api: TCP/9443 becomes TCP/9443, TCP/15008"),
        "{text}"
    );
    assert!(!text.contains("outage"), "{text}");
    let graph = p.run("graph", &[]).code(0);
    let text = String::from_utf8(graph.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains("globex -- \"TCP/9443, TCP/15008\" --> acme"),
        "{text}"
    );
    assert!(!text.contains("the mesh denies"), "{text}");
    // A real outage in ambient mode is still one.
    p.edit(API_AP, "        - globex\n", "        - globex-old\n");
    let diff = p.run("diff", &["--base", "base"]).code(0);
    let text = String::from_utf8(diff.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains("! globex -> acme-api TCP/9443: the NetworkPolicies allow it but the AuthorizationPolicies of acme-api deny it (an outage in the mesh)"),
        "{text}"
    );
}
