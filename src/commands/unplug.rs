use super::plug::{agent_env, apply_all, conclude, no_agents_error, outer, AgentFlags, Done};
use super::Ctx;
use crate::agents::{self, AgentId, AgentStatus, Op};
use crate::error::{Error, Result};

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
    if !args.agents.any() {
        return Err(no_agents_error("unplug"));
    }
    let env = agent_env();
    let ask = !(args.force || ctx.ui.yes);
    let id = args.plugin.as_str();
    let (home, lock) = ctx.lock_home()?;
    let mut manifest = home.manifest()?;
    let index = super::index_of(&manifest, id)?;
    let entry = &manifest.plugins[index];
    let t = match agents::target(&home, entry, &outer) {
        Ok(t) => t,
        Err(e @ Error::Interrupted) => return Err(e),
        Err(e) => {
            ctx.ui.detail(format!("{e}; unplugging what atk knows of it"));
            agents::bare_target(&home, entry)
        }
    };
    let chosen: Vec<AgentId> = if args.agents.all_agents {
        let recorded = agents::recorded(entry);
        AgentId::ALL.into_iter().filter(|a| recorded.contains(a) || a.agent().installed(&env)).collect()
    } else {
        args.agents.named()
    };
    let hint = format!("pass --yes (or --force) to unplug without asking: `atk unplug {} --yes ...`", t.directory);
    let (outcomes, error) = apply_all(ctx, &home, &t, &chosen, Op::Unplug, &env, ask, &hint);
    let entry = &mut manifest.plugins[index];
    let dropped: Vec<AgentId> = outcomes
        .iter()
        // An agent whose program is not here keeps its registration: it stays recorded.
        .filter(|o| matches!(o.status, AgentStatus::Removed | AgentStatus::NotConfigured))
        .filter(|o| agents::forget(entry, o.agent))
        .map(|o| o.agent)
        .collect();
    let labels: Vec<&str> = dropped.iter().map(|a| a.label()).collect();
    let subject = format!("Unplug '{}' from {}", entry.name, agents::join_labels(&labels));
    let done = Done { op: "unplug", id, index, changed: !dropped.is_empty(), subject };
    conclude(ctx, (&home, &lock), &manifest, &t, &outcomes, error, done)?;
    Ok(u8::from(outcomes.iter().any(|o| o.status == AgentStatus::Failed)))
}
