//! The home's `.gitignore` laid out as atk-cli 0.4.0 lays it out: the same template, the secret
//! block last after every add and remove, older layouts normalized inside the next such commit.

use crate::common::TEMPLATE_GITIGNORE;
use crate::common::*;

/// What atk before 0.4.0's layout (and atk-cli 0.2) wrote: the secret patterns in the middle.
const OLD_GITIGNORE: &str = "# Ignore all plugin contents\nplugins/*/*\n\n# But keep custom directories\n!plugins/*/custom/\n!plugins/*/custom/**\n\n# Always ignore secrets\n*.env\n.env.*\n\n# Update check cache\n.update-cache.yaml\n\n# Local development\n.DS_Store\n";

const SECRET_BLOCK: &str = "\n\n# Always ignore secrets — keep LAST (gitignore is last-match-wins)\n*.env\n.env.*\n";

#[test]
fn init_writes_the_template() {
    assert_eq!(Env::new().gitignore(), TEMPLATE_GITIGNORE);
}

#[test]
#[ignore = "needs the Python test venv (target/pyvenv or ATK_TEST_PYTHON; .ci/run makes it)"]
fn init_writes_the_template_of_atk_cli_0_4_0() {
    let env = Env::new();
    let py = crate::common::python::python("init_writes_the_template_of_atk_cli_0_4_0", &["atk.init"]);
    let theirs = crate::common::python::run(
        &py,
        "import sys; from atk.init import GITIGNORE_CONTENT as t; sys.stdout.write(t)",
        &[],
        &[],
        "",
    );
    assert_eq!(env.gitignore(), theirs);
}

/// atk-cli 0.4.0's own `.gitignore` editing, replayed on a copy: each argument is `+dir` (a local
/// plugin added), `-dir` (removed) or `=` (a registry plugin added, no exemption); prints the file
/// after each step, separated by NUL.
const REPLAY_WITH_ATK_CLI: &str = "
import sys, pathlib, tempfile
from atk.git import add_gitignore_exemption, remove_gitignore_exemption
from atk.init import GITIGNORE_CONTENT
d = pathlib.Path(tempfile.mkdtemp())
(d / '.gitignore').write_text(sys.stdin.read() or GITIGNORE_CONTENT)
out = []
for step in sys.argv[1:]:
    if step.startswith('+'):
        add_gitignore_exemption(d, step[1:])
    elif step.startswith('-'):
        remove_gitignore_exemption(d, step[1:])
    out.append((d / '.gitignore').read_text())
sys.stdout.write('\\0'.join(out))
";

/// Adds two local plugins and removes them again, checking `.gitignore` after each step; returns
/// the file after each step.
fn add_two_and_remove_them() -> Vec<String> {
    let env = Env::new();
    let a = env.plugin("a", &yaml("Tool A", ""), &[]);
    let b = env.plugin("b", &yaml("Tool B", ""), &[]);
    let mut after = Vec::new();
    env.ok(&["add", "-y", a.to_str().unwrap()]);
    after.push(env.gitignore());
    env.ok(&["add", "-y", b.to_str().unwrap()]);
    after.push(env.gitignore());
    let gi = env.gitignore();
    assert!(
        gi.ends_with(&format!(
            ".DS_Store\n\n!plugins/tool-a/\n!plugins/tool-a/**\n\n!plugins/tool-b/\n!plugins/tool-b/**{SECRET_BLOCK}"
        )),
        "{gi}"
    );
    // A plugin's .env stays ignored even though its folder is exempted.
    write(&env.atk_home.join("plugins/tool-b/.env"), "K=v\n", false);
    assert_eq!(env.git(&["status", "--porcelain", "--ignored", "plugins/tool-b/.env"]), "!! plugins/tool-b/.env\n");
    env.ok(&["remove", "tool-a", "--yes"]);
    after.push(env.gitignore());
    assert!(env.gitignore().ends_with(&format!(".DS_Store\n\n\n!plugins/tool-b/\n!plugins/tool-b/**{SECRET_BLOCK}")));
    env.ok(&["remove", "tool-b", "--yes"]);
    after.push(env.gitignore());
    assert!(env.gitignore().ends_with(&format!(".DS_Store{SECRET_BLOCK}")));
    assert_eq!(env.git(&["status", "--porcelain"]), "");
    after
}

#[test]
fn every_add_and_remove_keeps_the_secret_block_last() {
    add_two_and_remove_them();
}

/// Byte for byte what atk-cli 0.4.0 makes of the same steps.
#[test]
#[ignore = "needs the Python test venv (target/pyvenv or ATK_TEST_PYTHON; .ci/run makes it)"]
fn every_add_and_remove_edits_gitignore_as_atk_cli_0_4_0_does() {
    let after = add_two_and_remove_them();
    let py = crate::common::python::python("every_add_and_remove_edits_gitignore_as_atk_cli_0_4_0_does", &["atk.git"]);
    let theirs =
        crate::common::python::run(&py, REPLAY_WITH_ATK_CLI, &["+tool-a", "+tool-b", "-tool-a", "-tool-b"], &[], "");
    let theirs: Vec<&str> = theirs.split('\0').collect();
    assert_eq!(after, theirs);
}

#[test]
fn an_older_home_is_normalized_inside_its_next_add_and_remove() {
    normalize_older_homes(None);
}

#[test]
#[ignore = "needs the Python test venv (target/pyvenv or ATK_TEST_PYTHON; .ci/run makes it)"]
fn an_older_home_is_normalized_as_atk_cli_0_4_0_does() {
    let py = crate::common::python::python("an_older_home_is_normalized_as_atk_cli_0_4_0_does", &["atk.git"]);
    normalize_older_homes(Some(&py));
}

/// An older home's `.gitignore` is normalized inside its next add and its next remove; with `py`,
/// byte for byte as atk-cli 0.4.0 does it.
fn normalize_older_homes(py: Option<&std::path::Path>) {
    for (step, args) in [("add", "add"), ("remove", "remove")] {
        let env = Env::new();
        let src = env.plugin("p", &yaml("Tool P", ""), &[]);
        if step == "remove" {
            env.ok(&["add", "-y", src.to_str().unwrap()]);
        }
        // The old layout, with an exemption an older atk put above the secret patterns.
        let old = match step {
            "remove" => OLD_GITIGNORE.replace(
                "\n# Always ignore secrets",
                "!plugins/tool-p/\n!plugins/tool-p/**\n\n# Always ignore secrets",
            ),
            _ => OLD_GITIGNORE.to_string(),
        };
        write(&env.atk_home.join(".gitignore"), &old, false);
        env.git(&["commit", "-qam", "an older layout"]);
        match args {
            "add" => env.ok(&["add", "-y", src.to_str().unwrap()]),
            _ => env.ok(&["remove", "tool-p", "--yes"]),
        };
        let gi = env.gitignore();
        assert!(gi.ends_with(SECRET_BLOCK), "{step}: {gi}");
        assert_eq!(gi.matches("*.env").count(), 1, "{step}: {gi}");
        assert!(!gi.contains("# Always ignore secrets\n"), "{step}: the old header is gone: {gi}");
        // Inside that commit: the home is clean and the commit changed .gitignore.
        assert_eq!(env.git(&["status", "--porcelain"]), "", "{step}");
        assert!(env.git(&["show", "--name-only", "--format=", "HEAD"]).lines().any(|l| l == ".gitignore"), "{step}");
        assert!(env.log()[0].starts_with(if step == "add" { "Add plugin" } else { "Remove plugin" }));
        if let Some(py) = py {
            let op = if step == "add" { "+tool-p" } else { "-tool-p" };
            assert_eq!(
                gi,
                crate::common::python::run(py, REPLAY_WITH_ATK_CLI, &[op], &[], &old),
                "{step} as atk-cli 0.4.0 does it"
            );
        }
    }
}

#[test]
fn a_normalized_home_is_left_alone() {
    let env = Env::new();
    let src = env.plugin("p", &yaml("Tool P", ""), &[]);
    env.ok(&["add", "-y", src.to_str().unwrap()]);
    env.ok(&["remove", "tool-p", "--yes"]);
    // Nothing to normalize: the remove commit did not need to change .gitignore beyond the exemption.
    assert_eq!(env.gitignore(), TEMPLATE_GITIGNORE);
    assert_eq!(env.git(&["diff", "HEAD~2", "--", ".gitignore"]), "");
}
