//! The name a plugin's server has in each agent: the plugin's display name where the agent takes
//! it (so that atk-cli, which uses it, finds the same server), else one derived from it, or the
//! one the user chose with `atk plug --as NAME`.

use super::{AgentId, Registered, Target};

/// Whether `agent` takes `name` as a server's name. Claude Code and Codex take ASCII letters,
/// digits, `-` and `_` only ("Piper TTS" is refused); Auggie refuses a dot; the others take any
/// name atk gives.
pub fn accepts(agent: AgentId, name: &str) -> bool {
    match agent {
        AgentId::Claude | AgentId::Codex => valid_strict(name),
        AgentId::Auggie => !name.contains('.'),
        _ => true,
    }
}

fn valid_strict(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('-')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A name made of ASCII letters, digits, `-` and `_` from `display` (every other run of
/// characters one `-`), else from the plugin's folder name, at most 64 characters.
pub fn derive(display: &str, directory: &str) -> String {
    let squash = |s: &str| {
        let mut out = String::new();
        for c in s.chars() {
            if c.is_ascii_alphanumeric() || c == '_' {
                out.push(c);
            } else if !out.ends_with('-') {
                out.push('-');
            }
        }
        out.trim_matches('-').chars().take(64).collect::<String>().trim_end_matches('-').to_string()
    };
    let from_display = squash(display);
    if !from_display.is_empty() {
        return from_display;
    }
    let from_directory = squash(directory);
    if from_directory.is_empty() {
        "atk-plugin".into()
    } else {
        from_directory
    }
}

/// The name `t`'s server is given in `agent`: the one chosen with `--as` (remembered on this
/// machine), else the display name where the agent takes it, else [`derive`]d.
pub fn server_name(agent: AgentId, t: &Target, registered: &Registered) -> String {
    if let Some(chosen) = registered.chosen(agent, &t.directory) {
        return chosen.to_string();
    }
    if accepts(agent, &t.name) {
        t.name.clone()
    } else {
        derive(&t.name, &t.directory)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kept_where_taken_and_derived_where_not() {
        assert!(accepts(AgentId::Claude, "notion_2-x"));
        assert!(!accepts(AgentId::Claude, "Piper TTS"));
        assert!(!accepts(AgentId::Codex, "café"));
        assert!(!accepts(AgentId::Codex, "-x"));
        assert!(accepts(AgentId::Cursor, "Piper TTS"));
        assert!(!accepts(AgentId::Auggie, "Node.js Tools") && accepts(AgentId::Auggie, "Node js"));
        assert_eq!(derive("Piper TTS", "piper-tts"), "Piper-TTS");
        assert_eq!(derive("  a.b / c ", "x"), "a-b-c");
        assert_eq!(derive("日本語", "nihongo"), "nihongo");
        assert_eq!(derive("日本語", "日本"), "atk-plugin");
        assert_eq!(derive(&"x".repeat(100), "d").len(), 64);
        assert!(valid_strict(&derive("é-é", "d")));
    }
}
