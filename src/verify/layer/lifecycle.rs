//! The lifecycle checks of `verify`: no sync may delete a namespace or its default deny, and a
//! retired namespace is isolated and imported by no Sidecar.

use crate::intent::Intent;
use crate::model::NamespaceName;
use crate::resolve::lifecycle::PROTECTION;
use crate::resolve::LABEL_DATAPLANE_MODE;
use crate::verify::finding::violation;
use crate::verify::model::{Direction, Model};
use crate::verify::tree::Text;
use crate::verify::Finding;

pub fn check(model: &Model, intent: &Intent) -> Vec<Finding> {
    let mut findings = Vec::new();
    let retired = |ns: &str| {
        NamespaceName::new(ns)
            .ok()
            .is_some_and(|n| intent.retired.contains_key(&n))
    };
    // The flows into and out of a retired namespace are judged like any other (it has no
    // expected flow, so every allowed one is a violation); its Sidecars are judged here.
    for sc in &model.tree.sidecars {
        let Some(ns) = sc.namespace.as_deref() else {
            continue;
        };
        if retired(ns) {
            findings.push(violation(
                "retired-sidecar",
                format!(
                    "namespace {ns} is retired but has the Sidecar {} ({}): a retired namespace has no mesh configuration",
                    sc.origin.name, sc.origin.file
                ),
                vec![sc.origin.clone()],
            ));
        }
        for host in sc.hosts.iter() {
            let Some((target, _)) = host.split_once('/') else {
                continue;
            };
            if target != ns && retired(target) {
                let mut f = violation(
                    "imports-retired",
                    format!(
                        "the Sidecar of {ns} imports `{host}`, but {target} is retired: no Sidecar may import it ({})",
                        sc.origin.file
                    ),
                    vec![sc.origin.clone()],
                );
                f.from = Some(ns.to_owned());
                f.to = Some(target.to_owned());
                findings.push(f);
            }
        }
    }
    default_deny_protection(model, intent, &mut findings);
    for doc in &model.tree.namespaces {
        let ambient = doc.labels.get(LABEL_DATAPLANE_MODE).map(Text::as_str) == Some("ambient");
        if ambient && retired(&doc.origin.name) {
            findings.push(violation(
                "retired-ambient",
                format!(
                    "namespace {} is retired but carries `{LABEL_DATAPLANE_MODE}: ambient`: ambient mode SNATs the kubelet's probes to 169.254.7.127, which its deny-all refuses, so pods with probes restart in a loop ({})",
                    doc.origin.name, doc.origin.file
                ),
                vec![doc.origin.clone()],
            ));
        }
        let missing = missing_protection(doc.annotations.protection());
        if !missing.is_empty() {
            findings.push(violation(
                "namespace-unprotected",
                format!(
                    "namespace {} lacks the annotation {}: a sync of the output could delete it, and every workload and volume in it ({})",
                    doc.origin.name,
                    missing.join(" and "),
                    doc.origin.file
                ),
                vec![doc.origin.clone()],
            ));
        }
    }
    findings
}

/// The annotations of [`PROTECTION`] missing from `bits` (see `LabelPairs::protection`), as
/// `` `key: value` `` texts.
fn missing_protection(bits: u8) -> Vec<String> {
    PROTECTION
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & 1 << i == 0)
        .map(|(_, (key, want))| format!("`{key}: {want}`"))
        .collect()
}

/// The default deny of every namespace of tenants.toml (a NetworkPolicy that selects every pod
/// and has no rule for a direction) carries the protection annotations, as compile writes it:
/// when a namespace moves between tenants or is retired, the sync objects that hand it over
/// may run in any order, and a pruned deny-all leaves the namespace open meanwhile. One
/// protected deny-all per isolated direction is enough; a namespace isolated only by its allow
/// policies is reported by the NetworkPolicy layer.
fn default_deny_protection(model: &Model, intent: &Intent, findings: &mut Vec<Finding>) {
    for name in intent.namespaces.keys() {
        let Some(id) = model.id(name.as_str()) else {
            continue;
        };
        let mut unprotected: Vec<usize> = Vec::new();
        for dir in [Direction::Ingress, Direction::Egress] {
            let deny_all: Vec<usize> = model
                .net_of(id)
                .side(dir)
                .isolating_all
                .iter()
                .copied()
                .filter(|i| {
                    let p = &model.tree.policies[*i];
                    match dir {
                        Direction::Ingress => !p.has_ingress_rules,
                        Direction::Egress => !p.has_egress_rules,
                    }
                })
                .collect();
            let protected = deny_all
                .iter()
                .any(|i| missing_protection(model.tree.policies[*i].protection).is_empty());
            if !protected {
                unprotected.extend(deny_all);
            }
        }
        unprotected.sort_unstable();
        unprotected.dedup();
        for i in unprotected {
            let p = &model.tree.policies[i];
            findings.push(violation(
                "default-deny-unprotected",
                format!(
                    "NetworkPolicy {} is the default deny of namespace {name} but lacks the annotation {}: a sync could prune or delete it and leave {name} open while the namespace is handed over ({})",
                    p.origin.name,
                    missing_protection(p.protection).join(" and "),
                    p.origin
                ),
                vec![p.origin.clone()],
            ));
        }
    }
}
