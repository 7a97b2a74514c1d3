//! Running a plugin's lifecycle commands: `sh -c` in the plugin folder, with the plugin's `.env`
//! and atk's own variables in the environment, output streamed as it comes; probes bounded by a
//! timeout (`crate::process`), ports (`ports`), health endpoints (`health`), `atk status` (`status`),
//! `start`/`stop`/`restart` of one plugin or all (`batch`) and `atk run`'s scripts (`scripts`).

pub mod batch;
pub mod health;
pub mod ports;
/// `atk run`'s scripts: kept in `plugin` (a plugin's data declaration finds its backup and restore
/// scripts the same way), named here too.
pub use crate::plugin::scripts;
pub mod status;

use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::plugin::env::EnvFile;
use crate::plugin::Plugin;
use crate::process;
use crate::reporter::Reporter;

pub const COMPOSE_OVERRIDE: &str = "custom/docker-compose.override.yml";

/// Where plugins' commands run: the home's root folder, and the environment atk was started in.
#[derive(Clone, Copy)]
pub struct At<'a> {
    pub root: &'a Path,
    pub outer: &'a Environment,
}

/// One plugin, ready to have its commands run.
pub struct Runner<'a> {
    pub home: &'a Path,
    pub plugin_dir: &'a Path,
    pub directory: &'a str,
    pub plugin: &'a Plugin,
    /// Send the command's standard output to our standard error (when stdout carries JSON).
    pub stdout_to_stderr: bool,
    /// The environment atk was started in: `${VAR}` in `.env` values falls back to it, as in
    /// python-dotenv, and a required variable it sets has a value.
    pub outer: &'a Environment,
    /// The override of the images the plugin's lock pins ([`Runner::locked_images`]), worked out
    /// once for all of the runner's commands.
    pub(crate) locked: std::sync::OnceLock<Option<std::path::PathBuf>>,
}

/// The required variables of `plugin` that have no value: not in `.env` (or empty there) and not in
/// the environment atk was started in (`outer`).
pub fn missing_required(plugin: &Plugin, env: &EnvFile, outer: &Environment) -> Vec<String> {
    plugin
        .env_vars
        .iter()
        .filter(|v| v.required)
        .filter(|v| env.get(&v.name).is_none_or(|s| s.is_empty()) && !outer.is_set(&v.name))
        .map(|v| v.name.clone())
        .collect()
}

impl<'a> Runner<'a> {
    /// A runner for the plugin in `plugin_dir` of the home at `home`; where its commands' standard
    /// output goes is the reporter's choice.
    pub fn new(
        home: &'a Path,
        plugin_dir: &'a Path,
        directory: &'a str,
        plugin: &'a Plugin,
        reporter: &dyn Reporter,
        outer: &'a Environment,
    ) -> Runner<'a> {
        Runner {
            home,
            plugin_dir,
            directory,
            plugin,
            stdout_to_stderr: reporter.commands_to_stderr(),
            outer,
            locked: Default::default(),
        }
    }

    /// Runs the plugin's `install` (after checking its required variables); whether it has one.
    pub fn install(&self, reporter: &dyn Reporter) -> Result<bool> {
        if self.plugin.lifecycle.install.is_none() {
            return Ok(false);
        }
        self.check_required()?;
        reporter.note(&format!("Running install for '{}' ...", crate::text::escape(&self.plugin.name)));
        self.run("install")
    }

    /// For `atk install`: a plugin without an install command still needs its required variables
    /// (its other commands use them); either way they are checked once. Whether install ran.
    pub fn check_and_install(&self, reporter: &dyn Reporter) -> Result<bool> {
        if self.plugin.lifecycle.install.is_none() {
            self.check_required()?;
        }
        self.install(reporter)
    }

    /// Shows the plugin's `uninstall` command and asks before it runs (`force` skips the question).
    /// `Ok(false)`: the user declined. `command` is the atk command asking, with its arguments,
    /// for the hint (`remove hello`).
    pub fn confirm_uninstall(&self, reporter: &dyn Reporter, command: &str, force: bool) -> Result<bool> {
        let Some(cmd) = self.command("uninstall") else { return Ok(true) };
        if force {
            return Ok(true);
        }
        reporter.note(&format!(
            "This runs the uninstall command of '{}', which may delete data:\n    {}",
            crate::text::escape(&self.plugin.name),
            self.scrubber(self.outer.secrets()).scrub(&crate::text::escape(&cmd))
        ));
        let hint = format!("pass --force (or --yes) to run it: `atk {command} --force`");
        reporter.confirm("Continue?", &hint)
    }

    /// The teardown of `remove` and undo's remove, once confirmed: `stop` (a failure is a warning),
    /// then `uninstall`; with `force` an uninstall that fails is a warning too, and the removal
    /// goes on. Ctrl-C always stops it.
    pub fn tear_down(&self, reporter: &dyn Reporter, force: bool) -> Result<()> {
        self.stop_before_uninstall(reporter)?;
        match self.run("uninstall") {
            Err(e) if force && !matches!(e, Error::Interrupted) => {
                reporter.warn(&format!("{e}; removing anyway (--force)"));
                Ok(())
            }
            other => other.map(|_| ()),
        }
    }

    /// Runs `stop` before an uninstall; a failure is a warning (the uninstall goes on).
    pub fn stop_before_uninstall(&self, reporter: &dyn Reporter) -> Result<()> {
        match self.run("stop") {
            Err(Error::Interrupted) => Err(Error::Interrupted),
            Err(e) => {
                reporter.warn(&format!("{e}; going on with uninstall"));
                Ok(())
            }
            Ok(_) => Ok(()),
        }
    }

    /// What takes the plugin's secrets out of its words shown to a person (a command line that
    /// `custom/overrides.yaml` may have given a token): the secrets of its `.env`
    /// (`crate::plugin::secrets`) and the environment's variables named like secrets.
    fn scrubber(&self, environment: &[String]) -> crate::plugin::secret::Scrubber {
        let env = EnvFile::read(&self.plugin_dir.join(".env"), &|name| self.outer.var(name));
        env.map(|e| crate::plugin::secrets(Some(self.plugin), &e)).unwrap_or_default().scrubber(environment)
    }

    /// The plugin's compose file (see [`compose_file_of`]).
    fn compose_file(&self) -> &str {
        crate::plugin::compose_file_of(self.plugin, |f| self.plugin_dir.join(f).is_file())
    }

    /// The compose files the plugin's commands use when there is more than its own: its own,
    /// then the images its lock pins (an override atk writes to the home's `.git/atk/compose/`),
    /// then `custom/docker-compose.override.yml` (the user's, last, so that it wins). Empty when
    /// there is neither.
    fn compose_files(&self, abs_dir: &Path) -> Vec<String> {
        let locked = self.locked_images();
        let custom = self.plugin_dir.join(COMPOSE_OVERRIDE).is_file();
        if locked.is_none() && !custom {
            return vec![];
        }
        let base = self.compose_file();
        let mut files = vec![abs_dir.join(base).to_string_lossy().into_owned()];
        // Named files, compose no longer reads the plugin's own override by itself.
        if let Some(own) = own_override(base).filter(|o| self.plugin_dir.join(o).is_file()) {
            files.push(abs_dir.join(own).to_string_lossy().into_owned());
        }
        files.extend(locked.map(|p| p.to_string_lossy().into_owned()));
        if custom {
            files.push(abs_dir.join(COMPOSE_OVERRIDE).to_string_lossy().into_owned());
        }
        files
    }

    /// The override that gives the plugin's compose services their locked images, written (when
    /// it changed) where atk keeps this machine's state; `None` when no image of it is locked. A
    /// manifest or compose file that cannot be read locks nothing here (doctor says why).
    fn locked_images(&self) -> Option<std::path::PathBuf> {
        self.locked.get_or_init(|| self.write_locked_images()).clone()
    }

    fn write_locked_images(&self) -> Option<std::path::PathBuf> {
        if !crate::plugin::uses_compose(self.plugin) {
            return None;
        }
        let manifest = crate::home::Manifest::parse(
            &crate::fs::read::read_text(
                &self.home.join(crate::home::manifest::FILE),
                crate::fs::read::Links::Refuse,
                crate::fs::read::Cap::Manifest,
            )
            .ok()??,
        )
        .ok()?;
        let entry = manifest.plugins.iter().find(|e| e.directory == self.directory)?;
        if !entry.lock.iter().any(|p| p.kind == crate::artifact::ArtifactKind::Oci) {
            return None;
        }
        let found = crate::artifact::of_plugin(self.plugin, |f| crate::plugin::text_of(self.plugin_dir, f));
        let text = crate::artifact::compose_override(&found, &entry.lock)?;
        let path = self.home.join(".git/atk/compose").join(format!("{}.yml", self.directory));
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::create_dir_all(path.parent()?).ok()?;
            crate::fs::write_atomic(&path, text.as_bytes(), None).ok()?;
        }
        Some(std::fs::canonicalize(&path).unwrap_or(path))
    }

    pub fn command(&self, step: &str) -> Option<String> {
        let cmd = self.plugin.lifecycle.get(step)?;
        let abs_dir = std::fs::canonicalize(self.plugin_dir).unwrap_or_else(|_| self.plugin_dir.to_path_buf());
        let files = self.compose_files(&abs_dir);
        Some(if files.is_empty() { cmd.to_string() } else { with_compose_files(cmd, &self.relative(&files, &abs_dir)) })
    }

    /// `files` as the plugin's commands name them: those in its folder by their relative path.
    fn relative(&self, files: &[String], abs_dir: &Path) -> Vec<String> {
        files
            .iter()
            .map(|f| Path::new(f).strip_prefix(abs_dir).map_or(f.clone(), |r| r.to_string_lossy().into_owned()))
            .collect()
    }

    /// Fails with `EnvMissing` when a required variable has no value.
    pub fn check_required(&self) -> Result<()> {
        let env = EnvFile::read(&self.plugin_dir.join(".env"), &|name| self.outer.var(name))?;
        let missing = missing_required(self.plugin, &env, self.outer);
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Error::EnvMissing { missing: vec![(self.directory.to_string(), missing)], retry: None })
        }
    }

    /// `COMPOSE_FILE` for the plugin's commands when it has more than one compose file (see
    /// [`Runner::compose_files`]): absolute, `:`-separated, so that `docker compose` run from a
    /// plugin's scripts applies them too.
    pub fn compose_file_var(&self, abs_dir: &Path) -> Option<String> {
        let files = self.compose_files(abs_dir);
        (!files.is_empty()).then(|| files.join(&compose_separator(&files).to_string()))
    }

    /// A command for `program`, in the plugin folder, with the lifecycle environment: the
    /// process's, `COMPOSE_FILE` (see [`Runner::compose_file_var`]), the plugin's `.env` (which
    /// wins), then `ATK_HOME`, `ATK_PLUGIN_DIR` and `ATK_PLUGIN`.
    pub fn command_for(&self, program: impl AsRef<std::ffi::OsStr>) -> Result<Command> {
        let env = EnvFile::read(&self.plugin_dir.join(".env"), &|name| self.outer.var(name))?;
        let abs_dir = std::fs::canonicalize(self.plugin_dir).unwrap_or_else(|_| self.plugin_dir.to_path_buf());
        let mut command = Command::new(program);
        command.current_dir(&abs_dir);
        if let Some(files) = self.compose_file_var(&abs_dir) {
            // A path with `:` in it is listed with another separator, which compose is told.
            if files.contains('\n') {
                command.env("COMPOSE_PATH_SEPARATOR", "\n");
            }
            command.env("COMPOSE_FILE", files);
        }
        command
            .envs(env.values())
            .env("ATK_HOME", std::fs::canonicalize(self.home).unwrap_or_else(|_| self.home.to_path_buf()))
            .env("ATK_PLUGIN_DIR", &abs_dir)
            .env("ATK_PLUGIN", self.directory);
        Ok(command)
    }

    fn shell(&self, cmd: &str) -> Result<Command> {
        let mut command = self.command_for("sh")?;
        command.arg("-c").arg(cmd);
        self.route_stdout(&mut command);
        Ok(command)
    }

    /// The command's standard output on our standard error when ours carries JSON.
    fn route_stdout(&self, command: &mut Command) {
        if self.stdout_to_stderr {
            use std::os::fd::AsFd;
            if let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() {
                command.stdout(Stdio::from(fd));
            }
        }
    }

    /// Runs the plugin's script at `path` with `args` in the foreground, as `atk run` does (and
    /// its data's backup and restore scripts, with `envs` too): the terminal is the script's
    /// (Ctrl-C is its to handle), its environment the plugin's. How it exited; interrupted when
    /// atk was asked to stop meanwhile.
    pub fn run_script(&self, path: &Path, args: &[String], envs: &[(&str, &Path)]) -> Result<ExitStatus> {
        let mut command = self.command_for(path)?;
        command.args(args).envs(envs.iter().copied());
        self.route_stdout(&mut command);
        crate::error::check_interrupt()?;
        let status = crate::process::foreground(&mut command, &format!("cannot run {}", path.display()))?;
        crate::error::check_interrupt()?;
        Ok(status)
    }

    /// Runs `step`. `Ok(false)` when the plugin does not define it.
    pub fn run(&self, step: &str) -> Result<bool> {
        let Some(status) = self.run_streamed(step, &[])? else {
            return Ok(false);
        };
        if status.success() {
            return Ok(true);
        }
        Err(self.failure(step, status))
    }

    /// Runs `step` with `extra` arguments appended to its command line (each quoted for `sh`),
    /// output streamed; its exit status, or `None` when the plugin does not define it. Ctrl-C
    /// reaches the command and ends in `Error::Interrupted`.
    pub fn run_streamed(&self, step: &str, extra: &[String]) -> Result<Option<ExitStatus>> {
        let Some(mut cmd) = self.command(step) else {
            return Ok(None);
        };
        for arg in extra {
            cmd.push(' ');
            cmd.push_str(&shell_quote(arg));
        }
        crate::error::check_interrupt()?;
        let what = format!("cannot run sh for {step} of '{}'", crate::text::escape(&self.plugin.name));
        let status = process::foreground(&mut self.shell(&cmd)?, &what)?;
        crate::failpoint::hit("lifecycle");
        use std::os::unix::process::ExitStatusExt;
        if crate::interrupt::is_set() || (!status.success() && status.signal() == Some(2)) {
            return Err(Error::Interrupted);
        }
        Ok(Some(status))
    }

    /// Runs `step` as a probe: no terminal, output discarded, bounded by `timeout` (then its
    /// process group is killed). `None` when the plugin does not define it.
    pub fn probe(&self, step: &str, timeout: Duration) -> Result<Option<process::Probe>> {
        let Some(cmd) = self.command(step) else {
            return Ok(None);
        };
        crate::error::check_interrupt()?;
        let mut command = self.command_for("sh")?;
        command.arg("-c").arg(&cmd);
        let what = format!("cannot run sh for {step} of '{}'", crate::text::escape(&self.plugin.name));
        process::probe(&mut command, timeout, &what).map(Some)
    }

    /// The error for a step that ended with `status`.
    pub fn failure(&self, step: &str, status: ExitStatus) -> Error {
        use std::os::unix::process::ExitStatusExt;
        let status = match (status.code(), status.signal()) {
            (Some(code), _) => format!("exit code {code}"),
            (None, Some(sig)) => format!("killed by signal {sig}"),
            _ => "unknown status".into(),
        };
        Error::Lifecycle { plugin: self.plugin.name.clone(), step: step.into(), status, hints: vec![] }
    }
}

/// `arg` quoted for `sh`: as it is when it is made of safe characters only, else in single quotes.
pub fn shell_quote(arg: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !arg.is_empty() && arg.chars().all(safe) {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

/// What separates the files of `COMPOSE_FILE`: `:`, unless a path holds one.
fn compose_separator(files: &[String]) -> char {
    if files.iter().any(|f| f.contains(':')) {
        '\n'
    } else {
        ':'
    }
}

/// The override compose reads by itself beside `base` (`docker-compose.override.yml` beside
/// `docker-compose.yml`), which it no longer reads once files are named.
fn own_override(base: &str) -> Option<String> {
    let (stem, ext) = base.rsplit_once('.')?;
    matches!(ext, "yml" | "yaml").then(|| format!("{stem}.override.{ext}"))
}

/// Adds `-f <file>` for each of `files` to every `docker compose` invocation of a command line (at
/// the start or after `&&`, `||`, `;`, `|`), unless it names its files itself.
pub fn with_compose_files(cmd: &str, files: &[String]) -> String {
    const NEEDLE: &str = "docker compose";
    let files: String = files.iter().map(|f| format!(" -f {}", shell_quote(f))).collect();
    let mut out = String::with_capacity(cmd.len() + 2 * files.len());
    let mut rest = cmd;
    while let Some(i) = rest.find(NEEDLE) {
        let before = rest[..i].trim_end();
        let whole_before = format!("{}{}", out, before);
        let at_command_start = whole_before.trim_end().is_empty() || whole_before.ends_with(['&', '|', ';', '(', '\n']);
        let after = &rest[i + NEEDLE.len()..];
        let word_ends = after.is_empty() || after.starts_with([' ', '\t', '\n', ';', '&', '|', ')']);
        let names_files = after.trim_start().starts_with("-f ") || after.trim_start().starts_with("--file");
        out.push_str(&rest[..i + NEEDLE.len()]);
        if at_command_start && word_ends && !names_files {
            out.push_str(&files);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_quoted_for_sh() {
        assert_eq!(shell_quote("--tail=10"), "--tail=10");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's; rm -rf /"), "'it'\\''s; rm -rf /'");
        let out =
            Command::new("sh").arg("-c").arg(format!("printf %s {}", shell_quote("it's $HOME `x`"))).output().unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), "it's $HOME `x`");
    }

    #[test]
    fn compose_override_is_added_to_each_invocation() {
        let files = ["docker-compose.yml".to_string(), COMPOSE_OVERRIDE.to_string()];
        let o = " -f docker-compose.yml -f custom/docker-compose.override.yml";
        assert_eq!(with_compose_files("docker compose up -d", &files), format!("docker compose{o} up -d"));
        assert_eq!(
            with_compose_files("docker compose pull && docker compose up -d", &files),
            format!("docker compose{o} pull && docker compose{o} up -d")
        );
        assert_eq!(
            with_compose_files("docker compose down", &["compose.yaml".into(), "/h/.git/atk/compose/my x.yml".into()]),
            "docker compose -f compose.yaml -f '/h/.git/atk/compose/my x.yml' down"
        );
        for unchanged in ["./install.sh", "echo docker compose up", "docker compose -f x.yml up", "docker composer"] {
            assert_eq!(with_compose_files(unchanged, &files), unchanged);
        }
    }
}
