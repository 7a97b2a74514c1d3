//! Regressions found by attacking the runtime commands: each test is named after what it pins.

use std::time::{Duration, Instant};

use crate::common::servers::Silent;
use crate::common::*;

fn add(env: &Env, dir: &std::path::Path) {
    env.ok(&["add", dir.to_str().unwrap(), "-y"]);
}

/// `help` reads README.md through a link that leads out of the plugin folder (`run` refuses the
/// same link; `.env` refuses any link): a private key is printed.
#[test]
fn help_does_not_follow_a_readme_link_out_of_the_plugin() {
    let env = Env::new();
    let dir = env.plugin("src/doc", &yaml("doc", ""), &[]);
    add(&env, &dir);
    let secret = env.home.join(".ssh/id_rsa");
    write(&secret, "-----BEGIN OPENSSH PRIVATE KEY-----\nTOPSECRET\n", false);
    std::os::unix::fs::symlink(&secret, env.atk_home.join("plugins/doc/README.md")).unwrap();
    let out = env.cmd().args(["help", "doc"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("TOPSECRET"), "help printed a file outside the plugin:\n{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("leads out of the plugin folder"));
    assert!(out.status.success(), "the card is still shown");
}

/// The status command and the health request of a plugin run at once, each bounded by
/// `--timeout` (they ran one after the other: a row took up to twice the timeout). The bound is
/// wide: one after the other takes 15 s here, at once 8 s.
#[test]
fn status_probes_of_one_plugin_run_at_once() {
    let env = Env::new();
    let silent = Silent::start();
    let dir = env.plugin(
        "src/slowhealth",
        &yaml(
            "slowhealth",
            &format!("lifecycle:\n  status: sleep 7; true\n  health_endpoint: http://127.0.0.1:{}/\n", silent.port),
        ),
        &[],
    );
    add(&env, &dir);
    let t = Instant::now();
    env.cmd().args(["status", "--timeout", "8"]).output().unwrap();
    let took = t.elapsed();
    assert!(took < Duration::from_secs(13), "status --timeout 8 took {took:?}");
}

/// Ctrl-C during `status` while a health endpoint is silent ends atk at once with 130 (it waited
/// for the whole timeout, then exited 0 with the table).
#[test]
fn ctrl_c_ends_status_waiting_for_a_silent_health_endpoint() {
    let env = Env::new();
    let silent = Silent::start();
    let dir = env.plugin(
        "src/hang",
        &yaml("hang", &format!("lifecycle:\n  health_endpoint: http://127.0.0.1:{}/\n", silent.port)),
        &[],
    );
    add(&env, &dir);
    let child = env
        .std_cmd()
        .args(["status", "--timeout", "60"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    silent.wait_for_a_connection();
    let t = Instant::now();
    signal(child.id(), Signal::INT).unwrap();
    let out = wait_with_timeout(child, 60);
    let took = t.elapsed();
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(took < Duration::from_secs(20), "Ctrl-C took {took:?}");
}

/// `restart --all` with one plugin whose port is taken by a stranger is refused (exit 9) before
/// anything is stopped (every plugin was stopped, then the start pre-flight failed and nothing
/// was started again).
#[test]
fn restart_all_checks_foreign_ports_before_stopping_anything() {
    let env = Env::new();
    let flag = env.path("a-running");
    let good = env.plugin(
        "src/good",
        &yaml(
            "good",
            &format!("lifecycle:\n  start: touch {0}\n  stop: rm -f {0}\n  status: test -f {0}\n", flag.display()),
        ),
        &[],
    );
    add(&env, &good);
    let taken = Silent::start();
    let port = taken.port;
    let other = env.plugin(
        "src/other",
        &yaml(
            "other",
            &format!("ports:\n  - port: {port}\nlifecycle:\n  start: 'true'\n  stop: 'true'\n  status: 'false'\n"),
        ),
        &[],
    );
    add(&env, &other);
    env.ok(&["start", "good"]);
    assert!(flag.exists());
    let out = env.cmd().args(["restart", "--all"]).output().unwrap();
    assert_eq!(out.status.code(), Some(9));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&port.to_string()));
    assert!(flag.exists(), "restart --all left 'good' stopped because of 'other''s port conflict");
}

/// stdin redirected, but a terminal is there (`atk run p script < /dev/null` typed in a shell,
/// with a script that asks for a password through /dev/tty, as sudo does): the script stays in
/// the terminal's foreground group and reads it (in a group of its own it was stopped by SIGTTIN
/// and atk waited for ever).
#[test]
fn a_script_reads_the_terminal_when_stdin_is_redirected() {
    let env = Env::new();
    let dir = env.plugin(
        "src/tool",
        &yaml("tool", ""),
        &[("ask.sh", "#!/bin/sh\nprintf 'password: ' > /dev/tty\nread x < /dev/tty\necho \"got $x\"\n", true)],
    );
    add(&env, &dir);
    let mut cmd = std::process::Command::new("sh");
    env.apply(&mut cmd);
    cmd.env_remove("CI")
        .env("TERM", "dumb")
        .arg("-c")
        .arg(format!("exec {} run tool ask < /dev/null", bin().display()));
    let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
    p.exp_string("password: ").expect("the script never asked");
    p.send_line("hunter2").unwrap();
    p.exp_string("got hunter2").expect("the script could not read the terminal (stopped by SIGTTIN?)");
}

/// `service.compose_file` is quoted for the shell when the override is added: a name with a space
/// stays one argument for docker.
#[test]
fn a_compose_file_name_with_a_space_stays_one_argument() {
    let env = Env::new();
    let bin = env.path("bin");
    let log = env.path("docker.log");
    write(
        &bin.join("docker"),
        &format!("#!/bin/sh\nfor a in \"$@\"; do echo \"[$a]\"; done >> {}\n", log.display()),
        true,
    );
    let dir = env.plugin(
        "src/svc",
        &yaml("svc", "service:\n  type: docker-compose\n  compose_file: my stack.yml\nlifecycle:\n  start: docker compose up -d\n"),
        &[("my stack.yml", "services: {}\n", false), ("custom/docker-compose.override.yml", "services: {}\n", false)],
    );
    add(&env, &dir);
    env.cmd().args(["start", "svc"]).env("PATH", path_with(&bin)).output().unwrap();
    let argv = std::fs::read_to_string(&log).unwrap();
    assert!(argv.contains("[my stack.yml]"), "docker got:\n{argv}");
}
