//! What the page's templates render, as `html.rs` fills it in: askama escapes every text
//! field; `Markup` (escaped by `crate::markdown`) and `DataUri` are marked safe.

use super::*;

pub(super) struct OmissionView<'a> {
    pub(super) message_id: Option<u64>,
    pub(super) filename: &'a str,
    pub(super) size: String,
    pub(super) reason: &'a str,
}

pub(super) struct PartView {
    pub(super) number: usize,
    pub(super) of: usize,
    pub(super) first: usize,
    pub(super) last: usize,
    pub(super) from: String,
    pub(super) to: String,
}

pub(super) type ByAt<'a> = Option<(String, Option<UserRef<'a>>)>;

#[derive(Template)]
#[template(path = "page_head.html")]
pub(crate) struct PageHead<'a> {
    pub(super) csp: &'a str,
    pub(super) css: Markup,
    pub(super) short_id: &'a str,
    pub(super) ticket_id: String,
    pub(super) channel_name: &'a str,
    pub(super) channel_id: Option<u64>,
    pub(super) guild_name: Option<&'a str>,
    pub(super) guild_id: u64,
    pub(super) status: &'a str,
    pub(super) creator: UserRef<'a>,
    pub(super) claimer: Option<UserRef<'a>>,
    pub(super) participants: Vec<UserRef<'a>>,
    pub(super) opened: String,
    pub(super) closed: ByAt<'a>,
    pub(super) close_reason: Option<&'a str>,
    pub(super) archived: ByAt<'a>,
    pub(super) message_count: usize,
    pub(super) kept_files: usize,
    pub(super) omitted: Vec<OmissionView<'a>>,
    pub(super) part: Option<PartView>,
    pub(super) files_left_out: bool,
}

#[derive(Template)]
#[template(path = "page_foot.html")]
pub(super) struct PageFoot {
    pub(super) generated: String,
}

pub(super) struct AvatarView {
    pub(super) class: String,
    pub(super) initial: String,
}

pub(super) struct ReplyView<'a> {
    pub(super) id: u64,
    pub(super) found: bool,
    pub(super) name: &'a str,
    pub(super) avatar: AvatarView,
    pub(super) preview: String,
}

pub(super) struct ImageView<'a> {
    /// None: left out of this page.
    pub(super) src: Option<DataUri>,
    pub(super) alt: &'a str,
}

pub(super) struct FieldView<'a> {
    pub(super) name: &'a str,
    pub(super) value: Markup,
    pub(super) inline: bool,
}

pub(super) struct EmbedView<'a> {
    pub(super) color: String,
    pub(super) author: Option<&'a str>,
    pub(super) title: Option<&'a str>,
    pub(super) url: Option<&'a str>,
    pub(super) description: Markup,
    pub(super) fields: Vec<FieldView<'a>>,
    pub(super) footer: Option<&'a str>,
    pub(super) timestamp: Option<String>,
    pub(super) image: Option<ImageView<'a>>,
    pub(super) thumbnail: Option<ImageView<'a>>,
}

pub(super) enum AttachmentView<'a> {
    Image {
        src: DataUri,
        filename: &'a str,
        size: String,
        width: Option<u32>,
        height: Option<u32>,
    },
    File {
        href: DataUri,
        filename: &'a str,
        size: String,
    },
    /// Kept in the database, left out of this page.
    NotHere {
        filename: &'a str,
        size: String,
        image: bool,
    },
    LeftOut {
        filename: &'a str,
        size: String,
        reason: &'a str,
    },
}

#[derive(Template)]
#[template(path = "message.html")]
pub(super) struct MessageView<'a> {
    pub(super) id: u64,
    pub(super) short_id: &'a str,
    pub(super) head: bool,
    pub(super) system: Option<&'a str>,
    pub(super) avatar: AvatarView,
    pub(super) name_color: Option<String>,
    pub(super) author: UserRef<'a>,
    pub(super) time_full: String,
    pub(super) time_iso: String,
    pub(super) time_short: String,
    pub(super) edited: Option<String>,
    pub(super) pinned: bool,
    pub(super) reply: Option<ReplyView<'a>>,
    pub(super) content: Markup,
    pub(super) embeds: Vec<EmbedView<'a>>,
    pub(super) attachments: Vec<AttachmentView<'a>>,
}
