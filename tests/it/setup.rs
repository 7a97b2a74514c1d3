use crate::common::*;

#[test]
fn set_writes_values_keeping_comments_and_unknown_keys() {
    let env = Env::new();
    env.add_full();
    let path = env.atk_home.join("plugins/full-plugin/.env");
    let text = std::fs::read_to_string(&path).unwrap() + "# my own note\nEXTRA=keep\n";
    write(&path, &text, false);
    env.ok(&["setup", "full-plugin", "--set", "FULL_API_KEY=it's \"my\" secret #1 C:\\dir"]);
    let after = std::fs::read_to_string(&path).unwrap();
    assert!(after.contains("# my own note\nEXTRA=keep\n"), "{after}");
    assert_eq!(mode(&path), 0o600);
    // A value for which a form exists that sh reads the same as python-dotenv is written in it
    // (python-dotenv itself is checked in dotenv.rs).
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(". '{}'; printf %s \"$FULL_API_KEY\"", path.display()))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "it's \"my\" secret #1 C:\\dir");
    assert_eq!(env.git(&["status", "--porcelain"]), "", ".env is not tracked");
}

#[test]
fn missing_required_values_exit_8_without_a_terminal() {
    let env = Env::new();
    let src = env.plugin(
        "req",
        &yaml("Req", "env_vars:\n  - name: NEEDED\n    required: true\n  - name: OPT\n    default: d\n"),
        &[],
    );
    env.ok(&["add", "-y", src.to_str().unwrap()]);
    let (_, err) = env.fails(8, &["setup", "req"]);
    assert!(err.contains("NEEDED in plugin 'req'") && err.contains("atk setup req"), "{err}");
    env.ok(&["setup", "req", "--set", "NEEDED=1"]);
    let text = std::fs::read_to_string(env.atk_home.join("plugins/req/.env")).unwrap();
    assert!(text.contains("NEEDED=1") && text.contains("OPT=d"), "{text}");
}

#[test]
fn setup_all_and_unknown_keys() {
    let env = Env::new();
    env.add_full();
    env.ok(&["add", "-y", env.fixture("minimal").to_str().unwrap()]);
    let out = env.ok(&["setup", "--all", "--set", "FULL_MODE=slow", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["plugins"].as_array().unwrap().len(), 2);
    assert!(std::fs::read_to_string(env.atk_home.join("plugins/full-plugin/.env")).unwrap().contains("FULL_MODE=slow"));
    let (_, err) = env.fails(2, &["setup", "full-plugin", "--set", "NOPE=1"]);
    assert!(err.contains("declares no variable NOPE") && err.contains("FULL_API_KEY"), "{err}");
    let (_, err) = env.fails(2, &["setup", "full-plugin", "--set", "lower=hunter2"]);
    assert!(err.contains("--set 'lower=…'") && !err.contains("hunter2"), "values are never echoed: {err}");
    env.fails(4, &["setup", "nothing-here"]);
    env.fails(2, &["setup"]);
}

#[test]
fn prompts_on_a_terminal_hide_secrets_and_insist_on_required_values() {
    let env = Env::new();
    let src = env.plugin(
        "asks",
        &yaml("Asks", "env_vars:\n  - name: API_TOKEN\n    required: true\n    secret: true\n    description: the token\n  - name: REGION\n    default: eu\n"),
        &[],
    );
    env.ok(&["add", "-y", src.to_str().unwrap()]);
    let mut p = env.on_terminal(&["setup", "asks"]);
    p.exp_string("API_TOKEN (required) - the token").unwrap();
    send_secret(&mut p, "");
    p.exp_string("API_TOKEN is required").unwrap();
    p.exp_string("API_TOKEN (required)").unwrap();
    // Everything the terminal shows from the typed secret to the end: the echo of typed characters
    // (the terminal's own or the prompt's) would be in it.
    let mut until_next_prompt = send_secret(&mut p, "hunter2");
    until_next_prompt += &p.exp_string("REGION").unwrap();
    p.send_line("").unwrap();
    let rest = p.exp_eof().unwrap();
    assert!(!until_next_prompt.contains("hunter2"), "the secret was echoed: {until_next_prompt}");
    assert!(!rest.contains("hunter2"), "the secret was echoed: {rest}");
    let text = std::fs::read_to_string(env.atk_home.join("plugins/asks/.env")).unwrap();
    assert!(text.contains("API_TOKEN=hunter2") && text.contains("REGION=eu"), "{text}");

    // Asked again, the current secret is shown masked and kept on Enter.
    let mut p = env.on_terminal(&["setup", "asks"]);
    p.exp_string("[******** kept on Enter]").unwrap();
    send_secret(&mut p, "");
    p.exp_string("REGION").unwrap();
    p.send_line("us").unwrap();
    p.exp_eof().unwrap();
    let text = std::fs::read_to_string(env.atk_home.join("plugins/asks/.env")).unwrap();
    assert!(text.contains("API_TOKEN=hunter2") && text.contains("REGION=us"), "{text}");
}

#[test]
fn a_line_python_dotenv_cannot_parse_is_named_skipped_and_kept() {
    let env = Env::new();
    env.add_full();
    let path = env.atk_home.join("plugins/full-plugin/.env");
    write(&path, "OK=1\nBROKEN='s3cret' tail\nFULL_MODE=slow\n", false);
    let out = env.cmd().args(["setup", "full-plugin", "--set", "FULL_API_KEY=k"]).output().unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(".env line 2: cannot be parsed; it is ignored"), "{err}");
    assert!(!err.contains("s3cret"), "the line's content is never shown: {err}");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("OK=1\nBROKEN='s3cret' tail\nFULL_MODE=slow\n"), "{text}");
    assert!(text.contains("FULL_API_KEY=k\n"), "{text}");
}

#[test]
fn a_dotenv_edit_never_changes_other_values_or_hides_in_a_comment() {
    let env = Env::new();
    let src = env.plugin(
        "p1",
        &yaml(
            "P1",
            "env_vars:\n  - name: TOKEN\n    secret: true\n    description: \"The token\\rINJECTED=1\"\n  - name: OTHER\n",
        ),
        &[],
    );
    env.ok(&["add", "-y", src.to_str().unwrap()]);
    let path = env.atk_home.join("plugins/p1/.env");

    // An unterminated quote on line 2 would swallow an appended TOKEN and OTHER with it.
    let broken = "# notes\nNOTE=\"unterminated\nOTHER=1\n";
    write(&path, broken, false);
    let (out, err) = env.fails(1, &["setup", "p1", "--set", "TOKEN=my \"quoted\" s3cret"]);
    assert!(err.contains("line 2") && err.contains("would change other values"), "{err}");
    assert!(!err.contains("s3cret") && !out.contains("s3cret"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), broken, "nothing was written");

    // `KEY#note` keeps the note a comment.
    write(&path, "TOKEN#todo fill\n", false);
    env.ok(&["setup", "p1", "--set", "TOKEN=abc123"]);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("TOKEN=abc123 #todo fill\n"), "{text:?}");

    // A carriage return in a description stays inside the comment.
    std::fs::remove_file(&path).unwrap();
    env.ok(&["setup", "p1", "--set", "TOKEN=real", "--set", "OTHER=o"]);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("# The token\n# INJECTED=1\nTOKEN=real\n"), "{text:?}");
    assert!(!text.contains('\r'), "{text:?}");
}
