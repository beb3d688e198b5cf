use std::process::ExitCode;

use clap::Parser;

mod cli;

/// mimalloc: tenantc allocates millions of small strings and maps on large trees, on several
/// threads; mimalloc is faster at that than the system allocator and gives memory back sooner.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    ExitCode::from(cli::run(&args))
}
