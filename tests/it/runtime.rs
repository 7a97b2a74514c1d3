//! The runtime commands against real processes: plugins whose `start` launches Python's
//! `http.server` on a free port in the background (with a pid file), whose `status` checks that
//! process and whose `health_endpoint` it serves; slow and failing probes, taken ports, a fresh
//! clone, an invalid plugin among valid ones, `run`'s scripts and their containment, a stub
//! `docker` that records its argv, `logs`, Ctrl-C, and the `--json` documents.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::*;

/// A Python 3 interpreter for the test servers (only the standard library is used).
fn python3() -> String {
    std::env::var("ATK_TEST_PYTHON").ok().filter(|p| !p.is_empty()).unwrap_or_else(|| "python3".into())
}

/// Kills the servers the test's plugins started (their pid files), whatever happens to the test.
struct Servers(Vec<PathBuf>);

impl Drop for Servers {
    fn drop(&mut self) {
        for pidfile in &self.0 {
            if let Ok(pid) = std::fs::read_to_string(pidfile) {
                if let Ok(pid) = pid.trim().parse() {
                    let _ = signal(pid, Signal::TERM);
                }
            }
        }
    }
}

fn pid_alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()))
        .is_ok_and(|s| s.split_whitespace().nth(2).is_some_and(|state| state != "Z"))
}

/// A plugin folder `src/<name>` whose `start` serves HTTP on `port` in the background and
/// counts its starts in `starts`, whose `status` checks the pid, and whose `stop` ends it.
/// `extra` is appended to plugin.yaml.
fn web_plugin(env: &Env, name: &str, port: u16, extra: &str) -> PathBuf {
    let py = python3();
    let yaml = yaml(
        name,
        &format!(
            "ports:\n  - port: {port}\n    description: the web page\nlifecycle:\n  start: ./start.sh\n  stop: ./stop.sh\n  status: ./status.sh\n  health_endpoint: http://127.0.0.1:{port}/\n{extra}"
        ),
    );
    let start = format!(
        r#"#!/bin/sh
cd "$ATK_PLUGIN_DIR"
echo started >> starts
nohup {py} -m http.server {port} --bind 127.0.0.1 > server.log 2>&1 < /dev/null &
echo $! > server.pid
i=0
until {py} -c "import socket; socket.create_connection(('127.0.0.1', {port}), 1)" 2>/dev/null; do
  i=$((i + 1)); [ $i -gt 200 ] && exit 1; sleep 0.05
done
"#
    );
    let status = "#!/bin/sh\n[ -f server.pid ] && kill -0 \"$(cat server.pid)\" 2>/dev/null\n";
    let stop = "#!/bin/sh\n[ -f server.pid ] || exit 0\npid=$(cat server.pid)\nkill \"$pid\"\nwhile kill -0 \"$pid\" 2>/dev/null; do sleep 0.05; done\nrm -f server.pid\n";
    env.plugin(
        &format!("src/{name}"),
        &yaml,
        &[("start.sh", &start, true), ("status.sh", status, true), ("stop.sh", stop, true)],
    )
}

fn add(env: &Env, dir: &Path) {
    env.ok(&["add", dir.to_str().unwrap(), "-y"]);
}

fn pidfile(env: &Env, dir: &str) -> PathBuf {
    env.atk_home.join("plugins").join(dir).join("server.pid")
}

fn status_json(env: &Env, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["status", "--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&env.ok(&all)).unwrap()
}

fn row<'a>(doc: &'a serde_json::Value, directory: &str) -> &'a serde_json::Value {
    doc["plugins"].as_array().unwrap().iter().find(|p| p["directory"] == directory).unwrap()
}

#[test]
fn start_status_stop_with_a_real_server() {
    let env = Env::new();
    let port = free_port();
    add(&env, &web_plugin(&env, "web", port, ""));
    let _servers = Servers(vec![pidfile(&env, "web")]);

    let doc = status_json(&env, &[]);
    let web = row(&doc, "web");
    assert_eq!(web["status"], "stopped");
    assert_eq!(web["ports"][0]["listening"], serde_json::Value::Null, "ports are checked only while it runs");
    assert_eq!(web["health"]["result"], serde_json::Value::Null);

    let out = env.ok(&["start", "web"]);
    assert!(out.contains("Started 'web'"), "{out}");
    let doc = status_json(&env, &[]);
    let web = row(&doc, "web");
    assert_eq!(web["status"], "running");
    assert_eq!(web["ports"][0]["listening"], true);
    assert_eq!(web["health"]["result"]["state"], "healthy");
    assert_eq!(web["health"]["result"]["http_status"], 200);

    let table = env.ok(&["status"]);
    assert!(table.contains("web (web)"), "{table}");
    assert!(table.contains("running"), "{table}");
    assert!(table.contains(&format!("{port} ✓")), "{table}");
    assert!(table.contains("healthy (200)"), "{table}");
    assert!(table.contains("Repository:"), "{table}");

    let out = env.ok(&["stop", "web"]);
    assert!(out.contains("Stopped 'web'"), "{out}");
    assert!(!pidfile(&env, "web").exists());
    assert!(!crate::common::listening(port));
    assert_eq!(row(&status_json(&env, &["web"]), "web")["status"], "stopped");
}

#[test]
fn a_taken_port_refuses_start_with_exit_9_naming_the_port() {
    let env = Env::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    add(&env, &web_plugin(&env, "web", port, ""));
    let _servers = Servers(vec![pidfile(&env, "web")]);
    let (_, err) = env.fails(9, &["start", "web"]);
    assert!(err.contains(&format!("port {port}")), "{err}");
    assert!(err.contains("the web page"), "{err}");
    assert!(!env.atk_home.join("plugins/web/starts").exists(), "start ran");
    // Under --all too, before anything starts.
    let (_, err) = env.fails(9, &["start", "--all"]);
    assert!(err.contains(&format!("port {port}")), "{err}");
    assert!(!env.atk_home.join("plugins/web/starts").exists(), "start ran");
}

#[test]
fn start_all_leaves_a_running_plugin_alone_and_goes_on_past_failures() {
    let env = Env::new();
    let (p1, p2) = (free_port(), free_port());
    add(&env, &web_plugin(&env, "one", p1, ""));
    add(&env, &web_plugin(&env, "two", p2, ""));
    let broken = env.plugin("src/broken", &yaml("broken", "lifecycle:\n  start: echo starting; exit 3\n"), &[]);
    add(&env, &broken);
    let bare = env.plugin("src/bare", &yaml("bare", ""), &[]);
    add(&env, &bare);
    let _servers = Servers(vec![pidfile(&env, "one"), pidfile(&env, "two")]);

    env.ok(&["start", "one"]);
    let pid = std::fs::read_to_string(pidfile(&env, "one")).unwrap();
    let out = env.cmd().args(["start", "--all"]).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("Already running: 'one'"), "{stdout}");
    assert!(stdout.contains("Started 'two'"), "{stdout}");
    assert!(stdout.contains("No start command: 'bare'"), "{stdout}");
    assert!(stderr.contains("start of broken"), "{stderr}");
    assert!(stderr.contains("exit code 3"), "{stderr}");
    assert!(stdout.contains("1 started, 1 already running, 1 without the command, 1 failed"), "{stdout}");
    // Nothing was started twice: the first server is the same process, started once.
    assert_eq!(std::fs::read_to_string(pidfile(&env, "one")).unwrap(), pid);
    assert_eq!(std::fs::read_to_string(env.atk_home.join("plugins/one/starts")).unwrap(), "started\n");
    assert!(listening(p1) && listening(p2));

    // A single plugin's failure is exit 6, naming the step and the command's own code.
    let (_, err) = env.fails(6, &["start", "broken"]);
    assert!(err.contains("start of plugin 'broken' failed (exit code 3)"), "{err}");

    // stop --all: reverse manifest order.
    let out = env.ok(&["stop", "--all", "-v"]);
    assert!(out.contains("Stopped 'one'") && out.contains("Stopped 'two'"), "{out}");
    assert!(!listening(p1) && !listening(p2));
}

#[test]
fn stop_all_runs_in_reverse_manifest_order_and_restart_all_stops_everything_first() {
    let env = Env::new();
    let log = env.path("order.log");
    for name in ["first", "second", "third"] {
        let dir = env.plugin(
            &format!("src/{name}"),
            &yaml(
                name,
                &format!(
                    "lifecycle:\n  start: echo start {name} >> {log}\n  stop: echo stop {name} >> {log}\n",
                    log = log.display()
                ),
            ),
            &[],
        );
        add(&env, &dir);
    }
    env.ok(&["stop", "--all"]);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "stop third\nstop second\nstop first\n");
    std::fs::remove_file(&log).unwrap();
    env.ok(&["restart", "--all"]);
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "stop third\nstop second\nstop first\nstart first\nstart second\nstart third\n"
    );
}

#[test]
fn required_variables_are_checked_for_every_plugin_before_anything_starts() {
    let env = Env::new();
    let marker = env.path("started");
    let ok = env.plugin("src/fine", &yaml("fine", &format!("lifecycle:\n  start: touch {}\n", marker.display())), &[]);
    add(&env, &ok);
    for name in ["needs-a", "needs-b"] {
        let var = format!("{}_TOKEN", name.replace('-', "_").to_uppercase());
        let dir = env.plugin(
            &format!("src/{name}"),
            &yaml(name, &format!("env_vars:\n  - name: {var}\n    required: true\nlifecycle:\n  start: 'true'\n")),
            &[],
        );
        add(&env, &dir);
    }
    let (_, err) = env.fails(8, &["start", "--all"]);
    assert!(err.contains("NEEDS_A_TOKEN in plugin 'needs-a'"), "{err}");
    assert!(err.contains("NEEDS_B_TOKEN in plugin 'needs-b'"), "{err}");
    assert!(!marker.exists(), "a plugin started before the pre-flight failed");
    let (_, err) = env.fails(8, &["restart", "--all"]);
    assert!(err.contains("needs-a") && err.contains("needs-b"), "{err}");
    // Given in the environment, they count.
    let out = env.cmd().args(["start", "--all"]).env("NEEDS_A_TOKEN", "x").env("NEEDS_B_TOKEN", "y").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(marker.exists());
}

#[test]
fn a_slow_status_probe_times_out_and_is_killed() {
    let env = Env::new();
    let pids = env.path("probe.pid");
    let dir = env.plugin(
        "src/slow",
        &yaml("slow", &format!("lifecycle:\n  status: sleep 60 & echo $! > {}; wait\n", pids.display())),
        &[],
    );
    add(&env, &dir);
    let quick = env.plugin("src/quick", &yaml("quick", "lifecycle:\n  status: 'true'\n"), &[]);
    add(&env, &quick);
    let started = std::time::Instant::now();
    let doc = status_json(&env, &["--timeout", "0.5"]);
    assert!(started.elapsed() < Duration::from_secs(30), "the probe was not bounded");
    assert_eq!(row(&doc, "slow")["status"], "timeout");
    assert!(row(&doc, "slow")["hint"].as_str().unwrap().contains("--timeout"));
    assert_eq!(row(&doc, "quick")["status"], "running");
    // The probe's own child went with it.
    let pid = std::fs::read_to_string(&pids).unwrap();
    let start = std::time::Instant::now();
    while pid_alive(&pid) && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!pid_alive(&pid), "the probe's child {pid} still runs");
    let table = env.ok(&["status", "--timeout", "0.5"]);
    assert!(table.contains("timeout"), "{table}");
}

#[test]
fn status_probes_get_the_plugins_env_and_compose_file() {
    let env = Env::new();
    let dir = env.plugin(
        "src/envy",
        &yaml("envy", "env_vars:\n  - name: ENVY_MODE\nlifecycle:\n  status: '[ \"$ENVY_MODE\" = up ] && [ \"$ATK_PLUGIN\" = envy ]'\n"),
        &[],
    );
    add(&env, &dir);
    assert_eq!(row(&status_json(&env, &[]), "envy")["status"], "stopped");
    std::fs::write(env.atk_home.join("plugins/envy/.env"), "ENVY_MODE=up\n").unwrap();
    assert_eq!(row(&status_json(&env, &[]), "envy")["status"], "running");
}

#[test]
fn status_survives_a_fresh_clone_and_an_invalid_plugin() {
    let env = Env::new();
    let port = free_port();
    add(&env, &web_plugin(&env, "web", port, ""));
    let good = env.plugin("src/good", &yaml("good", "mcp:\n  transport: stdio\n  command: ./mcp.sh\n"), &[]);
    add(&env, &good);
    let bad = env.plugin("src/bad", &yaml("bad", ""), &[]);
    add(&env, &bad);
    let work = crate::common::sources::registry_work(&env);
    env.ok(&["--registry", work.to_str().unwrap(), "add", "hello", "--set", "HELLO_NAME=Ada"]);
    // The installed copy of `bad` gets a field no schema has.
    let yaml_path = env.atk_home.join("plugins/bad/plugin.yaml");
    let text = std::fs::read_to_string(&yaml_path).unwrap();
    std::fs::write(&yaml_path, format!("{text}future_field: 1\n")).unwrap();

    let doc = status_json(&env, &[]);
    assert_eq!(row(&doc, "web")["status"], "stopped");
    assert_eq!(row(&doc, "good")["status"], "mcp-only");
    let bad = row(&doc, "bad");
    assert_eq!(bad["status"], "invalid");
    assert!(bad["problem"].as_str().unwrap().contains("future_field"), "{bad}");
    assert!(bad["hint"].as_str().unwrap().contains("newer atk"), "{bad}");
    let out = env.cmd().args(["status"]).output().unwrap();
    assert!(out.status.success());
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("invalid"), "{stdout}");
    assert!(stderr.contains("✗ bad:") && stderr.contains("future_field"), "{stderr}");

    // A fresh clone of the home: no plugin files until `atk install`.
    let clone = env.path("clone");
    git(env.dir.path(), &["clone", "-q", env.atk_home.to_str().unwrap(), clone.to_str().unwrap()]);
    let out = env.cmd().args(["status", "--json"]).env("ATK_HOME", &clone).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = row(&doc, "hello");
    assert_eq!(r["status"], "not-installed", "{r}");
    assert!(r["hint"].as_str().unwrap().contains("atk install --all"), "{r}");
    assert_eq!(r["ref"].as_str().unwrap().len(), 40, "{r}");
    // Local plugins are committed whole: they are there.
    assert_eq!(row(&doc, "good")["status"], "mcp-only");
    let out = env.cmd().args(["status"]).env("ATK_HOME", &clone).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("not-installed"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("atk install --all"));
    // start of a plugin that is not there says so.
    let out = env.cmd().args(["start", "hello"]).env("ATK_HOME", &clone).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("atk install hello"));
}

#[test]
fn the_repository_section_matches_git() {
    let env = Env::new();
    let remote = env.path("remote.git");
    git(env.dir.path(), &["init", "-q", "--bare", remote.to_str().unwrap()]);
    env.git(&["remote", "add", "origin", remote.to_str().unwrap()]);
    env.git(&["push", "-q", "-u", "origin", "main"]);
    let dir = env.plugin("src/one", &yaml("one", ""), &[]);
    add(&env, &dir);
    std::fs::write(env.atk_home.join("notes.txt"), "untracked\n").unwrap();
    std::fs::create_dir_all(env.atk_home.join("scratch/deep")).unwrap();
    std::fs::write(env.atk_home.join("scratch/deep/a"), "x").unwrap();
    std::fs::write(env.atk_home.join("scratch/b"), "x").unwrap();
    let manifest = env.manifest();
    std::fs::write(env.atk_home.join("manifest.yaml"), format!("{manifest}# edited\n")).unwrap();

    let doc = status_json(&env, &[]);
    let repo = &doc["repository"];
    assert_eq!(repo["branch"], "main");
    assert_eq!(repo["remote"]["name"], "origin");
    assert_eq!(repo["remote"]["url"], remote.to_str().unwrap());
    assert_eq!(repo["sync"]["ahead"], 1);
    assert_eq!(repo["sync"]["behind"], 0);
    assert_eq!(repo["last_commit"]["subject"], "Add plugin 'one'");
    assert_eq!(repo["last_commit"]["id"].as_str().unwrap(), env.git(&["rev-parse", "HEAD"]).trim());
    let porcelain = env.git(&["status", "--porcelain"]);
    let untracked = porcelain.lines().filter(|l| l.starts_with("??")).count();
    let modified = porcelain.lines().filter(|l| !l.starts_with("??")).count();
    assert_eq!((modified, untracked), (1, 2), "{porcelain}");
    assert_eq!(repo["working_dir"]["modified"], modified);
    assert_eq!(repo["working_dir"]["untracked"], untracked);
    let table = env.ok(&["status"]);
    assert!(table.contains("Branch:      main"), "{table}");
    assert!(table.contains("1 ahead, 0 behind origin/main"), "{table}");
    assert!(table.contains("Add plugin 'one' ("), "{table}");
    assert!(table.contains("1 modified, 2 untracked"), "{table}");
    // With a plugin named, no repository section.
    assert!(status_json(&env, &["one"]).get("repository").is_none());
    assert!(!env.ok(&["status", "one"]).contains("Repository:"));
}

#[test]
fn run_resolves_custom_first_passes_arguments_and_exit_codes() {
    let env = Env::new();
    let dir = env.plugin(
        "src/tool",
        &yaml("tool", "env_vars:\n  - name: TOOL_WORD\n"),
        &[
            ("greet.sh", "#!/bin/sh\necho \"plugin greet $*\"\n", true),
            ("fail", "#!/bin/sh\nexit 42\n", true),
            ("where.sh", "#!/bin/sh\necho \"$PWD|$ATK_PLUGIN_DIR|$ATK_PLUGIN|$TOOL_WORD\"\n", true),
            ("README.md", "# Tool\n", false),
        ],
    );
    add(&env, &dir);
    let home_dir = env.atk_home.join("plugins/tool");
    std::fs::write(home_dir.join(".env"), "TOOL_WORD=hello\n").unwrap();
    assert_eq!(env.ok(&["run", "tool", "greet", "a b", "--flag"]), "plugin greet a b --flag\n");
    write(&home_dir.join("custom/greet.sh"), "#!/bin/sh\necho \"custom greet $#\"\n", true);
    assert_eq!(env.ok(&["run", "tool", "greet", "x", "--help"]), "custom greet 2\n");
    env.fails(42, &["run", "tool", "fail"]);
    let real = std::fs::canonicalize(&home_dir).unwrap();
    assert_eq!(env.ok(&["run", "tool", "where"]), format!("{0}|{0}|tool|hello\n", real.display()));

    // The list: custom/ first, what it hides named.
    let list = env.ok(&["run", "tool"]);
    assert!(list.contains("custom/greet.sh (yours), instead of the plugin's greet.sh"), "{list}");
    assert!(list.contains("fail") && list.contains("where"), "{list}");
    assert!(!list.contains("README"), "{list}");

    // Not found: a usage error (exit 2); not executable: exit 5.
    let (_, err) = env.fails(2, &["run", "tool", "nope"]);
    assert!(err.contains("no script 'nope'"), "{err}");
    write(&home_dir.join("plain.sh"), "#!/bin/sh\n", false);
    let (_, err) = env.fails(5, &["run", "tool", "plain"]);
    assert!(err.contains("not executable"), "{err}");
}

#[test]
fn run_never_leaves_the_plugin_folder() {
    let env = Env::new();
    let dir = env.plugin("src/tool", &yaml("tool", ""), &[("ok.sh", "#!/bin/sh\necho ok\n", true)]);
    add(&env, &dir);
    let other = env.plugin("src/other", &yaml("other", ""), &[]);
    add(&env, &other);
    let marker = env.path("escaped");
    let evil = format!("#!/bin/sh\ntouch {}\n", marker.display());
    write(&env.atk_home.join("plugins/other/evil.sh"), &evil, true);
    write(&env.path("outside.sh"), &evil, true);
    let home_dir = env.atk_home.join("plugins/tool");
    std::os::unix::fs::symlink(env.path("outside.sh"), home_dir.join("link.sh")).unwrap();
    std::fs::create_dir_all(home_dir.join("custom")).unwrap();
    std::os::unix::fs::symlink("../../other/evil.sh", home_dir.join("custom/sneaky.sh")).unwrap();
    let outside = env.path("outside.sh");
    for script in ["../other/evil", "../../plugins/other/evil.sh", "link", "sneaky", outside.to_str().unwrap()] {
        let (_, err) = env.fails(5, &["run", "tool", script]);
        assert!(err.contains("outside the plugin folder") || err.contains("absolute path"), "{script}: {err}");
    }
    assert!(!marker.exists(), "a script outside the plugin folder ran");
    assert_eq!(env.ok(&["run", "tool", "ok"]), "ok\n");
}

/// A `docker` on PATH that records its arguments and `COMPOSE_FILE`.
fn stub_docker(env: &Env) -> (PathBuf, PathBuf) {
    let bin = env.path("bin");
    let log = env.path("docker.log");
    write(
        &bin.join("docker"),
        &format!("#!/bin/sh\necho \"argv: $*\" >> {0}\necho \"COMPOSE_FILE=$COMPOSE_FILE\" >> {0}\n", log.display()),
        true,
    );
    (bin, log)
}

fn with_path(env: &Env, bin: &Path, args: &[&str]) -> std::process::Output {
    let path = path_with(bin);
    env.cmd().args(args).env("PATH", path).output().unwrap()
}

#[test]
fn the_compose_override_reaches_docker_as_flags_and_compose_file() {
    let env = Env::new();
    let (bin, log) = stub_docker(&env);
    let dir = env.plugin(
        "src/svc",
        &yaml(
            "svc",
            "service:\n  type: docker-compose\nlifecycle:\n  start: docker compose up -d\n  logs: docker compose logs\n  status: docker compose ps && test -f custom/up\n",
        ),
        &[("docker-compose.yml", "services: {}\n", false), ("helper.sh", "#!/bin/sh\ndocker compose pull\n", true)],
    );
    add(&env, &dir);
    // Without an override: nothing added.
    assert!(with_path(&env, &bin, &["start", "svc"]).status.success());
    // (`start` asks the status command first whether it runs already.)
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "argv: compose ps\nCOMPOSE_FILE=\nargv: compose up -d\nCOMPOSE_FILE=\n"
    );
    std::fs::remove_file(&log).unwrap();

    let plugin = std::fs::canonicalize(env.atk_home.join("plugins/svc")).unwrap();
    write(&plugin.join("custom/docker-compose.override.yml"), "services: {}\n", false);
    let files = format!("{0}/docker-compose.yml:{0}/custom/docker-compose.override.yml", plugin.display());
    // start (and logs, with arguments), through the lifecycle: flags and COMPOSE_FILE.
    let out = with_path(&env, &bin, &["start", "svc"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = with_path(&env, &bin, &["logs", "svc", "--", "--tail", "5"]);
    assert!(out.status.success());
    // A script of the plugin (atk run) gets COMPOSE_FILE.
    assert!(with_path(&env, &bin, &["run", "svc", "helper"]).status.success());
    // So does the status probe.
    write(&plugin.join("custom/up"), "", false);
    let out = with_path(&env, &bin, &["status", "--json", "svc"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(row(&doc, "svc")["status"], "running");
    let flags = "-f docker-compose.yml -f custom/docker-compose.override.yml";
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        format!(
            "argv: compose {flags} ps\nCOMPOSE_FILE={files}\nargv: compose {flags} up -d\nCOMPOSE_FILE={files}\nargv: compose {flags} logs --tail 5\nCOMPOSE_FILE={files}\nargv: compose pull\nCOMPOSE_FILE={files}\nargv: compose {flags} ps\nCOMPOSE_FILE={files}\n"
        )
    );
}

#[test]
fn logs_streams_passes_arguments_and_its_exit_code() {
    let env = Env::new();
    let dir = env.plugin(
        "src/chatty",
        &yaml("chatty", "lifecycle:\n  logs: ./logs.sh\n"),
        &[("logs.sh", "#!/bin/sh\necho \"line one $*\"\nexit 7\n", true)],
    );
    add(&env, &dir);
    let out = env.cmd().args(["logs", "chatty", "--", "-f", "it's"]).output().unwrap();
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "line one -f it's\n");
    let quiet = env.plugin("src/quiet", &yaml("quiet", ""), &[]);
    add(&env, &quiet);
    let (_, err) = env.fails(0, &["logs", "quiet"]);
    assert!(err.contains("no logs command"), "{err}");
    env.fails(4, &["logs", "nope"]);
}

#[test]
fn ctrl_c_reaches_the_commands_process_group_and_atk_exits_130() {
    let env = Env::new();
    let got = env.path("got-int");
    let ready = env.path("ready");
    let script = format!(
        "#!/bin/sh\ntrap 'echo int > {got}; exit 0' INT\n(sleep 300; echo late) &\ntouch {ready}\nwhile :; do sleep 0.05; done\n",
        got = got.display(),
        ready = ready.display()
    );
    let dir =
        env.plugin("src/follow", &yaml("follow", "lifecycle:\n  logs: ./follow.sh\n"), &[("follow.sh", &script, true)]);
    add(&env, &dir);
    let child = env
        .std_cmd()
        .args(["logs", "follow"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut waited = 0;
    while !ready.exists() {
        std::thread::sleep(Duration::from_millis(50));
        waited += 1;
        assert!(waited < 400, "the logs command never started");
    }
    signal(pid, Signal::INT).unwrap();
    let out = wait_with_timeout(child, 60);
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(&got).unwrap(), "int\n", "the command did not get Ctrl-C");
    // (The background `sleep`, which ignores Ctrl-C as background jobs of `sh` do, was ended with
    // its group: else it would hold the output pipe, and the wait above, for 300 s.)
}

#[test]
fn help_shows_the_readme_and_the_card_with_secrets_masked() {
    let env = Env::new();
    let port = free_port();
    let dir = env.plugin(
        "src/doc",
        &yaml(
            "doc",
            &format!(
                "ports:\n  - port: {port}\n    description: the API\nenv_vars:\n  - name: DOC_TOKEN\n    required: true\n    secret: true\n  - name: DOC_MODE\n    default: fast\n  - name: DOC_EXTRA\nlifecycle:\n  start: ./start.sh\n  health_endpoint: http://127.0.0.1:{port}/health\nmcp:\n  transport: stdio\n  command: ./mcp.sh\n  args: [--stdio]\n  env: [DOC_TOKEN]\n"
            ),
        ),
        &[("README.md", "# Doc\n\nSome *words* \x1b[2J here.\n", false), ("start.sh", "#!/bin/sh\n", true)],
    );
    env.ok(&["add", dir.to_str().unwrap(), "-y", "--set", "DOC_TOKEN=supersecretvalue"]);
    let out = env.ok(&["help", "doc"]);
    assert!(out.starts_with("# Doc\n\nSome *words* \\x1b[2J here."), "{out}");
    assert!(!out.contains("supersecretvalue"), "{out}");
    assert!(out.contains("DOC_TOKEN  set (********)  [required, secret]"), "{out}");
    assert!(out.contains("DOC_MODE   set (fast)  default: fast"), "{out}");
    assert!(out.contains("DOC_EXTRA  not set"), "{out}");
    assert!(out.contains(&format!("{port}/http: the API")), "{out}");
    assert!(out.contains("start") && out.contains("./start.sh"), "{out}");
    assert!(out.contains("stdio: ./mcp.sh --stdio") && out.contains("env: DOC_TOKEN"), "{out}");
    assert!(out.contains(&format!("http://127.0.0.1:{port}/health")), "{out}");
    // No README: a warning, and the card still.
    std::fs::remove_file(env.atk_home.join("plugins/doc/README.md")).unwrap();
    let out = env.cmd().args(["help", "doc"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no README.md"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("DOC_TOKEN"));
    // `atk help` alone is atk's own help.
    assert!(env.ok(&["help"]).contains("Usage: atk"));
}

#[test]
fn help_on_a_terminal_renders_the_markdown() {
    let env = Env::new();
    let dir = env.plugin("src/doc", &yaml("doc", ""), &[("README.md", "# Title\n\nSome **bold** words.\n", false)]);
    add(&env, &dir);
    let mut p = env.on_terminal(&["help", "doc"]);
    let out = p.exp_eof().unwrap();
    // Rendered: the `#` and the `**` are gone.
    assert!(out.contains("Title") && out.contains("bold"), "{out:?}");
    assert!(!out.contains("# Title") && !out.contains("**bold**"), "{out:?}");
}

#[test]
fn every_runtime_json_document() {
    let env = Env::new();
    let port = free_port();
    add(&env, &web_plugin(&env, "web", port, "env_vars:\n  - name: WEB_TOKEN\n    secret: true\n"));
    let _servers = Servers(vec![pidfile(&env, "web")]);
    let tool = env.plugin(
        "src/tool",
        &yaml("tool", "lifecycle:\n  logs: echo some logs\n"),
        &[("hello.sh", "#!/bin/sh\necho hi\n", true), ("README.md", "# Tool\n", false)],
    );
    add(&env, &tool);
    let ports = [port];
    insta::assert_json_snapshot!("runtime_start", json_doc(&env, &["start", "--all"], 0, &ports));
    insta::assert_json_snapshot!("runtime_status", json_doc(&env, &["status"], 0, &ports));
    insta::assert_json_snapshot!("runtime_status_one", json_doc(&env, &["status", "tool"], 0, &ports));
    insta::assert_json_snapshot!("runtime_restart", json_doc(&env, &["restart", "web"], 0, &ports));
    insta::assert_json_snapshot!("runtime_stop", json_doc(&env, &["stop", "--all"], 0, &ports));
    insta::assert_json_snapshot!("runtime_logs", json_doc(&env, &["logs", "tool"], 0, &ports));
    insta::assert_json_snapshot!("runtime_scripts", json_doc(&env, &["run", "tool"], 0, &ports));
    insta::assert_json_snapshot!("runtime_run", json_doc(&env, &["run", "tool", "hello"], 0, &ports));
    insta::assert_json_snapshot!("runtime_help", json_doc(&env, &["help", "web"], 0, &ports));
    insta::assert_json_snapshot!("runtime_port_conflict", {
        let _taken = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        json_doc(&env, &["start", "web"], 9, &ports)
    });
}

#[test]
fn help_pages_a_readme_longer_than_the_screen() {
    let env = Env::new();
    let long: String = (1..=300).map(|i| format!("Line number {i} of the manual.\n\n")).collect();
    let dir = env.plugin("src/doc", &yaml("doc", ""), &[("README.md", &format!("# Manual\n\n{long}"), false)]);
    add(&env, &dir);
    let short = env.plugin("src/brief", &yaml("brief", ""), &[("README.md", "# Brief\n\nShort.\n", false)]);
    add(&env, &short);
    let paged = env.path("paged.txt");
    let pager = format!("cat > {}", paged.display());
    let run = |plugin: &str| {
        let mut cmd = std::process::Command::new(bin());
        env.apply(&mut cmd);
        cmd.env_remove("CI").env("TERM", "dumb").env("PAGER", &pager).args(["help", plugin]);
        let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
        p.exp_eof().unwrap()
    };
    let shown = run("brief");
    assert!(shown.contains("Short."), "{shown:?}");
    assert!(!paged.exists(), "a README shorter than the screen went through the pager");
    let shown = run("doc");
    let text = std::fs::read_to_string(&paged).expect("the pager got the text");
    assert!(text.contains("Line number 300 of the manual.") && text.contains("doc (plugins/doc)"), "{text}");
    assert!(!shown.contains("Line number 300"), "{shown:?}");
}

#[test]
fn status_json_of_plugins_that_cannot_be_asked() {
    let env = Env::new();
    let slow = env.plugin("src/slow", &yaml("slow", "lifecycle:\n  status: sleep 30\n"), &[]);
    add(&env, &slow);
    let bad = env.plugin("src/bad", &yaml("bad", ""), &[]);
    add(&env, &bad);
    let gone = env.plugin("src/gone", &yaml("gone", "lifecycle:\n  status: 'true'\n"), &[]);
    add(&env, &gone);
    let text = std::fs::read_to_string(env.atk_home.join("plugins/bad/plugin.yaml")).unwrap();
    std::fs::write(
        env.atk_home.join("plugins/bad/plugin.yaml"),
        text.replace("maturity: verified", "maturity: golden"),
    )
    .unwrap();
    std::fs::remove_file(env.atk_home.join("plugins/gone/plugin.yaml")).unwrap();
    let mut v = json_doc(&env, &["status", "--timeout", "0.3"], 0, &[]);
    v.as_object_mut().unwrap().remove("repository");
    insta::assert_json_snapshot!("runtime_status_problems", v);
}

#[test]
fn restart_of_one_plugin_stops_then_starts_and_a_failed_stop_is_exit_6() {
    let env = Env::new();
    let log = env.path("steps.log");
    let dir = env.plugin(
        "src/svc",
        &yaml(
            "svc",
            &format!(
                "lifecycle:\n  start: echo start >> {0}\n  stop: echo stop >> {0}; exit $SVC_STOP\n",
                log.display()
            ),
        ),
        &[],
    );
    add(&env, &dir);
    let out = env.cmd().args(["restart", "svc"]).env("SVC_STOP", "0").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "stop\nstart\n");
    let out = env.cmd().args(["restart", "svc"]).env("SVC_STOP", "4").output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert!(String::from_utf8_lossy(&out.stderr).contains("stop of plugin 'svc' failed (exit code 4)"));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "stop\nstart\nstop\n", "started after a failed stop");
}

#[test]
fn on_a_terminal_the_command_reads_it_and_ctrl_c_reaches_it() {
    let env = Env::new();
    let got = env.path("got-int");
    let script = format!(
        "#!/bin/sh\nread answer\necho \"got $answer\"\ntrap 'echo int > {got}; exit 0' INT\necho following\nwhile :; do sleep 0.05; done\n",
        got = got.display()
    );
    let dir =
        env.plugin("src/follow", &yaml("follow", "lifecycle:\n  logs: ./follow.sh\n"), &[("follow.sh", &script, true)]);
    add(&env, &dir);
    let mut p = env.on_terminal(&["logs", "follow"]);
    // The command can read the terminal (a process group of its own could not: SIGTTIN).
    p.send_line("yes").unwrap();
    p.exp_string("got yes").unwrap();
    p.exp_string("following").unwrap();
    // The terminal's Ctrl-C: the command (in atk's process group there, so that it may read the
    // terminal) gets it from the terminal itself.
    p.send_control('c').unwrap();
    p.exp_eof().unwrap();
    let status = p.process().wait().unwrap();
    assert!(matches!(status, rexpect::process::WaitStatus::Exited(_, 130)), "{status:?}");
    assert_eq!(std::fs::read_to_string(&got).unwrap(), "int\n");
}
