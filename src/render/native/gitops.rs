//! argocd-unit.yaml.j2 and flux-unit.yaml.j2, in Rust: the one GitOps object per tenant and
//! shared entry (and, with Flux, per group), so as many as the tenants. The root and the Argo CD
//! groups' objects, 65 in all, stay with minijinja. Kept equal to the templates as the namespaces'
//! parts are (see the module above).

use serde_json::Value;

use super::Out;
use crate::intent::confine;
use crate::intent::{GitOpsIntent, GitOpsUnit};
use crate::model::GitOpsTool;
use crate::render::templates::write_yaml_string;

/// The text of `unit`'s object as its built-in template renders it after `normalize`; `None` when
/// the template would fail (a unit without namespaces has no `first` for Argo CD's destination),
/// so that minijinja reports it.
pub(in crate::render) fn unit(gitops: &GitOpsIntent, unit: &GitOpsUnit) -> Option<String> {
    let mut out = Out::new();
    match gitops.settings.tool {
        GitOpsTool::ArgoCd => argocd(&mut out, gitops, unit)?,
        GitOpsTool::Flux => flux(&mut out, gitops, unit),
    }
    Some(out.finish())
}

/// `metadata:` with the unit's name, the controller's namespace and the two labels.
fn metadata(out: &mut Out, gitops: &GitOpsIntent, unit: &GitOpsUnit) {
    out.raw("metadata:\n  name: ")
        .value(&unit.name)
        .raw("\n  namespace: ")
        .value(gitops.settings.namespace.as_str())
        .raw("\n  labels:\n    app.kubernetes.io/managed-by: tenantc\n    tenantc.dev/")
        .value(&unit.role)
        .raw(": ")
        .value(&unit.owner)
        .raw("\n");
}

fn argocd(out: &mut Out, gitops: &GitOpsIntent, unit: &GitOpsUnit) -> Option<()> {
    let first = unit.namespaces.first()?;
    let settings = &gitops.settings;
    out.raw("apiVersion: argoproj.io/v1alpha1\nkind: AppProject\n");
    metadata(out, gitops, unit);
    out.raw("spec:\n  description: ")
        .value(&format!(
            "tenantc: the namespaces of {} {}",
            unit.role, unit.owner
        ))
        .raw("\n  sourceRepos:\n  - ")
        .value(&settings.repo_url)
        .raw("\n  destinations:\n");
    for namespace in &unit.namespaces {
        out.raw("  - server: ")
            .value(&gitops.cluster_server)
            .raw("\n    namespace: ")
            .value(namespace.as_str())
            .raw("\n");
    }
    out.raw(concat!(
        "  clusterResourceWhitelist:\n",
        "  - group: \"\"\n",
        "    kind: Namespace\n",
        "  namespaceResourceWhitelist:\n",
    ));
    for k in &unit.kinds {
        out.raw("  - group: ")
            .value(k.group)
            .raw("\n    kind: ")
            .value(k.kind)
            .raw("\n");
    }
    if !unit.owner_groups.is_empty() {
        out.raw("  roles:\n  - name: owners\n    description: ")
            .value(&crate::intent::owners_role_description(unit))
            .raw("\n    policies:\n");
        for policy in crate::intent::owners_role_policies(unit) {
            out.raw("    - ").value(&policy).raw("\n");
        }
        out.raw("    groups:\n");
        for g in &unit.owner_groups {
            out.raw("    - ").value(g).raw("\n");
        }
    }
    out.raw("---\napiVersion: argoproj.io/v1alpha1\nkind: Application\n");
    metadata(out, gitops, unit);
    out.raw("spec:\n  project: ")
        .value(&unit.name)
        .raw("\n  source:\n    repoURL: ")
        .value(&settings.repo_url)
        .raw("\n    targetRevision: ")
        .value(&settings.revision)
        .raw("\n    path: ")
        .value(&unit.path)
        .raw("\n  destination:\n    server: ")
        .value(&gitops.cluster_server)
        .raw("\n    namespace: ")
        .value(first.as_str())
        .raw(concat!(
            "\n  syncPolicy:\n",
            "    automated:\n",
            "      prune: true\n",
            "      selfHeal: true\n",
        ));
    Some(())
}

fn flux(out: &mut Out, gitops: &GitOpsIntent, unit: &GitOpsUnit) {
    out.raw("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n");
    metadata(out, gitops, unit);
    out.raw("spec:\n  interval: 10m\n  path: ")
        .value(&format!("./{}", unit.path))
        .raw("\n  prune: true\n  deletionPolicy: Orphan\n");
    if confine::flux::has_account(gitops, unit) {
        out.raw("  serviceAccountName: ")
            .value(confine::flux::account_name(unit))
            .raw("\n");
    }
    out.raw("  sourceRef:\n    kind: GitRepository\n    name: ")
        .value(&gitops.root.name)
        .raw("\n");
}

/// The Flux account objects of `unit` ([`confine::flux::account_documents`]), each after a
/// `---`, written in the templates' style; empty when the unit has none. They follow the unit's
/// Kustomization in its file, whatever template rendered that: they are tenantc's, not a
/// template's, so a user's template cannot widen them.
pub(in crate::render) fn account(gitops: &GitOpsIntent, unit: &GitOpsUnit) -> String {
    let mut text = String::new();
    for doc in confine::flux::account_documents(gitops, unit) {
        text.push_str("---\n");
        mapping(&mut text, &doc, 0);
    }
    text
}

/// The keys of a mapping in the order a person writes them: the object's identity first.
fn key_order(key: &str) -> (usize, &str) {
    const FIRST: [&str; 15] = [
        "apiVersion",
        "apiGroup",
        "kind",
        "metadata",
        "name",
        "namespace",
        "labels",
        "annotations",
        "automountServiceAccountToken",
        "roleRef",
        "subjects",
        "rules",
        "apiGroups",
        "resources",
        "verbs",
    ];
    (
        FIRST.iter().position(|k| *k == key).unwrap_or(FIRST.len()),
        key,
    )
}

/// A JSON mapping as block YAML at `indent` spaces.
fn mapping(text: &mut String, v: &Value, indent: usize) {
    let Some(map) = v.as_object() else {
        return;
    };
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort_by_key(|k| key_order(k));
    for (i, key) in keys.into_iter().enumerate() {
        // The first key of a list item follows its `- `.
        if i > 0 || !text.ends_with("- ") {
            text.push_str(&" ".repeat(indent));
        }
        entry(text, key, &map[key], indent);
    }
}

fn entry(text: &mut String, key: &str, v: &Value, indent: usize) {
    let _ = write_yaml_string(text, key);
    match v {
        Value::Object(m) if !m.is_empty() => {
            text.push_str(":\n");
            mapping(text, v, indent + 2);
        }
        Value::Array(items) if !items.is_empty() => {
            text.push_str(":\n");
            for item in items {
                text.push_str(&" ".repeat(indent));
                text.push_str("- ");
                if item.is_object() {
                    mapping(text, item, indent + 2);
                } else {
                    scalar(text, item);
                    text.push('\n');
                }
            }
        }
        _ => {
            text.push_str(": ");
            scalar(text, v);
            text.push('\n');
        }
    }
}

fn scalar(text: &mut String, v: &Value) {
    match v {
        Value::String(s) => {
            let _ = write_yaml_string(text, s);
        }
        Value::Array(_) => text.push_str("[]"),
        Value::Object(_) => text.push_str("{}"),
        other => text.push_str(&other.to_string()),
    }
}
