//! The backups tests' helpers (`data`, `data_attack`, `export_attack`): a plugin that declares
//! data, real data to fill it with, where its backups are, and a backup tampered with.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::*;

/// The plugin `notes`: its data in `data/` and `settings.json`, stopped for a copy, running as a
/// flag file `running` (its stop and start log to `calls`).
pub const NOTES_YAML: &str = "lifecycle:\n  start: touch running; echo start >> calls\n  stop: rm -f running; echo stop >> calls\n  status: test -f running\n";

pub fn notes_home(data_yaml: &str) -> (Env, PathBuf) {
    let env = Env::new();
    let dir = add_notes(&env, &yaml("notes", NOTES_YAML), &[("atk-data.yaml", data_yaml, false)]);
    (env, dir)
}

/// The plugin `notes` (its `plugin.yaml`, and `files` beside it) added to `env`: its folder.
pub fn add_notes(env: &Env, plugin_yaml: &str, files: &[(&str, &str, bool)]) -> PathBuf {
    let src = env.plugin("src/notes", plugin_yaml, files);
    env.ok(&["add", src.to_str().unwrap(), "-y"]);
    env.atk_home.join("plugins/notes")
}

/// Real data: a SQLite database written by Python's sqlite3, files with their own modes, a folder
/// 0750, an empty folder, links inside, a secret and a link out of the plugin folder.
pub fn fill(dir: &Path, marker: &str) {
    let data = dir.join("data");
    std::fs::create_dir_all(data.join("index/shards")).unwrap();
    std::fs::create_dir_all(data.join("empty")).unwrap();
    let db = data.join("notes.db");
    let _ = std::fs::remove_file(&db);
    let script = format!(
        "import sqlite3\nc = sqlite3.connect({db:?})\nc.execute('create table notes (body text)')\n\
         c.executemany('insert into notes values (?)', [('{marker} %d' % i,) for i in range(500)])\nc.commit()\n",
        db = db.to_str().unwrap()
    );
    assert!(std::process::Command::new("python3").args(["-c", &script]).status().unwrap().success());
    write(&data.join("index/shards/0"), &format!("{marker} shard\n").repeat(1000), false);
    std::fs::set_permissions(data.join("index/shards/0"), std::fs::Permissions::from_mode(0o640)).unwrap();
    write(&data.join("bin/run"), "#!/bin/sh\necho run\n", true);
    std::fs::set_permissions(data.join("index"), std::fs::Permissions::from_mode(0o750)).unwrap();
    let _ = std::fs::remove_file(data.join("current"));
    std::os::unix::fs::symlink("notes.db", data.join("current")).unwrap();
    let _ = std::fs::remove_file(data.join("index/db"));
    std::os::unix::fs::symlink("../notes.db", data.join("index/db")).unwrap();
    write(&dir.join("settings.json"), &format!("{{\"marker\": \"{marker}\"}}\n"), false);
}

pub fn rows(db: &Path) -> String {
    let script = format!(
        "import sqlite3\nprint(sqlite3.connect({:?}).execute('select count(*), min(body) from notes').fetchone())",
        db.to_str().unwrap()
    );
    let out = std::process::Command::new("python3").args(["-c", &script]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The declared data as a user compares it: `data/` and `settings.json`.
pub fn data_state(dir: &Path) -> BTreeMap<String, (u32, Vec<u8>)> {
    let mut t = tree(dir);
    t.retain(|k, _| k.starts_with("data") || k == "settings.json");
    t
}

pub fn backups_dir(env: &Env) -> PathBuf {
    env.home.join(".local/share/atk/backups")
}

/// The backups of `plugin` of the (one) home of `env`: under the home's own folder, named by its
/// first commit.
pub fn backups_of(env: &Env, plugin: &str) -> PathBuf {
    let root = env.git(&["rev-list", "--max-parents=0", "HEAD"]);
    backups_dir(env).join(format!("home-{}", &root.trim()[..12])).join(plugin)
}

pub fn list_json(env: &Env) -> serde_json::Value {
    serde_json::from_str(&env.ok(&["--json", "backup", "--list"])).unwrap()
}

/// Rewrites the tar inside a backup archive with Python's tarfile (the gzip recompressed), by
/// `edit`, a Python body over `members` (a list of (TarInfo, bytes)).
pub fn tamper(archive: &Path, edit: &str) {
    let script = format!(
        "import gzip, io, tarfile, sys\np = sys.argv[1]\nraw = gzip.decompress(open(p, 'rb').read())\n\
         t = tarfile.open(fileobj=io.BytesIO(raw))\nmembers = [(m, t.extractfile(m).read() if m.isfile() else None) for m in t.getmembers()]\n\
         {edit}\nout = io.BytesIO()\nw = tarfile.open(fileobj=out, mode='w', format=tarfile.GNU_FORMAT)\n\
         for m, data in members:\n    w.addfile(m, io.BytesIO(data) if data is not None else None)\nw.close()\n\
         open(p, 'wb').write(gzip.compress(out.getvalue()))\n"
    );
    let out = std::process::Command::new("python3").args(["-c", &script]).arg(archive).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

pub fn first_backup(env: &Env) -> String {
    list_json(env)["backups"][0]["id"].as_str().unwrap().to_string()
}
