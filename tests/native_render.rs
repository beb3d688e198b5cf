//! The built-in templates are rendered by Rust code (`src/render/native/`), not by minijinja: this
//! is the proof that the two give the same bytes, for configurations using every flow key and
//! values chosen to need quoting. The same templates, changed only by a trailing comment, are not
//! the built-in ones, so they go through minijinja: the two trees must be identical. (Debug builds
//! also compare the two renderings of every file inside each compile.)

use proptest::prelude::*;

use tenantc::render::{Templates, DEFAULT_TEMPLATES};

/// Names that are valid RFC 1123 labels yet need quoting in YAML, and ordinary ones.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("yes".to_owned()),
        Just("no".to_owned()),
        Just("on".to_owned()),
        Just("null".to_owned()),
        Just("y".to_owned()),
        Just("0123".to_owned()),
        Just("1e3".to_owned()),
        "[a-z][a-z0-9-]{0,6}[a-z0-9]".prop_filter("a name of its own", |n| {
            !n.ends_with("-x")
                && !["common", "ingress", "monitoring", "argocd"].contains(&n.as_str())
        }),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("yes".to_owned()),
        Just("a: b # c".to_owned()),
        Just("\"q\" \\ {[a]}: - #x".to_owned()),
        Just("- --- ... ~ &a *b !c %d @e `f".to_owned()),
        "[ -~]{0,12}",
        "[éüßλ中文€]{0,4}",
    ]
}

fn label_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("true".to_owned()),
        Just("0.10".to_owned()),
        "[a-z0-9]([a-z0-9._-]{0,8}[a-z0-9])?",
    ]
}

fn ports() -> impl Strategy<Value = Vec<u16>> {
    prop::collection::vec(prop_oneof![Just(15008u16), Just(443), 1u16..=65535], 0..3)
}

fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| serde_json::to_string(s).unwrap())
        .collect();
    format!("[{}]", quoted.join(", "))
}

/// `key = [ports]`, or nothing for no ports (every port).
fn ports_key(key: &str, ports: &[u16]) -> String {
    let mut ports = ports.to_vec();
    ports.sort_unstable();
    ports.dedup();
    if ports.is_empty() {
        return String::new();
    }
    let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
    format!("{key} = [{}]", ports.join(", "))
}

#[derive(Debug, Clone)]
struct Knobs {
    /// 0: no [mesh]; 1: sidecar; 2: ambient.
    mesh: u8,
    authorization: bool,
    mtls: bool,
    in_mesh: bool,
    monitoring_ports: Vec<u16>,
    dns_cidrs: bool,
    allow_any: bool,
    kube_api: bool,
    shared_ports: Vec<u16>,
    expose_ports: Vec<u16>,
    external_hosts: Vec<String>,
    external_cidrs: Vec<String>,
    retire: bool,
    /// 0: no [gitops]; 1: Argo CD; 2: Flux.
    gitops: u8,
}

fn knobs() -> impl Strategy<Value = Knobs> {
    (
        (0u8..3, any::<bool>(), any::<bool>(), any::<bool>(), ports()),
        (
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            ports(),
            ports(),
        ),
        (
            prop::collection::btree_set(
                prop_oneof![
                    Just("api.example.com".to_owned()),
                    Just("*.example.org".to_owned()),
                    Just("yes.example.net".to_owned()),
                ],
                0..3,
            ),
            prop::collection::btree_set(
                prop_oneof![
                    Just("0.0.0.0/0".to_owned()),
                    Just("203.0.113.0/24".to_owned()),
                    Just("10.0.0.0/8".to_owned()),
                    Just("2001:db8::/32".to_owned()),
                    Just("::/0".to_owned()),
                ],
                1..3,
            ),
            any::<bool>(),
            0u8..3,
        ),
    )
        .prop_map(
            |(
                (mesh, authorization, mtls, in_mesh, monitoring_ports),
                (dns_cidrs, allow_any, kube_api, shared_ports, expose_ports),
                (external_hosts, external_cidrs, retire, gitops),
            )| Knobs {
                gitops,
                external_hosts: external_hosts.into_iter().collect(),
                external_cidrs: external_cidrs.into_iter().collect(),
                mesh,
                authorization,
                mtls,
                in_mesh,
                monitoring_ports,
                dns_cidrs,
                allow_any,
                kube_api,
                shared_ports,
                expose_ports,
                retire,
            },
        )
}

#[derive(Debug, Clone)]
struct Tenant {
    name: String,
    labels: Vec<(String, String)>,
    annotations: Vec<(String, String)>,
}

fn tenants() -> impl Strategy<Value = Vec<Tenant>> {
    prop::collection::btree_map(
        name(),
        (
            prop::collection::btree_map("[a-z]{1,5}(\\.io/[a-z]{1,4})?", label_value(), 0..3),
            prop::collection::btree_map("[a-z]{1,5}", text(), 0..3),
        ),
        2..5,
    )
    .prop_map(|m| {
        m.into_iter()
            .map(|(name, (labels, annotations))| Tenant {
                name,
                labels: labels.into_iter().collect(),
                annotations: annotations.into_iter().collect(),
            })
            .collect()
    })
}

/// A tenants.toml using every flow key the knobs turn on. Each tenant `t` has the namespaces `t`
/// and `t-x`; the first exposes `t-x` to the others, the second reaches the external entry.
fn config(tenants: &[Tenant], k: &Knobs) -> String {
    let mut toml = String::from(
        "version = 1\n[cluster]\nname = \"yes\"\npod_cidrs = [\"10.244.0.0/16\"]\nservice_cidrs = [\"10.96.0.0/12\"]\n",
    );
    let in_mesh = k.mesh > 0 && k.in_mesh;
    // In ambient mode only AuthorizationPolicies hold a flow between meshed pods to its ports
    // (ztunnel delivers HBONE to any port): a port limit without them is an error.
    let unenforced = k.mesh == 2 && !(k.authorization && in_mesh);
    let limit = |ports: &[u16], meshed: bool| -> Vec<u16> {
        if unenforced && meshed {
            Vec::new()
        } else {
            ports.to_vec()
        }
    };
    toml += "[platform]\n";
    if k.dns_cidrs {
        toml += "dns = { cidrs = [\"169.254.20.10/32\", \"fd00::10/128\"], ports = [53, 5353] }\n";
    }
    toml += &format!("ingress = {{ namespace = \"ingress\", pod_labels = {{ \"on\" = \"0123\" }}, mesh = {in_mesh} }}\n");
    toml += &format!(
        "monitoring = {{ namespace = \"monitoring\", mesh = {in_mesh}{} }}\n",
        ports_key(", ports", &limit(&k.monitoring_ports, in_mesh))
    );
    toml += "kube_api = { cidrs = [\"172.18.0.2/32\"], ports = [6443] }\n";
    if k.mesh > 0 {
        toml += "[mesh]\n";
        if k.mesh == 2 {
            toml += "mode = \"ambient\"\n";
        } else {
            let policy = if k.allow_any {
                "ALLOW_ANY"
            } else {
                "REGISTRY_ONLY"
            };
            toml += &format!("outbound_traffic_policy = \"{policy}\"\n");
        }
        if k.mtls {
            // STRICT refuses the platform's plaintext when it is outside the mesh.
            let mode = if in_mesh { "STRICT" } else { "PERMISSIVE" };
            toml += &format!("mtls = \"{mode}\"\n");
        }
        // Likewise authorization: no AuthorizationPolicy can admit a caller outside the mesh.
        toml += &format!("authorization = {}\n", k.authorization && in_mesh);
    }
    if k.gitops > 0 {
        let tool = if k.gitops == 1 { "argocd" } else { "flux" };
        toml += &format!(
            "[gitops]\ntool = \"{tool}\"\nrepo_url = \"ssh://git@git.example.com:2222/org/on.git\"\nrevision = \"no\"\npath = \"0/out\"\n"
        );
    }
    let names: Vec<String> = tenants.iter().map(|t| t.name.clone()).collect();
    toml += "[shared.common]\nconsumers = \"*\"\n";
    toml += &format!(
        "[shared.true]\nconsumers = {}\n{}\n",
        list(&names[..1]),
        ports_key("ports", &limit(&k.shared_ports, true))
    );
    toml += &format!(
        "[external.db]\ncidrs = {}\nports = [5432]\nprotocol = \"TCP\"\nconsumers = {}\n",
        list(&k.external_cidrs),
        list(&names[1..2])
    );
    if !k.external_hosts.is_empty() {
        let mut hosts = k.external_hosts.clone();
        hosts.sort();
        hosts.dedup();
        toml += &format!("hosts = {}\n", list(&hosts));
    }
    for (i, t) in tenants.iter().enumerate() {
        let kv = |pairs: &[(String, String)]| {
            pairs
                .iter()
                .map(|(a, b)| {
                    format!(
                        "{} = {}",
                        serde_json::to_string(a).unwrap(),
                        serde_json::to_string(b).unwrap()
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        toml += &format!(
            "[tenants.{n}]\nnamespaces = [\"{n}\", \"{n}-x\"]\nlabels = {{ {} }}\nannotations = {{ {} }}\ningress = [\"{n}\"]\nkube_api = {}\n",
            kv(&t.labels),
            kv(&t.annotations),
            k.kube_api && i == 0,
            n = t.name,
        );
        if k.retire && i == tenants.len() - 1 {
            toml += &format!("retired = [\"{}-x\"]\n", t.name);
        }
        if i == 0 {
            toml += &format!(
                "[tenants.{n}.expose.{n}-x]\nconsumers = \"*\"\n{}\n",
                ports_key("ports", &limit(&k.expose_ports, true)),
                n = t.name
            );
        }
    }
    toml
}

/// The built-in templates, each with a comment appended: the same output, through minijinja.
fn engine_templates() -> (tempfile::TempDir, Templates) {
    let dir = tempfile::tempdir().unwrap();
    for (name, source) in DEFAULT_TEMPLATES {
        std::fs::write(dir.path().join(name), format!("{source}{{# a copy #}}\n")).unwrap();
    }
    let templates = Templates::with_overrides(dir.path()).expect("templates load");
    (dir, templates)
}

fn trees(toml: &str) -> Result<(tenantc::emit::Tree, tenantc::emit::Tree), String> {
    let config = tenantc::config_from_source(toml, "tenants.toml").map_err(|e| match e {
        tenantc::Error::Config(errors) => errors.render(false),
        e => e.to_string(),
    })?;
    let compiled = tenantc::compile_config(config, "tenants.toml");
    let (_dir, engine) = engine_templates();
    let native = compiled.tree(&Templates::builtin()).expect("compiles");
    let through_engine = compiled.tree(&engine).expect("compiles");
    Ok((native, through_engine))
}

#[test]
fn the_examples_render_the_same_both_ways() {
    for path in ["tenants/tenants.toml", "tenants/examples/ambient.toml"] {
        let toml = std::fs::read_to_string(path).unwrap();
        let (native, engine) = trees(&toml).unwrap();
        assert!(native.len() > 40, "{path}");
        assert_eq!(native, engine, "{path}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_flow_key_renders_the_same_both_ways(tenants in tenants(), knobs in knobs()) {
        let toml = config(&tenants, &knobs);
        let (native, engine) = trees(&toml).map_err(|e| TestCaseError::fail(format!("{e}\n{toml}")))?;
        for (path, text) in &native {
            prop_assert_eq!(Some(text), engine.get(path), "{}\n{}", path, toml);
        }
        prop_assert_eq!(native.len(), engine.len());
    }
}
