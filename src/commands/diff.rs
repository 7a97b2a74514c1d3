use serde::Serialize;

use super::{report, select, Ctx};
use crate::error::{Error, Result};
use crate::home::SourceKind;
use crate::source::origin::Opened;
use crate::sync::drift;
use crate::ui::{Report, Ui};

/// Show local changes to plugin files outside custom/ and .env (what the next upgrade replaces);
/// exits 1 when there are some, as `git diff --exit-code`
#[derive(clap::Args)]
pub struct Args {
    /// The plugin (directory or name); every remote plugin when left out
    pub plugin: Option<String>,
    /// Only the names of the changed files
    #[arg(long)]
    pub stat: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let home = ctx.open_home()?;
    let manifest = home.manifest()?;
    let origins = ctx.settings.origins(&manifest);
    let entries = select(&manifest, args.plugin.as_deref())?;
    if let [e] = entries.as_slice() {
        if e.source.kind == SourceKind::Local && args.plugin.is_some() {
            return Err(Error::nothing_to_do(
                format!(
                    "'{}' is a local plugin: it has no pinned commit to compare with",
                    crate::text::escape(&e.name)
                ),
                vec![format!("its files are tracked by the home's git: `atk git diff -- plugins/{}`", e.directory)],
            ));
        }
    }
    let mut opened = Opened::default();
    let mut docs = Vec::new();
    for entry in entries.into_iter().filter(|e| e.source.kind != SourceKind::Local) {
        if !home.plugin_dir(&entry.directory).is_dir() {
            ctx.ui.warn(format!("plugins/{} is not installed here: `atk install {0}`", entry.directory));
            continue;
        }
        let origin = origins.open_once(&mut opened, &entry.source).as_ref().map_err(Clone::clone)?;
        let drift = drift::drift(&home, entry, origin)?;
        if drift.is_clean() {
            continue;
        }
        let mut files: Vec<DiffFile> = drift
            .modified
            .iter()
            .map(|p| DiffFile { path: p.as_str().into(), status: "modified" })
            .chain(drift.missing.iter().map(|p| DiffFile { path: p.as_str().into(), status: "deleted" }))
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let patch = if args.stat {
            None
        } else {
            Some(crate::sync::drift::scrubbed_patch(&home, entry, origin, &drift, &ctx.settings.environment)?)
        };
        docs.push(DiffPlugin { plugin: entry.into(), files, patch });
    }
    let differ = !docs.is_empty();
    ctx.ui.print(&Diff { plugins: docs });
    Ok(if differ { 1 } else { 0 })
}

/// `atk diff`: per remote plugin, the shipped files that differ from its pinned commit.
#[derive(Serialize)]
pub struct Diff {
    pub plugins: Vec<DiffPlugin>,
}

#[derive(Serialize)]
pub struct DiffPlugin {
    #[serde(flatten)]
    pub plugin: report::PluginDoc,
    /// `modified` or `deleted`, per path inside the plugin folder.
    pub files: Vec<DiffFile>,
    /// The unified diff (absent with `--stat`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
}

#[derive(Serialize)]
pub struct DiffFile {
    pub path: String,
    pub status: &'static str,
}

impl Report for Diff {
    fn render(&self, ui: &Ui) {
        for p in &self.plugins {
            match &p.patch {
                Some(patch) => ui.line(patch.trim_end()),
                None => {
                    for f in &p.files {
                        let mark = if f.status == "deleted" { ui.red("D") } else { ui.yellow("M") };
                        ui.line(format!("{mark} plugins/{}/{}", p.plugin.directory, crate::text::escape(&f.path)));
                    }
                }
            }
        }
    }
}
