#!/bin/sh
# Installs atk, the git-native plugin manager, from its prebuilt release archives:
#
#   curl -LsSf https://github.com/Svtoo/atk/releases/latest/download/install.sh | sh
#
# It picks the archive for this machine (Linux or macOS, x86_64 or aarch64), downloads it and
# SHA256SUMS, refuses an archive whose checksum does not match (nothing is installed then), and
# puts the `atk` binary into ~/.local/bin, telling how to put that folder on PATH if it is not.
#
# Settings (environment variables):
#   ATK_INSTALL_DIR  where the binary goes (default: ~/.local/bin)
#   ATK_VERSION      a release to install, such as 0.1.0 (default: the latest)
#   ATK_INSTALL_URL  the folder holding SHA256SUMS and the archives (default: the GitHub release's)
#
# Needs curl or wget, tar, and sha256sum or shasum. To build from source instead:
#   cargo install --locked atk-cli
set -eu

# Everything is in a function called on the last line: a download cut short runs nothing.
main() {
repo_url=https://github.com/Svtoo/atk

err() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# --- the platform -------------------------------------------------------------------------------
os=$(uname -s)
arch=$(uname -m)
case "$arch" in
  x86_64 | amd64) arch=x86_64 ;;
  aarch64 | arm64) arch=aarch64 ;;
  *) arch=unsupported ;;
esac
case "$os" in
  Linux) suffix=unknown-linux-musl ;;
  Darwin)
    suffix=apple-darwin
    # A shell under Rosetta on an Apple silicon Mac says x86_64; the native binary is better.
    if [ "$arch" = x86_64 ] && [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || true)" = 1 ]; then
      arch=aarch64
    fi
    ;;
  *) arch=unsupported ;;
esac
if [ "$arch" = unsupported ]; then
  err "no prebuilt atk for $(uname -s) $(uname -m) (there are for Linux and macOS on x86_64 and aarch64); build it from source: cargo install --locked atk-cli"
fi
target="$arch-$suffix"

# --- where from, where to -----------------------------------------------------------------------
if [ -n "${ATK_INSTALL_URL:-}" ]; then
  url=${ATK_INSTALL_URL%/}
elif [ -n "${ATK_VERSION:-}" ]; then
  url="$repo_url/releases/download/v${ATK_VERSION#v}"
else
  url="$repo_url/releases/latest/download"
fi
if [ -n "${ATK_INSTALL_DIR:-}" ]; then
  dir=$ATK_INSTALL_DIR
elif [ -n "${HOME:-}" ]; then
  dir="$HOME/.local/bin"
else
  err "HOME is not set, so there is no ~/.local/bin; set ATK_INSTALL_DIR to the folder to install atk into"
fi

tmp=$(mktemp -d 2>/dev/null || mktemp -d -t atk-install)
staged=
# The temporary folder, and a copy not yet renamed into place, go whatever the way out.
trap 'rm -rf "$tmp"; [ -z "$staged" ] || rm -f "$staged"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- tools --------------------------------------------------------------------------------------
# A download that fails leaves its tool's one-line reason in $tmp/why, for the one error line.
if command -v curl >/dev/null 2>&1; then
  # An https address is never redirected to plain http.
  download() {
    case "$1" in
      https://*) curl -fsSL --proto-redir '=https' --retry 2 -o "$2" "$1" 2>"$tmp/why" ;;
      *) curl -fsSL --retry 2 -o "$2" "$1" 2>"$tmp/why" ;;
    esac
  }
elif command -v wget >/dev/null 2>&1; then
  download() { wget -q -O "$2" "$1" 2>"$tmp/why"; }
else
  err "neither curl nor wget is installed; install one of them and run this again"
fi
if command -v sha256sum >/dev/null 2>&1; then
  sha256() { sha256sum "$1" | cut -d ' ' -f 1; }
elif command -v shasum >/dev/null 2>&1; then
  sha256() { shasum -a 256 "$1" | cut -d ' ' -f 1; }
else
  err "neither sha256sum nor shasum is installed, so the download cannot be verified; install one of them and run this again"
fi
command -v tar >/dev/null 2>&1 || err "tar is not installed; install it and run this again"

# --- download and verify ------------------------------------------------------------------------
why() { tr '\n' ' ' <"$tmp/why" | sed 's/ *$//; s/^\(.\)/ (\1/; s/\(.\)$/\1)/'; }
download "$url/SHA256SUMS" "$tmp/SHA256SUMS" || err "could not download $url/SHA256SUMS$(why); check the address (ATK_INSTALL_URL, ATK_VERSION) and your connection"
# The line of this target's archive: "HASH  atk-VERSION-TARGET.tar.gz" (a name with no slash).
line=$(grep -E "^[0-9a-fA-F]{64} [ *]atk-[0-9A-Za-z.+_-]+-$target\.tar\.gz\$" "$tmp/SHA256SUMS" | head -n 1 || true)
[ -n "$line" ] || err "the release at $url has no archive for $target; build atk from source: cargo install --locked atk-cli"
expected=$(printf '%s\n' "$line" | cut -d ' ' -f 1 | tr 'A-F' 'a-f')
name=$(printf '%s\n' "$line" | cut -d ' ' -f 2- | sed 's/^[ *]//')

echo "downloading $url/$name"
download "$url/$name" "$tmp/$name" || err "could not download $url/$name$(why); check your connection and run this again"
actual=$(sha256 "$tmp/$name")
if [ "$actual" != "$expected" ]; then
  err "$name does not match its checksum in SHA256SUMS (expected $expected, got $actual): nothing was installed; download it again, or report it if it persists"
fi

tar -xzf "$tmp/$name" -C "$tmp" || err "could not unpack $name: nothing was installed"
bin="$tmp/${name%.tar.gz}/atk"
[ -f "$bin" ] || err "$name holds no ${name%.tar.gz}/atk: nothing was installed"
version=$("$bin" --version 2>/dev/null) || err "the downloaded atk does not run on this machine ($target): nothing was installed; build it from source: cargo install --locked atk-cli"

# --- install ------------------------------------------------------------------------------------
mkdir -p "$dir" || err "could not create $dir; set ATK_INSTALL_DIR to a folder you can write"
if [ -d "$dir/atk" ]; then
  err "$dir/atk is a folder: nothing was installed; move it away, or set ATK_INSTALL_DIR to another folder"
fi
# Copied beside, then renamed over: an atk that is running keeps its file.
staged="$dir/.atk.install.$$"
cp "$bin" "$staged" || err "could not write into $dir; set ATK_INSTALL_DIR to a folder you can write"
chmod 755 "$staged"
mv -f "$staged" "$dir/atk" || err "could not write $dir/atk"
staged=
echo "installed $version to $dir/atk"

case ":${PATH:-}:" in
  *":$dir:"* | *":${dir%/}:"*) ;;
  *)
    echo
    echo "$dir is not on your PATH. To put it there:"
    case "${SHELL:-}" in
      */zsh) echo "  echo 'export PATH=\"$dir:\$PATH\"' >> ~/.zshrc" ;;
      */bash) echo "  echo 'export PATH=\"$dir:\$PATH\"' >> ~/.bashrc" ;;
      */fish) echo "  fish_add_path '$dir'" ;;
      *) echo "  echo 'export PATH=\"$dir:\$PATH\"' >> ~/.profile" ;;
    esac
    echo "then open a new terminal."
    ;;
esac
echo
echo "Shell completions: atk completions bash|zsh|fish prints the script for your shell."
}

main "$@"
