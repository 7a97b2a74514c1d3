//! `atk export` and `atk import` attacked (issue 22): secrets that reach a home's history by ways
//! `git log` does not show, hostile files whose manifest is recomputed (it is not signed), and
//! imports stopped half-way.

use std::path::{Path, PathBuf};

use crate::common::data::tamper;
use crate::common::export::{json, members, name_of, rewrite, Exporter, Members, SECRET};
use crate::common::sources::{git_source_work, head};
use crate::common::*;

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

/// Rewrites the export `file` to `out` after `edit`, its manifest's list of members (sizes and
/// sha256) computed again, as anyone can: the manifest is not signed.
fn forge(file: &Path, out: &Path, edit: impl FnOnce(&mut Members)) {
    use sha2::Digest;
    let mut all = members(file);
    edit(&mut all);
    for (h, data) in all.iter_mut().skip(1) {
        h.set_size(data.len() as u64);
        h.set_cksum();
    }
    let mut doc: serde_json::Value = serde_json::from_slice(&all[0].1).unwrap();
    doc["members"] = all[1..]
        .iter()
        .map(|(h, d)| {
            let sha: String = sha2::Sha256::digest(d).iter().map(|b| format!("{b:02x}")).collect();
            serde_json::json!({"path": name_of(h), "size": d.len(), "sha256": sha})
        })
        .collect();
    all[0].1 = serde_json::to_vec(&doc).unwrap();
    let n = all[0].1.len() as u64;
    all[0].0.set_size(n);
    all[0].0.set_cksum();
    rewrite(out, &all);
}

/// A plugin that runs (its status says so), stopped for a copy of its data; its stop fails when
/// the file `fail-stop` is in its folder.
const STOPPED: &str = "lifecycle:\n  start: 'true'\n  stop: test ! -f fail-stop\n  status: 'true'\n";

/// A home with two local plugins that declare data (`alpha`, `beta`), each backed up, exported
/// with its data; the backups' IDs.
fn exported_with_data() -> (Env, PathBuf, Vec<String>) {
    let env = Env::new();
    for name in ["alpha", "beta"] {
        let files = [("atk-data.yaml", "paths: [data]\nstop: true\n", false)];
        let src = env.plugin(&format!("src/{name}"), &yaml(name, STOPPED), &files);
        env.ok(&["add", "-y", src.to_str().unwrap()]);
        write(&env.atk_home.join(format!("plugins/{name}/data/notes.txt")), &format!("{name}'s notes\n"), false);
        env.ok(&["backup", name]);
    }
    let file = env.path("laptop.atk");
    let report = json(&env, &["export", "--all", "-o", file.to_str().unwrap(), "--with-data"]);
    let ids: Vec<String> =
        report["data"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().into()).collect();
    assert_eq!(ids.len(), 2, "{report}");
    (env, file, ids)
}

/// Every file below `dir` (none when it does not exist).
fn files_below(dir: &Path) -> Vec<String> {
    if !dir.exists() {
        return vec![];
    }
    walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| !e.file_type().is_dir())
        .map(|e| e.path().strip_prefix(dir).unwrap().to_string_lossy().into_owned())
        // Below the backup folder, the home's own (`home-<first commit>/`): one home per test.
        .map(|f| match f.split_once('/') {
            Some((home, rest)) if home.starts_with("home-") => rest.to_string(),
            _ => f,
        })
        .collect()
}

/// A carried backup that is refused (one of another plugin, under the second plugin's name) is
/// refused before the home is made and before any backup is taken: no home, no backup, nothing
/// left beside the home.
#[test]
fn a_refused_carried_backup_leaves_no_home_and_takes_no_backup() {
    let (a, file, ids) = exported_with_data();
    let forged = a.path("forged.atk");
    forge(&file, &forged, |all| {
        let alpha = all.iter().find(|(h, _)| name_of(h).starts_with("data/alpha/")).unwrap().1.clone();
        let beta = all.iter_mut().find(|(h, _)| name_of(h).starts_with("data/beta/")).unwrap();
        beta.1 = alpha;
    });
    let b = Env::bare();
    let backups = b.home.join(".local/share/atk/backups");
    let (_, err) = b.fails(5, &["import", forged.to_str().unwrap(), "--with-data"]);
    assert!(err.contains(&format!("member data/beta/{}.atk-backup is a backup of another plugin", ids[1])), "{err}");
    assert!(!b.atk_home.exists(), "no home");
    assert_eq!(files_below(&backups), Vec::<String>::new(), "no backup taken");
    let left: Vec<_> = std::fs::read_dir(&b.home).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "nothing beside the home: {left:?}");
    // --into a home: the same, nothing changed.
    let c = Env::new();
    let before = c.snapshot();
    c.fails(5, &["import", forged.to_str().unwrap(), "--into", "--with-data"]);
    assert_eq!(c.snapshot(), before);
    assert_eq!(files_below(&c.home.join(".local/share/atk/backups")), Vec::<String>::new());
    // The file as written imports with both.
    let report = json(&b, &["import", file.to_str().unwrap(), "--with-data"]);
    assert_eq!(report["data"].as_array().unwrap().len(), 2, "{report}");
    assert_eq!(files_below(&backups).len(), 4, "two archives and their summaries");
}

/// A kill -9 while a carried backup is copied into the backup folder leaves no home (it is put in
/// place after the backups) and no half backup: a work file the next import removes.
#[test]
fn a_killed_import_with_data_leaves_no_home_and_no_half_backup() {
    let (_a, file, ids) = exported_with_data();
    let b = Env::bare();
    let backups = b.home.join(".local/share/atk/backups");
    kill_9(stop_at(&b, "adopt#2", &["import", file.to_str().unwrap(), "--with-data"]));
    assert!(!b.atk_home.exists(), "no home");
    let mut left = files_below(&backups);
    left.sort();
    assert_eq!(left.len(), 4, "{left:?}");
    assert_eq!(left[..2], [format!("alpha/{}.atk-backup", ids[0]), format!("alpha/{}.json", ids[0])]);
    // Only a work folder of beta's: the half copy, and the lock the killed atk held.
    assert!(left[2..].iter().all(|f| f.starts_with("beta/.tmp-")), "only a work folder of beta's: {left:?}");
    let report = json(&b, &["import", file.to_str().unwrap(), "--with-data"]);
    assert_eq!(report["data"].as_array().unwrap().len(), 2, "{report}");
    let mut left = files_below(&backups);
    left.sort();
    assert_eq!(
        left,
        [
            format!("alpha/{}.atk-backup", ids[0]),
            format!("alpha/{}.json", ids[0]),
            format!("beta/{}.atk-backup", ids[1]),
            format!("beta/{}.json", ids[1])
        ]
    );
    b.ok(&["install", "--all", "--offline"]);
    let restored = json(&b, &["restore", "--all", "--yes"]);
    assert_eq!(restored["done"].as_array().unwrap().len(), 2, "{restored}");
    assert_eq!(std::fs::read_to_string(b.atk_home.join("plugins/beta/data/notes.txt")).unwrap(), "beta's notes\n");
}

/// `restore --all` after an import: one plugin whose restore fails (its stop fails) is reported
/// and the others are restored (exit 1); a data folder that is a link out of the plugin (as a
/// hostile home can commit for a local plugin) is replaced, never written through.
#[test]
fn restore_all_after_an_import_restores_the_others_when_one_fails_and_never_writes_through_a_link() {
    let (a, file, ids) = exported_with_data();
    let victim = a.path("victim");
    write(&victim.join("keep.txt"), "precious\n", false);
    let b = Env::bare();
    json(&b, &["import", file.to_str().unwrap(), "--with-data"]);
    b.ok(&["install", "--all", "--offline"]);
    let alpha = b.atk_home.join("plugins/alpha");
    assert!(!alpha.join("data").exists(), "data is not committed: it comes with the backup");
    std::os::unix::fs::symlink(&victim, alpha.join("data")).unwrap();
    let beta = b.atk_home.join("plugins/beta");
    write(&beta.join("data/notes.txt"), "beta's new notes\n", false);
    write(&beta.join("fail-stop"), "", false);
    let out = b.cmd().args(["--json", "restore", "--all", "--yes"]).output().unwrap();
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["done"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["done"][0]["directory"], "alpha");
    assert_eq!(report["done"][0]["id"], ids[0].as_str());
    assert_eq!(report["failed"][0]["directory"], "beta");
    assert_eq!(report["failed"][0]["error"]["kind"], "lifecycle", "{report}");
    assert!(stderr.contains("beta: stop of plugin 'beta' failed"), "{stderr}");
    assert!(!std::fs::symlink_metadata(alpha.join("data")).unwrap().is_symlink(), "the link was replaced");
    assert_eq!(std::fs::read_to_string(alpha.join("data/notes.txt")).unwrap(), "alpha's notes\n");
    assert_eq!(files_below(&victim), ["keep.txt"], "nothing written through the link");
    assert_eq!(std::fs::read_to_string(victim.join("keep.txt")).unwrap(), "precious\n");
    assert_eq!(std::fs::read_to_string(beta.join("data/notes.txt")).unwrap(), "beta's new notes\n", "left as it was");
}

/// Every failpoint `args` passes in `env`, each pass counted (`step#3`).
fn points_passed(env: &Env, args: &[&str]) -> Vec<String> {
    let trace = env.path("trace");
    let _ = std::fs::remove_file(&trace);
    let out = env.cmd().args(args).env("ATK_FAILPOINT_TRACE", &trace).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut seen: std::collections::BTreeMap<String, usize> = Default::default();
    std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .map(|p| {
            let n = seen.entry(p.to_string()).or_default();
            *n += 1;
            format!("{p}#{n}")
        })
        .collect()
}

/// What the backup folder of `env` holds, sorted; work files (`.tmp-…`) as `<plugin>/.tmp`.
fn backup_folder(env: &Env) -> Vec<String> {
    let mut all: Vec<String> = files_below(&env.home.join(".local/share/atk/backups"))
        .into_iter()
        .map(|f| match f.split_once("/.tmp-") {
            Some((plugin, _)) => format!("{plugin}/.tmp"),
            None => f,
        })
        .collect();
    all.sort();
    all
}

/// A kill -9 at every point an import with data passes (a new home, then `--into`): no home or
/// the whole one, the home as it was or with every plugin added, each backup whole or absent; and
/// the import run again completes, leaving no work file.
#[test]
fn a_kill_at_every_point_of_an_import_with_data_leaves_no_half_home_and_no_half_backup() {
    let (_a, file, ids) = exported_with_data();
    let file = file.to_str().unwrap();
    let whole: Vec<String> = [("alpha", &ids[0]), ("beta", &ids[1])]
        .iter()
        .flat_map(|(p, id)| [format!("{p}/{id}.atk-backup"), format!("{p}/{id}.json")])
        .collect();

    let reference = Env::bare();
    let points = points_passed(&reference, &["import", file, "--with-data"]);
    assert_eq!(points, ["adopt#1", "adopt#2", "import#1"]);
    for point in &points {
        let b = Env::bare();
        kill_9(stop_at(&b, point, &["import", file, "--with-data"]));
        assert!(!b.atk_home.exists(), "{point}: no home");
        assert!(backup_folder(&b).iter().all(|f| whole.contains(f) || f.ends_with("/.tmp")), "{point}");
        b.ok(&["import", file, "--with-data"]);
        assert_eq!(backup_folder(&b), whole, "{point}: every backup, no work file");
        assert_eq!(b.manifest(), reference.manifest(), "{point}");
    }

    let reference = Env::new();
    let points = points_passed(&reference, &["import", file, "--into", "--with-data"]);
    assert!(points.iter().any(|p| p.starts_with("commit#")) && points.contains(&"adopt#2".into()), "{points:?}");
    let done = tree(&reference.atk_home);
    for point in &points {
        let c = Env::new();
        let before = tree(&c.atk_home);
        kill_9(stop_at(&c, point, &["import", file, "--into", "--with-data"]));
        c.ok(&["list"]);
        let now = tree(&c.atk_home);
        assert!(now == before || now == done, "{point}: neither the home as it was nor with every plugin");
        assert_eq!(c.git(&["status", "--porcelain"]), "", "{point}");
        assert!(backup_folder(&c).iter().all(|f| whole.contains(f) || f.ends_with("/.tmp")), "{point}");
        c.ok(&["import", file, "--into", "--with-data"]);
        assert_eq!(tree(&c.atk_home), done, "{point}");
        assert_eq!(backup_folder(&c), whole, "{point}: every backup, no work file");
    }
}

/// An import of a file that is not there (or is a folder) is a usage error with a hint, in one
/// line and as a JSON document; nothing is made.
#[test]
fn an_import_of_a_file_that_is_not_there_says_so_with_a_hint() {
    let b = Env::bare();
    let missing = b.path("nowhere.atk");
    let (_, err) = b.fails(2, &["import", missing.to_str().unwrap()]);
    assert_eq!(
        err.trim(),
        format!("error: {} does not exist\nhint: name the file `atk export --all -o FILE` wrote", missing.display())
    );
    let (_, err) = b.fails(2, &["import", b.dir.path().to_str().unwrap()]);
    assert!(err.contains("is not a file"), "{err}");
    let doc = json_doc(&b, &["import", missing.to_str().unwrap()], 2, &[]);
    assert_eq!(doc["error"]["kind"], "usage", "{doc}");
    assert_eq!(doc["error"]["hints"][0], "name the file `atk export --all -o FILE` wrote");
    assert!(!b.atk_home.exists());
}

/// The import and `install --all --offline` in a network namespace of their own (`unshare -n`:
/// no interface but a loopback that is down), while the exporter's sources are still served
/// outside it: the exporter's pins and files, with no attempt at any network.
#[test]
#[ignore = "needs root: a network namespace (unshare -n), as CI has (.ci/run runs the ignored tests)"]
fn an_import_and_an_offline_install_in_a_network_namespace_give_the_exporters_pins_and_files() {
    assert!(
        std::process::Command::new("unshare").args(["-n", "true"]).status().is_ok_and(|s| s.success()),
        "no network namespace can be made here (this test needs root)"
    );
    let a = Exporter::new();
    let file = a.export("laptop.atk");
    let b = Env::bare();
    let isolated = |args: &[&str]| {
        let mut c = std::process::Command::new("unshare");
        c.arg("-n").arg(bin()).args(args);
        b.apply(&mut c);
        c.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
        let out = wait_with_timeout(c.spawn().unwrap(), RUN_TIMEOUT);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    // Not reachable from in there, though served.
    let mut ls = std::process::Command::new("unshare");
    ls.args(["-n", "git", "ls-remote", &a.reg]).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    assert!(!ls.status().unwrap().success(), "the registry cannot be reached in the namespace");
    isolated(&["import", file.to_str().unwrap()]);
    isolated(&["--registry", &a.reg, "install", "--all", "--offline"]);
    a.assert_same_on(&b);
}

/// A damaged backup is not carried: the export says which, and how to go on, and writes nothing.
#[test]
fn a_damaged_backup_is_named_by_export_with_data_with_what_to_do() {
    let (a, _, ids) = exported_with_data();
    let archive = crate::common::data::backups_of(&a, "beta").join(format!("{}.atk-backup", ids[1]));
    let mut bytes = std::fs::read(&archive).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0xff;
    std::fs::write(&archive, bytes).unwrap();
    let out = a.path("again.atk");
    let (_, err) = a.fails(1, &["export", "--all", "-o", out.to_str().unwrap(), "--with-data"]);
    assert!(err.starts_with(&format!("error: backup {} of 'beta' cannot be carried: ", ids[1])), "{err}");
    assert!(
        err.contains(&format!(
            "hint: make a new one with `atk backup beta`, or delete this one: `rm {}`",
            archive.display()
        )),
        "{err}"
    );
    assert!(!out.exists());
    std::fs::remove_file(&archive).unwrap();
    let report = json(&a, &["export", "--all", "-o", out.to_str().unwrap(), "--with-data"]);
    assert_eq!(report["data"].as_array().unwrap().len(), 1, "the other plugin's: {report}");
}

/// Two imports of one target at once: the second never removes the work folder of the first,
/// which is still at work (only a killed one's). A later import clears what the killed one left.
#[test]
fn a_second_import_of_the_same_target_leaves_the_first_ones_work_alone() {
    let (_a, file, _) = exported_with_data();
    let file = file.to_str().unwrap();
    let b = Env::bare();
    let work = |env: &Env| -> Vec<String> {
        std::fs::read_dir(&env.home)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".atk-import-"))
            .collect()
    };
    let first = stop_at(&b, "import", &["import", file]);
    let theirs = work(&b);
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    b.ok(&["import", file]);
    assert_eq!(work(&b), theirs, "the first import's work folder is left to it");
    assert!(b.atk_home.join("manifest.yaml").is_file(), "the second import's home");
    kill_9(first);
    // Once it is dead, the next import (refused: a home is there) clears what it left.
    b.fails(1, &["import", file]);
    assert_eq!(work(&b), Vec::<String>::new());
    b.ok(&["list"]);
}

/// `git args…` in `dir` with `input`; its raw standard output.
fn git_bytes(dir: &Path, args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut c = git_command(dir);
    let mut child = c.args(args).stdin(std::process::Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input).unwrap();
    let out = wait_with_timeout(child, RUN_TIMEOUT);
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Writes a raw object of `kind` into the repository `dir` (no check of what it holds, as a
/// hostile exporter can); its id.
fn raw_object(dir: &Path, kind: &str, bytes: &[u8]) -> String {
    let id = git_bytes(dir, &["hash-object", "-t", kind, "--literally", "-w", "--stdin"], bytes);
    String::from_utf8(id).unwrap().trim().to_string()
}

/// The tree `base` (raw) with one more entry.
fn with_entry(base: &[u8], mode: &str, name: &[u8], id: &str) -> Vec<u8> {
    let mut tree = base.to_vec();
    tree.extend_from_slice(format!("{mode} ").as_bytes());
    tree.extend_from_slice(name);
    tree.push(0);
    tree.extend((0..20).map(|i| u8::from_str_radix(&id[2 * i..2 * i + 2], 16).unwrap()));
    tree
}

/// A plugin's tree at its pin carried in the file is as hostile as its exporter likes (the objects
/// are checked against their ids, not their names): an entry `..`, one whose name holds a `/`, a
/// link to `/etc` or to `..`. `install --all --offline` refuses each, naming it, before it writes
/// anything, in the plugin's folder or outside it.
#[test]
fn a_hostile_tree_carried_in_an_export_is_refused_by_the_offline_install() {
    let a = Env::new();
    let tool = git_source_work(&a);
    let url = format!("file://{}", tool.display());
    a.ok(&["add", "-y", &url]);
    let pin = head(&tool);
    let manifest = a.manifest();
    let plugin_tree = git_bytes(&tool, &["cat-file", "tree", "HEAD:.atk"], b"");
    let root = git(&tool, &["rev-parse", "HEAD^{tree}"]).trim().to_string();
    let atk = git(&tool, &["rev-parse", "HEAD:.atk"]).trim().to_string();
    let root_raw = git_bytes(&tool, &["cat-file", "tree", &root], b"");
    let file_blob = raw_object(&tool, "blob", b"owned\n");
    let cases: Vec<(&str, &str, &[u8], String, &str)> = vec![
        ("a name ..", "100644", b"..", file_blob.clone(), ".atk/.. in "),
        ("a name with a /", "100644", b"x/y", file_blob.clone(), "a name with a path separator"),
        ("a link to /etc", "120000", b"etc", raw_object(&tool, "blob", b"/etc"), "a link to /etc, outside"),
        ("a link out", "120000", b"up", raw_object(&tool, "blob", b"../../.."), "a link to ../../.., outside"),
    ];
    for (what, mode, name, id, why) in cases {
        let forged_atk = raw_object(&tool, "tree", &with_entry(&plugin_tree, mode, name, &id));
        // The root tree with `.atk` pointing at the forged one (same name length: replace the id).
        let at = root_raw.windows(5).position(|w| w == b".atk\0").unwrap() + 5;
        let mut forged_root = root_raw.clone();
        let bytes: Vec<u8> = (0..20).map(|i| u8::from_str_radix(&forged_atk[2 * i..2 * i + 2], 16).unwrap()).collect();
        forged_root[at..at + 20].copy_from_slice(&bytes);
        assert_ne!(forged_atk, atk);
        let forged_root = raw_object(&tool, "tree", &forged_root);
        let forged = git(&tool, &["commit-tree", &forged_root, "-p", &pin, "-m", "forged"]).trim().to_string();
        std::fs::write(a.atk_home.join("manifest.yaml"), manifest.replace(&pin, &forged)).unwrap();
        a.git(&["commit", "-qam", "pin the forged commit"]);
        let file = a.path("forged.atk");
        a.ok(&["export", "--all", "-o", file.to_str().unwrap()]);
        a.git(&["reset", "-q", "--hard", "HEAD~1"]);

        // On another machine, where the source is not.
        std::fs::rename(&tool, a.path("away")).unwrap();
        let b = Env::bare();
        let outside = b.dir.path().to_path_buf();
        let before = files_below(&outside);
        b.ok(&["import", file.to_str().unwrap()]);
        let after_import = files_below(&outside);
        // (`install --all` reports each plugin's failure and exits 1.)
        let (_, err) = b.fails(1, &["install", "--all", "--offline"]);
        assert!(err.contains(why) && err.contains("hint: the plugin cannot be installed safely"), "{what}: {err}");
        assert!(!b.atk_home.join("plugins/echo-tool/.atk-ref").exists(), "{what}: not installed");
        let now = files_below(&outside);
        let new: Vec<&String> = now.iter().filter(|f| !after_import.contains(f)).collect();
        assert!(
            new.iter().all(|f| f.starts_with("user/.atk/.git/") || f.starts_with("cache/")),
            "{what}: written by the install: {new:?}"
        );
        assert!(before.iter().all(|f| now.contains(f)), "{what}");
        std::fs::rename(a.path("away"), &tool).unwrap();
    }
}

/// A source's objects forged (the manifest recomputed): a size claim larger than the member, an
/// object whose bytes are not its id, a commit the stream lacks. Each is refused naming the member
/// (exit 5) before a home is made.
#[test]
fn forged_source_objects_are_refused_before_a_home_is_made() {
    let a = Env::new();
    let tool = git_source_work(&a);
    a.ok(&["add", "-y", &format!("file://{}", tool.display())]);
    let file = a.path("laptop.atk");
    a.ok(&["export", "--all", "-o", file.to_str().unwrap()]);
    std::fs::rename(&tool, a.path("away")).unwrap();
    let source = members(&file).iter().map(|(h, _)| name_of(h)).find(|n| n.starts_with("sources/")).unwrap();
    let stream = members(&file).into_iter().find(|(h, _)| name_of(h) == source).unwrap().1;
    let first_header_end = stream.iter().skip(14).position(|b| *b == b'\n').unwrap() + 14;
    let header = String::from_utf8(stream[14..first_header_end].to_vec()).unwrap();
    let (kind_id, _) = header.rsplit_once(' ').unwrap();
    type Edit = Box<dyn Fn(&mut Members)>;
    let set_source = |bytes: Vec<u8>| -> Edit {
        let source = source.clone();
        Box::new(move |all: &mut Members| {
            all.iter_mut().find(|(h, _)| name_of(h) == source).unwrap().1 = bytes.clone();
        })
    };
    let mut huge = b"atk-objects 1\n".to_vec();
    huge.extend_from_slice(format!("{kind_id} 99999999999999\n").as_bytes());
    let mut changed = stream.clone();
    let last = changed.len() - 2;
    changed[last] ^= 1;
    let cases: Vec<(&str, Edit, &str)> = vec![
        ("a huge size", set_source(huge), "is larger than the stream"),
        ("changed bytes", set_source(changed), "does not have that id"),
        (
            "a commit it lacks",
            Box::new(|all: &mut Members| {
                let mut doc: serde_json::Value = serde_json::from_slice(&all[0].1).unwrap();
                doc["sources"][0]["commits"][0] = "0123456789abcdef0123456789abcdef01234567".into();
                all[0].1 = serde_json::to_vec(&doc).unwrap();
            }),
            "does not hold the commit 0123456789abcdef0123456789abcdef01234567",
        ),
    ];
    for (what, edit, why) in cases {
        let forged = a.path("forged.atk");
        forge(&file, &forged, edit);
        let b = Env::bare();
        let (_, err) = b.fails(5, &["import", forged.to_str().unwrap()]);
        assert!(err.contains(&format!("error: {source}: ")) && err.contains(why), "{what}: {err}");
        assert!(!b.atk_home.exists(), "{what}: no home");
        let left: Vec<_> = std::fs::read_dir(&b.home).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(left.is_empty(), "{what}: {left:?}");
    }
}

/// `restore --all` after an import where one plugin's backup is damaged: that plugin is reported
/// (its data left as it is) and the others are restored; exit 1, a dry run too. With only the
/// damaged one left, the report alone, exit 1.
#[test]
fn restore_all_reports_a_damaged_backup_and_restores_the_others() {
    let (_a, file, ids) = exported_with_data();
    let b = Env::bare();
    json(&b, &["import", file.to_str().unwrap(), "--with-data"]);
    b.ok(&["install", "--all", "--offline"]);
    let archive = crate::common::data::backups_of(&b, "beta").join(format!("{}.atk-backup", ids[1]));
    let mut bytes = std::fs::read(&archive).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0xff;
    std::fs::write(&archive, bytes).unwrap();
    let beta = b.atk_home.join("plugins/beta");
    write(&beta.join("data/notes.txt"), "beta's new notes\n", false);
    let out = b.cmd().args(["--json", "restore", "--all", "--yes"]).output().unwrap();
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["done"][0]["directory"], "alpha", "{report}");
    assert_eq!(report["failed"][0]["directory"], "beta", "{report}");
    let message = report["failed"][0]["error"]["message"].as_str().unwrap();
    assert!(message.contains(&archive.display().to_string()), "{message}");
    assert!(stderr.contains("✗ beta: "), "{stderr}");
    assert_eq!(std::fs::read_to_string(b.atk_home.join("plugins/alpha/data/notes.txt")).unwrap(), "alpha's notes\n");
    assert_eq!(std::fs::read_to_string(beta.join("data/notes.txt")).unwrap(), "beta's new notes\n");
    // A dry run says the same, exit 1.
    let out = b.cmd().args(["--json", "restore", "--all", "--yes", "--dry-run"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report["plans"][0]["directory"].as_str(), report["failed"][0]["directory"].as_str()),
        (Some("alpha"), Some("beta"))
    );
    // With alpha's backups gone, beta's is all there is: the report alone.
    std::fs::remove_dir_all(crate::common::data::backups_of(&b, "alpha")).unwrap();
    let out = b.cmd().args(["--json", "restore", "--all", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["done"], serde_json::json!([]));
    assert_eq!(report["skipped"], serde_json::json!(["alpha"]));
    assert_eq!(report["failed"][0]["directory"], "beta", "{report}");
    assert_eq!(std::fs::read_to_string(beta.join("data/notes.txt")).unwrap(), "beta's new notes\n");
}

/// Renames, in a backup archive, beta's `data/notes.txt` to `data/.env` (its manifest too): a
/// backup that holds a secret, otherwise sound.
const TO_ENV: &str = "import json\nm0, d0 = members[0]\ndoc = json.loads(d0)\n\
for f in doc['files']:\n    if f['path'] == 'files/data/notes.txt': f['path'] = 'files/data/.env'\n\
d0 = json.dumps(doc).encode()\nm0.size = len(d0)\nmembers[0] = (m0, d0)\n\
for m, d in members:\n    if m.name == 'files/data/notes.txt': m.name = 'files/data/.env'";

/// A carried backup that holds a `.env`, one named out of the data folder (`data/../x`), one
/// whose name is not a backup ID: each refused (exit 5) before a home is made or a backup taken.
/// And the export never carries a backup that holds a `.env`.
#[test]
fn a_carried_backup_with_a_secret_or_a_bad_name_is_refused_and_never_exported() {
    let (a, file, ids) = exported_with_data();
    let beta = format!("data/beta/{}.atk-backup", ids[1]);
    let secret_backup = a.path("secret.atk-backup");
    let stored = crate::common::data::backups_of(&a, "beta").join(format!("{}.atk-backup", ids[1]));
    std::fs::copy(&stored, &secret_backup).unwrap();
    tamper(&secret_backup, TO_ENV);
    let secret_bytes = std::fs::read(&secret_backup).unwrap();
    type Edit = Box<dyn Fn(&mut Members)>;
    let rename = |to: &'static [u8]| -> Edit {
        let beta = beta.clone();
        Box::new(move |all: &mut Members| {
            let (h, _) = all.iter_mut().find(|(h, _)| name_of(h) == beta).unwrap();
            let field = &mut h.as_old_mut().name;
            field.fill(0);
            field[..to.len()].copy_from_slice(to);
        })
    };
    let beta_for_secret = beta.clone();
    let cases: Vec<(&str, Edit, String)> = vec![
        (
            "a secret",
            Box::new(move |all: &mut Members| {
                all.iter_mut().find(|(h, _)| name_of(h) == beta_for_secret).unwrap().1 = secret_bytes.clone();
            }),
            format!("member {beta} holds a secret file, which an export never carries"),
        ),
        ("out of the data folder", rename(b"data/../x.atk-backup"), "has a path atk refuses".into()),
        ("not a backup ID", rename(b"data/beta/x.atk-backup"), "is not named as atk names backups".into()),
    ];
    for (what, edit, why) in cases {
        let forged = a.path("forged.atk");
        forge(&file, &forged, edit);
        let b = Env::bare();
        let (_, err) = b.fails(5, &["import", forged.to_str().unwrap(), "--with-data"]);
        assert!(err.contains(&why), "{what}: {err}");
        assert!(!b.atk_home.exists(), "{what}: no home");
        assert!(files_below(&b.home).is_empty(), "{what}: {:?}", files_below(&b.home));
    }
    // The backup with a secret as beta's newest on the exporting machine: left out, said why.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    a.ok(&["backup", "beta"]);
    let newest = json(&a, &["backup", "--list", "beta"])["backups"][1]["file"].as_str().unwrap().to_string();
    std::fs::copy(&secret_backup, &newest).unwrap();
    std::fs::remove_file(&stored).unwrap();
    let out = a.path("again.atk");
    let report = json(&a, &["export", "--all", "-o", out.to_str().unwrap(), "--with-data"]);
    assert_eq!(report["data"][1]["directory"], "beta", "{report}");
    assert_eq!(report["data"][1]["id"], serde_json::Value::Null, "{report}");
    assert!(report["data"][1]["left_out"].as_str().unwrap().contains("secrets"), "{report}");
    assert!(!members(&out).iter().any(|(h, _)| name_of(h).starts_with("data/beta/")));
}

/// A home bundle whose list of refs is forged (`refs/heads/../x`, `refs/heads/.git/config`, a
/// ref below a lock name): git takes none of them; the imported home has its one branch, the
/// `.git/config` an `atk init` writes, and no hook (a bundle carries none).
#[test]
fn a_bundle_with_odd_refs_makes_a_home_with_atks_own_git_config_and_no_hook() {
    let a = Env::new();
    let file = a.path("laptop.atk");
    a.ok(&["export", "--all", "-o", file.to_str().unwrap()]);
    let head_id = a.git(&["rev-parse", "HEAD"]).trim().to_string();
    let forged = a.path("forged.atk");
    forge(&file, &forged, |all| {
        let (_, bundle) = all.iter_mut().find(|(h, _)| name_of(h) == "home.bundle").unwrap();
        let at = bundle.windows(2).position(|w| w == b"\n\n").unwrap() + 1;
        let mut extra = Vec::new();
        for name in ["refs/heads/../x", "refs/heads/.git/config", "refs/heads/main.lock/y", "config"] {
            extra.extend_from_slice(format!("{head_id} {name}\n").as_bytes());
        }
        bundle.splice(at..at, extra);
    });
    let b = Env::bare();
    b.ok(&["import", forged.to_str().unwrap()]);
    assert_eq!(b.git(&["for-each-ref", "--format=%(refname)"]).trim(), "refs/heads/main");
    let fresh = Env::new();
    assert_eq!(
        std::fs::read_to_string(b.atk_home.join(".git/config")).unwrap(),
        std::fs::read_to_string(fresh.atk_home.join(".git/config")).unwrap()
    );
    let hooks: Vec<String> = files_below(&b.atk_home.join(".git/hooks"))
        .into_iter()
        .filter(|h| !h.ends_with(".sample") && h != "docs.url")
        .collect();
    assert!(hooks.is_empty(), "{hooks:?}");
    assert!(!b.home.join("x").exists() && !b.atk_home.join(".git/x").exists());
    b.ok(&["list"]);
}

/// `import --into --with-data` leaves the plugins the home has as they are, their data too: their
/// carried backups go to the backup folder, but the restore it suggests is of the plugins it
/// added only (a `restore --all` would replace this machine's data with the other's). Data
/// carried later (`--into --with-data` after a plain import) is taken all the same.
#[test]
fn import_into_with_data_never_suggests_restoring_a_plugin_the_home_had() {
    let (_a, file, ids) = exported_with_data();
    let c = Env::new();
    let files = [("atk-data.yaml", "paths: [data]\nstop: true\n", false)];
    let src = c.plugin("src/alpha", &yaml("alpha", STOPPED), &files);
    c.ok(&["add", "-y", src.to_str().unwrap()]);
    let alpha = c.atk_home.join("plugins/alpha/data/notes.txt");
    write(&alpha, "this machine's notes\n", false);
    let report = json(&c, &["import", file.to_str().unwrap(), "--into", "--with-data"]);
    assert_eq!(report["data"][0]["id"], ids[0].as_str(), "{report}");
    assert_eq!(report["data"][1]["id"], ids[1].as_str(), "{report}");
    let next = report["next"].as_str().unwrap();
    assert_eq!(next, "atk install --all --offline, then atk restore beta --yes");
    c.ok(&["install", "--all", "--offline"]);
    let restored = json(&c, &["restore", "beta", "--yes"]);
    assert_eq!(restored["id"], ids[1].as_str(), "{restored}");
    assert_eq!(std::fs::read_to_string(&alpha).unwrap(), "this machine's notes\n");
    assert_eq!(std::fs::read_to_string(c.atk_home.join("plugins/beta/data/notes.txt")).unwrap(), "beta's notes\n");
    // Again: every plugin is in the home now; no restore is suggested, each backup says how.
    let out = c.ok(&["import", file.to_str().unwrap(), "--into", "--with-data"]);
    assert!(out.contains("next: atk install --all --offline\n"), "{out}");
    assert!(
        out.contains(&format!(
            "the home had the plugin, so its data is left as it is (`atk restore alpha --from {}`",
            ids[0]
        )),
        "{out}"
    );

    // Imported without its data first, then the data: every backup is taken.
    let b = Env::bare();
    b.ok(&["import", file.to_str().unwrap()]);
    let report = json(&b, &["import", file.to_str().unwrap(), "--into", "--with-data"]);
    assert_eq!(report["data"].as_array().unwrap().len(), 2, "{report}");
    assert_eq!(report["next"], "atk install --all --offline");
    b.ok(&["install", "--all", "--offline"]);
    let restored = json(&b, &["restore", "--all", "--yes"]);
    assert_eq!(restored["done"].as_array().unwrap().len(), 2, "{restored}");
}

/// A kill -9 while an export is written leaves the file as it was (or absent) and nothing but a
/// work folder beside it, which the next export removes: no half file, no temporary file.
#[test]
fn a_killed_export_leaves_the_old_file_and_nothing_the_next_export_does_not_remove() {
    let env = Env::new();
    let dir = env.path("out");
    std::fs::create_dir(&dir).unwrap();
    let out = dir.join("laptop.atk");
    let out_s = out.to_str().unwrap();
    env.ok(&["export", "--all", "-o", out_s]);
    let old = std::fs::read(&out).unwrap();
    env.ok(&["add", "-y", env.fixture("minimal").to_str().unwrap()]);
    kill_9(stop_at(&env, "export", &["export", "--all", "-o", out_s]));
    assert_eq!(std::fs::read(&out).unwrap(), old, "the old file");
    let names = || -> Vec<String> {
        let mut n: Vec<String> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        n.sort();
        n
    };
    let left = names();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left[0].starts_with(".atk-export-laptop.atk."), "only a work folder: {left:?}");
    let report = json(&env, &["export", "--all", "-o", out_s]);
    assert_eq!(report["plugins"][0]["directory"], "minimal");
    assert_eq!(names(), ["laptop.atk"]);
    // Killed before there was a file: none.
    let other = dir.join("other.atk");
    kill_9(stop_at(&env, "export", &["export", "--all", "-o", other.to_str().unwrap()]));
    assert!(!other.exists());
}

/// A source URL forged to name a repository on the importing machine, or git's `ext::` transport
/// (a command): the import reads the first in place and writes nothing into it, and runs nothing
/// for the second (its objects go to a cache repository of their own, under the cache).
#[test]
fn a_forged_source_url_writes_into_no_local_repository_and_runs_nothing() {
    let a = Env::new();
    let tool = git_source_work(&a);
    a.ok(&["add", "-y", &format!("file://{}", tool.display())]);
    let file = a.path("laptop.atk");
    a.ok(&["export", "--all", "-o", file.to_str().unwrap()]);
    let b = Env::bare();
    let mine = b.path("mine");
    git(b.dir.path(), &["init", "-q", "-b", "main", mine.to_str().unwrap()]);
    git(&mine, &["commit", "-q", "--allow-empty", "-m", "mine"]);
    // Every file of it, its .git too.
    let all = |dir: &Path| -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<(String, Vec<u8>)> = files_below(dir)
            .into_iter()
            .map(|f| (f.clone(), std::fs::read(dir.join(&f)).unwrap_or_default()))
            .collect();
        files.sort();
        files
    };
    let before = all(&mine);
    let pwned = b.path("pwned");
    let ext = format!("ext::sh -c touch% {}", pwned.display());
    for url in [mine.to_str().unwrap(), &ext] {
        let forged = a.path("forged.atk");
        let url = url.to_string();
        forge(&file, &forged, move |all| {
            let mut doc: serde_json::Value = serde_json::from_slice(&all[0].1).unwrap();
            doc["sources"][0]["url"] = url.clone().into();
            all[0].1 = serde_json::to_vec(&doc).unwrap();
        });
        let _ = std::fs::remove_dir_all(&b.atk_home);
        b.ok(&["import", forged.to_str().unwrap()]);
        assert!(all(&mine) == before, "nothing written into the repository");
        assert!(!pwned.exists(), "no command run");
        let caches: Vec<String> = files_below(&b.cache)
            .into_iter()
            .filter(|f| {
                !f.starts_with("git/")
                    || f.split('/').nth(1).is_some_and(|r| !r.ends_with(".git") && !r.ends_with(".lock"))
            })
            .collect();
        assert!(caches.is_empty(), "only cache repositories: {caches:?}");
    }
}

/// A home bundle whose manifest names a plugin folder that leads out (`../x`), into git's own
/// (`.git`) or below another (`a/b`): the import refuses it before a home is made.
#[test]
fn a_bundled_manifest_with_a_plugin_folder_out_of_plugins_is_refused() {
    let a = Env::new();
    a.ok(&["add", "-y", a.fixture("minimal").to_str().unwrap()]);
    let file = a.path("laptop.atk");
    a.ok(&["export", "--all", "-o", file.to_str().unwrap()]);
    let manifest = a.manifest();
    assert!(manifest.contains("directory: minimal"), "{manifest}");
    for bad in ["../x", ".git", "a/b"] {
        let work = a.path("forged-home");
        let _ = std::fs::remove_dir_all(&work);
        git(a.dir.path(), &["clone", "-q", a.atk_home.to_str().unwrap(), work.to_str().unwrap()]);
        std::fs::write(
            work.join("manifest.yaml"),
            manifest.replace("directory: minimal", &format!("directory: '{bad}'")),
        )
        .unwrap();
        git(&work, &["commit", "-qam", "forged"]);
        let bundle = a.path("forged.bundle");
        git(&work, &["bundle", "create", "-q", bundle.to_str().unwrap(), "--all"]);
        let head = git(&work, &["rev-parse", "HEAD"]).trim().to_string();
        let bytes = std::fs::read(&bundle).unwrap();
        let forged = a.path("forged.atk");
        forge(&file, &forged, move |all| {
            all.iter_mut().find(|(h, _)| name_of(h) == "home.bundle").unwrap().1 = bytes.clone();
            let mut doc: serde_json::Value = serde_json::from_slice(&all[0].1).unwrap();
            doc["home"]["head"] = head.clone().into();
            all[0].1 = serde_json::to_vec(&doc).unwrap();
        });
        let b = Env::bare();
        let out = b.cmd().args(["import", forged.to_str().unwrap()]).output().unwrap();
        let (_, err) = texts(&out);
        assert!(!out.status.success(), "{bad}");
        assert!(err.contains("manifest.yaml") && err.contains("directory"), "{bad}: {err}");
        assert!(!b.atk_home.exists() && !b.home.join("x").exists(), "{bad}");
        assert!(files_below(&b.home).is_empty(), "{bad}: {:?}", files_below(&b.home));
    }
}

/// A secret file whose content is also another file's (git keeps one object for both, named by
/// the other path) is refused by its own name all the same.
#[test]
fn a_secret_with_the_content_of_another_file_is_refused_by_its_name() {
    let env = Env::new();
    write(&env.atk_home.join("plugins/notes.md"), "same\n", false);
    env.git(&["add", "-f", "plugins/notes.md"]);
    env.git(&["commit", "-q", "-m", "notes"]);
    write(&env.atk_home.join("plugins/zz.env"), "same\n", false);
    env.git(&["add", "-f", "plugins/zz.env"]);
    env.git(&["commit", "-q", "-m", "oops"]);
    let err = export_as(&env, "x.atk", 1);
    assert!(err.contains("history holds secret files (plugins/zz.env)"), "{err}");
}

/// A pin in a forged file's list of plugins is text from outside: a character of several bytes
/// where atk shortens it, or a terminal's control sequence, is shown escaped, never cut in two (a
/// panic) nor sent to the terminal.
#[test]
fn a_forged_pin_in_the_files_plugin_list_is_shown_escaped() {
    let a = Env::new();
    let tool = git_source_work(&a);
    a.ok(&["add", "-y", &format!("file://{}", tool.display())]);
    let file = a.path("laptop.atk");
    a.ok(&["export", "--all", "-o", file.to_str().unwrap()]);
    let forged = a.path("forged.atk");
    forge(&file, &forged, |all| {
        let mut doc: serde_json::Value = serde_json::from_slice(&all[0].1).unwrap();
        doc["plugins"][0]["pin"] = "abcdefghijké\u{1b}]0;owned\u{7}".into();
        all[0].1 = serde_json::to_vec(&doc).unwrap();
    });
    let b = Env::bare();
    let out = b.cmd().args(["import", forged.to_str().unwrap()]).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("@ abcdefghijké"), "{stdout}");
    assert!(!stdout.contains('\u{1b}') && !stdout.contains('\u{7}'), "{stdout:?}");
}

/// A history whose lists of objects and paths are long (thousands of files): a secret file in the
/// middle of them is found as one at their start would be (git's answer is read whole, not cut to
/// its start and end as a program's output shown to a person is).
#[test]
fn a_secret_among_thousands_of_files_is_never_exported() {
    let env = Env::new();
    let bulk = env.atk_home.join("plugins/bulk");
    for prefix in ["a", "z"] {
        for i in 0..3000 {
            let name = format!("{prefix}{i:05}-some-longer-file-name.txt");
            write(&bulk.join(&name), &format!("{name}\n"), false);
        }
    }
    write(&bulk.join("leak.env"), &format!("TOKEN={SECRET}\n"), false);
    env.git(&["add", "-f", "plugins/bulk"]);
    env.git(&["commit", "-q", "-m", "bulk"]);
    let listed = env.git(&["log", "--all", "--name-only", "--format="]);
    assert!(listed.len() > 256 * 1024, "the list of paths is long: {} bytes", listed.len());
    let err = export_as(&env, "bulk.atk", 1);
    assert!(err.contains("history holds secret files (plugins/bulk/leak.env)"), "{err}");
}
