use crate::common::*;

#[test]
fn init_creates_a_home_with_one_commit_on_main() {
    let env = Env::bare();
    let out = env.ok(&["init"]);
    assert!(out.contains("Initialized ATK Home"), "{out}");
    assert_eq!(
        env.manifest(),
        "schema_version: '2026-02-06'\nconfig:\n  auto_commit: true\n  auto_push: false\nplugins: []\n"
    );
    assert_eq!(env.gitignore(), TEMPLATE_GITIGNORE);
    assert!(env.atk_home.join("plugins").is_dir());
    assert_eq!(env.git(&["log", "--format=%an <%ae>|%s"]).trim(), "ATK <atk@localhost>|Initialize ATK Home");
    assert_eq!(env.git(&["branch", "--show-current"]).trim(), "main");
    assert_eq!(env.ls_files(), [".gitignore", "manifest.yaml"]);
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

#[test]
fn init_again_is_a_no_op() {
    let env = Env::new();
    let before = env.snapshot();
    let out = env.ok(&["init"]);
    assert!(out.contains("already an ATK Home"), "{out}");
    assert_eq!(env.snapshot(), before);
    assert_eq!(env.log().len(), 1);
}

#[test]
fn init_refuses_a_non_empty_directory_and_a_file() {
    let env = Env::bare();
    let dir = env.path("busy");
    write(&dir.join("notes.txt"), "mine", false);
    let (_, err) = env.fails(1, &["init", dir.to_str().unwrap()]);
    assert!(err.contains("not an ATK Home") && err.contains("not empty"), "{err}");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "nothing was added");

    let file = env.path("afile");
    write(&file, "x", false);
    let (_, err) = env.fails(1, &["init", file.to_str().unwrap()]);
    assert!(err.contains("a file, not a directory"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
}

#[test]
fn init_accepts_an_empty_directory_and_expands_tilde() {
    let env = Env::bare();
    std::fs::create_dir_all(env.path("empty")).unwrap();
    env.ok(&["init", env.path("empty").to_str().unwrap()]);
    assert!(env.path("empty/manifest.yaml").is_file());
    env.ok(&["init", "~/elsewhere"]);
    assert!(env.home.join("elsewhere/manifest.yaml").is_file());
}

#[test]
fn home_flag_wins_over_atk_home() {
    let env = Env::new();
    let other = env.path("other");
    env.ok(&["--home", other.to_str().unwrap(), "init"]);
    let out = env.ok(&["--home", other.to_str().unwrap(), "list", "--json"]);
    assert!(out.contains(&format!("\"home\": \"{}\"", other.display())), "{out}");
}

#[test]
fn commands_without_a_home_exit_3_with_a_hint() {
    let env = Env::bare();
    for args in [&["list"][..], &["remove", "x"], &["add", "./x"], &["setup", "--all"]] {
        let (_, err) = env.fails(3, args);
        assert!(err.contains("no ATK Home at") && err.contains("hint: create one with `atk init"), "{args:?}: {err}");
    }
}

#[test]
fn the_users_git_identity_is_used_when_configured() {
    let env = Env::bare();
    env.set_identity("Ada Lovelace", "ada@example.invalid");
    env.ok(&["init"]);
    assert_eq!(env.git(&["log", "--format=%an <%ae>"]).trim(), "Ada Lovelace <ada@example.invalid>");
}
