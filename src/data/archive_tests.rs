use super::*;
use std::path::PathBuf;

fn rel(s: &str) -> RelPath {
    RelPath::new(s).unwrap()
}

fn meta() -> PackMeta {
    PackMeta {
        atk_version: "0.1.0".into(),
        created: "2026-12-06T04:40:00Z".parse().unwrap(),
        plugin: ArchivedPlugin { directory: "openmemory".into(), pin: Some("abc123".into()) },
    }
}

fn keep_all(_: &RelPath, _: Kind) -> bool {
    true
}

/// A data folder: files with modes, a nested folder, an empty folder, links inside.
fn data_tree(dir: &Path) -> Root {
    let root = Root::create(dir).unwrap();
    root.write_new(&rel("db.sqlite"), b"SQLite format 3\0 pretend pages", 0o644).unwrap();
    root.set_mode(&rel("db.sqlite"), 0o644).unwrap();
    root.write_new(&rel(".env"), b"SECRET=1\n", 0o600).unwrap();
    root.create_dir_all(&rel("bin")).unwrap();
    root.write_new(&rel("bin/run"), b"#!/bin/sh\necho hi\n", 0o755).unwrap();
    root.set_mode(&rel("bin/run"), 0o4755).unwrap();
    root.create_dir_all(&rel("index/shards")).unwrap();
    root.write_new(&rel("index/shards/0"), &vec![7u8; 200_000], 0o640).unwrap();
    root.set_mode(&rel("index/shards/0"), 0o640).unwrap();
    root.create_dir_all(&rel("empty")).unwrap();
    root.set_mode(&rel("index"), 0o750).unwrap();
    root.symlink(Path::new("db.sqlite"), &rel("current")).unwrap();
    root.symlink(Path::new("../db.sqlite"), &rel("index/db")).unwrap();
    root.symlink(Path::new("index/shards"), &rel("shards")).unwrap();
    root
}

struct Fixture {
    dir: tempfile::TempDir,
    archive: PathBuf,
}

impl Fixture {
    fn path(&self, s: &str) -> PathBuf {
        self.dir.path().join(s)
    }
}

fn packed(encryption: Option<&Encryption>) -> (Fixture, ArchiveManifest) {
    let dir = tempfile::tempdir().unwrap();
    let src = data_tree(&dir.path().join("src"));
    let archive = dir.path().join("backup.tar.gz");
    let keep = |r: &RelPath, _: Kind| r.as_str() != ".env";
    let m = pack(&src, &keep, &meta(), &archive, encryption).unwrap();
    (Fixture { dir, archive }, m)
}

#[test]
fn a_tree_round_trips_with_its_modes_and_links() {
    let (fx, m) = packed(None);
    assert_eq!(m.format, 1);
    assert_eq!(m.created, "2026-12-06T04:40:00Z");
    assert_eq!(m.plugin.pin.as_deref(), Some("abc123"));
    let run = m.files.iter().find(|f| f.path == "bin/run").unwrap();
    assert_eq!(run.mode, 0o755, "the set-user bit is dropped");
    assert_eq!(run.sha256.as_deref(), Some(hex(&Sha256::digest(b"#!/bin/sh\necho hi\n")).as_str()));
    assert!(m.files.iter().all(|f| f.path != ".env"), "the filter leaves .env out");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&fx.archive).unwrap().mode() & 0o777, 0o600);
    assert!(!std::fs::read_dir(fx.dir.path())
        .unwrap()
        .any(|e| crate::fs::is_temp_name(e.unwrap().file_name().to_str().unwrap())));

    assert_eq!(verify(&fx.archive, None).unwrap(), m);
    let staging = fx.path("staging");
    std::fs::create_dir(&staging).unwrap();
    assert_eq!(extract_verified(&fx.archive, None, &staging).unwrap(), m);

    let read = |p: &str| std::fs::read(staging.join(p)).unwrap();
    let mode = |p: &str| std::fs::symlink_metadata(staging.join(p)).unwrap().mode() & 0o7777;
    assert_eq!(read("db.sqlite"), b"SQLite format 3\0 pretend pages");
    assert_eq!(read("index/shards/0"), vec![7u8; 200_000]);
    assert_eq!((mode("bin/run"), mode("db.sqlite"), mode("index/shards/0")), (0o755, 0o644, 0o640));
    assert!(staging.join("empty").is_dir());
    assert_eq!(mode("index"), 0o750);
    assert!(!staging.join(".env").exists());
    assert_eq!(std::fs::read_link(staging.join("current")).unwrap(), Path::new("db.sqlite"));
    assert_eq!(std::fs::read_link(staging.join("index/db")).unwrap(), Path::new("../db.sqlite"));
    assert_eq!(read("shards/0").len(), 200_000);
}

#[test]
fn the_manifest_is_the_first_member() {
    let (fx, m) = packed(None);
    let mut tar = tar::Archive::new(GzDecoder::new(std::fs::File::open(&fx.archive).unwrap()));
    let mut first = tar.entries().unwrap().next().unwrap().unwrap();
    assert_eq!(&*first.path_bytes(), b"atk-archive.json");
    let mut json = String::new();
    first.read_to_string(&mut json).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["plugin"]["directory"], "openmemory");
    assert_eq!(doc["files"].as_array().unwrap().len(), m.files.len());
    assert_eq!(doc["files"][0]["path"], "bin");
}

#[test]
fn pack_refuses_a_link_leading_out_and_special_files_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a.tar.gz");
    let src = data_tree(&dir.path().join("src"));
    src.symlink(Path::new("../../etc/passwd"), &rel("index/out")).unwrap();
    let e = pack(&src, &keep_all, &meta(), &out, None).unwrap_err().to_string();
    assert!(e.contains("index/out") && e.contains("outside"), "{e}");
    assert!(!out.exists());
    // A link that leads out through a link the filter leaves out: only the tree on disk shows it.
    let src = data_tree(&dir.path().join("src1"));
    src.symlink(Path::new(".."), &rel("hidden")).unwrap();
    src.symlink(Path::new("hidden/src"), &rel("b")).unwrap();
    let keep = |r: &RelPath, _: Kind| r.as_str() != "hidden";
    let e = pack(&src, &keep, &meta(), &out, None).unwrap_err().to_string();
    assert!(e.contains("/src1/b links to hidden/src, outside"), "{e}");

    let src = data_tree(&dir.path().join("src2"));
    let fifo = dir.path().join("src2/bin/pipe");
    rustix::fs::mknodat(rustix::fs::CWD, &fifo, rustix::fs::FileType::Fifo, rustix::fs::Mode::from_raw_mode(0o644), 0)
        .unwrap();
    let e = pack(&src, &keep_all, &meta(), &out, None).unwrap_err().to_string();
    assert!(e.contains("bin/pipe") && e.contains("FIFO"), "{e}");
    // Left out by the filter, it is no problem.
    let keep = |r: &RelPath, _: Kind| r.as_str() != "bin/pipe";
    pack(&src, &keep, &meta(), &out, None).unwrap();
}

/// The members of an archive as (header, data), to change and write back.
pub(crate) fn members(archive: &Path) -> Vec<(tar::Header, Vec<u8>)> {
    let mut tar = tar::Archive::new(GzDecoder::new(std::fs::File::open(archive).unwrap()));
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

/// Writes `members` as a gzip-compressed tar at `path`, headers as they are (no path checks).
pub(crate) fn write_members(path: &Path, members: &[(tar::Header, Vec<u8>)]) {
    let mut b = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    for (h, data) in members {
        b.append(h, &data[..]).unwrap();
    }
    std::fs::write(path, b.into_inner().unwrap().finish().unwrap()).unwrap();
}

pub(crate) fn set_name(h: &mut tar::Header, name: &[u8]) {
    let field = &mut h.as_old_mut().name;
    field.fill(0);
    field[..name.len()].copy_from_slice(name);
    h.set_cksum();
}

fn name_of(h: &tar::Header) -> String {
    String::from_utf8(h.path_bytes().into_owned()).unwrap()
}

/// Verifying and extracting `archive` both fail naming `member`, and the staging folder stays
/// empty.
fn refused_naming(fx: &Fixture, member: &str) -> String {
    let e = verify(&fx.archive, None).unwrap_err().to_string();
    assert!(e.contains(&format!("'{member}'")), "{e}");
    let staging = fx.path("staging");
    let _ = std::fs::create_dir(&staging);
    let e2 = extract_verified(&fx.archive, None, &staging).unwrap_err().to_string();
    assert_eq!(e, e2);
    assert_eq!(std::fs::read_dir(&staging).unwrap().count(), 0);
    e
}

#[test]
fn a_changed_byte_is_refused_naming_the_member() {
    let (fx, _) = packed(None);
    let mut ms = members(&fx.archive);
    let db = ms.iter_mut().find(|(h, _)| name_of(h) == "db.sqlite").unwrap();
    db.1[3] ^= 1;
    write_members(&fx.archive, &ms);
    let e = refused_naming(&fx, "db.sqlite");
    assert!(e.contains("sha256"), "{e}");
}

#[test]
fn a_member_added_missing_or_renamed_is_refused() {
    let (fx, _) = packed(None);
    let good = members(&fx.archive);

    let mut ms = good.clone();
    let mut extra = ms.iter().find(|(h, _)| name_of(h) == "db.sqlite").unwrap().clone();
    set_name(&mut extra.0, b"extra");
    ms.push(extra);
    write_members(&fx.archive, &ms);
    assert!(refused_naming(&fx, "extra").contains("not in the manifest"));

    let ms: Vec<_> = good.iter().filter(|(h, _)| name_of(h) != "index/shards/0").cloned().collect();
    write_members(&fx.archive, &ms);
    assert!(refused_naming(&fx, "index/shards/0").contains("missing"));

    let mut ms = good.clone();
    let db = ms.iter_mut().find(|(h, _)| name_of(h) == "db.sqlite").unwrap();
    set_name(&mut db.0, b"db.sqlitf");
    write_members(&fx.archive, &ms);
    refused_naming(&fx, "db.sqlitf");

    // Renamed to escape: refused for its path, before any manifest lookup.
    let mut ms = good.clone();
    let db = ms.iter_mut().find(|(h, _)| name_of(h) == "db.sqlite").unwrap();
    set_name(&mut db.0, b"../db.sqlite");
    write_members(&fx.archive, &ms);
    assert!(refused_naming(&fx, "../db.sqlite").contains("path atk refuses"));

    // The untouched members verify.
    write_members(&fx.archive, &good);
    verify(&fx.archive, None).unwrap();
}

/// A handcrafted archive: a manifest that lists `files` as they are, then `members`.
fn hostile(fx: &Fixture, files: Vec<ArchivedFile>, members: Vec<(tar::Header, Vec<u8>)>) {
    let m = ArchiveManifest {
        format: FORMAT,
        atk_version: "0.1.0".into(),
        created: "2026-12-06T04:40:00Z".into(),
        plugin: ArchivedPlugin { directory: "p".into(), pin: None },
        files,
    };
    let json = serde_json::to_vec(&m).unwrap();
    let mut h = header(tar::EntryType::Regular, json.len() as u64, 0o600, 0);
    set_name(&mut h, MANIFEST_NAME.as_bytes());
    let mut all = vec![(h, json)];
    all.extend(members);
    write_members(&fx.archive, &all);
}

fn file_entry(path: &str, data: &[u8]) -> ArchivedFile {
    ArchivedFile {
        path: path.into(),
        kind: MemberKind::File,
        size: data.len() as u64,
        sha256: Some(hex(&Sha256::digest(data))),
        mode: 0o644,
        link: None,
    }
}

fn member(kind: tar::EntryType, name: &[u8], data: &[u8], link: Option<&[u8]>, mode: u32) -> (tar::Header, Vec<u8>) {
    let mut h = header(kind, data.len() as u64, mode, 0);
    if let Some(l) = link {
        h.as_old_mut().linkname[..l.len()].copy_from_slice(l);
    }
    set_name(&mut h, name);
    (h, data.to_vec())
}

fn empty_fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("hostile.tar.gz");
    Fixture { dir, archive }
}

#[test]
fn hostile_paths_are_refused_listed_or_not() {
    let fx = empty_fixture();
    let outside = fx.path("x");
    let absolute = fx.path("abs-x");
    for name in ["../x".to_string(), absolute.display().to_string(), "/etc/x".into(), "a/../../x".into(), "".into()] {
        let m = member(tar::EntryType::Regular, name.as_bytes(), b"pwned", None, 0o644);
        // Listed in the manifest: refused as the manifest is checked.
        hostile(&fx, vec![file_entry(&name, b"pwned")], vec![m.clone()]);
        refused_naming(&fx, &name);
        // Not listed: refused as the member is read.
        hostile(&fx, vec![], vec![m]);
        refused_naming(&fx, &name);
    }
    assert!(!outside.exists() && !absolute.exists());
}

#[test]
fn a_link_out_then_a_file_through_it_is_refused() {
    let fx = empty_fixture();
    let victim = fx.path("victim");
    std::fs::create_dir(&victim).unwrap();
    let target = victim.display().to_string();
    for target in [target.as_str(), "/etc", "../victim", "sub/../../victim"] {
        let link = ArchivedFile {
            path: "a".into(),
            kind: MemberKind::Link,
            size: 0,
            sha256: None,
            mode: 0o777,
            link: Some(target.into()),
        };
        let members = vec![
            member(tar::EntryType::Symlink, b"a", b"", Some(target.as_bytes()), 0o777),
            member(tar::EntryType::Regular, b"a/passwd", b"pwned", None, 0o644),
        ];
        hostile(&fx, vec![link.clone(), file_entry("a/passwd", b"pwned")], members.clone());
        assert!(refused_naming(&fx, "a").contains("outside"));
        // Even without the link out, a member below a link is refused.
        let inside = ArchivedFile { link: Some(".".into()), ..link };
        hostile(
            &fx,
            vec![inside, file_entry("a/passwd", b"pwned")],
            vec![member(tar::EntryType::Symlink, b"a", b"", Some(b"."), 0o777), members[1].clone()],
        );
        assert!(refused_naming(&fx, "a/passwd").contains("not a folder"));
    }
    assert_eq!(std::fs::read_dir(&victim).unwrap().count(), 0);
}

#[test]
fn links_through_links_are_followed_when_the_manifest_is_checked() {
    let links: HashMap<&str, &str> = [("up", ".."), ("d/up", ".."), ("d/deep", "up/up"), ("loop", "loop")].into();
    assert!(link_stays_inside(&links, "d/x", "up/x"));
    assert!(!link_stays_inside(&links, "x", "up/x"), "from the root, up leads out");
    assert!(!link_stays_inside(&links, "d/y", "deep"));
    assert!(!link_stays_inside(&links, "x", "loop"));
    assert!(link_stays_inside(&links, "d/e/x", "../../x"));
    assert!(!link_stays_inside(&links, "d/x", "../../x"));
}

#[test]
fn hard_links_devices_and_fifos_are_refused() {
    let fx = empty_fixture();
    for (kind, name, why) in [
        (tar::EntryType::Link, "passwd", "hard link"),
        (tar::EntryType::Char, "null", "device node"),
        (tar::EntryType::Block, "sda", "device node"),
        (tar::EntryType::Fifo, "pipe", "FIFO"),
    ] {
        let link = (kind == tar::EntryType::Link).then_some(&b"/etc/passwd"[..]);
        let m = member(kind, name.as_bytes(), b"", link, 0o644);
        hostile(&fx, vec![file_entry(name, b"")], vec![m]);
        assert!(refused_naming(&fx, name).contains(why));
    }
}

#[test]
fn a_mode_with_special_bits_or_unlike_the_manifest_is_refused() {
    let fx = empty_fixture();
    let m = member(tar::EntryType::Regular, b"f", b"x", None, 0o4755);
    hostile(&fx, vec![ArchivedFile { mode: 0o4755, ..file_entry("f", b"x") }], vec![m.clone()]);
    assert!(refused_naming(&fx, "f").contains("special bits"));
    hostile(&fx, vec![ArchivedFile { mode: 0o755, ..file_entry("f", b"x") }], vec![m]);
    assert!(refused_naming(&fx, "f").contains("mode"));
}

#[test]
fn extraction_needs_an_empty_staging_folder() {
    let (fx, _) = packed(None);
    let staging = fx.path("staging");
    std::fs::create_dir(&staging).unwrap();
    std::fs::write(staging.join("old"), "x").unwrap();
    let e = extract_verified(&fx.archive, None, &staging).unwrap_err().to_string();
    assert!(e.contains("not empty"), "{e}");
}

#[test]
fn an_encrypted_archive_needs_its_passphrase() {
    let enc = Encryption::new("correct horse").with_work_factor(10);
    let (fx, m) = packed(Some(&enc));
    let head = std::fs::read(&fx.archive).unwrap();
    assert!(head.starts_with(b"age-encryption.org/v1\n"));
    assert!(!head.windows(9).any(|w| w == b"db.sqlite"), "nothing readable in it");

    let e = verify(&fx.archive, None).unwrap_err();
    assert!(e.to_string().contains("a passphrase is needed"), "{e}");
    let e = verify(&fx.archive, Some("wrong horse")).unwrap_err();
    assert!(e.to_string().starts_with("wrong passphrase"), "{e}");
    assert_eq!(verify(&fx.archive, Some("correct horse")).unwrap(), m);

    let staging = fx.path("staging");
    std::fs::create_dir(&staging).unwrap();
    let e = extract_verified(&fx.archive, Some("wrong horse"), &staging).unwrap_err();
    assert!(e.to_string().starts_with("wrong passphrase"), "{e}");
    extract_verified(&fx.archive, Some("correct horse"), &staging).unwrap();
    assert_eq!(std::fs::read(staging.join("bin/run")).unwrap(), b"#!/bin/sh\necho hi\n");

    // A changed byte of the ciphertext is refused too.
    let mut bytes = head.clone();
    let at = bytes.len() - 40;
    bytes[at] ^= 1;
    std::fs::write(&fx.archive, bytes).unwrap();
    let e = verify(&fx.archive, Some("correct horse")).unwrap_err();
    assert!(e.to_string().contains("damaged"), "{e}");
}

#[test]
fn what_is_not_an_archive_is_said_so() {
    let fx = empty_fixture();
    std::fs::write(&fx.archive, "hello").unwrap();
    let e = verify(&fx.archive, None).unwrap_err().to_string();
    assert!(e.contains("not an atk archive"), "{e}");
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(&[0u8; 1024]).unwrap();
    std::fs::write(&fx.archive, gz.finish().unwrap()).unwrap();
    let e = verify(&fx.archive, None).unwrap_err().to_string();
    assert!(e.contains("empty"), "{e}");
}

#[test]
fn a_manifest_entry_unlike_its_kind_is_refused() {
    let fx = empty_fixture();
    let m = member(tar::EntryType::Regular, b"f", b"x", None, 0o644);
    for bad in [
        ArchivedFile { sha256: None, ..file_entry("f", b"x") },
        ArchivedFile { sha256: Some("zz".into()), ..file_entry("f", b"x") },
        ArchivedFile { link: Some("g".into()), ..file_entry("f", b"x") },
        ArchivedFile { kind: MemberKind::Dir, ..file_entry("f", b"x") },
        ArchivedFile { kind: MemberKind::Link, ..file_entry("f", b"x") },
    ] {
        hostile(&fx, vec![bad], vec![m.clone()]);
        assert!(refused_naming(&fx, "f").contains("is not described as"));
    }
}

#[test]
fn a_member_unlike_its_manifest_entry_is_refused() {
    let fx = empty_fixture();
    // Before its folder.
    let dir = ArchivedFile { path: "d".into(), kind: MemberKind::Dir, size: 0, sha256: None, mode: 0o755, link: None };
    hostile(
        &fx,
        vec![dir.clone(), file_entry("d/f", b"x")],
        vec![
            member(tar::EntryType::Regular, b"d/f", b"x", None, 0o644),
            member(tar::EntryType::Directory, b"d/", b"", None, 0o755),
        ],
    );
    assert!(refused_naming(&fx, "d/f").contains("before its folder"));
    // A link elsewhere.
    let link = ArchivedFile {
        path: "l".into(),
        kind: MemberKind::Link,
        size: 0,
        sha256: None,
        mode: 0o777,
        link: Some("a".into()),
    };
    hostile(&fx, vec![link], vec![member(tar::EntryType::Symlink, b"l", b"", Some(b"b"), 0o777)]);
    assert!(refused_naming(&fx, "l").contains("links elsewhere"));
    // Another size, the content's hash listed.
    hostile(
        &fx,
        vec![ArchivedFile { size: 5, ..file_entry("f", b"xyz") }],
        vec![member(tar::EntryType::Regular, b"f", b"xyz", None, 0o644)],
    );
    assert!(refused_naming(&fx, "f").contains("another size"));
    // The same member twice.
    let m = member(tar::EntryType::Regular, b"f", b"x", None, 0o644);
    hostile(&fx, vec![file_entry("f", b"x")], vec![m.clone(), m.clone()]);
    assert!(refused_naming(&fx, "f").contains("twice"));
    // Listed twice.
    hostile(&fx, vec![file_entry("f", b"x"), file_entry("f", b"x")], vec![m.clone()]);
    assert!(refused_naming(&fx, "f").contains("listed twice"));
    // A folder as a file.
    hostile(&fx, vec![file_entry("f", b"")], vec![member(tar::EntryType::Directory, b"f/", b"", None, 0o644)]);
    assert!(refused_naming(&fx, "f").contains("the manifest says a file"));
}

#[test]
fn a_changed_gzip_checksum_is_refused() {
    let (fx, _) = packed(None);
    let mut bytes = std::fs::read(&fx.archive).unwrap();
    let crc = bytes.len() - 8;
    bytes[crc] ^= 1;
    std::fs::write(&fx.archive, bytes).unwrap();
    let e = verify(&fx.archive, None).unwrap_err().to_string();
    assert!(e.contains("damaged"), "{e}");
}
