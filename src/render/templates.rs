//! The templates: the built-in defaults, a user's overrides, the minijinja environment, and the
//! YAML quoting every printed value goes through.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use minijinja::value::{Value, ValueKind};
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};

/// The template slots, and the defaults compiled into the binary (mirrored in `templates/`).
pub const DEFAULT_TEMPLATES: [(&str, &str); 13] = [
    (
        NAMESPACE_TEMPLATE,
        include_str!("../../templates/namespace.yaml.j2"),
    ),
    (
        NETWORKPOLICIES_TEMPLATE,
        include_str!("../../templates/networkpolicies.yaml.j2"),
    ),
    (
        SIDECAR_TEMPLATE,
        include_str!("../../templates/sidecar.yaml.j2"),
    ),
    (
        SERVICEENTRIES_TEMPLATE,
        include_str!("../../templates/serviceentries.yaml.j2"),
    ),
    (
        AUTHORIZATIONPOLICIES_TEMPLATE,
        include_str!("../../templates/authorizationpolicies.yaml.j2"),
    ),
    (
        PEERAUTHENTICATION_TEMPLATE,
        include_str!("../../templates/peerauthentication.yaml.j2"),
    ),
    (
        ROLEBINDINGS_TEMPLATE,
        include_str!("../../templates/rolebindings.yaml.j2"),
    ),
    (
        RESOURCEQUOTA_TEMPLATE,
        include_str!("../../templates/resourcequota.yaml.j2"),
    ),
    (
        LIMITRANGE_TEMPLATE,
        include_str!("../../templates/limitrange.yaml.j2"),
    ),
    (
        ARGOCD_ROOT_TEMPLATE,
        include_str!("../../templates/argocd-root.yaml.j2"),
    ),
    (
        ARGOCD_UNIT_TEMPLATE,
        include_str!("../../templates/argocd-unit.yaml.j2"),
    ),
    (
        FLUX_ROOT_TEMPLATE,
        include_str!("../../templates/flux-root.yaml.j2"),
    ),
    (
        FLUX_UNIT_TEMPLATE,
        include_str!("../../templates/flux-unit.yaml.j2"),
    ),
];
pub const NAMESPACE_TEMPLATE: &str = "namespace.yaml.j2";
pub const NETWORKPOLICIES_TEMPLATE: &str = "networkpolicies.yaml.j2";
pub const SIDECAR_TEMPLATE: &str = "sidecar.yaml.j2";
/// With `[mesh]`: the ServiceEntries of a namespace that reaches outside the cluster.
pub const SERVICEENTRIES_TEMPLATE: &str = "serviceentries.yaml.j2";
/// `[mesh] authorization = true`: the namespace's Istio AuthorizationPolicies.
pub const AUTHORIZATIONPOLICIES_TEMPLATE: &str = "authorizationpolicies.yaml.j2";
/// `[mesh] mtls`: the namespace's PeerAuthentication.
pub const PEERAUTHENTICATION_TEMPLATE: &str = "peerauthentication.yaml.j2";
/// `owners`, `editors`, `viewers`: the namespace's RoleBindings, in its `namespace.yaml` after the Namespace.
pub const ROLEBINDINGS_TEMPLATE: &str = "rolebindings.yaml.j2";
/// `quota`: the namespace's ResourceQuota, in its `namespace.yaml` after the RoleBindings.
pub const RESOURCEQUOTA_TEMPLATE: &str = "resourcequota.yaml.j2";
/// `container_defaults`: the namespace's LimitRange, last in its `namespace.yaml`.
pub const LIMITRANGE_TEMPLATE: &str = "limitrange.yaml.j2";
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

/// Instructions one template may run to render one namespace. The built-in templates need about
/// 40 per consumer of a shared namespace (so some 400,000 at 10,000 consumers); a template that
/// loops without end stops here, with an error, in a few seconds at most.
pub const FUEL: u64 = 20_000_000;
/// Bytes one template may write for one namespace (the built-in ones write some 300 KiB for a
/// shared namespace with 10,000 consumers; Kubernetes refuses objects over 1.5 MiB anyway).
pub const OUTPUT_BUDGET: usize = 16 << 20;
/// Bytes one template may hold allocated to render one namespace: a value that doubles in a
/// loop is stopped here, not by the operating system's out-of-memory killer (see
/// [`charge_allocation`]).
pub const ALLOCATION_BUDGET: usize = 256 << 20;
/// The largest template file read.
pub const TEMPLATE_FILE_LIMIT: u64 = 1 << 20;

thread_local! {
    /// What the template rendering on this thread may still allocate; `usize::MAX`: no template
    /// is rendering.
    static ALLOCATION_LEFT: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
}

/// Called by the binary's global allocator for every allocation: `false` when a template
/// rendering on this thread has used up [`ALLOCATION_BUDGET`]. (minijinja bounds instructions
/// with fuel, but not the size of the values a template builds.)
pub fn charge_allocation(size: usize) -> bool {
    ALLOCATION_LEFT
        .try_with(|left| {
            let l = left.get();
            if l == usize::MAX {
                true
            } else if size > l {
                false
            } else {
                left.set(l - size);
                true
            }
        })
        .unwrap_or(true)
}

/// Called by the binary's global allocator for every deallocation: what a rendering template
/// frees, it may allocate again (the budget bounds live memory, not the total allocated).
pub fn refund_allocation(size: usize) {
    let _ = ALLOCATION_LEFT.try_with(|left| {
        let l = left.get();
        if l != usize::MAX {
            left.set(l.saturating_add(size).min(usize::MAX - 1));
        }
    });
}

/// A writer that refuses to grow past [`OUTPUT_BUDGET`].
struct Budgeted {
    out: Vec<u8>,
    exceeded: bool,
}

impl std::io::Write for Budgeted {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.out.len() + buf.len() > OUTPUT_BUDGET {
            self.exceeded = true;
            return Err(std::io::Error::other("output budget exceeded"));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Renders `tmpl` within the [`FUEL`] (set on the environment), [`OUTPUT_BUDGET`] and
/// [`ALLOCATION_BUDGET`] bounds.
pub(super) fn render_bounded(
    tmpl: &minijinja::Template<'_, '_>,
    ctx: &Value,
) -> Result<String, minijinja::Error> {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            let _ = ALLOCATION_LEFT.try_with(|l| l.set(usize::MAX));
        }
    }
    let mut out = Budgeted {
        // Most files are a few KiB: grown from nothing, the buffer was copied a few times each.
        out: Vec::with_capacity(8 << 10),
        exceeded: false,
    };
    let result = {
        let _reset = Reset;
        let _ = ALLOCATION_LEFT.try_with(|l| l.set(ALLOCATION_BUDGET));
        tmpl.render_captured_to(ctx, &mut out).map(|_| ())
    };
    if out.exceeded {
        return Err(minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "the template wrote more than {} MiB for one namespace",
                OUTPUT_BUDGET >> 20
            ),
        ));
    }
    result?;
    String::from_utf8(out.out).map_err(|_| {
        minijinja::Error::new(
            ErrorKind::InvalidOperation,
            "the template wrote invalid UTF-8",
        )
    })
}

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
    pub(super) custom: bool,
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
            match read_template(&path) {
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

    /// Whether the template `name` is the built-in one (not replaced, or replaced by a copy of it).
    pub(super) fn is_builtin(&self, name: &str) -> bool {
        let builtin = DEFAULT_TEMPLATES.iter().find(|(n, _)| *n == name);
        match (self.sources.get(name), builtin) {
            (Some((_, src)), Some((_, default))) => src == default,
            _ => false,
        }
    }

    pub(super) fn origin(&self, name: &str) -> String {
        self.sources
            .get(name)
            .map_or_else(|| name.to_owned(), |(o, _)| o.clone())
    }

    pub(super) fn environment(&self) -> Result<Environment<'static>, Vec<TemplateError>> {
        let mut env = Environment::new();
        // A template that never ends is an error, not a hung CI job.
        env.set_fuel(Some(FUEL));
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
            write_yaml_value(out, value)
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

/// Reads a template file of the templates directory: a regular file, not a link (a link could
/// make any file of the machine, `/proc/self/environ` say, part of the output and of `--check`'s
/// diff in a CI log), of at most [`TEMPLATE_FILE_LIMIT`] bytes.
fn read_template(path: &Path) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        // O_NOFOLLOW: a link is refused by the open itself, with no window to swap it in.
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|e| {
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            std::io::Error::other(
                "is a symbolic link; templates are read only from regular files inside the templates directory",
            )
        } else {
            e
        }
    })?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("is not a regular file"));
    }
    if meta.len() > TEMPLATE_FILE_LIMIT {
        return Err(std::io::Error::other(format!(
            "is larger than {} KiB",
            TEMPLATE_FILE_LIMIT >> 10
        )));
    }
    let mut text = String::new();
    file.take(TEMPLATE_FILE_LIMIT + 1)
        .read_to_string(&mut text)?;
    Ok(text)
}

pub(super) fn describe(e: &minijinja::Error) -> String {
    let mut text = match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    };
    // An error inside an include or a macro is wrapped; the innermost one says what happened.
    let mut inner: &dyn std::error::Error = e;
    while let Some(source) = inner.source() {
        inner = source;
    }
    if !std::ptr::addr_eq(inner, e as &dyn std::error::Error) {
        text = format!("{text}: {inner}");
    }
    if inner
        .downcast_ref::<minijinja::Error>()
        .is_some_and(|i| i.kind() == ErrorKind::OutOfFuel)
        || e.kind() == ErrorKind::OutOfFuel
    {
        text.push_str(&format!(
            " (the template ran more than {FUEL} instructions for one namespace: a loop that never ends?)"
        ));
    }
    if let Some(line) = e.line() {
        text = format!("line {line}: {text}");
    }
    text
}

/// How a template prints a value: strings as YAML scalars that read back as the same string,
/// numbers and booleans as themselves, lists and maps as YAML flow collections.
pub fn yaml_value(value: &Value) -> Result<String, minijinja::Error> {
    let mut out = String::new();
    write_yaml_value(&mut out, value)?;
    Ok(out)
}

/// [`yaml_value`], written to `out` (the template's output: no string of its own per value).
fn write_yaml_value(out: &mut impl std::fmt::Write, value: &Value) -> Result<(), minijinja::Error> {
    let failed = |_| minijinja::Error::from(ErrorKind::WriteFailure);
    match value.kind() {
        ValueKind::String => {
            write_yaml_string(out, value.as_str().unwrap_or_default()).map_err(failed)
        }
        ValueKind::Number | ValueKind::Bool => write!(out, "{value}").map_err(failed),
        ValueKind::Seq | ValueKind::Iterable => {
            out.write_char('[').map_err(failed)?;
            for (i, item) in value.try_iter()?.enumerate() {
                if i > 0 {
                    out.write_str(", ").map_err(failed)?;
                }
                write_yaml_value(out, &item)?;
            }
            out.write_char(']').map_err(failed)
        }
        ValueKind::Map => {
            out.write_char('{').map_err(failed)?;
            for (i, key) in value.try_iter()?.enumerate() {
                if i > 0 {
                    out.write_str(", ").map_err(failed)?;
                }
                let item = value.get_item(&key)?;
                write_yaml_value(out, &key)?;
                out.write_str(": ").map_err(failed)?;
                write_yaml_value(out, &item)?;
            }
            out.write_char('}').map_err(failed)
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
    let mut out = String::with_capacity(s.len() + 2);
    let _ = write_yaml_string(&mut out, s);
    out
}

/// [`yaml_string`], written to `out`.
pub fn write_yaml_string(out: &mut impl std::fmt::Write, s: &str) -> std::fmt::Result {
    const WORDS: &[&str] = &["y", "n", "yes", "no", "true", "false", "on", "off", "null"];
    // A byte table: every label, name and quantity of a tree goes through here.
    const PLAIN: [bool; 256] = {
        let mut table = [false; 256];
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            table[b] = c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'/' | b'-');
            b += 1;
        }
        table
    };
    let plain = s.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
        && s.bytes().all(|c| PLAIN[c as usize])
        // The words are at most five letters long.
        && (s.len() > 5 || !WORDS.iter().any(|w| w.eq_ignore_ascii_case(s)));
    if plain {
        return out.write_str(s);
    }
    out.write_char('"')?;
    // Most quoted strings (quantities, addresses) are printable ASCII without a quote or a
    // backslash: printed whole, without looking at each character's escape.
    if s.bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
    {
        out.write_str(s)?;
        return out.write_char('"');
    }
    // Runs of characters printed as they are go out in one write.
    let mut run = 0;
    for (at, c) in s.char_indices() {
        let escaped = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\t' => "\\t",
            '\r' => "\\r",
            // C0 and C1 controls, DEL, the Unicode line separators YAML 1.1 breaks lines on, BOM.
            c if (c as u32) < 0x20
                || ('\u{7f}'..='\u{9f}').contains(&c)
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
                ) =>
            {
                ""
            }
            _ => continue,
        };
        out.write_str(&s[run..at])?;
        run = at + c.len_utf8();
        if escaped.is_empty() {
            write!(out, "\\u{:04X}", c as u32)?;
        } else {
            out.write_str(escaped)?;
        }
    }
    out.write_str(&s[run..])?;
    out.write_char('"')
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
    fn lists_and_maps_print_as_flow_collections_of_quoted_scalars() {
        let v = Value::from_serialize(serde_json::json!({"a": ["yes", 1, true], "b c": {}}));
        // Booleans print as minijinja shows them, `True`: a boolean in YAML 1.1 and 1.2 alike.
        assert_eq!(
            yaml_value(&v).unwrap(),
            "{a: [\"yes\", 1, True], \"b c\": {}}"
        );
        assert!(yaml_value(&Value::UNDEFINED).is_err());
    }

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(yaml_string("acme"), "acme");
        assert_eq!(yaml_string("yes"), "\"yes\"");
        assert_eq!(yaml_string("0123"), "\"0123\"");
        assert_eq!(yaml_string("acme/*"), "\"acme/*\"");
    }
}
