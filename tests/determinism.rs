//! The same configuration, whatever the order of its tables and keys, compiles to byte-identical
//! trees, and compiling twice gives the same bytes.

use proptest::prelude::*;

use tenantc::render::Templates;

#[derive(Clone, Debug)]
struct Tenant {
    name: String,
    namespaces: Vec<String>,
    labels: Vec<(String, String)>,
    annotations: Vec<(String, String)>,
    ingress: bool,
}

#[derive(Clone, Debug)]
struct Shared {
    name: String,
    /// None: "*"; Some: indices into the tenant list.
    consumers: Option<Vec<usize>>,
}

#[derive(Clone, Debug)]
struct Cfg {
    tenants: Vec<Tenant>,
    shared: Vec<Shared>,
    mesh: bool,
    monitoring: bool,
    /// 0: no [gitops]; 1: Argo CD; 2: Flux.
    gitops: u8,
}

fn label_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z0-9]([a-z0-9._-]{0,8}[a-z0-9])?",
        Just("yes".to_owned()),
        Just("0123".to_owned())
    ]
}

fn config() -> impl Strategy<Value = Cfg> {
    let tenant = (
        1usize..=3,
        proptest::collection::btree_map("[a-z]{1,6}(\\.io/[a-z]{1,5})?", label_value(), 0..3),
        proptest::collection::btree_map("[a-z]{1,6}", "[ -~]{0,12}|[éüßλ中文€]{0,6}", 0..3),
        any::<bool>(),
    );
    (
        proptest::collection::vec(tenant, 1..7),
        proptest::collection::vec(
            proptest::option::of(proptest::collection::vec(
                any::<prop::sample::Index>(),
                0..4,
            )),
            0..4,
        ),
        any::<bool>(),
        any::<bool>(),
        0u8..3,
    )
        .prop_map(|(tenants, shared, mesh, monitoring, gitops)| {
            let n = tenants.len();
            let tenants: Vec<Tenant> = tenants
                .into_iter()
                .enumerate()
                .map(|(i, (ns_count, labels, annotations, ingress))| Tenant {
                    name: format!("t{i}"),
                    namespaces: (0..ns_count).map(|j| format!("t{i}-ns{j}")).collect(),
                    labels: labels.into_iter().collect(),
                    annotations: annotations.into_iter().collect(),
                    ingress,
                })
                .collect();
            let shared = shared
                .into_iter()
                .enumerate()
                .map(|(i, c)| {
                    let consumers = c.map(|idx| {
                        let mut v: Vec<usize> = idx.iter().map(|x| x.index(n)).collect();
                        v.sort_unstable();
                        v.dedup();
                        v
                    });
                    Shared {
                        name: format!("shared-{i}"),
                        consumers,
                    }
                })
                .collect();
            Cfg {
                tenants,
                shared,
                mesh,
                monitoring,
                gitops,
            }
        })
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// Renders `cfg` as TOML, in the given order of tables and keys.
fn to_toml(cfg: &Cfg, reversed: bool) -> String {
    let mut tables: Vec<String> = Vec::new();
    tables.push("version = 1\n".to_owned());
    let mut platform = vec![
        "ingress = { namespace = \"ingress-nginx\", pod_labels = { app = \"ingress\" } }"
            .to_owned(),
    ];
    if cfg.monitoring {
        platform.push("monitoring = { namespace = \"monitoring\" }".to_owned());
    }
    let order = |mut v: Vec<String>| {
        if reversed {
            v.reverse();
        }
        v
    };
    let mut blocks = vec![format!("[platform]\n{}\n", order(platform).join("\n"))];
    if cfg.mesh {
        blocks.push(
            "[mesh]\noutbound_traffic_policy = \"REGISTRY_ONLY\"\nnamespace = \"istio-system\"\n"
                .to_owned(),
        );
    }
    if cfg.gitops > 0 {
        let tool = if cfg.gitops == 1 { "argocd" } else { "flux" };
        let keys = order(vec![
            format!("tool = \"{tool}\""),
            "repo_url = \"https://git.example.com/p/t.git\"".to_owned(),
            "path = \"clusters/a/output\"".to_owned(),
        ]);
        blocks.push(format!("[gitops]\n{}\n", keys.join("\n")));
    }
    for s in &cfg.shared {
        let consumers = match &s.consumers {
            None => "\"*\"".to_owned(),
            Some(idx) => format!(
                "[{}]",
                order(idx.iter().map(|i| quote(&cfg.tenants[*i].name)).collect()).join(", ")
            ),
        };
        blocks.push(format!("[shared.{}]\nconsumers = {consumers}\n", s.name));
    }
    for t in &cfg.tenants {
        let kv = |pairs: &[(String, String)]| {
            order(
                pairs
                    .iter()
                    .map(|(k, v)| format!("{} = {}", quote(k), quote(v)))
                    .collect(),
            )
            .join(", ")
        };
        let keys = order(vec![
            format!(
                "namespaces = [{}]",
                order(t.namespaces.iter().map(|n| quote(n)).collect()).join(", ")
            ),
            format!("labels = {{ {} }}", kv(&t.labels)),
            format!("annotations = {{ {} }}", kv(&t.annotations)),
            format!("ingress = {}", t.ingress),
        ]);
        blocks.push(format!("[tenants.{}]\n{}\n", t.name, keys.join("\n")));
    }
    tables.extend(order(blocks));
    tables.join("\n")
}

fn compile(toml: &str) -> tenantc::emit::Tree {
    compiled(toml)
        .tree(&Templates::builtin())
        .expect("compiles")
}

fn compiled(toml: &str) -> tenantc::Compiled {
    let config =
        tenantc::config_from_source(toml, "tenants.toml").unwrap_or_else(|e| panic!("{e}\n{toml}"));
    tenantc::compile_config(config, "tenants.toml")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_order_gives_the_same_bytes(cfg in config()) {
        let forward = to_toml(&cfg, false);
        let backward = to_toml(&cfg, true);
        let a = compile(&forward);
        prop_assert_eq!(&a, &compile(&forward), "two compiles of the same file differ");
        prop_assert_eq!(&a, &compile(&backward), "table and key order changed the output:\n{}\n---\n{}", forward, backward);
        prop_assert!(a.contains_key("kustomization.yaml"));
        prop_assert_eq!(a.contains_key("gitops/kustomization.yaml"), cfg.gitops > 0);
        // The count a compile reports without making the paths.
        prop_assert_eq!(compiled(&forward).layout().files(), a.len());
    }

    /// verify reads back from disk what compile wrote and finds it exactly as intended.
    #[test]
    fn verify_accepts_every_compiled_tree(cfg in config()) {
        let toml = to_toml(&cfg, false);
        let c = compiled(&toml);
        let tree = c.tree(&Templates::builtin()).expect("compiles");
        let dir = tempfile::tempdir().unwrap();
        for (rel, text) in &tree {
            // The fast YAML reader reads what the full parser reads, or leaves the file to it.
            if let Some(docs) = tenantc::verify::tree::yaml::parse(text) {
                use serde::Deserialize;
                let fast: Vec<serde_json::Value> = docs
                    .into_iter()
                    .map(|d| serde_json::Value::deserialize(d).unwrap())
                    .collect();
                let full: Vec<serde_json::Value> = serde_yaml::Deserializer::from_str(text)
                    .map(|d| serde_json::Value::deserialize(d).unwrap())
                    .filter(|v| !v.is_null())
                    .collect();
                prop_assert_eq!(fast, full, "{}", rel);
            }
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let report = tenantc::verify::verify(dir.path(), &c.intent).expect("readable tree");
        prop_assert!(report.findings.is_empty(), "{:#?}\n{}", report.findings, toml);
        prop_assert_eq!(report.summary.namespaces, c.intent.namespaces.len());
    }

    /// A compile does not parse back what the built-in templates render (a user's templates' output
    /// is): this is the proof that it need not. Whatever a tenants.toml holds, every document the
    /// built-in templates render passes the checks a user's template gets (each document what its
    /// file must hold, valid against the strict schema of its kind), and every annotation value
    /// reads back as written.
    #[test]
    fn the_builtin_templates_render_what_a_user_template_is_checked_for(cfg in config()) {
        use tenantc::render::Part;
        let toml = to_toml(&cfg, false);
        let tree = compile(&toml);
        let parts = Part::ALL;
        let mut namespaces = 0;
        for (rel, text) in &tree {
            let segments: Vec<&str> = rel.split('/').collect();
            let (ns, file) = match segments.as_slice() {
                ["tenants", _, ns, file] | ["shared", ns, file] => (*ns, *file),
                _ => continue,
            };
            let Some(part) = parts.iter().find(|p| p.file() == file) else {
                continue;
            };
            let checked = tenantc::render::check_rendered(text, *part, ns);
            prop_assert!(checked.is_ok(), "{}: {:?}\n{}", rel, checked, toml);
            if *part == Part::Namespace {
                namespaces += 1;
                let doc: serde_yaml::Value = serde_yaml::from_str(text).unwrap();
                let tenant = cfg.tenants.iter().find(|t| t.namespaces.iter().any(|n| n == ns));
                for (key, value) in tenant.map(|t| t.annotations.as_slice()).unwrap_or_default() {
                    prop_assert_eq!(
                        doc["metadata"]["annotations"][key.as_str()].as_str(),
                        Some(value.as_str()),
                        "{}", rel
                    );
                }
            }
        }
        prop_assert!(namespaces > 0);
    }
}
