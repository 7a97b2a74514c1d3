use crate::common::*;

#[test]
fn uninstall_confirms_then_runs_stop_and_uninstall_and_keeps_everything_else() {
    let env = Env::new();
    env.add_full();
    let manifest = env.manifest();
    let commits = env.log().len();
    let (_, err) = env.fails(2, &["uninstall", "full-plugin"]);
    assert!(err.contains("./uninstall.sh") && err.contains("--force"), "{err}");
    let trace = env.path("trace");
    env.cmd().args(["uninstall", "Full Plugin", "--force"]).env("ATK_TEST_TRACE", &trace).assert().success();
    assert_eq!(std::fs::read_to_string(&trace).unwrap(), "stop\nuninstall\n");
    assert!(!env.atk_home.join("plugins/full-plugin/runtime").exists(), "uninstall ran");
    assert!(env.atk_home.join("plugins/full-plugin/plugin.yaml").is_file(), "files stay");
    assert_eq!(env.manifest(), manifest);
    assert_eq!(env.log().len(), commits, "no commit");
}

#[test]
fn uninstall_failures_and_plugins_without_the_command() {
    let env = Env::new();
    let src = env.plugin(
        "fails",
        &yaml("Fails", "lifecycle:\n  install: 'true'\n  stop: 'exit 3'\n  uninstall: 'exit 4'\n"),
        &[],
    );
    env.ok(&["add", "-y", src.to_str().unwrap()]);
    let (_, err) = env.fails(6, &["uninstall", "fails", "--yes"]);
    assert!(err.contains("stop of plugin 'Fails' failed (exit code 3)"), "a stop failure is a warning: {err}");
    assert!(err.contains("error: uninstall of plugin 'Fails' failed (exit code 4)"), "{err}");
    env.ok(&["add", "-y", env.fixture("minimal").to_str().unwrap()]);
    let out = env.ok(&["uninstall", "minimal"]);
    assert!(out.contains("has no uninstall command"), "{out}");
    env.fails(4, &["uninstall", "nope"]);
}
