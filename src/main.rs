use std::process::ExitCode;

fn main() -> ExitCode {
    atk::interrupt::install();
    ExitCode::from(atk::cli::main(std::env::args_os()))
}
