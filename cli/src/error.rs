//! Errors that choose the exit code. Everything else is a plain failure (1).

use std::process::ExitCode;

/// Nothing matched the id or filter the operator gave: exit code 3.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotFound(pub String);

/// The command line is well-formed for clap but its values are not: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

pub const EXIT_FAILURE: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_NOT_FOUND: u8 = 3;

/// Prints `error: ...` with the cause chain and picks the exit code.
pub fn report(err: &anyhow::Error) -> ExitCode {
    eprintln!("error: {err}");
    // Many errors repeat their source in their own message; print each reason once.
    let mut said = err.to_string();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if !said.contains(&text) {
            eprintln!("  caused by: {text}");
        }
        said = text;
    }
    let code = if err.chain().any(|c| c.is::<NotFound>()) {
        EXIT_NOT_FOUND
    } else if err.chain().any(|c| c.is::<Usage>()) {
        EXIT_USAGE
    } else {
        EXIT_FAILURE
    };
    ExitCode::from(code)
}
