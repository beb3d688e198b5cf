//! Stage 3, intent: who may talk to whom. This graph is the one source of both the NetworkPolicies
//! and the Sidecar hosts, so the two layers agree by construction; `verify` compares the files on
//! disk against it.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::model::{
    shared_dir, tenant_dir, Config, Consumers, Dns, GitOps, Labels, Monitoring, NamespaceName,
    OutboundTrafficPolicy, PlatformPods, Port, TenantName, GITOPS_DIR,
};
use crate::resolve::{
    LABEL_CLUSTER, LABEL_INJECTION, LABEL_MANAGED_BY, LABEL_REVISION, LABEL_SHARED, LABEL_TENANT,
};

/// Istio's port for xDS and certificate signing over mTLS, the one port a sidecar must reach on
/// istiod. https://istio.io/latest/docs/ops/deployment/application-requirements/#ports-used-by-istio
pub const ISTIOD_XDS_PORT: Port = Port::known(15012);
/// The sidecar's merged Prometheus metrics port (Envoy, agent and application metrics).
/// https://istio.io/latest/docs/ops/deployment/application-requirements/#ports-used-by-istio
pub const ISTIO_METRICS_PORT: Port = Port::known(15020);

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Tenant,
    Shared,
}

/// Everything one namespace may do, and what it carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NamespaceIntent {
    pub name: NamespaceName,
    pub role: Role,
    /// The tenant that owns it; for a shared namespace, `None`.
    pub tenant: Option<TenantName>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// The owner's namespaces, this one included: allowed both ways on every port.
    pub same_owner: BTreeSet<NamespaceName>,
    /// Shared only: the consumers' namespaces, allowed in on every port.
    pub consumers: BTreeSet<NamespaceName>,
    /// Tenant only: the shared namespaces it may call on every port.
    pub shared_egress: BTreeSet<NamespaceName>,
    pub dns: Dns,
    /// The ingress controller's pods, when this namespace accepts ingress traffic.
    pub ingress_controller: Option<PlatformPods>,
    pub monitoring: Option<MonitoringIntent>,
    pub mesh: Option<MeshIntent>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MonitoringIntent {
    pub namespace: NamespaceName,
    pub pod_labels: Labels,
    /// Ports monitoring may scrape; empty means every port.
    pub ports: BTreeSet<Port>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MeshIntent {
    pub namespace: NamespaceName,
    pub pod_labels: Labels,
    pub xds_port: Port,
    /// The Sidecar's egress hosts, sorted and unique.
    pub hosts: BTreeSet<String>,
    pub outbound_traffic_policy: Option<OutboundTrafficPolicy>,
}

/// The connectivity graph of the whole cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Intent {
    pub cluster_name: Option<String>,
    pub namespaces: BTreeMap<NamespaceName, NamespaceIntent>,
    pub tenants: BTreeMap<TenantName, BTreeSet<NamespaceName>>,
    pub shared: BTreeSet<NamespaceName>,
}

impl Intent {
    pub fn tenant_count(&self) -> usize {
        self.tenants.len()
    }
}

pub fn intent_of(config: &Config) -> Intent {
    let all_tenant_namespaces = |filter: &dyn Fn(&TenantName) -> bool| -> BTreeSet<NamespaceName> {
        config
            .tenants
            .iter()
            .filter(|(t, _)| filter(t))
            .flat_map(|(_, t)| t.namespaces.iter().cloned())
            .collect()
    };
    let dns_host = format!(
        "{ns}/{svc}.{ns}.svc.{domain}",
        ns = config.platform.dns.namespace,
        svc = config.platform.dns.service,
        domain = config.cluster.domain
    );
    let mesh_for = |hosts: BTreeSet<String>| {
        config.mesh.as_ref().map(|m| {
            let mut hosts = hosts;
            hosts.insert(format!("{}/*", m.namespace));
            hosts.insert(dns_host.clone());
            MeshIntent {
                namespace: m.namespace.clone(),
                pod_labels: m.pod_labels.clone(),
                xds_port: ISTIOD_XDS_PORT,
                hosts,
                outbound_traffic_policy: m.outbound_traffic_policy,
            }
        })
    };
    let monitoring = config.platform.monitoring.as_ref().map(|m: &Monitoring| {
        let mut ports = m.ports.clone();
        // Istio merges application metrics into the sidecar's 15020, so a port list must include it.
        if !ports.is_empty() && config.mesh.is_some() {
            ports.insert(ISTIO_METRICS_PORT);
        }
        MonitoringIntent {
            namespace: m.pods.namespace.clone(),
            pod_labels: m.pods.pod_labels.clone(),
            ports,
        }
    });
    let base_labels = |role_label: (&str, &str), user: &Labels| {
        let mut labels: BTreeMap<String, String> = user
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        labels.insert(LABEL_MANAGED_BY.into(), "tenantc".into());
        labels.insert(role_label.0.into(), role_label.1.into());
        if let Some(c) = &config.cluster.name {
            labels.insert(LABEL_CLUSTER.into(), c.to_string());
        }
        if let Some(m) = &config.mesh {
            match &m.revision {
                Some(rev) => labels.insert(LABEL_REVISION.into(), rev.to_string()),
                None => labels.insert(LABEL_INJECTION.into(), "enabled".into()),
            };
        }
        labels
    };
    let strings =
        |a: &crate::model::Annotations| a.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();

    let mut namespaces = BTreeMap::new();
    for (name, shared) in &config.shared {
        let consumers = match &shared.consumers {
            Consumers::All => all_tenant_namespaces(&|_| true),
            Consumers::Only(set) => all_tenant_namespaces(&|t| set.contains(t)),
        };
        let intent = NamespaceIntent {
            name: name.clone(),
            role: Role::Shared,
            tenant: None,
            labels: base_labels((LABEL_SHARED, "true"), &shared.labels),
            annotations: strings(&shared.annotations),
            same_owner: [name.clone()].into_iter().collect(),
            consumers,
            shared_egress: BTreeSet::new(),
            dns: config.platform.dns.clone(),
            ingress_controller: config.platform.ingress.clone().filter(|_| shared.ingress),
            monitoring: monitoring.clone(),
            mesh: mesh_for(["./*".to_owned()].into_iter().collect()),
        };
        namespaces.insert(name.clone(), intent);
    }
    let mut tenants = BTreeMap::new();
    for (tname, tenant) in &config.tenants {
        tenants.insert(tname.clone(), tenant.namespaces.clone());
        let shared_egress: BTreeSet<NamespaceName> = config
            .shared
            .iter()
            .filter(|(_, s)| s.consumers.includes(tname))
            .map(|(n, _)| n.clone())
            .collect();
        let hosts: BTreeSet<String> = tenant
            .namespaces
            .iter()
            .chain(&shared_egress)
            .map(|n| format!("{n}/*"))
            .collect();
        for ns in &tenant.namespaces {
            let intent = NamespaceIntent {
                name: ns.clone(),
                role: Role::Tenant,
                tenant: Some(tname.clone()),
                labels: base_labels((LABEL_TENANT, tname.as_str()), &tenant.labels),
                annotations: strings(&tenant.annotations),
                same_owner: tenant.namespaces.clone(),
                consumers: BTreeSet::new(),
                shared_egress: shared_egress.clone(),
                dns: config.platform.dns.clone(),
                ingress_controller: config.platform.ingress.clone().filter(|_| tenant.ingress),
                monitoring: monitoring.clone(),
                mesh: mesh_for(hosts.clone()),
            };
            namespaces.insert(ns.clone(), intent);
        }
    }
    Intent {
        cluster_name: config.cluster.name.as_ref().map(|c| c.to_string()),
        namespaces,
        tenants,
        shared: config.shared.keys().cloned().collect(),
    }
}

/// The object name of the GitOps root: the AppProject and Application (Argo CD) or GitRepository
/// and Kustomization (Flux) that sync `output/gitops/` itself.
pub const GITOPS_ROOT_NAME: &str = "tenantc";
/// The API server as Argo CD names the cluster it runs in.
pub const IN_CLUSTER_SERVER: &str = "https://kubernetes.default.svc";

/// The GitOps objects of the tenant and shared directories are spread over this many groups, each
/// synced by an object of its own, so that no sync builds a kustomization of every tenant: at
/// 10,000 tenants one `output/gitops/` of 20,000 objects did not build in 300 s (kustomize's time
/// grows with the square of the objects in one build), a group of about 160 tenants builds in a
/// fraction of a second. A fixed count and a hash of the name keep every tenant in its group for
/// good: adding or removing tenants never moves another one.
pub const GITOPS_GROUPS: u64 = 64;

/// The group of the unit named `name`: two hex digits, from the FNV-1a hash of the name (stable
/// across platforms and releases, unlike std's hasher).
pub fn gitops_group_of(name: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:02x}", hash % GITOPS_GROUPS)
}

/// One directory of the output tree that a GitOps controller syncs on its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GitOpsUnit {
    /// The name of its objects: `tenant-<tenant>`, `shared-<namespace>`, `tenantc-<group>` for a
    /// group, or `tenantc` for the root.
    pub name: String,
    /// `tenant`, `shared`, `group` or `root`.
    pub role: String,
    /// The tenant's or shared namespace's name (a group: its two hex digits; the root: `tenantc`).
    pub owner: String,
    /// The directory inside the repository, e.g. `output/tenants/acme`.
    pub path: String,
    /// The namespaces its objects go to, sorted: exactly the AppProject's destinations.
    pub namespaces: BTreeSet<NamespaceName>,
    /// The group whose object syncs this unit's objects (tenants and shared entries only).
    pub group: Option<String>,
}

/// What the GitOps templates need: the settings, the root unit and one unit per tenant and shared
/// entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GitOpsIntent {
    pub settings: GitOps,
    pub tool: &'static str,
    /// Argo CD's name for the cluster it runs in.
    pub server: &'static str,
    /// Whether Sidecars are generated (and so must be allowed by the AppProjects).
    pub mesh: bool,
    pub cluster_name: Option<String>,
    pub root: GitOpsUnit,
    /// The groups that have units, sorted; the root syncs these, each syncs its units.
    pub groups: Vec<GitOpsUnit>,
    pub units: Vec<GitOpsUnit>,
}

/// The GitOps objects' intent, when `[gitops]` is set.
pub fn gitops_of(config: &Config) -> Option<GitOpsIntent> {
    let g = config.gitops.as_ref()?;
    let in_repo = |dir: &str| {
        if g.path.is_empty() {
            dir.to_owned()
        } else {
            format!("{}/{dir}", g.path)
        }
    };
    let controller_namespace: BTreeSet<NamespaceName> = [g.namespace.clone()].into_iter().collect();
    let root = GitOpsUnit {
        name: GITOPS_ROOT_NAME.into(),
        role: "root".into(),
        owner: GITOPS_ROOT_NAME.into(),
        path: in_repo(GITOPS_DIR),
        namespaces: controller_namespace.clone(),
        group: None,
    };
    let unit = |role: &str, owner: &str, dir: String, namespaces: BTreeSet<NamespaceName>| {
        let name = format!("{role}-{owner}");
        GitOpsUnit {
            group: Some(gitops_group_of(&name)),
            name,
            role: role.into(),
            owner: owner.into(),
            path: in_repo(&dir),
            namespaces,
        }
    };
    let shared = config.shared.keys().map(|name| {
        let namespaces = [name.clone()].into_iter().collect();
        unit(
            "shared",
            name.as_str(),
            shared_dir(name.as_str()),
            namespaces,
        )
    });
    let tenants = config.tenants.iter().map(|(name, t)| {
        unit(
            "tenant",
            name.as_str(),
            tenant_dir(name.as_str()),
            t.namespaces.clone(),
        )
    });
    let units: Vec<GitOpsUnit> = shared.chain(tenants).collect();
    let groups: BTreeSet<&str> = units.iter().filter_map(|u| u.group.as_deref()).collect();
    let groups = groups
        .into_iter()
        .map(|group| GitOpsUnit {
            name: format!("{GITOPS_ROOT_NAME}-{group}"),
            role: "group".into(),
            owner: group.into(),
            path: in_repo(&gitops_group_dir(group)),
            namespaces: controller_namespace.clone(),
            group: None,
        })
        .collect();
    Some(GitOpsIntent {
        settings: g.clone(),
        tool: g.tool.as_str(),
        server: IN_CLUSTER_SERVER,
        mesh: config.mesh.is_some(),
        cluster_name: config.cluster.name.as_ref().map(|c| c.to_string()),
        root,
        groups,
        units,
    })
}

/// The directory of a GitOps group, relative to the output root.
pub fn gitops_group_dir(group: &str) -> String {
    format!("{GITOPS_DIR}/groups/{group}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::load;
    use crate::resolve::resolve;

    fn intent(src: &str) -> Intent {
        intent_of(&resolve(&load(src).unwrap(), src).unwrap())
    }

    fn ns(s: &str) -> NamespaceName {
        NamespaceName::new(s).unwrap()
    }

    #[test]
    fn tenants_reach_own_and_consumed_shared_namespaces_only() {
        let i = intent(
            r#"version = 1
[mesh]
[shared.common]
[shared.payments]
consumers = ["acme"]
[tenants.acme]
namespaces = ["acme", "acme-jobs"]
[tenants.globex]
"#,
        );
        let acme = &i.namespaces[&ns("acme-jobs")];
        assert_eq!(acme.same_owner, [ns("acme"), ns("acme-jobs")].into());
        assert_eq!(acme.shared_egress, [ns("common"), ns("payments")].into());
        let hosts: Vec<_> = acme.mesh.as_ref().unwrap().hosts.iter().cloned().collect();
        assert_eq!(
            hosts,
            [
                "acme-jobs/*",
                "acme/*",
                "common/*",
                "istio-system/*",
                "kube-system/kube-dns.kube-system.svc.cluster.local",
                "payments/*"
            ]
        );
        let globex = &i.namespaces[&ns("globex")];
        assert_eq!(globex.shared_egress, [ns("common")].into());
        assert_eq!(
            i.namespaces[&ns("payments")].consumers,
            [ns("acme"), ns("acme-jobs")].into()
        );
        assert_eq!(i.namespaces[&ns("common")].consumers.len(), 3);
        assert_eq!(globex.labels["istio-injection"], "enabled");
        assert_eq!(globex.labels["tenantc.dev/tenant"], "globex");
    }

    #[test]
    fn no_mesh_no_sidecar() {
        let i = intent("version = 1\n[tenants.a]\n");
        assert!(i.namespaces[&ns("a")].mesh.is_none());
        assert!(!i.namespaces[&ns("a")]
            .labels
            .contains_key("istio-injection"));
    }
}
