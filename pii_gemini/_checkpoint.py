"""Reading back a masking output (or its redo journal) to resume a run that stopped.

``mask_file`` writes one JSON line per input row, in input order, so the rows already done
are exactly the complete lines at the start of the output. A run killed mid-write leaves a
torn last line (no newline): ``complete_lines`` and ``complete_records`` leave it out, and
``tail_start`` says where it starts, so that the file's owner can cut it - only once the
file is known to be its own (``masking/_outfile``), never before.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ._exceptions import DatasetError

__all__ = ["complete_lines", "complete_records", "tail_start"]

_TAIL_BLOCK = 1 << 16  # bytes read at a time when looking for the last newline


def tail_start(path: str | os.PathLike[str]) -> int:
    """Offset just after the last newline: where a torn last line starts (0 if none)."""
    p = Path(path)
    if not p.exists():
        return 0
    with p.open("rb") as fh:
        pos = fh.seek(0, os.SEEK_END)
        while pos > 0:
            start = max(0, pos - _TAIL_BLOCK)
            fh.seek(start)
            idx = fh.read(pos - start).rfind(b"\n")
            if idx >= 0:
                return start + idx + 1
            pos = start
    return 0


def complete_lines(path: str | os.PathLike[str]) -> Iterator[bytes]:
    """The newline-terminated lines of ``path`` as bytes (a torn last line is left out);
    nothing for a missing file."""
    p = Path(path)
    if not p.exists():
        return
    with p.open("rb") as fh:
        for line in fh:
            if line.endswith(b"\n"):
                yield line


def complete_records(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """The JSON objects of the complete lines of ``path``; DatasetError naming a bad line."""
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
