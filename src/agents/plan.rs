//! Plans: the changes that plug or unplug a plugin (an agent's program to run, a file edit, a
//! managed line, a skill link), how each is previewed, and the helpers the agents plan with.

use std::path::{Path, PathBuf};

use super::{fingerprint, jsonc, read_user_file, skill, AgentId, Cx, Server, Target};
use crate::error::{Error, Result};

/// One step of plugging or unplugging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Run an agent's program. `shown` is the argv with secrets masked; `fingerprint` what to
    /// remember once it succeeded (`None`: forget); `may_fail`: a failure means "was not there";
    /// `replaces`: when it fails, run this (the removal of a registration of the same name that
    /// atk did not make, or no longer remembers) and try once more.
    Run {
        argv: Vec<String>,
        shown: Vec<String>,
        fingerprint: Option<u64>,
        may_fail: bool,
        replaces: Option<Vec<String>>,
    },
    /// Replace a file's text (atomically; a new file is 0600).
    Write { path: PathBuf, text: String, preview: Vec<String> },
    /// Point a link at a target (replacing a link that is there).
    Link { link: PathBuf, target: PathBuf },
    /// Remove a link.
    Unlink { link: PathBuf },
}

/// What an agent would do.
#[derive(Debug, Default)]
pub struct Plan {
    pub changes: Vec<Change>,
    /// Said in the report (an agent without skills, say).
    pub notes: Vec<String>,
    /// Nothing can be done for this plugin with this agent, and why.
    pub unsupported: Option<String>,
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
    let text = read_user_file(path)?;
    let new = match (&text, want) {
        (_, true) => skill::add_line(text.as_deref().unwrap_or_default(), line),
        (Some(t), false) => skill::remove_line(t, line),
        (None, false) => None,
    };
    let verb = if want { "add" } else { "remove" };
    Ok(new.map(|text| Change::Write {
        path: path.to_path_buf(),
        text,
        preview: vec![format!("{verb} the line: {}", crate::text::escape(line))],
    }))
}

/// A skill link to make (`want`) or remove. A file or folder that is not a link is never touched.
pub fn skill_link(link: &Path, target: &Path, want: bool) -> Result<Option<Change>> {
    use skill::LinkState::*;
    let state = skill::link_state(link, target);
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

/// The registration changes of a CLI agent: `add` (made from the server) when what it would be
/// given differs from what atk gave it last (a registration made before is removed first);
/// `remove` when the plugin has no server any more.
pub fn cli_plug(
    agent: AgentId,
    t: &Target,
    cx: &Cx,
    add: impl Fn(&Server) -> Vec<String>,
    remove: Vec<String>,
) -> Vec<Change> {
    let before = cx.registered.get(agent, &t.directory);
    let mut changes = Vec::new();
    match &t.server {
        Some(s) => {
            let argv = add(s);
            let fp = fingerprint(&argv);
            if before != Some(fp) {
                if before.is_some() {
                    changes.push(Change::Run {
                        shown: remove.clone(),
                        argv: remove.clone(),
                        fingerprint: None,
                        may_fail: true,
                        replaces: None,
                    });
                }
                changes.push(Change::Run {
                    shown: add(&s.masked()),
                    argv,
                    fingerprint: Some(fp),
                    may_fail: false,
                    replaces: before.is_none().then_some(remove),
                });
            }
        }
        None if before.is_some() => changes.push(Change::Run {
            shown: remove.clone(),
            argv: remove,
            fingerprint: None,
            may_fail: true,
            replaces: None,
        }),
        None => {}
    }
    changes
}

/// The removal of a CLI agent's registration: when atk made one, or the plugin has a server
/// (someone else may have registered it); a failure counts as "not there" unless atk made it.
pub fn cli_unplug(agent: AgentId, t: &Target, cx: &Cx, remove: Vec<String>) -> Vec<Change> {
    let before = cx.registered.get(agent, &t.directory);
    if before.is_none() && t.server.is_none() {
        return vec![];
    }
    vec![Change::Run {
        shown: remove.clone(),
        argv: remove,
        fingerprint: None,
        may_fail: before.is_none(),
        replaces: None,
    }]
}

/// The edit of a JSON(C) file agent: `section.<name>` set to `entry` (or removed with `None`),
/// and for OpenCode the skill path added to or removed from `instructions`.
pub fn json_edit(
    path: &Path,
    section: &str,
    name: &str,
    entry: Option<(&serde_json::Value, &serde_json::Value)>,
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
    match entry {
        Some((value, shown)) => {
            if doc.set_member(section, name, value).map_err(bad)? {
                changed = true;
                preview.push(format!("set {section}.\"{}\" to:", crate::text::escape(name)));
                let pretty = serde_json::to_string_pretty(shown).expect("serializes");
                preview.extend(pretty.lines().map(|l| format!("  {l}")));
            }
        }
        None => {
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

/// Plugging into a file agent without skills: `section.<name>` set to the server's entry.
pub fn file_plug(
    agent: AgentId,
    t: &Target,
    path: &Path,
    section: &str,
    entry: impl Fn(&Server) -> serde_json::Value,
) -> Result<Plan> {
    let Some(server) = &t.server else {
        return Ok(Plan {
            unsupported: Some(format!("the plugin has no MCP server, and {} has no skills", agent.label())),
            ..Plan::default()
        });
    };
    let (value, shown) = (entry(server), entry(&server.masked()));
    let change = json_edit(path, section, &t.name, Some((&value, &shown)), None)?;
    Ok(Plan {
        changes: change.into_iter().collect(),
        notes: no_skills_note(agent, t).into_iter().collect(),
        ..Plan::default()
    })
}

/// Unplugging from a file agent without skills: `section.<name>` removed.
pub fn file_unplug(t: &Target, path: &Path, section: &str) -> Result<Plan> {
    let change = json_edit(path, section, &t.name, None, None)?;
    Ok(Plan { changes: change.into_iter().collect(), ..Plan::default() })
}
