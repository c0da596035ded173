//! Discord's channel limits: 50 channels in a category, 500 in a guild. When the configured
//! open or closed category is full, Discord's answer (400/50035 `CHANNEL_PARENT_MAX_CHANNELS`,
//! sometimes before 50: below 50 the answer is trusted, not a count) makes the bot use the
//! overflow categories it made before (`Tickets 2`, ...) or make a new one beside the full
//! one, with the same permission overwrites, recorded in the database so that every process
//! uses it. An overflow category is deleted again once it is empty.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use poise::serenity_prelude as serenity;
use serenity::{ChannelId, CreateChannel, GuildChannel, GuildId};
use ticketbot_common::store::{CategoryKind, OverflowCategory};
use ticketbot_common::ticket::now;

use crate::data::{lock, Data};

/// Why a channel could not be placed.
#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    /// 400/30013: the guild holds 500 channels.
    #[error("the server has reached Discord's limit of 500 channels")]
    GuildFull,
    #[error("{}", crate::service::discord_error(.0))]
    Discord(#[from] serenity::Error),
    #[error(transparent)]
    Store(#[from] ticketbot_common::StoreError),
}

fn discord_json(e: &serenity::Error) -> Option<&serenity::DiscordJsonError> {
    match e {
        serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(r)) => Some(&r.error),
        _ => None,
    }
}

/// 400/50035 with `CHANNEL_PARENT_MAX_CHANNELS` on `parent_id`.
pub fn is_category_full(e: &serenity::Error) -> bool {
    discord_json(e).is_some_and(|j| {
        j.code == 50035
            && j.errors
                .iter()
                .any(|x| x.code == "CHANNEL_PARENT_MAX_CHANNELS")
    })
}

/// 400/30013: "Maximum number of guild channels reached (500)".
pub fn is_guild_full(e: &serenity::Error) -> bool {
    discord_json(e).is_some_and(|j| j.code == 30013)
}

pub fn is_not_found(e: &serenity::Error) -> bool {
    matches!(e, serenity::Error::Http(h) if h.status_code() == Some(serenity::StatusCode::NOT_FOUND))
}

/// The configured category of a kind.
pub fn base(data: &Data, kind: CategoryKind) -> Option<u64> {
    match kind {
        CategoryKind::Open => data.settings.open_category_id,
        CategoryKind::Closed => data.settings.closed_category_id,
    }
}

/// The categories of a kind in the order they are used: the configured one, then the
/// overflow ones by number.
pub async fn all_of_kind(
    data: &Data,
    guild: GuildId,
    kind: CategoryKind,
) -> Result<Vec<u64>, PlaceError> {
    let Some(base) = base(data, kind) else {
        return Ok(Vec::new());
    };
    let mut ids = vec![base];
    ids.extend(
        data.store
            .overflow_categories(guild.get(), base)
            .await?
            .into_iter()
            .map(|c| c.category_id),
    );
    Ok(ids)
}

/// What to do with one category: the create or the move.
enum Op {
    Create(GuildId, Box<CreateChannel<'static>>),
    Move(ChannelId),
}

impl Op {
    async fn place(
        &self,
        http: &serenity::Http,
        category: Option<ChannelId>,
    ) -> serenity::Result<GuildChannel> {
        match self {
            Op::Create(guild, builder) => {
                let mut b = (**builder).clone();
                if let Some(c) = category {
                    b = b.category(c);
                }
                guild.create_channel(http, b).await
            }
            Op::Move(channel) => {
                let edit = serenity::EditChannel::new().category(category);
                channel.edit(http, edit).await
            }
        }
    }
}

/// Creates the channel `builder` describes in the first category of `kind` that takes it.
pub async fn create_channel(
    http: &serenity::Http,
    cache: &serenity::Cache,
    data: &Data,
    guild: GuildId,
    kind: CategoryKind,
    builder: CreateChannel<'static>,
) -> Result<GuildChannel, PlaceError> {
    let permits = data.placement_permits(guild.get());
    // Never closed, so acquiring only waits.
    let _turn = permits.acquire().await.ok();
    place(
        http,
        cache,
        data,
        guild,
        kind,
        &Op::Create(guild, Box::new(builder)),
    )
    .await
}

/// Moves a channel into the first category of `kind` that takes it.
pub async fn move_channel(
    http: &serenity::Http,
    cache: &serenity::Cache,
    data: &Data,
    guild: GuildId,
    kind: CategoryKind,
    channel: ChannelId,
) -> Result<GuildChannel, PlaceError> {
    let permits = data.placement_permits(guild.get());
    // Never closed, so acquiring only waits.
    let _turn = permits.acquire().await.ok();
    place(http, cache, data, guild, kind, &Op::Move(channel)).await
}

/// Moves `channel` into `category`, one the guild's configuration does not manage (a topic's).
pub async fn move_into(
    http: &serenity::Http,
    channel: ChannelId,
    category: u64,
) -> Result<GuildChannel, PlaceError> {
    Op::Move(channel)
        .place(http, Some(ChannelId::new(category)))
        .await
        .map_err(classify)
}

/// Rounds of "try every category, then make one more" before giving up: under a burst, the
/// category made in one round can fill up before this call gets its place in it.
const ROUNDS: usize = 8;

async fn place(
    http: &serenity::Http,
    cache: &serenity::Cache,
    data: &Data,
    guild: GuildId,
    kind: CategoryKind,
    op: &Op,
) -> Result<GuildChannel, PlaceError> {
    let moving = match op {
        Op::Move(channel) => Some(*channel),
        Op::Create(..) => None,
    };
    // Categories that said "full" to this call, or that the count shows full.
    let mut full: HashSet<u64> = HashSet::new();
    let mut last_full = None;
    for _ in 0..ROUNDS {
        let candidates = all_of_kind(data, guild, kind).await?;
        if candidates.is_empty() {
            return op.place(http, None).await.map_err(classify);
        }
        full.extend(
            lately_full(data)
                .into_iter()
                .filter(|c| candidates.contains(c)),
        );
        let untried: Vec<u64> = candidates
            .into_iter()
            .filter(|c| !full.contains(c))
            .collect();
        for category in untried {
            let Some(seat) = Seat::take(data, cache, guild, category, moving).await else {
                // Full by the count, with this process's placements under way into it.
                full.insert(category);
                continue;
            };
            match op.place(http, Some(ChannelId::new(category))).await {
                Ok(c) => {
                    seat.landed(c.id);
                    return Ok(c);
                }
                Err(e) if is_category_full(&e) => {
                    tracing::debug!("category {category} is full");
                    lock(&data.full_categories).insert(category, Instant::now());
                    full.insert(category);
                    last_full = Some(e);
                }
                Err(e) if is_guild_full(&e) => return Err(PlaceError::GuildFull),
                Err(e) if Some(category) != base(data, kind) => {
                    // An overflow category deleted by hand (or by another process that found
                    // it empty): forget it and go on.
                    if let Err(g) = http.get_channel(ChannelId::new(category)).await {
                        if is_not_found(&g) {
                            data.store.remove_overflow_category(category).await?;
                            full.insert(category);
                            continue;
                        }
                    }
                    return Err(PlaceError::Discord(e));
                }
                Err(e) => return Err(PlaceError::Discord(e)),
            }
        }
        // Every category is full: make the next one (or find the one another task just made).
        new_overflow(http, cache, data, guild, kind, &full).await?;
    }
    Err(last_full.map_or(PlaceError::GuildFull, PlaceError::Discord))
}

/// Channels a category holds at most (Discord's limit).
const CATEGORY_LIMIT: usize = 50;

/// This process's placements into one category that the cache does not show yet
/// ([`Data::placements`]).
#[derive(Debug, Default)]
pub struct Arrivals {
    /// Requests sent and not answered.
    under_way: usize,
    /// Channels placed, until the gateway's event puts them in the cache (or [`SHOWN_WITHIN`]
    /// passes).
    landed: Vec<(ChannelId, Instant)>,
}

/// How long a channel this process placed counts in its category while the cache does not
/// show it (a gateway event lost, or the channel deleted at once): long past any event's lag.
const SHOWN_WITHIN: Duration = Duration::from_secs(10);

/// A place in a category taken for one placement: counted with the category's channels until
/// the placement fails, or its channel shows in the cache.
struct Seat<'a> {
    data: &'a Data,
    category: u64,
    landed: Option<ChannelId>,
}

impl<'a> Seat<'a> {
    /// A place in `category`, unless the channels the cache shows in it and those this
    /// process placed since make [`CATEGORY_LIMIT`] (`None`: full). When the last places are
    /// only taken by placements under way, it waits for one of them to end: a channel can
    /// show in the cache before its placement has its answer, and counted twice it would have
    /// a category made while one place is left. Below the limit Discord's answer decides.
    /// Without the count, a burst's 16 placements at once each met the full category and each
    /// paid a refused request (151-199 in a burst of 1,000). A channel being moved does not
    /// count against the category it is in already.
    async fn take(
        data: &'a Data,
        cache: &serenity::Cache,
        guild: GuildId,
        category: u64,
        moving: Option<ChannelId>,
    ) -> Option<Seat<'a>> {
        let parent = Some(ChannelId::new(category));
        loop {
            // Registered before counting, so that a placement ending meanwhile is not missed.
            let ended = data.placement_ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            let shown: HashSet<ChannelId> = cache
                .guild(guild)
                .map(|g| {
                    g.channels
                        .values()
                        .filter(|c| c.parent_id == parent && Some(c.id) != moving)
                        .map(|c| c.id)
                        .collect()
                })
                .unwrap_or_default();
            {
                let mut all = lock(&data.placements);
                let mine = all.entry(category).or_default();
                mine.landed
                    .retain(|(id, at)| !shown.contains(id) && at.elapsed() < SHOWN_WITHIN);
                let known = shown.len() + mine.landed.len();
                if known >= CATEGORY_LIMIT {
                    if mine.under_way == 0 && mine.landed.is_empty() {
                        all.remove(&category);
                    }
                    return None;
                }
                if known + mine.under_way < CATEGORY_LIMIT {
                    mine.under_way += 1;
                    return Some(Seat {
                        data,
                        category,
                        landed: None,
                    });
                }
            }
            ended.await;
        }
    }

    /// The placement made `channel`: it counts until the cache shows it.
    fn landed(mut self, channel: ChannelId) {
        self.landed = Some(channel);
    }
}

impl Drop for Seat<'_> {
    fn drop(&mut self) {
        {
            let mut all = lock(&self.data.placements);
            if let Some(mine) = all.get_mut(&self.category) {
                mine.under_way = mine.under_way.saturating_sub(1);
                if let Some(id) = self.landed {
                    mine.landed.push((id, Instant::now()));
                }
                if mine.under_way == 0 && mine.landed.is_empty() {
                    all.remove(&self.category);
                }
            }
        }
        self.data.placement_ended.notify_waiters();
    }
}

/// How long a category that Discord said was full is not asked again by this process (unless
/// a channel leaves it before: [`room_made`]). The gateway's channel events (the cache's
/// counts) lag behind a burst's creates: without the hint, each of a thousand placements
/// asked every full category once before the cache caught up.
const FULL_FOR: Duration = Duration::from_secs(10);

/// A channel left `category` (deleted, or moved out): it may have room again.
pub fn room_made(data: &Data, category: Option<ChannelId>) {
    if let Some(c) = category {
        lock(&data.full_categories).remove(&c.get());
    }
}

/// The categories Discord said were full less than [`FULL_FOR`] ago.
fn lately_full(data: &Data) -> HashSet<u64> {
    let mut known = lock(&data.full_categories);
    known.retain(|_, at| at.elapsed() < FULL_FOR);
    known.keys().copied().collect()
}

fn classify(e: serenity::Error) -> PlaceError {
    if is_guild_full(&e) {
        PlaceError::GuildFull
    } else {
        PlaceError::Discord(e)
    }
}

/// Makes the next overflow category beside the configured one (same overwrites, next
/// number), or adopts the one another process recorded first.
async fn new_overflow(
    http: &serenity::Http,
    cache: &serenity::Cache,
    data: &Data,
    guild: GuildId,
    kind: CategoryKind,
    full: &HashSet<u64>,
) -> Result<u64, PlaceError> {
    let Some(base_id) = base(data, kind) else {
        return Err(PlaceError::Discord(serenity::Error::Other(
            "no category configured",
        )));
    };
    // One at a time in this process: under a burst, the placements that all met a full
    // category at once would each make a category and all but one delete theirs again (the
    // database keeps the first recorded). Waiting here, they find the one just made.
    let _one = data.making_overflow.lock().await;
    let existing = data.store.overflow_categories(guild.get(), base_id).await?;
    if let Some(fresh) = existing.iter().find(|c| !full.contains(&c.category_id)) {
        // Made by another task or process since this call looked: try it first.
        return Ok(fresh.category_id);
    }
    let number = existing.iter().map(|c| c.number).max().unwrap_or(1) + 1;
    let base_channel = match cache
        .guild(guild)
        .and_then(|g| g.channels.get(&ChannelId::new(base_id)).cloned())
    {
        Some(c) => c,
        None => http
            .get_channel(ChannelId::new(base_id))
            .await?
            .guild()
            .ok_or(serenity::Error::Other(
                "the configured category is not a guild channel",
            ))?,
    };
    let name = format!("{} {number}", base_channel.name);
    let builder = CreateChannel::new(name.clone())
        .kind(serenity::ChannelType::Category)
        .permissions(base_channel.permission_overwrites.clone())
        .position(
            base_channel
                .position
                .saturating_add(u16::try_from(number).unwrap_or(u16::MAX)),
        );
    let made = guild
        .create_channel(http, builder)
        .await
        .map_err(classify)?;
    let record = OverflowCategory {
        guild_id: guild.get(),
        base_id,
        kind,
        number,
        category_id: made.id.get(),
        created_at: now(),
    };
    match data.store.add_overflow_category(&record).await {
        Ok(None) => {
            tracing::info!(
                "category {} is full: made overflow category \"{name}\" ({})",
                base_id,
                made.id
            );
            Ok(made.id.get())
        }
        Ok(Some(winner)) => {
            // Another process made number `number` first: use its category, drop ours.
            made.id.delete(http).await.ok();
            Ok(winner.category_id)
        }
        Err(e) => {
            made.id.delete(http).await.ok();
            Err(e.into())
        }
    }
}

/// Deletes an overflow category that no longer holds a channel (asks Discord, not the cache,
/// which may lag behind a delete made a moment ago).
pub async fn remove_if_empty(
    http: &serenity::Http,
    data: &Data,
    guild: GuildId,
    category: Option<u64>,
) {
    let Some(category) = category else { return };
    let known = match data.store.all_overflow_categories().await {
        Ok(all) => all.into_iter().any(|c| c.category_id == category),
        Err(e) => {
            tracing::debug!("cannot list overflow categories: {e}");
            false
        }
    };
    if !known {
        return;
    }
    let channels = match guild.channels(http).await {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!("cannot list the channels of {guild}: {e}");
            return;
        }
    };
    if channels
        .values()
        .any(|c| c.parent_id.map(|p| p.get()) == Some(category))
    {
        return;
    }
    match ChannelId::new(category).delete(http).await {
        Ok(_) => {}
        Err(e) if is_not_found(&e) => {}
        Err(e) => {
            tracing::warn!("cannot delete the empty overflow category {category}: {e}");
            return;
        }
    }
    if let Err(e) = data.store.remove_overflow_category(category).await {
        tracing::warn!("cannot forget overflow category {category}: {e}");
    } else {
        tracing::info!("deleted the empty overflow category {category}");
    }
}

/// Every overflow category of the guild that is empty now, deleted (the repair pass).
pub async fn sweep(http: &serenity::Http, data: &Data, guild: GuildId, channels: &[GuildChannel]) {
    let Ok(all) = data.store.all_overflow_categories().await else {
        return;
    };
    for c in all.into_iter().filter(|c| c.guild_id == guild.get()) {
        let in_use = channels
            .iter()
            .any(|ch| ch.parent_id.map(|p| p.get()) == Some(c.category_id));
        let exists = channels.iter().any(|ch| ch.id.get() == c.category_id);
        if !exists {
            // Deleted by hand: forget it.
            data.store
                .remove_overflow_category(c.category_id)
                .await
                .ok();
        } else if !in_use {
            remove_if_empty(http, data, guild, Some(c.category_id)).await;
        }
    }
}
