//! `atk undo`: the last atk operation reverted, each kind leaving the home as it was before it
//! (files, manifest, status); undo of an undo redoes; what it refuses; kill -9 in the middle.

use crate::common::sources::*;
use crate::common::*;
use crate::common::{kill_9, state, stop_at};

#[test]
fn undo_of_an_add_removes_it_and_undo_again_redoes_it() {
    let env = Env::new();
    env.set_identity("Test", "test@example.com");
    let work = registry_work(&env);
    let reg = work.to_str().unwrap();
    env.ok(&["--registry", reg, "add", "-y", "third"]);
    let before = state(&env);
    env.ok(&["--registry", reg, "add", "-y", "hello", "--set", "HELLO_NAME=Ada"]);
    let after = state(&env);

    // hello's uninstall runs: without a person to ask, undo needs --yes (or --force).
    let (_, err) = env.fails(2, &["--registry", reg, "undo"]);
    assert!(err.contains("uninstall") && err.contains("atk undo --force"), "{err}");
    assert_eq!(state(&env), after);
    let out = env.ok(&["--registry", reg, "undo", "--yes"]);
    assert!(out.contains("Undoing") && out.contains("Add plugin 'hello'"), "{out}");
    assert_eq!(state(&env), before);
    assert_eq!(env.log()[0], "Undo \"Add plugin 'hello'\"");
    let body = env.git(&["log", "-1", "--format=%b"]);
    assert!(body.starts_with("Atk-Operation: undo\nAtk-Plugin: hello\nAtk-From: "), "{body}");
    assert!(body.contains(&format!("Atk-Reverts: {}", env.git(&["rev-parse", "HEAD~1"]).trim())), "{body}");

    // Undo of the undo adds it back (its .env is gone with the folder: the value is given again).
    let (_, err) = env.fails(8, &["--registry", reg, "undo"]);
    assert!(
        err.contains("HELLO_NAME") && err.contains(&format!("atk --registry {reg} undo --set HELLO_NAME=VALUE")),
        "{err}"
    );
    env.ok(&["--registry", reg, "undo", "--set", "HELLO_NAME=Ada"]);
    assert_eq!(state(&env), after);
    let ops = env.ok(&["history", "hello"]);
    assert_eq!(ops.lines().count(), 3, "{ops}");
}

/// Undo of an add whose plugin.yaml is broken: refused, with a hint that names the home it ran on
/// (`--home`), so that the hinted command undoes the last operation of that home, not ATK_HOME's.
#[test]
fn undo_of_an_add_with_a_broken_plugin_yaml_hints_force_on_the_same_home() {
    let env = Env::new();
    let other = env.path("other-home");
    let h = other.to_str().unwrap();
    let work = registry_work(&env);
    let reg = work.to_str().unwrap();
    env.ok(&["--home", h, "init"]);
    env.ok(&["--home", h, "--registry", reg, "add", "-y", "hello", "--set", "HELLO_NAME=Ada"]);
    // A registry plugin's plugin.yaml is not in the home's git: the home stays clean.
    write(&other.join("plugins/hello/plugin.yaml"), "name: [broken\n", false);
    let doc = json_doc(&env, &["--home", h, "undo", "--yes"], 5, &[]);
    assert_eq!(doc["error"]["kind"], "plugin_refused", "{doc}");
    let hints = doc["error"]["hints"].to_string();
    // json_doc writes the test folder as [TMP].
    assert!(hints.contains("atk --home [TMP]/other-home undo --force"), "{hints}");
    env.ok(&["--home", h, "undo", "--force"]);
    assert!(!std::fs::read_to_string(other.join("manifest.yaml")).unwrap().contains("hello"));
}

#[test]
fn undo_of_a_remove_puts_the_plugin_back_with_its_custom_files() {
    let env = Env::new();
    env.set_identity("Test", "test@example.com");
    let work = registry_work(&env);
    let reg = work.to_str().unwrap();
    env.ok(&["--registry", reg, "add", "-y", "hello", "--set", "HELLO_NAME=Ada"]);
    let dir = env.atk_home.join("plugins/hello");
    write(&dir.join("custom/notes.txt"), "my notes\n", false);
    write(&dir.join("custom/bin/tool.sh"), "#!/bin/sh\necho mine\n", true);
    env.git(&["add", "plugins/hello/custom"]);
    env.git(&["commit", "-qm", "my customization"]);
    // A local plugin: its whole folder is in the home's history.
    let local = env.plugin(
        "local-one",
        &yaml("local one", ""),
        &[("docs/a.md", "a\n", false), ("run.sh", "#!/bin/sh\n", true)],
    );
    env.ok(&["add", "-y", local.to_str().unwrap()]);
    let before = state(&env);

    env.ok(&["remove", "local-one"]);
    env.ok(&["undo"]);
    let diff = |a: &(std::collections::BTreeMap<String, (u32, Vec<u8>)>, String),
                b: &(std::collections::BTreeMap<String, (u32, Vec<u8>)>, String)| {
        let keys: Vec<&String> = a.0.keys().chain(b.0.keys()).filter(|k| a.0.get(*k) != b.0.get(*k)).collect();
        format!("{keys:?} {:?} {:?}", a.1, b.1)
    };
    let now = state(&env);
    assert!(now == before, "the local plugin is back as it was: {}", diff(&now, &before));

    env.ok(&["remove", "hello", "--force"]);
    assert!(!dir.exists());
    env.ok(&["--registry", reg, "undo", "--set", "HELLO_NAME=Ada"]);
    let now = state(&env);
    assert!(now == before, "hello is back at its pin, with custom/ and the same .env: {}", diff(&now, &before));
    assert_eq!(mode(&dir.join("custom/bin/tool.sh")), 0o755);
}

#[test]
fn undo_of_an_upgrade_and_of_a_rollback() {
    let env = Env::new();
    env.set_identity("Test", "test@example.com");
    let work = registry_work(&env);
    let reg = work.to_str().unwrap();
    env.ok(&["--registry", reg, "add", "-y", "hello", "--set", "HELLO_NAME=Ada"]);
    let v1 = head(&work);
    let at_v1 = state(&env);
    write(&work.join("plugins/hello/NEW.md"), "v2\n", false);
    commit_all(&work, "hello v2");
    env.ok(&["--registry", reg, "upgrade", "hello", "--yes"]);
    let at_v2 = state(&env);

    env.ok(&["--registry", reg, "undo"]);
    assert_eq!(state(&env), at_v1);
    assert!(env.manifest().contains(&format!("ref: {v1}")));
    env.ok(&["--registry", reg, "undo"]);
    assert_eq!(state(&env), at_v2, "undo of the undo redoes the upgrade");

    env.ok(&["--registry", reg, "rollback", "hello"]);
    assert_eq!(state(&env), at_v1);
    env.ok(&["--registry", reg, "undo"]);
    assert_eq!(state(&env), at_v2, "undo of a rollback moves forward again");
}

#[test]
fn undo_refuses_what_is_not_an_atk_operation_and_a_changed_home() {
    let env = Env::new();
    env.set_identity("Test", "test@example.com");
    let (_, err) = env.fails(1, &["undo"]);
    assert!(err.contains("nothing to undo"), "{err}");
    let local = env.plugin("local-one", &yaml("local one", ""), &[]);
    env.ok(&["add", "-y", local.to_str().unwrap()]);

    write(&env.atk_home.join("plugins/local-one/notes.md"), "edited\n", false);
    env.git(&["add", "plugins/local-one/notes.md"]);
    let before = state(&env);
    let (_, err) = env.fails(1, &["undo"]);
    assert!(err.contains("uncommitted changes") && err.contains("plugins/local-one/notes.md"), "{err}");
    assert_eq!(state(&env), before);

    env.git(&["commit", "-qm", "notes by hand"]);
    let (_, err) = env.fails(1, &["undo"]);
    assert!(err.contains("'notes by hand'") && err.contains("not an atk operation"), "{err}");
    assert!(err.contains("atk git revert"), "{err}");
    assert!(env.atk_home.join("plugins/local-one/notes.md").is_file());

    let manifest = env.manifest().replace("auto_commit: true", "auto_commit: false");
    write(&env.atk_home.join("manifest.yaml"), &manifest, false);
    env.git(&["commit", "-qam", "auto_commit off"]);
    let (_, err) = env.fails(1, &["undo"]);
    assert!(err.contains("auto_commit is off"), "{err}");
}

#[test]
fn kill_9_during_undo_is_rolled_back_by_the_next_run() {
    let env = Env::new();
    env.set_identity("Test", "test@example.com");
    let work = registry_work(&env);
    let reg = work.to_str().unwrap();
    env.ok(&["--registry", reg, "add", "-y", "hello", "--set", "HELLO_NAME=Ada"]);
    write(&work.join("plugins/hello/NEW.md"), "v2\n", false);
    commit_all(&work, "hello v2");
    env.ok(&["--registry", reg, "upgrade", "hello", "--yes"]);
    env.ok(&["--registry", reg, "remove", "hello", "--force"]);

    for (setup, last) in [
        (None, "Remove plugin 'hello'"),
        (Some(&["undo", "--set", "HELLO_NAME=Ada"][..]), "Undo \"Remove plugin 'hello'\""),
    ] {
        if let Some(args) = setup {
            let mut all = vec!["--registry", reg];
            all.extend_from_slice(args);
            env.ok(&all);
        }
        assert_eq!(env.log()[0], last);
        // (The uninstall of an undone add runs before the transaction, as `remove`'s does: the
        // runtime data it deletes is not the transaction's to put back.)
        let without_runtime = |env: &Env| {
            let (mut files, status) = state(env);
            files.retain(|k, _| !k.starts_with("plugins/hello/runtime"));
            (files, status, env.git(&["rev-parse", "HEAD"]))
        };
        let before = without_runtime(&env);
        let log = env.log();
        let child = stop_at(&env, "commit", &["--registry", reg, "undo", "--yes", "--set", "HELLO_NAME=Ada"]);
        assert!(env.log()[0].starts_with("Undo \""), "stopped after the commit: {:?}", env.log());
        kill_9(child);
        let out = env.cmd().arg("list").output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && err.contains("`atk undo` was interrupted"), "{err}");
        assert!(without_runtime(&env) == before, "the home is as before the undo");
        assert_eq!(env.log(), log);
    }
}

/// Files git has never seen count as uncommitted changes: undo of an add would remove them with
/// the folder, so it refuses (regression: only tracked changes counted).
#[test]
fn untracked_files_in_a_plugin_make_undo_refuse() {
    let env = Env::new();
    env.set_identity("Test", "test@example.com");
    let work = registry_work(&env);
    let reg = work.to_str().unwrap();
    env.ok(&["--registry", reg, "add", "-y", "third"]);
    let notes = env.atk_home.join("plugins/third/custom/notes.txt");
    write(&notes, "hours of my work\n", false);
    let before = state(&env);
    let (_, err) = env.fails(1, &["--registry", reg, "undo", "--yes"]);
    assert!(err.contains("uncommitted changes"), "{err}");
    assert_eq!(state(&env), before);

    // A local plugin's folder is tracked whole: a new file in it is untracked work too.
    std::fs::remove_file(&notes).unwrap();
    let local = env.plugin("local-one", &yaml("local one", ""), &[("docs/a.md", "a\n", false)]);
    env.ok(&["add", "-y", local.to_str().unwrap()]);
    let mine = env.atk_home.join("plugins/local-one/docs/b.md");
    write(&mine, "my new doc\n", false);
    env.fails(1, &["undo", "--yes"]);
    assert!(mine.is_file());
}

/// Undo of an upgrade puts the older version's files back: a shipped file the user edited is
/// named, and replaced only when the user agrees (regression: replaced without a word).
#[test]
fn undo_of_an_upgrade_asks_before_replacing_edited_files() {
    let env = Env::new();
    env.set_identity("Test", "test@example.com");
    let work = registry_work(&env);
    let reg = work.to_str().unwrap();
    env.ok(&["--registry", reg, "add", "-y", "third"]);
    write(&work.join("plugins/third/NEW.md"), "v2\n", false);
    commit_all(&work, "third v2");
    env.ok(&["--registry", reg, "upgrade", "third", "--yes"]);
    let data = env.atk_home.join("plugins/third/data.txt");
    write(&data, "my local fix\n", false);
    let before = state(&env);
    let (_, err) = env.fails(2, &["--registry", reg, "undo"]);
    assert!(err.contains("data.txt") && err.contains("atk diff third"), "{err}");
    assert_eq!(state(&env), before, "declined: nothing changed");
    env.ok(&["--registry", reg, "undo", "--yes"]);
    assert_ne!(std::fs::read_to_string(&data).unwrap(), "my local fix\n");
}
