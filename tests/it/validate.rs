use std::path::PathBuf;

use crate::common::*;

#[test]
fn valid_fixtures_pass_and_each_invalid_one_names_its_rule() {
    let env = Env::bare();
    let plugins = fixtures().join("plugins");
    for ok in ["minimal", "full", "skill-only", "remote-http"] {
        let out = env.ok(&["validate", plugins.join(ok).to_str().unwrap()]);
        assert!(out.contains('✓'), "{out}");
    }
    for (bad, rule) in [
        ("unknown-key", "homepage: unknown field"),
        ("bad-schema-version", "schema_version: '23-01-2026' is not a date"),
        ("bad-env-name", "env_vars[0].name: 'my-var' is not a valid variable name"),
        ("bad-port", "ports[0].port: 70000 is out of range"),
        ("install-without-uninstall", "lifecycle.uninstall: required when 'install' is defined"),
        ("stdio-without-command", "mcp.command: required when transport is 'stdio'"),
        ("sse-with-command", "mcp.command: not allowed when transport is 'sse'"),
        ("http-without-endpoint", "mcp.endpoint: required when transport is 'http'"),
        ("http-with-command", "mcp.command: not allowed when transport is 'http'"),
        ("http-with-command", "mcp.args: not allowed when transport is 'http'"),
        ("bad-timeout", "mcp.timeout: -5 is not a positive number of milliseconds"),
        ("bad-maturity", "maturity: 'gold' is not one of"),
        ("missing-name", "name: required field is missing"),
        ("not-yaml", "not valid YAML"),
    ] {
        let (out, _) = env.fails(5, &["validate", plugins.join("invalid").join(bad).to_str().unwrap()]);
        assert!(out.contains(rule), "{bad}: {out}");
    }
}

#[test]
fn several_paths_json_and_a_single_file() {
    let env = Env::bare();
    let plugins = fixtures().join("plugins");
    let out = env
        .cmd()
        .args(["validate", "--json"])
        .arg(plugins.join("minimal/plugin.yaml"))
        .arg(plugins.join("invalid/bad-port"))
        .arg(env.path("missing"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], 1);
    assert_eq!(v["invalid"], 2);
    assert_eq!(v["plugins"][0]["name"], "Minimal");
    assert_eq!(v["plugins"][0]["directory"], "minimal");
    assert_eq!(v["plugins"][1]["errors"][0], "ports[0].port: 70000 is out of range (1 to 65535)");
    assert_eq!(v["plugins"][2]["errors"][0], "no such file or folder");
}

#[test]
fn overrides_are_merged_before_validation() {
    let env = Env::bare();
    let p = env.plugin("ov", &yaml("Ov", ""), &[("custom/overrides.yaml", "ports: [{port: 99999}]\n", false)]);
    let (out, _) = env.fails(5, &["validate", p.to_str().unwrap()]);
    assert!(out.contains("ports[0].port: 99999"), "{out}");
}

/// atk-cli 0.4.0's own schema check (pydantic) on every fixture, valid and invalid.
const VALIDATE_WITH_ATK_CLI: &str = "
import sys, yaml
from atk.plugin_schema import PluginSchema
for path in sys.argv[1:]:
    try:
        PluginSchema.model_validate(yaml.safe_load(open(path + '/plugin.yaml')))
        print('valid')
    except Exception:
        print('invalid')
";

#[test]
#[ignore = "needs the Python test venv (target/pyvenv or ATK_TEST_PYTHON; .ci/run makes it)"]
fn fixtures_are_valid_or_invalid_as_for_atk_cli_0_4_0() {
    let py =
        crate::common::python::python("fixtures_are_valid_or_invalid_as_for_atk_cli_0_4_0", &["atk.plugin_schema"]);
    let plugins = fixtures().join("plugins");
    let mut dirs: Vec<PathBuf> =
        ["minimal", "full", "skill-only", "remote-http"].iter().map(|d| plugins.join(d)).collect();
    let mut invalid: Vec<PathBuf> =
        std::fs::read_dir(plugins.join("invalid")).unwrap().map(|e| e.unwrap().path()).collect();
    invalid.sort();
    dirs.extend(invalid);
    let args: Vec<&str> = dirs.iter().map(|d| d.to_str().unwrap()).collect();
    let upstream = crate::common::python::run(&py, VALIDATE_WITH_ATK_CLI, &args, &[], "");
    let env = Env::bare();
    for (dir, verdict) in dirs.iter().zip(upstream.lines()) {
        let ours = env.cmd().arg("validate").arg(dir).output().unwrap();
        let name = dir.file_name().unwrap().to_string_lossy();
        if name == "bad-timeout" {
            // Upstream takes any integer; a timeout of zero or less means nothing, atk refuses it.
            assert_eq!((verdict, ours.status.code()), ("valid", Some(5)), "{name}");
            continue;
        }
        let ours = if ours.status.success() { "valid" } else { "invalid" };
        assert_eq!(ours, verdict, "{name}: atk says {ours}, atk-cli 0.4.0 says {verdict}");
    }
    assert_eq!(upstream.lines().count(), dirs.len());
}

/// The plugins of the registry template. (The public registry's, when its corpus is at
/// `../shared/corpus`, reference data outside the project, are validated by `.ci/run`.)
#[test]
fn every_plugin_of_the_registry_template_is_valid() {
    let set = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("registry-template/plugins");
    let env = Env::bare();
    let mut cmd = env.cmd();
    cmd.arg("validate");
    let mut n = 0;
    for e in std::fs::read_dir(&set).unwrap() {
        cmd.arg(e.unwrap().path());
        n += 1;
    }
    assert!(n >= 2, "{}", set.display());
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("{n} valid, 0 invalid")));
}

#[test]
fn a_broken_data_declaration_makes_the_plugin_invalid_naming_the_field() {
    let env = Env::bare();
    let om = fixtures().join("plugins/openmemory-data");
    let out = env.ok(&["validate", om.to_str().unwrap()]);
    assert!(out.contains("OpenMemory"), "{out}");

    let p = env.plugin(
        "data",
        &yaml("Data", ""),
        &[("atk-data.yaml", "paths: [db, ../../etc]\nvolumes: ['a b']\nstop: maybe\n", false)],
    );
    let (out, _) = env.fails(5, &["validate", p.to_str().unwrap()]);
    for rule in [
        "atk-data.yaml: paths[1]: '../../etc' has a name that walks the folder tree",
        "atk-data.yaml: volumes[0]: 'a b' is not a docker volume name",
        "atk-data.yaml: stop: expected true or false, found a string",
    ] {
        assert!(out.contains(rule), "{rule}: {out}");
    }

    // Well-formed, but the scripts it promises are not there, and a path is a link out.
    let q = env.plugin("scripts", &yaml("Scripts", ""), &[("atk-data.yaml", "scripts: true\npaths: [db]\n", false)]);
    std::os::unix::fs::symlink("/etc", q.join("db")).unwrap();
    let out = env.cmd().args(["validate", "--json", q.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(5));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["plugins"][0]["name"], "Scripts");
    assert_eq!(v["plugins"][0]["valid"], false);
    let errors: Vec<&str> = v["plugins"][0]["errors"].as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect();
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(errors[0].starts_with("atk-data.yaml: scripts: the plugin has no script 'backup'"), "{errors:#?}");
    assert!(errors[1].contains("no script 'restore'"), "{errors:#?}");
    assert!(errors[2].contains("paths[0] 'db' is a link to /etc, out of the plugin folder"), "{errors:#?}");

    // The user's declaration in custom/ replaces the plugin's, and is checked the same way.
    write(&q.join("custom/atk-data.yaml"), "volumes: [$(whoami)]\n", false);
    let (out, _) = env.fails(5, &["validate", q.to_str().unwrap()]);
    assert!(out.contains("custom/atk-data.yaml: volumes[0]: '$(whoami)' is not a docker volume name"), "{out}");
    write(&q.join("custom/atk-data.yaml"), "volumes: [scripts_data]\n", false);
    env.ok(&["validate", q.to_str().unwrap()]);
}

/// atk-cli 0.4.0's own validator (`atk.plugin.load_plugin_schema`, what its `add` and every
/// command run) on a plugin folder; "VALID" or its refusal.
fn atk_cli_validates(dir: &std::path::Path) -> String {
    let py = crate::common::python::python("atk_cli_validates", &["atk.plugin"]);
    let script = "
import sys
from pathlib import Path
from atk.plugin import load_plugin_schema
try:
    load_plugin_schema(Path(sys.argv[1]))
    print('VALID')
except Exception as e:
    print('INVALID', e)
";
    crate::common::python::run(&py, script, &[dir.to_str().unwrap()], &[], "").trim().to_string()
}

#[test]
#[ignore = "needs the Python test venv (target/pyvenv or ATK_TEST_PYTHON; .ci/run makes it)"]
fn atk_cli_0_4_0_accepts_a_plugin_that_declares_data_in_atk_data_yaml() {
    let env = Env::bare();
    // OpenMemory as the registry ships it, with its declaration beside it.
    assert_eq!(atk_cli_validates(&fixtures().join("plugins/openmemory-data")), "VALID");
    let declaration = "paths: [data, config/settings.json]\nvolumes: [demo_data, '${DEMO_VOLUME}']\nstop: true\n\
                       scripts: true\n";
    let p = env.plugin(
        "demo",
        &yaml("Demo", "lifecycle:\n  start: ./start.sh\n"),
        &[
            ("atk-data.yaml", declaration, false),
            ("custom/atk-data.yaml", declaration, false),
            ("backup.sh", "#!/bin/sh\n", true),
            ("restore.sh", "#!/bin/sh\n", true),
        ],
    );
    assert_eq!(atk_cli_validates(&p), "VALID");
    env.ok(&["validate", p.to_str().unwrap()]);
    // Why it is a file of its own: the same declaration inside plugin.yaml (or under lifecycle)
    // makes atk-cli refuse the plugin.
    let inside = env.plugin("inside", &yaml("Inside", "data:\n  stop: true\n"), &[]);
    let refused = atk_cli_validates(&inside);
    assert!(refused.starts_with("INVALID") && refused.contains("'data': extra inputs are not permitted"), "{refused}");
    let lifecycle = env.plugin("lc", &yaml("Lc", "lifecycle:\n  start: x\n  backup: ./backup.sh\n"), &[]);
    let refused = atk_cli_validates(&lifecycle);
    assert!(refused.contains("'lifecycle.backup': extra inputs are not permitted"), "{refused}");
}
