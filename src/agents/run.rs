//! Running one change: an agent's program (bounded, its last words kept and scrubbed) or a file
//! written.

use super::{skill, write_user_file, Apply, Change};
use crate::error::Error;
use crate::plugin::secret::Scrubber;

pub(super) enum Failure {
    NotInstalled(String),
    Failed(String),
    Interrupted,
}

/// Makes one change; what an agent's program says is repeated with `scrubber`'s secrets taken out.
pub(super) fn run_change(c: &Change, how: &Apply, scrubber: &Scrubber) -> std::result::Result<(), Failure> {
    match c {
        Change::Run { argv, .. } => run_program(argv, how, scrubber),
        Change::Say(_) => Ok(()),
        Change::Remove { path, folder } => {
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Failure::Failed(format!("cannot remove {}: {e}", path.display()))),
            }
            // Only an empty folder goes: anything put there since stays, with its folder.
            if let Some(folder) = folder {
                let _ = std::fs::remove_dir(folder);
            }
            Ok(())
        }
        Change::Write { path, text, .. } => write_user_file(path, text).map_err(|e| Failure::Failed(e.to_string())),
        Change::Link { link, target } => {
            skill::make_link(link, target).map_err(|e| Failure::Failed(format!("cannot link {}: {e}", link.display())))
        }
        Change::Unlink { link } => match std::fs::remove_file(link) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Failure::Failed(format!("cannot remove {}: {e}", link.display()))),
        },
    }
}

/// The longest an agent's program may take (one that waits for a login, say, is given up on).
const PROGRAM_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// Runs an agent's program, its output shown with `-v`; a failure carries the agent's last words.
fn run_program(argv: &[String], how: &Apply, scrubber: &Scrubber) -> std::result::Result<(), Failure> {
    let program =
        how.env.which(&argv[0]).ok_or_else(|| Failure::NotInstalled(format!("'{}' is not on PATH", argv[0])))?;
    let mut cmd = std::process::Command::new(program);
    cmd.args(&argv[1..]);
    if let Some(path) = &how.env.path {
        cmd.env("PATH", path);
    }
    use crate::process::{Bounds, End};
    let out = match crate::process::output(&mut cmd, Bounds::time(PROGRAM_TIMEOUT), &format!("cannot run {}", argv[0]))
    {
        Ok(out) => out,
        Err(Error::Interrupted) => return Err(Failure::Interrupted),
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Err(Failure::NotInstalled(format!("'{}' is not on PATH", argv[0])))
        }
        Err(e) => return Err(Failure::Failed(e.to_string())),
    };
    let status = match out.end {
        End::Exited(status) => status,
        End::TimedOut | End::Stalled => {
            return Err(Failure::Failed(format!(
                "{} did not finish within {}s and was stopped",
                argv[0],
                PROGRAM_TIMEOUT.as_secs()
            )))
        }
    };
    // Each stream is scrubbed whole before it is cut into lines (a secret may span lines), and
    // where atk cut a flood of it, a secret across the cut is taken out too.
    let scrubbed = |stream: &[u8]| {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        match crate::process::pieces(stream) {
            (whole, None) => scrubber.scrub_cut(&text(whole), false, false),
            (head, Some((marker, tail))) => format!(
                "{}{}{}",
                scrubber.scrub_cut(&text(head), false, true),
                text(marker),
                scrubber.scrub_cut(&text(tail), true, false)
            ),
        }
    };
    let (stdout, stderr) = (scrubbed(&out.stdout), scrubbed(&out.stderr));
    for line in stdout.lines().chain(stderr.lines()) {
        how.reporter.detail(&format!("  {}: {}", argv[0], crate::text::escape(line)));
    }
    if status.success() {
        return Ok(());
    }
    use std::os::unix::process::ExitStatusExt;
    if status.signal() == Some(2) || crate::interrupt::is_set() {
        return Err(Failure::Interrupted);
    }
    let said = |s: &str| s.trim().lines().last().unwrap_or_default().to_string();
    let message = Some(said(&stderr)).filter(|m| !m.is_empty()).unwrap_or_else(|| said(&stdout));
    let status = match status.code() {
        Some(code) => format!("exit code {code}"),
        None => "killed by a signal".into(),
    };
    Err(Failure::Failed(if message.is_empty() {
        format!("{} {}: {status}", argv[0], argv.get(1).map(String::as_str).unwrap_or_default())
    } else {
        format!("{} ({status}): {}", crate::text::escape(&message), argv[0])
    }))
}
