//! Windsurf: `~/.codeium/windsurf/mcp_config.json`, `mcpServers.<name>` edited in place (a URL
//! server's key is `serverUrl`). Windsurf has no skills.

use std::path::PathBuf;

use serde_json::{json, Value};

use super::mcp::Transport;
use super::{file_plug, file_unplug, held_json, wrapped, Agent, AgentEnv, AgentId, Cx, Held, Plan, Server, Target};
use crate::error::Result;

pub struct Windsurf;

fn dir(env: &AgentEnv) -> PathBuf {
    env.home.join(".codeium/windsurf")
}

pub fn entry(s: &Server) -> Value {
    match &s.transport {
        Transport::Remote { url, .. } => json!({"serverUrl": url}),
        Transport::Stdio { command, args } => s.stdio_entry(command, args, None),
    }
}

impl Agent for Windsurf {
    fn id(&self) -> AgentId {
        AgentId::Windsurf
    }
    fn installed(&self, env: &AgentEnv) -> bool {
        dir(env).is_dir() || env.which("windsurf").is_some()
    }
    fn held(&self, name: &str, env: &AgentEnv) -> Result<Option<Held>> {
        held_json(&dir(env).join("mcp_config.json"), "mcpServers", name)
    }
    fn plug(&self, t: &Target, cx: &Cx) -> Result<Plan> {
        file_plug(self.id(), t, cx, &dir(cx.env).join("mcp_config.json"), "mcpServers", entry)
    }
    fn unplug(&self, t: &Target, cx: &Cx) -> Result<Plan> {
        file_unplug(self.id(), t, cx, &dir(cx.env).join("mcp_config.json"), "mcpServers")
    }
    fn snippet(&self, s: &Server) -> String {
        wrapped("mcpServers", &s.name, entry(s))
    }
}
