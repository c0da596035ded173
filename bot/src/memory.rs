//! Giving memory back after a burst. glibc's allocator keeps what a burst of a thousand clicks
//! allocated and freed (its heaps shrink only from the top), so a bot that once served a burst
//! would hold that peak for good. Once the bot has had new work and then a quiet moment,
//! `malloc_trim` hands the free pages back to the system (after 10,000 tickets in bursts of
//! 1,000: 143–177 MiB → 49–54 MiB, idle at start 25 MiB).

use std::sync::Arc;
use std::time::Duration;

use crate::data::Data;

/// How often the bot looks whether new work came: it trims once a whole period has passed
/// without any (work still running, such as a long archive, does not hold the trim back).
const CHECK_EVERY: Duration = Duration::from_secs(2);

pub async fn trim_loop(data: Arc<Data>) {
    let mut interval = tokio::time::interval(CHECK_EVERY);
    let (mut seen, mut trimmed_at) = (0, 0);
    loop {
        interval.tick().await;
        let begun = data.work_begun();
        if begun == seen && begun != trimmed_at {
            trim();
            trimmed_at = begun;
        }
        seen = begun;
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim only walks and shrinks glibc's own heaps; it takes their locks.
    let released = unsafe { libc::malloc_trim(0) };
    tracing::debug!(released = released != 0, "memory trimmed after work");
}

/// Other allocators (musl, macOS) give memory back on their own, or offer no such call.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
