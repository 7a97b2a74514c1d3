//! Directory names under `plugins/`: the sanitizing algorithm and the validity rule shared with the
//! Python CLI, so that both give the same folder for the same display name.

/// `^[a-z][a-z0-9]*(-[a-z0-9]+)*$` and at least two characters.
pub fn is_valid_directory(s: &str) -> bool {
    let bytes = s.as_bytes();
    if bytes.len() < 2 || !bytes[0].is_ascii_lowercase() || bytes[bytes.len() - 1] == b'-' {
        return false;
    }
    let mut prev_dash = false;
    for &b in bytes {
        match b {
            b'a'..=b'z' | b'0'..=b'9' => prev_dash = false,
            b'-' if !prev_dash => prev_dash = true,
            _ => return false,
        }
    }
    true
}

/// Why a directory name is not valid, for messages.
pub const DIRECTORY_RULE: &str =
    "lowercase letters, digits and single hyphens, starting with a letter, ending with a letter or digit, at least 2 characters";

/// Turns a display name into a directory name: lowercase, spaces and underscores to hyphens,
/// everything else outside `[a-z0-9-]` dropped, hyphens collapsed and trimmed, a leading `a` when
/// the result starts with a digit, and at least two characters.
pub fn sanitize(display: &str) -> Result<String, String> {
    let trimmed = display.trim();
    if trimmed.is_empty() {
        return Err(format!("the name '{display}' is empty"));
    }
    let mut out = String::with_capacity(trimmed.len());
    let mut in_separator = false;
    for c in trimmed.to_lowercase().chars() {
        if c == ' ' || c == '_' {
            in_separator = true;
            continue;
        }
        if in_separator {
            out.push('-');
            in_separator = false;
        }
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
            out.push(c);
        }
    }
    // Collapse runs of hyphens and trim them at both ends.
    let collapsed: Vec<&str> = out.split('-').filter(|p| !p.is_empty()).collect();
    let mut name = collapsed.join("-");
    if name.is_empty() {
        return Err(format!("the name '{display}' has no letters or digits to make a folder name from"));
    }
    if !name.as_bytes()[0].is_ascii_lowercase() {
        name.insert(0, 'a');
    }
    if name.len() < 2 {
        return Err(format!("the name '{display}' gives the folder name '{name}', which is shorter than 2 characters"));
    }
    Ok(name)
}

/// Levenshtein distance (in characters), for suggestions.
pub use strsim::levenshtein as edit_distance;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_characters() {
        assert_eq!(edit_distance("fetc", "fetch"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("café", "cafe"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn sanitizes_like_upstream() {
        for (input, want) in [
            ("My Plugin", "my-plugin"),
            ("123plugin", "a123plugin"),
            ("../../../etc/passwd", "etcpasswd"),
            ("$(rm -rf /)", "rm-rf"),
            ("foo\tbar", "foobar"),
            ("Piper TTS", "piper-tts"),
            ("OpenMemory", "openmemory"),
            ("  a__b  c ", "a-b-c"),
            ("-xy-", "xy"),
            ("Ünïcode name", "ncode-name"),
            ("a - b", "a-b"),
            ("9", "a9"),
        ] {
            assert_eq!(sanitize(input).as_deref(), Ok(want), "{input:?}");
        }
    }

    #[test]
    fn refuses_names_that_give_no_folder() {
        for input in ["", "   ", "!!!", "x", "---"] {
            assert!(sanitize(input).is_err(), "{input:?}");
        }
    }

    #[test]
    fn directory_rule() {
        for ok in ["ab", "my-plugin", "a1", "x-1-y"] {
            assert!(is_valid_directory(ok), "{ok}");
        }
        for bad in ["", "a", "1a", "-a", "a-", "a--b", "A", "a_b", "..", "a/b", "a b"] {
            assert!(!is_valid_directory(bad), "{bad}");
        }
    }
}
