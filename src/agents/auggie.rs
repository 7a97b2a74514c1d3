//! Auggie (Augment Code): `auggie mcp add-json <name> <json>`; the skill is a link
//! `~/.augment/rules/atk-<directory>.md` to `SKILL.md`, as atk-cli makes it.

use serde_json::{json, Value};

use super::mcp::{python_json, Transport};
use super::{
    cli_plug, cli_unplug, held_json, skill_link, wrapped, Agent, AgentEnv, AgentId, Cx, Held, Plan, Server, Target,
};
use crate::error::Result;

pub struct Auggie;

/// The payload: a command's `args` always a list and `env` always there (as atk-cli writes it); a
/// URL server's env dropped. Auggie joins the command and its arguments with spaces and runs them
/// with `sh -c`: each word is quoted for the shell where it needs it (a home path with a space).
fn payload(s: &Server) -> Value {
    match &s.transport {
        Transport::Remote { kind, url } => json!({"type": kind, "url": url}),
        Transport::Stdio { command, args } => {
            let quote = |w: &String| crate::lifecycle::shell_quote(w);
            let mut m = serde_json::Map::new();
            m.insert("command".into(), json!(quote(command)));
            m.insert("args".into(), json!(args.iter().map(quote).collect::<Vec<_>>()));
            m.insert("env".into(), Value::Object(s.env_object()));
            Value::Object(m)
        }
    }
}

/// A word as the shell reads it when it is single-quoted (`'a b'`, `'c'\''d'`); any other word as
/// it is.
fn unquote(word: &str) -> String {
    if !word.starts_with('\'') {
        return word.to_string();
    }
    let (mut out, mut quoted, mut chars) = (String::new(), false, word.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '\'') => quoted = false,
            (true, c) => out.push(c),
            (false, '\'') => quoted = true,
            (false, '\\') if chars.peek() == Some(&'\'') => out.push(chars.next().expect("peeked")),
            (false, _) => return word.to_string(),
        }
    }
    if quoted {
        word.to_string()
    } else {
        out
    }
}

pub fn add_argv(s: &Server) -> Vec<String> {
    vec!["auggie".into(), "mcp".into(), "add-json".into(), s.name.clone(), python_json(&payload(s), true)]
}

fn remove_argv(name: &str) -> Vec<String> {
    ["auggie", "mcp", "remove", name].map(String::from).to_vec()
}

fn link(t: &Target, env: &AgentEnv) -> std::path::PathBuf {
    env.home.join(".augment/rules").join(format!("atk-{}.md", t.directory))
}

impl Agent for Auggie {
    fn id(&self) -> AgentId {
        AgentId::Auggie
    }
    fn installed(&self, env: &AgentEnv) -> bool {
        env.which("auggie").is_some()
    }
    fn held(&self, name: &str, env: &AgentEnv) -> Result<Option<Held>> {
        let held = held_json(&env.home.join(".augment/settings.json"), "mcpServers", name)?;
        Ok(held.map(|h| Held {
            command: h.command.as_deref().map(unquote),
            args: h.args.iter().map(|a| unquote(a)).collect(),
            ..h
        }))
    }
    fn plug(&self, t: &Target, cx: &Cx) -> Result<Plan> {
        let mut plan = cli_plug(self.id(), t, cx, add_argv, remove_argv(&t.server_name))?;
        if plan.conflict.is_none() {
            plan.changes.extend(skill_link(&link(t, cx.env), &t.skill_path(), t.has_skill)?);
        }
        Ok(plan)
    }
    fn unplug(&self, t: &Target, cx: &Cx) -> Result<Plan> {
        let mut plan = cli_unplug(self.id(), t, cx, remove_argv(&t.server_name))?;
        plan.changes.extend(skill_link(&link(t, cx.env), &t.skill_path(), false)?);
        Ok(plan)
    }
    fn snippet(&self, s: &Server) -> String {
        wrapped("mcpServers", &s.name, payload(s))
    }
}

#[cfg(test)]
mod tests {
    use super::unquote;

    #[test]
    fn single_quoted_words_read_as_the_shell_reads_them() {
        assert_eq!(unquote("'a b'"), "a b");
        assert_eq!(unquote("'c'\\''d'"), "c'd");
        assert_eq!(unquote("''"), "");
        assert_eq!(unquote("plain"), "plain");
        assert_eq!(unquote("'open"), "'open");
        assert_eq!(unquote("'a'b"), "'a'b");
        assert_eq!(unquote(&crate::lifecycle::shell_quote("/h/my home/$x 'q'")), "/h/my home/$x 'q'");
    }
}
