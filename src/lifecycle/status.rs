//! `atk status`: what each plugin of the home is doing. One broken plugin never stops the rest:
//! a missing folder is `not-installed`, an unreadable `plugin.yaml` is `invalid`. Every probe (the
//! status command, the ports, the health endpoint) is bounded by a timeout, and the plugins are
//! probed all at once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::health::{self, Health};
use super::{ports, At, Runner};
use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::home::Entry;
use crate::plugin::env::EnvFile;
use crate::plugin::{Maturity, Plugin};
use crate::process::Probe;

/// The default bound of each probe.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a plugin is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Its status command exited 0 (or, without one, its endpoint answered).
    Running,
    /// Its status command exited non-zero (or, without one, its endpoint did not answer).
    Stopped,
    /// Its status command did not end within the timeout (it was killed).
    Timeout,
    /// No status command; a stdio MCP server, started by the agent when needed.
    McpOnly,
    /// No status command and nothing else to ask.
    Unknown,
    /// In the manifest, but its files are not in the home (a fresh clone before `atk install`).
    NotInstalled,
    /// Its `plugin.yaml` (or `custom/overrides.yaml`) cannot be read or breaks the schema.
    Invalid,
    /// The status command could not be started at all.
    Error,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Running => "running",
            State::Stopped => "stopped",
            State::Timeout => "timeout",
            State::McpOnly => "mcp-only",
            State::Unknown => "unknown",
            State::NotInstalled => "not-installed",
            State::Invalid => "invalid",
            State::Error => "error",
        }
    }
}

/// A declared port; `listening` is checked only while the plugin runs (`None`: not checked).
#[derive(Debug, Clone, Serialize)]
pub struct PortState {
    pub port: u16,
    pub description: Option<String>,
    pub listening: Option<bool>,
}

/// The plugin's variables: which required ones have no value (not in `.env`, or empty there,
/// and not in the environment), and how many optional ones.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EnvSummary {
    pub total: usize,
    pub missing_required: Vec<String>,
    pub unset_optional: usize,
}

/// The health endpoint and its answer (`None` when it was not requested: the plugin is not
/// running).
#[derive(Debug, Clone, Serialize)]
pub struct HealthState {
    pub url: String,
    pub result: Option<Health>,
}

/// One plugin's row (as `atk status --json` shows it: `status` is `running`, `stopped`,
/// `timeout`, `mcp-only`, `unknown`, `not-installed`, `invalid` or `error`; `problem` and `hint`
/// say why when it is one of the last four).
#[derive(Debug, Clone, Serialize)]
pub struct PluginStatus {
    pub name: String,
    pub directory: String,
    /// The pinned commit (the manifest's `source.ref`).
    #[serde(rename = "ref")]
    pub commit: Option<String>,
    #[serde(rename = "status")]
    pub state: State,
    /// Why it is `invalid`, `not-installed` or `error`.
    pub problem: Option<String>,
    /// What to do about it.
    pub hint: Option<String>,
    pub maturity: Option<Maturity>,
    /// `verified` is the plugin's own word: it does not come from a registry, so no registry
    /// reviewed it (left out when false).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub maturity_self_declared: bool,
    pub ports: Vec<PortState>,
    pub env: EnvSummary,
    pub health: Option<HealthState>,
    /// The coding agents the plugin is recorded as plugged into (`atk plug`); left out when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<String>,
    /// What it runs from package and image registries, as locked; left out when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lock: Vec<crate::artifact::Pin>,
}

/// The plugin of `entry` in the home at `root`, read with its overrides: `NotInstalled` when its
/// folder has no `plugin.yaml` (a fresh clone), the plugin's own error when it is unreadable.
pub fn load_installed(root: &Path, entry: &Entry) -> Result<(PathBuf, Plugin)> {
    let dir = root.join(crate::home::plugin_rel(&entry.directory)?.as_str());
    if crate::plugin::definition_file(&dir).is_none() {
        return Err(Error::NotInstalled { directory: entry.directory.clone() });
    }
    let plugin = crate::plugin::load(&dir)?;
    Ok((dir, plugin))
}

/// Whether `maturity` is only the plugin's own claim: `verified` says a registry reviewed it,
/// which only a registry's plugin can show (as `add` warns).
pub fn self_declared(maturity: Maturity, kind: crate::home::SourceKind) -> bool {
    maturity == Maturity::Verified && kind != crate::home::SourceKind::Registry
}

/// The env summary of a plugin, with its `.env` read.
pub fn env_summary(dir: &Path, plugin: &Plugin, outer: &Environment) -> Result<EnvSummary> {
    let env = EnvFile::read(&dir.join(".env"), &|name| outer.var(name))?;
    let missing_required = super::missing_required(plugin, &env, outer);
    let has_value = |name: &str| env.get(name).is_some_and(|v| !v.is_empty()) || outer.is_set(name);
    Ok(EnvSummary {
        total: plugin.env_vars.len(),
        missing_required,
        unset_optional: plugin.env_vars.iter().filter(|v| !v.required && !has_value(&v.name)).count(),
    })
}

/// The first problem of an unreadable plugin, and a hint when it reads like a newer schema.
fn describe_invalid(e: &Error) -> (String, String) {
    let first = e.details().first().map_or_else(|| e.to_string(), |d| format!("{e}: {d}"));
    let newer = e.details().iter().any(|d| d.contains("unknown field") || d.contains("is not one of"));
    let hint = if newer {
        format!(
            "it may need a newer atk (this is {}); `atk validate plugins/<dir>` shows every problem",
            env!("CARGO_PKG_VERSION")
        )
    } else {
        "`atk validate plugins/<dir>` shows every problem".to_string()
    };
    (first, hint)
}

/// The status of one plugin of the home at `at`, read with [`load_installed`]. Never fails:
/// what goes wrong is the row. Only Ctrl-C ends it early (`Err(Interrupted)`).
pub fn probe_loaded(
    at: At,
    entry: &Entry,
    loaded: &Result<(PathBuf, Plugin)>,
    timeout: Duration,
) -> Result<PluginStatus> {
    crate::error::check_interrupt()?;
    let mut row = PluginStatus {
        name: entry.name.clone(),
        directory: entry.directory.clone(),
        commit: entry.source.commit.clone(),
        state: State::Unknown,
        problem: None,
        hint: None,
        ports: vec![],
        env: EnvSummary::default(),
        maturity: None,
        maturity_self_declared: false,
        health: None,
        agents: entry.agents.clone(),
        lock: entry.lock.clone(),
    };
    let (dir, plugin) = match loaded {
        Ok((dir, plugin)) => (dir, plugin),
        Err(e @ Error::NotInstalled { .. }) => {
            row.state = State::NotInstalled;
            row.problem = Some(e.to_string());
            row.hint = Some("`atk install --all` puts every plugin of the manifest in place".into());
            return Ok(row);
        }
        Err(e) => {
            row.state = State::Invalid;
            let (problem, hint) = describe_invalid(e);
            row.problem = Some(problem.replace("<dir>", &entry.directory));
            // The folder's whole path: `atk validate` reads a path from where it runs.
            let folder =
                crate::lifecycle::shell_quote(&at.root.join("plugins").join(&entry.directory).to_string_lossy());
            row.hint = Some(hint.replace("plugins/<dir>", &crate::text::escape(&folder)));
            return Ok(row);
        }
    };
    row.name = plugin.name.clone();
    row.maturity = Some(plugin.maturity);
    row.maturity_self_declared = self_declared(plugin.maturity, entry.source.kind);
    row.ports = plugin
        .ports
        .iter()
        .map(|p| PortState { port: p.port, description: p.description.clone(), listening: None })
        .collect();
    match env_summary(dir, plugin, at.outer) {
        Ok(env) => row.env = env,
        Err(e) => {
            row.state = State::Error;
            row.problem = Some(e.to_string());
            return Ok(row);
        }
    }
    let runner = Runner {
        home: at.root,
        plugin_dir: dir,
        directory: &entry.directory,
        plugin,
        stdout_to_stderr: false,
        outer: at.outer,
        locked: Default::default(),
    };
    let health_url = plugin.lifecycle.health_endpoint.clone();
    let remote_mcp =
        plugin.mcp.as_ref().filter(|m| m.transport == "sse" || m.transport == "http").and_then(|m| m.endpoint.clone());

    // Every probe at once, each bounded by `timeout`: the status command, the health endpoint and
    // the ports. The row takes at most `timeout` (and Ctrl-C ends it).
    let numbers: Vec<u16> = row.ports.iter().map(|p| p.port).collect();
    let connect = timeout.min(ports::CONNECT_TIMEOUT);
    // (On the bounded pool: when it has no thread to spare, one after the other.)
    let (health_answer, (listening, probe)) = crate::pool::join(
        || health_url.as_deref().map(|url| health::check(url, timeout)),
        || crate::pool::join(|| ports::listening_all(&numbers, connect), || runner.probe("status", timeout)),
    );
    crate::error::check_interrupt()?;
    // Without a status command, the health endpoint decides, and its answer is shown whatever it is.
    let decided_by_health = matches!(probe, Ok(None)) && health_answer.is_some();
    match probe {
        Err(Error::Interrupted) => return Err(Error::Interrupted),
        Err(e) => {
            row.state = State::Error;
            row.problem = Some(e.to_string());
        }
        Ok(Some(Probe::Exited(Some(0)))) => row.state = State::Running,
        Ok(Some(Probe::Exited(_))) => row.state = State::Stopped,
        Ok(Some(Probe::TimedOut)) => {
            row.state = State::Timeout;
            row.problem = Some(format!("the status command did not finish within {}s", timeout.as_secs_f32()));
            row.hint = Some("`atk status --timeout SECONDS` waits longer".into());
        }
        Ok(None) => {
            // No status command: as atk-cli 0.4.0, a remote MCP endpoint that answers means
            // running, a stdio MCP server is `mcp-only`, anything else `unknown`; and a health
            // endpoint, when there is one, decides like a remote endpoint.
            let answer = match (&health_answer, &remote_mcp) {
                (Some(a), _) => Some(a.clone()),
                (None, Some(url)) => Some(health::check(url, timeout)),
                (None, None) => None,
            };
            crate::error::check_interrupt()?;
            if let Some(answer) = answer {
                row.state = match &answer {
                    Health::Unchecked { .. } => State::Unknown,
                    a if a.answered() => State::Running,
                    Health::Timeout => State::Timeout,
                    _ => State::Stopped,
                };
            } else if plugin.mcp.is_some() {
                row.state = State::McpOnly;
            } else {
                row.state = State::Unknown;
            }
        }
    }
    if row.state == State::Running {
        for (p, l) in row.ports.iter_mut().zip(listening) {
            p.listening = Some(l);
        }
    }
    if let Some(url) = &health_url {
        // The answer is shown for a plugin that runs (for one that does not, it says nothing).
        let shown = (row.state == State::Running || decided_by_health).then_some(health_answer).flatten();
        row.health = Some(HealthState { url: url.clone(), result: shown });
    }
    Ok(row)
}

/// The status of each of `entries`, in their order, probed several at once (as many as the
/// bounded pool allows). What a row repeats from the user's `custom/overrides.yaml` (a health
/// endpoint with its token) or from an error may hold a secret of the plugin or of the
/// environment: it is taken out ([`PluginStatus::scrub`]).
pub fn probe_all(at: At, entries: &[&Entry], timeout: Duration) -> Result<Vec<PluginStatus>> {
    let rows = crate::pool::map(entries, crate::pool::WIDEST, |e| {
        let loaded = load_installed(at.root, e);
        let row = probe_loaded(at, e, &loaded, timeout)?;
        Ok(row.scrub(at, e, loaded.as_ref().ok().map(|(_, plugin)| plugin)))
    });
    rows.into_iter().collect()
}

impl PluginStatus {
    /// The row with the secrets of `entry` (its `.env`'s, and the environment's) taken out of
    /// its problem, hint and health endpoint. Most rows have none of these words: a plugin's
    /// secrets are read only for a row that has some.
    fn scrub(mut self, at: At, entry: &Entry, plugin: Option<&Plugin>) -> PluginStatus {
        if self.problem.is_none() && self.hint.is_none() && self.health.is_none() {
            return self;
        }
        let var = |name: &str| at.outer.var(name);
        let dir = at.root.join("plugins").join(&entry.directory);
        let scrubber = crate::plugin::scrubber_with(&dir, plugin, &var, at.outer.secrets());
        let scrub = |s: &mut String| *s = scrubber.scrub(s);
        self.problem.iter_mut().chain(self.hint.iter_mut()).for_each(scrub);
        if let Some(h) = &mut self.health {
            scrub(&mut h.url);
            if let Some(Health::Unreachable { reason } | Health::Unchecked { reason }) = &mut h.result {
                scrub(reason);
            }
        }
        self
    }
}

#[cfg(test)]
mod probe_tests {
    use super::*;

    fn probe(at: At, entry: &Entry, timeout: Duration) -> Result<PluginStatus> {
        probe_loaded(at, entry, &load_installed(at.root, entry), timeout)
    }
    use crate::home::Source;

    fn plugin(root: &Path, dir: &str, body: &str) -> Entry {
        let p = root.join("plugins").join(dir);
        std::fs::create_dir_all(&p).unwrap();
        let yaml = format!("schema_version: '2026-01-23'\nname: {dir}\ndescription: d\n{body}");
        std::fs::write(p.join("plugin.yaml"), yaml).unwrap();
        Entry::new(dir, dir, Source::default())
    }

    #[test]
    fn each_kind_of_plugin_gets_its_state() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = server.local_addr().unwrap().port();
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let entries = [
            plugin(
                root,
                "runs",
                &format!("ports:\n  - port: {port}\n  - port: {closed}\nlifecycle:\n  status: 'true'\n"),
            ),
            plugin(root, "stopped", &format!("ports:\n  - port: {port}\nlifecycle:\n  status: exit 1\n")),
            plugin(root, "slow", "lifecycle:\n  status: sleep 20\n"),
            plugin(root, "stdio", "mcp:\n  transport: stdio\n  command: x\n"),
            plugin(root, "remote", &format!("mcp:\n  transport: http\n  endpoint: http://127.0.0.1:{closed}/mcp\n")),
            plugin(root, "nothing", ""),
            plugin(root, "broken", "maturity: golden\n"),
            Entry::new("absent", "absent", Source::default()),
        ];
        let all: Vec<&Entry> = entries.iter().collect();
        let rows = probe_all(At { root, outer: &Environment::default() }, &all, Duration::from_millis(500)).unwrap();
        let states: Vec<State> = rows.iter().map(|r| r.state).collect();
        assert_eq!(
            states,
            [
                State::Running,
                State::Stopped,
                State::Timeout,
                State::McpOnly,
                State::Stopped,
                State::Unknown,
                State::Invalid,
                State::NotInstalled
            ]
        );
        assert_eq!(rows[0].ports.iter().map(|p| p.listening).collect::<Vec<_>>(), [Some(true), Some(false)]);
        assert_eq!(rows[1].ports[0].listening, None, "ports are checked only while the plugin runs");
        assert!(rows[6].problem.as_deref().unwrap().contains("golden"));
        assert!(rows[7].hint.as_deref().unwrap().contains("atk install --all"));
        drop(server);
    }

    #[test]
    fn the_env_summary_counts_what_has_no_value() {
        let t = tempfile::tempdir().unwrap();
        let e = plugin(
            t.path(),
            "vars",
            "env_vars:\n  - name: STATUS_T_REQ\n    required: true\n  - name: STATUS_T_EMPTY\n    required: true\n  - name: STATUS_T_OPT\n  - name: STATUS_T_SET\n",
        );
        std::fs::write(t.path().join("plugins/vars/.env"), "STATUS_T_EMPTY=\nSTATUS_T_SET=1\n").unwrap();
        let row = probe(At { root: t.path(), outer: &Environment::default() }, &e, Duration::from_secs(5)).unwrap();
        assert_eq!(row.env.total, 4);
        assert_eq!(row.env.missing_required, ["STATUS_T_REQ", "STATUS_T_EMPTY"]);
        assert_eq!(row.env.unset_optional, 1);
        // The environment atk was given is the value passed in, not the process's.
        let outer = Environment::from_vars([("STATUS_T_REQ".into(), "x".into()), ("STATUS_T_OPT".into(), "y".into())]);
        let row = probe(At { root: t.path(), outer: &outer }, &e, Duration::from_secs(5)).unwrap();
        assert_eq!(row.env.missing_required, ["STATUS_T_EMPTY"]);
        assert_eq!(row.env.unset_optional, 0);
    }
}
