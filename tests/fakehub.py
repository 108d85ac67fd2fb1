"""A loopback fake of the Hugging Face Hub, for testing Hub pushes without internet.

It speaks the real HTTP protocol closely enough for the official `huggingface_hub` client
(`HfApi(endpoint=server.base_url, token=...)`, `hf_hub_download`, ...). Uploads never go through
Xet or LFS: the preupload call answers `"uploadMode": "regular"` for every file, so the client
inlines each file base64-encoded in the commit NDJSON and never opens a Xet session or calls the
LFS batch API. Downloads never carry Xet headers, so `hf_hub_download` uses a plain HTTP GET.

Endpoints (`{t}` is `models`, `datasets` or `spaces`; `{rev}` a branch, tag, `refs/...` or
commit oid, URL-quoted as one segment by the client):

- GET  /api/whoami-v2                       POST /api/validate-yaml
- POST /api/repos/create                    DELETE /api/repos/delete
- GET  /api/{t}/{repo_id}[/revision/{rev}]  (repo info; `?blobs=true` adds sizes)
- POST /api/{t}/{repo_id}/preupload/{rev}   POST /api/{t}/{repo_id}/commit/{rev}
- POST /api/{t}/{repo_id}/tag/{rev}         DELETE /api/{t}/{repo_id}/tag/{tag}
- POST /api/{t}/{repo_id}/branch/{branch}   DELETE /api/{t}/{repo_id}/branch/{branch}
- GET  /api/{t}/{repo_id}/refs              GET /api/{t}/{repo_id}/commits/{rev}
- GET  /api/{t}/{repo_id}/tree/{rev}[/{path}]  POST /api/{t}/{repo_id}/paths-info/{rev}
- PUT  /api/{t}/{repo_id}/settings
- GET|HEAD /[datasets/|spaces/]{repo_id}/resolve/{rev}/{path}

Reads through `datasets` (`load_dataset(ORG/NAME, name=..., split=..., revision=..., streaming=True)`,
with HF_ENDPOINT pointing here) need nothing more: the card and `.huggingface.yaml` by HEAD/GET of
`resolve`, the revision by `GET /api/datasets/{repo_id}/revision/{rev}`, the data files by `tree`,
and Parquet bytes by ranged GETs of `resolve`. `bytes_served` counts the body bytes sent per file
(`"ORG/NAME/path"`), so a test can tell which files a streaming reader fetched, and how much of them.

Every request but card validation must carry `Authorization: Bearer <token>`; otherwise the answer
is 401. The token itself is never kept: only its SHA-256 digest is, for a constant-time comparison.
Card validation (`RepoCard.validate`) checks the YAML header the way the Hub does for the fields
sdfgen writes (`card_metadata_problems`) and answers 400 with the reasons.

Faults: `fail_first_commits=N` makes the first N commit calls answer 429 with `Retry-After: 1`;
`conflict_first_commits=N` makes the next N answer 412 "A commit has happened since. Please
refresh and try again." (the real Hub's answer when the branch moved past `parentCommit`, which
the fake also gives for a genuinely stale `parentCommit`).

Usage:
    with FakeHubServer() as hub:
        api = HfApi(endpoint=hub.base_url, token="hf_test_token")
        api.create_repo("me/ds", repo_type="dataset", private=True)
        ...
        hub.repos["me/ds"].files  # {path: bytes} at the head of main
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import mimetypes
import re
import threading
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from generator.fakes.httpbody import BodyTooLarge, read_body

__all__ = ["FakeHubServer", "FakeRepo", "git_blob_oid", "CONFLICT_MESSAGE", "RATE_LIMIT_MESSAGE"]

# The real Hub's 412 answer on a commit whose parentCommit is no longer the branch head.
CONFLICT_MESSAGE = "A commit has happened since. Please refresh and try again."
RATE_LIMIT_MESSAGE = (
    "You have exceeded our hourly quotas for action: commit. We invite you to retry later."
)
INVALID_CREDENTIALS = "Invalid credentials in Authorization header"  # the client treats it as a bad token
MAX_BODY = 512 * 1024 * 1024
REPO_KINDS = {"models": "model", "datasets": "dataset", "spaces": "space"}
URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
OID_RE = re.compile(r"^[0-9a-fA-F]{5,40}$")

# What the real Hub's system "initial commit" holds (abridged list of LFS patterns).
DEFAULT_GITATTRIBUTES = (
    "*.7z filter=lfs diff=lfs merge=lfs -text\n"
    "*.arrow filter=lfs diff=lfs merge=lfs -text\n"
    "*.bin filter=lfs diff=lfs merge=lfs -text\n"
    "*.gz filter=lfs diff=lfs merge=lfs -text\n"
    "*.parquet filter=lfs diff=lfs merge=lfs -text\n"
    "*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
    "*.zip filter=lfs diff=lfs merge=lfs -text\n"
    "*.zst filter=lfs diff=lfs merge=lfs -text\n"
).encode()


def git_blob_oid(data: bytes) -> str:
    """The git blob sha1 of `data` (what the Hub reports as a regular file's oid and ETag)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class HubError(Exception):
    """An error answer: status, message (JSON body `{"error": ...}`) and optional X-Error-Code."""

    def __init__(self, status: int, message: str, code: str | None = None,
                 headers: dict[str, str] | None = None, extra: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}
        self.extra = extra or {}


def _repo_not_found() -> HubError:
    return HubError(404, "Repository not found", code="RepoNotFound")


def _revision_not_found(rev: str) -> HubError:
    return HubError(404, f"Invalid rev id: {rev}", code="RevisionNotFound")


def _entry_not_found(path: str, commit: str | None = None) -> HubError:
    headers = {"X-Repo-Commit": commit} if commit else None
    return HubError(404, f"Entry not found: {path}", code="EntryNotFound", headers=headers)


# The dataset card metadata rules of the Hub's validate-yaml, for the fields sdfgen writes: the
# values of its enumerations (size_categories, annotations_creators) and a subset of its lists of
# licenses and task categories.
SIZE_CATEGORIES = ("n<1K", "1K<n<10K", "10K<n<100K", "100K<n<1M", "1M<n<10M", "10M<n<100M", "100M<n<1B",
                   "1B<n<10B", "10B<n<100B", "100B<n<1T", "n>1T")
ANNOTATIONS_CREATORS = ("crowdsourced", "expert-generated", "found", "machine-generated", "no-annotation", "other")
LICENSES = ("apache-2.0", "mit", "cc-by-4.0", "cc-by-sa-4.0", "cc-by-nc-4.0", "cc-by-nc-sa-4.0", "cc0-1.0",
            "odc-by", "odbl", "openrail", "bsd-3-clause", "gpl-3.0", "unknown", "other")
TASK_CATEGORIES = ("text-generation", "text-classification", "question-answering", "summarization",
                   "translation", "fill-mask", "token-classification", "text2text-generation", "other")


def card_metadata_problems(content: str, repo_type: str) -> list[str]:
    """What the Hub would refuse in a card's YAML header (empty when it passes)."""
    import yaml

    if not content.startswith("---\n"):
        return []  # a card without metadata is allowed
    end = content.find("\n---", 4)
    if end == -1:
        return ["Error: the YAML metadata block is not closed"]
    try:
        meta = yaml.safe_load(content[4:end])
    except yaml.YAMLError as exc:
        return [f"Error: invalid YAML: {exc}"]
    if meta is None:
        return []
    if not isinstance(meta, dict):
        return ["Error: the metadata must be a mapping"]

    def values(key):
        value = meta.get(key)
        return [] if value is None else value if isinstance(value, list) else [value]

    problems = []
    enums = {"license": LICENSES}
    if repo_type == "dataset":
        enums.update(size_categories=SIZE_CATEGORIES, annotations_creators=ANNOTATIONS_CREATORS,
                     task_categories=TASK_CATEGORIES)
    for key, allowed in enums.items():
        for value in values(key):
            if value not in allowed:
                problems.append(f'Error: "{key}" with value "{value}" is not valid')
    for value in values("language"):
        if not isinstance(value, str) or not re.fullmatch(r"[a-z]{2,3}(?:-[A-Za-z0-9]+)*", value):
            problems.append(f'Error: "language" with value "{value}" is not valid')
    for key in ("tags",):
        if any(not isinstance(v, str) for v in values(key)):
            problems.append(f'Error: "{key}" must be a list of strings')
    if "pretty_name" in meta and not isinstance(meta["pretty_name"], str):
        problems.append('Error: "pretty_name" must be a string')
    for i, config in enumerate(values("configs")):
        if not isinstance(config, dict) or not isinstance(config.get("config_name"), str):
            problems.append(f'Error: "configs[{i}]" needs a config_name')
            continue
        files = config.get("data_files")
        files = files if isinstance(files, list) else [files]
        for f in files:
            if not (isinstance(f, str) or (isinstance(f, dict) and isinstance(f.get("split"), str)
                                           and isinstance(f.get("path"), (str, list)))):
                problems.append(f'Error: "configs[{i}].data_files" must be paths or {{split, path}} mappings')
    return problems


class FakeRepo:
    """State of one fake repo. Read it through the properties; the server mutates it under its lock."""

    def __init__(self, repo_id: str, repo_type: str, private: bool, lock: threading.RLock):
        self.repo_id = repo_id
        self.type = repo_type
        self.private = private
        self.gated: Any = False
        self.created_at = _now()
        self._lock = lock
        self._commits: list[dict] = []  # every commit on every ref, in creation order
        self._by_oid: dict[str, dict] = {}
        self._trees: dict[str, dict[str, bytes]] = {}  # commit oid -> {path: bytes}
        self._branches: dict[str, str] = {}
        self._tags: dict[str, str] = {}
        self._prs: dict[int, str] = {}

    def __repr__(self) -> str:
        return f"FakeRepo({self.type}:{self.repo_id}, private={self.private}, commits={len(self._commits)})"

    # -- inspection ------------------------------------------------------------------------
    @property
    def commits(self) -> list[dict]:
        """Commits in creation order: dicts with oid, title, description, files (added or
        updated paths), deleted, parent, branch, date."""
        with self._lock:
            return [dict(c, files=list(c["files"]), deleted=list(c["deleted"])) for c in self._commits]

    @property
    def files(self) -> dict[str, bytes]:
        """{path: bytes} at the head of main."""
        with self._lock:
            return dict(self._trees[self._branches["main"]])

    @property
    def tags(self) -> dict[str, str]:
        with self._lock:
            return dict(self._tags)

    @property
    def branches(self) -> dict[str, str]:
        with self._lock:
            return dict(self._branches)

    def files_at(self, revision: str) -> dict[str, bytes]:
        with self._lock:
            return dict(self._trees[self.resolve(revision)])

    # -- revisions -------------------------------------------------------------------------
    def branch_of(self, rev: str) -> str | None:
        """The branch ref name a revision designates ("main", "refs/pr/3"), or None."""
        if rev.startswith("refs/heads/"):
            rev = rev[len("refs/heads/"):]
        if rev in self._branches:
            return rev
        m = re.fullmatch(r"refs/pr/(\d+)", rev)
        if m and int(m.group(1)) in self._prs:
            return rev
        return None

    def head(self, branch: str) -> str:
        m = re.fullmatch(r"refs/pr/(\d+)", branch)
        return self._prs[int(m.group(1))] if m else self._branches[branch]

    def set_head(self, branch: str, oid: str) -> None:
        m = re.fullmatch(r"refs/pr/(\d+)", branch)
        if m:
            self._prs[int(m.group(1))] = oid
        else:
            self._branches[branch] = oid

    def resolve(self, rev: str) -> str:
        """Commit oid of a branch, tag, refs/... name or (full or >= 7 chars) commit oid."""
        branch = self.branch_of(rev)
        if branch is not None:
            return self.head(branch)
        name = rev[len("refs/tags/"):] if rev.startswith("refs/tags/") else rev
        if name in self._tags:
            return self._tags[name]
        if re.fullmatch(r"[0-9a-f]{7,40}", rev):
            hits = [oid for oid in self._by_oid if oid.startswith(rev)]
            if len(hits) == 1:
                return hits[0]
        raise _revision_not_found(rev)

    def history(self, oid: str):
        while oid is not None:
            commit = self._by_oid[oid]
            yield commit
            oid = commit["parent"]

    def last_commit_for(self, head: str, path: str, is_dir: bool) -> dict | None:
        prefix = path.rstrip("/") + "/"
        for commit in self.history(head):
            touched = commit["files"] + commit["deleted"]
            if any((p.startswith(prefix) if is_dir else p == path) for p in touched):
                return {"id": commit["oid"], "title": commit["title"], "date": commit["date"]}
        return None


# Like the real Hub, card validation needs no token (RepoCard.validate sends none).
PUBLIC_ROUTES = ("/api/validate-yaml",)
MINIMAL_ROUTES = ("/api/whoami-v2", "/api/repos/create", "/api/validate-yaml", "/preupload/", "/commit/", "/tag/")


class FakeHubServer:
    """Loopback fake Hub. Use `base_url` as `HfApi(endpoint=...)`; inspect `repos` afterwards."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, token: str = "hf_test_token",
                 fail_first_commits: int = 0, conflict_first_commits: int = 0,
                 username: str = "fake-user", minimal: bool = False):
        self.host = host
        self.port = port
        self._token_digest = hashlib.sha256(token.encode()).digest()  # the token itself is not kept
        self.fail_first_commits = fail_first_commits  # remaining forced 429s
        self.conflict_first_commits = conflict_first_commits  # remaining forced 412s
        self.username = username
        # minimal: serve only what an upload needs (whoami, create repo, validate-yaml, preupload,
        # commit, tag), as a bare-bones Hub would; everything else answers 404.
        self.minimal = minimal
        self.commit_calls = 0  # authenticated POST .../commit/... requests, answered or refused
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, no query string
        # Body bytes sent per file path ("ORG/NAME/path"), ranged or whole: shows how much of a file a
        # streaming reader actually fetched.
        self.bytes_served: dict[str, int] = {}
        self._lock = threading.RLock()
        self._repos: dict[tuple[str, str], FakeRepo] = {}
        self._counter = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"FakeHubServer(base_url={self.base_url if self._httpd else None!r}, repos={len(self._repos)})"

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> "FakeHubServer":
        if self._httpd is not None:
            return self
        hub = self

        class Handler(_Handler):
            pass

        Handler.hub = hub
        self._httpd = ThreadingHTTPServer((self.host, self.port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fakehub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> "FakeHubServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- inspection ------------------------------------------------------------------------
    @property
    def repos(self) -> dict[str, FakeRepo]:
        """repo_id -> FakeRepo (if a model and a dataset share an id, the dataset wins; see `repo()`)."""
        with self._lock:
            out = {}
            for (kind, repo_id), repo in sorted(self._repos.items(), key=lambda kv: kv[0][0] == "dataset"):
                out[repo_id] = repo
            return out

    def repo(self, repo_id: str, repo_type: str = "dataset") -> FakeRepo:
        with self._lock:
            return self._repos[(repo_type, repo_id)]

    # -- auth ------------------------------------------------------------------------------
    def check_auth(self, header: str | None) -> None:
        if not header:
            raise HubError(401, "Invalid username or password.")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise HubError(401, INVALID_CREDENTIALS, headers={"X-Error-Message": INVALID_CREDENTIALS})
        digest = hashlib.sha256(value.strip().encode()).digest()
        if not hmac.compare_digest(digest, self._token_digest):
            raise HubError(401, INVALID_CREDENTIALS, headers={"X-Error-Message": INVALID_CREDENTIALS})

    # -- helpers ---------------------------------------------------------------------------
    def repo_url(self, repo: FakeRepo) -> str:
        return f"{self.base_url}/{URL_PREFIX[repo.type]}{repo.repo_id}"

    def _get_repo(self, kind: str, repo_id: str) -> FakeRepo:
        repo = self._repos.get((kind, repo_id))
        if repo is None:
            raise _repo_not_found()
        return repo

    def _new_commit(self, repo: FakeRepo, branch: str, parent: str | None, title: str,
                    description: str, tree: dict[str, bytes], files: list[str],
                    deleted: list[str]) -> dict:
        self._counter += 1
        tree_digest = hashlib.sha1(
            "\n".join(f"{p}\0{git_blob_oid(tree[p])}" for p in sorted(tree)).encode()
        ).hexdigest()
        seed = "\0".join([repo.type, repo.repo_id, branch, parent or "", title, description,
                          tree_digest, str(self._counter)])
        oid = hashlib.sha1(b"commit\0" + seed.encode()).hexdigest()
        commit = {"oid": oid, "title": title, "description": description, "files": files,
                  "deleted": deleted, "parent": parent, "branch": branch, "date": _now()}
        repo._commits.append(commit)
        repo._by_oid[oid] = commit
        repo._trees[oid] = tree
        repo.set_head(branch, oid)
        return commit

    @staticmethod
    def _file_entry(path: str, data: bytes) -> dict:
        return {"type": "file", "oid": git_blob_oid(data), "size": len(data), "path": path}

    @staticmethod
    def _dir_entry(path: str, tree: dict[str, bytes]) -> dict:
        prefix = path + "/"
        digest = hashlib.sha1(
            "\n".join(f"{p}\0{git_blob_oid(d)}" for p, d in sorted(tree.items()) if p.startswith(prefix)).encode()
        ).hexdigest()
        return {"type": "directory", "oid": digest, "size": 0, "path": path}

    @staticmethod
    def _dirs_of(tree: dict[str, bytes]) -> set[str]:
        dirs = set()
        for path in tree:
            parts = path.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                dirs.add("/".join(parts[:i]))
        return dirs

    # -- endpoints -------------------------------------------------------------------------
    def whoami(self) -> dict:
        return {
            "type": "user", "id": hashlib.sha1(self.username.encode()).hexdigest()[:24],
            "name": self.username, "fullname": "Fake User", "email": f"{self.username}@example.invalid",
            "emailVerified": True, "canPay": False, "isPro": False, "periodEnd": None, "orgs": [],
            "auth": {"type": "access_token",
                     "accessToken": {"displayName": "fakehub", "role": "write", "createdAt": _now()}},
        }

    def create_repo(self, body: dict) -> tuple[int, dict]:
        name = body.get("name")
        namespace = body.get("organization") or self.username
        kind = body.get("type") or "model"
        if kind not in URL_PREFIX:
            raise HubError(400, f"Invalid repo type: {kind}")
        if not isinstance(name, str) or not NAME_RE.match(name) or ".." in name or "--" in name:
            raise HubError(400, f"Invalid repo name: {name!r}")
        if kind == "space" and not body.get("sdk"):
            raise HubError(400, "Missing sdk for space repo")
        repo_id = f"{namespace}/{name}"
        visibility = body.get("visibility")
        private = visibility == "private" if visibility is not None else bool(body.get("private", False))
        with self._lock:
            existing = self._repos.get((kind, repo_id))
            if existing is not None:
                raise HubError(409, f"You already created this {kind} repo",
                               extra={"url": self.repo_url(existing)})
            repo = FakeRepo(repo_id, kind, private, self._lock)
            self._repos[(kind, repo_id)] = repo
            # Like the real Hub: a system commit adding `.gitattributes`.
            self._new_commit(repo, "main", None, "initial commit", "",
                             {".gitattributes": DEFAULT_GITATTRIBUTES}, [".gitattributes"], [])
            return 200, {"url": self.repo_url(repo), "name": repo_id,
                         "id": hashlib.sha1(repo_id.encode()).hexdigest()[:24]}

    def delete_repo(self, body: dict) -> dict:
        namespace = body.get("organization") or self.username
        kind = body.get("type") or "model"
        with self._lock:
            if self._repos.pop((kind, f"{namespace}/{body.get('name')}"), None) is None:
                raise _repo_not_found()
        return {}

    def repo_info(self, repo: FakeRepo, rev: str, blobs: bool) -> dict:
        with self._lock:
            oid = repo.resolve(rev)
            tree = repo._trees[oid]
            siblings = []
            for path in sorted(tree):
                sib: dict[str, Any] = {"rfilename": path}
                if blobs:
                    sib.update(size=len(tree[path]), blobId=git_blob_oid(tree[path]))
                siblings.append(sib)
            author = repo.repo_id.split("/")[0]
            info = {
                "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24], "id": repo.repo_id,
                "author": author, "sha": oid, "lastModified": repo._by_oid[oid]["date"],
                "createdAt": repo.created_at, "private": repo.private, "gated": repo.gated,
                "disabled": False, "downloads": 0, "likes": 0, "tags": [], "siblings": siblings,
                "usedStorage": sum(len(d) for d in tree.values()),
            }
            if repo.type == "model":
                info["modelId"] = repo.repo_id
            return info

    def preupload(self, repo: FakeRepo, rev: str, body: dict, create_pr: bool) -> dict:
        files = body.get("files")
        if not isinstance(files, list):
            raise HubError(400, "Invalid payload: 'files' must be a list")
        with self._lock:
            if create_pr and repo.branch_of(rev) is None:
                raise _revision_not_found(rev)
            oid = repo.resolve(rev)
            tree = repo._trees[oid]
            out = []
            for f in files:
                if not isinstance(f, dict) or not isinstance(f.get("path"), str):
                    raise HubError(400, "Invalid payload: every file needs a 'path'")
                path = f["path"]
                entry = {"path": path, "uploadMode": "regular", "shouldIgnore": False}
                if path in tree:
                    entry["oid"] = git_blob_oid(tree[path])
                out.append(entry)
            return {"files": out, "commitOid": oid}

    def commit(self, repo_kind: str, repo_id: str, rev: str, body: bytes, create_pr: bool) -> dict:
        with self._lock:
            self.commit_calls += 1
            if self.fail_first_commits > 0:
                self.fail_first_commits -= 1
                raise HubError(429, RATE_LIMIT_MESSAGE, headers={"Retry-After": "1"})
            if self.conflict_first_commits > 0:
                self.conflict_first_commits -= 1
                raise HubError(412, CONFLICT_MESSAGE)
            repo = self._get_repo(repo_kind, repo_id)
            lines = self._parse_ndjson(body)
            header = lines[0]["value"]
            title = header.get("summary")
            if not isinstance(title, str) or not title.strip():
                raise HubError(400, "Invalid commit: the commit summary is required")
            description = header.get("description") or ""
            parent = header.get("parentCommit")
            if parent is not None and (not isinstance(parent, str) or not OID_RE.match(parent)):
                raise HubError(400, f"Invalid parentCommit: {parent!r}")
            parent = parent.lower() if parent else None

            branch = repo.branch_of(rev)
            if branch is None:
                repo.resolve(rev)  # 404 RevisionNotFound for an unknown revision
                raise HubError(400, f"Cannot commit to '{rev}': it is not a branch")
            if create_pr:
                # The PR starts from parentCommit when given, else from the branch head.
                if parent is not None:
                    head = next((o for o in repo._by_oid if o.startswith(parent)), None)
                    if head is None:
                        raise _revision_not_found(parent)
                else:
                    head = repo.head(branch)
            else:
                head = repo.head(branch)
                if parent is not None and not head.startswith(parent):
                    raise HubError(412, CONFLICT_MESSAGE)

            tree = dict(repo._trees[head])
            changed: list[str] = []
            deleted: list[str] = []
            for line in lines[1:]:
                key, value = line.get("key"), line.get("value") or {}
                path = value.get("path") if isinstance(value, dict) else None
                if not isinstance(path, str) or not path:
                    raise HubError(400, f"Invalid '{key}' line: missing path")
                path = self._check_path(path)
                if key == "file":
                    try:
                        if value.get("encoding", "base64") == "base64":
                            data = base64.b64decode(value.get("content", ""), validate=True)
                        else:
                            data = str(value.get("content", "")).encode()
                    except (ValueError, TypeError) as exc:
                        raise HubError(400, f"Invalid base64 content for {path}") from exc
                    tree[path] = data
                    if path not in changed:
                        changed.append(path)
                elif key == "deletedFile":
                    if path not in tree:
                        raise _entry_not_found(f"A file with this name doesn't exist: {path}")
                    del tree[path]
                    deleted.append(path)
                elif key == "deletedFolder":
                    prefix = path.rstrip("/") + "/"
                    gone = [p for p in tree if p.startswith(prefix)]
                    if not gone:
                        raise _entry_not_found(f"A folder with this name doesn't exist: {path}")
                    for p in gone:
                        del tree[p]
                    deleted.extend(gone)
                elif key == "lfsFile":
                    raise HubError(400, f"FakeHub only accepts regular (inline) files; got lfsFile '{path}'")
                else:
                    raise HubError(400, f"Unknown commit operation key: {key!r}")
            deleted = [p for p in deleted if p not in changed]

            pr_num = None
            if create_pr:
                pr_num = max(repo._prs, default=0) + 1
                repo._prs[pr_num] = head
                branch = f"refs/pr/{pr_num}"
            commit = self._new_commit(repo, branch, head, title, description, tree, changed, deleted)
            out = {"success": True, "commitOid": commit["oid"],
                   "commitUrl": f"{self.repo_url(repo)}/commit/{commit['oid']}", "hookOutput": ""}
            if pr_num is not None:
                out["pullRequestUrl"] = f"{self.repo_url(repo)}/discussions/{pr_num}"
            return out

    @staticmethod
    def _check_path(path: str) -> str:
        parts = path.split("/")
        if path.startswith("/") or any(p in ("", ".", "..") for p in parts[:-1]) or parts[-1] in (".", ".."):
            raise HubError(400, f"Invalid path: {path!r}")
        if parts[0] == ".git":
            raise HubError(400, f"Invalid path: {path!r}")
        return path

    @staticmethod
    def _parse_ndjson(body: bytes) -> list[dict]:
        lines = []
        for raw in body.splitlines():
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise HubError(400, f"Invalid NDJSON line: {exc}") from exc
            if not isinstance(item, dict) or "key" not in item:
                raise HubError(400, "Invalid NDJSON line: expected an object with a 'key'")
            lines.append(item)
        if not lines or lines[0].get("key") != "header" or not isinstance(lines[0].get("value"), dict):
            raise HubError(400, "Invalid commit payload: the first line must be the header")
        return lines

    def create_tag(self, repo: FakeRepo, rev: str, body: dict) -> dict:
        tag = body.get("tag")
        if not isinstance(tag, str) or not tag or tag.startswith("refs/") or " " in tag:
            raise HubError(400, f"Invalid tag name: {tag!r}")
        with self._lock:
            oid = repo.resolve(rev)
            if tag in repo._tags:
                raise HubError(409, f"Tag reference refs/tags/{tag} already exists")
            repo._tags[tag] = oid
            return {"name": tag, "ref": f"refs/tags/{tag}", "targetCommit": oid}

    def delete_tag(self, repo: FakeRepo, tag: str) -> dict:
        with self._lock:
            if repo._tags.pop(tag, None) is None:
                raise _revision_not_found(tag)
        return {}

    def create_branch(self, repo: FakeRepo, branch: str, body: dict) -> dict:
        if not branch or branch.startswith("refs/") or " " in branch:
            raise HubError(400, f"Invalid branch name: {branch!r}")
        with self._lock:
            if branch in repo._branches:
                raise HubError(409, f"Reference refs/heads/{branch} already exists")
            start = body.get("startingPoint")
            oid = repo.resolve(start) if start else repo._branches["main"]
            repo._branches[branch] = oid
            return {"name": branch, "ref": f"refs/heads/{branch}", "targetCommit": oid}

    def delete_branch(self, repo: FakeRepo, branch: str) -> dict:
        with self._lock:
            if branch == "main":
                raise HubError(403, "Cannot delete the default branch")
            if repo._branches.pop(branch, None) is None:
                raise _revision_not_found(branch)
        return {}

    def list_refs(self, repo: FakeRepo, include_prs: bool) -> dict:
        with self._lock:
            out = {
                "branches": [{"name": n, "ref": f"refs/heads/{n}", "targetCommit": o}
                             for n, o in sorted(repo._branches.items())],
                "converts": [],
                "tags": [{"name": n, "ref": f"refs/tags/{n}", "targetCommit": o}
                         for n, o in sorted(repo._tags.items())],
            }
            if include_prs:
                out["pullRequests"] = [{"name": str(n), "ref": f"refs/pr/{n}", "targetCommit": o}
                                       for n, o in sorted(repo._prs.items())]
            return out

    def list_commits(self, repo: FakeRepo, rev: str) -> list[dict]:
        with self._lock:
            return [{"id": c["oid"], "title": c["title"], "message": c["description"],
                     "date": c["date"], "authors": [{"user": self.username}]}
                    for c in repo.history(repo.resolve(rev))]

    def _entry(self, repo: FakeRepo, head: str, tree: dict[str, bytes], path: str, expand: bool) -> dict:
        if path in tree:
            entry = self._file_entry(path, tree[path])
        else:
            entry = self._dir_entry(path, tree)
        if expand:
            last = repo.last_commit_for(head, path, entry["type"] == "directory")
            if last is not None:
                entry["lastCommit"] = last
        return entry

    def list_tree(self, repo: FakeRepo, rev: str, path: str, recursive: bool, expand: bool) -> list[dict]:
        with self._lock:
            head = repo.resolve(rev)
            tree = repo._trees[head]
            dirs = self._dirs_of(tree)
            base = path.strip("/")
            if base and base not in dirs:
                raise _entry_not_found(base, head)
            prefix = base + "/" if base else ""
            names = [p for p in sorted(set(tree) | dirs) if p.startswith(prefix)]
            if not recursive:
                names = [p for p in names if "/" not in p[len(prefix):]]
            names.sort(key=lambda p: (p not in dirs, p))  # directories first, like the Hub
            return [self._entry(repo, head, tree, p, expand) for p in names]

    def paths_info(self, repo: FakeRepo, rev: str, paths: list[str], expand: bool) -> list[dict]:
        with self._lock:
            head = repo.resolve(rev)
            tree = repo._trees[head]
            dirs = self._dirs_of(tree)
            out = []
            for p in paths:
                p = p.strip("/")
                if p in tree or p in dirs:
                    out.append(self._entry(repo, head, tree, p, expand))
            return out

    def update_settings(self, repo: FakeRepo, body: dict) -> dict:
        with self._lock:
            if "private" in body:
                repo.private = bool(body["private"])
            if body.get("visibility") is not None:
                repo.private = body["visibility"] == "private"
            if "gated" in body:
                repo.gated = body["gated"]
        return {}

    def resolve_file(self, repo: FakeRepo, rev: str, path: str) -> tuple[str, bytes]:
        with self._lock:
            oid = repo.resolve(rev)
            tree = repo._trees[oid]
            if path not in tree:
                raise _entry_not_found(path, oid)
            return oid, tree[path]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeHub/1.0"
    hub: FakeHubServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet (and never log headers)
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- plumbing --------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        try:
            return read_body(self.rfile, self.headers, MAX_BODY)
        except BodyTooLarge:
            raise HubError(413, "Payload too large") from None

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None,
              head_only: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Request-Id", f"Root={uuid.uuid4()}")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if not head_only and body:
            self.wfile.write(body)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None, head_only=False) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json; charset=utf-8", headers, head_only)

    def _json_body(self, raw: bytes) -> dict:
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise HubError(400, f"Invalid JSON body: {exc}") from exc
        if not isinstance(body, dict):
            raise HubError(400, "Invalid JSON body: expected an object")
        return body

    def _dispatch(self, method: str) -> None:
        hub = self.hub
        split = urlsplit(self.path)
        with hub._lock:
            hub.requests.append((method, split.path))
        query = parse_qs(split.query)
        head_only = method == "HEAD"
        try:
            raw = self._read_body() if method in ("POST", "PUT", "DELETE") else b""
            if split.path not in PUBLIC_ROUTES:
                hub.check_auth(self.headers.get("Authorization"))
            if hub.minimal and not any(k in split.path for k in MINIMAL_ROUTES):
                raise HubError(404, "Not found (minimal fake Hub)")
            segs = [unquote(s) for s in split.path.split("/")[1:]]
            while segs and segs[-1] == "" and len(segs) > 1:
                segs.pop()
            self._route(method, segs, query, raw, head_only)
        except HubError as err:
            headers = dict(err.headers)
            if err.code:
                headers["X-Error-Code"] = err.code
                headers.setdefault("X-Error-Message", err.message)
            self._json(err.status, {"error": err.message, **err.extra}, headers, head_only)
        except (ConnectionError, BrokenPipeError):
            self.close_connection = True
        except Exception as exc:  # a bug in the fake: answer 500 rather than hang the client
            self._json(500, {"error": f"FakeHub internal error: {type(exc).__name__}: {exc}"})

    @staticmethod
    def _flag(query: dict, name: str) -> bool:
        values = query.get(name) or query.get(f"{name}[]") or []
        return bool(values) and values[-1].lower() in ("1", "true", "yes")

    @staticmethod
    def _take_rev(segs: list[str]) -> tuple[str, list[str]]:
        """Split '{rev}/{rest...}'; a revision sent unquoted as refs/pr/N takes 3 segments."""
        if not segs or not segs[0]:
            raise HubError(400, "Missing revision")
        if segs[0] == "refs" and len(segs) >= 3 and segs[1] in ("heads", "tags", "pr", "convert"):
            return "/".join(segs[:3]), segs[3:]
        return segs[0], segs[1:]

    def _route(self, method: str, segs: list[str], query: dict, raw: bytes, head_only: bool) -> None:
        hub = self.hub
        if segs and segs[0] == "api":
            rest = segs[1:]
            if rest == ["whoami-v2"] and method == "GET":
                return self._json(200, hub.whoami())
            if rest == ["validate-yaml"] and method == "POST":
                body = self._json_body(raw)
                problems = card_metadata_problems(str(body.get("content", "")), body.get("repoType") or "model")
                if problems:
                    # The Hub answers 400 with the reasons as text; the client raises ValueError with them.
                    return self._send(400, "\n".join(problems).encode(), "text/plain")
                return self._json(200, {"errors": [], "warnings": []})
            if rest == ["repos", "create"] and method == "POST":
                status, payload = hub.create_repo(self._json_body(raw))
                return self._json(status, payload)
            if rest == ["repos", "delete"] and method == "DELETE":
                return self._json(200, hub.delete_repo(self._json_body(raw)))
            if len(rest) >= 3 and rest[0] in REPO_KINDS:
                return self._route_repo_api(method, REPO_KINDS[rest[0]], f"{rest[1]}/{rest[2]}",
                                            rest[3:], query, raw)
        # File download: /[datasets/|spaces/]{ns}/{name}/resolve/{rev}/{path}
        if method in ("GET", "HEAD"):
            kind, body = "model", segs
            if segs and segs[0] in ("datasets", "spaces"):
                kind, body = REPO_KINDS[segs[0]], segs[1:]
            if len(body) >= 5 and body[2] == "resolve":
                rev, path_parts = self._take_rev(body[3:])
                if not path_parts:
                    raise HubError(400, "Missing file path")
                return self._serve_file(kind, f"{body[0]}/{body[1]}", rev, "/".join(path_parts), head_only)
        raise HubError(404, f"FakeHub: no route for {method} /{'/'.join(segs)}")

    def _route_repo_api(self, method: str, kind: str, repo_id: str, rest: list[str], query: dict,
                        raw: bytes) -> None:
        hub = self.hub
        action = rest[0] if rest else ""
        if action == "commit" and method == "POST":
            # Counted (and faults injected) before the repo is even looked up, like a rate limiter.
            rev, _ = self._take_rev(rest[1:])
            return self._json(200, hub.commit(kind, repo_id, rev, raw, self._flag(query, "create_pr")))
        with hub._lock:
            repo = hub._get_repo(kind, repo_id)
        if not rest and method == "GET":
            return self._json(200, hub.repo_info(repo, "main", self._flag(query, "blobs")))
        if action == "revision" and method == "GET":
            rev, _ = self._take_rev(rest[1:])
            return self._json(200, hub.repo_info(repo, rev, self._flag(query, "blobs")))
        if action == "preupload" and method == "POST":
            rev, _ = self._take_rev(rest[1:])
            body = self._json_body(raw)
            return self._json(200, hub.preupload(repo, rev, body, self._flag(query, "create_pr")))
        if action == "tag" and method == "POST":
            rev, _ = self._take_rev(rest[1:])
            return self._json(200, hub.create_tag(repo, rev, self._json_body(raw)))
        if action == "tag" and method == "DELETE":
            return self._json(200, hub.delete_tag(repo, "/".join(rest[1:])))
        if action == "branch" and method == "POST":
            return self._json(200, hub.create_branch(repo, "/".join(rest[1:]), self._json_body(raw)))
        if action == "branch" and method == "DELETE":
            return self._json(200, hub.delete_branch(repo, "/".join(rest[1:])))
        if action == "refs" and method == "GET":
            return self._json(200, hub.list_refs(repo, self._flag(query, "include_prs")))
        if action == "commits" and method == "GET":
            rev, _ = self._take_rev(rest[1:]) if len(rest) > 1 else ("main", [])
            return self._json(200, hub.list_commits(repo, rev))
        if action == "tree" and method == "GET":
            rev, path_parts = self._take_rev(rest[1:]) if len(rest) > 1 else ("main", [])
            entries = hub.list_tree(repo, rev, "/".join(path_parts), self._flag(query, "recursive"),
                                    self._flag(query, "expand"))
            return self._json(200, entries)
        if action == "paths-info" and method == "POST":
            rev, _ = self._take_rev(rest[1:])
            ctype = self.headers.get("Content-Type") or ""
            if "json" in ctype:
                form = self._json_body(raw)
                paths = form.get("paths") or []
                expand = bool(form.get("expand"))
            else:
                form = parse_qs(raw.decode())
                paths = form.get("paths", [])
                expand = (form.get("expand") or ["false"])[-1].lower() in ("1", "true")
            return self._json(200, hub.paths_info(repo, rev, list(paths), expand))
        if action == "settings" and method == "PUT":
            return self._json(200, hub.update_settings(repo, self._json_body(raw)))
        raise HubError(404, f"FakeHub: no route for {method} /api/{kind}s/{repo_id}/{'/'.join(rest)}")

    def _serve_file(self, kind: str, repo_id: str, rev: str, path: str, head_only: bool) -> None:
        hub = self.hub
        with hub._lock:
            repo = hub._get_repo(kind, repo_id)
        commit, data = hub.resolve_file(repo, rev, path)
        total = len(data)
        headers = {"ETag": f'"{git_blob_oid(data)}"', "X-Repo-Commit": commit, "Accept-Ranges": "bytes"}
        content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        status, body = 200, data
        range_header = self.headers.get("Range")
        if range_header:
            m = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", range_header)
            start = end = None
            if m and (m.group(1) or m.group(2)):
                if m.group(1):
                    start = int(m.group(1))
                    end = int(m.group(2)) if m.group(2) else total - 1
                else:  # suffix range: the last N bytes
                    start, end = max(0, total - int(m.group(2))), total - 1
                end = min(end, total - 1)
            if start is None or start >= total or start > end:
                raise HubError(416, "Requested range not satisfiable",
                               headers={"Content-Range": f"bytes */{total}"})
            status, body = 206, data[start:end + 1]
            headers["Content-Range"] = f"bytes {start}-{end}/{total}"
        if not head_only:
            with hub._lock:
                key = f"{repo_id}/{path}"
                hub.bytes_served[key] = hub.bytes_served.get(key, 0) + len(body)
        self._send(status, body, content_type, headers, head_only)
