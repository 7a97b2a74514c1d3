//! A new plugin folder that passes validation (`atk new`): `plugin.yaml`, working lifecycle
//! scripts, `atk-data.yaml`, and a README.md and SKILL.md to fill in.

use std::path::Path;

use crate::error::{IoContext, Result};

/// What runs the new plugin's service.
#[derive(Clone, Copy, Debug)]
pub enum Template {
    /// Shell scripts of its own.
    Script,
    /// A docker compose file.
    DockerCompose,
}

/// Creates the plugin `name` at `dir` (which must not exist) from `template`; returns the files
/// written, relative to `dir`. On a failure, what was made is removed.
pub fn create(dir: &Path, name: &str, template: Template) -> Result<Vec<String>> {
    let files = match template {
        Template::Script => script_files(name),
        Template::DockerCompose => compose_files(name),
    };
    let result = (|| {
        for (rel, content, executable) in &files {
            let path = dir.join(rel);
            if let Some(p) = path.parent() {
                std::fs::create_dir_all(p).ctx(|| format!("cannot create {}", p.display()))?;
            }
            crate::fs::write_atomic(&path, content.as_bytes(), Some(if *executable { 0o755 } else { 0o644 }))?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = crate::fs::remove_any(dir);
        return Err(e);
    }
    Ok(files.iter().map(|(f, _, _)| f.to_string()).collect())
}

type File = (&'static str, String, bool);

fn plugin_yaml(name: &str, service: &str, lifecycle: &str) -> String {
    format!(
        "schema_version: \"{}\"\nname: {name}\ndescription: One line on what {name} gives an AI agent\n\
         # ai-generated until a person has reviewed it; registries accept only verified plugins.\n\
         maturity: ai-generated\n\nservice:\n{service}\n\
         # Variables the user is asked for by `atk setup`; they land in .env, never in git.\n\
         env_vars:\n  - name: {var}_LOG_LEVEL\n    default: info\n    description: How much {name} logs\n\n\
         lifecycle:\n{lifecycle}",
        crate::plugin::schema::SCHEMA_VERSION,
        var = name.to_uppercase().replace('-', "_"),
    )
}

fn docs(name: &str) -> [File; 2] {
    [
        (
            "README.md",
            format!(
                "# {name}\n\nOne paragraph: what {name} is and why an AI agent wants it.\n\n\
                 ## Setup\n\n```sh\natk add {name}\natk setup {name}\n```\n\nThe variables it asks for, and where to get their values.\n\n\
                 ## Usage\n\nWhat it provides once installed (commands, ports, MCP tools).\n\n\
                 ## Data\n\nWhat it keeps (atk-data.yaml): `atk backup {name}` saves it, `atk restore {name}` puts it back.\n\n\
                 ## Uninstall\n\n`atk remove {name}` stops it and removes what its install set up.\n"
            ),
            false,
        ),
        (
            crate::plugin::skill::FILE,
            // Agent Skills front matter: agents that load skills by themselves (Gemini CLI) skip a
            // SKILL.md without it.
            crate::plugin::skill::with_front_matter(
                &format!(
                    "# {name}\n\nInstructions for an AI agent that has {name}.\n\n\
                     ## When to use it\n\nThe tasks it is the right tool for.\n\n\
                     ## How to use it\n\nThe tools or commands, their arguments, and what they return.\n\n\
                     ## Examples\n\nOne or two short examples of a good call.\n"
                ),
                name,
                &format!("What {name} does and when an agent should use it, in a sentence or two"),
            ),
            false,
        ),
    ]
}

const PREAMBLE: &str =
    "#!/bin/sh\n# Runs in the plugin folder; writes only inside it.\nset -eu\ncd \"$(dirname \"$0\")\"\n";

/// `atk-data.yaml`: what `atk backup` takes (`what`, in words).
fn data_yaml(declaration: &str, what: &str) -> String {
    format!(
        "# The plugin's data, for `atk backup` and `atk restore`: {what}. atk-cli ignores this file.\n\
         # paths: files or folders inside the plugin folder; volumes: docker volumes by name (or\n\
         # \"${{VAR}}\"); stop: true stops the plugin for the copy; scripts: true runs its own backup and\n\
         # restore scripts with $ATK_BACKUP_DIR. Remove this file if the plugin keeps no data.\n{declaration}\n"
    )
}

fn script_files(name: &str) -> Vec<File> {
    let lifecycle = "  install: ./install.sh\n  uninstall: ./uninstall.sh\n  start: ./start.sh\n  stop: ./stop.sh\n  status: ./status.sh\n  logs: cat runtime/service.log\n";
    let mut files = vec![
        ("plugin.yaml", plugin_yaml(name, "  type: script", lifecycle), false),
        ("install.sh", format!("{PREAMBLE}mkdir -p runtime\necho \"{name}: installed\"\n"), true),
        ("uninstall.sh", format!("{PREAMBLE}rm -rf runtime\necho \"{name}: uninstalled\"\n"), true),
        (
            "start.sh",
            format!("{PREAMBLE}mkdir -p runtime data\ntouch runtime/running\necho \"$(date -u) started\" >> runtime/service.log\necho \"{name}: started\"\n"),
            true,
        ),
        (
            "stop.sh",
            format!("{PREAMBLE}rm -f runtime/running\n[ -d runtime ] && echo \"$(date -u) stopped\" >> runtime/service.log\necho \"{name}: stopped\"\n"),
            true,
        ),
        ("status.sh", format!("{PREAMBLE}# Exit 0 when running.\ntest -f runtime/running\n"), true),
        (crate::plugin::data::FILE, data_yaml("paths: [data]", "the files it keeps in data/"), false),
    ];
    files.extend(docs(name));
    files
}

fn compose_files(name: &str) -> Vec<File> {
    let lifecycle = "  install: ./install.sh\n  uninstall: ./uninstall.sh\n  start: docker compose up -d\n  stop: docker compose down\n  status: ./status.sh\n  logs: docker compose logs --tail 100\n";
    let service = "  type: docker-compose\n  compose_file: docker-compose.yml";
    let mut files = vec![
        ("plugin.yaml", plugin_yaml(name, service, lifecycle), false),
        (
            "docker-compose.yml",
            format!("services:\n  {name}:\n    image: busybox:stable\n    command: [\"sh\", \"-c\", \"echo {name} is running; sleep infinity\"]\n    restart: unless-stopped\n    volumes:\n      - data:/data\n\nvolumes:\n  data:\n    # A fixed name (compose would put the project's in front), as atk-data.yaml names it.\n    name: {name}_data\n"),
            false,
        ),
        (
            crate::plugin::data::FILE,
            data_yaml(&format!("volumes: [{name}_data]\nstop: true"), "its docker volume, with the service stopped"),
            false,
        ),
        ("install.sh", format!("{PREAMBLE}docker compose pull\necho \"{name}: images pulled\"\n"), true),
        ("uninstall.sh", format!("{PREAMBLE}docker compose down --volumes --remove-orphans\necho \"{name}: containers and volumes removed\"\n"), true),
        ("status.sh", format!("{PREAMBLE}# Exit 0 when the service is running.\ndocker compose ps --services --filter status=running | grep -qx {name}\n"), true),
    ];
    files.extend(docs(name));
    files
}
