//! Regressions found by attacking undo of plug/unplug and the rename handling of agents.

use crate::common::agents::{
    add_plugin, atk_path, exec_args, run_code, run_ok, secrets_outside_the_home, Stubs, CLI_AGENTS,
};
use crate::common::*;

const STDIO: &str = "env_vars:
  - name: API_KEY
    required: true
    secret: true
mcp:
  transport: stdio
  command: node
  args: [\"server.js\"]
  env: [API_KEY]
";

/// Undo of a plug into two agents where one of them cannot be unplugged: `unplug` exits 1 in
/// that case; undo must not report success (exit 0) while the agent is still plugged in.
#[test]
fn undo_of_a_plug_that_an_agent_refuses_exits_nonzero() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    env.set_identity("Test", "test@example.com");
    add_plugin(&env, "Half", STDIO, false, &["API_KEY=secret-value-1"]);
    run_ok(&env, &stubs, &["plug", "half", "--claude", "--cursor", "-y"]);
    stubs.fail("claude", "Error: cannot write ~/.claude.json\n");
    // unplug with the same failure exits 1
    let out = crate::common::agents::atk(&env, &stubs).args(["undo", "-y"]).output().unwrap();
    let (o, e) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(env.manifest().contains("- claude"), "claude still plugged in and recorded\n{}", env.manifest());
    assert_ne!(out.status.code(), Some(0), "undo left Claude plugged in but exited 0\n{o}\n{e}");
}

/// A plugin renamed (overrides) whose old server cannot be removed the first time: the plug of
/// the new name goes on, and the old name is forgotten, so the old server stays in the agent for
/// good (and nothing says so).
#[test]
fn a_failed_removal_of_a_former_name_is_reported_and_retried() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    let dir = add_plugin(&env, "Old", STDIO, false, &["API_KEY=secret-value-1"]);
    run_ok(&env, &stubs, &["plug", "old", "--claude", "-y"]);
    write(&dir.join("custom/overrides.yaml"), "name: New\n", false);
    stubs.clear();
    stubs.fail_once("claude", "Error: busy\n");
    let out = crate::common::agents::atk(&env, &stubs).args(["plug", "old", "--claude", "-y"]).output().unwrap();
    let (o, e) = (String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string());
    let first = stubs.calls();
    // Everything works now: plug and unplug again.
    run_ok(&env, &stubs, &["plug", "old", "--claude", "-y"]);
    run_ok(&env, &stubs, &["unplug", "old", "--claude", "-y"]);
    let calls = stubs.calls();
    let old_removed_ok =
        calls.iter().skip(first.len()).any(|c| c.ends_with(&["Old".to_string()]) && c.contains(&"remove".to_string()));
    assert_eq!(out.status.code(), Some(1), "{o}\n{e}");
    assert!(e.contains("former name 'Old' is still there"), "{e}");
    assert!(old_removed_ok, "the removal of 'Old' was never tried again: {calls:?}");
}

/// Two plugins: A was plugged into Cursor as "Shared", then renamed to "A2"; B, named "Shared"
/// now, finds A's server under its name (not B's: a conflict, A's left), and takes the name with
/// `--replace`. Re-plugging A must not remove "Shared", B's server now.
#[test]
fn a_former_name_another_plugin_now_has_is_not_removed() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    let a = add_plugin(&env, "Shared", STDIO, false, &["API_KEY=aaaa-1"]);
    run_ok(&env, &stubs, &["plug", "shared", "--cursor", "-y"]);
    write(&a.join("custom/overrides.yaml"), "name: A2\n", false);
    // B, another plugin, is named "Shared" now (its overrides).
    let b = add_plugin(&env, "Other", STDIO, false, &["API_KEY=bbbb-2"]);
    write(&b.join("custom/overrides.yaml"), "name: Shared\n", false);
    let cursor = env.home.join(".cursor/mcp.json");
    let held = || -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&cursor).unwrap()).unwrap();
        v["mcpServers"].clone()
    };
    let exec_of = |dir: &str| serde_json::json!({"command": atk_path(), "args": exec_args(&env, dir)});
    let (_, err) = run_code(&env, &stubs, 1, &["plug", "other", "--cursor", "-y"]);
    // A's entry is atk's, for another plugin: the conflict says so (not "atk did not write").
    assert!(
        err.contains(
            "✗ Cursor: it already has a server named 'Shared' that starts another plugin ('shared'), left as it is"
        ),
        "{err}"
    );
    assert_eq!(held(), serde_json::json!({"Shared": exec_of("shared")}));
    run_ok(&env, &stubs, &["plug", "other", "--cursor", "--replace", "-y"]);
    assert_eq!(held(), serde_json::json!({"Shared": exec_of("other")}));
    // Re-plug A (now named A2): its old name's cleanup must not take B's server.
    run_ok(&env, &stubs, &["plug", "shared", "--cursor", "-y"]);
    assert_eq!(held(), serde_json::json!({"Shared": exec_of("other"), "A2": exec_of("shared")}));
    assert_eq!(secrets_outside_the_home(&env, &["aaaa-1", "bbbb-2"]), vec![]);
}
