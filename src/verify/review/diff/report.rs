//! A diff as text, for a terminal or a CI log, and as markdown, for a pull-request comment.

use super::{Count, Diff};

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    fn counts(&self) -> Vec<(&'static str, &Count)> {
        vec![
            ("namespaces", &self.namespaces),
            ("files", &self.files),
            (
                "Sidecar scope (namespaces imported, all Sidecars)",
                &self.sidecar_scope,
            ),
        ]
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if self.is_empty() {
            out.push_str("no change in reachability, Sidecar scope or namespaces\n");
        }
        for l in &self.lines {
            out.push_str(l);
            out.push('\n');
        }
        for (what, c) in self.counts() {
            out.push_str(&format!("{what}: {} -> {}\n", c.before, c.after));
        }
        out
    }

    /// For a pull-request comment: a `diff` block (GitHub colours + and - lines) and a table.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from("### tenantc: what this change does\n\n");
        if self.is_empty() {
            out.push_str("No change in reachability, Sidecar scope or namespaces.\n\n");
        } else {
            out.push_str("```diff\n");
            for l in &self.lines {
                out.push_str(l);
                out.push('\n');
            }
            out.push_str("```\n\n");
        }
        out.push_str("| | before | after |\n|---|---:|---:|\n");
        for (what, c) in self.counts() {
            out.push_str(&format!("| {what} | {} | {} |\n", c.before, c.after));
        }
        out
    }
}
