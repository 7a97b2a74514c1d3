#!/bin/sh
set -eu
cd "$(dirname "$0")"
rm -f runtime/running
[ -d runtime ] && echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) stopped" >> runtime/hello.log
echo "hello: stopped"
