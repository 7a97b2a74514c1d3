//! `atk backup` and `atk restore` (issue 22): a plugin's data, as its `atk-data.yaml` declares it,
//! archived into the backup folder and put back, with real files (a SQLite database, modes, links),
//! a plugin's own backup/restore scripts, docker volumes through a stand-in `docker`, hostile
//! archives, encryption, and kill -9 at every point of a restore.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common::data::*;
use crate::common::*;

#[test]
fn backup_and_restore_round_trip_real_files_and_keep_secrets_out() {
    let (env, dir) = notes_home("paths: [data, settings.json]\nstop: true\n");
    fill(&dir, "first");
    write(&dir.join("data/.env"), "TOKEN=never-in-a-backup-1234\n", false);
    std::os::unix::fs::symlink("/etc", dir.join("data/etc")).unwrap();
    env.ok(&["start", "notes"]);
    let before = data_state(&dir);

    let out = env.ok(&["--json", "backup", "notes"]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let made = &doc["made"][0];
    assert_eq!(made["directory"], "notes");
    assert_eq!(made["stopped"], true, "{doc}");
    assert_eq!(made["encrypted"], false);
    let left: Vec<&str> = made["left_out"].as_array().unwrap().iter().map(|l| l["path"].as_str().unwrap()).collect();
    assert_eq!(left, ["data/.env", "data/etc"]);
    // Stopped for the copy, started again.
    assert_eq!(std::fs::read_to_string(dir.join("calls")).unwrap(), "start\nstop\nstart\n");
    assert!(dir.join("running").exists());
    // The archive: 0600, in the user's data folder, never in the home, no secret in it (raw or
    // inflated).
    let file = PathBuf::from(made["file"].as_str().unwrap());
    assert!(file.starts_with(backups_of(&env, "notes")), "{}", file.display());
    assert_eq!(mode(&file), 0o600);
    let raw = std::fs::read(&file).unwrap();
    let mut inflated = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&raw[..]), &mut inflated).unwrap();
    assert!(!String::from_utf8_lossy(&inflated).contains("never-in-a-backup"));
    assert!(String::from_utf8_lossy(&inflated).contains("\"sha256\""));
    assert!(!tree(&env.atk_home).keys().any(|k| k.contains("atk-backup")));

    // The data changes; the restore puts it back exactly (modes, links, the database).
    fill(&dir, "second");
    write(&dir.join("data/new.txt"), "made after the backup\n", false);
    std::fs::remove_file(dir.join("settings.json")).unwrap();
    assert!(rows(&dir.join("data/notes.db")).contains("second"));
    let out = env.ok(&["--json", "restore", "notes", "--yes"]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["changes"][0]["path"], "data");
    assert_eq!(doc["kept_secrets"][0], "data/.env");
    assert_eq!(rows(&dir.join("data/notes.db")), "(500, 'first 0')");
    let mut after = data_state(&dir);
    assert_eq!(after.remove("data/.env").unwrap().1, b"TOKEN=never-in-a-backup-1234\n", "the secret stays");
    assert_eq!(after.remove("data/etc").unwrap().1, b"/etc", "the link out stays");
    let mut expected = before.clone();
    expected.remove("data/.env");
    expected.remove("data/etc");
    assert_eq!(after, expected);
    assert!(dir.join("running").exists(), "started again after the restore");

    // The data it replaced was backed up first, and can come back.
    let listed = list_json(&env);
    let backups = listed["backups"].as_array().unwrap();
    assert_eq!(backups.len(), 2);
    assert_eq!(backups[1]["reason"], "before-restore");
    let id = backups[1]["id"].as_str().unwrap();
    env.ok(&["restore", "notes", "--from", id, "--yes"]);
    assert!(rows(&dir.join("data/notes.db")).contains("second"));
    assert!(dir.join("data/new.txt").exists() && !dir.join("settings.json").exists());
    // Nothing was left in the home's staging area.
    assert_eq!(std::fs::read_dir(env.atk_home.join(".git/atk/staging")).map(|d| d.count()).unwrap_or(0), 0);
}

#[test]
fn a_restore_shows_what_it_replaces_and_asks_for_the_plugin_name() {
    let (env, dir) = notes_home("paths: [data]\n");
    fill(&dir, "first");
    env.ok(&["backup", "notes"]);
    fill(&dir, "second");
    // Without a terminal and without --yes: refused, nothing changed.
    let (_, err) = env.fails(2, &["restore", "notes"]);
    assert!(err.contains("--yes"), "{err}");
    assert!(rows(&dir.join("data/notes.db")).contains("second"));
    // --dry-run shows and changes nothing.
    let out = env.ok(&["restore", "notes", "--dry-run"]);
    assert!(out.contains("data") && out.contains("now:") && out.contains("backup:"), "{out}");
    assert!(rows(&dir.join("data/notes.db")).contains("second"));
    // On a terminal: the wrong name changes nothing; the plugin's name restores.
    let mut p = env.on_terminal(&["restore", "notes"]);
    p.exp_string("replaces").unwrap();
    p.exp_string("Type 'notes'").unwrap();
    p.send_line("yes").unwrap();
    p.exp_eof().unwrap();
    assert!(rows(&dir.join("data/notes.db")).contains("second"));
    let mut p = env.on_terminal(&["restore", "notes"]);
    p.exp_string("Type 'notes'").unwrap();
    p.send_line("notes").unwrap();
    p.exp_string("Restored").unwrap();
    p.exp_eof().unwrap();
    assert!(rows(&dir.join("data/notes.db")).contains("first"));
}

#[test]
fn backup_all_keeps_the_newest_and_lists_them() {
    let (env, dir) = notes_home("paths: [data]\n");
    // Another plugin, without data: skipped by --all, refused by name.
    let plain = env.plugin("src/plain", &yaml("plain", ""), &[]);
    env.ok(&["add", plain.to_str().unwrap(), "-y"]);
    fill(&dir, "first");
    let mut manifest = std::fs::read_to_string(env.atk_home.join("manifest.yaml")).unwrap();
    manifest = manifest.replacen("config:\n", "config:\n  backup:\n    keep: 2\n", 1);
    std::fs::write(env.atk_home.join("manifest.yaml"), manifest).unwrap();
    env.git(&["commit", "-qam", "keep 2 backups"]);
    for _ in 0..3 {
        let doc: serde_json::Value = serde_json::from_str(&env.ok(&["--json", "backup", "--all"])).unwrap();
        assert_eq!(doc["skipped"], serde_json::json!(["plain"]));
    }
    let listed = list_json(&env);
    assert_eq!(listed["keep"], 2);
    assert_eq!(listed["backups"].as_array().unwrap().len(), 2, "{listed}");
    let (_, err) = env.fails(1, &["backup", "plain"]);
    assert!(err.contains("declares no data") && err.contains("atk-data.yaml"), "{err}");
    let out = env.ok(&["backup", "--list", "notes"]);
    assert!(out.contains("PLUGIN") && out.contains("notes") && out.contains("local"), "{out}");
    // A backup folder inside the home is refused.
    let mut manifest = std::fs::read_to_string(env.atk_home.join("manifest.yaml")).unwrap();
    manifest = manifest.replacen("    keep: 2\n", &format!("    dir: {}\n", env.atk_home.join("b").display()), 1);
    std::fs::write(env.atk_home.join("manifest.yaml"), manifest).unwrap();
    let (_, err) = env.fails(2, &["backup", "notes"]);
    assert!(err.contains("inside the ATK Home"), "{err}");
    assert!(!env.atk_home.join("b").exists());
}

#[test]
fn secrets_go_only_into_an_encrypted_backup_and_need_its_passphrase() {
    let (env, dir) = notes_home("paths: [data]\n");
    fill(&dir, "first");
    write(&dir.join("data/.env"), "TOKEN=secret-old-value-1234\n", false);
    // No passphrase and no terminal: refused.
    let (_, err) = env.fails(2, &["backup", "notes", "--include-secrets"]);
    assert!(err.contains("passphrase"), "{err}");
    let pass = env.path("pass");
    std::fs::write(&pass, "correct horse battery staple\n").unwrap();
    let doc: serde_json::Value = serde_json::from_str(&env.ok(&[
        "--json",
        "backup",
        "notes",
        "--include-secrets",
        "--passphrase-file",
        pass.to_str().unwrap(),
    ]))
    .unwrap();
    let made = &doc["made"][0];
    assert_eq!((made["encrypted"].clone(), made["secrets"].clone()), (true.into(), true.into()));
    let raw = std::fs::read(made["file"].as_str().unwrap()).unwrap();
    assert!(raw.starts_with(b"age-encryption.org/v1\n"));
    assert!(!String::from_utf8_lossy(&raw).contains("secret-old-value"));

    write(&dir.join("data/.env"), "TOKEN=secret-new-value-5678\n", false);
    fill(&dir, "second");
    let before = data_state(&dir);
    // The wrong passphrase: refused, nothing changed.
    let wrong = env.path("wrong");
    std::fs::write(&wrong, "not it\n").unwrap();
    let (_, err) = env.fails(2, &["restore", "notes", "--yes", "--passphrase-file", wrong.to_str().unwrap()]);
    assert!(err.contains("wrong passphrase"), "{err}");
    assert_eq!(data_state(&dir), before);
    // The passphrase from the environment: restored, the secret too.
    let out = env
        .cmd()
        .args(["restore", "notes", "--yes"])
        .env("ATK_BACKUP_PASSPHRASE", "correct horse battery staple")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("secret-"));
    assert_eq!(std::fs::read_to_string(dir.join("data/.env")).unwrap(), "TOKEN=secret-old-value-1234\n");
    assert!(rows(&dir.join("data/notes.db")).contains("first"));
    // The data it replaced, secret included, was backed up encrypted first.
    let listed = list_json(&env);
    let last = listed["backups"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["reason"].as_str(), last["encrypted"].as_bool()), (Some("before-restore"), Some(true)));
}

/// OpenMemory's way: its own backup.sh and restore.sh, run with `$ATK_BACKUP_DIR`.
#[test]
fn a_plugins_own_scripts_back_up_and_restore_through_atk_backup_dir() {
    let env = Env::new();
    let src = env.plugin(
        "src/memory",
        &yaml("memory", "env_vars:\n  - name: MEMORY_BACKUP_DIR\n    default: ''\n"),
        &[
            ("atk-data.yaml", "scripts: true\n", false),
            (
                "backup.sh",
                "#!/bin/sh\nset -eu\nMEMORY_BACKUP_DIR=\"${ATK_BACKUP_DIR:-$MEMORY_BACKUP_DIR}\"\n\
                 [ -z \"$(ls -A \"$MEMORY_BACKUP_DIR\")\" ] || { echo not empty; exit 1; }\n\
                 cp memories.txt \"$MEMORY_BACKUP_DIR/memories.txt\"\necho \"$ATK_PLUGIN\" > \"$MEMORY_BACKUP_DIR/who\"\n",
                true,
            ),
            ("restore.sh", "#!/bin/sh\nset -eu\ncp \"$ATK_BACKUP_DIR/memories.txt\" memories.txt\n", true),
        ],
    );
    env.ok(&["add", src.to_str().unwrap(), "-y"]);
    let dir = env.atk_home.join("plugins/memory");
    write(&dir.join("memories.txt"), "remember the milk\n", false);
    env.ok(&["backup", "memory"]);
    write(&dir.join("memories.txt"), "forgot everything\n", false);
    env.ok(&["restore", "memory", "--yes"]);
    assert_eq!(std::fs::read_to_string(dir.join("memories.txt")).unwrap(), "remember the milk\n");
    // A custom/ script comes first, as for `atk run`; a failing one fails the backup.
    write(&dir.join("custom/backup"), "#!/bin/sh\necho broken >&2\nexit 3\n", true);
    let (_, err) = env.fails(6, &["backup", "memory"]);
    assert!(err.contains("backup"), "{err}");
}

#[test]
fn docker_volumes_are_copied_and_put_back_and_a_failed_backup_starts_the_plugin_again() {
    let env = Env::new();
    let docker = crate::common::docker::FakeDocker::new(&env);
    let (bin, volumes, log) = (&docker.bin, &docker.volumes, &docker.log);
    write(&volumes.join("notes_data/db/rows"), "volume rows v1\n", false);
    let atk = |args: &[&str]| docker.atk(&env, args, &[]);
    let dir = add_notes(
        &env,
        &yaml("notes", &format!("{NOTES_YAML}env_vars:\n  - name: NOTES_VOLUME\n    default: notes_data\n")),
        &[("atk-data.yaml", "volumes: [\"${NOTES_VOLUME}\", never_made]\nstop: true\n", false)],
    );
    env.ok(&["start", "notes"]);
    let out = atk(&["--json", "backup", "notes"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["made"][0]["volumes"], serde_json::json!(["notes_data"]));
    assert_eq!(doc["made"][0]["missing_volumes"], serde_json::json!(["never_made"]));
    let calls = std::fs::read_to_string(log).unwrap();
    assert!(calls.contains("-v notes_data:/volume:ro"), "{calls}");

    write(&volumes.join("notes_data/db/rows"), "volume rows v2\n", false);
    write(&volumes.join("notes_data/stray"), "made later\n", false);
    let out = atk(&["restore", "notes", "--yes"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(volumes.join("notes_data/db/rows")).unwrap(), "volume rows v1\n");
    assert!(!volumes.join("notes_data/stray").exists());
    assert!(dir.join("running").exists());

    // docker fails: the backup fails, and the plugin is started again all the same.
    std::fs::remove_file(bin.join("docker")).unwrap();
    write(&bin.join("docker"), "#!/bin/sh\ncase \"$1\" in volume) exit 0;; esac\nexit 125\n", true);
    let out = atk(&["backup", "notes"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("docker could not copy"));
    assert!(dir.join("running").exists(), "started again after the failed backup");
    assert!(std::fs::read_to_string(dir.join("calls")).unwrap().ends_with("stop\nstart\n"));
}

#[test]
fn a_tampered_backup_is_refused_before_anything_changes() {
    let (env, dir) = notes_home("paths: [data]\n");
    fill(&dir, "first");
    env.ok(&["backup", "notes"]);
    let listed = list_json(&env);
    let file = PathBuf::from(listed["backups"][0]["file"].as_str().unwrap());
    let pristine = std::fs::read(&file).unwrap();
    fill(&dir, "second");
    let before = data_state(&dir);
    let home_before = env.snapshot();
    let cases: [(&str, &str); 6] = [
        (
            "one byte of a file",
            "m, d = next((m, d) for m, d in members if m.name.endswith('shards/0'))\nmembers = [(x, (d[:10] + b'X' + d[11:]) if x is m else y) for x, y in members]",
        ),
        ("a member added", "i = tarfile.TarInfo('files/data/extra'); i.size = 2; members.append((i, b'hi'))"),
        ("a member renamed to ../x", "members[-1][0].name = '../x'"),
        (
            "a link to /etc",
            "i = tarfile.TarInfo('files/data/etc'); i.type = tarfile.SYMTYPE; i.linkname = '/etc'; members.append((i, None))",
        ),
        (
            "a device node",
            "i = tarfile.TarInfo('files/data/null'); i.type = tarfile.CHRTYPE; i.devmajor = 1; i.devminor = 3; members.append((i, None))",
        ),
        ("a hard link", "i = tarfile.TarInfo('files/data/hard'); i.type = tarfile.LNKTYPE; i.linkname = '/etc/passwd'; members.append((i, None))"),
    ];
    for (what, edit) in cases {
        std::fs::write(&file, &pristine).unwrap();
        tamper(&file, edit);
        let out = env.cmd().args(["restore", "notes", "--yes"]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(5), "{what}: {err}");
        assert!(err.contains("member") || err.contains("damaged"), "{what}: {err}");
        assert_eq!(data_state(&dir), before, "{what}");
        assert_eq!(env.snapshot(), home_before, "{what}");
        assert!(!Path::new("/etc/x").exists() && !env.path("x").exists());
    }
    // One byte changed in the compressed file itself.
    let mut bytes = pristine.clone();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x55;
    std::fs::write(&file, &bytes).unwrap();
    let out = env.cmd().args(["restore", "notes", "--yes"]).output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert_eq!(data_state(&dir), before);
}

/// kill -9 at every failpoint a restore passes: the next atk finds the old data or the new, never
/// a mix, and the home as it was.
#[test]
fn kill_9_anywhere_in_a_restore_leaves_the_old_data_or_the_new() {
    let (env, dir) = notes_home("paths: [data, settings.json]\n");
    fill(&dir, "first");
    env.ok(&["backup", "notes"]);
    let new = data_state(&dir);
    fill(&dir, "second");
    std::fs::remove_file(dir.join("settings.json")).unwrap();
    write(&dir.join("data/later.txt"), "only in the old\n", false);
    let old = data_state(&dir);
    let saved = env.path("saved");
    assert!(std::process::Command::new("cp").arg("-a").arg(&env.home).arg(&saved).status().unwrap().success());
    let back = || {
        std::fs::remove_dir_all(&env.home).unwrap();
        assert!(std::process::Command::new("cp").arg("-a").arg(&saved).arg(&env.home).status().unwrap().success());
    };
    let trace = env.path("trace");
    let out = env.cmd().args(["restore", "notes", "--yes"]).env("ATK_FAILPOINT_TRACE", &trace).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(data_state(&dir), new);
    let passed: Vec<String> = std::fs::read_to_string(&trace).unwrap().lines().map(String::from).collect();
    for point in ["restore-path", "restore-done", "step", "finished"] {
        assert!(passed.iter().any(|p| p == point), "{point} not in {passed:?}");
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let points: Vec<String> = passed
        .iter()
        .map(|p| {
            let n = seen.entry(p).or_default();
            *n += 1;
            format!("{p}#{n}")
        })
        .collect();
    let mut outcomes = BTreeMap::new();
    for point in &points {
        back();
        let running = stop_at(&env, point, &["restore", "notes", "--yes"]);
        kill_9(running);
        // The next atk (any command) finishes or rolls back what was killed.
        env.ok(&["list"]);
        let now = data_state(&dir);
        let outcome = if now == old {
            "old"
        } else if now == new {
            "new"
        } else {
            let differs: Vec<_> =
                now.keys().chain(old.keys()).filter(|k| now.get(*k) != old.get(*k)).cloned().collect();
            panic!("killed at {point}: neither the old data nor the new; differs from the old at {differs:?}");
        };
        outcomes.insert(point.clone(), outcome);
        assert_eq!(env.git(&["status", "--porcelain", "--", "manifest.yaml"]), "", "{point}");
        assert!(!env.atk_home.join(".git/atk/journal.jsonl").exists(), "{point}");
        // And restoring again works from there.
        env.ok(&["restore", "notes", "--yes", "--from", &first_backup(&env)]);
        assert_eq!(data_state(&dir), new, "{point}: then restored again");
        assert_eq!(std::fs::read_dir(env.atk_home.join(".git/atk/staging")).map(|d| d.count()).unwrap_or(0), 0);
    }
    assert!(outcomes.values().any(|o| *o == "old") && outcomes.values().any(|o| *o == "new"), "{outcomes:?}");
    back();
}

/// A backup killed after its archive is in place: the archive is listed all the same, and the
/// next backup clears its work folder.
#[test]
fn a_killed_backup_leaves_no_half_archive() {
    let (env, dir) = notes_home("paths: [data]\n");
    fill(&dir, "first");
    let running = stop_at(&env, "backup-packed", &["backup", "notes"]);
    kill_9(running);
    let folder = backups_of(&env, "notes");
    let names: Vec<String> =
        std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().any(|n| n.starts_with(".tmp-")), "{names:?}");
    assert_eq!(list_json(&env)["backups"].as_array().unwrap().len(), 1);
    env.ok(&["backup", "notes"]);
    let names: Vec<String> =
        std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(!names.iter().any(|n| n.starts_with(".tmp-") || n.starts_with(".atk-tmp")), "{names:?}");
    // Both restore.
    fill(&dir, "second");
    env.ok(&["restore", "notes", "--yes", "--from", &first_backup(&env)]);
    assert!(rows(&dir.join("data/notes.db")).contains("first"));
}

/// A backup names only what the plugin declares now: one of another plugin, or holding a path
/// the plugin does not declare, is refused.
#[test]
fn a_backup_restores_only_what_the_plugin_declares() {
    let (env, dir) = notes_home("paths: [data, settings.json]\n");
    fill(&dir, "first");
    env.ok(&["backup", "notes"]);
    // The declaration shrinks (the user's own, in custom/): settings.json is no data any more.
    write(&dir.join("custom/atk-data.yaml"), "paths: [data]\n", false);
    fill(&dir, "second");
    let before = data_state(&dir);
    let (_, err) = env.fails(5, &["restore", "notes", "--yes"]);
    assert!(err.contains("settings.json") && err.contains("does not declare"), "{err}");
    assert_eq!(data_state(&dir), before);
}

/// Two homes on one machine keep their backups apart (one never lists, restores or prunes the
/// other's), and a clone of a home finds the backups of the home it was cloned from.
#[test]
fn each_home_has_its_own_backups_and_a_clone_finds_them() {
    let (a, dir_a) = notes_home("paths: [data]\n");
    fill(&dir_a, "home a");
    // A second home for the same user, with a plugin of the same name.
    let b_home = a.home.join("other-home");
    let b = |args: &[&str]| {
        let out = a.cmd().env("ATK_HOME", &b_home).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    b(&["init"]);
    b(&["add", a.path("src/notes").to_str().unwrap(), "-y"]);
    fill(&b_home.join("plugins/notes"), "home b");
    let mut manifest = std::fs::read_to_string(b_home.join("manifest.yaml")).unwrap();
    manifest = manifest.replacen("config:\n", "config:\n  backup:\n    keep: 1\n", 1);
    std::fs::write(b_home.join("manifest.yaml"), manifest).unwrap();
    a.ok(&["backup", "notes"]);
    b(&["backup", "notes"]);
    b(&["backup", "notes"]);
    let listed_b: serde_json::Value = serde_json::from_str(&b(&["--json", "backup", "--list"])).unwrap();
    assert_eq!(listed_b["backups"].as_array().unwrap().len(), 1, "keep: 1 in b");
    assert_eq!(list_json(&a)["backups"].as_array().unwrap().len(), 1, "a's backup survived b's pruning");
    fill(&dir_a, "changed");
    a.ok(&["restore", "notes", "--yes"]);
    assert!(rows(&dir_a.join("data/notes.db")).contains("home a"), "a restores its own data");
    // A clone of a (a new laptop, the same backup folder synced): the same backups.
    let clone = a.home.join("clone");
    git(a.dir.path(), &["clone", "-q", a.atk_home.to_str().unwrap(), clone.to_str().unwrap()]);
    let out = a.cmd().env("ATK_HOME", &clone).args(["--json", "backup", "--list"]).output().unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed["backups"], list_json(&a)["backups"]);
}

/// A backup that unpacks to more than the disk has room for is refused before a byte is written
/// (a gzip bomb would otherwise fill the disk under `.git/atk/staging`): the staging folder is a
/// 256 kB tmpfs here, the backup 2 MB.
#[test]
#[ignore = "needs root, to mount a small tmpfs, as CI has (.ci/run runs the ignored tests)"]
fn a_backup_bigger_than_the_room_left_is_refused_before_it_unpacks() {
    let (env, dir) = notes_home("paths: [data]\n");
    write(&dir.join("data/big"), &"0123456789abcdef".repeat(128 * 1024), false);
    env.ok(&["backup", "notes"]);
    write(&dir.join("data/big"), "now small\n", false);
    let staging = env.atk_home.join(".git/atk/staging");
    std::fs::create_dir_all(&staging).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&staging)
        .status()
        .unwrap();
    assert!(mounted.success(), "cannot mount a tmpfs here (this test needs root)");
    let out = env.cmd().args(["restore", "notes", "--yes"]).output().unwrap();
    let _ = std::process::Command::new("umount").arg(&staging).status();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("free on the disk"), "{err}");
    assert_eq!(std::fs::read_to_string(dir.join("data/big")).unwrap(), "now small\n");
}

/// A backup folder that cannot be made (`config.backup.dir` of another machine, say) is one line
/// with what to set.
#[test]
fn a_backup_folder_that_cannot_be_made_says_what_to_set() {
    let (env, dir) = notes_home("paths: [data]\n");
    fill(&dir, "first");
    let blocker = env.path("a-file");
    write(&blocker, "not a folder\n", false);
    let mut manifest = std::fs::read_to_string(env.atk_home.join("manifest.yaml")).unwrap();
    let line = format!("config:\n  backup:\n    dir: {}\n", blocker.join("backups").display());
    manifest = manifest.replacen("config:\n", &line, 1);
    std::fs::write(env.atk_home.join("manifest.yaml"), manifest).unwrap();
    let (_, err) = env.fails(1, &["backup", "notes"]);
    assert!(err.contains("cannot create the backup folder") && err.contains("config.backup.dir"), "{err}");
    assert_eq!(err.trim().lines().filter(|l| l.starts_with("error")).count(), 1, "{err}");
}
