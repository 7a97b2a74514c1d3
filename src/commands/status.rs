use std::time::Duration;

use serde::Serialize;

use super::Ctx;
use crate::error::Result;
use crate::lifecycle::health::Health;
use crate::lifecycle::status::{self, PluginStatus, State};
use crate::plugin::Maturity;
use crate::ui::{Report, Ui};

/// Show what each plugin is doing, and the home repository's state
#[derive(clap::Args)]
pub struct Args {
    /// Only this plugin (directory or name); the repository section is left out
    pub plugin: Option<String>,
    /// The longest any one probe (status command, health endpoint) may take
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = super::parse_seconds)]
    pub timeout: Duration,
}

/// `atk status`: one row per plugin, and (without a plugin named) the home's repository.
#[derive(Serialize)]
pub struct Status {
    pub plugins: Vec<PluginStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<crate::home::state::RepoState>,
}

impl Report for Status {
    /// The table and its legend, the repository, then each plugin's problem (on stderr).
    fn render(&self, ui: &Ui) {
        if self.plugins.is_empty() {
            ui.line(ui.dim("No plugins installed."));
        } else {
            print_table(ui, &self.plugins);
            print_legend(ui, &self.plugins);
            print_locks(ui, &self.plugins);
        }
        if let Some(repo) = &self.repository {
            print_repository(ui, repo);
        }
        print_problems(ui, &self.plugins);
    }
}

/// A table cell: its text, and the style it is shown in.
struct Cell {
    text: String,
    style: fn(&Ui, &str) -> String,
}

fn plain(text: impl Into<String>) -> Cell {
    Cell { text: text.into(), style: |_, s| s.to_string() }
}

fn styled(text: impl Into<String>, style: fn(&Ui, &str) -> String) -> Cell {
    Cell { text: text.into(), style }
}

fn status_cell(row: &PluginStatus) -> Cell {
    let text = row.state.as_str();
    match row.state {
        State::Running => styled(text, |ui, s| ui.green(s)),
        State::Stopped | State::Invalid | State::Error | State::Timeout => styled(text, |ui, s| ui.red(s)),
        State::NotInstalled | State::Unknown => styled(text, |ui, s| ui.yellow(s)),
        State::McpOnly => styled(text, |ui, s| ui.cyan(s)),
    }
}

fn ports_cell(row: &PluginStatus) -> Cell {
    if row.ports.is_empty() {
        return plain("-");
    }
    let text: Vec<String> = row
        .ports
        .iter()
        .map(|p| match p.listening {
            None => p.port.to_string(),
            Some(true) => format!("{} ✓", p.port),
            Some(false) => format!("{} ✗", p.port),
        })
        .collect();
    let all_up = row.ports.iter().all(|p| p.listening == Some(true));
    let any_down = row.ports.iter().any(|p| p.listening == Some(false));
    match (all_up, any_down) {
        (true, _) => styled(text.join(", "), |ui, s| ui.green(s)),
        (_, true) => styled(text.join(", "), |ui, s| ui.red(s)),
        _ => plain(text.join(", ")),
    }
}

fn env_cell(row: &PluginStatus) -> Cell {
    let env = &row.env;
    if env.total == 0 {
        return plain("-");
    }
    if env.missing_required.is_empty() {
        return styled("✓", |ui, s| ui.green(s));
    }
    let mut text = format!("! {}", env.missing_required.join(", "));
    if env.unset_optional > 0 {
        text.push_str(&format!(" (+{} optional)", env.unset_optional));
    }
    styled(text, |ui, s| ui.red(s))
}

fn maturity_cell(row: &PluginStatus) -> Cell {
    match row.maturity {
        None => plain("-"),
        Some(Maturity::Verified) if row.maturity_self_declared => styled("verified (self)", |ui, s| ui.yellow(s)),
        Some(Maturity::Verified) => styled("verified", |ui, s| ui.green(s)),
        Some(Maturity::Community) => styled("community", |ui, s| ui.yellow(s)),
        Some(Maturity::AiGenerated) => styled("ai-generated", |ui, s| ui.red(s)),
    }
}

fn health_cell(row: &PluginStatus) -> Cell {
    match &row.health {
        None => plain(""),
        Some(h) => match &h.result {
            None => plain("-"),
            Some(r @ Health::Healthy { .. }) => styled(r.short(), |ui, s| ui.green(s)),
            Some(r @ Health::Unchecked { .. }) => plain(r.short()),
            Some(r) => styled(r.short(), |ui, s| ui.red(s)),
        },
    }
}

fn print_table(ui: &Ui, rows: &[PluginStatus]) {
    let esc = |s: &str| crate::text::escape(s).into_owned();
    let with_health = rows.iter().any(|r| r.health.is_some());
    let with_agents = rows.iter().any(|r| !r.agents.is_empty());
    let mut header = vec!["NAME", "STATUS", "PORTS", "ENV", "MATURITY", "PIN"];
    if with_health {
        header.insert(2, "HEALTH");
    }
    if with_agents {
        header.push("AGENTS");
    }
    let table: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| {
            let pin = r.commit.as_deref().map_or("-".to_string(), |c| esc(&c.chars().take(7).collect::<String>()));
            let mut cells = vec![
                styled(format!("{} ({})", esc(&r.name), esc(&r.directory)), |ui, s| ui.cyan(s)),
                status_cell(r),
                ports_cell(r),
                env_cell(r),
                maturity_cell(r),
                plain(pin),
            ];
            if with_health {
                cells.insert(2, health_cell(r));
            }
            if with_agents {
                cells.push(plain(if r.agents.is_empty() { "-".to_string() } else { esc(&r.agents.join(",")) }));
            }
            cells
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| table.iter().map(|r| r[i].text.chars().count()).chain([header[i].len()]).max().unwrap_or(0))
        .collect();
    let head: Vec<String> = header.iter().zip(&widths).map(|(h, w)| crate::text::pad(h, *w)).collect();
    ui.line(ui.bold(head.join("  ").trim_end()));
    for r in &table {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| {
                let pad = w.saturating_sub(c.text.chars().count());
                format!("{}{}", (c.style)(ui, &c.text), " ".repeat(pad))
            })
            .collect();
        ui.line(cells.join("  ").trim_end());
    }
}

fn print_legend(ui: &Ui, rows: &[PluginStatus]) {
    let checked = rows.iter().any(|r| r.ports.iter().any(|p| p.listening.is_some()));
    let with_env = rows.iter().any(|r| r.env.total > 0);
    let unverified =
        rows.iter().any(|r| r.maturity.is_some_and(|m| m != Maturity::Verified) || r.maturity_self_declared);
    if !(checked || with_env || unverified) {
        return;
    }
    ui.line("");
    if checked {
        ui.line(ui.dim("Ports: ✓ something listens there, ✗ nothing does (checked while the plugin runs)"));
    }
    if with_env {
        ui.line(ui.dim("Env: ✓ every required variable has a value, ! these have none, - no variables"));
    }
    if unverified {
        ui.line(ui.dim(
            "Maturity: verified = reviewed in the official registry, verified (self) = the plugin says so but comes from no registry, community = third party, ai-generated = not reviewed by a person",
        ));
    }
}

/// What each plugin runs from registries, as locked (`notion runs @notionhq/notion-mcp-server 1.9.1`).
fn print_locks(ui: &Ui, rows: &[PluginStatus]) {
    for r in rows.iter().filter(|r| !r.lock.is_empty()) {
        let pins: Vec<String> = r
            .lock
            .iter()
            .map(|p| format!("{} {}", crate::text::escape(&p.spec), crate::text::escape(&p.short())))
            .collect();
        ui.line(ui.dim(&format!("{} runs {}", crate::text::escape(&r.directory), pins.join(", "))));
    }
}

fn print_problems(ui: &Ui, rows: &[PluginStatus]) {
    for r in rows {
        if let Some(problem) = &r.problem {
            let e = crate::Error::Other { message: problem.clone(), hints: r.hint.iter().cloned().collect() };
            ui.failure(&r.directory, &e);
        }
    }
}

fn print_repository(ui: &Ui, repo: &crate::home::state::RepoState) {
    let esc = |s: &str| crate::text::escape(s).into_owned();
    ui.line("");
    ui.line(ui.bold("Repository:"));
    ui.line(format!("  Branch:      {}", repo.branch.as_deref().map_or_else(|| ui.dim("(detached HEAD)"), esc)));
    match &repo.remote {
        Some(r) => {
            let url = r.url.as_deref().map_or_else(|| ui.dim("(no URL)"), esc);
            ui.line(format!("  Remote:      {} -> {url}", esc(&r.name)));
            match &repo.sync {
                Some(s) => ui.line(format!(
                    "  Sync:        {} ahead, {} behind {} {}",
                    s.ahead,
                    s.behind,
                    esc(s.upstream.strip_prefix("refs/remotes/").unwrap_or(&s.upstream)),
                    ui.dim("(as last fetched)")
                )),
                None => ui.line(format!("  Sync:        {}", ui.dim("(the branch tracks no remote branch)"))),
            }
        }
        None => ui.line(format!("  Remote:      {}", ui.dim("(none)"))),
    }
    if let Some(c) = &repo.last_commit {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        ui.line(format!("  Last commit: {} ({})", esc(&c.subject), crate::text::ago((now - c.time).max(0) as u64)));
    }
    match repo.working_dir {
        Some(w) if w.modified == 0 && w.untracked == 0 => ui.line(format!("  Working dir: {}", ui.green("clean"))),
        Some(w) => {
            let mut parts = Vec::new();
            if w.modified > 0 {
                parts.push(format!("{} modified", w.modified));
            }
            if w.untracked > 0 {
                parts.push(format!("{} untracked", w.untracked));
            }
            ui.line(format!("  Working dir: {}", ui.yellow(&parts.join(", "))));
        }
        None => ui.line(format!("  Working dir: {}", ui.dim("(cannot be read)"))),
    }
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let home = ctx.open_home()?;
    let manifest = home.manifest()?;
    let entries = super::select(&manifest, args.plugin.as_deref())?;
    let rows = status::probe_all(ctx.at(&home), &entries, args.timeout)?;
    let repository = match args.plugin {
        None => crate::home::state::read(&home.root).unwrap_or_else(|e| {
            ctx.ui.warn(e.to_string());
            None
        }),
        Some(_) => None,
    };
    ctx.ui.print(&Status { plugins: rows, repository });
    Ok(0)
}
