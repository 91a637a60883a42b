"""pii_gemini.dataset._spans: every privacy_mask form, checked on the fast and the careful path."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _dataset_rows import LEGACY_ROW, LEGACY_SPANS, check_normalised, current_row
from hypothesis import given, settings
from hypothesis import strategies as st

from pii_gemini._exceptions import DatasetError
from pii_gemini.dataset import load_pii_dataset
from pii_gemini.labels import LABELS_200K
from pii_gemini.synthetic import to_legacy_schema


def test_legacy_row_with_span_labels() -> None:
    df = load_pii_dataset(pd.DataFrame([LEGACY_ROW]))
    check_normalised(df)
    assert df.attrs["schema"] == "legacy"
    assert [(s["value"], s["label"]) for s in df.loc[0, "privacy_mask"]] == LEGACY_SPANS
    assert df.loc[0, "target_text"] == LEGACY_ROW["masked_text"]
    assert df.loc[0, "id"] == "0" and df.loc[0, "language"] is None


def test_legacy_row_without_span_labels_walks_placeholders() -> None:
    row = {k: v for k, v in LEGACY_ROW.items() if k != "span_labels"}
    with_spans = load_pii_dataset(pd.DataFrame([LEGACY_ROW]))
    without = load_pii_dataset(pd.DataFrame([row]))
    assert without.loc[0, "privacy_mask"] == with_spans.loc[0, "privacy_mask"]


def test_legacy_privacy_mask_in_other_order_and_as_dict() -> None:
    mapping = {
        "[DATE_1]": "12/05/2024", "[PREFIX_1]": "Mr.", "[LASTNAME_1]": "O'Neil",
        "[CURRENCYSYMBOL_1]": "£", "[AMOUNT_1]": "850.75", "[FIRSTNAME_1]": "Zoé",
        "[FIRSTNAME_2]": "Zoé",
    }  # fmt: skip
    reordered = load_pii_dataset(pd.DataFrame([{**LEGACY_ROW, "privacy_mask": repr(mapping)}]))
    as_dict = load_pii_dataset(pd.DataFrame([{**LEGACY_ROW, "privacy_mask": mapping}]))
    expected = load_pii_dataset(pd.DataFrame([LEGACY_ROW])).loc[0, "privacy_mask"]
    assert reordered.loc[0, "privacy_mask"] == expected == as_dict.loc[0, "privacy_mask"]


@pytest.mark.parametrize(
    "mask",
    [
        json.dumps(current_row()["privacy_mask"]),
        repr(current_row()["privacy_mask"]),
        np.array(current_row()["privacy_mask"], dtype=object),
        list(reversed(current_row()["privacy_mask"])),
    ],
    ids=["json-string", "python-repr", "numpy", "unordered"],
)
def test_current_privacy_mask_forms(mask: Any) -> None:
    df = load_pii_dataset(pd.DataFrame([current_row(privacy_mask=mask)]))
    assert df.loc[0, "privacy_mask"] == current_row()["privacy_mask"]
    assert df.loc[0, "id"] == "7"


BAD_ROWS = [
    ("mask-unparsable", {"privacy_mask": "[{'value': 'Omar', "}, "privacy_mask", "parsable"),
    ("mask-not-list", {"privacy_mask": 5}, "privacy_mask", "not a list"),
    ("mask-missing-key", {"privacy_mask": [{"value": "Omar", "start": 5, "end": 9}]},
     "privacy_mask", "lacks"),
    ("offset-out-of-range",
     {"privacy_mask": [{"value": "Omar", "start": 5, "end": 99, "label": "FIRSTNAME"}]},
     "privacy_mask", "out of range"),
    ("negative-offset",
     {"privacy_mask": [{"value": "Omar", "start": -4, "end": 0, "label": "FIRSTNAME"}]},
     "privacy_mask", "out of range"),
    ("value-mismatch",
     {"privacy_mask": [{"value": "Omar", "start": 4, "end": 8, "label": "FIRSTNAME"}]},
     "privacy_mask", "!= source_text"),
    ("float-offset",
     {"privacy_mask": [{"value": "Omar", "start": 5.5, "end": 9, "label": "FIRSTNAME"}]},
     "privacy_mask", "integers"),
    ("bad-label",
     {"privacy_mask": [{"value": "Omar", "start": 5, "end": 9, "label": "first name"}]},
     "privacy_mask", "label"),
    ("text-not-string", {"source_text": None}, "source_text", "not a string"),
    ("target-not-string", {"target_text": 3}, "target_text", "not a string"),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "column", "match"), [b[1:] for b in BAD_ROWS],
                         ids=[b[0] for b in BAD_ROWS])  # fmt: skip
def test_malformed_current_rows(overrides: dict[str, Any], column: str, match: str) -> None:
    raw = pd.DataFrame([current_row(id=1), current_row(id=2, **overrides), current_row(id=3)])
    with pytest.raises(DatasetError, match=match) as info:
        load_pii_dataset(raw)
    assert info.value.row == 1 and info.value.column == column
    assert "row 1" in str(info.value) and "Omar" not in str(info.value)
    assert "555-0100" not in str(info.value)
    skipped = load_pii_dataset(raw, errors="skip")
    assert skipped["id"].tolist() == ["1", "3"] and skipped.attrs["skipped_rows"] == 1


BAD_LEGACY = [
    ("dict-unparsable", {"privacy_mask": "{'[PREFIX_1]': 'Mr."}, "privacy_mask"),
    ("dict-not-dict", {"privacy_mask": "['Mr.']"}, "privacy_mask"),
    ("dict-value-differs", {"privacy_mask": LEGACY_ROW["privacy_mask"].replace("850.75", "850.76")},
     "privacy_mask"),
    ("span-out-of-range", {"span_labels": "[[0, 11, 'O'], [11, 140, 'PREFIX_1']]"}, "span_labels"),
    ("span-unparsable", {"span_labels": "[[0, 11, O]]"}, "span_labels"),
    ("text-not-string", {"unmasked_text": 12}, "unmasked_text"),
    ("masked-not-string", {"masked_text": None}, "masked_text"),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "column"), [b[1:] for b in BAD_LEGACY],
                         ids=[b[0] for b in BAD_LEGACY])  # fmt: skip
def test_malformed_legacy_rows(overrides: dict[str, Any], column: str) -> None:
    raw = pd.DataFrame([LEGACY_ROW, {**LEGACY_ROW, **overrides}])
    with pytest.raises(DatasetError) as info:
        load_pii_dataset(raw)
    assert info.value.row == 1 and info.value.column == column
    assert "O'Neil" not in str(info.value) and "850.75" not in str(info.value)
    assert len(load_pii_dataset(raw, errors="skip")) == 1


def test_legacy_walk_detects_misalignment() -> None:
    row = {k: v for k, v in LEGACY_ROW.items() if k != "span_labels"}
    bad_value = {**row, "privacy_mask": row["privacy_mask"].replace("850.75", "999.99")}
    bad_literal = {**row, "masked_text": row["masked_text"].replace("Dear", "Hi")}
    for bad, column in ((bad_value, "privacy_mask"), (bad_literal, "masked_text")):
        with pytest.raises(DatasetError) as info:
            load_pii_dataset(pd.DataFrame([bad]))
        assert info.value.column == column and info.value.row == 0


_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@st.composite
def rows_with_spans(draw: st.DrawFn) -> dict[str, Any]:
    """A text made of literal pieces and PII values (quotes, backslashes, brackets, unicode)."""
    piece = st.tuples(_TEXT, st.text(min_size=1, max_size=10), st.sampled_from(sorted(LABELS_200K)))
    pieces = draw(st.lists(piece, max_size=6))
    tail = draw(_TEXT)
    text, spans = "", []
    for literal, value, label in pieces:
        text += literal
        spans.append({"value": value, "start": len(text), "end": len(text) + len(value),
                      "label": label})  # fmt: skip
        text += value
    text += tail
    return {"source_text": text, "target_text": "", "privacy_mask": spans, "language": "en"}


@settings(max_examples=60, deadline=None)
@given(st.lists(rows_with_spans(), min_size=1, max_size=4))
def test_property_spans_survive_both_schemas(rows: list[dict[str, Any]]) -> None:
    current = pd.DataFrame(rows)
    legacy = to_legacy_schema(current)
    from_current = load_pii_dataset(current)
    from_legacy = load_pii_dataset(legacy)
    without_offsets = load_pii_dataset(legacy.drop(columns=["span_labels"]))
    expected = [row["privacy_mask"] for row in rows]
    assert from_current["privacy_mask"].tolist() == expected
    assert from_legacy["privacy_mask"].tolist() == expected
    assert without_offsets["privacy_mask"].tolist() == expected  # walked from masked_text


_FIRST_CALL = """
from pii_gemini.dataset import _spans
from pii_gemini.synthetic import generate_rows, to_legacy_schema
rows = generate_rows(50, seed=3)
legacy = to_legacy_schema(rows)
current = [_spans.fast_current(t, m) for t, m in zip(rows["source_text"], rows["privacy_mask"])]
old = [_spans.fast_legacy(t, m, s) for t, m, s in
       zip(legacy["unmasked_text"], legacy["privacy_mask"], legacy["span_labels"])]
print(sum(r is None for r in current), sum(r is None for r in old))
"""


def test_fast_paths_take_canonical_rows_in_a_fresh_process() -> None:
    """Issue 17: the label caches start empty, and the fast paths used to decline every row
    of a process's first load (all of them went the slow, careful way)."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _FIRST_CALL], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["0", "0"]


@pytest.mark.parametrize(
    "item", ["[0,  1, 'NAME_1']", "[0,\t1, 'NAME_1']", '[0, 1, "NAME_1"]', "[ 0, 1, 'NAME_1' ]"]
)
def test_a_legacy_item_the_fast_path_cannot_read_sends_the_row_to_the_careful_path(
    item: str,
) -> None:
    """The fast path skipped a span_labels item it could not parse and kept the row with one
    span fewer; the careful path (and a file's column-wise path) reads the item."""
    spans = load_pii_dataset(pd.DataFrame([_two_names(item)]))["privacy_mask"].iloc[0]
    assert [(s["start"], s["end"]) for s in spans] == [(0, 1), (2, 3)]


def test_a_legacy_item_with_a_lower_case_label_is_a_malformed_row() -> None:
    """Its placeholder is not the one privacy_mask names (the fast path dropped the item)."""
    with pytest.raises(DatasetError) as info:
        load_pii_dataset(pd.DataFrame([_two_names("[0, 1, 'name_1']")]))
    assert (info.value.row, info.value.column) == (0, "privacy_mask")


def _two_names(item: str) -> dict[str, str]:
    return {
        "unmasked_text": "111",
        "masked_text": "[NAME_1]1[NAME_1]",
        "privacy_mask": "{'[NAME_1]': '1'}",
        "span_labels": f"[{item}, [1, 2, 'O'], [2, 3, 'NAME_1']]",
    }
