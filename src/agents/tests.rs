//! The agents' library, driven without the binary: plans, the apply loop with a [`Recorder`],
//! the record, and server resolution.

use std::path::Path;

use super::mcp::{Server, Transport, Var};
use super::*;
use crate::home::Entry;
use crate::reporter::Recorder;

fn server(name: &str, arg: &str) -> Server {
    let transport = Transport::Stdio { command: "srv".into(), args: vec![arg.into()] };
    Server {
        name: name.into(),
        shown_transport: transport.clone(),
        transport,
        env: vec![Var { name: "TOKEN".into(), value: Some("tok-123456".into()), secret: true }],
        optional_unset: vec![],
        timeout: None,
        secrets: vec![],
        command_as_written: Some("srv".into()),
    }
}

fn target(dir: &Path, server: Option<Server>, has_skill: bool) -> Target {
    Target {
        name: "Tool".into(),
        server_name: "Tool".into(),
        description: "d".into(),
        directory: "tool".into(),
        dir: dir.to_path_buf(),
        server,
        has_skill,
        skill_refused: None,
    }
}

fn env_at(home: &Path) -> AgentEnv {
    let launcher = Launcher { atk: "/opt/bin/atk".into(), home: home.join("atk-home") };
    AgentEnv {
        home: home.to_path_buf(),
        path: Some(home.join("bin").into_os_string()),
        launcher,
        ..AgentEnv::default()
    }
}

#[test]
fn a_file_agent_is_configured_once_and_removed_once() {
    let tmp = tempfile::tempdir().unwrap();
    let env = env_at(tmp.path());
    let t = target(tmp.path(), Some(server("Tool", "--a")), true);
    let mut reg = Registered::default();
    let yes = Recorder::answering(true);
    let how = Apply::new(&env, &yes, true, "h");
    let first = apply(AgentId::Cursor, Op::Plug, &t, &mut reg, &how).unwrap();
    assert_eq!(first.status, AgentStatus::Configured);
    assert_eq!(first.notes, ["Cursor has no skills: MCP server only"]);
    let lines = yes.lines();
    assert!(lines.contains(&"asked: Plug 'Tool' into Cursor?".to_string()), "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("\"exec\",")), "{lines:?}");
    assert!(!lines.iter().any(|l| l.contains("tok-123456")), "{lines:?}");
    // The agent is given `atk exec` of the plugin, never the secret.
    let file = tmp.path().join(".cursor/mcp.json");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("\"/opt/bin/atk\"") && text.contains("\"exec\"") && !text.contains("tok-123456"), "{text}");
    assert_eq!(apply(AgentId::Cursor, Op::Plug, &t, &mut reg, &how).unwrap().status, AgentStatus::AlreadyConfigured);
    // A changed server is still `atk exec` of the plugin: nothing to give again.
    let t2 = target(tmp.path(), Some(server("Tool", "--b")), true);
    assert_eq!(apply(AgentId::Cursor, Op::Plug, &t2, &mut reg, &how).unwrap().status, AgentStatus::AlreadyConfigured);
    assert_eq!(apply(AgentId::Cursor, Op::Unplug, &t2, &mut reg, &how).unwrap().status, AgentStatus::Removed);
    assert_eq!(apply(AgentId::Cursor, Op::Unplug, &t2, &mut reg, &how).unwrap().status, AgentStatus::NotConfigured);
}

#[test]
fn declining_skips_and_no_one_to_ask_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let env = env_at(tmp.path());
    let t = target(tmp.path(), Some(server("Tool", "--a")), false);
    let mut reg = Registered::default();
    let no = Recorder::answering(false);
    let how = Apply::new(&env, &no, true, "h");
    let o = apply(AgentId::Windsurf, Op::Plug, &t, &mut reg, &how).unwrap();
    assert_eq!((o.status, o.detail.as_deref()), (AgentStatus::Skipped, Some("declined")));
    let nobody = Recorder::default();
    let how = Apply::new(&env, &nobody, true, "pass --yes");
    let e = apply(AgentId::Windsurf, Op::Plug, &t, &mut reg, &how).unwrap_err();
    assert_eq!(e.exit_code(), crate::error::exit::USAGE);
    assert!(!tmp.path().join(".codeium").exists());
}

#[test]
fn cli_plans_follow_what_the_agent_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let env = env_at(tmp.path());
    let t = target(tmp.path(), Some(server("Tool", "--a")), false);
    let reg = Registered::default();
    let plan = |t: &Target| claude::Claude.plug(t, &Cx { env: &env, registered: &reg, replace: false }).unwrap();
    let hold = |entry: serde_json::Value| {
        let doc = serde_json::json!({"mcpServers": {"Tool": entry}});
        std::fs::write(tmp.path().join(".claude.json"), doc.to_string()).unwrap();
    };
    // Nothing held: added.
    let first = plan(&t).changes;
    let [Change::Run { argv, fingerprint: Some(_), .. }] = first.as_slice() else { panic!("{first:?}") };
    assert_eq!(argv[..3], ["claude", "mcp", "add"]);
    assert_eq!(
        argv[argv.len() - 5..],
        ["/opt/bin/atk", "exec", "--home", &env.launcher.home.display().to_string(), "tool"]
    );
    // Held as atk would give it: nothing to do.
    let exec =
        serde_json::json!({"type": "stdio", "command": "/opt/bin/atk", "args": &argv[argv.len() - 4..], "env": {}});
    hold(exec.clone());
    assert!(plan(&t).changes.is_empty());
    // What atk-cli wrote for the plugin (the resolved server, with its env): atk's, replaced.
    hold(serde_json::json!({"type": "stdio", "command": "srv", "args": ["--a"], "env": {"TOKEN": "tok-123456"}}));
    let again = plan(&t).changes;
    assert!(
        matches!(&again[..], [Change::Run { may_fail: true, fingerprint: None, .. }, Change::Run { .. }]),
        "{again:?}"
    );
    // Someone else's server of that name: a conflict, nothing changed.
    hold(serde_json::json!({"type": "stdio", "command": "npx", "args": ["theirs"]}));
    let theirs = plan(&t);
    assert!(theirs.changes.is_empty() && theirs.conflict.is_some(), "{theirs:?}");
    // The server gone from the plugin: atk's registration is removed.
    hold(exec);
    let gone = plan(&target(tmp.path(), None, false)).changes;
    assert!(matches!(&gone[..], [Change::Run { fingerprint: None, .. }]), "{gone:?}");
    // Without claude on PATH, plugging reports it, and changes nothing.
    std::fs::remove_file(tmp.path().join(".claude.json")).unwrap();
    let rec = Recorder::answering(true);
    let how = Apply::new(&env, &rec, false, "");
    let o = apply(AgentId::Claude, Op::Plug, &t, &mut reg.clone(), &how).unwrap();
    assert_eq!((o.status, o.detail.as_deref()), (AgentStatus::NotInstalled, Some("'claude' is not on PATH")));
}

#[test]
fn the_record_keeps_a_fixed_order_and_unknown_names() {
    let mut e = Entry::new("Tool", "tool", crate::home::Source::default());
    e.agents = vec!["zed".into()];
    assert!(record(&mut e, AgentId::Cursor));
    assert!(record(&mut e, AgentId::Claude));
    assert!(!record(&mut e, AgentId::Claude));
    assert_eq!(e.agents, ["claude", "cursor", "zed"]);
    assert_eq!(recorded(&e), [AgentId::Claude, AgentId::Cursor]);
    assert_eq!(unknown_recorded(&e), ["zed"]);
    assert!(forget(&mut e, AgentId::Claude) && !forget(&mut e, AgentId::Claude));
    assert_eq!(describe_recorded(&e).as_deref(), Some("Cursor"));
    assert_eq!(join_labels(&["a", "b", "c"]), "a, b and c");
}

#[test]
fn servers_resolve_from_env_defaults_and_the_plugin_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::fs::canonicalize(tmp.path()).unwrap();
    let yaml = "schema_version: '2026-01-23'\nname: Tool\ndescription: d\nenv_vars:
  - name: OUT
    default: $ATK_PLUGIN_DIR/out
  - name: KEY
    required: true
    secret: true
  - name: OPT
  - name: SET
mcp:
  transport: stdio
  command: ./bin/run
  args: [\"$OUT\", \"${SET}/x\", \"$SETTLED\"]
  env: [OUT, KEY, OPT, SET, UNDECLARED]
";
    std::fs::write(dir.join("plugin.yaml"), yaml).unwrap();
    std::fs::write(dir.join(".env"), "SET=s\n").unwrap();
    let plugin = crate::plugin::load(&dir).unwrap();
    let s = Server::resolve(&plugin, &dir, &|_| None).unwrap().unwrap();
    let d = dir.display();
    assert_eq!(
        s.transport,
        Transport::Stdio {
            command: format!("{d}/bin/run"),
            args: vec![format!("{d}/out"), "s/x".into(), "$SETTLED".into()]
        }
    );
    assert_eq!(s.missing(), ["KEY", "UNDECLARED"]);
    assert_eq!(s.optional_unset, ["OPT"]);
    assert_eq!(s.resolved_env(), [("OUT", format!("{d}/out").as_str()), ("SET", "s")]);
    assert_eq!(s.upstream_entry()["env"]["KEY"], mcp::NOT_SET);
    // An undeclared variable counts as a secret.
    assert_eq!(s.secret_names().into_iter().collect::<Vec<_>>(), ["KEY", "UNDECLARED"]);
}
