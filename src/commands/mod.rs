//! One file per command: its arguments, and a `run` that calls the domain and renders the result.
//! The only layer that talks to a person.

pub mod add;
pub mod backup;
pub mod completions;
pub mod diff;
pub mod doctor;
pub mod exec;
pub mod export;
pub mod git;
pub mod help;
pub mod history;
pub mod import;
pub mod init;
pub mod install;
pub mod list;
pub mod logs;
pub mod man;
pub mod mcp;
pub mod new;
pub mod plug;
pub mod registry;
pub mod remove;
pub mod report;
pub mod restart;
pub mod restore;
pub mod rollback;
pub mod run;
pub mod search;
pub mod setup;
pub mod start;
pub mod status;
pub mod stop;
pub mod undo;
pub mod uninstall;
pub mod unplug;
pub mod upgrade;
pub mod validate;

use std::path::{Path, PathBuf};

use crate::data::store::Store;
use crate::error::Result;
use crate::home::{self, Entry, Home, Locked, Manifest};
use crate::lifecycle::Runner;
use crate::plugin::Plugin;
use crate::ui::Ui;

/// What every command gets: the printer and the global flags.
pub struct Ctx {
    pub ui: Ui,
    /// Flags and environment, resolved once.
    pub settings: crate::settings::Settings,
    /// The home this command locked, and whether a commit there is due to be pushed (see
    /// [`Ctx::push_pending`]).
    pub pending_push: std::cell::RefCell<Option<(PathBuf, std::sync::Arc<std::sync::atomic::AtomicBool>)>>,
}

impl Ctx {
    /// The command a hint asks to run again (`atk <words>`), as the user ran it: with `--home` and
    /// `--registry` when they came from the command line (not from the environment or the
    /// default), the command's own `flags` (each word quoted for a shell), `--yes` when given, and
    /// `--set KEY=VALUE` for each key given before (its value is not repeated: it may be a secret).
    pub fn retry(&self, words: &str, flags: &[&str], sets: &[(String, String)]) -> String {
        let env = &self.settings.environment;
        let mut out = String::from("atk");
        let default_home = env.user_home().join(".atk");
        let env_home = env
            .var("ATK_HOME")
            .filter(|h| !h.is_empty())
            .map(|h| crate::fs::expand_tilde(std::path::Path::new(&h), &env.user_home()));
        if self.settings.home != env_home.unwrap_or(default_home) {
            let home = std::path::absolute(&self.settings.home).unwrap_or_else(|_| self.settings.home.clone());
            out.push_str(&format!(" --home {}", crate::lifecycle::shell_quote(&home.to_string_lossy())));
        }
        if let Some(r) = &self.settings.registry {
            if env.var("ATK_REGISTRY").as_deref() != Some(r.as_str()) {
                out.push_str(&format!(" --registry {}", crate::lifecycle::shell_quote(r)));
            }
        }
        out.push(' ');
        out.push_str(words);
        for f in flags {
            out.push(' ');
            out.push_str(&crate::lifecycle::shell_quote(f));
        }
        if self.ui.yes {
            out.push_str(" --yes");
        }
        for (key, _) in sets {
            out.push_str(&format!(" --set {key}=VALUE"));
        }
        out
    }

    pub fn home_path(&self) -> PathBuf {
        self.settings.home.clone()
    }

    /// Opens the home for reading, rolling back what a killed atk left unfinished.
    pub fn open_home(&self) -> Result<Home> {
        let home = Home::open(self.home_path())?;
        if let Some(op) = home.recover_if_abandoned()? {
            self.report_recovery(&op);
        }
        Ok(home)
    }

    /// Opens the home and takes its lock, for a command that changes it.
    pub fn lock_home(&self) -> Result<Locked> {
        let home = Home::open(self.home_path())?;
        let ui = &self.ui;
        let waiting = format!("waiting for another atk to finish changing {} ...", home.root.display());
        let (home, recovered) = home.lock(self.settings.waits.lock, &mut || ui.note(&waiting))?;
        if let Some(op) = recovered {
            self.report_recovery(&op);
        }
        *self.pending_push.borrow_mut() = Some((home.root.clone(), home.push_due()));
        Ok(home)
    }

    fn report_recovery(&self, recovered: &home::Recovered) {
        self.ui.warn(format!(
            "an earlier `{}` was interrupted; the home has been rolled back to how it was before it",
            crate::text::escape(&recovered.operation)
        ));
        for step in &recovered.skipped {
            self.ui.warn(format!(
                "the journal asked to {step}: outside the home, through a link, or not a commit of it; that step was skipped"
            ));
        }
    }

    /// The push a command's commits asked for (best effort: a failure is a warning with a hint,
    /// and the exit code stays the command's). Called after the command returned, which released
    /// the home lock; bounded by the network stall timeout (`ATK_NET_TIMEOUT`) and by Ctrl-C.
    pub fn push_pending(&self) {
        let Some((root, due)) = self.pending_push.borrow_mut().take() else { return };
        if !due.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let stall = self.settings.waits.net;
        let hint = "the change is committed in the home; push it with `atk git push`";
        use home::repo::PushFailure;
        let why = match home::repo::push(&root, stall) {
            Ok(()) => return,
            Err(PushFailure::Cannot(why) | PushFailure::Refused(why)) => why,
            Err(PushFailure::Stalled { remote, seconds }) => format!(
                "git push to '{}' got no answer for {seconds}s and was stopped (ATK_NET_TIMEOUT sets the bound)",
                crate::text::escape(&remote)
            ),
            Err(PushFailure::TimedOut { remote, seconds }) => format!(
                "git push to '{}' did not finish within {seconds}s and was stopped (ATK_NET_TIMEOUT sets the bound)",
                crate::text::escape(&remote)
            ),
            Err(PushFailure::Interrupted) => "git push was interrupted".into(),
        };
        self.ui.warn(format!("auto-push: {why}"));
        self.ui.hint(hint);
    }
}

/// `PLUGIN` or `--all`, for the commands that take either: one group, so that usage lines and
/// the error of a command without either name both (`<PLUGIN|--all>`).
#[derive(clap::Args)]
#[group(required = true, multiple = false)]
pub struct PluginOrAll {
    /// The plugin (directory or name)
    pub plugin: Option<String>,
    /// Every plugin of the manifest, in its order
    #[arg(long)]
    pub all: bool,
}

/// `PLUGIN | --all`, and how long a status probe may take: for the commands that start plugins
/// unless they run already (`start`, `restart`).
#[derive(clap::Args)]
pub struct Probed {
    #[command(flatten)]
    pub target: PluginOrAll,
    /// The longest a plugin's status command may take when checking whether it runs already
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_seconds)]
    pub timeout: std::time::Duration,
}

/// The manifest entry named `id` (directory, else display name), or a not-found error with hints.
pub fn find<'m>(manifest: &'m Manifest, id: &str) -> Result<&'m Entry> {
    index_of(manifest, id).map(|i| &manifest.plugins[i])
}

/// The position of the plugin `id` in the manifest, or a not-found error with hints.
pub fn index_of(manifest: &Manifest, id: &str) -> Result<usize> {
    manifest.index_of(id).ok_or_else(|| crate::Error::PluginNotFound {
        id: id.to_string(),
        near: manifest.near(id),
        stray_dir: false,
    })
}

/// The one plugin named, or every plugin of the manifest (in its order).
pub fn select<'m>(manifest: &'m Manifest, id: Option<&str>) -> Result<Vec<&'m Entry>> {
    match id {
        Some(id) => Ok(vec![find(manifest, id)?]),
        None => Ok(manifest.plugins.iter().collect()),
    }
}

impl Ctx {
    /// Where backups are kept for `home` ([`Store::of_home`]).
    pub fn backup_store(&self, home: &Home, manifest: &Manifest) -> Result<Store> {
        Store::of_home(manifest, &self.settings.environment, &home.root, &home.root)
    }

    /// The passphrase of an encrypted backup: from `file`, else `$ATK_BACKUP_PASSPHRASE`, else
    /// asked on the terminal (twice when `new`). Never empty.
    pub fn passphrase(&self, file: Option<&Path>, new: bool) -> Result<String> {
        let hint = "give it with --passphrase-file FILE or in ATK_BACKUP_PASSPHRASE, or run atk on a terminal";
        let given = if let Some(file) = file {
            let text = crate::fs::read_text(file, crate::fs::Links::Follow, crate::fs::Cap::Env)?
                .ok_or_else(|| crate::Error::usage(format!("{}: no such file", file.display()), Some(hint.into())))?;
            Some(text.trim_end_matches(['\n', '\r']).to_string())
        } else {
            self.settings.environment.var(crate::environment::PASSPHRASE_VAR)
        };
        let passphrase = match given {
            Some(p) => p,
            None if self.ui.interactive => {
                let first = self.ui.secret("Passphrase")?;
                if new && !first.is_empty() && self.ui.secret("The same passphrase again")? != first {
                    return Err(crate::Error::usage("the two passphrases differ", Some("try again".into())));
                }
                first
            }
            None => {
                return Err(crate::Error::usage(
                    "a passphrase is needed, and there is no terminal to ask",
                    Some(hint.into()),
                ))
            }
        };
        if passphrase.is_empty() {
            return Err(crate::Error::usage("the passphrase is empty", Some(hint.into())));
        }
        Ok(passphrase)
    }

    /// A lifecycle runner for a plugin of the home.
    pub fn runner<'a>(&'a self, home: &'a Home, dir: &'a Path, directory: &'a str, plugin: &'a Plugin) -> Runner<'a> {
        Runner::new(&home.root, dir, directory, plugin, &self.ui, &self.settings.environment)
    }

    /// How a path the user typed is read: from `cwd`, `~` as the user's home folder.
    pub fn relative<'a>(&'a self, cwd: &'a Path) -> crate::source::Relative<'a> {
        crate::source::Relative { cwd, user_home: &self.settings.agents.home }
    }

    /// Where plugins' commands run.
    pub fn at<'a>(&'a self, home: &'a Home) -> crate::lifecycle::At<'a> {
        crate::lifecycle::At { root: &home.root, outer: &self.settings.environment }
    }

    /// The values of the environment's variables named like secrets (`GITHUB_TOKEN`, …).
    pub fn environment_secrets(&self) -> &[String] {
        self.settings.environment.secrets()
    }

    /// Names the shipped files of `entry` the user changed (`edited`), which the version at `to`
    /// replaces; nothing when there are none. What a move's confirmation and `--dry-run` show.
    pub fn warn_edited(&self, entry: &Entry, edited: &[String], to: &str) {
        if edited.is_empty() {
            return;
        }
        let shown: Vec<String> = edited.iter().map(|p| crate::text::escape(p).into_owned()).collect();
        self.ui.warn(format!(
            "{} of '{}' changed since it was installed ({}); the version at {to} replaces {} (`atk diff {}` shows the changes)",
            crate::error::plural(edited.len(), "shipped file"),
            crate::text::escape(&entry.name),
            shown.join(", "),
            if edited.len() == 1 { "it" } else { "them" },
            entry.directory
        ));
    }

    /// [`Ctx::warn_edited`], then asks whether to replace them (true when there are none).
    /// `again` is the command to suggest with `--yes`.
    pub fn confirm_edited(&self, entry: &Entry, edited: &[String], to: &str, again: &str) -> Result<bool> {
        if edited.is_empty() {
            return Ok(true);
        }
        self.warn_edited(entry, edited, to);
        let hint = format!("save your changes first, or pass --yes to replace them: {again}");
        self.ui.confirm("Replace your changes?", &hint)
    }

    /// Asks before a plugin moves to the commit `to` (rollback, undo): when the user changed
    /// shipped files the other version replaces, and when the other version changes commands that
    /// run here. `again` is the command to suggest with `--yes`.
    pub fn confirm_move(&self, entry: &Entry, planned: &crate::sync::upgrade::Planned, again: &str) -> Result<bool> {
        let to = report::short(&planned.plan.to);
        let name = crate::text::escape(&entry.name);
        if !self.confirm_edited(entry, &planned.edited, &to, again)? {
            return Ok(false);
        }
        if planned.plan.changes_commands() {
            let hint = format!("review the changes above, then pass --yes: {again}");
            let question = format!("The version of '{name}' at {to} changes commands that run on this machine. Go on?");
            if !self.ui.confirm(&question, &hint)? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// The agents to act on (`plug`, `unplug`).
#[derive(clap::Args, Default)]
#[command(next_help_heading = "Agents")]
pub struct AgentFlags {
    /// Claude Code (`claude mcp`, CLAUDE.md)
    #[arg(long)]
    pub claude: bool,
    /// Codex (`codex mcp`, AGENTS.md)
    #[arg(long)]
    pub codex: bool,
    /// Gemini CLI (`gemini mcp`, ~/.gemini/skills)
    #[arg(long)]
    pub gemini: bool,
    /// Auggie, Augment Code's CLI (`auggie mcp`, ~/.augment/rules)
    #[arg(long)]
    pub auggie: bool,
    /// OpenCode (opencode.jsonc: mcp and instructions)
    #[arg(long)]
    pub opencode: bool,
    /// Cursor (~/.cursor/mcp.json)
    #[arg(long)]
    pub cursor: bool,
    /// VS Code (the user profile's mcp.json)
    #[arg(long)]
    pub vscode: bool,
    /// Windsurf (~/.codeium/windsurf/mcp_config.json)
    #[arg(long)]
    pub windsurf: bool,
    /// Every supported agent found on this machine (unplug: and every agent recorded)
    #[arg(long)]
    pub all_agents: bool,
}

impl AgentFlags {
    /// The agents named by flags, in the fixed order.
    pub fn named(&self) -> Vec<crate::agents::AgentId> {
        use crate::agents::AgentId;
        let on =
            [self.claude, self.codex, self.gemini, self.auggie, self.opencode, self.cursor, self.vscode, self.windsurf];
        AgentId::ALL.into_iter().zip(on).filter(|(_, on)| *on).map(|(a, _)| a).collect()
    }

    pub fn any(&self) -> bool {
        self.all_agents || !self.named().is_empty()
    }

    /// A usage error unless at least one agent is named (`verb` is the command).
    pub fn require(&self, verb: &str) -> Result<()> {
        if self.any() {
            return Ok(());
        }
        Err(crate::Error::usage(
            format!("no agent named: say which agents to {verb}"),
            Some(format!(
                "pass one or more of --claude, --codex, --gemini, --auggie, --opencode, --cursor, --vscode, --windsurf, or --all-agents (`atk {verb} <plugin> --claude`)"
            )),
        ))
    }
}

/// The pairs of `--set`: `KEY=VALUE`, or `KEY` alone to take the value from the environment
/// variable `KEY` (so that a secret need not be on the command line, where `ps` shows it). No
/// error ever shows a value.
pub fn parse_sets(ctx: &Ctx, sets: &[String]) -> Result<Vec<(String, String)>> {
    sets.iter()
        .map(|s| {
            let (key, value) = match s.split_once('=') {
                Some((k, v)) => (k, Some(v.to_string())),
                None => (s.as_str(), None),
            };
            if !crate::plugin::schema::is_env_name(key) {
                let shown = if value.is_some() { format!("{}=…", crate::text::escape(key)) } else { "…".into() };
                return Err(crate::Error::usage(
                    format!("--set '{shown}' is not KEY=VALUE or KEY with an upper-case KEY"),
                    Some(
                        "for example: --set API_KEY=abc123, or API_KEY=abc123 in the environment and --set API_KEY"
                            .into(),
                    ),
                ));
            }
            match value {
                Some(v) => Ok((key.to_string(), v)),
                None => match ctx.settings.environment.var(key) {
                    Some(v) => Ok((key.to_string(), v)),
                    None => Err(crate::Error::usage(
                        format!("--set {key}: the environment variable {key} is not set"),
                        Some(format!("export {key} first, or give the value: --set {key}=VALUE")),
                    )),
                },
            }
        })
        .collect()
}

/// A positive number of seconds (`0.5` is half a second).
pub fn parse_seconds(s: &str) -> std::result::Result<std::time::Duration, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() && v < 1e9 => Ok(std::time::Duration::from_secs_f64(v)),
        _ => Err(format!("'{s}' is not a positive number of seconds")),
    }
}
