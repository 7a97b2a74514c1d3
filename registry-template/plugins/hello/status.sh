#!/bin/sh
# Exit 0 when running, 1 when stopped.
cd "$(dirname "$0")" && test -f runtime/running
