//! A plugin on disk: finding and parsing its `plugin.yaml`, merging `custom/overrides.yaml`, and
//! validating the result. Knows nothing of homes or fetching.

pub mod data;
pub mod env;
pub mod name;
pub mod scaffold;
pub mod schema;
pub mod scripts;
pub mod secret;
pub mod skill;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use yaml_serde::Value;

pub use schema::{EnvVar, Maturity, Plugin};

use crate::error::{Error, Result};
use crate::fs::{Cap, Links, RelPath, Root};

pub const OVERRIDES: &str = "custom/overrides.yaml";

/// `plugin.yaml`, else `plugin.yml`, inside `dir`: whatever is there (a link, or something that
/// is not a file, is the reader's to refuse, so that the message says what it is).
pub fn definition_file(dir: &Path) -> Option<PathBuf> {
    ["plugin.yaml", "plugin.yml"].iter().map(|f| dir.join(f)).find(|p| p.symlink_metadata().is_ok())
}

/// A plugin's secrets in its `.env`: the keys whose value holds one, and every secret value the
/// file's values may show, to take out of text that repeats them.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    /// Declared secret or named like one, or taking one in by `${NAME}`
    /// ([`env::EnvFile::keys_holding_secrets`]).
    pub keys: BTreeSet<String>,
    /// The values of those keys, of keys the plugin does not declare (a secret for all atk
    /// knows), and of the secrets from the environment that values take in.
    pub values: Vec<String>,
}

impl Secrets {
    /// Whether the value of `name` holds a secret.
    pub fn holds(&self, name: &str) -> bool {
        self.keys.contains(name)
    }

    /// What takes these secrets, and `environment`'s (the values of the variables of atk's own
    /// environment that are named like secrets, read by the command), out of text atk repeats.
    pub fn scrubber(&self, environment: &[String]) -> secret::Scrubber {
        secret::Scrubber::for_output(self.values.iter().chain(environment).map(String::as_str))
    }
}

/// The secrets of `env`, the `.env` of `plugin` (`None`: a plugin that cannot be read, whose every
/// value is a secret). A name is a secret when the plugin declares it one or it is named like one.
pub fn secrets(plugin: Option<&Plugin>, env: &env::EnvFile) -> Secrets {
    let declared = |name: &str| plugin.and_then(|p| p.env_vars.iter().find(|v| v.name == name));
    let secret = |name: &str| match (plugin, declared(name)) {
        (None, _) => true,
        (Some(_), Some(v)) => v.holds_secret(),
        (Some(_), None) => secret::looks_secret(name),
    };
    let keys = env.keys_holding_secrets(&secret);
    let mut values: Vec<String> = env
        .entries()
        .into_iter()
        .filter(|(k, _)| keys.contains(k) || declared(k).is_none())
        .filter_map(|(_, v)| v)
        .collect();
    values.extend(env.outer_secrets(&secret));
    Secrets { keys, values }
}

/// What takes the secrets of the plugin in `dir` out of text about it that atk repeats (a diff
/// of its files, a program's words, a status line): its `.env`'s secrets ([`secrets`]: declared,
/// named like one, taking one in by `${NAME}`, or not declared at all; every value when the
/// plugin cannot be loaded), and `environment`'s (the values of atk's own environment that are
/// named like secrets). `outer` is that environment, for `${VAR}` in `.env` values.
pub fn scrubber_of(dir: &Path, outer: env::Outer, environment: &[String]) -> secret::Scrubber {
    scrubber_with(dir, load(dir).ok().as_ref(), outer, environment)
}

/// [`scrubber_of`] for a plugin its caller loaded already (`None`: it could not be).
pub fn scrubber_with(
    dir: &Path,
    plugin: Option<&Plugin>,
    outer: env::Outer,
    environment: &[String],
) -> secret::Scrubber {
    let file = env::EnvFile::read(&dir.join(".env"), outer);
    let secrets = file.map(|f| secrets(plugin, &f)).unwrap_or_default();
    secrets.scrubber(environment)
}

/// What `atk validate` finds at one path: the plugin, the folder name it gets, and (for a plugin
/// folder; a `plugin.yaml` named alone is checked alone) its data declaration's problems and its
/// `SKILL.md`'s warnings.
pub struct PathCheck {
    pub plugin: Plugin,
    pub directory: String,
    pub problems: Vec<String>,
    pub warnings: Vec<skill::Warning>,
}

/// Checks the plugin folder or `plugin.yaml` at `path` as a plugin author would: an error when
/// its definition is invalid (or nothing is there), else what [`PathCheck`] lists.
pub fn check_path(path: &Path) -> Result<PathCheck> {
    let plugin = if path.is_dir() {
        load(path)?
    } else if path.is_file() {
        load_file(path)?
    } else {
        return Err(Error::PluginInvalid {
            what: path.display().to_string(),
            problems: vec!["no such file or folder".into()],
        });
    };
    let directory = directory_for(&plugin, path)?;
    let (problems, warnings) = if path.is_dir() {
        (data::check(path), skill::check(path, &directory, &plugin.description))
    } else {
        (vec![], vec![])
    };
    Ok(PathCheck { plugin, directory, problems, warnings })
}

/// The name of a plugin's README, beside its plugin.yaml.
pub const README: &str = "README.md";

/// The README of the plugin in `dir`, if it has one: links inside the folder are followed (a
/// README may link to docs/README.md), a link out of it, a special file, a file too big or not
/// UTF-8 is an error that names it.
pub fn readme(dir: &Path) -> Result<Option<String>> {
    let root = Root::open(dir)?;
    let bytes = root.read_inside(&RelPath::new(README).expect("a plain name"), Cap::Readme)?;
    bytes.map(|b| crate::fs::read::utf8(b, &dir.join(README), Cap::Readme)).transpose()
}

/// Loads the plugin of a folder, with its `custom/overrides.yaml` merged in, and validates it.
pub fn load(dir: &Path) -> Result<Plugin> {
    load_read(dir).map(|(plugin, _)| plugin)
}

/// A file read to load a plugin: its path relative to the plugin folder, and its bytes.
pub type FileRead = (PathBuf, Vec<u8>);

/// [`load`], and the files it read with their bytes (paths relative to `dir`): the definition, and
/// `custom/overrides.yaml` when there is one. A caller that copies the folder can check that the
/// copy holds exactly what was validated. Both are read as `fs::read` says, following only links
/// that stay inside `dir`.
pub fn load_read(dir: &Path) -> Result<(Plugin, Vec<FileRead>)> {
    let none = || Error::PluginInvalid {
        what: dir.display().to_string(),
        problems: vec!["no plugin.yaml or plugin.yml in this folder".into()],
    };
    let file = definition_file(dir).ok_or_else(none)?;
    let root = Root::open(dir)?;
    let rel = |p: &Path| RelPath::new(&p.strip_prefix(dir).unwrap_or(p).to_string_lossy());
    let mut read = Vec::new();
    let bytes = root.read_inside(&rel(&file).map_err(|_| none())?, Cap::Definition)?.ok_or_else(none)?;
    let mut doc = parse_yaml(&bytes, &file.display().to_string())?;
    read.push((file.strip_prefix(dir).unwrap_or(&file).to_path_buf(), bytes));
    let overrides = RelPath::new(OVERRIDES).expect("a plain path");
    if let Some(bytes) = root.read_inside(&overrides, Cap::Definition)? {
        let over = parse_yaml(&bytes, &dir.join(OVERRIDES).display().to_string())?;
        read.push((PathBuf::from(OVERRIDES), bytes));
        if let over @ Value::Mapping(_) = over {
            merge(&mut doc, over);
        }
    }
    validate(&file, &doc).map(|plugin| (plugin, read))
}

/// Another version of a plugin (its definition `bytes`, named `what`) as the user would have it:
/// with the `custom/overrides.yaml` of the plugin installed in `dir` applied, as [`load`] applies it.
pub fn with_overrides_of(bytes: &[u8], what: &str, dir: &Path) -> Result<Plugin> {
    let mut doc = parse_yaml(bytes, what)?;
    let overrides = RelPath::new(OVERRIDES).expect("a plain path");
    if let Ok(root) = Root::open(dir) {
        if let Some(over) = root.read_inside(&overrides, Cap::Definition)? {
            if let over @ Value::Mapping(_) = parse_yaml(&over, &dir.join(OVERRIDES).display().to_string())? {
                merge(&mut doc, over);
            }
        }
    }
    validate(Path::new(what), &doc)
}

/// The compose file of `plugin`: `service.compose_file`, else the first of docker compose's own
/// default names that its folder has (`exists`): `compose.yaml`, `compose.yml`,
/// `docker-compose.yaml`, `docker-compose.yml`; else `docker-compose.yml`.
pub fn compose_file_of(plugin: &Plugin, exists: impl Fn(&str) -> bool) -> &str {
    if let Some(f) = plugin.service.as_ref().and_then(|s| s.compose_file.as_deref()) {
        return f;
    }
    ["compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"]
        .into_iter()
        .find(|f| exists(f))
        .unwrap_or("docker-compose.yml")
}

/// Whether the plugin's service is run by docker compose: its type says so, or it names a
/// compose file, or a lifecycle command runs `docker compose`.
pub fn uses_compose(plugin: &Plugin) -> bool {
    let service = plugin.service.as_ref();
    service.is_some_and(|s| s.kind == "docker-compose" || s.compose_file.is_some())
        || crate::plugin::schema::Lifecycle::STEPS.iter().any(|s| {
            plugin.lifecycle.get(s).is_some_and(|c| c.contains("docker compose") || c.contains("docker-compose"))
        })
}

/// The text of the file `rel` of the plugin folder `dir`, when it is a regular file atk may read.
pub fn text_of(dir: &Path, rel: &str) -> Option<String> {
    let rel = crate::fs::RelPath::new(rel).ok()?;
    crate::fs::read::read_text(
        &dir.join(rel.as_str()),
        crate::fs::read::Links::Refuse,
        crate::fs::read::Cap::PluginFile,
    )
    .ok()?
}

/// The folder name under `plugins/` for a plugin: its sanitized display name.
pub fn directory_for(plugin: &Plugin, what: &Path) -> Result<String> {
    name::sanitize(&plugin.name).map_err(|why| Error::PluginInvalid {
        what: what.display().to_string(),
        problems: vec![format!("name: {why}")],
    })
}

/// Loads a single `plugin.yaml` file (no overrides).
pub fn load_file(file: &Path) -> Result<Plugin> {
    let doc = read_yaml(file)?;
    validate(file, &doc)
}

fn validate(file: &Path, doc: &Value) -> Result<Plugin> {
    schema::validate(doc).map_err(|problems| Error::PluginInvalid { what: file.display().to_string(), problems })
}

/// Parses and validates `plugin.yaml` content (as found in git, with no overrides).
pub fn parse_bytes(bytes: &[u8], what: &str) -> Result<Plugin> {
    let doc: Value = yaml_serde::from_slice(bytes)
        .map_err(|e| Error::PluginInvalid { what: what.to_string(), problems: vec![format!("not valid YAML: {e}")] })?;
    schema::validate(&doc).map_err(|problems| Error::PluginInvalid { what: what.to_string(), problems })
}

/// Parses a YAML file named by the user (a link there is followed: the user named it); a syntax
/// error names the file, line and column.
pub fn read_yaml(file: &Path) -> Result<Value> {
    let bytes = crate::fs::read(file, Links::Follow, Cap::Definition)?
        .ok_or_else(|| Error::io(format!("cannot read {}", file.display()), std::io::ErrorKind::NotFound.into()))?;
    parse_yaml(&bytes, &file.display().to_string())
}

/// Parses YAML text of `what` (a file's name, for messages): not empty, valid UTF-8 and YAML.
pub fn parse_yaml(bytes: &[u8], what: &str) -> Result<Value> {
    // As reading a file into a string says it.
    let text = std::str::from_utf8(bytes).map_err(|_| {
        Error::io(
            format!("cannot read {what}"),
            std::io::Error::new(std::io::ErrorKind::InvalidData, "stream did not contain valid UTF-8"),
        )
    })?;
    let doc: Value = yaml_serde::from_str(text)
        .map_err(|e| Error::PluginInvalid { what: what.to_string(), problems: vec![format!("not valid YAML: {e}")] })?;
    if doc.is_null() {
        return Err(Error::PluginInvalid { what: what.to_string(), problems: vec!["the file is empty".into()] });
    }
    Ok(doc)
}

/// Deep merge: mappings merge key by key (the override wins), anything else is replaced whole.
pub fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Mapping(b), Value::Mapping(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

/// Problems with the files a plugin's lifecycle commands run: a file run directly (`./install.sh`)
/// must exist and be executable; a file given to an interpreter (`bash ./x.sh`, `python3 run.py`)
/// must exist. Each problem names the step.
pub fn check_lifecycle_files(dir: &Path, plugin: &Plugin) -> Vec<String> {
    const INTERPRETERS: [&str; 9] = ["sh", "bash", "zsh", "python", "python3", "node", "ruby", "perl", "deno"];
    let mut problems = Vec::new();
    for step in schema::Lifecycle::STEPS {
        let Some(cmd) = plugin.lifecycle.get(step) else { continue };
        for simple in cmd.split(['&', '|', ';', '\n']).map(str::trim).filter(|c| !c.is_empty()) {
            let words: Vec<&str> = simple
                .split_whitespace()
                .map(|w| w.trim_matches(['"', '\'']))
                .skip_while(|w| w.contains('='))
                .collect();
            let Some(first) = words.first() else { continue };
            let (file, direct) = if first.starts_with("./") {
                (*first, true)
            } else if INTERPRETERS.contains(first) {
                match words.iter().skip(1).find(|w| !w.starts_with('-')) {
                    Some(w) if w.starts_with("./") || (!w.contains('$') && !w.starts_with('/') && w.contains('.')) => {
                        (*w, false)
                    }
                    _ => continue,
                }
            } else {
                continue;
            };
            let rel = file.trim_start_matches("./");
            if rel.is_empty() || crate::fs::RelPath::new(rel).is_err() {
                continue;
            }
            let path = dir.join(rel);
            if !path.is_file() {
                problems.push(format!("lifecycle.{step}: runs {file}, which is not in the plugin folder"));
            } else if direct {
                use std::os::unix::fs::PermissionsExt;
                let executable = std::fs::metadata(&path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0);
                if !executable {
                    problems.push(format!(
                        "lifecycle.{step}: runs {file} directly, but it is not executable (chmod +x {rel})"
                    ));
                }
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_maps_recursively_and_replaces_lists_and_scalars() {
        let mut base: Value = yaml_serde::from_str("a: {x: 1, y: [1, 2]}\nb: 1\nc: keep").unwrap();
        let over: Value = yaml_serde::from_str("a: {y: [3], z: new}\nb: {now: map}").unwrap();
        merge(&mut base, over);
        let want: Value = yaml_serde::from_str("a: {x: 1, y: [3], z: new}\nb: {now: map}\nc: keep").unwrap();
        assert_eq!(base, want);
    }
}
