//! Issue 20, pinning what runs: `atk add` finds each floating npm, PyPI and OCI reference of a
//! plugin, resolves it against registries on 127.0.0.1 (`common::registries`) with the release
//! cooldown, and records it in manifest.yaml's `lock`; `atk exec` and compose lifecycle commands
//! run what is locked. Stub `npx`, `uvx`, `uv`, `pipx` and `docker` on PATH record what atk runs;
//! one test starts the real `npx` against the local npm registry.
//!
//! Every atk run here points npm, uv, pip and docker at the test registries or at empty settings
//! (see [`Lab::cmd`]): nothing reaches the internet or the user's own configuration.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::lab::{argv, Lab, STUB};
use crate::common::registries::days_ago;
use crate::common::sources::{commit_all, head};
use crate::common::*;

fn s(v: &yaml_serde::Value, key: &str) -> String {
    v.get(key).and_then(|x| x.as_str()).unwrap_or_default().to_string()
}

#[test]
fn each_reference_form_is_locked_and_exec_runs_the_locked_word() {
    let lab = Lab::new();
    let reg = &lab.reg;
    let old = days_ago(30.0);
    let older = days_ago(60.0);
    reg.npm("@scope/pkg", &[("1.0.0", &older, true), ("1.2.0", &old, true)], None);
    reg.npm("rng", &[("1.0.0", &older, true), ("1.4.0", &old, true), ("2.0.0", &old, true)], Some("2.0.0"));
    reg.npm("tagged", &[("1.0.0", &older, true), ("2.0.0-rc.1", &old, true)], Some("1.0.0"));
    reg.npm_tag("tagged", "next", "2.0.0-rc.1");
    reg.npm("provider", &[("3.0.0", &older, true), ("3.1.0", &old, true)], None);
    reg.npm("exact", &[("1.0.0", &older, true), ("1.1.0", &old, true)], None);
    reg.pypi("plainpy", &[("0.9", &older, None), ("1.1", &old, None)]);
    reg.pypi("frompy", &[("0.5", &older, None), ("1.0", &older, None), ("1.3", &old, None)]);
    reg.pypi("uvtool", &[("2.0", &old, None)]);
    reg.pypi("pipxpkg", &[("4.0", &older, None), ("4.2", &old, None)]);
    reg.pypi("exactpy", &[("1.0", &older, None), ("1.5", &old, None)]);
    reg.oci("team/img", &[("1", "img-v1"), ("2", "img-v2")]);
    let image = format!("{}/team/img:1", reg.oci_host());

    let cases: Vec<(&str, &str, Vec<String>)> = vec![
        ("scoped", "npx", vec!["-y".into(), "@scope/pkg".into()]),
        ("range", "npx", vec!["rng@^1.0.0".into()]),
        ("tag", "npx", vec!["tagged@next".into()]),
        ("provider", "npx", vec!["-p".into(), "provider".into(), "tool".into()]),
        ("uvx-plain", "uvx", vec!["plainpy".into()]),
        ("uvx-from", "uvx", vec!["--from".into(), "frompy[cli]>=1".into(), "cmd".into()]),
        ("uv-tool", "uv", vec!["tool".into(), "run".into(), "uvtool".into()]),
        ("pipx-run", "pipx", vec!["run".into(), "pipxpkg".into()]),
        ("docker-run", "docker", vec!["run".into(), "-i".into(), "--rm".into(), image.clone(), "serve".into()]),
        ("npx-exact", "npx", vec!["exact@1.0.0".into()]),
        ("uvx-exact", "uvx", vec!["exactpy==1.0".into()]),
    ];
    let mut said = String::new();
    for (name, command, args) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let dir = lab.server(name, command, &args);
        let (out, err) = lab.add(&dir);
        said.push_str(&format!("{out}{err}"));
    }
    // add says what it pinned, one line each; exact references are not mentioned.
    let short_digest: String = reg.oci_digest("team/img", "1").chars().take(19).collect();
    for line in [
        "npm @scope/pkg pinned to 1.2.0".to_string(),
        "npm rng@^1.0.0 pinned to 1.4.0".into(),
        "npm tagged@next pinned to 2.0.0-rc.1".into(),
        "npm provider pinned to 3.1.0".into(),
        "pypi plainpy pinned to 1.1".into(),
        "pypi frompy[cli]>=1 pinned to 1.3".into(),
        "pypi uvtool pinned to 2.0".into(),
        "pypi pipxpkg pinned to 4.2".into(),
        format!("oci {image} pinned to {short_digest}"),
    ] {
        assert!(said.lines().any(|l| l.trim() == line), "no line {line:?} in:\n{said}");
    }
    assert!(!said.contains("exact@") && !said.contains("exactpy"), "an exact reference was reported:\n{said}");
    // Each package was asked of the test registries (the variables reached atk).
    for path in
        ["/npm/@scope%2fpkg", "/npm/rng", "/pypi/simple/plainpy/", "/pypi/simple/pipxpkg/", "/v2/team/img/manifests/1"]
    {
        assert!(!reg.requests_with(path).is_empty(), "no request for {path}: {:?}", reg.requests());
    }

    // npm: the version npx would pick, with the registry's integrity.
    let pin = lab.pin("scoped", "@scope/pkg");
    assert_eq!((s(&pin, "kind"), s(&pin, "version")), ("npm".into(), "1.2.0".into()));
    assert_eq!(s(&pin, "integrity"), reg.npm_integrity("@scope/pkg", "1.2.0"));
    let pin = lab.pin("range", "rng@^1.0.0");
    assert_eq!(s(&pin, "version"), "1.4.0", "the newest release in the range (latest, 2.0.0, is outside it)");
    assert_eq!(s(&pin, "integrity"), reg.npm_integrity("rng", "1.4.0"));
    let pin = lab.pin("tag", "tagged@next");
    assert_eq!(s(&pin, "version"), "2.0.0-rc.1");
    assert_eq!(s(&pin, "integrity"), reg.npm_integrity("tagged", "2.0.0-rc.1"));
    let pin = lab.pin("provider", "provider");
    assert_eq!(s(&pin, "version"), "3.1.0");
    assert_eq!(s(&pin, "integrity"), reg.npm_integrity("provider", "3.1.0"));

    // PyPI: the version and the sha256 of each of its files (a wheel and an sdist).
    let sha = |name: &str, pin: &yaml_serde::Value, files: &[String]| {
        let map = pin["sha256"].as_mapping().unwrap_or_else(|| panic!("sha256 of {name}: {pin:?}"));
        assert_eq!(map.len(), files.len(), "{name}: {pin:?}");
        for f in files {
            assert_eq!(
                map.get(f.as_str()).and_then(|v| v.as_str()),
                Some(reg.pypi_sha256(name, f).as_str()),
                "{name} {f}: {pin:?}"
            );
        }
    };
    let files = |name: &str, v: &str| vec![format!("{name}-{v}-py3-none-any.whl"), format!("{name}-{v}.tar.gz")];
    let pin = lab.pin("uvx-plain", "plainpy");
    assert_eq!((s(&pin, "kind"), s(&pin, "version")), ("pypi".into(), "1.1".into()));
    sha("plainpy", &pin, &files("plainpy", "1.1"));
    let pin = lab.pin("uvx-from", "frompy[cli]>=1");
    assert_eq!(s(&pin, "version"), "1.3");
    sha("frompy", &pin, &files("frompy", "1.3"));
    let pin = lab.pin("uv-tool", "uvtool");
    assert_eq!(s(&pin, "version"), "2.0");
    sha("uvtool", &pin, &files("uvtool", "2.0"));
    let pin = lab.pin("pipx-run", "pipxpkg");
    assert_eq!(s(&pin, "version"), "4.2");
    sha("pipxpkg", &pin, &files("pipxpkg", "4.2"));

    // OCI: the tag's digest.
    let pin = lab.pin("docker-run", &image);
    assert_eq!(s(&pin, "kind"), "oci");
    assert_eq!(s(&pin, "digest"), reg.oci_digest("team/img", "1"));

    // Exact references are not locked.
    assert!(lab.lock("npx-exact").is_empty(), "{}", lab.env.manifest());
    assert!(lab.lock("uvx-exact").is_empty(), "{}", lab.env.manifest());

    // exec runs the locked words, in place of the floating ones, and nothing else changes.
    let digest = reg.oci_digest("team/img", "1");
    let expect: Vec<(&str, String)> = vec![
        ("scoped", argv(&["npx", "-y", "@scope/pkg@1.2.0"])),
        ("range", argv(&["npx", "rng@1.4.0"])),
        ("tag", argv(&["npx", "tagged@2.0.0-rc.1"])),
        ("provider", argv(&["npx", "-p", "provider@3.1.0", "tool"])),
        ("uvx-plain", argv(&["uvx", "plainpy==1.1"])),
        ("uvx-from", argv(&["uvx", "--from", "frompy[cli]==1.3", "cmd"])),
        ("uv-tool", argv(&["uv", "tool", "run", "uvtool==2.0"])),
        ("pipx-run", argv(&["pipx", "run", "pipxpkg==4.2"])),
        ("docker-run", argv(&["docker", "run", "-i", "--rm", &format!("{image}@{digest}"), "serve"])),
        ("npx-exact", argv(&["npx", "exact@1.0.0"])),
        ("uvx-exact", argv(&["uvx", "exactpy==1.0"])),
    ];
    for (name, want) in expect {
        let (ran, err) = lab.exec(name);
        assert_eq!(ran, want, "atk exec {name}");
        assert!(!err.contains("not locked"), "atk exec {name} warned: {err}");
    }
}

/// A git repository holding an npm package, with a `main` and a `dev` branch, published bare under
/// `root/pkg.git`; (work tree, bare copy).
fn git_package(lab: &Lab, root: &Path) -> (PathBuf, PathBuf) {
    let work = lab.env.path("pkg-work");
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    write(&work.join("package.json"), "{\"name\": \"gitpkg\", \"version\": \"1.0.0\", \"bin\": \"cli.js\"}\n", false);
    write(&work.join("cli.js"), "#!/usr/bin/env node\nconsole.log('v1')\n", true);
    commit_all(&work, "v1");
    git(&work, &["checkout", "-q", "-b", "dev"]);
    write(&work.join("cli.js"), "#!/usr/bin/env node\nconsole.log('dev')\n", true);
    commit_all(&work, "dev");
    git(&work, &["checkout", "-q", "main"]);
    std::fs::create_dir_all(root).unwrap();
    let bare = servers::publish(&work, root, "pkg.git", true);
    git(&work, &["push", "-q", bare.to_str().unwrap(), "dev"]);
    (work, bare)
}

#[test]
fn an_npm_git_reference_is_locked_to_its_branch_head_and_exec_runs_that_commit() {
    let lab = Lab::new();
    let root = lab.env.path("git");
    let (work, bare) = git_package(&lab, &root);
    let main_head = head(&work);
    let dev_head = git(&bare, &["rev-parse", "dev"]).trim().to_string();
    assert_ne!(main_head, dev_head);
    let http = servers::HttpServer::start(&root);

    // git+file:// (a repository on this machine) at a branch.
    let by_file = format!("git+file://{}#main", bare.display());
    let dir = lab.server("by-file", "npx", &["-y", &by_file]);
    let (_, err) = lab.add(&dir);
    let pin = lab.pin("by-file", &by_file);
    assert_eq!(s(&pin, "kind"), "npm");
    assert_eq!(s(&pin, "commit"), main_head, "{}", lab.env.manifest());
    assert!(err.contains(&format!("npm {by_file} pinned to {}", &main_head[..7])), "{err}");

    // git+http:// (smart HTTP on 127.0.0.1) at another branch.
    let by_http = format!("git+{}#dev", http.url("pkg.git"));
    let dir = lab.server("by-http", "npx", &["-y", &by_http]);
    lab.add(&dir);
    assert_eq!(s(&lab.pin("by-http", &by_http), "commit"), dev_head, "{}", lab.env.manifest());

    // The branches move on: exec runs the commits the lock names, not the branches' new heads.
    write(&work.join("cli.js"), "#!/usr/bin/env node\nconsole.log('v2')\n", true);
    let moved = commit_all(&work, "v2");
    servers::republish(&work, &bare);
    assert_eq!(git(&bare, &["rev-parse", "main"]).trim(), moved);
    let base_file = by_file.trim_end_matches("#main");
    assert_eq!(lab.exec("by-file").0, argv(&["npx", "-y", &format!("{base_file}#{main_head}")]));
    let base_http = by_http.trim_end_matches("#dev");
    assert_eq!(lab.exec("by-http").0, argv(&["npx", "-y", &format!("{base_http}#{dev_head}")]));
}

/// Month and day as atk writes a date (`Dec 7`), `hours` from now, in UTC.
fn day_in(hours: f64) -> String {
    let iso = days_ago(-hours / 24.0);
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month: usize = iso[5..7].parse().unwrap();
    let day: u32 = iso[8..10].parse().unwrap();
    format!("{} {day}", months[month - 1])
}

#[test]
fn the_cooldown_holds_back_a_release_just_younger_than_three_days_and_not_one_just_older() {
    let lab = Lab::new();
    let reg = &lab.reg;
    let hour = 1.0 / 24.0;
    reg.npm(
        "cool",
        &[
            ("1.0.0", &days_ago(10.0), true),
            ("1.1.0", &days_ago(3.0 + hour), true),
            ("1.2.0", &days_ago(3.0 - hour), true),
        ],
        None,
    );
    reg.pypi(
        "coolpy",
        &[("1.0", &days_ago(10.0), None), ("1.1", &days_ago(3.0 + hour), None), ("1.2", &days_ago(3.0 - hour), None)],
    );

    // The default cooldown (3 days): the release an hour too young is held back, the one an
    // hour old enough is chosen.
    let dir = lab.server("npm-a", "npx", &["-y", "cool"]);
    let (out, err) = lab.add(&dir);
    let said = format!("{out}{err}");
    assert_eq!(s(&lab.pin("npm-a", "cool"), "version"), "1.1.0", "{said}");
    let eligible = day_in(1.0);
    assert!(
        said.lines().any(|l| l.contains("cool 1.2.0 held back until") && l.contains(&eligible)),
        "no held-back line naming 1.2.0 and {eligible}:\n{said}"
    );
    assert!(said.contains("npm cool pinned to 1.1.0"), "{said}");
    let dir = lab.server("py-a", "uvx", &["coolpy"]);
    let (out, err) = lab.add(&dir);
    let said = format!("{out}{err}");
    assert_eq!(s(&lab.pin("py-a", "coolpy"), "version"), "1.1", "{said}");
    assert!(said.lines().any(|l| l.contains("coolpy 1.2 held back until")), "{said}");

    // --pin names the young release: chosen, and atk says the cooldown does not apply.
    let dir = lab.server("npm-b", "npx", &["-y", "cool"]);
    let (out, err) = lab.ok(&["add", dir.to_str().unwrap(), "-y", "--pin", "cool@1.2.0"]);
    let said = format!("{out}{err}");
    assert_eq!(s(&lab.pin("npm-b", "cool"), "version"), "1.2.0", "{said}");
    assert!(said.contains("cool 1.2.0") && said.contains("cooldown does not apply"), "{said}");
    assert!(!said.contains("held back"), "{said}");
    assert_eq!(s(&lab.pin("npm-a", "cool"), "version"), "1.1.0", "--pin changed another plugin's lock");
    assert_eq!(lab.exec("npm-b").0, argv(&["npx", "-y", "cool@1.2.0"]));
    assert_eq!(lab.exec("npm-a").0, argv(&["npx", "-y", "cool@1.1.0"]));

    // config.min_release_age: 0 turns the cooldown off: the newest is chosen.
    let manifest = lab.env.manifest();
    assert!(manifest.contains("config:\n"), "{manifest}");
    write(
        &lab.env.atk_home.join("manifest.yaml"),
        &manifest.replacen("config:\n", "config:\n  min_release_age: 0\n", 1),
        false,
    );
    lab.env.git(&["commit", "-qam", "no cooldown"]);
    let dir = lab.server("npm-c", "npx", &["-y", "cool"]);
    let (out, err) = lab.add(&dir);
    let said = format!("{out}{err}");
    assert_eq!(s(&lab.pin("npm-c", "cool"), "version"), "1.2.0", "{said}");
    assert!(!said.contains("held back"), "{said}");
    let dir = lab.server("py-c", "uvx", &["coolpy"]);
    lab.add(&dir);
    assert_eq!(s(&lab.pin("py-c", "coolpy"), "version"), "1.2");
}

#[test]
fn a_package_with_only_young_releases_is_not_added_and_the_hint_names_when_and_how() {
    let lab = Lab::new();
    lab.reg.npm("young", &[("1.0.0", &days_ago(1.0), true)], None);
    let before = lab.env.snapshot();
    let dir = lab.server("young", "npx", &["-y", "young"]);
    let (o, e) = lab.run(5, &["add", dir.to_str().unwrap(), "-y"]);
    let errors: Vec<&str> = lines(&e).into_iter().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "{o}{e}");
    assert!(errors[0].contains("young") && errors[0].contains("older than 3 days"), "{e}");
    // Eligible two days from now; `--pin` is offered.
    assert!(e.contains(&day_in(48.0)) && e.contains("--pin young@1.0.0"), "{e}");
    assert_eq!(lab.env.snapshot(), before, "a refused add changed the home");
    // As offered: chosen.
    lab.ok(&["add", dir.to_str().unwrap(), "-y", "--pin", "young@1.0.0"]);
    assert_eq!(lab.exec("young").0, argv(&["npx", "-y", "young@1.0.0"]));
}

#[test]
fn a_deprecated_npm_version_and_a_yanked_pypi_version_are_not_chosen() {
    let lab = Lab::new();
    let reg = &lab.reg;
    reg.npm("dep", &[("1.0.0", &days_ago(20.0), true), ("1.1.0", &days_ago(10.0), true)], None);
    reg.npm_deprecate("dep", "1.1.0", "broken build");
    reg.pypi("yk", &[("1.0", &days_ago(20.0), None), ("1.1", &days_ago(10.0), Some("bad wheel"))]);

    let dir = lab.server("npm-dep", "npx", &["-y", "dep"]);
    let (out, err) = lab.add(&dir);
    let said = format!("{out}{err}");
    assert_eq!(s(&lab.pin("npm-dep", "dep"), "version"), "1.0.0", "{said}");
    assert!(
        err.lines().any(|l| l.contains("dep 1.1.0") && l.contains("withdrawn") && l.contains("broken build")),
        "no warning naming the deprecated dep 1.1.0 on stderr:\n{said}"
    );
    let dir = lab.server("py-yank", "uvx", &["yk"]);
    let (out, err) = lab.add(&dir);
    let said = format!("{out}{err}");
    assert_eq!(s(&lab.pin("py-yank", "yk"), "version"), "1.0", "{said}");
    assert!(
        err.lines().any(|l| l.contains("yk 1.1") && l.contains("withdrawn") && l.contains("bad wheel")),
        "no warning naming the yanked yk 1.1 on stderr:\n{said}"
    );
    assert_eq!(lab.exec("npm-dep").0, argv(&["npx", "-y", "dep@1.0.0"]));
    assert_eq!(lab.exec("py-yank").0, argv(&["uvx", "yk==1.0"]));

    // Named with --pin, a withdrawn version is chosen, and atk says what it is.
    let dir = lab.server("npm-dep-named", "npx", &["-y", "dep"]);
    let (_, err) = lab.ok(&["add", dir.to_str().unwrap(), "-y", "--pin", "dep@1.1.0"]);
    assert_eq!(s(&lab.pin("npm-dep-named", "dep"), "version"), "1.1.0", "{err}");
    assert!(
        err.lines().any(|l| l.contains("dep 1.1.0") && l.contains("withdrawn") && l.contains("because you named it")),
        "{err}"
    );
}

/// The lines of `text` that are not empty.
fn lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.trim().is_empty()).collect()
}

#[test]
fn a_registry_that_never_answers_or_a_missing_package_fails_add_and_leaves_the_home_as_it_was() {
    let lab = Lab::new();
    lab.reg.npm("other", &[("1.0.0", &days_ago(20.0), true)], None);
    lab.reg.npm("slow", &[("1.0.0", &days_ago(20.0), true)], None);
    lab.reg.hang("npm", "slow");
    // A plugin already there, so that the home has something to lose.
    lab.add(&lab.server("first", "npx", &["-y", "other"]));
    let before = lab.env.snapshot();
    let before_state = state(&lab.env);

    // A registry that never answers: bounded by ATK_NET_TIMEOUT, exit 7, one line.
    let dir = lab.server("stalled", "npx", &["-y", "slow"]);
    let mut c = lab.std_cmd();
    c.args(["add", dir.to_str().unwrap(), "-y"]).env("ATK_NET_TIMEOUT", "2").stdin(Stdio::null());
    let (out, took) = run_timed(c, 60);
    let (o, e) = texts(&out);
    assert_eq!(out.status.code(), Some(7), "stdout:\n{o}\nstderr:\n{e}");
    assert!(took < Duration::from_secs(15), "a stalled registry held add for {took:?}");
    assert!(!lab.reg.requests_with("/npm/slow").is_empty(), "atk never asked: {:?}", lab.reg.requests());
    let errors: Vec<&str> = lines(&e).into_iter().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "one error line:\n{e}");
    assert!(!errors[0].contains('\n') && errors[0].contains("127.0.0.1"), "{e}");
    assert_eq!(lab.env.snapshot(), before, "a stalled registry changed the home");
    assert_eq!(state(&lab.env), before_state);

    // The same for PyPI's index and an OCI registry.
    lab.reg.pypi("slowpy", &[("1.0", &days_ago(20.0), None)]);
    lab.reg.hang("pypi", "slowpy");
    lab.reg.oci("team/slow", &[("1", "slow-1")]);
    lab.reg.hang("oci", "team/slow");
    let slow_image = format!("{}/team/slow:1", lab.reg.oci_host());
    for (name, command, args) in
        [("stalled-py", "uvx", vec!["slowpy"]), ("stalled-oci", "docker", vec!["run", "-i", &slow_image])]
    {
        let dir = lab.server(name, command, &args);
        let mut c = lab.std_cmd();
        c.args(["add", dir.to_str().unwrap(), "-y"]).env("ATK_NET_TIMEOUT", "2").stdin(Stdio::null());
        let (out, took) = run_timed(c, 60);
        let (o, e) = texts(&out);
        assert_eq!(out.status.code(), Some(7), "{name}\nstdout:\n{o}\nstderr:\n{e}");
        assert!(took < Duration::from_secs(15), "{name}: a stalled registry held add for {took:?}");
        assert_eq!(lines(&e).into_iter().filter(|l| l.starts_with("error")).count(), 1, "{e}");
        assert_eq!(lab.env.snapshot(), before, "{name}: a stalled registry changed the home");
    }
    assert!(!lab.reg.requests_with("/pypi/simple/slowpy/").is_empty(), "{:?}", lab.reg.requests());
    assert!(!lab.reg.requests_with("/v2/team/slow/manifests/1").is_empty(), "{:?}", lab.reg.requests());

    // A registry that answers 500: exit 7, the home as it was.
    lab.reg.npm("broken", &[("1.0.0", &days_ago(20.0), true)], None);
    lab.reg.fail("npm", "broken", 500);
    let dir = lab.server("broken", "npx", &["-y", "broken"]);
    let (o, e) = lab.run(7, &["add", dir.to_str().unwrap(), "-y"]);
    let errors: Vec<&str> = lines(&e).into_iter().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "one error line:\n{o}{e}");
    assert!(errors[0].contains("500") && errors[0].contains("broken"), "{e}");
    assert_eq!(lab.env.snapshot(), before, "a failing registry changed the home");

    // A package the registry does not have: exit 5, it is named.
    let dir = lab.server("missing", "npx", &["-y", "no-such-pkg"]);
    let (o, e) = lab.run(5, &["add", dir.to_str().unwrap(), "-y"]);
    let errors: Vec<&str> = lines(&e).into_iter().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "one error line:\n{o}{e}");
    assert!(errors[0].contains("no-such-pkg") && errors[0].contains("does not exist"), "{e}");
    assert_eq!(lab.env.snapshot(), before, "a missing package changed the home");

    // Ctrl-C while the registry hangs: exit 130, the home as it was.
    let dir = lab.server("interrupted", "npx", &["-y", "slow"]);
    lab.reg.clear_log();
    let mut c = lab.std_cmd();
    c.args(["add", dir.to_str().unwrap(), "-y"])
        .env("ATK_NET_TIMEOUT", "120")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = c.spawn().unwrap();
    let pid = child.id();
    let guard = Running(Some(child));
    let start = Instant::now();
    while lab.reg.requests_with("/npm/slow").is_empty() {
        assert!(start.elapsed() < Duration::from_secs(60), "add never asked the registry");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let sent = Instant::now();
    signal(pid, Signal::INT).unwrap();
    let mut guard = guard;
    let out = wait_with_timeout(guard.0.take().unwrap(), 30);
    let (o, e) = texts(&out);
    assert_eq!(out.status.code(), Some(130), "stdout:\n{o}\nstderr:\n{e}");
    assert!(sent.elapsed() < Duration::from_secs(10), "Ctrl-C took {:?}", sent.elapsed());
    assert_eq!(lab.env.snapshot(), before, "an interrupted add changed the home");
    assert_eq!(state(&lab.env), before_state);
}

#[test]
fn compose_gets_the_locked_images_through_an_override_before_the_users_own() {
    let lab = Lab::new();
    let reg = &lab.reg;
    reg.oci("team/db", &[("7", "db-7"), ("8", "db-8")]);
    let db = format!("{}/team/db:7", reg.oci_host());
    // The built service's image is not in the registry: asking for it would fail the add.
    let web = format!("{}/team/web:1", reg.oci_host());
    let compose = format!("services:\n  db:\n    image: {db}\n  web:\n    build: .\n    image: {web}\n");
    let dir = lab.env.plugin(
        "src/svc",
        &yaml("svc", "service:\n  type: docker-compose\nlifecycle:\n  start: docker compose up -d\n"),
        &[("docker-compose.yml", &compose, false), ("Dockerfile", "FROM scratch\n", false)],
    );
    let (_, err) = lab.add(&dir);
    let digest = reg.oci_digest("team/db", "7");
    let lock = lab.lock("svc");
    assert_eq!(lock.len(), 1, "only the pulled image is locked:\n{}", lab.env.manifest());
    assert_eq!(
        (s(&lock[0], "kind"), s(&lock[0], "spec"), s(&lock[0], "digest")),
        ("oci".into(), db.clone(), digest.clone())
    );
    assert!(err.contains(&format!("oci {db} pinned to {}", &digest[..19])), "{err}");
    assert!(reg.requests_with("team/web").is_empty(), "a built service's image was asked for");
    lab.take_argv();

    let home = std::fs::canonicalize(&lab.env.atk_home).unwrap();
    let plugin = home.join("plugins/svc");
    let over = home.join(".git/atk/compose/svc.yml");
    lab.ok(&["start", "svc"]);
    let ran = lab.take_argv();
    let want = format!(
        "docker\ncompose\n-f\ndocker-compose.yml\n-f\n{over}\nup\n-d\nCOMPOSE_FILE={plugin}/docker-compose.yml:{over}\n",
        over = over.display(),
        plugin = plugin.display()
    );
    assert_eq!(ran, want);
    let text = std::fs::read_to_string(&over).unwrap();
    let doc: yaml_serde::Value = yaml_serde::from_str(&text).unwrap();
    assert_eq!(doc["services"]["db"]["image"].as_str(), Some(format!("{db}@{digest}").as_str()), "{text}");
    assert!(doc["services"].get("web").is_none(), "{text}");
    // The override is this machine's: not in the committed tree.
    assert!(!lab.env.ls_files().iter().any(|f| f.contains("compose/svc.yml")));

    // The user's own override comes last, so that it wins.
    write(&plugin.join("custom/docker-compose.override.yml"), "services: {}\n", false);
    lab.ok(&["start", "svc"]);
    let ran = lab.take_argv();
    let custom = plugin.join("custom/docker-compose.override.yml");
    let want = format!(
        "docker\ncompose\n-f\ndocker-compose.yml\n-f\n{over}\n-f\ncustom/docker-compose.override.yml\nup\n-d\nCOMPOSE_FILE={plugin}/docker-compose.yml:{over}:{custom}\n",
        over = over.display(),
        plugin = plugin.display(),
        custom = custom.display()
    );
    assert_eq!(ran, want);
}

/// `text` without the `lock:` block of a plugin entry, as a hand edit (or a tool that drops
/// unknown keys) leaves it: the key and every line under it, which are indented deeper or are
/// items of its list at the key's own indentation (YAML allows that).
fn without_lock(text: &str) -> String {
    let mut out = String::new();
    let mut under: Option<usize> = None;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        if let Some(at) = under {
            if indent > at || (indent == at && line.trim_start().starts_with("- ")) {
                continue;
            }
            under = None;
        }
        if line.trim_start() == "lock:" {
            under = Some(indent);
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[test]
fn exec_of_a_plugin_without_a_lock_runs_the_word_as_written_and_warns() {
    let lab = Lab::new();
    lab.reg.npm("floaty", &[("1.0.0", &days_ago(20.0), true)], None);
    let dir = lab.server("floaty", "npx", &["-y", "floaty"]);
    lab.add(&dir);
    assert_eq!(lab.exec("floaty").0, argv(&["npx", "-y", "floaty@1.0.0"]));
    let manifest = lab.env.manifest();
    let edited = without_lock(&manifest);
    assert_ne!(edited, manifest, "no lock block in:\n{manifest}");
    assert!(!edited.contains("floaty@") && !edited.contains("integrity"), "{edited}");
    write(&lab.env.atk_home.join("manifest.yaml"), &edited, false);
    lab.env.git(&["commit", "-qam", "drop the lock by hand"]);
    assert!(lab.lock("floaty").is_empty());

    let (ran, err) = lab.exec("floaty");
    assert_eq!(ran, argv(&["npx", "-y", "floaty"]));
    let warnings: Vec<&str> = err.lines().filter(|l| l.contains("floaty") && l.contains("not locked")).collect();
    assert_eq!(warnings.len(), 1, "one warning naming floaty on stderr:\n{err}");
}

#[test]
#[ignore = "needs Node.js's npm and npx (.ci/run installs them for the agent programs)"]
fn the_real_npx_starts_the_pinned_version() {
    let npx = which("npx").expect("npx is not on PATH; install Node.js 20 or later (.ci/run does)");
    let lab = Lab::new();
    let reg = &lab.reg;
    reg.npm("@t/echo-mcp", &[("1.0.0", &days_ago(30.0), true)], None);
    let dir = lab.server("echo-mcp", "npx", &["-y", "@t/echo-mcp"]);
    // A newer version, published an hour ago: the cooldown holds it.
    reg.npm_publish("@t/echo-mcp", "1.1.0", &days_ago(1.0 / 24.0));
    let (_, err) = lab.add(&dir);
    assert!(err.contains("@t/echo-mcp 1.1.0 held back until"), "{err}");
    assert_eq!(s(&lab.pin("echo-mcp", "@t/echo-mcp"), "version"), "1.0.0");
    // Later still, another.
    reg.npm_publish("@t/echo-mcp", "1.2.0", &days_ago(10.0));

    // The real npx (its own folder first on PATH, no stubs), npm pointed at the test registry
    // with a cache of this test's own.
    let mut c = lab.env.std_cmd();
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().to_string();
        let lower = k.to_ascii_lowercase();
        if lower.starts_with("npm_config_") || lower.ends_with("_proxy") {
            c.env_remove(&k);
        }
    }
    let npm_env = reg.npm_env(&lab.env.path("npm"));
    let userconfig = npm_env.iter().find(|(k, _)| k == "npm_config_userconfig").unwrap().1.clone();
    c.envs(npm_env)
        .env("NPM_CONFIG_USERCONFIG", userconfig)
        .env("PATH", path_with(npx.parent().unwrap()))
        .env("DOCKER_CONFIG", lab.env.path("docker-config"))
        .args(["exec", "echo-mcp"])
        .stdin(Stdio::null());
    let (out, _) = run_timed(c, 120);
    let (o, e) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "stdout:\n{o}\nstderr:\n{e}");
    assert_eq!(o.lines().next(), Some("@t/echo-mcp@1.0.0"), "stdout:\n{o}\nstderr:\n{e}");
    assert!(
        !reg.requests_with("/npm/@t/echo-mcp/-/echo-mcp-1.0.0.tgz").is_empty()
            || !reg.requests_with("echo-mcp-1.0.0.tgz").is_empty(),
        "npx did not fetch 1.0.0 from the test registry: {:?}",
        reg.requests()
    );
    assert!(reg.requests_with("echo-mcp-1.2.0.tgz").is_empty(), "npx fetched the newest: {:?}", reg.requests());
}

/// The program `name` on the test's PATH.
fn which(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(name)).find(|p| p.is_file())
}

#[test]
fn other_launchers_and_options_are_locked_in_place() {
    let lab = Lab::new();
    let reg = &lab.reg;
    let old = days_ago(30.0);
    reg.npm("alpha", &[("1.0.0", &old, true), ("1.5.0", &old, true), ("2.0.0", &old, true)], Some("1.5.0"));
    reg.npm_tag("alpha", "next", "2.0.0");
    reg.pypi("Odd_Name", &[("1.0", &old, None), ("1.1", &old, None)]);
    reg.pypi("extra1", &[("0.1", &old, None)]);
    reg.oci("team/img", &[("1", "img-v1")]);
    for p in ["npm", "pnpm", "bunx", "podman"] {
        write(&lab.bin.join(p), STUB, true);
    }
    let image = format!("{}/team/img:1", reg.oci_host());
    let pinned = format!("{image}@{}", reg.oci_digest("team/img", "1"));
    let cases: Vec<(&str, &str, Vec<&str>, Vec<&str>)> = vec![
        ("npm-exec", "npm", vec!["exec", "--yes", "alpha@next"], vec!["npm", "exec", "--yes", "alpha@2.0.0"]),
        ("pnpm-dlx", "pnpm", vec!["dlx", "alpha@^1"], vec!["pnpm", "dlx", "alpha@1.5.0"]),
        ("bunx", "bunx", vec!["alpha"], vec!["bunx", "alpha@1.5.0"]),
        ("uvx-latest", "uvx", vec!["Odd_Name@latest"], vec!["uvx", "Odd_Name==1.1"]),
        (
            "uvx-with",
            "uvx",
            vec!["--with", "extra1", "odd-name"],
            vec!["uvx", "--with", "extra1==0.1", "odd-name==1.1"],
        ),
        (
            "uvtool-from",
            "uv",
            vec!["tool", "run", "--from", "odd.name>=1", "cmd"],
            vec!["uv", "tool", "run", "--from", "odd.name==1.1", "cmd"],
        ),
        (
            "pipx-spec",
            "pipx",
            vec!["run", "--spec", "Odd_Name>=1", "cmd"],
            vec!["pipx", "run", "--spec", "Odd_Name==1.1", "cmd"],
        ),
        (
            "docker-opts",
            "docker",
            vec!["run", "--rm", "-e", "K=v", "--name", "x", "-v", "/a:/b", &image, "arg"],
            vec!["docker", "run", "--rm", "-e", "K=v", "--name", "x", "-v", "/a:/b", &pinned, "arg"],
        ),
        ("podman", "podman", vec!["run", "-i", &image], vec!["podman", "run", "-i", &pinned]),
    ];
    for (name, command, args, _) in &cases {
        lab.add(&lab.server(name, command, args));
    }
    // PyPI names are one project however they are written; each spelling is its own pin.
    assert_eq!(s(&lab.pin("uvx-with", "extra1"), "version"), "0.1");
    assert_eq!(s(&lab.pin("uvx-with", "odd-name"), "version"), "1.1");
    assert_eq!(lab.lock("uvx-with").len(), 2);
    for (name, _, _, want) in &cases {
        let (ran, err) = lab.exec(name);
        assert_eq!(ran, argv(want), "atk exec {name}");
        assert!(!err.contains("not locked"), "atk exec {name}: {err}");
    }
}

#[test]
fn a_package_in_an_options_own_word_is_reported_as_not_locked() {
    let lab = Lab::new();
    lab.reg.pypi("frompy", &[("1.0", &days_ago(30.0), None)]);
    lab.reg.npm("alpha", &[("1.0.0", &days_ago(30.0), true)], None);
    for (name, command, args, word) in [
        ("from-inline", "uvx", vec!["--from=frompy", "cmd"], "--from=frompy"),
        ("package-inline", "npx", vec!["--package=alpha", "cmd"], "--package=alpha"),
    ] {
        let dir = lab.server(name, command, &args);
        let (out, err) = lab.add(&dir);
        assert!(lab.lock(name).is_empty(), "{}", lab.env.manifest());
        // It runs as written, whatever the registry serves: the user must be told, as for a
        // word built from a variable (`pkg@${V} is not locked: it is built from a variable`).
        assert!(
            err.lines().any(|l| l.starts_with("warning") && l.contains(word) && l.contains("not locked")),
            "add of {name} said nothing about {word}:\n{out}{err}"
        );
        let mut want = vec![command];
        want.extend(args.iter().copied());
        assert_eq!(lab.exec(name).0, argv(&want));
    }
}

#[test]
fn a_docker_compose_v1_lifecycle_gets_the_locked_images_through_compose_file() {
    let lab = Lab::new();
    lab.reg.oci("team/db", &[("7", "db-7")]);
    let db = format!("{}/team/db:7", lab.reg.oci_host());
    let dir = lab.env.plugin(
        "src/svc1",
        &yaml("svc1", "lifecycle:\n  start: docker-compose up -d\n"),
        &[("docker-compose.yml", &format!("services:\n  db:\n    image: {db}\n"), false)],
    );
    write(&lab.bin.join("docker-compose"), STUB, true);
    lab.add(&dir);
    assert_eq!(s(&lab.pin("svc1", &db), "digest"), lab.reg.oci_digest("team/db", "7"));
    lab.take_argv();
    lab.ok(&["start", "svc1"]);
    let home = std::fs::canonicalize(&lab.env.atk_home).unwrap();
    let over = home.join(".git/atk/compose/svc1.yml");
    assert_eq!(
        lab.take_argv(),
        format!(
            "docker-compose\nup\n-d\nCOMPOSE_FILE={}/plugins/svc1/docker-compose.yml:{}\n",
            home.display(),
            over.display()
        )
    );
    let text = std::fs::read_to_string(&over).unwrap();
    assert!(text.contains(&format!("{db}@{}", lab.reg.oci_digest("team/db", "7"))), "{text}");
}

#[test]
fn min_release_age_in_hours_and_the_json_document_of_add() {
    let lab = Lab::new();
    let reg = &lab.reg;
    let hour = 1.0 / 24.0;
    let m = lab.env.manifest();
    write(
        &lab.env.atk_home.join("manifest.yaml"),
        &m.replacen("config:\n", "config:\n  min_release_age: 2h\n", 1),
        false,
    );
    lab.env.git(&["commit", "-qam", "a cooldown of two hours"]);
    reg.npm(
        "hh",
        &[("1.0.0", &days_ago(30.0), true), ("1.1.0", &days_ago(3.0 * hour), true), ("1.2.0", &days_ago(hour), true)],
        None,
    );
    let dir = lab.server("hh", "npx", &["-y", "hh"]);
    let out = lab.cmd().args(["add", dir.to_str().unwrap(), "-y", "--json"]).output().unwrap();
    let (o, e) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "{o}{e}");
    assert_eq!(s(&lab.pin("hh", "hh"), "version"), "1.1.0", "{o}{e}");
    let doc: serde_json::Value = serde_json::from_str(&o).unwrap_or_else(|err| panic!("{err}: {o}"));
    let lock = doc["added"]["lock"].as_array().unwrap_or_else(|| panic!("no added.lock: {doc:#}"));
    assert_eq!(lock.len(), 1, "{doc:#}");
    assert_eq!(lock[0]["spec"], "hh");
    assert_eq!(lock[0]["version"], "1.1.0");
    assert_eq!(lock[0]["integrity"].as_str(), Some(reg.npm_integrity("hh", "1.1.0").as_str()), "{doc:#}");
}

#[test]
fn a_pin_that_names_no_package_of_the_plugin_is_a_usage_error() {
    let lab = Lab::new();
    lab.reg.npm("other", &[("1.0.0", &days_ago(30.0), true)], None);
    let dir = lab.server("other", "npx", &["-y", "other"]);
    // A typo (`othr`): the user believes the version is pinned.
    let out = lab.cmd().args(["add", dir.to_str().unwrap(), "-y", "--pin", "othr@1.0.0"]).output().unwrap();
    let (o, e) = texts(&out);
    // A usage error, before anything is asked for or written.
    assert_eq!(out.status.code(), Some(2), "--pin othr@1.0.0 was accepted:\n{o}{e}");
    assert!(e.lines().any(|l| l == "error: --pin othr@1.0.0: nothing here runs a package named 'othr'"), "{e}");
    assert!(lab.env.manifest().contains("plugins: []"), "{}", lab.env.manifest());
}
