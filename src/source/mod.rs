//! Where plugins come from. `resolve` classifies what the user typed; `git` reads and fetches
//! repositories; `registry` finds plugins by name.

pub mod git;
pub mod registry;

use std::path::{Path, PathBuf};

/// Where fetched repositories and registry indexes are kept: `$ATK_CACHE_DIR`, else the user's
/// cache directory for atk.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("ATK_CACHE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    directories::ProjectDirs::from("", "", "atk")
        .map(|d| d.cache_dir().to_path_buf())
        .unwrap_or_else(|| crate::fs::home_dir().join(".cache/atk"))
}

/// What a source argument names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// A folder with `plugin.yaml`, or a single plugin file.
    Local(PathBuf),
    /// A git repository: the URL as typed (recorded in the manifest) and the URL to fetch.
    Git { url: String, fetch_url: String },
    /// A name to look up in the registry index.
    Registry(String),
}

/// Classifies `input`: explicit path syntax, then an existing path, then a URL, else a registry
/// name. Relative paths are taken from `cwd`.
pub fn resolve(input: &str, cwd: &Path) -> Spec {
    let input = input.trim();
    let explicit_path =
        matches!(input, "." | ".." | "~") || ["./", "../", "/", "~/"].iter().any(|p| input.starts_with(p));
    if explicit_path {
        return Spec::Local(absolute(&crate::fs::expand_tilde(Path::new(input)), cwd));
    }
    let as_path = cwd.join(input);
    if !input.is_empty() && as_path.exists() {
        return Spec::Local(as_path);
    }
    if let Some(fetch_url) = git_url(input) {
        return Spec::Git { url: input.to_string(), fetch_url };
    }
    Spec::Registry(input.to_string())
}

fn absolute(p: &Path, cwd: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    }
}

/// The URL to fetch when `input` is a git URL: scheme URLs and scp-like `user@host:path` as they
/// are, `host.tld/org/repo` shorthand as `https://`.
pub fn git_url(input: &str) -> Option<String> {
    const SCHEMES: [&str; 5] = ["https://", "http://", "ssh://", "git://", "file://"];
    if SCHEMES.iter().any(|s| input.starts_with(s) && input.len() > s.len()) {
        return Some(input.to_string());
    }
    if input.contains(char::is_whitespace) {
        return None;
    }
    // scp-like: user@host:path, with no slash before the colon.
    if let Some(colon) = input.find(':') {
        let (before, after) = (&input[..colon], &input[colon + 1..]);
        if let Some(at) = before.find('@') {
            if at > 0 && at + 1 < before.len() && !before.contains('/') && !after.is_empty() {
                return Some(input.to_string());
            }
        }
        return None;
    }
    // host.tld/org/repo
    let (host, rest) = input.split_once('/')?;
    if host.contains('.') && !host.starts_with('.') && !host.ends_with('.') && !rest.is_empty() {
        return Some(format!("https://{input}"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(url: &str, fetch: &str) -> Spec {
        Spec::Git { url: url.into(), fetch_url: fetch.into() }
    }

    #[test]
    fn classifies_every_form() {
        let cwd = tempfile::tempdir().unwrap();
        std::fs::create_dir(cwd.path().join("present")).unwrap();
        let c = cwd.path();
        assert_eq!(resolve("./x", c), Spec::Local(c.join("./x")));
        assert_eq!(resolve("../x", c), Spec::Local(c.join("../x")));
        assert_eq!(resolve("/abs/x", c), Spec::Local("/abs/x".into()));
        assert_eq!(resolve("~/x", c), Spec::Local(crate::fs::home_dir().join("x")));
        assert_eq!(resolve("present", c), Spec::Local(c.join("present")));
        assert_eq!(resolve("openmemory", c), Spec::Registry("openmemory".into()));
        assert_eq!(resolve("Open Memory", c), Spec::Registry("Open Memory".into()));
        for url in [
            "https://github.com/org/tool",
            "http://127.0.0.1:8080/r.git",
            "ssh://git@github.com/o/r",
            "git://host/r.git",
            "file:///srv/repo",
            "git@github.com:org/tool.git",
            "user@host:repo",
        ] {
            assert_eq!(resolve(url, c), git(url, url), "{url}");
        }
        assert_eq!(
            resolve("github.com/org/some-tool", c),
            git("github.com/org/some-tool", "https://github.com/org/some-tool")
        );
        assert_eq!(resolve("my.plugins/foo", c), git("my.plugins/foo", "https://my.plugins/foo"));
    }

    #[test]
    fn near_misses_stay_registry_names() {
        let c = Path::new("/nonexistent-cwd");
        for name in ["fetch", "a:b", "@x:y", "x@:y", "org/repo", "https://", "v1.2"] {
            assert_eq!(resolve(name, c), Spec::Registry(name.into()), "{name}");
        }
    }
}
