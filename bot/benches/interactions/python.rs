//! `--python-bot PYTHON`: the same burst of clicks on the open button, by the same members, for
//! our bot (SQLite) and for the Python bot's open path (`bench/python/bot.py`, discord.py and
//! sqlite3, run by PYTHON, which needs `discord.py` installed), each against a fresh fake with
//! Discord's channel limits (rate limits off for both), one after the other, [`ROUNDS`] times in
//! one run. Measured: a click → the user's answer with their channel ("Your ticket is open: …" /
//! "Ticket created: …"), p50 and p99, and ours ÷ theirs.

use super::*;

const ROUNDS: usize = 3;
/// The Python bot has no `/ticket setup` in this model: its members click a panel message the
/// fake makes up (a persistent view answers by custom id, whatever the message).
const PYTHON_PANEL: u64 = 1_210_000_000_000_009_999;
/// Both bots are left alone this long after they connect: discord.py gets the guild after
/// READY and its view needs it cached; ours runs its start-up repair pass.
const SETTLE: Duration = Duration::from_secs(3);

pub(crate) async fn compare(python: &Path, n: usize) -> Result<(), String> {
    let mut rounds = Vec::new();
    for round in 1..=ROUNDS {
        let ours = ours(n, round).await?;
        eprintln!("[round {round}] ours:   {}", line(&ours));
        let theirs = theirs(python, n, round).await?;
        eprintln!("[round {round}] Python: {}", line(&theirs));
        rounds.push((ours, theirs));
    }
    print_comparison(n, &rounds);
    Ok(())
}

fn line(b: &Burst) -> String {
    format!(
        "click → answer with the channel p50/p99/max {} ms, {} / {} answered with it, CPU ms/ticket bot/fake {:.2} / {:.2}",
        spread(&mut b.reply.clone()),
        b.linked,
        b.n,
        b.cpu.bot,
        b.cpu.bench
    )
}

async fn ours(n: usize, round: usize) -> Result<Burst, String> {
    let db = Db::new(Backend::Sqlite).await?;
    let result = async {
        let Started { fake, mut bot, .. } = start_bot_on(&db, round, Config::default()).await?;
        let panel = post_panel(&fake, &bot).await?;
        add_members(&fake, n);
        tokio::time::sleep(SETTLE).await;
        let measured = measure(&fake, &bot, panel, n).await;
        bot.stop().await;
        measured
    }
    .await;
    db.cleanup().await;
    result
}

async fn theirs(python: &Path, n: usize, round: usize) -> Result<Burst, String> {
    let dir = tempfile::Builder::new()
        .prefix("ticketbot-bench-python-")
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?;
    let fake = Arc::new(FakeDiscord::start(Config::default()).await);
    let script = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../bench/python/bot.py"
    ));
    let env: Vec<(String, String)> = [
        ("FAKECORD_API", fake.http_url()),
        ("FAKECORD_GATEWAY", fake.gateway_url()),
        ("BOT_TOKEN", TOKEN.to_owned()),
        ("GUILD_ID", ids::GUILD.to_string()),
        ("SUPPORT_ROLE_ID", ids::SUPPORT_ROLE.to_string()),
        (
            "DB_PATH",
            dir.path()
                .join("ticketbotdatabase.db")
                .display()
                .to_string(),
        ),
        ("PYTHONUNBUFFERED", "1".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let mut bot = Bot::spawn_program(
        python,
        &[script],
        dir.path(),
        &env,
        &format!("python-bot-{round}.out"),
    )?;
    tokio::select! {
        r = fake.wait_for_ready(READY_TIMEOUT) => r.map_err(|e| {
            format!("the Python bot did not connect: {e}\n{}", bot.output_tail(40))
        })?,
        status = bot.child.wait() => {
            return Err(format!(
                "the Python bot exited ({status:?}) before it connected (is discord.py installed for {}?):\n{}",
                python.display(),
                bot.output_tail(40)
            ));
        }
    }
    tokio::time::sleep(SETTLE).await;
    add_members(&fake, n);
    let measured = measure(&fake, &bot, PYTHON_PANEL, n).await;
    if measured.as_ref().is_ok_and(|b| b.linked < b.n) {
        eprintln!(
            "warning: the Python bot did not answer every click; its output:\n{}",
            bot.output_tail(20)
        );
    }
    bot.stop().await;
    measured
}

async fn measure(
    fake: &Arc<FakeDiscord>,
    bot: &Bot,
    panel: u64,
    n: usize,
) -> Result<Burst, String> {
    let before = cpu_snap(bot.pid, None);
    let mut b = burst(fake, panel, 0, n).await?;
    b.cpu = CpuUse::between(before, cpu_snap(bot.pid, None), n);
    Ok(b)
}

fn print_comparison(n: usize, rounds: &[(Burst, Burst)]) {
    let header: Vec<String> = [
        "round",
        "ours p50 / p99 (ms)",
        "Python bot p50 / p99 (ms)",
        "ours ÷ Python, p50 / p99",
        "answered with the channel, ours / Python",
        "bot CPU ms a ticket, ours / Python",
    ]
    .map(str::to_owned)
    .to_vec();
    let mut rows = Vec::new();
    let (mut all_ours, mut all_theirs) = (Vec::new(), Vec::new());
    for (i, (ours, theirs)) in rounds.iter().enumerate() {
        all_ours.extend_from_slice(&ours.reply);
        all_theirs.extend_from_slice(&theirs.reply);
        let mut row = vec![(i + 1).to_string()];
        row.extend(figures(ours.reply.clone(), theirs.reply.clone()));
        row.push(format!("{} / {} of {}", ours.linked, theirs.linked, ours.n));
        row.push(format!("{:.2} / {:.2}", ours.cpu.bot, theirs.cpu.bot));
        rows.push(row);
    }
    let mut row = vec!["all rounds".to_owned()];
    row.extend(figures(all_ours, all_theirs));
    row.extend([String::new(), String::new()]);
    rows.push(row);
    print_table(
        &format!(
            "burst of {n} clicks on the open button: click → the answer with the ticket's channel"
        ),
        &header,
        &rows,
    );
}

/// p50 / p99 of ours, of theirs, and ours ÷ theirs.
fn figures(mut ours: Vec<Duration>, mut theirs: Vec<Duration>) -> [String; 3] {
    ours.sort();
    theirs.sort();
    let (o, t) = (
        [pct(&ours, 50.0), pct(&ours, 99.0)],
        [pct(&theirs, 50.0), pct(&theirs, 99.0)],
    );
    [
        format!("{} / {}", ms(o[0]), ms(o[1])),
        format!("{} / {}", ms(t[0]), ms(t[1])),
        format!("{} / {}", times(o[0], t[0]), times(o[1], t[1])),
    ]
}

/// `a ÷ b`, e.g. `0.42×`.
fn times(a: Duration, b: Duration) -> String {
    if b.is_zero() {
        return "-".to_owned();
    }
    format!("{:.2}×", a.as_secs_f64() / b.as_secs_f64())
}
