//! Secrets: which variables hold one, how a secret value is shown (never, in any part), and the
//! one scrubber that takes every secret value out of text atk repeats (a program's output, an
//! error quoting a command line), in every encoding the value can take there.
//!
//! A variable holds a secret when the plugin declares it `secret: true`, or when its name looks
//! like a secret's ([`looks_secret`]). A secret value is shown as [`MASK`], whatever its length:
//! no character of it, and not its length either.
//!
//! The scrubber matches a value spelled character by character in any of these forms, mixed
//! freely: as it is; backslash-escaped (a shell's double quotes, `printf %q`, JSON's `\"`, `\\`
//! and `\/`); a `'` closed and reopened in single quotes (`'\''`, as `lifecycle::shell_quote`
//! writes it, and `'"'"'`, as Python's `shlex.quote` does); JSON's `\n`-style and `\uXXXX`
//! escapes (either case, surrogate pairs for characters outside the BMP); percent-encoded (upper
//! or lower hex, per byte of UTF-8) with `+` for a space; and each of those JSON-escaped once more
//! (a command line quoted for the shell, inside a JSON string); a control character also as atk's
//! own `text::escape` writes it (`\x1b`, `\u{85}`).

use std::collections::HashSet;

/// What a secret value is shown as.
pub const MASK: &str = "********";

/// Values shorter than this (in characters) are not taken out of free text (a program's output):
/// there, a two-letter secret would turn every such pair of letters into [`MASK`]. They are still
/// never shown as a value: wherever atk shows the value itself, it shows [`MASK`].
pub const SHORTEST_SCRUBBED: usize = 4;

/// Whether a variable's name looks like a secret's, so that its value is masked even when the
/// plugin does not declare it `secret: true`. Case-insensitive, as shell globs over the name:
/// `*TOKEN*`, `*SECRET*`, `*PASSWORD*`, `*PASSWD*`, `*PASSPHRASE*`, `*CREDENTIAL*`, `*AUTH*`
/// anywhere in it; `*PASS`, `*KEY`, `*KEYS` and `*_PWD`
/// only at its end, once digits and `_` there are left out (`API_KEY`, `APIKEY`, `DB_PASS`,
/// `API_KEY2`, `AWS_KEY_1`, `MYSQL_PWD`; not `KEYBOARD_LAYOUT`, `PASSAGE_DIR`, `KEY_ID` or `PWD`). A name
/// that merely ends so (`MONKEY`, `BYPASS`) is masked too: hiding a value that was not secret
/// costs a look at the file, showing one that was cannot be undone.
pub fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let anywhere = ["TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "CREDENTIAL", "AUTH"];
    let stem = upper.trim_end_matches(|c: char| c.is_ascii_digit() || c == '_');
    anywhere.iter().any(|w| upper.contains(w)) || ["PASS", "KEY", "KEYS", "_PWD"].iter().any(|w| stem.ends_with(w))
}

/// The names of files that hold secrets, as git's wildmatch patterns: a plugin's `.env` and its
/// variants. The home's `.gitignore` ends with them (never committed), and a backup leaves such
/// files out unless asked.
pub const SECRET_FILE_PATTERNS: [&str; 2] = ["*.env", ".env.*"];

/// Whether a file named `file_name` (one component) holds secrets: it matches one of
/// [`SECRET_FILE_PATTERNS`] by git's own wildmatch (`*.env` takes `.env` too).
pub fn is_secret_file(file_name: &str) -> bool {
    use gix::glob::wildmatch::Mode;
    SECRET_FILE_PATTERNS
        .iter()
        .any(|p| gix::glob::wildmatch((*p).into(), file_name.into(), Mode::NO_MATCH_SLASH_LITERAL))
}

/// Whether the variable `name` holds a secret: declared so, or named like one.
pub fn is_secret(name: &str, declared_secret: bool) -> bool {
    declared_secret || looks_secret(name)
}

/// One way a character may be written: its bytes, and whether they compare ignoring ASCII case
/// (hex digits of an escape).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Spelling {
    bytes: Vec<u8>,
    any_case: bool,
}

impl Spelling {
    fn exact(s: impl Into<String>) -> Spelling {
        Spelling { bytes: s.into().into_bytes(), any_case: false }
    }
    fn hex(s: String) -> Spelling {
        Spelling { bytes: s.into_bytes(), any_case: true }
    }
    /// Whether `text` ends at `pos` inside this spelling: what is left of it is a start of it.
    fn cut_at(&self, text: &[u8], pos: usize) -> bool {
        let rest = text.get(pos..).unwrap_or_default();
        rest.len() < self.bytes.len() && {
            let start = &self.bytes[..rest.len()];
            if self.any_case {
                rest.eq_ignore_ascii_case(start)
            } else {
                rest == start
            }
        }
    }
    fn at(&self, text: &[u8], pos: usize) -> bool {
        text.get(pos..pos + self.bytes.len()).is_some_and(|t| {
            if self.any_case {
                t.eq_ignore_ascii_case(&self.bytes)
            } else {
                t == self.bytes.as_slice()
            }
        })
    }
}

/// JSON's escape of `s` as serde_json writes it inside a string (without the quotes).
fn json_inner(s: &str) -> String {
    let quoted = serde_json::to_string(s).expect("a string serializes");
    quoted[1..quoted.len() - 1].to_string()
}

/// Every way the character `c` may be written in text that repeats it (see the module's doc).
fn spellings(c: char) -> Vec<Spelling> {
    let mut first: Vec<Spelling> = vec![Spelling::exact(c.to_string())];
    if c.is_ascii() && !c.is_ascii_alphanumeric() && !c.is_ascii_control() {
        first.push(Spelling::exact(format!("\\{c}")));
    }
    if c == '\'' {
        first.push(Spelling::exact("'\\''"));
        first.push(Spelling::exact("'\"'\"'"));
    }
    if c == ' ' {
        first.push(Spelling::exact("+"));
    }
    // atk's own escape of a control character in text it repeats (`text::escape`).
    if c.is_control() && (c as u32) < 0x100 {
        first.push(Spelling::hex(format!("\\x{:02x}", c as u32)));
    }
    if c.is_control() {
        first.push(Spelling::hex(format!("\\u{{{:x}}}", c as u32)));
    }
    let mut utf8 = [0u8; 4];
    let pct: String = c.encode_utf8(&mut utf8).bytes().map(|b| format!("%{b:02X}")).collect();
    first.push(Spelling::hex(pct));
    let mut out = first.clone();
    // JSON: serde's short escapes, `\uXXXX` for any character, and every spelling above escaped.
    for s in &first {
        if !s.any_case {
            let json = json_inner(std::str::from_utf8(&s.bytes).expect("spellings are UTF-8"));
            if json.as_bytes() != s.bytes.as_slice() {
                out.push(Spelling::exact(json));
            }
        }
    }
    let mut units = [0u16; 2];
    let u: String = c.encode_utf16(&mut units).iter().map(|u| format!("\\u{u:04X}")).collect();
    out.push(Spelling::hex(u));
    let mut seen = HashSet::new();
    out.retain(|s| seen.insert(s.clone()));
    // Longest first: the match that takes the most of an escape is found first.
    out.sort_by_key(|s| std::cmp::Reverse(s.bytes.len()));
    out
}

/// One secret value as the characters it is made of, each with its spellings (kept once per
/// distinct character: a long value costs an index a character, not its spellings again).
#[derive(Debug, Clone)]
struct Pattern {
    /// The spellings of each distinct character of the value.
    table: Vec<Vec<Spelling>>,
    /// The value, as indexes into `table`.
    chars: Vec<u32>,
    /// How many of the characters are the words before the value that name it (they stay).
    keep: usize,
}

impl Pattern {
    fn new(value: &str) -> Pattern {
        Pattern::of(value.chars(), 0)
    }

    fn of(chars: impl Iterator<Item = char>, keep: usize) -> Pattern {
        let mut index: std::collections::HashMap<char, u32> = std::collections::HashMap::new();
        let mut table = Vec::new();
        let chars = chars
            .map(|c| {
                *index.entry(c).or_insert_with(|| {
                    table.push(spellings(c));
                    (table.len() - 1) as u32
                })
            })
            .collect();
        Pattern { table, chars, keep }
    }

    /// The spellings of the value's character `k`.
    fn slot(&self, k: usize) -> &[Spelling] {
        &self.table[self.chars[k] as usize]
    }

    /// A value after the words `before` that name it (`API_KEY=`): a match keeps the words.
    fn named(before: &str, value: &str) -> Pattern {
        Pattern::of(before.chars().chain(value.chars()), before.chars().count())
    }

    /// The end of the longest spelling of the value from its character `from` on that starts at
    /// `start`; with `cut_after`, text that ends inside the value (a start of its rest) is one too.
    fn longest_from(&self, text: &[u8], start: usize, from: usize, cut_after: bool, work: &Work) -> Option<usize> {
        self.longest_until(text, start, from, self.chars.len(), cut_after, work)
    }

    /// What a match from `start` to `end` becomes: [`MASK`], after the words that name the value
    /// as the text spells them.
    fn shown(&self, text: &[u8], start: usize, end: usize, work: &Work) -> Vec<u8> {
        let kept = match self.keep {
            0 => start,
            keep => self.longest_until(text, start, 0, keep, false, work).unwrap_or(start).min(end),
        };
        [&text[start..kept], MASK.as_bytes()].concat()
    }

    /// [`Pattern::longest_from`] of the characters before `until` only.
    fn longest_until(
        &self,
        text: &[u8],
        start: usize,
        from: usize,
        until: usize,
        cut_after: bool,
        work: &Work,
    ) -> Option<usize> {
        let mut best = None;
        let mut seen = HashSet::new();
        let mut stack = vec![(from, start)];
        while let Some((k, pos)) = stack.pop() {
            if !work.step() {
                return None;
            }
            if k == until {
                best = best.max(Some(pos));
                continue;
            }
            if cut_after && pos == text.len() && pos > start {
                best = Some(pos);
                continue;
            }
            if !seen.insert((k, pos)) {
                continue;
            }
            for s in self.slot(k) {
                if s.at(text, pos) {
                    stack.push((k + 1, pos + s.bytes.len()));
                } else if cut_after && s.cut_at(text, pos) {
                    best = Some(text.len());
                }
            }
        }
        best
    }
}

/// How much searching one text may cost: a fixed part and a part per byte of the text. Real
/// values fail to match within a character or two, so a scrub costs a few steps per byte; a value
/// made to match at length everywhere (one letter repeated, in text of that letter) would cost the
/// text's length times the value's, and is stopped here instead.
struct Work {
    left: std::cell::Cell<u64>,
}

impl Work {
    const FIXED: u64 = 1_000_000;
    const PER_BYTE: u64 = 16;

    fn for_text(len: usize) -> Work {
        Work { left: (Work::FIXED + Work::PER_BYTE * len as u64).into() }
    }

    /// Takes one step; false once the budget is spent.
    fn step(&self) -> bool {
        let left = self.left.get();
        self.left.set(left.saturating_sub(1));
        left > 0
    }

    fn spent(&self) -> bool {
        self.left.get() == 0
    }
}

/// Takes secret values out of text: every spelling of each becomes [`MASK`].
#[derive(Debug, Clone, Default)]
pub struct Scrubber {
    patterns: Vec<Pattern>,
    /// The bytes a spelling can start with.
    starts: Vec<bool>,
}

impl Scrubber {
    /// A scrubber for `values`: every non-empty one, however short (for text atk builds itself
    /// from values, such as a command line it shows).
    pub fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Scrubber {
        Scrubber::longer_than(values, 0)
    }

    /// A scrubber for free text, such as a program's output: values shorter than
    /// [`SHORTEST_SCRUBBED`] characters are left out (see there).
    pub fn for_output<'a>(values: impl IntoIterator<Item = &'a str>) -> Scrubber {
        Scrubber::longer_than(values, SHORTEST_SCRUBBED - 1)
    }

    fn longer_than<'a>(values: impl IntoIterator<Item = &'a str>, shorter: usize) -> Scrubber {
        let mut unique: Vec<&str> =
            values.into_iter().filter(|v| !v.is_empty() && v.chars().count() > shorter).collect();
        unique.sort_unstable();
        unique.dedup();
        Scrubber::of(unique.into_iter().map(Pattern::new).collect())
    }

    fn of(patterns: Vec<Pattern>) -> Scrubber {
        let mut starts = vec![false; 256];
        for s in patterns.iter().flat_map(|p| p.slot(0)) {
            let b = s.bytes[0];
            starts[usize::from(b)] = true;
            if s.any_case {
                starts[usize::from(b.to_ascii_lowercase())] = true;
                starts[usize::from(b.to_ascii_uppercase())] = true;
            }
        }
        Scrubber { patterns, starts }
    }

    /// This scrubber, and for each `(name, value)` whose value is too short to be taken out of
    /// free text alone ([`SHORTEST_SCRUBBED`]), the value where its name says what it is: as a
    /// program repeats the words it was given, `NAME=value` (`-e API_KEY=ab`, an environment
    /// listing) and JSON's `"NAME":"value"` and `"NAME": "value"`, in every encoding; the name
    /// stays and the value becomes [`MASK`].
    pub fn with_named<'a>(self, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Scrubber {
        let mut patterns = self.patterns;
        for (name, value) in pairs {
            if value.is_empty() || value.chars().count() >= SHORTEST_SCRUBBED {
                continue;
            }
            for before in [format!("{name}="), format!("\"{name}\":\""), format!("\"{name}\": \"")] {
                patterns.push(Pattern::named(&before, value));
            }
        }
        Scrubber::of(patterns)
    }

    /// The end of the longest spelling of any value at `pos`, and its pattern.
    fn longest_at(&self, bytes: &[u8], pos: usize, cut_after: bool, work: &Work) -> Option<(usize, &Pattern)> {
        if !self.starts[usize::from(bytes[pos])] {
            return None;
        }
        self.patterns
            .iter()
            // (A value whose first character is not here costs nothing: only a start is searched on.)
            .filter(|p| p.slot(0).iter().any(|s| s.at(bytes, pos) || cut_after && s.cut_at(bytes, pos)))
            .filter_map(|p| Some((p.longest_from(bytes, pos, 0, cut_after, work)?, p)))
            .max_by_key(|(end, _)| *end)
    }

    /// The end of a match from `start` to `end` made longer by every value that starts inside it
    /// and ends after it (`abcdef` and `defghi` in `abcdefghi`: none of `ghi` is left).
    fn overlapping(&self, bytes: &[u8], start: usize, mut end: usize, cut_after: bool, work: &Work) -> usize {
        let mut q = start + 1;
        while q < end && !work.spent() {
            if let Some((e, _)) = self.longest_at(bytes, q, cut_after, work).filter(|(e, _)| *e > end) {
                end = e;
            }
            q += 1;
        }
        end
    }

    /// `text` with every spelling of every value replaced by [`MASK`] (the longest match at the
    /// leftmost place first, with every value that overlaps it).
    pub fn scrub(&self, text: &str) -> String {
        self.scrub_cut(text, false, false)
    }

    /// [`Scrubber::scrub`] of a piece of text cut out of more (atk keeps the start and the end of
    /// a flood of output): a value that runs across a cut, of which only a part is here, is taken
    /// out too. `cut_before`: the text starts where something was cut; `cut_after`: it ends so.
    pub fn scrub_cut(&self, text: &str, cut_before: bool, cut_after: bool) -> String {
        if self.patterns.is_empty() {
            return text.to_string();
        }
        let bytes = text.as_bytes();
        let work = Work::for_text(bytes.len());
        let mut out = Vec::with_capacity(bytes.len());
        let mut pos = 0;
        let mut copied = 0;
        if cut_before {
            // The longest rest of a value (its characters from the second on) the text starts with.
            let rest = self
                .patterns
                .iter()
                .filter_map(|p| (1..p.chars.len()).find_map(|k| p.longest_from(bytes, 0, k, cut_after, &work)))
                .max();
            if let Some(end) = rest.filter(|e| *e > 0) {
                let end = self.overlapping(bytes, 0, end, cut_after, &work);
                // (What is left of a value named before the cut is the value.)
                out.extend_from_slice(MASK.as_bytes());
                pos = end;
                copied = end;
            }
        }
        while pos < bytes.len() && !work.spent() {
            match self.longest_at(bytes, pos, cut_after, &work) {
                Some((end, p)) if end > pos => {
                    let end = self.overlapping(bytes, pos, end, cut_after, &work);
                    out.extend_from_slice(&bytes[copied..pos]);
                    out.extend_from_slice(&p.shown(bytes, pos, end, &work));
                    pos = end;
                    copied = end;
                }
                _ => pos += 1,
            }
        }
        if work.spent() {
            // Text made to be slow to search (a value of one letter repeated, said back at length)
            // is not shown at all: what could not be checked might hold a secret.
            return format!(
                "[{} withheld: it could not be checked for secrets]",
                crate::error::plural(bytes.len(), "byte")
            );
        }
        out.extend_from_slice(&bytes[copied..]);
        // Every spelling is whole UTF-8 characters, so cuts fall between characters.
        String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_look_secret() {
        for n in [
            "GITHUB_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "db_password",
            "DB_PASS",
            "API_KEY",
            "APIKEY",
            "OPENAI_API_KEY",
            "GOOGLE_CREDENTIALS",
            "AUTH_HEADER",
            "OAUTH_CLIENT",
            "Token",
            "MONKEY",
            "MYSQL_PASSWD",
            "OPENAI_API_KEY_2",
            "API_KEY2",
            "API_KEYS",
            "AWS_KEY_1",
            "SSH_PASSPHRASE",
            "MYSQL_PWD",
            "db_pass_3",
        ] {
            assert!(looks_secret(n), "{n}");
        }
        for n in [
            "KEYBOARD_LAYOUT",
            "PORT",
            "HOST",
            "PASSAGE_DIR",
            "LOG_LEVEL",
            "KEY_ID",
            "PATH",
            "PWD",
            "OLDPWD",
            "PORT_2",
            "API_KEY_ID",
        ] {
            assert!(!looks_secret(n), "{n}");
        }
        assert!(is_secret("PORT", true) && !is_secret("PORT", false));
    }

    #[test]
    fn every_encoding_is_scrubbed() {
        let v = "a b\"c'd/e+f=g==\\h$i`j&k?é";
        let s = Scrubber::new([v]);
        let json = serde_json::to_string(v).unwrap();
        let single = format!("'{}'", v.replace('\'', "'\\''"));
        let shlex = format!("'{}'", v.replace('\'', "'\"'\"'"));
        let double = format!(
            "\"{}\"",
            v.chars().map(|c| if "\\\"$`".contains(c) { format!("\\{c}") } else { c.to_string() }).collect::<String>()
        );
        let pct_upper: String = v
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        let pct_lower = pct_upper.to_lowercase();
        let form = pct_upper.replace("%20", "+");
        let json_of_shell = serde_json::to_string(&single).unwrap();
        let ascii_json: String = v
            .chars()
            .map(|c| if c.is_ascii() { json_inner(&c.to_string()) } else { format!("\\u{:04x}", c as u32) })
            .collect();
        for enc in [v.to_string(), json, single, shlex, double, pct_upper, pct_lower, form, json_of_shell, ascii_json] {
            let text = format!("before {enc} after");
            let out = s.scrub(&text);
            assert!(out.starts_with("before ") && out.ends_with(" after"), "{enc} -> {out}");
            assert!(out.contains(MASK), "{enc} -> {out}");
            for tail in v.chars().collect::<Vec<_>>().windows(4) {
                let tail: String = tail.iter().collect();
                assert!(!out.contains(&tail), "{enc} -> {out} shows {tail}");
            }
        }
    }

    #[test]
    fn other_text_is_left_alone() {
        let s = Scrubber::new(["c2VjcmV0IQ=="]);
        assert_eq!(s.scrub("key c2VjcmV0IQ== and c2VjcmV0IQ%3D%3d, c2Vj"), format!("key {MASK} and {MASK}, c2Vj"));
        assert_eq!(s.scrub("nothing here: é ✓"), "nothing here: é ✓");
        assert_eq!(Scrubber::for_output(["abc"]).scrub("abc"), "abc");
        assert_eq!(Scrubber::new(["abc"]).scrub("xabcx"), format!("x{MASK}x"));
        // A control character in a secret, as atk's own escape writes it in text it repeats.
        let v = "ab\x1bcd\u{85}ef";
        let shown = crate::text::escape(&format!("say {v}!")).into_owned();
        assert_eq!(Scrubber::for_output([v]).scrub(&shown), format!("say {MASK}!"));
        // A short value where its name says what it is.
        let s = Scrubber::for_output(["long-value"]).with_named([("PIN", "ab"), ("K", "long-value")]);
        assert_eq!(
            s.scrub(r#"-e PIN=ab tab 'PIN=ab' {"PIN":"ab"} {\"PIN\": \"ab\"} PIN%3Dab K=long-value"#),
            format!(
                r#"-e PIN={MASK} tab 'PIN={MASK}' {{"PIN":"{MASK}"}} {{\"PIN\": \"{MASK}\"}} PIN%3D{MASK} K={MASK}"#
            )
        );
        // Two values that overlap: all of both goes.
        assert_eq!(
            Scrubber::new(["Qm4Zr8Tn1Xw7", "1Xw7Hv2Kp9Ld"]).scrub("x Qm4Zr8Tn1Xw7Hv2Kp9Ld y"),
            format!("x {MASK} y")
        );
        assert_eq!(Scrubber::new(["abcd", "cdef", "efgh"]).scrub("abcdefgh!"), format!("{MASK}!"));
        // The longest value wins where two start at one place.
        assert_eq!(Scrubber::new(["abcd", "abcdef"]).scrub("abcdefg"), format!("{MASK}g"));
    }

    #[test]
    fn text_made_to_be_slow_to_search_is_withheld_not_searched_for_ever() {
        // A value of one letter repeated, in text of that letter: every place matches at length.
        let value = "a".repeat(20_000);
        let text = "a".repeat(131_072);
        let scrubber = Scrubber::for_output([value.as_str()]);
        let shown = scrubber.scrub(&text);
        assert_eq!(shown, "[131072 bytes withheld: it could not be checked for secrets]");
        let shown = scrubber.scrub_cut(&text, true, true);
        assert!(shown.starts_with("[131072 bytes withheld"), "{shown:.80}");
        // Real values in real text stay well within the budget, however many there are.
        let values: Vec<String> = (0..40).map(|i| format!("s3cr3t-{i:02}-Zq8Xw{}", i * 7919)).collect();
        let scrubber = Scrubber::for_output(values.iter().map(String::as_str));
        let mut text = "ordinary output, line after line of it; s3cr3t almost but not quite\n".repeat(1800);
        text.push_str(&values[17]);
        let shown = scrubber.scrub(&text);
        assert!(shown.ends_with(MASK) && !shown.contains("withheld"), "{:.80}", &shown[shown.len() - 80..]);
    }

    #[test]
    fn a_value_across_a_cut_is_taken_out() {
        let s = Scrubber::for_output(["ghp_Zq8vRt3WmX0p", "a b/c"]);
        assert_eq!(s.scrub_cut("xx ghp_Zq8v", false, true), format!("xx {MASK}"));
        assert_eq!(s.scrub_cut("Rt3WmX0p yy", true, false), format!("{MASK} yy"));
        assert_eq!(s.scrub_cut("q8vRt3", true, true), MASK);
        // Part of an escape at the cut, and the rest of an encoded value after one.
        assert_eq!(s.scrub_cut("x a%20b%2", false, true), format!("x {MASK}"));
        assert_eq!(s.scrub_cut("b%2Fc!", true, false), format!("{MASK}!"));
        // Without a cut, a part is a part: it stays (it is no value).
        assert_eq!(s.scrub("xx ghp_Zq8v"), "xx ghp_Zq8v");
        assert_eq!(s.scrub_cut("no secret here", true, true), "no secret here");
    }
}
