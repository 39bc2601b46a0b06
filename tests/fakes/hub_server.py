"""A minimal local fake of the Hugging Face Hub API that keeps what is uploaded.

Enough for ``HfApi(endpoint=server.url, token="hf_test_token")`` to ``whoami``, ``create_repo``,
``delete_repo``, ``create_commit`` / ``upload_file`` / ``upload_folder``, ``repo_info`` /
``dataset_info`` and ``list_repo_files``.

Routes: ``GET /api/whoami-v2``, ``POST /api/repos/create``, ``DELETE /api/repos/delete``,
``POST /api/validate-yaml``, and for ``{type}s`` in models/datasets/spaces:
``POST /api/{type}s/{ns}/{name}/preupload/{rev}``, ``POST /api/{type}s/{ns}/{name}/commit/{rev}``,
``GET /api/{type}s/{ns}/{name}[/revision/{rev}]``, ``GET /api/{type}s/{ns}/{name}/tree/{rev}[/path]``.

Upload path: ``preupload`` answers ``"uploadMode": "regular"`` for every file, so all content
(Parquet included) travels base64-encoded inline in the NDJSON commit; there is no LFS and no Xet
endpoint. As a guard, tests should set ``HF_HUB_DISABLE_XET=1`` *before* ``huggingface_hub`` is
imported (``tests/fakes/pytest_plugin.py`` does so). Only one branch exists: every revision name
is served as ``main``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from .llm_server import BackgroundHTTPServer, Reply, json_reply

DEFAULT_TOKEN = "hf_test_token"
INVALID_CREDENTIALS = "Invalid credentials in Authorization header"
_REPO_ROUTE = re.compile(
    r"^/api/(?P<type>model|dataset|space)s/(?P<ns>[^/]+)/(?P<name>[^/]+)"
    r"(?:/(?P<action>preupload|commit|revision|tree)(?:/(?P<rev>[^/]+)(?P<rest>/.*)?)?)?$"
)


def git_blob_sha(content: bytes) -> str:
    """The git blob SHA-1 of ``content`` (what the Hub reports as a regular file's oid)."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class FakeRepo:
    """One repository: latest content per path and the list of commits."""

    repo_id: str
    repo_type: str = "dataset"
    private: bool = False
    files: dict[str, bytes] = field(default_factory=dict)
    commits: list[dict[str, Any]] = field(
        default_factory=list
    )  # oid, message, description, paths, deleted
    created_at: str = field(default_factory=_now)

    @property
    def sha(self) -> str:
        """Oid of the latest commit (a stable fake oid for a fresh repo)."""
        if self.commits:
            return self.commits[-1]["oid"]
        return hashlib.sha1(f"init:{self.repo_id}".encode()).hexdigest()

    def url(self, endpoint: str) -> str:
        """``<endpoint>/datasets/ns/name`` (no prefix for models)."""
        prefix = "" if self.repo_type == "model" else f"{self.repo_type}s/"
        return f"{endpoint}/{prefix}{self.repo_id}"


class FakeHubServer(BackgroundHTTPServer):
    """Fake Hugging Face Hub. ``repos`` is keyed by ``"ns/name"``.

    Attributes:
        valid_tokens: accepted bearer tokens; any other token gets 401.
        username: the account ``whoami`` reports (and the namespace used when none is given).
        repos: what was created and uploaded.
        requests: ``(method, path)`` of every request received, for debugging.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.repos: dict[str, FakeRepo] = {}
        self.requests: list[tuple[str, str]] = []
        self.reset()

    def reset(self) -> None:
        """Forget all repos and requests; restore the default token and username."""
        with self._lock:
            self.valid_tokens: set[str] = {DEFAULT_TOKEN}
            self.username: str = "test-user"
            self.repos.clear()
            self.requests.clear()

    @property
    def url(self) -> str:
        """The endpoint to pass as ``HfApi(endpoint=...)``."""
        return self.base_url

    # ---- request handling ----------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        """Authenticate and route one request."""
        route = unquote(urlsplit(path).path)
        with self._lock:
            self.requests.append((method, route))
            auth = headers.get("authorization", "")
            token = auth[7:] if auth.lower().startswith("bearer ") else None
            if token is not None and token not in self.valid_tokens:
                return _error(401, INVALID_CREDENTIALS, {"X-Error-Message": INVALID_CREDENTIALS})
            return self._route(method, route, token is not None, body)

    def _route(self, method: str, route: str, authed: bool, body: bytes) -> Reply:
        if route == "/api/validate-yaml" and method == "POST":
            return self._validate_yaml(json.loads(body or b"{}"))
        if not authed and (method != "GET" or route == "/api/whoami-v2"):
            return _error(401, "Invalid username or password.")
        if route == "/api/whoami-v2" and method == "GET":
            return json_reply(200, self._whoami())
        if route == "/api/repos/create" and method == "POST":
            return self._create_repo(json.loads(body or b"{}"))
        if route == "/api/repos/delete" and method == "DELETE":
            return self._delete_repo(json.loads(body or b"{}"))
        match = _REPO_ROUTE.match(route)
        if match is None:
            return _error(404, f"Sorry, we can't find the page you are looking for: {route}")
        repo = self.repos.get(f"{match['ns']}/{match['name']}")
        if repo is None or repo.repo_type != match["type"] or (repo.private and not authed):
            return _error(404, "Repository not found", {"X-Error-Code": "RepoNotFound"})
        action = match["action"]
        if action == "preupload" and method == "POST":
            return self._preupload(repo, json.loads(body or b"{}"))
        if action == "commit" and method == "POST":
            return self._commit(repo, body)
        if action == "tree" and method == "GET":
            return self._tree(repo, (match["rest"] or "").strip("/"))
        if action in (None, "revision") and method == "GET":
            return json_reply(200, self._repo_info(repo))
        return _error(405, f"{method} not supported on {route}")

    def _whoami(self) -> dict[str, Any]:
        return {
            "type": "user",
            "id": hashlib.sha1(self.username.encode()).hexdigest()[:24],
            "name": self.username,
            "fullname": "Test User",
            "email": f"{self.username}@example.com",
            "emailVerified": True,
            "isPro": False,
            "orgs": [],
            "auth": {
                "type": "access_token",
                "accessToken": {"displayName": "fake", "role": "write", "createdAt": _now()},
            },
        }

    def _validate_yaml(self, payload: dict[str, Any]) -> Reply:
        content = str(payload.get("content", ""))
        if content.startswith("---") and "\n---" not in content[3:]:
            errors = [{"message": "YAML front matter is not closed with '---'"}]
            return json_reply(400, {"errors": errors, "warnings": []})
        return json_reply(200, {"errors": [], "warnings": []})

    def _create_repo(self, payload: dict[str, Any]) -> Reply:
        repo_id = f"{payload.get('organization') or self.username}/{payload.get('name')}"
        repo_type = payload.get("type") or "model"
        if repo_id in self.repos:
            repo = self.repos[repo_id]
            body = {
                "error": f"You already created this {repo_type} repo",
                "url": repo.url(self.url),
            }
            return json_reply(409, body)
        private = payload.get("visibility") == "private" or bool(payload.get("private"))
        repo = self.repos[repo_id] = FakeRepo(repo_id, repo_type, private)
        return json_reply(200, {"url": repo.url(self.url), "name": repo_id, "id": repo.sha[:24]})

    def _delete_repo(self, payload: dict[str, Any]) -> Reply:
        repo_id = f"{payload.get('organization') or self.username}/{payload.get('name')}"
        if self.repos.pop(repo_id, None) is None:
            return _error(404, "Repository not found", {"X-Error-Code": "RepoNotFound"})
        return Reply(200)

    def _preupload(self, repo: FakeRepo, payload: dict[str, Any]) -> Reply:
        files = [
            {
                "path": f["path"],
                "uploadMode": "regular",
                "shouldIgnore": False,
                "oid": git_blob_sha(repo.files[f["path"]]) if f["path"] in repo.files else None,
            }
            for f in payload.get("files", [])
        ]
        return json_reply(200, {"files": files, "commitOid": repo.sha})

    def _commit(self, repo: FakeRepo, body: bytes) -> Reply:
        header: dict[str, Any] = {}
        added: dict[str, bytes] = {}
        deleted: list[str] = []
        for line in body.splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            key, value = item.get("key"), item.get("value", {})
            if key == "header":
                header = value
            elif key == "file":
                raw = value.get("content", "")
                added[value["path"]] = (
                    base64.b64decode(raw) if value.get("encoding") == "base64" else raw.encode()
                )
            elif key == "deletedFile":
                deleted.append(value["path"])
            elif key == "deletedFolder":
                prefix = value["path"].rstrip("/") + "/"
                deleted.extend(p for p in repo.files if p.startswith(prefix))
            else:
                return _error(
                    400, f"Unsupported commit operation {key!r} (the fake only does regular files)"
                )
        if not header.get("summary"):
            return _error(400, "Commit summary is required")
        for path in deleted:
            repo.files.pop(path, None)
        repo.files.update(added)
        oid = hashlib.sha1(repo.sha.encode() + body).hexdigest()
        repo.commits.append(
            {
                "oid": oid,
                "message": header["summary"],
                "description": header.get("description", ""),
                "paths": list(added),
                "deleted": deleted,
            }
        )
        commit_url = f"{repo.url(self.url)}/commit/{oid}"
        return json_reply(
            200,
            {"success": True, "commitOid": oid, "commitUrl": commit_url, "pullRequestUrl": None},
        )

    def _tree(self, repo: FakeRepo, folder: str) -> Reply:
        """All files under ``folder`` (always recursive; folders themselves are not listed)."""
        prefix = folder + "/" if folder else ""
        entries = [
            {"type": "file", "path": path, "size": len(data), "oid": git_blob_sha(data)}
            for path, data in sorted(repo.files.items())
            if path.startswith(prefix)
        ]
        return json_reply(200, entries)

    def _repo_info(self, repo: FakeRepo) -> dict[str, Any]:
        return {
            "_id": repo.sha[:24],
            "id": repo.repo_id,
            "author": repo.repo_id.split("/")[0],
            "sha": repo.sha,
            "private": repo.private,
            "gated": False,
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": [],
            "createdAt": repo.created_at,
            "lastModified": _now(),
            "siblings": [{"rfilename": p, "size": len(d)} for p, d in sorted(repo.files.items())],
            "usedStorage": sum(len(d) for d in repo.files.values()),
        }


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    """A Hub-shaped ``{"error": message}`` reply."""
    return json_reply(status, {"error": message}, headers)
