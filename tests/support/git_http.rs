//! A smart-HTTP git server for tests and benchmarks: `git http-backend` behind a small HTTP/1.1
//! server on 127.0.0.1 that logs every request and the bytes it sent. Self-contained (std only),
//! so that the tests and `examples/git_http_server.rs` share it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request served over HTTP.
#[derive(Clone, Debug)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub request: Vec<u8>,
    pub bytes_sent: u64,
}

pub struct HttpServer {
    pub base: String,
    log: Arc<Mutex<Vec<Logged>>>,
    stop: Arc<AtomicBool>,
    port: u16,
    /// Whether POSTs are held unanswered (a stalled server) until released, and how many arrived.
    delay: Arc<Gate>,
    posts: Arc<std::sync::atomic::AtomicUsize>,
    /// Milliseconds every answer is delayed by (a forge far away).
    latency: Arc<std::sync::atomic::AtomicU64>,
    gather: Arc<Gather>,
    /// The POST (counted from the first, 1-based) answered with a `500` instead; 0 for none.
    fail_post: Arc<std::sync::atomic::AtomicUsize>,
}

/// GETs held until enough of them are held at once (to see requests made in parallel).
#[derive(Default)]
pub struct Gather {
    /// (how many to wait for, how many are held now, the most held at once, whether they were let go)
    state: Mutex<(usize, usize, usize, bool)>,
    changed: std::sync::Condvar,
}

impl Gather {
    fn wait(&self) {
        let mut state = self.state.lock().unwrap();
        if state.0 == 0 || state.3 {
            return;
        }
        state.1 += 1;
        state.2 = state.2.max(state.1);
        if state.1 >= state.0 {
            state.3 = true;
            self.changed.notify_all();
        }
        let (mut state, _) = self.changed.wait_timeout_while(state, Duration::from_secs(20), |s| !s.3).unwrap();
        state.1 -= 1;
    }
}

/// A switch the handlers wait on.
#[derive(Default)]
pub struct Gate {
    held: Mutex<bool>,
    changed: std::sync::Condvar,
}

impl HttpServer {
    /// Serves the repositories under `root` at `http://127.0.0.1:<port>/<name>`.
    pub fn start(root: &Path) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let delay = Arc::new(Gate::default());
        let posts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let latency = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let gather = Arc::new(Gather::default());
        let gather2 = Arc::clone(&gather);
        let fail_post = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let fail_post2 = Arc::clone(&fail_post);
        let (root, log2, stop2) = (root.to_path_buf(), Arc::clone(&log), Arc::clone(&stop));
        let (delay2, posts2, latency2) = (Arc::clone(&delay), Arc::clone(&posts), Arc::clone(&latency));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (root, log) = (root.clone(), Arc::clone(&log2));
                let (delay, posts) = (Arc::clone(&delay2), Arc::clone(&posts2));
                let latency = Duration::from_millis(latency2.load(Ordering::SeqCst));
                let gather = Arc::clone(&gather2);
                let fail_post = fail_post2.load(Ordering::SeqCst);
                std::thread::spawn(move || {
                    if let Some(entry) = handle(stream, &root, &delay, &posts, latency, &gather, fail_post) {
                        log.lock().unwrap().push(entry);
                    }
                });
            }
        });
        HttpServer {
            base: format!("http://127.0.0.1:{port}"),
            log,
            stop,
            port,
            delay,
            posts,
            latency,
            gather,
            fail_post,
        }
    }

    /// Delays every answer by `latency` (before it is sent), as a server far away would.
    pub fn set_latency(&self, latency: Duration) {
        self.latency.store(latency.as_millis() as u64, Ordering::SeqCst);
    }

    /// Holds every `GET` until `n` of them are held at once (each at most 20 s); after that, none.
    pub fn gather_gets(&self, n: usize) {
        *self.gather.state.lock().unwrap() = (n, 0, 0, false);
    }

    /// Answers the `n`th POST since the server started (1-based) with `500 Internal Server Error`.
    pub fn fail_post(&self, n: usize) {
        self.fail_post.store(n, Ordering::SeqCst);
    }

    /// The most `GET`s held at once since [`HttpServer::gather_gets`].
    pub fn most_gets_held_at_once(&self) -> usize {
        self.gather.state.lock().unwrap().2
    }

    /// Holds every POST unanswered (for at most a minute) until [`HttpServer::release`].
    pub fn hold(&self) {
        *self.delay.held.lock().unwrap() = true;
    }

    pub fn release(&self) {
        *self.delay.held.lock().unwrap() = false;
        self.delay.changed.notify_all();
    }

    pub fn posts_received(&self) -> usize {
        self.posts.load(Ordering::SeqCst)
    }

    pub fn url(&self, repo: &str) -> String {
        format!("{}/{repo}", self.base)
    }

    pub fn requests(&self) -> Vec<Logged> {
        self.log.lock().unwrap().clone()
    }

    pub fn bytes_sent(&self) -> u64 {
        self.requests().iter().map(|r| r.bytes_sent).sum()
    }

    pub fn clear(&self) {
        self.log.lock().unwrap().clear();
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn handle(
    stream: TcpStream,
    root: &Path,
    delay: &Gate,
    posts: &std::sync::atomic::AtomicUsize,
    latency: Duration,
    gather: &Gather,
    fail_post: usize,
) -> Option<Logged> {
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end().to_string();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let mut body = Vec::new();
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let n = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; n + 2];
            reader.read_exact(&mut chunk).ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(len, 0);
        reader.read_exact(&mut body).ok()?;
    }
    if method == "GET" {
        gather.wait();
    }
    if method == "POST" {
        if posts.fetch_add(1, Ordering::SeqCst) + 1 == fail_post {
            let mut stream = stream;
            stream
                .write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .ok()?;
            return Some(Logged { method, path: target, request: body, bytes_sent: 0 });
        }
        let held = delay.held.lock().unwrap();
        let _ = delay.changed.wait_timeout_while(held, Duration::from_secs(60), |held| *held).unwrap();
    }
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let mut cgi = Command::new("git");
    cgi.arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("HOME", root)
        .env("REQUEST_METHOD", &method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(ct) = header("content-type") {
        cgi.env("CONTENT_TYPE", ct);
    }
    if let Some(p) = header("git-protocol") {
        cgi.env("GIT_PROTOCOL", p);
    }
    if let Some(enc) = header("content-encoding") {
        cgi.env("HTTP_CONTENT_ENCODING", enc);
    }
    let mut child = cgi.spawn().ok()?;
    let mut stdin = child.stdin.take()?;
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&body);
        body
    });
    let mut out = Vec::new();
    child.stdout.take()?.read_to_end(&mut out).ok()?;
    let request = writer.join().ok()?;
    let _ = child.wait();
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| out.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)))?;
    let (head, rest) = (String::from_utf8_lossy(&out[..split.0]).to_string(), &out[split.0 + split.1..]);
    let mut status = "200 OK".to_string();
    let mut response = Vec::new();
    let mut extra = String::new();
    for h in head.lines() {
        match h.split_once(':') {
            Some((k, v)) if k.eq_ignore_ascii_case("status") => status = v.trim().to_string(),
            Some(_) => extra.push_str(&format!("{h}\r\n")),
            None => {}
        }
    }
    response.extend_from_slice(
        format!("HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n", rest.len()).as_bytes(),
    );
    response.extend_from_slice(rest);
    std::thread::sleep(latency);
    let mut stream = stream;
    stream.write_all(&response).ok()?;
    Some(Logged { method, path: target.clone(), request, bytes_sent: rest.len() as u64 })
}
