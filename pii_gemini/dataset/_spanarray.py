"""The ``privacy_mask`` column of a loaded frame: spans checked in Arrow, handed out as dicts.

A 200k-row dataset holds about a million spans. They are built and checked column-wise as
one Arrow ``list<struct<value, start, end, label>>`` array; the frame's column is a plain
object column of lists of ``{"value", "start", "end", "label"}`` dicts, converted from that
array a block of rows at a time with the cyclic GC paused (pyarrow's ``to_pylist`` per
block; one scalar at a time is 5x slower, and the GC would rescan every dict, 2x).

An extension dtype that kept the spans in Arrow and built dicts on access was tried (issue
17) and dropped: files it saved with ``to_parquet`` could not be read by pandas without
importing this package, cells could not be assigned, ``.str`` was gone. A loaded frame must
behave as any pandas frame.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ._arrow import SPAN_TYPE

__all__ = ["SPAN_LIST", "span_series", "spans_from_dicts"]

SPAN_LIST = pa.list_(SPAN_TYPE)
"""A row's spans as Arrow stores them."""

_BLOCK = 4096  # rows turned into dicts at a time


def _rows(spans: pa.Array | pa.ChunkedArray) -> Iterator[Any]:
    """Each row of ``spans`` as a list of span dicts, a block at a time, the GC paused."""
    chunks = spans.iterchunks() if isinstance(spans, pa.ChunkedArray) else [spans]
    for chunk in chunks:
        for lo in range(0, len(chunk), _BLOCK):
            enabled = gc.isenabled()
            gc.disable()
            try:
                rows = chunk.slice(lo, _BLOCK).to_pylist()
            finally:
                if enabled:
                    gc.enable()
            yield from rows


def span_series(spans: pa.Array | pa.ChunkedArray) -> pd.Series:
    """An object Series (fresh RangeIndex) of lists of span dicts, one per row of ``spans``."""
    # fromiter: each row one object (assigning a list of equal-length lists would make 2-D)
    values = np.fromiter(_rows(spans), dtype=object, count=len(spans))
    series: pd.Series = pd.Series(values, dtype=object)
    return series


def spans_from_dicts(masks: Sequence[Sequence[dict[str, Any]]]) -> pa.ListArray:
    """Checked rows of span dicts (value, start, end, label each) as one Arrow array, built a
    column at a time (pyarrow's own conversion of a million dicts is 2x slower)."""
    lengths = np.fromiter(map(len, masks), dtype=np.int64, count=len(masks))
    offsets = np.zeros(len(masks) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    flat = [span for mask in masks for span in mask]
    fields = [
        pa.array([s["value"] for s in flat], pa.string()),
        pa.array([s["start"] for s in flat], pa.int64()),
        pa.array([s["end"] for s in flat], pa.int64()),
        pa.array([s["label"] for s in flat], pa.string()),
    ]
    items = pa.StructArray.from_arrays(fields, fields=list(SPAN_TYPE))
    return pa.ListArray.from_arrays(pa.array(offsets), items, type=SPAN_LIST)
