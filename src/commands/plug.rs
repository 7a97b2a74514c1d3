use serde::Serialize;

use super::{report, AgentFlags, Ctx};
use crate::agents::{self, AgentId, AgentStatus, Apply, Op, Target};
use crate::error::{Error, Result};
use crate::sync::plug::{self, AgentsChange};
use crate::ui::{Report, Ui};

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
    /// Give the server this name in the agents (when its own name is taken by a server of yours);
    /// remembered on this machine for later plugs
    #[arg(long = "as", value_name = "NAME", conflicts_with = "all")]
    pub name: Option<String>,
    /// Replace a server of yours that has the plugin's name (shown before, and asked)
    #[arg(long, conflicts_with = "all")]
    pub replace: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let ask = !(args.force || ctx.ui.yes);
    if args.all {
        if args.agents.any() {
            return Err(Error::usage(
                "--all re-applies the agents recorded for each plugin; it takes no agent flags",
                Some("to plug one plugin into more agents: `atk plug <plugin> --claude`".into()),
            ));
        }
        return plug_all(ctx, ask);
    }
    let id = args.plugin.as_deref().expect("clap requires PLUGIN without --all");
    args.agents.require("plug")?;
    if let Some(name) = &args.name {
        if let Some(why) = agents::name_problem(name).or_else(|| {
            (!agents::names::accepts(AgentId::Claude, name))
                .then_some("may hold only ASCII letters, digits, '-' and '_' (what every agent takes)")
        }) {
            return Err(Error::usage(
                format!("--as '{}': a server's name {why}", crate::text::escape(name)),
                Some(format!("for example `--as {}`", agents::names::derive(name, id))),
            ));
        }
    }
    let env = &ctx.settings.agents;
    let home = ctx.lock_home()?;
    let mut manifest = home.manifest()?;
    let index = super::index_of(&manifest, id)?;
    let t = plug::target_to_plug(&home, &manifest.plugins[index], &ctx.settings.outer())?;
    let chosen = if args.agents.all_agents {
        let found = AgentId::installed(env);
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
    let how = Apply { replace: args.replace, name: args.name.as_deref(), ..Apply::new(env, &ctx.ui, ask, &hint) };
    let done = plug::change(&home, &mut manifest, index, &t, AgentsChange { op: Op::Plug, agents: &chosen, id }, &how)?;
    let report = report::plugged(&ctx.ui, &manifest.plugins[index], &t, done)?;
    ctx.ui.print(&report);
    let failed = report
        .agents
        .iter()
        .any(|a| matches!(a.status, AgentStatus::Failed | AgentStatus::Conflict | AgentStatus::NotInstalled));
    Ok(u8::from(failed))
}

/// Warns about required variables without a value: agents get the server without them.
fn warn_missing(ctx: &Ctx, t: &Target, directory: &str) {
    if let Some(s) = &t.server {
        for var in s.missing() {
            ctx.ui.warn(format!("environment variable '{var}' is not set; set it with `atk setup {directory}`"));
        }
    }
}

/// `atk plug --all`: every plugin into its recorded agents; agents not on this machine are
/// reported and do not fail the run.
fn plug_all(ctx: &Ctx, ask: bool) -> Result<u8> {
    let home = ctx.lock_home()?;
    let manifest = home.manifest()?;
    let outer = ctx.settings.outer();
    let hint = "pass --yes (or --force) to plug without asking: `atk plug --all --yes`";
    let how = Apply::new(&ctx.settings.agents, &ctx.ui, ask, hint);
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
        let t = match agents::target(&home, entry, &outer) {
            Ok(t) => t,
            Err(e @ Error::Interrupted) => return Err(e),
            Err(e) => {
                ctx.ui.failure(&entry.name, &e);
                failed += 1;
                docs.push(PluggedAll {
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
        let outcomes = plug::into_recorded(&home, &t, entry, &how)?;
        report::agent_outcomes(&ctx.ui, &t.name, &outcomes);
        if outcomes.iter().any(|o| matches!(o.status, AgentStatus::Failed | AgentStatus::Conflict)) {
            failed += 1;
        }
        docs.push(PluggedAll {
            name: entry.name.clone(),
            directory: entry.directory.clone(),
            agents: outcomes.iter().map(Into::into).collect(),
            error: None,
        });
    }
    ctx.ui.print(&PlugAll { plugins: docs, failed });
    Ok(u8::from(failed > 0))
}

/// `atk plug --all`: every plugin's recorded agents, re-applied.
#[derive(Serialize)]
pub struct PlugAll {
    pub plugins: Vec<PluggedAll>,
    pub failed: usize,
}

#[derive(Serialize)]
pub struct PluggedAll {
    pub name: String,
    pub directory: String,
    pub agents: Vec<report::AgentDoc>,
    pub error: Option<report::ErrorDoc>,
}

/// Each plugin's lines are shown as the run goes (an agent's question can come between two
/// plugins): the text of the report is only the line that says there was nothing to do.
impl Report for PlugAll {
    fn render(&self, ui: &Ui) {
        if self.plugins.is_empty() {
            ui.line("No plugin is recorded as plugged into an agent; `atk plug <plugin> --claude` plugs one.");
        }
    }
}
