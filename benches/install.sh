#!/usr/bin/env bash
# `atk install --all` on a fresh clone of a home with 30 registry plugins and 5 git plugins, sources
# served over smart HTTP on 127.0.0.1, cold cache, against the Python CLI's method: one
# `git clone --filter=blob:none --sparse` + checkout of the pinned commit + sparse-checkout + copy
# per plugin, in sequence. Prints a Markdown table: median wall time of RUNS runs, bytes the server
# sent, peak memory.
#
#   benches/install.sh        (RUNS=3 PLUGINS=500 COMMITS=200 by default)
RUNS=${RUNS:-3} PLUGINS=${PLUGINS:-500} COMMITS=${COMMITS:-200}
source "$(dirname "$0")/lib.sh"
make_registry
for t in 1 2 3 4 5; do
  mkdir -p "$work/tool$t/.atk/data" "$work/tool$t/src"
  printf 'schema_version: "2026-01-23"\nname: tool-%s\ndescription: Synthetic git plugin %s\nmaturity: verified\n' "$t" "$t" > "$work/tool$t/.atk/plugin.yaml"
  head -c 102400 /dev/urandom > "$work/tool$t/.atk/data/blob.bin"
  head -c 1048576 /dev/urandom > "$work/tool$t/src/big.bin"
  (cd "$work/tool$t" && gitq init && gitq add -A && gitq commit -m "tool $t")
  for c in $(seq 2 20); do echo "$c" >> "$work/tool$t/src/history.txt"; (cd "$work/tool$t" && gitq add -A && gitq commit -m "change $c"); done
  publish "$work/tool$t" "tool$t.git"
done
start_server
export url="$base/registry.git"

# Home A, pushed to a bare repository: what a user clones on a new laptop.
ATK_HOME="$work/a" ATK_CACHE_DIR="$work/a-cache" "$atk" init -q
for i in $(seq 0 29); do
  ATK_HOME="$work/a" ATK_CACHE_DIR="$work/a-cache" "$atk" --registry "$url" add "$(printf 'plugin-%03d' $((i * 16)))" -q
done
for t in 1 2 3 4 5; do ATK_HOME="$work/a" ATK_CACHE_DIR="$work/a-cache" "$atk" add -y "$base/tool$t.git" -q; done
gitq clone --bare "$work/a" "$work/home.git"
python3 - "$work/a/manifest.yaml" > "$work/pins" <<'PY'
import sys, yaml
m = yaml.safe_load(open(sys.argv[1]))
for p in m["plugins"]:
    s = p["source"]
    print(p["directory"], s["type"], s["ref"], s.get("url") or "")
PY

fresh_clone() { rm -rf "$work/b" "$work/b-cache" "$work/up"; gitq clone "$work/home.git" "$work/b"; }
atk_install() { ATK_HOME="$work/b" ATK_CACHE_DIR="$work/b-cache" "$atk" --registry "$url" install --all -q; }
upstream() {
  mkdir -p "$work/up"
  while read -r dir kind ref src; do
    local repo="$url" pattern="/plugins/$dir/*" from="plugins/$dir"
    if [ "$kind" = git ]; then repo=$src pattern="/.atk/*" from=".atk"; fi
    git clone -q --filter=blob:none --sparse "$repo" "$work/up/$dir.clone"
    git -C "$work/up/$dir.clone" checkout -q "$ref"
    git -C "$work/up/$dir.clone" sparse-checkout set --no-cone "$pattern"
    cp -R "$work/up/$dir.clone/$from" "$work/up/$dir"
    rm -rf "$work/up/$dir.clone"
  done < "$work/pins"
}
export -f gitq

echo "| step (30 registry + 5 git plugins) | median wall time ($RUNS runs) | bytes sent by the server | peak memory |"
echo "|---|---|---|---|"
run "upstream: clone --filter=blob:none --sparse + checkout + sparse-checkout + copy, per plugin" fresh_clone upstream
run "atk install --all, cold cache" fresh_clone atk_install
