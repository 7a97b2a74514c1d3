//! The registry client. A registry is a git repository with `plugins/<name>/` folders and an
//! `index.yaml` listing them. The index is read at the registry's HEAD commit and cached for an
//! hour; plugins are taken from the same commit, so a plugin is always pinned to the commit its
//! index entry came from. The maintainers' checks of a registry checkout are in `registry_checks`.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use gix::ObjectId;
use serde::{Deserialize, Serialize};

use super::git::{cache_name, Repo};
use crate::error::{Error, Result};
use crate::fs::{RelPath, Root};

pub const DEFAULT_URL: &str = "https://github.com/Svtoo/atk-registry";
pub const INDEX_FILE: &str = "index.yaml";
pub const INDEX_SCHEMA_VERSION: &str = "2026-01-23";
const CACHE_SECONDS: u64 = 3600;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Index {
    #[serde(default = "default_version")]
    pub schema_version: String,
    #[serde(default)]
    pub plugins: Vec<IndexEntry>,
}

fn default_version() -> String {
    INDEX_SCHEMA_VERSION.into()
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IndexEntry {
    pub name: String,
    pub path: String,
    pub description: String,
}

impl Index {
    pub fn parse(text: &str) -> std::result::Result<Index, String> {
        yaml_serde::from_str(text).map_err(|e| e.to_string())
    }

    pub fn find(&self, name: &str) -> Option<&IndexEntry> {
        self.plugins.iter().find(|p| p.name == name)
    }

    /// Names close to `name`, for "did you mean".
    pub fn near(&self, name: &str) -> Vec<String> {
        let lower = name.to_lowercase();
        let mut scored: Vec<(usize, &str)> = self
            .plugins
            .iter()
            .map(|p| {
                let d = crate::plugin::name::edit_distance(&lower, &p.name.to_lowercase());
                let contains = !lower.is_empty() && (p.name.contains(&lower) || lower.contains(&p.name));
                (if contains { 0 } else { d }, p.name.as_str())
            })
            .filter(|(d, _)| *d <= 3)
            .collect();
        scored.sort();
        scored.into_iter().take(3).map(|(_, n)| n.to_string()).collect()
    }

    /// Entries whose name or description contains `query` (any case).
    pub fn search(&self, query: &str) -> Vec<&IndexEntry> {
        let q = query.to_lowercase();
        self.plugins
            .iter()
            .filter(|p| p.name.to_lowercase().contains(&q) || p.description.to_lowercase().contains(&q))
            .collect()
    }
}

/// Which registry: the one asked for (`--registry`, else `$ATK_REGISTRY`: see `Settings`), else
/// the manifest's `config.registry`, else the public one.
pub fn url(asked: Option<&str>, configured: Option<&str>) -> String {
    asked.filter(|s| !s.is_empty()).or(configured).map_or_else(|| DEFAULT_URL.to_string(), str::to_string)
}

/// A registry's index at one commit.
pub struct Snapshot {
    pub commit: ObjectId,
    pub index: Index,
    /// Set when the index comes from the cache because the registry could not be reached.
    pub stale_because: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Cached {
    url: String,
    commit: String,
    fetched_at: u64,
    index: Index,
}

pub struct Registry {
    pub url: String,
    pub repo: Repo,
    cache_file: PathBuf,
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn inconsistent(url: &str, what: String) -> Error {
    Error::Git {
        message: format!("the registry {url} is inconsistent: {what}"),
        hints: vec!["tell the registry's maintainers; `atk registry index --check` finds this".into()],
    }
}

impl Registry {
    pub fn open(url: &str, cache: &super::git::Cache) -> Result<Registry> {
        let fetch_url = super::git_url(url).unwrap_or_else(|| url.to_string());
        let repo = Repo::open(&fetch_url, url, cache)?;
        let cache_file = cache.root.join("registry").join(format!("{}.json", cache_name(url)));
        Ok(Registry { url: url.to_string(), repo, cache_file })
    }

    /// The cached index, if it is there and readable. Anything else at the cache file (a FIFO, a
    /// folder, a huge file) is no cache: the index is fetched and written over it.
    fn cached(&self) -> Option<(Cached, u64)> {
        let text = crate::fs::read(&self.cache_file, crate::fs::Links::Refuse, crate::fs::Cap::State).ok()??;
        let c: Cached = serde_json::from_slice(&text).ok()?;
        (c.url == self.url).then(|| {
            let age = now().saturating_sub(c.fetched_at);
            (c, age)
        })
    }

    /// The index at the registry's current HEAD (or the cached one when it is less than an hour old
    /// and `refresh` is off). `also` names paths whose files are fetched together with the index.
    pub fn snapshot(&self, refresh: bool, also: &[&str]) -> Result<Snapshot> {
        if !self.repo.is_local() && !refresh {
            if let Some((c, age)) = self.cached() {
                if age < CACHE_SECONDS {
                    if let Ok(commit) = ObjectId::from_hex(c.commit.as_bytes()) {
                        return Ok(Snapshot { commit, index: c.index, stale_because: None });
                    }
                }
            }
        }
        match self.latest(also) {
            Ok(s) => Ok(s),
            Err(e @ Error::Interrupted) => Err(e),
            Err(e) => match self.cached() {
                Some((c, age)) if !self.repo.is_local() => {
                    let why = format!("{e}; using the index cached {}", crate::text::ago(age));
                    let commit = ObjectId::from_hex(c.commit.as_bytes()).map_err(|_| e)?;
                    Ok(Snapshot { commit, index: c.index, stale_because: Some(why) })
                }
                _ => Err(e),
            },
        }
    }

    /// The index at the registry's HEAD now (no cache, no fallback); refreshes the cache.
    pub fn latest(&self, also: &[&str]) -> Result<Snapshot> {
        let commit = self.repo.head()?;
        let index = self.index_at(commit, also)?;
        if !self.repo.is_local() {
            let cached =
                Cached { url: self.url.clone(), commit: commit.to_string(), fetched_at: now(), index: index.clone() };
            if let Some(dir) = self.cache_file.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = crate::fs::write_atomic(&self.cache_file, &serde_json::to_vec(&cached).expect("serializes"), None);
        }
        Ok(Snapshot { commit, index, stale_because: None })
    }

    /// The index at `commit`, fetching it (and the files under `also`) when needed.
    pub fn index_at(&self, commit: ObjectId, also: &[&str]) -> Result<Index> {
        self.repo.ensure_commit(commit)?;
        let mut paths = vec![INDEX_FILE];
        paths.extend_from_slice(also);
        self.repo.ensure_paths(commit, &paths)?;
        let text = self.repo.read_file(commit, INDEX_FILE)?.ok_or_else(|| Error::Git {
            message: format!("{} has no {INDEX_FILE} at commit {commit}", self.url),
            hints: vec!["is this a registry? `--registry URL` or ATK_REGISTRY choose another one".into()],
        })?;
        Index::parse(&String::from_utf8_lossy(&text))
            .map_err(|e| inconsistent(&self.url, format!("{INDEX_FILE} cannot be read: {e}")))
    }

    /// The folder of plugin `name` at `commit`: `plugins/<name>` when it is there, else what the
    /// index of that commit says.
    pub fn path_at(&self, commit: ObjectId, name: &str) -> Result<String> {
        self.repo.ensure_commit(commit)?;
        let conventional = format!("plugins/{name}");
        if let Some((_, true)) = self.repo.entry(commit, &conventional)? {
            return Ok(conventional);
        }
        let index = self.index_at(commit, &[])?;
        index.find(name).map(|e| e.path.trim_end_matches('/').to_string()).ok_or_else(|| Error::Git {
            message: format!("the registry {} has no plugin '{name}' at commit {commit}", self.url),
            hints: vec!["was it renamed or removed from the registry? `atk search` lists what it has now".into()],
        })
    }

    /// Writes the plugin `entry` of the registry at `commit` into the empty folder `dest`.
    /// Returns the paths of skipped submodules.
    pub fn materialize(&self, commit: ObjectId, entry: &IndexEntry, dest: &Root) -> Result<Vec<String>> {
        let path = entry.path.trim_end_matches('/');
        if path.is_empty() || RelPath::new(path).is_err() {
            return Err(inconsistent(
                &self.url,
                format!(
                    "the index gives '{}' the path '{}'",
                    crate::text::escape(&entry.name),
                    crate::text::escape(&entry.path)
                ),
            ));
        }
        self.repo.ensure_commit(commit)?;
        self.repo.ensure_paths(commit, &[path])?;
        match self.repo.entry(commit, path)? {
            Some((_, true)) => self.repo.materialize(commit, path, dest),
            _ => Err(inconsistent(
                &self.url,
                format!("the index lists '{}' at {path}/, which does not exist at commit {commit}", entry.name),
            )),
        }
    }
}

impl Index {
    /// The index as `atk registry index` writes it: the upstream layout, plugins sorted by name.
    pub fn to_yaml(&self) -> String {
        let mut plugins = self.plugins.clone();
        plugins.sort_by(|a, b| a.name.cmp(&b.name));
        let index = Index { schema_version: self.schema_version.clone(), plugins };
        crate::yaml::to_string(&yaml_serde::to_value(&index).expect("an index converts to YAML"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_published_index_format() {
        let index = Index::parse("schema_version: '2026-01-23'\nplugins:\n- name: fetch\n  path: plugins/fetch\n  description: Web content\n    fetching\n").unwrap();
        assert_eq!(index.plugins[0].description, "Web content fetching");
        assert_eq!(index.find("fetch").unwrap().path, "plugins/fetch");
        assert!(index.find("Fetch").is_none());
        assert_eq!(index.near("fetc"), ["fetch"]);
        assert_eq!(index.search("CONTENT").len(), 1);
    }

    #[test]
    fn an_unquoted_schema_version_is_read() {
        assert_eq!(Index::parse("schema_version: 2026-01-23\nplugins: []\n").unwrap().schema_version, "2026-01-23");
    }

    /// The cached index is atk's own file: anything there that is not a regular file of a sane
    /// size is no cache (the index is fetched and written over it), at once, never a hang.
    #[test]
    fn a_cache_that_is_not_a_regular_file_is_no_cache() {
        let t = tempfile::tempdir().unwrap();
        let cache = crate::source::git::Cache { root: t.path().to_path_buf(), waits: Default::default() };
        let reg = Registry::open("https://registry.invalid/r.git", &cache).unwrap();
        std::fs::create_dir_all(reg.cache_file.parent().unwrap()).unwrap();
        let cached = Cached {
            url: reg.url.clone(),
            commit: "0".repeat(40),
            fetched_at: now(),
            index: Index::parse("schema_version: '2026-01-23'\nplugins: []\n").unwrap(),
        };
        std::fs::write(&reg.cache_file, serde_json::to_vec(&cached).unwrap()).unwrap();
        assert!(reg.cached().is_some(), "a real cache is read");
        std::fs::remove_file(&reg.cache_file).unwrap();
        let fifo = reg.cache_file.clone();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(reg.cached().is_none()));
        assert!(rx.recv_timeout(std::time::Duration::from_secs(5)).expect("no hang on a FIFO"));
    }

    #[test]
    fn registry_url_precedence() {
        assert_eq!(url(Some("a"), Some("b")), "a");
        assert_eq!(url(Some(""), Some("b")), "b");
        assert_eq!(url(None, Some("b")), "b");
        assert_eq!(url(None, None), DEFAULT_URL);
    }
}
