use super::{report, AgentFlags, Ctx};
use crate::agents::{self, AgentId, AgentStatus, Apply, Op};
use crate::error::Result;
use crate::sync::plug::{self, AgentsChange};

/// Remove a plugin's MCP server and skill from coding agents, and from the manifest's record.
/// Unplugging what is not there is not an error.
#[derive(clap::Args)]
pub struct Args {
    /// The plugin (directory or name, as in `atk list`)
    pub plugin: String,
    #[command(flatten)]
    pub agents: AgentFlags,
    /// Don't ask before changing an agent's configuration (as --yes)
    #[arg(short = 'f', long)]
    pub force: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    args.agents.require("unplug")?;
    let env = &ctx.settings.agents;
    let ask = !(args.force || ctx.ui.yes);
    let id = args.plugin.as_str();
    let home = ctx.lock_home()?;
    let mut manifest = home.manifest()?;
    let index = super::index_of(&manifest, id)?;
    let entry = &manifest.plugins[index];
    let t = plug::target_to_unplug(&home, entry, &ctx.settings.outer(), &ctx.ui)?;
    let chosen: Vec<AgentId> = if args.agents.all_agents {
        let recorded = agents::recorded(entry);
        AgentId::ALL.into_iter().filter(|a| recorded.contains(a) || a.agent().installed(env)).collect()
    } else {
        args.agents.named()
    };
    let hint = format!("pass --yes (or --force) to unplug without asking: `atk unplug {} --yes ...`", t.directory);
    let how = Apply::new(env, &ctx.ui, ask, &hint);
    let done =
        plug::change(&home, &mut manifest, index, &t, AgentsChange { op: Op::Unplug, agents: &chosen, id }, &how)?;
    let report = report::plugged(&ctx.ui, &manifest.plugins[index], &t, done)?;
    ctx.ui.print(&report);
    Ok(u8::from(report.agents.iter().any(|a| a.status == AgentStatus::Failed)))
}
