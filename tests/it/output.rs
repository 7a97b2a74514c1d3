use crate::common::*;

#[test]
fn list_shows_plugins_and_json_is_one_document() {
    let env = Env::new();
    let out = env.ok(&["list"]);
    assert!(out.contains("No plugins installed"), "{out}");
    env.ok(&["add", "-y", env.fixture("minimal").to_str().unwrap()]);
    let out = env.ok(&["list"]);
    assert!(out.contains("Minimal") && out.contains("minimal") && out.contains("local"), "{out}");
    let v: serde_json::Value = serde_json::from_str(&env.ok(&["list", "--json"])).unwrap();
    assert_eq!(v["plugins"][0]["name"], "Minimal");
    assert_eq!(v["plugins"][0]["source"]["type"], "local");
    assert_eq!(v["plugins"][0]["present"], true);
}

#[test]
fn mutations_report_json_and_keep_lifecycle_output_off_stdout() {
    let env = Env::new();
    let out = env.ok(&["add", env.fixture("full").to_str().unwrap(), "-y", "--set", "FULL_API_KEY=x", "--json"]);
    let v: serde_json::Value =
        serde_json::from_str(&out).expect("stdout is one JSON document even though install printed");
    assert_eq!(v["added"]["directory"], "full-plugin");
    assert_eq!(v["commit"].as_str().unwrap().len(), 40);
    let out = env.ok(&["remove", "full-plugin", "--force", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["removed"]["name"], "Full Plugin");
    let v: serde_json::Value = serde_json::from_str(&Env::bare().ok(&["init", "--json"])).unwrap();
    assert_eq!(v["created"], true);
}

#[test]
fn quiet_version_completions_and_no_color() {
    let env = Env::new();
    assert_eq!(env.ok(&["-q", "add", "-y", env.fixture("minimal").to_str().unwrap()]), "");
    let v = env.ok(&["--version"]);
    assert!(v.starts_with("atk ") && v.contains(env!("CARGO_PKG_VERSION")), "{v}");
    for shell in ["bash", "zsh", "fish"] {
        assert!(env.ok(&["completions", shell]).contains("remove"), "{shell}");
    }
    // Off a terminal there is no color, NO_COLOR or not.
    let out = env.cmd().args(["remove", "nope"]).env_remove("NO_COLOR").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no plugin named 'nope'") && !err.contains('\u{1b}'), "no color when not a terminal: {err:?}");
    let (_, err) = env.fails(2, &["frobnicate"]);
    assert!(err.contains("unrecognized subcommand"), "{err}");
}

#[test]
fn atk_git_runs_git_in_the_home() {
    let env = Env::new();
    let out = env.cmd().args(["git", "log", "--format=%s"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "Initialize ATK Home");
    let out = env.cmd().args(["git", "rev-parse", "--verify", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(128), "git's exit code is passed through");
    let out = env.cmd().args(["git", "status", "-h"]).output().unwrap();
    let both = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(both.contains("usage: git status"), "git's own help, not atk's: {both}");
}

#[test]
fn json_reports_of_install_uninstall_new_and_registry_index() {
    let env = Env::new();
    env.add_full();
    let v: serde_json::Value = serde_json::from_str(&env.ok(&["install", "--all", "--json"])).unwrap();
    assert_eq!(v["plugins"][0]["directory"], "full-plugin");
    assert_eq!(v["plugins"][0]["installed"], true);
    assert_eq!(v["failed"], 0);
    let v: serde_json::Value =
        serde_json::from_str(&env.ok(&["uninstall", "full-plugin", "--force", "--json"])).unwrap();
    assert_eq!(v["uninstalled"], true);
    let reg = env.path("reg");
    std::fs::create_dir_all(reg.join("plugins")).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&env.ok(&["new", "json-tool", "--dir", reg.join("plugins").to_str().unwrap(), "--json"]))
            .unwrap();
    assert!(v["files"].as_array().unwrap().iter().any(|f| f == "plugin.yaml"));
    let v: serde_json::Value =
        serde_json::from_str(&env.ok(&["registry", "index", "--allow-unverified", reg.to_str().unwrap(), "--json"]))
            .unwrap();
    assert_eq!(v["plugins"], 1);
    assert_eq!(v["changed"], true);
}

#[test]
fn color_on_a_terminal_unless_no_color_is_set() {
    let env = Env::new();
    // On a terminal, the error is colored...
    let mut p = env.on_terminal_with_no_color(None, &["remove", "nope"]);
    let shown = p.exp_eof().unwrap();
    assert!(shown.contains("no plugin named 'nope'") && shown.contains('\u{1b}'), "color on a terminal: {shown:?}");
    // ...and NO_COLOR (any non-empty value) turns it off; an empty NO_COLOR does not.
    let mut p = env.on_terminal_with_no_color(Some("1"), &["remove", "nope"]);
    let shown = p.exp_eof().unwrap();
    assert!(shown.contains("no plugin named 'nope'") && !shown.contains('\u{1b}'), "NO_COLOR=1: {shown:?}");
    let mut p = env.on_terminal_with_no_color(Some(""), &["remove", "nope"]);
    assert!(p.exp_eof().unwrap().contains('\u{1b}'), "an empty NO_COLOR is unset");
}

#[test]
fn with_json_a_failure_is_one_error_document_on_stdout() {
    let env = Env::new();
    let (out, err) = env.fails(4, &["--json", "remove", "nope"]);
    let doc: serde_json::Value = serde_json::from_str(&out).expect("stdout is one JSON document");
    assert_eq!(doc["error"]["code"], 4);
    assert_eq!(doc["error"]["kind"], "plugin_not_found");
    assert_eq!(doc["error"]["message"], "no plugin named 'nope' in the manifest");
    assert!(doc["error"]["hints"].is_array());
    assert!(err.contains("error: no plugin named 'nope'"), "people still read it on stderr: {err}");

    let bad = env.fixture("invalid/bad-schema-version");
    let (out, _) = env.fails(5, &["--json", "add", "-y", bad.to_str().unwrap()]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((doc["error"]["code"].as_u64(), doc["error"]["kind"].as_str()), (Some(5), Some("plugin_invalid")));
    assert!(!doc["error"]["details"].as_array().unwrap().is_empty(), "{doc}");

    // A command that printed its own document and then fails prints no second one.
    let src = env.plugin("req", &yaml("Req", "env_vars:\n  - name: NEEDED\n    required: true\n"), &[]);
    env.ok(&["add", "-y", src.to_str().unwrap()]);
    let (out, _) = env.fails(8, &["--json", "setup", "req"]);
    let doc: serde_json::Value = serde_json::from_str(&out).expect("exactly one document");
    assert!(doc["plugins"].is_array(), "{doc}");
}

/// A command line clap refuses goes through the error path: with `--json`, an error document on
/// stdout (kind `usage`, exit 2) with clap's message and its suggestion as the hint; without, clap's
/// own message on stderr and nothing on stdout. `--help` and `--version` are not errors.
#[test]
fn a_usage_error_is_an_error_document_under_json() {
    let env = Env::new();
    for (args, message, hint) in [
        (&["--json", "add"][..], "the following required arguments were not provided: <SOURCE>", "see `atk --help`"),
        (&["--json", "ad"][..], "unrecognized subcommand 'ad'", "some similar subcommands exist: 'validate', 'add'"),
        (&["list", "--json", "--frob"][..], "unexpected argument '--frob' found", ""),
    ] {
        let (out, err) = env.fails(2, args);
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"));
        assert_eq!((doc["error"]["code"].as_u64(), doc["error"]["kind"].as_str()), (Some(2), Some("usage")), "{doc}");
        assert_eq!(doc["error"]["message"], message, "{args:?}");
        let hints = doc["error"]["hints"].as_array().unwrap();
        assert!(hints.len() == 1 && hints[0].as_str().unwrap().contains(hint), "{args:?}: {doc}");
        assert!(err.contains(&format!("error: {message}")), "{args:?}: {err}");
    }
    // `--json` after `--` is an argument, not the flag.
    let (out, err) = env.fails(2, &["frob", "--", "--json"]);
    assert!(out.is_empty() && err.contains("unrecognized subcommand 'frob'"), "{out}{err}");
    let (out, err) = env.fails(2, &["add"]);
    assert!(out.is_empty() && err.contains("Usage: atk add"), "clap's own text: {err}");
    assert!(env.ok(&["--version"]).starts_with("atk "));
    assert!(env.ok(&["--json", "--help"]).contains("Usage: atk"));
}

/// A reader that goes away before the completion script is written (`atk completions bash |
/// head -1`) is no panic: before, clap_complete's write failed with a broken pipe and atk panicked.
#[test]
fn completions_into_a_closed_pipe_is_no_panic() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish"] {
        let mut child = env
            .std_cmd()
            .args(["completions", shell])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = wait_with_timeout(child, 60);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{shell}: {err}");
        assert_eq!(out.status.code(), Some(0), "{shell}: {err}");
    }
}

/// Regression: `setup`, `uninstall` and `validate` printed the name a plugin.yaml gives itself
/// raw, so a line break or a color in it reached the terminal (`mcp` refuses such a name).
#[test]
fn a_plugin_name_with_escape_sequences_is_printed_escaped() {
    let env = Env::new();
    let src = env.plugin(
        "sneaky",
        concat!(
            "schema_version: '2026-01-23'\nname: \"Sne\\e[32maky\\nwarning: all good\"\ndescription: d\n",
            "maturity: verified\nenv_vars:\n  - name: REGION\n    default: eu\n",
            "lifecycle:\n  install: 'true'\n  uninstall: 'true'\n",
        ),
        &[],
    );
    env.ok(&["add", "-y", src.to_str().unwrap()]);
    let dir = std::fs::read_dir(env.atk_home.join("plugins")).unwrap().next().unwrap().unwrap().file_name();
    let dir = dir.to_str().unwrap();
    let escaped = "Sne\\x1b[32maky\\nwarning: all good";
    for (code, args) in [
        (0, vec!["setup", dir]),
        (0, vec!["validate", src.to_str().unwrap()]),
        (5, vec!["mcp", dir]),
        (0, vec!["uninstall", dir, "--force"]),
    ] {
        let out = env.cmd().args(&args).output().unwrap();
        let all = [out.stdout, out.stderr].concat();
        let text = String::from_utf8_lossy(&all).into_owned();
        assert_eq!(out.status.code(), Some(code), "{args:?}: {text}");
        assert!(!all.contains(&0x1b) && !text.contains("\nwarning: all good"), "{args:?}: {text:?}");
        assert!(text.contains(escaped), "{args:?}: {text}");
    }
}
