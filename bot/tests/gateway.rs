//! Gateway drops as Discord makes them: close codes 1000, 4000 and 4009, op 7 RECONNECT and op 9
//! INVALID SESSION (resumable or not). The bot must come back by itself (RESUME where the session
//! lives on, IDENTIFY where it does not) and answer every interaction Discord redelivers: those
//! sent while a resumable session was down are replayed on RESUME and must be answered in time.

mod support;

use fakecord::{ids, FakeUser};
use support::*;
use ticketbot_common::store::Backend;

#[derive(Debug, Clone, Copy)]
enum Drop {
    Close(u16),
    Reconnect,
    InvalidSession { resumable: bool },
}

impl Drop {
    /// Whether Discord keeps the session, so that what happens meanwhile is replayed (4009:
    /// "session timed out", and op 9 with `d: false` end it; serenity resumes after the others).
    fn resumable(self) -> bool {
        match self {
            Drop::Close(code) => !matches!(code, 4007 | 4009),
            Drop::Reconnect => true,
            Drop::InvalidSession { resumable } => resumable,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_comes_back_from_every_gateway_drop() {
    let e = E2e::start(Backend::Sqlite).await;
    let panel = e.post_panel().await;
    let drops = [
        Drop::Close(4000),
        Drop::Close(1000),
        Drop::Close(4009),
        Drop::Reconnect,
        Drop::InvalidSession { resumable: true },
        Drop::InvalidSession { resumable: false },
    ];
    for (i, drop) in drops.into_iter().enumerate() {
        let before = e
            .fake
            .with_state(|st| (st.gateway.identifies, st.gateway.resumes));
        let was_open = match drop {
            Drop::Close(code) => e.fake.close_gateway(code),
            Drop::Reconnect => e.fake.request_reconnect(),
            Drop::InvalidSession { resumable } => e.fake.invalidate_session(resumable),
        };
        assert!(was_open, "{drop:?}: no connection to drop");
        // A click while the connection is down: on a resumable session Discord redelivers it
        // on RESUME, and the bot must answer it.
        let user = 1_210_000_000_000_008_000 + i as u64;
        e.fake
            .add_member(&FakeUser::new(user, &format!("gw{i}")), &[ids::MEMBER_ROLE]);
        let during = drop
            .resumable()
            .then(|| e.click(user, ids::PANEL_CHANNEL, panel, OPEN_BUTTON));
        e.fake
            .wait_until(
                |st| st.gateway.connected && (st.gateway.identifies, st.gateway.resumes) != before,
                WAIT,
            )
            .await
            .unwrap_or_else(|_| panic!("{drop:?}: the bot did not come back"));
        let (identifies, resumes) = e
            .fake
            .with_state(|st| (st.gateway.identifies, st.gateway.resumes));
        if drop.resumable() {
            assert_eq!(
                (identifies, resumes),
                (before.0, before.1 + 1),
                "{drop:?}: a live session is resumed"
            );
        } else {
            assert_eq!(
                identifies,
                before.0 + 1,
                "{drop:?}: a lost session is identified anew"
            );
        }
        if let Some(id) = during {
            let text = e.reply_text(id).await;
            assert!(text.starts_with("Your ticket is open"), "{drop:?}: {text}");
        }
        // And it serves what comes after.
        let id = e.slash(ids::STAFF, ids::GENERAL_CHANNEL, "info", &[]);
        assert!(
            e.reply_text(id).await.contains("isn't a ticket channel"),
            "{drop:?}"
        );
    }
    let gw = e.fake.gateway_stats();
    assert!(gw.close_codes.contains(&1000) && gw.close_codes.contains(&4009));
    e.finish().await;
}
