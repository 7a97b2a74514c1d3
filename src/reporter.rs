//! What the library tells a person while it works, and what it asks: the one channel from domain
//! code to whoever drives it. Commands pass their `Ui`; tests pass a [`Recorder`]. Domain code
//! never prints and never takes the command context.

use std::sync::Mutex;

use crate::error::{Error, Result};

/// Progress, warnings and questions from the library. Every method may be called from worker
/// threads.
pub trait Reporter: Sync {
    /// A line about what is being done, for a person (hidden by `-q`).
    fn note(&self, line: &str);
    /// Something the user should know that does not stop the work.
    fn warn(&self, line: &str);
    /// A line only `-v` shows.
    fn detail(&self, line: &str);
    /// Yes or no. Without anyone to ask, fails with `NeedsConfirmation` carrying `hint`.
    fn confirm(&self, question: &str, hint: &str) -> Result<bool>;
    /// Whether a person can be asked questions (a terminal, not CI, no `--yes`).
    fn interactive(&self) -> bool {
        false
    }
    /// A line of text; Enter gives `default`. Only called when [`Reporter::interactive`].
    fn input(&self, prompt: &str, default: Option<&str>) -> Result<String> {
        let _ = prompt;
        Ok(default.unwrap_or_default().to_string())
    }
    /// Hidden input; Enter gives "". Only called when [`Reporter::interactive`].
    fn secret(&self, prompt: &str) -> Result<String> {
        let _ = prompt;
        Ok(String::new())
    }
    /// Whether the standard output of a plugin's commands goes to our standard error (when
    /// standard output carries a JSON document).
    fn commands_to_stderr(&self) -> bool {
        false
    }
    /// A counter for `len` steps of `what` (a progress bar on a terminal, nothing otherwise).
    fn progress(&self, len: u64, what: &str) -> Progress {
        let _ = (len, what);
        Progress(None)
    }
    /// A sign that `what` is under way (a spinner on a terminal), until the value is dropped.
    fn activity(&self, what: &str) -> Progress {
        let _ = what;
        Progress(None)
    }
}

/// A progress counter or a spinner; finished and cleared when dropped.
pub struct Progress(pub Option<indicatif::ProgressBar>);

impl Progress {
    pub fn inc(&self) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }
    /// Whether a bar is shown (then per-step notes would only clutter it).
    pub fn shown(&self) -> bool {
        self.0.is_some()
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// A reporter that keeps what it is told and answers every question with `answer` (or refuses it
/// when `answer` is `None`), for tests and for callers that want the lines themselves.
#[derive(Default)]
pub struct Recorder {
    pub answer: Option<bool>,
    pub lines: Mutex<Vec<String>>,
}

impl Recorder {
    pub fn answering(answer: bool) -> Recorder {
        Recorder { answer: Some(answer), lines: Mutex::default() }
    }
    /// The lines so far, each prefixed by its kind (`note: `, `warning: `, `detail: `, `asked: `).
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("not poisoned").clone()
    }
    fn push(&self, kind: &str, line: &str) {
        self.lines.lock().expect("not poisoned").push(format!("{kind}: {line}"));
    }
}

impl Reporter for Recorder {
    fn note(&self, line: &str) {
        self.push("note", line)
    }
    fn warn(&self, line: &str) {
        self.push("warning", line)
    }
    fn detail(&self, line: &str) {
        self.push("detail", line)
    }
    fn confirm(&self, question: &str, hint: &str) -> Result<bool> {
        self.push("asked", question);
        self.answer.ok_or_else(|| Error::NeedsConfirmation { message: question.into(), hint: hint.into() })
    }
}
