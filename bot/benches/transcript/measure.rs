//! One measured command: the bot's requests, CPU, memory and files, the stored transcript.

use super::*;

// ----- /proc -----

/// Resets VmHWM to the current VmRSS (`5` to `/proc/<pid>/clear_refs`, Linux ≥ 4.0).
fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

// ----- one measured command -----

/// A request the bot made during a measured command, and when this process first saw it.
pub(super) struct Seen {
    pub(super) at: Duration,
    pub(super) route: String,
    pub(super) status: u16,
}

/// `METHOD /path` with ids and tokens replaced by what they are.
fn route_of(r: &RecordedRequest, ticket_channel: u64) -> String {
    let parts: Vec<&str> = r.path.split('/').collect();
    let norm: Vec<String> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let owner = if i > 0 { parts[i - 1] } else { "" };
            match (owner, p.parse::<u64>().ok()) {
                ("channels", Some(id)) if id == ticket_channel => "{ticket}".to_owned(),
                ("channels", Some(ids::LOG_CHANNEL)) => "{log}".to_owned(),
                ("interactions" | "webhooks" | "messages" | "channels", Some(_)) => {
                    "{id}".to_owned()
                }
                ("applications", Some(_)) => "{app}".to_owned(),
                _ if owner == "interactions" || owner == "webhooks" || p.len() > 40 => {
                    "{token}".to_owned()
                }
                _ => (*p).to_owned(),
            }
        })
        .collect();
    let mut s = format!("{} {}", r.method, norm.join("/"));
    if !r.files.is_empty() {
        let _ = write!(s, " [{} file(s)]", r.files.len());
    }
    s
}

/// What one command cost.
pub(super) struct Op {
    pub(super) name: &'static str,
    pub(super) reply: String,
    /// command → first callback (the defer)
    pub(super) ack: Option<Duration>,
    /// command → the reply with content
    pub(super) took: Duration,
    pub(super) timeline: Vec<Seen>,
    pub(super) history_pages: usize,
    pub(super) first_page: Option<Duration>,
    pub(super) last_page: Option<Duration>,
    pub(super) bot_cpu: f64,
    pub(super) rss_before: Option<u64>,
    pub(super) hwm_before: Option<u64>,
    pub(super) peak_reset: bool,
    pub(super) hwm_during: Option<u64>,
    pub(super) rss_after: Option<u64>,
    pub(super) rss_settled: Option<u64>,
    /// (file names, bytes) posted to the log channel, sent by DM, in the reply
    pub(super) log_files: (Vec<String>, u64),
    pub(super) dm_files: (Vec<String>, u64),
    pub(super) reply_files: (Vec<String>, u64),
    pub(super) stored: Option<Stored>,
}

/// The transcript in the database, and what it costs to use it here.
pub(super) struct Stored {
    pub(super) bytes: usize,
    pub(super) message_count: u32,
    pub(super) messages: usize,
    pub(super) users: usize,
    pub(super) assets: usize,
    pub(super) asset_bytes: usize,
    pub(super) omitted: usize,
    pub(super) decode: Duration,
    pub(super) encode: Duration,
    pub(super) encoded_bytes: usize,
    pub(super) render: Duration,
    pub(super) html_bytes: usize,
    pub(super) parts: Duration,
    pub(super) part_sizes: Vec<usize>,
}

fn files_of(msgs: &[fakecord::Message]) -> (Vec<String>, u64) {
    let mut names = Vec::new();
    let mut bytes = 0;
    for m in msgs {
        for a in &m.attachments {
            names.push(a.filename.clone());
            bytes += a.data.len() as u64;
        }
    }
    (names, bytes)
}

/// Sends `/ticket <sub>` as staff in `channel` and measures it until the reply.
pub(super) async fn measure(
    name: &'static str,
    fake: &FakeDiscord,
    bot: &mut Bot,
    store: &dyn TicketStore,
    ticket: &Ticket,
    channel: u64,
) -> Result<Op, String> {
    tokio::time::sleep(SETTLE).await;
    let (rss_before, hwm_before) = memory_kib(bot.pid);
    let peak_reset = reset_peak(bot.pid);
    let log_before = fake.messages(ids::LOG_CHANNEL).len();
    let dm_before = fake.dm_messages(ids::ALICE).len();
    let first_request = fake.with_state(|st| st.requests.len());
    let cpu_before = cpu_secs(bot.pid);

    let id = slash(fake, ids::STAFF, channel, name, &[]);
    let t0 = Instant::now();
    let mut next = first_request;
    let mut timeline: Vec<Seen> = Vec::new();
    let mut ack = None;
    let waiting = fake.wait_for(
        |st| {
            let now = t0.elapsed();
            for r in &st.requests[next..] {
                timeline.push(Seen {
                    at: now,
                    route: route_of(r, channel),
                    status: r.status,
                });
            }
            next = st.requests.len();
            if ack.is_none()
                && st
                    .interactions
                    .get(&id)
                    .is_some_and(|i| !i.callbacks.is_empty())
            {
                ack = Some(now);
            }
            st.replies(id)
                .into_iter()
                .find(|m| {
                    m.flags & fakecord::LOADING == 0
                        && (!m.content.is_empty() || !m.attachments.is_empty())
                })
                .map(|m| (now, m.clone()))
        },
        OP_TIMEOUT,
    );
    let (took, reply) = tokio::select! {
        r = waiting => r.map_err(|e| format!("/ticket {name}: {e}\n{}", bot.output_tail(30)))?,
        status = bot.child.wait() => {
            return Err(format!("the bot exited ({status:?}) during /ticket {name}:\n{}", bot.output_tail(40)));
        }
    };
    let cpu_after = cpu_secs(bot.pid);
    let (rss_after, hwm_during) = memory_kib(bot.pid);

    let pages: Vec<&Seen> = timeline
        .iter()
        .filter(|s| s.route == "GET /channels/{ticket}/messages")
        .collect();
    let history_pages = pages.len();
    let first_page = pages.first().map(|s| s.at);
    let last_page = pages.last().map(|s| s.at);

    let log_files = files_of(&fake.messages(ids::LOG_CHANNEL)[log_before..]);
    let dm_files = files_of(&fake.dm_messages(ids::ALICE)[dm_before..]);
    let reply_files = files_of(std::slice::from_ref(&reply));

    tokio::time::sleep(SETTLE).await;
    let (rss_settled, _) = memory_kib(bot.pid);

    let stored = match store.get_transcript(ticket.id).await {
        Ok(Some(blob)) => Some(use_stored(&blob.data, blob.message_count)?),
        Ok(None) => None,
        Err(e) => return Err(format!("get_transcript: {e}")),
    };
    Ok(Op {
        name,
        reply: reply.text(),
        ack,
        took,
        timeline,
        history_pages,
        first_page,
        last_page,
        bot_cpu: cpu_before.zip(cpu_after).map_or(f64::NAN, |(a, b)| b - a),
        rss_before,
        hwm_before,
        peak_reset,
        hwm_during,
        rss_after,
        rss_settled,
        log_files,
        dm_files,
        reply_files,
        stored,
    })
}

/// Decodes, re-encodes and renders a stored transcript, timing each.
fn use_stored(data: &[u8], message_count: u32) -> Result<Stored, String> {
    let t = Instant::now();
    let transcript = tr::decode(data).map_err(|e| format!("decode the stored transcript: {e}"))?;
    let decode = t.elapsed();
    let t = Instant::now();
    let encoded_bytes = tr::encode(&transcript).len();
    let encode = t.elapsed();
    let t = Instant::now();
    let html = tr::render_html(&transcript);
    let render = t.elapsed();
    let t = Instant::now();
    let part_sizes = tr::discord_parts(&transcript, PART_LIMIT)
        .iter()
        .map(|p| p.bytes.len())
        .collect();
    let parts = t.elapsed();
    Ok(Stored {
        bytes: data.len(),
        message_count,
        messages: transcript.messages.len(),
        users: transcript.users.len(),
        assets: transcript.assets.len(),
        asset_bytes: transcript.assets.iter().map(|a| a.data.len()).sum(),
        omitted: transcript.omitted.len(),
        decode,
        encode,
        encoded_bytes,
        render,
        html_bytes: html.len(),
        parts,
        part_sizes,
    })
}
