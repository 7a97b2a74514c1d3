//! Where atk asks: the registries the user's own tools ask, from the same settings. npm's
//! (`npm_config_registry`, else `registry=` of the user's `.npmrc`, with `@scope:registry=` and
//! `//host/:_authToken=`), uv's index (`UV_DEFAULT_INDEX`, `UV_INDEX_URL`) and pip's (`PIP_INDEX_URL`,
//! for `pipx`), and docker's credentials (`auths` of `$DOCKER_CONFIG/config.json`).

use std::path::PathBuf;
use std::time::Duration;

use crate::environment::Environment;
use crate::fs::read::{read_text, Cap, Links};

pub const NPM_DEFAULT: &str = "https://registry.npmjs.org/";
pub const PYPI_DEFAULT: &str = "https://pypi.org/simple/";

#[derive(Debug, Clone)]
pub struct Registries {
    /// npm's registry (ending in `/`), and per scope (`@org`) another.
    pub npm: String,
    pub npm_scoped: Vec<(String, String)>,
    /// `//host/path/` → the token npm sends there.
    pub npm_tokens: Vec<(String, String)>,
    /// The index `uvx` and `uv tool run` use, and the one `pipx run` uses.
    pub uv_index: String,
    pub pip_index: String,
    /// Registry host → `Basic` credentials (base64 of `user:password`), from docker's config.
    pub docker_auths: Vec<(String, String)>,
    /// The stall timeout of every request (`ATK_NET_TIMEOUT`).
    pub timeout: Duration,
}

impl Registries {
    /// Read from the environment atk was started in and the user's tool settings. A settings file
    /// that cannot be read counts as absent (the tool itself would complain).
    pub fn of(env: &Environment, timeout: Duration) -> Registries {
        let var = |names: &[&str]| names.iter().find_map(|n| env.var(n).filter(|v| !v.trim().is_empty()));
        let home = env.user_home();
        let npmrc_path = var(&["npm_config_userconfig", "NPM_CONFIG_USERCONFIG"])
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".npmrc"));
        let npmrc = read_text(&npmrc_path, Links::Follow, Cap::ToolConfig).ok().flatten().unwrap_or_default();
        let mut npm = None;
        let mut npm_scoped = Vec::new();
        let mut npm_tokens = Vec::new();
        for line in npmrc.lines() {
            let line = line.trim();
            if line.starts_with(['#', ';']) {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else { continue };
            let (key, value) = (key.trim(), expand(value.trim().trim_matches('"'), env));
            if key == "registry" {
                npm = Some(value);
            } else if let Some(scope) = key.strip_suffix(":registry").filter(|s| s.starts_with('@')) {
                npm_scoped.push((scope.to_string(), slash(&value)));
            } else if let Some(prefix) = key.strip_suffix(":_authToken").filter(|p| p.starts_with("//")) {
                npm_tokens.push((prefix.to_string(), value));
            }
        }
        let npm = var(&["npm_config_registry", "NPM_CONFIG_REGISTRY"]).or(npm).unwrap_or_else(|| NPM_DEFAULT.into());
        let uv_index = var(&["UV_DEFAULT_INDEX", "UV_INDEX_URL"]).unwrap_or_else(|| PYPI_DEFAULT.into());
        let pip_index = var(&["PIP_INDEX_URL"]).unwrap_or_else(|| PYPI_DEFAULT.into());
        let docker_dir = var(&["DOCKER_CONFIG"]).map(PathBuf::from).unwrap_or_else(|| home.join(".docker"));
        let docker_auths = read_text(&docker_dir.join("config.json"), Links::Follow, Cap::ToolConfig)
            .ok()
            .flatten()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| {
                let auths = v.get("auths")?.as_object()?;
                Some(
                    auths
                        .iter()
                        .filter_map(|(k, a)| Some((docker_host(k), a.get("auth")?.as_str()?.to_string())))
                        .collect::<Vec<_>>(),
                )
            })
            .unwrap_or_default();
        Registries {
            npm: slash(&npm),
            npm_scoped,
            npm_tokens,
            uv_index: slash(&uv_index),
            pip_index: slash(&pip_index),
            docker_auths,
            timeout,
        }
    }

    /// The registry of the npm package `name` (its scope's, else the default).
    pub fn npm_for(&self, name: &str) -> &str {
        let scope = name.split('/').next().filter(|_| name.starts_with('@'));
        scope.and_then(|s| self.npm_scoped.iter().find(|(k, _)| k == s)).map_or(&self.npm, |(_, url)| url)
    }

    /// The token npm sends with a request to `url`: the longest `//host/path/` it starts with.
    pub fn npm_token(&self, url: &str) -> Option<&str> {
        let bare = url.split_once(':').map_or(url, |(_, r)| r);
        self.npm_tokens
            .iter()
            .filter(|(p, _)| bare.starts_with(p.as_str()) || format!("{bare}/").starts_with(p.as_str()))
            .max_by_key(|(p, _)| p.len())
            .map(|(_, t)| t.as_str())
    }

    /// docker's credentials for `host`.
    pub fn docker_auth(&self, host: &str) -> Option<&str> {
        let host = if host == "docker.io" { "registry-1.docker.io" } else { host };
        self.docker_auths.iter().find(|(h, _)| h == host).map(|(_, a)| a.as_str())
    }
}

/// `${VAR}` in an `.npmrc` value, as npm expands it.
fn expand(value: &str, env: &Environment) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        match rest[start + 2..].find('}') {
            Some(end) => {
                out.push_str(&env.var(&rest[start + 2..start + 2 + end]).unwrap_or_default());
                rest = &rest[start + 3 + end..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out + rest
}

fn slash(url: &str) -> String {
    if url.ends_with('/') {
        url.to_string()
    } else {
        format!("{url}/")
    }
}

/// docker's config keys a registry by host, by URL, or (Docker Hub) by its old index URL.
fn docker_host(key: &str) -> String {
    let host = super::http::host(key);
    match host {
        "index.docker.io" | "docker.io" => "registry-1.docker.io".into(),
        h => h.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Environment {
        Environment::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn reads_what_npm_uv_pip_and_docker_read() {
        let dir = tempfile::tempdir().unwrap();
        let npmrc = dir.path().join("npmrc");
        std::fs::write(
            &npmrc,
            "registry=https://npm.example/\n@corp:registry=https://corp.example/npm\n//corp.example/npm/:_authToken=${TOKEN}\n",
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("docker")).unwrap();
        std::fs::write(
            dir.path().join("docker/config.json"),
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"dTpw"},"ghcr.io":{"auth":"Zzpo"}}}"#,
        )
        .unwrap();
        let r = Registries::of(
            &env(&[
                ("HOME", "/nowhere"),
                ("NPM_CONFIG_USERCONFIG", npmrc.to_str().unwrap()),
                ("TOKEN", "t0k"),
                ("UV_INDEX_URL", "https://uv.example/simple"),
                ("DOCKER_CONFIG", dir.path().join("docker").to_str().unwrap()),
            ]),
            Duration::from_secs(1),
        );
        assert_eq!(r.npm, "https://npm.example/");
        assert_eq!(r.npm_for("@corp/x"), "https://corp.example/npm/");
        assert_eq!(r.npm_for("@other/x"), "https://npm.example/");
        assert_eq!(r.npm_token("https://corp.example/npm/@corp%2fx"), Some("t0k"));
        assert_eq!(r.npm_token("https://npm.example/x"), None);
        assert_eq!(r.uv_index, "https://uv.example/simple/");
        assert_eq!(r.pip_index, PYPI_DEFAULT);
        assert_eq!(r.docker_auth("docker.io"), Some("dTpw"));
        assert_eq!(r.docker_auth("ghcr.io"), Some("Zzpo"));

        let r = Registries::of(
            &env(&[("HOME", "/nowhere"), ("npm_config_registry", "http://127.0.0.1:9/npm")]),
            Duration::from_secs(1),
        );
        assert_eq!(r.npm, "http://127.0.0.1:9/npm/");
        assert_eq!(r.uv_index, PYPI_DEFAULT);
    }
}
