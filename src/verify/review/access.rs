//! `tenantc access`: who may do what in a tenant's namespaces, or where a subject has access,
//! read from the tree (the RoleBindings, Namespace labels, ResourceQuotas and LimitRanges the
//! cluster receives), not from tenants.toml alone.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::intent::Intent;
use crate::resolve::POD_SECURITY_PREFIX;
use crate::verify::layer::access::{access_of_tree, AccessView};
use crate::verify::model::Model;
use crate::verify::tree::Text;

/// One grant: `group acme-devs` may `edit` these namespaces.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Grant {
    pub subject: String,
    pub may: String,
    pub namespaces: Vec<String>,
}

/// A namespace's safety and bounds, as the tree says.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct NamespaceBounds {
    pub namespace: String,
    /// `enforce`, `enforce-version`, `warn`, ... -> value (the Pod Security labels present).
    pub pod_security: BTreeMap<String, String>,
    pub quota: BTreeMap<String, String>,
    pub default_request: BTreeMap<String, String>,
    pub default_limit: BTreeMap<String, String>,
}

/// The answer for a tenant or shared entry.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct OwnerAccess {
    /// `tenant acme` or `shared payments`.
    pub owner: String,
    pub namespaces: Vec<String>,
    pub grants: Vec<Grant>,
    pub bounds: Vec<NamespaceBounds>,
}

/// The answer for a subject.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SubjectAccess {
    pub subject: String,
    pub grants: Vec<Grant>,
}

/// The namespaces of `name` (a tenant, a shared entry or a namespace), as tenants.toml names them.
fn namespaces_of(intent: &Intent, name: &str) -> Option<(String, Vec<String>)> {
    if let Some((t, nss)) = intent.tenants.iter().find(|(t, _)| t.as_str() == name) {
        let mut all: Vec<String> = nss.iter().map(ToString::to_string).collect();
        all.extend(
            intent
                .retired
                .iter()
                .filter(|(_, o)| o.as_ref() == Some(t))
                .map(|(n, _)| n.to_string()),
        );
        all.sort();
        return Some((format!("tenant {name}"), all));
    }
    if intent.shared.iter().any(|s| s.as_str() == name) {
        return Some((format!("shared {name}"), vec![name.to_owned()]));
    }
    intent
        .namespace(name)
        .map(|_| (format!("namespace {name}"), vec![name.to_owned()]))
}

/// Who may do what in `name`'s namespaces; `None` when tenants.toml does not know it.
pub fn owner_access(model: &Model, intent: &Intent, name: &str) -> Option<OwnerAccess> {
    let (owner, namespaces) = namespaces_of(intent, name)?;
    let view = access_of_tree(model);
    let mine: BTreeSet<&str> = namespaces.iter().map(String::as_str).collect();
    let grants = view
        .grants
        .iter()
        .filter_map(|((subject, may), nss)| {
            let here: Vec<String> = nss
                .iter()
                .filter(|n| mine.contains(n.as_str()) || *n == "every namespace")
                .cloned()
                .collect();
            (!here.is_empty()).then(|| Grant {
                subject: subject.clone(),
                may: may.clone(),
                namespaces: here,
            })
        })
        .collect();
    let bounds = namespaces
        .iter()
        .map(|ns| bounds_of(model, &view, ns))
        .collect();
    Some(OwnerAccess {
        owner,
        namespaces,
        grants,
        bounds,
    })
}

fn bounds_of(model: &Model, view: &AccessView, ns: &str) -> NamespaceBounds {
    let labels = model
        .id(ns)
        .and_then(|id| model.namespace_doc[id as usize])
        .map(|i| &model.tree.namespaces[i].labels);
    let pod_security = labels
        .into_iter()
        .flat_map(|l| l.iter())
        .filter_map(|(k, v): (&Text, &Text)| {
            k.strip_prefix(POD_SECURITY_PREFIX)
                .map(|m| (m.to_owned(), v.to_string()))
        })
        .collect();
    let lr = model
        .tree
        .limit_ranges
        .iter()
        .find(|l| l.namespace.as_deref() == Some(ns) && l.origin.name == "tenantc");
    NamespaceBounds {
        namespace: ns.to_owned(),
        pod_security,
        quota: view.quota.get(ns).cloned().unwrap_or_default(),
        default_request: lr
            .map(|l| l.requests.iter().cloned().collect())
            .unwrap_or_default(),
        default_limit: lr
            .map(|l| l.values.iter().cloned().collect())
            .unwrap_or_default(),
    }
}

/// Where `subject` (`group:acme-devs` or `group acme-devs`) has access.
pub fn subject_access(model: &Model, subject: &str) -> SubjectAccess {
    let wanted = match crate::model::Subject::parse(subject) {
        Ok(s) => s.describe(),
        Err(_) => subject.to_owned(),
    };
    let view = access_of_tree(model);
    let grants = view
        .grants
        .iter()
        .filter(|((s, _), _)| *s == wanted)
        .map(|((s, may), nss)| Grant {
            subject: s.clone(),
            may: may.clone(),
            namespaces: nss.iter().cloned().collect(),
        })
        .collect();
    SubjectAccess {
        subject: wanted,
        grants,
    }
}

fn pairs(m: &BTreeMap<String, String>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl OwnerAccess {
    pub fn to_text(&self) -> String {
        let mut out = format!("{}: {}\n", self.owner, self.namespaces.join(", "));
        if self.grants.is_empty() {
            out.push_str("  no RoleBinding grants anyone access\n");
        }
        for g in &self.grants {
            out.push_str(&format!(
                "  {} may {} {}\n",
                g.subject,
                g.may,
                g.namespaces.join(", ")
            ));
        }
        // Namespaces with equal bounds on one line.
        let mut alike: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for b in &self.bounds {
            let ps = &b.pod_security;
            let level = |mode: &str| match (ps.get(mode), ps.get(&format!("{mode}-version"))) {
                (Some(l), Some(v)) => format!("{mode} {l} ({v})"),
                (Some(l), None) => format!("{mode} {l}"),
                _ => format!("{mode} unset"),
            };
            let mut text = format!(
                "pod security {}, {}, {}",
                level("enforce"),
                level("warn"),
                level("audit")
            );
            text.push_str(&format!(
                "\n    quota: {}",
                if b.quota.is_empty() {
                    "none".to_owned()
                } else {
                    pairs(&b.quota)
                }
            ));
            if b.default_request.is_empty() && b.default_limit.is_empty() {
                text.push_str("\n    container defaults: none");
            } else {
                text.push_str(&format!(
                    "\n    container defaults: request {}; limit {}",
                    if b.default_request.is_empty() {
                        "none".into()
                    } else {
                        pairs(&b.default_request)
                    },
                    if b.default_limit.is_empty() {
                        "none".into()
                    } else {
                        pairs(&b.default_limit)
                    }
                ));
            }
            alike.entry(text).or_default().push(&b.namespace);
        }
        for (text, nss) in alike {
            out.push_str(&format!("  {}: {text}\n", nss.join(", ")));
        }
        out
    }
}

impl SubjectAccess {
    pub fn to_text(&self) -> String {
        if self.grants.is_empty() {
            return format!(
                "{} has no access to any namespace of the tree\n",
                self.subject
            );
        }
        let mut out = String::new();
        for g in &self.grants {
            out.push_str(&format!(
                "{} may {} {}\n",
                g.subject,
                g.may,
                g.namespaces.join(", ")
            ));
        }
        out
    }
}
