"""``unmask_file``: put the original values back into a masked file, with its own vault only.

A JSONL file (``.jsonl``/``.ndjson``, or a ``.json`` whose first line is a JSON object: the
output of ``mask_file``, whatever its suffix) is read line by line
and only its ``column`` is rewritten. A line's ``tokens`` limit what is filled to the tokens
issued for it; its ``vault`` names the vault it was masked with, and **a line naming another
vault stops the whole file** (``VaultMismatchError``, nothing written): tokens are numbered
per vault, so another vault would fill them with other people's values. Lines that name no
vault (written before vault ids, or not by ``mask_file``) and plain text files cannot be
checked: they are unmasked and counted (``UnmaskSummary.unverified``) for the caller to warn.

The result holds raw PII: it is written 0600, atomically, through a temp file created
exclusively; an existing output is refused unless ``force=True``. Messages name files, line
numbers and vault ids, never a value.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ._exceptions import ConfigError, DatasetError, VaultMismatchError
from ._files import atomic_write
from ._io import json_line, list_names
from .vault import Vault, short_id

__all__ = ["UnmaskSummary", "unmask_file"]

_JSONL_SUFFIXES = (".jsonl", ".ndjson")
_TORN = (
    " (its last line, cut short: a masking run killed mid-write? run the same mask command "
    "again to resume it, then unmask)"
)


@dataclass(frozen=True)
class UnmaskSummary:
    """What ``unmask_file`` did.

    ``rows`` JSONL lines written (0 for a text file), ``restored`` tokens filled, ``left``
    placeholder-like strings left (not issued for their text, or unknown to the vault),
    ``unscoped`` lines without ``tokens`` (any token of the vault was filled), ``unverified``
    lines (or 1 for a text file) that name no vault, so the vault could not be checked.
    """

    rows: int = 0
    restored: int = 0
    left: int = 0
    unscoped: int = 0
    unverified: int = 0
    text: bool = False

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

    See the module doc: a JSONL line masked with another vault than ``vault_path`` raises
    ``VaultMismatchError`` (a ``DatasetError``) naming both files; a bad line or column is a
    ``DatasetError``; a missing or unreadable vault, or ``output_path`` equal to the input or
    the vault, a ``ConfigError``.
    """
    src, dst, vault_file = Path(input_path), Path(output_path), Path(vault_path)
    if not src.is_file():
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
    vault = Vault.load(vault_file)
    dst.parent.mkdir(parents=True, exist_ok=True)
    counts: Counter[str] = Counter()  # UnmaskSummary's fields
    with atomic_write(dst, mode=0o600) as out:
        if _is_jsonl(src):
            _unmask_jsonl(src, out, vault, vault_file.name, column, counts)
        else:
            try:
                text = src.read_bytes().decode("utf-8")
            except UnicodeDecodeError:
                raise DatasetError(f"{src.name} is not UTF-8 text") from None
            result = vault.restore(text)
            out.write(result.text.encode("utf-8", "surrogatepass"))
            return UnmaskSummary(0, result.restored, result.left, 0, 1, text=True)
    c = counts
    return UnmaskSummary(c["rows"], c["restored"], c["left"], c["unscoped"], c["unverified"])


def _is_jsonl(src: Path) -> bool:
    """True for a ``.jsonl``/``.ndjson`` file, and a ``.json`` one whose first line is a
    whole JSON object (a ``mask_file`` output may be called ``.json``)."""
    suffix = src.suffix.lower()
    if suffix != ".json":
        return suffix in _JSONL_SUFFIXES
    with src.open("rb") as fh:
        first = next((line for line in fh if line.strip()), b"")
    try:
        return isinstance(json.loads(first), dict)
    except (ValueError, RecursionError):
        return False


def _unmask_jsonl(
    src: Path, out: IO[bytes], vault: Vault, vault_name: str, column: str, counts: Counter[str]
) -> None:
    """Unmask ``column`` of every JSON line of ``src`` into ``out``; other fields kept."""
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
            if not isinstance(record, dict) or column not in record:
                fields = (
                    f"; its fields: {list_names(list(record))}" if isinstance(record, dict) else ""
                )
                raise DatasetError(
                    f"line {number} of {src.name} has no {column!r} field{fields}", column=column
                )
            _check_line(record.get("vault"), vault, src.name, vault_name, number, counts)
            value = record[column]
            if isinstance(value, str):
                tokens = record.get("tokens")
                scoped = isinstance(tokens, list) and all(isinstance(t, str) for t in tokens)
                counts["unscoped"] += not scoped
                result = vault.restore(value, tokens=tokens if scoped else None)
                counts["restored"] += result.restored
                counts["left"] += result.left
                record[column] = result.text
            elif value is not None:
                raise DatasetError(
                    f"line {number} of {src.name}: {column!r} is not text", column=column
                )
            out.write(json_line(record))
            counts["rows"] += 1


def _check_line(
    vault_id: object, vault: Vault, src: str, vault_name: str, number: int, counts: Counter[str]
) -> None:
    """Count a line naming no vault; refuse one naming another vault than ``vault``'s."""
    if vault_id is None:
        counts["unverified"] += 1
        return
    if not isinstance(vault_id, str):
        raise DatasetError(f"line {number} of {src}: 'vault' is not a vault id")
    if vault_id != vault.id:
        raise VaultMismatchError(
            f"{src} (line {number}) was masked with another vault ({short_id(vault_id)}) than "
            f"vault file {vault_name} ({short_id(vault.id)}): its tokens would be filled with "
            "other values; use the vault it was masked with (nothing was written)"
        )
