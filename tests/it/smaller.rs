//! Smaller fixes of issue 17, each pinned: a pager that cannot start, a commit whose date is out
//! of range, and `doctor --fix` repairs that do not depend on one another.

use crate::common::*;

/// `$PAGER` is not there (or `less` is not installed): the README is printed instead, exit 0.
#[test]
fn a_pager_that_cannot_start_means_the_readme_is_printed() {
    let env = Env::new();
    let long: String = (1..=300).map(|i| format!("Line number {i} of the manual.\n\n")).collect();
    let dir = env.plugin("src/doc", &yaml("doc", ""), &[("README.md", &format!("# Manual\n\n{long}"), false)]);
    env.ok(&["add", "-y", dir.to_str().unwrap()]);
    for pager in ["/nonexistent/pager", "./not-executable"] {
        write(&env.path("not-executable"), "#!/bin/sh\ncat\n", false);
        let mut cmd = std::process::Command::new(bin());
        env.apply(&mut cmd);
        cmd.env_remove("CI").env("TERM", "dumb").env("PAGER", pager).args(["help", "doc"]);
        let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
        let shown = p.exp_eof().unwrap();
        assert!(
            shown.contains("Line number 300 of the manual.") && shown.contains("doc (plugins/doc)"),
            "{pager}: {shown:?}"
        );
        assert!(shown.contains("the pager ($PAGER, else `less`) could not be started"), "{shown:?}");
        let status = format!("{:?}", p.process().wait().unwrap());
        assert!(status.starts_with("Exited(") && status.ends_with(", 0)"), "{pager}: {status}");
    }
}

/// A commit whose date is out of range (git writes and `git log` reads it; gix does not): the
/// history shows it with its date marked invalid, and every other commit as before.
#[test]
fn a_commit_with_an_out_of_range_date_is_shown_with_its_date_marked_invalid() {
    let env = Env::new();
    let dir = env.plugin("src/dated", &yaml("dated", ""), &[]);
    env.ok(&["add", "-y", dir.to_str().unwrap()]);
    for date in ["99999999999999999999 +0000", "-99999999999999 +0000"] {
        let tree = env.git(&["rev-parse", "HEAD^{tree}"]);
        let parent = env.git(&["rev-parse", "HEAD"]);
        let body = format!(
            "tree {}\nparent {}\nauthor A <a@b> {date}\ncommitter A <a@b> {date}\n\nHand-made commit\n",
            tree.trim(),
            parent.trim()
        );
        let body_file = env.path("commit.txt");
        std::fs::write(&body_file, body).unwrap();
        let id = env.git(&["hash-object", "-t", "commit", "-w", "--literally", body_file.to_str().unwrap()]);
        env.git(&["update-ref", "HEAD", id.trim()]);
        assert!(env.git(&["log", "--format=%s"]).starts_with("Hand-made commit\n"));

        let out = env.ok(&["history"]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], format!("{} (invalid date)  (Hand-made commit)", &id[..12]), "{out}");
        assert!(lines.iter().any(|l| l.contains(" (20") && l.contains("add dated")), "{out}");
        let doc: serde_json::Value = serde_json::from_str(&env.ok(&["history", "--json"])).unwrap();
        let ops = doc["operations"].as_array().unwrap();
        assert_eq!(
            (&ops[0]["commit"], &ops[0]["date"]),
            (&serde_json::json!(id.trim()), &serde_json::Value::Null),
            "{doc}"
        );
        assert!(ops.iter().filter(|o| o["subject"] != "Hand-made commit").all(|o| o["date"].is_string()), "{doc}");
        // The next commands work on this history.
        env.ok(&["history", "dated"]);
        env.ok(&["status"]);
    }
}

/// `doctor --fix` without a terminal: declining to replace an edited shipped file (no one to ask
/// means no) does not keep the deleted one away; each repair stands alone.
#[test]
fn doctor_fix_without_a_terminal_puts_back_a_missing_file_and_keeps_an_edited_one() {
    let env = Env::new();
    let work = crate::common::sources::registry_work(&env);
    let reg = work.to_str().unwrap();
    write(&work.join("plugins/hello/docs/deep/guide.md"), "# Guide\n", false);
    crate::common::sources::commit_all(&work, "a guide in a folder");
    env.ok(&["--registry", reg, "add", "-y", "hello", "--set", "HELLO_NAME=Ada"]);
    let dir = env.atk_home.join("plugins/hello");
    let shipped = std::fs::read_to_string(dir.join("start.sh")).unwrap();
    write(&dir.join("README.md"), "my own words\n", false);
    std::fs::remove_file(dir.join("start.sh")).unwrap();
    // A missing file whose folders are gone too.
    std::fs::remove_dir_all(dir.join("docs")).unwrap();

    let (out, err) = env.fails(1, &["--registry", reg, "doctor", "--fix"]);
    assert_eq!(std::fs::read_to_string(dir.join("start.sh")).unwrap(), shipped);
    assert_eq!(mode(&dir.join("start.sh")), 0o755);
    assert_eq!(std::fs::read_to_string(dir.join("docs/deep/guide.md")).unwrap(), "# Guide\n");
    assert_eq!(std::fs::read_to_string(dir.join("README.md")).unwrap(), "my own words\n");
    assert!(err.contains("not asked (no terminal)"), "{err}");
    let said = format!("{out}{err}");
    assert!(
        said.contains("hello: put back 2 missing shipped files from commit ")
            && said.contains(": docs/deep/guide.md, start.sh; your changes to 1 file are kept"),
        "{said}"
    );
    // What is left is the edit, and only it (exit 1: a problem remains).
    assert!(out.contains("changed since the pinned commit (lost at the next upgrade): README.md"), "{out}");
    assert!(!out.contains("shipped files missing"), "{out}");
    let (out, _) = env.fails(1, &["--registry", reg, "doctor"]);
    assert!(!out.contains("shipped files missing"), "{out}");
    // With --yes the edit goes too, and the home is whole.
    env.ok(&["--registry", reg, "doctor", "--fix", "--yes"]);
    assert_ne!(std::fs::read_to_string(dir.join("README.md")).unwrap(), "my own words\n");
    env.ok(&["--registry", reg, "doctor"]);
}
