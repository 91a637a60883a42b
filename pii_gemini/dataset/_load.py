"""``load_pii_dataset``: check the arguments, read the source into a raw frame, normalise it.

The readers cover a Hugging Face dataset name or a local folder (``datasets.load_dataset``),
a local ``.jsonl``/``.json``/``.csv``/``.parquet`` file (optionally compressed), a pandas
DataFrame and a ``datasets.Dataset``/``DatasetDict``. Reader errors are DatasetErrors that
name the file or the dataset, never a row's content.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .._exceptions import ConfigError, DatasetError
from ._arrow import Unsupported, open_batches
from ._bulk import BulkNormaliser, to_frame
from ._json_array import NOT_OBJECT_ITEM, read_json_array
from ._normalise import logger, normalise_frame
from ._schemas import SCHEMAS, normalize_language

__all__ = ["check_options", "file_suffix", "load_pii_dataset", "named_lines"]

_FILE_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")
_COMPRESSIONS = (".gz", ".bz2", ".xz", ".zst", ".zip")


def load_pii_dataset(
    source: Any,
    *,
    split: str | None = "train",
    language: str | Sequence[str] | None = None,
    limit: int | None = None,
    schema: str | None = None,
    errors: str = "raise",
    **hf_kwargs: Any,
) -> pd.DataFrame:
    """Load ai4privacy-format data from ``source`` and return the normalised frame.

    ``source`` is a Hugging Face dataset name (``datasets.load_dataset(source, split=split,
    **hf_kwargs)``), a local ``.jsonl``/``.json``/``.csv``/``.parquet`` file (optionally
    compressed), a local folder of data files (read with ``datasets.load_dataset``), a
    ``pandas.DataFrame`` or a ``datasets.Dataset``/``DatasetDict``.

    ``schema`` forces ``"legacy"``, ``"current"`` or ``"masked_text"``; by default it is
    detected from the columns. ``language`` keeps rows whose language (normalised to an ISO
    code) is the given code or one of the given codes; ``limit`` keeps the first N rows after
    that. ``errors="skip"`` drops malformed rows (and a JSONL file's lines, or a ``.json``
    array's items, that are not JSON objects) instead of raising and records how many in
    ``df.attrs["skipped_rows"]``, and how many for each reason in
    ``df.attrs["skipped_reasons"]``.

    Raises DatasetError for unreadable sources, unknown schemas, missing columns and
    malformed rows (naming the row and column; in a ``.jsonl`` file, the file's line
    number, blank lines counted), ConfigError for bad arguments.
    """
    wanted = check_options(schema, errors, limit, language)
    if isinstance(source, (str, os.PathLike)) and not hf_kwargs:
        path = Path(os.fspath(source)).expanduser()
        if path.is_file():
            with named_lines(path):
                bulk = _load_file_in_bulk(path, schema, wanted, limit, errors)
            if bulk is not None:
                return bulk
            if _plain_jsonl(path):
                return _load_jsonl(path, schema, wanted, limit, errors)
            array = read_json_array(path, errors)  # items that are not objects: as JSONL lines
            if array is not None:
                out = normalise_frame(array[0], schema=schema, languages=wanted, limit=limit,
                                      errors=errors)  # fmt: skip
                return _count_skipped(out, NOT_OBJECT_ITEM, array[1], path)
    frame = _read_source(source, split, hf_kwargs)
    return normalise_frame(frame, schema=schema, languages=wanted, limit=limit, errors=errors)


_BATCH_ROWS = 65_536  # Parquet rows per Arrow batch


def _load_jsonl(
    path: Path,
    schema: str | None,
    languages: frozenset[str] | None,
    limit: int | None,
    errors: str,
) -> pd.DataFrame:
    """A JSONL file Arrow cannot take, read line by line: errors name the file's lines, and
    with ``errors="skip"`` a line that is not a JSON object is skipped and counted."""
    frame, lines, unreadable = _read_jsonl(path, errors)
    with named_lines(path, lines):
        out = normalise_frame(frame, schema=schema, languages=languages, limit=limit,
                              errors=errors)  # fmt: skip
    return _count_skipped(out, _NOT_OBJECT_LINE, unreadable, path)


def _count_skipped(out: pd.DataFrame, reason: str, count: int, path: Path) -> pd.DataFrame:
    """Add ``count`` rows the reader skipped for ``reason`` (before normalising) to the
    skipped rows ``out.attrs`` records."""
    if count:
        logger.warning("skipped %d row(s) of %s: %s", count, path.name, reason)
        out.attrs["skipped_rows"] += count
        out.attrs["skipped_reasons"] = {reason: count, **out.attrs["skipped_reasons"]}
    return out


_NOT_OBJECT_LINE = "line is not a JSON object"


def _read_jsonl(path: Path, errors: str) -> tuple[pd.DataFrame, list[int], int]:
    """The JSON objects of a plain JSONL file as a raw frame, the file line of each row, and
    how many lines were skipped (``errors="skip"``) for not being JSON objects. Blank lines
    are no rows; text that is not UTF-8 is an error of the file, whatever ``errors`` says."""
    records: list[dict[str, Any]] = []
    lines: list[int] = []
    unreadable = 0
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except UnicodeDecodeError:
                raise DatasetError(
                    f"could not read {path.name} as .jsonl: line {number} {_NOT_UTF8}"
                ) from None
            except (ValueError, RecursionError):
                record = None
            if isinstance(record, dict):
                records.append(record)
                lines.append(number)
            elif errors == "raise":
                raise DatasetError(
                    f"could not read {path.name} as .jsonl: line {number} is not a JSON object"
                )
            else:
                unreadable += 1
    # object dtype: a lone surrogate must reach the checks that name its row and column,
    # not fail here in pandas' conversion to its Arrow-backed str dtype
    frame: pd.DataFrame = pd.DataFrame(records, dtype=object)
    return frame, lines, unreadable


def _plain_jsonl(path: Path) -> bool:
    return path.suffix.lower() == ".jsonl"


@contextlib.contextmanager
def named_lines(path: Path, lines: Sequence[int] | None = None) -> Iterator[None]:
    """In a plain ``.jsonl`` file, a DatasetError about data row N names the file's line
    instead (``lines[N]``; without ``lines``, the N-th line that is not blank, as Arrow
    reads it), so that the number is the one an editor shows."""
    try:
        yield
    except DatasetError as exc:
        prefix = f"row {exc.row}: "
        if exc.row is None or not _plain_jsonl(path) or not str(exc).startswith(prefix):
            raise
        line = lines[exc.row] if lines is not None else _line_of_row(path, exc.row)
        raise DatasetError(
            f"{path.name} line {line}: {str(exc)[len(prefix) :]}", column=exc.column, row=exc.row
        ) from None


def _line_of_row(path: Path, row: int) -> int:
    """The number of the ``row``-th (from 0) line of ``path`` that is not blank."""
    with path.open("rb") as fh:
        seen = -1
        for number, raw in enumerate(fh, start=1):
            seen += bool(raw.strip())
            if seen == row:
                return number
    return row + 1  # pragma: no cover - the row came from this file


def _load_file_in_bulk(
    path: Path,
    schema: str | None,
    languages: frozenset[str] | None,
    limit: int | None,
    errors: str,
) -> pd.DataFrame | None:
    """A Parquet or JSONL file read with pyarrow and checked column-wise (``_bulk``); None
    when the file needs the pandas readers (other formats, or a file Arrow cannot take)."""
    try:
        source = open_batches(path, file_suffix(path), schema)
        if source is None:
            return None
        normaliser = BulkNormaliser(source.schema, languages, limit, errors)
        tables = list(normaliser.tables(source.batches(_BATCH_ROWS, stream=False)))
    except Unsupported:
        return None
    frame = to_frame(tables, normaliser)
    if normaliser.skipped:
        logger.warning(
            "skipped %d malformed row(s) of %d", normaliser.skipped, normaliser.skipped + len(frame)
        )
    return frame


def check_options(
    schema: str | None,
    errors: str,
    limit: int | None,
    language: str | Sequence[str] | None,
) -> frozenset[str] | None:
    """Check the loading options (ConfigError); returns the wanted language codes."""
    if schema is not None and schema not in SCHEMAS:
        raise ConfigError(f"schema must be one of {sorted(SCHEMAS)} or None, got {schema!r}")
    if errors not in ("raise", "skip"):
        raise ConfigError(f"errors must be 'raise' or 'skip', got {errors!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ConfigError(f"limit must be a non-negative int or None, got {limit!r}")
    return _wanted_languages(language)


def _wanted_languages(language: str | Sequence[str] | None) -> frozenset[str] | None:
    if language is None:
        return None
    items: Iterable[object] = [language] if isinstance(language, str) else language
    try:
        codes = [normalize_language(x) if isinstance(x, str) else None for x in items]
    except TypeError:
        codes = [None]
    if not codes or any(c is None for c in codes):
        raise ConfigError(
            f"language must be a language code such as 'en' or a list of codes, got {language!r}"
        )
    return frozenset(c for c in codes if c is not None)


def _read_source(source: Any, split: str | None, hf_kwargs: dict[str, Any]) -> pd.DataFrame:
    """Turn any supported source into a raw DataFrame (not yet normalised)."""
    if isinstance(source, pd.DataFrame):
        _no_hf_kwargs(hf_kwargs, "a DataFrame")
        return source
    datasets_mod = sys.modules.get("datasets")  # a Dataset implies the package is imported
    if datasets_mod is not None:
        if isinstance(source, datasets_mod.DatasetDict):
            _no_hf_kwargs(hf_kwargs, "a DatasetDict")
            return _pick_split(source, split)
        if isinstance(source, datasets_mod.Dataset):
            _no_hf_kwargs(hf_kwargs, "a Dataset")
            return _dataset_to_pandas(source)
    if isinstance(source, (str, os.PathLike)):
        path = Path(os.fspath(source)).expanduser()
        if path.is_dir():
            return _load_hf(str(path), split, hf_kwargs)
        if path.is_file():
            _no_hf_kwargs(hf_kwargs, "a local file")
            return _read_file(path)
        text = os.fspath(source)
        if file_suffix(path) in _FILE_SUFFIXES or text.startswith((".", "/", "~", "\\")):
            raise DatasetError(f"no such file or folder: {text!r}")
        return _load_hf(text, split, hf_kwargs)
    raise ConfigError(
        "source must be a Hugging Face dataset name, a path, a pandas DataFrame or a "
        f"datasets.Dataset, got {type(source).__name__}"
    )


def _no_hf_kwargs(hf_kwargs: dict[str, Any], what: str) -> None:
    if hf_kwargs:
        raise ConfigError(
            f"extra keyword arguments {sorted(hf_kwargs)} are passed to datasets.load_dataset "
            f"and do not apply to {what}"
        )


def _pick_split(dataset_dict: Any, split: str | None) -> pd.DataFrame:
    splits = sorted(dataset_dict.keys())
    if split is None or split not in dataset_dict:
        raise DatasetError(f"split {split!r} not found; available splits: {splits}")
    return _dataset_to_pandas(dataset_dict[split])


def _dataset_to_pandas(dataset: Any) -> pd.DataFrame:
    frame: Any = dataset.to_pandas()
    if not isinstance(frame, pd.DataFrame):  # batched=True returns an iterator
        frame = pd.concat(list(frame), ignore_index=True)
    out: pd.DataFrame = frame
    return out


def _load_hf(name: str, split: str | None, hf_kwargs: dict[str, Any]) -> pd.DataFrame:
    """``datasets.load_dataset`` with a DatasetError that says how to work offline."""
    try:
        import datasets
    except ImportError as exc:  # pragma: no cover - datasets is a core dependency
        raise DatasetError(
            "loading a Hugging Face dataset needs the 'datasets' package; install it or pass a "
            "local .jsonl/.csv/.parquet file or a DataFrame"
        ) from exc
    try:
        loaded = datasets.load_dataset(name, split=split, **hf_kwargs)
    except Exception as exc:
        detail = " ".join(str(exc).split())[:200]
        raise DatasetError(
            f"could not load Hugging Face dataset {name!r} (split {split!r}): "
            f"{type(exc).__name__}: {detail}. Without network access or a local Hugging Face "
            "cache, download the data once and pass a local path instead (a .jsonl, .json, "
            ".csv or .parquet file, or a folder of .jsonl files) or a pandas DataFrame."
        ) from exc
    if isinstance(loaded, datasets.DatasetDict):
        return _pick_split(loaded, split)
    if isinstance(loaded, datasets.Dataset):
        return _dataset_to_pandas(loaded)
    raise DatasetError(  # pragma: no cover - IterableDataset needs streaming=True
        f"datasets.load_dataset returned a {type(loaded).__name__}; streaming is not supported"
    )


def file_suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSIONS:
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def _read_file(path: Path) -> pd.DataFrame:
    suffix = file_suffix(path)
    if suffix not in _FILE_SUFFIXES:
        raise DatasetError(
            f"unsupported file type {suffix or '(none)'!r} for {path.name}: use one of "
            f"{', '.join(_FILE_SUFFIXES)}"
        )
    try:
        if suffix == ".jsonl":
            return pd.read_json(path, lines=True, dtype=False)
        if suffix == ".json":
            return _read_json_file(path)
        if suffix == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False)
        return pd.read_parquet(path)
    except DatasetError:
        raise
    except Exception as exc:  # pandas/pyarrow/json raise many types; messages may quote data
        if isinstance(exc, UnicodeDecodeError):
            detail = _where_not_utf8(path, exc)
        else:
            detail = type(exc).__name__
        raise DatasetError(f"could not read {path.name} as {suffix}: {detail}") from exc


_NOT_UTF8 = "is not UTF-8 text (if the file is Latin-1, convert it: iconv -f latin1 -t utf-8)"


def _where_not_utf8(path: Path, exc: UnicodeDecodeError) -> str:
    """The first line of ``path`` that is not UTF-8, as the error names it (the reader's
    byte offset counts from its own buffer, not from the start of the file)."""
    if path.suffix.lower() not in _COMPRESSIONS:
        with path.open("rb") as fh:
            for number, line in enumerate(fh, start=1):
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError:
                    return f"line {number} {_NOT_UTF8}"
    return f"the text {_NOT_UTF8}"  # compressed: where in the file is not known


def _read_json_file(path: Path) -> pd.DataFrame:
    """A JSON list of records, a {"rows": [...]} / {"row": {...}} wrapper, columns, or lines."""
    if path.suffix.lower() in _COMPRESSIONS:
        return pd.read_json(path, dtype=False)
    try:
        with path.open(encoding="utf-8") as fh:
            data = json.load(fh)
    except json.JSONDecodeError as exc:
        if exc.msg.startswith("Extra data"):  # JSON lines under a .json name (HF does this)
            return pd.read_json(path, lines=True, dtype=False)
        raise
    if isinstance(data, dict):
        if isinstance(data.get("rows"), list):
            data = data["rows"]
        elif isinstance(data.get("row"), dict):
            data = [data["row"]]
        elif data and all(isinstance(v, list) for v in data.values()):
            columns: pd.DataFrame = pd.DataFrame(data)
            return columns
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise DatasetError(f"{path.name}: expected a JSON list of row objects")
    records: pd.DataFrame = pd.DataFrame.from_records(data)
    return records
