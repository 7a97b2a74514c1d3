//! OpenCode: its global config (`opencode.jsonc`, else `opencode.json`, in
//! `$XDG_CONFIG_HOME/opencode`, else `~/.config/opencode`), edited in place: `mcp.<name>` for the
//! server and the `instructions` list for the skill.

use std::path::PathBuf;

use serde_json::{json, Value};

use super::mcp::Transport;
use super::plan::JsonEdit;
use super::{held_json, json_edit, stance, wrapped, Agent, AgentEnv, AgentId, Cx, Held, Plan, Server, Stance, Target};
use crate::error::Result;

pub struct OpenCode;

/// The files OpenCode merges, the later over the earlier: its global `config.json`,
/// `opencode.json` and `opencode.jsonc`, and the one `$OPENCODE_CONFIG` names.
fn merged(env: &AgentEnv) -> Vec<PathBuf> {
    let dir = env.config_dir().join("opencode");
    let mut files = vec![dir.join("config.json"), dir.join("opencode.json"), dir.join("opencode.jsonc")];
    files.extend(env.opencode_config.clone());
    files
}

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
            let env = s.env_object();
            if !env.is_empty() {
                m.insert("environment".into(), Value::Object(env));
            }
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
    /// OpenCode merges its global `config.json`, `opencode.json` and `opencode.jsonc`, and the file
    /// `$OPENCODE_CONFIG` names, the later over the earlier: what it holds under `name` is the
    /// entry of the last of them that has one (atk writes only [`file`]).
    fn held(&self, name: &str, env: &AgentEnv) -> Result<Option<Held>> {
        let mut held = None;
        for f in merged(env) {
            if let Some(h) = held_json(&f, "mcp", name)? {
                held = Some(h);
            }
        }
        Ok(held)
    }
    fn plug(&self, t: &Target, cx: &Cx) -> Result<Plan> {
        let given = t.given(&cx.env.launcher);
        let mut plan = Plan::default();
        let stance = stance(self.id(), t, cx, given.as_ref())?;
        // The server's entry is set (or, without a server, atk's removed) unless it is the user's.
        let mut remove_atks = false;
        match &stance {
            Stance::Foreign(held) if given.is_some() && !cx.replace => {
                plan.conflict = Some(super::plan::conflict_text(&cx.env.launcher, t, held));
                return Ok(plan);
            }
            Stance::Foreign(held) if given.is_some() => plan.changes.push(super::plan::replacing(self.id(), t, held)),
            Stance::Same | Stance::Atks if given.is_none() => remove_atks = true,
            _ => {}
        }
        let entries = given.as_ref().map(|s| (entry(s), entry(&s.masked())));
        let skill = t.skill_path().to_string_lossy().to_string();
        let member = match &entries {
            Some((e, shown)) => JsonEdit::Set(e, shown),
            None if remove_atks => JsonEdit::Remove,
            None => JsonEdit::Keep,
        };
        let change = json_edit(&file(cx.env), "mcp", &t.server_name, member, Some((&skill, t.has_skill)))?;
        match change {
            Some(c) => plan.changes.push(c),
            None => plan.changes.clear(),
        }
        if let Some(s) = &given {
            super::plan::say_secret_url(self.id(), s, &mut plan);
        }
        Ok(plan)
    }
    fn unplug(&self, t: &Target, cx: &Cx) -> Result<Plan> {
        let skill = t.skill_path().to_string_lossy().to_string();
        let mut plan = Plan::default();
        let stance = stance(self.id(), t, cx, t.given(&cx.env.launcher).as_ref())?;
        let member = match &stance {
            Stance::Same | Stance::Atks => JsonEdit::Remove,
            Stance::Equal => {
                plan.notes.push(super::plan::not_written(t));
                JsonEdit::Keep
            }
            Stance::Foreign(held) => {
                plan.notes.push(super::plan::left_alone(t, held));
                JsonEdit::Keep
            }
            Stance::Absent => JsonEdit::Keep,
        };
        let own = file(cx.env);
        plan.changes.extend(json_edit(&own, "mcp", &t.server_name, member, Some((&skill, false)))?);
        // atk's entry may be in another of the files OpenCode merges (written when it was the one
        // atk edits): wherever it is atk's, it goes.
        if matches!(member, JsonEdit::Remove) {
            let at = (t.directory.as_str(), t.dir.as_path());
            let written = cx.registered.written(self.id(), &t.directory);
            for f in merged(cx.env).into_iter().filter(|f| *f != own) {
                let atks = held_json(&f, "mcp", &t.server_name)?
                    .is_some_and(|h| h.is_atks(&cx.env.launcher, at, &t.server_name, t.server.as_ref(), written));
                if atks {
                    plan.changes.extend(json_edit(&f, "mcp", &t.server_name, JsonEdit::Remove, None)?);
                }
            }
        }
        Ok(plan)
    }
    fn snippet(&self, s: &Server) -> String {
        wrapped("mcp", &s.name, entry(s))
    }
}
