//! The report: every measurement, side by side per backend.

use super::*;

pub(super) fn first_burst(r: &Report) -> Option<&Burst> {
    r.bursts.first()
}

pub(super) fn report(args: &Args, reports: &[Report]) {
    let mut header = vec!["metric".to_owned()];
    header.extend(reports.iter().map(|r| r.backend.name().to_owned()));
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut row = |name: &str, f: &dyn Fn(&Report) -> String| {
        let mut r = vec![name.to_owned()];
        r.extend(reports.iter().map(f));
        rows.push(r);
    };
    row("load average (1/5/15 min) at start", &|r| {
        r.load_start.clone()
    });
    row("load average (1/5/15 min) at end", &|r| r.load_end.clone());
    row("spawn → /ticket registered, median of 3 (ms)", &|r| {
        ms(median(
            &mut r.starts.iter().map(|s| s.1).collect::<Vec<_>>(),
        ))
    });
    row("  the 3 starts (1st on an empty database) (ms)", &|r| {
        r.starts
            .iter()
            .map(|s| ms(s.1))
            .collect::<Vec<_>>()
            .join(" / ")
    });
    row("  of which spawn → IDENTIFY, median (ms)", &|r| {
        ms(median(
            &mut r.starts.iter().map(|s| s.0).collect::<Vec<_>>(),
        ))
    });
    row("SIGTERM → exit (ms)", &|r| {
        r.stops
            .iter()
            .map(|d| ms(*d))
            .collect::<Vec<_>>()
            .join(" / ")
    });
    row("VmRSS idle, 3 s after start", &|r| kib(r.rss_idle));
    row("  VmHWM then", &|r| kib(r.hwm_idle));
    row(
        "  of which anonymous / mapped files / shared memory",
        &|r| r.rss_parts_idle.clone(),
    );
    let n = args.burst;
    row(
        &format!("burst of {n}: click → callback p50/p99/max (ms)"),
        &|r| first_burst(r).map_or("-".into(), |b| spread(&mut b.ack.clone())),
    );
    row("  callback types", &|r| {
        first_burst(r).map_or("-".into(), |b| {
            let mut k: Vec<_> = b.callback_kinds.iter().collect();
            k.sort();
            let mut s = k
                .iter()
                .map(|(t, c)| format!("type {t}: {c}"))
                .collect::<Vec<_>>()
                .join(", ");
            if b.unanswered > 0 {
                let _ = write!(s, ", none: {}", b.unanswered);
            }
            s
        })
    });
    row(
        &format!("burst of {n}: click → the ticket link p50/p99/max (ms)"),
        &|r| first_burst(r).map_or("-".into(), |b| spread(&mut b.reply.clone())),
    );
    row("  answers with the ticket link", &|r| {
        first_burst(r).map_or("-".into(), |b| format!("{} / {}", b.linked, b.n))
    });
    row(
        "  throughput (tickets/s, first click → last reply)",
        &|r| {
            first_burst(r).map_or("-".into(), |b| {
                format!("{:.0} ({} ms)", b.throughput(), ms(b.wall))
            })
        },
    );
    row("  clicks sent in (ms)", &|r| {
        first_burst(r).map_or("-".into(), |b| ms(b.send_span))
    });
    row(
        &format!(
            "/ticket info ×{INFO_ASKS}, one at a time, after it: send → answer p50/p99/max (ms)"
        ),
        &|r| spread(&mut r.info_first.clone()),
    );
    row("  ticket channels / rows / rows with channel", &|r| {
        format!(
            "{} / {} / {}",
            r.check_first.0, r.check_first.1, r.check_first.2
        )
    });
    row(
        "  CPU ms per ticket: bot / fake (bench process) / db server",
        &|r| first_burst(r).map_or("-".into(), |b| b.cpu.show()),
    );
    row("  machine CPU busy during the burst (%, 2 cores)", &|r| {
        first_burst(r).map_or("-".into(), |b| format!("{:.0}", b.cpu.machine_busy))
    });
    let steps = [
        "  step: click → channel created (DB insert + POST channel)",
        "  step: channel → link (DB update + the answer)",
        "  step: channel → welcome posted (POST message, after the link)",
        "  step: channel → audit posted (POST log message, after the link)",
    ];
    for (k, name) in steps.iter().enumerate() {
        row(&format!("{name} p50/p99/max (ms)"), &|r| {
            first_burst(r).map_or("-".into(), |b| spread(&mut b.steps[k].clone()))
        });
    }
    let last_label = format!(
        "last burst (after {} tickets): click → callback p50/p99/max (ms)",
        args.tickets.saturating_sub(n)
    );
    row(&last_label, &|r| {
        r.bursts
            .last()
            .map_or("-".into(), |b| spread(&mut b.ack.clone()))
    });
    row("  click → the ticket link p50/p99/max (ms)", &|r| {
        r.bursts
            .last()
            .map_or("-".into(), |b| spread(&mut b.reply.clone()))
    });
    row("  step: click → channel created p50 (ms)", &|r| {
        r.bursts.last().map_or("-".into(), |b| {
            let mut v = b.steps[0].clone();
            ms(median(&mut v))
        })
    });
    row("  step: channel → link p50 (ms)", &|r| {
        r.bursts.last().map_or("-".into(), |b| {
            let mut v = b.steps[1].clone();
            ms(median(&mut v))
        })
    });
    row("throughput per burst (tickets/s)", &|r| {
        r.bursts
            .iter()
            .map(|b| format!("{:.0}", b.throughput()))
            .collect::<Vec<_>>()
            .join(" ")
    });
    row(
        &format!(
            "after {} tickets: channels / rows / with channel",
            args.tickets
        ),
        &|r| format!("{} / {} / {}", r.check_all.0, r.check_all.1, r.check_all.2),
    );
    row(
        &format!("  /ticket info ×{INFO_ASKS} then, one at a time: p50/p99/max (ms)"),
        &|r| spread(&mut r.info_all.clone()),
    );
    row("  answers with the link, all bursts", &|r| {
        let linked: usize = r.bursts.iter().map(|b| b.linked).sum();
        let n: usize = r.bursts.iter().map(|b| b.n).sum();
        format!("{linked} / {n}")
    });
    row(
        &format!("VmRSS right after {} tickets", args.tickets),
        &|r| kib(r.rss_after),
    );
    row("VmRSS after 3 s idle", &|r| kib(r.rss_after_idle));
    row(
        "  of which anonymous / mapped files / shared memory",
        &|r| r.rss_parts_after.clone(),
    );
    row("VmHWM (peak)", &|r| kib(r.hwm_after));
    row(
        &format!(
            "then idle {} s: bot CPU s / db server CPU s",
            args.idle_secs
        ),
        &|r| {
            format!(
                "{:.2} / {}",
                r.idle.bot_cpu,
                r.idle
                    .db_cpu
                    .map_or_else(|| "-".into(), |d| format!("{d:.2}"))
            )
        },
    );
    row("  busiest second (% of a core) / seconds over 10%", &|r| {
        format!("{:.0} / {}", r.idle.peak_pct, r.idle.busy_secs)
    });
    row("  VmRSS / VmHWM after the idle period", &|r| {
        format!("{} / {}", kib(r.idle.rss), kib(r.idle.hwm))
    });
    row("open fds: idle / after burst 1 / at the end", &|r| {
        format!("{} / {} / {}", r.fds.0, r.fds.1, r.fds.2)
    });
    row("database size", &|r| r.size.clone());
    row("REST requests per ticket (all bursts)", &|r| {
        let total: usize = r
            .bursts
            .iter()
            .flat_map(|b| b.routes.values())
            .map(|v| v.0)
            .sum();
        let n: usize = r.bursts.iter().map(|b| b.n).sum();
        format!("{:.2}", total as f64 / n.max(1) as f64)
    });
    row("failed REST requests", &|r| {
        let failed: usize = r
            .bursts
            .iter()
            .flat_map(|b| b.routes.values())
            .map(|v| v.1)
            .sum();
        failed.to_string()
    });
    row("bot WARN/ERROR lines", &|r| r.warning_count.to_string());
    row("bot exit", &|r| {
        r.exit.map_or_else(|| "?".into(), |s| s.to_string())
    });
    row(
        &format!("(adding {} members to the fake took, ms)", args.tickets),
        &|r| ms(r.members_added),
    );
    print_table(
        &format!(
            "ticketbot interactions benchmark: burst {}, {} tickets",
            args.burst, args.tickets
        ),
        &header,
        &rows,
    );

    for r in reports {
        let mut routes: HashMap<String, (usize, usize)> = HashMap::new();
        for b in &r.bursts {
            for (k, v) in &b.routes {
                let e = routes.entry(k.clone()).or_default();
                e.0 += v.0;
                e.1 += v.1;
            }
        }
        let mut routes: Vec<_> = routes.into_iter().collect();
        routes.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(&b.0)));
        println!("\n[{}] requests during the bursts:", r.backend.name());
        for (route, (count, failed)) in routes {
            println!(
                "  {count:>7} {route}{}",
                if failed > 0 {
                    format!(" ({failed} failed)")
                } else {
                    String::new()
                }
            );
        }
        let failures: Vec<&String> = r.bursts.iter().flat_map(|b| &b.failures).take(10).collect();
        if !failures.is_empty() {
            println!("  failures (first {}):", failures.len());
            for f in failures {
                println!("    {f}");
            }
        }
        if !r.statements.is_empty() {
            println!("  SQL statements (sqlx debug log): count, p50 / p99 / max ms, total s");
            for (summary, times) in &r.statements {
                let mut t = times.clone();
                let total: Duration = t.iter().sum();
                println!(
                    "    {:>6}  {:>24}  {:>7.2}  {summary}",
                    t.len(),
                    spread(&mut t),
                    total.as_secs_f64()
                );
            }
        }
        if !r.warnings.is_empty() {
            println!(
                "  bot warnings/errors (first {} of {}):",
                r.warnings.len(),
                r.warning_count
            );
            for w in &r.warnings {
                println!("    {w}");
            }
        }
    }
    let bin = env!("CARGO_BIN_EXE_bot");
    let size = std::fs::metadata(bin).map(|m| m.len()).unwrap_or(0);
    println!("\nbot binary: {bin} ({})", mib(size));
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average at the end: {}", load.trim());
    }
}
