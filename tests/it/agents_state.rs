//! What agents really hold decides, and atk changes only what is its own: a server removed by
//! hand is seen (doctor) and given again (plug, install); a server of the user's with the
//! plugin's name is never replaced or removed, whatever atk's records (renames, a cloned home,
//! a forged `.git/atk/agents.json`) say; a `SKILL.md` that is a link is never handed to an agent.

use crate::common::agents::*;
use crate::common::*;

const SERVER: &str = "mcp:\n  transport: stdio\n  command: ./mcp.sh\n";

fn json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The user's own server, as the agent's program would keep it.
fn users_server(env: &Env, name: &str) -> serde_json::Value {
    let entry = serde_json::json!({"type": "stdio", "command": "npx", "args": ["-y", "their-own-server"], "env": {"GITHUB_TOKEN": "ghp_users_own_token"}});
    let path = env.home.join(".claude.json");
    let mut doc =
        std::fs::read_to_string(&path).map(|t| serde_json::from_str(&t).unwrap()).unwrap_or(serde_json::json!({}));
    doc.as_object_mut().unwrap().entry("mcpServers").or_insert(serde_json::json!({}))[name] = entry.clone();
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    entry
}

#[test]
fn a_server_removed_by_hand_is_reported_by_doctor_and_given_again_by_plug() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    add_plugin(&env, "Tool", SERVER, false, &[]);
    run_ok(&env, &stubs, &["plug", "tool", "--claude", "--cursor", "-y"]);
    assert!(json(&env.home.join(".claude.json"))["mcpServers"]["Tool"].is_object());
    // Removed by hand, from Claude's file and from Cursor's.
    std::fs::write(env.home.join(".claude.json"), "{\"mcpServers\": {}}").unwrap();
    std::fs::write(env.home.join(".cursor/mcp.json"), "{\"mcpServers\": {}}").unwrap();
    let out = atk(&env, &stubs).args(["doctor"]).output().unwrap();
    let text = both(&out);
    assert!(text.contains("'Tool' in Claude Code: recorded, not configured"), "{text}");
    assert!(text.contains("'Tool' in Cursor: recorded, not configured"), "{text}");
    stubs.clear();
    let (out, _) = run_ok(&env, &stubs, &["plug", "tool", "--claude", "--cursor", "-y"]);
    assert!(out.contains("✓ Claude Code: 'Tool' plugged in"), "{out}");
    assert!(out.contains("✓ Cursor: 'Tool' plugged in"), "{out}");
    assert_eq!(stubs.calls().len(), 1, "{:?}", stubs.calls());
    assert!(json(&env.home.join(".claude.json"))["mcpServers"]["Tool"].is_object());
    assert!(json(&env.home.join(".cursor/mcp.json"))["mcpServers"]["Tool"].is_object());
}

#[test]
fn uninstall_then_install_plugs_the_recorded_agents_again() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    let body = "lifecycle:\n  install: 'true'\n  uninstall: 'true'\nmcp:\n  transport: stdio\n  command: ./mcp.sh\n";
    add_plugin(&env, "Back", body, false, &[]);
    run_ok(&env, &stubs, &["plug", "back", "--claude", "--windsurf", "-y"]);
    run_ok(&env, &stubs, &["uninstall", "back", "--force"]);
    assert!(json(&env.home.join(".claude.json"))["mcpServers"].get("Back").is_none());
    let windsurf = env.home.join(".codeium/windsurf/mcp_config.json");
    assert!(json(&windsurf)["mcpServers"].get("Back").is_none());
    let (out, _) = run_ok(&env, &stubs, &["install", "back"]);
    assert!(out.contains("Claude Code: 'Back' plugged in again"), "{out}");
    assert!(json(&env.home.join(".claude.json"))["mcpServers"]["Back"].is_object());
    assert!(json(&windsurf)["mcpServers"]["Back"].is_object());
    // Again: nothing to do, nothing run.
    stubs.clear();
    run_ok(&env, &stubs, &["install", "back"]);
    assert!(stubs.calls().is_empty(), "{:?}", stubs.calls());
}

#[test]
fn a_forged_record_cannot_make_atk_remove_a_server_of_the_user_s() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    add_plugin(&env, "Tool", SERVER, false, &[]);
    let theirs = users_server(&env, "github");
    // `.git/atk/agents.json` says atk gave the plugin to Claude as `github`.
    let record = env.atk_home.join(".git/atk/agents.json");
    std::fs::create_dir_all(record.parent().unwrap()).unwrap();
    std::fs::write(&record, r#"{"fingerprints": {"claude/tool": 1}, "names": {"claude/tool": "github"}}"#).unwrap();
    run_ok(&env, &stubs, &["plug", "tool", "--claude", "-y"]);
    run_ok(&env, &stubs, &["unplug", "tool", "--claude", "-y"]);
    assert_eq!(json(&env.home.join(".claude.json"))["mcpServers"]["github"], theirs);
    let removals: Vec<_> = stubs.calls().into_iter().filter(|c| c.contains(&"github".to_string())).collect();
    assert!(removals.is_empty(), "{removals:?}");
}

#[test]
fn a_rename_to_a_name_the_user_has_is_a_conflict_not_a_replacement() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    let work = env.path("tool");
    let v1 = yaml("tool", SERVER);
    write(&work.join(".atk/plugin.yaml"), &v1, false);
    write(&work.join(".atk/mcp.sh"), "#!/bin/sh\n", true);
    git(env.dir.path(), &["init", "-q", "-b", "main", work.to_str().unwrap()]);
    crate::common::sources::commit_all(&work, "v1");
    env.ok(&["add", "-y", &format!("file://{}", work.display())]);
    run_ok(&env, &stubs, &["plug", "tool", "--claude", "--cursor", "-y"]);
    // The user's own `github` servers, in Claude and in Cursor (token included).
    let theirs = users_server(&env, "github");
    let cursor = env.home.join(".cursor/mcp.json");
    let mut doc = json(&cursor);
    doc["mcpServers"]["github"] =
        serde_json::json!({"command": "npx", "args": ["gh"], "env": {"GITHUB_TOKEN": "ghp_x"}});
    std::fs::write(&cursor, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    // Upstream renames the plugin to `github`.
    write(&work.join(".atk/plugin.yaml"), &v1.replace("name: tool", "name: github"), false);
    crate::common::sources::commit_all(&work, "rename");
    stubs.clear();
    let out = atk(&env, &stubs).args(["upgrade", "tool", "-y"]).output().unwrap();
    let text = both(&out);
    assert!(text.contains("a server named 'github' that atk did not write"), "{text}");
    assert_eq!(json(&env.home.join(".claude.json"))["mcpServers"]["github"], theirs);
    assert_eq!(json(&cursor)["mcpServers"]["github"]["env"]["GITHUB_TOKEN"], "ghp_x");
    // On a conflict nothing changes: atk's own entry under the old name stays (the plugin still
    // works there), until it can be given its new name.
    assert_eq!(
        json(&cursor)["mcpServers"]["tool"],
        serde_json::json!({"command": atk_path(), "args": exec_args(&env, "tool")})
    );
    assert!(json(&env.home.join(".claude.json"))["mcpServers"]["tool"].is_object());
    let removed: Vec<_> = stubs.calls().into_iter().filter(|c| c.contains(&"remove".to_string())).collect();
    assert!(removed.iter().all(|c| !c.contains(&"github".to_string())), "{removed:?}");
    // --as gives it another name; removing the plugin later leaves the user's servers.
    run_ok(&env, &stubs, &["plug", "tool", "--claude", "--cursor", "--as", "atk-github", "-y"]);
    assert!(json(&cursor)["mcpServers"]["atk-github"].is_object());
    // The former name, atk's, went once the new one was taken.
    assert!(json(&cursor)["mcpServers"].get("tool").is_none(), "{}", json(&cursor));
    assert!(json(&env.home.join(".claude.json"))["mcpServers"].get("tool").is_none());
    run_ok(&env, &stubs, &["remove", "tool", "-y"]);
    assert!(json(&cursor)["mcpServers"].get("atk-github").is_none());
    assert_eq!(json(&env.home.join(".claude.json"))["mcpServers"]["github"], theirs);
    assert_eq!(json(&cursor)["mcpServers"]["github"]["env"]["GITHUB_TOKEN"], "ghp_x");
}

#[test]
fn a_cloned_home_s_record_does_not_remove_the_user_s_same_named_servers() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    add_plugin(&env, "shared", SERVER, false, &[]);
    run_ok(&env, &stubs, &["plug", "shared", "--claude", "-y"]);
    // A new laptop: the home is cloned; the user already has a server named `shared` there.
    let laptop = Env::bare();
    git(laptop.dir.path(), &["clone", "-q", env.atk_home.to_str().unwrap(), laptop.atk_home.to_str().unwrap()]);
    let stubs2 = Stubs::new(&laptop, &CLI_AGENTS);
    let theirs = users_server(&laptop, "shared");
    run_ok(&laptop, &stubs2, &["unplug", "shared", "--all-agents", "-y"]);
    run_ok(&laptop, &stubs2, &["remove", "shared", "-y"]);
    assert_eq!(json(&laptop.home.join(".claude.json"))["mcpServers"]["shared"], theirs);
    assert!(stubs2.calls().iter().all(|c| !c.contains(&"remove".to_string())), "{:?}", stubs2.calls());
}

#[test]
fn a_skill_that_is_a_link_is_never_handed_to_an_agent() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    write(&env.home.join(".ssh/id_rsa"), "-----BEGIN PRIVATE KEY-----\nsecret-key\n", false);
    let src = env.plugin("src-linked", &yaml("Linked", SERVER), &[("mcp.sh", "#!/bin/sh\n", true)]);
    env.ok(&["add", src.to_str().unwrap(), "-y"]);
    let dir = env.atk_home.join("plugins/linked");
    for target in [env.home.join(".ssh/id_rsa"), dir.join(".env")] {
        let _ = std::fs::remove_file(dir.join("SKILL.md"));
        std::os::unix::fs::symlink(&target, dir.join("SKILL.md")).unwrap();
        let agents = ["--claude", "--codex", "--gemini", "--auggie", "--opencode"];
        let mut args = vec!["plug", "linked", "-y"];
        args.extend(agents);
        let (out, err) = run_ok(&env, &stubs, &args);
        assert!(err.contains("plugins/linked/SKILL.md is a symbolic link"), "{err}");
        assert!(out.contains("Claude Code: 'Linked' plugged in") || out.contains("already configured"), "{out}");
        // No agent file names the skill or holds what it leads to.
        for file in [".claude/CLAUDE.md", ".codex/AGENTS.md", ".config/opencode/opencode.jsonc"] {
            let text = std::fs::read_to_string(env.home.join(file)).unwrap_or_default();
            assert!(!text.contains("SKILL.md") && !text.contains("id_rsa"), "{file}: {text}");
        }
        assert!(std::fs::symlink_metadata(env.home.join(".augment/rules/atk-linked.md")).is_err());
        assert!(std::fs::symlink_metadata(env.home.join(".gemini/skills/atk-linked")).is_err());
        let all = format!("{out}{err}");
        assert!(!all.contains("secret-key"), "{all}");
    }
}

#[test]
fn gemini_gets_a_skill_folder_it_loads_and_never_the_plugin_folder() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    add_plugin(&env, "Skilled", SERVER, true, &[]);
    run_ok(&env, &stubs, &["plug", "skilled", "--gemini", "-y"]);
    let folder = env.home.join(".gemini/skills/atk-skilled");
    assert!(std::fs::symlink_metadata(&folder).unwrap().is_dir());
    let names: Vec<_> = std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("SKILL.md")]);
    let text = std::fs::read_to_string(folder.join("SKILL.md")).unwrap();
    // The derived name starts with `atk-`, as the folder does (a skill of the user's named
    // `skilled` stays theirs), and the last line, atk's marker, names the plugin's folder.
    assert!(text.starts_with("---\nname: \"atk-skilled\"\ndescription: \"test plugin Skilled\"\n---\n"), "{text}");
    let plugin = std::fs::canonicalize(env.atk_home.join("plugins/skilled")).unwrap();
    let marker = format!(
        "<!-- atk: the skill of the plugin in {}; `atk plug` and `atk unplug` manage this file -->\n",
        plugin.display()
    );
    assert!(text.ends_with(&marker), "{text}");
    assert!(text.contains("# How to use it"), "{text}");
    // atk-cli's link to the whole plugin folder (`.env` included) is replaced by the folder.
    std::fs::remove_dir_all(&folder).unwrap();
    std::os::unix::fs::symlink(env.atk_home.join("plugins/skilled"), &folder).unwrap();
    run_ok(&env, &stubs, &["plug", "skilled", "--gemini", "-y"]);
    assert!(std::fs::symlink_metadata(&folder).unwrap().is_dir());
    // A folder of that name the user made is left alone.
    run_ok(&env, &stubs, &["unplug", "skilled", "--gemini", "-y"]);
    assert!(std::fs::symlink_metadata(&folder).is_err());
    write(&folder.join("SKILL.md"), "---\nname: mine\ndescription: mine\n---\n", false);
    let (_, err) = run_code(&env, &stubs, 1, &["plug", "skilled", "--gemini", "-y"]);
    assert!(err.contains("is not a skill atk wrote"), "{err}");
    run_ok(&env, &stubs, &["unplug", "skilled", "--gemini", "-y"]);
    assert!(folder.join("SKILL.md").is_file());
}

#[test]
fn a_remote_url_that_holds_a_secret_is_said_before_it_is_written() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    let body = "env_vars:\n  - name: TOKEN\n    secret: true\nmcp:\n  transport: http\n  endpoint: https://h.invalid/$TOKEN/mcp\n  env: [TOKEN]\n";
    add_plugin(&env, "Keyed", body, false, &["TOKEN=tok-123456"]);
    let (out, err) = run_ok(&env, &stubs, &["plug", "keyed", "--cursor", "--claude", "-y"]);
    assert!(err.contains("the server's URL holds a secret value, which Cursor will keep"), "{err}");
    assert!(err.contains("which Claude Code will keep"), "{err}");
    assert!(!out.contains("tok-123456") && !err.contains("tok-123456"), "{out}{err}");
    // A URL without a secret says nothing of the kind.
    add_plugin(&env, "Open", "mcp:\n  transport: http\n  endpoint: https://h.invalid/mcp\n", false, &[]);
    let (_, err) = run_ok(&env, &stubs, &["plug", "open", "--cursor", "-y"]);
    assert!(!err.contains("holds a secret"), "{err}");
}

#[test]
fn a_home_path_agents_would_rewrite_is_refused_and_one_with_a_space_is_quoted_for_auggie() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    let src = env.plugin("src-t", &yaml("Tee", SERVER), &[("mcp.sh", "#!/bin/sh\n", true)]);
    // A home whose path has a space: Auggie runs `sh -c` on the words it keeps.
    let spaced = env.path("my home");
    let home = spaced.to_str().unwrap();
    let run = |args: &[&str]| {
        let mut all = vec!["--home", home];
        all.extend(args);
        atk(&env, &stubs).args(&all).output().unwrap()
    };
    assert!(run(&["init"]).status.success());
    let out = run(&["add", src.to_str().unwrap(), "-y"]);
    assert!(out.status.success(), "{}", both(&out));
    let out = run(&["plug", "tee", "--auggie", "-y"]);
    assert!(out.status.success(), "{}", both(&out));
    let entry = json(&env.home.join(".augment/settings.json"))["mcpServers"]["Tee"].clone();
    let canonical = std::fs::canonicalize(&spaced).unwrap();
    assert_eq!(entry["args"][2], format!("'{}'", canonical.display()), "{entry}");
    // What Auggie's shell makes of it is atk exec of this home: plugging again changes nothing.
    stubs.clear();
    let out = run(&["plug", "tee", "--auggie", "-y"]);
    assert!(both(&out).contains("already configured"), "{}", both(&out));
    assert!(stubs.calls().is_empty(), "{:?}", stubs.calls());
    // A home whose path holds `$`: Claude, Gemini and Auggie would expand it.
    let dollar = env.path("h$ome");
    let home = dollar.to_str().unwrap();
    let run = |args: &[&str]| {
        let mut all = vec!["--home", home];
        all.extend(args);
        atk(&env, &stubs).args(&all).output().unwrap()
    };
    assert!(run(&["init"]).status.success());
    assert!(run(&["add", src.to_str().unwrap(), "-y"]).status.success());
    let out = run(&["plug", "tee", "--cursor", "-y"]);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(both(&out).contains("holds '$', which agents rewrite"), "{}", both(&out));
    assert!(!env.home.join(".cursor/mcp.json").exists());
}

#[test]
fn the_agents_own_locations_are_where_atk_looks_for_the_user_s_servers() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    add_plugin(&env, "echo", SERVER, true, &[]);
    // Gemini with GEMINI_CLI_HOME: its servers and skills are under that folder.
    let gemini_home = env.path("ghome");
    let settings = gemini_home.join(".gemini/settings.json");
    let theirs =
        serde_json::json!({"mcpServers": {"echo": {"command": "/usr/bin/my-own", "args": ["--token-file", "/s"]}}});
    write(&settings, &theirs.to_string(), false);
    let out = atk(&env, &stubs)
        .env("GEMINI_CLI_HOME", &gemini_home)
        .args(["plug", "echo", "--gemini", "-y"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(
        both(&out).contains("a server named 'echo' that atk did not write (it runs my-own)"),
        "{}",
        both(&out)
    );
    assert_eq!(json(&settings), theirs);
    // Once the user's server is gone, atk's lands there, with the skill Gemini loads from there.
    write(&settings, "{}", false);
    let out = atk(&env, &stubs)
        .env("GEMINI_CLI_HOME", &gemini_home)
        .args(["plug", "echo", "--gemini", "-y"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", both(&out));
    assert_eq!(json(&settings)["mcpServers"]["echo"]["args"][0], "exec");
    assert!(gemini_home.join(".gemini/skills/atk-echo/SKILL.md").is_file());
    assert!(!env.home.join(".gemini").exists());
    // Claude Code uses its legacy ~/.claude/.config.json when there is one.
    let legacy = env.home.join(".claude/.config.json");
    write(&legacy, &theirs.to_string(), false);
    let (_, err) = run_code(&env, &stubs, 1, &["plug", "echo", "--claude", "-y"]);
    assert!(err.contains("did not write (it runs my-own)"), "{err}");
    run_ok(&env, &stubs, &["unplug", "echo", "--claude", "-y"]);
    assert_eq!(json(&legacy), theirs);
    assert!(stubs.calls().iter().all(|c| !c.contains(&"remove".to_string())), "{:?}", stubs.calls());
}
