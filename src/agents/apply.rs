//! Applying a plan: previewed with secrets masked, confirmed, run; every failure is an outcome.

use serde::Serialize;

use super::run::{run_change, Failure};
use super::{preview, AgentEnv, AgentId, Change, Cx, Registered, Server, Target};
use crate::error::{Error, Result};
use crate::plugin::secret::Scrubber;
use crate::reporter::Reporter;

/// The outcome for one agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    Configured,
    AlreadyConfigured,
    Removed,
    /// Unplug: the agent had nothing of the plugin.
    NotConfigured,
    /// Declined at the prompt, or nothing the agent can take.
    Skipped,
    /// The agent has a server of that name that is not atk's: left as it is.
    Conflict,
    NotInstalled,
    Failed,
}

impl AgentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Configured => "configured",
            AgentStatus::AlreadyConfigured => "already configured",
            AgentStatus::Removed => "removed",
            AgentStatus::NotConfigured => "not configured",
            AgentStatus::Skipped => "skipped",
            AgentStatus::Conflict => "name taken",
            AgentStatus::NotInstalled => "not installed",
            AgentStatus::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AgentOutcome {
    pub agent: AgentId,
    pub status: AgentStatus,
    /// Why (a failure's message, the agent's own words when it has some).
    pub detail: Option<String>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Plug,
    Unplug,
}

/// How to act on an agent.
pub struct Apply<'a> {
    pub env: &'a AgentEnv,
    pub reporter: &'a dyn Reporter,
    /// Ask before changing anything (false: `--yes`, `--force`, or a caller that asked already).
    pub ask: bool,
    /// The command to suggest when a confirmation cannot be asked.
    pub hint: &'a str,
    /// Replace a server of the user's that has the plugin's name (`--replace`).
    pub replace: bool,
    /// The name to give the plugin's server (`--as NAME`), remembered for the next plug.
    pub name: Option<&'a str>,
}

impl<'a> Apply<'a> {
    /// Acting as asked, replacing nothing of the user's, under the names atk chooses.
    pub fn new(env: &'a AgentEnv, reporter: &'a dyn Reporter, ask: bool, hint: &'a str) -> Apply<'a> {
        Apply { env, reporter, ask, hint, replace: false, name: None }
    }
}

/// Plans and applies `op` of `t` for `agent`: previews the changes (secrets masked), asks, runs.
/// Errors are a refused confirmation (no terminal) or Ctrl-C; everything else is an outcome.
pub fn apply(agent: AgentId, op: Op, t: &Target, registered: &mut Registered, how: &Apply) -> Result<AgentOutcome> {
    // `--as NAME` is remembered once the plugin is plugged under it.
    let chosen = how.name.filter(|_| op == Op::Plug);
    let name = match chosen {
        Some(n) => n.to_string(),
        None => super::names::server_name(agent, t, registered),
    };
    let t = &Target { server_name: name.clone(), ..t.clone() };
    let renamed = registered.name(agent, &t.directory).filter(|n| *n != name).map(str::to_string);
    // Whether the agent holds, under the name, exactly what atk gives but not atk's (a URL the
    // user added): nothing is written there, and so nothing is recorded as atk's.
    let given = t.given(&how.env.launcher);
    let equal = op == Op::Plug && {
        let cx = Cx { env: how.env, registered, replace: how.replace };
        matches!(super::stance(agent, t, &cx, given.as_ref()), Ok(super::Stance::Equal))
    };
    // Before a server is taken away from its former name, the new name must be free to take: not
    // someone else's server, nor one of the user's that merely equals atk's.
    if let (Some(_), Op::Plug) = (&renamed, op) {
        let cx = Cx { env: how.env, registered, replace: how.replace };
        if let Ok(super::Plan { conflict: Some(why), .. }) = agent.agent().plug(t, &cx) {
            return Ok(AgentOutcome { agent, status: AgentStatus::Conflict, detail: Some(why), notes: vec![] });
        }
        if equal {
            let why = format!(
                "it already has a server named '{}' of the user's (the same as atk's, but not written by atk), left as it is; plug under another name with `--as NAME`",
                crate::text::escape(&name)
            );
            return Ok(AgentOutcome { agent, status: AgentStatus::Conflict, detail: Some(why), notes: vec![] });
        }
    }
    // The plugin was given to this agent under another name (an upgrade renamed it, or `--as`):
    // that server is removed first, by the name it has, when it is atk's (see `Held::is_atks`).
    // A name another plugin now has with this agent is that plugin's server: it is left alone.
    if let Some(old) = renamed {
        if !registered.named_elsewhere(agent, &t.directory, &old) {
            let old_t = Target { server_name: old.clone(), ..t.clone() };
            let gone = apply_named(agent, Op::Unplug, &old_t, registered, how)?;
            if !matches!(gone.status, AgentStatus::Removed | AgentStatus::NotConfigured) {
                // Not removed (it failed, or was declined): the old name stays remembered, so that
                // the next plug or unplug tries again, and nothing new is added beside it.
                let why = gone.detail.clone().unwrap_or_else(|| gone.status.as_str().to_string());
                return Ok(AgentOutcome {
                    status: if gone.status == AgentStatus::Skipped {
                        AgentStatus::Skipped
                    } else {
                        AgentStatus::Failed
                    },
                    detail: Some(format!(
                        "its server under its former name '{}' is still there: {why}",
                        crate::text::escape(&old)
                    )),
                    ..gone
                });
            }
        }
        registered.set_name(agent, &t.directory, None);
    }
    let outcome = apply_named(agent, op, t, registered, how)?;
    match (op, outcome.status) {
        (Op::Plug, AgentStatus::Configured | AgentStatus::AlreadyConfigured) => {
            registered.set_name(agent, &t.directory, Some(&name));
            if let Some(n) = chosen {
                registered.set_chosen(agent, &t.directory, Some(n));
            }
            // What atk wrote, as the agent holds it: the evidence that it is atk's later (a
            // remote server's URL holds nothing else). An entry found as it is was not written.
            if outcome.status == AgentStatus::Configured && !equal {
                let written = given.as_ref().map(|s| super::Held::of(s).fingerprint(&name));
                registered.set_written(agent, &t.directory, written);
            }
        }
        (Op::Unplug, AgentStatus::Removed | AgentStatus::NotConfigured) => {
            registered.set_name(agent, &t.directory, None);
            registered.set_chosen(agent, &t.directory, None);
            registered.set_written(agent, &t.directory, None);
        }
        _ => {}
    }
    Ok(outcome)
}

fn apply_named(agent: AgentId, op: Op, t: &Target, registered: &mut Registered, how: &Apply) -> Result<AgentOutcome> {
    let a = agent.agent();
    let cx = Cx { env: how.env, registered, replace: how.replace };
    let planned = match op {
        Op::Plug => a.plug(t, &cx),
        Op::Unplug => a.unplug(t, &cx),
    };
    // What agents and their files say back may repeat the secrets they were given, in any
    // encoding: every detail and line is scrubbed before anyone sees it.
    let server_secrets = t.server.iter().flat_map(Server::secret_values);
    // A secret too short to take out of free text is taken out where its name says what it is
    // (`-e PIN=ab`, as a program repeats the words it was given).
    let named = t.server.iter().flat_map(|s| s.env.iter().filter(|v| v.secret));
    let scrubber = Scrubber::for_output(server_secrets.chain(how.env.secrets.iter().map(String::as_str)))
        .with_named(named.filter_map(|v| Some((v.name.as_str(), v.value.as_deref()?))));
    let outcome = |status, detail: Option<String>, notes: &[String]| AgentOutcome {
        agent,
        status,
        detail: detail.map(|d| scrubber.scrub(&d)),
        notes: notes.iter().map(|n| scrubber.scrub(n)).collect(),
    };
    let masking = Masking { inner: how.reporter, scrubber: &scrubber };
    let how = &Apply { reporter: &masking, ..*how };
    let mut plan = match planned {
        Ok(p) => p,
        Err(e @ Error::Interrupted) => return Err(e),
        Err(e) => return Ok(outcome(AgentStatus::Failed, Some(with_hints(&e)), &[])),
    };
    if let Some(why) = plan.unsupported.take() {
        return Ok(outcome(AgentStatus::Skipped, Some(why), &plan.notes));
    }
    let stdio = t.server.as_ref().is_some_and(|s| !s.is_remote());
    if let Some(why) = how.env.launcher.problem().filter(|_| op == Op::Plug && stdio) {
        let hint = "move it to a path without such characters (`atk --home DIR` names another home)";
        return Ok(outcome(AgentStatus::Failed, Some(format!("{why}; {hint}")), &plan.notes));
    }
    if let Some(why) = plan.conflict.take() {
        return Ok(outcome(AgentStatus::Conflict, Some(why), &plan.notes));
    }
    // A program that is not here: plugging cannot start; unplugging does the rest.
    let mut missing = agent
        .program()
        .filter(|p| op == Op::Plug && t.server.is_some() && how.env.which(p).is_none())
        .map(String::from);
    plan.changes.retain(|c| match c {
        Change::Run { argv, .. } if how.env.which(&argv[0]).is_none() => {
            missing = Some(argv[0].clone());
            false
        }
        _ => true,
    });
    // Unplugging without the agent's program: the rest (a skill) is still removed, but the
    // registration the program holds stays, so the outcome is "not installed" (the record keeps
    // the agent, for a later unplug on a machine that has it).
    let unreachable = missing.as_ref().map(|program| format!("'{program}' is not on PATH"));
    if let Some(why) = &unreachable {
        if op == Op::Plug || plan.changes.is_empty() {
            return Ok(outcome(AgentStatus::NotInstalled, Some(why.clone()), &plan.notes));
        }
        plan.notes.push(format!("{why}: its MCP registration, if it has one, stays"));
    }
    if plan.changes.is_empty() {
        let status = if op == Op::Plug { AgentStatus::AlreadyConfigured } else { AgentStatus::NotConfigured };
        return Ok(outcome(status, None, &plan.notes));
    }
    how.reporter.note(&format!("[{}] will:", agent.label()));
    for c in &plan.changes {
        for line in preview(c) {
            how.reporter.note(&format!("  {line}"));
        }
    }
    if how.ask {
        let (verb, prep) = if op == Op::Plug { ("Plug", "into") } else { ("Unplug", "from") };
        let question = format!("{verb} '{}' {prep} {}?", crate::text::escape(&t.name), agent.label());
        if !how.reporter.confirm(&question, how.hint)? {
            return Ok(outcome(AgentStatus::Skipped, Some("declined".into()), &plan.notes));
        }
        // The agent's files may have changed while the question waited (the user edited one, an
        // agent wrote its own): the same change is planned again from what is there now, so that
        // nothing written meanwhile is lost.
        let cx = Cx { env: how.env, registered, replace: how.replace };
        let again = match op {
            Op::Plug => a.plug(t, &cx),
            Op::Unplug => a.unplug(t, &cx),
        };
        match again {
            Ok(again) if again.conflict.is_some() => {
                return Ok(outcome(AgentStatus::Conflict, again.conflict, &plan.notes));
            }
            Ok(mut again) => {
                again.changes.retain(|c| !matches!(c, Change::Run { argv, .. } if how.env.which(&argv[0]).is_none()));
                plan.changes = again.changes;
            }
            Err(e @ Error::Interrupted) => return Err(e),
            Err(e) => return Ok(outcome(AgentStatus::Failed, Some(with_hints(&e)), &plan.notes)),
        }
    }
    let mut done = 0;
    let mut tolerated = Vec::new();
    for c in &plan.changes {
        crate::error::check_interrupt()?;
        match run_change(c, how, &scrubber) {
            Ok(()) => done += 1,
            Err(Failure::NotInstalled(why)) => return Ok(outcome(AgentStatus::NotInstalled, Some(why), &plan.notes)),
            Err(Failure::Failed(why)) if matches!(c, Change::Run { may_fail: true, .. }) => {
                how.reporter.detail(&format!("[{}] {why}", agent.label()));
                tolerated.push(why);
            }
            Err(Failure::Failed(why)) => return Ok(outcome(AgentStatus::Failed, Some(why), &plan.notes)),
            Err(Failure::Interrupted) => return Err(Error::Interrupted),
        }
        // A tolerated failure of a removal still means: not registered (by atk) any more.
        if let Change::Run { fingerprint, .. } = c {
            registered.set(agent, &t.directory, *fingerprint);
        }
    }
    if let Some(why) = unreachable {
        return Ok(outcome(AgentStatus::NotInstalled, Some(why), &plan.notes));
    }
    let status = match op {
        Op::Plug => AgentStatus::Configured,
        Op::Unplug if done == 0 => AgentStatus::NotConfigured,
        Op::Unplug => AgentStatus::Removed,
    };
    let detail = (status == AgentStatus::NotConfigured).then(|| tolerated.join("; ")).filter(|d| !d.is_empty());
    Ok(outcome(status, detail, &plan.notes))
}

/// An error as an outcome's detail: its message, and its hints after it (an outcome is one line).
fn with_hints(e: &Error) -> String {
    let mut text = e.to_string();
    for hint in e.hints() {
        text.push_str(&format!("; {hint}"));
    }
    text
}

/// A reporter that masks secrets in every line before passing it on.
struct Masking<'a> {
    inner: &'a dyn Reporter,
    scrubber: &'a Scrubber,
}

impl Reporter for Masking<'_> {
    fn note(&self, line: &str) {
        self.inner.note(&self.scrubber.scrub(line))
    }
    fn warn(&self, line: &str) {
        self.inner.warn(&self.scrubber.scrub(line))
    }
    fn detail(&self, line: &str) {
        self.inner.detail(&self.scrubber.scrub(line))
    }
    fn confirm(&self, question: &str, hint: &str) -> Result<bool> {
        self.inner.confirm(&self.scrubber.scrub(question), hint)
    }
}
