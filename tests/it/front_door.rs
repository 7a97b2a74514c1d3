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
    let have = |tool: &str| std::process::Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().unwrap().status.success();
    let out = if have("man") {
        std::process::Command::new("man")
            .args(["--warnings", "-l", "-P", "cat"])
            .arg(page)
            .env("MANWIDTH", "80")
            .output()
            .unwrap()
    } else {
        assert!(have("groff"), "neither man nor groff is installed (.ci/run installs groff-base)");
        std::process::Command::new("groff").args(["-man", "-Tutf8", "-ww"]).arg(page).output().unwrap()
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
    let mut pages: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
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
}
