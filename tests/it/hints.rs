//! Every hint that names an atk command works: each test makes the error, takes the command the
//! hint names (a `VALUE` filled in) and runs it as a user would, in a shell, and sees it get past
//! the error.

use std::path::Path;

use crate::common::sources::{self, commit_all, registry_work};
use crate::common::*;

/// The commands between backticks in the `hint:` lines of `stderr`.
fn hinted(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("hint: "))
        .flat_map(|l| l.split('`').skip(1).step_by(2).map(str::to_string).collect::<Vec<_>>())
        .collect()
}

/// The one hinted command that starts with `prefix`.
fn hint_starting(stderr: &str, prefix: &str) -> String {
    let found: Vec<String> = hinted(stderr).into_iter().filter(|c| c.starts_with(prefix)).collect();
    assert_eq!(found.len(), 1, "one hint `{prefix}…` in: {stderr}");
    found[0].clone()
}

/// Runs `command` (a hint, `VALUE` replaced by `value`) with `sh`, `atk` being the binary under
/// test, in `env`'s environment (and `ATK_REGISTRY` set to `registry`, the user's registry).
fn run_hint(env: &Env, command: &str, value: &str, registry: Option<&Path>) -> std::process::Output {
    let command = command.replace("=VALUE", &format!("={value}"));
    let mut sh = std::process::Command::new("sh");
    env.apply(&mut sh);
    let bin_dir = bin().parent().unwrap().to_path_buf();
    let path = std::env::join_paths(
        std::iter::once(bin_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap();
    sh.env("PATH", path).arg("-c").arg(&command).stdin(std::process::Stdio::null());
    if let Some(r) = registry {
        sh.env("ATK_REGISTRY", r);
    }
    let out = sh.output().unwrap();
    assert!(out.status.success(), "`{command}` failed: {}", both(&out));
    out
}

#[test]
fn add_without_a_terminal_hints_the_add_with_the_missing_values() {
    let env = Env::new();
    let vars = "env_vars:\n  - name: TOKEN\n    required: true\n  - name: OTHER\n    required: true\n";
    let src = env.plugin(
        "needs",
        &yaml("Needs", &format!("{vars}lifecycle:\n  install: 'true'\n  uninstall: 'true'\n")),
        &[],
    );
    let (_, err) = env.fails(8, &["add", "-y", src.to_str().unwrap()]);
    let hint = hint_starting(&err, "atk add ");
    assert!(hint.ends_with(" --set TOKEN=VALUE --set OTHER=VALUE"), "{hint}");
    assert!(!hinted(&err).iter().any(|c| c.starts_with("atk setup")), "nothing was added to set up: {err}");
    assert!(hint.contains(" --yes "), "the -y given is kept: {hint}");
    run_hint(&env, &hint, "x", None);
    let text = std::fs::read_to_string(env.atk_home.join("plugins/needs/.env")).unwrap();
    assert!(text.contains("TOKEN=x") && text.contains("OTHER=x"), "{text}");
}

/// The hint keeps what the user gave: the home named on the command line (not in ATK_HOME), the
/// keys already given (their values are not repeated), `--yes`; run as written, it adds the plugin
/// to that home.
#[test]
fn the_retry_hint_keeps_the_home_the_keys_and_yes_the_user_gave() {
    let env = Env::new();
    let vars = "env_vars:\n  - name: TOKEN\n    required: true\n  - name: OTHER\n    required: true\n";
    let src = env.plugin(
        "needs",
        &yaml("Needs", &format!("{vars}lifecycle:\n  install: 'true'\n  uninstall: 'true'\n")),
        &[],
    );
    let other = env.path("other-home");
    env.cmd().env_remove("ATK_HOME").args(["--home", other.to_str().unwrap(), "init", "-q"]).assert().success();
    let out = env
        .cmd()
        .env_remove("ATK_HOME")
        .args(["--home", other.to_str().unwrap(), "add", "-y", src.to_str().unwrap(), "--set", "OTHER=s3cret-o"])
        .output()
        .unwrap();
    let (_, err) = texts(&out);
    assert_eq!(out.status.code(), Some(8), "{err}");
    assert!(!err.contains("s3cret-o"), "a value given is never repeated: {err}");
    let hint = hint_starting(&err, "atk --home ");
    assert!(hint.contains(" add ") && hint.contains(" --yes"), "{hint}");
    assert!(hint.ends_with(" --set OTHER=VALUE --set TOKEN=VALUE"), "{hint}");
    // Run as written, with ATK_HOME pointing elsewhere: it is the named home that gets the plugin.
    run_hint(&env, &hint, "x", None);
    let text = std::fs::read_to_string(other.join("plugins/needs/.env")).unwrap();
    assert!(text.contains("TOKEN=x") && text.contains("OTHER=x"), "{text}");
    assert!(!env.atk_home.join("plugins/needs").exists());
}

#[test]
fn an_upgrade_adding_a_required_variable_hints_the_upgrade_with_it() {
    let env = Env::new();
    let work = registry_work(&env);
    let reg = work.to_str().unwrap();
    env.ok(&["--registry", reg, "add", "-y", "hello", "--set", "HELLO_NAME=Ada"]);
    sources::change_hello(&work);
    commit_all(&work, "hello v2");
    let out = env.cmd().args(["upgrade", "hello", "--yes"]).env("ATK_REGISTRY", &work).output().unwrap();
    let (_, err) = texts(&out);
    assert_eq!(out.status.code(), Some(8), "{err}");
    let hint = hint_starting(&err, "atk upgrade hello");
    // The registry came from ATK_REGISTRY (not the command line): the user's environment has it.
    assert_eq!(hint, "atk upgrade hello --yes --set HELLO_COLOR=VALUE");
    run_hint(&env, &hint, "red", Some(&work));
    let color = std::fs::read_to_string(env.atk_home.join("plugins/hello/runtime/color.txt")).unwrap();
    assert_eq!(color.trim(), "color: red");
}

#[test]
fn install_all_hints_install_with_set_which_writes_the_env_file() {
    let env = Env::new();
    let work = registry_work(&env);
    env.ok(&["--registry", work.to_str().unwrap(), "add", "-y", "hello", "--set", "HELLO_NAME=x"]);
    let env_file = env.atk_home.join("plugins/hello/.env");
    std::fs::remove_file(&env_file).unwrap();
    let (_, err) = env.fails(1, &["install", "--all"]);
    assert!(err.contains("HELLO_NAME in plugin 'hello'"), "{err}");
    let hint = hint_starting(&err, "atk install hello");
    assert_eq!(hint, "atk install hello --set HELLO_NAME=VALUE");
    let out = run_hint(&env, &hint, "Grace", None);
    assert!(String::from_utf8_lossy(&out.stdout).contains("hello: installed (Hello, Grace!)"), "{}", both(&out));
    assert_eq!(mode(&env_file), 0o600);
    assert!(std::fs::read_to_string(&env_file).unwrap().contains("HELLO_NAME=Grace"));
    assert_eq!(env.git(&["status", "--porcelain"]), "", ".env is not tracked");

    // One plugin named: a key it does not declare is refused, as `setup` refuses it.
    let (_, err) = env.fails(2, &["install", "hello", "--set", "NOPE=1"]);
    assert!(err.contains("declares no variable NOPE") && err.contains("HELLO_NAME"), "{err}");
    // --all: each plugin takes the keys it declares.
    env.ok(&["add", "-y", env.fixture("minimal").to_str().unwrap()]);
    env.ok(&["install", "--all", "--set", "HELLO_GREETING=Hi"]);
    assert!(std::fs::read_to_string(&env_file).unwrap().contains("HELLO_GREETING=Hi"));
}

/// `install --all --set KEY=…` with a key only another plugin declares: the hint of a plugin that
/// lacks a value names only the keys it declares (one plugin named refuses any other key).
#[test]
fn install_all_hints_only_the_keys_the_plugin_declares() {
    let env = Env::new();
    for (name, var) in [("one", "ONE_KEY"), ("two", "TWO_KEY")] {
        let body = format!(
            "env_vars:\n  - name: {var}\n    required: true\nlifecycle:\n  install: 'true'\n  uninstall: 'true'\n"
        );
        let src = env.plugin(name, &yaml(name, &body), &[]);
        env.ok(&["add", "-y", src.to_str().unwrap(), "--set", &format!("{var}=v")]);
    }
    std::fs::remove_file(env.atk_home.join("plugins/one/.env")).unwrap();
    let (_, err) = env.fails(1, &["install", "--all", "--set", "TWO_KEY=w"]);
    let hint = hint_starting(&err, "atk install one");
    assert!(!hint.contains("TWO_KEY"), "one declares no TWO_KEY: {hint}");
    run_hint(&env, &hint, "v", None);
}

#[test]
fn setup_all_without_a_terminal_hints_each_plugin_with_its_values() {
    let env = Env::new();
    for (name, var) in [("one", "ONE_KEY"), ("two", "TWO_KEY")] {
        let src = env.plugin(name, &yaml(name, &format!("env_vars:\n  - name: {var}\n    required: true\n")), &[]);
        env.ok(&["add", "-y", src.to_str().unwrap()]);
    }
    let (_, err) = env.fails(8, &["setup", "--all"]);
    assert!(!err.contains("atk setup --all"), "not the command that just failed: {err}");
    for hint in [hint_starting(&err, "atk setup one --set"), hint_starting(&err, "atk setup two --set")] {
        run_hint(&env, &hint, "v", None);
    }
    env.ok(&["setup", "--all"]);
}

#[test]
fn undo_blocked_by_untracked_files_names_them_and_how_to_clear_them() {
    let env = Env::new();
    env.set_identity("Test", "test@example.com");
    let src = env.plugin("maker", &yaml("maker", ""), &[]);
    env.ok(&["add", "-y", src.to_str().unwrap()]);
    // What the plugin's service wrote after the add (a local plugin's folder is tracked whole).
    write(&env.atk_home.join("plugins/maker/runtime.txt"), "made\n", false);
    let before = state(&env);
    let (_, err) = env.fails(1, &["undo", "--yes"]);
    assert!(err.contains("plugins/maker/runtime.txt"), "the file is named: {err}");
    assert!(!err.contains("commit -am"), "{err}");
    assert_eq!(state(&env), before);
    let hint = hint_starting(&err, "atk git clean");
    run_hint(&env, &hint, "", None);
    env.ok(&["undo", "--yes"]);
    assert!(!env.atk_home.join("plugins/maker").exists());

    // A changed tracked file: the hint drops the change.
    let src = env.plugin("edited", &yaml("edited", ""), &[("doc.md", "shipped\n", false)]);
    env.ok(&["add", "-y", src.to_str().unwrap()]);
    write(&env.atk_home.join("plugins/edited/doc.md"), "mine\n", false);
    let (_, err) = env.fails(1, &["undo", "--yes"]);
    assert!(err.contains("plugins/edited/doc.md"), "{err}");
    // Named once, as changed (not also as untracked).
    assert_eq!(err.matches("plugins/edited/doc.md").count(), 2, "once in the list, once in the hint: {err}");
    assert!(hinted(&err).iter().all(|h| !h.starts_with("atk git clean")), "{err}");
    run_hint(&env, &hint_starting(&err, "atk git restore"), "", None);
    env.ok(&["undo", "--yes"]);
}

/// The undo hints name each file literally: a file named like a pattern (`*.md`) clears only
/// itself, not the user's other untracked files; a staged new file is dropped from the index too.
#[test]
fn undo_hints_name_files_literally_and_clear_staged_ones() {
    let env = Env::new();
    env.set_identity("Test", "test@example.com");
    let src = env.plugin("maker", &yaml("maker", ""), &[]);
    env.ok(&["add", "-y", src.to_str().unwrap()]);
    let dir = env.atk_home.join("plugins/maker");
    write(&dir.join("*.md"), "a pattern's name\n", false);
    let (_, err) = env.fails(1, &["undo", "--yes"]);
    let hint = hint_starting(&err, "atk git clean");
    // Another untracked file appears after the refusal: the hint must not reach it.
    write(&dir.join("notes.md"), "mine\n", false);
    run_hint(&env, &hint, "", None);
    assert!(!dir.join("*.md").exists());
    assert!(dir.join("notes.md").exists(), "the hint removed a file it did not name");
    std::fs::remove_file(dir.join("notes.md")).unwrap();

    // A new file staged by hand.
    write(&dir.join("staged.txt"), "staged\n", false);
    env.git(&["add", "plugins/maker/staged.txt"]);
    let (_, err) = env.fails(1, &["undo", "--yes"]);
    run_hint(&env, &hint_starting(&err, "atk git restore"), "", None);
    env.ok(&["undo", "--yes"]);
    assert!(!dir.exists());
}

/// `status` of a plugin whose plugin.yaml atk cannot read hints `atk validate` with the folder's
/// whole path: it works from any folder (regression: `plugins/<dir>`, found only from the home).
#[test]
fn status_hints_validate_with_a_path_that_works_from_anywhere() {
    let env = Env::new();
    let src = env.plugin("odd", &yaml("odd", ""), &[]);
    env.ok(&["add", "-y", src.to_str().unwrap()]);
    let file = env.atk_home.join("plugins/odd/plugin.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    write(&file, &text.replace("maturity: verified", "maturity: golden"), false);
    let out = env.cmd().args(["status", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hint = v["plugins"][0]["hint"].as_str().unwrap().to_string();
    let command = hint_starting(&format!("hint: {hint}"), "atk validate ");
    // Run from the user's home folder, not the ATK Home: the plugin's own problem is reported.
    let mut sh = std::process::Command::new("sh");
    env.apply(&mut sh);
    let out =
        sh.current_dir(&env.home).arg("-c").arg(command.replacen("atk", bin().to_str().unwrap(), 1)).output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", both(&out));
    assert!(both(&out).contains("'golden' is not one of"), "{}", both(&out));
}

/// doctor's fix for a stray folder under plugins/ names its whole path: the add works from any
/// folder (regression: `atk add ./plugins/<folder>`, which works only from the home).
#[test]
fn doctor_fix_for_a_stray_folder_adds_it_from_anywhere() {
    let env = Env::new();
    let stray = env.atk_home.join("plugins/stray");
    write(&stray.join("plugin.yaml"), &yaml("stray", ""), false);
    let out = env.cmd().args(["doctor", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let checks = v["checks"].as_array().unwrap();
    let fix = checks.iter().find(|c| c["check"] == "strays").unwrap()["fix"].as_str().unwrap().to_string();
    let command = hint_starting(&format!("hint: {fix}"), "atk add ");
    run_hint(&env, &format!("{command} -y"), "", None);
    assert!(env.manifest().contains("stray"), "{}", env.manifest());
}
