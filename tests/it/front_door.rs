//! What a newcomer meets first: man pages, `atk help COMMAND`, usage lines, and the words atk
//! uses for a plugin's maturity and for errors with no obvious cause.

use crate::common::*;

/// The commands `atk --help` lists.
fn listed_commands(env: &Env) -> Vec<String> {
    let help = env.ok(&["--help"]);
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

/// A man page rendered as `man -l` renders it (or groff, where man is missing): its text, and
/// what the renderer warned.
fn render_man(page: &std::path::Path) -> (String, String) {
    let have = |tool: &str| {
        std::process::Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().unwrap().status.success()
    };
    let out = if have("man") {
        std::process::Command::new("man")
            .args(["--warnings", "-l", "-P", "cat"])
            .arg(page)
            .env("MANWIDTH", "80")
            .output()
            .unwrap()
    } else {
        assert!(have("groff"), "neither man nor groff is installed (.ci/run installs groff-base)");
        std::process::Command::new("groff")
            .args(["-k", "-man", "-Tutf8", "-ww", "-P", "-cbou"])
            .arg(page)
            .output()
            .unwrap()
    };
    assert!(out.status.success(), "{}: {}", page.display(), both(&out));
    texts(&out)
}

#[test]
fn generate_man_writes_a_page_for_atk_and_every_command_that_man_renders() {
    let env = Env::bare();
    let dir = env.path("man");
    let out = env.ok(&["__generate-man", dir.to_str().unwrap()]);
    assert!(out.contains("man pages"), "{out}");
    let commands = listed_commands(&env);
    assert!(commands.len() > 20 && commands.contains(&"add".to_string()), "{commands:?}");
    assert!(!commands.iter().any(|c| c.starts_with("__")), "hidden from help: {commands:?}");
    let mut pages: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    pages.sort();
    let mut wanted = vec!["atk.1".to_string()];
    wanted.extend(commands.iter().map(|c| format!("atk-{c}.1")));
    for page in &wanted {
        assert!(pages.contains(page), "{page} missing from {pages:?}");
    }
    assert!(pages.contains(&"atk-registry-index.1".to_string()), "commands of commands too: {pages:?}");
    assert!(!pages.iter().any(|p| p.contains("__")), "{pages:?}");
    for page in &pages {
        let (text, warnings) = render_man(&dir.join(page));
        assert_eq!(warnings.trim(), "", "{page} renders without warnings");
        let name = page.trim_end_matches(".1");
        assert!(text.contains("NAME") && text.contains(name) && text.contains("SYNOPSIS"), "{page}: {text}");
    }
    let (add, _) = render_man(&dir.join("atk-add.1"));
    assert!(add.contains("--set") && add.contains("atk 0.1.0"), "{add}");

    // A link at a page's name is replaced, never written through.
    let victim = env.path("victim");
    write(&victim, "not a man page\n", false);
    std::fs::remove_file(dir.join("atk.1")).unwrap();
    std::os::unix::fs::symlink(&victim, dir.join("atk.1")).unwrap();
    env.ok(&["__generate-man", dir.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "not a man page\n");
    assert!(std::fs::symlink_metadata(dir.join("atk.1")).unwrap().file_type().is_file());
}

#[test]
fn help_of_a_command_is_its_help_unless_a_plugin_has_that_name() {
    // No home at all: the command's help still shows.
    let bare = Env::bare();
    let out = bare.ok(&["help", "add"]);
    assert!(out.contains("Usage: atk add") && out.contains("--set"), "{out}");
    bare.fails(3, &["help", "nothing-of-that-name"]);

    let env = Env::new();
    let out = env.ok(&["help", "upgrade"]);
    assert!(out.contains("Usage: atk upgrade") && out.contains("--dry-run"), "{out}");
    let v: serde_json::Value = serde_json::from_str(&env.ok(&["help", "upgrade", "--json"])).unwrap();
    assert_eq!(v["command"], "upgrade");
    assert!(v["help"].as_str().unwrap().contains("Usage: atk upgrade"), "{v}");
    let (_, err) = env.fails(4, &["help", "nothing-of-that-name"]);
    assert!(err.contains("no plugin named 'nothing-of-that-name'"), "{err}");
    // Hidden commands are not shown.
    env.fails(4, &["help", "__generate-man"]);
    // A plugin called like a command wins.
    let src = env.plugin("add", &yaml("add", ""), &[("README.md", "# The add plugin\n", false)]);
    env.ok(&["add", "-y", src.to_str().unwrap()]);
    let out = env.ok(&["help", "add"]);
    assert!(out.contains("# The add plugin") && !out.contains("Usage: atk add"), "{out}");
    let help = env.ok(&["help", "--help"]);
    assert!(help.contains("a plugin wins"), "{help}");

    // A home whose manifest cannot be read: the command's help still shows, with a warning.
    let broken = Env::new();
    let manifest = broken.atk_home.join("manifest.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, format!("{text}schema_version: '2026-02-06'\n")).unwrap();
    let out = broken.cmd().args(["help", "add"]).output().unwrap();
    let (o, e) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "{o}{e}");
    assert!(o.contains("Usage: atk add"), "{o}");
    assert!(e.starts_with("warning: no plugin could be looked up"), "{e}");
    // And a name that is no command fails with the home's own error.
    broken.fails(1, &["help", "nothing-of-that-name"]);
}

/// A plugin.yaml without `maturity` counts as ai-generated (atk-cli 0.4.0's default), and add
/// says so in those words, not that AI wrote it.
#[test]
fn a_plugin_without_maturity_is_said_to_declare_none() {
    let env = Env::new();
    let bare = "schema_version: '2026-01-23'\nname: handmade\ndescription: written by hand\n";
    let src = env.plugin("handmade", bare, &[]);
    let (_, err) = env.fails(2, &["add", src.to_str().unwrap()]);
    assert!(err.contains("'handmade' declares no maturity") && !err.contains("generated by AI"), "{err}");
    let ai = env.plugin(
        "by-ai",
        &bare
            .replace("handmade", "by-ai")
            .replace("by hand", "by AI")
            .replace("description: written by AI\n", "description: written by AI\nmaturity: ai-generated\n"),
        &[],
    );
    let (_, err) = env.fails(2, &["add", ai.to_str().unwrap()]);
    assert!(err.contains("'by-ai' is ai-generated: it was generated by AI"), "{err}");
}

/// `verified` is a registry's word: a local (or git) plugin's own `verified` is shown as
/// self-declared by `status` and `help`, a registry plugin's as verified.
#[test]
fn a_self_declared_verified_is_shown_as_such_by_status_and_help() {
    let env = Env::new();
    let work = crate::common::sources::registry_work(&env);
    env.ok(&["--registry", work.to_str().unwrap(), "add", "-y", "third"]);
    let src = env.plugin("mine", &yaml("mine", ""), &[]);
    env.ok(&["add", "-y", src.to_str().unwrap()]);

    let status = env.ok(&["status"]);
    let line = |name: &str| status.lines().find(|l| l.trim_start().starts_with(name)).unwrap_or_default().to_string();
    assert!(line("mine").contains("verified (self)"), "{status}");
    assert!(line("third").contains("verified") && !line("third").contains("(self)"), "{status}");
    let v: serde_json::Value = serde_json::from_str(&env.ok(&["status", "--json"])).unwrap();
    let by_name = |n: &str| v["plugins"].as_array().unwrap().iter().find(|p| p["directory"] == n).unwrap().clone();
    assert_eq!(by_name("mine")["maturity_self_declared"], true);
    assert!(by_name("third").get("maturity_self_declared").is_none(), "{v}");

    let help = env.ok(&["help", "mine"]);
    assert!(help.contains("verified (self-declared"), "{help}");
    let help = env.ok(&["help", "third"]);
    assert!(help.contains("verified") && !help.contains("self-declared"), "{help}");
    let v: serde_json::Value = serde_json::from_str(&env.ok(&["help", "mine", "--json"])).unwrap();
    assert_eq!(v["maturity_self_declared"], true);
}

/// The bundled example `notes` writes notes.txt (its install creates it) beside the files it
/// ships: right after the add, doctor names it as runtime data, with no warning.
#[test]
fn doctor_does_not_warn_about_what_a_plugin_wrote_itself() {
    let env = Env::new();
    env.set_identity("Test", "test@example.com");
    let work = crate::common::sources::registry_work(&env);
    let reg = work.to_str().unwrap();
    env.ok(&["--registry", reg, "add", "-y", "notes"]);
    assert!(env.atk_home.join("plugins/notes/notes.txt").is_file());
    let out = env.ok(&["--registry", reg, "doctor"]);
    assert!(out.contains("0 warnings, 0 problems"), "{out}");
    assert!(out.contains("✓ plugin: notes: shipped files equal its pinned commit"), "{out}");
    assert!(out.contains("files it wrote itself (runtime data, kept by upgrades): notes.txt"), "{out}");
}

/// A TLS server (`openssl s_server`) on 127.0.0.1 with `fixtures/tls/<cert>.pem`, which speaks
/// no HTTP after the handshake; killed when dropped.
struct TlsServer {
    child: std::process::Child,
    port: u16,
}

impl TlsServer {
    fn start(cert: &str) -> TlsServer {
        let port = free_port();
        let tls = fixtures().join("tls");
        let child = std::process::Command::new("openssl")
            .args(["s_server", "-quiet", "-accept", &port.to_string(), "-cert"])
            .arg(tls.join(format!("{cert}.pem")))
            .arg("-key")
            .arg(tls.join(format!("{cert}.key")))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("openssl is installed (.ci/run installs it)");
        let started = std::time::Instant::now();
        while !listening(port) {
            assert!(started.elapsed().as_secs() < 30, "openssl s_server did not listen on {port}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        TlsServer { child, port }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An https server whose certificate is not trusted: the error says so and how to trust it, and
/// doing what the hint says gets past the handshake.
#[test]
fn an_untrusted_certificate_is_named_with_how_to_trust_it() {
    let env = Env::new();
    let server = TlsServer::start("server");
    let url = format!("https://127.0.0.1:{}/tool.git", server.port);
    let (_, err) = env.fails(7, &["add", "-y", &url]);
    assert!(err.contains("Transport handshake failed"), "{err}");
    assert!(err.contains("hint: the server's certificate is not trusted (SSL certificate problem"), "{err}");
    assert!(err.contains("`git config --global http.sslCAInfo FILE`"), "{err}");
    // The hint followed: the certificate is trusted, what fails now is that no git server answers.
    let ca = fixtures().join("tls/ca.pem");
    let gitconfig = env.home.join(".gitconfig");
    let config = std::fs::read_to_string(&gitconfig).unwrap_or_default();
    write(&gitconfig, &format!("{config}[http]\n\tsslCAInfo = {}\n", ca.display()), false);
    let (_, err) = env.fails(7, &["add", "-y", &url]);
    assert!(!err.contains("certificate"), "{err}");
}

/// An upgrade that replaces shipped files the user edited names them in `--dry-run`, as the
/// upgrade itself does before it asks.
#[test]
fn upgrade_dry_run_names_the_edited_files_it_would_replace() {
    let env = Env::new();
    let work = crate::common::sources::registry_work(&env);
    let reg = work.to_str().unwrap();
    env.ok(&["--registry", reg, "add", "-y", "third"]);
    let data = env.atk_home.join("plugins/third/data.txt");
    write(&data, "my own data\n", false);
    write(&work.join("plugins/third/data.txt"), "third plugin data v2\n", false);
    crate::common::sources::commit_all(&work, "third v2");

    let out = env.cmd().args(["--registry", reg, "upgrade", "--all", "--dry-run"]).output().unwrap();
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("1 would be upgraded"), "{stdout}");
    assert!(stderr.contains("1 shipped file of 'third' changed since it was installed (data.txt)"), "{stderr}");
    assert!(stderr.contains("replaces it"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&data).unwrap(), "my own data\n");

    let (_, err) = env.fails(2, &["--registry", reg, "upgrade", "third"]);
    assert!(err.contains("(data.txt)") && err.contains("Replace your changes?"), "{err}");
    assert_eq!(std::fs::read_to_string(&data).unwrap(), "my own data\n");
    env.ok(&["--registry", reg, "upgrade", "third", "--yes"]);
    assert_eq!(std::fs::read_to_string(&data).unwrap(), "third plugin data v2\n");
}

/// A usage line shows what the command needs: not `--home <DIR>` because ATK_HOME is set (nor
/// `--registry`), and `<PLUGIN|--all>` where either will do.
#[test]
fn usage_lines_show_what_is_needed() {
    let env = Env::new();
    let out = env.cmd().args(["add"]).env("ATK_REGISTRY", "https://example.invalid/r.git").output().unwrap();
    let (_, err) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("Usage: atk add <SOURCE>"), "ATK_HOME is set by Env: {err}");
    for command in ["start", "stop", "install", "setup", "upgrade"] {
        let (_, err) = env.fails(2, &[command]);
        assert!(err.contains("<PLUGIN|--all>"), "{command}: {err}");
        assert!(err.contains(&format!("Usage: atk {command} ")) && !err.contains("--home"), "{command}: {err}");
    }
    let (_, err) = env.fails(2, &["start", "x", "--all"]);
    assert!(err.contains("cannot be used with '--all'"), "{err}");
    // The variables still count, and an option given wins over its variable.
    let other = env.path("other-home");
    env.cmd().args(["init"]).env("ATK_HOME", &other).assert().success();
    assert!(other.join("manifest.yaml").is_file());
    let given = env.path("given-home");
    env.cmd().args(["--home", given.to_str().unwrap(), "init"]).env("ATK_HOME", &other).assert().success();
    assert!(given.join("manifest.yaml").is_file());
    let help = env.ok(&["--help"]);
    assert!(help.contains("[env: ATK_HOME]") && help.contains("[env: ATK_REGISTRY]"), "{help}");
}
