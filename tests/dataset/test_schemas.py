"""pii_gemini.dataset._schemas: which schema a frame has, its column names, language codes."""

from __future__ import annotations

import pandas as pd
import pytest
from _dataset_rows import check_normalised, current_row

from pii_gemini._exceptions import DatasetError
from pii_gemini.dataset import (
    load_pii_dataset,
    normalize_language,
)
from pii_gemini.synthetic import generate_rows


@pytest.mark.parametrize("schema", ["current", "legacy"])
def test_synthetic_round_trip(schema: str) -> None:
    raw = generate_rows(300, seed=11, schema=schema, languages=("en", "fr", "de", "it"))
    df = load_pii_dataset(raw)
    check_normalised(df)
    assert len(df) == 300 and df.attrs["schema"] == schema and df.attrs["skipped_rows"] == 0
    src = "source_text" if schema == "current" else "unmasked_text"
    assert df["source_text"].tolist() == raw[src].tolist()
    assert set(df["language"]) == {"en", "fr", "de", "it"}


def test_both_schemas_give_the_same_spans() -> None:
    cur = load_pii_dataset(generate_rows(200, seed=5))
    leg = load_pii_dataset(generate_rows(200, seed=5, schema="legacy"))
    assert cur["privacy_mask"].tolist() == leg["privacy_mask"].tolist()
    # the masked texts differ only by the _N index
    stripped = leg["target_text"].str.replace(r"_\d+\]", "]", regex=True)
    assert stripped.tolist() == cur["target_text"].tolist()


def test_masked_text_schema_400k_style() -> None:
    raw = pd.DataFrame(
        [
            {
                "source_text": "Ciao Giulia Rossi",
                "masked_text": "Ciao [GIVENNAME] [SURNAME]",
                "privacy_mask": [
                    {
                        "value": "Giulia",
                        "start": 5,
                        "end": 11,
                        "label": "GIVENNAME",
                        "label_index": 1,
                    },
                    {
                        "value": "Rossi",
                        "start": 12,
                        "end": 17,
                        "label": "SURNAME",
                        "label_index": 1,
                    },
                ],
                "uid": 9001,
                "language": "Italian",
                "locale": "IT",
                "split": "train",
            }
        ]
    )
    df = load_pii_dataset(raw)
    check_normalised(df)
    assert df.attrs["schema"] == "masked_text"
    assert df.loc[0, "id"] == "9001" and df.loc[0, "language"] == "it"
    assert df.loc[0, "target_text"] == "Ciao [GIVENNAME] [SURNAME]"


def test_300k_style_labels_and_language_names() -> None:
    raw = pd.DataFrame(
        [
            current_row(
                source_text="Anna Maria Smith",
                target_text="[GIVENNAME1] [GIVENNAME2] [LASTNAME1]",
                privacy_mask=[
                    {"value": "Anna", "start": 0, "end": 4, "label": "GIVENNAME1"},
                    {"value": "Maria", "start": 5, "end": 10, "label": "GIVENNAME2"},
                    {"value": "Smith", "start": 11, "end": 16, "label": "LASTNAME1"},
                ],
                id="40767A",
                language="English",
            )
        ]
    )
    df = load_pii_dataset(raw)
    assert [s["label"] for s in df.loc[0, "privacy_mask"]] == [
        "GIVENNAME1",
        "GIVENNAME2",
        "LASTNAME1",
    ]
    assert df.loc[0, "language"] == "en" and df.loc[0, "id"] == "40767A"


def test_forced_schema() -> None:
    raw = pd.DataFrame([current_row()])
    assert load_pii_dataset(raw, schema="current").attrs["schema"] == "current"
    with pytest.raises(DatasetError) as info:
        load_pii_dataset(raw, schema="legacy")
    assert info.value.column == "unmasked_text"


def test_unknown_schema_names_columns() -> None:
    with pytest.raises(DatasetError) as info:
        load_pii_dataset(pd.DataFrame({"text": ["a"], "label": ["b"]}))
    message = str(info.value)
    assert "unknown dataset schema" in message and "'text'" in message and "source_text" in message


def test_missing_privacy_mask_column() -> None:
    raw = pd.DataFrame([current_row()]).drop(columns=["privacy_mask"])
    with pytest.raises(DatasetError) as info:
        load_pii_dataset(raw)
    assert info.value.column == "privacy_mask"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("English", "en"), ("EN", "en"), (" fr ", "fr"), ("en_US", "en"), ("pt-BR", "pt"),
     (None, None), (float("nan"), None), ("", None), ("Klingon language", "Klingon language"),
     ("Dutch", "nl")],
)  # fmt: skip
def test_normalize_language(value: object, expected: str | None) -> None:
    assert normalize_language(value) == expected
