//! Agents' own files as the user keeps them: a JSON(C) config with a key written twice is left
//! alone (agents read the last one, an edit would land on the first), a plugin name with a line
//! break of any reader or a bidirectional control never reaches an agent, and a file owned by
//! another user keeps its owner, group and mode when atk runs as root.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

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
        assert!(
            first.contains("cannot be given to coding agents: its name has a") && first.contains(why),
            "{yaml_name}: {err}"
        );
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

    let (out, err) =
        run_code(&env, &stubs, 1, &["plug", "twice", "--cursor", "--vscode", "--windsurf", "--opencode", "-y"]);
    assert_eq!(files(&watched), before, "{out}\n{err}");
    let line = |path: &Path| {
        let shown = path.display().to_string();
        err.lines()
            .chain(out.lines())
            .find(|l| l.contains(&shown))
            .unwrap_or_else(|| panic!("{shown}: {out}\n{err}"))
            .to_string()
    };
    let c = line(&cursor);
    assert!(c.contains("\"mcpServers\" is written 2 times (lines 2 and 4) and agents read only the last one: keep one, then run the command again"), "{c}");
    assert!(line(&vscode).contains("\"servers\".\"Twice\" is written 2 times (lines 2 and 3)"), "{err}");
    assert!(
        line(&windsurf).contains("\"mcpServers\".\"Twice\".\"command\" is written 2 times (lines 1 and 2)"),
        "{err}"
    );
    assert!(line(&opencode).contains("\"instructions\" is written 2 times (lines 2 and 3)"), "{err}");
    // Nothing was recorded as plugged, and unplugging is refused the same way.
    assert!(!env.manifest().contains("agents:"), "{}", env.manifest());
    let (out, err) =
        run_code(&env, &stubs, 1, &["unplug", "twice", "--cursor", "--vscode", "--windsurf", "--opencode", "-y"]);
    assert_eq!(files(&watched), before, "{out}\n{err}");
    assert!(err.contains("is written 2 times"), "{out}\n{err}");

    // Once the user keeps one of each, atk edits the one every reader uses.
    write(&cursor, "{\n  // mine\n  \"mcpServers\": {\"hand\": {\"command\": \"b\"}}\n}\n", false);
    run_ok(&env, &stubs, &["plug", "twice", "--cursor", "-y"]);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cursor).unwrap().replace("// mine", "")).unwrap();
    assert_eq!(v["mcpServers"]["hand"]["command"], "b");
    // (what agents are given: atk exec of the plugin)
    assert_eq!(v["mcpServers"]["Twice"]["args"][0], "exec", "{v}");
}

/// `(uid, gid, mode)` of `path` itself (a link is not followed).
fn owner(path: &Path) -> (u32, u32, u32) {
    let m = std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (m.uid(), m.gid(), m.mode() & 0o7777)
}

fn chown(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).unwrap();
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
}

#[test]
#[ignore = "needs root, as CI has (.ci/run runs the ignored tests)"]
fn as_root_a_user_s_agent_files_and_links_stay_the_user_s() {
    assert!(rustix::process::geteuid().is_root(), "only root can make files of another user and give them back");
    let (uid, gid) = (4242, 4243);
    let env = Env::new();
    let stubs = Stubs::new(&env, &CLI_AGENTS);
    let dir = add_plugin(&env, "Owned", "mcp:\n  transport: stdio\n  command: node\n", true, &[]);
    let h = &env.home;
    // An existing file of the user in a folder of root's: it keeps its owner, group and mode.
    let cursor = h.join(".cursor/mcp.json");
    write(&cursor, "{\n  // mine\n  \"mcpServers\": {}\n}\n", false);
    chown(&cursor, uid, gid);
    chmod(&cursor, 0o640);
    // An existing CLAUDE.md of another user and group in the user's folder: the file's own kept.
    let claude_md = h.join(".claude/CLAUDE.md");
    write(&claude_md, "# Mine\n", false);
    chown(claude_md.parent().unwrap(), uid, gid);
    chown(&claude_md, uid + 2, gid + 2);
    chmod(&claude_md, 0o604);
    // New files in the user's folders, some in folders atk makes there: the user's.
    for d in [".codex", ".gemini", ".augment", ".config", ".config/Code/User"] {
        std::fs::create_dir_all(h.join(d)).unwrap();
        chown(&h.join(d), uid, gid);
    }
    let agents_md = h.join(".codex/AGENTS.md");
    let gemini_link = h.join(".gemini/skills/atk-owned");
    let auggie_link = h.join(".augment/rules/atk-owned.md");
    let opencode = h.join(".config/opencode/opencode.jsonc");
    let vscode = h.join(".config/Code/User/mcp.json");
    // A link atk-cli made before, as root: replaced by a folder of the folder's owner.
    std::fs::create_dir_all(gemini_link.parent().unwrap()).unwrap();
    chown(gemini_link.parent().unwrap(), uid, gid);
    std::os::unix::fs::symlink("/nonexistent/old", &gemini_link).unwrap();

    let all = ["--cursor", "--claude", "--codex", "--gemini", "--auggie", "--opencode", "--vscode", "-y"];
    let mut plug = vec!["plug", "owned"];
    plug.extend(all);
    run_ok(&env, &stubs, &plug);
    assert!(std::fs::read_to_string(&cursor).unwrap().contains("\"Owned\""));
    assert!(std::fs::read_to_string(&claude_md).unwrap().contains(&format!("@{}", dir.join("SKILL.md").display())));
    // atk-cli's old link is replaced by the folder atk writes Gemini's skill in.
    assert!(std::fs::symlink_metadata(&gemini_link).unwrap().is_dir());
    assert_eq!(owner(&cursor), (uid, gid, 0o640));
    assert_eq!(owner(&claude_md), (uid + 2, gid + 2, 0o604));
    assert_eq!(owner(&agents_md), (uid, gid, 0o600));
    assert_eq!(owner(&vscode), (uid, gid, 0o600));
    assert_eq!(owner(&opencode), (uid, gid, 0o600));
    for made in [h.join(".config/opencode"), h.join(".augment/rules")] {
        assert_eq!(owner(&made).0, uid, "{}", made.display());
        assert_eq!(owner(&made).1, gid, "{}", made.display());
    }
    assert_eq!((owner(&gemini_link).0, owner(&gemini_link).1), (uid, gid));
    let gemini_skill = gemini_link.join("SKILL.md");
    assert_eq!((owner(&gemini_skill).0, owner(&gemini_skill).1), (uid, gid));
    assert_eq!((owner(&auggie_link).0, owner(&auggie_link).1), (uid, gid));

    // Unplugging rewrites the files again: still the user's, as they were.
    let mut unplug = vec!["unplug", "owned"];
    unplug.extend(all);
    run_ok(&env, &stubs, &unplug);
    assert!(!std::fs::read_to_string(&cursor).unwrap().contains("\"Owned\""));
    assert_eq!(owner(&cursor), (uid, gid, 0o640));
    assert_eq!(owner(&claude_md), (uid + 2, gid + 2, 0o604));
    assert_eq!(owner(&agents_md), (uid, gid, 0o600));
    assert_eq!(owner(&opencode), (uid, gid, 0o600));
    assert!(std::fs::symlink_metadata(&gemini_link).is_err());
}

#[test]
#[ignore = "needs root, as CI has (.ci/run runs the ignored tests)"]
fn as_root_the_files_atk_rewrites_in_a_user_s_home_stay_the_user_s() {
    assert!(rustix::process::geteuid().is_root(), "only root can make files of another user and give them back");
    let (uid, gid) = (4242, 4243);
    let env = Env::new();
    for entry in walkdir::WalkDir::new(&env.atk_home) {
        chown(entry.unwrap().path(), uid, gid);
    }
    chmod(&env.atk_home.join("manifest.yaml"), 0o640);
    let src = env.plugin("src-owned", &yaml("Owned", ""), &[]);
    env.ok(&["add", src.to_str().unwrap(), "-y"]);
    assert!(env.manifest().contains("Owned"), "{}", env.manifest());
    assert_eq!(owner(&env.atk_home.join("manifest.yaml")), (uid, gid, 0o640));
}
