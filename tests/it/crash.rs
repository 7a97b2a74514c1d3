//! kill -9 at the worst moments (issue 8, item 5): in the commit window and in the middle of a
//! fetch. Made deterministic with the failpoints of debug builds (`ATK_FAILPOINT`): atk stops
//! there and says so, and the test kills it. The next atk must clear what the killed one left
//! (git's lock files, temporary files) and work, for every home and for the cache.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::servers::*;
use crate::sources::*;

/// Starts atk armed to stop at `failpoint`; returns once it is there.
fn stop_at(env: &Env, failpoint: &str, args: &[&str]) -> Running {
    let ready = env.path(&format!("{failpoint}.ready"));
    let mut child = env
        .std_cmd()
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

fn kill_9(mut running: Running) {
    let mut child = running.0.take().unwrap();
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "{status}");
}

/// Every file of the test folder outside the home and the cache, with its content.
fn outside(env: &Env) -> BTreeMap<PathBuf, Vec<u8>> {
    let skip = [env.atk_home.as_path(), env.cache.as_path()];
    let mut out = BTreeMap::new();
    for e in walkdir::WalkDir::new(env.dir.path()).min_depth(1).into_iter().filter_entry(|e| !skip.contains(&e.path()))
    {
        let e = e.unwrap();
        let p = e.path().to_path_buf();
        if e.file_type().is_file() {
            out.insert(p.clone(), std::fs::read(&p).unwrap());
        } else if !e.file_type().is_dir() {
            out.insert(p.clone(), std::fs::read_link(&p).unwrap().to_string_lossy().as_bytes().to_vec());
        }
    }
    out
}

fn files_named(dir: &Path, pred: &dyn Fn(&str) -> bool) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .flatten()
        .filter(|e| !e.file_type().is_dir() && pred(&e.file_name().to_string_lossy()))
        .map(walkdir::DirEntry::into_path)
        .collect()
}

#[test]
fn kill_9_in_the_commit_window_never_wedges_the_home() {
    let env = Env::new();
    env.ok(&["add", env.fixture("skill-only").to_str().unwrap(), "-y"]);
    let src = env.fixture("minimal");
    let before = env.snapshot();
    let log_before = env.log();
    let untouched = outside(&env);

    let child = stop_at(&env, "commit", &["add", src.to_str().unwrap(), "-y"]);
    // Stopped after the branch moved, with the index lock held (as git does).
    assert_eq!(env.log()[0], "Add plugin 'Minimal'");
    let git = env.atk_home.join(".git");
    assert!(git.join("index.lock").is_file());
    kill_9(child);

    // A kill inside gix's ref update would also leave HEAD.lock and the branch's lock; no failpoint
    // reaches in there, so they are made here as such a kill leaves them. Also temp files of
    // atomic writes, and lock-like files that are not git's and must stay.
    for stale in ["HEAD.lock", "refs/heads/main.lock", "packed-refs.lock", "config.lock"] {
        write(&git.join(stale), "stale\n", false);
    }
    for tmp in [".atk-tmp-4242-0", ".git/.atk-tmp-4242-1", "plugins/skill-only/.atk-tmp-4242-2"] {
        write(&env.atk_home.join(tmp), "half-written", false);
    }
    write(&git.join("refs/tags/mine.lock"), "not atk's\n", false);
    write(&env.atk_home.join("plugins/skill-only/data.lock"), "a plugin's file\n", false);
    // A plugin may ship a file whose name merely starts like atk's temporary files.
    write(&env.atk_home.join("plugins/skill-only/.atk-tmp-notes.md"), "a plugin's file\n", false);

    // Before the fix: exit 7 ("cannot move the branch back"), even for `atk list`.
    let out = env.cmd().arg("list").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("`atk add") && err.contains("was interrupted") && err.contains("rolled back"), "{err}");
    for gone in ["index.lock", "HEAD.lock", "refs/heads/main.lock", "packed-refs.lock", "config.lock"] {
        assert!(!git.join(gone).exists(), "{gone} was left");
    }
    let temps = files_named(&env.atk_home, &|n| n.starts_with(".atk-tmp") && n != ".atk-tmp-notes.md");
    assert!(temps.is_empty(), "temporary files left: {temps:?}");
    assert!(env.atk_home.join("plugins/skill-only/.atk-tmp-notes.md").is_file(), "only atk's own names go");
    std::fs::remove_file(env.atk_home.join("plugins/skill-only/.atk-tmp-notes.md")).unwrap();
    assert!(git.join("refs/tags/mine.lock").is_file(), "only git's lock files of atk's kind are removed");
    std::fs::remove_file(git.join("refs/tags/mine.lock")).unwrap();
    assert!(env.atk_home.join("plugins/skill-only/data.lock").is_file(), "a plugin's files are left alone");
    std::fs::remove_file(env.atk_home.join("plugins/skill-only/data.lock")).unwrap();

    assert_eq!(env.snapshot(), before);
    assert_eq!(env.log(), log_before);
    assert_eq!(outside(&env), untouched, "nothing outside the home changed");

    // The home works: the same add, then another mutation.
    assert!(env.ok(&["add", src.to_str().unwrap(), "-y"]).contains("Added 'Minimal'"));
    env.ok(&["remove", "skill-only"]);
    assert_eq!(env.log()[..2], ["Remove plugin 'Skill Only'", "Add plugin 'Minimal'"], "{:?}", env.log());
    assert_eq!(env.git(&["status", "--porcelain"]), "");
    assert!(files_named(&git, &|n| n.ends_with(".lock") && n != "lock").is_empty());
}

#[test]
fn kill_9_in_the_middle_of_a_fetch_never_wedges_the_cache() {
    let env = Env::new();
    let (_, root, _) = served_registry(&env, true);
    let daemon = GitDaemon::start(&root);
    let url = daemon.url("registry.git");
    let add = ["--registry", url.as_str(), "add", "hello", "--set", "HELLO_NAME=x"];
    let before = env.snapshot();
    let untouched = outside(&env);

    let child = stop_at(&env, "fetch", &add);
    let cache = cache_repo(&env);
    // Stopped half-way through receiving a pack: the shallow file is locked.
    assert!(cache.join("shallow.lock").is_file(), "{:?}", files_named(&cache, &|_| true));
    kill_9(child);
    // A second source of stale state: a lock under refs/ (a kill while pinning the commit).
    write(&cache.join("refs/atk/pins/0123.lock"), "stale\n", false);

    assert_eq!(env.snapshot(), before);
    assert_eq!(outside(&env), untouched, "nothing outside the home and the cache changed");
    env.ok(&["list"]);
    // The same source again: before the fix, every fetch failed on shallow.lock.
    let out = env.ok(&add);
    assert!(out.contains("Added 'hello'"), "{out}");
    let left = files_named(&cache, &|n| n.ends_with(".lock") || n.starts_with(".tmp") || n.ends_with(".keep"));
    assert!(left.is_empty(), "left in the cache: {left:?}");
    // And every other home using the cache.
    let other = Env::bare();
    let other = Env { cache: env.cache.clone(), ..other };
    other.ok(&["init"]);
    other.ok(&["--registry", &url, "add", "notes"]);
    env.ok(&["add", env.fixture("minimal").to_str().unwrap(), "-y"]);
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

#[test]
fn a_half_made_cache_repository_is_made_again() {
    let env = Env::new();
    let (_, root, _) = served_registry(&env, true);
    let daemon = GitDaemon::start(&root);
    let url = daemon.url("registry.git");
    env.ok(&["--registry", &url, "search"]);
    // As a kill in the middle of creating it leaves it: a folder that is not a repository yet.
    let cache = cache_repo(&env);
    std::fs::remove_dir_all(&cache).unwrap();
    std::fs::create_dir_all(cache.join("refs")).unwrap();
    write(&cache.join("config"), "[core]\n", false);
    let out = env.ok(&["--registry", &url, "add", "hello", "--set", "HELLO_NAME=x", "--refresh"]);
    assert!(out.contains("Added 'hello'"), "{out}");
    assert!(cache.join("HEAD").is_file());
}

#[test]
fn ctrl_c_ends_the_wait_for_a_cache_lock_another_atk_holds() {
    let env = Env::new();
    let (_, root, _) = served_registry(&env, true);
    let daemon = GitDaemon::start(&root);
    let url = daemon.url("registry.git");
    let add = ["--registry", url.as_str(), "add", "hello", "--set", "HELLO_NAME=x"];
    // The first atk stops in the middle of its fetch, holding the cache lock.
    let holder = stop_at(&env, "fetch", &add);
    // A second one, for another home sharing the cache, waits for that lock.
    let other = Env { cache: env.cache.clone(), ..Env::bare() };
    other.ok(&["init"]);
    let before = other.snapshot();
    let mut cmd = other.std_cmd();
    cmd.args(add).env("ATK_NET_TIMEOUT", "600").stdout(Stdio::null()).stderr(Stdio::piped());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut waiter = Running(Some(cmd.spawn().unwrap()));
    let w = waiter.0.as_mut().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(w.try_wait().unwrap().is_none(), "the second atk waits for the lock");
    let sent = Instant::now();
    assert!(std::process::Command::new("kill")
        .args(["-INT", "--", &format!("-{}", w.id())])
        .status()
        .unwrap()
        .success());
    while w.try_wait().unwrap().is_none() {
        assert!(sent.elapsed() < Duration::from_secs(20), "Ctrl-C did not end the wait");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = waiter.0.take().unwrap().wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(other.snapshot(), before);
    kill_9(holder);
    assert!(other.ok(&add).contains("Added 'hello'"));
}

#[test]
fn temp_file_cleanup_never_follows_a_link_out_of_the_home() {
    let env = Env::new();
    let victim = env.path("victim");
    write(&victim.join(".atk-tmp-1-1"), "not the home's\n", false);
    std::os::unix::fs::symlink(&victim, env.atk_home.join("plugins/evil")).unwrap();
    write(&env.atk_home.join("plugins/.atk-tmp-1-2"), "", false);
    write(&env.atk_home.join(".atk-tmp-1-3"), "", false);
    // Any mutating command cleans up first (here one that then fails: no such plugin).
    env.fails(4, &["remove", "nothing-here"]);
    assert!(victim.join(".atk-tmp-1-1").is_file(), "a file outside the home was removed");
    assert!(!env.atk_home.join(".atk-tmp-1-3").exists(), "the home's own temp file is cleaned");
}

#[test]
fn kill_9_during_init_leaves_no_half_made_home() {
    let env = Env::bare();
    kill_9(stop_at(&env, "init", &["init"]));
    // The home is built beside its place and renamed in: nothing is where the home should be.
    assert!(!env.atk_home.exists(), "a killed init left {}", env.atk_home.display());
    let beside = |env: &Env| -> Vec<String> {
        std::fs::read_dir(env.atk_home.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| n.starts_with(".atk-init"))
            .collect()
    };
    assert_eq!(beside(&env).len(), 1, "the half-made home is beside its place");
    env.ok(&["init"]);
    assert!(beside(&env).is_empty(), "the next init removes it: {:?}", beside(&env));
    assert_eq!(env.log(), ["Initialize ATK Home"]);
    env.ok(&["add", "-y", env.fixture("minimal").to_str().unwrap()]);

    // Into an empty folder that is there already: the same, and the folder keeps its mode.
    let env = Env::bare();
    std::fs::create_dir(&env.atk_home).unwrap();
    std::fs::set_permissions(&env.atk_home, std::os::unix::fs::PermissionsExt::from_mode(0o750)).unwrap();
    kill_9(stop_at(&env, "init", &["init"]));
    assert_eq!(std::fs::read_dir(&env.atk_home).unwrap().count(), 0, "the folder is still empty");
    env.ok(&["init"]);
    assert_eq!(mode(&env.atk_home), 0o750);
    assert_eq!(env.log(), ["Initialize ATK Home"]);
}
