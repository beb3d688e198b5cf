//! Times verify's parse of a tree's files, in memory and on one thread: what each document costs
//! the reader, without the file system.
//!
//! `cargo run --release --example parse -- OUTPUT [ROUNDS] [NAME]` parses every `NAME` file
//! (default `networkpolicies.yaml`) below OUTPUT, ROUNDS times (default 5), and prints the time
//! per document of each round.

use std::time::Instant;

use tenantc::verify::tree::{parse_file, Tree};

/// The allocator the binary uses (see `src/main.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, output, rest @ ..] = args.as_slice() else {
        return Err("usage: parse OUTPUT [ROUNDS] [NAME]".into());
    };
    // As verify runs (see `no_transparent_huge_pages` in src/main.rs).
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes one integer and changes no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
    let rounds: usize = rest.first().map_or(Ok(5), |r| r.parse())?;
    let name = rest.get(1).map_or("networkpolicies.yaml", String::as_str);
    let mut files = Vec::new();
    for e in walkdir::WalkDir::new(output).sort_by_file_name() {
        let e = e?;
        if e.file_type().is_file() && e.file_name() == name {
            files.push((
                e.path().display().to_string(),
                std::fs::read_to_string(e.path())?,
            ));
        }
    }
    let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
    println!("{} files, {} MB", files.len(), bytes / 1_000_000);
    for _ in 0..rounds {
        let mut tree = Tree::default();
        let start = Instant::now();
        for (path, text) in &files {
            parse_file(text, path, &mut tree)?;
        }
        let took = start.elapsed();
        println!(
            "{} documents in {:.1} ms: {:.2} us each",
            tree.documents,
            took.as_secs_f64() * 1e3,
            took.as_secs_f64() * 1e6 / tree.documents.max(1) as f64
        );
    }
    Ok(())
}
