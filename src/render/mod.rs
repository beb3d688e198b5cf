//! Stage 4, render: minijinja templates turn each namespace's intent into YAML documents, and each
//! document is parsed back and checked (apiVersion, kind, name, namespace) before anything is
//! written.
//!
//! Every value a template prints goes through [`yaml_value`]: a string is printed plain only when
//! YAML reads it back as that same string, and double-quoted otherwise, so no value (`yes`, `0123`,
//! `1.10`, `#`, `---`, a newline) can turn into YAML structure or another type.

pub mod check;
pub mod gitops;
pub mod templates;

use std::collections::BTreeMap;

use minijinja::context;
use minijinja::value::Value;
use minijinja::Environment;

use crate::intent::{Intent, NamespaceIntent};
use crate::model::NamespaceName;
pub use check::strict_crd_schema;
use check::{check_documents, check_schema, Slot};
pub use gitops::{render_gitops, RenderedGitOps, ARGOCD_API, FLUX_KUSTOMIZE_API, FLUX_SOURCE_API};
use templates::describe;
pub use templates::{charge_allocation, refund_allocation, ALLOCATION_BUDGET, FUEL, OUTPUT_BUDGET};
pub use templates::{
    yaml_string, yaml_value, TemplateError, Templates, ARGOCD_ROOT_TEMPLATE, ARGOCD_UNIT_TEMPLATE,
    AUTHORIZATIONPOLICIES_TEMPLATE, CONSUMERS_PER_POLICY, DEFAULT_TEMPLATES, FLUX_ROOT_TEMPLATE,
    FLUX_UNIT_TEMPLATE, NAMESPACE_TEMPLATE, NETWORKPOLICIES_TEMPLATE, PEERAUTHENTICATION_TEMPLATE,
    SERVICEENTRIES_TEMPLATE, SIDECAR_TEMPLATE,
};

/// What one namespace renders to: the text of each file (without the generated-file header).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub namespace: String,
    pub networkpolicies: String,
    pub sidecar: Option<String>,
    pub service_entries: Option<String>,
    /// With `[mesh] authorization = true`.
    pub authorization_policies: Option<String>,
    /// With `[mesh] mtls`.
    pub peer_authentication: Option<String>,
}

/// Renders every namespace, on every core; the result is keyed and so in a deterministic order.
/// When a template fails, the first failing namespace (in name order) is reported for each template.
pub fn render(
    intent: &Intent,
    templates: &Templates,
) -> Result<BTreeMap<NamespaceName, Rendered>, Vec<TemplateError>> {
    let env = templates.environment()?;
    let items: Vec<&NamespaceIntent> = intent.namespaces.values().collect();
    let results = crate::par::map(&items, |ns| render_namespace(&env, templates, ns));
    let mut out = BTreeMap::new();
    let mut errors: Vec<TemplateError> = Vec::new();
    for (ns, r) in items.iter().zip(results) {
        match r {
            Ok(r) => {
                out.insert(ns.name.clone(), r);
            }
            Err(e) if !errors.iter().any(|seen| seen.origin == e.origin) => errors.push(e),
            Err(_) => {}
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        errors.sort_by(|a, b| (&a.origin, &a.namespace).cmp(&(&b.origin, &b.namespace)));
        Err(errors)
    }
}

fn render_namespace(
    env: &Environment<'static>,
    templates: &Templates,
    ns: &NamespaceIntent,
) -> Result<Rendered, TemplateError> {
    let chunks: Vec<Vec<&NamespaceName>> = ns
        .consumers
        .iter()
        .collect::<Vec<_>>()
        .chunks(CONSUMERS_PER_POLICY)
        .map(<[_]>::to_vec)
        .collect();
    let ctx = context! { ns => Value::from_serialize(ns), consumer_chunks => Value::from_serialize(&chunks) };
    let name = ns.name.as_str();
    let run = |template: &str, slot: Slot| -> Result<String, TemplateError> {
        let fail = |message: String| TemplateError {
            origin: templates.origin(template),
            namespace: Some(name.to_owned()),
            message,
        };
        let tmpl = env.get_template(template).map_err(|e| fail(describe(&e)))?;
        let text = crate::render::templates::render_bounded(&tmpl, &ctx)
            .map_err(|e| fail(describe(&e)))?;
        let text = normalize(&text);
        // The built-in templates' documents are parsed back and their heads checked; a user's are
        // also kept whole for the schema check.
        let docs = check_documents(&text, slot, name, templates.custom).map_err(fail)?;
        if templates.custom {
            for doc in &docs {
                check_schema(doc, slot).map_err(fail)?;
            }
        }
        Ok(text)
    };
    Ok(Rendered {
        namespace: run(NAMESPACE_TEMPLATE, Slot::Namespace)?,
        networkpolicies: run(NETWORKPOLICIES_TEMPLATE, Slot::NetworkPolicies)?,
        // Ambient mode has no Sidecar objects: they have no effect there (istio/api#3517).
        sidecar: match &ns.mesh {
            Some(m) if !m.ambient => Some(run(SIDECAR_TEMPLATE, Slot::Sidecar)?),
            _ => None,
        },
        service_entries: match (&ns.mesh, ns.service_entries.is_empty()) {
            (Some(_), false) => Some(run(SERVICEENTRIES_TEMPLATE, Slot::ServiceEntries)?),
            _ => None,
        },
        authorization_policies: match &ns.mesh {
            Some(m) if m.authorization => Some(run(
                AUTHORIZATIONPOLICIES_TEMPLATE,
                Slot::AuthorizationPolicies,
            )?),
            _ => None,
        },
        peer_authentication: match &ns.mesh {
            Some(m) if m.mtls.is_some() => {
                Some(run(PEERAUTHENTICATION_TEMPLATE, Slot::PeerAuthentication)?)
            }
            _ => None,
        },
    })
}

/// Trailing spaces and blank lines at either end carry nothing and would only make diffs noisy.
/// The result keeps room for the generated-file header that emit puts in front, so that it grows
/// in place instead of being copied (the header is about 100 bytes with a usual file name).
pub(super) fn normalize(text: &str) -> String {
    const HEADER_ROOM: usize = 256;
    let mut out = String::with_capacity(text.len() + HEADER_ROOM);
    for line in text.trim_matches('\n').lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
