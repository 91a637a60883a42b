"""The HTTP core of the emulator: threaded server, auth check, routing, JSON and errors.

Routes live in ``_gemini_routes`` (Generative Language API v1beta/v1) and ``_vertex_routes``
(Vertex AI tuning jobs, endpoints and a minimal Cloud Storage JSON API). Handlers raise
``HttpError`` (or let a ``ServiceError`` escape) and return JSON-able dicts.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .._exceptions import STATUS_FOR_HTTP
from .._redact import REDACTED, redact

__all__ = [
    "AfterCommit",
    "HttpError",
    "RecordedRequest",
    "Request",
    "Route",
    "Router",
    "rfc3339",
    "serve",
]

logger = logging.getLogger("pii_gemini.testing")

#: Headers never recorded (they carry credentials).
_SECRET_HEADERS = frozenset({"x-goog-api-key", "authorization"})

#: google.rpc.Code name -> HTTP status, used when a handler only knows the status name.
HTTP_FOR_STATUS: dict[str, int] = {
    "OK": 200,
    "CANCELLED": 499,
    "UNKNOWN": 500,
    "INVALID_ARGUMENT": 400,
    "DEADLINE_EXCEEDED": 504,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "PERMISSION_DENIED": 403,
    "UNAUTHENTICATED": 401,
    "RESOURCE_EXHAUSTED": 429,
    "FAILED_PRECONDITION": 400,
    "ABORTED": 409,
    "OUT_OF_RANGE": 400,
    "UNIMPLEMENTED": 501,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DATA_LOSS": 500,
}


class HttpError(Exception):
    """An error answer: ``{"error": {"code", "message", "status", "details"?}}``."""

    def __init__(
        self,
        code: int,
        message: str,
        status: str | None = None,
        *,
        retry_delay: float | None = None,
        details: list[dict[str, Any]] | None = None,
        retry_after_header: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or STATUS_FOR_HTTP.get(code, "UNKNOWN")
        self.retry_delay = retry_delay
        self.details = list(details or [])
        self.retry_after_header = retry_after_header

    def headers(self) -> dict[str, str]:
        """Extra HTTP headers of this answer (``Retry-After``, whole seconds)."""
        if self.retry_after_header is None:
            return {}
        return {"Retry-After": str(max(0, round(self.retry_after_header)))}

    def body(self) -> dict[str, Any]:
        """The JSON body Google sends for this error."""
        error: dict[str, Any] = {"code": self.code, "message": self.message, "status": self.status}
        details = list(self.details)
        if self.retry_delay is not None:
            details.append(
                {
                    "@type": "type.googleapis.com/google.rpc.RetryInfo",
                    "retryDelay": _duration(self.retry_delay),
                }
            )
        if details:
            error["details"] = details
        return {"error": error}


def _duration(seconds: float) -> str:
    """A google.protobuf.Duration in JSON form ("31s", "1.500s")."""
    if float(seconds).is_integer():
        return f"{int(seconds)}s"
    return f"{seconds:.3f}s"


def rfc3339(value: _dt.datetime | None) -> str | None:
    """RFC 3339 UTC timestamp with a trailing ``Z`` (what both SDKs parse)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.timezone.utc)
    return value.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class RecordedRequest:
    """One request the emulator received; credentials are never recorded."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str] = field(repr=False)
    body: Any = field(default=None, repr=False)
    status: int = 0  # the HTTP status the emulator answered with


@dataclass
class Request:
    """What a route handler sees."""

    method: str
    path: str  # without the version prefix for API routes, URL-decoded
    version: str  # "v1beta", "v1", "v1beta1", or "" for storage routes
    query: dict[str, list[str]]
    headers: dict[str, str]
    raw_body: bytes
    params: dict[str, str] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        """The body as a JSON object (``{}`` when empty)."""
        if not self.raw_body:
            return {}
        try:
            data = json.loads(self.raw_body)
        except ValueError as exc:
            raise HttpError(400, f"Invalid JSON payload received. {exc}.") from None
        if not isinstance(data, dict):
            raise HttpError(400, "Invalid JSON payload received. Expected an object.")
        return data

    def arg(self, name: str) -> str | None:
        """First value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else None

    @property
    def enum_int(self) -> bool:
        """True when the client asked for ``enum-encoding=int``."""
        alt = self.arg("$alt") or ""
        return "enum-encoding=int" in alt


Handler = Callable[[Request], "Response"]
Response = tuple[int, Any]  # (status, JSON-able body or bytes)


@dataclass(frozen=True)
class Route:
    """A method + path regex (named groups become ``Request.params``).

    ``name`` (e.g. ``"gemini.create"``) is what latency and after-commit faults target.
    """

    method: str
    pattern: re.Pattern[str]
    handler: Handler
    api: bool = True  # under /v1beta/, /v1/ or /v1beta1/
    name: str = ""


@dataclass
class AfterCommit:
    """A fault that strikes after the request took effect: the job exists, the answer is
    ``late`` (sent after ``delay`` seconds, when the client has given up), never sent
    (``drop``: the connection is closed), cut half-way (``truncate``: a 200 with broken
    JSON) or of an unexpected shape (``shape``)."""

    mode: str
    delay: float = 0.0
    times: int = 1


class Router:
    """Ordered list of routes; the first match wins."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(
        self, method: str, pattern: str, handler: Handler, *, api: bool = True, name: str = ""
    ) -> None:
        """Register ``handler`` for ``method`` and the full-match regex ``pattern``."""
        self.routes.append(Route(method, re.compile(pattern), handler, api, name))

    @property
    def names(self) -> frozenset[str]:
        """The route names latency and faults can target."""
        return frozenset(r.name for r in self.routes if r.name)

    def match(self, method: str, path: str, *, api: bool) -> tuple[Route, dict[str, str]] | None:
        """The route for a request and its path parameters, or None."""
        for route in self.routes:
            if route.api != api or route.method != method:
                continue
            m = route.pattern.fullmatch(path)
            if m:
                return route, {k: v for k, v in m.groupdict().items() if v is not None}
        return None


_VERSION_RE = re.compile(r"^/(v1beta1|v1beta|v1)/(.*)$")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self.server.app.handle(self)

    def do_POST(self) -> None:
        self.server.app.handle(self)

    def do_PATCH(self) -> None:
        self.server.app.handle(self)

    def do_DELETE(self) -> None:
        self.server.app.handle(self)

    def log_message(self, format: str, *args: Any) -> None:
        # The request line may carry ?key=...; never write it out unredacted.
        logger.debug("emulator: %s", redact(format % args))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    app: App

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout, closed socket) is normal here: no traceback."""
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)):
            logger.debug("emulator: client went away (%s)", type(exc).__name__)
            return
        logger.debug("emulator: error while serving a request", exc_info=True)


class App:
    """Authentication, routing, recording and error formatting for one emulator."""

    def __init__(
        self,
        router: Router,
        *,
        api_key: str | None,
        bearer_token: str | None,
        service_error: type[Exception] | None,
    ) -> None:
        self.router = router
        self.api_key = api_key
        self.bearer_token = bearer_token
        self._service_error = service_error
        self._lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        self.latency: dict[str, float] = {}  # route name -> seconds before it answers
        self.after_commit: dict[str, list[AfterCommit]] = {}  # route name -> faults
        self.hooks: list[Callable[[Request, str], None]] = []  # run before each handler

    # -- auth -----------------------------------------------------------------------------
    def check_auth(self, headers: dict[str, str], query: dict[str, list[str]]) -> None:
        """Answer like Google: 403 without credentials, 400 for a bad key, 401 bad token."""
        key = headers.get("x-goog-api-key") or next(iter(query.get("key") or []), None)
        auth = headers.get("authorization", "")
        if key:
            if self.api_key is not None and key != self.api_key:
                raise HttpError(
                    400,
                    "API key not valid. Please pass a valid API key.",
                    "INVALID_ARGUMENT",
                    details=[
                        {
                            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                            "reason": "API_KEY_INVALID",
                            "domain": "googleapis.com",
                        }
                    ],
                )
            return
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip()
            if not token or (self.bearer_token is not None and token != self.bearer_token):
                raise HttpError(
                    401,
                    "Request had invalid authentication credentials. Expected OAuth 2 access "
                    "token, login cookie or other valid authentication credential.",
                    "UNAUTHENTICATED",
                )
            return
        raise HttpError(
            403,
            "Method doesn't allow unregistered callers (callers without established identity)."
            " Please use API Key or other form of API consumer identity to call this API.",
            "PERMISSION_DENIED",
        )

    # -- dispatch -------------------------------------------------------------------------
    def _due_fault(self, route: str, status: int) -> AfterCommit | None:
        if status >= 400 or not route:
            return None
        with self._lock:
            queue = self.after_commit.get(route)
            if not queue:
                return None
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.pop(0)
            return AfterCommit(fault.mode, fault.delay, 1)

    def handle(self, h: _Handler) -> None:
        split = urlsplit(h.path)
        query = parse_qs(split.query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in h.headers.items()}
        length = int(headers.get("content-length") or 0)
        raw = h.rfile.read(length) if length else b""
        route, status, payload, extra = self._dispatch(h.command, split.path, query, headers, raw)
        self._record(h.command, split.path, query, headers, raw, status)
        fault = self._due_fault(route, status)
        if fault is not None and fault.mode == "drop":
            h.close_connection = True  # the job exists; the client never hears of it
            return
        if fault is not None and fault.mode == "late":
            time.sleep(fault.delay)  # answered after the client's timeout
        if isinstance(payload, bytes):
            data, ctype = payload, "application/octet-stream"
        else:
            data, ctype = json.dumps(payload).encode(), "application/json; charset=UTF-8"
        if fault is not None and fault.mode == "truncate":
            data = data[: max(1, len(data) // 2)]  # a 200 whose JSON stops half-way
        elif fault is not None and fault.mode == "shape":
            data = json.dumps({"candidates": "unexpected", "name": 7}).encode()
        try:
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(data)))
            for key, value in extra.items():
                h.send_header(key, value)
            h.end_headers()
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            h.close_connection = True  # the client gave up waiting: nothing to report

    def _dispatch(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        raw: bytes,
    ) -> tuple[str, int, Any, dict[str, str]]:
        """``(route name, status, body, extra headers)`` for one request."""
        name = ""
        try:
            m = _VERSION_RE.match(path)
            if m:
                version, rest, api = m.group(1), unquote(m.group(2)), True
            else:
                version, rest, api = "", path, False
            found = self.router.match(method, rest, api=api)
            if found is None:
                raise HttpError(404, f"Method not found: {method} {path}", "NOT_FOUND")
            route, params = found
            name = route.name
            self.check_auth(headers, query)
            delay = self.latency.get(name, 0.0)
            if delay:
                time.sleep(delay)
            req = Request(method, rest, version, query, headers, raw, params)
            for hook in list(self.hooks):
                hook(req, name)
            status, body = route.handler(req)
            return name, status, body, {}
        except HttpError as exc:
            return name, exc.code, exc.body(), exc.headers()
        except Exception as exc:
            if self._service_error is not None and isinstance(exc, self._service_error):
                err = HttpError(
                    int(getattr(exc, "code", 500)),
                    str(getattr(exc, "message", str(exc))),
                    getattr(exc, "status", None),
                    retry_delay=getattr(exc, "retry_delay", None),
                    details=getattr(exc, "details", None),
                )
                return name, err.code, err.body(), err.headers()
            logger.exception("emulator: unhandled error in %s %s", method, path)
            err = HttpError(500, f"Internal error in emulator: {type(exc).__name__}", "INTERNAL")
            return name, err.code, err.body(), {}

    def _record(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        raw: bytes,
        status: int,
    ) -> None:
        clean_headers = {k: (REDACTED if k in _SECRET_HEADERS else v) for k, v in headers.items()}
        clean_query = {k: v for k, v in query.items() if k != "key"}
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw
        rec = RecordedRequest(method, path, clean_query, clean_headers, body, status)
        with self._lock:
            self.requests.append(rec)


def serve(app: App, host: str = "127.0.0.1", port: int = 0) -> tuple[_Server, threading.Thread]:
    """Start ``app`` on ``host:port`` (0 = ephemeral) in a daemon thread."""
    server = _Server((host, port), _Handler)
    server.app = app
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name=f"pii-gemini-emulator-{server.server_address[1]}",
        daemon=True,
    )
    thread.start()
    return server, thread
