"""pii_gemini.dataset._spanarray and the column-wise span checks.

``privacy_mask`` is checked in Arrow but is a plain object column of lists of span dicts,
as in any pandas frame (a file saved from it opens without this package); the byte-wise
value check of ``_bulk_spans`` agrees with the row-by-row check on hostile rows (offsets in
and out of range, values off by a byte, non-ASCII text).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from _dataset_rows import LEGACY_ROW, check_normalised, current_row
from hypothesis import given, settings
from hypothesis import strategies as st

from pii_gemini._exceptions import DatasetError
from pii_gemini.dataset import load_pii_dataset
from pii_gemini.dataset._bulk_spans import current_spans
from pii_gemini.dataset._spanarray import SPAN_LIST, span_series, spans_from_dicts
from pii_gemini.dataset._spans import RowError, spans_current
from pii_gemini.synthetic import generate_rows

_ROWS = generate_rows(30, seed=5)


def _by_rows(frame: pd.DataFrame) -> list[list[dict[str, Any]]]:
    """The spans as the row-by-row path's Python builder makes them (the reference)."""
    pairs = zip(frame["source_text"], frame["privacy_mask"], strict=True)
    return [spans_current(text, mask) for text, mask in pairs]


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl", None])
def test_privacy_mask_reads_as_lists_of_span_dicts(tmp_path: Path, suffix: str | None) -> None:
    if suffix is None:
        df = load_pii_dataset(_ROWS)
    else:
        path = tmp_path / f"rows{suffix}"
        if suffix == ".parquet":
            _ROWS.to_parquet(path)
        else:
            _ROWS.to_json(path, orient="records", lines=True, force_ascii=False)
        df = load_pii_dataset(path)
    expected = _by_rows(_ROWS)
    column = df["privacy_mask"]
    assert column.dtype == object
    assert column.tolist() == expected
    assert list(column) == expected
    assert [column.iloc[i] for i in range(len(df))] == expected
    assert df.loc[3, "privacy_mask"] == expected[3]
    assert [r.privacy_mask for r in df.itertuples()] == expected
    as_numpy = column.to_numpy()
    assert as_numpy.dtype == object and [type(m) for m in as_numpy] == [list] * len(df)
    assert list(as_numpy) == expected
    assert list(expected[0][0]) == ["value", "start", "end", "label"]
    check_normalised(df)


def test_slices_takes_and_concat_give_the_same_rows() -> None:
    df = load_pii_dataset(_ROWS)
    expected = _by_rows(_ROWS)
    assert df.iloc[5:9]["privacy_mask"].tolist() == expected[5:9]
    assert df.take([4, 0])["privacy_mask"].tolist() == [expected[4], expected[0]]
    both = pd.concat([df, df], ignore_index=True)["privacy_mask"]
    assert both.dtype == object and both.tolist() == expected * 2
    assert df.head(0)["privacy_mask"].tolist() == []


def test_the_column_behaves_as_any_object_column() -> None:
    """Cells assign, ``.str`` and boolean filters work (an Arrow extension column broke
    them: ArrowNotImplementedError, 'Can only use .str accessor', a sequence error)."""
    df = load_pii_dataset(_ROWS)
    expected = _by_rows(_ROWS)
    df.at[1, "privacy_mask"] = []
    df.at[0, "privacy_mask"] = expected[2][:1]
    assert df["privacy_mask"].tolist()[:3] == [expected[2][:1], [], expected[2]]
    assert df["privacy_mask"].str.len().tolist() == [1, 0, *map(len, expected[2:])]
    assert len(df[df["privacy_mask"].astype(bool)]) == len(df) - 1
    df["privacy_mask"].iloc[3].append({"value": "x", "start": 0, "end": 1, "label": "X"})
    assert len(df["privacy_mask"].iloc[3]) == len(expected[3]) + 1  # a row is its list


def test_a_saved_frame_opens_with_plain_pandas(tmp_path: Path) -> None:
    """A file saved from a loaded frame is read by pandas in a process that never imported
    pii_gemini (the extension dtype made it 'data type pii_spans not understood')."""
    import subprocess
    import sys

    df = load_pii_dataset(_ROWS)
    df.to_parquet(tmp_path / "saved.parquet")
    code = (
        "import sys, pandas as pd; df = pd.read_parquet(sys.argv[1]); "
        "assert 'pii_gemini' not in sys.modules; print(len(df), len(df['privacy_mask'][0]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "saved.parquet")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(len(df)), str(len(_by_rows(_ROWS)[0]))]
    again = load_pii_dataset(tmp_path / "saved.parquet")
    assert again["privacy_mask"].tolist() == _by_rows(_ROWS)


def test_rows_convert_across_blocks_and_chunks() -> None:
    rows = [[{"value": "a", "start": i, "end": i + 1, "label": "X"}] * (i % 3) for i in range(9000)]
    array = spans_from_dicts(rows)
    chunked = pa.chunked_array([array.slice(0, 5000), array.slice(5000)])
    assert span_series(chunked).tolist() == rows
    assert span_series(array).tolist() == rows
    assert spans_from_dicts([]).type == SPAN_LIST


def test_the_legacy_row_gives_the_same_spans_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "legacy.jsonl"
    pd.DataFrame([LEGACY_ROW] * 3).to_json(path, orient="records", lines=True, force_ascii=False)
    by_file = load_pii_dataset(path)["privacy_mask"]
    by_frame = load_pii_dataset(pd.DataFrame([LEGACY_ROW] * 3))["privacy_mask"]
    assert by_file.tolist() == by_frame.tolist() and by_file.dtype == object


_ASCII = st.text(alphabet=st.sampled_from("abcdefgh -"), min_size=0, max_size=12)
_TEXT = _ASCII | st.text(alphabet=st.sampled_from("ab é€\U0001f600-"), min_size=0, max_size=12)


@st.composite
def _rows(draw: Any) -> tuple[list[str], list[list[dict[str, Any]]]]:
    """Texts (some non-ASCII) with spans in order, mostly true substrings; some with a value
    off by one character or of another length, offsets out of range or past the end,
    reversed, or out of order."""
    texts = draw(st.lists(_TEXT, min_size=1, max_size=8))
    masks = []
    for text in texts:
        cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=8)))
        spans = []
        for start, end in zip(cuts[::2], cuts[1::2], strict=False):
            how = draw(st.sampled_from(["same"] * 6 + ["flip", "longer", "shorter", "other",
                                                      "range", "reversed"]))  # fmt: skip
            if how == "range":
                start, end = draw(st.integers(-2, len(text) + 3)), draw(st.integers(-2, 20))
            elif how == "reversed":
                start, end = end, start
            value = text[max(start, 0) : max(end, 0)]
            if how == "flip" and value:
                k = draw(st.integers(0, len(value) - 1))
                value = value[:k] + ("b" if value[k] != "b" else "a") + value[k + 1 :]
            elif how == "longer":
                value += "a"
            elif how == "shorter":
                value = value[1:]
            elif how == "other":
                value = draw(_TEXT)
            spans.append({"value": value, "start": start, "end": end, "label": "NAME"})
        if len(spans) > 1 and draw(st.integers(0, 3)) == 0:
            spans.reverse()
        masks.append(spans)
    return texts, masks


def _accepted(text: str, spans: list[dict[str, Any]]) -> bool:
    try:
        spans_current(text, spans)
    except RowError:
        return False
    return sorted(s["start"] for s in spans) == [s["start"] for s in spans]


@settings(max_examples=150, deadline=None)
@given(_rows())
def test_column_wise_checks_agree_with_the_row_checks(
    rows: tuple[list[str], list[list[dict[str, Any]]]],
) -> None:
    """A row passes in bulk exactly when the row path accepts it as it is (unordered rows go
    the careful path, which sorts them), and then with the same spans."""
    texts, masks = rows
    ok, spans = current_spans(spans_from_dicts(masks), pa.array(texts, pa.string()))
    expected = [_accepted(t, m) for t, m in zip(texts, masks, strict=True)]
    assert ok.tolist() == expected
    got = spans.to_pylist()
    for row in np.flatnonzero(ok).tolist():
        assert got[row] == spans_current(texts[row], masks[row])


def test_a_current_row_with_a_non_ascii_text_is_checked_by_characters() -> None:
    row = current_row(
        source_text="Zoé paid €5 to Omar",
        privacy_mask=[
            {"value": "Zoé", "start": 0, "end": 3, "label": "FIRSTNAME"},
            {"value": "Omar", "start": 15, "end": 19, "label": "FIRSTNAME"},
        ],
    )
    assert load_pii_dataset(pd.DataFrame([row]))["privacy_mask"].iloc[0][1]["value"] == "Omar"


_LEGACY_TEXT = st.text(alphabet=st.sampled_from("ab '\"\\\n\té€-1"), min_size=1, max_size=14)
_BREAK = ["none"] * 5 + [
    "huge", "space", "lower", "unicode_digit", "no_quote", "brackets", "value", "order",
    "label_o", "double_quotes", "empty",
]  # fmt: skip


@st.composite
def _legacy_row(draw: Any) -> dict[str, Any]:
    """An original-schema row whose span_labels and privacy_mask are canonical or broken one
    way; values may hold quotes, backslashes, control and non-ASCII characters."""
    text = draw(_LEGACY_TEXT)
    cuts = sorted(set(draw(st.lists(st.integers(0, len(text)), max_size=6))))
    labels = draw(st.lists(st.sampled_from(["NAME_1", "EMAIL_1", "NAME_2", "ID_9"]),
                           min_size=len(cuts), max_size=len(cuts)))  # fmt: skip
    items, mapping, at = [], {}, 0
    for (start, end), label in zip(zip(cuts[::2], cuts[1::2], strict=False), labels, strict=False):
        if start > at:
            items.append([at, start, "O"])
        items.append([start, end, label])
        mapping[f"[{label}]"] = text[start:end]
        at = end
    how = draw(st.sampled_from(_BREAK))
    pii = [i for i, item in enumerate(items) if item[2] != "O"]
    spans = repr(items)
    if pii and how in ("huge", "space", "lower", "unicode_digit", "no_quote", "label_o"):
        k = draw(st.sampled_from(pii))
        s, e, label = items[k]
        broken = {
            "huge": f"[{'9' * 20}{s}, {e}, '{label}']",
            "space": f"[{s},  {e}, '{label}']",
            "lower": f"[{s}, {e}, '{label.lower()}']",
            "unicode_digit": f"[{s}, {e}\u0661, '{label}']",
            "no_quote": f"[{s}, {e}, {label}]",
            "label_o": f"[{s}, {e}, 'O']",
        }[how]
        spans = "[" + ", ".join(broken if i == k else repr(x) for i, x in enumerate(items)) + "]"
    elif how == "brackets":
        spans = "[" + spans + "]"
    elif how == "double_quotes":
        spans = spans.replace("'", '"')
    elif how == "empty":
        spans = ""
    mask = repr(mapping)
    if how == "value" and mapping:
        key = draw(st.sampled_from(sorted(mapping)))
        mask = repr({**mapping, key: mapping[key] + "x"})
    elif how == "order" and len(mapping) > 1:
        mask = repr(dict(reversed(list(mapping.items()))))
    return {"unmasked_text": text, "masked_text": text, "privacy_mask": mask,
            "span_labels": spans}  # fmt: skip


def _loaded(load: Any) -> Any:
    try:
        df = load()
    except DatasetError as exc:
        return ("error", exc.row, exc.column)
    return df["privacy_mask"].tolist(), df.attrs["skipped_rows"], df.attrs["skipped_reasons"]


@settings(max_examples=60, deadline=None)
@given(st.lists(_legacy_row(), min_size=1, max_size=6), st.sampled_from(["raise", "skip"]))
def test_legacy_rows_column_wise_agree_with_the_row_path(
    rows: list[dict[str, Any]], errors: str
) -> None:
    """The same spans, or the same error (row, column), from a file (column-wise parse of
    span_labels, values cut as bytes, reprs rebuilt) as from the rows in a DataFrame."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rows.jsonl"
        pd.DataFrame(rows).to_json(path, orient="records", lines=True, force_ascii=False)
        by_file = _loaded(lambda: load_pii_dataset(path, errors=errors))
    by_frame = _loaded(lambda: load_pii_dataset(pd.DataFrame(rows), errors=errors))
    assert by_file == by_frame
