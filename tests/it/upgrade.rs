use std::path::Path;

use crate::common::sources::*;
use crate::common::*;

/// A home with `hello` from a registry at `work` (a path), customized: custom/ files, .env, and
/// runtime data the plugin did not ship.
fn customized(env: &Env, work: &Path) {
    env.ok(&["--registry", work.to_str().unwrap(), "add", "-y", "hello", "--set", "HELLO_NAME=Ada"]);
    let dir = env.atk_home.join("plugins/hello");
    write(&dir.join("custom/notes.txt"), "my notes\n", false);
    write(&dir.join("runtime/data.db"), "precious runtime data\n", false);
    env.git(&["add", "plugins/hello/custom/notes.txt"]);
    env.git(&["commit", "-qm", "my customization"]);
}

/// A registry commit changing hello (`sources::change_hello`); its id.
fn change_hello(work: &Path) -> String {
    crate::common::sources::change_hello(work);
    commit_all(work, "hello v2")
}

#[test]
fn upgrade_replaces_what_the_plugin_shipped_and_keeps_the_rest() {
    let env = Env::new();
    let work = registry_work(&env);
    let reg = work.to_str().unwrap();
    customized(&env, &work);
    let commits = env.log().len();
    let v2 = change_hello(&work);
    env.ok(&["--registry", reg, "upgrade", "hello", "--yes", "--set", "HELLO_COLOR=red"]);
    let dir = env.atk_home.join("plugins/hello");
    assert!(dir.join("NEW.md").is_file() && !dir.join("README.md").exists());
    assert!(std::fs::read_to_string(dir.join("install.sh")).unwrap().contains("HELLO_COLOR"));
    assert_eq!(mode(&dir.join("install.sh")), 0o755);
    assert_eq!(std::fs::read_to_string(dir.join("custom/notes.txt")).unwrap(), "my notes\n");
    assert_eq!(std::fs::read_to_string(dir.join("runtime/data.db")).unwrap(), "precious runtime data\n");
    assert_eq!(std::fs::read_to_string(dir.join("runtime/color.txt")).unwrap(), "color: red\n", "install ran");
    let dotenv = std::fs::read_to_string(dir.join(".env")).unwrap();
    assert!(dotenv.contains("HELLO_NAME=Ada") && dotenv.contains("HELLO_COLOR=red"), "{dotenv}");
    assert_eq!(std::fs::read_to_string(dir.join(".atk-ref")).unwrap(), format!("{v2}\n"));
    assert!(env.manifest().contains(&format!("ref: {v2}")));
    assert_eq!(env.log().len(), commits + 1);
    assert_eq!(env.log()[0], "Upgrade plugin 'hello'");
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

#[test]
fn a_registry_commit_that_does_not_touch_the_plugin_changes_nothing() {
    let env = Env::new();
    let work = registry_work(&env);
    customized(&env, &work);
    write(&work.join("plugins/notes/README.md"), "only notes changed\n", false);
    commit_all(&work, "notes only");
    let before = env.snapshot();
    let out = env.ok(&["--registry", work.to_str().unwrap(), "upgrade", "hello"]);
    assert!(out.contains("already up to date"), "{out}");
    assert_eq!(env.snapshot(), before);
}

#[test]
fn a_failing_install_puts_the_old_version_back() {
    let env = Env::new();
    let work = registry_work(&env);
    customized(&env, &work);
    let before = env.snapshot();
    let p = work.join("plugins/hello");
    write(&p.join("install.sh"), "#!/bin/sh\necho broken > runtime/partial\nexit 9\n", true);
    write(&p.join("ADDED.md"), "x", false);
    commit_all(&work, "broken install");
    let (_, err) = env.fails(6, &["--registry", work.to_str().unwrap(), "upgrade", "hello", "--yes"]);
    assert!(err.contains("install of plugin 'hello' failed (exit code 9)"), "{err}");
    std::fs::remove_file(env.atk_home.join("plugins/hello/runtime/partial")).unwrap();
    assert_eq!(env.snapshot(), before);
}

#[test]
fn kill_9_during_an_upgrade_is_rolled_back_by_the_next_run() {
    let env = Env::new();
    let work = registry_work(&env);
    customized(&env, &work);
    let before = env.snapshot();
    let started = env.path("upgrade.started");
    let p = work.join("plugins/hello");
    write(
        &p.join("install.sh"),
        &format!("#!/bin/sh\necho $$ > {0}.pid\ntouch {0}\nexec sleep 30\n", started.display()),
        true,
    );
    commit_all(&work, "slow install");
    let mut child = env.spawn(&["--registry", work.to_str().unwrap(), "upgrade", "hello", "--yes"]);
    let start = std::time::Instant::now();
    while !started.exists() {
        assert!(start.elapsed() < std::time::Duration::from_secs(30), "the upgrade's install never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_ne!(env.snapshot(), before);
    child.kill().unwrap();
    child.wait().unwrap();
    let sleeper = std::fs::read_to_string(env.path("upgrade.started.pid")).unwrap();
    let _ = signal(sleeper.trim().parse().unwrap(), Signal::KILL);
    let out = env.cmd().arg("list").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("`atk upgrade hello` was interrupted"));
    assert_eq!(env.snapshot(), before);
}

#[test]
fn dry_run_shows_the_plan_and_changes_nothing() {
    let env = Env::new();
    let work = registry_work(&env);
    customized(&env, &work);
    change_hello(&work);
    let before = env.snapshot();
    let out = env.ok(&["--registry", work.to_str().unwrap(), "upgrade", "hello", "--dry-run"]);
    for needle in [
        "+ NEW.md",
        "~ install.sh",
        "- README.md",
        "lifecycle install: ./install.sh → ./install.sh --v2",
        "new variable HELLO_COLOR (required)",
    ] {
        assert!(out.contains(needle), "{needle} missing:\n{out}");
    }
    let v: serde_json::Value = serde_json::from_str(&env.ok(&[
        "--registry",
        work.to_str().unwrap(),
        "upgrade",
        "hello",
        "--dry-run",
        "--json",
    ]))
    .unwrap();
    assert_eq!(v["plugins"][0]["status"], "would-upgrade");
    assert_eq!(v["summary"]["upgraded"], 1, "a dry run counts what it would upgrade: {v}");
    assert_eq!(v["plugins"][0]["files"]["removed"][0], "README.md");
    assert_eq!(env.snapshot(), before);
}

#[test]
fn decisions_that_need_a_person_stop_before_anything_changes() {
    let env = Env::new();
    let work = registry_work(&env);
    customized(&env, &work);
    change_hello(&work);
    let before = env.snapshot();
    let reg = work.to_str().unwrap();
    let (_, err) = env.fails(2, &["--registry", reg, "upgrade", "hello"]);
    assert!(err.contains("--yes"), "{err}");
    let (_, err) = env.fails(8, &["--registry", reg, "upgrade", "hello", "--yes"]);
    assert!(err.contains("HELLO_COLOR in plugin 'hello'"), "{err}");
    assert_eq!(env.snapshot(), before);
}

#[test]
fn local_plugins_cannot_be_upgraded() {
    let env = Env::new();
    env.ok(&["add", "-y", env.fixture("minimal").to_str().unwrap()]);
    let (_, err) = env.fails(5, &["upgrade", "minimal"]);
    assert!(err.contains("local plugin") && err.contains("editing its files"), "{err}");
    env.fails(4, &["upgrade", "nope"]);
}

#[test]
fn upgrade_all_goes_on_past_a_failing_source() {
    let env = Env::new();
    let work = registry_work(&env);
    let reg = work.to_str().unwrap();
    env.ok(&["--registry", reg, "add", "-y", "hello", "--set", "HELLO_NAME=x"]);
    env.ok(&["--registry", reg, "add", "-y", "notes"]);
    let tool = git_source_work(&env);
    env.ok(&["add", "-y", &format!("file://{}", tool.display())]);
    env.ok(&["add", "-y", env.fixture("minimal").to_str().unwrap()]);
    write(&work.join("plugins/notes/EXTRA.md"), "x", false);
    let v2 = commit_all(&work, "notes v2");
    std::fs::rename(&tool, env.path("tool-gone")).unwrap();
    let out = env.cmd().args(["--registry", reg, "upgrade", "--all", "--yes"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("Upgraded 'Notes'") && stdout.contains("hello: already up to date"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("✗ Echo Tool") && stderr.contains("tool-work"), "{stderr}");
    assert!(!stdout.contains('✗'), "failures go to stderr: {stdout}");
    assert!(stdout.contains("Minimal: local plugin, skipped"), "{stdout}");
    assert!(stdout.contains("1 upgraded, 1 up to date, 1 skipped, 1 failed"), "{stdout}");
    assert!(env.manifest().contains(&format!("ref: {v2}")));
    assert_eq!(env.log()[0], "Upgrade plugin 'Notes'");
}

#[test]
fn files_of_the_user_are_never_replaced_by_shipped_ones() {
    let env = Env::new();
    let work = registry_work(&env);
    write(&work.join("plugins/hello/custom/settings.yml"), "shipped: 1\n", false);
    write(&work.join("plugins/hello/custom/extra.yml"), "shipped: 1\n", false);
    commit_all(&work, "hello ships custom/ files");
    customized(&env, &work);
    let dir = env.atk_home.join("plugins/hello");
    assert_eq!(std::fs::read_to_string(dir.join("custom/settings.yml")).unwrap(), "shipped: 1\n", "copied on add");
    write(&dir.join("custom/settings.yml"), "mine: 2\n", false);
    std::fs::remove_file(dir.join("custom/extra.yml")).unwrap();
    write(&work.join("plugins/hello/custom/settings.yml"), "shipped: 2\n", false);
    write(&work.join("plugins/hello/.env"), "HELLO_NAME=shipped\n", false);
    write(&work.join("plugins/hello/CHANGED.md"), "v2\n", false);
    commit_all(&work, "v2");
    env.ok(&["--registry", work.to_str().unwrap(), "upgrade", "hello", "--yes"]);
    assert_eq!(std::fs::read_to_string(dir.join("custom/settings.yml")).unwrap(), "mine: 2\n");
    assert_eq!(
        std::fs::read_to_string(dir.join("custom/extra.yml")).unwrap(),
        "shipped: 1\n",
        "placed where the user has none"
    );
    assert!(std::fs::read_to_string(dir.join(".env")).unwrap().contains("HELLO_NAME=Ada"));
    assert!(dir.join("CHANGED.md").is_file());
}

#[test]
fn upgrade_all_fetches_each_source_once_for_all_its_plugins() {
    use crate::common::servers::*;
    let env = Env::new();
    let (work, root, bare) = served_registry(&env, true);
    let http = HttpServer::start(&root);
    let reg = http.url("registry.git");
    for p in ["hello", "notes", "third"] {
        env.ok(&["--registry", &reg, "add", "-y", p, "--set", "HELLO_NAME=x"]);
    }
    write(&work.join("plugins/notes/EXTRA.md"), "x", false);
    write(&work.join("plugins/third/EXTRA.md"), "y", false);
    commit_all(&work, "notes and third change");
    republish(&work, &bare);
    http.clear();
    let out = env.ok(&["--registry", &reg, "upgrade", "--all", "--yes"]);
    assert!(out.contains("2 upgraded, 1 up to date, 0 skipped, 0 failed"), "{out}");
    let fetches =
        http.requests().iter().filter(|r| String::from_utf8_lossy(&r.request).contains("command=fetch")).count();
    // The new commit's trees, then the new files of both changed plugins together (the index did
    // not change, so its blob is in the cache already): two fetches.
    assert_eq!(fetches, 2, "{:#?}", http.requests().iter().map(|r| &r.path).collect::<Vec<_>>());
}

/// Round trips: with nothing new, each distinct source is asked for its HEAD once (one handshake
/// and one `ls-refs`), and all sources at once, not one after another.
#[test]
fn upgrade_all_looks_up_each_source_once_all_in_parallel() {
    use crate::common::servers::*;
    let env = Env::new();
    let (_, root, _) = served_registry(&env, true);
    let tool = git_source_work(&env);
    publish(&tool, &root, "tool.git", true);
    write(&tool.join(".atk/plugin.yaml"), &yaml("Other Tool", ""), false);
    commit_all(&tool, "another tool");
    publish(&tool, &root, "other.git", true);
    let http = HttpServer::start(&root);
    let reg = http.url("registry.git");
    for p in ["hello", "notes", "third"] {
        env.ok(&["--registry", &reg, "add", "-y", p, "--set", "HELLO_NAME=x"]);
    }
    env.ok(&["add", "-y", &http.url("tool.git")]);
    env.ok(&["add", "-y", &http.url("other.git")]);
    http.clear();
    http.gather_gets(3);
    let out = env.ok(&["--registry", &reg, "upgrade", "--all", "--yes"]);
    assert!(out.contains("0 upgraded, 5 up to date, 0 skipped, 0 failed"), "{out}");
    let mut requests: Vec<String> = http.requests().iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    requests.sort();
    let mut expected: Vec<String> = ["other.git", "registry.git", "tool.git"]
        .iter()
        .flat_map(|repo| {
            [format!("GET /{repo}/info/refs?service=git-upload-pack"), format!("POST /{repo}/git-upload-pack")]
        })
        .collect();
    expected.sort();
    assert_eq!(requests, expected, "one lookup per source");
    assert!(
        http.requests().iter().all(|r| !String::from_utf8_lossy(&r.request).contains("command=fetch")),
        "nothing new: nothing fetched"
    );
    assert_eq!(http.most_gets_held_at_once(), 3, "the three sources are looked up at once");
}

#[test]
fn what_the_user_has_where_a_new_version_ships_a_path_is_kept_under_another_name() {
    let env = Env::new();
    let work = registry_work(&env);
    let reg = work.to_str().unwrap();
    env.ok(&["--registry", reg, "add", "third"]);
    let dir = env.atk_home.join("plugins/third");
    // Runtime data the plugin never shipped: a folder, and a log file.
    write(&dir.join("data/db.sqlite"), "precious rows\n", false);
    write(&dir.join("runtime.log"), "my log\n", false);
    write(&dir.join("runtime.log.atk-saved"), "an older save\n", false);
    // The new version ships a file `data` and a file `runtime.log`.
    write(&work.join("plugins/third/data"), "shipped data\n", false);
    write(&work.join("plugins/third/runtime.log"), "shipped log\n", false);
    commit_all(&work, "third v2");

    // A failing upgrade puts everything back where it was.
    let before = env.snapshot();
    write(
        &work.join("plugins/third/plugin.yaml"),
        &yaml("third", "lifecycle:\n  install: 'false'\n  uninstall: 'true'\n"),
        false,
    );
    commit_all(&work, "third v3 cannot install");
    env.fails(6, &["--registry", reg, "upgrade", "third", "--yes"]);
    assert_eq!(env.snapshot(), before);

    write(&work.join("plugins/third/plugin.yaml"), &yaml("third", ""), false);
    commit_all(&work, "third v4");
    let out = env.cmd().args(["--registry", reg, "upgrade", "third", "--yes"]).output().unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ships data, where you had one of your own: yours is kept as data.atk-saved"), "{err}");
    assert!(err.contains("yours is kept as runtime.log.atk-saved-2"), "{err}");
    assert_eq!(std::fs::read_to_string(dir.join("data")).unwrap(), "shipped data\n");
    assert_eq!(std::fs::read_to_string(dir.join("data.atk-saved/db.sqlite")).unwrap(), "precious rows\n");
    assert_eq!(std::fs::read_to_string(dir.join("runtime.log")).unwrap(), "shipped log\n");
    assert_eq!(std::fs::read_to_string(dir.join("runtime.log.atk-saved")).unwrap(), "an older save\n");
    assert_eq!(std::fs::read_to_string(dir.join("runtime.log.atk-saved-2")).unwrap(), "my log\n");
}
