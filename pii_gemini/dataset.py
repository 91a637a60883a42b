"""Load ai4privacy PII-masking data in any of its schemas, validate it, split it and prompt it.

:func:`load_pii_dataset` reads a Hugging Face dataset, a local file or folder, a DataFrame or a
``datasets.Dataset`` and returns the normalised frame of ``docs/architecture.md``:
``id, source_text, target_text, privacy_mask, language`` whatever the source schema
(original 200k dict-repr masks, the current list-of-spans schema, or 300k/400k/500k with
``masked_text``/``uid``/language names). Every span is checked against the text
(``source_text[start:end] == value``); errors name the row and column, never the PII value.

:func:`train_test_split` reproduces the seed notebook's head/tail split or a seeded shuffle,
and :class:`PromptBuilder` turns rows into ``text_input``/``output`` tuning examples with
vectorised string operations.
"""

from __future__ import annotations

import ast
import contextlib
import gc
import json
import logging
import math
import os
import re
import string
import sys
from collections.abc import Iterable, Iterator, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._exceptions import ConfigError, DatasetError
from .labels import PLACEHOLDER_RE, normalize_label

__all__ = [
    "NORMALISED_COLUMNS",
    "SCHEMAS",
    "PromptBuilder",
    "load_pii_dataset",
    "normalize_language",
    "train_test_split",
]

logger = logging.getLogger(__name__)

NORMALISED_COLUMNS = ("id", "source_text", "target_text", "privacy_mask", "language")
"""Columns of the frame :func:`load_pii_dataset` returns, in order."""

SCHEMAS: dict[str, tuple[str, str, str]] = {
    "legacy": ("unmasked_text", "masked_text", "privacy_mask"),
    "current": ("source_text", "target_text", "privacy_mask"),
    "masked_text": ("source_text", "masked_text", "privacy_mask"),
}
"""Required columns per schema: (source text, target text, privacy mask).

``legacy`` is pii-masking-200k before April 2024 (``[LABEL_N]``, dict-repr privacy_mask,
optional ``span_labels``); ``current`` is 200k/300k since then; ``masked_text`` is 400k/500k.
"""

_FILE_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")
_COMPRESSIONS = (".gz", ".bz2", ".xz", ".zst", ".zip")

_LANGUAGE_CODES = {
    "english": "en", "french": "fr", "german": "de", "italian": "it", "spanish": "es",
    "dutch": "nl", "hindi": "hi", "telugu": "te", "portuguese": "pt", "swedish": "sv",
    "danish": "da", "norwegian": "no", "finnish": "fi", "polish": "pl", "czech": "cs",
    "greek": "el", "turkish": "tr", "russian": "ru", "japanese": "ja", "chinese": "zh",
    "korean": "ko", "arabic": "ar", "hungarian": "hu", "romanian": "ro", "slovak": "sk",
    "slovenian": "sl", "croatian": "hr", "bulgarian": "bg", "ukrainian": "uk",
    "indonesian": "id", "vietnamese": "vi", "thai": "th", "hebrew": "he", "bengali": "bn",
    "tamil": "ta", "marathi": "mr", "urdu": "ur", "malay": "ms", "catalan": "ca",
    "lithuanian": "lt", "latvian": "lv", "estonian": "et", "gujarati": "gu",
    "kannada": "kn", "malayalam": "ml", "punjabi": "pa", "persian": "fa", "tagalog": "tl",
}  # fmt: skip
_ISO_RE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")

# "[[0, 5, 'O'], [5, 8, 'PREFIX_1'], ...]" (legacy, Python repr) or the JSON form (current)
_SPAN_LABEL_RE = re.compile(r"\[\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(['\"])(.*?)\3\s*\]")
# the canonical legacy form, non-"O" entries only (anything else takes the careful path)
_FAST_SPAN_RE = re.compile(r"\[(\d+), (\d+), '(?!O')([A-Z][A-Z0-9_]*)'\]")
_BY_START = itemgetter("start")


def normalize_language(value: object) -> str | None:
    """Map a language name or code to a lower-case ISO code ("English" -> "en").

    Missing values give ``None``; ISO-looking codes are lower-cased and reduced to the
    language ("EN" -> "en", "en_US" -> "en"); unknown names are returned stripped but
    otherwise unchanged.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if not isinstance(value, str):
        return str(value)
    s = value.strip()
    if not s:
        return None
    low = s.lower()
    code = _LANGUAGE_CODES.get(low)
    if code is not None:
        return code
    if _ISO_RE.fullmatch(s):
        return re.split(r"[-_]", low, maxsplit=1)[0]
    return s


# --------------------------------------------------------------------------- reading sources


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
    that. ``errors="skip"`` drops malformed rows instead of raising and records how many in
    ``df.attrs["skipped_rows"]``.

    Raises DatasetError for unreadable sources, unknown schemas, missing columns and
    malformed rows (naming the row and column), ConfigError for bad arguments.
    """
    if schema is not None and schema not in SCHEMAS:
        raise ConfigError(f"schema must be one of {sorted(SCHEMAS)} or None, got {schema!r}")
    if errors not in ("raise", "skip"):
        raise ConfigError(f"errors must be 'raise' or 'skip', got {errors!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ConfigError(f"limit must be a non-negative int or None, got {limit!r}")
    wanted = _wanted_languages(language)
    frame = _read_source(source, split, hf_kwargs)
    return _normalise(frame, schema=schema, languages=wanted, limit=limit, errors=errors)


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
        if _file_suffix(path) in _FILE_SUFFIXES or text.startswith((".", "/", "~", "\\")):
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


def _file_suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSIONS:
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def _read_file(path: Path) -> pd.DataFrame:
    suffix = _file_suffix(path)
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
        raise DatasetError(f"could not read {path.name} as {suffix}: {type(exc).__name__}") from exc


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


# --------------------------------------------------------------------------- normalising


class _RowError(Exception):
    """A malformed row: the column and a reason free of PII."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


def _detect_schema(columns: Sequence[str], forced: str | None) -> str:
    cols = set(columns)
    if forced is not None:
        missing = [c for c in SCHEMAS[forced] if c not in cols]
        if missing:
            raise DatasetError(
                f"schema {forced!r} needs column {missing[0]!r}, which is missing "
                f"(columns found: {sorted(map(str, cols))})",
                column=missing[0],
            )
        return forced
    for name, required in SCHEMAS.items():
        if set(required) <= cols:
            return name
    for required in SCHEMAS.values():  # the two text columns are there, the mask is not
        if set(required[:2]) <= cols:
            missing = [c for c in required if c not in cols]
            raise DatasetError(
                f"missing column {missing[0]!r} (columns found: {sorted(map(str, cols))})",
                column=missing[0],
            )
    expected = "; ".join(f"{k}: {', '.join(v)}" for k, v in SCHEMAS.items())
    raise DatasetError(
        f"unknown dataset schema: columns found {sorted(map(str, cols))}; expected one of "
        f"[{expected}]"
    )


_LABELS: dict[str, str] = {}  # raw label -> normalised label
_IDENTITY_LABELS: set[str] = set()  # labels that are already normalised


def _label(raw: object, column: str) -> str:
    """normalize_label with a cache (a dataset has few distinct labels)."""
    if type(raw) is str:
        hit = _LABELS.get(raw)
        if hit is not None:
            return hit
        try:
            label = normalize_label(raw)
        except ConfigError:
            raise _RowError(column, "a span label is not a valid PII label") from None
        if len(_LABELS) < 10_000:
            _LABELS[raw] = label
            if label == raw:
                _IDENTITY_LABELS.add(raw)
        return label
    raise _RowError(column, "a span label is not a string")


def _parse_literal(raw: str, column: str) -> Any:
    """JSON first (fast), then a Python literal (ast.literal_eval, never eval)."""
    try:
        return json.loads(raw)
    except ValueError:
        pass
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise _RowError(column, f"{column} is not a parsable list/dict literal") from None


def _as_offset(x: object, column: str) -> int:
    if type(x) is int:
        return x
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return int(x)
    if isinstance(x, (float, np.floating)) and float(x).is_integer():
        return int(x)
    raise _RowError(column, "span offsets must be integers")


def _spans_current(text: object, raw_mask: object) -> list[dict[str, Any]]:
    """Validate a list-of-spans privacy_mask against the text; returns fresh span dicts."""
    if type(text) is not str:
        raise _RowError("source_text", "source_text is not a string")
    mask: Any = raw_mask
    if isinstance(mask, str):
        mask = _parse_literal(mask, "privacy_mask")
    elif isinstance(mask, np.ndarray):
        mask = mask.tolist()
    if not isinstance(mask, (list, tuple)):
        raise _RowError("privacy_mask", "privacy_mask is not a list of spans")
    out: list[dict[str, Any]] = []
    n = len(text)
    last = -1
    ordered = True
    for span in mask:
        try:
            value = span["value"]
            start = span["start"]
            end = span["end"]
            raw_label = span["label"]
        except (KeyError, TypeError, IndexError):
            raise _RowError(
                "privacy_mask", "a span lacks one of the keys value/start/end/label"
            ) from None
        if type(start) is not int or type(end) is not int:
            start = _as_offset(start, "privacy_mask")
            end = _as_offset(end, "privacy_mask")
        if start < 0 or end > n or end < start:
            raise _RowError("privacy_mask", f"span offsets {start}:{end} are out of range")
        if type(value) is not str or text[start:end] != value:
            raise _RowError("privacy_mask", f"span value != source_text[{start}:{end}]")
        if start < last:
            ordered = False
        last = start
        out.append(
            {"value": value, "start": start, "end": end, "label": _label(raw_label, "privacy_mask")}
        )
    if not ordered:
        out.sort(key=_BY_START)
    return out


def _spans_legacy(
    text: object, masked: object, raw_mask: object, raw_spans: object
) -> list[dict[str, Any]]:
    """Spans of an original-200k row: offsets from span_labels, checked against privacy_mask.

    Without span_labels the offsets come from walking masked_text's placeholders over the text.
    """
    if type(text) is not str:
        raise _RowError("unmasked_text", "unmasked_text is not a string")
    if type(masked) is not str:
        raise _RowError("masked_text", "masked_text is not a string")
    if type(raw_spans) is str:
        triples = _SPAN_LABEL_RE.findall(raw_spans)
        if not triples and raw_spans.strip() not in ("", "[]"):
            raise _RowError(
                "span_labels", "span_labels is not a parsable list of [start, end, label]"
            )
        n = len(text)
        spans: list[dict[str, Any]] = []
        expected: dict[str, str] = {}
        for s, e, _, name in triples:
            if name == "O":
                continue
            start, end = int(s), int(e)
            if start < 0 or end > n or end < start:
                raise _RowError("span_labels", f"span offsets {start}:{end} are out of range")
            value = text[start:end]
            expected[f"[{name}]"] = value
            spans.append(
                {"value": value, "start": start, "end": end, "label": _label(name, "span_labels")}
            )
        if isinstance(raw_mask, str):
            if repr(expected) == raw_mask:  # fast path: the dataset wrote repr(dict) in order
                return spans
            mapping = _parse_literal(raw_mask, "privacy_mask")
        else:
            mapping = raw_mask
        if not isinstance(mapping, dict):
            raise _RowError("privacy_mask", "privacy_mask is not a placeholder -> value mapping")
        if mapping != expected:
            raise _RowError(
                "privacy_mask", "privacy_mask values do not match span_labels offsets in the text"
            )
        spans.sort(key=_BY_START)
        return spans
    mapping = _parse_literal(raw_mask, "privacy_mask") if isinstance(raw_mask, str) else raw_mask
    if not isinstance(mapping, dict):
        raise _RowError("privacy_mask", "privacy_mask is not a placeholder -> value mapping")
    return _walk_placeholders(text, masked, mapping)


def _walk_placeholders(text: str, masked: str, mapping: dict[Any, Any]) -> list[dict[str, Any]]:
    """Derive offsets by matching masked_text's literal parts and mapped values in order."""
    spans: list[dict[str, Any]] = []
    pos = 0  # in masked
    at = 0  # in text
    for m in PLACEHOLDER_RE.finditer(masked):
        key = m.group(0)
        if key not in mapping:  # a literal "[URGENT]" in the text, not a placeholder
            continue
        literal = masked[pos : m.start()]
        value = mapping[key]
        if not text.startswith(literal, at):
            raise _RowError("masked_text", "masked_text does not align with unmasked_text")
        at += len(literal)
        if type(value) is not str or not text.startswith(value, at):
            raise _RowError(
                "privacy_mask", "a privacy_mask value is not at its placeholder's place"
            )
        spans.append(
            {
                "value": value,
                "start": at,
                "end": at + len(value),
                "label": _label(m.group(1), "masked_text"),
            }
        )
        at += len(value)
        pos = m.end()
    if masked[pos:] != text[at:]:
        raise _RowError("masked_text", "masked_text does not align with unmasked_text")
    return spans


def _languages_of(frame: pd.DataFrame) -> np.ndarray[Any, np.dtype[np.object_]]:
    """Normalised language per row (factorised, so the mapping runs once per distinct value)."""
    if "language" not in frame.columns:
        return np.full(len(frame), None, dtype=object)
    codes, uniques = pd.factorize(frame["language"], use_na_sentinel=True)
    table = np.array([normalize_language(u) for u in uniques] + [None], dtype=object)
    return table[codes]  # code -1 (missing) picks the trailing None


def _ids_of(frame: pd.DataFrame) -> pd.Series:
    for column in ("id", "uid"):
        if column in frame.columns:
            ids = frame[column]
            if ids.isna().any():
                row = int(np.flatnonzero(ids.isna().to_numpy())[0])
                raise DatasetError(f"row {row}: {column} is missing", column=column, row=row)
            as_text: pd.Series = ids.astype(str).reset_index(drop=True)
            return as_text
    numbers: pd.Series = pd.Series(np.arange(len(frame)).astype(str))
    return numbers


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building millions of small dicts (it rescans them all)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _fast_current(text: object, mask: object) -> list[dict[str, Any]] | None:
    """The common case, checked without allocating: a list of 4-key span dicts, in order,
    matching the text, with normalised labels. Returns the input list or None (careful path)."""
    if type(text) is not str or type(mask) is not list:
        return None
    n = len(text)
    last = 0
    identity = _IDENTITY_LABELS
    try:
        for span in mask:
            if type(span) is not dict or len(span) != 4:
                return None
            value = span["value"]
            start = span["start"]
            end = span["end"]
            if (
                type(start) is not int
                or type(end) is not int
                or start < last
                or end < start
                or end > n
                or text[start:end] != value
                or span["label"] not in identity
            ):
                return None
            last = start
    except KeyError:
        return None
    return mask


def _fast_legacy(text: object, raw_mask: object, raw_spans: object) -> list[dict[str, Any]] | None:
    """The common legacy case: canonical span_labels whose values re-create privacy_mask's
    repr exactly. Returns fresh span dicts or None (careful path)."""
    if type(text) is not str or type(raw_spans) is not str or type(raw_mask) is not str:
        return None
    n = len(text)
    last = 0
    labels = _LABELS
    spans = []
    expected = {}
    for a, b, name in _FAST_SPAN_RE.findall(raw_spans):
        start = int(a)
        end = int(b)
        label = labels.get(name)
        if start < last or end < start or end > n or label is None:
            return None
        value = text[start:end]
        expected["[" + name + "]"] = value
        spans.append({"value": value, "start": start, "end": end, "label": label})
        last = start
    if repr(expected) != raw_mask:
        return None
    return spans


def _bad_strings(series: pd.Series) -> set[int]:
    """Positions whose value is not a string (vectorised for string dtypes)."""
    if series.dtype != object and pd.api.types.is_string_dtype(series.dtype):
        bad = series.isna().to_numpy()
    else:
        bad = np.fromiter((type(v) is not str for v in series.tolist()), bool, len(series))
    return set(np.flatnonzero(bad).tolist())


def _normalise(
    frame: pd.DataFrame,
    *,
    schema: str | None,
    languages: frozenset[str] | None,
    limit: int | None,
    errors: str,
) -> pd.DataFrame:
    name = _detect_schema([str(c) for c in frame.columns], schema)
    src_col, tgt_col, mask_col = SCHEMAS[name]
    lang = _languages_of(frame)
    candidates: Sequence[int]
    if languages is not None and "language" not in frame.columns:
        raise DatasetError(
            "cannot filter by language: the data has no 'language' column", column="language"
        )
    if languages is not None:
        candidates = np.flatnonzero(pd.Series(lang).isin(languages).to_numpy()).tolist()
    else:
        candidates = range(len(frame))
    wanted = len(candidates) if limit is None else min(limit, len(candidates))

    sources = frame[src_col].tolist()
    masks = frame[mask_col].tolist()
    bad_targets = _bad_strings(frame[tgt_col])
    legacy = name == "legacy"
    span_labels = (
        frame["span_labels"].tolist() if legacy and "span_labels" in frame.columns else None
    )

    def careful(row: int) -> list[dict[str, Any]]:
        """Full validation of one row; raises _RowError naming the column."""
        if row in bad_targets:
            raise _RowError(tgt_col, f"{tgt_col} is not a string")
        if legacy:
            raw_spans = span_labels[row] if span_labels is not None else None
            return _spans_legacy(sources[row], frame[tgt_col].iat[row], masks[row], raw_spans)
        try:
            return _spans_current(sources[row], masks[row])
        except _RowError as exc:
            if exc.column == "source_text":
                exc.column = src_col
            raise

    def fast(rows: Sequence[int]) -> list[list[dict[str, Any]] | None]:
        """Fast-path spans per row (None: take the careful path); C-level map when contiguous."""
        contiguous = isinstance(rows, range) and rows.step == 1
        lo, hi = (rows.start, rows.stop) if isinstance(rows, range) else (0, 0)
        if not legacy:
            if contiguous:
                return list(map(_fast_current, sources[lo:hi], masks[lo:hi]))
            return [_fast_current(sources[r], masks[r]) for r in rows]
        sl = span_labels
        if sl is None:
            return [None] * len(rows)
        if contiguous:
            return list(map(_fast_legacy, sources[lo:hi], masks[lo:hi], sl[lo:hi]))
        return [_fast_legacy(sources[r], masks[r], sl[r]) for r in rows]

    good: list[int] = []
    out_masks: list[list[dict[str, Any]]] = []
    skipped = 0
    done = 0
    with _gc_paused():
        # chunks: the first covers the limit; later ones only replace skipped rows
        while len(good) < wanted and done < len(candidates):
            chunk = candidates[done : done + wanted - len(good)]
            done += len(chunk)
            results = fast(chunk)
            if not bad_targets and None not in results:  # the common case: all rows canonical
                good.extend(chunk)
                out_masks.extend(results)  # type: ignore[arg-type]
                continue
            for row, spans in zip(chunk, results, strict=True):
                if spans is None or row in bad_targets:
                    try:
                        spans = careful(row)
                    except _RowError as exc:
                        if errors == "raise":
                            raise DatasetError(
                                f"row {row}: column {exc.column!r}: {exc.reason}",
                                column=exc.column,
                                row=row,
                            ) from None
                        skipped += 1
                        continue
                good.append(row)
                out_masks.append(spans)

    positions = np.asarray(good, dtype=np.intp)
    ids = _ids_of(frame)
    every = len(good) == len(frame)  # nothing filtered or skipped: no take() copies needed
    result: pd.DataFrame = pd.DataFrame(
        {
            "id": ids if every else ids.take(positions).reset_index(drop=True),
            "source_text": _as_text(frame[src_col], None if every else positions),
            "target_text": _as_text(frame[tgt_col], None if every else positions),
            "privacy_mask": pd.Series(out_masks, dtype=object, index=pd.RangeIndex(len(good))),
            "language": pd.Series(lang if every else lang[positions], dtype=object),
        }
    )
    result.attrs["schema"] = name
    result.attrs["skipped_rows"] = skipped
    if skipped:
        logger.warning("skipped %d malformed row(s) of %d", skipped, skipped + len(good))
    return result


def _as_text(series: pd.Series, positions: np.ndarray[Any, Any] | None) -> pd.Series:
    if positions is not None:
        series = series.take(positions)
    out: pd.Series = series.astype(str).reset_index(drop=True)
    return out


# --------------------------------------------------------------------------- splitting


def train_test_split(
    df: pd.DataFrame,
    *,
    test_size: int | float = 100,
    method: str = "head_tail",
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split rows into (train, test) with fresh indexes.

    ``method="head_tail"`` is the seed notebook's split: the last ``test_size`` rows are the
    test set (2,000 rows -> 1,900/100). ``"shuffle"`` draws a seeded permutation first.
    ``test_size`` is a row count or a fraction in (0, 1); both parts must be non-empty.
    """
    if not isinstance(df, pd.DataFrame):
        raise ConfigError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    if method not in ("head_tail", "shuffle"):
        raise ConfigError(f"method must be 'head_tail' or 'shuffle', got {method!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative int, got {seed!r}")
    n = len(df)
    if isinstance(test_size, bool) or not isinstance(
        test_size, (int, float, np.integer, np.floating)
    ):
        raise ConfigError(f"test_size must be an int or a float fraction, got {test_size!r}")
    if isinstance(test_size, (float, np.floating)):
        if not 0.0 < float(test_size) < 1.0:
            raise ConfigError(f"a fractional test_size must be in (0, 1), got {test_size!r}")
        n_test = round(n * float(test_size))
    else:
        n_test = int(test_size)
    if not 0 < n_test < n:
        raise ConfigError(
            f"test_size={test_size!r} gives {n_test} test rows out of {n}; both the train and "
            "the test part must be non-empty"
        )
    if method == "head_tail":
        train, test = df.iloc[: n - n_test], df.iloc[n - n_test :]
    else:
        order = np.random.default_rng(int(seed)).permutation(n)
        train, test = df.iloc[order[n_test:]], df.iloc[order[:n_test]]
    return train.reset_index(drop=True), test.reset_index(drop=True)


# --------------------------------------------------------------------------- prompts


class PromptBuilder:
    """Formats texts into tuning prompts and rows into ``text_input``/``output`` examples.

    The default prompt is the seed notebook's::

        Given the information below, mask the personal identifiable information.

        Input:
        {input}

        Output:

    ``target="masked_text"`` trains the model to rewrite the text (``output`` is the
    ``target_column``); ``target="entities"`` makes ``output`` a compact JSON list
    ``[{"label": "FIRSTNAME", "value": "Omer"}, ...]`` from ``privacy_mask`` that the Masker
    grounds back onto the text; ``target="entity_lines"`` lists the same entities one
    ``LABEL: value`` a line (``NONE`` when there is no PII), the shortest answer of the three
    (see ``benchmarks/bench_formats.py``).

    >>> PromptBuilder().parse_input(PromptBuilder().format("Hi Ann"))
    'Hi Ann'
    """

    DEFAULT_INSTRUCTION = "Given the information below, mask the personal identifiable information."
    DEFAULT_TEMPLATE = "{instruction}\n\nInput:\n{input}\n\nOutput:\n"
    TARGETS = ("masked_text", "entities", "entity_lines")

    def __init__(
        self,
        template: str = DEFAULT_TEMPLATE,
        instruction: str = DEFAULT_INSTRUCTION,
        *,
        target: str = "masked_text",
        input_column: str = "source_text",
        target_column: str = "target_text",
    ) -> None:
        if not isinstance(template, str):
            raise ConfigError(f"template must be a string, got {type(template).__name__}")
        if not isinstance(instruction, str):
            raise ConfigError(f"instruction must be a string, got {type(instruction).__name__}")
        if target not in self.TARGETS:
            raise ConfigError(f"target must be one of {self.TARGETS}, got {target!r}")
        for arg, value in (("input_column", input_column), ("target_column", target_column)):
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{arg} must be a non-empty column name, got {value!r}")
        self._prefix, self._suffix = self._split_template(template, instruction)
        self.template = template
        self.instruction = instruction
        self.target = target
        self.input_column = input_column
        self.target_column = target_column

    @staticmethod
    def _split_template(template: str, instruction: str) -> tuple[str, str]:
        """Render the template around ``{input}``: (text before it, text after it)."""
        try:
            parts = list(string.Formatter().parse(template))
        except ValueError as exc:
            raise ConfigError(f"template is not a valid format string: {exc}") from None
        before: list[str] = []
        after: list[str] = []
        inputs = 0
        for literal, field, spec, conversion in parts:
            (after if inputs else before).append(literal)
            if field is None:
                continue
            if field not in ("instruction", "input"):
                raise ConfigError(
                    f"template field {{{field}}} is unknown: only {{instruction}} and {{input}} "
                    "are allowed (write literal braces as {{ and }})"
                )
            if spec or conversion:
                raise ConfigError(
                    f"template field {{{field}}} must not have a format spec or conversion"
                )
            if field == "input":
                inputs += 1
                if inputs > 1:
                    raise ConfigError("template must contain {input} exactly once, found it twice")
            else:
                (after if inputs else before).append(instruction)
        if inputs != 1:
            raise ConfigError("template must contain {input} exactly once, found none")
        return "".join(before), "".join(after)

    @property
    def prefix(self) -> str:
        """The prompt text before the input."""
        return self._prefix

    @property
    def suffix(self) -> str:
        """The prompt text after the input."""
        return self._suffix

    def __repr__(self) -> str:
        return f"PromptBuilder(target={self.target!r}, template={self.template!r})"

    def format(self, text: str) -> str:
        """The prompt for one input text."""
        if not isinstance(text, str):
            raise ConfigError(f"text must be a string, got {type(text).__name__}")
        return self._prefix + text + self._suffix

    def format_many(self, texts: Iterable[str]) -> list[str]:
        """Prompts for many texts, in order."""
        return [self.format(t) for t in texts]

    def parse_input(self, prompt: str) -> str:
        """The input text inside a prompt made by :meth:`format` (its inverse)."""
        if not isinstance(prompt, str):
            raise ConfigError(f"prompt must be a string, got {type(prompt).__name__}")
        lo, hi = len(self._prefix), len(prompt) - len(self._suffix)
        if hi < lo or not prompt.startswith(self._prefix) or not prompt.endswith(self._suffix):
            raise ConfigError("prompt does not match this PromptBuilder's template")
        return prompt[lo:hi]

    def build(self, df: pd.DataFrame) -> pd.DataFrame:
        """Tuning examples: columns ``text_input``, ``output`` (and ``id`` when ``df`` has it).

        Vectorised: the template is split once and whole columns are concatenated.
        """
        if not isinstance(df, pd.DataFrame):
            raise ConfigError(f"df must be a pandas DataFrame, got {type(df).__name__}")
        inputs = self._string_column(df, self.input_column)
        if self.target in ("entities", "entity_lines"):
            if "privacy_mask" not in df.columns:
                raise DatasetError(
                    f"missing column 'privacy_mask' (needed for target={self.target!r})",
                    column="privacy_mask",
                )
            render = _entities_json if self.target == "entities" else _entity_lines
            output = pd.Series(
                [
                    render(_entity_items(m, row))
                    for row, m in enumerate(df["privacy_mask"].tolist())
                ],
                dtype=object,
            ).astype(str)
        else:
            output = self._string_column(df, self.target_column)
        columns: dict[str, Any] = {}
        if "id" in df.columns:
            columns["id"] = df["id"].reset_index(drop=True)
        columns["text_input"] = self._prefix + inputs + self._suffix
        columns["output"] = output
        built: pd.DataFrame = pd.DataFrame(columns)
        return built

    @staticmethod
    def _string_column(df: pd.DataFrame, column: str) -> pd.Series:
        if column not in df.columns:
            raise DatasetError(
                f"missing column {column!r} (columns found: {sorted(map(str, df.columns))})",
                column=column,
            )
        series = df[column].reset_index(drop=True)
        if series.dtype == object or not pd.api.types.is_string_dtype(series.dtype):
            bad = np.fromiter((type(v) is not str for v in series.tolist()), bool, len(series))
        else:
            bad = series.isna().to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DatasetError(
                f"row {row}: column {column!r} is not a string", column=column, row=row
            )
        return series.astype(str)


def _entity_items(mask: object, row: int) -> list[dict[str, Any]]:
    """``[{"label": ..., "value": ...}]`` of one row's privacy_mask, in order of appearance."""
    if isinstance(mask, np.ndarray):
        mask = mask.tolist()
    if not isinstance(mask, (list, tuple)):
        raise DatasetError(
            f"row {row}: privacy_mask is not a list of spans", column="privacy_mask", row=row
        )
    try:
        spans = sorted(mask, key=_BY_START)
        return [{"label": s["label"], "value": s["value"]} for s in spans]
    except (KeyError, TypeError):
        raise DatasetError(
            f"row {row}: privacy_mask spans need value/start/end/label",
            column="privacy_mask",
            row=row,
        ) from None


def _entities_json(items: list[dict[str, Any]]) -> str:
    """The ``entities`` target: a compact JSON list, UTF-8 kept."""
    return json.dumps(items, ensure_ascii=False, separators=(",", ":"))


def _entity_lines(items: list[dict[str, Any]]) -> str:
    """The ``entity_lines`` target: ``LABEL: value`` a line, ``NONE`` for no PII."""
    if not items:
        return "NONE"
    return "\n".join(f"{item['label']}: {' '.join(str(item['value']).split())}" for item in items)
