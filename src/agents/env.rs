//! Where agents keep their files, resolved once by the command.

use std::ffi::OsString;
use std::path::PathBuf;

/// Where agents keep their files, resolved once by the command from the environment.
#[derive(Debug, Clone, Default)]
pub struct AgentEnv {
    /// The user's home folder.
    pub home: PathBuf,
    /// `CLAUDE_CONFIG_DIR` (else `~/.claude`).
    pub claude_config_dir: Option<PathBuf>,
    /// `CODEX_HOME` (else `~/.codex`).
    pub codex_home: Option<PathBuf>,
    /// `GEMINI_CLI_HOME`: where Gemini CLI keeps its `.gemini` folder (else the user's home).
    pub gemini_home: Option<PathBuf>,
    /// `OPENCODE_CONFIG`: a file OpenCode merges over its global ones.
    pub opencode_config: Option<PathBuf>,
    /// `XDG_CONFIG_HOME` (else `~/.config`).
    pub xdg_config_home: Option<PathBuf>,
    /// `PATH`, where agents' programs are looked for.
    pub path: Option<OsString>,
    /// VS Code keeps its profile under `~/Library/Application Support` on macOS.
    pub macos: bool,
    /// The values of this process's variables that are named like secrets (`GITHUB_TOKEN`, …):
    /// agents' programs inherit them, so what they say back is scrubbed of them too.
    pub secrets: Vec<String>,
    /// How agents start atk (`atk exec`), for the home this command uses.
    pub launcher: super::Launcher,
}

impl AgentEnv {
    /// Where the agents keep their files, from `CLAUDE_CONFIG_DIR`, `CODEX_HOME`,
    /// `XDG_CONFIG_HOME` (absolute paths only) and `PATH` of `environment`; and how they start
    /// atk for `home`.
    pub fn of(environment: &crate::environment::Environment, home: &std::path::Path) -> AgentEnv {
        let dir = |k: &str| environment.var_os(k).map(PathBuf::from).filter(|p| p.is_absolute());
        // Claude Code, Codex and Gemini CLI take a relative folder from where they run, which is
        // where atk runs them.
        let dir_or_relative = |k: &str| {
            environment.var_os(k).filter(|p| !p.is_empty()).and_then(|p| std::path::absolute(PathBuf::from(p)).ok())
        };
        AgentEnv {
            home: environment.user_home(),
            claude_config_dir: dir_or_relative("CLAUDE_CONFIG_DIR"),
            codex_home: dir_or_relative("CODEX_HOME"),
            gemini_home: dir_or_relative("GEMINI_CLI_HOME"),
            opencode_config: environment
                .var_os("OPENCODE_CONFIG")
                .filter(|p| !p.is_empty())
                .and_then(|p| std::path::absolute(PathBuf::from(p)).ok()),
            xdg_config_home: dir("XDG_CONFIG_HOME"),
            path: environment.var_os("PATH").cloned(),
            macos: cfg!(target_os = "macos"),
            secrets: environment.secrets().to_vec(),
            launcher: super::Launcher {
                atk: environment.exe().cloned().unwrap_or_else(|| PathBuf::from("atk")),
                home: home.to_path_buf(),
            },
        }
    }

    pub fn claude_dir(&self) -> PathBuf {
        self.claude_config_dir.clone().unwrap_or_else(|| self.home.join(".claude"))
    }
    pub fn codex_dir(&self) -> PathBuf {
        self.codex_home.clone().unwrap_or_else(|| self.home.join(".codex"))
    }
    /// Claude Code's own file, where its user-scope servers are (`mcpServers`): the legacy
    /// `.config.json` of its config folder when there is one (Claude Code then uses that), else
    /// `.claude.json` in `$CLAUDE_CONFIG_DIR` (else the user's home).
    pub fn claude_json(&self) -> PathBuf {
        let legacy = self.claude_dir().join(".config.json");
        if std::fs::symlink_metadata(&legacy).is_ok() {
            return legacy;
        }
        self.claude_config_dir.as_deref().unwrap_or(&self.home).join(".claude.json")
    }
    /// Gemini CLI's `.gemini` folder: in `$GEMINI_CLI_HOME`, else the user's home.
    pub fn gemini_dir(&self) -> PathBuf {
        self.gemini_home.as_deref().unwrap_or(&self.home).join(".gemini")
    }
    pub fn config_dir(&self) -> PathBuf {
        self.xdg_config_home.clone().unwrap_or_else(|| self.home.join(".config"))
    }

    /// The executable `program` on `PATH`.
    pub fn which(&self, program: &str) -> Option<PathBuf> {
        use std::os::unix::fs::PermissionsExt;
        let path = self.path.as_ref()?;
        std::env::split_paths(path)
            .filter(|d| !d.as_os_str().is_empty())
            .map(|d| d.join(program))
            .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
    }
}
