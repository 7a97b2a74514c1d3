//! atk owns the launch: agents are told to start a plugin's stdio MCP server as
//! `/abs/atk exec --home /abs/home <directory>`, and `atk exec` reads the plugin's values and secrets
//! from the home and becomes the server. What agents hold is this entry, never a secret; what an
//! entry is, is also how atk knows an agent's entry is its own ([`Launcher::runs`]).

use std::path::{Path, PathBuf};

use super::mcp::{Server, Transport};
use crate::error::{Error, Result};
use crate::home::{Entry, Home};
use crate::plugin::env::Outer;

/// How agents start atk: its program and the home it serves.
#[derive(Debug, Clone, Default)]
pub struct Launcher {
    /// This program (absolute).
    pub atk: PathBuf,
    /// The home, as the command was given it.
    pub home: PathBuf,
}

impl Launcher {
    /// The word `exec` and what follows it, for the plugin in `directory`. The home is always
    /// named: without it, `atk exec` would take `$ATK_HOME`, which some agents pass to servers and
    /// others do not, so one entry could start another home's plugin. It is named as the user
    /// names it (absolute, links kept), so that a home behind a link can move.
    pub fn args(&self, directory: &str) -> Vec<String> {
        let home = absolute(&self.home).to_string_lossy().into_owned();
        vec!["exec".into(), "--home".into(), home, directory.to_string()]
    }

    pub fn command(&self) -> String {
        self.atk.to_string_lossy().into_owned()
    }

    /// Why agents cannot be given this launch: atk's path or the home's holds characters some
    /// agent rewrites before it starts the server (`$` and `${…}` for Claude Code, Gemini and
    /// Auggie, `{env:…}`/`{file:…}` for OpenCode, a backquote for Auggie's shell), or is not
    /// UTF-8 (agents keep JSON and TOML text).
    pub fn problem(&self) -> Option<String> {
        let home = absolute(&self.home);
        for (what, path) in [("atk's own path", &self.atk), ("the home's path", &home)] {
            let Some(text) = path.to_str() else {
                return Some(format!("{what} ({}) is not UTF-8, which agents' files cannot hold", path.display()));
            };
            if let Some(c) = text.chars().find(|c| matches!(c, '$' | '`' | '{' | '}' | '\\' | '"') || c.is_control()) {
                return Some(format!(
                    "{what} ({}) holds {:?}, which agents rewrite before they start a server",
                    crate::text::escape(text),
                    c
                ));
            }
        }
        None
    }

    /// Whether `command args` is `atk exec` of the plugin in `directory` of this home: the
    /// program is one absolute path to an `atk` (this one, or one installed elsewhere now or
    /// then), nothing a shell would read otherwise, and its words are exactly what
    /// [`Launcher::args`] gives for this home.
    pub fn runs(&self, command: &str, args: &[String], directory: &str) -> bool {
        self.launch_in(command, args).is_some_and(|(home, plugin)| plugin == directory && same_place(home, &self.home))
    }

    /// The home and plugin folder an `atk exec` entry starts, when `command args` is one.
    pub fn launch_in<'a>(&self, command: &str, args: &'a [String]) -> Option<(&'a Path, &'a str)> {
        let program = Path::new(command);
        let plain = command.starts_with('/')
            && !command.chars().any(|c| c.is_whitespace() || c.is_control() || "'\"\\$`;&|<>(){}*?[]#~!".contains(c));
        let is_atk = program == self.atk || (plain && program.file_name().is_some_and(|n| n == "atk"));
        match args {
            [exec, flag, home, plugin] if is_atk && exec == "exec" && flag == "--home" => {
                Some((Path::new(home.as_str()), plugin.as_str()))
            }
            _ => None,
        }
    }

    /// Whether `home` is this launch's home.
    pub fn is_home(&self, home: &Path) -> bool {
        same_place(home, &self.home)
    }
}

/// `p` made absolute without resolving links, `.` and `..` taken out as written (a `..` in an
/// agent's entry would lead nowhere once the folder atk ran from is gone).
fn absolute(p: &Path) -> PathBuf {
    let p = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

fn same_place(a: &Path, b: &Path) -> bool {
    a == b || absolute(a) == absolute(b) || canonical(a) == canonical(b)
}

impl Server {
    /// The server as agents are given it, under `name`: a stdio server becomes `atk exec` of the
    /// plugin (no variable, no secret: `atk exec` reads them when the agent starts it); a remote
    /// one keeps its endpoint, without variables (agents connect to a URL; none passes them).
    pub fn given(&self, launcher: &Launcher, directory: &str, name: &str) -> Server {
        let (transport, shown_transport) = match &self.transport {
            Transport::Stdio { .. } => {
                let exec = Transport::Stdio { command: launcher.command(), args: launcher.args(directory) };
                (exec.clone(), exec)
            }
            Transport::Remote { .. } => (self.transport.clone(), self.shown_transport.clone()),
        };
        Server {
            name: name.to_string(),
            transport,
            shown_transport,
            env: vec![],
            optional_unset: vec![],
            ..self.clone()
        }
    }

    /// The server as `atk exec` runs it: each floating package or image its command names (`found`)
    /// in the word its `lock` pins; and the floating ones without a pin (run as written).
    pub fn locked(&self, found: &crate::artifact::Found, lock: &[crate::artifact::Pin]) -> (Server, Vec<String>) {
        let mut server = self.clone();
        let mut unlocked = Vec::new();
        for transport in [&mut server.transport, &mut server.shown_transport] {
            if let Transport::Stdio { args, .. } = transport {
                let (words, floating) = crate::artifact::locked_args(args, found, lock);
                *args = words;
                unlocked = floating;
            }
        }
        (server, unlocked)
    }

    /// [`Server::locked`] by what `plugin` (in `dir`) runs from registries: the server as `atk
    /// exec` runs it, with the plugin's `lock`.
    pub fn as_run(
        &self,
        plugin: &crate::plugin::Plugin,
        dir: &Path,
        lock: &[crate::artifact::Pin],
    ) -> (Server, Vec<String>) {
        let found = crate::artifact::of_plugin(plugin, |f| crate::plugin::text_of(dir, f));
        self.locked(&found, lock)
    }

    /// Whether the endpoint of a remote server holds a secret value (substituted into its URL):
    /// agents are then given that secret in their configuration, which a plan says.
    pub fn url_holds_secret(&self) -> bool {
        match (&self.transport, &self.shown_transport) {
            (Transport::Remote { url, .. }, Transport::Remote { url: shown, .. }) => {
                url != shown || self.output_scrubber().scrub(url) != *url
            }
            _ => false,
        }
    }
}

/// The MCP server of a plugin as `atk mcp` shows it: as `atk exec` runs it (with the versions and
/// digests the plugin's lock pins), with the agents' target it is plugged as.
pub struct AsRun {
    pub target: super::Target,
    pub server: Server,
    /// Packages and images the server runs that have no pin in the manifest (run as written).
    pub unlocked: Vec<String>,
}

/// [`AsRun`] of `entry`, which must have an MCP server.
pub fn as_run(home: &Home, entry: &Entry, outer: Outer) -> Result<AsRun> {
    let (target, plugin) = super::target::target_and_plugin(home, entry, outer)?;
    let Some(server) = &target.server else {
        return Err(Error::plugin_refused(
            format!("'{}' has no MCP server (no mcp section in its plugin.yaml)", crate::text::escape(&target.name)),
            vec![],
        ));
    };
    let (server, unlocked) = server.as_run(&plugin, &target.dir, &entry.lock);
    Ok(AsRun { target, server, unlocked })
}

/// A server as `atk mcp` shows it.
pub struct Shown {
    pub server: Server,
    /// With an agent named: the entry `atk plug` gives that agent, in its own format.
    pub snippet: Option<String>,
    /// Whether a secret value was masked.
    pub hidden: bool,
}

impl AsRun {
    /// The server, and with `for_agent` that agent's entry for it (`atk exec` of the plugin, a
    /// remote server's URL, under the name that agent is given it), with the plugin's secrets and
    /// `environment`'s (a value may repeat a `GITHUB_TOKEN` pasted into a URL) masked unless
    /// `show_secrets`.
    pub fn shown(
        &self,
        home: &Home,
        launcher: &Launcher,
        environment: &[String],
        for_agent: Option<super::AgentId>,
        show_secrets: bool,
    ) -> Shown {
        let mut with_environment = self.server.clone();
        with_environment.secrets.extend_from_slice(environment);
        let server = if show_secrets { self.server.clone() } else { with_environment.masked() };
        let mut hidden = !show_secrets && server != with_environment && for_agent.is_none();
        let snippet = for_agent.map(|agent| {
            let registered = super::Registered::load(&super::registered_path(home)).unwrap_or_default();
            let name = super::names::server_name(agent, &self.target, &registered);
            let given = super::Target { server_name: name, ..self.target.clone() }
                .given(launcher)
                .expect("the plugin has a server");
            agent.agent().snippet(&if show_secrets { given } else { given.masked() })
        });
        // A remote server's URL that holds a secret is masked in the snippet too.
        hidden |= snippet.as_deref().is_some_and(|s| s.contains(crate::plugin::secret::MASK));
        Shown { server, snippet, hidden }
    }
}

/// What `atk exec` runs: the server's program, its arguments and the variables it is given.
#[derive(Debug)]
pub struct Launch {
    pub program: String,
    /// The program as it may be shown: secrets substituted into it masked.
    pub shown_program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Required variables without a value (the server starts without them).
    pub missing: Vec<String>,
    /// Packages and images the server runs that have no pin in the manifest (run as written).
    pub unlocked: Vec<String>,
}

/// The launch of `entry`'s stdio MCP server: the plugin must be in the home at its pin, have an
/// MCP server, and that server must be a command (a remote one is reached at its URL).
pub fn launch(home: &Home, entry: &Entry, outer: Outer) -> Result<Launch> {
    let dir = home.plugin_dir(&entry.directory);
    if crate::plugin::definition_file(&dir).is_none() {
        return Err(Error::NotInstalled { directory: entry.directory.clone() });
    }
    if entry.source.kind != crate::home::SourceKind::Local {
        let pinned = crate::source::origin::pinned(entry)?;
        let installed = crate::source::origin::installed_ref(home, &entry.directory)?;
        if installed != Some(pinned) {
            return Err(Error::conflict(
                format!(
                    "the files of '{}' are not at its pinned commit {}",
                    crate::text::escape(&entry.name),
                    pinned.to_hex_with_len(7)
                ),
                vec![format!("bring them there with `atk install {}`", entry.directory)],
            ));
        }
    }
    let plugin = crate::plugin::load(&dir)?;
    let server = Server::resolve(&plugin, &dir, outer)?.ok_or_else(|| {
        Error::plugin_refused(
            format!("'{}' has no MCP server (no mcp section in its plugin.yaml)", crate::text::escape(&entry.name)),
            vec![format!(
                "an agent entry that runs `atk exec {}` is stale: `atk unplug {}` removes it",
                entry.directory, entry.directory
            )],
        )
    })?;
    // What the plugin runs from a registry, as its lock has it.
    let (server, unlocked) = server.as_run(&plugin, &dir, &entry.lock);
    let (program, args) = match &server.transport {
        Transport::Stdio { command, args } => (command.clone(), args.clone()),
        Transport::Remote { .. } => {
            return Err(Error::plugin_refused(
                format!(
                    "'{}' is a remote MCP server: agents connect to its URL, and atk exec starts only commands",
                    crate::text::escape(&entry.name)
                ),
                vec![format!("`atk mcp {}` shows its endpoint", entry.directory)],
            ))
        }
    };
    if program.is_empty() {
        return Err(Error::plugin_refused(
            format!("'{}' has an MCP server without a command", crate::text::escape(&entry.name)),
            vec!["give its `mcp` section a `command` (`atk validate` checks a plugin)".into()],
        ));
    }
    let env = server.resolved_env().into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let shown_program = match server.masked().transport {
        Transport::Stdio { command, .. } => command,
        Transport::Remote { .. } => String::new(),
    };
    Ok(Launch {
        program,
        shown_program,
        args,
        env,
        missing: server.missing().into_iter().map(String::from).collect(),
        unlocked,
    })
}
