#!/bin/sh
set -eu
cd "$(dirname "$0")"
touch "${NOTES_FILE:-notes.txt}"
echo "notes: ready in $(pwd)/${NOTES_FILE:-notes.txt}"
