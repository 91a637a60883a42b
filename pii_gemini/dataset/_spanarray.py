"""The ``privacy_mask`` column of a loaded frame: spans checked in Arrow, handed out as dicts.

A 200k-row dataset holds about a million spans. They are built and checked column-wise as
one Arrow ``list<struct<value, start, end, label>>`` array; the frame's column is a plain
object column of lists of ``{"value", "start", "end", "label"}`` dicts, converted from that
array column-wise with the cyclic GC paused (it would rescan every dict made, 2x).

An extension dtype that kept the spans in Arrow and built dicts on access was tried (issue
17) and dropped: files it saved with ``to_parquet`` could not be read by pandas without
importing this package, cells could not be assigned, ``.str`` was gone. A loaded frame must
behave as any pandas frame.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._arrow import SPAN_TYPE

__all__ = ["SPAN_LIST", "span_series", "spans_from_dicts"]

SPAN_LIST = pa.list_(SPAN_TYPE)
"""A row's spans as Arrow stores them."""


def span_series(spans: pa.Array | pa.ChunkedArray) -> pd.Series:
    """An object Series (fresh RangeIndex) of lists of span dicts, one per row of ``spans``.

    Built from the four flattened fields, column-wise, with the GC paused: one ``str`` object
    per distinct label shared by every span (a million spans, a few dozen labels), numbers
    through numpy, the rows cut by the list offsets.
    """
    mask = spans.combine_chunks() if isinstance(spans, pa.ChunkedArray) else spans
    flat = mask.flatten()
    labels = flat.field("label").dictionary_encode()
    names = labels.dictionary.to_pylist()
    columns = [
        flat.field("value").to_pylist(),
        np.asarray(flat.field("start")).tolist(),
        np.asarray(flat.field("end")).tolist(),
        list(map(names.__getitem__, np.asarray(labels.indices).tolist())),
    ]
    lengths = np.asarray(pc.list_value_length(mask).fill_null(0), dtype=np.int64)
    bounds = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=bounds[1:])
    enabled = gc.isenabled()
    gc.disable()
    try:
        made = [
            {"value": v, "start": s, "end": e, "label": lb}
            for v, s, e, lb in zip(*columns, strict=True)
        ]
        rows = [made[a:b] for a, b in pairwise(bounds.tolist())]
    finally:
        if enabled:
            gc.enable()
    # fromiter: each row one object (assigning a list of equal-length lists would make 2-D)
    values = np.fromiter(rows, dtype=object, count=len(rows))
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
