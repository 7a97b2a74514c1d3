//! Issue 20 ("pin what runs"), the fixes made after its review, one test each: credentials in a
//! registry URL are never shown, a hand-edited lock that is not a version/commit/digest is no pin,
//! a later atk's lock kind is kept, npm's prerelease rule, redirects to other schemes, docker's
//! saved credentials only to this machine or over https, `custom/overrides.yaml` applied when
//! relocking, the plugin's own compose override kept, `atk mcp` shows the locked word, `--pin` of a
//! package nothing runs, a launcher's own registry, and a PyPI release with a young file. Then
//! attacks on the feature (a secret in args or env, signals in the middle of a relock).
//!
//! Real binary, registries on 127.0.0.1 (`common::registries`), stub launchers on PATH that
//! record what atk runs, as in `pins_launch`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::lab::{argv, echo_source, mcp, Lab, STUB};
use crate::common::registries::days_ago;
use crate::common::sources::{commit_all, head};
use crate::common::*;

fn error_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.starts_with("error")).collect()
}

/// Fails when `text` holds `secret` in any spelling of [`encodings`].
fn assert_hidden(what: &str, text: &str, secret: &str) {
    for e in encodings(secret) {
        assert!(!text.contains(&e), "{what} shows {e:?}:\n{text}");
    }
}

/// A Python 3 helper server (standard library only) started for one test, killed when dropped.
/// `code` gets `PORT_FILE` and `LOG` as globals, and must write its port(s) to PORT_FILE.
struct PyServer {
    child: Child,
    ports: Vec<u16>,
    log: PathBuf,
}

impl PyServer {
    fn start(dir: &Path, name: &str, code: &str) -> PyServer {
        let script = dir.join(format!("{name}.py"));
        let port_file = dir.join(format!("{name}.port"));
        let log = dir.join(format!("{name}.log"));
        write(&script, code, false);
        write(&log, "", false);
        let child = Command::new("python3")
            .arg(&script)
            .env("PORT_FILE", &port_file)
            .env("LOG", &log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        let ports = loop {
            if let Ok(t) = std::fs::read_to_string(&port_file) {
                if t.ends_with('\n') {
                    break t.split_whitespace().map(|p| p.parse().unwrap()).collect::<Vec<u16>>();
                }
            }
            assert!(start.elapsed() < Duration::from_secs(20), "{name}.py did not start");
            std::thread::sleep(Duration::from_millis(10));
        };
        PyServer { child, ports, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// -- 1. credentials in a registry URL

#[test]
fn a_registry_url_with_credentials_never_shows_them() {
    const SECRET: &str = "S3cretTok";
    let mut lab = Lab::new();
    lab.reg.npm("broken", &[("1.0.0", &days_ago(20.0), true)], None);
    lab.reg.fail("npm", "broken", 500);
    lab.reg.pypi("brokenpy", &[("1.0", &days_ago(20.0), None)]);
    lab.reg.fail("pypi", "brokenpy", 500);
    let port = lab.reg.port;
    lab.vars = vec![
        ("UV_DEFAULT_INDEX".into(), format!("http://__token__:{SECRET}@127.0.0.1:{port}/pypi/simple/")),
        ("UV_INDEX_URL".into(), format!("http://__token__:{SECRET}@127.0.0.1:{port}/pypi/simple/")),
        ("npm_config_registry".into(), format!("http://u:{SECRET}@127.0.0.1:{port}/npm/")),
    ];
    let before = lab.env.snapshot();
    let cases = [
        ("npm-missing", "npx", "no-such-pkg", 5),
        ("py-missing", "uvx", "no-such-py", 5),
        ("npm-500", "npx", "broken", 7),
        ("py-500", "uvx", "brokenpy", 7),
    ];
    for (name, launcher, pkg, code) in cases {
        let dir = lab.server(name, launcher, &["-y", pkg][if launcher == "npx" { 0.. } else { 1.. }]);
        let (o, e) = lab.run(code, &["add", dir.to_str().unwrap(), "-y"]);
        let errors = error_lines(&e);
        assert_eq!(errors.len(), 1, "{name}: one error line:\n{o}{e}");
        // The registry is named by its host, so that the error is still useful.
        assert!(errors[0].contains(pkg) || errors[0].contains(&format!("127.0.0.1:{port}")), "{name}: {e}");
        assert_hidden(name, &format!("{o}{e}"), SECRET);
        assert_hidden(name, &format!("{o}{e}"), &format!("u:{SECRET}"));
        // The same failure as a JSON document.
        let out = lab.cmd().args(["add", dir.to_str().unwrap(), "-y", "--json"]).write_stdin("").output().unwrap();
        let (o, e) = texts(&out);
        assert_eq!(out.status.code(), Some(code), "{name} --json:\n{o}{e}");
        let doc: serde_json::Value = serde_json::from_str(&o).unwrap_or_else(|_| panic!("{name}: not JSON:\n{o}"));
        assert!(doc.get("error").is_some(), "{name}: {doc}");
        assert_hidden(&format!("{name} --json"), &format!("{o}{e}"), SECRET);
    }
    // The credentials were used (the registries were asked), and the home is as it was.
    assert!(!lab.reg.requests_with("/npm/no-such-pkg").is_empty(), "{:?}", lab.reg.requests());
    assert!(!lab.reg.requests_with("/pypi/simple/brokenpy/").is_empty(), "{:?}", lab.reg.requests());
    assert_eq!(lab.env.snapshot(), before);
    assert_hidden("the manifest", &lab.env.manifest(), SECRET);
}

// -- 2. a hand-edited lock that is not a version, a commit or a digest

/// The compose files atk generated, all their text.
fn generated_overrides(env: &Env) -> String {
    let dir = env.atk_home.join(".git/atk/compose");
    let mut all = String::new();
    for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        all.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
    }
    all
}

#[test]
fn a_hand_edited_lock_that_is_not_a_version_commit_or_digest_is_no_pin() {
    let lab = Lab::new();
    let reg = &lab.reg;
    reg.npm("evil-pkg", &[("1.0.0", &days_ago(20.0), true)], None);
    reg.pypi("evilpy", &[("1.0", &days_ago(20.0), None)]);
    reg.oci("team/db", &[("7", "db-7")]);
    let image = format!("{}/team/db:7", reg.oci_host());
    lab.add(&lab.server("npm", "npx", &["-y", "evil-pkg"]));
    lab.add(&lab.server("py", "uvx", &["evilpy"]));
    lab.add(&lab.server("img", "docker", &["run", "-i", &image]));
    let compose = format!("services:\n  db:\n    image: {image}\n");
    let svc = lab.env.plugin(
        "src/svc",
        &yaml("svc", "service:\n  type: docker-compose\nlifecycle:\n  start: docker compose up -d\n"),
        &[("docker-compose.yml", &compose, false)],
    );
    lab.add(&svc);
    // An npm git reference, locked to a commit.
    let work = lab.env.path("pkg-work");
    git(lab.env.dir.path(), &["init", "-q", "-b", "main", work.to_str().unwrap()]);
    write(&work.join("package.json"), "{\"name\": \"gitpkg\", \"version\": \"1.0.0\", \"bin\": \"cli.js\"}\n", false);
    let commit = commit_all(&work, "v1");
    let by_git = format!("git+file://{}#main", work.display());
    lab.add(&lab.server("gitref", "npx", &["-y", &by_git]));
    assert_eq!(lab.locked("gitref", &by_git).as_deref(), Some(commit.as_str()));
    let digest = reg.oci_digest("team/db", "7");
    assert_eq!(lab.locked("img", &image).as_deref(), Some(digest.as_str()));
    assert_eq!(lab.exec("npm").0, argv(&["npx", "-y", "evil-pkg@1.0.0"]));
    lab.take_argv();

    let forged_versions = ["npm:evil-pkg@1.0.0", "file:/tmp/x", "1.0 ; rm -rf ~"];
    let forged_digest = format!("sha256:{}", "g".repeat(64));
    let forged_commit = "HEAD~1; touch /tmp/pwned".to_string();
    let cases: Vec<(&str, String, String, Vec<&str>)> = forged_versions
        .iter()
        .flat_map(|v| {
            [
                (
                    "npm",
                    "version: 1.0.0".to_string(),
                    format!("version: {}", serde_json::to_string(v).unwrap()),
                    vec!["npx", "-y", "evil-pkg"],
                ),
                (
                    "py",
                    "version: '1.0'".to_string(),
                    format!("version: {}", serde_json::to_string(v).unwrap()),
                    vec!["uvx", "evilpy"],
                ),
            ]
        })
        .chain([
            (
                "img",
                format!("digest: {digest}"),
                format!("digest: {forged_digest}"),
                vec!["docker", "run", "-i", image.as_str()],
            ),
            (
                "gitref",
                format!("commit: {commit}"),
                format!("commit: {}", serde_json::to_string(&forged_commit).unwrap()),
                vec!["npx", "-y", by_git.as_str()],
            ),
        ])
        .collect();
    for (plugin, good, forged, as_written) in cases {
        let manifest = lab.env.manifest();
        // The py pin's version may be written with or without quotes.
        let good = if manifest.contains(&good) { good } else { good.replace('\'', "") };
        lab.edit_manifest(&good, &forged);
        let (ran, err) = lab.exec(plugin);
        assert_eq!(ran, argv(&as_written), "{plugin} with {forged}");
        let warned: Vec<&str> = err.lines().filter(|l| l.contains("not locked")).collect();
        assert_eq!(warned.len(), 1, "{plugin} with {forged}: one warning:\n{err}");
        let (o, e) = lab.ok(&["doctor"]);
        assert!(format!("{o}{e}").contains("runs without a lock"), "{plugin} with {forged}: doctor:\n{o}{e}");
        // Back to the good pin for the next case of the same plugin.
        lab.edit_manifest(&forged, &good);
    }

    // compose: a forged digest is never written into the generated override.
    lab.edit_manifest(&format!("digest: {digest}"), &format!("digest: {forged_digest}"));
    // (both img and svc lock the same image with the same digest: both are forged now)
    lab.ok(&["start", "svc"]);
    let ran = lab.take_argv();
    assert!(!ran.contains(&forged_digest), "{ran}");
    let generated = generated_overrides(&lab.env);
    assert!(!generated.contains(&forged_digest), "a generated override names the forged digest:\n{generated}");
    let (o, e) = lab.ok(&["doctor"]);
    assert!(format!("{o}{e}").contains("runs without a lock"), "doctor:\n{o}{e}");
}

// -- 3. a lock kind of a later atk

/// A home with `alpha` (`npx -y @t/a`) and `echo` (from git); alpha's lock holds, before its npm
/// pin, a pin of a kind a later atk writes. (lab, echo's work tree)
fn later_kind_home() -> (Lab, PathBuf) {
    let lab = Lab::new();
    lab.reg.npm("@t/a", &[("1.0.0", &days_ago(20.0), true)], None);
    lab.reg.npm("@t/echo", &[("1.0.0", &days_ago(20.0), true)], None);
    lab.add(&lab.server("alpha", "npx", &["-y", "@t/a"]));
    let (work, url) = echo_source(&lab.env);
    lab.ok(&["add", "-y", &url]);
    let cargo = "  - kind: cargo\n    spec: ripgrep\n    version: 14.1.0\n    checksum: abc123\n";
    let text = lab.env.manifest();
    let at =
        text.find("  - kind: npm\n    spec: '@t/a'").unwrap_or_else(|| panic!("alpha's pin not found in:\n{text}"));
    let edited = format!("{}{cargo}{}", &text[..at], &text[at..]);
    write(&lab.env.atk_home.join("manifest.yaml"), &edited, false);
    lab.env.git(&["commit", "-qam", "a later atk's lock"]);
    (lab, work)
}

/// alpha's later pin: (kind, version, checksum).
fn later_pin(lab: &Lab, what: &str) -> (String, String, String) {
    let lock = lab.lock("alpha");
    let p = lock.iter().find(|p| p["spec"].as_str() == Some("ripgrep"));
    let p = p.unwrap_or_else(|| panic!("{what}: the later pin is gone:\n{}", lab.env.manifest()));
    let s = |k: &str| p.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
    (s("kind"), s("version"), s("checksum"))
}

/// An upgrade of another plugin, then a relock of alpha: atk writes the manifest twice.
fn write_the_manifest_twice(lab: &Lab, work: &Path) {
    write(&work.join(".atk/NOTES.md"), "v2\n", false);
    let c2 = commit_all(work, "echo v2");
    lab.ok(&["upgrade", "echo"]);
    assert!(lab.env.manifest().contains(&c2), "{}", lab.env.manifest());
}

#[test]
fn an_unknown_lock_kind_is_kept_and_breaks_nothing() {
    let (lab, work) = later_kind_home();
    assert_eq!(later_pin(&lab, "hand edit"), ("cargo".into(), "14.1.0".into(), "abc123".into()));
    lab.ok(&["list"]);
    let (o, _) = lab.ok(&["status"]);
    assert!(o.contains("@t/a 1.0.0"), "{o}");
    lab.ok(&["status", "--json"]);
    assert_eq!(lab.exec("alpha").0, argv(&["npx", "-y", "@t/a@1.0.0"]));

    write_the_manifest_twice(&lab, &work);
    let (_, version, checksum) = later_pin(&lab, "after upgrading another plugin");
    assert_eq!((version, checksum), ("14.1.0".into(), "abc123".into()));
    lab.ok(&["list"]);
    lab.ok(&["status"]);
    assert_eq!(lab.exec("alpha").0, argv(&["npx", "-y", "@t/a@1.0.0"]));
    lab.ok(&["doctor"]);
    // A relock of the plugin itself works (what it keeps of the later pin: the test below).
    lab.reg.npm_publish("@t/a", "1.1.0", &days_ago(10.0));
    lab.ok(&["upgrade", "alpha"]);
    assert_eq!(lab.locked("alpha", "@t/a").as_deref(), Some("1.1.0"), "{}", lab.env.manifest());
    assert_eq!(lab.exec("alpha").0, argv(&["npx", "-y", "@t/a@1.1.0"]));
}

#[test]
fn a_relock_keeps_the_pins_of_an_unknown_kind() {
    let (lab, _work) = later_kind_home();
    lab.reg.npm_publish("@t/a", "1.1.0", &days_ago(10.0));
    lab.ok(&["upgrade", "alpha"]);
    assert_eq!(lab.locked("alpha", "@t/a").as_deref(), Some("1.1.0"), "{}", lab.env.manifest());
    let (_, version, checksum) = later_pin(&lab, "after a relock of the plugin");
    assert_eq!((version, checksum), ("14.1.0".into(), "abc123".into()));
}

#[test]
fn an_unknown_lock_kind_keeps_its_name_when_atk_writes_the_manifest() {
    let (lab, work) = later_kind_home();
    write_the_manifest_twice(&lab, &work);
    assert_eq!(later_pin(&lab, "after upgrading another plugin").0, "cargo", "{}", lab.env.manifest());
}

// -- 4. npm's prereleases

/// `pkg`: 1.0.0, 1.9.0-rc.1, 3.0.0 (latest) and the `more` given.
fn prerelease_lab(more: &[&str]) -> Lab {
    let lab = Lab::new();
    let (old, older, oldest) = (days_ago(10.0), days_ago(30.0), days_ago(40.0));
    let mut versions =
        vec![("1.0.0", oldest.as_str(), true), ("1.9.0-rc.1", older.as_str(), true), ("3.0.0", old.as_str(), true)];
    versions.extend(more.iter().map(|v| (*v, old.as_str(), true)));
    lab.reg.npm("pkg", &versions, Some("3.0.0"));
    lab
}

#[test]
fn npm_takes_a_prerelease_only_when_the_range_names_one_of_its_version() {
    let lab = prerelease_lab(&[]);
    lab.add(&lab.server("pre", "npx", &["-y", "pkg@^1.9.0-rc.0"]));
    assert_eq!(lab.locked("pre", "pkg@^1.9.0-rc.0").as_deref(), Some("1.9.0-rc.1"), "{}", lab.env.manifest());
    assert_eq!(lab.exec("pre").0, argv(&["npx", "-y", "pkg@1.9.0-rc.1"]));
    lab.add(&lab.server("caret", "npx", &["-y", "pkg@^1"]));
    assert_eq!(lab.locked("caret", "pkg@^1").as_deref(), Some("1.0.0"), "{}", lab.env.manifest());
    lab.add(&lab.server("plain", "npx", &["-y", "pkg"]));
    assert_eq!(lab.locked("plain", "pkg").as_deref(), Some("3.0.0"), "{}", lab.env.manifest());
}

#[test]
fn npm_hyphen_ranges_and_other_versions_prereleases_are_not_taken() {
    let lab = prerelease_lab(&[]);
    lab.add(&lab.server("hyphen", "npx", &["-y", "pkg@1 - 2"]));
    assert_eq!(lab.locked("hyphen", "pkg@1 - 2").as_deref(), Some("1.0.0"), "{}", lab.env.manifest());
    let lab = prerelease_lab(&["1.10.0-alpha.1"]);
    lab.add(&lab.server("pre", "npx", &["-y", "pkg@^1.9.0-rc.0"]));
    assert_eq!(lab.locked("pre", "pkg@^1.9.0-rc.0").as_deref(), Some("1.9.0-rc.1"), "{}", lab.env.manifest());
}

// -- 5. a redirect to another scheme

/// An HTTP server answering every request with 302 to `ftp://127.0.0.1:<P2>/pub/x`, and on P2 a
/// listener that logs `connected` for each connection (an FTP server's greeting, then closes).
const REDIRECT_TO_FTP: &str = r#"
import os, socket, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
LOG = os.environ["LOG"]
def log(line):
    with open(LOG, "a") as f:
        f.write(line + "\n")
ftp = socket.socket(); ftp.bind(("127.0.0.1", 0)); ftp.listen(16)
def serve_ftp():
    while True:
        c, _ = ftp.accept(); log("connected")
        try:
            c.sendall(b"220 hi\r\n"); c.recv(1024)
        except OSError:
            pass
        c.close()
threading.Thread(target=serve_ftp, daemon=True).start()
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        log("GET " + self.path)
        self.send_response(302)
        self.send_header("Location", "ftp://127.0.0.1:%d/pub/x" % ftp.getsockname()[1])
        self.send_header("Content-Length", "0")
        self.end_headers()
    do_HEAD = do_GET
    def log_message(self, *a):
        pass
srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
tmp = os.environ["PORT_FILE"] + ".tmp"
with open(tmp, "w") as f:
    f.write("%d %d\n" % (srv.server_address[1], ftp.getsockname()[1]))
os.rename(tmp, os.environ["PORT_FILE"])
srv.serve_forever()
"#;

#[test]
fn a_redirect_to_another_scheme_fails_the_add_and_changes_nothing() {
    let mut lab = Lab::new();
    let server = PyServer::start(lab.env.dir.path(), "redirect", REDIRECT_TO_FTP);
    let url = format!("http://127.0.0.1:{}", server.ports[0]);
    lab.vars = vec![
        ("npm_config_registry".into(), format!("{url}/npm/")),
        ("UV_DEFAULT_INDEX".into(), format!("{url}/pypi/simple/")),
        ("UV_INDEX_URL".into(), format!("{url}/pypi/simple/")),
    ];
    let before = lab.env.snapshot();
    for (name, launcher, args) in [("npm", "npx", vec!["-y", "redirected"]), ("py", "uvx", vec!["redirectedpy"])] {
        let dir = lab.server(name, launcher, &args);
        let (o, e) = lab.run(7, &["add", dir.to_str().unwrap(), "-y"]);
        let errors = error_lines(&e);
        assert_eq!(errors.len(), 1, "{name}: one error line:\n{o}{e}");
        assert!(errors[0].contains(&format!("127.0.0.1:{}", server.ports[0])), "{name}: {e}");
        assert_eq!(lab.env.snapshot(), before, "{name}: a redirect changed the home");
        assert!(!lab.env.atk_home.join("plugins").join(name).exists());
    }
    let log = server.log();
    assert!(log.contains("GET /npm/redirected") && log.contains("GET /pypi/simple/redirectedpy/"), "{log}");
    // curl never followed the redirect to the FTP server.
    assert!(!log.contains("connected"), "atk followed a redirect to ftp://:\n{log}");
}

// -- 6. docker's saved credentials and the token realm

/// An OCI registry answering `/v2/…` with 401 and a Bearer realm on 127.0.0.2 (another host to
/// atk), and on 127.0.0.2 a token service that logs the Authorization header it gets (`-` when
/// none) and answers 401.
const FOREIGN_REALM: &str = r#"
import os, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
LOG = os.environ["LOG"]
def log(line):
    with open(LOG, "a") as f:
        f.write(line + "\n")
class Realm(BaseHTTPRequestHandler):
    def do_GET(self):
        log("token " + self.path + " " + self.headers.get("Authorization", "-"))
        self.send_response(401); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a):
        pass
realm = ThreadingHTTPServer(("127.0.0.2", 0), Realm)
threading.Thread(target=realm.serve_forever, daemon=True).start()
class Registry(BaseHTTPRequestHandler):
    def do_GET(self):
        log("registry " + self.command + " " + self.path + " " + self.headers.get("Authorization", "-"))
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Bearer realm="http://127.0.0.2:%d/token",service="elsewhere"' % realm.server_address[1])
        self.send_header("Content-Length", "0")
        self.end_headers()
    do_HEAD = do_GET
    def log_message(self, *a):
        pass
srv = ThreadingHTTPServer(("127.0.0.1", 0), Registry)
tmp = os.environ["PORT_FILE"] + ".tmp"
with open(tmp, "w") as f:
    f.write("%d %d\n" % (srv.server_address[1], realm.server_address[1]))
os.rename(tmp, os.environ["PORT_FILE"])
srv.serve_forever()
"#;

/// docker's `config.json` with saved credentials `user:password` for `host`.
fn docker_login(lab: &Lab, host: &str, user: &str, password: &str) -> String {
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let config = serde_json::json!({"auths": {host: {"auth": auth}}});
    write(&lab.env.path("docker-config/config.json"), &config.to_string(), false);
    auth
}

#[test]
fn docker_credentials_go_to_a_token_realm_on_this_machine_only() {
    let lab = Lab::new();
    // A private repository of the test registry, whose realm is itself on 127.0.0.1.
    lab.reg.oci("team/private", &[("1", "private-1")]);
    lab.reg.oci_private("team/private", "alice", "Pa55word");
    let image = format!("{}/team/private:1", lab.reg.oci_host());
    let dir = lab.server("private", "docker", &["run", "-i", &image]);
    // Without credentials: refused (the registry's 401), nothing added.
    let (o, e) = lab.run(7, &["add", dir.to_str().unwrap(), "-y"]);
    assert_eq!(error_lines(&e).len(), 1, "{o}{e}");
    assert!(!lab.env.manifest().contains("team/private"));
    // Wrong ones: refused as well.
    docker_login(&lab, &lab.reg.oci_host(), "alice", "wrong");
    lab.run(7, &["add", dir.to_str().unwrap(), "-y"]);
    // The right ones: locked.
    docker_login(&lab, &lab.reg.oci_host(), "alice", "Pa55word");
    lab.add(&dir);
    assert_eq!(lab.locked("private", &image), Some(lab.reg.oci_digest("team/private", "1")), "{}", lab.env.manifest());
    assert!(!lab.reg.requests_with("/token").is_empty(), "{:?}", lab.reg.requests());

    // A registry on this machine whose realm is another host over plain http.
    let server = PyServer::start(lab.env.dir.path(), "realm", FOREIGN_REALM);
    let host = format!("127.0.0.1:{}", server.ports[0]);
    let auth = docker_login(&lab, &host, "alice", "Pa55word");
    let image = format!("{host}/team/img:1");
    let dir = lab.server("foreign", "docker", &["run", "-i", &image]);
    let before = lab.env.snapshot();
    let (o, e) = lab.run(7, &["add", dir.to_str().unwrap(), "-y"]);
    assert_eq!(error_lines(&e).len(), 1, "{o}{e}");
    assert_eq!(lab.env.snapshot(), before);
    let log = server.log();
    let asked: Vec<&str> = log.lines().filter(|l| l.starts_with("token ")).collect();
    assert!(!asked.is_empty(), "atk never asked the realm:\n{log}");
    assert!(!log.contains(&auth) && !log.contains("Basic"), "credentials went to another host over http:\n{log}");
    assert_hidden("the output", &format!("{o}{e}"), &auth);
    assert_hidden("the output", &format!("{o}{e}"), "Pa55word");
}

// -- 7. custom/overrides.yaml when relocking

/// A home with `echo` from git (`npx -y @t/echo`) while the registry has 1.0.0, 1.5.0 and 2.0.0
/// (latest); (lab, source work tree, first commit).
fn echo_lab() -> (Lab, PathBuf, String) {
    let lab = Lab::new();
    lab.reg.npm(
        "@t/echo",
        &[("1.0.0", &days_ago(40.0), true), ("1.5.0", &days_ago(30.0), true), ("2.0.0", &days_ago(20.0), true)],
        Some("2.0.0"),
    );
    let (work, url) = echo_source(&lab.env);
    lab.ok(&["add", "-y", &url]);
    assert_eq!(lab.locked("echo", "@t/echo").as_deref(), Some("2.0.0"), "{}", lab.env.manifest());
    let c1 = head(&work);
    (lab, work, c1)
}

#[test]
fn upgrade_and_rollback_lock_what_runs_with_the_users_overrides() {
    let (lab, work, c1) = echo_lab();
    write(
        &lab.env.atk_home.join("plugins/echo/custom/overrides.yaml"),
        "mcp:\n  args: [\"-y\", \"@t/echo@^1\"]\n",
        false,
    );
    lab.env.git(&["add", "-A"]);
    lab.env.git(&["commit", "-qm", "echo: stay on 1.x"]);
    let (o, e) = lab.ok(&["install", "echo"]);
    assert_eq!(lab.locked("echo", "@t/echo@^1").as_deref(), Some("1.5.0"), "{o}{e}\n{}", lab.env.manifest());
    assert_eq!(lab.exec("echo").0, argv(&["npx", "-y", "@t/echo@1.5.0"]));

    // A new commit of the source: the upgrade locks what runs with the overrides, as before.
    write(&work.join(".atk/NOTES.md"), "v2\n", false);
    let c2 = commit_all(&work, "echo v2");
    let (o, e) = lab.ok(&["upgrade", "echo"]);
    assert!(lab.env.manifest().contains(&c2));
    assert!(!format!("{o}{e}").contains("no longer run"), "{o}{e}");
    assert_eq!(lab.locked("echo", "@t/echo@^1").as_deref(), Some("1.5.0"), "{o}{e}\n{}", lab.env.manifest());
    assert_eq!(lab.locked("echo", "@t/echo"), None, "{}", lab.env.manifest());
    assert_eq!(lab.exec("echo").0, argv(&["npx", "-y", "@t/echo@1.5.0"]));

    // And the rollback.
    let (o, e) = lab.ok(&["rollback", "echo", "-y"]);
    assert!(lab.env.manifest().contains(&c1), "{o}{e}");
    assert!(!format!("{o}{e}").contains("no longer run"), "{o}{e}");
    assert_eq!(lab.locked("echo", "@t/echo@^1").as_deref(), Some("1.5.0"), "{o}{e}\n{}", lab.env.manifest());
    assert_eq!(lab.exec("echo").0, argv(&["npx", "-y", "@t/echo@1.5.0"]));
    let (o, e) = lab.ok(&["doctor"]);
    let said = format!("{o}{e}");
    assert!(!said.contains("without a lock") && !said.contains("no longer runs"), "{said}");
}

// -- 8. the plugin's own docker-compose.override.yml

#[test]
fn compose_keeps_the_plugins_own_override_when_atk_names_the_files() {
    let lab = Lab::new();
    lab.reg.oci("team/db", &[("7", "db-7")]);
    let db = format!("{}/team/db:7", lab.reg.oci_host());
    let dir = lab.env.plugin(
        "src/svc",
        &yaml("svc", "service:\n  type: docker-compose\nlifecycle:\n  start: docker compose up -d\n"),
        &[
            ("docker-compose.yml", &format!("services:\n  db:\n    image: {db}\n"), false),
            ("docker-compose.override.yml", "services:\n  db:\n    environment:\n      A: b\n", false),
        ],
    );
    lab.add(&dir);
    assert!(lab.locked("svc", &db).is_some(), "{}", lab.env.manifest());
    lab.take_argv();
    lab.ok(&["start", "svc"]);
    let home = std::fs::canonicalize(&lab.env.atk_home).unwrap();
    let plugin = home.join("plugins/svc");
    let over = home.join(".git/atk/compose/svc.yml");
    let want = format!(
        "docker\ncompose\n-f\ndocker-compose.yml\n-f\ndocker-compose.override.yml\n-f\n{over}\nup\n-d\nCOMPOSE_FILE={plugin}/docker-compose.yml:{plugin}/docker-compose.override.yml:{over}\n",
        over = over.display(),
        plugin = plugin.display()
    );
    assert_eq!(lab.take_argv(), want);
}

// -- 9. atk mcp shows the locked command

#[test]
fn mcp_shows_the_command_as_exec_runs_it() {
    let lab = Lab::new();
    lab.reg.npm("@t/echo", &[("1.0.0", &days_ago(20.0), true)], None);
    lab.add(&lab.server("echo", "npx", &["-y", "@t/echo"]));
    let (o, e) = lab.ok(&["mcp", "echo"]);
    assert!(o.contains("@t/echo@1.0.0"), "{o}");
    assert!(!e.contains("not locked"), "{e}");
    let (o, _) = lab.ok(&["mcp", "echo", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&o).unwrap();
    let text = doc.to_string();
    assert!(text.contains("\"@t/echo@1.0.0\""), "{doc}");
    assert!(!text.contains("\"@t/echo\""), "{doc}");
    assert_eq!(lab.exec("echo").0, argv(&["npx", "-y", "@t/echo@1.0.0"]));

    // Without its lock: as written, and a warning.
    let text = lab.env.manifest();
    let start = text.find("  lock:\n").unwrap();
    let end = text[start..].find("published").map(|i| start + i).unwrap();
    let end = end + text[end..].find('\n').unwrap() + 1;
    write(&lab.env.atk_home.join("manifest.yaml"), &format!("{}{}", &text[..start], &text[end..]), false);
    lab.env.git(&["commit", "-qam", "no lock"]);
    assert!(lab.lock("echo").is_empty(), "{}", lab.env.manifest());
    let (o, e) = lab.ok(&["mcp", "echo"]);
    assert!(o.contains("@t/echo") && !o.contains("@t/echo@"), "{o}");
    assert_eq!(e.lines().filter(|l| l.contains("@t/echo") && l.contains("not locked")).count(), 1, "{e}");
    let (o, _) = lab.ok(&["mcp", "echo", "--json"]);
    assert!(o.contains("\"@t/echo\"") && !o.contains("@t/echo@"), "{o}");
}

// -- 10. --pin of a package the plugin does not run; rollback --pin

#[test]
fn a_pin_of_no_package_is_a_usage_error_and_rollback_pin_resolves_anew() {
    let (lab, work, c1) = echo_lab();
    write(&work.join(".atk/NOTES.md"), "v2\n", false);
    let c2 = commit_all(&work, "echo v2");
    let before = lab.env.snapshot();
    let (o, e) = lab.run(2, &["upgrade", "--all", "--pin", "nosuch@1.0.0"]);
    let errors = error_lines(&e);
    assert_eq!(errors.len(), 1, "{o}{e}");
    assert!(errors[0].contains("nosuch"), "{e}");
    assert_eq!(lab.env.snapshot(), before, "a usage error changed the home");
    assert!(lab.reg.requests_with("nosuch").is_empty(), "{:?}", lab.reg.requests());

    // The upgrade, then a rollback that names a version: resolved anew, not the history's 2.0.0
    // (which a rollback without --pin takes).
    lab.ok(&["upgrade", "echo"]);
    assert!(lab.env.manifest().contains(&c2));
    let (o, e) = lab.ok(&["rollback", "echo", "--dry-run"]);
    assert!(!format!("{o}{e}").contains("1.0.0"), "{o}{e}");
    let (o, e) = lab.ok(&["rollback", "echo", "-y", "--pin", "@t/echo@1.0.0"]);
    assert!(lab.env.manifest().contains(&c1), "{o}{e}");
    assert_eq!(lab.locked("echo", "@t/echo").as_deref(), Some("1.0.0"), "{o}{e}\n{}", lab.env.manifest());
    assert_eq!(lab.exec("echo").0, argv(&["npx", "-y", "@t/echo@1.0.0"]));
}

// -- 11. a launcher that names its own registry

#[test]
fn a_launcher_with_its_own_registry_is_not_locked_and_atk_asks_nothing_for_it() {
    let lab = Lab::new();
    lab.reg.npm("ownreg", &[("1.0.0", &days_ago(20.0), true)], None);
    lab.reg.pypi("ownregpy", &[("1.0", &days_ago(20.0), None)]);
    lab.reg.oci("team/img", &[("1", "img-1")]);
    let image = format!("{}/team/img:1", lab.reg.oci_host());
    let cases: Vec<(&str, &str, Vec<&str>)> = vec![
        ("npx-own", "npx", vec!["--registry", "http://x/", "-y", "ownreg"]),
        ("uvx-own", "uvx", vec!["--index-url", "http://x/", "ownregpy"]),
    ];
    for (name, launcher, args) in &cases {
        let (o, e) = lab.add(&lab.server(name, launcher, args));
        assert!(lab.lock(name).is_empty(), "{name}: {}", lab.env.manifest());
        let pkg = args.last().unwrap();
        assert!(
            e.lines().any(|l| l.contains(pkg) && l.contains("not locked")),
            "{name}: no warning naming {pkg}:\n{o}{e}"
        );
        let (ran, err) = lab.exec(name);
        let mut want = vec![*launcher];
        want.extend(args.iter());
        assert_eq!(ran, argv(&want), "{name}");
        assert!(!err.contains("error"), "{name}: {err}");
    }
    assert!(lab.reg.requests_with("ownreg").is_empty(), "{:?}", lab.reg.requests());

    // docker's -i is not an index option.
    lab.add(&lab.server("docker-i", "docker", &["run", "-i", &image]));
    let digest = lab.reg.oci_digest("team/img", "1");
    assert_eq!(lab.locked("docker-i", &image), Some(digest.clone()), "{}", lab.env.manifest());
    assert_eq!(lab.exec("docker-i").0, argv(&["docker", "run", "-i", &format!("{image}@{digest}")]));
}

// -- 12. a PyPI release with a young file

#[test]
fn a_pypi_release_with_a_file_younger_than_the_cooldown_is_held_back() {
    let lab = Lab::new();
    let (old, month, hour) = (days_ago(40.0), days_ago(30.0), days_ago(1.0 / 24.0));
    lab.reg.set(&serde_json::json!({"pypi": {"latewheel": {"versions": {
        "1.0": {"time": old},
        "2.0": {"time": month, "files": [
            {"kind": "sdist", "time": month},
            {"kind": "wheel", "time": hour},
        ]},
    }}}}));
    let (o, e) = lab.add(&lab.server("late", "uvx", &["latewheel"]));
    assert_eq!(lab.locked("late", "latewheel").as_deref(), Some("1.0"), "{o}{e}\n{}", lab.env.manifest());
    assert!(format!("{o}{e}").lines().any(|l| l.contains("2.0") && l.contains("held back")), "{o}{e}");
    assert_eq!(lab.exec("late").0, argv(&["uvx", "latewheel==1.0"]));
}

// -- attacks

#[test]
fn a_secret_in_args_or_the_environment_reaches_no_lock_output_or_registry_request() {
    const TOKEN: &str = "tok_Vq84LmZ2xR7pWk31";
    const ENV_SECRET: &str = "npm_Hj5sKq92PzLw0aTy";
    let mut lab = Lab::new();
    lab.reg.npm("@t/echo", &[("1.0.0", &days_ago(20.0), true)], None);
    lab.reg.pypi("tokpy", &[("1.0", &days_ago(20.0), None)]);
    lab.vars = vec![("MY_API_TOKEN".into(), ENV_SECRET.into()), ("NPM_TOKEN".into(), ENV_SECRET.into())];
    let body = format!(
        "env_vars:\n  - name: API_TOKEN\n    required: true\n    secret: true\n{}",
        mcp("npx", &["-y", "@t/echo", "--token", "${API_TOKEN}", "--also=$MY_API_TOKEN"])
    ) + "  env: [API_TOKEN]\n";
    let dir = lab.env.plugin("src/sec", &yaml("sec", &body), &[]);
    let (o1, e1) = lab.ok(&["add", dir.to_str().unwrap(), "-y", "--set", &format!("API_TOKEN={TOKEN}")]);
    // A PyPI package whose word holds a variable: not locked, and its value is never asked for.
    let body = format!(
        "env_vars:\n  - name: API_TOKEN\n    required: true\n    secret: true\n{}",
        mcp("uvx", &["--from", "tokpy==${API_TOKEN}", "tok"])
    ) + "  env: [API_TOKEN]\n";
    let dir = lab.env.plugin("src/secpy", &yaml("secpy", &body), &[]);
    let (o2, e2) = lab.ok(&["add", dir.to_str().unwrap(), "-y", "--set", &format!("API_TOKEN={TOKEN}")]);
    assert_eq!(lab.locked("sec", "@t/echo").as_deref(), Some("1.0.0"));
    let mut said = format!("{o1}{e1}{o2}{e2}");
    for args in [
        vec!["exec", "sec"],
        vec!["exec", "secpy"],
        vec!["mcp", "sec"],
        vec!["mcp", "secpy", "--json"],
        vec!["status"],
        vec!["status", "--json"],
        vec!["help", "sec"],
        vec!["doctor"],
        vec!["upgrade", "--all", "--dry-run"],
        vec!["install", "--all"],
    ] {
        let (o, e) = lab.ok(&args);
        said.push_str(&format!("{o}{e}"));
    }
    // exec gave the real value to the server, and only to it.
    let ran = lab.take_argv();
    assert!(ran.contains(&format!("--token\n{TOKEN}\n")), "{ran}");
    assert!(ran.contains("@t/echo@1.0.0"), "{ran}");
    assert!(ran.contains(&format!("tokpy=={TOKEN}")), "{ran}");
    for secret in [TOKEN, ENV_SECRET] {
        assert_hidden("what atk said", &said, secret);
        assert_hidden("the manifest", &lab.env.manifest(), secret);
        assert_hidden("the history", &lab.env.git(&["log", "-p", "--all"]), secret);
        assert_hidden("the registries' log", &lab.reg.requests().join("\n"), secret);
        assert_hidden("the generated files", &generated_overrides(&lab.env), secret);
    }
}

/// Like `common::stop_at`, with the lab's registries and stubs.
fn stop_at_in(lab: &Lab, failpoint: &str, args: &[&str]) -> Running {
    stop_command_at(lab.std_cmd(), &lab.env, failpoint, args)
}

/// A home with `echo` from git locked to @t/echo 1.0.0; then 1.1.0 published and a new commit:
/// `atk upgrade echo` moves both. (lab, the new commit)
fn upgrade_pending() -> (Lab, String, String) {
    let lab = Lab::new();
    lab.reg.npm("@t/echo", &[("1.0.0", &days_ago(20.0), true)], None);
    let (work, url) = echo_source(&lab.env);
    lab.ok(&["add", "-y", &url]);
    let c1 = head(&work);
    lab.reg.npm_publish("@t/echo", "1.1.0", &days_ago(10.0));
    write(&work.join(".atk/NOTES.md"), "v2\n", false);
    let c2 = commit_all(&work, "echo v2");
    (lab, c1, c2)
}

#[test]
fn kill_9_or_ctrl_c_in_the_middle_of_an_upgrade_relock_leaves_the_old_or_the_new_home() {
    // Every failpoint an upgrade that moves the commit and the lock passes.
    let (lab, _, c2) = upgrade_pending();
    let trace = lab.env.path("trace");
    let mut c = lab.std_cmd();
    c.args(["upgrade", "echo"]).env("ATK_FAILPOINT_TRACE", &trace).stdin(Stdio::null());
    let out = wait_with_timeout(c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap(), 120);
    assert!(out.status.success(), "{}", both(&out));
    assert!(lab.env.manifest().contains(&c2));
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    let mut points = vec![];
    for name in std::fs::read_to_string(&trace).unwrap().lines() {
        let n = seen.entry(name.to_string()).or_default();
        *n += 1;
        points.push(format!("{name}#{n}"));
    }
    assert!(points.iter().any(|p| p.starts_with("commit")), "{points:?}");

    for point in &points {
        let (lab, c1, c2) = upgrade_pending();
        let old = (lab.env.manifest(), state(&lab.env));
        kill_9(stop_at_in(&lab, point, &["upgrade", "echo"]));
        // The next atk recovers; the home is the old one or the new one, whole.
        lab.ok(&["list"]);
        let manifest = lab.env.manifest();
        let version = lab.locked("echo", "@t/echo");
        if manifest.contains(&c1) {
            assert_eq!(manifest, old.0, "at {point}: the old pin with another manifest");
            assert_eq!(state(&lab.env), old.1, "at {point}");
        } else {
            assert!(manifest.contains(&c2), "at {point}:\n{manifest}");
            assert_eq!(version.as_deref(), Some("1.1.0"), "at {point}: the new pin with the old lock:\n{manifest}");
        }
        assert_eq!(lab.env.git(&["status", "--porcelain"]), "", "at {point}");
        let want = format!("@t/echo@{}", version.unwrap());
        assert_eq!(lab.exec("echo").0, argv(&["npx", "-y", &want]), "at {point}");
        // And an upgrade afterwards reaches the new home.
        lab.ok(&["upgrade", "echo"]);
        assert!(lab.env.manifest().contains(&c2), "at {point}");
        assert_eq!(lab.locked("echo", "@t/echo").as_deref(), Some("1.1.0"), "at {point}");
    }

    // Ctrl-C while the registry does not answer: exit 130, nothing changed.
    let (lab, _, _) = upgrade_pending();
    lab.reg.hang("npm", "@t/echo");
    lab.reg.clear_log();
    let before = (lab.env.snapshot(), state(&lab.env));
    let mut c = lab.std_cmd();
    c.args(["upgrade", "echo"]).env("ATK_NET_TIMEOUT", "120").stdin(Stdio::null());
    let child = c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let pid = child.id();
    let mut guard = Running(Some(child));
    let start = Instant::now();
    while lab.reg.requests_with("/npm/@t%2fecho").is_empty() {
        assert!(start.elapsed() < Duration::from_secs(60), "upgrade never asked the registry");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    signal(pid, Signal::INT).unwrap();
    let out = wait_with_timeout(guard.0.take().unwrap(), 30);
    assert_eq!(out.status.code(), Some(130), "{}", both(&out));
    assert_eq!((lab.env.snapshot(), state(&lab.env)), before, "an interrupted upgrade changed the home");
}

#[test]
fn an_npm_git_url_cannot_smuggle_an_option_to_ssh() {
    let lab = Lab::new();
    write(&lab.bin.join("ssh"), STUB, true);
    let marker = lab.env.path("pwned");
    for (name, word) in [
        ("dash-host", "git+ssh://-oProxyCommand=touch/x.git#main".to_string()),
        ("dash-user", "git+ssh://-oProxyCommand=touch@127.0.0.1/x.git#main".to_string()),
        ("dash-port", "git+ssh://127.0.0.1:-oProxyCommand=touch/x.git#main".to_string()),
        ("dash-ref", format!("git+ssh://git@127.0.0.1/x.git#--upload-pack=touch {}", marker.display())),
    ] {
        let dir = lab.server(name, "npx", &["-y", &word]);
        let out = lab
            .cmd()
            .args(["add", dir.to_str().unwrap(), "-y"])
            .env("ATK_NET_TIMEOUT", "3")
            .write_stdin("")
            .output()
            .unwrap();
        let (o, e) = texts(&out);
        let ran = lab.take_argv();
        assert_ne!(out.status.code(), Some(0), "{name}: {o}{e}");
        for line in ran.lines() {
            assert!(
                !line.starts_with("-oProxyCommand") && !line.contains("--upload-pack"),
                "{name}: ssh got an option from the plugin:\n{ran}"
            );
        }
        assert!(!marker.exists(), "{name}");
    }
}

#[test]
fn credentials_in_an_npm_git_url_are_never_shown() {
    const SECRET: &str = "S3cretTok";
    let lab = Lab::new();
    let port = lab.reg.port;
    // The registries' server answers 404 to git's requests.
    let word = format!("git+http://u:{SECRET}@127.0.0.1:{port}/o/r.git#main");
    let dir = lab.server("gitcred", "npx", &["-y", &word]);
    let out = lab.cmd().args(["add", dir.to_str().unwrap(), "-y"]).write_stdin("").output().unwrap();
    let (o, e) = texts(&out);
    assert_ne!(out.status.code(), Some(0), "{o}{e}");
    assert_eq!(error_lines(&e).len(), 1, "{o}{e}");
    assert_hidden("add's error", &format!("{o}{e}"), SECRET);
    let out = lab.cmd().args(["add", dir.to_str().unwrap(), "-y", "--json"]).write_stdin("").output().unwrap();
    let (o, e) = texts(&out);
    assert_hidden("add's JSON error", &format!("{o}{e}"), SECRET);
}

#[test]
fn a_locked_npm_git_url_with_credentials_is_refused_and_never_shown() {
    const SECRET: &str = "S3cretTok";
    let lab = Lab::new();
    let work = lab.env.path("pkg-work");
    git(lab.env.dir.path(), &["init", "-q", "-b", "main", work.to_str().unwrap()]);
    write(&work.join("package.json"), "{\"name\": \"gitpkg\", \"version\": \"1.0.0\", \"bin\": \"cli.js\"}\n", false);
    commit_all(&work, "v1");
    let root = lab.env.path("git");
    std::fs::create_dir_all(&root).unwrap();
    servers::publish(&work, &root, "pkg.git", true);
    let http = servers::HttpServer::start(&root);
    // Without credentials the repository is locked (the server works)...
    let plain = format!("git+{}#main", http.url("pkg.git"));
    lab.add(&lab.server("gitplain", "npx", &["-y", &plain]));
    assert!(lab.locked("gitplain", &plain).is_some(), "{}", lab.env.manifest());
    // ...with them, the lock (committed, maybe pushed) would hold them: refused, not shown.
    let with_cred = http.url("pkg.git").replacen("http://", &format!("http://u:{SECRET}@"), 1);
    let word = format!("git+{with_cred}#main");
    let dir = lab.server("gitcred", "npx", &["-y", &word]);
    let before = lab.env.snapshot();
    for json in [false, true] {
        let mut args = vec!["add", dir.to_str().unwrap(), "-y"];
        if json {
            args.push("--json");
        }
        let out = lab.cmd().args(&args).write_stdin("").output().unwrap();
        let (o, e) = texts(&out);
        assert_ne!(out.status.code(), Some(0), "{o}{e}");
        if !json {
            assert_eq!(error_lines(&e).len(), 1, "{o}{e}");
        }
        assert_hidden("add", &format!("{o}{e}"), SECRET);
        assert_eq!(lab.env.snapshot(), before);
    }
    assert_hidden("the history", &lab.env.git(&["log", "-p", "--all"]), SECRET);
}

/// An npm registry on 127.0.0.1 that logs the Authorization header it gets and redirects every
/// request to the same path on 127.0.0.2 (another host), which logs its header and answers 404.
const REDIRECT_ELSEWHERE: &str = r#"
import os, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
LOG = os.environ["LOG"]
def log(line):
    with open(LOG, "a") as f:
        f.write(line + "\n")
class Other(BaseHTTPRequestHandler):
    def do_GET(self):
        log("other " + self.path + " " + self.headers.get("Authorization", "-"))
        self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a):
        pass
other = ThreadingHTTPServer(("127.0.0.2", 0), Other)
threading.Thread(target=other.serve_forever, daemon=True).start()
class Registry(BaseHTTPRequestHandler):
    def do_GET(self):
        log("registry " + self.path + " " + self.headers.get("Authorization", "-"))
        self.send_response(302)
        self.send_header("Location", "http://127.0.0.2:%d%s" % (other.server_address[1], self.path))
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
srv = ThreadingHTTPServer(("127.0.0.1", 0), Registry)
tmp = os.environ["PORT_FILE"] + ".tmp"
with open(tmp, "w") as f:
    f.write("%d %d\n" % (srv.server_address[1], other.server_address[1]))
os.rename(tmp, os.environ["PORT_FILE"])
srv.serve_forever()
"#;

#[test]
fn an_npm_token_is_sent_to_its_registry_and_not_where_it_redirects() {
    const TOKEN: &str = "npm_Tq93LmZ2xR7pWk31";
    let mut lab = Lab::new();
    let server = PyServer::start(lab.env.dir.path(), "elsewhere", REDIRECT_ELSEWHERE);
    let registry = format!("http://127.0.0.1:{}/npm/", server.ports[0]);
    let npmrc = lab.env.path("npmrc-token");
    write(&npmrc, &format!("registry={registry}\n//127.0.0.1:{}/npm/:_authToken={TOKEN}\n", server.ports[0]), false);
    lab.vars = vec![("NPM_CONFIG_USERCONFIG".into(), npmrc.to_string_lossy().into_owned())];
    // The registry from the .npmrc, not the variable.
    let mut c = lab.cmd();
    let dir = lab.server("tok", "npx", &["-y", "@t/tok"]);
    let out = c
        .env_remove("npm_config_registry")
        .args(["add", dir.to_str().unwrap(), "-y"])
        .write_stdin("")
        .output()
        .unwrap();
    let (o, e) = texts(&out);
    assert_ne!(out.status.code(), Some(0), "{o}{e}");
    let log = server.log();
    assert!(
        log.contains(&format!("registry /npm/@t%2ftok Bearer {TOKEN}")),
        "the registry did not get its token:\n{log}"
    );
    let other: Vec<&str> = log.lines().filter(|l| l.starts_with("other ")).collect();
    assert!(!other.is_empty(), "the redirect was not followed:\n{log}");
    assert!(other.iter().all(|l| l.ends_with(" -")), "the token went to another host:\n{log}");
    assert_hidden("add", &format!("{o}{e}"), TOKEN);
}

#[test]
fn a_forged_lock_cannot_put_control_characters_on_the_terminal() {
    let lab = Lab::new();
    lab.reg.npm("@t/echo", &[("1.0.0", &days_ago(20.0), true)], None);
    lab.add(&lab.server("echo", "npx", &["-y", "@t/echo"]));
    // A manifest pulled from a teammate: the lock's fields carry escapes and a line break.
    let forged = "\"1.0.0\\e]0;owned\\a\\e[2J\\nfake: line\"";
    lab.edit_manifest("version: 1.0.0", &format!("version: {forged}"));
    assert!(lab.env.manifest().contains("\\e]0;owned"), "{}", lab.env.manifest());
    let mut said = String::new();
    for args in [
        vec!["status"],
        vec!["list"],
        vec!["help", "echo"],
        vec!["doctor"],
        vec!["mcp", "echo"],
        vec!["exec", "echo"],
        vec!["upgrade", "--all", "--dry-run"],
        vec!["install", "--all"],
    ] {
        let out = lab.cmd().args(&args).write_stdin("").output().unwrap();
        let (o, e) = texts(&out);
        said.push_str(&format!("$ atk {args:?} ({:?})\n{o}{e}", out.status.code()));
    }
    assert!(!said.contains('\u{1b}') && !said.contains('\u{7}'), "a control character reached the terminal:\n{said:?}");
    // The forged value was read (and shown escaped), not refused as a broken manifest.
    assert!(said.contains("owned"), "{said}");
    assert!(!said.lines().any(|l| l.trim_start().starts_with("fake: line")), "a forged line:\n{said}");
}

/// The failpoints `atk args` passes in `lab` (it runs there to the end), each with its pass
/// (`step#2`).
fn failpoints(lab: &Lab, args: &[&str]) -> Vec<String> {
    let trace = lab.env.path("trace");
    let mut c = lab.std_cmd();
    c.args(args).env("ATK_FAILPOINT_TRACE", &trace).stdin(Stdio::null());
    let out = wait_with_timeout(c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap(), 120);
    assert!(out.status.success(), "{}", both(&out));
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    let mut points = vec![];
    for name in std::fs::read_to_string(&trace).unwrap_or_default().lines() {
        let n = seen.entry(name.to_string()).or_default();
        *n += 1;
        points.push(format!("{name}#{n}"));
    }
    assert!(points.iter().any(|p| p.starts_with("commit")), "{points:?}");
    points
}

/// Kills `atk args` with SIGKILL at each of its failpoints, in a new home `make` builds each
/// time; the next atk leaves either the home as it was or the one `args` makes: `commit` (when
/// given) in the manifest with @t/echo locked to `version`, exec running that.
fn every_failpoint(make: impl Fn() -> Lab, args: &[&str], commit: Option<&str>, version: &str) {
    let lab = make();
    let points = failpoints(&lab, args);
    if let Some(c) = commit {
        assert!(lab.env.manifest().contains(c), "{}", lab.env.manifest());
    }
    assert_eq!(lab.locked("echo", "@t/echo").as_deref(), Some(version), "{}", lab.env.manifest());
    for point in &points {
        let lab = make();
        let old = (lab.env.manifest(), state(&lab.env));
        kill_9(stop_at_in(&lab, point, args));
        lab.ok(&["list"]);
        let manifest = lab.env.manifest();
        let locked = lab.locked("echo", "@t/echo");
        if manifest == old.0 {
            assert_eq!(state(&lab.env), old.1, "at {point}");
        } else {
            if let Some(c) = commit {
                assert!(manifest.contains(c), "at {point}: neither the old nor the new manifest:\n{manifest}");
            }
            assert_eq!(locked.as_deref(), Some(version), "at {point}: a half-made lock:\n{manifest}");
        }
        assert_eq!(lab.env.git(&["status", "--porcelain"]), "", "at {point}");
        let want = format!("@t/echo@{}", locked.unwrap());
        assert_eq!(lab.exec("echo").0, argv(&["npx", "-y", &want]), "at {point}");
    }
}

#[test]
fn kill_9_in_the_middle_of_a_lock_only_upgrade_or_a_rollback_leaves_the_old_or_the_new_home() {
    // A lock-only upgrade ("Lock what 'echo' runs"): the commit does not move.
    let lock_only = || {
        let lab = Lab::new();
        lab.reg.npm("@t/echo", &[("1.0.0", &days_ago(20.0), true)], None);
        let (_, url) = echo_source(&lab.env);
        lab.ok(&["add", "-y", &url]);
        lab.reg.npm_publish("@t/echo", "1.1.0", &days_ago(10.0));
        lab
    };
    every_failpoint(lock_only, &["upgrade", "echo"], None, "1.1.0");
    // A rollback to the first commit and its lock.
    let upgraded = || {
        let (lab, _, c2) = upgrade_pending();
        lab.ok(&["upgrade", "echo"]);
        assert!(lab.env.manifest().contains(&c2));
        lab
    };
    every_failpoint(upgraded, &["rollback", "echo", "-y"], None, "1.0.0");
}
