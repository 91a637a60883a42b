"""``unmask_file``: put the original values back into a masked file, with its own vault only.

A file of records is read record by record and only its ``column`` is rewritten: JSON lines
(``.jsonl``/``.ndjson``, or a ``.json`` whose first line is a JSON object: the output of
``mask_file``, whatever its suffix), and that output re-saved as a ``.json`` array of
objects, a CSV/TSV file or Parquet (a ``.json`` array or CSV/TSV file that has neither
``column`` nor a ``vault`` field is text). ``OUT`` is written in ``IN``'s format; an ``OUT``
named for another format is refused. A record's ``tokens`` limit what is filled to the tokens
issued for it; its ``vault`` names the vault it was masked with, and **a record naming another
vault stops the whole file** (``VaultMismatchError``, nothing written): tokens are numbered
per vault, so another vault would fill them with other people's values. Records that name no
vault (written before vault ids, or not by ``mask_file``) and plain text files cannot be
checked: they are unmasked and counted (``UnmaskSummary.unverified``) for the caller to warn.

The result holds raw PII: it is written 0600, atomically, through a temp file created
exclusively; an existing output is refused unless ``force=True``. Messages name files, record
numbers and vault ids, never a value.
"""

from __future__ import annotations

import ast
import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ._exceptions import ConfigError, DatasetError, VaultMismatchError
from ._files import atomic_write
from ._io import (
    csv_errors,
    is_json_array,
    json_array_items,
    json_line,
    list_names,
    parquet_file,
)
from .vault import Vault, short_id

__all__ = ["UnmaskSummary", "unmask_file"]

_JSONL_SUFFIXES = (".jsonl", ".ndjson")
_PARQUET_SUFFIXES = (".parquet", ".pq")
#: The formats of a file of records, as messages name them, and the suffixes OUT may have.
_FORMATS = {
    "jsonl": ("JSON lines", (*_JSONL_SUFFIXES, ".json")),
    "json": ("a JSON array", (".json",)),
    "csv": ("CSV", (".csv",)),
    "tsv": ("TSV", (".tsv",)),
    "parquet": ("Parquet", _PARQUET_SUFFIXES),
}
_CHUNK_ROWS = 1000  # CSV and Parquet rows held at a time
_TORN = (
    " (its last line, cut short: a masking run killed mid-write? run the same mask command "
    "again to resume it, then unmask)"
)


@dataclass(frozen=True)
class UnmaskSummary:
    """What ``unmask_file`` did.

    ``rows`` records written (0 for a text file), ``restored`` tokens filled, ``left``
    placeholder-like strings left (not issued for their text, or unknown to the vault),
    ``unscoped`` records without ``tokens`` (any token of the vault was filled),
    ``unverified`` records (or 1 for a text file) that name no vault, so the vault could not
    be checked; ``format`` what ``OUT`` was written as (IN's: "JSON lines", "a JSON array",
    "CSV", "TSV", "Parquet", or "text").
    """

    rows: int = 0
    restored: int = 0
    left: int = 0
    unscoped: int = 0
    unverified: int = 0
    text: bool = False
    format: str = "JSON lines"

    def __str__(self) -> str:
        out = f"{self.restored} restored, {self.left} left"
        if self.left:
            out += " (placeholder-like strings the vault did not issue for their text)"
        if self.unscoped:
            out += (
                f"; {self.unscoped} rows had no `tokens` field: any token of the vault was filled"
            )
        return out


def unmask_file(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    vault_path: str | os.PathLike[str],
    *,
    column: str = "masked_text",
    force: bool = False,
) -> UnmaskSummary:
    """Restore the values behind the vault's tokens in ``input_path`` into ``output_path``.

    See the module doc: a record masked with another vault than ``vault_path`` raises
    ``VaultMismatchError`` (a ``DatasetError``) naming both files; a bad record or column is
    a ``DatasetError``; a missing or unreadable vault, ``output_path`` equal to the input or
    the vault, or named for another format than the input's, a ``ConfigError``.
    """
    src, dst, vault_file = Path(input_path), Path(output_path), Path(vault_path)
    if not src.is_file():
        if src.is_dir():
            raise DatasetError(f"input path {src} is a folder, not a file")
        raise DatasetError(f"input file not found: {src}")
    if dst.exists() and dst.resolve() == src.resolve():
        raise ConfigError("the output must differ from the input")
    if dst.exists() and dst.resolve() == vault_file.resolve():
        raise ConfigError("the output must differ from the vault")
    if dst.is_dir():
        raise DatasetError(f"output path {dst} is a folder, not a file")
    if (dst.exists() or dst.is_symlink()) and not force:
        raise DatasetError(
            f"output file {dst} already exists; choose a new path, or pass force=True "
            "(--force) to replace it"
        )
    fmt = _records_format(src, column)
    if fmt is not None:
        _check_output_suffix(src, dst, fmt)
    vault = Vault.load(vault_file)
    dst.parent.mkdir(parents=True, exist_ok=True)
    restorer = _Restorer(vault, src.name, vault_file.name, column)
    with atomic_write(dst, mode=0o600) as out:
        if fmt is not None:
            _UNMASKERS[fmt](src, out, restorer)
        else:
            try:
                text = src.read_bytes().decode("utf-8")
            except UnicodeDecodeError:
                raise DatasetError(f"{src.name} is not UTF-8 text") from None
            result = vault.restore(text)
            out.write(result.text.encode("utf-8", "surrogatepass"))
            return UnmaskSummary(0, result.restored, result.left, 0, 1, text=True, format="text")
    c = restorer.counts
    return UnmaskSummary(
        c["rows"], c["restored"], c["left"], c["unscoped"], c["unverified"],
        format=_FORMATS[fmt][0],
    )  # fmt: skip


def _records_format(src: Path, column: str) -> str | None:
    """The format of ``src`` as a file of records (a ``_FORMATS`` key), None for text.

    JSON lines and Parquet by suffix; a ``.json`` file whose first line is an object is
    JSON lines (a ``mask_file`` output may be called ``.json``); a ``.json`` array of
    objects and a CSV/TSV file are records when they have ``column`` or a ``vault`` field
    (a record naming its vault must be checked), else text (e.g. an LLM's answer).
    """
    suffix = src.suffix.lower()
    if suffix in _JSONL_SUFFIXES:
        return "jsonl"
    if suffix in _PARQUET_SUFFIXES:
        return "parquet"
    if suffix == ".json" and is_json_array(src):
        try:
            first = next(json_array_items(src), None)
        except DatasetError:  # not JSON after all: text that starts with "["
            return None
        fields = list(first) if isinstance(first, dict) else []
        return "json" if first is None or column in fields or "vault" in fields else None
    if suffix == ".json":
        return "jsonl" if _first_line_is_object(src) else None
    if suffix in (".csv", ".tsv"):
        try:
            fields = _csv_header(src, "\t" if suffix == ".tsv" else ",")
        except (DatasetError, UnicodeDecodeError):  # empty, not CSV or not UTF-8: as text
            return None
        return suffix[1:] if column in fields or "vault" in fields else None
    return None


def _first_line_is_object(src: Path) -> bool:
    """True when the first non-blank line of ``src`` is a whole JSON object."""
    with src.open("rb") as fh:
        first = next((line for line in fh if line.strip()), b"")
    try:
        return isinstance(json.loads(first), dict)
    except (ValueError, RecursionError):
        return False


def _check_output_suffix(src: Path, dst: Path, fmt: str) -> None:
    """Refuse an ``OUT`` whose suffix names another format than ``IN``'s (which is written)."""
    name, suffixes = _FORMATS[fmt]
    known = {s for _, allowed in _FORMATS.values() for s in allowed}
    suffix = dst.suffix.lower()
    if suffix in known and suffix not in suffixes:
        raise ConfigError(
            f"output {dst.name}: unmask writes OUT in the format of {src.name} ({name}); "
            f"name it with {' or '.join(suffixes)}, or convert the result afterwards"
        )


class _Restorer:
    """Restore ``column`` in one record after another, checking the vault each names."""

    def __init__(self, vault: Vault, src: str, vault_name: str, column: str) -> None:
        self.vault, self.src, self.vault_name, self.column = vault, src, vault_name, column
        self.counts: Counter[str] = Counter()  # UnmaskSummary's fields

    def restore(self, record: Any, where: str, *, cells: bool = False) -> None:
        """Restore ``record[column]`` in place; ``where`` names the record ("line 3").

        ``cells``: the fields are CSV text, where an empty cell is no vault and ``tokens``
        is a list as pandas writes it (``['[NAME_1]']``).
        """
        column = self.column
        if not isinstance(record, dict) or column not in record:
            fields = f"; its fields: {list_names(list(record))}" if isinstance(record, dict) else ""
            raise DatasetError(
                f"{where} of {self.src} has no {column!r} field{fields}", column=column
            )
        vault_id, tokens = record.get("vault"), record.get("tokens")
        if cells:
            vault_id, tokens = vault_id or None, _cell_list(tokens)
        self._check(vault_id, where)
        value = record[column]
        if isinstance(value, str):
            scoped = isinstance(tokens, list) and all(isinstance(t, str) for t in tokens)
            self.counts["unscoped"] += not scoped
            result = self.vault.restore(value, tokens=tokens if scoped else None)
            self.counts["restored"] += result.restored
            self.counts["left"] += result.left
            record[column] = result.text
        elif value is not None:
            raise DatasetError(f"{where} of {self.src}: {column!r} is not text", column=column)
        self.counts["rows"] += 1

    def _check(self, vault_id: object, where: str) -> None:
        """Count a record naming no vault; refuse one naming another vault than ours."""
        if vault_id is None:
            self.counts["unverified"] += 1
            return
        if not isinstance(vault_id, str):
            raise DatasetError(f"{where} of {self.src}: 'vault' is not a vault id")
        if vault_id != self.vault.id:
            raise VaultMismatchError(
                f"{self.src} ({where}) was masked with another vault ({short_id(vault_id)}) "
                f"than vault file {self.vault_name} ({short_id(self.vault.id)}): its tokens "
                "would be filled with other values; use the vault it was masked with (nothing "
                "was written)"
            )


def _cell_list(cell: object) -> object:
    """A CSV cell holding a list (``['[NAME_1]']`` as pandas writes it, or JSON) as a list;
    anything else as it is."""
    if not isinstance(cell, str) or not cell.startswith("["):
        return cell
    try:
        return ast.literal_eval(cell)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return cell


def _unmask_jsonl(src: Path, out: IO[bytes], restorer: _Restorer) -> None:
    """Unmask every JSON line of ``src`` into ``out``; other fields kept."""
    with src.open("rb") as fh:
        for number, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw.decode("utf-8"))
            except (ValueError, RecursionError):
                torn = "" if raw.endswith(b"\n") else _TORN
                raise DatasetError(
                    f"line {number} of {src.name} is not valid UTF-8 JSON{torn}"
                ) from None
            restorer.restore(record, f"line {number}")
            out.write(json_line(record))


def _unmask_json_array(src: Path, out: IO[bytes], restorer: _Restorer) -> None:
    """Unmask every item of the JSON array in ``src`` into a JSON array, one item a line."""
    out.write(b"[")
    for number, item in enumerate(json_array_items(src), 1):
        restorer.restore(item, f"item {number}")
        out.write((b",\n" if number > 1 else b"\n") + json_line(item).rstrip(b"\n"))
    out.write(b"\n]\n")


def _csv_header(src: Path, sep: str) -> list[str]:
    """The column names of a CSV/TSV file (DatasetError if pandas cannot read it)."""
    import pandas as pd

    with csv_errors(src):
        frame = pd.read_csv(src, sep=sep, nrows=0, encoding="utf-8")
    return [str(c) for c in frame.columns]


def _csv_chunks(src: Path, sep: str) -> Iterator[Any]:
    """The rows of a CSV/TSV file as text cells, ``_CHUNK_ROWS`` at a time."""
    import pandas as pd

    try:
        with csv_errors(src):
            reader = pd.read_csv(
                src, sep=sep, dtype=object, keep_default_na=False, encoding="utf-8",
                chunksize=_CHUNK_ROWS,
            )  # fmt: skip
            with reader:
                yield from reader
    except UnicodeDecodeError:
        raise DatasetError(f"{src.name} is not UTF-8 text") from None


def _unmask_table(sep: str) -> Callable[[Path, IO[bytes], _Restorer], None]:
    """The unmasker of CSV (``sep`` ",") or TSV ("\\t"): OUT in the same format."""

    def unmask(src: Path, out: IO[bytes], restorer: _Restorer) -> None:
        import pandas as pd

        header = True
        number = 0
        for chunk in _csv_chunks(src, sep):
            records = chunk.to_dict("records")
            for record in records:
                number += 1
                restorer.restore(record, f"row {number}", cells=True)
            frame = pd.DataFrame(records, columns=chunk.columns)
            frame.to_csv(out, sep=sep, index=False, header=header, encoding="utf-8")
            header = False
        if header:  # no row: the header alone
            columns = _csv_header(src, sep)
            pd.DataFrame(columns=columns).to_csv(out, sep=sep, index=False, encoding="utf-8")

    return unmask


def _unmask_parquet(src: Path, out: IO[bytes], restorer: _Restorer) -> None:
    """Unmask every row of a Parquet file into Parquet with the same schema."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = parquet_file(src)
    try:
        schema = pf.schema_arrow
        with pq.ParquetWriter(out, schema) as writer:
            number = 0
            for batch in pf.iter_batches(batch_size=_CHUNK_ROWS):
                records = batch.to_pylist()
                for record in records:
                    number += 1
                    restorer.restore(record, f"row {number}")
                writer.write_batch(pa.RecordBatch.from_pylist(records, schema=schema))
    finally:
        pf.close()


_UNMASKERS: dict[str, Callable[[Path, IO[bytes], _Restorer], None]] = {
    "jsonl": _unmask_jsonl,
    "json": _unmask_json_array,
    "csv": _unmask_table(","),
    "tsv": _unmask_table("\t"),
    "parquet": _unmask_parquet,
}
