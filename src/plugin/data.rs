//! What a plugin's data is: the files and folders inside its folder, the docker volumes and the
//! `backup`/`restore` scripts that `atk backup` and `atk restore` take and give back.
//!
//! # The form: `atk-data.yaml`, next to `plugin.yaml`
//!
//! A plugin declares its data in its own file, [`FILE`] (`atk-data.yaml`) beside its definition,
//! and not in `plugin.yaml`. atk-cli 0.4.0 validates `plugin.yaml` with pydantic models that forbid
//! extra fields at every level: a top-level `data:` key, an `x-atk-data:` key and `backup:` or
//! `restore:` under `lifecycle` each make it refuse the plugin ("extra inputs are not permitted"),
//! so a plugin declaring data there could no longer be added by atk-cli at all. atk-cli reads no
//! other file of a plugin folder but `custom/overrides.yaml` (which it merges into the definition
//! and validates the same way, so that is no place either) and the README; it copies the rest as
//! it is. A file of its own therefore keeps the plugin valid for both tools, and carries the
//! declaration wherever the plugin folder goes (a registry, a git source's `.atk/`, a home).
//!
//! A user may declare (or redeclare) a plugin's data in `custom/atk-data.yaml`: as with `atk
//! run`'s scripts, `custom/` comes first, and the whole file replaces the plugin's.
//!
//! ```yaml
//! paths: [data, config/settings.json]   # inside the plugin folder: files or folders
//! volumes: [openmemory_data, "${OPENMEMORY_VOLUME_NAME}"]  # docker volumes, by name
//! stop: true          # stop the plugin for a consistent copy (started again afterwards)
//! scripts: true       # its own `backup` and `restore` scripts do the work
//! ```
//!
//! Paths are [`RelPath`]s (no `..`, nothing absolute, no `.git`; a trailing `/` is allowed); a
//! link among them is taken as a link, never followed, and one that leads out of the plugin folder
//! is left out. With `scripts: true`, the scripts are found as `atk run` finds them
//! ([`super::scripts::resolve`]: `custom/backup`, `custom/backup.sh`, `backup`, `backup.sh`), and
//! atk runs them with the lifecycle environment plus [`BACKUP_DIR_VAR`], an empty folder the backup
//! script writes into and the restore script reads from. Files named like secrets
//! ([`super::secret::is_secret_file`]: a `.env`) are left out of a backup unless asked.

use std::path::{Path, PathBuf};

use serde::Serialize;
use yaml_serde::Value;

use crate::error::{Error, Result};
use crate::fs::{Cap, Kind, RelPath, Root};

/// The declaration's file, next to `plugin.yaml`.
pub const FILE: &str = "atk-data.yaml";
/// The user's declaration, which replaces the plugin's.
pub const CUSTOM_FILE: &str = "custom/atk-data.yaml";
/// The variable that names, for the `backup` and `restore` scripts, the folder they write into
/// and read from.
pub const BACKUP_DIR_VAR: &str = "ATK_BACKUP_DIR";
/// The names of the scripts, as `atk run` takes them.
pub const BACKUP_SCRIPT: &str = "backup";
pub const RESTORE_SCRIPT: &str = "restore";

/// At most this many paths or volumes: a declaration names a handful.
const MOST_ENTRIES: usize = 256;
/// At most this many bytes in one path or volume name.
const LONGEST_ENTRY: usize = 1024;
const KEYS: [&str; 4] = ["paths", "volumes", "stop", "scripts"];

/// A docker volume the plugin keeps data in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Volume {
    /// Its name, as `docker volume ls` shows it.
    Named(String),
    /// `${VAR}`: the name is the value of the plugin's variable `VAR` (its `.env`, else its
    /// default), looked up when the backup runs.
    FromVariable(String),
}

impl Volume {
    /// The volume's name, `lookup` giving a variable's value for [`Volume::FromVariable`]; the
    /// value must be a valid volume name.
    pub fn name(&self, lookup: impl Fn(&str) -> Option<String>) -> Result<String> {
        match self {
            Volume::Named(n) => Ok(n.clone()),
            Volume::FromVariable(var) => {
                let hint = || vec![format!("give {var} a value in the plugin's .env")];
                let value = lookup(var).filter(|v| !v.is_empty()).ok_or_else(|| {
                    Error::plugin_refused(
                        format!("{FILE}: volumes: ${{{var}}} names a volume, but {var} has no value"),
                        hint(),
                    )
                })?;
                match volume_name_problem(&value) {
                    None => Ok(value),
                    Some(why) => Err(Error::plugin_refused(
                        format!("{FILE}: volumes: ${{{var}}} is '{}', which {why}", crate::text::escape(&value)),
                        hint(),
                    )),
                }
            }
        }
    }
}

/// A plugin's data, as it declares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataSpec {
    /// The file it was read from, relative to the plugin folder ([`FILE`] or [`CUSTOM_FILE`]).
    pub file: String,
    /// Files and folders inside the plugin folder.
    pub paths: Vec<RelPath>,
    pub volumes: Vec<Volume>,
    /// Whether the plugin must be stopped for a consistent copy.
    pub stop: bool,
    /// Whether its own `backup` and `restore` scripts take and give back its data.
    pub scripts: bool,
}

/// The plugin's `backup` and `restore` scripts: each the absolute file (links resolved) and its
/// path relative to the plugin folder, as [`super::scripts::resolve`] gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataScripts {
    pub backup: (PathBuf, String),
    pub restore: (PathBuf, String),
}

/// One thing a backup takes, below the plugin folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataEntry {
    pub path: RelPath,
    #[serde(flatten)]
    pub kind: EntryKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EntryKind {
    /// A regular file: its size and mode bits when listed.
    File { size: u64, mode: u32 },
    /// A folder (so that an empty one and its mode come back too).
    Dir { mode: u32 },
    /// A link that stays inside the plugin folder, taken as a link: its target as written.
    Link { target: PathBuf },
}

/// Why something under a declared path is not taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum LeftOutWhy {
    /// Named like a secret (a `.env`), and secrets were not asked for.
    Secret,
    /// A link that leads out of the plugin folder: its target as written.
    LinkOut { target: PathBuf },
    /// A FIFO, a socket or a device.
    Special,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftOut {
    pub path: RelPath,
    #[serde(flatten)]
    pub why: LeftOutWhy,
}

/// What a backup of the declared paths would take, as things are now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DataFiles {
    /// Sorted by path, each once (a folder before what is in it).
    pub entries: Vec<DataEntry>,
    pub left_out: Vec<LeftOut>,
    /// Declared paths with nothing there (yet: data a plugin writes when it runs).
    pub missing: Vec<RelPath>,
}

impl DataSpec {
    /// The declaration of the plugin in `plugin_dir`: `custom/atk-data.yaml`, else `atk-data.yaml`
    /// (`None`: neither is there). Read as [`Root::read_inside`] reads a definition (bounded, links
    /// only inside the folder); anything but a mapping of the known fields, with paths and volume
    /// names that pass, is refused, each problem a line naming its field.
    pub fn load(plugin_dir: &Path) -> Result<Option<DataSpec>> {
        let root = Root::open(plugin_dir)?;
        for file in [CUSTOM_FILE, FILE] {
            let rel = RelPath::new(file).expect("a plain path");
            if let Some(bytes) = root.read_inside(&rel, Cap::Definition)? {
                let what = plugin_dir.join(file).display().to_string();
                return DataSpec::parse(&bytes, &what, file).map(Some);
            }
        }
        Ok(None)
    }

    /// Parses a declaration's bytes; `what` names it in messages, `file` is kept as [`DataSpec::file`].
    pub fn parse(bytes: &[u8], what: &str, file: &str) -> Result<DataSpec> {
        let doc = super::parse_yaml(bytes, what)?;
        DataSpec::from_value(&doc, file).map_err(|problems| Error::PluginInvalid {
            what: what.to_string(),
            problems: problems.into_iter().map(|p| format!("{file}: {p}")).collect(),
        })
    }

    fn from_value(doc: &Value, file: &str) -> std::result::Result<DataSpec, Vec<String>> {
        let mut problems = Vec::new();
        let Value::Mapping(map) = doc else {
            return Err(vec![format!(
                "expected a mapping of {}, found {}",
                KEYS.join(", "),
                super::schema::type_name(doc)
            )]);
        };
        for k in map.keys() {
            match k.as_str() {
                Some(k) if KEYS.contains(&k) => {}
                Some(k) => problems.push(format!(
                    "{}: unknown field (allowed: {})",
                    crate::text::escape(&truncated(k)),
                    KEYS.join(", ")
                )),
                None => problems.push(format!("field names must be strings, found {}", super::schema::type_name(k))),
            }
        }
        let mut spec = DataSpec { file: file.to_string(), paths: vec![], volumes: vec![], stop: false, scripts: false };
        for (i, s) in strings(map.get("paths"), "paths", &mut problems).into_iter().enumerate() {
            let trimmed = s.strip_suffix('/').unwrap_or(&s);
            match RelPath::new(trimmed) {
                _ if trimmed.is_empty() || trimmed == "." => problems
                    .push(format!("paths[{i}]: the plugin folder itself; name the files or folders that hold data")),
                Ok(p) if spec.paths.contains(&p) => problems.push(format!("paths[{i}]: '{p}' is named twice")),
                Ok(p) if definition(&p) => problems.push(format!(
                    "paths[{i}]: '{p}' is part of what the plugin is (its definition, the user's custom/), not its data"
                )),
                Ok(p) => spec.paths.push(p),
                Err(e) => problems.push(format!("paths[{i}]: {e}")),
            }
        }
        for (i, s) in strings(map.get("volumes"), "volumes", &mut problems).into_iter().enumerate() {
            let shown = crate::text::escape(&s).into_owned();
            let volume = match s.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
                Some(var) if is_variable_name(var) => Volume::FromVariable(var.to_string()),
                Some(_) => {
                    problems.push(format!("volumes[{i}]: '{shown}' is not ${{NAME}} of a variable"));
                    continue;
                }
                None => match volume_name_problem(&s) {
                    None => Volume::Named(s),
                    Some(why) => {
                        problems.push(format!("volumes[{i}]: '{shown}' {why}"));
                        continue;
                    }
                },
            };
            if spec.volumes.contains(&volume) {
                problems.push(format!("volumes[{i}]: '{shown}' is named twice"));
            } else {
                spec.volumes.push(volume);
            }
        }
        spec.stop = boolean(map.get("stop"), "stop", &mut problems);
        spec.scripts = boolean(map.get("scripts"), "scripts", &mut problems);
        if spec.scripts {
            for (i, p) in spec.paths.iter().enumerate() {
                let script =
                    [BACKUP_SCRIPT, RESTORE_SCRIPT].iter().any(|s| p.as_str() == *s || p.as_str() == format!("{s}.sh"));
                if script {
                    problems.push(format!("paths[{i}]: '{p}' is the plugin's own script, not its data"));
                }
            }
        }
        if problems.is_empty() && spec.paths.is_empty() && spec.volumes.is_empty() && !spec.scripts {
            problems.push("declares no data: give paths, volumes or `scripts: true`".into());
        }
        if problems.is_empty() {
            Ok(spec)
        } else {
            Err(problems)
        }
    }

    /// The plugin's `backup` and `restore` scripts, found as `atk run` finds them; an error when
    /// either is missing, not executable, or outside the folder. `None` without `scripts: true`.
    pub fn scripts(&self, plugin_dir: &Path) -> Result<Option<DataScripts>> {
        if !self.scripts {
            return Ok(None);
        }
        let backup = super::scripts::resolve(plugin_dir, BACKUP_SCRIPT)?;
        let restore = super::scripts::resolve(plugin_dir, RESTORE_SCRIPT)?;
        // A restore puts the data in place, then runs the restore script: one that lives in the
        // data (through a link) would be replaced by the backup's before it runs.
        let real_dir = std::fs::canonicalize(plugin_dir).unwrap_or_else(|_| plugin_dir.to_path_buf());
        for (real, shown) in [&backup, &restore] {
            let Some(rel) = real.strip_prefix(&real_dir).ok().and_then(|r| RelPath::new(r.to_str()?).ok()) else {
                continue;
            };
            if let Some(p) = self.paths.iter().find(|p| rel.starts_with(p)) {
                return Err(Error::plugin_refused(
                    format!("{}: the script {shown} is {rel}, inside the data path '{p}'", self.file),
                    vec!["keep the backup and restore scripts out of the data it declares".into()],
                ));
            }
        }
        Ok(Some(DataScripts { backup, restore }))
    }

    /// What is wrong with the declaration in the plugin folder `plugin_dir`, for `atk validate`:
    /// the scripts it promises are missing or cannot run; a declared path passes through a link,
    /// is a link out of the folder, or is not a file or folder. A declared path with nothing there
    /// is fine (a plugin writes its data when it runs).
    pub fn problems(&self, plugin_dir: &Path) -> Vec<String> {
        let mut problems = Vec::new();
        if self.scripts {
            for name in [BACKUP_SCRIPT, RESTORE_SCRIPT] {
                if let Err(e) = super::scripts::resolve(plugin_dir, name) {
                    problems.push(format!("{}: scripts: {e}", self.file));
                }
            }
        }
        let root = match Root::open(plugin_dir) {
            Ok(root) => root,
            Err(e) => return [problems, vec![e.to_string()]].concat(),
        };
        for (i, p) in self.paths.iter().enumerate() {
            let field = format!("{}: paths[{i}] '{p}'", self.file);
            match root.kind(p) {
                Ok(None) | Ok(Some(Kind::Dir | Kind::File { .. })) => {}
                Ok(Some(Kind::Link)) => match root.read_link(p) {
                    Ok(target) if root.link_escapes(p, &target) => problems.push(format!(
                        "{field} is a link to {}, out of the plugin folder; atk does not follow it",
                        target.display()
                    )),
                    Ok(_) => {}
                    Err(e) => problems.push(format!("{field}: {e}")),
                },
                Ok(Some(Kind::Other)) => problems.push(format!("{field} is a FIFO, a socket or a device")),
                Err(Error::UnsafePath { .. }) => {
                    problems.push(format!("{field} passes through a link; name the folder itself"))
                }
                Err(e) => problems.push(format!("{field}: {e}")),
            }
        }
        problems
    }

    /// Everything under the declared paths a backup would take, walking them without following a
    /// link: a link that stays inside the plugin folder is taken as a link, one that leads out is
    /// left out, as are FIFOs, sockets and devices, and (unless `include_secrets`) files named
    /// like secrets. A declared path that passes through a link is refused.
    pub fn files(&self, plugin_dir: &Path, include_secrets: bool) -> Result<DataFiles> {
        let root = Root::open(plugin_dir)?;
        let mut out = DataFiles::default();
        for p in &self.paths {
            match root.kind(p) {
                Ok(None) => out.missing.push(p.clone()),
                Ok(Some(kind)) => take(&root, p, kind, include_secrets, &mut out)?,
                Err(e @ Error::Io { .. }) => return Err(e),
                Err(_) => {
                    return Err(Error::unsafe_path(
                        format!("{}: the data path '{p}' passes through a link; atk does not follow it", self.file),
                        vec![format!("name the folder itself in {}", self.file)],
                    ))
                }
            }
        }
        out.entries.sort_by(|a, b| a.path.cmp(&b.path));
        out.entries.dedup_by(|a, b| a.path == b.path);
        out.left_out.sort_by(|a, b| a.path.cmp(&b.path));
        out.left_out.dedup_by(|a, b| a.path == b.path);
        Ok(out)
    }
}

/// What is wrong with the data the plugin in `plugin_dir` declares, for `atk validate` and
/// `atk registry validate`: the declaration's refusal ([`DataSpec::load`]) or its
/// [`DataSpec::problems`]; nothing when it declares none.
pub fn check(plugin_dir: &Path) -> Vec<String> {
    match DataSpec::load(plugin_dir) {
        Ok(None) => vec![],
        Ok(Some(spec)) => spec.problems(plugin_dir),
        Err(Error::PluginInvalid { problems, .. }) => problems,
        Err(other) => vec![other.to_string()],
    }
}

/// Takes `top` (of `kind`) and, for a folder, everything in it: walked with a list of what is
/// left to see, not by recursion, so that a tree nested however deep cannot exhaust the stack.
fn take(root: &Root, top: &RelPath, kind: Kind, secrets: bool, out: &mut DataFiles) -> Result<()> {
    let mut pending = vec![(top.clone(), kind)];
    while let Some((rel, kind)) = pending.pop() {
        crate::error::check_interrupt()?;
        let left_out = |why| LeftOut { path: rel.clone(), why };
        match kind {
            Kind::Dir => {
                out.entries.push(DataEntry { path: rel.clone(), kind: EntryKind::Dir { mode: root.mode(&rel)? } });
                for (name, kind) in root.entries(&rel)? {
                    pending.push((rel.join(&name).expect("entries are checked names"), kind));
                }
            }
            _ if !secrets && super::secret::is_secret_file(rel.name()) => {
                out.left_out.push(left_out(LeftOutWhy::Secret))
            }
            Kind::File { .. } => {
                // The folders on the way were just listed through the root, without links.
                let md = std::fs::symlink_metadata(root.abs(&rel))
                    .map_err(|e| Error::io(format!("cannot read {}", root.abs(&rel).display()), e))?;
                use std::os::unix::fs::PermissionsExt;
                let kind = EntryKind::File { size: md.len(), mode: md.permissions().mode() & 0o7777 };
                out.entries.push(DataEntry { path: rel.clone(), kind });
            }
            Kind::Link => {
                let target = root.read_link(&rel)?;
                if root.link_escapes(&rel, &target) {
                    out.left_out.push(left_out(LeftOutWhy::LinkOut { target }));
                } else {
                    out.entries.push(DataEntry { path: rel.clone(), kind: EntryKind::Link { target } });
                }
            }
            Kind::Other => out.left_out.push(left_out(LeftOutWhy::Special)),
        }
    }
    Ok(())
}

/// Whether the declared path `p` is (or holds) what makes the plugin what it is: its
/// `plugin.yaml`, this declaration, or the user's `custom/` (overrides, scripts, their own
/// declaration). A restore replaces the data; it must never replace the commands atk runs next.
fn definition(p: &RelPath) -> bool {
    let first = p.components().next().unwrap_or_default();
    first == "custom" || ["plugin.yaml", "plugin.yml", FILE].contains(&p.as_str())
}

/// Why `name` is not a docker volume name (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`, as docker checks it).
fn volume_name_problem(name: &str) -> Option<&'static str> {
    let mut chars = name.chars();
    if name.len() > LONGEST_ENTRY {
        Some("is too long to be a docker volume name")
    } else if name.len() < 2 {
        Some("is not a docker volume name (two characters at least)")
    } else if !chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        || !chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    {
        Some("is not a docker volume name (letters, digits, _ . and -; a letter or digit first)")
    } else {
        None
    }
}

fn is_variable_name(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The strings of the list at `field` (missing: none); each problem names its item.
fn strings(v: Option<&Value>, field: &str, problems: &mut Vec<String>) -> Vec<String> {
    let items = match v {
        None | Some(Value::Null) => return vec![],
        Some(Value::Sequence(items)) => items,
        Some(other) => {
            problems.push(format!("{field}: expected a list of strings, found {}", super::schema::type_name(other)));
            return vec![];
        }
    };
    if items.len() > MOST_ENTRIES {
        problems.push(format!("{field}: {} entries; at most {MOST_ENTRIES}", items.len()));
        return vec![];
    }
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.as_str() {
            Some(s) if s.len() > LONGEST_ENTRY => {
                problems.push(format!("{field}[{i}]: longer than {LONGEST_ENTRY} bytes"))
            }
            Some(s) => out.push(s.to_string()),
            None => problems.push(format!("{field}[{i}]: expected a string, found {}", super::schema::type_name(item))),
        }
    }
    out
}

fn boolean(v: Option<&Value>, field: &str, problems: &mut Vec<String>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            problems.push(format!("{field}: expected true or false, found {}", super::schema::type_name(other)));
            false
        }
    }
}

fn truncated(s: &str) -> String {
    if s.chars().count() > 64 {
        format!("{}…", s.chars().take(64).collect::<String>())
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};

    fn parse(text: &str) -> std::result::Result<DataSpec, String> {
        DataSpec::parse(text.as_bytes(), "x/atk-data.yaml", FILE).map_err(|e| match e {
            Error::PluginInvalid { problems, .. } => problems.join("\n"),
            other => other.to_string(),
        })
    }

    fn write(dir: &Path, rel: &str, text: &str, exec: bool) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(if exec { 0o755 } else { 0o644 })).unwrap();
    }

    #[test]
    fn a_full_declaration() {
        let spec = parse(
            "paths: [data/, config/settings.json]\nvolumes: [openmemory_data, \"${OPENMEMORY_VOLUME_NAME}\"]\n\
             stop: true\nscripts: true\n",
        )
        .unwrap();
        assert_eq!(spec.file, FILE);
        assert_eq!(spec.paths, [RelPath::new("data").unwrap(), RelPath::new("config/settings.json").unwrap()]);
        assert_eq!(
            spec.volumes,
            [Volume::Named("openmemory_data".into()), Volume::FromVariable("OPENMEMORY_VOLUME_NAME".into())]
        );
        assert!(spec.stop && spec.scripts);
        let only = parse("volumes: [v1]\n").unwrap();
        assert!(!only.stop && !only.scripts && only.paths.is_empty());
        // A variable's value names the volume when the backup runs, and must be a volume name.
        let lookup = |v: &str| (v == "OPENMEMORY_VOLUME_NAME").then(|| "mine".to_string());
        assert_eq!(spec.volumes[1].name(lookup).unwrap(), "mine");
        assert_eq!(spec.volumes[0].name(lookup).unwrap(), "openmemory_data");
        let e = spec.volumes[1].name(|_| Some("../etc".into())).unwrap_err().to_string();
        assert!(e.contains("${OPENMEMORY_VOLUME_NAME} is '../etc'"), "{e}");
        assert!(spec.volumes[1].name(|_| None).is_err());
    }

    #[test]
    fn hostile_or_broken_declarations_are_refused_naming_the_field() {
        for (text, want) in [
            ("paths: [../outside]", "atk-data.yaml: paths[0]: '../outside' has a name that walks the folder tree"),
            ("paths: [/etc/passwd]", "paths[0]: '/etc/passwd' has an absolute path"),
            ("paths: [a/.git/config]", "paths[0]: 'a/.git/config' has the reserved name .git"),
            ("paths: [ok, 'a//b']", "paths[1]: 'a//b' has an empty name"),
            ("paths: ['.']", "paths[0]: the plugin folder itself"),
            ("paths: ['']", "paths[0]: the plugin folder itself"),
            ("paths: [db, db/]", "paths[1]: 'db' is named twice"),
            ("paths: [plugin.yaml]", "paths[0]: 'plugin.yaml' is part of what the plugin is"),
            ("paths: [atk-data.yaml]", "paths[0]: 'atk-data.yaml' is part of what the plugin is"),
            ("paths: [custom/]", "paths[0]: 'custom' is part of what the plugin is"),
            ("paths: [custom/notes.db]", "paths[0]: 'custom/notes.db' is part of what the plugin is"),
            ("paths: [restore.sh]\nscripts: true", "paths[0]: 'restore.sh' is the plugin's own script"),
            ("paths: db", "paths: expected a list of strings, found a string"),
            ("paths: [[a]]", "paths[0]: expected a string, found a list"),
            ("volumes: ['a b']", "volumes[0]: 'a b' is not a docker volume name"),
            ("volumes: ['-v']", "volumes[0]: '-v' is not a docker volume name"),
            ("volumes: [x]", "volumes[0]: 'x' is not a docker volume name (two characters at least)"),
            ("volumes: ['${A-B}']", "volumes[0]: '${A-B}' is not ${NAME} of a variable"),
            ("volumes: ['$(rm -rf ~)']", "volumes[0]: '$(rm -rf ~)' is not a docker volume name"),
            ("volumes: [vv, vv]", "volumes[1]: 'vv' is named twice"),
            ("stop: yes please", "stop: expected true or false, found a string"),
            ("scripts: 1", "scripts: expected true or false, found a number"),
            ("data: [db]", "data: unknown field (allowed: paths, volumes, stop, scripts)"),
            ("stop: true", "declares no data: give paths, volumes or `scripts: true`"),
            ("[a, b]", "expected a mapping of paths, volumes, stop, scripts, found a list"),
            ("paths: [a", "not valid YAML"),
            ("", "the file is empty"),
        ] {
            let got = parse(text).unwrap_err();
            assert!(got.contains(want), "{text:?}: {got}");
            assert!(got.lines().all(|l| !l.is_empty()), "{text:?}: {got}");
        }
        let many = format!("paths: [{}]", (0..300).map(|i| format!("p{i}")).collect::<Vec<_>>().join(", "));
        assert!(parse(&many).unwrap_err().contains("paths: 300 entries; at most 256"));
        let long = format!("paths: [{}]", "a".repeat(2000));
        assert!(parse(&long).unwrap_err().contains("paths[0]: longer than 1024 bytes"));
        // Every problem at once, one line each.
        let all = parse("paths: [../a]\nvolumes: ['!']\nextra: 1\n").unwrap_err();
        assert_eq!(all.lines().count(), 3, "{all}");
    }

    #[test]
    fn load_reads_custom_first_and_refuses_what_is_not_a_file_inside() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("p");
        std::fs::create_dir(&d).unwrap();
        assert_eq!(DataSpec::load(&d).unwrap(), None);
        write(&d, FILE, "paths: [db]\n", false);
        assert_eq!(DataSpec::load(&d).unwrap().unwrap().paths, [RelPath::new("db").unwrap()]);
        write(&d, CUSTOM_FILE, "volumes: [mine]\n", false);
        let spec = DataSpec::load(&d).unwrap().unwrap();
        assert_eq!((spec.file.as_str(), spec.paths.len()), (CUSTOM_FILE, 0));
        // A broken user's declaration names its file.
        write(&d, CUSTOM_FILE, "paths: [../../x]\n", false);
        let e = DataSpec::load(&d).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::exit::PLUGIN_INVALID);
        assert!(format!("{e:?}").contains("custom/atk-data.yaml: paths[0]"), "{e:?}");
        std::fs::remove_file(d.join(CUSTOM_FILE)).unwrap();
        // A link out of the folder, and a FIFO (never waited on).
        write(t.path(), "outside.yaml", "paths: [db]\n", false);
        std::fs::remove_file(d.join(FILE)).unwrap();
        symlink(t.path().join("outside.yaml"), d.join(FILE)).unwrap();
        assert!(DataSpec::load(&d).unwrap_err().to_string().contains("leads out of the plugin folder"));
        std::fs::remove_file(d.join(FILE)).unwrap();
        rustix::fs::mknodat(rustix::fs::CWD, d.join(FILE), rustix::fs::FileType::Fifo, 0o644.into(), 0).unwrap();
        assert!(DataSpec::load(&d).unwrap_err().to_string().contains("FIFO"));
    }

    #[test]
    fn files_walks_the_declared_paths_without_following_links_out_and_leaves_secrets_out() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("p");
        write(t.path(), "secret-outside", "x", false);
        write(&d, "data/db.sqlite", "1234", false);
        write(&d, "data/sub/run.sh", "#!/bin/sh\n", true);
        write(&d, "data/.env", "K=v\n", false);
        write(&d, "data/prod.env", "K=v\n", false);
        write(&d, "data/.env.local", "K=v\n", false);
        write(&d, "notes.txt", "not data\n", false);
        write(&d, "config.json", "{}", false);
        std::fs::create_dir_all(d.join("data/empty")).unwrap();
        symlink("../config.json", d.join("data/config-link")).unwrap();
        symlink("../../secret-outside", d.join("data/out-rel")).unwrap();
        symlink(t.path().join("secret-outside"), d.join("data/out-abs")).unwrap();
        rustix::fs::mknodat(rustix::fs::CWD, d.join("data/pipe"), rustix::fs::FileType::Fifo, 0o644.into(), 0).unwrap();
        let spec = parse("paths: [data, config.json, data/db.sqlite, later/db]\n").unwrap();
        let files = spec.files(&d, false).unwrap();
        let listed: Vec<(&str, &EntryKind)> = files.entries.iter().map(|e| (e.path.as_str(), &e.kind)).collect();
        assert_eq!(
            listed,
            [
                ("config.json", &EntryKind::File { size: 2, mode: 0o644 }),
                (
                    "data",
                    &EntryKind::Dir { mode: std::fs::metadata(d.join("data")).unwrap().permissions().mode() & 0o7777 }
                ),
                ("data/config-link", &EntryKind::Link { target: "../config.json".into() }),
                ("data/db.sqlite", &EntryKind::File { size: 4, mode: 0o644 }),
                (
                    "data/empty",
                    &EntryKind::Dir {
                        mode: std::fs::metadata(d.join("data/empty")).unwrap().permissions().mode() & 0o7777
                    }
                ),
                (
                    "data/sub",
                    &EntryKind::Dir {
                        mode: std::fs::metadata(d.join("data/sub")).unwrap().permissions().mode() & 0o7777
                    }
                ),
                ("data/sub/run.sh", &EntryKind::File { size: 10, mode: 0o755 }),
            ]
        );
        let left: Vec<(&str, &LeftOutWhy)> = files.left_out.iter().map(|l| (l.path.as_str(), &l.why)).collect();
        assert_eq!(
            left,
            [
                ("data/.env", &LeftOutWhy::Secret),
                ("data/.env.local", &LeftOutWhy::Secret),
                ("data/out-abs", &LeftOutWhy::LinkOut { target: t.path().join("secret-outside") }),
                ("data/out-rel", &LeftOutWhy::LinkOut { target: "../../secret-outside".into() }),
                ("data/pipe", &LeftOutWhy::Special),
                ("data/prod.env", &LeftOutWhy::Secret),
            ]
        );
        assert_eq!(files.missing, [RelPath::new("later/db").unwrap()]);
        // Asked for, the secrets are taken; links out and the FIFO still are not.
        let with = spec.files(&d, true).unwrap();
        assert!(with.entries.iter().any(|e| e.path.as_str() == "data/.env"));
        assert_eq!(with.entries.len(), files.entries.len() + 3);
        assert!(with.left_out.iter().all(|l| l.why != LeftOutWhy::Secret));
        // A declared path that passes through a link is refused, not followed.
        std::fs::create_dir(t.path().join("elsewhere")).unwrap();
        write(t.path(), "elsewhere/db", "x", false);
        symlink(t.path().join("elsewhere"), d.join("linked")).unwrap();
        let through = parse("paths: [linked/db]\n").unwrap();
        let e = through.files(&d, false).unwrap_err();
        assert!(e.to_string().contains("'linked/db' passes through a link"), "{e}");
        assert_eq!(e.exit_code(), crate::error::exit::PLUGIN_INVALID);
        // A declared path that is itself a link out is left out.
        let top = parse("paths: [linked]\n").unwrap().files(&d, false).unwrap();
        assert!(top.entries.is_empty());
        assert_eq!(top.left_out[0].path.as_str(), "linked");
    }

    #[test]
    fn problems_name_missing_scripts_and_paths_that_leave_the_folder() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("p");
        write(&d, "backup.sh", "#!/bin/sh\n", true);
        write(&d, "restore.sh", "#!/bin/sh\n", false);
        std::fs::create_dir(t.path().join("elsewhere")).unwrap();
        symlink(t.path().join("elsewhere"), d.join("linked")).unwrap();
        let spec = parse("paths: [linked, linked/x, not-yet]\nscripts: true\n").unwrap();
        let problems = spec.problems(&d);
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(problems[0].starts_with("atk-data.yaml: scripts: restore.sh is not executable"), "{problems:#?}");
        assert!(problems[1].contains("paths[0] 'linked' is a link to"), "{problems:#?}");
        assert!(problems[1].contains("out of the plugin folder"), "{problems:#?}");
        assert!(problems[2].contains("paths[1] 'linked/x' passes through a link"), "{problems:#?}");
        std::fs::remove_file(d.join("restore.sh")).unwrap();
        let problems = parse("scripts: true\n").unwrap().problems(&d);
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(problems[0].contains("the plugin has no script 'restore'"), "{problems:#?}");
        write(&d, "restore", "#!/bin/sh\n", true);
        assert_eq!(parse("scripts: true\npaths: [x]\n").unwrap().problems(&d), Vec::<String>::new());
        // Without `scripts: true`, no script is looked for.
        assert_eq!(parse("paths: [x]\n").unwrap().scripts(&d).unwrap(), None);
    }

    /// OpenMemory's plugin.yaml as the public registry ships it, with stand-ins for its
    /// `backup.sh` and `restore.sh` and the declaration it would add.
    fn openmemory() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/plugins/openmemory-data")
    }

    #[test]
    fn openmemorys_own_scripts_are_found_and_custom_ones_come_first() {
        let plugin = crate::plugin::load(&openmemory()).unwrap();
        assert_eq!(plugin.name, "OpenMemory");
        let spec = DataSpec::load(&openmemory()).unwrap().unwrap();
        assert!(spec.scripts && spec.stop);
        assert_eq!(spec.problems(&openmemory()), Vec::<String>::new());
        let scripts = spec.scripts(&openmemory()).unwrap().unwrap();
        assert_eq!((scripts.backup.1.as_str(), scripts.restore.1.as_str()), ("backup.sh", "restore.sh"));
        assert!(scripts.backup.0.ends_with("openmemory-data/backup.sh"));
        // A copy where the user overrides the backup script in custom/.
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("openmemory");
        for f in ["plugin.yaml", FILE, "backup.sh", "restore.sh"] {
            let text = std::fs::read_to_string(openmemory().join(f)).unwrap();
            write(&d, f, &text, f.ends_with(".sh"));
        }
        write(&d, "custom/backup.sh", "#!/bin/sh\n", true);
        let scripts = DataSpec::load(&d).unwrap().unwrap().scripts(&d).unwrap().unwrap();
        assert_eq!((scripts.backup.1.as_str(), scripts.restore.1.as_str()), ("custom/backup.sh", "restore.sh"));
    }
}
