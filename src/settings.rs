//! Flags and environment, resolved once per run into one value that is passed down: the library
//! below never reads an environment variable for these.

use std::path::{Path, PathBuf};
use std::time::Duration;

use std::collections::BTreeMap;
use std::ffi::OsString;

use crate::agents::AgentEnv;
use crate::fs::expand_tilde;

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

/// The environment atk was started in, read once at the edge and passed down as a value: the
/// `${VAR}` fallback of `.env` values (as python-dotenv has it), the values named like secrets that
/// what atk repeats is scrubbed of, `--set KEY`'s values, the user's home folder and the agents'
/// locations. (Programs atk runs inherit the real environment.) Values that are not UTF-8 count
/// as unset, as `std::env::var` has them.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// The variables whose names are UTF-8 (only those can be asked for by name).
    vars: BTreeMap<String, OsString>,
}

impl Environment {
    /// This process's environment, as it is now. Called once per run, by the edge.
    pub fn of_process() -> Environment {
        Environment { vars: std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v))).collect() }
    }

    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Environment {
        Environment { vars: vars.into_iter().map(|(k, v)| (k, v.into())).collect() }
    }

    /// The value of `name`, as python-dotenv's `${VAR}` fallback asks for it.
    /// (A value that is not UTF-8 counts as unset, as `std::env::var` has it.)
    pub fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).and_then(|v| v.to_str()).map(str::to_string)
    }

    /// Whether `name` has a UTF-8 value that is not empty.
    pub fn is_set(&self, name: &str) -> bool {
        self.var(name).is_some_and(|v| !v.is_empty())
    }

    /// The value of `name` as the system has it (a path need not be UTF-8).
    pub fn var_os(&self, name: &str) -> Option<&OsString> {
        self.vars.get(name)
    }

    /// The values of the variables named like secrets (`GITHUB_TOKEN`, …): text that may repeat
    /// one (a program that inherited them, a value the user pasted one into) is scrubbed of them.
    pub fn secrets(&self) -> Vec<String> {
        self.vars
            .iter()
            .filter(|(k, _)| crate::plugin::secret::looks_secret(k))
            .filter_map(|(_, v)| v.to_str().map(str::to_string))
            .collect()
    }

    /// The user's home folder: `$HOME`, else what the system says.
    pub fn user_home(&self) -> PathBuf {
        self.var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .or_else(|| directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()))
            .unwrap_or_else(|| PathBuf::from("/"))
    }

    /// Where the agents keep their files, from `CLAUDE_CONFIG_DIR`, `CODEX_HOME`,
    /// `XDG_CONFIG_HOME` (absolute paths only) and `PATH`.
    pub fn agents(&self) -> AgentEnv {
        let dir = |k: &str| self.var_os(k).map(PathBuf::from).filter(|p| p.is_absolute());
        AgentEnv {
            home: self.user_home(),
            claude_config_dir: dir("CLAUDE_CONFIG_DIR"),
            codex_home: dir("CODEX_HOME"),
            xdg_config_home: dir("XDG_CONFIG_HOME"),
            path: self.var_os("PATH").cloned(),
            macos: cfg!(target_os = "macos"),
            secrets: self.secrets(),
        }
    }
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
        Settings {
            home: given(home).unwrap_or_else(|| user_home.join(".atk")),
            registry: registry.filter(|r| !r.is_empty()).map(str::to_string),
            cache_dir: given(cache_dir).unwrap_or_else(|| default_cache_dir(&user_home)),
            waits,
            agents: environment.agents(),
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
