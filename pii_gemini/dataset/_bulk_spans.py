"""Column-wise span checks of Arrow batches: the current schema's lists of spans and the
legacy schema's ``span_labels`` + dict-repr ``privacy_mask``.

Each returns (rows that passed every check, their spans with normalised labels). A row that
fails is only marked: the caller sends it down the careful path, which decides.

* current: types, offsets in range and in order, labels normalised once per distinct label,
  and ``source[start:end] == value`` - as bytes with numpy in ASCII rows (character offsets
  are byte offsets there), in Python elsewhere;
* legacy: ``span_labels`` split and parsed with Arrow string kernels, the values cut from
  the text, and each row's ``privacy_mask`` repr rebuilt from them and compared whole.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._arrow import SPAN_TYPE
from ._spans import known_label

__all__ = ["Bools", "current_spans", "legacy_spans", "nulls", "plain"]

Bools = np.ndarray[Any, np.dtype[np.bool_]]


def plain(array: pa.Array) -> pa.Array:
    """Large and view strings (pandas 3 writes large_string) as plain Arrow strings."""
    if pa.types.is_large_string(array.type) or pa.types.is_string_view(array.type):
        return array.cast(pa.string())
    return array


def nulls(array: pa.Array) -> Bools:
    """Which rows are null, as a numpy mask."""
    if array.null_count == 0:
        return np.zeros(len(array), dtype=bool)
    return np.asarray(array.is_null(), dtype=bool)


def current_spans(mask: pa.Array, source: pa.Array) -> tuple[Bools, pa.ListArray]:
    """(rows whose list-of-spans mask passed every check, their spans with normalised
    labels); a mask of any other type leaves every row to the careful path."""
    n = len(mask)
    empty = pa.array([[]] * n, pa.list_(SPAN_TYPE))
    if not (pa.types.is_list(mask.type) or pa.types.is_large_list(mask.type)):
        return np.zeros(n, dtype=bool), empty
    item = mask.type.value_type
    needed = ("value", "start", "end", "label")
    if not pa.types.is_struct(item) or any(item.get_field_index(f) < 0 for f in needed):
        return np.zeros(n, dtype=bool), empty
    flat = mask.flatten()
    parents = np.asarray(pc.list_parent_indices(mask), dtype=np.int64)
    bad = nulls(mask).copy()
    cols = {f: plain(flat.field(f)) for f in needed}
    for col in cols.values():
        if col.null_count:
            bad[parents[np.asarray(col.is_null(), bool)]] = True
    value, label = cols["value"], cols["label"]
    if not (pa.types.is_string(value.type) and pa.types.is_string(label.type)):
        return np.zeros(n, dtype=bool), empty
    if not all(pa.types.is_integer(cols[f].type) for f in ("start", "end")):
        return np.zeros(n, dtype=bool), empty
    start = np.asarray(cols["start"].cast(pa.int64()).fill_null(0), dtype=np.int64)
    end = np.asarray(cols["end"].cast(pa.int64()).fill_null(0), dtype=np.int64)
    starts, ends = _check_offsets(start, end, parents, source, bad)
    labels = _normalised_labels(label.fill_null(""), parents, bad)
    _check_values(source, value.fill_null(""), starts, ends, parents, bad)
    lengths = np.asarray(pc.list_value_length(mask).fill_null(0), dtype=np.int32)
    spans = pa.StructArray.from_arrays(
        [value, pa.array(starts), pa.array(ends), labels], fields=list(SPAN_TYPE)
    )
    return ~bad, _lists(lengths, spans)


def _check_offsets(
    start: np.ndarray[Any, Any],
    end: np.ndarray[Any, Any],
    parents: np.ndarray[Any, Any],
    source: pa.Array,
    bad: Bools,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Offsets in range and in order within each row (rows failing are marked ``bad``)."""
    length = np.asarray(pc.utf8_length(source).fill_null(-1), dtype=np.int64)
    wrong = (start < 0) | (end < start) | (end > length[parents])
    same_row = parents[1:] == parents[:-1]
    wrong[1:] |= same_row & (start[1:] < start[:-1])  # unordered: the careful path sorts
    bad[parents[wrong]] = True
    return start, end


def _normalised_labels(label: pa.Array, parents: np.ndarray[Any, Any], bad: Bools) -> pa.Array:
    """Labels normalised once per distinct label; rows with an invalid one are ``bad``."""
    encoded = label.dictionary_encode()
    mapped = [known_label(v) for v in encoded.dictionary.to_pylist()]
    invalid = np.array([m is None for m in mapped], dtype=bool)
    indices = np.asarray(encoded.indices, dtype=np.int64)
    if invalid.any():
        bad[parents[invalid[indices]]] = True
    return pa.array([m or "" for m in mapped], pa.string()).take(pa.array(indices))


def _check_values(
    source: pa.Array,
    value: pa.Array,
    start: np.ndarray[Any, Any],
    end: np.ndarray[Any, Any],
    parents: np.ndarray[Any, Any],
    bad: Bools,
) -> None:
    """Mark rows where some ``source[start:end] != value``.

    Where the text is ASCII up to a span's end, character offsets are byte offsets: those
    spans (all of an ASCII row's, and those before a row's first non-ASCII character) are
    compared as bytes with numpy, all at once; the others in Python. Rows already ``bad``
    are not compared: their offsets may point past the text (and past the buffer).
    """
    if not len(parents):
        return
    checked = ~bad[parents]
    by_bytes = (end <= _ascii_prefix(source)[parents]) & checked
    if by_bytes.any():
        differ = _bytes_differ(source, value, start, end, parents, by_bytes)
        bad[parents[by_bytes][differ]] = True
    rest = np.flatnonzero(~by_bytes & checked)
    if not len(rest):
        return
    rows = parents[rest]
    values = value.take(pa.array(rest)).to_pylist()
    differ_rest = [
        t is None or t[s:e] != v
        for t, s, e, v in zip(
            _texts_of(source, rows), start[rest].tolist(), end[rest].tolist(), values,
            strict=True,
        )
    ]  # fmt: skip
    if any(differ_rest):
        bad[rows[np.array(differ_rest, dtype=bool)]] = True


def _ascii_prefix(source: pa.Array) -> np.ndarray[Any, Any]:
    """How many characters of each text are ASCII from its start (the whole length for an
    ASCII text, -1 for a missing one)."""
    length = np.asarray(pc.utf8_length(source).fill_null(-1), dtype=np.int64)
    ascii_rows = np.asarray(pc.string_is_ascii(source).fill_null(True), dtype=bool)
    other = np.flatnonzero(~ascii_rows)
    if len(other):  # before the first non-ASCII character, a byte index is a character one
        first = pc.find_substring_regex(source.take(pa.array(other)), "[^\\x00-\\x7f]")
        length[other] = np.asarray(first, dtype=np.int64)
    return length


def _texts_of(source: pa.Array, rows: np.ndarray[Any, Any]) -> list[str | None]:
    """``source[row]`` for each of ``rows`` (ascending, repeated), as Python strings: only
    the rows named are converted, each once."""
    unique, index = np.unique(rows, return_inverse=True)
    texts: list[str | None] = source.take(pa.array(unique)).to_pylist()
    return [texts[i] for i in index.tolist()]


def _bytes_differ(
    source: pa.Array,
    value: pa.Array,
    start: np.ndarray[Any, Any],
    end: np.ndarray[Any, Any],
    parents: np.ndarray[Any, Any],
    chosen: Bools,
) -> Bools:
    """For the ``chosen`` spans (in ASCII rows), whether the value's bytes differ from the
    source's bytes at [start, end)."""
    src_off, src_data = _buffers(source)
    val_off, val_data = _buffers(value)
    idx = np.flatnonzero(chosen)
    lo = val_off[idx]
    length = val_off[idx + 1] - lo
    differ: Bools = length != (end[idx] - start[idx])  # a different length differs
    same = np.flatnonzero(~differ & (length > 0))
    if len(same):
        n = length[same]
        first = np.zeros(len(same), dtype=np.int64)  # where each span's bytes start in T
        np.cumsum(n[:-1], out=first[1:])
        total = int(first[-1] + n[-1])
        small = np.int32 if max(len(src_data), len(val_data)) < 2**31 else np.int64
        if total == int(val_off[-1] - val_off[0]) and len(same) == len(val_off) - 1:
            values = val_data[val_off[0] : val_off[-1]]  # every span: the bytes as they lie
        else:
            values = val_data[_runs(lo[same], n, first, total, small)]
        sources = src_data[_runs(src_off[parents[idx[same]]] + start[idx[same]], n, first, total,
                                 small)]  # fmt: skip
        differ[same] = np.logical_or.reduceat(values != sources, first)
    return differ


def _runs(
    at: np.ndarray[Any, Any],
    n: np.ndarray[Any, Any],
    first: np.ndarray[Any, Any],
    total: int,
    small: type[np.signedinteger[Any]],
) -> np.ndarray[Any, Any]:
    """The byte positions at[i], at[i] + 1, ..., at[i] + n[i] - 1 of every run, in one array
    (``first``: where each run starts in it): one cumulative sum over steps of 1 that jump
    to the next run's start."""
    steps = np.ones(total, dtype=small)
    steps[0] = at[0]
    steps[first[1:]] = (at[1:] - (at[:-1] + n[:-1] - 1)).astype(small)
    return np.cumsum(steps, dtype=small)


def _buffers(array: pa.Array) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(offsets, bytes) of a string array, as numpy views (the array's slice offset applied)."""
    _, offsets, data = array.buffers()
    off = np.frombuffer(offsets, dtype=np.int32)[array.offset : array.offset + len(array) + 1]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return off.astype(np.int64), raw


def _lists(lengths: np.ndarray[Any, Any], items: pa.Array) -> pa.ListArray:
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), items, type=pa.list_(SPAN_TYPE))


def legacy_spans(
    batch: pa.RecordBatch, source: pa.Array, mask_col: str
) -> tuple[Bools, pa.ListArray]:
    """Legacy rows: offsets from ``span_labels``, accepted when the values they cut from the
    text rebuild the row's ``privacy_mask`` repr exactly (what the dataset wrote)."""
    n = batch.num_rows
    empty = pa.array([[]] * n, pa.list_(SPAN_TYPE))
    names = batch.schema.names
    mask = batch.column(mask_col)
    if "span_labels" not in names or not pa.types.is_string(mask.type):
        return np.zeros(n, dtype=bool), empty
    labels = batch.column("span_labels")
    if not pa.types.is_string(labels.type):
        return np.zeros(n, dtype=bool), empty
    items = pc.split_pattern(labels.fill_null(""), "], [")
    parents = np.asarray(pc.list_parent_indices(items), dtype=np.int64)
    parsed, start, end, name = _legacy_items(items.flatten())
    bad = nulls(labels) | nulls(mask)
    bad[parents[~parsed]] = True
    pii = parsed & np.asarray(pc.not_equal(name, "O"), dtype=bool)
    parents = parents[pii]
    name = name.filter(pa.array(pii))
    start, end = start[pii], end[pii]
    _check_offsets(start, end, parents, source, bad)
    value = _cut(source, start, end, parents, bad)
    entry = pc.binary_join_element_wise("'[", name, "]': ", _reprs(value), "")
    lengths = np.bincount(parents, minlength=n).astype(np.int32)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), entry), ", ")
    expected = pc.binary_join_element_wise("{", joined, "}", "")
    bad |= ~np.asarray(pc.equal(expected, mask).fill_null(False), dtype=bool)
    labels_out = _normalised_labels(name, parents, bad)
    spans = pa.StructArray.from_arrays(
        [value, pa.array(start), pa.array(end), labels_out], fields=list(SPAN_TYPE)
    )
    return ~bad, _lists(lengths, spans)


# "[[0, 5, 'O'" / "5, 8, 'NAME_1'": offsets of at most 18 digits (longer ones do not fit int64:
# the careful path reports them)
_LEGACY_ITEM = r"^\[*(?P<s>\d{1,18}), (?P<e>\d{1,18}), '(?P<l>[A-Za-z0-9_]+)'\]*$"


def _legacy_items(
    items: pa.Array,
) -> tuple[Bools, np.ndarray[Any, Any], np.ndarray[Any, Any], pa.Array]:
    """(parsed, start, end, label) of each ``span_labels`` item in the canonical form (what
    the dataset wrote); items that are not canonical get 0, 0, "O" and ``parsed`` False."""
    parts = pc.extract_regex(items, _LEGACY_ITEM)
    parsed = ~np.asarray(parts.is_null(), dtype=bool)
    keep = pa.array(parsed)  # a struct's fields do not carry its nulls: mask them here
    start = np.asarray(pc.if_else(keep, parts.field("s"), "0").cast(pa.int64()), dtype=np.int64)
    end = np.asarray(pc.if_else(keep, parts.field("e"), "0").cast(pa.int64()), dtype=np.int64)
    return parsed, start, end, pc.if_else(keep, parts.field("l"), "O")


def _cut(
    source: pa.Array,
    start: np.ndarray[Any, Any],
    end: np.ndarray[Any, Any],
    parents: np.ndarray[Any, Any],
    bad: Bools,
) -> pa.Array:
    """``source[parent][start:end]`` of each span ("" in ``bad`` rows): bytes gathered with
    numpy in ASCII rows (character offsets are byte offsets there), Python slices elsewhere."""
    ascii_rows = np.asarray(pc.string_is_ascii(source).fill_null(False), dtype=bool)
    wanted = ~bad[parents]
    by_bytes = wanted & ascii_rows[parents]
    size = np.where(by_bytes, end - start, 0)
    offsets = np.zeros(len(size) + 1, dtype=np.int64)
    np.cumsum(size, out=offsets[1:])
    src_off, src_data = _buffers(source)
    runs = np.flatnonzero(size)
    data = np.zeros(0, np.uint8)
    if len(runs):
        small = np.int32 if len(src_data) < 2**31 else np.int64
        at = src_off[parents[runs]] + start[runs]
        data = src_data[_runs(at, size[runs], offsets[runs], int(offsets[-1]), small)]
    width, kind = (np.int32, pa.string()) if offsets[-1] < 2**31 else (np.int64, pa.large_string())
    value = pa.Array.from_buffers(
        kind, len(size), [None, pa.py_buffer(offsets.astype(width)), pa.py_buffer(data)]
    ).cast(pa.string())
    rest = np.flatnonzero(wanted & ~by_bytes)
    if not len(rest):
        return value
    texts = _texts_of(source, parents[rest])
    cut = [(t or "")[a:b] for t, a, b in zip(texts, start[rest].tolist(), end[rest].tolist(),
                                               strict=True)]  # fmt: skip
    mask = np.zeros(len(size), dtype=bool)
    mask[rest] = True
    return pc.replace_with_mask(value, pa.array(mask), pa.array(cut, pa.string()))


_NOT_PLAIN = r"['\\\x00-\x1f\x7f]"  # repr() of an ASCII string quotes it as is, but these


def _reprs(value: pa.Array) -> pa.Array:
    """``repr(v)`` of each value: ``'v'`` for plain ASCII, Python's repr for the others."""
    quoted = pc.binary_join_element_wise("'", value, "'", "")
    odd = pc.or_(pc.invert(pc.string_is_ascii(value)), pc.match_substring_regex(value, _NOT_PLAIN))
    if not pc.any(odd).as_py():
        return quoted
    reprs = [repr(v) for v in value.filter(odd).to_pylist()]
    return pc.replace_with_mask(quoted, odd, pa.array(reprs, pa.string()))
