#!/usr/bin/env python3
"""A stand-in for `docker` in the data tests: volumes are folders under $FAKE_DOCKER_VOLUMES, and
`docker run -v VOL:/volume -v DIR:/backup IMAGE CMD...` runs CMD here with those two paths put in
place of /volume and /backup. Every call is appended to $FAKE_DOCKER_LOG."""
import os
import subprocess
import sys

args = sys.argv[1:]
volumes = os.environ["FAKE_DOCKER_VOLUMES"]
with open(os.environ["FAKE_DOCKER_LOG"], "a") as log:
    log.write(" ".join(args) + "\n")

if args[:2] == ["volume", "inspect"]:
    sys.exit(0 if os.path.isdir(os.path.join(volumes, args[-1])) else 1)

if args[:1] == ["run"]:
    mounts = {}
    i = 1
    while i < len(args):
        a = args[i]
        if a == "--rm":
            i += 1
        elif a == "--network":
            i += 2
        elif a == "-v":
            src, dst = args[i + 1].split(":")[:2]
            if not src.startswith("/"):
                src = os.path.join(volumes, src)
                os.makedirs(src, exist_ok=True)
            mounts[dst] = src
            i += 2
        else:
            break
    image, command = args[i], args[i + 1:]
    assert image.startswith("busybox"), image
    replaced = []
    for word in command:
        for dst, src in mounts.items():
            word = word.replace(dst, src)
        replaced.append(word)
    sys.exit(subprocess.call(replaced))

print("fake docker: unknown command", args, file=sys.stderr)
sys.exit(2)
