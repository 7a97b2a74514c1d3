//! Staging: a plugin from any source, put in a staging folder inside the home and validated there,
//! before anything visible changes. What comes out is exactly what `add` installs.

use std::path::Path;

use crate::error::{Error, Result};
use crate::fs::{RelPath, Root};
use crate::home::{Home, Manifest, Source, SourceKind, Staging};
use crate::plugin::name::is_valid_directory;
use crate::plugin::{self, Maturity, Plugin};
use crate::reporter::Reporter;
use crate::source::git::Repo as GitRepo;
use crate::source::origin::{Origins, ATK_REF};
use crate::source::registry::Registry;
use crate::source::{self, Spec};

/// A plugin ready to be installed: its files in a staging folder (or already in place).
pub struct Staged {
    pub plugin: Plugin,
    pub directory: String,
    /// Where the files are now; `None` when they are already at `plugins/<directory>`.
    pub staged: Option<Staging>,
    pub source: Source,
}

/// Stages what `input` names (a registry plugin, a git URL, a folder or a `plugin.yaml`), read
/// as `from` says. `refresh`: read the registry's index now rather than from the cache.
pub fn stage(
    reporter: &dyn Reporter,
    home: &Home,
    manifest: &Manifest,
    origins: &Origins,
    input: &str,
    from: source::Relative,
    refresh: bool,
) -> Result<Staged> {
    // A URL with a token is refused before anything else looks at it (and shown masked).
    if let Some(e) = source::credentials_in(input) {
        return Err(e);
    }
    match source::resolve(input, from) {
        // A local git repository with its plugin in .atk/ is a git source read in place.
        Spec::Local(path) if is_git_source_checkout(&path) => {
            let shown = path.to_string_lossy().to_string();
            stage_git(reporter, home, manifest, origins, &shown, &shown)
        }
        Spec::Local(path) => stage_local(home, manifest, &path),
        Spec::Registry(name) => stage_registry(reporter, home, manifest, origins, &name, refresh),
        // `Repo::open` refuses a URL with credentials before anything is fetched.
        Spec::Git { url, fetch_url } => stage_git(reporter, home, manifest, origins, &url, &fetch_url),
    }
}

/// The plugin `name` of the registry, at the commit of the registry's current index.
fn stage_registry(
    reporter: &dyn Reporter,
    home: &Home,
    manifest: &Manifest,
    origins: &Origins,
    name: &str,
    refresh: bool,
) -> Result<Staged> {
    if !is_valid_directory(name) {
        // What was typed may be a URL with a token in it: shown masked.
        let shown = crate::text::escape(&crate::text::mask_credentials(name)).into_owned();
        return Err(Error::plugin_refused(
            format!("'{shown}' is not a path, a git URL or a registry plugin name"),
            vec!["a local folder is added with a path (`./folder`), a registry plugin by its name (`atk search` lists them)".into()],
        ));
    }
    if let Some(e) = manifest.plugins.iter().find(|e| e.directory == name) {
        return Err(Error::AlreadyInstalled { name: e.name.clone(), directory: e.directory.clone() });
    }
    let url = &origins.registry_url;
    let registry = Registry::open(url, &origins.cache)?;
    let spinner = reporter.activity(&format!("Fetching '{name}' from {url}"));
    let snapshot = registry.snapshot(refresh, &[&format!("plugins/{name}")])?;
    if let Some(why) = &snapshot.stale_because {
        reporter.warn(why);
    }
    let entry = snapshot.index.find(name).ok_or_else(|| {
        let near = snapshot.index.near(name);
        let mut hints = Vec::new();
        if !near.is_empty() {
            hints.push(format!(
                "did you mean {}?",
                near.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(" or ")
            ));
        }
        hints.push("`atk search` lists the registry's plugins".into());
        Error::plugin_refused(format!("no plugin named '{name}' in the registry {url}"), hints)
    })?;
    let staged = home.staging()?;
    let skipped = registry.materialize(snapshot.commit, entry, &staged.files)?;
    drop(spinner);
    reporter.detail(&format!("received {} bytes from {url}", registry.repo.received.get()));
    warn_skipped(reporter, &skipped);
    let commit = snapshot.commit.to_string();
    finish_remote_stage(
        home,
        manifest,
        staged,
        &format!("{} of the registry {url}", entry.path),
        Some(name),
        Source { kind: SourceKind::Registry, commit: Some(commit), ..Source::default() },
    )
}

/// The plugin in the `.atk/` folder of a git repository, at its HEAD commit. The folder is listed
/// once (which refuses a bad name before anything is fetched), its missing blobs fetched by id, and
/// written once.
fn stage_git(
    reporter: &dyn Reporter,
    home: &Home,
    manifest: &Manifest,
    origins: &Origins,
    url: &str,
    fetch_url: &str,
) -> Result<Staged> {
    let repo = GitRepo::open(fetch_url, url, &origins.cache)?;
    let spinner = reporter.activity(&format!("Fetching {url}"));
    let commit = repo.head()?;
    repo.ensure_commit(commit)?;
    let files = repo.list_files(commit, ".atk")?;
    if !files.iter().any(|f| matches!(f.path.as_str(), "plugin.yaml" | "plugin.yml")) {
        return Err(Error::plugin_refused(
            format!("{url} has no .atk/plugin.yaml at its HEAD commit {commit}"),
            vec!["a git source is a repository with its plugin in an .atk/ folder at the root".into()],
        ));
    }
    repo.ensure_files(commit, &files)?;
    let staged = home.staging()?;
    let skipped = repo.materialize(commit, ".atk", &staged.files)?;
    drop(spinner);
    reporter.detail(&format!("received {} bytes from {url}", repo.received.get()));
    warn_skipped(reporter, &skipped);
    let source = Source {
        kind: SourceKind::Git,
        commit: Some(commit.to_string()),
        url: Some(url.to_string()),
        ..Source::default()
    };
    finish_remote_stage(home, manifest, staged, &format!(".atk/ of {url}"), None, source)
}

/// A folder without a plugin.yaml of its own that is a git repository with an `.atk/` folder.
fn is_git_source_checkout(path: &Path) -> bool {
    path.is_dir()
        && plugin::definition_file(path).is_none()
        && path.join(".atk").is_dir()
        && (path.join(".git").exists() || path.join("HEAD").is_file())
}

fn warn_skipped(reporter: &dyn Reporter, skipped: &[String]) {
    for s in skipped {
        reporter.warn(&format!("{s} is a git submodule; submodules are not installed"));
    }
}

/// Validates a fetched plugin in staging, records its commit in `.atk-ref`, and checks that it can
/// be installed. `directory` is the registry name; a git plugin's comes from its display name.
fn finish_remote_stage(
    home: &Home,
    manifest: &Manifest,
    staged: Staging,
    what: &str,
    directory: Option<&str>,
    source: Source,
) -> Result<Staged> {
    let plugin = plugin::load(staged.path()).map_err(|e| match e {
        Error::PluginInvalid { problems, .. } => Error::PluginInvalid { what: what.to_string(), problems },
        other => other,
    })?;
    let directory = match directory {
        Some(d) => d.to_string(),
        None => plugin::directory_for(&plugin, Path::new(what))?,
    };
    check_not_installed(manifest, &plugin, &directory)?;
    check_target_free(&home.plugin_dir(&directory), &directory)?;
    let commit = source.commit.clone().unwrap_or_default();
    staged.files.write_atomic(&RelPath::new(ATK_REF).expect("a plain name"), format!("{commit}\n").as_bytes(), None)?;
    Ok(Staged { plugin, directory, staged: Some(staged), source })
}

/// The plugin at `path` (a folder, or a single `.yaml`/`.yml` file), validated once where it is
/// (so that every problem names the user's path, and a folder that is not a plugin or is installed
/// already is refused before anything is copied), then copied to staging. The folder is read
/// without following any link in it, and a link in it that leads out of it is refused. What is
/// installed is what was validated: the copy's definition and overrides must have the very bytes
/// that were read. A folder that is already `plugins/<directory>` of the home stays where it is.
fn stage_local(home: &Home, manifest: &Manifest, path: &Path) -> Result<Staged> {
    let shown = path.display().to_string();
    if !path.exists() {
        return Err(Error::plugin_refused(
            format!("{shown} does not exist"),
            vec!["give the path of a plugin folder or of its plugin.yaml".into()],
        ));
    }
    // Anything but a folder is a definition (a FIFO or a device there is refused by the read).
    if !path.is_dir() {
        if !matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            return Err(Error::plugin_refused(
                format!("{shown} is not a .yaml or .yml file"),
                vec!["give a plugin folder or its plugin.yaml".into()],
            ));
        }
        let data = crate::fs::read(path, crate::fs::Links::Follow, crate::fs::Cap::Definition)?
            .ok_or_else(|| Error::io(format!("cannot read {shown}"), std::io::ErrorKind::NotFound.into()))?;
        let doc = plugin::parse_yaml(&data, &shown)?;
        let plugin = plugin::schema::validate(&doc)
            .map_err(|problems| Error::PluginInvalid { what: shown.clone(), problems })?;
        let directory = plugin::directory_for(&plugin, path)?;
        check_not_installed(manifest, &plugin, &directory)?;
        check_target_free(&home.plugin_dir(&directory), &directory)?;
        let staged = home.staging()?;
        staged.files.write_new(&RelPath::new("plugin.yaml").expect("a plain name"), &data, 0o644)?;
        return Ok(Staged { plugin, directory, staged: Some(staged), source: Source::default() });
    }
    let source = Root::open(path)?;
    if let Some((link, target)) = source.first_escaping_link()? {
        return Err(link_outside(&source.abs(&link), &target));
    }
    let (plugin, read) = plugin::load_read(path).map_err(|e| match e {
        Error::PluginInvalid { problems, .. } => Error::PluginInvalid { what: shown.clone(), problems },
        other => other,
    })?;
    let directory = plugin::directory_for(&plugin, path)?;
    check_not_installed(manifest, &plugin, &directory)?;
    let target = home.plugin_dir(&directory);
    if same_dir(path, &target) {
        return Ok(Staged { plugin, directory, staged: None, source: Source::default() });
    }
    check_target_free(&target, &directory)?;
    if contains_home(path, home) {
        return Err(Error::unsafe_path(
            format!("{shown} contains the ATK home {}", home.root.display()),
            vec!["a plugin folder is copied into the home: give a folder that holds only the plugin".into()],
        ));
    }
    let staged = home.staging()?;
    crate::fs::copy_tree(&source, &RelPath::root(), &staged.files, &RelPath::root())?;
    if let Some((link, target)) = staged.files.first_escaping_link()? {
        return Err(link_outside(&source.abs(&link), &target));
    }
    for (rel, bytes) in &read {
        let copied = RelPath::new(&rel.to_string_lossy())
            .ok()
            .and_then(|r| staged.files.read(&r, crate::fs::Cap::Definition).ok());
        if copied.as_ref() != Some(bytes) {
            return Err(Error::conflict(
                format!("{} changed while it was being added", path.join(rel).display()),
                vec!["run the command again once nothing is writing to the folder".into()],
            ));
        }
    }
    Ok(Staged { plugin, directory, staged: Some(staged), source: Source::default() })
}

/// Whether the folder `path` holds the home (copying it would copy the staging folder into itself).
fn contains_home(path: &Path, home: &Home) -> bool {
    match (std::fs::canonicalize(path), std::fs::canonicalize(&home.root)) {
        (Ok(p), Ok(h)) => h.starts_with(p),
        _ => false,
    }
}

fn link_outside(link: &Path, target: &Path) -> Error {
    Error::unsafe_path(
        format!(
            "{} is a symbolic link to {}, which leads out of the plugin folder",
            link.display(),
            crate::text::escape(&target.to_string_lossy())
        ),
        vec!["a plugin may only link to files inside its own folder".into()],
    )
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Refuses a plugin whose folder or display name is already in the manifest.
fn check_not_installed(manifest: &Manifest, plugin: &Plugin, directory: &str) -> Result<()> {
    match manifest.plugins.iter().find(|e| e.directory == directory || e.name == plugin.name) {
        Some(e) => Err(Error::AlreadyInstalled { name: e.name.clone(), directory: e.directory.clone() }),
        None => Ok(()),
    }
}

/// Refuses to install over a folder that is there but not in the manifest.
fn check_target_free(target: &Path, directory: &str) -> Result<()> {
    if target.exists() || target.is_symlink() {
        return Err(Error::conflict(
            format!("plugins/{directory} already exists but is not in the manifest"),
            vec![
                format!("to add the plugin that is there: `atk add {}`", target.display()),
                format!("or move it away first: `mv {} /tmp/`", target.display()),
            ],
        ));
    }
    Ok(())
}

/// A plugin that is not `verified` is shown as such and installed only when the user agrees. Only
/// a registry can vouch for a plugin: one from a git URL or a folder that calls itself `verified`
/// is asked about like a community plugin.
pub fn confirm_maturity(reporter: &dyn Reporter, plugin: &Plugin, kind: SourceKind) -> Result<bool> {
    let name = crate::text::escape(&plugin.name);
    let why = match plugin.maturity {
        Maturity::Verified if kind == SourceKind::Registry => return Ok(true),
        Maturity::Verified => format!(
            "'{name}' says it is verified, but it does not come from a registry, so no registry has reviewed it"
        ),
        Maturity::Community => format!(
            "'{name}' is community: it is shared by the community and has not been reviewed by the registry's maintainers"
        ),
        Maturity::AiGenerated if !plugin.maturity_declared => format!(
            "'{name}' declares no maturity, so it counts as ai-generated (as in atk-cli): nothing says a person reviewed it"
        ),
        Maturity::AiGenerated => {
            format!("'{name}' is ai-generated: it was generated by AI and has not been reviewed by a person")
        }
    };
    reporter.warn(&format!("{why}; its commands run on this machine"));
    reporter.confirm(&format!("Install '{name}' anyway?"), "pass --yes to install it anyway")
}
