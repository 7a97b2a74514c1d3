//! Reading a source's trees: entries, files, walks that refuse what could not be a file name here,
//! and writing one folder of a commit into a staging folder.

use std::path::PathBuf;

use gix::ObjectId;

use super::{read_error, FileEntry, Repo};
use crate::error::{Error, Result};
use crate::fs::{name_problem, RelPath, Root};

/// How deep folders of a source may nest (git's own default limit is 4096; a plugin needs far
/// fewer, and the walk must not exhaust the stack).
const MAX_TREE_DEPTH: usize = 256;

impl Repo {
    /// Whether everything below `path` at `commit` is here already (nothing to fetch).
    pub fn is_complete(&self, commit: ObjectId, path: &str) -> bool {
        if !self.has(&commit) {
            return false;
        }
        let Ok(Some((id, is_tree))) = self.entry(commit, path) else { return false };
        if !is_tree {
            return self.has(&id);
        }
        let mut complete = true;
        let walked = self.walk(id, "", &mut |_, _, mode, id| {
            if !mode.is_commit() && !self.has(&id) {
                complete = false;
            }
            Ok(())
        });
        walked.is_ok() && complete
    }

    /// The object at `path` in `commit` (and whether it is a folder), if there is one.
    pub fn entry(&self, commit: ObjectId, path: &str) -> Result<Option<(ObjectId, bool)>> {
        let tree = self
            .repo
            .find_commit(commit)
            .and_then(|c| c.tree())
            .map_err(|e| read_error(&self.shown, format!("commit {commit}: {e}")))?;
        if path.is_empty() {
            return Ok(Some((tree.id, true)));
        }
        let entry = tree.lookup_entry_by_path(path).map_err(|e| read_error(&self.shown, e))?;
        Ok(entry.map(|e| (e.object_id(), e.mode().is_tree())))
    }

    /// The content of the file at `path` in `commit`.
    pub fn read_file(&self, commit: ObjectId, path: &str) -> Result<Option<Vec<u8>>> {
        match self.entry(commit, path)? {
            Some((id, false)) => {
                let blob = self.repo.find_blob(id).map_err(|e| read_error(&self.shown, e))?;
                Ok(Some(blob.data.clone()))
            }
            _ => Ok(None),
        }
    }

    /// Calls `f(relative path, entry name, mode, id)` for every entry below the tree `id`, parents
    /// first. The entry's own name is passed apart: a crafted name may hold a `/`, which the path
    /// alone would hide (`sub/x` named in one entry looks like `x` in a folder `sub`).
    pub(super) fn walk(
        &self,
        id: ObjectId,
        prefix: &str,
        f: &mut dyn FnMut(&str, &str, gix::object::tree::EntryMode, ObjectId) -> Result<()>,
    ) -> Result<()> {
        let tree = self.repo.find_tree(id).map_err(|e| read_error(&self.shown, e))?;
        for entry in tree.iter() {
            let entry = entry.map_err(|e| read_error(&self.shown, e))?;
            let name = entry.filename().to_string();
            let rel = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
            let (mode, oid) = (entry.mode(), entry.oid().to_owned());
            f(&rel, &name, mode, oid)?;
            if mode.is_tree() {
                // A crafted tree can nest folders until the stack runs out; no plugin needs this.
                if rel.matches('/').count() + 1 >= MAX_TREE_DEPTH {
                    return Err(Error::unsafe_path(
                        format!(
                            "{} nests folders more than {MAX_TREE_DEPTH} deep (at {})",
                            self.shown,
                            crate::text::escape(&rel.chars().take(120).collect::<String>())
                        ),
                        vec!["the plugin cannot be installed safely; report it to its maintainers".into()],
                    ));
                }
                self.walk(oid, &rel, f)?;
            }
        }
        Ok(())
    }

    /// Every file (blob or symlink) below the folder `path` at `commit`: relative path, mode, id.
    /// Needs only the trees. Submodules are left out. An entry whose name could not be a file
    /// name here (see [`name_problem`]) is refused, naming it.
    pub fn list_files(&self, commit: ObjectId, path: &str) -> Result<Vec<FileEntry>> {
        let mut out = Vec::new();
        if let Some((tree, true)) = self.entry(commit, path)? {
            self.walk(tree, "", &mut |rel, name, mode, id| {
                let checked = match name_problem(name) {
                    Some(why) => return Err(self.refuse_entry(path, rel, why)),
                    None => RelPath::new(rel).map_err(|e| self.refuse_entry(path, rel, e.why))?,
                };
                if !mode.is_tree() && !mode.is_commit() {
                    out.push(FileEntry { path: checked, executable: mode.is_executable(), link: mode.is_link(), id });
                }
                Ok(())
            })?;
        }
        Ok(out)
    }

    fn refuse_entry(&self, path: &str, rel: &str, why: &str) -> Error {
        Error::unsafe_path(
            format!("{path}/{} in {} has {why}", crate::text::escape(rel), self.shown),
            vec!["the plugin cannot be installed safely; report it to its maintainers".into()],
        )
    }

    /// Writes the folder `path` of `commit` into the empty folder `dest`: modes and symlinks kept.
    /// Refused, naming the entry, before anything outside `dest` could change: a name that could
    /// not be a file name (`..`, `.git`, `a/b`, `/x`), an entry that appears twice, and a link
    /// that leads out of `dest` once every link is in place. Submodules are skipped; their paths
    /// come back for a warning.
    pub fn materialize(&self, commit: ObjectId, path: &str, dest: &Root) -> Result<Vec<String>> {
        let Some((tree, true)) = self.entry(commit, path)? else {
            return Err(Error::Git {
                message: format!("{path}/ is not a folder at commit {commit} of {}", self.shown),
                hints: vec![],
            });
        };
        let mut skipped = Vec::new();
        let twice = |rel: &str, e: Error| match e {
            Error::Io { ref source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists => {
                self.refuse_entry(path, rel, "a name that appears twice")
            }
            e => e,
        };
        dest.batch(|| {
            self.walk(tree, "", &mut |rel, name, mode, id| {
                crate::error::check_interrupt()?;
                if let Some(why) = name_problem(name) {
                    return Err(self.refuse_entry(path, rel, why));
                }
                let out = RelPath::new(rel).map_err(|e| self.refuse_entry(path, rel, e.why))?;
                if mode.is_tree() {
                    return dest.create_dir(&out).map_err(|e| twice(rel, e));
                }
                if mode.is_commit() {
                    skipped.push(rel.to_string());
                    return Ok(());
                }
                let blob = self.repo.find_blob(id).map_err(|e| read_error(&self.shown, e))?;
                if mode.is_link() {
                    let target = PathBuf::from(String::from_utf8_lossy(&blob.data).to_string());
                    if blob.data.contains(&0) || dest.link_escapes(&out, &target) {
                        return Err(self.refuse_entry(
                            path,
                            rel,
                            &format!(
                                "a link to {}, outside the plugin folder",
                                crate::text::escape(&target.to_string_lossy())
                            ),
                        ));
                    }
                    return dest.symlink(&target, &out).map_err(|e| twice(rel, e));
                }
                let mode = if mode.is_executable() { 0o755 } else { 0o644 };
                dest.write_new(&out, &blob.data, mode).map_err(|e| twice(rel, e))
            })
        })?;
        // A link made later can change where an earlier one leads: check them all again.
        if let Some((link, target)) = dest.first_escaping_link()? {
            return Err(self.refuse_entry(
                path,
                link.as_str(),
                &format!("a link to {}, outside the plugin folder", crate::text::escape(&target.to_string_lossy())),
            ));
        }
        Ok(skipped)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// Raw object bytes, written as they are (names are not checked, as a forge would not).
    struct Raw(gix::object::Kind, Vec<u8>);

    impl gix::objs::WriteTo for Raw {
        fn write_to(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
            out.write_all(&self.1)
        }
        fn kind(&self) -> gix::object::Kind {
            self.0
        }
        fn size(&self) -> u64 {
            self.1.len() as u64
        }
    }

    /// A small deterministic random source (xorshift), so that a failing case can be replayed.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
            &items[(self.next() % items.len() as u64) as usize]
        }
    }

    const NAMES: &[&str] = &["a", "b", "c", "d", "ok", "sub"];
    const HOSTILE_NAMES: &[&str] = &[
        "..",
        ".",
        "",
        ".git",
        ".GIT",
        "a/b",
        "../x",
        "../../../../escaped",
        "x\\y",
        "/ABS/escaped-abs",
        "d/../../escaped",
    ];
    const TARGETS: &[&str] = &[
        ".",
        "..",
        "../..",
        "a",
        "b",
        "d",
        "sub",
        "b/b/b/b/../../../..",
        "d/../..",
        "/etc",
        "missing/../..",
        "a/../b",
        "sub/../../..",
        "ok/../../x",
        "b/b",
        "",
    ];

    /// A random tree (at most `depth` levels) written into `repo`; `abs` replaces `/ABS`.
    fn random_tree(repo: &gix::Repository, rng: &mut Rng, depth: u32, abs: &str) -> ObjectId {
        let mut bytes = Vec::new();
        for _ in 0..1 + rng.next() % 6 {
            let pool = if rng.next().is_multiple_of(12) { HOSTILE_NAMES } else { NAMES };
            let name = rng.pick(pool).replace("/ABS", abs);
            let (mode, id) = match rng.next() % 4 {
                0 if depth > 0 => ("40000", random_tree(repo, rng, depth - 1, abs)),
                1 => ("120000", repo.write_blob(rng.pick(TARGETS).as_bytes()).unwrap().detach()),
                2 => ("100755", repo.write_blob(b"#!/bin/sh\n").unwrap().detach()),
                _ => ("100644", repo.write_blob(b"data").unwrap().detach()),
            };
            bytes.extend_from_slice(format!("{mode} {name}\0").as_bytes());
            bytes.extend_from_slice(id.as_bytes());
        }
        repo.write_object(Raw(gix::object::Kind::Tree, bytes)).unwrap().detach()
    }

    /// Every path below `dir` with what it is (and a file's content, a link's target).
    fn listing(dir: &Path, skip: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        for e in walkdir::WalkDir::new(dir).min_depth(1).into_iter().filter_entry(|e| e.path() != skip) {
            let e = e.unwrap();
            let p = e.path().to_path_buf();
            let what = if e.file_type().is_dir() {
                b"dir".to_vec()
            } else if e.path_is_symlink() {
                std::fs::read_link(&p).unwrap().as_os_str().as_encoded_bytes().to_vec()
            } else {
                std::fs::read(&p).unwrap()
            };
            out.push((p, what));
        }
        out.sort();
    }

    /// Property: whatever a tree holds (hostile names, links, chains, duplicates), materializing
    /// it creates and removes nothing outside the destination, and every link that is left
    /// resolves inside it.
    #[test]
    fn hostile_trees_never_reach_outside_the_destination() {
        let base = tempfile::tempdir().unwrap();
        let base = base.path().canonicalize().unwrap();
        let objects = tempfile::tempdir().unwrap();
        let src = objects.path().join("source.git");
        let repo = gix::init_bare(&src).unwrap();
        std::fs::create_dir_all(base.join("box/stage")).unwrap();
        std::fs::write(base.join("sentinel"), b"keep").unwrap();
        std::fs::write(base.join("box/sentinel"), b"keep").unwrap();
        let cache = super::super::Cache { root: objects.path().join("cache"), waits: Default::default() };
        let source = Repo::open(src.to_str().unwrap(), "test source", &cache).unwrap();
        let (mut refused, mut accepted) = (0, 0);
        let abs = base.to_string_lossy().to_string();
        // The attacks found by hand come first: a chain through `b -> .`, the same chain followed
        // by a folder of the link's name, and a name that walks up.
        let entry = |mode: &str, name: &str, id: ObjectId| {
            let mut e = format!("{mode} {name}\0").into_bytes();
            e.extend_from_slice(id.as_bytes());
            e
        };
        let blob = |data: &str| repo.write_blob(data.as_bytes()).unwrap().detach();
        let tree =
            |entries: Vec<Vec<u8>>| repo.write_object(Raw(gix::object::Kind::Tree, entries.concat())).unwrap().detach();
        let inner = tree(vec![entry("100644", "pwned", blob("x"))]);
        let known = [
            tree(vec![entry("120000", "b", blob(".")), entry("120000", "d", blob("b/b/b/b/../../../.."))]),
            tree(vec![
                entry("120000", "b", blob(".")),
                entry("120000", "d", blob("b/b/b/b/../../../..")),
                entry("40000", "d", inner),
            ]),
            tree(vec![entry("100644", "../../escaped", blob("x"))]),
            tree(vec![entry("100644", &format!("{abs}/escaped"), blob("x"))]),
        ];
        for seed in 1..=300u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
            let plugin = match known.get(seed as usize - 1) {
                Some(t) => *t,
                None => random_tree(&repo, &mut rng, 2, &abs),
            };
            let mut root = Vec::from(b"40000 p\0".as_slice());
            root.extend_from_slice(plugin.as_bytes());
            let tree = repo.write_object(Raw(gix::object::Kind::Tree, root)).unwrap().detach();
            let commit = format!("tree {tree}\nauthor t <t@t> 0 +0000\ncommitter t <t@t> 0 +0000\n\ncase {seed}\n");
            let commit = repo.write_object(Raw(gix::object::Kind::Commit, commit.into_bytes())).unwrap().detach();

            let stage = base.join("box/stage/plugin");
            let mut before = Vec::new();
            listing(&base, &stage, &mut before);
            std::fs::create_dir(&stage).unwrap();
            let result = source.materialize(commit, "p", &Root::open(&stage).unwrap());
            let mut after = Vec::new();
            listing(&base, &stage, &mut after);
            assert_eq!(before, after, "case {seed} changed something outside the destination");
            if result.is_ok() {
                accepted += 1;
                let mut inside = Vec::new();
                listing(&stage, Path::new("/nonexistent"), &mut inside);
                for (p, _) in inside {
                    if std::fs::symlink_metadata(&p).unwrap().is_symlink() {
                        if let Ok(real) = std::fs::canonicalize(&p) {
                            assert!(
                                real.starts_with(&stage),
                                "case {seed}: {} leads to {}",
                                p.display(),
                                real.display()
                            );
                        }
                    }
                }
            } else {
                refused += 1;
            }
            std::fs::remove_dir_all(&stage).unwrap();
        }
        // The generator must exercise both outcomes, or the property says nothing.
        assert!(refused > 50 && accepted > 20, "refused {refused}, accepted {accepted}");
    }

    /// A tree nested 20,000 deep is refused, not a stack overflow.
    #[test]
    fn trees_nested_too_deep_are_refused() {
        let objects = tempfile::tempdir().unwrap();
        let src = objects.path().join("source.git");
        let repo = gix::init_bare(&src).unwrap();
        let mut id = repo.write_blob(b"x").unwrap().detach();
        let mut mode = "100644";
        for _ in 0..20_000 {
            let mut entry = format!("{mode} d\0").into_bytes();
            entry.extend_from_slice(id.as_bytes());
            id = repo.write_object(Raw(gix::object::Kind::Tree, entry)).unwrap().detach();
            mode = "40000";
        }
        let mut root = Vec::from(b"40000 p\0".as_slice());
        root.extend_from_slice(id.as_bytes());
        let tree = repo.write_object(Raw(gix::object::Kind::Tree, root)).unwrap().detach();
        let commit = format!("tree {tree}\nauthor t <t@t> 0 +0000\ncommitter t <t@t> 0 +0000\n\ndeep\n");
        let commit = repo.write_object(Raw(gix::object::Kind::Commit, commit.into_bytes())).unwrap().detach();
        let cache = super::super::Cache { root: objects.path().join("cache"), waits: Default::default() };
        let source = Repo::open(src.to_str().unwrap(), "deep source", &cache).unwrap();
        let dest = tempfile::tempdir().unwrap();
        for result in [
            source.ensure_paths(commit, &["p"]).map(|_| ()),
            source.list_files(commit, "p").map(|_| ()),
            source.materialize(commit, "p", &Root::open(dest.path()).unwrap()).map(|_| ()),
        ] {
            let e = result.unwrap_err();
            assert!(matches!(e, Error::UnsafePath { .. }) && e.to_string().contains("more than 256 deep"), "{e}");
        }
    }
}
