#!/usr/bin/env python3
"""A stand-in for the MCP commands of Claude Code, Codex, Gemini CLI and Auggie, for the tests
that inject failures (refusals, hangs, floods) where the real programs cannot be made to fail.

It keeps servers where and as the real programs keep them, and answers as they do: `mcpServers`
of ~/.claude.json (or $CLAUDE_CONFIG_DIR/.claude.json), of ~/.gemini/settings.json and of
~/.augment/settings.json, and `[mcp_servers.NAME]` of $CODEX_HOME/config.toml (else ~/.codex).
Checked against Claude Code 2.1, Codex 0.171, Gemini CLI 0.61 and Auggie 0.36 run with a sandboxed
HOME (the same commands, the same files and exit codes): names Claude Code and Codex refuse,
Gemini's `--` before the server's arguments, Auggie's refusal of a name it has, what each says of a
name it does not have. Usage: fake_agent.py AGENT ARGS...
"""

import json
import os
import re
import sys

# Claude Code and Codex refuse a server name outside these (Codex also takes `:@/.`).
STRICT_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
CODEX_NAME = re.compile(r"^[A-Za-z0-9_:@/.-]+$")


def home():
    return os.environ.get("HOME", "/")


def load_json(path):
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return {}
    return json.loads(text) if text.strip() else {}


def save_json(path, doc):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)


def json_agent(path, name, entry):
    """Sets (entry) or removes (None) mcpServers[name]; False when removing what is not there."""
    doc = load_json(path)
    servers = doc.setdefault("mcpServers", {})
    if entry is None:
        if name not in servers:
            return False
        del servers[name]
    else:
        servers[name] = entry
    save_json(path, doc)
    return True


def toml_key(s):
    return s if re.match(r"^[A-Za-z0-9_-]+$", s) else toml_string(s)


def toml_string(s):
    out = '"'
    for c in s:
        if c == '"':
            out += '\\"'
        elif c == "\\":
            out += "\\\\"
        elif c == "\n":
            out += "\\n"
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out += "\\u%04X" % ord(c)
        else:
            out += c
    return out + '"'


def codex(argv):
    import tomllib

    path = os.path.join(os.environ.get("CODEX_HOME") or os.path.join(home(), ".codex"), "config.toml")
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except FileNotFoundError:
        doc = {}
    servers = doc.setdefault("mcp_servers", {})
    if argv[:2] == ["mcp", "add"]:
        rest = argv[2:]
        env = {}
        while rest and rest[0] == "--env":
            k, v = rest[1].split("=", 1)
            env[k] = v
            rest = rest[2:]
        name, rest = rest[0], rest[1:]
        if not CODEX_NAME.match(name):
            print(f"Error: invalid server name '{name}' (use letters, numbers, '-', '_', ':', '@', '/', '.')", file=sys.stderr)
            return 1
        if rest[:1] == ["--url"]:
            entry = {"url": rest[1]}
        else:
            assert rest[0] == "--", rest
            entry = {"command": rest[1], "args": rest[2:]}
            if env:
                entry["env"] = env
        servers[name] = entry
    elif argv[:2] == ["mcp", "remove"]:
        name = argv[2]
        if name not in servers:
            # Codex says so on stdout, and succeeds.
            print(f"No MCP server named '{name}' found.")
            return 0
        del servers[name]
    else:
        return 0
    lines = []
    for key, value in doc.items():
        if key != "mcp_servers" and not isinstance(value, dict):
            lines.append(f"{key} = {json.dumps(value)}")
    for name, entry in servers.items():
        lines.append(f"\n[mcp_servers.{toml_key(name)}]")
        for k in ("command", "url"):
            if k in entry:
                lines.append(f"{k} = {toml_string(entry[k])}")
        if "args" in entry:
            lines.append("args = [" + ", ".join(toml_string(a) for a in entry["args"]) + "]")
        if entry.get("env"):
            lines.append(f"\n[mcp_servers.{toml_key(name)}.env]")
            for k, v in entry["env"].items():
                lines.append(f"{toml_string(k)} = {toml_string(v)}")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return 0


def options(rest, flags_with_value):
    """Splits leading options (stopping at `--` or the first word) from the words after them."""
    found = []
    while rest and rest[0].startswith("-") and rest[0] != "--":
        if rest[0] in flags_with_value:
            found.append((rest[0], rest[1]))
            rest = rest[2:]
        else:
            found.append((rest[0], None))
            rest = rest[1:]
    if rest[:1] == ["--"]:
        rest = rest[1:]
    return found, rest


def claude(argv):
    base = os.environ.get("CLAUDE_CONFIG_DIR")
    # Claude Code keeps using the legacy .config.json of its folder when there is one.
    legacy = os.path.join(base or os.path.join(home(), ".claude"), ".config.json")
    if os.path.lexists(legacy):
        path = legacy
    else:
        path = os.path.join(base, ".claude.json") if base else os.path.join(home(), ".claude.json")
    if argv[:2] == ["mcp", "add"]:
        opts, rest = options(argv[2:], {"--transport", "--scope", "-e", "-s", "-t"})
        env = dict(v.split("=", 1) for k, v in opts if k == "-e")
        kind = next((v for k, v in opts if k in ("--transport", "-t")), "stdio")
        name, words = rest[0], rest[1:]
        if not STRICT_NAME.match(name):
            print(f"Invalid name {name}. Names can only contain letters, numbers, hyphens, and underscores.", file=sys.stderr)
            return 1
        if name in load_json(path).get("mcpServers", {}):
            print(f"MCP server {name} already exists in user config", file=sys.stderr)
            return 1
        if kind == "stdio":
            entry = {"type": "stdio", "command": words[0], "args": words[1:], "env": env}
        else:
            entry = {"type": kind, "url": words[0]}
        json_agent(path, name, entry)
    elif argv[:2] == ["mcp", "add-json"]:
        opts, rest = options(argv[2:], {"--scope", "-s"})
        name, entry = rest[0], json.loads(rest[1])
        if not STRICT_NAME.match(name):
            print(f"Invalid name {name}. Names can only contain letters, numbers, hyphens, and underscores.", file=sys.stderr)
            return 1
        if name in load_json(path).get("mcpServers", {}):
            print(f"MCP server {name} already exists in user config", file=sys.stderr)
            return 1
        # Kept as given (no "type" added).
        json_agent(path, name, entry)
    elif argv[:2] == ["mcp", "remove"]:
        opts, rest = options(argv[2:], {"--scope", "-s"})
        if not json_agent(path, rest[0], None):
            print(f'No MCP server named "{rest[0]}" in user scope', file=sys.stderr)
            return 1
    return 0


def gemini(argv):
    path = os.path.join(os.environ.get("GEMINI_CLI_HOME") or home(), ".gemini", "settings.json")
    if argv[:2] == ["mcp", "add"]:
        opts, rest = options(argv[2:], {"--transport", "--scope", "-e", "-s", "-t"})
        env = dict(v.split("=", 1) for k, v in opts if k == "-e")
        kind = next((v for k, v in opts if k in ("--transport", "-t")), "stdio")
        name, words = rest[0], rest[1:]
        # yargs: the first `--` ends the options; the words after it are the server's arguments.
        if "--" in words:
            i = words.index("--")
            words = words[:i] + words[i + 1 :]
        if kind == "stdio":
            entry = {"command": words[0], "args": words[1:]}
            if env:
                entry["env"] = env
        else:
            entry = {"url": words[0], "type": kind}
        json_agent(path, name, entry)
    elif argv[:2] == ["mcp", "remove"]:
        opts, rest = options(argv[2:], {"--scope", "-s"})
        if not json_agent(path, rest[0], None):
            print(f'Server "{rest[0]}" not found in user settings.')
    return 0


def auggie(argv):
    path = os.path.join(home(), ".augment", "settings.json")
    if argv[:2] == ["mcp", "add-json"]:
        if argv[2] in load_json(path).get("mcpServers", {}):
            print(f"Error: Server '{argv[2]}' already exists; use --replace to overwrite", file=sys.stderr)
            return 3
        json_agent(path, argv[2], json.loads(argv[3]))
    elif argv[:2] == ["mcp", "remove"]:
        if not json_agent(path, argv[2], None):
            print(f"Error: Server '{argv[2]}' not found", file=sys.stderr)
            return 4
    return 0


if __name__ == "__main__":
    agent, argv = sys.argv[1], sys.argv[2:]
    sys.exit({"claude": claude, "codex": codex, "gemini": gemini, "auggie": auggie}.get(agent, lambda a: 0)(argv))
