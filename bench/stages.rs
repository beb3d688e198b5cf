//! Times each stage of one compile, in process: where the time of `tenantc compile` goes.
//!
//! `cargo run --release --example stages -- TENANTS.toml OUTPUT [--write]`
//! Without `--write` it plans against OUTPUT (what a no-op compile or `--check` does) and writes
//! nothing.

use std::path::Path;
use std::time::Instant;

use tenantc::render::Templates;
use tenantc::{emit, intent, render, write};

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
    let (cfg, _) = tenantc::config_from_file(Path::new(config))?;
    lap("load");
    let intent = intent::intent_of(&cfg);
    lap("intent");
    let rendered = render::render(&intent, &Templates::builtin())
        .map_err(|e| format!("{} template error(s)", e.len()))?;
    lap("render");
    let gitops = match intent::gitops_of(&cfg) {
        Some(g) => Some(
            render::render_gitops(&g, &Templates::builtin())
                .map_err(|e| format!("{} template error(s)", e.len()))?,
        ),
        None => None,
    };
    lap("gitops");
    let name = Path::new(config)
        .file_name()
        .map_or("tenants.toml".into(), |n| n.to_string_lossy());
    let tree = emit::emit(&intent, rendered, gitops, &name);
    lap("emit");
    let plan = write::plan(Path::new(output), &tree).map_err(|e| format!("{e:?}"))?;
    lap("plan");
    if write_it {
        write::apply(Path::new(output), &plan)?;
        lap("apply");
    }
    println!(
        "{} files, {} bytes, {} changes",
        tree.len(),
        tree.values().map(String::len).sum::<usize>(),
        plan.changes.len()
    );
    Ok(())
}
