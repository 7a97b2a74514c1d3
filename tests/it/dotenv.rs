//! `.env` files in python-dotenv's dialect, checked against python-dotenv itself (and atk-cli
//! 0.4.0's own writer): what atk writes, python-dotenv reads back unchanged; what the Python CLI
//! (or a person) writes, atk reads exactly as python-dotenv does.

use crate::common::python;
use crate::common::*;

/// Values that break naive quoting, each one on its own.
pub const HOSTILE: &[&str] = &[
    " leading space",
    "trailing space ",
    "  both ends  ",
    "it's",
    "say \"hi\"",
    "'single'",
    "\"double\"",
    "mixed ' and \" quotes",
    "back\\slash",
    "C:\\Users\\me",
    "C:\\Program Files\\App\\",
    "\\\\server\\share",
    "ends with two \\\\",
    "$x",
    "${HOME}",
    "pa$$w0rd",
    "$",
    "${UNSET:-fallback}",
    "$${HOME}",
    "${A:-${B}}",
    "${",
    "}",
    "a#b",
    "a #b",
    "#start",
    " #",
    "# looks like a comment",
    "k=v",
    "=leading",
    "line1\nline2",
    "\nleading newline",
    "trailing newline\n",
    "tab\there",
    "\t",
    "ünïcødé ✓ 日本語 🎉",
    "\u{a0}no-break spaces\u{a0}",
    "it's $5 and `cmd`",
    "\\'",
    "\\\"",
    "\\n is not a newline",
    "cr\rhere",
    "crlf\r\n",
    "export X=1",
    "'",
    "\"",
    "\\",
    "   ",
    "{\"key\": \"va'l\\\"ue\", \"list\": [1, 2], \"path\": \"C:\\\\tmp\", \"ref\": \"${b}\"}",
];

fn key(i: usize) -> String {
    format!("V{i:02}")
}

/// A plugin declaring one variable per hostile value, with a lifecycle `install` that writes each
/// variable it is given to `out/<KEY>` (so a test sees exactly what reached the command).
fn hostile_plugin(env: &Env) -> std::path::PathBuf {
    let mut vars = String::from("env_vars:\n");
    for i in 0..HOSTILE.len() {
        vars.push_str(&format!(
            "  - name: {}\n    description: hostile value {i}\n    secret: {}\n",
            key(i),
            i % 2 == 0
        ));
    }
    vars.push_str("  - name: P\n  - name: Q\n  - name: W\n");
    vars.push_str("lifecycle:\n  install: ./dump.sh\n  uninstall: \"true\"\n");
    let dump = "#!/bin/sh\nmkdir -p out\nfor k in $(env | sed -n 's/^\\([VPQW][0-9]*\\)=.*/\\1/p'); do printenv \"$k\" > \"out/$k\"; done\n";
    env.plugin("hostile", &yaml("Hostile", &vars), &[("dump.sh", dump, true)])
}

/// python-dotenv's `dotenv_values` of each file, as JSON (a list of objects, in key order).
const READ_WITH_PYTHON_DOTENV: &str = "
import json, sys
from dotenv import dotenv_values
print(json.dumps([list(dotenv_values(p).items()) for p in sys.argv[1:]]))
";

fn python_reads(
    py: &std::path::Path,
    files: &[&std::path::Path],
    env: &[(&str, &str)],
) -> Vec<Vec<(String, Option<String>)>> {
    let args: Vec<&str> = files.iter().map(|f| f.to_str().unwrap()).collect();
    serde_json::from_str(&python::run(py, READ_WITH_PYTHON_DOTENV, &args, env, "")).unwrap()
}

/// The outer environment both parsers interpolate from.
const OUTER: &[(&str, &str)] = &[("HOME", "/home/from-python"), ("B", "outer-b"), ("SET", "outer")];

fn atk_reads(text: &str) -> Vec<(String, Option<String>)> {
    atk::plugin::env::dotenv_values(text, &|name| OUTER.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
}

#[test]
#[ignore = "needs the Python test venv (target/pyvenv or ATK_TEST_PYTHON; .ci/run makes it)"]
fn setup_writes_every_hostile_value_so_python_dotenv_reads_it_back() {
    let py = python::python("setup_writes_every_hostile_value_so_python_dotenv_reads_it_back", &["dotenv"]);
    let env = Env::new();
    env.ok(&["add", "-y", hostile_plugin(&env).to_str().unwrap()]);
    let path = env.atk_home.join("plugins/hostile/.env");
    // A note and a key of the user's own, which a rewrite keeps.
    write(&path, "# my own note\nMINE='kept'\n", false);
    let sets: Vec<String> = HOSTILE.iter().enumerate().map(|(i, v)| format!("{}={v}", key(i))).collect();
    let mut args = vec!["setup", "hostile"];
    for s in &sets {
        args.extend(["--set", s.as_str()]);
    }
    env.ok(&args);
    assert_eq!(mode(&path), 0o600);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("# my own note\nMINE='kept'\n# hostile value 0\nV00="), "{text}");

    let read = python_reads(&py, &[&path], OUTER).remove(0);
    let mut expected = vec![("MINE".to_string(), Some("kept".to_string()))];
    expected.extend(HOSTILE.iter().enumerate().map(|(i, v)| (key(i), Some(v.to_string()))));
    for (want, got) in expected.iter().zip(&read) {
        assert_eq!(want, got, "python-dotenv reads {} back differently from\n{text}", want.0);
    }
    assert_eq!(read.len(), expected.len());

    // atk reads its own file the same way: setting the same values again changes nothing...
    let out = env.ok(&[&args[..], &["--json"]].concat());
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["plugins"][0]["written"], false, "{out}");
    // ...and the values reach a lifecycle command unchanged.
    env.ok(&["install", "hostile"]);
    for (i, v) in HOSTILE.iter().enumerate() {
        let got = std::fs::read(env.atk_home.join(format!("plugins/hostile/out/{}", key(i)))).unwrap();
        // printenv adds a newline.
        assert_eq!(String::from_utf8(got).unwrap(), format!("{v}\n"), "{} in the lifecycle environment", key(i));
    }
}

#[test]
#[ignore = "needs the Python test venv (target/pyvenv or ATK_TEST_PYTHON; .ci/run makes it)"]
fn every_hostile_value_written_by_the_library_reads_back_in_python_dotenv() {
    let py = python::python("every_hostile_value_written_by_the_library_reads_back_in_python_dotenv", &["dotenv"]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".env");
    let mut file = atk::plugin::env::EnvFile::read(&path, &|_| None).unwrap();
    let mut values: Vec<&str> = HOSTILE.to_vec();
    values.push("");
    for (i, v) in values.iter().enumerate() {
        file.set(&key(i), v, None).unwrap();
    }
    std::fs::write(&path, file.text()).unwrap();
    let read = python_reads(&py, &[&path], OUTER).remove(0);
    let expected: Vec<(String, Option<String>)> =
        values.iter().enumerate().map(|(i, v)| (key(i), Some(v.to_string()))).collect();
    assert_eq!(read, expected, "{}", file.text());
    assert_eq!(atk_reads(file.text()), expected);
}

/// Files as people and the Python CLI write them, including broken ones.
const HAND_WRITTEN: &[&str] = &[
    "P=pa$$w0rd\nQ=\"it's me\"\nW=C:\\Users\\me\n",
    "A=plain\nB=\"double quoted\"\nC='single quoted'\n",
    "export A=1\nexport  B = 2 \nexportC=3\n",
    "# comment\n\n  # indented comment\nA=1 # trailing\nB=x#y\nC=x #y\nD= #only comment\nE=#hash\n",
    "A\nB=\nC= \nD=''\nE=\"\"\n",
    "A='it\\'s'\nB=\"say \\\"hi\\\"\"\nC=\"a\\\\b\"\nD='a\\\\b'\nE=\"\\n\\t\\r\\a\\b\\f\\v\\x\"\n",
    "A=\"multi\nline\"\nB='also\nmulti'\nC=after\n",
    "A=${HOME}\nB=${NOPE:-default}\nC=${A}/x\nD='${A}'\nE=\"${B}\"\nF=$HOME\nG=${SET}\nH\nI=${H:-d}\n",
    "A=${B}\nB=inner\nC=${B}\nB=again\nD=${B}\n",
    "A=x\nA=y\nB=1\nA\n",
    "BAD='unterminated\nGOOD=1\n",
    "BAD=\"unterminated\\\"\nGOOD=1\n",
    "BAD='a' trailing\nGOOD=1\n=novalue\nGOOD2=2\n",
    "'QUOTED KEY'=1\nweird.key-name=2\nkey with space=3\n",
    "A=1\r\nB=\"two\r\nlines\"\r\nC=3\r",
    "\u{feff}BOM=1\n",
    "A=\"a\" # comment\nB='b'# comment\nC=\"c\"trailing\n",
    "A=\"${HOME:-x}\"\nB=${:-$}{HOME}\nC=${a:b}\nD=${}\nE=${A\n",
    "A=ünï\u{a0}\nB=\u{a0}x\u{a0}\n\u{1c}C=1\n",
    "A=\\\nB=\"\\\\\"\nC='\\\\'\nD=\"x\\\"\n",
    "   \n\t\nA=1",
];

#[test]
#[ignore = "needs the Python test venv (target/pyvenv or ATK_TEST_PYTHON; .ci/run makes it)"]
fn atk_reads_files_exactly_as_python_dotenv_does() {
    let py = python::python("atk_reads_files_exactly_as_python_dotenv_does", &["dotenv"]);
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<std::path::PathBuf> = HAND_WRITTEN
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let p = dir.path().join(format!("{i}.env"));
            std::fs::write(&p, text).unwrap();
            p
        })
        .collect();
    let refs: Vec<&std::path::Path> = paths.iter().map(|p| p.as_path()).collect();
    let read = python_reads(&py, &refs, OUTER);
    for (text, python) in HAND_WRITTEN.iter().zip(read) {
        assert_eq!(atk_reads(text), python, "atk and python-dotenv disagree on {text:?}");
    }
}

/// atk-cli 0.4.0's own writer, run on every hostile value (and a description each).
const WRITE_WITH_ATK_CLI: &str = "
import json, sys, pathlib
from atk.env import save_env_file
values = json.loads(sys.stdin.read())
save_env_file(pathlib.Path(sys.argv[1]), dict(values), {k: 'about ' + k for k, _ in values})
";

#[test]
#[ignore = "needs the Python test venv (target/pyvenv or ATK_TEST_PYTHON; .ci/run makes it)"]
fn atk_reads_what_the_python_cli_writes_as_python_dotenv_does() {
    let py = python::python("atk_reads_what_the_python_cli_writes_as_python_dotenv_does", &["dotenv", "atk.env"]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".env");
    let values: Vec<(String, &str)> = HOSTILE.iter().enumerate().map(|(i, v)| (key(i), *v)).collect();
    python::run(&py, WRITE_WITH_ATK_CLI, &[path.to_str().unwrap()], &[], &serde_json::to_string(&values).unwrap());
    let text = std::fs::read_to_string(&path).unwrap();
    let python = python_reads(&py, &[&path], OUTER).remove(0);
    let atk = atk_reads(&text);
    assert!(python.len() > HOSTILE.len() / 2, "the Python CLI's file reads back: {python:?}");
    for (a, p) in atk.iter().zip(&python) {
        assert_eq!(a, p, "atk and python-dotenv disagree on {} in\n{text}", p.0);
    }
    assert_eq!(atk.len(), python.len());
}

#[test]
fn values_written_by_the_python_cli_reach_lifecycle_commands_unchanged() {
    // `P=pa$$w0rd` once reached lifecycle commands as `pa`.
    let env = Env::new();
    env.ok(&["add", "-y", hostile_plugin(&env).to_str().unwrap()]);
    write(&env.atk_home.join("plugins/hostile/.env"), "P=pa$$w0rd\nQ=\"it's me\"\nW=C:\\Users\\me\n", false);
    env.ok(&["install", "hostile"]);
    let out = |k: &str| std::fs::read_to_string(env.atk_home.join(format!("plugins/hostile/out/{k}"))).unwrap();
    assert_eq!(out("P"), "pa$$w0rd\n");
    assert_eq!(out("Q"), "it's me\n");
    assert_eq!(out("W"), "C:\\Users\\me\n");
}
