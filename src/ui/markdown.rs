//! A plugin's README for a terminal: the Markdown a README uses (headings, paragraphs, lists,
//! quotes, code blocks, rules, emphasis, inline code, links), rendered as text wrapped to the
//! terminal's width, with bold and dim when colors are on. Not a full CommonMark renderer: what it
//! does not know (a table, HTML) is shown as written. The text comes in escaped already (no
//! control character of the plugin's reaches the terminal).

use console::{measure_text_width, Style};

/// `md` as terminal text `width` columns wide; `colors`: bold, italics and dim, else plain.
pub fn render(md: &str, width: usize, colors: bool) -> String {
    let st = Styles::new(colors);
    let mut out: Vec<String> = Vec::new();
    let mut paragraph: Vec<String> = Vec::new();
    let mut fence: Option<String> = None;
    let flush = |paragraph: &mut Vec<String>, out: &mut Vec<String>| {
        if !paragraph.is_empty() {
            let text = paragraph.join(" ");
            out.extend(wrap(&inline(&text, &st), width, "", ""));
            out.push(String::new());
            paragraph.clear();
        }
    };
    for raw in md.lines() {
        let line = raw.trim_end();
        if let Some(f) = &fence {
            if line.trim_start().starts_with(f.as_str()) {
                fence = None;
                out.push(String::new());
            } else {
                out.push(st.dim.apply_to(format!("    {line}")).to_string());
            }
            continue;
        }
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            flush(&mut paragraph, &mut out);
            fence = Some(trimmed[..3].to_string());
            continue;
        }
        if trimmed.is_empty() {
            flush(&mut paragraph, &mut out);
            // Blank lines between blocks: one.
            if out.last().is_some_and(|l| !l.is_empty()) {
                out.push(String::new());
            }
            continue;
        }
        let hashes = trimmed.bytes().take_while(|b| *b == b'#').count();
        if (1..=6).contains(&hashes) && trimmed[hashes..].starts_with(' ') {
            flush(&mut paragraph, &mut out);
            let title = inline(trimmed[hashes..].trim().trim_end_matches('#').trim(), &st);
            out.push(st.heading.apply_to(&title).to_string());
            if hashes == 1 {
                out.push("═".repeat(measure_text_width(&title).min(width)));
            }
            out.push(String::new());
            continue;
        }
        if is_rule(trimmed) {
            flush(&mut paragraph, &mut out);
            out.push(st.dim.apply_to("─".repeat(width.min(60))).to_string());
            out.push(String::new());
            continue;
        }
        if let Some(quote) = trimmed.strip_prefix('>') {
            flush(&mut paragraph, &mut out);
            out.extend(wrap(&inline(quote.trim_start(), &st), width, "│ ", "│ "));
            continue;
        }
        if let Some((marker, rest)) = list_item(trimmed) {
            flush(&mut paragraph, &mut out);
            let indent = " ".repeat((line.len() - trimmed.len()).min(8));
            let first = format!("{indent}{marker} ");
            let hang = " ".repeat(measure_text_width(&first));
            out.extend(wrap(&inline(rest, &st), width, &first, &hang));
            continue;
        }
        if trimmed.starts_with('|') || line.starts_with("    ") {
            // A table or an indented code block: as written.
            flush(&mut paragraph, &mut out);
            out.push(line.to_string());
            continue;
        }
        paragraph.push(trimmed.to_string());
    }
    flush(&mut paragraph, &mut out);
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out.join("\n")
}

struct Styles {
    heading: Style,
    bold: Style,
    italic: Style,
    code: Style,
    dim: Style,
}

impl Styles {
    fn new(colors: bool) -> Styles {
        let s = |style: Style| style.force_styling(colors);
        Styles {
            heading: s(Style::new().bold().yellow()),
            bold: s(Style::new().bold()),
            italic: s(Style::new().italic()),
            code: s(Style::new().cyan()),
            dim: s(Style::new().dim()),
        }
    }
}

fn is_rule(line: &str) -> bool {
    let chars: Vec<char> = line.chars().filter(|c| !c.is_whitespace()).collect();
    chars.len() >= 3 && ['-', '*', '_'].iter().any(|m| chars.iter().all(|c| c == m))
}

/// `- x`, `* x`, `+ x` (a bullet) or `1. x` (its number).
fn list_item(line: &str) -> Option<(String, &str)> {
    for bullet in ["- ", "* ", "+ "] {
        if let Some(rest) = line.strip_prefix(bullet) {
            return Some(("•".into(), rest));
        }
    }
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    if (1..=3).contains(&digits) {
        if let Some(rest) = line[digits..].strip_prefix(". ") {
            return Some((line[..digits + 1].to_string(), rest));
        }
    }
    None
}

/// Emphasis, inline code and links of one line of text.
fn inline(text: &str, st: &Styles) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        // `code`: as written, marked.
        if c == '`' {
            if let Some(end) = rest[1..].find('`') {
                out.push_str(&st.code.apply_to(&rest[1..1 + end]).to_string());
                rest = &rest[end + 2..];
                continue;
            }
        }
        // **bold** and __bold__, then *italic* and _italic_.
        let mut matched = false;
        for (mark, style) in [("**", &st.bold), ("__", &st.bold), ("*", &st.italic), ("_", &st.italic)] {
            if let Some(inner) = rest.strip_prefix(mark) {
                if let Some(end) = inner.find(mark).filter(|e| *e > 0 && !inner.starts_with(' ')) {
                    out.push_str(&style.apply_to(inline(&inner[..end], st)).to_string());
                    rest = &inner[end + mark.len()..];
                    matched = true;
                    break;
                }
            }
        }
        if matched {
            continue;
        }
        // [text](url) and ![alt](url): the text, then the address.
        let image = rest.starts_with("![");
        if c == '[' || image {
            let open = if image { 2 } else { 1 };
            if let Some(close) = rest.find("](") {
                if let Some(end) = rest[close + 2..].find(')') {
                    let label = inline(&rest[open..close], st);
                    let url = &rest[close + 2..close + 2 + end];
                    if image || label == url {
                        out.push_str(&label);
                    } else {
                        out.push_str(&format!("{label} ({})", st.dim.apply_to(url)));
                    }
                    rest = &rest[close + 3 + end..];
                    continue;
                }
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// `text` in lines of at most `width` columns (a longer word stands alone), the first starting
/// with `first`, the others with `rest`.
fn wrap(text: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        let needed = measure_text_width(&line) + usize::from(!empty) + measure_text_width(word);
        if !empty && needed > width {
            lines.push(std::mem::replace(&mut line, rest.to_string()));
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    lines.push(line);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_becomes_plain_wrapped_text_without_colors() {
        let md = "# Title\n\nSome **bold** and *italic* words, `code`, and a [link](https://x.y/z).\n\n\
                  - one item that is long enough to wrap across the narrow width\n- two\n\n\
                  1. first\n\n> quoted\n\n```sh\natk add x\n```\n\n---\n\n| a | b |\n";
        let out = render(md, 30, false);
        let want = [
            "Title",
            "═════",
            "",
            "Some bold and italic words,",
            "code, and a link",
            "(https://x.y/z).",
            "",
            "• one item that is long enough",
            "  to wrap across the narrow",
            "  width",
            "• two",
            "",
            "1. first",
            "",
            "│ quoted",
            "",
            "    atk add x",
            "",
            "──────────────────────────────",
            "",
            "| a | b |",
        ];
        assert_eq!(out, want.join("\n"));
        assert!(!out.contains('\u{1b}'));
    }

    #[test]
    fn with_colors_headings_and_emphasis_are_styled() {
        let out = render("## Usage\n\nIt is **fast**.\n", 40, true);
        assert!(out.contains("\u{1b}[") && out.contains("Usage") && out.contains("fast"), "{out:?}");
        assert!(!out.contains("##") && !out.contains("**"), "{out:?}");
        // Unclosed marks stay as written; a lone `*` too.
        assert_eq!(render("a * b and **c", 40, false), "a * b and **c");
    }
}
