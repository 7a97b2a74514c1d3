//! The test environment: a temporary HOME, ATK_HOME and ATK_CACHE_DIR, the real `atk` binary, and
//! helpers to look at the home the way a user would (files, manifest, git log, git ls-files).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;

pub mod agents;
pub mod data;
pub mod docker;
pub mod export;
pub mod lab;
pub mod python;
pub mod real_agents;
pub mod registries;
pub mod servers;
pub mod sources;

/// The longest any one process of a test may run, in seconds.
pub const RUN_TIMEOUT: u64 = 300;

pub struct Env {
    pub dir: tempfile::TempDir,
    pub home: PathBuf,
    pub atk_home: PathBuf,
    pub cache: PathBuf,
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

pub fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("atk")
}

impl Env {
    /// A new environment with no ATK Home yet.
    pub fn bare() -> Env {
        let dir = tempfile::Builder::new().prefix("atk-it-").tempdir().unwrap();
        let home = dir.path().join("user");
        std::fs::create_dir_all(&home).unwrap();
        Env { atk_home: home.join(".atk"), cache: dir.path().join("cache"), home, dir }
    }

    /// A new environment with an initialized home.
    pub fn new() -> Env {
        let env = Env::bare();
        env.ok(&["init"]);
        env
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `atk` with this environment, no terminal, CI set.
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::from_std(self.std_cmd());
        // No run may hang the suite: past this, it is killed and the test fails.
        c.timeout(std::time::Duration::from_secs(RUN_TIMEOUT));
        c
    }

    pub fn std_cmd(&self) -> Command {
        let mut c = Command::cargo_bin("atk").unwrap();
        self.apply(&mut c);
        c
    }

    pub fn apply(&self, c: &mut Command) {
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy().to_string();
            if k.starts_with("GIT_") || k.starts_with("ATK_") || k.starts_with("XDG_") || k == "NO_COLOR" || k == "CI" {
                c.env_remove(&k);
            }
        }
        // Hermetic: no configuration of the developer's (git's global and XDG files, the system
        // file) reaches a run; a test that wants a user's git config writes $HOME/.gitconfig.
        c.env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("GIT_CONFIG_GLOBAL", self.home.join(".gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("ATK_HOME", &self.atk_home)
            .env("ATK_CACHE_DIR", &self.cache)
            .env("CI", "true")
            .env("NO_COLOR", "1")
            .env("ATK_LOCK_TIMEOUT", "60")
            .current_dir(self.dir.path());
    }

    /// atk on a pseudo-terminal (CI unset), to answer its prompts.
    pub fn on_terminal(&self, args: &[&str]) -> rexpect::session::PtySession {
        let mut cmd = Command::new(bin());
        self.apply(&mut cmd);
        cmd.env_remove("CI").env("TERM", "dumb").args(args);
        rexpect::session::spawn_command(cmd, Some(20_000)).unwrap()
    }

    /// Like [`Env::on_terminal`], with `NO_COLOR` unset or set as given.
    pub fn on_terminal_with_no_color(&self, no_color: Option<&str>, args: &[&str]) -> rexpect::session::PtySession {
        let mut cmd = Command::new(bin());
        self.apply(&mut cmd);
        cmd.env_remove("CI").env_remove("NO_COLOR").env("TERM", "dumb").args(args);
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        rexpect::session::spawn_command(cmd, Some(20_000)).unwrap()
    }

    /// Starts atk in the background, its output discarded (stderr kept for the caller).
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.std_cmd()
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Runs atk and asserts exit 0; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "atk {args:?} failed with {:?}\nstdout:\n{}\nstderr:\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs atk and asserts the exit code; returns (stdout, stderr).
    pub fn fails(&self, code: i32, args: &[&str]) -> (String, String) {
        let out = self.cmd().args(args).output().unwrap();
        let (o, e) =
            (String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string());
        assert_eq!(out.status.code(), Some(code), "atk {args:?}\nstdout:\n{o}\nstderr:\n{e}");
        (o, e)
    }

    pub fn manifest(&self) -> String {
        std::fs::read_to_string(self.atk_home.join("manifest.yaml")).unwrap()
    }

    pub fn gitignore(&self) -> String {
        std::fs::read_to_string(self.atk_home.join(".gitignore")).unwrap()
    }

    /// `git <args>` in the home.
    pub fn git(&self, args: &[&str]) -> String {
        git(&self.atk_home, args)
    }

    /// The mode git records for a tracked path (`100644`, `100755`, `120000`).
    pub fn tracked_mode(&self, path: &str) -> String {
        self.git(&["ls-files", "-s", path]).split(' ').next().unwrap_or_default().to_string()
    }

    pub fn log(&self) -> Vec<String> {
        self.git(&["log", "--format=%s"]).lines().map(String::from).collect()
    }

    pub fn ls_files(&self) -> Vec<String> {
        self.git(&["ls-files"]).lines().map(String::from).collect()
    }

    /// Every path ever committed, on any ref.
    pub fn all_committed_paths(&self) -> String {
        self.git(&["log", "--all", "--name-only", "--format="])
    }

    /// A copy of a fixture plugin under the test folder, to add from (and change freely).
    pub fn fixture(&self, name: &str) -> PathBuf {
        let to = self.path(&format!("src/{}", name.replace('/', "-")));
        copy_dir(&fixtures().join("plugins").join(name), &to);
        to
    }

    /// Adds the `full` fixture (every section of the schema), answering its required variable.
    pub fn add_full(&self) {
        self.ok(&["add", self.fixture("full").to_str().unwrap(), "-y", "--set", "FULL_API_KEY=first"]);
    }

    /// Writes a plugin folder with `plugin.yaml` and extra files (`(path, content, executable)`).
    pub fn plugin(&self, rel: &str, yaml: &str, files: &[(&str, &str, bool)]) -> PathBuf {
        let dir = self.path(rel);
        write(&dir.join("plugin.yaml"), yaml, false);
        for (p, content, exec) in files {
            write(&dir.join(p), content, *exec);
        }
        dir
    }

    /// What a user would compare to know the home did not change: every file outside .git with
    /// its mode and content, HEAD, and `git status`.
    pub fn snapshot(&self) -> Snapshot {
        let mut files = BTreeMap::new();
        walk(&self.atk_home, &mut files);
        Snapshot {
            files,
            head: self.git(&["rev-parse", "HEAD"]),
            status: self.git(&["status", "--porcelain", "--untracked-files=all"]),
        }
    }
}

#[derive(Debug, PartialEq)]
pub struct Snapshot {
    files: BTreeMap<String, (u32, Vec<u8>)>,
    head: String,
    status: String,
}

/// Every path under `root` but its `.git`, as [`walk`] lists it: what a user would compare to know
/// a folder is byte for byte as it was.
pub fn tree(root: &Path) -> BTreeMap<String, (u32, Vec<u8>)> {
    let mut out = BTreeMap::new();
    walk(root, &mut out);
    out
}

/// Every path under `root` but its `.git`: folders as `rel/` with their mode, links with their
/// target, files with their mode and content (FIFOs, sockets and devices with their mode).
fn walk(root: &Path, out: &mut BTreeMap<String, (u32, Vec<u8>)>) {
    let git = root.join(".git");
    for e in walkdir::WalkDir::new(root).min_depth(1).into_iter().filter_entry(|e| e.path() != git) {
        let e = e.unwrap();
        let p = e.path();
        let rel = p.strip_prefix(root).unwrap().to_string_lossy().to_string();
        let md = e.metadata().unwrap();
        if md.is_dir() {
            out.insert(format!("{rel}/"), (md.permissions().mode(), vec![]));
        } else if md.is_symlink() {
            out.insert(rel, (0o120000, std::fs::read_link(p).unwrap().to_string_lossy().as_bytes().to_vec()));
        } else if !md.is_file() {
            out.insert(rel, (md.permissions().mode(), vec![]));
        } else {
            out.insert(rel, (md.permissions().mode(), std::fs::read(p).unwrap()));
        }
    }
}

/// A clone of `env`'s home on a "new laptop": its own HOME, an empty cache, no plugin files
/// beyond the tracked ones, no `.env` (through a bare copy, made once per `env`).
pub fn clone_home(env: &Env) -> Env {
    let remote = env.path("home.git");
    if !remote.exists() {
        git(env.dir.path(), &["clone", "-q", "--bare", env.atk_home.to_str().unwrap(), remote.to_str().unwrap()]);
    }
    let other = Env::bare();
    git(other.dir.path(), &["clone", "-q", remote.to_str().unwrap(), other.atk_home.to_str().unwrap()]);
    other
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    git_dated(dir, args, None)
}

/// `git` in `dir`, hermetic: no system or global config, no inherited `GIT_*` variable, `HOME`
/// the folder itself, a fixed identity; stdin empty, stdout and stderr piped. Every git a test
/// runs outside atk is built here.
pub fn git_command(dir: &Path) -> Command {
    let mut c = Command::new("git");
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("GIT_") {
            c.env_remove(k);
        }
    }
    c.current_dir(dir)
        .env_remove("XDG_CONFIG_HOME")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("HOME", dir)
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.invalid")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// `git args…` in `dir` ([`git_command`]); with `date`, what it commits is dated then
/// (`2025-03-01T09:00:00+00:00`). Fails the test when git fails; its stdout.
pub fn git_dated(dir: &Path, args: &[&str], date: Option<&str>) -> String {
    let mut c = git_command(dir);
    c.args(args);
    if let Some(date) = date {
        c.env("GIT_AUTHOR_DATE", date).env("GIT_COMMITTER_DATE", date);
    }
    let out = wait_with_timeout(c.spawn().unwrap(), RUN_TIMEOUT);
    assert!(out.status.success(), "git {args:?} in {}: {}", dir.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// `git args…` in `dir` ([`git_command`]) with `input` on its standard input. Fails the test when
/// git fails; its stdout, trimmed.
pub fn git_input(dir: &Path, args: &[&str], input: &[u8]) -> String {
    let mut c = git_command(dir);
    let mut child = c.args(args).stdin(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &input));
    let out = wait_with_timeout(child, RUN_TIMEOUT);
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "git {args:?} in {}: {}", dir.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

pub fn write(path: &Path, content: &str, executable: bool) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
    if executable {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in walkdir::WalkDir::new(from).min_depth(1) {
        let e = e.unwrap();
        let (s, d) = (e.path(), to.join(e.path().strip_prefix(from).unwrap()));
        let ft = e.file_type();
        if ft.is_dir() {
            std::fs::create_dir_all(&d).unwrap();
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(s).unwrap(), &d).unwrap();
        } else {
            std::fs::copy(s, &d).unwrap();
        }
    }
}

pub fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A minimal valid plugin.yaml with `name` and extra YAML appended.
pub fn yaml(name: &str, extra: &str) -> String {
    format!("schema_version: '2026-01-23'\nname: {name}\ndescription: test plugin {name}\nmaturity: verified\n{extra}")
}

/// Waits for `child` at most `secs` seconds (killing it and failing the test past that), with its
/// piped output collected meanwhile so that a full pipe cannot stall it.
pub fn wait_with_timeout(mut child: std::process::Child, secs: u64) -> std::process::Output {
    use std::io::Read;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("a child process did not finish within {secs}s");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    std::process::Output { status, stdout: out.join().unwrap(), stderr: err.join().unwrap() }
}

/// A process that is killed if the test ends (or fails) before it did.
pub struct Running(pub Option<std::process::Child>);

impl Running {
    pub fn id(&self) -> u32 {
        self.0.as_ref().expect("still running").id()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Removes a file, a link or a folder (links are removed, not followed).
pub fn remove_any(p: &Path) {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p).unwrap(),
        Ok(_) => std::fs::remove_file(p).unwrap(),
        Err(_) => {}
    }
}

/// atk-cli 0.4.0's template: the secret block last, under its own header.
pub const TEMPLATE_GITIGNORE: &str = "# Ignore all plugin contents\nplugins/*/*\n\n# But keep custom directories\n!plugins/*/custom/\n!plugins/*/custom/**\n\n# Update check cache\n.update-cache.yaml\n\n# Local development\n.DS_Store\n\n# Always ignore secrets — keep LAST (gitignore is last-match-wins)\n*.env\n.env.*\n";

/// A TCP port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Whether something listens on 127.0.0.1:`port`.
pub fn listening(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(500)).is_ok()
}

/// What a user compares to know two homes are the same, whatever commits they are at: every file
/// outside `.git` with its mode and content, the manifest, and `git status`.
pub fn state(env: &Env) -> (BTreeMap<String, (u32, Vec<u8>)>, String) {
    let mut files = BTreeMap::new();
    let git = env.atk_home.join(".git");
    for e in walkdir::WalkDir::new(&env.atk_home).min_depth(1).into_iter().filter_entry(|e| e.path() != git) {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(&env.atk_home).unwrap().to_string_lossy().to_string();
        let md = std::fs::symlink_metadata(e.path()).unwrap();
        let content = if md.is_file() { std::fs::read(e.path()).unwrap() } else { vec![] };
        files.insert(rel, (md.permissions().mode(), content));
    }
    (files, env.git(&["status", "--porcelain", "--untracked-files=all"]))
}

/// Starts atk armed to stop for good at `failpoint`; returns once it is there (what atk said on
/// stderr is shown when it ends before).
pub fn stop_at(env: &Env, failpoint: &str, args: &[&str]) -> Running {
    stop_command_at(env.std_cmd(), env, failpoint, args)
}

/// [`stop_at`] with atk's command as the caller prepared it (its environment, its PATH).
pub fn stop_command_at(mut atk: Command, env: &Env, failpoint: &str, args: &[&str]) -> Running {
    let ready = env.path(&format!("{}.ready", failpoint.replace('#', "-")));
    let _ = std::fs::remove_file(&ready);
    let mut child = atk
        .args(args)
        .env("ATK_FAILPOINT", failpoint)
        .env("ATK_FAILPOINT_READY", &ready)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !ready.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            panic!("atk {args:?} ended ({status}) before the failpoint {failpoint}:\n{err}");
        }
        assert!(start.elapsed() < Duration::from_secs(60), "atk never reached the failpoint {failpoint}");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::remove_file(&ready).unwrap();
    Running(Some(child))
}

/// Kills atk with SIGKILL and checks that it died of it.
pub fn kill_9(mut running: Running) {
    let mut child = running.0.take().unwrap();
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "{status}");
}

/// What changes from run to run, replaced: the test folder, commit ids, times, ports.
pub fn normalize_json(v: &mut serde_json::Value, tmp: &str, ports: &[u16]) {
    match v {
        serde_json::Value::String(s) => {
            let mut r = s.replace(tmp, "[TMP]");
            for p in ports {
                r = r.replace(&p.to_string(), "[PORT]");
            }
            *s = if r.len() == 40 && r.chars().all(|c| c.is_ascii_hexdigit()) { "[COMMIT]".into() } else { r };
        }
        serde_json::Value::Number(n) if ports.iter().any(|p| n.as_u64() == Some(u64::from(*p))) => {
            *v = serde_json::Value::String("[PORT]".into());
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(|x| normalize_json(x, tmp, ports)),
        serde_json::Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                if k == "time" {
                    *x = serde_json::Value::String("[TIME]".into());
                } else {
                    normalize_json(x, tmp, ports);
                }
            }
        }
        _ => {}
    }
}

/// The `--json` document of `atk args…` (which must exit with `code`), normalized.
pub fn json_doc(env: &Env, args: &[&str], code: i32, ports: &[u16]) -> serde_json::Value {
    let out = env.cmd().args(args).arg("--json").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    let mut v: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    normalize_json(&mut v, &env.dir.path().to_string_lossy(), ports);
    v
}

/// Types `line` at a prompt that reads without echo (a secret), and returns what the terminal
/// showed meanwhile. The program turns the terminal's echo off after it printed the prompt, and
/// that switch throws away what was typed before it (`TCSAFLUSH`, as every password prompt does):
/// so this waits until echo is off, types, and waits for the prompt's `[hidden]` report; when that
/// does not come, the answer was thrown away, and it is typed again (a line typed twice is thrown
/// away by the next switch, which comes before any other prompt reads).
pub fn send_secret(p: &mut rexpect::session::PtySession, line: &str) -> String {
    let pty = p.process().get_file_handle().unwrap();
    let echo = || rustix::termios::tcgetattr(&pty).unwrap().local_modes.contains(rustix::termios::LocalModes::ECHO);
    let mut shown = String::new();
    for _ in 0..5 {
        let start = Instant::now();
        while echo() {
            assert!(start.elapsed() < Duration::from_secs(20), "the prompt never turned the terminal's echo off");
            std::thread::sleep(Duration::from_millis(5));
        }
        p.send_line(line).unwrap();
        let sent = Instant::now();
        while sent.elapsed() < Duration::from_secs(3) {
            match p.try_read() {
                Some(c) => {
                    shown.push(c);
                    if shown.ends_with("[hidden]") {
                        return shown;
                    }
                }
                None => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    }
    panic!("the prompt never took the answer; the terminal showed: {shown}");
}

/// How long a run of [`run_bounded`] may take, in seconds: past it, the test fails (a hang is what
/// such a run tests against).
pub const BOUND: u64 = 20;

/// Runs `c` with its stdout and stderr piped, for at most `secs` seconds (past that it is killed
/// and the test fails); its output and how long it ran.
pub fn run_timed(mut c: Command, secs: u64) -> (std::process::Output, Duration) {
    let started = Instant::now();
    let out = wait_with_timeout(c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap(), secs);
    (out, started.elapsed())
}

/// Runs atk (stdin empty) bounded by [`BOUND`]; its exit code, and its stdout and stderr together.
pub fn run_bounded(env: &Env, args: &[&str]) -> (Option<i32>, String) {
    let mut c = env.std_cmd();
    c.args(args).stdin(Stdio::null());
    let (out, _) = run_timed(c, BOUND);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code(), text)
}

/// stdout and stderr of a run, each as text.
pub fn texts(out: &std::process::Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string())
}

/// Turns `auto_push` on in the home of `env` (committed), with `url` as its `origin`.
pub fn turn_on_auto_push(env: &Env, url: &str) {
    let m = env.manifest().replace("auto_push: false", "auto_push: true");
    write(&env.atk_home.join("manifest.yaml"), &m, false);
    env.git(&["commit", "-qam", "turn on auto_push"]);
    env.git(&["remote", "add", "origin", url]);
}

/// Hands `path` to the user `atk_as_user` runs as (`nobody`, when the tests run as root).
pub fn give_to_user(path: &std::path::Path) {
    if rustix::process::geteuid().is_root() {
        let status = std::process::Command::new("chown").args(["-R", "65534:65534"]).arg(path).status().unwrap();
        assert!(status.success(), "chown {}", path.display());
    }
}

/// `atk args` as the user `nobody` when the tests run as root (root may delete anything, so a
/// read-only folder stops no rollback of root's), else as the user running the tests.
pub fn atk_as_user(env: &Env, args: &[&str]) -> std::process::Command {
    let mut c = if rustix::process::geteuid().is_root() {
        // The binary may sit in a folder only root can enter (a checkout under /root): the user
        // runs a link to it (or a copy) inside the test's own folder.
        let own = env.path("atk-bin");
        if !own.exists() && std::fs::hard_link(bin(), &own).is_err() {
            std::fs::copy(bin(), &own).unwrap();
        }
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]).arg(own);
        c
    } else {
        std::process::Command::new(bin())
    };
    env.apply(&mut c);
    c.args(args);
    c
}

/// [`atk_as_user`] with its standard input empty.
pub fn atk_as_user_no_stdin(env: &Env, args: &[&str]) -> Command {
    let mut c = atk_as_user(env, args);
    c.stdin(Stdio::null());
    c
}

/// Runs [`atk_as_user_no_stdin`] to its end, bounded by [`RUN_TIMEOUT`].
pub fn run_as_user(env: &Env, args: &[&str]) -> std::process::Output {
    run_timed(atk_as_user_no_stdin(env, args), RUN_TIMEOUT).0
}

/// stdout and stderr of a run, one after the other.
pub fn both(out: &std::process::Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Waits (30 s at most) until `path` exists.
pub fn wait_for(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(start.elapsed() < Duration::from_secs(30), "timed out waiting for {}", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `atk args` run as `sh -c 'ulimit -v KB; exec atk …'` (atk and what it runs may map at most `kb`
/// KiB), its output piped.
pub fn limited(env: &Env, kb: u64, args: &[&str]) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c").arg(format!("ulimit -v {kb} && exec \"$0\" \"$@\"")).arg(bin()).args(args);
    env.apply(&mut c);
    c.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    c
}

pub use rustix::process::Signal;

/// Sends `sig` to the process `pid`.
pub fn signal(pid: u32, sig: Signal) -> std::io::Result<()> {
    let pid = rustix::process::Pid::from_raw(pid as i32).expect("a process id");
    Ok(rustix::process::kill_process(pid, sig)?)
}

/// Sends `sig` to every process of the process group `pgid`.
pub fn signal_group(pgid: u32, sig: Signal) -> std::io::Result<()> {
    let pgid = rustix::process::Pid::from_raw(pgid as i32).expect("a process group id");
    Ok(rustix::process::kill_process_group(pgid, sig)?)
}

/// The process group of `pid`, from /proc (`None` once it is gone).
pub fn pgrp_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.split_whitespace().nth(2)?.parse().ok()
}

/// A process group that is killed (SIGKILL) when this is dropped: what a test started that could
/// outlive it, ended whether the test passes or fails.
pub struct GroupGuard(pub Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0.take() {
            let _ = signal_group(pgid, Signal::KILL);
        }
    }
}

/// Waits (30 s at most) until the process `pid` holds `path` open: a lock file it is about to wait
/// for, say.
pub fn wait_until_open(pid: u32, path: &Path) {
    let path = std::fs::canonicalize(path).unwrap();
    let start = Instant::now();
    loop {
        let open = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|p| p == path));
        if open {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "process {pid} never opened {}", path.display());
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `PATH` with `dir` first, then the test's own.
pub fn path_with(dir: &Path) -> String {
    format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default())
}

impl Env {
    /// Gives the user a git identity (`user.name` and `user.email` in `$HOME/.gitconfig`).
    pub fn set_identity(&self, name: &str, email: &str) {
        write(&self.home.join(".gitconfig"), &format!("[user]\n\tname = {name}\n\temail = {email}\n"), false);
    }
}

// ---------------------------------------------------------------------------------------------
// Secrets: values that must never be printed, and the ways they could be.

/// A GitHub token, as a user's `GITHUB_TOKEN` holds one.
pub const GH: &str = "ghp_Zq8vRt3WmX0pLk7Yd2Nf";

/// Every way `v` may be written by a program or by atk: raw, JSON, shell-quoted (single quotes
/// with `'\''`, double quotes with backslashes, backslashes alone), URL-encoded (upper and
/// lower hex, `+` for a space).
pub fn encodings(v: &str) -> Vec<String> {
    let json = serde_json::to_string(v).unwrap();
    let json = json[1..json.len() - 1].to_string();
    let single = v.replace('\'', "'\\''");
    let double: String =
        v.chars().map(|c| if "\\\"$`".contains(c) { format!("\\{c}") } else { c.to_string() }).collect();
    let backslashed: String =
        v.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_string() } else { format!("\\{c}") }).collect();
    let pct = |upper: bool, plus: bool| -> String {
        v.bytes()
            .map(|b| match b {
                b' ' if plus => "+".to_string(),
                b if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) => (b as char).to_string(),
                b if upper => format!("%{b:02X}"),
                b => format!("%{b:02x}"),
            })
            .collect()
    };
    let mut out =
        vec![v.to_string(), json, single, double, backslashed, pct(true, false), pct(false, false), pct(true, true)];
    out.sort();
    out.dedup();
    out
}

/// Fails when `text` holds any of `values`, any encoding of one ([`encodings`]), or any four
/// characters of one (of each line on its own, for a multi-line value; the armour lines of a key,
/// `-----BEGIN …`, are not secret).
pub fn assert_clean(what: &str, text: &str, values: &[&str]) {
    for v in values {
        for e in encodings(v) {
            assert!(!text.contains(&e), "{what} shows {e:?} (a spelling of {v:?}):\n{text}");
        }
        for part in v.split('\n').filter(|p| !p.starts_with("-----")) {
            let chars: Vec<char> = part.chars().collect();
            for w in chars.windows(4) {
                let w: String = w.iter().collect();
                assert!(!text.contains(&w), "{what} shows {w:?} of {v:?}:\n{text}");
            }
        }
    }
}

/// `atk args` with `vars` in its environment (the user's own secrets, say) and, when given, `path`
/// as its PATH.
pub fn atk_with(env: &Env, vars: &[(&str, &str)], path: Option<&str>, args: &[&str]) -> std::process::Output {
    let mut c = env.cmd();
    c.envs(vars.iter().copied()).args(args);
    if let Some(p) = path {
        c.env("PATH", p);
    }
    c.output().unwrap()
}

/// A new home with the plugin `vault` (`body` after the common header, an `mcp.sh` and a README)
/// added with `sets` (`KEY=value`).
pub fn vault(body: &str, sets: &[&str]) -> Env {
    let env = Env::new();
    let src = env.plugin(
        "src/vault",
        &yaml("vault", body),
        &[("mcp.sh", "#!/bin/sh\n", true), ("README.md", "# Vault\n", false)],
    );
    let mut args = vec!["add", src.to_str().unwrap(), "-y"];
    for s in sets {
        args.extend(["--set", s]);
    }
    env.ok(&args);
    env
}
