//! Auggie (Augment Code): `auggie mcp add-json <name> <json>`; the skill is a link
//! `~/.augment/rules/atk-<directory>.md` to `SKILL.md`, as atk-cli makes it.

use serde_json::{json, Value};

use super::mcp::{python_json, Transport};
use super::{cli_plug, cli_unplug, held_json, skill_link, wrapped, Agent, AgentEnv, AgentId, Cx, Held, Plan, Server, Target};
use crate::error::Result;

pub struct Auggie;

/// atk-cli's payload: a command's `args` always a list and `env` always there; a URL server's env
/// dropped.
fn payload(s: &Server) -> Value {
    match &s.transport {
        Transport::Remote { kind, url } => json!({"type": kind, "url": url}),
        Transport::Stdio { command, args } => {
            let mut m = serde_json::Map::new();
            m.insert("command".into(), json!(command));
            m.insert("args".into(), json!(args));
            m.insert("env".into(), Value::Object(s.env_object()));
            Value::Object(m)
        }
    }
}

pub fn add_argv(s: &Server) -> Vec<String> {
    vec!["auggie".into(), "mcp".into(), "add-json".into(), s.name.clone(), python_json(&payload(s), true)]
}

fn remove_argv(name: &str) -> Vec<String> {
    ["auggie", "mcp", "remove", name].map(String::from).to_vec()
}

fn link(t: &Target, env: &AgentEnv) -> std::path::PathBuf {
    env.home.join(".augment/rules").join(format!("atk-{}.md", t.directory))
}

impl Agent for Auggie {
    fn id(&self) -> AgentId {
        AgentId::Auggie
    }
    fn installed(&self, env: &AgentEnv) -> bool {
        env.which("auggie").is_some()
    }
    fn held(&self, name: &str, env: &AgentEnv) -> Result<Option<Held>> {
        held_json(&env.home.join(".augment/settings.json"), "mcpServers", name)
    }
    fn plug(&self, t: &Target, cx: &Cx) -> Result<Plan> {
        let mut plan = cli_plug(self.id(), t, cx, add_argv, remove_argv(&t.server_name))?;
        if plan.conflict.is_none() {
            plan.changes.extend(skill_link(&link(t, cx.env), &t.skill_path(), t.has_skill)?);
        }
        Ok(plan)
    }
    fn unplug(&self, t: &Target, cx: &Cx) -> Result<Plan> {
        let mut plan = cli_unplug(self.id(), t, cx, remove_argv(&t.server_name))?;
        plan.changes.extend(skill_link(&link(t, cx.env), &t.skill_path(), false)?);
        Ok(plan)
    }
    fn snippet(&self, s: &Server) -> String {
        wrapped("mcpServers", &s.name, payload(s))
    }
}
