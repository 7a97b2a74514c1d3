//! The pipeline driven as a library, without the binary: stage → plan → apply on real folders and
//! git repositories, with a `Recorder` for the reporter.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::error::Error;
use crate::home::{Home, Manifest, Source, SourceKind};
use crate::reporter::Recorder;
use crate::source::origin::Origins;
use crate::source::stage::{self, Staged};

/// A new home in `t/home`.
pub(crate) fn home(t: &Path) -> Home {
    let root = t.join("home");
    Home::init(&root).unwrap();
    Home::open(root).unwrap()
}

/// Writes `text` at `path`, making its folders.
pub(crate) fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn plugin_yaml(install: &str, vars: &str) -> String {
    format!(
        "schema_version: \"2026-08-20\"\nname: Tool\ndescription: a tool\nservice:\n  type: script\nlifecycle:\n  install: \"{install}\"\n  uninstall: \"true\"\n{vars}"
    )
}

/// `git args…` in `dir`, its output (the test fails when git does).
pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Origins with no registry and a cache in `t/cache`.
pub(crate) fn origins(t: &Path) -> Origins {
    Origins {
        registry_url: "unused".into(),
        cache: crate::source::git::Cache { root: t.join("cache"), waits: Default::default() },
    }
}

/// Adds the plugin of the source `src` (a folder or a git checkout) to `home` as `atk add` does,
/// with no variables set; `cwd` is where a relative source is read from.
pub(crate) fn add_source(
    reporter: &dyn crate::reporter::Reporter,
    home: &crate::home::Locked,
    manifest: &mut Manifest,
    origins: &Origins,
    src: &Path,
    cwd: &Path,
) -> super::add::AddedEntry {
    let from = crate::source::Relative { cwd, user_home: cwd };
    let staged =
        crate::source::stage::stage(reporter, home, manifest, origins, src.to_str().unwrap(), from, false).unwrap();
    let outer = crate::environment::Environment::default();
    let env = super::env::plan(reporter, &staged.plugin, &src.join(".env"), &[], None, &outer).unwrap();
    super::add::add(reporter, home, manifest, &staged, &env, &outer, "test add").unwrap()
}

fn stage_local(home: &Home, manifest: &Manifest, dir: &Path) -> crate::Result<Staged> {
    stage::stage(
        &Recorder::default(),
        home,
        manifest,
        &origins(dir),
        dir.to_str().unwrap(),
        crate::source::Relative { cwd: dir, user_home: dir },
        false,
    )
}

#[test]
fn a_local_plugin_is_staged_added_and_removed() {
    let t = tempfile::tempdir().unwrap();
    let home = home(t.path());
    let src = t.path().join("tool");
    write(&src.join("plugin.yaml"), &plugin_yaml("echo installed > installed.txt", ""));
    // The lock first, as a command takes it: taking it clears what an earlier run left staged.
    let (home, _) = home.lock(Duration::from_secs(5), &mut || {}).unwrap();
    let mut manifest = home.manifest().unwrap();
    let staged = stage_local(&home, &manifest, &src).unwrap();
    assert_eq!(staged.directory, "tool");
    assert!(!home.plugin_dir("tool").exists(), "staging changes nothing visible");

    let reporter = Recorder::default();
    let env = super::env::plan(
        &reporter,
        &staged.plugin,
        &staged.staged.as_ref().unwrap().path().join(".env"),
        &[],
        None,
        &crate::environment::Environment::default(),
    )
    .unwrap();
    let added =
        super::add::add(&reporter, &home, &mut manifest, &staged, &env, &Default::default(), "test add").unwrap();
    assert_eq!(added.entry.directory, "tool");
    assert!(added.commit.is_some());
    assert_eq!(home.manifest().unwrap().plugins.len(), 1);
    assert!(home.plugin_dir("tool").join("installed.txt").is_file(), "install ran in the plugin folder");
    assert!(reporter.lines().iter().any(|l| l.starts_with("note: Running install")));

    // Staging the same plugin again is refused: it is installed.
    assert!(matches!(stage_local(&home, &manifest, &src), Err(Error::AlreadyInstalled { .. })));

    super::remove::remove_as(&home, &mut manifest, "tool", "test remove", None).unwrap();
    assert!(manifest.plugins.is_empty());
    assert!(home.manifest().unwrap().plugins.is_empty());
    assert!(!home.plugin_dir("tool").exists());
}

#[test]
fn a_failing_install_leaves_the_home_and_the_manifest_as_they_were() {
    let t = tempfile::tempdir().unwrap();
    let home = home(t.path());
    let src = t.path().join("tool");
    write(&src.join("plugin.yaml"), &plugin_yaml("exit 3", ""));
    let (home, _) = home.lock(Duration::from_secs(5), &mut || {}).unwrap();
    let mut manifest = home.manifest().unwrap();
    let staged = stage_local(&home, &manifest, &src).unwrap();
    let reporter = Recorder::default();
    let env = super::env::plan(
        &reporter,
        &staged.plugin,
        &t.path().join("none.env"),
        &[],
        None,
        &crate::environment::Environment::default(),
    )
    .unwrap();
    let result = super::add::add(&reporter, &home, &mut manifest, &staged, &env, &Default::default(), "test add");
    assert!(matches!(result, Err(Error::Lifecycle { .. })), "{:?}", result.err());
    assert!(manifest.plugins.is_empty());
    assert!(home.manifest().unwrap().plugins.is_empty());
    assert!(!home.plugin_dir("tool").exists());
}

#[test]
fn a_link_out_of_a_local_plugin_is_refused_before_anything_is_staged() {
    let t = tempfile::tempdir().unwrap();
    let home = home(t.path());
    let src = t.path().join("tool");
    write(&src.join("plugin.yaml"), &plugin_yaml("true", ""));
    std::os::unix::fs::symlink("/etc/passwd", src.join("passwd")).unwrap();
    let result = stage_local(&home, &home.manifest().unwrap(), &src);
    assert!(matches!(result, Err(Error::UnsafePath { .. })), "{:?}", result.err());
}

#[test]
fn env_values_come_from_set_then_the_file_then_the_defaults() {
    let t = tempfile::tempdir().unwrap();
    let vars = "env_vars:\n  - name: A\n    required: true\n  - name: B\n    default: bee\n  - name: C\n    required: true\n  - name: D\n";
    let plugin = crate::plugin::parse_bytes(plugin_yaml("true", vars).as_bytes(), "test").unwrap();
    let env_path = t.path().join(".env");
    std::fs::write(&env_path, "D=kept\n").unwrap();
    let plan = super::env::plan(
        &Recorder::default(),
        &plugin,
        &env_path,
        &[("A".into(), "set".into())],
        None,
        &crate::environment::Environment::default(),
    )
    .unwrap();
    assert_eq!(plan.file.get("A").as_deref(), Some("set"));
    assert_eq!(plan.file.get("B").as_deref(), Some("bee"));
    assert_eq!(plan.file.get("D").as_deref(), Some("kept"));
    assert_eq!(plan.missing, vec!["C".to_string()]);
    assert_eq!(plan.configured, 3);
    assert!(plan.changed);
    // Only the variables asked for.
    let only = super::env::plan(
        &Recorder::default(),
        &plugin,
        &env_path,
        &[],
        Some(&["B".to_string()]),
        &crate::environment::Environment::default(),
    )
    .unwrap();
    assert!(only.missing.is_empty());
    assert_eq!(only.file.get("A"), None);
}

/// A git source (read in place) with two commits of its `.atk/` plugin.
fn git_source(t: &Path) -> (std::path::PathBuf, String, String) {
    let repo = t.join("src");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    write(&repo.join(".atk/plugin.yaml"), &plugin_yaml("true", ""));
    write(&repo.join(".atk/old.txt"), "old");
    write(&repo.join(".atk/same.txt"), "same");
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "one"]);
    let one = git(&repo, &["rev-parse", "HEAD"]);
    write(
        &repo.join(".atk/plugin.yaml"),
        &plugin_yaml("echo v2 > v2.txt", "env_vars:\n  - name: NEW\n    default: x\n"),
    );
    std::fs::remove_file(repo.join(".atk/old.txt")).unwrap();
    write(&repo.join(".atk/new.txt"), "new");
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "two"]);
    let two = git(&repo, &["rev-parse", "HEAD"]);
    (repo, one, two)
}

#[test]
fn an_upgrade_plan_is_computed_once_and_applied_keeping_custom() {
    let t = tempfile::tempdir().unwrap();
    let home = home(t.path());
    let (repo, one, two) = git_source(t.path());
    let url = repo.to_str().unwrap().to_string();
    let source = Source { kind: SourceKind::Git, commit: Some(one.clone()), url: Some(url), ..Source::default() };
    let origins = origins(t.path());
    let origin = origins.open(&source).unwrap();

    // Put version one in place as install would.
    let mut manifest = home.manifest().unwrap();
    manifest.plugins.push(crate::home::Entry::new("Tool", "tool", source));
    let (home, _) = home.lock(Duration::from_secs(5), &mut || {}).unwrap();
    let entries: Vec<&crate::home::Entry> = manifest.plugins.iter().collect();
    let results = super::install::ensure_files(
        &Recorder::default(),
        &home,
        &origins,
        &entries,
        super::install::FetchPolicy { jobs: 1, ..Default::default() },
    )
    .unwrap();
    assert!(matches!(results[..], [Ok(true)]));
    write(&home.plugin_dir("tool").join("custom/mine.txt"), "mine");

    let entry = manifest.plugins[0].clone();
    let to = gix::ObjectId::from_hex(two.as_bytes()).unwrap();
    let plan = super::upgrade::plan(&home, &entry, &origin, to).unwrap().expect("the trees differ");
    assert_eq!(plan.added, ["new.txt"]);
    assert_eq!(plan.removed, ["old.txt"]);
    assert_eq!(plan.changed, ["plugin.yaml"]);
    assert_eq!(plan.lifecycle.len(), 1);
    assert!(plan.changes_commands());
    assert_eq!(plan.env_added.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(), ["NEW"]);

    // The same commit plans nothing.
    let from = gix::ObjectId::from_hex(one.as_bytes()).unwrap();
    assert!(super::upgrade::plan(&home, &entry, &origin, from).unwrap().is_none());

    let reporter = Recorder::default();
    let dir = home.plugin_dir("tool");
    let env = super::env::plan(
        &reporter,
        &plan.new_plugin,
        &dir.join(".env"),
        &[],
        Some(&["NEW".to_string()]),
        &crate::environment::Environment::default(),
    )
    .unwrap();
    let m = super::upgrade::Move { entry: &entry, origin: &origin, plan: &plan, lock: None };
    let record = super::upgrade::Record { operation: "test", message: &"Upgrade plugin 'Tool'".into() };
    super::upgrade::apply(&reporter, &home, &mut manifest, m, &env, &Default::default(), record).unwrap();
    assert_eq!(home.manifest().unwrap().plugins[0].source.commit.as_deref(), Some(two.as_str()));
    assert!(dir.join("new.txt").is_file() && !dir.join("old.txt").exists());
    assert_eq!(std::fs::read_to_string(dir.join("custom/mine.txt")).unwrap(), "mine");
    assert!(dir.join("v2.txt").is_file(), "the new install ran");
    assert_eq!(std::fs::read_to_string(dir.join(".atk-ref")).unwrap().trim(), two);

    // Back to the first commit: the same plan, the other way.
    let entry = manifest.plugins[0].clone();
    let back = super::upgrade::plan(&home, &entry, &origin, from).unwrap().expect("the trees differ");
    assert_eq!((back.added.clone(), back.removed.clone()), (vec!["old.txt".to_string()], vec!["new.txt".to_string()]));
}
