"""A local HTTP emulator of the Gemini API and Vertex AI tuning, for tests (yours too).

``Emulator`` serves an in-memory ``FakeService`` on ``127.0.0.1`` (an ephemeral port) so the
real, unmodified SDKs can be driven offline, the way moto serves boto3::

    from pii_gemini.testing import Emulator

    with Emulator() as emu:
        backend = emu.gemini_backend()        # GeminiBackend pointed at emu.url
        emu.service.inject_fault("generate_content", 429, retry_delay=1.0)
        ...
        assert emu.requests[-1].path.endswith(":generateContent")

``fake_backend()`` is the moto ``mock_aws`` style: inside it, ``make_backend("gemini")`` and
``make_backend("vertex")`` (and the CLI) talk to one shared emulator, with fake credentials
set in the environment; nesting reuses the emulator, and leaving the outermost block stops it
and restores the environment.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .._exceptions import ConfigError
from ..backends._catalogue import CURRENT_ERA, era_catalogue
from ..backends._service import (
    DEFAULT_BASE_MODELS,
    TUNABLE_BASE_MODELS,
    FakeService,
    Progression,
    ServiceError,
)
from . import _batch_routes, _gemini_routes, _storage_routes, _vertex_routes
from ._era import EraRules, Quotas, QuotaTracker
from ._server import AfterCommit, App, HttpError, RecordedRequest, Request, Router, serve
from ._storage_routes import parse_gcs_uri
from ._vertex_routes import VertexState

if TYPE_CHECKING:
    from ..backends.gemini import GeminiBackend
    from ..backends.vertex import VertexBackend

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_BEARER_TOKEN",
    "VERTEX_TUNABLE_MODELS",
    "Emulator",
    "FakeService",
    "Progression",
    "Quotas",
    "RecordedRequest",
    "ServiceError",
    "fake_backend",
]

#: The API key an emulator expects unless told otherwise (never a real key).
DEFAULT_API_KEY = "emulator-api-key"
#: The OAuth bearer token the emulator's Vertex/storage clients send.
DEFAULT_BEARER_TOKEN = "emulator-oauth-token"
#: Vertex base models the emulator tunes in the current era (served as ``models/<name>``).
VERTEX_TUNABLE_MODELS: tuple[str, ...] = era_catalogue(CURRENT_ERA).vertex_tunes


def _service_models(era: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(base_models, tunable_models)`` of the shared FakeService for ``era``: every model
    either service serves or tunes (the routes decide which service offers what)."""
    cat = era_catalogue(era)
    every = cat.gemini_serves + cat.gemini_retired + cat.vertex_serves + cat.vertex_tunes
    bases = tuple(dict.fromkeys(DEFAULT_BASE_MODELS + tuple(f"models/{m}" for m in every)))
    tunable = tuple(f"models/{m}" for m in dict.fromkeys(cat.gemini_tunes + cat.vertex_tunes))
    return bases, tuple(dict.fromkeys(TUNABLE_BASE_MODELS + tunable))


class Emulator:
    """Gemini API + Vertex tuning emulator over HTTP, backed by a ``FakeService``.

    ``api_key`` is the key requests must carry (``x-goog-api-key`` header or ``?key=``);
    ``None`` accepts any key. ``bearer_token`` likewise for ``Authorization: Bearer``
    (``None`` accepts any token). Without credentials the emulator answers 403 like Google.
    Extra keyword arguments build the ``FakeService`` (``progression=``, ``seed=``, ...).

    ``era`` picks the Google it models (``backends/_catalogue.py``): ``"2026"`` (default,
    today: no Gemini API tuning, retired models 404, Vertex tunes 2.5/3.x thinking models,
    strict request parsing) or ``"2024"`` (the seed notebook's Google, lenient).
    ``quotas`` enforces per-model RPM/TPM/RPD on generate with Google's 429 bodies.
    """

    def __init__(
        self,
        service: FakeService | None = None,
        *,
        api_key: str | None = DEFAULT_API_KEY,
        bearer_token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        era: str = CURRENT_ERA,
        quotas: Quotas | None = None,
        **service_kwargs: Any,
    ) -> None:
        if service is not None and service_kwargs:
            raise ConfigError("pass either service= or FakeService keyword arguments, not both")
        try:
            self.rules = EraRules(era)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        self.era = era
        if service is None:
            bases, tunable = _service_models(era)
            service_kwargs.setdefault("base_models", bases)
            service_kwargs.setdefault("tunable_models", tunable)
            service = FakeService(**service_kwargs)
        self._service = service
        self.quotas = QuotaTracker(quotas) if quotas is not None else None
        self.vertex = VertexState()
        self.api_key = api_key
        self.bearer_token = bearer_token
        self._host = host
        self._port = port
        router = Router()
        _gemini_routes.register(router, self)
        _vertex_routes.register(router, self)
        _batch_routes.register(router, self)
        _storage_routes.register(router, self)
        self._app = App(
            router, api_key=api_key, bearer_token=bearer_token, service_error=ServiceError
        )
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        state = self.url if self.running else "stopped"
        return f"Emulator({state})"

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def service(self) -> FakeService:
        """The in-memory service behind the HTTP API: faults, blocks, progression."""
        return self._service

    @property
    def running(self) -> bool:
        """True between ``start()`` and ``stop()``."""
        return self._server is not None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` - give it to the SDKs as endpoint/base URL."""
        if self._server is None:
            raise ConfigError("the emulator is not running; use 'with Emulator() as emu:'")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Emulator:
        """Start serving (idempotent)."""
        if self._server is None:
            self._server, self._thread = serve(self._app, self._host, self._port)
        return self

    def stop(self) -> None:
        """Stop serving and free the port (idempotent)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget all models, jobs, stored objects, faults and recorded requests."""
        self._service.reset()
        self.vertex.reset()
        with self._app._lock:
            self._app.latency.clear()
            self._app.after_commit.clear()
            self._app.hooks.clear()
        self.clear_requests()

    # -- faults and latency ---------------------------------------------------------------
    @property
    def routes(self) -> frozenset[str]:
        """Route names ``set_latency`` and ``fault_after_commit`` take (``"vertex.create"``...)."""
        return self._app.router.names

    def _route(self, route: str) -> str:
        if route not in self.routes:
            raise ConfigError(f"unknown route {route!r}: one of {', '.join(sorted(self.routes))}")
        return route

    def set_latency(self, route: str, seconds: float) -> None:
        """Make ``route`` answer ``seconds`` later (0 removes the delay)."""
        with self._app._lock:
            self._app.latency[self._route(route)] = max(0.0, float(seconds))

    def fault_after_commit(
        self, route: str, mode: str = "late", *, delay: float = 2.0, times: int = 1
    ) -> None:
        """Let the next ``times`` successful calls of ``route`` take effect, then answer
        ``late`` (after ``delay`` seconds, past the client's timeout), ``drop`` the
        connection, or send a 200 whose body is cut (``truncate``) or of another shape
        (``shape``): the request took effect, the caller does not know it."""
        if mode not in _AFTER_COMMIT_MODES:
            raise ConfigError(f"mode must be one of {', '.join(_AFTER_COMMIT_MODES)}, got {mode!r}")
        with self._app._lock:
            self._app.after_commit.setdefault(self._route(route), []).append(
                AfterCommit(mode, delay, times)
            )

    def echo_errors(self, route: str, code: int = 500, *, times: int = 1) -> None:
        """Fail the next ``times`` calls of ``route`` with ``code`` and an error message that
        echoes the request body and its credentials, as some servers and proxies do."""
        state = {"left": times}
        name = self._route(route)

        def hook(req: Request, route_name: str) -> None:
            if route_name != name or state["left"] <= 0:
                return
            state["left"] -= 1
            key = req.headers.get("x-goog-api-key") or req.headers.get("authorization", "")
            echoed = req.raw_body.decode("utf-8", "replace")
            raise HttpError(code, f"could not process {echoed} (credentials: {key})")

        with self._app._lock:
            self._app.hooks.append(hook)

    # -- inspection -----------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        """Requests received so far (credentials removed), oldest first."""
        with self._app._lock:
            return list(self._app.requests)

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        with self._app._lock:
            self._app.requests.clear()

    def requests_to(self, fragment: str, method: str | None = None) -> list[RecordedRequest]:
        """Recorded requests whose path contains ``fragment`` (and of ``method``)."""
        return [
            r
            for r in self.requests
            if fragment in r.path and (method is None or r.method == method)
        ]

    # -- storage --------------------------------------------------------------------------
    def put_object(self, uri: str, data: bytes) -> None:
        """Store ``data`` at ``gs://bucket/object`` in the emulator's storage."""
        try:
            key = parse_gcs_uri(uri)
        except HttpError as exc:
            raise ConfigError(exc.message) from None
        with self.vertex.lock:
            self.vertex.objects[key] = bytes(data)

    def get_object(self, uri: str) -> bytes:
        """The bytes stored at ``gs://bucket/object``; KeyError when absent."""
        try:
            key = parse_gcs_uri(uri)
        except HttpError as exc:
            raise ConfigError(exc.message) from None
        with self.vertex.lock:
            return self.vertex.objects[key]

    # -- ready-made backends --------------------------------------------------------------
    def environment(self) -> dict[str, str]:
        """The variables that point ``make_backend("gemini"/"vertex")`` and the CLI here:
        endpoint, the emulator's era, fake key and token, project, location and a
        ``gs://`` staging URI.

        Unset ``GEMINI_API_KEY`` beside them: with both keys set the two SDKs disagree on
        which one wins (google-generativeai takes ``GEMINI_API_KEY``, google-genai
        ``GOOGLE_API_KEY``).
        """
        return {
            "PII_GEMINI_ENDPOINT": self.url,
            "PII_GEMINI_ERA": self.era,
            "PII_GEMINI_ACCESS_TOKEN": self.bearer_token or DEFAULT_BEARER_TOKEN,
            "PII_GEMINI_GCS_URI": "gs://emulator-bucket/pii-gemini",
            "GOOGLE_API_KEY": self.api_key or DEFAULT_API_KEY,
            "GOOGLE_CLOUD_PROJECT": "emulator-project",
            "GOOGLE_CLOUD_LOCATION": "us-central1",
        }

    def gemini_backend(self, **kwargs: Any) -> GeminiBackend:
        """A ``GeminiBackend`` talking to this emulator (REST, the emulator's key)."""
        from ..backends.gemini import GeminiBackend

        kwargs.setdefault("api_key", self.api_key or DEFAULT_API_KEY)
        kwargs.setdefault("endpoint", self.url)
        kwargs.setdefault("era", self.era)
        return GeminiBackend(**kwargs)

    def vertex_backend(self, **kwargs: Any) -> VertexBackend:
        """A ``VertexBackend`` talking to this emulator, staging data in ``gs://emulator``."""
        from ..backends.vertex import VertexBackend, static_token_credentials

        kwargs.setdefault("project", "emulator-project")
        kwargs.setdefault("location", "us-central1")
        kwargs.setdefault("staging_uri", "gs://emulator-bucket/pii-gemini")
        kwargs.setdefault("endpoint", self.url)
        kwargs.setdefault("era", self.era)
        kwargs.setdefault(
            "credentials", static_token_credentials(self.bearer_token or DEFAULT_BEARER_TOKEN)
        )
        return VertexBackend(**kwargs)


# -- moto-style context manager -------------------------------------------------------------

_AFTER_COMMIT_MODES = ("late", "drop", "truncate", "shape")

_ENV_KEYS = (
    "PII_GEMINI_ENDPOINT",
    "PII_GEMINI_ERA",
    "PII_GEMINI_ACCESS_TOKEN",
    "PII_GEMINI_GCS_URI",
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
)
_active_lock = threading.RLock()
_active: list[tuple[Emulator, dict[str, str | None]]] = []


@contextlib.contextmanager
def fake_backend(
    *,
    progression: Progression | None = None,
    tunable_models: Sequence[str] | None = None,
    era: str = CURRENT_ERA,
) -> Iterator[Emulator]:
    """Route ``make_backend("gemini"/"vertex")`` to a local emulator while active.

    Sets ``PII_GEMINI_ENDPOINT``, a fake ``GOOGLE_API_KEY`` (and unsets ``GEMINI_API_KEY``),
    a fake project/location, an access token, a ``gs://`` staging URI and ``PII_GEMINI_ERA``.
    ``era`` picks the Google the emulator models (default: today's; ``"2024"`` for the
    seed's flow); the backends check base models against that era's catalogue. Nested
    uses share the outer emulator; the outermost exit stops it, restores the environment and
    so leaves no state behind. Usable as a decorator too. ``os.environ`` is process-global,
    so do not enter it from several threads at once.
    """
    with _active_lock:
        if _active:
            emu = _active[-1][0]
            _active.append((emu, {}))
            nested = True
        else:
            kwargs: dict[str, Any] = {
                "progression": progression or Progression.immediate(),
                "era": era,
            }
            if tunable_models is not None:
                bases, _ = _service_models(era)
                kwargs["tunable_models"] = tuple(tunable_models)
                kwargs["base_models"] = tuple(dict.fromkeys(bases + tuple(tunable_models)))
            emu = Emulator(**kwargs).start()
            saved = {k: os.environ.get(k) for k in _ENV_KEYS}
            os.environ.update(emu.environment())
            os.environ.pop("GEMINI_API_KEY", None)  # one key only (see environment())
            _active.append((emu, saved))
            nested = False
    try:
        yield emu
    finally:
        with _active_lock:
            _, saved = _active.pop()
            if not nested:
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
                emu.reset()
                emu.stop()
