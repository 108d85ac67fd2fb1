"""What the loopback API fakes share: the HTTP server, its lifecycle and the request plumbing.

`FakeServer` runs a threaded HTTP server and passes each request to the subclass's `_route`. The
plumbing (reading the body, the `/_fake/*` control endpoints, turning `ApiError` into an error
answer, dropped connections, counting requests) is the same for every protocol; what differs
(error bodies, header names, limits, transport faults) the subclasses say through the hooks below.
"""
from __future__ import annotations

import copy
import json
import random
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from .httpbody import BodyTooLarge, read_body

__all__ = ["ApiError", "Drop", "FakeServer", "Handler"]


class ApiError(Exception):
    def __init__(self, status: int, kind: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.kind, self.message, self.headers = status, kind, message, headers or {}


class Drop(Exception):
    """Close the connection without answering."""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    fake: FakeServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The Server header both fakes have always sent (the OpenAI fake reused this handler from the start).
    server_version = "fake-anthropic/1"
    disable_nagle_algorithm = True  # headers and body go out in two writes; no 40 ms delayed-ACK stall
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._track(self.connection, False)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - never log (keys, bodies)
        pass

    def do_GET(self) -> None:
        self.server.fake._handle(self, "GET")

    def do_POST(self) -> None:
        self.server.fake._handle(self, "POST")

    def do_DELETE(self) -> None:
        self.server.fake._handle(self, "DELETE")

    def do_PUT(self) -> None:
        self.server.fake._handle(self, "PUT")

    def do_PATCH(self) -> None:
        self.server.fake._handle(self, "PATCH")


class FakeServer:
    """A loopback API fake: start()/stop() or a `with` block in tests, serve_forever() for the CLI.

    A subclass sets the class attributes, fills `self._stats` (with at least the Counters "requests",
    "faults", "batches", "succeeded_keys" and the ints "requests_total", "dropped") and implements
    `_route`, `end_batches` and the hooks `_request_id`, `_too_large`, `_error_payload`,
    `_crash_payload` and `_rate_headers`.
    """

    thread_name = "fake"  # the background thread is "{thread_name}-{port}"
    path_prefix = ""  # what base_url adds to the origin ("/v1" where the SDK expects it there)
    body_limit = 0  # largest request body read at all, in bytes
    request_id_header = "request-id"
    binary_type = "application/octet-stream"  # Content-Type of an answer given as bytes
    counters: tuple[str, ...] = ()  # the Counters of `_stats` that `stats` turns into plain dicts

    def __init__(self, config: Any, host: str, port: int):
        self.config = config
        self._lock = threading.Lock()
        self._rng = random.Random(self.config.seed)
        self._batches: dict[str, Any] = {}
        self._stats: dict[str, Any] = {}
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        self._httpd = _HTTPServer((host, port), Handler)
        self._httpd.fake = self
        self.host, self.port = self._httpd.server_address[:2]
        self._thread: threading.Thread | None = None

    # ---- lifecycle

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.path_prefix}"

    def start(self) -> Self:
        if self._thread is None:
            self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=f"{self.thread_name}-{self.port}", daemon=True)
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever(poll_interval=0.2)

    def serve_until_interrupted(self, name: str) -> None:
        """Serve in the foreground until Ctrl-C, for `sdfgen fake-api`."""
        print(f"{name} listening on {self.base_url}", file=sys.stderr, flush=True)
        try:
            self.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self._httpd.server_close()

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:  # idle keep-alive connections would otherwise keep their threads waiting
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._conns_lock:
            (self._conns.add if add else self._conns.discard)(conn)

    # ---- stats

    @property
    def stats(self) -> dict:
        """A consistent snapshot: requests by HTTP status, usage, faults, batches, and
        how often each request succeeded (`duplicate_succeeded`: how many more than once)."""
        with self._lock:
            snap = copy.deepcopy(self._stats)
        for key in self.counters:
            snap[key] = dict(snap[key])
        snap["duplicate_succeeded"] = sum(1 for n in snap["succeeded_keys"].values() if n > 1)
        return snap

    def _stats_json(self) -> dict:
        snap = self.stats
        snap["requests"] = {str(k): v for k, v in snap["requests"].items()}
        snap["succeeded_keys"] = dict(snap["succeeded_keys"])
        return snap

    # ---- HTTP plumbing

    def _handle(self, h: Handler, method: str) -> None:
        request_id = self._request_id()
        try:
            url = urlsplit(h.path)
            path = url.path.rstrip("/") or "/"
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            # Control endpoints for tests and rehearsals: no auth, no faults, not counted.
            if path == "/_fake/stats" and method == "GET":
                self._send_json(h, 200, self._stats_json(), request_id, count=False)
                return
            if path == "/_fake/batches/end" and method == "POST":
                self._send_json(h, 200, {"ended": self.end_batches()}, request_id, count=False)
                return
            try:
                try:
                    raw = read_body(h.rfile, h.headers, self.body_limit)
                except BodyTooLarge:
                    raise self._too_large() from None
                status, payload, headers = self._route(h, method, path, query, raw)
            except ApiError as err:
                status, payload, headers = err.status, self._error_payload(err, request_id), err.headers
            except (Drop, BrokenPipeError, ConnectionResetError):
                raise
            except Exception as exc:  # a bug in the fake: answer like the API would, and say why on stderr
                traceback.print_exc(file=sys.stderr)
                status, payload, headers = 500, self._crash_payload(exc, request_id), {}
            if isinstance(payload, bytes):
                self._send(h, status, payload, self.binary_type, request_id, headers)
            else:
                self._send_json(h, status, payload, request_id, headers)
        except Drop:
            h.close_connection = True
            with self._lock:
                self._stats["requests_total"] += 1
                self._stats["dropped"] += 1
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True

    def _send_json(self, h: Handler, status: int, payload: Any, request_id: str,
                   headers: dict[str, str] | None = None, count: bool = True) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self._send(h, status, body, "application/json", request_id, headers, count)

    def _send(self, h: Handler, status: int, body: bytes, content_type: str, request_id: str,
              headers: dict[str, str] | None = None, count: bool = True) -> None:
        # http.server knows no reason phrase for 529; the real API says "Overloaded".
        h.send_response(status, {529: "Overloaded", 429: "Too Many Requests"}.get(status))
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        h.send_header(self.request_id_header, request_id)
        with self._lock:
            limit_headers = self._rate_headers(count)
            if count:
                self._stats["requests"][status] += 1
                self._stats["requests_total"] += 1
        for k, v in {**limit_headers, **(headers or {})}.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)
        h.wfile.flush()

    # ---- pieces the protocols share

    def _draw_transport_fault(self, odds: tuple[tuple[str, float], ...]) -> tuple[str | None, int]:
        """Sleep the configured latency and draw at most one fault from `odds`: (its name, a retry-after
        in ms). A "drop" raises Drop. Always the same draws from the seeded generator, so a seed
        replays the same faults whatever the odds."""
        with self._lock:
            lo, hi = self.config.latency
            delay = self._rng.uniform(lo, hi) if hi > 0 else 0.0
            u = self._rng.random()
            retry_ms = self._rng.randint(50, 200)
            kind = None
            for name, p in odds:
                if u < p:
                    kind = name
                    break
                u -= p
            if kind:
                self._stats["faults"][kind] += 1
        if delay > 0:
            time.sleep(delay)
        if kind == "drop":
            raise Drop()
        return kind, retry_ms

    def _find(self, table: dict, key: str, kind: str, missing: str) -> Any:
        """table[key], or a 404 ApiError of `kind` saying `missing`."""
        with self._lock:
            found = table.get(key)
        if found is None:
            raise ApiError(404, kind, missing)
        return found

    def _add_batch(self, batch: Any, n_requests: int) -> None:
        """Store and count a new batch; raise Drop instead of answering while `drop_create_answers` lasts."""
        with self._lock:
            self._batches[batch.id] = batch
            self._stats["batches"]["created"] += 1
            self._stats["batches"]["requests"] += n_requests
            drop = self.config.drop_create_answers > 0
            if drop:
                self.config.drop_create_answers -= 1
                self._stats["faults"]["create_answer_dropped"] += 1
        if drop:
            raise Drop()  # the batch exists; the client never hears of it

    # ---- what each protocol says

    def _route(self, h: Handler, method: str, path: str, query: dict, raw: bytes) -> tuple[int, Any, dict]:
        """(status, JSON-able payload or bytes, extra headers) for an API request; ApiError for an error."""
        raise NotImplementedError

    def end_batches(self) -> int:
        """End every batch still in progress now; return how many there were."""
        raise NotImplementedError

    def _request_id(self) -> str:
        raise NotImplementedError

    def _too_large(self) -> ApiError:
        """The error for a body over the limit."""
        raise NotImplementedError

    def _error_payload(self, err: ApiError, request_id: str) -> dict:
        raise NotImplementedError

    def _crash_payload(self, exc: Exception, request_id: str) -> dict:
        """The 500 body when the fake itself fails."""
        raise NotImplementedError

    def _rate_headers(self, counted: bool) -> dict[str, str]:
        """Rate-limit headers for an answer (called with self._lock held)."""
        raise NotImplementedError
