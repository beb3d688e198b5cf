//! How `compile` and `diff` print a refusal of the destructive-change gate (the gate itself is
//! [`tenantc::lifecycle`], run by the library).

use tenantc::lifecycle::Report;

use super::Args;

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
