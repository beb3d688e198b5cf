//! The GitOps objects: Argo CD AppProjects and Applications or Flux Kustomizations that sync each
//! tenant's directory, checked for the confinement they exist for.

use minijinja::context;
use minijinja::value::Value;
use serde::Deserialize;

use super::check::check_crd_schema;
use super::templates::render_bounded;
use super::templates::{
    describe, Templates, ARGOCD_ROOT_TEMPLATE, ARGOCD_UNIT_TEMPLATE, FLUX_ROOT_TEMPLATE,
    FLUX_UNIT_TEMPLATE,
};
use super::{native, native_or_engine, normalize, TemplateError};
use crate::intent::confine;
use crate::intent::{GitOpsIntent, GitOpsUnit};
use crate::model::GitOpsTool;

pub use crate::intent::confine::{ARGOCD_API, FLUX_KUSTOMIZE_API, FLUX_SOURCE_API};

/// Which GitOps object a template renders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GitOpsObject {
    /// The root: syncs `gitops/` (itself and the groups' objects).
    Root,
    /// A group's object: syncs `gitops/groups/<group>/`. It does what the root's does one level
    /// down: with Argo CD an AppProject and Application confined to the controller's namespace
    /// (the root template's shape); with Flux a Kustomization reading the root's GitRepository
    /// (the unit template's shape).
    Group,
    /// A tenant's or shared entry's object: syncs its directory.
    Unit,
}

/// The GitOps templates, compiled once, rendering one object at a time (on any thread).
pub struct GitOpsRenderer<'a> {
    env: minijinja::Environment<'static>,
    templates: &'a Templates,
    gitops: &'a GitOpsIntent,
    /// Serialized once: the per-unit context shares it (a Value clone is a reference count).
    settings: Value,
    /// The template of the tenants' and shared entries' objects, when it is the built-in one
    /// (rendered by [`native::gitops`]).
    native: Option<&'static str>,
}

impl<'a> GitOpsRenderer<'a> {
    pub fn new(
        gitops: &'a GitOpsIntent,
        templates: &'a Templates,
    ) -> Result<Self, Vec<TemplateError>> {
        let unit_template = match gitops.settings.tool {
            GitOpsTool::ArgoCd => ARGOCD_UNIT_TEMPLATE,
            GitOpsTool::Flux => FLUX_UNIT_TEMPLATE,
        };
        Ok(Self {
            env: templates.environment()?,
            templates,
            gitops,
            settings: Value::from_serialize(GitOpsContext::of(gitops)),
            native: templates.is_builtin(unit_template).then_some(unit_template),
        })
    }

    /// The template that renders `object`.
    pub fn template(&self, object: GitOpsObject) -> &'static str {
        match (self.gitops.settings.tool, object) {
            (GitOpsTool::ArgoCd, GitOpsObject::Root | GitOpsObject::Group) => ARGOCD_ROOT_TEMPLATE,
            (GitOpsTool::ArgoCd, GitOpsObject::Unit) => ARGOCD_UNIT_TEMPLATE,
            (GitOpsTool::Flux, GitOpsObject::Root) => FLUX_ROOT_TEMPLATE,
            (GitOpsTool::Flux, GitOpsObject::Group | GitOpsObject::Unit) => FLUX_UNIT_TEMPLATE,
        }
    }

    /// The text of `unit`'s object (without the generated-file header), checked like the
    /// namespaces' documents: the right kinds, names and namespace, and the confinement they
    /// exist for (an AppProject's destinations are exactly its unit's namespaces; each object
    /// points at its own directory). As there, the built-in templates' output is checked by the
    /// tests, a user's on every run.
    pub fn object(&self, object: GitOpsObject, unit: &GitOpsUnit) -> Result<String, TemplateError> {
        let template = self.template(object);
        let fail = |message: String| TemplateError {
            origin: self.templates.origin(template),
            namespace: None,
            message: format!("for {} `{}`: {message}", unit.role, unit.owner),
        };
        let native = (self.native == Some(template))
            .then(|| native::gitops::unit(self.gitops, unit))
            .flatten();
        let text = native_or_engine(
            native,
            || self.through_engine(template, unit),
            || format!("{template} for `{}`", unit.name),
        )
        .map_err(fail)?;
        if self.templates.custom || cfg!(debug_assertions) {
            let docs = gitops_documents(&text).map_err(fail)?;
            if self.templates.custom {
                for doc in &docs {
                    check_crd_schema(doc).map_err(fail)?;
                }
            }
            check_confinement(&text, &docs, self.gitops, unit).map_err(fail)?;
        }
        let mut text = text;
        if object == GitOpsObject::Unit {
            text.push_str(&native::gitops::account(self.gitops, unit));
        }
        Ok(text)
    }
}

impl GitOpsRenderer<'_> {
    /// `unit`'s object rendered by minijinja from `template`, normalized.
    fn through_engine(&self, template: &str, unit: &GitOpsUnit) -> Result<String, String> {
        let ctx = context! { unit => Value::from_serialize(unit), gitops => self.settings.clone() };
        let tmpl = self.env.get_template(template).map_err(|e| describe(&e))?;
        let text = render_bounded(&tmpl, &ctx).map_err(|e| describe(&e))?;
        Ok(normalize(&text))
    }
}

/// The `gitops` variable of the GitOps templates: everything but the list of units.
#[derive(serde::Serialize)]
struct GitOpsContext<'a> {
    settings: &'a crate::model::GitOps,
    tool: &'a str,
    server: &'a str,
    cluster_server: &'a str,
    mesh: bool,
    cluster_name: &'a Option<String>,
    root: &'a GitOpsUnit,
}

impl<'a> GitOpsContext<'a> {
    fn of(g: &'a GitOpsIntent) -> Self {
        Self {
            settings: &g.settings,
            tool: g.tool,
            server: g.server,
            cluster_server: &g.cluster_server,
            mesh: g.mesh,
            cluster_name: &g.cluster_name,
            root: &g.root,
        }
    }
}

/// The documents of a GitOps template's text, as JSON values.
fn gitops_documents(text: &str) -> Result<Vec<serde_json::Value>, String> {
    let mut docs = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let value = serde_yaml::Value::deserialize(doc)
            .map_err(|e| format!("rendered invalid YAML: {e}"))?;
        if value.is_null() {
            continue;
        }
        let json = serde_json::to_value(&value)
            .map_err(|e| format!("rendered a document JSON cannot hold: {e}"))?;
        docs.push(json);
    }
    Ok(docs)
}

/// Checks what a GitOps template rendered for `unit` against the unit's confinement
/// ([`confine::breaches`]): the right kinds, names and namespace, and nothing that changes what
/// the sync applies or where. Refused with the rendered line that says it.
fn check_confinement(
    text: &str,
    docs: &[serde_json::Value],
    gitops: &GitOpsIntent,
    unit: &GitOpsUnit,
) -> Result<(), String> {
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("<none>").to_owned();
    let mut kinds: Vec<(String, String)> = docs
        .iter()
        .map(|d| (s(&d["apiVersion"]), s(&d["kind"])))
        .collect();
    kinds.sort_unstable();
    let want = confine::kinds_of_unit(gitops, unit);
    let want_owned: Vec<(String, String)> = want
        .iter()
        .map(|(a, k)| (a.to_string(), k.to_string()))
        .collect();
    if kinds != want_owned {
        let list = |l: &[(String, String)]| {
            l.iter()
                .map(|(a, k)| format!("`{a}` `{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(format!(
            "rendered {} where exactly {} belong",
            if kinds.is_empty() {
                "nothing".to_owned()
            } else {
                list(&kinds)
            },
            list(&want_owned)
        ));
    }
    let mut problems = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        for b in confine::breaches(gitops, unit, d) {
            let at = match line_of(text, i, &b.path) {
                Some((n, line)) => format!(" (rendered line {n}: `{}`)", line.trim()),
                None => String::new(),
            };
            problems.push(format!(
                "{} `{}`: {}{at}",
                s(&d["kind"]),
                s(&d["metadata"]["name"]),
                b.message
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// The line (1-based, with its text) of the field at `path` in document `doc` of `text`, for a
/// template written in block style; the deepest key found, or `None`.
fn line_of<'t>(text: &'t str, doc: usize, path: &[String]) -> Option<(usize, &'t str)> {
    let mut lines = text.lines().enumerate();
    // Skip to the document: documents are separated by `---` lines.
    let mut seen = 0;
    let mut started = false;
    let mut body: Vec<(usize, &str)> = Vec::new();
    for (n, line) in lines.by_ref() {
        if line.trim_end() == "---" {
            if started {
                seen += 1;
                started = false;
            }
            if seen > doc {
                break;
            }
            continue;
        }
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        started = true;
        if seen == doc {
            body.push((n + 1, line));
        }
    }
    let indent = |l: &str| l.len() - l.trim_start_matches([' ', '-']).len();
    let mut found: Option<(usize, &str)> = None;
    let mut from = 0;
    let mut parent: Option<usize> = None;
    for seg in path {
        let key = format!("{seg}:");
        let hit = body[from..].iter().position(|(_, l)| {
            let rest = l.trim_start_matches([' ', '-']);
            parent.is_none_or(|p| indent(l) > p) && rest.starts_with(&key)
        });
        match hit {
            Some(i) => {
                let (n, l) = body[from + i];
                found = Some((n, l));
                parent = Some(indent(l));
                from += i + 1;
            }
            // A list index or a key the document lacks: the deepest key found is the answer.
            None if seg.parse::<usize>().is_ok() => continue,
            None => break,
        }
    }
    found
}
