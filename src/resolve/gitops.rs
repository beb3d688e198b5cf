//! `[gitops]`: the settings of the Argo CD or Flux objects.

use super::Resolver;
use crate::diag::{closest, Diagnostic};
use crate::load::{Located, RawGitOps};
use crate::model::{GitOps, GitOpsTool, NamespaceName};

impl Resolver<'_> {
    pub(super) fn gitops(&mut self, g: &RawGitOps) -> Option<GitOps> {
        const TOOLS: [&str; 2] = ["argocd", "flux"];
        let tool = match &g.tool {
            None => {
                self.error(
                    Diagnostic::new("[gitops] needs a `tool`", g.span.clone())
                        .with_help("add tool = \"argocd\" or tool = \"flux\""),
                );
                None
            }
            Some(t) => match t.value.as_str() {
                "argocd" => Some(GitOpsTool::ArgoCd),
                "flux" => Some(GitOpsTool::Flux),
                other => {
                    let mut d = Diagnostic::new(
                        format!("`tool` must be \"argocd\" or \"flux\", found {other:?}"),
                        t.span.clone(),
                    );
                    let lowered = other.to_ascii_lowercase().replace([' ', '-', '_'], "");
                    if let Some(best) = closest(&lowered, TOOLS) {
                        d = d.with_help(format!("did you mean \"{best}\"?"));
                    }
                    self.error(d);
                    None
                }
            },
        };
        let repo_url = match &g.repo_url {
            None => {
                self.error(
                    Diagnostic::new("[gitops] needs a `repo_url`", g.span.clone()).with_help(
                        "add repo_url = \"https://...\", the repository that holds the output tree",
                    ),
                );
                None
            }
            Some(u) => self.repo_url(u, tool),
        };
        let revision = match &g.revision {
            None => Some("main".to_owned()),
            Some(r) => {
                let bad = r.value.is_empty()
                    || r.value.starts_with('-')
                    || r.value.chars().any(|c| {
                        c.is_whitespace()
                            || c.is_control()
                            || matches!(c, '~' | '^' | ':' | '?' | '*' | '[' | '\\')
                    });
                if bad {
                    self.error(
                        Diagnostic::new(
                            format!("`revision` {:?} is not a Git branch name", r.value),
                            r.span.clone(),
                        )
                        .with_help("name a branch, such as \"main\""),
                    );
                    None
                } else {
                    Some(r.value.clone())
                }
            }
        };
        let path = match &g.path {
            None => Some("output".to_owned()),
            Some(p) => self.repo_path(p),
        };
        let namespace = match (&g.namespace, tool) {
            (Some(ns), _) => self.namespace("namespace", ns),
            (None, Some(t)) => NamespaceName::new(t.default_namespace()).ok(),
            (None, None) => None,
        };
        let secret = match (&g.secret, tool) {
            (None, _) => Some(None),
            (Some(s), Some(GitOpsTool::ArgoCd)) => {
                self.error(
                    Diagnostic::new(
                        "`secret` is for Flux; Argo CD keeps repository credentials itself",
                        s.span.clone(),
                    )
                    .with_help("remove it and register the repository with `argocd repo add`"),
                );
                None
            }
            (Some(s), _) => {
                let ok = !s.value.is_empty()
                    && s.value.len() <= 253
                    && s.value.split('.').all(|p| NamespaceName::new(p).is_ok());
                if ok {
                    Some(Some(s.value.clone()))
                } else {
                    self.error(Diagnostic::new(
                        format!("`secret` {:?} is not a valid Secret name", s.value),
                        s.span.clone(),
                    ));
                    None
                }
            }
        };
        let name_prefix = match &g.name_prefix {
            None => Some(String::new()),
            Some(p) => {
                let v = &p.value;
                let ok = v.len() <= 40
                    && v.ends_with('-')
                    && v.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                    && v.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
                if ok {
                    Some(v.clone())
                } else {
                    self.error(
                        Diagnostic::new(
                            format!("`name_prefix` {v:?} cannot begin an object name"),
                            p.span.clone(),
                        )
                        .with_help("use lowercase letters, digits and '-', ending with '-', at most 40 characters, such as \"prod-eu-\""),
                    );
                    None
                }
            }
        };
        Some(GitOps {
            name_prefix: name_prefix?,
            tool: tool?,
            repo_url: repo_url?,
            revision: revision?,
            path: path?,
            namespace: namespace?,
            secret: secret?,
        })
    }

    /// A URL the controller can clone: `https://`, `http://` or `ssh://`, and for Argo CD also
    /// the scp-like `git@host:path` (Flux's GitRepository CRD accepts URLs only).
    fn repo_url(&mut self, u: &Located<String>, tool: Option<GitOpsTool>) -> Option<String> {
        let v = u.value.as_str();
        let scheme = ["https://", "http://", "ssh://"]
            .iter()
            .find(|s| v.starts_with(*s))
            .map(|s| &v[s.len()..]);
        let scp = scheme.is_none()
            && v.split_once('@')
                .and_then(|(_, rest)| rest.split_once(':'))
                .is_some_and(|(host, path)| !host.is_empty() && !path.is_empty());
        let clean = !v.chars().any(|c| c.is_whitespace() || c.is_control());
        let ok = clean && (scheme.is_some_and(|rest| !rest.is_empty()) || scp);
        if !ok {
            self.error(
                Diagnostic::new(
                    format!("`repo_url` {v:?} is not a Git repository URL"),
                    u.span.clone(),
                )
                .with_help("write https://host/org/repo.git or ssh://git@host/org/repo.git"),
            );
            return None;
        }
        if let Some(secret) = credential_in(v) {
            // The URL is written into the GitOps objects, which are committed to Git.
            self.error(
                Diagnostic::new(
                    format!("`repo_url` carries a credential ({secret}), which tenantc would write into the GitOps objects it commits to Git"),
                    u.span.clone(),
                )
                .with_help(match tool {
                    Some(GitOpsTool::Flux) => "remove it from the URL; give Flux the credentials in a Secret and name it with `secret` under [gitops]",
                    _ => "remove it from the URL; give Argo CD the credentials as a repository Secret (argocd.argoproj.io/secret-type: repository) in its namespace",
                }),
            );
            return None;
        }
        if scp && tool == Some(GitOpsTool::Flux) {
            let fixed = v
                .split_once(':')
                .map(|(user_host, path)| format!("ssh://{user_host}/{path}"))
                .unwrap_or_default();
            self.error(
                Diagnostic::new(
                    format!("Flux needs `repo_url` as a URL; {v:?} is scp-like"),
                    u.span.clone(),
                )
                .with_help(format!("write {fixed:?}")),
            );
            return None;
        }
        Some(v.to_owned())
    }

    /// The output directory inside the repository: relative, `/`-separated, no `.` or `..`
    /// segments; `"."` is the repository's root.
    fn repo_path(&mut self, p: &Located<String>) -> Option<String> {
        let v = p.value.trim_start_matches("./").trim_end_matches('/');
        if v == "." || (v.is_empty() && !p.value.is_empty()) {
            return Some(String::new());
        }
        let segment_ok = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        if p.value.starts_with('/') || !v.split('/').all(segment_ok) {
            self.error(
                Diagnostic::new(
                    format!(
                        "`path` {:?} is not a relative path inside the repository",
                        p.value
                    ),
                    p.span.clone(),
                )
                .with_help("give the output directory relative to the repository's root, such as \"output\" or \"clusters/prod/output\""),
            );
            return None;
        }
        Some(v.to_owned())
    }
}

/// The credential in a repository URL's user information, described without repeating it: any
/// `user:password@`; and for HTTP(S) any user at all (`token@`: Git hosts take a token as the
/// user name). An SSH user (`ssh://git@host/...`, `git@host:path`) is no secret: SSH authenticates
/// with a key.
fn credential_in(url: &str) -> Option<&'static str> {
    let (http, rest) = if let Some(r) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    {
        (true, r)
    } else {
        (false, url.strip_prefix("ssh://").unwrap_or(url))
    };
    // The authority ends at the first `/` (for scp-like `user@host:path`, `:` ends the host, but
    // a password would sit before the `@`).
    let authority = rest.split('/').next().unwrap_or_default();
    let (userinfo, _) = authority.rsplit_once('@')?;
    if userinfo.contains(':') {
        Some("a user name and password before `@`")
    } else if http {
        Some("a user name or token before `@`")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::credential_in;

    #[test]
    fn credentials_in_urls() {
        for bad in [
            "https://user:pass@git.example.com/p.git",
            "https://ghp_token@github.com/org/repo.git",
            "http://x-access-token:abc@github.com/o/r.git",
            "ssh://git:secret@git.example.com/p.git",
        ] {
            assert!(credential_in(bad).is_some(), "{bad}");
        }
        for ok in [
            "https://git.example.com/p.git",
            "ssh://git@git.example.com:2222/org/on.git",
            "git@github.com:org/repo.git",
            "https://git.example.com/a@b/p.git",
        ] {
            assert_eq!(credential_in(ok), None, "{ok}");
        }
    }
}
