//! A stand-in `docker` for the data tests (tests/support/fake_docker.py): volumes are folders.

use std::path::PathBuf;

use super::*;

/// `docker` on a PATH of its own, its volumes in `volumes/<name>`, its calls in `log`.
pub struct FakeDocker {
    pub bin: PathBuf,
    pub volumes: PathBuf,
    pub log: PathBuf,
}

impl FakeDocker {
    pub fn new(env: &Env) -> FakeDocker {
        let bin = env.path("docker-bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/fake_docker.py"),
            bin.join("docker"),
        )
        .unwrap();
        FakeDocker { bin, volumes: env.path("volumes"), log: env.path("docker-log") }
    }

    /// `atk args…` in `env` with this docker first on PATH (and `envs` set); its output.
    pub fn atk(&self, env: &Env, args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
        let path = format!("{}:{}", self.bin.display(), std::env::var("PATH").unwrap());
        env.cmd()
            .args(args)
            .env("PATH", path)
            .env("FAKE_DOCKER_VOLUMES", &self.volumes)
            .env("FAKE_DOCKER_LOG", &self.log)
            .envs(envs.iter().copied())
            .output()
            .unwrap()
    }
}
