//! The hooks other operations call: unplug on remove and uninstall, re-plug after an upgrade,
//! and how each recorded agent stands (for status and doctor).

use super::{
    apply, bare_target, recorded, registered_path, target, AgentEnv, AgentId, AgentOutcome, AgentStatus, Apply, Cx, Op,
    Plan, Registered, Target,
};
use crate::error::Result;
use crate::home::Entry;
use crate::reporter::Reporter;

/// The hooks other operations call on the agents recorded for `entry`, without asking (the
/// caller's confirmation covers them):
/// * `Op::Unplug`, for `remove` and `uninstall` ([`describe_recorded`] says what it will do): a
///   plugin that cannot be read is unplugged by what atk knows of it;
/// * `Op::Plug`, for a move to another commit, once the new version is in place: each agent on
///   this machine is plugged in again where what it would be given (the MCP server, the skill)
///   changed; agents not here are `NotInstalled`, and a plugin that cannot be read fails every
///   agent. (A `SKILL.md` that is a link is left out, with a warning.)
///
/// Failures are outcomes, for the caller to warn about; only Ctrl-C (or `agents.json` that cannot
/// be read or written) is an error. What atk registered is saved once, at the end.
pub fn on_recorded(
    op: Op,
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
    let t = match op {
        Op::Unplug => target(home, entry, outer).unwrap_or_else(|_| bare_target(home, entry)),
        Op::Plug => match target(home, entry, outer) {
            Ok(t) => {
                if let Some(why) = &t.skill_refused {
                    reporter.warn(why);
                }
                t
            }
            Err(e) => {
                let failed = |agent| AgentOutcome {
                    agent,
                    status: AgentStatus::Failed,
                    detail: Some(e.to_string()),
                    notes: vec![],
                };
                return Ok(agents.into_iter().map(failed).collect());
            }
        },
    };
    let how = Apply::new(env, reporter, false, "");
    Registered::update(home, |registered| {
        agents
            .into_iter()
            .map(|agent| match op == Op::Unplug || agent.agent().installed(env) {
                true => apply(agent, op, &t, registered, &how),
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
    let cx = Cx { env, registered: &registered, replace: false };
    agents
        .into_iter()
        .map(|agent| {
            let a = agent.agent();
            let t = Target { server_name: super::names::server_name(agent, &t, &registered), ..t.clone() };
            let state = if !a.installed(env) {
                Wiring::Absent
            } else {
                match a.plug(&t, &cx) {
                    Ok(Plan { conflict: Some(why), .. }) => Wiring::Unknown(why),
                    Ok(plan) if plan.unsupported.is_some() || plan.changes.is_empty() => Wiring::Configured,
                    Ok(_) => Wiring::NotConfigured,
                    Err(e) => Wiring::Unknown(e.to_string()),
                }
            };
            (agent, state)
        })
        .collect()
}
