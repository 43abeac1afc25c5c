//! The `agentwarrant` binary: the command of [`agentwarrant_cli::run`].

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(agentwarrant_cli::run(std::env::args_os()))
}
