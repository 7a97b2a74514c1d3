//! The Python side of the differential tests: python-dotenv, PyYAML and atk-cli 0.4.0 in the venv
//! `.ci/run` makes (`ATK_TEST_PYTHON`, else `target/pyvenv/bin/python`). The tests that need it are
//! `#[ignore]`d, so that `cargo test --locked` reports them as ignored where there is no venv;
//! `.ci/run` makes the venv and runs them (`-- --ignored`). Run without the venv, they fail.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The venv's interpreter, which must import every module of `modules`: the test fails, saying how
/// to make the venv, when it cannot.
pub fn python(test: &str, modules: &[&str]) -> PathBuf {
    let py = std::env::var_os("ATK_TEST_PYTHON")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pyvenv/bin/python"));
    let imports = modules.iter().map(|m| format!("import {m}")).collect::<Vec<_>>().join("; ");
    let works = Command::new(&py)
        .args(["-c", &imports])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        works,
        "{test}: {} cannot import {}; run .ci/run (or set ATK_TEST_PYTHON) to make the venv",
        py.display(),
        modules.join(", ")
    );
    py
}

/// Runs `script` with `py`, `stdin` on its standard input, and the process environment replaced by
/// `env` (plus PATH); returns stdout, failing the test when the script fails.
pub fn run(py: &Path, script: &str, args: &[&str], env: &[(&str, &str)], stdin: &str) -> String {
    let mut cmd = Command::new(py);
    cmd.arg("-c").arg(script).args(args).env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
    cmd.env("PYTHONIOENCODING", "utf-8").env("PYTHONUTF8", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = crate::common::wait_with_timeout(child, crate::common::RUN_TIMEOUT);
    assert!(
        out.status.success(),
        "python failed ({:?}):\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Sets atk-cli's registry to argv[1] (and its update check to never ask PyPI), then runs it with
/// the rest of the arguments. Answers to its prompts come from stdin.
pub const ATK_CLI: &str = "
import sys
import atk.registry
atk.registry.REGISTRY_URL = sys.argv[1]
import atk.update_check
atk.update_check.PyPIVersionSource.fetch_latest = lambda self, package: None
from atk.cli import main_cli
sys.argv = ['atk'] + sys.argv[2:]
main_cli()
";

/// atk-cli 0.4.0 (with `py`) on `env`'s home and user folder, its registry at `registry`: a
/// clean environment but PATH, a wide terminal, no color, UTF-8.
pub fn atk_cli_command(py: &Path, env: &crate::common::Env, registry: &str, args: &[&str]) -> Command {
    let mut c = Command::new(py);
    c.arg("-c").arg(ATK_CLI).arg(registry).args(args).env_clear();
    c.env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &env.home)
        .env("ATK_HOME", &env.atk_home)
        .env("XDG_CONFIG_HOME", env.home.join(".config"))
        .env("GIT_CONFIG_GLOBAL", env.home.join(".gitconfig"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("COLUMNS", "200")
        .env("NO_COLOR", "1")
        .env("PYTHONIOENCODING", "utf-8")
        .current_dir(env.dir.path());
    c
}
