//! The export tests' helpers (`export`, `export_attack`): a machine with a plugin of each kind to
//! export, and an export file's members read and written again.

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

use super::servers::*;
use super::sources::*;
use super::*;

/// What the `.env` files of an exported home hold: no export ever does.
pub const SECRET: &str = "hunter2-never-exported";

/// A machine with a registry plugin (`notes`, customized), a git plugin (`echo-tool`) both served
/// by `git daemon`, and a local plugin (`minimal`); secrets in `.env` files; everything committed.
pub struct Exporter {
    pub env: Env,
    pub reg: String,
    pub registry_pin: String,
    pub tool_pin: String,
    daemon: Option<GitDaemon>,
    /// What the daemon serves, and the work trees the repositories were made from.
    served: Vec<PathBuf>,
}

impl Exporter {
    pub fn new() -> Exporter {
        let env = Env::new();
        let (work, root, _) = served_registry(&env, true);
        let tool = git_source_work(&env);
        publish(&tool, &root, "tool.git", true);
        let daemon = GitDaemon::start(&root);
        let reg = daemon.url("registry.git");
        env.ok(&["--registry", &reg, "add", "-y", "notes"]);
        env.ok(&["add", "-y", &daemon.url("tool.git")]);
        env.ok(&["add", "-y", env.fixture("minimal").to_str().unwrap()]);
        write(&env.atk_home.join("plugins/notes/custom/overrides.yaml"), "description: my notes\n", false);
        write(&env.atk_home.join("plugins/minimal/notes.md"), "a local file\n", false);
        env.git(&["add", "-A"]);
        env.git(&["commit", "-qm", "customize"]);
        for secret in
            ["plugins/notes/.env", "plugins/notes/custom/.env", "plugins/minimal/.env", "plugins/echo-tool/.env"]
        {
            write(&env.atk_home.join(secret), &format!("TOKEN={SECRET}\n"), false);
        }
        assert_eq!(env.git(&["status", "--porcelain"]), "", "the secrets are ignored");
        let (registry_pin, tool_pin) = (head(&work), head(&tool));
        Exporter { registry_pin, tool_pin, reg, daemon: Some(daemon), served: vec![root, work, tool], env }
    }

    pub fn export(&self, name: &str) -> PathBuf {
        let file = self.env.path(name);
        self.env.ok(&["--registry", &self.reg, "export", "--all", "-o", file.to_str().unwrap()]);
        file
    }

    /// The home of `b` has every plugin of this one at its pin, with the same files (but the
    /// `.env` files), and the same manifest.
    pub fn assert_same_on(&self, b: &Env) {
        for (dir, pin) in [("notes", &self.registry_pin), ("echo-tool", &self.tool_pin)] {
            let p = b.atk_home.join("plugins").join(dir);
            assert_eq!(std::fs::read_to_string(p.join(".atk-ref")).unwrap(), format!("{pin}\n"), "{dir}");
        }
        for dir in ["notes", "echo-tool", "minimal"] {
            assert_eq!(plugin_files(&b.atk_home, dir), plugin_files(&self.env.atk_home, dir), "{dir}");
        }
        assert_eq!(b.manifest(), self.env.manifest());
    }

    /// Every source unreachable from now on: the daemon stopped, the repositories gone.
    pub fn go_offline(&mut self) {
        drop(self.daemon.take());
        for dir in &self.served {
            std::fs::remove_dir_all(dir).unwrap();
        }
        let mut ls = git_command(self.env.dir.path());
        ls.args(["ls-remote", &self.reg]);
        assert!(!wait_with_timeout(ls.spawn().unwrap(), 60).status.success(), "the registry cannot be reached");
    }
}

/// A plugin folder as a user compares it: every file but the `.env` files.
pub fn plugin_files(home: &Path, dir: &str) -> std::collections::BTreeMap<String, (u32, Vec<u8>)> {
    let mut t = tree(&home.join("plugins").join(dir));
    t.retain(|path, _| !path.ends_with(".env"));
    t
}

/// The members of a tar, with their headers.
pub type Members = Vec<(tar::Header, Vec<u8>)>;

/// The members of a (gzip-compressed tar) export, with their headers.
pub fn members(file: &Path) -> Members {
    let mut tar = tar::Archive::new(GzDecoder::new(std::fs::File::open(file).unwrap()));
    let mut out = Vec::new();
    for e in tar.entries().unwrap() {
        let mut e = e.unwrap();
        let h = e.header().clone();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.push((h, data));
    }
    out
}

pub fn rewrite(file: &Path, members: &[(tar::Header, Vec<u8>)]) {
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    for (h, data) in members {
        b.append(h, &data[..]).unwrap();
    }
    std::fs::write(file, b.into_inner().unwrap().finish().unwrap()).unwrap();
}

pub fn name_of(h: &tar::Header) -> String {
    String::from_utf8(h.path_bytes().into_owned()).unwrap()
}

pub fn json(env: &Env, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&env.ok(&all)).unwrap()
}
