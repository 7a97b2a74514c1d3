//! A plugin's `SKILL.md` in the Agent Skills format (agentskills.io): Markdown that begins with
//! YAML front matter between two `---` lines, holding at least `name` (lowercase letters, digits
//! and single hyphens, at most 64 characters) and `description`. Agents that load skills by
//! themselves (Gemini CLI) skip a `SKILL.md` without it.
//!
//! The front matter is found as Gemini CLI finds it: the text begins with a `---` line, and the
//! first later line that begins with `---` ends it.

use std::fmt;
use std::path::Path;

use yaml_serde::Value;

/// The skill file of a plugin folder.
pub const FILE: &str = "SKILL.md";
/// The longest `name` the Agent Skills format allows.
pub const NAME_MAX: usize = 64;
/// The longest `description` the Agent Skills format allows, in characters.
pub const DESCRIPTION_MAX: usize = 1024;

/// The two fields every skill has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontMatter {
    pub name: String,
    pub description: String,
}

/// Why a `SKILL.md` has no usable front matter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Broken {
    /// The text does not begin with a `---` line: there is no front matter at all.
    Missing,
    /// It begins as front matter, but agents cannot read it; the reason, in words.
    Invalid(String),
}

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Broken::Missing => f.write_str("it does not begin with front matter (a `---` line)"),
            Broken::Invalid(why) => f.write_str(why),
        }
    }
}

fn invalid(why: impl Into<String>) -> Broken {
    Broken::Invalid(why.into())
}

/// The front matter of a `SKILL.md`'s text, or why there is none that agents can use.
pub fn parse(text: &str) -> Result<FrontMatter, Broken> {
    if text.starts_with('\u{feff}') {
        return Err(invalid(
            "it begins with a byte order mark, which hides the front matter from agents (save it as UTF-8 without one)",
        ));
    }
    let Some(first_end) = text.find('\n') else {
        return Err(if text.trim_end() == "---" {
            invalid("the front matter is never closed")
        } else {
            Broken::Missing
        });
    };
    let first = text[..first_end].strip_suffix('\r').unwrap_or(&text[..first_end]);
    if first != "---" {
        return Err(if first.trim() == "---" {
            invalid("the line that begins the front matter must be exactly `---`")
        } else {
            Broken::Missing
        });
    }
    let start = first_end + 1;
    let Some(close) = text[start..].find("\n---").map(|p| start + p) else {
        return Err(invalid("the front matter is never closed by a `---` line"));
    };
    let closing = text[close + 1..].split('\n').next().unwrap_or_default();
    if closing.strip_suffix('\r').unwrap_or(closing) != "---" {
        return Err(invalid(format!(
            "the line `{}` ends the front matter for agents, but it must be exactly `---`",
            closing.trim_end()
        )));
    }
    let yaml = &text[start..close];
    let yaml = yaml.strip_suffix('\r').unwrap_or(yaml);
    // Read after one empty line, so that the lines an error names are the file's.
    let doc: Value = yaml_serde::from_str(&format!("\n{yaml}"))
        .map_err(|e| invalid(format!("the front matter is not valid YAML: {e}")))?;
    let map = match doc {
        Value::Mapping(m) => m,
        Value::Null => return Err(invalid("the front matter is empty: `name` and `description` are missing")),
        _ => return Err(invalid("the front matter is not a mapping of keys to values")),
    };
    let field = |key: &'static str| match map.get(key) {
        None | Some(Value::Null) => Err(invalid(format!("`{key}` is missing from the front matter"))),
        Some(Value::String(s)) if s.trim().is_empty() => Err(invalid(format!("`{key}` is empty"))),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(invalid(format!("`{key}` is not a string (quote it)"))),
    };
    Ok(FrontMatter { name: field("name")?, description: field("description")? })
}

/// The front matter of a `SKILL.md`'s text, when it has one agents can use ([`parse`] says why
/// not).
pub fn front_matter(text: &str) -> Option<FrontMatter> {
    parse(text).ok()
}

/// Why `name` is not a skill name under the Agent Skills rules.
pub fn name_problem(name: &str) -> Option<String> {
    let rule = "lowercase letters, digits and single hyphens, not starting or ending with a hyphen";
    if name.is_empty() {
        Some("it is empty".into())
    } else if name.chars().count() > NAME_MAX {
        Some(format!("it is longer than {NAME_MAX} characters"))
    } else if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        || name.starts_with('-')
        || name.ends_with('-')
        || name.contains("--")
    {
        Some(format!("a skill name is {rule}"))
    } else {
        None
    }
}

/// What the Agent Skills format asks beyond what agents need to load the skill: a valid name, a
/// description of at most [`DESCRIPTION_MAX`] characters. Each problem comes with what to do, for
/// the plugin folder `directory`.
pub fn spec_problems(fm: &FrontMatter, directory: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(why) = name_problem(&fm.name) {
        out.push((
            format!("the skill's name '{}' is not valid: {why}", crate::text::escape(&fm.name)),
            format!("name: {} would do (the plugin's folder name)", skill_name(directory)),
        ));
    }
    let n = fm.description.chars().count();
    if n > DESCRIPTION_MAX {
        out.push((
            format!("the skill's description is {n} characters long; the Agent Skills format allows {DESCRIPTION_MAX}"),
            "say when to use the skill in fewer words; the body below the front matter holds the rest".into(),
        ));
    }
    out
}

/// A valid skill name made from a plugin's directory name (lowercase; anything but a letter or a
/// digit becomes a hyphen; hyphens single and inside; at most [`NAME_MAX`] characters). A valid
/// directory name of at most 64 characters is its own skill name.
pub fn skill_name(directory: &str) -> String {
    let mut out = String::new();
    for c in directory.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.truncate(NAME_MAX);
    let name = out.trim_end_matches('-');
    if name.is_empty() {
        "skill".into()
    } else {
        name.to_string()
    }
}

/// `text` with Agent Skills front matter when it has none agents can use: `name` made from the
/// plugin's `directory` ([`skill_name`]), `description` the plugin's (from `plugin.yaml`; cut to
/// [`DESCRIPTION_MAX`] characters, and made from the name when empty), both quoted so that any
/// character they hold reads back as it is. A text whose front matter is fine is returned as it is
/// (a byte order mark, which hides it from agents, taken off).
pub fn with_front_matter(text: &str, directory: &str, description: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if front_matter(text).is_some() {
        return text.to_string();
    }
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    format!("{}{nl}{text}", block(directory, description).replace('\n', nl))
}

/// The front matter lines (each ending with `\n`) [`with_front_matter`] adds.
pub fn block(directory: &str, description: &str) -> String {
    let name = skill_name(directory);
    let description = if description.trim().is_empty() {
        format!("Instructions for the {name} plugin")
    } else if description.chars().count() > DESCRIPTION_MAX {
        let mut cut: String = description.chars().take(DESCRIPTION_MAX - 1).collect();
        cut.push('…');
        cut
    } else {
        description.to_string()
    };
    format!("---\nname: {}\ndescription: {}\n---\n", quote(&name), quote(&description))
}

/// A YAML double-quoted scalar holding `s` exactly, read the same under YAML 1.1 (PyYAML) and 1.2
/// (js-yaml, which Gemini CLI uses): every character outside printable ASCII and the printable
/// non-ASCII ranges is escaped, and so are the line and paragraph separators and NEL, which YAML
/// 1.1 takes for line breaks.
pub fn quote(s: &str) -> String {
    crate::yaml::double_quoted(s)
}

/// The text of the `SKILL.md` of the plugin folder `dir`, as agents may be given it: `None` when
/// there is none; an error (a broken plugin, with a hint) when it is a symbolic link, wherever it
/// leads, or anything but a regular UTF-8 file.
pub fn read(dir: &Path) -> crate::Result<Option<String>> {
    crate::fs::read_text(&dir.join(FILE), crate::fs::Links::Refuse, crate::fs::Cap::Readme)
}

/// Something `atk validate` says of a plugin's `SKILL.md`, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Warning {
    pub message: String,
    pub hints: Vec<String>,
}

/// The warnings of the `SKILL.md` of the plugin folder `dir` (none when it has none): a link (atk
/// never gives one to agents), something that is not a regular UTF-8 file, no front matter or a
/// broken one (the hint shows the front matter to add, from `directory` and `description`, the
/// plugin's), and a front matter off the Agent Skills rules.
pub fn check(dir: &Path, directory: &str, description: &str) -> Vec<Warning> {
    let path = dir.join(FILE);
    let Ok(meta) = std::fs::symlink_metadata(&path) else { return vec![] };
    let warn = |message: String, hint: &str| vec![Warning { message, hints: vec![hint.to_string()] }];
    if meta.file_type().is_symlink() {
        let to = std::fs::read_link(&path).map(|t| format!(" (to {})", t.display())).unwrap_or_default();
        return warn(
            format!(
                "{} is a symbolic link{to}: atk gives agents only a regular SKILL.md, never a link",
                path.display()
            ),
            "replace the link with the file itself",
        );
    }
    let text = match read(dir) {
        Ok(text) => text.unwrap_or_default(),
        Err(e) => {
            let hints = e.hints();
            return vec![Warning { message: format!("{e}; agents are not given it"), hints }];
        }
    };
    let add = format!(
        "begin {FILE} with this front matter (the Agent Skills format, agentskills.io):\n{}",
        block(directory, description).trim_end()
    );
    match parse(&text) {
        Ok(fm) => spec_problems(&fm, directory)
            .into_iter()
            .map(|(p, hint)| Warning { message: format!("{}: {p}", path.display()), hints: vec![hint] })
            .collect(),
        Err(Broken::Missing) => warn(
            format!(
                "{} has no front matter with `name` and `description`: agents that load skills (Gemini CLI) skip it",
                path.display()
            ),
            &add,
        ),
        Err(why) => warn(format!("{} has broken front matter: {why}", path.display()), &add),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "---\nname: notes\ndescription: Keeps notes.\n---\n\n# Notes\n";

    #[test]
    fn parses_front_matter_with_lf_or_crlf() {
        let want = FrontMatter { name: "notes".into(), description: "Keeps notes.".into() };
        assert_eq!(parse(GOOD), Ok(want.clone()));
        assert_eq!(parse(&GOOD.replace('\n', "\r\n")), Ok(want.clone()));
        // Other keys are allowed; a folded description reads as YAML says.
        let more = "---\nname: notes\nlicense: MIT\ndescription: >\n  Keeps\n  notes.\nmetadata:\n  a: b\n---\nbody";
        assert_eq!(parse(more).unwrap().description, "Keeps notes.\n");
        // Front matter and nothing after it.
        assert_eq!(parse("---\nname: notes\ndescription: Keeps notes.\n---"), Ok(want));
    }

    #[test]
    fn text_without_front_matter_is_missing() {
        for text in ["", "# Notes\n", "Use it.\n---\nname: x\n", "\n---\nname: a\ndescription: b\n---\n", "--"] {
            assert_eq!(parse(text), Err(Broken::Missing), "{text:?}");
            assert_eq!(front_matter(text), None);
        }
    }

    #[test]
    fn broken_front_matter_says_why() {
        for (text, why) in [
            ("---\nname: a\ndescription: b\n", "never closed"),
            ("---", "never closed"),
            ("--- \nname: a\ndescription: b\n---\n", "exactly `---`"),
            ("---\nname: a\ndescription: b\n----\n", "`----` ends the front matter"),
            ("---\nname: a\ndescription: b\n--- x\n", "`--- x` ends the front matter"),
            ("---\nname: [a\ndescription: b\n---\n", "not valid YAML"),
            ("---\nname: a\ndescription: b\n  c: d\n---\n", "at line 4 column"),
            ("---\n- a\n- b\n---\n", "not a mapping"),
            ("---\n\n---\n", "is empty"),
            ("---\ndescription: b\n---\n", "`name` is missing"),
            ("---\nname: a\n---\n", "`description` is missing"),
            ("---\nname: a\ndescription: ''\n---\n", "`description` is empty"),
            ("---\nname: 12\ndescription: b\n---\n", "`name` is not a string"),
            ("---\nname: a\ndescription: [b]\n---\n", "`description` is not a string"),
            ("\u{feff}---\nname: a\ndescription: b\n---\n", "byte order mark"),
        ] {
            match parse(text) {
                Err(Broken::Invalid(w)) => assert!(w.contains(why), "{text:?}: {w}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn skill_names_follow_the_agent_skills_rules() {
        assert_eq!(skill_name("notes"), "notes");
        assert_eq!(skill_name("piper-tts"), "piper-tts");
        assert_eq!(skill_name("Piper TTS"), "piper-tts");
        assert_eq!(skill_name("--a__b--"), "a-b");
        assert_eq!(skill_name("ünï"), "n");
        assert_eq!(skill_name("!!"), "skill");
        let long = format!("{}-{}", "a".repeat(63), "b".repeat(10));
        assert_eq!(skill_name(&long), "a".repeat(63), "cut at 64, no trailing hyphen");
        for d in ["notes", "Piper TTS", &long, "x", "--", "a--b", "9lives"] {
            assert_eq!(name_problem(&skill_name(d)), None, "{d}");
        }
        for bad in ["", "Notes", "a_b", "-a", "a-", "a--b", "a.b", &"a".repeat(65)] {
            assert!(name_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn front_matter_is_added_only_when_missing_or_broken() {
        assert_eq!(with_front_matter(GOOD, "other", "Other."), GOOD);
        let bom = format!("\u{feff}{GOOD}");
        assert_eq!(with_front_matter(&bom, "other", "Other."), GOOD, "the mark that hides it is taken off");
        let body = "# Notes\n\nUse it.\n";
        let out = with_front_matter(body, "notes", "Keeps notes.");
        assert_eq!(out, "---\nname: \"notes\"\ndescription: \"Keeps notes.\"\n---\n\n# Notes\n\nUse it.\n");
        assert_eq!(front_matter(&out), Some(FrontMatter { name: "notes".into(), description: "Keeps notes.".into() }));
        // A broken one stays below, as text.
        let broken = "---\nname: [\n---\nbody\n";
        let out = with_front_matter(broken, "notes", "d");
        assert!(out.ends_with(broken), "{out}");
        assert_eq!(front_matter(&out).unwrap().name, "notes");
        // CRLF text gets CRLF lines.
        let out = with_front_matter("# A\r\nb\r\n", "a-b", "d");
        assert!(out.starts_with("---\r\nname: \"a-b\"\r\ndescription: \"d\"\r\n---\r\n\r\n# A\r\n"), "{out:?}");
        assert_eq!(front_matter(&out).unwrap().name, "a-b");
    }

    #[test]
    fn any_description_reads_back_as_it_is() {
        for d in [
            "Keeps notes: one per line",
            "line one\nline two\n\nthird",
            "# not a comment, 'single' \"double\" \\ back\\slash",
            "--- not a separator\n---\nname: evil",
            "yes",
            "null",
            "2026-01-01",
            "0755",
            "- a list?",
            "{a: b}",
            "tab\there, cr\r, nul\0, bell\x07, del\x7f, nel\u{85}",
            "separators \u{2028} and \u{2029}, bom \u{feff}, nbsp\u{a0}",
            "ünïcødé ✓ 日本語 😀",
            "${HOME} $word %s {{x}}",
            "ends with a backslash \\",
        ] {
            let out = with_front_matter("body\n", "p", d);
            assert_eq!(
                front_matter(&out),
                Some(FrontMatter { name: "p".into(), description: d.into() }),
                "{d:?}\n{out}"
            );
            assert!(out.ends_with("---\n\nbody\n"), "{out}");
            let yaml_lines = out.lines().take_while(|l| !l.is_empty()).count();
            assert_eq!(yaml_lines, 4, "one line per field: {out}");
        }
    }

    #[test]
    fn a_description_is_cut_to_the_format_s_limit_and_never_empty() {
        let long = "x".repeat(DESCRIPTION_MAX + 10);
        let fm = front_matter(&with_front_matter("", "p", &long)).unwrap();
        assert_eq!(fm.description.chars().count(), DESCRIPTION_MAX);
        assert!(fm.description.ends_with('…'));
        assert!(spec_problems(&fm, "p").is_empty());
        let fm = front_matter(&with_front_matter("", "p", "  \n ")).unwrap();
        assert_eq!(fm.description, "Instructions for the p plugin");
    }

    #[test]
    fn read_gives_a_regular_skill_and_refuses_a_link_wherever_it_leads() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()).unwrap(), None);
        std::fs::write(dir.path().join(".env"), "TOKEN=s3cret\n").unwrap();
        std::os::unix::fs::symlink(".env", dir.path().join(FILE)).unwrap();
        let e = read(dir.path()).unwrap_err();
        assert!(e.to_string().contains("symbolic link") && !e.to_string().contains("s3cret"), "{e}");
        assert_eq!(e.exit_code(), crate::error::exit::PLUGIN_INVALID);
        std::fs::remove_file(dir.path().join(FILE)).unwrap();
        std::fs::write(dir.path().join(FILE), GOOD).unwrap();
        assert_eq!(read(dir.path()).unwrap().as_deref(), Some(GOOD));
    }

    #[test]
    fn spec_problems_name_the_rule() {
        let fm = FrontMatter { name: "My Skill".into(), description: "y".repeat(DESCRIPTION_MAX + 1) };
        let p = spec_problems(&fm, "my-skill");
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].0.contains("'My Skill' is not valid") && p[0].1.starts_with("name: my-skill would do"), "{p:?}");
        assert!(p[1].0.contains("1025 characters"), "{p:?}");
    }
}
