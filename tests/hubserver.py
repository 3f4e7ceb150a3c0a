"""A loopback HTTP server that speaks the Hugging Face Hub protocol, for tests without internet.

Downloads (what ``hf_hub_download`` / ``get_hf_file_metadata`` / ``http_get`` use):

- ``HEAD|GET /{repo_id}/resolve/{revision}/{filename}``. A regular (non-LFS) file answers 200
  with ``ETag`` (git blob id), ``X-Repo-Commit`` and ``Content-Length``. An LFS file answers
  302 with ``X-Repo-Commit``, ``X-Linked-Etag`` (its sha256), ``X-Linked-Size`` and a
  ``Location`` on a second "CDN" server (another port, i.e. another origin, like the real CDN),
  which serves the bytes with ``Range`` support (206 + ``Content-Range``).
- Errors carry ``X-Error-Code`` (``RepoNotFound``, ``RevisionNotFound``, ``EntryNotFound``).
- Per-file faults for failure tests: ``"drop"`` (connection closed mid-body, every time),
  ``"drop_once"`` (first GET only, resumable), ``"truncate"`` (fewer bytes than announced, with a
  consistent Content-Length), ``"stall"`` (headers, then silence until the server stops),
  ``"slow"`` (chunks with pauses, so concurrent clients overlap). ``served=`` serves other bytes
  than the ones whose sha256 is announced (a tampered mirror).

Uploads (what ``HfApi.create_repo`` and ``HfApi.upload_folder`` / ``create_commit`` use when
``hf_xet`` is not installed): ``POST /api/repos/create``, ``POST /api/validate-yaml``,
``POST /api/models/{repo_id}/preupload/{revision}`` (every file "regular") and
``POST /api/models/{repo_id}/commit/{revision}`` (ndjson ``header``/``file``/``deletedFile``).
Not supported: LFS/Xet uploads (``lfsFile``), pull requests, dataset/space repos, listing APIs.

Usage::

    with HubServer() as hub:
        info = hub.add_file("org/model", "w.safetensors", data)
        hf_hub_download("org/model", "w.safetensors", endpoint=hub.endpoint, cache_dir=tmp)
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

__all__ = ["HubServer", "HubFile", "FAULTS"]

FAULTS = (None, "drop", "drop_once", "truncate", "stall", "slow")
_RESOLVE = re.compile(r"^/(?P<repo>.+?)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")
_API = re.compile(r"^/api/models/(?P<repo>.+?)/(?P<op>preupload|commit)/(?P<rev>[^/]+)$")
_counter = itertools.count()


def git_oid(data: bytes) -> str:
    """Git blob id of ``data`` (the Hub's ETag of a regular file)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class HubFile:
    """One file in one commit. ``data`` defines the announced sha256/size; ``served`` is sent."""

    repo_id: str
    filename: str
    data: bytes
    commit: str
    lfs: bool = True
    fault: str | None = None
    served: bytes | None = None
    gets: int = 0

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def body(self) -> bytes:
        return self.data if self.served is None else self.served


@dataclass
class _Repo:
    refs: dict[str, str] = field(default_factory=dict)
    commits: dict[str, dict[str, HubFile]] = field(default_factory=dict)


class HubServer:
    """Two ``ThreadingHTTPServer`` on 127.0.0.1 (random ports): the Hub API and its "CDN"."""

    def __init__(self) -> None:
        self.repos: dict[str, _Repo] = {}
        self.log: list[tuple[str, str, dict[str, str]]] = []  # (method, path, lowercase headers)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._hub = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self, cdn=False))
        self._cdn = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self, cdn=True))
        for srv in (self._hub, self._cdn):
            srv.daemon_threads = True
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ set-up
    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._hub.server_address[1]}"

    @property
    def cdn_endpoint(self) -> str:
        return f"http://127.0.0.1:{self._cdn.server_address[1]}"

    def add_file(
        self,
        repo_id: str,
        filename: str,
        data: bytes,
        *,
        revision: str = "main",
        commit: str | None = None,
        lfs: bool = True,
        fault: str | None = None,
        served: bytes | None = None,
    ) -> HubFile:
        """Add ``filename`` in a new commit of ``repo_id``; branch ``revision`` moves to it."""
        if fault not in FAULTS:
            raise ValueError(f"fault: expected one of {FAULTS}, got {fault!r}")
        with self._lock:
            repo = self.repos.setdefault(repo_id, _Repo())
            parent = dict(repo.commits.get(repo.refs.get(revision, ""), {}))
            commit = commit or hashlib.sha1(f"{repo_id}{next(_counter)}".encode()).hexdigest()
            hub_file = HubFile(repo_id, filename, data, commit, lfs, fault, served)
            parent[filename] = hub_file
            repo.commits[commit] = parent
            repo.refs[revision] = commit
        return hub_file

    def url(self, repo_id: str, filename: str, revision: str = "main") -> str:
        return f"{self.endpoint}/{repo_id}/resolve/{revision}/{filename}"

    def requests(self, method: str | None = None, contains: str = "") -> list[str]:
        """Paths of logged requests, filtered by method and substring."""
        return [p for m, p, _ in self.log if (method is None or m == method) and contains in p]

    # -------------------------------------------------------------- lifecycle
    def start(self) -> HubServer:
        for srv in (self._hub, self._cdn):
            thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
            thread.daemon = True
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stopping.set()
        for srv in (self._hub, self._cdn):
            srv.shutdown()
            srv.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- lookups
    def _lookup(
        self, repo_id: str, revision: str, filename: str
    ) -> tuple[int, dict[str, str], HubFile | None]:
        with self._lock:
            repo = self.repos.get(repo_id)
            if repo is None:
                return 404, {"X-Error-Code": "RepoNotFound"}, None
            commit = repo.refs.get(revision, revision if revision in repo.commits else None)
            if commit is None:
                return 404, {"X-Error-Code": "RevisionNotFound"}, None
            hub_file = repo.commits[commit].get(filename)
        if hub_file is None:
            return 404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": commit}, None
        return 200, {"X-Repo-Commit": commit}, hub_file

    def _by_sha(self, sha256: str) -> HubFile | None:
        with self._lock:
            for repo in self.repos.values():
                for files in repo.commits.values():
                    for hub_file in files.values():
                        if hub_file.sha256 == sha256:
                            return hub_file
        return None

    # ----------------------------------------------------------------- upload
    def _create_repo(self, payload: dict) -> tuple[int, dict]:
        name, org = payload.get("name"), payload.get("organization")
        repo_id = f"{org}/{name}" if org else str(name)
        url = f"{self.endpoint}/{repo_id}"
        with self._lock:
            if repo_id in self.repos:
                return 409, {"error": "You already created this model repo", "url": url}
            commit = hashlib.sha1(f"{repo_id}{next(_counter)}".encode()).hexdigest()
            self.repos[repo_id] = _Repo(refs={"main": commit}, commits={commit: {}})
        return 200, {"url": url, "name": repo_id}

    def _commit(self, repo_id: str, revision: str, lines: list[dict]) -> tuple[int, dict]:
        with self._lock:
            repo = self.repos.get(repo_id)
            if repo is None:
                return 404, {"error": "Repository not found"}
            files = dict(repo.commits.get(repo.refs.get(revision, ""), {}))
            commit = hashlib.sha1(f"{repo_id}{next(_counter)}".encode()).hexdigest()
            for line in lines:
                key, value = line.get("key"), line.get("value", {})
                if key == "file":
                    data = base64.b64decode(value["content"])
                    files[value["path"]] = HubFile(repo_id, value["path"], data, commit, lfs=False)
                elif key == "deletedFile":
                    files.pop(value["path"], None)
                elif key != "header":
                    return 400, {"error": f"unsupported commit operation {key!r} (no LFS/Xet here)"}
            repo.commits[commit] = files
            repo.refs[revision] = commit
        url = f"{self.endpoint}/{repo_id}/commit/{commit}"
        return 200, {"commitUrl": url, "commitOid": commit, "pullRequestUrl": None}


def _handler(server: HubServer, *, cdn: bool) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # keep pytest output clean
            pass

        def _log(self) -> None:
            server.log.append(
                (self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
            )

        def _send(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
            self.send_response(status)
            headers = {"Content-Length": str(len(body)), **headers}
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, status: int, obj: dict, extra: dict[str, str] | None = None) -> None:
            body = json.dumps(obj).encode()
            self._send(status, {"Content-Type": "application/json", **(extra or {})}, body)

        def _read_body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length", "0")))

        # ------------------------------------------------------------ hub side
        def _resolve(self) -> None:
            match = _RESOLVE.match(urlsplit(self.path).path)
            if match is None:
                self._json(404, {"error": "not found"}, {"X-Error-Code": "RepoNotFound"})
                return
            repo, rev, name = match["repo"], unquote(match["rev"]), unquote(match["file"])
            status, headers, hub_file = server._lookup(repo, rev, name)
            if hub_file is None:
                self._json(status, {"error": headers.get("X-Error-Code")}, headers)
                return
            if hub_file.lfs:
                headers.update(
                    {
                        "X-Linked-Etag": f'"{hub_file.sha256}"',
                        "X-Linked-Size": str(hub_file.size),
                        "ETag": f'"{git_oid(b"pointer " + hub_file.sha256.encode())}"',
                        "Location": f"{server.cdn_endpoint}/cdn/{hub_file.sha256}",
                    }
                )
                self._send(302, headers)
                return
            headers["ETag"] = f'"{git_oid(hub_file.data)}"'
            self._serve_body(hub_file, headers)

        # ------------------------------------------------------------ cdn side
        def _cdn(self) -> None:
            sha = urlsplit(self.path).path.rsplit("/", 1)[-1]
            hub_file = server._by_sha(sha)
            if hub_file is None:
                self._json(404, {"error": "no such blob"})
                return
            self._serve_body(hub_file, {"ETag": f'"{sha}"'})

        def _serve_body(self, hub_file: HubFile, headers: dict[str, str]) -> None:
            body = hub_file.body
            start = 0
            match = re.match(r"bytes=(\d+)-", self.headers.get("Range", ""))
            if match and self.command == "GET":
                start = min(int(match.group(1)), len(body))
            if self.command == "HEAD":
                self._send(200, {**headers, "Accept-Ranges": "bytes"}, body)
                return
            with server._lock:
                hub_file.gets += 1
                first_get = hub_file.gets == 1
            fault = hub_file.fault
            if fault == "truncate":
                self._send(200, headers, body[: len(body) // 2])
                return
            status = 206 if start else 200
            part = body[start:]
            headers = {**headers, "Accept-Ranges": "bytes", "Content-Length": str(len(part))}
            if start:
                headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            if fault == "stall":
                self.wfile.flush()
                server._stopping.wait()
                self._abort()
            elif fault == "drop" or (fault == "drop_once" and first_get):
                self.wfile.write(part[: max(0, len(body) // 2 - start)])
                self._abort()
            elif fault == "slow":
                for i in range(0, len(part), 4096):
                    self.wfile.write(part[i : i + 4096])
                    self.wfile.flush()
                    time.sleep(0.01)
            else:
                self.wfile.write(part)

        def _abort(self) -> None:
            self.wfile.flush()
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.close_connection = True

        # ---------------------------------------------------------- dispatch
        def do_HEAD(self) -> None:
            self._log()
            self._cdn() if cdn else self._resolve()

        def do_GET(self) -> None:
            self._log()
            self._cdn() if cdn else self._resolve()

        def do_POST(self) -> None:
            self._log()
            path = urlsplit(self.path).path
            body = self._read_body()
            if path == "/api/repos/create":
                self._json(*server._create_repo(json.loads(body or b"{}")))
            elif path == "/api/validate-yaml":
                self._json(200, {"errors": [], "warnings": []})
            elif match := _API.match(path):
                repo, rev = match["repo"], unquote(match["rev"])
                if match["op"] == "preupload":
                    files = json.loads(body)["files"]
                    modes = [
                        {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                        for f in files
                    ]
                    self._json(200, {"files": modes, "commitOid": None})
                else:
                    lines = [json.loads(line) for line in body.splitlines() if line.strip()]
                    self._json(*server._commit(repo, rev, lines))
            else:
                self._json(404, {"error": f"no route {path}"})

    return Handler


def isolate_hub_env(monkeypatch, root, endpoint: str | None = None) -> None:
    """Point every cache at ``root`` and the Hub at ``endpoint``; clear offline switches.

    Sets ``HF_HOME``, ``TORCH_HOME``, ``HF_ENDPOINT`` and unsets ``HF_HUB_CACHE``,
    ``SEMFID_WEIGHTS_DIR``, ``SEMFID_CACHE_DIR``, ``SEMFID_WEIGHTS_MANIFEST`` and the offline
    variables. ``huggingface_hub`` read ``HF_HUB_OFFLINE`` at import, so its constant is reset too.
    """
    from huggingface_hub import constants

    for var in (
        "HF_HUB_CACHE",
        "HUGGINGFACE_HUB_CACHE",
        "SEMFID_WEIGHTS_DIR",
        "SEMFID_CACHE_DIR",
        "SEMFID_WEIGHTS_MANIFEST",
        "SEMFID_OFFLINE",
        "HF_HUB_OFFLINE",
        "TRANSFORMERS_OFFLINE",
        "HF_TOKEN",
    ):
        monkeypatch.delenv(var, raising=False)
    for var in ("NO_PROXY", "no_proxy"):  # a CI proxy must not intercept the loopback server
        monkeypatch.setenv(
            var, ",".join(filter(None, [os.environ.get(var), "127.0.0.1", "localhost"]))
        )
    monkeypatch.setenv("HF_HOME", str(root / "hf_home"))
    monkeypatch.setenv("TORCH_HOME", str(root / "torch_home"))
    if endpoint is not None:
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
