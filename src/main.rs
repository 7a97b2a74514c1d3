use std::process::ExitCode;

fn main() -> ExitCode {
    atk::pool::limit_memory_reservations();
    atk::interrupt::install();
    ExitCode::from(atk::cli::main(std::env::args_os()))
}
