//! `tenantc verify`: does the output tree isolate tenants as tenants.toml says.

use std::path::Path;

use tenantc::Error;

use super::{print_report, say, Args, Format, MessageFormat, EXIT_DRIFT, EXIT_OK};

pub(super) fn verify(
    args: &Args,
    config: &Path,
    output: &Path,
    cluster: Option<&str>,
    mesh_scope: bool,
    format: Format,
) -> Result<u8, Error> {
    let mut code = EXIT_OK;
    let mut json = Vec::new();
    let mut alerts = Vec::new();
    tenantc::verify::verify_each(config, output, cluster, &mut |cluster, dir, verified| {
        let report = &verified.report;
        if !report.ok {
            code = EXIT_DRIFT;
        }
        match format {
            // One cluster: the report as it serializes, fields in their order.
            Format::Json if cluster.is_none() => println!(
                "{}",
                serde_json::to_string_pretty(report).unwrap_or_default()
            ),
            Format::Json => {
                let mut doc = serde_json::to_value(report).unwrap_or_default();
                doc["cluster"] = serde_json::Value::from(cluster);
                json.push(doc);
            }
            Format::Text => {
                if args.message_format == MessageFormat::Github {
                    print!("{}", report.to_github());
                }
                if args.message_format.is_report() {
                    // Only the files findings name are read again, for the line of each object.
                    let files = report
                        .files_named()
                        .into_iter()
                        .filter_map(|f| Some((f.to_owned(), std::fs::read_to_string(f).ok()?)))
                        .collect();
                    alerts.extend(report.to_sarif(&files));
                }
                let text = report.to_text(
                    &dir.display().to_string(),
                    &config.display().to_string(),
                    mesh_scope,
                );
                if args.quiet {
                    for line in text.lines().filter(|l| l.starts_with("violation:")) {
                        say(args, &format!("{line}\n"));
                    }
                } else if let Some(c) = cluster {
                    // Every line names its cluster: findings say it in their message, the
                    // other lines get it in front.
                    for line in text.lines() {
                        if line.starts_with("violation: ") || line.starts_with("warning: ") {
                            say(args, &format!("{line}\n"));
                        } else {
                            say(args, &format!("{c}: {line}\n"));
                        }
                    }
                } else {
                    say(args, &text);
                }
            }
        }
        // The model of a large tree takes a while to free; the process is about to exit anyway.
        // Each cluster's is freed before the next is read: they are never all held at once.
        if cluster.is_none() {
            std::mem::forget(verified);
        } else {
            drop(verified);
        }
    })?;
    if format == Format::Json && !json.is_empty() {
        let doc = serde_json::json!({ "clusters": json });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else if args.message_format.is_report() {
        print_report(args, &alerts);
    }
    Ok(code)
}
