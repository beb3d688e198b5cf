//! `tenantc verify`: does the output tree isolate tenants as tenants.toml says.

use std::path::Path;

use tenantc::Error;

use super::{print_report, say, Args, Format, MessageFormat, EXIT_DRIFT, EXIT_OK};

pub(super) fn verify(
    args: &Args,
    config: &Path,
    output: &Path,
    mesh_scope: bool,
    format: Format,
) -> Result<u8, Error> {
    let verified = tenantc::verify::verify_files(config, output)?;
    let report = &verified.report;
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(report).unwrap_or_default()
        ),
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
                print_report(args, &report.to_sarif(&files));
            }
            let text = report.to_text(
                &output.display().to_string(),
                &config.display().to_string(),
                mesh_scope,
            );
            if args.quiet {
                for line in text.lines().filter(|l| l.starts_with("violation:")) {
                    say(args, &format!("{line}\n"));
                }
            } else {
                say(args, &text);
            }
        }
    }
    let code = if report.ok { EXIT_OK } else { EXIT_DRIFT };
    // The model of a large tree takes a while to free; the process is about to exit anyway.
    std::mem::forget(verified);
    Ok(code)
}
