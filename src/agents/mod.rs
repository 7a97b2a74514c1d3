//! Coding agents: a plugin's MCP server and its `SKILL.md`, registered with (plugged into) and
//! removed from (unplugged from) Claude Code, Codex, Gemini CLI, Auggie, OpenCode, Cursor, VS Code
//! and Windsurf. Each agent is one file behind the small [`Agent`] trait: it plans the changes
//! (programs to run, files to write, links to make) and this module previews, confirms and
//! applies them.
//!
//! CLI agents are driven exactly as atk-cli 0.4.0 drives them; file agents' JSON(C) files are
//! edited in place. Which agents a plugin is plugged into is recorded in its manifest entry
//! (`agents: [claude, cursor]`), so that `remove` unplugs them, `upgrade` re-plugs them and a new
//! laptop is rewired with `atk plug --all`.

mod auggie;
mod claude;
mod codex;
mod cursor;
mod gemini;
pub mod jsonc;
pub mod mcp;
mod opencode;
pub mod skill;
mod vscode;
mod windsurf;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use mcp::Server;

use crate::error::{Error, Result};
use crate::home::Entry;
use crate::plugin::secret::Scrubber;
use crate::reporter::Reporter;

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
            AgentId::Claude | AgentId::Codex | AgentId::Gemini | AgentId::Auggie => Some(self.as_str()),
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

/// The agents recorded for a plugin (`agents:` of its manifest entry), known ones only, in the
/// order of [`AgentId::ALL`]. For `status`'s agents column, and the hooks below.
pub fn recorded(entry: &Entry) -> Vec<AgentId> {
    AgentId::ALL.into_iter().filter(|a| entry.agents.iter().any(|s| s == a.as_str())).collect()
}

/// Names in `agents:` this atk does not know (written by a newer one): kept, never acted on.
pub fn unknown_recorded(entry: &Entry) -> Vec<&str> {
    entry.agents.iter().map(String::as_str).filter(|s| AgentId::parse(s).is_none()).collect()
}

/// Records `agent` in `entry` (keeping the list in [`AgentId::ALL`]'s order, unknown names
/// last); whether it was not there.
pub fn record(entry: &mut Entry, agent: AgentId) -> bool {
    if entry.agents.iter().any(|s| s == agent.as_str()) {
        return false;
    }
    let mut known = recorded(entry);
    known.push(agent);
    known.sort();
    let unknown: Vec<String> = unknown_recorded(entry).into_iter().map(String::from).collect();
    entry.agents = known.into_iter().map(|a| a.as_str().to_string()).chain(unknown).collect();
    true
}

/// Drops `agent` from `entry`'s record; whether it was there.
pub fn forget(entry: &mut Entry, agent: AgentId) -> bool {
    let before = entry.agents.len();
    entry.agents.retain(|s| s != agent.as_str());
    entry.agents.len() != before
}

/// Where agents keep their files, resolved once by the command from the environment.
#[derive(Debug, Clone, Default)]
pub struct AgentEnv {
    /// The user's home folder.
    pub home: PathBuf,
    /// `CLAUDE_CONFIG_DIR` (else `~/.claude`).
    pub claude_config_dir: Option<PathBuf>,
    /// `CODEX_HOME` (else `~/.codex`).
    pub codex_home: Option<PathBuf>,
    /// `XDG_CONFIG_HOME` (else `~/.config`).
    pub xdg_config_home: Option<PathBuf>,
    /// `PATH`, where agents' programs are looked for.
    pub path: Option<OsString>,
    /// VS Code keeps its profile under `~/Library/Application Support` on macOS.
    pub macos: bool,
    /// The values of this process's variables that are named like secrets (`GITHUB_TOKEN`, …):
    /// agents' programs inherit them, so what they say back is scrubbed of them too.
    pub secrets: Vec<String>,
}

impl AgentEnv {
    pub fn claude_dir(&self) -> PathBuf {
        self.claude_config_dir.clone().unwrap_or_else(|| self.home.join(".claude"))
    }
    pub fn codex_dir(&self) -> PathBuf {
        self.codex_home.clone().unwrap_or_else(|| self.home.join(".codex"))
    }
    pub fn config_dir(&self) -> PathBuf {
        self.xdg_config_home.clone().unwrap_or_else(|| self.home.join(".config"))
    }

    /// The executable `program` on `PATH`.
    pub fn which(&self, program: &str) -> Option<PathBuf> {
        use std::os::unix::fs::PermissionsExt;
        let path = self.path.as_ref()?;
        std::env::split_paths(path)
            .filter(|d| !d.as_os_str().is_empty())
            .map(|d| d.join(program))
            .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
    }
}

/// What is plugged: a plugin of the home, with its resolved server and skill.
#[derive(Debug, Clone)]
pub struct Target {
    /// The display name: the MCP server's name in every agent.
    pub name: String,
    /// The plugin's folder name under `plugins/`: skill links are named after it.
    pub directory: String,
    /// The plugin folder, absolute (links resolved when it exists).
    pub dir: PathBuf,
    pub server: Option<Server>,
    /// Whether the plugin ships a `SKILL.md`.
    pub has_skill: bool,
}

impl Target {
    /// The absolute `SKILL.md` path agents are given (links resolved, as atk-cli resolves it).
    pub fn skill_path(&self) -> PathBuf {
        let path = self.dir.join("SKILL.md");
        std::fs::canonicalize(&path).unwrap_or(path)
    }

    /// Refuses a `SKILL.md` that is a link leading out of the plugin folder: an agent would be
    /// given the file it leads to (`~/.ssh/id_rsa`, say), loaded into every session, as the
    /// plugin's skill. (Unplugging needs no such check: it removes what is there.)
    pub fn check_skill(&self) -> Result<()> {
        if !self.has_skill || self.skill_path().starts_with(&self.dir) {
            return Ok(());
        }
        Err(Error::Unreadable {
            path: self.dir.join("SKILL.md"),
            why: format!(
                "it is a symbolic link that leads out of the plugin folder (to {}); agents would be given that file",
                self.skill_path().display()
            ),
            hint: "replace the link with the file itself".into(),
            of_plugin: true,
        })
    }
}

/// One step of plugging or unplugging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Run an agent's program. `shown` is the argv with secrets masked; `fingerprint` what to
    /// remember once it succeeded (`None`: forget); `may_fail`: a failure means "was not there";
    /// `replaces`: when it fails, run this (the removal of a registration of the same name that
    /// atk did not make, or no longer remembers) and try once more.
    Run {
        argv: Vec<String>,
        shown: Vec<String>,
        fingerprint: Option<u64>,
        may_fail: bool,
        replaces: Option<Vec<String>>,
    },
    /// Replace a file's text (atomically; a new file is 0600).
    Write { path: PathBuf, text: String, preview: Vec<String> },
    /// Point a link at a target (replacing a link that is there).
    Link { link: PathBuf, target: PathBuf },
    /// Remove a link.
    Unlink { link: PathBuf },
}

/// What an agent would do.
#[derive(Debug, Default)]
pub struct Plan {
    pub changes: Vec<Change>,
    /// Said in the report (an agent without skills, say).
    pub notes: Vec<String>,
    /// Nothing can be done for this plugin with this agent, and why.
    pub unsupported: Option<String>,
}

/// What agents see of atk's own memory, per plugin and agent (`<agent>/<directory>`): the
/// fingerprint of the last registration atk made with each CLI agent (a CLI agent is asked again
/// only when what it would be given changed), and the name each agent was given the plugin's
/// server under (so that a plugin renamed by an upgrade has its old server removed). Kept in the
/// home's `.git/atk/` (this machine's, never committed).
#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Registered {
    #[serde(default)]
    fingerprints: BTreeMap<String, u64>,
    #[serde(default)]
    names: BTreeMap<String, String>,
}

impl Registered {
    pub const FILE: &'static str = "agents.json";

    /// What `path` records: nothing when there is no file or it is not a record (it is rewritten
    /// whole); an error when it cannot be read (a FIFO, a device: see `fs::read`).
    pub fn load(path: &Path) -> Result<Registered> {
        let bytes = crate::fs::read(path, crate::fs::Links::Refuse, crate::fs::Cap::State)?;
        Ok(bytes.and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default())
    }
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_vec_pretty(self).expect("serializes");
        crate::fs::write_atomic(path, &text, Some(0o600))
    }
    /// Loads what atk registered for `home`, lets `change` work on it, and saves it when it
    /// changed (also when `change` failed part-way: what was done stays remembered).
    pub fn update<T>(home: &crate::home::Home, change: impl FnOnce(&mut Registered) -> Result<T>) -> Result<T> {
        let path = registered_path(home);
        let mut registered = Registered::load(&path)?;
        let before = registered.clone();
        let result = change(&mut registered);
        if registered != before {
            registered.save(&path)?;
        }
        result
    }
    fn key(agent: AgentId, directory: &str) -> String {
        format!("{}/{directory}", agent.as_str())
    }
    pub fn get(&self, agent: AgentId, directory: &str) -> Option<u64> {
        self.fingerprints.get(&Self::key(agent, directory)).copied()
    }
    fn set(&mut self, agent: AgentId, directory: &str, fingerprint: Option<u64>) {
        match fingerprint {
            Some(f) => self.fingerprints.insert(Self::key(agent, directory), f),
            None => self.fingerprints.remove(&Self::key(agent, directory)),
        };
    }
    /// The name the agent was last given the plugin's server under, if atk remembers one.
    pub fn name(&self, agent: AgentId, directory: &str) -> Option<&str> {
        self.names.get(&Self::key(agent, directory)).map(String::as_str)
    }
    /// Whether another plugin than `directory` was given to `agent` under `name`.
    fn named_elsewhere(&self, agent: AgentId, directory: &str, name: &str) -> bool {
        let own = Self::key(agent, directory);
        let prefix = format!("{}/", agent.as_str());
        self.names.iter().any(|(k, n)| *k != own && k.starts_with(&prefix) && n == name)
    }
    fn set_name(&mut self, agent: AgentId, directory: &str, name: Option<&str>) {
        match name {
            Some(n) => self.names.insert(Self::key(agent, directory), n.to_string()),
            None => self.names.remove(&Self::key(agent, directory)),
        };
    }
}

/// FNV-1a of the argv: stable across runs and builds.
pub fn fingerprint(argv: &[String]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in argv.iter().flat_map(|a| a.bytes().chain([0])) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// What plans are made from: where the agent's files are, and what atk registered before.
pub struct Cx<'a> {
    pub env: &'a AgentEnv,
    pub registered: &'a Registered,
}

/// One agent, in one file: how to find it, and the changes that plug or unplug a plugin.
pub trait Agent: Sync {
    fn id(&self) -> AgentId;
    /// Whether the agent is on this machine (its program on `PATH`, or its configuration folder).
    fn installed(&self, env: &AgentEnv) -> bool;
    /// The changes that make the agent use `t`'s server and skill (none when it does already).
    fn plug(&self, t: &Target, cx: &Cx) -> Result<Plan>;
    /// The changes that make the agent forget `t` (none when it has nothing of it).
    fn unplug(&self, t: &Target, cx: &Cx) -> Result<Plan>;
    /// The server as it would be written in the agent's own configuration file.
    fn snippet(&self, server: &Server) -> String;
}

/// The outcome for one agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Configured,
    AlreadyConfigured,
    Removed,
    /// Unplug: the agent had nothing of the plugin.
    NotConfigured,
    /// Declined at the prompt, or nothing the agent can take.
    Skipped,
    NotInstalled,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Configured => "configured",
            Status::AlreadyConfigured => "already configured",
            Status::Removed => "removed",
            Status::NotConfigured => "not configured",
            Status::Skipped => "skipped",
            Status::NotInstalled => "not installed",
            Status::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub agent: AgentId,
    pub status: Status,
    /// Why (a failure's message, the agent's own words when it has some).
    pub detail: Option<String>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Plug,
    Unplug,
}

/// How to act on an agent.
pub struct Apply<'a> {
    pub env: &'a AgentEnv,
    pub reporter: &'a dyn Reporter,
    /// Ask before changing anything (false: `--yes`, `--force`, or a caller that asked already).
    pub ask: bool,
    /// The command to suggest when a confirmation cannot be asked.
    pub hint: &'a str,
}

/// Plans and applies `op` of `t` for `agent`: previews the changes (secrets masked), asks, runs.
/// Errors are a refused confirmation (no terminal) or Ctrl-C; everything else is an outcome.
pub fn apply(agent: AgentId, op: Op, t: &Target, registered: &mut Registered, how: &Apply) -> Result<Outcome> {
    // The plugin was given to this agent under another name (an upgrade renamed it): that server
    // and its skill lines are removed first, by the name they have.
    // A name another plugin now has with this agent is that plugin's server: it is left alone.
    if let Some(old) = registered.name(agent, &t.directory).filter(|n| *n != t.name).map(str::to_string) {
        if !registered.named_elsewhere(agent, &t.directory, &old) {
            let old_t = Target { name: old.clone(), ..t.clone() };
            let gone = apply_named(agent, Op::Unplug, &old_t, registered, how)?;
            if !matches!(gone.status, Status::Removed | Status::NotConfigured) {
                // Not removed (it failed, or was declined): the old name stays remembered, so that
                // the next plug or unplug tries again, and nothing new is added beside it.
                let why = gone.detail.clone().unwrap_or_else(|| gone.status.as_str().to_string());
                return Ok(Outcome {
                    status: if gone.status == Status::Skipped { Status::Skipped } else { Status::Failed },
                    detail: Some(format!(
                        "its server under its former name '{}' is still there: {why}",
                        crate::text::escape(&old)
                    )),
                    ..gone
                });
            }
        }
        registered.set_name(agent, &t.directory, None);
    }
    let outcome = apply_named(agent, op, t, registered, how)?;
    match (op, outcome.status) {
        (Op::Plug, Status::Configured | Status::AlreadyConfigured) => {
            registered.set_name(agent, &t.directory, Some(&t.name))
        }
        (Op::Unplug, Status::Removed | Status::NotConfigured) => registered.set_name(agent, &t.directory, None),
        _ => {}
    }
    Ok(outcome)
}

fn apply_named(agent: AgentId, op: Op, t: &Target, registered: &mut Registered, how: &Apply) -> Result<Outcome> {
    let a = agent.agent();
    let cx = Cx { env: how.env, registered };
    let planned = match op {
        Op::Plug => a.plug(t, &cx),
        Op::Unplug => a.unplug(t, &cx),
    };
    // What agents and their files say back may repeat the secrets they were given, in any
    // encoding: every detail and line is scrubbed before anyone sees it.
    let server_secrets = t.server.iter().flat_map(Server::secret_values);
    let scrubber = Scrubber::for_output(server_secrets.chain(how.env.secrets.iter().map(String::as_str)));
    let hide = |text: &str| scrubber.scrub(text);
    let outcome = |status, detail: Option<String>, notes: &[String]| Outcome {
        agent,
        status,
        detail: detail.map(|d| hide(&d)),
        notes: notes.iter().map(|n| hide(n)).collect(),
    };
    let masking = Masking { inner: how.reporter, hide: &hide };
    let how = &Apply { env: how.env, reporter: &masking, ask: how.ask, hint: how.hint };
    let mut plan = match planned {
        Ok(p) => p,
        Err(e @ Error::Interrupted) => return Err(e),
        Err(e) => return Ok(outcome(Status::Failed, Some(e.to_string()), &[])),
    };
    if let Some(why) = plan.unsupported.take() {
        return Ok(outcome(Status::Skipped, Some(why), &plan.notes));
    }
    // A program that is not here: plugging cannot start; unplugging does the rest.
    let mut missing = agent
        .program()
        .filter(|p| op == Op::Plug && t.server.is_some() && how.env.which(p).is_none())
        .map(String::from);
    plan.changes.retain(|c| match c {
        Change::Run { argv, .. } if how.env.which(&argv[0]).is_none() => {
            missing = Some(argv[0].clone());
            false
        }
        _ => true,
    });
    // Unplugging without the agent's program: the rest (a skill) is still removed, but the
    // registration the program holds stays, so the outcome is "not installed" (the record keeps
    // the agent, for a later unplug on a machine that has it).
    let unreachable = missing.as_ref().map(|program| format!("'{program}' is not on PATH"));
    if let Some(why) = &unreachable {
        if op == Op::Plug || plan.changes.is_empty() {
            return Ok(outcome(Status::NotInstalled, Some(why.clone()), &plan.notes));
        }
        plan.notes.push(format!("{why}: its MCP registration, if it has one, stays"));
    }
    if plan.changes.is_empty() {
        let status = if op == Op::Plug { Status::AlreadyConfigured } else { Status::NotConfigured };
        return Ok(outcome(status, None, &plan.notes));
    }
    how.reporter.note(&format!("[{}] will:", agent.label()));
    for c in &plan.changes {
        for line in preview(c) {
            how.reporter.note(&format!("  {line}"));
        }
    }
    if how.ask {
        let (verb, prep) = if op == Op::Plug { ("Plug", "into") } else { ("Unplug", "from") };
        let question = format!("{verb} '{}' {prep} {}?", crate::text::escape(&t.name), agent.label());
        if !how.reporter.confirm(&question, how.hint)? {
            return Ok(outcome(Status::Skipped, Some("declined".into()), &plan.notes));
        }
        // The agent's files may have changed while the question waited (the user edited one, an
        // agent wrote its own): the same change is planned again from what is there now, so that
        // nothing written meanwhile is lost.
        let cx = Cx { env: how.env, registered };
        let again = match op {
            Op::Plug => a.plug(t, &cx),
            Op::Unplug => a.unplug(t, &cx),
        };
        match again {
            Ok(mut again) => {
                again.changes.retain(|c| !matches!(c, Change::Run { argv, .. } if how.env.which(&argv[0]).is_none()));
                plan.changes = again.changes;
            }
            Err(e @ Error::Interrupted) => return Err(e),
            Err(e) => return Ok(outcome(Status::Failed, Some(e.to_string()), &plan.notes)),
        }
    }
    let mut done = 0;
    let mut tolerated = Vec::new();
    for c in &plan.changes {
        crate::interrupt::check()?;
        match run_change(c, how) {
            Ok(()) => done += 1,
            Err(Failure::NotInstalled(why)) => return Ok(outcome(Status::NotInstalled, Some(why), &plan.notes)),
            Err(Failure::Failed(why)) if matches!(c, Change::Run { may_fail: true, .. }) => {
                how.reporter.detail(&format!("[{}] {why}", agent.label()));
                tolerated.push(why);
            }
            Err(Failure::Failed(why)) => return Ok(outcome(Status::Failed, Some(why), &plan.notes)),
            Err(Failure::Interrupted) => return Err(Error::Interrupted),
        }
        // A tolerated failure of a removal still means: not registered (by atk) any more.
        if let Change::Run { fingerprint, .. } = c {
            registered.set(agent, &t.directory, *fingerprint);
        }
    }
    if let Some(why) = unreachable {
        return Ok(outcome(Status::NotInstalled, Some(why), &plan.notes));
    }
    let status = match op {
        Op::Plug => Status::Configured,
        Op::Unplug if done == 0 => Status::NotConfigured,
        Op::Unplug => Status::Removed,
    };
    let detail = (status == Status::NotConfigured).then(|| tolerated.join("; ")).filter(|d| !d.is_empty());
    Ok(outcome(status, detail, &plan.notes))
}

/// A reporter that masks secrets in every line before passing it on.
struct Masking<'a> {
    inner: &'a dyn Reporter,
    hide: &'a (dyn Fn(&str) -> String + Sync),
}

impl Reporter for Masking<'_> {
    fn note(&self, line: &str) {
        self.inner.note(&(self.hide)(line))
    }
    fn warn(&self, line: &str) {
        self.inner.warn(&(self.hide)(line))
    }
    fn detail(&self, line: &str) {
        self.inner.detail(&(self.hide)(line))
    }
    fn confirm(&self, question: &str, hint: &str) -> Result<bool> {
        self.inner.confirm(&(self.hide)(question), hint)
    }
}

/// The lines that show a change before it is made (secrets already masked by the planner).
pub fn preview(c: &Change) -> Vec<String> {
    match c {
        Change::Run { shown, .. } => vec![format!("run: {}", shell_words(shown))],
        Change::Write { path, preview, .. } => {
            let mut v = vec![format!("edit {}:", path.display())];
            v.extend(preview.iter().map(|l| format!("  {l}")));
            v
        }
        Change::Link { link, target } => vec![format!("link {} -> {}", link.display(), target.display())],
        Change::Unlink { link } => vec![format!("remove the link {}", link.display())],
    }
}

/// argv as a person would type it: words with spaces or quotes in single quotes.
pub fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| crate::text::escape(&crate::lifecycle::shell_quote(a)).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

enum Failure {
    NotInstalled(String),
    Failed(String),
    Interrupted,
}

fn run_change(c: &Change, how: &Apply) -> std::result::Result<(), Failure> {
    match c {
        Change::Run { argv, replaces, .. } => match (run_program(argv, how), replaces) {
            (Err(Failure::Failed(why)), Some(remove)) => {
                how.reporter.detail(&format!("{why}; removing the registration of the same name and trying again"));
                let _ = run_program(remove, how);
                run_program(argv, how)
            }
            (result, _) => result,
        },
        Change::Write { path, text, .. } => write_user_file(path, text).map_err(|e| Failure::Failed(e.to_string())),
        Change::Link { link, target } => {
            skill::make_link(link, target).map_err(|e| Failure::Failed(format!("cannot link {}: {e}", link.display())))
        }
        Change::Unlink { link } => match std::fs::remove_file(link) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Failure::Failed(format!("cannot remove {}: {e}", link.display()))),
        },
    }
}

/// The longest an agent's program may take (one that waits for a login, say, is given up on).
const PROGRAM_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// Runs an agent's program, its output shown with `-v`; a failure carries the agent's last words.
fn run_program(argv: &[String], how: &Apply) -> std::result::Result<(), Failure> {
    let program =
        how.env.which(&argv[0]).ok_or_else(|| Failure::NotInstalled(format!("'{}' is not on PATH", argv[0])))?;
    let mut cmd = std::process::Command::new(program);
    cmd.args(&argv[1..]);
    if let Some(path) = &how.env.path {
        cmd.env("PATH", path);
    }
    use crate::process::{Bounds, End};
    let out = match crate::process::output(&mut cmd, Bounds::time(PROGRAM_TIMEOUT), &format!("cannot run {}", argv[0]))
    {
        Ok(out) => out,
        Err(Error::Interrupted) => return Err(Failure::Interrupted),
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Err(Failure::NotInstalled(format!("'{}' is not on PATH", argv[0])))
        }
        Err(e) => return Err(Failure::Failed(e.to_string())),
    };
    let status = match out.end {
        End::Exited(status) => status,
        End::TimedOut | End::Stalled => {
            return Err(Failure::Failed(format!(
                "{} did not finish within {}s and was stopped",
                argv[0],
                PROGRAM_TIMEOUT.as_secs()
            )))
        }
    };
    for line in String::from_utf8_lossy(&out.stdout).lines().chain(String::from_utf8_lossy(&out.stderr).lines()) {
        how.reporter.detail(&format!("  {}: {}", argv[0], crate::text::escape(line)));
    }
    if status.success() {
        return Ok(());
    }
    use std::os::unix::process::ExitStatusExt;
    if status.signal() == Some(2) || crate::interrupt::is_set() {
        return Err(Failure::Interrupted);
    }
    let said = |b: &[u8]| String::from_utf8_lossy(b).trim().lines().last().unwrap_or_default().to_string();
    let message = Some(said(&out.stderr)).filter(|m| !m.is_empty()).unwrap_or_else(|| said(&out.stdout));
    let status = match status.code() {
        Some(code) => format!("exit code {code}"),
        None => "killed by a signal".into(),
    };
    Err(Failure::Failed(if message.is_empty() {
        format!("{} {}: {status}", argv[0], argv.get(1).map(String::as_str).unwrap_or_default())
    } else {
        format!("{} ({status}): {}", crate::text::escape(&message), argv[0])
    }))
}

/// Where a file of an agent is read and written: the path itself, or, when it is a symbolic link
/// (dotfiles managers link them), the file it leads to, so that the link stays. A link that leads
/// nowhere, or a path that is not a file, is refused.
pub fn file_behind(path: &Path) -> Result<PathBuf> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(path.to_path_buf()),
        Err(e) => Err(Error::io(format!("cannot read {}", path.display()), e)),
        Ok(m) if m.file_type().is_symlink() => match std::fs::canonicalize(path) {
            Ok(target) if target.is_file() => Ok(target),
            _ => Err(Error::refused(
                format!(
                    "{} is a link to something that is not a file ({}); atk leaves it alone",
                    path.display(),
                    crate::fs::read::describe(path, crate::fs::Links::Follow).unwrap_or("nothing")
                ),
                vec![format!("fix or remove the link, then run the command again")],
            )),
        },
        Ok(m) if m.is_file() => Ok(path.to_path_buf()),
        Ok(_) => Err(Error::refused(
            format!(
                "{} is {}, not a file; atk leaves it alone",
                path.display(),
                crate::fs::read::describe(path, crate::fs::Links::Refuse).unwrap_or("not a file")
            ),
            vec!["remove it or replace it with a regular file".into()],
        )),
    }
}

/// An agent's text file (`None` when there is none), through the link a dotfiles tool may have
/// made there, read as `fs::read` says (a regular file, capped, never blocking).
pub fn read_user_file(path: &Path) -> Result<Option<String>> {
    let real = file_behind(path)?;
    match crate::fs::read(&real, crate::fs::Links::Follow, crate::fs::Cap::AgentConfig)? {
        Some(b) => String::from_utf8(b)
            .map(Some)
            .map_err(|_| Error::refused(format!("{} is not UTF-8 text", path.display()), vec![])),
        None => Ok(None),
    }
}

/// Writes an agent's file atomically (a temporary file beside it, renamed over it), keeping its
/// mode; a new file is 0600, since these files hold secrets. Through a link, the target is written.
pub fn write_user_file(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let real = file_behind(path)?;
    if let Some(dir) = real.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    }
    let mode = std::fs::metadata(&real).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0o600);
    crate::fs::write_atomic(&real, text.as_bytes(), Some(mode))
}

/// A managed-section line to add (`want`) or remove in the Markdown file `path`.
pub fn managed_line(path: &Path, line: &str, want: bool) -> Result<Option<Change>> {
    let text = read_user_file(path)?;
    let new = match (&text, want) {
        (_, true) => skill::add_line(text.as_deref().unwrap_or_default(), line),
        (Some(t), false) => skill::remove_line(t, line),
        (None, false) => None,
    };
    let verb = if want { "add" } else { "remove" };
    Ok(new.map(|text| Change::Write {
        path: path.to_path_buf(),
        text,
        preview: vec![format!("{verb} the line: {}", crate::text::escape(line))],
    }))
}

/// A skill link to make (`want`) or remove. A file or folder that is not a link is never touched.
pub fn skill_link(link: &Path, target: &Path, want: bool) -> Result<Option<Change>> {
    use skill::LinkState::*;
    let state = skill::link_state(link, target);
    match (state, want) {
        (Blocked, true) => Err(Error::refused(
            format!("{} exists and is not a link atk made; atk leaves it alone", link.display()),
            vec![format!("move it away, then plug again")],
        )),
        (Missing | Other, true) => Ok(Some(Change::Link { link: link.to_path_buf(), target: target.to_path_buf() })),
        (Right, true) | (Missing | Blocked, false) => Ok(None),
        (Right | Other, false) => Ok(Some(Change::Unlink { link: link.to_path_buf() })),
    }
}

/// The registration changes of a CLI agent: `add` (made from the server) when what it would be
/// given differs from what atk gave it last (a registration made before is removed first);
/// `remove` when the plugin has no server any more.
pub fn cli_plug(
    agent: AgentId,
    t: &Target,
    cx: &Cx,
    add: impl Fn(&Server) -> Vec<String>,
    remove: Vec<String>,
) -> Vec<Change> {
    let before = cx.registered.get(agent, &t.directory);
    let mut changes = Vec::new();
    match &t.server {
        Some(s) => {
            let argv = add(s);
            let fp = fingerprint(&argv);
            if before != Some(fp) {
                if before.is_some() {
                    changes.push(Change::Run {
                        shown: remove.clone(),
                        argv: remove.clone(),
                        fingerprint: None,
                        may_fail: true,
                        replaces: None,
                    });
                }
                changes.push(Change::Run {
                    shown: add(&s.masked()),
                    argv,
                    fingerprint: Some(fp),
                    may_fail: false,
                    replaces: before.is_none().then_some(remove),
                });
            }
        }
        None if before.is_some() => changes.push(Change::Run {
            shown: remove.clone(),
            argv: remove,
            fingerprint: None,
            may_fail: true,
            replaces: None,
        }),
        None => {}
    }
    changes
}

/// The removal of a CLI agent's registration: when atk made one, or the plugin has a server
/// (someone else may have registered it); a failure counts as "not there" unless atk made it.
pub fn cli_unplug(agent: AgentId, t: &Target, cx: &Cx, remove: Vec<String>) -> Vec<Change> {
    let before = cx.registered.get(agent, &t.directory);
    if before.is_none() && t.server.is_none() {
        return vec![];
    }
    vec![Change::Run {
        shown: remove.clone(),
        argv: remove,
        fingerprint: None,
        may_fail: before.is_none(),
        replaces: None,
    }]
}

/// The edit of a JSON(C) file agent: `section.<name>` set to `entry` (or removed with `None`),
/// and for OpenCode the skill path added to or removed from `instructions`.
pub fn json_edit(
    path: &Path,
    section: &str,
    name: &str,
    entry: Option<(&serde_json::Value, &serde_json::Value)>,
    instruction: Option<(&str, bool)>,
) -> Result<Option<Change>> {
    let text = read_user_file(path)?.unwrap_or_default();
    let bad = |why: String| {
        Error::refused(
            format!("cannot edit {}: {why}", path.display()),
            vec!["fix the file (or add the entry by hand: `atk mcp <plugin> --for <agent>` prints it)".into()],
        )
    };
    let mut doc = jsonc::Doc::parse(&text).map_err(bad)?;
    let mut preview = Vec::new();
    let mut changed = false;
    match entry {
        Some((value, shown)) => {
            if doc.set_member(section, name, value).map_err(bad)? {
                changed = true;
                preview.push(format!("set {section}.\"{}\" to:", crate::text::escape(name)));
                let pretty = serde_json::to_string_pretty(shown).expect("serializes");
                preview.extend(pretty.lines().map(|l| format!("  {l}")));
            }
        }
        None => {
            if doc.remove_member(section, name).map_err(bad)? {
                changed = true;
                preview.push(format!("remove {section}.\"{}\"", crate::text::escape(name)));
            }
        }
    }
    if let Some((item, want)) = instruction {
        let did =
            if want { doc.add_to_array("instructions", item) } else { doc.remove_from_array("instructions", item) };
        if did.map_err(bad)? {
            changed = true;
            let verb = if want { "add to" } else { "remove from" };
            preview.push(format!("{verb} instructions: {item}"));
        }
    }
    Ok(changed.then(|| Change::Write { path: path.to_path_buf(), text: doc.text(), preview }))
}

/// The note of an agent without a skill mechanism, for a plugin that has a skill.
pub fn no_skills_note(agent: AgentId, t: &Target) -> Option<String> {
    t.has_skill.then(|| format!("{} has no skills: MCP server only", agent.label()))
}

/// `{<wrapper>: {<name>: entry}}` pretty-printed, a file agent's snippet.
pub fn wrapped(wrapper: &str, name: &str, entry: serde_json::Value) -> String {
    let mut inner = serde_json::Map::new();
    inner.insert(name.to_string(), entry);
    let mut outer = serde_json::Map::new();
    outer.insert(wrapper.to_string(), serde_json::Value::Object(inner));
    serde_json::to_string_pretty(&serde_json::Value::Object(outer)).expect("serializes")
}

/// Plugging into a file agent without skills: `section.<name>` set to the server's entry.
pub fn file_plug(
    agent: AgentId,
    t: &Target,
    path: &Path,
    section: &str,
    entry: impl Fn(&Server) -> serde_json::Value,
) -> Result<Plan> {
    let Some(server) = &t.server else {
        return Ok(Plan {
            unsupported: Some(format!("the plugin has no MCP server, and {} has no skills", agent.label())),
            ..Plan::default()
        });
    };
    let (value, shown) = (entry(server), entry(&server.masked()));
    let change = json_edit(path, section, &t.name, Some((&value, &shown)), None)?;
    Ok(Plan {
        changes: change.into_iter().collect(),
        notes: no_skills_note(agent, t).into_iter().collect(),
        ..Plan::default()
    })
}

/// Unplugging from a file agent without skills: `section.<name>` removed.
pub fn file_unplug(t: &Target, path: &Path, section: &str) -> Result<Plan> {
    let change = json_edit(path, section, &t.name, None, None)?;
    Ok(Plan { changes: change.into_iter().collect(), ..Plan::default() })
}

/// The plugin of `entry` as agents are given it. Fails when its files are not in the home (a
/// fresh clone before `atk install`) or its `plugin.yaml` is broken.
pub fn target(home: &crate::home::Home, entry: &Entry, outer: crate::plugin::env::Outer) -> Result<Target> {
    let dir = home.plugin_dir(&entry.directory);
    if crate::plugin::definition_file(&dir).is_none() {
        return Err(Error::refused(
            format!("the files of '{}' are not in the home", entry.name),
            vec![format!("fetch them with `atk install {}`", entry.directory)],
        ));
    }
    let plugin = crate::plugin::load(&dir)?;
    if let Some(why) = name_problem(&plugin.name) {
        return Err(Error::refused(
            format!("'{}' cannot be given to coding agents: its name {why}", crate::text::escape(&plugin.name)),
            vec![format!(
                "the name is the server's name in every agent, and a line of their instructions; rename it in plugins/{}/custom/overrides.yaml (name: ...)",
                entry.directory
            )],
        ));
    }
    let server = Server::resolve(&plugin, &dir, outer)?;
    let has_skill = dir.join("SKILL.md").is_file();
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    Ok(Target { name: plugin.name, directory: entry.directory.clone(), dir, server, has_skill })
}

/// Why a plugin's name cannot be the name of an MCP server and go into an agent's instructions:
/// a line break or another control character (it would put lines of its own outside atk's
/// managed section), the comment marks of that section, or a leading `-` (an agent's program
/// would take it for an option).
pub fn name_problem(name: &str) -> Option<&'static str> {
    if name.trim().is_empty() {
        Some("is empty")
    } else if name.chars().any(char::is_control) {
        Some("has a line break or another control character")
    } else if name.contains("<!--") || name.contains("-->") {
        Some("has `<!--` or `-->`, the marks of atk's section in an agent's instructions")
    } else if name.starts_with('-') {
        Some("starts with '-', which an agent's program would read as an option")
    } else {
        None
    }
}

/// What unplugging needs when the plugin cannot be read: its name and where its folder is (or
/// was), so that its skill lines and links, and what atk registered, can still be removed.
pub fn bare_target(home: &crate::home::Home, entry: &Entry) -> Target {
    let plugins = std::fs::canonicalize(home.root.join("plugins")).unwrap_or_else(|_| home.root.join("plugins"));
    let dir = plugins.join(&entry.directory);
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    Target { name: entry.name.clone(), directory: entry.directory.clone(), dir, server: None, has_skill: false }
}

/// Where [`Registered`] is kept for `home`.
pub fn registered_path(home: &crate::home::Home) -> PathBuf {
    home.state_dir().join(Registered::FILE)
}

/// The hook of `remove` and `uninstall`: unplugs `entry` from every agent recorded for it, without
/// asking (the caller's confirmation covers it; [`describe_recorded`] says what it will do).
/// Failures are outcomes, for the caller to warn about; only Ctrl-C is an error.
pub fn unplug_recorded(
    home: &crate::home::Home,
    entry: &Entry,
    env: &AgentEnv,
    outer: crate::plugin::env::Outer,
    reporter: &dyn Reporter,
) -> Result<Vec<Outcome>> {
    let agents = recorded(entry);
    if agents.is_empty() {
        return Ok(vec![]);
    }
    let t = target(home, entry, outer).unwrap_or_else(|_| bare_target(home, entry));
    let how = Apply { env, reporter, ask: false, hint: "" };
    Registered::update(home, |registered| {
        agents.into_iter().map(|agent| apply(agent, Op::Unplug, &t, registered, &how)).collect()
    })
}

/// The hook of `upgrade`, after the new version is in place: re-plugs `entry` into every agent
/// recorded for it where what the agent would be given (the MCP server, the skill) changed;
/// agents that have it already are left alone, agents not on this machine are reported.
pub fn replug_recorded(
    home: &crate::home::Home,
    entry: &Entry,
    env: &AgentEnv,
    outer: crate::plugin::env::Outer,
    reporter: &dyn Reporter,
) -> Result<Vec<Outcome>> {
    let agents = recorded(entry);
    if agents.is_empty() {
        return Ok(vec![]);
    }
    let t = match target(home, entry, outer) {
        Ok(t) => t,
        Err(e) => {
            return Ok(agents
                .into_iter()
                .map(|agent| Outcome { agent, status: Status::Failed, detail: Some(e.to_string()), notes: vec![] })
                .collect())
        }
    };
    let how = Apply { env, reporter, ask: false, hint: "" };
    Registered::update(home, |registered| {
        agents
            .into_iter()
            .map(|agent| match agent.agent().installed(env) {
                true => apply(agent, Op::Plug, &t, registered, &how),
                false => Ok(Outcome { agent, status: Status::NotInstalled, detail: None, notes: vec![] }),
            })
            .collect()
    })
}

/// Where a recorded agent of a plugin stands on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wiring {
    /// The agent has what `atk plug` would give it.
    Configured,
    /// `atk plug` would change something (a fresh clone, a server removed by hand, new values).
    NotConfigured,
    /// The agent is not on this machine.
    Absent,
    /// The plugin cannot be read, or the agent's files cannot be.
    Unknown(String),
}

/// How each agent recorded for `entry` stands, judged by what plugging it would change (nothing
/// is changed here).
pub fn wiring(
    home: &crate::home::Home,
    entry: &Entry,
    env: &AgentEnv,
    outer: crate::plugin::env::Outer,
) -> Vec<(AgentId, Wiring)> {
    let agents = recorded(entry);
    if agents.is_empty() {
        return vec![];
    }
    let registered = match Registered::load(&registered_path(home)) {
        Ok(r) => r,
        Err(e) => return agents.into_iter().map(|a| (a, Wiring::Unknown(e.to_string()))).collect(),
    };
    let t = match target(home, entry, outer) {
        Ok(t) => t,
        Err(e) => return agents.into_iter().map(|a| (a, Wiring::Unknown(e.to_string()))).collect(),
    };
    let cx = Cx { env, registered: &registered };
    agents
        .into_iter()
        .map(|agent| {
            let a = agent.agent();
            let state = if !a.installed(env) {
                Wiring::Absent
            } else {
                match a.plug(&t, &cx) {
                    Ok(plan) if plan.unsupported.is_some() || plan.changes.is_empty() => Wiring::Configured,
                    Ok(_) => Wiring::NotConfigured,
                    Err(e) => Wiring::Unknown(e.to_string()),
                }
            };
            (agent, state)
        })
        .collect()
}

/// "Claude Code and Cursor", for the line a confirmation shows before [`unplug_recorded`].
pub fn describe_recorded(entry: &Entry) -> Option<String> {
    let labels: Vec<&str> = recorded(entry).into_iter().map(AgentId::label).collect();
    (!labels.is_empty()).then(|| join_labels(&labels))
}

/// `a`, `a and b`, `a, b and c`.
pub fn join_labels(labels: &[&str]) -> String {
    match labels {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests;
