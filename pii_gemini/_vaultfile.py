"""The vault's file format: an append-only log of entries, and the older JSON document.

Version 2 (written since 0.1) is JSON lines: a header ``{"format": "pii_gemini.vault",
"version": 2, "id": "<32 hex>"}`` then one entry ``{"token", "original", "label", "kind"}``
per line. New entries are appended and fsynced (``append``), so saving costs what was added,
not the whole vault; a kill mid-append leaves one torn last line, which readers ignore and
the next writer cuts. ``write_all`` rewrites the file atomically (the compaction, e.g. of a
version-1 file). Version 1 is one JSON document ``{"format", "version": 1, "entries": [...]}``,
still read. The ``id`` (random, kept for the file's life; see ``Vault.id``) names the vault's
token numbering: the lines masked with it carry it, and ``unmask`` refuses another vault's.
A file written before ids existed has none (``vault_id`` None). Every file is created 0600
(see ``_files``); nothing here logs or quotes an entry.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ._exceptions import ConfigError, DatasetError
from ._files import atomic_write, create_exclusive, fsync_dir
from ._io import json_line

__all__ = [
    "FORMAT",
    "Parsed",
    "append",
    "check_id",
    "parse",
    "parse_document",
    "read",
    "write_all",
]

FORMAT = "pii_gemini.vault"
_DOCUMENT_VERSION = 1
_LOG_VERSION = 2
_FIELDS = ("token", "original", "label", "kind")

Record = tuple[str, str, str, str]  # token, original, label, kind
_ID = re.compile(r"[0-9a-f]{8,64}")  # what a vault id looks like (new ones: 32 hex digits)


@dataclass(frozen=True)
class Parsed:
    """What a vault file holds: its entries, the bytes they end at, its version and id."""

    records: tuple[Record, ...]
    clean_end: int  # bytes up to the end of the last complete entry (a torn tail after it)
    version: int  # 0 for an empty file
    vault_id: str | None = None  # None: written before vault ids (or an empty file)
    name: str = ""  # the file's name, for messages
    lines: tuple[int, ...] = ()  # the line of each record in a log (a document: none)

    def place(self, index: int) -> str:
        """Where record ``index`` is, for a message: ``v.json line 3`` (``entry 2`` in a
        version-1 document, which is not one entry per line)."""
        if index < len(self.lines):
            return f"{self.name} line {self.lines[index]}"
        return f"{self.name} entry {index + 1}"


def _record(item: object, where: str) -> Record:
    if isinstance(item, dict):
        record = (item.get("token"), item.get("original"), item.get("label"), item.get("kind"))
        if all(type(v) is str for v in record):
            return record  # type: ignore[return-value]
    raise ConfigError(f"vault entry {where} needs string token/original/label/kind")


def check_id(vault_id: object) -> str:
    """``vault_id`` if it looks like a vault id (8 to 64 lower-case hex digits), else a
    ConfigError."""
    if not isinstance(vault_id, str) or not _ID.fullmatch(vault_id):
        raise ConfigError("a vault id must be 8 to 64 lower-case hex digits")
    return vault_id


def _vault_id(obj: dict[str, object]) -> str | None:
    """The ``id`` of a header or document (None when it has none); ConfigError if malformed."""
    vault_id = obj.get("id")
    return None if vault_id is None else check_id(vault_id)


def parse_document(data: str | bytes) -> tuple[tuple[Record, ...], str | None]:
    """The entries and id of a version-1 JSON document (``Vault.to_json``); ConfigError if
    bad."""
    try:
        obj = json.loads(data)
    except (ValueError, TypeError, RecursionError) as exc:
        raise ConfigError("vault data is not valid JSON") from exc
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise ConfigError(f"vault data lacks format={FORMAT!r}")
    if obj.get("version") != _DOCUMENT_VERSION:
        raise ConfigError(f"unsupported vault version {obj.get('version')!r}")
    entries = obj.get("entries")
    if not isinstance(entries, list):
        raise ConfigError("vault data needs an 'entries' list")
    return tuple(_record(item, str(i)) for i, item in enumerate(entries)), _vault_id(obj)


def _header(line: bytes) -> dict[str, object] | None:
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) and obj.get("format") == FORMAT else None


def parse(data: bytes, name: str) -> Parsed:
    """Read a vault file's bytes (either version); a torn last log line is left out. A
    damaged file is a DatasetError naming it (and the line), never its content."""
    if not data.strip():
        return Parsed((), 0, 0)
    first_end = data.find(b"\n")
    header = _header(data[: first_end if first_end >= 0 else len(data)])
    if header is None or header.get("version") != _LOG_VERSION:
        try:
            return Parsed(*_with_end(parse_document(data), len(data)), name=name)
        except ConfigError as exc:
            raise DatasetError(f"{name} is not a pii_gemini vault file ({exc})") from None
    try:
        vault_id = _vault_id(header)
    except ConfigError as exc:
        raise DatasetError(f"{name} line 1: {exc}") from None
    if first_end < 0:
        return Parsed((), 0, _LOG_VERSION, vault_id, name)  # the header's newline is torn
    body_start = first_end + 1
    clean = data.rfind(b"\n") + 1  # a last line without its newline is torn: left out
    body = data[body_start:clean].rstrip(b"\n")
    try:  # one parse for the whole log (JSON escapes every newline inside a string)
        items = json.loads(b"[" + body.replace(b"\n", b",") + b"]") if body else []
    except (ValueError, RecursionError):
        items = None
    if items is None:  # find the bad line to name it
        items = []
        for lineno, line in enumerate(body.split(b"\n"), start=2):
            try:
                items.append(json.loads(line) if line.strip() else None)
            except (ValueError, RecursionError):
                raise DatasetError(f"{name} line {lineno} is not a vault entry") from None
    lines = [i + 2 for i, item in enumerate(items) if item is not None]
    try:
        records = [_record(items[n - 2], f"{n} of {name}") for n in lines]
    except ConfigError as exc:  # what a file holds is data: a damaged one is a data error
        raise DatasetError(str(exc)) from None
    return Parsed(tuple(records), clean, _LOG_VERSION, vault_id, name, tuple(lines))


def _with_end(
    document: tuple[tuple[Record, ...], str | None], end: int
) -> tuple[tuple[Record, ...], int, int, str | None]:
    return document[0], end, _DOCUMENT_VERSION, document[1]


def read(path: Path) -> Parsed:
    """Parse the vault file at ``path`` (ConfigError naming the file, never its content)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read vault file {path.name}: {exc.strerror}") from exc
    return parse(data, path.name)


def _lines(records: Iterable[Record]) -> bytes:
    return b"".join(json_line(dict(zip(_FIELDS, r, strict=True))) for r in records)


def _header_line(vault_id: str | None) -> bytes:
    header: dict[str, object] = {"format": FORMAT, "version": _LOG_VERSION}
    if vault_id is not None:
        header["id"] = vault_id
    return json_line(header)


def write_all(path: Path, records: Iterable[Record], vault_id: str | None) -> None:
    """Replace ``path`` atomically with a log of ``records`` under ``vault_id`` (0600)."""
    with atomic_write(path, mode=0o600) as fh:
        fh.write(_header_line(vault_id))
        fh.write(_lines(records))


def append(
    path: Path, records: Iterable[Record], vault_id: str | None, *, cut_at: int | None = None
) -> None:
    """Append ``records`` to the log at ``path`` durably; create it (0600, its header naming
    ``vault_id``) if missing.

    ``cut_at`` first truncates a torn tail (the ``clean_end`` of the last ``parse``).
    """
    data = _lines(records)
    if not path.exists():
        fd = create_exclusive(path, 0o600)
        data = _header_line(vault_id) + data
        fsync_parent = True
    else:
        fd = os.open(path, os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0))
        fsync_parent = False
    try:
        if cut_at is not None:
            os.ftruncate(fd, cut_at)
        os.lseek(fd, 0, os.SEEK_END)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    if fsync_parent:
        fsync_dir(path.parent)
