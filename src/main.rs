use std::process::ExitCode;

use clap::Parser;

mod cli;

/// mimalloc: tenantc allocates millions of small strings and maps on large trees, on several
/// threads; mimalloc is faster at that than the system allocator and gives memory back sooner.
/// Wrapped to hold a rendering template to its allocation budget.
#[global_allocator]
static GLOBAL: Budgeted = Budgeted(mimalloc::MiMalloc);

/// The global allocator, refusing a template more memory than
/// [`tenantc::render::ALLOCATION_BUDGET`]: the run then ends with exit code 2 and a message,
/// before anything is written (templates render before the write), instead of an out-of-memory
/// abort or the system's OOM killer.
struct Budgeted(mimalloc::MiMalloc);

// SAFETY: every call is forwarded unchanged to mimalloc; the budget check only reads and writes
// a thread-local `Cell` (no allocation) and, when exceeded, ends the process without unwinding.
unsafe impl std::alloc::GlobalAlloc for Budgeted {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        if !tenantc::render::charge_allocation(layout.size()) {
            over_budget();
        }
        unsafe { self.0.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        tenantc::render::refund_allocation(layout.size());
        unsafe { self.0.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        if !tenantc::render::charge_allocation(layout.size()) {
            over_budget();
        }
        unsafe { self.0.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            if !tenantc::render::charge_allocation(new_size - layout.size()) {
                over_budget();
            }
        } else {
            tenantc::render::refund_allocation(layout.size() - new_size);
        }
        unsafe { self.0.realloc(ptr, layout, new_size) }
    }
}

/// Inside the allocator nothing may allocate: a fixed message, written with one system call.
#[cfg(unix)]
fn over_budget() -> ! {
    const MESSAGE: &[u8] = b"error: a template used more than 256 MiB of memory to render one namespace (a value that grows without bound?); nothing was written\n";
    // SAFETY: write(2) and _exit(2) are async-signal-safe and allocate nothing.
    unsafe {
        libc::write(2, MESSAGE.as_ptr().cast(), MESSAGE.len());
        libc::_exit(2);
    }
}

#[cfg(not(unix))]
fn over_budget() -> ! {
    std::process::abort()
}

fn main() -> ExitCode {
    restore_sigpipe();
    no_transparent_huge_pages();
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

/// mimalloc asks the kernel for transparent huge pages, and each first touch of one makes the
/// kernel zero 2 MiB in the page fault. tenantc's heap grows and shrinks in many steps, so that
/// zeroing was 30-40% of verify's samples at 10,000 tenants (system time 1.4 to 2.1 s instead of
/// 0.5 s), and 36-45% of a no-op compile's. Ordinary 4 KiB pages are faulted in only as they are
/// used. At first this was for verify only, because a fresh compile's user CPU rose 8-14%
/// without huge pages; measured with the system time too, a no-op compile at 10,000 tenants with
/// every access key takes 0.567 s instead of 0.735 s, the same config without them 0.487 s
/// instead of 0.462 s, and at 100,000 tenants it does not move beyond the noise (see
/// bench/RESULTS.md, issue 21). The flag is the process's (see prctl(2)); tenantc starts no
/// other program that would inherit it.
#[cfg(target_os = "linux")]
fn no_transparent_huge_pages() {
    // SAFETY: PR_SET_THP_DISABLE takes one integer argument and changes no memory of ours; on a
    // kernel without it the call fails and nothing changes.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[cfg(not(target_os = "linux"))]
fn no_transparent_huge_pages() {}
