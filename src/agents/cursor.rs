//! Cursor: `~/.cursor/mcp.json`, `mcpServers.<name>` edited in place. Cursor has no skills.

use std::path::PathBuf;

use serde_json::{json, Value};

use super::mcp::Transport;
use super::{file_plug, file_unplug, wrapped, Agent, AgentEnv, AgentId, Cx, Plan, Server, Target};
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
    fn plug(&self, t: &Target, cx: &Cx) -> Result<Plan> {
        file_plug(self.id(), t, &file(cx.env), "mcpServers", entry)
    }
    fn unplug(&self, t: &Target, cx: &Cx) -> Result<Plan> {
        file_unplug(t, &file(cx.env), "mcpServers")
    }
    fn snippet(&self, s: &Server) -> String {
        wrapped("mcpServers", &s.name, entry(s))
    }
}
