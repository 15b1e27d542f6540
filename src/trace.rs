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

/// Prints `label` with the seconds since the start, the process's resident memory then (where
/// the OS tells it) and the thread it ran on.
pub fn mark(label: impl std::fmt::Display) {
    if let Some(start) = clock() {
        let thread = std::thread::current();
        let rss = resident_mib().map_or_else(|| "-".to_string(), |m| format!("{m:.0}"));
        eprintln!(
            "tfparity timings: {:8.3} s {:>6} MiB  {:<10} {label}",
            start.elapsed().as_secs_f64(),
            rss,
            thread.name().unwrap_or("worker"),
        );
    }
}

/// Resident memory now, from `/proc/self/statm` (its second field, in pages); `None` off Linux.
fn resident_mib() -> Option<f64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: f64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // Every Linux this runs on in practice has 4 KiB pages; a wrong guess only mislabels a figure.
    Some(pages * 4096.0 / (1024.0 * 1024.0))
}
