//! Plugging as an operation of the home: a plugin's MCP server and skill given to (or taken from)
//! coding agents one agent at a time, what atk registered saved after each agent, and the
//! manifest's record of the agents that have it committed. `plug`, `unplug`, `plug --all` and
//! `undo` call it, and remove and uninstall its [`unplug_recorded`] (the hooks are `agents::on_recorded`).

use crate::agents::{self, AgentId, AgentOutcome, AgentStatus, Apply, Op, Registered, Target};
use crate::error::{Error, Result};
use crate::home::{manifest, Entry, Home, Locked, Manifest, Message, Transaction};
use crate::plugin::env::Outer;
use crate::reporter::Reporter;
use crate::settings::Settings;

/// Applies `op` of `t` for each agent of `chosen`, saving what atk registered after each. Stops at
/// an error (a confirmation that cannot be asked, Ctrl-C), returned beside the outcomes so far.
pub fn apply_all(
    home: &Home,
    t: &Target,
    chosen: &[AgentId],
    op: Op,
    how: &Apply,
) -> (Vec<AgentOutcome>, Option<Error>) {
    let path = agents::registered_path(home);
    let mut registered = match Registered::load(&path) {
        Ok(r) => r,
        Err(e) => return (vec![], Some(e)),
    };
    if op == Op::Plug && !chosen.is_empty() {
        if let Some(why) = &t.skill_refused {
            how.reporter.warn(why);
        }
    }
    let mut outcomes = Vec::new();
    for &agent in chosen {
        let before = registered.clone();
        let result = agents::apply(agent, op, t, &mut registered, how);
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

/// The plugin as agents are given it: read with its `.env`, its skill checked (a SKILL.md linked
/// out of the plugin folder is never given to an agent), with something to give.
pub fn target_to_plug(home: &Home, entry: &Entry, outer: Outer) -> Result<Target> {
    let t = agents::target(home, entry, outer)?;
    if t.server.is_none() && !t.has_skill {
        let why = match &t.skill_refused {
            Some(refused) => format!("nothing to plug: '{}' has no MCP server, and {refused}", t.name),
            None => format!("nothing to plug: '{}' has no MCP server and no SKILL.md", t.name),
        };
        return Err(Error::plugin_refused(why, vec![]));
    }
    Ok(t)
}

/// The plugin as agents are to lose it: when it cannot be read (a broken `plugin.yaml`, its files
/// gone), what atk knows of it, which is enough to unplug it by name.
pub fn target_to_unplug(home: &Home, entry: &Entry, outer: Outer, reporter: &dyn Reporter) -> Result<Target> {
    match agents::target(home, entry, outer) {
        Ok(t) => Ok(t),
        Err(e @ Error::Interrupted) => Err(e),
        Err(e) => {
            reporter.detail(&format!("{e}; unplugging what atk knows of it"));
            Ok(agents::bare_target(home, entry))
        }
    }
}

/// The agents a change is for, and the plugin as the user named it (for the journal's operation).
pub struct AgentsChange<'a> {
    pub op: Op,
    pub agents: &'a [AgentId],
    pub id: &'a str,
}

/// What a plug or unplug of one plugin did.
pub struct Changed {
    /// Each agent's outcome, in the order asked.
    pub outcomes: Vec<AgentOutcome>,
    /// The commit of the record, when it changed.
    pub commit: Option<String>,
    /// What stopped the agents before every one was done (a confirmation that cannot be asked,
    /// Ctrl-C): the caller reports it as the run's error, once the commit is pushed.
    pub stopped: Option<Error>,
}

/// `plug` or `unplug` of the plugin at `index`: applies the change for each agent, then records the
/// agents that now have it (plug) or no longer have it (unplug; an agent whose program is not here
/// keeps its registration and stays recorded) and commits the record when it changed. What was
/// done before an error stopped the agents is committed too ([`Changed::stopped`]).
pub fn change(
    home: &Locked,
    manifest: &mut Manifest,
    index: usize,
    t: &Target,
    change: AgentsChange,
    how: &Apply,
) -> Result<Changed> {
    let (outcomes, error) = apply_all(home, t, change.agents, change.op, how);
    let entry = &mut manifest.plugins[index];
    let recorded: Vec<&str> = record_outcomes(entry, change.op, &outcomes).iter().map(|a| a.label()).collect();
    let (verb, subject) = match change.op {
        Op::Plug => ("plug", format!("Plug '{}' into {}", entry.name, agents::join_labels(&recorded))),
        Op::Unplug => ("unplug", format!("Unplug '{}' from {}", entry.name, agents::join_labels(&recorded))),
    };
    let message = Message::operation(subject, verb, &entry.directory, None, None);
    let operation = format!("atk {verb} {}", change.id);
    let commit = commit_record(home, manifest, !recorded.is_empty(), &operation, &message)?;
    Ok(Changed { outcomes, commit, stopped: error })
}

/// The record of `entry` follows what `op` did for each agent: one that has the plugin now is
/// recorded (plug), one that no longer has it forgotten (unplug; an agent whose program is not
/// here keeps its registration and stays recorded). The agents whose record changed.
pub fn record_outcomes(entry: &mut Entry, op: Op, outcomes: &[AgentOutcome]) -> Vec<AgentId> {
    outcomes
        .iter()
        .filter(|o| match op {
            Op::Plug => matches!(o.status, AgentStatus::Configured | AgentStatus::AlreadyConfigured),
            Op::Unplug => matches!(o.status, AgentStatus::Removed | AgentStatus::NotConfigured),
        })
        .filter(|o| match op {
            Op::Plug => agents::record(entry, o.agent),
            Op::Unplug => agents::forget(entry, o.agent),
        })
        .map(|o| o.agent)
        .collect()
}

/// Writes the manifest and commits it, when the record changed.
pub fn commit_record(
    home: &Locked,
    manifest: &Manifest,
    changed: bool,
    operation: &str,
    message: &Message,
) -> Result<Option<String>> {
    if !changed {
        return Ok(None);
    }
    Transaction::run(home, operation, |tx| {
        home.write_manifest(tx, manifest)?;
        home.commit(tx, manifest, &[manifest::FILE.to_string()], message)
    })
}

/// `plug --all` for one plugin: into each agent recorded for it that is on this machine; the
/// others are `NotInstalled` outcomes (they do not fail the run).
pub fn into_recorded(home: &Home, t: &Target, entry: &Entry, how: &Apply) -> Result<Vec<AgentOutcome>> {
    let (here, away): (Vec<AgentId>, Vec<AgentId>) =
        agents::recorded(entry).into_iter().partition(|a| a.agent().installed(how.env));
    let (mut outcomes, error) = apply_all(home, t, &here, Op::Plug, how);
    if let Some(e) = error {
        return Err(e);
    }
    outcomes.extend(away.into_iter().map(|agent| AgentOutcome {
        agent,
        status: AgentStatus::NotInstalled,
        detail: Some("not found on this machine".into()),
        notes: vec![],
    }));
    Ok(outcomes)
}

/// The hook of `remove` and `uninstall`, after their confirmation: `entry` unplugged from every
/// agent recorded for it, without asking. Failures are outcomes (the removal goes on); only
/// Ctrl-C is an error.
pub fn unplug_recorded(
    reporter: &dyn Reporter,
    settings: &Settings,
    home: &Home,
    entry: &Entry,
) -> Result<Vec<AgentOutcome>> {
    let Some(which) = agents::describe_recorded(entry) else { return Ok(vec![]) };
    reporter.note(&format!("Unplugging '{}' from {which} ...", crate::text::escape(&entry.name)));
    agents::on_recorded(Op::Unplug, home, entry, &settings.agents, &settings.outer(), reporter)
}
