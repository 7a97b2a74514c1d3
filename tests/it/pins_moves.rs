//! Issue 20 ("pin what runs"), the half that moves a lock: `upgrade` (with and without a commit
//! move), `rollback` and `undo` (the lock goes with the pin), `install` on a new laptop and on a
//! manifest that lost its `lock:` (atk-cli 0.4.0 drops it), `doctor`, and the reports (`status`,
//! `help`). Real binary, real git repositories, npm and PyPI registries on 127.0.0.1
//! (`common::registries`), and stub `npx`/`uvx` on PATH that record the words `atk exec` ran.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::common::lab::{echo_source, mcp};
use crate::common::registries::*;
use crate::common::sources::{commit_all, head};
use crate::common::*;

/// The registries, the stub launchers and the client configuration every atk run of a test gets.
struct World {
    reg: Registries,
    /// `npx` and `uvx` that append their arguments (one run a line) to `<stubs>/<name>.log`.
    stubs: PathBuf,
    npmrc: PathBuf,
    docker: PathBuf,
}

impl World {
    fn start(env: &Env) -> World {
        let reg = Registries::start(&env.path("registries"));
        let stubs = env.path("stubs");
        for name in ["npx", "uvx"] {
            let log = stubs.join(format!("{name}.log"));
            write(&stubs.join(name), &format!("#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\n", log.display()), true);
        }
        let npmrc = env.path("npmrc");
        write(&npmrc, "", false);
        let docker = env.path("docker-config");
        std::fs::create_dir_all(&docker).unwrap();
        World { reg, stubs, npmrc, docker }
    }

    /// `atk args…` in `env`, pointed at the registries, with the stubs first on PATH.
    fn cmd(&self, env: &Env, args: &[&str]) -> assert_cmd::Command {
        let mut c = env.cmd();
        c.env("npm_config_registry", self.reg.npm_url())
            .env("UV_DEFAULT_INDEX", self.reg.pypi_url())
            .env("NPM_CONFIG_USERCONFIG", &self.npmrc)
            .env("DOCKER_CONFIG", &self.docker)
            .env("PATH", path_with(&self.stubs))
            .args(args)
            .write_stdin("");
        c
    }

    /// Runs atk; (exit code, stdout, stderr).
    fn run(&self, env: &Env, args: &[&str]) -> (Option<i32>, String, String) {
        let out = self.cmd(env, args).output().unwrap();
        let (o, e) = texts(&out);
        (out.status.code(), o, e)
    }

    /// Runs atk, asserts exit 0; stdout and stderr together.
    fn ok(&self, env: &Env, args: &[&str]) -> String {
        let (code, o, e) = self.run(env, args);
        assert_eq!(code, Some(0), "atk {args:?}\nstdout:\n{o}\nstderr:\n{e}");
        format!("{o}{e}")
    }

    /// Runs atk, asserts exit 0; stdout alone.
    fn ok_stdout(&self, env: &Env, args: &[&str]) -> String {
        let (code, o, e) = self.run(env, args);
        assert_eq!(code, Some(0), "atk {args:?}\nstdout:\n{o}\nstderr:\n{e}");
        o
    }

    /// Runs atk, asserts the exit code; (stdout, stderr).
    fn fails(&self, env: &Env, code: i32, args: &[&str]) -> (String, String) {
        let (got, o, e) = self.run(env, args);
        assert_eq!(got, Some(code), "atk {args:?}\nstdout:\n{o}\nstderr:\n{e}");
        (o, e)
    }

    /// The arguments `atk exec dir` gave the launcher `stub` (`npx`, `uvx`).
    fn exec_argv(&self, env: &Env, dir: &str, stub: &str) -> String {
        let log = self.stubs.join(format!("{stub}.log"));
        let _ = std::fs::remove_file(&log);
        self.ok(env, &["exec", dir]);
        let text = std::fs::read_to_string(&log).unwrap_or_else(|_| panic!("`atk exec {dir}` never ran {stub}"));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{stub} ran once: {text}");
        lines[0].to_string()
    }

    /// The registry requests for npm or PyPI packages.
    fn package_requests(&self) -> Vec<String> {
        self.reg.requests().into_iter().filter(|l| l.contains("/npm/") || l.contains("/pypi/")).collect()
    }
}

/// A new commit of the echo source that changes no command (no confirmation needed); its id.
fn echo_v2(work: &Path) -> String {
    write(&work.join(".atk/NOTES.md"), "v2\n", false);
    commit_all(work, "echo v2")
}

/// A home with `echo` added from its git source while the npm registry had `@t/echo` 1.0.0 only
/// (published 10 days ago): (env, world, source work tree, first commit).
fn echo_home() -> (Env, World, PathBuf, String) {
    let env = Env::new();
    let w = World::start(&env);
    w.reg.npm("@t/echo", &[("1.0.0", &days_ago(10.0), true)], None);
    let (work, url) = echo_source(&env);
    let out = w.ok(&env, &["add", "-y", &url]);
    assert!(out.contains("npm @t/echo pinned to 1.0.0"), "{out}");
    let c1 = head(&work);
    (env, w, work, c1)
}

/// The version the manifest locks for `spec` of plugin `dir` (None: no pin).
fn locked_version(env: &Env, dir: &str, spec: &str) -> Option<String> {
    let m: manifest_view::Manifest = manifest_view::parse(&env.manifest());
    m.plugins
        .into_iter()
        .find(|p| p.directory == dir)
        .and_then(|p| p.lock.into_iter().find(|l| l.spec == spec))
        .map(|l| l.version)
}

/// The manifest's pin (`source.ref`) of `dir`.
fn pinned_ref(env: &Env, dir: &str) -> String {
    let m: manifest_view::Manifest = manifest_view::parse(&env.manifest());
    m.plugins.into_iter().find(|p| p.directory == dir).and_then(|p| p.git_ref).expect("a pinned plugin")
}

/// The parts of the manifest these tests look at, read as a user would read the YAML file.
mod manifest_view {
    pub struct Pin {
        pub spec: String,
        pub version: String,
    }
    pub struct Plugin {
        pub directory: String,
        pub git_ref: Option<String>,
        pub lock: Vec<Pin>,
    }
    pub struct Manifest {
        pub plugins: Vec<Plugin>,
    }

    pub fn parse(text: &str) -> Manifest {
        let v: serde_json::Value = yaml_serde::from_str(text).expect("the manifest is YAML");
        let plugins = v["plugins"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|p| Plugin {
                directory: p["directory"].as_str().unwrap_or_default().to_string(),
                git_ref: p["source"]["ref"].as_str().map(String::from),
                lock: p["lock"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|l| Pin {
                        spec: l["spec"].as_str().unwrap_or_default().to_string(),
                        version: l["version"].as_str().unwrap_or_default().to_string(),
                    })
                    .collect(),
            })
            .collect();
        Manifest { plugins }
    }
}

/// The day a release published at `published_ms` (ms since the epoch) may be chosen, with the
/// default 3-day cooldown, as atk writes it (`Dec 7`, with the year when it is not this one).
fn eligible_day(published_ms: i128) -> String {
    let iso = iso_millis(published_ms + 3 * 86_400_000);
    let now = iso_millis(now_ms());
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        [iso[5..7].parse::<usize>().unwrap() - 1];
    let day: u32 = iso[8..10].parse().unwrap();
    if iso[..4] == now[..4] {
        format!("{month} {day}")
    } else {
        format!("{month} {day} {}", &iso[..4])
    }
}

fn now_ms() -> i128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i128
}

/// The last commit's message body (its trailers).
fn last_body(env: &Env) -> String {
    env.git(&["log", "-1", "--format=%b"])
}

// ---------------------------------------------------------------------------------------------

/// 1. The preview of an upgrade that moves both the plugin's commit and what it runs: the commit
///    move, the package move to the newest release past the cooldown, the newer one held back and
///    until when; the same in `--json`; nothing changes.
#[test]
fn upgrade_dry_run_shows_the_commit_and_package_moves_and_what_is_held_back() {
    let (env, w, work, c1) = echo_home();
    w.reg.npm_publish("@t/echo", "1.1.0", &days_ago(5.0));
    let young = now_ms() - 86_400_000;
    w.reg.npm_publish("@t/echo", "1.2.0", &iso_millis(young));
    let c2 = echo_v2(&work);
    let before = env.snapshot();

    let out = w.ok(&env, &["upgrade", "echo", "--dry-run"]);
    for needle in [
        format!("echo {} → {}", &c1[..12], &c2[..12]),
        "~ NOTES.md".to_string(),
        "npm @t/echo 1.0.0 → 1.1.0".to_string(),
        format!("@t/echo 1.2.0 held back until {} (published 1 day ago)", eligible_day(young)),
    ] {
        assert!(out.contains(&needle), "{needle:?} missing:\n{out}");
    }
    assert!(!out.contains("→ 1.2.0"), "{out}");
    assert_eq!(env.snapshot(), before);

    let doc: serde_json::Value = serde_json::from_str(&w.ok_stdout(&env, &["upgrade", "echo", "--dry-run", "--json"]))
        .expect("one JSON document");
    let p = &doc["plugins"][0];
    assert_eq!(p["status"], "would-upgrade", "{doc}");
    assert_eq!(
        p["packages"],
        serde_json::json!([{"kind": "npm", "spec": "@t/echo", "from": "1.0.0", "to": "1.1.0"}]),
        "{doc}"
    );
    assert_eq!(p["held"].as_array().map(Vec::len), Some(1), "{doc}");
    assert_eq!(p["held"][0]["spec"], "@t/echo");
    assert_eq!(p["held"][0]["version"], "1.2.0");
    assert!(p["held"][0]["eligible"]
        .as_str()
        .is_some_and(|s| s.starts_with(&iso_millis(young + 3 * 86_400_000)[..10])));
    assert_eq!(env.snapshot(), before, "a dry run changes nothing");
    assert_eq!(locked_version(&env, "echo", "@t/echo").as_deref(), Some("1.0.0"));
}

/// 2. The plugin's commit is unchanged but a newer release is past the cooldown: the lock moves in
///    one commit of its own, exec runs the new version; a second `upgrade --all` has nothing to do.
#[test]
fn upgrade_moves_the_lock_alone_when_the_commit_does_not_move() {
    let (env, w, _work, c1) = echo_home();
    assert_eq!(w.exec_argv(&env, "echo", "npx"), "-y @t/echo@1.0.0");
    w.reg.npm_publish("@t/echo", "1.1.0", &days_ago(5.0));
    let commits = env.log().len();

    let out = w.ok(&env, &["upgrade", "echo"]);
    assert!(out.contains("npm @t/echo 1.0.0 → 1.1.0"), "{out}");
    assert!(out.contains("Upgraded what 'echo' runs"), "{out}");
    assert_eq!(env.log().len(), commits + 1, "one commit");
    assert_eq!(env.log()[0], "Lock what 'echo' runs");
    let body = last_body(&env);
    assert!(body.contains("Atk-Operation: lock") && body.contains("Atk-Plugin: echo"), "{body}");
    assert_eq!(env.git(&["show", "--name-only", "--format=", "HEAD"]).trim(), "manifest.yaml");
    assert_eq!(pinned_ref(&env, "echo"), c1, "the commit did not move");
    assert_eq!(locked_version(&env, "echo", "@t/echo").as_deref(), Some("1.1.0"));
    assert!(env.manifest().contains(&w.reg.npm_integrity("@t/echo", "1.1.0")), "{}", env.manifest());
    assert_eq!(env.git(&["status", "--porcelain"]), "");
    assert_eq!(w.exec_argv(&env, "echo", "npx"), "-y @t/echo@1.1.0");

    let before = env.snapshot();
    let out = w.ok(&env, &["upgrade", "--all"]);
    assert!(out.contains("echo: already up to date"), "{out}");
    assert!(out.contains("0 upgraded, 1 up to date, 0 skipped, 0 failed"), "{out}");
    assert_eq!(env.snapshot(), before, "nothing new: no commit, no change");
}

/// 3. A rollback after an upgrade that moved both the commit and the package takes the package back
///    to what the home locked at that pin (from its history, not asked again: the registry would now
///    answer 1.1.0); `undo` moves it forward again with its lock.
#[test]
fn rollback_takes_the_lock_of_the_earlier_pin_and_undo_brings_the_later_one_back() {
    let (env, w, work, c1) = echo_home();
    w.reg.npm_publish("@t/echo", "1.1.0", &days_ago(5.0));
    let c2 = echo_v2(&work);
    let out = w.ok(&env, &["upgrade", "echo"]);
    assert!(out.contains("npm @t/echo 1.0.0 → 1.1.0"), "{out}");
    assert_eq!(env.log()[0], "Upgrade plugin 'echo'");
    assert_eq!((pinned_ref(&env, "echo"), locked_version(&env, "echo", "@t/echo")), (c2.clone(), Some("1.1.0".into())));
    assert_eq!(w.exec_argv(&env, "echo", "npx"), "-y @t/echo@1.1.0");
    let upgraded = env.manifest();

    w.reg.clear_log();
    let out = w.ok(&env, &["rollback", "echo"]);
    assert!(out.contains("npm @t/echo 1.1.0 → 1.0.0"), "{out}");
    assert!(out.contains(&format!("Rolled back 'echo' to {}", &c1[..12])), "{out}");
    assert_eq!(env.log()[0], "Rollback plugin 'echo'");
    assert_eq!((pinned_ref(&env, "echo"), locked_version(&env, "echo", "@t/echo")), (c1.clone(), Some("1.0.0".into())));
    assert!(env.manifest().contains(&w.reg.npm_integrity("@t/echo", "1.0.0")));
    assert_eq!(w.package_requests(), Vec::<String>::new(), "the earlier lock comes from the history");
    assert_eq!(w.exec_argv(&env, "echo", "npx"), "-y @t/echo@1.0.0");

    let out = w.ok(&env, &["undo"]);
    assert!(out.contains("npm @t/echo 1.0.0 → 1.1.0"), "{out}");
    assert_eq!((pinned_ref(&env, "echo"), locked_version(&env, "echo", "@t/echo")), (c2, Some("1.1.0".into())));
    assert_eq!(env.manifest(), upgraded, "the manifest as the upgrade left it");
    assert_eq!(w.exec_argv(&env, "echo", "npx"), "-y @t/echo@1.1.0");
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

/// 4. `undo` of an upgrade that moved only the lock puts the earlier lock back.
#[test]
fn undo_of_a_lock_only_upgrade_puts_the_earlier_lock_back() {
    let (env, w, _work, c1) = echo_home();
    let added = env.manifest();
    w.reg.npm_publish("@t/echo", "1.1.0", &days_ago(5.0));
    w.ok(&env, &["upgrade", "echo"]);
    assert_eq!(env.log()[0], "Lock what 'echo' runs");
    assert_eq!(locked_version(&env, "echo", "@t/echo").as_deref(), Some("1.1.0"));
    let commits = env.log().len();

    let out = w.ok(&env, &["undo"]);
    assert!(out.contains("npm @t/echo 1.1.0 → 1.0.0"), "{out}");
    assert!(out.contains("Put what 'echo' runs back as it was locked before"), "{out}");
    assert_eq!(env.log().len(), commits + 1);
    assert_eq!(env.manifest(), added, "the lock as it was before the upgrade");
    assert_eq!(pinned_ref(&env, "echo"), c1);
    assert_eq!(env.git(&["status", "--porcelain"]), "");
    assert_eq!(w.exec_argv(&env, "echo", "npx"), "-y @t/echo@1.0.0");
}

/// A local plugin `py`, run with `uvx mcp-py`, added to `env`.
fn add_py(env: &Env, w: &World) {
    let src = env.plugin("src/py", &yaml("py", &mcp("uvx", &["mcp-py"])), &[("README.md", "# py\n", false)]);
    let out = w.ok(env, &["add", "-y", src.to_str().unwrap()]);
    assert!(out.contains("pypi mcp-py pinned to 1.0.0"), "{out}");
}

/// 5. A new laptop: the cloned home's `install --all` runs exactly what the lock names, though newer
///    releases past the cooldown were published meanwhile; the registries are not even asked.
#[test]
fn a_cloned_home_runs_exactly_the_locked_versions() {
    let (a, w, _work, _c1) = echo_home();
    w.reg.pypi("mcp-py", &[("1.0.0", &days_ago(10.0), None)]);
    add_py(&a, &w);
    let b = clone_home(&a);

    // Newer releases, all past the cooldown.
    w.reg.npm_publish("@t/echo", "1.1.0", &days_ago(5.0));
    w.reg.pypi_publish("mcp-py", "1.1.0", &days_ago(5.0));
    let manifest = b.manifest();
    let commits = b.log().len();
    w.reg.clear_log();
    let out = w.ok(&b, &["install", "--all"]);
    assert!(out.contains("2 installed, 0 failed"), "{out}");
    assert_eq!(w.reg.requests(), Vec::<String>::new(), "no registry request for plugins whose lock is complete");
    assert_eq!(b.manifest(), manifest);
    assert_eq!(b.log().len(), commits);
    assert_eq!(b.git(&["status", "--porcelain"]), "");
    assert_eq!(w.exec_argv(&b, "echo", "npx"), "-y @t/echo@1.0.0");
    assert_eq!(w.exec_argv(&b, "py", "uvx"), "mcp-py==1.0.0");
}

/// The manifest without the `lock:` of its plugins (as atk-cli 0.4.0 writes it back).
fn without_locks(manifest: &str) -> String {
    let mut out = String::new();
    let mut in_lock = false;
    for line in manifest.lines() {
        if line == "  lock:" {
            in_lock = true;
            continue;
        }
        if in_lock && (line.starts_with("  - ") || line.starts_with("    ")) {
            continue;
        }
        in_lock = false;
        out.push_str(line);
        out.push('\n');
    }
    assert_ne!(out, manifest, "the manifest had a lock");
    assert!(!out.contains("lock:"), "{out}");
    out
}

/// 6. A manifest that lost its `lock:`: `install --frozen` fails the plugin, `--offline` warns and
///    changes nothing, plain `install` locks it (one commit), choosing past the cooldown.
#[test]
fn install_on_a_manifest_without_its_lock_frozen_offline_and_plain() {
    let (env, w, _work, _c1) = echo_home();
    write(&env.atk_home.join("manifest.yaml"), &without_locks(&env.manifest()), false);
    env.git(&["commit", "-qam", "lock removed by hand"]);
    // Newer: one past the cooldown, one not.
    w.reg.npm_publish("@t/echo", "1.1.0", &days_ago(5.0));
    let young = now_ms() - 86_400_000;
    w.reg.npm_publish("@t/echo", "1.2.0", &iso_millis(young));
    let before = env.snapshot();

    let (o, e) = w.fails(&env, 1, &["install", "--all", "--frozen"]);
    assert!(e.contains("--frozen: 'echo' runs @t/echo without a lock"), "{o}{e}");
    assert!(o.contains("0 installed, 1 failed") || e.contains("0 installed, 1 failed"), "{o}{e}");
    assert_eq!(env.snapshot(), before);

    let out = w.ok(&env, &["install", "--all", "--offline"]);
    assert!(out.contains("echo: @t/echo not locked (--offline locks nothing)"), "{out}");
    assert_eq!(env.snapshot(), before, "--offline locks nothing");

    let commits = env.log().len();
    let out = w.ok(&env, &["install", "--all"]);
    assert!(out.contains("npm @t/echo pinned to 1.1.0"), "{out}");
    assert!(out.contains(&format!("@t/echo 1.2.0 held back until {}", eligible_day(young))), "{out}");
    assert_eq!(env.log().len(), commits + 1, "one commit");
    assert_eq!(env.log()[0], "Lock what 'echo' runs");
    assert!(last_body(&env).contains("Atk-Operation: lock"));
    assert_eq!(locked_version(&env, "echo", "@t/echo").as_deref(), Some("1.1.0"));
    assert_eq!(env.git(&["status", "--porcelain"]), "");
    assert_eq!(w.exec_argv(&env, "echo", "npx"), "-y @t/echo@1.1.0");
    // Locked now: a second install changes nothing.
    let locked = env.snapshot();
    w.ok(&env, &["install", "--all", "--frozen"]);
    assert_eq!(env.snapshot(), locked);
}

/// Runs atk-cli 0.4.0 on `env`'s home; asserts exit 0, returns its output.
fn atk_cli(py: &Path, env: &Env, args: &[&str]) -> String {
    let registry = format!("file://{}", env.path("no-registry").display());
    let mut c = crate::common::python::atk_cli_command(py, env, &registry, args);
    c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let out = wait_with_timeout(c.spawn().unwrap(), 120);
    let text = both(&out);
    assert!(out.status.success(), "atk-cli {args:?} failed ({:?}):\n{text}", out.status.code());
    text
}

/// 7. atk-cli 0.4.0 reads a manifest with `lock:`; when it saves the manifest the lock is gone; atk
///    `doctor` then says the plugin runs without a lock and how to fix it, and that fix restores it.
#[test]
#[ignore = "needs the Python test venv (target/pyvenv or ATK_TEST_PYTHON; .ci/run makes it)"]
fn atk_cli_drops_the_lock_and_doctor_and_install_bring_it_back() {
    let py = crate::common::python::python(
        "atk_cli_drops_the_lock_and_doctor_and_install_bring_it_back",
        &["atk.cli", "dotenv"],
    );
    let (env, w, _work, _c1) = echo_home();
    assert!(env.manifest().contains("lock:"));
    let status = atk_cli(&py, &env, &["status"]);
    assert!(status.contains("echo"), "{status}");

    // atk-cli saves the manifest: it adds a plugin of its own.
    atk_cli(&py, &env, &["add", env.fixture("minimal").to_str().unwrap()]);
    let manifest = env.manifest();
    assert!(manifest.contains("minimal"), "{manifest}");
    assert!(!manifest.contains("lock:"), "atk-cli 0.4.0 keeps no lock:\n{manifest}");
    assert_eq!(env.git(&["status", "--porcelain"]), "");

    let out = w.ok(&env, &["doctor"]);
    assert!(out.contains("runs without a lock, whatever its registry serves: @t/echo"), "{out}");
    assert!(out.contains("fix: atk install echo"), "{out}");

    // Meanwhile a newer release came out, too young to be chosen.
    w.reg.npm_publish("@t/echo", "1.2.0", &days_ago(1.0));
    let commits = env.log().len();
    let out = w.ok(&env, &["install", "echo"]);
    assert!(out.contains("npm @t/echo pinned to 1.0.0"), "{out}");
    assert_eq!(env.log().len(), commits + 1);
    assert_eq!(env.log()[0], "Lock what 'echo' runs");
    assert_eq!(locked_version(&env, "echo", "@t/echo").as_deref(), Some("1.0.0"));
    let out = w.ok(&env, &["doctor"]);
    assert!(!out.contains("without a lock"), "{out}");
    // And atk-cli still reads it.
    let status = atk_cli(&py, &env, &["status"]);
    assert!(status.contains("echo") && status.contains("minimal"), "{status}");
}

/// 8. A local plugin whose plugin.yaml was edited by hand to run another package: doctor warns
///    about the reference without a lock and about the pin of what it no longer runs.
#[test]
fn doctor_on_a_hand_edited_plugin_yaml() {
    let env = Env::new();
    let w = World::start(&env);
    w.reg.npm("@t/echo", &[("1.0.0", &days_ago(10.0), true)], None);
    let src = env.plugin("src/loc", &yaml("loc", &mcp("npx", &["-y", "@t/echo"])), &[("README.md", "# loc\n", false)]);
    w.ok(&env, &["add", "-y", src.to_str().unwrap()]);
    assert_eq!(locked_version(&env, "loc", "@t/echo").as_deref(), Some("1.0.0"));
    let out = w.ok(&env, &["doctor"]);
    assert!(!out.contains("without a lock") && !out.contains("no longer runs"), "{out}");

    let p = env.atk_home.join("plugins/loc/plugin.yaml");
    write(&p, &std::fs::read_to_string(&p).unwrap().replace("@t/echo", "@t/other"), false);
    let out = w.ok(&env, &["doctor"]);
    assert!(
        out.contains(
            "runs without a lock, whatever its registry serves: @t/other (its plugin.yaml changed since it was locked)"
        ),
        "{out}"
    );
    assert!(out.contains("its lock names what it no longer runs: npm @t/echo"), "{out}");
    assert!(out.contains("fix: atk install loc; atk upgrade loc"), "{out}");

    // Unlocked, it runs as written, with a warning.
    let log = w.stubs.join("npx.log");
    let (code, _, e) = w.run(&env, &["exec", "loc"]);
    assert_eq!(code, Some(0), "{e}");
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "-y @t/other\n");
    assert!(e.contains("@t/other"), "a warning names the unlocked reference: {e}");
}

/// 9. `status` shows what each plugin runs, `status --json` and `help --json` carry the lock.
#[test]
fn status_and_help_show_the_lock() {
    let (env, w, _work, _c1) = echo_home();
    w.reg.pypi("mcp-py", &[("1.0.0", &days_ago(10.0), None)]);
    add_py(&env, &w);

    let out = w.ok_stdout(&env, &["status"]);
    assert!(out.lines().any(|l| l.trim() == "echo runs @t/echo 1.0.0"), "{out}");
    assert!(out.lines().any(|l| l.trim() == "py runs mcp-py 1.0.0"), "{out}");

    let doc: serde_json::Value = serde_json::from_str(&w.ok_stdout(&env, &["status", "--json"])).unwrap();
    let plugin = |dir: &str| doc["plugins"].as_array().unwrap().iter().find(|p| p["directory"] == dir).unwrap().clone();
    let echo = plugin("echo");
    assert_eq!(echo["lock"].as_array().map(Vec::len), Some(1), "{doc}");
    assert_eq!(echo["lock"][0]["kind"], "npm");
    assert_eq!(echo["lock"][0]["spec"], "@t/echo");
    assert_eq!(echo["lock"][0]["version"], "1.0.0");
    assert_eq!(echo["lock"][0]["integrity"], w.reg.npm_integrity("@t/echo", "1.0.0"));
    let py = plugin("py");
    assert_eq!(py["lock"][0]["kind"], "pypi");
    assert_eq!(py["lock"][0]["version"], "1.0.0");
    assert!(py["lock"][0]["sha256"].as_object().is_some_and(|m| !m.is_empty()), "{doc}");

    let help: serde_json::Value = serde_json::from_str(&w.ok_stdout(&env, &["help", "echo", "--json"])).unwrap();
    assert_eq!(help["lock"], echo["lock"], "{help}");
    let text = w.ok_stdout(&env, &["help", "echo"]);
    assert!(text.lines().any(|l| l.trim_start().starts_with("Runs") && l.ends_with("npm @t/echo 1.0.0")), "{text}");
}

/// 10. A `config.min_release_age` that is not an age: `add` and `upgrade` fail with one line naming
///     the key (exit 1); the home is unchanged.
#[test]
fn a_bogus_min_release_age_fails_add_and_upgrade() {
    let (env, w, _work, _c1) = echo_home();
    let m = env.manifest().replace("config:\n", "config:\n  min_release_age: bogus\n");
    write(&env.atk_home.join("manifest.yaml"), &m, false);
    env.git(&["commit", "-qam", "a bogus cooldown"]);
    w.reg.npm_publish("@t/echo", "1.1.0", &days_ago(5.0));
    let before = env.snapshot();
    let src = env.plugin("src/loc", &yaml("loc", &mcp("npx", &["-y", "@t/echo"])), &[]);

    for args in [vec!["add", "-y", src.to_str().unwrap()], vec!["upgrade", "echo"], vec!["upgrade", "--all"]] {
        let (o, e) = w.fails(&env, 1, &args);
        let lines: Vec<&str> = e.lines().filter(|l| l.contains("min_release_age")).collect();
        assert_eq!(lines.len(), 1, "{args:?}: one line names the key:\n{o}{e}");
        assert!(lines[0].contains("config.min_release_age: \"bogus\" is not an age"), "{args:?}: {e}");
        assert!(lines[0].contains("manifest.yaml"), "{args:?}: the line names the manifest: {e}");
        assert_eq!(env.snapshot(), before, "{args:?}");
    }
}

/// `upgrade --pin` chooses a release the cooldown holds back, and exec runs it.
#[test]
fn upgrade_pin_takes_a_release_the_cooldown_holds_back() {
    let (env, w, _work, _c1) = echo_home();
    w.reg.npm_publish("@t/echo", "1.2.0", &days_ago(1.0));
    let out = w.ok(&env, &["upgrade", "echo"]);
    assert!(out.contains("echo: already up to date"), "held back, nothing to do:\n{out}");
    let out = w.ok(&env, &["upgrade", "echo", "--pin", "@t/echo@1.2.0"]);
    assert!(out.contains("npm @t/echo 1.0.0 → 1.2.0"), "{out}");
    assert_eq!(env.log()[0], "Lock what 'echo' runs");
    assert_eq!(locked_version(&env, "echo", "@t/echo").as_deref(), Some("1.2.0"));
    assert_eq!(w.exec_argv(&env, "echo", "npx"), "-y @t/echo@1.2.0");
}

/// A new commit of the source that runs another package: the old pin goes, the new package is
/// locked, in the upgrade's one commit; doctor finds nothing to say about it.
#[test]
fn an_upgrade_to_a_version_that_runs_another_package_replaces_the_pin() {
    let (env, w, work, _c1) = echo_home();
    w.reg.npm("@t/other", &[("3.0.0", &days_ago(20.0), true)], None);
    write(&work.join(".atk/plugin.yaml"), &yaml("echo", &mcp("npx", &["-y", "@t/other"])), false);
    let c2 = commit_all(&work, "echo runs other");
    let before = env.snapshot();
    let out = w.ok(&env, &["upgrade", "echo", "--dry-run"]);
    assert!(out.contains("npm @t/echo (1.0.0) is no longer run"), "{out}");
    assert!(out.contains("npm @t/other pinned to 3.0.0"), "{out}");
    assert_eq!(env.snapshot(), before);
    let commits = env.log().len();
    w.ok(&env, &["upgrade", "echo"]);
    assert_eq!(env.log().len(), commits + 1);
    assert_eq!(pinned_ref(&env, "echo"), c2);
    assert_eq!(locked_version(&env, "echo", "@t/echo"), None);
    assert_eq!(locked_version(&env, "echo", "@t/other").as_deref(), Some("3.0.0"));
    let out = w.ok(&env, &["doctor"]);
    assert!(!out.contains("without a lock") && !out.contains("no longer runs"), "{out}");
    assert_eq!(w.exec_argv(&env, "echo", "npx"), "-y @t/other@3.0.0");
}

/// `rollback --dry-run` shows the lock going back and changes nothing.
#[test]
fn rollback_dry_run_shows_the_lock_move_and_changes_nothing() {
    let (env, w, work, c1) = echo_home();
    w.reg.npm_publish("@t/echo", "1.1.0", &days_ago(5.0));
    let c2 = echo_v2(&work);
    w.ok(&env, &["upgrade", "echo"]);
    let before = env.snapshot();
    let out = w.ok(&env, &["rollback", "echo", "--dry-run"]);
    assert!(out.contains(&format!("echo {} → {}", &c2[..12], &c1[..12])), "{out}");
    assert!(out.contains("npm @t/echo 1.1.0 → 1.0.0"), "{out}");
    assert_eq!(env.snapshot(), before);
}

/// `undo` of the lock `install` recorded on a manifest without one takes it away again.
#[test]
fn undo_of_the_lock_install_recorded() {
    let (env, w, _work, _c1) = echo_home();
    write(&env.atk_home.join("manifest.yaml"), &without_locks(&env.manifest()), false);
    env.git(&["commit", "-qam", "lock removed by hand"]);
    let unlocked = env.manifest();
    w.ok(&env, &["install", "echo"]);
    assert_eq!(env.log()[0], "Lock what 'echo' runs");
    assert_eq!(locked_version(&env, "echo", "@t/echo").as_deref(), Some("1.0.0"));
    w.ok(&env, &["undo"]);
    assert_eq!(env.manifest(), unlocked);
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

/// A registry that fails while an upgrade moves the commit: the plugin is not moved (its new
/// version cannot be locked), the home is unchanged, and the exit code says why.
#[test]
fn a_failing_registry_stops_the_upgrade_before_anything_changes() {
    let (env, w, work, c1) = echo_home();
    echo_v2(&work);
    w.reg.fail("npm", "*", 500);
    let before = env.snapshot();
    let (code, o, e) = w.run(&env, &["upgrade", "echo"]);
    assert_eq!(code, Some(7), "a registry failure:\n{o}{e}");
    assert_eq!(env.snapshot(), before);
    let (code, o, e) = w.run(&env, &["upgrade", "--all"]);
    assert_eq!(code, Some(1), "one plugin failed:\n{o}{e}");
    assert!(format!("{o}{e}").contains("0 upgraded, 0 up to date, 0 skipped, 1 failed"), "{o}{e}");
    assert_eq!(env.snapshot(), before);
    assert_eq!(pinned_ref(&env, "echo"), c1);
}
