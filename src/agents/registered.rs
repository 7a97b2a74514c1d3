//! What atk registered with each agent, per plugin (`.git/atk/agents.json`): the argv it ran and
//! the names it gave, so that atk changes only what it can show it wrote.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::AgentId;
use crate::error::Result;

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
    /// The names the user chose with `atk plug --as NAME`, per agent and plugin.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    chosen: BTreeMap<String, String>,
    /// What atk last wrote in each agent for each plugin (`Held::fingerprint`): the evidence that
    /// a remote server's entry, which holds only a URL, is atk's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    written: BTreeMap<String, u64>,
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
    pub(super) fn set(&mut self, agent: AgentId, directory: &str, fingerprint: Option<u64>) {
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
    pub(super) fn named_elsewhere(&self, agent: AgentId, directory: &str, name: &str) -> bool {
        let own = Self::key(agent, directory);
        let prefix = format!("{}/", agent.as_str());
        self.names.iter().any(|(k, n)| *k != own && k.starts_with(&prefix) && n == name)
    }
    /// The fingerprint of what atk last wrote in `agent` for the plugin in `directory`.
    pub fn written(&self, agent: AgentId, directory: &str) -> Option<u64> {
        self.written.get(&Self::key(agent, directory)).copied()
    }
    pub(super) fn set_written(&mut self, agent: AgentId, directory: &str, fingerprint: Option<u64>) {
        match fingerprint {
            Some(f) => self.written.insert(Self::key(agent, directory), f),
            None => self.written.remove(&Self::key(agent, directory)),
        };
    }
    /// The name the user chose for the plugin's server in `agent` (`atk plug --as NAME`).
    pub fn chosen(&self, agent: AgentId, directory: &str) -> Option<&str> {
        self.chosen.get(&Self::key(agent, directory)).map(String::as_str)
    }
    pub(super) fn set_chosen(&mut self, agent: AgentId, directory: &str, name: Option<&str>) {
        match name {
            Some(n) => self.chosen.insert(Self::key(agent, directory), n.to_string()),
            None => self.chosen.remove(&Self::key(agent, directory)),
        };
    }
    pub(super) fn set_name(&mut self, agent: AgentId, directory: &str, name: Option<&str>) {
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

/// Where [`Registered`] is kept for `home`.
pub fn registered_path(home: &crate::home::Home) -> PathBuf {
    home.state_dir().join(Registered::FILE)
}
