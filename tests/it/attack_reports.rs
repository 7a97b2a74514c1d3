//! Reports, typed errors and the environment read once, tried as an attacker would (issue 18):
//! every command's one JSON document, exit codes and kinds as docs/reference.md has them, and the
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

/// stdout of `atk --json args…`, which must be one JSON value and exit with `code`; and stderr.
fn one_document(env: &Env, args: &[&str], code: i32) -> (serde_json::Value, String) {
    let out = env.cmd().arg("--json").args(args).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(code), "{args:?}\n{stdout}{stderr}");
    let doc = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: not one JSON value ({e}):\n{stdout}"));
    (doc, stderr.to_string())
}

#[test]
fn the_error_document_of_registry_index_names_the_invalid_plugins() {
    let env = Env::bare();
    env.plugin("registry/plugins/broken", "name: broken\n", &[]);
    let root = env.path("registry");
    let (doc, _) = one_document(&env, &["registry", "index", root.to_str().unwrap()], 5);
    assert_eq!(doc["error"]["kind"], "plugin_refused", "{doc}");
    let details = doc["error"]["details"].as_array().unwrap();
    assert!(
        details.iter().any(|d| d.as_str().unwrap().starts_with("broken: schema_version")),
        "the document says which plugin is invalid and why: {doc}"
    );
    // For a person, the list is above the error, as it was.
    let (out, err) = env.fails(5, &["registry", "index", root.to_str().unwrap()]);
    assert!(out.contains("✗ broken") && out.contains("schema_version"), "{out}");
    assert!(err.contains("fix the plugins listed above"), "{err}");
}

#[test]
fn with_json_the_plan_a_question_is_about_is_still_shown_before_it() {
    let env = Env::new();
    let tool = crate::common::sources::git_source_work(&env);
    env.ok(&["add", "-y", &format!("file://{}", tool.display())]);
    write(
        &tool.join(".atk/plugin.yaml"),
        &yaml("Echo Tool", "lifecycle:\n  install: ./setup.sh --again\n  uninstall: 'true'\n"),
        false,
    );
    crate::common::sources::commit_all(&tool, "tool v2");
    // The hint asks to review the changes above: with --json, they are on stderr.
    let (doc, err) = one_document(&env, &["upgrade", "echo-tool"], 2);
    assert_eq!(doc["error"]["kind"], "needs_confirmation", "{doc}");
    assert!(err.contains("lifecycle install: ./setup.sh → ./setup.sh --again"), "{err}");
    assert!(err.find("lifecycle install").unwrap() < err.find("review the changes above").unwrap(), "{err}");
    // Without --json the plan stays on stdout.
    let (out, _) = env.fails(2, &["upgrade", "echo-tool"]);
    assert!(out.contains("lifecycle install: ./setup.sh → ./setup.sh --again"), "{out}");
    env.ok(&["upgrade", "echo-tool", "--yes"]);
    let (_, err) = one_document(&env, &["rollback", "echo-tool"], 2);
    assert!(err.contains("lifecycle install: ./setup.sh --again → ./setup.sh"), "{err}");
    let (_, err) = one_document(&env, &["undo"], 2);
    assert!(err.contains("Undoing") && err.contains("lifecycle install: ./setup.sh --again → ./setup.sh"), "{err}");
}

/// `undo` of a remove puts the plugin back as the manifest had it, its record of agents included,
/// and plugs it back into them (the remove unplugged it), leaving the user's own entries alone;
/// undo of that undo removes it from them again.
#[test]
fn undo_of_a_remove_plugs_the_plugin_back_into_its_recorded_agents() {
    use crate::common::agents::*;
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    let body = "mcp:\n  transport: stdio\n  command: ./mcp.sh\n";
    add_plugin(&env, "Comes Back", body, false, &[]);
    let cursor = env.home.join(".cursor/mcp.json");
    write(&cursor, "{\n  // mine\n  \"mcpServers\": {\"mine\": {\"command\": \"x\"}}\n}\n", false);
    run_ok(&env, &stubs, &["plug", "comes-back", "--cursor", "--claude", "-y"]);
    let (plugged_manifest, plugged_file) = (env.manifest(), std::fs::read_to_string(&cursor).unwrap());
    assert!(plugged_manifest.contains("  agents:\n  - claude\n  - cursor\n"), "{plugged_manifest}");
    run_ok(&env, &stubs, &["remove", "comes-back", "--force"]);
    assert!(!std::fs::read_to_string(&cursor).unwrap().contains("\"Comes Back\""));
    stubs.clear();
    run_ok(&env, &stubs, &["undo", "--yes"]);
    assert_eq!(env.manifest(), plugged_manifest, "the entry comes back as it was, with its agents");
    assert_eq!(std::fs::read_to_string(&cursor).unwrap(), plugged_file);
    let calls = stubs.calls();
    assert!(calls.iter().any(|c| c[0] == "claude" && c[1..3] == ["mcp", "add"]), "{calls:?}");
    // Undo of the undo is a remove again: unplugged from both, the user's entry kept.
    stubs.clear();
    run_ok(&env, &stubs, &["undo", "--yes"]);
    let text = std::fs::read_to_string(&cursor).unwrap();
    assert!(!text.contains("\"Comes Back\"") && text.contains("// mine") && text.contains("\"mine\""), "{text}");
    let calls = stubs.calls();
    assert!(calls.iter().any(|c| c[0] == "claude" && c[1..3] == ["mcp", "remove"]), "{calls:?}");
}

/// An empty `ATK_HOME` or `ATK_CACHE_DIR` counts as unset, as in the Python CLI (and as an empty
/// `ATK_REGISTRY` does): the home is `~/.atk`, not a usage error.
#[test]
fn an_empty_atk_home_or_cache_dir_counts_as_unset() {
    let env = Env::new();
    for var in ["ATK_HOME", "ATK_CACHE_DIR"] {
        let out = env.cmd().env(var, "").args(["list", "--json"]).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{var}=\n{stdout}{}", String::from_utf8_lossy(&out.stderr));
        let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(doc["home"], env.atk_home.to_str().unwrap(), "{var}=");
    }
}

/// A question the user declines ends the command without a change, and `--json` still gets its
/// one document (`unchanged`, with why and for which plugin): add, remove, uninstall and undo
/// printed only a line that `--json` hides, so a program got nothing at all.
#[test]
fn a_declined_question_still_gives_json_its_one_document() {
    let env = Env::new();
    let src = env.plugin(
        "unreviewed",
        &yaml("Unreviewed", "lifecycle:\n  install: 'true'\n  uninstall: 'true'\n").replace("maturity: verified\n", ""),
        &[],
    );
    let declined = |args: &[&str], question: &str| {
        let mut p = env.on_terminal(args);
        p.exp_string(question).unwrap();
        p.send("n").unwrap();
        p.flush().unwrap();
        let text = p.exp_eof().unwrap();
        let start = text.find('{').unwrap_or_else(|| panic!("no JSON document after the question:\n{text}"));
        let doc: serde_json::Value = serde_json::from_str(text[start..].trim()).unwrap();
        doc["unchanged"].clone()
    };
    let before = env.snapshot();
    let add = declined(&["--json", "add", src.to_str().unwrap()], "anyway?");
    assert_eq!((add["command"].as_str(), add["reason"].as_str()), (Some("add"), Some("declined")), "{add}");
    assert_eq!(add["directory"], "unreviewed");
    assert_eq!(env.snapshot(), before);

    env.ok(&["add", "-y", src.to_str().unwrap()]);
    let before = env.snapshot();
    for (args, command) in
        [(["--json", "remove", "unreviewed"], "remove"), (["--json", "uninstall", "unreviewed"], "uninstall")]
    {
        let doc = declined(&args, "Continue?");
        assert_eq!((doc["command"].as_str(), doc["reason"].as_str()), (Some(command), Some("declined")), "{doc}");
        assert_eq!(doc["name"], "Unreviewed");
    }
    let doc = declined(&["--json", "undo"], "Continue?");
    assert_eq!((doc["command"].as_str(), doc["reason"].as_str()), (Some("undo"), Some("declined")), "{doc}");
    assert_eq!(env.snapshot(), before);
}
