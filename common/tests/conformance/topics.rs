//! Topics: names unique per guild (any case) under concurrency, edit, removal that frees the
//! name and keeps the row, the forms tickets were opened with (answers verbatim), the topic
//! filter of listings, and the migrate side.

use super::*;
use ticketbot_common::topics::{Answer, Question, TicketForm, Topic, TopicWrite};

pub(crate) async fn topics_unique_per_guild_and_forms_kept(db: &TestDb) {
    let store = db.store();
    let other = db.reopen().await;
    let t0 = ts("2026-05-01T08:00:00.111111Z");
    let guild = u64::MAX - 21;
    let questions = vec![
        Question::parse(1, "Order number | e.g. #1234 | 3-20").unwrap(),
        Question::parse(2, "What happened? | paragraph | optional").unwrap(),
    ];
    let mut billing = Topic::new(guild, "Billing", questions, t0).unwrap();
    billing.emoji = Some("💳".into());
    billing.category_id = Some(u64::MAX - 5);
    billing.role_id = Some(77);
    billing.max_open = Some(2);
    assert_eq!(store.add_topic(&billing).await.unwrap(), TopicWrite::Done);
    assert_eq!(
        other.topic(billing.id).await.unwrap(),
        Some(billing.clone())
    );

    // The same name in any case is taken in this guild, free in another.
    let twin = Topic::new(guild, "  BILLING ", Vec::new(), t0).unwrap();
    assert_eq!(store.add_topic(&twin).await.unwrap(), TopicWrite::NameTaken);
    let elsewhere = Topic::new(guild - 1, "billing", Vec::new(), t0).unwrap();
    assert_eq!(store.add_topic(&elsewhere).await.unwrap(), TopicWrite::Done);

    // Six administrators add "Bug report" at once on two connections: one topic.
    let barrier = Arc::new(Barrier::new(6));
    let runs = (0..6).map(|n| {
        let s = if n % 2 == 0 {
            store.clone()
        } else {
            other.clone()
        };
        let barrier = barrier.clone();
        let t = Topic::new(guild, "Bug report", Vec::new(), t0 + Duration::seconds(1)).unwrap();
        async move {
            barrier.wait().await;
            s.add_topic(&t).await.unwrap()
        }
    });
    let outcomes = join_all(runs.map(tokio::spawn)).await;
    let done = outcomes
        .iter()
        .filter(|o| *o.as_ref().unwrap() == TopicWrite::Done)
        .count();
    assert_eq!(done, 1, "{outcomes:?}");
    let listed = store.topics(guild).await.unwrap();
    let names: Vec<&str> = listed.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["Billing", "Bug report"]);
    let bug = listed[1].clone();

    // Edits: a rename onto a taken name is refused; a real edit is kept.
    let clash = Topic {
        name: "billing".into(),
        ..bug.clone()
    };
    assert_eq!(
        store.update_topic(&clash).await.unwrap(),
        TopicWrite::NameTaken
    );
    let hostile = hostile_strings();
    let edited = Topic {
        name: "Bugs & crashes".into(),
        emoji: Some("🐛".into()),
        questions: vec![
            Question::parse(1, &hostile[1].chars().take(45).collect::<String>()).unwrap(),
        ],
        updated_at: t0 + Duration::minutes(1),
        ..bug.clone()
    };
    assert_eq!(store.update_topic(&edited).await.unwrap(), TopicWrite::Done);
    assert_eq!(store.update_topic(&edited).await.unwrap(), TopicWrite::Done);
    assert_eq!(other.topic(bug.id).await.unwrap(), Some(edited.clone()));

    // Removal keeps the row (for old buttons), frees the name, and is done once.
    let at = t0 + Duration::minutes(2);
    assert!(store.remove_topic(billing.id, at).await.unwrap());
    assert!(!other.remove_topic(billing.id, at).await.unwrap());
    let gone = store.topic(billing.id).await.unwrap().unwrap();
    assert_eq!(gone.removed_at, Some(at));
    assert_eq!(gone.name, "Billing");
    assert_eq!(
        store.update_topic(&billing).await.unwrap(),
        TopicWrite::Missing
    );
    let names: Vec<String> = store
        .topics(guild)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["Bugs & crashes"]);
    let again = Topic::new(guild, "Billing", Vec::new(), at).unwrap();
    assert_eq!(store.add_topic(&again).await.unwrap(), TopicWrite::Done);

    // Forms: answers kept verbatim; listings filter by topic name, any case.
    let mut tickets = Vec::new();
    for user in 0..3 {
        tickets.push(created(store.create_ticket(guild, 800 + user, 1, t0).await));
    }
    let answers: Vec<Answer> = hostile
        .iter()
        .enumerate()
        .map(|(i, h)| Answer {
            question: format!("Q{i} «?»"),
            answer: h.clone(),
        })
        .collect();
    let form = |t: &Ticket, topic: &Topic| TicketForm {
        ticket_id: t.id,
        guild_id: guild,
        topic_id: topic.id,
        topic_name: topic.name.clone(),
        answers: answers.clone(),
        submitted_at: t0,
    };
    store
        .put_ticket_form(&form(&tickets[0], &again))
        .await
        .unwrap();
    other
        .put_ticket_form(&form(&tickets[1], &edited))
        .await
        .unwrap();
    assert_eq!(
        store.ticket_form(tickets[0].id).await.unwrap(),
        Some(form(&tickets[0], &again))
    );
    assert_eq!(store.ticket_form(tickets[2].id).await.unwrap(), None);
    let by_topic = |name: &str| TicketFilter {
        topic: Some(name.into()),
        ..TicketFilter::default()
    };
    let page = other.list(&by_topic("BILLING"), 10, None).await.unwrap();
    let ids: Vec<Uuid> = page.tickets.iter().map(|t| t.id).collect();
    assert_eq!(ids, [tickets[0].id]);
    assert_eq!(store.count(&by_topic(" billing")).await.unwrap().total(), 1);
    assert_eq!(store.count(&by_topic("nothing")).await.unwrap().total(), 0);

    // Migrate's side: everything, removed topics included, read back and written back.
    let all = store.all_topics().await.unwrap();
    assert_eq!(all.len(), 4);
    assert!(all.windows(2).all(|w| w[0].id < w[1].id));
    let forms = store.all_ticket_forms().await.unwrap();
    assert_eq!(forms.len(), 2);
    let counts = store.record_counts().await.unwrap();
    assert_eq!((counts.topics, counts.ticket_forms), (4, 2));
    other.import_topics(&all).await.unwrap();
    other.import_ticket_forms(&forms).await.unwrap();
    assert_eq!(store.all_topics().await.unwrap(), all);
    assert_eq!(store.all_ticket_forms().await.unwrap(), forms);
    assert_eq!(
        store
            .count(&by_topic("Bugs & crashes"))
            .await
            .unwrap()
            .total(),
        1
    );

    // A ticket that goes for good (deleted, or discarded because its channel failed) takes
    // its form and rating with it.
    let rating = |t: &Ticket| {
        ticketbot_common::feedback::Feedback::new(t.id, t.creator_id, 4, Some("ok"), t0).unwrap()
    };
    for t in &tickets[..2] {
        store.give_feedback(&rating(t), t0).await.unwrap();
    }
    store.delete(tickets[0].id, Some(1), at).await.unwrap();
    assert!(other.discard(tickets[1].id).await.unwrap());
    for t in &tickets[..2] {
        assert_eq!(store.ticket_form(t.id).await.unwrap(), None);
        assert_eq!(store.feedback(t.id).await.unwrap(), None);
    }
    let counts = other.record_counts().await.unwrap();
    assert_eq!((counts.ticket_forms, counts.feedback), (0, 0));
}
