"""Helpers shared by the reliability tests: the scripted backend, files, a fake clock.

``ScriptedBackend`` and ``mask_known`` come from ``tests/_masking_support.py`` (the folder
above is put on ``sys.path`` once, here).
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _masking_support import NAMES, ScriptedBackend, input_of, mask_known

from pii_gemini._retry import RetryPolicy
from pii_gemini.backends.base import Backend
from pii_gemini.masking import Masker

__all__ = [
    "MODEL",
    "NAMES",
    "FakeClock",
    "ScriptedBackend",
    "fast_retry",
    "input_of",
    "mask_known",
    "patch_cli",
    "read_jsonl",
    "write_jsonl",
]

MODEL = "tunedModels/reliability"


def fast_retry(attempts: int = 3) -> RetryPolicy:
    """A retry policy without waits (tests also pass ``sleep=`` to the Masker)."""
    return RetryPolicy(attempts=attempts, initial_delay=0.0, max_delay=0.0, jitter=0.0)


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    """Write ``rows`` as UTF-8 JSON lines (non-ASCII kept) and return ``path``."""
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The records of a JSONL file (every line must be complete)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


class FakeClock:
    """A clock whose ``sleep`` advances time, optionally waking up late (``late(s)``)."""

    def __init__(self, late: float = 0.0) -> None:
        self.now = 0.0
        self._late = late
        self.sleeps = 0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        if seconds > 0:
            self.now += seconds + self._late


def patch_cli(
    monkeypatch: pytest.MonkeyPatch, make_backend: Callable[[], Backend] = ScriptedBackend
) -> list[Backend]:
    """Make ``pii-gemini mask``/``unmask`` use ``make_backend()`` (a new one per command,
    collected in the list returned) with retry waits that take no time."""
    from pii_gemini.cli import _masking

    used: list[Backend] = []

    @contextlib.contextmanager
    def opened(args: object) -> Iterator[Backend]:
        backend = make_backend()
        used.append(backend)
        yield backend

    real = Masker.for_model.__func__  # type: ignore[attr-defined]

    def for_model(cls: type[Masker], *args: Any, **kwargs: Any) -> Masker:
        return real(cls, *args, sleep=lambda s: None, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr(_masking, "open_backend", opened)
    monkeypatch.setattr(Masker, "for_model", classmethod(for_model))
    return used
