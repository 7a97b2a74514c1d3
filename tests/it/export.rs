//! `atk export` and `atk import` (issue 22): a whole setup in one file, imported on a machine where
//! no source can be reached, then `atk install --all --offline`; tampered files refused before
//! anything is written; secrets never in the file; `--into`; kill -9 during an import.

use std::io::Read;

use flate2::read::GzDecoder;

use crate::common::export::*;
use crate::common::sources::*;
use crate::common::*;

fn set_name(h: &mut tar::Header, name: &[u8]) {
    let field = &mut h.as_old_mut().name;
    field.fill(0);
    field[..name.len()].copy_from_slice(name);
    h.set_cksum();
}

/// The import on a machine with an empty cache and no network brings every plugin back at its
/// pin with the same files; the manifest (its locks too) and the history are the exporter's.
#[test]
fn an_import_on_a_machine_without_network_installs_every_plugin_at_its_pin() {
    let mut a = Exporter::new();
    let file = a.export("laptop.atk");
    assert_eq!(mode(&file) & 0o777, 0o600);
    let names: Vec<String> = members(&file).iter().map(|(h, _)| name_of(h)).collect();
    assert_eq!(names[0], "atk-export.json");
    assert!(names.contains(&"home.bundle".to_string()), "{names:?}");
    assert_eq!(names.iter().filter(|n| n.starts_with("sources/")).count(), 2, "one per source: {names:?}");
    let manifest: serde_json::Value = serde_json::from_slice(&members(&file)[0].1).unwrap();
    assert_eq!(manifest["home"]["head"], a.env.git(&["rev-parse", "HEAD"]).trim());
    let pins: Vec<(String, String)> = manifest["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["directory"].as_str().unwrap().into(), p["pin"].as_str().unwrap_or("").into()))
        .collect();
    assert_eq!(
        pins,
        [
            ("notes".to_string(), a.registry_pin.clone()),
            ("echo-tool".into(), a.tool_pin.clone()),
            ("minimal".into(), String::new())
        ]
    );
    for m in manifest["members"].as_array().unwrap() {
        assert_eq!(m["sha256"].as_str().unwrap().len(), 64);
    }
    a.go_offline();

    let b = Env::bare();
    let report = json(&b, &["import", file.to_str().unwrap()]);
    assert_eq!(report["created"], true);
    assert_eq!(report["added"].as_array().unwrap().len(), 3, "{report}");
    let next = report["next"].as_str().unwrap();
    assert_eq!(next, format!("atk --registry {} install --all --offline", a.reg), "the registry it came from");
    assert_eq!(b.manifest(), a.env.manifest(), "the manifest, locks and all, is the exporter's");
    assert_eq!(b.log(), a.env.log());
    assert_eq!(b.git(&["status", "--porcelain"]), "");
    assert!(!b.atk_home.join(".git/FETCH_HEAD").exists(), "nothing names the temporary bundle");
    assert_eq!(b.git(&["remote"]), "", "no remote: the exporter's is its own");
    assert!(!b.atk_home.join("plugins/notes/plugin.yaml").exists(), "remote plugins come with install");
    assert_eq!(
        std::fs::read_to_string(b.atk_home.join("plugins/notes/custom/overrides.yaml")).unwrap(),
        "description: my notes\n"
    );

    let words: Vec<&str> = next.split(' ').skip(1).collect();
    b.ok(&words);
    a.assert_same_on(&b);
    // Nothing was asked of the network: the cache had every commit.
    b.ok(&["--registry", &a.reg, "install", "--all", "--frozen"]);
}

/// No `.env` (a plugin's, or one in `custom/`) is in the file: not in its bytes, not once
/// decompressed, not in any object of the homes and caches an import makes.
#[test]
fn secrets_are_never_exported() {
    let mut a = Exporter::new();
    let file = a.export("laptop.atk");
    a.go_offline();
    let raw = std::fs::read(&file).unwrap();
    let mut unzipped = Vec::new();
    GzDecoder::new(&raw[..]).read_to_end(&mut unzipped).unwrap();
    let has = |bytes: &[u8]| bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes());
    assert!(!has(&raw) && !has(&unzipped));
    // The bundle and the objects are compressed inside: every object the import makes, read back.
    let b = Env::bare();
    b.ok(&["import", file.to_str().unwrap()]);
    let mut repos = vec![b.atk_home.join(".git")];
    repos.extend(std::fs::read_dir(b.cache.join("git")).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()));
    assert_eq!(repos.len(), 3, "the home and two sources: {repos:?}");
    for repo in repos {
        let mut cat = git_command(&repo);
        cat.args(["cat-file", "--batch-all-objects", "--batch"]);
        let out = wait_with_timeout(cat.spawn().unwrap(), RUN_TIMEOUT);
        assert!(out.status.success() && out.stdout.windows(7).any(|w| w == b" commit"), "{}", repo.display());
        assert!(!has(&out.stdout), "{}", repo.display());
    }
    let files = b.git(&["log", "--all", "--name-only", "--format="]);
    assert!(files.contains("plugins/minimal/notes.md") && !files.contains(".env"), "{files}");
}

/// Each tampering is refused, naming the member, with exit 5 (a path or member atk refuses), and
/// no home is made nor anything put in the cache.
#[test]
fn a_tampered_export_is_refused_before_anything_is_written() {
    let mut a = Exporter::new();
    let file = a.export("laptop.atk");
    a.go_offline();
    let original = members(&file);
    let at = |name: &str| original.iter().position(|(h, _)| name_of(h) == name).unwrap();
    let source = original.iter().map(|(h, _)| name_of(h)).find(|n| n.starts_with("sources/")).unwrap();

    let mut cases: Vec<(&str, Members, String, &str)> = Vec::new();
    let mut changed = original.clone();
    let i = at(&source);
    let mid = changed[i].1.len() / 2;
    changed[i].1[mid] ^= 1;
    cases.push(("a changed byte", changed, source.clone(), "differs from the manifest (sha256)"));
    let mut added = original.clone();
    let mut h = original[at("home.bundle")].0.clone();
    set_name(&mut h, b"extra.bin");
    added.push((h, b"more".to_vec()));
    cases.push(("a member added", added, "extra.bin".into(), "is not in the manifest"));
    let mut renamed = original.clone();
    set_name(&mut renamed[at("home.bundle")].0, b"../x");
    cases.push(("a member renamed", renamed, "../x".into(), "has a path atk refuses"));
    for (kind, why) in [(tar::EntryType::Symlink, "is a symbolic link"), (tar::EntryType::Char, "is a device node")] {
        let mut all = original.clone();
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(0);
        h.set_mode(0o644);
        set_name(&mut h, b"home.bundle");
        if kind == tar::EntryType::Symlink {
            h.set_link_name("/etc").unwrap();
        } else {
            h.set_device_major(1).unwrap();
            h.set_device_minor(3).unwrap();
        }
        h.set_cksum();
        all[at("home.bundle")] = (h, vec![]);
        cases.push((
            if kind == tar::EntryType::Symlink { "a link to /etc" } else { "a device node" },
            all,
            "home.bundle".into(),
            why,
        ));
    }
    let b = Env::bare();
    for (what, tampered, member, why) in cases {
        let bad = b.path("tampered.atk");
        rewrite(&bad, &tampered);
        let (_, err) = b.fails(5, &["import", bad.to_str().unwrap()]);
        assert!(err.contains(&format!("member '{member}' {why}")), "{what}: {err}");
        assert!(!b.atk_home.exists(), "{what}: no home");
        assert!(!b.cache.join("git").exists(), "{what}: nothing cached");
        let left: Vec<_> = std::fs::read_dir(&b.home).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(left.is_empty(), "{what}: nothing left beside the home: {left:?}");
        // --into a home changes nothing either.
    }
    // A manifest whose checksums hold but whose values do not (it is not signed: these are
    // checked for what they are): exit 1, nothing made.
    let doc: serde_json::Value = serde_json::from_slice(&original[0].1).unwrap();
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let edits: Vec<(&str, Edit, &str)> = vec![
        ("a newer format", Box::new(|d| d["format"] = 2.into()), "is in export format 2; this atk reads format 1"),
        ("a branch out of refs/heads", Box::new(|d| d["home"]["branch"] = "refs/heads/../x".into()), "no valid branch"),
        (
            "a commit that is not one",
            Box::new(|d| d["sources"][0]["commits"][0] = "HEAD~1".into()),
            "names a commit that is not one",
        ),
        (
            "a member it does not hold",
            Box::new(|d| d["home"]["member"] = "other.bundle".into()),
            "'other.bundle' is not in it",
        ),
    ];
    for (what, edit, why) in edits {
        let mut d = doc.clone();
        edit(&mut d);
        let mut all = original.clone();
        all[0].1 = serde_json::to_vec(&d).unwrap();
        let n = all[0].1.len() as u64;
        all[0].0.set_size(n);
        all[0].0.set_cksum();
        let bad = b.path("edited.atk");
        rewrite(&bad, &all);
        let (_, err) = b.fails(1, &["import", bad.to_str().unwrap()]);
        assert!(err.contains(why), "{what}: {err}");
        assert!(!b.atk_home.exists() && !b.cache.join("git").exists(), "{what}");
    }
    // Not an export at all: exit 1.
    let junk = b.path("junk.atk");
    std::fs::write(&junk, b"not an export").unwrap();
    let (_, err) = b.fails(1, &["import", junk.to_str().unwrap()]);
    assert!(err.contains("damaged or not an atk archive"), "{err}");
    // The untouched file still imports.
    b.ok(&["import", file.to_str().unwrap()]);
}

/// `--into` adds, one commit each, the plugins the home lacks, leaves the ones it has as they are,
/// and a tampered file changes nothing.
#[test]
fn import_into_adds_what_the_home_lacks_and_leaves_the_rest() {
    let mut a = Exporter::new();
    let file = a.export("laptop.atk");
    a.go_offline();
    let c = Env::new();
    c.ok(&["add", "-y", c.fixture("minimal").to_str().unwrap()]);
    write(&c.atk_home.join("plugins/minimal/mine.md"), "mine\n", false);
    c.git(&["add", "-A"]);
    c.git(&["commit", "-qm", "mine"]);
    let minimal = plugin_files(&c.atk_home, "minimal");

    let mut tampered = members(&file);
    let last = tampered.len() - 1;
    tampered[last].1[0] ^= 1;
    let bad = c.path("bad.atk");
    rewrite(&bad, &tampered);
    let before = c.snapshot();
    c.fails(5, &["import", bad.to_str().unwrap(), "--into"]);
    assert_eq!(c.snapshot(), before, "a tampered file changes nothing");

    let (_, err) = c.fails(1, &["import", file.to_str().unwrap()]);
    assert!(err.contains("exists and is not empty") && err.contains("--into"), "{err}");
    assert_eq!(c.snapshot(), before);

    let report = json(&c, &["import", file.to_str().unwrap(), "--into"]);
    let dirs = |key: &str| -> Vec<String> {
        report[key].as_array().unwrap().iter().map(|p| p["directory"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(dirs("added"), ["notes", "echo-tool"]);
    assert_eq!(dirs("kept"), ["minimal"]);
    assert_eq!(report["commits"].as_array().unwrap().len(), 2);
    assert_eq!(c.log()[..2], ["Add plugin 'Echo Tool'", "Add plugin 'Notes'"]);
    assert_eq!(plugin_files(&c.atk_home, "minimal"), minimal, "left as it was");
    assert_eq!(
        std::fs::read_to_string(c.atk_home.join("plugins/notes/custom/overrides.yaml")).unwrap(),
        "description: my notes\n",
        "a plugin's committed files come with it"
    );
    assert_eq!(c.git(&["status", "--porcelain"]), "");
    c.ok(&["--registry", &a.reg, "install", "--all", "--offline"]);
    for (dir, pin) in [("notes", &a.registry_pin), ("echo-tool", &a.tool_pin)] {
        let p = c.atk_home.join("plugins").join(dir);
        assert_eq!(std::fs::read_to_string(p.join(".atk-ref")).unwrap(), format!("{pin}\n"), "{dir}");
        assert_eq!(plugin_files(&c.atk_home, dir), plugin_files(&a.env.atk_home, dir), "{dir}");
    }
    // Again: every plugin is there now.
    let report = json(&c, &["import", file.to_str().unwrap(), "--into"]);
    assert_eq!(report["added"], serde_json::json!([]));
    assert_eq!(report["kept"].as_array().unwrap().len(), 3);
    // `undo` takes back the last one, as it would an add.
    c.ok(&["undo", "-y"]);
    assert!(!c.manifest().contains("echo-tool"));
}

/// A kill -9 while a new home is being imported leaves no home (and the next import cleans up
/// after it); one while `--into` commits is rolled back by the next atk.
#[test]
fn a_killed_import_leaves_no_half_home_and_a_killed_import_into_is_rolled_back() {
    let mut a = Exporter::new();
    let file = a.export("laptop.atk");
    a.go_offline();
    let b = Env::bare();
    kill_9(stop_at(&b, "import", &["import", file.to_str().unwrap()]));
    assert!(!b.atk_home.exists(), "no half home");
    let left: Vec<String> =
        std::fs::read_dir(&b.home).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(left.iter().all(|n| n.starts_with(".atk-import-.atk.")), "{left:?}");
    let out = b.ok(&["import", file.to_str().unwrap()]);
    assert!(out.contains("Imported ") && out.contains("(3 plugins)"), "{out}");
    assert!(out.contains(&format!("next: atk --registry {} install --all --offline", a.reg)), "{out}");
    let left: Vec<_> = std::fs::read_dir(&b.home).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, [std::ffi::OsString::from(".atk")], "what the killed import left is gone");

    let c = Env::new();
    let before = c.snapshot();
    kill_9(stop_at(&c, "commit#2", &["import", file.to_str().unwrap(), "--into"]));
    assert_ne!(c.snapshot(), before);
    c.ok(&["list"]);
    assert_eq!(c.snapshot(), before, "rolled back");
    c.ok(&["import", file.to_str().unwrap(), "--into"]);
    assert_eq!(c.log().len(), 4);
}

#[test]
fn export_says_what_it_needs() {
    let env = Env::new();
    let (_, err) = env.fails(2, &["export", "-o", "x.atk"]);
    assert!(err.contains("--all") && err.contains("hint: atk export --all -o laptop.atk"), "{err}");
    let (_, err) = env.fails(2, &["export", "--all"]);
    assert!(err.contains("-o FILE"), "{err}");
    // An uncommitted manifest is refused: the export would not be what the home says.
    let text = env.manifest().replace("auto_push: false", "auto_push: false\n  extra_key: 1");
    std::fs::write(env.atk_home.join("manifest.yaml"), text).unwrap();
    let out = env.path("x.atk");
    let (_, err) = env.fails(1, &["export", "--all", "-o", out.to_str().unwrap()]);
    assert!(err.contains("manifest.yaml has changes that are not committed"), "{err}");
    assert!(!out.exists());
    env.git(&["checkout", "-q", "manifest.yaml"]);
    // A detached HEAD: the imported home would have no branch to be on.
    env.git(&["checkout", "-q", "--detach"]);
    let (_, err) = env.fails(1, &["export", "--all", "-o", out.to_str().unwrap()]);
    assert!(err.contains("HEAD is not on a branch") && err.contains("atk git checkout main"), "{err}");
    env.git(&["checkout", "-q", "main"]);
    // A secret file committed behind atk's back (git can be made to) is never exported, even
    // once it is gone from HEAD: the bundle holds every commit.
    write(&env.atk_home.join("plugins/leak.env"), "TOKEN=1\n", false);
    env.git(&["add", "-f", "plugins/leak.env"]);
    env.git(&["commit", "-qm", "oops"]);
    env.git(&["rm", "-q", "--cached", "plugins/leak.env"]);
    env.git(&["commit", "-qm", "oops, undone"]);
    let (_, err) = env.fails(1, &["export", "--all", "-o", out.to_str().unwrap()]);
    assert!(err.contains("history holds secret files (plugins/leak.env)") && err.contains("filter-repo"), "{err}");
    assert!(!out.exists());
    env.git(&["reset", "-q", "--hard", "HEAD~2"]);
    // What a killed export left beside the file goes with the next one.
    let stale = env.path(".atk-export-x.atk.killed");
    write(&stale.join("home.bundle"), "half", false);
    // What is not committed is not exported, and said so.
    write(&env.atk_home.join("draft.md"), "not committed\n", false);
    let done = env.cmd().args(["export", "--all", "-o", out.to_str().unwrap()]).output().unwrap();
    let (stdout, stderr) = texts(&done);
    assert!(done.status.success(), "{stderr}");
    assert!(out.is_file() && !stale.exists());
    assert!(stderr.contains("draft.md has changes that are not committed: they are not in the export"), "{stderr}");
    assert!(
        stdout.contains("Exported the home (commit ") && stdout.contains("on another machine: atk import "),
        "{stdout}"
    );
    let report = json(&env, &["export", "--all", "-o", out.to_str().unwrap()]);
    assert_eq!(report["uncommitted"], serde_json::json!(["draft.md"]));
}

/// A git plugin added from a `file://` URL is read in place; once that repository is gone from the
/// machine (or on another one), the commits the import put in the cache stand in for it.
#[test]
fn a_file_source_gone_from_the_machine_is_installed_from_what_the_import_cached() {
    let a = Env::new();
    let tool = git_source_work(&a);
    let url = format!("file://{}", tool.display());
    a.ok(&["add", "-y", &url]);
    let pin = head(&tool);
    let file = a.path("laptop.atk");
    let report = json(&a, &["export", "--all", "-o", file.to_str().unwrap()]);
    assert_eq!(report["plugins"][0]["pin"], pin.as_str(), "{report}");
    assert_eq!(report["sources"], 1);
    assert_eq!(report["size"], std::fs::metadata(&file).unwrap().len());

    // Another machine, where the path names nothing; its home an empty folder made beforehand.
    std::fs::rename(&tool, a.path("moved-away")).unwrap();
    let b = Env::bare();
    std::fs::create_dir(&b.atk_home).unwrap();
    let report = json(&b, &["import", file.to_str().unwrap()]);
    assert_eq!(report["cached"], serde_json::json!([url]), "{report}");
    assert_eq!(report["next"], "atk install --all --offline");
    b.ok(&["install", "--all", "--offline"]);
    let p = b.atk_home.join("plugins/echo-tool");
    assert_eq!(std::fs::read_to_string(p.join(".atk-ref")).unwrap(), format!("{pin}\n"));
    assert_eq!(plugin_files(&b.atk_home, "echo-tool"), plugin_files(&a.atk_home, "echo-tool"));
}

/// `--with-data`: each plugin's newest backup without secrets travels (an encrypted one never),
/// lands in the new machine's backup folder, and `atk restore --all` puts it back once the plugins
/// are installed, with no network.
#[test]
fn with_data_the_newest_plain_backup_travels_and_restores_on_the_new_machine() {
    let mut a = Exporter::new();
    write(&a.env.atk_home.join("plugins/notes/notes.txt"), "remember the milk\n", false);
    a.env.ok(&["backup", "notes"]);
    let plain = json(&a.env, &["backup", "--list"])["backups"][0]["id"].as_str().unwrap().to_string();
    // A newer one, encrypted: it stays on this machine.
    let pass = a.env.path("pass");
    std::fs::write(&pass, "a passphrase\n").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    a.env.ok(&["backup", "notes", "--include-secrets", "--passphrase-file", pass.to_str().unwrap()]);
    // Without --with-data, no backup travels.
    let bare = a.export("bare.atk");
    assert!(!members(&bare).iter().any(|(h, _)| name_of(h).starts_with("data/")));
    let file = a.env.path("laptop.atk");
    let out = json(&a.env, &["--registry", &a.reg, "export", "--all", "-o", file.to_str().unwrap(), "--with-data"]);
    assert_eq!(out["data"], serde_json::json!([{"directory": "notes", "id": plain, "left_out": null}]));
    let names: Vec<String> = members(&file).iter().map(|(h, _)| name_of(h)).collect();
    assert!(names.contains(&format!("data/notes/{plain}.atk-backup")), "{names:?}");
    a.go_offline();

    let b = Env::bare();
    let report = json(&b, &["import", file.to_str().unwrap(), "--with-data"]);
    assert_eq!(report["data"][0]["id"], plain.as_str());
    assert!(report["next"].as_str().unwrap().ends_with("install --all --offline, then atk restore --all --yes"));
    let listed = json(&b, &["backup", "--list"]);
    assert_eq!(listed["backups"][0]["reason"], "imported");
    b.ok(&["--registry", &a.reg, "install", "--all", "--offline"]);
    let restored = json(&b, &["restore", "--all", "--yes"]);
    assert_eq!(restored["done"].as_array().unwrap().len(), 1, "{restored}");
    assert_eq!(restored["skipped"], serde_json::json!(["echo-tool", "minimal"]));
    assert_eq!(std::fs::read_to_string(b.atk_home.join("plugins/notes/notes.txt")).unwrap(), "remember the milk\n");
}

/// What a local plugin declares as its data is not committed by design: export does not warn
/// about it (it travels with --with-data), and still warns about the plugin's other changes.
#[test]
fn declared_data_is_no_uncommitted_change_for_export() {
    let env = Env::new();
    let src = env.plugin("src/keeper", &yaml("keeper", ""), &[("atk-data.yaml", "paths: [data]\n", false)]);
    env.ok(&["add", src.to_str().unwrap(), "-y"]);
    write(&env.atk_home.join("plugins/keeper/data/rows"), "kept\n", false);
    write(&env.atk_home.join("plugins/keeper/other.txt"), "not committed\n", false);
    let file = env.path("laptop.atk");
    let doc = json(&env, &["export", "--all", "-o", file.to_str().unwrap()]);
    assert_eq!(doc["uncommitted"], serde_json::json!(["plugins/keeper/other.txt"]));
}
