//! `tenantc explain FROM TO`: why one namespace can or cannot reach another.

use std::path::Path;

use tenantc::Error;

use super::{usage_error, Format, EXIT_OK};

pub(super) fn explain(
    from: &str,
    to: &str,
    port: Option<&str>,
    config: &Path,
    output: &Path,
    cluster: Option<&str>,
    format: Format,
) -> Result<u8, Error> {
    use tenantc::verify::review::explain;
    let port = match port.map(tenantc::verify::layer::netpol::parse_port_arg) {
        Some(Err(e)) => return Ok(usage_error(&format!("--port: {e}"), format)),
        Some(Ok(p)) => Some(p),
        None => None,
    };
    let (intent, model) = tenantc::verify::intent_and_model(config, output, cluster)?;
    let explained = match explain::explain_names(&model, &intent, from, to, port) {
        Ok(e) => e,
        Err(e) => return Ok(usage_error(&e, format)),
    };
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&explained).unwrap_or_default()
        ),
        Format::Text => print!("{}", explained.to_text()),
    }
    Ok(EXIT_OK)
}
