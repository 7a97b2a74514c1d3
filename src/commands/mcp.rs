use serde::Serialize;

use super::Ctx;
use crate::agents::mcp::{Server, Transport, NOT_SET};
use crate::agents::{self, AgentId};
use crate::error::{Error, Result};
use crate::ui::{Report, Ui};

/// Show a plugin's MCP server configuration, resolved: variables from its .env and defaults,
/// $ATK_PLUGIN_DIR and relative commands made absolute. Secrets are masked. With --for, the entry
/// `atk plug` gives that agent (it starts the server with `atk exec`, and holds no secret).
#[derive(clap::Args)]
pub struct Args {
    /// The plugin (directory or name, as in `atk list`)
    pub plugin: String,
    /// Print the entry `atk plug` gives that agent, in its own format, to paste into its file
    #[arg(long = "for", value_name = "AGENT", value_enum)]
    pub agent: Option<AgentId>,
    /// Show secret values instead of masking them
    #[arg(long)]
    pub show_secrets: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    if args.agent.is_some() && ctx.ui.json {
        return Err(Error::usage(
            "--for prints an agent's own format; --json prints atk's document: choose one",
            Some(format!("`atk mcp {} --json`", args.plugin)),
        ));
    }
    let home = ctx.open_home()?;
    let manifest = home.manifest()?;
    let entry = super::find(&manifest, &args.plugin)?;
    // The command as `atk exec` runs it: with the versions and digests the plugin's lock pins.
    let as_run = agents::launch::as_run(&home, entry, &ctx.settings.outer())?;
    if !as_run.unlocked.is_empty() {
        let words: Vec<String> = as_run.unlocked.iter().map(|w| crate::text::escape(w).into_owned()).collect();
        ctx.ui.warn(format!(
            "{} not locked and runs whatever its registry serves (`atk install {}` locks it)",
            words.join(", "),
            entry.directory
        ));
    }
    for var in as_run.server.missing() {
        ctx.ui.warn(format!("environment variable '{var}' is not set; set it with `atk setup {}`", entry.directory));
    }
    let launcher = &ctx.settings.agents.launcher;
    let shown = as_run.shown(&home, launcher, ctx.environment_secrets(), args.agent, args.show_secrets);
    ctx.ui.print(&McpShown { server: shown.server, snippet: shown.snippet });
    if shown.hidden {
        ctx.ui.note("Secret values are masked; --show-secrets shows them.");
    }
    Ok(0)
}

/// `atk mcp --json`: atk-cli's document, the server's name as its one key (no `mcpServers`).
/// Its text is the server as atk shows it, or (`--for`) the agent's own snippet.
pub struct McpShown {
    server: Server,
    /// `--for AGENT`: the agent's entry, as text.
    snippet: Option<String>,
}

impl Serialize for McpShown {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut doc = s.serialize_map(Some(1))?;
        doc.serialize_entry(&self.server.name, &self.server.upstream_entry())?;
        doc.end()
    }
}

impl Report for McpShown {
    fn render(&self, ui: &Ui) {
        match &self.snippet {
            Some(snippet) => ui.line(snippet),
            None => print_text(ui, &self.server),
        }
    }
}

fn print_text(ui: &Ui, s: &Server) {
    let esc = |v: &str| crate::text::escape(v).into_owned();
    ui.line(format!("{}  {}", ui.bold("Name:     "), esc(&s.name)));
    match &s.transport {
        Transport::Stdio { command, args } => {
            let argv: Vec<String> = std::iter::once(command.clone()).chain(args.iter().cloned()).collect();
            ui.line(format!("{}  {}", ui.bold("Command:  "), agents::shell_words(&argv)));
        }
        Transport::Remote { kind, url } => {
            ui.line(format!("{}  {} ({kind})", ui.bold("URL:      "), esc(url)));
        }
    }
    if let Some(t) = s.timeout {
        ui.line(format!("{}  {t} ms per tool call", ui.bold("Timeout:  ")));
    }
    if s.env.is_empty() && s.optional_unset.is_empty() {
        return;
    }
    ui.line("");
    ui.line(ui.bold("Environment:"));
    for v in &s.env {
        match &v.value {
            Some(value) => ui.line(format!("  {}={}", esc(&v.name), ui.dim(&esc(value)))),
            None => ui.line(format!("  {}={}", esc(&v.name), ui.red(NOT_SET))),
        }
    }
    for name in &s.optional_unset {
        ui.line(format!("  {} {}", esc(name), ui.dim("(optional, not set: left out)")));
    }
}
