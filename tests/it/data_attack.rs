//! `atk backup` and `atk restore` attacked: forged archives whose manifest agrees with them (what
//! anyone who can drop a file into the backup folder, or hand over an export, can make), hostile
//! declarations and configuration, Ctrl-C in the middle, and declarations a real plugin may make
//! (paths that overlap).

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use crate::common::data::{
    add_notes, backups_dir, backups_of, data_state, fill, first_backup, list_json, notes_home, rows, tamper, NOTES_YAML,
};
use crate::common::*;

/// Python helpers for [`tamper`]'s edit that keep the archive's manifest in agreement with its
/// members: a forged archive, not a damaged one.
const FORGE: &str = "import json, hashlib
def _man():
    return json.loads(members[0][1])
def _set_man(man):
    d = json.dumps(man).encode(); m = members[0][0]; m.size = len(d); members[0] = (m, d)
def add_file(path, data, mode=0o644):
    i = tarfile.TarInfo(path); i.size = len(data); i.mode = mode; members.append((i, data))
    man = _man(); man['files'].append({'path': path, 'kind': 'file', 'size': len(data), 'sha256': hashlib.sha256(data).hexdigest(), 'mode': mode}); _set_man(man)
def add_link(path, target):
    i = tarfile.TarInfo(path); i.type = tarfile.SYMTYPE; i.linkname = target; i.mode = 0o777; members.append((i, None))
    man = _man(); man['files'].append({'path': path, 'kind': 'link', 'size': 0, 'mode': 0o777, 'link': target}); _set_man(man)
def set_file(path, data):
    for k, (m, d) in enumerate(members):
        if m.name == path:
            m.size = len(data); members[k] = (m, data)
    man = _man()
    for f in man['files']:
        if f['path'] == path:
            f['size'] = len(data); f['sha256'] = hashlib.sha256(data).hexdigest()
    _set_man(man)
";

fn forge(archive: &Path, edit: &str) {
    tamper(archive, &format!("{FORGE}{edit}"));
}

/// Asserts two trees are equal, naming the paths that differ (not dumping the bytes).
fn same_tree(now: &Path, want: &std::collections::BTreeMap<String, (u32, Vec<u8>)>) {
    let now = tree(now);
    let differs: Vec<&String> = now.keys().chain(want.keys()).filter(|k| now.get(*k) != want.get(*k)).collect();
    assert!(differs.is_empty(), "differs at {differs:?}");
}

fn newest_archive(env: &Env) -> PathBuf {
    let listed = list_json(env);
    PathBuf::from(listed["backups"].as_array().unwrap().last().unwrap()["file"].as_str().unwrap())
}

/// A declaration may name a folder and a file in it (`atk-data.yaml`'s own example does); the
/// restore must put back the folder with the file in it, not move the file aside after.
#[test]
fn overlapping_declared_paths_are_restored_whole() {
    let (env, dir) = notes_home("paths: [data, data/notes.db, data/index/]\n");
    fill(&dir, "first");
    env.ok(&["backup", "notes"]);
    let saved = tree(&dir.join("data"));
    fill(&dir, "second");
    env.ok(&["restore", "notes", "--yes"]);
    same_tree(&dir.join("data"), &saved);
    assert_eq!(rows(&dir.join("data/notes.db")), "(500, 'first 0')");
    // A forged backup that names a path twice changes nothing more than one naming it once.
    env.ok(&["backup", "notes"]);
    fill(&dir, "third");
    let file = newest_archive(&env);
    forge(
        &file,
        "c = json.loads(next(d for m, d in members if m.name == 'backup.json'))\nc['paths'] = ['data', 'data', 'data/notes.db']\nset_file('backup.json', json.dumps(c).encode())",
    );
    env.ok(&["restore", "notes", "--yes"]);
    same_tree(&dir.join("data"), &saved);
}

/// Ctrl-C while the plugin's backup script runs: the backup stops (exit 130), and the plugin,
/// stopped for the copy, is started again all the same.
#[test]
fn ctrl_c_during_a_backup_script_starts_the_plugin_again() {
    let env = Env::new();
    let marker = env.path("script-started");
    let dir = add_notes(
        &env,
        &yaml("notes", NOTES_YAML),
        &[
            ("atk-data.yaml", "scripts: true\nstop: true\n", false),
            ("backup.sh", &format!("#!/bin/sh\ntouch '{}'\nsleep 30\n", marker.display()), true),
            ("restore.sh", "#!/bin/sh\nexit 0\n", true),
        ],
    );
    env.ok(&["start", "notes"]);
    let child = env.spawn(&["backup", "notes"]);
    wait_for(&marker);
    signal(child.id(), Signal::INT).unwrap();
    let out = wait_with_timeout(child, 30);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert_eq!(std::fs::read_to_string(dir.join("calls")).unwrap(), "start\nstop\nstart\n", "{err}");
    assert!(dir.join("running").exists(), "started again after Ctrl-C: {err}");
    // No backup was made, and no work folder is left.
    assert_eq!(list_json(&env)["backups"].as_array().unwrap().len(), 0);
    let left: Vec<_> = std::fs::read_dir(backups_of(&env, "notes")).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

/// An archive checks its links against its own root, which holds `files/`: a link two levels
/// down `files/` that climbs two levels stays inside the archive, yet once put in place it leads
/// out of the plugin folder (into another plugin's). Refused, nothing changed.
#[test]
fn a_forged_backup_cannot_plant_a_link_out_of_the_plugin_folder() {
    let (env, dir) = notes_home("paths: [data]\n");
    fill(&dir, "first");
    env.ok(&["backup", "notes"]);
    forge(
        &newest_archive(&env),
        "add_link('files/data/peek', '../../other/.env')\nadd_link('files/data/index/deep', '../../../x')",
    );
    fill(&dir, "second");
    let before = data_state(&dir);
    let (_, err) = env.fails(5, &["restore", "notes", "--yes"]);
    assert!(err.contains("holds the link 'data/") && err.contains("out of the plugin folder"), "{err}");
    assert_eq!(err.trim().lines().filter(|l| !l.starts_with("hint")).count(), 1, "{err}");
    assert_eq!(data_state(&dir), before);
    assert!(!dir.join("data/peek").exists());
}

/// A backup without a passphrase never holds a secret: a forged one that brings a `.env` (or
/// says it holds secrets) is refused before the user's `.env` is touched.
#[test]
fn a_forged_unencrypted_backup_cannot_bring_secrets() {
    let (env, dir) = notes_home("paths: [data]\n");
    fill(&dir, "first");
    write(&dir.join("data/.env"), "API_URL=https://mine.example\nTOKEN=users-own-1234\n", false);
    env.ok(&["backup", "notes"]);
    let file = newest_archive(&env);
    let pristine = std::fs::read(&file).unwrap();
    forge(&file, "add_file('files/data/.env', b'API_URL=https://attacker.example\\n', 0o600)");
    let before = data_state(&dir);
    let (_, err) = env.fails(5, &["restore", "notes", "--yes"]);
    assert!(err.contains("data/.env") && err.contains("secret"), "{err}");
    assert_eq!(data_state(&dir), before);
    // One that says it holds secrets, unencrypted.
    std::fs::write(&file, &pristine).unwrap();
    forge(
        &file,
        "c = json.loads(next(d for m, d in members if m.name == 'backup.json'))\nc['secrets'] = True\nset_file('backup.json', json.dumps(c).encode())",
    );
    let (_, err) = env.fails(5, &["restore", "notes", "--yes"]);
    assert!(err.contains("secrets") && err.contains("not encrypted"), "{err}");
    assert_eq!(data_state(&dir), before);
    // The real one restores, and keeps the user's .env.
    std::fs::write(&file, &pristine).unwrap();
    env.ok(&["restore", "notes", "--yes"]);
    assert!(std::fs::read_to_string(dir.join("data/.env")).unwrap().contains("users-own-1234"));
}

/// What a plugin's backup script writes goes into the archive, and must obey the same rule as
/// the declared paths: a file named like a secret only in an encrypted backup.
#[test]
fn a_backup_script_cannot_put_a_secret_into_an_unencrypted_archive() {
    let env = Env::new();
    let src = env.plugin(
        "src/memory",
        &yaml("memory", ""),
        &[
            ("atk-data.yaml", "scripts: true\n", false),
            (
                "backup.sh",
                "#!/bin/sh\nset -eu\necho mem > \"$ATK_BACKUP_DIR/mem\"\ncp .env \"$ATK_BACKUP_DIR/.env\"\n",
                true,
            ),
            ("restore.sh", "#!/bin/sh\nexit 0\n", true),
        ],
    );
    env.ok(&["add", src.to_str().unwrap(), "-y"]);
    let dir = env.atk_home.join("plugins/memory");
    write(&dir.join(".env"), "TOKEN=script-leaked-secret-9876\n", false);
    let (_, err) = env.fails(5, &["backup", "memory"]);
    assert!(err.contains(".env") && err.contains("--include-secrets"), "{err}");
    assert!(!err.contains("script-leaked-secret"), "{err}");
    for (path, (_, bytes)) in tree(&backups_dir(&env)) {
        let mut inflated = Vec::new();
        let _ = std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut inflated);
        assert!(!String::from_utf8_lossy(&inflated).contains("script-leaked"), "{path}");
        assert!(!String::from_utf8_lossy(&bytes).contains("script-leaked"), "{path}");
    }
    assert_eq!(list_json(&env)["backups"].as_array().unwrap().len(), 0);
    // With --include-secrets (encrypted), it is taken.
    let pass = env.path("pass");
    std::fs::write(&pass, "a passphrase\n").unwrap();
    env.ok(&["backup", "memory", "--include-secrets", "--passphrase-file", pass.to_str().unwrap()]);
}

/// `config.backup.dir` with `..` after a folder that does not exist yet: the check that keeps
/// backups out of the home must not be fooled (creating the folders would walk back into it).
#[test]
fn a_backup_dir_that_climbs_back_into_the_home_is_refused() {
    let (env, dir) = notes_home("paths: [data]\n");
    fill(&dir, "first");
    let home_name = env.atk_home.file_name().unwrap().to_str().unwrap().to_string();
    let sneaky = env.atk_home.parent().unwrap().join(format!("not-yet/../{home_name}/backups"));
    let manifest = std::fs::read_to_string(env.atk_home.join("manifest.yaml")).unwrap();
    let manifest = manifest.replacen("config:\n", &format!("config:\n  backup:\n    dir: {}\n", sneaky.display()), 1);
    std::fs::write(env.atk_home.join("manifest.yaml"), manifest).unwrap();
    let (_, err) = env.fails(2, &["backup", "notes"]);
    assert!(err.contains("config.backup"), "{err}");
    assert!(!env.atk_home.join("backups").exists());
}

/// The summary beside an archive is only shown, and shown safely: a forged one cannot put
/// terminal escapes on the screen, nor make a restore skip the passphrase.
#[test]
fn a_lying_summary_is_shown_escaped_and_not_trusted() {
    let (env, dir) = notes_home("paths: [data]\n");
    fill(&dir, "first");
    env.ok(&["backup", "notes"]);
    let file = newest_archive(&env);
    let summary = file.with_extension("json");
    let mut doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    doc["pin"] = "\u{1b}]0;pwn\u{7}\u{1b}[2J".into();
    doc["size"] = u64::MAX.into();
    std::fs::write(&summary, doc.to_string()).unwrap();
    let out = env.ok(&["backup", "--list"]);
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
    assert!(!out.contains("18.4 EB"), "the size is the file's: {out}");
    // The pin a restore shows is the archive's own.
    forge(&file, "man = _man()\nman['plugin']['pin'] = '\\x1b]0;pwn\\x07\\x1b[2J'\n_set_man(man)");
    let out = env.cmd().args(["restore", "notes", "--dry-run"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(all.contains("the backup was made at"), "{all}");
    assert!(!all.contains('\u{1b}') && !all.contains('\u{7}'), "{all:?}");
    assert_eq!(first_backup(&env), doc["id"].as_str().unwrap());
}

/// A restore script that fails: the files it had put in place go back (the old data, not a
/// mix), the plugin is started again, and the error is one line with a hint naming the backup
/// of the data from before.
#[test]
fn a_failing_restore_script_puts_the_old_data_back_and_starts_the_plugin() {
    let env = Env::new();
    let dir = add_notes(
        &env,
        &yaml("notes", NOTES_YAML),
        &[
            ("atk-data.yaml", "paths: [data]\nscripts: true\nstop: true\n", false),
            ("backup.sh", "#!/bin/sh\necho taken > \"$ATK_BACKUP_DIR/taken\"\n", true),
            ("restore.sh", "#!/bin/sh\necho cannot restore >&2\nexit 3\n", true),
        ],
    );
    fill(&dir, "first");
    env.ok(&["backup", "notes"]);
    fill(&dir, "second");
    env.ok(&["start", "notes"]);
    let before = data_state(&dir);
    let out = env.cmd().args(["restore", "notes", "--yes"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert_eq!(data_state(&dir), before, "{err}");
    assert!(dir.join("running").exists(), "started again: {err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(err.lines().any(|l| l.starts_with("hint") && l.contains("--from")), "{err}");
    assert_eq!(std::fs::read_dir(env.atk_home.join(".git/atk/staging")).map(|d| d.count()).unwrap_or(0), 0);
    assert!(!env.atk_home.join(".git/atk/journal.jsonl").exists());
    // --json: one error document.
    let out = env.cmd().args(["--json", "restore", "notes", "--yes"]).output().unwrap();
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    assert!(doc["error"].is_object() || doc["error"].is_string(), "{doc}");
    assert_eq!(data_state(&dir), before);
}

/// The passphrase is atk's, for the archive: the plugin's scripts and commands, and docker, run
/// without it in their environment (where a `set -x`, an `env` or a server's /proc would show it).
#[test]
fn the_passphrase_never_reaches_what_the_plugin_runs() {
    let env = Env::new();
    let seen = env.path("seen");
    let probe = format!("echo \"${{ATK_BACKUP_PASSPHRASE:-none}}\" >> '{}'", seen.display());
    let lifecycle = format!(
        "lifecycle:\n  start: touch running; {probe}\n  stop: rm -f running; {probe}\n  status: test -f running\n"
    );
    let dir = add_notes(
        &env,
        &yaml("notes", &lifecycle),
        &[
            ("atk-data.yaml", "paths: [data]\nvolumes: [notes_vol]\nscripts: true\nstop: true\n", false),
            ("backup.sh", &format!("#!/bin/sh\n{probe}\necho x > \"$ATK_BACKUP_DIR/x\"\n"), true),
            ("restore.sh", &format!("#!/bin/sh\n{probe}\n"), true),
        ],
    );
    fill(&dir, "first");
    write(&dir.join("data/.env"), "TOKEN=t\n", false);
    env.ok(&["start", "notes"]);
    // docker, a stand-in that notes its environment and writes the volume's copy.
    let bin = env.path("docker-bin");
    write(
        &bin.join("docker"),
        &format!(
            "#!/bin/sh\n{probe}\n[ \"$1\" = volume ] && exit 0\nfor a in \"$@\"; do case \"$a\" in *:/backup) : > \"${{a%:/backup}}/notes_vol.tar\";; esac; done\nexit 0\n"
        ),
        true,
    );
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let run = |args: &[&str]| {
        let out = env
            .cmd()
            .args(args)
            .env("PATH", &path)
            .env("ATK_BACKUP_PASSPHRASE", "hunter2-passphrase")
            .output()
            .unwrap();
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{all}");
        assert!(!all.contains("hunter2"), "{all}");
    };
    run(&["backup", "notes", "--include-secrets"]);
    run(&["--json", "restore", "notes", "--yes"]);
    let seen = std::fs::read_to_string(&seen).unwrap();
    assert!(!seen.contains("hunter2"), "{seen}");
    // stop, backup.sh, docker (inspect, copy) and start; again around the restore (with the
    // backup of the data before it), restore.sh and docker (inspect, put back).
    assert!(seen.lines().count() >= 12 && seen.lines().all(|l| l == "none"), "{seen}");
}

/// A passphrase file that is a FIFO is refused at once (never waited on), and `--list` of a
/// name that climbs out of the backup folder lists nothing from elsewhere.
#[test]
fn odd_passphrase_files_and_list_names_are_refused() {
    let (env, dir) = notes_home("paths: [data]\n");
    fill(&dir, "first");
    let fifo = env.path("fifo");
    rustix::fs::mknodat(rustix::fs::CWD, &fifo, rustix::fs::FileType::Fifo, 0o600.into(), 0).unwrap();
    let child = env.spawn(&["backup", "notes", "--include-secrets", "--passphrase-file", fifo.to_str().unwrap()]);
    let out = wait_with_timeout(child, 20);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("FIFO") || err.contains("not a regular file"), "{err}");
    // Backups of a plugin that lives elsewhere in the user's data folder are not listed.
    env.ok(&["backup", "notes"]);
    let elsewhere = backups_dir(&env).parent().unwrap().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("20260101T000000Z.atk-backup"), b"x").unwrap();
    let (_, err) = env.fails(4, &["backup", "--list", "../elsewhere"]);
    assert!(err.contains("../elsewhere"), "{err}");
}

/// What a plugin is, is not its data: a declaration naming `plugin.yaml`, `atk-data.yaml` or
/// `custom/` (the user's overrides and scripts) is refused, so a restored backup can never
/// replace the commands atk runs next (the restore script among them).
#[test]
fn a_declaration_cannot_make_the_plugins_definition_its_data() {
    for (paths, named) in [
        ("[plugin.yaml]", "plugin.yaml"),
        ("[atk-data.yaml]", "atk-data.yaml"),
        ("[custom]", "custom"),
        ("[custom/restore]", "custom/restore"),
        ("[data, restore.sh]", "restore.sh"),
    ] {
        let env = Env::new();
        let src = env.plugin(
            "src/notes",
            &yaml("notes", NOTES_YAML),
            &[
                ("atk-data.yaml", &format!("paths: {paths}\nscripts: true\n"), false),
                ("backup.sh", "#!/bin/sh\necho x > \"$ATK_BACKUP_DIR/x\"\n", true),
                ("restore.sh", "#!/bin/sh\nexit 0\n", true),
            ],
        );
        env.ok(&["add", src.to_str().unwrap(), "-y"]);
        let (_, err) = env.fails(5, &["backup", "notes"]);
        assert!(err.contains(&format!("'{named}'")), "{paths}: {err}");
        assert!(list_json(&env)["backups"].as_array().unwrap().is_empty(), "{paths}");
    }
}

/// A restore that fails after a docker volume was put back (here its restore script fails): the
/// files go back with the transaction, and the volume must go back too, or the plugin is left
/// with the backup's volume beside the old files.
#[test]
fn a_failed_restore_puts_the_volumes_back_too() {
    let env = Env::new();
    let docker = crate::common::docker::FakeDocker::new(&env);
    let volumes = &docker.volumes;
    write(&volumes.join("notes_data/rows"), "volume v1\n", false);
    let atk = |args: &[&str]| docker.atk(&env, args, &[]);
    let dir = add_notes(
        &env,
        &yaml("notes", NOTES_YAML),
        &[
            ("atk-data.yaml", "paths: [data]\nvolumes: [notes_data]\nscripts: true\nstop: true\n", false),
            ("backup.sh", "#!/bin/sh\necho taken > \"$ATK_BACKUP_DIR/taken\"\n", true),
            ("restore.sh", "#!/bin/sh\n[ -f restore-works ] || { echo cannot restore >&2; exit 3; }\n", true),
        ],
    );
    fill(&dir, "first");
    let out = atk(&["backup", "notes"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    fill(&dir, "second");
    write(&volumes.join("notes_data/rows"), "volume v2\n", false);
    write(&volumes.join("notes_data/later"), "made after the backup\n", false);
    let files_before = data_state(&dir);
    let volume_before = tree(&volumes.join("notes_data"));
    let out = atk(&["restore", "notes", "--yes"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert_eq!(data_state(&dir), files_before, "{err}");
    same_tree(&volumes.join("notes_data"), &volume_before);
    // Once the script works, the restore goes through: the backup's files and volume.
    write(&dir.join("restore-works"), "", false);
    let out = atk(&["restore", "notes", "--yes", "--from", &first_backup(&env)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(volumes.join("notes_data/rows")).unwrap(), "volume v1\n");
    assert!(!volumes.join("notes_data/later").exists());
    assert!(rows(&dir.join("data/notes.db")).contains("first"));
}

/// A read-only folder in the data (0555, a file in it): backed up, restored (the one replaced
/// goes away with the transaction), and a refused restore leaves no staging behind.
#[test]
fn read_only_folders_in_the_data_round_trip_and_leave_nothing_behind() {
    let (env, dir) = notes_home("paths: [data]\n");
    fill(&dir, "first");
    write(&dir.join("data/ro/frozen"), "frozen\n", false);
    std::fs::set_permissions(dir.join("data/ro"), std::fs::Permissions::from_mode(0o555)).unwrap();
    env.ok(&["backup", "notes"]);
    let saved = tree(&dir.join("data"));
    fill(&dir, "second");
    env.ok(&["restore", "notes", "--yes"]);
    same_tree(&dir.join("data"), &saved);
    let count = |p: &str| std::fs::read_dir(env.atk_home.join(p)).map(|d| d.count()).unwrap_or(0);
    assert_eq!((count(".git/atk/staging"), count(".git/atk/txn")), (0, 0));
    // Refused after the extraction (the plugin no longer declares what the backup holds).
    write(&dir.join("custom/atk-data.yaml"), "paths: [other]\n", false);
    env.fails(5, &["restore", "notes", "--yes", "--from", &first_backup(&env)]);
    assert_eq!((count(".git/atk/staging"), count(".git/atk/txn")), (0, 0));
    std::fs::set_permissions(dir.join("data/ro"), std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Ctrl-C while the restore script runs: the transaction rolls back (the old data), and the
/// plugin, stopped for the restore, is started again.
#[test]
fn ctrl_c_during_a_restore_script_leaves_the_old_data_and_starts_the_plugin_again() {
    let env = Env::new();
    let marker = env.path("script-started");
    let dir = add_notes(
        &env,
        &yaml("notes", NOTES_YAML),
        &[
            ("atk-data.yaml", "paths: [data]\nscripts: true\n", false),
            ("backup.sh", "#!/bin/sh\necho taken > \"$ATK_BACKUP_DIR/taken\"\n", true),
            ("restore.sh", &format!("#!/bin/sh\ntouch '{}'\nsleep 30\n", marker.display()), true),
        ],
    );
    fill(&dir, "first");
    env.ok(&["backup", "notes"]);
    fill(&dir, "second");
    env.ok(&["start", "notes"]);
    let before = data_state(&dir);
    let child = env.spawn(&["restore", "notes", "--yes"]);
    wait_for(&marker);
    signal(child.id(), Signal::INT).unwrap();
    let out = wait_with_timeout(child, 30);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert_eq!(data_state(&dir), before, "{err}");
    assert!(std::fs::read_to_string(dir.join("calls")).unwrap().ends_with("stop\nstart\n"), "{err}");
    assert!(dir.join("running").exists(), "started again after Ctrl-C: {err}");
    assert!(!env.atk_home.join(".git/atk/journal.jsonl").exists());
}

/// The plugin `notes` added to `env` with its data filled, stopped for a copy, with its own
/// `backup.sh` and `restore.sh`; it does not start while the file `start-fails` is in its folder.
/// Its folder.
fn notes_with_scripts(env: &Env, backup_sh: &str, restore_sh: &str) -> PathBuf {
    let lifecycle = "lifecycle:\n  start: \"[ ! -f start-fails ] || exit 4; touch running\"\n  stop: rm -f running\n  status: test -f running\n";
    let dir = add_notes(
        env,
        &yaml("notes", lifecycle),
        &[
            ("atk-data.yaml", "paths: [data]\nscripts: true\nstop: true\n", false),
            ("backup.sh", backup_sh, true),
            ("restore.sh", restore_sh, true),
        ],
    );
    fill(&dir, "first");
    dir
}

/// A backup that fails, and then the plugin does not start again either: the user is told it is
/// down (and how to start it), not only why the backup failed. The same for a restore.
#[test]
fn a_failed_backup_says_when_the_plugin_did_not_start_again() {
    let env = Env::new();
    let dir = notes_with_scripts(
        &env,
        "#!/bin/sh\ntouch start-fails\necho broken >&2\nexit 3\n",
        "#!/bin/sh\ntouch start-fails\nexit 3\n",
    );
    env.ok(&["start", "notes"]);
    let out = env.cmd().args(["backup", "notes"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("backup of plugin 'notes' failed"), "{err}");
    assert_eq!(err.lines().filter(|l| l.starts_with("error")).count(), 1, "{err}");
    assert!(err.contains("did not start again") && err.contains("atk start notes"), "{err}");
    // The restore: a backup to restore, made by hand-free means (the script works this time).
    std::fs::remove_file(dir.join("start-fails")).unwrap();
    write(&dir.join("backup.sh"), "#!/bin/sh\necho x > \"$ATK_BACKUP_DIR/x\"\n", true);
    env.ok(&["backup", "notes"]);
    env.ok(&["start", "notes"]);
    let out = env.cmd().args(["--json", "restore", "notes", "--yes"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("did not start again") && err.contains("atk start notes"), "{err}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc.to_string().contains("did not start again"), "{doc}");
}

/// A backup or restore script that fails is a lifecycle failure (exit 6) whether or not the plugin
/// it stopped starts again: the hint that says it is down is added to that error, which keeps its
/// kind and code (CHANGELOG: "keeps the kind and exit code of what failed"). The restore's own
/// hint (where the data from before it is) is added the same way.
#[test]
fn a_failed_backup_or_restore_script_keeps_its_lifecycle_kind_when_the_plugin_stays_down() {
    let env = Env::new();
    let dir = notes_with_scripts(&env, "#!/bin/sh\necho broken >&2\nexit 3\n", "#!/bin/sh\nexit 3\n");
    let kind = |doc: &serde_json::Value| (doc["error"]["kind"].clone(), doc["error"]["code"].clone());
    // The plugin starts again: the script's failure as it is.
    env.ok(&["start", "notes"]);
    let up = json_doc(&env, &["backup", "notes"], 6, &[]);
    assert_eq!(kind(&up), (serde_json::json!("lifecycle"), serde_json::json!(6)), "{up}");
    // It does not: the same failure, and the hint more.
    write(&dir.join("backup.sh"), "#!/bin/sh\ntouch start-fails\nexit 3\n", true);
    env.ok(&["start", "notes"]);
    let out = env.cmd().args(["--json", "backup", "notes"]).output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc.to_string().contains("did not start again"), "{doc}");
    assert_eq!(kind(&doc), (serde_json::json!("lifecycle"), serde_json::json!(6)), "{doc}");
    assert_eq!(out.status.code(), Some(6), "{doc}");

    // A restore whose script fails, after it saved the data it replaces.
    std::fs::remove_file(dir.join("start-fails")).unwrap();
    write(&dir.join("backup.sh"), "#!/bin/sh\necho x > \"$ATK_BACKUP_DIR/x\"\n", true);
    env.ok(&["backup", "notes"]);
    env.ok(&["start", "notes"]);
    let out = env.cmd().args(["--json", "restore", "notes", "--yes"]).output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc.to_string().contains("the data from before the restore is in backup"), "{doc}");
    assert_eq!(kind(&doc), (serde_json::json!("lifecycle"), serde_json::json!(6)), "{doc}");
    assert_eq!(out.status.code(), Some(6), "{doc}");
}

/// Links planted where atk writes: the home's staging folder and the plugin's backup folder
/// leading elsewhere. Nothing is written through them.
#[test]
fn links_at_the_staging_and_backup_folders_are_not_followed() {
    let (env, dir) = notes_home("paths: [data]\n");
    fill(&dir, "first");
    env.ok(&["backup", "notes"]);
    fill(&dir, "second");
    let elsewhere = env.path("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let staging = env.atk_home.join(".git/atk/staging");
    let _ = std::fs::remove_dir_all(&staging);
    std::os::unix::fs::symlink(&elsewhere, &staging).unwrap();
    env.ok(&["restore", "notes", "--yes"]);
    assert!(rows(&dir.join("data/notes.db")).contains("first"));
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
    // The plugin's backup folder, a link (to its backups, moved): refused, nothing written
    // there, the data as it was.
    let folder = backups_of(&env, "notes");
    let moved = env.path("moved");
    std::fs::rename(&folder, &moved).unwrap();
    std::os::unix::fs::symlink(&moved, &folder).unwrap();
    let held = tree(&moved);
    fill(&dir, "third");
    let before = data_state(&dir);
    let (_, err) = env.fails(5, &["backup", "notes"]);
    assert!(err.contains("not a folder"), "{err}");
    let listed: serde_json::Value = serde_json::from_str(&env.ok(&["--json", "backup", "--list", "notes"])).unwrap();
    let id = listed["backups"][0]["id"].as_str().unwrap().to_string();
    let (_, err) = env.fails(5, &["restore", "notes", "--yes", "--from", &id]);
    assert!(err.contains("not a folder"), "{err}");
    assert_eq!(tree(&moved), held);
    assert_eq!(data_state(&dir), before);
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

/// A restore script that lives in the data (reached through a link) would be replaced by the
/// backup's copy before it runs: refused, for the backup as for the restore.
#[test]
fn a_script_inside_the_declared_data_is_refused() {
    let env = Env::new();
    let src = env.plugin(
        "src/notes",
        &yaml("notes", NOTES_YAML),
        &[
            ("atk-data.yaml", "paths: [bin]\nscripts: true\n", false),
            ("backup.sh", "#!/bin/sh\necho x > \"$ATK_BACKUP_DIR/x\"\n", true),
            ("bin/restore", "#!/bin/sh\nexit 0\n", true),
        ],
    );
    std::os::unix::fs::symlink("bin/restore", src.join("restore.sh")).unwrap();
    env.ok(&["add", src.to_str().unwrap(), "-y"]);
    let (_, err) = env.fails(5, &["backup", "notes"]);
    assert!(err.contains("restore.sh is bin/restore, inside the data path 'bin'"), "{err}");
    assert!(list_json(&env)["backups"].as_array().unwrap().is_empty());
}

/// A volume named by a variable of the plugin's `.env` whose value takes in one of the user's
/// environment (`${PREFIX}_data`): the restore names it as the backup did.
#[test]
fn a_volume_named_through_the_users_environment_restores() {
    let env = Env::new();
    let docker = crate::common::docker::FakeDocker::new(&env);
    let volumes = &docker.volumes;
    write(&volumes.join("team_data/rows"), "volume v1\n", false);
    let atk = |args: &[&str]| docker.atk(&env, args, &[("NOTES_PREFIX", "team")]);
    let dir = add_notes(
        &env,
        &yaml("notes", "env_vars:\n  - name: NOTES_VOLUME\n    default: notes_data\n"),
        &[("atk-data.yaml", "volumes: [\"${NOTES_VOLUME}\"]\n", false)],
    );
    write(&dir.join(".env"), "NOTES_VOLUME=${NOTES_PREFIX}_data\n", false);
    let out = atk(&["--json", "backup", "notes"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["made"][0]["volumes"], serde_json::json!(["team_data"]));
    write(&volumes.join("team_data/rows"), "volume v2\n", false);
    let out = atk(&["restore", "notes", "--yes"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(volumes.join("team_data/rows")).unwrap(), "volume v1\n");
}

/// `restore --all` goes on past a plugin whose data declaration became invalid, as `backup --all`
/// does: that plugin is in `failed` (its data left as it is), the others are restored, exit 1.
#[test]
fn restore_all_goes_on_past_a_plugin_whose_declaration_is_invalid() {
    let env = Env::new();
    for name in ["d1", "d2"] {
        let src = env.plugin(&format!("src/{name}"), &yaml(name, ""), &[("atk-data.yaml", "paths: [data]\n", false)]);
        env.ok(&["add", src.to_str().unwrap(), "-y"]);
        write(&env.atk_home.join(format!("plugins/{name}/data/notes.txt")), &format!("{name}'s notes\n"), false);
    }
    env.ok(&["backup", "--all"]);
    let (d1, d2) = (env.atk_home.join("plugins/d1"), env.atk_home.join("plugins/d2"));
    write(&d1.join("atk-data.yaml"), "paths: [../../x]\n", false);
    let backup: serde_json::Value = serde_json::from_str(&env.fails(1, &["--json", "backup", "--all"]).0).unwrap();
    assert_eq!(backup["failed"][0]["directory"], "d1", "{backup}");
    write(&d1.join("data/notes.txt"), "d1's new notes\n", false);
    write(&d2.join("data/notes.txt"), "d2's new notes\n", false);
    let out = env.cmd().args(["--json", "restore", "--all", "--yes"]).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["failed"][0]["directory"], "d1", "{report}");
    assert_eq!(report["failed"][0]["error"]["kind"], "plugin_invalid", "{report}");
    assert_eq!(report["done"][0]["directory"], "d2", "{report}");
    assert_eq!(std::fs::read_to_string(d1.join("data/notes.txt")).unwrap(), "d1's new notes\n");
    assert_eq!(std::fs::read_to_string(d2.join("data/notes.txt")).unwrap(), "d2's notes\n");
}

/// A backup removes the work folders (`.tmp-*`) a killed backup left in the plugin's backup folder,
/// but not one another atk holds while it works there (two clones of one home share the folder).
#[test]
fn a_backup_removes_a_killed_runs_work_folder_and_keeps_one_another_atk_holds() {
    let (env, dir) = notes_home("paths: [data]\n");
    fill(&dir, "first");
    env.ok(&["backup", "notes"]);
    let folder = backups_of(&env, "notes");
    let (held, left) = (folder.join(".tmp-held"), folder.join(".tmp-left"));
    for work in [&held, &left] {
        write(&work.join("tree/part"), "half a backup\n", false);
    }
    let mut holder = std::process::Command::new("flock")
        .arg("-o")
        .arg(held.join("lock"))
        .args(["sleep", "60"])
        .process_group(0)
        .spawn()
        .unwrap();
    wait_for(&held.join("lock"));
    std::thread::sleep(std::time::Duration::from_millis(200));
    env.ok(&["backup", "notes"]);
    assert!(held.join("tree/part").exists(), "another atk's work folder is kept");
    assert!(!left.exists(), "a killed run's work folder is removed");
    signal_group(holder.id(), Signal::KILL).unwrap();
    holder.wait().unwrap();
    env.ok(&["backup", "notes"]);
    assert!(!held.exists(), "once nothing holds it, it goes");
}
