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
    let before = git(root, &["status", "--porcelain", "--ignored=no"]);

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
    assert_eq!(git(root, &["status", "--porcelain", "--ignored=no"]), before, "the quickstart changed the checkout");
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
