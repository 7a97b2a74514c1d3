//! Codex: `codex mcp add` (env only for a command: codex refuses `--env` with `--url`); the skill
//! is a read directive in the managed section of `AGENTS.md` in `$CODEX_HOME` (else `~/.codex`).

use super::mcp::Transport;
use super::plan::managed_lines_removed;
use super::{cli_plug, cli_unplug, held_toml, managed_line, Agent, AgentEnv, AgentId, Cx, Held, Plan, Server, Target};
use crate::error::Result;

pub struct Codex;

pub fn add_argv(s: &Server) -> Vec<String> {
    let mut argv: Vec<String> = ["codex", "mcp", "add"].map(String::from).to_vec();
    if let Transport::Stdio { .. } = &s.transport {
        for (k, v) in s.resolved_env() {
            argv.extend(["--env".into(), format!("{k}={v}")]);
        }
    }
    argv.push(s.name.clone());
    match &s.transport {
        Transport::Remote { url, .. } => argv.extend(["--url".into(), url.clone()]),
        Transport::Stdio { command, args } => {
            argv.extend(["--".into(), command.clone()]);
            argv.extend(args.iter().cloned());
        }
    }
    argv
}

fn remove_argv(name: &str) -> Vec<String> {
    ["codex", "mcp", "remove", name].map(String::from).to_vec()
}

/// atk-cli's words, kept so that either CLI finds the line the other wrote.
fn skill_line(t: &Target) -> String {
    format!("Read {} for instructions on using the {} MCP tools.", t.skill_path().display(), t.name)
}

impl Agent for Codex {
    fn id(&self) -> AgentId {
        AgentId::Codex
    }
    fn installed(&self, env: &AgentEnv) -> bool {
        env.which("codex").is_some()
    }
    fn held(&self, name: &str, env: &AgentEnv) -> Result<Option<Held>> {
        held_toml(&env.codex_dir().join("config.toml"), name)
    }
    fn plug(&self, t: &Target, cx: &Cx) -> Result<Plan> {
        let mut plan = cli_plug(self.id(), t, cx, add_argv, remove_argv(&t.server_name))?;
        if plan.conflict.is_none() {
            plan.changes.extend(managed_line(&cx.env.codex_dir().join("AGENTS.md"), &skill_line(t), t.has_skill)?);
        }
        Ok(plan)
    }
    fn unplug(&self, t: &Target, cx: &Cx) -> Result<Plan> {
        let mut plan = cli_unplug(self.id(), t, cx, remove_argv(&t.server_name))?;
        // The line names the plugin as it was called when it was written (an upgrade may have
        // renamed it since): every line that reads this plugin's SKILL.md goes.
        let head = format!("Read {} for instructions on using the ", t.skill_path().display());
        let ours = |l: &str| l.starts_with(&head) && l.ends_with(" MCP tools.");
        plan.changes.extend(managed_lines_removed(&cx.env.codex_dir().join("AGENTS.md"), &skill_line(t), ours)?);
        Ok(plan)
    }
    fn snippet(&self, s: &Server) -> String {
        let mut out = format!("[mcp_servers.{}]\n", toml_key(&s.name));
        match &s.transport {
            Transport::Stdio { command, args } => {
                out.push_str(&format!("command = {}\n", toml_string(command)));
                let args: Vec<String> = args.iter().map(|a| toml_string(a)).collect();
                out.push_str(&format!("args = [{}]\n", args.join(", ")));
            }
            Transport::Remote { url, .. } => out.push_str(&format!("url = {}\n", toml_string(url))),
        }
        if let Some(t) = s.timeout {
            out.push_str(&format!("tool_timeout_sec = {:?}\n", t as f64 / 1000.0));
        }
        let env = s.resolved_env();
        if !env.is_empty() && !s.is_remote() {
            out.push_str(&format!("\n[mcp_servers.{}.env]\n", toml_key(&s.name)));
            for (k, v) in env {
                out.push_str(&format!("{} = {}\n", toml_key(k), toml_string(v)));
            }
        }
        out.trim_end().to_string()
    }
}

fn toml_key(k: &str) -> String {
    if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        k.to_string()
    } else {
        toml_string(k)
    }
}

/// A TOML basic string.
pub fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
