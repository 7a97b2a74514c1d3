//! `atk export` and `atk import`: a whole setup in one file, brought to a machine without network.
//!
//! An export is a [`container`] whose manifest, `atk-export.json` ([`ExportManifest`]), lists:
//! * `home.bundle`: a git bundle of the home's repository, every ref (`git bundle create --all`).
//!   Only what is committed travels: `.env` files and other secrets are never committed, and a
//!   local plugin's files are committed in the home, so they travel with it.
//! * `sources/<name>.objects`: for each remote source (a registry or a git repository), the
//!   objects of every plugin folder at the commit it is pinned to, taken from atk's fetch cache
//!   (fetched first when the cache lacks them); see `source::git::objects`.
//! * later members (`data/<dir>/<id>.atk-backup`): what [`Export::extra`] adds.
//!
//! An import verifies the whole file before anything is written ([`container::extract_verified`]),
//! builds the home from the bundle, fills the cache from the sources' objects so that `atk install
//! --all --offline` needs no network, and then either puts the new home in place in one rename
//! ([`import_new`]: a kill leaves no half home) or adds the plugins a home lacks, one commit each,
//! in a transaction ([`import_into`]).

use std::collections::BTreeMap;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::time::Duration;

use gix::ObjectId;
use serde::{Deserialize, Serialize};

use crate::data::container::{self, Member};
use crate::data::store::{Carried, Store, EXPORT_FOLDER};
use crate::environment::Environment;
use crate::error::{Error, IoContext, Result};
use crate::fs::work::{self, Work};
use crate::fs::RelPath;
use crate::home::{gitignore, manifest, plugin_rel, repo, Entry, Home, Locked, Message, SourceKind, Transaction};
use crate::reporter::Reporter;
use crate::source::git::{cache_name, local_path, Cache, Repo as GitRepo};
use crate::source::origin::{pinned, Origin, Origins};

/// The format this atk writes and reads.
pub const FORMAT: u32 = 1;
/// The file's first member.
pub const MANIFEST_NAME: &str = "atk-export.json";
/// The member that holds the git bundle of the home.
pub const HOME_MEMBER: &str = "home.bundle";
/// The longest a local git command may run (a bundle of a large home, a checkout).
const GIT_TIME: Duration = Duration::from_secs(600);
/// The longest answer of git's (a list of every object of the home's history) an export reads.
const GIT_ANSWER: usize = 256 << 20;

/// What an export holds, written as its first member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportManifest {
    pub format: u32,
    pub atk_version: String,
    /// RFC 3339.
    pub created: String,
    pub home: HomeInfo,
    /// Every plugin of the home's manifest at its HEAD.
    #[serde(default)]
    pub plugins: Vec<PluginInfo>,
    /// Every remote source, with the member that holds its pinned commits.
    #[serde(default)]
    pub sources: Vec<SourceInfo>,
    /// Every member after this manifest, in order, with its size and sha256.
    pub members: Vec<Member>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HomeInfo {
    /// The commit HEAD was at.
    pub head: String,
    /// The branch HEAD pointed at (`refs/heads/main`).
    pub branch: String,
    /// The member holding the bundle.
    pub member: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginInfo {
    pub directory: String,
    pub name: String,
    pub kind: SourceKind,
    /// The git URL, or the registry's, of a remote plugin.
    #[serde(default)]
    pub url: Option<String>,
    /// The commit a remote plugin is pinned to.
    #[serde(default)]
    pub pin: Option<String>,
    /// The plugin's folder in its source at the pin.
    #[serde(default)]
    pub path: Option<String>,
    /// What the plugin runs, locked (as the manifest has it).
    #[serde(default)]
    pub lock: Vec<crate::artifact::Pin>,
    /// The member holding the objects of its pin.
    #[serde(default)]
    pub source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// The URL atk reaches the source at (a registry's URL, or a git URL).
    pub url: String,
    /// The member holding the objects.
    pub member: String,
    /// The commits it holds.
    pub commits: Vec<String>,
}

fn members_of(m: &ExportManifest) -> &[Member] {
    &m.members
}

/// What to export, and where to.
pub struct Export<'a> {
    /// The file to write (replaced when it exists).
    pub out: &'a Path,
    pub atk_version: &'a str,
    pub created: jiff::Timestamp,
    /// More members, written after the sources: (path in the file, file on disk). Their paths
    /// must not clash with the others' (`data/...` is free); the importer verifies them with the
    /// rest and leaves them to its caller.
    pub extra: Vec<(String, PathBuf)>,
}

/// What an export wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Exported {
    pub file: PathBuf,
    pub size: u64,
    pub head: String,
    pub plugins: Vec<ExportedPlugin>,
    pub sources: usize,
    /// Paths with changes not committed, which the export does not hold.
    pub uncommitted: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportedPlugin {
    pub directory: String,
    pub kind: SourceKind,
    pub pin: Option<String>,
}

/// Runs `git -C dir args…` (no prompt, bounded); its standard output.
fn git(dir: &Path, args: &[&std::ffi::OsStr], what: &str) -> Result<Vec<u8>> {
    let mut command = std::process::Command::new("git");
    command.arg("-C").arg(dir).args(args).env("GIT_TERMINAL_PROMPT", "0");
    // The repository is the one named, whatever a caller's git environment points at.
    for var in ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR"] {
        command.env_remove(var);
    }
    // Read as data (the secret check walks every path it lists): whole, never cut.
    let out = crate::process::output_whole(&mut command, crate::process::Bounds::time(GIT_TIME), GIT_ANSWER, what)?;
    match out.end {
        crate::process::End::Exited(status) if status.success() => Ok(out.stdout),
        crate::process::End::Exited(_) => {
            Err(Error::Git { message: format!("{what}: {}", repo::git_said(&out.stderr)), hints: vec![] })
        }
        _ => Err(Error::Git {
            message: format!("{what}: git did not finish within {}s", GIT_TIME.as_secs()),
            hints: vec![],
        }),
    }
}

fn os(s: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(s)
}

/// The parent of `path` and the prefix of the work folders made beside it for `what`.
fn work_prefix(path: &Path, what: &str) -> (PathBuf, String) {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    (parent, format!(".atk-{what}-{name}."))
}

/// Removes the work folders beside `path` for `what` that a killed atk left (see [`work`]).
fn clean_beside(path: &Path, what: &str) {
    let (parent, prefix) = work_prefix(path, what);
    work::clean(&parent, &prefix);
}

/// A new work folder beside `path` for `what`, once what a killed run left is removed.
fn beside(path: &Path, what: &str) -> Result<Work> {
    let (parent, prefix) = work_prefix(path, what);
    work::create(&parent, &prefix)
}

/// Writes the export of `home` (its committed state, and the objects of every remote plugin's
/// pin, through `origins`) to `export.out`.
pub fn export(reporter: &dyn Reporter, home: &Home, origins: &Origins, export: &Export) -> Result<Exported> {
    let out = export.out;
    if out.is_dir() {
        return Err(Error::usage(format!("{} is a folder", out.display()), Some("name a file to write".into())));
    }
    let manifest = home.manifest()?;
    let repository = repo::open_checked(&home.root)?;
    let head = repo::head(&repository)?;
    let Some(head_id) = head.id else {
        return Err(Error::conflict("the home has no commit yet; there is nothing to export", vec![]));
    };
    if !head.reference.starts_with("refs/heads/") {
        return Err(Error::conflict(
            "the home's HEAD is not on a branch; an export needs one to put the imported home on",
            vec!["check one out: `atk git checkout main`".into()],
        ));
    }
    // The plugins listed are those of the bundle's manifest: the one committed.
    let committed = repository
        .find_commit(head_id)
        .ok()
        .and_then(|c| c.tree().ok())
        .and_then(|t| t.lookup_entry_by_path(manifest::FILE).ok().flatten())
        .and_then(|e| e.object().ok())
        .map(|o| o.data.clone());
    let on_disk = home.read_top_file(manifest::FILE)?.map(String::into_bytes);
    if committed != on_disk {
        return Err(Error::conflict(
            "manifest.yaml has changes that are not committed; an export holds only what is committed",
            vec!["commit them first: `atk git commit -am \"…\"`, or put them back: `atk git checkout manifest.yaml`"
                .into()],
        ));
    }
    let status = git(&home.root, &[os("status"), os("--porcelain"), os("-z")], "cannot read the home's status")?;
    // What a plugin declares as its data (atk-data.yaml) is never committed, by design: it
    // travels as a backup (`--with-data`), and is not worth a warning.
    let declared = |path: &str| -> bool {
        let Some((dir, inner)) = path.strip_prefix("plugins/").and_then(|r| r.split_once('/')) else {
            return false;
        };
        let inner = inner.trim_end_matches('/');
        match crate::plugin::data::DataSpec::load(&home.plugin_dir(dir)) {
            Ok(Some(spec)) => {
                spec.paths.iter().any(|p| inner == p.as_str() || inner.starts_with(&format!("{}/", p.as_str())))
            }
            _ => false,
        }
    };
    let uncommitted: Vec<String> = status
        .split(|b| *b == 0)
        .filter(|l| l.len() > 3)
        .map(|l| String::from_utf8_lossy(&l[3..]).into_owned())
        .filter(|p| !declared(p))
        .map(|p| crate::text::escape(&p).into_owned())
        .collect();

    // atk never commits a secret file, but git can be made to: the bundle holds every object
    // reachable from every ref. Each is listed with a path it is at (a file added in a merge, which
    // `git log` shows no change for, too), and every path a commit changes (a secret's content
    // may be at another path too, where the objects name it); an object a ref names directly has
    // no path, and a blob there could be anything.
    let objects = git(&home.root, &[os("rev-list"), os("--all"), os("--objects")], "cannot read the home's history")?;
    let changed = git(
        &home.root,
        &[os("log"), os("--all"), os("--name-only"), os("--format="), os("-z")],
        "cannot read the home's history",
    )?;
    let named = objects.split(|b| *b == b'\n').filter_map(|l| l.iter().position(|b| *b == b' ').map(|at| &l[at + 1..]));
    let mut secrets: Vec<String> = named
        .chain(changed.split(|b| *b == 0 || *b == b'\n'))
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .filter(|p| gitignore::is_secret(p.rsplit('/').next().unwrap_or(p)))
        .collect();
    secrets.sort();
    secrets.dedup();
    if !secrets.is_empty() {
        let shown: Vec<String> = secrets.iter().map(|p| crate::text::escape(p).into_owned()).collect();
        return Err(Error::conflict(
            format!(
                "the home's history holds secret files ({}); an export never carries secrets",
                shown.join(", ")
            ),
            vec![format!(
                "take them out of every commit (for example `git filter-repo --invert-paths --path {}` in {}), then export again",
                shown[0],
                home.root.display()
            )],
        ));
    }
    let refs = git(
        &home.root,
        &[os("for-each-ref"), os("--format=%(objecttype) %(*objecttype) %(refname)")],
        "cannot read the home's refs",
    )?;
    for line in String::from_utf8_lossy(&refs).lines() {
        let mut words = line.splitn(3, ' ');
        let (Some(kind), Some(peeled), Some(name)) = (words.next(), words.next(), words.next()) else { continue };
        if kind == "blob" || peeled == "blob" {
            let name = crate::text::escape(name);
            return Err(Error::conflict(
                format!("the home's ref {name} names a file's content, not a commit; an export carries commits only"),
                vec![format!("delete it if it is not needed: `atk git update-ref -d {name}`, then export again")],
            ));
        }
    }

    let work = beside(out, "export")?;
    let spinner = reporter.activity("bundling the home's repository");
    let bundle = work.path().join(HOME_MEMBER);
    git(
        &home.root,
        &[os("bundle"), os("create"), os("--quiet"), bundle.as_os_str(), os("--all")],
        "cannot bundle the home's repository",
    )?;
    drop(spinner);

    // Every remote plugin's pin, by source.
    let mut plugins = Vec::new();
    let mut by_source: BTreeMap<String, (Origin, Vec<(ObjectId, String)>)> = BTreeMap::new();
    for entry in &manifest.plugins {
        crate::error::check_interrupt()?;
        let mut info = PluginInfo {
            directory: entry.directory.clone(),
            name: entry.name.clone(),
            kind: entry.source.kind,
            url: None,
            pin: None,
            path: None,
            lock: entry.lock.clone(),
            source: None,
        };
        if entry.source.kind != SourceKind::Local {
            let commit = pinned(entry)?;
            let key = origins.key(&entry.source);
            if !by_source.contains_key(&key) {
                by_source.insert(key.clone(), (origins.open(&entry.source)?, Vec::new()));
            }
            let (origin, wants) = by_source.get_mut(&key).expect("inserted");
            let path = origin.path_at(commit, &entry.directory)?;
            wants.push((commit, path.clone()));
            info.url = Some(key.clone());
            info.pin = Some(commit.to_string());
            info.path = Some(path);
            info.source = Some(source_member(&key));
        }
        plugins.push(info);
    }
    let mut files = vec![(HOME_MEMBER.to_string(), bundle)];
    let mut sources = Vec::new();
    let progress = reporter.progress(by_source.len() as u64, "sources");
    for (key, (origin, wants)) in &by_source {
        let member = source_member(key);
        let file = work.path().join(member.replace('/', "-"));
        let ctx = || format!("cannot write {}", file.display());
        let mut w = BufWriter::new(std::fs::File::create(&file).ctx(ctx)?);
        origin.repo().export_objects(wants, &mut w)?;
        w.into_inner().map_err(|e| Error::io(ctx(), e.into_error()))?.sync_all().ctx(ctx)?;
        let mut commits: Vec<String> = wants.iter().map(|(c, _)| c.to_string()).collect();
        commits.sort();
        commits.dedup();
        sources.push(SourceInfo { url: key.clone(), member: member.clone(), commits });
        files.push((member, file));
        progress.inc();
    }
    drop(progress);
    files.extend(export.extra.iter().cloned());
    let mut members = Vec::new();
    for (path, file) in &files {
        members.push((container::describe(path, file)?, file.clone()));
    }
    let doc = ExportManifest {
        format: FORMAT,
        atk_version: export.atk_version.to_string(),
        created: export.created.to_string(),
        home: HomeInfo { head: head_id.to_string(), branch: head.reference.clone(), member: HOME_MEMBER.into() },
        plugins: plugins.clone(),
        sources,
        members: members.iter().map(|(m, _)| m.clone()).collect(),
    };
    let json = serde_json::to_vec_pretty(&doc).expect("a manifest serializes");
    let spinner = reporter.activity(&format!("writing {}", out.display()));
    // Written in the work folder (what a kill leaves there goes with the next export), then
    // renamed over `out`: a kill leaves the old file or the new one.
    let written = work.path().join("export");
    container::write(&written, MANIFEST_NAME, &json, &members, export.created.as_second().max(0) as u64)?;
    crate::failpoint::hit("export");
    std::fs::rename(&written, out).ctx(|| format!("cannot write {}", out.display()))?;
    drop(spinner);
    let size = std::fs::metadata(out).ctx(|| format!("cannot read {}", out.display()))?.len();
    Ok(Exported {
        file: out.to_path_buf(),
        size,
        head: head_id.to_string(),
        plugins: plugins
            .into_iter()
            .map(|p| ExportedPlugin { directory: p.directory, kind: p.kind, pin: p.pin })
            .collect(),
        sources: doc.sources.len(),
        uncommitted,
    })
}

/// The member that holds the objects of the source `key`.
fn source_member(key: &str) -> String {
    format!("sources/{}.objects", cache_name(key))
}

/// What to import, and where its sources' commits go.
pub struct Import<'a> {
    /// The file `export` wrote.
    pub file: &'a Path,
    /// The cache the sources' commits are put in.
    pub cache: &'a Cache,
    /// `--with-data`: the backups the file carries are taken into the backup folder of the home
    /// the import makes (or adds to), found with this environment ([`Store::of_home`]). They are
    /// taken once the whole file is verified and the cache filled, before anything of the home
    /// changes (a new home is not in place yet), every one checked before any is taken: one
    /// that is refused stops the import, the home unchanged (or not made).
    pub with_data: Option<&'a Environment>,
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct Imported {
    pub file: PathBuf,
    pub home: PathBuf,
    /// A new home was made (else plugins were added to an existing one).
    pub created: bool,
    /// The home's HEAD in the file.
    pub head: String,
    /// The plugins added (all of them for a new home).
    pub added: Vec<ImportedPlugin>,
    /// The plugins the home had already, left as they were (`--into`).
    pub kept: Vec<ImportedPlugin>,
    /// The sources whose commits are now in the cache.
    pub cached: Vec<String>,
    /// Sources that are on this machine (a path): read in place, not cached.
    pub in_place: Vec<String>,
    /// The registry the registry plugins came from.
    pub registry: Option<String>,
    /// The commits made (`--into`).
    pub commits: Vec<String>,
    /// With data: the backups taken into the backup folder.
    #[serde(skip)]
    pub data: Vec<Carried>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportedPlugin {
    pub directory: String,
    pub name: String,
    pub kind: SourceKind,
    pub pin: Option<String>,
}

impl From<&PluginInfo> for ImportedPlugin {
    fn from(p: &PluginInfo) -> Self {
        ImportedPlugin { directory: p.directory.clone(), name: p.name.clone(), kind: p.kind, pin: p.pin.clone() }
    }
}

/// The file verified and its members extracted into `dir/members`; then the manifest's own
/// consistency checked (every member it names is one of the file's).
fn unpack(reporter: &dyn Reporter, file: &Path, dir: &Path) -> Result<ExportManifest> {
    let members = dir.join("members");
    std::fs::create_dir(&members).ctx(|| format!("cannot create {}", members.display()))?;
    let spinner = reporter.activity(&format!("verifying {}", file.display()));
    let m: ExportManifest = container::extract_verified(file, MANIFEST_NAME, members_of, &members)?;
    drop(spinner);
    let broken = |why: String| {
        Error::damaged(
            format!("{} is damaged or not an atk export: {why}", file.display()),
            vec!["use another file".into()],
        )
    };
    if m.format != FORMAT {
        return Err(Error::damaged(
            format!("{} is in export format {}; this atk reads format {FORMAT}", file.display(), m.format),
            vec!["use the atk that wrote it, or a newer one".into()],
        ));
    }
    let has = |path: &str| m.members.iter().any(|x| x.path == path);
    if !has(&m.home.member) {
        return Err(broken(format!("its home member '{}' is not in it", crate::text::escape(&m.home.member))));
    }
    let branch_ok = m.home.branch.strip_prefix("refs/heads/").is_some_and(|b| {
        !b.is_empty() && RelPath::new(b).is_ok() && gix::refs::FullName::try_from(m.home.branch.as_str()).is_ok()
    });
    if !branch_ok || ObjectId::from_hex(m.home.head.as_bytes()).is_err() {
        return Err(broken("its home has no valid branch and commit".into()));
    }
    for s in &m.sources {
        if !has(&s.member) {
            return Err(broken(format!("the member '{}' is not in it", crate::text::escape(&s.member))));
        }
        if s.commits.iter().any(|c| ObjectId::from_hex(c.as_bytes()).is_err()) {
            return Err(broken(format!("the source {} names a commit that is not one", crate::text::escape(&s.url))));
        }
    }
    Ok(m)
}

/// Makes the home of the bundle at `dir/home`: every ref of the bundle, HEAD on its branch, the
/// files of HEAD checked out; checked to be at the commit the manifest names.
fn build_home(m: &ExportManifest, dir: &Path) -> Result<PathBuf> {
    let built = dir.join("home");
    let bundle = dir.join("members").join(&m.home.member);
    repo::init(&built)?;
    git(
        &built,
        &[
            os("-c"),
            os("fetch.fsckObjects=true"),
            os("fetch"),
            os("--quiet"),
            os("--no-tags"),
            os("--update-head-ok"),
            bundle.as_os_str(),
            os("+refs/*:refs/*"),
        ],
        "cannot read the home's bundle",
    )?;
    // (It names the bundle's temporary path.)
    let _ = std::fs::remove_file(built.join(".git/FETCH_HEAD"));
    git(&built, &[os("symbolic-ref"), os("HEAD"), os(&m.home.branch)], "cannot set the home's branch")?;
    git(&built, &[os("reset"), os("--quiet"), os("--hard")], "cannot check out the home")?;
    let head = git(&built, &[os("rev-parse"), os("HEAD")], "cannot read the home's HEAD")?;
    if String::from_utf8_lossy(&head).trim() != m.home.head {
        return Err(Error::damaged(
            format!("the home's bundle is not at the commit the manifest names ({})", m.home.head),
            vec!["use another file".into()],
        ));
    }
    Ok(built)
}

/// Puts the commits of every source of `m` (whose members are in `dir/members`) in `cache`, but
/// those of a source that is on this machine (read in place). Returns (cached, in place).
fn fill_cache(
    reporter: &dyn Reporter,
    m: &ExportManifest,
    dir: &Path,
    cache: &Cache,
) -> Result<(Vec<String>, Vec<String>)> {
    let (mut cached, mut in_place) = (Vec::new(), Vec::new());
    let progress = reporter.progress(m.sources.len() as u64, "filling the cache");
    for s in &m.sources {
        crate::error::check_interrupt()?;
        let fetch_url = crate::source::git_url(&s.url).unwrap_or_else(|| s.url.clone());
        if local_path(&fetch_url).is_some_and(|p| p.symlink_metadata().is_ok()) {
            in_place.push(s.url.clone());
            progress.inc();
            continue;
        }
        let repo = GitRepo::open_cache(&fetch_url, &s.url, cache)?;
        let path = dir.join("members").join(&s.member);
        let size = std::fs::metadata(&path).ctx(|| format!("cannot read {}", path.display()))?.len();
        let file = std::fs::File::open(&path).ctx(|| format!("cannot read {}", path.display()))?;
        let commits: Vec<ObjectId> =
            s.commits.iter().map(|c| ObjectId::from_hex(c.as_bytes()).expect("checked by unpack")).collect();
        repo.import_objects(&mut BufReader::new(file), size, &s.member, &commits)?;
        cached.push(s.url.clone());
        progress.inc();
    }
    Ok((cached, in_place))
}

/// The registry the registry plugins of `m` came from.
fn registry_of(m: &ExportManifest) -> Option<String> {
    m.plugins.iter().find(|p| p.kind == SourceKind::Registry).and_then(|p| p.url.clone())
}

/// Takes the backups `m` carries (its members under `data/`, extracted into `work/members`) into
/// `store`, each checked before any is taken ([`Store::adopt`]).
fn take_backups(m: &ExportManifest, work: &Path, store: &Store) -> Result<Vec<Carried>> {
    let folder = format!("{EXPORT_FOLDER}/");
    let paths: Vec<String> = m.members.iter().filter(|x| x.path.starts_with(&folder)).map(|x| x.path.clone()).collect();
    store.adopt(&work.join("members"), &paths)
}

/// Makes a new home at `target` (absent or an empty folder) from the export `file`, and fills
/// `cache` with its sources' commits. The whole file is verified first; the home is built beside
/// the target and renamed into place at the end: a kill leaves no home, or the whole one.
pub fn import_new(reporter: &dyn Reporter, import: &Import, target: &Path) -> Result<Imported> {
    let Import { file, cache, with_data } = *import;
    // (What an import of this same target that was killed left beside it goes first.)
    clean_beside(target, "import");
    if target.symlink_metadata().is_ok() {
        let empty = target.is_dir()
            && !target.is_symlink()
            && std::fs::read_dir(target).ctx(|| format!("cannot read {}", target.display()))?.next().is_none();
        if !empty {
            return Err(Error::Conflict {
                message: format!("{} exists and is not empty; an import makes a new home", target.display()),
                hints: vec![
                    "to add the plugins of the file to that home: `atk import FILE --into` (with `--home DIR`)".into(),
                    "or name a new folder with `--home DIR`".into(),
                ],
            });
        }
    }
    let work = beside(target, "import")?;
    let m = unpack(reporter, file, work.path())?;
    let built = build_home(&m, work.path())?;
    // The manifest of the new home must be one atk reads.
    Home::open(built.clone())?.manifest()?;
    let (cached, in_place) = fill_cache(reporter, &m, work.path(), cache)?;
    // The backups go where the new home's manifest says, for the home at its target.
    let data = match with_data {
        Some(environment) => {
            let theirs = Home::open(built.clone())?;
            let store = Store::of_home(&theirs.manifest()?, environment, target, &built)?;
            take_backups(&m, work.path(), &store)?
        }
        None => vec![],
    };
    crate::failpoint::hit("import");
    // An empty folder at `target` is replaced by the rename.
    std::fs::rename(&built, target).ctx(|| format!("cannot create {}", target.display()))?;
    Ok(Imported {
        file: file.to_path_buf(),
        home: target.to_path_buf(),
        created: true,
        head: m.home.head.clone(),
        added: m.plugins.iter().map(ImportedPlugin::from).collect(),
        kept: vec![],
        cached,
        in_place,
        registry: registry_of(&m),
        commits: vec![],
        data,
    })
}

/// Adds to `home` the plugins of the export `file` it lacks (by folder), one commit each in one
/// transaction: the manifest entry as the exported home has it, and the plugin's committed files
/// (a local plugin's whole folder, a remote one's `custom/`); `atk install` then puts the files of
/// the remote ones in place. The plugins it has are left as they are. `cache` gets the sources'
/// commits first. Nothing is changed unless the whole file is verified.
pub fn import_into(reporter: &dyn Reporter, home: &Locked, import: &Import) -> Result<Imported> {
    let Import { file, cache, with_data } = *import;
    let work = home.work_dir("import-")?;
    let m = unpack(reporter, file, work.path())?;
    let built = build_home(&m, work.path())?;
    let theirs = Home::open(built.clone())?;
    let their_manifest = theirs.manifest()?;
    let mut manifest = home.manifest()?;
    let mut to_add: Vec<Entry> = Vec::new();
    let mut kept = Vec::new();
    for entry in &their_manifest.plugins {
        let info = m.plugins.iter().find(|p| p.directory == entry.directory);
        let shown = info.map(ImportedPlugin::from).unwrap_or_else(|| ImportedPlugin {
            directory: entry.directory.clone(),
            name: entry.name.clone(),
            kind: entry.source.kind,
            pin: entry.source.commit.clone(),
        });
        if manifest.plugins.iter().any(|e| e.directory == entry.directory) {
            kept.push(shown);
        } else if home.files.exists(&plugin_rel(&entry.directory)?) {
            return Err(Error::conflict(
                format!(
                    "plugins/{} is in the way of the plugin '{}' of {}, and not in the manifest",
                    entry.directory,
                    crate::text::escape(&entry.name),
                    file.display()
                ),
                vec![format!(
                    "move it away (`mv {} /tmp/`), then import again",
                    home.plugin_dir(&entry.directory).display()
                )],
            ));
        } else {
            to_add.push(entry.clone());
        }
    }
    let (cached, in_place) = fill_cache(reporter, &m, work.path(), cache)?;
    // The backups go to this home's own backup folder.
    let data = match with_data {
        Some(environment) => {
            let root = std::path::absolute(&home.root).unwrap_or_else(|_| home.root.clone());
            take_backups(&m, work.path(), &Store::of_home(&manifest, environment, &root, &home.root)?)?
        }
        None => vec![],
    };
    let commits = Transaction::run(home, &format!("atk import {}", file.display()), |tx| {
        let mut commits = Vec::new();
        for entry in &to_add {
            crate::error::check_interrupt()?;
            let rel = plugin_rel(&entry.directory)?;
            let mut paths = vec![manifest::FILE.to_string()];
            if theirs.files.exists(&rel) {
                tx.place(&theirs.files, &rel, &rel)?;
                paths.push(rel.as_str().to_string());
            } else if entry.source.kind == SourceKind::Local {
                return Err(Error::Damaged {
                    message: format!(
                        "the local plugin '{}' has no files in {}",
                        crate::text::escape(&entry.name),
                        file.display()
                    ),
                    hints: vec!["export it again from a home where `atk git status` shows its files committed".into()],
                });
            }
            let text = home.gitignore_text()?;
            let new = match entry.source.kind {
                SourceKind::Local => gitignore::add_exemption(&text, &entry.directory),
                _ => gitignore::normalize(&text),
            };
            if new != text {
                home.write_gitignore(tx, &new)?;
                paths.push(gitignore::FILE.into());
            }
            manifest.plugins.push(entry.clone());
            home.write_manifest(tx, &manifest)?;
            let message = Message::operation(
                format!("Add plugin '{}'", entry.name),
                "add",
                &entry.directory,
                None,
                entry.source.commit.as_deref(),
            );
            if let Some(commit) = home.commit(tx, &manifest, &paths, &message)? {
                commits.push(commit);
            }
        }
        Ok(commits)
    })?;
    let added = to_add
        .iter()
        .map(|e| {
            m.plugins.iter().find(|p| p.directory == e.directory).map(ImportedPlugin::from).unwrap_or_else(|| {
                ImportedPlugin {
                    directory: e.directory.clone(),
                    name: e.name.clone(),
                    kind: e.source.kind,
                    pin: e.source.commit.clone(),
                }
            })
        })
        .collect();
    Ok(Imported {
        file: file.to_path_buf(),
        home: home.root.clone(),
        created: false,
        head: m.home.head.clone(),
        added,
        kept,
        cached,
        in_place,
        registry: registry_of(&m),
        commits,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reporter::Recorder;

    /// The seam of `--with-data`: members the exporter adds travel verified, and are checked
    /// before anything of the home changes; a refused one leaves nothing made.
    #[test]
    fn extra_members_travel_verified_and_reach_the_importer() {
        let t = tempfile::tempdir().unwrap();
        let home = crate::sync::tests::home(t.path());
        let origins = crate::sync::tests::origins(t.path());
        let backup = t.path().join("one.atk-backup");
        std::fs::write(&backup, b"backup bytes").unwrap();
        let out = t.path().join("x.atk");
        let options = Export {
            out: &out,
            atk_version: "0.1.0",
            created: "2026-12-06T05:00:00Z".parse().unwrap(),
            extra: vec![("data/p/one.atk-backup".into(), backup)],
        };
        let done = export(&Recorder::default(), &home, &origins, &options).unwrap();
        assert_eq!((done.plugins.len(), done.sources), (0, 0));
        let m: ExportManifest = container::verify(&out, MANIFEST_NAME, members_of).unwrap();
        let paths: Vec<&str> = m.members.iter().map(|x| x.path.as_str()).collect();
        assert_eq!(paths, [HOME_MEMBER, "data/p/one.atk-backup"]);
        assert_eq!(m.created, "2026-12-06T05:00:00Z");

        // With data, what is carried under data/ is checked as a backup before the home is made:
        // these bytes are none, and the import makes nothing.
        let vars = [("HOME".to_string(), t.path().join("user").to_string_lossy().into_owned())];
        let environment = crate::environment::Environment::from_vars(vars);
        let import = Import { file: &out, cache: &origins.cache, with_data: Some(&environment) };
        let other = t.path().join("other");
        let refused = import_new(&Recorder::default(), &import, &other).unwrap_err();
        assert!(matches!(refused, Error::UnsafePath { .. }), "{refused:?}");
        assert!(!other.exists() && !t.path().join("user").exists());
        // Without, the member travels and is left aside.
        let import = Import { file: &out, cache: &origins.cache, with_data: None };
        let imported = import_new(&Recorder::default(), &import, &other).unwrap();
        assert!(imported.created && other.join(".git").is_dir() && imported.data.is_empty());
        let left: Vec<String> = std::fs::read_dir(t.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".atk-"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
