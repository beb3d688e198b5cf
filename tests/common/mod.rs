//! Helpers shared by the integration tests: run the real binary, snapshot directories, validate
//! documents against the strict schemas in tests/data/schemas.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use assert_cmd::Command;
use serde::Deserialize;

pub const EXAMPLE: &str = include_str!("../../tenants/tenants.toml");

pub fn tenantc() -> Command {
    let mut cmd = Command::cargo_bin("tenantc").expect("the tenantc binary is built");
    cmd.env("NO_COLOR", "1");
    cmd
}

/// A scratch project: `tenants.toml` and `output/` in a temporary directory.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new(config: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("tenants.toml"), config).expect("write config");
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config(&self) -> PathBuf {
        self.path().join("tenants.toml")
    }

    pub fn output(&self) -> PathBuf {
        self.path().join("output")
    }

    pub fn set_config(&self, config: &str) {
        std::fs::write(self.config(), config).expect("write config");
    }

    /// `tenantc <args> --config tenants.toml --output output`, run in the project directory so
    /// that diagnostics name `tenants.toml`.
    pub fn run(&self, sub: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
        tenantc()
            .current_dir(self.path())
            .args([sub, "--config", "tenants.toml", "--output", "output"])
            .args(extra)
            .assert()
    }

    pub fn compile(&self) -> assert_cmd::assert::Assert {
        self.run("compile", &[])
    }

    /// `tenantc compile --config tenants.toml --output <output>`, in the project directory.
    pub fn compile_into(&self, output: &str) -> assert_cmd::assert::Assert {
        tenantc()
            .current_dir(self.path())
            .args(["compile", "--config", "tenants.toml", "--output", output])
            .assert()
    }

    /// The text of a file of the output tree.
    pub fn read_out(&self, rel: &str) -> String {
        std::fs::read_to_string(self.output().join(rel)).expect("read output file")
    }

    /// Replaces the first `from` by `to` in an output file; the test fails if `from` is absent.
    pub fn edit(&self, rel: &str, from: &str, to: &str) {
        let text = self.read_out(rel);
        assert!(text.contains(from), "`{from}` not in {rel}:\n{text}");
        std::fs::write(self.output().join(rel), text.replacen(from, to, 1)).expect("write");
    }

    /// Replaces every `from` by `to` in an output file; the test fails if `from` is absent.
    pub fn edit_all(&self, rel: &str, from: &str, to: &str) {
        let text = self.read_out(rel);
        assert!(text.contains(from), "`{from}` not in {rel}:\n{text}");
        std::fs::write(self.output().join(rel), text.replace(from, to)).expect("write");
    }
}

/// Every file and directory below `root` with its bytes and mtime (links: their target).
pub fn snapshot(root: &Path) -> BTreeMap<String, (Vec<u8>, Option<SystemTime>)> {
    let mut out = BTreeMap::new();
    if !root.exists() {
        return out;
    }
    for e in walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
    {
        let e = e.expect("walk");
        let rel = e.path().strip_prefix(root).unwrap().display().to_string();
        let meta = std::fs::symlink_metadata(e.path()).expect("metadata");
        let bytes = if meta.file_type().is_symlink() {
            std::fs::read_link(e.path())
                .unwrap()
                .display()
                .to_string()
                .into_bytes()
        } else if meta.is_file() {
            std::fs::read(e.path()).expect("read")
        } else {
            b"<dir>".to_vec()
        };
        out.insert(rel, (bytes, meta.modified().ok()));
    }
    out
}

/// Relative path to contents of every file below `root`.
pub fn files(root: &Path) -> BTreeMap<String, String> {
    snapshot(root)
        .into_iter()
        .filter(|(_, (b, _))| b != b"<dir>")
        .map(|(k, (b, _))| (k, String::from_utf8(b).expect("utf-8")))
        .collect()
}

/// Every YAML document of a file, as JSON values.
pub fn documents(text: &str) -> Vec<serde_json::Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|d| serde_json::Value::deserialize(d).expect("valid YAML"))
        .filter(|v| !v.is_null())
        .collect()
}

pub struct Schemas {
    namespace: jsonschema::Validator,
    networkpolicy: jsonschema::Validator,
    sidecar: jsonschema::Validator,
    serviceentry: jsonschema::Validator,
    authorizationpolicy: jsonschema::Validator,
    peerauthentication: jsonschema::Validator,
    rolebinding: jsonschema::Validator,
    resourcequota: jsonschema::Validator,
    limitrange: jsonschema::Validator,
    /// A Flux account's objects (`gitops/` under Flux).
    serviceaccount: jsonschema::Validator,
    clusterrole: jsonschema::Validator,
    clusterrolebinding: jsonschema::Validator,
    /// The Argo CD and Flux CRDs' schemas, made strict, by kind.
    pub crds: BTreeMap<&'static str, jsonschema::Validator>,
}

/// The vendored CRD schemas: (apiVersion, kind, file in tests/data/schemas).
pub const CRDS: [(&str, &str, &str); 4] = [
    (
        "argoproj.io/v1alpha1",
        "AppProject",
        "appproject-argoproj.io-v1alpha1.json",
    ),
    (
        "argoproj.io/v1alpha1",
        "Application",
        "application-argoproj.io-v1alpha1.json",
    ),
    (
        "kustomize.toolkit.fluxcd.io/v1",
        "Kustomization",
        "kustomization-kustomize.toolkit.fluxcd.io-v1.json",
    ),
    (
        "source.toolkit.fluxcd.io/v1",
        "GitRepository",
        "gitrepository-source.toolkit.fluxcd.io-v1.json",
    ),
];

/// The strict schema of one vendored CRD, as JSON.
pub fn crd_schema(kind: &str) -> serde_json::Value {
    let (api, kind, file) = CRDS
        .iter()
        .find(|(_, k, _)| *k == kind)
        .unwrap_or_else(|| panic!("no CRD for {kind}"));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/schemas");
    let text = std::fs::read_to_string(dir.join(file)).expect("CRD schema file");
    let openapi: serde_json::Value = serde_json::from_str(&text).expect("CRD schema JSON");
    tenantc::render::strict_crd_schema(&openapi, api, kind)
}

impl Schemas {
    pub fn load() -> Self {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/schemas");
        let load = |name: &str| {
            let text = std::fs::read_to_string(dir.join(name)).expect("schema file");
            let schema: serde_json::Value = serde_json::from_str(&text).expect("schema JSON");
            jsonschema::validator_for(&schema).expect("schema compiles")
        };
        Self {
            namespace: load("namespace-v1.json"),
            networkpolicy: load("networkpolicy-networking.k8s.io-v1.json"),
            sidecar: load("sidecar-networking.istio.io-v1.json"),
            serviceentry: load("serviceentry-networking.istio.io-v1.json"),
            authorizationpolicy: load("authorizationpolicy-security.istio.io-v1.json"),
            peerauthentication: load("peerauthentication-security.istio.io-v1.json"),
            rolebinding: load("rolebinding-rbac.authorization.k8s.io-v1.json"),
            resourcequota: load("resourcequota-v1.json"),
            limitrange: load("limitrange-v1.json"),
            serviceaccount: load("serviceaccount-v1.json"),
            clusterrole: load("clusterrole-rbac.authorization.k8s.io-v1.json"),
            clusterrolebinding: load("clusterrolebinding-rbac.authorization.k8s.io-v1.json"),
            crds: CRDS
                .iter()
                .map(|(_, kind, _)| {
                    let schema = crd_schema(kind);
                    (
                        *kind,
                        jsonschema::validator_for(&schema).expect("CRD schema compiles"),
                    )
                })
                .collect(),
        }
    }

    /// Validates every Kubernetes document of the tree; returns how many were checked.
    pub fn validate_tree(&self, root: &Path) -> usize {
        let mut checked = 0;
        for (path, text) in files(root) {
            assert!(
                text.starts_with("# Generated by tenantc from "),
                "{path} lacks the generated-file header"
            );
            for doc in documents(&text) {
                let kind = doc["kind"].as_str().unwrap_or_default().to_owned();
                let validator = match kind.as_str() {
                    "Namespace" => &self.namespace,
                    "NetworkPolicy" => &self.networkpolicy,
                    "Sidecar" => &self.sidecar,
                    "ServiceEntry" => {
                        assert!(
                            path.ends_with("/serviceentries.yaml"),
                            "{path}: a ServiceEntry outside serviceentries.yaml"
                        );
                        let broken = serviceentry_rules(&doc);
                        assert!(broken.is_empty(), "{path}: {broken:#?}\n{doc:#}");
                        &self.serviceentry
                    }
                    "AuthorizationPolicy" => {
                        assert!(
                            path.ends_with("/authorizationpolicies.yaml"),
                            "{path}: an AuthorizationPolicy outside authorizationpolicies.yaml"
                        );
                        &self.authorizationpolicy
                    }
                    "PeerAuthentication" => &self.peerauthentication,
                    "RoleBinding" => &self.rolebinding,
                    "ResourceQuota" => &self.resourcequota,
                    "LimitRange" => &self.limitrange,
                    "ServiceAccount" | "ClusterRole" | "ClusterRoleBinding" => {
                        assert!(
                            path.starts_with("gitops/"),
                            "{path}: a {kind} outside gitops/"
                        );
                        match kind.as_str() {
                            "ServiceAccount" => &self.serviceaccount,
                            "ClusterRole" => &self.clusterrole,
                            _ => &self.clusterrolebinding,
                        }
                    }
                    // kustomize's own file, not an object (Flux's Kustomization is checked).
                    "Kustomization" if doc["apiVersion"] == "kustomize.config.k8s.io/v1beta1" => {
                        continue
                    }
                    k if self.crds.contains_key(k) => &self.crds[k],
                    other => panic!("{path}: unexpected kind {other:?}"),
                };
                let errors: Vec<String> = validator
                    .iter_errors(&doc)
                    .map(|e| format!("{} at {}", e, e.instance_path))
                    .collect();
                assert!(
                    errors.is_empty(),
                    "{path}: {kind} is invalid: {errors:#?}\n{doc:#}"
                );
                checked += 1;
            }
        }
        checked
    }
}

/// The rules of a ServiceEntry that its JSON Schema cannot express, checked on every rendered one:
/// the CRD's CEL validations (`x-kubernetes-validations` in
/// tests/data/schemas/serviceentry-networking.istio.io-v1.json), the ones istiod's webhook adds
/// (pilot/pkg/config/validation: resolution DNS needs hosts it can resolve), and tenantc's own
/// (each entry is visible to its own namespace alone, and is for destinations outside the mesh).
/// Returns what is broken, in words.
pub fn serviceentry_rules(doc: &serde_json::Value) -> Vec<String> {
    let spec = &doc["spec"];
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let hosts = strings(&spec["hosts"]);
    let addresses = strings(&spec["addresses"]);
    // The CRD's default when unset.
    let resolution = spec["resolution"].as_str().unwrap_or("NONE");
    let mut broken = Vec::new();
    if hosts.iter().any(|h| h == "*") {
        broken.push("hostname cannot be wildcard (`*`)".to_owned());
    }
    if resolution == "DNS" || resolution == "DNS_ROUND_ROBIN" {
        if let Some(h) = hosts.iter().find(|h| h.starts_with('*')) {
            broken.push(format!(
                "resolution {resolution} cannot resolve the wildcard host {h:?}"
            ));
        }
        if let Some(h) = hosts.iter().find(|h| h.parse::<std::net::IpAddr>().is_ok()) {
            broken.push(format!(
                "resolution {resolution} with the address {h:?} as a host"
            ));
        }
    }
    if addresses.iter().any(|a| a.contains('/')) && !matches!(resolution, "NONE" | "STATIC") {
        broken.push("CIDR addresses are allowed only for NONE/STATIC resolution types".to_owned());
    }
    for a in &addresses {
        if a.parse::<ipnet::IpNet>().is_err() && a.parse::<std::net::IpAddr>().is_err() {
            broken.push(format!("address {a:?} is not an IP address or CIDR"));
        }
    }
    if resolution == "NONE" && spec.get("endpoints").is_some() {
        broken.push("NONE mode cannot set endpoints".to_owned());
    }
    if spec.get("endpoints").is_some() && spec.get("workloadSelector").is_some() {
        broken.push("only one of WorkloadSelector or Endpoints can be set".to_owned());
    }
    let ports = spec["ports"].as_array().cloned().unwrap_or_default();
    let mut numbers = std::collections::BTreeSet::new();
    let mut names = std::collections::BTreeSet::new();
    for p in &ports {
        if !numbers.insert(p["number"].to_string()) {
            broken.push(format!("port number {} cannot be duplicated", p["number"]));
        }
        if !names.insert(p["name"].to_string()) {
            broken.push(format!("port name {} cannot be duplicated", p["name"]));
        }
    }
    if spec["exportTo"] != serde_json::json!(["."]) {
        broken.push(format!("exportTo is {}, not [\".\"]", spec["exportTo"]));
    }
    if spec["location"] != "MESH_EXTERNAL" {
        broken.push(format!(
            "location is {}, not MESH_EXTERNAL",
            spec["location"]
        ));
    }
    broken
}

/// 1-based `line:col` of the first occurrence of `needle` in `text`.
pub fn line_col(text: &str, needle: &str) -> String {
    let offset = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in the text"));
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before[before.rfind('\n').map_or(0, |i| i + 1)..]
        .chars()
        .count()
        + 1;
    format!("{line}:{col}")
}
