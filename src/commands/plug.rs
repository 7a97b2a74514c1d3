use std::path::PathBuf;

use super::Ctx;
use crate::agents::{self, AgentEnv, AgentId, AgentOutcome, AgentStatus, Apply, Op, Registered, Target};
use crate::error::{Error, Result};
use crate::home::{manifest, Home, HomeLock, Manifest, Transaction};

/// Register a plugin's MCP server and skill with coding agents, and record them in the manifest
/// (`atk plug --all` re-applies every plugin's record, on a new laptop say).
#[derive(clap::Args)]
pub struct Args {
    /// The plugin (directory or name, as in `atk list`)
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub plugin: Option<String>,
    /// Every plugin of the manifest, into the agents recorded for it
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub agents: AgentFlags,
    /// Don't ask before changing an agent's configuration (as --yes)
    #[arg(short = 'f', long)]
    pub force: bool,
}

/// The agents to act on.
#[derive(clap::Args, Default)]
#[command(next_help_heading = "Agents")]
pub struct AgentFlags {
    /// Claude Code (`claude mcp`, CLAUDE.md)
    #[arg(long)]
    pub claude: bool,
    /// Codex (`codex mcp`, AGENTS.md)
    #[arg(long)]
    pub codex: bool,
    /// Gemini CLI (`gemini mcp`, ~/.gemini/skills)
    #[arg(long)]
    pub gemini: bool,
    /// Auggie, Augment Code's CLI (`auggie mcp`, ~/.augment/rules)
    #[arg(long)]
    pub auggie: bool,
    /// OpenCode (opencode.jsonc: mcp and instructions)
    #[arg(long)]
    pub opencode: bool,
    /// Cursor (~/.cursor/mcp.json)
    #[arg(long)]
    pub cursor: bool,
    /// VS Code (the user profile's mcp.json)
    #[arg(long)]
    pub vscode: bool,
    /// Windsurf (~/.codeium/windsurf/mcp_config.json)
    #[arg(long)]
    pub windsurf: bool,
    /// Every supported agent found on this machine (unplug: and every agent recorded)
    #[arg(long)]
    pub all_agents: bool,
}

impl AgentFlags {
    /// The agents named by flags, in the fixed order.
    pub fn named(&self) -> Vec<AgentId> {
        let on =
            [self.claude, self.codex, self.gemini, self.auggie, self.opencode, self.cursor, self.vscode, self.windsurf];
        AgentId::ALL.into_iter().zip(on).filter(|(_, on)| *on).map(|(a, _)| a).collect()
    }

    pub fn any(&self) -> bool {
        self.all_agents || !self.named().is_empty()
    }
}

/// Where the agents keep their files, from this process's environment (read here, once).
pub fn agent_env() -> AgentEnv {
    let dir = |k: &str| std::env::var_os(k).map(PathBuf::from).filter(|p| p.is_absolute());
    AgentEnv {
        home: crate::fs::home_dir(),
        claude_config_dir: dir("CLAUDE_CONFIG_DIR"),
        codex_home: dir("CODEX_HOME"),
        xdg_config_home: dir("XDG_CONFIG_HOME"),
        path: std::env::var_os("PATH"),
        macos: cfg!(target_os = "macos"),
        secrets: super::environment_secrets(),
    }
}

/// `${VAR}` inside `.env` values falls back to this process's environment (as python-dotenv).
pub fn outer(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

pub fn no_agents_error(verb: &str) -> Error {
    Error::usage(
        format!("no agent named: say which agents to {verb}"),
        Some(format!(
            "pass one or more of --claude, --codex, --gemini, --auggie, --opencode, --cursor, --vscode, --windsurf, or --all-agents (`atk {verb} <plugin> --claude`)"
        )),
    )
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let env = agent_env();
    let ask = !(args.force || ctx.ui.yes);
    if args.all {
        if args.agents.any() {
            return Err(Error::usage(
                "--all re-applies the agents recorded for each plugin; it takes no agent flags",
                Some("to plug one plugin into more agents: `atk plug <plugin> --claude`".into()),
            ));
        }
        return plug_all(ctx, &env, ask);
    }
    let id = args.plugin.as_deref().expect("clap requires PLUGIN without --all");
    if !args.agents.any() {
        return Err(no_agents_error("plug"));
    }
    let (home, lock) = ctx.lock_home()?;
    let mut manifest = home.manifest()?;
    let index = super::index_of(&manifest, id)?;
    let t = agents::target(&home, &manifest.plugins[index], &outer)?;
    t.check_skill()?;
    if t.server.is_none() && !t.has_skill {
        return Err(Error::nothing_to_do(
            format!("nothing to plug: '{}' has no MCP server and no SKILL.md", t.name),
            vec![],
        ));
    }
    let chosen = if args.agents.all_agents {
        let found: Vec<AgentId> = AgentId::ALL.into_iter().filter(|a| a.agent().installed(&env)).collect();
        if found.is_empty() {
            return Err(Error::nothing_to_do(
                "no supported agent was found on this machine",
                vec!["name one to plug into anyway: `atk plug <plugin> --cursor` creates its configuration file".into()],
            ));
        }
        ctx.ui.note(format!(
            "Agents found: {}",
            agents::join_labels(&found.iter().map(|a| a.label()).collect::<Vec<_>>())
        ));
        found
    } else {
        args.agents.named()
    };
    warn_missing(ctx, &t, &manifest.plugins[index].directory);
    let hint = format!("pass --yes (or --force) to plug without asking: `atk plug {} --yes ...`", t.directory);
    let (outcomes, error) = apply_all(ctx, &home, &t, &chosen, Op::Plug, &env, ask, &hint);
    let entry = &mut manifest.plugins[index];
    let newly: Vec<AgentId> = outcomes
        .iter()
        .filter(|o| matches!(o.status, AgentStatus::Configured | AgentStatus::AlreadyConfigured))
        .filter(|o| agents::record(entry, o.agent))
        .map(|o| o.agent)
        .collect();
    let subject = format!("Plug '{}' into {}", entry.name, labels(&newly));
    let done = Done { op: "plug", id, index, changed: !newly.is_empty(), subject };
    conclude(ctx, (&home, &lock), &manifest, &t, &outcomes, error, done)?;
    let failed = outcomes.iter().any(|o| o.status == AgentStatus::Failed || o.status == AgentStatus::NotInstalled);
    Ok(u8::from(failed))
}

fn labels(agents: &[AgentId]) -> String {
    agents::join_labels(&agents.iter().map(|a| a.label()).collect::<Vec<_>>())
}

/// Warns about required variables without a value: agents get the server without them.
pub fn warn_missing(ctx: &Ctx, t: &Target, directory: &str) {
    if let Some(s) = &t.server {
        for var in s.missing() {
            ctx.ui.warn(format!("environment variable '{var}' is not set; set it with `atk setup {directory}`"));
        }
    }
}

/// Applies `op` for each agent, saving what atk registered after each. Stops at an error (a
/// confirmation that cannot be asked, Ctrl-C), returning it beside the outcomes so far.
#[allow(clippy::too_many_arguments)]
pub fn apply_all(
    ctx: &Ctx,
    home: &Home,
    t: &Target,
    chosen: &[AgentId],
    op: Op,
    env: &AgentEnv,
    ask: bool,
    hint: &str,
) -> (Vec<AgentOutcome>, Option<Error>) {
    let path = agents::registered_path(home);
    let mut registered = match Registered::load(&path) {
        Ok(r) => r,
        Err(e) => return (vec![], Some(e)),
    };
    let how = Apply { env, reporter: &ctx.ui, ask, hint };
    let mut outcomes = Vec::new();
    for &agent in chosen {
        let before = registered.clone();
        let result = agents::apply(agent, op, t, &mut registered, &how);
        if registered != before {
            if let Err(e) = registered.save(&path) {
                return (outcomes, Some(e));
            }
        }
        match result {
            Ok(o) => outcomes.push(o),
            Err(e) => return (outcomes, Some(e)),
        }
    }
    (outcomes, None)
}

/// What a `plug` or `unplug` of one plugin did to the record.
pub struct Done<'a> {
    /// `plug` or `unplug`.
    pub op: &'static str,
    /// The plugin as the user named it.
    pub id: &'a str,
    /// Its place in the manifest.
    pub index: usize,
    /// Whether the record changed (then it is committed with `subject`).
    pub changed: bool,
    pub subject: String,
}

/// The end of a `plug` or `unplug`: the record committed when it changed, then the error that
/// stopped the agents (if one did), else each agent's outcome and the JSON document.
pub fn conclude(
    ctx: &Ctx,
    (home, lock): (&Home, &HomeLock),
    manifest: &Manifest,
    t: &Target,
    outcomes: &[AgentOutcome],
    error: Option<Error>,
    done: Done,
) -> Result<()> {
    let entry = &manifest.plugins[done.index];
    let message = crate::home::message::Message::operation(done.subject, done.op, &entry.directory, None, None);
    let operation = format!("atk {} {}", done.op, done.id);
    let commit = record(ctx, home, lock, manifest, done.changed, &operation, &message)?;
    if let Some(e) = error {
        return Err(e);
    }
    render(ctx, t, outcomes);
    ctx.ui.json(&super::report::Plug {
        name: entry.name.clone(),
        directory: entry.directory.clone(),
        agents: outcomes.iter().map(Into::into).collect(),
        recorded: entry.agents.clone(),
        commit,
    });
    Ok(())
}

/// Writes the manifest and commits it when the record changed.
pub fn record(
    ctx: &Ctx,
    home: &Home,
    lock: &HomeLock,
    manifest: &Manifest,
    changed: bool,
    operation: &str,
    message: &crate::home::message::Message,
) -> Result<Option<String>> {
    if !changed {
        return Ok(None);
    }
    let commit = Transaction::run(home, lock, operation, |tx| {
        home.write_manifest(tx, manifest)?;
        home.commit(tx, manifest, &[manifest::FILE.to_string()], message)
    })?;
    ctx.push_if_configured(home, manifest, commit.is_some());
    if let Some(c) = &commit {
        ctx.ui.detail(format!("committed {c}"));
    }
    Ok(commit)
}

/// One line per agent: successes on stdout, failures on stderr.
pub fn render(ctx: &Ctx, t: &Target, outcomes: &[AgentOutcome]) {
    let name = crate::text::escape(&t.name);
    for o in outcomes {
        let label = o.agent.label();
        let detail = o.detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
        match o.status {
            AgentStatus::Configured => ctx.ui.success(format!("{label}: '{name}' plugged in")),
            AgentStatus::Removed => ctx.ui.success(format!("{label}: '{name}' unplugged")),
            AgentStatus::AlreadyConfigured => ctx.ui.line(format!("  {label}: already configured, nothing changed")),
            AgentStatus::NotConfigured => ctx.ui.line(format!("  {label}: '{name}' was not plugged in{detail}")),
            AgentStatus::Skipped => ctx.ui.line(format!("  {label}: skipped{detail}")),
            AgentStatus::NotInstalled => ctx.ui.failure(label, &Error::other(format!("not installed{detail}"))),
            AgentStatus::Failed => {
                ctx.ui.failure(label, &Error::other(o.detail.clone().unwrap_or_else(|| "failed".into())))
            }
        }
        for n in &o.notes {
            ctx.ui.note(format!("  {label}: {n}"));
        }
    }
}

/// `atk plug --all`: every plugin into its recorded agents; agents not on this machine are
/// reported and do not fail the run.
fn plug_all(ctx: &Ctx, env: &AgentEnv, ask: bool) -> Result<u8> {
    let (home, _lock) = ctx.lock_home()?;
    let manifest = home.manifest()?;
    let mut docs = Vec::new();
    let mut failed = 0;
    for entry in manifest.plugins.iter().filter(|e| !e.agents.is_empty()) {
        for unknown in agents::unknown_recorded(entry) {
            ctx.ui.warn(format!(
                "'{}' is recorded as plugged into '{}', an agent this atk does not know; skipped",
                crate::text::escape(&entry.name),
                crate::text::escape(unknown)
            ));
        }
        let t = match agents::target(&home, entry, &outer).and_then(|t| t.check_skill().map(|()| t)) {
            Ok(t) => t,
            Err(e @ Error::Interrupted) => return Err(e),
            Err(e) => {
                ctx.ui.failure(&entry.name, &e);
                failed += 1;
                docs.push(super::report::PluggedAll {
                    name: entry.name.clone(),
                    directory: entry.directory.clone(),
                    agents: vec![],
                    error: Some((&e).into()),
                });
                continue;
            }
        };
        ctx.ui.line(format!("{}:", crate::text::escape(&entry.name)));
        warn_missing(ctx, &t, &entry.directory);
        let (here, away): (Vec<AgentId>, Vec<AgentId>) =
            agents::recorded(entry).into_iter().partition(|a| a.agent().installed(env));
        let hint = "pass --yes (or --force) to plug without asking: `atk plug --all --yes`";
        let (mut outcomes, error) = apply_all(ctx, &home, &t, &here, Op::Plug, env, ask, hint);
        if let Some(e) = error {
            return Err(e);
        }
        outcomes.extend(away.into_iter().map(|agent| AgentOutcome {
            agent,
            status: AgentStatus::NotInstalled,
            detail: Some("not found on this machine".into()),
            notes: vec![],
        }));
        render(ctx, &t, &outcomes);
        if outcomes.iter().any(|o| o.status == AgentStatus::Failed) {
            failed += 1;
        }
        docs.push(super::report::PluggedAll {
            name: entry.name.clone(),
            directory: entry.directory.clone(),
            agents: outcomes.iter().map(Into::into).collect(),
            error: None,
        });
    }
    if docs.is_empty() {
        ctx.ui.line("No plugin is recorded as plugged into an agent; `atk plug <plugin> --claude` plugs one.");
    }
    ctx.ui.json(&super::report::PlugAll { plugins: docs, failed });
    Ok(u8::from(failed > 0))
}

/// The hook of `remove` and `uninstall`, after their confirmation: unplugs the plugin from the
/// agents recorded for it. A failure is a warning (the removal goes on).
pub fn unplug_recorded(ctx: &Ctx, home: &Home, entry: &crate::home::Entry) -> Result<()> {
    let Some(which) = agents::describe_recorded(entry) else { return Ok(()) };
    ctx.ui.note(format!("Unplugging '{}' from {which} ...", crate::text::escape(&entry.name)));
    let outcomes = agents::unplug_recorded(home, entry, &agent_env(), &outer, &ctx.ui)?;
    report_hook(ctx, entry, &outcomes, "unplug");
    Ok(())
}

/// The hook of `upgrade`, once a new version is in place: re-plugs the plugin into the agents
/// recorded for it where its server or skill changed. A failure is a warning.
pub fn replug_recorded(ctx: &Ctx, home: &Home, entry: &crate::home::Entry) -> Result<()> {
    if agents::recorded(entry).is_empty() {
        return Ok(());
    }
    let outcomes = agents::replug_recorded(home, entry, &agent_env(), &outer, &ctx.ui)?;
    report_hook(ctx, entry, &outcomes, "plug");
    Ok(())
}

fn report_hook(ctx: &Ctx, entry: &crate::home::Entry, outcomes: &[AgentOutcome], verb: &str) {
    let name = crate::text::escape(&entry.name);
    for o in outcomes {
        let label = o.agent.label();
        let detail = o.detail.as_deref().unwrap_or("");
        match o.status {
            AgentStatus::Configured => ctx.ui.success(format!("{label}: '{name}' plugged in again")),
            AgentStatus::Removed => ctx.ui.success(format!("{label}: '{name}' unplugged")),
            AgentStatus::AlreadyConfigured | AgentStatus::NotConfigured | AgentStatus::Skipped => {
                ctx.ui.detail(format!("{label}: nothing to change"))
            }
            AgentStatus::NotInstalled => ctx.ui.note(format!("{label} is not on this machine; left as it is")),
            AgentStatus::Failed => ctx.ui.warn(format!(
                "{label}: could not {verb} '{name}': {detail}; try `atk {verb} {} --{}`",
                entry.directory,
                o.agent.as_str()
            )),
        }
    }
}
