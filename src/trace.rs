//! Stage timings on standard error when `TFPARITY_TIMINGS` is set: where a slow run spends
//! its time (read, scan, graph, model, checks, render), with no profiler at hand.

use std::sync::OnceLock;
use std::time::Instant;

/// The process's start, and whether timings are wanted (read once).
static CLOCK: OnceLock<Option<Instant>> = OnceLock::new();

fn clock() -> Option<Instant> {
    *CLOCK.get_or_init(|| {
        std::env::var_os("TFPARITY_TIMINGS")
            .filter(|v| !v.is_empty())
            .map(|_| Instant::now())
    })
}

/// Starts the clock; `main` calls it first so that times count from the process's start.
pub fn init() {
    clock();
}

/// Prints `label` with the seconds since the start and the thread it ran on.
pub fn mark(label: impl std::fmt::Display) {
    if let Some(start) = clock() {
        let thread = std::thread::current();
        eprintln!(
            "tfparity timings: {:8.3} s  {:<10} {label}",
            start.elapsed().as_secs_f64(),
            thread.name().unwrap_or("worker"),
        );
    }
}
