//! GitLab Code Quality reports: the subset of the Code Climate issue format that GitLab reads from
//! `artifacts:reports:codequality` (<https://docs.gitlab.com/ci/testing/code_quality/>), shown in
//! the merge request widget and, on Ultimate, on the changed lines.
//!
//! A report is written from the same [`Alert`]s as a SARIF log, so an error, a stale file or a
//! verify finding is on the same file and line in both.

use serde_json::{json, Value};

use crate::sarif::{Alert, Level};

/// GitLab's severity for an alert: an error fails the job (an isolation violation, a stale tree,
/// an invalid config), a warning does not. GitLab's scale is info, minor, major, critical, blocker.
fn severity(level: Level) -> &'static str {
    match level {
        Level::Error => "critical",
        Level::Warning => "minor",
    }
}

/// A report of `alerts`, a JSON array with one issue each; an alert about the run as a whole is
/// put on the first line of `fallback` (the tenants file).
pub fn report(alerts: &[Alert], fallback: &str) -> Value {
    let issues: Vec<Value> = alerts
        .iter()
        .map(|a| {
            let (file, line) = a.location.as_ref().map_or((fallback, 1), |(file, region)| {
                (file.as_str(), region.start_line)
            });
            let path = path_of(file);
            json!({
                "description": a.message,
                "check_name": a.rule,
                "fingerprint": fingerprint(&a.rule, &path, &a.message),
                "severity": severity(a.level),
                "location": { "path": path, "lines": { "begin": line.max(1) } },
            })
        })
        .collect();
    Value::Array(issues)
}

/// A path as GitLab matches it against the repository: relative, with `/` and without `./`.
pub fn path_of(file: &str) -> String {
    let path = file.replace('\\', "/");
    let mut rest = path.as_str();
    while let Some(r) = rest.strip_prefix("./") {
        rest = r;
    }
    rest.to_owned()
}

/// What GitLab tells issues apart by, between the report of the merge request and the one of its
/// target branch: 128-bit FNV-1a (stable across platforms and releases, unlike std's hasher) of
/// the check, the path and the message. Not the line, so a finding that moves is not reported as
/// fixed and new again.
pub fn fingerprint(check: &str, path: &str, message: &str) -> String {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let mut hash = OFFSET;
    // A separator no field contains keeps ("ab", "c") and ("a", "bc") apart.
    for byte in [check, path, message].join("\0").bytes() {
        hash ^= u128::from(byte);
        hash = hash.wrapping_mul(PRIME);
    }
    format!("{hash:032x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sarif::Region;

    fn alert(line: usize, message: &str) -> Alert {
        Alert {
            rule: "over-allow".into(),
            level: Level::Error,
            message: message.into(),
            location: Some(("./output/a.yaml".into(), Region::line(line))),
        }
    }

    #[test]
    fn fingerprints_ignore_the_line_and_tell_fields_apart() {
        let a = fingerprint("over-allow", "output/a.yaml", "m");
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        let r = report(&[alert(3, "m"), alert(9, "m"), alert(3, "n")], "t.toml");
        assert_eq!(r[0]["fingerprint"], a);
        assert_eq!(r[0]["fingerprint"], r[1]["fingerprint"]);
        assert_ne!(r[0]["fingerprint"], r[2]["fingerprint"]);
        assert_ne!(fingerprint("ab", "c", "m"), fingerprint("a", "bc", "m"));
        // The value itself is part of the format: the report of the target branch, written by
        // another release of tenantc, must still match (128-bit FNV-1a of "a\0b\0c").
        assert_eq!(
            fingerprint("a", "b", "c"),
            "35336bbe5f83d94f7081455fbbccc2ef"
        );
    }

    #[test]
    fn paths_are_relative_and_alerts_without_a_file_are_on_the_config() {
        let mut whole = alert(5, "m");
        whole.location = None;
        whole.level = Level::Warning;
        let r = report(&[alert(4, "m"), whole], "./tenants/tenants.toml");
        assert_eq!(r[0]["location"]["path"], "output/a.yaml");
        assert_eq!(r[0]["location"]["lines"]["begin"], 4);
        assert_eq!(r[0]["severity"], "critical");
        assert_eq!(r[1]["location"]["path"], "tenants/tenants.toml");
        assert_eq!(r[1]["location"]["lines"]["begin"], 1);
        assert_eq!(r[1]["severity"], "minor");
        assert_eq!(path_of("a\\b\\c.yaml"), "a/b/c.yaml");
    }
}
