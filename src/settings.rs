//! Flags and environment, resolved once per run into one value that is passed down: the library
//! below never reads an environment variable for these.

use std::path::{Path, PathBuf};

use crate::agents::AgentEnv;
pub use crate::environment::Environment;
use crate::fs::expand_tilde;
use crate::home::Manifest;
use crate::source::git::Cache;
pub use crate::source::net::Waits;
use crate::source::origin::Origins;

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
    /// The environment atk was started in.
    pub environment: Environment,
    /// Where the coding agents keep their files, and where their programs are.
    pub agents: AgentEnv,
}

impl Settings {
    /// The cache of fetched repositories, with the waits its fetches keep to.
    pub fn cache(&self) -> Cache {
        Cache { root: self.cache_dir.clone(), waits: self.waits }
    }

    /// Where the plugins of `manifest` come from: the registry (`--registry`, else the
    /// manifest's, else the public one) and the cache.
    pub fn origins(&self, manifest: &Manifest) -> Origins {
        Origins::new(self.registry.as_deref(), manifest, self.cache())
    }

    /// From the values of the flags and variables (clap reads both; an empty value counts as
    /// unset).
    pub fn resolve(
        home: Option<&Path>,
        registry: Option<&str>,
        cache_dir: Option<&Path>,
        waits: Waits,
        environment: Environment,
    ) -> Settings {
        let user_home = environment.user_home();
        let given = |p: Option<&Path>| p.filter(|p| !p.as_os_str().is_empty()).map(|p| expand_tilde(p, &user_home));
        let home = given(home).unwrap_or_else(|| user_home.join(".atk"));
        Settings {
            agents: AgentEnv::of(&environment, &home),
            home,
            registry: registry.filter(|r| !r.is_empty()).map(str::to_string),
            cache_dir: given(cache_dir).unwrap_or_else(|| default_cache_dir(&user_home)),
            waits,
            environment,
        }
    }

    /// `${VAR}` inside `.env` values falls back to the environment atk was started in.
    pub fn outer(&self) -> impl Fn(&str) -> Option<String> + '_ {
        |name| self.environment.var(name)
    }
}

/// The user's cache directory for atk.
fn default_cache_dir(user_home: &Path) -> PathBuf {
    directories::ProjectDirs::from("", "", "atk")
        .map(|d| d.cache_dir().to_path_buf())
        .unwrap_or_else(|| user_home.join(".cache/atk"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_count_as_unset() {
        let env = Environment::from_vars([("HOME".to_string(), "/u".to_string())]);
        let s = Settings::resolve(Some(Path::new("")), Some(""), Some(Path::new("")), Waits::default(), env.clone());
        assert_eq!(s.home, PathBuf::from("/u/.atk"));
        assert_eq!(s.registry, None);
        assert_eq!(s.cache_dir, default_cache_dir(Path::new("/u")));
        let s = Settings::resolve(Some(Path::new("~/h")), None, None, Waits::default(), env.clone());
        assert_eq!(s.home, PathBuf::from("/u/h"));
        let s = Settings::resolve(Some(Path::new("/h")), Some("r"), Some(Path::new("/c")), Waits::default(), env);
        assert_eq!((s.home, s.registry, s.cache_dir), (PathBuf::from("/h"), Some("r".into()), PathBuf::from("/c")));
    }
}
