//! `atk mcp`, `plug` and `unplug`: stub agent CLIs on PATH record their argv (and fail when told
//! to), file agents' JSON(C) files are checked byte for byte, skills against atk-cli's format, and
//! the record in the manifest through plug, upgrade, remove and `plug --all` on a fresh clone.

use std::path::Path;

use crate::common::agents::*;
use crate::common::*;

const STDIO: &str = "env_vars:
  - name: API_KEY
    required: true
    secret: true
  - name: API_KEY_ID
    default: id-7
  - name: UNSET_OPTIONAL
mcp:
  transport: stdio
  command: node
  args: [\"$ATK_PLUGIN_DIR/server.js\", \"--id\", \"${API_KEY_ID}\", \"--name=two words\"]
  env: [API_KEY, API_KEY_ID, UNSET_OPTIONAL]
";

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Every CLI agent is given `atk exec` of the plugin, with no variable and no secret: atk reads
/// them when the agent starts the server. Claude Code and Codex take only `[A-Za-z0-9_-]` names.
#[test]
fn cli_agents_get_an_atk_exec_entry_for_stdio() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    add_plugin(&env, "Stdio Tool", STDIO, false, &["API_KEY=s3cr3t-value"]);
    let (out, err) = run_ok(&env, &stubs, &["plug", "stdio-tool", "--claude", "--codex", "--gemini", "--auggie", "-y"]);
    let atk = atk_path();
    let exec = exec_words(&env, "stdio-tool");
    let with = |head: &[&str], tail: &[String]| -> Vec<String> {
        strings(head).into_iter().chain(tail.iter().cloned()).collect()
    };
    let args = serde_json::to_string(&exec_args(&env, "stdio-tool")).unwrap();
    assert_eq!(
        stubs.calls(),
        vec![
            with(&["claude", "mcp", "add", "--scope", "user", "--", "Stdio-Tool"], &exec),
            with(&["codex", "mcp", "add", "Stdio-Tool", "--"], &exec),
            strings(&[
                "auggie",
                "mcp",
                "add-json",
                "Stdio Tool",
                &format!(r#"{{"command":{},"args":{args},"env":{{}}}}"#, serde_json::to_string(&atk).unwrap())
            ]),
        ]
    );
    // No secret anywhere: not in what the agents were given, not in what they keep, not printed.
    assert!(!err.contains("s3cr3t") && !out.contains("s3cr3t"), "{out}\n{err}");
    assert_eq!(secrets_outside_the_home(&env, &["s3cr3t-value", "id-7"]), vec![]);
    let claude: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(env.home.join(".claude.json")).unwrap()).unwrap();
    assert_eq!(
        claude["mcpServers"]["Stdio-Tool"],
        serde_json::json!({"type": "stdio", "command": atk, "args": exec[1..], "env": {}})
    );
    // Gemini's settings are edited in place (never through `gemini mcp add`): atk exec, nothing else.
    let gemini: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(env.home.join(".gemini/settings.json")).unwrap()).unwrap();
    assert_eq!(gemini["mcpServers"]["Stdio Tool"], serde_json::json!({"command": atk, "args": exec[1..]}));
    for agent in ["Claude Code", "Codex", "Gemini CLI", "Auggie"] {
        assert!(out.contains(&format!("✓ {agent}: 'Stdio Tool' plugged in")), "{out}");
    }
    assert_eq!(env.log()[0], "Plug 'Stdio Tool' into Claude Code, Codex, Gemini CLI and Auggie");
    let body = env.git(&["log", "-1", "--format=%B"]);
    assert!(body.contains("Atk-Operation: plug\nAtk-Plugin: stdio-tool\n"), "{body}");
    let history = env.ok(&["history"]);
    assert!(history.contains("  plug stdio-tool\n"), "{history}");
    assert!(
        env.manifest().contains("  agents:\n  - claude\n  - codex\n  - gemini\n  - auggie\n"),
        "{}",
        env.manifest()
    );
    // Plugged again: every agent holds exactly what atk would give it, nothing is run.
    stubs.clear();
    let (out, _) = run_ok(&env, &stubs, &["plug", "stdio-tool", "--claude", "--codex", "--gemini", "--auggie", "-y"]);
    assert!(stubs.calls().is_empty(), "{:?}", stubs.calls());
    assert!(out.contains("Codex: already configured") && out.contains("Gemini CLI: already configured"), "{out}");
}

/// The entry always names its home, the default `$HOME/.atk` too (without it, `atk exec` would
/// take the `ATK_HOME` of whatever started it, which some agents pass on and others do not), as
/// the user names it: absolute, links kept, so that a home behind a link can move.
#[test]
fn the_exec_entry_always_names_the_home_as_the_user_names_it() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &["claude"]);
    add_plugin(&env, "Homed", "mcp:\n  transport: stdio\n  command: srv\n", false, &[]);
    run_ok(&env, &stubs, &["plug", "homed", "--claude", "-y"]);
    let call = &stubs.calls()[0];
    let default = env.home.join(".atk").display().to_string();
    assert_eq!(call[call.len() - 5..], strings(&[&atk_path(), "exec", "--home", &default, "homed"]), "{call:?}");
    // A home reached through a link and given as ATK_HOME: the link is named, not where it leads.
    let elsewhere = Env::new();
    let stubs = Stubs::new(&elsewhere, &["claude"]);
    let real = elsewhere.path("homes/real");
    std::fs::create_dir_all(real.parent().unwrap()).unwrap();
    std::fs::rename(&elsewhere.atk_home, &real).unwrap();
    let link = elsewhere.path("homes/link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let plugin = elsewhere.plugin("src-homed", &yaml("Homed", "mcp:\n  transport: stdio\n  command: srv\n"), &[]);
    atk(&elsewhere, &stubs).env("ATK_HOME", &link).args(["add", plugin.to_str().unwrap(), "-y"]).assert().success();
    atk(&elsewhere, &stubs).env("ATK_HOME", &link).args(["plug", "homed", "--claude", "-y"]).assert().success();
    let call = &stubs.calls()[0];
    let named = link.display().to_string();
    assert_eq!(call[call.len() - 5..], strings(&[&atk_path(), "exec", "--home", &named, "homed"]), "{call:?}");
    assert_eq!(call[call.len() - 4..], exec_args_for(&link, "homed"));
}

/// Remote servers keep their endpoint and get no variables (agents connect to a URL); a URL that
/// holds a secret is said so in the preview. A stdio server with a timeout is `atk exec` too.
#[test]
fn cli_agents_get_the_endpoint_for_http_sse_and_atk_exec_with_timeouts() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    let http = "env_vars:\n  - name: TOKEN\n    secret: true\nmcp:\n  transport: http\n  endpoint: https://mcp.example.invalid/$TOKEN/mcp\n  timeout: 600000\n  env: [TOKEN]\n";
    add_plugin(&env, "Remote One", http, false, &["TOKEN=tk-9"]);
    let sse = "mcp:\n  transport: sse\n  endpoint: http://127.0.0.1:9/sse\n";
    add_plugin(&env, "Sse One", sse, false, &[]);
    let timed = "mcp:\n  transport: stdio\n  command: uvx\n  args: [tool]\n  timeout: 1500\n";
    add_plugin(&env, "Timed One", timed, false, &[]);
    let all = ["--claude", "--codex", "--gemini", "--auggie", "-y"];
    let mut errs = String::new();
    for plugin in ["remote-one", "sse-one", "timed-one"] {
        let mut args = vec!["plug", plugin];
        args.extend(all);
        errs += &run_ok(&env, &stubs, &args).1;
    }
    let url = "https://mcp.example.invalid/tk-9/mcp";
    let atk = serde_json::to_string(&atk_path()).unwrap();
    let args = serde_json::to_string(&exec_args(&env, "timed-one")).unwrap();
    let exec = exec_words(&env, "timed-one");
    let with = |head: &[&str], tail: &[String]| -> Vec<String> {
        strings(head).into_iter().chain(tail.iter().cloned()).collect()
    };
    let want = vec![
        strings(&[
            "claude",
            "mcp",
            "add-json",
            "--scope",
            "user",
            "Remote-One",
            &format!(r#"{{"type": "http", "url": "{url}", "timeout": 600000}}"#),
        ]),
        strings(&["codex", "mcp", "add", "Remote-One", "--url", url]),
        strings(&["auggie", "mcp", "add-json", "Remote One", &format!(r#"{{"type":"http","url":"{url}"}}"#)]),
        strings(&[
            "claude",
            "mcp",
            "add",
            "--transport",
            "sse",
            "--scope",
            "user",
            "--",
            "Sse-One",
            "http://127.0.0.1:9/sse",
        ]),
        strings(&["codex", "mcp", "add", "Sse-One", "--url", "http://127.0.0.1:9/sse"]),
        strings(&["auggie", "mcp", "add-json", "Sse One", r#"{"type":"sse","url":"http://127.0.0.1:9/sse"}"#]),
        strings(&[
            "claude",
            "mcp",
            "add-json",
            "--scope",
            "user",
            "Timed-One",
            &format!(r#"{{"command": {atk}, "args": {}, "timeout": 1500}}"#, args.replace(",", ", ")),
        ]),
        with(&["codex", "mcp", "add", "Timed-One", "--"], &exec),
        strings(&[
            "auggie",
            "mcp",
            "add-json",
            "Timed One",
            &format!(r#"{{"command":{atk},"args":{args},"env":{{}}}}"#),
        ]),
    ];
    assert_eq!(stubs.calls(), want);
    // Gemini's settings, edited in place: `httpUrl` for http, `url` for sse, atk exec for stdio.
    let gemini: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(env.home.join(".gemini/settings.json")).unwrap()).unwrap();
    assert_eq!(
        gemini["mcpServers"],
        serde_json::json!({
            "Remote One": {"httpUrl": url, "timeout": 600000},
            "Sse One": {"url": "http://127.0.0.1:9/sse"},
            "Timed One": {"command": atk_path(), "args": exec[1..], "timeout": 1500},
        })
    );
    // The URL holds the secret: the preview says each agent keeps it (and shows it masked).
    for agent in ["Claude Code", "Codex", "Gemini CLI", "Auggie"] {
        let note = format!("the server's URL holds a secret value, which {agent} will keep in its configuration");
        assert!(errs.contains(&note), "{note}\n{errs}");
    }
    assert!(!errs.contains("tk-9"), "{errs}");
}

/// What atk-cli 0.4.0 (the test venv) plugs, with the plugin's variables and secrets in each
/// agent's entry, is atk's own entry from before `atk exec`: atk unplugs it from every agent. A
/// server of the same name that the user made by hand is not atk's: unplug leaves it (and says so),
/// plug stops for that agent.
#[test]
#[ignore = "needs the Python test venv (target/pyvenv or ATK_TEST_PYTHON; .ci/run makes it)"]
fn what_atk_cli_plugged_atk_unplugs_and_a_hand_made_server_is_left_alone() {
    let py = crate::common::python::python(
        "what_atk_cli_plugged_atk_unplugs_and_a_hand_made_server_is_left_alone",
        &["atk.cli"],
    );
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    add_plugin(&env, "py-tool", STDIO, false, &["API_KEY=key-py-s3cret"]);
    let clis = ["--claude", "--codex", "--gemini", "--auggie"];
    let mut args = vec!["plug", "py-tool", "--force", "--opencode"];
    args.extend(clis);
    python_atk(&py, &env, &stubs, &args);
    let files = [
        env.home.join(".claude.json"),
        env.home.join(".codex/config.toml"),
        env.home.join(".gemini/settings.json"),
        env.home.join(".augment/settings.json"),
        env.home.join(".config/opencode/opencode.jsonc"),
    ];
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(text.contains("py-tool") && text.contains("key-py-s3cret"), "atk-cli wrote {}:\n{text}", f.display());
    }
    stubs.clear();
    let mut args = vec!["unplug", "py-tool", "-y", "--opencode"];
    args.extend(clis);
    let (out, _) = run_ok(&env, &stubs, &args);
    for agent in ["Claude Code", "Codex", "Gemini CLI", "Auggie", "OpenCode"] {
        assert!(out.contains(&format!("✓ {agent}: 'py-tool' unplugged")), "{agent}\n{out}");
    }
    // Claude Code, Codex and Auggie through their programs; Gemini's settings edited in place.
    let programs: Vec<String> = stubs.calls().into_iter().map(|c| c[0].clone()).collect();
    assert_eq!(programs, ["claude", "codex", "auggie"], "{:?}", stubs.calls());
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(!text.contains("py-tool") && !text.contains("s3cret"), "{}:\n{text}", f.display());
    }

    // The user's own server of that name (another program), made with each agent's own command.
    for argv in [
        vec!["claude", "mcp", "add", "--scope", "user", "--", "py-tool", "my-server", "--mine"],
        vec!["codex", "mcp", "add", "py-tool", "--", "my-server", "--mine"],
        vec!["gemini", "mcp", "add", "--scope", "user", "py-tool", "my-server", "--", "--mine"],
        vec!["auggie", "mcp", "add-json", "py-tool", r#"{"command":"my-server","args":["--mine"],"env":{}}"#],
    ] {
        stubs.user_runs(&env, &argv);
    }
    let oc = &files[4];
    write(oc, "{\"mcp\": {\"py-tool\": {\"type\": \"local\", \"command\": [\"my-server\", \"--mine\"]}}}\n", false);
    let before: Vec<String> = files.iter().map(|f| std::fs::read_to_string(f).unwrap()).collect();
    stubs.clear();
    let mut args = vec!["unplug", "py-tool", "-y", "--opencode"];
    args.extend(clis);
    let (out, err) = run_ok(&env, &stubs, &args);
    assert!(stubs.calls().is_empty(), "{:?}", stubs.calls());
    assert!(
        (out.clone() + &err)
            .contains("Claude Code: its server 'py-tool' is not atk's (it runs my-server): left as it is"),
        "{out}\n{err}"
    );
    let after: Vec<String> = files.iter().map(|f| std::fs::read_to_string(f).unwrap()).collect();
    assert_eq!(after, before);
    let mut args = vec!["plug", "py-tool", "-y", "--opencode"];
    args.extend(clis);
    let (_, err) = run_code(&env, &stubs, 1, &args);
    for agent in ["Claude Code", "Codex", "Gemini CLI", "Auggie", "OpenCode"] {
        let line = format!("✗ {agent}: it already has a server named 'py-tool' that atk did not write (it runs my-server), left as it is; plug under another name with `--as NAME`, or replace it with `--replace`");
        assert!(err.contains(&line), "{agent}\n{err}");
    }
    assert!(stubs.calls().is_empty(), "{:?}", stubs.calls());
    let after: Vec<String> = files.iter().map(|f| std::fs::read_to_string(f).unwrap()).collect();
    assert_eq!(after, before);
}

#[test]
fn plugging_twice_changes_nothing_and_a_changed_server_is_registered_again() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    let dir = add_plugin(&env, "Twice", STDIO, true, &["API_KEY=one"]);
    run_ok(&env, &stubs, &["plug", "twice", "--claude", "--gemini", "-y"]);
    let claude_md = std::fs::read_to_string(env.home.join(".claude/CLAUDE.md")).unwrap();
    let claude_json = env.home.join(".claude.json");
    let held = std::fs::read_to_string(&claude_json).unwrap();
    let commits = env.log().len();
    stubs.clear();
    let (out, _) = run_ok(&env, &stubs, &["plug", "twice", "--claude", "--gemini"]);
    assert!(out.contains("Claude Code: already configured"), "{out}");
    assert!(stubs.calls().is_empty(), "{:?}", stubs.calls());
    assert_eq!(env.log().len(), commits);
    assert_eq!(std::fs::read_to_string(env.home.join(".claude/CLAUDE.md")).unwrap(), claude_md);
    // A server removed by hand: what the agent holds is the truth, so plug adds it again.
    write(&claude_json, "{\"mcpServers\": {}}\n", false);
    let (out, _) = run_ok(&env, &stubs, &["plug", "twice", "--claude", "--gemini", "-y"]);
    assert!(
        out.contains("✓ Claude Code: 'Twice' plugged in") && out.contains("Gemini CLI: already configured"),
        "{out}"
    );
    let mut add = strings(&["claude", "mcp", "add", "--scope", "user", "--", "Twice"]);
    add.extend(exec_words(&env, "twice"));
    assert_eq!(stubs.calls(), vec![add.clone()]);
    assert_eq!(std::fs::read_to_string(&claude_json).unwrap(), held);
    // A server the agent must be given otherwise (a timeout now): atk's entry is removed and added.
    stubs.clear();
    let yaml_path = dir.join("plugin.yaml");
    let text = std::fs::read_to_string(&yaml_path).unwrap();
    write(&yaml_path, &text.replace("mcp:\n", "mcp:\n  timeout: 5000\n"), false);
    run_ok(&env, &stubs, &["plug", "twice", "--claude", "-y"]);
    let calls = stubs.calls();
    assert_eq!(calls[0], strings(&["claude", "mcp", "remove", "--scope", "user", "Twice"]));
    assert_eq!(calls[1][..6], strings(&["claude", "mcp", "add-json", "--scope", "user", "Twice"]));
    assert!(calls[1][6].contains("\"timeout\": 5000"), "{calls:?}");
    assert_eq!(calls.len(), 2);
    assert!(dir.join("SKILL.md").is_file());
}

/// A secret changed with `atk setup` reaches the server at its next start (`atk exec` reads it):
/// no agent is plugged again, and no agent's file changes.
#[test]
fn changing_a_secret_with_setup_replugs_nothing() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    let body = "env_vars:\n  - name: API_KEY\n    required: true\n    secret: true\nmcp:\n  transport: stdio\n  command: ./show.sh\n  env: [API_KEY]\n";
    let dir = add_plugin(&env, "Rotated", body, false, &["API_KEY=first-s3cret"]);
    write(&dir.join("show.sh"), "#!/bin/sh\nprintf '%s' \"$API_KEY\"\n", true);
    let mut agents = vec!["--claude", "--codex", "--gemini", "--auggie"];
    agents.extend(["--opencode", "--cursor", "--vscode", "--windsurf"]);
    let mut plug = vec!["plug", "rotated", "-y"];
    plug.extend(&agents);
    run_ok(&env, &stubs, &plug);
    let outside = |env: &Env| -> Vec<(String, (u32, Vec<u8>))> {
        tree(&env.home).into_iter().filter(|(p, _)| !p.starts_with(".atk/")).collect()
    };
    let before = outside(&env);
    stubs.clear();
    env.ok(&["setup", "rotated", "--set", "API_KEY=second-s3cret"]);
    let (out, _) = run_ok(&env, &stubs, &plug);
    assert!(stubs.calls().is_empty(), "{:?}", stubs.calls());
    for agent in ["Claude Code", "Codex", "Gemini CLI", "Auggie", "OpenCode", "Cursor", "VS Code", "Windsurf"] {
        assert!(out.contains(&format!("{agent}: already configured")), "{agent}\n{out}");
    }
    assert_eq!(outside(&env), before);
    assert_eq!(secrets_outside_the_home(&env, &["first-s3cret", "second-s3cret"]), vec![]);
    // And the server, started as the agents start it, gets the new value.
    let claude: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(env.home.join(".claude.json")).unwrap()).unwrap();
    let entry = &claude["mcpServers"]["Rotated"];
    assert_eq!(entry["command"], atk_path());
    let args: Vec<String> = serde_json::from_value(entry["args"].clone()).unwrap();
    let served = served(&env, &atk_path(), &args, &[]);
    assert_eq!(String::from_utf8_lossy(&served.stdout), "second-s3cret", "{served:?}");
}

#[test]
fn a_failing_agent_is_reported_with_its_message_and_the_others_go_on() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    let dir = add_plugin(&env, "Fails", STDIO, true, &["API_KEY=x"]);
    stubs.fail("codex", "Error: config.toml is locked by another codex\n");
    let (out, err) = run_code(&env, &stubs, 1, &["plug", "fails", "--claude", "--codex", "--gemini", "-y"]);
    assert!(err.contains("✗ Codex: Error: config.toml is locked by another codex"), "{err}");
    assert!(out.contains("✓ Claude Code") && out.contains("✓ Gemini CLI"), "{out}");
    // The failed agent is not recorded, and its skill was not added.
    assert!(env.manifest().contains("  agents:\n  - claude\n  - gemini\n"), "{}", env.manifest());
    assert!(!env.home.join(".codex/AGENTS.md").exists());
    // Unplugging from an agent whose program is gone still removes its skill and exits 0, but
    // says the agent is not here, and keeps it recorded: its MCP registration is still there.
    std::fs::remove_file(stubs.bin.join("claude")).unwrap();
    let claude_md = env.home.join(".claude/CLAUDE.md");
    let line = format!("@{}", dir.join("SKILL.md").display());
    assert!(std::fs::read_to_string(&claude_md).unwrap().contains(&line));
    let (_, err) = run_ok(&env, &stubs, &["unplug", "fails", "--claude", "-y"]);
    assert!(err.contains("Claude Code: not installed ('claude' is not on PATH)"), "{err}");
    assert!(!std::fs::read_to_string(&claude_md).unwrap().contains(&line));
    assert!(env.manifest().contains("  - claude\n"), "{}", env.manifest());
    assert!(std::fs::read_to_string(env.home.join(".claude.json")).unwrap().contains("\"Fails\""));
    // Plugging into an agent that is not installed fails that agent.
    let (_, err) = run_code(&env, &stubs, 1, &["plug", "fails", "--claude", "-y"]);
    assert!(err.contains("✗ Claude Code: not installed ('claude' is not on PATH)"), "{err}");
    // Gemini's settings are a file atk edits itself: without its program, Gemini is still
    // unplugged whole (server and skill folder), and plugged again.
    std::fs::remove_file(stubs.bin.join("gemini")).unwrap();
    let settings = env.home.join(".gemini/settings.json");
    let folder = env.home.join(".gemini/skills/atk-fails");
    assert!(folder.join("SKILL.md").is_file());
    let (out, _) = run_ok(&env, &stubs, &["unplug", "fails", "--gemini", "-y"]);
    assert!(out.contains("✓ Gemini CLI: 'Fails' unplugged"), "{out}");
    assert!(!std::fs::read_to_string(&settings).unwrap().contains("\"Fails\""));
    assert!(std::fs::symlink_metadata(&folder).is_err());
    assert!(!env.manifest().contains("  - gemini\n"), "{}", env.manifest());
    let (out, _) = run_ok(&env, &stubs, &["plug", "fails", "--gemini", "-y"]);
    assert!(out.contains("✓ Gemini CLI: 'Fails' plugged in"), "{out}");
    assert!(std::fs::read_to_string(&settings).unwrap().contains("\"Fails\""));
    assert!(stubs.calls().iter().all(|c| c[0] != "gemini"), "{:?}", stubs.calls());
}

#[test]
fn confirmation_is_needed_without_yes_and_declining_skips() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    add_plugin(&env, "Asks", STDIO, false, &["API_KEY=x"]);
    let before = env.snapshot();
    let (_, err) = run_code(&env, &stubs, 2, &["plug", "asks", "--claude"]);
    assert!(err.contains("hint: pass --yes (or --force)"), "{err}");
    assert!(stubs.calls().is_empty());
    assert_eq!(env.snapshot(), before);
    // On a terminal, "no" skips the agent and changes nothing.
    let mut cmd = std::process::Command::new(bin());
    env.apply(&mut cmd);
    cmd.env_remove("CI").env("TERM", "dumb").env("PATH", stubs.path_var()).args(["plug", "asks", "--claude"]);
    let mut s = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
    s.exp_string("Plug 'Asks' into Claude Code?").unwrap();
    s.send_line("n").unwrap();
    s.exp_string("Claude Code: skipped").unwrap();
    s.exp_eof().unwrap();
    assert!(stubs.calls().is_empty());
    assert_eq!(env.snapshot(), before);
    // No agent named: a usage error.
    let (_, err) = run_code(&env, &stubs, 2, &["plug", "asks"]);
    assert!(err.contains("--all-agents"), "{err}");
}

const OPENCODE_USER: &str = r#"// my OpenCode settings
{
  "$schema": "https://opencode.ai/config.json",
  /* the look */
  "theme": "dark",
  "mcp": {
    "mine": { "type": "local", "command": ["my-server"], }, // keep this one
  },
  "instructions": ["~/notes.md",],
}
"#;

#[test]
fn file_agents_edit_jsonc_in_place_and_keep_everything_else() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &[]);
    let dir = add_plugin(&env, "Filer", STDIO, true, &["API_KEY=k-secret"]);
    let p = dir.display().to_string();
    let oc = env.home.join(".config/opencode/opencode.jsonc");
    write(&oc, OPENCODE_USER, false);
    std::fs::set_permissions(&oc, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
    let cursor = env.home.join(".cursor/mcp.json");
    let cursor_user = "{\n    // servers I added by hand\n    \"mcpServers\": {\n        \"hand\": {\"url\": \"http://x\"},\n    },\n}\n";
    write(&cursor, cursor_user, false);
    run_ok(&env, &stubs, &["plug", "filer", "--opencode", "--cursor", "--vscode", "--windsurf", "-y"]);

    let text = std::fs::read_to_string(&oc).unwrap();
    let head = "// my OpenCode settings\n{\n  \"$schema\": \"https://opencode.ai/config.json\",\n  /* the look */\n  \"theme\": \"dark\",\n  \"mcp\": {\n    \"mine\": { \"type\": \"local\", \"command\": [\"my-server\"], }, // keep this one\n";
    assert!(text.starts_with(head), "{text}");
    let command = exec_words(&env, "filer").iter().map(|w| serde_json::to_string(w).unwrap()).collect::<Vec<_>>();
    let want = format!(
        "    \"Filer\": {{\n      \"type\": \"local\",\n      \"command\": [{}],\n      \"enabled\": true,\n    }},\n  }},\n  \"instructions\": [\"~/notes.md\", \"{p}/SKILL.md\"],\n}}\n",
        command.join(", ")
    );
    assert_eq!(&text[head.len()..], want, "{text}");
    assert_eq!(mode(&oc), 0o640);

    let c = std::fs::read_to_string(&cursor).unwrap();
    assert!(c.starts_with("{\n    // servers I added by hand\n    \"mcpServers\": {\n        \"hand\": {\"url\": \"http://x\"},\n        \"Filer\": {\n"), "{c}");
    assert!(c.ends_with("        },\n    },\n}\n"), "{c}");
    let vs = env.home.join(".config/Code/User/mcp.json");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&vs).unwrap()).unwrap();
    let (atk, args) = (atk_path(), exec_args(&env, "filer"));
    assert_eq!(v["servers"]["Filer"], serde_json::json!({"type": "stdio", "command": atk, "args": args}));
    assert_eq!(mode(&vs), 0o600, "new files are the user's alone");
    let ws = env.home.join(".codeium/windsurf/mcp_config.json");
    let w: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&ws).unwrap()).unwrap();
    assert_eq!(w["mcpServers"]["Filer"], serde_json::json!({"command": atk, "args": args}));
    assert_eq!(mode(&ws), 0o600);
    let c = std::fs::read_to_string(&cursor).unwrap();
    let given = format!("\"command\": {},", serde_json::to_string(&atk).unwrap());
    assert!(c.contains(&given) && !c.contains("\"env\""), "{c}");
    assert_eq!(secrets_outside_the_home(&env, &["k-secret"]), vec![]);

    // Unplugging puts the files back as they were (jsonc-parser drops the trailing comma of a
    // one-line list it edits).
    run_ok(&env, &stubs, &["unplug", "filer", "--opencode", "--cursor", "-y"]);
    assert_eq!(std::fs::read_to_string(&oc).unwrap(), OPENCODE_USER.replace("\"~/notes.md\",]", "\"~/notes.md\"]"));
    assert_eq!(std::fs::read_to_string(&cursor).unwrap(), cursor_user);
    assert_eq!(env.log()[0], "Unplug 'Filer' from OpenCode and Cursor");
    assert!(env.manifest().contains("  agents:\n  - vscode\n  - windsurf\n"), "{}", env.manifest());
}

#[test]
fn a_linked_config_file_is_edited_at_its_target_and_stays_a_link() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &[]);
    add_plugin(&env, "Linked", "mcp:\n  transport: stdio\n  command: x\n", false, &[]);
    let real = env.path("dotfiles/cursor-mcp.json");
    write(&real, "{}\n", false);
    let link = env.home.join(".cursor/mcp.json");
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    run_ok(&env, &stubs, &["plug", "linked", "--cursor", "-y"]);
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert!(std::fs::read_to_string(&real).unwrap().contains("\"Linked\""));
    // A link to nowhere is left alone, and the agent fails.
    std::fs::remove_file(&real).unwrap();
    let (_, err) = run_code(&env, &stubs, 1, &["plug", "linked", "--cursor", "-y"]);
    assert!(err.contains("is a link to something that is not a file"), "{err}");
    assert!(!real.exists());
}

#[test]
fn agents_own_location_variables_are_honored() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    let dir = add_plugin(&env, "Located", "", true, &[]);
    let (claude, codex, xdg) = (env.path("cc"), env.path("cx"), env.path("xdg"));
    atk(&env, &stubs)
        .env("CLAUDE_CONFIG_DIR", &claude)
        .env("CODEX_HOME", &codex)
        .env("XDG_CONFIG_HOME", &xdg)
        .args(["plug", "located", "--claude", "--codex", "--opencode", "--vscode", "-y"])
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "VS Code: skipped (the plugin has no MCP server, and VS Code has no skills)",
        ));
    let skill = dir.join("SKILL.md").display().to_string();
    assert_eq!(
        std::fs::read_to_string(claude.join("CLAUDE.md")).unwrap(),
        format!("\n<!-- ATK:BEGIN -->\n@{skill}\n<!-- ATK:END -->\n")
    );
    assert!(std::fs::read_to_string(codex.join("AGENTS.md"))
        .unwrap()
        .contains(&format!("Read {skill} for instructions on using the Located MCP tools.")));
    assert!(std::fs::read_to_string(xdg.join("opencode/opencode.jsonc")).unwrap().contains(&skill));
    // A skill-only plugin: no MCP call at all; VS Code has no skills, so it is skipped.
    assert!(stubs.calls().is_empty(), "{:?}", stubs.calls());
    assert!(!env.home.join(".claude").exists() && !xdg.join("Code").exists());
}

#[test]
fn skills_match_atk_cli_s_format_in_existing_files() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    let dir = add_plugin(&env, "Skilled", "", true, &[]);
    let skill = dir.join("SKILL.md").display().to_string();
    // As atk-cli leaves CLAUDE.md after plugging another plugin.
    let claude_md = env.home.join(".claude/CLAUDE.md");
    write(&claude_md, "# My rules\n\nBe terse.\n\n<!-- ATK:BEGIN -->\n@/opt/other/SKILL.md\n<!-- ATK:END -->\n", false);
    // A stale link of atk-cli's where Gemini's skill goes: replaced by a folder of atk's with a
    // regular SKILL.md (front matter Gemini loads skills by, and the marker naming the plugin).
    let gemini_link = env.home.join(".gemini/skills/atk-skilled");
    std::fs::create_dir_all(gemini_link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink("/nonexistent/old", &gemini_link).unwrap();
    run_ok(&env, &stubs, &["plug", "skilled", "--claude", "--gemini", "--auggie", "-y"]);
    assert_eq!(
        std::fs::read_to_string(&claude_md).unwrap(),
        format!("# My rules\n\nBe terse.\n\n<!-- ATK:BEGIN -->\n@/opt/other/SKILL.md\n@{skill}\n<!-- ATK:END -->\n")
    );
    assert!(std::fs::symlink_metadata(&gemini_link).unwrap().is_dir());
    assert_eq!(
        std::fs::read_to_string(gemini_link.join("SKILL.md")).unwrap(),
        format!(
            "---\nname: \"atk-skilled\"\ndescription: \"test plugin Skilled\"\n---\n\n# How to use it\n\n<!-- atk: the skill of the plugin in {}; `atk plug` and `atk unplug` manage this file -->\n",
            dir.display()
        )
    );
    assert_eq!(std::fs::read_link(env.home.join(".augment/rules/atk-skilled.md")).unwrap(), dir.join("SKILL.md"));
    // A file where a link would go is never touched.
    let blocked = env.home.join(".augment/rules/atk-skilled.md");
    std::fs::remove_file(&blocked).unwrap();
    write(&blocked, "mine\n", false);
    let (_, err) = run_code(&env, &stubs, 1, &["plug", "skilled", "--auggie", "-y"]);
    assert!(err.contains("is not a link atk made"), "{err}");
    assert_eq!(std::fs::read_to_string(&blocked).unwrap(), "mine\n");
    run_ok(&env, &stubs, &["unplug", "skilled", "--claude", "--gemini", "-y"]);
    assert_eq!(
        std::fs::read_to_string(&claude_md).unwrap(),
        "# My rules\n\nBe terse.\n\n<!-- ATK:BEGIN -->\n@/opt/other/SKILL.md\n<!-- ATK:END -->\n"
    );
    assert!(std::fs::symlink_metadata(&gemini_link).is_err());
    // Unplugging what is not there is fine.
    let (out, _) = run_ok(&env, &stubs, &["unplug", "skilled", "--claude", "--windsurf", "-y"]);
    assert!(out.contains("Claude Code: 'Skilled' was not plugged in"), "{out}");
}

#[test]
fn mcp_shows_the_resolved_server_with_secrets_masked() {
    let env = Env::new();
    let body = "env_vars:
  - name: TOKEN
    required: true
    secret: true
  # Not declared secret, but named like one (`*TOKEN*`): masked too.
  - name: TOKEN_ID
    default: tid
  - name: OUT
    default: $ATK_PLUGIN_DIR/output
  - name: NEEDED
    required: true
mcp:
  transport: stdio
  command: ./mcp.sh
  args: [\"--token=$TOKEN\", \"$TOKEN_ID\", \"${TOKEN}x\", \"$TOKENS\"]
  env: [TOKEN, TOKEN_ID, OUT, NEEDED]
";
    let dir = add_plugin(&env, "Shown", body, false, &["TOKEN=abcdefgh"]);
    let p = dir.display().to_string();
    let out = env.cmd().args(["mcp", "shown", "--json"]).output().unwrap();
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("only JSON on stdout");
    assert_eq!(
        doc,
        serde_json::json!({"Shown": {
            "command": format!("{p}/mcp.sh"),
            "args": ["--token=********", "********", "********x", "$TOKENS"],
            "env": {"TOKEN": "********", "TOKEN_ID": "********", "OUT": format!("{p}/output"), "NEEDED": "<NOT_SET>"}
        }})
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("environment variable 'NEEDED' is not set"), "{err}");
    let shown = env.ok(&["mcp", "shown", "--show-secrets", "--json"]);
    assert!(shown.contains("\"--token=abcdefgh\""), "{shown}");
    let text = env.ok(&["mcp", "shown"]);
    assert!(
        text.contains(&format!("Command:    {p}/mcp.sh '--token=********' '********' '********x' '$TOKENS'")),
        "{text}"
    );
    assert!(text.contains("NEEDED=<NOT_SET>") && !text.contains("abcdefgh"), "{text}");
    // `--for AGENT` prints what plug gives that agent: atk exec of the plugin, nothing secret, so
    // that a pasted snippet works.
    let toml = env.ok(&["mcp", "shown", "--for", "codex"]);
    let args = exec_args(&env, "shown").iter().map(|a| format!("{a:?}")).collect::<Vec<_>>().join(", ");
    assert_eq!(toml.trim_end(), format!("[mcp_servers.Shown]\ncommand = {:?}\nargs = [{args}]", atk_path()));
    let text = env.ok(&["mcp", "shown", "--for", "cursor", "--show-secrets"]);
    assert!(!text.contains("abcdefgh") && !text.contains("TOKEN"), "{text}");
    let cursor: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        cursor["mcpServers"]["Shown"],
        serde_json::json!({"command": atk_path(), "args": exec_args(&env, "shown")})
    );
    env.fails(4, &["mcp", "shown-not"]);
    add_plugin(&env, "No Server", "", true, &[]);
    let (_, err) = env.fails(5, &["mcp", "no-server"]);
    assert!(err.contains("has no MCP server"), "{err}");
}

#[test]
fn the_record_goes_through_upgrade_and_remove_and_a_fresh_clone_is_rewired() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    add_plugin(&env, "Kept", STDIO, true, &["API_KEY=k1"]);
    run_ok(&env, &stubs, &["plug", "kept", "--claude", "--cursor", "-y"]);
    let manifest = env.manifest();
    assert!(manifest.contains("  agents:\n  - claude\n  - cursor\n"), "{manifest}");
    // A new version of the plugin (a changed argument): the recorded agents are plugged again.
    // (The upgrade hook is wired in remove/upgrade; see the record test below.)
    // A fresh clone on a new laptop: one command re-plugs everything; Cursor is not there.
    let laptop = Env::bare();
    git(laptop.dir.path(), &["clone", "-q", env.atk_home.to_str().unwrap(), laptop.atk_home.to_str().unwrap()]);
    let stubs2 = Stubs::new(&laptop, &["claude"]);
    let (out, err) = run_ok(&laptop, &stubs2, &["plug", "--all", "-y"]);
    let dir = std::fs::canonicalize(laptop.atk_home.join("plugins/kept")).unwrap();
    let mut add = strings(&["claude", "mcp", "add", "--scope", "user", "--", "Kept"]);
    add.extend(exec_words(&laptop, "kept"));
    assert_eq!(stubs2.calls(), vec![add]);
    assert!(out.contains("✓ Claude Code: 'Kept' plugged in"), "{out}");
    assert!(err.contains("✗ Cursor: not installed (not found on this machine)"), "{err}");
    assert!(err.contains("environment variable 'API_KEY' is not set"), "{err}");
    assert_eq!(
        std::fs::read_to_string(laptop.home.join(".claude/CLAUDE.md")).unwrap(),
        format!("\n<!-- ATK:BEGIN -->\n@{}/SKILL.md\n<!-- ATK:END -->\n", dir.display())
    );
    // Again: nothing to do.
    stubs2.clear();
    run_ok(&laptop, &stubs2, &["plug", "--all"]);
    assert!(stubs2.calls().is_empty());
}

/// atk-cli 0.4.0 from the test venv, run with this environment and the stubs on PATH (its update
/// check never asks PyPI).
fn python_atk(py: &Path, env: &Env, stubs: &Stubs, args: &[&str]) -> String {
    const CLI: &str = "
import sys
import atk.update_check
atk.update_check.PyPIVersionSource.fetch_latest = lambda self, package: None
from atk.cli import main_cli
sys.argv = ['atk'] + sys.argv[1:]
main_cli()
";
    let path = stubs.path_var();
    let vars = [
        ("HOME", env.home.to_str().unwrap()),
        ("ATK_HOME", env.atk_home.to_str().unwrap()),
        ("PATH", path.as_str()),
        ("NO_COLOR", "1"),
        ("COLUMNS", "300"),
        ("GIT_CONFIG_NOSYSTEM", "1"),
    ];
    let mut cmd = std::process::Command::new(py);
    cmd.arg("-c").arg(CLI).args(args).env_clear().envs(vars).current_dir(env.dir.path());
    let out = wait_with_timeout(
        cmd.stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
        RUN_TIMEOUT,
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "atk-cli {args:?}: {text}");
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// A plugin whose name every agent takes has the same server name in atk and atk-cli 0.4.0: what
/// atk plugs (an `atk exec` entry), atk-cli unplugs by that name, and the other way round.
#[test]
#[ignore = "needs the Python test venv (target/pyvenv or ATK_TEST_PYTHON; .ci/run makes it)"]
fn plugged_by_atk_unplugged_by_atk_cli() {
    let py = crate::common::python::python("plugged_by_atk_unplugged_by_atk_cli", &["atk.cli"]);
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    let dir = add_plugin(&env, "both-ways", STDIO, true, &["API_KEY=k"]);
    let agents = ["--claude", "--codex", "--gemini", "--auggie", "--opencode"];
    let mut args = vec!["plug", "both-ways", "-y"];
    args.extend(agents);
    run_ok(&env, &stubs, &args);
    // atk-cli reads the manifest with its `agents:` key, and resolves the same server.
    let ours: serde_json::Value =
        serde_json::from_str(&env.ok(&["mcp", "both-ways", "--json", "--show-secrets"])).unwrap();
    let theirs: serde_json::Value =
        serde_json::from_str(&python_atk(&py, &env, &stubs, &["mcp", "both-ways", "--json"])).unwrap();
    assert_eq!(ours, theirs);
    stubs.clear();
    let mut args = vec!["unplug", "both-ways", "--force"];
    args.extend(agents);
    python_atk(&py, &env, &stubs, &args);
    assert_eq!(
        stubs.calls(),
        vec![
            strings(&["claude", "mcp", "remove", "--scope", "user", "both-ways"]),
            strings(&["codex", "mcp", "remove", "both-ways"]),
            strings(&["gemini", "mcp", "remove", "--scope", "user", "both-ways"]),
            strings(&["auggie", "mcp", "remove", "both-ways"]),
        ]
    );
    let servers = |rel: &str| -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(env.home.join(rel)).unwrap()).unwrap();
        v["mcpServers"].clone()
    };
    for rel in [".claude.json", ".gemini/settings.json", ".augment/settings.json"] {
        assert_eq!(servers(rel), serde_json::json!({}), "{rel}");
    }
    assert!(!std::fs::read_to_string(env.home.join(".codex/config.toml")).unwrap().contains("both-ways"));
    let section = "\n<!-- ATK:BEGIN -->\n<!-- ATK:END -->\n";
    assert_eq!(std::fs::read_to_string(env.home.join(".claude/CLAUDE.md")).unwrap(), section);
    assert_eq!(std::fs::read_to_string(env.home.join(".codex/AGENTS.md")).unwrap(), section);
    // atk-cli removes only a link there: the folder atk wrote for Gemini (the skill's text and
    // atk's marker, nothing secret) stays until atk unplugs it (below).
    let gemini_skill = env.home.join(".gemini/skills/atk-both-ways");
    let kept = std::fs::read_to_string(gemini_skill.join("SKILL.md")).unwrap();
    assert!(
        kept.ends_with(&format!(
            "<!-- atk: the skill of the plugin in {}; `atk plug` and `atk unplug` manage this file -->\n",
            dir.display()
        )),
        "{kept}"
    );
    assert!(std::fs::symlink_metadata(env.home.join(".augment/rules/atk-both-ways.md")).is_err());
    let oc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(env.home.join(".config/opencode/opencode.jsonc")).unwrap())
            .unwrap();
    assert_eq!(oc, serde_json::json!({"mcp": {}, "instructions": []}));
    // And the other way: what atk-cli plugs, atk unplugs.
    python_atk(&py, &env, &stubs, &["plug", "both-ways", "--force", "--claude", "--gemini", "--opencode"]);
    assert!(std::fs::read_to_string(env.home.join(".claude/CLAUDE.md"))
        .unwrap()
        .contains(&format!("@{}/SKILL.md", dir.display())));
    assert_eq!(servers(".claude.json")["both-ways"]["command"], "node");
    run_ok(&env, &stubs, &["unplug", "both-ways", "--claude", "--gemini", "--opencode", "-y"]);
    for rel in [".claude.json", ".gemini/settings.json"] {
        assert_eq!(servers(rel), serde_json::json!({}), "{rel}");
    }
    assert_eq!(std::fs::read_to_string(env.home.join(".claude/CLAUDE.md")).unwrap(), section);
    // atk removes its own Gemini skill folder.
    assert!(std::fs::symlink_metadata(env.home.join(".gemini/skills/atk-both-ways")).is_err());
    let oc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(env.home.join(".config/opencode/opencode.jsonc")).unwrap())
            .unwrap();
    assert_eq!(oc, serde_json::json!({"mcp": {}, "instructions": []}));
}

/// An upgrade that keeps the server a command re-plugs nothing: agents start `atk exec`, which
/// runs the new version. An upgrade that changes what agents are given (a remote server now)
/// plugs the recorded agents again; `remove` unplugs them.
#[test]
fn upgrade_replugs_recorded_agents_and_remove_unplugs_them() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    let work = env.path("mcp-tool");
    let v1 = yaml("Mcp Tool", "mcp:\n  transport: stdio\n  command: ./server.sh\n  args: [--v1]\n");
    write(&work.join(".atk/plugin.yaml"), &v1, false);
    write(&work.join(".atk/server.sh"), "#!/bin/sh\n", true);
    write(&work.join(".atk/SKILL.md"), "# skill\n", false);
    git(env.dir.path(), &["init", "-q", "-b", "main", work.to_str().unwrap()]);
    crate::common::sources::commit_all(&work, "v1");
    env.ok(&["add", "-y", &format!("file://{}", work.display())]);
    run_ok(&env, &stubs, &["plug", "mcp-tool", "--claude", "--cursor", "-y"]);
    let dir = std::fs::canonicalize(env.atk_home.join("plugins/mcp-tool")).unwrap();
    let cursor = env.home.join(".cursor/mcp.json");
    let (claude_json, given) = (env.home.join(".claude.json"), std::fs::read_to_string(&cursor).unwrap());
    let held = std::fs::read_to_string(&claude_json).unwrap();
    assert!(given.contains(&serde_json::to_string(&atk_path()).unwrap()), "{given}");

    // A new version that only adds a file: nothing to re-plug.
    write(&work.join(".atk/NOTES.md"), "notes\n", false);
    crate::common::sources::commit_all(&work, "notes");
    stubs.clear();
    run_ok(&env, &stubs, &["upgrade", "mcp-tool", "-y"]);
    assert!(stubs.calls().is_empty(), "{:?}", stubs.calls());

    // A new version with another argument: the agents start `atk exec` as before, which now runs
    // the new argument; nothing is re-plugged.
    write(&work.join(".atk/plugin.yaml"), &v1.replace("--v1", "--v2"), false);
    crate::common::sources::commit_all(&work, "v2");
    let (out, _) = run_ok(&env, &stubs, &["upgrade", "mcp-tool", "-y"]);
    assert!(!out.contains("plugged in again"), "{out}");
    assert!(stubs.calls().is_empty(), "{:?}", stubs.calls());
    assert_eq!(std::fs::read_to_string(&cursor).unwrap(), given);
    assert_eq!(std::fs::read_to_string(&claude_json).unwrap(), held);
    let served: serde_json::Value = serde_json::from_str(&env.ok(&["mcp", "mcp-tool", "--json"])).unwrap();
    assert_eq!(served["Mcp Tool"]["args"], serde_json::json!(["--v2"]), "{served}");
    assert_eq!(served["Mcp Tool"]["command"], format!("{}/server.sh", dir.display()));

    // A new version that is a remote server: both agents get its endpoint.
    let v3 = yaml("Mcp Tool", "mcp:\n  transport: sse\n  endpoint: http://127.0.0.1:9/sse\n");
    write(&work.join(".atk/plugin.yaml"), &v3, false);
    crate::common::sources::commit_all(&work, "v3");
    let (out, _) = run_ok(&env, &stubs, &["upgrade", "mcp-tool", "-y"]);
    assert!(out.contains("Claude Code: 'Mcp Tool' plugged in again"), "{out}");
    assert_eq!(
        stubs.calls(),
        vec![
            strings(&["claude", "mcp", "remove", "--scope", "user", "Mcp-Tool"]),
            strings(&[
                "claude",
                "mcp",
                "add",
                "--transport",
                "sse",
                "--scope",
                "user",
                "--",
                "Mcp-Tool",
                "http://127.0.0.1:9/sse"
            ]),
        ]
    );
    let text = std::fs::read_to_string(&cursor).unwrap();
    assert!(text.contains("\"url\": \"http://127.0.0.1:9/sse\"") && !text.contains("exec"), "{text}");
    assert!(env.manifest().contains("  agents:\n  - claude\n  - cursor\n"), "{}", env.manifest());

    // remove unplugs first: the registration, the skill line, the file entry.
    stubs.clear();
    run_ok(&env, &stubs, &["remove", "mcp-tool", "--force"]);
    assert_eq!(stubs.calls(), vec![strings(&["claude", "mcp", "remove", "--scope", "user", "Mcp-Tool"])]);
    assert_eq!(
        std::fs::read_to_string(env.home.join(".claude/CLAUDE.md")).unwrap(),
        "\n<!-- ATK:BEGIN -->\n<!-- ATK:END -->\n"
    );
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&cursor).unwrap()).unwrap();
    assert_eq!(v, serde_json::json!({"mcpServers": {}}));
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&claude_json).unwrap()).unwrap();
    assert_eq!(v["mcpServers"], serde_json::json!({}));
    assert_eq!(env.log()[0], "Remove plugin 'Mcp Tool'");
}

#[test]
fn uninstall_unplugs_the_recorded_agents_and_keeps_the_record() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &[]);
    let body = "lifecycle:\n  install: 'true'\n  uninstall: 'true'\nmcp:\n  transport: stdio\n  command: run-it\n";
    add_plugin(&env, "Torn Down", body, false, &[]);
    run_ok(&env, &stubs, &["plug", "torn-down", "--windsurf", "-y"]);
    let file = env.home.join(".codeium/windsurf/mcp_config.json");
    assert!(std::fs::read_to_string(&file).unwrap().contains("Torn Down"));
    let (_, err) = run_ok(&env, &stubs, &["uninstall", "torn-down", "--force"]);
    assert!(err.contains("Unplugging 'Torn Down' from Windsurf"), "{err}");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(v, serde_json::json!({"mcpServers": {}}));
    // Still in the manifest, still recorded: `atk install` and `atk plug --all` bring it back.
    assert!(env.manifest().contains("  agents:\n  - windsurf\n"), "{}", env.manifest());
    run_ok(&env, &stubs, &["plug", "--all", "-y"]);
    assert!(std::fs::read_to_string(&file).unwrap().contains("Torn Down"));
}

/// A server of the user's with the plugin's name is never changed: `plug` stops for that agent
/// (exit 1, the entry named, `--as` and `--replace` offered); `--replace` replaces it, said in the
/// preview; `--as NAME` plugs beside it under that name, remembered, and unplug removes only that.
#[test]
fn a_server_of_the_user_s_with_the_plugin_s_name_is_left_alone_unless_replaced_or_renamed() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    add_plugin(&env, "Known", "mcp:\n  transport: stdio\n  command: srv\n", false, &[]);
    let own = |argv: &[&str]| stubs.user_runs(&env, argv);
    own(&["claude", "mcp", "add", "--scope", "user", "--", "Known", "my-own", "--token-file", "t"]);
    own(&["codex", "mcp", "add", "Known", "--", "my-own"]);
    let cursor = env.home.join(".cursor/mcp.json");
    let cursor_user =
        "{\n  \"mcpServers\": {\n    \"Known\": {\"url\": \"https://user:pw@mine.example/mcp\"}\n  }\n}\n";
    write(&cursor, cursor_user, false);
    let claude_json = env.home.join(".claude.json");
    let before = (std::fs::read_to_string(&claude_json).unwrap(), env.manifest());
    stubs.clear();
    let (out, err) = run_code(&env, &stubs, 1, &["plug", "known", "--claude", "--cursor", "-y"]);
    assert!(stubs.calls().is_empty(), "{:?}", stubs.calls());
    assert!(
        err.contains("✗ Claude Code: it already has a server named 'Known' that atk did not write (it runs my-own), left as it is; plug under another name with `--as NAME`, or replace it with `--replace`"),
        "{out}\n{err}"
    );
    // A URL is shown by its host only (the user's own credentials stay out of the message).
    assert!(
        err.contains(
            "✗ Cursor: it already has a server named 'Known' that atk did not write (it reaches mine.example)"
        ),
        "{err}"
    );
    assert!(!err.contains("pw@") && !err.contains("token-file"), "{err}");
    assert_eq!((std::fs::read_to_string(&claude_json).unwrap(), env.manifest()), before);
    assert_eq!(std::fs::read_to_string(&cursor).unwrap(), cursor_user);
    // The JSON report says "conflict".
    let out = atk(&env, &stubs).args(["--json", "plug", "known", "--claude", "-y"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc.to_string().contains("\"status\":\"conflict\""), "{doc}");

    // --replace: the preview says what is replaced; the user's server goes, atk's comes.
    let (_, err) = run_ok(&env, &stubs, &["plug", "known", "--claude", "--replace", "-y"]);
    assert!(
        err.contains("replace Claude Code's own server 'Known' (it runs my-own), which atk did not write (--replace)"),
        "{err}"
    );
    let mut add = strings(&["claude", "mcp", "add", "--scope", "user", "--", "Known"]);
    add.extend(exec_words(&env, "known"));
    assert_eq!(stubs.calls(), vec![strings(&["claude", "mcp", "remove", "--scope", "user", "Known"]), add]);
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&claude_json).unwrap()).unwrap();
    assert_eq!(v["mcpServers"]["Known"]["command"], atk_path());

    // --as: beside the user's server, under the chosen name, which later plugs and unplug use.
    stubs.clear();
    run_ok(&env, &stubs, &["plug", "known", "--codex", "--cursor", "--as", "known-atk", "-y"]);
    let mut add = strings(&["codex", "mcp", "add", "known-atk", "--"]);
    add.extend(exec_words(&env, "known"));
    assert_eq!(stubs.calls(), vec![add]);
    let c: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&cursor).unwrap()).unwrap();
    assert_eq!(c["mcpServers"]["Known"], serde_json::json!({"url": "https://user:pw@mine.example/mcp"}));
    assert_eq!(c["mcpServers"]["known-atk"]["command"], atk_path());
    let codex = std::fs::read_to_string(env.home.join(".codex/config.toml")).unwrap();
    assert!(codex.contains("[mcp_servers.Known]\ncommand = \"my-own\""), "{codex}");
    stubs.clear();
    let (out, _) = run_ok(&env, &stubs, &["plug", "known", "--codex", "--cursor", "-y"]);
    assert!(out.contains("Codex: already configured") && out.contains("Cursor: already configured"), "{out}");
    assert!(stubs.calls().is_empty(), "{:?}", stubs.calls());
    run_ok(&env, &stubs, &["unplug", "known", "--codex", "--cursor", "-y"]);
    assert_eq!(stubs.calls(), vec![strings(&["codex", "mcp", "remove", "known-atk"])]);
    assert_eq!(std::fs::read_to_string(&cursor).unwrap(), cursor_user);
    let codex = std::fs::read_to_string(env.home.join(".codex/config.toml")).unwrap();
    assert!(codex.contains("[mcp_servers.Known]") && !codex.contains("known-atk"), "{codex}");
}

#[test]
fn mcp_for_prints_each_agent_s_own_shape() {
    let env = Env::new();
    let body = "mcp:\n  transport: http\n  endpoint: https://h.invalid/mcp\n  timeout: 2500\n";
    add_plugin(&env, "Far", body, false, &[]);
    let json =
        |agent: &str| -> serde_json::Value { serde_json::from_str(&env.ok(&["mcp", "far", "--for", agent])).unwrap() };
    let url = "https://h.invalid/mcp";
    assert_eq!(
        json("claude"),
        serde_json::json!({"mcpServers": {"Far": {"type": "http", "url": url, "timeout": 2500}}})
    );
    assert_eq!(json("gemini"), serde_json::json!({"mcpServers": {"Far": {"httpUrl": url, "timeout": 2500}}}));
    assert_eq!(json("auggie"), serde_json::json!({"mcpServers": {"Far": {"type": "http", "url": url}}}));
    assert_eq!(json("opencode"), serde_json::json!({"mcp": {"Far": {"type": "remote", "url": url, "enabled": true}}}));
    assert_eq!(json("cursor"), serde_json::json!({"mcpServers": {"Far": {"url": url}}}));
    assert_eq!(json("vscode"), serde_json::json!({"servers": {"Far": {"type": "http", "url": url}}}));
    assert_eq!(json("windsurf"), serde_json::json!({"mcpServers": {"Far": {"serverUrl": url}}}));
    assert_eq!(
        env.ok(&["mcp", "far", "--for", "codex"]),
        "[mcp_servers.Far]\nurl = \"https://h.invalid/mcp\"\ntool_timeout_sec = 2.5\n"
    );
    let (_, err) = env.fails(2, &["mcp", "far", "--for", "codex", "--json"]);
    assert!(err.contains("choose one"), "{err}");
}

#[test]
fn vscode_and_windsurf_files_keep_their_comments_and_trailing_commas() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &[]);
    add_plugin(&env, "Edited", "mcp:\n  transport: sse\n  endpoint: http://127.0.0.1:7/sse\n", false, &[]);
    let vs = env.home.join(".config/Code/User/mcp.json");
    let vs_user = "{\n\t// VS Code's own comment\n\t\"inputs\": [],\n\t\"servers\": {\n\t\t\"git\": {\"type\": \"stdio\", \"command\": \"git-mcp\"}, // mine\n\t},\n}\n";
    write(&vs, vs_user, false);
    let ws = env.home.join(".codeium/windsurf/mcp_config.json");
    let ws_user = "/* top */ {\"mcpServers\": {}}\n";
    write(&ws, ws_user, false);
    run_ok(&env, &stubs, &["plug", "edited", "--vscode", "--windsurf", "-y"]);
    let v = std::fs::read_to_string(&vs).unwrap();
    assert_eq!(
        v,
        "{\n\t// VS Code's own comment\n\t\"inputs\": [],\n\t\"servers\": {\n\t\t\"git\": {\"type\": \"stdio\", \"command\": \"git-mcp\"}, // mine\n\t\t\"Edited\": {\n\t\t\t\"type\": \"sse\",\n\t\t\t\"url\": \"http://127.0.0.1:7/sse\",\n\t\t},\n\t},\n}\n"
    );
    let w = std::fs::read_to_string(&ws).unwrap();
    assert!(w.starts_with("/* top */ {"), "{w}");
    let parsed: serde_json::Value = serde_json::from_str(w.trim_start_matches("/* top */ ")).unwrap();
    assert_eq!(parsed, serde_json::json!({"mcpServers": {"Edited": {"serverUrl": "http://127.0.0.1:7/sse"}}}));
    run_ok(&env, &stubs, &["unplug", "edited", "--vscode", "--windsurf", "-y"]);
    assert_eq!(std::fs::read_to_string(&vs).unwrap(), vs_user);
    assert_eq!(std::fs::read_to_string(&ws).unwrap(), ws_user);
}

/// `status` shows the agents a plugin is recorded as plugged into, as a column and in its JSON.
#[test]
fn status_shows_the_agents_column() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    add_plugin(&env, "Shown", STDIO, false, &["API_KEY=x"]);
    let (out, _) = run_ok(&env, &stubs, &["status"]);
    assert!(!out.contains("AGENTS"), "no column while nothing is plugged:\n{out}");
    run_ok(&env, &stubs, &["plug", "shown", "--claude", "--cursor", "-y"]);
    let (out, _) = run_ok(&env, &stubs, &["status"]);
    assert!(out.lines().next().unwrap().trim_end().ends_with("AGENTS"), "{out}");
    assert!(out.lines().any(|l| l.contains("Shown") && l.trim_end().ends_with("claude,cursor")), "{out}");
    let (json, _) = run_ok(&env, &stubs, &["--json", "status"]);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["plugins"][0]["agents"], serde_json::json!(["claude", "cursor"]));
}

/// `doctor` checks the record against the agents: a server removed by hand from Cursor's file is
/// "recorded, not configured" (a warning, with `atk plug --all` as the fix), which `plug --all`
/// repairs.
#[test]
fn doctor_finds_a_recorded_agent_that_is_not_configured() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    add_plugin(&env, "Wired", STDIO, false, &["API_KEY=x"]);
    run_ok(&env, &stubs, &["plug", "wired", "--cursor", "-y"]);
    let (out, _) = run_ok(&env, &stubs, &["doctor"]);
    assert!(out.contains("✓ agents: every recorded agent here has its plugins plugged in"), "{out}");
    let cursor = env.home.join(".cursor/mcp.json");
    write(&cursor, "{\n  \"mcpServers\": {}\n}\n", false);
    let (out, _) = run_ok(&env, &stubs, &["doctor"]);
    assert!(out.contains("! agents: 1 agent wiring recorded but not configured here"), "{out}");
    assert!(
        out.contains("'Wired' in Cursor: recorded, not configured") && out.contains("fix: atk plug --all"),
        "{out}"
    );
    run_ok(&env, &stubs, &["plug", "--all", "-y"]);
    let (out, _) = run_ok(&env, &stubs, &["doctor"]);
    assert!(out.contains("✓ agents:"), "{out}");
}

/// `undo` of a plug unplugs (the agent's file as before, the record as before), undo of that undo
/// plugs again, and undo of an unplug plugs back in.
#[test]
fn undo_reverts_plug_and_unplug() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    env.set_identity("Test", "test@example.com");
    add_plugin(&env, "Undone", STDIO, false, &["API_KEY=x"]);
    let cursor = env.home.join(".cursor/mcp.json");
    write(&cursor, "{\n  // mine\n  \"mcpServers\": {}\n}\n", false);
    let (before_file, before_manifest) = (std::fs::read_to_string(&cursor).unwrap(), env.manifest());
    run_ok(&env, &stubs, &["plug", "undone", "--cursor", "-y"]);
    assert!(std::fs::read_to_string(&cursor).unwrap().contains("\"Undone\""));
    run_ok(&env, &stubs, &["undo", "-y"]);
    assert_eq!(std::fs::read_to_string(&cursor).unwrap(), before_file);
    assert_eq!(env.manifest(), before_manifest);
    assert!(env.log()[0].starts_with("Undo \"Plug 'Undone' into Cursor\""), "{:?}", env.log());
    // Undo of the undo plugs it in again.
    run_ok(&env, &stubs, &["undo", "-y"]);
    assert!(std::fs::read_to_string(&cursor).unwrap().contains("\"Undone\""));
    assert!(env.manifest().contains("  agents:\n  - cursor\n"), "{}", env.manifest());
    // Undo of an unplug plugs back in.
    run_ok(&env, &stubs, &["unplug", "undone", "--cursor", "-y"]);
    assert!(!std::fs::read_to_string(&cursor).unwrap().contains("\"Undone\""));
    run_ok(&env, &stubs, &["undo", "-y"]);
    assert!(std::fs::read_to_string(&cursor).unwrap().contains("\"Undone\""));
    assert!(env.manifest().contains("  - cursor\n"));
    let (out, _) = run_ok(&env, &stubs, &["history", "undone"]);
    assert!(out.contains("plug") && out.contains("unplug") && out.contains("undo"), "{out}");
}

/// `rollback` (and `undo` of an upgrade, which moves the same way) re-plugs the recorded agents
/// like `upgrade`: the agent gets what the older version gives it back (a timeout here: a version
/// that only changes the command's arguments changes nothing agents hold).
#[test]
fn rollback_replugs_recorded_agents() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    env.set_identity("Test", "test@example.com");
    let work = env.path("mcp-tool");
    let v1 = yaml("Mcp Tool", "mcp:\n  transport: stdio\n  command: ./server.sh\n  args: [--v1]\n");
    write(&work.join(".atk/plugin.yaml"), &v1, false);
    write(&work.join(".atk/server.sh"), "#!/bin/sh\n", true);
    git(env.dir.path(), &["init", "-q", "-b", "main", work.to_str().unwrap()]);
    crate::common::sources::commit_all(&work, "v1");
    env.ok(&["add", "-y", &format!("file://{}", work.display())]);
    run_ok(&env, &stubs, &["plug", "mcp-tool", "--claude", "-y"]);
    let claude_json = env.home.join(".claude.json");
    let entry = || -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&claude_json).unwrap()).unwrap();
        v["mcpServers"]["Mcp-Tool"].clone()
    };
    let (atk, args) = (atk_path(), exec_args(&env, "mcp-tool"));
    let plain = serde_json::json!({"type": "stdio", "command": atk, "args": args, "env": {}});
    let timed = serde_json::json!({"command": atk, "args": args, "timeout": 5000});
    assert_eq!(entry(), plain);
    let v2 = v1.replace("--v1", "--v2").replace("mcp:\n", "mcp:\n  timeout: 5000\n");
    write(&work.join(".atk/plugin.yaml"), &v2, false);
    crate::common::sources::commit_all(&work, "v2");
    run_ok(&env, &stubs, &["upgrade", "mcp-tool", "-y"]);
    assert_eq!(entry(), timed);
    stubs.clear();
    run_ok(&env, &stubs, &["rollback", "mcp-tool", "-y"]);
    assert_eq!(entry(), plain);
    let calls = stubs.calls();
    assert_eq!(calls[0], strings(&["claude", "mcp", "remove", "--scope", "user", "Mcp-Tool"]));
    assert_eq!(calls.len(), 2, "{calls:?}");
    run_ok(&env, &stubs, &["undo", "-y"]);
    assert_eq!(entry(), timed);
}

/// A remote server's endpoint that a new version changes is atk's entry (what atk wrote for the
/// version before): the upgrade gives the agent the new endpoint, and a rollback the old one.
#[test]
fn an_upgrade_that_moves_a_remote_server_gives_agents_the_new_endpoint() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    env.set_identity("Test", "test@example.com");
    let work = env.path("far-tool");
    let v1 = yaml("Far Tool", "mcp:\n  transport: sse\n  endpoint: http://127.0.0.1:9/v1\n");
    write(&work.join(".atk/plugin.yaml"), &v1, false);
    git(env.dir.path(), &["init", "-q", "-b", "main", work.to_str().unwrap()]);
    crate::common::sources::commit_all(&work, "v1");
    env.ok(&["add", "-y", &format!("file://{}", work.display())]);
    run_ok(&env, &stubs, &["plug", "far-tool", "--cursor", "--claude", "-y"]);
    write(&work.join(".atk/plugin.yaml"), &v1.replace("/v1", "/v2"), false);
    crate::common::sources::commit_all(&work, "v2");
    run_ok(&env, &stubs, &["upgrade", "far-tool", "-y"]);
    let cursor = env.home.join(".cursor/mcp.json");
    let claude_json = env.home.join(".claude.json");
    for f in [&cursor, &claude_json] {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(text.contains("127.0.0.1:9/v2") && !text.contains("/v1"), "{}:\n{text}", f.display());
    }
    run_ok(&env, &stubs, &["rollback", "far-tool", "-y"]);
    for f in [&cursor, &claude_json] {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(text.contains("127.0.0.1:9/v1") && !text.contains("/v2"), "{}:\n{text}", f.display());
    }
}

/// After `plug` into all eight agents (the fake programs keep what the real ones keep), no file
/// under HOME outside the ATK Home holds a secret value, in any spelling; every agent holds the
/// `atk exec` entry; and the server started from any of them gets every value intact.
#[test]
fn no_secret_value_is_in_any_file_under_home_after_plug() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    let body = "env_vars:\n  - name: TOKEN\n    secret: true\n    required: true\n  - name: API_KEY\n    required: true\n  - name: PASS_WORD\n    secret: true\nmcp:\n  transport: stdio\n  command: ./show.sh\n  args: [\"--token=$TOKEN\"]\n  env: [TOKEN, API_KEY, PASS_WORD]\n";
    let values = [
        ("TOKEN", "pZ$wQrd ${HOME} tK9=="),
        ("API_KEY", "c3VwZXIvc2VjcmV0K2tleT09=="),
        ("PASS_WORD", "q\"u'o\\tX #nQt-a-cMmt cafézz ✓"),
    ];
    let sets: Vec<String> = values.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let sets: Vec<&str> = sets.iter().map(String::as_str).collect();
    let dir = add_plugin(&env, "Sealed", body, true, &sets);
    write(&dir.join("show.sh"), "#!/bin/sh\nprintf '%s|' \"$@\" \"$TOKEN\" \"$API_KEY\" \"$PASS_WORD\"\n", true);
    let all = ["--claude", "--codex", "--gemini", "--auggie", "--opencode", "--cursor", "--vscode", "--windsurf"];
    let mut args = vec!["plug", "sealed", "-y"];
    args.extend(all);
    let (out, err) = run_ok(&env, &stubs, &args);
    let secrets: Vec<&str> = values.iter().map(|(_, v)| *v).collect();
    assert_clean("plug's output", &(out.clone() + &err), &secrets);
    let outside: String = tree(&env.home)
        .into_iter()
        .filter(|(p, _)| !p.starts_with(".atk/"))
        .map(|(p, (_, bytes))| format!("== {p}\n{}\n", String::from_utf8_lossy(&bytes)))
        .collect();
    assert_clean("the files under HOME", &outside, &secrets);
    // Every agent holds the entry: a sign that the files above are the ones the agents read.
    let atk = atk_path();
    let exec = exec_args(&env, "sealed");
    let json = |rel: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(env.home.join(rel)).unwrap();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}\n{text}"))
    };
    assert_eq!(json(".claude.json")["mcpServers"]["Sealed"]["args"], serde_json::json!(exec));
    assert_eq!(json(".gemini/settings.json")["mcpServers"]["Sealed"]["command"], atk);
    assert_eq!(json(".augment/settings.json")["mcpServers"]["Sealed"]["args"], serde_json::json!(exec));
    assert_eq!(json(".cursor/mcp.json")["mcpServers"]["Sealed"]["command"], atk);
    assert_eq!(json(".config/Code/User/mcp.json")["servers"]["Sealed"]["args"], serde_json::json!(exec));
    assert_eq!(json(".codeium/windsurf/mcp_config.json")["mcpServers"]["Sealed"]["command"], atk);
    let mut words = vec![atk.clone()];
    words.extend(exec.iter().cloned());
    assert_eq!(json(".config/opencode/opencode.jsonc")["mcp"]["Sealed"]["command"], serde_json::json!(words));
    let codex = std::fs::read_to_string(env.home.join(".codex/config.toml")).unwrap();
    assert!(
        codex.contains(&format!("[mcp_servers.Sealed]\ncommand = {}\n", serde_json::to_string(&atk).unwrap())),
        "{codex}"
    );
    // The server as the agents start it: every byte of every value arrives.
    let served = served(&env, &atk, &exec, &[]);
    let (token, key, pass) = (values[0].1, values[1].1, values[2].1);
    assert_eq!(String::from_utf8_lossy(&served.stdout), format!("--token={token}|{token}|{key}|{pass}|"), "{served:?}");
}
