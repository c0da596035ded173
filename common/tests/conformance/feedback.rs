//! Ratings: one per ticket under concurrency, the change window, the author check, the
//! per-staff summary and the migrate side.

use super::*;
use ticketbot_common::feedback::{Feedback, FeedbackWrite};

pub(crate) async fn feedback_once_per_ticket(db: &TestDb) {
    let store = db.store();
    let other = db.reopen().await;
    let t0 = ts("2026-04-01T09:00:00.654321Z");
    let guild = u64::MAX - 11;
    let (s1, s2) = (9001, 9002);
    let creator = |i: u64| 700 + i;
    let mut tickets = Vec::new();
    for i in 0..3 {
        let g = if i == 2 { guild - 1 } else { guild };
        let t = created(store.create_ticket(g, creator(i), 1, t0).await);
        let claim = Transition::Claim { by: s1, at: t0 };
        store.transition(t.id, &claim).await.unwrap();
        let close = Transition::Close {
            by: Some(if i == 0 { s2 } else { s1 }),
            reason: None,
            at: t0 + Duration::minutes(5),
            forced: false,
        };
        store.transition(t.id, &close).await.unwrap();
        tickets.push(t);
    }
    assert_eq!(store.feedback(tickets[0].id).await.unwrap(), None);

    // The first rating, with a hostile comment kept verbatim.
    let hostile = hostile_strings().join(" | ");
    let rated_at = t0 + Duration::minutes(10);
    let first = Feedback {
        ticket_id: tickets[0].id,
        user_id: creator(0),
        rating: 4,
        comment: Some(hostile.clone()),
        given_at: rated_at,
        updated_at: rated_at,
    };
    let since = rated_at - Duration::hours(24);
    assert_eq!(
        store.give_feedback(&first, since).await.unwrap(),
        FeedbackWrite::Added
    );
    assert_eq!(
        other.feedback(tickets[0].id).await.unwrap(),
        Some(first.clone())
    );

    // A change within the window keeps the first time and, with no new comment, the comment.
    let later = rated_at + Duration::minutes(30);
    let change = Feedback {
        rating: 2,
        comment: None,
        given_at: later,
        updated_at: later,
        ..first.clone()
    };
    assert_eq!(
        other.give_feedback(&change, since).await.unwrap(),
        FeedbackWrite::Changed
    );
    let stored = store.feedback(tickets[0].id).await.unwrap().unwrap();
    assert_eq!(
        (
            stored.rating,
            stored.comment.as_deref(),
            stored.given_at,
            stored.updated_at
        ),
        (2, Some(hostile.as_str()), rated_at, later)
    );
    // The same rating again is still a change (MySQL reports no changed row for it).
    assert_eq!(
        store.give_feedback(&change, since).await.unwrap(),
        FeedbackWrite::Changed
    );

    // Someone else's rating of the ticket, or a change after the window, is refused.
    let stranger = Feedback {
        user_id: creator(1),
        rating: 1,
        ..change.clone()
    };
    assert_eq!(
        store.give_feedback(&stranger, since).await.unwrap(),
        FeedbackWrite::Final
    );
    let too_late = rated_at + Duration::hours(25);
    let late = Feedback {
        rating: 5,
        given_at: too_late,
        updated_at: too_late,
        ..change.clone()
    };
    assert_eq!(
        store
            .give_feedback(&late, too_late - Duration::hours(24))
            .await
            .unwrap(),
        FeedbackWrite::Final
    );
    assert_eq!(
        store.feedback(tickets[0].id).await.unwrap().unwrap().rating,
        2
    );

    // Eight clicks at once on two connections: one rating is added, the rest change it.
    let barrier = Arc::new(Barrier::new(8));
    let runs = (0..8u8).map(|n| {
        let s = if n % 2 == 0 {
            store.clone()
        } else {
            other.clone()
        };
        let barrier = barrier.clone();
        let f = Feedback::new(tickets[1].id, creator(1), 1 + n % 5, None, rated_at).unwrap();
        async move {
            barrier.wait().await;
            s.give_feedback(&f, since).await.unwrap()
        }
    });
    let outcomes = join_all(runs.map(tokio::spawn)).await;
    let added = outcomes
        .iter()
        .filter(|o| *o.as_ref().unwrap() == FeedbackWrite::Added)
        .count();
    assert_eq!(added, 1, "{outcomes:?}");
    assert!(outcomes
        .iter()
        .all(|o| *o.as_ref().unwrap() != FeedbackWrite::Final));
    let t1 = Feedback::new(tickets[1].id, creator(1), 5, Some(""), rated_at).unwrap();
    assert_eq!(
        store.give_feedback(&t1, since).await.unwrap(),
        FeedbackWrite::Changed
    );
    let t2 = Feedback::new(tickets[2].id, creator(2), 3, Some("fine"), rated_at).unwrap();
    assert_eq!(
        store.give_feedback(&t2, since).await.unwrap(),
        FeedbackWrite::Added
    );

    // Per staff: ticket 0 (claimed by s1, closed by s2) rated 2; ticket 1 (claimed and closed
    // by s1, counted once) rated 5; ticket 2 is another guild's.
    let filter = TicketFilter {
        guild_id: Some(guild),
        ..TicketFilter::default()
    };
    let summary = store.feedback_summary(&filter).await.unwrap();
    assert_eq!(summary.overall.by_stars, [0, 1, 0, 0, 1]);
    assert_eq!(summary.of(s1).by_stars, [0, 1, 0, 0, 1]);
    assert_eq!(summary.of(s2).by_stars, [0, 1, 0, 0, 0]);
    assert_eq!(summary.staff.len(), 2);
    assert_eq!(summary.staff[0].user_id, s1);
    // A report counts the same ratings (SQLite in its one pass over the tickets).
    assert_eq!(store.stats(&filter).await.unwrap().feedback, summary);
    let everything = other
        .feedback_summary(&TicketFilter::default())
        .await
        .unwrap();
    assert_eq!(everything.overall.count(), 3);
    assert_eq!(everything.of(s1).count(), 3);
    let none = store
        .feedback_summary(&TicketFilter {
            since: Some(t0 + Duration::days(1)),
            ..TicketFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(none.overall.count(), 0);
    assert!(none.staff.is_empty());

    // Migrate's side: every rating read back in ticket order, and written back as given.
    let all = store.all_feedback().await.unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.windows(2).all(|w| w[0].ticket_id < w[1].ticket_id));
    assert_eq!(store.record_counts().await.unwrap().feedback, 3);
    let mut edited = all.clone();
    edited[0].comment = Some(hostile.clone());
    edited[0].rating = 1;
    other.import_feedback(&edited).await.unwrap();
    other.import_feedback(&edited).await.unwrap();
    assert_eq!(store.all_feedback().await.unwrap(), edited);
    // The summary and the report follow an imported change, on every filter.
    let mut stars = [0u64; 5];
    for f in &edited {
        stars[usize::from(f.rating - 1)] += 1;
    }
    for filter in [TicketFilter::default(), filter] {
        let summary = store.feedback_summary(&filter).await.unwrap();
        assert_eq!(store.stats(&filter).await.unwrap().feedback, summary);
        if filter.guild_id.is_none() {
            assert_eq!(summary.overall.by_stars, stars, "{edited:?}");
        }
    }
}
