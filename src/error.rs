//! The one error type of atk. Every failure a user can see is a variant here, with its exit code
//! and the hints that tell the user what to run next.

use std::path::PathBuf;

/// Exit codes, shared with the Python CLI (see the README's table).
pub mod exit {
    pub const SUCCESS: u8 = 0;
    pub const GENERAL: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const NO_HOME: u8 = 3;
    pub const PLUGIN_NOT_FOUND: u8 = 4;
    pub const PLUGIN_INVALID: u8 = 5;
    pub const LIFECYCLE: u8 = 6;
    pub const GIT: u8 = 7;
    pub const ENV_NOT_CONFIGURED: u8 = 8;
    pub const PORT_CONFLICT: u8 = 9;
    pub const INTERRUPTED: u8 = 130;
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The pattern of the errors that carry hints of their own (a message and its hints), binding
/// them to `$hints`: what [`Error::hints`] returns and [`Error::with_hint`] adds to.
macro_rules! carries_hints {
    ($hints:ident) => {
        Error::PluginRefused { hints: $hints, .. }
            | Error::UnsafePath { hints: $hints, .. }
            | Error::AgentConfig { hints: $hints, .. }
            | Error::Conflict { hints: $hints, .. }
            | Error::NothingToDo { hints: $hints, .. }
            | Error::Damaged { hints: $hints, .. }
            | Error::Git { hints: $hints, .. }
            | Error::Registry { hints: $hints, .. }
            | Error::Other { hints: $hints, .. }
    };
}

/// Cloneable, so that one failure of a source can be reported for each plugin it fails, with its
/// own kind, exit code and hints.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The command line asks for something that cannot be done as asked.
    #[error("{message}")]
    Usage { message: String, hint: Option<String> },

    /// No ATK Home where one was expected.
    #[error("no ATK Home at {}", path.display())]
    NoHome { path: PathBuf },

    /// `atk init` was pointed at something that is not, and cannot become, a home.
    #[error("{} is not an ATK Home: {}", path.display(), problems.join("; "))]
    NotAHome { path: PathBuf, problems: Vec<String> },

    /// `manifest.yaml` could not be read or does not have the expected shape.
    #[error("{}: {detail}", path.display())]
    Manifest { path: PathBuf, detail: String },

    /// The identifier names no plugin of the manifest.
    #[error("no plugin named '{id}' in the manifest")]
    PluginNotFound { id: String, near: Vec<String>, stray_dir: bool },

    /// A plugin definition breaks the schema; `problems` lists every rule it breaks.
    #[error("{what} is not a valid plugin")]
    PluginInvalid { what: String, problems: Vec<String> },

    /// The plugin (by directory or by name) is already in the manifest.
    #[error("plugin '{name}' is already installed (directory plugins/{directory})")]
    AlreadyInstalled { name: String, directory: String },

    /// The plugin, or the source it is to come from, is refused for the reason the message gives
    /// (exit 5, as an invalid plugin): a source that holds no plugin (a path that does not exist,
    /// a repository without `.atk/plugin.yaml`, a name the registry does not have), a URL atk will
    /// not use, a definition atk cannot act on (broken where its lifecycle must run, a name agents
    /// cannot take), a script of the plugin that cannot run, a registry with invalid plugins.
    #[error("{message}")]
    PluginRefused { message: String, details: Vec<String>, hints: Vec<String> },

    /// A path atk will not follow, read, write or create (exit 5): a link that leads out of its
    /// folder or lies on the way, a name that cannot be a file name here, folders nested deeper
    /// than atk walks, a folder that holds the home. Mostly what a source brings; also a link the
    /// user put in a plugin's folder (a `.env`). (A home whose `plugins/`, a plugin's folder or
    /// `.git/atk` is a link is refused as a whole, with [`Error::Other`], exit 1.)
    #[error("{message}")]
    UnsafePath { message: String, hints: Vec<String> },

    /// A coding agent's own configuration file that atk cannot read or will not change (exit 1,
    /// like any file of the user's atk cannot read): not a regular file, a link to nothing, not
    /// text, JSON it cannot edit, a file of the user's where atk's skill link would go.
    #[error("{message}")]
    AgentConfig { message: String, hints: Vec<String> },

    /// The state of the home (or of the folder the command works on) does not allow the operation
    /// now (exit 1): uncommitted changes, a last commit undo must not revert, a folder in the way,
    /// a plugin's files missing, a folder that changed while it was read. Once the user changes
    /// that state, the same command can work.
    #[error("{message}")]
    Conflict { message: String, hints: Vec<String> },

    /// There is nothing for the command to act on (exit 1, as `git commit` with nothing to
    /// commit): nothing to undo, no earlier pin, no agent found, a local plugin that has no pin to
    /// compare or roll back, no backup to restore. (Where the Python CLI refuses the same with 5
    /// — nothing to plug, no MCP server to print, `upgrade` of a local plugin — it is
    /// [`Error::PluginRefused`].)
    #[error("{message}")]
    NothingToDo { message: String, hints: Vec<String> },

    /// A file atk wrote and reads back (a backup, an export, the journal of an operation) that is
    /// damaged, or in a format this atk does not read (exit 1): another one, or the atk that wrote
    /// it, is the way.
    #[error("{message}")]
    Damaged { message: String, hints: Vec<String> },

    /// A lifecycle command exited non-zero. `hints` are those added under the usual one (a backup
    /// that stopped the plugin says it is down).
    #[error("{step} of plugin '{plugin}' failed ({status})")]
    Lifecycle { plugin: String, step: String, status: String, hints: Vec<String> },

    /// A git or fetch operation failed.
    #[error("{message}")]
    Git { message: String, hints: Vec<String> },

    /// A package or image registry could not be asked, or its answer could not be used (exit 7,
    /// as a source that cannot be fetched): down, refusing, not the protocol it should speak.
    #[error("{message}")]
    Registry { message: String, hints: Vec<String> },

    /// A git server stopped sending anything (or never answered) for `seconds`.
    #[error("{url} did not answer for {seconds}s; gave up")]
    NetStalled { url: String, seconds: u64 },

    /// Required environment variables have no value: (plugin directory, variables) pairs.
    /// `retry` is the command that takes the values with `--set` when it runs again (`atk add
    /// ./x`, `atk upgrade x`): the plugin is not (or not yet in this version) where `atk setup`
    /// can set them. Without it, `atk setup <plugin>` is the way.
    #[error("required environment variables have no value: {}", describe_missing(missing))]
    EnvMissing { missing: Vec<(String, Vec<String>)>, retry: Option<String> },

    /// Another atk holds a lock (the home's, or a cache repository's) for too long; `what` is what
    /// it is doing ("changing <home>", "fetching <source> into the cache").
    #[error("another atk is {what} and did not finish within {seconds}s")]
    Locked { what: String, seconds: u64 },

    /// The user pressed Ctrl-C (or the process got SIGTERM).
    #[error("interrupted")]
    Interrupted,

    /// A decision needs a person, and there is none at the terminal.
    #[error("{message}")]
    NeedsConfirmation { message: String, hint: String },

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::sync::Arc<std::io::Error>,
    },

    #[error("{message}")]
    Other { message: String, hints: Vec<String> },

    /// Ports a plugin needs are taken: (plugin name, port, what the plugin uses it for).
    #[error("{}", describe_ports(conflicts))]
    PortConflict { conflicts: Vec<(String, u16, Option<String>)> },

    /// A file atk reads is not a regular file it may read (a FIFO, a socket, a device, a folder, a
    /// link where none may be or that leads out of its folder, too big, not text): see `fs::read`.
    #[error("cannot read {}: {why}", path.display())]
    Unreadable { path: PathBuf, why: String, hint: String, of_plugin: bool },

    /// The plugin is in the manifest but its folder is not in the home (a fresh clone).
    #[error("plugin '{directory}' is not installed here (no plugin.yaml in plugins/{directory})")]
    NotInstalled { directory: String },

    /// An error with hints the operation it stopped adds under its own (a backup that stopped a
    /// plugin says how to start it again): the error's kind, exit code, message and details.
    #[error("{error}")]
    Hinted { error: Box<Error>, hints: Vec<String> },
}

fn describe_ports(conflicts: &[(String, u16, Option<String>)]) -> String {
    let each: Vec<String> = conflicts
        .iter()
        .map(|(plugin, port, what)| match what {
            Some(what) => format!("port {port} ('{plugin}' uses it for {what})"),
            None => format!("port {port} (needed by '{plugin}')"),
        })
        .collect();
    let verb = if conflicts.len() == 1 { "is" } else { "are" };
    format!("{} {verb} already in use by another process", each.join(", "))
}

/// ` --set A=VALUE --set B=VALUE`: the flags that give `keys` their values.
fn sets_of(keys: &[&String]) -> String {
    keys.iter().map(|k| format!(" --set {k}=VALUE")).collect()
}

fn describe_missing(missing: &[(String, Vec<String>)]) -> String {
    missing.iter().map(|(dir, vars)| format!("{} in plugin '{dir}'", vars.join(", "))).collect::<Vec<_>>().join("; ")
}

pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// An error as programs read it (`--json`): in a report of many plugins, or as the whole document
/// of a failed command (`{"error": …}`).
#[derive(Debug, serde::Serialize)]
pub struct ErrorDoc {
    pub code: u8,
    pub kind: &'static str,
    pub message: String,
    pub details: Vec<String>,
    pub hints: Vec<String>,
}

impl From<&Error> for ErrorDoc {
    fn from(e: &Error) -> Self {
        ErrorDoc {
            code: e.exit_code(),
            kind: e.kind(),
            message: e.to_string(),
            details: e.details().to_vec(),
            hints: e.hints(),
        }
    }
}

impl Error {
    /// The kind of failure, for programs (`--json`): stable snake_case words.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Usage { .. } => "usage",
            Error::NoHome { .. } => "no_home",
            Error::NotAHome { .. } => "not_a_home",
            Error::Manifest { .. } => "manifest",
            Error::PluginNotFound { .. } => "plugin_not_found",
            Error::PluginInvalid { .. } => "plugin_invalid",
            Error::AlreadyInstalled { .. } => "already_installed",
            Error::PluginRefused { .. } => "plugin_refused",
            Error::UnsafePath { .. } => "unsafe_path",
            Error::AgentConfig { .. } => "agent_config",
            Error::Conflict { .. } => "conflict",
            Error::NothingToDo { .. } => "nothing_to_do",
            Error::Damaged { .. } => "damaged",
            Error::Lifecycle { .. } => "lifecycle",
            Error::Git { .. } => "git",
            Error::Registry { .. } => "registry",
            Error::NetStalled { .. } => "network_stalled",
            Error::EnvMissing { .. } => "env_missing",
            Error::Locked { .. } => "locked",
            Error::Interrupted => "interrupted",
            Error::NeedsConfirmation { .. } => "needs_confirmation",
            Error::Io { .. } => "io",
            Error::Other { .. } => "other",
            Error::PortConflict { .. } => "port_conflict",
            Error::NotInstalled { .. } => "not_installed",
            Error::Unreadable { .. } => "unreadable",
            Error::Hinted { error, .. } => error.kind(),
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage { .. } | Error::NeedsConfirmation { .. } => exit::USAGE,
            Error::NoHome { .. } => exit::NO_HOME,
            Error::PluginNotFound { .. } => exit::PLUGIN_NOT_FOUND,
            Error::PluginInvalid { .. }
            | Error::AlreadyInstalled { .. }
            | Error::PluginRefused { .. }
            | Error::UnsafePath { .. } => exit::PLUGIN_INVALID,
            Error::Lifecycle { .. } => exit::LIFECYCLE,
            Error::Git { .. } | Error::Registry { .. } | Error::NetStalled { .. } => exit::GIT,
            Error::EnvMissing { .. } => exit::ENV_NOT_CONFIGURED,
            Error::PortConflict { .. } => exit::PORT_CONFLICT,
            Error::NotInstalled { .. } => exit::GENERAL,
            Error::Unreadable { of_plugin: true, .. } => exit::PLUGIN_INVALID,
            Error::Unreadable { of_plugin: false, .. } => exit::GENERAL,
            Error::Interrupted => exit::INTERRUPTED,
            Error::Hinted { error, .. } => error.exit_code(),
            Error::NotAHome { .. }
            | Error::Manifest { .. }
            | Error::AgentConfig { .. }
            | Error::Conflict { .. }
            | Error::NothingToDo { .. }
            | Error::Damaged { .. }
            | Error::Locked { .. }
            | Error::Io { .. }
            | Error::Other { .. } => exit::GENERAL,
        }
    }

    /// Lines printed under the error, each the next thing to try.
    pub fn hints(&self) -> Vec<String> {
        match self {
            Error::Usage { hint, .. } => hint.iter().cloned().collect(),
            Error::NeedsConfirmation { hint, .. } => vec![hint.clone()],
            Error::NoHome { path } => vec![format!("create one with `atk init {}`", path.display())],
            Error::NotAHome { .. } => vec!["choose an empty or new directory, e.g. `atk init ~/.atk`".into()],
            Error::Manifest { .. } => {
                vec!["fix the file by hand; `atk git diff manifest.yaml` shows what changed since the last commit"
                    .into()]
            }
            Error::PluginNotFound { id, near, stray_dir } => {
                let mut h = Vec::new();
                if !near.is_empty() {
                    h.push(format!(
                        "did you mean {}?",
                        near.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(" or ")
                    ));
                }
                if *stray_dir {
                    h.push(format!(
                        "plugins/{id} exists but is not managed by atk; delete it by hand if it is not needed"
                    ));
                }
                h.push("`atk list` shows the installed plugins".into());
                h
            }
            Error::PluginInvalid { .. } => {
                vec!["fix the fields above; `atk validate <path>` checks a plugin folder".into()]
            }
            Error::AlreadyInstalled { directory, .. } => vec![
                format!("to move it to a newer version: `atk upgrade {directory}`"),
                format!("to replace it: `atk remove {directory}`, then add it again"),
            ],
            carries_hints!(hints) => hints.clone(),
            Error::Lifecycle { hints, .. } => {
                let mut all = vec!["the command's output above says why; fix it and run the command again".to_string()];
                all.extend(hints.iter().cloned());
                all
            }
            Error::EnvMissing { missing, retry: Some(command) } => {
                let keys: Vec<&String> = missing.iter().flat_map(|(_, vars)| vars).collect();
                vec![format!("give the values: `{command}{}`", sets_of(&keys))]
            }
            Error::EnvMissing { missing, retry: None } => missing
                .iter()
                .map(|(directory, vars)| {
                    let keys: Vec<&String> = vars.iter().collect();
                    format!("set them with `atk setup {directory}{}` (on a terminal, `atk setup {directory}` asks)", sets_of(&keys))
                })
                .collect(),
            Error::Locked { .. } => {
                vec!["wait for the other atk to finish; set ATK_LOCK_TIMEOUT (seconds) to wait longer".into()]
            }
            Error::NetStalled { .. } => vec![
                "check your network connection and that the server is up; set ATK_NET_TIMEOUT (seconds) to wait longer"
                    .into(),
            ],
            Error::Interrupted => vec![],
            Error::Unreadable { hint, .. } => vec![hint.clone()],
            Error::Io { .. } => vec![],
            Error::PortConflict { .. } => vec![
                "stop whatever listens there (`ss -ltnp` or `lsof -i :PORT` shows it), or change the plugin's port in custom/overrides.yaml".into(),
            ],
            Error::NotInstalled { directory } => {
                vec![format!("put it in place with `atk install {directory}` (or every plugin: `atk install --all`)")]
            }
            Error::Hinted { error, hints } => error.hints().into_iter().chain(hints.iter().cloned()).collect(),
        }
    }

    /// Lines printed under the error before the hints (the problems of an invalid plugin).
    pub fn details(&self) -> &[String] {
        match self {
            Error::PluginInvalid { problems, .. } | Error::PluginRefused { details: problems, .. } => problems,
            Error::Hinted { error, .. } => error.details(),
            _ => &[],
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::Interrupted && crate::interrupt::is_set() {
            return Error::Interrupted;
        }
        Error::Io { context: context.into(), source: std::sync::Arc::new(source) }
    }

    /// A missing-variables error whose values `command` takes with `--set` when run again (see
    /// [`Error::EnvMissing`]); any other error as it is.
    pub fn retry_with(self, command: impl Into<String>) -> Self {
        match self {
            Error::EnvMissing { missing, .. } => Error::EnvMissing { missing, retry: Some(command.into()) },
            e => e,
        }
    }

    pub fn other(message: impl Into<String>) -> Self {
        Error::Other { message: message.into(), hints: vec![] }
    }

    pub fn usage(message: impl Into<String>, hint: Option<String>) -> Self {
        Error::Usage { message: message.into(), hint }
    }

    pub fn plugin_refused(message: impl Into<String>, hints: Vec<String>) -> Self {
        Error::PluginRefused { message: message.into(), details: vec![], hints }
    }

    /// A refusal with the problems behind it, each a line under the error (`details` in JSON).
    pub fn plugin_refused_with(message: impl Into<String>, details: Vec<String>, hints: Vec<String>) -> Self {
        Error::PluginRefused { message: message.into(), details, hints }
    }

    pub fn unsafe_path(message: impl Into<String>, hints: Vec<String>) -> Self {
        Error::UnsafePath { message: message.into(), hints }
    }

    pub fn agent_config(message: impl Into<String>, hints: Vec<String>) -> Self {
        Error::AgentConfig { message: message.into(), hints }
    }

    pub fn conflict(message: impl Into<String>, hints: Vec<String>) -> Self {
        Error::Conflict { message: message.into(), hints }
    }

    pub fn nothing_to_do(message: impl Into<String>, hints: Vec<String>) -> Self {
        Error::NothingToDo { message: message.into(), hints }
    }

    pub fn damaged(message: impl Into<String>, hints: Vec<String>) -> Self {
        Error::Damaged { message: message.into(), hints }
    }

    /// The error with `hint` added under its own hints; its kind, exit code and message stay.
    /// (Ctrl-C stays [`Error::Interrupted`] as it is, which every caller looks for: the hint is
    /// the caller's to show.)
    pub fn with_hint(mut self, hint: String) -> Self {
        match &mut self {
            Error::Interrupted => {}
            carries_hints!(hints) | Error::Lifecycle { hints, .. } | Error::Hinted { hints, .. } => hints.push(hint),
            _ => return Error::Hinted { error: Box::new(self), hints: vec![hint] },
        }
        self
    }
}

/// `Err(Interrupted)` once the user asked to stop (Ctrl-C, SIGTERM): long operations call it
/// between steps.
pub fn check_interrupt() -> Result<()> {
    if crate::interrupt::is_set() {
        Err(Error::Interrupted)
    } else {
        Ok(())
    }
}

/// Adds a context to I/O results: `fs::read(p).ctx(|| format!("cannot read {}", p.display()))`.
pub trait IoContext<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::io(context(), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_has_its_code_and_kind_and_keeps_its_words() {
        let hints = || vec!["do this".to_string()];
        for (e, code, kind) in [
            (Error::plugin_refused("m", hints()), exit::PLUGIN_INVALID, "plugin_refused"),
            (Error::unsafe_path("m", hints()), exit::PLUGIN_INVALID, "unsafe_path"),
            (Error::agent_config("m", hints()), exit::GENERAL, "agent_config"),
            (Error::conflict("m", hints()), exit::GENERAL, "conflict"),
            (Error::nothing_to_do("m", hints()), exit::GENERAL, "nothing_to_do"),
            (Error::damaged("m", hints()), exit::GENERAL, "damaged"),
        ] {
            let doc = ErrorDoc::from(&e);
            assert_eq!((doc.code, doc.kind), (code, kind), "{e:?}");
            assert_eq!((doc.message.as_str(), doc.hints), ("m", hints()), "{e:?}");
            assert!(doc.details.is_empty(), "{e:?}");
        }
    }

    /// One error of each kind (the match below stops the build when a variant is added).
    fn one_of_each() -> Vec<Error> {
        let s = || "m".to_string();
        let errors = vec![
            Error::usage("m", None),
            Error::NoHome { path: "/h".into() },
            Error::NotAHome { path: "/h".into(), problems: vec![] },
            Error::Manifest { path: "/h".into(), detail: s() },
            Error::PluginNotFound { id: s(), near: vec![], stray_dir: false },
            Error::PluginInvalid { what: s(), problems: vec![] },
            Error::AlreadyInstalled { name: s(), directory: s() },
            Error::plugin_refused("m", vec![]),
            Error::unsafe_path("m", vec![]),
            Error::agent_config("m", vec![]),
            Error::conflict("m", vec![]),
            Error::nothing_to_do("m", vec![]),
            Error::damaged("m", vec![]),
            Error::Lifecycle { plugin: s(), step: s(), status: s(), hints: vec![] },
            Error::Git { message: s(), hints: vec![] },
            Error::Registry { message: s(), hints: vec![] },
            Error::NetStalled { url: s(), seconds: 1 },
            Error::EnvMissing { missing: vec![], retry: None },
            Error::Locked { what: s(), seconds: 1 },
            Error::Interrupted,
            Error::NeedsConfirmation { message: s(), hint: s() },
            Error::Io { context: s(), source: std::sync::Arc::new(std::io::Error::other("m")) },
            Error::other("m"),
            Error::PortConflict { conflicts: vec![] },
            Error::Unreadable { path: "/f".into(), why: s(), hint: s(), of_plugin: true },
            Error::Unreadable { path: "/f".into(), why: s(), hint: s(), of_plugin: false },
            Error::NotInstalled { directory: s() },
            Error::Hinted { error: Box::new(Error::other("m")), hints: vec![] },
        ];
        for e in &errors {
            match e {
                Error::Usage { .. }
                | Error::NoHome { .. }
                | Error::NotAHome { .. }
                | Error::Manifest { .. }
                | Error::PluginNotFound { .. }
                | Error::PluginInvalid { .. }
                | Error::AlreadyInstalled { .. }
                | Error::PluginRefused { .. }
                | Error::UnsafePath { .. }
                | Error::AgentConfig { .. }
                | Error::Conflict { .. }
                | Error::NothingToDo { .. }
                | Error::Damaged { .. }
                | Error::Lifecycle { .. }
                | Error::Git { .. }
                | Error::Registry { .. }
                | Error::NetStalled { .. }
                | Error::EnvMissing { .. }
                | Error::Locked { .. }
                | Error::Interrupted
                | Error::NeedsConfirmation { .. }
                | Error::Io { .. }
                | Error::Other { .. }
                | Error::PortConflict { .. }
                | Error::Unreadable { .. }
                | Error::NotInstalled { .. }
                | Error::Hinted { .. } => {}
            }
        }
        errors
    }

    /// A hint added by the operation an error stopped keeps the error as it is to programs and
    /// people: its kind, code, message and details, its own hints first.
    #[test]
    fn a_hint_added_keeps_the_errors_kind_code_message_and_details() {
        let missing = Error::EnvMissing { missing: vec![("p".into(), vec!["K".into()])], retry: None };
        let hinted = missing.clone().with_hint("start it again".into());
        assert_eq!(
            (hinted.kind(), hinted.exit_code(), hinted.to_string()),
            (missing.kind(), missing.exit_code(), missing.to_string())
        );
        let mut hints = missing.hints();
        hints.push("start it again".into());
        assert_eq!(hinted.hints(), hints);
        // A second hint joins the first, in one wrapper.
        let twice = hinted.with_hint("b".into());
        assert!(
            matches!(&twice, Error::Hinted { error, hints } if !matches!(**error, Error::Hinted { .. }) && hints.len() == 2)
        );
        // An error with hints of its own keeps its variant, details and all.
        let refused = Error::plugin_refused_with("m", vec!["d".into()], vec![]).with_hint("h".into());
        assert!(matches!(refused, Error::PluginRefused { .. }));
        assert_eq!((refused.details(), refused.hints()), (&["d".to_string()][..], vec!["h".to_string()]));
        let unreadable = Error::Unreadable { path: "/f".into(), why: s(), hint: s(), of_plugin: true };
        assert_eq!(unreadable.clone().with_hint("h".into()).exit_code(), unreadable.exit_code());
        // Ctrl-C stays what every caller looks for.
        assert!(matches!(Error::Interrupted.with_hint("h".into()), Error::Interrupted));
    }

    fn s() -> String {
        "m".to_string()
    }

    /// docs/reference.md's exit-code table names every kind in the row of its code.
    #[test]
    fn the_exit_code_table_names_every_kind_with_its_code() {
        let doc = include_str!("../docs/reference.md");
        let table = doc.split("## Exit codes").nth(1).expect("the section");
        let rows: Vec<(u8, &str)> = table
            .lines()
            .skip_while(|l| !l.starts_with("| 0 "))
            .take_while(|l| l.starts_with('|'))
            .filter_map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                Some((cells.get(1)?.parse().ok()?, *cells.get(3)?))
            })
            .collect();
        for e in one_of_each() {
            let (code, kind) = (e.exit_code(), e.kind());
            let row = rows.iter().find(|(c, _)| *c == code).map(|(_, kinds)| *kinds);
            let listed = row.is_some_and(|kinds| kinds.contains(&format!("`{kind}`")));
            assert!(listed, "kind `{kind}` (exit {code}) is not in the row of {code}: {row:?}");
        }
    }
}
