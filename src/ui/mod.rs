//! How atk talks to a person or a program. One printer decides what goes to stdout (results, or
//! the one JSON document with `--json`) and stderr (warnings, errors, prompts, progress).

pub mod markdown;
mod prompt;

use std::io::{IsTerminal, Write};

use console::Style;

use crate::error::Error;
use crate::reporter::Progress;
use crate::text::for_terminal;

pub struct Ui {
    pub json: bool,
    pub quiet: bool,
    pub verbose: bool,
    /// Prompts are possible: a terminal on stdin, stdout and stderr, not CI, no `--yes`.
    pub interactive: bool,
    /// `--yes`: confirmations are taken as given.
    pub yes: bool,
    out_color: bool,
    err_color: bool,
}

fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// CI is set to something other than an explicit "false"/"0".
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

impl Ui {
    pub fn new(json: bool, quiet: bool, verbose: bool, yes: bool) -> Self {
        let (out_tty, err_tty, in_tty) =
            (std::io::stdout().is_terminal(), std::io::stderr().is_terminal(), std::io::stdin().is_terminal());
        Ui {
            json,
            quiet,
            verbose,
            yes,
            interactive: in_tty && out_tty && err_tty && !in_ci() && !yes,
            out_color: out_tty && !no_color(),
            err_color: err_tty && !no_color(),
        }
    }

    fn paint(&self, on: bool, style: Style, s: &str) -> String {
        style.force_styling(on).apply_to(s).to_string()
    }

    /// Whether stdout gets colors (a terminal, no `NO_COLOR`).
    pub fn colors(&self) -> bool {
        self.out_color
    }

    /// Styles for text on stdout.
    pub fn bold(&self, s: &str) -> String {
        self.paint(self.out_color, Style::new().bold(), s)
    }
    pub fn dim(&self, s: &str) -> String {
        self.paint(self.out_color, Style::new().dim(), s)
    }
    pub fn green(&self, s: &str) -> String {
        self.paint(self.out_color, Style::new().green(), s)
    }
    pub fn yellow(&self, s: &str) -> String {
        self.paint(self.out_color, Style::new().yellow(), s)
    }
    pub fn red(&self, s: &str) -> String {
        self.paint(self.out_color, Style::new().red(), s)
    }
    pub fn cyan(&self, s: &str) -> String {
        self.paint(self.out_color, Style::new().cyan(), s)
    }

    /// A result line for a person (not with `--json` or `-q`).
    pub fn line(&self, s: impl AsRef<str>) {
        if !self.json && !self.quiet {
            let _ = writeln!(std::io::stdout(), "{}", for_terminal(s.as_ref()));
        }
    }

    /// A line of what is about to be done, shown before the question about it (an upgrade's
    /// plan): on stdout for a person; with `--json`, whose stdout is the one document, on stderr,
    /// so that the question (or the hint that asks for `--yes`) still has it above. Not with `-q`.
    pub fn preview(&self, s: impl AsRef<str>) {
        if self.json {
            self.note(s);
        } else {
            self.line(s);
        }
    }

    /// `✓ message`: an operation succeeded.
    pub fn success(&self, s: impl AsRef<str>) {
        self.line(format!("{} {}", self.green("✓"), s.as_ref()));
    }

    /// A line shown only with `-v`, on stderr.
    pub fn detail(&self, s: impl AsRef<str>) {
        if self.verbose {
            let _ = writeln!(std::io::stderr(), "{}", for_terminal(s.as_ref()));
        }
    }

    /// A note on stderr, for a person (not with `-q`).
    pub fn note(&self, s: impl AsRef<str>) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr(), "{}", for_terminal(s.as_ref()));
        }
    }

    pub fn warn(&self, s: impl AsRef<str>) {
        let label = self.paint(self.err_color, Style::new().yellow().bold(), "warning:");
        let _ = writeln!(std::io::stderr(), "{label} {}", for_terminal(s.as_ref()));
    }

    /// A `hint: …` line under a warning, on stderr.
    pub fn hint(&self, s: impl AsRef<str>) {
        let label = self.paint(self.err_color, Style::new().cyan(), "hint:");
        let _ = writeln!(std::io::stderr(), "{label} {}", for_terminal(s.as_ref()));
    }

    /// A failing plugin of an `--all` run: `✗ name: why` and its hints, on stderr.
    pub fn failure(&self, name: &str, e: &Error) {
        let mut err = std::io::stderr().lock();
        let mark = self.paint(self.err_color, Style::new().red(), "✗");
        let _ = writeln!(err, "{mark} {}: {}", crate::text::escape(name), for_terminal(&e.to_string()));
        for h in e.hints() {
            let _ =
                writeln!(err, "    {} {}", self.paint(self.err_color, Style::new().cyan(), "hint:"), for_terminal(&h));
        }
    }

    /// The error that ends the command, on stderr with its hints; with `--json`, also as the
    /// command's one JSON document on stdout.
    pub fn error(&self, e: &Error) {
        if self.json {
            self.json(&serde_json::json!({ "error": crate::error::ErrorDoc::from(e) }));
        }
        self.error_text(e);
    }

    /// A command whose report is its outcome and still fails (a setup that leaves required
    /// values missing, an index that is out of date): the report is printed (the JSON document
    /// with `--json`), the error follows on stderr only. Returns the error's exit code.
    pub fn print_failing(&self, report: &impl Report, e: &Error) -> u8 {
        self.print(report);
        self.error_text(e);
        e.exit_code()
    }

    /// `error: …`, its details and its hints, on stderr.
    fn error_text(&self, e: &Error) {
        let mut err = std::io::stderr().lock();
        let label = self.paint(self.err_color, Style::new().red().bold(), "error:");
        let _ = writeln!(err, "{label} {}", for_terminal(&e.to_string()));
        for d in e.details() {
            let _ = writeln!(err, "  - {}", for_terminal(d));
        }
        for h in e.hints() {
            let _ = writeln!(err, "{} {}", self.paint(self.err_color, Style::new().cyan(), "hint:"), for_terminal(&h));
        }
    }

    /// The error as one line on stderr, its hints in parentheses: for `atk exec`, whose stderr is
    /// an agent's log, where a line stands alone.
    pub fn error_line(&self, prefix: &str, e: &Error) {
        let hints = e.hints();
        let hints = if hints.is_empty() { String::new() } else { format!(" (hint: {})", hints.join("; ")) };
        let details = e.details().join("; ");
        let details = if details.is_empty() { details } else { format!(": {details}") };
        let mut err = std::io::stderr().lock();
        let line = format!("{prefix}: error: {}{details}{hints}", e);
        let _ = writeln!(err, "{}", for_terminal(&line).replace('\n', " "));
    }

    /// A spinner on stderr while something slow runs (only on a terminal); it goes away when dropped.
    pub fn spinner(&self, message: String) -> Progress {
        if self.quiet || self.json || !self.err_color && !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = indicatif::ProgressBar::new_spinner().with_message(message);
        bar.enable_steady_tick(std::time::Duration::from_millis(100));
        Progress(Some(bar))
    }

    /// A progress bar on stderr for `len` steps (only on a terminal).
    pub fn progress(&self, len: u64, message: &str) -> Progress {
        if self.quiet || self.json || !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let style = indicatif::ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len}")
            .expect("a valid template")
            .progress_chars("=> ");
        let bar = indicatif::ProgressBar::new(len).with_style(style).with_message(message.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(100));
        Progress(Some(bar))
    }

    /// Prints a command's report, once: its JSON document under `--json`, else its text.
    pub fn print(&self, report: &impl Report) {
        if self.json {
            self.json(report);
        } else {
            report.render(self);
        }
    }

    /// The JSON document of a command (only with `--json`).
    fn json(&self, value: &impl serde::Serialize) {
        if self.json {
            let text = serde_json::to_string_pretty(value).expect("JSON values always serialize");
            let _ = writeln!(std::io::stdout(), "{text}");
        }
    }
}

impl crate::reporter::Reporter for Ui {
    fn note(&self, line: &str) {
        Ui::note(self, line)
    }
    fn warn(&self, line: &str) {
        Ui::warn(self, line)
    }
    fn detail(&self, line: &str) {
        Ui::detail(self, line)
    }
    fn confirm(&self, question: &str, hint: &str) -> crate::Result<bool> {
        Ui::confirm(self, question, hint)
    }
    fn interactive(&self) -> bool {
        self.interactive
    }
    fn commands_to_stderr(&self) -> bool {
        self.json
    }
    fn input(&self, prompt: &str, default: Option<&str>) -> crate::Result<String> {
        Ui::input(self, prompt, default)
    }
    fn secret(&self, prompt: &str) -> crate::Result<String> {
        Ui::secret(self, prompt)
    }
    fn progress(&self, len: u64, what: &str) -> Progress {
        Ui::progress(self, len, what)
    }
    fn activity(&self, what: &str) -> Progress {
        Ui::spinner(self, what.to_string())
    }
}

/// What a command ends with: one value that serializes to its `--json` document and renders its
/// text for a person. Commands build it and hand it to [`Ui::print`]; the notes, warnings and
/// questions of the work before it go to stderr as the work goes.
pub trait Report: serde::Serialize {
    /// The text of the report (stdout lines through `ui.line`, `ui.success`, …; a failure line of
    /// a batch through `ui.failure`). Called only without `--json`.
    fn render(&self, ui: &Ui);
}
