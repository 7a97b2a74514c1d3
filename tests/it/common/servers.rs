//! Git servers on 127.0.0.1 for the tests: `git daemon` (git://) and smart HTTP (`git
//! http-backend` behind a small HTTP/1.1 server that logs every request and the bytes it sent), and
//! a server that accepts connections and never answers.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "../../support/git_http.rs"]
mod git_http;
pub use git_http::HttpServer;

/// `git daemon` serving the repositories under `root` at `git://127.0.0.1:<port>/<name>`.
pub struct GitDaemon {
    child: Child,
    pub base: String,
}

impl GitDaemon {
    pub fn start(root: &Path) -> GitDaemon {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = crate::common::git_command(root)
            .args(["daemon", "--reuseaddr", "--listen=127.0.0.1", "--export-all", "--informative-errors"])
            .arg(format!("--port={port}"))
            .arg(format!("--base-path={}", root.display()))
            .arg(root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("git daemon starts");
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(10), "git daemon did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        GitDaemon { child, base: format!("git://127.0.0.1:{port}") }
    }

    pub fn url(&self, repo: &str) -> String {
        format!("{}/{repo}", self.base)
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A bare copy of `work` under `root/<name>`, served with or without `filter` support.
pub fn publish(work: &Path, root: &Path, name: &str, allow_filter: bool) -> PathBuf {
    let bare = root.join(name);
    crate::common::git(root, &["clone", "-q", "--bare", work.to_str().unwrap(), bare.to_str().unwrap()]);
    crate::common::git(&bare, &["config", "uploadpack.allowFilter", if allow_filter { "true" } else { "false" }]);
    crate::common::git(&bare, &["config", "uploadpack.allowAnySHA1InWant", "true"]);
    crate::common::git(&bare, &["config", "http.receivepack", "false"]);
    bare
}

/// Pushes the work repository's main branch to its published copy.
pub fn republish(work: &Path, bare: &Path) {
    crate::common::git(work, &["push", "-q", "--force", bare.to_str().unwrap(), "main"]);
}

/// A TCP server on 127.0.0.1 that accepts every connection and never sends a byte (nor closes
/// one): a remote or an endpoint that hangs. Counts the connections; they close when it is dropped.
pub struct Silent {
    pub port: u16,
    accepted: Arc<AtomicUsize>,
    open: Arc<Mutex<Vec<TcpStream>>>,
    stop: Arc<AtomicBool>,
}

impl Silent {
    pub fn start() -> Silent {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let (accepted, open, stop) = (Arc::default(), Arc::<Mutex<Vec<TcpStream>>>::default(), Arc::default());
        let (a, o, s): (Arc<AtomicUsize>, _, Arc<AtomicBool>) =
            (Arc::clone(&accepted), Arc::clone(&open), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        o.lock().unwrap().push(stream);
                        a.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Silent { port, accepted, open, stop }
    }

    /// How many connections it accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Waits (60 s at most) until something connected.
    pub fn wait_for_a_connection(&self) {
        let start = Instant::now();
        while self.accepted() == 0 {
            assert!(start.elapsed() < Duration::from_secs(60), "nothing ever connected to port {}", self.port);
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// A plain HTTP server on 127.0.0.1 for the files of one folder (`GET /NAME` answers the file
/// `root/NAME`, or 404), as a release's download folder serves its archives. Logs the paths asked.
pub struct Files {
    pub port: u16,
    asked: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Files {
    pub fn start(root: &Path) -> Files {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let (asked, stop) = (Arc::<Mutex<Vec<String>>>::default(), Arc::<AtomicBool>::default());
        let (a, s, root) = (Arc::clone(&asked), Arc::clone(&stop), root.to_path_buf());
        std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (a, root) = (Arc::clone(&a), root.clone());
                        std::thread::spawn(move || Files::answer(stream, &root, &a));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Files { port, asked, stop }
    }

    fn answer(mut stream: TcpStream, root: &Path, asked: &Mutex<Vec<String>>) {
        use std::io::{BufRead, BufReader, Write};
        stream.set_nonblocking(false).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request = String::new();
        if reader.read_line(&mut request).is_err() {
            return;
        }
        // The headers, up to the empty line.
        let mut line = String::new();
        while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) && line.trim_end() != "" {
            line.clear();
        }
        let path = request.split_whitespace().nth(1).unwrap_or("/").trim_start_matches('/').to_string();
        asked.lock().unwrap().push(path.clone());
        let file = (!path.is_empty() && !path.contains('/') && !path.starts_with('.')).then(|| root.join(&path));
        let (status, body) = match file.and_then(|f| std::fs::read(f).ok()) {
            Some(body) => ("200 OK", body),
            None => ("404 Not Found", b"not found\n".to_vec()),
        };
        let head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
        let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&body));
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The paths asked so far, in order (without their leading slash).
    pub fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}
