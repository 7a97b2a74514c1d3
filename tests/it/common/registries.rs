//! npm, PyPI and OCI registries on 127.0.0.1 for the tests: `tests/support/registries.py` (one
//! Python 3 process, standard library only; its docstring documents the config format), started
//! per test and killed when dropped. The config is a JSON file the server re-reads on every
//! request, so a test publishes, deprecates, yanks or moves a tag between two commands with the
//! helpers below.
//!
//! ```ignore
//! let reg = Registries::start(env.dir.path());
//! reg.npm("@t/echo", &[("1.0.0", &days_ago(10.0), true), ("1.1.0", &days_ago(1.0), true)], None);
//! reg.pypi("workspace-mcp", &[("1.2.0", &days_ago(30.0), None)]);
//! reg.oci("library/mongo", &[("7", "v1")]);
//! // npm_config_registry=reg.npm_url(), UV_DEFAULT_INDEX=reg.pypi_url(), images `reg.oci_host()/library/mongo:7`
//! ```

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

/// The registries' script.
pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/registries.py")
}

pub struct Registries {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
    pub config_path: PathBuf,
    pub log_path: PathBuf,
    stderr_path: PathBuf,
    config: Mutex<Value>,
}

impl Registries {
    /// Starts the registries with an empty config; their files (`registries.json`, `.port`, `.log`,
    /// `.stderr`) go in `dir`.
    pub fn start(dir: &Path) -> Registries {
        Registries::start_with_delay(dir, 0)
    }

    /// Like [`Registries::start`], every answer delayed by `ms` milliseconds (a registry far away).
    pub fn start_with_delay(dir: &Path, ms: u64) -> Registries {
        std::fs::create_dir_all(dir).unwrap();
        let config_path = dir.join("registries.json");
        let port_file = dir.join("registries.port");
        let log_path = dir.join("registries.log");
        let stderr_path = dir.join("registries.stderr");
        let _ = std::fs::remove_file(&port_file);
        write_atomically(&config_path, b"{}\n");
        let child = Command::new("python3")
            .arg(script())
            .arg("--config")
            .arg(&config_path)
            .arg("--port-file")
            .arg(&port_file)
            .arg("--log")
            .arg(&log_path)
            .arg("--delay-ms")
            .arg(ms.to_string())
            // No server outlives a test process that was killed before its drop ran.
            .arg("--exit-with-parent")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr_path).unwrap())
            .spawn()
            .expect("python3 starts tests/support/registries.py");
        let mut reg = Registries {
            child,
            port: 0,
            dir: dir.to_path_buf(),
            config_path,
            log_path,
            stderr_path,
            config: Mutex::new(json!({})),
        };
        let start = Instant::now();
        loop {
            if let Some(port) = std::fs::read_to_string(&port_file).ok().and_then(|s| s.trim().parse().ok()) {
                reg.port = port;
                break;
            }
            if let Ok(Some(status)) = reg.child.try_wait() {
                panic!("registries.py exited ({status}):\n{}", reg.stderr());
            }
            assert!(start.elapsed() < Duration::from_secs(20), "registries.py did not start:\n{}", reg.stderr());
            std::thread::sleep(Duration::from_millis(10));
        }
        reg
    }

    /// `http://127.0.0.1:P`
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The npm registry, as `npm_config_registry` takes it: `http://127.0.0.1:P/npm/`.
    pub fn npm_url(&self) -> String {
        format!("{}/npm/", self.base())
    }

    /// The PyPI simple index, as `UV_DEFAULT_INDEX`/`PIP_INDEX_URL` take it: `http://127.0.0.1:P/pypi/simple/`.
    pub fn pypi_url(&self) -> String {
        format!("{}/pypi/simple/", self.base())
    }

    /// The OCI registry's host, for image references: `127.0.0.1:P` (as in `127.0.0.1:P/library/mongo:7`).
    pub fn oci_host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The variables that point npm, uv and pip at these registries.
    pub fn client_env(&self) -> Vec<(String, String)> {
        vec![
            ("npm_config_registry".into(), self.npm_url()),
            ("UV_DEFAULT_INDEX".into(), self.pypi_url()),
            ("UV_INDEX_URL".into(), self.pypi_url()),
            ("PIP_INDEX_URL".into(), self.pypi_url()),
        ]
    }

    /// What a real `npm`/`npx` needs to use these registries and nothing else: the registry, a
    /// cache and an empty user config under `dir`, no update check, audit or funding message.
    /// (Remove any inherited `npm_config_*` and proxy variables yourself when they matter.)
    pub fn npm_env(&self, dir: &Path) -> Vec<(String, String)> {
        std::fs::create_dir_all(dir).unwrap();
        let userconfig = dir.join("npmrc");
        if !userconfig.exists() {
            std::fs::write(&userconfig, "").unwrap();
        }
        vec![
            ("npm_config_registry".into(), self.npm_url()),
            ("npm_config_cache".into(), dir.join("npm-cache").to_string_lossy().into_owned()),
            ("npm_config_userconfig".into(), userconfig.to_string_lossy().into_owned()),
            ("npm_config_update_notifier".into(), "false".into()),
            ("npm_config_audit".into(), "false".into()),
            ("npm_config_fund".into(), "false".into()),
        ]
    }

    /// Every request so far, one `METHOD PATH[ SCHEME]` each (`GET /npm/@t%2fecho`,
    /// `HEAD /v2/library/mongo/manifests/7 Bearer`), oldest first.
    pub fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log_path).unwrap_or_default().lines().map(String::from).collect()
    }

    /// The requests whose line contains `part`.
    pub fn requests_with(&self, part: &str) -> Vec<String> {
        self.requests().into_iter().filter(|l| l.contains(part)).collect()
    }

    pub fn clear_log(&self) {
        std::fs::write(&self.log_path, b"").unwrap();
    }

    /// What the server wrote on stderr (a traceback when one of its answers failed).
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    // -- the config

    /// The config as last written.
    pub fn config(&self) -> Value {
        self.config.lock().unwrap().clone()
    }

    /// Replaces the whole config.
    pub fn set(&self, config: &Value) {
        let mut c = self.config.lock().unwrap();
        *c = config.clone();
        write_atomically(&self.config_path, serde_json::to_string_pretty(&*c).unwrap().as_bytes());
    }

    /// Changes the config in place and writes it.
    pub fn update(&self, f: impl FnOnce(&mut Value)) {
        let mut c = self.config.lock().unwrap();
        f(&mut c);
        write_atomically(&self.config_path, serde_json::to_string_pretty(&*c).unwrap().as_bytes());
    }

    /// The entry of `name` in `kind`'s section (`npm`, `pypi`, `oci`), made when missing.
    fn entry<'a>(config: &'a mut Value, kind: &str, name: &str) -> &'a mut Value {
        assert!(matches!(kind, "npm" | "pypi" | "oci"), "unknown registry kind {kind}");
        let section = config.as_object_mut().unwrap().entry(kind).or_insert_with(|| json!({}));
        let section = section.as_object_mut().unwrap();
        // PyPI names are one project however they are spelled: the entry keeps its first spelling.
        let key = match kind {
            "pypi" if name != "*" => section
                .keys()
                .find(|k| k.as_str() != "*" && pypi_normalize(k) == pypi_normalize(name))
                .cloned()
                .unwrap_or_else(|| name.to_string()),
            _ => name.to_string(),
        };
        section.entry(key).or_insert_with(|| json!({}))
    }

    /// npm package `name` with these `(version, publication time, has a bin)`; `latest` is the
    /// `latest` dist-tag (`None`: the highest release). Replaces what the package had.
    pub fn npm(&self, name: &str, versions: &[(&str, &str, bool)], latest: Option<&str>) {
        self.update(|c| {
            let e = Registries::entry(c, "npm", name);
            let mut vs = serde_json::Map::new();
            for (v, time, bin) in versions {
                vs.insert(v.to_string(), json!({"time": time, "bin": bin}));
            }
            *e = json!({"versions": vs});
            if let Some(l) = latest {
                e["dist-tags"] = json!({"latest": l});
            }
        });
    }

    /// `npm publish`: adds `version` (with a bin) and moves `latest` to it.
    pub fn npm_publish(&self, name: &str, version: &str, time: &str) {
        self.update(|c| {
            let e = Registries::entry(c, "npm", name);
            e["versions"][version] = json!({"time": time, "bin": true});
            e["dist-tags"]["latest"] = json!(version);
        });
    }

    /// `npm dist-tag add name@version tag`.
    pub fn npm_tag(&self, name: &str, tag: &str, version: &str) {
        self.update(|c| Registries::entry(c, "npm", name)["dist-tags"][tag] = json!(version));
    }

    /// `npm deprecate name@version msg`.
    pub fn npm_deprecate(&self, name: &str, version: &str, msg: &str) {
        self.update(|c| {
            let e = Registries::entry(c, "npm", name);
            assert!(e["versions"].get(version).is_some(), "npm {name} has no {version}");
            e["versions"][version]["deprecated"] = json!(msg);
        });
    }

    /// Changes the bytes of `name@version`'s tarball (and so its integrity): a republished or
    /// tampered package.
    pub fn npm_content(&self, name: &str, version: &str, content: &str) {
        self.update(|c| {
            let e = Registries::entry(c, "npm", name);
            assert!(e["versions"].get(version).is_some(), "npm {name} has no {version}");
            e["versions"][version]["content"] = json!(content);
        });
    }

    /// PyPI project `name` with these `(version, upload time, yanked reason)`, each with a wheel and
    /// an sdist. Replaces what the project had.
    pub fn pypi(&self, name: &str, versions: &[(&str, &str, Option<&str>)]) {
        self.update(|c| {
            let e = Registries::entry(c, "pypi", name);
            let mut vs = serde_json::Map::new();
            for (v, time, yanked) in versions {
                let y = yanked.map(|r| json!(r)).unwrap_or(json!(false));
                vs.insert(v.to_string(), json!({"time": time, "yanked": y}));
            }
            *e = json!({"versions": vs});
        });
    }

    /// Uploads `version` of `name` (a wheel and an sdist).
    pub fn pypi_publish(&self, name: &str, version: &str, time: &str) {
        self.update(|c| Registries::entry(c, "pypi", name)["versions"][version] = json!({"time": time}));
    }

    /// Yanks `version` of `name` with `reason`.
    pub fn pypi_yank(&self, name: &str, version: &str, reason: &str) {
        self.update(|c| {
            let e = Registries::entry(c, "pypi", name);
            assert!(e["versions"].get(version).is_some(), "pypi {name} has no {version}");
            e["versions"][version]["yanked"] = json!(reason);
        });
    }

    /// Sets `version`'s `requires-python`.
    pub fn pypi_requires_python(&self, name: &str, version: &str, spec: &str) {
        self.update(|c| Registries::entry(c, "pypi", name)["versions"][version]["requires-python"] = json!(spec));
    }

    /// Changes the bytes of `version`'s files (and so their sha256).
    pub fn pypi_content(&self, name: &str, version: &str, content: &str) {
        self.update(|c| Registries::entry(c, "pypi", name)["versions"][version]["content"] = json!(content));
    }

    /// OCI repository `repo` (`library/mongo`) with these `(tag, content)`: one content, one digest.
    /// Replaces the repository's tags (keeps `private`).
    pub fn oci(&self, repo: &str, tags: &[(&str, &str)]) {
        self.update(|c| {
            let e = Registries::entry(c, "oci", repo);
            let mut t = serde_json::Map::new();
            for (tag, content) in tags {
                t.insert(tag.to_string(), json!(content));
            }
            e["tags"] = Value::Object(t);
        });
    }

    /// Points `tag` of `repo` at `content` (a pushed or moved tag).
    pub fn oci_tag(&self, repo: &str, tag: &str, content: &str) {
        self.update(|c| Registries::entry(c, "oci", repo)["tags"][tag] = json!(content));
    }

    /// Makes `repo` private: tokens for it only with Basic `user:password`.
    pub fn oci_private(&self, repo: &str, user: &str, password: &str) {
        self.update(|c| Registries::entry(c, "oci", repo)["private"] = json!({"user": user, "password": password}));
    }

    /// Requests for `name` in `kind` (`npm`, `pypi`, `oci`; `*` for every request of that registry)
    /// are accepted and never answered.
    pub fn hang(&self, kind: &str, name: &str) {
        self.update(|c| Registries::entry(c, kind, name)["hang"] = json!(true));
    }

    /// Requests for `name` in `kind` (`*`: all of that registry) are answered with `status`.
    pub fn fail(&self, kind: &str, name: &str, status: u16) {
        self.update(|c| Registries::entry(c, kind, name)["status"] = json!(status));
    }

    /// Undoes [`Registries::hang`] and [`Registries::fail`].
    pub fn heal(&self, kind: &str, name: &str) {
        self.update(|c| {
            let e = Registries::entry(c, kind, name);
            let o = e.as_object_mut().unwrap();
            o.remove("hang");
            o.remove("status");
        });
    }

    // -- derived values, computed by the same script from the current config

    /// `{"npm": {name: {version: {integrity, shasum, tarball}}}, "pypi": {normalized: {filename:
    /// sha256}}, "oci": {repo: {tag: "sha256:…"}}}`
    pub fn describe(&self) -> Value {
        let out = Command::new("python3")
            .arg(script())
            .arg("--config")
            .arg(&self.config_path)
            .arg("--describe")
            .output()
            .unwrap();
        assert!(out.status.success(), "registries.py --describe: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// `sha512-…` of `name@version`'s tarball.
    pub fn npm_integrity(&self, name: &str, version: &str) -> String {
        let d = self.describe();
        d["npm"][name][version]["integrity"].as_str().unwrap_or_else(|| panic!("no npm {name}@{version}")).into()
    }

    /// The sha256 (hex) of a PyPI file (`pkg-1.2.0-py3-none-any.whl`).
    pub fn pypi_sha256(&self, name: &str, filename: &str) -> String {
        let d = self.describe();
        let norm = pypi_normalize(name);
        d["pypi"][&norm][filename].as_str().unwrap_or_else(|| panic!("no pypi file {norm}/{filename}")).into()
    }

    /// `sha256:…` of the manifest `repo:tag` serves.
    pub fn oci_digest(&self, repo: &str, tag: &str) -> String {
        let d = self.describe();
        d["oci"][repo][tag].as_str().unwrap_or_else(|| panic!("no oci {repo}:{tag}")).into()
    }

    /// A request to these registries (`path` from the root: `/npm/x`), 10 s at most.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
        http("GET", &format!("{}{path}", self.base()), headers, Duration::from_secs(10)).unwrap()
    }
}

impl Drop for Registries {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A failed answer (a bug of the server's) leaves a traceback: show it with the test's output.
        let err = self.stderr();
        if !err.is_empty() {
            eprintln!("registries.py stderr:\n{err}");
        }
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// PEP 503's normalized project name.
pub fn pypi_normalize(name: &str) -> String {
    let mut out = String::new();
    for ch in name.chars() {
        if matches!(ch, '-' | '_' | '.') {
            // A run of separators is one `-` (a letter is never `-`).
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(ch.to_ascii_lowercase());
        }
    }
    out
}

/// An ISO-8601 UTC timestamp `n` days before now (negative: after), to the millisecond:
/// `2026-12-01T10:00:00.000Z`. `days_ago(3.0 - 1.0 / 24.0)`: three days minus an hour ago.
pub fn days_ago(n: f64) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i128;
    let at = now - (n * 86_400_000.0).round() as i128;
    iso_millis(at)
}

/// Milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn iso_millis(ms: i128) -> String {
    let secs = ms.div_euclid(1000);
    let milli = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{milli:03}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// One HTTP answer.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// A plain HTTP/1.1 request over std's TcpStream (`Connection: close`; the body read to the end),
/// every read and write bounded by `timeout`. `url` is `http://host:port/path`.
pub fn http(method: &str, url: &str, headers: &[(&str, &str)], timeout: Duration) -> std::io::Result<HttpResponse> {
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut stream = TcpStream::connect(host)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nUser-Agent: atk-tests\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "no end of headers"))?;
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "no status line"))?;
    let headers =
        lines.filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))).collect();
    Ok(HttpResponse { status, headers, body: raw[end + 4..].to_vec() })
}
