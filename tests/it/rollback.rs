//! `atk rollback`: a remote plugin back to its previous pin (or `--to REF`) with the upgrade's
//! machinery in reverse, and what a kill -9 in the middle of it leaves (nothing).

use std::path::Path;

use crate::common::sources::*;
use crate::common::*;

/// A home with `hello` from the registry at `work`, upgraded once: (v1, v2).
fn upgraded(env: &Env, work: &Path) -> (String, String) {
    let reg = work.to_str().unwrap();
    env.ok(&["--registry", reg, "add", "-y", "hello", "--set", "HELLO_NAME=Ada"]);
    let dir = env.atk_home.join("plugins/hello");
    write(&dir.join("custom/notes.txt"), "my notes\n", false);
    env.git(&["add", "plugins/hello/custom/notes.txt"]);
    env.git(&["commit", "-qm", "my notes"]);
    let v1 = head(work);
    write(&work.join("plugins/hello/NEW.md"), "new in v2\n", false);
    std::fs::remove_file(work.join("plugins/hello/README.md")).unwrap();
    let v2 = commit_all(work, "hello v2");
    (v1, v2)
}

#[test]
fn rollback_returns_to_the_pin_before_the_last_upgrade_and_upgrade_moves_forward_again() {
    let env = Env::new();
    let work = registry_work(&env);
    let reg = work.to_str().unwrap();
    let (v1, v2) = upgraded(&env, &work);
    let at_v1 = state(&env);
    env.ok(&["--registry", reg, "upgrade", "hello", "--yes"]);
    let at_v2 = state(&env);

    // The preview is the upgrade's; nothing changes with --dry-run.
    let out = env.ok(&["--registry", reg, "rollback", "hello", "--dry-run"]);
    assert!(out.contains(&format!("hello {} → {}", &v2[..12], &v1[..12])), "{out}");
    assert!(out.contains("- NEW.md") && out.contains("+ README.md"), "{out}");
    assert_eq!(state(&env), at_v2);

    let out = env.ok(&["--registry", reg, "rollback", "hello"]);
    assert!(out.contains(&format!("Rolled back 'hello' to {}", &v1[..12])), "{out}");
    assert_eq!(state(&env), at_v1, "files, .env, custom/, manifest and status as before the upgrade");
    assert_eq!(env.log()[0], "Rollback plugin 'hello'");
    let body = env.git(&["log", "-1", "--format=%b"]);
    assert_eq!(body, format!("Atk-Operation: rollback\nAtk-Plugin: hello\nAtk-From: {v2}\nAtk-To: {v1}\n\n"));

    // Nothing older than v1 was ever pinned.
    let (_, err) = env.fails(1, &["--registry", reg, "rollback", "hello"]);
    assert!(err.contains("no earlier pin") && err.contains("--to"), "{err}");

    env.ok(&["--registry", reg, "upgrade", "hello", "--yes"]);
    assert_eq!(state(&env), at_v2, "a later upgrade moves it forward again");
}

#[test]
fn rollback_to_a_ref() {
    let env = Env::new();
    let work = registry_work(&env);
    let reg = work.to_str().unwrap();
    let (v1, v2) = upgraded(&env, &work);
    write(&work.join("plugins/hello/THIRD.md"), "v3\n", false);
    let v3 = commit_all(&work, "hello v3");
    env.ok(&["--registry", reg, "upgrade", "hello", "--yes"]);
    assert!(env.manifest().contains(&v3));

    // The start of a pin the history shows; then a full id the home never pinned.
    env.ok(&["--registry", reg, "rollback", "hello", "--to", &v1[..12]]);
    assert!(env.manifest().contains(&format!("ref: {v1}")));
    env.ok(&["--registry", reg, "rollback", "hello", "--to", &v2]);
    let dir = env.atk_home.join("plugins/hello");
    assert!(dir.join("NEW.md").is_file() && !dir.join("THIRD.md").exists() && !dir.join("README.md").exists());
    assert_eq!(std::fs::read_to_string(dir.join(".atk-ref")).unwrap(), format!("{v2}\n"));
    assert_eq!(std::fs::read_to_string(dir.join("custom/notes.txt")).unwrap(), "my notes\n");

    let (_, err) = env.fails(2, &["--registry", reg, "rollback", "hello", "--to", "zz"]);
    assert!(err.contains("not a commit id"), "{err}");
    let missing = "0123456789012345678901234567890123456789";
    let (_, err) = env.fails(7, &["--registry", reg, "rollback", "hello", "--to", missing]);
    assert!(err.contains(missing), "{err}");
    // A commit of the source from before the plugin existed.
    env.ok(&["--registry", reg, "add", "-y", "third"]);
    git(&work, &["rm", "-rq", "plugins/third"]);
    let index = std::fs::read_to_string(work.join("index.yaml")).unwrap();
    write(
        &work.join("index.yaml"),
        &index.replace("- name: third\n  path: plugins/third\n  description: A third plugin\n", ""),
        false,
    );
    let without = commit_all(&work, "no third");
    let (_, err) = env.fails(7, &["--registry", reg, "rollback", "third", "--to", &without]);
    assert!(err.contains("no plugin 'third'"), "{err}");
    let local = env.plugin("local-one", &yaml("local one", ""), &[]);
    env.ok(&["add", "-y", local.to_str().unwrap()]);
    env.fails(1, &["rollback", "local-one"]);
}

#[test]
fn kill_9_during_rollback_is_rolled_back_by_the_next_run() {
    let env = Env::new();
    let work = registry_work(&env);
    let reg = work.to_str().unwrap();
    upgraded(&env, &work);
    env.ok(&["--registry", reg, "upgrade", "hello", "--yes"]);
    let before = env.snapshot();
    let log = env.log();
    let child = stop_at(&env, "commit", &["--registry", reg, "rollback", "hello"]);
    assert_eq!(env.log()[0], "Rollback plugin 'hello'", "stopped after the commit");
    kill_9(child);
    let out = env.cmd().arg("list").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.contains("`atk rollback hello` was interrupted"), "{err}");
    assert_eq!(env.snapshot(), before);
    assert_eq!(env.log(), log);
    env.ok(&["--registry", reg, "rollback", "hello"]);
}

/// Regression: the edits a rollback warns about were found against the manifest's pin, though
/// the move goes from the version the folder has (`.atk-ref`). After `git reset` (or a pull)
/// changes the pin, the files that differ between the two versions read as the user's edits.
#[test]
fn rollback_after_git_moved_the_pin_warns_only_of_the_users_edits() {
    let env = Env::new();
    let work = registry_work(&env);
    let reg = work.to_str().unwrap();
    env.ok(&["--registry", reg, "add", "-y", "hello", "--set", "HELLO_NAME=Ada"]);
    let v1 = head(&work);
    let readme = std::fs::read_to_string(work.join("plugins/hello/README.md")).unwrap();
    write(&work.join("plugins/hello/README.md"), &format!("{readme}Changed in v2.\n"), false);
    let v2 = commit_all(&work, "hello v2");
    env.ok(&["--registry", reg, "upgrade", "hello", "--yes"]);
    // The upgrade's commit undone by git alone: the pin is v1 again, the folder (not tracked) v2's.
    env.git(&["reset", "-q", "--hard", "HEAD~1"]);
    let dir = env.atk_home.join("plugins/hello");
    assert!(env.manifest().contains(&format!("ref: {v1}")));
    assert_eq!(std::fs::read_to_string(dir.join(".atk-ref")).unwrap(), format!("{v2}\n"));
    // The user's one edit, to a file both versions ship alike.
    let stop = std::fs::read_to_string(dir.join("stop.sh")).unwrap();
    write(&dir.join("stop.sh"), &format!("{stop}# mine\n"), true);

    let (_, err) = env.fails(2, &["--registry", reg, "rollback", "hello", "--to", &v1]);
    assert!(err.contains("1 shipped file of 'hello' changed since it was installed (stop.sh)"), "{err}");
    assert!(!err.contains("README.md"), "v2's README is not an edit of the user's: {err}");

    env.ok(&["--registry", reg, "rollback", "hello", "--to", &v1, "--yes"]);
    assert_eq!(std::fs::read_to_string(dir.join("README.md")).unwrap(), readme);
    assert_eq!(std::fs::read_to_string(dir.join(".atk-ref")).unwrap(), format!("{v1}\n"));
}
