//! `ticketctl`: the operator's CLI over the bot's database.

mod commands;
mod connect;
mod error;
#[cfg(test)]
mod fuzz;
mod memory;
mod opt;
mod output;
mod resolve;

use std::process::ExitCode;

use anyhow::Result;
use clap::{CommandFactory, Parser};

use crate::opt::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // One thread for a command that is a few queries in a row (a pool of workers would only
    // cost its start); `migrate` reads and writes at once, and `serve` answers many, on the
    // workers.
    if let Command::Migrate(_) = &cli.command {
        memory::few_arenas();
    }
    let runtime = match &cli.command {
        Command::Migrate(_) | Command::Serve(_) => tokio::runtime::Runtime::new(),
        _ => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => return error::report(&anyhow::Error::new(e).context("cannot start the runtime")),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => error::report(&e),
    }
}

async fn run(cli: Cli) -> Result<()> {
    if let Command::Completions { shell } = cli.command {
        clap_complete::generate(
            shell,
            &mut Cli::command(),
            "ticketctl",
            &mut std::io::stdout(),
        );
        return Ok(());
    }
    let loaded = connect::load_vars(&cli.conn)?;
    let config = connect::source_config(&cli.conn, &loaded.vars)?;
    match &cli.command {
        Command::Migrate(args) => return commands::migrate::run(&config, &loaded.vars, args).await,
        Command::Switch(args) => return commands::switch::run(&config, &loaded, args).await,
        _ => {}
    }
    let store = connect::connect_existing(&config).await?;
    let result = match &cli.command {
        Command::List(args) => commands::list::run(store.as_ref(), args).await,
        Command::Inspect(args) => commands::inspect::run(store.as_ref(), args).await,
        Command::ForceClose(args) => commands::force_close::run(store.as_ref(), args).await,
        Command::Stats(args) => commands::stats::run(store.as_ref(), args).await,
        Command::Status(flag) => commands::status::run(store.as_ref(), &config, flag.json).await,
        Command::Transcript(args) => commands::transcript::run(store.as_ref(), args).await,
        Command::Archive(args) => commands::archive::run(store.as_ref(), args).await,
        Command::Purge(args) => commands::purge::run(store.as_ref(), args).await,
        Command::Backfill(args) => commands::backfill::run(store.as_ref(), args).await,
        Command::Serve(args) => commands::serve::run(store.clone(), &loaded.vars, args).await,
        Command::Migrate(_) | Command::Switch(_) | Command::Completions { .. } => Ok(()),
    };
    store.close().await;
    result
}
