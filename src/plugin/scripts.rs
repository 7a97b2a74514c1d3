//! `atk run`: a plugin's scripts. A name resolves to the first of `custom/<s>`, `custom/<s>.sh`,
//! `<s>`, `<s>.sh` in the plugin folder (so `custom/` overrides what the plugin ships), and the file
//! it names must stay inside the plugin folder once every link is resolved.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};

/// A script of a plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Script {
    /// What to type after `atk run PLUGIN`.
    pub name: String,
    /// The file, relative to the plugin folder (`custom/backup.sh`).
    pub path: String,
    /// `custom` (the user's) or `plugin` (shipped with the plugin).
    pub origin: &'static str,
    /// The plugin's own scripts this one hides (`backup.sh` under `custom/backup.sh`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
}

/// The file `script` names in `plugin_dir` (absolute, links resolved) and its path relative to
/// the folder as written. Refused: a script outside the folder (through `..`, an absolute path or
/// a link: an unsafe path, exit 5), one that is not executable or a link to nothing (exit 5), an
/// empty name or no such script (a usage error, exit 2).
pub fn resolve(plugin_dir: &Path, script: &str) -> Result<(PathBuf, String)> {
    if script.is_empty() || script.contains('\0') {
        return Err(Error::usage("the script name is empty", None));
    }
    if Path::new(script).is_absolute() {
        return Err(Error::unsafe_path(
            format!(
                "'{}' is an absolute path; `atk run` runs only scripts of the plugin folder",
                crate::text::escape(script)
            ),
            vec!["`atk run PLUGIN` lists the plugin's scripts".into()],
        ));
    }
    let root =
        std::fs::canonicalize(plugin_dir).map_err(|e| Error::io(format!("cannot read {}", plugin_dir.display()), e))?;
    let candidates =
        [format!("custom/{script}"), format!("custom/{script}.sh"), script.to_string(), format!("{script}.sh")];
    for rel in candidates {
        let path = plugin_dir.join(&rel);
        let Ok(md) = std::fs::symlink_metadata(&path) else { continue };
        let real = match std::fs::canonicalize(&path) {
            Ok(real) => real,
            Err(_) if md.file_type().is_symlink() => {
                return Err(Error::plugin_refused(
                    format!("{rel} is a link that leads nowhere"),
                    vec!["`atk run PLUGIN` lists the plugin's scripts".into()],
                ))
            }
            Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
        };
        if !real.starts_with(&root) {
            return Err(Error::unsafe_path(
                format!(
                    "'{}' resolves to {}, outside the plugin folder; `atk run` runs only the plugin's own scripts",
                    crate::text::escape(script),
                    real.display()
                ),
                vec!["`atk run PLUGIN` lists the plugin's scripts".into()],
            ));
        }
        let Ok(md) = std::fs::metadata(&real) else { continue };
        if md.is_dir() {
            continue;
        }
        if md.permissions().mode() & 0o111 == 0 {
            return Err(Error::plugin_refused(
                format!("{rel} is not executable"),
                vec![format!(
                    "make it executable (`chmod +x {}`), with a #! line naming its interpreter",
                    real.display()
                )],
            ));
        }
        return Ok((real, rel));
    }
    Err(Error::usage(
        format!(
            "the plugin has no script '{}' (looked for custom/{0}, custom/{0}.sh, {0} and {0}.sh)",
            crate::text::escape(script)
        ),
        Some("`atk run PLUGIN` lists the plugin's scripts".into()),
    ))
}

/// The executable files at the top of `custom/` and of the plugin folder that [`resolve`] would
/// run, each under the shortest name that reaches it; a plugin script hidden by one of `custom/`
/// is listed under the one that hides it.
pub fn list(plugin_dir: &Path) -> Result<Vec<Script>> {
    let mut files = Vec::new();
    for (sub, origin) in [("custom", "custom"), ("", "plugin")] {
        let dir = if sub.is_empty() { plugin_dir.to_path_buf() } else { plugin_dir.join(sub) };
        let Ok(read) = std::fs::read_dir(&dir) else { continue };
        let mut names: Vec<String> =
            read.filter_map(|e| e.ok()).filter_map(|e| e.file_name().into_string().ok()).collect();
        names.sort();
        for name in names {
            let rel = if sub.is_empty() { name.clone() } else { format!("{sub}/{name}") };
            let executable_file = std::fs::metadata(plugin_dir.join(&rel))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
            if executable_file {
                files.push((name, rel, origin));
            }
        }
    }
    let mut scripts: Vec<Script> = Vec::new();
    for (file, rel, origin) in files {
        let short = file.strip_suffix(".sh").filter(|s| !s.is_empty()).unwrap_or(&file).to_string();
        let reaches = |name: &str| resolve(plugin_dir, name).ok().is_some_and(|(_, r)| r == rel);
        if reaches(&short) {
            scripts.push(Script { name: short, path: rel, origin, overrides: vec![] });
        } else if reaches(&file) {
            scripts.push(Script { name: file, path: rel, origin, overrides: vec![] });
        } else if let Ok((_, winner)) = resolve(plugin_dir, &short) {
            if let Some(s) = scripts.iter_mut().find(|s| s.path == winner) {
                s.overrides.push(rel);
            }
        }
    }
    Ok(scripts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &Path, rel: &str, exec: bool) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(if exec { 0o755 } else { 0o644 })).unwrap();
    }

    #[test]
    fn custom_comes_first_then_the_plugin_and_sh_is_optional() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("p");
        file(&d, "backup.sh", true);
        file(&d, "seed", true);
        file(&d, "custom/backup.sh", true);
        file(&d, "notes.txt", false);
        assert_eq!(resolve(&d, "backup").unwrap().1, "custom/backup.sh");
        assert_eq!(resolve(&d, "seed").unwrap().1, "seed");
        assert_eq!(resolve(&d, "seed.sh").unwrap_err().exit_code(), crate::error::exit::USAGE, "no such script");
        assert_eq!(resolve(&d, "notes.txt").unwrap_err().exit_code(), 5);
        let listed = list(&d).unwrap();
        assert_eq!(
            listed,
            vec![
                Script {
                    name: "backup".into(),
                    path: "custom/backup.sh".into(),
                    origin: "custom",
                    overrides: vec!["backup.sh".into()]
                },
                Script { name: "seed".into(), path: "seed".into(), origin: "plugin", overrides: vec![] },
            ]
        );
    }

    #[test]
    fn nothing_outside_the_folder_is_run() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("p");
        file(t.path(), "evil.sh", true);
        file(&d, "ok.sh", true);
        std::os::unix::fs::symlink("../evil.sh", d.join("link.sh")).unwrap();
        std::os::unix::fs::symlink(t.path().join("evil.sh"), d.join("abs")).unwrap();
        // So that `custom/../../evil` leads somewhere (to evil.sh), not to no script at all.
        std::fs::create_dir_all(d.join("custom")).unwrap();
        for bad in ["../evil", "../evil.sh", "link", "abs", "/bin/sh", "custom/../../evil"] {
            let e = resolve(&d, bad).unwrap_err();
            assert_eq!(e.exit_code(), 5, "{bad}: {e}");
        }
        assert_eq!(resolve(&d, "./ok").unwrap().1, "./ok.sh");
        assert_eq!(list(&d).unwrap().iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["ok"]);
    }
}
