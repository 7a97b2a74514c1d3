#!/usr/bin/env bash
# `atk add <plugin>` from a registry served over smart HTTP on 127.0.0.1, against what the Python
# CLI does for the same step (ls-remote, `git clone --filter=blob:none --sparse`, two
# `git sparse-checkout set`, copy). Synthetic registry: 500 plugins of ~200 KB, 200 commits.
# Prints a Markdown table: median wall time of RUNS runs, bytes the server sent, peak memory.
#
#   benches/add.sh            (RUNS=5 PLUGINS=500 COMMITS=200 by default)
RUNS=${RUNS:-5} PLUGINS=${PLUGINS:-500} COMMITS=${COMMITS:-200}
source "$(dirname "$0")/lib.sh"
make_registry
start_server
export plugin=plugin-042 url="$base/registry.git"

upstream() {
  local tmp; tmp=$(mktemp -d "$work/up.XXXXXX")
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
export -f atk_add

echo "| step | median wall time ($RUNS runs) | bytes sent by the server | peak memory |"
echo "|---|---|---|---|"
run "upstream: ls-remote + clone --filter=blob:none --sparse + sparse-checkout + copy" nothing upstream
run "atk add, cold cache" fresh_home_empty_cache atk_add
run "atk add, warm cache" home_without_plugin atk_add
