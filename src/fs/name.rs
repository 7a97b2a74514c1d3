//! Names and relative paths that may touch the disk. Every string that came from outside (a tree
//! entry, a manifest, a journal, an index) becomes a [`RelPath`] before it is joined onto a root:
//! each component is a plain name, so a path built from one can never leave its root.

use std::fmt;

/// Why `name` cannot be one component of a path on disk, or `None` when it can: not empty, no
/// `/`, `\` or NUL, not `.` or `..`, and not `.git` in any case.
pub fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("an empty name")
    } else if name == "." || name == ".." {
        Some("a name that walks the folder tree")
    } else if name.contains('/') || name.contains('\\') {
        Some("a name with a path separator")
    } else if name.contains('\0') {
        Some("a name with a NUL byte")
    } else if is_dot_git(name) {
        Some("the reserved name .git")
    } else {
        None
    }
}

/// `.git` in any case, and the names macOS (HFS+ ignores some invisible code points) and Windows
/// (NTFS drops trailing dots and spaces, and has the short name `GIT~1`) take for it, as git itself
/// refuses them in trees.
fn is_dot_git(name: &str) -> bool {
    let ignorable =
        |c: char| matches!(c, '\u{200c}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{206a}'..='\u{206f}' | '\u{feff}');
    let visible: String = name.chars().filter(|c| !ignorable(*c)).collect();
    let trimmed = visible.trim_end_matches(['.', ' ']);
    trimmed.eq_ignore_ascii_case(".git") || trimmed.eq_ignore_ascii_case("git~1")
}

/// A relative path made only of names that pass [`name_problem`], `/`-separated. The empty path
/// is the root itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RelPath(String);

/// A path that is not a [`RelPath`], with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPath {
    pub path: String,
    pub why: &'static str,
}

impl fmt::Display for BadPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}' has {}", crate::text::escape(&self.path), self.why)
    }
}

impl RelPath {
    /// The root itself.
    pub fn root() -> RelPath {
        RelPath(String::new())
    }

    /// Checks every `/`-separated component of `path`. A leading `/` (an absolute path), an empty
    /// component (`a//b`, a trailing `/`) or any bad name is refused.
    pub fn new(path: &str) -> Result<RelPath, BadPath> {
        if path.is_empty() {
            return Ok(RelPath::root());
        }
        for part in path.split('/') {
            if let Some(why) = name_problem(part) {
                let why = if part.is_empty() && path.starts_with('/') { "an absolute path" } else { why };
                return Err(BadPath { path: path.to_string(), why });
            }
        }
        Ok(RelPath(path.to_string()))
    }

    /// This path with one more component.
    pub fn join(&self, name: &str) -> Result<RelPath, BadPath> {
        if let Some(why) = name_problem(name) {
            return Err(BadPath { path: format!("{}{name}", self.prefix()), why });
        }
        Ok(RelPath(format!("{}{name}", self.prefix())))
    }

    /// This path followed by `other`.
    pub fn concat(&self, other: &RelPath) -> RelPath {
        if self.0.is_empty() {
            other.clone()
        } else if other.0.is_empty() {
            self.clone()
        } else {
            RelPath(format!("{}/{}", self.0, other.0))
        }
    }

    fn prefix(&self) -> String {
        if self.0.is_empty() {
            String::new()
        } else {
            format!("{}/", self.0)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    pub fn components(&self) -> impl DoubleEndedIterator<Item = &str> {
        self.0.split('/').filter(|c| !c.is_empty())
    }

    /// The last component (empty for the root).
    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or_default()
    }

    /// The path without its last component (`None` for the root).
    pub fn parent(&self) -> Option<RelPath> {
        if self.0.is_empty() {
            return None;
        }
        Some(RelPath(self.0.rsplit_once('/').map(|(p, _)| p.to_string()).unwrap_or_default()))
    }

    /// Whether `self` is `other` or lies below it.
    pub fn starts_with(&self, other: &RelPath) -> bool {
        other.0.is_empty() || self.0 == other.0 || self.0.starts_with(&format!("{}/", other.0))
    }
}

/// Written as the `/`-separated path it is (in reports and manifests).
impl serde::Serialize for RelPath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::text::escape(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a\\b",
            "a\0b",
            ".git",
            ".GIT",
            ".Git",
            ".g\u{200c}it",
            ".git.",
            ".git ",
            "GIT~1",
            "\u{feff}.git",
        ] {
            assert!(name_problem(bad).is_some(), "{bad:?}");
        }
        for good in ["a", ".env", "..a", "a..", ".gitignore", "git", "ünï cödé", " "] {
            assert!(name_problem(good).is_none(), "{good:?}");
        }
    }

    #[test]
    fn paths() {
        assert!(RelPath::new("").unwrap().is_root());
        assert_eq!(RelPath::new("a/b/c").unwrap().name(), "c");
        assert_eq!(RelPath::new("a/b/c").unwrap().parent().unwrap().as_str(), "a/b");
        assert_eq!(RelPath::new("a").unwrap().parent().unwrap(), RelPath::root());
        for bad in ["/a", "a/", "a//b", "../a", "a/../../b", ".git/config", "a/.git", "a/./b", "C:\\x"] {
            assert!(RelPath::new(bad).is_err(), "{bad}");
        }
        assert_eq!(RelPath::new("/tmp/x").unwrap_err().why, "an absolute path");
        let p = RelPath::new("plugins/x").unwrap();
        assert!(p.join("..").is_err());
        assert!(p.join("a/b").is_err());
        assert_eq!(p.join("y").unwrap().as_str(), "plugins/x/y");
        assert!(RelPath::new("plugins/x/y").unwrap().starts_with(&p));
        assert!(!RelPath::new("plugins/xy").unwrap().starts_with(&p));
    }
}
