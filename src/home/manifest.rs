//! `manifest.yaml`: what is installed, each remote plugin pinned to a commit. Read tolerantly
//! (unknown keys anywhere are kept and written back), written atomically in the Python CLI's layout.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use yaml_serde::Mapping;

use std::collections::BTreeMap;

use crate::plugin::name::{is_valid_directory, DIRECTORY_RULE};

pub const FILE: &str = "manifest.yaml";
pub const SCHEMA_VERSION: &str = "2026-02-06";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub schema_version: String,
    #[serde(default)]
    pub config: Config,
    #[serde(default)]
    pub plugins: Vec<Entry>,
    #[serde(flatten)]
    pub extra: Mapping,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    #[serde(default = "yes")]
    pub auto_commit: bool,
    #[serde(default)]
    pub auto_push: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    #[serde(flatten)]
    pub extra: Mapping,
}

fn yes() -> bool {
    true
}

/// The release cooldown when `config.min_release_age` is not set: three days.
pub const DEFAULT_MIN_RELEASE_AGE: std::time::Duration = std::time::Duration::from_secs(3 * 86_400);

/// The key of `config` that sets the release cooldown.
pub const MIN_RELEASE_AGE: &str = "min_release_age";

impl Config {
    /// `config.min_release_age`: how old a release must be for atk to choose it (a number of
    /// days, or a number with `d`, `h` or `m`; `0` turns the cooldown off), 3 days when unset.
    pub fn min_release_age(&self) -> std::result::Result<std::time::Duration, String> {
        let Some(value) = self.extra.get(MIN_RELEASE_AGE) else {
            return Ok(DEFAULT_MIN_RELEASE_AGE);
        };
        let text = match value {
            yaml_serde::Value::Number(n) => n.to_string(),
            yaml_serde::Value::String(s) => s.trim().to_string(),
            _ => String::new(),
        };
        let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
            Some(i) => (&text[..i], text[i..].trim()),
            None => (text.as_str(), "d"),
        };
        let seconds = match unit {
            "d" | "day" | "days" => 86_400,
            "h" | "hour" | "hours" => 3_600,
            "m" | "min" | "minutes" => 60,
            _ => 0,
        };
        match number.parse::<u64>() {
            Ok(n) if seconds > 0 && n <= 3650 * 86_400 / seconds => Ok(std::time::Duration::from_secs(n * seconds)),
            _ => Err(format!(
                "config.{MIN_RELEASE_AGE}: {text:?} is not an age (write a number of days, or e.g. 3d, 72h, 0 to turn the cooldown off)"
            )),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config { auto_commit: true, auto_push: false, registry: None, extra: Mapping::new() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub name: String,
    pub directory: String,
    #[serde(default)]
    pub source: Source,
    /// The coding agents the plugin is plugged into (`atk plug`), by their command-line names
    /// (`claude`, `cursor`, ...). Left out of the file when empty, so that a manifest without it
    /// is written back byte for byte; atk-cli reads a manifest with it and ignores the key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<String>,
    /// What the plugin runs from package and image registries, each locked to one artifact
    /// (`crate::artifact`). Left out when empty, as `agents`; atk-cli ignores it on reading and
    /// drops it when it saves the manifest, which `atk doctor` then reports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lock: Vec<Pin>,
    #[serde(flatten)]
    pub extra: Mapping,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Source {
    #[serde(rename = "type", default)]
    pub kind: SourceKind,
    #[serde(rename = "ref", default)]
    pub commit: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(flatten)]
    pub extra: Mapping,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    #[default]
    Local,
    Registry,
    Git,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Local => "local",
            SourceKind::Registry => "registry",
            SourceKind::Git => "git",
        }
    }
}

impl Entry {
    pub fn new(name: &str, directory: &str, source: Source) -> Self {
        Entry {
            name: name.into(),
            directory: directory.into(),
            source,
            agents: vec![],
            lock: vec![],
            extra: Mapping::new(),
        }
    }
}

impl Manifest {
    pub fn new() -> Self {
        Manifest {
            schema_version: SCHEMA_VERSION.into(),
            config: Config::default(),
            plugins: vec![],
            extra: Mapping::new(),
        }
    }

    pub fn path(home: &Path) -> PathBuf {
        home.join(FILE)
    }

    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        if text.trim().is_empty() {
            return Err("the file is empty".into());
        }
        let m: Manifest = yaml_serde::from_str(text).map_err(|e| e.to_string())?;
        for (i, e) in m.plugins.iter().enumerate() {
            if !is_valid_directory(&e.directory) {
                return Err(format!(
                    "plugins[{i}].directory: '{}' is not a valid folder name ({DIRECTORY_RULE})",
                    e.directory
                ));
            }
            if let Some(j) = m.plugins[..i].iter().position(|o| o.directory == e.directory) {
                return Err(format!("plugins[{i}] and plugins[{j}] both use the folder '{}'", e.directory));
            }
        }
        Ok(m)
    }

    /// The manifest as the Python CLI writes it: keys in a fixed order, explicit nulls.
    pub fn to_yaml(&self) -> String {
        let value = yaml_serde::to_value(self).expect("a manifest always converts to YAML");
        crate::yaml::to_string(&value)
    }

    /// The entry whose directory, else whose display name, is `id` (exact match).
    pub fn find(&self, id: &str) -> Option<&Entry> {
        self.plugins.iter().find(|e| e.directory == id).or_else(|| self.plugins.iter().find(|e| e.name == id))
    }

    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.plugins.iter().position(|e| e.directory == id).or_else(|| self.plugins.iter().position(|e| e.name == id))
    }

    /// Names close to `id`, for "did you mean" hints.
    pub fn near(&self, id: &str) -> Vec<String> {
        let id = id.to_lowercase();
        self.plugins
            .iter()
            .filter(|e| {
                let d = e.directory.to_lowercase();
                let n = e.name.to_lowercase();
                (!id.is_empty() && (d.contains(&id) || id.contains(&d) || n.contains(&id)))
                    || crate::plugin::name::edit_distance(&id, &d) <= 2
            })
            .map(|e| e.directory.clone())
            .collect()
    }
}

impl Default for Manifest {
    fn default() -> Self {
        Self::new()
    }
}

/// The registry an artifact comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ArtifactKind {
    Npm,
    Pypi,
    Oci,
    /// A kind a later atk writes: kept as it is, name included, and used for nothing.
    Other(String),
}

impl ArtifactKind {
    pub fn as_str(&self) -> &str {
        match self {
            ArtifactKind::Npm => "npm",
            ArtifactKind::Pypi => "pypi",
            ArtifactKind::Oci => "oci",
            ArtifactKind::Other(name) => name,
        }
    }

    /// Whether this atk knows what pins of this kind mean.
    pub fn is_known(&self) -> bool {
        !matches!(self, ArtifactKind::Other(_))
    }
}

impl From<String> for ArtifactKind {
    fn from(name: String) -> ArtifactKind {
        match name.as_str() {
            "npm" => ArtifactKind::Npm,
            "pypi" => ArtifactKind::Pypi,
            "oci" => ArtifactKind::Oci,
            _ => ArtifactKind::Other(name),
        }
    }
}

impl From<ArtifactKind> for String {
    fn from(kind: ArtifactKind) -> String {
        kind.as_str().to_string()
    }
}

/// One locked reference of what a plugin runs from a package or image registry, as the manifest
/// keeps it under the plugin's `lock` (see `crate::artifact`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pin {
    pub kind: ArtifactKind,
    /// The word as the plugin writes it (`@notionhq/notion-mcp-server`, `mongo:7`).
    pub spec: String,
    /// npm and PyPI: the exact version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// npm: the tarball's integrity (`sha512-…`) from the registry's document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrity: Option<String>,
    /// npm from git: the commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// OCI: the manifest's digest (`sha256:…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// PyPI: every file of the version and its sha256.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sha256: BTreeMap<String, String>,
    /// When the registry published it (RFC 3339), where it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(flatten)]
    pub extra: Mapping,
}

impl Pin {
    pub fn new(kind: ArtifactKind, spec: &str) -> Pin {
        Pin {
            kind,
            spec: spec.to_string(),
            version: None,
            integrity: None,
            commit: None,
            digest: None,
            sha256: BTreeMap::new(),
            published: None,
            extra: Mapping::new(),
        }
    }

    /// What it is locked to, in a few characters: `1.9.1`, `a1b2c3d` (a commit), `sha256:0f3a9c1e2b4d`.
    pub fn short(&self) -> String {
        if let Some(v) = &self.version {
            return v.clone();
        }
        if let Some(c) = &self.commit {
            return c.chars().take(7).collect();
        }
        self.digest.as_deref().map(|d| d.chars().take(19).collect()).unwrap_or_else(|| "?".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UPSTREAM: &str = "schema_version: '2026-02-06'\nconfig:\n  auto_commit: true\n  auto_push: false\nplugins:\n\
- name: Full Plugin\n  directory: full-plugin\n  source:\n    type: local\n    ref: null\n    url: null\n\
- name: Echo Tool\n  directory: echo-tool\n  source:\n    type: git\n    ref: d2b223136458f8269e327e6380fa09d110ccafd5\n    url: file:///srv/gitplug\n";

    #[test]
    fn upstream_manifest_round_trips_byte_for_byte() {
        assert_eq!(Manifest::parse(UPSTREAM).unwrap().to_yaml(), UPSTREAM);
    }

    #[test]
    fn an_unquoted_schema_version_is_read_and_written_quoted() {
        let m = Manifest::parse("schema_version: 2026-02-06\nplugins: []\n").unwrap();
        assert_eq!(m.schema_version, "2026-02-06");
        assert!(m.to_yaml().starts_with("schema_version: '2026-02-06'\n"));
    }

    #[test]
    fn new_manifest_matches_init_output() {
        assert_eq!(
            Manifest::new().to_yaml(),
            "schema_version: '2026-02-06'\nconfig:\n  auto_commit: true\n  auto_push: false\nplugins: []\n"
        );
    }

    #[test]
    fn unknown_keys_survive_everywhere() {
        let text = "schema_version: '2026-02-06'\nowner: me\nconfig:\n  auto_commit: false\n  theme: dark\nplugins:\n\
- name: a\n  directory: ab\n  pinned_by: alice\n  source:\n    type: registry\n    ref: null\n    url: null\n    mirror: x\n";
        let m = Manifest::parse(text).unwrap();
        assert!(!m.config.auto_commit);
        let out = m.to_yaml();
        for key in ["owner: me", "theme: dark", "pinned_by: alice", "mirror: x"] {
            assert!(out.contains(key), "{key} lost:\n{out}");
        }
        assert_eq!(Manifest::parse(&out).unwrap().to_yaml(), out);
    }

    #[test]
    fn the_agents_record_is_written_after_source_and_only_when_there_is_one() {
        let mut m = Manifest::parse(UPSTREAM).unwrap();
        assert!(m.plugins.iter().all(|e| e.agents.is_empty()));
        m.plugins[1].agents = vec!["claude".into(), "cursor".into()];
        let text = m.to_yaml();
        assert!(text.ends_with("    url: file:///srv/gitplug\n  agents:\n  - claude\n  - cursor\n"), "{text}");
        let back = Manifest::parse(&text).unwrap();
        assert_eq!(back.plugins[1].agents, ["claude", "cursor"]);
        assert_eq!(back.to_yaml(), text);
        // Names this atk does not know are kept.
        let odd = text.replace("- cursor", "- zed");
        assert_eq!(Manifest::parse(&odd).unwrap().to_yaml(), odd);
    }

    #[test]
    fn rejects_bad_directories_and_broken_yaml() {
        let bad = "schema_version: '1'\nplugins:\n- name: x\n  directory: ../x\n";
        assert!(Manifest::parse(bad).unwrap_err().contains("'../x' is not a valid folder name"));
        assert!(Manifest::parse("plugins: [").unwrap_err().contains("line"));
        assert!(Manifest::parse("").is_err());
    }

    #[test]
    fn finds_by_directory_then_name() {
        let m = Manifest::parse(UPSTREAM).unwrap();
        assert_eq!(m.find("full-plugin").unwrap().name, "Full Plugin");
        assert_eq!(m.find("Echo Tool").unwrap().directory, "echo-tool");
        assert!(m.find("echo tool").is_none());
        assert_eq!(m.near("echo-tol"), ["echo-tool"]);
    }
}
