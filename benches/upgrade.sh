#!/usr/bin/env bash
# `atk upgrade` of one git plugin of FILES files (6,000 by default, 100 folders), every file changed
# by the new commit: the worst case for the transaction journal, which records every file moved
# aside and every file put in place. Prints the median wall time of RUNS runs and the bytes atk
# wrote (every write(2) of the process, counted by strace in one more run).
#
#   benches/upgrade.sh        (RUNS=3 FILES=6000 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3} FILES=${FILES:-6000}
cargo build --locked --release --quiet --bin atk
atk="$PWD/target/release/atk"
work=$(mktemp -d "${TMPDIR:-/tmp}/atk-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export GIT_CONFIG_NOSYSTEM=1 HOME="$work/user" NO_COLOR=1 CI=true ATK_CACHE_DIR="$work/cache"
mkdir -p "$HOME"
gitq() { git -c user.name=bench -c user.email=bench@localhost -c init.defaultBranch=main "$@" >/dev/null; }

echo "generating a git source with a plugin of $FILES files ..." >&2
python3 - "$work/tool" "$FILES" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
os.makedirs(f"{root}/.atk")
with open(f"{root}/.atk/plugin.yaml", "w") as f:
    f.write('schema_version: "2026-01-23"\nname: big-tool\ndescription: A plugin of many files\n')
for i in range(n):
    d = f"{root}/.atk/files/d{i % 100:02d}"
    os.makedirs(d, exist_ok=True)
    with open(f"{d}/f{i:05d}.txt", "w") as f:
        f.write(f"file {i}, version 1\n")
PY
(cd "$work/tool" && gitq init && gitq add -A && gitq commit -m v1)
v1=$(git -C "$work/tool" rev-parse HEAD)
find "$work/tool/.atk/files" -type f -exec sed -i 's/version 1/version 2/' {} +
(cd "$work/tool" && gitq commit -am v2)
v2=$(git -C "$work/tool" rev-parse HEAD)

# A home with the plugin at v1, the source's HEAD at v2: ready to upgrade.
setup() {
  rm -rf "$work/home"
  git -C "$work/tool" update-ref refs/heads/main "$v1"
  ATK_HOME="$work/home" "$atk" init -q
  ATK_HOME="$work/home" "$atk" add -y -q "file://$work/tool"
  git -C "$work/tool" update-ref refs/heads/main "$v2"
}

times=()
for _ in $(seq "$RUNS"); do
  setup
  t0=$EPOCHREALTIME
  ATK_HOME="$work/home" "$atk" upgrade big-tool -y -q
  t1=$EPOCHREALTIME
  times+=("$(awk -v a="${t0/,/.}" -v b="${t1/,/.}" 'BEGIN {print b - a}')")
  [ "$(cat "$work/home/plugins/big-tool/.atk-ref")" = "$v2" ] || { echo "upgrade did not happen" >&2; exit 1; }
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR] = $1} END {printf "%.3f", a[int((NR + 1) / 2)]}')

written=n/a
if command -v strace >/dev/null; then
  setup
  ATK_HOME="$work/home" strace -f -qq -e trace=write,pwrite64,writev,pwritev -o "$work/trace" "$atk" upgrade big-tool -y -q
  written=$(awk '/= [0-9]+$/ {s += $NF} END {printf "%d", s}' "$work/trace")
fi
echo "| files | wall time (median of $RUNS) | bytes written |"
echo "|---|---|---|"
echo "| $FILES | $median s | $written |"
