//! Times each stage of one compile, in process: where the time of `tenantc compile` goes.
//!
//! `cargo run --release --example stages -- TENANTS.toml OUTPUT [--write]`
//! Without `--write` it compares with OUTPUT (what `--check` does) and writes nothing; with it, it
//! stages and commits (what a compile does).

use std::path::Path;
use std::time::Instant;

use tenantc::emit::Rendering;
use tenantc::render::Templates;
use tenantc::write;

/// This process's resident memory now (Linux; 0 elsewhere).
fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, config, output, rest @ ..] = args.as_slice() else {
        return Err("usage: stages TENANTS.toml OUTPUT [--write]".into());
    };
    let write_it = rest.iter().any(|a| a == "--write");
    let mut last = Instant::now();
    let mut lap = |stage: &str| {
        let now = Instant::now();
        println!(
            "{stage:<10} {:>8.1} ms   resident {:>6} MiB",
            (now - last).as_secs_f64() * 1e3,
            resident_kib() / 1024
        );
        last = now;
    };
    let (cfg, source) = tenantc::config_from_file(Path::new(config))?;
    lap("load");
    let name = Path::new(config)
        .file_name()
        .map_or("tenants.toml".into(), |n| n.to_string_lossy());
    let compiled = tenantc::compile_config(cfg, &name);
    lap("intent");
    let layout = compiled.layout();
    let templates = Templates::builtin();
    let producer = compiled.producer(&templates)?;
    let rendering = Rendering {
        layout: &layout,
        producer: &producer,
    };
    lap("layout");
    let output = Path::new(output);
    let out = write::Output::open(
        output,
        if write_it {
            write::Access::Write
        } else {
            write::Access::Read
        },
        &[],
    )?;
    let scan = write::scan(output).map_err(|e| format!("{e:?}"))?;
    lap("scan");
    let mut plan = write::survey(output, scan, layout.paths()).map_err(|e| format!("{e:?}"))?;
    lap("survey");
    // As compile: the destructive-change gate reads the config again only when a Namespace file
    // would be deleted.
    let deletes_a_namespace = plan.changes.iter().any(|(path, c)| {
        matches!(c, write::Change::Delete { .. })
            && tenantc::lifecycle::namespace_of_path(path).is_some()
    });
    let after = deletes_a_namespace.then(|| {
        tenantc::lifecycle::Side::of_config(&compiled.config, &compiled.intent, &source, config)
    });
    if after.is_some() {
        lap("lifecycle");
    }
    let fail = |e: write::Failure<_>| format!("{e:?}");
    match (&out, write_it) {
        (Some(out), true) => {
            let staged = out.stage(&mut plan, &rendering).map_err(fail)?;
            lap("stage");
            out.commit(&plan, &rendering, &staged)?;
            lap("commit");
        }
        _ => {
            write::compare(output, &mut plan, &rendering).map_err(fail)?;
            lap("compare");
        }
    }
    drop(after);
    println!(
        "{} files: {} created, {} updated, {} deleted, {} unchanged",
        layout.paths().count(),
        plan.created(),
        plan.updated(),
        plan.deleted(),
        plan.unchanged
    );
    Ok(())
}
