use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use serde::Serialize;

use super::{report, Ctx};
use crate::error::Result;
use crate::lifecycle::status::load_installed;
use crate::plugin::env::EnvFile;
use crate::plugin::secret::MASK;
use crate::plugin::Plugin;
use crate::text::escape;
use crate::ui::{Report, Ui};

/// Show a plugin's README and its card: source, ports, variables, lifecycle, MCP (or a
/// command's help)
#[derive(clap::Args)]
pub struct Args {
    /// The plugin (directory or name), else the atk command of that name (`atk help add` is `atk
    /// add --help` unless a plugin is called `add`: a plugin wins); without it, atk's own help
    pub plugin: Option<String>,
}

/// `set_in` of a variable whose value comes from the user's environment (never shown).
const ENVIRONMENT: &str = "environment";

/// `atk help PLUGIN`: the plugin's card (and where its README is).
#[derive(Serialize)]
pub struct Help {
    pub name: String,
    pub directory: String,
    pub description: String,
    pub maturity: crate::plugin::Maturity,
    /// `verified` is the plugin's own word, not a registry's (left out when false).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub maturity_self_declared: bool,
    pub source: report::SourceDoc,
    /// What it runs from package and image registries, as locked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lock: Vec<crate::artifact::Pin>,
    pub readme: Option<PathBuf>,
    pub ports: Vec<crate::plugin::schema::Port>,
    pub env: Vec<HelpVar>,
    pub lifecycle: Vec<HelpStep>,
    pub health_endpoint: Option<String>,
    pub mcp: Option<HelpMcp>,
    /// The README's text, made safe for a terminal and scrubbed of secrets (not in the document).
    #[serde(skip)]
    pub markdown: Option<String>,
}

/// The card as it is shown: its document, and the pager (`$PAGER`) a README longer than the
/// terminal goes through (the environment's, not the plugin's: not in the document).
#[derive(Serialize)]
#[serde(transparent)]
pub struct Shown<'a> {
    help: &'a Help,
    #[serde(skip)]
    pager: Option<String>,
}

/// A variable of the plugin: `set` when `.env` or the environment gives it a value, `set_in`
/// which (`".env"` or `"environment"`); `value` is the value `.env` gives it, masked (`********`)
/// for a secret (`secret`: declared `secret: true`, or named like a secret). A value from the
/// environment is the user's own and never shown: `value` is null.
#[derive(Serialize)]
pub struct HelpVar {
    pub name: String,
    pub required: bool,
    pub secret: bool,
    pub set: bool,
    pub set_in: Option<&'static str>,
    pub value: Option<String>,
    pub default: Option<String>,
    pub description: Option<String>,
}

#[derive(Serialize)]
pub struct HelpStep {
    pub step: &'static str,
    pub command: String,
}

#[derive(Serialize)]
pub struct HelpMcp {
    pub transport: String,
    pub command: Option<String>,
    pub args: Vec<String>,
    pub endpoint: Option<String>,
    pub env: Vec<String>,
    pub timeout: Option<u64>,
}

impl Report for Shown<'_> {
    /// The README (rendered on a terminal, through the pager when longer than it; the Markdown
    /// itself to a pipe) and the card under it; without a README, a warning and the card.
    fn render(&self, ui: &Ui) {
        let card = card(ui, self.help);
        let Some(md) = &self.help.markdown else {
            ui.warn(format!("'{}' has no README.md", escape(&self.help.name)));
            for line in card {
                ui.line(line);
            }
            return;
        };
        if !std::io::stdout().is_terminal() {
            // A pipe or a file gets the Markdown itself.
            ui.line(md.trim_end());
            ui.line("");
            for line in card {
                ui.line(line);
            }
            return;
        }
        let (rows, cols) = console::Term::stdout().size();
        let width = usize::from(cols).clamp(20, 120);
        let rendered = crate::ui::markdown::render(md, width, ui.colors());
        let text = format!("{}\n{}\n", rendered.trim_end(), card.join("\n"));
        if !ui.quiet && rows > 0 && text.lines().count() >= usize::from(rows) {
            if page(&text, self.pager.clone()) {
                return;
            }
            ui.warn("the pager ($PAGER, else `less`) could not be started: the README is printed instead");
        }
        if !ui.quiet {
            let _ = std::io::stdout().write_all(text.as_bytes());
        }
    }
}

/// Text from the plugin, safe for a terminal: tabs as spaces, every other control character
/// escaped, line breaks kept.
fn safe_markdown(md: &str) -> String {
    md.lines().map(|l| escape(&l.replace('\t', "    ")).into_owned()).collect::<Vec<_>>().join("\n")
}

fn card(ui: &Ui, doc: &Help) -> Vec<String> {
    let e = |s: &str| escape(s).into_owned();
    let mut out = vec![ui.bold(&format!("{} (plugins/{})", e(&doc.name), e(&doc.directory)))];
    if !doc.description.is_empty() {
        out.push(format!("  {}", e(doc.description.trim())));
    }
    let label = |l: &str| ui.dim(&format!("  {l:<11}"));
    let pin = doc.source.commit.as_deref().map(|c| format!(" @ {}", report::short_pin(c)));
    let url = doc.source.url.as_deref().map(|u| format!(" {}", e(u)));
    out.push(format!("{}{}{}{}", label("Source"), doc.source.kind, url.unwrap_or_default(), pin.unwrap_or_default()));
    for p in &doc.lock {
        out.push(format!("{}{} {} {}", label("Runs"), p.kind.as_str(), e(&p.spec), e(&p.short())));
    }
    let claim = if doc.maturity_self_declared {
        " (self-declared: it comes from no registry, so none reviewed it)"
    } else {
        ""
    };
    out.push(format!("{}{}{claim}", label("Maturity"), doc.maturity.as_str()));
    if doc.ports.is_empty() {
        out.push(format!("{}-", label("Ports")));
    }
    for (i, p) in doc.ports.iter().enumerate() {
        let mut line = format!("{}/{}", p.port, e(&p.protocol));
        if let Some(n) = &p.name {
            line.push_str(&format!(" {}", e(n)));
        }
        if let Some(d) = &p.description {
            line.push_str(&format!(": {}", e(d)));
        }
        out.push(format!("{}{line}", label(if i == 0 { "Ports" } else { "" })));
    }
    if doc.env.is_empty() {
        out.push(format!("{}-", label("Env")));
    }
    let width = doc.env.iter().map(|v| v.name.len()).max().unwrap_or(0);
    for (i, v) in doc.env.iter().enumerate() {
        let mut flags = Vec::new();
        if v.required {
            flags.push("required");
        }
        if v.secret {
            flags.push("secret");
        }
        let state = match (&v.value, v.set) {
            (Some(value), true) => ui.green(&format!("set ({})", e(value))),
            (None, true) if v.set_in == Some(ENVIRONMENT) => ui.green("set in the environment"),
            (None, true) => ui.green("set"),
            (_, false) if v.required => ui.red("not set"),
            (_, false) => ui.yellow("not set"),
        };
        let mut line = format!("{}  {state}", crate::text::pad(&e(&v.name), width));
        if !flags.is_empty() {
            line.push_str(&format!("  [{}]", flags.join(", ")));
        }
        if let Some(d) = &v.default {
            line.push_str(&format!("  default: {}", e(d)));
        }
        if let Some(d) = &v.description {
            line.push_str(&format!("  {}", ui.dim(&e(d))));
        }
        out.push(format!("{}{line}", label(if i == 0 { "Env" } else { "" })));
    }
    if doc.lifecycle.is_empty() {
        out.push(format!("{}-", label("Lifecycle")));
    }
    for (i, s) in doc.lifecycle.iter().enumerate() {
        out.push(format!("{}{:<9}  {}", label(if i == 0 { "Lifecycle" } else { "" }), s.step, e(&s.command)));
    }
    if let Some(h) = &doc.health_endpoint {
        out.push(format!("{}{}", label("Health"), e(h)));
    }
    match &doc.mcp {
        None => out.push(format!("{}-", label("MCP"))),
        Some(m) => {
            let what = match (&m.command, &m.endpoint) {
                (Some(c), _) => {
                    let args: Vec<String> = m.args.iter().map(|a| e(a)).collect();
                    format!("{} {}", e(c), args.join(" ")).trim_end().to_string()
                }
                (None, Some(url)) => e(url),
                (None, None) => String::new(),
            };
            let mut line = format!("{}: {what}", e(&m.transport));
            if !m.env.is_empty() {
                line.push_str(&format!("  (env: {})", m.env.iter().map(|v| e(v)).collect::<Vec<_>>().join(", ")));
            }
            if let Some(t) = m.timeout {
                line.push_str(&format!("  (timeout {t} ms)"));
            }
            out.push(format!("{}{line}", label("MCP")));
            out.push(format!("{}`atk plug {}` adds it to your coding agents", label(""), e(&doc.directory)));
        }
    }
    out
}

/// The card of a plugin. `env` is its `.env`, `secrets` what holds a secret there (a value that
/// takes one in, `postgres://app:${DB_PASSWORD}@db`, is one) and `scrubber` what takes them (and
/// the environment's) out of text: a value that merely repeats one has it taken out.
fn document(
    entry: &crate::home::Entry,
    plugin: &Plugin,
    readme: Option<PathBuf>,
    env: &EnvFile,
    secrets: &crate::plugin::Secrets,
    scrubber: &crate::plugin::secret::Scrubber,
    outer: &crate::environment::Environment,
) -> Result<Help> {
    // Words the user wrote in custom/overrides.yaml may repeat a secret: it is taken out.
    let lifecycle = crate::plugin::schema::Lifecycle::STEPS
        .iter()
        .filter_map(|s| plugin.lifecycle.get(s).map(|c| HelpStep { step: s, command: scrubber.scrub(c) }))
        .collect();
    Ok(Help {
        name: plugin.name.clone(),
        directory: entry.directory.clone(),
        description: plugin.description.clone(),
        maturity: plugin.maturity,
        maturity_self_declared: crate::lifecycle::status::self_declared(plugin.maturity, entry.source.kind),
        source: (&entry.source).into(),
        lock: entry.lock.clone(),
        readme,
        ports: plugin.ports.clone(),
        env: plugin
            .env_vars
            .iter()
            .map(|v| {
                // `.env`'s value is the plugin's (shown, unless a secret); the environment's is
                // the user's own (an AWS key, a GitHub token): only that it is set is shown.
                let from_file = env.get(&v.name).filter(|s| !s.is_empty());
                let in_environment = from_file.is_none() && outer.var_os(&v.name).is_some_and(|s| !s.is_empty());
                let set_in = if from_file.is_some() { Some(".env") } else { in_environment.then_some(ENVIRONMENT) };
                let secret = v.holds_secret() || secrets.holds(&v.name);
                let shown = |s: String| if secret { MASK.to_string() } else { scrubber.scrub(&s) };
                HelpVar {
                    name: v.name.clone(),
                    required: v.required,
                    secret,
                    set: set_in.is_some(),
                    set_in,
                    value: from_file.map(shown),
                    // A default can come from the user's `custom/overrides.yaml`: a secret's is masked.
                    default: v.default.clone().map(shown),
                    description: v.description.clone(),
                }
            })
            .collect(),
        lifecycle,
        health_endpoint: plugin.lifecycle.health_endpoint.as_deref().map(|u| scrubber.scrub(u)),
        mcp: plugin.mcp.as_ref().map(|m| HelpMcp {
            transport: m.transport.clone(),
            command: m.command.as_deref().map(|c| scrubber.scrub(c)),
            args: m.args.iter().flatten().map(|a| scrubber.scrub(a)).collect(),
            endpoint: m.endpoint.as_deref().map(|u| scrubber.scrub(u)),
            env: m.env.clone().unwrap_or_default(),
            timeout: m.timeout,
        }),
        markdown: None,
    })
}

/// Shows `text` through `$PAGER` (else `less -R`); false when no pager could be started: `sh`
/// itself did not start, or it said (exit 126 or 127) that the pager is not there or cannot be
/// run. The caller then prints the text itself. The pager has the terminal; the text is given to
/// it without ever blocking on it, and Ctrl-C and SIGTERM reach it (see `process::interactive`).
fn page(text: &str, pager: Option<String>) -> bool {
    let pager = pager.filter(|p| !p.trim().is_empty()).unwrap_or_else(|| "less -R".into());
    let mut command = std::process::Command::new("sh");
    command.arg("-c").arg(&pager);
    match crate::process::interactive(&mut command, Some(text.as_bytes()), "cannot start the pager") {
        Ok(status) => !matches!(status.code(), Some(126 | 127)),
        Err(_) => false,
    }
}

/// `atk help COMMAND`: the command's help, as `atk COMMAND --help` prints it.
#[derive(Serialize)]
pub struct CommandHelp {
    pub command: String,
    pub help: String,
}

impl Report for CommandHelp {
    fn render(&self, ui: &Ui) {
        ui.line(self.help.trim_end());
    }
}

/// The long help of atk's command `name` (not a hidden one), as `atk <name> --help` prints it.
fn command_help(cli: fn() -> clap::Command, name: &str) -> Option<String> {
    let mut cmd = cli();
    cmd.build();
    let sub = cmd.get_subcommands_mut().find(|s| !s.is_hide_set() && s.get_name() == name)?;
    Some(sub.render_long_help().to_string())
}

/// `cli` makes atk's whole command line (the clap tree), printed without a plugin.
pub fn run(ctx: &Ctx, args: Args, cli: fn() -> clap::Command) -> Result<u8> {
    let Some(id) = args.plugin else {
        let _ = cli().print_long_help();
        return Ok(0);
    };
    // A plugin of that name wins; else a command of atk (also where there is no home yet).
    let found = ctx.open_home().and_then(|home| {
        let manifest = home.manifest()?;
        let entry = super::find(&manifest, &id)?.clone();
        Ok((home, entry))
    });
    let (home, entry) = match found {
        Ok(found) => found,
        // A home that cannot be read says so, and a command's help is still shown.
        Err(e) => {
            let Some(help) = command_help(cli, &id) else { return Err(e) };
            if !matches!(e, crate::Error::PluginNotFound { .. } | crate::Error::NoHome { .. }) {
                ctx.ui.warn(format!("no plugin could be looked up ({e}); showing the command `atk {id}`"));
            }
            ctx.ui.print(&CommandHelp { command: id, help });
            return Ok(0);
        }
    };
    let entry = &entry;
    let (dir, plugin) = load_installed(&home.root, entry)?;
    let readme_path = dir.join(crate::plugin::README);
    let readme = match crate::plugin::readme(&dir) {
        Ok(text) => text,
        Err(why) => {
            ctx.ui.warn(format!("README.md of '{}' is not shown: {why}", escape(&plugin.name)));
            None
        }
    };
    let env = EnvFile::read(&dir.join(".env"), &ctx.settings.outer())?;
    let secrets = crate::plugin::secrets(Some(&plugin), &env);
    let scrubber = secrets.scrubber(ctx.environment_secrets());
    let mut doc = document(
        entry,
        &plugin,
        readme.as_ref().map(|_| readme_path.clone()),
        &env,
        &secrets,
        &scrubber,
        &ctx.settings.environment,
    )?;
    // A README the user edited may hold a secret of theirs (as `atk diff` shows it: scrubbed).
    doc.markdown = readme.map(|md| scrubber.scrub(&safe_markdown(&md)));
    ctx.ui.print(&Shown { help: &doc, pager: ctx.settings.environment.var("PAGER") });
    Ok(0)
}
