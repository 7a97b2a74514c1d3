//! The agents recorded for a plugin in its manifest entry (`agents:`): read, add, drop, describe.

use super::AgentId;
use crate::home::Entry;

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

/// "Claude Code and Cursor", for the line a confirmation shows before [`on_recorded`] unplugs them.
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
