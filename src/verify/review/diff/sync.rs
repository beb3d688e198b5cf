//! The GitOps side of a diff: what the sync tool applies for each tenant and shared entry, from
//! the intent or from a tree's Argo CD and Flux objects, and the sentences that say what changed.

use std::collections::{BTreeMap, BTreeSet};

use super::View;
use crate::intent::confine::flux;
use crate::intent::{Intent, Kind};
use crate::verify::model::Model;

/// One tenant's or shared entry's sync, as its GitOps objects say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sync {
    /// `Argo CD` or `Flux`.
    pub tool: &'static str,
    /// `tenant acme`, `shared payments`.
    pub what: String,
    /// The directory in the repository.
    pub path: String,
    /// Where it may apply objects (Argo CD: the AppProject's destinations; Flux: the namespaces
    /// its account may patch).
    pub namespaces: BTreeSet<String>,
    /// What it may apply, `group/kind` (Argo CD: the AppProject's whitelists; Flux: what its
    /// account's roles allow).
    pub kinds: BTreeSet<String>,
}

fn kind_text(group: &str, kind: &str) -> String {
    if group.is_empty() {
        kind.to_owned()
    } else {
        format!("{group}/{kind}")
    }
}

/// The syncs tenants.toml's `[gitops]` makes.
pub(super) fn syncs_of_intent(intent: &Intent) -> BTreeMap<String, Sync> {
    let Some(g) = &intent.gitops else {
        return BTreeMap::new();
    };
    let tool = match g.settings.tool {
        crate::model::GitOpsTool::ArgoCd => "Argo CD",
        crate::model::GitOpsTool::Flux => "Flux",
    };
    g.units
        .iter()
        .map(|u| {
            // Argo CD's project, or Flux's account, confines it (see `intent::confine`).
            let confined = tool == "Argo CD" || flux::has_account(g, u);
            let sync = Sync {
                tool,
                what: format!("{} {}", u.role, u.owner),
                path: u.path.clone(),
                namespaces: if confined {
                    u.namespaces.iter().map(ToString::to_string).collect()
                } else {
                    BTreeSet::new()
                },
                kinds: if confined {
                    std::iter::once("Namespace".to_owned())
                        .chain(u.kinds.iter().map(|k| kind_text(k.group, k.kind)))
                        .collect()
                } else {
                    BTreeSet::new()
                },
            };
            (u.name.clone(), sync)
        })
        .collect()
}

/// The syncs the tree's GitOps objects make, for the objects labelled with a tenant or shared
/// entry (the root and the groups only sync GitOps objects).
pub(super) fn syncs_of_tree(model: &Model) -> BTreeMap<String, Sync> {
    let what_of = |v: &serde_json::Value| -> Option<String> {
        let labels = &v["metadata"]["labels"];
        ["tenant", "shared"].iter().find_map(|role| {
            labels[format!("tenantc.dev/{role}")]
                .as_str()
                .map(|o| format!("{role} {o}"))
        })
    };
    let s = |x: &serde_json::Value| x.as_str().unwrap_or_default().to_owned();
    // One pass over the objects, one file at a time: each Application's sync with the name of
    // its project, and each project's destinations and kinds.
    let mut out: BTreeMap<String, (Sync, String)> = BTreeMap::new();
    let mut projects: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    // Flux: each account's namespaces and kinds, from its two ClusterRoles, by unit name.
    let mut accounts: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    for d in model
        .tree
        .gitops
        .iter()
        .flat_map(crate::verify::tree::gitops_docs)
    {
        let v = &d.value;
        let list = |key: &str| -> Vec<&serde_json::Value> {
            v["spec"][key].as_array().into_iter().flatten().collect()
        };
        match d.origin.kind {
            "AppProject" => {
                let namespaces = list("destinations")
                    .into_iter()
                    .map(|d| s(&d["namespace"]))
                    .collect();
                let kinds = list("clusterResourceWhitelist")
                    .into_iter()
                    .chain(list("namespaceResourceWhitelist"))
                    .map(|k| kind_text(&s(&k["group"]), &s(&k["kind"])))
                    .collect();
                projects.insert(d.origin.name.to_string(), (namespaces, kinds));
            }
            "Application" | "Kustomization" => {
                let Some(what) = what_of(v) else { continue };
                let argo = d.origin.kind == "Application";
                let sync = Sync {
                    tool: if argo { "Argo CD" } else { "Flux" },
                    what,
                    path: if argo {
                        s(&v["spec"]["source"]["path"])
                    } else {
                        s(&v["spec"]["path"]).trim_start_matches("./").to_owned()
                    },
                    ..Sync::default()
                };
                let project = if argo {
                    s(&v["spec"]["project"])
                } else {
                    String::new()
                };
                out.insert(d.origin.name.to_string(), (sync, project));
            }
            "ClusterRole" => {
                let Some(unit) = flux::unit_of_role(&d.origin.name) else {
                    continue;
                };
                let (namespaces, kinds) = accounts.entry(unit.to_owned()).or_default();
                for rule in v["rules"].as_array().into_iter().flatten() {
                    let strings = |key: &str| -> Vec<String> {
                        rule[key].as_array().into_iter().flatten().map(s).collect()
                    };
                    for group in strings("apiGroups") {
                        for resource in strings("resources") {
                            if group.is_empty() && resource == "namespaces" {
                                namespaces.extend(strings("resourceNames"));
                                kinds.insert("Namespace".to_owned());
                            } else if let Some(k) = Kind::of_resource(&group, &resource) {
                                kinds.insert(kind_text(k.group(), k.name()));
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out.into_iter()
        .map(|(name, (mut sync, project))| {
            let confinement = if project.is_empty() {
                accounts.get(&name)
            } else {
                projects.get(&project)
            };
            if let Some((namespaces, kinds)) = confinement {
                sync.namespaces = namespaces.clone();
                sync.kinds = kinds.clone();
            }
            (name, sync)
        })
        .collect()
}

/// What changes in what the sync tools apply, in tenant terms.
pub(super) fn sync_sentences(before: &View, after: &View) -> Vec<String> {
    let mut lines = Vec::new();
    let list = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(", ");
    for (name, a) in &after.syncs {
        let Some(b) = before.syncs.get(name) else {
            lines.push(if a.namespaces.is_empty() {
                format!("+ {} now syncs {} ({})", a.tool, a.what, a.path)
            } else {
                format!(
                    "+ {} now syncs {} into {} ({})",
                    a.tool,
                    a.what,
                    list(&a.namespaces),
                    a.path
                )
            });
            continue;
        };
        if a.path != b.path {
            lines.push(format!(
                "~ {} syncs {} from {} instead of {}",
                a.tool, a.what, a.path, b.path
            ));
        }
        for ns in a.namespaces.difference(&b.namespaces) {
            lines.push(format!("+ {} may now sync {} into {ns}", a.tool, a.what));
        }
        for ns in b.namespaces.difference(&a.namespaces) {
            lines.push(format!(
                "- {} may no longer sync {} into {ns}",
                a.tool, a.what
            ));
        }
        for k in a.kinds.difference(&b.kinds) {
            lines.push(format!("+ {} may now apply {k} for {}", a.tool, a.what));
        }
        for k in b.kinds.difference(&a.kinds) {
            lines.push(format!(
                "- {} may no longer apply {k} for {}",
                a.tool, a.what
            ));
        }
    }
    for (name, b) in &before.syncs {
        if !after.syncs.contains_key(name) {
            lines.push(format!(
                "- {} no longer syncs {} (what it applied stays in the cluster)",
                b.tool, b.what
            ));
        }
    }
    lines
}
