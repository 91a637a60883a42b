"""``pii-gemini prepare``: a dataset -> ``train.jsonl`` and ``test.jsonl`` of prompts, streamed.

Parquet and JSONL files are read in Arrow batches, normalised in bulk (``_bulk``), prompted
and encoded as JSON lines column-wise (``_jsonl``) and appended to one file, batch by batch:
memory does not grow with the row count. The split happens at the end, on the file:

* ``head_tail`` (the seed's): the last ``test_size`` lines move to ``test.jsonl``, found by
  reading the file backwards; nothing is held in memory;
* ``shuffle``: the same seeded permutation as :func:`train_test_split`, applied by copying
  lines by their byte offsets (16 bytes a row: offset and permutation).

The files equal what ``load_pii_dataset`` + ``PromptBuilder.build`` + ``train_test_split``
give in memory (``tests/dataset/test_prepare.py``). Other sources (Hub, CSV, JSON, compressed
files, files Arrow cannot take) are loaded in memory first, then written the same way.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .._exceptions import DatasetError
from ._arrow import SPAN_TYPE, Unsupported, open_batches
from ._bulk import NORMALISED_ARROW, BulkNormaliser
from ._jsonl import json_lines, write_lines
from ._load import check_options, file_suffix, load_pii_dataset, named_lines
from ._prompts import PromptBuilder
from ._split import check_split, count_test_rows

__all__ = ["PrepareSummary", "prepare_files"]

_BATCH_ROWS = 65_536  # rows normalised and written at a time
_COPY_BYTES = 8 << 20  # block size when moving the test lines out


@dataclass(frozen=True)
class PrepareSummary:
    """Where the prepared files went and how many rows each holds."""

    train_path: Path
    test_path: Path
    train_rows: int
    test_rows: int
    skipped_rows: int
    streamed: bool  # read and written batch by batch (Parquet/JSONL), else loaded whole
    skipped_reasons: tuple[tuple[str, int], ...] = ()  # (reason, rows), most frequent first


def prepare_files(
    source: Any,
    out_dir: str | os.PathLike[str],
    *,
    builder: PromptBuilder | None = None,
    test_size: int | float = 100,
    method: str = "head_tail",
    seed: int = 0,
    split: str | None = "train",
    language: str | Sequence[str] | None = None,
    limit: int | None = None,
    errors: str = "raise",
) -> PrepareSummary:
    """Load ``source``, build prompts, split, and write ``train.jsonl``/``test.jsonl``.

    The arguments are those of :func:`load_pii_dataset` and :func:`train_test_split`; the
    files are replaced only once both are complete.
    """
    builder = builder or PromptBuilder()
    check_split(test_size, method, seed)
    wanted = check_options(None, errors, limit, language)
    out = Path(os.fspath(out_dir)).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    with _part_file(out) as (part, fh):
        streamed = False
        normaliser = _streaming(source, wanted, limit, errors)
        if normaliser is not None:
            try:
                with named_lines(Path(os.fspath(source)).expanduser()):
                    offsets = _write_all(normaliser[0].tables(normaliser[1]), builder, fh)
                streamed = True
                skipped, reasons = normaliser[0].skipped, dict(normaliser[0].reasons)
            except Unsupported:  # met a row Arrow cannot take: start again with pandas
                fh.seek(0)
                fh.truncate()
        if not streamed:
            frame = load_pii_dataset(source, split=split, language=language, limit=limit,
                                     errors=errors)  # fmt: skip
            skipped = int(frame.attrs.get("skipped_rows", 0) or 0)
            reasons = dict(frame.attrs.get("skipped_reasons") or {})
            offsets = _write_all(_tables_of(frame), builder, fh)
        fh.flush()
        n = len(offsets) - 1
        if n == 0:
            raise DatasetError("no rows left after loading and filtering the source")
        n_test = count_test_rows(n, test_size)
        train_path, test_path = out / "train.jsonl", out / "test.jsonl"
        if method == "head_tail":
            _split_tail(part, fh, int(offsets[n - n_test]), out)
        else:
            _split_shuffled(part, offsets, np.random.default_rng(int(seed)).permutation(n),
                            n_test, out)  # fmt: skip
    by_count = tuple(sorted(reasons.items(), key=lambda item: (-item[1], item[0])))
    return PrepareSummary(train_path, test_path, n - n_test, n_test, skipped, streamed, by_count)


def _streaming(
    source: Any, languages: frozenset[str] | None, limit: int | None, errors: str
) -> tuple[BulkNormaliser, Iterator[pa.RecordBatch]] | None:
    if not isinstance(source, (str, os.PathLike)):
        return None
    path = Path(os.fspath(source)).expanduser()
    if not path.is_file():
        return None
    try:
        batches = open_batches(path, file_suffix(path), None)
    except Unsupported:
        return None
    if batches is None:
        return None
    normaliser = BulkNormaliser(batches.schema, languages, limit, errors)
    return normaliser, batches.batches(_BATCH_ROWS)


def _tables_of(frame: pd.DataFrame) -> Iterator[pa.Table]:
    """A normalised DataFrame as normalised Arrow tables, a batch at a time."""
    for lo in range(0, len(frame), _BATCH_ROWS):
        part = frame.iloc[lo : lo + _BATCH_ROWS]
        yield pa.Table.from_arrays(
            [
                pa.array(part["id"].tolist(), pa.string()),
                pa.array(part["source_text"].tolist(), pa.string()),
                pa.array(part["target_text"].tolist(), pa.string()),
                pa.array(part["privacy_mask"].tolist(), pa.list_(SPAN_TYPE)),
                pa.array(part["language"].tolist(), pa.string()),
            ],
            schema=NORMALISED_ARROW,
        )


def _write_all(tables: Iterator[pa.Table], builder: PromptBuilder, fh: IO[bytes]) -> Any:
    """Write every table's rows as JSON lines; returns the lines' byte offsets (n + 1)."""
    sizes: list[np.ndarray[Any, Any]] = []
    for table in tables:
        lines = json_lines(table, (builder.prefix, builder.suffix), _outputs(table, builder))
        sizes.append(np.asarray(write_lines(lines, fh), dtype=np.int64))
    offsets = np.zeros(sum(len(s) for s in sizes) + 1, dtype=np.int64)
    if sizes:
        np.cumsum(np.concatenate(sizes), out=offsets[1:])
    return offsets


def _outputs(table: pa.Table, builder: PromptBuilder) -> pa.Array:
    """The ``output`` column: the target text, or the entity list rendered from the spans."""
    if builder.target == "masked_text" and builder.target_column == "target_text":
        return table.column("target_text").combine_chunks()
    frame = pd.DataFrame(
        {
            "source_text": table.column("source_text").to_pylist(),
            "target_text": table.column("target_text").to_pylist(),
            "privacy_mask": table.column("privacy_mask").to_pylist(),
        }
    )
    return pa.array(builder.build(frame)["output"].tolist(), pa.string())


@contextlib.contextmanager
def _part_file(out: Path) -> Iterator[tuple[Path, IO[bytes]]]:
    """A private temporary file in ``out`` for all lines; removed whatever happens."""
    fd, name = tempfile.mkstemp(prefix=".prepare-", suffix=".part", dir=out)
    part = Path(name)
    try:
        with os.fdopen(fd, "w+b") as fh:
            yield part, fh
    finally:
        part.unlink(missing_ok=True)


def _split_tail(part: Path, fh: IO[bytes], cut: int, out: Path) -> None:
    """Lines from byte ``cut`` on become test.jsonl, the rest train.jsonl."""
    with _sibling(out, "test.jsonl") as (test_tmp, test):
        fh.seek(cut)
        while block := fh.read(_COPY_BYTES):
            test.write(block)
    fh.truncate(cut)
    fh.flush()
    os.replace(test_tmp, out / "test.jsonl")
    os.replace(part, out / "train.jsonl")


def _split_shuffled(
    part: Path, offsets: Any, order: np.ndarray[Any, Any], n_test: int, out: Path
) -> None:
    """The seeded permutation's first ``n_test`` rows are the test set, the rest train."""
    with part.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        for name, rows in (("test.jsonl", order[:n_test]), ("train.jsonl", order[n_test:])):
            with _sibling(out, name) as (tmp, dst):
                for row in rows.tolist():
                    dst.write(data[offsets[row] : offsets[row + 1]])
            os.replace(tmp, out / name)


@contextlib.contextmanager
def _sibling(out: Path, name: str) -> Iterator[tuple[Path, IO[bytes]]]:
    """A private temporary file next to ``out/name``, removed if the block fails."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}-", suffix=".tmp", dir=out)
    path = Path(tmp)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield path, fh
    except BaseException:
        path.unlink(missing_ok=True)
        raise
