//! Several clusters from one file, as a property: for generated tenants.toml files with
//! `[clusters]`, every cluster's tree is byte for byte the tree of the single-cluster file its
//! view describes, compiled alone.
//!
//! The oracle is independent of tenantc's place stage: the generator writes both the
//! multi-cluster file and, for each cluster, the single-cluster file the documented rules describe
//! (README "Several clusters from one file", docs/gitops.md "Several clusters", and the
//! hand-written views in tests/data/clusters/):
//! - `[cluster]` = the cluster's table (`pod_cidrs`, `service_cidrs`, `server`, `domain`) and
//!   `name` = the cluster's name;
//! - each key of the cluster's `platform` / `mesh` table replaces that `[platform]` / `[mesh]` key
//!   (a cluster's `mesh` table with no top-level `[mesh]` is the view's `[mesh]`);
//! - only the tenants, shared and external entries placed on the cluster (`clusters = [...]`,
//!   absent: every cluster);
//! - consumer lists lose the names of tenants and shared entries absent from the cluster; an
//!   external or expose whose list so becomes empty is not in the view (a shared entry's list
//!   stays, empty);
//! - `[gitops]` `path` becomes `<path>/clusters/<name>` and `name_prefix` `<name_prefix><name>-`;
//! - a cluster's `retired` keeps there, closed, the namespaces of entries that left it (a tenant
//!   with those namespaces, `retired`, without expose, ingress or kube_api; a shared entry
//!   `retired = true` without consumers, ports or ingress), and consumer lists lose them;
//! - `[purged]` and the cluster's `purged` are the view's `[purged]`, each namespace once.
//!
//! Every generated file is valid (each compile must exit 0): the generator repairs what would
//! break a rule unrelated to clusters (a missing `[platform.ingress]`, `[platform.kube_api]`,
//! the mesh combinations docs/mesh.md refuses) instead of filtering cases away.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use common::{files, tenantc};
use proptest::prelude::*;

/// The choices a case is built from, read in order; past the end every choice is 0, the
/// simplest, so that proptest shrinks towards small files.
struct Draws<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Draws<'_> {
    fn below(&mut self, n: usize) -> usize {
        let b = self.bytes.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        usize::from(b) % n
    }

    fn flag(&mut self) -> bool {
        self.below(2) == 1
    }

    /// One in `n`.
    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == n - 1
    }

    /// A subset of `items`, in their order.
    fn subset<T: Clone>(&mut self, items: &[T]) -> Vec<T> {
        items.iter().filter(|_| self.flag()).cloned().collect()
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
struct MeshKeys {
    mode: Option<&'static str>,
    mtls: Option<&'static str>,
    authorization: Option<bool>,
    outbound_traffic_policy: Option<&'static str>,
    revision: Option<&'static str>,
    namespace: Option<&'static str>,
}

#[derive(Clone, Debug, PartialEq)]
struct Ingress {
    label: &'static str,
    mesh: bool,
}

#[derive(Clone, Debug, PartialEq)]
struct Monitoring {
    ports: Option<Vec<u16>>,
    mesh: bool,
}

#[derive(Clone, Debug, PartialEq)]
struct KubeApi {
    cidr: String,
    port: u16,
}

#[derive(Clone, Debug, PartialEq)]
struct Dns {
    ports: Vec<u16>,
    cidrs: bool,
}

/// `[platform]`, or a cluster's `platform` table (a key given replaces the top-level one).
#[derive(Clone, Debug, Default, PartialEq)]
struct Platform {
    dns: Option<Dns>,
    ingress: Option<Ingress>,
    monitoring: Option<Monitoring>,
    kube_api: Option<KubeApi>,
}

#[derive(Clone, Debug, PartialEq)]
enum Consumers {
    All,
    List(Vec<String>),
}

#[derive(Clone, Debug)]
struct Expose {
    namespace: String,
    consumers: Consumers,
    ports: Option<Vec<u16>>,
}

#[derive(Clone, Debug)]
struct Tenant {
    name: String,
    /// None: the default, `[name]`.
    namespaces: Option<Vec<String>>,
    ingress: bool,
    /// With `namespaces`: `ingress = [<the first>]` rather than `true`.
    ingress_first: bool,
    owners: bool,
    kube_api: bool,
    pod_security: Option<&'static str>,
    expose: Option<Expose>,
    clusters: Option<Vec<String>>,
    /// `retired`: None, `true` (Some(empty)) or some of its namespaces.
    retired: Option<Vec<String>>,
}

#[derive(Clone, Debug)]
struct Shared {
    name: String,
    consumers: Option<Consumers>,
    ports: Option<Vec<u16>>,
    ingress: bool,
    clusters: Option<Vec<String>>,
    retired: bool,
}

#[derive(Clone, Debug)]
struct External {
    name: String,
    hosts: bool,
    /// `0.0.0.0/0` (with hosts only), else a documentation range.
    wide: bool,
    consumers: Consumers,
    clusters: Option<Vec<String>>,
}

#[derive(Clone, Debug)]
struct Gitops {
    tool: &'static str,
    path: Option<String>,
    name_prefix: Option<String>,
}

#[derive(Clone, Debug)]
struct Cluster {
    name: String,
    index: usize,
    cidrs: bool,
    server: bool,
    domain: bool,
    platform: Platform,
    mesh: Option<MeshKeys>,
    /// Namespaces of entries that left this cluster, kept in it closed.
    retired: Vec<String>,
    purged: Vec<String>,
}

/// A tenants.toml: with `clusters` non-empty, a multi-cluster file; a view has `cluster` instead.
#[derive(Clone, Debug)]
struct Config {
    clusters: Vec<Cluster>,
    /// A single-cluster file's `[cluster]`: the cluster it describes.
    cluster: Option<Cluster>,
    platform: Platform,
    mesh: Option<MeshKeys>,
    pod_security: bool,
    shared: Vec<Shared>,
    externals: Vec<External>,
    tenants: Vec<Tenant>,
    gitops: Option<Gitops>,
    /// `[purged] namespaces`.
    purged: Vec<String>,
}

/// Namespaces a person deleted, listed in `[purged]` or a cluster's `purged`.
const GONE: [&str; 2] = ["gone-a", "gone-b"];

const CLUSTER_NAMES: [&str; 3] = ["prod-eu", "prod-us", "staging"];

fn mesh_keys(d: &mut Draws) -> MeshKeys {
    MeshKeys {
        mode: [None, Some("sidecar"), Some("ambient")][d.below(3)],
        mtls: [None, Some("STRICT"), Some("PERMISSIVE")][d.below(3)],
        authorization: [None, Some(true), Some(false)][d.below(3)],
        outbound_traffic_policy: [None, Some("REGISTRY_ONLY"), Some("ALLOW_ANY")][d.below(3)],
        revision: [None, Some("1-24")][d.below(2)],
        namespace: [None, Some("istio-system"), Some("istio-ctl")][d.below(3)],
    }
}

fn ingress(d: &mut Draws) -> Ingress {
    Ingress {
        label: ["ingress-nginx", "ingress-eu"][d.below(2)],
        mesh: d.flag(),
    }
}

fn monitoring(d: &mut Draws) -> Monitoring {
    Monitoring {
        ports: [None, Some(vec![9090]), Some(vec![9090, 9091])][d.below(3)].clone(),
        mesh: d.flag(),
    }
}

fn dns(d: &mut Draws) -> Dns {
    Dns {
        ports: [vec![53], vec![53, 5353]][d.below(2)].clone(),
        cidrs: d.flag(),
    }
}

/// A cluster's `clusters = [...]` for an entry: absent (every cluster) or a non-empty subset.
fn placement(d: &mut Draws, clusters: &[String]) -> Option<Vec<String>> {
    if !d.flag() {
        return None;
    }
    let mut on = d.subset(clusters);
    if on.is_empty() {
        on.push(clusters[d.below(clusters.len())].clone());
    }
    Some(on)
}

/// `"*"` or a non-empty list of `names`.
fn consumers(d: &mut Draws, names: &[String]) -> Consumers {
    let mut list = d.subset(names);
    if list.is_empty() || d.one_in(4) {
        if names.is_empty() || d.flag() {
            return Consumers::All;
        }
        list = vec![names[d.below(names.len())].clone()];
    }
    Consumers::List(list)
}

fn generate(bytes: &[u8]) -> Config {
    let d = &mut Draws { bytes, at: 0 };
    let cluster_count = 1 + d.below(3);
    let cluster_names: Vec<String> = CLUSTER_NAMES[..cluster_count]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let clusters: Vec<Cluster> = cluster_names
        .iter()
        .enumerate()
        .map(|(index, name)| Cluster {
            name: name.clone(),
            index,
            cidrs: d.flag(),
            server: d.flag(),
            domain: d.one_in(4),
            platform: Platform {
                dns: d.one_in(4).then(|| dns(d)),
                ingress: d.one_in(4).then(|| ingress(d)),
                monitoring: d.one_in(3).then(|| monitoring(d)),
                kube_api: d.flag().then(|| KubeApi {
                    cidr: format!("172.20.{index}.10/32"),
                    port: 443,
                }),
            },
            mesh: d.flag().then(|| mesh_keys(d)),
            retired: Vec::new(),
            purged: d.subset(&GONE).into_iter().map(String::from).collect(),
        })
        .collect();
    let platform = Platform {
        dns: d.one_in(3).then(|| dns(d)),
        ingress: d.flag().then(|| ingress(d)),
        monitoring: d.flag().then(|| monitoring(d)),
        kube_api: d.flag().then(|| KubeApi {
            cidr: "172.18.0.2/32".to_owned(),
            port: 6443,
        }),
    };
    let mesh = d.flag().then(|| mesh_keys(d));

    let tenant_names: Vec<String> = (0..1 + d.below(4)).map(|i| format!("t{i}")).collect();
    let shared_names: Vec<String> = (0..d.below(3)).map(|i| format!("s{i}")).collect();
    let external_count = d.below(3);

    let mut tenants = Vec::new();
    for name in &tenant_names {
        let namespaces = d.flag().then(|| vec![name.clone(), format!("{name}-api")]);
        let own_namespaces = namespaces.clone().unwrap_or_else(|| vec![name.clone()]);
        let others: Vec<String> = tenant_names
            .iter()
            .chain(&shared_names)
            .filter(|n| *n != name)
            .cloned()
            .collect();
        let expose = d.flag().then(|| Expose {
            namespace: own_namespaces.last().unwrap().clone(),
            consumers: consumers(d, &others),
            ports: d.flag().then(|| vec![8443]),
        });
        tenants.push(Tenant {
            name: name.clone(),
            namespaces,
            ingress: d.one_in(3),
            ingress_first: d.flag(),
            owners: d.flag(),
            kube_api: d.one_in(3),
            pod_security: [None, Some("restricted")][d.below(2)],
            expose,
            clusters: placement(d, &cluster_names),
            retired: None,
        });
        // Retired everywhere: the first of two namespaces (never exposed, nor in an
        // `ingress` list).
        let t = tenants.last_mut().unwrap();
        if t.namespaces.is_some() && !(t.ingress && t.ingress_first) && d.one_in(3) {
            t.retired = Some(vec![name.clone()]);
        }
    }
    let mut shared = Vec::new();
    for name in &shared_names {
        let others: Vec<String> = tenant_names
            .iter()
            .chain(&shared_names)
            .filter(|n| *n != name)
            .cloned()
            .collect();
        shared.push(Shared {
            name: name.clone(),
            consumers: d.flag().then(|| consumers(d, &others)),
            ports: d.flag().then(|| vec![5432]),
            ingress: d.one_in(4),
            clusters: placement(d, &cluster_names),
            retired: false,
        });
    }
    let consumers_of_externals: Vec<String> =
        tenant_names.iter().chain(&shared_names).cloned().collect();
    let mut externals = Vec::new();
    for i in 0..external_count {
        let hosts = d.flag();
        externals.push(External {
            name: format!("e{i}"),
            hosts,
            wide: hosts && d.flag(),
            consumers: consumers(d, &consumers_of_externals),
            clusters: placement(d, &cluster_names),
        });
    }
    let gitops = match d.below(3) {
        0 => None,
        n => Some(Gitops {
            tool: if n == 1 { "argocd" } else { "flux" },
            path: [
                None,
                Some("output"),
                Some("deploy/out"),
                Some("."),
                Some("deploy/"),
            ][d.below(5)]
            .map(String::from),
            name_prefix: [None, Some("corp-")][d.below(2)].map(String::from),
        }),
    };
    // A cluster an entry left keeps some of its namespaces, retired.
    let mut clusters = clusters;
    for c in &mut clusters {
        for t in tenants.iter().filter(|t| !placed(&t.clusters, &c.name)) {
            let own = t.namespaces.clone().unwrap_or_else(|| vec![t.name.clone()]);
            c.retired.extend(d.subset(&own));
        }
        for s in shared.iter().filter(|s| !placed(&s.clusters, &c.name)) {
            if d.flag() {
                c.retired.push(s.name.clone());
            }
        }
    }
    let mut cfg = Config {
        clusters,
        cluster: None,
        platform,
        mesh,
        pod_security: d.flag(),
        shared,
        externals,
        tenants,
        gitops,
        purged: d.subset(&GONE).into_iter().map(String::from).collect(),
    };
    repair(&mut cfg);
    cfg
}

// ---------------------------------------------------------------------------------------------
// The oracle: the single-cluster file a cluster's view describes, from the documented rules.

fn placed(on: &Option<Vec<String>>, cluster: &str) -> bool {
    on.as_ref().is_none_or(|l| l.iter().any(|c| c == cluster))
}

fn platform_view(top: &Platform, cluster: &Platform) -> Platform {
    Platform {
        dns: cluster.dns.clone().or_else(|| top.dns.clone()),
        ingress: cluster.ingress.clone().or_else(|| top.ingress.clone()),
        monitoring: cluster
            .monitoring
            .clone()
            .or_else(|| top.monitoring.clone()),
        kube_api: cluster.kube_api.clone().or_else(|| top.kube_api.clone()),
    }
}

fn mesh_view(top: Option<&MeshKeys>, cluster: Option<&MeshKeys>) -> Option<MeshKeys> {
    if top.is_none() && cluster.is_none() {
        return None;
    }
    let t = top.cloned().unwrap_or_default();
    let c = cluster.cloned().unwrap_or_default();
    Some(MeshKeys {
        mode: c.mode.or(t.mode),
        mtls: c.mtls.or(t.mtls),
        authorization: c.authorization.or(t.authorization),
        outbound_traffic_policy: c.outbound_traffic_policy.or(t.outbound_traffic_policy),
        revision: c.revision.or(t.revision),
        namespace: c.namespace.or(t.namespace),
    })
}

/// The single-cluster file that cluster `c` of `cfg` describes.
fn view(cfg: &Config, c: &Cluster) -> Config {
    let here = c.name.as_str();
    let present: Vec<&str> = cfg
        .tenants
        .iter()
        .filter(|t| placed(&t.clusters, here))
        .map(|t| t.name.as_str())
        .chain(
            cfg.shared
                .iter()
                .filter(|s| placed(&s.clusters, here) && !c.retired.contains(&s.name))
                .map(|s| s.name.as_str()),
        )
        .collect();
    let keep = |list: &Consumers| match list {
        Consumers::All => Consumers::All,
        Consumers::List(l) => Consumers::List(
            l.iter()
                .filter(|n| present.contains(&n.as_str()))
                .cloned()
                .collect(),
        ),
    };
    let emptied = |list: &Consumers| matches!(list, Consumers::List(l) if l.is_empty());
    let tenants = cfg
        .tenants
        .iter()
        .filter_map(|t| {
            let mut t = t.clone();
            if placed(&t.clusters, here) {
                t.clusters = None;
                t.expose = t.expose.take().and_then(|mut e| {
                    e.consumers = keep(&e.consumers);
                    (!emptied(&e.consumers)).then_some(e)
                });
                return Some(t);
            }
            // Left this cluster: only its namespaces retired here, retired, with no flows.
            let own = t.namespaces.clone().unwrap_or_else(|| vec![t.name.clone()]);
            let retired: Vec<String> = own
                .iter()
                .filter(|n| c.retired.contains(n))
                .cloned()
                .collect();
            if retired.is_empty() {
                return None;
            }
            let whole = retired.len() == own.len();
            if t.namespaces.is_some() {
                t.namespaces = Some(retired.clone());
            }
            t.retired = Some(if whole { Vec::new() } else { retired });
            t.clusters = None;
            t.expose = None;
            t.ingress = false;
            t.kube_api = false;
            Some(t)
        })
        .collect();
    let shared = cfg
        .shared
        .iter()
        .filter_map(|s| {
            let on = placed(&s.clusters, here);
            let mut s = s.clone();
            s.clusters = None;
            if on {
                s.consumers = s.consumers.as_ref().map(keep);
                return Some(s);
            }
            // Left this cluster, retired in it: a retired shared entry has no flows.
            c.retired.contains(&s.name).then_some(Shared {
                consumers: None,
                ports: None,
                ingress: false,
                retired: true,
                ..s
            })
        })
        .collect();
    let externals = cfg
        .externals
        .iter()
        .filter(|e| placed(&e.clusters, here))
        .filter_map(|e| {
            let mut e = e.clone();
            e.clusters = None;
            e.consumers = keep(&e.consumers);
            (!emptied(&e.consumers)).then_some(e)
        })
        .collect();
    let gitops = cfg.gitops.as_ref().map(|g| {
        // The repository path, normalised as docs/gitops.md reads it (`"."`: the root).
        let path = g.path.as_deref().unwrap_or("output");
        let path = path
            .strip_prefix("./")
            .unwrap_or(path)
            .trim_end_matches('/');
        let path = if path == "." || path.is_empty() {
            format!("clusters/{here}")
        } else {
            format!("{path}/clusters/{here}")
        };
        Gitops {
            tool: g.tool,
            path: Some(path),
            name_prefix: Some(format!("{}{here}-", g.name_prefix.as_deref().unwrap_or(""))),
        }
    });
    Config {
        clusters: Vec::new(),
        cluster: Some(Cluster {
            platform: Platform::default(),
            mesh: None,
            retired: Vec::new(),
            purged: Vec::new(),
            ..c.clone()
        }),
        platform: platform_view(&cfg.platform, &c.platform),
        mesh: mesh_view(cfg.mesh.as_ref(), c.mesh.as_ref()),
        pod_security: cfg.pod_security,
        shared,
        externals,
        tenants,
        gitops,
        // `[purged]` and the cluster's `purged`, each namespace once.
        purged: cfg
            .purged
            .iter()
            .chain(c.purged.iter().filter(|n| !cfg.purged.contains(n)))
            .cloned()
            .collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// Repairs: what would make a view invalid for reasons that are not about clusters.

/// Makes every view of `cfg` valid, changing `cfg` as little as it can; each step only adds
/// what a later one cannot undo.
fn repair(cfg: &mut Config) {
    for i in 0..cfg.clusters.len() {
        let v = view(cfg, &cfg.clusters[i]);
        let c = &mut cfg.clusters[i];
        // `ingress` needs [platform.ingress], `kube_api = true` [platform.kube_api].
        let ingress_users =
            v.tenants.iter().any(|t| t.ingress) || v.shared.iter().any(|s| s.ingress);
        if ingress_users && v.platform.ingress.is_none() {
            c.platform.ingress = Some(Ingress {
                label: "ingress-nginx",
                mesh: false,
            });
        }
        if v.tenants.iter().any(|t| t.kube_api) && v.platform.kube_api.is_none() {
            c.platform.kube_api = Some(KubeApi {
                cidr: format!("172.20.{}.10/32", c.index),
                port: 443,
            });
        }
        // An external needs the cluster's ranges.
        if !v.externals.is_empty() {
            c.cidrs = true;
        }
    }
    for i in 0..cfg.clusters.len() {
        let v = view(cfg, &cfg.clusters[i]);
        let c = &mut cfg.clusters[i];
        let Some(mesh) = &v.mesh else {
            // `mesh = true` in [platform.*] needs a [mesh].
            if let Some(ing) = v.platform.ingress.as_ref().filter(|g| g.mesh) {
                c.platform.ingress = Some(Ingress {
                    mesh: false,
                    ..ing.clone()
                });
            }
            if let Some(mon) = v.platform.monitoring.as_ref().filter(|m| m.mesh) {
                c.platform.monitoring = Some(Monitoring {
                    mesh: false,
                    ..mon.clone()
                });
            }
            continue;
        };
        let ambient = mesh.mode == Some("ambient");
        if ambient && mesh.outbound_traffic_policy.is_some() {
            // A Sidecar setting: ambient has no Sidecars.
            if let Some(m) = &mut c.mesh {
                m.outbound_traffic_policy = None;
            }
            if let Some(m) = &mut cfg.mesh {
                m.outbound_traffic_policy = None;
            }
        }
        // In ambient mode only authorization enforces a port limit between meshed pods.
        let c = &mut cfg.clusters[i];
        let limits = v.shared.iter().any(|s| s.ports.is_some())
            || v.tenants
                .iter()
                .any(|t| t.expose.as_ref().is_some_and(|e| e.ports.is_some()))
            || v.platform
                .monitoring
                .as_ref()
                .is_some_and(|m| m.mesh && m.ports.is_some());
        if ambient && mesh.authorization != Some(true) && limits {
            c.mesh.get_or_insert_with(MeshKeys::default).authorization = Some(true);
        }
    }
    for i in 0..cfg.clusters.len() {
        let v = view(cfg, &cfg.clusters[i]);
        let c = &mut cfg.clusters[i];
        let Some(mesh) = &v.mesh else { continue };
        // A caller outside the mesh has no identity: STRICT mTLS and authorization refuse it.
        if mesh.mtls != Some("STRICT") && mesh.authorization != Some(true) {
            continue;
        }
        let ingress_users =
            v.tenants.iter().any(|t| t.ingress) || v.shared.iter().any(|s| s.ingress);
        if let Some(ing) = v
            .platform
            .ingress
            .as_ref()
            .filter(|g| !g.mesh && ingress_users)
        {
            c.platform.ingress = Some(Ingress {
                mesh: true,
                ..ing.clone()
            });
        }
        let scraped = !v.tenants.is_empty() || !v.shared.is_empty();
        if let Some(mon) = v
            .platform
            .monitoring
            .as_ref()
            .filter(|m| !m.mesh && scraped)
        {
            if mesh.mode == Some("ambient") || mon.ports.is_some() {
                c.platform.monitoring = Some(Monitoring {
                    ports: None,
                    mesh: true,
                });
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// TOML text.

fn list<T: std::fmt::Display>(items: &[T], quoted: bool) -> String {
    let items: Vec<String> = items
        .iter()
        .map(|i| {
            if quoted {
                format!("\"{i}\"")
            } else {
                i.to_string()
            }
        })
        .collect();
    format!("[{}]", items.join(", "))
}

fn consumers_text(c: &Consumers) -> String {
    match c {
        Consumers::All => "\"*\"".to_owned(),
        Consumers::List(l) => list(l, true),
    }
}

fn platform_text(p: &Platform) -> String {
    let mut out = String::new();
    if let Some(d) = &p.dns {
        let cidrs = if d.cidrs {
            ", cidrs = [\"169.254.20.10/32\"]"
        } else {
            ""
        };
        writeln!(
            out,
            "dns = {{ namespace = \"kube-system\", service = \"kube-dns\", ports = {}{cidrs} }}",
            list(&d.ports, false)
        )
        .unwrap();
    }
    if let Some(i) = &p.ingress {
        let mesh = if i.mesh { ", mesh = true" } else { "" };
        writeln!(
            out,
            "ingress = {{ namespace = \"ingress-nginx\", pod_labels = {{ \"app.kubernetes.io/name\" = \"{}\" }}{mesh} }}",
            i.label
        )
        .unwrap();
    }
    if let Some(m) = &p.monitoring {
        let ports = m
            .ports
            .as_ref()
            .map_or(String::new(), |p| format!(", ports = {}", list(p, false)));
        let mesh = if m.mesh { ", mesh = true" } else { "" };
        writeln!(
            out,
            "monitoring = {{ namespace = \"monitoring\"{ports}{mesh} }}"
        )
        .unwrap();
    }
    if let Some(k) = &p.kube_api {
        writeln!(
            out,
            "kube_api = {{ cidrs = [\"{}\"], ports = [{}] }}",
            k.cidr, k.port
        )
        .unwrap();
    }
    out
}

fn mesh_text(m: &MeshKeys) -> String {
    let mut out = String::new();
    for (key, value) in [
        ("mode", m.mode),
        ("mtls", m.mtls),
        ("outbound_traffic_policy", m.outbound_traffic_policy),
        ("revision", m.revision),
        ("namespace", m.namespace),
    ] {
        if let Some(v) = value {
            writeln!(out, "{key} = \"{v}\"").unwrap();
        }
    }
    if let Some(a) = m.authorization {
        writeln!(out, "authorization = {a}").unwrap();
    }
    out
}

fn cluster_facts(out: &mut String, c: &Cluster) {
    if c.cidrs {
        let (pod, service) = (10 + 2 * c.index, 11 + 2 * c.index);
        writeln!(out, "pod_cidrs = [\"10.{pod}.0.0/16\"]").unwrap();
        writeln!(out, "service_cidrs = [\"10.{service}.0.0/16\"]").unwrap();
    }
    if c.server {
        writeln!(out, "server = \"https://{}.k8s.example.com\"", c.name).unwrap();
    }
    if c.domain {
        writeln!(out, "domain = \"{}.local\"", c.name).unwrap();
    }
}

fn placement_text(out: &mut String, on: &Option<Vec<String>>) {
    if let Some(on) = on {
        writeln!(out, "clusters = {}", list(on, true)).unwrap();
    }
}

fn to_toml(cfg: &Config) -> String {
    let mut out = String::from("version = 1\n");
    for c in &cfg.clusters {
        writeln!(out, "\n[clusters.{}]", c.name).unwrap();
        cluster_facts(&mut out, c);
        if !c.retired.is_empty() {
            writeln!(out, "retired = {}", list(&c.retired, true)).unwrap();
        }
        if !c.purged.is_empty() {
            writeln!(out, "purged = {}", list(&c.purged, true)).unwrap();
        }
        if c.platform != Platform::default() {
            write!(
                out,
                "\n[clusters.{}.platform]\n{}",
                c.name,
                platform_text(&c.platform)
            )
            .unwrap();
        }
        if let Some(m) = &c.mesh {
            write!(out, "\n[clusters.{}.mesh]\n{}", c.name, mesh_text(m)).unwrap();
        }
    }
    if let Some(c) = &cfg.cluster {
        writeln!(out, "\n[cluster]\nname = \"{}\"", c.name).unwrap();
        cluster_facts(&mut out, c);
    }
    if cfg.platform != Platform::default() {
        write!(out, "\n[platform]\n{}", platform_text(&cfg.platform)).unwrap();
    }
    if let Some(m) = &cfg.mesh {
        write!(out, "\n[mesh]\n{}", mesh_text(m)).unwrap();
    }
    if cfg.pod_security {
        out.push_str("\n[defaults]\npod_security = \"baseline\"\n");
    }
    if !cfg.purged.is_empty() {
        writeln!(out, "\n[purged]\nnamespaces = {}", list(&cfg.purged, true)).unwrap();
    }
    for s in &cfg.shared {
        writeln!(out, "\n[shared.{}]", s.name).unwrap();
        placement_text(&mut out, &s.clusters);
        if let Some(c) = &s.consumers {
            writeln!(out, "consumers = {}", consumers_text(c)).unwrap();
        }
        if let Some(p) = &s.ports {
            writeln!(out, "ports = {}", list(p, false)).unwrap();
        }
        if s.ingress {
            out.push_str("ingress = true\n");
        }
        if s.retired {
            out.push_str("retired = true\n");
        }
    }
    for e in &cfg.externals {
        writeln!(out, "\n[external.{}]", e.name).unwrap();
        placement_text(&mut out, &e.clusters);
        if e.hosts {
            writeln!(out, "hosts = [\"api.{}.example.com\"]", e.name).unwrap();
        }
        let cidr = if e.wide {
            "0.0.0.0/0"
        } else {
            "203.0.113.0/24"
        };
        writeln!(out, "cidrs = [\"{cidr}\"]\nports = [443]").unwrap();
        writeln!(out, "consumers = {}", consumers_text(&e.consumers)).unwrap();
    }
    for t in &cfg.tenants {
        writeln!(out, "\n[tenants.{}]", t.name).unwrap();
        placement_text(&mut out, &t.clusters);
        if let Some(ns) = &t.namespaces {
            writeln!(out, "namespaces = {}", list(ns, true)).unwrap();
        }
        match &t.namespaces {
            Some(ns) if t.ingress && t.ingress_first => {
                writeln!(out, "ingress = {}", list(&ns[..1], true)).unwrap();
            }
            _ if t.ingress => out.push_str("ingress = true\n"),
            _ => {}
        }
        if t.owners {
            writeln!(out, "owners = [\"group:{}-admins\"]", t.name).unwrap();
        }
        if t.kube_api {
            out.push_str("kube_api = true\n");
        }
        if let Some(p) = t.pod_security {
            writeln!(out, "pod_security = \"{p}\"").unwrap();
        }
        match &t.retired {
            Some(l) if l.is_empty() => out.push_str("retired = true\n"),
            Some(l) => writeln!(out, "retired = {}", list(l, true)).unwrap(),
            None => {}
        }
        if let Some(e) = &t.expose {
            writeln!(
                out,
                "\n[tenants.{}.expose.{}]\nconsumers = {}",
                t.name,
                e.namespace,
                consumers_text(&e.consumers)
            )
            .unwrap();
            if let Some(p) = &e.ports {
                writeln!(out, "ports = {}", list(p, false)).unwrap();
            }
        }
    }
    if let Some(g) = &cfg.gitops {
        writeln!(
            out,
            "\n[gitops]\ntool = \"{}\"\nrepo_url = \"https://git.example.com/platform/tenants.git\"",
            g.tool
        )
        .unwrap();
        if let Some(p) = &g.path {
            writeln!(out, "path = \"{p}\"").unwrap();
        }
        if let Some(p) = &g.name_prefix {
            writeln!(out, "name_prefix = \"{p}\"").unwrap();
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The property.

/// Writes `toml` as `<dir>/tenants.toml`, compiles it into `<dir>/output`, and returns the
/// output directory; a failed compile fails the case with the file and tenantc's words.
fn compile(dir: &Path, toml: &str) -> Result<std::path::PathBuf, TestCaseError> {
    std::fs::create_dir_all(dir).unwrap();
    let config = dir.join("tenants.toml");
    std::fs::write(&config, toml).unwrap();
    let out = dir.join("output");
    let run = tenantc()
        .arg("compile")
        .arg("--config")
        .arg(&config)
        .arg("--output")
        .arg(&out)
        .output()
        .expect("tenantc runs");
    prop_assert!(
        run.status.success(),
        "compile of {} failed:\n{}\n{}",
        config.display(),
        String::from_utf8_lossy(&run.stderr),
        toml
    );
    Ok(out)
}

fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let cfg = generate(bytes);
    let multi = to_toml(&cfg);
    let tmp = tempfile::tempdir().unwrap();
    let out = compile(&tmp.path().join("multi"), &multi)?;
    for c in &cfg.clusters {
        let single = to_toml(&view(&cfg, c));
        let alone = files(&compile(
            &tmp.path().join(format!("view-{}", c.name)),
            &single,
        )?);
        let tree = files(&out.join("clusters").join(&c.name));
        prop_assert!(!tree.is_empty(), "cluster {} has no tree", c.name);
        let paths = |t: &BTreeMap<String, String>| t.keys().cloned().collect::<Vec<_>>();
        prop_assert_eq!(
            paths(&tree),
            paths(&alone),
            "the files of cluster {}\n--- multi:\n{}\n--- view:\n{}",
            c.name,
            multi,
            single
        );
        for (path, text) in &tree {
            prop_assert_eq!(
                text,
                &alone[path],
                "cluster {}: {}\n--- multi:\n{}\n--- view:\n{}",
                c.name,
                path,
                multi,
                single
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_cluster_tree_equals_its_view_compiled_alone(
        bytes in proptest::collection::vec(any::<u8>(), 0..160)
    ) {
        check(&bytes)?;
    }
}

/// The generator exercises every rule the property is about, in a few hundred draws (no compile:
/// this only looks at the generated files and views), and each view is a single-cluster file.
#[test]
fn the_generator_covers_every_rule() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{RngAlgorithm, TestRng, TestRunner};
    let mut runner = TestRunner::new_with_rng(
        ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let draws = proptest::collection::vec(any::<u8>(), 0..160);
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for _ in 0..500 {
        let cfg = generate(&draws.new_tree(&mut runner).unwrap().current());
        *seen
            .entry(["1 cluster", "2 clusters", "3 clusters"][cfg.clusters.len() - 1])
            .or_default() += 1;
        for c in &cfg.clusters {
            let v = view(&cfg, c);
            let text = to_toml(&v);
            assert!(
                text.contains(&format!("[cluster]\nname = \"{}\"", c.name)),
                "{text}"
            );
            assert!(
                !text.contains("[clusters") && !text.contains("clusters = ["),
                "{text}"
            );
            let here = |on: &Option<Vec<String>>| placed(on, &c.name);
            let mesh = |f: fn(&MeshKeys) -> bool| v.mesh.as_ref().is_some_and(f);
            for (rule, held) in [
                ("an entry not on this cluster", v.tenants.len() < cfg.tenants.len()
                    || v.shared.len() < cfg.shared.len()
                    || cfg.externals.iter().any(|e| !here(&e.clusters))),
                ("an external dropped: no consumer here", v.externals.len()
                    < cfg.externals.iter().filter(|e| here(&e.clusters)).count()),
                ("an expose dropped: no consumer here", v.tenants.iter().filter(|t| t.expose.is_some()).count()
                    < cfg.tenants.iter().filter(|t| here(&t.clusters) && t.expose.is_some()).count()),
                ("a shared entry's list emptied", v.shared.iter().any(|s| matches!(&s.consumers, Some(Consumers::List(l)) if l.is_empty()))),
                ("a consumer list shortened", v.externals.iter().map(|e| &e.consumers).chain(v.shared.iter().filter_map(|s| s.consumers.as_ref())).chain(v.tenants.iter().filter_map(|t| t.expose.as_ref().map(|e| &e.consumers))).any(|l| matches!(l, Consumers::List(l) if cfg.tenants.len() + cfg.shared.len() > l.len() + 1))),
                ("a cluster platform key", c.platform != Platform::default()),
                ("a tenant retired where it left", v.tenants.iter().any(|t| t.retired.is_some())),
                ("a shared entry retired where it left", v.shared.iter().any(|s| s.retired)),
                ("purged in [purged] and the cluster's", c.purged.iter().any(|n| cfg.purged.contains(n))),
                ("a cluster kube_api replacing the top one", c.platform.kube_api.is_some() && cfg.platform.kube_api.is_some()),
                ("a cluster mesh key over [mesh]", c.mesh.is_some() && cfg.mesh.is_some()),
                ("a cluster mesh without [mesh]", c.mesh.is_some() && cfg.mesh.is_none()),
                ("ambient", mesh(|m| m.mode == Some("ambient"))),
                ("STRICT", mesh(|m| m.mtls == Some("STRICT"))),
                ("authorization", mesh(|m| m.authorization == Some(true))),
                ("outbound_traffic_policy", mesh(|m| m.outbound_traffic_policy.is_some())),
                ("server", c.server),
                ("Argo CD", v.gitops.as_ref().is_some_and(|g| g.tool == "argocd")),
                ("Flux", v.gitops.as_ref().is_some_and(|g| g.tool == "flux")),
            ] {
                if held {
                    *seen.entry(rule).or_default() += 1;
                }
            }
        }
    }
    assert_eq!(seen.len(), 22, "{seen:#?}");
    assert!(seen.values().all(|n| *n >= 10), "{seen:#?}");
}
