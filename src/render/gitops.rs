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
use crate::intent::{GitOpsIntent, GitOpsUnit, IN_CLUSTER_SERVER};
use crate::model::GitOpsTool;

/// The `apiVersion`s of the GitOps objects tenantc writes.
pub const ARGOCD_API: &str = "argoproj.io/v1alpha1";
pub const FLUX_KUSTOMIZE_API: &str = "kustomize.toolkit.fluxcd.io/v1";
pub const FLUX_SOURCE_API: &str = "source.toolkit.fluxcd.io/v1";

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
            let docs = check_gitops_documents(&text, self.gitops, unit).map_err(fail)?;
            if self.templates.custom {
                for doc in &docs {
                    check_crd_schema(doc).map_err(fail)?;
                }
            }
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
            mesh: g.mesh,
            cluster_name: &g.cluster_name,
            root: &g.root,
        }
    }
}

/// The kinds each GitOps template must render, in any order.
fn gitops_kinds(gitops: &GitOpsIntent, unit: &GitOpsUnit) -> Vec<(&'static str, &'static str)> {
    let root = unit.role == "root";
    let mut kinds = match (gitops.settings.tool, root) {
        (GitOpsTool::ArgoCd, _) => vec![(ARGOCD_API, "AppProject"), (ARGOCD_API, "Application")],
        (GitOpsTool::Flux, false) => vec![(FLUX_KUSTOMIZE_API, "Kustomization")],
        (GitOpsTool::Flux, true) => vec![
            (FLUX_SOURCE_API, "GitRepository"),
            (FLUX_KUSTOMIZE_API, "Kustomization"),
        ],
    };
    kinds.sort_unstable();
    kinds
}

/// Checks what a GitOps template rendered for `unit`; returns the documents.
fn check_gitops_documents(
    text: &str,
    gitops: &GitOpsIntent,
    unit: &GitOpsUnit,
) -> Result<Vec<serde_json::Value>, String> {
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
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("<none>").to_owned();
    let mut kinds: Vec<(String, String)> = docs
        .iter()
        .map(|d| (s(&d["apiVersion"]), s(&d["kind"])))
        .collect();
    kinds.sort_unstable();
    let want = gitops_kinds(gitops, unit);
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
    let namespace = gitops.settings.namespace.as_str();
    let repo = gitops.settings.repo_url.as_str();
    for d in &docs {
        let kind = s(&d["kind"]);
        let (name, ns) = (s(&d["metadata"]["name"]), s(&d["metadata"]["namespace"]));
        if name != unit.name {
            return Err(format!(
                "rendered {kind} `{name}`; it must be named `{}`",
                unit.name
            ));
        }
        if ns != namespace {
            return Err(format!(
                "rendered {kind} `{name}` in namespace `{ns}`; it must be in `{namespace}`"
            ));
        }
        let spec = &d["spec"];
        let fail = |field: &str, got: &serde_json::Value, want: &str| {
            Err(format!(
                "rendered {kind} `{name}` with {field} {got}; it must be {want:?}"
            ))
        };
        match kind.as_str() {
            "AppProject" => {
                let destinations: Vec<(String, String)> = spec["destinations"]
                    .as_array()
                    .map(|l| {
                        l.iter()
                            .map(|d| (s(&d["server"]), s(&d["namespace"])))
                            .collect()
                    })
                    .unwrap_or_default();
                let want: Vec<(String, String)> = unit
                    .namespaces
                    .iter()
                    .map(|n| (IN_CLUSTER_SERVER.to_owned(), n.to_string()))
                    .collect();
                let mut got = destinations.clone();
                got.sort();
                if got != want {
                    return Err(format!(
                        "rendered AppProject `{name}` whose destinations are not exactly {}'s namespaces on {IN_CLUSTER_SERVER} ({})",
                        unit.owner,
                        unit.namespaces.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", ")
                    ));
                }
                if spec["sourceRepos"] != serde_json::json!([repo]) {
                    return fail(
                        "spec.sourceRepos",
                        &spec["sourceRepos"],
                        &format!("[{repo}]"),
                    );
                }
            }
            "Application" => {
                if spec["project"] != unit.name.as_str() {
                    return fail("spec.project", &spec["project"], &unit.name);
                }
                if spec["source"]["path"] != unit.path.as_str() {
                    return fail("spec.source.path", &spec["source"]["path"], &unit.path);
                }
                if spec["source"]["repoURL"] != repo {
                    return fail("spec.source.repoURL", &spec["source"]["repoURL"], repo);
                }
            }
            "Kustomization" => {
                let path = format!("./{}", unit.path);
                if spec["path"] != path.as_str() {
                    return fail("spec.path", &spec["path"], &path);
                }
                if spec["sourceRef"]["name"] != gitops.root.name.as_str() {
                    return fail(
                        "spec.sourceRef.name",
                        &spec["sourceRef"]["name"],
                        &gitops.root.name,
                    );
                }
            }
            _ => {
                if spec["url"] != repo {
                    return fail("spec.url", &spec["url"], repo);
                }
            }
        }
    }
    Ok(docs)
}
