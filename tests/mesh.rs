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
