"""Prepared rows as JSON lines, encoded column-wise with Arrow string kernels.

A string is JSON-escaped only where it needs it (a quote, a backslash or a control
character: found with one regex kernel over the column, escaped by Python's own encoder for
those rows only); every line is then one element-wise concatenation of the escaped columns
and the literal keys, and a whole batch is written as one buffer.
"""

from __future__ import annotations

from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["escaped", "json_lines", "write_lines"]

_NEEDS_ESCAPE = r'["\\\x00-\x1f]'


def escaped(array: pa.Array) -> pa.Array:
    """The JSON string escape of each value, without the surrounding quotes (nulls stay)."""
    needs = pc.match_substring_regex(array, _NEEDS_ESCAPE).fill_null(False)
    if not pc.any(needs).as_py():
        return array
    rows = array.filter(needs).to_pylist()
    fixed = pa.array([encode_basestring(v)[1:-1] for v in rows], pa.string())
    return pc.replace_with_mask(array, needs, fixed)


def _literal(text: str) -> str:
    return str(encode_basestring(text)[1:-1])


def _quoted(array: pa.Array, prefix: str = "", suffix: str = "") -> pa.Array:
    """``"prefix+value+suffix"`` as JSON, null values as ``null``."""
    body = pc.binary_join_element_wise(
        '"' + _literal(prefix), escaped(array), _literal(suffix) + '"', ""
    )
    if array.null_count:
        body = pc.if_else(array.is_null(), "null", body)
    return body


def _span_lists(mask: pa.Array) -> pa.Array:
    """``privacy_mask`` (list of value/start/end/label structs) as JSON arrays."""
    flat = mask.flatten()
    items = pc.binary_join_element_wise(
        '{"value":"', escaped(flat.field("value")),
        '","start":', flat.field("start").cast(pa.string()),
        ',"end":', flat.field("end").cast(pa.string()),
        ',"label":"', escaped(flat.field("label")), '"}', "",
    )  # fmt: skip
    lengths = np.asarray(pc.list_value_length(mask).fill_null(0), dtype=np.int32)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), items), ",")
    return pc.binary_join_element_wise("[", joined, "]", "")


def json_lines(table: pa.Table, prompt: tuple[str, str], output: pa.Array) -> pa.Array:
    """One JSON line (with its newline) per row of a normalised table, keys in the order of
    the prepared files: the normalised columns, ``text_input`` (``prompt`` is the text
    before and after the input) and ``output``."""
    source = table.column("source_text").combine_chunks()
    parts: list[Any] = []
    for key, value in (
        ("id", _quoted(table.column("id").combine_chunks())),
        ("source_text", _quoted(source)),
        ("target_text", _quoted(table.column("target_text").combine_chunks())),
        ("privacy_mask", _span_lists(table.column("privacy_mask").combine_chunks())),
        ("language", _quoted(table.column("language").combine_chunks())),
        ("text_input", _quoted(source, *prompt)),
        ("output", _quoted(output)),
    ):
        parts += [("{" if not parts else ",") + f'"{key}":', value]
    parts.append("}\n")
    return pc.binary_join_element_wise(*parts, "")


def write_lines(lines: pa.Array, fh: IO[bytes]) -> list[int]:
    """Write the lines as one buffer; returns each line's length in bytes."""
    if not len(lines):
        return []
    _, offsets_buf, data = lines.buffers()
    width = np.int64 if pa.types.is_large_string(lines.type) else np.int32
    offsets = np.frombuffer(offsets_buf, dtype=width)[lines.offset : lines.offset + len(lines) + 1]
    fh.write(memoryview(data)[int(offsets[0]) : int(offsets[-1])])
    sizes: list[int] = np.diff(offsets).tolist()
    return sizes
