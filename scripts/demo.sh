#!/usr/bin/env bash
# atk end to end, offline: builds atk, turns registry-template/ into a git registry and a small
# plugin into a git repository, then runs the main job in a temporary home: init, search, add from
# the registry, add from a git URL, list, start and status, the history of it all, a new laptop
# (a clone of the home brought back by `install --all`), and one without network (an export file,
# the plugins' data with it). Touches nothing outside a temporary folder (which it removes at the
# end; KEEP=1 keeps it).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${ATK_BIN:-}" ]; then
  atk="$ATK_BIN"
else
  cargo build --locked --quiet
  # Where cargo put it: CARGO_TARGET_DIR or a cargo config may move the target folder.
  target=$(cargo metadata --locked --offline --no-deps --format-version 1 2>/dev/null \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
  atk="${target:-$PWD/target}/debug/atk"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/atk-demo.XXXXXX")
if [ "${KEEP:-}" = 1 ]; then echo "keeping $work"; else trap 'rm -rf "$work"' EXIT; fi

export ATK_HOME="$work/home" ATK_CACHE_DIR="$work/cache" ATK_REGISTRY="$work/registry" NO_COLOR=1
# Backups go to $XDG_DATA_HOME/atk/backups.
export XDG_DATA_HOME="$work/data"
gitq() { git -c user.name=demo -c user.email=demo@localhost -c init.defaultBranch=main "$@" >/dev/null; }

# The bundled example registry, as a git repository.
cp -R registry-template "$work/registry"
(cd "$work/registry" && gitq init && gitq add -A && gitq commit -m "Example registry")

# A tool whose repository carries its atk plugin in .atk/.
mkdir -p "$work/tool/.atk"
cat > "$work/tool/.atk/plugin.yaml" <<'YAML'
schema_version: "2026-01-23"
name: Word Count
description: Counts the words of a file (an example of a plugin shipped in its tool's own repository)
maturity: verified
lifecycle:
  install: ./install.sh
  uninstall: rm -f wc.txt
YAML
printf '#!/bin/sh\necho "atk plugin folder: $ATK_PLUGIN_DIR" > wc.txt\necho "word-count: installed"\n' > "$work/tool/.atk/install.sh"
chmod +x "$work/tool/.atk/install.sh"
echo 'int main(void) { return 0; }' > "$work/tool/main.c"
(cd "$work/tool" && gitq init && gitq add -A && gitq commit -m "A tool with an .atk/ folder")

step() { printf '\n$ %s\n' "$*"; "$@"; }

step "$atk" init
step "$atk" search
step "$atk" add hello --set HELLO_NAME=Ada
step "$atk" add notes
# Only a registry vouches for a plugin: one from a git URL is confirmed first (--yes answers).
step "$atk" add --yes "file://$work/tool"
step "$atk" list
step "$atk" start --all
step "$atk" status
step "$atk" mcp notes
step "$atk" stop --all
step "$atk" history
step cat "$ATK_HOME/manifest.yaml"

# What a plugin keeps is not in git: notes declares its notes.txt as data (atk-data.yaml).
echo "buy milk" >> "$ATK_HOME/plugins/notes/notes.txt"
step "$atk" backup --all
step "$atk" export --all -o "$work/laptop.atk" --with-data

# A new laptop: the home is cloned, and one command brings every plugin back at its pin (hello's
# .env is not in git: its value is given again).
gitq clone "$ATK_HOME" "$work/laptop"
export ATK_HOME="$work/laptop"
step "$atk" status
step "$atk" setup hello --set HELLO_NAME=Ada
step "$atk" install --all
step "$atk" status

# A laptop without network: the export file alone brings the setup and the notes back.
export ATK_HOME="$work/offline" ATK_CACHE_DIR="$work/offline-cache" XDG_DATA_HOME="$work/offline-data"
step "$atk" import "$work/laptop.atk" --with-data
step "$atk" install --all --offline --set HELLO_NAME=Ada
step "$atk" restore --all --yes
step cat "$ATK_HOME/plugins/notes/notes.txt"
printf '\nDone: three plugins installed, run, and brought back on a clone and from an export file (with the notes it kept), each pinned to its commit.\n'
