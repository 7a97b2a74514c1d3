//! The environment atk was started in, as a value: read once by the edge (`cli`), passed down.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

/// The variable a backup's passphrase may be given in. It is atk's, for the archive: no program
/// atk starts (a plugin's commands and scripts, docker, git, an agent, the server `atk exec`
/// becomes) gets it in its environment ([`Environment::of_process`] takes it out).
pub const PASSPHRASE_VAR: &str = "ATK_BACKUP_PASSPHRASE";

/// The environment atk was started in, read once at the edge and passed down as a value: the
/// `${VAR}` fallback of `.env` values (as python-dotenv has it), the values named like secrets that
/// what atk repeats is scrubbed of, `--set KEY`'s values, the user's home folder and the agents'
/// locations. (Programs atk runs inherit the real environment.) Values that are not UTF-8 count
/// as unset, as `std::env::var` has them.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// The variables whose names are UTF-8 (only those can be asked for by name).
    vars: BTreeMap<String, OsString>,
    /// The values of those named like secrets, found once.
    secrets: Vec<String>,
    /// This program, as the system has it: what agents are told to run (`atk exec`).
    exe: Option<PathBuf>,
}

impl Environment {
    /// This process's environment, as it is now. Called once per run, by the edge, before any
    /// thread starts: the variables that are atk's alone ([`PASSPHRASE_VAR`]) are kept in the
    /// value and taken out of the process's own environment, which every program atk starts
    /// inherits.
    pub fn of_process() -> Environment {
        let vars: BTreeMap<String, OsString> =
            std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v))).collect();
        std::env::remove_var(PASSPHRASE_VAR);
        let exe = invoked_as(std::env::args_os().next(), vars.get("PATH")).or_else(|| std::env::current_exe().ok());
        Environment { exe, ..Environment::of(vars) }
    }

    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Environment {
        Environment::of(vars.into_iter().map(|(k, v)| (k, v.into())).collect())
    }

    fn of(vars: BTreeMap<String, OsString>) -> Environment {
        let secrets = vars
            .iter()
            .filter(|(k, _)| crate::plugin::secret::looks_secret(k))
            .filter_map(|(_, v)| v.to_str().map(str::to_string))
            .collect();
        Environment { vars, secrets, exe: None }
    }

    /// The same environment, with `exe` as this program's path.
    ///
    /// (See [`invoked_as`] for which path that is.)
    pub fn with_exe(self, exe: PathBuf) -> Environment {
        Environment { exe: Some(exe), ..self }
    }

    /// This program's path (`std::env::current_exe`), when the system says.
    pub fn exe(&self) -> Option<&PathBuf> {
        self.exe.as_ref()
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
    pub fn secrets(&self) -> &[String] {
        &self.secrets
    }

    /// The user's home folder: `$HOME`, else what the system says.
    pub fn user_home(&self) -> PathBuf {
        self.var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .or_else(|| directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()))
            .unwrap_or_else(|| PathBuf::from("/"))
    }
}

/// This program as the user invoked it (`argv[0]`, made absolute, or found on `PATH`), links
/// kept, when it is the running program: a package manager's stable link
/// (`/opt/homebrew/bin/atk`) outlives the versioned file it leads to, which agents would otherwise
/// be told to run. `None` when that cannot be told.
fn invoked_as(argv0: Option<OsString>, path: Option<&OsString>) -> Option<PathBuf> {
    let argv0 = PathBuf::from(argv0?);
    let running = std::fs::canonicalize(std::env::current_exe().ok()?).ok()?;
    let candidate = if argv0.components().count() > 1 {
        std::path::absolute(&argv0).ok()?
    } else {
        std::env::split_paths(path?).map(|d| d.join(&argv0)).find(|p| p.is_file())?
    };
    let candidate = std::path::absolute(candidate).ok()?;
    (std::fs::canonicalize(&candidate).ok()? == running).then_some(candidate)
}
