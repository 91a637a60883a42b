"""pii_gemini.dataset._bulk and _arrow: files checked column-wise give what the row path gives.

Every test compares loading a file (Parquet/JSONL: the Arrow readers and the bulk checks)
with loading the same rows as a DataFrame (the row-by-row path): the same frame, or the same
DatasetError (row and column), including rows that need the careful path.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _dataset_rows import LEGACY_ROW, check_normalised
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pii_gemini._exceptions import DatasetError
from pii_gemini.dataset import _load, load_pii_dataset
from pii_gemini.synthetic import generate_rows, to_legacy_schema

_ROWS = generate_rows(40, seed=21, languages=("en", "fr", "de", "it"))
_BASE: list[dict[str, Any]] = [
    {k: (int(v) if k == "id" else v) for k, v in r.items()} for r in _ROWS.to_dict(orient="records")
]


def _corrupt(row: dict[str, Any], how: str) -> dict[str, Any]:
    row = copy.deepcopy(row)
    spans = row["privacy_mask"]
    if how == "unordered" and len(spans) > 1:
        spans.reverse()
    elif how == "value" and spans:
        spans[0]["value"] = spans[0]["value"][::-1] + "x"
    elif how == "same_length_value" and spans:
        spans[-1]["value"] = "#" * len(spans[-1]["value"])
    elif how == "offsets" and spans:
        spans[0]["start"] += 1
    elif how == "out_of_range" and spans:
        spans[-1]["end"] = len(row["source_text"]) + 3
    elif how == "past_the_end" and spans:  # same length as the value, wholly past the text
        n = len(row["source_text"]) + 40
        spans[-1]["start"], spans[-1]["end"] = n, n + len(spans[-1]["value"])
    elif how == "numbered_label" and spans:
        spans[0]["label"] = spans[0]["label"] + "_2"
    elif how == "bad_label" and spans:
        spans[0]["label"] = "not a label"
    elif how == "missing_key" and spans:
        del spans[0]["label"]
    elif how == "null_start" and spans:
        spans[0]["start"] = None
    elif how == "no_source":
        row["source_text"] = None
    elif how == "no_target":
        row["target_text"] = None
    elif how == "no_mask":
        row["privacy_mask"] = None
    elif how == "empty_mask":
        row["privacy_mask"] = []
    elif how == "language_name":
        row["language"] = "Deutsch" if row["language"] == "de" else "English"
    return row


def _corrupt_legacy(row: dict[str, Any], how: str) -> dict[str, Any]:
    row = dict(row)
    mask, labels = row["privacy_mask"], row["span_labels"]
    if how in ("value", "same_length_value") and "': '" in mask:  # a value the text lacks
        row["privacy_mask"] = mask.replace("': '", "': 'X", 1)
    elif how == "offsets":  # span_labels cut the text elsewhere
        row["span_labels"] = labels.replace(", '", "0, '", 1)
    elif how == "unordered":  # a repr the dataset did not write: the careful path decides
        row["privacy_mask"] = mask.replace("{'", "{ '", 1)
    elif how == "no_source":
        row["unmasked_text"] = None
    elif how == "no_target":
        row["masked_text"] = None
    elif how == "no_mask":
        row["span_labels"] = None  # offsets walked from masked_text instead
    elif how == "bad_label":
        row["span_labels"] = labels.replace("'", '"')  # the JSON form
    elif how == "language_name":
        row["language"] = "Deutsch" if row["language"] == "de" else "English"
    return row


_HOW = st.sampled_from(
    ["none", "unordered", "value", "same_length_value", "offsets", "out_of_range",
     "past_the_end", "numbered_label", "bad_label", "missing_key", "null_start", "no_source",
     "no_target", "no_mask", "empty_mask", "language_name"]
)  # fmt: skip


def _outcome(load: Any) -> Any:
    try:
        df = load()
    except DatasetError as exc:
        return ("error", exc.row, exc.column)
    check_normalised(df)
    return (
        [df[c].tolist() for c in df.columns],
        [str(t) for t in df.dtypes],
        dict(df.attrs),
    )


def _write(rows: list[dict[str, Any]], path: Path) -> None:
    if path.suffix == ".parquet":
        pd.DataFrame(rows).to_parquet(path)
    else:
        with path.open("w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def _reference(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_json(path, lines=True, dtype=False)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    hows=st.lists(_HOW, min_size=len(_BASE), max_size=len(_BASE)),
    suffix=st.sampled_from([".jsonl", ".parquet"]),
    legacy=st.booleans(),
    options=st.fixed_dictionaries(
        {
            "errors": st.sampled_from(["raise", "skip"]),
            "language": st.sampled_from([None, "fr", ["en", "de"]]),
            "limit": st.sampled_from([None, 0, 3, 25]),
        }
    ),
)
def test_a_file_loads_as_its_rows_do(
    tmp_path: Path, hows: list[str], suffix: str, legacy: bool, options: dict[str, Any]
) -> None:
    if legacy:
        rows = to_legacy_schema(pd.DataFrame(_BASE)).to_dict(orient="records")
        rows = [_corrupt_legacy(r, how) for r, how in zip(rows, hows, strict=True)]
    else:
        rows = [_corrupt(r, how) for r, how in zip(_BASE, hows, strict=True)]
    path = tmp_path / f"rows{suffix}"
    _write(rows, path)
    by_file = _outcome(lambda: load_pii_dataset(path, **options))
    by_frame = _outcome(lambda: load_pii_dataset(_reference(path), **options))
    assert by_file == by_frame


def test_canonical_files_take_the_bulk_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def row_path(*args: object, **kwargs: object) -> None:
        raise AssertionError("the row-by-row path was taken")

    monkeypatch.setattr(_load, "normalise_frame", row_path)
    legacy = to_legacy_schema(_ROWS).to_dict(orient="records")
    for name, rows in (("current", _BASE), ("legacy", legacy)):
        for suffix in (".jsonl", ".parquet"):
            path = tmp_path / f"{name}{suffix}"
            _write(rows, path)
            df = load_pii_dataset(path)
            check_normalised(df)
            assert len(df) == len(rows) and df.attrs["schema"] == name


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_a_span_past_the_end_of_the_last_row_is_a_malformed_row(
    tmp_path: Path, suffix: str
) -> None:
    """Its offsets fail the range check; comparing its bytes anyway read past the buffer."""
    path = tmp_path / f"rows{suffix}"
    _write([*_BASE[:-1], _corrupt(_BASE[-1], "past_the_end")], path)
    with pytest.raises(DatasetError) as info:
        load_pii_dataset(path)
    assert (info.value.row, info.value.column) == (len(_BASE) - 1, "privacy_mask")
    assert len(load_pii_dataset(path, errors="skip")) == len(_BASE) - 1


def test_a_file_arrow_cannot_take_is_read_with_pandas(tmp_path: Path) -> None:
    """A type that changes between rows, or a column that only later rows have."""
    rows = [dict(_BASE[0]), dict(_BASE[1], id="b-2")]  # int id, then a string id
    path = tmp_path / "mixed.jsonl"
    _write(rows, path)
    assert load_pii_dataset(path)["id"].tolist() == [str(_BASE[0]["id"]), "b-2"]
    late = [{k: v for k, v in _BASE[0].items() if k != "language"}, _BASE[1]]
    path = tmp_path / "late.jsonl"
    _write(late, path)
    assert load_pii_dataset(path)["language"].tolist() == [None, _BASE[1]["language"]]


def test_the_hand_written_legacy_row_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "legacy.jsonl"
    _write([LEGACY_ROW, LEGACY_ROW], path)
    by_file = load_pii_dataset(path)
    pd.testing.assert_frame_equal(by_file, load_pii_dataset(pd.DataFrame([LEGACY_ROW] * 2)))


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_a_legacy_offset_too_big_for_int64_is_a_malformed_row(tmp_path: Path, suffix: str) -> None:
    """The column-wise parse cast it to int64 and failed with a bare ArrowInvalid."""
    rows = to_legacy_schema(pd.DataFrame(_BASE)).to_dict(orient="records")
    first_pii = rows[2]["span_labels"].index("], [") + 4
    huge = rows[2]["span_labels"][:first_pii] + "9" * 25 + rows[2]["span_labels"][first_pii:]
    rows[2] = dict(rows[2], span_labels=huge)
    path = tmp_path / f"rows{suffix}"
    _write(rows, path)
    with pytest.raises(DatasetError) as info:
        load_pii_dataset(path)
    assert (info.value.row, info.value.column) == (2, "span_labels")
    assert len(load_pii_dataset(path, errors="skip")) == len(rows) - 1
