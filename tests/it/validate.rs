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
