//! `tenantc diff --base`: what a change does, in tenant terms.

use std::path::Path;

use tenantc::Error;

use super::{DiffFormat, EXIT_DRIFT, EXIT_OK};

pub(super) fn diff(
    base: &Path,
    config: &Path,
    output: &Path,
    format: DiffFormat,
) -> Result<u8, Error> {
    let outcome = tenantc::verify::review::diff::diff_against(base, config, output)?;
    let (d, lifecycle) = (&outcome.diff, &outcome.lifecycle);
    // Destructive changes come first, in every format; CI fails on an unacknowledged one.
    match format {
        DiffFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&outcome).unwrap_or_default()
        ),
        DiffFormat::Markdown => print!("{}{}", lifecycle.to_markdown(), d.to_markdown()),
        DiffFormat::Text => print!("{}{}", lifecycle.to_text(), d.to_text()),
    }
    if lifecycle.unacknowledged > 0 {
        super::lifecycle::report_refusal_diff(lifecycle);
        return Ok(EXIT_DRIFT);
    }
    Ok(EXIT_OK)
}
