//! SARIF 2.1.0 (OASIS Static Analysis Results Interchange Format), the format GitHub code
//! scanning reads: each error of tenants.toml, each stale file and each verify finding becomes a
//! `result` on the line of the file that causes it.
//!
//! Only what code scanning uses is written: the tool, the rules, and per result a rule, a level,
//! a message and one physical location. Columns are counted in Unicode code points, as
//! [`crate::diag::line_col`] counts them, and the run says so (`columnKind`).

use std::collections::BTreeMap;

use serde_json::{json, Value};

/// The schema a log names in `$schema` (the OASIS standard's, errata 01).
pub const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
}

/// A place in a file: 1-based line, and the column span when known.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Region {
    pub start_line: usize,
    pub start_column: Option<usize>,
    pub end_line: Option<usize>,
    /// Exclusive, as SARIF's `endColumn`.
    pub end_column: Option<usize>,
}

impl Region {
    pub fn line(line: usize) -> Self {
        Self {
            start_line: line.max(1),
            ..Self::default()
        }
    }
}

/// One result of a run (SARIF's `result`; GitHub shows it as an alert).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// The rule: `config`, `stale-output`, or a verify check (`over-allow`, ...).
    pub rule: String,
    pub level: Level,
    pub message: String,
    /// The file, as the user named it, and where in it. `None`: the run as a whole.
    pub location: Option<(String, Region)>,
}

/// What each rule that tenantc itself names (not a verify check) is about.
fn rule_description(rule: &str) -> Option<&'static str> {
    Some(match rule {
        "config" => "tenants.toml is invalid; nothing was written",
        "templates" => "a template cannot be used; nothing was written",
        "output" => "the output directory cannot be used; nothing was written",
        "read" => "a file cannot be read",
        "stale-output" => {
            "the output tree is not what tenants.toml compiles to; run `tenantc compile`"
        }
        "tree" => "a file of the output tree cannot be read; nothing was verified",
        _ => return None,
    })
}

/// A complete SARIF log of one run of tenantc with `alerts`.
pub fn log(alerts: &[Alert]) -> Value {
    let mut rules: BTreeMap<&str, usize> = BTreeMap::new();
    for a in alerts {
        let next = rules.len();
        rules.entry(a.rule.as_str()).or_insert(next);
    }
    let mut descriptors: Vec<(usize, Value)> = rules
        .iter()
        .map(|(id, index)| {
            let mut rule = json!({ "id": id });
            if let Some(text) = rule_description(id) {
                rule["shortDescription"] = json!({ "text": text });
            } else {
                rule["shortDescription"] = json!({ "text": format!("tenantc verify: {id}") });
            }
            (*index, rule)
        })
        .collect();
    descriptors.sort_by_key(|(i, _)| *i);
    let results: Vec<Value> = alerts
        .iter()
        .map(|a| {
            let mut result = json!({
                "ruleId": a.rule,
                "ruleIndex": rules[a.rule.as_str()],
                "level": match a.level { Level::Error => "error", Level::Warning => "warning" },
                "message": { "text": a.message },
            });
            if let Some((file, region)) = &a.location {
                let mut r = json!({ "startLine": region.start_line.max(1) });
                let mut set = |key: &str, v: Option<usize>| {
                    if let Some(v) = v {
                        r[key] = json!(v.max(1));
                    }
                };
                set("startColumn", region.start_column);
                set("endLine", region.end_line);
                set("endColumn", region.end_column);
                result["locations"] = json!([{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri_of(file) },
                        "region": r,
                    }
                }]);
            }
            result
        })
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "tenantc",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": descriptors.into_iter().map(|(_, r)| r).collect::<Vec<_>>(),
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}

/// A file name as a URI reference: relative paths stay relative (code scanning resolves them
/// against the repository root), absolute ones become `file://` URIs; every byte outside
/// RFC 3986's unreserved set and `/` is percent-encoded.
pub fn uri_of(path: &str) -> String {
    let path = path.replace('\\', "/");
    let path = path.trim_start_matches("./");
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    if path.starts_with('/') {
        out.push_str("file://");
    } else if path.as_bytes().get(1) == Some(&b':') && path.as_bytes()[0].is_ascii_alphabetic() {
        // A Windows drive letter: file:///C:/...
        out.push_str("file:///");
        out.push_str(&path[..2]);
        rest = &path[2..];
    }
    for b in rest.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char);
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The 1-based line where the document of `kind` named `name` starts in the YAML `text` (its
/// first line after the `---` separator), found by looking for `kind: <kind>` at the top level
/// and `name: <name>` directly under `metadata:`. `None` when no document matches: the caller
/// then points at the file's first line.
pub fn document_line(text: &str, kind: &str, name: &str) -> Option<usize> {
    let unquote = |v: &str| {
        let v = v.trim();
        v.strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(v)
            .to_owned()
    };
    let mut start = 1;
    let mut started = false;
    let (mut kind_ok, mut name_ok, mut in_metadata) = (false, false, false);
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        if line == "---" || line.starts_with("--- ") {
            if kind_ok && name_ok {
                return Some(start);
            }
            (kind_ok, name_ok, in_metadata, started) = (false, false, false, false);
            start = number + 1;
            continue;
        }
        let content = line.trim_start();
        if content.is_empty() || content.starts_with('#') {
            if !started {
                start = number + 1;
            }
            continue;
        }
        started = true;
        let indent = line.len() - content.len();
        if indent == 0 {
            in_metadata = content == "metadata:";
            if let Some(v) = content.strip_prefix("kind:") {
                kind_ok = unquote(v) == kind;
            }
        } else if in_metadata && indent == 2 {
            if let Some(v) = content.strip_prefix("name:") {
                name_ok = unquote(v) == name;
            }
        }
    }
    (kind_ok && name_ok).then_some(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_document_of_an_object() {
        let text = "# generated\napiVersion: v1\nkind: Sidecar\nmetadata:\n  name: default\n  namespace: a\n---\n# second\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  labels:\n    name: x\n  name: \"allow-dns\"\n";
        assert_eq!(document_line(text, "Sidecar", "default"), Some(2));
        assert_eq!(document_line(text, "NetworkPolicy", "allow-dns"), Some(9));
        // A label called `name` is not the object's name.
        assert_eq!(document_line(text, "NetworkPolicy", "x"), None);
        assert_eq!(document_line(text, "Sidecar", "allow-dns"), None);
    }

    #[test]
    fn uris() {
        assert_eq!(
            uri_of("output/tenants/a b/x.yaml"),
            "output/tenants/a%20b/x.yaml"
        );
        assert_eq!(uri_of("./tenants/tenants.toml"), "tenants/tenants.toml");
        assert_eq!(uri_of("/tmp/x#y.toml"), "file:///tmp/x%23y.toml");
        assert_eq!(uri_of("C:\\repo\\t.toml"), "file:///C:/repo/t.toml");
    }

    #[test]
    fn rules_are_indexed_in_order_of_first_use() {
        let alert = |rule: &str| Alert {
            rule: rule.into(),
            level: Level::Warning,
            message: "m".into(),
            location: None,
        };
        let log = log(&[alert("b"), alert("a"), alert("b")]);
        let run = &log["runs"][0];
        assert_eq!(run["tool"]["driver"]["rules"][0]["id"], "b");
        assert_eq!(run["tool"]["driver"]["rules"][1]["id"], "a");
        assert_eq!(run["results"][2]["ruleIndex"], 0);
        assert_eq!(run["results"][1]["ruleIndex"], 1);
    }
}
