#!/usr/bin/env bash
# Release artifacts: for each TARGET, a binary that needs neither libcurl nor OpenSSL on the
# machine (the `static` feature: both compiled from source and linked in; the `dist` profile: the
# release one made for size), packed with its man pages, shell completions, LICENSE and README.md
# as atk-VERSION-TARGET.tar.gz, then checked (the archive unpacked into an empty folder, its binary
# run with an empty environment, its libraries and sizes); and SHA256SUMS over every archive in the
# output folder. .github/workflows/release.yml runs this script; so does .ci/run, for the host's
# Linux target.
#
#   scripts/release.sh [--out DIR] [TARGET...]      build, pack and check (default TARGET: the
#                                                   host's: x86_64 or aarch64 -unknown-linux-musl,
#                                                   or -apple-darwin)
#   scripts/release.sh [--out DIR] --binary BIN TARGET
#                                                   pack and check an already built BIN as TARGET's
#                                                   (the tests pack the debug binary so)
#   scripts/release.sh [--out DIR] --checksums      only write SHA256SUMS for the archives in DIR
#
# DIR defaults to target/distrib. Linux targets other than the host's architecture are built with
# cargo-zigbuild (`pip install ziglang cargo-zigbuild`) and checked under qemu-user
# (qemu-ARCH on PATH). Needs: the rustup target, a C compiler for it (musl-gcc from Debian's
# musl-tools for the host's musl target), perl and make (OpenSSL's build), and pigz (the archives'
# zopfli compression; gzip -9 without it).
set -euo pipefail
cd "$(dirname "$0")/.."

# The limits the issue sets: the binary under 12 MB, its archive under 5 MB.
max_binary=12000000
max_archive=5000000

die() {
  echo "release: $*" >&2
  exit 1
}

out=target/distrib
binary=
sums_only=
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=${2:?--out needs a folder}; shift 2 ;;
    --binary) binary=${2:?--binary needs a file}; shift 2 ;;
    --checksums) sums_only=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) targets+=("$1"); shift ;;
  esac
done

host_os=$(uname -s)
host_arch=$(uname -m)
case "$host_arch" in
  amd64) host_arch=x86_64 ;;
  arm64) host_arch=aarch64 ;;
esac
if [ ${#targets[@]} -eq 0 ] && [ -z "$sums_only" ]; then
  case "$host_os" in
    Linux) targets=("$host_arch-unknown-linux-musl") ;;
    Darwin) targets=("$host_arch-apple-darwin") ;;
    *) die "no default target for $host_os; name one" ;;
  esac
fi
if [ -n "$binary" ] && [ ${#targets[@]} -ne 1 ]; then
  die "--binary packs one target's binary; name exactly one TARGET"
fi

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
[ -n "$version" ] || die "no version in Cargo.toml"

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$@"; else shasum -a 256 "$@"; fi
}
size_of() { wc -c <"$1" | tr -d ' '; }

# SHA256SUMS: every archive in $out, by name (the form `sha256sum -c` reads).
write_sums() {
  (
    cd "$out"
    set -- atk-*.tar.gz
    [ -e "$1" ] || die "no atk-*.tar.gz in $out"
    sha256 "$@" >SHA256SUMS.tmp
    mv SHA256SUMS.tmp SHA256SUMS
  )
  echo "== $out/SHA256SUMS"
  cat "$out/SHA256SUMS"
}

mkdir -p "$out"
out=$(cd "$out" && pwd)
if [ -n "$sums_only" ]; then
  write_sums
  exit 0
fi

# What runs TARGET's binaries here: nothing (the host's own), or qemu-user for another Linux
# architecture; "none" when neither.
runner_for() {
  local arch=${1%%-*}
  case "$1" in
    *-linux-*)
      [ "$host_os" = Linux ] || { echo none; return; }
      if [ "$arch" = "$host_arch" ]; then
        echo ""
      elif command -v "qemu-$arch" >/dev/null 2>&1; then
        command -v "qemu-$arch"
      else
        echo none
      fi
      ;;
    *-apple-darwin)
      # An Apple silicon Mac runs x86_64 binaries too (Rosetta).
      if [ "$host_os" = Darwin ] && { [ "$arch" = "$host_arch" ] || [ "$arch" = x86_64 ]; }; then
        echo ""
      else
        echo none
      fi
      ;;
    *) echo none ;;
  esac
}

build() {
  local target=$1 arch=${1%%-*}
  rustup target add "$target" >/dev/null 2>&1 || true
  local cargo=(cargo build)
  if [[ $target == *-linux-* ]] && { [ "$host_os" != Linux ] || [ "$arch" != "$host_arch" ]; }; then
    command -v cargo-zigbuild >/dev/null 2>&1 ||
      die "building $target here needs cargo-zigbuild (pip install ziglang cargo-zigbuild)"
    cargo=(cargo zigbuild)
  fi
  # The dist profile: the release profile made for size (Cargo.toml).
  echo "== ${cargo[*]} --profile dist --locked --features static --target $target" >&2
  local start=$SECONDS
  # No unwind tables: the dist profile aborts on a panic, and its stripped binary's backtraces
  # would name nothing. On Linux, the C code (libcurl, OpenSSL) without them too.
  local rustflags="-C force-unwind-tables=no" cflags=${TARGET_CFLAGS:-}
  if [[ $target == *-linux-* ]]; then
    cflags="${cflags:+$cflags }-fno-asynchronous-unwind-tables -fno-unwind-tables"
  fi
  # The C code made for size too: OpenSSL's build asks for -O2 (its hot paths are assembly,
  # which this leaves alone); -Os after it wins.
  cflags="${cflags:+$cflags }-Os"
  # x86_64's musl binary is a static PIE (loaded at a random address): its relocations packed
  # (DT_RELR, which musl 1.2.4 and later applies) are 0.8 MB less. aarch64's is not a PIE, and
  # zig's linker would not take the flag.
  if [[ $target == x86_64-*-linux-musl ]] && [ "${cargo[1]}" = build ]; then
    rustflags="$rustflags -C link-arg=-Wl,-z,pack-relative-relocs"
  fi
  RUSTFLAGS="$rustflags" TARGET_CFLAGS="$cflags" \
    "${cargo[@]}" --profile dist --locked --features static --target "$target" >&2 ||
    die "the build of $target failed"
  echo "== built $target in $((SECONDS - start)) s" >&2
  [[ $target == *-linux-* ]] && zero_unwind_tables "target/$target/dist/atk"
  echo "target/$target/dist/atk"
}

# The binary aborts on a panic: nothing in it ever unwinds. The unwind tables the standard library
# (prebuilt with them) and the assembly of OpenSSL bring are still linked in (about 0.9 MB on
# aarch64), in the middle of a loaded segment where they cannot be cut out: they are zeroed, which
# the archive's gzip packs to almost nothing. An unwinder that looks finds a table header of
# version 0, which it takes as no table (a backtrace, asked for with RUST_BACKTRACE, comes out
# empty).
zero_unwind_tables() {
  python3 - "$1" <<'PY' >&2
import struct, sys
path = sys.argv[1]
with open(path, "r+b") as f:
    data = f.read()
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, "a 64-bit little-endian ELF file"
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    def section(i):
        name, kind, _, _, offset, size = struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)
        return name, kind, offset, size
    _, _, strtab, _ = section(shstrndx)
    zeroed = 0
    for i in range(shnum):
        name, kind, offset, size = section(i)
        label = data[strtab + name : data.index(b"\0", strtab + name)]
        if label in (b".eh_frame", b".eh_frame_hdr") and kind == 1:  # PROGBITS
            f.seek(offset)
            f.write(b"\0" * size)
            zeroed += size
print(f"== unwind tables zeroed: {zeroed} bytes")
PY
}

# Man pages and completions are the same for every target: made once, by the first binary that
# runs here.
docs=
make_docs() {
  local bin=$1 runner=$2
  docs=$(mktemp -d)
  mkdir -p "$docs/completions" "$docs/man/man1"
  local run=("$bin")
  [ -z "$runner" ] || run=("$runner" "$bin")
  "${run[@]}" completions bash >"$docs/completions/atk.bash"
  "${run[@]}" completions zsh >"$docs/completions/_atk"
  "${run[@]}" completions fish >"$docs/completions/atk.fish"
  # Man pages: atk.1 and atk-COMMAND.1 for every command, from the clap tree (hidden command).
  "${run[@]}" __generate-man "$docs/man/man1" >/dev/null
  [ -s "$docs/man/man1/atk.1" ] || die "atk __generate-man wrote no atk.1"
}

pack() {
  local target=$1 bin=$2
  local name="atk-$version-$target"
  local stage
  stage=$(mktemp -d)
  mkdir "$stage/$name"
  cp "$bin" "$stage/$name/atk"
  chmod 755 "$stage/$name/atk"
  cp LICENSE README.md "$stage/$name/"
  cp -R "$docs/completions" "$stage/$name/"
  cp -R "$docs/man" "$stage/$name/"
  # Sorted names and no owner, so that the same files make the same listing.
  (cd "$stage" && find "$name" -print | LC_ALL=C sort >files)
  # The smallest gzip for a release (pigz -11 is zopfli: 3 to 4 % less than gzip -9, which keeps
  # aarch64's archive under the limit); a fast one for a binary given with --binary (the tests').
  local gz=(gzip -9 -n)
  if [ -n "$binary" ]; then
    gz=(gzip -1 -n)
  elif command -v pigz >/dev/null 2>&1; then
    gz=(pigz -11 -n)
  else
    echo "release: no pigz here: packed with gzip -9 (larger)" >&2
  fi
  if tar --version 2>/dev/null | grep -q 'GNU tar'; then
    # Every file dated as the last commit: the same sources make the same archive.
    local mtime
    mtime=$(git log -1 --format=%ct 2>/dev/null || echo 0)
    tar -C "$stage" --owner=0 --group=0 --numeric-owner --mtime="@$mtime" --no-recursion -T "$stage/files" -cf - |
      "${gz[@]}" >"$out/$name.tar.gz"
  else
    tar -C "$stage" --uid 0 --gid 0 -n -T "$stage/files" -cf - | "${gz[@]}" >"$out/$name.tar.gz"
  fi
  rm -rf "$stage"
  echo "$out/$name.tar.gz"
}

# The archive as a user gets it: unpacked into an empty folder, its binary run with an empty
# environment, linked against no libcurl or OpenSSL, its man pages readable, within the limits.
check() {
  local target=$1 archive=$2 runner=$3 built=$4
  local name="atk-$version-$target"
  local dir
  dir=$(mktemp -d)
  tar -C "$dir" -xzf "$archive"
  local bin="$dir/$name/atk"
  for f in atk LICENSE README.md completions/atk.bash completions/_atk completions/atk.fish man/man1/atk.1; do
    [ -s "$dir/$name/$f" ] || die "$archive lacks $name/$f"
  done
  local run=("$bin")
  [ -z "$runner" ] || run=("$runner" "$bin")
  if [ "$runner" = none ]; then
    echo "== $target: cannot run its binary here; not run"
  else
    local got
    got=$(env -i "${run[@]}" --version) || die "$target: atk --version failed with an empty environment"
    [ "$got" = "atk $version" ] || die "$target: atk --version says '$got', not 'atk $version'"
    echo "== env -i atk --version: $got"
    # One real command: validate the bundled registry's plugins, offline, with an empty
    # environment (no HOME, no PATH).
    env -i "${run[@]}" validate registry-template/plugins/*/ >"$dir/validate.out" 2>&1 ||
      { cat "$dir/validate.out" >&2; die "$target: atk validate failed with an empty environment"; }
    echo "== env -i atk validate registry-template/plugins/*/: ok"
  fi
  if [ -d "$dir/$name/man/man1" ]; then
    local pages=0 page
    for page in "$dir/$name"/man/man1/*.1; do
      if [ "$host_os" = Linux ]; then
        # Rendered as `man` shows it: it must render to text; troff's warnings are shown.
        MANWIDTH=80 man --warnings -l "$page" >"$dir/man.out" 2>"$dir/man.err" ||
          { cat "$dir/man.err" >&2; die "man -l $page failed"; }
        [ -s "$dir/man.out" ] || die "man -l $page shows nothing"
        [ ! -s "$dir/man.err" ] || sed "s|^|$(basename "$page"): |" "$dir/man.err" >&2
      else
        mandoc -T lint -W error "$page" >/dev/null || die "mandoc finds errors in $page"
      fi
      pages=$((pages + 1))
    done
    echo "== $pages man pages read"
  fi
  # A binary given with --binary (the tests' debug one) is packed as it is: only what this script
  # builds is held to being static and to the sizes.
  [ "$built" = 1 ] || { rm -rf "$dir"; return 0; }
  case "$target" in
    *-linux-*)
      # No dynamic library at all: "not a dynamic executable" (glibc's ldd) or "Not a valid
      # dynamic program" (musl's).
      local libs
      libs=$(ldd "$bin" 2>&1 || true)
      echo "== ldd: $libs"
      if printf '%s\n' "$libs" | grep -Eqi 'libcurl|libssl|libcrypto'; then
        die "$target: the binary links a shared libcurl or OpenSSL"
      fi
      printf '%s\n' "$libs" | grep -Eqi 'not a dynamic executable|not a valid dynamic program|statically linked' ||
        die "$target: the binary is dynamically linked"
      ;;
    *-apple-darwin)
      local libs
      libs=$(otool -L "$bin" | tail -n +2)
      echo "== otool -L:"
      echo "$libs"
      if printf '%s\n' "$libs" | grep -Ev '^[[:space:]]*(/usr/lib/|/System/)' | grep -q .; then
        die "$target: the binary links a library that is not the system's"
      fi
      if printf '%s\n' "$libs" | grep -Eqi 'libcurl|libssl|libcrypto'; then
        die "$target: the binary links a shared libcurl or OpenSSL"
      fi
      ;;
  esac
  local bsize asize
  bsize=$(size_of "$bin")
  asize=$(size_of "$archive")
  echo "== sizes: binary $bsize bytes (limit $max_binary), archive $asize bytes (limit $max_archive)"
  [ "$bsize" -lt "$max_binary" ] || die "$target: the binary is $bsize bytes, over $max_binary"
  [ "$asize" -lt "$max_archive" ] || die "$target: the archive is $asize bytes, over $max_archive"
  rm -rf "$dir"
}

for target in "${targets[@]}"; do
  if [ -n "$binary" ]; then
    bin=$binary
    built=0
  else
    bin=$(build "$target")
    built=1
  fi
  [ -f "$bin" ] || die "no binary at $bin"
  runner=$(runner_for "$target")
  if [ -z "$docs" ] && [ "$runner" != none ]; then
    make_docs "$bin" "$runner"
  fi
  [ -n "$docs" ] || die "no binary that runs here made the completions (build a target this machine runs first)"
  archive=$(pack "$target" "$bin")
  echo "== $archive"
  check "$target" "$archive" "$runner" "$built"
done
[ -z "$docs" ] || rm -rf "$docs"
write_sums
