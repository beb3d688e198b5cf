use std::process::ExitCode;

use clap::Parser;

mod cli;

/// mimalloc: tenantc allocates millions of small strings and maps on large trees, on several
/// threads; mimalloc is faster at that than the system allocator and gives memory back sooner.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    restore_sigpipe();
    let args = cli::Args::parse();
    ExitCode::from(cli::run(&args))
}

/// Rust ignores SIGPIPE, so `println!` panics when the reader of a pipe goes away
/// (`tenantc explain acme globex | head`). Like `cat` or `grep`, end quietly instead.
#[cfg(unix)]
fn restore_sigpipe() {
    // SAFETY: called first thing in main, before any other thread exists; SIG_DFL is a valid
    // disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn restore_sigpipe() {}
