//! Claude Code: `claude mcp add` (or `add-json` when there is a timeout, which `add` cannot take)
//! at user scope; the skill is an `@/abs/SKILL.md` line in the managed section of `CLAUDE.md` in
//! `$CLAUDE_CONFIG_DIR` (else `~/.claude`).

use serde_json::{json, Value};

use super::mcp::{python_json, Transport};
use super::{
    cli_plug, cli_unplug, held_json, managed_line, wrapped, Agent, AgentEnv, AgentId, Cx, Held, Plan, Server, Target,
};
use crate::error::Result;

pub struct Claude;

pub fn add_argv(s: &Server) -> Vec<String> {
    let mut argv: Vec<String> = ["claude", "mcp"].map(String::from).to_vec();
    if s.timeout.is_some_and(|t| t > 0) {
        let mut entry = s.upstream_entry();
        let m = entry.as_object_mut().expect("an object");
        let env = s.env_object();
        if env.is_empty() {
            m.remove("env");
        } else {
            m.insert("env".into(), Value::Object(env));
        }
        argv.extend(["add-json", "--scope", "user"].map(String::from));
        argv.push(s.name.clone());
        argv.push(python_json(&entry, false));
        return argv;
    }
    argv.push("add".into());
    if let Transport::Remote { kind, .. } = &s.transport {
        argv.extend(["--transport".into(), kind.clone()]);
    }
    argv.extend(["--scope", "user"].map(String::from));
    for (k, v) in s.resolved_env() {
        argv.extend(["-e".into(), format!("{k}={v}")]);
    }
    argv.extend(["--".into(), s.name.clone()]);
    argv.extend(s.run_words());
    argv
}

fn remove_argv(name: &str) -> Vec<String> {
    ["claude", "mcp", "remove", "--scope", "user", name].map(String::from).to_vec()
}

fn skill_line(t: &Target) -> String {
    format!("@{}", t.skill_path().display())
}

impl Agent for Claude {
    fn id(&self) -> AgentId {
        AgentId::Claude
    }
    fn installed(&self, env: &AgentEnv) -> bool {
        env.which("claude").is_some()
    }
    fn held(&self, name: &str, env: &AgentEnv) -> Result<Option<Held>> {
        held_json(&env.claude_json(), "mcpServers", name)
    }
    fn plug(&self, t: &Target, cx: &Cx) -> Result<Plan> {
        let mut plan = cli_plug(self.id(), t, cx, add_argv, remove_argv(&t.server_name))?;
        // Claude's `@path` import ends at the first blank: a path with one would import another file.
        let importable = !t.skill_path().to_string_lossy().chars().any(char::is_whitespace);
        if t.has_skill && !importable {
            plan.notes.push(
                "its skill is left out: the plugin's path has a space, which Claude Code's @import cannot name".into(),
            );
        }
        if plan.conflict.is_none() {
            let want = t.has_skill && importable;
            plan.changes.extend(managed_line(&cx.env.claude_dir().join("CLAUDE.md"), &skill_line(t), want)?);
        }
        Ok(plan)
    }
    fn unplug(&self, t: &Target, cx: &Cx) -> Result<Plan> {
        let mut plan = cli_unplug(self.id(), t, cx, remove_argv(&t.server_name))?;
        plan.changes.extend(managed_line(&cx.env.claude_dir().join("CLAUDE.md"), &skill_line(t), false)?);
        Ok(plan)
    }
    fn snippet(&self, s: &Server) -> String {
        let mut entry = serde_json::Map::new();
        match &s.transport {
            Transport::Stdio { command, args } => {
                entry.insert("type".into(), json!("stdio"));
                entry.insert("command".into(), json!(command));
                entry.insert("args".into(), json!(args));
            }
            Transport::Remote { kind, url } => {
                entry.insert("type".into(), json!(kind));
                entry.insert("url".into(), json!(url));
            }
        }
        if let Some(t) = s.timeout {
            entry.insert("timeout".into(), json!(t));
        }
        wrapped("mcpServers", &s.name, Value::Object(entry))
    }
}
