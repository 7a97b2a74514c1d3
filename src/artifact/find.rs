//! Finding what a plugin runs from a package registry: the package an MCP server's `npx`, `uvx`,
//! `uv tool run` or `pipx run` starts, the image its `docker run` starts, and the images of the
//! services of its compose file. Each is found where it is written (an argument of the server, a
//! service of the compose file), so that `atk exec` and compose can put the locked one in its place.
//! Only words as the plugin writes them are read: a word with a variable in it is reported, never
//! guessed at.

use super::{ArtifactKind, Image};

/// Where a reference is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// The MCP server's argument of this index.
    Arg(usize),
    /// The `image:` of this service of the plugin's compose file.
    Service(String),
}

/// What a floating reference asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Want {
    /// An npm package: a dist-tag (`latest` when none is written) or a semver range.
    Npm { name: String, tag: Option<String>, range: Option<String> },
    /// An npm package from git (`github:org/repo`, `git+https://…`): `url` is what git fetches,
    /// `base` the word without its `#committish`.
    NpmGit { url: String, base: String, committish: Option<String> },
    /// A Python package: its name, `[extras]` as written (with the brackets) and a PEP 440
    /// specifier (`>=1.2`), empty for any version.
    Pypi { name: String, extras: String, specifier: String },
    /// A container image by tag.
    Oci { image: Image },
}

/// One floating reference of a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The word as the plugin writes it: what the lock is keyed by.
    pub spec: String,
    pub at: Place,
    pub want: Want,
    /// Run by `pipx`, which asks pip's index (uv's otherwise).
    pub pip: bool,
}

impl Reference {
    pub fn kind(&self) -> ArtifactKind {
        match self.want {
            Want::Npm { .. } | Want::NpmGit { .. } => ArtifactKind::Npm,
            Want::Pypi { .. } => ArtifactKind::Pypi,
            Want::Oci { .. } => ArtifactKind::Oci,
        }
    }
}

/// What [`find`] found: the floating references, and the words that name something to run from a
/// registry but cannot be locked (why, for the report).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Found {
    pub references: Vec<Reference>,
    pub unlockable: Vec<(String, String)>,
}

impl Found {
    fn word(&mut self, kind: ArtifactKind, spec: &str, at: Place, pip: bool) {
        match parse(kind, spec) {
            Parsed::Floating(want) => self.references.push(Reference { spec: spec.to_string(), at, want, pip }),
            Parsed::Exact => {}
            Parsed::Unlockable(why) => self.unlockable.push((spec.to_string(), why)),
        }
    }
}

/// The references of a stdio MCP server `command args` (as plugin.yaml writes them) and of the
/// services of its compose file (`compose`: the file's text, when the plugin has one).
pub fn find(command: Option<&str>, args: &[String], compose: Option<&str>) -> Found {
    let mut found = Found::default();
    if let Some(command) = command {
        let pip = command.rsplit('/').next() == Some("pipx");
        let elsewhere = names_its_registry(command, args);
        for (kind, index) in launched(command, args) {
            if index & INLINE != 0 {
                let word = &args[index & !INLINE];
                let option = word.split('=').next().unwrap_or(word);
                found.unlockable.push((
                    word.clone(),
                    format!(
                        "its package is written in the option's own word; write `{option} <package>` to have it locked"
                    ),
                ));
                continue;
            }
            match &elsewhere {
                // atk asks the registry the user's tools ask: a launcher told to ask another would
                // run what atk did not look at.
                Some(option) => found.unlockable.push((
                    args[index].clone(),
                    format!("the command names its own registry ({option}), which atk does not ask"),
                )),
                None => found.word(kind, &args[index], Place::Arg(index), pip),
            }
        }
    }
    if let Some(text) = compose {
        match compose_images(text) {
            Ok(images) => {
                for (service, image) in images {
                    found.word(ArtifactKind::Oci, &image, Place::Service(service), false);
                }
            }
            Err(why) => found.unlockable.push(("compose file".into(), why)),
        }
    }
    found
}

/// The option of a package launcher's words that names the registry or index it asks, when one
/// does (`npx --registry`, `uvx --index-url`, `pipx run --pip-args`).
fn names_its_registry(command: &str, args: &[String]) -> Option<String> {
    let options: &[&str] = match command.rsplit('/').next().unwrap_or(command) {
        "npx" | "bunx" | "npm" | "pnpm" => &["--registry"],
        "uvx" | "uv" => &["--index", "--default-index", "--index-url", "-i", "--extra-index-url", "--find-links", "-f"],
        "pipx" => &["--index-url", "-i", "--pip-args"],
        _ => &[],
    };
    args.iter().map(|a| a.split('=').next().unwrap_or(a)).find(|a| options.contains(a)).map(str::to_string)
}

/// The arguments of `command args` that name a package or image: (its kind, its index).
fn launched(command: &str, args: &[String]) -> Vec<(ArtifactKind, usize)> {
    let program = command.rsplit('/').next().unwrap_or(command);
    let at = |skip: usize| -> Vec<(usize, &str)> {
        args.iter().enumerate().skip(skip).map(|(i, a)| (i, a.as_str())).collect()
    };
    match (program, args.first().map(String::as_str), args.get(1).map(String::as_str)) {
        ("npx" | "bunx", _, _) => npx(&at(0)),
        ("npm" | "pnpm", Some("exec" | "dlx"), _) => npx(&at(1)),
        ("uvx", _, _) => uvx(&at(0)),
        ("uv", Some("tool"), Some("run")) => uvx(&at(2)),
        ("pipx", Some("run"), _) => pipx(&at(1)),
        ("docker" | "podman", Some("run"), _) => {
            docker_run(&at(1)).into_iter().map(|i| (ArtifactKind::Oci, i)).collect()
        }
        ("docker" | "podman", Some("container"), Some("run")) => {
            docker_run(&at(2)).into_iter().map(|i| (ArtifactKind::Oci, i)).collect()
        }
        _ => vec![],
    }
}

/// Options of a launcher: those that take a value (`-p x`, `--package=x`), and what to do with it.
struct Options<'a> {
    /// Options whose value is the package, which makes the first plain word a command (`npx -p`,
    /// `uvx --from`, `pipx --spec`).
    package: &'a [&'a str],
    /// Options whose value is one more package (`uvx --with`).
    also: &'a [&'a str],
    /// Options that take a value that is not a package.
    valued: &'a [&'a str],
}

/// Marks an index of [`walk`]'s whose word is an option with its package in it (`--from=pkg`).
const INLINE: usize = 1 << (usize::BITS - 1);

/// Walks `words` (index, word) of a launcher: the packages it runs (by option, else its first
/// plain word), an option's own word marked [`INLINE`].
fn walk(words: &[(usize, &str)], o: Options) -> Vec<usize> {
    let mut packages = Vec::new();
    let mut by_option = false;
    let mut it = words.iter();
    while let Some(&(i, w)) = it.next() {
        if w == "--" {
            if let Some(&(j, _)) = it.next() {
                if !by_option {
                    packages.push(j);
                }
            }
            break;
        }
        if let Some(flag) = w.strip_prefix('-').filter(|f| !f.is_empty()) {
            let (name, inline) = match flag.split_once('=') {
                Some((n, _)) => (format!("-{n}"), true),
                None => (w.to_string(), false),
            };
            let also = o.also.contains(&name.as_str());
            if also || o.package.contains(&name.as_str()) {
                // `--from=pkg` holds the package in the option's word: reported, not locked.
                if inline {
                    packages.push(i | INLINE);
                } else if let Some(&(j, _)) = it.next() {
                    packages.push(j);
                }
                by_option |= !also;
                continue;
            }
            if o.valued.contains(&name.as_str()) && !inline {
                it.next();
            }
            continue;
        }
        if !by_option {
            packages.push(i);
        }
        break;
    }
    packages
}

fn npx(words: &[(usize, &str)]) -> Vec<(ArtifactKind, usize)> {
    let o = Options {
        package: &["-p", "--package"],
        also: &[],
        valued: &["-c", "--call", "--registry", "--cache", "--userconfig", "-w", "--workspace", "--loglevel"],
    };
    walk(words, o).into_iter().map(|i| (ArtifactKind::Npm, i)).collect()
}

fn uvx(words: &[(usize, &str)]) -> Vec<(ArtifactKind, usize)> {
    let o = Options {
        package: &["--from"],
        also: &["--with", "-w"],
        valued: &[
            "--python",
            "-p",
            "--index",
            "--default-index",
            "--index-url",
            "-i",
            "--extra-index-url",
            "--find-links",
            "-f",
            "--with-editable",
            "--with-requirements",
            "--constraints",
            "-c",
            "--overrides",
            "--cache-dir",
            "--directory",
            "--project",
            "--env-file",
            "--config-file",
            "--exclude-newer",
            "--index-strategy",
            "--keyring-provider",
            "--resolution",
            "--prerelease",
            "--python-platform",
            "--color",
            "--refresh-package",
            "--reinstall-package",
            "--upgrade-package",
            "-P",
        ],
    };
    walk(words, o).into_iter().map(|i| (ArtifactKind::Pypi, i)).collect()
}

fn pipx(words: &[(usize, &str)]) -> Vec<(ArtifactKind, usize)> {
    let o = Options {
        package: &["--spec"],
        also: &[],
        valued: &["--python", "--index-url", "-i", "--pip-args", "--backend"],
    };
    walk(words, o).into_iter().map(|i| (ArtifactKind::Pypi, i)).collect()
}

/// The index of the image of `docker run [options] image [command]`, when the options are all
/// known (an option atk does not know may take a value, and then the image is elsewhere).
fn docker_run(words: &[(usize, &str)]) -> Option<usize> {
    const VALUED_SHORT: &str = "aceghlmpuvw";
    const BOOL_SHORT: &str = "diPqt";
    const VALUED: &[&str] = &[
        "--add-host",
        "--annotation",
        "--attach",
        "--blkio-weight",
        "--blkio-weight-device",
        "--cap-add",
        "--cap-drop",
        "--cgroup-parent",
        "--cgroupns",
        "--cidfile",
        "--cpu-count",
        "--cpu-percent",
        "--cpu-period",
        "--cpu-quota",
        "--cpu-rt-period",
        "--cpu-rt-runtime",
        "--cpu-shares",
        "--cpus",
        "--cpuset-cpus",
        "--cpuset-mems",
        "--detach-keys",
        "--device",
        "--device-cgroup-rule",
        "--device-read-bps",
        "--device-read-iops",
        "--device-write-bps",
        "--device-write-iops",
        "--dns",
        "--dns-option",
        "--dns-search",
        "--domainname",
        "--entrypoint",
        "--env",
        "--env-file",
        "--expose",
        "--gpus",
        "--group-add",
        "--health-cmd",
        "--health-interval",
        "--health-retries",
        "--health-start-interval",
        "--health-start-period",
        "--health-timeout",
        "--hostname",
        "--ip",
        "--ip6",
        "--ipc",
        "--isolation",
        "--kernel-memory",
        "--label",
        "--label-file",
        "--link",
        "--link-local-ip",
        "--log-driver",
        "--log-opt",
        "--mac-address",
        "--memory",
        "--memory-reservation",
        "--memory-swap",
        "--memory-swappiness",
        "--mount",
        "--name",
        "--net",
        "--network",
        "--net-alias",
        "--network-alias",
        "--oom-score-adj",
        "--pid",
        "--pids-limit",
        "--platform",
        "--publish",
        "--pull",
        "--restart",
        "--runtime",
        "--security-opt",
        "--shm-size",
        "--stop-signal",
        "--stop-timeout",
        "--storage-opt",
        "--sysctl",
        "--tmpfs",
        "--ulimit",
        "--user",
        "--userns",
        "--uts",
        "--volume",
        "--volume-driver",
        "--volumes-from",
        "--workdir",
        "--cpuset",
        "--memory-swap",
    ];
    const BOOL: &[&str] = &[
        "--detach",
        "--disable-content-trust",
        "--help",
        "--init",
        "--interactive",
        "--no-healthcheck",
        "--oom-kill-disable",
        "--privileged",
        "--publish-all",
        "--quiet",
        "--read-only",
        "--rm",
        "--sig-proxy",
        "--tty",
        "--use-api-socket",
    ];
    let mut it = words.iter();
    while let Some(&(i, w)) = it.next() {
        if w == "--" {
            return it.next().map(|&(j, _)| j);
        }
        if let Some(long) = w.strip_prefix("--") {
            let name = format!("--{}", long.split('=').next().unwrap_or_default());
            if long.contains('=') && (VALUED.contains(&name.as_str()) || BOOL.contains(&name.as_str())) {
                continue;
            }
            if VALUED.contains(&name.as_str()) {
                it.next();
                continue;
            }
            if BOOL.contains(&name.as_str()) {
                continue;
            }
            return None;
        }
        if let Some(short) = w.strip_prefix('-').filter(|s| !s.is_empty()) {
            // A cluster: boolean letters, then at most one that takes a value (the rest of the
            // word, else the next word).
            for (k, c) in short.char_indices() {
                if BOOL_SHORT.contains(c) {
                    continue;
                }
                if VALUED_SHORT.contains(c) {
                    if k + c.len_utf8() == short.len() {
                        it.next();
                    }
                    break;
                }
                return None;
            }
            continue;
        }
        return Some(i);
    }
    None
}

/// What a word is.
#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    Floating(Want),
    /// Already names one artifact (a version, a digest, a commit, a local path).
    Exact,
    Unlockable(String),
}

fn parse(kind: ArtifactKind, word: &str) -> Parsed {
    if word.contains('$') {
        return Parsed::Unlockable("it is built from a variable".into());
    }
    match kind {
        ArtifactKind::Npm => npm_word(word),
        ArtifactKind::Pypi => pypi_word(word),
        ArtifactKind::Oci => match Image::parse(word) {
            Ok(image) if image.digest.is_some() => Parsed::Exact,
            Ok(image) => Parsed::Floating(Want::Oci { image }),
            Err(why) => Parsed::Unlockable(why),
        },
        ArtifactKind::Other(_) => Parsed::Exact,
    }
}

/// An npm package spec as `npx` reads it (npm-package-arg): a name with a tag, range or version;
/// a git repository (`github:`, `gitlab:`, `bitbucket:`, `git+…`, `git://`, `org/repo`); a
/// tarball URL or a local path.
fn npm_word(word: &str) -> Parsed {
    let git_host = [
        ("github:", "https://github.com/"),
        ("gitlab:", "https://gitlab.com/"),
        ("bitbucket:", "https://bitbucket.org/"),
    ];
    for (prefix, base) in git_host {
        if let Some(rest) = word.strip_prefix(prefix) {
            let (repo, committish) = split_committish(rest);
            return git(word, format!("{base}{}.git", repo.trim_end_matches(".git")), committish);
        }
    }
    for prefix in ["git+https://", "git+http://", "git+ssh://", "git+file://", "git://"] {
        if word.starts_with(prefix) {
            let (url, committish) = split_committish(word);
            return git(word, url.strip_prefix("git+").unwrap_or(url).to_string(), committish);
        }
    }
    if word.starts_with("http://") || word.starts_with("https://") {
        return Parsed::Unlockable("a tarball URL has no version to lock".into());
    }
    if word.starts_with(['.', '/', '~']) || word.starts_with("file:") {
        return Parsed::Exact;
    }
    if word.starts_with("npm:") || word.contains(':') {
        return Parsed::Unlockable("atk locks registry names, git repositories and versions only".into());
    }
    let (name, spec) = match word.strip_prefix('@') {
        Some(rest) => match rest.split_once('@') {
            Some((n, s)) => (format!("@{n}"), Some(s)),
            None => (word.to_string(), None),
        },
        None => match word.split_once('@') {
            Some((n, s)) => (n.to_string(), Some(s)),
            None => (word.to_string(), None),
        },
    };
    // `org/repo` (not scoped) is a GitHub repository to npm.
    if !name.starts_with('@') && name.contains('/') {
        let (repo, committish) = split_committish(word);
        return git(word, format!("https://github.com/{}.git", repo.trim_end_matches(".git")), committish);
    }
    if !valid_npm_name(&name) {
        return Parsed::Unlockable(format!("'{name}' is not an npm package name"));
    }
    let spec = spec.map(str::trim).filter(|s| !s.is_empty());
    match spec {
        None => Parsed::Floating(Want::Npm { name, tag: None, range: None }),
        Some(s) if nodejs_semver::Version::parse(s).is_ok() && !s.starts_with(['=', 'v', '^', '~', '<', '>']) => {
            Parsed::Exact
        }
        Some(s) if nodejs_semver::Range::parse(s).is_ok() => {
            Parsed::Floating(Want::Npm { name, tag: None, range: Some(s.to_string()) })
        }
        Some(s) if s.chars().all(|c| c.is_ascii_alphanumeric() || "-._".contains(c)) => {
            Parsed::Floating(Want::Npm { name, tag: Some(s.to_string()), range: None })
        }
        Some(s) => Parsed::Unlockable(format!("'{s}' is neither a version, a range nor a tag")),
    }
}

fn split_committish(word: &str) -> (&str, Option<&str>) {
    match word.split_once('#') {
        Some((w, c)) if !c.is_empty() => (w, Some(c)),
        Some((w, _)) => (w, None),
        None => (word, None),
    }
}

fn git(word: &str, url: String, committish: Option<&str>) -> Parsed {
    let base = split_committish(word).0.to_string();
    match committish {
        Some(c) if c.len() == 40 && c.chars().all(|c| c.is_ascii_hexdigit()) => Parsed::Exact,
        Some(c) if c.starts_with("semver:") => {
            Parsed::Unlockable("a git range (#semver:) is not resolved by atk; name a branch, tag or commit".into())
        }
        Some(c) => Parsed::Floating(Want::NpmGit { url, base, committish: Some(c.to_string()) }),
        None => Parsed::Floating(Want::NpmGit { url, base, committish: None }),
    }
}

fn valid_npm_name(name: &str) -> bool {
    let bare = match name.strip_prefix('@') {
        Some(rest) => match rest.split_once('/') {
            Some((scope, pkg)) if !scope.is_empty() && !pkg.is_empty() => {
                return [scope, pkg].iter().all(|p| plain_npm_part(p));
            }
            _ => return false,
        },
        None => name,
    };
    plain_npm_part(bare)
}

fn plain_npm_part(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 214
        && !p.starts_with(['.', '_'])
        && p.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-._~".contains(c) || c.is_ascii_uppercase())
}

/// A Python requirement as uvx and pipx read it: `name[extras]` followed by a PEP 440 specifier,
/// or uv's `name@version` and `name@latest`.
fn pypi_word(word: &str) -> Parsed {
    let word = word.trim();
    if word.contains("://") || word.contains(" @ ") || word.starts_with(['.', '/', '~']) || word.ends_with(".whl") {
        return if word.contains("://") || word.contains(" @ ") {
            Parsed::Unlockable("a URL has no version to lock".into())
        } else {
            Parsed::Exact
        };
    }
    let end = word.find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c))).unwrap_or(word.len());
    let name = &word[..end];
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Parsed::Unlockable(format!("'{word}' is not a Python requirement"));
    }
    let mut rest = &word[end..];
    let mut extras = String::new();
    if rest.starts_with('[') {
        let Some(close) = rest.find(']') else {
            return Parsed::Unlockable(format!("'{word}' has an unclosed [extras]"));
        };
        extras = rest[..=close].to_string();
        rest = &rest[close + 1..];
    }
    let rest = rest.trim();
    if rest.contains(';') {
        return Parsed::Unlockable("a requirement with an environment marker is not locked".into());
    }
    let specifier = match rest.strip_prefix('@') {
        Some("latest") => String::new(),
        Some(v) => match v.parse::<pep440_rs::Version>() {
            Ok(_) => return Parsed::Exact,
            Err(_) => return Parsed::Unlockable(format!("'{v}' is not a version")),
        },
        None => rest.to_string(),
    };
    if !specifier.is_empty() {
        match specifier.parse::<pep440_rs::VersionSpecifiers>() {
            Ok(specs) => {
                let exact = specs.iter().count() == 1
                    && specs
                        .iter()
                        .all(|s| matches!(s.operator(), pep440_rs::Operator::Equal | pep440_rs::Operator::ExactEqual));
                if exact {
                    return Parsed::Exact;
                }
            }
            Err(_) => return Parsed::Unlockable(format!("'{specifier}' is not a version specifier")),
        }
    }
    Parsed::Floating(Want::Pypi { name: name.to_string(), extras, specifier })
}

/// The `image:` of every service of a compose file that is pulled, not built (a service with
/// `build:` names the image it builds).
pub fn compose_images(text: &str) -> Result<Vec<(String, String)>, String> {
    let doc: yaml_serde::Value = yaml_serde::from_str(text).map_err(|e| format!("cannot read it: {e}"))?;
    let Some(services) = doc.get("services").and_then(|s| s.as_mapping()) else { return Ok(vec![]) };
    let mut images = Vec::new();
    for (name, service) in services {
        let (Some(name), Some(image)) = (name.as_str(), service.get("image").and_then(|i| i.as_str())) else {
            continue;
        };
        if service.get("build").is_none() {
            images.push((name.to_string(), image.to_string()));
        }
    }
    Ok(images)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn specs(command: &str, args: &str) -> Vec<String> {
        find(Some(command), &words(args), None).references.into_iter().map(|r| r.spec).collect()
    }

    #[test]
    fn finds_the_package_each_launcher_runs() {
        assert_eq!(specs("npx", "-y @notionhq/notion-mcp-server"), ["@notionhq/notion-mcp-server"]);
        assert_eq!(specs("npx", "--yes mcp-remote@^0.1 https://x/mcp"), ["mcp-remote@^0.1"]);
        assert_eq!(specs("/usr/bin/npx", "-y github:obra/streamlinear"), ["github:obra/streamlinear"]);
        assert_eq!(specs("npx", "-y -p @scope/pkg@next tool --flag"), ["@scope/pkg@next"]);
        assert!(specs("npx", "--package=pkg tool").is_empty());
        assert_eq!(find(Some("uvx"), &words("--from=pkg cmd"), None).unlockable.len(), 1);
        assert_eq!(specs("uvx", "workspace-mcp --single-user"), ["workspace-mcp"]);
        assert_eq!(
            specs("uvx", "--from mcp-server-git[cli]>=1.2 mcp-server-git --repo ."),
            ["mcp-server-git[cli]>=1.2"]
        );
        assert_eq!(specs("uvx", "--python 3.12 pkg@latest"), ["pkg@latest"]);
        assert_eq!(specs("uvx", "--with extra-dep pkg"), ["extra-dep", "pkg"]);
        assert_eq!(specs("uv", "tool run --from pkg cmd"), ["pkg"]);
        assert_eq!(specs("pipx", "run --spec pkg<3 cmd"), ["pkg<3"]);
        assert_eq!(specs("pipx", "run pkg"), ["pkg"]);
        assert_eq!(specs("docker", "run -i --rm -e TOKEN -v /a:/b mcp/github:latest serve"), ["mcp/github:latest"]);
        assert_eq!(specs("docker", "run -it --name=x --network host ghcr.io/o/i"), ["ghcr.io/o/i"]);
        assert_eq!(specs("docker", "run -eA=b -p8080:80 alpine:3 sh"), ["alpine:3"]);
        // `docker exec` runs in a container that exists; nothing is pulled.
        assert!(specs("docker", "exec -i box cmd").is_empty());
        assert!(specs("node", "server.js").is_empty());
    }

    #[test]
    fn a_launcher_that_names_its_own_registry_is_not_locked() {
        for (command, args) in [
            ("npx", "--registry=http://x/ -y pkg"),
            ("uvx", "--index-url http://x/ pkg"),
            ("pipx", "run -i http://x/ pkg"),
        ] {
            let found = find(Some(command), &words(args), None);
            assert!(found.references.is_empty(), "{command} {args}");
            assert_eq!(found.unlockable.len(), 1, "{command} {args}");
        }
    }

    #[test]
    fn an_unknown_docker_option_leaves_the_image_unknown() {
        assert!(specs("docker", "run --frobnicate x alpine").is_empty());
    }

    #[test]
    fn exact_references_stay_as_they_are() {
        assert!(specs("npx", "-y pkg@1.2.3").is_empty());
        assert!(specs("npx", "-y github:o/r#0123456789012345678901234567890123456789").is_empty());
        assert!(specs("npx", "-y ./local").is_empty());
        assert!(specs("uvx", "pkg==1.2.3").is_empty());
        assert!(specs("uvx", "pkg@1.2.3").is_empty());
        assert!(specs("docker", "run alpine@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
            .is_empty());
    }

    #[test]
    fn parses_what_each_word_asks_for() {
        let want = |kind, w: &str| match parse(kind, w) {
            Parsed::Floating(w) => w,
            other => panic!("{w}: {other:?}"),
        };
        assert_eq!(want(ArtifactKind::Npm, "@s/p"), Want::Npm { name: "@s/p".into(), tag: None, range: None });
        assert_eq!(
            want(ArtifactKind::Npm, "p@next"),
            Want::Npm { name: "p".into(), tag: Some("next".into()), range: None }
        );
        assert_eq!(
            want(ArtifactKind::Npm, "p@>=1 <3"),
            Want::Npm { name: "p".into(), tag: None, range: Some(">=1 <3".into()) }
        );
        assert_eq!(
            want(ArtifactKind::Npm, "github:o/r#main"),
            Want::NpmGit {
                url: "https://github.com/o/r.git".into(),
                base: "github:o/r".into(),
                committish: Some("main".into())
            }
        );
        assert_eq!(
            want(ArtifactKind::Npm, "git+http://127.0.0.1:9/x.git"),
            Want::NpmGit {
                url: "http://127.0.0.1:9/x.git".into(),
                base: "git+http://127.0.0.1:9/x.git".into(),
                committish: None
            }
        );
        assert_eq!(
            want(ArtifactKind::Pypi, "Pkg.Name[a,b]~=1.2"),
            Want::Pypi { name: "Pkg.Name".into(), extras: "[a,b]".into(), specifier: "~=1.2".into() }
        );
        for (kind, w) in [
            (ArtifactKind::Npm, "https://x/p.tgz"),
            (ArtifactKind::Npm, "$PKG"),
            (ArtifactKind::Pypi, "pkg @ https://x"),
            (ArtifactKind::Oci, "${IMAGE}"),
        ] {
            assert!(matches!(parse(kind, w), Parsed::Unlockable(_)), "{w}");
        }
    }

    #[test]
    fn compose_services_that_are_pulled() {
        let text = "services:\n  db:\n    image: postgres:16\n  app:\n    build: .\n    image: me/app\n  cache:\n    image: redis\n";
        let found = find(None, &[], Some(text));
        let got: Vec<(String, Place)> = found.references.into_iter().map(|r| (r.spec, r.at)).collect();
        assert_eq!(
            got,
            [
                ("postgres:16".to_string(), Place::Service("db".into())),
                ("redis".to_string(), Place::Service("cache".into()))
            ]
        );
        assert_eq!(find(None, &[], Some("services: [")).unlockable.len(), 1);
    }
}
