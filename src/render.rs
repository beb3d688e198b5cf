//! Stage 4, render: minijinja templates turn each namespace's intent into YAML documents, and each
//! document is parsed back and checked (apiVersion, kind, name, namespace) before anything is
//! written.
//!
//! Every value a template prints goes through [`yaml_value`]: a string is printed plain only when
//! YAML reads it back as that same string, and double-quoted otherwise, so no value (`yes`, `0123`,
//! `1.10`, `#`, `---`, a newline) can turn into YAML structure or another type.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use minijinja::value::{Value, ValueKind};
use minijinja::{context, AutoEscape, Environment, ErrorKind, UndefinedBehavior};
use serde::Deserialize;

use crate::intent::{GitOpsIntent, GitOpsUnit, Intent, NamespaceIntent, IN_CLUSTER_SERVER};
use crate::model::{GitOpsTool, NamespaceName};

/// The template slots, and the defaults compiled into the binary (mirrored in `templates/`).
pub const DEFAULT_TEMPLATES: [(&str, &str); 7] = [
    (
        NAMESPACE_TEMPLATE,
        include_str!("../templates/namespace.yaml.j2"),
    ),
    (
        NETWORKPOLICIES_TEMPLATE,
        include_str!("../templates/networkpolicies.yaml.j2"),
    ),
    (
        SIDECAR_TEMPLATE,
        include_str!("../templates/sidecar.yaml.j2"),
    ),
    (
        ARGOCD_ROOT_TEMPLATE,
        include_str!("../templates/argocd-root.yaml.j2"),
    ),
    (
        ARGOCD_UNIT_TEMPLATE,
        include_str!("../templates/argocd-unit.yaml.j2"),
    ),
    (
        FLUX_ROOT_TEMPLATE,
        include_str!("../templates/flux-root.yaml.j2"),
    ),
    (
        FLUX_UNIT_TEMPLATE,
        include_str!("../templates/flux-unit.yaml.j2"),
    ),
];
pub const NAMESPACE_TEMPLATE: &str = "namespace.yaml.j2";
pub const NETWORKPOLICIES_TEMPLATE: &str = "networkpolicies.yaml.j2";
pub const SIDECAR_TEMPLATE: &str = "sidecar.yaml.j2";
/// `[gitops] tool = "argocd"`: the AppProject and Application that sync output/gitops/ itself.
pub const ARGOCD_ROOT_TEMPLATE: &str = "argocd-root.yaml.j2";
/// `[gitops] tool = "argocd"`: an AppProject and an Application per tenant and shared directory.
pub const ARGOCD_UNIT_TEMPLATE: &str = "argocd-unit.yaml.j2";
/// `[gitops] tool = "flux"`: the GitRepository, and the Kustomization of output/gitops/ itself.
pub const FLUX_ROOT_TEMPLATE: &str = "flux-root.yaml.j2";
/// `[gitops] tool = "flux"`: a Kustomization per tenant and shared directory.
pub const FLUX_UNIT_TEMPLATE: &str = "flux-unit.yaml.j2";

/// A shared namespace's consumers are split into NetworkPolicies of at most this many namespace
/// names (about 25 KiB each), so that no object nears Kubernetes' 1.5 MiB limit at any scale.
pub const CONSUMERS_PER_POLICY: usize = 1000;

/// A problem with a template or with what it rendered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("template `{origin}`{}: {message}", namespace.as_ref().map(|n| format!(" (rendering namespace `{n}`)")).unwrap_or_default())]
pub struct TemplateError {
    /// Where the template came from: a file path, or `<built-in name>`.
    pub origin: String,
    pub namespace: Option<String>,
    pub message: String,
}

/// The templates in use: the built-in ones, each possibly replaced by a file of `--templates DIR`.
#[derive(Clone, Debug)]
pub struct Templates {
    /// name -> (origin for messages, source)
    sources: BTreeMap<String, (String, String)>,
    /// Whether any template comes from the user; their documents are then also checked against
    /// the strict schemas (the built-in templates are, in the tests).
    custom: bool,
}

impl Templates {
    pub fn builtin() -> Self {
        let sources = DEFAULT_TEMPLATES
            .iter()
            .map(|(name, src)| {
                (
                    name.to_string(),
                    (format!("<built-in {name}>"), src.to_string()),
                )
            })
            .collect();
        Self {
            sources,
            custom: false,
        }
    }

    /// The built-in templates, replaced file by file by the `*.j2` files of `dir`. Files named
    /// `_*.j2` are partials for `{% include %}` and `{% import %}`; any other unknown name is an
    /// error, since it is most likely a misspelt slot that would silently not apply.
    pub fn with_overrides(dir: &Path) -> Result<Self, Vec<TemplateError>> {
        let mut templates = Self::builtin();
        let entries = std::fs::read_dir(dir).map_err(|e| {
            vec![TemplateError {
                origin: dir.display().to_string(),
                namespace: None,
                message: format!("cannot read the templates directory: {e}"),
            }]
        })?;
        let mut errors = Vec::new();
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
                continue;
            };
            if !name.ends_with(".j2") {
                continue;
            }
            let origin = path.display().to_string();
            let known = DEFAULT_TEMPLATES.iter().any(|(n, _)| *n == name);
            if !known && !name.starts_with('_') {
                errors.push(TemplateError {
                    origin,
                    namespace: None,
                    message: format!(
                        "unknown template name; tenantc fills {} (name partials `_*.j2`)",
                        DEFAULT_TEMPLATES
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
                continue;
            }
            match std::fs::read_to_string(&path) {
                Ok(src) => {
                    templates.sources.insert(name, (origin, src));
                    templates.custom = true;
                }
                Err(e) => errors.push(TemplateError {
                    origin,
                    namespace: None,
                    message: format!("cannot read: {e}"),
                }),
            }
        }
        if errors.is_empty() {
            Ok(templates)
        } else {
            Err(errors)
        }
    }

    fn origin(&self, name: &str) -> String {
        self.sources
            .get(name)
            .map_or_else(|| name.to_owned(), |(o, _)| o.clone())
    }

    fn environment(&self) -> Result<Environment<'static>, Vec<TemplateError>> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        // A misspelt variable is an error, not an empty string in the output.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Any non-`None` mode makes macro output safe (it was escaped inside the macro already); the
        // formatter below does the actual YAML quoting.
        env.set_auto_escape_callback(|_| AutoEscape::Custom("yaml"));
        env.set_formatter(|out, _state, value| {
            if value.is_safe() {
                return write!(out, "{value}").map_err(|_| ErrorKind::WriteFailure.into());
            }
            let text = yaml_value(value)?;
            out.write_str(&text)
                .map_err(|_| ErrorKind::WriteFailure.into())
        });
        let mut errors = Vec::new();
        for (name, (origin, src)) in &self.sources {
            if let Err(e) = env.add_template_owned(name.clone(), src.clone()) {
                errors.push(TemplateError {
                    origin: origin.clone(),
                    namespace: None,
                    message: describe(&e),
                });
            }
        }
        if errors.is_empty() {
            Ok(env)
        } else {
            Err(errors)
        }
    }
}

fn describe(e: &minijinja::Error) -> String {
    let mut text = match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    };
    if let Some(line) = e.line() {
        text = format!("line {line}: {text}");
    }
    text
}

/// What one namespace renders to: the text of each file (without the generated-file header).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub namespace: String,
    pub networkpolicies: String,
    pub sidecar: Option<String>,
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
        let text = tmpl.render(&ctx).map_err(|e| fail(describe(&e)))?;
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
        sidecar: match ns.mesh {
            Some(_) => Some(run(SIDECAR_TEMPLATE, Slot::Sidecar)?),
            None => None,
        },
    })
}

/// Trailing spaces and blank lines at either end carry nothing and would only make diffs noisy.
/// The result keeps room for the generated-file header that emit puts in front, so that it grows
/// in place instead of being copied (the header is about 100 bytes with a usual file name).
fn normalize(text: &str) -> String {
    const HEADER_ROOM: usize = 256;
    let mut out = String::with_capacity(text.len() + HEADER_ROOM);
    for line in text.trim_matches('\n').lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Namespace,
    NetworkPolicies,
    Sidecar,
}

#[derive(Deserialize)]
struct Head {
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
    kind: Option<String>,
    metadata: Option<Meta>,
}

#[derive(Deserialize)]
struct Meta {
    name: Option<String>,
    namespace: Option<String>,
}

/// Checks that `text` holds exactly the documents its slot must produce; returns them when `keep`
/// is set. Without `keep`, each document is still parsed in full (so invalid YAML anywhere in it
/// fails), but only into its head: building a whole `Value` tree was most of the render time.
fn check_documents(
    text: &str,
    slot: Slot,
    ns: &str,
    keep: bool,
) -> Result<Vec<serde_yaml::Value>, String> {
    if !keep {
        let heads: Result<Vec<Option<Head>>, _> = serde_yaml::Deserializer::from_str(text)
            .map(Option::<Head>::deserialize)
            .collect();
        return match heads {
            Ok(heads) => {
                check_heads(heads.into_iter().flatten().collect(), slot, ns).map(|()| Vec::new())
            }
            // Rare: the whole-value path below words the error best.
            Err(_) => check_documents(text, slot, ns, true),
        };
    }
    let mut heads = Vec::new();
    let mut docs = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let value = serde_yaml::Value::deserialize(doc)
            .map_err(|e| format!("rendered invalid YAML: {e}"))?;
        if value.is_null() {
            continue; // an empty document, e.g. after a trailing `---`
        }
        let head = Head::deserialize(&value)
            .map_err(|e| format!("rendered a document that is not a Kubernetes object: {e}"))?;
        heads.push(head);
        docs.push(value);
    }
    check_heads(heads, slot, ns)?;
    Ok(docs)
}

fn check_heads(heads: Vec<Head>, slot: Slot, ns: &str) -> Result<(), String> {
    let (api, kind, want_ns, count) = match slot {
        Slot::Namespace => ("v1", "Namespace", None, Some(1)),
        Slot::NetworkPolicies => ("networking.k8s.io/v1", "NetworkPolicy", Some(ns), None),
        Slot::Sidecar => ("networking.istio.io/v1", "Sidecar", Some(ns), Some(1)),
    };
    if let Some(n) = count {
        if heads.len() != n {
            return Err(format!(
                "must render exactly {n} {kind} document, rendered {}",
                heads.len()
            ));
        }
    } else if heads.is_empty() {
        return Err(format!(
            "rendered no {kind}: at least a default deny is expected"
        ));
    }
    let mut names = BTreeSet::new();
    for h in &heads {
        let got_kind = h.kind.as_deref().unwrap_or("<none>");
        let got_api = h.api_version.as_deref().unwrap_or("<none>");
        if got_kind != kind || got_api != api {
            return Err(format!(
                "rendered `{got_api}` `{got_kind}` where `{api}` `{kind}` belongs"
            ));
        }
        let meta = h
            .metadata
            .as_ref()
            .ok_or_else(|| format!("rendered a {kind} without metadata"))?;
        let name = meta.name.as_deref().unwrap_or("");
        let want_name = match slot {
            Slot::Namespace => Some(ns),
            Slot::Sidecar => Some("default"),
            Slot::NetworkPolicies => None,
        };
        if let Some(want) = want_name {
            if name != want {
                return Err(format!(
                    "rendered a {kind} named `{name}`; this slot's must be named `{want}`"
                ));
            }
        } else if NamespaceName::new(name).is_err() && !is_dns_subdomain(name) {
            return Err(format!("rendered a {kind} with the invalid name `{name}`"));
        }
        if meta.namespace.as_deref() != want_ns {
            return Err(match want_ns {
                Some(w) => format!(
                    "rendered {kind} `{name}` in namespace `{}`; it must be in `{w}`",
                    meta.namespace.as_deref().unwrap_or("<none>")
                ),
                None => format!("rendered a {kind} with metadata.namespace; a Namespace has none"),
            });
        }
        if !names.insert(name.to_owned()) {
            return Err(format!("rendered two {kind} objects named `{name}`"));
        }
    }
    Ok(())
}

/// The strict schemas of the kinds tenantc emits: Kubernetes 1.32's Namespace and NetworkPolicy,
/// Istio's Sidecar CRD, with unknown fields rejected as `kubectl apply --validate=strict` would.
struct KubeSchemas {
    namespace: jsonschema::Validator,
    networkpolicy: jsonschema::Validator,
    sidecar: jsonschema::Validator,
}

fn kube_schemas() -> Result<&'static KubeSchemas, String> {
    static SCHEMAS: std::sync::OnceLock<Result<KubeSchemas, String>> = std::sync::OnceLock::new();
    let compile = |text: &str| -> Result<jsonschema::Validator, String> {
        let schema: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        jsonschema::validator_for(&schema).map_err(|e| e.to_string())
    };
    SCHEMAS
        .get_or_init(|| {
            Ok(KubeSchemas {
                namespace: compile(include_str!("../tests/data/schemas/namespace-v1.json"))?,
                networkpolicy: compile(include_str!(
                    "../tests/data/schemas/networkpolicy-networking.k8s.io-v1.json"
                ))?,
                sidecar: compile(include_str!(
                    "../tests/data/schemas/sidecar-networking.istio.io-v1.json"
                ))?,
            })
        })
        .as_ref()
        .map_err(|e| format!("the built-in schemas do not compile: {e}"))
}

/// Checks a document a user template rendered against the strict schema of its kind.
fn check_schema(doc: &serde_yaml::Value, slot: Slot) -> Result<(), String> {
    let schemas = kube_schemas()?;
    let validator = match slot {
        Slot::Namespace => &schemas.namespace,
        Slot::NetworkPolicies => &schemas.networkpolicy,
        Slot::Sidecar => &schemas.sidecar,
    };
    let json = serde_json::to_value(doc)
        .map_err(|e| format!("rendered a document JSON cannot hold: {e}"))?;
    let errors = schema_errors(validator, &json);
    if errors.is_empty() {
        Ok(())
    } else {
        let name = json["metadata"]["name"].as_str().unwrap_or("?");
        Err(format!(
            "rendered `{name}`, which Kubernetes would reject: {}",
            errors.join("; ")
        ))
    }
}

/// What `[gitops]` renders to: the root's documents, and each unit's in the order of
/// [`GitOpsIntent::units`] (the text of each file, without the generated-file header).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedGitOps {
    pub root: String,
    /// Each group's objects, in the order of [`GitOpsIntent::groups`].
    pub groups: Vec<(GitOpsUnit, String)>,
    pub units: Vec<(GitOpsUnit, String)>,
}

/// The `apiVersion`s of the GitOps objects tenantc writes.
pub const ARGOCD_API: &str = "argoproj.io/v1alpha1";
pub const FLUX_KUSTOMIZE_API: &str = "kustomize.toolkit.fluxcd.io/v1";
pub const FLUX_SOURCE_API: &str = "source.toolkit.fluxcd.io/v1";

/// Renders the GitOps objects, on every core, each checked like the namespaces' documents: the
/// right kinds, names and namespace, and the confinement they exist for (an AppProject's
/// destinations are exactly its unit's namespaces; each object points at its own directory).
pub fn render_gitops(
    gitops: &GitOpsIntent,
    templates: &Templates,
) -> Result<RenderedGitOps, Vec<TemplateError>> {
    let env = templates.environment()?;
    // Serialized once: the per-unit context shares it (a Value clone is a reference count).
    let settings = Value::from_serialize(GitOpsContext::of(gitops));
    let (root_template, unit_template) = match gitops.settings.tool {
        GitOpsTool::ArgoCd => (ARGOCD_ROOT_TEMPLATE, ARGOCD_UNIT_TEMPLATE),
        GitOpsTool::Flux => (FLUX_ROOT_TEMPLATE, FLUX_UNIT_TEMPLATE),
    };
    let run = |template: &str, unit: &GitOpsUnit| -> Result<String, TemplateError> {
        let fail = |message: String| TemplateError {
            origin: templates.origin(template),
            namespace: None,
            message: format!("for {} `{}`: {message}", unit.role, unit.owner),
        };
        let ctx = context! { unit => Value::from_serialize(unit), gitops => settings.clone() };
        let tmpl = env.get_template(template).map_err(|e| fail(describe(&e)))?;
        let text = normalize(&tmpl.render(&ctx).map_err(|e| fail(describe(&e)))?);
        let docs = check_gitops_documents(&text, gitops, unit).map_err(fail)?;
        if templates.custom {
            for doc in &docs {
                check_crd_schema(doc).map_err(fail)?;
            }
        }
        Ok(text)
    };
    let mut errors = Vec::new();
    let root = run(root_template, &gitops.root)
        .map_err(|e| errors.push(e))
        .ok();
    let units: Vec<_> = crate::par::map(&gitops.units, |u| {
        run(unit_template, u).map(|t| (u.clone(), t))
    })
    .into_iter()
    .filter_map(|r| r.map_err(|e| errors.push(e)).ok())
    .collect();
    // A group's object does what the root's does one level down: with Argo CD an AppProject and
    // Application confined to the controller's namespace (the root template's shape); with Flux
    // a Kustomization reading the root's GitRepository (the unit template's shape).
    let group_template = match gitops.settings.tool {
        GitOpsTool::ArgoCd => root_template,
        GitOpsTool::Flux => unit_template,
    };
    let groups: Vec<_> = gitops
        .groups
        .iter()
        .filter_map(|g| {
            run(group_template, g)
                .map(|t| (g.clone(), t))
                .map_err(|e| errors.push(e))
                .ok()
        })
        .collect();
    // A broken template fails every unit alike: name a few, count the rest.
    const SHOWN: usize = 10;
    if errors.len() > SHOWN {
        let more = errors.len() - SHOWN;
        errors.truncate(SHOWN);
        errors.push(TemplateError {
            origin: templates.origin(unit_template),
            namespace: None,
            message: format!("… and {more} more tenant, shared or group directories"),
        });
    }
    match root {
        Some(root) if errors.is_empty() => Ok(RenderedGitOps {
            root,
            groups,
            units,
        }),
        _ => Err(errors),
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

/// The openAPIV3Schema of a CRD (as vendored in tests/data/schemas), made strict the way
/// `kubectl apply --validate=strict` treats the object: an unknown field is an error wherever the
/// schema lists the fields and does not preserve unknown ones; `metadata` is Kubernetes' strict
/// ObjectMeta, and `apiVersion` and `kind` must be the CRD's.
pub fn strict_crd_schema(
    openapi: &serde_json::Value,
    api_version: &str,
    kind: &str,
) -> serde_json::Value {
    fn strict(node: &mut serde_json::Value) {
        match node {
            serde_json::Value::Object(map) => {
                let preserve = map.get("x-kubernetes-preserve-unknown-fields")
                    == Some(&serde_json::Value::Bool(true));
                if map.contains_key("properties")
                    && !map.contains_key("additionalProperties")
                    && !preserve
                {
                    map.insert("additionalProperties".into(), false.into());
                }
                map.values_mut().for_each(strict);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strict),
            _ => {}
        }
    }
    static META: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    let meta = META.get_or_init(|| {
        serde_json::from_str::<serde_json::Value>(include_str!(
            "../tests/data/schemas/namespace-v1.json"
        ))
        .map(|ns| ns["properties"]["metadata"].clone())
        .unwrap_or_default()
    });
    let mut schema = openapi.clone();
    strict(&mut schema);
    schema["properties"]["metadata"] = meta.clone();
    schema["properties"]["apiVersion"] =
        serde_json::json!({ "type": "string", "const": api_version });
    schema["properties"]["kind"] = serde_json::json!({ "type": "string", "const": kind });
    schema["required"] = serde_json::json!(["apiVersion", "kind", "metadata", "spec"]);
    schema
}

/// The strict schemas of the GitOps kinds, by kind.
fn crd_schemas() -> Result<&'static BTreeMap<&'static str, jsonschema::Validator>, String> {
    static SCHEMAS: std::sync::OnceLock<
        Result<BTreeMap<&'static str, jsonschema::Validator>, String>,
    > = std::sync::OnceLock::new();
    SCHEMAS
        .get_or_init(|| {
            let crds = [
                (
                    ARGOCD_API,
                    "AppProject",
                    include_str!("../tests/data/schemas/appproject-argoproj.io-v1alpha1.json"),
                ),
                (
                    ARGOCD_API,
                    "Application",
                    include_str!("../tests/data/schemas/application-argoproj.io-v1alpha1.json"),
                ),
                (
                    FLUX_KUSTOMIZE_API,
                    "Kustomization",
                    include_str!(
                        "../tests/data/schemas/kustomization-kustomize.toolkit.fluxcd.io-v1.json"
                    ),
                ),
                (
                    FLUX_SOURCE_API,
                    "GitRepository",
                    include_str!(
                        "../tests/data/schemas/gitrepository-source.toolkit.fluxcd.io-v1.json"
                    ),
                ),
            ];
            let mut out = BTreeMap::new();
            for (api, kind, text) in crds {
                let openapi: serde_json::Value =
                    serde_json::from_str(text).map_err(|e| e.to_string())?;
                let schema = strict_crd_schema(&openapi, api, kind);
                out.insert(
                    kind,
                    jsonschema::validator_for(&schema).map_err(|e| e.to_string())?,
                );
            }
            Ok(out)
        })
        .as_ref()
        .map_err(|e| format!("the built-in CRD schemas do not compile: {e}"))
}

/// The first few ways `doc` breaks the schema, each with the JSON pointer where it does.
fn schema_errors(validator: &jsonschema::Validator, doc: &serde_json::Value) -> Vec<String> {
    validator
        .iter_errors(doc)
        .take(5)
        .map(|e| {
            let at = e.instance_path.to_string();
            format!("{} {e}", if at.is_empty() { "/" } else { at.as_str() })
        })
        .collect()
}

/// Checks a GitOps document a user template rendered against the strict schema of its CRD.
fn check_crd_schema(doc: &serde_json::Value) -> Result<(), String> {
    let kind = doc["kind"].as_str().unwrap_or_default();
    let Some(validator) = crd_schemas()?.get(kind) else {
        return Err(format!("rendered the unexpected kind `{kind}`"));
    };
    let errors = schema_errors(validator, doc);
    if errors.is_empty() {
        Ok(())
    } else {
        let name = doc["metadata"]["name"].as_str().unwrap_or("?");
        Err(format!(
            "rendered {kind} `{name}`, which Kubernetes would reject: {}",
            errors.join("; ")
        ))
    }
}

fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(|p| NamespaceName::new(p).is_ok())
}

/// How a template prints a value: strings as YAML scalars that read back as the same string,
/// numbers and booleans as themselves, lists and maps as YAML flow collections.
pub fn yaml_value(value: &Value) -> Result<String, minijinja::Error> {
    match value.kind() {
        ValueKind::String => Ok(yaml_string(value.as_str().unwrap_or_default())),
        ValueKind::Number | ValueKind::Bool => Ok(value.to_string()),
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Result<Vec<String>, _> = value.try_iter()?.map(|v| yaml_value(&v)).collect();
            Ok(format!("[{}]", items?.join(", ")))
        }
        ValueKind::Map => {
            let mut parts = Vec::new();
            for key in value.try_iter()? {
                let item = value.get_item(&key)?;
                parts.push(format!("{}: {}", yaml_value(&key)?, yaml_value(&item)?));
            }
            Ok(format!("{{{}}}", parts.join(", ")))
        }
        _ => Err(minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "cannot print {} into YAML; test it with `if` first",
                value.kind()
            ),
        )),
    }
}

/// A YAML scalar that reads back as exactly `s`: plain when that is unambiguous in both YAML 1.1
/// and 1.2 (a letter, then letters, digits, `.`, `_`, `/`, `-`; no boolean or null word), and
/// double-quoted otherwise, escaping what YAML does not allow raw.
pub fn yaml_string(s: &str) -> String {
    const WORDS: &[&str] = &["y", "n", "yes", "no", "true", "false", "on", "off", "null"];
    let plain = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'))
        && !WORDS.contains(&s.to_ascii_lowercase().as_str());
    if plain {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            // C0 and C1 controls, DEL, the Unicode line separators YAML 1.1 breaks lines on, BOM.
            c if (c as u32) < 0x20
                || ('\u{7f}'..='\u{9f}').contains(&c)
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
                ) =>
            {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_read_back_unchanged() {
        let tricky = [
            "yes",
            "No",
            "ON",
            "off",
            "null",
            "~",
            "0123",
            "1.10",
            "1e3",
            "0x1F",
            "",
            " ",
            "a: b",
            "- x",
            "#c",
            "a #b",
            "---",
            "...",
            "'q'",
            "\"dq\"",
            "line\nbreak",
            "tab\t",
            "back\\slash",
            "{a}",
            "[a]",
            "*ref",
            "&anchor",
            "!tag",
            "%x",
            "@x",
            "`x",
            "12:30",
            ".inf",
            "-.inf",
            ".nan",
            "é",
            "\u{85}",
            "\u{2028}",
            "\u{7f}",
            "true",
            "y",
            "plain-value",
            "app.kubernetes.io/name",
        ];
        for s in tricky {
            let yaml = format!("k: {}\n", yaml_string(s));
            let v: serde_yaml::Value =
                serde_yaml::from_str(&yaml).unwrap_or_else(|e| panic!("{s:?}: {e}\n{yaml}"));
            assert_eq!(v["k"].as_str(), Some(s), "{s:?} came back as {:?}", v["k"]);
        }
    }

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(yaml_string("acme"), "acme");
        assert_eq!(yaml_string("yes"), "\"yes\"");
        assert_eq!(yaml_string("0123"), "\"0123\"");
        assert_eq!(yaml_string("acme/*"), "\"acme/*\"");
    }

    #[test]
    fn slot_checks() {
        for keep in [false, true] {
            let check = |text: &str, slot, name| check_documents(text, slot, name, keep);
            let ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: acme\n";
            assert!(check(ns, Slot::Namespace, "acme").is_ok());
            assert_eq!(
                check(ns, Slot::Namespace, "acme").unwrap().len(),
                usize::from(keep)
            );
            assert!(check(ns, Slot::Namespace, "other")
                .unwrap_err()
                .contains("named `acme`"));
            assert!(check(ns, Slot::Sidecar, "acme")
                .unwrap_err()
                .contains("where"));
            assert!(check("a: [", Slot::Namespace, "acme")
                .unwrap_err()
                .contains("invalid YAML"));
            let two = format!("{ns}---\n{ns}");
            assert!(check(&two, Slot::Namespace, "acme")
                .unwrap_err()
                .contains("exactly 1"));
            // An empty document (a trailing `---`) is skipped; a broken one later in the text fails.
            assert!(check(&format!("{ns}---\n"), Slot::Namespace, "acme").is_ok());
            let broken = format!("{ns}spec: {{a: [}}\n");
            assert!(check(&broken, Slot::Namespace, "acme")
                .unwrap_err()
                .contains("invalid YAML"));
        }
    }
}
