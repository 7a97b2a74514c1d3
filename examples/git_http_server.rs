//! Serves the git repositories under a folder over smart HTTP on 127.0.0.1, for benchmarks:
//! `cargo run --example git_http_server -- ROOT PORT_FILE LOG_FILE [DELAY_MS]`. Writes the port to
//! PORT_FILE, and one line per request (`METHOD PATH BYTES_SENT`) to LOG_FILE. Every answer is
//! delayed by DELAY_MS milliseconds (0 by default: a forge far away is, say, 100). Runs until killed.

#[path = "../tests/support/git_http.rs"]
mod git_http;

use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (root, port_file, log_file, delay) = match args.as_slice() {
        [_, root, port_file, log_file] => (root, port_file, log_file, 0),
        [_, root, port_file, log_file, delay] if delay.parse::<u64>().is_ok() => {
            (root, port_file, log_file, delay.parse().unwrap_or(0))
        }
        _ => {
            eprintln!("usage: git_http_server ROOT PORT_FILE LOG_FILE [DELAY_MS]");
            std::process::exit(2);
        }
    };
    let server = git_http::HttpServer::start(std::path::Path::new(root));
    server.set_latency(std::time::Duration::from_millis(delay));
    let port = server.base.rsplit(':').next().unwrap_or_default().to_string();
    std::fs::write(port_file, port).expect("port file");
    let mut written = 0;
    loop {
        std::thread::sleep(std::time::Duration::from_millis(50));
        let requests = server.requests();
        if requests.len() > written {
            let mut log = std::fs::OpenOptions::new().create(true).append(true).open(log_file).expect("log file");
            for r in &requests[written..] {
                let _ = writeln!(log, "{} {} {}", r.method, r.path, r.bytes_sent);
            }
            written = requests.len();
        }
    }
}
