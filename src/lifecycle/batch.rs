//! `start`, `stop` and `restart` of one plugin or of many: pre-flight checks over every plugin
//! before anything starts (required variables, ports, whether it already runs), then each
//! plugin's command in turn, going on past one that fails.

use std::time::Duration;

use serde::Serialize;

use super::status::{self, State};
use super::{missing_required, ports, At, Runner};
use crate::error::{Error, Result};
use crate::home::Entry;
use crate::plugin::env::EnvFile;
use crate::plugin::Plugin;
use crate::reporter::Reporter;

/// What happened to one plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepOutcome {
    Started,
    Stopped,
    /// `start` found it running already (its status probe said so) and left it alone.
    AlreadyRunning,
    /// The plugin has no command for the step.
    NoCommand,
    Failed,
}

/// One plugin's step and how it went (in a `--json` document, its error as an `error` object).
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub name: String,
    pub directory: String,
    /// `start` or `stop`.
    pub step: &'static str,
    pub outcome: StepOutcome,
    #[serde(serialize_with = "error_doc")]
    pub error: Option<Error>,
}

fn error_doc<S: serde::Serializer>(error: &Option<Error>, s: S) -> std::result::Result<S::Ok, S::Error> {
    error.as_ref().map(crate::error::ErrorDoc::from).serialize(s)
}

/// How `start` checks what runs already. (Where the commands' output goes is the reporter's
/// choice: [`Reporter::commands_to_stderr`].)
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// The bound of each status probe (pre-flight).
    pub timeout: Duration,
}

struct Loaded<'e> {
    entry: &'e Entry,
    plugin: std::result::Result<(std::path::PathBuf, Plugin), Error>,
}

fn load_all<'e>(at: At, entries: &[&'e Entry]) -> Vec<Loaded<'e>> {
    entries.iter().map(|e| Loaded { entry: e, plugin: status::load_installed(at.root, e) }).collect()
}

fn item(
    entry: &Entry,
    plugin: Option<&Plugin>,
    step: &'static str,
    outcome: StepOutcome,
    error: Option<Error>,
) -> Item {
    Item {
        name: plugin.map_or_else(|| entry.name.clone(), |p| p.name.clone()),
        directory: entry.directory.clone(),
        step,
        outcome,
        error,
    }
}

/// Runs `step` of one loaded plugin; the item says how it went (Ctrl-C is the only error).
fn run_one(at: At, l: &Loaded, step: &'static str, reporter: &dyn Reporter) -> Result<Item> {
    let (dir, plugin) = match &l.plugin {
        Ok(p) => p,
        Err(e) => return Ok(item(l.entry, None, step, StepOutcome::Failed, Some(e.clone()))),
    };
    let runner = Runner::new(at.root, dir, &l.entry.directory, plugin, reporter, at.outer);
    if runner.command(step).is_none() {
        return Ok(item(l.entry, Some(plugin), step, StepOutcome::NoCommand, None));
    }
    reporter.note(&format!("{} '{}' ...", if step == "start" { "Starting" } else { "Stopping" }, plugin.name));
    match runner.run(step) {
        Ok(_) => {
            let done = if step == "start" { StepOutcome::Started } else { StepOutcome::Stopped };
            Ok(item(l.entry, Some(plugin), step, done, None))
        }
        Err(Error::Interrupted) => Err(Error::Interrupted),
        Err(e) => Ok(item(l.entry, Some(plugin), step, StepOutcome::Failed, Some(e))),
    }
}

/// `stop` of each of `entries`, in the order given (the caller reverses the manifest's).
pub fn stop(at: At, entries: &[&Entry], reporter: &dyn Reporter) -> Result<Vec<Item>> {
    load_all(at, entries).iter().map(|l| run_one(at, l, "stop", reporter)).collect()
}

/// Fails with `EnvMissing` naming every plugin of `loaded` that would start (has a start command
/// and is not in `skip`) with a required variable that has no value.
fn check_env(at: At, loaded: &[Loaded], skip: &[bool]) -> Result<()> {
    let mut missing = Vec::new();
    for (l, _) in loaded.iter().zip(skip).filter(|(_, s)| !**s) {
        let Ok((dir, plugin)) = &l.plugin else { continue };
        if plugin.lifecycle.start.is_none() {
            continue;
        }
        // A .env that cannot be read (a FIFO, a link) fails that plugin's own start, which names
        // it: one bad plugin does not stop the batch.
        let Ok(env) = EnvFile::read(&dir.join(".env"), &|name| at.outer.var(name)) else { continue };
        let vars = missing_required(plugin, &env, at.outer);
        if !vars.is_empty() {
            missing.push((l.entry.directory.clone(), vars));
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::EnvMissing { missing, retry: None })
    }
}

/// Fails with `PortConflict` naming every port of `loaded` (that would start) that something
/// listens on already.
fn check_ports(loaded: &[Loaded], skip: &[bool]) -> Result<()> {
    let mut wanted = Vec::new();
    for (l, _) in loaded.iter().zip(skip).filter(|(_, s)| !**s) {
        if let Ok((_, p)) = &l.plugin {
            if p.lifecycle.start.is_some() {
                for port in &p.ports {
                    let what = port.description.clone().or_else(|| port.name.clone());
                    wanted.push((p.name.clone(), port.port, what));
                }
            }
        }
    }
    let numbers: Vec<u16> = wanted.iter().map(|w| w.1).collect();
    let taken = ports::listening_all(&numbers, ports::CONNECT_TIMEOUT);
    let conflicts: Vec<_> = wanted.into_iter().zip(taken).filter(|(_, t)| *t).map(|(w, _)| w).collect();
    if conflicts.is_empty() {
        Ok(())
    } else {
        Err(Error::PortConflict { conflicts })
    }
}

/// `start` of each of `entries`, in their order. Before anything starts: plugins whose status
/// says they run already are left alone (`AlreadyRunning`), then every other plugin's required
/// variables (`EnvMissing`, exit 8) and ports (`PortConflict`, exit 9) are checked, naming every
/// plugin with a problem. A plugin that cannot be read, or whose start fails, is `Failed`, and the
/// others go on.
pub fn start(at: At, entries: &[&Entry], opts: &Options, reporter: &dyn Reporter) -> Result<Vec<Item>> {
    let loaded = load_all(at, entries);
    let (running, timed_out) = probe_running(at, &loaded, opts)?;
    let skip: Vec<bool> = running.iter().zip(&timed_out).map(|(r, t)| *r || *t).collect();
    check_env(at, &loaded, &skip)?;
    check_ports(&loaded, &skip)?;
    let mut items = Vec::new();
    for (i, l) in loaded.iter().enumerate() {
        let plugin = l.plugin.as_ref().ok().map(|(_, p)| p);
        if running[i] {
            items.push(item(l.entry, plugin, "start", StepOutcome::AlreadyRunning, None));
        } else if timed_out[i] {
            let e = Error::Other {
                message: format!(
                    "its status command did not finish within {}s, so whether it runs is not known; not started",
                    opts.timeout.as_secs_f32()
                ),
                hints: vec!["pass --timeout SECONDS to wait longer".into()],
            };
            items.push(item(l.entry, plugin, "start", StepOutcome::Failed, Some(e)));
        } else {
            items.push(run_one(at, l, "start", reporter)?);
        }
    }
    Ok(items)
}

/// Which plugins of `loaded` that have a start command run already, and which could not tell
/// (their status command timed out): every one probed, all at once.
fn probe_running(at: At, loaded: &[Loaded], opts: &Options) -> Result<(Vec<bool>, Vec<bool>)> {
    let probes: Vec<Option<State>> = crate::pool::map(loaded, crate::pool::WIDEST, |l| match &l.plugin {
        Ok((_, p)) if p.lifecycle.start.is_some() => {
            Some(status::probe_loaded(at, l.entry, &l.plugin, opts.timeout).map(|s| s.state))
        }
        _ => None,
    })
    .into_iter()
    .map(|r| r.transpose())
    .collect::<Result<_>>()?;
    Ok((
        probes.iter().map(|s| *s == Some(State::Running)).collect(),
        probes.iter().map(|s| *s == Some(State::Timeout)).collect(),
    ))
}

/// `restart` of `entries` (in manifest order). Before anything is stopped: every plugin's
/// required variables are checked, and the ports of every plugin that does not run now (a port
/// listening while its plugin is stopped belongs to another program, and would keep it from
/// starting again). Then every plugin is stopped (in reverse order) and started again. A plugin
/// whose stop failed is not started again; a start that fails is that plugin's failure.
pub fn restart(at: At, entries: &[&Entry], opts: &Options, reporter: &dyn Reporter) -> Result<Vec<Item>> {
    let loaded = load_all(at, entries);
    check_env(at, &loaded, &vec![false; loaded.len()])?;
    let (running, timed_out) = probe_running(at, &loaded, opts)?;
    let own: Vec<bool> = running.iter().zip(&timed_out).map(|(r, t)| *r || *t).collect();
    check_ports(&loaded, &own)?;
    let mut stopped: Vec<Item> =
        loaded.iter().rev().map(|l| run_one(at, l, "stop", reporter)).collect::<Result<_>>()?;
    stopped.reverse();
    let mut started = Vec::new();
    for (l, s) in loaded.iter().zip(&stopped) {
        if s.outcome != StepOutcome::Failed {
            started.push(run_one(at, l, "start", reporter)?);
        }
    }
    stopped.reverse();
    Ok(stopped.into_iter().chain(started).collect())
}

/// How many items had each outcome.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct BatchSummary {
    pub started: usize,
    pub stopped: usize,
    pub already_running: usize,
    pub no_command: usize,
    pub failed: usize,
}

pub fn summarize(items: &[Item]) -> BatchSummary {
    let mut s = BatchSummary::default();
    for i in items {
        match i.outcome {
            StepOutcome::Started => s.started += 1,
            StepOutcome::Stopped => s.stopped += 1,
            StepOutcome::AlreadyRunning => s.already_running += 1,
            StepOutcome::NoCommand => s.no_command += 1,
            StepOutcome::Failed => s.failed += 1,
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environment::Environment;
    use crate::home::Source;
    use crate::reporter::Recorder;

    /// A home folder with plugins `(directory, plugin.yaml body after the header)`.
    fn home(plugins: &[(&str, &str)]) -> (tempfile::TempDir, Vec<Entry>) {
        let t = tempfile::tempdir().unwrap();
        let mut entries = Vec::new();
        for (dir, body) in plugins {
            let p = t.path().join("plugins").join(dir);
            std::fs::create_dir_all(&p).unwrap();
            let yaml = format!("schema_version: '2026-01-23'\nname: {dir}\ndescription: d\n{body}");
            std::fs::write(p.join("plugin.yaml"), yaml).unwrap();
            entries.push(Entry::new(dir, dir, Source::default()));
        }
        (t, entries)
    }

    fn outcomes(items: &[Item]) -> Vec<(&str, &str, StepOutcome)> {
        items.iter().map(|i| (i.directory.as_str(), i.step, i.outcome)).collect()
    }

    #[test]
    fn start_skips_what_runs_and_goes_on_past_a_failure() {
        let (t, entries) = home(&[
            ("up", "lifecycle:\n  start: touch started\n  status: 'true'\n"),
            ("down", "lifecycle:\n  start: touch started\n  status: 'false'\n"),
            ("fails", "lifecycle:\n  start: exit 3\n"),
            ("none", ""),
        ]);
        std::fs::create_dir_all(t.path().join("plugins/gone")).unwrap();
        let mut all: Vec<&Entry> = entries.iter().collect();
        let gone = Entry::new("gone", "gone", Source::default());
        all.push(&gone);
        let r = Recorder::default();
        let items = start(
            At { root: t.path(), outer: &Environment::default() },
            &all,
            &Options { timeout: Duration::from_secs(5) },
            &r,
        )
        .unwrap();
        assert_eq!(
            outcomes(&items),
            [
                ("up", "start", StepOutcome::AlreadyRunning),
                ("down", "start", StepOutcome::Started),
                ("fails", "start", StepOutcome::Failed),
                ("none", "start", StepOutcome::NoCommand),
                ("gone", "start", StepOutcome::Failed),
            ]
        );
        assert!(!t.path().join("plugins/up/started").exists());
        assert!(t.path().join("plugins/down/started").exists());
        assert_eq!(items[2].error.as_ref().unwrap().exit_code(), crate::error::exit::LIFECYCLE);
        assert!(matches!(items[4].error, Some(Error::NotInstalled { .. })));
        assert_eq!(summarize(&items).failed, 2);
        assert!(r.lines().contains(&"note: Starting 'down' ...".to_string()), "{:?}", r.lines());
    }

    #[test]
    fn pre_flight_names_every_plugin_and_starts_nothing() {
        let (t, entries) = home(&[
            ("a", "env_vars:\n  - name: BATCH_TEST_A\n    required: true\nlifecycle:\n  start: touch started\n"),
            ("b", "env_vars:\n  - name: BATCH_TEST_B\n    required: true\nlifecycle:\n  start: touch started\n"),
            ("c", "lifecycle:\n  start: touch started\n"),
        ]);
        let all: Vec<&Entry> = entries.iter().collect();
        let opts = Options { timeout: Duration::from_secs(5) };
        let e = start(At { root: t.path(), outer: &Environment::default() }, &all, &opts, &Recorder::default())
            .unwrap_err();
        let Error::EnvMissing { missing, .. } = &e else { panic!("{e}") };
        assert_eq!(missing.iter().map(|(d, _)| d.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert!(!t.path().join("plugins/c/started").exists());

        let l1 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let l2 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let (p1, p2) = (l1.local_addr().unwrap().port(), l2.local_addr().unwrap().port());
        let (t, entries) = home(&[
            ("x", &format!("ports:\n  - port: {p1}\n    description: the UI\nlifecycle:\n  start: touch started\n")),
            ("y", &format!("ports:\n  - port: {p2}\nlifecycle:\n  start: touch started\n")),
        ]);
        let all: Vec<&Entry> = entries.iter().collect();
        let e = start(At { root: t.path(), outer: &Environment::default() }, &all, &opts, &Recorder::default())
            .unwrap_err();
        let Error::PortConflict { conflicts } = &e else { panic!("{e}") };
        assert_eq!(conflicts, &[("x".into(), p1, Some("the UI".into())), ("y".into(), p2, None)]);
        assert_eq!(e.exit_code(), crate::error::exit::PORT_CONFLICT);
        assert!(!t.path().join("plugins/x/started").exists());
    }

    #[test]
    fn restart_stops_in_reverse_then_starts_and_skips_a_failed_stop() {
        let (t, entries) = home(&[
            ("one", "lifecycle:\n  start: echo start one >> ../../log\n  stop: echo stop one >> ../../log\n"),
            ("two", "lifecycle:\n  start: echo start two >> ../../log\n  stop: echo stop two >> ../../log; exit 1\n"),
        ]);
        let all: Vec<&Entry> = entries.iter().collect();
        let items = restart(
            At { root: t.path(), outer: &Environment::default() },
            &all,
            &Options { timeout: Duration::from_secs(5) },
            &Recorder::default(),
        )
        .unwrap();
        assert_eq!(std::fs::read_to_string(t.path().join("log")).unwrap(), "stop two\nstop one\nstart one\n");
        assert_eq!(
            outcomes(&items),
            [
                ("two", "stop", StepOutcome::Failed),
                ("one", "stop", StepOutcome::Stopped),
                ("one", "start", StepOutcome::Started)
            ]
        );
    }
}
