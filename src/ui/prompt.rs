//! Prompts (dialoguer, on stderr). Callers check `Ui::interactive` first; these fail when no
//! person can answer.

use dialoguer::{Confirm, Input, Password};

use super::Ui;
use crate::error::{Error, Result};

fn map(e: dialoguer::Error) -> Error {
    let dialoguer::Error::IO(io) = e;
    if io.kind() == std::io::ErrorKind::Interrupted || crate::interrupt::is_set() {
        Error::Interrupted
    } else {
        Error::io("cannot read the answer", io)
    }
}

impl Ui {
    /// Yes or no; `--yes` answers yes, and without a terminal the decision is refused with `hint`.
    pub fn confirm(&self, question: &str, hint: &str) -> Result<bool> {
        if self.yes {
            return Ok(true);
        }
        if !self.interactive {
            return Err(Error::NeedsConfirmation {
                message: format!("{question} (no terminal to ask)"),
                hint: hint.into(),
            });
        }
        let answer =
            Confirm::new().with_prompt(crate::text::for_terminal(question)).default(false).interact().map_err(map)?;
        crate::error::check_interrupt()?;
        Ok(answer)
    }

    /// A line of text; Enter gives `default` when there is one.
    pub fn input(&self, prompt: &str, default: Option<&str>) -> Result<String> {
        // A default comes from the plugin: shown escaped in the prompt, given back unchanged.
        let shown = match default {
            Some(d) => format!("{} [{}]", crate::text::for_terminal(prompt), crate::text::escape(d)),
            None => crate::text::for_terminal(prompt).into_owned(),
        };
        let mut input = Input::<String>::new().with_prompt(shown).allow_empty(true);
        if let Some(d) = default {
            input = input.default(d.to_string()).show_default(false);
        }
        let value = input.interact_text().map_err(map)?;
        crate::error::check_interrupt()?;
        Ok(value)
    }

    /// Hidden input; Enter gives the empty string.
    pub fn secret(&self, prompt: &str) -> Result<String> {
        let value = Password::new()
            .with_prompt(crate::text::for_terminal(prompt))
            .allow_empty_password(true)
            .interact()
            .map_err(map)?;
        crate::error::check_interrupt()?;
        Ok(value)
    }
}
