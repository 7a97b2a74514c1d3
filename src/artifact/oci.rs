//! OCI registries (the distribution API, `/v2/`): the digest a tag names now, from the manifest's
//! `Docker-Content-Digest` (a `HEAD`, which Docker Hub does not count against its pull limit).
//! Registries that want a token get the anonymous one, or one for docker's saved credentials.

use base64::Engine;

use super::http::{self, Ask, Response};
use super::{is_digest, Image, Registries};
use crate::error::{Error, Result};

const ACCEPT: &str = "Accept: application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// Where the registry of `image` is: Docker Hub's API host for `docker.io`; plain http only for
/// this machine (as docker allows).
fn base(image: &Image) -> String {
    let host = if image.registry == "docker.io" { "registry-1.docker.io" } else { image.registry.as_str() };
    format!("{}://{host}", if is_loopback(host) { "http" } else { "https" })
}

/// Whether `host` (with its port, if any) is this machine: the only place plain http is used.
fn is_loopback(host: &str) -> bool {
    let name =
        host.rsplit_once(':').map_or(host, |(h, p)| if p.chars().all(|c| c.is_ascii_digit()) { h } else { host });
    matches!(name, "localhost" | "127.0.0.1" | "[::1]")
}

/// The digest `image`'s tag names now.
pub fn digest(registries: &Registries, image: &Image) -> Result<String> {
    let base = base(image);
    let url = format!("{base}/v2/{}/manifests/{}", image.repository, image.tag);
    let shown = format!("{}/{}:{}", image.registry, image.repository, image.tag);
    let saved = registries.docker_auth(http::host(&base));
    let head = |auth: Option<String>| {
        let mut headers = vec![ACCEPT.to_string()];
        headers.extend(auth.map(|a| format!("Authorization: {a}")));
        http::send(&Ask { url: &url, head: true, headers }, registries.timeout)
    };
    let mut answer = head(None)?;
    if answer.status == 401 {
        let auth = match challenge(&answer) {
            Some(Challenge::Bearer { realm, service, scope }) => {
                let scope = scope.unwrap_or_else(|| format!("repository:{}:pull", image.repository));
                let token = token(registries, &realm, service.as_deref(), &scope, saved, &shown)?;
                Some(format!("Bearer {token}"))
            }
            Some(Challenge::Basic) => saved.map(|a| format!("Basic {a}")),
            None => None,
        };
        if auth.is_some() {
            answer = head(auth)?;
        }
    }
    let registry = &image.registry;
    match answer.status {
        200 => {}
        404 => {
            return Err(Error::plugin_refused(
                format!("image {shown} does not exist at {registry}"),
                vec!["check the image the plugin runs (its `mcp.args` or compose file)".into()],
            ))
        }
        401 | 403 => {
            return Err(Error::Registry {
                message: format!("{registry} refused access to {shown} ({})", answer.status),
                hints: vec![format!("log in with `docker login {registry}`; atk uses docker's saved credentials")],
            })
        }
        s => {
            return Err(Error::Registry {
                message: format!("{registry} answered {s} for {shown}"),
                hints: vec!["try again later".into()],
            })
        }
    }
    match answer.header("docker-content-digest") {
        Some(d) if is_digest(d) => Ok(d.to_string()),
        _ => Err(Error::Registry {
            message: format!("{registry} gave no sha256 digest for {shown}"),
            hints: vec!["pin the image by digest in the plugin (`image@sha256:…`)".into()],
        }),
    }
}

enum Challenge {
    Bearer { realm: String, service: Option<String>, scope: Option<String> },
    Basic,
}

/// The registry's `WWW-Authenticate` challenge.
fn challenge(answer: &Response) -> Option<Challenge> {
    let value = answer.header("www-authenticate")?;
    let (scheme, params) = value.split_once(' ').unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut realm = None;
    let mut service = None;
    let mut scope = None;
    // key="value" pairs; values may hold commas (a scope naming several actions).
    let mut rest = params.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key.trim().trim_start_matches(',').trim();
        let (value, next) = match after.strip_prefix('"') {
            Some(quoted) => match quoted.split_once('"') {
                Some((v, n)) => (v, n),
                None => (quoted, ""),
            },
            None => after.split_once(',').unwrap_or((after, "")),
        };
        match key {
            "realm" => realm = Some(value.to_string()),
            "service" => service = Some(value.to_string()),
            "scope" => scope = Some(value.to_string()),
            _ => {}
        }
        rest = next.trim_start_matches(',').trim();
    }
    Some(Challenge::Bearer { realm: realm?, service, scope })
}

/// A pull token from the registry's token service, with docker's saved credentials for it when
/// there are some.
fn token(
    registries: &Registries,
    realm: &str,
    service: Option<&str>,
    scope: &str,
    saved: Option<&str>,
    shown: &str,
) -> Result<String> {
    if !(realm.starts_with("https://") || realm.starts_with("http://")) {
        return Err(Error::Registry {
            message: format!("the registry of {shown} names no usable token service"),
            hints: vec![],
        });
    }
    let mut url = format!("{realm}{}scope={}", if realm.contains('?') { "&" } else { "?" }, encode(scope));
    if let Some(s) = service {
        url.push_str(&format!("&service={}", encode(s)));
    }
    let mut headers = vec!["Accept: application/json".to_string()];
    // Saved credentials go over https, or to this machine.
    if let Some(auth) = saved.filter(|_| realm.starts_with("https://") || is_loopback(http::host(realm))) {
        // Only a valid `user:password` pair is sent.
        let valid = base64::engine::general_purpose::STANDARD.decode(auth).is_ok_and(|b| b.contains(&b':'));
        if valid {
            headers.push(format!("Authorization: Basic {auth}"));
        }
    }
    let answer = http::send(&Ask { url: &url, head: false, headers }, registries.timeout)?;
    if answer.status != 200 {
        return Err(Error::Registry {
            message: format!("the token service of {shown} answered {}", answer.status),
            hints: vec![format!("a private image needs `docker login {}`", http::host(realm))],
        });
    }
    let doc: serde_json::Value = serde_json::from_slice(&answer.body).unwrap_or_default();
    doc.get("token")
        .or_else(|| doc.get("access_token"))
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_graphic()))
        .map(str::to_string)
        .ok_or_else(|| Error::Registry {
            message: format!("the token service of {shown} gave no token"),
            hints: vec![],
        })
}

/// Percent-encodes a query value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(header: &str) -> Response {
        Response { status: 401, headers: vec![("www-authenticate".into(), header.into())], body: vec![] }
    }

    #[test]
    fn reads_the_registry_challenge() {
        let c = challenge(&with(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/mongo:pull,push""#,
        ));
        match c {
            Some(Challenge::Bearer { realm, service, scope }) => {
                assert_eq!(realm, "https://auth.docker.io/token");
                assert_eq!(service.as_deref(), Some("registry.docker.io"));
                assert_eq!(scope.as_deref(), Some("repository:library/mongo:pull,push"));
            }
            _ => panic!("not read"),
        }
        assert!(matches!(challenge(&with(r#"Basic realm="x""#)), Some(Challenge::Basic)));
        assert!(challenge(&with("Bearer service=x")).is_none());
    }

    #[test]
    fn only_this_machine_is_asked_over_plain_http() {
        let b = |w: &str| base(&Image::parse(w).unwrap());
        assert_eq!(b("mongo"), "https://registry-1.docker.io");
        assert_eq!(b("127.0.0.1:5000/x"), "http://127.0.0.1:5000");
        assert_eq!(b("localhost/x"), "http://localhost");
        assert_eq!(b("ghcr.io/o/x"), "https://ghcr.io");
        assert_eq!(b("127.0.0.1.evil.com/x"), "https://127.0.0.1.evil.com");
        assert_eq!(encode("repository:a/b:pull"), "repository%3Aa%2Fb%3Apull");
    }
}
