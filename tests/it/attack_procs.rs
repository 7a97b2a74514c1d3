//! Child processes, waits and auto_push, tried as an attacker would (issue 17, second look).

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::*;

/// A home with `auto_push` on and a `file://` remote whose `pre-receive` hook is `hook`.
fn home_pushing_to_a_hook(hook: &str) -> Env {
    let env = Env::new();
    let remote = env.path("remote.git");
    std::fs::create_dir_all(&remote).unwrap();
    git(&remote, &["init", "-q", "--bare"]);
    write(&remote.join("hooks/pre-receive"), hook, true);
    turn_on_auto_push(&env, &format!("file://{}", remote.display()));
    env
}

#[test]
fn a_remote_that_trickles_for_ever_does_not_keep_the_push_going_for_ever() {
    // The hook says something every half second: never a stall, and no end before atk's bound of
    // 20 s (it gives up by itself after two minutes, should nothing stop it).
    let env = home_pushing_to_a_hook(
        "#!/bin/sh\ni=0\nwhile [ $i -lt 240 ]; do echo 'still working' >&2; sleep 0.5; i=$((i+1)); done\n",
    );
    let src = env.plugin("src-one", &yaml("One", ""), &[]);
    let started = Instant::now();
    let child = env
        .std_cmd()
        .env("ATK_NET_TIMEOUT", "2")
        .args(["add", src.to_str().unwrap(), "-y"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_with_timeout(child, 120);
    let took = started.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("warning: auto-push: git push to 'origin' did not finish within 20s and was stopped"),
        "{err}"
    );
    assert!(err.contains("hint: the change is committed in the home"), "{err}");
    assert!(took < Duration::from_secs(60), "the push took {took:?}");
    assert!(env.log().iter().any(|l| l.contains("Add plugin 'One'")));
    env.ok(&["list"]);
}

#[test]
fn a_column_wider_than_65535_characters_is_no_panic() {
    // 12,000 ports: the PORTS column of `status` is 70,000 characters wide.
    let env = Env::new();
    let mut body = String::from("lifecycle:\n  status: 'true'\n  start: 'true'\nports:\n");
    for p in 20_000..32_000 {
        body.push_str(&format!("  - port: {p}\n"));
    }
    let src = env.plugin("src-wide", &yaml("Wide", &body), &[]);
    env.ok(&["add", src.to_str().unwrap(), "-y"]);
    for args in [&["status"][..], &["status", "--json"]] {
        let out = env.cmd().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "atk {args:?}: {}", &err[..err.len().min(400)]);
        assert_eq!(out.status.code(), Some(0), "atk {args:?}");
    }
    let out = env.ok(&["status"]);
    assert!(out.contains("20000 ✗, 20001 ✗") && out.contains("31999 ✗"), "{}", &out[..out.len().min(400)]);

    // A cloned home whose manifest names a plugin with 70,000 characters: `list` shows it.
    let long = "L".repeat(70_000);
    let m = env.manifest().replace("- name: Wide", &format!("- name: {long}"));
    write(&env.atk_home.join("manifest.yaml"), &m, false);
    let out = env.cmd().args(["list"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{}", &err[..err.len().min(400)]);
    assert_eq!(out.status.code(), Some(0), "{}", &err[..err.len().min(400)]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(&long));
}

#[test]
#[ignore = "needs root: 127.0.0.1:53 and a mount namespace, as CI has (.ci/run runs the ignored tests)"]
fn health_checks_whose_names_never_resolve_keep_to_the_timeout_and_to_ctrl_c() {
    // A name server that never answers, on 127.0.0.1:53, that atk alone is pointed at (a mount
    // namespace of its own, where /etc/resolv.conf names it): each lookup hangs for 20 s.
    let dns = std::net::UdpSocket::bind("127.0.0.1:53").expect("127.0.0.1:53 cannot be had (this test needs root)");
    assert!(
        std::process::Command::new("unshare").args(["-m", "true"]).status().is_ok_and(|s| s.success()),
        "no mount namespace can be made here (this test needs root)"
    );
    let env = Env::new();
    let resolv = env.path("resolv.conf");
    write(&resolv, "nameserver 127.0.0.1\n", false);
    for i in 0..36 {
        let body = format!(
            "lifecycle:\n  status: 'true'\n  start: 'true'\n  health_endpoint: http://hang{i}.example.invalid:80/\n"
        );
        let src = env.plugin(&format!("src-h{i}"), &yaml(&format!("h{i}"), &body), &[]);
        env.ok(&["add", src.to_str().unwrap(), "-y"]);
    }
    // atk's process id is written to `pid` by the shell that becomes atk.
    let pid = env.path("atk.pid");
    let status = |timeout: &str| {
        let mut c = std::process::Command::new("unshare");
        c.args(["-m", "sh", "-c", "echo $$ > \"$1\" && mount --bind \"$0\" /etc/resolv.conf && shift && exec \"$@\""])
            .arg(&resolv)
            .arg(&pid)
            .arg(bin())
            .args(["status", "--json", "--timeout", timeout]);
        env.apply(&mut c);
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        c
    };
    // Every check ends at its timeout (1 s), never at the resolver's 20 s; the pool has 17 at once.
    let started = Instant::now();
    let out = wait_with_timeout(status("1").spawn().unwrap(), 200);
    let took = started.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let plugins = doc["plugins"].as_array().unwrap();
    assert_eq!(plugins.len(), 36);
    for p in plugins {
        assert_eq!(p["health"]["result"]["state"], "timeout", "{p}");
    }
    assert!(took < Duration::from_secs(15), "status took {took:?}");

    // Ctrl-C ends it at once, however many lookups hang: sent once the name server got a query.
    dns.set_nonblocking(true).unwrap();
    while dns.recv_from(&mut [0; 512]).is_ok() {}
    std::fs::remove_file(&pid).unwrap();
    let child = status("30").spawn().unwrap();
    dns.set_nonblocking(false).unwrap();
    dns.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    dns.recv_from(&mut [0; 512]).expect("atk never asked the name server");
    let atk: u32 = std::fs::read_to_string(&pid).unwrap().trim().parse().unwrap();
    let sent = Instant::now();
    signal(atk, Signal::INT).unwrap();
    let out = wait_with_timeout(child, 60);
    assert!(sent.elapsed() < Duration::from_secs(10), "Ctrl-C took {:?}", sent.elapsed());
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    env.ok(&["list"]);
}

/// A cloned home of `count` local plugins `p0`, `p1`, … declaring `body`: their folders and the
/// manifest written as they would be, and committed.
fn cloned_home_of(env: &Env, count: usize, body: &str) {
    let mut manifest = env.manifest().replace("plugins: []\n", "plugins:\n");
    for i in 0..count {
        write(&env.atk_home.join(format!("plugins/p{i}/plugin.yaml")), &yaml(&format!("p{i}"), body), false);
        manifest.push_str(&format!(
            "- name: p{i}\n  directory: p{i}\n  source:\n    type: local\n    ref: null\n    url: null\n"
        ));
    }
    write(&env.atk_home.join("manifest.yaml"), &manifest, false);
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "many"]);
}

#[test]
fn thousands_of_plugins_under_a_memory_limit_are_no_abort() {
    // 2,000 plugins, each with a status command, a start command and a port (a cloned home: the
    // folders and the manifest written as they would be, and committed).
    let env = Env::new();
    cloned_home_of(&env, 2000, "lifecycle:\n  status: 'true'\n  start: 'true'\nports:\n  - port: 1\n");
    // 256 MB of address space: what atk itself allocates here is a few MB; most of the limit goes
    // to the debug binary's own mapping (88 MB since the backup archives brought age and tar) and
    // the reserved stacks of its 34 threads.
    for args in [&["status", "--json"][..], &["start", "--all"], &["restart", "--all"]] {
        let out = wait_with_timeout(limited(&env, 256_000, args).spawn().unwrap(), 200);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("memory allocation"), "atk {args:?}: {}", &err[..err.len().min(400)]);
        assert_eq!(out.status.code(), Some(0), "atk {args:?}: {}", &err[..err.len().min(400)]);
    }
    let out = wait_with_timeout(limited(&env, 256_000, &["status", "--json"]).spawn().unwrap(), 200);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let plugins = doc["plugins"].as_array().unwrap();
    assert_eq!(plugins.len(), 2000);
    assert!(plugins.iter().all(|p| p["status"] == "running"), "{}", plugins[0]);
}

#[test]
#[ignore = "needs root, to run atk as another user, as CI has (.ci/run runs the ignored tests)"]
fn status_and_undo_under_a_process_limit_are_no_panic() {
    // A process limit holds for a user that is not root: atk runs as `nobody`, with at most 5
    // processes and threads.
    let can = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "true"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(can, "cannot run as another user here (this test needs root)");
    // A home with an index big enough for gix to compare it on several threads.
    let env = Env::new();
    cloned_home_of(
        &env,
        3000,
        "lifecycle:\n  status: 'true'\n  start: 'true'\n  health_endpoint: http://127.0.0.1:1/\n",
    );
    // The last commit is atk's, and a file of the user's is there: `undo` compares the home with
    // its last commit (and refuses, changing nothing).
    let src = env.plugin("src-last", &yaml("Last", ""), &[]);
    env.ok(&["add", src.to_str().unwrap(), "-y"]);
    write(&env.atk_home.join("plugins/last/mine.txt"), "mine\n", false);
    // atk itself where `nobody` can run it, whatever the folders above the build are.
    let atk = env.path("atk");
    std::fs::copy(bin(), &atk).unwrap();
    let opened = std::process::Command::new("chmod").arg("-R").arg("a+rwX").arg(env.dir.path()).status().unwrap();
    assert!(opened.success());
    for limit in 3..=12 {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "bash", "-c"])
            .arg(format!("ulimit -u {limit} && exec \"$0\" \"$@\""))
            .arg(&atk)
            .args(["undo", "-y"]);
        env.apply(&mut c);
        let out = wait_with_timeout(c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap(), 200);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "undo, ulimit -u {limit}: {}", &err[..err.len().min(600)]);
        assert_ne!(out.status.code(), Some(101), "undo, ulimit -u {limit}");
    }
    assert!(env.atk_home.join("plugins/last/mine.txt").exists());
    // Whatever the limit, where gix's threads run out (the number of threads alive then varies).
    for limit in 3..=12 {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "bash", "-c"])
            .arg(format!("ulimit -u {limit} && exec \"$0\" \"$@\""))
            .arg(&atk)
            .arg("status");
        env.apply(&mut c);
        let out = wait_with_timeout(c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap(), 200);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "ulimit -u {limit}: {}", &err[..err.len().min(600)]);
        assert_eq!(out.status.code(), Some(0), "ulimit -u {limit}: {}", &err[..err.len().min(600)]);
    }
}
