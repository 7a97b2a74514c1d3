//! Network bounds (issue 8, item 6): a server that accepts a connection and never answers, over
//! git://, ssh and http. atk gives up after ATK_NET_TIMEOUT seconds without a byte (exit 7, one
//! clear line), and Ctrl-C or SIGTERM ends a blocked fetch at once (exit 130); the home is
//! unchanged either way and the next command works.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::servers::Silent;
use crate::common::*;

/// Waits for atk (up to a generous bound: these tests are about not hanging for ever).
fn finish(mut running: Running) -> Output {
    wait_with_timeout(running.0.take().unwrap(), 60)
}

fn spawn(env: &Env, args: &[&str], vars: &[(&str, &str)]) -> Running {
    let mut cmd = env.std_cmd();
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    Running(Some(cmd.spawn().unwrap()))
}

/// A stand-in for ssh whose "connection" goes to the silent socket: it logs its arguments,
/// answers the `-G` probe, then waits for the server's first byte for ever.
fn silent_ssh(env: &Env, port: u16) -> (String, PathBuf) {
    let bin = env.path("silent-ssh");
    let log = env.path("silent-ssh.log");
    write(
        &bin.join("ssh"),
        &format!(
            "#!/bin/bash\necho \"$@\" >> {}\nfor a in \"$@\"; do [ \"$a\" = -G ] && exit 0; done\n\
             exec 3<>/dev/tcp/127.0.0.1/{port}\nexec cat <&3\n",
            log.display()
        ),
        true,
    );
    (path_with(&bin), log)
}

fn assert_stalled(out: &Output, url: &str, what: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{what}: {err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{what}: {err}");
    assert!(errors[0].contains(url) && errors[0].contains("did not answer for 2s"), "{what}: {err}");
    assert!(err.contains("hint:") && err.contains("ATK_NET_TIMEOUT"), "{what}: {err}");
}

#[test]
fn a_silent_server_times_out_over_git_ssh_and_http() {
    let env = Env::new();
    let before = env.snapshot();
    let silent = Silent::start();
    let (ssh_path, ssh_log) = silent_ssh(&env, silent.port);
    let timeout = [("ATK_NET_TIMEOUT", "2")];
    for url in [
        format!("git://127.0.0.1:{}/registry.git", silent.port),
        format!("http://127.0.0.1:{}/registry.git", silent.port),
        "ssh://git@silent.invalid/registry.git".to_string(),
        "git@silent.invalid:org/registry.git".to_string(),
    ] {
        let vars = [timeout[0], ("PATH", ssh_path.as_str())];
        let out = finish(spawn(&env, &["--registry", &url, "add", "hello"], &vars));
        assert_stalled(&out, &url, &format!("registry {url}"));
        let out = finish(spawn(&env, &["add", &url], &vars));
        assert_stalled(&out, &url, &format!("git source {url}"));
        assert_eq!(env.snapshot(), before, "{url}");
    }
    // ssh itself is told to time out too.
    let calls = std::fs::read_to_string(&ssh_log).unwrap();
    assert!(calls.contains("-o ConnectTimeout=2 -o ServerAliveInterval=1"), "{calls}");
    // The home works: a mutation.
    env.ok(&["add", env.fixture("minimal").to_str().unwrap(), "-y"]);
}

#[test]
fn an_unusable_net_timeout_is_a_usage_error() {
    let env = Env::new();
    for bad in ["0", "soon", "-5"] {
        let out = env.cmd().arg("list").env("ATK_NET_TIMEOUT", bad).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("ATK_NET_TIMEOUT"));
    }
}

#[test]
fn ctrl_c_or_sigterm_ends_a_blocked_fetch_at_once() {
    let env = Env::new();
    let before = env.snapshot();
    for (sig, group, transport) in [
        (Signal::INT, true, "git"),
        (Signal::TERM, false, "git"),
        (Signal::INT, true, "ssh"),
        (Signal::INT, true, "http"),
    ] {
        let silent = Silent::start();
        let (path, _) = silent_ssh(&env, silent.port);
        let url = match transport {
            "git" => format!("git://127.0.0.1:{}/registry.git", silent.port),
            "http" => format!("http://127.0.0.1:{}/registry.git", silent.port),
            _ => "ssh://git@silent.invalid/registry.git".to_string(),
        };
        // A timeout far beyond the test's bound: only the signal can end the wait.
        let child = spawn(&env, &["--registry", &url, "add", "hello"], &[("ATK_NET_TIMEOUT", "600"), ("PATH", &path)]);
        silent.wait_for_a_connection();
        std::thread::sleep(Duration::from_millis(200));
        let sent = Instant::now();
        if group { signal_group(child.id(), sig) } else { signal(child.id(), sig) }.unwrap();
        let out = finish(child);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "{sig:?} {transport}: {err}");
        assert!(err.contains("interrupted"), "{err}");
        assert!(sent.elapsed() < Duration::from_secs(20), "{sig:?} {transport}: took {:?}", sent.elapsed());
        assert_eq!(env.snapshot(), before, "{sig:?} {transport}");
    }
    env.ok(&["list"]);
    env.ok(&["add", env.fixture("minimal").to_str().unwrap(), "-y"]);
}

#[test]
fn a_stalled_source_does_not_hang_the_rest_of_an_install_all() {
    // Two plugins of one registry pinned to two commits: two fetches of one cache repository.
    let a = Env::new();
    let work = crate::common::sources::registry_work(&a);
    let reg = work.to_str().unwrap();
    a.ok(&["--registry", reg, "add", "-y", "hello", "--set", "HELLO_NAME=x"]);
    write(&work.join("plugins/third/more.txt"), "v2\n", false);
    crate::common::sources::commit_all(&work, "v2");
    a.ok(&["--registry", reg, "add", "-y", "third", "--refresh"]);
    let b = Env::bare();
    git(b.dir.path(), &["clone", "-q", a.atk_home.to_str().unwrap(), b.atk_home.to_str().unwrap()]);
    b.ok(&["list"]);
    let before = b.snapshot();

    let silent = Silent::start();
    let url = format!("git://127.0.0.1:{}/registry.git", silent.port);
    for jobs in ["1", "2"] {
        let out = finish(spawn(&b, &["--registry", &url, "install", "--all", "-j", jobs], &[("ATK_NET_TIMEOUT", "2")]));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "-j {jobs}: {err}");
        assert_eq!(err.matches("did not answer for 2s").count(), 2, "-j {jobs}: both plugins fail: {err}");
        assert_eq!(b.snapshot(), before);
    }
}

#[test]
fn ctrl_c_during_an_upgrade_lookup_exits_130_and_contacts_nothing_more() {
    let env = Env::new();
    let work = crate::common::sources::registry_work(&env);
    env.ok(&["--registry", work.to_str().unwrap(), "add", "third"]);
    let tool = crate::common::sources::git_source_work(&env);
    env.ok(&["add", "-y", &format!("file://{}", tool.display())]);
    let before = env.snapshot();
    for args in [&["upgrade", "third"][..], &["upgrade", "--all"]] {
        let silent = Silent::start();
        let url = format!("git://127.0.0.1:{}/registry.git", silent.port);
        let mut all = vec!["--registry", url.as_str()];
        all.extend_from_slice(args);
        let child = spawn(&env, &all, &[("ATK_NET_TIMEOUT", "600")]);
        silent.wait_for_a_connection();
        signal_group(child.id(), Signal::INT).unwrap();
        let out = finish(child);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "{args:?}: {err}");
        assert!(!err.contains("failed"), "{args:?}: nothing is reported as failed: {err}");
        assert_eq!(env.snapshot(), before);
    }
}
