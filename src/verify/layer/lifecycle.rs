//! The lifecycle checks of `verify`: no sync may delete a namespace, and a retired namespace is
//! isolated and imported by no Sidecar.

use crate::intent::Intent;
use crate::model::NamespaceName;
use crate::resolve::lifecycle::PROTECTION;
use crate::resolve::LABEL_DATAPLANE_MODE;
use crate::verify::finding::violation;
use crate::verify::model::Model;
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
        let missing: Vec<String> = PROTECTION
            .iter()
            .filter(|(key, want)| !annotation_is(doc.annotations.get(key), want))
            .map(|(key, want)| format!("`{key}: {want}`"))
            .collect();
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

/// Argo CD trims white space around each comma-separated option.
fn annotation_is(value: Option<&Text>, want: &str) -> bool {
    let options = |s: &str| {
        let mut v: Vec<String> = s.split(',').map(|o| o.trim().to_owned()).collect();
        v.sort();
        v
    };
    value.is_some_and(|v| {
        let have = options(v);
        options(want).iter().all(|o| have.contains(o))
    })
}
