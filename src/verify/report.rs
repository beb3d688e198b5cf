//! verify's result: the findings, the counts and the mesh scope, and how they are printed.

use serde::Serialize;

use super::finding::{Finding, Severity};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScopeRow {
    pub namespace: String,
    /// With the Sidecars in the tree.
    pub with_sidecars: usize,
    /// Without any Sidecar: every namespace of the cluster.
    pub without_sidecars: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MeshScope {
    pub namespaces: Vec<ScopeRow>,
    pub total_with_sidecars: usize,
    pub total_without_sidecars: usize,
    /// Namespaces in ambient mode: no Sidecars, so no scope to count.
    pub ambient: usize,
}

impl MeshScope {
    /// The share of sidecar configuration the Sidecars save, in percent.
    pub fn saved_percent(&self) -> usize {
        if self.total_without_sidecars == 0 {
            return 0;
        }
        100 - (self.total_with_sidecars * 100).div_ceil(self.total_without_sidecars)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub files: usize,
    pub documents: usize,
    pub namespaces: usize,
    pub network_policies: usize,
    pub sidecars: usize,
    pub authorization_policies: usize,
    pub peer_authentications: usize,
    pub violations: usize,
    pub warnings: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// `ok` or `violations`, as the other commands' JSON says `status`.
    pub status: &'static str,
    pub ok: bool,
    pub summary: Summary,
    pub findings: Vec<Finding>,
    pub mesh_scope: MeshScope,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl Report {
    /// The human report: one line per finding, then the summary and the mesh-scope total.
    pub fn to_text(&self, output: &str, config: &str, per_namespace_scope: bool) -> String {
        let mut out = String::new();
        for f in &self.findings {
            let label = match f.severity {
                Severity::Violation => "violation",
                Severity::Warning => "warning",
            };
            out.push_str(&format!(
                "{label}: {}\n",
                crate::text::printable(&f.message, 1000)
            ));
        }
        if per_namespace_scope {
            out.push_str(&self.scope_table());
        }
        let s = &self.summary;
        let mut identity = String::new();
        if s.authorization_policies > 0 {
            identity.push_str(&format!(
                ", {}",
                plural(
                    s.authorization_policies,
                    "AuthorizationPolicy",
                    "AuthorizationPolicies"
                )
            ));
        }
        if s.peer_authentications > 0 {
            identity.push_str(&format!(
                ", {}",
                plural(
                    s.peer_authentications,
                    "PeerAuthentication",
                    "PeerAuthentications"
                )
            ));
        }
        out.push_str(&format!(
            "{} {} {config}: {}, {}, {}{identity}, {} in {}; {}, {}\n",
            output,
            if self.ok { "matches" } else { "does not match" },
            plural(s.namespaces, "namespace", "namespaces"),
            plural(s.network_policies, "NetworkPolicy", "NetworkPolicies"),
            plural(s.sidecars, "Sidecar", "Sidecars"),
            plural(s.documents, "document", "documents"),
            plural(s.files, "file", "files"),
            plural(s.violations, "violation", "violations"),
            plural(s.warnings, "warning", "warnings"),
        ));
        let m = &self.mesh_scope;
        if m.ambient > 0 {
            out.push_str(&format!(
                "mesh scope: ambient mode: {} have no Sidecars (a Sidecar has no effect in ambient mode, istio/api#3517); ztunnel receives only workload addresses and identities, not every service's configuration, so there is nothing for a Sidecar to save\n",
                plural(m.ambient, "namespace", "namespaces"),
            ));
        }
        if !m.namespaces.is_empty() {
            out.push_str(&format!(
                "mesh scope: the sidecars of {} receive configuration for {} namespaces in total with these Sidecars, {} without ({}% less)\n",
                plural(m.namespaces.len(), "namespace", "namespaces"),
                m.total_with_sidecars,
                m.total_without_sidecars,
                m.saved_percent()
            ));
        }
        out
    }

    /// GitHub Actions annotations, one per finding, on the file responsible.
    pub fn to_github(&self) -> String {
        let escape = |s: &str| {
            s.replace('%', "%25")
                .replace('\r', "%0D")
                .replace('\n', "%0A")
        };
        let mut out = String::new();
        for f in &self.findings {
            let level = match f.severity {
                Severity::Violation => "error",
                Severity::Warning => "warning",
            };
            let file = f
                .objects
                .first()
                .map(|o| {
                    let file = crate::text::printable(&o.file, 1000);
                    format!("file={},", escape(&file).replace(',', "%2C"))
                })
                .unwrap_or_default();
            out.push_str(&format!(
                "::{level} {file}title=tenantc verify ({})::{}\n",
                f.check,
                escape(&crate::text::printable(&f.message, 1000))
            ));
        }
        out
    }

    /// Every finding as a SARIF result on the document of the object responsible: `files` holds
    /// the text of the files named (read by the caller); an object not found in them is pointed
    /// at its file's first line.
    pub fn to_sarif(
        &self,
        files: &std::collections::BTreeMap<String, String>,
    ) -> Vec<crate::sarif::Alert> {
        use crate::sarif::{document_line, Alert, Level, Region};
        self.findings
            .iter()
            .map(|f| Alert {
                rule: f.check.to_owned(),
                level: match f.severity {
                    Severity::Violation => Level::Error,
                    Severity::Warning => Level::Warning,
                },
                message: crate::text::printable(&f.message, 1000),
                location: f.objects.first().map(|o| {
                    let line = files
                        .get(&*o.file)
                        .and_then(|text| document_line(text, o.kind, &o.name));
                    (o.file.to_string(), Region::line(line.unwrap_or(1)))
                }),
            })
            .collect()
    }

    /// The files [`Self::to_sarif`] looks objects up in.
    pub fn files_named(&self) -> std::collections::BTreeSet<&str> {
        self.findings
            .iter()
            .filter_map(|f| f.objects.first().map(|o| &*o.file))
            .collect()
    }

    pub fn scope_table(&self) -> String {
        let m = &self.mesh_scope;
        let width = m
            .namespaces
            .iter()
            .map(|r| r.namespace.len())
            .max()
            .unwrap_or(9)
            .max(9);
        let mut out = format!(
            "{:<width$}  {:>13}  {:>16}\n",
            "namespace", "with Sidecars", "without Sidecars"
        );
        for r in &m.namespaces {
            out.push_str(&format!(
                "{:<width$}  {:>13}  {:>16}\n",
                r.namespace, r.with_sidecars, r.without_sidecars
            ));
        }
        out.push_str(&format!(
            "{:<width$}  {:>13}  {:>16}\n",
            "total", m.total_with_sidecars, m.total_without_sidecars
        ));
        out
    }
}
