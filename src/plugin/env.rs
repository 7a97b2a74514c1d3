//! A plugin's `.env` file: read with dotenvy, edited in place so that comments, order and keys the
//! plugin does not declare survive, written atomically with mode 0600.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub struct EnvFile {
    path: PathBuf,
    text: String,
    values: BTreeMap<String, String>,
}

impl EnvFile {
    /// Reads `path`; a missing file is an empty one. A link there is refused: it may lead out of
    /// the home (a cloned home can commit one), and its target's content would be copied into the
    /// home's `.env` and handed to the plugin's commands.
    pub fn read(path: &Path) -> Result<Self> {
        if path.is_symlink() {
            return Err(Error::refused(
                format!("{} is a symbolic link; atk never reads or writes a .env through one", path.display()),
                vec![format!("replace it with a file: `rm {0}`, then `atk setup`", path.display())],
            ));
        }
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
        };
        let mut values = BTreeMap::new();
        for item in dotenvy::from_read_iter(text.as_bytes()) {
            let (k, v) = item.map_err(|e| {
                // The parser's message quotes the line, which may hold a secret: name its number.
                let at = match &e {
                    dotenvy::Error::LineParse(line, _) => text
                        .lines()
                        .position(|l| !line.is_empty() && l.contains(line.as_str()))
                        .map_or(String::new(), |n| format!(" at line {}", n + 1)),
                    _ => String::new(),
                };
                Error::Other {
                    message: format!("{} cannot be parsed{at}", path.display()),
                    hints: vec!["fix the line by hand, or delete the file and run `atk setup` again".into()],
                }
            })?;
            values.insert(k, v);
        }
        Ok(EnvFile { path: path.to_path_buf(), text, values })
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// Every key and value, for a lifecycle command's environment.
    pub fn values(&self) -> &BTreeMap<String, String> {
        &self.values
    }

    /// Sets `key`: the last assignment of it is rewritten in place, or a new one is appended
    /// (after a `# description` comment when one is given).
    pub fn set(&mut self, key: &str, value: &str, description: Option<&str>) {
        let quoted = quote(value);
        match assignments(&self.text).into_iter().rev().find(|a| a.key == key) {
            Some(a) => self.text.replace_range(a.value.clone(), &quoted),
            None => {
                if !self.text.is_empty() && !self.text.ends_with('\n') {
                    self.text.push('\n');
                }
                if let Some(d) = description.filter(|d| !d.trim().is_empty()) {
                    for line in d.lines() {
                        self.text.push_str(&format!("# {line}\n"));
                    }
                }
                self.text.push_str(&format!("{key}={quoted}\n"));
            }
        }
        self.values.insert(key.to_string(), value.to_string());
    }

    /// The file's new text.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Quotes a value so that dotenvy and `sh`'s `.` both read it back unchanged.
pub fn quote(value: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:@,+%".contains(c);
    if !value.is_empty() && value.chars().all(plain) {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// `****1234`: all but the last four characters hidden; short values hidden entirely.
pub fn mask(value: &str) -> String {
    let n = value.chars().count();
    if n <= 4 {
        "*".repeat(n)
    } else {
        let tail: String = value.chars().skip(n - 4).collect();
        format!("{}{tail}", "*".repeat(n - 4))
    }
}

struct Assignment {
    key: String,
    /// The byte range of the value as written (quotes included), to be replaced on `set`.
    value: std::ops::Range<usize>,
}

/// Finds `KEY=value` assignments (an `export ` prefix allowed), with quoted values that may span
/// lines, so that a value can be replaced without touching anything around it.
fn assignments(text: &str) -> Vec<Assignment> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let line_end = text[i..].find('\n').map_or(b.len(), |n| i + n);
        let line = &text[i..line_end];
        let indent = line.len() - line.trim_start().len();
        let mut rest = &line[indent..];
        let mut start = i + indent;
        if let Some(r) = rest.strip_prefix("export ") {
            start += rest.len() - r.trim_start().len();
            rest = r.trim_start();
        }
        let key_len = rest.bytes().take_while(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.').count();
        let after_key = rest[key_len..].trim_start();
        if key_len == 0 || !after_key.starts_with('=') {
            i = line_end + 1;
            continue;
        }
        let key = rest[..key_len].to_string();
        let eq = start + key_len + (rest[key_len..].len() - after_key.len());
        let mut j = eq + 1;
        while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
            j += 1;
        }
        let value_start = j;
        // Walk the value: quoted parts may contain newlines; an unquoted part ends at a newline or
        // at whitespace (a comment or trailing blanks follow).
        let mut quote: Option<u8> = None;
        while j < b.len() {
            let c = b[j];
            match quote {
                Some(q) if c == q => quote = None,
                Some(b'"') if c == b'\\' => j += 1,
                Some(_) => {}
                None if c == b'\'' || c == b'"' => quote = Some(c),
                None if c == b'\\' => j += 1,
                None if c == b'\n' || c == b' ' || c == b'\t' => break,
                None => {}
            }
            j += 1;
        }
        let value_end = j.min(b.len());
        out.push(Assignment { key, value: value_start..value_end });
        i = text[value_end..].find('\n').map_or(b.len(), |n| value_end + n) + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRICKY: [&str; 12] = [
        "plain",
        "with space",
        "it's",
        "say \"hi\" there",
        "$HOME and ${HOME}",
        "a#b #c",
        "k=v=w",
        "back\\slash",
        "multi\nline",
        "",
        "'quoted'",
        "tab\there ~ * ? [x] `cmd` $(cmd)",
    ];

    fn roundtrip_sh(file: &Path, key: &str) -> String {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(". '{}'; printf %s \"${key}\"", file.display()))
            .env_remove(key)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn values_read_back_identically_with_dotenvy_and_sh() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        let mut env = EnvFile::read(&path).unwrap();
        for (i, v) in TRICKY.iter().enumerate() {
            env.set(&format!("K{i}"), v, Some("a description"));
        }
        std::fs::write(&path, env.text()).unwrap();
        let again = EnvFile::read(&path).unwrap();
        for (i, v) in TRICKY.iter().enumerate() {
            let key = format!("K{i}");
            assert_eq!(again.get(&key), Some(*v), "dotenvy {key}");
            assert_eq!(roundtrip_sh(&path, &key), *v, "sh {key}");
        }
    }

    #[test]
    fn edits_in_place_and_keeps_comments_and_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, "# my notes\nOTHER=1\nexport TOKEN='old' # keep me\nLAST=x").unwrap();
        let mut env = EnvFile::read(&path).unwrap();
        assert_eq!(env.get("TOKEN"), Some("old"));
        env.set("TOKEN", "new value", None);
        env.set("ADDED", "2", Some("what it is"));
        assert_eq!(
            env.text(),
            "# my notes\nOTHER=1\nexport TOKEN='new value' # keep me\nLAST=x\n# what it is\nADDED=2\n"
        );
    }

    #[test]
    fn rewrites_multiline_values_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, "A='one\ntwo'\nB=3\n").unwrap();
        let mut env = EnvFile::read(&path).unwrap();
        assert_eq!(env.get("A"), Some("one\ntwo"));
        env.set("A", "x", None);
        assert_eq!(env.text(), "A=x\nB=3\n");
    }

    #[test]
    fn a_broken_line_is_named_by_number_without_its_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, "OK=1\nTOKEN=s3cret value\n").unwrap();
        let err = EnvFile::read(&path).err().unwrap().to_string();
        assert!(err.contains("cannot be parsed at line 2"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }

    #[test]
    fn masks() {
        assert_eq!(mask("abc"), "***");
        assert_eq!(mask("secret-value"), "********alue");
    }
}
