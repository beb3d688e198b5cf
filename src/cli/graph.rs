//! `tenantc graph`: the tenant-level reachability graph of the output tree.

use std::path::Path;

use tenantc::Error;

use super::{GraphFormat, EXIT_OK};

pub(super) fn graph(
    config: &Path,
    output: &Path,
    cluster: Option<&str>,
    format: GraphFormat,
    max_tenants: usize,
) -> Result<u8, Error> {
    use tenantc::verify::review::graph;
    let (intent, model) = tenantc::verify::intent_and_model(config, output, cluster)?;
    let g = graph::graph_of(&model, &intent);
    match format {
        GraphFormat::Json => println!("{}", serde_json::to_string_pretty(&g).unwrap_or_default()),
        _ if g.tenants() > max_tenants => print!("{}", g.summary(max_tenants)),
        GraphFormat::Mermaid => print!("{}", g.to_mermaid()),
        GraphFormat::Dot => print!("{}", g.to_dot()),
    }
    Ok(EXIT_OK)
}
