//! The state every handler shares: the store, the settings, and the shutdown gate.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use ticketbot_common::config::BotSettings;
use ticketbot_common::rules::Policy;
use ticketbot_common::store::TicketStore;
use tokio::sync::Notify;

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Context<'a> = poise::Context<'a, Arc<Data>, Error>;

/// Channel placements at once per guild with serenity's rate limiter on (see [`Data::placing`]).
const PLACEMENTS_AT_ONCE: usize = 1;

/// The same behind a rate-limiting proxy (`DISCORD_API_BASE`), which queues by Discord's buckets
/// itself: placements overlap, and a burst of openings is not one channel at a time.
const PLACEMENTS_AT_ONCE_PROXIED: usize = 16;

pub struct Data {
    pub store: Arc<dyn TicketStore>,
    pub settings: Arc<BotSettings>,
    pub policy: Policy,
    /// Identifies this process in heartbeats and logs.
    pub instance_id: String,
    /// Ticket-like channels that no ticket holds, already reported (once per process).
    pub reported_strays: std::sync::Mutex<std::collections::HashSet<u64>>,
    /// Tickets this process is opening right now (row made, channel not yet): a rate-limited
    /// burst can keep one waiting for minutes, and the repair must not take it for a crash's
    /// leftover.
    pub opening: std::sync::Mutex<std::collections::HashSet<uuid::Uuid>>,
    /// Channel placements run one at a time per guild: Discord's channel-creation bucket is per
    /// guild, and serenity's rate limiter learns a bucket only from an answer and, after each
    /// window, lets every waiting request go at once; with even 2 at a time a burst of 200
    /// openings met 14 429s (measured with `bot/tests/ratelimit.rs`), with 1 none. Behind a
    /// proxy the limiter is off and the proxy queues: [`PLACEMENTS_AT_ONCE_PROXIED`].
    pub placing: std::sync::Mutex<std::collections::HashMap<u64, Arc<tokio::sync::Semaphore>>>,
    /// Held while this process makes an overflow category (`categories`): the placements that
    /// found every category full at once wait for one new category instead of each making
    /// its own.
    pub making_overflow: tokio::sync::Mutex<()>,
    /// Categories Discord lately answered "full" to a placement of this process, and when
    /// (`categories`): a hint, so that a burst's placements do not each ask again.
    pub full_categories: std::sync::Mutex<std::collections::HashMap<u64, std::time::Instant>>,
    /// This process's placements into each category that the cache does not show yet
    /// (`categories`): counted with the category's channels against Discord's limit of 50.
    pub placements: std::sync::Mutex<std::collections::HashMap<u64, crate::categories::Arrivals>>,
    /// Woken whenever one of those placements ends.
    pub placement_ended: Notify,
    /// Ticket channels whose first staff response is known to be recorded, with their ticket's
    /// creator (`first_response`).
    pub answered: std::sync::Mutex<std::collections::HashMap<u64, u64>>,
    /// Names as last recorded by this process (`names`): a sighting that changes nothing
    /// writes nothing.
    pub names_seen: std::sync::Mutex<std::collections::HashMap<u64, crate::names::Seen>>,
    /// When this process last wrote each channel's last message time (`auto_close`).
    pub activity_written:
        std::sync::Mutex<std::collections::HashMap<u64, chrono::DateTime<chrono::Utc>>>,
    stopping: AtomicBool,
    in_flight: AtomicUsize,
    /// Units of work begun since the start (`memory` trims after new work).
    begun: AtomicUsize,
    idle: Notify,
}

impl Data {
    pub fn new(store: Arc<dyn TicketStore>, settings: Arc<BotSettings>) -> Self {
        let policy = Policy {
            creator_may_close: settings.creator_may_close,
            max_open_per_user: settings.max_open_per_user,
        };
        Data {
            store,
            settings,
            policy,
            instance_id: format!(
                "{}-{}",
                std::process::id(),
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
            reported_strays: Default::default(),
            opening: Default::default(),
            placing: Default::default(),
            making_overflow: Default::default(),
            full_categories: Default::default(),
            placements: Default::default(),
            placement_ended: Notify::new(),
            answered: Default::default(),
            names_seen: Default::default(),
            activity_written: Default::default(),
            stopping: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            begun: AtomicUsize::new(0),
            idle: Notify::new(),
        }
    }

    /// Marks one unit of work as running; `None` once shutdown has begun (no new work).
    pub fn begin_work(self: &Arc<Self>) -> Option<WorkGuard> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.begun.fetch_add(1, Ordering::Relaxed);
        if self.stopping.load(Ordering::SeqCst) {
            self.end_work();
            return None;
        }
        Some(WorkGuard(self.clone()))
    }

    fn end_work(&self) {
        if self.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
    }

    /// Units of work begun since the start.
    pub fn work_begun(&self) -> usize {
        self.begun.load(Ordering::Relaxed)
    }

    /// Refuses new work from now on and waits for what is running to finish.
    pub async fn drain(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        loop {
            let idle = self.idle.notified();
            if self.in_flight.load(Ordering::SeqCst) == 0 {
                return;
            }
            idle.await;
        }
    }
}

/// Held while a handler runs; dropping it ends the work.
pub struct WorkGuard(Arc<Data>);

impl Drop for WorkGuard {
    fn drop(&mut self) {
        self.0.end_work();
    }
}

impl Data {
    /// The placement permits of `guild` (see [`Data::placing`]).
    pub fn placement_permits(&self, guild: u64) -> Arc<tokio::sync::Semaphore> {
        let mut map = self
            .placing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(guild)
            .or_insert_with(|| {
                let at_once = if self.settings.api_base.is_some() {
                    PLACEMENTS_AT_ONCE_PROXIED
                } else {
                    PLACEMENTS_AT_ONCE
                };
                Arc::new(tokio::sync::Semaphore::new(at_once))
            })
            .clone()
    }

    /// Whether this process is opening `ticket` right now.
    pub fn is_opening(&self, ticket: uuid::Uuid) -> bool {
        self.opening
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(&ticket)
    }
}

/// Marks a ticket as being opened by this process while it lives.
pub struct Opening<'a> {
    data: &'a Data,
    id: uuid::Uuid,
}

impl<'a> Opening<'a> {
    pub fn new(data: &'a Data, id: uuid::Uuid) -> Self {
        data.opening
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id);
        Opening { data, id }
    }
}

impl Drop for Opening<'_> {
    fn drop(&mut self) {
        self.data
            .opening
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.id);
    }
}

/// A std mutex's guard, also after a panic elsewhere poisoned it (the maps it guards are
/// caches: a half-done update there costs a database read, nothing more).
pub fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
