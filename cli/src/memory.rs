//! The allocator's memory during `migrate` and after a takeover. glibc gives each thread that
//! meets another in the allocator an arena of its own, and an arena keeps what it once held:
//! the copy's reader, writers and verification, on the runtime's threads, left ~80 MB freed
//! but held in their arenas on 1,000,000 tickets with 300,000 ratings (peak 246 MB; with two
//! arenas 173 MB, in the same time).

/// At most two arenas (set before the runtime's threads start).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn few_arenas() {
    // SAFETY: mallopt sets one of glibc's allocator parameters; no memory is touched.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Other allocators (musl, macOS) have no such parameter.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn few_arenas() {}

/// Hands the allocator's free pages back to the system. A start that took over a Python-bot
/// database (or built a bulk load's indexes) leaves its peak freed but held (1,000,000
/// tickets: ~45 MB) under the command that follows.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn give_back() {
    // SAFETY: malloc_trim only walks and shrinks glibc's own heaps; it takes their locks.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn give_back() {}
