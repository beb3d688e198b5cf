//! The example compiles to a valid, deterministic, kustomize-ready tree; every value comes through
//! YAML as the same string.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{documents, files, tenantc, Project, Schemas, EXAMPLE};

#[test]
fn example_tree_matches_snapshot_and_validates() {
    let p = Project::new(EXAMPLE);
    p.compile().success().stdout(predicates::str::contains(
        "compiled 4 tenants, 2 shared: 87 files written, 0 unchanged, 0 removed",
    ));
    let tree = files(&p.output());
    let mut all = String::new();
    for (path, text) in &tree {
        all.push_str(&format!("==> {path} <==\n{text}"));
    }
    insta::assert_snapshot!("example_tree", all);
    let checked = Schemas::load().validate_tree(&p.output());
    // 10 namespaces: Namespace, Sidecar, ServiceEntries (node-local DNS at least) and policies each.
    assert!(checked >= 10 * 4, "only {checked} documents validated");
}

#[test]
fn committed_output_is_what_the_example_compiles_to() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let p = Project::new(EXAMPLE);
    p.compile().success();
    assert_eq!(
        files(&p.output()),
        files(&root.join("output")),
        "run `cargo run -- compile` and commit output/"
    );
}

#[test]
fn templates_dir_mirrors_the_embedded_templates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let on_disk: BTreeMap<String, String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    let embedded: BTreeMap<String, String> = tenantc::render::DEFAULT_TEMPLATES
        .iter()
        .map(|(n, s)| (n.to_string(), s.to_string()))
        .collect();
    assert_eq!(on_disk, embedded);
}

#[test]
fn every_kind_of_namespace_has_namespace_policies_and_sidecar() {
    let p = Project::new(EXAMPLE);
    p.compile().success();
    let tree = files(&p.output());
    for ns in [
        "tenants/acme/acme",
        "tenants/acme/acme-jobs",
        "tenants/globex/globex-web",
        "shared/payments",
    ] {
        for file in ["namespace.yaml", "networkpolicies.yaml", "sidecar.yaml"] {
            assert!(
                tree.contains_key(&format!("{ns}/{file}")),
                "missing {ns}/{file}"
            );
        }
    }
    let root: Vec<_> = documents(&tree["kustomization.yaml"]);
    assert_eq!(
        root[0]["resources"],
        serde_json::json!([
            "shared/common-services",
            "shared/payments",
            "tenants/acme",
            "tenants/globex",
            "tenants/initech",
            "tenants/umbrella"
        ])
    );
}

fn doc_of(tree: &BTreeMap<String, String>, path: &str) -> Vec<serde_json::Value> {
    documents(
        tree.get(path)
            .unwrap_or_else(|| panic!("no {path} in {:?}", tree.keys().collect::<Vec<_>>())),
    )
}

#[test]
fn network_policies_isolate_and_allow_exactly_the_declared_flows() {
    let p = Project::new(EXAMPLE);
    p.compile().success();
    let tree = files(&p.output());
    let docs = doc_of(&tree, "tenants/globex/globex-web/networkpolicies.yaml");
    let by_name: BTreeMap<&str, &serde_json::Value> = docs
        .iter()
        .map(|d| (d["metadata"]["name"].as_str().unwrap(), d))
        .collect();
    let deny = by_name["default-deny"];
    assert_eq!(deny["spec"]["podSelector"], serde_json::json!({}));
    assert_eq!(
        deny["spec"]["policyTypes"],
        serde_json::json!(["Ingress", "Egress"])
    );
    assert!(deny["spec"].get("ingress").is_none() && deny["spec"].get("egress").is_none());

    let same = by_name["allow-same-tenant"];
    let values = &same["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchExpressions"][0];
    assert_eq!(values["key"], "kubernetes.io/metadata.name");
    assert_eq!(
        values["values"],
        serde_json::json!(["globex-api", "globex-batch", "globex-web"])
    );

    // globex consumes common-services only, not payments.
    let shared = by_name["allow-shared-services"];
    assert_eq!(
        shared["spec"]["egress"][0]["to"][0]["namespaceSelector"]["matchExpressions"][0]["values"],
        serde_json::json!(["common-services"])
    );

    let platform = by_name["allow-platform"];
    let egress = platform["spec"]["egress"].as_array().unwrap();
    let dns = &egress[0];
    assert_eq!(
        dns["to"][0]["podSelector"]["matchLabels"],
        serde_json::json!({"k8s-app": "kube-dns"})
    );
    assert_eq!(
        dns["ports"],
        serde_json::json!([{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}])
    );
    // The node-local DNS cache, by address, on the same ports.
    let node_local = &egress[1];
    assert_eq!(
        node_local["to"],
        serde_json::json!([{"ipBlock": {"cidr": "169.254.20.10/32"}}])
    );
    assert_eq!(node_local["ports"], dns["ports"]);
    let istiod = &egress[2];
    assert_eq!(
        istiod["to"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        "istio-system"
    );
    assert_eq!(
        istiod["ports"],
        serde_json::json!([{"protocol": "TCP", "port": 15012}])
    );
    assert_eq!(egress.len(), 3);
    // Ingress controller and monitoring (every port, so Istio's merged metrics on 15020 too).
    let ingress = platform["spec"]["ingress"].as_array().unwrap();
    assert_eq!(ingress.len(), 2);
    assert!(ingress.iter().all(|r| r.get("ports").is_none()));

    // globex reaches acme's exposed acme-api on its port, and nothing else of acme.
    let exposed = by_name["allow-exposed-services"];
    assert_eq!(
        exposed["spec"]["egress"],
        serde_json::json!([{
            "to": [{"namespaceSelector": {"matchExpressions": [{
                "key": "kubernetes.io/metadata.name", "operator": "In", "values": ["acme-api"]
            }]}}],
            "ports": [{"protocol": "TCP", "port": 8443}]
        }])
    );
    // And acme-api admits globex's namespaces on that port.
    let acme_api = doc_of(&tree, "tenants/acme/acme-api/networkpolicies.yaml");
    let consumers = acme_api
        .iter()
        .find(|d| d["metadata"]["name"] == "allow-consumers")
        .unwrap();
    assert_eq!(
        consumers["spec"]["ingress"],
        serde_json::json!([{
            "from": [{"namespaceSelector": {"matchExpressions": [{
                "key": "kubernetes.io/metadata.name", "operator": "In",
                "values": ["globex-api", "globex-batch", "globex-web"]
            }]}}],
            "ports": [{"protocol": "TCP", "port": 8443}]
        }])
    );
    // No other namespace of acme admits anyone of globex.
    for ns in ["acme", "acme-jobs"] {
        let text = &tree[&format!("tenants/acme/{ns}/networkpolicies.yaml")];
        assert!(!text.contains("globex"), "{ns} admits globex");
    }

    // payments admits its consumers' namespaces only, on its one port.
    let payments = doc_of(&tree, "shared/payments/networkpolicies.yaml");
    let consumers = payments
        .iter()
        .find(|d| d["metadata"]["name"] == "allow-consumers")
        .unwrap();
    assert_eq!(
        consumers["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchExpressions"][0]
            ["values"],
        serde_json::json!(["acme", "acme-api", "acme-jobs", "initech"])
    );
    assert_eq!(
        consumers["spec"]["ingress"][0]["ports"],
        serde_json::json!([{"protocol": "TCP", "port": 8443}])
    );
    // The ingress controller reaches acme's web namespace only (ingress = ["acme"]).
    for (ns, rules) in [("acme", 2), ("acme-api", 1), ("acme-jobs", 1)] {
        let docs = doc_of(&tree, &format!("tenants/acme/{ns}/networkpolicies.yaml"));
        let platform = docs
            .iter()
            .find(|d| d["metadata"]["name"] == "allow-platform")
            .unwrap();
        assert_eq!(
            platform["spec"]["ingress"].as_array().unwrap().len(),
            rules,
            "{ns}: ingress controller and monitoring, or monitoring only"
        );
    }
    // umbrella consumes no payments; initech does not accept ingress.
    let initech = doc_of(&tree, "tenants/initech/initech/networkpolicies.yaml");
    let initech_platform = initech
        .iter()
        .find(|d| d["metadata"]["name"] == "allow-platform")
        .unwrap();
    assert_eq!(
        initech_platform["spec"]["ingress"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "monitoring only"
    );
}

#[test]
fn sidecars_list_exactly_the_hosts_the_namespace_may_use() {
    let p = Project::new(EXAMPLE);
    p.compile().success();
    let tree = files(&p.output());
    let sidecar = &doc_of(&tree, "tenants/initech/initech/sidecar.yaml")[0];
    assert_eq!(
        sidecar["spec"]["egress"][0]["hosts"],
        serde_json::json!([
            "common-services/*",
            "initech/*",
            "istio-system/*",
            "kube-system/kube-dns.kube-system.svc.cluster.local",
            "payments/*"
        ])
    );
    assert_eq!(
        sidecar["spec"]["outboundTrafficPolicy"]["mode"],
        "REGISTRY_ONLY"
    );
    let shared = &doc_of(&tree, "shared/common-services/sidecar.yaml")[0];
    assert_eq!(
        shared["spec"]["egress"][0]["hosts"],
        serde_json::json!([
            "./*",
            "istio-system/*",
            "kube-system/kube-dns.kube-system.svc.cluster.local"
        ])
    );
}

#[test]
fn without_mesh_there_are_no_sidecars_and_no_injection_labels() {
    let p = Project::new("version = 1\n[shared.common]\n[tenants.a]\n[tenants.b]\n");
    p.compile().success();
    let tree = files(&p.output());
    assert!(!tree.keys().any(|k| k.ends_with("sidecar.yaml")));
    let ns = &doc_of(&tree, "tenants/a/a/namespace.yaml")[0];
    assert!(ns["metadata"]["labels"].get("istio-injection").is_none());
    let policies = doc_of(&tree, "tenants/a/a/networkpolicies.yaml");
    let text = serde_json::to_string(&policies).unwrap();
    assert!(!text.contains("15012") && !text.contains("istiod"));
    Schemas::load().validate_tree(&p.output());
}

#[test]
fn revision_based_injection_and_custom_platform() {
    let p = Project::new(
        r#"version = 1
[cluster]
domain = "corp.internal"
[platform]
dns = { namespace = "openshift-dns", service = "dns-default", pod_labels = { "dns.operator.openshift.io/daemonset-dns" = "default" }, ports = [5353] }
monitoring = { namespace = "monitoring", ports = [9090] }
[mesh]
namespace = "istio-system"
revision = "canary"
[tenants.a]
"#,
    );
    p.compile().success();
    let tree = files(&p.output());
    let ns = &doc_of(&tree, "tenants/a/a/namespace.yaml")[0];
    assert_eq!(ns["metadata"]["labels"]["istio.io/rev"], "canary");
    assert!(ns["metadata"]["labels"].get("istio-injection").is_none());
    let sidecar = &doc_of(&tree, "tenants/a/a/sidecar.yaml")[0];
    let hosts = sidecar["spec"]["egress"][0]["hosts"].as_array().unwrap();
    assert!(hosts.contains(&serde_json::json!(
        "openshift-dns/dns-default.openshift-dns.svc.corp.internal"
    )));
    let policies = doc_of(&tree, "tenants/a/a/networkpolicies.yaml");
    let platform = policies
        .iter()
        .find(|d| d["metadata"]["name"] == "allow-platform")
        .unwrap();
    assert_eq!(
        platform["spec"]["egress"][0]["ports"][0],
        serde_json::json!({"protocol": "UDP", "port": 5353})
    );
    // Monitoring limited to the metrics port plus Istio's merged metrics port; any monitoring pod.
    let scrape = &platform["spec"]["ingress"][0];
    assert_eq!(
        scrape["ports"],
        serde_json::json!([{"protocol": "TCP", "port": 9090}, {"protocol": "TCP", "port": 15020}])
    );
    assert_eq!(scrape["from"][0]["podSelector"], serde_json::json!({}));
    Schemas::load().validate_tree(&p.output());
}

/// Values YAML would read as something else (booleans, null, numbers, comments, document
/// markers, quotes) must come through as the very same strings. (Line breaks, tabs and other
/// control characters are refused in tenants.toml: tests/hostile.rs.)
#[test]
fn yaml_tricky_values_come_through_as_the_same_strings() {
    let names = [
        "yes", "no", "on", "off", "null", "true", "y", "0123", "1e3", "0x1f", "123",
    ];
    let label_values = [
        "yes", "on", "No", "null", "0123", "1.10", "", "1e3", "true", "0x1F", "x_y",
    ];
    let annotation_values = [
        "yes",
        "null",
        "",
        "0123",
        "1.10",
        "# not a comment",
        "a #b",
        "---",
        "...",
        "'single'",
        "\"double\"",
        "key: value",
        "- item",
        "{flow}",
        "[seq]",
        "*alias",
        "&anchor",
        "!tag",
        "%directive",
        "@at",
        "`tick",
        " leading space",
        "trailing space ",
        "back\\slash",
        "ünïcödé",
    ];
    let mut toml = String::from("version = 1\n[mesh]\n");
    for n in names {
        toml.push_str(&format!("[tenants.\"{n}\"]\n"));
    }
    toml.push_str("[tenants.tricky]\nnamespaces = [\"tricky\"]\nlabels = {");
    toml.push_str(
        &label_values
            .iter()
            .enumerate()
            .map(|(i, v)| format!(" \"example.com/l{i}\" = {}", toml_str(v)))
            .collect::<Vec<_>>()
            .join(","),
    );
    toml.push_str(" }\nannotations = {");
    toml.push_str(
        &annotation_values
            .iter()
            .enumerate()
            .map(|(i, v)| format!(" \"example.com/a{i}\" = {}", toml_str(v)))
            .collect::<Vec<_>>()
            .join(","),
    );
    toml.push_str(" }\n");
    let p = Project::new(&toml);
    p.compile().success();
    let tree = files(&p.output());
    for n in names {
        let ns = &doc_of(&tree, &format!("tenants/{n}/{n}/namespace.yaml"))[0];
        assert_eq!(
            ns["metadata"]["name"],
            serde_json::json!(n),
            "namespace name {n:?}"
        );
        assert_eq!(
            ns["metadata"]["labels"]["tenantc.dev/tenant"],
            serde_json::json!(n)
        );
        let sidecar = &doc_of(&tree, &format!("tenants/{n}/{n}/sidecar.yaml"))[0];
        assert_eq!(sidecar["metadata"]["namespace"], serde_json::json!(n));
        for d in doc_of(&tree, &format!("tenants/{n}/{n}/networkpolicies.yaml")) {
            assert_eq!(d["metadata"]["namespace"], serde_json::json!(n));
        }
    }
    let ns = &doc_of(&tree, "tenants/tricky/tricky/namespace.yaml")[0];
    for (i, v) in label_values.iter().enumerate() {
        assert_eq!(
            ns["metadata"]["labels"][format!("example.com/l{i}")],
            serde_json::json!(v),
            "label value {v:?}"
        );
    }
    for (i, v) in annotation_values.iter().enumerate() {
        assert_eq!(
            ns["metadata"]["annotations"][format!("example.com/a{i}")],
            serde_json::json!(v),
            "annotation {v:?}"
        );
    }
    let checked = Schemas::load().validate_tree(&p.output());
    assert!(checked > names.len() * 3);
}

fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A `"*"` shared namespace in a cluster of 10,000 tenants stays far from the 1.5 MiB limit.
#[test]
fn large_consumer_lists_are_split_into_bounded_objects() {
    let mut toml = String::from("version = 1\n[mesh]\n[shared.common]\n");
    for i in 0..2500 {
        toml.push_str(&format!("[tenants.tenant-{i:05}]\n"));
    }
    let p = Project::new(&toml);
    p.compile().success();
    let text =
        std::fs::read_to_string(p.output().join("shared/common/networkpolicies.yaml")).unwrap();
    let docs = documents(&text);
    let consumers: Vec<_> = docs
        .iter()
        .filter(|d| {
            d["metadata"]["name"]
                .as_str()
                .unwrap()
                .starts_with("allow-consumers")
        })
        .collect();
    assert_eq!(
        consumers.len(),
        3,
        "2500 namespaces in policies of at most 1000"
    );
    let mut all: Vec<String> = Vec::new();
    for d in &consumers {
        let size = serde_json::to_string(d).unwrap().len();
        assert!(size < 64 * 1024, "object of {size} bytes");
        let values = d["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchExpressions"][0]
            ["values"]
            .as_array()
            .unwrap();
        all.extend(values.iter().map(|v| v.as_str().unwrap().to_owned()));
    }
    assert_eq!(all.len(), 2500);
    all.dedup();
    assert_eq!(all.len(), 2500, "no namespace in two parts");
    let names: Vec<_> = consumers
        .iter()
        .map(|d| d["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["allow-consumers", "allow-consumers-2", "allow-consumers-3"]
    );
}

#[test]
fn help_lists_the_commands() {
    tenantc()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicates::str::contains("compile"));
}

/// The directory of an output path (`tenants/acme/acme-api/x.yaml` → `acme-api`; the root's
/// files → "").
fn namespace_of(path: &str) -> &str {
    path.rsplit('/').nth(1).unwrap_or_default()
}

#[test]
fn only_consumers_learn_an_external_host_or_an_exposed_namespace() {
    let p = Project::new(EXAMPLE);
    p.compile().success();
    let tree = files(&p.output());
    let stripe_consumers = ["acme", "acme-api", "acme-jobs", "payments"];
    // acme's own namespaces, and globex's, to which acme exposes acme-api.
    let acme_api_consumers = [
        "acme",
        "acme-api",
        "acme-jobs",
        "globex-api",
        "globex-batch",
        "globex-web",
    ];
    let mut sidecars = 0;
    for (path, text) in &tree {
        let ns = namespace_of(path);
        if path.ends_with("/sidecar.yaml") {
            sidecars += 1;
            let hosts = &doc_of(&tree, path)[0]["spec"]["egress"][0]["hosts"];
            let imports_acme_api = hosts
                .as_array()
                .unwrap()
                .iter()
                .any(|h| h.as_str().unwrap().starts_with("acme-api/"));
            assert_eq!(
                imports_acme_api,
                acme_api_consumers.contains(&ns),
                "{path}: {hosts}"
            );
        }
        if path.ends_with("/serviceentries.yaml") {
            let has_stripe = doc_of(&tree, path)
                .iter()
                .any(|se| se["metadata"]["name"] == "external-stripe");
            assert_eq!(has_stripe, stripe_consumers.contains(&ns), "{path}");
        }
        // Not even a comment tells a non-consumer about the host.
        if !stripe_consumers.contains(&ns) && !path.starts_with("gitops/") {
            assert!(
                !text.contains("api.stripe.com"),
                "{path} names api.stripe.com"
            );
        }
    }
    assert_eq!(sidecars, 10, "every managed namespace has a Sidecar");
    for ns in ["umbrella", "initech", "common-services"] {
        assert!(
            tree.keys()
                .filter(|k| namespace_of(k) == ns)
                .all(|k| !tree[k].contains("external-stripe")),
            "{ns} learns of stripe"
        );
    }
}

/// The `except` lists of the ipBlocks of a namespace's `allow-external` policy, by CIDR.
fn excepts(tree: &BTreeMap<String, String>, path: &str) -> BTreeMap<String, Vec<String>> {
    let docs = doc_of(tree, path);
    let external = docs
        .iter()
        .find(|d| d["metadata"]["name"] == "allow-external")
        .unwrap_or_else(|| panic!("no allow-external in {path}"));
    let mut out = BTreeMap::new();
    for rule in external["spec"]["egress"].as_array().unwrap() {
        for peer in rule["to"].as_array().unwrap() {
            let block = &peer["ipBlock"];
            let except = block["except"]
                .as_array()
                .map(|e| e.iter().map(|c| c.as_str().unwrap().to_owned()).collect())
                .unwrap_or_default();
            out.insert(block["cidr"].as_str().unwrap().to_owned(), except);
        }
    }
    out
}

#[test]
fn external_ip_blocks_except_the_cluster_and_metadata_unless_the_entry_names_it() {
    let p = Project::new(
        r#"version = 1
[cluster]
pod_cidrs = ["10.244.0.0/16", "fd00:10:244::/56"]
service_cidrs = ["10.96.0.0/12"]
[external.internet]
cidrs = ["0.0.0.0/0", "::/0"]
ports = [443]
consumers = ["a", "b"]
[external.metadata]
cidrs = ["169.254.169.254/32"]
ports = [80]
protocol = "TCP"
consumers = ["a"]
[external.link-local]
cidrs = ["169.254.0.0/16"]
ports = [80]
protocol = "TCP"
consumers = ["b"]
[external.corp]
cidrs = ["10.0.0.0/8", "203.0.113.0/24"]
ports = [22]
protocol = "TCP"
consumers = ["b"]
[tenants.a]
[tenants.b]
"#,
    );
    p.compile().success();
    let tree = files(&p.output());
    let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let a = excepts(&tree, "tenants/a/a/networkpolicies.yaml");
    // The internet minus the cluster and the metadata address, although `a` may reach the
    // metadata address through the entry that names it exactly: that grant is that entry's.
    assert_eq!(
        a["0.0.0.0/0"],
        strings(&["10.96.0.0/12", "10.244.0.0/16", "169.254.169.254/32"])
    );
    assert_eq!(
        a["::/0"],
        strings(&["fd00:10:244::/56", "fd00:ec2::254/128"])
    );
    assert_eq!(a["169.254.169.254/32"], Vec::<String>::new());
    let b = excepts(&tree, "tenants/b/b/networkpolicies.yaml");
    assert!(!b.contains_key("169.254.169.254/32"), "{b:?}");
    // A range that contains the metadata address without naming it excepts it.
    assert_eq!(b["169.254.0.0/16"], strings(&["169.254.169.254/32"]));
    // Only the cluster ranges a block contains are excepted.
    assert_eq!(b["10.0.0.0/8"], strings(&["10.96.0.0/12", "10.244.0.0/16"]));
    assert_eq!(b["203.0.113.0/24"], Vec::<String>::new());
    Schemas::load().validate_tree(&p.output());
}
