//! Ticket topics: administrators manage them with `/ticket topic …` (stored in the database, no
//! restart); the panel offers them; a topic with a form asks its questions in a modal, and the
//! ticket opens with the answers in its welcome message and stored with it.

use poise::serenity_prelude::{
    ActionRowComponent, ButtonStyle, CreateButton, CreateInputText, CreateModal, CreateSelectMenu,
    CreateSelectMenuKind, CreateSelectMenuOption, InputTextStyle, ModalInteractionData,
};
use ticketbot_common::topics::{
    self, Answer, Question, QuestionStyle, Topic, TopicError, TopicWrite, MAX_QUESTIONS,
};

use super::*;

/// A topic's button on a panel: `ticketbot:topic:<topic id>`.
pub const TOPIC_BUTTON_PREFIX: &str = "ticketbot:topic:";
/// A panel's topic menu (more than five topics); the option values are topic ids.
pub const TOPIC_SELECT: &str = "ticketbot:topic-select";
/// The form of a topic, answered by a member: `ticketbot:topic-open:<topic id>`.
pub const TOPIC_OPEN_PREFIX: &str = "ticketbot:topic-open:";
/// The questions of a topic, written by an administrator: `ticketbot:topic-form:<topic id>`.
pub const TOPIC_QUESTIONS_PREFIX: &str = "ticketbot:topic-form:";

/// Buttons hold up to this many topics; more make a menu.
const BUTTONS_MAX: usize = 5;

/// A modal's title is at most 45 characters.
const TITLE_MAX: usize = 45;

/// The topic a member picked and their answers to its form.
pub struct Chosen {
    pub topic: Topic,
    pub answers: Vec<Answer>,
}

/// Topics are managed by administrators (Manage Server), not by all staff.
pub fn require_admin(member: Option<&serenity::Member>) -> Result<(), ServiceError> {
    let ok = member
        .and_then(|m| m.permissions)
        .is_some_and(|p| p.administrator() || p.manage_guild());
    if ok {
        Ok(())
    } else {
        Err(ServiceError::User(
            "Only server administrators (Manage Server) can manage ticket topics.".into(),
        ))
    }
}

/// What `/ticket topic add|edit` sets; `None` leaves a field as it is (on edit).
#[derive(Default)]
pub struct TopicFields {
    pub name: Option<String>,
    pub emoji: Option<String>,
    pub category: Option<u64>,
    pub role: Option<u64>,
    pub limit: Option<u32>,
}

fn topic_error(e: TopicError) -> ServiceError {
    ServiceError::User(format!("{}.", capitalize(&e.to_string())))
}

/// The guild's topic named `name` (any case).
async fn named(data: &Data, guild: GuildId, name: &str) -> Result<Topic, ServiceError> {
    let key = topics::name_key(name);
    data.store
        .topics(guild.get())
        .await?
        .into_iter()
        .find(|t| t.key() == key)
        .ok_or_else(|| {
            ServiceError::User(format!(
                "There is no topic named “{}”. /ticket topic list shows them.",
                name.trim()
            ))
        })
}

/// `/ticket topic add`: stores the topic, then the caller shows its questions form.
pub async fn add(data: &Data, guild: GuildId, fields: TopicFields) -> Result<Topic, ServiceError> {
    let name = fields.name.unwrap_or_default();
    let existing = data.store.topics(guild.get()).await?;
    if existing.len() >= topics::MAX_TOPICS {
        return Err(ServiceError::User(format!(
            "A panel offers at most {} topics; remove one first.",
            topics::MAX_TOPICS
        )));
    }
    let mut topic = Topic::new(guild.get(), &name, Vec::new(), now()).map_err(topic_error)?;
    topic.emoji = fields
        .emoji
        .map(|e| e.trim().to_owned())
        .filter(|e| !e.is_empty());
    topic.category_id = fields.category;
    topic.role_id = fields.role;
    topic.max_open = fields.limit;
    topic.check().map_err(topic_error)?;
    match data.store.add_topic(&topic).await? {
        TopicWrite::Done => Ok(topic),
        _ => Err(ServiceError::User(format!(
            "A topic named “{}” exists already; use /ticket topic edit.",
            topic.name
        ))),
    }
}

/// `/ticket topic edit`: changes the given fields, then the caller shows the questions form.
pub async fn edit(
    data: &Data,
    guild: GuildId,
    name: &str,
    fields: TopicFields,
) -> Result<Topic, ServiceError> {
    let mut topic = named(data, guild, name).await?;
    if let Some(n) = fields.name {
        topic.name = n.trim().to_owned();
    }
    if let Some(e) = fields.emoji {
        // "-" or nothing visible clears it.
        topic.emoji = Some(e.trim().to_owned()).filter(|e| !e.is_empty() && e != "-");
    }
    if fields.category.is_some() {
        topic.category_id = fields.category;
    }
    if fields.role.is_some() {
        topic.role_id = fields.role;
    }
    if fields.limit.is_some() {
        topic.max_open = fields.limit;
    }
    topic.updated_at = now();
    topic.check().map_err(topic_error)?;
    save(data, &topic).await?;
    Ok(topic)
}

async fn save(data: &Data, topic: &Topic) -> Result<(), ServiceError> {
    match data.store.update_topic(topic).await? {
        TopicWrite::Done => Ok(()),
        TopicWrite::NameTaken => Err(ServiceError::User(format!(
            "Another topic is named “{}”; pick another name.",
            topic.name
        ))),
        TopicWrite::Missing => Err(ServiceError::User(
            "This topic was removed meanwhile; nothing was changed.".into(),
        )),
    }
}

/// `/ticket topic remove`.
pub async fn remove(data: &Data, req: &Req, name: &str) -> Outcome {
    let topic = named(data, req.guild_id, name).await?;
    data.store.remove_topic(topic.id, now()).await?;
    Ok(Reply::text(format!(
        "Topic “{}” removed. Its buttons on existing panels now say so; post a new panel with /ticket setup.",
        topic.name
    )))
}

/// `/ticket topic list`.
pub async fn list(data: &Data, req: &Req) -> Outcome {
    let all = data.store.topics(req.guild_id.get()).await?;
    if all.is_empty() {
        return Ok(Reply::text(
            "No topics yet: the panel offers one Open Ticket button. Add one with /ticket topic add.",
        ));
    }
    let mut embed = serenity::CreateEmbed::new()
        .title("Ticket topics")
        .color(embeds::COLOR);
    for t in all.iter().take(25) {
        let mut lines = vec![
            format!(
                "Category: {}",
                t.category_id
                    .map_or("the default".into(), |c| format!("<#{c}>"))
            ),
            format!(
                "Role: {}",
                t.role_id
                    .map_or("the support role".into(), |r| format!("<@&{r}>"))
            ),
            format!(
                "Limit per user: {}",
                t.max_open.map_or("the default".into(), |n| n.to_string())
            ),
        ];
        if t.questions.is_empty() {
            lines.push("No form".into());
        }
        for (i, q) in t.questions.iter().enumerate() {
            lines.push(format!("{}. {}", i + 1, q.to_line()));
        }
        embed = embed.field(
            embeds::fit(&t.label(), 256),
            embeds::fit(&lines.join("\n"), embeds::FIELD_VALUE_MAX),
            false,
        );
    }
    Ok(Reply {
        embed: Some(embed),
        ..Reply::default()
    })
}

/// The administrator's form for a topic's questions, one per box, prefilled with the current
/// ones.
pub fn questions_form(topic: &Topic) -> CreateModal {
    let rows = (0..MAX_QUESTIONS)
        .map(|i| {
            let mut input = CreateInputText::new(
                InputTextStyle::Short,
                format!("Question {}", i + 1),
                format!("q{i}"),
            )
            .required(false)
            .max_length(300)
            .placeholder("e.g. Order number | short | required | 3-20");
            if let Some(q) = topic.questions.get(i) {
                input = input.value(q.to_line());
            }
            serenity::CreateActionRow::InputText(input)
        })
        .collect();
    CreateModal::new(
        format!("{TOPIC_QUESTIONS_PREFIX}{}", topic.id),
        cut(&format!("Form of {}", topic.name), TITLE_MAX),
    )
    .components(rows)
}

/// The administrator sent the questions form.
pub async fn save_questions(
    data: &Data,
    guild: GuildId,
    topic_id: Uuid,
    form: &ModalInteractionData,
) -> Outcome {
    let lines = inputs(form);
    let mut questions = Vec::new();
    for (i, line) in lines
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .enumerate()
    {
        questions.push(Question::parse(i + 1, &line.1).map_err(|e| {
            ServiceError::User(format!(
                "{}. Nothing was saved; your questions were:\n{}",
                capitalize(&e.to_string()),
                lines
                    .iter()
                    .map(|(_, v)| format!("`{v}`"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ))
        })?);
    }
    let mut topic = data
        .store
        .topic(topic_id)
        .await?
        .filter(|t| t.guild_id == guild.get() && !t.is_removed())
        .ok_or_else(|| ServiceError::User("This topic was removed meanwhile.".into()))?;
    topic.questions = questions;
    topic.updated_at = now();
    topic.check().map_err(topic_error)?;
    save(data, &topic).await?;
    let form = match topic.questions.len() {
        0 => "no form".to_owned(),
        1 => "a form of 1 question".to_owned(),
        n => format!("a form of {n} questions"),
    };
    Ok(Reply::text(format!(
        "Topic “{}” saved, with {form}. Post a panel with /ticket setup to offer it.",
        topic.label()
    )))
}

/// The text inputs of a submitted form, `(custom id, value)` in order.
fn inputs(form: &ModalInteractionData) -> Vec<(String, String)> {
    form.components
        .iter()
        .flat_map(|row| &row.components)
        .filter_map(|c| match c {
            ActionRowComponent::InputText(t) => {
                Some((t.custom_id.clone(), t.value.clone().unwrap_or_default()))
            }
            _ => None,
        })
        .collect()
}

/// The panel's components: the guild's topics as buttons (up to five) or a menu, or the one
/// Open Ticket button when it has none.
pub async fn panel_components(
    data: &Data,
    guild: GuildId,
) -> Result<Option<Vec<serenity::CreateActionRow>>, ServiceError> {
    let all = data.store.topics(guild.get()).await?;
    if all.is_empty() {
        return Ok(None);
    }
    if all.len() <= BUTTONS_MAX {
        let buttons = all
            .iter()
            .map(|t| {
                let mut b = CreateButton::new(format!("{TOPIC_BUTTON_PREFIX}{}", t.id))
                    .label(t.name.clone())
                    .style(ButtonStyle::Primary);
                if let Some(e) = t.emoji.as_deref().and_then(emoji) {
                    b = b.emoji(e);
                }
                b
            })
            .collect();
        return Ok(Some(vec![serenity::CreateActionRow::Buttons(buttons)]));
    }
    let options = all
        .iter()
        .take(topics::MAX_TOPICS)
        .map(|t| {
            let mut o = CreateSelectMenuOption::new(t.name.clone(), t.id.to_string());
            if let Some(e) = t.emoji.as_deref().and_then(emoji) {
                o = o.emoji(e);
            }
            o
        })
        .collect();
    let menu = CreateSelectMenu::new(TOPIC_SELECT, CreateSelectMenuKind::String { options })
        .placeholder("Pick a topic to open a ticket");
    Ok(Some(vec![serenity::CreateActionRow::SelectMenu(menu)]))
}

/// A Unicode emoji, or a custom one written `<:name:id>`; `None` for anything else (shown in
/// the label text only; a topic checks its emoji, this guards rows written by hand).
fn emoji(text: &str) -> Option<serenity::ReactionType> {
    let text = text.trim();
    if !topics::is_emoji(text) {
        return None;
    }
    if text.starts_with('<') {
        return text.parse().ok();
    }
    Some(serenity::ReactionType::Unicode(text.to_owned()))
}

/// What a click on a topic leads to.
pub enum Picked {
    /// No form: open now.
    Open(Chosen),
    /// Show this form first.
    Ask(CreateModal),
}

/// The guild's topic `id`, unless it was removed (the member is told so).
async fn live_topic(data: &Data, guild: GuildId, id: Uuid) -> Result<Topic, ServiceError> {
    let topic = data
        .store
        .topic(id)
        .await?
        .filter(|t| t.guild_id == guild.get())
        .ok_or_else(|| {
            ServiceError::User("This topic no longer exists; please pick another one.".into())
        })?;
    if topic.is_removed() {
        return Err(ServiceError::User(format!(
            "The topic “{}” was removed; please pick another one, or ask the staff.",
            topic.name
        )));
    }
    Ok(topic)
}

/// A member picked topic `id` on a panel.
pub async fn pick(data: &Data, guild: GuildId, id: Uuid) -> Result<Picked, ServiceError> {
    let topic = live_topic(data, guild, id).await?;
    if topic.questions.is_empty() {
        return Ok(Picked::Open(Chosen {
            topic,
            answers: Vec::new(),
        }));
    }
    let rows = topic
        .questions
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let style = match q.style {
                QuestionStyle::Short => InputTextStyle::Short,
                QuestionStyle::Paragraph => InputTextStyle::Paragraph,
            };
            let mut input = CreateInputText::new(style, q.label.clone(), format!("a{i}"))
                .required(q.required)
                .max_length(q.max_length.unwrap_or(topics::ANSWER_MAX));
            if let Some(min) = q.min_length {
                input = input.min_length(min);
            }
            if let Some(p) = &q.placeholder {
                input = input.placeholder(p.clone());
            }
            serenity::CreateActionRow::InputText(input)
        })
        .collect();
    let form = CreateModal::new(
        format!("{TOPIC_OPEN_PREFIX}{}", topic.id),
        cut(&topic.label(), TITLE_MAX),
    )
    .components(rows);
    Ok(Picked::Ask(form))
}

/// A member sent a topic's form: the topic as it is now, with their answers (verbatim) in its
/// questions' order.
pub async fn answered(
    data: &Data,
    guild: GuildId,
    id: Uuid,
    form: &ModalInteractionData,
) -> Result<Chosen, ServiceError> {
    let topic = live_topic(data, guild, id).await?;
    let given = inputs(form);
    let answers = topic
        .questions
        .iter()
        .enumerate()
        .map(|(i, q)| Answer {
            question: q.label.clone(),
            answer: given
                .iter()
                .find(|(k, _)| *k == format!("a{i}"))
                .map(|(_, v)| v.clone())
                .unwrap_or_default(),
        })
        .collect();
    Ok(Chosen { topic, answers })
}

/// The first `max` characters of `s`.
fn cut(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
