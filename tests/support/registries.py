#!/usr/bin/env python3
"""Package registries for the tests, on 127.0.0.1: npm, PyPI (simple API) and OCI distribution.

One HTTP/1.1 server (a thread per connection), standard library only:

    python3 registries.py --config CONFIG.json --port-file PORT [--log LOG] [--delay-ms N] [--exit-with-parent]
    python3 registries.py --config CONFIG.json --describe      # the derived digests, as JSON

The port is chosen by the OS and written to --port-file (atomically) once the server listens. The
config is re-read on every request, so a test changes what the registries serve between commands
(publish a version, deprecate or yank one, move a tag). --log gets one line per request, flushed at
once: `METHOD PATH` (the raw path, query included) plus ` SCHEME` when an Authorization header is
sent (`Bearer`, `Basic`). --delay-ms delays every answer (benchmarks of round trips).

Paths
-----
npm, under /npm/ (the registry URL is http://127.0.0.1:PORT/npm/):
    GET /npm/<name>                 the packument (scoped: /npm/@scope%2fname or /npm/@scope/name);
                                    the full document (application/json) with `time`, or the
                                    abbreviated one when the request's Accept asks for
                                    application/vnd.npm.install-v1+json first (as npm install does).
    GET /npm/<name>/<version|tag>   one version's document.
    GET /npm/<name>/-/<base>-<version>.tgz   the tarball.
    unknown package: 404 {"error":"Not found"}.
PyPI, under /pypi/simple/ (the index URL is http://127.0.0.1:PORT/pypi/simple/):
    GET /pypi/simple/               the project list.
    GET /pypi/simple/<name>/        PEP 691 JSON (api-version 1.1, PEP 700 `versions` and
                                    `upload-time`) when Accept names application/vnd.pypi.simple.v1+json,
                                    else the PEP 503 HTML page. A name that is not normalized (PEP 503)
                                    or lacks the trailing slash: 301 to the normalized URL.
    GET /pypi/files/<normalized>/<filename>  a file. Unknown: 404.
OCI distribution, at /v2/, with a token service at /token:
    GET /v2/                        401 + WWW-Authenticate: Bearer realm="http://HOST/token",service="atk-test"
                                    unless a valid bearer token is sent (then 200 {}).
    GET /token?service=atk-test&scope=repository:<name>:pull[&scope=...]
                                    {"token","access_token","expires_in","issued_at"}; anonymous for
                                    public repositories, Basic user:password for private ones (401 else).
    HEAD|GET /v2/<name>/manifests/<tag|digest>   401 (with the scope in WWW-Authenticate) without a
                                    token for <name>; else an OCI image index, Docker-Content-Digest
                                    sha256 of the body. Unknown repository or tag: 404 MANIFEST_UNKNOWN.
    GET /v2/<name>/tags/list        {"name","tags"}.

Config (JSON; every part optional)
----------------------------------
{
  "npm": {
    "@scope/pkg": {
      "dist-tags": {"latest": "2.0.0"},         # default: latest = the highest non-prerelease version
      "versions": {
        "1.0.0": {
          "time": "2026-11-01T00:00:00Z",      # publication time (any ISO-8601; default 2020-01-01)
          "bin": true,                         # true: a bin named after the package (unscoped);
                                               # "name": a bin of that name; absent/false: no bin
          "deprecated": "use 2",               # npm deprecate's message
          "content": "anything"                # changes the tarball's bytes (so its integrity)
        }
      },
      "created": "...", "modified": "...",     # optional; default the first and last version times
      "hang": true,                            # requests for it are held unanswered
      "status": 500                            # requests for it are answered with that status
    }
  },
  "pypi": {
    "Work_Space-MCP": {                        # any spelling; served under its normalized name
      "versions": {
        "1.2.0": {
          "time": "2026-11-01T00:00:00Z",      # upload time of its files (default 2020-01-01)
          "yanked": false,                     # or true, or a reason string
          "requires-python": ">=3.10",
          "files": ["wheel", "sdist"],         # the default; an entry may also be an object
                                               # {"kind": "wheel"|"sdist", "filename": ..., "time": ...,
                                               #  "yanked": ..., "requires-python": ..., "content": ...}
          "content": "anything"                # changes the files' bytes (so their sha256)
        }
      },
      "hang": true, "status": 500
    }
  },
  "oci": {
    "library/mongo": {
      "tags": {"7": "content-v1"},             # each tag's content: the same content, the same digest
      "private": {"user": "u", "password": "p"},
      "hang": true, "status": 500
    }
  }
}
A name "*" in a section applies its "hang"/"status" to every request of that registry (known names
or not). Wheels are real wheels: a console script named after the project that prints
`<name>==<version> <args>`; npm bins print `<name>@<version> <args>` (see npm_cli below).
"""

import argparse
import base64
import datetime
import gzip
import hashlib
import hmac
import html
import io
import json
import os
import re
import select
import socket
import sys
import tarfile
import threading
import time
import urllib.parse
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_TIME = "2020-01-01T00:00:00Z"
# npm's own fixed mtime for reproducible tarballs (1985-10-26T08:15:00Z).
TAR_MTIME = 499162500
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
PYPI_JSON = "application/vnd.pypi.simple.v1+json"
NPM_CORGI = "application/vnd.npm.install-v1+json"
SERVICE = "atk-test"
SECRET = os.urandom(16)


# ---------------------------------------------------------------------------------------------
# Derived content (pure functions of the config)


def parse_time(value):
    text = str(value or DEFAULT_TIME).strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    t = datetime.datetime.fromisoformat(text)
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return t.astimezone(datetime.timezone.utc)


def npm_time(value):
    t = parse_time(value)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def pypi_time(value):
    return parse_time(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def version_key(v):
    """A semver-ish order: numeric parts compared as numbers; a prerelease sorts before its release."""
    main, _, pre = str(v).partition("-")
    nums = []
    for part in re.split(r"[.+]", main):
        nums.append((0, int(part), "") if part.isdigit() else (1, 0, part))
    return (nums, 0 if pre else 1, pre)


def npm_base(name):
    return name.split("/", 1)[1] if name.startswith("@") and "/" in name else name


def npm_bin(name, spec):
    b = spec.get("bin")
    if b is True:
        return {npm_base(name): "cli.js"}
    if isinstance(b, str) and b:
        return {b: "cli.js"}
    if isinstance(b, dict) and b:
        return {k: "cli.js" for k in b}
    return None


def npm_cli(name, version):
    ident = json.dumps("%s@%s" % (name, version))
    return (
        "#!/usr/bin/env node\n"
        "// Test package served by tests/support/registries.py.\n"
        "const fs = require('fs');\n"
        "const line = [%s, ...process.argv.slice(2)].join(' ');\n"
        "process.stdout.write(line + '\\n');\n"
        "if (process.env.ATK_TEST_NPM_LOG) fs.appendFileSync(process.env.ATK_TEST_NPM_LOG, line + '\\n');\n"
        "if (process.env.ATK_TEST_NPM_WAIT === '1') {\n"
        "  process.stdin.on('data', () => {});\n"
        "  process.stdin.on('end', () => process.exit(0));\n"
        "  process.stdin.resume();\n"
        "} else {\n"
        "  process.exit(0);\n"
        "}\n" % ident
    )


def tar_gz(entries, top):
    """A deterministic .tar.gz of (path, text, mode) under `top/`."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for path, text, mode in entries:
            data = text.encode()
            info = tarfile.TarInfo("%s/%s" % (top, path))
            info.size = len(data)
            info.mode = mode
            info.mtime = TAR_MTIME
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), compresslevel=9, mtime=0)


def npm_tarball(name, version, spec):
    pkg = {"name": name, "version": version}
    if spec.get("content") is not None:
        pkg["description"] = str(spec["content"])
    bins = npm_bin(name, spec)
    entries = []
    if bins:
        pkg["bin"] = bins
        entries.append(("cli.js", npm_cli(name, version), 0o755))
    entries.insert(0, ("package.json", json.dumps(pkg, indent=2) + "\n", 0o644))
    return tar_gz(entries, "package")


def npm_tarball_name(name, version):
    return "%s-%s.tgz" % (npm_base(name), version)


def npm_dist(name, version, spec):
    data = npm_tarball(name, version, spec)
    return {
        "integrity": "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode(),
        "shasum": hashlib.sha1(data).hexdigest(),
    }


def npm_latest(spec):
    tags = dict(spec.get("dist-tags") or {})
    versions = list((spec.get("versions") or {}).keys())
    if "latest" not in tags and versions:
        releases = [v for v in versions if "-" not in v] or versions
        tags["latest"] = max(releases, key=version_key)
    return tags


def npm_packument(name, spec, base, abbreviated):
    versions = spec.get("versions") or {}
    tarball_prefix = "%s/npm/%s/-/" % (base, name)
    docs = {}
    times = {}
    for v in sorted(versions, key=version_key):
        vs = versions[v] or {}
        dist = npm_dist(name, v, vs)
        dist["tarball"] = tarball_prefix + npm_tarball_name(name, v)
        doc = {"name": name, "version": v}
        if not abbreviated:
            doc["_id"] = "%s@%s" % (name, v)
            if vs.get("content") is not None:
                doc["description"] = str(vs["content"])
        bins = npm_bin(name, vs)
        if bins:
            doc["bin"] = bins
        if vs.get("deprecated"):
            doc["deprecated"] = str(vs["deprecated"])
        doc["dist"] = dist
        docs[v] = doc
        times[v] = npm_time(vs.get("time"))
    ordered = sorted(times.values())
    created = npm_time(spec["created"]) if spec.get("created") else (ordered[0] if ordered else npm_time(None))
    modified = npm_time(spec["modified"]) if spec.get("modified") else (ordered[-1] if ordered else created)
    out = {"name": name, "dist-tags": npm_latest(spec), "versions": docs}
    if abbreviated:
        out["modified"] = modified
    else:
        out = {"_id": name, **out, "time": {"created": created, "modified": modified, **times}}
    return out


def pypi_normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pypi_files(name, version, vspec):
    """The files of one version: dicts with filename, kind, bytes, time, yanked, requires-python."""
    norm = pypi_normalize(name)
    under = norm.replace("-", "_")
    out = []
    for entry in vspec.get("files") or ["wheel", "sdist"]:
        if isinstance(entry, str):
            entry = {"kind": entry}
        kind = entry.get("kind") or ("sdist" if str(entry.get("filename", "")).endswith(".tar.gz") else "wheel")
        if kind == "wheel":
            filename = entry.get("filename") or "%s-%s-py3-none-any.whl" % (under, version)
        else:
            filename = entry.get("filename") or "%s-%s.tar.gz" % (under, version)
        content = entry.get("content", vspec.get("content"))
        rp = entry.get("requires-python", vspec.get("requires-python"))
        if kind == "wheel":
            data = pypi_wheel(name, version, content, rp)
        else:
            data = pypi_sdist(name, version, content, rp)
        out.append({
            "filename": filename,
            "kind": kind,
            "data": data,
            "time": entry.get("time", vspec.get("time")),
            "yanked": entry.get("yanked", vspec.get("yanked", False)),
            "requires-python": rp,
        })
    return out


def pypi_metadata(name, version, content, requires_python):
    lines = ["Metadata-Version: 2.1", "Name: %s" % name, "Version: %s" % version]
    if requires_python:
        lines.append("Requires-Python: %s" % requires_python)
    if content is not None:
        lines.append("Summary: %s" % content)
    return "\n".join(lines) + "\n"


def pypi_wheel(name, version, content, requires_python):
    """A real, installable wheel: module atk_test_<name> and a console script named after the project."""
    under = pypi_normalize(name).replace("-", "_")
    module = "atk_test_" + under
    info = "%s-%s.dist-info" % (under, version)
    main = (
        "import sys\n\n\ndef main():\n"
        "    print(' '.join([%r] + sys.argv[1:]))\n"
        "    return 0\n" % ("%s==%s" % (name, version))
    )
    files = [
        ("%s/__init__.py" % module, main),
        ("%s/METADATA" % info, pypi_metadata(name, version, content, requires_python)),
        ("%s/WHEEL" % info, "Wheel-Version: 1.0\nGenerator: atk-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
        ("%s/entry_points.txt" % info, "[console_scripts]\n%s = %s:main\n" % (pypi_normalize(name), module)),
    ]
    record = []
    for path, text in files:
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (path, digest, len(text.encode())))
    record.append("%s/RECORD,," % info)
    files.append(("%s/RECORD" % info, "\n".join(record) + "\n"))
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as z:
        for path, text in files:
            zi = zipfile.ZipInfo(path, date_time=(1985, 10, 26, 8, 15, 0))
            zi.external_attr = 0o644 << 16
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, text)
    return raw.getvalue()


def pypi_sdist(name, version, content, requires_python):
    under = pypi_normalize(name).replace("-", "_")
    top = "%s-%s" % (under, version)
    return tar_gz([("PKG-INFO", pypi_metadata(name, version, content, requires_python), 0o644)], top)


def pypi_project(config, norm):
    for key, spec in (config.get("pypi") or {}).items():
        if key != "*" and pypi_normalize(key) == norm:
            return key, spec or {}
    return None, None


def oci_index(repo, content):
    """The image index served for a tag whose content is `content` (the same content, the same bytes)."""
    child = json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "annotations": {"atk.test.content": str(content)}},
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": "sha256:" + hashlib.sha256(child).hexdigest(),
                "size": len(child),
                "platform": {"architecture": "amd64", "os": "linux"},
            }
        ],
        "annotations": {"atk.test.repository": repo, "atk.test.content": str(content)},
    }
    return json.dumps(index, separators=(",", ":"), sort_keys=True).encode()


def oci_digest(body):
    return "sha256:" + hashlib.sha256(body).hexdigest()


def describe(config):
    """Every derived value a test may want to compare with: integrities, sha256s, digests."""
    out = {"npm": {}, "pypi": {}, "oci": {}}
    for name, spec in (config.get("npm") or {}).items():
        if name == "*":
            continue
        out["npm"][name] = {
            v: {**npm_dist(name, v, vs or {}), "tarball": npm_tarball_name(name, v)}
            for v, vs in ((spec or {}).get("versions") or {}).items()
        }
    for name, spec in (config.get("pypi") or {}).items():
        if name == "*":
            continue
        files = {}
        for v, vs in ((spec or {}).get("versions") or {}).items():
            for f in pypi_files(name, v, vs or {}):
                files[f["filename"]] = hashlib.sha256(f["data"]).hexdigest()
        out["pypi"][pypi_normalize(name)] = files
    for repo, spec in (config.get("oci") or {}).items():
        if repo == "*":
            continue
        out["oci"][repo] = {tag: oci_digest(oci_index(repo, c)) for tag, c in ((spec or {}).get("tags") or {}).items()}
    return out


# ---------------------------------------------------------------------------------------------
# Tokens: stateless, signed with a per-process secret; each names the repositories it may pull.


def make_token(repos):
    payload = base64.urlsafe_b64encode(json.dumps(sorted(repos)).encode()).decode().rstrip("=")
    sig = hmac.new(SECRET, payload.encode(), hashlib.sha256).hexdigest()[:32]
    return "atk.%s.%s" % (payload, sig)


def read_token(token):
    try:
        _, payload, sig = token.split(".")
        if not hmac.compare_digest(sig, hmac.new(SECRET, payload.encode(), hashlib.sha256).hexdigest()[:32]):
            return None
        return set(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
    except Exception:
        return None


# ---------------------------------------------------------------------------------------------
# The server


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "atk-test-registries/1"

    def log_message(self, fmt, *args):
        pass

    # -- plumbing

    def config(self):
        for _ in range(50):
            try:
                with open(self.server.config_path) as f:
                    text = f.read()
                return json.loads(text) if text.strip() else {}
            except FileNotFoundError:
                return {}
            except (json.JSONDecodeError, OSError):
                time.sleep(0.01)  # a writer mid-way; the Rust side renames, but be lenient
        raise RuntimeError("config %s is not JSON" % self.server.config_path)

    def base(self):
        """The registry's own address (as a real registry names its canonical host, not the Host header)."""
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def record(self):
        if not self.server.log_path:
            return
        line = "%s %s" % (self.command, self.path)
        auth = self.headers.get("Authorization")
        if auth:
            line += " " + auth.split(" ", 1)[0]
        with self.server.log_lock:
            with open(self.server.log_path, "a") as f:
                f.write(line + "\n")
                f.flush()

    def send(self, status, body=b"", content_type="application/json", headers=()):
        if isinstance(body, str):
            body = body.encode()
        elif not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body).encode()
        if self.server.delay:
            time.sleep(self.server.delay / 1000.0)
        self.send_response(status)
        if body or self.command != "HEAD":
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def hold(self):
        """Never answer: keep the connection open until the client goes away (or the server stops)."""
        self.close_connection = True
        sock = self.connection
        while True:
            try:
                ready, _, _ = select.select([sock], [], [], 1.0)
                if ready and not sock.recv(1, socket.MSG_PEEK):
                    return
                if ready:
                    sock.recv(65536)  # a pipelined request: read and ignore it
            except OSError:
                return

    def switches(self, section, spec, config):
        """Applies `hang`/`status` of the entry (or of the section's "*"); True when answered."""
        star = ((config.get(section) or {}).get("*")) or {}
        for s in (spec or {}, star):
            if s.get("hang"):
                self.hold()
                return True
        for s in (spec or {}, star):
            if s.get("status"):
                code = int(s["status"])
                if section == "oci":
                    body = {"errors": [{"code": "UNKNOWN", "message": "configured failure %d" % code}]}
                else:
                    body = {"error": "configured failure %d" % code}
                self.send(code, body)
                return True
        return False

    # -- dispatch

    def do_GET(self):
        self.handle_any()

    def do_HEAD(self):
        self.handle_any()

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.handle_any()

    def do_PUT(self):
        self.do_POST()

    def handle_any(self):
        self.record()
        try:
            config = self.config()
            parsed = urllib.parse.urlsplit(self.path)
            path = parsed.path
            if path.startswith("/npm/"):
                return self.npm(config, path[len("/npm/"):])
            if path == "/pypi/simple" or path.startswith("/pypi/simple/"):
                return self.pypi_simple(config, path[len("/pypi/simple"):])
            if path.startswith("/pypi/files/"):
                return self.pypi_file(config, path[len("/pypi/files/"):])
            if path == "/token":
                return self.oci_token(config, urllib.parse.parse_qs(parsed.query))
            if path == "/v2" or path.startswith("/v2/"):
                return self.oci(config, path[len("/v2"):])
            self.send(404, {"error": "Not found"})
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:  # a bug here must be visible to the test, not a hang
            sys.stderr.write("registries.py: %s %s: %r\n" % (self.command, self.path, e))
            self.send(500, {"error": "server error: %r" % (e,)})

    # -- npm

    def npm(self, config, rest):
        rest = urllib.parse.unquote(rest)
        name, sep, file = rest.partition("/-/")
        name = name.rstrip("/")
        # /npm/<name>/<version or dist-tag>: one version's document.
        parts = name.split("/")
        wanted = None
        if not sep and len(parts) == (3 if name.startswith("@") else 2):
            name, wanted = "/".join(parts[:-1]), parts[-1]
        section = config.get("npm") or {}
        spec = section.get(name) if name != "*" else None
        if self.switches("npm", spec, config):
            return
        if spec is None:
            return self.send(404, {"error": "Not found"})
        if wanted is not None:
            doc = npm_packument(name, spec, self.base(), False)
            version = doc["dist-tags"].get(wanted, wanted)
            if version not in doc["versions"]:
                return self.send(404, {"error": "version not found: %s" % wanted})
            return self.send(200, doc["versions"][version])
        if not sep:
            accept = self.headers.get("Accept") or ""
            abbreviated = accept.strip().startswith(NPM_CORGI)
            doc = npm_packument(name, spec, self.base(), abbreviated)
            return self.send(200, json.dumps(doc, indent=None).encode(), NPM_CORGI if abbreviated else "application/json")
        for v, vs in (spec.get("versions") or {}).items():
            if file == npm_tarball_name(name, v):
                return self.send(200, npm_tarball(name, v, vs or {}), "application/octet-stream")
        self.send(404, {"error": "Not found"})

    # -- PyPI

    def pypi_simple(self, config, rest):
        if rest in ("", "/"):
            if rest == "":
                return self.send(301, b"", "text/plain", [("Location", "/pypi/simple/")])
            if self.switches("pypi", None, config):
                return
            names = sorted(pypi_normalize(n) for n in (config.get("pypi") or {}) if n != "*")
            if self.wants_json():
                return self.send(200, {"meta": {"api-version": "1.1"}, "projects": [{"name": n} for n in names]}, PYPI_JSON)
            links = "".join('<a href="%s/">%s</a>\n' % (n, n) for n in names)
            return self.send(200, "<!DOCTYPE html>\n<html><body>\n%s</body></html>\n" % links, "text/html")
        raw = rest.strip("/")
        requested = urllib.parse.unquote(raw)
        norm = pypi_normalize(requested)
        if "/" in requested:
            return self.send(404, "Not Found", "text/plain")
        if requested != norm or not rest.endswith("/"):
            return self.send(301, b"", "text/plain", [("Location", "/pypi/simple/%s/" % norm)])
        key, spec = pypi_project(config, norm)
        if self.switches("pypi", spec, config):
            return
        if spec is None:
            return self.send(404, "Not Found", "text/plain")
        versions = spec.get("versions") or {}
        order = sorted(versions, key=version_key)
        files = []
        for v in order:
            for f in pypi_files(key, v, versions[v] or {}):
                entry = {
                    "filename": f["filename"],
                    "url": "%s/pypi/files/%s/%s" % (self.base(), norm, f["filename"]),
                    "hashes": {"sha256": hashlib.sha256(f["data"]).hexdigest()},
                    "upload-time": pypi_time(f["time"]),
                    "yanked": f["yanked"] if f["yanked"] else False,
                    "size": len(f["data"]),
                }
                if f["requires-python"]:
                    entry["requires-python"] = f["requires-python"]
                files.append(entry)
        if self.wants_json():
            doc = {"meta": {"api-version": "1.1"}, "name": norm, "versions": order, "files": files}
            return self.send(200, doc, PYPI_JSON)
        links = []
        for f in files:
            attrs = ""
            if f.get("requires-python"):
                attrs += ' data-requires-python="%s"' % html.escape(f["requires-python"])
            if f["yanked"] is not False:
                reason = "" if f["yanked"] is True else str(f["yanked"])
                attrs += ' data-yanked="%s"' % html.escape(reason)
            links.append('<a href="%s#sha256=%s"%s>%s</a><br/>\n' % (f["url"], f["hashes"]["sha256"], attrs, f["filename"]))
        page = (
            '<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.1">'
            "<title>Links for %s</title></head><body><h1>Links for %s</h1>\n%s</body></html>\n"
            % (norm, norm, "".join(links))
        )
        self.send(200, page, "text/html")

    def wants_json(self):
        accept = self.headers.get("Accept") or ""
        for part in accept.split(","):
            fields = [p.strip() for p in part.split(";")]
            if fields[0] == PYPI_JSON:
                q = [p for p in fields[1:] if p.startswith("q=")]
                return not q or float(q[0][2:] or 0) > 0
        return False

    def pypi_file(self, config, rest):
        norm, _, filename = urllib.parse.unquote(rest).partition("/")
        key, spec = pypi_project(config, norm)
        if self.switches("pypi", spec, config):
            return
        if spec is not None:
            for v, vs in (spec.get("versions") or {}).items():
                for f in pypi_files(key, v, vs or {}):
                    if f["filename"] == filename:
                        kind = "application/zip" if f["kind"] == "wheel" else "application/gzip"
                        return self.send(200, f["data"], kind)
        self.send(404, "Not Found", "text/plain")

    # -- OCI

    def challenge(self, scope=None):
        value = 'Bearer realm="%s/token",service="%s"' % (self.base(), SERVICE)
        if scope:
            value += ',scope="%s"' % scope
        return [("WWW-Authenticate", value), ("Docker-Distribution-API-Version", "registry/2.0")]

    def bearer(self):
        auth = self.headers.get("Authorization") or ""
        if not auth.lower().startswith("bearer "):
            return None
        return read_token(auth.split(" ", 1)[1].strip())

    def oci_error(self, status, code, message, headers=()):
        self.send(status, {"errors": [{"code": code, "message": message, "detail": None}]}, "application/json", headers)

    def oci_token(self, config, query):
        section = config.get("oci") or {}
        if self.switches("oci", None, config):
            return
        basic = None
        auth = self.headers.get("Authorization") or ""
        if auth.lower().startswith("basic "):
            try:
                basic = base64.b64decode(auth.split(" ", 1)[1].strip()).decode()
            except Exception:
                basic = ""
        repos = []
        for scope in query.get("scope", []):
            for one in scope.split(" "):
                parts = one.split(":")
                if len(parts) < 3 or parts[0] != "repository":
                    continue
                repo = ":".join(parts[1:-1])
                private = (section.get(repo) or {}).get("private")
                if private:
                    expected = "%s:%s" % (private.get("user", ""), private.get("password", ""))
                    if basic is None or not hmac.compare_digest(basic, expected):
                        return self.oci_error(401, "UNAUTHORIZED", "authentication required for %s" % repo)
                repos.append(repo)
        token = make_token(repos)
        issued = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.send(200, {"token": token, "access_token": token, "expires_in": 300, "issued_at": issued})

    def oci(self, config, rest):
        section = config.get("oci") or {}
        if rest in ("", "/"):
            if self.switches("oci", None, config):
                return
            if self.bearer() is None:
                return self.oci_error(401, "UNAUTHORIZED", "authentication required", self.challenge())
            return self.send(200, {}, "application/json", [("Docker-Distribution-API-Version", "registry/2.0")])
        rest = rest.lstrip("/")
        m = re.match(r"^(?P<name>.+)/(?P<kind>manifests|tags|blobs)/(?P<ref>[^/]+)$", rest)
        if not m:
            return self.oci_error(404, "NAME_UNKNOWN", "unknown path")
        name, kind, ref = m.group("name"), m.group("kind"), m.group("ref")
        spec = section.get(name) if name != "*" else None
        if self.switches("oci", spec, config):
            return
        scope = "repository:%s:pull" % name
        granted = self.bearer()
        if granted is None or name not in granted:
            return self.oci_error(401, "UNAUTHORIZED", "authentication required", self.challenge(scope))
        if spec is None:
            return self.oci_error(404, "MANIFEST_UNKNOWN", "manifest unknown", [])
        tags = spec.get("tags") or {}
        if kind == "tags" and ref == "list":
            return self.send(200, {"name": name, "tags": sorted(tags)})
        if kind != "manifests":
            return self.oci_error(404, "BLOB_UNKNOWN", "blob unknown")
        body = None
        if ref.startswith("sha256:"):
            for content in tags.values():
                candidate = oci_index(name, content)
                if oci_digest(candidate) == ref:
                    body = candidate
                    break
        elif ref in tags:
            body = oci_index(name, tags[ref])
        if body is None:
            return self.oci_error(404, "MANIFEST_UNKNOWN", "manifest unknown: %s:%s" % (name, ref))
        self.send(200, body, OCI_INDEX, [("Docker-Content-Digest", oci_digest(body)),
                                         ("Docker-Distribution-API-Version", "registry/2.0")])


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main():
    ap = argparse.ArgumentParser(description="npm, PyPI and OCI registries for atk's tests")
    ap.add_argument("--config", required=True)
    ap.add_argument("--port-file")
    ap.add_argument("--log")
    ap.add_argument("--delay-ms", type=int, default=0)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--exit-with-parent", action="store_true", help="exit when the parent process does")
    ap.add_argument("--describe", action="store_true", help="print the derived digests of --config and exit")
    args = ap.parse_args()
    if args.describe:
        try:
            with open(args.config) as f:
                text = f.read()
            config = json.loads(text) if text.strip() else {}
        except FileNotFoundError:
            config = {}
        json.dump(describe(config), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    if not args.port_file:
        ap.error("--port-file is required to serve")
    server = Server(("127.0.0.1", args.port), Handler)
    server.config_path = args.config
    server.log_path = args.log
    server.log_lock = threading.Lock()
    server.delay = args.delay_ms
    if args.log:
        open(args.log, "a").close()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.replace(tmp, args.port_file)
    if args.exit_with_parent:
        parent = os.getppid()

        def watch():
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(0)

        threading.Thread(target=watch, daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
