use super::*;
use crate::config::DbConfig;
use uuid::Uuid;

/// Every figure in a stable order, for comparing the two ways of counting.
fn sorted(c: Counts) -> Vec<Vec<Agg>> {
    let mut kinds: BTreeMap<Option<String>, u64> = BTreeMap::new();
    for a in &c.kinds {
        let k =
            a.k.as_deref()
                .map(|k| if k == "force_closed" { "closed" } else { k });
        *kinds.entry(k.map(str::to_owned)).or_default() += a.n;
    }
    let kinds = kinds
        .into_iter()
        .map(|(k, n)| Agg { k, x: None, n })
        .collect();
    // Tickets answered by no one known count in the GROUP BY (for the overall figure) and
    // not in the tally (which has it apart): the staff figures are the same.
    let staff_response = c
        .staff_response
        .into_iter()
        .filter(|a| a.k.is_some())
        .collect();
    let mut all = vec![
        c.close,
        c.by_status,
        c.claim,
        c.response,
        c.opened,
        c.closed,
        kinds,
        c.staff,
        c.backlog,
        c.messages,
        staff_response,
    ];
    for rows in &mut all {
        rows.retain(|a| a.n > 0);
        rows.sort();
    }
    all
}

/// SQLite's passes (`tally`) and the GROUP BY queries (MySQL's way, and SQLite's with a
/// status filter) count the same, on a history with every kind of gap; the ratings counted
/// in the pass are the ratings table's, and the quantiles those of the rows sorted.
#[tokio::test]
async fn sqlite_passes_count_what_the_rows_hold() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqlStore::connect(&DbConfig::Sqlite {
        path: dir.path().join("t.db"),
    })
    .await
    .expect("store");
    // 3,000 tickets in 3 guilds over ~25 days: a fifth open, a third claimed (half of
    // those by their closer), most answered by one of 7 staff, durations spread over
    // minutes and days.
    sqlx::query(
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 3000) \
         INSERT INTO tickets (id, guild_id, channel_id, creator_id, status, created_at, \
           closed_at, closed_by, close_reason, claimed_by, claimed_at, updated_at, open_slot, \
           first_response_at, first_response_by) \
         SELECT printf('00000000-0000-4000-8000-%012d', i), 10 + i % 3, 900 + i, 100 + i, \
           CASE WHEN i % 5 = 0 THEN 'open' ELSE 'closed' END, 1700000000000000 + i * 700000000, \
           CASE WHEN i % 5 = 0 THEN NULL ELSE 1700000000000000 + i * 700000000 + (i * 7919 % 500000) * 1000000 END, \
           CASE WHEN i % 5 = 0 THEN NULL ELSE 7 END, NULL, \
           CASE WHEN i % 6 = 0 THEN 7 WHEN i % 3 = 0 THEN 200 + i % 7 END, \
           CASE WHEN i % 3 = 0 THEN 1700000000000000 + i * 700000000 + (i * 31 % 7200) * 1000000 END, \
           1700000000000000, CASE WHEN i % 5 = 0 THEN 0 END, \
           CASE WHEN i % 4 <> 0 THEN 1700000000000000 + i * 700000000 + (i * 97 % 9000) * 1000000 END, \
           CASE WHEN i % 4 <> 0 AND i % 11 <> 0 THEN 200 + i % 7 END \
         FROM c",
    )
    .execute(&store.pool)
    .await
    .expect("tickets");
    for (kind, actor, at) in [
        ("opened", "creator_id", "created_at"),
        ("claimed", "claimed_by", "claimed_at"),
        ("closed", "closed_by", "closed_at"),
        ("first_response", "first_response_by", "first_response_at"),
        ("reopened", "closed_by", "created_at + 5"),
        ("archived", "NULL", "closed_at + 9"),
        ("force_closed", "claimed_by", "closed_at + 7"),
    ] {
        sqlx::query(&format!(
            "INSERT INTO ticket_events (id, ticket_id, guild_id, kind, actor_id, at, details) \
             SELECT printf('%s-%s', '{kind}', id), id, guild_id, '{kind}', {actor}, {at}, NULL \
             FROM tickets WHERE {at} IS NOT NULL AND (abs(channel_id) % 7 <> 0 OR '{kind}' = 'opened')"
        ))
        .execute(&store.pool)
        .await
        .expect("events");
    }
    let day = chrono::Duration::days(1);
    let start = chrono::DateTime::from_timestamp_micros(1_700_000_000_000_000).expect("time");
    // Ratings on two of every five closed tickets, through the store (which copies each
    // onto its ticket's row), some changed afterwards.
    let rated: Vec<crate::feedback::Feedback> = (1..=3000u32)
        .filter(|i| i % 5 != 0 && i % 5 < 3)
        .map(|i| crate::feedback::Feedback {
            ticket_id: Uuid::parse_str(&format!("00000000-0000-4000-8000-{i:012}")).expect("id"),
            user_id: 100 + u64::from(i),
            rating: (i % 5 + i % 3) as u8 % 5 + 1,
            comment: None,
            given_at: start + day * 30,
            updated_at: start + day * 30,
        })
        .collect();
    store.import_feedback(&rated).await.expect("ratings");
    for f in rated.iter().step_by(7) {
        let changed = crate::feedback::Feedback {
            rating: f.rating % 5 + 1,
            updated_at: f.given_at + chrono::Duration::hours(1),
            ..f.clone()
        };
        let write = store
            .give_feedback(&changed, f.given_at)
            .await
            .expect("change");
        assert_eq!(write, crate::feedback::FeedbackWrite::Changed);
    }
    let filters = [
        TicketFilter::default(),
        TicketFilter {
            guild_id: Some(11),
            ..TicketFilter::default()
        },
        TicketFilter {
            since: Some(start + day * 3),
            until: Some(start + day * 12),
            ..TicketFilter::default()
        },
        TicketFilter {
            guild_id: Some(12),
            claim: crate::store::ClaimFilter::Unclaimed,
            ..TicketFilter::default()
        },
    ];
    // The one pass runs on SQLite's read connections, where `tally` is registered.
    assert!(store.lite.is_some(), "SQLite has its hot path");
    for filter in filters {
        let (one, ratings) = store.counts_in_one_pass(&filter).await.expect("tally");
        let grouped = store.counts_by_group(&filter).await.expect("group by");
        let (one, grouped) = (sorted(one), sorted(grouped));
        assert!(
            one.iter().any(|rows| rows.len() > 10),
            "{filter:?}: no figures"
        );
        assert_eq!(one, grouped, "{filter:?}");
        // The ratings counted in the pass are the ratings table's, joined to the tickets.
        let mut sql = String::from(
            "SELECT t.claimed_by AS claimed_by, t.closed_by AS closed_by, f.rating AS rating, \
             COUNT(*) AS n FROM feedback f JOIN tickets t ON t.id = f.ticket_id",
        );
        let mut binds = Vec::new();
        SqlStore::filter_sql(&filter, &mut sql, &mut binds);
        sql.push_str(" GROUP BY t.claimed_by, t.closed_by, f.rating");
        let joined = crate::feedback::summarize(
            store
                .read_all(&sql, binds, super::super::feedback::group_from_row)
                .await
                .expect("joined ratings"),
        );
        assert!(joined.overall.count() > 100, "{filter:?}: few ratings");
        assert_eq!(ratings, joined, "{filter:?}");
        let summary = store.feedback_summary(&filter).await.expect("summary");
        assert_eq!(summary, joined, "{filter:?}");

        // Medians and p90s (ranked from tallied durations) are those of every duration
        // read and sorted, overall and per first responder; with and without a status.
        for status in [None, Some(TicketStatus::Closed), Some(TicketStatus::Open)] {
            let filter = TicketFilter {
                status,
                ..filter.clone()
            };
            let stats = store.stats(&filter).await.expect("stats");
            let read = |measure: Measure, by: Option<i64>| {
                let (duration, counts) = store.duration_of(measure);
                let mut sql = format!(
                    "SELECT {duration} AS d, first_response_by AS b FROM tickets \
                     WHERE {counts}"
                );
                let mut binds = Vec::new();
                SqlStore::filter_sql(&measure.filter(&filter), &mut sql, &mut binds);
                let store = &store;
                async move {
                    let rows = store
                        .read_all(&sql, binds, |r| Ok((r.int("d")?, r.int("b")?)))
                        .await
                        .expect("durations");
                    let values = rows
                        .into_iter()
                        .filter(|(_, b)| by.is_none() || *b == by)
                        .filter_map(|(d, _)| d)
                        .collect::<Vec<i64>>();
                    DurationSummary::from_micros(values)
                }
            };
            let case = format!("{filter:?}");
            assert_eq!(
                stats.time_to_close,
                read(Measure::Close, None).await,
                "{case}"
            );
            assert_eq!(
                stats.time_to_claim,
                read(Measure::Claim, None).await,
                "{case}"
            );
            assert_eq!(
                stats.time_to_first_response,
                read(Measure::Response, None).await,
                "{case}"
            );
            let mut medians = 0;
            for s in &stats.staff {
                let by = Some(id_to_sql(s.user_id));
                let read = read(Measure::Response, by).await;
                assert_eq!(
                    s.median_response_secs, read.median_secs,
                    "{case} {}",
                    s.user_id
                );
                medians += usize::from(read.median_secs.is_some());
            }
            assert!(
                status.is_some() || medians >= 5,
                "{case}: {medians} medians"
            );
        }
    }
}
