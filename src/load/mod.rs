//! Stage 1, load: read tenants.toml into raw, span-carrying structures.
//!
//! The loader walks the TOML tree itself instead of using `serde` derive, so that it can report
//! *every* syntax error, unknown key and wrong type in one run, each with its exact span and the
//! closest known key, rather than stopping at the first one as serde does.

mod document;
pub mod keys;
mod raw;
mod simple;
mod tables;
mod values;

use crate::diag::Diagnostic;

pub use raw::{
    Located, RawAccess, RawCluster, RawClusterEntry, RawConfig, RawConsumers, RawContainerDefaults,
    RawDefaults, RawDns, RawExpose, RawExternal, RawGitOps, RawIngress, RawKubeApi, RawMap,
    RawMesh, RawPlacement, RawPlatform, RawPods, RawPurged, RawRetired, RawShared, RawTenant,
};

/// Parses `source`; on failure returns every problem found, not only the first.
pub fn load(source: &str) -> Result<RawConfig, Vec<Diagnostic>> {
    let (config, diags) = load_partial(source)?;
    if diags.is_empty() {
        Ok(config)
    } else {
        Err(diags)
    }
}

/// Parses `source`. A TOML syntax error is fatal (`Err`, with every syntax error found); otherwise
/// returns what could be read together with the problems found (unknown keys, wrong types), so that
/// the resolve stage can still report the rule violations of the rest of the file in the same run.
pub fn load_partial(source: &str) -> Result<(RawConfig, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut blanked = Vec::new();
    let (root, errors) = document::parse(source, &mut blanked);
    if !errors.is_empty() {
        let mut diags: Vec<Diagnostic> = errors
            .iter()
            .map(|e| {
                let span = e.span().unwrap_or(0..0);
                Diagnostic::new(format!("invalid TOML: {}", e.message().trim()), span)
            })
            .collect();
        diags.sort_by_key(|d| (d.span.start, d.span.end));
        diags.dedup();
        return Err(diags);
    }
    let mut w = Walker::default();
    let config = w.root(&root);
    w.diags.extend(crate::text::check_config(source, &root));
    w.diags.sort_by_key(|d| (d.span.start, d.span.end));
    Ok((config, w.diags))
}

/// Walks the TOML tree into the raw structures, collecting every problem on the way (see
/// `values` for the typed readers, `tables` for one reader per table).
#[derive(Default)]
struct Walker {
    diags: Vec<Diagnostic>,
    /// Where the tables being read sit: empty at the top level, `clusters.<name>.` inside a
    /// cluster's table (so `[platform.dns]` reads `[clusters.prod.platform.dns]` in messages).
    scope: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_every_unknown_key_with_a_suggestion() {
        let src = "version = 1\n[tenants.acme]\nnamespace = [\"a\"]\ningres = true\n";
        let diags = load(src).unwrap_err();
        assert_eq!(diags.len(), 2, "{diags:?}");
        assert_eq!(
            diags[0].message,
            "unknown key `namespace` in [tenants.acme]"
        );
        assert_eq!(diags[0].help.as_deref(), Some("did you mean `namespaces`?"));
        assert_eq!(&src[diags[0].span.clone()], "namespace");
        assert_eq!(diags[1].help.as_deref(), Some("did you mean `ingress`?"));
    }

    #[test]
    fn reports_wrong_types() {
        let diags = load("version = \"1\"\n[tenants.a]\ningress = \"yes\"\n").unwrap_err();
        assert_eq!(diags.len(), 2);
        assert_eq!(
            diags[0].message,
            "`version` must be an integer, found a string"
        );
        assert_eq!(
            diags[1].message,
            "`ingress` must be true, false or a list of the tenant's namespaces, found a string"
        );
    }

    #[test]
    fn syntax_errors_carry_a_span() {
        let diags = load("version = 1\n[tenants.a\n").unwrap_err();
        assert!(diags[0].message.starts_with("invalid TOML"), "{diags:?}");
        assert!(diags[0].span.start >= 12);
    }

    #[test]
    fn keeps_spans_of_names() {
        let src = "version = 1\n[tenants.acme]\nnamespaces = [\"acme\", \"acme-jobs\"]\n";
        let config = load(src).unwrap();
        let t = &config.tenants[0];
        assert_eq!(&src[t.name.span.clone()], "acme");
        let ns = &t.namespaces.as_ref().unwrap().value[1];
        assert_eq!(&src[ns.span.clone()], "\"acme-jobs\"");
    }
}
