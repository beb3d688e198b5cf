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
    format: Format,
) -> Result<u8, Error> {
    use tenantc::verify::review::explain;
    let port = match port.map(tenantc::verify::layer::netpol::parse_port_arg) {
        Some(Err(e)) => return Ok(usage_error(&format!("--port: {e}"), format)),
        Some(Ok(p)) => Some(p),
        None => None,
    };
    let (intent, model) = tenantc::verify::intent_and_model(config, output)?;
    let names = |n: &str| explain::namespaces_named(&model, &intent, n);
    // A destination outside the cluster (an external entry, or `kube-api`), unless a tenant or
    // namespace has that name.
    if intent.destinations.contains_key(to) && names(to).is_err() {
        let froms = match names(from) {
            Ok(f) => f,
            Err(e) => return Ok(usage_error(&e, format)),
        };
        let all: Vec<explain::OutsideExplanation> = froms
            .iter()
            .filter_map(|f| explain::explain_outside(&model, &intent, f, to, port))
            .collect();
        match format {
            Format::Json => println!("{}", serde_json::to_string_pretty(&all).unwrap_or_default()),
            Format::Text => {
                let text: Vec<String> = all
                    .iter()
                    .map(explain::OutsideExplanation::to_text)
                    .collect();
                print!("{}", text.join("\n"));
            }
        }
        return Ok(EXIT_OK);
    }
    let (froms, tos) = match (names(from), names(to)) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(e), _) | (_, Err(e)) => return Ok(usage_error(&e, format)),
    };
    let all: Vec<explain::Explanation> = froms
        .iter()
        .flat_map(|f| tos.iter().map(move |t| (f, t)))
        .map(|(f, t)| explain::explain(&model, &intent, f, t, port))
        .collect();
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&all).unwrap_or_default()),
        Format::Text => {
            let text: Vec<String> = all.iter().map(explain::Explanation::to_text).collect();
            print!("{}", text.join("\n"));
        }
    }
    Ok(EXIT_OK)
}
