//! A commit message of the home: the subject the Python CLI writes (`Add plugin 'x'`), and, in the
//! body, git trailers that say what the operation was, so that `atk history` reads from git alone:
//!
//! ```text
//! Upgrade plugin 'hello'
//!
//! Atk-Operation: upgrade
//! Atk-Plugin: hello
//! Atk-From: 1f2e…
//! Atk-To: 9a8b…
//! ```

/// The trailer keys atk writes.
pub const OPERATION: &str = "Atk-Operation";
pub const PLUGIN: &str = "Atk-Plugin";
pub const FROM: &str = "Atk-From";
pub const TO: &str = "Atk-To";
/// The commit an `undo` reverted.
pub const REVERTS: &str = "Atk-Reverts";

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    pub subject: String,
    pub trailers: Vec<(String, String)>,
}

impl From<&str> for Message {
    fn from(subject: &str) -> Self {
        Message { subject: subject.into(), trailers: vec![] }
    }
}

impl Message {
    /// The message of an operation on one plugin: `op` (add, remove, upgrade, rollback, undo, …),
    /// the plugin's directory, and its pins before and after (absent for a local plugin, or where
    /// there was none).
    pub fn operation(subject: String, op: &str, directory: &str, from: Option<&str>, to: Option<&str>) -> Message {
        let mut trailers = vec![(OPERATION.to_string(), op.to_string()), (PLUGIN.to_string(), directory.to_string())];
        if let Some(from) = from {
            trailers.push((FROM.into(), from.into()));
        }
        if let Some(to) = to {
            trailers.push((TO.into(), to.into()));
        }
        Message { subject, trailers }
    }

    /// Adds one trailer.
    pub fn with(mut self, key: &str, value: &str) -> Message {
        self.trailers.push((key.into(), value.into()));
        self
    }

    /// The value of the trailer `key` (the last one when there are several).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.trailers.iter().rev().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
    }

    /// The full text of the commit message. A trailer value is one line: line breaks in it (a
    /// plugin name from a source) become spaces, so it can never forge another trailer.
    pub fn text(&self) -> String {
        let one_line = |s: &str| s.replace(['\n', '\r'], " ");
        let mut out = one_line(&self.subject);
        if !self.trailers.is_empty() {
            out.push_str("\n\n");
            for (k, v) in &self.trailers {
                out.push_str(&format!("{}: {}\n", one_line(k), one_line(v)));
            }
        } else {
            out.push('\n');
        }
        out
    }

    /// Reads a commit message: its first line is the subject, and the trailers are those of its
    /// last paragraph when every line of it is `Key: value` (as `git interpret-trailers` reads
    /// them; a message with no body has none).
    pub fn parse(text: &str) -> Message {
        let text = text.replace("\r\n", "\n");
        let mut paragraphs: Vec<&str> = text.split("\n\n").map(|p| p.trim_matches('\n')).collect();
        paragraphs.retain(|p| !p.trim().is_empty());
        let subject = paragraphs.first().map(|p| p.lines().next().unwrap_or_default().trim().to_string());
        let mut trailers = Vec::new();
        if paragraphs.len() > 1 {
            let last = paragraphs[paragraphs.len() - 1];
            let parsed: Option<Vec<(String, String)>> = last
                .lines()
                .map(|l| {
                    let (k, v) = l.split_once(':')?;
                    let valid = !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
                    valid.then(|| (k.to_string(), v.trim().to_string()))
                })
                .collect();
            trailers = parsed.unwrap_or_default();
        }
        Message { subject: subject.unwrap_or_default(), trailers }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_round_trips_through_its_text() {
        let m = Message::operation("Upgrade plugin 'hello'".into(), "upgrade", "hello", Some("aaa"), Some("bbb"));
        let text = m.text();
        assert_eq!(
            text,
            "Upgrade plugin 'hello'\n\nAtk-Operation: upgrade\nAtk-Plugin: hello\nAtk-From: aaa\nAtk-To: bbb\n"
        );
        assert_eq!(Message::parse(&text), m);
        assert_eq!(Message::parse(&text).get("atk-to"), Some("bbb"));
    }

    #[test]
    fn a_plain_message_has_no_trailers() {
        assert_eq!(Message::parse("Add plugin 'x'\n"), Message::from("Add plugin 'x'"));
        let prose = Message::parse("Fix things\n\nThis changes the notes: a lot.\nAnd more.\n");
        assert_eq!(prose.subject, "Fix things");
        assert!(prose.trailers.is_empty(), "{prose:?}");
    }

    #[test]
    fn a_name_with_a_line_break_cannot_forge_a_trailer() {
        let m = Message::operation("Add plugin 'x\nAtk-Operation: remove'".into(), "add", "x", None, None);
        let back = Message::parse(&m.text());
        assert_eq!(back.get(OPERATION), Some("add"));
        assert_eq!(back.trailers.len(), 2);
    }
}
