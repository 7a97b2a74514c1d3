//! Child processes, fan-out and the push after a mutation, tried as an attacker would: programs
//! that leave detached helpers holding atk's pipes and flood their output, a plugin with thousands
//! of ports under a memory limit, and a remote that accepts and never answers with `auto_push` on.
//! Each asserts the exit code, the message, the time bound, and that the next command works.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::agents::{Stubs, CLI_AGENTS};
use crate::common::servers::Silent;
use crate::common::*;

/// The detached helper every hostile program here leaves: a session of its own (out of its
/// process group), holding stdout and stderr, for 120 s (twice the bound the tests hold atk to).
const DETACHED: &str = "setsid -f sleep 120";

/// 200 MB of lines on stdout.
const FLOOD: &str = "yes 'flood flood flood' | head -n 11111111";

/// Memory for atk under `ulimit -v` (KiB): enough for atk, far from enough to hold a 200 MB flood
/// (or to start one thread per port of a plugin with thousands of them).
const LIMIT_KB: u64 = 200_000;

#[test]
fn an_agent_program_that_floods_and_leaves_a_detached_helper_does_not_hold_atk() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    let body = "mcp:\n  transport: stdio\n  command: node\n  args: [server.js]\n";
    let src = env.plugin("src-flood", &yaml("Flood", body), &[]);
    env.ok(&["add", src.to_str().unwrap(), "-y"]);
    // The stub still logs its call, then floods stdout and stderr, leaves the helper, and ends.
    let claude = stubs.bin.join("claude");
    // (The stub ends by handing over to the fake agent, which keeps the server as Claude Code does.)
    let stub = std::fs::read_to_string(&claude).unwrap();
    let at = stub.find("exec python3").unwrap();
    let (logged, keep) = (&stub[..at], &stub[at..]);
    write(&claude, &format!("{logged}{DETACHED}\n{FLOOD}\n{FLOOD} >&2\necho 'the last line' >&2\n{keep}"), true);
    let mut c = limited(&env, LIMIT_KB, &["plug", "flood", "--claude", "-y", "-v"]);
    c.env("PATH", stubs.path_var());
    let (ran, took) = run_timed(c, 180);
    let (code, (out, err)) = (ran.status.code(), texts(&ran));
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains("✓ Claude Code: 'Flood' plugged in"), "{out}");
    assert!(took < Duration::from_secs(60), "atk waited {took:?} for the detached helper");
    // What was kept: the start, a marker of the cut, the end; never the whole 200 MB.
    assert!(err.contains("claude: flood flood flood"), "{}", &err[..err.len().min(300)]);
    assert!(err.contains("MB cut …]"), "no marker of the cut");
    assert!(err.contains("claude: the last line"), "the end of stderr is kept");
    assert!(err.len() < 2_000_000, "{} bytes shown", err.len());
    assert!(env.manifest().contains("  agents:\n  - claude\n"), "{}", env.manifest());

    // A failing one: its last words survive the cap; the exit code is the usual one.
    write(&claude, &format!("{logged}{DETACHED}\n{FLOOD} >&2\necho 'Error: quota exceeded' >&2\nexit 3\n"), true);
    let mut c = limited(&env, LIMIT_KB, &["unplug", "flood", "--claude", "-y"]);
    c.env("PATH", stubs.path_var());
    let (ran, took) = run_timed(c, 180);
    let (code, (out, err)) = (ran.status.code(), texts(&ran));
    assert_eq!(code, Some(1), "{out}\n{err}");
    assert!(err.contains("Error: quota exceeded (exit code 3): claude"), "{err}");
    assert!(took < Duration::from_secs(60), "atk waited {took:?}");

    // The next command works.
    let out = env.ok(&["list"]);
    assert!(out.contains("Flood"), "{out}");
}

#[test]
fn a_status_command_that_floods_and_leaves_a_detached_helper_does_not_hold_atk() {
    let env = Env::new();
    let body = format!("lifecycle:\n  status: \"{DETACHED}; {FLOOD}; {FLOOD} >&2; exit 0\"\n  start: 'true'\n");
    let src = env.plugin("src-noisy", &yaml("Noisy", &body), &[]);
    env.ok(&["add", src.to_str().unwrap(), "-y"]);
    let (ran, took) = run_timed(limited(&env, LIMIT_KB, &["status", "--json"]), 180);
    let (code, (out, err)) = (ran.status.code(), texts(&ran));
    assert_eq!(code, Some(0), "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["plugins"][0]["status"], "running", "{doc}");
    assert!(took < Duration::from_secs(60), "atk waited {took:?} for the detached helper");
    // `start` sees it running, and the next command works.
    let out = env.ok(&["start", "noisy"]);
    assert!(out.contains("already running"), "{out}");
}

/// A plugin declaring `count` ports from 20001 on, plus `extra`; started when its folder holds
/// `started`.
fn many_ports(env: &Env, count: u16, extra: u16) -> std::path::PathBuf {
    let mut body = String::from(
        "lifecycle:\n  status: test -e \"$ATK_PLUGIN_DIR/started\"\n  start: touch \"$ATK_PLUGIN_DIR/started\"\nports:\n",
    );
    for p in (20001..).take(count as usize).chain([extra]) {
        body.push_str(&format!("  - port: {p}\n"));
    }
    env.plugin("src-many", &yaml("Many", &body), &[])
}

#[test]
fn thousands_of_ports_run_on_the_bounded_pool_under_a_memory_limit() {
    let env = Env::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let src = many_ports(&env, 3000, port);
    env.ok(&["add", src.to_str().unwrap(), "-y"]);

    // start: every port checked, the one in use named, nothing started.
    let (ran, _) = run_timed(limited(&env, LIMIT_KB, &["start", "many"]), 120);
    let (code, (out, err)) = (ran.status.code(), texts(&ran));
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(code, Some(9), "{out}\n{err}");
    assert!(err.contains(&format!("port {port}")), "{err}");
    assert!(!env.atk_home.join("plugins/many/started").exists());

    // status: a row for the plugin, with every port.
    let (ran, _) = run_timed(limited(&env, LIMIT_KB, &["status", "--json"]), 120);
    let (code, (out, err)) = (ran.status.code(), texts(&ran));
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(code, Some(0), "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["plugins"][0]["status"], "stopped", "{}", &out[..out.len().min(300)]);
    assert_eq!(doc["plugins"][0]["ports"].as_array().unwrap().len(), 3001);

    // With the port free, it starts; running, each port's state is shown (the taken one again).
    drop(taken);
    let (ran, _) = run_timed(limited(&env, LIMIT_KB, &["start", "many"]), 120);
    let (code, (out, err)) = (ran.status.code(), texts(&ran));
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains("Started 'Many'"), "{out}");
    let again = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let (ran, _) = run_timed(limited(&env, LIMIT_KB, &["status", "--json"]), 120);
    let (code, (out, err)) = (ran.status.code(), texts(&ran));
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(code, Some(0), "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let row = &doc["plugins"][0];
    assert_eq!(row["status"], "running");
    let ports = row["ports"].as_array().unwrap();
    assert_eq!(ports.iter().filter(|p| p["listening"] == true).count(), 1, "{row}");
    assert_eq!(ports[3000]["port"], port);
    assert_eq!(ports[3000]["listening"], true);
    drop(again);
    env.ok(&["list"]);
}

fn auto_push_to(scheme: &str) {
    let silent = Silent::start();
    let url = format!("{scheme}://127.0.0.1:{}/home.git", silent.port);
    let env = Env::new();
    turn_on_auto_push(&env, &url);
    let first = env.plugin("src-first", &yaml("First", ""), &[]);
    let second = env.plugin("src-second", &yaml("Second", ""), &[]);

    // The first add commits, then pushes to a remote that never answers.
    let started = Instant::now();
    let mut c = env.std_cmd();
    c.env("ATK_NET_TIMEOUT", "3").args(["add", first.to_str().unwrap(), "-y"]);
    let child = c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    // While its push hangs (connected, no answer), another atk gets the home lock at once.
    silent.wait_for_a_connection();
    assert!(env.log().iter().any(|l| l.contains("Add plugin 'First'")), "pushed before committing");
    let mut c = env.std_cmd();
    c.env("ATK_LOCK_TIMEOUT", "0").env("ATK_NET_TIMEOUT", "3").args(["add", second.to_str().unwrap(), "-y"]);
    let (ran, _) = run_timed(c, 60);
    let (code, (out, err)) = (ran.status.code(), texts(&ran));
    assert_eq!(code, Some(0), "the second add did not get the lock at once:\n{out}\n{err}");
    assert!(!err.contains("waiting for another atk"), "{err}");

    let out = wait_with_timeout(child, 60);
    let took = started.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("warning: auto-push: "), "{err}");
    assert!(err.contains("hint: the change is committed in the home; push it with `atk git push`"), "{err}");
    // The bound (3 s without an answer) and slack; for ever before.
    assert!(took < Duration::from_secs(20), "the push took {took:?}");
    let log = env.log();
    assert!(log.iter().any(|l| l.contains("Add plugin 'First'")), "{log:?}");
    assert!(log.iter().any(|l| l.contains("Add plugin 'Second'")), "{log:?}");
    env.ok(&["list"]);
}

#[test]
fn auto_push_to_a_git_remote_that_never_answers_ends_at_the_net_timeout_after_the_lock_is_released() {
    auto_push_to("git");
}

#[test]
fn auto_push_to_an_http_remote_that_never_answers_ends_at_the_net_timeout_after_the_lock_is_released() {
    auto_push_to("http");
}

#[test]
fn the_stall_warning_names_the_bound() {
    let silent = Silent::start();
    let env = Env::new();
    turn_on_auto_push(&env, &format!("git://127.0.0.1:{}/home.git", silent.port));
    let src = env.plugin("src-one", &yaml("One", ""), &[]);
    let mut c = env.std_cmd();
    c.env("ATK_NET_TIMEOUT", "2").args(["add", src.to_str().unwrap(), "-y"]);
    let (ran, took) = run_timed(c, 60);
    let (code, err) = (ran.status.code(), texts(&ran).1);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("warning: auto-push: git push to 'origin' got no answer for 2s and was stopped"), "{err}");
    assert!(took < Duration::from_secs(15), "{took:?}");
}

/// A plugin whose `logs` command reports which signal reached it (in `got`), after touching
/// `ready`. (It ignores SIGHUP: on the test's pseudo-terminal atk leads the session, and its exit
/// hangs the terminal up, which would race with the trap. It gives up by itself after 60 s.)
fn signalled_plugin(env: &Env) -> (std::path::PathBuf, std::path::PathBuf) {
    let (got, ready) = (env.path("got"), env.path("ready"));
    let script = format!(
        "#!/bin/sh\ntrap 'echo term > {got}; exit 0' TERM\ntrap 'echo int > {got}; exit 0' INT\ntrap '' HUP\ntouch {ready}\nfor i in $(seq 1 1200); do sleep 0.05; done\n",
        got = got.display(),
        ready = ready.display()
    );
    let src =
        env.plugin("src-follow", &yaml("follow", "lifecycle:\n  logs: ./follow.sh\n"), &[("follow.sh", &script, true)]);
    env.ok(&["add", src.to_str().unwrap(), "-y"]);
    (got, ready)
}

#[test]
fn sigterm_to_atk_reaches_a_streamed_command_with_or_without_a_terminal() {
    // Without a terminal: the command leads a group of its own; SIGTERM is passed on as SIGTERM.
    let env = Env::new();
    let (got, ready) = signalled_plugin(&env);
    let child = env.std_cmd().args(["logs", "follow"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    wait_for(&ready);
    signal(child.id(), Signal::TERM).unwrap();
    let out = wait_with_timeout(child, 60);
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(&got).unwrap(), "term\n");

    // On a terminal: the command shares atk's group (the terminal's Ctrl-C reaches both), and a
    // SIGTERM sent to atk alone is passed on to it, at once.
    std::fs::remove_file(&got).unwrap();
    std::fs::remove_file(&ready).unwrap();
    let mut p = env.on_terminal(&["logs", "follow"]);
    wait_for(&ready);
    let sent = Instant::now();
    p.process_mut().signal(rexpect::process::Signal::SIGTERM).unwrap();
    wait_for(&got);
    assert!(sent.elapsed() < Duration::from_secs(10), "{:?}", sent.elapsed());
    assert_eq!(std::fs::read_to_string(&got).unwrap(), "term\n");
    p.exp_eof().unwrap();
}

#[test]
fn ctrl_c_ends_a_push_that_hangs() {
    let silent = Silent::start();
    let env = Env::new();
    turn_on_auto_push(&env, &format!("git://127.0.0.1:{}/home.git", silent.port));
    let src = env.plugin("src-one", &yaml("One", ""), &[]);
    let child = env
        .std_cmd()
        .env("ATK_NET_TIMEOUT", "120")
        .args(["add", src.to_str().unwrap(), "-y"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    silent.wait_for_a_connection();
    let sent = Instant::now();
    signal(child.id(), Signal::INT).unwrap();
    let out = wait_with_timeout(child, 60);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(sent.elapsed() < Duration::from_secs(5), "{:?}", sent.elapsed());
    // The add was done and committed: a warning, and its exit code.
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("warning: auto-push: git push was interrupted"), "{err}");
    assert!(env.log().iter().any(|l| l.contains("Add plugin 'One'")));
}

#[test]
fn ctrl_c_on_a_terminal_is_the_pagers_to_decide_and_atk_waits_for_it() {
    let env = Env::new();
    let long: String = (1..=300).map(|i| format!("Line {i}.\n\n")).collect();
    let src = env.plugin("src-doc", &yaml("doc", ""), &[("README.md", &format!("# Manual\n\n{long}"), false)]);
    env.ok(&["add", src.to_str().unwrap(), "-y"]);
    let (got, ready, done) = (env.path("got"), env.path("ready"), env.path("done"));
    // A pager that, as `less` does, lives on past Ctrl-C (longer than atk's grace for lifecycle
    // commands), then ends by itself.
    let pager = env.path("pager.sh");
    write(
        &pager,
        &format!(
            "#!/bin/sh\ntrap 'echo int > {got}' INT\ncat > /dev/null\ntouch {ready}\ni=0\nwhile [ $i -lt 70 ]; do sleep 0.1; i=$((i+1)); done\ntouch {done}\n",
            got = got.display(),
            ready = ready.display(),
            done = done.display()
        ),
        true,
    );
    let mut cmd = Command::new(bin());
    env.apply(&mut cmd);
    cmd.env_remove("CI").env("TERM", "dumb").env("PAGER", &pager).args(["help", "doc"]);
    let mut p = rexpect::session::spawn_command(cmd, Some(30_000)).unwrap();
    wait_for(&ready);
    p.send_control('c').unwrap();
    p.exp_eof().unwrap();
    assert_eq!(std::fs::read_to_string(&got).unwrap(), "int\n", "the pager got Ctrl-C");
    assert!(done.exists(), "the pager was ended instead of being waited for");
}
