//! Credentials in URLs (issue 8, item 7): a token or password in an http(s) URL is refused
//! wherever the URL comes from, never printed, and nothing is changed; ssh user names stay allowed.

use crate::common::*;

const TOKEN: &str = "ghp_T0kenThatMustNeverLeak";

/// The URL forms that carry credentials: a token as the user name, and user:password, over http
/// and https.
fn credential_urls() -> Vec<String> {
    vec![
        format!("https://{TOKEN}@127.0.0.1:1/org/tool.git"),
        format!("http://{TOKEN}@127.0.0.1:1/org/tool.git"),
        format!("https://me:{TOKEN}@127.0.0.1:1/org/tool.git"),
        format!("http://me:{TOKEN}@127.0.0.1:1/org/tool.git"),
        format!("{TOKEN}@example.invalid/org/tool"),
        format!("HTTPS://{TOKEN}@127.0.0.1:1/org/tool.git"),
        format!("git://{TOKEN}@127.0.0.1:1/org/tool.git"),
        format!("https://127.0.0.1:1/org/tool.git?private_token={TOKEN}"),
    ]
}

fn assert_refused(err: &str, what: &str) {
    assert!(err.contains("holds a password, token or query string"), "{what}: {err}");
    assert!(err.contains("***"), "{what}: the URL is shown masked: {err}");
    assert!(err.contains("hint:") && err.contains("credential helper"), "{what}: {err}");
    assert!(!err.contains(TOKEN), "{what}: the token leaked: {err}");
}

fn nothing_fetched(env: &Env) {
    let git = env.cache.join("git");
    assert!(
        !git.exists() || std::fs::read_dir(&git).unwrap().next().is_none(),
        "no cache repository was created for a refused URL"
    );
}

#[test]
fn tokens_in_added_urls_are_refused_and_never_shown() {
    let env = Env::new();
    let before = env.snapshot();
    // A password with a `/` in it makes no URL at all: refused all the same, and masked.
    let url = format!("https://me:pa/{TOKEN}@127.0.0.1:1/org/tool.git");
    for args in [vec!["add", url.as_str()], vec!["--registry", url.as_str(), "add", "hello"]] {
        let (out, err) = env.fails(5, &args);
        assert!(!err.contains(TOKEN) && !out.contains(TOKEN), "{err}");
        assert!(err.contains("https://***@127.0.0.1:1/org/tool.git"), "{err}");
    }
    for url in credential_urls() {
        let (out, err) = env.fails(5, &["add", &url]);
        assert_refused(&err, &url);
        assert!(!out.contains(TOKEN));
        let (out, err) = env.fails(5, &["--json", "add", &url]);
        assert!(!out.contains(TOKEN) && !err.contains(TOKEN), "{out}{err}");
    }
    // A URL gix cannot parse is refused without quoting it either.
    let (_, err) = env.fails(5, &["add", &format!("https://{TOKEN}@")]);
    assert!(err.contains("https://***@ is not a URL git can fetch from") && !err.contains(TOKEN), "{err}");
    assert_eq!(env.snapshot(), before);
    assert!(!env.all_committed_paths().contains("plugins/"));
    nothing_fetched(&env);
}

#[test]
fn tokens_in_registry_urls_are_refused_from_the_flag_the_environment_and_the_manifest() {
    let env = Env::new();
    let before = env.snapshot();
    for url in credential_urls() {
        let (_, err) = env.fails(5, &["--registry", &url, "add", "hello"]);
        assert_refused(&err, &format!("--registry {url}"));
        let (_, err) = env.fails(5, &["--registry", &url, "search", "hello"]);
        assert_refused(&err, &format!("search --registry {url}"));
        let out = env.cmd().args(["add", "hello"]).env("ATK_REGISTRY", &url).output().unwrap();
        assert_eq!(out.status.code(), Some(5));
        assert_refused(&String::from_utf8_lossy(&out.stderr), &format!("ATK_REGISTRY={url}"));
    }
    assert_eq!(env.snapshot(), before);

    // A cloned home whose manifest names such a registry.
    let url = &credential_urls()[0];
    let m = env.manifest().replace("  auto_push: false\n", &format!("  auto_push: false\n  registry: {url}\n"));
    write(&env.atk_home.join("manifest.yaml"), &m, false);
    env.git(&["commit", "-qam", "registry with a token"]);
    let before = env.snapshot();
    let (_, err) = env.fails(5, &["add", "hello"]);
    assert_refused(&err, "config.registry");
    assert_eq!(env.snapshot(), before);
    nothing_fetched(&env);
}

#[test]
fn a_cloned_manifest_entry_with_a_token_url_is_refused_not_fetched() {
    let env = Env::new();
    let url = &credential_urls()[2];
    let m = env.manifest().replace(
        "plugins: []\n",
        &format!(
            "plugins:\n- name: Tool\n  directory: tool\n  source:\n    type: git\n    ref: {}\n    url: {url}\n",
            "0123456789abcdef0123456789abcdef01234567"
        ),
    );
    assert!(m.contains("directory: tool"), "{m}");
    write(&env.atk_home.join("manifest.yaml"), &m, false);
    env.git(&["commit", "-qam", "a git plugin with a token in its URL"]);
    let before = env.snapshot();
    for args in [&["install", "--all"][..], &["install", "tool"][..]] {
        let out = env.cmd().args(args).output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(!out.status.success(), "{args:?}: {text}");
        assert!(text.contains("holds a password, token or query string") && text.contains("***@"), "{args:?}: {text}");
        assert!(!text.contains(TOKEN), "{args:?}: the token leaked: {text}");
    }
    assert_eq!(env.snapshot(), before);
    nothing_fetched(&env);
}

#[test]
fn ssh_user_names_are_not_credentials() {
    let env = Env::new();
    // An ssh that cannot connect anywhere: the URL gets as far as connecting.
    let bin = env.path("failing-ssh");
    write(
        &bin.join("ssh"),
        "#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = -G ] && exit 0; done\n\
         echo 'ssh: connect to host example.invalid port 22: Connection refused' >&2\nexit 255\n",
        true,
    );
    let path = path_with(&bin);
    let before = env.snapshot();
    for url in ["git@example.invalid:org/tool.git", "ssh://git@example.invalid/org/tool.git"] {
        for args in [vec!["add", url], vec!["--registry", url, "add", "hello"]] {
            let out = env.cmd().args(&args).env("PATH", &path).output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(7), "{args:?}: {err}");
            assert!(!err.contains("password or token"), "{args:?}: {err}");
        }
    }
    assert_eq!(env.snapshot(), before);
}
