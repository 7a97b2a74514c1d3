//! The home's `.gitignore`, laid out as atk-cli 0.3.0 and later lay it out: the template written
//! by `init`, the exemption lines that make a local plugin's files tracked, and the secret patterns
//! always last under their own header (git applies the last matching pattern, so an exemption
//! below `*.env` would re-include a plugin's `.env`). Every change re-normalizes the file exactly
//! as atk-cli does, so that neither tool finds anything to change in a home the other wrote.

pub const FILE: &str = ".gitignore";

/// The header of the secret block.
pub const SECRETS_HEADER: &str = "# Always ignore secrets — keep LAST (gitignore is last-match-wins)";
/// The header older homes (atk-cli before 0.3.0, atk before this layout) have above the patterns.
const OLD_SECRETS_HEADER: &str = "# Always ignore secrets";
use crate::plugin::secret::SECRET_FILE_PATTERNS as SECRET_PATTERNS;

/// What `init` writes.
pub const TEMPLATE: &str = "# Ignore all plugin contents
plugins/*/*

# But keep custom directories
!plugins/*/custom/
!plugins/*/custom/**

# Update check cache
.update-cache.yaml

# Local development
.DS_Store

# Always ignore secrets — keep LAST (gitignore is last-match-wins)
*.env
.env.*
";

fn exemption_lines(directory: &str) -> [String; 2] {
    [format!("!plugins/{directory}/"), format!("!plugins/{directory}/**")]
}

/// The text with the secret block last: every secret pattern and either header removed from
/// where they stand, trailing blank lines dropped, then a blank line, the header and the patterns.
pub fn normalize(text: &str) -> String {
    let text = &universal_newlines(text);
    let mut kept: Vec<&str> = text
        .split('\n')
        .filter(|l| {
            let l = l.trim();
            !SECRET_PATTERNS.contains(&l) && l != SECRETS_HEADER && l != OLD_SECRETS_HEADER
        })
        .collect();
    while kept.last().is_some_and(|l| l.trim().is_empty()) {
        kept.pop();
    }
    kept.extend(["", SECRETS_HEADER]);
    kept.extend(SECRET_PATTERNS);
    kept.join("\n") + "\n"
}

/// The text as atk-cli reads it (Python's universal newlines): `\r\n` and `\r` are line breaks,
/// and it writes `\n` back.
fn universal_newlines(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// The text with the plugin's two exemption lines (appended when either is missing), normalized.
pub fn add_exemption(text: &str, directory: &str) -> String {
    let text = &universal_newlines(text);
    let wanted = exemption_lines(directory);
    let present = |w: &String| text.split('\n').any(|l| l == w);
    if wanted.iter().all(present) {
        return normalize(text);
    }
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    for w in &wanted {
        out.push_str(w);
        out.push('\n');
    }
    normalize(&out)
}

/// The text without the plugin's exemption lines, normalized.
pub fn remove_exemption(text: &str, directory: &str) -> String {
    let text = &universal_newlines(text);
    let wanted = exemption_lines(directory);
    let kept: Vec<&str> = text.split('\n').filter(|l| !wanted.iter().any(|w| w == l)).collect();
    normalize(&kept.join("\n"))
}

/// File names that are secrets whatever `.gitignore` says: never staged (see
/// [`crate::plugin::secret::is_secret_file`]).
pub fn is_secret(file_name: &str) -> bool {
    crate::plugin::secret::is_secret_file(file_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What atk before this layout (and atk-cli 0.2) wrote.
    const OLD_TEMPLATE: &str = "# Ignore all plugin contents\nplugins/*/*\n\n# But keep custom directories\n\
        !plugins/*/custom/\n!plugins/*/custom/**\n\n# Always ignore secrets\n*.env\n.env.*\n\n\
        # Update check cache\n.update-cache.yaml\n\n# Local development\n.DS_Store\n";

    #[test]
    fn crlf_is_read_as_atk_cli_reads_it() {
        let crlf = "plugins/*/*\r\n!plugins/p1/\r\n!plugins/p1/**\r\n";
        let removed = remove_exemption(crlf, "p1");
        assert!(!removed.contains("p1") && !removed.contains('\r'), "{removed:?}");
        let added = add_exemption("plugins/*/*\r\n", "p2");
        assert_eq!(added.matches("!plugins/p2/").count(), 2, "{added:?}");
        assert!(!added.contains('\r'), "{added:?}");
    }

    #[test]
    fn the_template_is_normalized() {
        assert_eq!(normalize(TEMPLATE), TEMPLATE);
        assert!(TEMPLATE
            .ends_with("\n\n# Always ignore secrets — keep LAST (gitignore is last-match-wins)\n*.env\n.env.*\n"));
    }

    #[test]
    fn exemptions_go_above_the_secret_block() {
        let once = add_exemption(TEMPLATE, "my-tool");
        assert!(
            once.ends_with(&format!(
                ".DS_Store\n\n!plugins/my-tool/\n!plugins/my-tool/**\n\n{SECRETS_HEADER}\n*.env\n.env.*\n"
            )),
            "{once}"
        );
        assert_eq!(add_exemption(&once, "my-tool"), once, "idempotent");
        let twice = add_exemption(&once, "other");
        // As atk-cli does it: appended after the blank line that ended the file before the block.
        assert!(twice.contains("!plugins/my-tool/**\n\n!plugins/other/\n!plugins/other/**\n\n# Always"), "{twice}");
        assert_eq!(remove_exemption(&twice, "other"), once);
        assert_eq!(remove_exemption(&once, "my-tool"), TEMPLATE);
    }

    #[test]
    fn older_layouts_are_normalized() {
        let new = normalize(OLD_TEMPLATE);
        assert!(new.starts_with("# Ignore all plugin contents\nplugins/*/*\n\n# But keep custom directories\n!plugins/*/custom/\n!plugins/*/custom/**\n\n\n# Update check cache\n"), "{new}");
        assert!(new.ends_with(&format!(".DS_Store\n\n{SECRETS_HEADER}\n*.env\n.env.*\n")), "{new}");
        assert_eq!(normalize(&new), new);
        // Exemptions an older atk put above the patterns, or atk-cli appended below them.
        let mixed = format!("{OLD_TEMPLATE}!plugins/x1/\n!plugins/x1/**\n");
        let fixed = remove_exemption(&mixed, "x1");
        assert_eq!(fixed, new);
        let without = add_exemption("plugins/*/*\n", "ab");
        assert_eq!(without, format!("plugins/*/*\n!plugins/ab/\n!plugins/ab/**\n\n{SECRETS_HEADER}\n*.env\n.env.*\n"));
        assert_eq!(normalize(""), format!("\n{SECRETS_HEADER}\n*.env\n.env.*\n"));
    }

    #[test]
    fn secrets() {
        for s in [".env", "prod.env", ".env.local", ".env.", "a.b.env", "[x].env", "*.env"] {
            assert!(is_secret(s), "{s}");
        }
        for s in ["env", ".envrc", "env.txt", "plugin.yaml", "x.env.bak", "xenv", "x.Env", ".ENV", ""] {
            assert!(!is_secret(s));
        }
    }
}
