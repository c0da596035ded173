//! Statistics, and one burst of clicks with where its time went.

use super::*;

pub(super) fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// "p50 / p99 / max" in ms.
pub(super) fn spread(v: &mut [Duration]) -> String {
    if v.is_empty() {
        return "-".into();
    }
    v.sort_unstable();
    format!(
        "{} / {} / {}",
        ms(pct(v, 50.0)),
        ms(pct(v, 99.0)),
        ms(*v.last().unwrap_or(&Duration::ZERO))
    )
}

pub(super) fn median(v: &mut [Duration]) -> Duration {
    v.sort_unstable();
    pct(v, 50.0)
}

pub(super) struct Burst {
    pub(super) n: usize,
    /// send → callback
    pub(super) ack: Vec<Duration>,
    /// send → follow-up
    pub(super) reply: Vec<Duration>,
    pub(super) callback_kinds: HashMap<u64, usize>,
    pub(super) linked: usize,
    pub(super) unanswered: usize,
    pub(super) no_reply: usize,
    /// first send → last follow-up
    pub(super) wall: Duration,
    /// first send → last send
    pub(super) send_span: Duration,
    /// click → channel created (create_ticket in the DB + the channel request); channel → the
    /// user's link (set_channel in the DB + the answer); channel → welcome message; channel →
    /// audit message (the last two run after the link, beside other tickets)
    pub(super) steps: [Vec<Duration>; 4],
    pub(super) routes: HashMap<String, (usize, usize)>,
    pub(super) failures: Vec<String>,
    pub(super) cpu: CpuUse,
}

impl Burst {
    pub(super) fn throughput(&self) -> f64 {
        let secs = self.wall.as_secs_f64();
        if secs > 0.0 {
            (self.n - self.no_reply) as f64 / secs
        } else {
            0.0
        }
    }
}

/// `n` members (`first..first + n`) click the panel's open button at once.
pub(super) async fn burst(
    fake: &Arc<FakeDiscord>,
    panel: u64,
    first: usize,
    n: usize,
) -> Result<Burst, String> {
    let obs = Arc::new(Mutex::new(Obs {
        next: fake.with_state(|st| st.requests.len()),
        ..Obs::default()
    }));
    let observing = Arc::new(AtomicBool::new(false));
    // The clicks come from a thread of their own, once the observer runs.
    let clicker = {
        let fake = Arc::clone(fake);
        let observing = Arc::clone(&observing);
        tokio::task::spawn_blocking(move || {
            while !observing.load(Ordering::Acquire) {
                std::thread::sleep(Duration::from_millis(1));
            }
            let mut sent = Vec::with_capacity(n);
            for i in first..first + n {
                let user = FakeUser::new(USER_BASE + i as u64, &format!("bench{i}"));
                let id = fake.click_button(
                    &user,
                    &[ids::MEMBER_ROLE],
                    ids::PANEL_CHANNEL,
                    panel,
                    OPEN_BUTTON,
                );
                sent.push((id, user.id, Instant::now()));
            }
            sent
        })
    };
    let watch = {
        let obs = Arc::clone(&obs);
        let observing = Arc::clone(&observing);
        fake.wait_until(
            move |st| {
                observing.store(true, Ordering::Release);
                let mut o = obs.lock().unwrap_or_else(PoisonError::into_inner);
                o.scan(st);
                o.followups.len() >= n
            },
            BURST_TIMEOUT,
        )
    };
    let (done, sent) = tokio::join!(watch, clicker);
    let sent = sent.map_err(|e| format!("the clicking thread failed: {e}"))?;
    if let Err(e) = done {
        eprintln!("warning: burst incomplete: {e}");
    }
    // What arrived after the last wake-up.
    let mut o = std::mem::take(&mut *obs.lock().unwrap_or_else(PoisonError::into_inner));
    fake.with_state(|st| o.scan(st));

    let mut b = Burst {
        n,
        ack: Vec::with_capacity(n),
        reply: Vec::with_capacity(n),
        callback_kinds: HashMap::new(),
        linked: 0,
        unanswered: 0,
        no_reply: 0,
        wall: Duration::ZERO,
        send_span: Duration::ZERO,
        steps: Default::default(),
        routes: o.routes,
        failures: o.failures,
        cpu: CpuUse::default(),
    };
    let t0 = sent.first().map(|s| s.2).unwrap_or_else(Instant::now);
    b.send_span = sent.last().map_or(Duration::ZERO, |s| s.2 - t0);
    let mut last = t0;
    for (id, user, at) in &sent {
        let cb = o.callbacks.get(id);
        match cb {
            Some((t, kind)) => {
                b.ack.push(t.saturating_duration_since(*at));
                *b.callback_kinds.entry(*kind).or_default() += 1;
            }
            None => b.unanswered += 1,
        }
        match o.followups.get(id) {
            Some((t, linked)) => {
                b.reply.push(t.saturating_duration_since(*at));
                last = last.max(*t);
                if *linked {
                    b.linked += 1;
                }
            }
            None => b.no_reply += 1,
        }
        let channel = o.channel.get(user).copied();
        let steps = [
            (Some(*at), channel),
            (channel, o.followups.get(id).map(|f| f.0)),
            (channel, o.welcome.get(user).copied()),
            (channel, o.audit.get(user).copied()),
        ];
        for (k, step) in steps.iter().enumerate() {
            if let (Some(a), Some(z)) = step {
                b.steps[k].push(z.saturating_duration_since(*a));
            }
        }
    }
    b.wall = last - t0;
    Ok(b)
}
