use std::path::{Path, PathBuf};

use crate::common::sources::commit_all;
use crate::common::*;

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
    good(&root, "data", "data");
    write(&root.join("plugins/data/atk-data.yaml"), "scripts: true\npaths: [../../elsewhere]\n", false);
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
        "atk-data.yaml: paths[0]: '../../elsewhere' has a name that walks the folder tree",
        "1 valid, 8 invalid",
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

/// An index.yaml that is a link leading out of the checkout (a pull request can make one, and CI
/// runs `registry index --check` on it) is refused, as registry_checks::index_state says: not
/// read, so what it leads to is never printed as the difference; a FIFO is refused too.
#[test]
fn an_index_that_links_out_of_the_checkout_is_refused_not_printed() {
    let env = Env::bare();
    let root = registry_dir(&env);
    good(&root, "alpha", "alpha");
    let secret = env.path("outside/credentials");
    write(&secret, "TOKEN=s3cret-value-of-the-ci\n", false);
    std::os::unix::fs::symlink(&secret, root.join("index.yaml")).unwrap();
    let dir = root.to_str().unwrap();
    for args in [&["registry", "index", "--check", dir][..], &["--json", "registry", "index", "--check", dir][..]] {
        let (out, err) = env.fails(1, args);
        assert!(!out.contains("s3cret") && !err.contains("s3cret"), "{args:?}: {out}{err}");
        assert!(err.contains("symbolic link"), "{args:?}: {err}");
    }
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "TOKEN=s3cret-value-of-the-ci\n");

    std::fs::remove_file(root.join("index.yaml")).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(root.join("index.yaml")).status().unwrap().success());
    let (_, err) = env.fails(1, &["registry", "index", "--check", dir]);
    assert!(err.contains("FIFO"), "{err}");
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
        let yaml = std::fs::read_to_string(dir.join("plugin.yaml")).unwrap();
        assert!(yaml.starts_with("schema_version: \"2026-08-20\"\n"), "the newest schema: {yaml}");
        env.ok(&["validate", dir.to_str().unwrap()]);
    }
    env.ok(&["registry", "validate", "--allow-unverified", root.to_str().unwrap()]);
    let (_, err) = env.fails(1, &["new", "my-tool", "--dir", root.join("plugins").to_str().unwrap()]);
    assert!(err.contains("already exists"), "{err}");
    env.fails(2, &["new", "Not Valid"]);

    // The scaffolds install: the script one for real, the compose one against a stand-in docker.
    let out = env.ok(&["add", root.join("plugins/my-tool").to_str().unwrap(), "--yes"]);
    assert!(out.contains("Added 'my-tool'"), "{out}");
    assert!(env.atk_home.join("plugins/my-tool/runtime").is_dir());
    env.ok(&["remove", "my-tool", "--yes"]);
    let bin = env.path("fakebin");
    write(&bin.join("docker"), &format!("#!/bin/sh\necho \"$@\" >> {}\n", env.path("docker.log").display()), true);
    let path = path_with(&bin);
    // Its image named by digest (as a maintainer publishes it): atk has nothing to look up, and
    // this test reaches no registry.
    let compose = root.join("plugins/compose-tool/docker-compose.yml");
    let text = std::fs::read_to_string(&compose).unwrap();
    assert!(text.contains("image: busybox:stable\n"), "{text}");
    let digest = format!("busybox:stable@sha256:{}", "0".repeat(64));
    std::fs::write(&compose, text.replace("busybox:stable", &digest)).unwrap();
    env.cmd()
        .args(["add", root.join("plugins/compose-tool").to_str().unwrap(), "--yes"])
        .env("PATH", &path)
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(env.path("docker.log")).unwrap(), "compose pull\n");
}

/// Descriptions that make a YAML writer choose: folding, quoting, escapes, unicode.
const DESCRIPTIONS: &[(&str, &str)] = &[
    ("alpha", "Short one"),
    ("long-folded", "Per-chat executive dashboard for Claude Code sessions. Runs a localhost server that browses ~/.claude/projects/ and serves a top-level projects landing, a per-project chat index, and per-session dashboards the agent maintains."),
    ("colon-quoted", "Makes Claude Code follow ATK rules: UserPromptSubmit hook that reminds Claude to re-read each plugged SKILL.md, bootstrap deferred MCP tool schemas, and run per-turn protocol before answering."),
    ("unicode", "Semantic code-intelligence tool — gives AI assistants instant call graphs, dependency analysis, and semantic search across a codebase via MCP. Ünïcødé ✓ 日本語"),
    ("apostrophe", "It's the user's tool: 'quoted' words and \"double\" ones, a # hash and a trailing colon:"),
    ("version-like", "2026-01-23"),
    ("bool-like", "yes"),
    ("octal-like", "0755"),
    ("null-like", "null"),
    ("leading-dash", "- starts like a list item"),
    ("leading-star", "*bold* start"),
    ("at-sign", "@mention first"),
    ("backquote", "`code` first"),
    ("braces", "{not: a mapping}"),
    ("percent", "%TAG-like start"),
    ("a-very-long-word", "Supercalifragilisticexpialidocious-and-then-some-more-without-any-spaces-at-all-to-break-on-anywhere-in-this-long-description"),
    ("spaces-in-runs", "two  spaces  between   words and a long enough line to be folded somewhere past the eightieth column"),
    ("date-prefix", "2026-01-23 release notes for the hello tool"),
    ("date-time", "2026-1-2 10:30:00.5 +01:00"),
    ("question-start", "?why not"),
    ("question-space", "? a question"),
    ("colon-start", ":colon start"),
    ("astral", "party 🎉 time"),
];

/// PyYAML's dump of the index data, as the registry's Python generator writes it.
const DUMP_WITH_PYYAML: &str = "
import json, sys, yaml
entries = json.loads(sys.stdin.read())
index = {'schema_version': '2026-01-23', 'plugins': [{'name': n, 'path': 'plugins/' + n, 'description': d} for n, d in entries]}
sys.stdout.write(yaml.dump(index, default_flow_style=False, sort_keys=False, allow_unicode=True))
";

#[test]
#[ignore = "needs the Python test venv (target/pyvenv or ATK_TEST_PYTHON; .ci/run makes it)"]
fn the_index_is_written_byte_for_byte_as_pyyaml_writes_it() {
    let py = crate::common::python::python("the_index_is_written_byte_for_byte_as_pyyaml_writes_it", &["yaml"]);
    let env = Env::bare();
    let root = registry_dir(&env);
    for (folder, description) in DESCRIPTIONS {
        good(&root, folder, folder);
        let quoted = serde_json::to_string(description).unwrap();
        write(
            &root.join(format!("plugins/{folder}/plugin.yaml")),
            &format!("schema_version: '2026-01-23'\nname: {folder}\ndescription: {quoted}\nmaturity: verified\nlifecycle:\n  install: ./install.sh\n  uninstall: bash ./uninstall.sh\n"),
            false,
        );
    }
    env.ok(&["registry", "index", root.to_str().unwrap()]);
    let ours = std::fs::read_to_string(root.join("index.yaml")).unwrap();
    let mut sorted: Vec<(&str, &str)> = DESCRIPTIONS.to_vec();
    sorted.sort();
    let theirs = crate::common::python::run(&py, DUMP_WITH_PYYAML, &[], &[], &serde_json::to_string(&sorted).unwrap());
    for (a, b) in ours.lines().zip(theirs.lines()) {
        assert_eq!(a, b, "first differing line; atk wrote\n{ours}\nPyYAML wrote\n{theirs}");
    }
    assert_eq!(ours, theirs);
    // And an index PyYAML wrote passes `--check`.
    write(&root.join("index.yaml"), &theirs, false);
    env.ok(&["registry", "index", "--check", root.to_str().unwrap()]);

    // Characters PyYAML reads as line breaks or escapes (U+2028, U+0085, BOM, astral characters in
    // quotes): what atk writes loads back in PyYAML exactly.
    // (folder, the description as plugin.yaml writes it in double quotes, what it reads as)
    let hostile = [
        ("sep", "a\\L- b", "a\u{2028}- b"),
        ("nel", "x\\Ny", "x\u{85}y"),
        ("bom", "\\uFEFFbom", "\u{feff}bom"),
        ("tab-astral", "\\t\\U0001F389", "\t🎉"),
    ];
    for (folder, written, _) in hostile {
        good(&root, folder, folder);
        let quoted = format!("\"{written}\"");
        write(
            &root.join(format!("plugins/{folder}/plugin.yaml")),
            &format!("schema_version: '2026-01-23'\nname: {folder}\ndescription: {quoted}\nmaturity: verified\nlifecycle:\n  install: ./install.sh\n  uninstall: bash ./uninstall.sh\n"),
            false,
        );
    }
    env.ok(&["registry", "index", root.to_str().unwrap()]);
    let load = "import json, sys, yaml\nd = yaml.safe_load(open(sys.argv[1], encoding='utf-8'))\nprint(json.dumps({p['name']: p['description'] for p in d['plugins']}))";
    let loaded = crate::common::python::run(&py, load, &[root.join("index.yaml").to_str().unwrap()], &[], "");
    let loaded: std::collections::BTreeMap<String, String> = serde_json::from_str(&loaded).unwrap();
    for (folder, _, description) in hostile {
        assert_eq!(loaded[folder], description, "{folder}");
    }
}

#[test]
fn plugins_of_both_schema_versions_are_validated_and_indexed() {
    let env = Env::bare();
    let root = registry_dir(&env);
    good(&root, "old-style", "old-style");
    copy_dir(&fixtures().join("plugins/remote-http"), &root.join("plugins/remote-http"));
    write(&root.join("plugins/remote-http/README.md"), "# remote\n", false);
    let dir = root.to_str().unwrap();
    let out = env.ok(&["registry", "validate", dir]);
    assert!(out.contains("2 valid, 0 invalid"), "{out}");
    env.ok(&["registry", "index", dir]);
    let index = std::fs::read_to_string(root.join("index.yaml")).unwrap();
    assert!(index.starts_with("schema_version: '2026-01-23'\n"), "the index schema stays: {index}");
    assert!(index.contains("- name: old-style\n") && index.contains("- name: remote-http\n"), "{index}");
    env.ok(&["registry", "index", "--check", dir]);
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
