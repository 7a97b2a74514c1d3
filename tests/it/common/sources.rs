//! Plugin sources built in the tests: a registry from registry-template/ and a git repository with
//! an .atk/ folder, and ways to look into atk's cache.

use std::path::{Path, PathBuf};

use crate::common::servers::*;
use crate::common::*;

/// A registry work tree (from registry-template/, plus a third plugin and a big file outside any
/// plugin), committed on `main`.
pub fn registry_work(env: &Env) -> PathBuf {
    let work = env.path("registry-work");
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("registry-template"), &work);
    write(&work.join("plugins/third/plugin.yaml"), &yaml("third", ""), false);
    write(&work.join("plugins/third/data.txt"), "third plugin data\n", false);
    let mut index = std::fs::read_to_string(work.join("index.yaml")).unwrap();
    index.push_str("- name: third\n  path: plugins/third\n  description: A third plugin\n");
    write(&work.join("index.yaml"), &index, false);
    let big: String = (0..200_000).map(|i| format!("{:x}", (i * 2_654_435_761u64) % 1_000_003)).collect();
    write(&work.join("assets/big.bin"), &big, false);
    git(env.dir.path(), &["init", "-q", "-b", "main", work.to_str().unwrap()]);
    commit_all(&work, "registry");
    work
}

/// The registry work tree, and a bare copy of it under `served/` (with or without filter support).
pub fn served_registry(env: &Env, allow_filter: bool) -> (PathBuf, PathBuf, PathBuf) {
    let work = registry_work(env);
    let root = env.path("served");
    std::fs::create_dir_all(&root).unwrap();
    let bare = publish(&work, &root, "registry.git", allow_filter);
    (work, root, bare)
}

pub fn commit_all(work: &Path, msg: &str) -> String {
    git(work, &["add", "-A"]);
    git(work, &["commit", "-qm", msg]);
    git(work, &["rev-parse", "HEAD"]).trim().to_string()
}

pub fn head(repo: &Path) -> String {
    git(repo, &["rev-parse", "HEAD"]).trim().to_string()
}

/// A repository with its plugin in `.atk/` and other files beside it.
pub fn git_source_work(env: &Env) -> PathBuf {
    let work = env.path("tool-work");
    write(&work.join("src/main.c"), "int main(void) { return 0; }\n", false);
    write(
        &work.join(".atk/plugin.yaml"),
        &yaml("Echo Tool", "lifecycle:\n  install: ./setup.sh\n  uninstall: 'true'\n"),
        false,
    );
    write(&work.join(".atk/setup.sh"), "#!/bin/sh\necho echo-tool installed\n", true);
    write(&work.join(".atk/docs/USAGE.md"), "usage\n", false);
    git(env.dir.path(), &["init", "-q", "-b", "main", work.to_str().unwrap()]);
    commit_all(&work, "tool");
    work
}

/// The cache repository atk made for a source (there is one per URL).
pub fn cache_repo(env: &Env) -> PathBuf {
    let dir = env.cache.join("git");
    let repos: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "git"))
        .collect();
    assert_eq!(repos.len(), 1, "{repos:?}");
    repos[0].clone()
}

/// Whether the repository `repo` holds the object `id`.
pub fn has_object(repo: &Path, id: &str) -> bool {
    let mut c = git_command(repo);
    c.args(["cat-file", "-e", id]);
    wait_with_timeout(c.spawn().unwrap(), RUN_TIMEOUT).status.success()
}

pub fn blob(work: &Path, path: &str) -> String {
    git(work, &["rev-parse", &format!("HEAD:{path}")]).trim().to_string()
}

pub fn files_under(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| !e.file_type().is_dir())
        .map(|e| e.path().strip_prefix(dir).unwrap().to_string_lossy().to_string())
        .collect();
    out.sort();
    out
}

/// Changes hello in the registry work tree `work` (not committed): a file added, one changed, one
/// removed, a new required variable and a changed install command.
pub fn change_hello(work: &Path) {
    let p = work.join("plugins/hello");
    write(&p.join("NEW.md"), "new in v2\n", false);
    std::fs::remove_file(p.join("README.md")).unwrap();
    let install =
        std::fs::read_to_string(p.join("install.sh")).unwrap() + "echo \"color: $HELLO_COLOR\" > runtime/color.txt\n";
    write(&p.join("install.sh"), &install, true);
    let yaml = std::fs::read_to_string(p.join("plugin.yaml"))
        .unwrap()
        .replace("  - name: HELLO_GREETING", "  - name: HELLO_COLOR\n    required: true\n  - name: HELLO_GREETING")
        .replace("install: ./install.sh", "install: ./install.sh --v2");
    write(&p.join("plugin.yaml"), &yaml, false);
}
