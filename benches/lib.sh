# Shared by the benchmarks: build, a synthetic registry served over smart HTTP on 127.0.0.1, and
# measuring. Source it from a benchmark after setting PLUGINS and COMMITS.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo build --locked --release --quiet --bin atk --example git_http_server
atk="$PWD/target/release/atk"
server="$PWD/target/release/examples/git_http_server"
work=$(mktemp -d "${TMPDIR:-/tmp}/atk-bench.XXXXXX")
server_pid=
trap 'kill $server_pid 2>/dev/null || true; rm -rf "$work"' EXIT
export GIT_CONFIG_NOSYSTEM=1 HOME="$work/user" NO_COLOR=1 CI=true
mkdir -p "$HOME" "$work/served"
gitq() { git -c user.name=bench -c user.email=bench@localhost -c init.defaultBranch=main "$@" >/dev/null; }

# A registry of $PLUGINS plugins of ~200 KB (four 50 KB random files each) with $COMMITS commits,
# published as $work/served/registry.git.
make_registry() {
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
    local p; p=$(printf 'plugin-%03d' $(( (c * 7) % PLUGINS )))
    echo "change $c" >> "$work/registry/plugins/$p/README.md"
    (cd "$work/registry" && gitq commit -am "change $c")
  done
  publish "$work/registry" registry.git
}

# A bare copy of the repository $1 as $work/served/$2, with filter and any-sha wants allowed.
publish() {
  gitq clone --bare "$1" "$work/served/$2"
  git -C "$work/served/$2" config uploadpack.allowFilter true
  git -C "$work/served/$2" config uploadpack.allowAnySHA1InWant true
}

start_server() {
  "$server" "$work/served" "$work/port" "$work/server.log" "${DELAY_MS:-0}" &
  server_pid=$!
  while [ ! -s "$work/port" ]; do sleep 0.05; done
  base="http://127.0.0.1:$(cat "$work/port")"
}

sent_bytes() { awk '{s += $3} END {print s + 0}' "$work/server.log" 2>/dev/null || echo 0; }
median() { sort -n | awk '{a[NR] = $1} END {m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.3f", m}'; }

# One run: the untimed setup "$1", then the timed "$2"; prints "seconds bytes peak-KiB".
measure() {
  "$1" >/dev/null 2>&1
  : > "$work/server.log"; sleep 0.1
  local t0 t1
  t0=$EPOCHREALTIME
  /usr/bin/time -f %M -o "$work/rss" bash -c "$(declare -f "$2"); $(declare -p work atk base 2>/dev/null | tr '\n' ';') $2" >/dev/null 2>&1
  t1=$EPOCHREALTIME
  sleep 0.2
  echo "$(awk -v a="${t0/,/.}" -v b="${t1/,/.}" 'BEGIN {print b - a}') $(sent_bytes) $(tail -n1 "$work/rss")"
}

# A Markdown row: name, setup, timed; the median time of $RUNS runs.
run() {
  local times="" bytes=0 rss=0
  for _ in $(seq "$RUNS"); do
    read -r t b m < <(measure "$2" "$3")
    times+="$t"$'\n'; bytes=$b; rss=$m
  done
  printf '| %s | %s s | %s | %s MiB |\n' "$1" "$(printf '%s' "$times" | median)" "$bytes" "$(awk -v k="$rss" 'BEGIN {printf "%.1f", k / 1024}')"
}
