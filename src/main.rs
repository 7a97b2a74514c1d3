use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    atk::interrupt::install();
    atk::source::net::install_tls_provider();
    let cli = atk::cli::Cli::parse();
    match atk::cli::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => ExitCode::from(e.exit_code()),
    }
}
