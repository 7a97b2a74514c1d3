//! VS Code: the user profile's `mcp.json` (`$XDG_CONFIG_HOME/Code/User`, else `~/.config/Code/User`;
//! `~/Library/Application Support/Code/User` on macOS), `servers.<name>` edited in place. VS Code
//! has no skills.

use std::path::PathBuf;

use serde_json::{json, Value};

use super::mcp::Transport;
use super::{file_plug, file_unplug, held_json, wrapped, Agent, AgentEnv, AgentId, Cx, Held, Plan, Server, Target};
use crate::error::Result;

pub struct VsCode;

fn user_dir(env: &AgentEnv) -> PathBuf {
    if env.macos {
        env.home.join("Library/Application Support/Code/User")
    } else {
        env.config_dir().join("Code/User")
    }
}

pub fn entry(s: &Server) -> Value {
    match &s.transport {
        Transport::Remote { kind, url } => json!({"type": kind, "url": url}),
        Transport::Stdio { command, args } => s.stdio_entry(command, args, Some("stdio")),
    }
}

impl Agent for VsCode {
    fn id(&self) -> AgentId {
        AgentId::Vscode
    }
    fn installed(&self, env: &AgentEnv) -> bool {
        user_dir(env).is_dir() || env.which("code").is_some()
    }
    fn held(&self, name: &str, env: &AgentEnv) -> Result<Option<Held>> {
        held_json(&user_dir(env).join("mcp.json"), "servers", name)
    }
    fn plug(&self, t: &Target, cx: &Cx) -> Result<Plan> {
        file_plug(self.id(), t, cx, &user_dir(cx.env).join("mcp.json"), "servers", entry)
    }
    fn unplug(&self, t: &Target, cx: &Cx) -> Result<Plan> {
        file_unplug(self.id(), t, cx, &user_dir(cx.env).join("mcp.json"), "servers")
    }
    fn snippet(&self, s: &Server) -> String {
        wrapped("servers", &s.name, entry(s))
    }
}
