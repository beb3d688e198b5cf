//! The tree's objects against the namespaces tenants.toml defines: a Namespace document with
//! the mesh labels for each of them, and no Namespace, NetworkPolicy or Sidecar elsewhere.

use crate::intent::Intent;
use crate::resolve::{LABEL_DATAPLANE_MODE, LABEL_INJECTION, LABEL_REVISION};
use crate::verify::finding::{violation, with_objects};
use crate::verify::model::Model;
use crate::verify::tree::Text;
use crate::verify::{Finding, Severity};

pub fn namespaces(model: &Model, intent: &Intent, findings: &mut Vec<Finding>) {
    for (name, ns) in &intent.namespaces {
        let owner = match &ns.tenant {
            Some(t) => format!("tenant {t}"),
            None => "shared".into(),
        };
        let doc = model
            .id(name.as_str())
            .and_then(|id| model.namespace_doc[id as usize]);
        let Some(doc) = doc.map(|i| &model.tree.namespaces[i]) else {
            findings.push(violation(
                "missing-namespace",
                format!("namespace {name} ({owner}) is in tenants.toml but the tree has no Namespace document for it"),
                Vec::new(),
            ));
            continue;
        };
        for key in [LABEL_INJECTION, LABEL_REVISION, LABEL_DATAPLANE_MODE] {
            if let Some(want) = ns.labels.get(key) {
                if doc.labels.get(key).map(Text::as_str) != Some(&**want) {
                    findings.push(violation(
                        "missing-injection-label",
                        with_objects(
                            &format!("namespace {name} lacks the label `{key}: {want}`, so its pods get no sidecar and the mesh does not apply to them"),
                            std::slice::from_ref(&doc.origin),
                        ),
                        vec![doc.origin.clone()],
                    ));
                }
            }
        }
    }
    for doc in &model.tree.namespaces {
        if intent.namespace(&doc.origin.name).is_none() {
            findings.push(violation(
                "unknown-namespace",
                with_objects(
                    &format!(
                        "namespace {} is in the tree but not in tenants.toml",
                        doc.origin.name
                    ),
                    std::slice::from_ref(&doc.origin),
                ),
                vec![doc.origin.clone()],
            ));
        }
    }
}

/// NetworkPolicies and Sidecars in namespaces tenants.toml does not define, and Sidecars when it
/// has no `[mesh]`.
pub fn foreign_objects(model: &Model, intent: &Intent, findings: &mut Vec<Finding>) {
    // An AdminNetworkPolicy, a Calico or a Cilium policy is evaluated by the network plugin
    // before (or instead of) the NetworkPolicies: an Allow there opens what they deny, and
    // verify cannot say what it opens, so it cannot vouch for the tree.
    for o in &model.tree.unevaluated {
        findings.push(violation(
            "unevaluated-policy",
            format!(
                "{} in {} is a policy verify cannot evaluate: it can allow what the NetworkPolicies deny (an AdminNetworkPolicy, a Calico or a Cilium policy takes precedence over them), so verify cannot vouch for the tree; remove it from the output tree",
                o.name, o.file
            ),
            vec![o.clone()],
        ));
    }
    let mesh = intent.namespaces.values().find_map(|n| n.mesh.as_ref());
    let defined = |ns: &str| intent.namespace(ns).is_some();
    for p in &model.tree.policies {
        if let Some(ns) = p.namespace.as_deref() {
            if !defined(ns) {
                let mut f = violation(
                    "foreign-object",
                    with_objects(
                        &format!("NetworkPolicy {} applies to namespace {ns}, which tenants.toml does not define; tenantc does not check it", p.origin.name),
                        std::slice::from_ref(&p.origin),
                    ),
                    vec![p.origin.clone()],
                );
                f.severity = Severity::Warning;
                findings.push(f);
            }
        }
    }
    for s in &model.tree.sidecars {
        let Some(ns) = s.namespace.as_deref() else {
            continue;
        };
        let is_root = mesh.is_some_and(|m| m.namespace.as_str() == ns);
        if mesh.is_none() {
            findings.push(violation(
                "unexpected-sidecar",
                with_objects(
                    "tenants.toml has no [mesh] but the tree has a Sidecar",
                    std::slice::from_ref(&s.origin),
                ),
                vec![s.origin.clone()],
            ));
        } else if !defined(ns) && !is_root {
            let mut f = violation(
                "foreign-object",
                with_objects(
                    &format!("Sidecar {} applies to namespace {ns}, which tenants.toml does not define; tenantc does not check it", s.origin.name),
                    std::slice::from_ref(&s.origin),
                ),
                vec![s.origin.clone()],
            );
            f.severity = Severity::Warning;
            findings.push(f);
        }
    }
}
