//! `tenantc init`: scaffold a repository.

use std::path::Path;

use super::{Args, CiKind, Format, MessageFormat, EXIT_INVALID, EXIT_OK};

pub(super) fn init(
    args: &Args,
    dir: &Path,
    with_templates: bool,
    ci: CiKind,
    format: Format,
) -> u8 {
    let ci = match ci {
        CiKind::Github => tenantc::init::Ci::Github,
        CiKind::Gitlab => tenantc::init::Ci::Gitlab,
        CiKind::None => tenantc::init::Ci::None,
    };
    match tenantc::init::init(dir, ci, with_templates) {
        Ok(written) => {
            if format == Format::Json {
                let created: Vec<String> =
                    written.iter().map(|p| p.display().to_string()).collect();
                let doc = serde_json::json!({ "status": "ok", "created": created });
                println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            } else if !args.quiet {
                for path in &written {
                    println!("created {}", path.display());
                }
                let cd = if dir == Path::new(".") {
                    String::new()
                } else {
                    format!("cd {} && ", dir.display())
                };
                println!("next: edit tenants/tenants.toml, then `{cd}tenantc compile` and commit tenants/, output/ and the CI file");
            }
            EXIT_OK
        }
        Err(errors) => {
            let json: Vec<serde_json::Value> = errors
                .iter()
                .map(|e| {
                    let path = match e {
                        tenantc::init::InitError::Exists(p)
                        | tenantc::init::InitError::Write { path: p, .. } => {
                            p.display().to_string()
                        }
                    };
                    tenantc::diag::json_without_position(&e.to_string(), Some(&path))
                })
                .collect();
            if format == Format::Json {
                let doc = serde_json::json!({ "status": "invalid", "errors": json });
                println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            }
            for (e, j) in errors.iter().zip(&json) {
                if args.message_format == MessageFormat::Json {
                    eprintln!("{j}");
                } else {
                    eprintln!("error: {e}");
                }
            }
            EXIT_INVALID
        }
    }
}
