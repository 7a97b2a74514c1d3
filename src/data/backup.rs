//! `atk backup`: a plugin's data, as it declares it ([`crate::plugin::data`]), archived into the
//! store ([`super::store`]).
//!
//! The work folder, beside the archive in the store (never in the home), is laid out so:
//! * `files/` — the declared paths, copied from the plugin folder as [`DataSpec::files`] lists
//!   them (links kept as links, files named like secrets left out unless asked for);
//! * `volumes/<name>.tar` — each declared docker volume, as `tar` in a throwaway container sees it;
//! * `script/` — what the plugin's `backup` script wrote into `$ATK_BACKUP_DIR`;
//! * `backup.json` — what was taken ([`Contents`]), which a restore reads back.
//!
//! then packed with [`super::archive::pack`] (every file's sha256 in the archive's manifest, with
//! the plugin's pin, atk's version and the time), encrypted with a passphrase when secrets are in
//! it. A plugin that declares `stop: true` and runs is stopped first and started again after,
//! also when the backup fails.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::archive::{self, ArchivedPlugin, Encryption, PackMeta};
use super::store::{BackupSummary, Reason, Store};
use crate::error::{Error, IoContext, Result};
use crate::fs::{Kind, RelPath, Root};
use crate::home::Entry;
use crate::lifecycle::status::{self, State};
use crate::lifecycle::{At, Runner};
use crate::plugin::data::{DataEntry, DataSpec, EntryKind, LeftOut, BACKUP_DIR_VAR};
use crate::plugin::env::EnvFile;
use crate::plugin::secret::is_secret_file;
use crate::plugin::Plugin;
use crate::reporter::Reporter;

/// The image the volume copies run in (it needs `sh` and `tar`).
pub const VOLUME_IMAGE: &str = "busybox:1.36";
/// The archive's own description of what it holds, a member like any other (so checked too).
pub const CONTENTS: &str = "backup.json";
pub const FILES: &str = "files";
pub const VOLUMES: &str = "volumes";
pub const SCRIPT: &str = "script";

/// What a backup took, as `backup.json` in the archive records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contents {
    pub format: u32,
    /// The plugin's display name.
    pub name: String,
    /// The declared paths (each under `files/` when it was there).
    pub paths: Vec<String>,
    /// The declared paths that had nothing there.
    #[serde(default)]
    pub missing: Vec<String>,
    /// The volumes taken (each `volumes/<name>.tar`).
    #[serde(default)]
    pub volumes: Vec<String>,
    /// Whether `script/` holds what the plugin's backup script wrote.
    #[serde(default)]
    pub script: bool,
    /// Whether files named like secrets were taken.
    #[serde(default)]
    pub secrets: bool,
}

/// How to back up.
pub struct Options<'a> {
    /// Take files named like secrets too; needs `passphrase`.
    pub include_secrets: bool,
    /// Encrypt the archive with it (required with `include_secrets`, allowed without).
    pub passphrase: Option<&'a str>,
    /// scrypt's work factor for an encrypted archive.
    pub work_factor: u8,
    pub reason: Reason,
    /// The bound of the status probe that tells whether the plugin runs.
    pub probe_timeout: Duration,
    /// Stop and start the plugin around the copy when it declares `stop: true` (a restore stops
    /// it itself and says no).
    pub manage_stop: bool,
    pub now: jiff::Timestamp,
}

/// One backup made.
#[derive(Debug, Clone, Serialize)]
pub struct Made {
    #[serde(flatten)]
    pub summary: BackupSummary,
    pub file: PathBuf,
    pub paths: Vec<String>,
    pub missing: Vec<String>,
    pub volumes: Vec<String>,
    pub missing_volumes: Vec<String>,
    pub script: bool,
    pub left_out: Vec<LeftOut>,
    /// It was stopped for the copy.
    pub stopped: bool,
    /// It was started again afterwards (when it was stopped); the error when that failed.
    pub restart_error: Option<String>,
    /// Older backups deleted (`config.backup.keep`).
    pub pruned: Vec<String>,
}

/// A plugin of the home, loaded with its data declaration.
pub struct Loaded<'e> {
    pub entry: &'e Entry,
    pub dir: PathBuf,
    pub plugin: Plugin,
    pub spec: DataSpec,
}

/// The plugin of `entry` and what data it declares; `Ok(None)` when it declares none.
pub fn load<'e>(root: &Path, entry: &'e Entry) -> Result<Option<Loaded<'e>>> {
    let (dir, plugin) = status::load_installed(root, entry)?;
    Ok(DataSpec::load(&dir)?.map(|spec| Loaded { entry, dir, plugin, spec }))
}

/// The error for a plugin that declares no data.
pub fn no_data(entry: &Entry) -> Error {
    Error::nothing_to_do(
        format!("'{}' declares no data to back up", crate::text::escape(&entry.name)),
        vec![format!(
            "a plugin declares its data in {} beside plugin.yaml (or you in custom/{}): paths, volumes or scripts",
            crate::plugin::data::FILE,
            crate::plugin::data::FILE
        )],
    )
}

/// Stops a running plugin for as long as it lives; [`Pause::resume`] starts it again.
pub struct Pause<'r, 'a> {
    runner: &'r Runner<'a>,
    stopped: bool,
}

impl<'r, 'a> Pause<'r, 'a> {
    /// Stops the plugin when it has a stop command and its status does not say it is stopped.
    pub fn begin(
        at: At,
        l: &Loaded,
        runner: &'r Runner<'a>,
        timeout: Duration,
        why: &str,
        reporter: &dyn Reporter,
    ) -> Result<Self> {
        if runner.command("stop").is_none() {
            return Ok(Pause { runner, stopped: false });
        }
        let loaded = Ok((l.dir.clone(), l.plugin.clone()));
        let state = status::probe_loaded(at, l.entry, &loaded, timeout)?.state;
        if matches!(state, State::Stopped | State::NotInstalled | State::McpOnly) {
            return Ok(Pause { runner, stopped: false });
        }
        reporter.note(&format!("Stopping '{}' {why} ...", crate::text::escape(&l.plugin.name)));
        runner.run("stop")?;
        Ok(Pause { runner, stopped: true })
    }

    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// Starts it again if it was stopped, also after Ctrl-C; the error of its start, if any.
    pub fn resume(self, reporter: &dyn Reporter) -> Option<Error> {
        if !self.stopped || self.runner.command("start").is_none() {
            return None;
        }
        reporter.note(&format!("Starting '{}' again ...", crate::text::escape(&self.runner.plugin.name)));
        crate::interrupt::deferred(|| self.runner.run("start").err())
    }
}

/// The error `e` of a backup or restore that stopped the plugin `l`, and then could not start it
/// again (`restart_error`): the user learns it is down, and how to start it, as a hint more (a
/// warning when `e` is Ctrl-C's).
pub fn not_started_again(e: Error, restart_error: Option<&str>, l: &Loaded, reporter: &dyn Reporter) -> Error {
    let Some(why) = restart_error else { return e };
    let hint = format!(
        "'{}' was stopped for this and did not start again ({why}); start it with `atk start {}`",
        crate::text::escape(&l.plugin.name),
        l.entry.directory
    );
    if matches!(e, Error::Interrupted) {
        reporter.warn(&hint);
        return e;
    }
    e.with_hint(hint)
}

/// Backs up the data of the plugin `l` into `store`.
pub fn backup(at: At, store: &Store, l: &Loaded, opts: &Options, reporter: &dyn Reporter) -> Result<Made> {
    if opts.include_secrets && opts.passphrase.is_none() {
        return Err(Error::usage(
            "a backup with secrets is encrypted, and needs a passphrase",
            Some("give one on the terminal, with --passphrase-file FILE, or in ATK_BACKUP_PASSPHRASE".into()),
        ));
    }
    // What could stop the backup is found before the plugin is stopped.
    let scripts = l.spec.scripts(&l.dir)?;
    let runner = Runner::new(at.root, &l.dir, &l.entry.directory, &l.plugin, reporter, at.outer);
    let pause = if opts.manage_stop && l.spec.stop {
        Some(Pause::begin(at, l, &runner, opts.probe_timeout, "for a consistent copy", reporter)?)
    } else {
        None
    };
    let made = take(at, store, l, &runner, scripts.as_ref().map(|s| s.backup.0.as_path()), opts, reporter);
    let stopped = pause.as_ref().is_some_and(Pause::stopped);
    let restart_error = pause.and_then(|p| p.resume(reporter)).map(|e| e.to_string());
    let mut made = made.map_err(|e| not_started_again(e, restart_error.as_deref(), l, reporter))?;
    made.stopped = stopped;
    made.restart_error = restart_error;
    Ok(made)
}

/// The copy itself, with the plugin as it is (stopped or not).
fn take(
    at: At,
    store: &Store,
    l: &Loaded,
    runner: &Runner,
    script: Option<&Path>,
    opts: &Options,
    reporter: &dyn Reporter,
) -> Result<Made> {
    let directory = &l.entry.directory;
    // What the archive holds is built in `tree` of a work folder of the store's (beside its lock).
    let work_dir = store.work(directory)?;
    let tree = work_dir.path().join("tree");
    std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700)
        .create(&tree)
        .ctx(|| format!("cannot create {}", tree.display()))?;
    let work = Root::open_no_link(&tree)?;

    // The declared paths.
    let listed = l.spec.files(&l.dir, opts.include_secrets)?;
    let source = Root::open(&l.dir)?;
    let files = RelPath::new(FILES).expect("a plain name");
    work.create_dir(&files)?;
    copy_entries(&source, &listed.entries, &work, &files)?;

    // The volumes.
    let mut volumes = Vec::new();
    let mut missing_volumes = Vec::new();
    if !l.spec.volumes.is_empty() {
        let env = EnvFile::read(&l.dir.join(".env"), &|n| at.outer.var(n))?;
        let lookup = |var: &str| {
            env.get(var).or_else(|| l.plugin.env_vars.iter().find(|v| v.name == var).and_then(|v| v.default.clone()))
        };
        let into = RelPath::new(VOLUMES).expect("a plain name");
        work.create_dir(&into)?;
        for v in &l.spec.volumes {
            let name = v.name(lookup)?;
            if !volume_exists(&name, opts.probe_timeout)? {
                missing_volumes.push(name);
                continue;
            }
            reporter.note(&format!("Copying docker volume '{}' ...", crate::text::escape(&name)));
            volume_tar(&name, &work.abs(&into), &format!("{name}.tar"))?;
            volumes.push(name);
        }
    }

    // The plugin's own script.
    if let Some(script) = script {
        let into = RelPath::new(SCRIPT).expect("a plain name");
        work.create_dir(&into)?;
        work.set_mode(&into, 0o700)?;
        reporter.note(&format!("Running the backup script of '{}' ...", crate::text::escape(&l.plugin.name)));
        run_script(runner, script, &work.abs(&into), "backup")?;
        // What it wrote obeys the rule of the declared paths: secrets only when asked for.
        if !opts.include_secrets {
            let secret = work.files(&into)?.into_iter().find(|(p, k)| *k != Kind::Dir && is_secret_file(p.name()));
            if let Some((p, _)) = secret {
                return Err(Error::unsafe_path(
                    format!(
                        "the backup script of '{}' wrote '{}', a file named like a secret; a backup without --include-secrets holds none",
                        crate::text::escape(&l.plugin.name),
                        crate::text::escape(p.as_str())
                    ),
                    vec!["back up with --include-secrets (the archive is then encrypted), or have the script leave it out".into()],
                ));
            }
        }
    }

    let contents = Contents {
        format: 1,
        name: l.plugin.name.clone(),
        paths: l.spec.paths.iter().map(|p| p.as_str().to_string()).collect(),
        missing: listed.missing.iter().map(|p| p.as_str().to_string()).collect(),
        volumes: volumes.clone(),
        script: script.is_some(),
        secrets: opts.include_secrets,
    };
    let json = serde_json::to_vec_pretty(&contents).expect("contents serialize");
    work.write_new(&RelPath::new(CONTENTS).expect("a plain name"), &json, 0o600)?;

    let id = store.new_id(directory, opts.now);
    let (file, _) = store.files_of(directory, &id);
    let pin = l.entry.source.commit.clone();
    let meta = PackMeta {
        atk_version: env!("CARGO_PKG_VERSION").to_string(),
        created: opts.now,
        plugin: ArchivedPlugin { directory: directory.clone(), pin: pin.clone() },
    };
    let encryption = opts.passphrase.map(|p| Encryption::new(p).with_work_factor(opts.work_factor));
    let keep_all = |_: &RelPath, _: Kind| true;
    let manifest = {
        let _busy = reporter.activity(&format!("Archiving the data of '{}'", crate::text::escape(&l.plugin.name)));
        archive::pack(&work, &keep_all, &meta, &file, encryption.as_ref())?
    };
    crate::failpoint::hit("backup-packed");
    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    let summary = BackupSummary {
        id: id.clone(),
        directory: directory.clone(),
        name: l.plugin.name.clone(),
        created: opts.now.to_string(),
        pin,
        atk_version: meta.atk_version.clone(),
        size,
        entries: manifest.files.len(),
        encrypted: encryption.is_some(),
        secrets: opts.include_secrets,
        reason: opts.reason,
    };
    store.write_summary(&summary)?;
    let pruned = if opts.reason == Reason::Backup { store.prune(directory, &[&id])? } else { vec![] };
    Ok(Made {
        summary,
        file,
        paths: contents.paths,
        missing: contents.missing,
        volumes,
        missing_volumes,
        script: script.is_some(),
        left_out: listed.left_out,
        stopped: false,
        restart_error: None,
        pruned,
    })
}

/// Copies `entries` (paths below `source`) to below `to` in `dest`, folders first, keeping modes
/// and links as links; a file that changes size while it is copied is an error.
pub fn copy_entries(source: &Root, entries: &[DataEntry], dest: &Root, to: &RelPath) -> Result<()> {
    source.batch(|| {
        dest.batch(|| -> Result<()> {
            for e in entries {
                crate::error::check_interrupt()?;
                let target = to.concat(&e.path);
                if let Some(parent) = target.parent() {
                    dest.create_dir_all(&parent)?;
                }
                match &e.kind {
                    EntryKind::Dir { mode } => {
                        if !dest.exists(&target) {
                            dest.create_dir(&target)?;
                        }
                        dest.set_mode(&target, mode & 0o777)?;
                    }
                    EntryKind::File { .. } => {
                        let (mut from, size, mode) = source.open_file(&e.path)?;
                        let mut out = dest.create_file(&target, 0o600)?;
                        let copied = std::io::copy(&mut from, &mut out)
                            .ctx(|| format!("cannot copy {}", source.abs(&e.path).display()))?;
                        if copied != size {
                            return Err(Error::conflict(
                                format!("{} changed while it was copied", source.abs(&e.path).display()),
                                vec!["stop what writes there (or declare `stop: true`), then try again".into()],
                            ));
                        }
                        dest.set_mode(&target, mode & 0o777)?;
                    }
                    EntryKind::Link { target: link } => dest.symlink(link, &target)?,
                }
            }
            Ok(())
        })
    })
}

/// Runs a plugin's `backup` or `restore` script with the lifecycle environment plus
/// `ATK_BACKUP_DIR=dir`.
pub fn run_script(runner: &Runner, script: &Path, dir: &Path, what: &str) -> Result<()> {
    let status = runner.run_script(script, &[], &[(BACKUP_DIR_VAR, dir)])?;
    if !status.success() {
        return Err(runner.failure(what, status));
    }
    Ok(())
}

/// Whether docker has a volume named `name` (`docker volume inspect`, bounded by `timeout`).
pub fn volume_exists(name: &str, timeout: Duration) -> Result<bool> {
    let mut command = Command::new("docker");
    command.args(["volume", "inspect", "--format", "{{.Name}}", name]);
    match crate::process::probe(&mut command, timeout, "cannot run docker (volumes are copied with it)")? {
        crate::process::Probe::Exited(Some(0)) => Ok(true),
        crate::process::Probe::Exited(_) => Ok(false),
        crate::process::Probe::TimedOut => {
            Err(Error::other(format!("`docker volume inspect {name}` did not answer within {}s", timeout.as_secs())))
        }
    }
}

/// Writes the volume `name` as the tar file `file` in the folder `dir`.
fn volume_tar(name: &str, dir: &Path, file: &str) -> Result<()> {
    let mut command = Command::new("docker");
    command
        .args(["run", "--rm", "--network", "none", "-v"])
        .arg(format!("{name}:/volume:ro"))
        .arg("-v")
        .arg(format!("{}:/backup", dir.display()))
        .args([VOLUME_IMAGE, "tar", "-cf", &format!("/backup/{file}"), "-C", "/volume", "."]);
    docker(&mut command, name, "copy")
}

/// Replaces what the volume `name` holds with the tar file `file` in the folder `dir`.
pub fn volume_untar(name: &str, dir: &Path, file: &str) -> Result<()> {
    let mut command = Command::new("docker");
    command
        .args(["run", "--rm", "--network", "none", "-v"])
        .arg(format!("{name}:/volume"))
        .arg("-v")
        .arg(format!("{}:/backup:ro", dir.display()))
        .args([
            VOLUME_IMAGE,
            "sh",
            "-c",
            &format!("find /volume -mindepth 1 -maxdepth 1 -exec rm -rf {{}} + && tar -xf /backup/{file} -C /volume"),
        ]);
    docker(&mut command, name, "restore")
}

fn docker(command: &mut Command, volume: &str, what: &str) -> Result<()> {
    crate::error::check_interrupt()?;
    let status = crate::process::foreground(command, "cannot run docker (volumes are copied with it)")?;
    if crate::interrupt::is_set() {
        return Err(Error::Interrupted);
    }
    if !status.success() {
        return Err(Error::Other {
            message: format!("docker could not {what} the volume '{}' ({status})", crate::text::escape(volume)),
            hints: vec![format!("docker must be running, with the image {VOLUME_IMAGE} or access to pull it")],
        });
    }
    Ok(())
}
