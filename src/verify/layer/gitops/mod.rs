//! The last hop: the Argo CD and Flux objects of the tree, which tell the sync tool what to apply
//! and where. Each is matched to its unit (the root, a group, a tenant's or a shared entry's
//! directory) by kind and name and held to the unit's confinement ([`confine::breaches`]: the
//! same rules compile applies to a user's GitOps template); every unit must have its objects; and
//! every object of a tenant's or shared directory is evaluated against its AppProject the way
//! Argo CD does before a sync (`IsGroupKindPermitted`, `IsDestinationPermitted`), since one
//! refusal fails the whole sync: a new tenant gets nothing, a revoked grant never leaves.

use std::collections::BTreeMap;

use crate::verify::HashMap;

mod account;

use crate::intent::confine::{self, flux, ProjectRules};
use crate::intent::{GitOpsIntent, GitOpsUnit, Intent};
use crate::model::GitOpsTool;
use crate::verify::finding::violation;
use crate::verify::model::Model;
use crate::verify::tree::{
    gitops_docs, GitOpsDoc, GitOpsFile, GitOpsReader, LimitDoc, Origin, RbacDoc, ReadGitOpsDoc,
    Text,
};
use crate::verify::Finding;

/// What the GitOps layer finds in the GitOps objects themselves, and the AppProjects' rules that
/// [`check`] then holds the tree's other objects to. It needs only the objects' files, the
/// output root and the intent, not the evaluated tree, so verify reads them while it builds the
/// model.
#[derive(Debug, Default)]
pub struct Objects<'a> {
    findings: Vec<Finding>,
    projects: HashMap<Text, ProjectRules>,
    /// The units of tenants and shared entries by their directory (see [`dir_of`]), with Argo
    /// CD: what the refusals ([`Objects::refuse_access`], [`check`]) find an object's unit by.
    units_by_dir: HashMap<&'a str, &'a GitOpsUnit>,
    /// Argo CD's refusals of the tree's access objects (see [`Objects::refuse_access`]).
    access_refused: Refused,
}

impl Objects<'_> {
    /// Holds the tree's access objects (its RBAC objects, ResourceQuotas and LimitRanges; the
    /// tree's output root `root`) to the AppProjects read: they need no model either, so verify
    /// takes them with the access layer while it builds the model, and [`check`] lists them with
    /// the refusals of the tree's other objects, after them.
    pub fn refuse_access(
        &mut self,
        rbac: &[Box<RbacDoc>],
        quotas: &[Box<LimitDoc>],
        limit_ranges: &[Box<LimitDoc>],
        root: &str,
        intent: &Intent,
    ) {
        let Some(gitops) = argocd(intent) else {
            return;
        };
        let objects = rbac
            .iter()
            .map(|r| {
                (
                    "rbac.authorization.k8s.io",
                    r.kind.as_ref(),
                    r.namespace.as_ref(),
                    &r.origin,
                )
            })
            .chain(
                quotas
                    .iter()
                    .map(|q| ("", "ResourceQuota", q.namespace.as_ref(), &q.origin)),
            )
            .chain(
                limit_ranges
                    .iter()
                    .map(|l| ("", "LimitRange", l.namespace.as_ref(), &l.origin)),
            );
        refusals(
            objects,
            root,
            gitops,
            &self.units_by_dir,
            &self.projects,
            &mut self.access_refused,
        );
    }
}

/// The objects Argo CD would refuse, by unit and reason, each list in the tree's order.
type Refused = BTreeMap<(String, String), Vec<Origin>>;

/// The GitOps intent when the tool is Argo CD, the one that refuses a sync over its project.
fn argocd(intent: &Intent) -> Option<&GitOpsIntent> {
    intent
        .gitops
        .as_ref()
        .filter(|g| g.settings.tool == GitOpsTool::ArgoCd)
}

/// Holds every object of the tree to the project of the Application that syncs it (Argo CD
/// refuses the whole sync over one object), after the findings of [`read_objects`].
pub fn check(model: &Model, intent: &Intent, objects: Objects, findings: &mut Vec<Finding>) {
    let Objects {
        findings: mut found,
        projects,
        units_by_dir,
        access_refused,
    } = objects;
    findings.append(&mut found);
    let Some(gitops) = argocd(intent) else {
        return;
    };
    let tree = &model.tree;
    // (group, kind, namespace, origin) of every object the tree applies but the access
    // objects, which `Objects::refuse_access` held to the projects.
    let objects = tree
        .namespaces
        .iter()
        .map(|d| ("", "Namespace", None, &d.origin))
        .chain(tree.policies.iter().map(|p| {
            (
                "networking.k8s.io",
                "NetworkPolicy",
                p.namespace.as_ref(),
                &p.origin,
            )
        }))
        .chain(tree.sidecars.iter().map(|s| {
            (
                "networking.istio.io",
                "Sidecar",
                s.namespace.as_ref(),
                &s.origin,
            )
        }))
        .chain(tree.service_entries.iter().map(|s| {
            (
                "networking.istio.io",
                "ServiceEntry",
                s.namespace.as_ref(),
                &s.origin,
            )
        }))
        .chain(tree.authz_policies.iter().map(|a| {
            (
                "security.istio.io",
                "AuthorizationPolicy",
                a.namespace.as_ref(),
                &a.origin,
            )
        }))
        .chain(tree.peer_auths.iter().map(|a| {
            (
                "security.istio.io",
                "PeerAuthentication",
                a.namespace.as_ref(),
                &a.origin,
            )
        }));
    let mut refused = Refused::new();
    refusals(
        objects,
        &tree.root,
        gitops,
        &units_by_dir,
        &projects,
        &mut refused,
    );
    for (key, origins) in access_refused {
        refused.entry(key).or_default().extend(origins);
    }
    for ((unit, why), origins) in refused {
        let list: Vec<String> = origins.iter().take(5).map(ToString::to_string).collect();
        findings.push(violation(
            "gitops-refused",
            format!(
                "Argo CD would refuse the whole sync of `{unit}`: {why} ({}{}); a new namespace would get nothing and a revoked grant would never leave the cluster",
                list.join("; "),
                if origins.len() > 5 { format!("; and {} more", origins.len() - 5) } else { String::new() }
            ),
            origins,
        ));
    }
}

/// The layer's first step on each object ([`GitOpsReader`]): its unit, found by the object's
/// name, and what the unit's confinement says of it; an AppProject's rules.
struct Reader<'a> {
    gitops: &'a GitOpsIntent,
    units: HashMap<&'a str, &'a GitOpsUnit>,
    /// Equal kind rules shared between the projects read (memory, not meaning).
    kind_rules: std::sync::Mutex<confine::KindRulesCache>,
    /// What a Flux account's objects are judged by.
    accounts: account::Rules<'a>,
}

impl<'a> Reader<'a> {
    /// The reader of the tree under `root` (the output directory as its files' names begin).
    fn new(gitops: &'a GitOpsIntent, root: &str) -> Self {
        Reader {
            gitops,
            units: std::iter::once(&gitops.root)
                .chain(&gitops.groups)
                .chain(&gitops.units)
                .map(|u| (u.name.as_str(), u))
                .collect(),
            kind_rules: std::sync::Mutex::default(),
            accounts: account::Rules::new(gitops, root),
        }
    }
}

impl GitOpsReader for Reader<'_> {
    fn read(&self, docs: Vec<GitOpsDoc>) -> Vec<ReadGitOpsDoc> {
        let mut last = None;
        docs.into_iter()
            .map(|d| {
                if flux::account_kind(d.value["apiVersion"].as_str(), Some(d.origin.kind)).is_some()
                {
                    let account = self.accounts.judge(&d, &mut last);
                    return ReadGitOpsDoc {
                        origin: d.origin,
                        breaches: None,
                        project: None,
                        account: Some(Box::new(account)),
                    };
                }
                let unit = self.units.get(d.origin.name.as_ref());
                ReadGitOpsDoc {
                    breaches: unit.map(|u| confine::breaches(self.gitops, u, &d.value)),
                    project: unit.filter(|_| d.origin.kind == "AppProject").map(|_| {
                        let mut cache = self.kind_rules.lock().unwrap_or_else(|p| p.into_inner());
                        ProjectRules::of_shared(&d.value, &mut cache)
                    }),
                    account: None,
                    origin: d.origin,
                }
            })
            .collect()
    }
}

/// The reader the tree's reader threads give the GitOps objects to as they read them (see
/// `tree::read_tree_with`), for the tree under `root`; `None` without `[gitops]`.
pub fn reader<'a>(intent: &'a Intent, root: &str) -> Option<Box<dyn GitOpsReader + 'a>> {
    Some(Box::new(Reader::new(intent.gitops.as_ref()?, root)))
}

/// Reads the GitOps objects of `files` (under the output root `root`) one file at a time, but
/// those the tree's reader threads read already (taken: each file's `read` is `None` after), and
/// holds each to its unit's confinement; every unit must have its objects.
pub fn read_objects<'a>(files: &mut [GitOpsFile], root: &str, intent: &'a Intent) -> Objects<'a> {
    let mut objects = Objects::default();
    if let Some(gitops) = argocd(intent) {
        objects.units_by_dir = gitops
            .units
            .iter()
            .map(|u| (dir_of(gitops, u), u))
            .collect();
    }
    let findings = &mut objects.findings;
    let Some(gitops) = &intent.gitops else {
        let origins = files.iter_mut().flat_map(|f| match f.read.take() {
            Some(read) => read.into_vec().into_iter().map(|d| d.origin).collect(),
            None => gitops_docs(f)
                .into_iter()
                .map(|d| d.origin)
                .collect::<Vec<_>>(),
        });
        for o in origins {
            findings.push(violation(
                "gitops-object",
                format!(
                    "{} holds the {} `{}`, but tenants.toml has no [gitops]: tenantc did not write it and cannot vouch for what it syncs; remove it, or set [gitops] and compile",
                    o.file, o.kind, o.name
                ),
                vec![o],
            ));
        }
        return objects;
    };
    // Each object, by (kind, name); a second object of the same kind and name is a second sync.
    // The objects of a file read again are dropped once read: only their names and the
    // projects' rules are kept.
    let mut seen: HashMap<(&'static str, Text), Origin> = HashMap::default();
    let projects = &mut objects.projects;
    let reader = Reader::new(gitops, root);
    let mut accounts = account::Accounts::new(&reader.accounts);
    let mut take = |d: ReadGitOpsDoc, findings: &mut Vec<Finding>| {
        let ReadGitOpsDoc {
            origin,
            breaches,
            project,
            account,
        } = d;
        if let Some(account) = account {
            accounts.take(origin, *account, findings);
            return;
        }
        let name = origin.name.clone();
        if let Some(first) = seen.insert((origin.kind, name.clone()), origin.clone()) {
            findings.push(violation(
                "gitops-object",
                format!(
                    "{} `{name}` is defined twice ({} and {}): the sync tool applies one of them, and verify cannot tell which",
                    origin.kind, first.file, origin.file
                ),
                vec![first, origin.clone()],
            ));
        }
        let (Some(breaches), Some(unit)) = (breaches, reader.units.get(name.as_ref())) else {
            findings.push(violation(
                "gitops-object",
                format!(
                    "{} `{name}` ({}) is not the object of any tenant, shared entry or group of tenants.toml: tenantc cannot vouch for what it syncs; remove it",
                    origin.kind, origin.file
                ),
                vec![origin],
            ));
            return;
        };
        for b in breaches {
            findings.push(violation(
                "gitops-confinement",
                format!(
                    "{} `{name}` ({}), which syncs {} {}: {}",
                    origin.kind, origin.file, unit.role, unit.owner, b.message
                ),
                vec![origin.clone()],
            ));
        }
        if let Some(rules) = project {
            projects.insert(name, rules);
        }
    };
    for file in files {
        let read = match file.read.take() {
            Some(read) => read.into_vec(),
            None => reader.read(gitops_docs(file)),
        };
        read.into_iter().for_each(|d| take(d, findings));
    }
    accounts.finish(findings);
    let seen = &seen;
    // Every unit has its objects.
    for unit in reader.units.values() {
        for (_, kind) in confine::kinds_of_unit(gitops, unit) {
            if !seen.contains_key(&(kind, Text::from(unit.name.as_str()))) {
                findings.push(violation(
                    "gitops-missing",
                    format!(
                        "{} {} has no {kind} `{}` in the tree: nothing syncs {}",
                        unit.role, unit.owner, unit.name, unit.path
                    ),
                    Vec::new(),
                ));
            }
        }
    }
    objects
}

/// The directory of `unit` relative to the output root (`tenants/acme`).
fn dir_of<'a>(gitops: &GitOpsIntent, unit: &'a GitOpsUnit) -> &'a str {
    let prefix = &gitops.settings.path;
    if prefix.is_empty() {
        return &unit.path;
    }
    unit.path
        .strip_prefix(prefix.as_str())
        .and_then(|p| p.strip_prefix('/'))
        .unwrap_or(&unit.path)
}

/// The directory of the tenant or shared entry whose tree holds `file` (`tenants/acme` of
/// `output/tenants/acme/acme/namespace.yaml`), given the output root's prefix.
fn unit_dir_of<'f>(file: &'f str, root: &str) -> Option<&'f str> {
    let rel = file.strip_prefix(root)?.trim_start_matches('/');
    let mut parts = rel.splitn(3, '/');
    let (top, name) = (parts.next()?, parts.next()?);
    parts.next()?;
    matches!(top, "tenants" | "shared").then(|| &rel[..top.len() + 1 + name.len()])
}

/// The unit whose Application syncs a file, with its AppProject's rules.
type UnitOf<'a> = Option<(&'a GitOpsUnit, &'a ProjectRules)>;

/// Whether a project permits a namespace (`None`: the cluster) as a destination.
type Answer<'a> = (Option<&'a str>, bool);

/// Argo CD's check of each of `objects` (group, kind, namespace, origin) an Application of the
/// tree under `root` would sync against its AppProject, into `refused`: one refused object
/// fails the whole sync. `by_dir` holds the units by their directory.
fn refusals<'t>(
    objects: impl Iterator<Item = (&'t str, &'t str, Option<&'t Text>, &'t Origin)>,
    root: &str,
    gitops: &GitOpsIntent,
    by_dir: &HashMap<&str, &GitOpsUnit>,
    projects: &HashMap<Text, ProjectRules>,
    refused: &mut Refused,
) {
    // Objects come file by file, and a file's are of one unit, mostly of one kind and namespace:
    // the last answers serve the next object when they are about the same (a tree of 10,000
    // tenants has hundreds of thousands of objects and a few per file). Each kind's objects are
    // listed apart, so each file keeps its unit and the answer for the namespace of its objects
    // (looked up by the address of the file's name, which the tree holds, and so no other name
    // has, until this returns), and the answer for a kind is kept by the project's kind rules,
    // which most projects share.
    let mut files: Vec<(UnitOf, Option<Answer>)> = Vec::new();
    let mut file_index: HashMap<*const u8, usize> = HashMap::default();
    let mut last_file: Option<(&std::sync::Arc<str>, usize)> = None;
    let mut last_kind: Option<(*const confine::KindRules, &str, &str, bool)> = None;
    let mut kinds: HashMap<(*const confine::KindRules, &str, &str), bool> = HashMap::default();
    let mut destinations: HashMap<(&str, Option<&str>), bool> = HashMap::default();
    for (group, kind, namespace, origin) in objects {
        let at = match last_file {
            Some((file, at)) if std::sync::Arc::ptr_eq(file, &origin.file) => at,
            _ => {
                let at = *file_index
                    .entry(std::sync::Arc::as_ptr(&origin.file).cast::<u8>())
                    .or_insert_with(|| {
                        let unit = unit_dir_of(&origin.file, root)
                            .and_then(|d| by_dir.get(d))
                            .and_then(|unit| Some((*unit, projects.get(unit.name.as_str())?)));
                        files.push((unit, None));
                        files.len() - 1
                    });
                last_file = Some((&origin.file, at));
                at
            }
        };
        let Some((unit, project)) = files[at].0 else {
            continue;
        };
        let name = unit.name.as_str();
        let namespaced = !matches!(kind, "Namespace" | "ClusterRole" | "ClusterRoleBinding");
        // Projects with equal kind rules share them: one answer serves them all.
        let rules = std::sync::Arc::as_ptr(project.kind_rules());
        let kind_ok = match last_kind {
            Some((r, g, k, ok)) if r == rules && g == group && k == kind => ok,
            _ => {
                let ok = *kinds
                    .entry((rules, group, kind))
                    .or_insert_with(|| project.permits_kind(group, kind, namespaced));
                last_kind = Some((rules, group, kind, ok));
                ok
            }
        };
        let ns = namespace.map(Text::as_ref);
        let why = if !kind_ok {
            Some(format!(
                "its AppProject `{}` does not permit {}{kind}",
                unit.name,
                if group.is_empty() {
                    String::new()
                } else {
                    format!("{group}/")
                }
            ))
        } else {
            let destination_ok = match files[at].1 {
                Some((n, ok)) if n == ns => ok,
                _ => {
                    let ok = *destinations
                        .entry((name, ns))
                        .or_insert_with(|| project.permits_destination(gitops.server_of(unit), ns));
                    files[at].1 = Some((ns, ok));
                    ok
                }
            };
            (!destination_ok).then(|| {
                format!(
                    "its AppProject `{}` does not permit the destination {}",
                    unit.name,
                    ns.unwrap_or("(cluster)")
                )
            })
        };
        if let Some(why) = why {
            refused
                .entry((unit.name.clone(), why))
                .or_default()
                .push(origin.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_map_to_their_unit_directory() {
        assert_eq!(
            unit_dir_of("out/tenants/acme/acme/namespace.yaml", "out"),
            Some("tenants/acme")
        );
        assert_eq!(
            unit_dir_of("out/shared/payments/sidecar.yaml", "out/"),
            Some("shared/payments")
        );
        assert_eq!(unit_dir_of("out/gitops/tenantc.yaml", "out"), None);
        assert_eq!(unit_dir_of("out/kustomization.yaml", "out"), None);
    }
}
