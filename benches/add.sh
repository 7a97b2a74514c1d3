#!/usr/bin/env bash
# Benchmark of `atk add <plugin>` from a registry served over smart HTTP on 127.0.0.1, against what
# the Python CLI does for the same step (ls-remote, `git clone --filter=blob:none --sparse`, two
# `git sparse-checkout set`, copy). The registry is synthetic: 500 plugins of about 200 KB each and
# 200 commits; the server has uploadpack.allowFilter and uploadpack.allowAnySHA1InWant set.
# Reports the median wall time of RUNS runs and the bytes the server sent, as a Markdown table.
#
#   benches/add.sh            (RUNS=5 PLUGINS=500 COMMITS=200 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5} PLUGINS=${PLUGINS:-500} COMMITS=${COMMITS:-200}

cargo build --locked --release --quiet --bin atk --example git_http_server
atk="$PWD/target/release/atk"
server="$PWD/target/release/examples/git_http_server"
work=$(mktemp -d "${TMPDIR:-/tmp}/atk-bench.XXXXXX")
trap 'kill $server_pid 2>/dev/null || true; rm -rf "$work"' EXIT
export GIT_CONFIG_NOSYSTEM=1 HOME="$work/user" NO_COLOR=1 CI=true
mkdir -p "$HOME"
gitq() { git -c user.name=bench -c user.email=bench@localhost -c init.defaultBranch=main "$@" >/dev/null; }

echo "generating a registry of $PLUGINS plugins and $COMMITS commits ..." >&2
python3 - "$work/registry" "$PLUGINS" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
os.makedirs(f"{root}/plugins")
index = ["schema_version: '2026-01-23'", "plugins:"]
for i in range(n):
    name = f"plugin-{i:03d}"
    d = f"{root}/plugins/{name}"
    os.makedirs(f"{d}/data")
    with open(f"{d}/plugin.yaml", "w") as f:
        f.write(f'schema_version: "2026-01-23"\nname: {name}\ndescription: Synthetic plugin {i}\nmaturity: verified\n')
    with open(f"{d}/README.md", "w") as f:
        f.write(f"# {name}\n")
    for j in range(4):
        with open(f"{d}/data/blob{j}.bin", "wb") as f:
            f.write(os.urandom(50 * 1024))
    index += [f"- name: {name}", f"  path: plugins/{name}", f"  description: Synthetic plugin {i}"]
with open(f"{root}/index.yaml", "w") as f:
    f.write("\n".join(index) + "\n")
PY
(cd "$work/registry" && gitq init && gitq add -A && gitq commit -m "registry")
for c in $(seq 2 "$COMMITS"); do
  p=$(printf 'plugin-%03d' $(( (c * 7) % PLUGINS )))
  echo "change $c" >> "$work/registry/plugins/$p/README.md"
  (cd "$work/registry" && gitq commit -am "change $c")
done
mkdir -p "$work/served"
gitq clone --bare "$work/registry" "$work/served/registry.git"
git -C "$work/served/registry.git" config uploadpack.allowFilter true
git -C "$work/served/registry.git" config uploadpack.allowAnySHA1InWant true

"$server" "$work/served" "$work/port" "$work/server.log" &
server_pid=$!
while [ ! -s "$work/port" ]; do sleep 0.05; done
url="http://127.0.0.1:$(cat "$work/port")/registry.git"
plugin=plugin-042

sent_bytes() { awk '{s += $3} END {print s + 0}' "$work/server.log" 2>/dev/null || echo 0; }
median() { sort -n | awk '{a[NR] = $1} END {m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.3f", m}'; }

# One run: the untimed setup "$1", then the timed "$2"; prints "seconds bytes".
measure() {
  "$1" >/dev/null 2>&1
  : > "$work/server.log"; sleep 0.1
  local t0 t1; t0=$EPOCHREALTIME; "$2" >/dev/null 2>&1; t1=$EPOCHREALTIME; sleep 0.2
  echo "$(awk -v a="${t0/,/.}" -v b="${t1/,/.}" 'BEGIN {print b - a}') $(sent_bytes)"
}

upstream() {
  local tmp="$work/up-$RANDOM"
  git ls-remote "$url" HEAD >/dev/null
  git clone -q --filter=blob:none --sparse "$url" "$tmp/registry"
  git -C "$tmp/registry" sparse-checkout set --no-cone /index.yaml
  git -C "$tmp/registry" sparse-checkout set --no-cone "/plugins/$plugin/*"
  cp -R "$tmp/registry/plugins/$plugin" "$tmp/copy"
  rm -rf "$tmp"
}

nothing() { :; }
atk_add() { ATK_HOME="$work/home" ATK_CACHE_DIR="$work/cache" "$atk" --registry "$url" add "$plugin" -q; }
fresh_home_empty_cache() { rm -rf "$work/cache" "$work/home"; ATK_HOME="$work/home" "$atk" init -q; }
# Warm: the cache holds the commit and the plugin's blobs, and the index is less than an hour old.
home_without_plugin() {
  [ -d "$work/cache" ] || { fresh_home_empty_cache; atk_add; }
  ATK_HOME="$work/home" "$atk" remove "$plugin" -q
}

run() { # name, setup, timed
  local times="" bytes=0
  for _ in $(seq "$RUNS"); do
    read -r t b < <(measure "$2" "$3")
    times+="$t"$'\n'; bytes=$b
  done
  printf '| %s | %s s | %s |\n' "$1" "$(printf '%s' "$times" | median)" "$bytes"
}

echo "| step | median wall time ($RUNS runs) | bytes sent by the server |"
echo "|---|---|---|"
run "upstream: ls-remote + clone --filter=blob:none --sparse + sparse-checkout + copy" nothing upstream
run "atk add, cold cache" fresh_home_empty_cache atk_add
run "atk add, warm cache" home_without_plugin atk_add
