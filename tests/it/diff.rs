//! `atk diff`: local changes to what a remote plugin shipped, as a unified diff, with
//! `git diff --exit-code`'s exit codes.

use crate::common::sources::*;
use crate::common::*;

#[test]
fn diff_shows_changes_to_shipped_files_and_exits_1() {
    let env = Env::new();
    let work = registry_work(&env);
    let reg = work.to_str().unwrap();
    env.ok(&["--registry", reg, "add", "-y", "hello", "--set", "HELLO_NAME=Ada"]);
    env.ok(&["--registry", reg, "add", "-y", "third"]);
    let local = env.plugin("local-one", &yaml("local one", ""), &[]);
    env.ok(&["add", "-y", local.to_str().unwrap()]);
    // Nothing changed: exit 0 and no output.
    assert_eq!(env.ok(&["--registry", reg, "diff"]), "");

    let dir = env.atk_home.join("plugins/hello");
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    write(&dir.join("README.md"), &readme.replacen("atk add hello", "atk add hello # edited", 1), false);
    std::fs::remove_file(dir.join("status.sh")).unwrap();
    // Not the plugin's files: never in the diff.
    write(&dir.join("custom/overrides.yaml"), "description: mine\n", false);
    write(&dir.join("runtime/state"), "x\n", false);
    write(&dir.join(".env"), "HELLO_NAME=Bo\n", false);

    let (out, _) = env.fails(1, &["--registry", reg, "diff"]);
    assert!(out.contains("diff --git a/plugins/hello/README.md b/plugins/hello/README.md"), "{out}");
    assert!(
        out.contains("-atk add hello --set HELLO_NAME=Ada\n+atk add hello # edited --set HELLO_NAME=Ada\n"),
        "{out}"
    );
    assert!(out.contains("deleted file\n--- a/plugins/hello/status.sh\n+++ /dev/null\n"), "{out}");
    let headers: Vec<&str> = out.lines().filter(|l| l.starts_with("diff --git")).collect();
    assert_eq!(
        headers,
        [
            "diff --git a/plugins/hello/README.md b/plugins/hello/README.md",
            "diff --git a/plugins/hello/status.sh b/plugins/hello/status.sh"
        ],
        "custom/, .env, runtime data and unchanged plugins are not in it"
    );

    let (out, _) = env.fails(1, &["--registry", reg, "diff", "--stat"]);
    assert_eq!(out, "M plugins/hello/README.md\nD plugins/hello/status.sh\n");
    // One plugin: the other has no changes.
    assert_eq!(env.ok(&["--registry", reg, "diff", "third"]), "");
    let (_, err) = env.fails(1, &["diff", "local-one"]);
    assert!(err.contains("local plugin") && err.contains("atk git diff"), "{err}");
    env.fails(4, &["diff", "nope"]);

    let out = env.cmd().args(["--registry", reg, "diff", "--stat", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["plugins"][0]["directory"], "hello");
    assert_eq!(doc["plugins"][0]["files"][1], serde_json::json!({"path": "status.sh", "status": "deleted"}));

    // The unified diff is the one git itself makes of the two versions.
    let shipped = env.path("shipped");
    std::fs::create_dir_all(&shipped).unwrap();
    write(&shipped.join("README.md"), &readme, false);
    let mut git_diff = git_command(&shipped);
    git_diff
        .args(["diff", "--no-index", "--no-prefix", "-U3"])
        .arg(shipped.join("README.md"))
        .arg(dir.join("README.md"));
    let theirs = wait_with_timeout(git_diff.spawn().unwrap(), RUN_TIMEOUT);
    let theirs = String::from_utf8_lossy(&theirs.stdout);
    // (git adds the function context after the hunk header; the ranges and lines must agree.)
    let hunk = |s: &str| {
        let h = s[s.find("@@").unwrap()..].split("diff --git").next().unwrap();
        let (header, rest) = h.split_once('\n').unwrap();
        format!("{}\n{rest}", &header[..header.rfind("@@").unwrap() + 2])
    };
    let (ours, _) = env.fails(1, &["--registry", reg, "diff", "hello"]);
    assert_eq!(hunk(&ours), hunk(&theirs));
}

/// A shipped file named like a secret (`*.env`) is said to differ, its lines never shown.
#[test]
fn a_secret_looking_file_differs_without_its_content() {
    let env = Env::new();
    let work = registry_work(&env);
    write(&work.join("plugins/third/settings.env"), "API_KEY=\n", false);
    commit_all(&work, "settings");
    let reg = work.to_str().unwrap();
    env.ok(&["--registry", reg, "add", "-y", "third"]);
    write(&env.atk_home.join("plugins/third/settings.env"), "API_KEY=sk-live-SECRET\n", false);
    let (out, _) = env.fails(1, &["--registry", reg, "diff"]);
    assert!(!out.contains("sk-live-SECRET"), "{out}");
    assert!(out.contains("Secret file a/plugins/third/settings.env and b/plugins/third/settings.env differ"), "{out}");
    let (json, _) = env.fails(1, &["--registry", reg, "--json", "diff"]);
    assert!(!json.contains("sk-live-SECRET"), "{json}");
}
