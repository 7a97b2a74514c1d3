//! The README's Quickstart works word for word: its one `sh` block (between the
//! `<!-- quickstart -->` markers) is run as written, offline, from the checkout's root, with this
//! build's atk first on PATH, a fresh HOME and nothing of the caller's environment.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::*;

/// The commands of the one ```sh block between the quickstart markers of `readme`.
fn quickstart(readme: &str) -> String {
    let start = readme.find("<!-- quickstart -->").expect("README.md has no <!-- quickstart --> marker");
    let end = readme[start..].find("<!-- /quickstart -->").expect("README.md has no <!-- /quickstart --> marker");
    let inside = &readme[start + "<!-- quickstart -->".len()..start + end];
    let blocks: Vec<&str> = inside.split("```").collect();
    // Text, then one block, then text: exactly one fenced block.
    assert_eq!(blocks.len(), 3, "the quickstart markers hold exactly one fenced block:\n{inside}");
    let block = blocks[1].strip_prefix("sh\n").expect("the quickstart block is a ```sh block");
    assert!(block.lines().filter(|l| l.trim_start().starts_with("atk ")).count() >= 5, "{block}");
    block.to_string()
}

#[test]
fn the_readme_quickstart_runs_word_for_word() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let block = quickstart(&std::fs::read_to_string(root.join("README.md")).unwrap());
    // What the block may touch in the checkout: the bundled registry, and the checkout's top folder.
    let top = || {
        let mut names: Vec<_> = std::fs::read_dir(root).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        names
    };
    let before = (tree(&root.join("registry-template")), top());

    let tmp = tempfile::Builder::new().prefix("atk-readme-").tempdir().unwrap();
    let home = tmp.path().join("user");
    let tmpdir = tmp.path().join("tmp");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&tmpdir).unwrap();
    let path = std::env::join_paths(
        std::iter::once(bin().parent().unwrap().to_path_buf())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap();
    // -e: the first command that fails ends the run, and the test with it; -x: each command is
    // shown, so that a failure names it.
    let child = Command::new("sh")
        .args(["-e", "-x", "-c", &block])
        .env_clear()
        .env("PATH", path)
        .env("HOME", &home)
        .env("TMPDIR", &tmpdir)
        .env("LANG", "C.UTF-8")
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_with_timeout(child, RUN_TIMEOUT);
    let (stdout, stderr) = texts(&out);
    assert!(
        out.status.success(),
        "the quickstart failed ({:?}):\n{block}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status.code()
    );
    assert!(!stderr.contains("error:"), "{stderr}");

    // It ran in its temporary folders: nothing in the user's home (no ~/.atk, no cache), and the
    // checkout is unchanged.
    let left: Vec<_> = std::fs::read_dir(&home).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "the quickstart wrote to the user's home: {left:?}");
    assert!((tree(&root.join("registry-template")), top()) == before, "the quickstart changed the checkout");
}

#[test]
fn a_readme_without_its_quickstart_block_is_refused() {
    let good = "x\n<!-- quickstart -->\n```sh\natk a\natk b\natk c\natk d\natk e\n```\n<!-- /quickstart -->\n";
    assert!(quickstart(good).starts_with("atk a\n"));
    for bad in [
        "no markers at all",
        "<!-- quickstart -->\n```sh\natk a\n```\n```sh\natk b\n```\n<!-- /quickstart -->",
        "<!-- quickstart -->\nno block\n<!-- /quickstart -->",
    ] {
        assert!(std::panic::catch_unwind(|| quickstart(bad)).is_err(), "{bad}");
    }
}

/// The ```yaml blocks of `text` that hold a whole `plugin.yaml` (a `schema_version`), and the one
/// after the line `# plugins/my-tool/custom/overrides.yaml`.
fn yaml_blocks(text: &str) -> (Vec<String>, Option<String>) {
    let (mut plugins, mut overrides) = (Vec::new(), None);
    for block in text.split("```yaml\n").skip(1) {
        let block = block.split("```").next().unwrap().to_string();
        if block.starts_with("# plugins/my-tool/custom/overrides.yaml\n") {
            overrides = Some(block);
        } else if block.contains("schema_version:") {
            plugins.push(block);
        }
    }
    (plugins, overrides)
}

#[test]
fn the_readme_is_short_and_the_plugin_yaml_examples_of_the_docs_are_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.lines().count() < 150, "the README is the front door: under 150 lines");

    let reference = std::fs::read_to_string(root.join("docs/plugin-yaml.md")).unwrap();
    let (mut plugins, none) = yaml_blocks(&readme);
    assert!(none.is_none());
    let (full, overrides) = yaml_blocks(&reference);
    assert_eq!((plugins.len(), full.len()), (1, 1), "one example in the README, one with every field in the reference");
    plugins.extend(full.iter().cloned());
    let env = Env::bare();
    for (i, yaml) in plugins.iter().enumerate() {
        let dir = env.path(&format!("example-{i}"));
        write(&dir.join("plugin.yaml"), yaml, false);
        env.ok(&["validate", dir.to_str().unwrap()]);
    }
    // The overrides example, over the example with every field: still valid.
    let dir = env.path("example-1");
    write(&dir.join("custom/overrides.yaml"), &overrides.expect("the reference has an overrides example"), false);
    let out = env.ok(&["validate", dir.to_str().unwrap()]);
    assert!(out.contains("My Tool"), "{out}");
    // And an override that breaks the definition is caught: the example is really merged.
    write(&dir.join("custom/overrides.yaml"), "lifecycle:\n  uninstall: null\n", false);
    env.fails(5, &["validate", dir.to_str().unwrap()]);
}
