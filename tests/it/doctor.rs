//! `atk doctor`: every check reports ok, warning or problem with its fix; `--fix` repairs what is
//! safe, and a shipped file the user changed only with confirmation.

use crate::common::sources::*;
use crate::common::*;

/// A home with `hello` from the registry work tree at `work` (a path), and a git identity.
fn home_with_hello(env: &Env) -> std::path::PathBuf {
    env.set_identity("Test", "test@example.com");
    let work = registry_work(env);
    env.ok(&["--registry", work.to_str().unwrap(), "add", "-y", "hello", "--set", "HELLO_NAME=Ada"]);
    work
}

#[test]
fn a_healthy_home_has_no_problem() {
    let env = Env::new();
    let work = home_with_hello(&env);
    let out = env.ok(&["--registry", work.to_str().unwrap(), "doctor"]);
    assert!(out.contains("✓ plugin: hello: files equal its pinned commit"), "{out}");
    assert!(out.contains("0 problems"), "{out}");
}

#[test]
fn integrity_drift_is_named_and_repaired() {
    let env = Env::new();
    let work = home_with_hello(&env);
    let reg = work.to_str().unwrap();
    let dir = env.atk_home.join("plugins/hello");
    let pinned_readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    write(&dir.join("README.md"), "my own words\n", false);
    std::fs::remove_file(dir.join("start.sh")).unwrap();
    write(&dir.join("extra.txt"), "not shipped\n", false);
    // The user's own files are never drift.
    write(&dir.join("custom/notes.txt"), "mine\n", false);
    std::fs::set_permissions(dir.join("stop.sh"), std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();

    let (out, _) = env.fails(1, &["--registry", reg, "doctor"]);
    assert!(out.contains("✗ plugin: hello"), "{out}");
    assert!(out.contains("changed since the pinned commit (lost at the next upgrade): README.md, stop.sh"), "{out}");
    assert!(out.contains("shipped files missing: start.sh"), "{out}");
    assert!(out.contains("files it wrote itself (runtime data, kept by upgrades): extra.txt"), "{out}");
    assert!(!out.contains("custom/notes.txt") && !out.contains(".env"), "{out}");

    // Without a person to ask, --fix puts back what is missing and keeps what the user changed.
    let (out, err) = env.fails(1, &["--registry", reg, "doctor", "--fix"]);
    assert!(out.contains("+my own words"), "the change is shown before anything is replaced: {out}");
    assert!(err.contains("not asked"), "{err}");
    assert_eq!(std::fs::read_to_string(dir.join("README.md")).unwrap(), "my own words\n");
    assert_eq!(mode(&dir.join("stop.sh")), 0o644, "a changed file is kept without the answer");
    assert!(dir.join("start.sh").is_file(), "a missing file comes back whatever the answer about the changed ones");

    env.ok(&["--registry", reg, "doctor", "--fix", "--yes"]);
    assert_eq!(std::fs::read_to_string(dir.join("README.md")).unwrap(), pinned_readme);
    assert!(dir.join("start.sh").is_file());
    assert_eq!(mode(&dir.join("stop.sh")), 0o755);
    assert_eq!(std::fs::read_to_string(dir.join("custom/notes.txt")).unwrap(), "mine\n");
    assert_eq!(std::fs::read_to_string(dir.join("extra.txt")).unwrap(), "not shipped\n", "extra files stay");
    assert!(std::fs::read_to_string(dir.join(".env")).unwrap().contains("HELLO_NAME=Ada"));
    let out = env.ok(&["--registry", reg, "doctor"]);
    assert!(out.contains("0 problems"), "{out}");
    env.ok(&["--registry", reg, "diff"]);
}

/// What atk-cli before 0.3.0 wrote: the secret patterns in the middle, and a local plugin's
/// exemption after them (which re-includes its `.env`).
const OLD_GITIGNORE: &str = "# Ignore all plugin contents\nplugins/*/*\n\n# But keep custom directories\n\
    !plugins/*/custom/\n!plugins/*/custom/**\n\n# Always ignore secrets\n*.env\n.env.*\n\n\
    # Update check cache\n.update-cache.yaml\n\n# Local development\n.DS_Store\n!plugins/mine/\n!plugins/mine/**\n";

#[test]
fn secrets_committed_under_the_old_gitignore_are_untracked() {
    untrack_secrets_committed_under_the_old_gitignore();
}

/// atk-cli 0.4.0's own doctor finds nothing left to repair.
#[test]
#[ignore = "needs the Python test venv (target/pyvenv or ATK_TEST_PYTHON; .ci/run makes it)"]
fn after_doctor_fix_atk_cli_0_4_0_finds_nothing_to_fix() {
    let env = untrack_secrets_committed_under_the_old_gitignore();
    let py = crate::common::python::python("after_doctor_fix_atk_cli_0_4_0_finds_nothing_to_fix", &["atk.cli"]);
    let home = env.atk_home.to_str().unwrap();
    let gc = env.home.join(".gitconfig");
    let out = crate::common::python::run(
        &py,
        "import sys\nfrom atk.cli import main_cli\nsys.argv = ['atk', 'doctor']\nmain_cli()\n",
        &[],
        &[
            ("ATK_HOME", home),
            ("HOME", env.home.to_str().unwrap()),
            ("GIT_CONFIG_GLOBAL", gc.to_str().unwrap()),
            ("NO_COLOR", "1"),
        ],
        "",
    );
    assert!(out.contains("Nothing to fix"), "{out}");
}

/// A home whose old `.gitignore` let a local plugin's `.env` be committed, repaired by
/// `doctor --fix`.
fn untrack_secrets_committed_under_the_old_gitignore() -> Env {
    let env = Env::new();
    write(&env.atk_home.join(".gitignore"), OLD_GITIGNORE, false);
    write(&env.atk_home.join("plugins/mine/plugin.yaml"), &yaml("mine", ""), false);
    write(&env.atk_home.join("plugins/mine/.env"), "TOKEN=leaked\n", false);
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "Add plugin 'mine'"]);
    assert!(env.ls_files().contains(&"plugins/mine/.env".to_string()), "git itself tracks it");

    let (out, _) = env.fails(1, &["doctor"]);
    assert!(out.contains("✗ gitignore"), "{out}");
    assert!(out.contains("✗ secrets: 1 secret file is tracked") && out.contains("plugins/mine/.env"), "{out}");

    let out = env.ok(&["doctor", "--fix"]);
    assert!(out.contains("rotate those keys") && out.contains("stay in the git history"), "{out}");
    assert_eq!(env.log()[0], "atk doctor: keep secrets out of git");
    assert!(!env.ls_files().contains(&"plugins/mine/.env".to_string()));
    assert!(env.ls_files().contains(&"plugins/mine/plugin.yaml".to_string()));
    assert_eq!(std::fs::read_to_string(env.atk_home.join("plugins/mine/.env")).unwrap(), "TOKEN=leaked\n");
    assert!(env
        .gitignore()
        .ends_with("# Always ignore secrets — keep LAST (gitignore is last-match-wins)\n*.env\n.env.*\n"));
    assert_eq!(env.git(&["status", "--porcelain"]), "");
    let out = env.ok(&["doctor"]);
    assert!(out.contains("✓ secrets") && out.contains("✓ gitignore"), "{out}");

    env
}

#[test]
fn leftovers_strays_env_overrides_and_git_settings_are_reported() {
    let env = Env::new();
    let work = home_with_hello(&env);
    let reg = work.to_str().unwrap();
    env.ok(&["--registry", reg, "add", "-y", "third"]);
    // The required variable loses its value; an override breaks the definition of another plugin.
    write(&env.atk_home.join("plugins/hello/.env"), "HELLO_NAME=\n", false);
    write(&env.atk_home.join("plugins/third/custom/overrides.yaml"), "lifecycle: 12\n", false);
    let manifest = env.manifest().replace("auto_push: false", "auto_push: true");
    write(&env.atk_home.join("manifest.yaml"), &manifest, false);
    // A run killed half-way: its journal (nothing to undo in it) and a staging folder.
    let state = env.atk_home.join(".git/atk");
    write(&state.join("journal.jsonl"), "{\"operation\":\"atk add ghost\"}\n", false);
    std::fs::create_dir_all(state.join("staging/stage-x/plugin")).unwrap();
    std::fs::create_dir_all(env.atk_home.join("plugins/stray")).unwrap();

    let out = env.cmd().args(["--registry", reg, "doctor", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let checks = doc["checks"].as_array().unwrap();
    let find = |check: &str, dir: Option<&str>| {
        checks
            .iter()
            .find(|c| c["check"] == check && c["directory"].as_str() == dir)
            .unwrap_or_else(|| panic!("no check {check} {dir:?} in {doc}"))
            .clone()
    };
    let leftovers = find("leftovers", None);
    assert_eq!(leftovers["status"], "problem", "{leftovers}");
    assert!(leftovers["details"].to_string().contains("atk add ghost"), "{leftovers}");
    assert!(state.join("journal.jsonl").exists(), "doctor without --fix changes nothing");
    let strays = find("strays", None);
    assert_eq!(strays["status"], "warning");
    assert!(strays["details"].to_string().contains("plugins/stray"));
    let hello = find("plugin", Some("hello"));
    assert!(hello["details"].to_string().contains("HELLO_NAME"), "{hello}");
    assert_eq!(hello["fix"], "atk setup hello");
    let third = find("plugin", Some("third"));
    assert_eq!(third["status"], "problem");
    assert!(third["details"].to_string().contains("lifecycle"), "{third}");
    let git = find("git", None);
    assert_eq!(git["status"], "problem");
    assert!(git["details"].to_string().contains("no remote"), "{git}");
    assert_eq!(doc["summary"]["problems"], 4, "{doc}");

    // --fix rolls back the journal and clears the staging folder; the rest needs the user.
    env.fails(1, &["--registry", reg, "doctor", "--fix"]);
    assert!(!state.join("journal.jsonl").exists());
    assert_eq!(std::fs::read_dir(state.join("staging")).map(|d| d.count()).unwrap_or(0), 0);
    assert!(env.atk_home.join("plugins/stray").is_dir(), "a stray folder is never deleted");
}

#[test]
fn a_broken_cache_repository_is_a_warning() {
    let env = Env::new();
    env.set_identity("Test", "test@example.com");
    let root = env.path("served");
    std::fs::create_dir_all(&root).unwrap();
    let work = git_source_work(&env);
    let daemon = crate::common::servers::GitDaemon::start(&root);
    crate::common::servers::publish(&work, &root, "tool.git", true);
    let url = daemon.url("tool.git");
    env.ok(&["add", "--yes", &url]);
    let cache = cache_repo(&env);
    std::fs::remove_dir_all(cache.join("objects")).unwrap();
    std::fs::remove_file(cache.join("HEAD")).unwrap();
    let out = env.ok(&["doctor"]);
    assert!(out.contains("! cache") && out.contains("cannot be opened"), "{out}");
    // The plugin is still compared: its source gives the pinned commit again.
    assert!(out.contains("✓ plugin: echo-tool"), "{out}");
    let out = env.ok(&["doctor"]);
    assert!(out.contains("✓ cache"), "{out}");
}

/// A repair is a commit like any other: with `auto_push` on it is pushed (the push came from each
/// command by hand, and `doctor --fix` had none).
#[test]
fn a_repair_is_pushed_when_auto_push_is_on() {
    let env = Env::new();
    let remote = env.path("remote.git");
    git(env.dir.path(), &["init", "-q", "--bare", remote.to_str().unwrap()]);
    turn_on_auto_push(&env, remote.to_str().unwrap());
    // A .gitignore whose secret block is not last: doctor --fix puts it back, in one commit.
    let text = std::fs::read_to_string(env.atk_home.join(".gitignore")).unwrap();
    write(&env.atk_home.join(".gitignore"), &format!("{text}extra/\n"), false);
    env.git(&["commit", "-qam", "a line after the secrets"]);
    env.ok(&["doctor", "--fix"]);
    let pushed = git(&remote, &["log", "--format=%s", "-1", "main"]);
    assert_eq!(pushed.trim(), env.log()[0], "the repair's commit is on the remote");
    assert!(pushed.starts_with("atk doctor"), "{pushed}");
}

/// Regression: doctor knew `index.lock`, `HEAD.lock` and `packed-refs.lock`, but not the
/// `config.lock` a killed git (or atk) leaves, which the recovery clears: it was neither reported
/// nor removed by `--fix`.
#[test]
fn a_stale_config_lock_is_reported_and_removed() {
    let env = Env::new();
    let lock = env.atk_home.join(".git/config.lock");
    write(&lock, "", false);
    let (out, _) = env.fails(1, &["doctor"]);
    assert!(out.contains(".git/config.lock is there"), "{out}");
    // Only a lock untouched for a minute is stale.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(120);
    std::fs::File::options().write(true).open(&lock).unwrap().set_modified(old).unwrap();
    let out = env.ok(&["doctor", "--fix"]);
    assert!(out.contains("removed the stale .git/config.lock"), "{out}");
    assert!(!lock.exists());
    env.ok(&["doctor"]);
}
