//! `tenantc diff --base`: what a change does, in tenant terms.

use std::path::Path;

use tenantc::Error;

use super::{DiffFormat, EXIT_DRIFT, EXIT_OK};

pub(super) fn diff(
    base: &Path,
    config: &Path,
    output: &Path,
    format: DiffFormat,
) -> Result<u8, Error> {
    use tenantc::verify::{model::Model, review::diff, tree::Tree};
    let (cfg, source) = tenantc::config_from_file(config)?;
    let intent = tenantc::intent::intent_of(&cfg);
    let after =
        tenantc::lifecycle::Side::of_config(&cfg, &intent, &source, &config.display().to_string());
    let before;
    let d = if base.is_dir() {
        let known = diff::known(&[&intent]);
        let read =
            |dir: &Path| tenantc::verify::tree::read_tree(dir).map(|t| Model::build(t, &known));
        let (old, new) = match (read(base), read(output)) {
            (Ok(o), Ok(n)) => (o, n),
            (Err(e), _) | (_, Err(e)) => return Err(Error::Tree(e)),
        };
        let files = super::lifecycle::namespace_files(base);
        let mut side = tenantc::lifecycle::Side::of_namespace_files(
            files.iter().map(|(p, t)| (p.clone(), t.as_str())),
        );
        for held in side.namespaces.values_mut() {
            held.at.file = base.join(&held.at.file).display().to_string();
        }
        before = side;
        diff::diff(
            &diff::view_of_tree(&old, &intent),
            &diff::view_of_tree(&new, &intent),
            &intent,
        )
    } else {
        let (base_cfg, base_source) = tenantc::config_from_file(base)?;
        let base_intent = tenantc::intent::intent_of(&base_cfg);
        before = tenantc::lifecycle::Side::of_config(
            &base_cfg,
            &base_intent,
            &base_source,
            &base.display().to_string(),
        );
        let model = Model::build(Tree::default(), &diff::known(&[&intent, &base_intent]));
        let files = |c: tenantc::model::Config| {
            tenantc::compile_config(c, "tenants.toml")
                .layout()
                .paths()
                .count()
        };
        let (old_files, new_files) = (files(base_cfg.clone()), files(cfg.clone()));
        diff::diff(
            &diff::view_of_intent(&base_intent, &model, old_files),
            &diff::view_of_intent(&intent, &model, new_files),
            &intent,
        )
    };
    // Destructive changes come first, in every format; CI fails on an unacknowledged one.
    let lifecycle = tenantc::lifecycle::compare(&before, &after);
    match format {
        DiffFormat::Json => {
            /// The diff's fields in their order, then the lifecycle report.
            #[derive(serde::Serialize)]
            struct Doc<'a> {
                #[serde(flatten)]
                diff: &'a diff::Diff,
                lifecycle: &'a tenantc::lifecycle::Report,
            }
            let doc = Doc {
                diff: &d,
                lifecycle: &lifecycle,
            };
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
        DiffFormat::Markdown => print!("{}{}", lifecycle.to_markdown(), d.to_markdown()),
        DiffFormat::Text => print!("{}{}", lifecycle.to_text(), d.to_text()),
    }
    if lifecycle.unacknowledged > 0 {
        super::lifecycle::report_refusal_diff(&lifecycle);
        return Ok(EXIT_DRIFT);
    }
    Ok(EXIT_OK)
}
