"""Reading back a masking output file to resume a run that stopped.

``mask_file`` writes one JSON line per input row, in input order, so the rows already done
are exactly the first ``N`` lines. A run killed mid-write leaves a torn last line (no
newline, or not valid JSON); ``repair_tail`` cuts it off so that row is simply redone.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ._exceptions import DatasetError

__all__ = ["complete_lines", "complete_records", "iter_records", "repair_tail", "tail_start"]

_TAIL_BLOCK = 1 << 16  # bytes read at a time when looking for the last newline


def _last_newline(fh: Any, size: int) -> int:
    """Offset just after the last ``\\n`` in the file, 0 when there is none."""
    pos = size
    while pos > 0:
        start = max(0, pos - _TAIL_BLOCK)
        fh.seek(start)
        block: bytes = fh.read(pos - start)
        idx = block.rfind(b"\n")
        if idx >= 0:
            return start + idx + 1
        pos = start
    return 0


def repair_tail(path: str | os.PathLike[str]) -> int:
    """Truncate a torn last line; return how many bytes were dropped (0 if none)."""
    p = Path(path)
    if not p.exists():
        return 0
    with p.open("r+b") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            return 0
        keep = _last_newline(fh, size)
        if keep == size:
            # Ends with a newline: check the last complete line is valid JSON.
            prev = _last_newline(fh, size - 1)
            fh.seek(prev)
            last = fh.read(size - prev)
            if last.strip():
                try:
                    json.loads(last)
                except ValueError:
                    keep = prev
        if keep < size:
            fh.truncate(keep)
            fh.flush()
            os.fsync(fh.fileno())
        return size - keep


def iter_records(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Yield the records of a (repaired) output file; a corrupt middle line is an error."""
    p = Path(path)
    if not p.exists():
        return
    with p.open("r", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                raise DatasetError(
                    f"output file {p.name} line {lineno} is not valid JSON; "
                    "it cannot be resumed (use resume=False or a new output path)",
                    row=lineno - 1,
                ) from None
            if not isinstance(record, dict):
                raise DatasetError(
                    f"output file {p.name} line {lineno} is not a JSON object", row=lineno - 1
                )
            yield record


def tail_start(path: str | os.PathLike[str]) -> int:
    """Offset just after the last newline: where a torn last line starts (0 if none)."""
    with Path(path).open("rb") as fh:
        return _last_newline(fh, fh.seek(0, os.SEEK_END))


def complete_lines(path: str | os.PathLike[str]) -> Iterator[bytes]:
    """The newline-terminated lines of ``path`` (a torn last line is left out), as bytes."""
    with Path(path).open("rb") as fh:
        for line in fh:
            if line.endswith(b"\n"):
                yield line


def complete_records(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """The JSON objects of the complete lines of ``path``; DatasetError naming a bad line.

    Unlike ``iter_records`` it reads without repairing anything first: a torn last line is
    simply not yielded (the caller cuts it only once the file is known to be its own).
    """
    p = Path(path)
    for lineno, line in enumerate(complete_lines(p), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line.decode("utf-8"))
        except (ValueError, RecursionError):
            raise DatasetError(
                f"output file {p.name} line {lineno} is not a JSON line written by pii_gemini; "
                "it cannot be resumed (use resume=False or a new output path)",
                row=lineno - 1,
            ) from None
        if not isinstance(record, dict):
            raise DatasetError(
                f"output file {p.name} line {lineno} is not a JSON object", row=lineno - 1
            )
        yield record
