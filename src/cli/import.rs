//! `tenantc import`: a draft tenants.toml from hand-written manifests, with the proof of what
//! the migration opens and closes.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use tenantc::import::{import as run_import, Hints, Options};
use tenantc::Error;

use super::{usage_error, Format, EXIT_DRIFT, EXIT_OK};

pub(super) struct ImportArgs<'a> {
    pub paths: &'a [PathBuf],
    pub write: Option<&'a Path>,
    pub force: bool,
    pub tenant_label: Option<&'a str>,
    pub pod_cidrs: &'a [ipnet::IpNet],
    pub service_cidrs: &'a [ipnet::IpNet],
    pub format: Format,
}

pub(super) fn import(a: &ImportArgs) -> Result<u8, Error> {
    // Refused before any work: a draft never replaces a file by surprise.
    if let Some(w) = a.write {
        if !a.force && std::fs::symlink_metadata(w).is_ok() {
            return Ok(usage_error(
                &format!(
                    "`{}` exists; pass --force to overwrite it",
                    super::shown(&w.display().to_string())
                ),
                a.format,
            ));
        }
    }
    let cidrs = |v: &[ipnet::IpNet]| v.iter().map(|n| n.trunc().to_string()).collect();
    let options = Options {
        paths: a.paths.to_vec(),
        hints: Hints {
            tenant_label: a.tenant_label.map(str::to_owned),
            pod_cidrs: cidrs(a.pod_cidrs),
            service_cidrs: cidrs(a.service_cidrs),
        },
    };
    let imported = run_import(&options)?;
    if let Some(w) = a.write {
        if let Err(e) = write_file(w, &imported.draft) {
            return Ok(usage_error(
                &format!(
                    "cannot write `{}`: {e}",
                    super::shown(&w.display().to_string())
                ),
                a.format,
            ));
        }
    }
    match a.format {
        Format::Json => {
            let doc = if a.write.is_some() {
                serde_json::json!({ "report": imported.report, "written": a.write })
            } else {
                serde_json::to_value(&imported).unwrap_or_default()
            };
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
        Format::Text if a.write.is_some() => print!("{}", imported.report_text()),
        Format::Text => {
            // The draft on stdout (to redirect), the report beside it on stderr.
            print!("{}", imported.draft);
            eprint!("{}", imported.report_text());
        }
    }
    Ok(if imported.report.opens() {
        EXIT_DRIFT
    } else {
        EXIT_OK
    })
}

/// Writes `text` to `path` whole or not at all (a temporary file beside it, then a rename).
fn write_file(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".tenantc-tmp-")
        .tempfile_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
