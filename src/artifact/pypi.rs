//! PyPI and every index that speaks its JSON simple API (PEP 691, with PEP 700's upload times):
//! a project's files, grouped by version, and the versions `uvx` would pick, newest first.

use std::collections::BTreeMap;
use std::str::FromStr;

use jiff::Timestamp;
use pep440_rs::{Version, VersionSpecifiers};

use super::http::{self, Ask};
use super::{Candidate, Registries};
use crate::error::{Error, Result};

/// A file of a release.
struct File {
    name: String,
    sha256: Option<String>,
    uploaded: Option<Timestamp>,
    yanked: Option<String>,
}

/// What atk reads of a project: its files by version.
pub struct Project {
    name: String,
    releases: BTreeMap<Version, (String, Vec<File>)>,
}

/// PEP 503's normalized name: lowercase, runs of `-_.` as one `-`.
pub fn normalize(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if "-_.".contains(c) {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The project `name` from the index at `index` (its simple API root, ending in `/`).
pub fn project(registries: &Registries, index: &str, name: &str) -> Result<Project> {
    let url = format!("{index}{}/", normalize(name));
    let headers = vec!["Accept: application/vnd.pypi.simple.v1+json".to_string()];
    let answer = http::send(&Ask { url: &url, head: false, headers }, registries.timeout)?;
    let host = http::host(index);
    match answer.status {
        200 => {}
        404 => {
            return Err(Error::plugin_refused(
                format!("Python package '{name}' does not exist at {host}"),
                vec!["check the package the plugin's MCP server runs (its `mcp.args`), and UV_DEFAULT_INDEX".into()],
            ))
        }
        s => {
            return Err(Error::Registry {
                message: format!("{host} answered {s} for Python package '{name}'"),
                hints: vec!["try again later".into()],
            })
        }
    }
    let json = answer.header("content-type").is_some_and(|t| t.contains("json"));
    if !json {
        return Err(Error::Registry {
            message: format!("{host} does not speak the JSON simple API (PEP 691) that atk reads"),
            hints: vec!["point UV_DEFAULT_INDEX (or PIP_INDEX_URL) at an index that does, such as PyPI's".into()],
        });
    }
    parse(&answer.body, name).map_err(|why| Error::Registry {
        message: format!("{host} sent a page for '{name}' that atk cannot read: {why}"),
        hints: vec![],
    })
}

fn parse(body: &[u8], name: &str) -> std::result::Result<Project, String> {
    let doc: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let files = doc.get("files").and_then(|f| f.as_array()).ok_or("it lists no files")?;
    let norm = normalize(name);
    let mut releases: BTreeMap<Version, (String, Vec<File>)> = BTreeMap::new();
    for f in files {
        let Some(filename) = f.get("filename").and_then(|n| n.as_str()) else { continue };
        let Some(text) = version_of(filename, &norm) else { continue };
        let Ok(version) = Version::from_str(&text) else { continue };
        let yanked = match f.get("yanked") {
            Some(serde_json::Value::Bool(true)) => Some("yanked".to_string()),
            Some(serde_json::Value::String(why)) => Some(if why.is_empty() { "yanked".into() } else { why.clone() }),
            _ => None,
        };
        let file = File {
            name: filename.to_string(),
            sha256: f.pointer("/hashes/sha256").and_then(|h| h.as_str()).map(str::to_string),
            uploaded: f.get("upload-time").and_then(|t| t.as_str()).and_then(|t| t.parse().ok()),
            yanked,
        };
        releases.entry(version).or_insert_with(|| (text, vec![])).1.push(file);
    }
    Ok(Project { name: name.to_string(), releases })
}

/// The version in a wheel's or a source archive's file name, for the project `norm`.
fn version_of(filename: &str, norm: &str) -> Option<String> {
    if let Some(stem) = filename.strip_suffix(".whl") {
        let mut parts = stem.split('-');
        let (dist, version) = (parts.next()?, parts.next()?);
        return (normalize(dist) == norm).then(|| version.to_string());
    }
    let stem = [".tar.gz", ".zip", ".tar.bz2", ".tgz"].iter().find_map(|ext| filename.strip_suffix(ext))?;
    // The name may hold dashes itself: the version follows the dash after which the name ends.
    stem.match_indices('-').find(|(i, _)| normalize(&stem[..*i]) == norm).map(|(i, _)| stem[i + 1..].to_string())
}

/// The releases of `project` that fit `specifier` (any, when empty), newest first, without
/// prereleases unless the specifier names one; with `explicit`, that version alone. A release is
/// withdrawn when every one of its files is yanked, and published when its first file was.
pub(super) fn candidates(project: &Project, specifier: &str, explicit: Option<&str>) -> Result<Vec<Candidate>> {
    let name = &project.name;
    let specs = VersionSpecifiers::from_str(specifier)
        .map_err(|e| Error::plugin_refused(format!("'{specifier}' is not a version specifier: {e}"), vec![]))?;
    let prereleases = specs.iter().any(|s| s.version().any_prerelease());
    let candidate = |(text, files): &(String, Vec<File>)| Candidate {
        version: text.clone(),
        // Its newest file: a wheel added to an old release is as young as its upload.
        published: files.iter().filter_map(|f| f.uploaded).max(),
        withdrawn: files.iter().all(|f| f.yanked.is_some()).then(|| files[0].yanked.clone()).flatten(),
        integrity: None,
        sha256: files.iter().filter_map(|f| Some((f.name.clone(), f.sha256.clone()?))).collect(),
    };
    if let Some(v) = explicit {
        let wanted = Version::from_str(v)
            .map_err(|e| Error::usage(format!("--pin: '{v}' is not a Python version: {e}"), None))?;
        return match project.releases.get(&wanted) {
            Some(r) => Ok(vec![candidate(r)]),
            None => Err(Error::plugin_refused(format!("Python package '{name}' has no version {v}"), vec![])),
        };
    }
    let found: Vec<Candidate> = project
        .releases
        .iter()
        .rev()
        .filter(|(v, _)| specs.contains(v) && (prereleases || !v.any_prerelease()))
        .map(|(_, r)| candidate(r))
        .collect();
    if found.is_empty() {
        let what = if specifier.is_empty() { String::new() } else { format!(" fits '{specifier}'") };
        return Err(Error::plugin_refused(format!("no release of Python package '{name}'{what}"), vec![]));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions_of_files() {
        assert_eq!(normalize("Work_Space..MCP"), "work-space-mcp");
        assert_eq!(version_of("work_space_mcp-1.2.0-py3-none-any.whl", "work-space-mcp").as_deref(), Some("1.2.0"));
        assert_eq!(version_of("work-space-mcp-1.2.0rc1.tar.gz", "work-space-mcp").as_deref(), Some("1.2.0rc1"));
        assert_eq!(version_of("other-1.0.tar.gz", "work-space-mcp"), None);
    }

    #[test]
    fn uv_picks_the_newest_fitting_stable_release() {
        let body = br#"{"files":[
            {"filename":"p-1.0.tar.gz","hashes":{"sha256":"aa"},"upload-time":"2026-01-01T00:00:00Z"},
            {"filename":"p-1.0-py3-none-any.whl","hashes":{"sha256":"bb"},"upload-time":"2026-01-02T00:00:00Z"},
            {"filename":"p-1.1.tar.gz","hashes":{"sha256":"cc"},"upload-time":"2026-02-01T00:00:00Z","yanked":"broken"},
            {"filename":"p-2.0b1.tar.gz","hashes":{"sha256":"dd"},"upload-time":"2026-03-01T00:00:00Z"}]}"#;
        let p = parse(body, "p").unwrap();
        let c = candidates(&p, "", None).unwrap();
        assert_eq!(c.iter().map(|c| c.version.as_str()).collect::<Vec<_>>(), ["1.1", "1.0"]);
        assert_eq!(c[0].withdrawn.as_deref(), Some("broken"));
        assert_eq!(c[1].published, Some("2026-01-02T00:00:00Z".parse().unwrap()));
        assert_eq!(c[1].sha256.len(), 2);
        assert_eq!(candidates(&p, ">=2.0b1", None).unwrap()[0].version, "2.0b1");
        assert_eq!(candidates(&p, "<1.1", None).unwrap()[0].version, "1.0");
        assert!(candidates(&p, ">3", None).is_err());
        assert_eq!(candidates(&p, "", Some("2.0b1")).unwrap()[0].version, "2.0b1");
    }
}
