//! Each kind of refusal exits with its own code and says its kind in the `--json` error document:
//! a refused plugin or source, and an unsafe path, exit 5 (`plugin_refused`, `unsafe_path`); the
//! home's state that forbids an operation, and nothing to do, exit 1 (`conflict`,
//! `nothing_to_do`); a script the plugin does not have is a usage error (2).

use crate::common::agents::{add_plugin, run_code, Stubs};
use crate::common::sources::{commit_all, git_source_work};
use crate::common::*;

/// Runs `atk --json args…`, which must exit `code`; the error document's kind and message, after
/// checking that the document carries the same code.
fn error(env: &Env, code: i32, args: &[&str]) -> (String, String) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let (out, _) = env.fails(code, &all);
    let doc: serde_json::Value = serde_json::from_str(&out).expect("stdout is one JSON document");
    assert_eq!(doc["error"]["code"].as_i64(), Some(code as i64), "{doc}");
    (doc["error"]["kind"].as_str().unwrap_or_default().to_string(), doc["error"]["message"].to_string())
}

#[test]
fn a_source_without_a_plugin_is_a_refused_plugin_exit_5() {
    let env = Env::new();
    let plain = env.path("plain");
    write(&plain.join("README.md"), "no plugin here\n", false);
    git(env.dir.path(), &["init", "-q", "-b", "main", plain.to_str().unwrap()]);
    commit_all(&plain, "plain");
    let before = env.snapshot();
    let (kind, message) = error(&env, 5, &["add", "-y", &format!("file://{}", plain.display())]);
    assert_eq!(kind, "plugin_refused", "{message}");
    assert!(message.contains("has no .atk/plugin.yaml"), "{message}");
    assert_eq!(env.snapshot(), before);
}

#[test]
fn a_link_out_of_a_source_is_an_unsafe_path_exit_5() {
    let env = Env::new();
    let work = git_source_work(&env);
    std::os::unix::fs::symlink("../../etc/passwd", work.join(".atk/escape")).unwrap();
    commit_all(&work, "escape");
    let before = env.snapshot();
    let (kind, message) = error(&env, 5, &["add", "-y", &format!("file://{}", work.display())]);
    assert_eq!(kind, "unsafe_path", "{message}");
    assert!(message.contains(".atk/escape") && message.contains("outside the plugin folder"), "{message}");

    // A local folder with a link leading out of it.
    let local = env.plugin("src/escape", &yaml("Escape", ""), &[]);
    std::os::unix::fs::symlink("../../outside", local.join("out")).unwrap();
    let (kind, message) = error(&env, 5, &["add", "-y", local.to_str().unwrap()]);
    assert_eq!(kind, "unsafe_path", "{message}");
    assert!(message.contains("leads out of the plugin folder"), "{message}");
    assert_eq!(env.snapshot(), before);
}

#[test]
fn a_home_whose_state_forbids_the_operation_is_a_conflict_exit_1() {
    let env = Env::new();
    let local = env.plugin("src/local-one", &yaml("local one", ""), &[("notes.md", "mine\n", false)]);
    env.ok(&["add", "-y", local.to_str().unwrap()]);
    // Uncommitted changes: undo would mix them with the revert.
    write(&env.atk_home.join("plugins/local-one/notes.md"), "edited\n", false);
    let before = env.snapshot();
    let (kind, message) = error(&env, 1, &["undo", "--yes"]);
    assert_eq!(kind, "conflict", "{message}");
    assert!(message.contains("uncommitted changes"), "{message}");
    assert_eq!(env.snapshot(), before);

    // A folder in the way of the one the plugin would get.
    write(&env.atk_home.join("plugins/minimal/leftover.txt"), "x", false);
    let before = env.snapshot();
    let (kind, message) = error(&env, 1, &["add", "-y", env.fixture("minimal").to_str().unwrap()]);
    assert_eq!(kind, "conflict", "{message}");
    assert!(message.contains("plugins/minimal already exists but is not in the manifest"), "{message}");
    assert_eq!(env.snapshot(), before);
}

#[test]
fn nothing_to_act_on_is_nothing_to_do_exit_1() {
    let env = Env::new();
    let (kind, message) = error(&env, 1, &["undo"]);
    assert_eq!(kind, "nothing_to_do", "{message}");
    assert!(message.contains("nothing to undo"), "{message}");

    env.ok(&["add", "-y", env.fixture("minimal").to_str().unwrap()]);
    let before = env.snapshot();
    let (kind, message) = error(&env, 1, &["rollback", "minimal"]);
    assert_eq!(kind, "nothing_to_do", "{message}");
    assert!(message.contains("is a local plugin: it has no pins to go back to"), "{message}");
    // Where the Python CLI refuses the same thing, its exit 5 stays, as a plugin refused.
    let (kind, message) = error(&env, 5, &["upgrade", "minimal"]);
    assert_eq!(kind, "plugin_refused", "{message}");
    assert!(message.contains("is a local plugin: it has no source to upgrade from"), "{message}");
    assert_eq!(env.snapshot(), before);

    // Plugging into every agent found, on a machine with none.
    let skilled = env.plugin("src/skilled", &yaml("Skilled", ""), &[("SKILL.md", "# Skill\n", false)]);
    env.ok(&["add", "-y", skilled.to_str().unwrap()]);
    let before = env.snapshot();
    let empty_path = env.path("no-programs");
    std::fs::create_dir_all(&empty_path).unwrap();
    let out =
        env.cmd().env("PATH", &empty_path).args(["--json", "plug", "skilled", "--all-agents", "-y"]).output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(out.status.code(), Some(1), "{doc}");
    assert_eq!((doc["error"]["code"].as_i64(), doc["error"]["kind"].as_str()), (Some(1), Some("nothing_to_do")));
    assert!(doc["error"]["message"].as_str().unwrap().contains("no supported agent was found"), "{doc}");
    assert_eq!(env.snapshot(), before);
}

#[test]
fn a_script_the_plugin_does_not_have_is_a_usage_error_exit_2() {
    let env = Env::new();
    let src = env.plugin("src/tool", &yaml("tool", ""), &[("plain.sh", "#!/bin/sh\n", false)]);
    env.ok(&["add", "-y", src.to_str().unwrap()]);
    let (kind, message) = error(&env, 2, &["run", "tool", "nope"]);
    assert_eq!(kind, "usage", "{message}");
    assert!(message.contains("no script 'nope'"), "{message}");
    // One it has that cannot run is the plugin's problem: exit 5.
    let (kind, message) = error(&env, 5, &["run", "tool", "plain"]);
    assert_eq!(kind, "plugin_refused", "{message}");
    assert!(message.contains("not executable"), "{message}");
}

/// An agent's own file atk cannot edit fails that agent (the command exits 1, as any failed
/// agent makes it), with the reason; the file is left as it was.
#[test]
fn an_agent_file_atk_cannot_edit_fails_that_agent_exit_1() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &[]);
    add_plugin(&env, "Served", "mcp:\n  transport: stdio\n  command: x\n", false, &[]);
    let cursor = env.home.join(".cursor/mcp.json");
    write(&cursor, "{\"mcpServers\": [oops\n", false);
    let (_, err) = run_code(&env, &stubs, 1, &["plug", "served", "--cursor", "-y"]);
    assert!(
        err.contains(&format!("✗ Cursor: cannot read the servers in {}: not valid JSON", cursor.display())),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&cursor).unwrap(), "{\"mcpServers\": [oops\n");
}
