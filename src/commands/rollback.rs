use gix::ObjectId;

use super::{find, parse_sets, report, Ctx};
use crate::error::{Error, Result};
use crate::home::{Entry, Home, HomeLock, Manifest, Message, SourceKind};
use crate::source::origin::{Origin, Origins};
use crate::sync::{history, upgrade};

/// Move a remote plugin back to the pin it had before its last upgrade (or to --to REF), with the
/// upgrade's preview and confirmation, keeping custom/, .env and runtime data
#[derive(clap::Args)]
pub struct Args {
    /// The plugin (directory or name)
    pub plugin: String,
    /// A commit of the plugin's source that has the plugin: its full id, or the start of a pin
    /// `atk history <plugin>` shows
    #[arg(long, value_name = "REF")]
    pub to: Option<String>,
    /// Show what would change, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Set a variable the old version needs without asking (repeatable); KEY alone takes $KEY
    /// from the environment
    #[arg(long = "set", value_name = "KEY[=VALUE]")]
    pub set: Vec<String>,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<u8> {
    let sets = parse_sets(&args.set)?;
    let (home, lock) = ctx.lock_home()?;
    let mut manifest = home.manifest()?;
    let entry = find(&manifest, &args.plugin)?.clone();
    if entry.source.kind == SourceKind::Local {
        return Err(Error::nothing_to_do(
            format!("'{}' is a local plugin: it has no pins to go back to", crate::text::escape(&entry.name)),
            vec![format!("its files are tracked by the home's git: `atk git log -- plugins/{}`", entry.directory)],
        ));
    }
    let current = crate::source::origin::pinned(&entry)?.to_string();
    let to = match &args.to {
        Some(r) => resolve(&home, &entry, r)?,
        None => {
            let previous = history::previous_pin(&home.root, &entry.directory, &current)?.ok_or_else(|| {
                Error::nothing_to_do(
                    format!(
                        "the history has no upgrade of '{}' to its pin {}: there is no earlier pin to go back to",
                        crate::text::escape(&entry.name),
                        &current[..12.min(current.len())]
                    ),
                    vec![format!("name one: `atk rollback {} --to <commit>`", entry.directory)],
                )
            })?;
            ObjectId::from_hex(previous.as_bytes()).map_err(|_| {
                Error::conflict(
                    format!("the history records an invalid pin '{}'", crate::text::escape(&previous)),
                    vec![],
                )
            })?
        }
    };
    let origins = Origins::new(&ctx.settings, &manifest);
    let subject = format!("Rollback plugin '{}'", entry.name);
    let message = |plan: &upgrade::MovePlan| {
        Message::operation(subject.clone(), "rollback", &entry.directory, Some(&current), Some(&plan.to.to_string()))
    };
    let moved = move_to(
        ctx,
        Move { home: &home, lock: &lock, origins: &origins, sets: &sets, dry_run: args.dry_run, verb: "rollback" },
        &mut manifest,
        &entry,
        to,
        &message,
    )?;
    let doc = match moved {
        Moved::Same => {
            ctx.ui.line(format!(
                "{} {}: the files at {} are those it has now; nothing to do",
                ctx.ui.green("✓"),
                crate::text::escape(&entry.name),
                &to.to_string()[..12]
            ));
            super::upgrade::status(&entry, "up-to-date", None)
        }
        Moved::Would(plan) => super::upgrade::report(&entry, "would-roll-back", &plan, None),
        Moved::Declined(plan) => {
            ctx.ui.line(format!("- {}: not rolled back (declined)", crate::text::escape(&entry.name)));
            super::upgrade::report(&entry, "declined", &plan, None)
        }
        Moved::Done(plan, commit) => {
            ctx.ui.success(format!(
                "Rolled back '{}' to {}",
                crate::text::escape(&entry.name),
                &plan.to.to_string()[..12]
            ));
            super::upgrade::report(&entry, "rolled-back", &plan, commit)
        }
    };
    ctx.ui.json(&report::RolledBack { rollback: doc });
    Ok(0)
}

/// `REF` as a commit: a full id, or the start (4 or more hex digits) of exactly one pin the
/// plugin had in the home's history.
fn resolve(home: &Home, entry: &Entry, r: &str) -> Result<ObjectId> {
    let r = r.trim();
    if let Ok(id) = ObjectId::from_hex(r.as_bytes()) {
        return Ok(id);
    }
    let hex = r.len() >= 4 && r.chars().all(|c| c.is_ascii_hexdigit());
    let mut known: Vec<String> = history::read(&home.root, Some(&entry.directory), None)?
        .into_iter()
        .flat_map(|op| [op.from, op.to])
        .flatten()
        .filter(|p| hex && p.starts_with(&r.to_ascii_lowercase()))
        .collect();
    known.sort();
    known.dedup();
    match known.as_slice() {
        [one] => ObjectId::from_hex(one.as_bytes()).map_err(|_| Error::other(format!("invalid pin {one}"))),
        [] => Err(Error::usage(
            format!(
                "--to {}: not a commit id, nor the start of a pin of '{}' in the history",
                crate::text::escape(r),
                entry.directory
            ),
            Some(format!("give the full commit id, or one `atk history {}` shows", entry.directory)),
        )),
        many => Err(Error::usage(
            format!("--to {}: the start of {} pins of '{}'", crate::text::escape(r), many.len(), entry.directory),
            Some("give more of the commit id".into()),
        )),
    }
}

/// What a move of one plugin to another pin shares with the command around it.
pub(super) struct Move<'a> {
    pub home: &'a Home,
    pub lock: &'a HomeLock,
    pub origins: &'a Origins,
    pub sets: &'a [(String, String)],
    pub dry_run: bool,
    /// The command, for the hint of the confirmation.
    pub verb: &'static str,
}

pub(super) enum Moved {
    /// The plugin's files are the same at both commits.
    Same,
    Would(upgrade::MovePlan),
    Declined(upgrade::MovePlan),
    Done(upgrade::MovePlan, Option<String>),
}

/// Moves `entry` to commit `to` of its source with the upgrade's machinery: the same preview, a
/// confirmation when commands that run here change, the variables the other version needs, and
/// one transaction committed with `message(plan)`.
pub(super) fn move_to(
    ctx: &Ctx,
    m: Move,
    manifest: &mut Manifest,
    entry: &Entry,
    to: ObjectId,
    message: &dyn Fn(&upgrade::MovePlan) -> Message,
) -> Result<Moved> {
    let origin: Origin = m.origins.open(&entry.source)?;
    origin.repo().ensure_commit(to).map_err(|e| match e {
        Error::Git { message, mut hints } => {
            hints.push(format!("is {to} a commit of {}?", origin.url()));
            Error::Git { message, hints }
        }
        e => e,
    })?;
    let Some(plan) = upgrade::plan(m.home, entry, &origin, to)? else { return Ok(Moved::Same) };
    super::upgrade::show(ctx, entry, &plan);
    if m.dry_run {
        return Ok(Moved::Would(plan));
    }
    // The command again, with --yes.
    let again = match m.verb {
        "undo" => "`atk undo --yes`".to_string(),
        verb => format!("`atk {verb} {} --yes`", entry.directory),
    };
    // The user's edits to shipped files give way to the other version's files: never silently.
    let edited = crate::sync::drift::drift(m.home, entry, &origin).map(|d| d.modified).unwrap_or_default();
    if !edited.is_empty() {
        let shown: Vec<String> = edited.iter().map(|p| crate::text::escape(p.as_str()).into_owned()).collect();
        ctx.ui.warn(format!(
            "{} of '{}' changed since it was installed ({}); the version at {} replaces {} (`atk diff {}` shows the changes)",
            crate::error::plural(edited.len(), "shipped file"),
            crate::text::escape(&entry.name),
            shown.join(", "),
            &to.to_string()[..12],
            if edited.len() == 1 { "it" } else { "them" },
            entry.directory
        ));
        let hint = format!("save your changes first, or pass --yes to replace them: {again}");
        if !ctx.ui.confirm("Replace your changes?", &hint)? {
            return Ok(Moved::Declined(plan));
        }
    }
    if plan.changes_commands() {
        let hint = format!("review the changes above, then pass --yes: {again}");
        let question = format!(
            "The version of '{}' at {} changes commands that run on this machine. Go on?",
            crate::text::escape(&entry.name),
            &to.to_string()[..12]
        );
        if !ctx.ui.confirm(&question, &hint)? {
            return Ok(Moved::Declined(plan));
        }
    }
    let operation = format!("atk {} {}", m.verb, entry.directory);
    let at = (m.home, m.lock, m.sets);
    let commit = super::upgrade::apply_move(ctx, at, manifest, entry, &origin, &plan, (&operation, &message(&plan)))?;
    Ok(Moved::Done(plan, commit))
}
