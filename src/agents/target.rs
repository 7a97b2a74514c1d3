//! What is plugged: a plugin of the home as agents are given it, and the names agents can take.

use std::path::PathBuf;

use super::Server;
use crate::error::{Error, Result};
use crate::home::Entry;

/// What is plugged: a plugin of the home, with its resolved server and skill.
#[derive(Debug, Clone)]
pub struct Target {
    /// The display name.
    pub name: String,
    /// The plugin's description (`plugin.yaml`): what a skill without its own says it is for.
    pub description: String,
    /// The server's name in the agent at hand (see `names::server_name`): the display name until
    /// an agent is chosen.
    pub server_name: String,
    /// The plugin's folder name under `plugins/`: skill links are named after it.
    pub directory: String,
    /// The plugin folder, absolute (links resolved when it exists).
    pub dir: PathBuf,
    pub server: Option<Server>,
    /// Whether the plugin has a `SKILL.md` agents may be given: a regular file in its folder.
    pub has_skill: bool,
    /// Why the plugin's `SKILL.md` is not given to agents (it is a symbolic link: to a key in
    /// `~/.ssh`, or to the plugin's `.env`, an agent would load that into the model's context).
    pub skill_refused: Option<String>,
}

impl Target {
    /// The server as the agent at hand is given it (see `Server::given`).
    pub fn given(&self, launcher: &super::Launcher) -> Option<Server> {
        self.server.as_ref().map(|s| s.given(launcher, &self.directory, &self.server_name))
    }

    /// The absolute `SKILL.md` path agents are given: in the plugin folder (whose links are
    /// resolved, as atk-cli resolves them). A `SKILL.md` that is itself a link is never followed
    /// here: the lines and links made for it are found, and removed, by this path.
    pub fn skill_path(&self) -> PathBuf {
        self.dir.join("SKILL.md")
    }
}

/// The plugin of `entry` as agents are given it. Fails when its files are not in the home (a
/// fresh clone before `atk install`) or its `plugin.yaml` is broken.
pub fn target(home: &crate::home::Home, entry: &Entry, outer: crate::plugin::env::Outer) -> Result<Target> {
    target_and_plugin(home, entry, outer).map(|(target, _)| target)
}

/// [`target`], and the plugin it was made from.
pub fn target_and_plugin(
    home: &crate::home::Home,
    entry: &Entry,
    outer: crate::plugin::env::Outer,
) -> Result<(Target, crate::plugin::Plugin)> {
    let dir = home.plugin_dir(&entry.directory);
    if crate::plugin::definition_file(&dir).is_none() {
        return Err(Error::conflict(
            format!("the files of '{}' are not in the home", entry.name),
            vec![format!("fetch them with `atk install {}`", entry.directory)],
        ));
    }
    let plugin = crate::plugin::load(&dir)?;
    if let Some(why) = name_problem(&plugin.name) {
        return Err(Error::plugin_refused(
            format!("'{}' cannot be given to coding agents: its name {why}", crate::text::escape(&plugin.name)),
            vec![format!(
                "the name is the server's name in every agent, and a line of their instructions; rename it in plugins/{}/custom/overrides.yaml (name: ...)",
                entry.directory
            )],
        ));
    }
    let server = Server::resolve(&plugin, &dir, outer)?;
    let skill = dir.join("SKILL.md");
    let (has_skill, skill_refused) = match std::fs::symlink_metadata(&skill) {
        Ok(m) if m.is_file() => (true, None),
        Ok(m) if m.file_type().is_symlink() => {
            let to = std::fs::read_link(&skill).map(|t| t.display().to_string()).unwrap_or_default();
            let why = format!(
                "plugins/{}/SKILL.md is a symbolic link (to {}): agents are given only a regular SKILL.md in the plugin folder, so its skill is left out",
                entry.directory,
                crate::text::escape(&to)
            );
            (false, Some(why))
        }
        Ok(_) => {
            (false, Some(format!("plugins/{}/SKILL.md is not a regular file: its skill is left out", entry.directory)))
        }
        Err(_) => (false, None),
    };
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    let target = Target {
        server_name: plugin.name.clone(),
        description: plugin.description.clone(),
        name: plugin.name.clone(),
        directory: entry.directory.clone(),
        dir,
        server,
        has_skill,
        skill_refused,
    };
    Ok((target, plugin))
}

/// Why a plugin's name cannot be the name of an MCP server and go into an agent's instructions:
/// a line break of any reader (Python's `str.splitlines`, which atk-cli edits the managed section
/// with, also breaks at U+2028, U+2029 and U+0085; JavaScript at U+2028 and U+2029) or another
/// control character (it would put lines of its own outside atk's managed section, or leave one
/// there that can never be removed), a bidirectional control (it reorders or hides what a person
/// reads), the comment marks of that section, or a leading `-` (an agent's program would take it
/// for an option).
pub fn name_problem(name: &str) -> Option<&'static str> {
    if name.trim().is_empty() {
        Some("is empty")
    } else if name.chars().any(|c| c.is_control() || is_line_break(c)) {
        Some("has a line break or another control character")
    } else if name.chars().any(is_bidi_control) {
        Some("has a bidirectional-text control (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C), which reorders or hides what is shown")
    } else if name.contains("<!--") || name.contains("-->") {
        Some("has `<!--` or `-->`, the marks of atk's section in an agent's instructions")
    } else if name.starts_with('-') {
        Some("starts with '-', which an agent's program would read as an option")
    } else if matches!(name, "__proto__" | "constructor" | "prototype") {
        Some("is a name the agents' JSON readers keep for themselves (a server of that name is silently dropped)")
    } else {
        None
    }
}

/// A line boundary for some reader of the files a name goes into: Python's `str.splitlines`
/// (`\n`, `\r`, `\v`, `\f`, `\x1c`-`\x1e`, U+0085, U+2028, U+2029), JavaScript, TOML and
/// Markdown (a subset of these), and Unicode's line and paragraph separators.
fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{b}' | '\u{c}' | '\u{1c}'..='\u{1e}' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// Unicode's `Bidi_Control` characters (the "Trojan Source" set).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// What unplugging needs when the plugin cannot be read: its name and where its folder is (or
/// was), so that its skill lines and links, and what atk registered, can still be removed.
pub fn bare_target(home: &crate::home::Home, entry: &Entry) -> Target {
    let plugins = std::fs::canonicalize(home.root.join("plugins")).unwrap_or_else(|_| home.root.join("plugins"));
    let dir = plugins.join(&entry.directory);
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    Target {
        name: entry.name.clone(),
        server_name: entry.name.clone(),
        description: String::new(),
        directory: entry.directory.clone(),
        dir,
        server: None,
        has_skill: false,
        skill_refused: None,
    }
}

#[cfg(test)]
mod name_tests {
    use super::name_problem;

    #[test]
    fn every_line_break_and_bidi_control_is_refused() {
        for c in [
            '\n', '\r', '\u{b}', '\u{c}', '\u{1c}', '\u{1d}', '\u{1e}', '\u{85}', '\u{2028}', '\u{2029}', '\0',
            '\u{7f}',
        ] {
            let name = format!("Echo{c}Spaced");
            assert_eq!(name_problem(&name), Some("has a line break or another control character"), "{name:?}");
        }
        for c in [
            '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
            '\u{200e}', '\u{200f}', '\u{61c}',
        ] {
            assert!(name_problem(&format!("a{c}b")).unwrap().starts_with("has a bidirectional-text control"), "{c:?}");
        }
        for fine in ["Piper TTS", "Ünïcode ✓", "עברית", "emoji 👨\u{200d}👩", "a-b_c.d"] {
            assert_eq!(name_problem(fine), None, "{fine:?}");
        }
    }
}
