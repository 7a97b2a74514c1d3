//! The values a plugin's `.env` gets: from `--set`, the person (when one can be asked), the file as
//! it is, and the plugin's defaults, worked out before anything is written.

use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::home::{plugin_rel, Home};
use crate::plugin::env::EnvFile;
use crate::plugin::secret::MASK;
use crate::plugin::{self, Plugin};
use crate::reporter::Reporter;

/// The values a plugin's `.env` gets, decided before anything is written.
pub struct EnvPlan {
    /// The file with the new values applied (not written yet).
    pub file: EnvFile,
    /// Whether anything differs from the file on disk.
    pub changed: bool,
    /// Required variables still without a value (in the file or in the environment).
    pub missing: Vec<String>,
    /// How many declared variables have a value.
    pub configured: usize,
}

impl EnvPlan {
    /// Writes the plan to the `.env` of the plugin folder `rel_dir` inside `tx`, 0600, when
    /// anything changed.
    pub fn write_in(&self, tx: &mut crate::home::Transaction, rel_dir: &crate::fs::RelPath) -> Result<()> {
        if self.changed {
            tx.write(&rel_dir.join(".env").expect("a plain name"), self.file.text().as_bytes(), Some(0o600))?;
        }
        Ok(())
    }

    /// Writes the plan to `plugins/<directory>/.env` of the home, 0600, when anything changed; a
    /// file that stays as it is still gets its mode made 0600 (secrets). Outside a transaction:
    /// for `setup`, whose only change is this file.
    pub fn write(&self, home: &Home, directory: &str) -> Result<()> {
        let env_rel = plugin_rel(directory)?.join(".env").expect("a plain name");
        if self.changed {
            home.files.write_atomic(&env_rel, self.file.text().as_bytes(), Some(0o600))?;
        } else if matches!(home.files.kind(&env_rel), Ok(Some(crate::fs::Kind::File { .. }))) {
            let _ = home.files.set_mode(&env_rel, 0o600);
        }
        Ok(())
    }
}

/// Asks for (or takes from `--set`, the current file, the defaults) every declared variable, or
/// only those named in `only`.
pub fn plan(
    reporter: &dyn Reporter,
    plugin: &Plugin,
    env_path: &std::path::Path,
    sets: &[(String, String)],
    only: Option<&[String]>,
    environment: &Environment,
) -> Result<EnvPlan> {
    let mut file = EnvFile::read(env_path, &|name| environment.var(name))?;
    for line in file.broken_lines() {
        reporter.warn(&format!(
            "{} line {line}: cannot be parsed; it is ignored (as atk-cli ignores it)",
            env_path.display()
        ));
    }
    let mut changed = false;
    let mut missing = Vec::new();
    let mut configured = 0;
    if reporter.interactive() && !plugin.env_vars.is_empty() && sets.len() < plugin.env_vars.len() {
        reporter.note(&format!("Environment for '{}':", crate::text::escape(&plugin.name)));
    }
    // What holds a secret is asked for unseen: also a value that takes one in (`${DB_PASSWORD}`)
    // or repeats one.
    let secrets = plugin::secrets(Some(plugin), &file);
    let scrubber = secrets.scrubber(environment.secrets());
    for var in plugin.env_vars.iter().filter(|v| only.is_none_or(|o| o.contains(&v.name))) {
        let current = file.get(&var.name).filter(|v| !v.is_empty());
        let default = var.default.clone().filter(|d| !d.is_empty());
        let set = sets.iter().rev().find(|(k, _)| *k == var.name).map(|(_, v)| v.clone());
        let value = match set {
            Some(v) => Some(v),
            None if reporter.interactive() => {
                let repeats = |v: &Option<String>| v.as_deref().is_some_and(|v| scrubber.scrub(v) != v);
                let hidden = var.holds_secret() || secrets.holds(&var.name) || repeats(&current) || repeats(&default);
                ask(reporter, var, hidden, current.as_deref(), default.as_deref())?
            }
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
            // A required variable the environment atk runs in sets has a value, as `start`,
            // `status` and `doctor` count it (`lifecycle::missing_required`).
            None if var.required && !environment.is_set(&var.name) => missing.push(var.name.clone()),
            None => {}
        }
    }
    Ok(EnvPlan { file, changed, missing, configured })
}

fn ask(
    reporter: &dyn Reporter,
    var: &plugin::EnvVar,
    hidden: bool,
    current: Option<&str>,
    default: Option<&str>,
) -> Result<Option<String>> {
    let mut prompt = var.name.clone();
    if var.required {
        prompt.push_str(" (required)");
    }
    if let Some(d) = &var.description {
        prompt.push_str(&format!(" - {}", crate::text::escape(d)));
    }
    loop {
        // A secret (declared, or named like one) is typed unseen, and what Enter keeps is not shown.
        let answer = if hidden {
            let keep = match (current, default) {
                (Some(_), _) => format!(" [{MASK} kept on Enter]"),
                (None, Some(_)) => format!(" [default {MASK} on Enter]"),
                _ => String::new(),
            };
            let typed = reporter.secret(&format!("{prompt}{keep}"))?;
            if typed.is_empty() {
                current.or(default).map(str::to_string)
            } else {
                Some(typed)
            }
        } else {
            let typed = reporter.input(&prompt, current.or(default))?;
            Some(typed).filter(|t| !t.is_empty())
        };
        if answer.is_some() || !var.required {
            return Ok(answer);
        }
        reporter.note(&format!("{} is required; please enter a value", var.name));
    }
}
