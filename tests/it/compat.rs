//! Switching both ways between atk and the Python CLI (atk-cli 0.4.0, from the test venv) on one
//! home and one registry: a home atk made is used by the Python CLI, one the Python CLI made is
//! used by atk, and a secret with every hostile character survives both.
//!
//! The registry is a local git repository served over `file://`; the Python CLI's registry URL is
//! a module constant, which a small wrapper points at it before calling the CLI's entry point.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::servers::{publish, republish};
use crate::common::sources::{commit_all, head};
use crate::common::*;

/// The secret atk writes: every character that breaks naive quoting.
const HOSTILE_SECRET: &str =
    " pa$$w0rd it's \"quoted\" C:\\Users\\me\\ #x ${HOME} $x = tab\there\nsecond line ünï ✓ {\"json\": [1]} ";

/// The secret the Python CLI writes: its writer quotes only values with a space and escapes
/// nothing, so only a value without spaces survives even its own reading; this one still has
/// `$$`, both quotes, backslashes, `#`, `=` and `$x`.
const PYTHON_SECRET: &str = "pa$$w0rd'it's\"q\"\\C:\\Users\\me#x=y$x";

struct Python {
    py: PathBuf,
    registry: String,
}

impl Python {
    fn cmd(&self, env: &Env, args: &[&str]) -> Command {
        crate::common::python::atk_cli_command(&self.py, env, &self.registry, args)
    }

    /// Runs the Python CLI, answering its prompts with `stdin`; asserts exit 0, returns its output.
    fn ok(&self, env: &Env, args: &[&str], stdin: &str) -> String {
        use std::io::Write;
        let mut child =
            self.cmd(env, args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let out = wait_with_timeout(child, 120);
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "atk-cli {args:?} failed ({:?}):\n{text}", out.status.code());
        text
    }
}

/// A registry of two plugins: `plain` (no variables) and `greet`, whose install writes its secret
/// to `runtime/secret.txt` so a test sees what reached it.
fn registry(env: &Env) -> (PathBuf, PathBuf, String) {
    let work = env.path("compat-registry");
    write(
        &work.join("plugins/plain/plugin.yaml"),
        "schema_version: \"2026-01-23\"\nname: plain\ndescription: A plugin without variables\nmaturity: verified\n\
         lifecycle:\n  install: ./install.sh\n  uninstall: \"true\"\n",
        false,
    );
    write(
        &work.join("plugins/plain/install.sh"),
        "#!/bin/sh\ncd \"$(dirname \"$0\")\"\nmkdir -p runtime\ncp VERSION runtime/installed\n",
        true,
    );
    write(&work.join("plugins/plain/VERSION"), "1\n", false);
    write(
        &work.join("plugins/greet/plugin.yaml"),
        "schema_version: \"2026-01-23\"\nname: greet\ndescription: A plugin with a secret\nmaturity: verified\n\
         env_vars:\n  - name: GREET_SECRET\n    secret: true\n    description: The secret\n\
         lifecycle:\n  install: ./install.sh\n  uninstall: \"true\"\n",
        false,
    );
    write(
        &work.join("plugins/greet/install.sh"),
        "#!/bin/sh\ncd \"$(dirname \"$0\")\"\nmkdir -p runtime\nprintf %s \"$GREET_SECRET\" > runtime/secret.txt\n",
        true,
    );
    write(
        &work.join("index.yaml"),
        "schema_version: '2026-01-23'\nplugins:\n- name: greet\n  path: plugins/greet\n  description: A plugin with a secret\n\
         - name: plain\n  path: plugins/plain\n  description: A plugin without variables\n",
        false,
    );
    git(env.dir.path(), &["init", "-q", "-b", "main", work.to_str().unwrap()]);
    commit_all(&work, "registry");
    let root = env.path("compat-served");
    std::fs::create_dir_all(&root).unwrap();
    let bare = publish(&work, &root, "registry.git", true);
    let url = format!("file://{}", bare.display());
    (work, bare, url)
}

/// The registry moves on: `plain` gets version 2.
fn release_plain_v2(work: &Path, bare: &Path) -> String {
    write(&work.join("plugins/plain/VERSION"), "2\n", false);
    let c = commit_all(work, "plain v2");
    republish(work, bare);
    c
}

fn python(test: &str) -> PathBuf {
    crate::common::python::python(test, &["atk.cli", "dotenv"])
}

fn pin(env: &Env, dir: &str) -> String {
    std::fs::read_to_string(env.atk_home.join(format!("plugins/{dir}/.atk-ref"))).unwrap().trim().to_string()
}

fn secret_seen_by_install(env: &Env) -> String {
    std::fs::read_to_string(env.atk_home.join("plugins/greet/runtime/secret.txt")).unwrap()
}

#[test]
#[ignore = "needs the Python test venv (target/pyvenv or ATK_TEST_PYTHON; .ci/run makes it)"]
fn a_home_made_by_atk_works_with_atk_cli_0_4_0() {
    let py = python("a_home_made_by_atk_works_with_atk_cli_0_4_0");
    let env = Env::new();
    let (work, bare, url) = registry(&env);
    let cli = Python { py, registry: url.clone() };
    let v1 = head(&work);
    env.ok(&["--registry", &url, "add", "-y", "plain"]);
    env.ok(&["--registry", &url, "add", "-y", "greet", "--set", &format!("GREET_SECRET={HOSTILE_SECRET}")]);
    env.ok(&["add", "-y", env.fixture("minimal").to_str().unwrap()]);
    assert_eq!(secret_seen_by_install(&env), HOSTILE_SECRET);

    // status reads the manifest and every plugin.
    let status = cli.ok(&env, &["status"], "");
    for name in ["plain", "greet", "Minimal"] {
        assert!(status.contains(name), "{name} missing in\n{status}");
    }
    // doctor finds nothing to change: the .gitignore is already 0.4.0's.
    let before = env.snapshot();
    let doctor = cli.ok(&env, &["doctor"], "");
    assert!(doctor.contains("already keeps secrets last"), "{doctor}");
    assert_eq!(env.snapshot(), before, "doctor changed nothing");
    // The secret atk wrote reaches atk-cli's lifecycle commands unchanged.
    std::fs::remove_file(env.atk_home.join("plugins/greet/runtime/secret.txt")).unwrap();
    cli.ok(&env, &["install", "greet"], "");
    assert_eq!(secret_seen_by_install(&env), HOSTILE_SECRET);

    // A fresh clone: atk-cli fetches every remote plugin at its pin.
    let laptop = clone_home(&env);
    cli.ok(&laptop, &["install", "--all"], "\n\n\n");
    for dir in ["plain", "greet"] {
        assert_eq!(pin(&laptop, dir), v1, "{dir}");
    }
    assert_eq!(std::fs::read_to_string(laptop.atk_home.join("plugins/plain/runtime/installed")).unwrap(), "1\n");
    assert!(laptop.atk_home.join("plugins/minimal/plugin.yaml").is_file());

    // atk-cli upgrades what atk pinned, and atk reads what it wrote.
    let v2 = release_plain_v2(&work, &bare);
    cli.ok(&env, &["upgrade", "plain"], "");
    assert_eq!(pin(&env, "plain"), v2);
    assert!(env.manifest().contains(&v2), "{}", env.manifest());
    let list = env.ok(&["list"]);
    assert!(list.contains("plain") && list.contains("greet") && list.contains("Minimal"), "{list}");
    env.ok(&["--registry", &url, "install", "--all", "--frozen"]);

    // atk-cli removes one; atk agrees and the home is clean.
    cli.ok(&env, &["remove", "plain", "--force"], "");
    let list = env.ok(&["list", "--json"]);
    assert!(!list.contains("\"plain\"") && list.contains("\"greet\""), "{list}");
    assert_eq!(env.git(&["status", "--porcelain"]), "");
    assert_eq!(atk::home::gitignore::normalize(&env.gitignore()), env.gitignore());
}

#[test]
#[ignore = "needs the Python test venv (target/pyvenv or ATK_TEST_PYTHON; .ci/run makes it)"]
fn a_home_made_by_atk_cli_0_4_0_works_with_atk() {
    let py = python("a_home_made_by_atk_cli_0_4_0_works_with_atk");
    let env = Env::bare();
    let (work, bare, url) = registry(&env);
    let cli = Python { py, registry: url.clone() };
    let v1 = head(&work);
    cli.ok(&env, &["init"], "");
    // atk finds nothing to change in the .gitignore atk-cli wrote.
    assert_eq!(atk::home::gitignore::normalize(&env.gitignore()), env.gitignore());
    cli.ok(&env, &["add", "plain"], "");
    cli.ok(&env, &["add", "greet"], &format!("{PYTHON_SECRET}\n"));
    cli.ok(&env, &["add", env.fixture("minimal").to_str().unwrap()], "");
    assert_eq!(secret_seen_by_install(&env), PYTHON_SECRET, "atk-cli's own round trip");
    assert_eq!(atk::home::gitignore::normalize(&env.gitignore()), env.gitignore());

    let list = env.ok(&["list"]);
    for name in ["plain", "greet", "Minimal"] {
        assert!(list.contains(name), "{name} missing in\n{list}");
    }
    // The secret atk-cli wrote reaches atk's lifecycle commands unchanged...
    std::fs::remove_file(env.atk_home.join("plugins/greet/runtime/secret.txt")).unwrap();
    env.ok(&["--registry", &url, "install", "greet"]);
    assert_eq!(secret_seen_by_install(&env), PYTHON_SECRET);
    // ...and the one atk writes over it reaches atk-cli's.
    env.ok(&["setup", "greet", "--set", &format!("GREET_SECRET={HOSTILE_SECRET}")]);
    std::fs::remove_file(env.atk_home.join("plugins/greet/runtime/secret.txt")).unwrap();
    cli.ok(&env, &["install", "greet"], "");
    assert_eq!(secret_seen_by_install(&env), HOSTILE_SECRET);

    // A fresh clone: atk fetches every remote plugin at the pin atk-cli recorded.
    let laptop = clone_home(&env);
    laptop.ok(&["--registry", &url, "install", "--all"]);
    for dir in ["plain", "greet"] {
        assert_eq!(pin(&laptop, dir), v1, "{dir}");
    }
    assert_eq!(std::fs::read_to_string(laptop.atk_home.join("plugins/plain/runtime/installed")).unwrap(), "1\n");
    assert_eq!(laptop.git(&["status", "--porcelain"]), "");

    // atk upgrades and removes; atk-cli reads the result.
    let v2 = release_plain_v2(&work, &bare);
    env.ok(&["--registry", &url, "upgrade", "plain", "--yes"]);
    assert_eq!(pin(&env, "plain"), v2);
    env.ok(&["remove", "plain", "--yes"]);
    env.ok(&["remove", "minimal", "--yes"]);
    assert_eq!(atk::home::gitignore::normalize(&env.gitignore()), env.gitignore());
    assert!(!env.gitignore().contains("minimal"), "{}", env.gitignore());
    let status = cli.ok(&env, &["status"], "");
    assert!(status.contains("greet") && !status.contains("plain"), "{status}");
    let before = env.snapshot();
    let doctor = cli.ok(&env, &["doctor"], "");
    assert!(doctor.contains("already keeps secrets last"), "{doctor}");
    assert_eq!(env.snapshot(), before);
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}
