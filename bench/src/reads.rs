//! The read calls on the seeded database: list pages (first and deep), counts, one ticket.

use anyhow::{ensure, Result};
use chrono::{DateTime, Utc};
use ticketbot_common::store::{Cursor, TicketFilter};
use ticketbot_common::{TicketStatus, TicketStore};
use uuid::Uuid;

use super::db::PlanInputs;
use super::gen::{Rng, Sample, MAIN_GUILD};

use super::*;

pub(super) async fn reads(
    args: &Args,
    which: Which,
    store: &dyn TicketStore,
    samples: &[Sample],
    expected: &[DeepPage; 2],
    report: &mut Report,
) -> Result<PlanInputs> {
    let all = TicketFilter::default();
    let guild_open = TicketFilter {
        guild_id: Some(MAIN_GUILD),
        status: Some(TicketStatus::Open),
        ..TicketFilter::default()
    };
    let guild = TicketFilter {
        guild_id: Some(MAIN_GUILD),
        ..TicketFilter::default()
    };
    let r = args.repeat;
    let list_page = |filter: TicketFilter, cursor: Option<Cursor>| {
        move |_k: usize| {
            let filter = filter.clone();
            async move {
                let page = store.list(&filter, PAGE, cursor.as_ref()).await?;
                ensure!(!page.tickets.is_empty(), "empty page");
                Ok(())
            }
        }
    };
    log(which, "reads");
    let t = time_op(
        args,
        which,
        "list first page, guild+open",
        list_page(guild_open.clone(), None),
    )
    .await?;
    report.row("list p1 guild+open (ms p50 / p99)", t.cell(r));
    let t = time_op(
        args,
        which,
        "list first page, no filter",
        list_page(all.clone(), None),
    )
    .await?;
    report.row("list p1 no filter (ms p50 / p99)", t.cell(r));

    let mut deep = Vec::new();
    for ((name, filter), want) in [("no filter", &all), ("guild+open", &guild_open)]
        .into_iter()
        .zip(expected)
    {
        let (page, cursor, took) = follow(args, store, filter, want.page).await?;
        log(
            which,
            format!(
                "  followed the cursor to page {page} ({name}) in {:.1} s",
                took.as_secs_f64()
            ),
        );
        let reached = if page == want.page {
            // Every page chained from page 1 must land exactly where the data says.
            ensure!(
                cursor == want.cursor,
                "{name}: following the cursor reached page {page} at {cursor:?}, expected {:?}",
                want.cursor
            );
            want.page.to_string()
        } else {
            format!("{} (followed {page})", want.page)
        };
        let t = time_op(
            args,
            which,
            &format!("list page {}, {name}", want.page),
            list_page(filter.clone(), want.cursor),
        )
        .await?;
        report.row(format!("deep page measured ({name})"), reached);
        report.row(
            format!("follow to it, total s ({name})"),
            format!("{:.2}", took.as_secs_f64()),
        );
        report.row(format!("list deep page {name} (ms p50 / p99)"), t.cell(r));
        deep.push(want.cursor);
    }

    let counts = store.count(&guild).await?;
    let guild = &guild;
    let t = time_op(args, which, "count, guild", |_| async move {
        let c = store.count(guild).await?;
        ensure!(c.total() > 0, "nothing counted");
        Ok(())
    })
    .await?;
    report.row("count guild (ms p50 / p99)", t.cell(r));
    report.row(
        "  main guild open / closed",
        format!("{} / {}", counts.open, counts.closed),
    );

    let pick = |k: usize| samples[(k * 7919) % samples.len()];
    let t = time_op(args, which, "get by id", |k| async move {
        let s = pick(k);
        let t = store.get(s.id).await?;
        ensure!(
            t.is_some_and(|t| t.id == s.id),
            "get {} found nothing",
            s.id
        );
        Ok(())
    })
    .await?;
    report.row("get by id (ms p50 / p99)", t.cell(r));
    let t = time_op(args, which, "find_by_prefix", |k| async move {
        let s = pick(k);
        let short = ticketbot_common::ticket::short_id(&s.id);
        let found = store.find_by_prefix(&short, 10).await?;
        ensure!(found.iter().any(|t| t.id == s.id), "{short} not found");
        Ok(())
    })
    .await?;
    report.row("find_by_prefix short id (ms p50 / p99)", t.cell(r));
    let t = time_op(args, which, "get_by_channel", |k| async move {
        let s = pick(k);
        let t = store.get_by_channel(s.channel_id).await?;
        ensure!(
            t.is_some_and(|t| t.id == s.id),
            "channel {} not found",
            s.channel_id
        );
        Ok(())
    })
    .await?;
    report.row("get_by_channel (ms p50 / p99)", t.cell(r));

    let [cursor, cursor_guild_open]: [Option<Cursor>; 2] =
        deep.try_into().expect("two deep listings");
    Ok(PlanInputs {
        guild: MAIN_GUILD,
        cursor,
        cursor_guild_open,
        id: samples[0].id,
        channel_id: samples[0].channel_id,
    })
}

/// The deep page of a listing and the cursor that gives it, worked out from the data.
pub(super) struct DeepPage {
    page: u32,
    cursor: Option<Cursor>,
}

/// `--deep-page` (or the last page, when there are fewer) of the unfiltered listing and of
/// the main guild's open tickets, from a replay of the generator and the tickets the first
/// cycles created: the cursor of page P is the (P-1)·50-th newest ticket.
pub(super) fn expected_deep_pages(
    args: &Args,
    seeded: &Seeded,
    cycles: &[(DateTime<Utc>, Uuid)],
) -> [DeepPage; 2] {
    let max_before = (args.deep_page.max(1) as usize - 1) * PAGE as usize;
    let mut all = Newest::new(max_before);
    let mut guild_open = Newest::new(max_before);
    for &key in cycles {
        all.push(key);
    }
    let mut rng = Rng::new(args.seed);
    for i in 0..seeded.rows {
        let t = gen::record(&mut rng, i, seeded.at).ticket;
        let key = (t.created_at, t.id);
        all.push(key);
        if t.guild_id == MAIN_GUILD && t.is_open() {
            guild_open.push(key);
        }
    }
    [all.deep_page(), guild_open.deep_page()]
}

/// The `cap` newest `(created_at, id)` keys seen, and how many were seen.
struct Newest {
    cap: usize,
    seen: usize,
    heap: std::collections::BinaryHeap<std::cmp::Reverse<(DateTime<Utc>, Uuid)>>,
}

impl Newest {
    fn new(cap: usize) -> Self {
        Newest {
            cap,
            seen: 0,
            heap: Default::default(),
        }
    }

    fn push(&mut self, key: (DateTime<Utc>, Uuid)) {
        self.seen += 1;
        if self.cap == 0 {
            return;
        }
        if self.heap.len() < self.cap {
            self.heap.push(std::cmp::Reverse(key));
        } else if self.heap.peek().is_some_and(|min| key > min.0) {
            self.heap.pop();
            self.heap.push(std::cmp::Reverse(key));
        }
    }

    fn deep_page(self) -> DeepPage {
        let page_size = PAGE as usize;
        // Pages that exist: at least one, even when empty.
        let pages = self.seen.div_ceil(page_size).max(1);
        let wanted = (self.cap / page_size + 1).min(pages);
        let before = (wanted - 1) * page_size;
        // Newest first; the cursor is the last ticket before the page.
        let mut newest: Vec<_> = self.heap.into_iter().map(|r| r.0).collect();
        newest.sort_unstable_by(|a, b| b.cmp(a));
        let cursor = before
            .checked_sub(1)
            .map(|k| newest[k])
            .map(|(created_at, id)| Cursor { created_at, id });
        DeepPage {
            page: wanted as u32,
            cursor,
        }
    }
}
