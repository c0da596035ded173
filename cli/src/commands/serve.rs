//! `ticketctl serve [--bind ADDR] [--token]`: the web view, until Ctrl-C or SIGTERM.

use std::io::Write;
use std::sync::Arc;

use anyhow::{Context, Result};
use ticketbot_common::config::{Vars, WebSettings};
use ticketbot_common::store::TicketStore;
use ticketbot_web::WebApp;

use crate::error::Usage;
use crate::opt::ServeArgs;

pub async fn run(store: Arc<dyn TicketStore>, vars: &Vars, args: &ServeArgs) -> Result<()> {
    let settings = WebSettings::from_vars(vars, args.token).map_err(|e| Usage(e.to_string()))?;
    // The analytics page is a report: said before the first line so that it is seen.
    if let Some(advice) = super::stats::cache_advice(&*store).await {
        eprintln!("note: the analytics page will be slow. {advice}");
    }
    let (app, token) = WebApp::new(store, &settings).context("cannot set up Discord sign-in")?;
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let addr = listener
        .local_addr()
        .context("cannot read the bound address")?;
    // The first line is the address to open (with `--token`, the one that signs in): scripts
    // and tests read it.
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", WebApp::first_url(addr, token.as_deref()))
            .and_then(|()| out.flush())
            .context("cannot write to standard output")?;
    }
    match &settings.auth {
        ticketbot_common::config::WebAuth::Token => eprintln!(
            "serving the ticket view on http://{addr}/ (sign in with the address above; Ctrl-C stops)"
        ),
        ticketbot_common::config::WebAuth::Discord(d) => eprintln!(
            "serving the ticket view on http://{addr}/ for {} (Discord sign-in; redirect URL {}; Ctrl-C stops)",
            d.public_url,
            d.redirect_uri()
        ),
    }
    ticketbot_web::serve(listener, app, shutdown_signal())
        .await
        .context("the web server stopped")
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
