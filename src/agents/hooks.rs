//! The hooks other operations call: unplug on remove and uninstall, re-plug after an upgrade,
//! and how each recorded agent stands (for status and doctor).

use super::{
    apply, bare_target, recorded, registered_path, target, AgentEnv, AgentId, AgentOutcome, AgentStatus, Apply, Cx, Op,
    Registered,
};
use crate::error::Result;
use crate::home::Entry;
use crate::reporter::Reporter;

/// The hook of `remove` and `uninstall`: unplugs `entry` from every agent recorded for it, without
/// asking (the caller's confirmation covers it; [`describe_recorded`] says what it will do).
/// Failures are outcomes, for the caller to warn about; only Ctrl-C is an error.
pub fn unplug_recorded(
    home: &crate::home::Home,
    entry: &Entry,
    env: &AgentEnv,
    outer: crate::plugin::env::Outer,
    reporter: &dyn Reporter,
) -> Result<Vec<AgentOutcome>> {
    let agents = recorded(entry);
    if agents.is_empty() {
        return Ok(vec![]);
    }
    let t = target(home, entry, outer).unwrap_or_else(|_| bare_target(home, entry));
    on_recorded(home, agents, Op::Unplug, &t, &Apply { env, reporter, ask: false, hint: "" })
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
) -> Result<Vec<AgentOutcome>> {
    let agents = recorded(entry);
    if agents.is_empty() {
        return Ok(vec![]);
    }
    // (A SKILL.md linked out of the plugin folder is never given to an agent: see `check_skill`.)
    match target(home, entry, outer).and_then(|t| t.check_skill().map(|()| t)) {
        Ok(t) => on_recorded(home, agents, Op::Plug, &t, &Apply { env, reporter, ask: false, hint: "" }),
        Err(e) => Ok(agents
            .into_iter()
            .map(|agent| AgentOutcome {
                agent,
                status: AgentStatus::Failed,
                detail: Some(e.to_string()),
                notes: vec![],
            })
            .collect()),
    }
}

/// `op` of `t` for each of `agents` that is on this machine (the others are `NotInstalled`), with
/// what atk registered saved once at the end.
fn on_recorded(
    home: &crate::home::Home,
    agents: Vec<AgentId>,
    op: Op,
    t: &super::Target,
    how: &Apply,
) -> Result<Vec<AgentOutcome>> {
    Registered::update(home, |registered| {
        agents
            .into_iter()
            .map(|agent| match op == Op::Unplug || agent.agent().installed(how.env) {
                true => apply(agent, op, t, registered, how),
                false => Ok(AgentOutcome { agent, status: AgentStatus::NotInstalled, detail: None, notes: vec![] }),
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
