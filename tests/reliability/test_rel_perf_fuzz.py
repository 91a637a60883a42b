"""Issue 13, item 13: load_pii_dataset and PromptBuilder raise only PiiGeminiError subclasses.

Hypothesis throws malformed cells of every kind at both (lists and dicts where strings belong,
lone surrogates, NaN, nested garbage in ``privacy_mask``), as DataFrames and as JSONL files;
whatever comes back must be a normalised frame or a library exception, never a TypeError.
"""

from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pii_gemini import PiiGeminiError
from pii_gemini.dataset import NORMALISED_COLUMNS, PromptBuilder, load_pii_dataset

_TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=12)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 40),
    st.floats(allow_nan=True, allow_infinity=True),
    _TEXT,
    st.sampled_from(["en", "English", "fr", " ", "\ud83d", "FIRSTNAME", "[FIRSTNAME_1]"]),
)
_SPAN = st.fixed_dictionaries(
    {},
    optional={
        "value": _SCALARS,
        "start": st.one_of(st.integers(-2, 30), _SCALARS),
        "end": st.one_of(st.integers(-2, 30), _SCALARS),
        "label": st.one_of(st.sampled_from(["NAME", "FIRSTNAME_1", "bad label", "O"]), _SCALARS),
        "extra": _SCALARS,
    },
)
_CELL = st.recursive(
    st.one_of(_SCALARS, _SPAN),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_TEXT, inner, max_size=3)),
    max_leaves=6,
)
_COLUMNS = (
    "source_text", "target_text", "privacy_mask", "unmasked_text", "masked_text",
    "span_labels", "language", "id", "uid",
)  # fmt: skip


@st.composite
def raw_frames(draw: st.DrawFn) -> pd.DataFrame:
    """A frame of 1-4 rows whose columns come from the ai4privacy schemas, any cell any value."""
    columns = draw(st.lists(st.sampled_from(_COLUMNS), min_size=2, max_size=6, unique=True))
    n = draw(st.integers(1, 4))
    data = {c: [draw(_CELL) for _ in range(n)] for c in columns}
    frame = pd.DataFrame({c: pd.Series(v, dtype=object) for c, v in data.items()})
    return frame


_LOAD_OPTIONS = st.fixed_dictionaries(
    {
        "errors": st.sampled_from(["raise", "skip"]),
        "language": st.one_of(st.none(), st.sampled_from(["en", ["fr", "de"]])),
        "limit": st.one_of(st.none(), st.integers(0, 3)),
    }
)


def _check(result: pd.DataFrame) -> None:
    assert list(result.columns) == list(NORMALISED_COLUMNS)
    for text, spans in zip(result["source_text"], result["privacy_mask"], strict=True):
        for span in spans:
            assert text[span["start"] : span["end"]] == span["value"]


def test_a_list_in_the_language_cell_is_a_malformed_row() -> None:
    """The fuzzer's first find: ``errors="skip"`` crashed with TypeError (unhashable list)."""
    rows = pd.DataFrame(
        {
            "source_text": ["Hi Ann", "Hi Bob"],
            "target_text": ["Hi [NAME]", "Hi [NAME]"],
            "privacy_mask": [
                [{"value": "Ann", "start": 3, "end": 6, "label": "NAME"}],
                [{"value": "Bob", "start": 3, "end": 6, "label": "NAME"}],
            ],
            "language": [["en"], "en"],
        }
    )
    kept = load_pii_dataset(rows, errors="skip")
    assert kept["source_text"].tolist() == ["Hi Bob"] and kept.attrs["skipped_rows"] == 1
    with pytest.raises(PiiGeminiError) as info:
        load_pii_dataset(rows)
    assert getattr(info.value, "row", None) == 0 and getattr(info.value, "column", None) == (
        "language"
    )
    assert len(load_pii_dataset(rows, language="en", errors="skip")) == 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=raw_frames(), options=_LOAD_OPTIONS)
def test_load_pii_dataset_on_any_frame_raises_only_library_errors(
    frame: pd.DataFrame, options: dict[str, Any]
) -> None:
    try:
        result = load_pii_dataset(frame, **options)
    except PiiGeminiError:
        return
    _check(result)


def _jsonable(value: Any) -> Any:
    """JSON has no NaN/inf: write them as strings (lone surrogates stay, escaped)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(frame=raw_frames(), options=_LOAD_OPTIONS)
@example(  # found by this test: pandas' str dtype refused the lone surrogate (bare error)
    frame=pd.DataFrame(
        {"source_text": [None], "target_text": [None], "privacy_mask": ["\ud800"]}, dtype=object
    ),
    options={"errors": "raise", "language": None, "limit": None},
)
@example(  # found by this test: an all-null legacy row left an untyped Arrow array
    frame=pd.DataFrame(
        {
            c: [None]
            for c in (
                "source_text",
                "target_text",
                "privacy_mask",
                "unmasked_text",
                "masked_text",
                "span_labels",
            )
        }
    ),
    options={"errors": "raise", "language": None, "limit": None},
)
def test_load_pii_dataset_on_any_jsonl_file_raises_only_library_errors(
    tmp_path: Path, frame: pd.DataFrame, options: dict[str, Any]
) -> None:
    path = tmp_path / "fuzz.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for record in frame.to_dict(orient="records"):
            fh.write(json.dumps(_jsonable(record)) + "\n")
    try:
        result = load_pii_dataset(path, **options)
    except PiiGeminiError:
        return
    _check(result)


_BUILDER_ARGS = st.fixed_dictionaries(
    {
        "template": st.one_of(
            st.sampled_from(
                ["{instruction}\n{input}\n", "{input}", "{input}{input}", "{x}", "{input!r}", "{"]
            ),
            _TEXT,
            _SCALARS,
        ),
        "instruction": st.one_of(_TEXT, _SCALARS),
        "target": st.one_of(st.sampled_from(PromptBuilder.TARGETS), _SCALARS),
        "input_column": st.one_of(st.sampled_from(_COLUMNS), _SCALARS),
        "target_column": st.one_of(st.sampled_from(_COLUMNS), _SCALARS),
    }
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(args=_BUILDER_ARGS, frame=raw_frames(), text=_CELL)
def test_prompt_builder_raises_only_library_errors(
    args: dict[str, Any], frame: pd.DataFrame, text: Any
) -> None:
    try:
        builder = PromptBuilder(**args)
    except PiiGeminiError:
        return
    for call in (
        lambda: builder.build(frame),
        lambda: builder.format(text),
        lambda: builder.parse_input(text),
        lambda: builder.format_many([text, "x"]),
    ):
        with contextlib.suppress(PiiGeminiError):
            call()
    if isinstance(text, str):
        assert builder.parse_input(builder.format(text)) == text
