"""Streaming readers for JSONL/JSON/CSV/Parquet and a durable JSONL appender.

Readers yield one ``InputRow`` at a time while holding at most one chunk in memory
(JSONL line by line, a ``.json`` array of records item by item, CSV through pandas
``chunksize``, Parquet through pyarrow ``iter_batches``), so memory does not grow with the
file. A row whose text cannot be read
still yields an ``InputRow`` with ``error`` set, so every input row gets exactly one result.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._exceptions import ConfigError, DatasetError
from ._files import create_exclusive

__all__ = [
    "InputRow",
    "JsonlAppender",
    "count_lines",
    "count_rows",
    "csv_errors",
    "input_format",
    "is_json_array",
    "iter_rows",
    "json_array_items",
    "json_line",
    "list_names",
    "not_utf8",
    "parquet_file",
]

_BOM = b"\xef\xbb\xbf"
_JSON_CHUNK = 1 << 20  # bytes read at a time from a .json array
_JSON_SPACE = " \t\n\r"
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")  # a byte that was not UTF-8 (surrogateescape)

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


def not_utf8(where: str) -> str:
    """The error of a row that is not UTF-8 text (it never quotes the bytes)."""
    return (
        f"row is not valid UTF-8 text ({where}); if the file is Latin-1, convert it, "
        "e.g. iconv -f latin1 -t utf-8"
    )


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
        if p.is_dir():
            raise DatasetError(f"input path {p} is a folder, not a file")
        raise DatasetError(f"input file not found: {p}")
    fmt = input_format(p)
    if fmt == "jsonl" and is_json_array(p):
        return _iter_json_array(p, text_column, id_column)
    if fmt == "jsonl":
        return _iter_jsonl(p, text_column, id_column)
    if fmt == "parquet":
        return _iter_parquet(p, text_column, id_column, chunk_size)
    return _iter_csv(p, text_column, id_column, chunk_size, sep="\t" if fmt == "tsv" else ",")


_LISTED_COLUMNS = 20  # column names a missing-column error lists
_NAME_CHARS = 40  # characters of each listed name


def _check_columns(columns: list[str], wanted: list[str], path: Path) -> None:
    """DatasetError naming a ``wanted`` column that is not in ``columns``, and listing the
    ones there are (their names only, shortened, never a value)."""
    for col in wanted:
        if col not in columns:
            raise DatasetError(
                f"column {col!r} not found in {path.name}; its columns: {list_names(columns)}",
                column=col,
            )


def list_names(names: list[Any]) -> str:
    """``"'id', 'text'"``: column or field names for an error message, at most 20, each
    shortened to 40 characters (names only: a message never holds a value)."""
    shown = [str(n) for n in names[:_LISTED_COLUMNS]]
    text = ", ".join(
        repr(n if len(n) <= _NAME_CHARS else n[: _NAME_CHARS - 3] + "...") for n in shown
    )
    if len(names) > _LISTED_COLUMNS:
        text += f" and {len(names) - _LISTED_COLUMNS} more"
    return text or "(none)"


def is_json_array(path: Path) -> bool:
    """True for a ``.json`` file whose content is a JSON array (``[`` first, after a BOM
    and whitespace); other ``.json`` files are read as JSON lines."""
    if path.suffix.lower() != ".json":
        return False
    with path.open("rb") as fh:
        head = fh.read(4096)
        while head and not head.lstrip(_BOM + _JSON_SPACE.encode()):
            head = fh.read(4096)  # only whitespace so far
    return head.lstrip(_BOM + _JSON_SPACE.encode()).startswith(b"[")


def _record_row(
    record: Any, index: int, text_column: str, id_column: str | None, bad: str | None
) -> InputRow:
    """The row of one decoded record; ``bad`` is the row's error when it is not an object."""
    if not isinstance(record, dict):
        return InputRow(index, None, None, bad)
    row_id = _json_id(record.get(id_column)) if id_column else None
    if text_column not in record:
        return InputRow(index, row_id, None, f"row has no {text_column!r} field")
    return InputRow(index, row_id, record[text_column])


def _iter_json_array(path: Path, text_column: str, id_column: str | None) -> Iterator[InputRow]:
    """Rows of a ``.json`` file holding one JSON array of records, decoded item by item.

    Only the item being decoded and one block of the file are held. An item that is not
    an object is a row with ``error``; text that is not UTF-8 is a row error as in CSV. A
    syntax error leaves nothing to resynchronise on, so it is a ``DatasetError`` naming the
    file and the item (the rows before it are masked).
    """
    items = _JsonArrayItems(path)
    checked = False
    for index, record in enumerate(items):
        if not checked and isinstance(record, dict):  # the first record decides the columns
            _check_columns(list(record), [text_column, *([id_column] if id_column else [])], path)
            checked = True
        bad = f"input item {index + 1} of the JSON array is not a JSON object"
        row = _record_row(record, index, text_column, id_column, bad)
        if isinstance(row.text, str) and _ESCAPED_BYTE.search(row.text):
            row = InputRow(index, row.id, None, not_utf8(f"item {index + 1}"))
        yield row


def json_array_items(path: Path) -> Iterator[Any]:
    """The items of a file holding one JSON array, decoded one at a time (a syntax error is
    a ``DatasetError`` naming the file and the item)."""
    return iter(_JsonArrayItems(path))


class _JsonArrayItems:
    """Iterate the items of a file holding one JSON array, one block read at a time."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._utf8 = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        self._buf = ""
        self._pos = 0
        self._eof = False

    def _fill(self, fh: Any) -> bool:
        """Read one more block; False at the end of the file."""
        if self._eof:
            return False
        block = fh.read(_JSON_CHUNK)
        self._eof = not block
        self._buf = self._buf[self._pos :] + self._utf8.decode(block, final=self._eof)
        self._pos = 0
        return not self._eof

    def _next_char(self, fh: Any) -> str:
        """The next character that is not JSON whitespace ("" at the end), not consumed."""
        while True:
            while self._pos < len(self._buf) and self._buf[self._pos] in _JSON_SPACE:
                self._pos += 1
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._fill(fh):
                return ""

    def _decode(self, fh: Any, decoder: json.JSONDecoder, item: int) -> Any:
        """Decode the item at the current position, reading blocks until it is whole."""
        while True:  # an item may span blocks; a number may end at a block's end
            try:
                value, end = decoder.raw_decode(self._buf, self._pos)
            except (ValueError, RecursionError):
                if self._eof:
                    raise self._bad(item, "is not valid JSON (or the file is cut)") from None
                self._fill(fh)  # shifts the buffer: decode again
                continue
            if end < len(self._buf) or self._eof:
                self._pos = end
                return value
            self._fill(fh)

    def _bad(self, item: int, what: str) -> DatasetError:
        return DatasetError(f"{self._path.name}: item {item} of the JSON array {what}")

    def __iter__(self) -> Iterator[Any]:
        decoder = json.JSONDecoder()
        with self._path.open("rb") as fh:
            self._fill(fh)
            self._buf = self._buf.removeprefix("\ufeff")
            if self._next_char(fh) != "[":
                raise DatasetError(f"{self._path.name} is not a JSON array")
            self._pos += 1
            item = 0
            if self._next_char(fh) == "]":
                return
            while True:
                item += 1
                if not self._next_char(fh):
                    raise self._bad(item, "is missing: the file ends inside the array")
                yield self._decode(fh, decoder, item)
                sep = self._next_char(fh)
                self._pos += 1
                if sep == "]":
                    return
                if sep != ",":
                    raise self._bad(item, "is not followed by ',' or ']'")


def _iter_jsonl(path: Path, text_column: str, id_column: str | None) -> Iterator[InputRow]:
    """Rows of a JSON-lines file, read as bytes so that one bad line is one bad row.

    A UTF-8 byte-order mark is skipped; a line that is not UTF-8 or not a JSON object
    becomes a row with ``error`` naming its line number.
    """
    index = 0
    checked = False
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if lineno == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]
            if not raw.strip():
                continue
            encoding_error = None
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                line = raw.decode("utf-8", "surrogateescape")  # still read the row's id
                encoding_error = not_utf8(f"line {lineno}, byte {exc.start + 1}")
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):
                error = encoding_error or f"input line {lineno} is not valid JSON"
                yield InputRow(index, None, None, error)
                index += 1
                continue
            if not checked and isinstance(record, dict):  # the first record: columns exist?
                _check_columns(
                    list(record), [text_column, *([id_column] if id_column else [])], path
                )
                checked = True
            bad = encoding_error or f"input line {lineno} is not a JSON object"
            row = _record_row(record, index, text_column, id_column, bad)
            if encoding_error is not None and isinstance(record, dict):
                row = InputRow(index, row.id, None, encoding_error)
            yield row
            index += 1


def _iter_csv(
    path: Path, text_column: str, id_column: str | None, chunk_size: int, *, sep: str
) -> Iterator[InputRow]:
    import pandas as pd

    # Bytes that are not UTF-8 are kept as lone surrogates (surrogateescape), so the rows
    # that hold them become row errors instead of stopping the whole file.
    with csv_errors(path):
        header = pd.read_csv(path, sep=sep, nrows=0, encoding_errors="surrogateescape")
        wanted = [text_column, *([id_column] if id_column else [])]
        _check_columns([str(c) for c in header.columns], wanted, path)
        reader = pd.read_csv(
            path, sep=sep, usecols=wanted, dtype=object, keep_default_na=False,
            chunksize=chunk_size, encoding_errors="surrogateescape",
        )  # fmt: skip
    index = 0
    with reader:
        for chunk in _csv_chunks(reader, path):
            texts = chunk[text_column].tolist()
            ids = chunk[id_column].tolist() if id_column else [None] * len(texts)
            for text, row_id in zip(texts, ids, strict=True):
                if isinstance(text, str) and _ESCAPED_BYTE.search(text):
                    yield InputRow(index, _json_id(row_id), None, not_utf8(f"row {index}"))
                else:
                    yield InputRow(index, _json_id(row_id), text)
                index += 1


def _csv_chunks(reader: Any, path: Path) -> Iterator[Any]:
    """The chunks of a pandas CSV reader, parse errors raised as ``DatasetError``."""
    while True:
        with csv_errors(path):
            try:
                chunk = next(reader)
            except StopIteration:
                return
        yield chunk


@contextlib.contextmanager
def csv_errors(path: Path) -> Iterator[None]:
    """A file pandas cannot parse is a DatasetError naming it, not a crash: an empty file
    (no header: EmptyDataError), an unterminated quote or a row with too many fields
    (ParserError). Their messages may quote the file, so they are named by type only."""
    import pandas as pd

    try:
        yield
    except pd.errors.EmptyDataError:
        raise DatasetError(
            f"could not read {path.name} (EmptyDataError: the file is empty, it has no "
            "header line naming its columns)"
        ) from None
    except pd.errors.ParserError:
        raise DatasetError(
            f"could not parse {path.name} (ParserError: an unterminated quote or a row "
            "with more fields than the header?)"
        ) from None


def _iter_parquet(
    path: Path, text_column: str, id_column: str | None, chunk_size: int
) -> Iterator[InputRow]:
    pf = parquet_file(path)
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


def parquet_file(path: Path) -> Any:
    """``path`` opened as a Parquet file; one that is not Parquet is a DatasetError."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except pa.ArrowException:  # ArrowInvalid: no Parquet footer (empty, truncated, not one)
        raise DatasetError(
            f"could not read {path.name} as Parquet (empty, truncated or not a Parquet file)"
        ) from None


def count_rows(path: str | os.PathLike[str]) -> int | None:
    """Row count when cheap to know (Parquet metadata, JSONL lines), else ``None`` (CSV,
    a JSON array: counting would mean parsing the whole file once more)."""
    p = Path(path)
    fmt = input_format(p)
    if fmt == "parquet":
        with parquet_file(p) as pf:
            return int(pf.metadata.num_rows)
    if fmt == "jsonl" and not is_json_array(p):
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


def json_line(record: dict[str, Any]) -> bytes:
    """``record`` as one UTF-8 JSON line; text that UTF-8 cannot hold (a lone surrogate)
    is written as a JSON escape instead, so writing a record never fails."""
    try:
        return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        return (json.dumps(record) + "\n").encode("ascii")


class JsonlAppender:
    """Append JSON lines; each line is written whole and handed to the OS, ``sync()`` fsyncs.

    ``create=True`` makes a new file (never an existing one or a symlink) with ``mode``;
    otherwise the file must exist. Lines go straight to the file descriptor (no buffer
    that could write part of a line later): a write that fails (a full disk) cuts the
    part of its line that reached the file before it raises, and a killed process leaves
    at most one torn last line, which the checkpoint reader cuts.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, create: bool = False, mode: int = 0o644
    ) -> None:
        self.path = Path(path)
        if create:
            self._fd = create_exclusive(self.path, mode)
        else:
            flags = os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
            self._fd = os.open(self.path, flags | getattr(os, "O_BINARY", 0))
        self._closed = False

    def write(self, record: dict[str, Any]) -> None:
        """Append one record as one line and hand it to the OS (whole, or not at all)."""
        view = memoryview(json_line(record))
        start = os.lseek(self._fd, 0, os.SEEK_END)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, start)
            raise

    def sync(self) -> None:
        """Make what was written durable (survives a machine crash, not just a kill)."""
        os.fsync(self._fd)

    def close(self) -> None:
        """Sync and close."""
        if not self._closed:
            self._closed = True
            try:
                self.sync()
            finally:
                os.close(self._fd)

    def abandon(self) -> None:
        """Close without a sync (after a failure that a sync would repeat)."""
        if not self._closed:
            self._closed = True
            with contextlib.suppress(OSError):
                os.close(self._fd)

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
