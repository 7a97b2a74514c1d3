//! Reports, typed errors and the environment read once, tried as an attacker would (issue 18):
//! every command's one JSON document, exit codes and kinds as the README has them, and the
//! commands agreeing on what the environment atk runs in gives.

use crate::common::*;

/// A local plugin whose one required variable is `E1_KEY`, with a start command.
fn plugin_needing_e1_key(env: &Env) -> std::path::PathBuf {
    env.plugin(
        "src-e1",
        &yaml(
            "e1",
            "env_vars:\n  - name: E1_KEY\n    required: true\nlifecycle:\n  start: 'echo started'\n  stop: 'true'\n",
        ),
        &[],
    )
}

#[test]
fn a_required_variable_the_environment_sets_is_missing_for_no_command() {
    let env = Env::new();
    let src = plugin_needing_e1_key(&env);
    let json = |args: &[&str], code: i32| {
        let out = env.cmd().env("E1_KEY", "from-the-environment").arg("--json").args(args).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert_eq!(out.status.code(), Some(code), "{args:?}\n{text}{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_str::<serde_json::Value>(&text).unwrap()
    };
    let added = json(&["add", src.to_str().unwrap(), "-y"], 0);
    assert_eq!(added["env_missing"], serde_json::json!([]), "{added}");
    let setup = json(&["setup", "e1"], 0);
    assert_eq!(setup["plugins"][0]["missing"], serde_json::json!([]), "{setup}");
    let status = json(&["status", "e1"], 0);
    assert_eq!(status["plugins"][0]["env"]["missing_required"], serde_json::json!([]), "{status}");
    json(&["start", "e1"], 0);
    json(&["stop", "e1"], 0);
    // Without it in the environment, every one of them says it is missing.
    let out = env.cmd().args(["setup", "e1", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(8), "{}", String::from_utf8_lossy(&out.stdout));
    let (_, err) = env.fails(8, &["start", "e1"]);
    assert!(err.contains("E1_KEY"), "{err}");
}
