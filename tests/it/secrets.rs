//! No secret value is ever printed: a plugin's variables named like secrets (declared secret or
//! not), values from the user's environment, and what agents' programs say back, checked byte for
//! byte on stdout and stderr of `help`, `status`, `mcp`, `setup`, `doctor` and `plug`, human and
//! JSON, for each value, each of its encodings, and every four characters of it.

use std::process::Output;

use crate::common::agents::Stubs;
use crate::common::*;

/// Declared `secret: true`: every character that changes under some encoding.
const DECLARED: &str = "a b\"c'd/e+f=g==\\h$i`j&k?l%m";
/// `API_KEY`, not declared secret, in `.env`: base64.
const B64: &str = "c3VwZXIvc2VjcmV0K2tleT09";
/// `AWS_SECRET_ACCESS_KEY`, not declared, only in the user's environment.
const AWS: &str = "wJalrXUtnFEMIK7MDENGbPxRfiCYzQ9v/8+Zw";
/// `PLAIN_MODE`, not a secret, only in the user's environment: never shown either.
const PLAIN: &str = "Qx7mZp9Wk-Hv2";

const PLUGIN: &str = "env_vars:
  - name: DECLARED
    required: true
    secret: true
  - name: GITHUB_TOKEN
  - name: API_KEY
  - name: AWS_SECRET_ACCESS_KEY
  - name: PLAIN_MODE
  - name: LOG_LEVEL
mcp:
  transport: stdio
  command: ./mcp.sh
  args: [\"--declared=$DECLARED\", \"--gh\", \"$GITHUB_TOKEN\", \"--key=${API_KEY}\"]
  env: [DECLARED, GITHUB_TOKEN, API_KEY, LOG_LEVEL]
";

/// Every value that must never be shown (with [`GH`], the `GITHUB_TOKEN` in `.env`, not declared
/// secret).
const ALL: [&str; 5] = [DECLARED, GH, B64, AWS, PLAIN];

/// The plugin added with `.env` holding DECLARED, GITHUB_TOKEN and API_KEY.
fn setup() -> Env {
    vault(PLUGIN, &[&format!("DECLARED={DECLARED}"), &format!("GITHUB_TOKEN={GH}"), &format!("API_KEY={B64}")])
}

/// `atk` with the user's own secrets in its environment.
fn atk(env: &Env, path: Option<&str>, args: &[&str]) -> Output {
    atk_with(env, &[("AWS_SECRET_ACCESS_KEY", AWS), ("PLAIN_MODE", PLAIN)], path, args)
}

#[test]
fn help_never_shows_a_secret_or_a_value_from_the_environment() {
    let env = setup();
    let out = atk(&env, None, &["help", "vault"]);
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let text = both(&out);
    assert_clean("help", &text, &ALL);
    for line in [
        "DECLARED               set (********)  [required, secret]",
        "GITHUB_TOKEN           set (********)  [secret]",
        "API_KEY                set (********)  [secret]",
        "AWS_SECRET_ACCESS_KEY  set in the environment  [secret]",
        "PLAIN_MODE             set in the environment",
        "LOG_LEVEL              not set",
    ] {
        assert!(text.contains(line), "no {line:?} in:\n{text}");
    }

    let out = atk(&env, None, &["help", "vault", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    assert_clean("help --json", &both(&out), &ALL);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let var = |name: &str| doc["env"].as_array().unwrap().iter().find(|v| v["name"] == name).unwrap().clone();
    assert_eq!(
        var("GITHUB_TOKEN"),
        serde_json::json!({"name": "GITHUB_TOKEN", "required": false, "secret": true, "set": true, "set_in": ".env",
            "value": "********", "default": null, "description": null})
    );
    assert_eq!(var("DECLARED")["value"], "********");
    assert_eq!(var("API_KEY")["secret"], true);
    for name in ["AWS_SECRET_ACCESS_KEY", "PLAIN_MODE"] {
        let v = var(name);
        assert_eq!(
            (&v["set"], &v["set_in"], &v["value"]),
            (&serde_json::json!(true), &serde_json::json!("environment"), &serde_json::Value::Null),
            "{v}"
        );
    }
    assert_eq!(var("PLAIN_MODE")["secret"], false);
    assert_eq!(
        (&var("LOG_LEVEL")["set"], &var("LOG_LEVEL")["set_in"]),
        (&serde_json::json!(false), &serde_json::Value::Null)
    );
}

#[test]
fn status_mcp_setup_and_doctor_never_show_a_secret() {
    let env = setup();
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["mcp", "vault"],
        &["mcp", "vault", "--json"],
        &["mcp", "vault", "--for", "cursor"],
        &["mcp", "vault", "--for", "codex"],
        &["setup", "vault"],
        &["setup", "vault", "--json"],
        &["doctor"],
        &["doctor", "--json"],
        // Without --yes and without a terminal: the preview is shown, and the question refused.
        &["plug", "vault", "--cursor"],
    ] {
        let out = atk(&env, None, args);
        assert!(matches!(out.status.code(), Some(0..=2)), "{args:?}: {:?}\n{}", out.status.code(), both(&out));
        assert_clean(&format!("{args:?}"), &both(&out), &ALL);
    }
    // Each secret has its place in what mcp shows, marked.
    let text = String::from_utf8(atk(&env, None, &["mcp", "vault"]).stdout).unwrap();
    assert!(text.contains("mcp.sh '--declared=********' --gh '********' '--key=********'"), "{text}");
    let doc: serde_json::Value = serde_json::from_slice(&atk(&env, None, &["mcp", "vault", "--json"]).stdout).unwrap();
    assert_eq!(
        doc["vault"]["env"],
        serde_json::json!({"DECLARED": "********", "GITHUB_TOKEN": "********", "API_KEY": "********"})
    );
    // The agent's file gets no value at all: `atk exec` reads them when Cursor starts the server.
    let out = atk(&env, None, &["plug", "vault", "--cursor", "-y"]);
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert_clean("plug --cursor", &both(&out), &ALL);
    let written = std::fs::read_to_string(env.home.join(".cursor/mcp.json")).unwrap();
    assert_clean("Cursor's file", &written, &ALL);
    let entry: serde_json::Value = serde_json::from_str(&written).unwrap();
    assert_eq!(
        entry["mcpServers"]["vault"],
        serde_json::json!({"command": crate::common::agents::atk_path(), "args": crate::common::agents::exec_args(&env, "vault")})
    );
}

#[test]
fn setup_on_a_terminal_shows_no_value_kept_on_enter() {
    let env = setup();
    let mut cmd = std::process::Command::new(bin());
    env.apply(&mut cmd);
    cmd.env_remove("CI").env("TERM", "dumb").env("AWS_SECRET_ACCESS_KEY", AWS).args(["setup", "vault"]);
    let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
    let mut seen = String::new();
    // GITHUB_TOKEN and API_KEY are not declared secret: named like secrets, they are asked for
    // unseen, and what Enter keeps is not shown.
    for name in ["DECLARED", "GITHUB_TOKEN", "API_KEY"] {
        seen += &p.exp_string(name).unwrap();
        seen += &p.exp_string("[******** kept on Enter]").unwrap();
        seen += &send_secret(&mut p, "");
    }
    for (name, secret) in [("AWS_SECRET_ACCESS_KEY", true), ("PLAIN_MODE", false), ("LOG_LEVEL", false)] {
        seen += &p.exp_string(name).unwrap();
        if secret {
            seen += &send_secret(&mut p, "");
        } else {
            p.send_line("").unwrap();
        }
    }
    seen += &p.exp_eof().unwrap();
    assert_clean("setup on a terminal", &seen, &ALL);
    let file = std::fs::read_to_string(env.atk_home.join("plugins/vault/.env")).unwrap();
    assert!(file.contains(GH) && file.contains(B64), "{file}");
}

/// A bash agent that fails and says back its arguments, the user's AWS key, and the lines of the
/// file `said` beside it (what it keeps in its own settings: values atk never gives it now), in
/// every encoding.
const ECHOING_AGENT: &str = r#"#!/bin/bash
json() { local s=$1; s=${s//\\/\\\\}; s=${s//\"/\\\"}; printf '%s' "$s"; }
dq() { local s=$1; s=${s//\\/\\\\}; s=${s//\"/\\\"}; s=${s//\$/\\\$}; s=${s//\`/\\\`}; printf '"%s"' "$s"; }
url() {
  local s=$1 out= c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in
      [a-zA-Z0-9.~_-]) out+=$c ;;
      ' ') if [ "$3" = plus ]; then out+=+; else out+=$(printf "$2" "'$c"); fi ;;
      *) out+=$(printf "$2" "'$c") ;;
    esac
  done
  printf '%s' "$out"
}
mapfile -t said < "$(dirname "$0")/said"
set -- "$@" "$AWS_SECRET_ACCESS_KEY" "${said[@]}"
{
  echo "error: unknown option in: $*"
  printf 'printf-q:'; printf ' %q' "$@"; echo
  printf 'at-Q:'; for a in "$@"; do printf ' %s' "${a@Q}"; done; echo
  printf 'double:'; for a in "$@"; do printf ' %s' "$(dq "$a")"; done; echo
  printf 'json: ['; for a in "$@"; do printf '"%s",' "$(json "$a")"; done; echo ']'
  printf 'url:'; for a in "$@"; do printf ' %s' "$(url "$a" '%%%02X')"; done; echo
  printf 'url-lower:'; for a in "$@"; do printf ' %s' "$(url "$a" '%%%02x')"; done; echo
  printf 'form:'; for a in "$@"; do printf ' %s' "$(url "$a" '%%%02X' plus)"; done; echo
  printf 'last: %s\n' "$(json "$*")"
} >&2
exit 3
"#;

#[test]
fn what_an_agent_says_back_is_scrubbed_in_every_encoding() {
    let env = setup();
    let stubs = Stubs::new(&env, &[]);
    for agent in ["claude", "codex"] {
        write(&stubs.bin.join(agent), ECHOING_AGENT, true);
    }
    // The plugin's values, as an agent plugged before `atk exec` keeps them.
    write(&stubs.bin.join("said"), &format!("{DECLARED}\n{GH}\n{B64}\n"), false);
    let path = stubs.path_var();
    for json in [false, true] {
        let mut args = vec!["plug", "vault", "--claude", "--codex", "-y", "-v"];
        if json {
            args.push("--json");
        }
        let out = atk(&env, Some(&path), &args);
        assert_eq!(out.status.code(), Some(1), "{}", both(&out));
        let text = both(&out);
        assert_clean(&format!("{args:?}"), &text, &ALL);
        // The agents ran and atk repeated what they said, scrubbed.
        for line in ["printf-q:", "at-Q:", "double:", "json: [", "url:", "url-lower:", "form:"] {
            let said = text.lines().find(|l| l.contains(line)).unwrap_or_else(|| panic!("no {line} in:\n{text}"));
            assert!(said.matches("********").count() >= 4, "{said}");
        }
        assert!(text.contains("last: "), "{text}");
    }
}

/// A shipped file the user edited to hold their secrets: `diff` and `doctor` show the change
/// with the secrets scrubbed (the `.env`'s, declared or not, and the environment's).
#[test]
fn a_diff_of_an_edited_file_never_shows_a_secret() {
    let env = Env::new();
    let work = crate::common::sources::registry_work(&env);
    let reg = work.to_str().unwrap();
    env.ok(&["--registry", reg, "add", "-y", "hello", "--set", "HELLO_NAME=Ada"]);
    let dir = env.atk_home.join("plugins/hello");
    // Not declared by the plugin: a secret for all atk knows.
    write(&dir.join(".env"), &format!("HELLO_NAME=Ada\nGITHUB_TOKEN={GH}\n"), false);
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    let json = |v: &str| serde_json::to_string(v).unwrap();
    write(
        &dir.join("README.md"),
        &format!("{readme}token: {GH}\naws = {}\nurl: ?k={}\n", json(AWS), AWS.replace('/', "%2F").replace('+', "%2B")),
        false,
    );
    for args in [&["diff"][..], &["diff", "--json"], &["doctor"], &["doctor", "--json"], &["doctor", "--fix"]] {
        let mut all = vec!["--registry", reg];
        all.extend(args);
        let out = atk(&env, None, &all);
        let text = both(&out);
        assert!(matches!(out.status.code(), Some(0..=2)), "{args:?}: {:?}\n{text}", out.status.code());
        assert_clean(&format!("{args:?}"), &text, &ALL);
        if args[0] == "diff" {
            let aws = ["+aws = \"********\"", "+aws = \\\"********\\\""];
            assert!(text.contains("+token: ********") && aws.iter().any(|a| text.contains(a)), "{text}");
            assert!(text.contains("+url: ?k=********"), "{text}");
        }
    }
}
