"""The fake backend's tuned models kept in a local file between processes (the CLI's store).

``pii-gemini tune`` in one process and ``status``/``mask`` in the next must see the same fake
models, so the CLI loads a ``FakeService`` from a pickle file (``--state`` or
``PII_GEMINI_FAKE_STATE``; default ``~/.cache/pii-gemini/fake-state.pkl``) and saves it back,
merged under a file lock. Jobs advance with the wall clock, each at the simulated steps
per second it was started with (``--fake-speed``, else ``PII_GEMINI_FAKE_SPEED``, else 400),
saved with it.
"""

from __future__ import annotations

import math
import os
import pickle
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .._exceptions import ConfigError
from ._service import FakeService, Progression
from .base import Backend
from .fake import FakeBackend

__all__ = ["DEFAULT_SPEED", "SPEED_ENV", "STATE_ENV", "FakeState", "fake_speed", "state_path"]

STATE_ENV = "PII_GEMINI_FAKE_STATE"
SPEED_ENV = "PII_GEMINI_FAKE_SPEED"
DEFAULT_SPEED = 400.0  # simulated training steps per second (0: jobs finish at once)
_STATE_VERSION = 1  # of the pickled {"version", "service"} envelope


def state_path(option: str | None = None) -> Path:
    """The state file: ``option``, else ``$PII_GEMINI_FAKE_STATE``, else the user cache."""
    if option:
        return Path(option).expanduser()
    env = os.environ.get(STATE_ENV)
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(cache).expanduser() / "pii-gemini" / "fake-state.pkl"


def fake_speed(option: str | float | None = None) -> float:
    """Steps per second: ``option``, else ``$PII_GEMINI_FAKE_SPEED``, else the default."""
    raw = option if option is not None else os.environ.get(SPEED_ENV)
    if raw is None:
        return DEFAULT_SPEED
    origin = "--fake-speed" if option is not None else f"${SPEED_ENV}"
    try:
        speed = float(raw)
    except ValueError:
        speed = -1.0
    if not speed >= 0:  # also NaN
        raise ConfigError(f"{origin} must be a number of steps per second >= 0, got {raw!r}")
    return speed


def _unreadable(path: Path, exc: Exception) -> ConfigError:
    return ConfigError(
        f"fake backend state file {path} is unreadable ({type(exc).__name__}); "
        "delete it or pass another --state"
    )


def _read_state(path: Path) -> dict[str, Any] | None:
    """The FakeService state saved in ``path``, or None when there is no file."""
    if not path.is_file():
        return None
    try:
        with path.open("rb") as fh:
            state = pickle.load(fh)  # our own local file, written by FakeState.save
        if not isinstance(state, dict) or state.get("version") != _STATE_VERSION:
            raise ValueError("unknown state format")
        service_state = state["service"]
        if not isinstance(service_state, dict):
            raise ValueError("unknown state format")
        return service_state
    except Exception as exc:
        raise _unreadable(path, exc) from exc


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path``.lock (POSIX; elsewhere no lock)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _write_atomically(path: Path, payload: bytes) -> None:
    """Replace ``path`` with ``payload`` via a synced temporary file in the same folder."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class FakeState:
    """Loads the fake service's tuned models from a file and saves them back, merged.

    Two CLI processes may run at once (``tune --wait`` in one shell, ``status`` in another),
    so saving re-reads the file under a lock and keeps the models other processes created
    or deleted meanwhile; for a model both touched, this process's view wins.

    Each job is saved with its speed (steps per second, as a ``Progression``), so a later
    process runs it at the speed it was started with. ``speed`` is ``--fake-speed``: when
    given, it is the speed of the jobs this process starts and, for this process only, of
    every loaded job (``status JOB --fake-speed 0`` finishes it); when None, new jobs run at
    ``$PII_GEMINI_FAKE_SPEED`` or the default, and so do jobs saved without a speed (by a
    version of pii_gemini that did not keep it).
    """

    def __init__(self, path: Path, speed: float | None = None) -> None:
        self.path = path
        self.speed = fake_speed() if speed is None else fake_speed(speed)
        self.override = speed is not None
        self._loaded: set[object] = set()
        self._speeds: dict[object, Progression] = {}  # the saved speed of each loaded job

    @property
    def progression(self) -> Progression:
        """How this process's jobs advance: ``speed`` steps per second (0 or inf: at once)."""
        instant = self.speed in (0, math.inf)
        return Progression.immediate() if instant else Progression.timed(self.speed)

    def load(self) -> FakeBackend:
        """A FakeBackend holding the saved models; jobs advance with the wall clock, each at
        its own saved speed unless ``--fake-speed`` overrides it."""
        service = FakeService(progression=self.progression, clock=time.time)
        state = _read_state(self.path)
        if state is not None:
            try:
                jobs = state["jobs"]
                self._speeds = {
                    name: job.progression
                    for name, job in jobs.items()
                    if getattr(job, "progression", None) is not None
                }
                if self.override:
                    for job in jobs.values():
                        job.progression = None  # the service's: --fake-speed of this command
                service.import_state(state)
            except Exception as exc:
                raise _unreadable(self.path, exc) from exc
            self._loaded = set(jobs)
        return FakeBackend(service=service)

    def save(self, backend: Backend) -> None:
        """Merge this process's models into the file and replace it atomically."""
        service = getattr(backend, "service", None)
        if service is None:
            return
        mine = service.export_state()
        for name, job in mine["jobs"].items():  # each job keeps its own speed, or gets ours
            job.progression = self._speeds.get(name) or self.progression
        with _locked(self.path):
            try:
                disk = _read_state(self.path) or {}
            except ConfigError:
                disk = {}  # unreadable: ours replaces it
            theirs_jobs: dict[Any, Any] = dict(disk.get("jobs") or {})
            jobs = {
                name: job
                for name, job in mine["jobs"].items()
                if not (name in self._loaded and name not in theirs_jobs)  # deleted elsewhere
            }
            for name, job in theirs_jobs.items():
                if name not in jobs and name not in self._loaded:  # created elsewhere
                    jobs[name] = job
            operations = {
                op: model
                for source in (disk.get("operations") or {}, mine["operations"])
                for op, model in source.items()
                if model in jobs
            }
            state = {"jobs": jobs, "operations": operations, "rng": mine["rng"]}
            payload = pickle.dumps(
                {"version": _STATE_VERSION, "service": state}, protocol=pickle.HIGHEST_PROTOCOL
            )
            _write_atomically(self.path, payload)
        self._loaded = set(jobs)
