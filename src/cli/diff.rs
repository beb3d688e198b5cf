//! `tenantc diff --base`: what a change does, in tenant terms.

use std::path::Path;

use tenantc::Error;

use super::{DiffFormat, EXIT_DRIFT, EXIT_OK};

pub(super) fn diff(
    base: &Path,
    config: &Path,
    output: &Path,
    cluster: Option<&str>,
    format: DiffFormat,
) -> Result<u8, Error> {
    let mut code = EXIT_OK;
    let mut json = Vec::new();
    tenantc::verify::review::diff::diff_each(
        base,
        config,
        output,
        cluster,
        &mut |cluster, outcome| {
            let (d, lifecycle) = (&outcome.diff, &outcome.lifecycle);
            // Destructive changes come first, in every format; CI fails on an unacknowledged one.
            match (format, cluster) {
                // One cluster: the document as the outcome serializes, fields in their order.
                (DiffFormat::Json, None) => println!(
                    "{}",
                    serde_json::to_string_pretty(&outcome).unwrap_or_default()
                ),
                (DiffFormat::Json, Some(c)) => {
                    let mut doc = serde_json::to_value(&outcome).unwrap_or_default();
                    doc["cluster"] = serde_json::Value::from(c);
                    json.push(doc);
                }
                (DiffFormat::Markdown, None) => {
                    print!("{}{}", lifecycle.to_markdown(), d.to_markdown())
                }
                (DiffFormat::Markdown, Some(c)) => print!(
                    "## cluster {c}\n\n{}{}\n",
                    lifecycle.to_markdown(),
                    d.to_markdown()
                ),
                (DiffFormat::Text, None) => print!("{}{}", lifecycle.to_text(), d.to_text()),
                // Every line names its cluster: a log grepped for one line still says where.
                (DiffFormat::Text, Some(c)) => {
                    for line in lifecycle.to_text().lines().chain(d.to_text().lines()) {
                        println!("{c}: {line}");
                    }
                }
            }
            if lifecycle.unacknowledged > 0 {
                if let Some(c) = cluster {
                    eprintln!("in cluster {c}:");
                }
                super::lifecycle::report_refusal_diff(lifecycle);
                code = EXIT_DRIFT;
            }
        },
    )?;
    if format == DiffFormat::Json && !json.is_empty() {
        let doc = serde_json::json!({ "clusters": json });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
    Ok(code)
}
