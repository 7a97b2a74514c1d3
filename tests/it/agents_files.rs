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

#[test]
fn a_config_with_a_key_written_twice_is_left_byte_for_byte() {
    let env = Env::new();
    let stubs = Stubs::new(&env, &[]);
    add_plugin(&env, "Twice", "mcp:\n  transport: stdio\n  command: node\n", true, &[]);
    let cursor = env.home.join(".cursor/mcp.json");
    let vscode = env.home.join(".config/Code/User/mcp.json");
    let windsurf = env.home.join(".codeium/windsurf/mcp_config.json");
    let opencode = env.home.join(".config/opencode/opencode.jsonc");
    // Two "mcpServers": Cursor reads the last, an edit of the first would be lost on it.
    let cursor_text = "{\n  \"mcpServers\": {\"old\": {\"command\": \"a\"}},\n  // mine\n  \"mcpServers\": {\"hand\": {\"command\": \"b\"}}\n}\n";
    write(&cursor, cursor_text, false);
    // The same server twice (the second spelled with an escape).
    let vscode_text = "{\"servers\": {\n  \"Twice\": {\"type\": \"stdio\", \"command\": \"x\"},\n  \"\\u0054wice\": {\"type\": \"stdio\", \"command\": \"y\"}\n}}\n";
    write(&vscode, vscode_text, false);
    // A key twice inside the entry of that name.
    let windsurf_text = "{\"mcpServers\": {\"Twice\": {\"command\": \"x\",\n \"command\": \"y\"}}}\n";
    write(&windsurf, windsurf_text, false);
    // Two lists of instructions.
    let opencode_text = "{\n  \"instructions\": [],\n  \"instructions\": [\"~/notes.md\"]\n}\n";
    write(&opencode, opencode_text, false);
    let watched = [&cursor as &Path, &vscode, &windsurf, &opencode];
    let before = files(&watched);

    let (out, err) = run_code(&env, &stubs, 1, &["plug", "twice", "--cursor", "--vscode", "--windsurf", "--opencode", "-y"]);
    assert_eq!(files(&watched), before, "{out}\n{err}");
    let line = |path: &Path| {
        let shown = path.display().to_string();
        err.lines().chain(out.lines()).find(|l| l.contains(&shown)).unwrap_or_else(|| panic!("{shown}: {out}\n{err}")).to_string()
    };
    let c = line(&cursor);
    assert!(c.contains("\"mcpServers\" is written 2 times (lines 2 and 4) and agents read only the last one: keep one, then run the command again"), "{c}");
    assert!(line(&vscode).contains("\"servers\".\"Twice\" is written 2 times (lines 2 and 3)"), "{err}");
    assert!(line(&windsurf).contains("\"mcpServers\".\"Twice\".\"command\" is written 2 times (lines 1 and 2)"), "{err}");
    assert!(line(&opencode).contains("\"instructions\" is written 2 times (lines 2 and 3)"), "{err}");
    // Nothing was recorded as plugged, and unplugging is refused the same way.
    assert!(!env.manifest().contains("agents:"), "{}", env.manifest());
    let (out, err) = run_code(&env, &stubs, 1, &["unplug", "twice", "--cursor", "--vscode", "--windsurf", "--opencode", "-y"]);
    assert_eq!(files(&watched), before, "{out}\n{err}");
    assert!(err.contains("is written 2 times"), "{out}\n{err}");

    // Once the user keeps one of each, atk edits the one every reader uses.
    write(&cursor, "{\n  // mine\n  \"mcpServers\": {\"hand\": {\"command\": \"b\"}}\n}\n", false);
    run_ok(&env, &stubs, &["plug", "twice", "--cursor", "-y"]);
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&cursor).unwrap().replace("// mine", "")).unwrap();
    assert_eq!(v["mcpServers"]["hand"]["command"], "b");
    assert_eq!(v["mcpServers"]["Twice"]["command"], "node");
}
