//! Resolving floating references: each distinct package document, index page or image tag is
//! asked for once, all of them at once (the wait is the slowest registry's, not their sum), then
//! each reference gets the release its launcher would pick, unless that release is younger than
//! the cooldown or withdrawn, in which case the newest older one that is neither.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;

use super::find::{Reference, Want};
use super::{npm, oci, pypi, Pin, Registries};
use crate::error::{Error, Result};
use crate::source::git::Cache;

/// What may be chosen.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Releases younger than this are not chosen (`config.min_release_age`; zero turns it off).
    pub min_age: Duration,
    pub now: Timestamp,
    /// Versions the user named (`--pin NAME@VERSION`): chosen whatever their age.
    pub explicit: Vec<(String, String)>,
}

impl Policy {
    pub const DEFAULT_MIN_AGE: Duration = crate::home::manifest::DEFAULT_MIN_RELEASE_AGE;

    /// Whether a release published at `published` may be chosen now; when not, when it may.
    fn eligible_at(&self, published: Option<Timestamp>) -> Option<Timestamp> {
        if self.min_age.is_zero() {
            return None;
        }
        let Some(published) = published else { return Some(Timestamp::MAX) };
        // A time so far ahead that it overflows is not eligible either.
        let age = jiff::SignedDuration::try_from(self.min_age).unwrap_or(jiff::SignedDuration::MAX);
        let at = published.checked_add(age).unwrap_or(Timestamp::MAX);
        (at > self.now).then_some(at)
    }

    /// The version the user named for package `name` of `kind`.
    fn explicit_for(&self, name: &str, python: bool) -> Option<&str> {
        let norm = |n: &str| if python { pypi::normalize(n) } else { n.to_string() };
        self.explicit.iter().find(|(n, _)| norm(n) == norm(name)).map(|(_, v)| v.as_str())
    }
}

/// A Python package's name as indexes compare it (PEP 503).
pub fn normalize_python(name: &str) -> String {
    pypi::normalize(name)
}

/// Parses `--pin NAME@VERSION` (`@scope/name@1.2.0`, `name==1.2.0` for Python).
pub fn parse_explicit(value: &str) -> Result<(String, String)> {
    let at =
        value.char_indices().skip(1).filter(|(_, c)| *c == '@').last().map(|(i, _)| (&value[..i], &value[i + 1..]));
    let split = value.split_once("==").or(at);
    match split {
        Some((n, v)) if !n.trim().is_empty() && !v.trim().is_empty() => Ok((n.trim().into(), v.trim().into())),
        _ => Err(Error::usage(
            format!("--pin {value:?} names no version"),
            Some("write the package and its version: `--pin @scope/pkg@2.1.0` or `--pin pkg==1.4`".into()),
        )),
    }
}

/// A release that was not chosen because it is too young.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldBack {
    pub version: String,
    pub published: Option<Timestamp>,
    /// When it becomes eligible.
    pub eligible: Timestamp,
}

/// One reference resolved.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub pin: Pin,
    /// The newer release its launcher would pick, held back by the cooldown.
    pub held: Option<HeldBack>,
    /// Releases passed over because their registry withdrew them, and a version the user named.
    pub notes: Vec<String>,
}

/// What a registry answered for one distinct request.
enum Answer {
    Npm(npm::Document),
    Pypi(pypi::Project),
    Digest(String),
    Commit(String),
}

/// The distinct request of a reference.
fn request_of(r: &Reference, registries: &Registries, python_index: &str) -> String {
    match &r.want {
        Want::Npm { name, .. } => format!("npm {}{name}", registries.npm_for(name)),
        Want::NpmGit { url, committish, .. } => format!("git {url}#{}", committish.as_deref().unwrap_or("")),
        Want::Pypi { name, .. } => format!("pypi {python_index}{}", pypi::normalize(name)),
        Want::Oci { image } => format!("oci {}/{}:{}", image.registry, image.repository, image.tag),
    }
}

/// How many requests are in flight at once, at most.
const PARALLEL: usize = 16;

/// Resolves every reference of `refs` (each with the index its launcher reads: uv's or pip's),
/// asking each distinct thing once, all at once. Results are in the order of `refs`. Fails as a
/// whole only on Ctrl-C.
pub fn resolve_all(
    registries: &Registries,
    cache: &Cache,
    policy: &Policy,
    refs: &[Reference],
) -> Result<Vec<Result<Resolved>>> {
    let index_of = |pip: bool| if pip { registries.pip_index.as_str() } else { registries.uv_index.as_str() };
    let mut distinct: Vec<(String, &Reference)> = Vec::new();
    for r in refs {
        let key = request_of(r, registries, index_of(r.pip));
        if !distinct.iter().any(|(k, _)| *k == key) {
            distinct.push((key, r));
        }
    }
    let answers: Vec<Result<Answer>> = crate::pool::map(&distinct, PARALLEL, |(_, r)| {
        crate::error::check_interrupt()?;
        match &r.want {
            Want::Npm { name, .. } => npm::document(registries, name).map(Answer::Npm),
            Want::Pypi { name, .. } => pypi::project(registries, index_of(r.pip), name).map(Answer::Pypi),
            Want::Oci { image } => oci::digest(registries, image).map(Answer::Digest),
            Want::NpmGit { url, committish, base } => {
                git_commit(cache, url, base, committish.as_deref()).map(Answer::Commit)
            }
        }
    });
    crate::error::check_interrupt()?;
    let answers: BTreeMap<&str, Result<Answer>> = distinct.iter().map(|(k, _)| k.as_str()).zip(answers).collect();
    Ok(refs
        .iter()
        .map(|r| {
            let key = request_of(r, registries, index_of(r.pip));
            match &answers[key.as_str()] {
                Ok(answer) => choose(r, answer, policy),
                Err(e) => Err(e.clone()),
            }
        })
        .collect())
}

fn git_commit(cache: &Cache, url: &str, base: &str, committish: Option<&str>) -> Result<String> {
    let repo = crate::source::git::Repo::open(url, base, cache)?;
    match repo.resolve(committish)? {
        Some(id) => Ok(id.to_string()),
        None => Err(Error::plugin_refused(
            match committish {
                Some(c) => format!("{base} has no branch or tag '{c}'"),
                None => format!("{base} has no default branch"),
            },
            vec!["check the repository the plugin's MCP server runs (its `mcp.args`)".into()],
        )),
    }
}

fn choose(r: &Reference, answer: &Answer, policy: &Policy) -> Result<Resolved> {
    let mut pin = Pin::new(r.kind(), &r.spec);
    let (name, python, candidates) = match (answer, &r.want) {
        (Answer::Digest(d), _) => {
            pin.digest = Some(d.clone());
            return Ok(Resolved { pin, held: None, notes: vec![] });
        }
        (Answer::Commit(c), _) => {
            pin.commit = Some(c.clone());
            return Ok(Resolved { pin, held: None, notes: vec![] });
        }
        (Answer::Npm(doc), Want::Npm { name, tag, range }) => {
            let explicit = policy.explicit_for(name, false);
            (name, false, npm::candidates(doc, tag.as_deref(), range.as_deref(), explicit)?)
        }
        (Answer::Pypi(project), Want::Pypi { name, specifier, .. }) => {
            let explicit = policy.explicit_for(name, true);
            (name, true, pypi::candidates(project, specifier, explicit)?)
        }
        _ => unreachable!("each answer is of its reference's kind"),
    };
    let explicit = policy.explicit_for(name, python).is_some();
    let mut held: Option<HeldBack> = None;
    let mut notes = Vec::new();
    for c in candidates {
        if let Some(why) = &c.withdrawn {
            if explicit {
                notes.push(format!(
                    "{name} {} is withdrawn by its registry ({why}), chosen because you named it",
                    c.version
                ));
            } else {
                if notes.len() < 3 {
                    notes.push(format!("{name} {} is withdrawn by its registry ({why}): not chosen", c.version));
                }
                continue;
            }
        }
        if !explicit {
            if let Some(eligible) = policy.eligible_at(c.published) {
                if held.is_none() {
                    held = Some(HeldBack { version: c.version.clone(), published: c.published, eligible });
                }
                continue;
            }
        } else {
            notes.push(format!("{name} {} as you named it (--pin): the release cooldown does not apply", c.version));
        }
        pin.version = Some(c.version);
        pin.integrity = c.integrity;
        pin.sha256 = c.sha256;
        pin.published = c.published.map(|t| t.to_string());
        return Ok(Resolved { pin, held, notes });
    }
    let hint = match &held {
        Some(h) => format!(
            "wait until {}, name a version with `--pin {name}@{}`, or lower `config.min_release_age` in manifest.yaml",
            date(h.eligible),
            h.version
        ),
        None => "check the version the plugin asks for".into(),
    };
    let why = match (&held, policy.min_age.as_secs() / 86_400) {
        (Some(_), days) if days > 0 => {
            format!("no release of {name} that fits '{}' is older than {days} days and not withdrawn", r.spec)
        }
        (Some(_), _) => format!("no release of {name} that fits '{}' is old enough and not withdrawn", r.spec),
        (None, _) => format!("no release of {name} fits '{}' (withdrawn ones are not chosen)", r.spec),
    };
    Err(Error::plugin_refused(why, vec![hint]))
}

/// A day as people write it: `Dec 12`, with the year when it is not this one.
pub fn date(t: Timestamp) -> String {
    if t == Timestamp::MAX {
        return "its registry says when it was published".into();
    }
    let z = t.to_zoned(jiff::tz::TimeZone::UTC);
    let now = Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    if z.year() == now.year() {
        z.strftime("%b %-d").to_string()
    } else {
        z.strftime("%b %-d %Y").to_string()
    }
}

/// How long before `now` `t` was: `2 days ago`.
pub fn ago(t: Timestamp, now: Timestamp) -> String {
    crate::text::ago_or_just_now(now.as_second().saturating_sub(t.as_second()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_pins_name_a_package_and_a_version() {
        assert_eq!(parse_explicit("@s/p@2.1.0").unwrap(), ("@s/p".to_string(), "2.1.0".to_string()));
        assert_eq!(parse_explicit("pkg@1").unwrap(), ("pkg".to_string(), "1".to_string()));
        assert_eq!(parse_explicit("Pkg==1.4").unwrap(), ("Pkg".to_string(), "1.4".to_string()));
        for bad in ["pkg", "@s/p", "@x", "==1", "pkg@"] {
            assert!(parse_explicit(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_cooldown_boundary() {
        let now: Timestamp = "2026-12-06T00:00:00Z".parse().unwrap();
        let p = Policy { min_age: Policy::DEFAULT_MIN_AGE, now, explicit: vec![] };
        let just_older: Timestamp = "2026-12-02T23:59:59Z".parse().unwrap();
        let just_younger: Timestamp = "2026-12-03T00:00:01Z".parse().unwrap();
        assert_eq!(p.eligible_at(Some(just_older)), None);
        assert_eq!(p.eligible_at(Some(just_younger)), Some("2026-12-06T00:00:01Z".parse().unwrap()));
        assert!(p.eligible_at(None).is_some());
        let off = Policy { min_age: Duration::ZERO, ..p };
        assert_eq!(off.eligible_at(Some(now)), None);
        assert_eq!(off.eligible_at(None), None);
    }
}
