#!/bin/sh
set -eu
cd "$(dirname "$0")"
rm -rf runtime
echo "hello: uninstalled"
