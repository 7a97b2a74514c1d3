#!/usr/bin/env bash
# `atk backup` and `atk restore` of a plugin holding SIZE_MB of data (half random, half text that
# compresses), beside `tar czf` / `tar xzf` of the same folder; `atk export --with-data` and
# `atk import --with-data` of that home. Release build. Prints a Markdown table: median wall time
# of RUNS runs, peak memory.
#
#   benches/data.sh            (RUNS=3 SIZE_MB=200 by default)
RUNS=${RUNS:-3} SIZE_MB=${SIZE_MB:-200} PLUGINS=0 COMMITS=0
source "$(dirname "$0")/lib.sh"
export ATK_HOME="$work/home" ATK_CACHE_DIR="$work/cache" XDG_DATA_HOME="$work/xdg"
mkdir -p "$work/src/keeper"
printf 'schema_version: "2026-01-23"\nname: keeper\ndescription: keeps data\nmaturity: verified\n' > "$work/src/keeper/plugin.yaml"
printf 'paths: [data]\n' > "$work/src/keeper/atk-data.yaml"
"$atk" init -q
"$atk" add "$work/src/keeper" -y -q
python3 - "$ATK_HOME/plugins/keeper/data" "$SIZE_MB" <<'PY'
import os, sys
root, mb = sys.argv[1], int(sys.argv[2])
for i in range(mb):
    d = f"{root}/shard{i // 50}"
    os.makedirs(d, exist_ok=True)
    with open(f"{d}/part{i}.bin", "wb") as f:
        f.write(os.urandom(512 * 1024) + (b"a row of text that compresses well\n" * 15000)[: 512 * 1024])
PY
data="$ATK_HOME/plugins/keeper/data"
echo "data: $(du -sh "$data" | cut -f1) in $(find "$data" -type f | wc -l) files" >&2

nothing() { :; }
tar_c() { tar -czf "$work/plain.tar.gz" -C "$ATK_HOME/plugins/keeper" data; }
tar_x() { rm -rf "$work/x" && mkdir "$work/x" && tar -xzf "$work/plain.tar.gz" -C "$work/x"; }
atk_backup() { "$atk" backup keeper -q; }
atk_restore() { "$atk" restore keeper --yes -q; }
atk_export() { "$atk" export --all -o "$work/laptop.atk" --with-data -q; }
atk_import() { rm -rf "$work/b"; ATK_HOME="$work/b" XDG_DATA_HOME="$work/xdg-b" "$atk" import "$work/laptop.atk" --with-data -q; }
export -f tar_c tar_x atk_backup atk_restore atk_export atk_import
export atk work ATK_HOME ATK_CACHE_DIR XDG_DATA_HOME
tar_c; atk_backup; atk_export

echo "| step ($SIZE_MB MB of data) | median wall time ($RUNS runs) | bytes sent by the server | peak memory |"
echo "|---|---|---|---|"
run "tar czf of the data folder" nothing tar_c
run "atk backup (checksums, archive, summary)" nothing atk_backup
run "tar xzf of it" nothing tar_x
run "atk restore --yes (verify, unpack, back up the current data, swap in)" nothing atk_restore
run "atk export --all --with-data" nothing atk_export
run "atk import --with-data (a new home)" nothing atk_import
