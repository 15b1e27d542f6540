//! The allocator the binary (and the benchmark, to measure the same thing) runs with: mimalloc,
//! told to keep freed memory for reuse until the process exits, on small pages.

/// `mi_option_purge_delay` in mimalloc v3's `mimalloc.h` (libmimalloc-sys names no constant
/// for it); `purge_delay_is_the_option_this_sets` checks it against its documented default.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Sets the process up as [`keep_freed_memory`] and [`small_pages`] say. Call it first thing
/// in `main`, before any thread starts, in a program whose global allocator is
/// `mimalloc::MiMalloc`.
pub fn configure() {
    keep_freed_memory();
    small_pages();
}

/// Freed memory stays with the allocator instead of going back to the OS: a run lasts about a
/// second, and memory given back is zeroed again by the kernel when the next stage asks for it
/// (7% of the wall time of a pair of 5,000-service plans, at 15% more peak memory, which
/// stays below the size of the input).
/// `MIMALLOC_PURGE_DELAY` in the environment, mimalloc's own setting, still takes precedence.
fn keep_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: sets a process-wide option of the allocator; called before any thread is started.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

/// Turns transparent huge pages off for the process (mimalloc asks for them on its arenas).
/// A run lasts about a second and touches each page of its heap a few times, so huge pages
/// save little on TLB misses; but where the kernel must find, and often first get back from a
/// hypervisor, a free 2 MiB block for each one, they cost far more than they save: on a
/// virtual machine whose host reclaims free memory, a pair of 5,000-service plans spent
/// 0.5-0.8 s of system time on 170 huge page faults, against 0.28 s on 91,000 small ones
/// (1.25-1.8 s wall against 1.05 s). `MIMALLOC_ALLOW_THP` in the environment, mimalloc's own
/// setting, still takes precedence.
fn small_pages() {
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_some() {
        return;
    }
    #[cfg(target_os = "linux")]
    // SAFETY: sets a flag of the calling process; the kernel checks it at each page fault, so
    // it holds for memory mapped before the call too. A kernel without it returns an error,
    // which leaves things as they were.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::MI_OPTION_PURGE_DELAY;

    #[test]
    fn purge_delay_is_the_option_this_sets() {
        // Unset (tests do not call it), purge_delay is 1000 ms; the options around it are not.
        // SAFETY: reads an allocator option.
        let get = |o| unsafe { libmimalloc_sys::mi_option_get(o) };
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(get(MI_OPTION_PURGE_DELAY), 1000);
        }
        assert_ne!(get(MI_OPTION_PURGE_DELAY - 1), 1000);
        assert_ne!(get(MI_OPTION_PURGE_DELAY + 1), 1000);
    }
}
