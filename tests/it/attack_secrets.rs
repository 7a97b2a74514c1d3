//! Attacks on "no secret value is ever printed" (issue 17): a secret that reaches a variable not
//! named like one (`DATABASE_URL=postgres://app:${DB_PASSWORD}@db`), a multi-line secret that an
//! agent says back, and a secret at the edge of what atk keeps of a flood of output.

use std::process::Output;

use crate::common::agents::Stubs;
use crate::common::*;

const DB: &str = "hu7Vq2Xz-Wk9Lp";
/// In the user's environment only, taken into `.env` by `${PGPASSWORD}`.
const PG: &str = "pg-Wk3mZx9Lq2";
const PEM: &str = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nc3VwZXIvc2VjcmV0K2tleT09\n-----END KEY-----";

/// `atk` with the user's own secrets in its environment.
fn atk(env: &Env, path: Option<&str>, args: &[&str]) -> Output {
    atk_with(env, &[("PGPASSWORD", PG), ("GITHUB_TOKEN", GH)], path, args)
}

const PLUGIN: &str = "env_vars:
  - name: DB_PASSWORD
    required: true
  - name: DATABASE_URL
  - name: REPLICA_URL
  - name: LOG_LEVEL
    default: info
mcp:
  transport: stdio
  command: ./mcp.sh
  args: [\"--db\", \"$DATABASE_URL\", \"--replica=${REPLICA_URL}\"]
  env: [DATABASE_URL, REPLICA_URL, LOG_LEVEL]
";

/// `vault` with `DB_PASSWORD` in `.env`, and two variables not named like secrets that take one
/// in: `DATABASE_URL` by `${DB_PASSWORD}`, `REPLICA_URL` by `${PGPASSWORD}` from the environment.
fn setup() -> Env {
    let env = vault(PLUGIN, &[&format!("DB_PASSWORD={DB}")]);
    let dotenv = env.atk_home.join("plugins/vault/.env");
    let mut text = std::fs::read_to_string(&dotenv).unwrap();
    text.push_str(
        "DATABASE_URL=postgres://app:${DB_PASSWORD}@db/app\nREPLICA_URL=postgres://ro:${PGPASSWORD}@replica/app\n",
    );
    write(&dotenv, &text, false);
    env
}

#[test]
fn a_value_that_takes_in_a_secret_is_never_shown() {
    let env = setup();
    let stubs = Stubs::new(&env, &[]);
    write(&stubs.bin.join("claude"), "#!/bin/sh\necho \"error: bad args: $*\" >&2\nexit 3\n", true);
    let path = stubs.path_var();
    for args in [
        &["help", "vault"][..],
        &["help", "vault", "--json"],
        &["mcp", "vault"],
        &["mcp", "vault", "--json"],
        &["mcp", "vault", "--for", "codex"],
        &["mcp", "vault", "--for", "cursor"],
        &["setup", "vault"],
        &["plug", "vault", "--cursor"],
        &["plug", "vault", "--claude", "-y", "-v"],
        &["plug", "vault", "--claude", "-y", "-v", "--json"],
    ] {
        let out = atk(&env, Some(&path), args);
        assert!(matches!(out.status.code(), Some(0..=2)), "{args:?}: {:?}\n{}", out.status.code(), both(&out));
        assert_clean(&format!("{args:?}"), &both(&out), &[DB, PG, GH]);
    }
    let text = both(&atk(&env, None, &["help", "vault"]));
    assert!(text.contains("DATABASE_URL  set (********)"), "{text}");
    assert!(text.contains("LOG_LEVEL     set (info)"), "{text}");
    let text = both(&atk(&env, None, &["mcp", "vault"]));
    assert!(text.contains("--db '********' '--replica=********'"), "{text}");
    // Cursor is given `atk exec` and no value; the server, started as Cursor starts it, gets the
    // real values all the same.
    let out = atk(&env, None, &["plug", "vault", "--cursor", "-y"]);
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let written = std::fs::read_to_string(env.home.join(".cursor/mcp.json")).unwrap();
    assert_clean("Cursor's file", &written, &[DB, PG]);
    let entry: serde_json::Value = serde_json::from_str(&written).unwrap();
    let entry = &entry["mcpServers"]["vault"];
    write(&env.atk_home.join("plugins/vault/mcp.sh"), "#!/bin/sh\nprintf '%s|' \"$@\" \"$DATABASE_URL\"\n", true);
    let args: Vec<String> = serde_json::from_value(entry["args"].clone()).unwrap();
    let served = crate::common::agents::served(&env, entry["command"].as_str().unwrap(), &args, &[("PGPASSWORD", PG)]);
    let db = format!("postgres://app:{DB}@db/app");
    assert_eq!(
        String::from_utf8_lossy(&served.stdout),
        format!("--db|{db}|--replica=postgres://ro:{PG}@replica/app|{db}|"),
        "{served:?}"
    );
}

#[test]
fn setup_on_a_terminal_does_not_offer_a_value_that_takes_in_a_secret() {
    let env = setup();
    let mut cmd = std::process::Command::new(bin());
    env.apply(&mut cmd);
    cmd.env_remove("CI").env("TERM", "dumb").env("PGPASSWORD", PG).args(["setup", "vault"]);
    let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
    let mut seen = String::new();
    for name in ["DB_PASSWORD", "DATABASE_URL", "REPLICA_URL"] {
        seen += &p.exp_string(name).unwrap();
        seen += &p.exp_string("[******** kept on Enter]").unwrap();
        seen += &send_secret(&mut p, "");
    }
    seen += &p.exp_string("LOG_LEVEL").unwrap();
    p.send_line("").unwrap();
    seen += &p.exp_eof().unwrap();
    assert_clean("setup on a terminal", &seen, &[DB, PG]);
    // Enter kept each value as it was written.
    let file = std::fs::read_to_string(env.atk_home.join("plugins/vault/.env")).unwrap();
    assert!(file.contains("DATABASE_URL=postgres://app:${DB_PASSWORD}@db/app"), "{file}");
    assert!(file.contains(&format!("DB_PASSWORD={DB}")), "{file}");
}

const PEM_PLUGIN: &str = "env_vars:
  - name: PRIVATE_KEY
    required: true
mcp:
  transport: stdio
  command: ./mcp.sh
  env: [PRIVATE_KEY, GITHUB_TOKEN]
";

/// `pem` with a multi-line PRIVATE_KEY and a GITHUB_TOKEN in `.env`, and an agent `claude` that
/// runs `script`.
fn pem(script: &str) -> (Env, String) {
    let env = Env::new();
    let src = env.plugin(
        "src/pem",
        &yaml("pem", PEM_PLUGIN),
        &[("mcp.sh", "#!/bin/sh\n", true), ("README.md", "# P\n", false)],
    );
    env.ok(&["add", src.to_str().unwrap(), "-y", "--set", &format!("PRIVATE_KEY={PEM}")]);
    let dotenv = env.atk_home.join("plugins/pem/.env");
    let text = std::fs::read_to_string(&dotenv).unwrap() + &format!("GITHUB_TOKEN={GH}\n");
    write(&dotenv, &text, false);
    let stubs = Stubs::new(&env, &[]);
    write(&stubs.bin.join("claude"), script, true);
    let path = stubs.path_var();
    (env, path)
}

/// Agents are given no secret now, but one may still say a secret back (read from its own
/// settings, or from the plugin's files): what it says is scrubbed all the same.
#[test]
fn a_multi_line_secret_an_agent_says_back_is_scrubbed_whole() {
    let script =
        format!("#!/bin/sh\necho \"error: bad args: $*\" >&2\ncat >&2 <<'EOF'\nPRIVATE_KEY={PEM}\nEOF\nexit 3\n");
    let (env, path) = pem(&script);
    for json in [false, true] {
        let mut args = vec!["plug", "pem", "--claude", "-y", "-v"];
        if json {
            args.push("--json");
        }
        let out = atk(&env, Some(&path), &args);
        assert_eq!(out.status.code(), Some(1), "{}", both(&out));
        let text = both(&out);
        assert_clean(&format!("{args:?}"), &text, &[PEM, GH]);
        let exec = crate::common::agents::exec_args(&env, "pem").join(" ");
        assert!(
            text.contains("bad args: mcp add --scope user -- pem ") && text.contains(&format!(" {exec}")),
            "{text}"
        );
        assert!(text.contains("PRIVATE_KEY=********"), "{text}");
    }
}

/// A flood of output is kept as its start and its end: a secret where it is cut, and one longer
/// than what is kept, show no part of themselves.
#[test]
fn a_secret_where_a_flood_of_output_is_cut_shows_no_part_of_itself() {
    // 64 KiB are kept of the start: the token starts 10 bytes before that, and the key's line of
    // 70 KB is longer than what is kept.
    let script = "#!/bin/bash\nhead -c 65526 /dev/zero | tr '\\0' x\nprintf '%s\\n' \"$GITHUB_TOKEN\"\n\
                  head -c 300000 /dev/zero | tr '\\0' y; echo\nprintf '%s' \"$PRIVATE_KEY\" | tail -c 20\n\
                  exit 3\n";
    let (env, path) = pem(script);
    let out = atk(&env, Some(&path), &["plug", "pem", "--claude", "-y", "-v"]);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let text = both(&out);
    assert!(text.contains(" cut …]"), "{}", &text[text.len().saturating_sub(2000)..]);
    assert_clean("a cut flood", &text, &[GH]);
}

/// The user's `custom/overrides.yaml` gives a command their token (the one in `.env`): `help`
/// and the question before an uninstall show the command without it.
#[test]
fn a_command_the_user_gave_a_secret_is_shown_without_it() {
    let env = Env::new();
    let body =
        "env_vars:\n  - name: API_TOKEN\n    required: true\nlifecycle:\n  install: 'true'\n  uninstall: 'true'\n\
                mcp:\n  transport: http\n  endpoint: http://127.0.0.1:1/mcp\n";
    let src = env.plugin("src/tok", &yaml("tok", body), &[("README.md", "# T\n", false)]);
    env.ok(&["add", src.to_str().unwrap(), "-y", "--set", &format!("API_TOKEN={DB}")]);
    let overrides = format!(
        "lifecycle:\n  start: \"curl -H 'Authorization: Bearer {DB}' http://127.0.0.1:1/\"\n  \
         uninstall: \"curl -X DELETE -H 'X-Token: {DB}' -H 'X-Gh: {GH}' http://127.0.0.1:1/\"\n\
         mcp:\n  transport: http\n  endpoint: \"http://127.0.0.1:1/mcp?token={DB}\"\n"
    );
    write(&env.atk_home.join("plugins/tok/custom/overrides.yaml"), &overrides, false);
    for args in [&["help", "tok"][..], &["help", "tok", "--json"], &["remove", "tok"], &["uninstall", "tok", "--json"]]
    {
        let out = atk(&env, None, args);
        assert!(matches!(out.status.code(), Some(0..=2)), "{args:?}: {:?}\n{}", out.status.code(), both(&out));
        assert_clean(&format!("{args:?}"), &both(&out), &[DB, GH]);
    }
    let text = both(&atk(&env, None, &["help", "tok"]));
    assert!(text.contains("curl -H 'Authorization: Bearer ********' http://127.0.0.1:1/"), "{text}");
    let text = both(&atk(&env, None, &["remove", "tok"]));
    assert!(text.contains("-H 'X-Token: ********' -H 'X-Gh: ********'"), "{text}");
}

/// A health endpoint the user gave their token in `custom/overrides.yaml`: `status --json` shows
/// the URL without it.
#[test]
fn status_shows_a_health_endpoint_without_the_secret_in_it() {
    let env = Env::new();
    let body = "env_vars:\n  - name: API_TOKEN\n    required: true\nlifecycle:\n  status: 'true'\n";
    let src = env.plugin("src/tok", &yaml("tok", body), &[("README.md", "# T\n", false)]);
    env.ok(&["add", src.to_str().unwrap(), "-y", "--set", &format!("API_TOKEN={DB}")]);
    let overrides = format!("lifecycle:\n  health_endpoint: \"http://127.0.0.1:1/health?key={DB}&gh={GH}\"\n");
    write(&env.atk_home.join("plugins/tok/custom/overrides.yaml"), &overrides, false);
    for args in [&["status"][..], &["status", "--json"], &["status", "tok", "--json"], &["help", "tok", "--json"]] {
        let out = atk(&env, None, args);
        assert_eq!(out.status.code(), Some(0), "{args:?}\n{}", both(&out));
        assert_clean(&format!("{args:?}"), &both(&out), &[DB, GH]);
    }
    let doc: serde_json::Value = serde_json::from_slice(&atk(&env, None, &["status", "--json"]).stdout).unwrap();
    assert_eq!(doc["plugins"][0]["health"]["url"], "http://127.0.0.1:1/health?key=********&gh=********");
}

/// A multi-line secret (a PEM key, in `.env`) pasted into a shipped file: `diff` and `doctor
/// --fix` show the change without any line of it (in a diff, each of its lines has a `+`).
#[test]
fn a_multi_line_secret_in_an_edited_file_is_not_in_its_diff() {
    let env = Env::new();
    let work = crate::common::sources::registry_work(&env);
    let reg = work.to_str().unwrap();
    env.ok(&["--registry", reg, "add", "-y", "hello", "--set", "HELLO_NAME=Ada"]);
    let dir = env.atk_home.join("plugins/hello");
    write(&dir.join(".env"), &format!("HELLO_NAME=Ada\nPRIVATE_KEY=\"{PEM}\"\n"), false);
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    write(&dir.join("README.md"), &format!("{readme}my key:\n{PEM}\n"), false);
    for args in [&["diff"][..], &["diff", "--json"], &["doctor", "--fix"]] {
        let mut all = vec!["--registry", reg];
        all.extend(args);
        let out = atk(&env, None, &all);
        let text = both(&out);
        assert!(matches!(out.status.code(), Some(0..=2)), "{args:?}: {:?}\n{text}", out.status.code());
        assert_clean(&format!("{args:?}"), &text, &[PEM]);
        assert!(text.contains("+my key:") && text.contains("+********"), "{args:?}\n{text}");
    }
}

/// Names of secrets with digits, in the plural, a passphrase, MySQL's password: masked all the same.
#[test]
fn names_with_digits_and_suffixes_that_hold_secrets_are_masked() {
    let env = Env::new();
    let names = ["OPENAI_API_KEY_2", "API_KEY2", "API_KEYS", "SSH_PASSPHRASE", "MYSQL_PWD", "AWS_KEY_1"];
    let body: String = names.iter().map(|n| format!("  - name: {n}\n")).collect();
    let src = env.plugin("src/many", &yaml("many", &format!("env_vars:\n{body}")), &[("README.md", "# M\n", false)]);
    let values: Vec<String> = (0..names.len()).map(|i| format!("{DB}-{i}")).collect();
    let sets: Vec<String> = names.iter().zip(&values).map(|(n, v)| format!("{n}={v}")).collect();
    let mut args = vec!["add", src.to_str().unwrap(), "-y"];
    for s in &sets {
        args.extend(["--set", s.as_str()]);
    }
    env.ok(&args);
    for args in [&["help", "many"][..], &["help", "many", "--json"]] {
        let out = atk(&env, None, args);
        assert_eq!(out.status.code(), Some(0), "{}", both(&out));
        assert_clean(&format!("{args:?}"), &both(&out), &[DB]);
    }
}

/// A secret of two characters is too short to take out of free text, but where an agent repeats
/// the words it was given (`-e PIN=Qz`, JSON's `"PIN":"Qz"`) it is taken out.
#[test]
fn a_short_secret_an_agent_says_back_with_its_name_is_masked() {
    let env = Env::new();
    let body = "env_vars:\n  - name: PIN\n    secret: true\n  - name: DB_PASS\nmcp:\n  transport: stdio\n  \
                command: ./mcp.sh\n  env: [PIN, DB_PASS]\n";
    let src = env.plugin(
        "src/short",
        &yaml("short", body),
        &[("mcp.sh", "#!/bin/sh\n", true), ("README.md", "# S\n", false)],
    );
    env.ok(&["add", src.to_str().unwrap(), "-y", "--set", "PIN=Qz", "--set", "DB_PASS=Jx7"]);
    let stubs = Stubs::new(&env, &[]);
    // Agents are given no value now; these say the values back as they keep them in their
    // settings (`-e PIN=Qz` words, JSON's `"env":{"PIN":"Qz",…}`).
    let echo = "#!/bin/sh\necho \"error: bad args: $* -e PIN=Qz -e DB_PASS=Jx7\" >&2\n\
                echo 'settings: {\"env\":{\"PIN\":\"Qz\",\"DB_PASS\":\"Jx7\"}}' >&2\nexit 3\n";
    for agent in ["claude", "auggie"] {
        write(&stubs.bin.join(agent), echo, true);
    }
    let out = atk(&env, Some(&stubs.path_var()), &["plug", "short", "--claude", "--auggie", "-y", "-v"]);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let text = both(&out);
    for shown in ["PIN=Qz", "DB_PASS=Jx7", "\"PIN\":\"Qz\"", "\\\"PIN\\\":\\\"Qz\\\"", "\"DB_PASS\":\"Jx7\""] {
        assert!(!text.contains(shown), "shows {shown}:\n{text}");
    }
    assert!(text.contains("-e PIN=******** -e DB_PASS=********"), "{text}");
    assert!(text.contains(r#""env":{"PIN":"********","DB_PASS":"********"}"#), "{text}");
}

/// The user's GITHUB_TOKEN (in their environment) pasted into a value not named like a secret:
/// `mcp` in every format shows the value without it.
#[test]
fn a_value_that_repeats_a_secret_of_the_environment_is_shown_without_it() {
    let env = Env::new();
    let body =
        "env_vars:\n  - name: HOOK_URL\nmcp:\n  transport: stdio\n  command: ./mcp.sh\n  args: [\"$HOOK_URL\"]\n  \
                env: [HOOK_URL]\n";
    let src =
        env.plugin("src/hook", &yaml("hook", body), &[("mcp.sh", "#!/bin/sh\n", true), ("README.md", "# H\n", false)]);
    env.ok(&["add", src.to_str().unwrap(), "-y", "--set", &format!("HOOK_URL=https://x:{GH}@hooks.example")]);
    for args in
        [&["mcp", "hook"][..], &["mcp", "hook", "--json"], &["mcp", "hook", "--for", "vscode"], &["help", "hook"]]
    {
        let out = atk(&env, None, args);
        assert_eq!(out.status.code(), Some(0), "{}", both(&out));
        assert_clean(&format!("{args:?}"), &both(&out), &[GH]);
    }
    let text = both(&atk(&env, None, &["mcp", "hook"]));
    assert!(text.contains("HOOK_URL=https://x:********@hooks.example"), "{text}");
}

/// `setup` on a terminal does not offer, as what Enter keeps, a value that repeats a secret of
/// the user's environment.
#[test]
fn setup_on_a_terminal_does_not_offer_a_value_that_repeats_a_secret_of_the_environment() {
    let env = Env::new();
    let src =
        env.plugin("src/hook", &yaml("hook", "env_vars:\n  - name: HOOK_URL\n"), &[("README.md", "# H\n", false)]);
    let url = format!("https://x:{GH}@hooks.example");
    env.ok(&["add", src.to_str().unwrap(), "-y", "--set", &format!("HOOK_URL={url}")]);
    let mut cmd = std::process::Command::new(bin());
    env.apply(&mut cmd);
    cmd.env_remove("CI").env("TERM", "dumb").env("GITHUB_TOKEN", GH).args(["setup", "hook"]);
    let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
    let mut seen = p.exp_string("HOOK_URL [******** kept on Enter]").unwrap();
    seen += &send_secret(&mut p, "");
    seen += &p.exp_eof().unwrap();
    assert_clean("setup on a terminal", &seen, &[GH]);
    let file = std::fs::read_to_string(env.atk_home.join("plugins/hook/.env")).unwrap();
    assert!(file.contains(&url), "{file}");
}

/// Two secrets that overlap where a value repeats them (`Qm4Zr8Tn1Xw7` + `1Xw7Hv2Kp9Ld`): no
/// part of either is left.
#[test]
fn overlapping_secrets_leave_no_part_of_either() {
    let env = Env::new();
    let body = "env_vars:\n  - name: FIRST_TOKEN\n  - name: SECOND_TOKEN\n  - name: COMBO\n";
    let src = env.plugin("src/two", &yaml("two", body), &[("README.md", "# T\n", false)]);
    let (first, second) = ("Qm4Zr8Tn1Xw7", "1Xw7Hv2Kp9Ld");
    env.ok(&[
        "add",
        src.to_str().unwrap(),
        "-y",
        "--set",
        &format!("FIRST_TOKEN={first}"),
        "--set",
        &format!("SECOND_TOKEN={second}"),
        "--set",
        "COMBO=Qm4Zr8Tn1Xw7Hv2Kp9Ld",
    ]);
    for args in [&["help", "two"][..], &["help", "two", "--json"]] {
        let out = atk(&env, None, args);
        assert_eq!(out.status.code(), Some(0), "{}", both(&out));
        assert_clean(&format!("{args:?}"), &both(&out), &[first, second]);
    }
    assert!(both(&atk(&env, None, &["help", "two"])).contains("COMBO         set (********)"));
}

/// A README the user edited to hold their token: `help` prints it without it (as `diff` shows
/// the edit).
#[test]
fn help_prints_a_readme_without_the_secret_the_user_wrote_in_it() {
    let env = Env::new();
    let src =
        env.plugin("src/doc", &yaml("doc", "env_vars:\n  - name: API_TOKEN\n"), &[("README.md", "# Doc\n", false)]);
    env.ok(&["add", src.to_str().unwrap(), "-y", "--set", &format!("API_TOKEN={DB}")]);
    let readme = env.atk_home.join("plugins/doc/README.md");
    write(&readme, &format!("# Doc\n\nmy token: {DB}\n\n```\nexport GITHUB_TOKEN={GH}\n```\n"), false);
    let out = atk(&env, None, &["help", "doc"]);
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let text = both(&out);
    assert_clean("help", &text, &[DB, GH]);
    assert!(text.contains("my token: ********") && text.contains("export GITHUB_TOKEN=********"), "{text}");
}

/// A plugin that declares a secret-named variable whose default is one letter repeated, and an
/// agent that says that letter back at length, would make every place of the output match at
/// length (the search cost the output's length times the value's: minutes of CPU for one
/// `plug`). The search has a budget; text it cannot check in it is withheld, never shown.
#[test]
fn output_made_to_be_slow_to_search_is_withheld_not_searched_for_ever() {
    let env = Env::new();
    let body = format!(
        "env_vars:\n  - name: SLOW_TOKEN\n    default: \"{}\"\nmcp:\n  transport: stdio\n  command: echo\n  args: [hi]\n",
        "a".repeat(20_000)
    );
    let src = env.plugin("src/slow", &yaml("slow", &body), &[]);
    env.ok(&["add", "-y", src.to_str().unwrap()]);
    let stubs = Stubs::new(&env, &["claude"]);
    stubs.fail("claude", &"a".repeat(131_072));
    let out = atk(&env, Some(&stubs.path_var()), &["plug", "slow", "--claude", "-y", "-v"]);
    let text = both(&out);
    assert_eq!(out.status.code(), Some(1), "{:.400}", text);
    assert!(text.contains("[131072 bytes withheld: it could not be checked for secrets]"), "{:.400}", text);
    assert!(!text.contains(&"a".repeat(64)), "no long run of the value is shown");
}
