//! Attacks on the files atk keeps and reads in a home (issue 17, found after it): its own state
//! folder `.git/atk` or a folder in it replaced by a link out of the home, and the files git keeps
//! in the home (`.gitignore`, `.git/HEAD`, `.git/config`, a branch) replaced by a FIFO. Nothing
//! outside the home may be moved or deleted, and no command may hang.

use std::process::Stdio;

use crate::common::*;

/// No run may take longer than this, in seconds (a hang is what is tested against).
const BOUND: u64 = 20;

/// Runs atk bounded by [`BOUND`]; returns the exit code and stdout + stderr.
fn run(env: &Env, args: &[&str]) -> (Option<i32>, String) {
    let child =
        env.std_cmd().args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let out = wait_with_timeout(child, BOUND);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code(), text)
}

fn mini(env: &Env, name: &str) -> String {
    env.plugin(&format!("src/{name}"), &yaml(name, ""), &[("data.txt", "data\n", false)]).to_str().unwrap().to_string()
}

/// A folder outside the home with atk's state folder names in it, each holding a file.
fn outside_state(env: &Env) -> std::path::PathBuf {
    let out = env.path("outside/state");
    for d in ["txn", "trash", "staging"] {
        write(&out.join(d).join("keep"), "not the home's\n", false);
    }
    write(&out.join("precious"), "not the home's\n", false);
    out
}

#[test]
fn a_state_folder_linked_out_of_the_home_is_refused_and_nothing_outside_is_touched() {
    // `.git/atk` itself a link: before the fix, `atk add` deleted the folders txn/, trash/ and
    // staging/ of wherever it led.
    let env = Env::new();
    let out = outside_state(&env);
    let untouched = tree(&out);
    let state = env.atk_home.join(".git/atk");
    remove_any(&state);
    std::os::unix::fs::symlink(&out, &state).unwrap();
    for args in [vec!["add", &mini(&env, "mini"), "-y"], vec!["list"], vec!["status"]] {
        let (code, text) = run(&env, &args);
        assert_eq!(code, Some(1), "atk {args:?}: {text}");
        assert!(text.contains(&format!("{} is a symbolic link", state.display())), "atk {args:?}: {text}");
    }
    assert_eq!(tree(&out), untouched, "nothing outside the home changed");
    // Once the link is gone, the home works.
    std::fs::remove_file(&state).unwrap();
    env.ok(&["add", &mini(&env, "mini"), "-y"]);
    assert!(env.manifest().contains("name: mini"));
}

#[test]
fn a_transaction_folder_linked_out_of_the_home_gives_nothing_to_the_recovery() {
    // `.git/atk/txn` a link out, with a journal whose steps name saved copies there: before the
    // fix, the recovery moved `precious` from outside into the home (and out of its folder).
    let env = Env::new();
    let out = outside_state(&env);
    let untouched = tree(&out);
    let state = env.atk_home.join(".git/atk");
    std::fs::create_dir_all(&state).unwrap();
    std::os::unix::fs::symlink(&out, state.join("txn")).unwrap();
    let manifest = env.manifest();
    write(
        &state.join("journal.jsonl"),
        "{\"operation\":\"add\"}\n{\"undo\":\"move_back\",\"from\":\"plugins/stolen\",\"to\":\"precious\"}\n\
         {\"undo\":\"restore\",\"path\":\"manifest.yaml\",\"backup\":\"precious\"}\n",
        false,
    );
    let (code, text) = run(&env, &["list"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("was interrupted") && text.contains("that step was skipped"), "{text}");
    assert_eq!(tree(&out), untouched, "nothing outside the home changed");
    assert!(!env.atk_home.join("plugins/stolen").exists());
    assert_eq!(env.manifest(), manifest);
    assert!(std::fs::symlink_metadata(state.join("txn")).is_err(), "the link is gone");
    env.ok(&["add", &mini(&env, "mini"), "-y"]);
}
