//! A plugin's `health_endpoint`: one HTTP/1.1 GET over a plain TCP connection, bounded by a
//! timeout; any 2xx answer is healthy. Only `http://` URLs are requested: an `https://` endpoint
//! is reported as not checked (atk does not carry a TLS client for this).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use serde::Serialize;

/// What the endpoint answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Health {
    /// A 2xx answer.
    Healthy { http_status: u16 },
    /// Any other HTTP answer.
    Unhealthy { http_status: u16 },
    /// No connection, or no HTTP answer.
    Unreachable { reason: String },
    /// No full answer within the timeout.
    Timeout,
    /// Not requested (an https:// URL, or a URL atk cannot read).
    Unchecked { reason: String },
}

impl Health {
    /// Whether a server answered at all.
    pub fn answered(&self) -> bool {
        matches!(self, Health::Healthy { .. } | Health::Unhealthy { .. })
    }
    /// A few words for a table cell.
    pub fn short(&self) -> String {
        match self {
            Health::Healthy { http_status } => format!("healthy ({http_status})"),
            Health::Unhealthy { http_status } => format!("unhealthy ({http_status})"),
            Health::Unreachable { .. } => "unreachable".into(),
            Health::Timeout => "timeout".into(),
            Health::Unchecked { .. } => "not checked".into(),
        }
    }
}

/// `http://host[:port][/path]` split into the address to connect to, the `Host` header and the
/// request target.
fn parse(url: &str) -> Result<(String, String, String), String> {
    let rest = match url.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
        Some((scheme, _)) if scheme.eq_ignore_ascii_case("https") => {
            return Err("https endpoints are not requested".into());
        }
        _ => return Err("not an http:// URL".into()),
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let path = if path.starts_with('?') { format!("/{path}") } else { path.to_string() };
    if authority.is_empty() || authority.contains('@') {
        return Err("the URL has no host, or carries credentials".into());
    }
    if path.bytes().any(|b| b.is_ascii_control() || b == b' ') || authority.bytes().any(|b| b.is_ascii_control()) {
        return Err("the URL has spaces or control characters".into());
    }
    let has_port = match authority.rfind(']') {
        Some(close) => authority[close..].contains(':'),
        None => authority.contains(':'),
    };
    let addr = if has_port { authority.to_string() } else { format!("{authority}:80") };
    Ok((addr, authority.to_string(), path))
}

/// Requests `url` once; the whole exchange (the name lookup, every address tried, the answer's
/// status line) is bounded by `timeout`. The name lookup cannot be given a timeout of its own,
/// so the request runs on a thread of the bounded pool, left behind if the time is up.
pub fn check(url: &str, timeout: Duration) -> Health {
    let (addr, host, path) = match parse(url) {
        Ok(p) => p,
        Err(reason) => return Health::Unchecked { reason },
    };
    let deadline = Instant::now() + timeout;
    // An address needs no name lookup: the request is bounded by `timeout` wherever it runs.
    let literal = addr.parse::<std::net::SocketAddr>().is_ok();
    let (tx, rx) = std::sync::mpsc::channel();
    let work = move || {
        let _ = tx.send(request(&addr, &host, &path, deadline));
    };
    // On a detached thread, left behind if the time is up. When there is none to be had (as many
    // lookups still hang), a name is not looked up here, where nothing could bound it (nor
    // Ctrl-C end it): a thread is asked for again until the time is up.
    let mut waiting = Some(work);
    // Waited for in slices, so that Ctrl-C ends the wait at once (the caller sees the flag).
    let give_up = Instant::now() + timeout + Duration::from_millis(50);
    loop {
        if let Some(work) = waiting.take() {
            match crate::pool::detached("atk-health", work) {
                Ok(()) => {}
                Err(work) if literal => work(),
                Err(work) => waiting = Some(work),
            }
        }
        let left = give_up.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Health::Timeout;
        }
        match rx.recv_timeout(left.min(Duration::from_millis(100))) {
            Ok(answer) => return answer,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Health::Timeout,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) if crate::interrupt::is_set() => {
                return Health::Unchecked { reason: "interrupted".into() }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
    }
}

fn request(addr: &str, host: &str, path: &str, deadline: Instant) -> Health {
    let host_only = addr.rsplit_once(':').map_or(addr, |(h, _)| h).trim_matches(['[', ']']);
    let addrs: Vec<_> = match addr.to_socket_addrs() {
        Ok(a) => a.collect(),
        Err(e) => return Health::Unreachable { reason: format!("cannot resolve {host_only}: {e}") },
    };
    let mut last = String::from("no address");
    for a in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Health::Timeout;
        }
        let mut stream = match TcpStream::connect_timeout(&a, left) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return Health::Timeout,
            Err(e) => {
                last = e.to_string();
                continue;
            }
        };
        return exchange(&mut stream, host, path, deadline);
    }
    Health::Unreachable { reason: last }
}

fn exchange(stream: &mut TcpStream, host: &str, path: &str, deadline: Instant) -> Health {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: atk/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    );
    let timed_out =
        |e: &std::io::Error| matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut);
    let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
    let _ = stream.set_write_timeout(Some(left));
    if let Err(e) = stream.write_all(request.as_bytes()) {
        return if timed_out(&e) { Health::Timeout } else { Health::Unreachable { reason: e.to_string() } };
    }
    // Only the status line is needed: `HTTP/1.x NNN ...`.
    let mut head = Vec::with_capacity(64);
    let mut buf = [0u8; 256];
    while !head.contains(&b'\n') && head.len() < 4096 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Health::Timeout;
        }
        let _ = stream.set_read_timeout(Some(left));
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            // A signal to the process (a child's end, Ctrl-C's handler) is no answer: read on, to
            // the deadline (the caller stops waiting on Ctrl-C).
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) if timed_out(&e) => return Health::Timeout,
            Err(e) => return Health::Unreachable { reason: e.to_string() },
        }
    }
    let line = String::from_utf8_lossy(&head);
    let line = line.lines().next().unwrap_or_default();
    let mut words = line.split_whitespace();
    match (words.next(), words.next().and_then(|c| c.parse::<u16>().ok())) {
        (Some(v), Some(code)) if v.starts_with("HTTP/") => {
            if (200..300).contains(&code) {
                Health::Healthy { http_status: code }
            } else {
                Health::Unhealthy { http_status: code }
            }
        }
        _ => Health::Unreachable { reason: "the answer is not HTTP".into() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn serve_once(answer: &'static str) -> u16 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = l.accept() {
                let mut req = [0u8; 1024];
                let _ = s.read(&mut req);
                let _ = s.write_all(answer.as_bytes());
            }
        });
        port
    }

    #[test]
    fn urls_are_split_into_address_host_and_target() {
        assert_eq!(
            parse("http://localhost:8787/health").unwrap(),
            ("localhost:8787".into(), "localhost:8787".into(), "/health".into())
        );
        assert_eq!(parse("http://127.0.0.1").unwrap(), ("127.0.0.1:80".into(), "127.0.0.1".into(), "/".into()));
        assert_eq!(parse("http://[::1]:9/x?y").unwrap(), ("[::1]:9".into(), "[::1]:9".into(), "/x?y".into()));
        assert_eq!(parse("http://[::1]").unwrap().0, "[::1]:80");
        assert!(parse("https://localhost/").is_err());
        assert!(parse("ftp://localhost/").is_err());
        assert!(parse("http://user:pw@localhost/").is_err());
        assert!(parse("http://localhost/a b").is_err());
    }

    #[test]
    fn two_hundreds_are_healthy_and_others_are_not() {
        let p = serve_once("HTTP/1.1 204 No Content\r\n\r\n");
        assert_eq!(
            check(&format!("http://127.0.0.1:{p}/h"), Duration::from_secs(5)),
            Health::Healthy { http_status: 204 }
        );
        let p = serve_once("HTTP/1.0 503 Service Unavailable\r\n\r\n");
        assert_eq!(
            check(&format!("http://127.0.0.1:{p}/"), Duration::from_secs(5)),
            Health::Unhealthy { http_status: 503 }
        );
        let p = serve_once("SSH-2.0-OpenSSH\r\n");
        assert!(matches!(check(&format!("http://127.0.0.1:{p}/"), Duration::from_secs(5)), Health::Unreachable { .. }));
    }

    #[test]
    fn a_silent_server_times_out_and_a_closed_port_is_unreachable() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let started = Instant::now();
        assert_eq!(check(&format!("http://127.0.0.1:{port}/"), Duration::from_millis(300)), Health::Timeout);
        assert!(started.elapsed() < Duration::from_secs(5));
        drop(l);
        assert!(matches!(
            check(&format!("http://127.0.0.1:{port}/"), Duration::from_secs(1)),
            Health::Unreachable { .. }
        ));
    }
}
