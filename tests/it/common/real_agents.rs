//! The real coding-agent programs (Claude Code, Codex, Gemini CLI, Auggie, OpenCode), installed
//! from npm at pinned versions by `.ci/agents.sh` (`ATK_TEST_AGENTS_BIN`, else
//! `target/agents/node_modules/.bin`), and a real MCP server for them to start
//! (`tests/fixtures/mcp_env_server.py`, the `mcp` package of the venv `.ci/run` makes), which writes
//! a digest of the environment and arguments it got.
//!
//! Every program runs in the test's sandbox: its HOME, the XDG folders under it, a PATH with the
//! agents first, and nothing else of the caller's environment (no `CLAUDE_CONFIG_DIR`,
//! `CODEX_HOME`, `GEMINI_CLI_HOME`, API keys or proxies). The tests are `#[ignore]`d (reported as
//! ignored by `cargo test --locked`); `.ci/run` installs the programs and runs them
//! (`-- --ignored`). Run without the programs, they fail.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::*;

/// The programs, as atk names them on its command line (`--claude`, …) and as they are on PATH.
pub const AGENTS: [&str; 5] = ["claude", "codex", "gemini", "auggie", "opencode"];

/// How long one run of an agent's program may take, in seconds (`claude mcp list` waits 30 s for a
/// server that never answers, `opencode mcp list` 33 s): past it the test fails.
pub const AGENT_BOUND: u64 = 90;

/// Values that agents (or a shell, or a config's own substitution) tend to change on the way to a
/// server: `$word`, `${HOME}`, base64 padding, quotes, a backslash, `#`, spaces, command
/// substitution, OpenCode's `{env:…}`, non-ASCII. Each must reach the server byte for byte.
pub const TRICKY: [&str; 10] = [
    "pa$word",
    "${HOME}/x",
    "YWJjZA==",
    "it's \"quoted\"",
    "back\\slash",
    "a #hash",
    "with spaces inside",
    "$(id) `id`",
    "{env:HOME}",
    "ünïcødé ✓",
];

/// The agent programs and the venv's Python (with `mcp`) for one test.
pub struct RealAgents {
    pub bin: PathBuf,
    pub python: PathBuf,
}

impl RealAgents {
    /// The programs and the Python; the test fails, saying how to install them, when either is
    /// missing.
    pub fn find(test: &str) -> RealAgents {
        let bin = std::env::var_os("ATK_TEST_AGENTS_BIN")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/agents/node_modules/.bin"));
        let missing: Vec<&str> = AGENTS.iter().copied().filter(|a| !is_executable(&bin.join(a))).collect();
        assert!(
            missing.is_empty(),
            "{test}: {} has no {}; run .ci/run (or .ci/agents.sh, or set ATK_TEST_AGENTS_BIN) to install the agent programs",
            bin.display(),
            missing.join(", ")
        );
        let python = python::python(test, &["mcp"]);
        RealAgents { bin, python }
    }

    /// The agent's program.
    pub fn program(&self, agent: &str) -> PathBuf {
        self.bin.join(agent)
    }

    /// `program` in the sandbox of `env`: its HOME and XDG folders, the agents first on PATH, no
    /// other variable of the caller's; run from the test's folder, stdin empty.
    pub fn sandboxed(&self, env: &Env, program: &Path) -> Command {
        let mut c = Command::new(program);
        c.env_clear();
        for (k, v) in self.sandbox_vars(env) {
            c.env(k, v);
        }
        c.current_dir(env.dir.path()).stdin(Stdio::null());
        c
    }

    /// The variables of the sandbox of `env` (what [`RealAgents::sandboxed`] sets).
    pub fn sandbox_vars(&self, env: &Env) -> Vec<(String, String)> {
        let home = env.home.display().to_string();
        let mut vars: Vec<(String, String)> = vec![
            ("HOME".into(), home.clone()),
            ("PATH".into(), path_with(&self.bin)),
            ("LANG".into(), "C.UTF-8".into()),
            ("TERM".into(), "dumb".into()),
            ("SHELL".into(), "/bin/sh".into()),
            ("TMPDIR".into(), std::env::temp_dir().display().to_string()),
            ("XDG_CONFIG_HOME".into(), format!("{home}/.config")),
            ("XDG_DATA_HOME".into(), format!("{home}/.local/share")),
            ("XDG_STATE_HOME".into(), format!("{home}/.local/state")),
            ("XDG_CACHE_HOME".into(), format!("{home}/.cache")),
            ("NO_COLOR".into(), "1".into()),
            // Gemini starts (and lists as connected) stdio servers only in a trusted folder.
            ("GEMINI_CLI_TRUST_WORKSPACE".into(), "true".into()),
            // Nothing that would reach out: updates, telemetry, model lists, plugin downloads.
            ("DISABLE_AUTOUPDATER".into(), "1".into()),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC".into(), "1".into()),
            ("AUGMENT_DISABLE_AUTO_UPDATE".into(), "1".into()),
            ("OPENCODE_DISABLE_AUTOUPDATE".into(), "1".into()),
            ("OPENCODE_DISABLE_MODELS_FETCH".into(), "1".into()),
            ("OPENCODE_DISABLE_LSP_DOWNLOAD".into(), "1".into()),
            ("OPENCODE_DISABLE_DEFAULT_PLUGINS".into(), "1".into()),
        ];
        for k in ["USER", "LOGNAME"] {
            if let Ok(v) = std::env::var(k) {
                vars.push((k.into(), v));
            }
        }
        vars
    }

    /// The agent's program in the sandbox of `env`.
    pub fn agent(&self, env: &Env, agent: &str) -> Command {
        self.sandboxed(env, &self.program(agent))
    }

    /// Runs the agent's program with `args`, bounded by [`AGENT_BOUND`].
    pub fn run(&self, env: &Env, agent: &str, args: &[&str]) -> Output {
        let mut c = self.agent(env, agent);
        c.args(args);
        run_timed(c, AGENT_BOUND).0
    }

    /// Runs the agent's program and asserts exit 0; returns stdout and stderr together.
    pub fn run_ok(&self, env: &Env, agent: &str, args: &[&str]) -> String {
        let out = self.run(env, agent, args);
        let text = both(&out);
        assert!(out.status.success(), "{agent} {args:?} failed with {:?}:\n{text}", out.status.code());
        text
    }

    /// The agent's own list of its servers (`mcp list`; `--json` where the program has it), which
    /// for Claude, Gemini and OpenCode starts every server to check that it connects.
    pub fn mcp_list(&self, env: &Env, agent: &str) -> String {
        match agent {
            "codex" | "auggie" => self.run_ok(env, agent, &["mcp", "list", "--json"]),
            _ => self.run_ok(env, agent, &["mcp", "list"]),
        }
    }

    /// The names of the servers the agent itself says it has (from its own program, not its file).
    pub fn listed_names(&self, env: &Env, agent: &str) -> Vec<String> {
        let json = || {
            let out = self.run(env, agent, &["mcp", "list", "--json"]);
            assert!(out.status.success(), "{agent} mcp list --json failed: {}", both(&out));
            json_in(&String::from_utf8_lossy(&out.stdout))
        };
        match agent {
            "codex" => json()
                .as_array()
                .expect("codex mcp list --json gives an array")
                .iter()
                .map(|s| s["name"].as_str().unwrap().to_string())
                .collect(),
            "auggie" => json()["servers"]
                .as_array()
                .expect("auggie mcp list --json gives {servers: [...]}")
                .iter()
                .map(|s| s["name"].as_str().unwrap().to_string())
                .collect(),
            _ => connections(agent, &self.mcp_list(env, agent)).into_keys().collect(),
        }
    }

    /// For the agents whose `mcp list` checks each server (Claude, Gemini, OpenCode): each listed
    /// server's name and whether it connected. Gemini gives a server 5 s to answer, which a loaded
    /// machine can miss (the test server's Python takes about 1 s): a list with a server that did
    /// not connect is taken once more.
    pub fn connected(&self, env: &Env, agent: &str) -> BTreeMap<String, bool> {
        assert!(["claude", "gemini", "opencode"].contains(&agent), "{agent} mcp list does not start servers");
        let first = connections(agent, &self.mcp_list(env, agent));
        if first.values().all(|c| *c) {
            return first;
        }
        connections(agent, &self.mcp_list(env, agent))
    }

    /// atk (the binary under test) in the sandbox of `env`, with the agent programs on its PATH and
    /// the settings of [`Env::apply`] (ATK_HOME, CI, a hermetic git, …).
    pub fn atk(&self, env: &Env) -> Command {
        let mut c = self.sandboxed(env, &bin());
        env.apply(&mut c);
        c
    }

    /// Runs atk with `args` in the sandbox and asserts exit 0; returns stdout and stderr together.
    pub fn atk_ok(&self, env: &Env, args: &[&str]) -> String {
        let mut c = self.atk(env);
        c.args(args);
        let out = run_timed(c, RUN_TIMEOUT).0;
        let text = both(&out);
        assert!(out.status.success(), "atk {args:?} failed with {:?}:\n{text}", out.status.code());
        text
    }

    /// Runs atk with `args` in the sandbox, bounded; its output whatever the exit.
    pub fn atk_run(&self, env: &Env, args: &[&str]) -> Output {
        let mut c = self.atk(env);
        c.args(args);
        run_timed(c, RUN_TIMEOUT).0
    }

    /// Makes the agent start its MCP servers and waits until the one writing `digest` did:
    /// `mcp list` for Claude, Gemini and OpenCode; a session for Codex (`codex exec`, its model on
    /// a closed port of 127.0.0.1, nothing else reached) and Auggie (`auggie --print`, its API a stand-in on 127.0.0.1),
    /// stopped (its whole process group) once the digest is there. Fails the test when the server
    /// was not started within [`AGENT_BOUND`].
    pub fn start_servers(&self, env: &Env, agent: &str, digest: &Path) -> Digest {
        let _ = std::fs::remove_file(digest);
        match agent {
            "claude" | "gemini" | "opencode" => {
                let list = self.mcp_list(env, agent);
                assert!(
                    digest.exists(),
                    "{agent} mcp list did not start the server writing {}:\n{list}",
                    digest.display()
                );
            }
            "codex" => {
                let provider = format!(
                    "model_providers.atk-test={{name=\"atk test\",base_url=\"http://127.0.0.1:{}/v1\",wire_api=\"responses\"}}",
                    free_port()
                );
                let mut c = self.agent(env, agent);
                // No curated-plugin sync from GitHub, no update check: only the model, on 127.0.0.1.
                c.args(["exec", "--skip-git-repo-check", "-c", "features.plugins=false"]).args([
                    "-c",
                    "check_for_update_on_startup=false",
                    "-c",
                    "model_provider=atk-test",
                    "-c",
                    &provider,
                    "hi",
                ]);
                run_until(c, digest, agent);
            }
            "auggie" => {
                let api = StandIn::start(|_| (200, "{}".into()));
                let auth = format!(r#"{{"accessToken":"atk-test","tenantURL":"{}/","scopes":["email"]}}"#, api.url());
                let mut c = self.agent(env, agent);
                c.env("AUGMENT_SESSION_AUTH", auth).args(["--print", "hi"]);
                run_until(c, digest, agent);
            }
            _ => panic!("no agent {agent}"),
        }
        Digest::read(digest)
    }

    /// Runs the agent once on `prompt` (`claude -p`, `gemini -p`, `opencode run`) against a stand-in
    /// of its model API on 127.0.0.1 that answers every request with a 400 (so the program ends at
    /// once), and returns the requests the stand-in got: what the model would have been sent.
    /// Claude: `ANTHROPIC_BASE_URL` and `ANTHROPIC_API_KEY`; Gemini: `GOOGLE_GEMINI_BASE_URL` and
    /// `GEMINI_API_KEY`, with `security.auth.selectedType: gemini-api-key` merged into
    /// `~/.gemini/settings.json` (Gemini has no variable for it); OpenCode: a provider on the
    /// stand-in in `OPENCODE_CONFIG_CONTENT` (merged with its files, which stay as they are).
    pub fn ask(&self, env: &Env, agent: &str, prompt: &str) -> Vec<Request> {
        let api = StandIn::start(|_| {
            (400, r#"{"error":{"type":"invalid_request_error","code":400,"status":"INVALID_ARGUMENT","message":"stand-in"}}"#.into())
        });
        let mut c = self.agent(env, agent);
        match agent {
            "claude" => {
                c.env("ANTHROPIC_BASE_URL", api.url()).env("ANTHROPIC_API_KEY", "sk-ant-atk-test").args(["-p", prompt]);
            }
            "gemini" => {
                let file = config_file(env, agent);
                let mut doc: serde_json::Value = std::fs::read_to_string(&file)
                    .ok()
                    .map(|t| serde_json::from_str(&t).unwrap())
                    .unwrap_or_else(|| serde_json::json!({}));
                doc["security"]["auth"]["selectedType"] = serde_json::json!("gemini-api-key");
                write(&file, &serde_json::to_string_pretty(&doc).unwrap(), false);
                c.env("GOOGLE_GEMINI_BASE_URL", api.url()).env("GEMINI_API_KEY", "atk-test").args(["-p", prompt]);
            }
            "opencode" => {
                let config = serde_json::json!({
                    "model": "atk-test/m1",
                    "provider": {"atk-test": {
                        "npm": "@ai-sdk/openai-compatible",
                        "options": {"baseURL": format!("{}/v1", api.url()), "apiKey": "atk-test"},
                        "models": {"m1": {}}
                    }}
                });
                c.env("OPENCODE_CONFIG_CONTENT", config.to_string()).args(["run", prompt]);
            }
            _ => panic!("{agent}: no stand-in for its model API"),
        }
        let (out, _) = run_timed(c, AGENT_BOUND);
        let requests = api.requests();
        assert!(!requests.is_empty(), "{agent} sent the stand-in nothing:\n{}", both(&out));
        requests
    }

    /// The SHA-256 (hex) of `value`'s bytes, as the server's digest writes it.
    pub fn sha256(&self, value: &[u8]) -> String {
        let mut child = Command::new(&self.python)
            .args(["-c", "import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(value).unwrap();
        let out = wait_with_timeout(child, RUN_TIMEOUT);
        assert!(out.status.success(), "python hashlib failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// Whether the server that wrote `digest` got `name` with exactly `value`.
    pub fn received(&self, digest: &Digest, name: &str, value: &str) -> bool {
        digest.env.get(name).is_some_and(|h| *h == self.sha256(value.as_bytes()))
    }

    /// Adds (with `sets`, `KEY=value`) a local plugin named `name` whose stdio server is the env
    /// digest server (run by the venv's Python, from the plugin's folder), writing its digest to
    /// the returned path; `body` is YAML placed before its `mcp` section (its `env_vars`, say),
    /// `env_names` the variables the server gets (`mcp.env`), `files` more files of the plugin
    /// (`(path, content)`: a `SKILL.md`, say).
    pub fn add_env_server_plugin(
        &self,
        env: &Env,
        name: &str,
        body: &str,
        env_names: &[&str],
        sets: &[&str],
        files: &[(&str, &str)],
    ) -> PathBuf {
        let digest = env.path(&format!("digest-{}.json", name.replace(' ', "-")));
        let server = std::fs::read_to_string(env_server_script()).unwrap();
        let mcp = format!(
            "mcp:\n  transport: stdio\n  command: {}\n  args: [\"$ATK_PLUGIN_DIR/mcp_env_server.py\", {}]\n  env: [{}]\n",
            serde_json::to_string(&self.python.display().to_string()).unwrap(),
            serde_json::to_string(&digest.display().to_string()).unwrap(),
            env_names.join(", ")
        );
        let src = env.plugin(
            &format!("src-{}", name.replace(' ', "-")),
            &yaml(name, &format!("{body}{mcp}")),
            &std::iter::once(("mcp_env_server.py", server.as_str(), false))
                .chain(files.iter().map(|(p, c)| (*p, *c, false)))
                .collect::<Vec<_>>(),
        );
        let mut args = vec!["add", src.to_str().unwrap(), "-y"];
        for s in sets {
            args.extend(["--set", s]);
        }
        self.atk_ok(env, &args);
        digest
    }
}

/// The env digest MCP server: `python mcp_env_server.py DIGEST_FILE [ARG...]`.
pub fn env_server_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mcp_env_server.py")
}

/// What the agent keeps of its servers, for "as before" comparisons: Claude's `mcpServers` member
/// of `~/.claude.json` (Claude rewrites its other members itself on every run), the whole file for
/// the others (`~/.codex/config.toml`, `~/.gemini/settings.json`, `~/.augment/settings.json`,
/// `~/.config/opencode/opencode.jsonc`); `None` when there is no such file.
pub fn config_state(env: &Env, agent: &str) -> Option<String> {
    let text = std::fs::read_to_string(config_file(env, agent)).ok()?;
    if agent == "claude" {
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        return Some(serde_json::to_string_pretty(&doc["mcpServers"]).unwrap());
    }
    Some(text)
}

/// The file where the agent keeps its user-scope servers (in the sandbox: no CLAUDE_CONFIG_DIR,
/// no CODEX_HOME).
pub fn config_file(env: &Env, agent: &str) -> PathBuf {
    env.home.join(match agent {
        "claude" => ".claude.json",
        "codex" => ".codex/config.toml",
        "gemini" => ".gemini/settings.json",
        "auggie" => ".augment/settings.json",
        "opencode" => ".config/opencode/opencode.jsonc",
        _ => panic!("no agent {agent}"),
    })
}

/// Adds a stdio server `name` running `command args` with the agent's own program (OpenCode has
/// none that does not ask: its file is written as a user would) — a server of the user's.
pub fn user_adds(agents: &RealAgents, env: &Env, agent: &str, name: &str, command: &str, args: &[&str]) {
    let mut argv: Vec<String> = Vec::new();
    let words = |v: &mut Vec<String>, w: &[&str]| v.extend(w.iter().map(|s| s.to_string()));
    match agent {
        "claude" => {
            words(&mut argv, &["mcp", "add", "--scope", "user", "--", name, command]);
            words(&mut argv, args);
        }
        "codex" => {
            words(&mut argv, &["mcp", "add", name, "--", command]);
            words(&mut argv, args);
        }
        "gemini" => {
            words(&mut argv, &["mcp", "add", "--scope", "user", name, command, "--"]);
            words(&mut argv, args);
        }
        "auggie" => {
            let entry = serde_json::json!({"command": command, "args": args});
            words(&mut argv, &["mcp", "add-json", name, &entry.to_string()]);
        }
        "opencode" => {
            let file = config_file(env, agent);
            let mut doc: serde_json::Value = std::fs::read_to_string(&file)
                .ok()
                .map(|t| serde_json::from_str(&t).expect("a plain JSON opencode.jsonc"))
                .unwrap_or_else(|| serde_json::json!({}));
            let mut command_line = vec![command.to_string()];
            command_line.extend(args.iter().map(|a| a.to_string()));
            doc.as_object_mut().unwrap().entry("mcp").or_insert_with(|| serde_json::json!({}))[name] =
                serde_json::json!({"type": "local", "command": command_line, "enabled": true});
            write(&file, &serde_json::to_string_pretty(&doc).unwrap(), false);
            return;
        }
        _ => panic!("no agent {agent}"),
    }
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    agents.run_ok(env, agent, &argv);
}

/// What the env digest server wrote at its last start.
#[derive(Debug)]
pub struct Digest {
    /// Each variable's name and the SHA-256 (hex) of its value's bytes.
    pub env: BTreeMap<String, String>,
    /// Its argv (the script first).
    pub argv: Vec<String>,
    pub cwd: String,
}

impl Digest {
    pub fn read(path: &Path) -> Digest {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("no digest at {}: {e}", path.display()));
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        Digest {
            env: doc["env"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().into())).collect(),
            argv: doc["argv"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect(),
            cwd: doc["cwd"].as_str().unwrap().to_string(),
        }
    }

    /// How many times the server writing `path` was started.
    pub fn starts(path: &Path) -> usize {
        let starts = PathBuf::from(format!("{}.starts", path.display()));
        std::fs::read_to_string(starts).map(|t| t.lines().count()).unwrap_or(0)
    }

    /// The names of the variables the server got.
    pub fn names(&self) -> Vec<&str> {
        self.env.keys().map(String::as_str).collect()
    }
}

/// Every file under `root` (not following links; `skip` folders left out) that holds any spelling
/// ([`encodings`]) of any of `values`: the places a secret ended up.
pub fn files_holding(root: &Path, skip: &[&Path], values: &[&str]) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    let walk = walkdir::WalkDir::new(root).into_iter().filter_entry(|e| !skip.iter().any(|s| e.path() == *s));
    for e in walk.filter_map(|e| e.ok()).filter(|e| e.file_type().is_file()) {
        let bytes = std::fs::read(e.path()).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        for v in values {
            if encodings(v).iter().any(|s| text.contains(s.as_str())) {
                found.push((e.path().to_path_buf(), v.to_string()));
            }
        }
    }
    found
}

/// An HTTP/1.1 stand-in on 127.0.0.1 (for an agent's model or service API): answers every request
/// with what `respond` gives for it (status, JSON body) and keeps every request it got.
pub struct StandIn {
    port: u16,
    pub requests: Arc<Mutex<Vec<Request>>>,
}

/// One request a [`StandIn`] got.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl StandIn {
    pub fn start(respond: fn(&Request) -> (u16, String)) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let kept = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let kept = kept.clone();
                std::thread::spawn(move || serve(stream, respond, kept));
            }
        });
        StandIn { port, requests }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(mut stream: std::net::TcpStream, respond: fn(&Request) -> (u16, String), kept: Arc<Mutex<Vec<Request>>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut buf = Vec::new();
    loop {
        // Requests on one connection, one after another (keep-alive).
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 8192];
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let mut lines = head.split("\r\n");
        let mut first = lines.next().unwrap_or_default().split(' ');
        let (method, path) =
            (first.next().unwrap_or_default().to_string(), first.next().unwrap_or_default().to_string());
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let len: usize =
            headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
        while buf.len() < head_end + len {
            let mut chunk = [0u8; 8192];
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let request = Request { method, path, headers, body: buf[head_end..head_end + len].to_vec() };
        buf.drain(..head_end + len);
        let (status, body) = respond(&request);
        kept.lock().unwrap().push(request);
        let answer = format!(
            "HTTP/1.1 {status} Stand-in\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

/// Runs `c` in a process group of its own until `digest` exists (then the whole group is killed),
/// for at most [`AGENT_BOUND`] seconds (past it: killed, and the test fails).
fn run_until(mut c: Command, digest: &Path, agent: &str) {
    let out = PathBuf::from(format!("{}.{agent}.log", digest.display()));
    let log = std::fs::File::create(&out).unwrap();
    let child = c.process_group(0).stdout(log.try_clone().unwrap()).stderr(log).spawn().unwrap();
    let guard = GroupGuard(Some(child.id()));
    let mut child = Running(Some(child));
    let started = Instant::now();
    let ended = loop {
        if digest.exists() {
            break None;
        }
        if let Some(status) = child.0.as_mut().unwrap().try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(AGENT_BOUND) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(guard);
    drop(child);
    let said = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    assert!(
        digest.exists(),
        "{agent} did not start the server writing {} ({}):\n{said}",
        digest.display(),
        match ended {
            Some(status) => format!("it ended with {status}"),
            None => format!("not within {AGENT_BOUND}s"),
        }
    );
}

/// The listed servers and whether each connected, from the text of `claude mcp list`
/// (`NAME: COMMAND - ✔ Connected`), `gemini mcp list` (`✓ NAME: COMMAND (stdio) - Connected`) or
/// `opencode mcp list` (`●  ✓ NAME connected`).
fn connections(agent: &str, text: &str) -> BTreeMap<String, bool> {
    let mut out = BTreeMap::new();
    for line in strip_ansi(text).lines() {
        let line = line.trim_start_matches(['│', '●', ' ']);
        match agent {
            "claude" => {
                if let Some((left, state)) = line.rsplit_once(" - ") {
                    if let (Some((name, _)), true) = (left.split_once(": "), state.starts_with(['✔', '✘', '⚠', '!']))
                    {
                        out.insert(name.to_string(), state.starts_with("✔ Connected"));
                    }
                }
            }
            "gemini" => {
                if let Some(rest) =
                    line.strip_prefix("✓ ").or_else(|| line.strip_prefix("✗ ")).or_else(|| line.strip_prefix("○ "))
                {
                    if let Some((name, _)) = rest.split_once(": ") {
                        out.insert(name.to_string(), line.ends_with("- Connected"));
                    }
                }
            }
            "opencode" => {
                if let Some(rest) = line.strip_prefix("✓ ").or_else(|| line.strip_prefix("✗ ")) {
                    if let Some((name, state)) = rest.rsplit_once(' ') {
                        out.insert(name.to_string(), state == "connected");
                    }
                }
            }
            _ => panic!("{agent} mcp list does not say what connected"),
        }
    }
    out
}

/// The JSON document in a program's output (after any lines of warnings before it).
fn json_in(text: &str) -> serde_json::Value {
    let start = text.find(['[', '{']).unwrap_or_else(|| panic!("no JSON in:\n{text}"));
    let mut de = serde_json::Deserializer::from_str(&text[start..]).into_iter::<serde_json::Value>();
    de.next().unwrap_or_else(|| panic!("no JSON in:\n{text}")).unwrap_or_else(|e| panic!("{e} in:\n{text}"))
}

/// `text` without its terminal escape sequences (`ESC [ … letter`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
