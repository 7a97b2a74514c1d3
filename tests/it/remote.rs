use std::path::Path;

use crate::common::servers::*;
use crate::common::sources::*;
use crate::common::*;

fn check_registry_add(env: &Env, url: &str, work: &Path) {
    let out = env.ok(&["--registry", url, "add", "-y", "hello", "--set", "HELLO_NAME=Ada"]);
    assert!(out.contains("Added 'hello'"), "{out}");
    let pinned = head(work);
    let m = env.manifest();
    assert!(
        m.contains(&format!(
            "- name: hello\n  directory: hello\n  source:\n    type: registry\n    ref: {pinned}\n    url: null\n"
        )),
        "{m}"
    );
    let dir = env.atk_home.join("plugins/hello");
    assert_eq!(std::fs::read_to_string(dir.join(".atk-ref")).unwrap(), format!("{pinned}\n"));
    let mut expected: Vec<String> = git(work, &["ls-tree", "-r", "--name-only", "HEAD", "plugins/hello/"])
        .lines()
        .map(|l| l["plugins/hello/".len()..].to_string())
        .collect();
    expected.extend([".atk-ref".to_string(), ".env".to_string(), "runtime/greeting.txt".to_string()]);
    expected.sort();
    assert_eq!(files_under(&dir), expected, "only the plugin's files are materialized");
    assert_eq!(mode(&dir.join("install.sh")), 0o755);
    assert_eq!(std::fs::read_to_string(dir.join("runtime/greeting.txt")).unwrap(), "Hello, Ada!\n");
    assert_eq!(env.log()[0], "Add plugin 'hello'");
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

#[test]
fn registry_add_from_a_path_and_file_url_reads_in_place() {
    let env = Env::new();
    let work = registry_work(&env);
    check_registry_add(&env, work.to_str().unwrap(), &work);
    let env2 = Env::new();
    check_registry_add(&env2, &format!("file://{}", work.display()), &work);
    assert!(
        !env.cache.join("git").exists() && !env2.cache.join("git").exists(),
        "local sources are not copied into the cache"
    );
}

#[test]
fn registry_add_over_git_daemon_and_smart_http() {
    let env = Env::new();
    let (work, root, _) = served_registry(&env, true);
    let daemon = GitDaemon::start(&root);
    check_registry_add(&env, &daemon.url("registry.git"), &work);

    let env2 = Env::new();
    let http = HttpServer::start(&root);
    check_registry_add(&env2, &http.url("registry.git"), &work);
}

#[test]
fn fetches_only_the_plugins_blobs_and_never_the_rest() {
    let env = Env::new();
    let (work, root, _) = served_registry(&env, true);
    let http = HttpServer::start(&root);
    let url = http.url("registry.git");
    env.ok(&["--registry", &url, "add", "-y", "hello", "--set", "HELLO_NAME=x"]);
    let cache = cache_repo(&env);
    let big = blob(&work, "assets/big.bin");
    assert!(!has_object(&cache, &big), "the big file outside the plugin was downloaded");
    assert!(!has_object(&cache, &blob(&work, "plugins/notes/mcp.sh")), "another plugin's blob was downloaded");
    assert!(has_object(&cache, &blob(&work, "plugins/hello/install.sh")));
    let cold = http.bytes_sent();
    assert!(cold < 100_000, "a cold add sent {cold} bytes; the big file alone is over 1 MB");

    // A second plugin from the same registry commit: one more fetch, of that plugin's blobs only.
    http.clear();
    env.ok(&["--registry", &url, "add", "-y", "notes"]);
    assert!(has_object(&cache, &blob(&work, "plugins/notes/mcp.sh")));
    assert!(!has_object(&cache, &blob(&work, "plugins/third/data.txt")));
    assert!(!has_object(&cache, &big));
    let posts: Vec<_> = http.requests().into_iter().filter(|r| r.method == "POST").collect();
    assert_eq!(posts.len(), 1, "the index is cached and the commit is in the cache: one fetch of blobs: {posts:?}");
    let wants = String::from_utf8_lossy(&posts[0].request).matches("want ").count();
    let notes_files = git(&work, &["ls-tree", "-r", "HEAD", "plugins/notes/"]).lines().count();
    assert_eq!(wants, notes_files, "one want per file of the plugin");
    assert!(http.bytes_sent() < 20_000);
}

/// Round trips: one handshake (`GET info/refs`) serves the HEAD lookup and both fetches of a cold
/// registry add; it used to be fetched again for each (6 requests).
#[test]
fn a_cold_registry_add_makes_at_most_4_http_requests() {
    let env = Env::new();
    let (work, root, _) = served_registry(&env, true);
    let http = HttpServer::start(&root);
    check_registry_add(&env, &http.url("registry.git"), &work);
    let requests: Vec<String> = http.requests().iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    let gets = requests.iter().filter(|r| r.starts_with("GET ")).count();
    assert!(requests.len() <= 4, "{requests:#?}");
    assert_eq!(gets, 1, "one handshake: {requests:#?}");
}

/// A step on a kept handshake that fails (the server may have dropped it) is tried once more
/// after a new handshake.
#[test]
fn a_failed_step_on_a_kept_handshake_is_retried_on_a_new_one() {
    let env = Env::new();
    let (work, root, _) = served_registry(&env, true);
    let http = HttpServer::start(&root);
    http.fail_post(2); // the fetch of the commit, the first step on the kept handshake
    check_registry_add(&env, &http.url("registry.git"), &work);
    let requests: Vec<String> = http.requests().iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    assert_eq!(requests.iter().filter(|r| r.starts_with("GET ")).count(), 2, "{requests:#?}");
    assert_eq!(requests.len(), 6, "{requests:#?}");
}

#[test]
fn servers_without_filter_get_a_depth_1_fetch_of_the_whole_tree() {
    let env = Env::new();
    let (work, root, _) = served_registry(&env, false);
    let http = HttpServer::start(&root);
    check_registry_add(&env, &http.url("registry.git"), &work);
    let cache = cache_repo(&env);
    assert!(has_object(&cache, &blob(&work, "assets/big.bin")), "without filter the whole tree comes");
    assert_eq!(git(&cache, &["rev-list", "--count", "--all"]).trim(), "1", "depth 1");
}

#[test]
fn git_sources_over_every_transport() {
    let env = Env::bare();
    let work = git_source_work(&env);
    commit_all(
        &{
            write(&work.join("later.txt"), "x", false);
            work.clone()
        },
        "second commit",
    );
    let root = env.path("served");
    std::fs::create_dir_all(&root).unwrap();
    publish(&work, &root, "tool.git", true);
    let daemon = GitDaemon::start(&root);
    let http = HttpServer::start(&root);
    let pinned = head(&work);
    for url in [
        work.to_str().unwrap().to_string(),
        format!("file://{}", work.display()),
        daemon.url("tool.git"),
        http.url("tool.git"),
    ] {
        let e = Env::new();
        let out = e.ok(&["add", "-y", &url]);
        assert!(out.contains("Added 'Echo Tool'"), "{url}: {out}");
        let m = e.manifest();
        assert!(m.contains(&format!("- name: Echo Tool\n  directory: echo-tool\n  source:\n    type: git\n    ref: {pinned}\n    url: {url}\n")), "{m}");
        let dir = e.atk_home.join("plugins/echo-tool");
        assert_eq!(files_under(&dir), [".atk-ref", "docs/USAGE.md", "plugin.yaml", "setup.sh"], "{url}");
        assert_eq!(mode(&dir.join("setup.sh")), 0o755);
        assert_eq!(std::fs::read_to_string(dir.join(".atk-ref")).unwrap(), format!("{pinned}\n"));
    }
}

#[test]
fn failures_are_clean_and_clear() {
    let env = Env::new();
    let work = registry_work(&env);
    let reg = work.to_str().unwrap();
    env.ok(&["--registry", reg, "add", "-y", "notes"]);
    let before = env.snapshot();

    let (_, err) = env.fails(5, &["--registry", reg, "add", "-y", "helo"]);
    assert!(err.contains("no plugin named 'helo'") && err.contains("did you mean 'hello'"), "{err}");
    let (_, err) = env.fails(5, &["--registry", reg, "add", "-y", "notes"]);
    assert!(err.contains("already installed") && err.contains("atk upgrade notes"), "{err}");

    // Unreachable: a refused port, over HTTP and git://.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    for url in [format!("http://127.0.0.1:{port}/registry.git"), format!("git://127.0.0.1:{port}/registry.git")] {
        let (_, err) = env.fails(7, &["--registry", &url, "add", "-y", "hello"]);
        assert!(err.contains(&url) && err.contains("hint: check the URL, your network connection"), "{err}");
        let (_, err) = env.fails(7, &["add", "-y", &url]);
        assert!(err.contains(&url), "{err}");
    }

    // A repository without .atk/plugin.yaml.
    let plain = env.path("plain");
    write(&plain.join("README.md"), "no plugin here", false);
    git(env.dir.path(), &["init", "-q", "-b", "main", plain.to_str().unwrap()]);
    commit_all(&plain, "plain");
    let (_, err) = env.fails(5, &["add", "-y", &format!("file://{}", plain.display())]);
    assert!(err.contains("has no .atk/plugin.yaml"), "{err}");

    // An invalid plugin.yaml in the fetched tree.
    write(&plain.join(".atk/plugin.yaml"), "schema_version: x\nname: Bad\ndescription: d\nports: [{port: 0}]\n", false);
    commit_all(&plain, "bad plugin");
    let (_, err) = env.fails(5, &["add", "-y", plain.to_str().unwrap()]);
    assert!(err.contains(".atk/ of") && err.contains("ports[0].port") && err.contains("schema_version"), "{err}");

    // An index entry whose folder is missing.
    let mut index = std::fs::read_to_string(work.join("index.yaml")).unwrap();
    index.push_str("- name: ghost\n  path: plugins/ghost\n  description: not there\n");
    write(&work.join("index.yaml"), &index, false);
    commit_all(&work, "ghost entry");
    let (_, err) = env.fails(7, &["--registry", reg, "add", "-y", "ghost"]);
    assert!(err.contains("inconsistent") && err.contains("plugins/ghost"), "{err}");

    // A token in the URL would be committed with the manifest.
    let (_, err) = env.fails(5, &["add", "-y", "https://me:ghp_s3cret@127.0.0.1:1/tool.git"]);
    assert!(err.contains("holds a password, token") && !err.contains("ghp_s3cret"), "{err}");

    // Names that are neither paths, URLs nor registry names.
    let (_, err) = env.fails(5, &["--registry", reg, "add", "-y", "Open Memory"]);
    assert!(err.contains("not a path, a git URL or a registry plugin name"), "{err}");
    assert_eq!(env.snapshot(), before);
}

#[test]
fn unsafe_trees_are_refused_and_submodules_skipped() {
    let env = Env::new();
    let work = git_source_work(&env);
    std::os::unix::fs::symlink("../../etc/passwd", work.join(".atk/escape")).unwrap();
    commit_all(&work, "escape");
    let before = env.snapshot();
    let (_, err) = env.fails(5, &["add", "-y", work.to_str().unwrap()]);
    assert!(err.contains(".atk/escape") && err.contains("outside the plugin folder"), "{err}");
    assert_eq!(env.snapshot(), before);

    std::fs::remove_file(work.join(".atk/escape")).unwrap();
    std::os::unix::fs::symlink("docs/USAGE.md", work.join(".atk/usage")).unwrap();
    let sub = env.path("sub");
    git(env.dir.path(), &["init", "-q", "-b", "main", sub.to_str().unwrap()]);
    write(&sub.join("f"), "x", false);
    commit_all(&sub, "sub");
    let sub_head = head(&sub);
    git(&work, &["add", "-A"]);
    git(&work, &["update-index", "--add", "--cacheinfo", &format!("160000,{sub_head},.atk/vendor")]);
    git(&work, &["commit", "-qm", "symlink and submodule"]);
    let out = env.cmd().args(["add", "-y", work.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("vendor is a git submodule"));
    let dir = env.atk_home.join("plugins/echo-tool");
    assert_eq!(std::fs::read_link(dir.join("usage")).unwrap().to_str(), Some("docs/USAGE.md"));
    assert!(!dir.join("vendor").exists());
}

#[test]
fn search_lists_marks_and_caches_the_index() {
    let env = Env::bare();
    let (work, root, bare) = served_registry(&env, true);
    let http = HttpServer::start(&root);
    let url = http.url("registry.git");

    let out = env.ok(&["--registry", &url, "search"]);
    assert!(
        out.contains("3 plugins") && out.contains("hello") && out.contains("notes") && out.contains("third"),
        "{out}"
    );
    let out = env.ok(&["--registry", &url, "search", "MCP"]);
    assert!(out.contains("1 plugin matching 'MCP'") && out.contains("notes") && !out.contains("hello"), "{out}");
    let out = env.ok(&["--registry", &url, "search", "zzz"]);
    assert!(out.contains("No plugin matches 'zzz'"), "{out}");

    env.ok(&["init"]);
    env.ok(&["--registry", &url, "add", "-y", "third"]);
    let v: serde_json::Value = serde_json::from_str(&env.ok(&["--registry", &url, "search", "--json"])).unwrap();
    let third = v["plugins"].as_array().unwrap().iter().find(|p| p["name"] == "third").unwrap().clone();
    assert_eq!(third["installed"], true);
    assert_eq!(v["ref"], head(&work));

    // Within the hour the cached index is used; a new registry commit is seen with --refresh.
    write(&work.join("plugins/fourth/plugin.yaml"), &yaml("fourth", ""), false);
    let index = std::fs::read_to_string(work.join("index.yaml")).unwrap()
        + "- name: fourth\n  path: plugins/fourth\n  description: d\n";
    write(&work.join("index.yaml"), &index, false);
    commit_all(&work, "fourth");
    republish(&work, &bare);
    http.clear();
    assert!(!env.ok(&["--registry", &url, "search"]).contains("fourth"));
    assert!(http.requests().is_empty(), "a fresh cached index needs no network");
    assert!(env.ok(&["--registry", &url, "search", "--refresh"]).contains("fourth"));

    // Unreachable with a cached index: the cache, with a warning.
    drop(http);
    let out = env.cmd().args(["--registry", &url, "search", "--refresh"]).output().unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("using the index cached"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("fourth"));
}

#[test]
fn registry_url_comes_from_the_environment_or_the_manifest() {
    let env = Env::new();
    let work = registry_work(&env);
    env.cmd().args(["add", "-y", "third"]).env("ATK_REGISTRY", &work).assert().success();
    let m = env
        .manifest()
        .replace("  auto_push: false\n", &format!("  auto_push: false\n  registry: {}\n", work.display()));
    write(&env.atk_home.join("manifest.yaml"), &m, false);
    env.ok(&["add", "-y", "notes"]);
    assert!(env.manifest().contains(&format!("registry: {}", work.display())), "config.registry survives");
}

#[test]
fn ctrl_c_during_a_fetch_exits_130_and_leaves_home_and_cache_usable() {
    use std::os::unix::process::CommandExt;
    let env = Env::new();
    let (_, root, _) = served_registry(&env, true);
    let http = HttpServer::start(&root);
    let url = http.url("registry.git");
    let before = env.snapshot();
    // The server holds the fetch until the interrupt has been handled: no race against a timer.
    http.hold();
    let mut cmd = env.std_cmd();
    cmd.args(["--registry", &url, "add", "-y", "hello", "--set", "HELLO_NAME=x"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .process_group(0);
    let child = cmd.spawn().unwrap();
    let start = std::time::Instant::now();
    while http.posts_received() == 0 {
        assert!(start.elapsed() < std::time::Duration::from_secs(20), "no fetch started");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    signal_group(child.id(), Signal::INT).unwrap();
    let out = wait_with_timeout(child, 60);
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    http.release();
    assert_eq!(env.snapshot(), before);
    let staging = env.atk_home.join(".git/atk/staging");
    assert!(!staging.exists() || std::fs::read_dir(&staging).unwrap().next().is_none(), "staging removed");
    env.ok(&["--registry", &url, "add", "-y", "hello", "--set", "HELLO_NAME=x"]);
}

#[test]
fn the_quickstart_demo_runs_end_to_end() {
    let env = Env::bare();
    let out = std::process::Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/demo.sh"))
        .env("ATK_BIN", bin())
        .env("TMPDIR", env.dir.path())
        .env("HOME", &env.home)
        .env_remove("ATK_HOME")
        .env_remove("ATK_REGISTRY")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_with_timeout(out, RUN_TIMEOUT);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for needle in [
        "2 plugins",
        "Added 'hello'",
        "Added 'Notes'",
        "Added 'Word Count'",
        "Add plugin 'Word Count'",
        "type: git",
        "Restored 'Notes'",
        "buy milk",
    ] {
        assert!(stdout.contains(needle), "{needle} missing:\n{stdout}");
    }
}

#[test]
fn ssh_urls_in_both_forms() {
    let env = Env::new();
    let (_, _, bare) = served_registry(&env, true);
    // A stand-in for ssh that runs the remote command here (gix runs `ssh`, never a network here).
    let bin = env.path("fake-ssh");
    let log = env.path("ssh.log");
    write(
        &bin.join("ssh"),
        &format!(
            "#!/bin/sh\necho \"$@\" >> {}\nfor a in \"$@\"; do [ \"$a\" = -G ] && exit 0; done\n\
             while [ $# -gt 1 ]; do case \"$1\" in -o|-p|-l|-i) shift 2;; -*) shift;; *) shift; break;; esac; done\nexec sh -c \"$*\"\n",
            log.display()
        ),
        true,
    );
    let path = path_with(&bin);
    for (url, plugin) in [
        (format!("ssh://git@localhost{}", bare.display()), "hello"),
        (format!("git@localhost:{}", bare.display()), "notes"),
    ] {
        let out = env
            .cmd()
            .args(["--registry", &url, "add", "-y", plugin, "--set", "HELLO_NAME=x"])
            .env("PATH", &path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{url}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let calls = std::fs::read_to_string(&log).unwrap();
    assert!(calls.contains(&format!("git@localhost git-upload-pack '{}'", bare.display())), "{calls}");
    assert!(env.manifest().contains("directory: notes"));
}

#[test]
fn trees_with_dot_git_or_dot_dot_entries_are_refused() {
    let env = Env::new();
    let before = env.snapshot();
    for bad in [".git", ".."] {
        let repo = env.path(&format!("crafted-{}", bad.len()));
        git(env.dir.path(), &["init", "-q", "-b", "main", repo.to_str().unwrap()]);
        let hash = |content: &str| -> String {
            let path = repo.join("blob.tmp");
            std::fs::write(&path, content).unwrap();
            let id = git(&repo, &["hash-object", "-w", "blob.tmp"]).trim().to_string();
            std::fs::remove_file(path).unwrap();
            id
        };
        let (yaml_blob, other) = (hash(&yaml("Crafted", "")), hash("x"));
        let mktree = |entries: &str| git_input(&repo, &["mktree"], entries.as_bytes());
        let atk = mktree(&format!("100644 blob {yaml_blob}\tplugin.yaml\n100644 blob {other}\t{bad}\n"));
        let root = mktree(&format!("040000 tree {atk}\t.atk\n"));
        let commit = git(&repo, &["commit-tree", &root, "-m", "crafted"]).trim().to_string();
        git(&repo, &["update-ref", "refs/heads/main", &commit]);
        let (_, err) = env.fails(5, &["add", "-y", &format!("file://{}", repo.display())]);
        assert!(err.contains(&format!(".atk/{bad}")) && err.contains(" has "), "{bad}: {err}");
    }
    assert_eq!(env.snapshot(), before);
}
