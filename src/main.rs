use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    atk::pool::limit_memory_reservations();
    atk::interrupt::install();
    let cli = atk::cli::Cli::parse();
    match atk::cli::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => ExitCode::from(e.exit_code()),
    }
}
