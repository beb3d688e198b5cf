//! Stage 7, verify: read a tree back from disk, evaluate it the way Kubernetes, Istio and the sync
//! tools do, and compare the result with the intent of tenants.toml. Independent of `render` by
//! design, so that it catches what user templates or hand edits got wrong.
//!
//! From the bottom up:
//! - [`tree`] reads the YAML files and kustomizations, keeping file and object of every document;
//! - [`finding`] is what verify reports, with the helpers every layer builds findings with;
//! - [`ip`] and [`model`] evaluate the tree per namespace (the peers and ports each namespace's
//!   NetworkPolicies admit, the scope of its Sidecars);
//! - [`layer`] holds one module per layer, its semantics and its comparison with the intent;
//! - this module runs them ([`findings_of`]) and [`report`] prints the result;
//! - [`review`] answers a reviewer's questions (explain, diff, graph) on the same model.

pub mod finding;
pub mod ip;
pub mod layer;
pub mod model;
pub mod report;
pub mod review;
pub mod tree;

use std::path::Path;

use crate::intent::Intent;
pub use finding::{Finding, Severity};
use layer::{access, ambient, authz, gitops, lifecycle, netpol, objects, outside, sidecar};
use model::Model;
pub use report::{MeshScope, Report, ScopeRow, Summary};
pub use tree::{Origin, TreeError};

/// Reads the tree at `output` and evaluates it; `intent` names the namespaces it should know.
pub fn model_of(output: &Path, intent: &Intent) -> Result<Model, Vec<TreeError>> {
    let tree = tree::read_tree(output)?;
    Ok(Model::build(tree, &intent.known_namespaces()))
}

/// Reads the tenants.toml at `config` and the tree at `output`: what explain and graph answer
/// from. An unreadable tree is [`crate::Error::Tree`].
pub fn intent_and_model(config: &Path, output: &Path) -> Result<(Intent, Model), crate::Error> {
    let (cfg, _) = crate::config_from_file(config)?;
    let intent = crate::intent::intent_of(&cfg);
    let model = model_of(output, &intent).map_err(crate::Error::Tree)?;
    Ok((intent, model))
}

/// What [`verify_files`] found, with the evaluated tree and the intent it was judged by: a
/// caller about to exit may leave them unfreed (`std::mem::forget`), since freeing the model of
/// a large tree takes a while.
#[derive(Debug)]
pub struct Verified {
    pub report: Report,
    pub model: Model,
    pub intent: Intent,
}

/// Verifies the tree at `output` against the tenants.toml at `config`, as `tenantc verify`
/// does. An unreadable tree is [`crate::Error::Tree`].
pub fn verify_files(config: &Path, output: &Path) -> Result<Verified, crate::Error> {
    // The parsed config is not needed once the intent is derived; free it before the tree.
    let mut intent = crate::intent::intent_of(&crate::config_from_file(config)?.0);
    // Each tenant's set of namespaces serves explain and graph, not verify (which reads each
    // namespace's intent): free it before the tree.
    drop(std::mem::take(&mut intent.tenants));
    let model = model_of(output, &intent).map_err(crate::Error::Tree)?;
    let report = report_of(&model, &intent);
    Ok(Verified {
        report,
        model,
        intent,
    })
}

/// Verifies the tree at `output` against `intent`.
pub fn verify(output: &Path, intent: &Intent) -> Result<Report, Vec<TreeError>> {
    let model = model_of(output, intent)?;
    Ok(report_of(&model, intent))
}

pub fn report_of(model: &Model, intent: &Intent) -> Report {
    let findings = findings_of(model, intent);
    let mesh_scope = sidecar::mesh_scope(model, intent);
    let violations = findings
        .iter()
        .filter(|f| f.severity == Severity::Violation)
        .count();
    let summary = Summary {
        files: model.tree.files,
        documents: model.tree.documents,
        namespaces: model.tree.namespaces.len(),
        network_policies: model.tree.policies.len(),
        sidecars: model.tree.sidecars.len(),
        authorization_policies: model.tree.authz_policies.len(),
        peer_authentications: model.tree.peer_auths.len(),
        violations,
        warnings: findings.len() - violations,
    };
    Report {
        status: if violations == 0 { "ok" } else { "violations" },
        ok: violations == 0,
        summary,
        findings,
        mesh_scope,
    }
}

/// Every finding of every layer on the evaluated tree.
pub fn findings_of(model: &Model, intent: &Intent) -> Vec<Finding> {
    let mut findings: Vec<Finding> = model
        .problems
        .iter()
        .map(|p| finding::violation(p.check, p.message.clone(), vec![p.origin.clone()]))
        .collect();
    // The GitOps layer re-reads its files and shares nothing with the others: it runs on a second
    // core while they run on this one, and its findings are appended where it stood in the order.
    let gitops_findings = std::thread::scope(|s| {
        let gitops_layer = s.spawn(|| {
            let mut found = Vec::new();
            gitops::check(model, intent, &mut found);
            found
        });
        objects::namespaces(model, intent, &mut findings);
        netpol::check(model, intent, &mut findings);
        outside::check(model, intent, &mut findings);
        sidecar::check(model, intent, &mut findings);
        authz::check(model, intent, &mut findings);
        ambient::check(model, intent, &mut findings);
        gitops_layer.join()
    });
    match gitops_findings {
        Ok(mut found) => findings.append(&mut found),
        Err(panic) => std::panic::resume_unwind(panic),
    }
    access::check(model, intent, &mut findings);
    objects::foreign_objects(model, intent, &mut findings);
    findings.sort_by(|a, b| {
        (a.severity, &a.from, &a.to, &a.message).cmp(&(b.severity, &b.from, &b.to, &b.message))
    });
    findings.dedup();
    // The tree reader's own findings, then the lifecycle's, in the order they were found.
    findings.extend(model.tree.audit.iter().cloned());
    findings.extend(lifecycle::check(model, intent));
    findings
}
