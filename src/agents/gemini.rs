//! Gemini CLI: `gemini mcp add --scope user NAME COMMAND -- ARGS`; the skill is a folder
//! `~/.gemini/skills/atk-<directory>` holding a `SKILL.md` Gemini loads (atk-cli linked the whole
//! plugin folder there, `.env` included: such a link is replaced, and removed on unplug).

use serde_json::{json, Value};

use super::mcp::Transport;
use super::{cli_plug, cli_unplug, held_json, skill_link, wrapped, Agent, AgentEnv, AgentId, Cx, Held, Plan, Server, Target};
use crate::error::Result;

pub struct Gemini;

pub fn add_argv(s: &Server) -> Vec<String> {
    let mut argv: Vec<String> = ["gemini", "mcp", "add"].map(String::from).to_vec();
    if let Transport::Remote { kind, .. } = &s.transport {
        argv.extend(["--transport".into(), kind.clone()]);
    }
    argv.extend(["--scope", "user"].map(String::from));
    if let Transport::Stdio { .. } = &s.transport {
        for (k, v) in s.resolved_env() {
            argv.extend(["-e".into(), format!("{k}={v}")]);
        }
    }
    argv.push(s.name.clone());
    // The server's own words after `--`: Gemini would read `--trust` there as its own option.
    // (Gemini keeps `--` only there: before the name, it takes everything for itself.)
    match &s.transport {
        Transport::Stdio { command, args } => {
            argv.push(command.clone());
            argv.push("--".into());
            argv.extend(args.iter().cloned());
        }
        Transport::Remote { url, .. } => argv.push(url.clone()),
    }
    argv
}

fn remove_argv(name: &str) -> Vec<String> {
    ["gemini", "mcp", "remove", "--scope", "user", name].map(String::from).to_vec()
}

fn link(t: &Target, env: &AgentEnv) -> std::path::PathBuf {
    env.home.join(".gemini/skills").join(format!("atk-{}", t.directory))
}

impl Agent for Gemini {
    fn id(&self) -> AgentId {
        AgentId::Gemini
    }
    fn installed(&self, env: &AgentEnv) -> bool {
        env.which("gemini").is_some()
    }
    fn held(&self, name: &str, env: &AgentEnv) -> Result<Option<Held>> {
        held_json(&env.home.join(".gemini/settings.json"), "mcpServers", name)
    }
    fn plug(&self, t: &Target, cx: &Cx) -> Result<Plan> {
        let mut plan = cli_plug(self.id(), t, cx, add_argv, remove_argv(&t.server_name))?;
        if plan.conflict.is_none() {
            plan.changes.extend(skill_link(&link(t, cx.env), &t.dir, t.has_skill)?);
        }
        Ok(plan)
    }
    fn unplug(&self, t: &Target, cx: &Cx) -> Result<Plan> {
        let mut plan = cli_unplug(self.id(), t, cx, remove_argv(&t.server_name))?;
        plan.changes.extend(skill_link(&link(t, cx.env), &t.dir, false)?);
        Ok(plan)
    }
    fn snippet(&self, s: &Server) -> String {
        let mut entry = serde_json::Map::new();
        match &s.transport {
            Transport::Stdio { command, args } => {
                entry.insert("command".into(), json!(command));
                entry.insert("args".into(), json!(args));
            }
            Transport::Remote { kind, url } => {
                let key = if kind == "http" { "httpUrl" } else { "url" };
                entry.insert(key.into(), json!(url));
            }
        }
        if let Some(t) = s.timeout {
            entry.insert("timeout".into(), json!(t));
        }
        wrapped("mcpServers", &s.name, Value::Object(entry))
    }
}
