//! Skills as atk-cli writes them, byte for byte, so that one CLI can undo what the other did: a
//! line in a managed section of a Markdown file (`<!-- ATK:BEGIN -->` … `<!-- ATK:END -->`), or a
//! symbolic link named after the plugin's directory.

use std::path::{Path, PathBuf};

pub const BEGIN: &str = "<!-- ATK:BEGIN -->";
pub const END: &str = "<!-- ATK:END -->";

/// Python's `str.isspace()`.
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn py_strip(s: &str) -> &str {
    s.trim_matches(py_space)
}

/// Python's line boundaries for `str.splitlines`.
fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{b}' | '\u{c}' | '\u{1c}' | '\u{1d}' | '\u{1e}' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// Python's `str.splitlines(keepends=True)`.
fn lines_with_ends(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if is_break(c) {
            let mut end = i + c.len_utf8();
            if c == '\r' {
                if let Some(&(j, '\n')) = chars.peek() {
                    end = j + 1;
                    chars.next();
                }
            }
            out.push(&s[start..end]);
            start = end;
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// The text between the markers (`start` is just past BEGIN), as Python slices it: empty when END
/// comes first.
fn section(content: &str) -> Option<(usize, usize)> {
    let begin = content.find(BEGIN)?;
    let end = content.find(END)?;
    Some((begin + BEGIN.len(), end))
}

fn inner(content: &str, start: usize, end: usize) -> &str {
    if end >= start {
        &content[start..end]
    } else {
        ""
    }
}

/// `content` with `line` added to its managed section (the section appended when missing);
/// `None` when the line is there already.
pub fn add_line(content: &str, line: &str) -> Option<String> {
    let Some((start, end)) = section(content) else {
        return Some(format!("{}\n{BEGIN}\n{line}\n{END}\n", content.trim_end_matches('\n')));
    };
    let inside = inner(content, start, end);
    if lines_with_ends(inside).iter().map(|l| py_strip(l)).any(|l| !l.is_empty() && l == line) {
        return None;
    }
    Some(format!("{}{}\n{line}\n{}", &content[..start], inside.trim_end_matches('\n'), &content[end..]))
}

/// `content` without the managed section's lines equal to `line` (ignoring surrounding
/// whitespace); `None` when there is none. An emptied section stays.
/// `content` without the managed section's lines that `matches` (stripped of surrounding
/// whitespace); `None` when there is none.
pub fn remove_lines(content: &str, matches: impl Fn(&str) -> bool) -> Option<String> {
    let (start, end) = section(content)?;
    let inside = inner(content, start, end);
    let all = lines_with_ends(inside);
    let kept: Vec<&str> = all.iter().copied().filter(|l| !matches(py_strip(l))).collect();
    if kept.len() == all.len() {
        return None;
    }
    Some(format!("{}{}{}", &content[..start], kept.concat(), &content[end..]))
}

/// What is at the path of a skill link.
#[derive(Debug, PartialEq, Eq)]
pub enum LinkState {
    Missing,
    /// A link that leads to the target already.
    Right,
    /// A link elsewhere (or a broken one): replaced.
    Other,
    /// A file or folder that is not a link: never touched.
    Blocked,
}

pub fn link_state(link: &Path, target: &Path) -> LinkState {
    match std::fs::symlink_metadata(link) {
        Err(_) => LinkState::Missing,
        Ok(m) if m.file_type().is_symlink() => {
            if std::fs::canonicalize(link).is_ok_and(|t| t == target) {
                LinkState::Right
            } else {
                LinkState::Other
            }
        }
        Ok(_) => LinkState::Blocked,
    }
}

/// Makes `link` point at `target`, replacing a link that is there in one rename. When atk runs as
/// root, the link (and the folders made for it) takes the owner of its folder, so that under sudo
/// a user's skill links are the user's.
pub fn make_link(link: &Path, target: &Path) -> std::io::Result<()> {
    use crate::fs::owner;
    let dir = link.parent().unwrap_or(Path::new("."));
    owner::create_dirs(dir)?;
    let tmp: PathBuf = dir.join(format!("{}-link", crate::fs::temp_name()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    let owned = match owner::wanted(None, link) {
        Some(o) => owner::give_link(&tmp, o),
        None => Ok(()),
    };
    owned.and_then(|()| std::fs::rename(&tmp, link)).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remove_line(content: &str, line: &str) -> Option<String> {
        remove_lines(content, |l| l == line)
    }

    #[test]
    fn a_new_section_is_appended_as_atk_cli_appends_it() {
        assert_eq!(add_line("", "@/p/SKILL.md").unwrap(), "\n<!-- ATK:BEGIN -->\n@/p/SKILL.md\n<!-- ATK:END -->\n");
        assert_eq!(
            add_line("# Mine\n\n\n", "@/p/SKILL.md").unwrap(),
            "# Mine\n<!-- ATK:BEGIN -->\n@/p/SKILL.md\n<!-- ATK:END -->\n"
        );
    }

    #[test]
    fn lines_are_added_before_the_end_marker_once() {
        let one = "top\n<!-- ATK:BEGIN -->\n@/a\n<!-- ATK:END -->\nbottom\n";
        let two = add_line(one, "@/b").unwrap();
        assert_eq!(two, "top\n<!-- ATK:BEGIN -->\n@/a\n@/b\n<!-- ATK:END -->\nbottom\n");
        assert_eq!(add_line(&two, "@/b"), None);
        assert_eq!(add_line("x\n<!-- ATK:BEGIN -->\n  @/b  \n<!-- ATK:END -->\n", "@/b"), None);
        // Outside the section does not count.
        assert!(add_line("@/b\n<!-- ATK:BEGIN -->\n<!-- ATK:END -->\n", "@/b").is_some());
    }

    #[test]
    fn removal_keeps_the_emptied_section() {
        let text = "top\n<!-- ATK:BEGIN -->\n@/a\n@/b\n<!-- ATK:END -->\n";
        assert_eq!(remove_line(text, "@/a").unwrap(), "top\n<!-- ATK:BEGIN -->\n@/b\n<!-- ATK:END -->\n");
        let empty = remove_line(&remove_line(text, "@/a").unwrap(), "@/b").unwrap();
        assert_eq!(empty, "top\n<!-- ATK:BEGIN -->\n<!-- ATK:END -->\n");
        assert_eq!(remove_line(&empty, "@/b"), None);
        assert_eq!(remove_line("no markers\n@/a\n", "@/a"), None);
    }

    #[test]
    fn end_before_begin_is_read_as_python_reads_it() {
        let odd = "<!-- ATK:END -->\n<!-- ATK:BEGIN -->\n";
        assert_eq!(
            add_line(odd, "x").unwrap(),
            "<!-- ATK:END -->\n<!-- ATK:BEGIN -->\nx\n<!-- ATK:END -->\n<!-- ATK:BEGIN -->\n"
        );
    }
}
