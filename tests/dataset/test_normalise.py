"""pii_gemini.dataset._normalise: ids, language filter, limit, skipped rows, input kept."""

from __future__ import annotations

import pandas as pd
import pytest
from _dataset_rows import LEGACY_ROW, current_row

from pii_gemini._exceptions import DatasetError
from pii_gemini.dataset import load_pii_dataset
from pii_gemini.synthetic import generate_rows


def test_missing_ids_are_an_error() -> None:
    raw = pd.DataFrame([current_row(), current_row(id=None)])
    with pytest.raises(DatasetError) as info:
        load_pii_dataset(raw)
    assert info.value.column == "id" and info.value.row == 1


def test_language_filter_and_limit() -> None:
    raw = generate_rows(200, seed=4, languages=("en", "fr", "de"))
    fr = load_pii_dataset(raw, language="fr")
    assert set(fr["language"]) == {"fr"} and len(fr) == (raw["language"] == "fr").sum()
    two = load_pii_dataset(raw, language=["fr", "German"])
    assert set(two["language"]) == {"fr", "de"}
    first = load_pii_dataset(raw, language="de", limit=5)
    assert (
        first["id"].tolist() == raw.loc[raw["language"] == "de", "id"].astype(str).head(5).tolist()
    )
    assert len(load_pii_dataset(raw, limit=0)) == 0


def test_language_filter_needs_a_language_column() -> None:
    with pytest.raises(DatasetError) as info:
        load_pii_dataset(pd.DataFrame([LEGACY_ROW]), language="fr")
    assert info.value.column == "language"


def test_limit_counts_good_rows_when_skipping() -> None:
    rows = [current_row(id=i) for i in range(6)]
    rows[1] = current_row(id=1, source_text=None)
    df = load_pii_dataset(pd.DataFrame(rows), limit=3, errors="skip")
    assert df["id"].tolist() == ["0", "2", "3"] and df.attrs["skipped_rows"] == 1
    # several skipped rows: later chunks top the result up to the limit, in order
    many = [current_row(id=i, source_text=None if i in (1, 2, 3) else current_row()["source_text"])
            for i in range(10)]  # fmt: skip
    df = load_pii_dataset(pd.DataFrame(many), limit=5, errors="skip")
    assert df["id"].tolist() == ["0", "4", "5", "6", "7"] and df.attrs["skipped_rows"] == 3
    # in raise mode rows past the limit are not even looked at
    rows[5] = current_row(id=5, source_text=None)
    assert len(load_pii_dataset(pd.DataFrame(rows[:1] + rows[2:]), limit=2)) == 2


def test_input_frame_is_not_modified() -> None:
    raw = pd.DataFrame([current_row(privacy_mask=list(reversed(current_row()["privacy_mask"])))])
    before = raw.copy(deep=True)
    load_pii_dataset(raw)
    pd.testing.assert_frame_equal(raw, before)


def test_skipped_rows_are_logged_under_the_package_name_without_pii(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rows = [current_row(id=1), current_row(id=2, source_text=None), current_row(id=3)]
    with caplog.at_level("WARNING", logger="pii_gemini.dataset"):
        load_pii_dataset(pd.DataFrame(rows), errors="skip")
    [record] = caplog.records
    assert record.name == "pii_gemini.dataset"  # the name users configure, whatever module logs
    assert record.getMessage() == "skipped 1 malformed row(s) of 3"


_LONE = "\ud800"  # half of a surrogate pair: not a character, UTF-8 (and Arrow) cannot hold it


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("language", _LONE),
        ("id", "a" + _LONE),
        ("target_text", "Dear [FIRSTNAME], call [PHONENUMBER]." + _LONE),
        ("source_text", "Dear Omar, call 555-0100." + _LONE),
    ],
)
@pytest.mark.parametrize("language", [None, "en"])
def test_a_lone_surrogate_in_a_string_column_is_a_malformed_row(
    column: str, value: str, language: str | None
) -> None:
    rows = pd.DataFrame([current_row(id=f"r{i}") for i in range(3)], dtype=object)
    rows.at[1, column] = value
    with pytest.raises(DatasetError) as info:
        load_pii_dataset(rows, language=language)
    assert (info.value.column, info.value.row) == (column, 1)
    assert _LONE not in str(info.value) and "surrogate" in str(info.value)
    kept = load_pii_dataset(rows, language=language, errors="skip")
    assert kept["id"].tolist() == ["r0", "r2"] and kept.attrs["skipped_rows"] == 1
