"""A local ``.json`` file holding one JSON array of rows, for ``load_pii_dataset``.

An item of the array that is not a JSON object is treated as a ``.jsonl`` line that is not
one: with ``errors="raise"`` the error names the item (from 1, as ``mask`` does), with
``errors="skip"`` it is skipped and counted under ``NOT_OBJECT_ITEM``. Other ``.json``
layouts (JSON lines, a ``{"rows": [...]}`` wrapper, columns) stay with the general reader.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from .._exceptions import DatasetError

__all__ = ["NOT_OBJECT_ITEM", "read_json_array"]

NOT_OBJECT_ITEM = "item is not a JSON object"  # the skipped-rows reason


def read_json_array(path: Path, errors: str) -> tuple[pd.DataFrame, int] | None:
    """The objects of the JSON array in ``path`` as a raw frame and how many items were
    skipped (``errors="skip"``) for not being objects; None when ``path`` is no uncompressed
    ``.json`` file holding one JSON array of UTF-8 text (the general reader then reads it or
    says why it cannot)."""
    if path.suffix.lower() != ".json":
        return None
    try:
        with path.open(encoding="utf-8") as fh:
            data = json.load(fh)
    except (ValueError, RecursionError):  # not JSON (JSON lines?), not UTF-8: not ours
        return None
    if not isinstance(data, list):
        return None
    records: list[dict[str, Any]] = []
    for number, item in enumerate(data, start=1):
        if isinstance(item, dict):
            records.append(item)
        elif errors == "raise":
            raise DatasetError(
                f"could not read {path.name} as .json: item {number} of the JSON array is "
                "not a JSON object"
            )
    frame: pd.DataFrame = pd.DataFrame.from_records(records)
    return frame, len(data) - len(records)
