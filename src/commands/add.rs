use std::path::Path;

use super::origin::{registry_url, ATK_REF};
use super::{parse_sets, run_install, runner, setup, Ctx};
use crate::error::{Error, Result};
use crate::fs::{RelPath, Root};
use crate::home::Message;
use crate::home::{gitignore, manifest, plugin_rel, Entry, Home, Manifest, Source, SourceKind, Staging, Transaction};
use crate::plugin::name::is_valid_directory;
use crate::plugin::{self, Maturity, Plugin};
use crate::source::git::Repo as GitRepo;
use crate::source::registry::Registry;
use crate::source::{self, Spec};

/// Add a plugin: a registry name, a git URL, or a local folder or plugin.yaml file.
#[derive(clap::Args)]
pub struct Args {
    /// `name` (registry), `https://…`/`git@host:org/repo` (git), or `./folder` (local)
    pub source: String,
    /// Set an environment variable without asking (repeatable); KEY alone takes $KEY
    /// from the environment, keeping a secret off the command line
    #[arg(long = "set", value_name = "KEY[=VALUE]")]
    pub set: Vec<String>,
    /// Read the registry index now, not from the cache (it is kept for an hour)
    #[arg(long)]
    pub refresh: bool,
    /// The same as --yes (atk-cli's spelling for this command)
    #[arg(long)]
    pub force: bool,
}

/// A plugin ready to be installed: its files in a staging folder (or already in place).
struct Staged {
    plugin: Plugin,
    directory: String,
    /// Where the files are now; `None` when they are already at `plugins/<directory>`.
    staged: Option<Staging>,
    source: Source,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let input = args.source.trim();
    if input.is_empty() {
        return Err(Error::usage("the source is empty", Some("for example: `atk add ./my-tool`".into())));
    }
    let sets = parse_sets(&args.set)?;
    let (home, lock) = ctx.lock_home()?;
    let mut manifest = home.manifest()?;
    let cwd = std::env::current_dir().map_err(|e| Error::io("cannot read the current directory", e))?;

    // A URL with a token is refused before anything else looks at it (and shown masked).
    if let Some(e) = source::credentials_in(input) {
        return Err(e);
    }
    let staged = match source::resolve(input, &cwd) {
        // A local git repository with its plugin in .atk/ is a git source read in place.
        Spec::Local(path) if is_git_source_checkout(&path) => {
            let shown = path.to_string_lossy().to_string();
            stage_git(ctx, &home, &manifest, &shown, &shown)?
        }
        Spec::Local(path) => stage_local(&home, &manifest, &path)?,
        Spec::Registry(name) => stage_registry(ctx, &home, &manifest, &name, args.refresh)?,
        // `Repo::open` refuses a URL with credentials before anything is fetched.
        Spec::Git { url, fetch_url } => stage_git(ctx, &home, &manifest, &url, &fetch_url)?,
    };
    let Staged { plugin, directory, staged, source } = staged;
    let rel_dir = plugin_rel(&directory)?;
    let target = home.plugin_dir(&directory);

    if !confirm_maturity(ctx, &plugin, source.kind)? {
        ctx.ui.line("Cancelled; nothing was changed.");
        return Ok(0);
    }
    let files_now = staged.as_ref().map(|s| s.path().to_path_buf()).unwrap_or_else(|| target.clone());
    ctx.ui.detail(format!("'{}' staged in {}", crate::text::escape(&plugin.name), files_now.display()));
    let env = setup::plan(ctx, &plugin, &files_now.join(".env"), &sets, None)?;

    let kind = source.kind;
    let entry = Entry::new(&plugin.name, &directory, source);
    let commit = Transaction::run(&home, &lock, &format!("atk add {input}"), |tx| {
        if let Some(staged) = &staged {
            tx.place(&staged.outer, &Staging::name(), &rel_dir)?;
        }
        let mut paths = vec![manifest::FILE.to_string(), rel_dir.as_str().to_string()];
        // A local plugin's files are tracked; every add leaves the secret block last.
        let text = home.gitignore_text()?;
        let new = match kind {
            SourceKind::Local => gitignore::add_exemption(&text, &directory),
            _ => gitignore::normalize(&text),
        };
        if new != text {
            tx.write(&RelPath::new(gitignore::FILE).expect("a plain name"), new.as_bytes(), None)?;
            paths.push(gitignore::FILE.into());
        }
        if env.changed {
            tx.write(&rel_dir.join(".env").expect("a plain name"), env.file.text().as_bytes(), Some(0o600))?;
        }
        if !env.missing.is_empty() && plugin.lifecycle.install.is_none() {
            ctx.ui.warn(Error::EnvMissing { missing: vec![(directory.clone(), env.missing.clone())] }.to_string());
        }
        run_install(ctx, &runner(ctx, &home, &target, &directory, &plugin))?;
        manifest.plugins.push(entry.clone());
        home.write_manifest(tx, &manifest)?;
        let to = entry.source.commit.as_deref();
        let message = Message::operation(format!("Add plugin '{}'", plugin.name), "add", &directory, None, to);
        home.commit(tx, &manifest, &paths, &message)
    })?;
    ctx.push_if_configured(&home, &manifest, commit.is_some());

    if let Some(c) = &commit {
        ctx.ui.detail(format!("committed {c}"));
    }
    let pin = entry.source.commit.as_deref().map(|c| format!(" at {}", &c[..c.len().min(12)])).unwrap_or_default();
    ctx.ui.success(format!("Added '{}' to {}{pin}", crate::text::escape(&plugin.name), target.display()));
    ctx.ui.json(&super::report::Added { added: (&entry).into(), path: target, commit, env_missing: env.missing });
    Ok(0)
}

/// The plugin `name` of the registry, at the commit of the registry's current index.
fn stage_registry(ctx: &Ctx, home: &Home, manifest: &Manifest, name: &str, refresh: bool) -> Result<Staged> {
    if !is_valid_directory(name) {
        // What was typed may be a URL with a token in it: shown masked.
        let shown = crate::text::escape(&crate::source::mask_credentials(name)).into_owned();
        return Err(Error::refused(
            format!("'{shown}' is not a path, a git URL or a registry plugin name"),
            vec!["a local folder is added with a path (`./folder`), a registry plugin by its name (`atk search` lists them)".into()],
        ));
    }
    if let Some(e) = manifest.plugins.iter().find(|e| e.directory == name) {
        return Err(Error::AlreadyInstalled { name: e.name.clone(), directory: e.directory.clone() });
    }
    let url = registry_url(ctx, manifest);
    let registry = Registry::open(&url, &ctx.settings.cache_dir)?;
    let spinner = ctx.ui.spinner(format!("Fetching '{name}' from {url}"));
    let snapshot = registry.snapshot(refresh, &[&format!("plugins/{name}")])?;
    if let Some(why) = &snapshot.stale_because {
        ctx.ui.warn(why);
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
        Error::refused(format!("no plugin named '{name}' in the registry {url}"), hints)
    })?;
    let staged = home.staging()?;
    let skipped = registry.materialize(snapshot.commit, entry, &staged.files)?;
    drop(spinner);
    ctx.ui.detail(format!("received {} bytes from {url}", registry.repo.received.get()));
    warn_skipped(ctx, &skipped);
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

/// The plugin in the `.atk/` folder of a git repository, at its HEAD commit.
fn stage_git(ctx: &Ctx, home: &Home, manifest: &Manifest, url: &str, fetch_url: &str) -> Result<Staged> {
    let repo = GitRepo::open(fetch_url, url, &ctx.settings.cache_dir)?;
    let spinner = ctx.ui.spinner(format!("Fetching {url}"));
    let commit = repo.head()?;
    repo.ensure_commit(commit)?;
    let no_plugin = || {
        Error::refused(
            format!("{url} has no .atk/plugin.yaml at its HEAD commit {commit}"),
            vec!["a git source is a repository with its plugin in an .atk/ folder at the root".into()],
        )
    };
    match repo.entry(commit, ".atk")? {
        Some((_, true)) => {}
        _ => return Err(no_plugin()),
    }
    if repo.entry(commit, ".atk/plugin.yaml")?.is_none() && repo.entry(commit, ".atk/plugin.yml")?.is_none() {
        return Err(no_plugin());
    }
    repo.ensure_paths(commit, &[".atk"])?;
    let staged = home.staging()?;
    let skipped = repo.materialize(commit, ".atk", &staged.files)?;
    drop(spinner);
    ctx.ui.detail(format!("received {} bytes from {url}", repo.received.get()));
    warn_skipped(ctx, &skipped);
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

fn warn_skipped(ctx: &Ctx, skipped: &[String]) {
    for s in skipped {
        ctx.ui.warn(format!("{s} is a git submodule; submodules are not installed"));
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

/// The plugin at `path` (a folder, or a single `.yaml`/`.yml` file) copied to staging and validated.
/// The folder is read without following any link in it, and a link in it that leads out of it is
/// refused: what is validated is exactly what will be installed.
fn stage_local(home: &Home, manifest: &Manifest, path: &Path) -> Result<Staged> {
    let shown = path.display().to_string();
    if !path.exists() {
        return Err(Error::refused(
            format!("{shown} does not exist"),
            vec!["give the path of a plugin folder or of its plugin.yaml".into()],
        ));
    }
    let is_file = path.is_file();
    if is_file && !matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
        return Err(Error::refused(
            format!("{shown} is not a .yaml or .yml file"),
            vec!["give a plugin folder or its plugin.yaml".into()],
        ));
    }
    let invalid = |e: Error| match e {
        Error::PluginInvalid { problems, .. } => Error::PluginInvalid { what: shown.clone(), problems },
        other => other,
    };
    if !is_file {
        let source = Root::open(path)?;
        if let Some((link, target)) = source.first_escaping_link()? {
            return Err(link_outside(&source.abs(&link), &target));
        }
        let plugin = plugin::load(path).map_err(invalid)?;
        let directory = plugin::directory_for(&plugin, path)?;
        check_not_installed(manifest, &plugin, &directory)?;
        let target = home.plugin_dir(&directory);
        if same_dir(path, &target) {
            return Ok(Staged { plugin, directory, staged: None, source: Source::default() });
        }
        check_target_free(&target, &directory)?;
        let staged = home.staging()?;
        crate::fs::copy_tree(&source, &RelPath::root(), &staged.files, &RelPath::root())?;
        if let Some((link, target)) = staged.files.first_escaping_link()? {
            return Err(link_outside(&source.abs(&link), &target));
        }
        // Validate what will actually be installed (the copy, with its custom/overrides.yaml).
        let plugin = plugin::load(staged.path()).map_err(invalid)?;
        return Ok(Staged { plugin, directory, staged: Some(staged), source: Source::default() });
    }
    let plugin = plugin::load_file(path)?;
    let directory = plugin::directory_for(&plugin, path)?;
    check_not_installed(manifest, &plugin, &directory)?;
    check_target_free(&home.plugin_dir(&directory), &directory)?;
    let data = std::fs::read(path).map_err(|e| Error::io(format!("cannot read {shown}"), e))?;
    let staged = home.staging()?;
    staged.files.write_new(&RelPath::new("plugin.yaml").expect("a plain name"), &data, 0o644)?;
    let plugin = plugin::load(staged.path()).map_err(invalid)?;
    Ok(Staged { plugin, directory, staged: Some(staged), source: Source::default() })
}

fn link_outside(link: &Path, target: &Path) -> Error {
    Error::refused(
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
        return Err(Error::refused(
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
fn confirm_maturity(ctx: &Ctx, plugin: &Plugin, kind: SourceKind) -> Result<bool> {
    let name = crate::text::escape(&plugin.name);
    let why = match plugin.maturity {
        Maturity::Verified if kind == SourceKind::Registry => return Ok(true),
        Maturity::Verified => format!(
            "'{name}' says it is verified, but it does not come from a registry, so no registry has reviewed it"
        ),
        Maturity::Community => format!(
            "'{name}' is community: it is shared by the community and has not been reviewed by the registry's maintainers"
        ),
        Maturity::AiGenerated => {
            format!("'{name}' is ai-generated: it was generated by AI and has not been reviewed by a person")
        }
    };
    ctx.ui.warn(format!("{why}; its commands run on this machine"));
    ctx.ui.confirm(&format!("Install '{name}' anyway?"), "pass --yes to install it anyway")
}
