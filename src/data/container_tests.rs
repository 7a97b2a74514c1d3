use super::*;

const NAME: &str = "test-manifest.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Doc {
    note: String,
    members: Vec<Member>,
}

fn members_of(d: &Doc) -> &[Member] {
    &d.members
}

struct Fixture {
    dir: tempfile::TempDir,
    file: PathBuf,
    doc: Doc,
}

impl Fixture {
    fn path(&self, s: &str) -> PathBuf {
        self.dir.path().join(s)
    }
}

/// A container with two members, one in a folder, one large.
fn written() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    std::fs::write(&a, b"home bundle bytes").unwrap();
    std::fs::write(&b, vec![3u8; 300_000]).unwrap();
    let list = vec![
        (describe("home.bundle", &a).unwrap(), a.clone()),
        (describe("sources/reg-1.objects", &b).unwrap(), b.clone()),
    ];
    let doc = Doc { note: "hi".into(), members: list.iter().map(|(m, _)| m.clone()).collect() };
    let file = dir.path().join("out.atk");
    write(&file, NAME, &serde_json::to_vec(&doc).unwrap(), &list, 1_700_000_000).unwrap();
    Fixture { dir, file, doc }
}

// The members of a gzip tar, to change and write back: the archive tests' helpers.
use crate::data::archive::tests::{members as entries, set_name, write_members as rewrite};

/// Verifying and extracting both fail naming `member`; the staging folder stays empty.
fn refused_naming(fx: &Fixture, member: &str) -> String {
    let e = verify::<Doc>(&fx.file, NAME, members_of).unwrap_err();
    let text = e.to_string();
    assert!(text.contains(&format!("'{member}'")), "{text}");
    let staging = fx.path("staging");
    std::fs::create_dir_all(&staging).unwrap();
    assert!(extract_verified::<Doc>(&fx.file, NAME, members_of, &staging).is_err());
    assert_eq!(std::fs::read_dir(&staging).unwrap().count(), 0, "nothing written before the whole file is checked");
    text
}

#[test]
fn members_round_trip_after_the_manifest() {
    let fx = written();
    let all = entries(&fx.file);
    let names: Vec<String> = all.iter().map(|(h, _)| String::from_utf8(h.path_bytes().into_owned()).unwrap()).collect();
    assert_eq!(names, [NAME, "home.bundle", "sources/reg-1.objects"]);
    assert_eq!(std::fs::metadata(&fx.file).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(verify::<Doc>(&fx.file, NAME, members_of).unwrap(), fx.doc);
    let staging = fx.path("staging");
    std::fs::create_dir(&staging).unwrap();
    assert_eq!(extract_verified::<Doc>(&fx.file, NAME, members_of, &staging).unwrap(), fx.doc);
    assert_eq!(std::fs::read(staging.join("home.bundle")).unwrap(), b"home bundle bytes");
    assert_eq!(std::fs::read(staging.join("sources/reg-1.objects")).unwrap(), vec![3u8; 300_000]);
}

#[test]
fn a_changed_byte_is_refused_naming_the_member() {
    let fx = written();
    let mut all = entries(&fx.file);
    all[2].1[1000] ^= 1;
    rewrite(&fx.file, &all);
    assert!(refused_naming(&fx, "sources/reg-1.objects").contains("differs from the manifest"));
}

#[test]
fn a_member_added_missing_or_renamed_is_refused() {
    let fx = written();
    let original = entries(&fx.file);

    let mut added = original.clone();
    let mut h = original[1].0.clone();
    set_name(&mut h, b"extra");
    added.push((h, original[1].1.clone()));
    rewrite(&fx.file, &added);
    assert!(refused_naming(&fx, "extra").contains("is not in the manifest"));

    rewrite(&fx.file, &original[..2]);
    assert!(refused_naming(&fx, "sources/reg-1.objects").contains("is missing"));

    let mut renamed = original.clone();
    set_name(&mut renamed[1].0, b"../x");
    rewrite(&fx.file, &renamed);
    refused_naming(&fx, "../x");

    let mut twice = original.clone();
    twice.push(original[1].clone());
    rewrite(&fx.file, &twice);
    assert!(refused_naming(&fx, "home.bundle").contains("twice"));
}

#[test]
fn links_devices_fifos_and_folders_are_refused() {
    let fx = written();
    let original = entries(&fx.file);
    for (kind, link, why) in [
        (tar::EntryType::Symlink, Some(&b"/etc"[..]), "symbolic link"),
        (tar::EntryType::Link, Some(&b"/etc/passwd"[..]), "hard link"),
        (tar::EntryType::Char, None, "device node"),
        (tar::EntryType::Block, None, "device node"),
        (tar::EntryType::Fifo, None, "FIFO"),
        (tar::EntryType::Directory, None, "folder"),
    ] {
        let mut all = original.clone();
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(0);
        h.set_mode(0o644);
        set_name(&mut h, b"home.bundle");
        if let Some(target) = link {
            h.set_link_name(std::str::from_utf8(target).unwrap()).unwrap();
        }
        h.set_cksum();
        all[1] = (h, vec![]);
        rewrite(&fx.file, &all);
        assert!(refused_naming(&fx, "home.bundle").contains(why), "{why}");
    }
}

#[test]
fn a_manifest_listing_a_bad_path_is_refused() {
    let fx = written();
    for (bad, why) in [("../x", "path atk refuses"), ("/etc/passwd", "path atk refuses"), (NAME, "manifest's name")] {
        let mut doc = fx.doc.clone();
        doc.members[0].path = bad.into();
        let mut all = entries(&fx.file);
        all[0].1 = serde_json::to_vec(&doc).unwrap();
        let n = all[0].1.len() as u64;
        all[0].0.set_size(n);
        all[0].0.set_cksum();
        rewrite(&fx.file, &all);
        assert!(refused_naming(&fx, bad).contains(why), "{bad}");
    }
    let mut doc = fx.doc.clone();
    doc.members[1].path = "home.bundle/inner".into();
    let mut all = entries(&fx.file);
    all[0].1 = serde_json::to_vec(&doc).unwrap();
    let n = all[0].1.len() as u64;
    all[0].0.set_size(n);
    all[0].0.set_cksum();
    rewrite(&fx.file, &all);
    assert!(refused_naming(&fx, "home.bundle/inner").contains("below 'home.bundle'"));
}

#[test]
fn a_member_that_changed_since_it_was_described_is_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    std::fs::write(&a, b"before").unwrap();
    let m = describe("a", &a).unwrap();
    std::fs::write(&a, b"after!").unwrap();
    let out = dir.path().join("out.atk");
    let e = write(&out, NAME, b"{}", &[(m, a)], 0).unwrap_err();
    assert!(e.to_string().contains("changed while it was written"), "{e}");
    assert!(!out.exists());
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left.len(), 1, "no temporary file is left: {left:?}");
}

#[test]
fn not_a_container_is_said_so() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("x");
    std::fs::write(&f, b"plain text").unwrap();
    let e = verify::<Doc>(&f, NAME, members_of).unwrap_err();
    assert!(e.to_string().contains("damaged or not an atk archive"), "{e}");
    let fx = written();
    let mut all = entries(&fx.file);
    set_name(&mut all[0].0, b"other.json");
    rewrite(&fx.file, &all);
    let e = verify::<Doc>(&fx.file, NAME, members_of).unwrap_err();
    assert!(e.to_string().contains(&format!("its first member is not {NAME}")), "{e}");
}
