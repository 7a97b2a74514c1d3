//! `plug` and `unplug` against the real agent programs (Claude Code, Codex, Gemini CLI, Auggie,
//! OpenCode, at the versions `.ci/agents.sh` pins), each with a sandboxed HOME and a real MCP
//! server (the `mcp` package) that writes a digest of what it got: what the agent itself lists, the
//! server it starts, and what its config holds after `unplug`.

use crate::common::real_agents::*;
use crate::common::*;

/// The plugin's secret, as `mcp.env` hands it to the server (today through the agent's config).
const SECRET: &str = "env_vars:\n  - name: TOOL_SECRET\n    required: true\n    secret: true\n";
/// A value every agent delivers intact today (no `$`, `=`, quote, space or backslash).
const VALUE: &str = "plain-Value_42";
/// A name every agent accepts.
const NAME: &str = "env-tool";

/// The plugin's skill, in the Agent Skills format (front matter with `name` and `description`).
const SKILL: &str = "---\nname: env-tool\ndescription: Reads the environment digest (skill-description-7f3a)\n---\n\
                     Call ping before anything else (skill-body-91c2).\n";

/// A home with the plugin `env-tool` (the env digest server, `TOOL_SECRET` set to [`VALUE`]);
/// returns where its server writes its digest.
fn home_with_plugin(agents: &RealAgents, env: &Env) -> std::path::PathBuf {
    agents.atk_ok(env, &["init"]);
    agents.add_env_server_plugin(env, NAME, SECRET, &["TOOL_SECRET"], &[&format!("TOOL_SECRET={VALUE}")], &[])
}

/// `atk plug` of a plugin with a skill into `agent`, then the agent run once against a stand-in of
/// its model API: `expected` (a part of the skill) is in what it sends the model.
fn plugged_skill_reaches_the_model(agent: &str, expected: &str, test: &str) {
    let agents = RealAgents::find(test);
    let env = Env::bare();
    agents.atk_ok(&env, &["init"]);
    agents.add_env_server_plugin(
        &env,
        NAME,
        SECRET,
        &["TOOL_SECRET"],
        &[&format!("TOOL_SECRET={VALUE}")],
        &[("SKILL.md", SKILL)],
    );
    agents.atk_ok(&env, &["plug", NAME, &format!("--{agent}"), "-y"]);
    let requests = agents.ask(&env, agent, "hello");
    assert!(
        requests.iter().any(|r| String::from_utf8_lossy(&r.body).contains(expected)),
        "{agent} did not send {expected:?} to its model; it sent:\n{}",
        requests.iter().map(|r| format!("{} {}", r.method, r.path)).collect::<Vec<_>>().join("\n")
    );
}

/// `atk plug` into `agent`: the agent's own list then shows the server (connected, where the
/// program checks), and the server the agent starts gets the plugin's value and its arguments.
fn plug_is_listed_and_started(agent: &str, test: &str) {
    let agents = RealAgents::find(test);
    let env = Env::bare();
    let digest = home_with_plugin(&agents, &env);
    let out = agents.atk_ok(&env, &["plug", NAME, &format!("--{agent}"), "-y"]);
    assert!(out.contains("plugged in"), "{out}");

    let got = if ["claude", "gemini", "opencode"].contains(&agent) {
        // Their list starts the server: the one run shows the name, the connection and the digest.
        let connected = agents.connected(&env, agent);
        assert_eq!(connected.into_iter().collect::<Vec<_>>(), vec![(NAME.to_string(), true)], "{agent} after plug");
        Digest::read(&digest)
    } else {
        assert_eq!(agents.listed_names(&env, agent), vec![NAME.to_string()], "{agent} does not list {NAME}");
        agents.start_servers(&env, agent, &digest)
    };
    assert!(agents.received(&got, "TOOL_SECRET", VALUE), "{agent}'s server did not get TOOL_SECRET intact: {got:?}");
    let plugin_dir = std::fs::canonicalize(env.atk_home.join("plugins").join(NAME)).unwrap();
    assert_eq!(
        got.argv,
        vec![plugin_dir.join("mcp_env_server.py").display().to_string(), digest.display().to_string()],
        "{agent}'s server got other arguments"
    );
}

/// A server the user added with the agent's own program survives `plug` and `unplug` of another
/// name, and `unplug` leaves the agent's config as it was before `plug`.
fn unplug_restores_the_config(agent: &str, test: &str) {
    let agents = RealAgents::find(test);
    let env = Env::bare();
    home_with_plugin(&agents, &env);
    let users_digest = env.path("users-own.json");
    let server = env_server_script();
    let python = agents.python.display().to_string();
    user_adds(&agents, &env, agent, "users-own", &python, &[server.to_str().unwrap(), users_digest.to_str().unwrap()]);
    // The user has run the agent since (OpenCode adds "$schema" to its config on any run).
    assert_eq!(agents.listed_names(&env, agent), vec!["users-own".to_string()], "{agent} before plug");
    let before = config_state(&env, agent).expect("the agent wrote its config");

    agents.atk_ok(&env, &["plug", NAME, &format!("--{agent}"), "-y"]);
    let mut listed = agents.listed_names(&env, agent);
    listed.sort();
    assert_eq!(listed, vec![NAME.to_string(), "users-own".to_string()], "{agent} after plug");
    assert_ne!(config_state(&env, agent).as_ref(), Some(&before), "plug changed nothing in {agent}'s config");

    agents.atk_ok(&env, &["unplug", NAME, &format!("--{agent}"), "-y"]);
    assert_eq!(config_state(&env, agent), Some(before), "unplug left {agent}'s config other than before plug");
    assert_eq!(agents.listed_names(&env, agent), vec!["users-own".to_string()], "{agent} after unplug");
    agents.start_servers(&env, agent, &users_digest);
}

#[test]
#[ignore = "needs the agent programs (.ci/agents.sh) and the Python test venv (.ci/run makes both)"]
fn claude_lists_the_plugged_server_connected_and_starts_it_with_its_value() {
    plug_is_listed_and_started("claude", "claude_lists_the_plugged_server_connected_and_starts_it_with_its_value");
}

#[test]
#[ignore = "needs the agent programs (.ci/agents.sh) and the Python test venv (.ci/run makes both)"]
fn codex_lists_the_plugged_server_and_starts_it_with_its_value() {
    plug_is_listed_and_started("codex", "codex_lists_the_plugged_server_and_starts_it_with_its_value");
}

#[test]
#[ignore = "needs the agent programs (.ci/agents.sh) and the Python test venv (.ci/run makes both)"]
fn gemini_lists_the_plugged_server_connected_and_starts_it_with_its_value() {
    plug_is_listed_and_started("gemini", "gemini_lists_the_plugged_server_connected_and_starts_it_with_its_value");
}

#[test]
#[ignore = "needs the agent programs (.ci/agents.sh) and the Python test venv (.ci/run makes both)"]
fn auggie_lists_the_plugged_server_and_starts_it_with_its_value() {
    plug_is_listed_and_started("auggie", "auggie_lists_the_plugged_server_and_starts_it_with_its_value");
}

#[test]
#[ignore = "needs the agent programs (.ci/agents.sh) and the Python test venv (.ci/run makes both)"]
fn opencode_lists_the_plugged_server_connected_and_starts_it_with_its_value() {
    plug_is_listed_and_started("opencode", "opencode_lists_the_plugged_server_connected_and_starts_it_with_its_value");
}

#[test]
#[ignore = "needs the agent programs (.ci/agents.sh) and the Python test venv (.ci/run makes both)"]
fn claude_config_after_unplug_is_as_before_plug_and_the_users_server_survives() {
    unplug_restores_the_config("claude", "claude_config_after_unplug_is_as_before_plug_and_the_users_server_survives");
}

#[test]
#[ignore = "needs the agent programs (.ci/agents.sh) and the Python test venv (.ci/run makes both)"]
fn codex_config_after_unplug_is_as_before_plug_and_the_users_server_survives() {
    unplug_restores_the_config("codex", "codex_config_after_unplug_is_as_before_plug_and_the_users_server_survives");
}

#[test]
#[ignore = "needs the agent programs (.ci/agents.sh) and the Python test venv (.ci/run makes both)"]
fn gemini_config_after_unplug_is_as_before_plug_and_the_users_server_survives() {
    unplug_restores_the_config("gemini", "gemini_config_after_unplug_is_as_before_plug_and_the_users_server_survives");
}

#[test]
#[ignore = "needs the agent programs (.ci/agents.sh) and the Python test venv (.ci/run makes both)"]
fn auggie_config_after_unplug_is_as_before_plug_and_the_users_server_survives() {
    unplug_restores_the_config("auggie", "auggie_config_after_unplug_is_as_before_plug_and_the_users_server_survives");
}

#[test]
#[ignore = "needs the agent programs (.ci/agents.sh) and the Python test venv (.ci/run makes both)"]
fn opencode_config_after_unplug_is_as_before_plug_and_the_users_server_survives() {
    unplug_restores_the_config(
        "opencode",
        "opencode_config_after_unplug_is_as_before_plug_and_the_users_server_survives",
    );
}

#[test]
#[ignore = "needs the agent programs (.ci/agents.sh) and the Python test venv (.ci/run makes both)"]
fn claude_sends_the_plugged_skill_to_its_model() {
    plugged_skill_reaches_the_model("claude", "skill-body-91c2", "claude_sends_the_plugged_skill_to_its_model");
}

/// Gemini puts a skill's name and description in the request (its text is read when the model
/// asks for it).
#[test]
#[ignore = "needs the agent programs (.ci/agents.sh) and the Python test venv (.ci/run makes both)"]
fn gemini_sends_the_plugged_skill_s_description_to_its_model() {
    plugged_skill_reaches_the_model(
        "gemini",
        "skill-description-7f3a",
        "gemini_sends_the_plugged_skill_s_description_to_its_model",
    );
}

#[test]
#[ignore = "needs the agent programs (.ci/agents.sh) and the Python test venv (.ci/run makes both)"]
fn opencode_sends_the_plugged_skill_to_its_model() {
    plugged_skill_reaches_the_model("opencode", "skill-body-91c2", "opencode_sends_the_plugged_skill_to_its_model");
}

/// A home whose plugin `env-tool` has one secret per [`TRICKY`] value; returns the server's digest
/// file and the variables' names.
fn home_with_tricky_values(agents: &RealAgents, env: &Env) -> (std::path::PathBuf, Vec<String>) {
    agents.atk_ok(env, &["init"]);
    let names: Vec<String> = (0..TRICKY.len()).map(|i| format!("TRICKY_{i}")).collect();
    let body: String = names.iter().map(|n| format!("  - name: {n}\n    required: true\n    secret: true\n")).collect();
    let sets: Vec<String> = names.iter().zip(TRICKY).map(|(n, v)| format!("{n}={v}")).collect();
    let digest = agents.add_env_server_plugin(
        env,
        NAME,
        &format!("env_vars:\n{body}"),
        &names.iter().map(String::as_str).collect::<Vec<_>>(),
        &sets.iter().map(String::as_str).collect::<Vec<_>>(),
        &[],
    );
    (digest, names)
}

/// The server the agent starts (through `atk exec`) gets every [`TRICKY`] value byte for byte:
/// `$word`, `${HOME}`, `==`, quotes, a backslash, `#`, spaces, `$(…)`, `{env:…}`, non-ASCII. Before
/// atk owned the launch, only Codex delivered them all.
fn tricky_values_arrive_intact(agent: &str, test: &str) {
    let agents = RealAgents::find(test);
    let env = Env::bare();
    let (digest, names) = home_with_tricky_values(&agents, &env);
    agents.atk_ok(&env, &["plug", NAME, &format!("--{agent}"), "-y"]);
    let got = agents.start_servers(&env, agent, &digest);
    for (n, v) in names.iter().zip(TRICKY) {
        assert!(agents.received(&got, n, v), "{agent}'s server did not get {v:?} intact ({n})");
    }
}

#[test]
#[ignore = "needs the agent programs (.ci/agents.sh) and the Python test venv (.ci/run makes both)"]
fn claude_s_server_gets_every_tricky_value_intact() {
    tricky_values_arrive_intact("claude", "claude_s_server_gets_every_tricky_value_intact");
}

#[test]
#[ignore = "needs the agent programs (.ci/agents.sh) and the Python test venv (.ci/run makes both)"]
fn codex_s_server_gets_every_tricky_value_intact() {
    tricky_values_arrive_intact("codex", "codex_s_server_gets_every_tricky_value_intact");
}

#[test]
#[ignore = "needs the agent programs (.ci/agents.sh) and the Python test venv (.ci/run makes both)"]
fn gemini_s_server_gets_every_tricky_value_intact() {
    tricky_values_arrive_intact("gemini", "gemini_s_server_gets_every_tricky_value_intact");
}

#[test]
#[ignore = "needs the agent programs (.ci/agents.sh) and the Python test venv (.ci/run makes both)"]
fn auggie_s_server_gets_every_tricky_value_intact() {
    tricky_values_arrive_intact("auggie", "auggie_s_server_gets_every_tricky_value_intact");
}

#[test]
#[ignore = "needs the agent programs (.ci/agents.sh) and the Python test venv (.ci/run makes both)"]
fn opencode_s_server_gets_every_tricky_value_intact() {
    tricky_values_arrive_intact("opencode", "opencode_s_server_gets_every_tricky_value_intact");
}

/// After `plug` into all five, and after each started the server, no file under HOME (the atk
/// home aside) holds any of the plugin's secrets: the agents hold `atk exec`, nothing else.
#[test]
#[ignore = "needs the agent programs (.ci/agents.sh) and the Python test venv (.ci/run makes both)"]
fn after_plug_into_every_agent_no_secret_is_under_home() {
    let agents = RealAgents::find("after_plug_into_every_agent_no_secret_is_under_home");
    let env = Env::bare();
    let (digest, _) = home_with_tricky_values(&agents, &env);
    let flags: Vec<String> = AGENTS.iter().map(|a| format!("--{a}")).collect();
    let mut args = vec!["plug", NAME, "-y"];
    args.extend(flags.iter().map(String::as_str));
    agents.atk_ok(&env, &args);
    for agent in ["claude", "gemini", "opencode"] {
        agents.start_servers(&env, agent, &digest);
    }
    let secrets: Vec<&str> = TRICKY.iter().copied().filter(|v| v.len() >= 8).collect();
    assert_eq!(files_holding(&env.home, &[&env.atk_home], &secrets), vec![], "a secret is under HOME");
}

/// The user's own server with the plugin's name, added with the agent's own program, survives
/// `plug` (a conflict, exit 1), `unplug` and `remove`: the agent's config stays as it was, and the
/// agent still lists and starts the user's server.
fn a_same_named_server_of_the_user_s_survives(agent: &str, test: &str) {
    let agents = RealAgents::find(test);
    let env = Env::bare();
    home_with_plugin(&agents, &env);
    let users_digest = env.path("users-own.json");
    let server = env_server_script();
    let python = agents.python.display().to_string();
    user_adds(&agents, &env, agent, NAME, &python, &[server.to_str().unwrap(), users_digest.to_str().unwrap()]);
    assert_eq!(agents.listed_names(&env, agent), vec![NAME.to_string()], "{agent} before plug");
    let before = config_state(&env, agent).expect("the agent wrote its config");
    let out = agents.atk_run(&env, &["plug", NAME, &format!("--{agent}"), "-y"]);
    assert_eq!(out.status.code(), Some(1), "{agent}: {}", both(&out));
    assert!(both(&out).contains("that atk did not write"), "{agent}: {}", both(&out));
    assert_eq!(config_state(&env, agent).as_ref(), Some(&before), "plug changed {agent}'s config");
    agents.atk_ok(&env, &["unplug", NAME, &format!("--{agent}"), "-y"]);
    agents.atk_ok(&env, &["remove", NAME, "-y"]);
    assert_eq!(config_state(&env, agent), Some(before), "{agent}'s config changed");
    assert_eq!(agents.listed_names(&env, agent), vec![NAME.to_string()], "{agent} after remove");
    agents.start_servers(&env, agent, &users_digest);
}

#[test]
#[ignore = "needs the agent programs (.ci/agents.sh) and the Python test venv (.ci/run makes both)"]
fn claude_keeps_the_user_s_server_of_the_plugin_s_name() {
    a_same_named_server_of_the_user_s_survives("claude", "claude_keeps_the_user_s_server_of_the_plugin_s_name");
}

#[test]
#[ignore = "needs the agent programs (.ci/agents.sh) and the Python test venv (.ci/run makes both)"]
fn codex_keeps_the_user_s_server_of_the_plugin_s_name() {
    a_same_named_server_of_the_user_s_survives("codex", "codex_keeps_the_user_s_server_of_the_plugin_s_name");
}

#[test]
#[ignore = "needs the agent programs (.ci/agents.sh) and the Python test venv (.ci/run makes both)"]
fn gemini_keeps_the_user_s_server_of_the_plugin_s_name() {
    a_same_named_server_of_the_user_s_survives("gemini", "gemini_keeps_the_user_s_server_of_the_plugin_s_name");
}

#[test]
#[ignore = "needs the agent programs (.ci/agents.sh) and the Python test venv (.ci/run makes both)"]
fn auggie_keeps_the_user_s_server_of_the_plugin_s_name() {
    a_same_named_server_of_the_user_s_survives("auggie", "auggie_keeps_the_user_s_server_of_the_plugin_s_name");
}

#[test]
#[ignore = "needs the agent programs (.ci/agents.sh) and the Python test venv (.ci/run makes both)"]
fn opencode_keeps_the_user_s_server_of_the_plugin_s_name() {
    a_same_named_server_of_the_user_s_survives("opencode", "opencode_keeps_the_user_s_server_of_the_plugin_s_name");
}

/// After `unplug` from all five, no file under HOME (the atk home aside, where the secret lives)
/// holds the plugin's value in any spelling: the agents keep no copy (Claude's backups of
/// `~/.claude.json` included).
#[test]
#[ignore = "needs the agent programs (.ci/agents.sh) and the Python test venv (.ci/run makes both)"]
fn unplug_from_every_agent_leaves_the_value_nowhere_under_home() {
    let agents = RealAgents::find("unplug_from_every_agent_leaves_the_value_nowhere_under_home");
    let env = Env::bare();
    home_with_plugin(&agents, &env);
    let flags: Vec<String> = AGENTS.iter().map(|a| format!("--{a}")).collect();
    let mut args = vec!["plug", NAME, "-y"];
    args.extend(flags.iter().map(String::as_str));
    agents.atk_ok(&env, &args);
    for agent in AGENTS {
        assert!(agents.listed_names(&env, agent).contains(&NAME.to_string()), "{agent} does not list {NAME}");
    }
    args[0] = "unplug";
    agents.atk_ok(&env, &args);
    assert_eq!(files_holding(&env.home, &[&env.atk_home], &[VALUE]), vec![], "the value is left under HOME");
    for agent in AGENTS {
        assert!(agents.listed_names(&env, agent).is_empty(), "{agent} still lists a server");
    }
}

/// A plugin whose server takes option-like arguments (`--trust --scope project`, Gemini's own
/// options): every agent starts the server with them as its arguments, and none reads them as its
/// own (Gemini kept `trust: true` in a project settings file of the folder it ran in).
#[test]
#[ignore = "needs the agent programs (.ci/agents.sh) and the Python test venv (.ci/run makes both)"]
fn option_like_arguments_are_the_server_s_under_every_agent() {
    let agents = RealAgents::find("option_like_arguments_are_the_server_s_under_every_agent");
    let env = Env::bare();
    agents.atk_ok(&env, &["init"]);
    let digest = env.path("digest-opts.json");
    let server = std::fs::read_to_string(env_server_script()).unwrap();
    let mcp = format!(
        "mcp:\n  transport: stdio\n  command: {}\n  args: [\"$ATK_PLUGIN_DIR/mcp_env_server.py\", {}, \"--trust\", \"--scope\", \"project\"]\n",
        serde_json::to_string(&agents.python.display().to_string()).unwrap(),
        serde_json::to_string(&digest.display().to_string()).unwrap(),
    );
    let src = env.plugin("src-opts", &yaml("opts", &mcp), &[("mcp_env_server.py", server.as_str(), false)]);
    agents.atk_ok(&env, &["add", src.to_str().unwrap(), "-y"]);
    let flags: Vec<String> = AGENTS.iter().map(|a| format!("--{a}")).collect();
    let mut args = vec!["plug", "opts", "-y"];
    args.extend(flags.iter().map(String::as_str));
    agents.atk_ok(&env, &args);
    for agent in AGENTS {
        let got = agents.start_servers(&env, agent, &digest);
        assert_eq!(
            got.argv[1..],
            [digest.display().to_string(), "--trust".into(), "--scope".into(), "project".into()],
            "{agent}"
        );
    }
    assert!(!env.dir.path().join(".gemini").exists(), "Gemini wrote project settings");
    let settings = std::fs::read_to_string(env.home.join(".gemini/settings.json")).unwrap();
    assert!(!settings.contains("\"trust\""), "{settings}");
}
