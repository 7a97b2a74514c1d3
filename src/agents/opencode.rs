//! OpenCode: its global config (`opencode.jsonc`, else `opencode.json`, in
//! `$XDG_CONFIG_HOME/opencode`, else `~/.config/opencode`), edited in place: `mcp.<name>` for the
//! server and the `instructions` list for the skill.

use std::path::PathBuf;

use serde_json::{json, Value};

use super::mcp::Transport;
use super::{json_edit, wrapped, Agent, AgentEnv, AgentId, Cx, Plan, Server, Target};
use crate::error::Result;

pub struct OpenCode;

/// The file atk edits: the `.jsonc` atk-cli writes, unless only a `.json` is there.
pub fn file(env: &AgentEnv) -> PathBuf {
    let dir = env.config_dir().join("opencode");
    let jsonc = dir.join("opencode.jsonc");
    let json = dir.join("opencode.json");
    if !jsonc.exists() && json.exists() {
        json
    } else {
        jsonc
    }
}

/// atk-cli's entry: a local command with its environment, or a remote URL (env dropped).
pub fn entry(s: &Server) -> Value {
    match &s.transport {
        Transport::Remote { url, .. } => json!({"type": "remote", "url": url, "enabled": true}),
        Transport::Stdio { command, args } => {
            let mut cmd = vec![json!(command)];
            cmd.extend(args.iter().map(|a| json!(a)));
            let mut m = serde_json::Map::new();
            m.insert("type".into(), json!("local"));
            m.insert("command".into(), Value::Array(cmd));
            m.insert("environment".into(), Value::Object(s.env_object()));
            m.insert("enabled".into(), json!(true));
            Value::Object(m)
        }
    }
}

impl Agent for OpenCode {
    fn id(&self) -> AgentId {
        AgentId::Opencode
    }
    fn installed(&self, env: &AgentEnv) -> bool {
        env.which("opencode").is_some() || env.config_dir().join("opencode").is_dir()
    }
    fn plug(&self, t: &Target, cx: &Cx) -> Result<Plan> {
        let entries = t.server.as_ref().map(|s| (entry(s), entry(&s.masked())));
        let skill = t.skill_path().to_string_lossy().to_string();
        let change = json_edit(
            &file(cx.env),
            "mcp",
            &t.name,
            entries.as_ref().map(|(e, shown)| (e, shown)),
            Some((&skill, t.has_skill)),
        )?;
        Ok(Plan { changes: change.into_iter().collect(), ..Plan::default() })
    }
    fn unplug(&self, t: &Target, cx: &Cx) -> Result<Plan> {
        let skill = t.skill_path().to_string_lossy().to_string();
        let change = json_edit(&file(cx.env), "mcp", &t.name, None, Some((&skill, false)))?;
        Ok(Plan { changes: change.into_iter().collect(), ..Plan::default() })
    }
    fn snippet(&self, s: &Server) -> String {
        wrapped("mcp", &s.name, entry(s))
    }
}
