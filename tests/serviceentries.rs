//! Every ServiceEntry tenantc renders is valid against Istio's strict schema (in
//! `Schemas::validate_tree`) and keeps the rules the schema cannot express
//! (`common::serviceentry_rules`): resolution DNS only with hosts DNS can resolve, CIDR addresses
//! only with resolution NONE or STATIC, never the host `*`, and `exportTo: ["."]`.

mod common;

use common::{documents, files, serviceentry_rules, Project, Schemas, EXAMPLE};

/// Every flow key in the forms the example does not use: a wildcard host beside a plain one, IPv6,
/// HTTP, an address-only entry inside 10.0.0.0/8, the metadata address named exactly, `"*"`
/// consumers and a shared consumer.
const RICH: &str = r#"version = 1
[cluster]
pod_cidrs = ["10.244.0.0/16", "fd00:10:244::/56"]
service_cidrs = ["10.96.0.0/12"]
[platform]
dns = { cidrs = ["169.254.20.10/32"] }
kube_api = { cidrs = ["172.18.0.2/32"] }
[mesh]
outbound_traffic_policy = "REGISTRY_ONLY"
[external.vendor]
hosts = ["*.vendor.example.com", "vendor.example.com"]
cidrs = ["0.0.0.0/0", "::/0"]
ports = [443, 8443]
consumers = "*"
[external.billing]
hosts = ["billing.example.com"]
cidrs = ["198.51.100.0/24"]
ports = [80]
protocol = "HTTP"
consumers = ["acme", "db"]
[external.metadata]
cidrs = ["169.254.169.254/32"]
ports = [80]
protocol = "TCP"
consumers = ["acme"]
[external.corp]
cidrs = ["10.0.0.0/8", "2001:db8::/32"]
ports = [22]
protocol = "TCP"
consumers = ["acme"]
[shared.db]
consumers = ["acme"]
ports = [5432]
[tenants.acme]
namespaces = ["acme", "acme-api"]
kube_api = true
[tenants.acme.expose.acme-api]
consumers = "*"
[tenants.globex]
[tenants.globex.expose.globex]
consumers = ["acme", "db"]
ports = [8443, 9443]
"#;

/// Every ServiceEntry of a compiled tree, by file.
fn service_entries(p: &Project) -> Vec<(String, serde_json::Value)> {
    files(&p.output())
        .into_iter()
        .flat_map(|(path, text)| {
            documents(&text)
                .into_iter()
                .filter(|d| d["kind"] == "ServiceEntry")
                .map(move |d| (path.clone(), d))
        })
        .collect()
}

#[test]
fn every_rendered_service_entry_is_valid_and_keeps_the_rules_the_schema_cannot_express() {
    let schemas = Schemas::load();
    for config in [EXAMPLE, RICH] {
        let p = Project::new(config);
        p.compile().success();
        // validate_tree checks each ServiceEntry against the strict schema and the rules.
        schemas.validate_tree(&p.output());
        let entries = service_entries(&p);
        assert!(entries.len() >= 4, "only {} ServiceEntries", entries.len());
        for (path, se) in &entries {
            assert!(path.ends_with("/serviceentries.yaml"), "{path}");
            let namespace = path.rsplit('/').nth(1).unwrap();
            assert_eq!(se["metadata"]["namespace"], namespace, "{path}");
            assert_eq!(serviceentry_rules(se), Vec::<String>::new(), "{path}");
        }
    }
}

#[test]
fn each_kind_of_entry_gets_the_resolution_its_hosts_allow() {
    let p = Project::new(RICH);
    p.compile().success();
    let entries = service_entries(&p);
    let in_acme = |name: &str| {
        entries
            .iter()
            .find(|(path, se)| {
                path == "tenants/acme/acme/serviceentries.yaml" && se["metadata"]["name"] == name
            })
            .map(|(_, se)| se["spec"].clone())
            .unwrap_or_else(|| panic!("no {name} in acme"))
    };
    // A wildcard host cannot be resolved: NONE, routed by SNI.
    let vendor = in_acme("external-vendor");
    assert_eq!(vendor["resolution"], "NONE");
    assert_eq!(
        vendor["hosts"],
        serde_json::json!(["*.vendor.example.com", "vendor.example.com"])
    );
    assert!(vendor.get("addresses").is_none());
    // Plain hosts: DNS, no addresses.
    let billing = in_acme("external-billing");
    assert_eq!(billing["resolution"], "DNS");
    assert!(billing.get("addresses").is_none());
    assert_eq!(billing["ports"][0]["protocol"], "HTTP");
    // No hosts: the addresses are the CIDRs less what their ipBlocks except (here the pod and
    // Service ranges inside 10.0.0.0/8), resolution NONE.
    let corp = in_acme("external-corp");
    assert_eq!(corp["resolution"], "NONE");
    assert_eq!(
        corp["addresses"],
        serde_json::json!([
            "10.0.0.0/10",
            "10.64.0.0/11",
            "10.112.0.0/12",
            "10.128.0.0/10",
            "10.192.0.0/11",
            "10.224.0.0/12",
            "10.240.0.0/14",
            "10.245.0.0/16",
            "10.246.0.0/15",
            "10.248.0.0/13",
            "2001:db8::/32"
        ])
    );
}

#[test]
fn the_rules_catch_what_istio_would_refuse() {
    let p = Project::new(RICH);
    p.compile().success();
    let entries = service_entries(&p);
    let base = |name: &str| {
        entries
            .iter()
            .find(|(_, se)| se["metadata"]["name"] == name)
            .map(|(_, se)| se.clone())
            .unwrap()
    };
    let broken = |mut se: serde_json::Value, edit: &dyn Fn(&mut serde_json::Value)| {
        edit(&mut se["spec"]);
        serviceentry_rules(&se)
    };
    let cases: Vec<(&str, Vec<String>)> = vec![
        (
            "resolution DNS with a wildcard host",
            broken(base("external-vendor"), &|s| s["resolution"] = "DNS".into()),
        ),
        (
            "CIDR addresses with resolution DNS",
            broken(base("external-corp"), &|s| s["resolution"] = "DNS".into()),
        ),
        (
            "the host *",
            broken(base("external-billing"), &|s| {
                s["hosts"] = serde_json::json!(["*"])
            }),
        ),
        (
            "exported to every namespace",
            broken(base("external-billing"), &|s| {
                s["exportTo"] = serde_json::json!(["*"])
            }),
        ),
        (
            "exportTo left out (Istio's default: every namespace)",
            broken(base("external-billing"), &|s| {
                s.as_object_mut().unwrap().remove("exportTo");
            }),
        ),
        (
            "exported to another namespace too",
            broken(base("external-billing"), &|s| {
                s["exportTo"] = serde_json::json!([".", "globex"])
            }),
        ),
        (
            "a port twice",
            broken(base("external-vendor"), &|s| {
                s["ports"][1]["number"] = 443.into()
            }),
        ),
    ];
    for (what, errors) in cases {
        assert!(!errors.is_empty(), "the rules accept {what}");
    }
    // And the strict schema refuses what it can see: a misspelt field the CRD would prune.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/schemas/serviceentry-networking.istio.io-v1.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let billing = base("external-billing");
    assert!(validator.is_valid(&billing));
    let mut misspelt = billing.clone();
    misspelt["spec"]["exportto"] = serde_json::json!(["."]);
    assert!(!validator.is_valid(&misspelt));
}

/// Issue 19: an entry reached by address only whose CIDR contains the cluster's ranges (or the
/// metadata or API server addresses). Its ServiceEntry registered the CIDR whole, so the
/// cluster's own ranges were registered as outside the mesh (and verify, rightly, refused the
/// tree compile had just written); it now lists the CIDR less what its ipBlock excepts, and
/// compile and verify agree.
#[test]
fn an_address_only_entry_registers_what_its_ipblock_allows_and_nothing_of_the_cluster() {
    for cidrs in [
        r#""0.0.0.0/0""#,
        r#""::/0""#,
        r#""0.0.0.0/1""#,
        r#""0.0.0.0/0", "::/0""#,
    ] {
        let p = Project::new(&format!(
            "version = 1\n[cluster]\npod_cidrs = [\"10.244.0.0/16\", \"fd00:10:244::/56\"]\nservice_cidrs = [\"10.96.0.0/12\"]\n[platform]\nkube_api = {{ cidrs = [\"172.18.0.2/32\"] }}\n[mesh]\noutbound_traffic_policy = \"REGISTRY_ONLY\"\n[external.anywhere]\ncidrs = [{cidrs}]\nports = [443]\nconsumers = [\"acme\"]\n[tenants.acme]\n"
        ));
        p.compile().success();
        p.run("verify", &[]).success();
        let se = &service_entries(&p)[0].1;
        let addresses: Vec<ipnet::IpNet> = se["spec"]["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().parse().unwrap())
            .collect();
        assert!(!addresses.is_empty(), "{cidrs}: {se}");
        for inside in [
            "10.244.0.0/16",
            "10.96.0.0/12",
            "fd00:10:244::/56",
            "169.254.169.254/32",
            "fd00:ec2::254/128",
            "172.18.0.2/32",
        ] {
            let inside: ipnet::IpNet = inside.parse().unwrap();
            for a in &addresses {
                assert!(
                    !a.contains(&inside) && !inside.contains(a),
                    "{cidrs}: {a} registers {inside} as outside the mesh"
                );
            }
        }
        Schemas::load().validate_tree(&p.output());
    }
}
