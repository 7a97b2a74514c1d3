//! What a person sees: the human (non-`--json`) output of the main paths, pinned as transcripts
//! (insta snapshots in `tests/it/snapshots/`): the command, its exit code, its stdout and its
//! stderr. They guard the text byte for byte while the rendering moves around.
//!
//! Every run is made deterministic, as jj's test environment does it:
//! - commit times are fixed: every `atk` and `git` run of a test gets its own `GIT_AUTHOR_DATE` and
//!   `GIT_COMMITTER_DATE` from a clock that advances a minute per run (gix, which makes atk's
//!   commits, reads them as git does), so the commit ids of the sources are the same on every run;
//!   the home's differ (its first commit carries an `Atk-Home-Id:` of its own), and are shown as
//!   `[H1~~~~~]`, `[H2~~~~~]`… (oldest first), as wide as the id they stand for;
//! - the test folder's paths are replaced by placeholders (`[ATK_HOME]`, `[REGISTRY]`, `[TMP]`…),
//!   ports (of five digits) by `[PRT]`, as wide, so that tables keep their columns;
//! - relative times ("3 minutes ago", "just now") depend on today's date: they are replaced by
//!   `[AGO]` (the absolute times next to them are fixed and kept);
//! - there is no terminal, `NO_COLOR` is set: no colors, no progress animation.
//!
//! Review a change with `cargo insta review` (or `INSTA_UPDATE=always` and `git diff`).

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::*;

/// A test environment with a clock and the replacements that make its output the same on every
/// run.
struct World {
    env: Env,
    /// Minutes since the first run of the test.
    minutes: Cell<u32>,
    /// (text, placeholder), the longest text first.
    placeholders: RefCell<Vec<(String, String)>>,
    /// Ports taken by the test (five digits), shown as `[PRT]`.
    ports: RefCell<Vec<u16>>,
}

impl World {
    /// A test folder with an initialized home (its first commit at the clock's first minute).
    fn new() -> World {
        let world = World::bare();
        world.run(&["init"], 0);
        world
    }

    /// A test folder with no home yet.
    fn bare() -> World {
        let env = Env::bare();
        let world = World {
            env,
            minutes: Cell::new(0),
            placeholders: RefCell::new(Vec::new()),
            ports: RefCell::new(Vec::new()),
        };
        world.placeholder(&world.env.atk_home, "[ATK_HOME]");
        world.placeholder(&world.env.home, "[HOME]");
        world.placeholder(&world.env.cache, "[CACHE]");
        world.placeholder(world.env.dir.path(), "[TMP]");
        world
    }

    /// `path` is shown as `name` in the transcripts.
    fn placeholder(&self, path: &Path, name: &str) {
        let mut all = self.placeholders.borrow_mut();
        all.push((path.to_string_lossy().into_owned(), name.to_string()));
        all.sort_by_key(|(text, _)| std::cmp::Reverse(text.len()));
    }

    /// The next minute of the clock, as git and gix read a date (`2025-03-01T09:00:00+00:00`).
    fn tick(&self) -> String {
        let m = self.minutes.get();
        self.minutes.set(m + 1);
        assert!(m < 14 * 60, "the clock ran past the day");
        format!("2025-03-01T{:02}:{:02}:00+00:00", 9 + m / 60, m % 60)
    }

    fn dated(&self, c: &mut Command) {
        let date = self.tick();
        c.env("GIT_AUTHOR_DATE", &date).env("GIT_COMMITTER_DATE", &date);
    }

    /// Runs `atk args…` (stdin empty), asserts its exit code, and returns its transcript.
    fn run(&self, args: &[&str], code: i32) -> String {
        let mut c = self.env.std_cmd();
        self.dated(&mut c);
        c.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let out = wait_with_timeout(c.spawn().unwrap(), RUN_TIMEOUT);
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        // `[EOF]` ends each stream, as in jj's transcripts: a missing last newline shows.
        let text = format!(
            "$ atk {}\n[exit {}]\n----- stdout -----\n{stdout}[EOF]\n----- stderr -----\n{stderr}[EOF]\n",
            args.join(" "),
            out.status.code().map_or_else(|| format!("{:?}", out.status), |c| c.to_string())
        );
        let text = self.normalize(&text);
        assert_eq!(out.status.code(), Some(code), "{text}");
        assert!(!text.contains('\x1b'), "no colors without a terminal:\n{text}");
        text
    }

    /// `git args…` in `dir`, hermetic, dated by the clock.
    fn git(&self, dir: &Path, args: &[&str]) -> String {
        git_dated(dir, args, Some(&self.tick()))
    }

    /// Commits everything in the work tree `work` (a repository is made there first if needed).
    fn commit_all(&self, work: &Path, message: &str) {
        if !work.join(".git").exists() {
            self.git(work, &["init", "-q", "-b", "main"]);
        }
        self.git(work, &["add", "-A"]);
        self.git(work, &["commit", "-qm", message]);
    }

    /// A registry (a git work tree) made from registry-template/, shown as `[REGISTRY]`.
    fn registry(&self) -> PathBuf {
        let work = self.env.path("registry");
        copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("registry-template"), &work);
        self.commit_all(&work, "registry");
        self.placeholder(&work, "[REGISTRY]");
        work
    }

    /// What changes from run to run, replaced: paths of the test folder, the home's commit ids
    /// (its first commit carries an id of its own, `Atk-Home-Id:`) and relative times.
    fn normalize(&self, text: &str) -> String {
        let mut text = text.to_string();
        if self.env.atk_home.join(".git").is_dir() {
            let log = git(&self.env.atk_home, &["log", "--reverse", "--format=%H"]);
            for (n, id) in log.lines().enumerate() {
                // Each as long as the id it stands for, so that tables keep their columns.
                for len in [40usize, 12, 10, 7] {
                    let shown =
                        format!("[H{}{}]", n + 1, "~".repeat(len.saturating_sub(4 + (n + 1).to_string().len())));
                    text = text.replace(&id[..len], &shown);
                }
            }
        }
        for (from, to) in self.placeholders.borrow().iter() {
            text = text.replace(from, to);
        }
        for port in self.ports.borrow().iter() {
            text = replace_number(&text, &port.to_string(), "[PRT]");
        }
        relative_times(&text)
    }
}

/// `number` replaced where it stands alone: not inside a longer word or number (a commit id).
fn replace_number(text: &str, number: &str, with: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(number) {
        let (before, after) = (&rest[..at], &rest[at + number.len()..]);
        let alone = !before.ends_with(|c: char| c.is_ascii_alphanumeric())
            && !after.starts_with(|c: char| c.is_ascii_alphanumeric());
        out.push_str(before);
        out.push_str(if alone { with } else { number });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// `3 minutes ago`, `1 year ago`, `42 seconds ago` and `just now` as `[AGO]`: they depend on the
/// day the test runs.
fn relative_times(text: &str) -> String {
    const UNITS: [&str; 6] = ["second", "minute", "hour", "day", "month", "year"];
    let text = text.replace("just now", "[AGO]");
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find(" ago") {
        let (before, after) = rest.split_at(at);
        // `<digits> <unit>` right before " ago", the digits not part of a longer word.
        let counted = UNITS.iter().find_map(|u| {
            let head = before.strip_suffix(&format!("{u}s")).or_else(|| before.strip_suffix(u))?.strip_suffix(' ')?;
            let digits = head.len() - head.trim_end_matches(|c: char| c.is_ascii_digit()).len();
            let start = head.len() - digits;
            (digits > 0 && !head[..start].ends_with(|c: char| c.is_alphanumeric())).then_some(start)
        });
        match counted {
            Some(start) => {
                out.push_str(&before[..start]);
                out.push_str("[AGO]");
            }
            None => {
                out.push_str(before);
                out.push_str(" ago");
            }
        }
        rest = &after[" ago".len()..];
    }
    out.push_str(rest);
    out
}

#[test]
fn relative_times_are_replaced_and_nothing_else() {
    assert_eq!(
        relative_times("a 3 minutes ago (x) b\n1 year ago\n(just now), (42 seconds ago); two days ago x1 day ago"),
        "a [AGO] (x) b\n[AGO]\n([AGO]), ([AGO]); two days ago x1 day ago"
    );
    assert_eq!(
        replace_number("41234 ✓, :41234/ a41234 412345 41234", "41234", "[PORT]"),
        "[PORT] ✓, :[PORT]/ a41234 412345 [PORT]"
    );
}

/// A git repository at `[SRC]` with its plugin in `.atk/` beside other files.
fn git_source(w: &World) -> PathBuf {
    let work = w.env.path("tool-src");
    write(&work.join("src/main.c"), "int main(void) { return 0; }\n", false);
    write(
        &work.join(".atk/plugin.yaml"),
        &yaml(
            "Echo Tool",
            "env_vars:\n  - name: ECHO_TOKEN\n    secret: true\n  - name: ECHO_MODE\n    default: loud\nlifecycle:\n  install: ./setup.sh\n  uninstall: 'true'\n",
        ),
        false,
    );
    write(&work.join(".atk/setup.sh"), "#!/bin/sh\necho echo-tool installed\n", true);
    write(&work.join(".atk/docs/USAGE.md"), "usage\n", false);
    w.commit_all(&work, "tool");
    w.placeholder(&work, "[SRC]");
    work
}

#[test]
fn add() {
    let w = World::bare();
    insta::assert_snapshot!("init", w.run(&["init"], 0));
    let reg = w.registry();
    let reg = reg.to_str().unwrap();
    insta::assert_snapshot!("add_registry", w.run(&["--registry", reg, "add", "hello", "--set", "HELLO_NAME=Ada"], 0));
    insta::assert_snapshot!("add_registry_mcp", w.run(&["--registry", reg, "add", "notes", "--yes"], 0));
    let src = git_source(&w);
    let url = format!("file://{}", src.display());
    insta::assert_snapshot!("add_git_url", w.run(&["add", &url, "--yes"], 0));
    let minimal = w.env.fixture("minimal");
    insta::assert_snapshot!("add_folder_needs_yes", w.run(&["add", minimal.to_str().unwrap()], 2));
    insta::assert_snapshot!("add_folder", w.run(&["add", minimal.to_str().unwrap(), "--yes"], 0));
    insta::assert_snapshot!("add_again", w.run(&["--registry", reg, "add", "hello"], 5));
    insta::assert_snapshot!("add_missing_variable", {
        let again = w.env.path("again");
        write(
            &again.join("plugin.yaml"),
            &yaml("Needy", "env_vars:\n  - name: NEEDY_KEY\n    required: true\n"),
            false,
        );
        w.run(&["add", again.to_str().unwrap(), "--yes"], 0)
    });
}

/// A registry commit that changes hello (`sources::change_hello`).
fn change_hello(w: &World, reg: &Path) {
    crate::common::sources::change_hello(reg);
    w.commit_all(reg, "hello v2");
}

#[test]
fn upgrade_and_history() {
    let w = World::new();
    let reg = w.registry();
    let r = reg.to_str().unwrap();
    w.run(&["--registry", r, "add", "hello", "--yes", "--set", "HELLO_NAME=Ada"], 0);
    w.run(&["--registry", r, "add", "notes", "--yes"], 0);
    insta::assert_snapshot!("upgrade_up_to_date", w.run(&["--registry", r, "upgrade", "--all"], 0));
    // The user's own changes: a custom/ file (committed), runtime data, and a shipped file edited.
    let dir = w.env.atk_home.join("plugins/hello");
    write(&dir.join("custom/notes.txt"), "my notes\n", false);
    write(&dir.join("runtime/data.db"), "precious runtime data\n", false);
    let install = std::fs::read_to_string(dir.join("install.sh")).unwrap();
    write(&dir.join("install.sh"), &install.replace("set -eu", "set -eu\n# mine"), true);
    w.git(&w.env.atk_home, &["add", "plugins/hello/custom/notes.txt"]);
    w.git(&w.env.atk_home, &["commit", "-qm", "my customization"]);
    change_hello(&w, &reg);
    insta::assert_snapshot!("upgrade_preview", w.run(&["--registry", r, "upgrade", "hello", "--dry-run"], 0));
    insta::assert_snapshot!("upgrade_preview_all", w.run(&["--registry", r, "upgrade", "--all", "--dry-run"], 0));
    insta::assert_snapshot!("upgrade_needs_yes", w.run(&["--registry", r, "upgrade", "hello"], 2));
    insta::assert_snapshot!("upgrade_needs_variable", w.run(&["--registry", r, "upgrade", "hello", "--yes"], 8));
    insta::assert_snapshot!(
        "upgrade",
        w.run(&["--registry", r, "upgrade", "hello", "--yes", "--set", "HELLO_COLOR=red"], 0)
    );
    insta::assert_snapshot!("history", w.run(&["history"], 0));
    insta::assert_snapshot!("history_plugin", w.run(&["history", "hello", "-n", "2"], 0));
    insta::assert_snapshot!("history_nothing", w.run(&["history", "nobody"], 0));
}

/// Serves `HTTP/1.1 200` to every request on a port of its own (a plugin's health endpoint), for
/// as long as the test process lives. The port has five digits, as many as its placeholder
/// `[PRT]`: the columns of `atk status` line up as they do with the real port.
fn health_server() -> u16 {
    let listener = (0..100)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .find(|l| l.local_addr().unwrap().port() >= 10_000)
        .expect("a free port of five digits");
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        // Each connection on a thread of its own: a port probe (or any other connection) that
        // lingers never holds up the health request behind it.
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(30)));
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                if !request.is_empty() {
                    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n");
                }
            });
        }
    });
    port
}

#[test]
fn status() {
    let w = World::new();
    insta::assert_snapshot!("status_empty", w.run(&["status"], 0));
    let reg = w.registry();
    let r = reg.to_str().unwrap();
    w.run(&["--registry", r, "add", "hello", "--yes", "--set", "HELLO_NAME=Ada"], 0);
    w.run(&["--registry", r, "add", "notes", "--yes"], 0);
    // A service that runs (its status command says so), with a port that listens and a health
    // endpoint that answers.
    let port = health_server();
    w.ports.borrow_mut().push(port);
    let web = w.env.plugin(
        "src/web",
        &yaml(
            "Web",
            &format!(
                "ports:\n  - port: {port}\n    description: the page\nlifecycle:\n  status: 'true'\n  health_endpoint: http://127.0.0.1:{port}/health\n"
            ),
        ),
        &[],
    );
    w.run(&["add", web.to_str().unwrap(), "--yes"], 0);
    // A plugin whose required variable has no value, made by a community.
    let needy = w.env.plugin(
        "src/needy",
        &yaml(
            "Needy",
            "env_vars:\n  - name: NEEDY_KEY\n    required: true\n  - name: NEEDY_OPT\nlifecycle:\n  status: 'false'\n",
        )
        .replace("maturity: verified", "maturity: community"),
        &[],
    );
    w.run(&["add", needy.to_str().unwrap(), "--yes", "--set", "NEEDY_KEY=x"], 0);
    std::fs::write(w.env.atk_home.join("plugins/needy/.env"), "NEEDY_KEY=\n").unwrap();
    insta::assert_snapshot!("status_stopped", w.run(&["status"], 0));
    insta::assert_snapshot!("start_hello", w.run(&["start", "hello"], 0));
    insta::assert_snapshot!("status_running", w.run(&["status"], 0));
    insta::assert_snapshot!("status_one", w.run(&["status", "web"], 0));
    // A fresh clone: a plugin in the manifest but not on this machine, and an uncommitted change.
    std::fs::remove_dir_all(w.env.atk_home.join("plugins/notes")).unwrap();
    write(&w.env.atk_home.join("plugins/hello/custom/mine.txt"), "mine\n", false);
    insta::assert_snapshot!("status_problems", w.run(&["status"], 0));
    w.run(&["stop", "hello"], 0);
}

#[test]
fn doctor() {
    let w = World::new();
    w.env.set_identity("Ada Lovelace", "ada@example.invalid");
    let reg = w.registry();
    let r = reg.to_str().unwrap();
    w.run(&["--registry", r, "add", "hello", "--yes", "--set", "HELLO_NAME=Ada"], 0);
    insta::assert_snapshot!("doctor_healthy", w.run(&["--registry", r, "doctor"], 0));
    // The user changed a shipped file and removed another; a stray folder; no identity.
    let dir = w.env.atk_home.join("plugins/hello");
    write(&dir.join("README.md"), "my own words\n", false);
    std::fs::remove_file(dir.join("start.sh")).unwrap();
    write(&w.env.atk_home.join("plugins/stray/file.txt"), "left behind\n", false);
    std::fs::remove_file(w.env.home.join(".gitconfig")).unwrap();
    insta::assert_snapshot!("doctor_problems", w.run(&["--registry", r, "doctor"], 1));
    insta::assert_snapshot!("doctor_fix", w.run(&["--registry", r, "doctor", "--fix", "--yes"], 0));
}
