//! Gemini CLI: `mcpServers.<name>` of its user settings (`$GEMINI_CLI_HOME/.gemini/settings.json`,
//! else `~/.gemini`), edited in place as atk edits a file agent's: `gemini mcp add` and `remove`
//! save the whole file back with every `${VAR}` of the user's own entries expanded (their secrets
//! in clear), and a server's words could be read as Gemini's options. The skill is a folder
//! `~/.gemini/skills/atk-<directory>` holding a `SKILL.md` Gemini loads (atk-cli linked the whole
//! plugin folder there, `.env` included: such a link is replaced, and removed on unplug).

use serde_json::{json, Value};

use super::mcp::Transport;
use std::path::{Path, PathBuf};

use super::plan::json_server;
use super::{
    file_unplug, held_json, read_user_file, wrapped, Agent, AgentEnv, AgentId, Change, Cx, Held, Plan, Server, Target,
};
use crate::error::{Error, Result};

pub struct Gemini;

/// Gemini's user settings, where its servers are.
fn settings(env: &AgentEnv) -> PathBuf {
    env.gemini_dir().join("settings.json")
}

/// A server as Gemini keeps it: `{command, args}`, `{httpUrl}` or `{url}` (sse), and `timeout`.
pub fn entry(s: &Server) -> Value {
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
    Value::Object(entry)
}

/// The skill's folder: `~/.gemini/skills/atk-<directory>`.
fn folder(t: &Target, env: &AgentEnv) -> PathBuf {
    env.gemini_dir().join("skills").join(format!("atk-{}", t.directory))
}

/// The last line of a skill file atk writes: how atk knows the file is its own.
/// It names the plugin's folder, home included: two homes on one machine never take each
/// other's skill.
fn marker(t: &Target) -> String {
    // (An HTML comment cannot hold `--`.)
    let mut dir = t.dir.display().to_string();
    while dir.contains("--") {
        dir = dir.replace("--", "-%2D");
    }
    format!("<!-- atk: the skill of the plugin in {dir}; `atk plug` and `atk unplug` manage this file -->")
}

/// What Gemini is given: the plugin's `SKILL.md`, with Agent Skills front matter (made from
/// `plugin.yaml`) when it has none Gemini loads, and atk's marker.
fn skill_text(t: &Target) -> Result<String> {
    // Read as a regular file only: a link is never followed (see `Target::skill_refused`).
    let own = crate::plugin::skill::read(&t.dir)?.unwrap_or_default();
    // A derived name starts with `atk-`, as the folder does: Gemini tells skills apart by name,
    // and one of the user's own named after the plugin stays theirs.
    let text = crate::plugin::skill::with_front_matter(&own, &format!("atk-{}", t.directory), &t.description);
    Ok(format!("{}\n\n{}\n", text.trim_end(), marker(t)))
}

/// Whether `file` is the skill file atk wrote for `t` (a regular file ending with its marker).
fn is_atks(file: &Path, t: &Target) -> bool {
    let regular = std::fs::symlink_metadata(file).is_ok_and(|m| m.is_file());
    regular && read_user_file(file).ok().flatten().is_some_and(|text| text.trim_end().ends_with(&marker(t)))
}

/// Whether the folder holds nothing but `SKILL.md` (or nothing).
fn only_the_skill(folder: &Path) -> bool {
    std::fs::read_dir(folder).is_ok_and(|entries| entries.flatten().all(|e| e.file_name() == "SKILL.md"))
}

/// The changes that give Gemini the skill (`want`) or take it away. A link named after the
/// plugin is atk-cli's (to the whole plugin folder): replaced, or removed. A folder or file there
/// that atk did not write is never touched.
fn skill_changes(t: &Target, env: &AgentEnv, want: bool) -> Result<Vec<Change>> {
    let folder = folder(t, env);
    let file = folder.join("SKILL.md");
    let mut changes = Vec::new();
    let meta = std::fs::symlink_metadata(&folder);
    if meta.as_ref().is_ok_and(|m| m.file_type().is_symlink()) {
        changes.push(Change::Unlink { link: folder.clone() });
    } else if let Ok(m) = &meta {
        let file_there = std::fs::symlink_metadata(&file).is_ok();
        let atks = m.is_dir() && only_the_skill(&folder) && (!file_there || is_atks(&file, t));
        if !atks {
            if !want {
                return Ok(vec![]);
            }
            return Err(Error::agent_config(
                format!("{} exists and is not a skill atk wrote; atk leaves it alone", folder.display()),
                vec!["move it away, then plug again".into()],
            ));
        }
        if !want && file_there {
            return Ok(vec![Change::Remove { path: file, folder: Some(folder) }]);
        }
    }
    if want {
        let text = skill_text(t)?;
        let current = changes.is_empty().then(|| read_user_file(&file).ok().flatten()).flatten();
        if current.as_deref() != Some(text.as_str()) {
            let preview =
                vec!["write the plugin's SKILL.md there, with the front matter Gemini loads skills by".into()];
            changes.push(Change::Write { path: file, text, preview });
        }
    }
    Ok(changes)
}

impl Agent for Gemini {
    fn id(&self) -> AgentId {
        AgentId::Gemini
    }
    fn installed(&self, env: &AgentEnv) -> bool {
        env.which("gemini").is_some() || env.gemini_dir().is_dir()
    }
    fn held(&self, name: &str, env: &AgentEnv) -> Result<Option<Held>> {
        held_json(&settings(env), "mcpServers", name)
    }
    fn plug(&self, t: &Target, cx: &Cx) -> Result<Plan> {
        let mut plan = json_server(self.id(), t, cx, &settings(cx.env), "mcpServers", entry)?;
        if plan.conflict.is_none() {
            plan.changes.extend(skill_changes(t, cx.env, t.has_skill)?);
        }
        Ok(plan)
    }
    fn unplug(&self, t: &Target, cx: &Cx) -> Result<Plan> {
        let mut plan = file_unplug(self.id(), t, cx, &settings(cx.env), "mcpServers")?;
        plan.changes.extend(skill_changes(t, cx.env, false)?);
        Ok(plan)
    }
    fn snippet(&self, s: &Server) -> String {
        wrapped("mcpServers", &s.name, entry(s))
    }
}
