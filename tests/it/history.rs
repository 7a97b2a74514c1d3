//! `atk history`: the home's operations, newest first, read from git alone: atk's commits from
//! their trailers, the Python CLI's and hand-made ones from their subjects.

use std::process::{Command, Stdio};

use crate::common::servers::{publish, republish};
use crate::common::sources::*;
use crate::common::*;

/// Runs atk-cli 0.4.0 with its registry pointed at `registry`; answers come from `stdin`.
fn atk_cli(py: &std::path::Path, env: &Env, registry: &str, args: &[&str], stdin: &str) {
    use std::io::Write;
    let script = "import sys\nimport atk.registry\natk.registry.REGISTRY_URL = sys.argv[1]\n\
        import atk.update_check\natk.update_check.PyPIVersionSource.fetch_latest = lambda self, package: None\n\
        from atk.cli import main_cli\nsys.argv = ['atk'] + sys.argv[2:]\nmain_cli()\n";
    let mut child = Command::new(py)
        .arg("-c")
        .arg(script)
        .arg(registry)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &env.home)
        .env("ATK_HOME", &env.atk_home)
        .env("GIT_CONFIG_GLOBAL", env.home.join(".gitconfig"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("NO_COLOR", "1")
        .env("PYTHONIOENCODING", "utf-8")
        .current_dir(env.dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = wait_with_timeout(child, 120);
    assert!(
        out.status.success(),
        "atk-cli {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn operations(env: &Env, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["history", "--json"];
    all.extend_from_slice(args);
    let doc: serde_json::Value = serde_json::from_str(&env.ok(&all)).unwrap();
    doc["operations"].as_array().unwrap().clone()
}

#[test]
fn history_reads_atk_commits_from_their_trailers() {
    let env = Env::new();
    let work = registry_work(&env);
    let reg = work.to_str().unwrap();
    env.ok(&["--registry", reg, "add", "-y", "hello", "--set", "HELLO_NAME=Ada"]);
    let v1 = head(&work);
    write(&work.join("plugins/hello/NEW.md"), "v2\n", false);
    let v2 = commit_all(&work, "hello v2");
    env.ok(&["--registry", reg, "upgrade", "hello", "--yes"]);
    write(&env.atk_home.join("plugins/hello/custom/notes.txt"), "n\n", false);
    env.git(&["add", "plugins/hello/custom/notes.txt"]);
    env.git(&["commit", "-qm", "my notes"]);
    env.ok(&["--registry", reg, "add", "-y", "third"]);
    env.ok(&["remove", "third", "--force"]);

    // Every mutation says what it did in its trailers; the subject is the Python CLI's.
    let body = env.git(&["log", "-1", "--format=%B", "HEAD~3"]);
    assert_eq!(
        body,
        format!(
            "Upgrade plugin 'hello'\n\nAtk-Operation: upgrade\nAtk-Plugin: hello\nAtk-From: {v1}\nAtk-To: {v2}\n\n"
        )
    );
    let trailers = env.git(&["log", "-1", "--format=%(trailers:key=Atk-Operation,valueonly)", "HEAD"]);
    assert_eq!(trailers.trim(), "remove", "git itself reads the trailers");

    let ops = operations(&env, &[]);
    let summary: Vec<(String, String)> = ops
        .iter()
        .map(|o| {
            (o["operation"].as_str().unwrap_or("-").to_string(), o["directory"].as_str().unwrap_or("-").to_string())
        })
        .collect();
    let pairs = |v: &[(&str, &str)]| v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>();
    assert_eq!(
        summary,
        pairs(&[
            ("remove", "third"),
            ("add", "third"),
            ("-", "-"),
            ("upgrade", "hello"),
            ("add", "hello"),
            ("init", "-")
        ])
    );
    assert_eq!(ops[3]["from"], v1.as_str());
    assert_eq!(ops[3]["to"], v2.as_str());
    assert_eq!(ops[2]["subject"], "my notes");
    assert_eq!(ops[0]["from"], ops[1]["to"]);

    let hello = operations(&env, &["hello"]);
    assert_eq!(hello.len(), 2);
    assert_eq!(operations(&env, &["-n", "1"]).len(), 1);

    let out = env.ok(&["history"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6, "{out}");
    assert!(lines[3].contains(&format!("upgrade hello  {} → {}", &v1[..12], &v2[..12])), "{out}");
    assert!(lines[3].contains("just now") || lines[3].contains("seconds ago"), "{out}");
    assert!(lines[2].ends_with("(my notes)"), "{out}");
}

#[test]
#[ignore = "needs the Python test venv (target/pyvenv or ATK_TEST_PYTHON; .ci/run makes it)"]
fn history_reads_the_python_clis_commits_from_their_subjects() {
    let py = crate::common::python::python("history_reads_the_python_clis_commits_from_their_subjects", &["atk.cli"]);
    let env = Env::bare();
    env.set_identity("Test", "test@example.com");
    let work = registry_work(&env);
    let root = env.path("served");
    std::fs::create_dir_all(&root).unwrap();
    let bare = publish(&work, &root, "registry.git", true);
    let url = format!("file://{}", bare.display());
    atk_cli(&py, &env, &url, &["init"], "");
    atk_cli(&py, &env, &url, &["add", "notes"], "\n");
    let v1 = head(&work);
    write(&work.join("plugins/notes/NEW.md"), "v2\n", false);
    let v2 = commit_all(&work, "notes v2");
    republish(&work, &bare);
    atk_cli(&py, &env, &url, &["upgrade", "notes"], "");
    env.ok(&["--registry", &url, "add", "-y", "hello", "--set", "HELLO_NAME=Ada"]);
    atk_cli(&py, &env, &url, &["remove", "hello", "--force"], "y\n");

    let ops = operations(&env, &[]);
    let get = |i: usize, k: &str| ops[i][k].as_str().map(str::to_string);
    assert_eq!(ops.len(), 5, "{ops:?}");
    assert_eq!(get(0, "subject").as_deref(), Some("Remove plugin 'hello'"));
    assert_eq!((get(0, "operation").as_deref(), get(0, "directory").as_deref()), (Some("remove"), Some("hello")));
    assert_eq!(ops[0]["recorded"], false);
    assert_eq!(ops[1]["recorded"], true, "atk's own commit");
    assert_eq!((get(2, "operation").as_deref(), get(2, "name").as_deref()), (Some("upgrade"), Some("Notes")));
    assert_eq!((get(2, "from"), get(2, "to")), (Some(v1.clone()), Some(v2.clone())));
    assert_eq!((get(3, "operation").as_deref(), get(3, "directory").as_deref()), (Some("add"), Some("notes")));
    assert_eq!(get(4, "operation").as_deref(), Some("init"));
    let out = env.ok(&["history", "notes"]);
    assert!(out.contains(&format!("upgrade notes  {} → {}  [from the subject]", &v1[..12], &v2[..12])), "{out}");
}
