//! Where backups are kept: `config.backup.dir` (by default the user's data folder for atk, then
//! `backups/`), then `home-<id>/` (the home's first commit, which its clones share), then one
//! folder per plugin directory, each backup an archive `<ID>.atk-backup` (see
//! [`super::archive`]) and, beside it, `<ID>.json`: what `atk backup --list` shows without opening
//! (or decrypting) the archive. The summary is for showing only; a restore trusts nothing but the
//! archive's own checked manifest.
//!
//! IDs are the UTC time of the backup, `20261206T054012Z` (with `-2`, `-3`, … when two fall in the
//! same second), so that sorting them sorts by time. `config.backup.keep` backups of each plugin
//! are kept (the newest); 0 keeps every one.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::fs::{Cap, Links};

/// The archive's file name ends so.
pub const ARCHIVE_SUFFIX: &str = ".atk-backup";
/// The summary's file name ends so.
const SUMMARY_SUFFIX: &str = ".json";
/// How many backups of each plugin are kept when `config.backup.keep` is not set.
pub const DEFAULT_KEEP: usize = 5;
/// The key of `config` that holds `dir` and `keep`.
pub const CONFIG_KEY: &str = "backup";

/// Why a backup was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// `atk backup`.
    Backup,
    /// The data a restore replaced, saved first.
    BeforeRestore,
    /// Brought in by `atk import`.
    Imported,
}

/// A backup's summary, as `<ID>.json` keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupSummary {
    pub id: String,
    /// The plugin's directory in the home.
    pub directory: String,
    /// Its display name when the backup was made.
    pub name: String,
    /// RFC 3339.
    pub created: String,
    /// The commit the plugin was at (none for a local plugin).
    pub pin: Option<String>,
    pub atk_version: String,
    /// The archive's size in bytes.
    pub size: u64,
    /// Files, folders and links in the archive.
    pub entries: usize,
    pub encrypted: bool,
    /// Whether files named like secrets (`.env`) are in it.
    pub secrets: bool,
    pub reason: Reason,
}

/// One backup in the store.
#[derive(Debug, Clone, Serialize)]
pub struct Stored {
    #[serde(flatten)]
    pub summary: BackupSummary,
    /// The archive.
    pub file: PathBuf,
}

/// Where backups are, and how many of each plugin to keep.
#[derive(Debug, Clone)]
pub struct Store {
    pub dir: PathBuf,
    pub keep: usize,
}

/// The user's data folder for atk's backups, from the environment's `XDG_DATA_HOME` (else
/// `~/.local/share`; on macOS `~/Library/Application Support`).
pub fn default_dir(xdg_data_home: Option<&str>, user_home: &Path) -> PathBuf {
    let base = match xdg_data_home.filter(|d| Path::new(d).is_absolute()) {
        Some(d) => PathBuf::from(d),
        None if cfg!(target_os = "macos") => user_home.join("Library/Application Support"),
        None => user_home.join(".local/share"),
    };
    base.join("atk").join("backups")
}

impl Store {
    /// Where backups are kept for the home that is (or is about to be) at `home_root`, whose
    /// repository is at `repo_root` (an import builds it beside its place first): `config.backup`
    /// of its manifest, else the user's data folder (`$XDG_DATA_HOME/atk/backups` of
    /// `environment`), then a folder of the home's own, named by its first commit's id: every
    /// clone of the home finds the same backups, another home never sees or prunes them.
    pub fn of_home(
        manifest: &crate::home::Manifest,
        environment: &crate::environment::Environment,
        home_root: &Path,
        repo_root: &Path,
    ) -> Result<Store> {
        let user_home = environment.user_home();
        let default = default_dir(environment.var("XDG_DATA_HOME").as_deref(), &user_home);
        let mut store = Store::from_config(&manifest.config, default, &user_home, home_root)?;
        let repo = crate::home::repo::open_checked(repo_root)?;
        let key = crate::home::repo::root_commit(&repo).map(|id| id.to_hex_with_len(12).to_string());
        store.dir = store.dir.join(format!("home-{}", key.as_deref().unwrap_or("new")));
        Ok(store)
    }

    /// The store `config.backup` of `manifest_config` names (`dir`: absolute or `~/…`; `keep`: a
    /// number), else `default_dir` and [`DEFAULT_KEEP`]. A store inside the home is refused: a
    /// backup is never committed.
    pub fn from_config(
        config: &crate::home::manifest::Config,
        default_dir: PathBuf,
        user_home: &Path,
        home: &Path,
    ) -> Result<Store> {
        let bad = |what: String| Error::Usage {
            message: format!("config.{CONFIG_KEY} in manifest.yaml: {what}"),
            hint: Some(format!(
                "write e.g. `{CONFIG_KEY}: {{dir: ~/atk-backups, keep: 5}}` under config, or remove it for the default"
            )),
        };
        let mut store = Store { dir: default_dir, keep: DEFAULT_KEEP };
        if let Some(value) = config.extra.get(CONFIG_KEY) {
            let yaml_serde::Value::Mapping(map) = value else {
                return Err(bad("expected a mapping with dir and keep".into()));
            };
            for (k, v) in map {
                match (k.as_str(), v) {
                    (Some("dir"), yaml_serde::Value::String(s)) => {
                        let p = crate::fs::expand_tilde(Path::new(s.trim()), user_home);
                        if !p.is_absolute() {
                            return Err(bad(format!("dir {:?} is not an absolute path (or ~/…)", s)));
                        }
                        // `..` after a folder not made yet would pass the check below and lead
                        // where creating the folders takes it (the home, say).
                        if p.components().any(|c| c == std::path::Component::ParentDir) {
                            return Err(bad(format!("dir {:?} has `..` in it; write the folder plainly", s)));
                        }
                        store.dir = p;
                    }
                    (Some("keep"), yaml_serde::Value::Number(n)) if n.as_u64().is_some() => {
                        store.keep = n.as_u64().unwrap_or(0).min(100_000) as usize;
                    }
                    (Some("dir"), _) => return Err(bad("dir must be a path".into())),
                    (Some("keep"), _) => return Err(bad("keep must be a whole number (0 keeps every backup)".into())),
                    (other, _) => {
                        return Err(bad(format!("unknown key {:?} (known: dir, keep)", other.unwrap_or("?"))));
                    }
                }
            }
        }
        if inside(&store.dir, home) {
            return Err(Error::Usage {
                message: format!(
                    "the backup folder {} is inside the ATK Home; backups are never kept (or committed) there",
                    store.dir.display()
                ),
                hint: Some(format!(
                    "set config.{CONFIG_KEY}.dir in manifest.yaml to a folder outside {}",
                    home.display()
                )),
            });
        }
        Ok(store)
    }

    /// The folder of `directory`'s backups.
    pub fn plugin_folder(&self, directory: &str) -> PathBuf {
        self.dir.join(directory)
    }

    /// The folder of `directory`'s backups, made (0700) when missing; a link there is refused.
    pub fn ensure_plugin_folder(&self, directory: &str) -> Result<PathBuf> {
        let dir = self.plugin_folder(directory);
        for d in [&self.dir, &dir] {
            match std::fs::symlink_metadata(d) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(Error::unsafe_path(
                        format!("{} is not a folder (a link or a file); atk keeps backups in a folder", d.display()),
                        vec![format!("move it away, or set config.{CONFIG_KEY}.dir in manifest.yaml")],
                    ))
                }
                Err(_) => {
                    use std::os::unix::fs::DirBuilderExt;
                    std::fs::DirBuilder::new()
                        .recursive(true)
                        .mode(0o700)
                        .create(d)
                        .map_err(|e| Error::Other {
                            message: format!("cannot create the backup folder {}: {e}", d.display()),
                            hints: vec![format!(
                                "set config.{CONFIG_KEY}.dir in manifest.yaml to a folder of this machine (or remove it for the default)"
                            )],
                        })?;
                }
            }
        }
        Ok(dir)
    }

    /// A new ID for a backup of `directory` made at `at`, unused in its folder.
    pub fn new_id(&self, directory: &str, at: jiff::Timestamp) -> String {
        let base = at.strftime("%Y%m%dT%H%M%SZ").to_string();
        let folder = self.plugin_folder(directory);
        let taken = |id: &str| {
            folder.join(format!("{id}{ARCHIVE_SUFFIX}")).exists()
                || folder.join(format!("{id}{SUMMARY_SUFFIX}")).exists()
        };
        let mut id = base.clone();
        let mut n = 2;
        while taken(&id) {
            id = format!("{base}-{n}");
            n += 1;
        }
        id
    }

    /// Where the archive and the summary of backup `id` of `directory` go.
    pub fn files_of(&self, directory: &str, id: &str) -> (PathBuf, PathBuf) {
        let folder = self.plugin_folder(directory);
        (folder.join(format!("{id}{ARCHIVE_SUFFIX}")), folder.join(format!("{id}{SUMMARY_SUFFIX}")))
    }

    /// Writes the summary of a backup whose archive is in place (0600, atomically).
    pub fn write_summary(&self, summary: &BackupSummary) -> Result<()> {
        let (_, path) = self.files_of(&summary.directory, &summary.id);
        let json = serde_json::to_vec_pretty(summary).expect("a summary serializes");
        crate::fs::write_atomic(&path, &json, Some(0o600))
    }

    /// The backups of `directory` (every plugin's when `None`), oldest first within a plugin,
    /// plugins by name. An archive without a readable summary is listed from what its file says.
    pub fn list(&self, directory: Option<&str>) -> Result<Vec<Stored>> {
        let folders: Vec<String> = match directory {
            Some(d) => vec![d.to_string()],
            None => match std::fs::read_dir(&self.dir) {
                Ok(entries) => {
                    let mut names: Vec<String> = entries
                        .filter_map(|e| e.ok())
                        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                        .filter_map(|e| e.file_name().into_string().ok())
                        .filter(|n| crate::plugin::name::is_valid_directory(n))
                        .collect();
                    names.sort();
                    names
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![],
                Err(e) => return Err(Error::io(format!("cannot read {}", self.dir.display()), e)),
            },
        };
        let mut out = Vec::new();
        for directory in folders {
            let folder = self.plugin_folder(&directory);
            let entries = match std::fs::read_dir(&folder) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io(format!("cannot read {}", folder.display()), e)),
            };
            let mut ids: Vec<String> = entries
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .filter_map(|e| e.file_name().into_string().ok())
                .filter_map(|n| n.strip_suffix(ARCHIVE_SUFFIX).map(str::to_string))
                .filter(|id| is_id(id))
                .collect();
            // By time, then by the number after it (`-10` after `-2`).
            ids.sort_by_key(|id| id_order(id));
            for id in ids {
                out.push(self.stored(&directory, &id)?);
            }
        }
        Ok(out)
    }

    /// Backup `id` of `directory` as the store has it.
    fn stored(&self, directory: &str, id: &str) -> Result<Stored> {
        let (file, summary_path) = self.files_of(directory, id);
        let meta = std::fs::symlink_metadata(&file).ctx(|| format!("cannot read {}", file.display()))?;
        let summary = crate::fs::read(&summary_path, Links::Refuse, Cap::State)
            .ok()
            .flatten()
            .and_then(|bytes| serde_json::from_slice::<BackupSummary>(&bytes).ok())
            .filter(|s| s.id == id && s.directory == directory);
        let summary = match summary {
            Some(mut s) => {
                s.size = meta.len();
                s
            }
            None => BackupSummary {
                id: id.to_string(),
                directory: directory.to_string(),
                name: directory.to_string(),
                created: jiff::Timestamp::try_from(meta.modified().unwrap_or(std::time::UNIX_EPOCH))
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
                pin: None,
                atk_version: String::new(),
                size: meta.len(),
                entries: 0,
                encrypted: super::archive::is_encrypted(&file).unwrap_or(false),
                secrets: false,
                reason: Reason::Backup,
            },
        };
        Ok(Stored { summary, file })
    }

    /// Backup `id` of `directory` (its newest when `None`); a not-found error naming what there is.
    pub fn find(&self, directory: &str, id: Option<&str>) -> Result<Stored> {
        let all = self.list(Some(directory))?;
        let found = match id {
            None => all.last(),
            Some(id) => all.iter().find(|s| s.summary.id == id),
        };
        match found {
            Some(s) => Ok(s.clone()),
            None if all.is_empty() => Err(Error::nothing_to_do(
                format!("'{directory}' has no backups in {}", self.plugin_folder(directory).display()),
                vec![format!("make one with `atk backup {directory}`")],
            )),
            None => Err(Error::Usage {
                message: format!("'{directory}' has no backup {}", crate::text::escape(id.unwrap_or_default())),
                hint: Some(format!(
                    "its backups: {} (`atk backup --list {directory}`)",
                    all.iter().rev().take(5).map(|s| s.summary.id.as_str()).collect::<Vec<_>>().join(", ")
                )),
            }),
        }
    }

    /// Deletes the oldest backups of `directory` beyond `keep` (none when `keep` is 0), except
    /// `spare`; the IDs deleted.
    pub fn prune(&self, directory: &str, spare: &[&str]) -> Result<Vec<String>> {
        if self.keep == 0 {
            return Ok(vec![]);
        }
        let all = self.list(Some(directory))?;
        let excess = all.len().saturating_sub(self.keep);
        let mut pruned = Vec::new();
        for s in all.iter().take(excess) {
            if spare.contains(&s.summary.id.as_str()) {
                continue;
            }
            let (file, summary) = self.files_of(directory, &s.summary.id);
            std::fs::remove_file(&file).ctx(|| format!("cannot delete {}", file.display()))?;
            let _ = std::fs::remove_file(summary);
            pruned.push(s.summary.id.clone());
        }
        Ok(pruned)
    }

    /// A work folder (`.tmp-*`) in `directory`'s folder of the store, where a backup is made or
    /// a carried one copied before it is renamed into place; what killed runs left there is
    /// removed first, what another atk at work there holds is not (two clones of a home share
    /// their backups' folder).
    pub fn work(&self, directory: &str) -> Result<crate::fs::work::Work> {
        let folder = self.ensure_plugin_folder(directory)?;
        crate::fs::work::create(&folder, WORK_PREFIX)
    }
}

/// The folder of an export's members that carry backups: `data/<directory>/<ID>.atk-backup`.
pub const EXPORT_FOLDER: &str = "data";

/// A member an export adds: its path in the file, and the file it is read from.
pub type ExtraMember = (String, PathBuf);

/// A backup an export carries, or one it leaves out and why.
#[derive(Debug, Clone, Serialize)]
pub struct Carried {
    pub directory: String,
    pub id: Option<String>,
    /// Why no backup of the plugin travels (none made, only encrypted ones).
    pub left_out: Option<String>,
}

impl Store {
    /// For `atk export --with-data`: the newest backup of each of `directories` that holds no
    /// secret (checked in the archive itself: an encrypted one cannot be, and is left out), as
    /// members `data/<directory>/<ID>.atk-backup`.
    pub fn for_export(&self, directories: &[String]) -> Result<(Vec<ExtraMember>, Vec<Carried>)> {
        let mut members = Vec::new();
        let mut carried = Vec::new();
        for directory in directories {
            let all = self.list(Some(directory))?;
            if all.is_empty() {
                continue;
            }
            let mut chosen = None;
            for s in all.iter().rev() {
                if s.summary.encrypted || super::archive::is_encrypted(&s.file)? {
                    continue;
                }
                let manifest = super::archive::verify(&s.file, None).map_err(|e| Error::Damaged {
                    message: format!("backup {} of '{directory}' cannot be carried: {e}", s.summary.id),
                    hints: vec![format!(
                        "make a new one with `atk backup {directory}`, or delete this one: `rm {}`",
                        s.file.display()
                    )],
                })?;
                let secret = manifest
                    .files
                    .iter()
                    .any(|f| crate::plugin::secret::is_secret_file(f.path.rsplit('/').next().unwrap_or(&f.path)));
                if !secret && manifest.plugin.directory == *directory {
                    chosen = Some(s);
                    break;
                }
            }
            match chosen {
                Some(s) => {
                    // (Its summary stays: the importer writes its own from the checked archive.)
                    let (archive, _) = self.files_of(directory, &s.summary.id);
                    members.push((format!("{EXPORT_FOLDER}/{directory}/{}{ARCHIVE_SUFFIX}", s.summary.id), archive));
                    carried.push(Carried { directory: directory.clone(), id: Some(s.summary.id.clone()), left_out: None });
                }
                None => carried.push(Carried {
                    directory: directory.clone(),
                    id: None,
                    left_out: Some(
                        "its backups hold secrets (encrypted); an export carries none: `atk backup` it without --include-secrets"
                            .into(),
                    ),
                }),
            }
        }
        Ok((members, carried))
    }

    /// For `atk import`: checks every backup an export carried (the members under `data/` of the
    /// folder `members`, their paths in `paths`), whole, before any is taken: a backup of the
    /// plugin its folder names, an ID atk makes, no secret in it. Nothing is written.
    pub fn check_carried(members: &Path, paths: &[String]) -> Result<Vec<CarriedBackup>> {
        let mut checked = Vec::new();
        for path in paths {
            let Some(rest) = path.strip_prefix(&format!("{EXPORT_FOLDER}/")) else { continue };
            let bad = |why: &str| {
                Error::unsafe_path(
                    format!("the export's member {} {why}", crate::text::escape(path)),
                    vec!["the export was changed after atk wrote it; use another one".into()],
                )
            };
            let named = rest.split_once('/').and_then(|(d, f)| Some((d, f.strip_suffix(ARCHIVE_SUFFIX)?)));
            let Some((directory, id)) = named.filter(|(d, id)| crate::plugin::name::is_valid_directory(d) && is_id(id))
            else {
                return Err(bad("is not named as atk names backups"));
            };
            let source = members.join(path);
            let manifest = super::archive::verify(&source, None)?;
            if manifest.plugin.directory != directory {
                return Err(bad("is a backup of another plugin"));
            }
            if manifest
                .files
                .iter()
                .any(|f| crate::plugin::secret::is_secret_file(f.path.rsplit('/').next().unwrap_or(&f.path)))
            {
                return Err(bad("holds a secret file, which an export never carries"));
            }
            checked.push(CarriedBackup { directory: directory.to_string(), id: id.to_string(), source, manifest });
        }
        Ok(checked)
    }

    /// For `atk import`: takes the backups an export carried into this store, once every one is
    /// checked ([`Store::check_carried`]); an ID the store has already is left as it is. Each is
    /// copied to a work file (`.tmp-…`) in its plugin's folder and renamed into place: a kill
    /// leaves it whole or absent (and the work file for the next backup or import to remove).
    /// Returns what was taken.
    pub fn adopt(&self, members: &Path, paths: &[String]) -> Result<Vec<Carried>> {
        let checked = Self::check_carried(members, paths)?;
        let mut taken = Vec::new();
        for c in checked {
            let work = self.work(&c.directory)?;
            let (archive, _) = self.files_of(&c.directory, &c.id);
            if !archive.exists() {
                let ctx = || format!("cannot copy {} to {}", c.source.display(), archive.display());
                let mut tmp = tempfile::Builder::new().prefix("backup").tempfile_in(work.path()).ctx(ctx)?;
                let mut from = std::fs::File::open(&c.source).ctx(ctx)?;
                std::io::copy(&mut from, tmp.as_file_mut()).ctx(ctx)?;
                tmp.as_file().set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600)).ctx(ctx)?;
                tmp.as_file().sync_all().ctx(ctx)?;
                crate::failpoint::hit("adopt");
                tmp.persist_noclobber(&archive).map_err(|e| Error::io(ctx(), e.error))?;
                let size = std::fs::metadata(&archive).map(|m| m.len()).unwrap_or(0);
                self.write_summary(&BackupSummary {
                    id: c.id.clone(),
                    directory: c.directory.clone(),
                    name: c.directory.clone(),
                    created: c.manifest.created.clone(),
                    pin: c.manifest.plugin.pin.clone(),
                    atk_version: c.manifest.atk_version.clone(),
                    size,
                    entries: c.manifest.files.len(),
                    encrypted: false,
                    secrets: false,
                    reason: Reason::Imported,
                })?;
            }
            taken.push(Carried { directory: c.directory, id: Some(c.id), left_out: None });
        }
        Ok(taken)
    }
}

/// A backup an export carries, checked whole ([`Store::check_carried`]).
#[derive(Debug)]
pub struct CarriedBackup {
    pub directory: String,
    pub id: String,
    /// The member, extracted.
    pub source: PathBuf,
    pub manifest: super::archive::ArchiveManifest,
}

/// Whether `dir` (which may not exist yet) is `home` or below it, links resolved.
fn inside(dir: &Path, home: &Path) -> bool {
    let resolve = |p: &Path| {
        let mut existing = p.to_path_buf();
        let mut rest = Vec::new();
        while !existing.exists() {
            match (existing.file_name().map(|n| n.to_os_string()), existing.parent()) {
                (Some(name), Some(parent)) => {
                    rest.push(name);
                    existing = parent.to_path_buf();
                }
                _ => break,
            }
        }
        let mut out = std::fs::canonicalize(&existing).unwrap_or(existing);
        out.extend(rest.iter().rev());
        out
    };
    resolve(dir).starts_with(resolve(home))
}

/// Work folders of backups being made start so (the home lock keeps two backups of one home from
/// running at once).
pub const WORK_PREFIX: &str = ".tmp-";

/// The order of IDs: the time, then the number after it (none first).
fn id_order(id: &str) -> (String, u64) {
    match id.split_once('-') {
        Some((base, n)) => (base.to_string(), n.parse().unwrap_or(u64::MAX)),
        None => (id.to_string(), 0),
    }
}

/// Whether `id` is an ID atk makes (`YYYYMMDDTHHMMSSZ`, maybe `-N`).
pub fn is_id(id: &str) -> bool {
    let (base, n) = match id.split_once('-') {
        Some((b, n)) => (b, Some(n)),
        None => (id, None),
    };
    let b = base.as_bytes();
    b.len() == 16
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit)
        && n.is_none_or(|n| !n.is_empty() && n.len() <= 6 && n.bytes().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(dir: &str, id: &str) -> BackupSummary {
        BackupSummary {
            id: id.into(),
            directory: dir.into(),
            name: dir.into(),
            created: "2026-12-06T05:00:00Z".into(),
            pin: Some("abc".into()),
            atk_version: "0.1.0".into(),
            size: 0,
            entries: 1,
            encrypted: false,
            secrets: false,
            reason: Reason::Backup,
        }
    }

    fn put(store: &Store, dir: &str, id: &str) {
        let folder = store.ensure_plugin_folder(dir).unwrap();
        std::fs::write(folder.join(format!("{id}{ARCHIVE_SUFFIX}")), b"x").unwrap();
        store.write_summary(&summary(dir, id)).unwrap();
    }

    #[test]
    fn ids_sort_by_time_and_never_collide() {
        let d = tempfile::tempdir().unwrap();
        let store = Store { dir: d.path().join("b"), keep: 2 };
        let t: jiff::Timestamp = "2026-12-06T05:40:12Z".parse().unwrap();
        assert_eq!(store.new_id("notes", t), "20261206T054012Z");
        put(&store, "notes", "20261206T054012Z");
        assert_eq!(store.new_id("notes", t), "20261206T054012Z-2");
        assert!(is_id("20261206T054012Z-2") && !is_id("../x") && !is_id("20261206T054012Z-") && !is_id("x"));
        // The tenth backup of one second sorts after the second one.
        put(&store, "notes", "20261206T054012Z-2");
        for n in 3..=10 {
            let id = store.new_id("notes", t);
            assert_eq!(id, format!("20261206T054012Z-{n}"));
            put(&store, "notes", &id);
            assert_eq!(store.find("notes", None).unwrap().summary.id, id);
        }
    }

    #[test]
    fn list_find_and_prune_keep_the_newest() {
        let d = tempfile::tempdir().unwrap();
        let store = Store { dir: d.path().join("b"), keep: 2 };
        for id in ["20261201T000000Z", "20261202T000000Z", "20261203T000000Z"] {
            put(&store, "pp", id);
        }
        put(&store, "qq", "20261201T000000Z");
        // Plugin directories only (a folder named so is no plugin's).
        put(&store, "q", "20261201T000000Z");
        // Not a backup: ignored.
        std::fs::write(store.plugin_folder("pp").join("notes.atk-backup"), b"x").unwrap();
        let all = store.list(None).unwrap();
        assert_eq!(all.len(), 4);
        assert_eq!(store.find("pp", None).unwrap().summary.id, "20261203T000000Z");
        assert_eq!(store.find("pp", Some("20261201T000000Z")).unwrap().summary.pin.as_deref(), Some("abc"));
        assert!(store.find("pp", Some("20261231T000000Z")).is_err());
        assert!(store.find("zzz", None).is_err());
        assert_eq!(store.prune("pp", &[]).unwrap(), vec!["20261201T000000Z".to_string()]);
        assert_eq!(store.list(Some("pp")).unwrap().len(), 2);
        // What a restore reads from is spared.
        put(&store, "pp", "20261204T000000Z");
        assert_eq!(store.prune("pp", &["20261202T000000Z"]).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn a_store_inside_the_home_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let home = d.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let config = crate::home::manifest::Config::default();
        assert!(Store::from_config(&config, home.join("backups"), d.path(), &home).is_err());
        let ok = Store::from_config(&config, d.path().join("data/backups"), d.path(), &home).unwrap();
        assert_eq!(ok.keep, DEFAULT_KEEP);
        let mut config = crate::home::manifest::Config::default();
        let v: yaml_serde::Value = yaml_serde::from_str("{dir: ~/elsewhere, keep: 3}").unwrap();
        config.extra.insert("backup".into(), v);
        let s = Store::from_config(&config, PathBuf::new(), d.path(), &home).unwrap();
        assert_eq!((s.dir, s.keep), (d.path().join("elsewhere"), 3));
        // `..` after a folder not made yet would lead back into the home once made.
        let v: yaml_serde::Value =
            yaml_serde::from_str(&format!("{{dir: {}/not-yet/../home/b}}", d.path().display())).unwrap();
        config.extra.insert("backup".into(), v);
        let e = Store::from_config(&config, PathBuf::new(), d.path(), &home).unwrap_err();
        assert!(e.to_string().contains("`..`"), "{e}");
        let v: yaml_serde::Value = yaml_serde::from_str("{dir: relative}").unwrap();
        config.extra.insert("backup".into(), v);
        assert!(Store::from_config(&config, PathBuf::new(), d.path(), &home).is_err());
    }
}
