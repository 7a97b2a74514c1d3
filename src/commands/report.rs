//! The `--json` documents: one `Serialize` type per command's report, built from a few shared
//! parts so that every document speaks one vocabulary: a plugin is `name` and `directory`, where
//! it comes from is `source` with `type`, `ref` and `url`, a failure is an `error` object with the
//! `code`, `kind`, `message` and `hints` of the error it was.

use std::path::PathBuf;

use serde::Serialize;

use crate::home::{Entry, Source};

/// Where a plugin comes from, as the manifest says (`url` masked if it holds a secret).
#[derive(Serialize)]
pub struct SourceDoc {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(rename = "ref")]
    pub commit: Option<String>,
    pub url: Option<String>,
}

impl From<&Source> for SourceDoc {
    fn from(s: &Source) -> Self {
        SourceDoc {
            kind: s.kind.as_str(),
            commit: s.commit.clone(),
            url: s.url.as_deref().map(crate::text::mask_credentials),
        }
    }
}

/// A plugin of the manifest.
#[derive(Serialize)]
pub struct PluginDoc {
    pub name: String,
    pub directory: String,
    pub source: SourceDoc,
    /// What it runs from package and image registries, as locked; left out when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lock: Vec<crate::artifact::Pin>,
}

impl From<&Entry> for PluginDoc {
    fn from(e: &Entry) -> Self {
        PluginDoc {
            name: e.name.clone(),
            directory: e.directory.clone(),
            source: (&e.source).into(),
            lock: e.lock.clone(),
        }
    }
}

pub use crate::error::ErrorDoc;

/// One plugin of an upgrade: `status` is `upgraded`, `would-upgrade`, `declined`, `up-to-date`,
/// `skipped` or `failed`; the plan's fields are there when there was a plan.
#[derive(Serialize)]
pub struct Upgraded {
    pub name: String,
    pub directory: String,
    pub status: &'static str,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanDoc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDoc>,
    /// What the plugin runs from registries that moves (`from`/`to`: versions, commits, digests).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<crate::sync::lock::PinMove>,
    /// Newer releases held back by the release cooldown.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<HeldDoc>,
}

impl Upgraded {
    /// With the moves and held-back releases of the plugin's lock.
    pub fn with_lock(mut self, lock: Option<&crate::sync::lock::Lock>) -> Upgraded {
        if let Some(lock) = lock {
            self.packages = lock.moves.clone();
            self.held = held_docs(lock);
        }
        self
    }
}

/// A release held back by the cooldown, for programs.
#[derive(Serialize)]
pub struct HeldDoc {
    pub spec: String,
    pub version: String,
    pub published: Option<String>,
    pub eligible: String,
}

pub fn held_docs(lock: &crate::sync::lock::Lock) -> Vec<HeldDoc> {
    lock.held
        .iter()
        .map(|(spec, h)| HeldDoc {
            spec: spec.clone(),
            version: h.version.clone(),
            published: h.published.map(|p| p.to_string()),
            eligible: h.eligible.to_string(),
        })
        .collect()
}

/// What a lock chose, as lines under a plugin's plan (`preview`) or as notes: each package or
/// image pinned or moved, newer releases held back by the cooldown and when they may be chosen,
/// releases passed over, and words that cannot be locked.
pub fn lock_plan(ui: &Ui, name: &str, lock: &crate::sync::lock::Lock, now: jiff::Timestamp, preview: bool) {
    let show = |line: String| if preview { ui.preview(format!("  {line}")) } else { ui.note(line) };
    let name = crate::text::escape(name);
    for m in &lock.moves {
        let spec = crate::text::escape(&m.spec);
        let kind = m.kind.as_str();
        let e = |s: &Option<String>| s.as_deref().map(|s| crate::text::escape(s).into_owned());
        match (e(&m.from), e(&m.to)) {
            (None, Some(to)) => show(format!("{kind} {spec} pinned to {to}")),
            (Some(from), Some(to)) => show(format!("{kind} {spec} {from} → {to}")),
            (Some(from), None) => show(format!("{kind} {spec} ({from}) is no longer run")),
            (None, None) => {}
        }
    }
    for (spec, h) in &lock.held {
        let published =
            h.published.map(|p| format!(" (published {})", crate::artifact::resolve::ago(p, now))).unwrap_or_default();
        show(format!(
            "{} {} held back until {}{published}",
            crate::text::escape(spec),
            crate::text::escape(&h.version),
            crate::artifact::resolve::date(h.eligible)
        ));
    }
    for n in &lock.notes {
        ui.warn(format!("{name}: {}", crate::text::escape(n)));
    }
    for (word, why) in &lock.unlockable {
        ui.warn(format!("{name}: {} is not locked: {}", crate::text::escape(word), crate::text::escape(why)));
    }
}

#[derive(Serialize)]
pub struct PlanDoc {
    pub from: String,
    pub to: String,
    pub files: FilesDoc,
    pub lifecycle: Vec<StepDoc>,
    pub env: EnvDoc,
}

#[derive(Serialize)]
pub struct FilesDoc {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

#[derive(Serialize)]
pub struct StepDoc {
    pub step: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

#[derive(Serialize)]
pub struct EnvDoc {
    pub added: Vec<VarDoc>,
    pub removed: Vec<String>,
}

#[derive(Serialize)]
pub struct VarDoc {
    pub name: String,
    pub required: bool,
}

/// `{plugins, valid, invalid}`: the counts are serialized from the plugins.
pub struct Validate {
    pub plugins: Vec<Validated>,
}

impl Validate {
    pub fn valid(&self) -> usize {
        self.plugins.iter().filter(|p| p.valid).count()
    }

    pub fn invalid(&self) -> usize {
        self.plugins.len() - self.valid()
    }
}

impl Serialize for Validate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut doc = s.serialize_struct("Validate", 3)?;
        doc.serialize_field("plugins", &self.plugins)?;
        doc.serialize_field("valid", &self.valid())?;
        doc.serialize_field("invalid", &self.invalid())?;
        doc.end()
    }
}

/// One plugin folder checked by `validate` or `registry validate`.
#[derive(Serialize)]
pub struct Validated {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    pub name: Option<String>,
    pub directory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maturity: Option<&'static str>,
    pub valid: bool,
    pub errors: Vec<String>,
    /// What does not make the plugin invalid but should be fixed (its `SKILL.md`), each with hints.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<crate::plugin::skill::Warning>,
}

/// The warnings of a plugin checked by `validate` or `registry validate`, each with its hints, on
/// stderr.
pub fn warnings(ui: &Ui, warnings: &[crate::plugin::skill::Warning]) {
    for w in warnings {
        ui.warn(&w.message);
        for h in &w.hints {
            ui.hint(h);
        }
    }
}

/// `atk start`, `stop` and `restart`: each plugin's step (`start` or `stop`) and its `outcome`
/// (`started`, `stopped`, `already-running`, `no-command`, `failed`), and the counts. One plugin
/// (`all` false): its failure is the command's error (exit 6 for a failed command), and the text
/// shows nothing else. Every plugin: a summary, and exit 1 when any failed.
#[derive(Serialize)]
pub struct LifecycleReport {
    pub action: &'static str,
    pub plugins: Vec<Item>,
    pub summary: crate::lifecycle::batch::BatchSummary,
    #[serde(skip)]
    pub all: bool,
}

/// One agent of a plug or unplug: `status` is `configured`, `already_configured`, `removed`,
/// `not_configured`, `skipped`, `not_installed` or `failed`.
#[derive(Serialize)]
pub struct AgentDoc {
    pub agent: crate::agents::AgentId,
    pub label: &'static str,
    pub status: crate::agents::AgentStatus,
    pub detail: Option<String>,
    pub notes: Vec<String>,
}

impl From<&crate::agents::AgentOutcome> for AgentDoc {
    fn from(o: &crate::agents::AgentOutcome) -> Self {
        AgentDoc {
            agent: o.agent,
            label: o.agent.label(),
            status: o.status,
            detail: o.detail.clone(),
            notes: o.notes.clone(),
        }
    }
}

/// `atk plug PLUGIN` and `atk unplug PLUGIN`: what each agent did, the agents recorded for the
/// plugin afterwards, and the commit that recorded them. Its text is the line of each agent that
/// changed or had nothing to change; the failures and notes went to stderr as the agents changed.
#[derive(Serialize)]
pub struct Plug {
    pub name: String,
    pub directory: String,
    pub agents: Vec<AgentDoc>,
    pub recorded: Vec<String>,
    pub commit: Option<String>,
    /// The name the agents know the plugin by.
    #[serde(skip)]
    pub server: String,
}

impl crate::ui::Report for Plug {
    fn render(&self, ui: &Ui) {
        for a in &self.agents {
            agent_line(ui, &self.server, a);
        }
    }
}

// Text that several commands show the same way.

use crate::agents::{AgentOutcome, AgentStatus};
use crate::lifecycle::batch::{Item, StepOutcome};
use crate::sync::upgrade::MovePlan;
use crate::ui::Ui;

/// One line per agent of a plug or unplug: successes on stdout, failures on stderr.
pub fn agent_outcomes(ui: &Ui, name: &str, outcomes: &[AgentOutcome]) {
    for o in outcomes {
        let doc = AgentDoc::from(o);
        agent_line(ui, name, &doc);
        agent_problems(ui, &doc);
    }
}

/// An agent's line on stdout: what changed, or why nothing did (not for a failure).
fn agent_line(ui: &Ui, name: &str, a: &AgentDoc) {
    let (name, label) = (crate::text::escape(name), a.label);
    let detail = a.detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
    match a.status {
        AgentStatus::Configured => ui.success(format!("{label}: '{name}' plugged in")),
        AgentStatus::Removed => ui.success(format!("{label}: '{name}' unplugged")),
        AgentStatus::AlreadyConfigured => ui.line(format!("  {label}: already configured, nothing changed")),
        AgentStatus::NotConfigured => ui.line(format!("  {label}: '{name}' was not plugged in{detail}")),
        AgentStatus::Skipped => ui.line(format!("  {label}: skipped{detail}")),
        AgentStatus::NotInstalled | AgentStatus::Failed | AgentStatus::Conflict => {}
    }
}

/// An agent's failure and its notes, on stderr.
fn agent_problems(ui: &Ui, a: &AgentDoc) {
    let label = a.label;
    let detail = a.detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
    match a.status {
        AgentStatus::NotInstalled => ui.failure(label, &crate::Error::other(format!("not installed{detail}"))),
        AgentStatus::Failed | AgentStatus::Conflict => {
            ui.failure(label, &crate::Error::other(a.detail.clone().unwrap_or_else(|| "failed".into())))
        }
        _ => {}
    }
    for n in &a.notes {
        ui.note(format!("  {label}: {n}"));
    }
}

/// The agents of a hook (unplugged by remove and uninstall, plugged in again by a move): what
/// changed, and a warning with the command to finish it by hand for each that failed.
pub fn hook_outcomes(ui: &Ui, entry: &Entry, outcomes: &[AgentOutcome], verb: &str) {
    let name = crate::text::escape(&entry.name);
    for o in outcomes {
        let label = o.agent.label();
        let detail = o.detail.as_deref().unwrap_or("");
        match o.status {
            AgentStatus::Configured => ui.success(format!("{label}: '{name}' plugged in again")),
            AgentStatus::Removed => ui.success(format!("{label}: '{name}' unplugged")),
            AgentStatus::AlreadyConfigured | AgentStatus::NotConfigured | AgentStatus::Skipped => {
                ui.detail(format!("{label}: nothing to change"))
            }
            AgentStatus::NotInstalled => ui.note(format!("{label} is not on this machine; left as it is")),
            AgentStatus::Failed => ui.warn(format!(
                "{label}: could not {verb} '{name}': {detail}; try `atk {verb} {} --{}`",
                entry.directory,
                o.agent.as_str()
            )),
            AgentStatus::Conflict => ui.warn(format!("{label}: '{name}' was not plugged in again: {detail}")),
        }
    }
}

/// A move's plan, as upgrade, rollback and undo show it before asking.
pub fn move_plan(ui: &Ui, entry: &Entry, plan: &MovePlan) {
    ui.preview(ui.bold(&format!("{} {} → {}", crate::text::escape(&entry.name), short(&plan.from), short(&plan.to))));
    for f in &plan.added {
        ui.preview(format!("  {} {}", ui.green("+"), crate::text::escape(f)));
    }
    for f in &plan.changed {
        ui.preview(format!("  {} {}", ui.yellow("~"), crate::text::escape(f)));
    }
    for f in &plan.removed {
        ui.preview(format!("  {} {}", ui.red("-"), crate::text::escape(f)));
    }
    for (step, old, new) in &plan.lifecycle {
        let show = |c: &Option<String>| c.as_deref().map_or("(none)".into(), |c| crate::text::escape(c).into_owned());
        ui.preview(format!("  lifecycle {step}: {} → {}", show(old), show(new)));
    }
    for v in &plan.env_added {
        ui.preview(format!("  new variable {}{}", v.name, if v.required { " (required)" } else { "" }));
    }
    for v in &plan.env_removed {
        ui.preview(format!("  variable no longer used: {v}"));
    }
    let files = plan.added.len() + plan.changed.len() + plan.removed.len();
    if files > 0 {
        ui.detail(format!("  {} changed in {}", crate::error::plural(files, "file"), plan.path));
    }
}

pub use crate::text::{short, short_pin};

/// [`short_pin`], or `local` for a plugin (or a backup of one) that has no pin.
pub fn pin_or_local(pin: Option<&str>) -> String {
    pin.map_or_else(|| "local".into(), short_pin)
}

/// A plugin a batch could not take (`failed` of backup and restore): its directory and the error.
#[derive(Serialize)]
pub struct Failed {
    pub directory: String,
    pub error: ErrorDoc,
}

impl Failed {
    pub fn of(directory: &str, e: &crate::Error) -> Self {
        Failed { directory: directory.to_string(), error: ErrorDoc::from(e) }
    }
}

/// A plugin's line of an upgrade or rollback report when there was no plan (skipped, up to date,
/// failed).
pub fn unmoved(entry: &Entry, status: &'static str, error: Option<&crate::Error>) -> Upgraded {
    Upgraded {
        name: entry.name.clone(),
        directory: entry.directory.clone(),
        status,
        plan: None,
        commit: None,
        error: error.map(Into::into),
        packages: vec![],
        held: vec![],
    }
}

/// A plugin's line of an upgrade or rollback report, with its plan.
pub fn moved(entry: &Entry, status: &'static str, plan: &MovePlan, commit: Option<String>) -> Upgraded {
    Upgraded {
        name: entry.name.clone(),
        directory: entry.directory.clone(),
        status,
        plan: Some(PlanDoc {
            from: plan.from.to_string(),
            to: plan.to.to_string(),
            files: FilesDoc { added: plan.added.clone(), changed: plan.changed.clone(), removed: plan.removed.clone() },
            lifecycle: plan
                .lifecycle
                .iter()
                .map(|(step, old, new)| StepDoc { step: step.clone(), old: old.clone(), new: new.clone() })
                .collect(),
            env: EnvDoc {
                added: plan.env_added.iter().map(|v| VarDoc { name: v.name.clone(), required: v.required }).collect(),
                removed: plan.env_removed.clone(),
            },
        }),
        commit,
        error: None,
        packages: vec![],
        held: vec![],
    }
}

/// The end of a plug or unplug of one plugin: the error that stopped the agents when one did,
/// else its report (the agents that failed, and their notes, are shown on stderr now).
pub fn plugged(
    ui: &Ui,
    entry: &Entry,
    t: &crate::agents::Target,
    done: crate::sync::plug::Changed,
) -> crate::Result<Plug> {
    if let Some(c) = &done.commit {
        ui.detail(format!("committed {c}"));
    }
    if let Some(e) = done.stopped {
        return Err(e);
    }
    let agents: Vec<AgentDoc> = done.outcomes.iter().map(Into::into).collect();
    for a in &agents {
        agent_problems(ui, a);
    }
    Ok(Plug {
        name: entry.name.clone(),
        directory: entry.directory.clone(),
        agents,
        recorded: entry.agents.clone(),
        commit: done.commit,
        server: t.name.clone(),
    })
}

fn past(outcome: StepOutcome, step: &str) -> &'static str {
    match (outcome, step) {
        (StepOutcome::Started, _) => "Started",
        (StepOutcome::Stopped, _) => "Stopped",
        (StepOutcome::AlreadyRunning, _) => "Already running:",
        (StepOutcome::NoCommand, "start") => "No start command:",
        (StepOutcome::NoCommand, _) => "No stop command:",
        (StepOutcome::Failed, _) => "Failed:",
    }
}

impl LifecycleReport {
    /// The report of `action` (`start`, `stop`, `restart`) over `items`.
    pub fn new(action: &'static str, plugins: Vec<Item>, all: bool) -> Self {
        let summary = crate::lifecycle::batch::summarize(&plugins);
        LifecycleReport { action, plugins, summary, all }
    }

    /// Prints the report, the run's one document, and says how the command ends: one plugin's
    /// error (a restart has its stop, then its start) follows on stderr with its exit code, else
    /// 0, or 1 when some of `--all` failed.
    pub fn print(&self, ui: &Ui) -> u8 {
        if !self.all {
            if let Some(e) = self.plugins.iter().find_map(|i| i.error.as_ref()) {
                return ui.print_failing(self, e);
            }
        }
        ui.print(self);
        if self.all && self.summary.failed > 0 {
            crate::error::exit::GENERAL
        } else {
            0
        }
    }
}

impl crate::ui::Report for LifecycleReport {
    fn render(&self, ui: &Ui) {
        let items = &self.plugins;
        if !self.all {
            // One plugin: a failure is the command's error, shown on its own.
            if items.iter().any(|i| i.error.is_some()) {
                return;
            }
            for i in items {
                let name = crate::text::escape(&i.name);
                match i.outcome {
                    StepOutcome::Started | StepOutcome::Stopped => {
                        ui.success(format!("{} '{name}'", past(i.outcome, i.step)))
                    }
                    StepOutcome::AlreadyRunning => ui.line(format!("'{name}' is already running; left alone")),
                    StepOutcome::NoCommand => ui.warn(format!("'{name}' has no {} command; nothing to do", i.step)),
                    StepOutcome::Failed => {}
                }
            }
            return;
        }
        if items.is_empty() {
            ui.line("No plugins installed.");
            return;
        }
        for outcome in [StepOutcome::Stopped, StepOutcome::Started, StepOutcome::AlreadyRunning, StepOutcome::NoCommand]
        {
            for i in items.iter().filter(|i| i.outcome == outcome) {
                let name = crate::text::escape(&i.name);
                match outcome {
                    StepOutcome::Started | StepOutcome::Stopped => {
                        ui.success(format!("{} '{name}'", past(outcome, i.step)))
                    }
                    _ => ui.line(format!("{} {} '{name}'", ui.dim("-"), past(outcome, i.step))),
                }
            }
        }
        for i in items.iter().filter(|i| i.outcome == StepOutcome::Failed) {
            if let Some(e) = &i.error {
                // The problems of an invalid plugin go on its line (a failure line has no details).
                let shown = match e.details() {
                    [] => e.clone(),
                    details => {
                        crate::Error::Other { message: format!("{e}: {}", details.join("; ")), hints: e.hints() }
                    }
                };
                ui.failure(&format!("{} of {}", i.step, i.name), &shown);
            }
        }
        let summary = &self.summary;
        let mut parts = Vec::new();
        for (n, what) in [
            (summary.stopped, "stopped"),
            (summary.started, "started"),
            (summary.already_running, "already running"),
            (summary.no_command, "without the command"),
            (summary.failed, "failed"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        ui.line(format!("{}: {}", action_title(self.action), parts.join(", ")));
    }
}

fn action_title(action: &str) -> &'static str {
    match action {
        "start" => "Start",
        "stop" => "Stop",
        _ => "Restart",
    }
}

/// A command that ended without changing anything: the user declined its question, or there was
/// nothing to do. `--json` still gets its one document:
/// `{"unchanged": {command, reason, name, directory}}`, `reason` `declined` or `nothing-to-do`.
#[derive(Serialize)]
pub struct Unchanged {
    pub unchanged: UnchangedDoc,
    /// The line a person reads.
    #[serde(skip)]
    pub line: String,
}

#[derive(Serialize)]
pub struct UnchangedDoc {
    pub command: &'static str,
    pub reason: &'static str,
    pub name: String,
    pub directory: String,
}

impl Unchanged {
    /// The user said no to `command`'s question about the plugin `name` (`directory`).
    pub fn declined(command: &'static str, name: &str, directory: &str, line: &str) -> Unchanged {
        let unchanged =
            UnchangedDoc { command, reason: "declined", name: name.to_string(), directory: directory.to_string() };
        Unchanged { unchanged, line: line.to_string() }
    }

    /// `command` had nothing to do for the plugin.
    pub fn nothing_to_do(command: &'static str, name: &str, directory: &str, line: String) -> Unchanged {
        let unchanged =
            UnchangedDoc { command, reason: "nothing-to-do", name: name.to_string(), directory: directory.to_string() };
        Unchanged { unchanged, line }
    }
}

impl crate::ui::Report for Unchanged {
    fn render(&self, ui: &Ui) {
        ui.line(&self.line);
    }
}
