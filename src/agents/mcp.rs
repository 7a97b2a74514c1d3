//! A plugin's MCP server as agents are given it: `plugin.yaml`'s `mcp` section with its variables
//! resolved from the plugin's `.env` and declared defaults, `$VAR`/`${VAR}` substituted by whole
//! name, `$ATK_PLUGIN_DIR` made the plugin's absolute folder, and a relative command made absolute.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{json, Map, Value};

use crate::error::Result;
use crate::plugin::env::{EnvFile, Outer};
use crate::plugin::secret::{Scrubber, MASK};
use crate::plugin::Plugin;

/// What a required variable without a value is shown as (atk-cli's word for it).
pub const NOT_SET: &str = "<NOT_SET>";
pub const PLUGIN_DIR_VAR: &str = "ATK_PLUGIN_DIR";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    Stdio {
        command: String,
        args: Vec<String>,
    },
    /// `http` (streamable HTTP) or `sse`.
    Remote {
        kind: String,
        url: String,
    },
}

/// One variable of `mcp.env`: its value, or none (a required one without a value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Var {
    pub name: String,
    pub value: Option<String>,
    pub secret: bool,
}

/// A plugin's MCP server, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// The plugin's display name: the server's name in every agent (as atk-cli names it).
    pub name: String,
    pub transport: Transport,
    /// The transport as shown: [`MASK`] where a secret value was substituted.
    pub shown_transport: Transport,
    /// `mcp.env` in its order, optional variables without a value left out.
    pub env: Vec<Var>,
    /// Optional variables of `mcp.env` that have no value (omitted from every config).
    pub optional_unset: Vec<String>,
    /// Milliseconds per tool call.
    pub timeout: Option<u64>,
    /// Every secret value of the plugin's `.env` (`crate::plugin::secrets`), also those of
    /// variables the server is not given: a value may repeat one.
    pub secrets: Vec<String>,
    /// The command as `plugin.yaml` writes it, its variables substituted but not made absolute
    /// (`./server.sh`): how atk-cli 0.4.0 wrote it into agents' configs.
    pub command_as_written: Option<String>,
}

impl Server {
    /// Resolves `plugin`'s MCP section for the plugin folder `dir`; `None` when it has none.
    /// `outer` is where `${VAR}` inside `.env` values falls back to (the caller's environment).
    pub fn resolve(plugin: &Plugin, dir: &Path, outer: Outer) -> Result<Option<Server>> {
        let Some(mcp) = &plugin.mcp else { return Ok(None) };
        let abs = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        let abs = abs.to_string_lossy().to_string();
        let dotenv = EnvFile::read(&dir.join(".env"), outer)?;
        let secrets = crate::plugin::secrets(Some(plugin), &dotenv);
        let mut env = Vec::new();
        let mut optional_unset = Vec::new();
        for name in mcp.env.iter().flatten() {
            let declared = plugin.env_vars.iter().find(|v| &v.name == name);
            let value = dotenv
                .get(name)
                .filter(|v| !v.is_empty())
                .or_else(|| declared.and_then(|d| d.default.clone()).filter(|v| !v.is_empty()));
            // An undeclared variable counts as required, and as a secret (nothing says it is not);
            // a declared one is a secret when declared so or named like one, or when its value
            // takes a secret in (`postgres://app:${DB_PASSWORD}@db`).
            let required = declared.is_none_or(|d| d.required);
            let secret = declared.is_none_or(|d| d.holds_secret()) || secrets.holds(name);
            if value.is_none() && !required {
                optional_unset.push(name.clone());
                continue;
            }
            env.push(Var { name: name.clone(), value, secret });
        }
        // In env values only `$ATK_PLUGIN_DIR` is replaced: a value is the user's, given to the
        // server as written (`p$TOKEN.x` stays, as atk-cli passes it). The command, arguments and
        // endpoint then take the env values as they end up.
        let mut vars: Vec<(String, String)> = vec![(PLUGIN_DIR_VAR.to_string(), abs.clone())];
        for v in &mut env {
            v.value = v.value.as_deref().map(|x| substitute(x, &vars));
        }
        // What is shown takes the mask where a secret is substituted: the same words, with the
        // secret's place marked exactly (however short the secret is).
        let mut shown_vars = vars.clone();
        vars.extend(env.iter().filter_map(|v| Some((v.name.clone(), v.value.clone()?))));
        shown_vars.extend(env.iter().filter_map(|v| {
            let value = if v.secret { MASK.to_string() } else { v.value.clone()? };
            v.value.as_ref().map(|_| (v.name.clone(), value))
        }));
        let transport_with = |vars: &[(String, String)]| {
            let sub = |s: &str| substitute(s, vars);
            match mcp.transport.as_str() {
                "stdio" => {
                    let command = sub(mcp.command.as_deref().unwrap_or_default());
                    let relative = command.contains('/') && !command.starts_with(['/', '~', '$']);
                    let command = if relative {
                        Path::new(&abs).join(command.trim_start_matches("./")).to_string_lossy().to_string()
                    } else {
                        command
                    };
                    Transport::Stdio { command, args: mcp.args.iter().flatten().map(|a| sub(a)).collect() }
                }
                kind => {
                    Transport::Remote { kind: kind.to_string(), url: sub(mcp.endpoint.as_deref().unwrap_or_default()) }
                }
            }
        };
        let (transport, shown_transport) = (transport_with(&vars), transport_with(&shown_vars));
        let command_as_written =
            (mcp.transport == "stdio").then(|| substitute(mcp.command.as_deref().unwrap_or_default(), &vars));
        Ok(Some(Server {
            name: plugin.name.clone(),
            transport,
            shown_transport,
            env,
            optional_unset,
            timeout: mcp.timeout,
            secrets: secrets.values,
            command_as_written,
        }))
    }

    /// Required variables without a value.
    pub fn missing(&self) -> Vec<&str> {
        self.env.iter().filter(|v| v.value.is_none()).map(|v| v.name.as_str()).collect()
    }

    /// The variables that have a value, in order: what agents are given.
    pub fn resolved_env(&self) -> Vec<(&str, &str)> {
        self.env.iter().filter_map(|v| Some((v.name.as_str(), v.value.as_deref()?))).collect()
    }

    pub fn is_remote(&self) -> bool {
        matches!(self.transport, Transport::Remote { .. })
    }

    /// The same server with every secret value masked wherever it appears (in the env, and
    /// substituted into the command, arguments or URL): what previews and `atk mcp` show.
    pub fn masked(&self) -> Server {
        // Secrets written into plugin.yaml's words themselves (not substituted) are scrubbed too.
        let scrubber = self.output_scrubber();
        let hide = |s: &str| scrubber.scrub(s);
        let transport = match &self.shown_transport {
            Transport::Stdio { command, args } => {
                Transport::Stdio { command: hide(command), args: args.iter().map(|a| hide(a)).collect() }
            }
            Transport::Remote { kind, url } => Transport::Remote { kind: kind.clone(), url: hide(url) },
        };
        let env = self
            .env
            .iter()
            .map(|v| Var {
                value: v.value.as_deref().map(|x| if v.secret { MASK.to_string() } else { hide(x) }),
                ..v.clone()
            })
            .collect();
        Server { shown_transport: transport.clone(), transport, env, ..self.clone() }
    }

    /// The secret values of the server, and the plugin's other secrets (a value may repeat one).
    pub fn secret_values(&self) -> impl Iterator<Item = &str> {
        let own = self.env.iter().filter(|v| v.secret).filter_map(|v| v.value.as_deref());
        own.chain(self.secrets.iter().map(String::as_str))
    }

    /// The scrubber for what an agent's program says back: every secret of the server in every
    /// encoding, values shorter than [`crate::plugin::secret::SHORTEST_SCRUBBED`] left out (there
    /// they would garble words; such a value is still never shown as a value).
    pub fn output_scrubber(&self) -> Scrubber {
        Scrubber::for_output(self.secret_values())
    }

    /// What starts or reaches the server, as the last words of an agent's `mcp add`: the URL of a
    /// remote server, or the command and its arguments.
    pub fn run_words(&self) -> Vec<String> {
        match &self.transport {
            Transport::Remote { url, .. } => vec![url.clone()],
            Transport::Stdio { command, args } => {
                std::iter::once(command.clone()).chain(args.iter().cloned()).collect()
            }
        }
    }

    /// A stdio server as the file agents write it: `{type?, command, args, env?}` (`env` only
    /// when there is a value).
    pub fn stdio_entry(&self, command: &str, args: &[String], kind: Option<&str>) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        if let Some(kind) = kind {
            m.insert("type".into(), serde_json::json!(kind));
        }
        m.insert("command".into(), serde_json::json!(command));
        m.insert("args".into(), serde_json::json!(args));
        let env = self.env_object();
        if !env.is_empty() {
            m.insert("env".into(), serde_json::Value::Object(env));
        }
        serde_json::Value::Object(m)
    }

    /// The names of the secret variables.
    pub fn secret_names(&self) -> BTreeSet<&str> {
        self.env.iter().filter(|v| v.secret).map(|v| v.name.as_str()).collect()
    }

    /// atk-cli's `atk mcp --json` entry: `{command, args?, env?, timeout?}` or
    /// `{type, url, env?, timeout?}`, with `<NOT_SET>` for a required variable without a value.
    pub fn upstream_entry(&self) -> Value {
        let mut m = Map::new();
        match &self.transport {
            Transport::Stdio { command, args } => {
                m.insert("command".into(), json!(command));
                if !args.is_empty() {
                    m.insert("args".into(), json!(args));
                }
            }
            Transport::Remote { kind, url } => {
                m.insert("type".into(), json!(kind));
                m.insert("url".into(), json!(url));
            }
        }
        if !self.env.is_empty() {
            let env: Map<String, Value> =
                self.env.iter().map(|v| (v.name.clone(), json!(v.value.as_deref().unwrap_or(NOT_SET)))).collect();
            m.insert("env".into(), Value::Object(env));
        }
        if let Some(t) = self.timeout.filter(|t| *t > 0) {
            m.insert("timeout".into(), json!(t));
        }
        Value::Object(m)
    }

    /// The resolved env as a JSON object (no `<NOT_SET>`).
    pub fn env_object(&self) -> Map<String, Value> {
        self.resolved_env().into_iter().map(|(k, v)| (k.to_string(), json!(v))).collect()
    }
}

/// `s` with `$NAME` and `${NAME}` replaced by the value of `NAME` in `vars`, matching whole names
/// only (`$FOO` does not touch `$FOO_BAR`); names not in `vars` stay as written.
pub fn substitute(s: &str, vars: &[(String, String)]) -> String {
    let lookup = |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let is_start = |c: char| c.is_ascii_alphabetic() || c == '_';
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(inner) = after.strip_prefix('{') {
            if let Some(end) = inner.find('}') {
                let name = &inner[..end];
                if name.starts_with(is_start) && name.chars().all(is_name) {
                    if let Some(v) = lookup(name) {
                        out.push_str(v);
                        rest = &inner[end + 1..];
                        continue;
                    }
                }
            }
        } else if after.starts_with(is_start) {
            let end = after.find(|c: char| !is_name(c)).unwrap_or(after.len());
            if let Some(v) = lookup(&after[..end]) {
                out.push_str(v);
                rest = &after[end..];
                continue;
            }
        }
        out.push('$');
        rest = after;
    }
    out.push_str(rest);
    out
}

/// JSON as Python's `json.dumps` writes it (`ensure_ascii`): `", "`/`": "` separators, or
/// `","`/`":"` when `compact`. Agents' argv carry it, and must be byte for byte what atk-cli passes.
pub fn python_json(v: &Value, compact: bool) -> String {
    let mut out = String::new();
    write_py(v, compact, &mut out);
    out
}

fn write_py(v: &Value, compact: bool, out: &mut String) {
    let (item, key) = if compact { (",", ":") } else { (", ", ": ") };
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => py_string(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(item);
                }
                write_py(x, compact, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(item);
                }
                py_string(k, out);
                out.push_str(key);
                write_py(x, compact, out);
            }
            out.push('}');
        }
    }
}

fn py_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn substitution_matches_whole_names_only() {
        let v = vars(&[("FOO", "1"), ("FOO_BAR", "2"), ("ATK_PLUGIN_DIR", "/p")]);
        assert_eq!(substitute("$FOO $FOO_BAR ${FOO}x $FOOx", &v), "1 2 1x $FOOx");
        assert_eq!(substitute("$ATK_PLUGIN_DIR/out ${ATK_PLUGIN_DIR}", &v), "/p/out /p");
        assert_eq!(substitute("$ $$ ${ ${NOPE} $NOPE $1 cost$", &v), "$ $$ ${ ${NOPE} $NOPE $1 cost$");
        // A value is not substituted into again.
        let v = vars(&[("A", "$B"), ("B", "x")]);
        assert_eq!(substitute("$A", &v), "$B");
    }

    #[test]
    fn python_json_is_byte_for_byte_json_dumps() {
        let v = json!({"command": "a\"b\\", "args": ["é", "✓", "𝄞", "\u{1}", "\u{7f}"], "n": 5, "e": {}});
        assert_eq!(
            python_json(&v, false),
            r#"{"command": "a\"b\\", "args": ["\u00e9", "\u2713", "\ud834\udd1e", "\u0001", "\u007f"], "n": 5, "e": {}}"#
        );
        assert_eq!(python_json(&json!({"a": [1, 2]}), true), r#"{"a":[1,2]}"#);
    }
}
