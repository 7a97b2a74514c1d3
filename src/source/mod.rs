//! Where plugins come from. `resolve` classifies what the user typed; `git` reads and fetches
//! repositories; `registry` finds plugins by name; `registry_checks` is the maintainers' linter of
//! a registry checkout.

pub mod git;
pub mod net;
pub mod origin;
pub mod registry;
pub mod registry_checks;
pub mod stage;

use std::path::{Path, PathBuf};

use crate::text::mask_credentials;

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

/// Where a path the user typed is read from: relative paths from `cwd`, `~` as `user_home`.
#[derive(Clone, Copy)]
pub struct Relative<'a> {
    pub cwd: &'a Path,
    pub user_home: &'a Path,
}

/// Classifies `input`: explicit path syntax, then an existing path, then a URL, else a registry
/// name. Paths are read as [`Relative`] says.
pub fn resolve(input: &str, from: Relative) -> Spec {
    let input = input.trim();
    let cwd = from.cwd;
    if is_path_syntax(input) {
        return Spec::Local(absolute(&crate::fs::expand_tilde(Path::new(input), from.user_home), cwd));
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

/// Whether `input` is written as a path: `.`, `..`, `~`, or starting with `./`, `../`, `/`, `~/`.
fn is_path_syntax(input: &str) -> bool {
    matches!(input, "." | ".." | "~") || ["./", "../", "/", "~/"].iter().any(|p| input.starts_with(p))
}

/// Whether [`resolve`] takes `input` as a registry name wherever it runs (unless a folder of that
/// name is in the current directory): neither path syntax nor a git URL, and no blanks around it.
pub fn is_registry_name(input: &str) -> bool {
    input == input.trim() && !is_path_syntax(input) && git_url(input).is_none()
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

/// Refuses a URL that carries credentials: any user info in an http(s) URL (`token@`,
/// `user:password@`), and a password in any URL. A token there would be written into
/// `manifest.yaml`, committed and pushed. Decided by gix's URL parser; ssh user names
/// (`git@host:org/repo`, `ssh://git@host/…`) are fine. The message shows the URL masked.
pub fn check_no_credentials(url: &str) -> crate::Result<()> {
    let url = url.trim();
    let normalized = lowercase_scheme(url);
    // gix's error would quote the URL: say it without it.
    let parsed = gix::url::parse(gix::bstr::BStr::new(normalized.as_bytes())).map_err(|_| {
        crate::Error::plugin_refused(
            format!("{} is not a URL git can fetch from", mask_credentials(url)),
            vec!["check the URL: https://host/org/repo, ssh://host/org/repo, git@host:org/repo or git://host/repo"
                .into()],
        )
    })?;
    match credentials_in_parsed(&parsed, &normalized) {
        true => Err(credentials_error(url)),
        false => Ok(()),
    }
}

/// The refusal of `url` when it holds a password, a token or (http) a query string; `None` when it
/// does not, or is no URL at all.
pub fn credentials_in(url: &str) -> Option<crate::Error> {
    let url = url.trim();
    let normalized = lowercase_scheme(url);
    let parsed = gix::url::parse(gix::bstr::BStr::new(normalized.as_bytes())).ok()?;
    credentials_in_parsed(&parsed, &normalized).then(|| credentials_error(url))
}

/// `url` with its scheme in lower case, as git reads it (`HTTPS://` is https).
fn lowercase_scheme(url: &str) -> String {
    match url.find("://") {
        Some(i) => format!("{}{}", url[..i].to_ascii_lowercase(), &url[i..]),
        None => url.to_string(),
    }
}

fn credentials_in_parsed(parsed: &gix::Url, normalized: &str) -> bool {
    use gix::url::Scheme;
    let http = matches!(parsed.scheme, Scheme::Http | Scheme::Https);
    // git:// has no authentication: a user name there can only be a token pasted in.
    let user_is_secret = http || matches!(parsed.scheme, Scheme::Git);
    let user = parsed.user().is_some_and(|u| !u.is_empty());
    let query = http && normalized.split_once("://").is_some_and(|(_, rest)| rest.contains(['?', '#']));
    parsed.password().is_some() || (user_is_secret && user) || query
}

fn credentials_error(url: &str) -> crate::Error {
    crate::Error::plugin_refused(
        format!(
            "the URL {} holds a password, token or query string, which would be committed to the home's \
             manifest and pushed",
            mask_credentials(url)
        ),
        vec!["give the URL without them (also where it is set: --registry, ATK_REGISTRY, or manifest.yaml's \
             source.url / config.registry) and let a git credential helper or ssh provide them"
            .into()],
    )
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
        let c = Relative { cwd: cwd.path(), user_home: Path::new("/u") };
        let (c, cwd) = (c, c.cwd);
        assert_eq!(resolve("./x", c), Spec::Local(cwd.join("./x")));
        assert_eq!(resolve("../x", c), Spec::Local(cwd.join("../x")));
        assert_eq!(resolve("/abs/x", c), Spec::Local("/abs/x".into()));
        assert_eq!(resolve("~/x", c), Spec::Local(PathBuf::from("/u/x")));
        assert_eq!(resolve("present", c), Spec::Local(cwd.join("present")));
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
    fn credentials_in_urls_are_refused_and_masked() {
        for url in [
            "https://ghp_s3cret@github.com/org/tool",
            "http://ghp_s3cret@127.0.0.1:8080/r.git",
            "https://me:ghp_s3cret@github.com/org/tool",
            "ssh://git:ghp_s3cret@host/r",
            "HTTPS://ghp_s3cret@github.com/org/tool",
            "Http://me:ghp_s3cret@host/r",
            "git://ghp_s3cret@host/r.git",
            "https://me:pa/ghp_s3cret@host/r",
            "https://me:pa#ghp_s3cret@host/r",
            "https://host/r.git?token=ghp_s3cret",
        ] {
            let e = check_no_credentials(url).expect_err(url);
            assert_eq!(e.exit_code(), crate::error::exit::PLUGIN_INVALID);
            assert!(!e.to_string().contains("ghp_s3cret") && e.to_string().contains("***"), "{e}");
        }
        for url in [
            "git@github.com:org/tool.git",
            "ssh://git@github.com/org/tool",
            "https://github.com/org/tool",
            "git://host/r.git",
            "/srv/registry",
            "file:///srv/repo",
        ] {
            assert!(check_no_credentials(url).is_ok(), "{url}");
        }
        let e = check_no_credentials("https://ghp_s3cret@:x:").expect_err("not a URL");
        assert!(!e.to_string().contains("ghp_s3cret"), "{e}");
        // Over-masking is fine; showing a secret is not.
        assert_eq!(mask_credentials("https://a:b@h/x@y"), "https://***@y");
        assert_eq!(mask_credentials("https://h/x"), "https://h/x");
        assert_eq!(mask_credentials("https://h/x?token=t"), "https://h/x?***");
        assert_eq!(mask_credentials("me:secret@host:org/x"), "***@host:org/x");
    }

    #[test]
    fn near_misses_stay_registry_names() {
        let c = Relative { cwd: Path::new("/nonexistent-cwd"), user_home: Path::new("/u") };
        for name in ["fetch", "a:b", "@x:y", "x@:y", "org/repo", "https://", "v1.2"] {
            assert_eq!(resolve(name, c), Spec::Registry(name.into()), "{name}");
            assert!(is_registry_name(name), "{name}");
        }
        for input in ["./x", "~", "/x", "git@host:r", "github.com/o/r", "https://h/r", " fetch"] {
            assert!(!is_registry_name(input), "{input}");
            assert_ne!(resolve(input, c), Spec::Registry(input.into()), "{input}");
        }
    }
}
