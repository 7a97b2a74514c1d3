#!/usr/bin/env bash
# What `atk exec` costs an agent on each server start: `atk exec --home H tiny` (atk reads the
# home, the plugin's values and its pin, then execs the server) against starting the same server
# directly, for a server that exits at once (a C program that returns 0, or /bin/true without a C
# compiler), so that the difference is atk's own start. Beside it, for scale: `atk --version`
# (process start, libraries, argument parsing), `atk --home H list` and `atk --home H mcp tiny`
# (resolving the server as exec does, printing it instead of starting it). Before `atk exec`
# exists, its row says so and `mcp` is the closest stand-in. Prints a Markdown table: median and
# fastest wall time of RUNS runs (in rounds that run every command once), and the median minus the
# direct start's.
#
#   benches/exec.sh     (RUNS=500; ATK_BIN=path measures another build of atk)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS=${RUNS:-500}
cargo build --locked --release --quiet --bin atk
atk=${ATK_BIN:-$PWD/target/release/atk}
work=$(mktemp -d "${TMPDIR:-/tmp}/atk-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export GIT_CONFIG_NOSYSTEM=1 HOME="$work/user" NO_COLOR=1 CI=true
unset ATK_HOME
mkdir -p "$HOME"

# The server: a program that exits at once.
server=/bin/true
if command -v cc >/dev/null 2>&1 && printf 'int main(void) { return 0; }\n' > "$work/tiny.c" \
  && cc -O2 -o "$work/tiny" "$work/tiny.c" 2>/dev/null; then
  server="$work/tiny"
fi

# A home (not the default one) with one local plugin whose stdio MCP server is $server, with a
# value and a secret set, as an agent's `atk exec` entry would find it.
home="$work/home"
mkdir -p "$work/src/tiny"
cat > "$work/src/tiny/plugin.yaml" <<YAML
schema_version: "2026-01-23"
name: tiny
description: An MCP server that exits at once
maturity: verified
env_vars:
  - name: TINY_MODE
    default: fast
  - name: TINY_TOKEN
    secret: true
mcp:
  transport: stdio
  command: $server
  env:
    - TINY_MODE
    - TINY_TOKEN
YAML
"$atk" --home "$home" init -q
"$atk" --home "$home" add -y -q --set TINY_TOKEN=t0ken "$work/src/tiny" 2>"$work/add.err" \
  || { cat "$work/add.err" >&2; exit 1; }

median() { sort -n | awk '{a[NR] = $1} END {m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.2f", m}'; }
fastest() { sort -n | head -n1 | awk '{printf "%.2f", $1}'; }

# The rows: a name, then the command. Every command must work (a failing command measures
# nothing).
names=() commands=()
add_row() { names+=("$1"); shift; commands+=("$(printf '%q ' "$@")"); }
add_row "the server directly ($(basename "$server"))" "$server"
if "$atk" exec --help >/dev/null 2>&1; then
  add_row "\`atk exec --home H tiny\`" "$atk" exec --home "$home" tiny
fi
add_row "\`atk --home H mcp tiny\`" "$atk" --home "$home" mcp tiny
add_row "\`atk --home H list\`" "$atk" --home "$home" list
add_row "\`atk --version\`" "$atk" --version
for c in "${commands[@]}"; do
  eval "$c" >/dev/null 2>&1 || { echo "failed: $c" >&2; eval "$c" >&2; exit 1; }
done

# Round robin, so that a change in the machine's load touches every row alike: each round runs
# every command once. Milliseconds per run, one file per row.
for _ in $(seq "$RUNS"); do
  for i in "${!commands[@]}"; do
    t0=$EPOCHREALTIME
    eval "${commands[$i]}" >/dev/null 2>&1
    t1=$EPOCHREALTIME
    awk -v a="${t0/,/.}" -v b="${t1/,/.}" 'BEGIN {print (b - a) * 1000}' >> "$work/times.$i"
  done
done

base=$(median < "$work/times.0")
echo "| $RUNS runs of | median | fastest | median − direct |"
echo "|---|---|---|---|"
for i in "${!commands[@]}"; do
  m=$(median < "$work/times.$i")
  extra=$([ "$i" = 0 ] || awk -v a="$m" -v b="$base" 'BEGIN {printf "%+.2f ms", a - b}')
  printf '| %s | %s ms | %s ms | %s |\n' "${names[$i]}" "$m" "$(fastest < "$work/times.$i")" "$extra"
  if [ "$i" = 0 ] && ! "$atk" exec --help >/dev/null 2>&1; then
    echo "| \`atk exec --home H tiny\` | (this atk has no \`exec\`: \`mcp\` below resolves the same server) | | |"
  fi
done
