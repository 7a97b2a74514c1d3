//! Coding agents: a plugin's MCP server and its `SKILL.md`, registered with (plugged into) and
//! removed from (unplugged from) Claude Code, Codex, Gemini CLI, Auggie, OpenCode, Cursor, VS Code
//! and Windsurf. Each agent is one file behind the small [`Agent`] trait: it plans the changes
//! (programs to run, files to write, links to make: `plan.rs`), which `apply.rs` previews,
//! confirms and applies (`run.rs` runs one change). `target.rs` is what is plugged, `launch.rs`
//! how agents start it (`atk exec`), `held.rs` what an agent really holds, `names.rs` the server's
//! name in each agent, `registered.rs` what atk wrote (a cache), `files.rs` the agents' own files,
//! `record.rs` the manifest's record and `hooks.rs` what remove, uninstall, upgrade, status and
//! doctor call.
//!
//! Agents are given `atk exec <plugin>`, never a value or a secret of the plugin; an entry is
//! changed or removed only when it is atk's (see `Held::is_atks`). CLI agents are driven through
//! their own programs, as atk-cli drives them; file agents' JSON(C) files are edited in place. Which agents a plugin is plugged into is recorded in its manifest entry
//! (`agents: [claude, cursor]`), so that `remove` unplugs them, `upgrade` re-plugs them and a new
//! laptop is rewired with `atk plug --all`.

mod apply;
mod auggie;
mod claude;
mod codex;
mod cursor;
mod env;
mod files;
mod gemini;
mod held;
mod hooks;
pub mod jsonc;
pub mod launch;
pub mod mcp;
pub mod names;
mod opencode;
mod plan;
mod record;
mod registered;
mod run;
pub mod skill;
mod target;
mod vscode;
mod windsurf;

use serde::{Deserialize, Serialize};

use crate::error::Result;

pub use apply::{apply, AgentOutcome, AgentStatus, Apply, Op};
pub use env::AgentEnv;
pub use files::{file_behind, read_user_file, write_user_file};
pub use held::{held_json, held_toml, Held};
pub use hooks::{on_recorded, wiring, Wiring};
pub use launch::{launch, Launch, Launcher};
pub use mcp::Server;
pub use plan::{
    cli_plug, cli_unplug, file_plug, file_unplug, json_edit, managed_line, no_skills_note, preview, shell_words,
    skill_link, stance, wrapped, Change, Plan, Stance,
};
pub use record::{describe_recorded, forget, join_labels, record, recorded, unknown_recorded};
pub use registered::{fingerprint, registered_path, Registered};
pub use target::{bare_target, name_problem, target, Target};

/// The agents atk knows, in the order they are processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum AgentId {
    Claude,
    Codex,
    Gemini,
    Auggie,
    Opencode,
    Cursor,
    Vscode,
    Windsurf,
}

impl AgentId {
    pub const ALL: [AgentId; 8] = [
        AgentId::Claude,
        AgentId::Codex,
        AgentId::Gemini,
        AgentId::Auggie,
        AgentId::Opencode,
        AgentId::Cursor,
        AgentId::Vscode,
        AgentId::Windsurf,
    ];

    /// The supported agents found on this machine (their program, or their configuration
    /// folder), in the fixed order.
    pub fn installed(env: &AgentEnv) -> Vec<AgentId> {
        AgentId::ALL.into_iter().filter(|a| a.agent().installed(env)).collect()
    }

    /// The word in the manifest and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentId::Claude => "claude",
            AgentId::Codex => "codex",
            AgentId::Gemini => "gemini",
            AgentId::Auggie => "auggie",
            AgentId::Opencode => "opencode",
            AgentId::Cursor => "cursor",
            AgentId::Vscode => "vscode",
            AgentId::Windsurf => "windsurf",
        }
    }

    /// The agent's name for people.
    pub fn label(self) -> &'static str {
        match self {
            AgentId::Claude => "Claude Code",
            AgentId::Codex => "Codex",
            AgentId::Gemini => "Gemini CLI",
            AgentId::Auggie => "Auggie",
            AgentId::Opencode => "OpenCode",
            AgentId::Cursor => "Cursor",
            AgentId::Vscode => "VS Code",
            AgentId::Windsurf => "Windsurf",
        }
    }

    /// The program of a CLI agent (file agents have none).
    pub fn program(self) -> Option<&'static str> {
        match self {
            AgentId::Claude | AgentId::Codex | AgentId::Auggie => Some(self.as_str()),
            _ => None,
        }
    }

    pub fn parse(s: &str) -> Option<AgentId> {
        AgentId::ALL.into_iter().find(|a| a.as_str() == s)
    }

    pub fn agent(self) -> &'static dyn Agent {
        match self {
            AgentId::Claude => &claude::Claude,
            AgentId::Codex => &codex::Codex,
            AgentId::Gemini => &gemini::Gemini,
            AgentId::Auggie => &auggie::Auggie,
            AgentId::Opencode => &opencode::OpenCode,
            AgentId::Cursor => &cursor::Cursor,
            AgentId::Vscode => &vscode::VsCode,
            AgentId::Windsurf => &windsurf::Windsurf,
        }
    }
}

/// What plans are made from: where the agent's files are, what atk registered before, and
/// whether a server of the user's with the same name may be replaced (`--replace`).
pub struct Cx<'a> {
    pub env: &'a AgentEnv,
    pub registered: &'a Registered,
    pub replace: bool,
}

/// One agent, in one file: how to find it, what it holds, and the changes that plug or unplug a
/// plugin.
pub trait Agent: Sync {
    fn id(&self) -> AgentId;
    /// Whether the agent is on this machine (its program on `PATH`, or its configuration folder).
    fn installed(&self, env: &AgentEnv) -> bool;
    /// What the agent holds under the server name `name`, read from its own file (`None`: nothing).
    fn held(&self, name: &str, env: &AgentEnv) -> Result<Option<Held>>;
    /// The changes that make the agent use `t`'s server and skill (none when it does already).
    fn plug(&self, t: &Target, cx: &Cx) -> Result<Plan>;
    /// The changes that make the agent forget `t` (none when it has nothing of it).
    fn unplug(&self, t: &Target, cx: &Cx) -> Result<Plan>;
    /// The server as it would be written in the agent's own configuration file.
    fn snippet(&self, server: &Server) -> String;
}

#[cfg(test)]
mod tests;
