//! `atk export` and `atk import` attacked (issue 22): secrets that reach a home's history by ways
//! `git log` does not show, hostile files whose manifest is recomputed (it is not signed), and
//! imports stopped half-way.

use crate::common::*;

const SECRET: &str = "hunter2-never-exported";

/// Whether `bytes` hold the secret.
fn has_secret(bytes: &[u8]) -> bool {
    bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes())
}

/// Writes an export of `env`'s home to `name`, expecting `code`; its stderr (empty on success).
fn export_as(env: &Env, name: &str, code: i32) -> String {
    let out = env.path(name);
    if code == 0 {
        env.ok(&["export", "--all", "-o", out.to_str().unwrap()]);
        return String::new();
    }
    let (_, err) = env.fails(code, &["export", "--all", "-o", out.to_str().unwrap()]);
    assert!(!out.exists(), "{err}");
    err
}

/// A secret file added in a merge shows in no `git log --name-only` (a merge lists no change by
/// default), and a tag can name a secret's content directly: neither reaches an export.
#[test]
fn a_secret_in_a_merge_or_behind_a_tag_is_never_exported() {
    let env = Env::new();
    let home = &env.atk_home;
    env.git(&["checkout", "-q", "-b", "side"]);
    env.git(&["commit", "-q", "--allow-empty", "-m", "side"]);
    env.git(&["checkout", "-q", "main"]);
    env.git(&["commit", "-q", "--allow-empty", "-m", "main"]);
    env.git(&["merge", "-q", "--no-commit", "side"]);
    write(&home.join("plugins/leak.env"), &format!("TOKEN={SECRET}\n"), false);
    env.git(&["add", "-f", "plugins/leak.env"]);
    env.git(&["commit", "-q", "-m", "merge"]);
    let logged = env.git(&["log", "--all", "--name-only", "--format="]);
    assert!(!logged.contains("leak.env"), "git log shows no change in a merge: {logged}");
    let err = export_as(&env, "merge.atk", 1);
    assert!(err.contains("history holds secret files (plugins/leak.env)"), "{err}");
    // Out of every commit (the merge undone), but its content named by a tag, plain or annotated.
    env.git(&["reset", "-q", "--hard", "HEAD~1"]);
    env.git(&["branch", "-q", "-D", "side"]);
    write(&home.join("plugins/leak.env"), &format!("TOKEN={SECRET}\n"), false);
    env.git(&["reflog", "expire", "--expire=now", "--all"]);
    env.git(&["gc", "-q", "--prune=now"]);
    let blob = env.git(&["hash-object", "-w", "plugins/leak.env"]).trim().to_string();
    std::fs::remove_file(home.join("plugins/leak.env")).unwrap();
    for tag in [vec!["tag", "token", &blob], vec!["tag", "-a", "-m", "kept", "token", &blob]] {
        env.git(&tag);
        let err = export_as(&env, "tag.atk", 1);
        assert!(err.contains("ref refs/tags/token names a file's content, not a commit"), "{err}");
        assert!(err.contains("hint: delete it if it is not needed: `atk git update-ref -d refs/tags/token`"), "{err}");
        env.git(&["tag", "-d", "token"]);
    }
    export_as(&env, "clean.atk", 0);
    let bytes = std::fs::read(env.path("clean.atk")).unwrap();
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut unzipped).unwrap();
    assert!(!has_secret(&bytes) && !has_secret(&unzipped));
}
