//! What an agent really holds under a server's name, read from its own file: the agents' state is
//! the truth, and atk's record of what it registered is only a cache. What is held decides
//! whether a plugin is plugged, and whether an entry is atk's to change ([`Held::is_atks`]).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::mcp::{Server, Transport};
use super::{read_user_file, Launcher};
use crate::error::{Error, Result};

/// A server entry as an agent holds it: what it runs (or reaches) and with which variables.
/// Fields an agent adds of its own to what atk gives it (`type`, `enabled`, a timeout) do not
/// count; any other field (`headers`, a bearer token, `cwd`, …) is something atk never writes,
/// which makes the entry someone else's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Held {
    pub command: Option<String>,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub url: Option<String>,
    /// It has fields atk never writes.
    pub extra: bool,
}

/// The fields of an entry atk (or atk-cli) writes, or an agent adds to it.
const KNOWN: [&str; 13] = [
    "type",
    "command",
    "args",
    "env",
    "environment",
    "url",
    "httpUrl",
    "serverUrl",
    "enabled",
    "disabled",
    "timeout",
    "startup_timeout_sec",
    "tool_timeout_sec",
];

impl Held {
    /// From the JSON shape agents write: `command` (a string, or OpenCode's list of words), `args`,
    /// `env` (OpenCode's `environment`), and `url` (`httpUrl` for Gemini, `serverUrl` for Windsurf).
    pub fn from_json(v: &Value) -> Held {
        let strings = |v: Option<&Value>| -> Vec<String> {
            v.and_then(Value::as_array)
                .map(|a| a.iter().map(|x| x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string())).collect())
                .unwrap_or_default()
        };
        let (command, mut args) = match v.get("command") {
            Some(words @ Value::Array(_)) => {
                let mut words = strings(Some(words)).into_iter();
                (words.next(), words.collect())
            }
            Some(c) => (c.as_str().map(str::to_string), vec![]),
            None => (None, vec![]),
        };
        args.extend(strings(v.get("args")));
        let env = v
            .get("env")
            .or_else(|| v.get("environment"))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, x)| (k.clone(), x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let url = ["url", "httpUrl", "serverUrl"].iter().find_map(|k| v.get(*k)?.as_str().map(str::to_string));
        let extra = v.as_object().is_none_or(|m| m.keys().any(|k| !KNOWN.contains(&k.as_str())));
        Held { command, args, env, url, extra }
    }

    /// From a TOML table (Codex's `[mcp_servers.<name>]`).
    pub fn from_toml(t: &toml::Table) -> Held {
        let text = |v: &toml::Value| match v {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => format!("{other:?}"),
        };
        Held {
            command: t.get("command").map(text),
            args: t
                .get("args")
                .and_then(toml::Value::as_array)
                .map(|a| a.iter().map(text).collect())
                .unwrap_or_default(),
            env: t
                .get("env")
                .and_then(toml::Value::as_table)
                .map(|m| m.iter().map(|(k, v)| (k.clone(), text(v))).collect())
                .unwrap_or_default(),
            url: t.get("url").map(text),
            extra: t.keys().any(|k| !KNOWN.contains(&k.as_str())),
        }
    }

    /// What `server` is in the same terms (its variables with values).
    pub fn of(server: &Server) -> Held {
        let env = server.resolved_env().into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        match &server.transport {
            Transport::Stdio { command, args } => {
                Held { command: Some(command.clone()), args: args.clone(), env, url: None, extra: false }
            }
            Transport::Remote { url, .. } => Held { url: Some(url.clone()), ..Held::default() },
        }
    }

    /// A fingerprint of the entry under the server name `name` (FNV-1a of the name and the
    /// entry's fields), for atk's record of what it wrote where.
    pub fn fingerprint(&self, name: &str) -> u64 {
        let mut words: Vec<String> =
            vec![name.to_string(), self.command.clone().unwrap_or_default(), self.url.clone().unwrap_or_default()];
        words.extend(self.args.iter().cloned());
        words.extend(self.env.iter().map(|(k, v)| format!("{k}={v}")));
        words.push(self.extra.to_string());
        super::fingerprint(&words)
    }

    /// Whether this entry, under the server name `name`, is atk's for the plugin in `dir` (its
    /// folder `directory` in the home):
    /// * it runs `atk exec` of that plugin for this home (whatever fields an agent or the user
    ///   added to it);
    /// * or it is exactly what atk wrote under that name last on this machine (`written`: a remote
    ///   server's URL, which holds nothing else to tell atk's from the user's);
    /// * or it is what atk-cli 0.4.0 (or atk before `atk exec`) wrote for the plugin: its command
    ///   as `plugin.yaml` has it (or made absolute) with its arguments and its variables (their
    ///   names, whatever their values were then: those are what must go); or a command in the
    ///   plugin's folder.
    ///
    /// Otherwise an entry with a field atk never writes is never atk's, nor is anything else.
    pub fn is_atks(
        &self,
        launcher: &Launcher,
        at: (&str, &Path),
        name: &str,
        resolved: Option<&Server>,
        written: Option<u64>,
    ) -> bool {
        let (directory, dir) = at;
        if let (Some(command), None) = (&self.command, &self.url) {
            if launcher.runs(command, &self.args, directory) {
                return true;
            }
        }
        if self.extra {
            return false;
        }
        if written == Some(self.fingerprint(name)) {
            return true;
        }
        let (Some(command), None) = (&self.command, &self.url) else { return false };
        if in_folder(command, dir) {
            return true;
        }
        let Some(s) = resolved else { return false };
        let Transport::Stdio { command: resolved_command, args } = &s.transport else { return false };
        let same_command = command == resolved_command || s.command_as_written.as_deref() == Some(command.as_str());
        let names: std::collections::BTreeSet<&str> =
            s.env.iter().map(|v| v.name.as_str()).chain(s.optional_unset.iter().map(String::as_str)).collect();
        let same_env = !self.env.is_empty() && self.env.keys().all(|k| names.contains(k.as_str()));
        same_command && self.args == *args && same_env
    }

    /// A few words on what the entry runs or reaches, for a message: the program's name or the
    /// URL's host, never its arguments, variables or a shell line's assignments (they may hold the
    /// user's own secrets).
    pub fn describe(&self) -> String {
        if let Some(url) = &self.url {
            let host = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
            let host = host.split(['/', '?', '#']).next().unwrap_or_default();
            let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
            return format!("it reaches {}", crate::text::escape(host));
        }
        let program = self.command.as_deref().and_then(|c| {
            let word = c.split_whitespace().find(|w| !w.contains('='))?;
            Some(Path::new(word).file_name().map_or(word.to_string(), |n| n.to_string_lossy().into_owned()))
        });
        match program {
            Some(p) => format!("it runs {}", crate::text::escape(&p)),
            None => "it runs nothing atk can read".into(),
        }
    }
}

/// Whether `word` is a path in the plugin folder `dir`: read as written, with no `..` in it, and
/// where it leads.
fn in_folder(word: &str, dir: &Path) -> bool {
    let p = Path::new(word);
    let plain = p.is_absolute() && !p.components().any(|c| matches!(c, std::path::Component::ParentDir));
    plain && p.starts_with(dir) && std::fs::canonicalize(p).map_or(true, |c| c.starts_with(dir))
}

/// `section.name` of a JSON(C) agent file, when the file and the entry are there. A file that
/// cannot be read as JSON is an error: atk does not change an agent whose servers it cannot see.
pub fn held_json(path: &Path, section: &str, name: &str) -> Result<Option<Held>> {
    let Some(text) = read_user_file(path)? else { return Ok(None) };
    let doc = super::jsonc::Doc::parse(&text).map_err(|why| unreadable(path, &why))?;
    let member = doc.member(section, name).map_err(|why| unreadable(path, &why))?;
    Ok(member.as_ref().map(Held::from_json))
}

/// `[mcp_servers.<name>]` of Codex's `config.toml`.
pub fn held_toml(path: &Path, name: &str) -> Result<Option<Held>> {
    let Some(text) = read_user_file(path)? else { return Ok(None) };
    let table: toml::Table = toml::from_str(&text).map_err(|e| unreadable(path, &one_line(&e.to_string())))?;
    Ok(table
        .get("mcp_servers")
        .and_then(toml::Value::as_table)
        .and_then(|servers| servers.get(name))
        .and_then(toml::Value::as_table)
        .map(Held::from_toml))
}

fn one_line(s: &str) -> String {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

fn unreadable(path: &Path, why: &str) -> Error {
    Error::agent_config(
        format!("cannot read the servers in {}: {why}", path.display()),
        vec!["fix the file; atk does not change an agent whose servers it cannot see".into()],
    )
}
