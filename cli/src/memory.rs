//! The allocator's memory during `migrate`. glibc gives each thread that meets another in the
//! allocator an arena of its own, and an arena keeps what it once held: the copy's reader,
//! writers and verification, on the runtime's threads, left ~80 MB freed but held in their
//! arenas on 1,000,000 tickets with 300,000 ratings (peak 246 MB; with two arenas 173 MB, in
//! the same time).

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
