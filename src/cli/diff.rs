//! `tenantc diff --base`: what a change does, in tenant terms.

use std::path::Path;

use tenantc::Error;

use super::{report_tree, Args, DiffFormat, Format, EXIT_OK};

pub(super) fn diff(
    args: &Args,
    base: &Path,
    config: &Path,
    output: &Path,
    format: DiffFormat,
) -> Result<u8, Error> {
    use tenantc::verify::{diff, reach::Model, tree::Tree};
    let json = if format == DiffFormat::Json {
        Format::Json
    } else {
        Format::Text
    };
    let (cfg, _) = tenantc::config_from_file(config)?;
    let intent = tenantc::intent::intent_of(&cfg);
    let d = if base.is_dir() {
        let known = diff::known(&[&intent]);
        let read =
            |dir: &Path| tenantc::verify::tree::read_tree(dir).map(|t| Model::build(t, &known));
        let (old, new) = match (read(base), read(output)) {
            (Ok(o), Ok(n)) => (o, n),
            (Err(e), _) | (_, Err(e)) => return Ok(report_tree(args, &e, json)),
        };
        diff::diff(
            &diff::view_of_tree(&old, &intent),
            &diff::view_of_tree(&new, &intent),
            &intent,
        )
    } else {
        let (base_cfg, _) = tenantc::config_from_file(base)?;
        let base_intent = tenantc::intent::intent_of(&base_cfg);
        let model = Model::build(Tree::default(), &diff::known(&[&intent, &base_intent]));
        let files = |c: tenantc::model::Config| {
            tenantc::compile_config(c, &tenantc::render::Templates::builtin(), "tenants.toml")
                .map(|compiled| compiled.tree.len())
        };
        let (old_files, new_files) = (files(base_cfg.clone())?, files(cfg.clone())?);
        diff::diff(
            &diff::view_of_intent(&base_intent, &model, old_files),
            &diff::view_of_intent(&intent, &model, new_files),
            &intent,
        )
    };
    match format {
        DiffFormat::Json => println!("{}", serde_json::to_string_pretty(&d).unwrap_or_default()),
        DiffFormat::Markdown => print!("{}", d.to_markdown()),
        DiffFormat::Text => print!("{}", d.to_text()),
    }
    Ok(EXIT_OK)
}
