//! The test registries (tests/support/registries.py) are faithful: the real npm and npx install
//! and run from them, and what they serve (times, integrities, hashes, digests, the token dance)
//! checks out against the bytes a client downloads.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::registries::{days_ago, http, iso_millis, pypi_normalize, Registries};
use crate::common::wait_with_timeout;

const PYPI_JSON: &str = "application/vnd.pypi.simple.v1+json";

/// Fails the test, saying how to get it, unless `program` runs here.
fn need(program: &str, test: &str) {
    let found = Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(found, "{test}: `{program}` is not on PATH; install Node.js 20 or later (.ci/run does)");
}

/// npm/npx pointed at the registries only: a fresh HOME, user config, and cache under `dir`,
/// no proxy, no update check.
fn npm_command(program: &str, reg: &Registries, dir: &Path) -> Command {
    let mut c = Command::new(program);
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().to_string();
        let lower = k.to_ascii_lowercase();
        if lower.starts_with("npm_") || lower.ends_with("_proxy") || k.starts_with("ATK_TEST_NPM") {
            c.env_remove(&k);
        }
    }
    let home = dir.join("npm-home");
    c.env("HOME", &home).envs(reg.npm_env(&home)).env("npm_config_yes", "true").current_dir(dir);
    c
}

fn run(mut c: Command) -> (String, String) {
    let child = c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let out = wait_with_timeout(child, 120);
    let (o, e) = (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(out.status.success(), "{c:?} failed ({:?})\nstdout:\n{o}\nstderr:\n{e}", out.status.code());
    (o, e)
}

/// `(sha512 base64, sha256 hex, sha1 hex)` of `bytes`, computed by Python's hashlib on what the
/// client received (not by the server).
fn hashes(bytes: &[u8]) -> (String, String, String) {
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import base64, hashlib, sys\nd = sys.stdin.buffer.read()\n\
             print(base64.b64encode(hashlib.sha512(d).digest()).decode(), hashlib.sha256(d).hexdigest(), hashlib.sha1(d).hexdigest())",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = wait_with_timeout(child, 30);
    let text = String::from_utf8(out.stdout).unwrap();
    let parts: Vec<&str> = text.split_whitespace().collect();
    (parts[0].to_string(), parts[1].to_string(), parts[2].to_string())
}

fn with_token(reg: &Registries, scope: &str, basic: Option<&str>) -> crate::common::registries::HttpResponse {
    let path = format!("/token?service=atk-test&scope={scope}");
    match basic {
        Some(b) => reg.get(&path, &[("Authorization", &format!("Basic {b}"))]),
        None => reg.get(&path, &[]),
    }
}

#[test]
#[ignore = "needs Node.js's npm and npx (.ci/run installs them for the agent programs)"]
fn npx_installs_and_runs_a_package_from_the_registry() {
    need("npx", "npx_installs_and_runs_a_package_from_the_registry");
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registries::start(&tmp.path().join("reg"));
    reg.npm("@t/echo-mcp", &[("1.0.0", &days_ago(30.0), true), ("2.0.0", &days_ago(5.0), true)], None);
    reg.npm("plain-tool", &[("0.3.1", &days_ago(3.0), true)], None);

    let mut c = npm_command("npx", &reg, tmp.path());
    c.args(["-y", "@t/echo-mcp@1.0.0", "a", "b"]);
    let (out, _) = run(c);
    assert_eq!(out, "@t/echo-mcp@1.0.0 a b\n");
    // npx asked this registry for the document and the tarball, nothing else.
    let reqs = reg.requests();
    assert!(reqs.iter().any(|r| r == "GET /npm/@t%2fecho-mcp"), "{reqs:?}");
    assert!(reqs.iter().any(|r| r == "GET /npm/@t/echo-mcp/-/echo-mcp-1.0.0.tgz"), "{reqs:?}");
    assert!(reqs.iter().all(|r| r.starts_with("GET /npm/")), "{reqs:?}");

    // No version: the `latest` dist-tag; an unscoped name; no arguments.
    let mut c = npm_command("npx", &reg, tmp.path());
    c.args(["-y", "@t/echo-mcp", "x"]);
    assert_eq!(run(c).0, "@t/echo-mcp@2.0.0 x\n");
    let mut c = npm_command("npx", &reg, tmp.path());
    c.args(["-y", "plain-tool@0.3.1"]);
    assert_eq!(run(c).0, "plain-tool@0.3.1\n");

    // ATK_TEST_NPM_LOG gets the line; ATK_TEST_NPM_WAIT=1 keeps it alive until stdin closes.
    let log = tmp.path().join("ran.log");
    let mut c = npm_command("npx", &reg, tmp.path());
    c.args(["-y", "@t/echo-mcp@1.0.0", "--stdio"])
        .env("ATK_TEST_NPM_LOG", &log)
        .env("ATK_TEST_NPM_WAIT", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    let start = Instant::now();
    while std::fs::read_to_string(&log).unwrap_or_default().is_empty() {
        assert!(start.elapsed() < Duration::from_secs(60), "the package never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "ATK_TEST_NPM_WAIT=1: it should wait for stdin's end");
    drop(child.stdin.take());
    let out = wait_with_timeout(child, 30);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "@t/echo-mcp@1.0.0 --stdio\n");
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "@t/echo-mcp@1.0.0 --stdio\n");
}

#[test]
#[ignore = "needs Node.js's npm and npx (.ci/run installs them for the agent programs)"]
fn npm_view_shows_the_configured_times_tags_deprecation_and_integrity() {
    need("npm", "npm_view_shows_the_configured_times_tags_deprecation_and_integrity");
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registries::start(&tmp.path().join("reg"));
    reg.npm(
        "@t/srv",
        &[("1.0.0", "2026-11-01T00:00:00Z", true), ("1.1.0", "2026-11-20T10:30:00.250Z", false)],
        Some("1.0.0"),
    );
    reg.npm_tag("@t/srv", "next", "1.1.0");
    reg.npm_deprecate("@t/srv", "1.1.0", "broken, use 1.0.0");

    let view = |args: &[&str]| -> Value {
        let mut c = npm_command("npm", &reg, tmp.path());
        c.arg("view").args(args).arg("--json");
        serde_json::from_str(&run(c).0).unwrap()
    };
    let time = view(&["@t/srv", "time"]);
    assert_eq!(time["1.0.0"], "2026-11-01T00:00:00.000Z");
    assert_eq!(time["1.1.0"], "2026-11-20T10:30:00.250Z");
    assert_eq!(time["created"], "2026-11-01T00:00:00.000Z");
    assert_eq!(time["modified"], "2026-11-20T10:30:00.250Z");
    let tags = view(&["@t/srv", "dist-tags"]);
    assert_eq!(tags, serde_json::json!({"latest": "1.0.0", "next": "1.1.0"}));
    assert_eq!(view(&["@t/srv@1.1.0", "deprecated"]), "broken, use 1.0.0");
    assert_eq!(view(&["@t/srv@1.0.0", "dist.integrity"]), reg.npm_integrity("@t/srv", "1.0.0").as_str());
    assert_eq!(view(&["@t/srv@1.0.0", "bin"]), serde_json::json!({"srv": "cli.js"}));

    // The config is re-read: a new release shows up at once.
    reg.npm_publish("@t/srv", "1.2.0", "2026-12-01T10:00:00Z");
    assert_eq!(view(&["@t/srv", "dist-tags.latest"]), "1.2.0");
    assert_eq!(view(&["@t/srv", "time"])["1.2.0"], "2026-12-01T10:00:00.000Z");
}

#[test]
fn npm_documents_and_tarballs_check_out() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registries::start(&tmp.path().join("reg"));
    reg.npm("@scope/pkg", &[("1.0.0", "2026-11-01T00:00:00Z", true), ("0.9.0", "2026-10-01T00:00:00Z", false)], None);

    // Both spellings of a scoped name; the full document.
    let a = reg.get("/npm/@scope%2fpkg", &[]);
    let b = reg.get("/npm/@scope/pkg", &[]);
    assert_eq!(a.status, 200);
    assert_eq!(a.header("Content-Type"), Some("application/json"));
    assert_eq!(a.body, b.body);
    let doc = a.json();
    assert_eq!(doc["name"], "@scope/pkg");
    assert_eq!(doc["dist-tags"]["latest"], "1.0.0");
    assert_eq!(doc["time"]["0.9.0"], "2026-10-01T00:00:00.000Z");
    assert_eq!(doc["time"]["created"], "2026-10-01T00:00:00.000Z");
    let v = &doc["versions"]["1.0.0"];
    assert_eq!(v["bin"], serde_json::json!({"pkg": "cli.js"}));
    assert!(doc["versions"]["0.9.0"].get("bin").is_none());
    let tarball = v["dist"]["tarball"].as_str().unwrap();
    assert_eq!(tarball, format!("{}@scope/pkg/-/pkg-1.0.0.tgz", reg.npm_url()));

    // The tarball's bytes match the integrity and shasum, are stable, and hold the package.
    let tgz = http("GET", tarball, &[], Duration::from_secs(10)).unwrap();
    assert_eq!(tgz.status, 200);
    let (sha512, _, sha1) = hashes(&tgz.body);
    assert_eq!(v["dist"]["integrity"], format!("sha512-{sha512}"));
    assert_eq!(v["dist"]["shasum"], sha1);
    assert_eq!(http("GET", tarball, &[], Duration::from_secs(10)).unwrap().body, tgz.body);
    assert_eq!(reg.npm_integrity("@scope/pkg", "1.0.0"), format!("sha512-{sha512}"));
    std::fs::write(tmp.path().join("p.tgz"), &tgz.body).unwrap();
    let list = Command::new("tar").args(["-tvzf", "p.tgz"]).current_dir(tmp.path()).output().unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(list.lines().any(|l| l.starts_with("-rwxr-xr-x") && l.ends_with("package/cli.js")), "{list}");
    assert!(list.lines().any(|l| l.ends_with("package/package.json")), "{list}");

    // One version's document, by version or dist-tag.
    assert_eq!(reg.get("/npm/@scope/pkg/1.0.0", &[]).json(), *v);
    assert_eq!(reg.get("/npm/@scope%2fpkg/latest", &[]).json(), *v);
    assert_eq!(reg.get("/npm/@scope/pkg/7.0.0", &[]).status, 404);

    // npm install's abbreviated document.
    let corgi = reg.get("/npm/@scope%2fpkg", &[("Accept", "application/vnd.npm.install-v1+json; q=1.0, */*")]);
    assert_eq!(corgi.header("Content-Type"), Some("application/vnd.npm.install-v1+json"));
    assert_eq!(corgi.json()["versions"]["1.0.0"]["dist"]["integrity"], v["dist"]["integrity"]);

    // New bytes, new integrity; deprecation; unknown names.
    reg.npm_content("@scope/pkg", "1.0.0", "republished");
    let doc2 = reg.get("/npm/@scope/pkg", &[]).json();
    assert_ne!(doc2["versions"]["1.0.0"]["dist"]["integrity"], v["dist"]["integrity"]);
    reg.npm_deprecate("@scope/pkg", "0.9.0", "too old");
    assert_eq!(reg.get("/npm/@scope/pkg", &[]).json()["versions"]["0.9.0"]["deprecated"], "too old");
    let missing = reg.get("/npm/nope", &[]);
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json(), serde_json::json!({"error": "Not found"}));
    assert_eq!(reg.get("/npm/@scope/pkg/-/pkg-3.0.0.tgz", &[]).status, 404);
}

#[test]
fn pypi_simple_api_documents_and_files_check_out() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registries::start(&tmp.path().join("reg"));
    reg.pypi(
        "Work_Space-MCP",
        &[("1.2.0", "2026-11-01T00:00:00Z", None), ("1.3.0", "2026-11-02T12:00:00Z", Some("broken build"))],
    );
    reg.pypi_requires_python("Work_Space-MCP", "1.2.0", ">=3.10");

    // PEP 503 names: anything else is redirected to the normalized one.
    assert_eq!(pypi_normalize("Work_Space-MCP"), "work-space-mcp");
    let moved = reg.get("/pypi/simple/Work_Space-MCP/", &[("Accept", PYPI_JSON)]);
    assert_eq!(moved.status, 301);
    assert_eq!(moved.header("Location"), Some("/pypi/simple/work-space-mcp/"));

    let r = reg.get("/pypi/simple/work-space-mcp/", &[("Accept", PYPI_JSON)]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Type"), Some(PYPI_JSON));
    let doc = r.json();
    assert_eq!(doc["meta"]["api-version"], "1.1");
    assert_eq!(doc["name"], "work-space-mcp");
    assert_eq!(doc["versions"], serde_json::json!(["1.2.0", "1.3.0"]));
    let files = doc["files"].as_array().unwrap();
    let names: Vec<&str> = files.iter().map(|f| f["filename"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "work_space_mcp-1.2.0-py3-none-any.whl",
            "work_space_mcp-1.2.0.tar.gz",
            "work_space_mcp-1.3.0-py3-none-any.whl",
            "work_space_mcp-1.3.0.tar.gz"
        ]
    );
    for f in files {
        let got = http("GET", f["url"].as_str().unwrap(), &[], Duration::from_secs(10)).unwrap();
        assert_eq!(got.status, 200, "{f}");
        let (_, sha256, _) = hashes(&got.body);
        assert_eq!(f["hashes"]["sha256"], sha256, "{f}");
        assert_eq!(reg.pypi_sha256("work-space-mcp", f["filename"].as_str().unwrap()), sha256);
    }
    assert_eq!(files[0]["upload-time"], "2026-11-01T00:00:00.000000Z");
    assert_eq!(files[0]["yanked"], false);
    assert_eq!(files[0]["requires-python"], ">=3.10");
    assert_eq!(files[2]["upload-time"], "2026-11-02T12:00:00.000000Z");
    assert_eq!(files[2]["yanked"], "broken build");
    assert!(files[2].get("requires-python").is_none());

    // The wheel is a real one.
    let wheel = http("GET", files[0]["url"].as_str().unwrap(), &[], Duration::from_secs(10)).unwrap();
    assert_eq!(&wheel.body[..2], b"PK");

    // No JSON asked for: the PEP 503 page, with the hashes and the yank.
    let page = reg.get("/pypi/simple/work-space-mcp/", &[]);
    assert!(page.header("Content-Type").unwrap().starts_with("text/html"));
    let html = page.text();
    assert!(
        html.contains(&format!(
            "work_space_mcp-1.2.0-py3-none-any.whl#sha256={}",
            files[0]["hashes"]["sha256"].as_str().unwrap()
        )),
        "{html}"
    );
    assert!(html.contains("data-yanked=\"broken build\""), "{html}");
    assert!(html.contains("data-requires-python=\"&gt;=3.10\""), "{html}");

    // Changes are seen at once; unknown projects are 404.
    reg.pypi_publish("work-space-mcp", "1.4.0", "2026-12-01T00:00:00Z");
    let doc = reg.get("/pypi/simple/work-space-mcp/", &[("Accept", PYPI_JSON)]).json();
    assert_eq!(doc["versions"], serde_json::json!(["1.2.0", "1.3.0", "1.4.0"]));
    assert_eq!(reg.get("/pypi/simple/nope/", &[("Accept", PYPI_JSON)]).status, 404);
    assert_eq!(reg.get("/pypi/files/work-space-mcp/nope-1.0.whl", &[]).status, 404);
}

#[test]
#[ignore = "needs the Python test venv (target/pyvenv or ATK_TEST_PYTHON; .ci/run makes it)"]
fn pip_installs_from_the_index_and_skips_the_yanked_release() {
    let test = "pip_installs_from_the_index_and_skips_the_yanked_release";
    // The venv's pip (pip is not part of every system Python).
    let py = crate::common::python::python(test, &["pip"]);
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registries::start(&tmp.path().join("reg"));
    reg.pypi("echo-py", &[("1.0.0", &days_ago(9.0), None), ("1.1.0", &days_ago(1.0), Some("oops"))]);
    let target = tmp.path().join("site");
    let mut c = Command::new(&py);
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().to_string();
        if k.starts_with("PIP_") || k.to_ascii_lowercase().ends_with("_proxy") {
            c.env_remove(&k);
        }
    }
    c.args(["-m", "pip", "install", "-q", "--no-cache-dir", "--disable-pip-version-check", "--no-deps", "--target"])
        .arg(&target)
        .args(["--index-url", &reg.pypi_url(), "echo-py"])
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env("HOME", tmp.path());
    run(c);
    assert!(target.join("echo_py-1.0.0.dist-info").is_dir(), "pip should pick 1.0.0 over the yanked 1.1.0");
    let mut c = Command::new(&py);
    c.args(["-c", "import sys, atk_test_echo_py as m; sys.argv = ['echo-py', 'a', 'b']; m.main()"])
        .env("PYTHONPATH", &target);
    assert_eq!(run(c).0, "echo-py==1.0.0 a b\n");
    assert!(target.join("bin/echo-py").is_file(), "the console script is installed");
    assert!(reg.requests().contains(&"GET /pypi/files/echo-py/echo_py-1.0.0-py3-none-any.whl".to_string()));
}

#[test]
fn oci_token_dance_and_digests() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registries::start(&tmp.path().join("reg"));
    reg.oci("library/mongo", &[("7", "mongo-7.0.1"), ("latest", "mongo-7.0.1"), ("6", "mongo-6.0.9")]);
    reg.oci("team/tools/img", &[("1.0", "img-1")]);

    // The ping and a manifest, without a token: challenged, with the scope.
    let ping = reg.get("/v2/", &[]);
    assert_eq!(ping.status, 401);
    let realm = format!("Bearer realm=\"{}/token\",service=\"atk-test\"", reg.base());
    assert_eq!(ping.header("WWW-Authenticate"), Some(realm.as_str()));
    let url = format!("{}/v2/library/mongo/manifests/7", reg.base());
    let head = http("HEAD", &url, &[], Duration::from_secs(5)).unwrap();
    assert_eq!(head.status, 401);
    assert_eq!(head.header("WWW-Authenticate").unwrap(), format!("{realm},scope=\"repository:library/mongo:pull\""));

    // The token, anonymously; then the manifest.
    let tok = with_token(&reg, "repository:library/mongo:pull", None);
    assert_eq!(tok.status, 200);
    let tok = tok.json();
    let token = tok["token"].as_str().unwrap().to_string();
    assert_eq!(tok["access_token"], token.as_str());
    let bearer = format!("Bearer {token}");
    let auth = [("Authorization", bearer.as_str())];
    assert_eq!(reg.get("/v2/", &auth).status, 200);
    let head = http("HEAD", &url, &auth, Duration::from_secs(5)).unwrap();
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("Content-Type"), Some("application/vnd.oci.image.index.v1+json"));
    let digest = head.header("Docker-Content-Digest").unwrap().to_string();
    let get = http("GET", &url, &auth, Duration::from_secs(5)).unwrap();
    assert_eq!(get.header("Docker-Content-Digest"), Some(digest.as_str()));
    assert_eq!(head.header("Content-Length").unwrap(), get.body.len().to_string());
    let (_, sha256, _) = hashes(&get.body);
    assert_eq!(digest, format!("sha256:{sha256}"));
    assert_eq!(get.json()["mediaType"], "application/vnd.oci.image.index.v1+json");
    assert_eq!(reg.oci_digest("library/mongo", "7"), digest);

    // Same content, same digest; other content, another; by digest, the same bytes.
    let latest = reg.get("/v2/library/mongo/manifests/latest", &auth);
    assert_eq!(latest.header("Docker-Content-Digest"), Some(digest.as_str()));
    let six = reg.get("/v2/library/mongo/manifests/6", &auth);
    assert_ne!(six.header("Docker-Content-Digest"), Some(digest.as_str()));
    let by_digest = reg.get(&format!("/v2/library/mongo/manifests/{digest}"), &auth);
    assert_eq!(by_digest.status, 200);
    assert_eq!(by_digest.body, get.body);

    // A moved tag has a new digest; the old digest is still served.
    reg.oci_tag("library/mongo", "7", "mongo-7.0.2");
    let moved = reg.get("/v2/library/mongo/manifests/7", &auth);
    assert_ne!(moved.header("Docker-Content-Digest"), Some(digest.as_str()));
    assert_eq!(reg.get(&format!("/v2/library/mongo/manifests/{digest}"), &auth).status, 200);

    // Unknown tag: MANIFEST_UNKNOWN. A token is per repository; names with slashes work.
    let unknown = reg.get("/v2/library/mongo/manifests/99", &auth);
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json()["errors"][0]["code"], "MANIFEST_UNKNOWN");
    assert_eq!(reg.get("/v2/team/tools/img/manifests/1.0", &auth).status, 401);
    let tok2 = with_token(&reg, "repository:team/tools/img:pull", None).json();
    let bearer2 = format!("Bearer {}", tok2["token"].as_str().unwrap());
    let img = reg.get("/v2/team/tools/img/manifests/1.0", &[("Authorization", &bearer2)]);
    assert_eq!(img.status, 200);
    assert_eq!(img.header("Docker-Content-Digest").unwrap(), reg.oci_digest("team/tools/img", "1.0"));
    let tok3 = with_token(&reg, "repository:library/nothing:pull", None).json();
    let bearer3 = format!("Bearer {}", tok3["token"].as_str().unwrap());
    let none = reg.get("/v2/library/nothing/manifests/1", &[("Authorization", &bearer3)]);
    assert_eq!(none.status, 404);
    assert_eq!(none.json()["errors"][0]["code"], "MANIFEST_UNKNOWN");
    // A forged token is refused.
    let forged =
        reg.get("/v2/library/mongo/manifests/6", &[("Authorization", "Bearer atk.WyJsaWJyYXJ5L21vbmdvIl0.00")]);
    assert_eq!(forged.status, 401);

    let log = reg.requests();
    assert!(log.contains(&"HEAD /v2/library/mongo/manifests/7".to_string()), "{log:?}");
    assert!(log.contains(&"HEAD /v2/library/mongo/manifests/7 Bearer".to_string()), "{log:?}");
}

#[test]
fn oci_private_repository_wants_credentials() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registries::start(&tmp.path().join("reg"));
    reg.oci("acme/secret", &[("v1", "s1")]);
    reg.oci_private("acme/secret", "u", "p");
    let scope = "repository:acme/secret:pull";
    assert_eq!(with_token(&reg, scope, None).status, 401);
    // base64("u:wrong") and base64("u:p")
    assert_eq!(with_token(&reg, scope, Some("dTp3cm9uZw==")).status, 401);
    let ok = with_token(&reg, scope, Some("dTpw"));
    assert_eq!(ok.status, 200);
    let bearer = format!("Bearer {}", ok.json()["token"].as_str().unwrap());
    let m = reg.get("/v2/acme/secret/manifests/v1", &[("Authorization", &bearer)]);
    assert_eq!(m.status, 200);
    assert_eq!(m.header("Docker-Content-Digest").unwrap(), reg.oci_digest("acme/secret", "v1"));
    assert!(reg.requests().contains(&format!("GET /token?service=atk-test&scope={scope} Basic")));
}

#[test]
fn hang_and_status_switches() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registries::start(&tmp.path().join("reg"));
    reg.npm("stuck", &[("1.0.0", &days_ago(10.0), true)], None);
    reg.npm("fine", &[("1.0.0", &days_ago(10.0), true)], None);
    reg.hang("npm", "stuck");

    let start = Instant::now();
    let err = http("GET", &format!("{}stuck", reg.npm_url()), &[], Duration::from_secs(2)).unwrap_err();
    assert!(matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut), "{err:?}");
    assert!(start.elapsed() >= Duration::from_secs(2));
    assert!(reg.requests().contains(&"GET /npm/stuck".to_string()), "the request arrived");
    // A held connection does not hold the others.
    let held = std::thread::spawn({
        let url = format!("{}stuck", reg.npm_url());
        move || http("GET", &url, &[], Duration::from_secs(3))
    });
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(reg.get("/npm/fine", &[]).status, 200);
    assert!(held.join().unwrap().is_err());

    reg.heal("npm", "stuck");
    assert_eq!(reg.get("/npm/stuck", &[]).status, 200);
    reg.fail("npm", "stuck", 500);
    assert_eq!(reg.get("/npm/stuck", &[]).status, 500);
    reg.fail("pypi", "*", 503);
    assert_eq!(reg.get("/pypi/simple/anything/", &[]).status, 503);
    reg.oci("library/redis", &[("7", "r")]);
    reg.hang("oci", "library/redis");
    assert!(
        http("HEAD", &format!("{}/v2/library/redis/manifests/7", reg.base()), &[], Duration::from_millis(500)).is_err()
    );
    assert_eq!(reg.get("/v2/library/mongo/manifests/7", &[]).status, 401, "other repositories answer");
    assert!(reg.stderr().is_empty(), "{}", reg.stderr());
}

#[test]
fn delay_log_and_clock_helpers() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registries::start_with_delay(&tmp.path().join("reg"), 300);
    reg.npm("slow", &[("1.0.0", &days_ago(1.0), false)], None);
    let start = Instant::now();
    assert_eq!(reg.get("/npm/slow", &[]).status, 200);
    assert!(start.elapsed() >= Duration::from_millis(300));
    reg.get("/v2/", &[("Authorization", "Bearer x")]);
    assert_eq!(reg.requests(), ["GET /npm/slow", "GET /v2/ Bearer"]);
    reg.clear_log();
    assert!(reg.requests().is_empty());
    // Answers are delayed in parallel, not one after another (a connection each).
    let start = Instant::now();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let url = format!("{}slow", reg.npm_url());
            std::thread::spawn(move || http("GET", &url, &[], Duration::from_secs(5)).unwrap().status)
        })
        .collect();
    assert!(threads.into_iter().all(|t| t.join().unwrap() == 200));
    assert!(start.elapsed() < Duration::from_millis(900), "{:?}", start.elapsed());
    assert_eq!(reg.requests().len(), 4);

    assert_eq!(iso_millis(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(iso_millis(1_796_119_200_123), "2026-12-01T10:00:00.123Z");
    assert_eq!(iso_millis(951_782_400_000), "2000-02-29T00:00:00.000Z");
    // days_ago agrees with Python's clock and calendar: 3 days minus an hour ago.
    let stamp = days_ago(3.0 - 1.0 / 24.0);
    let mut c = Command::new("python3");
    c.args([
        "-c",
        "import datetime, sys\n\
         t = datetime.datetime.fromisoformat(sys.argv[1].replace('Z', '+00:00'))\n\
         print(round((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds()))",
        &stamp,
    ]);
    let secs: i64 = run(c).0.trim().parse().unwrap();
    assert!((3 * 86_400 - 3_600..3 * 86_400 - 3_600 + 10).contains(&secs), "{stamp}: {secs} s ago");
}
