use crate::common::*;

#[test]
fn path_like_and_unknown_names_exit_4_and_delete_nothing() {
    let env = Env::new();
    env.add_full();
    let victim = env.path("victim");
    write(&victim.join("precious.txt"), "keep", false);
    write(&env.atk_home.join("plugins/stray/file"), "x", false);
    let before = env.snapshot();
    let victim_arg = victim.to_str().unwrap();
    for id in ["..", victim_arg, "", "a/../b", "plugins/full-plugin", "../.atk", "full", "stray", "/"] {
        let (_, err) = env.fails(4, &["remove", id, "--force"]);
        assert!(err.contains(&format!("no plugin named '{id}'")), "{id}: {err}");
    }
    let (_, err) = env.fails(4, &["remove", "stray"]);
    assert!(err.contains("plugins/stray exists but is not managed by atk"), "{err}");
    let (_, err) = env.fails(4, &["remove", "full"]);
    assert!(err.contains("did you mean 'full-plugin'"), "{err}");
    assert_eq!(env.snapshot(), before);
    assert!(victim.join("precious.txt").is_file());
}

#[test]
fn remove_runs_stop_then_uninstall_then_deletes_and_commits() {
    let env = Env::new();
    env.add_full();
    let trace = env.path("trace");
    env.cmd().args(["remove", "Full Plugin", "--force"]).env("ATK_TEST_TRACE", &trace).assert().success();
    assert_eq!(std::fs::read_to_string(&trace).unwrap(), "stop\nuninstall\n");
    assert!(!env.atk_home.join("plugins/full-plugin").exists());
    assert!(!env.gitignore().contains("full-plugin"));
    assert!(env.manifest().ends_with("plugins: []\n"));
    assert_eq!(env.log()[0], "Remove plugin 'Full Plugin'");
    assert_eq!(env.ls_files(), [".gitignore", "manifest.yaml"]);
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

#[test]
fn uninstall_needs_confirmation_without_a_terminal() {
    let env = Env::new();
    env.add_full();
    let before = env.snapshot();
    let (_, err) = env.fails(2, &["remove", "full-plugin"]);
    assert!(err.contains("./uninstall.sh") && err.contains("--force"), "{err}");
    assert_eq!(env.snapshot(), before);
}

#[test]
fn a_failing_uninstall_stops_the_removal_unless_forced() {
    let env = Env::new();
    let src = env.plugin(
        "stubborn",
        &yaml("Stubborn", "lifecycle:\n  install: 'true'\n  uninstall: ./uninstall.sh\n"),
        &[("uninstall.sh", "#!/bin/sh\nexit 4\n", true)],
    );
    env.ok(&["add", "-y", src.to_str().unwrap()]);
    let before = env.snapshot();
    let (_, err) = env.fails(6, &["remove", "stubborn", "--yes"]);
    assert!(err.contains("uninstall of plugin 'Stubborn' failed (exit code 4)"), "{err}");
    assert_eq!(env.snapshot(), before);
    let out = env.cmd().args(["remove", "stubborn", "--force"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("removing anyway"));
    assert!(!env.atk_home.join("plugins/stubborn").exists());
}

/// The refusal of a broken plugin.yaml names the command that removes it from the same home: run
/// on another home than ATK_HOME's (`--home`), the hinted `atk remove X --force` would remove the
/// plugin of that name from the other one.
#[test]
fn the_force_hint_of_a_broken_plugin_yaml_names_the_home_it_was_run_on() {
    let env = Env::new();
    let other = env.path("other-home");
    let h = other.to_str().unwrap();
    env.ok(&["--home", h, "init"]);
    env.ok(&["--home", h, "add", "-y", env.fixture("minimal").to_str().unwrap()]);
    write(&other.join("plugins/minimal/plugin.yaml"), "name: [broken\n", false);
    let (_, err) = env.fails(5, &["--home", h, "remove", "minimal"]);
    assert!(err.contains(&format!("`atk --home {h} remove minimal --force`")), "{err}");
}

#[test]
fn a_broken_plugin_yaml_is_removed_only_with_force() {
    let env = Env::new();
    env.ok(&["add", "-y", env.fixture("minimal").to_str().unwrap()]);
    write(&env.atk_home.join("plugins/minimal/plugin.yaml"), "name: [broken\n", false);
    let (_, err) = env.fails(5, &["remove", "minimal"]);
    assert!(err.contains("--force"), "{err}");
    let out = env.cmd().args(["remove", "minimal", "--force"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("without running its lifecycle commands"));
    assert!(!env.manifest().contains("minimal"));
}

#[test]
fn a_plugin_whose_files_are_missing_can_be_removed() {
    let env = Env::new();
    env.ok(&["add", "-y", env.fixture("minimal").to_str().unwrap()]);
    std::fs::remove_dir_all(env.atk_home.join("plugins/minimal")).unwrap();
    env.ok(&["remove", "minimal"]);
    assert!(env.manifest().ends_with("plugins: []\n"));
}
