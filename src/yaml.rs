//! A block-style YAML writer whose output reads back the same under YAML 1.1 (PyYAML, which the
//! Python CLI uses) and YAML 1.2: strings that 1.1 would take for a date, a number or a boolean
//! (`2026-02-06`, `yes`, `0755`) are quoted, as PyYAML quotes them. yaml_serde's own writer
//! follows 1.2 only and would let the Python CLI misread them.

use yaml_serde::Value;

pub fn to_string(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Mapping(m) if !m.is_empty() => mapping(&mut out, m, 0),
        Value::Sequence(s) if !s.is_empty() => sequence(&mut out, s, 0),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn mapping(out: &mut String, m: &yaml_serde::Mapping, indent: usize) {
    for (k, v) in m {
        out.push_str(&" ".repeat(indent));
        out.push_str(&scalar(k));
        out.push(':');
        value_after_key(out, v, indent);
    }
}

fn sequence(out: &mut String, s: &[Value], indent: usize) {
    for item in s {
        out.push_str(&" ".repeat(indent));
        out.push('-');
        match item {
            Value::Mapping(m) if !m.is_empty() => {
                // The first key goes on the dash's line, the others line up under it.
                let mut first = String::new();
                mapping(&mut first, m, indent + 2);
                out.push(' ');
                out.push_str(&first[indent + 2..]);
            }
            Value::Sequence(inner) if !inner.is_empty() => {
                out.push('\n');
                sequence(out, inner, indent + 2);
            }
            other => {
                out.push(' ');
                push_scalar(out, other, indent + 2);
                out.push('\n');
            }
        }
    }
}

fn value_after_key(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Mapping(m) if !m.is_empty() => {
            out.push('\n');
            mapping(out, m, indent + 2);
        }
        // Lists sit at their key's indentation, as PyYAML writes them.
        Value::Sequence(s) if !s.is_empty() => {
            out.push('\n');
            sequence(out, s, indent);
        }
        other => {
            out.push(' ');
            push_scalar(out, other, indent + 2);
            out.push('\n');
        }
    }
}

/// PyYAML's line width: past it, a long string is folded at its next single space.
const WIDTH: usize = 80;

/// Writes a scalar on the current line of `out`, folding a long plain or single-quoted string the
/// way PyYAML does (at a single space once the line is past 80 columns), continuation lines
/// indented by `indent`. Folded or not, it reads back as the same string.
fn push_scalar(out: &mut String, v: &Value, indent: usize) {
    let text = scalar(v);
    if !matches!(v, Value::String(_)) || text.starts_with('"') {
        out.push_str(&text);
        return;
    }
    let quoted = text.starts_with('\'');
    let chars: Vec<char> = text.chars().collect();
    let mut column = out.rsplit('\n').next().map_or(0, |line| line.chars().count());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != ' ' {
            out.push(chars[i]);
            column += 1;
            i += 1;
            continue;
        }
        let end = (i..chars.len()).find(|&j| chars[j] != ' ').unwrap_or(chars.len());
        let inside = !quoted || (i > 1 && end < chars.len() - 1);
        if end == i + 1 && column > WIDTH && end < chars.len() && inside {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            column = indent;
        } else {
            out.extend(&chars[i..end]);
            column += end - i;
        }
        i = end;
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Mapping(_) => "{}".into(),
        Value::Sequence(_) => "[]".into(),
        Value::Tagged(t) => format!("{} {}", t.tag, scalar(&t.value)),
    }
}

/// Characters PyYAML does not write in a plain or single-quoted scalar as they are: controls, the
/// byte-order mark, the line separators YAML 1.1 reads as line breaks (`\u{85}`, `\u{2028}`,
/// `\u{2029}`), and what lies outside its printable ranges.
fn is_special(c: char) -> bool {
    c.is_control() || matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}' | '\u{fffe}' | '\u{ffff}')
}

fn string(s: &str) -> String {
    if s.chars().any(is_special) {
        return double_quoted(s);
    }
    if needs_quotes(s) {
        return format!("'{}'", s.replace('\'', "''"));
    }
    s.to_string()
}

/// A YAML double-quoted scalar holding `s` exactly, as PyYAML writes one (read the same by YAML
/// 1.2 readers such as js-yaml).
pub fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            // As PyYAML escapes what is outside its printable ranges (astral characters too).
            c if c as u32 > 0xFFFF => out.push_str(&format!("\\U{:08X}", c as u32)),
            c if is_special(c) => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn needs_quotes(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return true;
    };
    if s.starts_with(' ') || s.ends_with(' ') || s.ends_with(':') || s.contains(": ") || s.contains(" #") {
        return true;
    }
    // A leading indicator needs quotes; `-`, `?` and `:` only when a blank follows (or nothing),
    // as PyYAML decides in block context (`-x`, `?why`, `:x` stay plain).
    let blank_follows = s[first.len_utf8()..].chars().next().is_none_or(|c| c == ' ' || c == '\t');
    let plain_indicator = matches!(first, '-' | '?' | ':') && !blank_follows && !(first == '-' && looks_numeric(s));
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) && !plain_indicator {
        return true;
    }
    let lower = s.to_ascii_lowercase();
    matches!(lower.as_str(), "y" | "n" | "yes" | "no" | "true" | "false" | "on" | "off" | "null" | "~" | "<<" | "=")
        || looks_numeric(s)
        || looks_like_timestamp(s)
}

/// Integers and floats of YAML 1.1 and 1.2: decimal, octal, hex, binary, sexagesimal, `.inf`, `.nan`.
fn looks_numeric(s: &str) -> bool {
    let t = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = t.to_ascii_lowercase();
    if matches!(lower.as_str(), ".inf" | ".nan") || matches!(s.to_ascii_lowercase().as_str(), ".nan") {
        return true;
    }
    let digits = |x: &str, ok: fn(char) -> bool| !x.is_empty() && x.chars().all(|c| ok(c) || c == '_');
    if let Some(h) = lower.strip_prefix("0x") {
        return digits(h, |c| c.is_ascii_hexdigit());
    }
    if let Some(b) = lower.strip_prefix("0b") {
        return digits(b, |c| c == '0' || c == '1');
    }
    if let Some(o) = lower.strip_prefix("0o") {
        return digits(o, |c| ('0'..='7').contains(&c));
    }
    // Sexagesimal (1:30, 1:30.5): digit groups separated by colons.
    if t.contains(':') {
        return t.split(':').all(|p| digits(p.split('.').next().unwrap_or(""), |c| c.is_ascii_digit()))
            && t.chars().next().is_some_and(|c| c.is_ascii_digit());
    }
    // Decimal integer or float with an optional exponent.
    let (mantissa, exponent) = match lower.find('e') {
        Some(i) => (&lower[..i], Some(&lower[i + 1..])),
        None => (lower.as_str(), None),
    };
    let mut parts = mantissa.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    let int_ok = int.is_empty() || digits(int, |c| c.is_ascii_digit());
    let frac_ok = frac.is_none_or(|f| f.is_empty() || digits(f, |c| c.is_ascii_digit()));
    let has_digit = mantissa.chars().any(|c| c.is_ascii_digit());
    let exp_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e), |c| c.is_ascii_digit()));
    int_ok && frac_ok && has_digit && exp_ok && !mantissa.ends_with('_')
}

/// What YAML 1.1's timestamp resolver matches, whole: `2026-02-06`, or a date-time such as
/// `2026-2-6 10:30:00.5 +01:00` (a date of one-digit month or day needs a time).
fn looks_like_timestamp(s: &str) -> bool {
    fn digits(s: &str, min: usize, max: usize) -> Option<(&str, &str)> {
        let n = s.bytes().take(max).take_while(u8::is_ascii_digit).count();
        (n >= min).then(|| s.split_at(n))
    }
    fn date(s: &str) -> Option<(bool, &str)> {
        let (y, rest) = digits(s, 4, 4)?;
        let (m, rest) = digits(rest.strip_prefix('-')?, 1, 2)?;
        let (d, rest) = digits(rest.strip_prefix('-')?, 1, 2)?;
        Some((y.len() == 4 && m.len() == 2 && d.len() == 2, rest))
    }
    let Some((full_date, rest)) = date(s) else { return false };
    if rest.is_empty() {
        return full_date;
    }
    let rest = match rest.strip_prefix(['T', 't']) {
        Some(r) => r,
        None if rest.starts_with([' ', '\t']) => rest.trim_start_matches([' ', '\t']),
        None => return false,
    };
    let time = || -> Option<&str> {
        let (_, r) = digits(rest, 1, 2)?;
        let (_, r) = digits(r.strip_prefix(':')?, 2, 2)?;
        let (_, r) = digits(r.strip_prefix(':')?, 2, 2)?;
        Some(match r.strip_prefix('.') {
            Some(f) => f.trim_start_matches(|c: char| c.is_ascii_digit()),
            None => r,
        })
    };
    let Some(zone) = time() else { return false };
    let zone = zone.trim_start_matches([' ', '\t']);
    if zone.is_empty() || zone == "Z" {
        return true;
    }
    let Some(offset) = zone.strip_prefix(['+', '-']) else { return false };
    match digits(offset, 1, 2) {
        Some((_, "")) => true,
        Some((_, r)) => r.strip_prefix(':').and_then(|m| digits(m, 2, 2)).is_some_and(|(_, end)| end.is_empty()),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_manifest_the_way_pyyaml_does() {
        let text = "schema_version: '2026-02-06'\nconfig:\n  auto_commit: true\n  auto_push: false\nplugins:\n\
                    - name: Full Plugin\n  directory: full-plugin\n  source:\n    type: local\n    ref: null\n    url: null\n\
                    - name: fetch\n  directory: fetch\n  source:\n    type: registry\n    ref: c9c150ef486b89b11cf59fc5c0ad9076544da0d6\n    url: null\n";
        let v: Value = yaml_serde::from_str(text).unwrap();
        assert_eq!(to_string(&v), text);
        let empty: Value = yaml_serde::from_str("schema_version: '2026-02-06'\nplugins: []\n").unwrap();
        assert_eq!(to_string(&empty), "schema_version: '2026-02-06'\nplugins: []\n");
    }

    #[test]
    fn quotes_what_yaml_1_1_would_misread() {
        for s in [
            "2026-02-06",
            "yes",
            "No",
            "on",
            "~",
            "null",
            "123",
            "0755",
            "0x1F",
            "1.5",
            "1e5",
            ".inf",
            "1:30",
            "",
            " a",
            "a: b",
            "#x",
            "- x",
            "'q'",
            "-5",
            "+1",
        ] {
            assert!(string(s).starts_with('\''), "{s:?} -> {}", string(s));
        }
        for s in [
            "c9c150ef486b89b11cf59fc5c0ad9076544da0d6",
            "24fea11b",
            "my-plugin",
            "http://x/y",
            "Piper TTS",
            "a-b",
            "-x",
        ] {
            assert_eq!(string(s), s);
        }
        assert_eq!(string("a\nb"), "\"a\\nb\"");
    }

    #[test]
    fn long_strings_fold_like_pyyaml() {
        let long = "word ".repeat(30).trim_end().to_string();
        let v: Value = yaml_serde::from_str(&format!("a:\n- k: '{long}'\n  q: 'x: {long}'\n")).unwrap();
        let text = to_string(&v);
        assert!(text.lines().all(|l| l.chars().count() <= 86), "{text}");
        assert!(text.contains("\n    word"), "continuation lines are indented under the key: {text}");
        let back: Value = yaml_serde::from_str(&text).unwrap();
        assert_eq!(v, back);
    }

    #[test]
    fn output_parses_back_to_the_same_value() {
        let text = "a:\n- [1, 2]\n- {x: 'it''s', y: []}\n- - nested\n  - 'yes'\nb: {}\nc: \"tab\\there\"\n";
        let v: Value = yaml_serde::from_str(text).unwrap();
        let back: Value = yaml_serde::from_str(&to_string(&v)).unwrap();
        assert_eq!(v, back, "{}", to_string(&v));
    }
}
