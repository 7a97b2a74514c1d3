use crate::common::servers::*;
use crate::common::sources::*;
use crate::common::*;

/// Scenario 5: a home with two registry plugins, a git plugin and a local plugin, customized and
/// pushed; the sources move on; a clone on a "new laptop" gets every plugin at the pinned commits.
#[test]
fn a_cloned_home_comes_back_at_the_same_pins() {
    let a = Env::new();
    let (work, root, bare) = served_registry(&a, true);
    let tool = git_source_work(&a);
    publish(&tool, &root, "tool.git", true);
    let http = HttpServer::start(&root);
    let reg = http.url("registry.git");
    a.ok(&["--registry", &reg, "add", "-y", "hello", "--set", "HELLO_NAME=Ada"]);
    a.ok(&["--registry", &reg, "add", "-y", "notes"]);
    a.ok(&["add", "-y", &http.url("tool.git")]);
    a.ok(&["add", "-y", a.fixture("minimal").to_str().unwrap()]);
    write(&a.atk_home.join("plugins/hello/custom/overrides.yaml"), "description: my hello\n", false);
    a.git(&["add", "-A"]);
    a.git(&["commit", "-qm", "customize hello"]);
    let pinned_registry = head(&work);
    let pinned_tool = head(&tool);
    let remote = a.path("home.git");
    git(a.dir.path(), &["clone", "-q", "--bare", a.atk_home.to_str().unwrap(), remote.to_str().unwrap()]);

    // The sources move on.
    write(&work.join("plugins/hello/NEW.md"), "v2", false);
    commit_all(&work, "hello v2");
    republish(&work, &bare);
    write(&tool.join(".atk/NEW.md"), "v2", false);
    commit_all(&tool, "tool v2");
    republish(&tool, &root.join("tool.git"));

    // The new laptop: its own HOME and an empty cache.
    let b = Env::bare();
    git(b.dir.path(), &["clone", "-q", remote.to_str().unwrap(), b.atk_home.to_str().unwrap()]);
    let manifest = b.manifest();
    b.ok(&["--registry", &reg, "setup", "--all", "--set", "HELLO_NAME=Bob"]);
    b.ok(&["--registry", &reg, "install", "--all"]);
    for (dir, pin) in [("hello", &pinned_registry), ("notes", &pinned_registry), ("echo-tool", &pinned_tool)] {
        let p = b.atk_home.join("plugins").join(dir);
        assert_eq!(std::fs::read_to_string(p.join(".atk-ref")).unwrap(), format!("{pin}\n"), "{dir}");
        assert!(!p.join("NEW.md").exists(), "{dir} must be at the pinned commit, not the new one");
    }
    assert_eq!(
        std::fs::read_to_string(b.atk_home.join("plugins/hello/custom/overrides.yaml")).unwrap(),
        "description: my hello\n"
    );
    assert_eq!(
        std::fs::read_to_string(b.atk_home.join("plugins/hello/runtime/greeting.txt")).unwrap(),
        "Hello, Bob!\n"
    );
    assert!(b.atk_home.join("plugins/minimal/plugin.yaml").is_file(), "the local plugin came with the clone");
    assert_eq!(b.manifest(), manifest);
    assert_eq!(b.git(&["status", "--porcelain"]), "");

    // Again, with every source unreachable: nothing to fetch, and it succeeds.
    drop(http);
    std::fs::rename(&work, b.path("registry-gone")).unwrap();
    b.ok(&["--registry", &reg, "install", "--all"]);
    b.ok(&["--registry", &reg, "install", "--all", "--frozen"]);
    assert_eq!(b.manifest(), manifest);
}

#[test]
fn frozen_offline_and_missing_sources() {
    let a = Env::new();
    let (work, root, _) = served_registry(&a, true);
    let http = HttpServer::start(&root);
    let reg = http.url("registry.git");
    a.ok(&["--registry", &reg, "add", "-y", "notes"]);
    a.ok(&["add", "-y", a.fixture("minimal").to_str().unwrap()]);
    let remote = a.path("home.git");
    git(a.dir.path(), &["clone", "-q", "--bare", a.atk_home.to_str().unwrap(), remote.to_str().unwrap()]);

    let b = Env::bare();
    git(b.dir.path(), &["clone", "-q", remote.to_str().unwrap(), b.atk_home.to_str().unwrap()]);
    let before = b.snapshot();
    let (_, err) = b.fails(7, &["--registry", &reg, "install", "--all", "--frozen"]);
    assert!(err.contains("--frozen: 1 plugin would need a fetch: notes"), "{err}");
    let (_, err) = b.fails(1, &["--registry", &reg, "install", "--all", "--offline"]);
    assert!(err.contains("is not in the cache") && err.contains("hint: run without --offline"), "{err}");
    assert_eq!(b.snapshot(), before);

    // A local plugin whose files are gone is a failure of that plugin; the others go on.
    std::fs::remove_dir_all(b.atk_home.join("plugins/minimal")).unwrap();
    let (out, err) = b.fails(1, &["--registry", &reg, "install", "--all"]);
    assert!(err.contains("✗ Minimal: the files of the local plugin 'Minimal' are missing"), "{err}");
    assert!(out.contains("✓ Notes"), "{out}");
    let _ = work;
}

#[test]
fn a_pinned_commit_the_source_no_longer_has_is_named() {
    let a = Env::new();
    let (work, root, bare) = served_registry(&a, true);
    let http = HttpServer::start(&root);
    let reg = http.url("registry.git");
    a.ok(&["--registry", &reg, "add", "-y", "notes"]);
    let pinned = head(&work);
    let remote = a.path("home.git");
    git(a.dir.path(), &["clone", "-q", "--bare", a.atk_home.to_str().unwrap(), remote.to_str().unwrap()]);
    // The registry rewrites its history: the pinned commit is gone from the server.
    git(&work, &["commit", "-q", "--amend", "-m", "rewritten"]);
    republish(&work, &bare);
    git(&bare, &["reflog", "expire", "--expire=now", "--all"]);
    git(&bare, &["gc", "-q", "--prune=now"]);

    let b = Env::bare();
    git(b.dir.path(), &["clone", "-q", remote.to_str().unwrap(), b.atk_home.to_str().unwrap()]);
    let (_, err) = b.fails(7, &["--registry", &reg, "install", "notes"]);
    assert!(err.contains(&pinned) && err.contains(&reg) && err.contains("'notes'"), "{err}");
}

#[test]
fn install_runs_again_when_files_match_the_pin() {
    let env = Env::new();
    let work = registry_work(&env);
    env.ok(&["--registry", work.to_str().unwrap(), "add", "-y", "hello", "--set", "HELLO_NAME=x"]);
    std::fs::remove_dir_all(env.atk_home.join("plugins/hello/runtime")).unwrap();
    let out = env.ok(&["--registry", work.to_str().unwrap(), "install", "hello"]);
    assert!(out.contains("hello: install ran"), "{out}");
    assert!(env.atk_home.join("plugins/hello/runtime/greeting.txt").is_file());
    write(&env.atk_home.join("plugins/hello/.env"), "# emptied\n", false);
    let (_, err) = env.fails(8, &["install", "hello"]);
    assert!(
        err.contains("HELLO_NAME in plugin 'hello'") && err.contains("atk install hello --set HELLO_NAME=VALUE"),
        "{err}"
    );
}

#[test]
fn parallel_fetches_of_two_commits_of_one_source_share_the_cache() {
    let a = Env::new();
    let (work, root, bare) = served_registry(&a, true);
    let http = HttpServer::start(&root);
    let reg = http.url("registry.git");
    a.ok(&["--registry", &reg, "add", "-y", "hello", "--set", "HELLO_NAME=x"]);
    let first = head(&work);
    write(&work.join("plugins/third/more.txt"), "v2", false);
    commit_all(&work, "v2");
    republish(&work, &bare);
    a.ok(&["--registry", &reg, "add", "-y", "third", "--refresh"]);
    let second = head(&work);
    assert_ne!(first, second);
    let remote = a.path("home.git");
    git(a.dir.path(), &["clone", "-q", "--bare", a.atk_home.to_str().unwrap(), remote.to_str().unwrap()]);

    let b = Env::bare();
    git(b.dir.path(), &["clone", "-q", remote.to_str().unwrap(), b.atk_home.to_str().unwrap()]);
    b.ok(&["--registry", &reg, "setup", "hello", "--set", "HELLO_NAME=y"]);
    std::fs::remove_file(b.atk_home.join("plugins/hello/.atk-ref")).unwrap();
    std::fs::remove_dir_all(&b.cache).unwrap();
    b.ok(&["--registry", &reg, "install", "--all", "-j", "4"]);
    for (dir, pin) in [("hello", &first), ("third", &second)] {
        let got = std::fs::read_to_string(b.atk_home.join("plugins").join(dir).join(".atk-ref")).unwrap();
        assert_eq!(got.trim(), pin.as_str(), "{dir}");
    }
    assert_eq!(
        std::fs::read_dir(b.cache.join("git"))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "git"))
            .count(),
        1
    );
}
