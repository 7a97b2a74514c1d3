//! npm: the package document (`GET <registry>/<name>`, the full one: only it has every version's
//! publish time), and the versions `npx` would pick from it, newest acceptable first.

use std::collections::BTreeMap;

use jiff::Timestamp;
use nodejs_semver::{Range, Version};

use super::http::{self, Ask};
use super::{Candidate, Registries};
use crate::error::{Error, Result};

/// What atk reads of a package document.
pub struct Document {
    name: String,
    dist_tags: BTreeMap<String, String>,
    /// version → (integrity, deprecation)
    versions: BTreeMap<String, (Option<String>, Option<String>)>,
    time: BTreeMap<String, Timestamp>,
}

/// The document of `name` from its registry.
pub fn document(registries: &Registries, name: &str) -> Result<Document> {
    let registry = registries.npm_for(name);
    // A scoped name keeps its `@` and escapes its `/`, as npm asks.
    let url = format!("{registry}{}", name.replace('/', "%2f"));
    let mut headers = vec!["Accept: application/json".to_string()];
    if let Some(token) = registries.npm_token(&url) {
        headers.push(format!("Authorization: Bearer {token}"));
    }
    let answer = http::send(&Ask { url: &url, head: false, headers }, registries.timeout)?;
    let host = http::host(registry);
    match answer.status {
        200 => {}
        404 => {
            return Err(Error::plugin_refused(
                format!("npm package '{name}' does not exist at {host}"),
                vec!["check the package the plugin's MCP server runs (its `mcp.args`), and npm's registry setting"
                    .into()],
            ))
        }
        s => {
            return Err(Error::Registry {
                message: format!("{host} answered {s} for npm package '{name}'"),
                hints: vec![
                    "try again later; a 401 or 403 means npm's token for this registry (`.npmrc`) is missing".into()
                ],
            })
        }
    }
    parse(&answer.body).map_err(|why| Error::Registry {
        message: format!("{host} sent a document for '{name}' that atk cannot read: {why}"),
        hints: vec!["is npm_config_registry an npm registry?".into()],
    })
}

fn parse(body: &[u8]) -> std::result::Result<Document, String> {
    let doc: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let strings = |v: Option<&serde_json::Value>| -> BTreeMap<String, String> {
        v.and_then(|v| v.as_object())
            .map(|o| o.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
            .unwrap_or_default()
    };
    let versions = doc
        .get("versions")
        .and_then(|v| v.as_object())
        .ok_or("it has no versions")?
        .iter()
        .map(|(v, m)| {
            let integrity = m.pointer("/dist/integrity").and_then(|i| i.as_str()).map(str::to_string);
            // npm marks a deprecated version with a non-empty message.
            let deprecated = m.get("deprecated").and_then(|d| d.as_str()).filter(|d| !d.is_empty()).map(str::to_string);
            (v.clone(), (integrity, deprecated))
        })
        .collect();
    let time = strings(doc.get("time")).into_iter().filter_map(|(v, t)| Some((v, t.parse().ok()?))).collect();
    Ok(Document {
        name: doc.get("name").and_then(|n| n.as_str()).unwrap_or_default().to_string(),
        dist_tags: strings(doc.get("dist-tags")),
        versions,
        time,
    })
}

/// The versions of `doc` that may run for `tag` (`latest` when neither is given) or `range`,
/// newest first, starting with the one npm would pick: the tag's version (then older releases),
/// or for a range the `latest` tag's version when it fits, else the newest that fits. With
/// `explicit`, that version alone.
pub(super) fn candidates(
    doc: &Document,
    tag: Option<&str>,
    range: Option<&str>,
    explicit: Option<&str>,
) -> Result<Vec<Candidate>> {
    let name = &doc.name;
    let mut all: Vec<(Version, &String)> =
        doc.versions.keys().filter_map(|v| Some((Version::parse(v).ok()?, v))).collect();
    all.sort();
    let candidate = |v: &String| Candidate {
        version: v.clone(),
        published: doc.time.get(v).copied(),
        withdrawn: doc.versions.get(v).and_then(|(_, d)| d.clone()),
        integrity: doc.versions.get(v).and_then(|(i, _)| i.clone()),
        sha256: BTreeMap::new(),
    };
    if let Some(v) = explicit {
        return match all.iter().find(|(_, text)| text.as_str() == v) {
            Some((_, text)) => Ok(vec![candidate(text)]),
            None => Err(Error::plugin_refused(
                format!("npm package '{name}' has no version {v}"),
                vec![format!("`npm view {name} versions` lists them")],
            )),
        };
    }
    let latest = doc.dist_tags.get("latest").and_then(|v| Version::parse(v).ok());
    type Fits = Box<dyn Fn(&Version) -> bool>;
    let (top, fits): (Option<Version>, Fits) = match range {
        Some(r) => {
            let range = Range::parse(r)
                .map_err(|e| Error::plugin_refused(format!("'{r}' is not an npm range: {e}"), vec![]))?;
            // npm's rule: a prerelease fits only a range that names one of the same version.
            let fits = move |v: &Version| range.satisfies(v);
            let top = match &latest {
                Some(l) if fits(l) => Some(l.clone()),
                _ => all.iter().rev().find(|(v, _)| fits(v)).map(|(v, _)| v.clone()),
            };
            (top, Box::new(fits))
        }
        None => {
            let tag = tag.unwrap_or("latest");
            let target = doc.dist_tags.get(tag).and_then(|v| Version::parse(v).ok()).ok_or_else(|| {
                Error::plugin_refused(
                    format!("npm package '{name}' has no tag '{tag}'"),
                    vec![format!("`npm view {name} dist-tags` lists them")],
                )
            })?;
            // Older than the tag: its own line of releases (stable ones; prereleases of the
            // tag's version when the tag is one).
            let t = target.clone();
            let fits = move |v: &Version| {
                *v == t
                    || (!v.is_prerelease() || (v.major(), v.minor(), v.patch()) == (t.major(), t.minor(), t.patch()))
            };
            (Some(target), Box::new(fits))
        }
    };
    let Some(top) = top else {
        return Err(Error::plugin_refused(
            format!("no version of npm package '{name}' fits '{}'", range.unwrap_or_default()),
            vec![format!("`npm view {name} versions` lists them")],
        ));
    };
    Ok(all.iter().rev().filter(|(v, _)| *v <= top && fits(v)).map(|(_, text)| candidate(text)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Document {
        parse(
            br#"{"name":"p","dist-tags":{"latest":"1.3.0","next":"2.0.0-rc.1"},
            "versions":{"1.0.0":{"dist":{"integrity":"sha512-a"}},"1.2.0":{"deprecated":"bad"},"1.3.0":{},"1.4.0":{},"2.0.0-rc.1":{}},
            "time":{"created":"2026-01-01T00:00:00.000Z","1.0.0":"2026-01-01T00:00:00.000Z","1.3.0":"2026-11-30T00:00:00.000Z"}}"#,
        )
        .unwrap()
    }

    fn versions(c: Vec<Candidate>) -> Vec<String> {
        c.into_iter().map(|c| c.version).collect()
    }

    #[test]
    fn npm_picks_as_npx_does() {
        let d = doc();
        assert_eq!(versions(candidates(&d, None, None, None).unwrap()), ["1.3.0", "1.2.0", "1.0.0"]);
        // A range that `latest` fits takes it, as npm does, though 1.4.0 is newer.
        assert_eq!(versions(candidates(&d, None, Some("^1.0.0"), None).unwrap()), ["1.3.0", "1.2.0", "1.0.0"]);
        assert_eq!(versions(candidates(&d, None, Some(">=1.4"), None).unwrap()), ["1.4.0"]);
        assert_eq!(versions(candidates(&d, Some("next"), None, None).unwrap())[0], "2.0.0-rc.1");
        assert_eq!(versions(candidates(&d, None, None, Some("1.4.0")).unwrap()), ["1.4.0"]);
        let c = candidates(&d, None, None, Some("1.0.0")).unwrap();
        assert_eq!(c[0].integrity.as_deref(), Some("sha512-a"));
        assert_eq!(c[0].published, Some("2026-01-01T00:00:00Z".parse().unwrap()));
        assert_eq!(candidates(&d, None, None, Some("1.2.0")).unwrap()[0].withdrawn.as_deref(), Some("bad"));
        assert!(candidates(&d, Some("beta"), None, None).is_err());
        assert!(candidates(&d, None, Some("^3"), None).is_err());
        assert!(candidates(&d, None, None, Some("9.9.9")).is_err());
    }
}
