//! Flags and environment, resolved once per run into one value that is passed down: the library
//! below never reads an environment variable for these.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::fs::{expand_tilde, home_dir};

/// Where atk works and what it talks to.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The ATK Home: `--home`, else `$ATK_HOME`, else `~/.atk`.
    pub home: PathBuf,
    /// The registry asked for: `--registry`, else `$ATK_REGISTRY` (the manifest's
    /// `config.registry` and the public registry come after, see `source::registry::url`).
    pub registry: Option<String>,
    /// Where fetched repositories and registry indexes are kept: `$ATK_CACHE_DIR`, else the
    /// user's cache directory for atk.
    pub cache_dir: PathBuf,
    /// How long atk waits for what others hold or send.
    pub waits: Waits,
}

/// The bounds of atk's waits, resolved once: the lock timeout (`ATK_LOCK_TIMEOUT`, for the home's
/// lock and every cache repository's) and the network stall timeout (`ATK_NET_TIMEOUT`, for every
/// fetch and push).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waits {
    pub lock: Duration,
    pub net: Duration,
}

impl Default for Waits {
    fn default() -> Waits {
        Waits { lock: crate::fs::lock::DEFAULT_TIMEOUT, net: crate::source::net::DEFAULT_TIMEOUT }
    }
}

impl Waits {
    /// From the values of `ATK_LOCK_TIMEOUT` (seconds; a value that is not a number counts as
    /// unset) and `ATK_NET_TIMEOUT` (whole seconds, at least 1: anything else is a usage error).
    pub fn resolve(lock: Option<&str>, net: Option<&str>) -> crate::Result<Waits> {
        let mut waits = Waits::default();
        if let Some(seconds) = lock.and_then(|s| s.parse().ok()) {
            waits.lock = Duration::from_secs(seconds);
        }
        if let Some(value) = net.filter(|v| !v.trim().is_empty()) {
            waits.net = crate::source::net::parse_timeout(value)?;
        }
        Ok(waits)
    }
}

impl Settings {
    /// The cache of fetched repositories, with the waits its fetches keep to.
    pub fn cache(&self) -> crate::source::git::Cache {
        crate::source::git::Cache { root: self.cache_dir.clone(), waits: self.waits }
    }

    /// From the values of the flags and variables (clap reads both; an empty value counts as
    /// unset).
    pub fn resolve(home: Option<&Path>, registry: Option<&str>, cache_dir: Option<&Path>, waits: Waits) -> Settings {
        let given = |p: Option<&Path>| p.filter(|p| !p.as_os_str().is_empty()).map(expand_tilde);
        Settings {
            home: given(home).unwrap_or_else(|| home_dir().join(".atk")),
            registry: registry.filter(|r| !r.is_empty()).map(str::to_string),
            cache_dir: given(cache_dir).unwrap_or_else(default_cache_dir),
            waits,
        }
    }
}

/// The user's cache directory for atk.
fn default_cache_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "atk")
        .map(|d| d.cache_dir().to_path_buf())
        .unwrap_or_else(|| home_dir().join(".cache/atk"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_count_as_unset() {
        let s = Settings::resolve(Some(Path::new("")), Some(""), Some(Path::new("")), Waits::default());
        assert_eq!(s.home, home_dir().join(".atk"));
        assert_eq!(s.registry, None);
        assert_eq!(s.cache_dir, default_cache_dir());
        let s = Settings::resolve(Some(Path::new("/h")), Some("r"), Some(Path::new("/c")), Waits::default());
        assert_eq!((s.home, s.registry, s.cache_dir), (PathBuf::from("/h"), Some("r".into()), PathBuf::from("/c")));
    }
}
