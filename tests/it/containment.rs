//! Containment (issue 8): sources, cloned homes and journals built the way an attacker would build
//! them. Crafted trees are written as raw bytes (`git hash-object -t tree --literally`), so their
//! entry names can hold `/`, be absolute or walk up, and a name can appear twice. Every test puts
//! sentinel files around the home and checks that nothing outside the home and the cache changed,
//! the exit code, that the home is as it was, and that the next command works.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common::sources::*;
use crate::common::*;

// ---------------------------------------------------------------------------------------------
// Helpers: raw git objects, crafted commits, the state of everything around the home.

/// Writes a blob; its id.
fn write_blob(repo: &Path, content: &str) -> String {
    git_input(repo, &["hash-object", "-w", "--stdin"], content.as_bytes())
}

/// One entry of a tree: mode (`100644`, `100755`, `120000`, `40000`), name, object id.
type TreeEntry = (String, String, String);

fn entry(mode: &str, name: &str, id: &str) -> TreeEntry {
    (mode.to_string(), name.to_string(), id.to_string())
}

/// Writes a tree object exactly as given (`<mode> <name>\0<20-byte id>` per entry, in this order),
/// without any of git's checks; its id.
fn raw_tree(repo: &Path, entries: &[TreeEntry]) -> String {
    let mut bytes = Vec::new();
    for (mode, name, id) in entries {
        bytes.extend_from_slice(format!("{mode} {name}\0").as_bytes());
        bytes.extend((0..id.len()).step_by(2).map(|i| u8::from_str_radix(&id[i..i + 2], 16).unwrap()));
    }
    git_input(repo, &["hash-object", "-t", "tree", "--literally", "-w", "--stdin"], &bytes)
}

/// The entries of `treeish` (`<commit>:<path>`, `<commit>^{tree}`).
fn ls_tree(repo: &Path, treeish: &str) -> Vec<TreeEntry> {
    git(repo, &["ls-tree", "-z", treeish])
        .split('\0')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (meta, name) = l.split_once('\t').unwrap();
            let mut m = meta.split(' ');
            let mode = m.next().unwrap().trim_start_matches('0');
            entry(mode, name, m.nth(1).unwrap())
        })
        .collect()
}

/// `tree` with the subtree at `path` replaced by `new`, each level rewritten raw.
fn replace_subtree(repo: &Path, tree: &str, path: &[&str], new: &str) -> String {
    let Some((first, rest)) = path.split_first() else { return new.to_string() };
    let entries: Vec<TreeEntry> = ls_tree(repo, tree)
        .into_iter()
        .map(|(mode, name, id)| {
            let id = if name == *first { replace_subtree(repo, &id, rest, new) } else { id };
            (mode, name, id)
        })
        .collect();
    raw_tree(repo, &entries)
}

/// A commit on top of `main` whose folder `path` is `make(its current entries)`; `main` moves to
/// it. Its id.
fn craft(repo: &Path, path: &str, make: impl FnOnce(Vec<TreeEntry>) -> Vec<TreeEntry>) -> String {
    let parent = head(repo);
    let folder = raw_tree(repo, &make(ls_tree(repo, &format!("{parent}:{path}"))));
    let parts: Vec<&str> = path.split('/').collect();
    let root = replace_subtree(repo, &format!("{parent}^{{tree}}"), &parts, &folder);
    let commit = git(repo, &["commit-tree", &root, "-p", &parent, "-m", "crafted"]).trim().to_string();
    git(repo, &["update-ref", "refs/heads/main", &commit]);
    commit
}

/// A commit of `path` with `extra` appended after its own entries.
fn craft_with(repo: &Path, path: &str, extra: Vec<TreeEntry>) -> String {
    craft(repo, path, |mut entries| {
        entries.extend(extra);
        entries
    })
}

/// The test folder's `outside/` (created, with a sentinel), next to the user's home folder.
fn outside_dir(env: &Env) -> PathBuf {
    let dir = env.path("outside");
    write(&dir.join("keep.txt"), "sentinel outside the home\n", false);
    dir
}

/// Sentinel files around the home: beside it, above it, in `outside/`.
fn sentinels(env: &Env) -> PathBuf {
    write(&env.home.join("victim.txt"), "beside the home\n", false);
    write(&env.path("victim.txt"), "above the home\n", false);
    outside_dir(env)
}

type State = BTreeMap<String, (u32, Vec<u8>)>;

/// Every file, folder and link below `root` (links not followed), leaving out the folders `skip`:
/// its mode and content (a link's target).
fn state(root: &Path, skip: &[&Path]) -> State {
    fn walk(root: &Path, dir: &Path, skip: &[&Path], out: &mut State) {
        use std::os::unix::fs::PermissionsExt;
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if skip.contains(&p.as_path()) {
                continue;
            }
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().to_string();
            let md = std::fs::symlink_metadata(&p).unwrap();
            if md.is_symlink() {
                out.insert(rel, (0o120000, std::fs::read_link(&p).unwrap().to_string_lossy().as_bytes().to_vec()));
            } else if md.is_dir() {
                out.insert(format!("{rel}/"), (md.permissions().mode(), vec![]));
                walk(root, &p, skip, out);
            } else {
                out.insert(rel, (md.permissions().mode(), std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = State::new();
    walk(root, root, skip, &mut out);
    out
}

/// Everything in the test folder except the home and the cache.
fn around(env: &Env) -> State {
    state(env.dir.path(), &[&env.atk_home, &env.cache])
}

/// Asserts that `before` (from [`around`]) still holds, naming what changed.
fn assert_around_unchanged(env: &Env, before: &State, what: &str) {
    let now = around(env);
    let changed: std::collections::BTreeSet<&String> =
        before.keys().chain(now.keys()).filter(|k| before.get(*k) != now.get(*k)).collect();
    assert!(changed.is_empty(), "{what}: changed outside the home: {changed:?}");
}

/// No staging folder is left in the home.
fn assert_no_staging(env: &Env, what: &str) {
    let staging = env.atk_home.join(".git/atk/staging");
    let left: Vec<_> = std::fs::read_dir(&staging).map(|d| d.map(|e| e.unwrap().path()).collect()).unwrap_or_default();
    assert!(left.is_empty(), "{what}: staging left behind: {left:?}");
}

/// Entries naming places outside the plugin folder, each with what it is: a blob named with
/// `../`s and the absolute path of `outside/`, one named with that absolute path, one with a `/`
/// inside, and `..` trees deep enough to reach the test folder from a staging folder.
fn hostile_entries(env: &Env, repo: &Path) -> Vec<(&'static str, TreeEntry)> {
    let outside = env.path("outside");
    let abs = outside.to_str().unwrap();
    let pwned = write_blob(repo, "written by a crafted tree\n");
    let mut nested = raw_tree(repo, &[entry("100644", "nested-pwned", &pwned)]);
    nested = raw_tree(repo, &[entry("40000", "outside", &nested)]);
    // plugin/ -> stage-*/ -> staging/ -> atk/ -> .git/ -> .atk/ -> user/ -> the test folder.
    for _ in 0..6 {
        nested = raw_tree(repo, &[entry("40000", "..", &nested)]);
    }
    vec![
        ("walks up", entry("100644", &format!("{}{}/dotdot-pwned", "../".repeat(24), &abs[1..]), &pwned)),
        ("absolute", entry("100644", &format!("{abs}/abs-pwned"), &pwned)),
        ("has a slash", entry("100644", "sub/slash-pwned", &pwned)),
        ("is .. trees", entry("40000", "..", &nested)),
    ]
}

/// The error of a refused tree entry names it and says why.
fn assert_entry_refused(err: &str, what: &str) {
    assert!(
        err.contains(" has ") && err.contains("cannot be installed safely"),
        "{what}: not refused as a bad entry:\n{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Class 1: tree entry names are never trusted.

#[test]
fn hostile_entry_names_from_a_registry_are_refused_by_path_and_file_url() {
    let env = Env::new();
    let work = registry_work(&env);
    sentinels(&env);
    let home_before = env.snapshot();
    for (what, bad) in hostile_entries(&env, &work) {
        craft_with(&work, "plugins/third", vec![bad]);
        for reg in [work.to_str().unwrap().to_string(), format!("file://{}", work.display())] {
            let before = around(&env);
            let (_, err) = env.fails(5, &["--registry", &reg, "add", "-y", "third", "--refresh"]);
            let what = format!("{what} via {reg}");
            assert_entry_refused(&err, &what);
            assert_around_unchanged(&env, &before, &what);
            assert_no_staging(&env, &what);
            assert_eq!(env.snapshot(), home_before, "{what}");
        }
    }
    env.ok(&["list"]);
    env.ok(&["--registry", work.to_str().unwrap(), "add", "-y", "notes", "--refresh"]);
    assert!(env.manifest().contains("directory: notes"));
}

#[test]
fn hostile_entry_names_from_a_git_url_are_refused() {
    let env = Env::new();
    let tool = git_source_work(&env);
    let clean = head(&tool);
    sentinels(&env);
    let home_before = env.snapshot();
    for (what, bad) in hostile_entries(&env, &tool) {
        git(&tool, &["update-ref", "refs/heads/main", &clean]);
        craft_with(&tool, ".atk", vec![bad]);
        for url in [format!("file://{}", tool.display()), tool.to_str().unwrap().to_string()] {
            let before = around(&env);
            let (_, err) = env.fails(5, &["add", "-y", &url]);
            let what = format!("{what} via {url}");
            assert_entry_refused(&err, &what);
            assert_around_unchanged(&env, &before, &what);
            assert_no_staging(&env, &what);
            assert_eq!(env.snapshot(), home_before, "{what}");
        }
    }
    git(&tool, &["update-ref", "refs/heads/main", &clean]);
    env.ok(&["list"]);
    env.ok(&["add", "-y", &format!("file://{}", tool.display())]);
    assert!(env.atk_home.join("plugins/echo-tool/setup.sh").is_file());
}

#[test]
fn install_all_on_a_fresh_clone_pinned_to_a_crafted_commit_reports_the_failure() {
    let a = Env::new();
    let work = registry_work(&a);
    let reg = work.to_str().unwrap().to_string();
    a.ok(&["--registry", &reg, "add", "-y", "third"]);
    a.ok(&["add", "-y", a.fixture("minimal").to_str().unwrap()]);
    let clean = head(&work);
    let hostile = hostile_entries(&a, &work);
    for (what, bad) in hostile {
        git(&work, &["update-ref", "refs/heads/main", &clean]);
        let crafted = craft_with(&work, "plugins/third", vec![bad]);
        // The home pushed with third pinned to the crafted commit.
        let home = a.path(&format!("pinned-{}", crafted));
        git(a.dir.path(), &["clone", "-q", a.atk_home.to_str().unwrap(), home.to_str().unwrap()]);
        let m = std::fs::read_to_string(home.join("manifest.yaml")).unwrap();
        write(&home.join("manifest.yaml"), &m.replacen(&format!("ref: {clean}"), &format!("ref: {crafted}"), 1), false);
        git(&home, &["commit", "-qam", "pin third to the crafted commit"]);
        let remote = a.path(&format!("home-{crafted}.git"));
        git(a.dir.path(), &["clone", "-q", "--bare", home.to_str().unwrap(), remote.to_str().unwrap()]);

        let b = Env::bare();
        git(b.dir.path(), &["clone", "-q", remote.to_str().unwrap(), b.atk_home.to_str().unwrap()]);
        sentinels(&b);
        let (before, home_before, source_before) = (around(&b), b.snapshot(), state(a.dir.path(), &[]));
        let (_, err) = b.fails(1, &["--registry", &reg, "setup", "--all"]);
        assert!(err.contains("third: plugins/third/") && err.contains(" has "), "{what}:\n{err}");
        let (out, err) = b.fails(1, &["--registry", &reg, "install", "--all"]);
        assert!(err.contains("✗ third") && err.contains("cannot be installed safely"), "{what}:\n{err}");
        assert_around_unchanged(&b, &before, what);
        assert_eq!(state(a.dir.path(), &[]), source_before, "{what}: the registry's folder changed");
        assert_no_staging(&b, what);
        assert_eq!(b.snapshot(), home_before, "{what}");
        assert!(out.contains("✓ Minimal") && out.contains("1 failed"), "{what}: the others go on:\n{out}");
        b.ok(&["list"]);
        b.ok(&["--registry", &reg, "add", "-y", "notes"]);
        assert!(b.atk_home.join("plugins/notes/plugin.yaml").is_file(), "{what}");
        assert_around_unchanged(&b, &before, what);
    }
}

#[test]
fn upgrade_to_a_crafted_commit_is_refused() {
    let env = Env::new();
    let work = registry_work(&env);
    let reg = work.to_str().unwrap().to_string();
    env.ok(&["--registry", &reg, "add", "-y", "third"]);
    env.ok(&["--registry", &reg, "add", "-y", "notes"]);
    let clean = head(&work);
    sentinels(&env);
    let home_before = env.snapshot();
    for (what, bad) in hostile_entries(&env, &work) {
        git(&work, &["update-ref", "refs/heads/main", &clean]);
        craft_with(&work, "plugins/third", vec![bad]);
        let before = around(&env);
        let (_, err) = env.fails(5, &["--registry", &reg, "upgrade", "third", "--yes"]);
        assert_entry_refused(&err, what);
        let (out, err) = env.fails(1, &["--registry", &reg, "upgrade", "--all", "--yes"]);
        assert!(err.contains("✗ third") && out.contains("1 failed"), "{what}:\n{out}\n{err}");
        assert_around_unchanged(&env, &before, what);
        assert_no_staging(&env, what);
        assert_eq!(env.snapshot(), home_before, "{what}");
    }
    // A new version with a chain of links that leads out.
    git(&work, &["update-ref", "refs/heads/main", &clean]);
    let (dot, chain) = (write_blob(&work, "."), write_blob(&work, "b/b/b/b/../../../.."));
    craft_with(&work, "plugins/third", vec![entry("120000", "b", &dot), entry("120000", "d", &chain)]);
    let before = around(&env);
    let (_, err) = env.fails(5, &["--registry", &reg, "upgrade", "third", "--yes"]);
    assert!(err.contains("outside the plugin folder"), "{err}");
    assert_around_unchanged(&env, &before, "link chain");
    assert_eq!(env.snapshot(), home_before, "link chain");
    env.ok(&["list"]);
    git(&work, &["update-ref", "refs/heads/main", &clean]);
    write(&work.join("plugins/third/more.txt"), "v2\n", false);
    commit_all(&work, "third v2");
    env.ok(&["--registry", &reg, "upgrade", "third", "--yes"]);
    assert!(env.atk_home.join("plugins/third/more.txt").is_file());
}

#[test]
fn declining_leaves_no_file_anywhere() {
    let env = Env::new();
    let tool = git_source_work(&env);
    let clean = head(&tool);
    let minimal = env.fixture("minimal");
    sentinels(&env);
    let home_before = env.snapshot();
    // No --yes and no terminal: a plugin that is not from a registry needs a confirmation, which
    // is asked once its files are staged and checked.
    for source in [format!("file://{}", tool.display()), minimal.to_str().unwrap().to_string()] {
        let before = around(&env);
        let (_, err) = env.fails(2, &["add", &source]);
        assert!(err.contains("--yes"), "{source}: {err}");
        assert_around_unchanged(&env, &before, &source);
        assert_no_staging(&env, &source);
        assert_eq!(env.snapshot(), home_before, "{source}");
    }
    // A crafted source is refused while staging, before the question.
    let (what, bad) = hostile_entries(&env, &tool).remove(0);
    craft_with(&tool, ".atk", vec![bad]);
    let before = around(&env);
    let (_, err) = env.fails(5, &["add", &format!("file://{}", tool.display())]);
    assert_entry_refused(&err, what);
    assert_around_unchanged(&env, &before, "crafted, not confirmed");
    assert_no_staging(&env, "crafted, not confirmed");
    assert_eq!(env.snapshot(), home_before);
    assert!(std::fs::read_dir(env.atk_home.join("plugins")).unwrap().next().is_none(), "nothing in plugins/");
    git(&tool, &["update-ref", "refs/heads/main", &clean]);
    env.ok(&["add", "-y", &format!("file://{}", tool.display())]);
}

// ---------------------------------------------------------------------------------------------
// Class 2: upgrade never deletes what an old tree lists outside the plugin folder.

#[test]
fn upgrade_never_moves_aside_what_the_old_tree_names_outside_the_plugin() {
    let env = Env::new();
    let work = registry_work(&env);
    let reg = work.to_str().unwrap().to_string();
    env.ok(&["--registry", &reg, "add", "-y", "third"]);
    let clean = head(&work);
    sentinels(&env);
    let (above, beside) = (env.path("victim.txt"), env.home.join("victim.txt"));
    // Old versions listing a file outside: by `../`s, by an absolute name, by `..` trees.
    let blob = write_blob(&work, "above the home\n");
    let mut up = raw_tree(&work, &[entry("100644", "victim.txt", &blob)]);
    // plugins/third/.. -> plugins/ -> .atk/ -> user/ -> the test folder.
    for _ in 0..3 {
        up = raw_tree(&work, &[entry("40000", "..", &up)]);
    }
    let olds = [
        entry("100644", &format!("{}{}", "../".repeat(24), &above.to_str().unwrap()[1..]), &blob),
        entry("100644", above.to_str().unwrap(), &blob),
        entry("100644", "../../../victim.txt", &blob),
        entry("40000", "..", &up),
    ];
    for (i, bad) in olds.into_iter().enumerate() {
        let what = format!("old tree entry {}", bad.1);
        git(&work, &["update-ref", "refs/heads/main", &clean]);
        let old = craft_with(&work, "plugins/third", vec![bad]);
        // The home says it has that old version installed (a tampered .atk-ref).
        write(&env.atk_home.join("plugins/third/.atk-ref"), &format!("{old}\n"), false);
        git(&work, &["update-ref", "refs/heads/main", &clean]);
        let new = craft_with(&work, "plugins/third", vec![entry("100644", &format!("v{i}.txt"), &blob)]);
        let before = around(&env);
        env.ok(&["--registry", &reg, "upgrade", "third", "--yes"]);
        assert_around_unchanged(&env, &before, &what);
        assert_eq!(std::fs::read_to_string(&above).unwrap(), "above the home\n", "{what}");
        assert_eq!(std::fs::read_to_string(&beside).unwrap(), "beside the home\n", "{what}");
        let atk_ref = std::fs::read_to_string(env.atk_home.join("plugins/third/.atk-ref")).unwrap();
        assert_eq!(atk_ref, format!("{new}\n"), "{what}");
        assert_no_staging(&env, &what);
    }
    env.ok(&["list"]);
}

// ---------------------------------------------------------------------------------------------
// Class 3: links are resolved against what is on disk, and a name is never written twice.

#[test]
fn link_chains_and_duplicate_entries_from_a_git_source_are_refused() {
    let env = Env::new();
    let tool = git_source_work(&env);
    let clean = head(&tool);
    let outside = sentinels(&env);
    let abs = outside.to_str().unwrap();
    let blob = |s: &str| write_blob(&tool, s);
    let pwned = blob("written through a link\n");
    let inner = raw_tree(&tool, &[entry("100644", "dup-pwned", &pwned)]);
    let cases: Vec<(&str, Vec<TreeEntry>, &str)> = vec![
        (
            "b -> ., d -> b/b/b/b/../../../..",
            vec![entry("120000", "b", &blob(".")), entry("120000", "d", &blob("b/b/b/b/../../../.."))],
            "outside the plugin folder",
        ),
        (
            "a -> c/.. made before c -> .",
            vec![entry("120000", "a", &blob("c/..")), entry("120000", "c", &blob("."))],
            "outside the plugin folder",
        ),
        ("an absolute link", vec![entry("120000", "e", &blob(abs))], "outside the plugin folder"),
        (
            "a link d, then a folder d",
            vec![entry("120000", "d", &blob(".")), entry("40000", "d", &inner)],
            "appears twice",
        ),
        (
            "a folder d, then a link d",
            vec![entry("40000", "d", &inner), entry("120000", "d", &blob("."))],
            "appears twice",
        ),
        (
            "a chained link d out, then a folder d",
            vec![
                entry("120000", "b", &blob(".")),
                entry("120000", "d", &blob(&format!("b/b/b/b/b/b/b/b/b/b/{}", "../".repeat(10) + &abs[1..]))),
                entry("40000", "d", &inner),
            ],
            "outside the plugin folder",
        ),
        (
            "a link d out, then a folder d",
            vec![entry("120000", "d", &blob(abs)), entry("40000", "d", &inner)],
            "outside the plugin folder",
        ),
    ];
    let home_before = env.snapshot();
    for (what, extra, why) in cases {
        git(&tool, &["update-ref", "refs/heads/main", &clean]);
        craft_with(&tool, ".atk", extra);
        let before = around(&env);
        let (_, err) = env.fails(5, &["add", "-y", &format!("file://{}", tool.display())]);
        assert!(err.contains(why) && err.contains(".atk/"), "{what}:\n{err}");
        assert_around_unchanged(&env, &before, what);
        assert_no_staging(&env, what);
        assert_eq!(env.snapshot(), home_before, "{what}");
    }
    git(&tool, &["update-ref", "refs/heads/main", &clean]);
    env.ok(&["list"]);
    env.ok(&["add", "-y", &format!("file://{}", tool.display())]);
}

#[test]
fn link_chains_in_a_local_plugin_are_refused() {
    use std::os::unix::fs::symlink;
    let env = Env::new();
    let outside = sentinels(&env);
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("b -> ., d -> b/b/b/b/../../../..", vec![("b", ".".into()), ("d", "b/b/b/b/../../../..".into())]),
        ("a -> c/.. with c -> .", vec![("a", "c/..".into()), ("c", ".".into())]),
        ("a folder linked out", vec![("data", outside.to_str().unwrap().into())]),
        ("a folder linked out by a relative path", vec![("docs", "../../outside".into())]),
    ];
    let home_before = env.snapshot();
    for (i, (what, links)) in cases.into_iter().enumerate() {
        let dir = env.plugin(&format!("src/local-{i}"), &yaml(&format!("local-{i}"), ""), &[("run.sh", "x", true)]);
        for (name, target) in links {
            symlink(target, dir.join(name)).unwrap();
        }
        let before = around(&env);
        let (_, err) = env.fails(5, &["add", "-y", dir.to_str().unwrap()]);
        assert!(err.contains("leads out of the plugin folder"), "{what}:\n{err}");
        assert_around_unchanged(&env, &before, what);
        assert_no_staging(&env, what);
        assert_eq!(env.snapshot(), home_before, "{what}");
    }
    env.ok(&["list"]);
    env.ok(&["add", "-y", env.fixture("minimal").to_str().unwrap()]);
}

// ---------------------------------------------------------------------------------------------
// Class 4: a cloned home cannot point outside itself.

/// A home with `third` from the registry `reg`, in which `prepare` commits something hostile,
/// cloned on a "new laptop" with sentinels around it.
fn cloned_home(a: &Env, reg: &str, prepare: impl FnOnce(&Path)) -> Env {
    a.ok(&["--registry", reg, "add", "-y", "third"]);
    prepare(&a.atk_home);
    let remote = a.path("home.git");
    git(a.dir.path(), &["clone", "-q", "--bare", a.atk_home.to_str().unwrap(), remote.to_str().unwrap()]);
    let b = Env::bare();
    git(b.dir.path(), &["clone", "-q", remote.to_str().unwrap(), b.atk_home.to_str().unwrap()]);
    sentinels(&b);
    b
}

/// Every command that writes plugin files fails with exit 1 naming `path`, and changes nothing.
fn assert_refused_everywhere(b: &Env, reg: &str, path: &Path, what: &str) {
    let clean = b.plugin("src/clean", &yaml("clean", ""), &[]);
    let before = around(b);
    let home_before = b.snapshot();
    for args in [
        vec!["--registry", reg, "install", "--all"],
        vec!["--registry", reg, "setup", "--all"],
        vec!["--registry", reg, "add", "-y", "notes"],
        vec!["add", "-y", clean.to_str().unwrap()],
        vec!["--registry", reg, "upgrade", "--all", "--yes"],
        vec!["uninstall", "third", "--force"],
        vec!["remove", "third", "--force"],
    ] {
        let out = b.cmd().args(&args).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {args:?}\n{text}");
        assert!(
            text.contains(&path.display().to_string()) && text.contains("symbolic link"),
            "{what}: {args:?} does not name {}:\n{text}",
            path.display()
        );
        assert_around_unchanged(b, &before, &format!("{what}: {args:?}"));
    }
    assert_eq!(b.snapshot(), home_before, "{what}");
}

#[test]
fn a_cloned_home_with_a_plugin_folder_committed_as_a_link_is_refused() {
    let a = Env::new();
    let work = registry_work(&a);
    let reg = work.to_str().unwrap().to_string();
    let b = cloned_home(&a, &reg, |home| {
        std::fs::remove_dir_all(home.join("plugins/third")).unwrap();
        // From plugins/ of the clone: .atk/ -> user/ -> the clone's test folder.
        std::os::unix::fs::symlink("../../../outside", home.join("plugins/third")).unwrap();
        git(home, &["add", "-f", "plugins/third"]);
        git(home, &["commit", "-qm", "third is a link"]);
    });
    let link = b.atk_home.join("plugins/third");
    assert!(link.is_symlink() && link.is_dir(), "the clone has the link, to its outside/");
    assert_refused_everywhere(&b, &reg, &link, "plugins/third a link");
    // The hint's way out works.
    std::fs::remove_file(&link).unwrap();
    std::fs::create_dir(&link).unwrap();
    b.ok(&["--registry", &reg, "install", "--all"]);
    assert!(link.join("plugin.yaml").is_file());
    b.ok(&["list"]);
}

#[test]
fn a_cloned_home_whose_plugins_folder_is_a_link_is_refused() {
    let a = Env::new();
    let work = registry_work(&a);
    let reg = work.to_str().unwrap().to_string();
    let b = cloned_home(&a, &reg, |home| {
        std::fs::remove_dir_all(home.join("plugins")).unwrap();
        // From the clone's home: user/ -> the clone's test folder.
        std::os::unix::fs::symlink("../../outside", home.join("plugins")).unwrap();
        git(home, &["add", "-f", "plugins"]);
        git(home, &["commit", "-qm", "plugins is a link"]);
    });
    let link = b.atk_home.join("plugins");
    assert!(link.is_symlink() && link.is_dir(), "the clone has the link, to its outside/");
    assert_refused_everywhere(&b, &reg, &link, "plugins/ a link");
    let (_, err) = b.fails(1, &["list"]);
    assert!(err.contains(&link.display().to_string()), "{err}");
    std::fs::remove_file(&link).unwrap();
    std::fs::create_dir(&link).unwrap();
    b.ok(&["--registry", &reg, "install", "--all"]);
    b.ok(&["list"]);
}

#[test]
fn a_manifest_directory_that_leaves_the_home_is_refused() {
    let env = Env::new();
    let work = registry_work(&env);
    let reg = work.to_str().unwrap().to_string();
    env.ok(&["--registry", &reg, "add", "-y", "third"]);
    sentinels(&env);
    for evil in ["../../outside", "..", "a/b", "/tmp"] {
        let m = env.manifest();
        let text = m.replace("directory: third", &format!("directory: '{evil}'"));
        write(&env.atk_home.join("manifest.yaml"), &text, false);
        let (before, home_before) = (around(&env), env.snapshot());
        for args in
            [vec!["--registry", &reg, "install", "--all"], vec!["--registry", &reg, "upgrade", "--all", "--yes"]]
        {
            let (_, err) = env.fails(1, &args);
            assert!(err.contains("manifest.yaml"), "{evil}: {args:?}\n{err}");
        }
        assert_around_unchanged(&env, &before, evil);
        assert_eq!(env.snapshot(), home_before, "{evil}");
        write(&env.atk_home.join("manifest.yaml"), &m, false);
    }
    env.ok(&["list"]);
    env.ok(&["--registry", &reg, "add", "-y", "notes"]);
}

// ---------------------------------------------------------------------------------------------
// Class 5: a journal is data; a step outside the home is skipped with a warning.

/// Undo records that would each reach outside the home (or remove the home itself, its
/// `.git/config`, its branch), and the files a careless replay would destroy.
fn hostile_records(env: &Env) -> Vec<String> {
    let abs_victim = env.path("outside/abs-victim.txt");
    write(&abs_victim, "absolute victim\n", false);
    write(&env.path("outside/stolen.txt"), "moved into the home by a careless replay\n", false);
    // txn/ -> atk/ -> .git/ -> .atk/ -> user/ -> the test folder.
    let from_txn = "../../../../../outside/stolen.txt";
    vec![
        r#"{"undo":"remove","path":"../victim.txt"}"#.to_string(),
        r#"{"undo":"remove","path":"../../victim.txt"}"#.to_string(),
        format!(r#"{{"undo":"remove","path":"{}"}}"#, abs_victim.display()),
        r#"{"undo":"remove","path":""}"#.to_string(),
        r#"{"undo":"remove","path":".git/config"}"#.to_string(),
        r#"{"undo":"remove","path":"plugins/../../victim.txt"}"#.to_string(),
        r#"{"undo":"restore","path":"../victim.txt","backup":null}"#.to_string(),
        format!(r#"{{"undo":"restore","path":"manifest.yaml","backup":"{from_txn}"}}"#),
        format!(r#"{{"undo":"move_back","from":"stolen.txt","to":"{from_txn}"}}"#),
        r#"{"undo":"move_back","from":"../../victim.txt","to":"aside-0"}"#.to_string(),
        r#"{"undo":"reset_ref","reference":"refs/heads/../../../../victim.txt","id":"0000000000000000000000000000000000000001"}"#.to_string(),
        r#"{"undo":"reset_ref","reference":"HEAD","id":"0000000000000000000000000000000000000001"}"#.to_string(),
        // A branch of the home, but a commit it does not have: HEAD would be broken.
        r#"{"undo":"reset_ref","reference":"refs/heads/main","id":"1111111111111111111111111111111111111111"}"#.to_string(),
        // The git index "restored" from outside, or deleted because the copy's name is refused.
        format!(r#"{{"undo":"restore","path":".git/index","backup":"{from_txn}"}}"#),
        // Through plugins/link, a link in the home to outside/.
        r#"{"undo":"remove","path":"plugins/link/keep.txt"}"#.to_string(),
        r#"{"undo":"restore","path":"plugins/link/keep.txt","backup":null}"#.to_string(),
        r#"{"undo":"move_back","from":"plugins/link/keep.txt","to":"aside-0"}"#.to_string(),
    ]
}

fn check_journal_replay(env: &Env, journal: &str, write_journal: impl FnOnce(&Path, &[String])) {
    let outside = sentinels(env);
    std::os::unix::fs::symlink(&outside, env.atk_home.join("plugins/link")).unwrap();
    let records = hostile_records(env);
    // What a careless move_back would move over the victim.
    write(&env.atk_home.join(".git/atk/txn/aside-0"), "attacker's content\n", false);
    let (before, home_before) = (around(env), env.snapshot());
    let config = std::fs::read(env.atk_home.join(".git/config")).unwrap();
    let head_before = env.git(&["rev-parse", "HEAD"]);
    write_journal(&env.atk_home.join(".git/atk").join(journal), &records);
    let out = env.cmd().arg("list").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{journal}: {err}");
    let warnings = err.matches("that step was skipped").count();
    assert_eq!(warnings, records.len(), "{journal}: every step is skipped with a warning:\n{err}");
    assert_around_unchanged(env, &before, journal);
    assert_eq!(env.snapshot(), home_before, "{journal}");
    assert_eq!(std::fs::read(env.atk_home.join(".git/config")).unwrap(), config, "{journal}");
    assert_eq!(env.git(&["rev-parse", "HEAD"]), head_before, "{journal}");
    assert!(!env.atk_home.join(".git/atk").join(journal).exists(), "{journal}: the journal is gone");
    let out = env.cmd().arg("list").output().unwrap();
    assert!(out.status.success() && out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn hostile_journal_records_are_skipped_with_a_warning() {
    let env = Env::new();
    check_journal_replay(&env, "journal.jsonl", |path, records| {
        let text = format!("{{\"operation\":\"atk add evil\"}}\n{}\n", records.join("\n"));
        write(path, &text, false);
    });
    env.ok(&["add", "-y", env.fixture("minimal").to_str().unwrap()]);
    assert!(env.manifest().contains("directory: minimal"));
}

#[test]
fn hostile_legacy_journal_records_are_skipped_with_a_warning() {
    let env = Env::new();
    check_journal_replay(&env, "journal.json", |path, records| {
        let text = format!("{{\"operation\":\"atk add evil\",\"undo\":[{}]}}", records.join(","));
        write(path, &text, false);
    });
    env.ok(&["add", "-y", env.fixture("minimal").to_str().unwrap()]);
}

#[test]
fn a_cloned_home_with_links_inside_a_plugin_folder_reads_and_writes_nothing_through_them() {
    let a = Env::new();
    let work = registry_work(&a);
    write(&work.join("plugins/third/custom/settings.yml"), "shipped: 1\n", false);
    write(&work.join("plugins/third/conf/app.yml"), "shipped: 1\n", false);
    let third = yaml("third", "env_vars:\n  - name: THIRD_TOKEN\n    default: t\n");
    write(&work.join("plugins/third/plugin.yaml"), &third, false);
    commit_all(&work, "third ships custom/ and conf/");
    let reg = work.to_str().unwrap().to_string();
    // From plugins/third of the clone: plugins/ -> .atk/ -> user/ -> the clone's test folder.
    let b = cloned_home(&a, &reg, |home| {
        let dir = home.join("plugins/third");
        for (name, target) in [
            ("custom", "../../../../outside"),
            ("conf", "../../../../outside"),
            (".env", "../../../../outside/other.env"),
        ] {
            let _ = std::fs::remove_dir_all(dir.join(name)).or_else(|_| std::fs::remove_file(dir.join(name)));
            std::os::unix::fs::symlink(target, dir.join(name)).unwrap();
            git(home, &["add", "-f", &format!("plugins/third/{name}")]);
        }
        git(home, &["commit", "-qm", "links inside third"]);
    });
    // Another application's secrets beside the home, where the .env link points.
    write(&b.path("outside/other.env"), "OTHER_SECRET=s3cret\n", false);
    let before = around(&b);
    let env_link = b.atk_home.join("plugins/third/.env");
    let (_, err) = b.fails(1, &["--registry", &reg, "install", "--all"]);
    assert!(err.contains("✗ third") && err.contains(".env is a symbolic link"), "{err}");
    let (_, err) = b.fails(5, &["--registry", &reg, "setup", "--all", "--set", "THIRD_TOKEN=x"]);
    assert!(err.contains(&env_link.display().to_string()) && err.contains("symbolic link"), "{err}");
    assert_around_unchanged(&b, &before, ".env a link");
    assert!(env_link.is_symlink(), "the link is neither followed nor replaced");

    // Without the .env link: the plugin is installed, nothing goes through custom/ or conf/.
    std::fs::remove_file(&env_link).unwrap();
    b.ok(&["--registry", &reg, "install", "--all"]);
    b.ok(&["--registry", &reg, "setup", "--all", "--set", "THIRD_TOKEN=x"]);
    assert_around_unchanged(&b, &before, "custom/ and conf/ links");
    let dir = b.atk_home.join("plugins/third");
    assert!(dir.join("custom").is_symlink(), "custom/ is the user's: left as it is");
    assert!(!dir.join("conf").is_symlink() && dir.join("conf/app.yml").is_file(), "conf/ is the plugin's");
    assert_eq!(std::fs::read_to_string(dir.join(".env")).unwrap(), "THIRD_TOKEN=x\n");
    let home = state(&b.atk_home, &[&b.atk_home.join(".git")]);
    assert!(!home.values().any(|(_, c)| String::from_utf8_lossy(c).contains("s3cret")), "a secret came in");

    // An upgrade whose old version shipped conf/app.yml, with conf/ now a link out: nothing
    // outside is moved aside, replaced or written.
    std::fs::remove_dir_all(dir.join("conf")).unwrap();
    std::os::unix::fs::symlink("../../../../outside", dir.join("conf")).unwrap();
    write(&b.path("outside/app.yml"), "not the plugin's\n", false);
    write(&work.join("plugins/third/conf/app.yml"), "shipped: 2\n", false);
    write(&work.join("plugins/third/custom/settings.yml"), "shipped: 2\n", false);
    commit_all(&work, "third v2");
    let before = around(&b);
    b.ok(&["--registry", &reg, "upgrade", "third", "--yes"]);
    assert_around_unchanged(&b, &before, "upgrade with conf/ a link");
    assert_eq!(std::fs::read_to_string(dir.join("conf/app.yml")).unwrap(), "shipped: 2\n");
    assert!(dir.join("custom").is_symlink());
    b.ok(&["list"]);
}
