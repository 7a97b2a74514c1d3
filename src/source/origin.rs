//! Where an installed remote plugin comes from: its registry or git repository, the commit it is
//! pinned to, and the latest commit of its source. Shared by install, setup, upgrade and doctor.

use gix::ObjectId;

use crate::error::{Error, Result};
use crate::home::{plugin_rel, Entry, Home, Manifest, Source, SourceKind};
use crate::source;
use crate::source::git::Repo as GitRepo;
use crate::source::registry::{self, Registry};

/// The file in a remote plugin's folder that records the commit it came from.
pub const ATK_REF: &str = ".atk-ref";

/// How a command reaches the origins of its plugins: the registry it uses and the cache of
/// fetched repositories. Made once per command from the settings and the manifest.
#[derive(Clone)]
pub struct Origins {
    pub registry_url: String,
    pub cache: crate::source::git::Cache,
}

impl Origins {
    /// The origins of `manifest`'s plugins: `registry` (`--registry`) else the manifest's else the
    /// public registry, fetched into `cache`.
    pub fn new(registry: Option<&str>, manifest: &Manifest, cache: crate::source::git::Cache) -> Origins {
        Origins { registry_url: registry::url(registry, manifest.config.registry.as_deref()), cache }
    }
    /// What identifies the origin of a remote entry (the registry's URL, or the git URL).
    pub fn key(&self, source: &Source) -> String {
        Origin::key(&self.registry_url, source)
    }
    pub fn open(&self, source: &Source) -> Result<Origin> {
        Origin::open(&self.registry_url, source, &self.cache)
    }
    /// The origin of `source`, opened once per source for all the plugins of a command: kept in
    /// `opened` (a failure too, so that it is not tried again).
    pub fn open_once<'a>(&self, opened: &'a mut Opened, source: &Source) -> &'a Result<Origin> {
        opened.entry(self.key(source)).or_insert_with(|| self.open(source))
    }
    /// Where a plugin's folder is in its source when it cannot be looked up (offline): `.atk` of a
    /// git source, `plugins/<directory>` of a registry.
    pub fn default_path(entry: &Entry) -> String {
        if entry.source.kind == SourceKind::Git {
            ".atk".into()
        } else {
            format!("plugins/{}", entry.directory)
        }
    }
}

/// Origins opened by [`Origins::open_once`], by source.
pub type Opened = std::collections::HashMap<String, Result<Origin>>;

pub enum Origin {
    Registry(Registry),
    Git(GitRepo),
}

/// The registry a command uses: the one asked for (`--registry`, `ATK_REGISTRY`), else the home's
impl Origin {
    /// What identifies the origin of a remote entry (the registry's URL, or the git URL).
    pub fn key(registry_url: &str, source: &Source) -> String {
        match source.kind {
            SourceKind::Git => source.url.clone().unwrap_or_default(),
            _ => registry_url.to_string(),
        }
    }

    /// Opens the origin of `source` (fetched repositories are kept under `cache`).
    pub fn open(registry_url: &str, source: &Source, cache: &crate::source::git::Cache) -> Result<Origin> {
        match source.kind {
            SourceKind::Registry => Ok(Origin::Registry(Registry::open(registry_url, cache)?)),
            SourceKind::Git => {
                let url = source.url.as_deref().filter(|u| !u.is_empty()).ok_or_else(|| Error::Manifest {
                    path: "manifest.yaml".into(),
                    detail: "a git plugin has no source.url".into(),
                })?;
                let fetch_url = source::git_url(url).unwrap_or_else(|| url.to_string());
                Ok(Origin::Git(GitRepo::open(&fetch_url, url, cache)?))
            }
            SourceKind::Local => Err(Error::other("a local plugin has no remote origin")),
        }
    }

    pub fn repo(&self) -> &GitRepo {
        match self {
            Origin::Registry(r) => &r.repo,
            Origin::Git(g) => g,
        }
    }

    pub fn url(&self) -> String {
        match self {
            Origin::Registry(r) => r.url.clone(),
            Origin::Git(g) => g.shown().to_string(),
        }
    }

    /// The folder holding plugin `directory` at `commit` (fetching the commit's trees if needed).
    pub fn path_at(&self, commit: ObjectId, directory: &str) -> Result<String> {
        match self {
            Origin::Registry(r) => r.path_at(commit, directory),
            Origin::Git(g) => {
                g.ensure_commit(commit)?;
                match g.entry(commit, ".atk")? {
                    Some((_, true)) => Ok(".atk".into()),
                    _ => Err(Error::plugin_refused(
                        format!("{} has no .atk/ folder at commit {commit}", g.shown()),
                        vec![],
                    )),
                }
            }
        }
    }

    /// The source's latest commit: the registry's HEAD (no cached index), or the git remote's HEAD.
    pub fn latest(&self) -> Result<ObjectId> {
        match self {
            Origin::Registry(r) => Ok(r.latest(&[])?.commit),
            Origin::Git(g) => {
                let head = g.head()?;
                g.ensure_commit(head)?;
                Ok(head)
            }
        }
    }
}

/// How many sources are looked up at once, at most (on the bounded pool).
const PARALLEL_LOOKUPS: usize = 8;

/// A source's origin and its latest commit, or why they could not be had.
pub type Lookup = Result<(Origin, ObjectId)>;

/// Opens the origin of each of `sources` (one per key) and looks up its latest commit, several
/// sources at a time: the wait is that of the slowest source, not the sum of them all. Each lookup
/// keeps its own bounds (stall timeout, Ctrl-C); after Ctrl-C no other source is contacted.
pub fn latest_of_all(origins: &Origins, sources: &[(String, Source)]) -> Vec<(String, Lookup)> {
    crate::pool::map(sources, PARALLEL_LOOKUPS, |(key, source)| {
        let result = crate::error::check_interrupt()
            .and_then(|()| origins.open(source))
            .and_then(|o| o.latest().map(|c| (o, c)));
        (key.clone(), result)
    })
}

/// The commit a remote entry of the manifest is pinned to.
pub fn pinned(entry: &Entry) -> Result<ObjectId> {
    let text = entry.source.commit.as_deref().unwrap_or_default();
    ObjectId::from_hex(text.as_bytes()).map_err(|_| Error::Manifest {
        path: "manifest.yaml".into(),
        detail: format!("plugin '{}' has no valid pinned commit (source.ref: '{text}')", entry.directory),
    })
}

/// The commit recorded in `plugins/<directory>/.atk-ref` (`None`: no file there, or one that
/// names no commit). Read as every file of a home is (see `fs::read`): a link, a FIFO or a file
/// far too big there is an error naming it, never taken for a missing record.
pub fn installed_ref(home: &Home, directory: &str) -> crate::error::Result<Option<ObjectId>> {
    let Some(rel) = plugin_rel(directory).ok().and_then(|dir| dir.join(ATK_REF).ok()) else { return Ok(None) };
    let Some(data) = home.files.read_opt(&rel, crate::fs::Cap::State)? else { return Ok(None) };
    Ok(String::from_utf8(data).ok().and_then(|text| ObjectId::from_hex(text.trim().as_bytes()).ok()))
}
