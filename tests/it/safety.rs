use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::*;

/// A plugin whose install signals that it started, then blocks in `sleep`.
fn slow_plugin(env: &Env, name: &str) -> std::path::PathBuf {
    let started = env.path(&format!("{name}.started"));
    env.plugin(
        name,
        &yaml(name, "lifecycle:\n  install: ./install.sh\n  uninstall: 'true'\n"),
        &[(
            "install.sh",
            &format!("#!/bin/sh\necho $$ > {0}.pid\ntouch {0}\nexec sleep 30\n", started.display()),
            true,
        )],
    )
}

#[test]
fn kill_9_in_the_middle_of_add_is_rolled_back_by_the_next_run() {
    let env = Env::new();
    let before = env.snapshot();
    let src = slow_plugin(&env, "slowpoke");
    let mut child = env.spawn(&["add", "-y", src.to_str().unwrap()]);
    let started = env.path("slowpoke.started");
    wait_for(&started);
    // Half-way: the files are in place, .gitignore is edited, the manifest is not yet.
    assert!(env.atk_home.join("plugins/slowpoke").is_dir());
    signal(child.id(), Signal::KILL).unwrap();
    child.wait().unwrap();
    let sleeper = std::fs::read_to_string(env.path("slowpoke.started.pid")).unwrap();
    signal(sleeper.trim().parse().unwrap(), Signal::KILL).unwrap();
    assert_ne!(env.snapshot(), before, "the killed run left changes");

    let out = env.cmd().arg("list").output().unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`atk add") && err.contains("was interrupted") && err.contains("rolled back"), "{err}");
    assert_eq!(env.snapshot(), before);
    assert!(!env.atk_home.join(".git/atk/journal.json").exists());
    assert!(
        env.ok(&["add", "-y", env.fixture("minimal").to_str().unwrap()]).contains("Added"),
        "the home works after the rollback"
    );
}

#[test]
fn ctrl_c_during_install_exits_130_and_rolls_back() {
    let env = Env::new();
    let before = env.snapshot();
    let src = slow_plugin(&env, "sigint");
    let mut cmd = env.std_cmd();
    cmd.args(["add", "-y", src.to_str().unwrap()]).stdout(Stdio::null()).stderr(Stdio::piped()).process_group(0);
    let child = cmd.spawn().unwrap();
    wait_for(&env.path("sigint.started"));
    // A terminal's Ctrl-C reaches the whole foreground process group.
    signal_group(child.id(), Signal::INT).unwrap();
    let out = wait_with_timeout(child, 60);
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
    assert_eq!(env.snapshot(), before);
}

#[test]
fn two_concurrent_adds_both_succeed_one_after_the_other() {
    let env = Env::new();
    // The first add holds the lock until the test releases it, which it does only once the second
    // has said that it waits: a handshake, not a race against a sleep.
    let release = env.path("first.release");
    let install = format!(
        "#!/bin/sh\ntouch {}\ni=0\nwhile [ ! -f {} ]; do i=$((i+1)); [ $i -gt 1200 ] && exit 1; sleep 0.05; done\n",
        env.path("first.started").display(),
        release.display()
    );
    let first = env.plugin(
        "first",
        &yaml("First", "lifecycle:\n  install: ./install.sh\n  uninstall: 'true'\n"),
        &[("install.sh", &install, true)],
    );
    let second = env.fixture("minimal");
    let a = env.spawn(&["add", "-y", first.to_str().unwrap()]);
    wait_for(&env.path("first.started"));
    let mut b = env.spawn(&["add", "-y", second.to_str().unwrap()]);
    let b_err = b.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut all = String::new();
        for line in std::io::BufReader::new(b_err).lines() {
            let line = line.unwrap();
            if line.contains("waiting for another atk") {
                let _ = tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    rx.recv_timeout(Duration::from_secs(30)).expect("the second add never said it waits for the lock");
    write(&release, "", false);
    let (a, b) = (wait_with_timeout(a, 60), wait_with_timeout(b, 60));
    let b_err = reader.join().unwrap();
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(b.status.success(), "{b_err}");
    let m = env.manifest();
    assert!(m.contains("directory: first") && m.contains("directory: minimal"), "{m}");
    assert_eq!(env.log(), ["Add plugin 'Minimal'", "Add plugin 'First'", "Initialize ATK Home"]);
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

#[test]
fn a_lock_held_too_long_gives_a_clear_error() {
    let env = Env::new();
    let src = slow_plugin(&env, "holder");
    let mut holder = env.spawn(&["add", "-y", src.to_str().unwrap()]);
    wait_for(&env.path("holder.started"));
    let out = env
        .cmd()
        .args(["add", "-y", env.fixture("minimal").to_str().unwrap()])
        .env("ATK_LOCK_TIMEOUT", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did not finish within 1s"));
    signal(holder.id(), Signal::KILL).unwrap();
    holder.wait().unwrap();
    signal(std::fs::read_to_string(env.path("holder.started.pid")).unwrap().trim().parse().unwrap(), Signal::KILL)
        .unwrap();
}

#[test]
fn a_cache_lock_held_too_long_gives_a_clear_error_and_ctrl_c_ends_the_wait() {
    let env = Env::new();
    let before = env.snapshot();
    // No server behind the URL: the wait for the cache lock comes before any connection.
    let url = "http://127.0.0.1:9/held.git";
    let lock = env.cache.join("git").join(format!("{}.lock", atk::source::git::cache_name(url)));
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    let held = std::fs::File::create(&lock).unwrap();
    held.lock().unwrap();

    let mut cmd = env.std_cmd();
    cmd.args(["add", "-y", url]).env("ATK_LOCK_TIMEOUT", "1").stdout(Stdio::null()).stderr(Stdio::piped());
    let out = wait_with_timeout(cmd.spawn().unwrap(), 60);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("another atk is fetching {url} into the cache and did not finish within 1s")),
        "{err}"
    );
    assert!(
        err.contains("hint: wait for the other atk to finish; set ATK_LOCK_TIMEOUT (seconds) to wait longer"),
        "{err}"
    );
    assert_eq!(env.snapshot(), before);

    // With the default timeout, Ctrl-C ends the wait.
    let mut cmd = env.std_cmd();
    cmd.args(["add", "-y", url]).env_remove("ATK_LOCK_TIMEOUT").stdout(Stdio::null()).stderr(Stdio::piped());
    let child = cmd.process_group(0).spawn().unwrap();
    // (The wait for the cache lock says nothing: it has begun once atk holds the lock file open.)
    wait_until_open(child.id(), &lock);
    let sent = Instant::now();
    signal_group(child.id(), Signal::INT).unwrap();
    let out = wait_with_timeout(child, 60);
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(sent.elapsed() < Duration::from_secs(20), "took {:?}", sent.elapsed());
    assert_eq!(env.snapshot(), before);
    drop(held);
}

#[test]
fn unknown_manifest_keys_survive_add_and_remove() {
    let env = Env::new();
    let m = env.manifest().replace("config:\n", "owner: team-a\nconfig:\n  theme: dark\n");
    write(&env.atk_home.join("manifest.yaml"), &m, false);
    env.ok(&["add", "-y", env.fixture("minimal").to_str().unwrap()]);
    let m = env.manifest().replace("  directory: minimal\n", "  directory: minimal\n  note: keep this\n");
    write(&env.atk_home.join("manifest.yaml"), &m, false);
    env.ok(&["add", "-y", env.fixture("skill-only").to_str().unwrap()]);
    env.ok(&["remove", "skill-only"]);
    let m = env.manifest();
    for key in ["owner: team-a", "theme: dark", "note: keep this"] {
        assert!(m.contains(key), "{key} lost:\n{m}");
    }
}

#[test]
fn a_broken_manifest_is_reported_and_never_overwritten() {
    let env = Env::new();
    let broken = "schema_version: '2026-02-06'\nplugins:\n- name: x\n  directory: [oops\n";
    write(&env.atk_home.join("manifest.yaml"), broken, false);
    let (_, err) = env.fails(1, &["add", "-y", env.fixture("minimal").to_str().unwrap()]);
    assert!(err.contains("manifest.yaml") && err.contains("line"), "{err}");
    assert_eq!(env.manifest(), broken);
    assert!(!env.atk_home.join("plugins/minimal").exists());
    let (_, err) = env.fails(1, &["list"]);
    assert!(err.contains("manifest.yaml"), "{err}");
    write(
        &env.atk_home.join("manifest.yaml"),
        "schema_version: '1'\nplugins:\n- name: x\n  directory: ../../etc\n",
        false,
    );
    let (_, err) = env.fails(1, &["remove", "x"]);
    assert!(err.contains("'../../etc' is not a valid folder name"), "{err}");
}

#[test]
fn confirmations_on_a_terminal_can_decline_or_accept() {
    let env = Env::new();
    let before = env.snapshot();
    let src = env.plugin(
        "unreviewed",
        &yaml("Unreviewed", "lifecycle:\n  install: 'true'\n  uninstall: 'true'\n").replace("maturity: verified\n", ""),
        &[],
    );
    let mut p = env.on_terminal(&["add", src.to_str().unwrap()]);
    p.exp_string("Install 'Unreviewed' anyway?").unwrap();
    p.send("n").unwrap();
    p.flush().unwrap();
    p.exp_string("Cancelled; nothing was changed.").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(env.snapshot(), before);

    let mut p = env.on_terminal(&["add", src.to_str().unwrap()]);
    p.exp_string("anyway?").unwrap();
    p.send("y").unwrap();
    p.flush().unwrap();
    p.exp_string("Added 'Unreviewed'").unwrap();
    p.exp_eof().unwrap();

    let mut p = env.on_terminal(&["remove", "unreviewed"]);
    p.exp_string("Continue?").unwrap();
    p.send("y").unwrap();
    p.flush().unwrap();
    p.exp_string("Removed 'Unreviewed'").unwrap();
    p.exp_eof().unwrap();
    assert!(!env.manifest().contains("unreviewed"));
}
