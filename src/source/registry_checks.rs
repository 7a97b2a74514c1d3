//! The maintainers' checks of a registry checkout (`atk registry validate` and `atk registry
//! index`): every plugin folder against the rules a registry plugin must meet, and the index they
//! make.

use std::path::{Path, PathBuf};

use super::registry::{Index, IndexEntry, INDEX_FILE, INDEX_SCHEMA_VERSION};
use crate::error::{Error, Result};

/// One plugin folder of a registry checkout, checked against every rule.
pub struct Checked {
    pub name: String,
    pub description: Option<String>,
    pub problems: Vec<String>,
    /// What does not make it invalid but should be fixed (its `SKILL.md`).
    pub warnings: Vec<crate::plugin::skill::Warning>,
}

/// Checks every folder under `root/plugins/` (dot-folders ignored): a valid folder name that
/// resolves as a registry name, a valid `plugin.yaml`, a README.md, `maturity: verified` (unless
/// `allow_unverified`), lifecycle commands whose files exist (and are executable when run
/// directly), a data declaration (`atk-data.yaml`) that holds, and no two plugins with the same
/// folder name once their display names are sanitized.
pub fn check_checkout(root: &Path, allow_unverified: bool) -> Result<Vec<Checked>> {
    let plugins_dir = root.join("plugins");
    let listing = std::fs::read_dir(&plugins_dir).map_err(|_| {
        Error::plugin_refused(
            format!("{} has no plugins/ folder", root.display()),
            vec!["run it in a registry checkout, or give its path: `atk registry validate DIR`".into()],
        )
    })?;
    let mut names: Vec<String> = listing
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    let mut checked = Vec::new();
    let mut display: Vec<(String, String)> = Vec::new();
    for name in names {
        let dir = plugins_dir.join(&name);
        let mut problems = Vec::new();
        if !crate::plugin::name::is_valid_directory(&name) {
            problems.push(format!("the folder name '{name}' is not valid ({})", crate::plugin::name::DIRECTORY_RULE));
        } else if !super::is_registry_name(&name) {
            problems.push(format!("`atk add {name}` would not look '{name}' up in the registry"));
        }
        let mut description = None;
        let mut warnings = vec![];
        match crate::plugin::load(&dir) {
            Ok(p) => {
                warnings = crate::plugin::skill::check(&dir, &name, &p.description);
                if p.maturity != crate::plugin::Maturity::Verified && !allow_unverified {
                    problems.push(format!(
                        "maturity: '{}' (a registry plugin must be 'verified'; --allow-unverified for a community registry)",
                        p.maturity.as_str()
                    ));
                }
                problems.extend(crate::plugin::check_lifecycle_files(&dir, &p));
                problems.extend(crate::plugin::data::check(&dir));
                match crate::plugin::name::sanitize(&p.name) {
                    Ok(folder) => display.push((folder, name.clone())),
                    Err(why) => problems.push(format!("name: {why}")),
                }
                description = Some(p.description);
            }
            Err(Error::PluginInvalid { problems: p, .. }) => problems.extend(p),
            Err(e) => problems.push(e.to_string()),
        }
        if !dir.join("README.md").is_file() {
            problems.push("README.md is missing".into());
        }
        checked.push(Checked { name, description, problems, warnings });
    }
    for (folder, name) in &display {
        let others: Vec<&str> =
            display.iter().filter(|(f, n)| f == folder && n != name).map(|(_, n)| n.as_str()).collect();
        if !others.is_empty() {
            let c = checked.iter_mut().find(|c| &c.name == name).expect("checked");
            c.problems.push(format!(
                "its display name gives the folder name '{folder}', as the one of {} does",
                others.join(", ")
            ));
        }
    }
    Ok(checked)
}

/// The index of a checked registry.
fn index_of(checked: &[Checked]) -> Index {
    Index {
        schema_version: INDEX_SCHEMA_VERSION.into(),
        plugins: checked
            .iter()
            .map(|c| IndexEntry {
                name: c.name.clone(),
                path: format!("plugins/{}", c.name),
                description: c.description.clone().unwrap_or_default(),
            })
            .collect(),
    }
}

/// The index of the registry checkout at `dir` against the one its checked plugins make.
pub struct IndexState {
    /// `index.yaml` of the checkout (as given: relative to the current folder when `dir` is `.`).
    pub path: PathBuf,
    /// Whether the file is what the plugins make.
    pub up_to_date: bool,
    /// The lines that differ, git's way: per change, `-` the file's lines, then `+` the new ones.
    pub difference: Vec<String>,
    text: String,
}

/// Reads the index of the checkout at `dir` and compares it with what `checked` (its plugins, all
/// valid) make. A file that is absent is empty; one atk may not read (a FIFO, a link, too big) is
/// an error: a link is not followed, so what it leads to (out of the checkout of a pull request
/// that CI checks) is never printed as the difference.
pub fn index_state(dir: &Path, checked: &[Checked]) -> Result<IndexState> {
    let path = if dir == Path::new(".") { PathBuf::from(INDEX_FILE) } else { dir.join(INDEX_FILE) };
    let text = index_of(checked).to_yaml();
    let current = crate::fs::read_text(&path, crate::fs::Links::Refuse, crate::fs::Cap::State)?.unwrap_or_default();
    let difference = changed_lines(&current, &text);
    Ok(IndexState { path, up_to_date: current == text, difference, text })
}

impl IndexState {
    /// Writes the index when it is not up to date (atomically); whether it did.
    pub fn write(&self) -> Result<bool> {
        if self.up_to_date {
            return Ok(false);
        }
        crate::fs::write_atomic(&self.path, self.text.as_bytes(), None)?;
        Ok(true)
    }
}

/// The lines of `old` and `new` that differ (without their `\n`: a `\r` before it stays, so that
/// a line that differs only by its end shows how), per change the removed
/// ones (`-`) then the added ones (`+`), found by gix's histogram diff: its work grows with the
/// lines' number, not its square.
pub fn changed_lines(old: &str, new: &str) -> Vec<String> {
    use gix::diff::blob::{diff_with_slider_heuristics, Algorithm, InternedInput};
    let input = InternedInput::new(old, new);
    let diff = diff_with_slider_heuristics(Algorithm::Histogram, &input);
    let line = |mark: char, token| {
        format!("{mark}{}", input.interner[token].strip_suffix('\n').unwrap_or(input.interner[token]))
    };
    let mut out = Vec::new();
    for hunk in diff.hunks() {
        let (before, after) =
            (hunk.before.start as usize..hunk.before.end as usize, hunk.after.start as usize..hunk.after.end as usize);
        out.extend(input.before[before].iter().map(|&t| line('-', t)));
        out.extend(input.after[after].iter().map(|&t| line('+', t)));
    }
    out
}

#[cfg(test)]
mod diff_tests {
    use super::changed_lines;

    #[test]
    fn the_lines_that_differ_removed_then_added() {
        assert_eq!(changed_lines("a\nb\nc\n", "a\nx\nc\nd\n"), ["-b", "+x", "+d"]);
        assert!(changed_lines("same\n", "same\n").is_empty());
        assert_eq!(changed_lines("", "new\n"), ["+new"]);
        assert_eq!(changed_lines("a\r\nb\n", "a\r\n"), ["-b"]);
        assert_eq!(changed_lines("a\r\n", "a\n"), ["-a\r", "+a"]);
    }

    #[test]
    fn a_long_index_is_compared_in_linear_room() {
        let old: String = (0..200_000).map(|i| format!("- name: p{i}\n")).collect();
        let new = old.replacen("- name: p100000\n", "- name: changed\n", 1);
        assert_eq!(changed_lines(&old, &new), ["-- name: p100000", "+- name: changed"]);
    }
}
