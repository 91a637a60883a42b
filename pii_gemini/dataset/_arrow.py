"""Parquet and JSON-lines files read as Arrow record batches: only the needed columns, in
chunks, with pyarrow's multi-threaded readers.

The column names come first (Parquet's schema, a JSONL file's first row), so the schema is
detected before any row is parsed, and only its columns are read. A JSONL file is parsed
against an explicit Arrow schema built from its first row; anything that does not fit it (a
type that changes between rows, a column that only appears later, a malformed line, text
that is not UTF-8) raises
:class:`Unsupported`, and the caller reads the file with pandas instead, which reports what
is wrong the way it always did.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from ._schemas import SCHEMAS, detect_schema

__all__ = ["SPAN_TYPE", "BatchSource", "Unsupported", "open_batches"]

SPAN_TYPE = pa.struct(
    [("value", pa.string()), ("start", pa.int64()), ("end", pa.int64()), ("label", pa.string())]
)
"""One span of a normalised ``privacy_mask`` as Arrow stores it."""

_OPTIONAL = ("span_labels", "language", "id", "uid")  # read when present
_BLOCK_BYTES = 16 << 20  # JSONL read a block of whole lines at a time (bounds the memory)
_PARSE_BYTES = 1 << 20  # ... parsed in pieces of this size by pyarrow's threads
_NOT_SPACE = re.compile(rb"\S")


class Unsupported(Exception):
    """This file cannot be read as Arrow batches; read it with pandas."""


@dataclass(frozen=True)
class BatchSource:
    """A file's schema name, the columns it has, and a way to read them in batches."""

    path: Path
    kind: str  # "parquet" or "jsonl"
    schema: str
    columns: tuple[str, ...]  # the columns to read (the schema's, then optional ones)
    arrow_schema: pa.Schema | None  # explicit JSON schema (None for Parquet)
    rows: int | None  # known up front for Parquet

    def batches(self, batch_rows: int, *, stream: bool = True) -> Iterator[pa.RecordBatch]:
        """The file's rows, ``batch_rows`` at a time (JSONL: a block's worth); reading
        errors become :class:`Unsupported`. ``stream=False`` reads a Parquet file whole
        first (faster, with threads, when all of it is wanted in memory anyway)."""
        try:
            if self.kind == "parquet":
                yield from _parquet_batches(self.path, self.columns, batch_rows, stream)
            else:
                assert self.arrow_schema is not None
                probes = [n for n in self.arrow_schema.names if n not in self.columns]
                yield from _without_probes(_jsonl_batches(self.path, self.arrow_schema), probes)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise Unsupported(type(exc).__name__) from exc


def open_batches(path: Path, suffix: str, forced_schema: str | None) -> BatchSource | None:
    """A :class:`BatchSource` for a ``.parquet`` or plain ``.jsonl`` file, None for other
    files (compressed, CSV, JSON); raises Unsupported when the file's first row or schema
    does not allow it, and DatasetError for an unknown schema."""
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            meta = pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as exc:
            raise Unsupported(type(exc).__name__) from exc
        names = tuple(meta.schema_arrow.names)
        name = detect_schema(list(names), forced_schema)
        return BatchSource(
            path, "parquet", name, _wanted(name, names), None, meta.metadata.num_rows
        )
    if suffix == ".jsonl" and path.suffix.lower() == ".jsonl":
        first = _first_row(path)
        name = detect_schema(list(first), forced_schema)
        columns = _wanted(name, tuple(first))
        fields = [pa.field(c, _arrow_type(c, first[c], name)) for c in columns]
        fields += [pa.field(c, pa.string()) for c in _late_columns(first)]
        return BatchSource(path, "jsonl", name, columns, pa.schema(fields), None)
    return None


def _wanted(schema: str, names: tuple[str, ...]) -> tuple[str, ...]:
    required = SCHEMAS[schema]
    return (*required, *(c for c in _OPTIONAL if c in names and c not in required))


def _first_row(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        for line in fh:
            if line.strip():
                try:
                    row = json.loads(line)
                except ValueError as exc:  # a BOM, bad JSON: pandas says what is wrong
                    raise Unsupported("first line") from exc
                if not isinstance(row, dict):
                    raise Unsupported("first line")
                return row
    raise Unsupported("empty file")


def _late_columns(first: dict[str, Any]) -> list[str]:
    """The optional columns the first row lacks. They are parsed too, as probes: a later row
    that has one means the file is not uniform (pandas reads it then); null throughout,
    they are dropped, as pandas would never have seen them."""
    return [c for c in _OPTIONAL if c not in first and not (c == "uid" and "id" in first)]


def _without_probes(
    batches: Iterator[pa.RecordBatch], probes: list[str]
) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        for name in probes:
            if batch.column(name).null_count != batch.num_rows:
                raise Unsupported(f"column {name} appears after the first row")
        yield batch.drop_columns(probes) if probes else batch


def _arrow_type(column: str, value: object, schema: str) -> pa.DataType:
    """The Arrow type to parse ``column`` as, from its value in the first row."""
    if column == "privacy_mask" and isinstance(value, list) and schema != "legacy":
        return pa.list_(SPAN_TYPE)
    if isinstance(value, str) or value is None:
        return pa.string()
    if isinstance(value, int) and not isinstance(value, bool) and column in ("id", "uid"):
        return pa.int64()
    raise Unsupported(f"column {column}")


def _parquet_batches(
    path: Path, columns: tuple[str, ...], batch_rows: int, stream: bool
) -> Iterator[pa.RecordBatch]:
    import pyarrow.parquet as pq

    if stream:
        yield from pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=list(columns))
    else:
        yield from pq.read_table(path, columns=list(columns)).to_batches(batch_rows)


def _jsonl_batches(path: Path, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """The file in blocks of whole lines, each parsed by pyarrow (with its threads): memory
    stays bounded by the block, however long the file."""
    import pyarrow.json as pj

    parse = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    read = pj.ReadOptions(block_size=_PARSE_BYTES)
    tail = b""
    with path.open("rb") as fh:
        while True:
            block = fh.read(_BLOCK_BYTES)
            data = tail + block if tail else block
            cut = len(data) if not block else data.rfind(b"\n") + 1
            tail = data[cut:]
            if _NOT_SPACE.search(data, 0, cut):  # some line is not blank
                whole_lines = pa.py_buffer(data).slice(0, cut)  # no copy
                table = pj.read_json(pa.BufferReader(whole_lines), read, parse)
                table.validate(full=True)  # Arrow's JSON reader takes any bytes as a string
                yield from table.combine_chunks().to_batches()
            if not block:
                return
