//! Every file atk reads from a plugin folder, a home or the user's agents, replaced in turn by a
//! FIFO (opening it for reading waited for a writer for ever), a device node that never ends, a
//! link to `/dev/zero` and a 2 GB sparse file: each command that reads the file ends at once with
//! its exit code and a message naming the file, and the next command works once the file is back.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::common::*;

/// What is put where a file should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bad {
    Fifo,
    /// A character device (`/dev/zero`'s numbers): reading it never ends.
    Device,
    /// A link to `/dev/zero`, out of the folder.
    LinkToZero,
    /// A 2 GB sparse file.
    Huge,
}

impl Bad {
    const ALL: [Bad; 4] = [Bad::Fifo, Bad::Device, Bad::LinkToZero, Bad::Huge];

    /// Puts it at `path` (whatever was there is removed first); `false` when this machine does not
    /// let the test make it (a device node without the right to `mknod`).
    fn place(self, path: &Path) -> bool {
        remove_any(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        match self {
            Bad::Fifo => {
                let ok = std::process::Command::new("mkfifo").arg(path).status().unwrap().success();
                assert!(ok, "mkfifo {}", path.display());
                true
            }
            Bad::Device => {
                let made = std::process::Command::new("mknod")
                    .args([path.to_str().unwrap(), "c", "1", "5"])
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                if !made {
                    eprintln!("mknod is not permitted here: the device node case of {} is skipped", path.display());
                }
                made
            }
            Bad::LinkToZero => {
                std::os::unix::fs::symlink("/dev/zero", path).unwrap();
                true
            }
            Bad::Huge => {
                std::fs::File::create(path).unwrap().set_len(2 << 30).unwrap();
                true
            }
        }
    }

    /// Words the message has for it (any of them).
    fn words(self) -> &'static [&'static str] {
        match self {
            Bad::Fifo => &["FIFO"],
            Bad::Device => &["device"],
            Bad::LinkToZero => &["symbolic link", "device"],
            Bad::Huge => &["bigger than"],
        }
    }
}

/// One file and the commands that read it, each with the exit code it must end with and whether
/// it must name the file (a command that does not read it must just work).
struct Case {
    /// The file, from the environment's folder.
    path: PathBuf,
    runs: Vec<(Vec<&'static str>, i32, bool)>,
    /// What is put there (a lock is written, never read: a huge one is fine).
    bad: &'static [Bad],
}

/// The plugin every case reads: a service, an MCP server, a README and a SKILL.md, an override.
fn plugin(env: &Env, name: &str) -> PathBuf {
    let extra = "env_vars:\n  - name: P_MODE\n    default: fast\nlifecycle:\n  start: 'true'\n  stop: 'true'\n  \
                 status: 'true'\nmcp:\n  transport: stdio\n  command: bash\n  args: [run.sh]\n";
    env.plugin(
        &format!("src/{name}"),
        &yaml(name, extra),
        &[
            ("run.sh", "exit 0\n", true),
            ("README.md", "# pp\n\nThe plugin.\n", false),
            ("SKILL.md", "Use pp.\n", false),
            ("custom/overrides.yaml", "description: overridden\n", false),
        ],
    )
}

/// Puts each bad thing in turn at each case's file, runs the case's commands, then puts the file
/// back and checks that the next command works. Every mismatch is collected, then reported.
fn check_all(env: &Env, cases: &[Case], after: &[&str]) {
    let mut failures = Vec::new();
    for case in cases {
        let original = std::fs::read(&case.path).ok();
        for &bad in case.bad {
            if !bad.place(&case.path) {
                continue;
            }
            for (args, code, names) in &case.runs {
                let (got, text) = run_bounded(env, args);
                let shown = case.path.display().to_string();
                let named = text.contains(&shown);
                let said = bad.words().iter().any(|w| text.contains(w));
                if got != Some(*code) || (*names && !(named && said)) {
                    failures.push(format!(
                        "{bad:?} at {shown}: atk {}: exit {got:?} (want {code}), names the path: {named}, says \
                         what it is: {said}\n{text}",
                        args.join(" ")
                    ));
                }
            }
            remove_any(&case.path);
            if let Some(bytes) = &original {
                std::fs::write(&case.path, bytes).unwrap();
            }
            let (got, text) = run_bounded(env, after);
            if got != Some(0) {
                failures.push(format!(
                    "after {bad:?} at {} was removed: atk {after:?}: {got:?}\n{text}",
                    case.path.display()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n\n{}", failures.len(), failures.join("\n\n"));
}

fn args(s: &'static str) -> Vec<&'static str> {
    s.split(' ').collect()
}

/// The plugin's own files: `.env`, `plugin.yaml`, `custom/overrides.yaml`, `README.md`.
#[test]
fn a_plugins_files_that_are_not_regular_files_are_refused_at_once() {
    let env = Env::new();
    env.ok(&["add", plugin(&env, "pp").to_str().unwrap(), "-y"]);
    env.ok(&["setup", "pp", "--set", "P_MODE=slow"]);
    let dir = env.atk_home.join("plugins/pp");
    let every = |definition: bool| {
        let mut runs = vec![
            // A row of the table says it: status goes on with the other plugins, and exits 0.
            (args("status pp"), 0, true),
            (args("status"), 0, true),
            // One plugin failed to start: a failure line, and exit 1 for the batch.
            (args("start --all"), 1, true),
            (args("doctor"), 1, true),
            (args("help pp"), 5, true),
            (args("mcp pp"), 5, true),
            (args("stop pp"), 5, true),
            (args("setup pp --set P_MODE=x"), 5, true),
        ];
        if definition {
            // list reads no plugin's files: it just works.
            runs.push((args("list"), 0, false));
        }
        runs
    };
    let cases = vec![
        Case { path: dir.join(".env"), runs: every(false), bad: &Bad::ALL },
        Case { path: dir.join("plugin.yaml"), runs: every(true), bad: &Bad::ALL },
        Case { path: dir.join("custom/overrides.yaml"), runs: every(true), bad: &Bad::ALL },
        // A README that cannot be read is not shown; the card is (a warning, exit 0).
        Case { path: dir.join("README.md"), runs: vec![(args("help pp"), 0, true)], bad: &Bad::ALL },
    ];
    check_all(&env, &cases, &["status"]);
}

/// The home's own files: `manifest.yaml`, the journal, the lock, the agents record.
#[test]
fn a_homes_files_that_are_not_regular_files_are_refused_at_once() {
    let env = Env::new();
    env.ok(&["add", plugin(&env, "pp").to_str().unwrap(), "-y"]);
    let state = env.atk_home.join(".git/atk");
    let cases = vec![
        Case {
            path: env.atk_home.join("manifest.yaml"),
            runs: vec![
                (args("list"), 1, true),
                (args("status"), 1, true),
                (args("doctor"), 1, true),
                (args("help pp"), 1, true),
            ],
            bad: &Bad::ALL,
        },
        Case {
            path: state.join("journal.jsonl"),
            runs: vec![
                (args("list"), 1, true),
                (args("status"), 1, true),
                (args("setup pp --set P_MODE=y"), 1, true),
                (args("doctor"), 1, true),
            ],
            bad: &Bad::ALL,
        },
        Case {
            path: state.join("lock"),
            runs: vec![(args("setup pp --set P_MODE=y"), 1, true)],
            bad: &[Bad::Fifo, Bad::Device, Bad::LinkToZero],
        },
        Case { path: state.join("agents.json"), runs: vec![(args("plug pp --cursor -y"), 1, true)], bad: &Bad::ALL },
    ];
    check_all(&env, &cases, &["list"]);
}

/// An agent's configuration in the user's home (here Cursor's): links are followed there (dotfiles
/// tools make them), but what they lead to must be a regular file of a sane size.
#[test]
fn an_agents_file_that_is_not_a_regular_file_is_refused_at_once() {
    let env = Env::new();
    env.ok(&["add", plugin(&env, "pp").to_str().unwrap(), "-y"]);
    let cases = vec![Case {
        path: env.home.join(".cursor/mcp.json"),
        // A failed agent is a failure line and exit 1, as for any agent that fails.
        runs: vec![(args("plug pp --cursor -y"), 1, true), (args("unplug pp --cursor -y"), 1, true)],
        bad: &Bad::ALL,
    }];
    check_all(&env, &cases, &["plug", "pp", "--cursor", "-y"]);
}

/// A plugin folder or definition given to `add` and `validate`.
#[test]
fn a_source_whose_definition_is_not_a_regular_file_is_refused_at_once() {
    let env = Env::new();
    let src = plugin(&env, "qq");
    let (folder, file) = (src.to_str().unwrap().to_string(), src.join("plugin.yaml").to_str().unwrap().to_string());
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let (folder, file) = (leak(folder), leak(file));
    let cases = vec![
        Case {
            path: src.join("plugin.yaml"),
            runs: vec![
                (vec!["add", folder, "-y"], 5, true),
                (vec!["add", file, "-y"], 5, true),
                (vec!["validate", folder], 5, true),
            ],
            bad: &Bad::ALL,
        },
        Case {
            path: src.join("custom/overrides.yaml"),
            runs: vec![(vec!["add", folder, "-y"], 5, true), (vec!["validate", folder], 5, true)],
            bad: &Bad::ALL,
        },
    ];
    check_all(&env, &cases, &["validate", folder]);
    assert!(!env.manifest().contains("name: qq"), "nothing was added");
}

/// `upgrade` reads the installed plugin's override and `.env` before it moves anything.
#[test]
fn an_upgrade_whose_plugin_files_are_not_regular_files_is_refused_at_once() {
    let env = Env::new();
    let work = crate::common::sources::registry_work(&env);
    let reg: &'static str = Box::leak(work.to_str().unwrap().to_string().into_boxed_str());
    env.ok(&["--registry", reg, "add", "-y", "hello", "--set", "HELLO_NAME=Ada"]);
    write(&env.atk_home.join("plugins/hello/custom/overrides.yaml"), "description: mine\n", false);
    write(&work.join("plugins/hello/NEW.md"), "new in v2\n", false);
    crate::common::sources::commit_all(&work, "hello v2");
    let dir = env.atk_home.join("plugins/hello");
    let upgrade = vec!["--registry", reg, "upgrade", "hello", "--yes"];
    let cases = vec![
        Case { path: dir.join("custom/overrides.yaml"), runs: vec![(upgrade.clone(), 5, true)], bad: &Bad::ALL },
        Case { path: dir.join(".env"), runs: vec![(upgrade.clone(), 5, true)], bad: &Bad::ALL },
    ];
    check_all(&env, &cases, &["status", "hello"]);
    // Nothing moved; with the files back, the upgrade goes through.
    assert!(!dir.join("NEW.md").exists());
    env.ok(&upgrade);
    assert!(dir.join("NEW.md").is_file());
}

/// A local plugin's whole folder is committed: what its install command leaves there is read to
/// be hashed. A FIFO is not a file git tracks (it is left out); a 2 GB file is refused by name and
/// the add is rolled back.
#[test]
fn what_an_install_leaves_in_a_local_plugin_is_committed_or_refused_at_once() {
    let env = Env::new();
    let extra = |cmd: &str| format!("lifecycle:\n  install: {cmd}\n  uninstall: 'true'\n");
    let fifo = env.plugin("src/fifo", &yaml("fifo", &extra("mkfifo data.fifo")), &[]);
    let big = env.plugin("src/big", &yaml("big", &extra("truncate -s 2G big.bin")), &[]);
    // The 2 GB file first: the test's own snapshot of the home would block on the FIFO.
    let before = env.snapshot();
    let (code, text) = run_bounded(&env, &["add", big.to_str().unwrap(), "-y"]);
    assert_eq!(code, Some(5), "{text}");
    let shown = env.atk_home.join("plugins/big/big.bin").display().to_string();
    assert!(text.contains(&shown) && text.contains("bigger than 100 MiB"), "{text}");
    assert_eq!(env.snapshot(), before, "the add is rolled back");
    let (code, text) = run_bounded(&env, &["add", fifo.to_str().unwrap(), "-y"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(env.atk_home.join("plugins/fifo/data.fifo").exists(), "install ran");
    let files = env.ls_files();
    assert!(files.contains(&"plugins/fifo/plugin.yaml".to_string()), "{files:?}");
    assert!(!files.contains(&"plugins/fifo/data.fifo".to_string()), "{files:?}");
    let (code, text) = run_bounded(&env, &["status"]);
    assert_eq!(code, Some(0), "{text}");
}

/// A plugin's `.atk-ref` (the commit its files are at) is read as every file of a home is: a FIFO,
/// a device, a link or a 2 GB file there is named, never taken for a missing record (before, a
/// 2 GB one made `install --all` put the plugin in again over its folder and `doctor` say "no
/// .atk-ref").
#[test]
fn an_atk_ref_that_is_not_a_regular_file_is_named() {
    let env = Env::new();
    let work = crate::common::sources::registry_work(&env);
    let reg: &'static str = Box::leak(work.to_str().unwrap().to_string().into_boxed_str());
    env.ok(&["--registry", reg, "add", "-y", "hello", "--set", "HELLO_NAME=Ada"]);
    let dir = env.atk_home.join("plugins/hello");
    let cases = vec![Case {
        path: dir.join(".atk-ref"),
        runs: vec![
            (args("doctor"), 1, true),
            (vec!["--registry", reg, "install", "--all"], 1, true),
            (vec!["--registry", reg, "upgrade", "hello", "--yes"], 1, true),
        ],
        bad: &Bad::ALL,
    }];
    check_all(&env, &cases, &["doctor"]);
    assert!(std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .all(|e| !e.file_name().to_string_lossy().ends_with(".atk-saved")));
}
