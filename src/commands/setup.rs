use super::origin::{ensure_files, FetchPolicy};
use super::{parse_sets, select, Ctx, Target};
use crate::error::{Error, Result};
use crate::home::{plugin_rel, Entry, SourceKind};
use crate::plugin::env::{mask, EnvFile};
use crate::plugin::{self, Plugin};

/// Set a plugin's environment variables (written to plugins/<dir>/.env, never committed).
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: Target,
    /// Set a value without asking (repeatable); KEY alone takes $KEY from the environment;
    /// with --all, in every plugin that declares KEY
    #[arg(long = "set", value_name = "KEY[=VALUE]")]
    pub set: Vec<String>,
}

/// The values a plugin's `.env` gets, decided before anything is written.
pub struct EnvPlan {
    /// The file with the new values applied (not written yet).
    pub file: EnvFile,
    /// Whether anything differs from the file on disk.
    pub changed: bool,
    /// Required variables still without a value.
    pub missing: Vec<String>,
    /// How many declared variables have a value.
    pub configured: usize,
}

/// Asks for (or takes from `--set`, the current file, the defaults) every declared variable, or
/// only those named in `only`.
pub fn plan(
    ctx: &Ctx,
    plugin: &Plugin,
    env_path: &std::path::Path,
    sets: &[(String, String)],
    only: Option<&[String]>,
) -> Result<EnvPlan> {
    let mut file = EnvFile::read(env_path, &|name| std::env::var(name).ok())?;
    for line in file.broken_lines() {
        ctx.ui.warn(format!(
            "{} line {line}: cannot be parsed; it is ignored (as atk-cli ignores it)",
            env_path.display()
        ));
    }
    let mut changed = false;
    let mut missing = Vec::new();
    let mut configured = 0;
    if ctx.ui.interactive && !plugin.env_vars.is_empty() && sets.len() < plugin.env_vars.len() {
        ctx.ui.note(format!("Environment for '{}':", crate::text::escape(&plugin.name)));
    }
    for var in plugin.env_vars.iter().filter(|v| only.is_none_or(|o| o.contains(&v.name))) {
        let current = file.get(&var.name).filter(|v| !v.is_empty());
        let default = var.default.clone().filter(|d| !d.is_empty());
        let set = sets.iter().rev().find(|(k, _)| *k == var.name).map(|(_, v)| v.clone());
        let value = match set {
            Some(v) => Some(v),
            None if ctx.ui.interactive => ask(ctx, var, current.as_deref(), default.as_deref())?,
            None => current.clone().or(default),
        };
        match value.filter(|v| !v.is_empty()) {
            Some(v) => {
                configured += 1;
                if file.get(&var.name).as_deref() != Some(v.as_str()) {
                    file.set(&var.name, &v, var.description.as_deref()).map_err(|message| Error::Other {
                        message,
                        hints: vec![
                            "fix that line by hand (an unterminated quote, most likely), then run the command again"
                                .into(),
                        ],
                    })?;
                    changed = true;
                }
            }
            None if var.required => missing.push(var.name.clone()),
            None => {}
        }
    }
    Ok(EnvPlan { file, changed, missing, configured })
}

fn ask(ctx: &Ctx, var: &plugin::EnvVar, current: Option<&str>, default: Option<&str>) -> Result<Option<String>> {
    let mut prompt = var.name.clone();
    if var.required {
        prompt.push_str(" (required)");
    }
    if let Some(d) = &var.description {
        prompt.push_str(&format!(" - {}", crate::text::escape(d)));
    }
    loop {
        let answer = if var.secret {
            let keep = match (current, default) {
                (Some(c), _) => format!(" [{} kept on Enter]", mask(c)),
                (None, Some(d)) => format!(" [default {} on Enter]", mask(d)),
                _ => String::new(),
            };
            let typed = ctx.ui.secret(&format!("{prompt}{keep}"))?;
            if typed.is_empty() {
                current.or(default).map(str::to_string)
            } else {
                Some(typed)
            }
        } else {
            let typed = ctx.ui.input(&prompt, current.or(default))?;
            Some(typed).filter(|t| !t.is_empty())
        };
        if answer.is_some() || !var.required {
            return Ok(answer);
        }
        ctx.ui.note(format!("{} is required; please enter a value", var.name));
    }
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let sets = parse_sets(&args.set)?;
    let (home, lock) = ctx.lock_home()?;
    let manifest = home.manifest()?;
    let entries = select(&manifest, args.target.plugin.as_deref())?;
    // On a fresh clone, remote plugins' files are not there yet: put them in place at their pinned
    // commits first (no lifecycle), since their plugin.yaml says what to ask for.
    let absent: Vec<&Entry> = entries
        .iter()
        .copied()
        .filter(|e| {
            e.source.kind != SourceKind::Local && plugin::definition_file(&home.plugin_dir(&e.directory)).is_none()
        })
        .collect();
    let mut unavailable = Vec::new();
    if !absent.is_empty() {
        let policy = FetchPolicy { jobs: super::install::jobs(None), ..FetchPolicy::default() };
        for (entry, result) in absent.iter().zip(ensure_files(ctx, &home, &lock, &manifest, &absent, policy)?) {
            match result {
                Ok(_) => {}
                Err(e) if args.target.plugin.is_some() || matches!(e, Error::Interrupted) => return Err(e),
                Err(e) => {
                    ctx.ui.warn(format!("{}: {e}", entry.directory));
                    unavailable.push(entry.directory.clone());
                }
            }
        }
    }
    let mut reports = Vec::new();
    let mut missing_all = Vec::new();
    for entry in entries.into_iter().filter(|e| !unavailable.contains(&e.directory)) {
        let dir = home.plugin_dir(&entry.directory);
        let plugin = plugin::load(&dir)?;
        if args.target.plugin.is_some() {
            if let Some((k, _)) = sets.iter().find(|(k, _)| !plugin.env_vars.iter().any(|v| &v.name == k)) {
                let declared: Vec<&str> = plugin.env_vars.iter().map(|v| v.name.as_str()).collect();
                return Err(Error::usage(
                    format!("plugin '{}' declares no variable {k}", crate::text::escape(&plugin.name)),
                    Some(if declared.is_empty() {
                        "it declares no variables".into()
                    } else {
                        format!("it declares: {}", declared.join(", "))
                    }),
                ));
            }
        }
        if plugin.env_vars.is_empty() {
            if args.target.plugin.is_some() {
                ctx.ui.line(format!("Plugin '{}' has no environment variables", crate::text::escape(&plugin.name)));
            }
            reports.push(super::report::Configured {
                name: entry.name.clone(),
                directory: entry.directory.clone(),
                configured: 0,
                missing: vec![],
                written: false,
            });
            continue;
        }
        let plan = plan(ctx, &plugin, &dir.join(".env"), &sets, None)?;
        let env_rel = plugin_rel(&entry.directory)?.join(".env").expect("a plain name");
        if plan.changed {
            home.files.write_atomic(&env_rel, plan.file.text().as_bytes(), Some(0o600))?;
        } else if matches!(home.files.kind(&env_rel), Ok(Some(crate::fs::Kind::File { .. }))) {
            // Secrets are 0600 even when nothing changed.
            let _ = home.files.set_mode(&env_rel, 0o600);
        }
        reports.push(super::report::Configured {
            name: entry.name.clone(),
            directory: entry.directory.clone(),
            configured: plan.configured,
            missing: plan.missing.clone(),
            written: plan.changed,
        });
        if plan.missing.is_empty() {
            ctx.ui.success(format!(
                "Configured {} for '{}'",
                crate::error::plural(plan.configured, "variable"),
                plugin.name
            ));
        } else {
            missing_all.push((entry.directory.clone(), plan.missing));
        }
    }
    ctx.ui.json(&super::report::Setup { plugins: reports });
    if !missing_all.is_empty() {
        return Err(Error::EnvMissing { missing: missing_all });
    }
    Ok(if unavailable.is_empty() { 0 } else { 1 })
}
