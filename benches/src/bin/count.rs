//! Heap allocations per parse, and a fixed workload for instruction counting.
//!
//! `count <parser> <message> <iterations>` parses the message `iterations` times with
//! `sipwarden` or `rsip` and prints the allocations and bytes allocated per parse,
//! counted by a wrapping global allocator. `scripts/bench-instructions` runs it under
//! callgrind twice (1 and N+1 iterations) and divides the difference by N, so start-up
//! and the allocator counter itself cancel out.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use sipwarden_benches::{rsip_parse, sipwarden_parse, INVITE, REGISTER};
use sipwarden_wire::Limits;

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// Implementing GlobalAlloc is unsafe by definition; this one forwards every call to the
// system allocator unchanged and only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(parser), Some(message)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: count <sipwarden|rsip> <invite|register> [iterations]");
        return ExitCode::from(2);
    };
    let iterations: u64 = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(1000);
    let msg = match message.as_str() {
        "invite" => INVITE,
        "register" => REGISTER,
        _ => return ExitCode::from(2),
    };
    let limits = Limits::default();
    let before = (
        ALLOCS.load(Ordering::Relaxed),
        BYTES.load(Ordering::Relaxed),
    );
    let mut ok = 0u64;
    for _ in 0..iterations {
        let got = match parser.as_str() {
            "sipwarden" => sipwarden_parse(black_box(Bytes::from_static(msg)), &limits),
            "rsip" => rsip_parse(black_box(msg)),
            _ => return ExitCode::from(2),
        };
        ok += u64::from(black_box(got).is_some());
    }
    let allocs = ALLOCS.load(Ordering::Relaxed) - before.0;
    let bytes = BYTES.load(Ordering::Relaxed) - before.1;
    let n = iterations.max(1) as f64;
    println!(
        "{parser} {message}: {iterations} parses ({ok} ok), {:.2} allocations/parse, {:.0} bytes allocated/parse",
        allocs as f64 / n,
        bytes as f64 / n
    );
    if ok == iterations {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
