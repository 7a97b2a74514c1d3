//! Coding agents for the tests: stub programs on PATH that record how atk calls them.

use std::path::PathBuf;

use super::*;

pub const CLI_AGENTS: [&str; 4] = ["claude", "codex", "gemini", "auggie"];

/// Stub agent programs in a folder of their own: each appends its name and argv to `log`
/// (NUL between words, RS after a call), and fails with a message when `fail-<name>` exists.
pub struct Stubs {
    pub bin: PathBuf,
    pub log: PathBuf,
}

impl Stubs {
    pub fn new(env: &Env, names: &[&str]) -> Stubs {
        let bin = env.path("stub-bin");
        let log = env.path("stub-calls");
        for name in names {
            let script = format!(
                "#!/bin/sh\nprintf '%s\\0' {name} \"$@\" >> '{log}'\nprintf '\\036' >> '{log}'\n\
                 if [ -e '{bin}/fail-{name}' ]; then cat '{bin}/fail-{name}' >&2; exit 3; fi\n\
                 if [ -e '{bin}/once-{name}' ]; then cat '{bin}/once-{name}' >&2; rm '{bin}/once-{name}'; exit 1; fi\n\
                 exec python3 '{fake}' {name} \"$@\"\n",
                log = log.display(),
                bin = bin.display(),
                fake = fake_agent().display(),
            );
            write(&bin.join(name), &script, true);
        }
        Stubs { bin, log }
    }

    /// Every call so far, each as [program, args...].
    pub fn calls(&self) -> Vec<Vec<String>> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.split('\u{1e}')
            .filter(|c| !c.is_empty())
            .map(|c| c.trim_end_matches('\0').split('\0').map(String::from).collect())
            .collect()
    }

    pub fn clear(&self) {
        let _ = std::fs::remove_file(&self.log);
    }

    pub fn fail(&self, name: &str, message: &str) {
        write(&self.bin.join(format!("fail-{name}")), message, false);
    }

    /// The next call of `name` fails with `message`.
    pub fn fail_once(&self, name: &str, message: &str) {
        write(&self.bin.join(format!("once-{name}")), message, false);
    }

    /// The user adds a server with the agent's own program (`argv[0]` is the agent): run as they
    /// would, with their HOME and the agents' default locations.
    pub fn user_runs(&self, env: &Env, argv: &[&str]) {
        let mut user = std::process::Command::new(self.bin.join(argv[0]));
        user.args(&argv[1..])
            .env("HOME", &env.home)
            .env_remove("CODEX_HOME")
            .env_remove("CLAUDE_CONFIG_DIR")
            .env_remove("GEMINI_CLI_HOME");
        // The stub was just written: a test thread that forks meanwhile holds its write handle
        // until it execs, and the kernel refuses to run a file open for writing (ETXTBSY).
        let status = (0..100)
            .find_map(|_| match user.status() {
                Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                    None
                }
                other => Some(other.unwrap()),
            })
            .expect("the stub stays busy for a second");
        assert!(status.success(), "{argv:?}");
    }

    pub fn path_var(&self) -> String {
        path_with(&self.bin)
    }
}

/// The stand-in for the agents' MCP commands: it keeps servers where and as the real programs
/// keep them (tests/support/fake_agent.py).
pub fn fake_agent() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/fake_agent.py")
}

/// `atk` with the stubs first on PATH.
pub fn atk(env: &Env, stubs: &Stubs) -> assert_cmd::Command {
    let mut c = env.cmd();
    c.env("PATH", stubs.path_var());
    c
}

pub fn run_ok(env: &Env, stubs: &Stubs, args: &[&str]) -> (String, String) {
    let out = atk(env, stubs).args(args).output().unwrap();
    let (o, e) = (String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string());
    assert!(out.status.success(), "atk {args:?}: {:?}\n{o}\n{e}", out.status.code());
    (o, e)
}

pub fn run_code(env: &Env, stubs: &Stubs, code: i32, args: &[&str]) -> (String, String) {
    let out = atk(env, stubs).args(args).output().unwrap();
    let (o, e) = (String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string());
    assert_eq!(out.status.code(), Some(code), "atk {args:?}\n{o}\n{e}");
    (o, e)
}

/// Adds a local plugin `dir` (folder name) with `yaml` after the common header, and a SKILL.md
/// when `skill`; returns the plugin's absolute folder in the home.
pub fn add_plugin(env: &Env, name: &str, body: &str, skill: bool, sets: &[&str]) -> PathBuf {
    let mut files = vec![("mcp.sh", "#!/bin/sh\n", true)];
    if skill {
        files.push(("SKILL.md", "# How to use it\n", false));
    }
    let src = env.plugin(&format!("src-{}", name.replace(' ', "-")), &yaml(name, body), &files);
    let mut args = vec!["add", src.to_str().unwrap(), "-y"];
    for s in sets {
        args.extend(["--set", s]);
    }
    env.ok(&args);
    let directory = name.to_lowercase().replace(' ', "-");
    std::fs::canonicalize(env.atk_home.join("plugins").join(directory)).unwrap()
}

/// The program agents are given to start a plugin's server: this atk as it was invoked (the tests
/// run it by an absolute path), links kept.
pub fn atk_path() -> String {
    std::path::absolute(bin()).unwrap().display().to_string()
}

/// The words after the program in the entry agents are given for the plugin in `directory`:
/// `exec`, `--home` and the home as the user names it (`ATK_HOME`: absolute, links kept; always
/// named, the default home too), the directory.
pub fn exec_args(env: &Env, directory: &str) -> Vec<String> {
    exec_args_for(&env.atk_home, directory)
}

/// [`exec_args`] for the home named `home`.
pub fn exec_args_for(home: &std::path::Path, directory: &str) -> Vec<String> {
    let home = std::path::absolute(home).unwrap().display().to_string();
    vec!["exec".to_string(), "--home".to_string(), home, directory.to_string()]
}

/// [`atk_path`] followed by [`exec_args`].
pub fn exec_words(env: &Env, directory: &str) -> Vec<String> {
    let mut words = vec![atk_path()];
    words.extend(exec_args(env, directory));
    words
}

/// Runs the server entry an agent holds (`command` and its `args`) as an agent starts it: in an
/// environment of its own with only `HOME`, a plain `PATH` and `extra`.
pub fn served(env: &Env, command: &str, args: &[String], extra: &[(&str, &str)]) -> std::process::Output {
    let mut c = std::process::Command::new(command);
    c.args(args).env_clear().env("HOME", &env.home).env("PATH", "/usr/bin:/bin");
    c.envs(extra.iter().copied());
    c.output().unwrap()
}

/// Every file under HOME outside the ATK Home (where the agents keep their settings) that holds
/// one of `secrets`, with the secret it holds.
pub fn secrets_outside_the_home(env: &Env, secrets: &[&str]) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (path, (_, bytes)) in tree(&env.home) {
        if path == ".atk" || path.starts_with(".atk/") {
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        found.extend(secrets.iter().filter(|s| text.contains(**s)).map(|s| (path.clone(), s.to_string())));
    }
    found
}
