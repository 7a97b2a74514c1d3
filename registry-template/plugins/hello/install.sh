#!/bin/sh
# Prepares the runtime folder. Everything this plugin writes stays inside its own folder.
set -eu
cd "$(dirname "$0")"
mkdir -p runtime
printf '%s, %s!\n' "${HELLO_GREETING:-Hello}" "$HELLO_NAME" > runtime/greeting.txt
echo "hello: installed ($(cat runtime/greeting.txt))"
