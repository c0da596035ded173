//! Discord's interaction deadline: an interaction must be answered within 3 seconds of its
//! creation, or its token is dead. Most of our work (a store read, a channel edit) takes a few
//! milliseconds, and answering at once saves the user a round trip ("thinking…" and then a
//! follow-up); work that is still running when the budget runs out is acknowledged first and
//! answered by a follow-up.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

/// How long work may run before it is acknowledged. A third of Discord's 3 s, which also
/// counts the gateway's delivery and the acknowledgement's own trip.
pub const ANSWER_AT_ONCE_WITHIN: Duration = Duration::from_secs(1);

/// Runs `work`; if it is not done within [`ANSWER_AT_ONCE_WITHIN`], runs `acknowledge` beside
/// it (the work is not held up). Returns the work's output and whether the interaction was
/// acknowledged (then the answer is a follow-up; otherwise the initial response).
pub async fn run<T, E: Display>(
    work: impl Future<Output = T>,
    acknowledge: impl Future<Output = Result<(), E>>,
) -> (T, bool) {
    run_within(ANSWER_AT_ONCE_WITHIN, work, acknowledge).await
}

async fn run_within<T, E: Display>(
    budget: Duration,
    work: impl Future<Output = T>,
    acknowledge: impl Future<Output = Result<(), E>>,
) -> (T, bool) {
    let mut work = std::pin::pin!(work);
    match tokio::time::timeout(budget, &mut work).await {
        Ok(out) => (out, false),
        Err(_) => {
            let (acked, out) = tokio::join!(acknowledge, work);
            if let Err(e) = &acked {
                tracing::warn!("could not acknowledge a slow interaction: {e}");
            }
            (out, acked.is_ok())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUDGET: Duration = Duration::from_millis(30);

    #[tokio::test]
    async fn quick_work_is_not_acknowledged() {
        let (out, acked) =
            run_within(BUDGET, async { 7 }, async { Err::<(), _>("must not run") }).await;
        assert_eq!((out, acked), (7, false));
    }

    #[tokio::test]
    async fn slow_work_is_acknowledged_while_it_runs() {
        let acked_at = std::sync::Mutex::new(false);
        let (out, acked) = run_within(
            BUDGET,
            async {
                tokio::time::sleep(BUDGET * 5).await;
                // The acknowledgement went out while this was still sleeping.
                *acked_at.lock().unwrap()
            },
            async {
                *acked_at.lock().unwrap() = true;
                Ok::<(), String>(())
            },
        )
        .await;
        assert!(out, "acknowledged before the work finished");
        assert!(acked);
    }

    #[tokio::test]
    async fn a_failed_acknowledgement_is_reported() {
        let (out, acked) = run_within(
            BUDGET,
            async {
                tokio::time::sleep(BUDGET * 3).await;
                1
            },
            async { Err::<(), _>("token expired") },
        )
        .await;
        assert_eq!((out, acked), (1, false));
    }
}
