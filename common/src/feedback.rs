//! Feedback: after a close, a ticket's creator rates the help from 1 to 5 stars, with an
//! optional comment. One rating per ticket, kept by the database (the ticket id is the key);
//! the creator may change it for [`CHANGE_WINDOW`] after first giving it, then it is final, so
//! staff figures do not move under them weeks later.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::ticket::DiscordId;

/// How long after the first rating its author may still change it.
pub const CHANGE_WINDOW: Duration = Duration::hours(24);

/// The longest comment kept (Discord's paragraph input allows 4,000; a rating comment is a few
/// sentences, and it has to fit an embed field in the log channel).
pub const COMMENT_MAX_CHARS: usize = 1000;

/// The lowest and highest rating.
pub const STARS: std::ops::RangeInclusive<u8> = 1..=5;

/// A creator's rating of a closed ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Feedback {
    pub ticket_id: Uuid,
    #[serde(serialize_with = "crate::ticket::id_as_string")]
    pub user_id: DiscordId,
    /// 1 to 5.
    pub rating: u8,
    /// `None`: no comment given (or, when writing, keep the stored one).
    pub comment: Option<String>,
    /// When the rating was first given; the change window runs from here.
    pub given_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Feedback {
    /// A rating given now; `comment` as typed (trimmed, empty meaning none, cut to
    /// [`COMMENT_MAX_CHARS`]).
    pub fn new(
        ticket_id: Uuid,
        user_id: DiscordId,
        rating: u8,
        comment: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Self, FeedbackError> {
        if !STARS.contains(&rating) {
            return Err(FeedbackError::Rating(rating));
        }
        Ok(Feedback {
            ticket_id,
            user_id,
            rating,
            comment: comment.map(clean_comment),
            given_at: at,
            updated_at: at,
        })
    }

    /// Whether its author may still change it at `now`.
    pub fn changeable(&self, now: DateTime<Utc>) -> bool {
        now < self.given_at + CHANGE_WINDOW
    }

    /// "★★★★☆ 4/5".
    pub fn stars(&self) -> String {
        stars(self.rating)
    }
}

/// "★★★★☆ 4/5" for a rating from 1 to 5.
pub fn stars(rating: u8) -> String {
    let full = usize::from(rating.min(5));
    format!("{}{} {rating}/5", "★".repeat(full), "☆".repeat(5 - full))
}

/// A comment as stored: trimmed and cut to [`COMMENT_MAX_CHARS`]; empty is kept as empty (an
/// author clearing their comment).
pub fn clean_comment(text: &str) -> String {
    text.trim().chars().take(COMMENT_MAX_CHARS).collect()
}

/// The oldest first-rating time that may still be changed at `now`.
pub fn changeable_since(now: DateTime<Utc>) -> DateTime<Utc> {
    now - CHANGE_WINDOW
}

/// What writing a rating did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedbackWrite {
    /// The ticket's first rating.
    Added,
    /// The author's earlier rating, changed within the window.
    Changed,
    /// A rating exists that may no longer be changed (or is someone else's).
    Final,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedbackError {
    #[error("a rating is 1 to 5 stars, not {0}")]
    Rating(u8),
}

/// Ratings counted: how many of each star, for an average.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Ratings {
    /// `by_stars[0]` is the number of 1-star ratings, `by_stars[4]` of 5-star ones.
    pub by_stars: [u64; 5],
}

impl Ratings {
    pub fn add(&mut self, rating: u8, n: u64) {
        if STARS.contains(&rating) {
            self.by_stars[usize::from(rating - 1)] += n;
        }
    }

    pub fn count(&self) -> u64 {
        self.by_stars.iter().sum()
    }

    pub fn average(&self) -> Option<f64> {
        let n = self.count();
        let sum: u64 = (1..=5u64).zip(self.by_stars).map(|(s, c)| s * c).sum();
        (n > 0).then(|| sum as f64 / n as f64)
    }

    /// "4.3/5 from 12 ratings" or "—".
    pub fn summary(&self) -> String {
        match self.average() {
            Some(avg) if self.count() == 1 => format!("{avg:.1}/5 from 1 rating"),
            Some(avg) => format!("{avg:.1}/5 from {} ratings", self.count()),
            None => "—".to_owned(),
        }
    }
}

/// The ratings of the tickets a filter selects: overall, and per staff member who claimed or
/// closed the rated ticket (a ticket claimed and closed by one member counts once for them).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FeedbackSummary {
    pub overall: Ratings,
    /// Highest count first, then by id.
    pub staff: Vec<StaffRatings>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StaffRatings {
    #[serde(serialize_with = "crate::ticket::id_as_string")]
    pub user_id: DiscordId,
    pub ratings: Ratings,
}

impl FeedbackSummary {
    /// The ratings of one staff member (empty when they have none).
    pub fn of(&self, user_id: DiscordId) -> Ratings {
        self.staff
            .iter()
            .find(|s| s.user_id == user_id)
            .map(|s| s.ratings)
            .unwrap_or_default()
    }

    /// Sorts the staff as documented.
    pub fn sort(&mut self) {
        self.staff.sort_by(|a, b| {
            b.ratings
                .count()
                .cmp(&a.ratings.count())
                .then(a.user_id.cmp(&b.user_id))
        });
    }
}

/// Rated tickets alike in who claimed and who closed them, and their rating: what the stores
/// count (a GROUP BY, or a fold), so that one pass over the ratings makes a summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RatedGroup {
    pub claimed_by: Option<DiscordId>,
    pub closed_by: Option<DiscordId>,
    pub rating: u8,
    pub tickets: u64,
}

/// The summary of these groups: every rating counts overall, and for the member who claimed
/// and the one who closed (once when they are the same).
pub fn summarize(groups: impl IntoIterator<Item = RatedGroup>) -> FeedbackSummary {
    let groups: Vec<RatedGroup> = groups.into_iter().collect();
    let per_member = groups.iter().flat_map(|g| {
        let closer = g.closed_by.filter(|c| Some(*c) != g.claimed_by);
        g.claimed_by
            .into_iter()
            .chain(closer)
            .map(move |member| (member, g.rating, g.tickets))
    });
    FeedbackSummary::from_counts(groups.iter().map(|g| (g.rating, g.tickets)), per_member)
}

impl FeedbackSummary {
    /// A summary from counts already apart: rated tickets per rating, and per (member,
    /// rating) for the member who claimed each and the one who closed it when another (what
    /// SQLite's one pass over the tickets counts).
    pub fn from_counts(
        overall: impl IntoIterator<Item = (u8, u64)>,
        per_member: impl IntoIterator<Item = (DiscordId, u8, u64)>,
    ) -> FeedbackSummary {
        let mut summary = FeedbackSummary::default();
        for (rating, n) in overall {
            summary.overall.add(rating, n);
        }
        let mut per: std::collections::BTreeMap<DiscordId, Ratings> = Default::default();
        for (member, rating, n) in per_member {
            per.entry(member).or_default().add(rating, n);
        }
        summary.staff = per
            .into_iter()
            .map(|(user_id, ratings)| StaffRatings { user_id, ratings })
            .collect();
        summary.sort();
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_outside_one_to_five_are_refused() {
        let now = Utc::now();
        assert!(Feedback::new(Uuid::nil(), 1, 0, None, now).is_err());
        assert!(Feedback::new(Uuid::nil(), 1, 6, None, now).is_err());
        assert_eq!(
            Feedback::new(Uuid::nil(), 1, 5, None, now).unwrap().rating,
            5
        );
    }

    #[test]
    fn the_change_window_closes() {
        let at = Utc::now();
        let f = Feedback::new(Uuid::nil(), 1, 3, Some("  ok  "), at).unwrap();
        assert_eq!(f.comment.as_deref(), Some("ok"));
        assert!(f.changeable(at + Duration::hours(23)));
        assert!(!f.changeable(at + CHANGE_WINDOW));
    }

    #[test]
    fn summaries_average_and_sort() {
        let group = |claimed_by, closed_by, rating, tickets| RatedGroup {
            claimed_by,
            closed_by,
            rating,
            tickets,
        };
        // 7 claimed and 9 closed one 5-star ticket; 9 claimed and closed a 2-star one (counted
        // once for them); nobody claimed or closed a 5-star one.
        let s = summarize([
            group(Some(7), Some(9), 5, 1),
            group(Some(9), Some(9), 2, 1),
            group(None, None, 5, 1),
        ]);
        assert_eq!(s.overall.count(), 3);
        assert_eq!(s.overall.summary(), "4.0/5 from 3 ratings");
        assert_eq!(s.staff[0].user_id, 9);
        assert_eq!(s.of(9).average(), Some(3.5));
        assert_eq!(s.of(1).count(), 0);
        assert_eq!(stars(4), "★★★★☆ 4/5");
    }

    #[test]
    fn long_comments_are_cut() {
        let long = "é".repeat(COMMENT_MAX_CHARS + 10);
        assert_eq!(clean_comment(&long).chars().count(), COMMENT_MAX_CHARS);
    }
}
