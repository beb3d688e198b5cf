//! `tenantc schema`: the JSON Schema of tenants.toml is committed, agrees with the loader's keys at
//! every level, accepts the example and rejects every bad input it can see (which `tenantc
//! compile` rejects too).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{tenantc, Project, EXAMPLE};
use tenantc::load::keys;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn schema() -> serde_json::Value {
    serde_json::from_str(&tenantc::schema::tenants_schema()).expect("the schema is JSON")
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&schema()).expect("the schema compiles")
}

/// tenants.toml as the JSON value the schema describes (what Taplo validates).
fn as_json(toml_text: &str) -> serde_json::Value {
    let value: toml::Value = toml::from_str(toml_text).expect("valid TOML");
    serde_json::to_value(value).expect("TOML converts to JSON")
}

#[test]
fn committed_schema_is_what_tenantc_schema_prints() {
    let out = tenantc()
        .arg("schema")
        .assert()
        .success()
        .get_output()
        .clone();
    let committed = std::fs::read_to_string(root().join("schema/tenants.schema.json")).unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        committed,
        "run `cargo run -- schema > schema/tenants.schema.json` and commit it"
    );
}

#[test]
fn example_points_editors_at_the_committed_schema() {
    let first = EXAMPLE.lines().next().unwrap();
    assert_eq!(first, "#:schema ../schema/tenants.schema.json");
    // Taplo resolves a relative schema path against the document's own directory.
    let target = root()
        .join("tenants")
        .join(first.trim_start_matches("#:schema "));
    assert!(target.is_file(), "{} does not exist", target.display());
}

/// Resolves `$ref` (into `definitions`) and single-element `allOf` wrappers.
fn resolve<'a>(
    schema: &'a serde_json::Value,
    node: &'a serde_json::Value,
) -> &'a serde_json::Value {
    if let Some(r) = node["$ref"].as_str() {
        let name = r.trim_start_matches("#/definitions/");
        return resolve(schema, &schema["definitions"][name]);
    }
    if let Some([only]) = node["allOf"].as_array().map(Vec::as_slice) {
        return resolve(schema, only);
    }
    node
}

/// Every table the schema describes with named properties, by dotted path (`*` for a name).
fn tables(
    schema: &serde_json::Value,
    node: &serde_json::Value,
    path: &str,
    out: &mut BTreeMap<String, Vec<String>>,
) {
    let node = resolve(schema, node);
    if let Some(props) = node["properties"].as_object() {
        let mut names: Vec<String> = props.keys().cloned().collect();
        names.sort();
        out.insert(path.to_owned(), names);
        for (k, v) in props {
            let sub = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            tables(schema, v, &sub, out);
        }
    }
    if let Some(extra) = node.get("additionalProperties").filter(|v| v.is_object()) {
        tables(schema, extra, &format!("{path}.*"), out);
    }
}

#[test]
fn schema_properties_equal_the_loader_keys_at_every_level() {
    let schema = schema();
    let mut found = BTreeMap::new();
    tables(&schema, &schema, "", &mut found);
    let expected: BTreeMap<String, Vec<String>> = [
        ("", keys::ROOT),
        ("cluster", keys::CLUSTER),
        ("platform", keys::PLATFORM),
        ("platform.dns", keys::DNS),
        ("platform.ingress", keys::INGRESS),
        ("platform.monitoring", keys::MONITORING),
        ("platform.kube_api", keys::KUBE_API),
        ("mesh", keys::MESH),
        ("defaults", keys::DEFAULTS),
        ("defaults.container_defaults", keys::CONTAINER_DEFAULTS),
        ("shared.*.container_defaults", keys::CONTAINER_DEFAULTS),
        ("tenants.*.container_defaults", keys::CONTAINER_DEFAULTS),
        ("shared.*", keys::SHARED),
        ("tenants.*", keys::TENANT),
        ("tenants.*.expose.*", keys::EXPOSE),
        ("external.*", keys::EXTERNAL),
        ("gitops", keys::GITOPS),
        ("purged", keys::PURGED),
        ("clusters.*", keys::CLUSTERS_ENTRY),
        ("clusters.*.platform", keys::PLATFORM),
        ("clusters.*.platform.dns", keys::DNS),
        ("clusters.*.platform.ingress", keys::INGRESS),
        ("clusters.*.platform.monitoring", keys::MONITORING),
        ("clusters.*.platform.kube_api", keys::KUBE_API),
        ("clusters.*.mesh", keys::MESH),
    ]
    .into_iter()
    .map(|(path, keys)| {
        let mut keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        keys.sort();
        (path.to_owned(), keys)
    })
    .collect();
    assert_eq!(found, expected);
}

#[test]
fn every_table_rejects_unknown_keys_and_every_key_has_a_description() {
    let schema = schema();
    fn walk(schema: &serde_json::Value, node: &serde_json::Value, path: &str) {
        let node = resolve(schema, node);
        if let Some(props) = node["properties"].as_object() {
            assert_eq!(
                node["additionalProperties"],
                serde_json::json!(false),
                "{path}"
            );
            for (k, v) in props {
                let described =
                    v["description"].is_string() || resolve(schema, v)["description"].is_string();
                assert!(described, "{path}.{k} has no description");
                walk(schema, v, &format!("{path}.{k}"));
            }
        }
        if let Some(extra) = node.get("additionalProperties").filter(|v| v.is_object()) {
            walk(schema, extra, &format!("{path}.*"));
        }
    }
    walk(&schema, &schema, "");
}

/// Every key of the flows, each in a form the example does not use.
const FLOWS: &str = r#"version = 1
[cluster]
pod_cidrs = ["10.244.0.0/16", "fd00:10:244::/56"]
service_cidrs = ["10.96.0.0/12"]
[platform]
dns = { cidrs = ["169.254.20.10/32"] }
ingress = { namespace = "ingress" }
kube_api = { cidrs = ["172.18.0.2/32", "2001:db8::1/128"] }
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
[shared.db]
consumers = ["acme"]
ports = [5432]
[tenants.acme]
namespaces = ["acme", "acme-api"]
ingress = ["acme"]
kube_api = true
[tenants.acme.expose.acme-api]
consumers = "*"
[tenants.globex]
ingress = false
[tenants.globex.expose.globex]
consumers = ["acme", "db"]
ports = [8443, 9443]
"#;

#[test]
fn example_and_valid_configs_validate() {
    let v = validator();
    let valid = [
        EXAMPLE,
        "version = 1\n",
        "version = 1\n[tenants.acme]\n",
        "version = 1\n[shared.db]\nconsumers = [\"acme\"]\n[tenants.acme]\nnamespaces = [\"acme\", \"acme-2\"]\n",
        "version = 1\n[platform.dns]\nports = [53, 5353]\n[platform.monitoring]\nnamespace = \"mon\"\nports = [9090]\n",
        "version = 1\n[mesh]\nrevision = \"1-24\"\noutbound_traffic_policy = \"ALLOW_ANY\"\n",
        "version = 1\n[tenants.a]\nlabels = { \"example.com/plan\" = \"\", plan = \"gold_1.0\" }\nannotations = { \"example.com/x\" = \"any text: yes\" }\n",
        "version = 1\n[gitops]\ntool = \"flux\"\nrepo_url = \"ssh://git@git.example.com/p/t.git\"\nrevision = \"release/1.x\"\npath = \"./clusters/prod/.output\"\nnamespace = \"flux\"\n",
        "version = 1\n[gitops]\ntool = \"argocd\"\nrepo_url = \"git@git.example.com:p/t.git\"\npath = \".\"\n",
        FLOWS,
        "version = 1\n[platform.dns]\ncidrs = []\n",
        "version = 1\n[external]\n",
    ];
    for toml_text in valid {
        let json = as_json(toml_text);
        let errors: Vec<String> = v.iter_errors(&json).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{toml_text}\n{errors:#?}");
        let p = Project::new(toml_text);
        p.compile().success();
    }
}

/// A config with the cluster ranges and tenant `a`, followed by `rest`.
fn flows_with(rest: &str) -> String {
    format!("version = 1\n[cluster]\npod_cidrs = [\"10.244.0.0/16\"]\nservice_cidrs = [\"10.96.0.0/12\"]\n[tenants.a]\n{rest}")
}

#[test]
fn bad_configs_are_rejected_by_the_schema_and_by_compile() {
    let v = validator();
    let bad = [
        ("unknown top-level key", "version = 1\ntenant = 1\n"),
        (
            "unknown tenant key",
            "version = 1\n[tenants.acme]\nnamespace = [\"acme\"]\n",
        ),
        (
            "unknown mesh key",
            "version = 1\n[mesh]\nnamespaces = \"x\"\n",
        ),
        (
            "unknown dns key",
            "version = 1\n[platform.dns]\nport = [53]\n",
        ),
        (
            "wrong type",
            "version = 1\n[tenants.acme]\ningress = \"yes\"\n",
        ),
        ("version as a string", "version = \"1\"\n"),
        ("version 2", "version = 2\n"),
        ("no version", "[tenants.acme]\n"),
        ("port 0", "version = 1\n[platform.dns]\nports = [0]\n"),
        (
            "port 70000",
            "version = 1\n[platform.dns]\nports = [70000]\n",
        ),
        ("no DNS port", "version = 1\n[platform.dns]\nports = []\n"),
        ("tenant name", "version = 1\n[tenants.Acme]\n"),
        ("shared name", "version = 1\n[shared.common_services]\n"),
        (
            "namespace name",
            "version = 1\n[tenants.acme]\nnamespaces = [\"acme.jobs\"]\n",
        ),
        (
            "long namespace name",
            &format!(
                "version = 1\n[tenants.acme]\nnamespaces = [\"{}\"]\n",
                "a".repeat(64)
            ),
        ),
        (
            "no namespace",
            "version = 1\n[tenants.acme]\nnamespaces = []\n",
        ),
        (
            "consumers as a plain string",
            "version = 1\n[shared.db]\nconsumers = \"acme\"\n[tenants.acme]\n",
        ),
        (
            "consumer name",
            "version = 1\n[shared.db]\nconsumers = [\"Acme\"]\n[tenants.acme]\n",
        ),
        (
            "outbound policy",
            "version = 1\n[mesh]\noutbound_traffic_policy = \"DENY\"\n",
        ),
        (
            "label value",
            "version = 1\n[tenants.acme]\nlabels = { plan = \"has space\" }\n",
        ),
        (
            "label key",
            "version = 1\n[tenants.acme]\nlabels = { \"/plan\" = \"gold\" }\n",
        ),
        (
            "annotation key",
            "version = 1\n[tenants.acme]\nannotations = { \"a b\" = \"x\" }\n",
        ),
        (
            "label value not a string",
            "version = 1\n[tenants.acme]\nlabels = { plan = 1 }\n",
        ),
        (
            "tenants as an array",
            "version = 1\n[[tenants]]\nname = \"a\"\n",
        ),
        (
            "ingress without a namespace",
            "version = 1\n[platform.ingress]\npod_labels = { app = \"x\" }\n",
        ),
        (
            "cluster name",
            "version = 1\n[cluster]\nname = \"prod eu\"\n",
        ),
        (
            "cluster domain",
            "version = 1\n[cluster]\ndomain = \"Cluster.Local\"\n",
        ),
        ("gitops without a tool", "version = 1\n[gitops]\nrepo_url = \"https://g/p.git\"\n"),
        ("gitops without a repository", "version = 1\n[gitops]\ntool = \"flux\"\n"),
        ("gitops tool", "version = 1\n[gitops]\ntool = \"argo\"\nrepo_url = \"https://g/p.git\"\n"),
        ("gitops unknown key", "version = 1\n[gitops]\ntool = \"flux\"\nrepo_url = \"https://g/p.git\"\nrepo = \"x\"\n"),
        ("gitops repository URL", "version = 1\n[gitops]\ntool = \"flux\"\nrepo_url = \"g/p.git\"\n"),
        ("gitops absolute path", "version = 1\n[gitops]\ntool = \"flux\"\nrepo_url = \"https://g/p.git\"\npath = \"/output\"\n"),
        ("gitops path leaving the repository", "version = 1\n[gitops]\ntool = \"flux\"\nrepo_url = \"https://g/p.git\"\npath = \"a/../../x\"\n"),
        ("gitops revision", "version = 1\n[gitops]\ntool = \"flux\"\nrepo_url = \"https://g/p.git\"\nrevision = \"a b\"\n"),
        ("gitops namespace", "version = 1\n[gitops]\ntool = \"flux\"\nrepo_url = \"https://g/p.git\"\nnamespace = \"Flux\"\n"),
        ("gitops scp-like URL for Flux", "version = 1\n[gitops]\ntool = \"flux\"\nrepo_url = \"git@g:p.git\"\n"),
        ("gitops secret for Argo CD", "version = 1\n[gitops]\ntool = \"argocd\"\nrepo_url = \"https://g/p.git\"\nsecret = \"creds\"\n"),
        ("gitops secret", "version = 1\n[gitops]\ntool = \"flux\"\nrepo_url = \"https://g/p.git\"\nsecret = \"Creds\"\n"),
        ("CIDR that is not one", "version = 1\n[cluster]\npod_cidrs = [\"10.244.0/16\"]\n"),
        ("CIDR prefix too long", "version = 1\n[cluster]\npod_cidrs = [\"10.244.0.0/33\"]\n"),
        ("address without a prefix", "version = 1\n[platform.dns]\ncidrs = [\"169.254.20.10\"]\n"),
        ("CIDR listed twice", "version = 1\n[cluster]\nservice_cidrs = [\"10.96.0.0/12\", \"10.96.0.0/12\"]\n"),
        ("no pod range", "version = 1\n[cluster]\npod_cidrs = []\n"),
        ("external without the cluster ranges", "version = 1\n[external.x]\ncidrs = [\"203.0.113.0/24\"]\nports = [443]\nconsumers = [\"a\"]\n[tenants.a]\n"),
        ("external without a service range", &flows_with("[external.x]\ncidrs = [\"203.0.113.0/24\"]\nports = [443]\nconsumers = [\"a\"]\n").replace("service_cidrs = [\"10.96.0.0/12\"]\n", "")),
        ("external without cidrs", &flows_with("[external.x]\nports = [443]\nconsumers = [\"a\"]\n")),
        ("external without ports", &flows_with("[external.x]\ncidrs = [\"203.0.113.0/24\"]\nconsumers = [\"a\"]\n")),
        ("external without consumers", &flows_with("[external.x]\ncidrs = [\"203.0.113.0/24\"]\nports = [443]\n")),
        ("external with no port", &flows_with("[external.x]\ncidrs = [\"203.0.113.0/24\"]\nports = []\nconsumers = [\"a\"]\n")),
        ("external protocol", &flows_with("[external.x]\ncidrs = [\"203.0.113.0/24\"]\nports = [443]\nprotocol = \"tls\"\nconsumers = [\"a\"]\n")),
        ("external host uppercase", &flows_with("[external.x]\nhosts = [\"API.example.com\"]\ncidrs = [\"0.0.0.0/0\"]\nports = [443]\nconsumers = [\"a\"]\n")),
        ("external host with one label", &flows_with("[external.x]\nhosts = [\"localhost\"]\ncidrs = [\"0.0.0.0/0\"]\nports = [443]\nconsumers = [\"a\"]\n")),
        ("external wildcard host over HTTPS", &flows_with("[external.x]\nhosts = [\"*.example.com\"]\ncidrs = [\"0.0.0.0/0\"]\nports = [443]\nprotocol = \"HTTPS\"\nconsumers = [\"a\"]\n")),
        ("external name", &flows_with("[external.X]\ncidrs = [\"0.0.0.0/0\"]\nports = [443]\nconsumers = [\"a\"]\n")),
        ("external name too long for its ServiceEntry", &flows_with(&format!("[external.{}]\ncidrs = [\"0.0.0.0/0\"]\nports = [443]\nconsumers = [\"a\"]\n", "x".repeat(tenantc::resolve::MAX_EXTERNAL_NAME + 1)))),
        ("external unknown key", &flows_with("[external.x]\ncidrs = [\"0.0.0.0/0\"]\nports = [443]\nconsumers = [\"a\"]\nhost = [\"a.example.com\"]\n")),
        ("kube_api without cidrs", "version = 1\n[platform.kube_api]\nports = [443]\n"),
        ("kube_api port 0", "version = 1\n[platform.kube_api]\ncidrs = [\"172.18.0.2/32\"]\nports = [0]\n"),
        ("kube_api as a string", "version = 1\n[tenants.a]\nkube_api = \"yes\"\n"),
        ("shared with no port", "version = 1\n[shared.db]\nports = []\n"),
        ("shared port 70000", "version = 1\n[shared.db]\nports = [70000]\n"),
        ("shared port listed twice", "version = 1\n[shared.db]\nports = [5432, 5432]\n"),
        ("ingress as a string", "version = 1\n[platform.ingress]\nnamespace = \"in\"\n[tenants.a]\ningress = \"a\"\n"),
        ("ingress namespace listed twice", "version = 1\n[platform.ingress]\nnamespace = \"in\"\n[tenants.a]\ningress = [\"a\", \"a\"]\n"),
        ("ingress namespace name", "version = 1\n[platform.ingress]\nnamespace = \"in\"\n[tenants.a]\ningress = [\"A\"]\n"),
        ("expose without consumers", "version = 1\n[tenants.a]\n[tenants.a.expose.a]\nports = [443]\n"),
        ("expose with no consumer", "version = 1\n[tenants.a]\n[tenants.b]\n[tenants.a.expose.a]\nconsumers = []\n"),
        ("expose with no port", "version = 1\n[tenants.a]\n[tenants.b]\n[tenants.a.expose.a]\nconsumers = [\"b\"]\nports = []\n"),
        ("expose unknown key", "version = 1\n[tenants.a]\n[tenants.b]\n[tenants.a.expose.a]\nconsumers = [\"b\"]\nport = [443]\n"),
        ("expose key", "version = 1\n[tenants.a]\n[tenants.b]\n[tenants.a.expose.A]\nconsumers = [\"b\"]\n"),
    ];
    for (what, toml_text) in bad {
        let json = as_json(toml_text);
        assert!(
            !v.is_valid(&json),
            "the schema accepts the bad config ({what}):\n{toml_text}"
        );
        let p = Project::new(toml_text);
        p.compile().code(2);
    }
}
