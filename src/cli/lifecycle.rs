//! The destructive-change gate of `compile` and `diff` (see [`tenantc::lifecycle`]).

use std::path::Path;

use tenantc::lifecycle::{self, Report, Side};
use tenantc::write::{Change, Plan};
use tenantc::Compiled;

use super::Args;

/// What a compile would do to namespaces that exist: the Namespace files it deletes.
pub(super) fn of_plan(
    compiled: &Compiled,
    source: &str,
    config: &Path,
    output: &Path,
    plan: &Plan,
) -> Report {
    // Only a deleted Namespace file can make a destructive change (a created one only takes a
    // namespace out of the comparison): without one, the config is not read a second time.
    let deletes_a_namespace = plan.changes.iter().any(|(path, c)| {
        matches!(c, Change::Delete { .. }) && lifecycle::namespace_of_path(path).is_some()
    });
    if !deletes_a_namespace {
        return Report::default();
    }
    let after = Side::of_config_with(
        &compiled.config,
        &compiled.intent,
        source,
        &config.display().to_string(),
        false,
    );
    let deleted = plan.changes.iter().filter_map(|(path, c)| match c {
        Change::Delete { old } => Some((path.clone(), old.as_str())),
        _ => None,
    });
    // Before rendering, a Namespace file is created where none exists.
    let created: Vec<String> = compiled
        .layout()
        .paths()
        .filter(|p| p.ends_with("/namespace.yaml") && !plan.exists(p))
        .collect();
    let created = created.iter().map(String::as_str);
    let mut before = lifecycle::side_before_compile(&after, deleted, created);
    // Name the files as the user knows them: under the output directory.
    for held in before.namespaces.values_mut() {
        if held.at.line.is_none() {
            held.at.file = output.join(&held.at.file).display().to_string();
        }
    }
    lifecycle::compare(&before, &after)
}

/// The unacknowledged deletions on stderr, each with how to acknowledge it.
pub(super) fn report_refusal(args: &Args, report: &Report) {
    if args.quiet && report.unacknowledged == 0 {
        return;
    }
    for e in report.errors() {
        eprintln!("{e}");
    }
    eprintln!(
        "error: {} namespace(s) would be deleted and tenants.toml does not acknowledge it; nothing was written",
        report.unacknowledged
    );
}

/// `diff`: the unacknowledged deletions on stderr; the report itself went to stdout.
pub(super) fn report_refusal_diff(report: &Report) {
    for e in report.errors() {
        eprintln!("{e}");
    }
    eprintln!(
        "error: {} namespace(s) would be deleted and tenants.toml does not acknowledge it",
        report.unacknowledged
    );
}
