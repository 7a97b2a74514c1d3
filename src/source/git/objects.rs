//! Carrying pinned commits from one machine's cache to another's without a network: the objects a
//! plugin folder needs at a commit (what [`Repo::is_complete`] checks), written as a stream, and
//! that stream read back into a cache repository.
//!
//! A cache repository is shallow (depth 1) and partial (only the blobs of the plugins fetched), so
//! neither `git bundle create` nor a pack of everything reachable can be made from it: both walk
//! every blob of the commit. The stream holds exactly the objects needed, each as
//! `<kind> <id> <size>\n<bytes>\n` after the line `atk-objects 1`; its reader computes every
//! object's id from its bytes and refuses one that is not the id it is given.

use std::collections::HashSet;
use std::io::{BufRead, Read, Write};

use gix::prelude::Write as _;
use gix::ObjectId;

use super::{read_error, Repo};
use crate::error::{Error, Result};

/// The first line of a stream.
const MAGIC: &[u8] = b"atk-objects 1\n";
/// The longest header line of an object (`commit`, a SHA-256 id, a size).
const MAX_HEADER: usize = 128;

/// A stream that cannot be read as objects: named by `what` (the member it came from).
fn bad(what: &str, why: impl std::fmt::Display) -> Error {
    Error::unsafe_path(
        format!("{what}: {why}"),
        vec!["the file was changed or damaged after atk wrote it; use another one".into()],
    )
}

impl Repo {
    /// Writes to `out` every object that the folder `path` of each `(commit, path)` needs: the
    /// commit, the trees from its root down to `path`, and every tree and file below `path`
    /// (submodules left out), each object once. What the cache lacks is fetched first, as an
    /// install would. Returns the number of objects written.
    pub fn export_objects(&self, wants: &[(ObjectId, String)], out: &mut dyn Write) -> Result<usize> {
        let io = |e: std::io::Error| Error::io("cannot write the objects of a source", e);
        out.write_all(MAGIC).map_err(io)?;
        let mut done: HashSet<ObjectId> = HashSet::new();
        for (commit, path) in wants {
            self.ensure_commit(*commit)?;
            self.ensure_paths(*commit, &[path.as_str()])?;
            let mut ids = vec![*commit];
            let tree = self
                .repo
                .find_commit(*commit)
                .map_err(|e| read_error(&self.shown, format!("commit {commit}: {e}")))?
                .tree_id()
                .map_err(|e| read_error(&self.shown, format!("commit {commit}: {e}")))?
                .detach();
            ids.push(tree);
            // The trees on the way to `path`.
            let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
            for i in 1..parts.len() {
                if let Some((id, true)) = self.entry(*commit, &parts[..i].join("/"))? {
                    ids.push(id);
                }
            }
            match self.entry(*commit, path)? {
                Some((id, true)) => {
                    ids.push(id);
                    self.walk(id, "", &mut |_, _, mode, id| {
                        if !mode.is_commit() {
                            ids.push(id);
                        }
                        Ok(())
                    })?;
                }
                Some((id, false)) => ids.push(id),
                None => {
                    return Err(Error::Git {
                        message: format!("{} has no {path} at commit {commit}", self.shown),
                        hints: vec![],
                    })
                }
            }
            for id in ids {
                if !done.insert(id) {
                    continue;
                }
                crate::error::check_interrupt()?;
                let object = self.repo.find_object(id).map_err(|e| read_error(&self.shown, format!("{id}: {e}")))?;
                writeln!(out, "{} {id} {}", object.kind, object.data.len()).map_err(io)?;
                out.write_all(&object.data).map_err(io)?;
                out.write_all(b"\n").map_err(io)?;
            }
        }
        Ok(done.len())
    }

    /// Reads a stream that [`Repo::export_objects`] wrote (`what` names it in errors, `limit` is
    /// the most bytes it may hold) into this repository, under the cache lock; then records each
    /// of `commits` (which must be among the objects) as shallow when its parents are not here,
    /// and keeps it from being garbage-collected. Returns the number of objects read.
    pub fn import_objects(
        &self,
        input: &mut dyn BufRead,
        limit: u64,
        what: &str,
        commits: &[ObjectId],
    ) -> Result<usize> {
        if self.is_local() {
            return Err(Error::other(format!("{} is read in place; atk does not write into it", self.shown)));
        }
        let _lock = self.lock()?;
        let mut input = input.take(limit);
        let mut magic = vec![0u8; MAGIC.len()];
        if input.read_exact(&mut magic).is_err() || magic != MAGIC {
            return Err(bad(what, "it is not a stream of git objects"));
        }
        let mut seen: HashSet<ObjectId> = HashSet::new();
        loop {
            crate::error::check_interrupt()?;
            let mut line = Vec::new();
            let n = (&mut input)
                .take(MAX_HEADER as u64)
                .read_until(b'\n', &mut line)
                .map_err(|e| bad(what, format!("cannot be read: {e}")))?;
            if n == 0 {
                break;
            }
            let text = std::str::from_utf8(&line).ok().and_then(|l| l.strip_suffix('\n'));
            let mut words = text.unwrap_or_default().split(' ');
            let (Some(kind), Some(id), Some(size), None) = (words.next(), words.next(), words.next(), words.next())
            else {
                return Err(bad(what, format!("object {} has no valid header", seen.len() + 1)));
            };
            let kind = match kind {
                "commit" => gix::objs::Kind::Commit,
                "tree" => gix::objs::Kind::Tree,
                "blob" => gix::objs::Kind::Blob,
                other => return Err(bad(what, format!("holds an object of kind '{}'", crate::text::escape(other)))),
            };
            let id = ObjectId::from_hex(id.as_bytes())
                .map_err(|_| bad(what, format!("names an object '{}'", crate::text::escape(id))))?;
            let size: u64 = size.parse().map_err(|_| bad(what, format!("object {id} has no valid size")))?;
            if size > limit {
                return Err(bad(what, format!("object {id} is larger than the stream")));
            }
            let mut data = Vec::with_capacity(size.min(1 << 20) as usize);
            (&mut input).take(size).read_to_end(&mut data).map_err(|e| bad(what, format!("cannot be read: {e}")))?;
            let mut end = [0u8; 1];
            if data.len() as u64 != size || input.read_exact(&mut end).is_err() || end != *b"\n" {
                return Err(bad(what, format!("object {id} is cut short")));
            }
            let hash = gix::objs::compute_hash(self.repo.object_hash(), kind, &data)
                .map_err(|e| bad(what, format!("object {id}: {e}")))?;
            if hash != id {
                return Err(bad(what, format!("object {id} does not have that id (its content is {hash})")));
            }
            if !self.has(&id) {
                self.repo.objects.write_buf(kind, &data).map_err(|e| {
                    Error::other(format!("cannot write object {id} into the cache of {}: {e}", self.shown))
                })?;
            }
            seen.insert(id);
        }
        let mut shallow = Vec::new();
        for commit in commits {
            if !seen.contains(commit) {
                return Err(bad(what, format!("does not hold the commit {commit}")));
            }
            let parents: Vec<ObjectId> = self
                .repo
                .find_commit(*commit)
                .map_err(|e| read_error(&self.shown, format!("commit {commit}: {e}")))?
                .parent_ids()
                .map(|p| p.detach())
                .collect();
            if parents.iter().any(|p| !self.has(p)) {
                shallow.push(*commit);
            }
        }
        self.add_shallow(&shallow)?;
        for commit in commits {
            self.pin(*commit)?;
        }
        Ok(seen.len())
    }

    /// Adds `commits` to the repository's `shallow` file (the commits whose parents it lacks, as a
    /// depth-1 fetch records them), so that a later fetch negotiates from them correctly.
    fn add_shallow(&self, commits: &[ObjectId]) -> Result<()> {
        if commits.is_empty() {
            return Ok(());
        }
        let path = self.repo.path().join("shallow");
        let old = crate::fs::read(&path, crate::fs::Links::Refuse, crate::fs::Cap::State)?.unwrap_or_default();
        let mut all: Vec<ObjectId> = String::from_utf8_lossy(&old)
            .lines()
            .filter_map(|l| ObjectId::from_hex(l.trim().as_bytes()).ok())
            .collect();
        all.extend_from_slice(commits);
        all.sort();
        all.dedup();
        let text: String = all.iter().map(|id| format!("{id}\n")).collect();
        crate::fs::write_atomic(&path, text.as_bytes(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    use crate::sync::tests::git;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// A source with two commits, its plugin in `.atk/`, and a file outside it; the stream of the
    /// second commit's `.atk`.
    fn exported(t: &Path) -> (ObjectId, Vec<u8>, super::super::Cache) {
        let src = t.join("src");
        std::fs::create_dir_all(&src).unwrap();
        git(&src, &["init", "-q", "-b", "main"]);
        write(&src.join(".atk/plugin.yaml"), "name: x\n");
        write(&src.join("other/big.txt"), "not needed\n");
        git(&src, &["add", "-A"]);
        git(&src, &["commit", "-qm", "one"]);
        write(&src.join(".atk/sub/deep.txt"), "deep\n");
        git(&src, &["add", "-A"]);
        git(&src, &["commit", "-qm", "two"]);
        let head = ObjectId::from_hex(git(&src, &["rev-parse", "HEAD"]).as_bytes()).unwrap();
        let cache = super::super::Cache { root: t.join("cache"), waits: Default::default() };
        let repo = Repo::open(src.to_str().unwrap(), "src", &cache).unwrap();
        assert!(repo.is_local());
        let mut out = Vec::new();
        let n = repo.export_objects(&[(head, ".atk".into())], &mut out).unwrap();
        // The commit, the root tree, .atk, .atk/sub, plugin.yaml and deep.txt.
        assert_eq!(n, 6);
        (head, out, cache)
    }

    #[test]
    fn a_commit_carried_in_a_stream_is_complete_in_a_new_cache_for_a_source_gone_from_this_machine() {
        let t = tempfile::tempdir().unwrap();
        let (head, stream, cache) = exported(t.path());
        let url = format!("file://{}/gone", t.path().display());
        let repo = Repo::open_cache(&url, "gone", &cache).unwrap();
        let n = repo.import_objects(&mut &stream[..], stream.len() as u64, "sources/x", &[head]).unwrap();
        assert_eq!(n, 6);
        assert!(repo.is_complete(head, ".atk"));
        assert!(!repo.is_complete(head, "other"), "only the plugin's folder is carried");
        let shallow = std::fs::read_to_string(repo.repo.path().join("shallow")).unwrap();
        assert_eq!(shallow, format!("{head}\n"), "its parent is not here: a shallow commit");
        assert!(repo.repo.find_reference(format!("refs/atk/pins/{head}").as_str()).is_ok());
        // The source is not on this machine: reading it goes to the cache.
        let again = Repo::open(&url, "gone", &cache).unwrap();
        assert!(!again.is_local() && again.is_complete(head, ".atk"));
        // Twice is the same.
        repo.import_objects(&mut &stream[..], stream.len() as u64, "sources/x", &[head]).unwrap();
        assert_eq!(std::fs::read_to_string(repo.repo.path().join("shallow")).unwrap(), shallow);
    }

    #[test]
    fn a_changed_object_or_a_missing_commit_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let (head, stream, cache) = exported(t.path());
        let at = stream.windows(5).position(|w| w == b"deep\n").unwrap();
        let mut changed = stream.clone();
        changed[at] = b'D';
        let repo = Repo::open_cache("https://example.invalid/x.git", "x", &cache).unwrap();
        let e = repo.import_objects(&mut &changed[..], changed.len() as u64, "sources/x", &[head]).unwrap_err();
        assert!(
            e.to_string().starts_with("sources/x: object ") && e.to_string().contains("does not have that id"),
            "{e}"
        );
        let other = ObjectId::from_hex(b"0123456789012345678901234567890123456789").unwrap();
        let e = repo.import_objects(&mut &stream[..], stream.len() as u64, "sources/x", &[other]).unwrap_err();
        assert!(e.to_string().contains("does not hold the commit"), "{e}");
        let cut = &stream[..stream.len() - 3];
        let e = repo.import_objects(&mut &cut[..], cut.len() as u64, "sources/x", &[head]).unwrap_err();
        assert!(e.to_string().contains("cut short"), "{e}");
        let e = repo.import_objects(&mut &b"PK\x03\x04"[..], 4, "sources/x", &[head]).unwrap_err();
        assert!(e.to_string().contains("not a stream of git objects"), "{e}");
    }
}
