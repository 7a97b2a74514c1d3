//! Moving a plugin back (`atk rollback`): where to (the pin it had before its last upgrade, or a
//! commit the user names) and what it runs there (the lock the home had at that pin, else one
//! resolved now). The move itself is the upgrade's ([`super::upgrade::move_plugin`]).

use gix::ObjectId;

use super::history;
use super::lock::{self, Lock, Locker};
use super::upgrade::MovePlan;
use crate::error::{Error, Result};
use crate::home::{Entry, Home, Manifest, SourceKind};
use crate::reporter::Reporter;
use crate::settings::Settings;
use crate::source::origin::Origin;

/// The commit `entry` goes back to: `to` (a full id, or the start of a pin of its history), else
/// the pin it had before the upgrade that brought it to its pin now. A local plugin has none.
pub fn target(home: &Home, entry: &Entry, to: Option<&str>) -> Result<ObjectId> {
    if entry.source.kind == SourceKind::Local {
        return Err(Error::nothing_to_do(
            format!("'{}' is a local plugin: it has no pins to go back to", crate::text::escape(&entry.name)),
            vec![format!("its files are tracked by the home's git: `atk git log -- plugins/{}`", entry.directory)],
        ));
    }
    if let Some(r) = to {
        return history::resolve_pin(&home.root, &entry.directory, r);
    }
    let current = crate::source::origin::pinned(entry)?.to_string();
    history::previous_pin_id(&home.root, &entry.directory, &current)?.ok_or_else(|| {
        Error::nothing_to_do(
            format!(
                "the history has no upgrade of '{}' to its pin {}: there is no earlier pin to go back to",
                crate::text::escape(&entry.name),
                crate::text::short_pin(&current)
            ),
            vec![format!("name one: `atk rollback {} --to <commit>`", entry.directory)],
        )
    })
}

/// What `entry` runs at the commit `plan` moves it to: the lock the home had for it at that pin,
/// else (or with `pins`, the user's `--pin`s) one resolved now.
pub fn lock_at(
    reporter: &dyn Reporter,
    settings: &Settings,
    home: &Home,
    manifest: &Manifest,
    entry: &Entry,
    origin: &Origin,
    (plan, pins): (&MovePlan, &[String]),
) -> Result<Lock> {
    let recorded = if pins.is_empty() { history::lock_at_pin(&home.root, &entry.directory, plan.to)? } else { None };
    if let Some(recorded) = recorded {
        return Ok(Lock::replacing(&entry.lock, recorded));
    }
    let found = lock::found_at(home, &entry.directory, origin.repo(), plan.to, &plan.path, &plan.new_plugin);
    let locker = Locker::new(settings, manifest, pins)?;
    locker.check_pins([&found])?;
    lock::lock_one(reporter, &locker, &found, &entry.lock, lock::Keep::Nothing)
}
