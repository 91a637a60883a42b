"""Streaming readers for JSONL/CSV/Parquet and a durable JSONL appender.

Readers yield one ``InputRow`` at a time while holding at most one chunk in memory
(JSONL line by line, CSV through pandas ``chunksize``, Parquet through pyarrow
``iter_batches``), so memory does not grow with the file. A row whose text cannot be read
still yields an ``InputRow`` with ``error`` set, so every input row gets exactly one result.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ._exceptions import ConfigError, DatasetError

__all__ = ["InputRow", "JsonlAppender", "count_lines", "count_rows", "input_format", "iter_rows"]

_FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


@dataclass(frozen=True)
class InputRow:
    """One input row: its position, optional id, and its text (or why it has none)."""

    index: int
    id: Any
    text: Any = field(repr=False)
    error: str | None = None


def input_format(path: Path) -> str:
    """``"jsonl"``, ``"csv"``, ``"tsv"`` or ``"parquet"`` from the file suffix."""
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(_FORMATS))
        raise ConfigError(
            f"unsupported input file type {path.suffix!r} for {path.name}; use {known}"
        )
    return fmt


def _json_id(value: Any) -> Any:
    """Ids are written to JSON: keep str/int/float/None, stringify anything else."""
    if value is None or isinstance(value, (str, int, float)):
        return value
    return str(value)


def iter_rows(
    path: str | os.PathLike[str],
    text_column: str,
    id_column: str | None = None,
    *,
    chunk_size: int = 1000,
) -> Iterator[InputRow]:
    """Stream the rows of ``path``; raise ``DatasetError`` naming a missing column."""
    p = Path(path)
    if not p.is_file():
        raise DatasetError(f"input file not found: {p}")
    fmt = input_format(p)
    if fmt == "jsonl":
        return _iter_jsonl(p, text_column, id_column)
    if fmt == "parquet":
        return _iter_parquet(p, text_column, id_column, chunk_size)
    return _iter_csv(p, text_column, id_column, chunk_size, sep="\t" if fmt == "tsv" else ",")


def _check_columns(columns: list[str], wanted: list[str], path: Path) -> None:
    for col in wanted:
        if col not in columns:
            raise DatasetError(f"column {col!r} not found in {path.name}", column=col)


def _iter_jsonl(path: Path, text_column: str, id_column: str | None) -> Iterator[InputRow]:
    index = 0
    checked = False
    with path.open("r", encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                yield InputRow(index, None, None, "input row is not valid JSON")
                index += 1
                continue
            if not isinstance(record, dict):
                yield InputRow(index, None, None, "input row is not a JSON object")
                index += 1
                continue
            if not checked:  # the first record decides whether the columns exist at all
                _check_columns(
                    list(record), [text_column, *([id_column] if id_column else [])], path
                )
                checked = True
            row_id = _json_id(record.get(id_column)) if id_column else None
            if text_column not in record:
                yield InputRow(index, row_id, None, f"row has no {text_column!r} field")
            else:
                yield InputRow(index, row_id, record[text_column])
            index += 1


def _iter_csv(
    path: Path, text_column: str, id_column: str | None, chunk_size: int, *, sep: str
) -> Iterator[InputRow]:
    import pandas as pd

    header = pd.read_csv(path, sep=sep, nrows=0)
    wanted = [text_column, *([id_column] if id_column else [])]
    _check_columns([str(c) for c in header.columns], wanted, path)
    index = 0
    reader = pd.read_csv(
        path, sep=sep, usecols=wanted, dtype=str, keep_default_na=False, chunksize=chunk_size
    )
    with reader:
        for chunk in reader:
            texts = chunk[text_column].tolist()
            ids = chunk[id_column].tolist() if id_column else [None] * len(texts)
            for text, row_id in zip(texts, ids, strict=True):
                yield InputRow(index, _json_id(row_id), text)
                index += 1


def _iter_parquet(
    path: Path, text_column: str, id_column: str | None, chunk_size: int
) -> Iterator[InputRow]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    wanted = [text_column, *([id_column] if id_column else [])]
    _check_columns(list(pf.schema_arrow.names), wanted, path)
    index = 0
    try:
        for batch in pf.iter_batches(batch_size=chunk_size, columns=wanted):
            texts = batch.column(text_column).to_pylist()
            ids = batch.column(id_column).to_pylist() if id_column else [None] * len(texts)
            for text, row_id in zip(texts, ids, strict=True):
                yield InputRow(index, _json_id(row_id), text)
                index += 1
    finally:
        pf.close()


def count_rows(path: str | os.PathLike[str]) -> int | None:
    """Row count when cheap to know (Parquet metadata, JSONL lines), else ``None``."""
    p = Path(path)
    fmt = input_format(p)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        with pq.ParquetFile(p) as pf:
            return int(pf.metadata.num_rows)
    if fmt == "jsonl":
        return count_lines(p)
    return None


def count_lines(path: Path) -> int:
    """Non-empty lines in ``path`` (read in blocks, constant memory)."""
    count = 0
    with path.open("rb") as fh:
        for line in fh:
            if line.strip():
                count += 1
    return count


class JsonlAppender:
    """Append JSON lines; each line is written whole and flushed, ``sync()`` fsyncs.

    A killed process leaves at most one torn last line, which the checkpoint reader cuts.
    """

    def __init__(self, path: str | os.PathLike[str], *, truncate: bool = False) -> None:
        self.path = Path(path)
        self._fh: IO[str] = self.path.open("w" if truncate else "a", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        """Append one record as one line and hand it to the OS."""
        self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._fh.flush()

    def sync(self) -> None:
        """Make what was written durable (survives a machine crash, not just a kill)."""
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        """Sync and close."""
        if not self._fh.closed:
            self.sync()
            self._fh.close()

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
