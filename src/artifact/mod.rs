//! Pinning what a plugin runs. A commit pin makes `plugin.yaml` reproducible, not the server it
//! starts: `npx -y pkg`, `uvx pkg` and `docker run image:tag` run whatever the registry serves that
//! day. atk finds those floating references ([`find`]), resolves each to one artifact (an npm
//! version and its integrity, a git commit, a PyPI version and its files' sha256, an image digest)
//! against the registries the user's own tools ask ([`Registries`]), never choosing a release
//! younger than the cooldown ([`Policy`]), and records them in the plugin's manifest entry
//! ([`Pin`], the `lock` list): the committed manifest is the whole lock. `atk exec` runs the locked
//! words ([`locked_args`]) and compose gets the locked images through an override file
//! ([`compose_override`]).

pub mod find;
pub mod http;
mod npm;
mod oci;
mod pypi;
mod registries;
pub mod resolve;

use std::collections::BTreeMap;

use yaml_serde::Mapping;

pub use crate::home::manifest::{ArtifactKind, Pin};
pub use find::{find, Found, Place, Reference, Want};
pub use registries::Registries;
pub use resolve::{resolve_all, HeldBack, Policy, Resolved};

/// What a pin means to a plugin's command line: kept here, with the references it pins (the
/// type is the manifest's).
impl Pin {
    /// The word that runs the locked artifact in place of `reference`'s; `None` when the pin
    /// does not hold what that needs, well formed (a manifest is edited by hand: a version that
    /// is not one, a digest that is not sha256, counts as no pin).
    pub fn word(&self, reference: &Reference) -> Option<String> {
        let version = || {
            self.version
                .as_deref()
                .filter(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || ".+-!_".contains(c)))
        };
        match &reference.want {
            Want::Npm { name, .. } => {
                let v = version().filter(|v| nodejs_semver::Version::parse(v).is_ok())?;
                Some(format!("{name}@{v}"))
            }
            Want::NpmGit { base, .. } => {
                let c = self.commit.as_deref().filter(|c| c.len() == 40 && c.chars().all(|c| c.is_ascii_hexdigit()))?;
                Some(format!("{base}#{c}"))
            }
            Want::Pypi { name, extras, .. } => {
                let v = version().filter(|v| v.parse::<pep440_rs::Version>().is_ok())?;
                Some(format!("{name}{extras}=={v}"))
            }
            Want::Oci { image } => {
                let d = self.digest.as_deref().filter(|d| is_digest(d))?;
                Some(format!("{}@{d}", image.written_without_digest()))
            }
        }
    }

    /// Whether this pin is the lock of `reference` (same kind, same word).
    pub fn locks(&self, reference: &Reference) -> bool {
        self.kind == reference.kind() && self.spec == reference.spec && self.word(reference).is_some()
    }
}

/// A release of a package that may be chosen (what npm's and PyPI's documents say of it).
pub(crate) struct Candidate {
    pub version: String,
    pub published: Option<jiff::Timestamp>,
    /// Why the registry withdrew it (npm's deprecation, PyPI's yank).
    pub withdrawn: Option<String>,
    pub integrity: Option<String>,
    pub sha256: BTreeMap<String, String>,
}

/// The floating references of `plugin`: in its stdio MCP server's command line as plugin.yaml
/// writes it, and in the compose file its service runs (its text from `read`, given a path in the
/// plugin's folder).
pub fn of_plugin(plugin: &crate::plugin::Plugin, read: impl Fn(&str) -> Option<String>) -> Found {
    let (command, args) = match &plugin.mcp {
        Some(m) if m.transport == "stdio" => (m.command.as_deref(), m.args.clone().unwrap_or_default()),
        _ => (None, vec![]),
    };
    let compose = if crate::plugin::uses_compose(plugin) {
        let texts = std::cell::RefCell::new(std::collections::HashMap::new());
        let exists = |f: &str| texts.borrow_mut().entry(f.to_string()).or_insert_with(|| read(f)).is_some();
        let file = crate::plugin::compose_file_of(plugin, exists);
        let text = texts.borrow_mut().remove(file).unwrap_or_else(|| read(file));
        text
    } else {
        None
    };
    find(command, &args, compose.as_deref())
}

/// The pin of `reference` in `lock`.
pub fn pin_of<'a>(lock: &'a [Pin], reference: &Reference) -> Option<&'a Pin> {
    lock.iter().find(|p| p.locks(reference))
}

/// How a plugin's lock stands against what it declares now.
#[derive(Debug, Default, PartialEq)]
pub struct Standing {
    /// Floating references without a pin (a manifest saved by another tool, a hand-edited
    /// `plugin.yaml`, a plugin added before atk locked).
    pub unlocked: Vec<String>,
    /// Pins of references the plugin no longer declares.
    pub stale: Vec<String>,
}

impl Standing {
    pub fn of(found: &Found, lock: &[Pin]) -> Standing {
        let unlocked = found.references.iter().filter(|r| pin_of(lock, r).is_none()).map(|r| r.spec.clone()).collect();
        let stale = lock
            .iter()
            .filter(|p| p.kind.is_known() && !found.references.iter().any(|r| p.locks(r)))
            .map(|p| format!("{} {}", p.kind.as_str(), p.spec))
            .collect();
        Standing { unlocked, stale }
    }

    pub fn is_clean(&self) -> bool {
        self.unlocked.is_empty() && self.stale.is_empty()
    }
}

/// The MCP server's arguments with each locked reference's word in place of the floating one, and
/// the floating references that have no pin (run as written).
pub fn locked_args(args: &[String], found: &Found, lock: &[Pin]) -> (Vec<String>, Vec<String>) {
    let mut args = args.to_vec();
    let mut unlocked = Vec::new();
    for r in &found.references {
        let Place::Arg(i) = r.at else { continue };
        match pin_of(lock, r).and_then(|p| p.word(r)) {
            Some(word) if i < args.len() => args[i] = word,
            _ => unlocked.push(r.spec.clone()),
        }
    }
    (args, unlocked)
}

/// A compose override that gives each locked service its image by digest, or `None` when no
/// service has a pin.
pub fn compose_override(found: &Found, lock: &[Pin]) -> Option<String> {
    let mut services = Mapping::new();
    for r in &found.references {
        let Place::Service(service) = &r.at else { continue };
        if let Some(word) = pin_of(lock, r).and_then(|p| p.word(r)) {
            let mut s = Mapping::new();
            s.insert("image".into(), word.into());
            services.insert(service.as_str().into(), s.into());
        }
    }
    if services.is_empty() {
        return None;
    }
    let mut doc = Mapping::new();
    doc.insert("services".into(), services.into());
    Some(format!(
        "# Written by atk from the plugin's lock in manifest.yaml: each image by its digest.\n{}",
        yaml_serde::to_string(&doc).expect("a mapping of strings converts to YAML")
    ))
}

/// A container image reference: `[registry/]repository[:tag][@digest]`, as docker reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// The registry's host (and port): `docker.io` when none is written.
    pub registry: String,
    /// The repository on it (`library/mongo` for Docker Hub's official images).
    pub repository: String,
    pub tag: String,
    pub digest: Option<String>,
    written: String,
}

impl Image {
    pub fn parse(word: &str) -> Result<Image, String> {
        let (name, digest) = match word.split_once('@') {
            Some((n, d)) => (n, Some(d.to_string())),
            None => (word, None),
        };
        let (name, tag) = match name.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => (n, t.to_string()),
            _ => (name, "latest".to_string()),
        };
        let (registry, path) = match name.split_once('/') {
            Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
                (first.to_string(), rest.to_string())
            }
            _ => ("docker.io".to_string(), name.to_string()),
        };
        let path = if registry == "docker.io" && !path.contains('/') { format!("library/{path}") } else { path };
        let valid_path = !path.is_empty()
            && path.split('/').all(|c| {
                !c.is_empty()
                    && c.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "._-".contains(ch))
            });
        let valid_tag =
            !tag.is_empty() && tag.len() <= 128 && tag.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !valid_path || !valid_tag {
            return Err(format!("'{word}' is not an image reference"));
        }
        if let Some(d) = &digest {
            if !is_digest(d) {
                return Err(format!("'{d}' is not a sha256 digest"));
            }
        }
        Ok(Image { registry, repository: path, tag, digest, written: word.to_string() })
    }

    /// The reference as written, without a digest (`mongo:7`).
    pub fn written_without_digest(&self) -> &str {
        self.written.split('@').next().unwrap_or(&self.written)
    }
}

/// Whether `d` is `sha256:` and 64 lowercase hex digits.
pub fn is_digest(d: &str) -> bool {
    d.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_as_docker_reads_them() {
        let i = Image::parse("mongo").unwrap();
        assert_eq!(
            (i.registry.as_str(), i.repository.as_str(), i.tag.as_str()),
            ("docker.io", "library/mongo", "latest")
        );
        let i = Image::parse("ghcr.io/org/tools/img:1.2").unwrap();
        assert_eq!((i.registry.as_str(), i.repository.as_str(), i.tag.as_str()), ("ghcr.io", "org/tools/img", "1.2"));
        let i = Image::parse("127.0.0.1:5000/team/img").unwrap();
        assert_eq!(
            (i.registry.as_str(), i.repository.as_str(), i.tag.as_str()),
            ("127.0.0.1:5000", "team/img", "latest")
        );
        let i = Image::parse("localhost/x:y").unwrap();
        assert_eq!(i.registry, "localhost");
        for bad in ["Mongo", "a//b", "x:", "img@sha256:12"] {
            assert!(Image::parse(bad).is_err(), "{bad}");
        }
    }

    fn pinned(kind: ArtifactKind, spec: &str, f: impl FnOnce(&mut Pin)) -> Pin {
        let mut p = Pin::new(kind, spec);
        f(&mut p);
        p
    }

    #[test]
    fn locked_words_replace_the_floating_ones_in_place() {
        let args: Vec<String> = ["-y", "@s/p@^1", "--flag"].iter().map(|s| s.to_string()).collect();
        let found = find(Some("npx"), &args, None);
        let lock = [pinned(ArtifactKind::Npm, "@s/p@^1", |p| p.version = Some("1.4.2".into()))];
        assert_eq!(
            locked_args(&args, &found, &lock),
            (vec!["-y".into(), "@s/p@1.4.2".into(), "--flag".into()], vec![])
        );
        assert_eq!(locked_args(&args, &found, &[]), (args.clone(), vec!["@s/p@^1".to_string()]));
        // A pin of another word (the plugin changed what it runs) is not used.
        let other = [pinned(ArtifactKind::Npm, "@s/p", |p| p.version = Some("9.0.0".into()))];
        assert_eq!(locked_args(&args, &found, &other).1, ["@s/p@^1"]);
        assert_eq!(
            Standing::of(&found, &other),
            Standing { unlocked: vec!["@s/p@^1".into()], stale: vec!["npm @s/p".into()] }
        );

        let args: Vec<String> = ["--from", "pkg[cli]>=2", "tool"].iter().map(|s| s.to_string()).collect();
        let found = find(Some("uvx"), &args, None);
        let lock = [pinned(ArtifactKind::Pypi, "pkg[cli]>=2", |p| p.version = Some("2.3".into()))];
        assert_eq!(locked_args(&args, &found, &lock).0[1], "pkg[cli]==2.3");
        // A pin edited by hand into something that is not a version is no pin.
        for bad in ["2.3 ; rm -rf ~", "", "2.3\n", "$(x)"] {
            let lock = [pinned(ArtifactKind::Pypi, "pkg[cli]>=2", |p| p.version = Some(bad.into()))];
            assert_eq!(locked_args(&args, &found, &lock).1, ["pkg[cli]>=2"], "{bad:?}");
        }
    }

    #[test]
    fn the_compose_override_names_each_locked_service() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        let found = find(None, &[], Some("services:\n  db:\n    image: postgres:16\n  web:\n    image: nginx\n"));
        let forged = [pinned(ArtifactKind::Oci, "postgres:16", |p| p.digest = Some("evil/img:1".into()))];
        assert!(compose_override(&found, &forged).is_none());
        let lock = [pinned(ArtifactKind::Oci, "postgres:16", |p| p.digest = Some(digest.clone()))];
        let text = compose_override(&found, &lock).unwrap();
        let doc: yaml_serde::Value = yaml_serde::from_str(&text).unwrap();
        assert_eq!(doc["services"]["db"]["image"].as_str().unwrap(), format!("postgres:16@{digest}"));
        assert!(doc["services"].get("web").is_none());
        assert!(compose_override(&found, &[]).is_none());
    }

    #[test]
    fn a_lock_round_trips_through_yaml() {
        let mut p = pinned(ArtifactKind::Pypi, "pkg", |p| p.version = Some("1.0".into()));
        p.sha256.insert("pkg-1.0.tar.gz".into(), "00".repeat(32));
        let text = yaml_serde::to_string(&vec![p.clone()]).unwrap();
        assert_eq!(yaml_serde::from_str::<Vec<Pin>>(&text).unwrap(), vec![p]);
    }
}
