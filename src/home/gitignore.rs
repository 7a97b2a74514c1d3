//! The home's `.gitignore`: the template written by `init`, and the exemption lines that make a
//! local plugin's files tracked. Exemptions go above the secret patterns so that `.env` files stay
//! ignored (the Python CLI appends them below, which re-includes secrets).

pub const FILE: &str = ".gitignore";

pub const TEMPLATE: &str = "# Ignore all plugin contents
plugins/*/*

# But keep custom directories
!plugins/*/custom/
!plugins/*/custom/**

# Always ignore secrets
*.env
.env.*

# Update check cache
.update-cache.yaml

# Local development
.DS_Store
";

const SECRET_LINES: [&str; 2] = ["*.env", ".env.*"];

fn exemption_lines(directory: &str) -> [String; 2] {
    [format!("!plugins/{directory}/"), format!("!plugins/{directory}/**")]
}

/// The text with the plugin's two exemption lines, placed before the secret patterns. Unchanged
/// when both lines are already there.
pub fn add_exemption(text: &str, directory: &str) -> String {
    let wanted = exemption_lines(directory);
    let lines: Vec<&str> = text.lines().collect();
    if wanted.iter().all(|w| lines.contains(&w.as_str())) {
        return text.to_string();
    }
    let missing: Vec<&str> = wanted.iter().map(String::as_str).filter(|w| !lines.contains(w)).collect();
    let mut out: Vec<&str> = Vec::with_capacity(lines.len() + 3);
    match lines.iter().position(|l| SECRET_LINES.contains(&l.trim())) {
        Some(at) => {
            // Above the secrets block and its comment, if the line before it is one.
            let at = if at > 0 && lines[at - 1].trim_start().starts_with('#') { at - 1 } else { at };
            out.extend(&lines[..at]);
            out.extend(&missing);
            out.push("");
            out.extend(&lines[at..]);
        }
        None => {
            // No secret patterns at all: add the exemptions and then the patterns after them.
            out.extend(&lines);
            out.extend(&missing);
            out.extend(SECRET_LINES);
        }
    }
    let mut s = out.join("\n");
    s.push('\n');
    s
}

/// The text without the plugin's exemption lines (and the blank line `add_exemption` put after them).
pub fn remove_exemption(text: &str, directory: &str) -> String {
    let wanted = exemption_lines(directory);
    let mut out: Vec<&str> = Vec::new();
    let mut removed_at = None;
    for line in text.lines() {
        if wanted.iter().any(|w| w == line) {
            removed_at.get_or_insert(out.len());
        } else {
            out.push(line);
        }
    }
    if let Some(at) = removed_at {
        if out.get(at).is_some_and(|l| l.is_empty()) && (at == 0 || out[at - 1].is_empty()) {
            out.remove(at);
        }
    }
    let mut s = out.join("\n");
    if !s.is_empty() {
        s.push('\n');
    }
    s
}

/// File names that are secrets whatever `.gitignore` says: never staged.
pub fn is_secret(file_name: &str) -> bool {
    file_name == ".env" || file_name.ends_with(".env") || file_name.starts_with(".env.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exemptions_go_above_the_secret_patterns() {
        let once = add_exemption(TEMPLATE, "my-tool");
        let pos = |l: &str| once.lines().position(|x| x == l).unwrap();
        assert!(pos("!plugins/my-tool/**") < pos("*.env"));
        assert!(pos("!plugins/my-tool/") < pos("# Always ignore secrets"));
        assert_eq!(add_exemption(&once, "my-tool"), once, "idempotent");
        let twice = add_exemption(&once, "other");
        assert!(
            twice.lines().position(|x| x == "!plugins/other/**").unwrap()
                < twice.lines().position(|x| x == "*.env").unwrap()
        );
    }

    #[test]
    fn remove_restores_the_text() {
        let one = add_exemption(TEMPLATE, "a1");
        let two = add_exemption(&one, "b2");
        assert_eq!(remove_exemption(&two, "b2"), one);
        assert_eq!(remove_exemption(&one, "a1"), TEMPLATE);
        // Lines appended by the Python CLI at the end are removed too.
        let upstream = format!("{TEMPLATE}!plugins/x1/\n!plugins/x1/**\n");
        assert_eq!(remove_exemption(&upstream, "x1"), TEMPLATE);
    }

    #[test]
    fn without_secret_patterns_they_are_added_after_the_exemptions() {
        let out = add_exemption("plugins/*/*\n", "ab");
        assert_eq!(out, "plugins/*/*\n!plugins/ab/\n!plugins/ab/**\n*.env\n.env.*\n");
    }

    #[test]
    fn secrets() {
        for s in [".env", "prod.env", ".env.local"] {
            assert!(is_secret(s));
        }
        for s in ["env", ".envrc", "env.txt", "plugin.yaml"] {
            assert!(!is_secret(s));
        }
    }
}
