//! Stage 4, render: minijinja templates turn each namespace's intent into YAML documents, and each
//! document is parsed back and checked (apiVersion, kind, name, namespace) before anything is
//! written.
//!
//! Every value a template prints goes through [`yaml_value`]: a string is printed plain only when
//! YAML reads it back as that same string, and double-quoted otherwise, so no value (`yes`, `0123`,
//! `1.10`, `#`, `---`, a newline) can turn into YAML structure or another type.

pub mod check;
pub mod gitops;
mod native;
pub mod shared;
pub mod templates;

use minijinja::context;
use minijinja::value::Value;
use minijinja::Environment;

use crate::intent::{Kind, NamespaceIntent};
use crate::model::NamespaceName;
pub use check::strict_crd_schema;
use check::{check_documents, check_schema};
pub use gitops::{GitOpsObject, GitOpsRenderer, ARGOCD_API, FLUX_KUSTOMIZE_API, FLUX_SOURCE_API};
use templates::describe;
pub use templates::{charge_allocation, refund_allocation, ALLOCATION_BUDGET, FUEL, OUTPUT_BUDGET};
pub use templates::{
    yaml_string, yaml_value, TemplateError, Templates, ARGOCD_ROOT_TEMPLATE, ARGOCD_UNIT_TEMPLATE,
    AUTHORIZATIONPOLICIES_TEMPLATE, CONSUMERS_PER_POLICY, DEFAULT_TEMPLATES, FLUX_ROOT_TEMPLATE,
    FLUX_UNIT_TEMPLATE, LIMITRANGE_TEMPLATE, NAMESPACE_TEMPLATE, NETWORKPOLICIES_TEMPLATE,
    PEERAUTHENTICATION_TEMPLATE, RESOURCEQUOTA_TEMPLATE, ROLEBINDINGS_TEMPLATE,
    SERVICEENTRIES_TEMPLATE, SIDECAR_TEMPLATE,
};

/// A template slot of a namespace's directory: which template renders it, what it must hold and
/// the file it goes into. Each part has a file of its own, except the access objects: the
/// RoleBindings, the ResourceQuota and the LimitRange follow the Namespace in `namespace.yaml`
/// (each still renders from its own template), the namespace and what governs who may use it
/// and how much. Every command's cost follows the number of files: three more small files per
/// namespace made a tree 57% larger in files, one more (`access.yaml`) 19%, and a fresh compile
/// 1.36x slower, most of it the file system creating them (bench/RESULTS.md, issue 21).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Part {
    Namespace,
    NetworkPolicies,
    ServiceEntries,
    Sidecar,
    /// With `[mesh] authorization = true`.
    AuthorizationPolicies,
    /// With `[mesh] mtls`.
    PeerAuthentication,
    /// With `owners`, `editors` or `viewers`.
    RoleBindings,
    /// With `quota`.
    ResourceQuota,
    /// With `container_defaults`.
    LimitRange,
}

impl Part {
    pub const ALL: [Part; 9] = [
        Part::Namespace,
        Part::NetworkPolicies,
        Part::ServiceEntries,
        Part::Sidecar,
        Part::AuthorizationPolicies,
        Part::PeerAuthentication,
        Part::RoleBindings,
        Part::ResourceQuota,
        Part::LimitRange,
    ];

    /// The parts `ns` has, in the order of its kustomization.
    pub fn of(ns: &NamespaceIntent) -> Vec<Part> {
        ns.kinds().into_iter().map(Part::holding).collect()
    }

    /// The files of `parts`, each once, in the order of their first part: the order of the
    /// kustomization.
    pub fn files(parts: &[Part]) -> Vec<&'static str> {
        let mut files: Vec<&'static str> = Vec::with_capacity(parts.len());
        for part in parts {
            if !files.contains(&part.file()) {
                files.push(part.file());
            }
        }
        files
    }

    /// The file that holds the objects of `kind`.
    pub fn holding(kind: Kind) -> Part {
        match kind {
            Kind::Namespace => Part::Namespace,
            Kind::NetworkPolicy => Part::NetworkPolicies,
            Kind::ServiceEntry => Part::ServiceEntries,
            Kind::Sidecar => Part::Sidecar,
            Kind::AuthorizationPolicy => Part::AuthorizationPolicies,
            Kind::PeerAuthentication => Part::PeerAuthentication,
            Kind::RoleBinding => Part::RoleBindings,
            Kind::ResourceQuota => Part::ResourceQuota,
            Kind::LimitRange => Part::LimitRange,
        }
    }

    pub fn file(self) -> &'static str {
        match self {
            Part::Namespace => NAMESPACE_FILE,
            Part::NetworkPolicies => "networkpolicies.yaml",
            Part::ServiceEntries => "serviceentries.yaml",
            Part::Sidecar => "sidecar.yaml",
            Part::AuthorizationPolicies => "authorizationpolicies.yaml",
            Part::PeerAuthentication => "peerauthentication.yaml",
            Part::RoleBindings | Part::ResourceQuota | Part::LimitRange => NAMESPACE_FILE,
        }
    }

    fn template(self) -> &'static str {
        match self {
            Part::Namespace => NAMESPACE_TEMPLATE,
            Part::NetworkPolicies => NETWORKPOLICIES_TEMPLATE,
            Part::ServiceEntries => SERVICEENTRIES_TEMPLATE,
            Part::Sidecar => SIDECAR_TEMPLATE,
            Part::AuthorizationPolicies => AUTHORIZATIONPOLICIES_TEMPLATE,
            Part::PeerAuthentication => PEERAUTHENTICATION_TEMPLATE,
            Part::RoleBindings => ROLEBINDINGS_TEMPLATE,
            Part::ResourceQuota => RESOURCEQUOTA_TEMPLATE,
            Part::LimitRange => LIMITRANGE_TEMPLATE,
        }
    }
}

/// The file of a namespace's Namespace, then its RoleBindings, ResourceQuota and LimitRange.
pub const NAMESPACE_FILE: &str = "namespace.yaml";

/// The templates, compiled once, rendering one namespace at a time (on any thread).
pub struct Renderer<'t> {
    env: Environment<'static>,
    templates: &'t Templates,
    /// The parts whose template is the built-in one, rendered by [`native`].
    native: Vec<Part>,
}

impl<'t> Renderer<'t> {
    pub fn new(templates: &'t Templates) -> Result<Self, Vec<TemplateError>> {
        let native = Part::ALL
            .into_iter()
            .filter(|p| templates.is_builtin(p.template()))
            .collect();
        Ok(Self {
            env: templates.environment()?,
            templates,
            native,
        })
    }

    /// The text of each of `ns`'s files ([`Part::files`] of [`Part::of`]), without the
    /// generated-file header. Parts that share a file are rendered and checked one by one and
    /// joined as the documents of one YAML stream (`---` between them).
    ///
    /// What a user's template renders is parsed back: each document must be what its part
    /// holds (apiVersion, kind, name, namespace) and valid against the strict schema of its kind.
    /// The built-in templates' output is proven by the tests instead (every test run, a debug
    /// build, parses it back, and renders it through minijinja too, to the same bytes; the
    /// property tests feed them hostile values): parsing back every document was the largest
    /// cost of a no-op compile, and the template engine the next.
    pub fn namespace(
        &self,
        ns: &NamespaceIntent,
    ) -> Result<Vec<(&'static str, String)>, TemplateError> {
        let consumers: Vec<&NamespaceName> = ns.consumers.iter().collect();
        let chunks: Vec<native::Chunk<'_>> = consumers.chunks(CONSUMERS_PER_POLICY).collect();
        let ctx = std::cell::OnceCell::new();
        let ctx = || {
            ctx.get_or_init(|| {
                context! { ns => Value::from_serialize(ns), consumer_chunks => Value::from_serialize(&chunks) }
            })
        };
        let name = ns.name.as_str();
        let run = |part: Part| -> Result<(Part, String), TemplateError> {
            let fail = |message: String| TemplateError {
                origin: self.templates.origin(part.template()),
                namespace: Some(name.to_owned()),
                message,
            };
            let native = self
                .native
                .contains(&part)
                .then(|| native::render(part, ns, &chunks));
            let text = native_or_engine(
                native,
                || self.through_engine(part, ctx()),
                || format!("{} for `{name}`", part.file()),
            )
            .map_err(fail)?;
            if self.templates.custom || cfg!(debug_assertions) {
                let docs =
                    check_documents(&text, part, name, self.templates.custom).map_err(fail)?;
                for doc in &docs {
                    check_schema(doc, part).map_err(fail)?;
                }
            }
            Ok((part, text))
        };
        let mut files: Vec<(&'static str, String)> = Vec::new();
        for part in Part::of(ns) {
            let (part, text) = run(part)?;
            match files.iter_mut().find(|(file, _)| *file == part.file()) {
                Some((_, joined)) => {
                    if !text.is_empty() {
                        if !joined.is_empty() {
                            joined.push_str("---\n");
                        }
                        joined.push_str(&text);
                    }
                }
                None => files.push((part.file(), text)),
            }
        }
        Ok(files)
    }

    /// `part` rendered by minijinja from its template, normalized.
    fn through_engine(&self, part: Part, ctx: &Value) -> Result<String, String> {
        let tmpl = self
            .env
            .get_template(part.template())
            .map_err(|e| describe(&e))?;
        let text = templates::render_bounded(&tmpl, ctx).map_err(|e| describe(&e))?;
        Ok(normalize(&text))
    }
}

/// The text of the built-in template's Rust twin (`native`, when it applies), else what
/// minijinja renders (`engine`). Debug builds render both and panic with a diff, naming `what`,
/// on the first byte that differs: the template is the definition of the output.
fn native_or_engine(
    native: Option<String>,
    engine: impl FnOnce() -> Result<String, String>,
    what: impl FnOnce() -> String,
) -> Result<String, String> {
    let Some(text) = native else {
        return engine();
    };
    if cfg!(debug_assertions) {
        let engine = engine()?;
        if engine != text {
            let diff = similar::TextDiff::from_lines(&engine, &text)
                .unified_diff()
                .header("minijinja", "native")
                .to_string();
            panic!(
                "{}: the Rust rendering differs from the template's\n{diff}",
                what()
            );
        }
    }
    Ok(text)
}

/// Checks rendered text as a user's template's is checked: every document parsed back, each what
/// `part` must hold. For tests of the built-in templates.
pub fn check_rendered(text: &str, part: Part, ns: &str) -> Result<(), String> {
    for doc in check_documents(text, part, ns, true)? {
        check_schema(&doc, part)?;
    }
    Ok(())
}

/// Trailing spaces and blank lines at either end carry nothing and would only make diffs noisy.
/// The result keeps [`HEADER_ROOM`].
pub(super) fn normalize(text: &str) -> String {
    let text = text.trim_matches('\n');
    if text.is_empty() {
        return String::with_capacity(HEADER_ROOM);
    }
    if is_normal(text) {
        // What the built-in templates write: nothing to trim, copied at once.
        let mut out = with_header_room(text);
        out.push('\n');
        return out;
    }
    let mut out = String::with_capacity(text.len() + 1 + HEADER_ROOM);
    for line in text.lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Room for the generated-file header emit puts in front, so that a file's text grows in place
/// instead of being copied (the header is about 100 bytes with a usual file name).
const HEADER_ROOM: usize = 256;

/// A copy of `text` with [`HEADER_ROOM`] (and one more byte) to spare.
fn with_header_room(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 1 + HEADER_ROOM);
    out.push_str(text);
    out
}

/// Whether `text` (without newlines at either end) has no line to trim: ASCII, without a space
/// or tab before a newline or at its end, and without the rarer whitespace. One pass without
/// branches, which the compiler vectorizes.
fn is_normal(text: &str) -> bool {
    let bytes = text.as_bytes();
    let Some(&last) = bytes.last() else {
        return true;
    };
    let mut odd = u8::from(matches!(last, b' ' | b'\t' | b'\r' | 0x0b | 0x0c)) | (last & 0x80);
    for (&c, &next) in bytes.iter().zip(&bytes[1..]) {
        let rare = (c == b'\r') | (c == 0x0b) | (c == 0x0c);
        let trailing = (next == b'\n') & ((c == b' ') | (c == b'\t'));
        odd |= (c & 0x80) | u8::from(rare | trailing);
    }
    odd == 0
}

#[cfg(test)]
mod tests {
    use super::normalize;

    /// What normalize must do, line by line: the definition its fast path is checked against.
    fn by_line(text: &str) -> String {
        text.trim_matches('\n')
            .lines()
            .map(|l| format!("{}\n", l.trim_end()))
            .collect()
    }

    #[test]
    fn normalize_trims_line_ends_and_blank_ends_only() {
        let cases = [
            "",
            "\n\n",
            "a",
            "a\nb",
            "\n\na: 1\n  b: 2\n\n\n",
            "a \nb",
            "a\t\nb",
            "a\r\nb\r\n",
            "a\nb ",
            "a\x0b\nb\x0c",
            "x:\u{a0}\ny",
            "é \nb",
            "  indented\n\n  kept\n",
            "a\n \n\nb",
            "\r",
            "a\n\x0c",
        ];
        for text in cases {
            assert_eq!(normalize(text), by_line(text), "{text:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn normalize_is_the_line_by_line_definition(text in "[ab: \t\r\n\u{a0}\u{2028}é]{0,40}") {
            proptest::prop_assert_eq!(normalize(&text), by_line(&text));
        }
    }
}
