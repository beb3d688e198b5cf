//! The GitOps intent: which directory of the output tree each Argo CD or Flux object syncs, and
//! how tenants are spread over groups.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{Kind, NamespaceIntent};
use crate::model::{
    shared_dir, tenant_dir, AccessLevel, Config, GitOps, NamespaceName, RetiredOwner, TenantName,
    GITOPS_DIR, SHARED_DIR, TENANTS_DIR,
};

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
    /// The namespaced kinds its directory holds, in kustomization order: exactly what its
    /// AppProject whitelists besides Namespace (tenants and shared entries only; see
    /// [`GitOpsUnit::set_needs`]).
    pub kinds: Vec<ApiKind>,
    /// The groups among its `owners`: the Argo CD project role `owners`, which may get and sync
    /// this unit's Application (tenants and shared entries only).
    pub owner_groups: Vec<String>,
    /// The ClusterRoles its RoleBindings bind (`admin`, `edit`, `view`), sorted: with Flux, its
    /// account may `bind` exactly these.
    pub bound_roles: Vec<&'static str>,
}

/// The description of the Argo CD project role `owners` of `unit`.
pub fn owners_role_description(unit: &GitOpsUnit) -> String {
    description_pieces(unit).concat()
}

/// The policies of the Argo CD project role `owners` of `unit`: `get` and `sync` of its own
/// Application (`<project>/<application>`), nothing else.
/// https://argo-cd.readthedocs.io/en/stable/operator-manual/rbac/#the-applications-resource
pub fn owners_role_policies(unit: &GitOpsUnit) -> [String; 2] {
    OWNERS_ACTIONS.map(|action| policy_pieces(unit, action).concat())
}

/// The actions of [`owners_role_policies`], in their order.
pub const OWNERS_ACTIONS: [&str; 2] = ["get", "sync"];

/// Whether `text` is [`owners_role_description`] of `unit`, compared piece by piece instead of
/// written: `verify` asks it of every project of a tree.
pub fn is_owners_role_description(unit: &GitOpsUnit, text: &str) -> bool {
    pieces(text, &description_pieces(unit))
}

/// Whether `text` is the policy of [`owners_role_policies`] of `unit` for `action`, compared
/// piece by piece.
pub fn is_owners_role_policy(unit: &GitOpsUnit, action: &str, text: &str) -> bool {
    pieces(text, &policy_pieces(unit, action))
}

/// The text of [`owners_role_description`], in pieces: the one definition that writing it and
/// comparing with it share.
fn description_pieces(unit: &GitOpsUnit) -> [&str; 5] {
    [
        "the owners' groups of ",
        &unit.role,
        " ",
        &unit.owner,
        ": see and sync its Application",
    ]
}

/// The text of the policy of [`owners_role_policies`] for `action`, in pieces.
fn policy_pieces<'a>(unit: &'a GitOpsUnit, action: &'a str) -> [&'a str; 9] {
    let name = unit.name.as_str();
    [
        "p, proj:",
        name,
        ":owners, applications, ",
        action,
        ", ",
        name,
        "/",
        name,
        ", allow",
    ]
}

/// Whether `text` is `pieces` joined.
fn pieces(text: &str, pieces: &[&str]) -> bool {
    let mut rest = text;
    for piece in pieces {
        match rest.strip_prefix(piece) {
            Some(after) => rest = after,
            None => return false,
        }
    }
    rest.is_empty()
}

/// A kind as Argo CD's project whitelists name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ApiKind {
    pub group: &'static str,
    pub kind: &'static str,
    /// The resource, as RBAC rules name it (`networkpolicies`).
    #[serde(skip)]
    pub resource: &'static str,
}

impl From<Kind> for ApiKind {
    fn from(k: Kind) -> Self {
        Self {
            group: k.group(),
            kind: k.name(),
            resource: k.resource(),
        }
    }
}

impl GitOpsUnit {
    /// Sets what the unit needs from the intents of its namespaces, each looked up once: its
    /// [`kinds`](Self::kinds) (the namespaced kinds of their directories, in kustomization order),
    /// its [`owner_groups`](Self::owner_groups) (the groups among their owners: a tenant's
    /// namespaces share them) and its [`bound_roles`](Self::bound_roles), each sorted and once.
    pub fn set_needs(&mut self, intents: &BTreeMap<NamespaceName, NamespaceIntent>) {
        let mut kinds: Vec<Kind> = Vec::new();
        let mut groups: Vec<&str> = Vec::new();
        let mut roles: Vec<&'static str> = Vec::new();
        for ns in self.namespaces.iter().filter_map(|n| intents.get(n)) {
            kinds.extend(ns.kinds().into_iter().filter(|k| k.namespaced()));
            for b in &ns.access.bindings {
                roles.push(b.role);
                if b.level == AccessLevel::Owner {
                    groups.extend(
                        b.subjects
                            .iter()
                            .filter(|s| s.kind == "Group")
                            .map(|s| &*s.name),
                    );
                }
            }
        }
        kinds.sort_unstable();
        kinds.dedup();
        groups.sort_unstable();
        groups.dedup();
        roles.sort_unstable();
        roles.dedup();
        self.kinds = kinds.into_iter().map(ApiKind::from).collect();
        self.owner_groups = groups.into_iter().map(str::to_owned).collect();
        self.bound_roles = roles;
    }
}

/// What the GitOps templates need: the settings, the root unit and one unit per tenant and shared
/// entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GitOpsIntent {
    pub settings: GitOps,
    pub tool: &'static str,
    /// Argo CD's name for the cluster it runs in: where the GitOps objects themselves go.
    pub server: &'static str,
    /// The API server of the cluster the tenants run in: where the tenants' and shared
    /// entries' Applications sync (`[cluster] server`; default [`Self::server`]).
    pub cluster_server: String,
    /// Whether Sidecars are generated (and so must be allowed by the AppProjects).
    pub mesh: bool,
    pub cluster_name: Option<String>,
    pub root: GitOpsUnit,
    /// The groups that have units, sorted; the root syncs these, each syncs its units.
    pub groups: Vec<GitOpsUnit>,
    pub units: Vec<GitOpsUnit>,
}

impl GitOpsIntent {
    /// The API server `unit`'s Application syncs to: the tenants' cluster for a tenant or shared
    /// entry, the cluster Argo CD runs in for the root and the groups (the GitOps objects).
    pub fn server_of(&self, unit: &GitOpsUnit) -> &str {
        match unit.role.as_str() {
            "tenant" | "shared" => &self.cluster_server,
            _ => self.server,
        }
    }
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
    let prefix = g.name_prefix.as_str();
    let root = GitOpsUnit {
        name: format!("{prefix}{GITOPS_ROOT_NAME}"),
        role: "root".into(),
        owner: GITOPS_ROOT_NAME.into(),
        path: in_repo(GITOPS_DIR),
        namespaces: controller_namespace.clone(),
        group: None,
        kinds: Vec::new(),
        owner_groups: Vec::new(),
        bound_roles: Vec::new(),
    };
    let unit = |role: &str, owner: &str, dir: String, namespaces: BTreeSet<NamespaceName>| {
        // The group comes from the name without the prefix: a cluster's tenant is in the same
        // group in every cluster.
        let name = format!("{role}-{owner}");
        GitOpsUnit {
            group: Some(gitops_group_of(&name)),
            name: format!("{prefix}{name}"),
            role: role.into(),
            owner: owner.into(),
            path: in_repo(&dir),
            namespaces,
            kinds: Vec::new(),
            owner_groups: Vec::new(),
            bound_roles: Vec::new(),
        }
    };
    // A retired namespace stays in its owner's directory, synced by the same object.
    let retired_of = |tenant: &TenantName| -> Vec<NamespaceName> {
        config
            .retired
            .iter()
            .filter(|(_, r)| r.owner == RetiredOwner::Tenant(tenant.clone()))
            .map(|(n, _)| n.clone())
            .collect()
    };
    let retired_shared = config
        .retired
        .iter()
        .filter(|(_, r)| r.owner == RetiredOwner::Shared)
        .map(|(n, _)| n);
    let shared_names: BTreeSet<&NamespaceName> =
        config.shared.keys().chain(retired_shared).collect();
    let shared = shared_names.into_iter().map(|name| {
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
            t.namespaces
                .iter()
                .cloned()
                .chain(retired_of(name))
                .collect(),
        )
    });
    let units: Vec<GitOpsUnit> = shared.chain(tenants).collect();
    let groups: BTreeSet<&str> = units.iter().filter_map(|u| u.group.as_deref()).collect();
    let groups = groups
        .into_iter()
        .map(|group| GitOpsUnit {
            name: format!("{prefix}{GITOPS_ROOT_NAME}-{group}"),
            role: "group".into(),
            owner: group.into(),
            path: in_repo(&gitops_group_dir(group)),
            namespaces: controller_namespace.clone(),
            group: None,
            kinds: Vec::new(),
            owner_groups: Vec::new(),
            bound_roles: Vec::new(),
        })
        .collect();
    Some(GitOpsIntent {
        settings: g.clone(),
        tool: g.tool.as_str(),
        server: IN_CLUSTER_SERVER,
        cluster_server: config
            .cluster
            .server
            .clone()
            .unwrap_or_else(|| IN_CLUSTER_SERVER.to_owned()),
        mesh: config.mesh.is_some(),
        cluster_name: config.cluster.name.as_ref().map(|c| c.to_string()),
        root,
        groups,
        units,
    })
}

/// The file that holds `unit`'s GitOps objects, relative to the output root: the root's
/// `gitops/tenantc.yaml`, a group's `gitops/groups/<group>.yaml`, a tenant's or shared entry's
/// `gitops/groups/<group>/tenants/<tenant>.yaml` (with, under Flux, its account's objects), which
/// its group's object applies.
pub fn gitops_file_of(unit: &GitOpsUnit) -> String {
    match (unit.role.as_str(), &unit.group) {
        ("root", _) => format!("{GITOPS_DIR}/{GITOPS_ROOT_NAME}.yaml"),
        ("group", _) => format!("{GITOPS_DIR}/groups/{}.yaml", unit.owner),
        (role, group) => {
            let dir = if role == "shared" {
                SHARED_DIR
            } else {
                TENANTS_DIR
            };
            format!(
                "{}/{dir}/{}.yaml",
                gitops_group_dir(group.as_deref().unwrap_or_default()),
                unit.owner
            )
        }
    }
}

/// The directory of a GitOps group, relative to the output root.
pub fn gitops_group_dir(group: &str) -> String {
    format!("{GITOPS_DIR}/groups/{group}")
}
