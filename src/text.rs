//! Text that came from outside (a registry's descriptions, a plugin's name, a path in a tree) is
//! shown with its control characters escaped, so that it can never move the cursor, clear the
//! screen, retitle the terminal or hide what follows it.

use std::borrow::Cow;

/// Characters that a terminal acts on or that reorder what is shown: C0 and C1 controls, DEL,
/// the Unicode bidirectional marks, overrides and isolates, and the line and paragraph separators
/// (a line break to many readers of a log or a message).
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}'
        )
}

/// `s` with every unsafe character written as an escape (`\n`, `\t`, `\x1b`, `\u{202e}`).
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe(c) && (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if is_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `s` followed by spaces up to `width` characters (as `{s:<width$}`, which panics on a width past
/// 65,535: a column as wide as a plugin's 100,000 ports, or a hostile manifest's name, is no
/// panic here).
pub fn pad(s: &str, width: usize) -> String {
    let count = s.chars().count();
    let mut out = String::with_capacity(s.len() + width.saturating_sub(count));
    out.push_str(s);
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(count)));
    out
}

/// Parameters of the SGR sequences atk's own styles use (reset, bold, dim, normal intensity,
/// the colors and the default color). Anything else (conceal, blink, reverse, 256 colors) is
/// escaped, so that a source cannot hide text with `ESC[8m` even where it slipped through.
fn is_own_style(params: &str) -> bool {
    params.split(';').all(|p| matches!(p, "" | "0" | "1" | "2" | "22" | "31" | "32" | "33" | "34" | "35" | "36" | "39"))
}

/// The length of the SGR sequence of [`is_own_style`] that `s` starts with, if it starts with one.
fn own_style_at(s: &str) -> Option<usize> {
    let params = s.strip_prefix("\x1b[")?;
    let end = params.find(|c: char| !(c.is_ascii_digit() || c == ';'))?;
    (params[end..].starts_with('m') && is_own_style(&params[..end])).then_some(end + 3)
}

/// `s` as it may reach a terminal: line breaks and atk's own colors (SGR sequences of
/// [`is_own_style`]) are kept, every other unsafe character is escaped. The last line of defence
/// under every message atk prints; text from a source is escaped where it is put into a message.
pub fn for_terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if let Some(len) = own_style_at(rest) {
            out.push_str(&rest[..len]);
            rest = &rest[len..];
            continue;
        }
        if c == '\n' {
            out.push('\n');
        } else {
            out.push_str(&escape(&rest[..c.len_utf8()]));
        }
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

/// `3 minutes ago`, `2 days ago`: how long `seconds` is, as git says how long ago a commit was.
pub fn ago(seconds: u64) -> String {
    let (n, unit) = match seconds {
        0..=59 => (seconds, "second"),
        60..=3599 => (seconds / 60, "minute"),
        3600..=86_399 => (seconds / 3600, "hour"),
        86_400..=2_591_999 => (seconds / 86_400, "day"),
        2_592_000..=31_535_999 => (seconds / 2_592_000, "month"),
        _ => (seconds / 31_536_000, "year"),
    };
    format!("{} ago", crate::error::plural(n as usize, unit))
}

/// [`ago`], but under two seconds (or a time still to come, by a clock ahead) reads `just now`:
/// how `atk history` says when a commit was made.
pub fn ago_or_just_now(seconds: i64) -> String {
    if seconds < 2 {
        "just now".into()
    } else {
        ago(seconds as u64)
    }
}

/// `512 bytes`, `64.0 KB`, `199.9 MB` (decimal units).
pub fn size(bytes: u64) -> String {
    if bytes < 1000 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1000.0;
    for unit in ["KB", "MB", "GB"] {
        // Compared as shown (one decimal): 999.95 reads 1000.0, which is the next unit's 1.0.
        if (value * 10.0).round() < 10_000.0 {
            return format!("{value:.1} {unit}");
        }
        value /= 1000.0;
    }
    format!("{value:.1} TB")
}

/// `url` with any user info between `://` and the host replaced by `***`, for messages.
pub fn mask_credentials(url: &str) -> String {
    // Everything up to the last `@` may be a user name, a password or a token, even where a `/`,
    // `?` or `#` in a password makes the URL ambiguous; a query may hold a token too.
    let start = url.find("://").map_or(0, |i| i + 3);
    let masked = match url[start..].rfind('@') {
        Some(at) => format!("{}***{}", &url[..start], &url[start + at..]),
        None => url.to_string(),
    };
    match masked.find(['?', '#']) {
        Some(q) if start > 0 => format!("{}?***", &masked[..q]),
        _ => masked,
    }
}

/// A commit as atk shows it: its first 12 hex digits.
pub fn short(id: &gix::ObjectId) -> String {
    id.to_string()[..12].to_string()
}

/// A pin as the manifest has it (text that came from outside), shown as [`short`] shows a commit:
/// its first 12 characters, escaped.
pub fn short_pin(pin: &str) -> String {
    escape(&pin.chars().take(12).collect::<String>()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::{ago, ago_or_just_now, escape, for_terminal};

    #[test]
    fn terminal_text_keeps_colors_and_line_breaks_only() {
        assert_eq!(for_terminal("\x1b[1;33mwarning:\x1b[0m two\nlines"), "\x1b[1;33mwarning:\x1b[0m two\nlines");
        assert_eq!(for_terminal("x\x1b]0;title\x07 \x1b[2J \x1b[H"), "x\\x1b]0;title\\x07 \\x1b[2J \\x1b[H");
        assert_eq!(for_terminal("tab\there\r"), "tab\\there\\r");
        assert_eq!(for_terminal("ends with \x1b"), "ends with \\x1b");
        assert_eq!(for_terminal("a \x1b[8mhidden\x1b[0m"), "a \\x1b[8mhidden\x1b[0m");
        assert_eq!(for_terminal("\x1b[5;31mblink"), "\\x1b[5;31mblink");
    }

    #[test]
    fn escapes_what_a_terminal_would_act_on() {
        assert_eq!(escape("plain ünïcode"), "plain ünïcode");
        assert_eq!(escape("a\x1b]0;owned\x07b"), "a\\x1b]0;owned\\x07b");
        assert_eq!(escape("\x1b[2J"), "\\x1b[2J");
        assert_eq!(escape("x\ny\tz\r"), "x\\ny\\tz\\r");
        assert_eq!(escape("\u{9b}31m"), "\\x9b31m");
        assert_eq!(escape("abc\u{202e}fdp.exe"), "abc\\u{202e}fdp.exe");
        assert_eq!(escape("\x7f"), "\\x7f");
    }

    #[test]
    fn ages_read_like_git() {
        assert_eq!(ago(0), "0 seconds ago");
        assert_eq!(ago(1), "1 second ago");
        assert_eq!(ago(150), "2 minutes ago");
        assert_eq!(ago(7200), "2 hours ago");
        assert_eq!(ago(86_400 * 3), "3 days ago");
        assert_eq!(ago(86_400 * 65), "2 months ago");
        assert_eq!(ago(86_400 * 800), "2 years ago");
    }

    #[test]
    fn a_size_rounds_into_the_next_unit() {
        use super::size;
        assert_eq!(size(999), "999 bytes");
        assert_eq!(size(64_000), "64.0 KB");
        assert_eq!(size(999_949), "999.9 KB");
        assert_eq!(size(999_950), "1.0 MB");
        assert_eq!(size(999_999_999), "1.0 GB");
    }

    #[test]
    fn under_two_seconds_is_just_now() {
        assert_eq!(ago_or_just_now(-5), "just now");
        assert_eq!(ago_or_just_now(0), "just now");
        assert_eq!(ago_or_just_now(1), "just now");
        assert_eq!(ago_or_just_now(2), "2 seconds ago");
        assert_eq!(ago_or_just_now(42), "42 seconds ago");
        assert_eq!(ago_or_just_now(60), "1 minute ago");
        assert_eq!(ago_or_just_now(7200), "2 hours ago");
        assert_eq!(ago_or_just_now(86_400 * 3), "3 days ago");
    }
}
