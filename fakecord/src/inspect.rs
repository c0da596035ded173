//! The test's view of the fake: its state, the requests made, what a member may see.

use serde_json::Value;

use crate::state::{Channel, GatewayStats, Interaction, Message, RecordedRequest, State};
use crate::{FakeDiscord, FakeUser, RouteMatcher};

impl FakeDiscord {
    /// A copy of the whole state.
    pub fn state(&self) -> State {
        self.shared.lock_state().clone()
    }

    /// Looks at the state without copying it. Do not call other `FakeDiscord` methods inside.
    pub fn with_state<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.shared.lock_state())
    }

    /// A known user, or a made-up `user{id}` if the fake has never seen the id.
    pub fn user(&self, id: u64) -> FakeUser {
        self.with_state(|st| st.users.get(&id).cloned())
            .unwrap_or_else(|| FakeUser::new(id, &format!("user{id}")))
    }

    /// A member's current roles (empty for non-members).
    pub fn member_roles(&self, user_id: u64) -> Vec<u64> {
        self.with_state(|st| {
            st.members
                .get(&user_id)
                .map(|m| m.roles.clone())
                .unwrap_or_default()
        })
    }

    /// A live channel.
    pub fn channel(&self, id: u64) -> Option<Channel> {
        self.with_state(|st| st.channels.get(&id).cloned())
    }

    /// A live channel by exact (normalized) name.
    pub fn channel_named(&self, name: &str) -> Option<Channel> {
        self.with_state(|st| st.channel_named(name).cloned())
    }

    /// Whether a channel was deleted.
    pub fn was_deleted(&self, channel_id: u64) -> bool {
        self.with_state(|st| st.deleted_channels.iter().any(|c| c.id == channel_id))
    }

    /// Visible messages of a channel, oldest first.
    pub fn messages(&self, channel_id: u64) -> Vec<Message> {
        self.with_state(|st| {
            st.channel_messages(channel_id)
                .into_iter()
                .cloned()
                .collect()
        })
    }

    /// Any message by id (ephemeral and deleted included).
    pub fn message(&self, id: u64) -> Option<Message> {
        self.with_state(|st| st.messages.get(&id).cloned())
    }

    pub fn interaction(&self, id: u64) -> Option<Interaction> {
        self.with_state(|st| st.interactions.get(&id).cloned())
    }

    /// The response message and follow-ups of an interaction.
    pub fn replies(&self, interaction_id: u64) -> Vec<Message> {
        self.with_state(|st| st.replies(interaction_id).into_iter().cloned().collect())
    }

    /// Every REST request so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.with_state(|st| st.requests.clone())
    }

    /// Requests matching a route pattern (see [`RouteMatcher`]).
    pub fn requests_to(&self, route: impl Into<RouteMatcher>) -> Vec<RecordedRequest> {
        let m = route.into();
        self.with_state(|st| {
            st.requests
                .iter()
                .filter(|r| m.matches(&r.method, &r.path))
                .cloned()
                .collect()
        })
    }

    /// Requests no route matched.
    pub fn unknown_routes(&self) -> Vec<RecordedRequest> {
        self.with_state(|st| st.unknown_routes().into_iter().cloned().collect())
    }

    /// # Panics
    /// If the bot called a route the fake does not know, listing them.
    pub fn assert_no_unknown_routes(&self) {
        let unknown = self.unknown_routes();
        assert!(
            unknown.is_empty(),
            "fakecord: the bot called unknown routes: {:?}",
            unknown
                .iter()
                .map(|r| format!("{} {}", r.method, r.path))
                .collect::<Vec<_>>()
        );
    }

    /// Registered commands, guild ones then global ones.
    pub fn commands(&self) -> Vec<Value> {
        self.with_state(|st| st.commands().into_iter().cloned().collect())
    }

    /// A member's permissions in a channel, overwrites applied.
    pub fn permissions_in(&self, user_id: u64, channel_id: u64) -> u64 {
        self.with_state(|st| st.permissions_in(user_id, channel_id))
    }

    /// Whether a member can see a channel.
    pub fn can_view(&self, user_id: u64, channel_id: u64) -> bool {
        self.with_state(|st| st.can_view(user_id, channel_id))
    }

    pub fn gateway_stats(&self) -> GatewayStats {
        self.with_state(|st| st.gateway.clone())
    }
}
