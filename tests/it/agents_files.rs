//! Agents' own files as the user keeps them: a JSON(C) config with a key written twice is left
//! alone (agents read the last one, an edit would land on the first), a plugin name with a line
//! break of any reader or a bidirectional control never reaches an agent, and a file owned by
//! another user keeps its owner, group and mode when atk runs as root.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::common::agents::*;
use crate::common::*;

/// Every agent file the tests look at, read back (absent: `None`).
fn files(paths: &[&Path]) -> Vec<Option<Vec<u8>>> {
    paths.iter().map(|p| std::fs::read(p).ok()).collect()
}

/// Adds a local plugin whose `plugin.yaml` names it `yaml_name` (a YAML scalar, quoted and
/// escaped as needed); returns its folder name in the home.
fn add_named(env: &Env, rel: &str, yaml_name: &str) -> String {
    let body = yaml(yaml_name, "mcp:\n  transport: stdio\n  command: node\n  args: [server.js]\n");
    let src = env.plugin(rel, &body, &[("SKILL.md", "# How to use it\n", false)]);
    env.ok(&["add", src.to_str().unwrap(), "-y"]);
    let mut dirs: Vec<String> = std::fs::read_dir(env.atk_home.join("plugins"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    dirs.sort();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs.pop().unwrap()
}

#[test]
fn a_name_with_a_line_or_paragraph_separator_or_a_bidi_control_reaches_no_agent() {
    // YAML's escapes: \L is U+2028, \P U+2029, \N U+0085.
    let cases = [
        ("\"Echo\\LLine\"", "line break"),
        ("\"Echo\\PLine\"", "line break"),
        ("\"Echo\\NLine\"", "line break"),
        ("\"Echo\\u202eenil\"", "bidirectional-text control"),
        ("\"Echo\\u2066Line\\u2069\"", "bidirectional-text control"),
    ];
    for (yaml_name, why) in cases {
        let env = Env::new();
        let stubs = Stubs::new(&env, &CLI_AGENTS);
        let directory = add_named(&env, "src-named", yaml_name);
        let cursor = env.home.join(".cursor/mcp.json");
        let opencode = env.home.join(".config/opencode/opencode.jsonc");
        let claude_md = env.home.join(".claude/CLAUDE.md");
        write(&cursor, "{\n  \"mcpServers\": {}\n}\n", false);
        write(&claude_md, "# Mine\n<!-- ATK:BEGIN -->\n<!-- ATK:END -->\n", false);
        let watched = [&cursor as &Path, &opencode, &claude_md, &env.home.join(".codex/AGENTS.md")];
        let before = (files(&watched), env.snapshot());
        let (out, err) = run_code(
            &env,
            &stubs,
            5,
            &["plug", &directory, "--cursor", "--opencode", "--claude", "--codex", "--gemini", "-y"],
        );
        let first = err.lines().next().unwrap_or_default();
        assert!(first.contains("cannot be given to coding agents: its name has a") && first.contains(why), "{yaml_name}: {err}");
        assert!(err.contains("hint: "), "{err}");
        // One line: the name is shown escaped, never as a break.
        assert!(!err.contains('\u{2028}') && !err.contains('\u{2029}') && !err.contains('\u{85}'), "{err:?}");
        assert!(!err.contains('\u{202e}') && !err.contains('\u{2066}'), "{err:?}");
        assert_eq!((files(&watched), env.snapshot()), before, "{yaml_name}: {out}");
        assert!(stubs.calls().is_empty(), "{:?}", stubs.calls());
        assert!(!env.home.join(".gemini").exists());
    }
}
