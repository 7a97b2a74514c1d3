#!/usr/bin/env bash
# Round trips: sources served over smart HTTP on 127.0.0.1 with every answer delayed by DELAY_MS
# (100 ms by default: a forge far away), so that wall time is mostly the number of requests made
# one after another. Prints a Markdown table of the HTTP requests and the median wall time of RUNS
# runs, for
#   * a cold `atk add <registry plugin>` (empty cache, empty home), beside git's sparse method
#     (`git clone --filter=blob:none --sparse` + `git sparse-checkout set` of the plugin's folder);
#   * `atk upgrade --all` with nothing new: 7 plugins from 3 sources (5 from the registry, 2 git
#     sources);
#   * `atk install --all` on a fresh clone of that home, cold cache.
#   * `atk upgrade --all --dry-run` of 10 local plugins, each running its own npm package through
#     `npx` (issue 20's lock): every package document is asked for at once, so the wall time is
#     about one answer's delay, not ten.
# The Python CLI is left out: its registry URL is a constant, so it cannot reach a local server
# without patching it.
#
#   benches/roundtrips.sh     (RUNS=3 DELAY_MS=100 PLUGINS=50 COMMITS=20 by default;
#                              ATK_BIN=path measures another build of atk)
RUNS=${RUNS:-3} PLUGINS=${PLUGINS:-50} COMMITS=${COMMITS:-20}
export DELAY_MS=${DELAY_MS:-100}
source "$(dirname "$0")/lib.sh"
atk=${ATK_BIN:-$atk}
make_registry
for t in 1 2; do
  mkdir -p "$work/tool$t/.atk"
  printf 'schema_version: "2026-01-23"\nname: tool-%s\ndescription: Synthetic git plugin %s\nmaturity: verified\n' "$t" "$t" > "$work/tool$t/.atk/plugin.yaml"
  (cd "$work/tool$t" && gitq init && gitq add -A && gitq commit -m "tool $t")
  publish "$work/tool$t" "tool$t.git"
done
start_server
export plugin=plugin-042 url="$base/registry.git"

requests() { wc -l < "$work/server.log" | tr -d ' '; }

# A Markdown row: name, setup, timed; the requests of the last run, the median time of $RUNS runs.
rt_run() {
  local times="" n=0
  for _ in $(seq "$RUNS"); do
    "$2" >/dev/null 2>&1
    sleep 0.2; : > "$work/server.log"
    local t0 t1
    t0=$EPOCHREALTIME
    "$3" >/dev/null 2>&1 || { echo "$1 failed" >&2; exit 1; }
    t1=$EPOCHREALTIME
    sleep 0.2
    n=$(requests)
    times+="$(awk -v a="${t0/,/.}" -v b="${t1/,/.}" 'BEGIN {print b - a}')"$'\n'
  done
  printf '| %s | %s | %s s |\n' "$1" "$n" "$(printf '%s' "$times" | median)"
}

nothing() { :; }
git_sparse() {
  local tmp; tmp=$(mktemp -d "$work/up.XXXXXX")
  git clone -q --filter=blob:none --sparse "$url" "$tmp/registry"
  git -C "$tmp/registry" sparse-checkout set --no-cone "/plugins/$plugin/*"
  rm -rf "$tmp"
}
fresh_home_empty_cache() { rm -rf "$work/cache" "$work/home"; ATK_HOME="$work/home" "$atk" init -q; }
atk_add() { ATK_HOME="$work/home" ATK_CACHE_DIR="$work/cache" "$atk" --registry "$url" add "$plugin" -q; }

# A home with 7 plugins from 3 sources, all at their sources' latest commits.
ATK_HOME="$work/up" "$atk" init -q
for i in 1 2 3 4 5; do
  ATK_HOME="$work/up" ATK_CACHE_DIR="$work/up-cache" "$atk" --registry "$url" add "$(printf 'plugin-%03d' "$i")" -q
done
for t in 1 2; do ATK_HOME="$work/up" ATK_CACHE_DIR="$work/up-cache" "$atk" add -y "$base/tool$t.git" -q 2>/dev/null; done
atk_upgrade_all() {
  ATK_HOME="$work/up" ATK_CACHE_DIR="$work/up-cache" "$atk" --registry "$url" upgrade --all -y -q
  [ -z "$(git -C "$work/up" status --porcelain)" ]
}

gitq clone --bare "$work/up" "$work/home.git"
fresh_clone() { rm -rf "$work/b" "$work/b-cache"; gitq clone "$work/home.git" "$work/b"; }
atk_install() { ATK_HOME="$work/b" ATK_CACHE_DIR="$work/b-cache" "$atk" --registry "$url" install --all -q; }

echo "| step ($DELAY_MS ms per answer) | HTTP requests | median wall time ($RUNS runs) |"
echo "|---|---|---|"
rt_run "git's sparse method: clone --filter=blob:none --sparse + sparse-checkout set" nothing git_sparse
rt_run "atk add <registry plugin>, cold cache" fresh_home_empty_cache atk_add
rt_run "atk upgrade --all, nothing new (7 plugins, 3 sources)" nothing atk_upgrade_all
rt_run "atk install --all, fresh clone of that home, cold cache" fresh_clone atk_install

# Package registries (tests/support/registries.py) with the same delay per answer.
python3 "$PWD/tests/support/registries.py" --config "$work/pkgs.json" --port-file "$work/pkgs.port" \
  --log "$work/pkgs.log" --delay-ms "$DELAY_MS" --exit-with-parent &
printf '{"npm": {%s}}' "$(for i in $(seq 10); do printf '"pkg-%s": {"versions": {"1.0.0": {"time": "2026-01-01T00:00:00Z"}}}' "$i"; [ "$i" -lt 10 ] && printf ','; done)" > "$work/pkgs.json"
for _ in $(seq 100); do [ -s "$work/pkgs.port" ] && break; sleep 0.05; done
export npm_config_registry="http://127.0.0.1:$(cat "$work/pkgs.port")/npm/" NPM_CONFIG_USERCONFIG="$work/no-npmrc"
ATK_HOME="$work/pk" "$atk" init -q
for i in $(seq 10); do
  mkdir -p "$work/pk-src/p$i"
  printf 'schema_version: "2026-01-23"\nname: p%s\ndescription: npx plugin %s\nmaturity: verified\nmcp:\n  transport: stdio\n  command: npx\n  args: ["-y", "pkg-%s"]\n' "$i" "$i" "$i" > "$work/pk-src/p$i/plugin.yaml"
  ATK_HOME="$work/pk" "$atk" add -y "$work/pk-src/p$i" -q
done
atk_upgrade_packages() { ATK_HOME="$work/pk" "$atk" upgrade --all --dry-run -q; }
pk_requests() { wc -l < "$work/pkgs.log" | tr -d ' '; }
times=""
for _ in $(seq "$RUNS"); do
  : > "$work/pkgs.log"
  t0=$EPOCHREALTIME; atk_upgrade_packages >/dev/null 2>&1 || { echo "upgrade failed" >&2; exit 1; }; t1=$EPOCHREALTIME
  times+="$(awk -v a="${t0/,/.}" -v b="${t1/,/.}" 'BEGIN {print b - a}')"$'\n'
done
printf '| %s | %s | %s s |\n' "atk upgrade --all --dry-run, 10 plugins each running its own npm package" "$(pk_requests)" "$(printf '%s' "$times" | median)"
