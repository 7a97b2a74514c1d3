use std::path::PathBuf;

use crate::common::*;

#[test]
fn valid_fixtures_pass_and_each_invalid_one_names_its_rule() {
    let env = Env::bare();
    let plugins = fixtures().join("plugins");
    for ok in ["minimal", "full", "skill-only"] {
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

#[test]
fn every_plugin_of_the_public_registry_is_valid() {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/atk-registry/plugins");
    if !corpus.is_dir() {
        eprintln!("skipped: {} is absent (reference data outside the project)", corpus.display());
        return;
    }
    let env = Env::bare();
    let mut cmd = env.cmd();
    cmd.arg("validate");
    let mut n = 0;
    for e in std::fs::read_dir(&corpus).unwrap() {
        cmd.arg(e.unwrap().path());
        n += 1;
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("{n} valid, 0 invalid")));
}
