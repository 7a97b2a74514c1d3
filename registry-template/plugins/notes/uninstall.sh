#!/bin/sh
set -eu
cd "$(dirname "$0")"
rm -f "${NOTES_FILE:-notes.txt}"
echo "notes: removed"
