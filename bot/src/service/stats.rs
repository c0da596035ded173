//! `/ticket stats [period] [staff]`: the guild's figures for a period, as an embed with the
//! tickets-per-day chart (PNG made in-process), for staff only.

use chrono::{Duration, Utc};
use poise::serenity_prelude as serenity;
use serenity::{CreateAttachment, CreateEmbed, UserId};
use ticketbot_common::stats::{DurationSummary, TicketStats};
use ticketbot_common::store::TicketFilter;
use ticketbot_report::human_secs;

use super::{require_staff, Outcome, Reply, Req};
use crate::data::Data;

/// The chart's file name, which the embed's image points at.
const CHART: &str = "ticket-stats.png";
/// Staff members listed when no one is asked for.
const TOP_STAFF: usize = 5;

/// The periods offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poise::ChoiceParameter)]
pub enum Period {
    #[name = "last 24 hours"]
    Day,
    #[name = "last 7 days"]
    Week,
    #[name = "last 30 days"]
    Month,
    #[name = "last 90 days"]
    Quarter,
}

impl Period {
    fn days(self) -> i64 {
        match self {
            Period::Day => 1,
            Period::Week => 7,
            Period::Month => 30,
            Period::Quarter => 90,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Period::Day => "the last 24 hours",
            Period::Week => "the last 7 days",
            Period::Month => "the last 30 days",
            Period::Quarter => "the last 90 days",
        }
    }
}

fn duration(d: &DurationSummary) -> String {
    match (d.median_secs, d.p90_secs) {
        (Some(m), Some(p)) => format!("{} (p90 {}) · {}", human_secs(m), human_secs(p), d.count),
        _ => "no data yet".to_owned(),
    }
}

/// The embed (without its image) for `stats` over `period`, about `staff` if given.
pub(crate) fn embed(stats: &TicketStats, period: Period, staff: Option<UserId>) -> CreateEmbed {
    let a = stats.activity;
    let b = stats.backlog;
    let oldest = b.oldest_unclaimed_at.map_or_else(
        || "none waiting".to_owned(),
        |t| format!("<t:{}:R>", t.timestamp()),
    );
    let mut e = CreateEmbed::new()
        .title(format!("Tickets in {}", period.name()))
        .color(0x5865F2)
        .field(
            "Opened",
            format!("{} ({} reopened)", a.opened, a.reopened),
            true,
        )
        .field(
            "Closed",
            format!("{} ({} archived)", a.closed, a.archived),
            true,
        )
        .field(
            "Open now",
            format!("{} ({} unclaimed, oldest {oldest})", b.open, b.unclaimed),
            true,
        )
        .field(
            "First staff response",
            duration(&stats.time_to_first_response),
            true,
        )
        .field("Time to claim", duration(&stats.time_to_claim), true)
        .field("Time to close", duration(&stats.time_to_close), true);
    let line = |s: &ticketbot_common::stats::StaffActivity| {
        let median = s
            .median_response_secs
            .map(|m| format!(" · median response {}", human_secs(m)))
            .unwrap_or_default();
        format!(
            "<@{}>: {} claims · {} closes · {} first responses · {} messages{median}",
            s.user_id, s.claims, s.closes, s.first_responses, s.messages
        )
    };
    match staff {
        Some(user) => {
            let text = stats
                .staff
                .iter()
                .position(|s| s.user_id == user.get())
                .map_or_else(
                    || format!("<@{user}>: no claims, closes or first responses in this period"),
                    |i| {
                        format!(
                            "{} (#{} of {})",
                            line(&stats.staff[i]),
                            i + 1,
                            stats.staff.len()
                        )
                    },
                );
            e = e.field("Staff member", text, false);
        }
        None if !stats.staff.is_empty() => {
            let top: Vec<String> = stats.staff.iter().take(TOP_STAFF).map(line).collect();
            e = e.field("Most active staff", top.join("\n"), false);
        }
        None => {}
    }
    e.footer(serenity::CreateEmbedFooter::new(
        "Durations: median (p90) · count. Days in UTC.",
    ))
}

pub async fn stats(data: &Data, req: &Req, period: Period, staff: Option<UserId>) -> Outcome {
    require_staff(req)?;
    let now = Utc::now();
    let filter = TicketFilter {
        guild_id: Some(req.guild_id.get()),
        since: Some(now - Duration::days(period.days())),
        ..TicketFilter::default()
    };
    let stats = data.store.stats(&filter).await?;
    let mut embed = embed(&stats, period, staff);
    let ratings = match staff {
        Some(user) => stats.feedback.of(user.get()),
        None => stats.feedback.overall,
    };
    if ratings.count() > 0 {
        embed = embed.field("Feedback", format!("⭐ {}", ratings.summary()), true);
    }
    let mut files = Vec::new();
    // The window touches one UTC date more than it has days.
    let days = u32::try_from(period.days() + 1).unwrap_or(8);
    match ticketbot_report::png::per_day_png(&stats, now.date_naive(), days) {
        Ok(png) => {
            embed = embed.image(format!("attachment://{CHART}"));
            files.push(CreateAttachment::bytes(png, CHART));
        }
        // The figures are worth sending without their picture.
        Err(e) => tracing::warn!("stats chart not drawn: {e}"),
    }
    Ok(Reply {
        embed: Some(embed),
        files,
        ..Reply::default()
    })
}
