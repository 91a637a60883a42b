"""Helpers shared by the reliability tests: the scripted backend, files, a fake clock.

``ScriptedBackend`` and ``mask_known`` come from ``tests/_masking_support.py`` (the folder
above is put on ``sys.path`` once, here).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _masking_support import NAMES, ScriptedBackend, input_of, mask_known

from pii_gemini._retry import RetryPolicy

__all__ = [
    "MODEL",
    "NAMES",
    "FakeClock",
    "ScriptedBackend",
    "fast_retry",
    "input_of",
    "mask_known",
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
