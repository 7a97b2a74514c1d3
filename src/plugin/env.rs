//! A plugin's `.env` file, in python-dotenv's dialect (the one atk-cli reads and writes with):
//! parsed the way `dotenv_values` of python-dotenv 1.2 parses it (quotes, escapes, comments, an
//! `export` prefix, `${VAR}` and `${VAR:-default}` interpolation, keys without `=`; the newest
//! 1.2 release, 1.2.4, which a fresh install of atk-cli 0.4.0 gets), edited in place
//! so that comments, order and keys the plugin does not declare survive, written atomically with
//! mode 0600 by the caller.
//!
//! Every value is written in a form python-dotenv reads back unchanged, and, where one exists, in a
//! form that `sh`'s `.` reads back unchanged too (see [`quote`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Where `${VAR}` in a value is looked up when the file itself does not set `VAR` earlier: the
/// process environment, for python-dotenv. The caller decides (library code reads no variables).
pub type Outer<'a> = &'a dyn Fn(&str) -> Option<String>;

pub struct EnvFile {
    path: PathBuf,
    text: String,
    /// The outer variables the file's values refer to, looked up once when it was read.
    outer: HashMap<String, Option<String>>,
    parsed: Parsed,
}

impl EnvFile {
    /// Reads `path`; a missing file is an empty one. Lines python-dotenv cannot parse are skipped
    /// as it skips them; [`EnvFile::broken_lines`] names them.
    pub fn read(path: &Path, outer: Outer) -> Result<Self> {
        use crate::fs::{Cap, Links};
        if path.is_symlink() {
            return Err(Error::unsafe_path(
                format!("{} is a symbolic link; atk never reads or writes a .env through one", path.display()),
                vec![format!("replace it with a file: `rm {0}`, then `atk setup`", path.display())],
            ));
        }
        let text = match crate::fs::read(path, Links::Refuse, Cap::Env)? {
            Some(bytes) => crate::fs::read::utf8(bytes, path, Cap::Env)?,
            None => String::new(),
        };
        Ok(Self::from_text(path, text, outer))
    }

    /// A file with `text` as its content (not read from disk).
    pub fn from_text(path: &Path, text: String, outer: Outer) -> Self {
        // Python reads text files with universal newlines: `\r\n` and `\r` are `\n` to it.
        let text = normalize(text);
        let parsed = parse(&text);
        let mut names = HashMap::new();
        for b in &parsed.bindings {
            if let Some(v) = &b.raw {
                for atom in atoms(v) {
                    if let Atom::Variable { name, .. } = atom {
                        names.entry(name.to_string()).or_insert_with(|| outer(name));
                    }
                }
            }
        }
        EnvFile { path: path.to_path_buf(), text, outer: names, parsed }
    }

    /// The value of `key` as python-dotenv gives it (interpolated); `None` when the file does not
    /// assign it (a key without `=` has no value either, as for atk-cli).
    pub fn get(&self, key: &str) -> Option<String> {
        self.resolved().into_iter().find(|(k, _)| k == key).and_then(|(_, v)| v)
    }

    /// Every key in the order it first appears, with its last value (`None` without `=`).
    pub fn entries(&self) -> Vec<(String, Option<String>)> {
        self.resolved()
    }

    /// Every key that has a value, with its value, for a lifecycle command's environment.
    pub fn values(&self) -> BTreeMap<String, String> {
        self.resolved().into_iter().filter_map(|(k, v)| Some((k, v?))).collect()
    }

    /// The keys whose value holds a secret: a key `secret` says is one, and a key whose value
    /// takes one in by `${NAME}` (`DATABASE_URL=postgres://app:${DB_PASSWORD}@db`): a name bound
    /// earlier in the file that holds one, or a name from `outer` that `secret` says is one;
    /// through any chain of references, as python-dotenv resolves them.
    pub fn keys_holding_secrets(&self, secret: &dyn Fn(&str) -> bool) -> BTreeSet<String> {
        let mut holds: HashMap<&str, bool> = HashMap::new();
        for b in &self.parsed.bindings {
            let takes_one = b.raw.as_deref().map(atoms).unwrap_or_default().iter().any(|a| match a {
                Atom::Variable { name, .. } => holds.get(name).copied().unwrap_or_else(|| secret(name)),
                Atom::Literal(_) => false,
            });
            holds.insert(&b.key, secret(&b.key) || takes_one);
        }
        holds.into_iter().filter(|(_, h)| *h).map(|(k, _)| k.to_string()).collect()
    }

    /// The values `outer` gave the file for the names `secret` says are secrets (`${PGPASSWORD}`
    /// in a value): secrets that the file's values may hold.
    pub fn outer_secrets(&self, secret: &dyn Fn(&str) -> bool) -> Vec<String> {
        self.outer.iter().filter(|(k, _)| secret(k)).filter_map(|(_, v)| v.clone()).collect()
    }

    /// Line numbers (from 1) of the statements python-dotenv cannot parse and skips.
    pub fn broken_lines(&self) -> &[usize] {
        &self.parsed.broken
    }

    fn resolved(&self) -> Vec<(String, Option<String>)> {
        last_wins(resolve(&self.parsed.bindings, &|name| self.outer.get(name).cloned().flatten()))
    }

    /// Sets `key`: the last assignment of it is rewritten in place, or a new one is appended
    /// (after a `# description` comment when one is given).
    ///
    /// The edit is checked: afterwards `key` must read back as `value` and every other key as it
    /// did before. A line python-dotenv cannot parse (an unterminated quote) could otherwise swallow
    /// what is appended after it, and the keys after that; then nothing changes and the error says
    /// which line to fix.
    pub fn set(&mut self, key: &str, value: &str, description: Option<&str>) -> std::result::Result<(), String> {
        // Other keys are compared as written (before `${…}` is resolved: one may refer to `key`).
        let raw = |text: &str| {
            let pairs = parse(&normalize(text.to_string())).bindings.into_iter().map(|b| (b.key, b.raw)).collect();
            last_wins(pairs)
        };
        let before = raw(&self.text);
        let old = self.text.clone();
        self.edit(key, value, description);
        let kept = {
            let after = raw(&self.text);
            before.iter().filter(|(k, _)| k != key).all(|pair| after.contains(pair))
        };
        let written = dotenv_values(&self.text, &|_| None).iter().any(|(k, v)| k == key && v.as_deref() == Some(value));
        if kept && written {
            return Ok(());
        }
        self.text = old;
        self.parsed = parse(&self.text);
        let lines = self.parsed.broken.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(", ");
        Err(if lines.is_empty() {
            format!("{} cannot take {key} without changing other values", self.path.display())
        } else {
            format!(
                "{} has lines python-dotenv cannot read (line {lines}); setting {key} would change other values",
                self.path.display()
            )
        })
    }

    fn edit(&mut self, key: &str, value: &str, description: Option<&str>) {
        let quoted = quote(value);
        match self.parsed.bindings.iter().rev().find(|b| b.key == key) {
            Some(b) => match &b.value_span {
                Some(span) => {
                    // An empty value before a comment (`KEY= # note`) keeps a blank before it.
                    let gap = if self.text[span.end..].starts_with('#') { " " } else { "" };
                    self.text.replace_range(span.clone(), &format!("{quoted}{gap}"))
                }
                None => {
                    // `KEY#note`: the note stays a comment, after a blank.
                    let gap = if self.text[b.key_end..].starts_with('#') { " " } else { "" };
                    self.text.insert_str(b.key_end, &format!("={quoted}{gap}"))
                }
            },
            None => {
                if !self.text.is_empty() && !self.text.ends_with('\n') {
                    self.text.push('\n');
                }
                if let Some(d) = description.filter(|d| !d.trim().is_empty()) {
                    // Python reads `\r` as a line break too: it must not end the comment.
                    for line in d.split(['\n', '\r']).filter(|l| !l.is_empty()) {
                        self.text.push_str(&format!("# {line}\n"));
                    }
                }
                self.text.push_str(&format!("{key}={quoted}\n"));
            }
        }
        self.parsed = parse(&self.text);
    }

    /// The file's new text.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// What python-dotenv's `dotenv_values` returns for `text`: every key in the order it first
/// appears, with its last value (`None` for a key without `=`), `${…}` resolved against earlier
/// keys and then `outer`.
pub fn dotenv_values(text: &str, outer: Outer) -> Vec<(String, Option<String>)> {
    let text = normalize(text.to_string());
    last_wins(resolve(&parse(&text).bindings, outer))
}

/// What python-dotenv parses: a leading byte-order mark dropped, and (Python reads text files
/// with universal newlines) `\r\n` and `\r` as `\n`.
fn normalize(text: String) -> String {
    let text = match text.strip_prefix('\u{feff}') {
        Some(t) => t.to_string(),
        None => text,
    };
    if text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text
    }
}

/// A Python dict built from pairs: a key keeps its first position and takes its last value.
fn last_wins(pairs: Vec<(String, Option<String>)>) -> Vec<(String, Option<String>)> {
    let mut out: Vec<(String, Option<String>)> = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        match out.iter_mut().find(|(o, _)| *o == k) {
            Some(slot) => slot.1 = v,
            None => out.push((k, v)),
        }
    }
    out
}

/// Writes `value` so that python-dotenv reads it back unchanged. In order of preference:
/// * bare, when every character is one that needs no quoting anywhere;
/// * in single quotes, when the value has no `'`, no `\\`, does not end in `\` and has no `${`
///   (python-dotenv decodes `\\` and `\'` there and interpolates `${…}`): `sh` reads it the same;
/// * in double quotes with `\\` and `\"` escaped, when it has no `$`, no backquote, no carriage
///   return and does not end in `\`: `sh` reads that the same too;
/// * otherwise (a `'` together with `$` or a backquote, a carriage return, `${`, or a final `\`)
///   in double quotes for python-dotenv only: `\\`, `\"` and `\r` escaped, every `${` written as
///   `${:-$}{` and a final `\` as `${:-\}` (an empty variable name always takes its default),
///   forms that python-dotenv reads back unchanged and that no `sh` quoting shares.
pub fn quote(value: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:@,+%".contains(c);
    if value.is_empty() {
        return String::new();
    }
    if value.chars().all(plain) {
        return value.to_string();
    }
    let tricky = value.contains("${") || value.contains('\r') || value.ends_with('\\');
    if !tricky && !value.contains('\'') && !value.contains("\\\\") {
        return format!("'{value}'");
    }
    let shell_safe = !tricky && !value.contains('$') && !value.contains('`');
    let mut out = String::with_capacity(value.len() + 8);
    out.push('"');
    let mut rest = value;
    while let Some(c) = rest.chars().next() {
        if !shell_safe && rest.starts_with("${") {
            out.push_str("${:-$}{");
            rest = &rest[2..];
            continue;
        }
        match c {
            '\\' if rest.len() == 1 => out.push_str("${:-\\}"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    out.push('"');
    out
}

/// One statement of the file, as python-dotenv's parser sees it.
struct Binding {
    key: String,
    /// Where the key ends: `=value` goes here for a key written without one.
    key_end: usize,
    /// The value as written (quotes included), to be replaced on `set`; `None` without `=`.
    value_span: Option<std::ops::Range<usize>>,
    /// The value after unquoting and unescaping, before interpolation.
    raw: Option<String>,
}

struct Parsed {
    bindings: Vec<Binding>,
    broken: Vec<usize>,
}

/// Python's `str.isspace()`, which is what `\s` matches in its `re` module.
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Whitespace that is not a line break (`[^\S\r\n]`).
fn blank(c: char) -> bool {
    py_space(c) && c != '\n' && c != '\r'
}

/// A cursor over the text; every `take_*` returns the new position.
struct Cursor<'a> {
    s: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<char> {
        self.s[self.at..].chars().next()
    }
    fn skip_while(&mut self, f: impl Fn(char) -> bool) -> usize {
        let n = self.s[self.at..].find(|c: char| !f(c)).unwrap_or(self.s.len() - self.at);
        self.at += n;
        n
    }
    fn rest(&self) -> &'a str {
        &self.s[self.at..]
    }
}

struct Broken;

fn parse(text: &str) -> Parsed {
    let mut cur = Cursor { s: text, at: 0 };
    let mut bindings = Vec::new();
    let mut broken = Vec::new();
    while cur.at < text.len() {
        let mark = cur.at;
        match statement(&mut cur) {
            Ok(Some(b)) => bindings.push(b),
            Ok(None) => {}
            Err(Broken) => {
                // The statement's first line (after blank lines) is what python-dotenv reports.
                let first = mark + text[mark..].find(|c: char| !py_space(c)).unwrap_or(0);
                broken.push(text[..first].matches('\n').count() + 1);
                // Skip the rest of the line from where parsing stopped.
                cur.skip_while(|c| c != '\n' && c != '\r');
                if cur.rest().starts_with("\r\n") {
                    cur.at += 2;
                } else if cur.rest().starts_with(['\r', '\n']) {
                    cur.at += 1;
                }
            }
        }
    }
    Parsed { bindings, broken }
}

/// One statement: blank lines, then a comment, `KEY`, or `KEY=value`, then the end of the line.
fn statement(cur: &mut Cursor) -> std::result::Result<Option<Binding>, Broken> {
    cur.skip_while(py_space);
    if cur.at >= cur.s.len() {
        return Ok(None);
    }
    // `export` followed by at least one blank.
    if let Some(after) = cur.rest().strip_prefix("export") {
        if after.starts_with(blank) {
            cur.at += "export".len();
            cur.skip_while(blank);
        }
    }
    let key = match cur.peek() {
        Some('#') => None,
        Some('\'') => {
            let body = &cur.rest()[1..];
            match body.find('\'') {
                Some(n) if n > 0 => {
                    let k = body[..n].to_string();
                    cur.at += n + 2;
                    Some(k)
                }
                _ => return Err(Broken),
            }
        }
        _ => {
            let start = cur.at;
            if cur.skip_while(|c| c != '=' && c != '#' && !py_space(c)) == 0 {
                return Err(Broken);
            }
            Some(cur.s[start..cur.at].to_string())
        }
    };
    let key_end = cur.at;
    cur.skip_while(blank);
    let (value_span, raw) = if cur.peek() == Some('=') {
        cur.at += 1;
        let spaced = cur.skip_while(blank) > 0;
        let start = cur.at;
        // `KEY= # note` is an empty value and a comment (`KEY=#x` is the value `#x`).
        let raw = if spaced && cur.peek() == Some('#') { String::new() } else { value(cur)? };
        (Some(start..cur.at), Some(raw))
    } else {
        (None, None)
    };
    // An optional comment, then the end of the line.
    let save = cur.at;
    cur.skip_while(blank);
    if cur.peek() == Some('#') {
        cur.skip_while(|c| c != '\n' && c != '\r');
    } else {
        cur.at = save;
    }
    cur.skip_while(blank);
    match cur.peek() {
        None => {}
        Some('\n') => cur.at += 1,
        Some('\r') => cur.at += if cur.rest().starts_with("\r\n") { 2 } else { 1 },
        Some(_) => return Err(Broken),
    }
    Ok(key.map(|key| Binding { key, key_end, value_span, raw }))
}

/// A value: quoted (and unescaped), or bare up to the end of the line without a trailing comment
/// and trailing blanks. The cursor ends after what the value's text is taken to be.
fn value(cur: &mut Cursor) -> std::result::Result<String, Broken> {
    match cur.peek() {
        Some(q @ ('\'' | '"')) => {
            let body = &cur.rest()[1..];
            let end = closing_quote(body, q).ok_or(Broken)?;
            let inner = &body[..end];
            cur.at += end + 2;
            Ok(if q == '\'' { unescape(inner, "\\'") } else { unescape(inner, "\\'\"abfnrtv") })
        }
        None | Some('\n') | Some('\r') => Ok(String::new()),
        Some(_) => {
            let line_len = cur.rest().find(['\n', '\r']).unwrap_or(cur.rest().len());
            let line = &cur.rest()[..line_len];
            // ` #` (any whitespace before `#`) starts a comment.
            let mut cut = line.len();
            let mut prev_space = false;
            for (i, c) in line.char_indices() {
                if c == '#' && prev_space {
                    cut = i;
                    break;
                }
                prev_space = py_space(c);
            }
            let v = line[..cut].trim_end_matches(py_space);
            // The value's text is what is kept; a comment and blanks after it stay in place.
            cur.at += v.len();
            Ok(v.to_string())
        }
    }
}

/// Where the closing quote `q` of a quoted value starting at `body` is: the first `q` that no
/// backslash escapes (a backslash escapes whatever character follows it, a backslash included).
fn closing_quote(body: &str, q: char) -> Option<usize> {
    let b = body.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            c if c == q as u8 => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// Decodes `\x` for every `x` in `escapes`, left to right, as python-dotenv does.
fn unescape(s: &str, escapes: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(&n) = chars.peek().filter(|n| escapes.contains(**n)) {
                chars.next();
                out.push(match n {
                    'a' => '\u{7}',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'v' => '\u{b}',
                    other => other,
                });
                continue;
            }
        }
        out.push(c);
    }
    out
}

enum Atom<'a> {
    Literal(&'a str),
    Variable { name: &'a str, default: Option<&'a str> },
}

/// Splits a value into literal text and `${NAME}` / `${NAME:-default}` references.
fn atoms(value: &str) -> Vec<Atom<'_>> {
    let mut out = Vec::new();
    let mut literal_from = 0;
    let mut i = 0;
    while let Some(n) = value[i..].find("${") {
        let start = i + n;
        let body = &value[start + 2..];
        let name_len = body.find(['}', ':']).unwrap_or(body.len());
        let name = &body[..name_len];
        let after = &body[name_len..];
        let found = if after.starts_with('}') {
            Some((None, start + 2 + name_len + 1))
        } else if let Some(d) = after.strip_prefix(":-") {
            d.find('}').map(|e| (Some(&d[..e]), start + 2 + name_len + 2 + e + 1))
        } else {
            None
        };
        match found {
            Some((default, end)) => {
                if start > literal_from {
                    out.push(Atom::Literal(&value[literal_from..start]));
                }
                out.push(Atom::Variable { name, default });
                literal_from = end;
                i = end;
            }
            None => i = start + 1,
        }
    }
    if literal_from < value.len() {
        out.push(Atom::Literal(&value[literal_from..]));
    }
    out
}

/// Interpolates every value in order: a name set earlier in the file (even without a value, which
/// then reads as empty) wins over `outer`; the default applies only when neither has the name.
fn resolve(bindings: &[Binding], outer: Outer) -> Vec<(String, Option<String>)> {
    let mut seen: HashMap<&str, Option<String>> = HashMap::new();
    let mut out = Vec::with_capacity(bindings.len());
    for b in bindings {
        let value = b.raw.as_deref().map(|raw| {
            let mut v = String::new();
            for atom in atoms(raw) {
                match atom {
                    Atom::Literal(s) => v.push_str(s),
                    Atom::Variable { name, default } => match seen.get(name) {
                        Some(known) => v.push_str(known.as_deref().unwrap_or("")),
                        // No environment holds an empty name.
                        None => match Some(name).filter(|n| !n.is_empty()).and_then(outer) {
                            Some(o) => v.push_str(&o),
                            None => v.push_str(default.unwrap_or("")),
                        },
                    },
                }
            }
            v
        });
        seen.insert(&b.key, value.clone());
        out.push((b.key.clone(), value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn values(text: &str) -> Vec<(String, Option<String>)> {
        dotenv_values(text, &no_env)
    }

    fn one(text: &str) -> Option<String> {
        let v = values(text);
        assert_eq!(v.len(), 1, "{text:?} gave {v:?}");
        v[0].1.clone()
    }

    const TRICKY: [&str; 16] = [
        "plain",
        "with space",
        "it's",
        "say \"hi\" there",
        "$HOME and ${HOME}",
        "a#b #c",
        "k=v=w",
        "back\\slash",
        "C:\\Users\\me",
        "ends in \\",
        "multi\nline",
        "",
        "'quoted'",
        "tab\there ~ * ? [x] `cmd` $(cmd)",
        "it's $5",
        "cr\rlf",
    ];

    #[test]
    fn a_value_that_takes_a_secret_in_holds_one() {
        let text = "DB_PASSWORD=pw1234\nURL=postgres://a:${DB_PASSWORD}@h\nURL2=${URL}/x\nPG=${PGPASSWORD}\n\
                    HOME_DIR=${HOME}/x\nPLAIN=${NOT_SET:-${DB_PASSWORD}}\n";
        let outer = |n: &str| (n == "PGPASSWORD" || n == "HOME").then(|| format!("{n}-value"));
        let env = EnvFile::from_text(Path::new(".env"), text.into(), &outer);
        let secret = |n: &str| crate::plugin::secret::looks_secret(n);
        let keys: Vec<String> = env.keys_holding_secrets(&secret).into_iter().collect();
        assert_eq!(keys, ["DB_PASSWORD", "PG", "URL", "URL2"]);
        assert_eq!(env.outer_secrets(&secret), ["PGPASSWORD-value"]);
    }

    #[test]
    fn every_value_reads_back_identically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        let mut env = EnvFile::read(&path, &no_env).unwrap();
        for (i, v) in TRICKY.iter().enumerate() {
            env.set(&format!("K{i}"), v, Some("a description")).unwrap();
        }
        std::fs::write(&path, env.text()).unwrap();
        let again = EnvFile::read(&path, &|_| Some("outer".into())).unwrap();
        for (i, v) in TRICKY.iter().enumerate() {
            assert_eq!(again.get(&format!("K{i}")).as_deref(), Some(*v), "K{i} in {}", env.text());
        }
    }

    #[test]
    fn shell_reads_the_same_where_a_shared_form_exists() {
        for v in TRICKY {
            let q = quote(v);
            let shared = !(v.contains("${")
                || v.contains('\r')
                || v.ends_with('\\')
                || (v.contains('\'') && (v.contains('$') || v.contains('`'))));
            if !shared {
                continue;
            }
            let out =
                std::process::Command::new("sh").arg("-c").arg(format!("X={q}\nprintf %s \"$X\"")).output().unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), v, "{q}");
        }
    }

    #[test]
    fn reads_like_python_dotenv() {
        assert_eq!(one("P=pa$$w0rd"), Some("pa$$w0rd".into()));
        assert_eq!(one("A=it's"), Some("it's".into()));
        assert_eq!(one("A=C:\\Users\\me"), Some("C:\\Users\\me".into()));
        assert_eq!(one("A='C:\\Users\\me'"), Some("C:\\Users\\me".into()));
        assert_eq!(one("A='a\\\\b\\'c'"), Some("a\\b'c".into()));
        assert_eq!(one("A=\"a\\nb\\tc\\\"d\""), Some("a\nb\tc\"d".into()));
        assert_eq!(one("A=\"say hi\" # comment"), Some("say hi".into()));
        assert_eq!(one("A=a#b #c"), Some("a#b".into()));
        assert_eq!(one("A= #c"), Some("".into()));
        assert_eq!(one("A=#c"), Some("#c".into()));
        assert_eq!(one("\u{feff}A=1"), Some("1".into()));
        assert_eq!(one("A=   "), Some("".into()));
        assert_eq!(one("export A=1"), Some("1".into()));
        assert_eq!(one("exportA=1"), None.or(Some("1".into())));
        assert_eq!(values("exportA=1")[0].0, "exportA");
        assert_eq!(one("A"), None);
        assert_eq!(one("'A B'=x"), Some("x".into()));
        assert_eq!(one("A='one\ntwo'"), Some("one\ntwo".into()));
        assert_eq!(values("A=1\r\nB=2\r\n"), vec![("A".into(), Some("1".into())), ("B".into(), Some("2".into()))]);
        // Interpolation: earlier keys, then the outer environment, then the default.
        let v = dotenv_values("A=x\nB=${A}-${HOME}-${NOPE:-d}-${A:-d}\nC\nD=${C:-d}\nE='${A}'\nF=$A", &|k| {
            (k == "HOME").then(|| "/h".into())
        });
        let get = |k: &str| v.iter().find(|(n, _)| n == k).unwrap().1.clone();
        assert_eq!(get("B").as_deref(), Some("x-/h-d-x"));
        assert_eq!(get("D").as_deref(), Some(""), "a key without value shadows, no default");
        assert_eq!(get("E").as_deref(), Some("x"), "single quotes interpolate too");
        assert_eq!(get("F").as_deref(), Some("$A"));
        // Duplicates: first position, last value.
        assert_eq!(values("A=1\nB=2\nA=3"), vec![("A".into(), Some("3".into())), ("B".into(), Some("2".into()))]);
    }

    #[test]
    fn broken_statements_are_skipped_like_python_dotenv() {
        let v = values("OK=1\nBAD='a' b\n=x\nTOKEN=\"unterminated\nNEXT=2\n");
        assert_eq!(v, vec![("OK".into(), Some("1".into())), ("NEXT".into(), Some("2".into()))]);
        let env = EnvFile::from_text(Path::new(".env"), "OK=1\nBAD='a' b\nC=3\n".into(), &no_env);
        assert_eq!(env.broken_lines(), &[2]);
        // A backslash escapes the quote after it: the value has no closing quote.
        assert_eq!(values("A=\"x\\\"\nB=1"), vec![("B".into(), Some("1".into()))]);
        assert_eq!(one("A='a\\\\'"), Some("a\\".into()));
    }

    #[test]
    fn edits_in_place_and_keeps_comments_and_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, "# my notes\nOTHER=1\nexport TOKEN='old' # keep me\nBARE\nLAST=x").unwrap();
        let mut env = EnvFile::read(&path, &no_env).unwrap();
        assert_eq!(env.get("TOKEN").as_deref(), Some("old"));
        assert_eq!(env.get("BARE"), None);
        env.set("TOKEN", "new value", None).unwrap();
        env.set("BARE", "b", None).unwrap();
        env.set("ADDED", "2", Some("what it is")).unwrap();
        assert_eq!(
            env.text(),
            "# my notes\nOTHER=1\nexport TOKEN='new value' # keep me\nBARE=b\nLAST=x\n# what it is\nADDED=2\n"
        );
        assert_eq!(env.get("ADDED").as_deref(), Some("2"));
    }

    #[test]
    fn rewrites_multiline_values_whole() {
        let mut env = EnvFile::from_text(Path::new(".env"), "A='one\ntwo'\nB=3 # c\n".into(), &no_env);
        assert_eq!(env.get("A").as_deref(), Some("one\ntwo"));
        env.set("A", "x", None).unwrap();
        env.set("B", "4", None).unwrap();
        assert_eq!(env.text(), "A=x\nB=4 # c\n");
        let mut env = EnvFile::from_text(Path::new(".env"), "A= # note\n".into(), &no_env);
        assert_eq!(env.get("A").as_deref(), Some(""));
        env.set("A", "v", None).unwrap();
        assert_eq!(env.text(), "A= v # note\n");
    }
}
