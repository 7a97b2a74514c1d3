#!/bin/sh
set -eu
cd "$(dirname "$0")"
mkdir -p runtime
touch runtime/running
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) started: $(cat runtime/greeting.txt 2>/dev/null)" >> runtime/hello.log
echo "hello: started"
