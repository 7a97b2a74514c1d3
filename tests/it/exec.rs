//! `atk exec PLUGIN`: how agents start a plugin's stdio MCP server. atk becomes the server (the
//! same process: stdin, stdout and signals are the server's), with the plugin's values and secrets
//! read from the home at that moment, every byte intact; or it says in one line on stderr why not.

use std::io::Write;
use std::process::Stdio;

use crate::common::*;

/// Values no agent config carried intact: `$word` (expanded by Gemini), `${HOME}` (rewritten),
/// `==` (split by Gemini's `-e`), quotes, a backslash, `#`, spaces, non-ASCII.
const VALUES: [(&str, &str); 8] = [
    ("V_DOLLAR", "pa$word"),
    ("V_BRACES", "${HOME}/x"),
    ("V_B64", "c2VjcmV0=="),
    ("V_QUOTES", "it's \"quoted\""),
    ("V_BACKSLASH", "back\\slash\\n"),
    ("V_HASH", "a #not a comment"),
    ("V_SPACES", "two  words here"),
    ("V_UNICODE", "Ünïcödé ✓ 日本"),
];

/// A plugin whose server writes its pid, its arguments and each variable's value to files under
/// `out`, then answers one line of stdin on stdout.
fn server_plugin(env: &Env, out: &std::path::Path) -> std::path::PathBuf {
    let mut vars = String::from("env_vars:\n");
    let mut names = Vec::new();
    for (name, _) in VALUES {
        vars.push_str(&format!("  - name: {name}\n    required: true\n    secret: true\n"));
        names.push(name);
    }
    let mut script = format!("#!/bin/sh\nout='{}'\nmkdir -p \"$out\"\necho $$ > \"$out/pid\"\n", out.display());
    script.push_str("printf '%s\\n' \"$@\" > \"$out/args\"\n");
    script.push_str("printf '%s' \"${ATK_BACKUP_PASSPHRASE-unset}\" > \"$out/passphrase\"\n");
    for name in &names {
        script.push_str(&format!("printf '%s' \"${name}\" > \"$out/{name}\"\n"));
    }
    script.push_str("read line\necho \"server got: $line\"\n");
    let body = format!(
        "{vars}mcp:\n  transport: stdio\n  command: ./server.sh\n  args: [\"--trust\", \"$ATK_PLUGIN_DIR\"]\n  env: [{}]\n",
        names.join(", ")
    );
    env.plugin("src-echo", &yaml("Echo Server", &body), &[("server.sh", &script, true)])
}

fn add_with_values(env: &Env, src: &std::path::Path) {
    let sets: Vec<String> = VALUES.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut args = vec!["add", src.to_str().unwrap(), "-y"];
    for s in &sets {
        args.extend(["--set", s]);
    }
    env.ok(&args);
}

/// `atk exec` as an agent starts it: the user's HOME and a PATH, nothing of atk's.
fn as_agent(env: &Env, args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new(bin());
    c.env_clear()
        .env("HOME", &env.home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .args(args)
        .current_dir(env.dir.path());
    c
}

/// `atk exec echo-server` started as an agent starts it (with `vars` too), given one line: how it
/// ended, and its pid.
fn exec_answering(env: &Env, vars: &[(&str, &str)]) -> (std::process::Output, u32) {
    let mut child = as_agent(env, &["exec", "echo-server"])
        .envs(vars.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    let pid = child.id();
    (wait_with_timeout(child, 30), pid)
}

#[test]
fn exec_becomes_the_server_with_every_value_intact() {
    let env = Env::new();
    let out = env.path("out");
    let src = server_plugin(&env, &out);
    add_with_values(&env, &src);
    let (done, pid) = exec_answering(&env, &[]);
    let (stdout, stderr) = texts(&done);
    assert!(done.status.success(), "{stdout}\n{stderr}");
    // The server's stdout is the process's: nothing of atk's before or after.
    assert_eq!(stdout, "server got: hello\n");
    assert_eq!(stderr, "");
    // The same process: atk replaced itself.
    assert_eq!(std::fs::read_to_string(out.join("pid")).unwrap().trim(), pid.to_string());
    let dir = std::fs::canonicalize(env.atk_home.join("plugins/echo-server")).unwrap();
    assert_eq!(std::fs::read_to_string(out.join("args")).unwrap(), format!("--trust\n{}\n", dir.display()));
    for (name, value) in VALUES {
        assert_eq!(std::fs::read_to_string(out.join(name)).unwrap(), value, "{name}");
    }
}

/// The backup passphrase is atk's alone: the server `atk exec` becomes (as every program atk
/// starts) does not inherit it.
#[test]
fn the_server_never_gets_the_backup_passphrase() {
    let env = Env::new();
    let out = env.path("out");
    let src = server_plugin(&env, &out);
    add_with_values(&env, &src);
    let (done, _) = exec_answering(&env, &[("ATK_BACKUP_PASSPHRASE", "never-for-the-server")]);
    let (stdout, stderr) = texts(&done);
    assert!(done.status.success(), "{stdout}\n{stderr}");
    assert_eq!(std::fs::read_to_string(out.join("passphrase")).unwrap(), "unset");
}

#[test]
fn a_changed_secret_reaches_the_next_start_without_a_plug() {
    let env = Env::new();
    let out = env.path("out");
    let src = server_plugin(&env, &out);
    add_with_values(&env, &src);
    env.ok(&["setup", "echo-server", "--set", "V_HASH=rotated#2"]);
    let done = as_agent(&env, &["exec", "echo-server"]).stdin(Stdio::null()).output().unwrap();
    assert!(done.status.success(), "{}", both(&done));
    assert_eq!(std::fs::read_to_string(out.join("V_HASH")).unwrap(), "rotated#2");
}

#[test]
fn another_home_is_named_by_home_and_atk_home_is_not_needed() {
    let env = Env::new();
    let out = env.path("out");
    let src = server_plugin(&env, &out);
    add_with_values(&env, &src);
    // The agent's environment has no ATK_HOME, and HOME is somewhere else entirely.
    let mut c = as_agent(&env, &["exec", "--home", env.atk_home.to_str().unwrap(), "echo-server"]);
    c.env("HOME", env.path("elsewhere"));
    let done = c.stdin(Stdio::null()).output().unwrap();
    assert!(done.status.success(), "{}", both(&done));
    assert_eq!(std::fs::read_to_string(out.join("V_DOLLAR")).unwrap(), "pa$word");
}

/// Every refusal is one line on stderr (an agent's log shows it), nothing on stdout, and the exit
/// code of its kind.
fn refused(env: &Env, args: &[&str], code: i32, words: &str) {
    let done = as_agent(env, args).stdin(Stdio::null()).output().unwrap();
    let (stdout, stderr) = texts(&done);
    assert_eq!(done.status.code(), Some(code), "{stdout}\n{stderr}");
    assert_eq!(stdout, "");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("atk exec "), "{stderr}");
    assert!(stderr.contains(words), "{stderr}");
    assert!(stderr.contains("(hint: "), "{stderr}");
}

#[test]
fn exec_refuses_in_one_line_what_it_cannot_start() {
    let env = Env::new();
    refused(&env, &["exec", "nope"], 4, "no plugin named 'nope'");
    // A remote server: agents reach its URL.
    let remote =
        env.plugin("src-remote", &yaml("Remote", "mcp:\n  transport: http\n  endpoint: http://127.0.0.1:9/mcp\n"), &[]);
    env.ok(&["add", remote.to_str().unwrap(), "-y"]);
    refused(&env, &["exec", "remote"], 5, "remote MCP server");
    // No MCP server at all.
    let none = env.plugin("src-none", &yaml("None", ""), &[]);
    env.ok(&["add", none.to_str().unwrap(), "-y"]);
    refused(&env, &["exec", "none"], 5, "has no MCP server");
    // A command that is not there.
    let gone = env.plugin("src-gone", &yaml("Gone", "mcp:\n  transport: stdio\n  command: ./missing.sh\n"), &[]);
    env.ok(&["add", gone.to_str().unwrap(), "-y"]);
    refused(&env, &["exec", "gone"], 1, "cannot start the MCP server of 'Gone'");
    // The files are not in the home (a fresh clone before `atk install`).
    std::fs::remove_dir_all(env.atk_home.join("plugins/gone")).unwrap();
    refused(&env, &["exec", "gone"], 1, "gone");
}

#[test]
fn a_plugin_not_at_its_pin_is_not_started() {
    let env = Env::new();
    let work = env.path("tool");
    let body = "mcp:\n  transport: stdio\n  command: ./server.sh\n";
    write(&work.join(".atk/plugin.yaml"), &yaml("Pinned", body), false);
    write(&work.join(".atk/server.sh"), "#!/bin/sh\necho started\n", true);
    git(env.dir.path(), &["init", "-q", "-b", "main", work.to_str().unwrap()]);
    crate::common::sources::commit_all(&work, "v1");
    env.ok(&["add", "-y", &format!("file://{}", work.display())]);
    let ok = as_agent(&env, &["exec", "pinned"]).stdin(Stdio::null()).output().unwrap();
    assert_eq!(texts(&ok).0, "started\n", "{}", both(&ok));
    // The files on this machine are of another commit than the manifest pins.
    let reference = env.atk_home.join("plugins/pinned/.atk-ref");
    std::fs::write(&reference, "0123456789012345678901234567890123456789\n").unwrap();
    refused(&env, &["exec", "pinned"], 1, "not at its pinned commit");
}

#[test]
fn a_required_value_missing_is_said_on_stderr_and_the_server_starts() {
    let env = Env::new();
    let body = "env_vars:\n  - name: NEEDED\n    required: true\nmcp:\n  transport: stdio\n  command: ./server.sh\n  env: [NEEDED]\n";
    let src = env.plugin("src-needy", &yaml("Needy", body), &[("server.sh", "#!/bin/sh\necho up\n", true)]);
    env.ok(&["add", src.to_str().unwrap(), "-y", "--set", "NEEDED=x"]);
    std::fs::write(env.atk_home.join("plugins/needy/.env"), "NEEDED=\n").unwrap();
    let done = as_agent(&env, &["exec", "needy"]).stdin(Stdio::null()).output().unwrap();
    let (stdout, stderr) = texts(&done);
    assert!(done.status.success(), "{stderr}");
    assert_eq!(stdout, "up\n");
    assert!(stderr.contains("NEEDED has no value") && stderr.contains("atk setup needy"), "{stderr}");
}
