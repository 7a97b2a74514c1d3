//! Cursor: `~/.cursor/mcp.json`, `mcpServers.<name>` edited in place. Cursor has no skills.

use std::path::PathBuf;

use serde_json::{json, Value};

use super::mcp::Transport;
use super::{file_plug, file_unplug, held_json, wrapped, Agent, AgentEnv, AgentId, Cx, Held, Plan, Server, Target};
use crate::error::Result;

pub struct Cursor;

fn file(env: &AgentEnv) -> PathBuf {
    env.home.join(".cursor/mcp.json")
}

pub fn entry(s: &Server) -> Value {
    match &s.transport {
        Transport::Remote { url, .. } => json!({"url": url}),
        Transport::Stdio { command, args } => s.stdio_entry(command, args, None),
    }
}

impl Agent for Cursor {
    fn id(&self) -> AgentId {
        AgentId::Cursor
    }
    fn installed(&self, env: &AgentEnv) -> bool {
        env.home.join(".cursor").is_dir() || env.which("cursor").is_some()
    }
    fn held(&self, name: &str, env: &AgentEnv) -> Result<Option<Held>> {
        held_json(&file(env), "mcpServers", name)
    }
    fn plug(&self, t: &Target, cx: &Cx) -> Result<Plan> {
        file_plug(self.id(), t, cx, &file(cx.env), "mcpServers", entry)
    }
    fn unplug(&self, t: &Target, cx: &Cx) -> Result<Plan> {
        file_unplug(self.id(), t, cx, &file(cx.env), "mcpServers")
    }
    fn snippet(&self, s: &Server) -> String {
        wrapped("mcpServers", &s.name, entry(s))
    }
}
