use super::{report, Ctx};
use crate::error::Result;
use crate::sync::history::{self, Operation};

/// One line per operation on the home, newest first: when, what, which plugin, pin old → new
#[derive(clap::Args)]
pub struct Args {
    /// Only the operations on this plugin (directory or name)
    pub plugin: Option<String>,
    /// At most this many lines
    #[arg(short = 'n', long, value_name = "N")]
    pub limit: Option<usize>,
}

fn short(r: &str) -> String {
    crate::text::escape(&r.chars().take(12).collect::<String>()).into_owned()
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let home = ctx.open_home()?;
    let ops = history::read(&home.root, args.plugin.as_deref(), args.limit)?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    if ops.is_empty() {
        ctx.ui.line(match &args.plugin {
            Some(p) => format!("No operation on '{}' in the history.", crate::text::escape(p)),
            None => "No commits yet.".to_string(),
        });
    }
    for op in &ops {
        let when = match op.time {
            Some(t) => format!("{} ({})", history::relative(now - t.seconds), history::absolute(t)),
            None => "(invalid date)".to_string(),
        };
        let what = describe(op);
        ctx.ui.line(format!("{} {}  {}", ctx.ui.yellow(&op.commit.to_string()[..10]), ctx.ui.dim(&when), what));
    }
    ctx.ui.json(&report::History { operations: ops.iter().map(doc).collect() });
    Ok(0)
}

/// `upgrade hello 1a2b3c → 4d5e6f`, or the subject of a commit that is no atk operation.
fn describe(op: &Operation) -> String {
    let Some(kind) = &op.kind else { return format!("({})", crate::text::escape(&op.subject)) };
    let plugin = op.plugin.as_deref().or(op.name.as_deref()).map(|p| format!(" {}", crate::text::escape(p)));
    let pins = match (&op.from, &op.to) {
        (Some(f), Some(t)) => format!("  {} → {}", short(f), short(t)),
        (None, Some(t)) => format!("  @ {}", short(t)),
        (Some(f), None) => format!("  (was {})", short(f)),
        (None, None) => String::new(),
    };
    let by_hand = if op.recorded || op.plugin.is_none() { "" } else { "  [from the subject]" };
    format!("{kind}{}{pins}{by_hand}", plugin.unwrap_or_default())
}

fn doc(op: &Operation) -> report::OperationDoc {
    report::OperationDoc {
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
