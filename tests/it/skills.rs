//! A plugin's `SKILL.md` in the Agent Skills format: `atk new` and the registry template write its
//! `name`/`description` front matter, and `validate` warns (the plugin stays valid) about a
//! `SKILL.md` without it, with a broken one, or that is a symbolic link.

use std::path::{Path, PathBuf};

use crate::common::*;

/// The `name` and `description` of a `SKILL.md`'s front matter, as a reader that knows only the
/// format finds them (the text between the first two `---` lines, read as YAML by serde).
fn front_matter(skill: &Path) -> (String, String) {
    let text = std::fs::read_to_string(skill).unwrap();
    let rest = text.strip_prefix("---\n").unwrap_or_else(|| panic!("no front matter: {text}"));
    let (yaml, _) = rest.split_once("\n---\n").unwrap_or_else(|| panic!("not closed: {text}"));
    let doc: serde_json::Value = yaml_serde::from_str(yaml).unwrap();
    (doc["name"].as_str().unwrap().to_string(), doc["description"].as_str().unwrap().to_string())
}

/// `atk validate PATH`: (stdout, stderr), asserting exit 0.
fn validate(env: &Env, path: &Path) -> (String, String) {
    env.fails(0, &["validate", path.to_str().unwrap()])
}

#[test]
fn new_writes_a_skill_with_agent_skills_front_matter_that_validates_without_warning() {
    let env = Env::bare();
    let parent = env.path("plugins");
    std::fs::create_dir_all(&parent).unwrap();
    for (name, kind) in [("my-tool", "script"), ("compose-tool", "docker-compose")] {
        env.ok(&["new", name, "--type", kind, "--dir", parent.to_str().unwrap()]);
        let skill = parent.join(name).join("SKILL.md");
        let (skill_name, description) = front_matter(&skill);
        assert_eq!(skill_name, name);
        assert!(description.contains(name) && description.contains("when"), "{description}");
        let text = std::fs::read_to_string(&skill).unwrap();
        assert!(text.contains(&format!("\n---\n\n# {name}\n")), "the instructions follow: {text}");
        let (out, err) = validate(&env, &parent.join(name));
        assert!(out.contains('✓'), "{out}");
        assert!(!err.contains("warning"), "{err}");
    }
}

#[test]
fn validate_warns_about_a_skill_without_front_matter_and_shows_what_to_add() {
    let env = Env::bare();
    let p = env.plugin(
        "src/piper",
        &yaml("Piper TTS", "").replace("description: test plugin Piper TTS", "description: 'Speaks text: \"aloud\"'"),
        &[("SKILL.md", "# Piper\n\nSay things.\n", false)],
    );
    let (out, err) = validate(&env, &p);
    assert!(out.contains("✓") && out.contains("Piper TTS"), "the plugin stays valid: {out}");
    let skill = p.join("SKILL.md");
    assert!(
        err.contains(&format!("warning: {} has no front matter with `name` and `description`", skill.display())),
        "{err}"
    );
    // The hint is the front matter to paste: the name from the plugin's folder name, its
    // description quoted.
    assert!(
        err.contains("hint: begin SKILL.md with this front matter")
            && err.contains("\n---\nname: \"piper-tts\"\ndescription: \"Speaks text: \\\"aloud\\\"\"\n---\n"),
        "{err}"
    );

    // --json: the warning is in the document, the exit code is 0.
    let out = env.cmd().args(["validate", "--json"]).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], 1);
    let w = &v["plugins"][0]["warnings"][0];
    assert!(w["message"].as_str().unwrap().contains("has no front matter"), "{v}");
    assert!(w["hints"][0].as_str().unwrap().contains("name: \"piper-tts\""), "{v}");

    // Pasting the hint's front matter above the text ends the warning.
    let hint = err.split("agentskills.io):\n").nth(1).unwrap();
    let block: String = hint.lines().take(4).map(|l| format!("{l}\n")).collect();
    write(&skill, &format!("{block}\n# Piper\n\nSay things.\n"), false);
    assert_eq!(front_matter(&skill), ("piper-tts".to_string(), "Speaks text: \"aloud\"".to_string()));
    let (_, err) = validate(&env, &p);
    assert!(!err.contains("warning"), "{err}");
}

#[test]
fn validate_warns_about_broken_front_matter_with_the_reason_and_accepts_crlf() {
    let env = Env::bare();
    let p = env.plugin("src/notes", &yaml("notes", ""), &[]);
    let skill = p.join("SKILL.md");
    for (text, why) in [
        ("---\nname: notes\ndescription: Keeps notes.\n# Notes\n", "never closed"),
        ("---\nname: notes\n---\n# Notes\n", "`description` is missing"),
        ("---\nname: notes\ndescription: [a\n---\n", "not valid YAML"),
        ("---\nname: notes\ndescription: ''\n---\n", "`description` is empty"),
        ("\u{feff}---\nname: notes\ndescription: d\n---\n", "byte order mark"),
    ] {
        write(&skill, text, false);
        let (out, err) = validate(&env, &p);
        assert!(out.contains('✓'), "{out}");
        assert!(err.contains(&format!("warning: {} has broken front matter: ", skill.display())), "{text:?}: {err}");
        assert!(err.contains(why), "{text:?}: {err}");
        assert!(err.contains("name: \"notes\"\ndescription: \"test plugin notes\""), "{err}");
    }
    // A name off the Agent Skills rules is loaded by agents, but said.
    write(&skill, "---\nname: My Notes\ndescription: Keeps notes.\n---\n", false);
    let (_, err) = validate(&env, &p);
    assert!(
        err.contains("the skill's name 'My Notes' is not valid")
            && err.contains("name: notes would do (the plugin's folder name)"),
        "{err}"
    );
    // CRLF line ends are front matter all the same.
    write(&skill, "---\r\nname: notes\r\ndescription: Keeps notes.\r\n---\r\n\r\n# Notes\r\n", false);
    let (_, err) = validate(&env, &p);
    assert!(!err.contains("warning"), "{err}");
    // No SKILL.md, nothing to say.
    std::fs::remove_file(&skill).unwrap();
    let (_, err) = validate(&env, &p);
    assert!(!err.contains("warning"), "{err}");
}

#[test]
fn validate_warns_about_a_skill_that_is_a_symbolic_link_naming_it() {
    let env = Env::bare();
    let key = env.path("home/.ssh/id_rsa");
    write(&key, "-----BEGIN OPENSSH PRIVATE KEY-----\n", false);
    let p = env.plugin("src/linked", &yaml("linked", ""), &[(".env", "TOKEN=s3cret\n", false)]);
    let skill = p.join("SKILL.md");
    let cases: [(PathBuf, &str); 3] =
        [(key.clone(), "id_rsa"), (PathBuf::from(".env"), ".env"), (env.path("gone"), "gone")];
    for (target, shown) in cases {
        let _ = std::fs::remove_file(&skill);
        std::os::unix::fs::symlink(&target, &skill).unwrap();
        let (out, err) = validate(&env, &p);
        assert!(out.contains('✓'), "a warning, not an error: {out}");
        assert!(
            err.contains(&format!("warning: {} is a symbolic link (to ", skill.display()))
                && err.contains(shown)
                && err.contains("atk gives agents only a regular SKILL.md, never a link")
                && err.contains("hint: replace the link with the file itself"),
            "{err}"
        );
        assert!(!err.contains("BEGIN OPENSSH") && !err.contains("s3cret"), "never read through: {err}");
    }
    // `registry validate` says it too.
    std::fs::remove_file(&skill).unwrap();
    let root = env.path("reg");
    copy_dir(&p, &root.join("plugins/linked"));
    std::os::unix::fs::symlink(".env", root.join("plugins/linked/SKILL.md")).unwrap();
    write(&root.join("plugins/linked/README.md"), "# linked\n", false);
    let (out, err) = env.fails(0, &["registry", "validate", root.to_str().unwrap()]);
    assert!(out.contains("1 valid, 0 invalid"), "{out}");
    assert!(err.contains("plugins/linked/SKILL.md is a symbolic link"), "{err}");
}

#[test]
fn the_registry_template_s_skill_has_front_matter_and_registries_without_one_stay_valid() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let notes = root.join("registry-template/plugins/notes");
    let (name, description) = front_matter(&notes.join("SKILL.md"));
    assert_eq!(name, "notes");
    assert!(!description.is_empty());
    let env = Env::bare();
    let (_, err) = env.fails(0, &["registry", "validate", root.join("registry-template").to_str().unwrap()]);
    assert!(!err.contains("warning"), "{err}");

    // A registry plugin whose SKILL.md has no front matter is valid (a warning only).
    let reg = env.path("reg");
    copy_dir(&root.join("registry-template"), &reg);
    write(&reg.join("plugins/notes/SKILL.md"), "# Notes\n\nUse the Notes MCP server.\n", false);
    let (out, err) = env.fails(0, &["registry", "validate", reg.to_str().unwrap()]);
    assert!(out.contains("2 valid, 0 invalid"), "{out}");
    assert!(err.contains("plugins/notes/SKILL.md has no front matter"), "{err}");
    env.ok(&["registry", "index", "--check", reg.to_str().unwrap()]);
}

/// atk-cli 0.4.0 loads the plugin `atk new` writes (its own loader and schema), and PyYAML reads
/// the skill's front matter as atk wrote it.
const LOAD_WITH_ATK_CLI: &str = "
import sys, yaml
from pathlib import Path
from atk.plugin import load_plugin_schema
for d in sys.argv[1:]:
    s = load_plugin_schema(Path(d))
    text = open(d + '/SKILL.md', encoding='utf-8').read()
    assert text.startswith('---\\n'), text
    fm = yaml.safe_load(text[4:].split('\\n---\\n', 1)[0])
    print(s.name, fm['name'], fm['description'] == s.description or 'own description')
";

#[test]
#[ignore = "needs the Python test venv (target/pyvenv or ATK_TEST_PYTHON; .ci/run makes it)"]
fn what_new_writes_is_valid_for_atk_cli_0_4_0() {
    let py = crate::common::python::python("what_new_writes_is_valid_for_atk_cli_0_4_0", &["atk.plugin", "yaml"]);
    let env = Env::bare();
    let parent = env.path("plugins");
    std::fs::create_dir_all(&parent).unwrap();
    env.ok(&["new", "my-tool", "--dir", parent.to_str().unwrap()]);
    env.ok(&["new", "compose-tool", "--type", "docker-compose", "--dir", parent.to_str().unwrap()]);
    let dirs = [parent.join("my-tool"), parent.join("compose-tool")];
    let args: Vec<&str> = dirs.iter().map(|d| d.to_str().unwrap()).collect();
    let out = crate::common::python::run(&py, LOAD_WITH_ATK_CLI, &args, &[], "");
    assert_eq!(out, "my-tool my-tool own description\ncompose-tool compose-tool own description\n");
}

/// PyYAML (YAML 1.1, atk-cli's reader) reads the front matter atk derives from `plugin.yaml` with
/// the description exactly as it reads it from `plugin.yaml`, whatever characters it holds.
const FRONT_MATTER_WITH_PYYAML: &str = "
import sys, json, yaml
hint, plugin_yaml = sys.argv[1], sys.argv[2]
block = hint.split('agentskills.io):\\n', 1)[1]
assert block.startswith('---\\n') and block.endswith('\\n---'), block
fm = yaml.safe_load(block[4:-4])
want = yaml.safe_load(open(plugin_yaml, encoding='utf-8'))['description']
print(json.dumps([fm['name'], fm['description'] == want]))
";

#[test]
#[ignore = "needs the Python test venv (target/pyvenv or ATK_TEST_PYTHON; .ci/run makes it)"]
fn the_front_matter_atk_derives_reads_back_in_pyyaml_whatever_the_description_holds() {
    let py = crate::common::python::python(
        "the_front_matter_atk_derives_reads_back_in_pyyaml_whatever_the_description_holds",
        &["yaml"],
    );
    let env = Env::bare();
    let description = r#""Reads: \"quoted\" 'single' \\ back # hash ${HOME} $word\nsecond line\ttab \u2028sep \u0085nel \u00e9 ✓ 日本 😀 - [x] {a: b} yes null 0755 ---""#;
    let p = env.plugin(
        "src/hostile",
        &yaml("hostile", "").replace("description: test plugin hostile", &format!("description: {description}")),
        &[("SKILL.md", "Instructions.\n", false)],
    );
    let out = env.cmd().args(["validate", "--json"]).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hint = v["plugins"][0]["warnings"][0]["hints"][0].as_str().unwrap();
    let plugin_yaml = p.join("plugin.yaml");
    let got =
        crate::common::python::run(&py, FRONT_MATTER_WITH_PYYAML, &[hint, plugin_yaml.to_str().unwrap()], &[], "");
    assert_eq!(got.trim(), r#"["hostile", true]"#, "{hint}");
}
