//! `tenantc graph`: the tenant-level reachability graph of the output tree.

use std::path::Path;

use tenantc::Error;

use super::{intent_and_model, Args, Format, GraphFormat, EXIT_OK};

pub(super) fn graph(
    args: &Args,
    config: &Path,
    output: &Path,
    format: GraphFormat,
    max_tenants: usize,
) -> Result<u8, Error> {
    use tenantc::verify::review::graph;
    let json = if format == GraphFormat::Json {
        Format::Json
    } else {
        Format::Text
    };
    let (intent, model) = match intent_and_model(args, config, output, json)? {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    let edges = graph::tree_edges(&model, &intent);
    let gaps = graph::identity_gaps(&model, &intent, &edges);
    let g = graph::tenant_graph(&edges, &gaps, &intent);
    match format {
        GraphFormat::Json => println!("{}", serde_json::to_string_pretty(&g).unwrap_or_default()),
        _ if g.tenants() > max_tenants => print!("{}", g.summary(max_tenants)),
        GraphFormat::Mermaid => print!("{}", g.to_mermaid()),
        GraphFormat::Dot => print!("{}", g.to_dot()),
    }
    Ok(EXIT_OK)
}
