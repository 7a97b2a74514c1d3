use std::path::{Path, PathBuf};

use crate::common::*;
use crate::sources::commit_all;

fn registry_dir(env: &Env) -> PathBuf {
    let root = env.path("reg");
    std::fs::create_dir_all(root.join("plugins")).unwrap();
    root
}

/// A plugin folder that passes every rule.
fn good(root: &Path, name: &str, display: &str) {
    write(
        &root.join(format!("plugins/{name}/plugin.yaml")),
        &yaml(display, "lifecycle:\n  install: ./install.sh\n  uninstall: bash ./uninstall.sh\n"),
        false,
    );
    write(&root.join(format!("plugins/{name}/install.sh")), "#!/bin/sh\necho ok\n", true);
    write(&root.join(format!("plugins/{name}/uninstall.sh")), "echo bye\n", false);
    write(&root.join(format!("plugins/{name}/README.md")), "# readme\n", false);
}

#[test]
fn every_rule_has_its_message() {
    let env = Env::bare();
    let root = registry_dir(&env);
    good(&root, "fine", "fine");
    good(&root, "Bad_Name", "bad name");
    good(&root, "no-readme", "no readme");
    std::fs::remove_file(root.join("plugins/no-readme/README.md")).unwrap();
    good(&root, "broken", "broken");
    write(&root.join("plugins/broken/plugin.yaml"), &yaml("broken", "homepage: x\n"), false);
    good(&root, "unreviewed", "unreviewed");
    let y =
        std::fs::read_to_string(root.join("plugins/unreviewed/plugin.yaml")).unwrap().replace("verified", "community");
    write(&root.join("plugins/unreviewed/plugin.yaml"), &y, false);
    good(&root, "scripts", "scripts");
    write(
        &root.join("plugins/scripts/plugin.yaml"),
        &yaml("scripts", "lifecycle:\n  install: ./missing.sh && ./plain.sh\n  uninstall: bash ./gone.sh\n  start: FOO=1 ./plain.sh --flag\n"),
        false,
    );
    write(&root.join("plugins/scripts/plain.sh"), "echo not executable\n", false);
    good(&root, "dup-a", "Dup Name");
    good(&root, "dup-b", "Dup Name");
    std::fs::create_dir_all(root.join("plugins/.hidden")).unwrap();

    let out = env.cmd().args(["registry", "validate"]).arg(&root).output().unwrap();
    assert_eq!(out.status.code(), Some(5));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "✓ fine",
        "the folder name 'Bad_Name' is not valid",
        "README.md is missing",
        "homepage: unknown field",
        "maturity: 'community' (a registry plugin must be 'verified'",
        "lifecycle.install: runs ./missing.sh, which is not in the plugin folder",
        "lifecycle.install: runs ./plain.sh directly, but it is not executable (chmod +x plain.sh)",
        "lifecycle.start: runs ./plain.sh directly, but it is not executable",
        "lifecycle.uninstall: runs ./gone.sh, which is not in the plugin folder",
        "its display name gives the folder name 'dup-name', as the one of dup-b does",
        "1 valid, 7 invalid",
    ] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
    assert!(!text.contains(".hidden"), "dot-folders are ignored");
    let out = env.cmd().args(["registry", "validate", "--allow-unverified", "--json"]).arg(&root).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let unreviewed = v["plugins"].as_array().unwrap().iter().find(|p| p["name"] == "unreviewed").unwrap().clone();
    assert_eq!(unreviewed["valid"], true);
    let (_, err) = env.fails(5, &["registry", "validate", env.path("nowhere").to_str().unwrap()]);
    assert!(err.contains("has no plugins/ folder"), "{err}");
}

#[test]
fn index_writes_checks_and_refuses() {
    let env = Env::bare();
    let root = registry_dir(&env);
    good(&root, "zeta", "zeta");
    good(&root, "alpha", "alpha");
    let dir = root.to_str().unwrap();
    env.ok(&["registry", "index", dir]);
    let index = std::fs::read_to_string(root.join("index.yaml")).unwrap();
    assert_eq!(
        index,
        "schema_version: '2026-01-23'\nplugins:\n- name: alpha\n  path: plugins/alpha\n  description: test plugin alpha\n\
         - name: zeta\n  path: plugins/zeta\n  description: test plugin zeta\n"
    );
    assert!(env.ok(&["registry", "index", "--check", dir]).contains("is up to date"));

    good(&root, "middle", "middle");
    let (out, err) = env.fails(1, &["registry", "index", "--check", dir]);
    assert!(out.contains("+- name: middle") && out.contains("+  path: plugins/middle"), "{out}");
    assert!(
        err.contains("is not what `atk registry index` would write") && err.contains("hint: run `atk registry index`"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(root.join("index.yaml")).unwrap(), index, "--check writes nothing");

    write(&root.join("plugins/middle/plugin.yaml"), "name: [broken\n", false);
    let (_, err) = env.fails(5, &["registry", "index", dir]);
    assert!(err.contains("index.yaml was not written"), "{err}");
    assert_eq!(std::fs::read_to_string(root.join("index.yaml")).unwrap(), index);
}

#[test]
fn new_scaffolds_plugins_that_validate_and_install() {
    let env = Env::new();
    let root = registry_dir(&env);
    let out = env.cmd().args(["new", "my-tool"]).current_dir(&root).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    env.ok(&["new", "compose-tool", "--type", "docker-compose", "--dir", root.join("plugins").to_str().unwrap()]);
    for p in ["my-tool", "compose-tool"] {
        let dir = root.join("plugins").join(p);
        for f in ["plugin.yaml", "README.md", "SKILL.md", "install.sh", "uninstall.sh", "status.sh"] {
            assert!(dir.join(f).is_file(), "{p}/{f}");
        }
        assert_eq!(mode(&dir.join("install.sh")), 0o755);
        env.ok(&["validate", dir.to_str().unwrap()]);
    }
    env.ok(&["registry", "validate", "--allow-unverified", root.to_str().unwrap()]);
    let (_, err) = env.fails(5, &["new", "my-tool", "--dir", root.join("plugins").to_str().unwrap()]);
    assert!(err.contains("already exists"), "{err}");
    env.fails(2, &["new", "Not Valid"]);

    // The scaffolds install: the script one for real, the compose one against a stand-in docker.
    let out = env.ok(&["add", root.join("plugins/my-tool").to_str().unwrap(), "--yes"]);
    assert!(out.contains("Added 'my-tool'"), "{out}");
    assert!(env.atk_home.join("plugins/my-tool/runtime").is_dir());
    env.ok(&["remove", "my-tool", "--yes"]);
    let bin = env.path("fakebin");
    write(&bin.join("docker"), &format!("#!/bin/sh\necho \"$@\" >> {}\n", env.path("docker.log").display()), true);
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    env.cmd()
        .args(["add", root.join("plugins/compose-tool").to_str().unwrap(), "--yes"])
        .env("PATH", &path)
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(env.path("docker.log")).unwrap(), "compose pull\n");
}

#[test]
fn the_index_of_the_public_registry_matches_the_published_one() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/atk-registry");
    if !corpus.is_dir() {
        eprintln!("skipped: {} is absent (reference data outside the project)", corpus.display());
        return;
    }
    let env = Env::bare();
    let root = registry_dir(&env);
    // The corpus keeps plugin.yaml and the list of files; the files themselves are made here.
    for e in std::fs::read_dir(corpus.join("plugins")).unwrap() {
        let src = e.unwrap().path();
        let dst = root.join("plugins").join(src.file_name().unwrap());
        std::fs::create_dir_all(&dst).unwrap();
        for f in std::fs::read_to_string(src.join("FILES.txt")).unwrap().lines().filter(|l| !l.is_empty()) {
            write(&dst.join(f), "", f.ends_with(".sh"));
        }
        std::fs::copy(src.join("plugin.yaml"), dst.join("plugin.yaml")).unwrap();
    }
    let out = env.cmd().args(["registry", "index"]).arg(&root).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let parse = |p: &Path| -> Vec<(String, String, String)> {
        let v: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        v["plugins"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap().into(),
                    p["path"].as_str().unwrap().into(),
                    p["description"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    assert_eq!(parse(&root.join("index.yaml")), parse(&corpus.join("index.yaml")));
    // Byte for byte, too: an index the Python generator wrote passes `--check`.
    assert_eq!(
        std::fs::read_to_string(root.join("index.yaml")).unwrap(),
        std::fs::read_to_string(corpus.join("index.yaml")).unwrap()
    );
}

#[test]
fn the_registry_template_passes_its_own_workflow_and_installs() {
    let env = Env::new();
    let repo = env.path("my-registry");
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("registry-template"), &repo);
    git(env.dir.path(), &["init", "-q", "-b", "main", repo.to_str().unwrap()]);
    commit_all(&repo, "fork of the template");
    // The workflow's own commands, read from the file so that they cannot drift.
    let workflow = std::fs::read_to_string(repo.join(".github/workflows/registry.yml")).unwrap();
    let commands: Vec<&str> =
        workflow.lines().filter_map(|l| l.trim().strip_prefix("run: ")).filter(|c| c.starts_with("atk ")).collect();
    assert_eq!(commands, ["atk registry validate", "atk registry index --check"]);
    for c in commands {
        let out = env.cmd().args(c.split_whitespace().skip(1)).current_dir(&repo).output().unwrap();
        assert!(out.status.success(), "{c}: {}", String::from_utf8_lossy(&out.stdout));
    }
    for plugin in ["hello", "notes"] {
        env.ok(&["--registry", repo.to_str().unwrap(), "add", "-y", plugin, "--set", "HELLO_NAME=x"]);
    }
    assert_eq!(env.log()[..2], ["Add plugin 'Notes'", "Add plugin 'hello'"]);
}
