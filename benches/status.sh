#!/usr/bin/env bash
# `atk status` over 20 plugins whose status commands each take 1 s, and over 20 plugins whose
# status commands are instant, against the Python CLI (atk-cli 0.4.0) on the same home; then what
# `atk start --all` runs (counted with strace): a status probe and a start per plugin the first
# time, and only the probes the second time (everything already runs). Prints Markdown tables:
# median wall time of RUNS runs.
#
#   benches/status.sh    (RUNS=5, N=20; PY_ATK: the Python CLI's `atk` script, PY: its interpreter)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS=${RUNS:-5} N=${N:-20}
PY_ATK=${PY_ATK:-/work/main/target/pyvenv/bin/atk}
# The venv's interpreter runs the script (its #! line may name where the venv was made).
PY=${PY:-$(dirname "$PY_ATK")/python}
cargo build --locked --release --quiet --bin atk
atk="$PWD/target/release/atk"
work=$(mktemp -d "${TMPDIR:-/tmp}/atk-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export GIT_CONFIG_NOSYSTEM=1 HOME="$work/user" NO_COLOR=1 CI=true
mkdir -p "$HOME"

median() { sort -n | awk '{a[NR] = $1} END {m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.3f", m}'; }

# A home $1 with $N local plugins whose status command is $2 (and a start that marks them up).
make_home() {
  ATK_HOME="$1" "$atk" init -q
  for i in $(seq 1 "$N"); do
    local d="$work/src/$(basename "$1")-$i"
    mkdir -p "$d"
    cat > "$d/plugin.yaml" <<YAML
schema_version: "2026-01-23"
name: p$i
description: Synthetic plugin $i
maturity: verified
env_vars:
  - name: P${i}_TOKEN
lifecycle:
  start: touch up; echo started >> starts
  stop: rm -f up
  status: $2
YAML
    ATK_HOME="$1" "$atk" add -y -q "$d" 2>/dev/null
  done
}

# The median wall time of $RUNS runs of "$@" (output discarded).
timed() {
  local times=""
  for _ in $(seq "$RUNS"); do
    local t0=$EPOCHREALTIME
    "$@" >/dev/null 2>&1 || true
    local t1=$EPOCHREALTIME
    times+="$(awk -v a="${t0/,/.}" -v b="${t1/,/.}" 'BEGIN {print b - a}')"$'\n'
  done
  printf '%s' "$times" | median
}

make_home "$work/slow" "sleep 1"
make_home "$work/instant" "test -f up"

echo "| \`status\` over $N plugins | atk-cli 0.4.0 | atk |"
echo "|---|---|---|"
for kind in slow instant; do
  what=$([ $kind = slow ] && echo "status commands of 1 s each" || echo "instant status commands")
  ATK_HOME="$work/$kind" "$PY" "$PY_ATK" status >/dev/null  # it must work on this home
  py=$(ATK_HOME="$work/$kind" timed "$PY" "$PY_ATK" status)
  rs=$(ATK_HOME="$work/$kind" timed "$atk" status)
  echo "| $what | $py s | $rs s |"
done

echo
echo "| \`atk start --all\` over $N plugins | wall time | processes started (execve) | starts run |"
echo "|---|---|---|---|"
for round in first second; do
  t0=$EPOCHREALTIME
  rm -rf "$work/trace"; mkdir "$work/trace"
  # One file per process (-ff), so that calls of parallel processes do not interleave.
  ATK_HOME="$work/instant" strace -f -ff -qq -e trace=execve -o "$work/trace/t" "$atk" start --all -q >/dev/null 2>&1
  t1=$EPOCHREALTIME
  # Every program run, by name: atk itself, one `sh` per status probe and per start, and what
  # the start commands run (`touch`).
  # (Only the calls that succeeded: a program is looked for in each folder of PATH in turn.)
  execs=$(cat "$work"/trace/t.* | grep 'execve(' | grep ' = 0$' | grep -o 'execve("[^"]*"' | sed 's|.*/||; s|"||' | sort | uniq -c | awk '{printf "%s%s %s", sep, $1, $2; sep=", "}')
  starts=$(cat "$work"/instant/plugins/*/starts 2>/dev/null | wc -l)
  echo "| $round run | $(awk -v a="${t0/,/.}" -v b="${t1/,/.}" 'BEGIN {printf "%.3f", b - a}') s (under strace) | $execs | $starts in all |"
done
