use serde::Serialize;

use super::{report, Ctx};
use crate::error::Result;
use crate::sync::history::{self, Operation};
use crate::ui::{Report, Ui};

/// One line per operation on the home, newest first: when, what, which plugin, pin old → new
#[derive(clap::Args)]
pub struct Args {
    /// Only the operations on this plugin (directory or name)
    pub plugin: Option<String>,
    /// At most this many lines
    #[arg(short = 'n', long, value_name = "N")]
    pub limit: Option<usize>,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let home = ctx.open_home()?;
    let operations = history::read(&home.root, args.plugin.as_deref(), args.limit)?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    ctx.ui.print(&History { operations, plugin: args.plugin, now });
    Ok(0)
}

/// `atk history`: operations, newest first.
#[derive(Serialize)]
pub struct History {
    #[serde(serialize_with = "docs")]
    pub operations: Vec<Operation>,
    /// The plugin asked about, if one was.
    #[serde(skip)]
    pub plugin: Option<String>,
    /// Seconds since the epoch, for the relative times.
    #[serde(skip)]
    pub now: i64,
}

impl Report for History {
    fn render(&self, ui: &Ui) {
        if self.operations.is_empty() {
            ui.line(match &self.plugin {
                Some(p) => format!("No operation on '{}' in the history.", crate::text::escape(p)),
                None => "No commits yet.".to_string(),
            });
        }
        for op in &self.operations {
            let when = match op.time {
                Some(t) => format!("{} ({})", crate::text::ago_or_just_now(self.now - t.seconds), history::absolute(t)),
                None => "(invalid date)".to_string(),
            };
            let what = describe(op);
            ui.line(format!("{} {}  {}", ui.yellow(&report::short(&op.commit)), ui.dim(&when), what));
        }
    }
}

/// `upgrade hello 1a2b3c → 4d5e6f`, or the subject of a commit that is no atk operation.
fn describe(op: &Operation) -> String {
    let Some(kind) = &op.kind else { return format!("({})", crate::text::escape(&op.subject)) };
    let plugin = op.plugin.as_deref().or(op.name.as_deref()).map(|p| format!(" {}", crate::text::escape(p)));
    let pins = match (&op.from, &op.to) {
        (Some(f), Some(t)) => format!("  {} → {}", report::short_pin(f), report::short_pin(t)),
        (None, Some(t)) => format!("  @ {}", report::short_pin(t)),
        (Some(f), None) => format!("  (was {})", report::short_pin(f)),
        (None, None) => String::new(),
    };
    let by_hand = if op.recorded || op.plugin.is_none() { "" } else { "  [from the subject]" };
    format!("{kind}{}{pins}{by_hand}", plugin.unwrap_or_default())
}

/// One operation of the JSON document.
#[derive(Serialize)]
struct OperationDoc {
    commit: String,
    /// RFC 3339, in the committer's offset; null for a commit whose date is out of range (one
    /// git accepts and cannot be read as a date: `git log` shows such commits at 1970).
    date: Option<String>,
    subject: String,
    /// `add`, `remove`, `upgrade`, `rollback`, `undo`, `init`, `doctor`; null for other commits.
    operation: Option<String>,
    directory: Option<String>,
    name: Option<String>,
    from: Option<String>,
    to: Option<String>,
    /// Whether atk recorded the operation in the commit's trailers (else read from its subject).
    recorded: bool,
}

fn docs<S: serde::Serializer>(ops: &[Operation], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(ops.iter().map(doc))
}

fn doc(op: &Operation) -> OperationDoc {
    OperationDoc {
        commit: op.commit.to_string(),
        date: op.time.and_then(|t| t.format(gix::date::time::format::ISO8601_STRICT).ok()),
        subject: op.subject.clone(),
        operation: op.kind.clone(),
        directory: op.plugin.clone(),
        name: op.name.clone(),
        from: op.from.clone(),
        to: op.to.clone(),
        recorded: op.recorded,
    }
}
