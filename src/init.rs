//! `tenantc init`: scaffold a repository that compiles, checks itself in CI and gives editors the
//! schema. It never overwrites: if any file it would write exists, it writes nothing.

use std::path::{Path, PathBuf};

/// The commented tenants.toml `init` writes; a test compiles it.
pub const STARTER_CONFIG: &str = include_str!("../examples/starter-tenants.toml");
/// The GitHub Actions workflow `init` writes (also in `examples/`).
pub const GITHUB_WORKFLOW: &str = include_str!("../examples/github-actions.yml");
/// The GitLab CI job `init --ci gitlab` writes (also in `examples/`).
pub const GITLAB_CI: &str = include_str!("../examples/gitlab-ci.yml");

/// Which CI configuration to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ci {
    Github,
    Gitlab,
    None,
}

/// A file `init` would overwrite, or could not write.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("`{}` already exists; tenantc init never overwrites a file (nothing was written)", .0.display())]
    Exists(PathBuf),
    #[error("cannot write `{}`: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The files `init` writes below `dir`: relative path and contents.
pub fn files(ci: Ci, with_templates: bool) -> Vec<(String, String)> {
    let mut files = vec![
        ("tenants/tenants.toml".to_owned(), STARTER_CONFIG.to_owned()),
        (
            "schema/tenants.schema.json".to_owned(),
            crate::schema::tenants_schema(),
        ),
    ];
    match ci {
        Ci::Github => files.push((
            ".github/workflows/tenantc.yml".into(),
            GITHUB_WORKFLOW.into(),
        )),
        Ci::Gitlab => files.push((".gitlab-ci.yml".into(), GITLAB_CI.into())),
        Ci::None => {}
    }
    if with_templates {
        for (name, text) in crate::render::DEFAULT_TEMPLATES {
            files.push((format!("templates/{name}"), text.to_owned()));
        }
    }
    files
}

/// Writes the scaffold into `dir`; returns the paths written. Checks every path first, so that
/// either all files are written or none.
pub fn init(dir: &Path, ci: Ci, with_templates: bool) -> Result<Vec<PathBuf>, Vec<InitError>> {
    let files = files(ci, with_templates);
    let existing: Vec<InitError> = files
        .iter()
        .map(|(rel, _)| dir.join(rel))
        .filter(|p| p.symlink_metadata().is_ok())
        .map(InitError::Exists)
        .collect();
    if !existing.is_empty() {
        return Err(existing);
    }
    let mut written = Vec::new();
    for (rel, text) in files {
        let path = dir.join(rel);
        let result = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| {
                // create_new: a file that appeared since the check is still not overwritten.
                use std::io::Write as _;
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&path)?
                    .write_all(text.as_bytes())
            });
        match result {
            Ok(()) => written.push(path),
            Err(source) => return Err(vec![InitError::Write { path, source }]),
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The starter with every commented-out key and table switched on: the lines that read
    /// `# key = ...` or `# [table]`, not the prose around them.
    fn everything_on() -> String {
        STARTER_CONFIG
            .lines()
            .map(|line| {
                let rest = line.strip_prefix("# ").unwrap_or(line);
                let is_key = rest
                    .split_once(" = ")
                    .is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
                if rest.starts_with('[') || is_key {
                    rest
                } else {
                    line
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_starter_compiles_with_every_commented_key_switched_on() {
        let text = everything_on();
        let config = crate::config_from_source(&text, "tenants.toml")
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        // The commented example shows each flow a real tenant needs.
        let team_a = &config.tenants[&crate::model::TenantName::new("team-a").unwrap()];
        assert!(team_a.kube_api && !team_a.expose.is_empty() && !team_a.ingress.is_empty());
        assert!(config.platform.kube_api.is_some());
        assert!(!config.cluster.pod_cidrs.is_empty());
        assert_eq!(config.externals.len(), 1);
        assert!(config.shared.values().any(|s| !s.ports.is_empty()));
        assert!(config.gitops.is_some());
        crate::compile_config(config, "tenants.toml")
            .tree(&crate::render::Templates::builtin())
            .unwrap_or_else(|e| panic!("{e}"));
        // And the schema it ships with accepts it.
        let schema: serde_json::Value =
            serde_json::from_str(&crate::schema::tenants_schema()).unwrap();
        let value: toml::Value = toml::from_str(&text).unwrap();
        let instance = serde_json::to_value(value).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
}
