//! `atk restore`: a backup's data put back in place of the plugin's, carefully.
//!
//! [`prepare`] finds the backup, verifies every checksum and extracts it into a staging folder in
//! the home's `.git/atk/` (on the file system of the plugin folder); it refuses a backup of
//! another plugin, paths the plugin does not declare as data (now), volumes it does not declare,
//! and a script part without a restore script. What it returns says what will be replaced (sizes,
//! ages, pins), for the command to show and ask about.
//!
//! [`apply`] stops the plugin when it runs, backs up the current data (the same secrets and
//! passphrase as the backup restored), carries the plugin's secret files over when the backup has
//! none, then in one transaction moves each declared path aside and the backup's in its place:
//! a kill -9 at any point leaves the old data (the next atk rolls the transaction back) or the
//! new (the transaction finished), never a mix. Volumes are restored and the restore script runs
//! inside that transaction too, so a failure there puts the files back; the plugin is started
//! again after.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::backup::{self, Contents, Loaded, Made, Options as BackupOptions, Pause, CONTENTS, FILES, SCRIPT, VOLUMES};
use super::store::{Reason, Store, Stored};
use crate::error::{Error, IoContext, Result};
use crate::fs::{Cap, Kind, RelPath, Root};
use crate::home::{Home, Locked, Transaction};
use crate::lifecycle::{At, Runner};
use crate::plugin::data::LeftOutWhy;
use crate::plugin::env::EnvFile;
use crate::reporter::Reporter;

/// How much is at a path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Size {
    pub bytes: u64,
    pub files: usize,
    /// RFC 3339: the newest change of what is there.
    pub changed: Option<String>,
}

/// One declared path: what is there now, and what the backup has.
#[derive(Debug, Clone, Serialize)]
pub struct PathChange {
    pub path: String,
    pub now: Option<Size>,
    pub backup: Option<Size>,
}

/// A verified backup, extracted, with what restoring it replaces.
pub struct Prepared {
    pub stored: Stored,
    pub contents: Contents,
    pub changes: Vec<PathChange>,
    pub volumes: Vec<String>,
    /// The restore script that will run, relative to the plugin folder.
    pub script: Option<String>,
    /// The plugin's pin now, and the backup's.
    pub pin_now: Option<String>,
    pub pin_backup: Option<String>,
    staging: tempfile::TempDir,
    tree: Root,
}

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    // The first four are in the plan the command shows with it.
    #[serde(skip)]
    pub id: String,
    #[serde(skip)]
    pub paths: Vec<String>,
    #[serde(skip)]
    pub volumes: Vec<String>,
    #[serde(skip)]
    pub script: Option<String>,
    /// The backup of the data replaced.
    pub before: Made,
    /// Secret files kept from the current data (the backup had none).
    pub kept_secrets: Vec<String>,
    pub stopped: bool,
    pub restart_error: Option<String>,
}

fn refused(stored: &Stored, why: String) -> Error {
    Error::unsafe_path(
        format!("backup {} of '{}' {why}", stored.summary.id, stored.summary.directory),
        vec!["restore another backup (`atk backup --list`), or declare the data again in atk-data.yaml".into()],
    )
}

/// Verifies and extracts the backup `stored` (found in the store with [`Store::find`]) of the
/// plugin `l`.
pub fn prepare(
    home: &Home,
    at: At,
    l: &Loaded,
    stored: Stored,
    passphrase: Option<&str>,
    reporter: &dyn Reporter,
) -> Result<Prepared> {
    let directory = &l.entry.directory;
    let staging = home.work_dir("restore-")?;
    let tree_dir = staging.path().join("tree");
    std::fs::create_dir(&tree_dir).ctx(|| format!("cannot create {}", tree_dir.display()))?;
    let manifest = {
        let _busy = reporter.activity(&format!("Verifying backup {}", stored.summary.id));
        super::archive::extract_verified(&stored.file, passphrase, &tree_dir)?
    };
    let tree = Root::open_no_link(&tree_dir)?;
    if manifest.plugin.directory != *directory {
        return Err(refused(&stored, format!("is a backup of '{}'", crate::text::escape(&manifest.plugin.directory))));
    }
    let bytes = tree.read(&RelPath::new(CONTENTS).expect("a plain name"), Cap::State)?;
    let contents: Contents = serde_json::from_slice(&bytes)
        .map_err(|e| refused(&stored, format!("has a {CONTENTS} atk cannot read: {e}")))?;

    // Files named like secrets come only in a backup made with them, and that one is encrypted:
    // an unencrypted archive (anyone can write one) never replaces the plugin's `.env`.
    if contents.secrets && !super::archive::is_encrypted(&stored.file)? {
        return Err(refused(&stored, "says it holds secrets, but is not encrypted".into()));
    }
    if !contents.secrets {
        let secret = manifest.files.iter().find(|f| {
            f.kind != super::archive::MemberKind::Dir
                && (f.path.starts_with(&format!("{FILES}/")) || f.path.starts_with(&format!("{SCRIPT}/")))
                && crate::plugin::secret::is_secret_file(f.path.rsplit('/').next().unwrap_or_default())
        });
        if let Some(f) = secret {
            let shown = f.path.strip_prefix(&format!("{FILES}/")).unwrap_or(&f.path);
            return Err(refused(
                &stored,
                format!("holds '{}', named like a secret, but was made without secrets", crate::text::escape(shown)),
            ));
        }
    }
    // Its links were checked against the archive's root, which holds `files/`; put in place,
    // `files/` is the plugin folder, and every link must stay inside that.
    let files_rel = RelPath::new(FILES).expect("a plain name");
    if matches!(tree.kind(&files_rel)?, Some(Kind::Dir)) {
        if let Some((link, target)) = tree.sub(&files_rel)?.first_escaping_link()? {
            return Err(refused(
                &stored,
                format!(
                    "holds the link '{}' to {}, which leads out of the plugin folder",
                    crate::text::escape(link.as_str()),
                    crate::text::escape(&target.to_string_lossy())
                ),
            ));
        }
    }

    // Only what the plugin declares as data now is replaced.
    let mut paths = Vec::new();
    for p in &contents.paths {
        let rel = RelPath::new(p).map_err(|e| refused(&stored, format!("names the path {e}")))?;
        let declared = l.spec.paths.iter().any(|d| rel.as_str() == d.as_str() || rel.starts_with(d));
        if !declared {
            return Err(refused(
                &stored,
                format!("holds '{}', which the plugin does not declare as data", crate::text::escape(p)),
            ));
        }
        paths.push(rel);
    }
    // A path below another one comes back with it (the folder is put in place whole); replacing
    // it on its own after that would move aside what was just put there.
    paths.sort();
    paths.dedup();
    let all = paths.clone();
    paths.retain(|p| !all.iter().any(|q| q != p && p.starts_with(q)));
    // Named as the backup named them: the `.env` may take in the user's environment.
    let env = EnvFile::read(&l.dir.join(".env"), &|n| at.outer.var(n))?;
    let lookup = |var: &str| {
        env.get(var).or_else(|| l.plugin.env_vars.iter().find(|v| v.name == var).and_then(|v| v.default.clone()))
    };
    let declared_volumes: Vec<String> = l.spec.volumes.iter().filter_map(|v| v.name(lookup).ok()).collect();
    for v in &contents.volumes {
        if !declared_volumes.contains(v) {
            return Err(refused(
                &stored,
                format!("holds the volume '{}', which the plugin does not declare", crate::text::escape(v)),
            ));
        }
        let tar = RelPath::new(VOLUMES).and_then(|d| d.join(&format!("{v}.tar")));
        if !tar.is_ok_and(|t| matches!(tree.kind(&t), Ok(Some(Kind::File { .. })))) {
            return Err(refused(&stored, format!("lacks the copy of the volume '{}'", crate::text::escape(v))));
        }
    }
    let script = if contents.script {
        match l.spec.scripts(&l.dir) {
            Ok(Some(s)) => Some(s.restore.1),
            Ok(None) => {
                return Err(refused(
                    &stored,
                    "holds what a backup script wrote, and the plugin has no restore script".into(),
                ))
            }
            Err(e) => return Err(e),
        }
    } else {
        None
    };

    let plugin_root = Root::open(&l.dir)?;
    let files = RelPath::new(FILES).expect("a plain name");
    let mut changes = Vec::new();
    for p in &paths {
        let in_backup = files.concat(p);
        changes.push(PathChange {
            path: p.as_str().to_string(),
            now: size_of(&plugin_root, p)?,
            backup: size_of(&tree, &in_backup)?,
        });
    }
    Ok(Prepared {
        pin_now: l.entry.source.commit.clone(),
        pin_backup: manifest.plugin.pin.clone(),
        stored,
        contents: contents.clone(),
        changes,
        volumes: contents.volumes.clone(),
        script,
        staging,
        tree,
    })
}

/// What is at `rel` below `root` (`None`: nothing), links not followed.
fn size_of(root: &Root, rel: &RelPath) -> Result<Option<Size>> {
    let Some(kind) = root.kind(rel)? else { return Ok(None) };
    let mut size = Size::default();
    let mut newest: Option<std::time::SystemTime> = None;
    let mut note = |path: &Path, bytes: u64, is_file: bool| {
        if is_file {
            size.bytes += bytes;
            size.files += 1;
        }
        if let Ok(m) = std::fs::symlink_metadata(path).and_then(|m| m.modified()) {
            newest = Some(newest.map_or(m, |n| n.max(m)));
        }
    };
    match kind {
        Kind::Dir => {
            for (child, k) in root.files(rel)? {
                let abs = root.abs(&rel.concat(&child));
                let bytes = std::fs::symlink_metadata(&abs).map(|m| m.len()).unwrap_or(0);
                note(&abs, bytes, matches!(k, Kind::File { .. }));
            }
            note(&root.abs(rel), 0, false);
        }
        Kind::File { .. } => {
            let abs = root.abs(rel);
            let bytes = std::fs::symlink_metadata(&abs).map(|m| m.len()).unwrap_or(0);
            note(&abs, bytes, true);
        }
        _ => note(&root.abs(rel), 0, false),
    }
    size.changed = newest.and_then(|t| jiff::Timestamp::try_from(t).ok()).map(|t| t.to_string());
    Ok(Some(size))
}

/// How to restore.
pub struct Options<'a> {
    pub passphrase: Option<&'a str>,
    pub work_factor: u8,
    pub probe_timeout: Duration,
    pub now: jiff::Timestamp,
}

/// Restores `prepared` into the plugin `l` of the locked home.
pub fn apply(
    home: &Locked,
    at: At,
    store: &Store,
    l: &Loaded,
    prepared: Prepared,
    opts: &Options,
    reporter: &dyn Reporter,
) -> Result<Restored> {
    let runner = Runner::new(at.root, &l.dir, &l.entry.directory, &l.plugin, reporter, at.outer);
    let pause = Pause::begin(at, l, &runner, opts.probe_timeout, "to put its data back", reporter)?;
    let result = swap(home, store, l, &runner, &prepared, opts, reporter);
    let stopped = pause.stopped();
    let restart_error = pause.resume(reporter).map(|e| e.to_string());
    let mut restored = result.map_err(|e| backup::not_started_again(e, restart_error.as_deref(), l, reporter))?;
    restored.stopped = stopped;
    restored.restart_error = restart_error;
    Ok(restored)
}

/// Backs the current data up, then replaces it with `prepared` in one transaction (the volumes
/// and the restore script outside it, put back from that backup on a failure). `runner` is the
/// plugin's, made where the home and the outer environment are.
fn swap(
    home: &Locked,
    store: &Store,
    l: &Loaded,
    runner: &Runner,
    prepared: &Prepared,
    opts: &Options,
    reporter: &dyn Reporter,
) -> Result<Restored> {
    let contents = &prepared.contents;
    reporter.note(&format!("Backing up the current data of '{}' first ...", crate::text::escape(&l.plugin.name)));
    let at = At { root: runner.home, outer: runner.outer };
    let before = backup::backup(
        at,
        store,
        l,
        &BackupOptions {
            include_secrets: contents.secrets,
            passphrase: if contents.secrets { opts.passphrase } else { None },
            work_factor: opts.work_factor,
            reason: Reason::BeforeRestore,
            probe_timeout: opts.probe_timeout,
            manage_stop: false,
            now: opts.now,
        },
        reporter,
    )?;
    let before_hint = format!(
        "the data from before the restore is in backup {} (`atk restore {} --from {}`)",
        before.summary.id, l.entry.directory, before.summary.id
    );

    // What a backup does not take, the restore does not drop: the plugin's secret files (when the
    // backup has none) and links out of its folder stay as they are.
    let tree = &prepared.tree;
    let files = RelPath::new(FILES).expect("a plain name");
    let mut kept_secrets = Vec::new();
    let now_all = l.spec.files(&l.dir, true)?;
    let plugin_root = Root::open(&l.dir)?;
    for left in &now_all.left_out {
        if let LeftOutWhy::LinkOut { target } = &left.why {
            let to = files.concat(&left.path);
            if tree.kind(&to)?.is_none() && covered(&prepared.changes, &left.path) {
                if let Some(parent) = to.parent() {
                    tree.create_dir_all(&parent)?;
                }
                // The user's link, as it was (a Root makes no link that leads out).
                std::os::unix::fs::symlink(target, tree.abs(&to))
                    .ctx(|| format!("cannot keep the link {}", l.dir.join(left.path.as_str()).display()))?;
            }
        }
    }
    if !contents.secrets {
        let secrets: Vec<_> = now_all
            .entries
            .iter()
            .filter(|e| matches!(e.kind, crate::plugin::data::EntryKind::File { .. }))
            .filter(|e| crate::plugin::secret::is_secret_file(e.path.name()))
            .cloned()
            .collect();
        for e in &secrets {
            let to = files.concat(&e.path);
            if tree.kind(&to)?.is_none() && covered(&prepared.changes, &e.path) {
                backup::copy_entries(&plugin_root, std::slice::from_ref(e), tree, &files)?;
                kept_secrets.push(e.path.as_str().to_string());
            }
        }
    }

    let base = crate::home::plugin_rel(&l.entry.directory)?;
    let operation = format!("restore {}", l.entry.directory);
    // The volumes emptied and filled so far: the transaction cannot undo that, so a failure
    // after it puts them back from the backup just made.
    let mut touched: Vec<String> = Vec::new();
    let outcome = Transaction::run(home, &operation, |tx| {
        for c in &prepared.changes {
            let declared = RelPath::new(&c.path).map_err(|e| Error::unsafe_path(e.to_string(), vec![]))?;
            let rel = base.concat(&declared);
            let files_root = &tx.home().files;
            if files_root.kind(&rel)?.is_some() {
                tx.move_aside(&rel)?;
            }
            let from = files.concat(&declared);
            if tree.kind(&from)?.is_some() {
                // The folders on the way, as the transaction makes them (so rollback removes them).
                let mut at_dir = base.clone();
                let parts: Vec<&str> = declared.components().collect();
                for part in &parts[..parts.len() - 1] {
                    at_dir = at_dir.join(part).map_err(|e| Error::unsafe_path(e.to_string(), vec![]))?;
                    match tx.home().files.kind(&at_dir)? {
                        Some(Kind::Dir) => {}
                        None => tx.mkdir(&at_dir)?,
                        Some(_) => {
                            return Err(Error::unsafe_path(
                                format!("{} is not a folder", tx.home().files.abs(&at_dir).display()),
                                vec!["move it away, then restore again".into()],
                            ))
                        }
                    }
                }
                tx.place(tree, &from, &rel)?;
            }
            crate::failpoint::hit("restore-path");
        }
        for v in &prepared.volumes {
            reporter.note(&format!("Restoring docker volume '{}' ...", crate::text::escape(v)));
            touched.push(v.clone());
            backup::volume_untar(v, &tree.abs(&RelPath::new(VOLUMES).expect("a plain name")), &format!("{v}.tar"))?;
        }
        if prepared.script.is_some() {
            let scripts = l.spec.scripts(&l.dir)?.expect("checked when prepared");
            reporter.note(&format!("Running the restore script of '{}' ...", crate::text::escape(&l.plugin.name)));
            backup::run_script(
                runner,
                &scripts.restore.0,
                &tree.abs(&RelPath::new(SCRIPT).expect("a plain name")),
                "restore",
            )?;
        }
        crate::failpoint::hit("restore-done");
        Ok(())
    });
    if let Err(e) = outcome {
        let e = match put_volumes_back(home, &before, &touched, opts.passphrase, reporter) {
            Ok(()) => e,
            Err(undo) => Error::Other {
                message: format!("{e}; then putting the docker volumes back failed too: {undo}"),
                hints: vec![],
            },
        };
        return Err(e.with_hint(before_hint));
    }
    Ok(Restored {
        id: prepared.stored.summary.id.clone(),
        paths: prepared.changes.iter().map(|c| c.path.clone()).collect(),
        volumes: prepared.volumes.clone(),
        script: prepared.script.clone(),
        before,
        kept_secrets,
        stopped: false,
        restart_error: None,
    })
}

/// Puts the volumes `touched` (by a restore that failed) back as `before`, the backup of the data
/// the restore was replacing, holds them; also after Ctrl-C.
fn put_volumes_back(
    home: &Home,
    before: &Made,
    touched: &[String],
    passphrase: Option<&str>,
    reporter: &dyn Reporter,
) -> Result<()> {
    let volumes: Vec<&String> = touched.iter().filter(|v| before.volumes.contains(v)).collect();
    if volumes.is_empty() {
        return Ok(());
    }
    crate::interrupt::deferred(|| {
        let staging = home.work_dir("undo-")?;
        let passphrase = if before.summary.encrypted { passphrase } else { None };
        super::archive::extract_verified(&before.file, passphrase, staging.path())?;
        for v in volumes {
            reporter.note(&format!("Putting docker volume '{}' back as it was ...", crate::text::escape(v)));
            backup::volume_untar(v, &staging.path().join(VOLUMES), &format!("{v}.tar"))?;
        }
        Ok(())
    })
}

/// Whether `path` is one of the paths the restore replaces, or below one.
fn covered(changes: &[PathChange], path: &RelPath) -> bool {
    changes.iter().any(|c| path.as_str() == c.path || RelPath::new(&c.path).is_ok_and(|p| path.starts_with(&p)))
}

impl Prepared {
    /// The staging folder (for tests and messages).
    pub fn staging_path(&self) -> PathBuf {
        self.staging.path().to_path_buf()
    }
}
