//! `tenantc access`: who may do what in a tenant, or where a subject has access, from the tree.

use std::path::Path;

use tenantc::Error;

use super::{usage_error, Format, EXIT_OK};

pub(super) fn access(
    who: &str,
    config: &Path,
    output: &Path,
    cluster: Option<&str>,
    format: Format,
) -> Result<u8, Error> {
    use tenantc::verify::review::access;
    let (intent, model) = tenantc::verify::intent_and_model(config, output, cluster)?;
    let json = format == Format::Json;
    if who.contains(':') {
        if let Err(e) = tenantc::model::Subject::parse(who) {
            return Ok(usage_error(&format!("`{who}` {e}"), format));
        }
        let a = access::subject_access(&model, who);
        if json {
            println!("{}", serde_json::to_string_pretty(&a).unwrap_or_default());
        } else {
            print!("{}", a.to_text());
        }
        return Ok(EXIT_OK);
    }
    let Some(a) = access::owner_access(&model, &intent, who) else {
        return Ok(usage_error(
            &format!("`{who}` is no tenant, shared entry or namespace of tenants.toml, nor a subject (group:NAME, user:NAME, serviceaccount:NAMESPACE/NAME)"),
            format,
        ));
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&a).unwrap_or_default());
    } else {
        print!("{}", a.to_text());
    }
    Ok(EXIT_OK)
}
