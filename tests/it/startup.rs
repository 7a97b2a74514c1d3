//! A run that makes no http(s) connection never initializes TLS: libcurl's global initialization,
//! and OpenSSL's with it (which reads `openssl.cnf`), wait for the first http(s) connection
//! instead of running before `main` in every start (`atk --version` and every server an agent
//! starts through atk included).
//!
//! Observed without a tracer: `OPENSSL_CONF` and `SSL_CERT_FILE` name FIFOs. Whoever opens one to
//! read blocks until a writer comes, and a writer's non-blocking open succeeds only while a reader
//! has it open: so every open by atk is seen (and then let through, as an empty file).
//!
//! Only where the `curl` crate's constructor is an `.init_array` entry, which the binary's link
//! defers (build.rs); elsewhere (macOS) libcurl is still initialized before `main`.

#![cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use rustix::fs::{Mode, OFlags};

use crate::common::{self, Env};

/// The variables whose files atk opened during `atk args`, with its output.
fn files_opened(env: &Env, args: &[&str]) -> (Vec<&'static str>, Output) {
    let fifos: Vec<(&'static str, PathBuf)> =
        ["OPENSSL_CONF", "SSL_CERT_FILE"].into_iter().map(|var| (var, env.path(&format!("{var}.fifo")))).collect();
    for (_, path) in &fifos {
        let _ = std::fs::remove_file(path);
        rustix::fs::mkfifoat(rustix::fs::CWD, path, Mode::from_raw_mode(0o600)).unwrap();
    }
    let mut command = env.std_cmd();
    command.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (var, path) in &fifos {
        command.env(var, path);
    }
    let mut child = command.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(common::RUN_TIMEOUT);
    let mut opened = Vec::new();
    loop {
        for (var, path) in &fifos {
            if reader_waits(path) && !opened.contains(var) {
                opened.push(*var);
            }
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("atk {args:?} did not finish within {}s", common::RUN_TIMEOUT);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    (opened, child.wait_with_output().unwrap())
}

/// Whether a process has `fifo` open for reading; if so, it reads an empty file.
fn reader_waits(fifo: &Path) -> bool {
    // Opened and closed at once: the reader's open returns, and its first read sees the end.
    rustix::fs::open(fifo, OFlags::WRONLY | OFlags::NONBLOCK | OFlags::CLOEXEC, Mode::empty()).is_ok()
}

/// Whether this libcurl may be initialized late, from any thread (`CURL_VERSION_THREADSAFE`,
/// libcurl 7.84 and later): atk defers its initialization only then (src/main.rs).
fn libcurl_is_thread_safe() -> bool {
    const CURL_VERSION_THREADSAFE: std::ffi::c_int = 1 << 30;
    // SAFETY: libcurl's static version data (this process initialized libcurl before `main`).
    let info = unsafe { curl_sys::curl_version_info(curl_sys::CURLVERSION_NOW) };
    !info.is_null() && unsafe { (*info).features } & CURL_VERSION_THREADSAFE != 0
}

#[test]
fn local_commands_never_initialize_tls_and_a_https_fetch_does() {
    let env = Env::new();
    env.add_full();
    // A plugin whose MCP server exits at once, for `atk exec` (what agents run on each start).
    let tiny = env.plugin("src-tiny", &common::yaml("Tiny", "mcp:\n  transport: stdio\n  command: /bin/true\n"), &[]);
    env.ok(&["add", tiny.to_str().unwrap(), "-y"]);
    // An older libcurl is initialized before `main`, as it asks.
    let at_start: Vec<&str> = if libcurl_is_thread_safe() { vec![] } else { vec!["OPENSSL_CONF"] };
    let commands =
        [&["--version"][..], &["list"], &["status"], &["mcp", "full-plugin"], &["list", "--json"], &["exec", "tiny"]];
    for args in commands {
        let (opened, out) = files_opened(&env, args);
        assert!(out.status.success(), "atk {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(opened, at_start, "atk {args:?} read TLS configuration it had no use for");
    }

    // The same observation sees TLS initialized once a command connects over https (to a port
    // where nothing listens: libcurl is initialized before the connection is tried).
    let url = format!("https://127.0.0.1:{}/plugin.git", common::free_port());
    let (opened, out) = files_opened(&env, &["add", &url, "-y"]);
    assert_eq!(out.status.code(), Some(7), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(opened.contains(&"OPENSSL_CONF"), "an https fetch did not initialize OpenSSL: {opened:?}");
}
