//! Plans: the changes that plug or unplug a plugin (an agent's program to run, a file edit, a
//! managed line, a skill link), how each is previewed, and the helpers the agents plan with.

use std::path::{Path, PathBuf};

use super::{fingerprint, jsonc, read_user_file, skill, AgentId, Cx, Held, Server, Target};
use crate::error::{Error, Result};

/// One step of plugging or unplugging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Run an agent's program. `shown` is the argv with secrets masked; `fingerprint` what to
    /// remember once it succeeded (`None`: forget); `may_fail`: a failure means "was not there".
    Run { argv: Vec<String>, shown: Vec<String>, fingerprint: Option<u64>, may_fail: bool },
    /// Said in the preview before the change that follows it (a server of the user's replaced).
    Say(String),
    /// Replace a file's text (atomically; a new file is 0600).
    Write { path: PathBuf, text: String, preview: Vec<String> },
    /// Point a link at a target (replacing a link that is there).
    Link { link: PathBuf, target: PathBuf },
    /// Remove a link.
    Unlink { link: PathBuf },
    /// Remove a file atk wrote, and then its folder when that is left empty.
    Remove { path: PathBuf, folder: Option<PathBuf> },
}

/// What an agent would do.
#[derive(Debug, Default)]
pub struct Plan {
    pub changes: Vec<Change>,
    /// Said in the report (an agent without skills, say).
    pub notes: Vec<String>,
    /// Nothing can be done for this plugin with this agent, and why.
    pub unsupported: Option<String>,
    /// The agent has a server of that name that is not atk's: nothing is changed, and this says
    /// what is there.
    pub conflict: Option<String>,
}

/// The lines that show a change before it is made (secrets already masked by the planner).
pub fn preview(c: &Change) -> Vec<String> {
    match c {
        Change::Run { shown, .. } => vec![format!("run: {}", shell_words(shown))],
        Change::Write { path, preview, .. } => {
            let mut v = vec![format!("edit {}:", path.display())];
            v.extend(preview.iter().map(|l| format!("  {l}")));
            v
        }
        Change::Link { link, target } => vec![format!("link {} -> {}", link.display(), target.display())],
        Change::Unlink { link } => vec![format!("remove the link {}", link.display())],
        Change::Say(line) => vec![line.clone()],
        Change::Remove { path, folder: None } => vec![format!("remove {}", path.display())],
        Change::Remove { path, folder: Some(folder) } => {
            vec![format!("remove {} and the folder {}", path.display(), folder.display())]
        }
    }
}

/// argv as a person would type it: words with spaces or quotes in single quotes.
pub fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| crate::text::escape(&crate::lifecycle::shell_quote(a)).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A managed-section line to add (`want`) or remove in the Markdown file `path`.
pub fn managed_line(path: &Path, line: &str, want: bool) -> Result<Option<Change>> {
    if want {
        let text = read_user_file(path)?;
        let new = skill::add_line(text.as_deref().unwrap_or_default(), line);
        return Ok(new.map(|text| Change::Write {
            path: path.to_path_buf(),
            text,
            preview: vec![format!("add the line: {}", crate::text::escape(line))],
        }));
    }
    managed_lines_removed(path, line, |l| l == line)
}

/// The removal of the managed-section lines of the Markdown file `path` that `matches` (shown as
/// the removal of `shown`).
pub fn managed_lines_removed(path: &Path, shown: &str, matches: impl Fn(&str) -> bool) -> Result<Option<Change>> {
    let Some(text) = read_user_file(path)? else { return Ok(None) };
    Ok(skill::remove_lines(&text, matches).map(|text| Change::Write {
        path: path.to_path_buf(),
        text,
        preview: vec![format!("remove the line: {}", crate::text::escape(shown))],
    }))
}

/// A skill link to make (`want`) or remove. A file or folder that is not a link is never touched.
pub fn skill_link(link: &Path, target: &Path, want: bool) -> Result<Option<Change>> {
    use skill::LinkState::*;
    let mut state = skill::link_state(link, target);
    // A link that leads to something of another home (or anywhere else that is there) is not
    // this plugin's: only one that leads into this home's plugins, or nowhere, is replaced.
    if state == Other {
        let plugins = target.ancestors().find(|a| a.file_name().is_some_and(|n| n == "plugins"));
        let leads = std::fs::canonicalize(link).ok();
        if leads.is_some_and(|l| plugins.is_none_or(|p| !l.starts_with(p))) {
            state = Blocked;
        }
    }
    match (state, want) {
        (Blocked, true) => Err(Error::agent_config(
            format!("{} exists and is not a link atk made; atk leaves it alone", link.display()),
            vec![format!("move it away, then plug again")],
        )),
        (Missing | Other, true) => Ok(Some(Change::Link { link: link.to_path_buf(), target: target.to_path_buf() })),
        (Right, true) | (Missing | Blocked, false) => Ok(None),
        (Right | Other, false) => Ok(Some(Change::Unlink { link: link.to_path_buf() })),
    }
}

/// Where the agent stands with the plugin's server, from what it holds under the server's name.
#[derive(Debug)]
pub enum Stance {
    /// Nothing of that name.
    Absent,
    /// Exactly what atk would give it, and atk's.
    Same,
    /// Exactly what atk would give it, but nothing shows atk wrote it (a remote server's URL the
    /// user added by hand): left as it is, and never removed.
    Equal,
    /// atk's entry for this plugin (an `atk exec` of it, or what atk wrote before), not as atk
    /// would give it now.
    Atks,
    /// Someone else's server: never changed or removed (unless `--replace`).
    Foreign(Held),
}

/// How `agent` stands with `t`'s server (by its name in that agent), `wanted` being what atk
/// would give it.
pub fn stance(agent: AgentId, t: &Target, cx: &Cx, wanted: Option<&Server>) -> Result<Stance> {
    let Some(held) = agent.agent().held(&t.server_name, cx.env)? else { return Ok(Stance::Absent) };
    let written = cx.registered.written(agent, &t.directory);
    let atks = held.is_atks(&cx.env.launcher, (&t.directory, &t.dir), &t.server_name, t.server.as_ref(), written);
    Ok(match (wanted.is_some_and(|w| held == Held::of(w)), atks) {
        (true, true) => Stance::Same,
        (true, false) => Stance::Equal,
        (false, true) => Stance::Atks,
        (false, false) => Stance::Foreign(held),
    })
}

/// What a plan says of a server of the user's that has the plugin's name.
pub fn conflict_text(launcher: &super::Launcher, t: &Target, held: &Held) -> String {
    let launch = held.command.as_deref().and_then(|c| launcher.launch_in(c, &held.args));
    let whose = match launch {
        Some((home, _)) if !launcher.is_home(home) => {
            format!("that starts a plugin of another home ({})", crate::text::escape(&home.display().to_string()))
        }
        Some((_, other)) => format!("that starts another plugin ('{}')", crate::text::escape(other)),
        None => format!("that atk did not write ({})", held.describe()),
    };
    format!(
        "it already has a server named '{}' {whose}, left as it is; plug under another name with `--as NAME`, or replace it with `--replace`",
        crate::text::escape(&t.server_name),
    )
}

pub(super) fn replacing(agent: AgentId, t: &Target, held: &Held) -> Change {
    Change::Say(format!(
        "replace {}'s own server '{}' ({}), which atk did not write (--replace)",
        agent.label(),
        crate::text::escape(&t.server_name),
        held.describe()
    ))
}

/// A remote server whose URL holds a secret: agents connect to the URL, so it is in their
/// configuration.
fn secret_url_note(agent: AgentId, s: &Server) -> Option<String> {
    s.url_holds_secret().then(|| {
        format!(
            "note: the server's URL holds a secret value, which {} will keep in its configuration (agents reach a remote server by its URL)",
            agent.label()
        )
    })
}

/// The registration changes of a CLI agent, from what it holds under the server's name: `add`
/// (made from the server as agents are given it) when it holds nothing there, or atk's own entry
/// as it would not be given now (removed first); nothing when it holds what atk would give it;
/// a conflict when it holds someone else's server (replaced only with `--replace`). Without a
/// server any more, atk's entry is removed.
pub fn cli_plug(
    agent: AgentId,
    t: &Target,
    cx: &Cx,
    add: impl Fn(&Server) -> Vec<String>,
    remove: Vec<String>,
) -> Result<Plan> {
    let given = t.given(&cx.env.launcher);
    let stance = stance(agent, t, cx, given.as_ref())?;
    let removal = |may_fail| Change::Run { shown: remove.clone(), argv: remove.clone(), fingerprint: None, may_fail };
    let mut plan = Plan::default();
    let Some(s) = &given else {
        if matches!(stance, Stance::Same | Stance::Atks) {
            plan.changes.push(removal(true));
        }
        return Ok(plan);
    };
    // (`Equal`: the agent has this very entry, the user's: nothing to do, and it stays theirs.)
    let argv = add(s);
    let fp = fingerprint(&argv);
    let before = cx.registered.get(agent, &t.directory);
    let addition = Change::Run { shown: add(&s.masked()), argv, fingerprint: Some(fp), may_fail: false };
    match stance {
        // As atk would give it; given again only when what atk gave last differs (a timeout).
        Stance::Same if before.is_none_or(|b| b == fp) => {}
        Stance::Equal => {}
        Stance::Same | Stance::Atks => plan.changes.extend([removal(true), addition]),
        Stance::Absent => plan.changes.push(addition),
        Stance::Foreign(held) if cx.replace => {
            plan.changes.extend([replacing(agent, t, &held), removal(false), addition])
        }
        Stance::Foreign(held) => plan.conflict = Some(conflict_text(&cx.env.launcher, t, &held)),
    }
    say_secret_url(agent, s, &mut plan);
    Ok(plan)
}

/// Before a remote server whose URL holds a secret is given to an agent, the preview says so.
pub(super) fn say_secret_url(agent: AgentId, s: &Server, plan: &mut Plan) {
    if !plan.changes.is_empty() {
        if let Some(note) = secret_url_note(agent, s) {
            plan.changes.insert(0, Change::Say(note));
        }
    }
}

/// The removal of a CLI agent's registration: only of atk's own entry; someone else's server of
/// that name is left alone (and said so).
pub fn cli_unplug(agent: AgentId, t: &Target, cx: &Cx, remove: Vec<String>) -> Result<Plan> {
    let mut plan = Plan::default();
    match stance(agent, t, cx, t.given(&cx.env.launcher).as_ref())? {
        Stance::Absent => {}
        Stance::Same | Stance::Atks => {
            plan.changes.push(Change::Run { shown: remove.clone(), argv: remove, fingerprint: None, may_fail: false })
        }
        Stance::Equal => plan.notes.push(not_written(t)),
        Stance::Foreign(held) => plan.notes.push(left_alone(t, &held)),
    }
    Ok(plan)
}

/// What an unplug says of a server equal to what atk gives, which atk did not write here.
pub fn not_written(t: &Target) -> String {
    format!(
        "its server '{}' is as atk would give it, but atk did not write it on this machine: left as it is",
        crate::text::escape(&t.server_name)
    )
}

/// What an unplug says of a server of the plugin's name that is not atk's.
pub fn left_alone(t: &Target, held: &Held) -> String {
    format!("its server '{}' is not atk's ({}): left as it is", crate::text::escape(&t.server_name), held.describe())
}

/// What a JSON edit does to the server's member.
#[derive(Clone, Copy)]
pub enum JsonEdit<'a> {
    /// Leave it as it is (it is not atk's).
    Keep,
    /// Set it to the value (shown as the second).
    Set(&'a serde_json::Value, &'a serde_json::Value),
    Remove,
}

/// The edit of a JSON(C) file agent: `section.<name>` set or removed (or left), and for OpenCode
/// the skill path added to or removed from `instructions`.
pub fn json_edit(
    path: &Path,
    section: &str,
    name: &str,
    member: JsonEdit,
    instruction: Option<(&str, bool)>,
) -> Result<Option<Change>> {
    let text = read_user_file(path)?.unwrap_or_default();
    let bad = |why: String| {
        Error::agent_config(
            format!("cannot edit {}: {why}", path.display()),
            vec!["fix the file (or add the entry by hand: `atk mcp <plugin> --for <agent>` prints it)".into()],
        )
    };
    let mut doc = jsonc::Doc::parse(&text).map_err(bad)?;
    let mut preview = Vec::new();
    let mut changed = false;
    match member {
        JsonEdit::Keep => {}
        JsonEdit::Set(value, shown) => {
            if doc.set_member(section, name, value).map_err(bad)? {
                changed = true;
                preview.push(format!("set {section}.\"{}\" to:", crate::text::escape(name)));
                let pretty = serde_json::to_string_pretty(shown).expect("serializes");
                preview.extend(pretty.lines().map(|l| format!("  {l}")));
            }
        }
        JsonEdit::Remove => {
            if doc.remove_member(section, name).map_err(bad)? {
                changed = true;
                preview.push(format!("remove {section}.\"{}\"", crate::text::escape(name)));
            }
        }
    }
    if let Some((item, want)) = instruction {
        let did =
            if want { doc.add_to_array("instructions", item) } else { doc.remove_from_array("instructions", item) };
        if did.map_err(bad)? {
            changed = true;
            let verb = if want { "add to" } else { "remove from" };
            preview.push(format!("{verb} instructions: {item}"));
        }
    }
    Ok(changed.then(|| Change::Write { path: path.to_path_buf(), text: doc.text(), preview }))
}

/// The note of an agent without a skill mechanism, for a plugin that has a skill.
pub fn no_skills_note(agent: AgentId, t: &Target) -> Option<String> {
    t.has_skill.then(|| format!("{} has no skills: MCP server only", agent.label()))
}

/// `{<wrapper>: {<name>: entry}}` pretty-printed, a file agent's snippet.
pub fn wrapped(wrapper: &str, name: &str, entry: serde_json::Value) -> String {
    let mut inner = serde_json::Map::new();
    inner.insert(name.to_string(), entry);
    let mut outer = serde_json::Map::new();
    outer.insert(wrapper.to_string(), serde_json::Value::Object(inner));
    serde_json::to_string_pretty(&serde_json::Value::Object(outer)).expect("serializes")
}

/// Plugging into a file agent without skills: `section.<name>` set to the server's entry, unless
/// the agent has someone else's server under that name.
pub fn file_plug(
    agent: AgentId,
    t: &Target,
    cx: &Cx,
    path: &Path,
    section: &str,
    entry: impl Fn(&Server) -> serde_json::Value,
) -> Result<Plan> {
    if t.server.is_none() {
        return Ok(Plan {
            unsupported: Some(format!("the plugin has no MCP server, and {} has no skills", agent.label())),
            ..Plan::default()
        });
    }
    let mut plan = json_server(agent, t, cx, path, section, entry)?;
    plan.notes.extend(no_skills_note(agent, t));
    Ok(plan)
}

/// The server's entry `section.<name>` of an agent's JSON(C) file set to what atk gives it (or,
/// without a server, atk's entry removed), unless the agent has someone else's server under that
/// name (a conflict, or with `--replace` replaced).
pub fn json_server(
    agent: AgentId,
    t: &Target,
    cx: &Cx,
    path: &Path,
    section: &str,
    entry: impl Fn(&Server) -> serde_json::Value,
) -> Result<Plan> {
    let mut plan = Plan::default();
    let given = t.given(&cx.env.launcher);
    let stance = stance(agent, t, cx, given.as_ref())?;
    let Some(server) = given else {
        if matches!(stance, Stance::Same | Stance::Atks) {
            plan.changes.extend(json_edit(path, section, &t.server_name, JsonEdit::Remove, None)?);
        }
        return Ok(plan);
    };
    match stance {
        Stance::Foreign(held) if !cx.replace => {
            plan.conflict = Some(conflict_text(&cx.env.launcher, t, &held));
            return Ok(plan);
        }
        Stance::Foreign(held) => plan.changes.push(replacing(agent, t, &held)),
        _ => {}
    }
    let (value, shown) = (entry(&server), entry(&server.masked()));
    plan.changes.extend(json_edit(path, section, &t.server_name, JsonEdit::Set(&value, &shown), None)?);
    if !plan.changes.iter().any(|c| matches!(c, Change::Write { .. })) {
        plan.changes.clear();
    }
    say_secret_url(agent, &server, &mut plan);
    Ok(plan)
}

/// Unplugging from a file agent without skills: `section.<name>` removed when it is atk's.
pub fn file_unplug(agent: AgentId, t: &Target, cx: &Cx, path: &Path, section: &str) -> Result<Plan> {
    let mut plan = Plan::default();
    match stance(agent, t, cx, t.given(&cx.env.launcher).as_ref())? {
        Stance::Absent => {}
        Stance::Equal => plan.notes.push(not_written(t)),
        Stance::Foreign(held) => plan.notes.push(left_alone(t, &held)),
        Stance::Same | Stance::Atks => {
            plan.changes.extend(json_edit(path, section, &t.server_name, JsonEdit::Remove, None)?);
        }
    }
    Ok(plan)
}
