//! Every `--json` document, pinned with insta snapshots (`tests/it/snapshots/`): the keys and
//! their shapes are an interface. Paths of the test folder and commit ids are replaced by
//! placeholders; review a change with `cargo insta review` (or `INSTA_UPDATE=always`).

use crate::common::sources::*;
use crate::common::*;

/// The document of `atk args…`, with what changes from run to run replaced.
fn doc(env: &Env, args: &[&str], code: i32) -> serde_json::Value {
    json_doc(env, args, code, &[])
}

#[test]
fn every_json_document() {
    let env = Env::bare();
    insta::assert_json_snapshot!("init", doc(&env, &["init"], 0));
    let work = registry_work(&env);
    let reg = work.to_str().unwrap();
    insta::assert_json_snapshot!("search", doc(&env, &["--registry", reg, "search", "third"], 0));
    insta::assert_json_snapshot!("add", doc(&env, &["--registry", reg, "add", "hello", "--set", "HELLO_NAME=Ada"], 0));
    env.ok(&["--registry", reg, "add", "third"]);
    insta::assert_json_snapshot!("list", doc(&env, &["list"], 0));
    insta::assert_json_snapshot!("setup", doc(&env, &["setup", "hello", "--set", "HELLO_NAME=Bo"], 0));
    insta::assert_json_snapshot!("install", doc(&env, &["--registry", reg, "install", "--all"], 0));
    write(&work.join("plugins/third/EXTRA.md"), "new\n", false);
    commit_all(&work, "third v2");
    insta::assert_json_snapshot!("upgrade", doc(&env, &["--registry", reg, "upgrade", "--all", "--dry-run"], 0));
    insta::assert_json_snapshot!("uninstall", doc(&env, &["uninstall", "hello", "--force"], 0));
    insta::assert_json_snapshot!("remove", doc(&env, &["remove", "third", "--force"], 0));
    insta::assert_json_snapshot!("error", doc(&env, &["remove", "nope"], 4));
    insta::assert_json_snapshot!("validate", doc(&env, &["validate", work.join("plugins/hello").to_str().unwrap()], 0));
    let plugins = env.path("new-registry/plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    insta::assert_json_snapshot!("new", doc(&env, &["new", "json-tool", "--dir", plugins.to_str().unwrap()], 0));
    let root = env.path("new-registry");
    let root = root.to_str().unwrap();
    insta::assert_json_snapshot!(
        "registry_validate",
        doc(&env, &["registry", "validate", "--allow-unverified", root], 0)
    );
    insta::assert_json_snapshot!("registry_index", doc(&env, &["registry", "index", "--allow-unverified", root], 0));
    insta::assert_json_snapshot!(
        "registry_index_check",
        doc(&env, &["registry", "index", "--check", "--allow-unverified", root], 0)
    );
}

#[test]
fn agents_json_documents() {
    let env = Env::new();
    crate::common::agents::add_plugin(
        &env,
        "Json Agent",
        "env_vars:\n  - name: TOKEN\n    secret: true\n    required: true\nmcp:\n  transport: stdio\n  command: ./mcp.sh\n  args: [--fast]\n  env: [TOKEN]\n  timeout: 5000\n",
        true,
        &["TOKEN=abcdefgh"],
    );
    insta::assert_json_snapshot!("mcp", doc(&env, &["mcp", "json-agent"], 0));
    insta::assert_json_snapshot!("plug", doc(&env, &["plug", "json-agent", "--cursor", "--vscode", "-y"], 0));
    insta::assert_json_snapshot!("plug_all", doc(&env, &["plug", "--all"], 0));
    insta::assert_json_snapshot!("unplug", doc(&env, &["unplug", "json-agent", "--cursor", "-y"], 0));
}

#[test]
fn trust_json_documents() {
    let env = Env::new();
    let work = registry_work(&env);
    let reg = work.to_str().unwrap();
    env.ok(&["--registry", reg, "add", "-y", "hello", "--set", "HELLO_NAME=Ada"]);
    write(&work.join("plugins/hello/NEW.md"), "v2\n", false);
    commit_all(&work, "hello v2");
    env.ok(&["--registry", reg, "upgrade", "hello", "--yes"]);
    write(&env.atk_home.join("plugins/hello/README.md"), "changed\n", false);
    insta::assert_json_snapshot!("doctor", doc(&env, &["--registry", reg, "doctor"], 1));
    insta::assert_json_snapshot!("diff", doc(&env, &["--registry", reg, "diff"], 1));
    env.ok(&["--registry", reg, "doctor", "--fix", "--yes"]);
    let mut history = doc(&env, &["history"], 0);
    for op in history["operations"].as_array_mut().unwrap() {
        op["date"] = "[DATE]".into();
    }
    insta::assert_json_snapshot!("history", history);
    insta::assert_json_snapshot!("rollback", doc(&env, &["--registry", reg, "rollback", "hello"], 0));
    insta::assert_json_snapshot!("undo", doc(&env, &["--registry", reg, "undo"], 0));
}

/// `backup`, `backup --list` and `restore` (with its plan): times, IDs and sizes replaced.
#[test]
fn data_json_documents() {
    let env = Env::new();
    let src = env.plugin(
        "src/keeper",
        &yaml("keeper", ""),
        &[("atk-data.yaml", "paths: [data, gone.txt]\n", false), ("data/.keep", "", false)],
    );
    env.ok(&["add", src.to_str().unwrap(), "-y"]);
    let dir = env.atk_home.join("plugins/keeper");
    write(&dir.join("data/rows.txt"), "a row\n", false);
    write(&dir.join("data/.env"), "TOKEN=x\n", false);
    let doc = |args: &[&str], code: i32| {
        let mut v = json_doc(&env, args, code, &[]);
        fn scrub(v: &mut serde_json::Value) {
            match v {
                serde_json::Value::Object(o) => {
                    for (k, x) in o.iter_mut() {
                        if ["id", "created", "changed", "size", "file"].contains(&k.as_str()) && !x.is_null() {
                            *x = format!("[{}]", k.to_uppercase()).into();
                        } else {
                            scrub(x);
                        }
                    }
                }
                serde_json::Value::Array(a) => a.iter_mut().for_each(scrub),
                // The home's own folder of backups, named by its first commit.
                serde_json::Value::String(s) => {
                    if let Some(at) = s.find("/home-") {
                        s.replace_range(at + 6..(at + 18).min(s.len()), "[ROOT]");
                    }
                }
                _ => {}
            }
        }
        scrub(&mut v);
        v
    };
    insta::assert_json_snapshot!("backup", doc(&["backup", "keeper"], 0));
    insta::assert_json_snapshot!("backup_list", doc(&["backup", "--list"], 0));
    write(&dir.join("data/rows.txt"), "another row\n", false);
    insta::assert_json_snapshot!("restore_dry_run", doc(&["restore", "keeper", "--dry-run"], 0));
    insta::assert_json_snapshot!("restore", doc(&["restore", "keeper", "--yes"], 0));
    insta::assert_json_snapshot!("backup_error", doc(&["backup", "nope"], 4));
}

#[test]
fn export_and_import_json_documents() {
    let a = Env::new();
    let work = registry_work(&a);
    let reg = work.to_str().unwrap();
    a.ok(&["--registry", reg, "add", "third"]);
    a.ok(&["add", "-y", a.fixture("minimal").to_str().unwrap()]);
    let file = a.path("laptop.atk");
    let mut exported = doc(&a, &["--registry", reg, "export", "--all", "-o", file.to_str().unwrap()], 0);
    // The size moves with the time and the commit ids written in the file.
    assert!(exported["size"].as_u64().unwrap() > 0);
    exported["size"] = 0.into();
    insta::assert_json_snapshot!("export", exported);
    let b = Env::bare();
    let imported = json_doc(&b, &["import", file.to_str().unwrap()], 0, &[]);
    let mut imported = serde_json::to_string(&imported).unwrap().replace(&*a.dir.path().to_string_lossy(), "[A]");
    imported = imported.replace(&*b.dir.path().to_string_lossy(), "[B]");
    insta::assert_json_snapshot!("import", serde_json::from_str::<serde_json::Value>(&imported).unwrap());
}

/// A command whose report is its outcome and still fails prints that report as the run's one
/// document (the error goes to stderr only): a setup that leaves a required value unset (exit 8),
/// and an index `--check` that finds the index out of date (exit 1).
#[test]
fn a_report_that_ends_in_an_error_is_the_one_document() {
    let env = Env::bare();
    env.ok(&["init"]);
    let work = registry_work(&env);
    let reg = work.to_str().unwrap();
    env.ok(&["--registry", reg, "add", "hello", "--set", "HELLO_NAME=Ada"]);
    write(&env.atk_home.join("plugins/hello/.env"), "HELLO_NAME=\n", false);
    let out = env.cmd().args(["setup", "hello", "--json"]).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(8), "{stdout}{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    assert_eq!(doc["plugins"][0]["missing"], serde_json::json!(["HELLO_NAME"]), "{doc}");
    assert!(doc.get("error").is_none(), "{doc}");
    assert!(stderr.contains("error: required environment variables have no value: HELLO_NAME"), "{stderr}");

    let plugins = env.path("reg/plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    env.ok(&["new", "one-tool", "--dir", plugins.to_str().unwrap()]);
    let root = env.path("reg");
    let root = root.to_str().unwrap();
    env.ok(&["registry", "index", "--allow-unverified", root]);
    env.ok(&["new", "two-tool", "--dir", plugins.to_str().unwrap()]);
    let out = env.cmd().args(["registry", "index", "--check", "--allow-unverified", root, "--json"]).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    assert_eq!(doc["up_to_date"], false, "{doc}");
    assert!(stderr.contains("is not what `atk registry index` would write"), "{stderr}");
}

/// One plugin's start, stop or restart that fails: the report is the run's one document (exit 6,
/// the error on stderr), as it was before the `json_printed` flag went; no second `{"error": …}`.
#[test]
fn a_failed_lifecycle_step_of_one_plugin_is_one_document() {
    let env = Env::new();
    let src = env.plugin("src-f1", &yaml("f1", "lifecycle:\n  start: 'exit 3'\n  stop: 'exit 4'\n"), &[]);
    env.ok(&["add", "-y", src.to_str().unwrap()]);
    for (action, failed) in [("start", "start"), ("stop", "stop"), ("restart", "stop")] {
        let out = env.cmd().args([action, "f1", "--json"]).output().unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(6), "{action}: {stdout}{stderr}");
        let doc: serde_json::Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{action}: not one JSON document ({e}):\n{stdout}"));
        assert_eq!(doc["action"], action, "{doc}");
        assert_eq!(doc["plugins"][0]["outcome"], "failed", "{doc}");
        assert!(stderr.contains(&format!("error: {failed} of plugin 'f1' failed")), "{action}: {stderr}");
    }
}
