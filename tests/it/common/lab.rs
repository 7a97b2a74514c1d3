//! The lab of the tests of pinning what runs (issue 20): a home, the package registries on
//! 127.0.0.1 (`registries`), and stub launchers (`npx`, `uvx`, `uv`, `pipx`, `docker`) first on
//! PATH that record what atk runs. Every atk run points npm, uv, pip and docker at the test
//! registries or at empty settings: nothing reaches the internet or the user's configuration.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::registries::Registries;
use super::*;

/// A home, the registries, and a folder of stub launchers first on PATH.
pub struct Lab {
    pub env: Env,
    pub reg: Registries,
    pub bin: PathBuf,
    /// Variables set on every run after the registries' own (a registry URL with credentials).
    pub vars: Vec<(String, String)>,
}

/// A stub launcher: appends to `$STUB_LOG` its name, each argument on a line of its own, then
/// `COMPOSE_FILE=…`, and exits 0.
pub const STUB: &str = "#!/bin/sh\n{ echo \"$(basename \"$0\")\"; for a in \"$@\"; do echo \"$a\"; done; echo \"COMPOSE_FILE=$COMPOSE_FILE\"; } >> \"$STUB_LOG\"\nexit 0\n";

impl Lab {
    pub fn new() -> Lab {
        let env = Env::new();
        let reg = Registries::start(&env.path("registries"));
        let bin = env.path("bin");
        for program in ["npx", "uvx", "uv", "pipx", "docker"] {
            write(&bin.join(program), STUB, true);
        }
        write(&env.path("npmrc-empty"), "", false);
        std::fs::create_dir_all(env.path("docker-config")).unwrap();
        Lab { env, reg, bin, vars: vec![] }
    }

    pub fn argv_path(&self) -> PathBuf {
        self.env.path("argv")
    }

    /// What the stubs recorded so far (and forget it).
    pub fn take_argv(&self) -> String {
        let text = std::fs::read_to_string(self.argv_path()).unwrap_or_default();
        let _ = std::fs::remove_file(self.argv_path());
        text
    }

    pub fn cmd(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::from_std(self.std_cmd());
        c.timeout(Duration::from_secs(RUN_TIMEOUT));
        c
    }

    /// atk with the registries' variables, an empty `.npmrc`, an empty docker config and the stubs
    /// first on PATH; no inherited npm, uv, pip, proxy or compose setting.
    pub fn std_cmd(&self) -> Command {
        let mut c = self.env.std_cmd();
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy().to_string();
            let lower = k.to_ascii_lowercase();
            if lower.starts_with("npm_config_")
                || lower.starts_with("uv_")
                || lower.starts_with("pip_")
                || lower.ends_with("_proxy")
                || lower.starts_with("compose_")
                || k == "DOCKER_HOST"
            {
                c.env_remove(&k);
            }
        }
        c.envs(self.reg.client_env())
            .env("NPM_CONFIG_USERCONFIG", self.env.path("npmrc-empty"))
            .env("DOCKER_CONFIG", self.env.path("docker-config"))
            .env("PATH", path_with(&self.bin))
            .env("STUB_LOG", self.argv_path())
            .envs(self.vars.iter().map(|(k, v)| (k, v)));
        c
    }

    /// Runs atk (stdin empty), asserts exit `code`; (stdout, stderr).
    pub fn run(&self, code: i32, args: &[&str]) -> (String, String) {
        let out = self.cmd().args(args).write_stdin("").output().unwrap();
        let (o, e) = texts(&out);
        assert_eq!(out.status.code(), Some(code), "atk {args:?}\nstdout:\n{o}\nstderr:\n{e}");
        (o, e)
    }

    pub fn ok(&self, args: &[&str]) -> (String, String) {
        self.run(0, args)
    }

    /// A plugin `name` whose stdio MCP server is `command args…`.
    pub fn server(&self, name: &str, command: &str, args: &[&str]) -> PathBuf {
        self.env.plugin(&format!("src/{name}"), &yaml(name, &mcp(command, args)), &[])
    }

    pub fn add(&self, dir: &Path) -> (String, String) {
        self.ok(&["add", dir.to_str().unwrap(), "-y"])
    }

    /// The `lock` list of the manifest entry of `directory` (empty when it has none).
    pub fn lock(&self, directory: &str) -> Vec<yaml_serde::Value> {
        let m: yaml_serde::Value = yaml_serde::from_str(&self.env.manifest()).unwrap();
        let entry = m["plugins"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|e| e["directory"].as_str() == Some(directory))
            .unwrap_or_else(|| panic!("no manifest entry {directory}:\n{}", self.env.manifest()))
            .clone();
        entry.get("lock").and_then(|l| l.as_sequence()).cloned().unwrap_or_default()
    }

    /// The one pin of `directory`'s lock whose spec is `spec`.
    pub fn pin(&self, directory: &str, spec: &str) -> yaml_serde::Value {
        let lock = self.lock(directory);
        let pins: Vec<_> = lock.iter().filter(|p| p["spec"].as_str() == Some(spec)).collect();
        assert_eq!(pins.len(), 1, "one pin of {spec} in {directory}'s lock:\n{}", self.env.manifest());
        pins[0].clone()
    }

    /// The version (or commit, or digest) `directory`'s lock holds for `spec`; None: no pin.
    pub fn locked(&self, directory: &str, spec: &str) -> Option<String> {
        let lock = self.lock(directory);
        let pin = lock.iter().find(|p| p["spec"].as_str() == Some(spec))?;
        ["version", "commit", "digest"].iter().find_map(|k| pin.get(*k).and_then(|v| v.as_str()).map(String::from))
    }

    /// `atk exec <directory>`: exit 0; (what the stub recorded, stderr).
    pub fn exec(&self, directory: &str) -> (String, String) {
        let (_, e) = self.ok(&["exec", directory]);
        (self.take_argv(), e)
    }

    /// Replaces `from` by `to` in manifest.yaml (once at least) and commits it, as a hand edit.
    pub fn edit_manifest(&self, from: &str, to: &str) {
        let text = self.env.manifest();
        assert!(text.contains(from), "no {from:?} in:\n{text}");
        write(&self.env.atk_home.join("manifest.yaml"), &text.replace(from, to), false);
        self.env.git(&["commit", "-qam", "a hand edit"]);
    }
}

/// The body of a stdio MCP server `command args…`.
pub fn mcp(command: &str, args: &[&str]) -> String {
    let args: Vec<String> = args.iter().map(|a| serde_json::to_string(a).unwrap()).collect();
    format!("mcp:\n  transport: stdio\n  command: {command}\n  args: [{}]\n", args.join(", "))
}

/// A git repository whose `.atk/` is the plugin `echo`, run with `npx -y @t/echo`: (work tree,
/// `file://` URL).
pub fn echo_source(env: &Env) -> (PathBuf, String) {
    let work = env.path("echo-work");
    write(&work.join(".atk/plugin.yaml"), &yaml("echo", &mcp("npx", &["-y", "@t/echo"])), false);
    write(&work.join(".atk/README.md"), "# echo\n", false);
    write(&work.join(".atk/NOTES.md"), "v1\n", false);
    git(env.dir.path(), &["init", "-q", "-b", "main", work.to_str().unwrap()]);
    super::sources::commit_all(&work, "echo v1");
    let url = format!("file://{}", work.display());
    (work, url)
}

/// The argv a stub recorded: program and arguments, one a line, then `COMPOSE_FILE=`.
pub fn argv(words: &[&str]) -> String {
    format!("{}\nCOMPOSE_FILE=\n", words.join("\n"))
}
