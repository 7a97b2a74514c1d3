use crate::common::*;

#[test]
fn add_a_local_folder_copies_tracks_and_commits() {
    let env = Env::new();
    let src = env.fixture("full");
    std::fs::create_dir_all(src.join(".git/objects")).unwrap();
    let out = env.ok(&["add", src.to_str().unwrap(), "--yes", "--set", "FULL_API_KEY=k-123"]);
    assert!(out.contains("Added 'Full Plugin'"), "{out}");

    let dir = env.atk_home.join("plugins/full-plugin");
    assert!(dir.join("plugin.yaml").is_file() && dir.join("SKILL.md").is_file());
    assert!(!dir.join(".git").exists(), ".git is never copied");
    assert_eq!(mode(&dir.join("install.sh")), 0o755, "executable bit kept");
    assert!(env.manifest().ends_with(
        "plugins:\n- name: Full Plugin\n  directory: full-plugin\n  source:\n    type: local\n    ref: null\n    url: null\n"
    ));
    assert_eq!(env.log(), ["Add plugin 'Full Plugin'", "Initialize ATK Home"]);
    let files = env.ls_files();
    for f in [
        "manifest.yaml",
        ".gitignore",
        "plugins/full-plugin/plugin.yaml",
        "plugins/full-plugin/install.sh",
        "plugins/full-plugin/custom/overrides.yaml",
    ] {
        assert!(files.contains(&f.to_string()), "{f} not tracked: {files:?}");
    }
    assert_eq!(env.tracked_mode("plugins/full-plugin/install.sh"), "100755");
    // Exemption lines sit above the secret patterns.
    let gi = env.gitignore();
    let pos = |l: &str| gi.lines().position(|x| x == l).unwrap_or_else(|| panic!("{l} missing in\n{gi}"));
    assert!(pos("!plugins/full-plugin/") < pos("*.env") && pos("!plugins/full-plugin/**") < pos("*.env"));
    assert_eq!(env.git(&["status", "--porcelain"]), "", "the commit leaves the home clean");
    // The plugin's own .gitignore is honored: its runtime/ output stays out of git.
    assert!(dir.join("runtime/install.log").is_file());
    assert!(!files.iter().any(|f| f.contains("runtime/")), "{files:?}");
}

#[test]
fn secrets_of_a_local_plugin_never_enter_git() {
    let env = Env::new();
    let src = env.fixture("full");
    write(&src.join(".env"), "FULL_API_KEY=from-source\n", false);
    write(&src.join("prod.env"), "X=1\n", false);
    write(&src.join(".env.local"), "Y=2\n", false);
    env.ok(&["add", src.to_str().unwrap(), "--yes", "--set", "FULL_API_KEY=top-secret"]);
    let env_file = env.atk_home.join("plugins/full-plugin/.env");
    assert_eq!(mode(&env_file), 0o600);
    assert!(std::fs::read_to_string(&env_file).unwrap().contains("FULL_API_KEY=top-secret"));
    let everything = env.all_committed_paths();
    for secret in [".env", "prod.env", ".env.local"] {
        assert!(!everything.lines().any(|p| p.ends_with(&format!("/{secret}"))), "{secret} committed:\n{everything}");
    }
    assert!(!env.git(&["log", "--all", "-p"]).contains("top-secret"));
    // Even with the secret patterns deleted from .gitignore by hand, a later commit leaves them out.
    let gi = env.gitignore().replace("*.env\n", "").replace(".env.*\n", "");
    write(&env.atk_home.join(".gitignore"), &gi, false);
    env.git(&["commit", "-qam", "user edit"]);
    env.ok(&["remove", "full-plugin", "--yes"]);
    env.ok(&["add", src.to_str().unwrap(), "--yes", "--set", "FULL_API_KEY=top-secret"]);
    assert!(!env.git(&["log", "--all", "-p"]).contains("top-secret"));
    assert!(!env.ls_files().iter().any(|f| f.ends_with(".env") || f.contains(".env.")));
}

#[test]
fn add_a_single_plugin_yaml_file() {
    let env = Env::new();
    let file = env.path("one/tool.yml");
    write(&file, &yaml("Single File", ""), false);
    env.ok(&["add", "-y", file.to_str().unwrap()]);
    let installed = env.atk_home.join("plugins/single-file/plugin.yaml");
    assert_eq!(std::fs::read_to_string(installed).unwrap(), yaml("Single File", ""));
    let bad = env.path("one/tool.txt");
    write(&bad, &yaml("Text", ""), false);
    let (_, err) = env.fails(5, &["add", "-y", bad.to_str().unwrap()]);
    assert!(err.contains("not a .yaml or .yml file"), "{err}");
}

#[test]
fn relative_and_tilde_paths_are_local() {
    let env = Env::new();
    env.plugin("rel-plugin", &yaml("Rel", ""), &[]);
    env.ok(&["add", "-y", "./rel-plugin"]);
    let p = env.home.join("tools/tilde");
    write(&p.join("plugin.yaml"), &yaml("Tilde", ""), false);
    env.ok(&["add", "-y", "~/tools/tilde"]);
    let m = env.manifest();
    assert!(m.contains("directory: rel") && m.contains("directory: tilde"), "{m}");
}

#[test]
fn refusals_exit_5_and_change_nothing() {
    let env = Env::new();
    env.ok(&["add", "-y", env.fixture("minimal").to_str().unwrap()]);
    let before = env.snapshot();

    let (_, err) = env.fails(5, &["add", "-y", env.fixture("minimal").to_str().unwrap()]);
    assert!(err.contains("already installed") && err.contains("atk upgrade minimal"), "{err}");
    // Same display name under another folder content: still a duplicate.
    let dup = env.plugin("dup", &yaml("Minimal", ""), &[]);
    env.fails(5, &["add", "-y", dup.to_str().unwrap()]);

    let (_, err) = env.fails(5, &["add", "-y", "./does-not-exist"]);
    assert!(err.contains("does not exist"), "{err}");

    for bad in ["unknown-key", "bad-env-name", "install-without-uninstall", "not-yaml"] {
        let (_, err) = env.fails(5, &["add", "-y", env.fixture(&format!("invalid/{bad}")).to_str().unwrap()]);
        assert!(err.contains("is not a valid plugin"), "{bad}: {err}");
    }
    let empty = env.path("emptydir");
    std::fs::create_dir_all(&empty).unwrap();
    let (_, err) = env.fails(5, &["add", "-y", empty.to_str().unwrap()]);
    assert!(err.contains("no plugin.yaml"), "{err}");
    assert_eq!(env.snapshot(), before);
}

#[test]
fn invalid_plugin_errors_name_every_field() {
    let env = Env::new();
    let p = env.plugin(
        "many",
        "schema_version: x\nname: Many\ndescription: d\nports: [{port: 0}]\nenv_vars: [{name: bad-name}]\nextra: 1\n",
        &[],
    );
    let (_, err) = env.fails(5, &["add", "-y", p.to_str().unwrap()]);
    for needle in ["schema_version:", "ports[0].port:", "env_vars[0].name:", "extra: unknown field"] {
        assert!(err.contains(needle), "{needle} missing: {err}");
    }
}

#[test]
fn unverified_plugins_need_a_yes_without_a_terminal() {
    let env = Env::new();
    let before = env.snapshot();
    let src =
        env.plugin("gen", &yaml("Generated", "maturity: ai-generated\n").replace("maturity: verified\n", ""), &[]);
    let (_, err) = env.fails(2, &["add", src.to_str().unwrap()]);
    assert!(err.contains("ai-generated") && err.contains("--yes"), "{err}");
    assert_eq!(env.snapshot(), before);
    env.ok(&["add", src.to_str().unwrap(), "-y"]);
}

#[test]
fn add_force_is_yes_as_in_atk_cli() {
    // atk-cli spells `-y` of `add` as `--force`; both work, as does `--yes`.
    let env = Env::new();
    let unverified = |n: &str| yaml(n, "maturity: ai-generated\n").replace("maturity: verified\n", "");
    for (i, flag) in ["--force", "-y", "--yes"].iter().enumerate() {
        let src = env.plugin(&format!("gen{i}"), &unverified(&format!("Generated {i}")), &[]);
        env.fails(2, &["add", src.to_str().unwrap()]);
        let out = env.ok(&["add", src.to_str().unwrap(), flag]);
        assert!(out.contains(&format!("Added 'Generated {i}'")), "{flag}: {out}");
    }
    // Only for add: elsewhere --force keeps its own meaning or is unknown.
    let (_, err) = env.fails(2, &["list", "--force"]);
    assert!(err.contains("--force"), "{err}");
}

#[test]
fn a_failed_install_leaves_nothing_behind() {
    let env = Env::new();
    let before = env.snapshot();
    let src = env.plugin(
        "failing",
        &yaml("Failing", "lifecycle:\n  install: ./install.sh\n  uninstall: 'true'\n"),
        &[("install.sh", "#!/bin/sh\necho half-done > marker\necho boom >&2\nexit 3\n", true)],
    );
    let (_, err) = env.fails(6, &["add", "-y", src.to_str().unwrap()]);
    assert!(err.contains("install of plugin 'Failing' failed (exit code 3)"), "{err}");
    assert!(err.contains("boom"), "the command's output is streamed: {err}");
    assert_eq!(env.snapshot(), before);
    assert!(!env.atk_home.join("plugins/failing").exists());
    assert!(!env.gitignore().contains("failing"));
    assert_eq!(env.log().len(), 1);
}

#[test]
fn required_variables_gate_install_but_only_warn_without_one() {
    let env = Env::new();
    let before = env.snapshot();
    let vars = "env_vars:\n  - name: TOKEN\n    required: true\n";
    let with_install = env.plugin(
        "needs",
        &yaml("Needs", &format!("{vars}lifecycle:\n  install: 'true'\n  uninstall: 'true'\n")),
        &[],
    );
    let (_, err) = env.fails(8, &["add", "-y", with_install.to_str().unwrap()]);
    assert!(err.contains("TOKEN in plugin 'needs'") && err.contains(" --set TOKEN=VALUE`"), "{err}");
    assert_eq!(env.snapshot(), before);

    let no_install = env.plugin("lazy", &yaml("Lazy", vars), &[]);
    let out = env.cmd().args(["add", "-y", no_install.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("warning: required environment variables have no value: TOKEN")
    );
    // A value from the process environment counts.
    let env_var = env.plugin(
        "fromenv",
        &yaml("From Env", &format!("{vars}lifecycle:\n  install: 'test \"$TOKEN\" = xyz'\n  uninstall: 'true'\n")),
        &[],
    );
    env.cmd().args(["add", "-y", env_var.to_str().unwrap()]).env("TOKEN", "xyz").assert().success();
}

#[test]
fn lifecycle_gets_env_file_and_atk_variables() {
    let env = Env::new();
    let src = env.fixture("full");
    env.ok(&["add", src.to_str().unwrap(), "--yes", "--set", "FULL_API_KEY=abc def"]);
    let log = std::fs::read_to_string(env.atk_home.join("plugins/full-plugin/runtime/install.log")).unwrap();
    let real_home = std::fs::canonicalize(&env.atk_home).unwrap();
    assert!(log.contains("key=abc def\n"), "{log}");
    assert!(log.contains("mode=fast\n"), "defaults are written to .env: {log}");
    assert!(log.contains("plugin=full-plugin\n"));
    assert!(log.contains(&format!("dir={}/plugins/full-plugin\n", real_home.display())), "{log}");
    assert!(log.contains(&format!("home={}\n", real_home.display())), "{log}");
}

#[test]
fn compose_override_is_passed_to_docker_compose() {
    let env = Env::new();
    let bin = env.path("fakebin");
    write(&bin.join("docker"), &format!("#!/bin/sh\necho \"$@\" >> {}\n", env.path("docker.log").display()), true);
    let src = env.plugin(
        "composed",
        &yaml("Composed", "service:\n  type: docker-compose\n  compose_file: compose.yaml\nlifecycle:\n  install: docker compose pull && docker compose up -d\n  uninstall: docker compose down\n"),
        &[("custom/docker-compose.override.yml", "services: {}\n", false)],
    );
    let path = path_with(&bin);
    env.cmd().args(["add", "-y", src.to_str().unwrap()]).env("PATH", path).assert().success();
    let log = std::fs::read_to_string(env.path("docker.log")).unwrap();
    assert_eq!(
        log,
        "compose -f compose.yaml -f custom/docker-compose.override.yml pull\ncompose -f compose.yaml -f custom/docker-compose.override.yml up -d\n"
    );
}

#[test]
fn a_plugin_already_in_place_is_used_as_is() {
    let env = Env::new();
    let dir = env.atk_home.join("plugins/in-place");
    write(&dir.join("plugin.yaml"), &yaml("In Place", ""), false);
    write(&dir.join("notes.md"), "keep me", false);
    let out = env.cmd().args(["add", "-y", "./plugins/in-place"]).current_dir(&env.atk_home).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(dir.join("notes.md")).unwrap(), "keep me");
    assert!(env.ls_files().contains(&"plugins/in-place/notes.md".to_string()));
}

#[test]
fn an_unmanaged_folder_in_the_way_is_refused() {
    let env = Env::new();
    write(&env.atk_home.join("plugins/minimal/leftover.txt"), "x", false);
    let before = env.snapshot();
    let (_, err) = env.fails(1, &["add", "-y", env.fixture("minimal").to_str().unwrap()]);
    assert!(err.contains("plugins/minimal already exists but is not in the manifest"), "{err}");
    assert_eq!(env.snapshot(), before);
}

#[test]
fn symlinks_inside_are_kept_and_outside_refused() {
    let env = Env::new();
    let src = env.plugin("links", &yaml("Links", ""), &[("data/real.txt", "x", false)]);
    std::os::unix::fs::symlink("data/real.txt", src.join("inside")).unwrap();
    env.ok(&["add", "-y", src.to_str().unwrap()]);
    assert_eq!(std::fs::read_link(env.atk_home.join("plugins/links/inside")).unwrap().to_str(), Some("data/real.txt"));
    assert_eq!(env.tracked_mode("plugins/links/inside"), "120000");

    let before = env.snapshot();
    let bad = env.plugin("escape", &yaml("Escape", ""), &[]);
    std::os::unix::fs::symlink("../../outside", bad.join("out")).unwrap();
    let (_, err) = env.fails(5, &["add", "-y", bad.to_str().unwrap()]);
    assert!(err.contains("leads out of the plugin folder"), "{err}");
    assert_eq!(env.snapshot(), before);
}

#[test]
fn auto_commit_off_makes_no_commit() {
    let env = Env::new();
    let m = env.manifest().replace("auto_commit: true", "auto_commit: false");
    write(&env.atk_home.join("manifest.yaml"), &m, false);
    env.git(&["commit", "-qam", "turn off auto_commit"]);
    env.ok(&["add", "-y", env.fixture("minimal").to_str().unwrap()]);
    assert_eq!(env.log().len(), 2);
    assert!(env.manifest().contains("directory: minimal"));
}

#[test]
fn auto_push_pushes_or_warns() {
    let env = Env::new();
    let m = env.manifest().replace("auto_push: false", "auto_push: true");
    write(&env.atk_home.join("manifest.yaml"), &m, false);
    env.git(&["commit", "-qam", "turn on auto_push"]);
    let out = env.cmd().args(["add", "-y", env.fixture("minimal").to_str().unwrap()]).output().unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("warning: auto-push: auto_push is on but the home has no remote")
    );

    let remote = env.path("remote.git");
    git(env.dir.path(), &["init", "-q", "--bare", remote.to_str().unwrap()]);
    env.git(&["remote", "add", "origin", remote.to_str().unwrap()]);
    env.ok(&["add", "-y", env.fixture("skill-only").to_str().unwrap()]);
    assert_eq!(git(&remote, &["log", "--format=%s", "-1", "main"]).trim(), "Add plugin 'Skill Only'");
}

#[test]
fn unrelated_changes_are_not_swept_into_the_commit() {
    let env = Env::new();
    env.add_full();
    write(&env.atk_home.join("plugins/full-plugin/custom/mine.txt"), "work in progress", false);
    write(&env.atk_home.join("notes.txt"), "personal", false);
    env.ok(&["add", "-y", env.fixture("minimal").to_str().unwrap()]);
    let last = env.git(&["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(last.lines().collect::<Vec<_>>(), [".gitignore", "manifest.yaml", "plugins/minimal/plugin.yaml"]);
    let status = env.git(&["status", "--porcelain"]);
    assert!(status.contains("?? notes.txt") && status.contains("?? plugins/full-plugin/custom/mine.txt"), "{status}");
}

/// A local plugin is validated where it is: a `plugin.yaml` that cannot be read is named by the
/// path the user gave (regression: the staged copy's path inside `.git/atk/` was named).
#[test]
fn an_unreadable_local_plugin_is_named_by_the_users_path() {
    let env = Env::new();
    let src = env.path("bad");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("plugin.yaml"), b"name: \xff\xfe\n").unwrap();
    let file = env.path("bad.yaml");
    std::fs::write(&file, b"name: \xff\xfe\n").unwrap();
    for path in [&src, &file] {
        let (_, err) = env.fails(1, &["add", path.to_str().unwrap(), "--yes"]);
        assert!(!err.contains(".git/atk"), "{err}");
        assert!(err.contains(path.to_str().unwrap()), "{err}");
    }
}

/// A folder that is not a plugin is refused before anything is copied (regression: the home's own
/// state folder was copied into itself until the stack overflowed).
#[test]
fn a_folder_without_plugin_yaml_is_refused_before_it_is_copied() {
    let env = Env::new();
    let before = env.snapshot();
    let state = env.atk_home.join(".git/atk");
    let (_, err) = env.fails(5, &["add", state.to_str().unwrap(), "--yes"]);
    assert!(err.contains("no plugin.yaml"), "{err}");
    assert_eq!(env.snapshot(), before);
}

/// A plugin folder that holds the home itself is refused, not copied into the home.
#[test]
fn a_plugin_folder_holding_the_home_is_refused() {
    let env = Env::new();
    let outer = env.atk_home.parent().unwrap().to_path_buf();
    std::fs::write(outer.join("plugin.yaml"), "schema_version: \"2026-01-23\"\nname: outer\ndescription: d\n").unwrap();
    let before = env.snapshot();
    let (_, err) = env.fails(5, &["add", outer.to_str().unwrap(), "--yes"]);
    assert!(err.contains("contains the ATK home"), "{err}");
    assert_eq!(env.snapshot(), before);
}
