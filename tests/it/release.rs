//! The release archives and the install script. scripts/release.sh packs the binary under test as
//! the host's archive (building the static release binary itself is .ci/run's separate step: too
//! slow for the suite), a server on 127.0.0.1 serves the folder, and scripts/install.sh, run by
//! `sh` with an almost empty environment, installs from there as `curl … | sh` would.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::servers::Files;
use crate::common::{bin, run_timed, texts, write};

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The target install.sh picks on this machine.
fn host_target() -> String {
    format!("{}-unknown-linux-musl", std::env::consts::ARCH)
}

fn archive_name() -> String {
    format!("atk-{VERSION}-{}.tar.gz", host_target())
}

/// scripts/release.sh packs the binary under test into `dist` as the host's archive, with
/// SHA256SUMS.
fn pack(dist: &Path) {
    let mut c = Command::new("bash");
    c.arg(repo().join("scripts/release.sh"))
        .arg("--out")
        .arg(dist)
        .arg("--binary")
        .arg(bin())
        .arg(host_target())
        .current_dir(repo())
        .stdin(Stdio::null());
    let (out, _) = run_timed(c, 300);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "release.sh failed:\n{stdout}\n{stderr}");
}

/// install.sh run by `sh` with only PATH, HOME and the given variables.
fn install(home: &Path, path: &str, vars: &[(&str, &str)]) -> std::process::Output {
    let mut c = Command::new("sh");
    c.arg(repo().join("scripts/install.sh"))
        .env_clear()
        .env("PATH", path)
        .env("HOME", home)
        .current_dir(home)
        .stdin(Stdio::null());
    for (k, v) in vars {
        c.env(k, v);
    }
    run_timed(c, 120).0
}

/// install.sh with `home` as HOME, a plain PATH, the release folder `server` serves and `target`
/// as the folder to install into.
fn install_from(home: &Path, server: &Files, target: &Path) -> std::process::Output {
    let (url, dir) = (server.url(), target.display().to_string());
    install(home, "/usr/bin:/bin", &[("ATK_INSTALL_URL", url.as_str()), ("ATK_INSTALL_DIR", dir.as_str())])
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_string()
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|e| e.unwrap().path().strip_prefix(dir).unwrap().display().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn the_archive_holds_the_binary_completions_license_and_readme_with_its_checksum() {
    let tmp = tempfile::tempdir().unwrap();
    let dist = tmp.path().join("dist");
    pack(&dist);
    let top = format!("atk-{VERSION}-{}", host_target());
    let listing = Command::new("tar").arg("-tzf").arg(dist.join(archive_name())).output().unwrap();
    assert!(listing.status.success());
    let mut entries: Vec<String> =
        String::from_utf8(listing.stdout).unwrap().lines().filter(|l| !l.ends_with('/')).map(String::from).collect();
    entries.sort();
    // The man pages: atk.1 and one per command (`atk __generate-man DIR`).
    let (pages, others): (Vec<String>, Vec<String>) =
        entries.into_iter().partition(|e| e.starts_with(&format!("{top}/man/")));
    let want: Vec<String> =
        ["LICENSE", "README.md", "atk", "completions/_atk", "completions/atk.bash", "completions/atk.fish"]
            .iter()
            .map(|f| format!("{top}/{f}"))
            .collect();
    assert_eq!(others, want);
    for page in ["atk.1", "atk-add.1", "atk-registry-index.1"] {
        assert!(pages.contains(&format!("{top}/man/man1/{page}")), "no {page} in {pages:?}");
    }
    assert!(pages.iter().all(|p| p.ends_with(".1")), "{pages:?}");
    let sums = std::fs::read_to_string(dist.join("SHA256SUMS")).unwrap();
    assert_eq!(sums, format!("{}  {}\n", sha256(&dist.join(archive_name())), archive_name()));

    // The completions are atk's own.
    let unpacked = tmp.path().join("unpacked");
    std::fs::create_dir(&unpacked).unwrap();
    let st = Command::new("tar").arg("-xzf").arg(dist.join(archive_name())).arg("-C").arg(&unpacked).status().unwrap();
    assert!(st.success());
    let bash = Command::new(bin()).args(["completions", "bash"]).output().unwrap().stdout;
    assert_eq!(std::fs::read(unpacked.join(&top).join("completions/atk.bash")).unwrap(), bash);
    assert_eq!(std::fs::read(unpacked.join(&top).join("atk")).unwrap(), std::fs::read(bin()).unwrap());
}

#[test]
fn install_script_installs_from_the_release_folder_and_says_how_to_reach_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dist = tmp.path().join("dist");
    pack(&dist);
    let server = Files::start(&dist);
    let home = tmp.path().join("home");
    std::fs::create_dir(&home).unwrap();

    // The default folder, ~/.local/bin, not on PATH: the script says how to put it there.
    let out = install(&home, "/usr/bin:/bin", &[("ATK_INSTALL_URL", &server.url()), ("SHELL", "/bin/bash")]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "install.sh failed:\n{stdout}\n{stderr}");
    let installed = home.join(".local/bin/atk");
    assert!(stdout.contains(&format!("installed atk {VERSION} to {}", installed.display())), "{stdout}");
    let line = format!("echo 'export PATH=\"{}:$PATH\"' >> ~/.bashrc", home.join(".local/bin").display());
    assert!(stdout.contains(&line), "no PATH hint in:\n{stdout}");
    assert_eq!(server.asked(), ["SHA256SUMS".to_string(), archive_name()]);
    assert_eq!(files_under(&home.join(".local")), ["bin", "bin/atk"]);
    let run = Command::new(&installed).arg("--version").env_clear().output().unwrap();
    assert!(run.status.success());
    assert_eq!(String::from_utf8(run.stdout).unwrap(), format!("atk {VERSION}\n"));
    // A real command: the bundled registry's plugins validate.
    let plugins = repo().join("registry-template/plugins/hello");
    let run = Command::new(&installed).arg("validate").arg(&plugins).env_clear().output().unwrap();
    assert!(run.status.success(), "{:?}", texts(&run));

    // ATK_INSTALL_DIR, already on PATH: no hint; the binary there replaced.
    let dir = tmp.path().join("tools bin");
    std::fs::create_dir(&dir).unwrap();
    write(&dir.join("atk"), "#!/bin/sh\necho old\n", true);
    let dir_s = dir.to_str().unwrap();
    let out = install(
        &home,
        &format!("/usr/bin:{dir_s}:/bin"),
        &[("ATK_INSTALL_URL", &server.url()), ("ATK_INSTALL_DIR", dir_s)],
    );
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "install.sh failed:\n{stdout}\n{stderr}");
    assert!(!stdout.contains("not on your PATH"), "{stdout}");
    assert_eq!(std::fs::read(dir.join("atk")).unwrap(), std::fs::read(bin()).unwrap());
    assert_eq!(files_under(&dir), ["atk"]);
}

#[test]
fn install_script_refuses_a_checksum_that_does_not_match_and_installs_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dist = tmp.path().join("dist");
    pack(&dist);
    let home = tmp.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let target = tmp.path().join("bin");
    let server = Files::start(&dist);
    let refused = |what: &str| {
        let out = install_from(&home, &server, &target);
        let (_, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{what}: not one line: {stderr}");
        assert!(
            stderr.starts_with(&format!("error: {} does not match its checksum in SHA256SUMS", archive_name()))
                && stderr.contains("nothing was installed"),
            "{what}: {stderr}"
        );
        assert!(!target.exists(), "{what}: {} was made", target.display());
        assert_eq!(files_under(&home), Vec::<String>::new(), "{what}");
    };

    // SHA256SUMS names another hash for the archive.
    let sums = std::fs::read_to_string(dist.join("SHA256SUMS")).unwrap();
    let flipped = if sums.starts_with('0') { "1" } else { "0" };
    std::fs::write(dist.join("SHA256SUMS"), format!("{flipped}{}", &sums[1..])).unwrap();
    refused("a tampered SHA256SUMS");

    // The archive changed under its true checksum.
    std::fs::write(dist.join("SHA256SUMS"), &sums).unwrap();
    let archive = dist.join(archive_name());
    let mut bytes = std::fs::read(&archive).unwrap();
    let last = bytes.len() - 100;
    bytes[last] ^= 0xff;
    std::fs::write(&archive, &bytes).unwrap();
    refused("a tampered archive");
}

#[test]
fn install_script_names_a_platform_it_has_no_binary_for_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dist = tmp.path().join("dist");
    std::fs::create_dir(&dist).unwrap();
    // A release folder with this machine's checksum line only: no download is asked for another.
    std::fs::write(dist.join("SHA256SUMS"), format!("{}  {}\n", "ab".repeat(32), archive_name())).unwrap();
    let server = Files::start(&dist);
    let home = tmp.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let fake = tmp.path().join("fake");
    let uname = |os: &str, arch: &str| {
        write(
            &fake.join("uname"),
            &format!("#!/bin/sh\ncase \"$1\" in -s) echo {os} ;; -m) echo {arch} ;; esac\n"),
            true,
        );
        let path = format!("{}:/usr/bin:/bin", fake.display());
        let out = install(&home, &path, &[("ATK_INSTALL_URL", &server.url())]);
        let (_, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(1), "{os} {arch}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{os} {arch}: not one line: {stderr}");
        assert!(!home.join(".local").exists());
        stderr
    };

    let stderr = uname("Linux", "riscv64");
    assert_eq!(stderr, "error: no prebuilt atk for Linux riscv64 (there are for Linux and macOS on x86_64 and aarch64); build it from source: cargo install --locked atk-cli\n");
    let stderr = uname("FreeBSD", "amd64");
    assert!(stderr.starts_with("error: no prebuilt atk for FreeBSD amd64 "), "{stderr}");
    assert_eq!(server.asked(), Vec::<String>::new(), "it downloaded for a platform it refuses");

    // A platform atk is built for whose archive this release lacks.
    let stderr = uname("Darwin", "arm64");
    assert_eq!(
        stderr,
        format!(
            "error: the release at {} has no archive for aarch64-apple-darwin; build atk from source: cargo install --locked atk-cli\n",
            server.url()
        )
    );
    assert_eq!(server.asked(), ["SHA256SUMS"]);
}

#[test]
fn install_script_says_in_one_line_which_download_failed_and_installs_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dist = tmp.path().join("dist");
    std::fs::create_dir(&dist).unwrap();
    let server = Files::start(&dist);
    let home = tmp.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let failed = || {
        let out = install(&home, "/usr/bin:/bin", &[("ATK_INSTALL_URL", &server.url())]);
        let (_, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "not one line: {stderr}");
        assert!(!home.join(".local").exists());
        stderr
    };

    // No SHA256SUMS there: a wrong address.
    let stderr = failed();
    assert_eq!(
        stderr,
        format!(
            "error: could not download {}/SHA256SUMS (curl: (22) The requested URL returned error: 404); check the address (ATK_INSTALL_URL, ATK_VERSION) and your connection\n",
            server.url()
        )
    );

    // SHA256SUMS names an archive the folder lacks.
    std::fs::write(dist.join("SHA256SUMS"), format!("{}  {}\n", "ab".repeat(32), archive_name())).unwrap();
    let stderr = failed();
    assert_eq!(
        stderr,
        format!(
            "error: could not download {}/{} (curl: (22) The requested URL returned error: 404); check your connection and run this again\n",
            server.url(),
            archive_name()
        )
    );
}

/// A folder where the binary goes is refused (not installed into), and no partial copy is left
/// in the install folder, whatever the way out.
#[test]
fn install_script_refuses_a_folder_in_the_binary_s_place_and_leaves_no_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let dist = tmp.path().join("dist");
    pack(&dist);
    let home = tmp.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let target = tmp.path().join("bin");
    std::fs::create_dir_all(target.join("atk")).unwrap();
    let server = Files::start(&dist);
    let out = install_from(&home, &server, &target);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is a folder: nothing was installed"), "{stderr}");
    assert_eq!(files_under(&target), vec!["atk".to_string()], "the folder is as it was, and no copy is left");
}
