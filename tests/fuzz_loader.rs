//! The loader against arbitrary input (issue 12): arbitrary bytes and valid-looking TOML never
//! panic, a run exits 0 or 2, and the output directory is either untouched or exactly what a
//! full compile of that config writes. Few cases, so that it runs in CI in seconds.

mod common;

use common::{files, snapshot, Project};
use proptest::prelude::*;

/// Lines that make up plausible tenants.toml files, valid and not.
const LINES: &[&str] = &[
    "version = 1",
    "version = 2",
    "[cluster]",
    "name = \"prod-eu-1\"",
    "[mesh]",
    "outbound_traffic_policy = \"REGISTRY_ONLY\"",
    "[platform]",
    "monitoring = { namespace = \"monitoring\", pod_labels = { app = \"prom\" } }",
    "ingress = { namespace = \"ingress-nginx\", pod_labels = { app = \"nginx\" } }",
    "[shared.common]",
    "[shared.payments]",
    "consumers = \"*\"",
    "consumers = [\"acme\"]",
    "consumers = [\"nobody\"]",
    "[tenants.acme]",
    "[tenants.globex]",
    "[tenants.Bad_Name]",
    "namespaces = [\"acme\", \"acme-jobs\"]",
    "namespaces = [\"common\"]",
    "namespaces = []",
    "labels = { \"example.com/plan\" = \"gold\" }",
    "labels = { plan = \"\\u202e\" }",
    "annotations = { owner = \"a@b.c\" }",
    "ingress = true",
    "[tenants.acme.labels.x]",
    "a.b.c = 1",
    "[[tenants]]",
    "= \"",
    "# comment",
    "",
];

fn toml_like() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(LINES), 0..14).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// The library stages: no panic for any bytes.
    #[test]
    fn the_loader_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = tenantc::config_from_source(&text, "fuzz.toml");
    }

    /// Valid-looking TOML through every pure stage: an accepted config compiles.
    #[test]
    fn valid_looking_toml_loads_and_compiles_or_is_refused(toml in toml_like()) {
        if let Ok(config) = tenantc::config_from_source(&toml, "fuzz.toml") {
            let compiled = tenantc::compile_config(config, "fuzz.toml").tree(&tenantc::render::Templates::builtin());
            prop_assert!(compiled.is_ok(), "{toml}\n{:?}", compiled.err());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, failure_persistence: None, ..ProptestConfig::default() })]

    /// Through the binary: exit 0, 1 or 2, and output/ untouched (2: invalid; 1: valid, but it
    /// would delete tenant `previous`'s namespace without an acknowledgement) or a full compile (0).
    #[test]
    fn a_run_leaves_the_output_untouched_or_fully_compiled(toml in toml_like(), raw in prop::option::weighted(0.3, prop::collection::vec(any::<u8>(), 1..64))) {
        let p = Project::new("version = 1\n[tenants.previous]\n");
        p.compile().success();
        let before = snapshot(&p.output());
        let mut bytes = toml.into_bytes();
        bytes.extend(raw.unwrap_or_default());
        std::fs::write(p.config(), &bytes).unwrap();
        let out = p.compile().get_output().clone();
        match out.status.code() {
            Some(2) => prop_assert_eq!(snapshot(&p.output()), before),
            Some(1) => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                prop_assert!(stderr.contains("namespace previous (tenant previous) would be deleted"), "exit 1: {}", stderr);
                prop_assert_eq!(snapshot(&p.output()), before);
            }
            Some(0) => {
                let fresh = Project::new("");
                std::fs::write(fresh.config(), &bytes).unwrap();
                fresh.compile().success();
                prop_assert_eq!(files(&p.output()), files(&fresh.output()));
            }
            other => prop_assert!(false, "exit {other:?}: {}", String::from_utf8_lossy(&out.stderr)),
        }
    }
}
